/* test_corpus.c - `sim corpus`: deterministic for a seed, every generated
 * file is what its name claims (OOXML zips open with libarchive and hold
 * their parts, SQLite opens and has rows, PNG signature, CRCs and IDAT
 * inflate, tar.gz decompresses, JFIF header, PDF structure, disk boot
 * signature), and a fresh corpus verifies as all intact. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <zlib.h>

#include "core/err.h"
#include "sim/sim.h"
#include "sim/sim_internal.h"
#include "unit/sim/simtest.h"

#define NFILES 40

static void make_corpus(char *top, size_t topsz, char *dir, size_t dirsz, uint64_t seed)
{
    char msg[SIM_MSG_MAX];
    assert_int_equal(st_tmpdir(top, topsz), 0);
    snprintf(dir, dirsz, "%s/corpus", top);
    struct sim_corpus_opts o = {.files = NFILES, .seed = seed, .scale = 0.05};
    struct sim_corpus_stats st;
    int rc = sim_corpus_create(dir, &o, &st, msg, sizeof msg);
    if (rc)
        fail_msg("corpus: %s", msg);
    assert_int_equal(st.files, NFILES);
    assert_true(st.bytes > 10000);
}

static char *manifest(const char *dir)
{
    char p[512];
    size_t n = 0;
    st_join(p, sizeof p, dir, SIM_MANIFEST);
    unsigned char *d = st_read(p, &n);
    assert_non_null(d);
    d[n] = '\0';
    return (char *)d;
}

static void deterministic_for_seed(void **state)
{
    char t1[64], d1[128], t2[64], d2[128], t3[64], d3[128];
    make_corpus(t1, sizeof t1, d1, sizeof d1, 42);
    make_corpus(t2, sizeof t2, d2, sizeof d2, 42);
    make_corpus(t3, sizeof t3, d3, sizeof d3, 43);
    char *m1 = manifest(d1), *m2 = manifest(d2), *m3 = manifest(d3);
    assert_string_equal(m1, m2);
    assert_string_not_equal(m1, m3);
    size_t lines = 0;
    for (char *p = m1; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, NFILES);
    free(m1);
    free(m2);
    free(m3);
    st_rm_rf(t1);
    st_rm_rf(t2);
    st_rm_rf(t3);
}

/* ---- per-format checks; each returns 0 when the file is what it claims ---- */

static int check_zip(const char *path, const char *must_have)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_zip(a);
    int found_ct = 0, found_main = 0, rc = -1;
    if (archive_read_open_filename(a, path, 10240) == ARCHIVE_OK) {
        struct archive_entry *e;
        char buf[8192];
        int r;
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
            const char *n = archive_entry_pathname(e);
            found_ct |= !strcmp(n, "[Content_Types].xml");
            found_main |= !strcmp(n, must_have);
            while (archive_read_data(a, buf, sizeof buf) > 0)
                ;
        }
        rc = r == ARCHIVE_EOF && found_ct && found_main ? 0 : -1;
    }
    archive_read_free(a);
    return rc;
}

static int check_sqlite(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rows = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM customers)+(SELECT count(*) FROM "
                               "invoices)", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        rows = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rows > 0 ? 0 : -1;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int check_png(const unsigned char *d, size_t n)
{
    if (n < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8))
        return -1;
    z_stream z = {0};
    unsigned char out[65536];
    int zr = inflateInit(&z), saw_end = 0;
    size_t total = 0;
    for (size_t p = 8; p + 12 <= n;) {
        uint32_t len = be32(d + p);
        if (p + 12 + len > n)
            return -1;
        if (crc32(0, d + p + 4, len + 4) != be32(d + p + 8 + len))
            return -1;
        if (!memcmp(d + p + 4, "IDAT", 4)) {
            z.next_in = (unsigned char *)d + p + 8;
            z.avail_in = len;
            do {
                z.next_out = out;
                z.avail_out = sizeof out;
                zr = inflate(&z, Z_NO_FLUSH);
                total += sizeof out - z.avail_out;
            } while (zr == Z_OK && z.avail_in);
        }
        saw_end |= !memcmp(d + p + 4, "IEND", 4);
        p += 12 + len;
    }
    inflateEnd(&z);
    return saw_end && zr == Z_STREAM_END && total > 0 ? 0 : -1;
}

static int check_targz(const char *path)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return -1;
    char buf[65536];
    long total = 0;
    int n;
    while ((n = gzread(g, buf, sizeof buf)) > 0)
        total += n;
    int err;
    gzerror(g, &err);
    gzclose(g);
    if (n < 0 || err != Z_OK || total < 512)
        return -1;
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    int entries = 0, r = archive_read_open_filename(a, path, 10240);
    struct archive_entry *e;
    while (r == ARCHIVE_OK && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
        entries++;
    archive_read_free(a);
    return r == ARCHIVE_EOF && entries > 0 ? 0 : -1;
}

