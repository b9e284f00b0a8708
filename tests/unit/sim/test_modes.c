/* test_modes.c - each ransomware mode changes exactly the bytes (or names)
 * its real families change: byte patterns on a known 3 MiB file for the
 * per-file transforms, and sim verify counts on a small corpus for the
 * drivers (threads, forks, workers, shell loop, notes, limits). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "core/err.h"
#include "sim/sim.h"
#include "sim/sim_internal.h"
#include "unit/sim/simtest.h"

#define BIG (3u << 20)
#define CORPUS_FILES 30

/* ---- per-file transforms on a known file ---- */

struct known {
    char top[64], dir[128], path[256];
    unsigned char *orig;
};

static void known_make(struct known *k)
{
    char msg[SIM_MSG_MAX];
    struct sim_sandbox sb;
    assert_int_equal(st_tmpdir(k->top, sizeof k->top), 0);
    snprintf(k->dir, sizeof k->dir, "%s/sb", k->top);
    assert_int_equal(sim_sandbox_create(&sb, k->dir, msg, sizeof msg), 0);
    sim_sandbox_close(&sb);
    snprintf(k->path, sizeof k->path, "%s/data.bin", k->dir);
    k->orig = malloc(BIG);
    assert_non_null(k->orig);
    for (size_t i = 0; i < BIG; i++)
        k->orig[i] = (unsigned char)(i * 7 % 251);
    assert_int_equal(st_write(k->path, k->orig, BIG), 0);
}

static unsigned char *known_run(struct known *k, enum sim_mode m, const char *expect_name,
                                size_t *len)
{
    char msg[SIM_MSG_MAX], p[300];
    struct sim_sandbox sb;
    assert_int_equal(sim_sandbox_open(&sb, k->dir, msg, sizeof msg), 0);
    struct sim_ransom_opts o = {.mode = m, .ext = ".locked"};
    struct sim_ransom_result r;
    assert_int_equal(sim_ransom_run(&sb, &o, &r, msg, sizeof msg), 0);
    assert_int_equal(r.files, 1);
    assert_int_equal(r.failed, 0);
    sim_sandbox_close(&sb);
    snprintf(p, sizeof p, "%s/%s", k->dir, expect_name);
    unsigned char *d = st_read(p, len);
    if (!d)
        fail_msg("mode %s: %s not found", sim_mode_name(m), expect_name);
    return d;
}

static void known_free(struct known *k)
{
    free(k->orig);
    st_rm_rf(k->top);
}

/* Asserts that [off, off+n) changed (changed=true) or is untouched. */
static void region(const unsigned char *a, const unsigned char *b, size_t off, size_t n,
                   bool changed)
{
    bool eq = !memcmp(a + off, b + off, n);
    if (eq == changed)
        fail_msg("bytes %zu..%zu %s", off, off + n, changed ? "unchanged" : "changed");
}

static void pattern_full_and_mmap(void **state)
{
    static const enum sim_mode modes[] = {SIM_MODE_FULL, SIM_MODE_MMAP, SIM_MODE_THREADS,
                                          SIM_MODE_FORK_PER_FILE, SIM_MODE_NOTES_FIRST};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct known k;
        known_make(&k);
        size_t n = 0;
        unsigned char *d = known_run(&k, modes[m], "data.bin", &n);
        assert_int_equal(n, BIG);
        for (size_t off = 0; off < BIG; off += 4096)
            region(d, k.orig, off, 4096, true);
        free(d);
        known_free(&k);
    }
}

static void pattern_intermittent16(void **state)
{
    struct known k;
    known_make(&k);
    size_t n = 0;
    unsigned char *d = known_run(&k, SIM_MODE_INTERMITTENT16, "data.bin", &n);
    assert_int_equal(n, BIG);
    for (size_t off = 0; off < BIG; off += 32) {
        region(d, k.orig, off, 16, true);
        region(d, k.orig, off + 16, 16, false);
    }
    free(d);
    known_free(&k);
}

static void pattern_intermittent1m(void **state)
{
    struct known k;
    known_make(&k);
    size_t n = 0, mib = 1u << 20;
    unsigned char *d = known_run(&k, SIM_MODE_INTERMITTENT1M, "data.bin", &n);
    assert_int_equal(n, BIG);
    for (size_t off = 0; off < BIG; off += 4096)
        region(d, k.orig, off, 4096, (off / mib) % 2 == 0);
    free(d);
    known_free(&k);
}

static void pattern_percent5_and_header4k(void **state)
{
    struct known k;
    known_make(&k);
    size_t n = 0;
    unsigned char *d = known_run(&k, SIM_MODE_PERCENT5, "data.bin", &n);
    size_t changed = 0;
    for (size_t b = 0; b < BIG / 4096; b++) {
        region(d, k.orig, b * 4096, 4096, b % 20 == 0);
        changed += b % 20 == 0;
    }
    assert_int_equal(changed, (BIG / 4096 + 19) / 20);
    free(d);
    known_free(&k);

    known_make(&k);
    d = known_run(&k, SIM_MODE_HEADER4K, "data.bin", &n);
    region(d, k.orig, 0, 4096, true);
    region(d, k.orig, 4096, BIG - 4096, false);
    free(d);
    known_free(&k);
}

