/* test_incident.c - alert correlation (server/incident.h) against a real
 * SQLite file: a host's alerts of one actor within 30 min form one
 * incident, a later one opens a new incident, another actor its own; the
 * exe+user fallback; host_silent/host_back join the open incident; one class
 * on two hosts of a site within 10 min is one outbreak (critical for the
 * guard), not across sites, not after the window; a resolved incident is
 * not joined; closing and reopening the store keeps grouping; the keys of
 * hostile bodies. Alerts are inserted the way intake does it: row, then
 * incident_link, in one transaction. */
#include "srvtest.h"

#include <sqlite3.h>

#include "core/err.h"
#include "server/incident.h"
#include "server/store.h"

#define MIN (60 * 1000)
#define T0 1700000000000LL

static int64_t count(struct store *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static void add_host(struct store *st, const char *id, int64_t site)
{
    struct host_row h = {.site_id = site, .enrolled = 1000, .status = HOST_ONLINE};
    snprintf(h.id, sizeof h.id, "%s", id);
    snprintf(h.hostname, sizeof h.hostname, "name-%s", id);
    snprintf(h.cert_fp, sizeof h.cert_fp, "fp-%s", id);
    assert_int_equal(store_host_add(st, &h), 0);
}

/* Store one alert and correlate it in one transaction; returns the note. */
static struct incident_note alert(struct store *st, const char *host, int64_t site, int64_t t,
                                  const char *kind, const char *sev, const char *body)
{
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_alert_add(st, host, site, t, kind, sev, "test alert", body), 0);
    struct incident_alert a = {.id = sqlite3_last_insert_rowid(st->db),
                               .site_id = site,
                               .time = t,
                               .host_id = host,
                               .hostname = host,
                               .site = "s",
                               .kind = kind,
                               .severity = sev,
                               .body = body};
    struct incident_note n;
    assert_int_equal(incident_link(st, &a, false, &n), 0);
    assert_int_equal(store_commit(st), 0);
    return n;
}

static const char *actor(const char *key)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "{\"kind\":\"ransomware\",\"exe\":\"/tmp/enc\",\"user\":\"bob\","
             "\"indicators\":[\"extension-rename\",\"partial-encryption\"],\"actor_key\":\"%s\"}",
             key);
    return buf;
}

