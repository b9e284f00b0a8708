/* route.c - route checks, masking and the routes table (see route.h). */
#include "deliver/route.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"
#include "deliver/alert_text.h"
#include "deliver/url.h"

static const char *const KINDS[] = {"webhook", "slack", "teams", "syslog", "email"};

const char *route_kind_name(enum route_kind k)
{
    return (unsigned)k < 5 ? KINDS[k] : "webhook";
}

int route_kind_parse(const char *s, enum route_kind *out)
{
    for (int i = 0; s && i < 5; i++)
        if (!strcmp(s, KINDS[i])) {
            *out = (enum route_kind)i;
            return 0;
        }
    return MAMORI_EINVAL;
}

/* ------------------------------------------------------------- options -- */

static int opt_str(json_object *j, const char *key, char *out, size_t outsz, char *err,
                   size_t errsz)
{
    json_object *v;
    out[0] = '\0';
    if (!json_object_object_get_ex(j, key, &v))
        return 0;
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (!s || strlen(s) >= outsz) {
        snprintf(err, errsz, "route option '%s': expected a string of at most %zu bytes", key,
                 outsz - 1);
        return MAMORI_EINVAL;
    }
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errsz, "route option '%s': control characters are not allowed", key);
            return MAMORI_EINVAL;
        }
    snprintf(out, outsz, "%s", s);
    return 0;
}

int route_opts_parse(const char *json, struct route_opts *o, char *err, size_t errsz)
{
    static const char *const known[] = {"ca", "from", "to", "user", "password", "starttls", NULL};
    memset(o, 0, sizeof *o);
    json_object *j = json_tokener_parse(json && json[0] ? json : "{}");
    if (!j || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        snprintf(err, errsz, "route options are not a JSON object");
        return MAMORI_EINVAL;
    }
    int rc = 0;
    json_object_object_foreach(j, key, val)
    {
        (void)val;
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = !strcmp(*k, key);
        if (!ok && rc == 0) {
            snprintf(err, errsz, "unknown route option '%.64s' (known: ca, from, to, user, "
                                 "password, starttls)", key);
            rc = MAMORI_EINVAL;
        }
    }
    if (rc == 0)
        rc = opt_str(j, "ca", o->ca, sizeof o->ca, err, errsz);
    if (rc == 0)
        rc = opt_str(j, "from", o->from, sizeof o->from, err, errsz);
    if (rc == 0)
        rc = opt_str(j, "to", o->to, sizeof o->to, err, errsz);
    if (rc == 0)
        rc = opt_str(j, "user", o->user, sizeof o->user, err, errsz);
    if (rc == 0)
        rc = opt_str(j, "password", o->password, sizeof o->password, err, errsz);
    json_object *v;
    if (rc == 0 && json_object_object_get_ex(j, "starttls", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            snprintf(err, errsz, "route option 'starttls': expected true or false");
            rc = MAMORI_EINVAL;
        } else {
            o->starttls = json_object_get_boolean(v);
        }
    }
    json_object_put(j);
    return rc;
}

/* One address: local@domain, printable, no spaces, brackets or separators. */
static bool addr_ok(const char *a, size_t n)
{
    const char *at = memchr(a, '@', n);
    if (!at || at == a || at == a + n - 1 || n >= ROUTE_ADDR_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a[i] <= 0x20 || a[i] == 0x7f || strchr("<>,;:\"()[]\\", a[i]))
            return false;
    return memchr(at + 1, '@', n - (size_t)(at + 1 - a)) == NULL;
}

static bool addr_list_ok(const char *s)
{
    if (!s[0])
        return false;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (!addr_ok(s, n))
            return false;
        s += n;
        if (*s == ',')
            s++;
        if (!*s && s[-1] == ',')
            return false;
    }
    return true;
}

