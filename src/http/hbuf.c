/* hbuf.c - bounded growable byte buffer (see hbuf.h). */
#include "http/hbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void hbuf_init(struct hbuf *b, size_t max)
{
    *b = (struct hbuf){.max = max};
}

void hbuf_free(struct hbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int hbuf_reserve(struct hbuf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n) {
        b->full = true;
        return MAMORI_EFULL;
    }
    size_t need = b->len + n + 1; /* + the NUL that always follows */
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->p, cap);
    if (!p)
        return MAMORI_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int hbuf_add(struct hbuf *b, const void *d, size_t n)
{
    int rc = hbuf_reserve(b, n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int hbuf_str(struct hbuf *b, const char *s)
{
    return hbuf_add(b, s, strlen(s));
}

int hbuf_printf(struct hbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MAMORI_EINVAL;
    if ((size_t)n < sizeof tmp)
        return hbuf_add(b, tmp, (size_t)n);
    int rc = hbuf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void hbuf_consume(struct hbuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
    }
    if (b->p)
        b->p[b->len] = '\0';
}

void hbuf_reset(struct hbuf *b, size_t keep)
{
    b->len = 0;
    b->full = false;
    if (b->cap > keep) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    } else if (b->p) {
        b->p[0] = '\0';
    }
}
