/* content_stat.c - per-block statistics for the content judge.
 *
 * Data enters as one block of bytes (at most CONTENT_BLOCK) and leaves as a
 * class (random / text / structured / text interleaved with random bytes) and
 * a count of non-text 16-byte granules. Everything works on the stack.
 *
 * Order of work per block, cheapest first:
 *   1. byte histogram (4 interleaved counters to break store dependencies);
 *   2. chi-square against uniform; below CS_CHI2_RANDOM also the serial
 *      correlation (sums of x and x^2 come from the histogram, only the lag-1
 *      product needs a pass) -> random;
 *   3. text: pure printable ASCII is decided from the histogram alone, as is
 *      UTF-8 whose lead/continuation counts balance; only blocks with control
 *      bytes or unbalanced high bytes get the per-byte UTF-8 walk;
 *   4. bytes that UTF-8 text can never hold (40 values: stray controls, C0,
 *      C1, F5..FF) are read off the histogram too: ciphertext spliced into
 *      text (every other 16 bytes, ...) spreads them uniformly, binary
 *      fields, zeros and Latin-1 letters concentrate them. Binary blocks stop
 *      here; the rest get the per-byte walk, which counts non-text granules. */
#include "guard/content_int.h"

#include <math.h>
#include <string.h>

/* Whitespace and control bytes that text carries: \t \n \v \f \r and ESC
 * (ANSI colours in logs). */
static bool ascii_text(uint8_t c)
{
    return (c >= 0x20 && c < 0x7f) || (c >= 0x09 && c <= 0x0d) || c == 0x1b;
}

void cs_hist(const uint8_t *b, size_t len, uint32_t h[256])
{
    uint32_t t[4][256];
    memset(t, 0, sizeof t);
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        t[0][b[i]]++;
        t[1][b[i + 1]]++;
        t[2][b[i + 2]]++;
        t[3][b[i + 3]]++;
    }
    for (; i < len; i++)
        t[0][b[i]]++;
    for (int v = 0; v < 256; v++)
        h[v] = t[0][v] + t[1][v] + t[2][v] + t[3][v];
}

double cs_chi2_hist(const uint32_t h[256], size_t len)
{
    if (len == 0)
        return 0.0;
    uint64_t sq = 0;
    for (int v = 0; v < 256; v++)
        sq += (uint64_t)h[v] * h[v];
    return 256.0 * (double)sq / (double)len - (double)len;
}

double content_chi2(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return 0.0;
    uint32_t h[256]; /* 32-bit counters: exact up to 4 GiB */
    cs_hist(buf, len, h);
    return cs_chi2_hist(h, len);
}

/* Knuth's serial correlation (lag 1, cyclic); sums of x and x^2 from h. */
static double serial_corr(const uint8_t *b, size_t len, const uint32_t h[256])
{
    uint64_t s1 = 0, s2 = 0, s12 = 0;
    for (int v = 0; v < 256; v++) {
        s1 += (uint64_t)v * h[v];
        s2 += (uint64_t)v * v * h[v];
    }
    /* four independent sums so the multiply-adds overlap */
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 4 < len; i += 4) {
        a0 += (uint32_t)b[i] * b[i + 1];
        a1 += (uint32_t)b[i + 1] * b[i + 2];
        a2 += (uint32_t)b[i + 2] * b[i + 3];
        a3 += (uint32_t)b[i + 3] * b[i + 4];
    }
    for (; i + 1 < len; i++)
        a0 += (uint32_t)b[i] * b[i + 1];
    s12 = a0 + a1 + a2 + a3 + (uint32_t)b[len - 1] * b[0];
    double n = (double)len, m = (double)s1;
    double den = n * (double)s2 - m * m;
    if (den <= 0.0)
        return 1.0; /* constant block */
    return (n * (double)s12 - m * m) / den;
}

bool cs_random_hist(const uint8_t *b, size_t len, const uint32_t h[256])
{
    if (len < CS_MIN_BLOCK)
        return false;
    if (cs_chi2_hist(h, len) >= CS_CHI2_RANDOM)
        return false;
    return fabs(serial_corr(b, len, h)) < CS_SERIAL_SD / sqrt((double)len);
}

bool content_block_random(const uint8_t *buf, size_t len)
{
    if (!buf || len < CS_MIN_BLOCK)
        return false;
    uint32_t h[256];
    cs_hist(buf, len, h);
    return cs_random_hist(buf, len, h);
}

/* ---- text ---------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at b[0..n) (2..4), 0 when invalid. A
 * sequence cut by the end of the block counts as valid so far. */
