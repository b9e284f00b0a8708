/* pattern.c - text primitives of the Sigma matcher: case folding, wildcard
 * globs, numbers, CIDR ranges and time parts.
 *
 * Data enters as byte ranges (event values, rule needles) and leaves as
 * booleans or parsed numbers. Case folding keeps the byte length (ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic capitals), so folded text
 * lines up with the original and one fold per value and event is enough. */
#include <arpa/inet.h>
#include <string.h>

#include "core/civil.h"
#include "core/err.h"
#include "core/sigma/sigma_int.h"

/* Lower-case code point of a 2-byte UTF-8 character, or cp itself. */
static uint32_t lower_cp(uint32_t cp)
{
    if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) ||
        (cp >= 0x410 && cp <= 0x42F))
        return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50;
    if ((cp >= 0x100 && cp <= 0x137 && !(cp & 1)) || (cp >= 0x14A && cp <= 0x177 && !(cp & 1)) ||
        (cp >= 0x139 && cp <= 0x148 && (cp & 1)) || (cp >= 0x179 && cp <= 0x17E && (cp & 1)))
        return cp + 1;
    return cp;
}

bool sg_needs_fold(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || c >= 0xC3)
            return true;
    }
    return false;
}

void sg_fold(char *dst, const char *src, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x80) {
            dst[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            i++;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < len && ((unsigned char)src[i + 1] & 0xC0) == 0x80) {
            uint32_t cp = ((uint32_t)(c & 0x1F) << 6) | ((unsigned char)src[i + 1] & 0x3F);
            uint32_t lc = lower_cp(cp);
            dst[i] = (char)(0xC0 | (lc >> 6));
            dst[i + 1] = (char)(0x80 | (lc & 0x3F));
            i += 2;
        } else {
            dst[i] = (char)c;
            i++;
        }
    }
}

static inline size_t utf8_step(const char *s, size_t i, size_t len)
{
    size_t j = i + 1;
    while (j < len && ((unsigned char)s[j] & 0xC0) == 0x80)
        j++;
    return j - i;
}

const void *sg_memmem(const void *h, size_t hl, const void *n, size_t nl)
{
    if (nl == 0)
        return h;
    return memmem(h, hl, n, nl);
}

/* Classic glob with backtracking to the last star (linear per star). A
 * literal after a star is searched with memmem. '?' matches one UTF-8
 * character. */
bool sg_glob_match(const struct sg_gtok *tok, uint32_t ntok, const char *needle, const char *s,
                   size_t len)
{
    uint32_t ti = 0, star_ti = UINT32_MAX;
    size_t si = 0, star_si = 0;
    for (;;) {
        if (ti < ntok) {
            const struct sg_gtok *t = &tok[ti];
            if (t->kind == SG_G_STAR) {
                if (ti + 1 == ntok)
                    return true;
                star_ti = ti++;
                star_si = si;
                /* jump to the next place the following literal occurs */
                const struct sg_gtok *nt = &tok[ti];
                if (nt->kind == SG_G_LIT) {
                    const char *p = sg_memmem(s + si, len - si, needle + nt->off, nt->len);
                    if (!p)
                        return false;
                    si = star_si = (size_t)(p - s);
                }
                continue;
            }
            if (t->kind == SG_G_ONE) {
                if (si < len) {
                    si += utf8_step(s, si, len);
                    ti++;
                    continue;
                }
            } else if (len - si >= t->len && memcmp(s + si, needle + t->off, t->len) == 0) {
                si += t->len;
                ti++;
                continue;
            }
        } else if (si == len) {
            return true;
        }
        if (star_ti == UINT32_MAX || star_si >= len)
            return false;
        star_si += utf8_step(s, star_si, len);
        si = star_si;
        ti = star_ti + 1;
        const struct sg_gtok *nt = &tok[ti];
        if (nt->kind == SG_G_LIT) {
            const char *p = sg_memmem(s + si, len - si, needle + nt->off, nt->len);
            if (!p)
                return false;
            si = star_si = (size_t)(p - s);
        }
    }
}

