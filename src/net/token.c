/* token.c - enrollment token encode/parse/hash (see token.h). */
#include "net/token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = B64URL[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = B64URL[v & 63];
    }
    out[o] = '\0';
}

static int b64val(char c)
{
    const char *p = c ? strchr(B64URL, c) : NULL;
    return p ? (int)(p - B64URL) : -1;
}

int b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsz)
{
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outsz)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1)) /* leftover bits must be zero: one spelling per value */
        return -1;
    return (int)o;
}

int token_make(const uint8_t pin[32], uint8_t secret[32], char out[TOKEN_BUF])
{
    if (RAND_bytes(secret, 32) != 1)
        return MAMORI_EIO;
    char a[45], b[45];
    b64url_encode(secret, 32, a);
    b64url_encode(pin, 32, b);
    snprintf(out, TOKEN_BUF, "%s%.43s.%.43s", TOKEN_PREFIX, a, b);
    return 0;
}

int token_parse(const char *s, uint8_t secret[32], uint8_t pin[32])
{
    size_t plen = strlen(TOKEN_PREFIX);
    if (strlen(s) != TOKEN_LEN || strncmp(s, TOKEN_PREFIX, plen) != 0 || s[plen + 43] != '.')
        return MAMORI_EINVAL;
    if (b64url_decode(s + plen, 43, secret, 32) != 32 ||
        b64url_decode(s + plen + 44, 43, pin, 32) != 32)
        return MAMORI_EINVAL;
    return 0;
}

void token_hash_hex(const uint8_t secret[32], char out[65])
{
    uint8_t md[32];
    unsigned int n = 0;
    EVP_Digest(secret, 32, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}
