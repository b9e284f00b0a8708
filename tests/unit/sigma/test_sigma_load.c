/* test_sigma_load.c - every rule of the SigmaHQ set (../shared/data/sigma/
 * rules*) loads or is reported with file:line:column and a reason; at least
 * 99.5% load. Prints loaded/rejected and the reasons grouped. Skipped with a
 * message when the data set is absent. Also: the whole set compiles and a
 * matcher evaluates a few events without fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sigma/sigma.h"
#include "sigtest_data.h"

static void test_load_all_sigmahq_rules(void **state)
{
    const char *dir = sigtest_data_dir();
    if (!dir) {
        fprintf(stderr, "SKIP: no SigmaHQ data (../shared/data/sigma or $MAMORI_SIGMA_DATA)\n");
        skip();
    }
    struct sg_ruleset *rs = sg_ruleset_new();
    assert_non_null(rs);
    struct sigtest_reasons *r = calloc(1, sizeof *r);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char names[32][512];
    int nn = 0;
    while ((e = readdir(d)) && nn < 32)
        if (!strncmp(e->d_name, "rules", 5))
            snprintf(names[nn++], sizeof names[0], "%s/%s", dir, e->d_name);
    closedir(d);
    assert_true(nn > 0);
    for (int i = 0; i < nn; i++)
        assert_int_equal(sg_load_path(rs, names[i], sigtest_diag, r), 0);
    assert_int_equal(sg_compile(rs, sigtest_diag, r), 0);
    const struct sg_load_stats *st = sg_load_stats(rs);
    unsigned used = st->rules + st->correlations;
    fprintf(stderr, "SigmaHQ: %u files, %u documents: %u rules + %u correlations loaded, %u rejected (%.2f%% loaded)\n",
            st->files, st->docs, st->rules, st->correlations, st->rejected,
            st->docs ? 100.0 * used / st->docs : 0.0);
    sigtest_print(r);
    /* every document is either used or reported */
    assert_int_equal(used + st->rejected, st->docs);
    assert_true(r->total >= st->rejected);
    assert_true(used * 1000 >= st->docs * 995u);
    /* the compiled set runs */
    struct sg_matcher *m = sg_matcher_new(rs);
    assert_non_null(m);
    struct sg_field f[3] = {
        {{"Image", 5}, {"C:\\Windows\\System32\\vssadmin.exe", 32}},
        {{"CommandLine", 11}, {"vssadmin.exe delete shadows /all /quiet", 39}},
        {{"ParentImage", 11}, {"C:\\Windows\\explorer.exe", 23}},
    };
    struct sg_event ev = {.channel = {"Microsoft-Windows-Sysmon/Operational", 36}, .event_id = 1,
                          .has_event_id = true, .fields = f, .nfields = 3};
    uint32_t hits[64];
    uint32_t n = sg_match(m, &ev, hits, 64);
    fprintf(stderr, "a vssadmin shadow deletion hits %u rules\n", n);
    assert_true(n >= 1);
    sg_matcher_free(m);
    free(r);
    sg_ruleset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_all_sigmahq_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
