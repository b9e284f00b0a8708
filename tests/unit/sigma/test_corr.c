/* test_corr.c - Sigma correlation rules: every type fires when it should and
 * only then, groups and windows are kept apart, aliases, generate and chains
 * work, malformed documents are reported with line:column, and a flood of
 * groups stays within the bounds.
 *
 * Correlations are loaded from YAML text through ytree_parse + sg_corr_add;
 * rule references are resolved against a small ruleset double defined here
 * (sg_rule_find, sg_rule_set_hidden), so these tests do not depend on the
 * detection engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/corr.h"
#include "core/sigma/corr_int.h" /* corr_hash */
#include "core/ytree.h"

#define S(x) ((int64_t)(x) * 1000000000LL)
#define T0 S(1700000000)

/* ---- ruleset double: rule i is named names[i] with id "id-<name>" ---- */

struct sg_ruleset {
    const char *names[8];
    bool hidden[8];
    uint32_t n;
};

long sg_rule_find(const struct sg_ruleset *rs, const char *name_or_id);
void sg_rule_set_hidden(struct sg_ruleset *rs, uint32_t idx, bool hidden);

long sg_rule_find(const struct sg_ruleset *rs, const char *name_or_id)
{
    for (uint32_t i = 0; i < rs->n; i++) {
        char id[64];
        snprintf(id, sizeof id, "id-%s", rs->names[i]);
        if (!strcmp(rs->names[i], name_or_id) || !strcmp(id, name_or_id))
            return i;
    }
    return -1;
}

void sg_rule_set_hidden(struct sg_ruleset *rs, uint32_t idx, bool hidden)
{
    assert_true(idx < rs->n);
    rs->hidden[idx] = hidden;
}

/* ---- diagnostics ---- */

struct diags {
    int n;
    unsigned line[16], col[16];
    char reason[16][256];
};

static void diag_cb(void *ctx, const char *file, unsigned line, unsigned col, const char *reason)
{
    struct diags *d = ctx;
    assert_non_null(file);
    if (d->n < 16) {
        d->line[d->n] = line;
        d->col[d->n] = col;
        snprintf(d->reason[d->n], sizeof d->reason[0], "%s", reason);
    }
    d->n++;
}

static bool has_reason(const struct diags *d, unsigned line, unsigned col, const char *part)
{
    for (int i = 0; i < d->n && i < 16; i++)
        if (d->line[i] == line && d->col[i] == col && strstr(d->reason[i], part))
            return true;
    return false;
}

static void dump(const struct diags *d)
{
    for (int i = 0; i < d->n && i < 16; i++)
        fprintf(stderr, "  diag %u:%u: %s\n", d->line[i], d->col[i], d->reason[i]);
}

static int add_doc(struct sg_corrset *cs, const char *text, struct diags *d)
{
    struct ytree t = {0};
    char err[256];
    assert_int_equal(ytree_parse(&t, text, strlen(text), err, sizeof err), 0);
    int rc = sg_corr_add(cs, t.root, "test.yml", diag_cb, d);
    ytree_free(&t);
    return rc;
}

/* Loads each document (all must be valid) and links against rs. */
static struct sg_corrset *load(struct sg_ruleset *rs, const char *const *docs, size_t n)
{
    struct sg_corrset *cs = sg_corrset_new();
    assert_non_null(cs);
    struct diags d = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(add_doc(cs, docs[i], &d), 0);
    int rej = sg_corr_link(cs, rs, diag_cb, &d);
    if (rej || d.n)
        dump(&d);
    assert_int_equal(rej, 0);
    assert_int_equal(d.n, 0);
    return cs;
}

/* ---- hits ---- */

struct hit {
    uint32_t corr;
    int64_t first, last;
    uint64_t count;
    double value;
    uint32_t ngroup;
    char group[4][64];
};

struct hits {
    int n;
    struct hit h[32];
};

static void emit_cb(void *ctx, const struct sg_corr_hit *hit)
{
    struct hits *hs = ctx;
    if (hs->n < 32) {
        struct hit *h = &hs->h[hs->n];
        h->corr = hit->corr_idx;
        h->first = hit->first_ns;
        h->last = hit->last_ns;
        h->count = hit->count;
        h->value = hit->value;
        h->ngroup = hit->ngroup;
        for (uint32_t i = 0; i < hit->ngroup && i < 4; i++) {
            assert_non_null(hit->group_values[i]);
            snprintf(h->group[i], sizeof h->group[i], "%s", hit->group_values[i]);
        }
    }
    hs->n++;
}

/* Feeds one hit of rule at time t (ns) with fields given as name, value
 * pairs ending with NULL. */
static void feed(struct sg_corr_state *st, uint32_t rule, int64_t t, struct hits *hs, ...)
{
    struct sg_field f[8];
    uint32_t n = 0;
    va_list ap;
    va_start(ap, hs);
    for (const char *name; (name = va_arg(ap, const char *)) && n < 8; n++) {
        const char *value = va_arg(ap, const char *);
        f[n].name = (struct sg_str){name, (uint32_t)strlen(name)};
        f[n].value = (struct sg_str){value, (uint32_t)strlen(value)};
    }
    va_end(ap);
    struct sg_event ev = {.time_ns = t, .fields = f, .nfields = n, .source = "t", .record = 1};
    sg_corr_feed(st, rule, &ev, emit_cb, hs);
}

