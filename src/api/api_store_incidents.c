/* api_store_incidents.c - the API's SQL for incidents and response
 * commands (see api_incidents.h). WHERE clauses are built from constant
 * fragments only; every value is bound. Lists are keyset pages by id,
 * newest first (indexes incidents_site_id, incidents_site_status_id,
 * incidents_status_id, incidents_host_id, incidents_severity_id of schema
 * v6; commands by (host_id, id) through its primary key order). */
#include <stdio.h>
#include <string.h>

#include "api/api_incidents.h"
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

static void cat(char *sql, size_t sz, const char *frag)
{
    size_t l = strlen(sql);
    snprintf(sql + l, sz - l, "%s", frag);
}

static int bind_idx(sqlite3_stmt *q, const char *name)
{
    return sqlite3_bind_parameter_index(q, name);
}

/* ----------------------------------------------------------- incidents -- */

int apist_incidents(struct store *st, const struct apist_incident_q *f,
                    int (*fn)(void *, const struct incident_row *), void *arg)
{
    char sql[2048] = "SELECT " INCIDENT_COLS " WHERE 1";
    if (f->site_id)
        cat(sql, sizeof sql, " AND i.site_id = :site");
    if (f->host_id)
        cat(sql, sizeof sql,
            " AND (i.host_id = :host OR i.id IN (SELECT DISTINCT outbreak_id FROM alerts"
            " WHERE host_id = :host AND outbreak_id IS NOT NULL))");
    if (f->status)
        cat(sql, sizeof sql, " AND i.status = :status");
    if (f->nsev) {
        static const char *const sv[APII_SEV_MAX] = {":s0", ":s1", ":s2", ":s3", ":s4"};
        cat(sql, sizeof sql, " AND i.severity IN (");
        for (int i = 0; i < f->nsev && i < APII_SEV_MAX; i++) {
            cat(sql, sizeof sql, i ? ", " : "");
            cat(sql, sizeof sql, sv[i]);
        }
        cat(sql, sizeof sql, ")");
    }
    if (f->after_rev) {
        cat(sql, sizeof sql, " AND i.rev > :after ORDER BY i.rev LIMIT :limit");
    } else {
        if (f->before_id)
            cat(sql, sizeof sql, " AND i.id < :before");
        cat(sql, sizeof sql, " ORDER BY i.id DESC LIMIT :limit");
    }
    sqlite3_stmt *q = prep(st, sql);
    if (!q)
        return MAMORI_EIO;
    if (f->site_id)
        sqlite3_bind_int64(q, bind_idx(q, ":site"), f->site_id);
    if (f->host_id)
        bind_text(q, bind_idx(q, ":host"), f->host_id);
    if (f->status)
        bind_text(q, bind_idx(q, ":status"), f->status);
    for (int i = 0; i < f->nsev && i < APII_SEV_MAX; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, ":s%d", i);
        bind_text(q, bind_idx(q, nm), f->sev[i]);
    }
    if (f->after_rev)
        sqlite3_bind_int64(q, bind_idx(q, ":after"), f->after_rev);
    else if (f->before_id)
        sqlite3_bind_int64(q, bind_idx(q, ":before"), f->before_id);
    sqlite3_bind_int(q, bind_idx(q, ":limit"), f->limit);
    int r;
    struct incident_row row;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        incident_from_row(q, &row);
        if (fn(arg, &row))
            break;
    }
    return done(st, q, r, "list incidents");
}

int64_t apist_incident_max_rev(struct store *st)
{
    sqlite3_stmt *q = prep(st, "SELECT COALESCE(MAX(rev), 0) FROM incidents");
    if (!q)
        return MAMORI_EIO;
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : fail(st, "max rev");
    sqlite3_finalize(q);
    return v;
}

int apist_incident_alerts(struct store *st, const struct incident_row *r, int limit,
                          int (*fn)(void *, const struct alert_row *), void *arg)
{
    bool ob = !strcmp(r->kind, "outbreak");
    sqlite3_stmt *q = prep(st, ob ? "SELECT a.id, a.site_id, a.time, a.host_id, s.name, h.hostname,"
                                    " a.kind, a.severity, a.summary, a.body, COALESCE(a.seq, 0)"
                                    " FROM alerts a LEFT JOIN sites s ON s.id = a.site_id"
                                    " LEFT JOIN hosts h ON h.id = a.host_id"
                                    " WHERE a.outbreak_id = ? ORDER BY a.time, a.id LIMIT ?"
                                  : "SELECT a.id, a.site_id, a.time, a.host_id, s.name, h.hostname,"
                                    " a.kind, a.severity, a.summary, a.body, COALESCE(a.seq, 0)"
                                    " FROM alerts a LEFT JOIN sites s ON s.id = a.site_id"
                                    " LEFT JOIN hosts h ON h.id = a.host_id"
                                    " WHERE a.incident_id = ? ORDER BY a.time, a.id LIMIT ?");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_int64(q, 1, r->id);
    sqlite3_bind_int(q, 2, limit);
    int x;
    while ((x = sqlite3_step(q)) == SQLITE_ROW) {
        struct alert_row a = {
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
        };
        if (fn(arg, &a))
            break;
    }
    return done(st, q, x, "list an incident's alerts");
}

