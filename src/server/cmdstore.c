/* cmdstore.c - the `commands` table: add, list, mark sent, store results
 * (see cmdstore.h). SQL in, struct cmd_row out. */
#include "server/cmdstore.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static const char *const STATUS[] = {"pending", "sent", "ok", "failed"};

const char *cmd_status_name(enum cmd_status st)
{
    return (unsigned)st < 4 ? STATUS[st] : "?";
}

static int fail(struct store *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "%.200s: %s", what,
             s->db ? sqlite3_errmsg(s->db) : "no database");
    return MAMORI_EIO;
}

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(s, "prepare command query");
        return NULL;
    }
    return st;
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

static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return MAMORI_EIO;
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, what);
    sqlite3_finalize(st);
    return rc;
}

int cmdstore_add(struct store *s, const char *host_id, enum cmd_action a, const char *arg,
                 const char *by, int64_t now, char uid_out[CMD_ID_MAX])
{
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1) {
        snprintf(s->err, sizeof s->err, "no random bytes for a command id");
        return MAMORI_EIO;
    }
    char uid[CMD_ID_MAX] = "c-";
    for (int i = 0; i < 8; i++)
        snprintf(uid + 2 + 2 * i, 3, "%02x", r[i]);
    if (store_begin(s) < 0)
        return MAMORI_EIO;
    sqlite3_stmt *st = prep(s, "INSERT INTO commands(uid, host_id, action, arg, created,"
                               " created_by) VALUES(?, ?, ?, ?, ?, ?)");
    if (st) {
        bind_text(st, 1, uid);
        bind_text(st, 2, host_id);
        bind_text(st, 3, cmd_action_name(a));
        bind_text(st, 4, arg);
        sqlite3_bind_int64(st, 5, now);
        bind_text(st, 6, by);
    }
    char detail[256];
    snprintf(detail, sizeof detail, "%s %s%s%s", host_id, cmd_action_name(a), arg ? " " : "",
             arg ? arg : "");
    if (step_done(s, st, "add command") < 0 || store_audit(s, now, by, "command", uid, detail) < 0 ||
        store_commit(s) < 0) {
        store_rollback(s);
        return MAMORI_EIO;
    }
    memcpy(uid_out, uid, CMD_ID_MAX);
    return 0;
}

#define CMD_COLS                                                                                   \
    "c.id, c.uid, c.host_id, COALESCE(h.hostname, ''), c.action, COALESCE(c.arg, ''),"             \
    " c.created_by, c.created, COALESCE(c.sent, 0), COALESCE(c.done, 0), c.status,"                \
    " COALESCE(c.message, '') FROM commands c LEFT JOIN hosts h ON h.id = c.host_id"

static void row_from(sqlite3_stmt *st, struct cmd_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, r->uid, sizeof r->uid);
    col_copy(st, 2, r->host_id, sizeof r->host_id);
    col_copy(st, 3, r->hostname, sizeof r->hostname);
    const char *a = (const char *)sqlite3_column_text(st, 4);
    if (!a || cmd_action_parse(a, &r->action) < 0)
        r->action = CMD_NACTIONS;
    col_copy(st, 5, r->arg, sizeof r->arg);
    col_copy(st, 6, r->created_by, sizeof r->created_by);
    r->created = sqlite3_column_int64(st, 7);
    r->sent = sqlite3_column_int64(st, 8);
    r->done = sqlite3_column_int64(st, 9);
    const char *status = (const char *)sqlite3_column_text(st, 10);
    r->status = CMDST_FAILED;
    for (int i = 0; status && i < 4; i++)
        if (!strcmp(status, STATUS[i]))
            r->status = (enum cmd_status)i;
    col_copy(st, 11, r->message, sizeof r->message);
}

