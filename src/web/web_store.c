/* web_store.c - the SQL of console users and sessions (tables of schema 5,
 * server/store.h). Rows enter and leave as struct web_user / web_sess;
 * every value is bound, never spliced. Functions return 0, MAMORI_ENOENT
 * (no such row) or MAMORI_EIO with the reason in st->err. */
#include <stdio.h>
#include <string.h>

#include "api/api_auth.h"
#include "core/err.h"
#include "web/web_int.h"

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

static void col_copy(sqlite3_stmt *q, int i, char *out, size_t outsz)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

/* Step a statement without rows; finalize. ENOENT when it changed nothing
 * and `must_change`. */
static int run(struct store *s, sqlite3_stmt *q, const char *what, bool must_change)
{
    if (!q)
        return MAMORI_EIO;
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(s, what);
    sqlite3_finalize(q);
    if (rc == 0 && must_change && sqlite3_changes(s->db) == 0) {
        snprintf(s->err, sizeof s->err, "%s: no such user", what);
        return MAMORI_ENOENT;
    }
    return rc;
}

#define USER_COLS                                                                                  \
    "u.id, u.name, u.role, u.site_id, IFNULL(s.name, ''), u.hash, u.created,"                      \
    " IFNULL(u.disabled, 0), u.failed_logins, u.locked_until, IFNULL(u.totp_secret, '')"

static void user_row(sqlite3_stmt *q, int c, struct web_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(q, c);
    col_copy(q, c + 1, u->name, sizeof u->name);
    char role[16];
    col_copy(q, c + 2, role, sizeof role);
    enum api_role r = ROLE_VIEWER;
    api_role_parse(role, &r);
    u->role = (int)r;
    u->site_id = sqlite3_column_int64(q, c + 3);
    col_copy(q, c + 4, u->site, sizeof u->site);
    col_copy(q, c + 5, u->hash, sizeof u->hash);
    u->created = sqlite3_column_int64(q, c + 6);
    u->disabled = sqlite3_column_int64(q, c + 7);
    u->failed_logins = sqlite3_column_int(q, c + 8);
    u->locked_until = sqlite3_column_int64(q, c + 9);
    col_copy(q, c + 10, u->totp, sizeof u->totp);
}

int webst_user_add(struct store *st, const struct web_user *u)
{
    sqlite3_stmt *q = prep(st, "INSERT INTO users(name, role, site_id, hash, created)"
                               " VALUES(?, ?, ?, ?, ?)");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_text(q, 1, u->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, api_role_name((enum api_role)u->role), -1, SQLITE_STATIC);
    if (u->site_id)
        sqlite3_bind_int64(q, 3, u->site_id);
    else
        sqlite3_bind_null(q, 3);
    sqlite3_bind_text(q, 4, u->hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, u->created);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r == SQLITE_CONSTRAINT) {
        snprintf(st->err, sizeof st->err, "a user named '%s' exists already", u->name);
        return MAMORI_EEXIST;
    }
    return r == SQLITE_DONE ? 0 : fail(st, "add user");
}

int webst_user_get(struct store *st, const char *name, struct web_user *out)
{
    sqlite3_stmt *q = prep(st, "SELECT " USER_COLS " FROM users u LEFT JOIN sites s"
                               " ON s.id = u.site_id WHERE u.name = ?");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q), rc = 0;
    if (r == SQLITE_ROW)
        user_row(q, 0, out);
    else
        rc = r == SQLITE_DONE ? MAMORI_ENOENT : fail(st, "read user");
    sqlite3_finalize(q);
    if (rc == MAMORI_ENOENT)
        snprintf(st->err, sizeof st->err, "no user named '%.64s'", name);
    return rc;
}

int webst_users_each(struct store *st, int (*fn)(void *, const struct web_user *), void *arg)
{
    sqlite3_stmt *q = prep(st, "SELECT " USER_COLS " FROM users u LEFT JOIN sites s"
                               " ON s.id = u.site_id ORDER BY u.name");
    if (!q)
        return MAMORI_EIO;
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        struct web_user u;
        user_row(q, 0, &u);
        if (fn(arg, &u) != 0)
            break;
    }
    int rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : fail(st, "list users");
    sqlite3_finalize(q);
    return rc;
}