/* ------------------------------------------------------------ commands -- */

#define CMD_COLS                                                                                   \
    "c.id, c.uid, c.host_id, COALESCE(h.hostname, ''), c.action, COALESCE(c.arg, ''),"             \
    " c.created_by, c.created, COALESCE(c.sent, 0), COALESCE(c.done, 0), c.status,"                \
    " COALESCE(c.message, '') FROM commands c LEFT JOIN hosts h ON h.id = c.host_id"

static void cmd_from(sqlite3_stmt *q, struct cmd_row *r)
{
    static const char *const STATUS[] = {"pending", "sent", "ok", "failed"};
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    col_copy(q, 1, r->uid, sizeof r->uid);
    col_copy(q, 2, r->host_id, sizeof r->host_id);
    col_copy(q, 3, r->hostname, sizeof r->hostname);
    const char *a = (const char *)sqlite3_column_text(q, 4);
    if (!a || cmd_action_parse(a, &r->action) < 0)
        r->action = CMD_NACTIONS;
    col_copy(q, 5, r->arg, sizeof r->arg);
    col_copy(q, 6, r->created_by, sizeof r->created_by);
    r->created = sqlite3_column_int64(q, 7);
    r->sent = sqlite3_column_int64(q, 8);
    r->done = sqlite3_column_int64(q, 9);
    const char *s = (const char *)sqlite3_column_text(q, 10);
    r->status = CMDST_FAILED;
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, STATUS[i]))
            r->status = (enum cmd_status)i;
    col_copy(q, 11, r->message, sizeof r->message);
}

static int cmd_rows(struct store *st, sqlite3_stmt *q, int (*fn)(void *, const struct cmd_row *),
                    void *arg, const char *what)
{
    if (!q)
        return MAMORI_EIO;
    int x;
    struct cmd_row r;
    while ((x = sqlite3_step(q)) == SQLITE_ROW) {
        cmd_from(q, &r);
        if (fn(arg, &r))
            break;
    }
    return done(st, q, x, what);
}

int apist_incident_commands(struct store *st, const struct incident_row *r, int64_t until,
                            int limit, int (*fn)(void *, const struct cmd_row *), void *arg)
{
    sqlite3_stmt *q;
    if (r->host_id[0]) {
        q = prep(st, "SELECT " CMD_COLS " WHERE c.host_id = ?1 AND c.created >= ?2"
                     " AND c.created <= ?3 ORDER BY c.id LIMIT ?4");
        if (q)
            bind_text(q, 1, r->host_id);
    } else {
        q = prep(st, "SELECT " CMD_COLS " WHERE c.host_id IN (SELECT DISTINCT host_id FROM alerts"
                     " WHERE outbreak_id = ?5) AND c.created >= ?2 AND c.created <= ?3"
                     " ORDER BY c.id LIMIT ?4");
        if (q)
            sqlite3_bind_int64(q, 5, r->id);
    }
    if (q) {
        sqlite3_bind_int64(q, 2, r->first);
        sqlite3_bind_int64(q, 3, until);
        sqlite3_bind_int(q, 4, limit);
    }
    return cmd_rows(st, q, fn, arg, "list an incident's commands");
}

int apist_host_commands(struct store *st, const char *host_id, int64_t before_id, int limit,
                        int (*fn)(void *, const struct cmd_row *), void *arg)
{
    sqlite3_stmt *q = prep(st, "SELECT " CMD_COLS " WHERE c.host_id = ?1"
                               " AND (?2 = 0 OR c.id < ?2) ORDER BY c.id DESC LIMIT ?3");
    if (q) {
        bind_text(q, 1, host_id);
        sqlite3_bind_int64(q, 2, before_id);
        sqlite3_bind_int(q, 3, limit);
    }
    return cmd_rows(st, q, fn, arg, "list a host's commands");
}

int apist_command_audit_site(struct store *st, const char *uid, int64_t site_id)
{
    sqlite3_stmt *q = prep(st, "UPDATE audit SET site_id = ? WHERE action = 'command'"
                               " AND target = ? AND site_id IS NULL");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_int64(q, 1, site_id);
    bind_text(q, 2, uid);
    return done(st, q, sqlite3_step(q), "set the command audit row's site");
}