static void pattern_copy_delete_and_rename(void **state)
{
    static const enum sim_mode modes[] = {SIM_MODE_COPY_DELETE, SIM_MODE_RENAME_ENCRYPT};
    for (size_t m = 0; m < 2; m++) {
        struct known k;
        known_make(&k);
        size_t n = 0;
        unsigned char *d = known_run(&k, modes[m], "data.bin.locked", &n);
        assert_int_equal(n, BIG);
        for (size_t off = 0; off < BIG; off += 4096)
            region(d, k.orig, off, 4096, true);
        assert_int_equal(access(k.path, F_OK), -1); /* original name is gone */
        free(d);
        known_free(&k);
    }
}

static void pattern_base64_and_hex(void **state)
{
    struct known k;
    known_make(&k);
    size_t n = 0;
    unsigned char *d = known_run(&k, SIM_MODE_BASE64, "data.bin", &n);
    assert_int_equal(n, (BIG + 2) / 3 * 4);
    for (size_t i = 0; i < n; i++)
        if (!isalnum(d[i]) && d[i] != '+' && d[i] != '/' && d[i] != '=')
            fail_msg("non-base64 byte at %zu", i);
    free(d);
    known_free(&k);

    known_make(&k);
    d = known_run(&k, SIM_MODE_HEX, "data.bin", &n);
    assert_int_equal(n, 2 * (size_t)BIG);
    for (size_t i = 0; i < n; i++)
        if (!isxdigit(d[i]))
            fail_msg("non-hex byte at %zu", i);
    /* hex of the ciphertext, not of the plaintext */
    char plainhex[9];
    snprintf(plainhex, sizeof plainhex, "%02x%02x%02x%02x", k.orig[0], k.orig[1], k.orig[2],
             k.orig[3]);
    assert_memory_not_equal(d, plainhex, 8);
    free(d);
    known_free(&k);
}

/* ---- drivers on a corpus, judged by sim verify ---- */

struct corpus {
    char top[64], dir[128];
    struct sim_sandbox sb;
};

static void corpus_make(struct corpus *c)
{
    char msg[SIM_MSG_MAX];
    assert_int_equal(st_tmpdir(c->top, sizeof c->top), 0);
    snprintf(c->dir, sizeof c->dir, "%s/corpus", c->top);
    struct sim_corpus_opts o = {.files = CORPUS_FILES, .seed = 3, .scale = 0.05};
    struct sim_corpus_stats st;
    assert_int_equal(sim_corpus_create(c->dir, &o, &st, msg, sizeof msg), 0);
    assert_int_equal(sim_sandbox_open(&c->sb, c->dir, msg, sizeof msg), 0);
}

static void corpus_run(struct corpus *c, const struct sim_ransom_opts *o,
                       struct sim_verify_result *v, struct sim_ransom_result *r)
{
    char msg[SIM_MSG_MAX];
    int rc = sim_ransom_run(&c->sb, o, r, msg, sizeof msg);
    if (rc)
        fail_msg("mode %s: %s", sim_mode_name(o->mode), msg);
    assert_int_equal(sim_verify(&c->sb, v, msg, sizeof msg), 0);
    assert_int_equal(v->total, CORPUS_FILES);
}

static void corpus_free(struct corpus *c)
{
    sim_sandbox_close(&c->sb);
    st_rm_rf(c->top);
}

static unsigned ndirs(const struct corpus *c)
{
    struct sim_filelist d = {0};
    assert_int_equal(sim_walk_dirs(c->sb.dirfd, &d), 0);
    unsigned n = (unsigned)d.n;
    sim_filelist_free(&d);
    return n;
}

static void drivers_damage_every_file(void **state)
{
    static const enum sim_mode modes[] = {
        SIM_MODE_FULL, SIM_MODE_INTERMITTENT16, SIM_MODE_INTERMITTENT1M, SIM_MODE_PERCENT5,
        SIM_MODE_HEADER4K, SIM_MODE_BASE64, SIM_MODE_HEX, SIM_MODE_MMAP, SIM_MODE_THREADS,
        SIM_MODE_FORK_PER_FILE, SIM_MODE_WORKERS};
    struct sim_verify_result *v = calloc(1, sizeof *v);
    struct sim_ransom_result *r = calloc(1, sizeof *r);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct corpus c;
        corpus_make(&c);
        struct sim_ransom_opts o = {.mode = modes[m], .ext = ".locked", .workers = 4};
        corpus_run(&c, &o, v, r);
        if (v->damaged != CORPUS_FILES || v->intact || v->missing || v->extra)
            fail_msg("mode %s: damaged %u intact %u missing %u extra %u", sim_mode_name(modes[m]),
                     v->damaged, v->intact, v->missing, v->extra);
        assert_int_equal(r->files, CORPUS_FILES);
        if (modes[m] == SIM_MODE_WORKERS)
            assert_int_equal(r->npids, 1 + 4);
        if (modes[m] == SIM_MODE_FORK_PER_FILE)
            assert_int_equal(r->npids, 1 + CORPUS_FILES);
        corpus_free(&c);
    }
    free(v);
    free(r);
}

