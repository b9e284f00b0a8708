/* api_store.c - the API's SQL (see api_store.h). WHERE clauses are built
 * from constant fragments only; every value is bound. */
#include "api/api_store.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

static int fail(struct store *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "%.200s: %s", what, sqlite3_errmsg(s->db));
    return MAMORI_EIO;
}

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        fail(s, "prepare");
        return NULL;
    }
    return q;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q, i);
}

static void col_copy(sqlite3_stmt *q, int i, char *out, size_t outsz)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

static int done(struct store *s, sqlite3_stmt *q, int r, const char *what)
{
    int rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : fail(s, what);
    sqlite3_finalize(q);
    return rc;
}

/* Append a constant fragment to a statement being built. */
static void cat(char *sql, size_t sz, const char *frag)
{
    size_t l = strlen(sql);
    snprintf(sql + l, sz - l, "%s", frag);
}

/* -------------------------------------------------------------- tokens -- */

int apist_token_add(struct store *st, const char *id, const struct apist_token *t)
{
    sqlite3_stmt *q = prep(st, "INSERT INTO api_tokens(id, name, role, site_id, salt, hash,"
                               " created, expires) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    if (!q)
        return MAMORI_EIO;
    bind_text(q, 1, id);
    bind_text(q, 2, t->name);
    bind_text(q, 3, api_role_name(t->role));
    if (t->site_id)
        sqlite3_bind_int64(q, 4, t->site_id);
    sqlite3_bind_blob(q, 5, t->salt, 16, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q, 6, t->hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 7, t->created);
    if (t->expires)
        sqlite3_bind_int64(q, 8, t->expires);
    return done(st, q, sqlite3_step(q), "add API token");
}

int apist_token_get(struct store *st, const char *id, struct apist_token *out)
{
    sqlite3_stmt *q = prep(st, "SELECT t.name, t.role, COALESCE(t.site_id, 0), s.name, t.salt,"
                               " t.hash, t.created, COALESCE(t.expires, 0), t.last_used,"
                               " COALESCE(t.revoked, 0) FROM api_tokens t"
                               " LEFT JOIN sites s ON s.id = t.site_id WHERE t.id = ?");
    if (!q)
        return MAMORI_EIO;
    bind_text(q, 1, id);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (r != SQLITE_DONE)
            return fail(st, "read API token");
        snprintf(st->err, sizeof st->err, "no API token %.32s", id);
        return MAMORI_ENOENT;
    }
    memset(out, 0, sizeof *out);
    col_copy(q, 0, out->name, sizeof out->name);
    const char *role = (const char *)sqlite3_column_text(q, 1);
    if (!role || api_role_parse(role, &out->role) < 0)
        out->role = ROLE_VIEWER;
    out->site_id = sqlite3_column_int64(q, 2);
    col_copy(q, 3, out->site, sizeof out->site);
    int rc = 0;
    if (sqlite3_column_bytes(q, 4) == 16 && sqlite3_column_bytes(q, 5) == 32) {
        memcpy(out->salt, sqlite3_column_blob(q, 4), 16);
        memcpy(out->hash, sqlite3_column_blob(q, 5), 32);
    } else {
        snprintf(st->err, sizeof st->err, "API token %.32s: damaged row", id);
        rc = MAMORI_ENOENT;
    }
    out->created = sqlite3_column_int64(q, 6);
    out->expires = sqlite3_column_int64(q, 7);
    out->last_used = sqlite3_column_int64(q, 8);
    out->revoked = sqlite3_column_int64(q, 9);
    sqlite3_finalize(q);
    return rc;
}

