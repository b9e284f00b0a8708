/* test_content.c - unit tests for the content judge (src/guard/content.h).
 *
 * Every input is built here: text from a word list, C source, CSV, Japanese
 * UTF-8, UTF-16; gzip/zlib with zlib, zstd/xz/bzip2/zip/tar.gz with libarchive;
 * random bytes from OpenSSL; a sqlite database via libsqlite3; a small PDF and
 * PNG/JPEG headers by hand. Files go through content_read_sample() on a temp
 * file, so sampling is exercised too, then the ransomware patterns the guard
 * must see (full overwrite, every other 16 bytes, 1 MiB of every 2 MiB, 5% of
 * blocks, first 4 KiB only, base64/hex of ciphertext) are applied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "guard/content.h"

/* ---- builders ------------------------------------------------------------ */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void rnd(void *p, size_t n)
{
    assert_int_equal(RAND_bytes(p, (int)n), 1);
}

static uint32_t lcg(uint32_t *st)
{
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

static const char *const words[] = {
    "the", "guard", "file", "report", "quarterly", "sales", "were", "higher", "than", "expected",
    "and", "our", "team", "will", "review", "numbers", "with", "customers", "in", "Osaka",
    "Tokyo", "meeting", "schedule", "budget", "project", "delivery", "is", "planned", "for",
    "next", "week", "please", "confirm", "attached", "invoice", "order", "shipping", "address",
    "a", "of", "to", "that", "we", "discussed", "yesterday", "contract", "renewal", "terms",
};

static void make_text(struct buf *b, size_t len, uint32_t seed)
{
    uint32_t st = seed;
    size_t col = 0;
    while (b->len < len) {
        const char *w = words[lcg(&st) % (sizeof words / sizeof words[0])];
        buf_str(b, w);
        col += strlen(w) + 1;
        if (lcg(&st) % 12 == 0) {
            buf_str(b, ".");
        }
        if (col > 70) {
            buf_str(b, lcg(&st) % 6 == 0 ? "\n\n" : "\n");
            col = 0;
        } else
            buf_str(b, " ");
    }
    b->len = len;
}

static void make_csource(struct buf *b, size_t len)
{
    char line[256];
    for (int i = 0; b->len < len; i++) {
        snprintf(line, sizeof line,
                 "static int helper_%d(const struct item *it, size_t n)\n{\n"
                 "    if (!it || n == 0)\n        return -%d; /* nothing to do */\n"
                 "    return it[n - 1].value * %d + (int)n;\n}\n\n",
                 i, i % 7, i * 3);
        buf_str(b, line);
    }
    b->len = len;
}

static void make_csv(struct buf *b, size_t len)
{
    char line[128];
    uint32_t st = 7;
    buf_str(b, "id,date,customer,amount,status\n");
    for (int i = 0; b->len < len; i++) {
        snprintf(line, sizeof line, "%d,2024-%02u-%02u,cust%04u,%u.%02u,%s\n", i, lcg(&st) % 12 + 1,
                 lcg(&st) % 28 + 1, lcg(&st) % 5000, lcg(&st) % 100000, lcg(&st) % 100,
                 lcg(&st) % 3 ? "paid" : "open");
        buf_str(b, line);
    }
    b->len = len;
}

static void make_japanese(struct buf *b, size_t len)
{
    static const char *const jp[] = {"売上報告書", "会議の予定", "お客様各位", "ご確認ください",
                                     "来週の出荷", "東京本社", "大阪支店", "請求書を添付します",
                                     "。", "、", "\n"};
    uint32_t st = 3;
    while (b->len < len)
        buf_str(b, jp[lcg(&st) % (sizeof jp / sizeof jp[0])]);
    while (b->len > len || (b->len > 0 && (b->p[b->len - 1] & 0xc0) == 0x80))
        b->len--; /* end on a character boundary */
    if (b->len > 0 && b->p[b->len - 1] >= 0xc0)
        b->len--;
}

static void deflate_buf(const struct buf *in, struct buf *out, int wbits, int level)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t tmp[65536];
    z.next_in = in->p;
    z.avail_in = (uInt)in->len;
    int rc;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof tmp;
        rc = deflate(&z, Z_FINISH);
        buf_put(out, tmp, sizeof tmp - z.avail_out);
    } while (rc == Z_OK);
    assert_int_equal(rc, Z_STREAM_END);
    deflateEnd(&z);
}

