/* store.c - the server's SQLite database (see store.h for the schema). */
#include "server/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"

/* Each step upgrades the schema from version i to i+1; never edit a step
 * that has shipped, append a new one. */
static const char *const MIGRATIONS[STORE_SCHEMA_VERSION] = {
    "CREATE TABLE sites(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE tokens(hash TEXT PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL, used INTEGER, used_by TEXT);"
    "CREATE TABLE hosts(id TEXT PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
    " hostname TEXT NOT NULL, cert_fp TEXT NOT NULL UNIQUE, enrolled INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL"
    " CHECK(status IN ('enrolled','online','offline','revoked')), revoked INTEGER);"
    "CREATE INDEX hosts_hostname ON hosts(hostname);"
    "CREATE INDEX hosts_site ON hosts(site_id);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, host_id TEXT NOT NULL, time INTEGER NOT NULL,"
    " received INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX events_host_time ON events(host_id, time);"
    "CREATE TABLE alerts(id INTEGER PRIMARY KEY, host_id TEXT, site_id INTEGER,"
    " time INTEGER NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,"
    " summary TEXT NOT NULL, body TEXT);"
    "CREATE INDEX alerts_time ON alerts(time);"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, target TEXT, detail TEXT);",
    /* 2: alerts from agents carry their spool number; a resend is stored once */
    "ALTER TABLE alerts ADD COLUMN seq INTEGER;"
    "CREATE UNIQUE INDEX alerts_host_seq ON alerts(host_id, seq) WHERE seq IS NOT NULL;",
    /* 3: response commands to agents and their results (server/cmdstore.c) */
    "CREATE TABLE commands(id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE,"
    " host_id TEXT NOT NULL REFERENCES hosts(id), action TEXT NOT NULL"
    " CHECK(action IN ('isolate','release','kill','restore')), arg TEXT,"
    " created INTEGER NOT NULL, created_by TEXT NOT NULL, sent INTEGER,"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK(status IN ('pending','sent','ok','failed')),"
    " done INTEGER, message TEXT);"
    "CREATE INDEX commands_open ON commands(host_id, id) WHERE status IN ('pending','sent');",
    /* 4: the HTTPS API (src/api): API tokens (salted hashes), audit rows tied to
     * a site, and the indexes its keyset pages use */
    "CREATE TABLE api_tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK(role IN ('admin','site-admin','viewer')),"
    " site_id INTEGER REFERENCES sites(id), salt BLOB NOT NULL, hash BLOB NOT NULL,"
    " created INTEGER NOT NULL, expires INTEGER, last_used INTEGER NOT NULL DEFAULT 0,"
    " revoked INTEGER);"
    "ALTER TABLE audit ADD COLUMN site_id INTEGER;"
    "CREATE INDEX audit_site ON audit(site_id, id);"
    "CREATE INDEX hosts_name_id ON hosts(hostname, id);"
    "CREATE INDEX hosts_site_name ON hosts(site_id, hostname, id);"
    "CREATE INDEX hosts_status_name ON hosts(status, hostname, id);"
    "CREATE INDEX hosts_site_status_name ON hosts(site_id, status, hostname, id);"
    "CREATE INDEX alerts_site_id ON alerts(site_id, id);"
    "CREATE INDEX alerts_host_id ON alerts(host_id, id);"
    "CREATE INDEX alerts_severity_id ON alerts(severity, id);",
    /* 5: the web console (src/web): local users (argon2id hashes) and their
     * sessions (id = SHA-256 of the cookie value, never the value itself) */
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK(role IN ('admin','site-admin','viewer')),"
    " site_id INTEGER REFERENCES sites(id), hash TEXT NOT NULL, totp_secret TEXT,"
    " created INTEGER NOT NULL, disabled INTEGER, failed_logins INTEGER NOT NULL DEFAULT 0,"
    " locked_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sessions(id BLOB PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
    " csrf TEXT NOT NULL, created INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, ip TEXT, user_agent TEXT);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE INDEX sessions_expires ON sessions(expires);",
    /* 6: incidents (server/incident.h): alerts grouped per host by actor and
     * time, and outbreaks of one class over hosts of a site; an alert links
     * to its host incident and to its site's outbreak (two columns: it can
     * be in both); class is the outbreak key of alerts stored from v6 on */
    "CREATE TABLE incidents(id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL, host_id TEXT,"
    " kind TEXT NOT NULL CHECK(kind IN ('host','outbreak')), key TEXT NOT NULL,"
    " title TEXT NOT NULL, severity TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'open' CHECK(status IN ('open','resolved')),"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, alert_count INTEGER NOT NULL DEFAULT 0,"
    " host_count INTEGER NOT NULL DEFAULT 0, resolved_by TEXT, resolved_at INTEGER,"
    " rev INTEGER NOT NULL DEFAULT 0);"
    "ALTER TABLE alerts ADD COLUMN incident_id INTEGER;"
    "ALTER TABLE alerts ADD COLUMN outbreak_id INTEGER;"
    "ALTER TABLE alerts ADD COLUMN class TEXT;"
    "CREATE INDEX incidents_host_key ON incidents(host_id, key, last)"
    " WHERE kind = 'host' AND status = 'open';"
    "CREATE INDEX incidents_site_key ON incidents(site_id, key, last)"
    " WHERE kind = 'outbreak' AND status = 'open';"
    "CREATE INDEX incidents_site_id ON incidents(site_id, id);"
    "CREATE INDEX incidents_site_status_id ON incidents(site_id, status, id);"
    "CREATE INDEX incidents_status_id ON incidents(status, id);"
    "CREATE INDEX incidents_host_id ON incidents(host_id, id);"
    "CREATE INDEX incidents_severity_id ON incidents(severity, id);"
    "CREATE INDEX incidents_rev ON incidents(rev);"
    "CREATE INDEX alerts_incident ON alerts(incident_id, id) WHERE incident_id IS NOT NULL;"
    "CREATE INDEX alerts_outbreak ON alerts(outbreak_id, host_id) WHERE outbreak_id IS NOT NULL;"
    "CREATE INDEX alerts_site_class_time ON alerts(site_id, class, time) WHERE class IS NOT NULL;",
    /* 7: alert delivery (src/deliver): where alerts go, and each alert's
     * delivery to each route (the durable outbox) */
    "CREATE TABLE routes(id INTEGER PRIMARY KEY, site_id INTEGER REFERENCES sites(id),"
    " kind TEXT NOT NULL CHECK(kind IN ('webhook','slack','teams','syslog','email')),"
    " target TEXT NOT NULL, options TEXT NOT NULL DEFAULT '{}',"
    " min_rank INTEGER NOT NULL DEFAULT 0, after_alert INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, created_by TEXT NOT NULL, disabled INTEGER);"
    "CREATE TABLE deliveries(id INTEGER PRIMARY KEY,"
    " route_id INTEGER NOT NULL REFERENCES routes(id),"
    " alert_id INTEGER NOT NULL REFERENCES alerts(id), created INTEGER NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK(status IN ('pending','sent','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL, last_error TEXT,"
    " sent_at INTEGER, UNIQUE(route_id, alert_id));"
    "CREATE INDEX deliveries_due ON deliveries(next_try, id) WHERE status = 'pending';"
    "CREATE INDEX deliveries_alert ON deliveries(alert_id);",
    /* 8: events from agents (server/events.h): their spool number, unique per
     * host (a resend is stored once), and their kind */
    "ALTER TABLE events ADD COLUMN seq INTEGER;"
    "ALTER TABLE events ADD COLUMN kind TEXT;"
    "CREATE UNIQUE INDEX events_host_seq ON events(host_id, seq) WHERE seq IS NOT NULL;",
    /* 9: alert counts over a time window (GET /api/v1/alerts/counts, the
     * console's overview) group by site and severity: the time index holds
     * both, so they read the index alone; it still serves time ranges */
    "DROP INDEX IF EXISTS alerts_time;"
    "CREATE INDEX alerts_time_site_sev ON alerts(time, site_id, severity);",
    /* 10: certificate renewal (server/renew.c): the fingerprint of the
     * certificate a host held when it renewed, still accepted until the host
     * first connects with the new one (cert_fp), then cleared */
    "ALTER TABLE hosts ADD COLUMN cert_fp_prev TEXT;",
    /* 11: the mamori version each agent reported in its last HELLO (the
     * console's host pages) */
    "ALTER TABLE hosts ADD COLUMN agent_version TEXT;",
};