int route_check(const struct route *r, char *err, size_t errsz)
{
    struct url u;
    char why[200];
    if (url_parse(r->target, &u, why, sizeof why) < 0) {
        snprintf(err, errsz, "%s target '%.200s': %s", route_kind_name(r->kind), r->target, why);
        return MAMORI_EINVAL;
    }
    const char *want = NULL;
    switch (r->kind) {
    case RK_WEBHOOK:
    case RK_SLACK:
    case RK_TEAMS:
        if (strcmp(u.scheme, "https") != 0 && strcmp(u.scheme, "http") != 0)
            want = "an https:// URL (http:// only for a receiver on a trusted network)";
        break;
    case RK_SYSLOG:
        if ((strcmp(u.scheme, "tcp") != 0 && strcmp(u.scheme, "tls") != 0) || !u.port ||
            u.path[0] || u.user[0])
            want = "tcp://HOST:PORT or tls://HOST:PORT (RFC 6587 / RFC 5425)";
        break;
    case RK_EMAIL:
        if ((strcmp(u.scheme, "smtp") != 0 && strcmp(u.scheme, "smtps") != 0) ||
            (u.path[0] && strcmp(u.path, "/") != 0) || u.user[0])
            want = "smtp://HOST[:PORT] or smtps://HOST[:PORT] (credentials go in --user and "
                   "--password-file)";
        break;
    }
    if (want) {
        char m[ROUTE_TARGET_MAX];
        route_masked_target(r, m, sizeof m);
        snprintf(err, errsz, "%s target '%.200s': expected %s", route_kind_name(r->kind), m, want);
        return MAMORI_EINVAL;
    }
    struct route_opts o;
    if (route_opts_parse(r->options, &o, err, errsz) < 0)
        return MAMORI_EINVAL;
    if (o.ca[0] && access(o.ca, R_OK) != 0) {
        snprintf(err, errsz, "CA file '%.200s' cannot be read", o.ca);
        return MAMORI_EINVAL;
    }
    if (r->kind == RK_EMAIL) {
        if (!addr_ok(o.from, strlen(o.from))) {
            snprintf(err, errsz, "e-mail route: --from must be one address such as "
                                 "mamori@example.org");
            return MAMORI_EINVAL;
        }
        if (!addr_list_ok(o.to)) {
            snprintf(err, errsz, "e-mail route: --to must be one or more addresses separated "
                                 "by commas");
            return MAMORI_EINVAL;
        }
        if (o.password[0] && !o.user[0]) {
            snprintf(err, errsz, "e-mail route: a password needs --user");
            return MAMORI_EINVAL;
        }
    } else if (o.from[0] || o.to[0] || o.user[0] || o.password[0] || o.starttls) {
        snprintf(err, errsz, "%s route: from, to, user, password and starttls are for e-mail "
                             "routes only", route_kind_name(r->kind));
        return MAMORI_EINVAL;
    }
    if (r->min_rank < 0 || r->min_rank > 4) {
        snprintf(err, errsz, "minimum severity must be info, low, medium, high or critical");
        return MAMORI_EINVAL;
    }
    return 0;
}

void route_masked_target(const struct route *r, char *out, size_t outsz)
{
    struct url u;
    char why[200];
    if (url_parse(r->target, &u, why, sizeof why) < 0) {
        snprintf(out, outsz, "(unreadable target)");
        return;
    }
    char port[16] = "";
    if (u.port)
        snprintf(port, sizeof port, ":%u", u.port);
    bool v6 = strchr(u.host, ':') != NULL;
    char first[64] = "";
    const char *p = u.path[0] == '/' ? u.path + 1 : u.path;
    size_t n = strcspn(p, "/");
    bool more = p[n] != '\0' || u.query;
    if (n && n < sizeof first && (more || r->kind == RK_SYSLOG || r->kind == RK_EMAIL))
        snprintf(first, sizeof first, "/%.*s", (int)n, p);
    snprintf(out, outsz, "%s://%s%s%s%s%s%s", u.scheme, v6 ? "[" : "", u.host, v6 ? "]" : "",
             port, first, (n && !first[0]) || more ? "/..." : "");
}

int route_json(const struct route *r, char *out, size_t outsz)
{
    json_object *o = json_object_new_object();
    char m[ROUTE_TARGET_MAX], when[40];
    route_masked_target(r, m, sizeof m);
    dtime_fmt(r->created, when, sizeof when);
    static const char *const SEV[] = {"info", "low", "medium", "high", "critical"};
    json_object_object_add(o, "id", json_object_new_int64(r->id));
    json_object_object_add(o, "site", r->site_id ? json_object_new_string(r->site) : NULL);
    json_object_object_add(o, "kind", json_object_new_string(route_kind_name(r->kind)));
    json_object_object_add(o, "target", json_object_new_string(m));
    json_object_object_add(o, "min_severity",
                           json_object_new_string(SEV[r->min_rank >= 0 && r->min_rank < 5 ? r->min_rank : 0]));
    struct route_opts op;
    char e[200];
    if (route_opts_parse(r->options, &op, e, sizeof e) == 0) {
        if (op.ca[0])
            json_object_object_add(o, "ca", json_object_new_string(op.ca));
        if (op.from[0])
            json_object_object_add(o, "from", json_object_new_string(op.from));
        if (op.to[0])
            json_object_object_add(o, "to", json_object_new_string(op.to));
        if (op.user[0])
            json_object_object_add(o, "user", json_object_new_string(op.user));
        if (op.password[0])
            json_object_object_add(o, "password", json_object_new_string("(set)"));
        if (r->kind == RK_EMAIL)
            json_object_object_add(o, "starttls", json_object_new_boolean(op.starttls));
    }
    json_object_object_add(o, "created", json_object_new_string(when));
    json_object_object_add(o, "created_by", json_object_new_string(r->created_by));
    if (r->disabled) {
        dtime_fmt(r->disabled, when, sizeof when);
        json_object_object_add(o, "removed", json_object_new_string(when));
    }
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = s && strlen(s) < outsz ? 0 : MAMORI_EFULL;
    if (rc == 0)
        snprintf(out, outsz, "%s", s);
    json_object_put(o);
    return rc;
}

/* ------------------------------------------------------------ database -- */