static bool ends(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

struct seen {
    unsigned docx, xlsx, pdf, png, jpg, db, targz, c, h, py, log, csv, txt, img;
};

static void check_one(const char *path, struct seen *s)
{
    size_t n = 0;
    unsigned char *d = st_read(path, &n);
    assert_non_null(d);
    int bad = 0;
    if (ends(path, ".docx")) {
        bad = check_zip(path, "word/document.xml");
        s->docx++;
    } else if (ends(path, ".xlsx")) {
        bad = check_zip(path, "xl/worksheets/sheet1.xml");
        s->xlsx++;
    } else if (ends(path, ".db")) {
        bad = check_sqlite(path);
        s->db++;
    } else if (ends(path, ".png")) {
        bad = check_png(d, n);
        s->png++;
    } else if (ends(path, ".tar.gz")) {
        bad = check_targz(path);
        s->targz++;
    } else if (ends(path, ".jpg")) {
        bad = !(n > 20 && !memcmp(d, "\xFF\xD8\xFF\xE0", 4) && !memcmp(d + 6, "JFIF", 5) &&
                !memcmp(d + n - 2, "\xFF\xD9", 2));
        s->jpg++;
    } else if (ends(path, ".pdf")) {
        bad = !(n > 100 && !memcmp(d, "%PDF-1.", 7) && !memcmp(d + n - 6, "%%EOF\n", 6));
        s->pdf++;
    } else if (ends(path, ".img")) {
        bad = !(n >= 65536 && d[510] == 0x55 && d[511] == 0xAA && !memcmp(d + 512, "EFI PART", 8));
        s->img++;
    } else {
        unsigned *c = ends(path, ".c") ? &s->c : ends(path, ".h") ? &s->h : ends(path, ".py") ? &s->py
                    : ends(path, ".log") ? &s->log : ends(path, ".csv") ? &s->csv
                    : ends(path, ".txt") ? &s->txt : NULL;
        if (!c)
            fail_msg("unexpected file %s", path);
        (*c)++;
        for (size_t i = 0; i < n; i++) /* text: printable ASCII and newlines */
            if (d[i] != '\n' && (d[i] < 0x20 || d[i] > 0x7e))
                bad = 1;
    }
    if (bad)
        fail_msg("%s is not a valid file of its kind", path);
    free(d);
}

static void files_are_what_they_claim(void **state)
{
    char top[64], dir[128], msg[SIM_MSG_MAX];
    make_corpus(top, sizeof top, dir, sizeof dir, 7);
    struct sim_sandbox sb;
    assert_int_equal(sim_sandbox_open(&sb, dir, msg, sizeof msg), 0);
    struct sim_filelist files = {0};
    assert_int_equal(sim_walk(sb.dirfd, NULL, &files), 0);
    assert_int_equal(files.n, NFILES);
    struct seen s = {0};
    for (size_t i = 0; i < files.n; i++) {
        char p[512];
        st_join(p, sizeof p, dir, files.paths[i]);
        assert_non_null(strchr(files.paths[i], '/')); /* all in subdirectories */
        check_one(p, &s);
    }
    /* the first files cycle through every kind */
    assert_true(s.docx && s.xlsx && s.pdf && s.png && s.jpg && s.db && s.targz && s.c && s.h &&
                s.py && s.log && s.csv && s.txt && s.img);
    struct sim_verify_result *r = calloc(1, sizeof *r);
    assert_int_equal(sim_verify(&sb, r, msg, sizeof msg), 0);
    assert_int_equal(r->total, NFILES);
    assert_int_equal(r->intact, NFILES);
    assert_int_equal(r->damaged + r->missing + r->extra, 0);
    free(r);
    sim_filelist_free(&files);
    sim_sandbox_close(&sb);
    st_rm_rf(top);
}

static void marker_has_token_and_pid(void **state)
{
    char top[64], dir[128], p[512];
    make_corpus(top, sizeof top, dir, sizeof dir, 1);
    st_join(p, sizeof p, dir, SIM_MARKER);
    size_t n = 0;
    char *m = (char *)st_read(p, &n);
    assert_non_null(m);
    m[n] = '\0';
    char want[64];
    snprintf(want, sizeof want, " pid=%ld ", (long)getpid());
    assert_non_null(strstr(m, "mamori-sim-sandbox v1 token="));
    assert_non_null(strstr(m, want));
    assert_non_null(strstr(m, " created="));
    free(m);
    /* a second corpus into the same (now non-empty) directory is refused */
    char msg[SIM_MSG_MAX];
    struct sim_corpus_opts o = {.files = 3, .seed = 1, .scale = 0.05};
    struct sim_corpus_stats st;
    assert_int_equal(sim_corpus_create(dir, &o, &st, msg, sizeof msg), MAMORI_EPERM);
    st_rm_rf(top);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deterministic_for_seed),
        cmocka_unit_test(files_are_what_they_claim),
        cmocka_unit_test(marker_has_token_and_pid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
