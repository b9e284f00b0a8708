/* test_corr_engine.c - correlations end to end through the real engine:
 * detection rules and correlations loaded from one multi-document text with
 * sg_load_mem, sg_compile (which links the correlations and hides the rules
 * they consume), Windows-like events matched with sg_match, and the hits of
 * the rules the correlations use fed to sg_corr_feed. (test_corr.c tests
 * the correlation module alone, against a ruleset double.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/sigma/corr.h"
#include "core/sigma/sigma.h"

#define S(x) ((int64_t)(x) * 1000000000LL)
#define T0 S(1700000000)

static const char rules[] =
    "title: Correlation - Multiple Failed Logins Followed by Successful Login\n"
    "id: b180ead8-d58f-40b2-ae54-c8940995b9b6\n"
    "correlation:\n"
    "    type: temporal_ordered\n"
    "    rules:\n"
    "        - multiple_failed_login\n"
    "        - successful_login\n"
    "    group-by:\n"
    "        - TargetUserName\n"
    "    timespan: 10m\n"
    "level: high\n"
    "---\n"
    "title: Multiple failed logons\n"
    "id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\n"
    "name: multiple_failed_login\n"
    "correlation:\n"
    "    type: event_count\n"
    "    rules:\n"
    "        - failed_login\n"
    "    group-by:\n"
    "        - TargetUserName\n"
    "    timespan: 10m\n"
    "    condition:\n"
    "        gte: 3\n"
    "---\n"
    "title: Single failed login\n"
    "id: 53ba33fd-3a50-4468-a5ef-c583635cfa92\n"
    "name: failed_login\n"
    "logsource:\n"
    "    product: windows\n"
    "    service: security\n"
    "detection:\n"
    "    selection:\n"
    "        EventID: 4625\n"
    "    condition: selection\n"
    "---\n"
    "title: Successful login\n"
    "id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\n"
    "name: successful_login\n"
    "logsource:\n"
    "    product: windows\n"
    "    service: security\n"
    "detection:\n"
    "    selection:\n"
    "        EventID: 4624\n"
    "    condition: selection\n"
    "---\n"
    "title: Process started\n"
    "logsource:\n"
    "    product: windows\n"
    "    service: security\n"
    "detection:\n"
    "    selection:\n"
    "        EventID: 4688\n"
    "    condition: selection\n";

struct diags {
    int n;
};

static void diag_cb(void *ctx, const char *file, unsigned line, unsigned col, const char *reason)
{
    struct diags *d = ctx;
    fprintf(stderr, "  diag %s:%u:%u: %s\n", file, line, col, reason);
    d->n++;
}

struct hits {
    int n;
    uint32_t corr[8];
    char user[8][32];
    int64_t first[8], last[8];
};

static void emit_cb(void *ctx, const struct sg_corr_hit *hit)
{
    struct hits *hs = ctx;
    if (hs->n < 8) {
        hs->corr[hs->n] = hit->corr_idx;
        snprintf(hs->user[hs->n], sizeof hs->user[0], "%s",
                 hit->ngroup ? hit->group_values[0] : "");
        hs->first[hs->n] = hit->first_ns;
        hs->last[hs->n] = hit->last_ns;
    }
    hs->n++;
}

/* One Security event through the matcher into the correlations. Returns the
 * number of rules that matched and are shown on their own. */
static int event(const struct sg_ruleset *rs, struct sg_matcher *m, struct sg_corr_state *st,
                 int64_t t, unsigned event_id, const char *user, struct hits *hs)
{
    char id[16];
    snprintf(id, sizeof id, "%u", event_id);
    const struct sg_field f[] = {
        {{"EventID", (uint32_t)strlen(id)}, {id, (uint32_t)strlen(id)}},
        {{"Channel", 7}, {"Security", 8}},
        {{"Computer", 8}, {"dc1", 3}},
        {{"TargetUserName", 14}, {user, (uint32_t)strlen(user)}},
    };
    struct sg_event ev = {
        .time_ns = t, .channel = {"Security", 8}, .computer = {"dc1", 3},
        .provider = {"Microsoft-Windows-Security-Auditing", 35}, .event_id = event_id,
        .has_event_id = true, .fields = f, .nfields = 4, .source = "test", .record = 1,
    };
    uint32_t idx[16];
    uint32_t n = sg_match(m, &ev, idx, 16);
    assert_true(n <= 16);
    int shown = 0;
    const struct sg_corrset *cs = sg_ruleset_corr(rs);
    for (uint32_t i = 0; i < n; i++) {
        if (sg_corr_uses_rule(cs, idx[i]))
            sg_corr_feed(st, idx[i], &ev, emit_cb, hs);
        shown += !sg_rule(rs, idx[i])->hidden;
    }
    return shown;
}