/* libarchive writer into a struct buf: raw + filter, or a format with entries. */
static la_ssize_t wr_cb(struct archive *a, void *ud, const void *p, size_t n)
{
    (void)a;
    buf_put(ud, p, n);
    return (la_ssize_t)n;
}

enum arch_kind { AK_ZSTD, AK_XZ, AK_BZIP2, AK_ZIP, AK_TARGZ };

static void archive_buf(enum arch_kind k, const struct buf *in, struct buf *out)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    if (k == AK_ZIP)
        assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
    else if (k == AK_TARGZ) {
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    } else {
        assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
        int rc = k == AK_ZSTD ? archive_write_add_filter_zstd(a)
                 : k == AK_XZ ? archive_write_add_filter_xz(a)
                              : archive_write_add_filter_bzip2(a);
        assert_int_equal(rc, ARCHIVE_OK);
    }
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open(a, out, NULL, wr_cb, NULL), ARCHIVE_OK);
    int entries = k == AK_ZIP ? 3 : 1;
    static const char *const names[] = {"[Content_Types].xml", "word/document.xml", "docProps/app.xml"};
    for (int i = 0; i < entries; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, k == AK_ZIP ? names[i] : "data.txt");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)in->len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, in->p, in->len), (la_ssize_t)in->len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static void base64_buf(const uint8_t *p, size_t n, struct buf *out, size_t linelen)
{
    uint8_t line[128];
    size_t raw = linelen / 4 * 3;
    for (size_t off = 0; off < n; off += raw) {
        size_t k = n - off < raw ? n - off : raw;
        int m = EVP_EncodeBlock(line, p + off, (int)k);
        buf_put(out, line, (size_t)m);
        buf_str(out, "\n");
    }
}

static void hex_buf(const uint8_t *p, size_t n, struct buf *out, bool upper, size_t per_line)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char h[2] = {dig[p[i] >> 4], dig[p[i] & 15]};
        buf_put(out, h, 2);
        if (per_line && (i + 1) % per_line == 0)
            buf_str(out, "\n");
    }
}

/* ---- sampling helpers ---------------------------------------------------- */

static struct content_sample *sample_new(void)
{
    struct content_sample *s = calloc(1, sizeof *s);
    assert_non_null(s);
    return s;
}

static int tmp_file(void)
{
    char path[] = "/tmp/mamori_content_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static void sample_of(struct content_sample *s, const uint8_t *p, size_t n)
{
    int fd = tmp_file();
    for (size_t off = 0; off < n;) {
        ssize_t k = write(fd, p + off, n - off);
        assert_true(k > 0);
        off += (size_t)k;
    }
    assert_int_equal(content_read_sample(fd, s), 0);
    close(fd);
}

static void judge_buf(const struct buf *b, const char *name, struct content_verdict *v)
{
    struct content_sample *s = sample_new();
    sample_of(s, b->p, b->len);
    content_judge(s, name, v);
    free(s);
}

/* ---- statistics ------------------------------------------------------------ */

static void test_chi2_values(void **state)
{
    (void)state;
    uint8_t b[CONTENT_BLOCK];
    memset(b, 'a', sizeof b);
    assert_true(content_chi2(b, sizeof b) > 1e6);
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)i;
    assert_true(content_chi2(b, sizeof b) < 1e-9); /* perfectly flat */
    assert_false(content_block_random(b, sizeof b)); /* flat but serially correlated */
    rnd(b, sizeof b);
    double c = content_chi2(b, sizeof b);
    assert_true(c > 150 && c < 360);
    assert_false(content_block_random(b, 511)); /* too short to judge */
    assert_true(content_chi2(NULL, 0) == 0.0);
}

