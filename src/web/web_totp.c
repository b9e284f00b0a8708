/* web_totp.c - one-time codes of RFC 6238 (TOTP: HMAC-SHA1, 30 s steps,
 * 6 digits) for the console's optional second factor. A user's secret
 * (20 random bytes, kept base32 in users.totp_secret) and a time enter; a
 * code or a yes/no leaves. A code is accepted for the current step and
 * one step either side (clock drift of up to 30 s). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/err.h"
#include "web/web_int.h"

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void web_b32_encode(const uint8_t *in, size_t n, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = B32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = B32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

long web_b32_decode(const char *in, uint8_t *out, size_t outsz)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (; *in && *in != '='; in++) {
        const char *p = strchr(B32, *in >= 'a' && *in <= 'z' ? *in - 32 : *in);
        if (!p || !*in)
            return -1;
        acc = (acc << 5) | (uint32_t)(p - B32);
        bits += 5;
        if (bits >= 8) {
            if (o >= outsz)
                return -1;
            out[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return (long)o;
}

int web_totp_code(const uint8_t *key, size_t keylen, uint64_t step)
{
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)(step & 0xff);
        step >>= 8;
    }
    if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen < 20)
        return -1;
    int off = mac[maclen - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    return (int)(bin % 1000000);
}

bool web_totp_check(const char *secret_b32, const char *code, int64_t now_ms)
{
    if (!code || strlen(code) != 6 || strspn(code, "0123456789") != 6)
        return false;
    uint8_t key[64];
    long n = web_b32_decode(secret_b32, key, sizeof key);
    if (n < 10)
        return false;
    int want = (code[0] - '0') * 100000 + (code[1] - '0') * 10000 + (code[2] - '0') * 1000 +
               (code[3] - '0') * 100 + (code[4] - '0') * 10 + (code[5] - '0');
    uint64_t step = (uint64_t)(now_ms / 1000) / WEB_TOTP_STEP;
    bool ok = false;
    for (int d = -1; d <= 1; d++) /* no early exit: the same work whichever matches */
        ok |= web_totp_code(key, (size_t)n, step + (uint64_t)d) == want;
    return ok;
}

int web_totp_new(char out[WEB_TOTP_B32 + 1])
{
    uint8_t key[20];
    if (RAND_bytes(key, sizeof key) != 1)
        return MAMORI_EIO;
    web_b32_encode(key, sizeof key, out);
    return 0;
}
