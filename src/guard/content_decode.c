/* content_decode.c - does a compressed container really decode, and to what?
 *
 * At 4 KiB, deflate, zstd and especially xz output pass the chi-square test as
 * often as ciphertext does (measured: gzip of text has a median chi2 of 280,
 * xz 255, urandom 254), so "random blocks" alone cannot tell a .gz from an
 * encrypted file. Instead, for files whose magic says compressed, we decode up
 * to CD_DECODE_CAP bytes of output from the head and judge what comes out.
 *
 * Data enters as the head bytes (maybe a cut-off prefix of a bigger file) plus
 * the sampled tail; a verdict (valid, decoded_random) leaves.
 *   - gzip, zlib (git loose objects), git packs, PDF streams: zlib inflate with
 *     its state placed in a bounded arena on our stack (no malloc);
 *   - zstd, xz, bzip2, zip (OOXML too): libarchive over memory, fed in 4 KiB
 *     pieces so that an error can be told apart: a stream that runs out of
 *     input (the head was cut) is fine, a data error with input left is not;
 *   - zip and xz also need their end-of-file signatures in the tail block.
 * Then base64/hex: lines of encoded text are decoded and the result judged
 * like any other stream. */
#include "guard/content_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdalign.h>
#include <string.h>
#include <zlib.h>

/* ---- zlib in a stack arena ----------------------------------------------- */

/* inflate needs its state (~7 KiB) and a 32 KiB window. */
#define CD_ARENA (48u * 1024)

struct arena {
    alignas(16) uint8_t mem[CD_ARENA];
    size_t used;
};

static voidpf arena_alloc(voidpf opaque, uInt items, uInt size)
{
    struct arena *a = opaque;
    size_t want = (size_t)items * size;
    if (size && want / size != items)
        return Z_NULL;
    want = (want + 15u) & ~(size_t)15u;
    if (want > CD_ARENA - a->used)
        return Z_NULL;
    void *p = a->mem + a->used;
    a->used += want;
    return p;
}

static void arena_free(voidpf opaque, voidpf addr)
{
    (void)opaque;
    (void)addr; /* the arena dies with the caller's frame */
}

enum inf_end { INF_OK, INF_CUT, INF_BAD };

/* Inflate one stream from in[0..n) into the chunker, stopping at the output
 * cap. wbits: 15 zlib, 31 gzip. *used gets the input consumed. INF_OK: stream
 * end or cap reached; INF_CUT: input ran out mid-stream; INF_BAD: data error. */
static enum inf_end inflate_into(const uint8_t *in, size_t n, int wbits, struct cs_chunker *c,
                                 size_t cap, size_t *used)
{
    struct arena a;
    a.used = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = arena_alloc;
    z.zfree = arena_free;
    z.opaque = &a;
    *used = 0;
    if (inflateInit2(&z, wbits) != Z_OK)
        return INF_BAD;
    uint8_t out[CONTENT_BLOCK];
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    enum inf_end res = INF_CUT;
    for (;;) {
        z.next_out = out;
        z.avail_out = sizeof out;
        int rc = inflate(&z, Z_NO_FLUSH);
        size_t got = sizeof out - z.avail_out;
        cs_chunker_feed(c, out, got);
        if (rc == Z_STREAM_END) {
            res = INF_OK;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            res = INF_BAD;
            break;
        }
        if (c->total >= cap) {
            res = INF_OK;
            break;
        }
        if (got == 0 && z.avail_in == 0) {
            res = INF_CUT;
            break;
        }
        if (got == 0 && rc == Z_BUF_ERROR) {
            res = INF_BAD; /* no progress with input left */
            break;
        }
    }
    *used = n - z.avail_in;
    inflateEnd(&z);
    return res;
}

