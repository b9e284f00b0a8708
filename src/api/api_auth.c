/* api_auth.c - API tokens, their check and the principal (see api_auth.h). */
#include "api/api_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_store.h"
#include "core/err.h"
#include "net/token.h"

static const char *const ROLES[] = {"admin", "site-admin", "viewer"};

const char *api_role_name(enum api_role r)
{
    return (unsigned)r < 3 ? ROLES[r] : "viewer";
}

int api_role_parse(const char *s, enum api_role *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, ROLES[i])) {
            *out = (enum api_role)i;
            return 0;
        }
    return MAMORI_EINVAL;
}

bool api_can_write(const struct api_principal *p)
{
    return p->role == ROLE_ADMIN || p->role == ROLE_SITE_ADMIN;
}

bool api_in_scope(const struct api_principal *p, int64_t site_id)
{
    return p->site_id == 0 || p->site_id == site_id;
}

void api_actor(const struct api_principal *p, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s:%s(%s)", p->kind, p->id, p->name);
}

int apitok_make(char id[APITOK_ID_LEN + 1], uint8_t secret[32], char out[APITOK_BUF])
{
    uint8_t idb[APITOK_ID_LEN / 2];
    if (RAND_bytes(idb, sizeof idb) != 1 || RAND_bytes(secret, 32) != 1)
        return MAMORI_EIO;
    for (size_t i = 0; i < sizeof idb; i++)
        snprintf(id + 2 * i, 3, "%02x", idb[i]);
    char s[44];
    b64url_encode(secret, 32, s);
    snprintf(out, APITOK_BUF, "%s%s.%s", APITOK_PREFIX, id, s);
    return 0;
}

int apitok_parse(const char *s, char id[APITOK_ID_LEN + 1], uint8_t secret[32])
{
    size_t pl = strlen(APITOK_PREFIX);
    if (strlen(s) != APITOK_LEN || strncmp(s, APITOK_PREFIX, pl) != 0 ||
        s[pl + APITOK_ID_LEN] != '.')
        return MAMORI_EINVAL;
    for (size_t i = 0; i < APITOK_ID_LEN; i++) {
        char c = s[pl + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return MAMORI_EINVAL;
        id[i] = c;
    }
    id[APITOK_ID_LEN] = '\0';
    if (b64url_decode(s + pl + APITOK_ID_LEN + 1, 43, secret, 32) != 32)
        return MAMORI_EINVAL;
    return 0;
}

void apitok_hash(const uint8_t salt[16], const uint8_t secret[32], uint8_t out[32])
{
    uint8_t in[48];
    memcpy(in, salt, 16);
    memcpy(in + 16, secret, 32);
    unsigned n = 32;
    EVP_Digest(in, sizeof in, out, &n, EVP_sha256(), NULL);
    OPENSSL_cleanse(in, sizeof in);
}

bool apitok_verify(const uint8_t salt[16], const uint8_t hash[32], const uint8_t secret[32])
{
    uint8_t h[32];
    apitok_hash(salt, secret, h);
    return CRYPTO_memcmp(h, hash, 32) == 0;
}

int api_authenticate(struct store *st, const char *authorization, int64_t now_ms,
                     struct api_principal *who, char *why, size_t whysz)
{
    if (!authorization) {
        snprintf(why, whysz, "authentication required: send 'Authorization: Bearer <API token>'");
        return MAMORI_EPERM;
    }
    if (strncasecmp(authorization, "Bearer ", 7) != 0) {
        snprintf(why, whysz, "the Authorization header must be 'Bearer <API token>'");
        return MAMORI_EPERM;
    }
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    char id[APITOK_ID_LEN + 1];
    uint8_t secret[32];
    if (apitok_parse(t, id, secret) < 0) {
        snprintf(why, whysz, "not an API token (expected %s<id>.<secret>)", APITOK_PREFIX);
        return MAMORI_EPERM;
    }
    struct apist_token row;
    int rc = apist_token_get(st, id, &row);
    bool ok = rc == 0 && apitok_verify(row.salt, row.hash, secret);
    OPENSSL_cleanse(secret, sizeof secret);
    if (!ok) {
        snprintf(why, whysz,
                 rc == MAMORI_EIO ? "the token store cannot be read"
                                  : "unknown API token or wrong secret");
        return rc == MAMORI_EIO ? MAMORI_EIO : MAMORI_EPERM;
    }
    if (row.revoked) {
        snprintf(why, whysz, "API token %s was revoked", id);
        return MAMORI_EPERM;
    }
    if (row.expires && now_ms >= row.expires) {
        snprintf(why, whysz, "API token %s has expired", id);
        return MAMORI_EPERM;
    }
    memset(who, 0, sizeof *who);
    who->role = row.role;
    who->site_id = row.site_id;
    snprintf(who->site, sizeof who->site, "%s", row.site);
    snprintf(who->kind, sizeof who->kind, "token");
    snprintf(who->id, sizeof who->id, "%s", id);
    snprintf(who->name, sizeof who->name, "%s", row.name);
    if (now_ms - row.last_used > 60000)
        apist_token_touch(st, id, now_ms); /* best effort: a busy store must not refuse reads */
    return 0;
}