static int fail(struct store *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "%.300s: %s", what,
             s->db ? sqlite3_errmsg(s->db) : "no database");
    return MAMORI_EIO;
}

static int exec(struct store *s, const char *sql, const char *what)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, what);
}

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(s, "prepare");
        return NULL;
    }
    return st;
}

/* Step a statement that returns no rows; finalize it. */
static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return MAMORI_EIO;
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, what);
    sqlite3_finalize(st);
    return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t outsz)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

int store_version(struct store *s)
{
    sqlite3_stmt *st = prep(s, "PRAGMA user_version");
    int v = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(struct store *s, const char *path)
{
    if (store_begin(s) < 0)
        return MAMORI_EIO;
    int v = store_version(s);
    if (v < 0) {
        store_rollback(s);
        return fail(s, "read schema version");
    }
    if (v > STORE_SCHEMA_VERSION) {
        store_rollback(s);
        snprintf(s->err, sizeof s->err,
                 "%.300s: schema version %d is newer than this mamori knows (%d): use a newer "
                 "mamori",
                 path, v, STORE_SCHEMA_VERSION);
        return MAMORI_ECONFIG;
    }
    for (; v < STORE_SCHEMA_VERSION; v++) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
        if (exec(s, MIGRATIONS[v], "create schema") < 0 || exec(s, sql, "set schema version") < 0) {
            store_rollback(s);
            return MAMORI_EIO;
        }
    }
    return store_commit(s);
}