static void test_random_blocks_statistical(void **state)
{
    (void)state;
    enum { N = 1200 };
    uint8_t *b = malloc((size_t)N * CONTENT_BLOCK);
    assert_non_null(b);
    rnd(b, (size_t)N * CONTENT_BLOCK);
    int miss = 0;
    for (int i = 0; i < N; i++)
        miss += !content_block_random(b + (size_t)i * CONTENT_BLOCK, CONTENT_BLOCK);
    print_message("random blocks missed: %d of %d\n", miss, N);
    assert_true(miss <= 1);
    free(b);
}

static void test_text_blocks_never_random(void **state)
{
    (void)state;
    struct buf t = {0}, c = {0}, v = {0}, j = {0};
    make_text(&t, 1 << 20, 11);
    make_csource(&c, 1 << 20);
    make_csv(&v, 1 << 20);
    make_japanese(&j, 1 << 20);
    const struct buf *all[] = {&t, &c, &v, &j};
    for (size_t k = 0; k < 4; k++)
        for (size_t off = 0; off + CONTENT_BLOCK <= all[k]->len; off += CONTENT_BLOCK)
            assert_false(content_block_random(all[k]->p + off, CONTENT_BLOCK));
    buf_free(&t);
    buf_free(&c);
    buf_free(&v);
    buf_free(&j);
}

/* How often do compressed 4 KiB blocks pass as random? Printed, and the
 * containers must still be judged COMPRESSED (test_compressed_kinds). */
static void test_compressed_block_rates(void **state)
{
    (void)state;
    struct buf t = {0}, gz = {0}, zs = {0};
    make_text(&t, 4 << 20, 5);
    deflate_buf(&t, &gz, 31, 6);
    archive_buf(AK_ZSTD, &t, &zs);
    const struct buf *all[] = {&gz, &zs};
    const char *nm[] = {"gzip -6", "zstd"};
    for (size_t k = 0; k < 2; k++) {
        int n = 0, r = 0;
        for (size_t off = CONTENT_BLOCK; off + CONTENT_BLOCK <= all[k]->len; off += CONTENT_BLOCK) {
            n++;
            r += content_block_random(all[k]->p + off, CONTENT_BLOCK);
        }
        print_message("%s of generated text: %d of %d blocks look random\n", nm[k], r, n);
        assert_true(n > 0);
    }
    buf_free(&t);
    buf_free(&gz);
    buf_free(&zs);
}

/* ---- benign content ---------------------------------------------------------- */

static void expect_kind(const struct buf *b, const char *name, enum content_kind k)
{
    struct content_verdict v;
    judge_buf(b, name, &v);
    if (v.kind != k)
        print_message("%s: got %s (blocks %u random %u inter %u text %u nontext %.2f magic '%s')\n",
                      name, content_kind_name(v.kind), v.blocks, v.random_blocks,
                      v.interleaved_blocks, v.text_blocks, v.nontext_fraction, v.magic_type);
    assert_int_equal(v.kind, k);
}