static void check_gzip(const uint8_t *b, size_t n, int wbits, struct cd_result *r)
{
    struct cs_chunker c;
    cs_chunker_init(&c);
    size_t off = 0, used = 0;
    enum inf_end e;
    /* gzip members may be concatenated; follow them while output is wanted. */
    for (int member = 0; member < 16; member++) {
        e = inflate_into(b + off, n - off, wbits, &c, CD_DECODE_CAP, &used);
        off += used;
        if (e != INF_OK || c.total >= CD_DECODE_CAP || wbits != 31 || n - off < 3 ||
            b[off] != 0x1f || b[off + 1] != 0x8b)
            break;
    }
    cs_chunker_finish(&c);
    r->valid = e != INF_BAD;
    r->decoded_random = r->valid && cs_chunker_random(&c);
}

/* Git pack: a 12-byte header, then objects: a type/size varint, for deltas a
 * base reference, then a zlib stream. */
static void check_pack(const uint8_t *b, size_t n, struct cd_result *r)
{
    struct cs_chunker c;
    cs_chunker_init(&c);
    size_t off = 12, used;
    enum inf_end e = INF_CUT;
    for (int obj = 0; obj < 64 && off < n && c.total < CD_DECODE_CAP; obj++) {
        unsigned type = (b[off] >> 4) & 7;
        while (off < n && (b[off] & 0x80))
            off++;
        off++;
        if (type == 0 || type == 5) {
            e = INF_BAD;
            break;
        }
        if (type == 6) {
            while (off < n && (b[off] & 0x80))
                off++;
            off++;
        } else if (type == 7)
            off += 20;
        if (off >= n) {
            e = INF_CUT;
            break;
        }
        e = inflate_into(b + off, n - off, 15, &c, CD_DECODE_CAP, &used);
        off += used;
        if (e != INF_OK)
            break;
    }
    cs_chunker_finish(&c);
    r->valid = e != INF_BAD;
    r->decoded_random = false; /* objects are deltas and blobs of anything */
}

/* ---- libarchive ---------------------------------------------------------- */

struct mem_src {
    const uint8_t *p;
    size_t n, off;
    bool eof; /* the reader asked past the end of what we have */
};

static la_ssize_t mem_read(struct archive *a, void *ud, const void **buf)
{
    (void)a;
    struct mem_src *s = ud;
    size_t k = s->n - s->off;
    if (k > CONTENT_BLOCK)
        k = CONTENT_BLOCK;
    if (k == 0)
        s->eof = true;
    *buf = s->p + s->off;
    s->off += k;
    return (la_ssize_t)k;
}

/* Read entry data into the chunker. Returns ARCHIVE_OK, ARCHIVE_EOF or an error. */
static int la_drain(struct archive *a, struct cs_chunker *c)
{
    uint8_t out[CONTENT_BLOCK];
    while (c->total < CD_DECODE_CAP) {
        la_ssize_t k = archive_read_data(a, out, sizeof out);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return ARCHIVE_EOF;
        cs_chunker_feed(c, out, (size_t)k);
    }
    return ARCHIVE_OK;
}

/* Returns false when libarchive could only decode through an external
 * program (ARCHIVE_WARN): we never spawn one from the guard. */
static bool la_setup(struct archive *a, const char *type)
{
    if (strcmp(type, "zip") == 0)
        return archive_read_support_format_zip_streamable(a) == ARCHIVE_OK;
    int rc;
    if (strcmp(type, "zstd") == 0)
        rc = archive_read_support_filter_zstd(a);
    else if (strcmp(type, "xz") == 0)
        rc = archive_read_support_filter_xz(a);
    else
        rc = archive_read_support_filter_bzip2(a);
    return rc == ARCHIVE_OK && archive_read_support_format_raw(a) == ARCHIVE_OK;
}

static void check_libarchive(const char *type, const uint8_t *b, size_t n, struct cd_result *r)
{
    struct archive *a = archive_read_new();
    if (!a)
        return; /* out of memory: say nothing rather than "broken" */
    if (!la_setup(a, type)) {
        archive_read_free(a);
        r->valid = true; /* cannot check here; the magic stands */
        return;
    }
    struct mem_src src = {b, n, 0, false};
    struct cs_chunker c;
    cs_chunker_init(&c);
    bool bad = false, encrypted = false;
    if (archive_read_open(a, &src, NULL, mem_read, NULL) != ARCHIVE_OK) {
        bad = !src.eof;
        goto out;
    }
    bool zip = strcmp(type, "zip") == 0;
    int entries = 0;
    while (c.total < CD_DECODE_CAP && entries < 32) {
        struct archive_entry *e;
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc < ARCHIVE_WARN) {
            bad = !(src.eof && (entries > 0 || c.total > 0));
            break;
        }
        entries++;
        if (zip && archive_entry_is_encrypted(e)) {
            encrypted = true; /* password-protected zip: structure only */
            break;
        }
        rc = la_drain(a, &c);
        if (rc < ARCHIVE_WARN) {
            bad = !src.eof;
            break;
        }
        if (!zip)
            break; /* raw: one stream */
    }
