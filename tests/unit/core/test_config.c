/* test_config.c - configuration: defaults, overlay, and rejection of broken
 * files with file, line, column and reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/ytree.h"

static int parse(struct mamori_config *c, const char *text, char *err, size_t errsz)
{
    config_defaults(c);
    return config_parse(c, "test.yaml", text, strlen(text), err, errsz);
}

static void test_defaults(void **state)
{
    struct mamori_config *c = malloc(sizeof *c);
    config_defaults(c);
    assert_int_equal(c->guard.nprotect, 2);
    assert_string_equal(c->guard.protect[0], "/home");
    assert_string_equal(c->guard.protect[1], "/srv");
    assert_string_equal(c->guard.action, "freeze");
    assert_true(c->guard.decoys);
    free(c);
}

static void test_overlay(void **state)
{
    struct mamori_config *c = malloc(sizeof *c);
    char err[512] = "";
    int rc = parse(c,
                   "log_level: debug\n"
                   "guard:\n"
                   "  protect: [/data, /srv/share]\n"
                   "  action: kill\n"
                   "  decoys: false\n"
                   "  watchdog_ms: 250\n"
                   "  allow_exe:\n"
                   "    - /usr/bin/rsync\n"
                   "vault:\n"
                   "  cap_percent: 5\n"
                   "  keep_minutes: 30\n",
                   err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(c->log_level, "debug");
    assert_int_equal(c->guard.nprotect, 2);
    assert_string_equal(c->guard.protect[1], "/srv/share");
    assert_string_equal(c->guard.action, "kill");
    assert_false(c->guard.decoys);
    assert_int_equal(c->guard.watchdog_ms, 250);
    assert_int_equal(c->guard.nallow, 1);
    assert_string_equal(c->guard.allow_exe[0], "/usr/bin/rsync");
    assert_int_equal(c->guard.threshold, 100); /* untouched default */
    assert_true(c->vault.enabled);
    assert_int_equal(c->vault.cap_percent, 5);
    assert_int_equal(c->vault.keep_minutes, 30);
    assert_int_equal(c->vault.file_max_mib, 64); /* untouched default */
    free(c);
}

struct bad_case {
    const char *text;
    const char *expect; /* prefix of the error message */
};

static void test_rejections(void **state)
{
    static const struct bad_case cases[] = {
        {"guard:\n  action: explode\n", "test.yaml:2:11: 'action (alert, freeze or kill)'"},
        {"guard:\n  protec: [/home]\n", "test.yaml:2:3: unknown key 'protec' in section guard"},
        {"gaurd: {}\n", "test.yaml:1:1: unknown section 'gaurd'"},
        {"guard:\n  watchdog_ms: 5\n", "test.yaml:2:16: 'watchdog_ms' must be between 10 and 10000"},
        {"guard:\n  watchdog_ms: fast\n", "test.yaml:2:16: 'watchdog_ms' must be a whole number"},
        {"guard:\n  decoys: maybe\n", "test.yaml:2:11: 'decoys' must be true or false"},
        {"guard:\n  protect: home\n", "test.yaml:2:12: 'protect' must be a list"},
        {"guard:\n  protect: [home]\n", "test.yaml:2:12: 'protect' paths must be absolute"},
        {"guard:\n  action: [a\n", "test.yaml:3:1:"},
        {"- a\n- b\n", "test.yaml:1:1: the configuration must be a mapping"},
        {"a: &x 1\nb: *x\n", "test.yaml:"},
        {"vault:\n  cap_percent: 90\n", "test.yaml:2:16: 'cap_percent' must be between 1 and 50"},
        {"vault:\n  enabled: 1\n", "test.yaml:2:12: 'enabled' must be true or false"},
        {"vault:\n  capacity: 2\n", "test.yaml:2:3: unknown key 'capacity' in section vault"},
        {"vault: [1]\n", "test.yaml:1:8: 'vault' must be a mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mamori_config *c = malloc(sizeof *c);
        char err[512] = "";
        int rc = parse(c, cases[i].text, err, sizeof err);
        free(c);
        if (rc >= 0 || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
            fail_msg("case %zu: rc %d, error \"%s\", expected prefix \"%s\"", i, rc, err,
                     cases[i].expect);
    }
}

static void test_missing_file(void **state)
{
    struct mamori_config *c = malloc(sizeof *c);
    char err[512];
    config_defaults(c);
    assert_int_equal(config_load(c, "/nonexistent/mamori.yaml", err, sizeof err), MAMORI_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/mamori.yaml"));
    free(c);
}

static void test_shipped_config_loads(void **state)
{
    struct mamori_config *c = malloc(sizeof *c);
    char err[512] = "";
    config_defaults(c);
    int rc = config_load(c, "etc/mamori.yaml", err, sizeof err);
    if (rc < 0)
        fail_msg("etc/mamori.yaml: %s", err);
    struct mamori_config *d = malloc(sizeof *d);
    config_defaults(d);
    /* the shipped file documents the embedded defaults: loading it changes nothing */
    assert_memory_equal(c, d, sizeof *c);
    free(c);
    free(d);
}

static void test_ytree_positions(void **state)
{
    struct ytree t;
    char err[256];
    const char *doc = "a: 1\nb:\n  - x\n  - 'y'\n";
    assert_int_equal(ytree_parse(&t, doc, strlen(doc), err, sizeof err), 0);
    const struct ynode *b = ynode_get(t.root, "b");
    assert_non_null(b);
    assert_int_equal(b->type, YN_SEQ);
    assert_int_equal(b->nchild, 2);
    assert_int_equal(b->first->line, 3);
    assert_int_equal(b->first->col, 5);
    assert_true(b->first->next->quoted);
    assert_string_equal(b->first->next->str, "y");
    ytree_free(&t);
}

int main(void)
{
    /* tests run from the repository root (tests/run.sh does so) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),       cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_rejections),     cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_shipped_config_loads), cmocka_unit_test(test_ytree_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