static void test_text_kinds(void **state)
{
    (void)state;
    struct buf b = {0};
    make_text(&b, 300000, 1);
    expect_kind(&b, "notes.txt", CK_TEXT);
    buf_free(&b);
    make_csource(&b, 90000);
    expect_kind(&b, "main.c", CK_TEXT);
    buf_free(&b);
    make_csv(&b, 2 << 20);
    expect_kind(&b, "sales.csv", CK_TEXT);
    buf_free(&b);
    make_japanese(&b, 200000);
    expect_kind(&b, "memo.txt", CK_TEXT);
    buf_free(&b);
    make_text(&b, 300, 2); /* tiny file: one short block */
    expect_kind(&b, "a.md", CK_TEXT);
    buf_free(&b);

    /* UTF-16LE with BOM */
    buf_put(&b, "\xff\xfe", 2);
    struct buf t = {0};
    make_japanese(&t, 30000);
    for (size_t i = 0; i < t.len;) { /* crude UTF-8 -> UTF-16LE for BMP characters */
        uint32_t cp;
        uint8_t c = t.p[i];
        if (c < 0x80)
            cp = c, i += 1;
        else if (c < 0xe0)
            cp = (uint32_t)(c & 0x1f) << 6 | (t.p[i + 1] & 0x3f), i += 2;
        else
            cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(t.p[i + 1] & 0x3f) << 6 | (t.p[i + 2] & 0x3f),
            i += 3;
        uint8_t u[2] = {(uint8_t)cp, (uint8_t)(cp >> 8)};
        buf_put(&b, u, 2);
    }
    expect_kind(&b, "utf16.txt", CK_TEXT);
    buf_free(&t);
    buf_free(&b);
}

