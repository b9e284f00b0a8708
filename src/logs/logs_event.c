/* logs_event.c - the fields of one event under construction.
 *
 * Data enters as name/value pieces from a format reader: either text that
 * stays valid until the next lg_next (kept by pointer, no copy) or text to
 * copy into the arena (LG_TEXT_CAP bytes). It leaves as the sg_field array
 * of the event (LG_MAX_FIELDS entries). Past either bound further fields are
 * dropped and the flags say so; the event is still delivered. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "logs/logs_int.h"

int lg_evb_init(struct lg_evb *b)
{
    memset(b, 0, sizeof *b);
    b->f = malloc(LG_MAX_FIELDS * sizeof *b->f);
    b->text = malloc(LG_TEXT_CAP);
    if (!b->f || !b->text) {
        lg_evb_fini(b);
        return MAMORI_ENOMEM;
    }
    return 0;
}

void lg_evb_fini(struct lg_evb *b)
{
    free(b->f);
    free(b->text);
    b->f = NULL;
    b->text = NULL;
}

char *lg_evb_room(struct lg_evb *b, size_t n)
{
    if (b->full || n >= LG_TEXT_CAP - b->tlen) {
        b->full = true;
        return NULL;
    }
    return b->text + b->tlen;
}

void lg_evb_commit(struct lg_evb *b, size_t n)
{
    b->text[b->tlen + n] = '\0';
    b->tlen += n + 1;
}

char *lg_evb_copy(struct lg_evb *b, const char *s, size_t n)
{
    char *d = lg_evb_room(b, n);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    lg_evb_commit(b, n);
    return d;
}

bool lg_evb_add(struct lg_evb *b, const char *name, size_t nlen, const char *val, size_t vlen)
{
    if (b->n >= LG_MAX_FIELDS) {
        b->dropped = true;
        return false;
    }
    b->f[b->n++] = (struct sg_field){{name, (uint32_t)nlen}, {val, (uint32_t)vlen}};
    return true;
}

bool lg_evb_addc(struct lg_evb *b, const char *name, size_t nlen, bool copy_name, const char *val,
                 size_t vlen)
{
    if (b->n >= LG_MAX_FIELDS) {
        b->dropped = true;
        return false;
    }
    if (copy_name && !(name = lg_evb_copy(b, name, nlen)))
        return false;
    const char *v = lg_evb_copy(b, val, vlen);
    return v && lg_evb_add(b, name, nlen, v, vlen);
}

const struct sg_str *lg_evb_get(const struct lg_evb *b, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < b->n; i++)
        if (b->f[i].name.len == n && !memcmp(b->f[i].name.s, name, n))
            return &b->f[i].value;
    return NULL;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c >= 0x01 && c < 0x80)
        return 1;
    size_t k;
    unsigned min;
    if ((c & 0xE0) == 0xC0)
        k = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        k = 3, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        k = 4, min = 0x10000;
    else
        return 0;
    if (k > n)
        return 0;
    unsigned cp = c & (0x7Fu >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

bool lg_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] >= 0x01 && p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

void lg_utf8_fix(char *s, size_t n)
{
    unsigned char *p = (unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (!k) {
            p[i++] = '?';
            continue;
        }
        i += k;
    }
}