int store_open(struct store *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE) >= sizeof path) {
        snprintf(s->err, sizeof s->err, "%.300s: path too long", dir);
        return MAMORI_EINVAL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        snprintf(s->err, sizeof s->err, "%.300s: cannot open: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_close(s);
        return MAMORI_EIO;
    }
    sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
    int rc = exec(s,
                  /* auto_vacuum takes effect only in a database without tables yet
                   * (a new one): retention then returns freed pages to the filesystem */
                  "PRAGMA auto_vacuum=INCREMENTAL;"
                  " PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                  " PRAGMA foreign_keys=ON;",
                  path);
    if (rc == 0)
        rc = migrate(s, path);
    if (rc < 0) {
        char keep[sizeof s->err];
        memcpy(keep, s->err, sizeof keep);
        store_close(s);
        memcpy(s->err, keep, sizeof keep);
    }
    return rc;
}

void store_close(struct store *s)
{
    sqlite3_finalize(s->host_set);
    sqlite3_finalize(s->intake);
    s->host_set = s->intake = NULL;
    for (int i = 0; i < STORE_INCIDENT_STMTS; i++) {
        sqlite3_finalize(s->incident[i]);
        s->incident[i] = NULL;
    }
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
}

int store_begin(struct store *s)
{
    return exec(s, "BEGIN IMMEDIATE", "begin transaction");
}
int store_commit(struct store *s)
{
    return exec(s, "COMMIT", "commit");
}
void store_rollback(struct store *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_site_id(struct store *s, const char *name, int64_t *id)
{
    sqlite3_stmt *st =
        prep(s, "INSERT INTO sites(name, created) VALUES(?, strftime('%s','now')*1000)"
                " ON CONFLICT(name) DO NOTHING");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, name);
    if (run(s, st, "add site") < 0)
        return MAMORI_EIO;
    st = prep(s, "SELECT id FROM sites WHERE name = ?");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, name);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(s, "find site");
    if (rc == 0)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

int store_token_add(struct store *s, const char *hash_hex, int64_t site_id, int64_t now,
                    int64_t expires)
{
    sqlite3_stmt *st =
        prep(s, "INSERT INTO tokens(hash, site_id, created, expires) VALUES(?, ?, ?, ?)");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, hash_hex);
    sqlite3_bind_int64(st, 2, site_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, expires);
    return run(s, st, "add token");
}