struct fx {
    char *dir;
    struct store st;
    int64_t s1, s2;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = srvtest_mkdir();
    assert_int_equal(store_open(&f->st, f->dir), 0);
    assert_int_equal(store_site_id(&f->st, "osaka", &f->s1), 0);
    assert_int_equal(store_site_id(&f->st, "kyoto", &f->s2), 0);
    add_host(&f->st, "h-a", f->s1);
    add_host(&f->st, "h-b", f->s1);
    add_host(&f->st, "h-c", f->s2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(&f->st);
    srvtest_rmdir(f->dir);
    free(f);
    return 0;
}

static void test_actor_window(void **state)
{
    struct fx *f = *state;
    struct incident_note a = alert(&f->st, "h-a", f->s1, T0, "ransomware", "high", actor("ab-1-9"));
    assert_true(a.incident_new);
    struct incident_note b =
        alert(&f->st, "h-a", f->s1, T0 + 20 * MIN, "ransomware", "critical", actor("ab-1-9"));
    assert_false(b.incident_new);
    assert_int_equal(b.incident, a.incident);
    /* 29 min after the incident's LAST alert: still the same */
    struct incident_note c =
        alert(&f->st, "h-a", f->s1, T0 + 49 * MIN, "ransomware", "low", actor("ab-1-9"));
    assert_int_equal(c.incident, a.incident);
    /* another actor on the same host: its own incident */
    struct incident_note d =
        alert(&f->st, "h-a", f->s1, T0 + 50 * MIN, "ransomware", "low", actor("ab-2-7"));
    assert_true(d.incident_new);
    assert_int_not_equal(d.incident, a.incident);
    /* 31 min after the last: a new incident for the same actor */
    struct incident_note e =
        alert(&f->st, "h-a", f->s1, T0 + 80 * MIN + 1, "ransomware", "low", actor("ab-1-9"));
    assert_true(e.incident_new);
    assert_int_not_equal(e.incident, a.incident);

    struct incident_row r;
    assert_int_equal(incident_get(&f->st, a.incident, &r), 0);
    assert_int_equal(r.alert_count, 3);
    assert_string_equal(r.severity, "critical"); /* max of its alerts */
    assert_string_equal(r.kind, "host");
    assert_string_equal(r.status, "open");
    assert_string_equal(r.key, "actor:ab-1-9");
    assert_int_equal(r.first, T0);
    assert_int_equal(r.last, T0 + 49 * MIN);
    assert_string_equal(r.host_id, "h-a");
    assert_non_null(strstr(r.title, "/tmp/enc"));
    assert_int_equal(count(&f->st, "SELECT count(*) FROM alerts WHERE incident_id IS NULL"), 0);
}

static void test_exe_user_fallback(void **state)
{
    struct fx *f = *state;
    const char *b1 = "{\"exe\":\"/usr/bin/x\",\"user\":\"bob\"}";
    const char *b2 = "{\"exe\":\"/usr/bin/x\",\"user\":\"eve\"}";
    struct incident_note a = alert(&f->st, "h-a", f->s1, T0, "sensor", "medium", b1);
    struct incident_note b = alert(&f->st, "h-a", f->s1, T0 + MIN, "sensor", "medium", b1);
    struct incident_note c = alert(&f->st, "h-a", f->s1, T0 + MIN, "sensor", "medium", b2);
    assert_int_equal(a.incident, b.incident);
    assert_int_not_equal(a.incident, c.incident);
    /* no actor at all: grouped by kind; other hosts are other incidents */
    struct incident_note d = alert(&f->st, "h-a", f->s1, T0, "drill", "low", NULL);
    struct incident_note e = alert(&f->st, "h-a", f->s1, T0 + 5 * MIN, "drill", "low", NULL);
    struct incident_note g = alert(&f->st, "h-b", f->s1, T0 + 5 * MIN, "drill", "low", NULL);
    assert_int_equal(d.incident, e.incident);
    assert_int_not_equal(d.incident, g.incident);
}

static void test_liveness_pair(void **state)
{
    struct fx *f = *state;
    /* a host_back with no incident open: none made */
    struct incident_note n0 = alert(&f->st, "h-b", f->s1, T0, "host_back", "info", NULL);
    assert_int_equal(n0.incident, 0);
    struct incident_note a = alert(&f->st, "h-a", f->s1, T0, "ransomware", "high", actor("k-1-1"));
    /* hours later, the host goes silent and comes back: both join the open incident */
    struct incident_note s =
        alert(&f->st, "h-a", f->s1, T0 + 300 * MIN, "host_silent", "high", NULL);
    struct incident_note b = alert(&f->st, "h-a", f->s1, T0 + 400 * MIN, "host_back", "info", NULL);
    assert_int_equal(s.incident, a.incident);
    assert_int_equal(b.incident, a.incident);
    /* with nothing open, a silence opens a "liveness" incident its host_back joins */
    struct incident_note s2 = alert(&f->st, "h-c", f->s2, T0, "host_silent", "high", NULL);
    struct incident_note b2 =
        alert(&f->st, "h-c", f->s2, T0 + 900 * MIN, "host_back", "info", NULL);
    assert_true(s2.incident_new);
    assert_int_equal(b2.incident, s2.incident);
    struct incident_row r;
    assert_int_equal(incident_get(&f->st, s2.incident, &r), 0);
    assert_string_equal(r.key, "liveness");
    assert_int_equal(r.alert_count, 2);
}

static void test_outbreak(void **state)
{
    struct fx *f = *state;
    struct incident_note a = alert(&f->st, "h-a", f->s1, T0, "ransomware", "high", actor("a-1-1"));
    assert_int_equal(a.outbreak, 0);
    /* the same class on another site's host: no outbreak */
    struct incident_note c =
        alert(&f->st, "h-c", f->s2, T0 + MIN, "ransomware", "high", actor("c-1-1"));
    assert_int_equal(c.outbreak, 0);
    /* a second host of the site within 10 min: one outbreak with both alerts */
    struct incident_note b =
        alert(&f->st, "h-b", f->s1, T0 + 9 * MIN, "ransomware", "medium", actor("b-1-1"));
    assert_true(b.outbreak_new);
    assert_int_not_equal(b.outbreak, 0);
    assert_int_not_equal(b.incident, a.incident); /* and each host keeps its own incident */
    struct incident_row r;
    assert_int_equal(incident_get(&f->st, b.outbreak, &r), 0);
    assert_string_equal(r.kind, "outbreak");
    assert_string_equal(r.host_id, "");
    assert_string_equal(r.key, "guard:encryption");
    assert_string_equal(r.severity, "critical"); /* an outbreak of ransomware */
    assert_int_equal(r.host_count, 2);
    assert_int_equal(r.alert_count, 2);
    assert_int_equal(r.site_id, f->s1);
    assert_int_equal(count(&f->st, "SELECT count(*) FROM alerts WHERE outbreak_id IS NOT NULL"), 2);
    /* a third alert of a known host within 10 min of the last: joins, hosts stay 2 */
    struct incident_note d =
        alert(&f->st, "h-a", f->s1, T0 + 18 * MIN, "ransomware", "high", actor("a-1-1"));
    assert_int_equal(d.outbreak, b.outbreak);
    assert_false(d.outbreak_new);
    assert_int_equal(incident_get(&f->st, b.outbreak, &r), 0);
    assert_int_equal(r.host_count, 2);
    assert_int_equal(r.alert_count, 3);
    assert_int_equal(r.last, T0 + 18 * MIN);
    /* more than 10 min after the outbreak's last alert: not joined, and one
     * host alone makes no new outbreak */
    struct incident_note e =
        alert(&f->st, "h-b", f->s1, T0 + 29 * MIN, "ransomware", "high", actor("b-1-1"));
    assert_int_equal(e.outbreak, 0);
    assert_int_equal(count(&f->st, "SELECT count(*) FROM incidents WHERE kind='outbreak'"), 1);
}

static void test_outbreak_window_and_class(void **state)
{
    struct fx *f = *state;
    /* two hosts 11 min apart: no outbreak */
    alert(&f->st, "h-a", f->s1, T0, "drill", "high", NULL);
    struct incident_note b = alert(&f->st, "h-b", f->s1, T0 + 11 * MIN, "drill", "high", NULL);
    assert_int_equal(b.outbreak, 0);
    /* info alerts never make outbreaks */
    alert(&f->st, "h-a", f->s1, T0, "note", "info", NULL);
    struct incident_note i = alert(&f->st, "h-b", f->s1, T0 + MIN, "note", "info", NULL);
    assert_int_equal(i.outbreak, 0);
    /* a sensor rule on two hosts: outbreak keyed by the rule, one level up */
    const char *r1 = "{\"rule_id\":\"sigma-42\",\"exe\":\"/bin/sh\",\"user\":\"a\"}";
    alert(&f->st, "h-a", f->s1, T0, "sigma", "medium", r1);
    struct incident_note s = alert(&f->st, "h-b", f->s1, T0 + 2 * MIN, "sigma", "medium", r1);
    assert_true(s.outbreak_new);
    struct incident_row r;
    assert_int_equal(incident_get(&f->st, s.outbreak, &r), 0);
    assert_string_equal(r.key, "rule:sigma-42");
    assert_string_equal(r.severity, "high");
    assert_int_equal(count(&f->st, "SELECT count(*) FROM incidents WHERE kind='outbreak'"), 1);
}

static void test_resolved_not_joined(void **state)
{
    struct fx *f = *state;
    struct incident_note a = alert(&f->st, "h-a", f->s1, T0, "ransomware", "high", actor("r-1-1"));
    bool changed = false;
    assert_int_equal(incident_resolve(&f->st, a.incident, "token:x(ops)", T0 + MIN, &changed), 0);
    assert_true(changed);
    assert_int_equal(incident_resolve(&f->st, a.incident, "token:x(ops)", T0 + MIN, &changed), 0);
    assert_false(changed);
    assert_int_equal(incident_resolve(&f->st, 999999, "x", T0, &changed), MAMORI_ENOENT);
    struct incident_note b =
        alert(&f->st, "h-a", f->s1, T0 + 2 * MIN, "ransomware", "high", actor("r-1-1"));
    assert_true(b.incident_new);
    struct incident_row r;
    assert_int_equal(incident_get(&f->st, a.incident, &r), 0);
    assert_string_equal(r.status, "resolved");
    assert_string_equal(r.resolved_by, "token:x(ops)");
    assert_int_equal(r.resolved_at, T0 + MIN);
    assert_true(r.rev > 0);
}

static void test_restart_keeps_grouping(void **state)
{
    struct fx *f = *state;
    struct incident_note a = alert(&f->st, "h-a", f->s1, T0, "ransomware", "high", actor("z-1-1"));
    store_close(&f->st);
    assert_int_equal(store_open(&f->st, f->dir), 0);
    struct incident_note b =
        alert(&f->st, "h-a", f->s1, T0 + 5 * MIN, "ransomware", "high", actor("z-1-1"));
    assert_int_equal(b.incident, a.incident);
    struct incident_note c =
        alert(&f->st, "h-b", f->s1, T0 + 6 * MIN, "ransomware", "high", actor("y-1-1"));
    assert_true(c.outbreak_new);
    store_close(&f->st);
    assert_int_equal(store_open(&f->st, f->dir), 0);
    struct incident_note d =
        alert(&f->st, "h-b", f->s1, T0 + 7 * MIN, "ransomware", "high", actor("y-1-1"));
    assert_int_equal(d.outbreak, c.outbreak);
    assert_int_equal(d.incident, c.incident);
}

static void test_rollback_leaves_nothing(void **state)
{
    struct fx *f = *state;
    assert_int_equal(store_begin(&f->st), 0);
    assert_int_equal(store_alert_add(&f->st, "h-a", f->s1, T0, "x", "high", "s", NULL), 0);
    struct incident_alert a = {.id = sqlite3_last_insert_rowid(f->st.db),
                               .site_id = f->s1,
                               .time = T0,
                               .host_id = "h-a",
                               .kind = "x",
                               .severity = "high"};
    struct incident_note n;
    assert_int_equal(incident_link(&f->st, &a, false, &n), 0);
    store_rollback(&f->st);
    assert_int_equal(count(&f->st, "SELECT count(*) FROM incidents"), 0);
    assert_int_equal(count(&f->st, "SELECT count(*) FROM alerts"), 0);
}

/* A correlation that fails (here: its table is gone) keeps none of its
 * links but leaves the alert and the transaction usable. */
static void test_failure_keeps_alert(void **state)
{
    struct fx *f = *state;
    assert_int_equal(sqlite3_exec(f->st.db, "DROP TABLE incidents", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_begin(&f->st), 0);
    assert_int_equal(store_alert_add(&f->st, "h-a", f->s1, T0, "x", "high", "s", actor("q-1-1")),
                     0);
    struct incident_alert a = {.id = sqlite3_last_insert_rowid(f->st.db),
                               .site_id = f->s1,
                               .time = T0,
                               .host_id = "h-a",
                               .kind = "x",
                               .severity = "high",
                               .body = actor("q-1-1")};
    struct incident_note n = {.incident = 99};
    assert_true(incident_link(&f->st, &a, true, &n) < 0);
    assert_int_equal(n.incident, 0);
    assert_non_null(strstr(f->st.err, "incidents"));
    assert_int_equal(store_commit(&f->st), 0);
    assert_int_equal(count(&f->st, "SELECT count(*) FROM alerts WHERE incident_id IS NULL"
                                   " AND class IS NULL"),
                     1);
}

static void test_keys(void **state)
{
    (void)state;
    struct incident_keys k;
    incident_keys("ransomware", actor("0a1b-42-99"), &k);
    assert_string_equal(k.actor, "actor:0a1b-42-99");
    assert_string_equal(k.cls, "guard:encryption");
    assert_true(k.guard);
    incident_keys("ransomware", "{\"indicators\":[\"ransom-note\",7,null],\"exe\":\"/e\"}", &k);
    assert_string_equal(k.cls, "guard:ransom_note");
    assert_string_equal(k.actor, "exe:/e user:?");
    incident_keys("ransomware", "{\"indicators\":\"not an array\",\"actor_key\":5}", &k);
    assert_string_equal(k.cls, "kind:ransomware");
    assert_string_equal(k.actor, "kind:ransomware");
    incident_keys("x", "not json {", &k);
    assert_string_equal(k.actor, "kind:x");
    incident_keys("x", "[1,2]", &k);
    assert_string_equal(k.cls, "kind:x");
    incident_keys(NULL, NULL, &k);
    assert_string_equal(k.actor, "kind:unknown");
    char big[2000];
    memset(big, 'e', sizeof big);
    memcpy(big, "{\"exe\":\"", 8);
    memcpy(big + sizeof big - 3, "\"}", 3);
    incident_keys("x", big, &k);
    assert_true(strlen(k.actor) < INCIDENT_KEY_MAX);
    incident_keys("host_silent", NULL, &k);
    assert_true(k.liveness);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_actor_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exe_user_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_liveness_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbreak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbreak_window_and_class, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolved_not_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_grouping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_keeps_alert, setup, teardown),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
