/* api_cursor.c - opaque keyset cursors (see api_cursor.h). */
#include "api/api_cursor.h"

#include <string.h>

#include "core/err.h"
#include "net/token.h"

#define CURSOR_V 1

uint32_t api_fp(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

int api_cursor_encode(const struct api_cursor *c, char out[API_CURSOR_MAX])
{
    uint8_t b[1 + 1 + 4 + 8 + 1 + 255 + 1 + 63];
    size_t o = 0, l1 = strlen(c->k1), l2 = strlen(c->k2);
    if (l1 > 255 || l2 > 63)
        return MAMORI_EINVAL;
    b[o++] = CURSOR_V;
    b[o++] = (uint8_t)c->list;
    for (int i = 3; i >= 0; i--)
        b[o++] = (uint8_t)(c->fp >> (8 * i));
    for (int i = 7; i >= 0; i--)
        b[o++] = (uint8_t)((uint64_t)c->n >> (8 * i));
    b[o++] = (uint8_t)l1;
    memcpy(b + o, c->k1, l1);
    o += l1;
    b[o++] = (uint8_t)l2;
    memcpy(b + o, c->k2, l2);
    o += l2;
    b64url_encode(b, o, out);
    return 0;
}

int api_cursor_decode(const char *s, struct api_cursor *c)
{
    uint8_t b[1 + 1 + 4 + 8 + 1 + 255 + 1 + 63];
    size_t len = strlen(s);
    if (len == 0 || len >= API_CURSOR_MAX)
        return MAMORI_EINVAL;
    int n = b64url_decode(s, len, b, sizeof b);
    if (n < 16 || b[0] != CURSOR_V)
        return MAMORI_EINVAL;
    memset(c, 0, sizeof *c);
    size_t o = 1;
    c->list = (char)b[o++];
    for (int i = 0; i < 4; i++)
        c->fp = c->fp << 8 | b[o++];
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[o++];
    c->n = (int64_t)v;
    size_t l1 = b[o++];
    if (o + l1 + 1 > (size_t)n)
        return MAMORI_EINVAL;
    memcpy(c->k1, b + o, l1);
    o += l1;
    size_t l2 = b[o++];
    if (l2 > 63 || o + l2 != (size_t)n)
        return MAMORI_EINVAL;
    memcpy(c->k2, b + o, l2);
    if (memchr(c->k1, '\0', l1) || memchr(c->k2, '\0', l2))
        return MAMORI_EINVAL;
    return 0;
}
