/* test_store.c - the server database: schema creation and version, WAL,
 * refusal of a newer schema, hosts (find, ambiguous names, revoke,
 * liveness updates), alerts and the audit log. */
#include "srvtest.h"

#include <sqlite3.h>

#include "core/err.h"
#include "server/store.h"

static int count(struct store *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n;
}

static void test_schema(void **state)
{
    char *dir = srvtest_mkdir();
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    assert_int_equal(store_version(&st), STORE_SCHEMA_VERSION);
    assert_int_equal(count(&st, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN"
                                " ('sites','tokens','hosts','events','alerts','audit')"),
                     6);
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(st.db, "PRAGMA journal_mode", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    store_close(&st);
    /* reopening an existing store changes nothing */
    assert_int_equal(store_open(&st, dir), 0);
    assert_int_equal(store_version(&st), STORE_SCHEMA_VERSION);
    /* a newer schema is refused, with the file named */
    assert_int_equal(sqlite3_exec(st.db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    store_close(&st);
    assert_int_equal(store_open(&st, dir), MAMORI_ECONFIG);
    assert_non_null(strstr(st.err, "server.db: schema version 99 is newer"));
    assert_null(st.db);
    srvtest_rmdir(dir);
}

/* A version 1 database (alerts without seq) is upgraded in place and keeps
 * its rows; agent alerts are then stored once per (host, seq). */
static void test_upgrade_from_v1(void **state)
{
    char *dir = srvtest_mkdir();
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/server.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* the whole schema as version 1 made it (a snapshot: later migrations
       alter these tables) */
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE sites(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                     " created INTEGER NOT NULL);"
                     "CREATE TABLE tokens(hash TEXT PRIMARY KEY, site_id INTEGER NOT NULL"
                     " REFERENCES sites(id), created INTEGER NOT NULL, expires INTEGER NOT NULL,"
                     " used INTEGER, used_by TEXT);"
                     "CREATE TABLE hosts(id TEXT PRIMARY KEY, site_id INTEGER NOT NULL"
                     " REFERENCES sites(id), hostname TEXT NOT NULL, cert_fp TEXT NOT NULL UNIQUE,"
                     " enrolled INTEGER NOT NULL, last_seen INTEGER NOT NULL DEFAULT 0,"
                     " status TEXT NOT NULL CHECK(status IN"
                     " ('enrolled','online','offline','revoked')), revoked INTEGER);"
                     "CREATE INDEX hosts_hostname ON hosts(hostname);"
                     "CREATE INDEX hosts_site ON hosts(site_id);"
                     "CREATE TABLE events(id INTEGER PRIMARY KEY, host_id TEXT NOT NULL,"
                     " time INTEGER NOT NULL, received INTEGER NOT NULL, body TEXT NOT NULL);"
                     "CREATE INDEX events_host_time ON events(host_id, time);"
                     "CREATE TABLE alerts(id INTEGER PRIMARY KEY, host_id TEXT,"
                     " site_id INTEGER, time INTEGER NOT NULL, kind TEXT NOT NULL,"
                     " severity TEXT NOT NULL, summary TEXT NOT NULL, body TEXT);"
                     "CREATE INDEX alerts_time ON alerts(time);"
                     "CREATE TABLE audit(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
                     " actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT, detail TEXT);"
                     "INSERT INTO alerts VALUES(1, 'h-1', 1, 5, 'host_silent', 'high',"
                     " 'old', NULL); PRAGMA user_version=1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    assert_int_equal(store_version(&st), STORE_SCHEMA_VERSION);
    assert_int_equal(count(&st, "SELECT count(*) FROM alerts WHERE summary='old' AND seq IS NULL"),
                     1);
    /* v9: the time index also holds site and severity (alert counts read it alone) */
    assert_int_equal(count(&st, "SELECT count(*) FROM sqlite_master WHERE name = 'alerts_time'"),
                     0);
    assert_int_equal(count(&st, "SELECT count(*) FROM pragma_index_info('alerts_time_site_sev')"),
                     3);
    assert_int_equal(store_alert_intake(&st, "h-1", 1, 7, 10, "drill", "high", "x", "{}"), 0);
    assert_int_equal(store_alert_intake(&st, "h-1", 1, 7, 11, "drill", "high", "x", "{}"), 0);
    assert_int_equal(store_alert_intake(&st, "h-2", 1, 7, 12, "drill", "high", "x", "{}"), 0);
    assert_int_equal(count(&st, "SELECT count(*) FROM alerts WHERE seq = 7"), 2);
    store_close(&st);
    srvtest_rmdir(dir);
}

static void test_missing_dir(void **state)
{
    struct store st;
    assert_int_equal(store_open(&st, "/nonexistent/mamori/dir"), MAMORI_EIO);
    assert_non_null(strstr(st.err, "/nonexistent/mamori/dir/server.db: cannot open"));
}

static void add_host(struct store *st, const char *id, int64_t site, const char *name,
                     const char *fp)
{
    struct host_row h = {.site_id = site, .enrolled = 1000, .status = HOST_ENROLLED};
    snprintf(h.id, sizeof h.id, "%s", id);
    snprintf(h.hostname, sizeof h.hostname, "%s", name);
    snprintf(h.cert_fp, sizeof h.cert_fp, "%s", fp);
    assert_int_equal(store_host_add(st, &h), 0);
}

static int n_hosts(void *arg, const struct host_row *h)
{
    (*(int *)arg)++;
    return 0;
}

static void collect(void *arg, const char *id)
{
    snprintf(arg, 32, "%s", id);
}

static void test_hosts(void **state)
{
    char *dir = srvtest_mkdir();
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    int64_t osaka, lima;
    assert_int_equal(store_site_id(&st, "osaka", &osaka), 0);
    assert_int_equal(store_site_id(&st, "lima", &lima), 0);
    int64_t again;
    assert_int_equal(store_site_id(&st, "osaka", &again), 0);
    assert_int_equal(again, osaka);
    add_host(&st, "h-01", osaka, "web", "f1");
    add_host(&st, "h-02", lima, "web", "f2");
    add_host(&st, "h-03", lima, "db", "f3");
    struct host_row h;
    assert_int_equal(store_host_find(&st, "h-03", &h), 0);
    assert_string_equal(h.hostname, "db");
    assert_string_equal(h.site, "lima");
    assert_int_equal(store_host_find(&st, "db", &h), 0);
    assert_string_equal(h.id, "h-03");
    assert_int_equal(store_host_find(&st, "web", &h), MAMORI_EEXIST); /* two hosts named web */
    assert_non_null(strstr(st.err, "give the host id"));
    assert_int_equal(store_host_find(&st, "nope", &h), MAMORI_ENOENT);

    assert_int_equal(store_host_set(&st, "h-01", HOST_ONLINE, 5000), 0);
    assert_int_equal(store_host_find(&st, "h-01", &h), 0);
    assert_int_equal(h.status, HOST_ONLINE);
    assert_int_equal(h.last_seen, 5000);
    assert_int_equal(store_host_set(&st, "h-01", HOST_OFFLINE, 4000),
                     0); /* last_seen never goes back */
    assert_int_equal(store_host_find(&st, "h-01", &h), 0);
    assert_int_equal(h.last_seen, 5000);

    assert_int_equal(store_host_revoke(&st, "h-01", 6000), 0);
    assert_int_equal(store_host_set(&st, "h-01", HOST_ONLINE, 7000), 0); /* revoked stays revoked */
    assert_int_equal(store_host_find(&st, "h-01", &h), 0);
    assert_int_equal(h.status, HOST_REVOKED);
    assert_int_equal(h.revoked, 6000);
    /* renewal: the new fingerprint, the previous kept; never for a revoked host */
    assert_int_equal(store_host_renew(&st, "h-02", "f2b", "f2"), 0);
    assert_int_equal(store_host_find(&st, "h-02", &h), 0);
    assert_string_equal(h.cert_fp, "f2b");
    assert_string_equal(h.cert_fp_prev, "f2");
    assert_int_equal(store_host_renew(&st, "h-02", "f2b", NULL), 0);
    assert_int_equal(store_host_find(&st, "h-02", &h), 0);
    assert_string_equal(h.cert_fp_prev, "");
    assert_int_equal(store_host_renew(&st, "h-01", "f1b", "f1"), MAMORI_EPERM);
    assert_int_equal(store_host_find(&st, "h-01", &h), 0);
    assert_string_equal(h.cert_fp, "f1");
    assert_int_equal(store_host_renew(&st, "h-99", "f9", NULL), MAMORI_EPERM);
    char id[32] = "";
    assert_int_equal(store_revoked_each(&st, collect, id), 0);
    assert_string_equal(id, "h-01");
    int n = 0;
    assert_int_equal(store_hosts_each(&st, n_hosts, &n), 0);
    assert_int_equal(n, 3);
    /* a certificate fingerprint belongs to one host */
    struct host_row dup = {.site_id = osaka, .status = HOST_ENROLLED};
    snprintf(dup.id, sizeof dup.id, "h-04");
    snprintf(dup.cert_fp, sizeof dup.cert_fp, "f1");
    assert_int_equal(store_host_add(&st, &dup), MAMORI_EIO);
    store_close(&st);
    srvtest_rmdir(dir);
}

static int first_alert(void *arg, const struct alert_row *a)
{
    struct alert_row *out = arg;
    out->id = a->id;
    out->time = a->time;
    assert_string_equal(a->kind, "host_silent");
    assert_string_equal(a->hostname, "db");
    assert_string_equal(a->site, "lima");
    return 1;
}

static void test_alerts_audit_version(void **state)
{
    char *dir = srvtest_mkdir();
    struct store st, other;
    assert_int_equal(store_open(&st, dir), 0);
    assert_int_equal(store_open(&other, dir), 0);
    int64_t lima;
    assert_int_equal(store_site_id(&st, "lima", &lima), 0);
    add_host(&st, "h-03", lima, "db", "f3");
    int64_t v0 = store_data_version(&st);
    /* our own commits do not move our data_version ... */
    assert_int_equal(
        store_alert_add(&st, "h-03", lima, 1234, "host_silent", "high", "went silent", NULL), 0);
    assert_int_equal(store_data_version(&st), v0);
    /* ... another connection's do */
    assert_int_equal(store_audit(&other, 1, "operator", "revoke", "h-03", "db"), 0);
    assert_true(store_data_version(&st) != v0);
    struct alert_row a = {0};
    assert_int_equal(store_alerts_each(&st, first_alert, &a), 0);
    assert_int_equal(a.time, 1234);
    assert_int_equal(count(&st, "SELECT count(*) FROM audit WHERE action='revoke'"), 1);
    store_close(&other);
    store_close(&st);
    srvtest_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_upgrade_from_v1),
        cmocka_unit_test(test_missing_dir),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_alerts_audit_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
