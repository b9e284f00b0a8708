/* outbox.c - the deliveries table's queries (see outbox.h). */
#include "deliver/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define SEV_RANK                                                                                   \
    "(CASE a.severity WHEN 'info' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2"                   \
    " WHEN 'high' THEN 3 WHEN 'critical' THEN 4 ELSE 2 END)"

static int dbfail(struct store *st, const char *what)
{
    snprintf(st->err, sizeof st->err, "%s: %s", what, sqlite3_errmsg(st->db));
    return MAMORI_EIO;
}

static int exec1(struct store *st, const char *sql, const char *what)
{
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : dbfail(st, what);
}

void ojob_free(struct ojob *j)
{
    if (!j)
        return;
    for (int i = 0; i < 7; i++)
        free(j->strs[i]);
    free(j);
}

int outbox_enqueue(struct store *st, int64_t now, int *added)
{
    *added = 0;
    if (exec1(st, "BEGIN IMMEDIATE", "queue deliveries") < 0)
        return MAMORI_EIO;
    sqlite3_stmt *q = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR IGNORE INTO deliveries(route_id, alert_id, created, next_try)"
                           " SELECT r.id, a.id, ?1, ?1 FROM routes r JOIN alerts a"
                           " ON a.id > r.after_alert AND (r.site_id IS NULL OR r.site_id = a.site_id)"
                           " AND " SEV_RANK " >= r.min_rank WHERE r.disabled IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        rc = dbfail(st, "queue deliveries");
    if (rc == 0) {
        sqlite3_bind_int64(q, 1, now);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : dbfail(st, "queue deliveries");
        *added = sqlite3_changes(st->db);
    }
    sqlite3_finalize(q);
    if (rc == 0)
        rc = exec1(st,
                   "UPDATE routes SET after_alert = (SELECT COALESCE(MAX(id), 0) FROM alerts)"
                   " WHERE disabled IS NULL AND after_alert < (SELECT COALESCE(MAX(id), 0) FROM alerts)",
                   "queue deliveries");
    if (rc == 0)
        rc = exec1(st, "COMMIT", "queue deliveries");
    if (rc < 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        *added = 0;
    }
    return rc;
}

static int run1(struct store *st, const char *sql, int64_t a, int64_t b, const char *s,
                const char *what)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return dbfail(st, what);
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    if (s)
        sqlite3_bind_text(q, 3, s, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : dbfail(st, what);
    sqlite3_finalize(q);
    return rc;
}

int outbox_resume(struct store *st, int64_t now)
{
    return run1(st, "UPDATE deliveries SET next_try = ?1 WHERE status = 'pending' AND next_try > ?1"
                    " AND ?2 = ?2",
                now, 0, NULL, "resume deliveries");
}

int outbox_attempt(struct store *st, int64_t did, int64_t next_try)
{
    return run1(st, "UPDATE deliveries SET attempts = attempts + 1, next_try = ?2 WHERE id = ?1",
                did, next_try, NULL, "mark delivery attempt");
}

int outbox_sent(struct store *st, int64_t did, int64_t now)
{
    return run1(st, "UPDATE deliveries SET status = 'sent', sent_at = ?2, last_error = NULL"
                    " WHERE id = ?1",
                did, now, NULL, "mark delivery sent");
}

int outbox_failed(struct store *st, int64_t did, const char *err, bool give_up)
{
    return run1(st,
                give_up ? "UPDATE deliveries SET status = 'failed', last_error = ?3"
                          " WHERE id = ?1 AND ?2 = ?2"
                        : "UPDATE deliveries SET last_error = ?3 WHERE id = ?1 AND ?2 = ?2",
                did, 0, err, "record delivery failure");
}

int outbox_prune(struct store *st, int64_t before, int limit, int *n)
{
    *n = 0;
    int rc = run1(st,
                  "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
                  " WHERE status != 'pending' AND created < ?1 ORDER BY id LIMIT ?2)",
                  before, limit, NULL, "prune deliveries");
    if (rc == 0)
        *n = sqlite3_changes(st->db);
    return rc;
}