int apist_tokens_each(struct store *st, int (*fn)(void *, const char *, const struct apist_token *),
                      void *arg)
{
    sqlite3_stmt *q = prep(st, "SELECT id FROM api_tokens ORDER BY created, id");
    if (!q)
        return MAMORI_EIO;
    char ids[256][APITOK_ID_LEN + 1];
    int r, rc = 0;
    size_t n;
    do { /* ids first, in batches: apist_token_get runs its own statement */
        n = 0;
        while (n < 256 && (r = sqlite3_step(q)) == SQLITE_ROW)
            col_copy(q, 0, ids[n++], sizeof ids[0]);
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct apist_token t;
            if ((rc = apist_token_get(st, ids[i], &t)) == 0 && fn(arg, ids[i], &t))
                rc = 1;
        }
    } while (n == 256 && rc == 0);
    int d = done(st, q, r == SQLITE_ROW || r == SQLITE_DONE ? SQLITE_DONE : r, "list API tokens");
    return rc < 0 ? rc : d;
}

int apist_token_touch(struct store *st, const char *id, int64_t now)
{
    sqlite3_stmt *q = prep(st, "UPDATE api_tokens SET last_used = ? WHERE id = ?");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_int64(q, 1, now);
    bind_text(q, 2, id);
    return done(st, q, sqlite3_step(q), "note API token use");
}

int apist_token_revoke(struct store *st, const char *id, int64_t now)
{
    sqlite3_stmt *q = prep(st, "UPDATE api_tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_int64(q, 1, now);
    bind_text(q, 2, id);
    int rc = done(st, q, sqlite3_step(q), "revoke API token");
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        snprintf(st->err, sizeof st->err, "no API token %.32s", id);
        return MAMORI_ENOENT;
    }
    return rc;
}

/* --------------------------------------------------------------- sites -- */

const char *const APIST_SEV_NAMES[APIST_SEVS] = {"critical", "high", "medium", "low", "info"};

/* open incidents of the site with severity SEV (index incidents_site_status_id) */
#define OPEN_INC(SEV)                                                                              \
    " (SELECT count(*) FROM incidents WHERE site_id = s.id AND status = 'open'"                    \
    " AND severity = '" SEV "')"

#define SITE_COLS                                                                                  \
    "SELECT s.id, s.name, s.created,"                                                              \
    " (SELECT count(*) FROM hosts WHERE site_id = s.id),"                                          \
    " (SELECT count(*) FROM hosts WHERE site_id = s.id AND status = 'online'),"                    \
    " (SELECT count(*) FROM hosts WHERE site_id = s.id AND status = 'offline'),"                   \
    " (SELECT count(*) FROM hosts WHERE site_id = s.id AND status = 'enrolled'),"                  \
    " (SELECT count(*) FROM hosts WHERE site_id = s.id AND status = 'revoked')," OPEN_INC(         \
        "critic"                                                                                   \
        "al") "," OPEN_INC("high") "," OPEN_INC("medium") "," OPEN_INC("low") "," OPEN_INC("info") " FROM sites s"

static void site_from(sqlite3_stmt *q, struct apist_site *s)
{
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(q, 0);
    col_copy(q, 1, s->name, sizeof s->name);
    s->created = sqlite3_column_int64(q, 2);
    s->hosts = sqlite3_column_int64(q, 3);
    s->online = sqlite3_column_int64(q, 4);
    s->offline = sqlite3_column_int64(q, 5);
    s->enrolled = sqlite3_column_int64(q, 6);
    s->revoked = sqlite3_column_int64(q, 7);
    for (int i = 0; i < APIST_SEVS; i++)
        s->open_incidents[i] = sqlite3_column_int64(q, 8 + i);
}

int apist_sites(struct store *st, int64_t only_site, const char *after, int limit,
                int (*fn)(void *, const struct apist_site *), void *arg)
{
    char sql[2048] = SITE_COLS " WHERE 1";
    if (only_site)
        cat(sql, sizeof sql, " AND s.id = :site");
    if (after)
        cat(sql, sizeof sql, " AND s.name > :after");
    cat(sql, sizeof sql, " ORDER BY s.name LIMIT :limit");
    sqlite3_stmt *q = prep(st, sql);
    if (!q)
        return MAMORI_EIO;
    if (only_site)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":site"), only_site);
    if (after)
        bind_text(q, sqlite3_bind_parameter_index(q, ":after"), after);
    sqlite3_bind_int(q, sqlite3_bind_parameter_index(q, ":limit"), limit);
    int r;
    struct apist_site s;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        site_from(q, &s);
        if (fn(arg, &s))
            break;
    }
    return done(st, q, r, "list sites");
}