int webst_user_set_hash(struct store *st, const char *name, const char *hash)
{
    sqlite3_stmt *q = prep(st, "UPDATE users SET hash = ?, failed_logins = 0, locked_until = 0"
                               " WHERE name = ?");
    if (q) {
        sqlite3_bind_text(q, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
    }
    return run(st, q, "set password", true);
}

int webst_user_disable(struct store *st, const char *name, int64_t now)
{
    sqlite3_stmt *q = prep(st, "UPDATE users SET disabled = ? WHERE name = ?");
    if (q) {
        sqlite3_bind_int64(q, 1, now);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
    }
    return run(st, q, "disable user", true);
}

int webst_user_set_totp(struct store *st, const char *name, const char *secret)
{
    sqlite3_stmt *q = prep(st, "UPDATE users SET totp_secret = ? WHERE name = ?");
    if (q) {
        if (secret)
            sqlite3_bind_text(q, 1, secret, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(q, 1);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
    }
    return run(st, q, "set the one-time-code secret", true);
}

int webst_user_failed(struct store *st, int64_t id, int failed, int64_t locked_until)
{
    sqlite3_stmt *q = prep(st, "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?");
    if (q) {
        sqlite3_bind_int(q, 1, failed);
        sqlite3_bind_int64(q, 2, locked_until);
        sqlite3_bind_int64(q, 3, id);
    }
    return run(st, q, "count failed logins", false);
}

int webst_session_add(struct store *st, const struct web_sess *s)
{
    sqlite3_stmt *q = prep(st, "INSERT INTO sessions(id, user_id, csrf, created, last_seen,"
                               " expires, ip, user_agent) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    if (q) {
        sqlite3_bind_blob(q, 1, s->id, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, s->user_id);
        sqlite3_bind_text(q, 3, s->csrf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 4, s->created);
        sqlite3_bind_int64(q, 5, s->last_seen);
        sqlite3_bind_int64(q, 6, s->expires);
        sqlite3_bind_text(q, 7, s->ip, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 8, s->ua, -1, SQLITE_TRANSIENT);
    }
    return run(st, q, "add session", false);
}

int webst_session_get(struct store *st, const uint8_t id[32], struct web_sess *out)
{
    sqlite3_stmt *q = prep(st, "SELECT x.user_id, x.csrf, x.created, x.last_seen, x.expires,"
                               " IFNULL(x.ip, ''), IFNULL(x.user_agent, ''), " USER_COLS
                               " FROM sessions x JOIN users u ON u.id = x.user_id"
                               " LEFT JOIN sites s ON s.id = u.site_id WHERE x.id = ?");
    if (!q)
        return MAMORI_EIO;
    sqlite3_bind_blob(q, 1, id, 32, SQLITE_TRANSIENT);
    int r = sqlite3_step(q), rc = 0;
    if (r == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        memcpy(out->id, id, 32);
        out->user_id = sqlite3_column_int64(q, 0);
        col_copy(q, 1, out->csrf, sizeof out->csrf);
        out->created = sqlite3_column_int64(q, 2);
        out->last_seen = sqlite3_column_int64(q, 3);
        out->expires = sqlite3_column_int64(q, 4);
        col_copy(q, 5, out->ip, sizeof out->ip);
        col_copy(q, 6, out->ua, sizeof out->ua);
        user_row(q, 7, &out->u);
    } else {
        rc = r == SQLITE_DONE ? MAMORI_ENOENT : fail(st, "read session");
    }
    sqlite3_finalize(q);
    return rc;
}

int webst_session_touch(struct store *st, const uint8_t id[32], int64_t now)
{
    sqlite3_stmt *q = prep(st, "UPDATE sessions SET last_seen = ? WHERE id = ?");
    if (q) {
        sqlite3_bind_int64(q, 1, now);
        sqlite3_bind_blob(q, 2, id, 32, SQLITE_TRANSIENT);
    }
    return run(st, q, "touch session", false);
}

int webst_session_del(struct store *st, const uint8_t id[32])
{
    sqlite3_stmt *q = prep(st, "DELETE FROM sessions WHERE id = ?");
    if (q)
        sqlite3_bind_blob(q, 1, id, 32, SQLITE_TRANSIENT);
    return run(st, q, "delete session", false);
}

int webst_sessions_del_user(struct store *st, int64_t user_id)
{
    sqlite3_stmt *q = prep(st, "DELETE FROM sessions WHERE user_id = ?");
    if (q)
        sqlite3_bind_int64(q, 1, user_id);
    return run(st, q, "delete the user's sessions", false);
}

int webst_sessions_prune(struct store *st, int64_t user_id, int keep, int64_t now)
{
    sqlite3_stmt *q = prep(st, "DELETE FROM sessions WHERE expires <= ? OR last_seen <= ?");
    if (q) {
        sqlite3_bind_int64(q, 1, now);
        sqlite3_bind_int64(q, 2, now - WEB_IDLE_MS);
    }
    int rc = run(st, q, "delete expired sessions", false);
    if (rc < 0)
        return rc;
    q = prep(st, "DELETE FROM sessions WHERE user_id = ?1 AND id NOT IN (SELECT id FROM sessions"
                 " WHERE user_id = ?1 ORDER BY created DESC LIMIT ?2)");
    if (q) {
        sqlite3_bind_int64(q, 1, user_id);
        sqlite3_bind_int(q, 2, keep);
    }
    return run(st, q, "bound the user's sessions", false);
}