int64_t outbox_next_due(struct store *st)
{
    sqlite3_stmt *q = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT MIN(d.next_try) FROM deliveries d JOIN routes r ON r.id = d.route_id"
                           " WHERE d.status = 'pending' AND r.disabled IS NULL",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static char *dupcol(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? strdup((const char *)t) : NULL;
}

int outbox_due(struct store *st, int64_t now, int limit, int (*fn)(void *, struct ojob *),
               void *arg)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(
            st->db,
            "SELECT d.id, d.created, d.attempts, r.id, COALESCE(r.site_id, 0), r.kind, r.target,"
            " r.options, r.min_rank, a.id, a.time, a.host_id, h.hostname, s.name, a.kind,"
            " a.severity, a.summary, a.body"
            " FROM deliveries d JOIN routes r ON r.id = d.route_id JOIN alerts a ON a.id = d.alert_id"
            " LEFT JOIN hosts h ON h.id = a.host_id LEFT JOIN sites s ON s.id = a.site_id"
            " WHERE d.id IN (SELECT MIN(x.id) FROM deliveries x WHERE x.status = 'pending'"
            " AND x.next_try <= ?1 GROUP BY x.route_id) AND r.disabled IS NULL"
            " ORDER BY d.next_try, d.id LIMIT ?2",
            -1, &q, NULL) != SQLITE_OK)
        return dbfail(st, "read due deliveries");
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int(q, 2, limit);
    int s;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        struct ojob *j = calloc(1, sizeof *j);
        if (!j)
            break;
        j->did = sqlite3_column_int64(q, 0);
        j->created = sqlite3_column_int64(q, 1);
        j->attempts = sqlite3_column_int(q, 2);
        j->r.id = sqlite3_column_int64(q, 3);
        j->r.site_id = sqlite3_column_int64(q, 4);
        if (route_kind_parse((const char *)sqlite3_column_text(q, 5), &j->r.kind) < 0)
            j->r.kind = RK_WEBHOOK;
        snprintf(j->r.target, sizeof j->r.target, "%s", (const char *)sqlite3_column_text(q, 6));
        const unsigned char *o = sqlite3_column_text(q, 7);
        snprintf(j->r.options, sizeof j->r.options, "%s", o ? (const char *)o : "{}");
        j->r.min_rank = sqlite3_column_int(q, 8);
        j->a.id = sqlite3_column_int64(q, 9);
        j->a.time = sqlite3_column_int64(q, 10);
        for (int i = 0; i < 7; i++)
            j->strs[i] = dupcol(q, 11 + i);
        j->a.host_id = j->strs[0];
        j->a.hostname = j->strs[1];
        j->a.site = j->strs[2];
        j->a.kind = j->strs[3];
        j->a.severity = j->strs[4];
        j->a.summary = j->strs[5];
        j->a.body = j->strs[6];
        if (fn(arg, j))
            break;
    }
    int rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : dbfail(st, "read due deliveries");
    sqlite3_finalize(q);
    return rc;
}

int outbox_each_for_alert(struct store *st, int64_t alert_id,
                          int (*fn)(void *, const struct dlv_row *), void *arg)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT d.route_id, d.alert_id, d.created, d.next_try,"
                           " COALESCE(d.sent_at, 0), d.attempts, d.status, d.last_error, r.kind,"
                           " r.target FROM deliveries d JOIN routes r ON r.id = d.route_id"
                           " WHERE d.alert_id = ? ORDER BY d.route_id",
                           -1, &q, NULL) != SQLITE_OK)
        return dbfail(st, "list deliveries");
    sqlite3_bind_int64(q, 1, alert_id);
    int s;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        struct dlv_row d = {
            .route_id = sqlite3_column_int64(q, 0),
            .alert_id = sqlite3_column_int64(q, 1),
            .created = sqlite3_column_int64(q, 2),
            .next_try = sqlite3_column_int64(q, 3),
            .sent_at = sqlite3_column_int64(q, 4),
            .attempts = sqlite3_column_int(q, 5),
            .status = (const char *)sqlite3_column_text(q, 6),
            .last_error = (const char *)sqlite3_column_text(q, 7),
            .kind = (const char *)sqlite3_column_text(q, 8),
            .target = (const char *)sqlite3_column_text(q, 9),
        };
        if (fn(arg, &d))
            break;
    }
    int rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : dbfail(st, "list deliveries");
    sqlite3_finalize(q);
    return rc;
}