out:
    cs_chunker_finish(&c);
    archive_read_free(a);
    r->valid = !bad;
    r->decoded_random = r->valid && !encrypted && cs_chunker_random(&c);
}

/* ---- tails ----------------------------------------------------------------- */

static bool find_bytes(const uint8_t *p, size_t n, const char *needle, size_t k)
{
    if (n < k)
        return false;
    for (size_t i = 0; i + k <= n; i++)
        if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, k) == 0)
            return true;
    return false;
}

/* zip: end-of-central-directory record in the last bytes (22 + comment). */
static bool zip_tail_ok(const struct cd_tail *t)
{
    if (!t->p)
        return true;
    return find_bytes(t->p, t->len, "PK\5\6", 4);
}

/* xz: the stream footer ends with "YZ" (padding to 4 bytes may follow). */
static bool xz_tail_ok(const struct cd_tail *t)
{
    if (!t->p)
        return true;
    size_t n = t->len;
    while (n >= 4 && t->p[n - 1] == 0 && t->p[n - 2] == 0 && t->p[n - 3] == 0 && t->p[n - 4] == 0)
        n -= 4;
    return n >= 2 && t->p[n - 2] == 'Y' && t->p[n - 1] == 'Z';
}

/* ---- PDF ------------------------------------------------------------------- */

/* A PDF with compressed streams has random-looking blocks by nature. We ask
 * for: "%%EOF" near the end (when the tail was sampled) and the first few
 * Flate streams in the head to inflate (as far as the head goes). */
static void check_pdf(const uint8_t *b, size_t n, const struct cd_tail *t, struct cd_result *r)
{
    r->decoded_random = false;
    r->valid = false;
    if (t->p) {
        size_t k = t->len < 1024 ? t->len : 1024;
        if (!find_bytes(t->p + t->len - k, k, "%%EOF", 5))
            return;
    }
    int streams = 0;
    for (size_t i = 1; i + 8 < n && streams < 3; i++) {
        if (b[i] != 's' || memcmp(b + i, "stream", 6) != 0 || b[i - 1] == 'd')
            continue;
        size_t s = i + 6;
        if (b[s] == '\r')
            s++;
        if (s >= n || b[s] != '\n')
            continue;
        s++;
        i = s;
        if (!cm_zlib_header(b + s, n - s))
            continue;
        struct cs_chunker c;
        cs_chunker_init(&c);
        size_t used;
        if (inflate_into(b + s, n - s, 15, &c, CONTENT_BLOCK, &used) == INF_BAD)
            return;
        streams++;
        i += used;
    }
    r->valid = true;
}

void cd_container(const char *type, const uint8_t *head, size_t n, const struct cd_tail *tail,
                  struct cd_result *r)
{
    r->valid = false;
    r->decoded_random = false;
    if (strcmp(type, "gzip") == 0)
        check_gzip(head, n, 31, r);
    else if (strcmp(type, "zlib") == 0)
        check_gzip(head, n, 15, r);
    else if (strcmp(type, "pack") == 0)
        check_pack(head, n, r);
    else if (strcmp(type, "pdf") == 0)
        check_pdf(head, n, tail, r);
    else if (strcmp(type, "zstd") == 0 || strcmp(type, "xz") == 0 || strcmp(type, "bzip2") == 0 ||
             strcmp(type, "zip") == 0) {
        check_libarchive(type, head, n, r);
        if (strcmp(type, "zip") == 0 && !zip_tail_ok(tail))
            r->valid = false;
        if (strcmp(type, "xz") == 0 && !xz_tail_ok(tail))
            r->valid = false;
    }
}