static void renaming_modes_leave_missing_and_extra(void **state)
{
    static const enum sim_mode modes[] = {SIM_MODE_COPY_DELETE, SIM_MODE_RENAME_ENCRYPT};
    struct sim_verify_result *v = calloc(1, sizeof *v);
    struct sim_ransom_result *r = calloc(1, sizeof *r);
    for (size_t m = 0; m < 2; m++) {
        struct corpus c;
        corpus_make(&c);
        struct sim_ransom_opts o = {.mode = modes[m], .ext = ".crypt"};
        corpus_run(&c, &o, v, r);
        assert_int_equal(v->missing, CORPUS_FILES);
        assert_int_equal(v->extra, CORPUS_FILES);
        assert_int_equal(v->damaged + v->intact, 0);
        /* running again finds nothing new: .crypt files are skipped */
        corpus_run(&c, &o, v, r);
        assert_int_equal(r->files, 0);
        corpus_free(&c);
    }
    free(v);
    free(r);
}

static void notes_limits_and_delay(void **state)
{
    struct sim_verify_result *v = calloc(1, sizeof *v);
    struct sim_ransom_result *r = calloc(1, sizeof *r);
    struct corpus c;
    corpus_make(&c);
    unsigned dirs = ndirs(&c);
    struct sim_ransom_opts o = {.mode = SIM_MODE_NOTES_FIRST, .ext = ".locked"};
    corpus_run(&c, &o, v, r);
    assert_int_equal(v->damaged, CORPUS_FILES);
    assert_int_equal(v->extra, dirs); /* one note per directory, root included */
    corpus_free(&c);

    corpus_make(&c);
    o = (struct sim_ransom_opts){.mode = SIM_MODE_HEADER4K, .ext = ".locked", .max_files = 5,
                                 .note = true};
    corpus_run(&c, &o, v, r);
    assert_int_equal(v->damaged, 5);
    assert_int_equal(v->intact, CORPUS_FILES - 5);
    assert_true(v->extra >= 1 && v->extra <= 5); /* notes only where it worked */
    corpus_free(&c);

    corpus_make(&c);
    o = (struct sim_ransom_opts){.mode = SIM_MODE_SLOW, .ext = ".locked", .max_files = 3,
                                 .delay_ms = 100};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    corpus_run(&c, &o, v, r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_int_equal(v->damaged, 3);
    assert_true(ms >= 200); /* two gaps between three files */
    corpus_free(&c);
    free(v);
    free(r);
}

/* The shell loop runs the real binary: build/<variant>/mamori next to us. */
static void shell_loop_uses_real_processes(void **state)
{
    char self[512], exe[600];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    for (int i = 0; i < 3; i++) /* build/V/tests/sim/test_modes -> build/V */
        *strrchr(self, '/') = '\0';
    snprintf(exe, sizeof exe, "%s/mamori", self);
    if (access(exe, X_OK) != 0)
        skip();
    struct sim_verify_result *v = calloc(1, sizeof *v);
    struct sim_ransom_result *r = calloc(1, sizeof *r);
    struct corpus c;
    corpus_make(&c);
    struct sim_ransom_opts o = {.mode = SIM_MODE_SHELL_LOOP, .ext = ".locked", .max_files = 6,
                                .self_exe = exe};
    corpus_run(&c, &o, v, r);
    assert_int_equal(v->damaged, 6);
    assert_int_equal(r->npids, 2); /* us and the shell */
    corpus_free(&c);
    free(v);
    free(r);
}

static void verify_json_shape(void **state)
{
    struct sim_verify_result *v = calloc(1, sizeof *v);
    v->total = 3;
    v->intact = 1;
    v->damaged = 1;
    v->missing = 1;
    v->extra = 2;
    v->ndamaged_listed = 1;
    snprintf(v->damaged_files[0], sizeof v->damaged_files[0], "hr/a \"b\".txt");
    char buf[4096];
    assert_int_equal(sim_verify_json(v, buf, sizeof buf), 0);
    assert_string_equal(buf, "{\"event\":\"sim-verify\",\"total\":3,\"intact\":1,\"damaged\":1,"
                             "\"missing\":1,\"extra\":2,\"damaged_files\":[\"hr/a \\\"b\\\".txt\"]}");
    assert_int_equal(sim_verify_json(v, buf, 40), MAMORI_EFULL);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pattern_full_and_mmap),
        cmocka_unit_test(pattern_intermittent16),
        cmocka_unit_test(pattern_intermittent1m),
        cmocka_unit_test(pattern_percent5_and_header4k),
        cmocka_unit_test(pattern_copy_delete_and_rename),
        cmocka_unit_test(pattern_base64_and_hex),
        cmocka_unit_test(drivers_damage_every_file),
        cmocka_unit_test(renaming_modes_leave_missing_and_extra),
        cmocka_unit_test(notes_limits_and_delay),
        cmocka_unit_test(shell_loop_uses_real_processes),
        cmocka_unit_test(verify_json_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