static void fmt_time(int64_t ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int store_token_use(struct store *s, const char *hash_hex, int64_t now, const char *host_id,
                    int64_t *site_id, char site[SITE_NAME_MAX + 1])
{
    sqlite3_stmt *st = prep(s, "SELECT t.site_id, s.name, t.expires, t.used, t.used_by"
                               " FROM tokens t JOIN sites s ON s.id = t.site_id WHERE t.hash = ?");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, hash_hex);
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (r != SQLITE_DONE)
            return fail(s, "find token");
        snprintf(s->err, sizeof s->err, "unknown enrollment token");
        return MAMORI_ENOENT;
    }
    *site_id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, site, SITE_NAME_MAX + 1);
    int64_t expires = sqlite3_column_int64(st, 2);
    bool used = sqlite3_column_type(st, 3) != SQLITE_NULL;
    int64_t used_at = sqlite3_column_int64(st, 3);
    char by[HOST_ID_MAX];
    col_copy(st, 4, by, sizeof by);
    sqlite3_finalize(st);
    char when[32];
    if (used) {
        fmt_time(used_at, when, sizeof when);
        snprintf(s->err, sizeof s->err, "enrollment token already used (by host %s at %s)", by,
                 when);
        return MAMORI_EEXIST;
    }
    if (now >= expires) {
        fmt_time(expires, when, sizeof when);
        snprintf(s->err, sizeof s->err, "enrollment token expired at %s", when);
        return MAMORI_ERANGE;
    }
    st = prep(s, "UPDATE tokens SET used = ?, used_by = ? WHERE hash = ? AND used IS NULL");
    if (!st)
        return MAMORI_EIO;
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, host_id);
    bind_text(st, 3, hash_hex);
    int rc = run(s, st, "use token");
    if (rc == 0 && sqlite3_changes(s->db) != 1) {
        snprintf(s->err, sizeof s->err, "enrollment token already used");
        return MAMORI_EEXIST;
    }
    return rc;
}

int store_host_add(struct store *s, const struct host_row *h)
{
    sqlite3_stmt *st = prep(s, "INSERT INTO hosts(id, site_id, hostname, cert_fp, enrolled,"
                               " status) VALUES(?, ?, ?, ?, ?, ?)");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, h->id);
    sqlite3_bind_int64(st, 2, h->site_id);
    bind_text(st, 3, h->hostname);
    bind_text(st, 4, h->cert_fp);
    sqlite3_bind_int64(st, 5, h->enrolled);
    bind_text(st, 6, host_status_name(h->status));
    return run(s, st, "add host");
}

#define HOST_COLS                                                                                  \
    "h.id, h.site_id, s.name, h.hostname, h.cert_fp, h.enrolled, h.last_seen, h.status,"           \
    " COALESCE(h.revoked, 0), h.cert_fp_prev, h.agent_version"                                     \
    " FROM hosts h JOIN sites s ON s.id = h.site_id"

static void host_from_row(sqlite3_stmt *st, struct host_row *h)
{
    memset(h, 0, sizeof *h);
    col_copy(st, 0, h->id, sizeof h->id);
    h->site_id = sqlite3_column_int64(st, 1);
    col_copy(st, 2, h->site, sizeof h->site);
    col_copy(st, 3, h->hostname, sizeof h->hostname);
    col_copy(st, 4, h->cert_fp, sizeof h->cert_fp);
    h->enrolled = sqlite3_column_int64(st, 5);
    h->last_seen = sqlite3_column_int64(st, 6);
    const char *status = (const char *)sqlite3_column_text(st, 7);
    if (!status || host_status_parse(status, &h->status) < 0)
        h->status = HOST_OFFLINE;
    h->revoked = sqlite3_column_int64(st, 8);
    col_copy(st, 9, h->cert_fp_prev, sizeof h->cert_fp_prev);
    col_copy(st, 10, h->version, sizeof h->version);
}

