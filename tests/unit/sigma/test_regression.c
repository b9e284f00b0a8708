/* test_regression.c - the SigmaHQ regression data: for every info.yml under
 * ../shared/data/sigma/regression_data, the rule it names must fire on its
 * .evtx file match_count times (at least once when none is given). SigmaHQ's
 * regression convention (sigmahq-regression-data.md) makes match_count a
 * minimum: more matches are a warning, not a failure. Both are counted and
 * printed: cases below match_count fail; cases above it are listed. Two
 * SigmaHQ cases state 1 where the file holds 3 events the rule's own list
 * of values names (TargetFilename endswith procdump.exe/procdump64.exe/
 * procdump64a.exe; contains AnyDesk\user.conf on user.conf.new twice and a
 * ~RF...TMP copy).
 *
 * All rules* directories are loaded once; events come from mamori's EVTX
 * reader: System slots and EventData/UserData fields become event fields,
 * channel, computer, provider and event id come from the System slots.
 * Prints every failing case and the totals. Skipped when the data set is
 * absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/sigma/sigma.h"
#include "core/ytree.h"
#include "evtx/evtx.h"
#include "sigtest_data.h"

struct run {
    struct sg_ruleset *rs;
    struct sg_matcher *m;
    struct evtx_reader *rd;
    const char *root;
    unsigned cases, passed, exact, missing_rule;
};

static int count_hits(struct run *r, const char *path, uint32_t rule, unsigned *events)
{
    struct evtx_opts o = {0};
    if (evtx_open_file(r->rd, path, &o) < 0)
        return -1;
    struct sg_field *f = malloc((EVTX_SYS_COUNT + EVTX_MAX_FIELDS) * sizeof *f);
    int hits = 0;
    const struct evtx_record *rec;
    while (evtx_next(r->rd, &rec) > 0) {
        uint32_t n = 0;
        for (int i = 0; i < EVTX_SYS_COUNT; i++) {
            if (!rec->sys[i].s)
                continue;
            const char *nm = evtx_sys_name((enum evtx_sys)i);
            f[n].name = (struct sg_str){nm, (uint32_t)strlen(nm)};
            f[n++].value = (struct sg_str){rec->sys[i].s, rec->sys[i].len};
        }
        for (uint32_t i = 0; i < rec->nfields; i++) {
            f[n].name = (struct sg_str){rec->fields[i].name.s, rec->fields[i].name.len};
            f[n++].value = (struct sg_str){rec->fields[i].value.s, rec->fields[i].value.len};
        }
        struct sg_event ev = {
            .time_ns = rec->time_ns,
            .channel = {rec->sys[EVTX_SYS_CHANNEL].s, rec->sys[EVTX_SYS_CHANNEL].len},
            .computer = {rec->sys[EVTX_SYS_COMPUTER].s, rec->sys[EVTX_SYS_COMPUTER].len},
            .provider = {rec->sys[EVTX_SYS_PROVIDER_NAME].s, rec->sys[EVTX_SYS_PROVIDER_NAME].len},
            .event_id = rec->event_id,
            .has_event_id = rec->has_event_id,
            .fields = f,
            .nfields = n,
            .source = path,
            .record = rec->record_id,
        };
        uint32_t h[512];
        uint32_t k = sg_match(r->m, &ev, h, 512);
        for (uint32_t i = 0; i < k && i < 512; i++)
            hits += h[i] == rule;
        (*events)++;
    }
    evtx_close(r->rd);
    free(f);
    return hits;
}

static void one_case(struct run *r, const char *info)
{
    struct ytree t;
    char err[512];
    if (ytree_load_file(&t, info, err, sizeof err) < 0) {
        fprintf(stderr, "FAIL %s: %s\n", info, err);
        r->cases++;
        return;
    }
    const struct ynode *meta = ynode_get(t.root, "rule_metadata");
    const struct ynode *id = meta && meta->first ? ynode_get(meta->first, "id") : NULL;
    const struct ynode *tests = ynode_get(t.root, "regression_tests_info");
    for (const struct ynode *c = tests ? tests->first : NULL; c; c = c->next) {
        const struct ynode *type = ynode_get(c, "type");
        const struct ynode *path = ynode_get(c, "path");
        const struct ynode *mc = ynode_get(c, "match_count");
        if (!ynode_is(type, "evtx") || !path || !id)
            continue;
        r->cases++;
        long want = mc ? strtol(mc->str, NULL, 10) : -1;
        long ri = sg_rule_find(r->rs, id->str);
        if (ri < 0) {
            fprintf(stderr, "FAIL %s: rule %s is not loaded\n", info, id->str);
            r->missing_rule++;
            continue;
        }
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", r->root, path->str);
        unsigned events = 0;
        int got = count_hits(r, p, (uint32_t)ri, &events);
        bool ok = got >= (want >= 0 ? want : 1);
        r->passed += ok;
        r->exact += want >= 0 ? got == want : got >= 1;
        if (!ok || (want >= 0 && got > want))
            fprintf(stderr, "%s %s: rule %s (%s) fired %d times on %u events, match_count %ld\n",
                    ok ? "MORE" : "FAIL", p, id->str, sg_rule(r->rs, (uint32_t)ri)->file, got,
                    events, want);
    }
    ytree_free(&t);
}

static void walk(struct run *r, const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, nm);
        struct stat st;
        if (nm[0] != '.' && stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                walk(r, p);
            else if (!strcmp(nm, "info.yml"))
                one_case(r, p);
        }
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
}

static void test_regression_data(void **state)
{
    const char *dir = sigtest_data_dir();
    if (!dir) {
        fprintf(stderr, "SKIP: no SigmaHQ data (../shared/data/sigma or $MAMORI_SIGMA_DATA)\n");
        skip();
    }
    struct run r = {.root = dir};
    r.rs = sg_ruleset_new();
    struct sigtest_reasons *rej = calloc(1, sizeof *rej);
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "rules", 5))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        sg_load_path(r.rs, p, sigtest_diag, rej);
    }
    closedir(d);
    assert_int_equal(sg_compile(r.rs, sigtest_diag, rej), 0);
    r.m = sg_matcher_new(r.rs);
    r.rd = evtx_reader_new();
    assert_non_null(r.m);
    assert_non_null(r.rd);
    char rd[4096];
    snprintf(rd, sizeof rd, "%s/regression_data", dir);
    walk(&r, rd);
    fprintf(stderr, "regression: %u of %u cases pass (at least match_count), %u exactly; %u rules not loaded\n",
            r.passed, r.cases, r.exact, r.missing_rule);
    evtx_reader_free(r.rd);
    sg_matcher_free(r.m);
    sg_ruleset_free(r.rs);
    free(rej);
    assert_true(r.cases > 0);
    assert_int_equal(r.passed, r.cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