/* ---- base64 / hex ------------------------------------------------------------ */

/* Value of a base64 digit (standard and URL-safe alphabets), -1 otherwise. */
static int b64_val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

struct enc_state {
    bool hex;
    uint32_t acc;  /* pending bits */
    unsigned bits; /* how many */
    uint8_t out[256];
    size_t olen;
    struct cs_chunker *c;
};

static void enc_flush(struct enc_state *s)
{
    cs_chunker_feed(s->c, s->out, s->olen);
    s->olen = 0;
}

static void enc_digit(struct enc_state *s, int v)
{
    unsigned w = s->hex ? 4 : 6;
    s->acc = (s->acc << w) | (uint32_t)v;
    s->bits += w;
    if (s->bits >= 8) {
        s->bits -= 8;
        s->out[s->olen++] = (uint8_t)(s->acc >> s->bits);
        s->acc &= (1u << s->bits) - 1;
        if (s->olen == sizeof s->out)
            enc_flush(s);
    }
}

/* A line of encoded text: only digits of the alphabet (hex: also blanks
 * between byte pairs; base64: '=' padding at the end), at least 16 digits,
 * or the last line cut off by the end of the head. */
static bool enc_line(const uint8_t *p, size_t len, bool hex, bool last)
{
    size_t digits = 0;
    for (size_t i = 0; i < len; i++) {
        if (hex ? hex_val(p[i]) >= 0 : b64_val(p[i]) >= 0)
            digits++;
        else if (hex && (p[i] == ' ' || p[i] == '\t'))
            continue;
        else if (!hex && p[i] == '=' && i + 3 >= len)
            continue;
        else
            return false;
    }
    return digits >= 16 || (last && digits >= 4);
}

/* Decode the encoded lines of b[0..n) until the output cap; returns the bytes
 * of encoded lines seen and sets *scanned to how far the scan went. */
static size_t enc_decode(const uint8_t *b, size_t n, bool hex, struct cs_chunker *c,
                         size_t *scanned)
{
    struct enc_state s = {.hex = hex, .c = c};
    size_t covered = 0, i = 0;
    while (i < n && c->total < CD_DECODE_CAP) {
        const uint8_t *nl = memchr(b + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - b) : n;
        size_t len = end - i;
        if (len && b[end - 1] == '\r')
            len--;
        if (enc_line(b + i, len, hex, nl == NULL)) {
            covered += end - i + (nl ? 1 : 0);
            for (size_t k = i; k < i + len; k++) {
                int v = hex ? hex_val(b[k]) : b64_val(b[k]);
                if (v >= 0)
                    enc_digit(&s, v);
                else if (b[k] == '=')
                    s.bits = 0, s.acc = 0; /* padding ends a quantum */
            }
        } else {
            s.bits = 0; /* not encoded text: start over */
            s.acc = 0;
        }
        i = end + 1;
    }
    enc_flush(&s);
    *scanned = i < n ? i : n;
    return covered;
}

bool cd_encoded_random(const uint8_t *head, size_t n, const uint32_t hist[256])
{
    if (n < 4 * CS_MIN_BLOCK / 3)
        return false;
    uint64_t hex = 0, b64 = 0, nl = hist['\r'] + hist['\n'], blank = hist[' '] + hist['\t'];
    for (int v = 0; v < 256; v++) {
        if (hex_val((uint8_t)v) >= 0)
            hex += hist[v];
        if (b64_val((uint8_t)v) >= 0 || v == '=')
            b64 += hist[v];
    }
    bool is_hex = hex * 2 >= n && (hex + nl + blank) * 10 >= 9 * n;
    bool is_b64 = !is_hex && (b64 + nl) * 10 >= 9 * n && blank * 50 <= n;
    if (!is_hex && !is_b64)
        return false;
    struct cs_chunker c;
    cs_chunker_init(&c);
    size_t scanned = 0;
    size_t covered = enc_decode(head, n, is_hex, &c, &scanned);
    cs_chunker_finish(&c);
    return covered * 2 >= scanned && cs_chunker_random(&c);
}
