/* test_sandbox.c - the simulator's refusal rules: no marker, "/", a forged
 * or symlinked marker, non-empty corpus directories, files outside the
 * sandbox for encrypt-one, and symlinks that would lead a write outside. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "sim/sim.h"
#include "sim/sim_internal.h"
#include "unit/sim/simtest.h"

static const char VICTIM[] = "outside data that must never change\n";

static void refuses_dir_without_marker(void **state)
{
    char d[64], msg[SIM_MSG_MAX];
    assert_int_equal(st_tmpdir(d, sizeof d), 0);
    struct sim_sandbox sb;
    assert_int_equal(sim_sandbox_open(&sb, d, msg, sizeof msg), MAMORI_EPERM);
    assert_non_null(strstr(msg, "not a simulator sandbox"));
    assert_int_equal(sb.dirfd, -1);
    st_rm_rf(d);
}

static void refuses_root_and_missing(void **state)
{
    char msg[SIM_MSG_MAX];
    struct sim_sandbox sb;
    assert_int_equal(sim_sandbox_open(&sb, "/", msg, sizeof msg), MAMORI_EPERM);
    assert_non_null(strstr(msg, "root directory"));
    assert_int_equal(sim_sandbox_open(&sb, "/tmp/..", msg, sizeof msg), MAMORI_EPERM);
    assert_int_equal(sim_sandbox_open(&sb, "/tmp/not-a-sandbox-mamori-xyz", msg, sizeof msg),
                     MAMORI_EPERM);
    assert_int_equal(sim_sandbox_open(&sb, "", msg, sizeof msg), MAMORI_EINVAL);
    assert_int_equal(sim_sandbox_create(&sb, "/", msg, sizeof msg), MAMORI_EPERM);
}

static void refuses_forged_and_symlinked_marker(void **state)
{
    char d[64], real[64], p[512], q[512], msg[SIM_MSG_MAX];
    struct sim_sandbox sb;
    assert_int_equal(st_tmpdir(d, sizeof d), 0);
    assert_int_equal(st_tmpdir(real, sizeof real), 0);
    /* a genuine sandbox elsewhere; its marker symlinked into d */
    char sbdir[300];
    snprintf(sbdir, sizeof sbdir, "%s/sb", real);
    assert_int_equal(sim_sandbox_create(&sb, sbdir, msg, sizeof msg), 0);
    sim_sandbox_close(&sb);
    st_join(p, sizeof p, sbdir, SIM_MARKER);
    st_join(q, sizeof q, d, SIM_MARKER);
    assert_int_equal(symlink(p, q), 0);
    assert_int_equal(sim_sandbox_open(&sb, d, msg, sizeof msg), MAMORI_EPERM);
    /* a regular file that is not a marker */
    assert_int_equal(unlink(q), 0);
    assert_int_equal(st_write(q, "hello\n", 6), 0);
    assert_int_equal(sim_sandbox_open(&sb, d, msg, sizeof msg), MAMORI_EPERM);
    assert_non_null(strstr(msg, "not a mamori sandbox marker"));
    /* the genuine one opens, also through a symlink to the directory */
    assert_int_equal(sim_sandbox_open(&sb, sbdir, msg, sizeof msg), 0);
    sim_sandbox_close(&sb);
    st_join(q, sizeof q, real, "link");
    assert_int_equal(symlink(sbdir, q), 0);
    assert_int_equal(sim_sandbox_open(&sb, q, msg, sizeof msg), 0);
    assert_string_equal(sb.root + strlen(sb.root) - 3, "/sb");
    sim_sandbox_close(&sb);
    st_rm_rf(d);
    st_rm_rf(real);
}

static void create_refuses_nonempty(void **state)
{
    char d[64], p[256], msg[SIM_MSG_MAX];
    struct sim_sandbox sb;
    assert_int_equal(st_tmpdir(d, sizeof d), 0);
    st_join(p, sizeof p, d, "keep.txt");
    assert_int_equal(st_write(p, "x", 1), 0);
    assert_int_equal(sim_sandbox_create(&sb, d, msg, sizeof msg), MAMORI_EPERM);
    assert_non_null(strstr(msg, "not empty"));
    assert_int_equal(unlink(p), 0);
    assert_int_equal(sim_sandbox_create(&sb, d, msg, sizeof msg), 0); /* empty is fine */
    sim_sandbox_close(&sb);
    st_rm_rf(d);
}

struct fixture {
    char outside[64]; /* directory with a victim file */
    char top[64];
    char sbdir[128];
    char victim[256];
    struct sim_sandbox sb;
};

