/* json.c - bounded JSON writer (see json.h). */
#include "core/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

void jw_init(struct jw *w, char *buf, size_t cap)
{
    *w = (struct jw){.buf = buf, .cap = cap};
    if (cap)
        buf[0] = '\0';
}

static void put(struct jw *w, const char *s, size_t n)
{
    if (w->overflow)
        return;
    if (w->len + n + 1 > w->cap) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void putc1(struct jw *w, char c) { put(w, &c, 1); }

static void put_escaped(struct jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    putc1(w, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                put(w, u, 6);
            } else {
                putc1(w, (char)c);
            }
        }
    }
    putc1(w, '"');
}

static void key(struct jw *w, const char *k)
{
    if (w->need_comma)
        putc1(w, ',');
    w->need_comma = true;
    if (k) {
        put_escaped(w, k, strlen(k));
        putc1(w, ':');
    }
}

void jw_obj_begin(struct jw *w)
{
    putc1(w, '{');
    w->need_comma = false;
}

void jw_obj_begin_key(struct jw *w, const char *k)
{
    key(w, k);
    putc1(w, '{');
    w->need_comma = false;
}

void jw_obj_end(struct jw *w)
{
    putc1(w, '}');
    w->need_comma = true;
}

void jw_arr_begin(struct jw *w, const char *k)
{
    key(w, k);
    putc1(w, '[');
    w->need_comma = false;
}

void jw_arr_end(struct jw *w)
{
    putc1(w, ']');
    w->need_comma = true;
}

void jw_strn(struct jw *w, const char *k, const char *val, size_t n)
{
    key(w, k);
    if (!val) {
        put(w, "null", 4);
        return;
    }
    put_escaped(w, val, n);
}

void jw_str(struct jw *w, const char *k, const char *val)
{
    jw_strn(w, k, val, val ? strlen(val) : 0);
}

void jw_int(struct jw *w, const char *k, int64_t val)
{
    char tmp[32];
    key(w, k);
    put(w, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" PRId64, val));
}

void jw_uint(struct jw *w, const char *k, uint64_t val)
{
    char tmp[32];
    key(w, k);
    put(w, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64, val));
}

void jw_double(struct jw *w, const char *k, double val, int decimals)
{
    char tmp[64];
    key(w, k);
    put(w, tmp, (size_t)snprintf(tmp, sizeof tmp, "%.*f", decimals, val));
}

void jw_bool(struct jw *w, const char *k, bool val)
{
    key(w, k);
    put(w, val ? "true" : "false", val ? 4 : 5);
}

long jw_finish(struct jw *w)
{
    if (w->overflow)
        return MAMORI_EFULL;
    return (long)w->len;
}