int apist_site_get(struct store *st, const char *name, struct apist_site *out)
{
    sqlite3_stmt *q = prep(st, SITE_COLS " WHERE s.name = ?");
    if (!q)
        return MAMORI_EIO;
    bind_text(q, 1, name);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        site_from(q, out);
    int rc = done(st, q, r, "read site");
    if (rc == 0 && r != SQLITE_ROW) {
        snprintf(st->err, sizeof st->err, "no site '%.64s'", name);
        return MAMORI_ENOENT;
    }
    return rc;
}

/* --------------------------------------------------------------- hosts -- */

#define HOST_COLS                                                                                  \
    "SELECT h.id, h.site_id, s.name, h.hostname, h.cert_fp, h.enrolled, h.last_seen, h.status,"    \
    " COALESCE(h.revoked, 0), h.agent_version FROM hosts h JOIN sites s ON s.id = h.site_id"

static void host_from(sqlite3_stmt *q, struct host_row *h)
{
    memset(h, 0, sizeof *h);
    col_copy(q, 0, h->id, sizeof h->id);
    h->site_id = sqlite3_column_int64(q, 1);
    col_copy(q, 2, h->site, sizeof h->site);
    col_copy(q, 3, h->hostname, sizeof h->hostname);
    col_copy(q, 4, h->cert_fp, sizeof h->cert_fp);
    h->enrolled = sqlite3_column_int64(q, 5);
    h->last_seen = sqlite3_column_int64(q, 6);
    const char *status = (const char *)sqlite3_column_text(q, 7);
    if (!status || host_status_parse(status, &h->status) < 0)
        h->status = HOST_OFFLINE;
    h->revoked = sqlite3_column_int64(q, 8);
    col_copy(q, 9, h->version, sizeof h->version);
}

int apist_hosts(struct store *st, const struct apist_host_q *f,
                int (*fn)(void *, const struct host_row *), void *arg)
{
    char sql[1024] = HOST_COLS " WHERE 1";
    if (f->site_id)
        cat(sql, sizeof sql, " AND h.site_id = :site");
    if (f->status)
        cat(sql, sizeof sql, " AND h.status = :status");
    if (f->after_name)
        cat(sql, sizeof sql, " AND (h.hostname, h.id) > (:aname, :aid)");
    cat(sql, sizeof sql, " ORDER BY h.hostname, h.id LIMIT :limit");
    sqlite3_stmt *q = prep(st, sql);
    if (!q)
        return MAMORI_EIO;
    if (f->site_id)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":site"), f->site_id);
    if (f->status)
        bind_text(q, sqlite3_bind_parameter_index(q, ":status"), f->status);
    if (f->after_name) {
        bind_text(q, sqlite3_bind_parameter_index(q, ":aname"), f->after_name);
        bind_text(q, sqlite3_bind_parameter_index(q, ":aid"), f->after_id ? f->after_id : "");
    }
    sqlite3_bind_int(q, sqlite3_bind_parameter_index(q, ":limit"), f->limit);
    int r;
    struct host_row h;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        host_from(q, &h);
        if (fn(arg, &h))
            break;
    }
    return done(st, q, r, "list hosts");
}

int apist_host_get(struct store *st, const char *id, struct host_row *out)
{
    sqlite3_stmt *q = prep(st, HOST_COLS " WHERE h.id = ?");
    if (!q)
        return MAMORI_EIO;
    bind_text(q, 1, id);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        host_from(q, out);
    int rc = done(st, q, r, "read host");
    if (rc == 0 && r != SQLITE_ROW) {
        snprintf(st->err, sizeof st->err, "no host '%.64s'", id);
        return MAMORI_ENOENT;
    }
    return rc;
}