int store_host_find(struct store *s, const char *id_or_name, struct host_row *out)
{
    sqlite3_stmt *st = prep(s, "SELECT " HOST_COLS " WHERE h.id = ?1 OR h.hostname = ?1"
                               " ORDER BY h.id = ?1 DESC LIMIT 2");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, id_or_name);
    int rc = MAMORI_ENOENT;
    if (sqlite3_step(st) == SQLITE_ROW) {
        host_from_row(st, out);
        rc = 0;
        if (strcmp(out->id, id_or_name) != 0 && sqlite3_step(st) == SQLITE_ROW)
            rc = MAMORI_EEXIST; /* a hostname two hosts share: the caller must name the id */
    }
    sqlite3_finalize(st);
    if (rc == MAMORI_ENOENT)
        snprintf(s->err, sizeof s->err, "no host with id or hostname '%.100s'", id_or_name);
    else if (rc == MAMORI_EEXIST)
        snprintf(s->err, sizeof s->err,
                 "several hosts are named '%.100s': give the host id (mamori server hosts)",
                 id_or_name);
    return rc;
}

int store_host_set(struct store *s, const char *id, enum host_status st, int64_t last_seen)
{
    if (!s->host_set &&
        sqlite3_prepare_v3(s->db,
                           "UPDATE hosts SET status = ?, last_seen = MAX(last_seen, ?)"
                           " WHERE id = ? AND status != 'revoked'",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->host_set, NULL) != SQLITE_OK)
        return fail(s, "prepare host update");
    sqlite3_stmt *q = s->host_set;
    sqlite3_reset(q);
    bind_text(q, 1, host_status_name(st));
    sqlite3_bind_int64(q, 2, last_seen);
    bind_text(q, 3, id);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(s, "update host");
    sqlite3_reset(q);
    return rc;
}

int store_host_revoke(struct store *s, const char *id, int64_t now)
{
    sqlite3_stmt *st = prep(s, "UPDATE hosts SET status = 'revoked', revoked = ? WHERE id = ?"
                               " AND status != 'revoked'");
    if (!st)
        return MAMORI_EIO;
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, id);
    return run(s, st, "revoke host");
}

int store_host_version(struct store *s, const char *id, const char *version)
{
    sqlite3_stmt *st = prep(s, "UPDATE hosts SET agent_version = ? WHERE id = ?");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, version);
    bind_text(st, 2, id);
    return run(s, st, "record agent version");
}

int store_host_renew(struct store *s, const char *id, const char *fp, const char *prev)
{
    sqlite3_stmt *st = prep(s, "UPDATE hosts SET cert_fp = ?, cert_fp_prev = ? WHERE id = ?"
                               " AND status != 'revoked'");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, fp);
    bind_text(st, 2, prev && *prev ? prev : NULL);
    bind_text(st, 3, id);
    int rc = run(s, st, "renew host certificate");
    if (rc == 0 && sqlite3_changes(s->db) != 1) {
        snprintf(s->err, sizeof s->err, "host %.40s is revoked or unknown", id);
        return MAMORI_EPERM;
    }
    return rc;
}

int store_hosts_each(struct store *s, int (*fn)(void *, const struct host_row *), void *arg)
{
    sqlite3_stmt *st = prep(s, "SELECT " HOST_COLS " ORDER BY s.name, h.hostname, h.id");
    if (!st)
        return MAMORI_EIO;
    int r;
    struct host_row h;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        host_from_row(st, &h);
        if (fn(arg, &h))
            break;
    }
    int rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : fail(s, "list hosts");
    sqlite3_finalize(st);
    return rc;
}

int store_revoked_each(struct store *s, void (*fn)(void *, const char *), void *arg)
{
    sqlite3_stmt *st = prep(s, "SELECT id FROM hosts WHERE status = 'revoked'");
    if (!st)
        return MAMORI_EIO;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0));
    int rc = r == SQLITE_DONE ? 0 : fail(s, "list revoked hosts");
    sqlite3_finalize(st);
    return rc;
}