bool sg_parse_num(const char *s, size_t len, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    double v = 0;
    size_t digits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (s[i++] - '0');
        digits++;
    }
    if (i < len && s[i] == '.') {
        double scale = 0.1;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10) {
            v += (s[i] - '0') * scale;
            digits++;
        }
    }
    if (!digits || i != len)
        return false;
    *out = neg ? -v : v;
    return true;
}

int sg_parse_cidr(const char *s, struct sg_cidr *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf)
        return MAMORI_EINVAL;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *e;
        const char *b = slash + 1;
        if (!*b)
            return MAMORI_EINVAL;
        bits = 0;
        for (e = (char *)b; *e >= '0' && *e <= '9' && bits <= 128; e++)
            bits = bits * 10 + (*e - '0');
        if (*e)
            return MAMORI_EINVAL;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->v6 = false;
        if (bits < 0)
            bits = 32;
        if (bits > 32)
            return MAMORI_EINVAL;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->v6 = true;
        if (bits < 0)
            bits = 128;
        if (bits > 128)
            return MAMORI_EINVAL;
    } else {
        return MAMORI_EINVAL;
    }
    out->bits = (uint8_t)bits;
    return 0;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* IPv4 ranges also match IPv4-mapped IPv6 addresses (::ffff:10.1.2.3), the
 * form Windows often logs. */
bool sg_cidr_match(const struct sg_cidr *c, const char *s, size_t len)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    uint8_t a[16];
    if (!c->v6) {
        if (inet_pton(AF_INET, buf, a) == 1)
            return prefix_eq(a, c->addr, c->bits);
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (inet_pton(AF_INET6, buf, a) == 1 && !memcmp(a, mapped, 12))
            return prefix_eq(a + 12, c->addr, c->bits);
        return false;
    }
    return inet_pton(AF_INET6, buf, a) == 1 && prefix_eq(a, c->addr, c->bits);
}

static bool digits(const char *s, size_t len, size_t at, size_t n, long *out)
{
    if (at + n > len)
        return false;
    long v = 0;
    for (size_t i = at; i < at + n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static long civil_days(long y, long m, long d)
{
    return (long)civil_to_days(y, (unsigned)m, (unsigned)d);
}

/* ISO 8601 week number (1..53). */
static long iso_week(long y, long m, long d)
{
    long days = civil_days(y, m, d);
    long wd = ((days % 7) + 7 + 3) % 7; /* Monday = 0; 1970-01-01 was a Thursday */
    long thursday = days - wd + 3;      /* the Thursday of this week decides the year */
    /* year of that Thursday */
    long ty = y;
    if (thursday < civil_days(y, 1, 1))
        ty = y - 1;
    else if (thursday >= civil_days(y + 1, 1, 1))
        ty = y + 1;
    return (thursday - civil_days(ty, 1, 1)) / 7 + 1;
}

/* "YYYY-MM-DD[T ]HH:MM..." (what EVTX, ISO 8601 and most JSON logs give). */
bool sg_time_part(const char *s, size_t len, enum sg_tpart part, long *out)
{
    long y, mo, d, h = 0, mi = 0;
    if (!digits(s, len, 0, 4, &y) || len < 10 || s[4] != '-' || !digits(s, len, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, len, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    bool has_time = len >= 16 && (s[10] == 'T' || s[10] == ' ') && digits(s, len, 11, 2, &h) &&
                    s[13] == ':' && digits(s, len, 14, 2, &mi);
    switch (part) {
    case SG_T_YEAR: *out = y; return true;
    case SG_T_MONTH: *out = mo; return true;
    case SG_T_DAY: *out = d; return true;
    case SG_T_WEEK: *out = iso_week(y, mo, d); return true;
    case SG_T_HOUR: *out = h; return has_time;
    case SG_T_MINUTE: *out = mi; return has_time;
    default: return false;
    }
}