static void fixture_make(struct fixture *f)
{
    char msg[SIM_MSG_MAX], p[300];
    assert_int_equal(st_tmpdir(f->outside, sizeof f->outside), 0);
    assert_int_equal(st_tmpdir(f->top, sizeof f->top), 0);
    snprintf(f->sbdir, sizeof f->sbdir, "%s/sandbox", f->top);
    st_join(f->victim, sizeof f->victim, f->outside, "victim.txt");
    assert_int_equal(st_write(f->victim, VICTIM, sizeof VICTIM - 1), 0);
    assert_int_equal(sim_sandbox_create(&f->sb, f->sbdir, msg, sizeof msg), 0);
    st_join(p, sizeof p, f->sbdir, "inside.txt");
    assert_int_equal(st_write(p, "inside data\n", 12), 0);
    st_join(p, sizeof p, f->sbdir, "escape");
    assert_int_equal(symlink(f->outside, p), 0); /* directory symlink out */
    st_join(p, sizeof p, f->sbdir, "evil.txt");
    assert_int_equal(symlink(f->victim, p), 0); /* file symlink out */
}

static void fixture_check_victim(struct fixture *f)
{
    size_t n = 0;
    unsigned char *d = st_read(f->victim, &n);
    assert_non_null(d);
    assert_int_equal(n, sizeof VICTIM - 1);
    assert_memory_equal(d, VICTIM, n);
    free(d);
}

static void fixture_free(struct fixture *f)
{
    sim_sandbox_close(&f->sb);
    st_rm_rf(f->top);
    st_rm_rf(f->outside);
}

static void encrypt_one_refuses_outside(void **state)
{
    struct fixture f;
    fixture_make(&f);
    char rel[SIM_PATH_MAX], msg[SIM_MSG_MAX], p[300];
    assert_int_equal(sim_sandbox_relpath(&f.sb, f.victim, rel, sizeof rel, msg, sizeof msg),
                     MAMORI_EPERM);
    assert_non_null(strstr(msg, "outside the sandbox"));
    st_join(p, sizeof p, f.sbdir, "evil.txt");
    assert_int_equal(sim_sandbox_relpath(&f.sb, p, rel, sizeof rel, msg, sizeof msg), MAMORI_EPERM);
    st_join(p, sizeof p, f.sbdir, "escape/victim.txt");
    assert_int_equal(sim_sandbox_relpath(&f.sb, p, rel, sizeof rel, msg, sizeof msg), MAMORI_EPERM);
    st_join(p, sizeof p, f.sbdir, SIM_MARKER);
    assert_int_equal(sim_sandbox_relpath(&f.sb, p, rel, sizeof rel, msg, sizeof msg), MAMORI_EPERM);
    st_join(p, sizeof p, f.sbdir, "inside.txt");
    assert_int_equal(sim_sandbox_relpath(&f.sb, p, rel, sizeof rel, msg, sizeof msg), 0);
    assert_string_equal(rel, "inside.txt");
    assert_int_equal(sim_encrypt_one(&f.sb, rel, msg, sizeof msg), 0);
    /* even given a path through a symlink directly, the opener refuses */
    assert_int_not_equal(sim_encrypt_one(&f.sb, "escape/victim.txt", msg, sizeof msg), 0);
    assert_int_not_equal(sim_encrypt_one(&f.sb, "evil.txt", msg, sizeof msg), 0);
    assert_int_not_equal(sim_encrypt_one(&f.sb, "../x", msg, sizeof msg), 0);
    assert_int_not_equal(sim_encrypt_one(&f.sb, SIM_MARKER, msg, sizeof msg), 0);
    fixture_check_victim(&f);
    fixture_free(&f);
}

static void ransomware_never_follows_symlinks(void **state)
{
    static const enum sim_mode modes[] = {SIM_MODE_FULL, SIM_MODE_MMAP, SIM_MODE_COPY_DELETE,
                                          SIM_MODE_RENAME_ENCRYPT, SIM_MODE_WORKERS};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct fixture f;
        fixture_make(&f);
        struct sim_ransom_opts o = {.mode = modes[i], .ext = ".locked", .delay_ms = 0};
        struct sim_ransom_result *r = calloc(1, sizeof *r);
        char msg[SIM_MSG_MAX], p[300];
        assert_int_equal(sim_ransom_run(&f.sb, &o, r, msg, sizeof msg), 0);
        assert_int_equal(r->files, 1); /* inside.txt only */
        fixture_check_victim(&f);
        struct stat st;
        st_join(p, sizeof p, f.sbdir, SIM_MARKER);
        assert_int_equal(lstat(p, &st), 0);
        st_join(p, sizeof p, f.sbdir, "evil.txt");
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        struct sim_sandbox again;
        assert_int_equal(sim_sandbox_open(&again, f.sbdir, msg, sizeof msg), 0);
        sim_sandbox_close(&again);
        free(r);
        fixture_free(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_dir_without_marker),
        cmocka_unit_test(refuses_root_and_missing),
        cmocka_unit_test(refuses_forged_and_symlinked_marker),
        cmocka_unit_test(create_refuses_nonempty),
        cmocka_unit_test(encrypt_one_refuses_outside),
        cmocka_unit_test(ransomware_never_follows_symlinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
