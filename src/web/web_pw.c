/* web_pw.c - password hashes: argon2id (libargon2) as PHC strings.
 * A password enters as bytes; a self-describing string leaves (parameters
 * and salt inside it), or a yes/no for a check. Parameters: web_int.h. */
#include <argon2.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/err.h"
#include "web/web_int.h"

int web_pw_hash(const char *pw, size_t n, char out[WEB_HASH_MAX])
{
    uint8_t salt[16];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return MAMORI_EIO;
    if (argon2_encodedlen(WEB_ARGON_T, WEB_ARGON_M_KIB, WEB_ARGON_P, sizeof salt, 32, Argon2_id) >
        WEB_HASH_MAX)
        return MAMORI_EFULL;
    int rc = argon2id_hash_encoded(WEB_ARGON_T, WEB_ARGON_M_KIB, WEB_ARGON_P, pw, n, salt,
                                   sizeof salt, 32, out, WEB_HASH_MAX);
    return rc == ARGON2_OK ? 0 : rc == ARGON2_MEMORY_ALLOCATION_ERROR ? MAMORI_ENOMEM : MAMORI_EIO;
}

bool web_pw_verify(const char *hash, const char *pw, size_t n)
{
    if (strncmp(hash, "$argon2id$", 10) != 0)
        return false;
    return argon2id_verify(hash, pw, n) == ARGON2_OK;
}