static int dbfail(struct store *st, const char *what)
{
    snprintf(st->err, sizeof st->err, "%s: %s", what, sqlite3_errmsg(st->db));
    return MAMORI_EIO;
}

static void col(sqlite3_stmt *q, int i, char *out, size_t outsz)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

#define ROUTE_COLS                                                                                 \
    "r.id, COALESCE(r.site_id, 0), COALESCE(s.name, ''), r.kind, r.target, r.options,"             \
    " r.min_rank, r.created, r.created_by, COALESCE(r.disabled, 0)"                                \
    " FROM routes r LEFT JOIN sites s ON s.id = r.site_id"

static void from_row(sqlite3_stmt *q, struct route *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    r->site_id = sqlite3_column_int64(q, 1);
    col(q, 2, r->site, sizeof r->site);
    if (route_kind_parse((const char *)sqlite3_column_text(q, 3), &r->kind) < 0)
        r->kind = RK_WEBHOOK;
    col(q, 4, r->target, sizeof r->target);
    col(q, 5, r->options, sizeof r->options);
    r->min_rank = sqlite3_column_int(q, 6);
    r->created = sqlite3_column_int64(q, 7);
    col(q, 8, r->created_by, sizeof r->created_by);
    r->disabled = sqlite3_column_int64(q, 9);
}

int route_add(struct store *st, struct route *r)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO routes(site_id, kind, target, options, min_rank,"
                           " after_alert, created, created_by) VALUES(?, ?, ?, ?, ?,"
                           " (SELECT COALESCE(MAX(id), 0) FROM alerts), ?, ?)",
                           -1, &q, NULL) != SQLITE_OK)
        return dbfail(st, "add route");
    if (r->site_id)
        sqlite3_bind_int64(q, 1, r->site_id);
    sqlite3_bind_text(q, 2, route_kind_name(r->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, r->options[0] ? r->options : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, r->min_rank);
    sqlite3_bind_int64(q, 6, r->created);
    sqlite3_bind_text(q, 7, r->created_by, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : dbfail(st, "add route");
    sqlite3_finalize(q);
    if (rc == 0)
        r->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int route_get(struct store *st, int64_t id, struct route *r)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT " ROUTE_COLS " WHERE r.id = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return dbfail(st, "read route");
    sqlite3_bind_int64(q, 1, id);
    int s = sqlite3_step(q), rc = 0;
    if (s == SQLITE_ROW)
        from_row(q, r);
    else if (s == SQLITE_DONE) {
        snprintf(st->err, sizeof st->err, "no route %lld (see mamori server route list)",
                 (long long)id);
        rc = MAMORI_ENOENT;
    } else
        rc = dbfail(st, "read route");
    sqlite3_finalize(q);
    return rc;
}

int route_each(struct store *st, bool all, int64_t site_id,
               int (*fn)(void *, const struct route *), void *arg)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " ROUTE_COLS " WHERE (?1 OR r.disabled IS NULL)"
                           " AND (?2 = 0 OR r.site_id IS NULL OR r.site_id = ?2) ORDER BY r.id",
                           -1, &q, NULL) != SQLITE_OK)
        return dbfail(st, "list routes");
    sqlite3_bind_int(q, 1, all);
    sqlite3_bind_int64(q, 2, site_id);
    int s;
    struct route r;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        from_row(q, &r);
        if (fn(arg, &r))
            break;
    }
    int rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : dbfail(st, "list routes");
    sqlite3_finalize(q);
    return rc;
}

int route_disable(struct store *st, int64_t id, int64_t now)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "UPDATE routes SET disabled = ? WHERE id = ? AND disabled IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return dbfail(st, "remove route");
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, id);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : dbfail(st, "remove route");
    sqlite3_finalize(q);
    if (rc == 0 && sqlite3_changes(st->db) != 1) {
        snprintf(st->err, sizeof st->err, "no active route %lld (see mamori server route list)",
                 (long long)id);
        return MAMORI_ENOENT;
    }
    if (rc == 0) {
        q = NULL;
        if (sqlite3_prepare_v2(st->db,
                               "UPDATE deliveries SET status = 'failed', last_error = 'route removed'"
                               " WHERE route_id = ? AND status = 'pending'",
                               -1, &q, NULL) != SQLITE_OK)
            return dbfail(st, "remove route");
        sqlite3_bind_int64(q, 1, id);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : dbfail(st, "remove route");
        sqlite3_finalize(q);
    }
    return rc;
}

int route_site_id(struct store *st, const char *name, int64_t *id)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT id FROM sites WHERE name = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return dbfail(st, "find site");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int s = sqlite3_step(q), rc = 0;
    if (s == SQLITE_ROW)
        *id = sqlite3_column_int64(q, 0);
    else if (s == SQLITE_DONE) {
        snprintf(st->err, sizeof st->err,
                 "no site named '%.64s' (a site exists once 'mamori server token --site' named it)",
                 name);
        rc = MAMORI_ENOENT;
    } else
        rc = dbfail(st, "find site");
    sqlite3_finalize(q);
    return rc;
}