/* -------------------------------------------------------------- alerts -- */

#define ALERT_COLS                                                                                 \
    "SELECT a.id, COALESCE(a.site_id, 0), a.time, a.host_id, s.name, h.hostname, a.kind,"          \
    " a.severity, a.summary, a.body, COALESCE(a.seq, 0), COALESCE(a.incident_id, 0),"              \
    " COALESCE(a.outbreak_id, 0) FROM alerts a"                                                    \
    " LEFT JOIN sites s ON s.id = a.site_id LEFT JOIN hosts h ON h.id = a.host_id"

static void alert_from(sqlite3_stmt *q, struct alert_row *a)
{
    *a = (struct alert_row){
        .id = sqlite3_column_int64(q, 0),
        .site_id = sqlite3_column_int64(q, 1),
        .time = sqlite3_column_int64(q, 2),
        .host_id = (const char *)sqlite3_column_text(q, 3),
        .site = (const char *)sqlite3_column_text(q, 4),
        .hostname = (const char *)sqlite3_column_text(q, 5),
        .kind = (const char *)sqlite3_column_text(q, 6),
        .severity = (const char *)sqlite3_column_text(q, 7),
        .summary = (const char *)sqlite3_column_text(q, 8),
        .body = (const char *)sqlite3_column_text(q, 9),
        .seq = sqlite3_column_int64(q, 10),
        .incident_id = sqlite3_column_int64(q, 11),
        .outbreak_id = sqlite3_column_int64(q, 12),
    };
}

int apist_alerts(struct store *st, const struct apist_alert_q *f,
                 int (*fn)(void *, const struct alert_row *), void *arg)
{
    char sql[1536] = ALERT_COLS " WHERE 1";
    if (f->site_id)
        cat(sql, sizeof sql, " AND a.site_id = :site");
    if (f->host_id)
        cat(sql, sizeof sql, " AND a.host_id = :host");
    if (f->since)
        cat(sql, sizeof sql, " AND a.time >= :since");
    if (f->kind)
        cat(sql, sizeof sql, " AND a.kind = :kind");
    if (f->nsev) {
        static const char *const sv[APIST_SEV_MAX] = {":s0", ":s1", ":s2", ":s3", ":s4"};
        cat(sql, sizeof sql, " AND a.severity IN (");
        for (int i = 0; i < f->nsev && i < APIST_SEV_MAX; i++) {
            cat(sql, sizeof sql, i ? ", " : "");
            cat(sql, sizeof sql, sv[i]);
        }
        cat(sql, sizeof sql, ")");
    }
    if (f->after_id) {
        cat(sql, sizeof sql, " AND a.id > :after ORDER BY a.id LIMIT :limit");
    } else {
        if (f->before_id)
            cat(sql, sizeof sql, " AND a.id < :before");
        cat(sql, sizeof sql, " ORDER BY a.id DESC LIMIT :limit");
    }
    sqlite3_stmt *q = prep(st, sql);
    if (!q)
        return MAMORI_EIO;
    if (f->site_id)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":site"), f->site_id);
    if (f->host_id)
        bind_text(q, sqlite3_bind_parameter_index(q, ":host"), f->host_id);
    if (f->since)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":since"), f->since);
    if (f->kind)
        bind_text(q, sqlite3_bind_parameter_index(q, ":kind"), f->kind);
    for (int i = 0; i < f->nsev && i < APIST_SEV_MAX; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, ":s%d", i);
        bind_text(q, sqlite3_bind_parameter_index(q, nm), f->sev[i]);
    }
    if (f->after_id)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":after"), f->after_id);
    else if (f->before_id)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":before"), f->before_id);
    sqlite3_bind_int(q, sqlite3_bind_parameter_index(q, ":limit"), f->limit);
    int r;
    struct alert_row a;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        alert_from(q, &a);
        if (fn(arg, &a))
            break;
    }
    return done(st, q, r, "list alerts");
}