static size_t utf8_seq(const uint8_t *b, size_t n)
{
    uint8_t c = b[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    size_t k = 1;
    for (; k <= need && k < n; k++) {
        uint8_t d = b[k];
        if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xbf))
            return 0;
    }
    return k;
}

/* UTF-8 decided from the histogram: no stray control bytes, no bytes that
 * never occur in UTF-8, and continuation bytes exactly as many as the leads
 * ask for (give or take sequences cut at the block edges). */
static bool utf8_balanced(const uint32_t h[256])
{
    uint64_t cont = 0, want = 0;
    for (int v = 0x80; v <= 0xbf; v++)
        cont += h[v];
    for (int v = 0xc2; v <= 0xdf; v++)
        want += h[v];
    for (int v = 0xe0; v <= 0xef; v++)
        want += 2u * h[v];
    for (int v = 0xf0; v <= 0xf4; v++)
        want += 3u * h[v];
    if (h[0xc0] || h[0xc1])
        return false;
    for (int v = 0xf5; v <= 0xff; v++)
        if (h[v])
            return false;
    uint64_t d = cont > want ? cont - want : want - cont;
    return d <= 6;
}

static uint32_t count_ctrl(const uint32_t h[256])
{
    uint32_t n = 0;
    for (int v = 0; v < 0x80; v++)
        if (!ascii_text((uint8_t)v))
            n += h[v];
    return n;
}

/* Bytes that valid UTF-8 text never holds: controls other than whitespace
 * and ESC (27 values), C0, C1 and F5..FF (13 values). Random bytes spliced
 * into text hit these 40 values uniformly (15.6% of random bytes); binary
 * fields, zeros, Latin-1 letters concentrate on a few of them. Text broken
 * around a spliced chunk (orphaned UTF-8 leads and continuations) never lands
 * here, so Japanese text with ciphertext spliced in is seen as well as ASCII.
 * chi2 with 39 df (sd 8.8); the bound is mean + 6 sd. */
#define CS_IMP_VALUES 40.0
#define CS_IMP_CHI2 92.0
#define CS_IMP_MIN 48u

static bool impossible_byte(uint8_t c)
{
    return c < 0x80 ? !ascii_text(c) : (c == 0xc0 || c == 0xc1 || c >= 0xf5);
}

static bool impossible_uniform(const uint32_t hn[256])
{
    uint64_t m = 0, sq = 0;
    for (int v = 0; v < 256; v++)
        if (impossible_byte((uint8_t)v)) {
            m += hn[v];
            sq += (uint64_t)hn[v] * hn[v];
        }
    if (m < CS_IMP_MIN)
        return false;
    return CS_IMP_VALUES * (double)sq / (double)m - (double)m < CS_IMP_CHI2;
}

static uint32_t count_granules(const uint8_t *flag, uint32_t ng)
{
    uint32_t k = 0;
    for (uint32_t g = 0; g < ng; g++)
        k += flag[g];
    return k;
}

static void classify_text_bytes(const uint8_t *b, size_t len, struct cs_block *out)
{
    uint32_t hn[256] = {0};
    uint8_t gflag[CONTENT_BLOCK / 16] = {0};
    uint32_t nontext = 0;
    size_t i = 0;
    /* Up to 3 continuation bytes at the start belong to a sequence begun in
     * the previous block. */
    while (i < len && i < 3 && b[i] >= 0x80 && b[i] <= 0xbf)
        i++;
    while (i < len) {
        uint8_t c = b[i];
        if (c < 0x80) {
            if (!ascii_text(c)) {
                hn[c]++;
                nontext++;
                gflag[i / 16] = 1;
            }
            i++;
            continue;
        }
        size_t k = utf8_seq(b + i, len - i);
        if (k) {
            i += k;
            continue;
        }
        hn[c]++;
        nontext++;
        gflag[i / 16] = 1;
        i++;
    }
    out->nontext_granules = count_granules(gflag, out->granules);
    uint32_t text = (uint32_t)len - nontext;
    if (text * 2u >= len && impossible_uniform(hn))
        out->cls = CS_INTERLEAVED;
    else if (nontext * 100u <= 3u * len)
        out->cls = CS_TEXT;
    else
        out->cls = CS_STRUCT;
}

/* A UTF-16 code unit that text carries. Random units land here ~85% of the
 * time, so UTF-16 interleaving is judged by the share of misses. */
static bool utf16_text(uint16_t u)
{
    if (u < 0x80)
        return ascii_text((uint8_t)u);
    return (u >= 0xa0 && u < 0x2c00) || (u >= 0x3000 && u < 0xd800) || (u >= 0xf900 && u <= 0xfffd);
}

