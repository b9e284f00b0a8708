/* evtx_value.c - substitution values of binary XML as UTF-8 text.
 *
 * Data enters as (type, bytes) straight from a record inside the chunk
 * buffer and leaves appended to a bounded text arena (struct evtx_buf), in
 * the text Windows' own XML rendering gives (see evtx.h). Malformed values (a
 * size that does not fit the type) are rendered as upper-case hex, never read
 * past their size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/civil.h"
#include "evtx/evtx_int.h"

static const char HEX_UP[] = "0123456789ABCDEF";
static const char HEX_LO[] = "0123456789abcdef";

void val_codepoint(struct evtx_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_put(b, u, n);
}

void val_utf16(struct evtx_buf *b, const uint8_t *p, size_t nunits)
{
    /* Worst case 3 bytes of UTF-8 per code unit; checked once. */
    if (!buf_room(b, nunits * 3))
        return;
    char *o = b->p + b->len;
    size_t i = 0;
    while (i < nunits) {
        /* Four ASCII units at a time: no high bits and no NUL among them. */
        while (i + 4 <= nunits) {
            uint64_t v = le64(p + 2 * i);
            if ((v & 0xFF80FF80FF80FF80ull) ||
                ((v - 0x0001000100010001ull) & ~v & 0x8000800080008000ull))
                break;
            uint32_t four = (uint32_t)((v & 0xFF) | ((v >> 8) & 0xFF00) | ((v >> 16) & 0xFF0000) |
                                       ((v >> 24) & 0xFF000000));
            memcpy(o, &four, 4);
            o += 4;
            i += 4;
        }
        if (i >= nunits)
            break;
        uint32_t c = le16(p + 2 * i++);
        if (c == 0)
            break;
        if (c < 0x80) {
            *o++ = (char)c;
            continue;
        }
        if (c >= 0xD800 && c <= 0xDBFF && i < nunits) {
            uint32_t d = le16(p + 2 * i);
            if (d >= 0xDC00 && d <= 0xDFFF) {
                i++;
                c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
            }
        }
        if (c >= 0xD800 && c <= 0xDFFF)
            c = 0xFFFD;
        if (c < 0x800) {
            *o++ = (char)(0xC0 | c >> 6);
            *o++ = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *o++ = (char)(0xE0 | c >> 12);
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        } else { /* a pair: 2 units in, 4 bytes out, within 3 per unit */
            *o++ = (char)(0xF0 | c >> 18);
            *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    b->len = (uint32_t)(o - b->p);
}

/* ANSI (code page unknown): ASCII as is, other bytes read as Latin-1. */
static void ansi(struct evtx_buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && p[i]; i++) {
        if (p[i] < 0x80) {
            buf_put(b, p + i, 1);
        } else {
            char u[2] = {(char)(0xC0 | p[i] >> 6), (char)(0x80 | (p[i] & 0x3F))};
            buf_put(b, u, 2);
        }
    }
}

static void hexbytes(struct evtx_buf *b, const uint8_t *p, size_t n)
{
    if (!buf_room(b, 2 * n))
        return;
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        *o++ = HEX_UP[p[i] >> 4];
        *o++ = HEX_UP[p[i] & 15];
    }
    b->len += (uint32_t)(2 * n);
}

static void udec(struct evtx_buf *b, uint64_t v)
{
    char t[20];
    size_t i = sizeof t;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_put(b, t + i, sizeof t - i);
}

static void sdec(struct evtx_buf *b, int64_t v)
{
    if (v < 0) {
        buf_put(b, "-", 1);
        udec(b, (uint64_t)0 - (uint64_t)v);
    } else {
        udec(b, (uint64_t)v);
    }
}

static void hex0x(struct evtx_buf *b, uint64_t v)
{
    char t[18];
    size_t i = sizeof t;
    do {
        t[--i] = HEX_LO[v & 15];
        v >>= 4;
    } while (v);
    t[--i] = 'x';
    t[--i] = '0';
    buf_put(b, t + i, sizeof t - i);
}

static void real(struct evtx_buf *b, double v, int maxprec)
{
    char t[40];
    int n = 0;
    if (isnan(v)) {
        buf_put(b, "NaN", 3);
        return;
    }
    if (isinf(v)) {
        buf_put(b, v < 0 ? "-INF" : "INF", v < 0 ? 4 : 3);
        return;
    }
    /* The shortest text that reads back as the same value. */
    for (int prec = 1; prec <= maxprec; prec++) {
        n = snprintf(t, sizeof t, "%.*g", prec, v);
        if (maxprec == 9 ? (float)strtod(t, NULL) == (float)v : strtod(t, NULL) == v)
            break;
    }
    buf_put(b, t, (size_t)n);
}