static void test_failed_then_success_through_the_engine(void **state)
{
    struct sg_ruleset *rs = sg_ruleset_new();
    assert_non_null(rs);
    struct diags d = {0};
    assert_int_equal(sg_load_mem(rs, rules, sizeof rules - 1, "mr_bruteforce.yml", diag_cb, &d),
                     0);
    assert_int_equal(sg_compile(rs, diag_cb, &d), 0);
    assert_int_equal(d.n, 0);
    const struct sg_corrset *cs = sg_ruleset_corr(rs);
    assert_int_equal(sg_corr_count(cs), 2);
    assert_string_equal(sg_corr_info(cs, 0)->type, "temporal_ordered");
    assert_int_equal(sg_corr_info(cs, 0)->level, SG_LEVEL_HIGH);

    long failed = sg_rule_find(rs, "failed_login");
    long success = sg_rule_find(rs, "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8");
    assert_true(failed >= 0 && success >= 0);
    assert_true(sg_rule(rs, (uint32_t)failed)->hidden);
    assert_true(sg_rule(rs, (uint32_t)success)->hidden);
    assert_true(sg_corr_uses_rule(cs, (uint32_t)failed));
    const char *const *names;
    assert_int_equal(sg_corr_fields_for_rule(cs, (uint32_t)failed, &names), 1);
    assert_string_equal(names[0], "TargetUserName");

    struct sg_matcher *m = sg_matcher_new(rs);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    assert_non_null(m);
    assert_non_null(st);
    struct hits hs = {0};
    assert_int_equal(event(rs, m, st, T0, 4688, "alice", &hs), 1); /* shown on its own */
    assert_int_equal(event(rs, m, st, T0 + S(1), 4624, "alice", &hs), 0); /* hidden */
    for (int i = 0; i < 3; i++)
        event(rs, m, st, T0 + S(10 + i), 4625, "alice", &hs);
    for (int i = 0; i < 5; i++)
        event(rs, m, st, T0 + S(20 + i), 4625, "bob", &hs);
    assert_int_equal(hs.n, 0);
    event(rs, m, st, T0 + S(60), 4624, "alice", &hs);
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.corr[0], 0);
    assert_string_equal(hs.user[0], "alice");
    assert_int_equal(hs.last[0], T0 + S(60));
    event(rs, m, st, T0 + S(900), 4624, "bob", &hs); /* bob's failures are 15 min old */
    sg_corr_finish(st, emit_cb, &hs);
    assert_int_equal(hs.n, 1);
    sg_corr_state_free(st);
    sg_matcher_free(m);
    sg_ruleset_free(rs);
}

static void test_bad_reference_reported_by_compile(void **state)
{
    static const char text[] = "title: c\n"
                               "correlation:\n"
                               "    type: event_count\n"
                               "    rules: [no_such_rule]\n"
                               "    timespan: 1h\n"
                               "    condition: {gte: 2}\n";
    struct sg_ruleset *rs = sg_ruleset_new();
    struct diags d = {0};
    assert_int_equal(sg_load_mem(rs, text, sizeof text - 1, "mr_bad.yml", diag_cb, &d), 0);
    assert_int_equal(d.n, 0);
    sg_compile(rs, diag_cb, &d);
    assert_int_equal(d.n, 1);
    sg_ruleset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_then_success_through_the_engine),
        cmocka_unit_test(test_bad_reference_reported_by_compile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