int store_alert_add(struct store *s, const char *host_id, int64_t site_id, int64_t time,
                    const char *kind, const char *severity, const char *summary, const char *body)
{
    sqlite3_stmt *st = prep(s, "INSERT INTO alerts(host_id, site_id, time, kind, severity,"
                               " summary, body) VALUES(?, ?, ?, ?, ?, ?, ?)");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, host_id);
    sqlite3_bind_int64(st, 2, site_id);
    sqlite3_bind_int64(st, 3, time);
    bind_text(st, 4, kind);
    bind_text(st, 5, severity);
    bind_text(st, 6, summary);
    bind_text(st, 7, body);
    return run(s, st, "add alert");
}

int store_alert_intake(struct store *s, const char *host_id, int64_t site_id, uint64_t seq,
                       int64_t time, const char *kind, const char *severity, const char *summary,
                       const char *body)
{
    if (!s->intake &&
        sqlite3_prepare_v3(s->db,
                           "INSERT OR IGNORE INTO alerts(host_id, site_id, seq, time, kind,"
                           " severity, summary, body) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->intake, NULL) != SQLITE_OK)
        return fail(s, "prepare alert intake");
    sqlite3_stmt *q = s->intake;
    sqlite3_reset(q);
    bind_text(q, 1, host_id);
    sqlite3_bind_int64(q, 2, site_id);
    sqlite3_bind_int64(q, 3, (int64_t)seq);
    sqlite3_bind_int64(q, 4, time);
    bind_text(q, 5, kind);
    bind_text(q, 6, severity);
    bind_text(q, 7, summary);
    bind_text(q, 8, body);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(s, "store alert");
    sqlite3_reset(q);
    return rc;
}

int store_alerts_each(struct store *s, int (*fn)(void *, const struct alert_row *), void *arg)
{
    sqlite3_stmt *st = prep(s, "SELECT a.id, a.site_id, a.time, a.host_id, s.name, h.hostname,"
                               " a.kind, a.severity, a.summary, a.body, COALESCE(a.seq, 0)"
                               " FROM alerts a"
                               " LEFT JOIN sites s ON s.id = a.site_id"
                               " LEFT JOIN hosts h ON h.id = a.host_id ORDER BY a.id");
    if (!st)
        return MAMORI_EIO;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct alert_row a = {
            .id = sqlite3_column_int64(st, 0),
            .site_id = sqlite3_column_int64(st, 1),
            .time = sqlite3_column_int64(st, 2),
            .host_id = (const char *)sqlite3_column_text(st, 3),
            .site = (const char *)sqlite3_column_text(st, 4),
            .hostname = (const char *)sqlite3_column_text(st, 5),
            .kind = (const char *)sqlite3_column_text(st, 6),
            .severity = (const char *)sqlite3_column_text(st, 7),
            .summary = (const char *)sqlite3_column_text(st, 8),
            .body = (const char *)sqlite3_column_text(st, 9),
            .seq = sqlite3_column_int64(st, 10),
        };
        if (fn(arg, &a))
            break;
    }
    int rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : fail(s, "list alerts");
    sqlite3_finalize(st);
    return rc;
}

int store_audit(struct store *s, int64_t time, const char *actor, const char *action,
                const char *target, const char *detail)
{
    sqlite3_stmt *st =
        prep(s, "INSERT INTO audit(time, actor, action, target, detail) VALUES(?, ?, ?, ?, ?)");
    if (!st)
        return MAMORI_EIO;
    sqlite3_bind_int64(st, 1, time);
    bind_text(st, 2, actor);
    bind_text(st, 3, action);
    bind_text(st, 4, target);
    bind_text(st, 5, detail);
    return run(s, st, "add audit record");
}

int64_t store_data_version(struct store *s)
{
    sqlite3_stmt *st = prep(s, "PRAGMA data_version");
    int64_t v = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *const STATUS[] = {"enrolled", "online", "offline", "revoked"};

const char *host_status_name(enum host_status st)
{
    return (unsigned)st < 4 ? STATUS[st] : "offline";
}

int host_status_parse(const char *s, enum host_status *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, STATUS[i])) {
            *out = (enum host_status)i;
            return 0;
        }
    return MAMORI_EINVAL;
}