static void classify_utf16(const uint8_t *b, size_t len, bool be, struct cs_block *out)
{
    uint8_t gflag[CONTENT_BLOCK / 16] = {0};
    uint32_t units = (uint32_t)(len / 2), bad = 0;
    for (uint32_t k = 0; k < units; k++) {
        uint16_t u = be ? (uint16_t)(b[2 * k] << 8 | b[2 * k + 1])
                        : (uint16_t)(b[2 * k + 1] << 8 | b[2 * k]);
        if (u >= 0xd800 && u < 0xdc00 && k + 1 < units) {
            uint16_t w = be ? (uint16_t)(b[2 * k + 2] << 8 | b[2 * k + 3])
                            : (uint16_t)(b[2 * k + 3] << 8 | b[2 * k + 2]);
            if (w >= 0xdc00 && w < 0xe000) {
                k++;
                continue;
            }
        }
        if (!utf16_text(u)) {
            bad++;
            gflag[(2 * k) / 16] = 1;
        }
    }
    out->nontext_granules = count_granules(gflag, out->granules);
    if (units == 0 || bad * 50u <= units)
        out->cls = CS_TEXT;
    else if (bad * 25u >= units && bad * 2u <= units)
        out->cls = CS_INTERLEAVED;
    else
        out->cls = CS_STRUCT;
}

void cs_block_judge(const uint8_t *b, size_t len, enum cs_enc enc, struct cs_block *out,
                    uint32_t hist_acc[256])
{
    uint32_t h[256];
    cs_hist(b, len, h);
    if (hist_acc)
        for (int v = 0; v < 256; v++)
            hist_acc[v] += h[v];
    out->granules = (uint32_t)((len + 15) / 16);
    out->nontext_granules = out->granules;
    out->chi2 = cs_chi2_hist(h, len);
    if (cs_random_hist(b, len, h)) {
        out->cls = CS_RANDOM;
        return;
    }
    if (enc != CS_ENC_BYTES) {
        classify_utf16(b, len, enc == CS_ENC_UTF16BE, out);
        return;
    }
    uint32_t ctrl = count_ctrl(h), high = 0, asc = 0;
    for (int v = 0x80; v < 256; v++)
        high += h[v];
    asc = (uint32_t)len - ctrl - high;
    if (ctrl == 0 && (high == 0 || utf8_balanced(h))) {
        out->cls = CS_TEXT;
        out->nontext_granules = 0;
        return;
    }
    /* Bytes that UTF-8 text never holds are visible in the histogram: many of
     * them, not spread like random bytes -> binary, no per-byte walk needed. */
    uint32_t imp = 0;
    for (int v = 0; v < 256; v++)
        if (impossible_byte((uint8_t)v))
            imp += h[v];
    if ((asc * 4u < len && high * 4u < len) || (imp * 100u > 3u * len && !impossible_uniform(h))) {
        out->cls = CS_STRUCT;
        return;
    }
    classify_text_bytes(b, len, out);
}

/* ---- chunker ------------------------------------------------------------- */

void cs_chunker_init(struct cs_chunker *c)
{
    c->len = 0;
    c->total = 0;
    c->first_len = 0;
    c->judged = 0;
    c->random = 0;
}

static void chunk_judge(struct cs_chunker *c)
{
    if (c->len >= CS_MIN_BLOCK) {
        c->judged++;
        if (content_block_random(c->buf, c->len))
            c->random++;
    }
    c->len = 0;
}

void cs_chunker_feed(struct cs_chunker *c, const uint8_t *p, size_t n)
{
    if (c->first_len < CS_FIRST_KEEP) {
        size_t k = CS_FIRST_KEEP - c->first_len;
        if (k > n)
            k = n;
        memcpy(c->first + c->first_len, p, k);
        c->first_len += k;
    }
    c->total += n;
    while (n) {
        size_t k = CONTENT_BLOCK - c->len;
        if (k > n)
            k = n;
        memcpy(c->buf + c->len, p, k);
        c->len += k;
        p += k;
        n -= k;
        if (c->len == CONTENT_BLOCK)
            chunk_judge(c);
    }
}

void cs_chunker_finish(struct cs_chunker *c)
{
    chunk_judge(c);
}

bool cs_chunker_random(const struct cs_chunker *c)
{
    if (c->judged == 0 || c->random * 2u <= c->judged)
        return false;
    return !cm_nested_container(c->first, c->first_len);
}