static void test_compressed_kinds(void **state)
{
    (void)state;
    struct buf t = {0};
    make_text(&t, 3 << 20, 9);
    struct {
        enum arch_kind k;
        const char *name, *magic;
    } cases[] = {
        {AK_ZSTD, "a.txt.zst", "zstd"}, {AK_XZ, "a.txt.xz", "xz"}, {AK_BZIP2, "a.bz2", "bzip2"},
        {AK_ZIP, "report.docx", "zip"}, {AK_TARGZ, "backup.tar.gz", "gzip"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf z = {0};
        archive_buf(cases[i].k, &t, &z);
        struct content_verdict v;
        judge_buf(&z, cases[i].name, &v);
        print_message("%-14s %8zu bytes: %s valid=%d random %u/%u\n", cases[i].name, z.len,
                      content_kind_name(v.kind), v.container_valid, v.random_blocks, v.blocks);
        assert_string_equal(v.magic_type, cases[i].magic);
        assert_true(v.container_valid);
        assert_false(v.decoded_random);
        assert_false(v.magic_mismatch);
        assert_int_equal(v.kind, CK_COMPRESSED);
        buf_free(&z);
    }
    struct buf gz = {0};
    deflate_buf(&t, &gz, 31, 9);
    struct content_verdict v;
    judge_buf(&gz, "text.gz", &v);
    assert_string_equal(v.magic_type, "gzip");
    assert_true(v.container_valid);
    assert_int_equal(v.kind, CK_COMPRESSED);
    assert_true(v.random_blocks > 0); /* spread blocks look random: expected */

    /* git loose object: zlib stream without gzip header */
    struct buf obj = {0}, z = {0};
    buf_str(&obj, "blob 2000");
    buf_put(&obj, "", 1);
    buf_put(&obj, t.p, 2000);
    deflate_buf(&obj, &z, 15, 1);
    judge_buf(&z, "3f/9c2a1e", &v);
    assert_string_equal(v.magic_type, "zlib");
    assert_true(v.container_valid);
    assert_int_equal(v.kind, CK_COMPRESSED);
    buf_free(&obj);
    buf_free(&z);
    buf_free(&gz);
    buf_free(&t);
}

static void test_sqlite_pdf_media_elf(void **state)
{
    (void)state;
    char path[] = "/tmp/mamori_content_db_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, n REAL);"
                                  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c "
                                  "WHERE x < 20000) INSERT INTO t SELECT x, 'customer ' || x, "
                                  "x * 1.5 FROM c; CREATE INDEX i ON t(name);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct content_sample *s = sample_new();
    assert_int_equal(content_read_sample(fd, s), 0);
    close(fd);
    unlink(path);
    struct content_verdict v;
    content_judge(s, "app.db", &v);
    assert_string_equal(v.magic_type, "sqlite");
    assert_int_equal(v.kind, CK_STRUCTURED);
    assert_false(v.magic_mismatch);

    /* PDF with a Flate content stream and an (already compressed) image */
    struct buf pdf = {0}, txt = {0}, z = {0};
    make_text(&txt, 20000, 4);
    deflate_buf(&txt, &z, 15, 6);
    char hdr[128];
    buf_str(&pdf, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    snprintf(hdr, sizeof hdr, "4 0 obj\n<< /Length %zu /Filter /FlateDecode >>\nstream\n", z.len);
    buf_str(&pdf, hdr);
    buf_put(&pdf, z.p, z.len);
    buf_str(&pdf, "\nendstream\nendobj\n5 0 obj\n<< /Subtype /Image /Filter /DCTDecode >>\nstream\n");
    uint8_t img[40000];
    rnd(img, sizeof img);
    buf_put(&pdf, img, sizeof img);
    buf_str(&pdf, "\nendstream\nendobj\nxref\n0 6\ntrailer\n<< /Root 1 0 R >>\nstartxref\n123\n%%EOF\n");
    judge_buf(&pdf, "paper.pdf", &v);
    assert_string_equal(v.magic_type, "pdf");
    assert_true(v.container_valid);
    assert_true(v.kind == CK_COMPRESSED || v.kind == CK_STRUCTURED);
    /* the same PDF with its body encrypted (header kept) */
    rnd(pdf.p + 64, pdf.len - 64);
    judge_buf(&pdf, "paper.pdf", &v);
    assert_false(v.container_valid);
    assert_int_equal(v.kind, CK_RANDOM);
    buf_free(&pdf);
    buf_free(&txt);
    buf_free(&z);

    /* PNG: signature + IHDR with its CRC, then random-looking IDAT payload */
    struct buf png = {0};
    uint8_t ihdr[25] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 1, 0, 0, 0, 1, 0, 8, 2, 0, 0, 0};
    uLong crc = crc32(0L, ihdr + 4, 17);
    ihdr[21] = (uint8_t)(crc >> 24), ihdr[22] = (uint8_t)(crc >> 16);
    ihdr[23] = (uint8_t)(crc >> 8), ihdr[24] = (uint8_t)crc;
    buf_put(&png, "\x89PNG\r\n\x1a\n", 8);
    buf_put(&png, ihdr, sizeof ihdr);
    buf_put(&png, img, sizeof img);
    judge_buf(&png, "photo.png", &v);
    assert_string_equal(v.magic_type, "png");
    assert_int_equal(v.kind, CK_COMPRESSED);
    png.p[30] ^= 0x55; /* header damaged past the magic */
    judge_buf(&png, "photo.png", &v);
    assert_int_equal(v.kind, CK_RANDOM);
    buf_free(&png);

    /* JPEG: SOI, APP0, DQT, SOS, entropy-coded data */
    struct buf jpg = {0};
    static const uint8_t jh[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1,
                                 0, 1, 0, 0, 0xff, 0xdb, 0, 4, 0, 0, 0xff, 0xda, 0, 2};
    buf_put(&jpg, jh, sizeof jh);
    buf_put(&jpg, img, sizeof img);
    judge_buf(&jpg, "IMG_0001.JPG", &v);
    assert_string_equal(v.magic_type, "jpeg");
    assert_string_equal(v.ext_type, "jpeg");
    assert_int_equal(v.kind, CK_COMPRESSED);
    buf_free(&jpg);

    /* this very test binary is an ELF object */
    fd = open("/proc/self/exe", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(content_read_sample(fd, s), 0);
    close(fd);
    content_judge(s, "test_content", &v);
    assert_string_equal(v.magic_type, "elf");
    assert_int_equal(v.kind, CK_STRUCTURED);
    free(s);
}

/* ---- ransomware patterns ------------------------------------------------------- */

static void test_full_overwrite(void **state)
{
    (void)state;
    struct buf b = {0};
    b.len = b.cap = 3 << 20;
    b.p = malloc(b.len);
    assert_non_null(b.p);
    rnd(b.p, b.len);
    struct content_verdict v;
    judge_buf(&b, "report.docx", &v);
    assert_int_equal(v.kind, CK_RANDOM);
    assert_true(v.magic_mismatch);
    assert_true(v.random_fraction > 0.9);
    /* ciphertext that keeps a gzip header: magic there, stream broken */
    memcpy(b.p, "\x1f\x8b\x08\0\0\0\0\0\0\3", 10);
    judge_buf(&b, "logs.gz", &v);
    assert_string_equal(v.magic_type, "gzip");
    assert_false(v.container_valid);
    assert_int_equal(v.kind, CK_RANDOM);
    buf_free(&b);

    /* ciphertext gzipped: container fine, content random */
    struct buf r = {0}, gz = {0};
    r.len = r.cap = 200000;
    r.p = malloc(r.len);
    assert_non_null(r.p);
    rnd(r.p, r.len);
    deflate_buf(&r, &gz, 31, 6);
    judge_buf(&gz, "x.gz", &v);
    assert_true(v.container_valid);
    assert_true(v.decoded_random);
    assert_int_equal(v.kind, CK_RANDOM);
    buf_free(&r);
    buf_free(&gz);
}

static void test_every_other_16(void **state)
{
    (void)state;
    struct buf b = {0};
    make_text(&b, 1 << 20, 21);
    for (size_t off = 16; off + 16 <= b.len; off += 32)
        rnd(b.p + off, 16);
    struct content_verdict v;
    judge_buf(&b, "notes.txt", &v);
    print_message("every other 16: %s nontext %.2f inter %u/%u\n", content_kind_name(v.kind),
                  v.nontext_fraction, v.interleaved_blocks, v.blocks);
    assert_int_equal(v.kind, CK_MIXED);
    assert_true(v.nontext_fraction > 0.3);
    buf_free(&b);

    /* same on Japanese UTF-8 text, starting at offset 0 */
    make_japanese(&b, 1 << 20);
    for (size_t off = 0; off + 16 <= b.len; off += 32)
        rnd(b.p + off, 16);
    judge_buf(&b, "memo.txt", &v);
    assert_int_equal(v.kind, CK_MIXED);
    buf_free(&b);
}

static void test_partial_patterns(void **state)
{
    (void)state;
    struct buf b = {0};
    struct content_verdict v;

    /* first 4 KiB only */
    make_csv(&b, 500000);
    rnd(b.p, 4096);
    judge_buf(&b, "sales.csv", &v);
    assert_int_equal(v.kind, CK_MIXED);
    assert_int_equal(v.random_blocks, 1);
    buf_free(&b);

    /* first 4 KiB of a docx: the magic is gone */
    struct buf t = {0}, z = {0};
    make_text(&t, 400000, 3);
    archive_buf(AK_ZIP, &t, &z);
    rnd(z.p, 4096);
    judge_buf(&z, "report.docx", &v);
    assert_true(v.magic_mismatch);
    assert_false(v.container_valid);
    assert_true(v.kind == CK_MIXED || v.kind == CK_RANDOM);
    buf_free(&z);
    buf_free(&t);

    /* 5% of blocks, block 0 among them */
    make_text(&b, 4 << 20, 8);
    for (size_t blk = 0; blk * 4096 + 4096 <= b.len; blk += 20)
        rnd(b.p + blk * 4096, 4096);
    judge_buf(&b, "book.txt", &v);
    assert_int_equal(v.kind, CK_MIXED);
    buf_free(&b);

    /* 1 MiB of every 2 MiB */
    make_text(&b, 16 << 20, 12);
    for (size_t off = 0; off < b.len; off += 2 << 20)
        rnd(b.p + off, 1 << 20);
    judge_buf(&b, "big.log", &v);
    assert_int_equal(v.kind, CK_MIXED);
    assert_true(v.random_blocks >= 2);
    buf_free(&b);
}

static void test_encoded(void **state)
{
    (void)state;
    uint8_t r[40000];
    rnd(r, sizeof r);
    struct buf b = {0}, t = {0};
    struct content_verdict v;

    base64_buf(r, sizeof r, &b, 76);
    expect_kind(&b, "note.txt", CK_ENCODED);
    buf_free(&b);
    base64_buf(r, sizeof r, &b, 128 - 4); /* long lines */
    expect_kind(&b, "x.b64", CK_ENCODED);
    buf_free(&b);
    hex_buf(r, sizeof r, &b, false, 0); /* one long line */
    expect_kind(&b, "x.hex", CK_ENCODED);
    buf_free(&b);
    hex_buf(r, sizeof r, &b, true, 32);
    expect_kind(&b, "X.HEX", CK_ENCODED);
    buf_free(&b);

    /* base64 of text (an attachment) and hex of structured data are not */
    make_text(&t, 40000, 6);
    base64_buf(t.p, t.len, &b, 76);
    judge_buf(&b, "mail.eml", &v);
    assert_int_not_equal(v.kind, CK_ENCODED);
    assert_int_equal(v.kind, CK_TEXT);
    buf_free(&b);
    uint8_t st[20000];
    for (size_t i = 0; i < sizeof st; i++)
        st[i] = (uint8_t)(i % 64 < 8 ? i / 64 : (i % 7 == 0 ? 0xff : 0));
    hex_buf(st, sizeof st, &b, false, 16);
    judge_buf(&b, "dump.txt", &v);
    assert_int_not_equal(v.kind, CK_ENCODED);
    buf_free(&b);
    /* an email: headers, then base64 of a zip (compressed, but a container) */
    struct buf z = {0};
    archive_buf(AK_ZIP, &t, &z);
    buf_str(&b, "From: a@example.jp\nTo: b@example.jp\nSubject: report\n"
                "Content-Type: application/zip\nContent-Transfer-Encoding: base64\n\n");
    base64_buf(z.p, z.len, &b, 76);
    judge_buf(&b, "mail.eml", &v);
    assert_int_not_equal(v.kind, CK_ENCODED);
    buf_free(&b);
    buf_free(&z);
    buf_free(&t);
}

/* ---- sampling, names, edges ------------------------------------------------------ */

static void test_read_sample(void **state)
{
    (void)state;
    struct content_sample *s = sample_new();
    struct buf b = {0};
    make_text(&b, 10 << 20, 1);
    sample_of(s, b.p, b.len);
    assert_int_equal(s->file_size, b.len);
    assert_int_equal(s->head_len, CONTENT_HEAD_MAX);
    assert_int_equal(s->nblocks, CONTENT_SPREAD_BLOCKS + 1);
    uint64_t prev_end = CONTENT_HEAD_MAX;
    for (size_t i = 0; i < s->nblocks; i++) {
        assert_true(s->block_off[i] >= prev_end); /* nothing read twice */
        assert_int_equal(s->block_len[i], CONTENT_BLOCK);
        assert_memory_equal(s->blocks[i], b.p + s->block_off[i], s->block_len[i]);
        prev_end = s->block_off[i] + s->block_len[i];
    }
    assert_int_equal(prev_end, b.len); /* tail last */
    assert_memory_equal(s->head, b.p, CONTENT_HEAD_MAX);

    /* a little over the head: only a short tail */
    sample_of(s, b.p, CONTENT_HEAD_MAX + 100);
    assert_int_equal(s->nblocks, 1);
    assert_int_equal(s->block_off[0], CONTENT_HEAD_MAX);
    assert_int_equal(s->block_len[0], 100);
    /* three blocks past the head: two spread + tail */
    sample_of(s, b.p, CONTENT_HEAD_MAX + 3 * CONTENT_BLOCK);
    assert_int_equal(s->nblocks, 3);
    /* small and empty files */
    sample_of(s, b.p, 1000);
    assert_int_equal(s->head_len, 1000);
    assert_int_equal(s->nblocks, 0);
    sample_of(s, b.p, 0);
    struct content_verdict v;
    content_judge(s, "empty.txt", &v);
    assert_int_equal(v.kind, CK_EMPTY);
    assert_int_equal(content_read_sample(-1, s), -2 /* MAMORI_EINVAL */);
    buf_free(&b);
    free(s);
}

static void test_head_only_fingerprint(void **state)
{
    (void)state;
    /* the open-time fingerprint fills only the head of a bigger file */
    struct buf t = {0}, gz = {0};
    make_text(&t, 2 << 20, 77);
    deflate_buf(&t, &gz, 31, 6);
    struct content_sample *s = sample_new();
    s->file_size = gz.len;
    s->head_len = CONTENT_BLOCK;
    memcpy(s->head, gz.p, CONTENT_BLOCK);
    struct content_verdict v;
    content_judge(s, "a.gz", &v);
    assert_true(v.container_valid); /* cut mid-stream is fine */
    assert_int_equal(v.kind, CK_COMPRESSED);
    s->head_len = CONTENT_HEAD_MAX;
    memcpy(s->head, gz.p, CONTENT_HEAD_MAX);
    rnd(s->head + 2000, 64); /* damage early in the stream */
    content_judge(s, "a.gz", &v);
    assert_false(v.container_valid);
    memcpy(s->head, t.p, CONTENT_BLOCK);
    s->head_len = CONTENT_BLOCK;
    content_judge(s, NULL, &v);
    assert_int_equal(v.kind, CK_TEXT);
    assert_string_equal(v.ext_type, "");
    free(s);
    buf_free(&t);
    buf_free(&gz);
}

static void test_ext_table(void **state)
{
    (void)state;
    assert_string_equal(content_ext_type("a/b/Report.DOCX"), "zip");
    assert_string_equal(content_ext_type("x.xlsx"), "zip");
    assert_string_equal(content_ext_type("x.odt"), "zip");
    assert_string_equal(content_ext_type("old.doc"), "ole");
    assert_string_equal(content_ext_type("p.jpeg"), "jpeg");
    assert_string_equal(content_ext_type("app.sqlite3"), "sqlite");
    assert_string_equal(content_ext_type("a.tar.gz"), "gzip");
    assert_string_equal(content_ext_type("a.tgz"), "gzip");
    assert_string_equal(content_ext_type("a.zst"), "zstd");
    assert_string_equal(content_ext_type("main.c"), "text");
    assert_string_equal(content_ext_type("conf.yaml"), "text");
    assert_string_equal(content_ext_type(".bashrc"), "");
    assert_string_equal(content_ext_type("dir.d/README"), "");
    assert_string_equal(content_ext_type("x."), "");
    assert_string_equal(content_ext_type(NULL), "");
    assert_string_equal(content_kind_name(CK_MIXED), "mixed");

    /* a .docx that holds text is a mismatch; a .txt holding anything is not */
    struct buf b = {0};
    make_text(&b, 20000, 3);
    struct content_verdict v;
    judge_buf(&b, "letter.docx", &v);
    assert_true(v.magic_mismatch);
    judge_buf(&b, "letter.txt", &v);
    assert_false(v.magic_mismatch);
    assert_string_equal(v.ext_type, "text");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chi2_values),
        cmocka_unit_test(test_random_blocks_statistical),
        cmocka_unit_test(test_text_blocks_never_random),
        cmocka_unit_test(test_compressed_block_rates),
        cmocka_unit_test(test_text_kinds),
        cmocka_unit_test(test_compressed_kinds),
        cmocka_unit_test(test_sqlite_pdf_media_elf),
        cmocka_unit_test(test_full_overwrite),
        cmocka_unit_test(test_every_other_16),
        cmocka_unit_test(test_partial_patterns),
        cmocka_unit_test(test_encoded),
        cmocka_unit_test(test_read_sample),
        cmocka_unit_test(test_head_only_fingerprint),
        cmocka_unit_test(test_ext_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