/* Step a query of CMD_COLS rows, calling fn for each; finalizes it. */
static int each_row(struct store *s, sqlite3_stmt *st, int (*fn)(void *, const struct cmd_row *),
                    void *arg)
{
    if (!st)
        return MAMORI_EIO;
    struct cmd_row r;
    int x;
    while ((x = sqlite3_step(st)) == SQLITE_ROW) {
        row_from(st, &r);
        if (fn(arg, &r))
            break;
    }
    int rc = x == SQLITE_ROW || x == SQLITE_DONE ? 0 : fail(s, "list commands");
    sqlite3_finalize(st);
    return rc;
}

int cmdstore_get(struct store *s, const char *uid, struct cmd_row *out)
{
    sqlite3_stmt *st = prep(s, "SELECT " CMD_COLS " WHERE c.uid = ?");
    if (!st)
        return MAMORI_EIO;
    bind_text(st, 1, uid);
    int x = sqlite3_step(st), rc = 0;
    if (x == SQLITE_ROW) {
        row_from(st, out);
    } else if (x == SQLITE_DONE) {
        snprintf(s->err, sizeof s->err, "no command with id '%.40s'", uid);
        rc = MAMORI_ENOENT;
    } else {
        rc = fail(s, "find command");
    }
    sqlite3_finalize(st);
    return rc;
}

int cmdstore_each(struct store *s, const char *host_id, bool open_only,
                  int (*fn)(void *, const struct cmd_row *), void *arg)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " CMD_COLS " WHERE (?1 IS NULL OR c.host_id = ?1)%s"
             " ORDER BY c.id",
             open_only ? " AND c.status IN ('pending','sent')" : "");
    sqlite3_stmt *st = prep(s, sql);
    if (st)
        bind_text(st, 1, host_id);
    return each_row(s, st, fn, arg);
}

int cmdstore_pending_each(struct store *s, int (*fn)(void *, const struct cmd_row *), void *arg)
{
    return each_row(s, prep(s, "SELECT " CMD_COLS " WHERE c.status = 'pending' ORDER BY c.id"),
                    fn, arg);
}

int cmdstore_mark_sent(struct store *s, const char *uid, int64_t now)
{
    sqlite3_stmt *st =
        prep(s, "UPDATE commands SET status = 'sent', sent = ? WHERE uid = ? AND status = 'pending'");
    if (st) {
        sqlite3_bind_int64(st, 1, now);
        bind_text(st, 2, uid);
    }
    return step_done(s, st, "mark command sent");
}

int cmdstore_result(struct store *s, const char *uid, const char *host_id, bool ok,
                    const char *message, int64_t now)
{
    if (store_begin(s) < 0)
        return MAMORI_EIO;
    sqlite3_stmt *st = prep(s, "UPDATE commands SET status = ?, done = ?, message = ?"
                               " WHERE uid = ? AND host_id = ? AND status IN ('pending','sent')");
    if (st) {
        bind_text(st, 1, ok ? "ok" : "failed");
        sqlite3_bind_int64(st, 2, now);
        bind_text(st, 3, message);
        bind_text(st, 4, uid);
        bind_text(st, 5, host_id);
    }
    if (step_done(s, st, "store command result") < 0) {
        store_rollback(s);
        return MAMORI_EIO;
    }
    if (sqlite3_changes(s->db) == 0) {
        store_rollback(s);
        struct cmd_row r;
        int rc = cmdstore_get(s, uid, &r);
        if (rc == MAMORI_EIO)
            return rc;
        if (rc == 0 && !strcmp(r.host_id, host_id))
            return MAMORI_EEXIST;
        snprintf(s->err, sizeof s->err, "host %.30s has no command '%.40s'", host_id, uid);
        return MAMORI_ENOENT;
    }
    char detail[CMD_MSG_MAX + 64];
    snprintf(detail, sizeof detail, "%s %s: %s", host_id, ok ? "ok" : "failed", message);
    if (store_audit(s, now, "agent", "command_result", uid, detail) < 0 || store_commit(s) < 0) {
        store_rollback(s);
        return MAMORI_EIO;
    }
    return 0;
}