int apist_alert_get(struct store *st, int64_t id, int (*fn)(void *, const struct alert_row *),
                    void *arg)
{
    sqlite3_stmt *q = prep(st, ALERT_COLS " WHERE a.id = ?");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_int64(q, 1, id);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        struct alert_row a;
        alert_from(q, &a);
        fn(arg, &a);
    }
    int rc = done(st, q, r, "read alert");
    if (rc == 0 && r != SQLITE_ROW) {
        snprintf(st->err, sizeof st->err, "no alert %lld", (long long)id);
        return MAMORI_ENOENT;
    }
    return rc;
}

int64_t apist_alert_max_id(struct store *st)
{
    sqlite3_stmt *q = prep(st, "SELECT COALESCE(MAX(id), 0) FROM alerts");
    if (!q)
        return MAMORI_EIO;
    int r = sqlite3_step(q);
    int64_t v = r == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    if (done(st, q, r, "read the newest alert") < 0)
        return MAMORI_EIO;
    return v;
}

/* --------------------------------------------------------------- audit -- */

int apist_audit_list(struct store *st, const struct apist_audit_q *f,
                     int (*fn)(void *, const struct apist_audit *), void *arg)
{
    char sql[1024] = "SELECT a.id, a.time, COALESCE(a.site_id, 0), a.actor, a.action, a.target,"
                     " a.detail, s.name FROM audit a LEFT JOIN sites s ON s.id = a.site_id"
                     " WHERE 1";
    if (f->site_id)
        cat(sql, sizeof sql, " AND a.site_id = :site");
    if (f->since)
        cat(sql, sizeof sql, " AND a.time >= :since");
    if (f->actor)
        cat(sql, sizeof sql, " AND a.actor = :actor");
    if (f->action)
        cat(sql, sizeof sql, " AND a.action = :action");
    if (f->before_id)
        cat(sql, sizeof sql, " AND a.id < :before");
    cat(sql, sizeof sql, " ORDER BY a.id DESC LIMIT :limit");
    sqlite3_stmt *q = prep(st, sql);
    if (!q)
        return MAMORI_EIO;
    if (f->site_id)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":site"), f->site_id);
    if (f->since)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":since"), f->since);
    if (f->actor)
        bind_text(q, sqlite3_bind_parameter_index(q, ":actor"), f->actor);
    if (f->action)
        bind_text(q, sqlite3_bind_parameter_index(q, ":action"), f->action);
    if (f->before_id)
        sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":before"), f->before_id);
    sqlite3_bind_int(q, sqlite3_bind_parameter_index(q, ":limit"), f->limit);
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        struct apist_audit a = {
            .id = sqlite3_column_int64(q, 0),
            .time = sqlite3_column_int64(q, 1),
            .site_id = sqlite3_column_int64(q, 2),
            .actor = (const char *)sqlite3_column_text(q, 3),
            .action = (const char *)sqlite3_column_text(q, 4),
            .target = (const char *)sqlite3_column_text(q, 5),
            .detail = (const char *)sqlite3_column_text(q, 6),
            .site = (const char *)sqlite3_column_text(q, 7),
        };
        if (fn(arg, &a))
            break;
    }
    return done(st, q, r, "list audit records");
}

int apist_audit_add(struct store *st, int64_t now, const char *actor, const char *action,
                    const char *target, const char *detail, int64_t site_id)
{
    sqlite3_stmt *q = prep(st, "INSERT INTO audit(time, actor, action, target, detail, site_id)"
                               " VALUES(?, ?, ?, ?, ?, ?)");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_int64(q, 1, now);
    bind_text(q, 2, actor);
    bind_text(q, 3, action);
    bind_text(q, 4, target);
    bind_text(q, 5, detail);
    if (site_id)
        sqlite3_bind_int64(q, 6, site_id);
    return done(st, q, sqlite3_step(q), "add audit record");
}