/* ---- event_count ---- */

static const char *const doc_many_failed =
    "title: Many failed logins\n"
    "id: 0e95725d-7320-415d-80f7-004da920fc11\n"
    "name: many_failed\n"
    "level: high\n"
    "tags: [attack.credential-access, attack.t1110]\n"
    "correlation:\n"
    "  type: event_count\n"
    "  rules: [failed_login]\n"
    "  group-by: [User]\n"
    "  timespan: 5m\n"
    "  condition:\n"
    "    gte: 3\n";

static void test_event_count_fires_once_per_group(void **state)
{
    struct sg_ruleset rs = {.names = {"failed_login", "other"}, .n = 2};
    struct sg_corrset *cs = load(&rs, &doc_many_failed, 1);
    const struct sg_corr_info *info = sg_corr_info(cs, 0);
    assert_string_equal(info->type, "event_count");
    assert_string_equal(info->title, "Many failed logins");
    assert_string_equal(info->name, "many_failed");
    assert_int_equal(info->level, 3);
    assert_int_equal(info->ntags, 2);
    assert_string_equal(info->tags[1], "attack.t1110");
    assert_int_equal(info->ngroup_by, 1);
    assert_string_equal(info->group_by[0], "User");
    assert_true(rs.hidden[0]); /* generate: false by default */
    assert_false(rs.hidden[1]);
    assert_true(sg_corr_uses_rule(cs, 0));
    assert_false(sg_corr_uses_rule(cs, 1));

    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0 + S(0), &hs, "User", "alice", NULL);
    feed(st, 0, T0 + S(10), &hs, "User", "bob", NULL);
    feed(st, 0, T0 + S(20), &hs, "User", "alice", NULL);
    feed(st, 0, T0 + S(30), &hs, "User", "bob", NULL);
    feed(st, 1, T0 + S(35), &hs, "User", "alice", NULL); /* rule not used */
    assert_int_equal(hs.n, 0);
    feed(st, 0, T0 + S(40), &hs, "User", "alice", NULL);
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.h[0].corr, 0);
    assert_int_equal(hs.h[0].count, 3);
    assert_true(hs.h[0].value == 3);
    assert_int_equal(hs.h[0].first, T0);
    assert_int_equal(hs.h[0].last, T0 + S(40));
    assert_int_equal(hs.h[0].ngroup, 1);
    assert_string_equal(hs.h[0].group[0], "alice");
    /* the same window does not fire again */
    feed(st, 0, T0 + S(50), &hs, "User", "alice", NULL);
    feed(st, 0, T0 + S(60), &hs, "User", "alice", NULL);
    assert_int_equal(hs.n, 1);
    /* bob reaches 3 on his own */
    feed(st, 0, T0 + S(70), &hs, "User", "bob", NULL);
    assert_int_equal(hs.n, 2);
    assert_string_equal(hs.h[1].group[0], "bob");
    sg_corr_finish(st, emit_cb, &hs);
    assert_int_equal(hs.n, 2);
    assert_int_equal(sg_corr_evictions(st), 0);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_event_count_window_slides(void **state)
{
    struct sg_ruleset rs = {.names = {"failed_login"}, .n = 1};
    struct sg_corrset *cs = load(&rs, &doc_many_failed, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    /* never three within 5 minutes */
    feed(st, 0, T0 + S(0), &hs, "User", "alice", NULL);
    feed(st, 0, T0 + S(200), &hs, "User", "alice", NULL);
    feed(st, 0, T0 + S(400), &hs, "User", "alice", NULL);
    assert_int_equal(hs.n, 0);
    /* 200, 400, 410 are */
    feed(st, 0, T0 + S(410), &hs, "User", "alice", NULL);
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.h[0].first, T0 + S(200));
    assert_int_equal(hs.h[0].count, 3);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_event_count_refires_after_window(void **state)
{
    struct sg_ruleset rs = {.names = {"failed_login"}, .n = 1};
    struct sg_corrset *cs = load(&rs, &doc_many_failed, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    for (int s = 0; s <= 900; s += 10)
        feed(st, 0, T0 + S(s), &hs, "User", "alice", NULL);
    /* fires at 20 (0, 10, 20); muted until every event of that window has
     * left it (> 320); then at 330 and 640 */
    assert_int_equal(hs.n, 3);
    assert_int_equal(hs.h[0].last, T0 + S(20));
    assert_int_equal(hs.h[1].last, T0 + S(330));
    assert_int_equal(hs.h[2].last, T0 + S(640));
    assert_int_equal(hs.h[1].first, T0 + S(30));
    assert_int_equal(hs.h[1].count, 31);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_event_count_upper_bound_decided_at_close(void **state)
{
    static const char *const doc =
        "title: Quiet host\n"
        "correlation:\n"
        "  type: event_count\n"
        "  rules: heartbeat\n"
        "  group-by: Host\n"
        "  timespan: 5m\n"
        "  condition: {gte: 2, lt: 4}\n";
    struct sg_ruleset rs = {.names = {"heartbeat"}, .n = 1};
    struct sg_corrset *cs = load(&rs, &doc, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0 + S(0), &hs, "Host", "a", NULL);
    feed(st, 0, T0 + S(0), &hs, "Host", "b", NULL);
    feed(st, 0, T0 + S(100), &hs, "Host", "a", NULL);
    for (int i = 1; i <= 4; i++)
        feed(st, 0, T0 + S(10 * i), &hs, "Host", "b", NULL);
    feed(st, 0, T0 + S(120), &hs, "Host", "c", NULL);
    assert_int_equal(hs.n, 0); /* nothing decided before the windows end */
    feed(st, 0, T0 + S(301), &hs, "Host", "c", NULL);
    assert_int_equal(hs.n, 1); /* a: 2 events in [0, 300]; b: 5 */
    assert_string_equal(hs.h[0].group[0], "a");
    assert_int_equal(hs.h[0].count, 2);
    assert_int_equal(hs.h[0].first, T0);
    assert_int_equal(hs.h[0].last, T0 + S(100));
    sg_corr_finish(st, emit_cb, &hs);
    assert_int_equal(hs.n, 2); /* c: 2 events in [120, 420] */
    assert_string_equal(hs.h[1].group[0], "c");
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* ---- value_count ---- */

static const char *const doc_spray =
    "title: Password spray\n"
    "correlation:\n"
    "  type: value_count\n"
    "  rules: [failed_login]\n"
    "  group-by: [IpAddress]\n"
    "  timespan: 5m\n"
    "  condition:\n"
    "    field: TargetUserName\n"
    "    gte: 3\n";

static void test_value_count(void **state)
{
    struct sg_ruleset rs = {.names = {"failed_login"}, .n = 1};
    struct sg_corrset *cs = load(&rs, &doc_spray, 1);
    const char *const *names;
    assert_int_equal(sg_corr_fields_for_rule(cs, 0, &names), 2);
    assert_string_equal(names[0], "IpAddress");
    assert_string_equal(names[1], "TargetUserName");
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    const char *users[] = {"a", "b", "a", "b", "a"};
    for (int i = 0; i < 5; i++)
        feed(st, 0, T0 + S(i), &hs, "IpAddress", "10.0.0.9", "TargetUserName", users[i], NULL);
    feed(st, 0, T0 + S(6), &hs, "IpAddress", "10.0.0.9", NULL); /* no value: counts nothing */
    assert_int_equal(hs.n, 0);
    feed(st, 0, T0 + S(7), &hs, "IpAddress", "10.0.0.7", "TargetUserName", "c", NULL);
    assert_int_equal(hs.n, 0); /* another group */
    feed(st, 0, T0 + S(8), &hs, "TargetUserName", "c", "IpAddress", "10.0.0.9", NULL);
    assert_int_equal(hs.n, 1);
    assert_true(hs.h[0].value == 3);
    assert_int_equal(hs.h[0].count, 7);
    assert_string_equal(hs.h[0].group[0], "10.0.0.9");
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_value_count_values_expire(void **state)
{
    struct sg_ruleset rs = {.names = {"failed_login"}, .n = 1};
    struct sg_corrset *cs = load(&rs, &doc_spray, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0 + S(0), &hs, "IpAddress", "x", "TargetUserName", "a", NULL);
    feed(st, 0, T0 + S(200), &hs, "IpAddress", "x", "TargetUserName", "b", NULL);
    feed(st, 0, T0 + S(400), &hs, "IpAddress", "x", "TargetUserName", "c", NULL);
    assert_int_equal(hs.n, 0); /* a left the window */
    feed(st, 0, T0 + S(410), &hs, "IpAddress", "x", "TargetUserName", "c", NULL);
    assert_int_equal(hs.n, 0);
    feed(st, 0, T0 + S(420), &hs, "IpAddress", "x", "TargetUserName", "a", NULL);
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.h[0].first, T0 + S(200));
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* ---- temporal ---- */

static void test_temporal(void **state)
{
    static const char *const doc =
        "title: Recon\n"
        "correlation:\n"
        "  type: temporal\n"
        "  rules: [recon_a, recon_b, id-recon_c]\n"
        "  group-by: [Computer, User]\n"
        "  timespan: 5m\n";
    struct sg_ruleset rs = {.names = {"recon_a", "recon_b", "recon_c"}, .n = 3};
    struct sg_corrset *cs = load(&rs, &doc, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0 + S(0), &hs, "Computer", "h1", "User", "u", NULL);
    feed(st, 0, T0 + S(0), &hs, "Computer", "h2", "User", "u", NULL);
    feed(st, 2, T0 + S(60), &hs, "Computer", "h1", "User", "u", NULL);
    feed(st, 1, T0 + S(61), &hs, "Computer", "h1", "User", "v", NULL); /* other user */
    feed(st, 1, T0 + S(400), &hs, "Computer", "h2", "User", "u", NULL);
    feed(st, 2, T0 + S(401), &hs, "Computer", "h2", "User", "u", NULL); /* a at 0 expired */
    assert_int_equal(hs.n, 0);
    feed(st, 1, T0 + S(402), &hs, "Computer", "h1", "User", "u", NULL); /* a at 0 expired */
    assert_int_equal(hs.n, 0);
    feed(st, 0, T0 + S(403), &hs, "Computer", "h2", "User", "u", NULL);
    assert_int_equal(hs.n, 1);
    assert_true(hs.h[0].value == 3);
    assert_int_equal(hs.h[0].ngroup, 2);
    assert_string_equal(hs.h[0].group[0], "h2");
    assert_string_equal(hs.h[0].group[1], "u");
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_temporal_ordered(void **state)
{
    static const char *const doc =
        "title: Fail then succeed\n"
        "correlation:\n"
        "  type: temporal_ordered\n"
        "  rules: [failed, success]\n"
        "  group-by: [User]\n"
        "  timespan: 5m\n";
    struct sg_ruleset rs = {.names = {"failed", "success"}, .n = 2};
    struct sg_corrset *cs = load(&rs, &doc, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 1, T0 + S(0), &hs, "User", "alice", NULL);
    feed(st, 0, T0 + S(10), &hs, "User", "alice", NULL);
    assert_int_equal(hs.n, 0); /* success before failure: wrong order */
    feed(st, 0, T0 + S(20), &hs, "User", "bob", NULL);
    feed(st, 1, T0 + S(400), &hs, "User", "bob", NULL); /* too late */
    assert_int_equal(hs.n, 0);
    feed(st, 1, T0 + S(30), &hs, "User", "alice", NULL); /* clamped to 400: 10 is gone */
    assert_int_equal(hs.n, 0);
    feed(st, 0, T0 + S(500), &hs, "User", "alice", NULL);
    feed(st, 1, T0 + S(600), &hs, "User", "alice", NULL);
    assert_int_equal(hs.n, 1);
    assert_true(hs.h[0].value == 2);
    assert_string_equal(hs.h[0].group[0], "alice");
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* ---- value_sum, value_avg, value_percentile ---- */

static void test_value_sum_and_avg(void **state)
{
    static const char *const docs[] = {
        "title: Big upload\n"
        "correlation:\n"
        "  type: value_sum\n"
        "  rules: [net]\n"
        "  group-by: [Host]\n"
        "  timespan: 1h\n"
        "  condition: {field: Bytes, gt: 1000}\n",
        "title: Large average\n"
        "generate: true\n"
        "correlation:\n"
        "  type: value_avg\n"
        "  rules: [net]\n"
        "  group-by: [Host]\n"
        "  timespan: 1h\n"
        "  condition: {field: Bytes, gt: 500}\n",
    };
    struct sg_ruleset rs = {.names = {"net"}, .n = 1};
    struct sg_corrset *cs = load(&rs, docs, 2);
    assert_true(rs.hidden[0]); /* one of the two does not generate */
    const char *const *names;
    assert_int_equal(sg_corr_fields_for_rule(cs, 0, &names), 2);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0 + S(1), &hs, "Host", "a", "Bytes", "400", NULL);
    feed(st, 0, T0 + S(2), &hs, "Host", "a", "Bytes", "abc", NULL); /* not a number */
    feed(st, 0, T0 + S(3), &hs, "Host", "a", "Bytes", "0x190", NULL);
    assert_int_equal(hs.n, 0); /* sum 800, average 400 */
    feed(st, 0, T0 + S(4), &hs, "Host", "a", "Bytes", "1300", NULL);
    assert_int_equal(hs.n, 2);
    assert_int_equal(hs.h[0].corr, 0);
    assert_true(hs.h[0].value == 2100);
    assert_int_equal(hs.h[0].count, 4);
    assert_int_equal(hs.h[1].corr, 1);
    assert_true(hs.h[1].value == 700);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_value_percentile_and_median(void **state)
{
    static const char *const docs[] = {
        "title: Slow tail\n"
        "correlation:\n"
        "  type: value_percentile\n"
        "  rules: [req]\n"
        "  group-by: [Host]\n"
        "  timespan: 1d\n"
        "  condition: {field: Ms, percentile: 90, gte: 900}\n",
        "title: Median\n"
        "correlation:\n"
        "  type: value_median\n"
        "  rules: [req]\n"
        "  timespan: 1d\n"
        "  condition: {field: Ms, gte: 450}\n",
    };
    struct sg_ruleset rs = {.names = {"req"}, .n = 1};
    struct sg_corrset *cs = load(&rs, docs, 2);
    assert_string_equal(sg_corr_info(cs, 0)->type, "value_percentile");
    assert_string_equal(sg_corr_info(cs, 1)->type, "value_median");
    assert_int_equal(sg_corr_info(cs, 1)->ngroup_by, 0);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    for (int k = 1; k <= 9; k++) {
        char v[16];
        snprintf(v, sizeof v, "%d", 100 * k);
        feed(st, 0, T0 + S(k), &hs, "Host", "a", "Ms", v, NULL);
    }
    /* the median of 100..800 is 450 */
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.h[0].corr, 1);
    assert_true(hs.h[0].value == 450);
    assert_int_equal(hs.h[0].count, 8);
    assert_int_equal(hs.h[0].ngroup, 0);
    /* p90 of 100..900: rank 7.2 -> 820; of 100..1000: rank 8.1 -> 910 */
    feed(st, 0, T0 + S(10), &hs, "Host", "a", "Ms", "1000", NULL);
    assert_int_equal(hs.n, 2);
    assert_int_equal(hs.h[1].corr, 0);
    assert_true(hs.h[1].value > 909.999 && hs.h[1].value < 910.001);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* ---- aliases, generate, chains ---- */

static void test_aliases(void **state)
{
    static const char *const doc =
        "title: Error then connection\n"
        "correlation:\n"
        "  type: temporal\n"
        "  rules: [internal_error, new_network_connection]\n"
        "  group-by: [internal_ip, remote_ip]\n"
        "  timespan: 10s\n"
        "  aliases:\n"
        "    internal_ip:\n"
        "      internal_error: destination.ip\n"
        "      id-new_network_connection: source.ip\n"
        "    remote_ip:\n"
        "      internal_error: source.ip\n"
        "      new_network_connection: destination.ip\n";
    struct sg_ruleset rs = {.names = {"internal_error", "new_network_connection"}, .n = 2};
    struct sg_corrset *cs = load(&rs, &doc, 1);
    const char *const *names;
    assert_int_equal(sg_corr_fields_for_rule(cs, 1, &names), 2);
    assert_string_equal(names[0], "source.ip");
    assert_string_equal(names[1], "destination.ip");
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0, &hs, "destination.ip", "10.0.0.1", "source.ip", "8.8.8.8", NULL);
    feed(st, 1, T0 + S(1), &hs, "source.ip", "8.8.8.8", "destination.ip", "10.0.0.1", NULL);
    assert_int_equal(hs.n, 0); /* addresses the wrong way round */
    feed(st, 1, T0 + S(2), &hs, "source.ip", "10.0.0.1", "destination.ip", "8.8.8.8", NULL);
    assert_int_equal(hs.n, 1);
    assert_string_equal(hs.h[0].group[0], "10.0.0.1");
    assert_string_equal(hs.h[0].group[1], "8.8.8.8");
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* The specification's example: failed logins followed by a success. */
static void test_chain(void **state)
{
    static const char *const docs[] = {
        "title: Correlation - Multiple Failed Logins Followed by Successful Login\n"
        "id: b180ead8-d58f-40b2-ae54-c8940995b9b6\n"
        "correlation:\n"
        "    type: temporal_ordered\n"
        "    rules:\n"
        "        - multiple_failed_login\n"
        "        - successful_login\n"
        "    group-by:\n"
        "        - User\n"
        "    timespan: 10m\n"
        "level: high\n",
        "title: Multiple failed logons\n"
        "id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\n"
        "name: multiple_failed_login\n"
        "correlation:\n"
        "    type: event_count\n"
        "    rules:\n"
        "        - failed_login\n"
        "    group-by:\n"
        "        - User\n"
        "        - Computer\n"
        "    timespan: 10m\n"
        "    condition:\n"
        "        gte: 3\n",
    };
    struct sg_ruleset rs = {.names = {"failed_login", "successful_login"}, .n = 2};
    struct sg_corrset *cs = load(&rs, docs, 2);
    assert_true(rs.hidden[0] && rs.hidden[1]);
    const char *const *names;
    assert_int_equal(sg_corr_fields_for_rule(cs, 0, &names), 2);
    assert_int_equal(sg_corr_fields_for_rule(cs, 1, &names), 1);
    assert_string_equal(names[0], "User");
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 1, T0, &hs, "User", "alice", NULL);
    for (int i = 1; i <= 3; i++)
        feed(st, 0, T0 + S(i), &hs, "User", "alice", "Computer", "dc1", NULL);
    feed(st, 0, T0 + S(4), &hs, "User", "bob", "Computer", "dc1", NULL);
    assert_int_equal(hs.n, 0); /* the inner correlation fired but is not shown */
    feed(st, 1, T0 + S(100), &hs, "User", "bob", NULL);
    assert_int_equal(hs.n, 0);
    feed(st, 1, T0 + S(100), &hs, "User", "alice", NULL);
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.h[0].corr, 0);
    assert_string_equal(hs.h[0].group[0], "alice");
    assert_int_equal(hs.h[0].first, T0); /* the earliest item in the window */
    assert_int_equal(hs.h[0].last, T0 + S(100));
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_chain_generate_shows_inner(void **state)
{
    static const char *const docs[] = {
        "title: outer\n"
        "generate: true\n"
        "correlation: {type: event_count, rules: [inner], group-by: [User], timespan: 1h,\n"
        "              condition: {gte: 2}}\n",
        "title: inner\n"
        "name: inner\n"
        "correlation: {type: event_count, rules: [r], group-by: [User], timespan: 1m,\n"
        "              condition: {gte: 2}}\n",
        "title: third\n"
        "correlation: {type: event_count, rules: [r2], timespan: 1m, condition: {gte: 9},\n"
        "              generate: true}\n",
    };
    struct sg_ruleset rs = {.names = {"r", "r2"}, .n = 2};
    struct sg_corrset *cs = load(&rs, docs, 3);
    assert_true(rs.hidden[0]); /* the inner one does not generate */
    assert_false(rs.hidden[1]); /* generate: true inside correlation, as pySigma reads it */
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0, &hs, "User", "u", NULL);
    feed(st, 0, T0 + S(1), &hs, "User", "u", NULL);
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.h[0].corr, 1);
    feed(st, 0, T0 + S(120), &hs, "User", "u", NULL);
    feed(st, 0, T0 + S(121), &hs, "User", "u", NULL);
    assert_int_equal(hs.n, 3); /* the inner again, then the outer on its second hit */
    assert_int_equal(hs.h[1].corr, 1);
    assert_int_equal(hs.h[2].corr, 0);
    assert_int_equal(hs.h[2].count, 2);
    assert_int_equal(hs.h[2].first, T0);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* ---- rejected documents ---- */

struct bad_doc {
    const char *text;
    unsigned line, col;
    const char *reason;
};

static void test_malformed_documents(void **state)
{
    static const struct bad_doc cases[] = {
        {"title: t\ncorrelation:\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1}\n", 3, 3,
         "has no type"},
        {"title: t\ncorrelation:\n  type: event_sum\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 1}\n", 3, 9, "unknown correlation type 'event_sum'"},
        {"title: t\ncorrelation:\n  type: event_count\n  timespan: 5m\n  condition: {gte: 1}\n",
         3, 3, "has no rules"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: []\n  timespan: 5m\n"
         "  condition: {gte: 1}\n", 4, 10, "rules is an empty list"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a, a]\n  timespan: 5m\n"
         "  condition: {gte: 1}\n", 4, 14, "lists 'a' twice"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5x\n"
         "  condition: {gte: 1}\n", 5, 13, "timespan '5x'"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 0m\n"
         "  condition: {gte: 1}\n", 5, 13, "timespan '0m'"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  condition: {gte: 1}\n",
         3, 3, "has no timespan"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n", 3, 3,
         "event_count needs a condition"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: many}\n", 6, 20, "gte needs a number"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {above: 3}\n", 6, 15, "unknown condition key 'above'"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {field: x}\n", 6, 14, "has no comparison"},
        {"title: t\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 5m\n"
         "  condition: a and b\n", 6, 14, "boolean expressions"},
        {"title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 3}\n", 6, 14, "value_count needs the field"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 3, field: User}\n", 6, 30, "only used by value_* "},
        {"title: t\ncorrelation:\n  type: value_percentile\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 3, field: Ms}\n", 6, 14, "needs the percentile"},
        {"title: t\ncorrelation:\n  type: value_percentile\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 3, field: Ms, percentile: 150}\n", 6, 46, "from 0 to 100"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 3}\n  window: 2\n", 7, 3, "unknown key 'window'"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  group-by: {User: 1}\n  condition: {gte: 3}\n", 6, 13, "group-by must be a list"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  aliases: [x]\n  condition: {gte: 3}\n", 6, 12, "aliases must be a mapping"},
        {"correlation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 3}\n", 1, 1, "has no title"},
        {"title: t\nlevel: severe\ncorrelation:\n  type: event_count\n  rules: [a]\n"
         "  timespan: 5m\n  condition: {gte: 3}\n", 2, 8, "unknown level 'severe'"},
        {"title: t\ngenerate: 'yes'\ncorrelation:\n  type: event_count\n  rules: [a]\n"
         "  timespan: 5m\n  condition: {gte: 3}\n", 2, 11, "generate must be true or false"},
        {"title: t\ntags: {a: b}\ncorrelation:\n  type: event_count\n  rules: [a]\n"
         "  timespan: 5m\n  condition: {gte: 3}\n", 2, 7, "tags must be a list"},
        {"title: t\ncorrelation: [a]\n", 2, 14, "correlation must be a mapping"},
        {"title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n"
         "  condition: {gte: 3}\n  generate: 1\n", 7, 13, "generate must be true or false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct sg_corrset *cs = sg_corrset_new();
        struct diags d = {0};
        int rc = add_doc(cs, cases[i].text, &d);
        if (rc >= 0 || !has_reason(&d, cases[i].line, cases[i].col, cases[i].reason)) {
            fprintf(stderr, "case %zu: rc %d, want %u:%u '%s'\n", i, rc, cases[i].line,
                    cases[i].col, cases[i].reason);
            dump(&d);
        }
        assert_true(rc < 0);
        assert_true(has_reason(&d, cases[i].line, cases[i].col, cases[i].reason));
        assert_int_equal(sg_corr_count(cs), 0);
        sg_corrset_free(cs);
    }
}

static void test_several_problems_all_reported(void **state)
{
    static const char *const doc = "title: t\n"
                                   "level: huge\n"
                                   "correlation:\n"
                                   "  type: event_count\n"
                                   "  rules: [a]\n"
                                   "  timespan: 5 minutes\n"
                                   "  condition: {gte: x}\n";
    struct sg_corrset *cs = sg_corrset_new();
    struct diags d = {0};
    assert_int_equal(add_doc(cs, doc, &d), MAMORI_EINVAL);
    assert_int_equal(d.n, 3);
    assert_true(has_reason(&d, 2, 8, "unknown level"));
    assert_true(has_reason(&d, 6, 13, "timespan"));
    assert_true(has_reason(&d, 7, 20, "gte needs a number"));
    sg_corrset_free(cs);
}

static void test_link_errors(void **state)
{
    static const char *const docs[] = {
        /* 0: unknown rule */
        "title: a\ncorrelation:\n  type: temporal\n  rules: [r, nope]\n  timespan: 1m\n",
        /* 1: ambiguous: a rule and a correlation are both called r2 */
        "title: b\nname: r2\ncorrelation:\n  type: temporal\n  rules: [r]\n  timespan: 1m\n",
        "title: c\ncorrelation:\n  type: temporal\n  rules: [r, r2]\n  timespan: 1m\n",
        /* 3: itself */
        "title: d\nname: self\ncorrelation:\n  type: temporal\n  rules: [self]\n"
        "  timespan: 1m\n",
        /* 4, 5: a loop */
        "title: e\nname: ping\ncorrelation:\n  type: temporal\n  rules: [pong]\n"
        "  timespan: 1m\n",
        "title: f\nname: pong\ncorrelation:\n  type: temporal\n  rules: [ping]\n"
        "  timespan: 1m\n",
        /* 6: alias for a rule not referenced */
        "title: g\ncorrelation:\n  type: temporal\n  rules: [r]\n  group-by: [ip]\n"
        "  timespan: 1m\n  aliases:\n    ip:\n      r3: SourceIp\n",
        /* 7: the same rule by name and by id */
        "title: h\ncorrelation:\n  type: temporal\n  rules: [r, id-r]\n  timespan: 1m\n",
        /* 8: built on a rejected one */
        "title: i\ncorrelation:\n  type: temporal\n  rules: [ping, r]\n  timespan: 1m\n",
        /* 9: fine */
        "title: j\ncorrelation:\n  type: temporal\n  rules: [r, r3]\n  timespan: 1m\n",
    };
    struct sg_ruleset rs = {.names = {"r", "r2", "r3"}, .n = 3};
    struct sg_corrset *cs = sg_corrset_new();
    struct diags d = {0};
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        assert_int_equal(add_doc(cs, docs[i], &d), 0);
    assert_int_equal(d.n, 0);
    int rej = sg_corr_link(cs, &rs, diag_cb, &d);
    if (rej != 8 || d.n != 8)
        dump(&d);
    assert_int_equal(rej, 8);
    assert_int_equal(d.n, 8);
    assert_true(has_reason(&d, 4, 14, "rule 'nope' is not loaded"));
    assert_true(has_reason(&d, 4, 14, "'r2' is ambiguous"));
    assert_true(has_reason(&d, 5, 11, "refers to itself"));
    assert_true(has_reason(&d, 5, 11, "chain through 'ping' loops back"));
    assert_true(has_reason(&d, 5, 11, "'pong' it builds on was rejected"));
    assert_true(has_reason(&d, 9, 7, "alias 'ip' names rule 'r3'"));
    assert_true(has_reason(&d, 4, 14, "rules 'r' and 'id-r' are the same rule"));
    assert_true(has_reason(&d, 4, 11, "'ping' it builds on was rejected"));
    /* only b (r) and j (r, r3) are used; the rejected ones hide nothing */
    assert_false(rs.hidden[1]);
    assert_true(rs.hidden[0] && rs.hidden[2]);
    assert_true(sg_corr_uses_rule(cs, 2));
    assert_false(sg_corr_uses_rule(cs, 1));
    assert_int_equal(sg_corr_count(cs), 10);
    /* a rejected correlation never fires */
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0, &hs, NULL);
    feed(st, 2, T0, &hs, NULL);
    assert_int_equal(hs.n, 2);
    assert_int_equal(hs.h[0].corr, 1);
    assert_int_equal(hs.h[1].corr, 9);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* ---- bounds and odd input ---- */

static void test_flood_of_groups_stays_bounded(void **state)
{
    struct sg_ruleset rs = {.names = {"failed_login"}, .n = 1};
    struct sg_corrset *cs = load(&rs, &doc_many_failed, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    const uint32_t n = SG_CORR_MAX_GROUPS + 50000;
    for (uint32_t i = 0; i < n; i++) {
        char user[32];
        snprintf(user, sizeof user, "user%u", i);
        feed(st, 0, T0 + i, &hs, "User", user, NULL);
    }
    assert_int_equal(sg_corr_evictions(st), n - SG_CORR_MAX_GROUPS);
    assert_int_equal(hs.n, 0);
    /* still working, with the newest groups kept */
    char user[32];
    snprintf(user, sizeof user, "user%u", n - 1);
    feed(st, 0, T0 + n, &hs, "User", user, NULL);
    feed(st, 0, T0 + n, &hs, "User", user, NULL);
    assert_int_equal(hs.n, 1);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_flood_of_values_stays_bounded(void **state)
{
    static const char *const docs[] = {
        "title: values\n"
        "correlation: {type: value_count, rules: [r], timespan: 1d, condition: {field: V, gt: "
        "100000}}\n",
        "title: samples\n"
        "correlation: {type: value_percentile, rules: [r], timespan: 1d,\n"
        "              condition: {field: N, percentile: 0, gte: 1000}}\n",
    };
    struct sg_ruleset rs = {.names = {"r"}, .n = 1};
    struct sg_corrset *cs = load(&rs, docs, 2);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    const uint32_t n = 20000;
    for (uint32_t i = 0; i < n; i++) {
        char v[32], num[32];
        snprintf(v, sizeof v, "value-%u", i);
        snprintf(num, sizeof num, "%u", i);
        feed(st, 0, T0 + S(i), &hs, "V", v, "N", num, NULL);
    }
    /* distinct values beyond the cap forget the oldest; samples likewise, so
     * the minimum of the kept ones climbs past 1000 */
    assert_int_equal(sg_corr_evictions(st),
                     (n - SG_CORR_MAX_DISTINCT) + (n - SG_CORR_MAX_SAMPLES));
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.h[0].corr, 1);
    assert_true(hs.h[0].value == 1000);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_odd_events(void **state)
{
    struct sg_ruleset rs = {.names = {"failed_login"}, .n = 1};
    struct sg_corrset *cs = load(&rs, &doc_many_failed, 1);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, SG_TIME_UNKNOWN, &hs, "User", "x", NULL); /* ignored */
    feed(st, 0, SG_TIME_UNKNOWN, &hs, "User", "x", NULL);
    feed(st, 0, T0, &hs, "User", "x", NULL);
    assert_int_equal(hs.n, 0);
    /* no User field: the group of the empty value */
    feed(st, 0, T0 + S(1), &hs, "Other", "1", NULL);
    feed(st, 0, T0 + S(2), &hs, NULL);
    feed(st, 0, T0 + S(3), &hs, "User", "", NULL);
    assert_int_equal(hs.n, 1);
    assert_string_equal(hs.h[0].group[0], "");
    /* a very long value is cut, and still groups */
    char *big = malloc(3 * SG_CORR_MAX_VALUE);
    memset(big, 'A', 3 * SG_CORR_MAX_VALUE - 1);
    big[3 * SG_CORR_MAX_VALUE - 1] = 0;
    for (int i = 0; i < 3; i++)
        feed(st, 0, T0 + S(4 + i), &hs, "User", big, NULL);
    assert_int_equal(hs.n, 2);
    free(big);
    /* finish forgets everything: the state is reusable */
    sg_corr_finish(st, emit_cb, &hs);
    feed(st, 0, T0 + S(10), &hs, "User", "x", NULL);
    feed(st, 0, T0 + S(11), &hs, "User", "x", NULL);
    assert_int_equal(hs.n, 2);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

static void test_nothing_linked(void **state)
{
    struct sg_corrset *cs = sg_corrset_new();
    assert_int_equal(sg_corr_count(cs), 0);
    assert_null(sg_corr_info(cs, 0));
    assert_int_equal(sg_corr_link(cs, NULL, NULL, NULL), 0);
    const char *const *names = (const char *const *)1;
    assert_int_equal(sg_corr_fields_for_rule(cs, 3, &names), 0);
    assert_null(names);
    struct sg_corr_state *st = sg_corr_state_new(cs);
    struct hits hs = {0};
    feed(st, 0, T0, &hs, NULL);
    sg_corr_finish(st, emit_cb, &hs);
    assert_int_equal(hs.n, 0);
    sg_corr_state_free(st);
    sg_corrset_free(cs);
}

/* SipHash-2-4 reference vectors (key 00..0f; messages empty and 00..0e). */
static void test_keyed_hash(void **state)
{
    const uint64_t key[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    unsigned char msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (unsigned char)i;
    assert_true(corr_hash(key, msg, 0) == 0x726fdb47dd0e0e31ull);
    assert_true(corr_hash(key, msg, 15) == 0xa129ca6149be45e5ull);
    assert_true(corr_hash(key, msg, 8) == 0x93f5f5799a932462ull);
    uint64_t k1[2] = {0}, k2[2] = {0};
    corr_hash_key(k1);
    corr_hash_key(k2);
    assert_true(k1[0] != k2[0] || k1[1] != k2[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_count_fires_once_per_group),
        cmocka_unit_test(test_event_count_window_slides),
        cmocka_unit_test(test_event_count_refires_after_window),
        cmocka_unit_test(test_event_count_upper_bound_decided_at_close),
        cmocka_unit_test(test_value_count),
        cmocka_unit_test(test_value_count_values_expire),
        cmocka_unit_test(test_temporal),
        cmocka_unit_test(test_temporal_ordered),
        cmocka_unit_test(test_value_sum_and_avg),
        cmocka_unit_test(test_value_percentile_and_median),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_chain_generate_shows_inner),
        cmocka_unit_test(test_malformed_documents),
        cmocka_unit_test(test_several_problems_all_reported),
        cmocka_unit_test(test_link_errors),
        cmocka_unit_test(test_flood_of_groups_stays_bounded),
        cmocka_unit_test(test_flood_of_values_stays_bounded),
        cmocka_unit_test(test_odd_events),
        cmocka_unit_test(test_nothing_linked),
        cmocka_unit_test(test_keyed_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