static void put2(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10 % 10);
    o[1] = (char)('0' + v % 10);
}

size_t val_filetime(uint64_t ticks, char *out)
{
    uint64_t secs = ticks / 10000000u;
    unsigned frac = (unsigned)(ticks % 10000000u);
    int64_t days = (int64_t)(secs / 86400) - 134774; /* 1601-01-01 -> 1970-01-01 */
    unsigned sod = (unsigned)(secs % 86400);
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* FILETIME spans the years 1601..60056: four or five digits. */
    size_t n = y >= 10000 ? 5 : 4;
    for (size_t i = n; i-- > 0; y /= 10)
        out[i] = (char)('0' + y % 10);
    char *o = out + n;
    o[0] = '-';
    put2(o + 1, m);
    o[3] = '-';
    put2(o + 4, d);
    o[6] = 'T';
    put2(o + 7, sod / 3600);
    o[9] = ':';
    put2(o + 10, sod / 60 % 60);
    o[12] = ':';
    put2(o + 13, sod % 60);
    o[15] = '.';
    for (int i = 6; i >= 0; i--) {
        o[16 + i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    o[23] = 'Z';
    o[24] = '\0';
    return n + 24;
}

static void systemtime(struct evtx_buf *b, const uint8_t *p)
{
    char t[64]; /* seven u16 fields of up to 5 digits and separators: at most 44 */
    int n = snprintf(t, sizeof t, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", le16(p), le16(p + 2),
                     le16(p + 6), le16(p + 8), le16(p + 10), le16(p + 12), le16(p + 14));
    if (n > 0)
        buf_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

static void guid(struct evtx_buf *b, const uint8_t *p)
{
    char t[38];
    uint32_t d1 = le32(p);
    uint16_t d2 = le16(p + 4), d3 = le16(p + 6);
    char *o = t;
    *o++ = '{';
    for (int i = 28; i >= 0; i -= 4)
        *o++ = HEX_UP[(d1 >> i) & 15];
    *o++ = '-';
    for (int i = 12; i >= 0; i -= 4)
        *o++ = HEX_UP[(d2 >> i) & 15];
    *o++ = '-';
    for (int i = 12; i >= 0; i -= 4)
        *o++ = HEX_UP[(d3 >> i) & 15];
    *o++ = '-';
    for (int i = 8; i < 16; i++) {
        if (i == 10)
            *o++ = '-';
        *o++ = HEX_UP[p[i] >> 4];
        *o++ = HEX_UP[p[i] & 15];
    }
    *o++ = '}';
    buf_put(b, t, sizeof t);
}

/* Size of one SID at p (at most n bytes), or 0 when malformed. */
static size_t sid_size(const uint8_t *p, size_t n)
{
    if (n < 8)
        return 0;
    size_t need = 8 + 4 * (size_t)p[1];
    return need <= n ? need : 0;
}

static void sid(struct evtx_buf *b, const uint8_t *p)
{
    uint64_t auth = 0;
    for (int i = 2; i < 8; i++)
        auth = auth << 8 | p[i];
    buf_put(b, "S-", 2);
    udec(b, p[0]);
    buf_put(b, "-", 1);
    if (auth >> 32)
        hex0x(b, auth);
    else
        udec(b, auth);
    for (unsigned i = 0; i < p[1]; i++) {
        buf_put(b, "-", 1);
        udec(b, le32(p + 8 + 4 * i));
    }
}

/* Fixed size of a scalar type, 0 for variable-size types. */
static size_t fixed_size(uint8_t type, size_t n)
{
    switch (type) {
    case 0x03:
    case 0x04: return 1;
    case 0x05:
    case 0x06: return 2;
    case 0x07:
    case 0x08:
    case 0x0b:
    case 0x0d:
    case 0x14: return 4;
    case 0x09:
    case 0x0a:
    case 0x0c:
    case 0x11:
    case 0x15: return 8;
    case 0x0f:
    case 0x12: return 16;
    case 0x10: return n == 4 ? 4 : 8;
    default: return 0;
    }
}

/* One scalar of a fixed-size type; p holds exactly fixed_size() bytes. */
static void scalar(struct evtx_buf *b, uint8_t type, const uint8_t *p, size_t n)
{
    switch (type) {
    case 0x03: sdec(b, (int8_t)p[0]); break;
    case 0x04: udec(b, p[0]); break;
    case 0x05: sdec(b, (int16_t)le16(p)); break;
    case 0x06: udec(b, le16(p)); break;
    case 0x07: sdec(b, (int32_t)le32(p)); break;
    case 0x08: udec(b, le32(p)); break;
    case 0x09: sdec(b, (int64_t)le64(p)); break;
    case 0x0a: udec(b, le64(p)); break;
    case 0x0b: {
        float f;
        memcpy(&f, p, 4);
        real(b, f, 9);
        break;
    }
    case 0x0c: {
        double d;
        memcpy(&d, p, 8);
        real(b, d, 17);
        break;
    }
    case 0x0d:
        if (le32(p))
            buf_put(b, "true", 4);
        else
            buf_put(b, "false", 5);
        break;
    case 0x0f: guid(b, p); break;
    case 0x10: hex0x(b, n == 4 ? le32(p) : le64(p)); break;
    case 0x11: {
        char t[32];
        buf_put(b, t, val_filetime(le64(p), t));
        break;
    }
    case 0x12: systemtime(b, p); break;
    case 0x14: hex0x(b, le32(p)); break;
    case 0x15: hex0x(b, le64(p)); break;
    default: hexbytes(b, p, n); break;
    }
}

bool val_array_next(struct evtx_buf *b, uint8_t type, const uint8_t *p, size_t n, size_t *at)
{
    size_t i = *at;
    type &= 0x7F;
    if (i >= n)
        return false;
    if (type == 0x01) { /* NUL-terminated UTF-16 strings */
        if (n - i < 2) {
            *at = n;
            return false;
        }
        size_t j = i;
        while (j + 2 <= n && le16(p + j))
            j += 2;
        val_utf16(b, p + i, (j - i) / 2);
        *at = j + 2 <= n ? j + 2 : n;
        return true;
    }
    if (type == 0x02) { /* NUL-terminated ANSI strings */
        size_t j = i;
        while (j < n && p[j])
            j++;
        ansi(b, p + i, j - i);
        *at = j < n ? j + 1 : n;
        return true;
    }
    if (type == 0x13) { /* SIDs, each its own size */
        size_t sz = sid_size(p + i, n - i);
        if (sz)
            sid(b, p + i);
        else
            hexbytes(b, p + i, (sz = n - i));
        *at = i + sz;
        return true;
    }
    size_t w = type == 0x10 ? 8 : fixed_size(type, 0);
    if (!w || (n - i) < w) { /* no items of this type: the rest as hex */
        hexbytes(b, p + i, n - i);
        *at = n;
        return true;
    }
    scalar(b, type, p + i, w);
    *at = i + w;
    return true;
}

static void array(struct evtx_buf *b, uint8_t type, const uint8_t *p, size_t n)
{
    size_t at = 0;
    for (bool first = true; at < n; first = false) {
        uint32_t mark = b->len;
        if (!first)
            buf_put(b, ",", 1);
        if (!val_array_next(b, type, p, n, &at)) {
            b->len = mark;
            break;
        }
    }
}

void val_format(struct evtx_buf *b, uint8_t type, const uint8_t *p, size_t n)
{
    if (type & 0x80) {
        array(b, type & 0x7F, p, n);
        return;
    }
    switch (type) {
    case 0x00: return; /* NULL */
    case 0x01: val_utf16(b, p, n / 2); return;
    case 0x02: ansi(b, p, n); return;
    case 0x0e: hexbytes(b, p, n); return;
    case 0x13:
        if (sid_size(p, n))
            sid(b, p);
        else
            hexbytes(b, p, n);
        return;
    case 0x21: return; /* binary XML: expanded by the caller */
    default: break;
    }
    size_t w = fixed_size(type, n);
    if (w && n == w)
        scalar(b, type, p, n);
    else if (type == 0x0d && n > 0 && n <= 8) { /* a bool of another width */
        bool any = false;
        for (size_t i = 0; i < n; i++)
            any |= p[i] != 0;
        buf_put(b, any ? "true" : "false", any ? 4 : 5);
    } else
        hexbytes(b, p, n);
}

size_t evtx_format_filetime(uint64_t filetime, char *buf, size_t cap)
{
    char tmp[32];
    size_t n = val_filetime(filetime, tmp);
    if (cap == 0)
        return 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}

size_t evtx_format_time(int64_t ns, char *buf, size_t cap)
{
    /* ns since 1970 -> 100 ns ticks since 1601 (floor for times before 1970). */
    int64_t t = ns / 100;
    if (ns % 100 < 0)
        t--;
    return evtx_format_filetime((uint64_t)(t + 116444736000000000ll), buf, cap);
}
