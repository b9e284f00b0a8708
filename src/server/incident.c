/* incident.c - alert correlation into incidents (rules in incident.h).
 *
 * An alert enters as a struct incident_alert right after its row was
 * inserted (same transaction); its keys come from its kind and body
 * (incident_keys, pure), the open incidents it may join are found through
 * the indexes of schema v6, and it leaves as alerts.incident_id /
 * outbreak_id / class and new or updated incidents rows. */
#include "server/incident.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"

static const char *const SEV[] = {"info", "low", "medium", "high", "critical"};

int incident_sev_rank(const char *sev)
{
    for (int i = 0; sev && i < 5; i++)
        if (!strcmp(sev, SEV[i]))
            return i;
    return -1;
}

const char *incident_sev_name(int rank)
{
    return SEV[rank < 0 ? 0 : rank > 4 ? 4 : rank];
}

/* ---------------------------------------------------------------- keys -- */

/* The guard's indicator names (guard/actor.c) by class, strongest first. */
static const struct {
    const char *cls;
    const char *const names[7];
} IND_CLASSES[] = {
    {"encryption",
     {"structured-to-random", "partial-encryption", "encoded-ciphertext", "file-type-broken",
      "encrypted-copy-original-deleted", "original-truncated", NULL}},
    {"ransom_note", {"ransom-note", NULL}},
    {"extension_rename", {"extension-rename", NULL}},
    {"decoy", {"decoy-touched", NULL}},
    {"lineage", {"same-program-as-stopped-encryptor", "starts-encryptors", NULL}},
};
#define NCLASSES (sizeof IND_CLASSES / sizeof IND_CLASSES[0])

static const char *get_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    return s && s[0] ? s : NULL;
}

/* The strongest class among the indicators (array of strings), or "other". */
static const char *indicator_class(json_object *arr)
{
    size_t best = NCLASSES;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n && i < 64; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *name =
            json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        for (size_t c = 0; name && c < best; c++)
            for (const char *const *p = IND_CLASSES[c].names; *p; p++)
                if (!strcmp(*p, name))
                    best = c;
    }
    return best < NCLASSES ? IND_CLASSES[best].cls : "other";
}

void incident_keys(const char *kind, const char *body, struct incident_keys *k)
{
    memset(k, 0, sizeof *k);
    kind = kind && kind[0] ? kind : "unknown";
    k->liveness = !strcmp(kind, "host_silent") || !strcmp(kind, "host_back");
    json_object *j = body ? json_tokener_parse(body) : NULL;
    if (j && !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        j = NULL;
    }
    const char *actor = j ? get_str(j, "actor_key") : NULL;
    const char *exe = j ? get_str(j, "exe") : NULL;
    const char *user = j ? get_str(j, "user") : NULL;
    const char *rule = j ? get_str(j, "rule_id") : NULL;
    if (!rule && j)
        rule = get_str(j, "rule");
    json_object *ind = NULL;
    if (j && json_object_object_get_ex(j, "indicators", &ind) &&
        json_object_is_type(ind, json_type_array))
        k->guard = true;
    if (exe)
        utf8_copy(k->exe, sizeof k->exe, exe);
    if (actor)
        snprintf(k->actor, sizeof k->actor, "actor:%.200s", actor);
    else if (exe)
        snprintf(k->actor, sizeof k->actor, "exe:%.200s user:%.64s", exe, user ? user : "?");
    else
        snprintf(k->actor, sizeof k->actor, "kind:%.63s", kind);
    if (rule)
        snprintf(k->cls, sizeof k->cls, "rule:%.200s", rule);
    else if (k->guard)
        snprintf(k->cls, sizeof k->cls, "guard:%s", indicator_class(ind));
    else
        snprintf(k->cls, sizeof k->cls, "kind:%.63s", kind);
    json_object_put(j);
}

/* ----------------------------------------------------------------- SQL -- */

static int fail(struct store *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "%.200s: %s", what, sqlite3_errmsg(s->db));
    return MAMORI_EIO;
}

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(s, "prepare incident query");
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

/* The statements of the correlation path, prepared once per connection and
 * kept in struct store (finalized by store_close). */
enum {
    Q_REV,
    Q_SET_INCIDENT,
    Q_SET_OUTBREAK,
    Q_UPDATE,
    Q_INSERT,
    Q_FIND_LIVE,
    Q_FIND_ACTOR,
    Q_OB_COUNT,
    Q_OB_GATHER,
    Q_SET_CLASS,
    Q_FIND_OB,
    Q_OB_SEEN,
    Q_COUNT
};
_Static_assert(Q_COUNT <= STORE_INCIDENT_STMTS, "struct store has too few incident statements");

static sqlite3_stmt *cached(struct store *s, int q, const char *sql)
{
    sqlite3_stmt **p = &s->incident[q];
    if (!*p &&
        sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, p, NULL) != SQLITE_OK) {
        fail(s, "prepare incident query");
        *p = NULL;
        return NULL;
    }
    sqlite3_reset(*p);
    sqlite3_clear_bindings(*p);
    return *p;
}

/* Step a cached statement that returns no rows; reset it. */
static int c_done(struct store *s, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return MAMORI_EIO;
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, what);
    sqlite3_reset(st);
    return rc;
}

static int next_rev(struct store *s, int64_t *rev)
{
    sqlite3_stmt *st = cached(s, Q_REV, "SELECT COALESCE(MAX(rev), 0) + 1 FROM incidents");
    if (!st)
        return MAMORI_EIO;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(s, "next incident revision");
    if (rc == 0)
        *rev = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc;
}

/* An open incident a new alert may join. */
struct open_inc {
    int64_t id, first, last, count, hosts;
    int sev;
};

/* Step a cached query of (id, first, last, alert_count, host_count,
 * severity): 1 found, 0 none, < 0 error. Resets it. */
static int find_one(struct store *s, sqlite3_stmt *st, struct open_inc *o)
{
    if (!st)
        return MAMORI_EIO;
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW) {
        o->id = sqlite3_column_int64(st, 0);
        o->first = sqlite3_column_int64(st, 1);
        o->last = sqlite3_column_int64(st, 2);
        o->count = sqlite3_column_int64(st, 3);
        o->hosts = sqlite3_column_int64(st, 4);
        o->sev = incident_sev_rank((const char *)sqlite3_column_text(st, 5));
        rc = 1;
    } else if (r != SQLITE_DONE) {
        rc = fail(s, "find open incident");
    }
    sqlite3_reset(st);
    return rc;
}

#define OPEN_COLS "SELECT id, first, last, alert_count, host_count, severity FROM incidents"

static int set_alert(struct store *s, bool outbreak, int64_t alert, int64_t inc)
{
    sqlite3_stmt *st = outbreak ? cached(s, Q_SET_OUTBREAK,
                                         "UPDATE alerts SET outbreak_id = ?"
                                         " WHERE id = ?")
                                : cached(s, Q_SET_INCIDENT,
                                         "UPDATE alerts SET incident_id = ?"
                                         " WHERE id = ?");
    if (st) {
        sqlite3_bind_int64(st, 1, inc);
        sqlite3_bind_int64(st, 2, alert);
    }
    return c_done(s, st, "link alert to incident");
}

static int update_inc(struct store *s, const struct open_inc *o, const char *title)
{
    int64_t rev;
    if (next_rev(s, &rev) < 0)
        return MAMORI_EIO;
    sqlite3_stmt *st = cached(s, Q_UPDATE,
                              "UPDATE incidents SET first = ?, last = ?, alert_count = ?,"
                              " host_count = ?, severity = ?, rev = ?,"
                              " title = COALESCE(?, title) WHERE id = ?");
    if (st) {
        sqlite3_bind_int64(st, 1, o->first);
        sqlite3_bind_int64(st, 2, o->last);
        sqlite3_bind_int64(st, 3, o->count);
        sqlite3_bind_int64(st, 4, o->hosts);
        bind_text(st, 5, incident_sev_name(o->sev));
        sqlite3_bind_int64(st, 6, rev);
        bind_text(st, 7, title);
        sqlite3_bind_int64(st, 8, o->id);
    }
    return c_done(s, st, "update incident");
}

static int insert_inc(struct store *s, int64_t site_id, const char *host_id, const char *kind,
                      const char *key, const char *title, const struct open_inc *o, int64_t *id)
{
    int64_t rev;
    if (next_rev(s, &rev) < 0)
        return MAMORI_EIO;
    sqlite3_stmt *st = cached(s, Q_INSERT,
                              "INSERT INTO incidents(site_id, host_id, kind, key, title,"
                              " severity, status, first, last, alert_count, host_count, rev)"
                              " VALUES(?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)");
    if (st) {
        sqlite3_bind_int64(st, 1, site_id);
        bind_text(st, 2, host_id);
        bind_text(st, 3, kind);
        bind_text(st, 4, key);
        bind_text(st, 5, title);
        bind_text(st, 6, incident_sev_name(o->sev));
        sqlite3_bind_int64(st, 7, o->first);
        sqlite3_bind_int64(st, 8, o->last);
        sqlite3_bind_int64(st, 9, o->count);
        sqlite3_bind_int64(st, 10, o->hosts);
        sqlite3_bind_int64(st, 11, rev);
    }
    if (c_done(s, st, "add incident") < 0)
        return MAMORI_EIO;
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static void widen(struct open_inc *o, int64_t t)
{
    if (t < o->first)
        o->first = t;
    if (t > o->last)
        o->last = t;
}

/* ------------------------------------------------------- host incident -- */

static void host_title(const struct incident_alert *a, const struct incident_keys *k, char *out,
                       size_t n)
{
    const char *who = a->hostname && a->hostname[0] ? a->hostname : a->host_id;
    /* each part cut between characters: titles are shown and delivered */
    const char *kind = a->kind ? a->kind : "alert";
    int kl = (int)utf8_cut(kind, strlen(kind), 63);
    if (k->exe[0])
        snprintf(out, n, "%.*s on %.*s by %.*s", kl, kind, (int)utf8_cut(who, strlen(who), 200),
                 who, (int)utf8_cut(k->exe, strlen(k->exe), 100), k->exe);
    else
        snprintf(out, n, "%.*s on %.*s", kl, kind, (int)utf8_cut(who, strlen(who), 250), who);
}

static int link_host(struct store *s, const struct incident_alert *a, const struct incident_keys *k,
                     struct incident_note *out)
{
    if (!a->host_id)
        return 0;
    sqlite3_stmt *st;
    if (k->liveness) {
        st = cached(s, Q_FIND_LIVE,
                    OPEN_COLS " WHERE kind = 'host' AND status = 'open'"
                              " AND host_id = ? ORDER BY last DESC LIMIT 1");
        if (st)
            bind_text(st, 1, a->host_id);
    } else {
        st = cached(s, Q_FIND_ACTOR,
                    OPEN_COLS " WHERE kind = 'host' AND status = 'open'"
                              " AND host_id = ? AND key = ? AND last >= ?"
                              " AND first <= ? ORDER BY last DESC LIMIT 1");
        if (st) {
            bind_text(st, 1, a->host_id);
            bind_text(st, 2, k->actor);
            sqlite3_bind_int64(st, 3, a->time - INCIDENT_ACTOR_WINDOW_MS);
            sqlite3_bind_int64(st, 4, a->time + INCIDENT_ACTOR_WINDOW_MS);
        }
    }
    struct open_inc o = {0};
    int found = find_one(s, st, &o);
    if (found < 0)
        return found;
    int sev = incident_sev_rank(a->severity);
    if (found) {
        widen(&o, a->time);
        o.count++;
        if (sev > o.sev)
            o.sev = sev;
        if (update_inc(s, &o, NULL) < 0)
            return MAMORI_EIO;
    } else {
        if (k->liveness && strcmp(a->kind, "host_silent") != 0)
            return 0; /* rule 2: host_back alone */
        char title[INCIDENT_TITLE_MAX];
        host_title(a, k, title, sizeof title);
        o = (struct open_inc){
            .first = a->time, .last = a->time, .count = 1, .hosts = 1, .sev = sev < 0 ? 0 : sev};
        if (insert_inc(s, a->site_id, a->host_id, "host", k->liveness ? "liveness" : k->actor,
                       title, &o, &o.id) < 0)
            return MAMORI_EIO;
        out->incident_new = true;
    }
    out->incident = o.id;
    return set_alert(s, false, a->id, o.id);
}

/* ------------------------------------------------------------ outbreak -- */

static int outbreak_sev(int max, bool guard)
{
    return guard ? 4 : max + 1 > 4 ? 4 : max + 1;
}

static void outbreak_title(const struct incident_alert *a, const char *cls, int64_t hosts,
                           char *out, size_t n)
{
    snprintf(out, n, "outbreak: %.200s on %lld hosts of site %.64s", cls, (long long)hosts,
             a->site && a->site[0] ? a->site : "?");
}

static int count_query(struct store *s, sqlite3_stmt *st, int64_t *n, const char *what)
{
    if (!st)
        return MAMORI_EIO;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(s, what);
    if (rc == 0)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc;
}

static int open_outbreak(struct store *s, const struct incident_alert *a,
                         const struct incident_keys *k, struct incident_note *out)
{
    /* hosts of the site with an alert of this class in the window, not yet
     * in an outbreak (the new alert included: its class is set) */
    sqlite3_stmt *st = cached(s, Q_OB_COUNT,
                              "SELECT COUNT(DISTINCT host_id), MIN(time), MAX(time), COUNT(*),"
                              " MAX(CASE severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2"
                              " WHEN 'high' THEN 3 WHEN 'critical' THEN 4 ELSE 0 END)"
                              " FROM alerts WHERE site_id = ?1 AND class = ?2 AND time >= ?3"
                              " AND time <= ?4 AND outbreak_id IS NULL AND host_id IS NOT NULL");
    if (!st)
        return MAMORI_EIO;
    sqlite3_bind_int64(st, 1, a->site_id);
    bind_text(st, 2, k->cls);
    sqlite3_bind_int64(st, 3, a->time - INCIDENT_OUTBREAK_WINDOW_MS);
    sqlite3_bind_int64(st, 4, a->time + INCIDENT_OUTBREAK_WINDOW_MS);
    struct open_inc o = {0};
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(s, "count hosts for an outbreak");
    if (rc == 0) {
        o.hosts = sqlite3_column_int64(st, 0);
        o.first = sqlite3_column_int64(st, 1);
        o.last = sqlite3_column_int64(st, 2);
        o.count = sqlite3_column_int64(st, 3);
        o.sev = outbreak_sev(sqlite3_column_int(st, 4), k->guard);
    }
    sqlite3_reset(st);
    if (rc < 0 || o.hosts < INCIDENT_OUTBREAK_HOSTS)
        return rc;
    char title[INCIDENT_TITLE_MAX];
    outbreak_title(a, k->cls, o.hosts, title, sizeof title);
    if (insert_inc(s, a->site_id, NULL, "outbreak", k->cls, title, &o, &o.id) < 0)
        return MAMORI_EIO;
    st = cached(s, Q_OB_GATHER,
                "UPDATE alerts SET outbreak_id = ?1 WHERE site_id = ?2 AND class = ?3"
                " AND time >= ?4 AND time <= ?5 AND outbreak_id IS NULL AND host_id IS NOT NULL");
    if (st) {
        sqlite3_bind_int64(st, 1, o.id);
        sqlite3_bind_int64(st, 2, a->site_id);
        bind_text(st, 3, k->cls);
        sqlite3_bind_int64(st, 4, a->time - INCIDENT_OUTBREAK_WINDOW_MS);
        sqlite3_bind_int64(st, 5, a->time + INCIDENT_OUTBREAK_WINDOW_MS);
    }
    if (c_done(s, st, "gather an outbreak's alerts") < 0)
        return MAMORI_EIO;
    out->outbreak = o.id;
    out->outbreak_new = true;
    return 0;
}

static int link_outbreak(struct store *s, const struct incident_alert *a,
                         const struct incident_keys *k, struct incident_note *out)
{
    sqlite3_stmt *st = cached(s, Q_SET_CLASS, "UPDATE alerts SET class = ? WHERE id = ?");
    if (st) {
        bind_text(st, 1, k->cls);
        sqlite3_bind_int64(st, 2, a->id);
    }
    if (c_done(s, st, "set alert class") < 0)
        return MAMORI_EIO;
    st = cached(s, Q_FIND_OB,
                OPEN_COLS " WHERE kind = 'outbreak' AND status = 'open'"
                          " AND site_id = ? AND key = ? AND last >= ?"
                          " AND first <= ? ORDER BY last DESC LIMIT 1");
    if (st) {
        sqlite3_bind_int64(st, 1, a->site_id);
        bind_text(st, 2, k->cls);
        sqlite3_bind_int64(st, 3, a->time - INCIDENT_OUTBREAK_WINDOW_MS);
        sqlite3_bind_int64(st, 4, a->time + INCIDENT_OUTBREAK_WINDOW_MS);
    }
    struct open_inc o = {0};
    int found = find_one(s, st, &o);
    if (found <= 0)
        return found < 0 ? found : open_outbreak(s, a, k, out);
    /* a host new to the outbreak? (alerts_outbreak index: outbreak, host) */
    int64_t seen = 0;
    st = cached(s, Q_OB_SEEN,
                "SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE outbreak_id = ?"
                " AND host_id = ? LIMIT 1)");
    if (st) {
        sqlite3_bind_int64(st, 1, o.id);
        bind_text(st, 2, a->host_id);
    }
    if (count_query(s, st, &seen, "find host in outbreak") < 0)
        return MAMORI_EIO;
    widen(&o, a->time);
    o.count++;
    char title[INCIDENT_TITLE_MAX];
    if (!seen)
        outbreak_title(a, k->cls, ++o.hosts, title, sizeof title);
    int sev = outbreak_sev(incident_sev_rank(a->severity), k->guard);
    if (sev > o.sev)
        o.sev = sev;
    if (update_inc(s, &o, seen ? NULL : title) < 0 || set_alert(s, true, a->id, o.id) < 0)
        return MAMORI_EIO;
    out->outbreak = o.id;
    return 0;
}

int incident_link(struct store *s, const struct incident_alert *a, bool savepoint,
                  struct incident_note *out)
{
    memset(out, 0, sizeof *out);
    if (savepoint && sqlite3_exec(s->db, "SAVEPOINT incident_link", NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, "correlate an alert");
    struct incident_keys k;
    incident_keys(a->kind, a->body, &k);
    int rc = link_host(s, a, &k, out);
    if (rc == 0 && a->host_id && incident_sev_rank(a->severity) >= 1)
        rc = link_outbreak(s, a, &k, out);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    if (savepoint && rc < 0) /* none of this alert's links stay; the alert itself does */
        sqlite3_exec(s->db, "ROLLBACK TO incident_link", NULL, NULL, NULL);
    if (savepoint)
        sqlite3_exec(s->db, "RELEASE incident_link", NULL, NULL, NULL);
    return rc;
}

/* ------------------------------------------------------------- reading -- */

void incident_from_row(sqlite3_stmt *st, struct incident_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->site_id = sqlite3_column_int64(st, 1);
    col_copy(st, 2, r->site, sizeof r->site);
    col_copy(st, 3, r->host_id, sizeof r->host_id);
    col_copy(st, 4, r->hostname, sizeof r->hostname);
    col_copy(st, 5, r->kind, sizeof r->kind);
    col_copy(st, 6, r->key, sizeof r->key);
    col_copy(st, 7, r->title, sizeof r->title);
    col_copy(st, 8, r->severity, sizeof r->severity);
    col_copy(st, 9, r->status, sizeof r->status);
    r->first = sqlite3_column_int64(st, 10);
    r->last = sqlite3_column_int64(st, 11);
    r->alert_count = sqlite3_column_int64(st, 12);
    r->host_count = sqlite3_column_int64(st, 13);
    col_copy(st, 14, r->resolved_by, sizeof r->resolved_by);
    r->resolved_at = sqlite3_column_int64(st, 15);
    r->rev = sqlite3_column_int64(st, 16);
    col_copy(st, 17, r->alert_kind, sizeof r->alert_kind);
    if (sqlite3_column_type(st, 18) == SQLITE_TEXT)
        col_copy(st, 18, r->exe, sizeof r->exe);
}

int incident_get(struct store *s, int64_t id, struct incident_row *out)
{
    sqlite3_stmt *st = prep(s, "SELECT " INCIDENT_COLS " WHERE i.id = ?");
    if (!st)
        return MAMORI_EIO;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW) {
        incident_from_row(st, out);
    } else if (r == SQLITE_DONE) {
        snprintf(s->err, sizeof s->err, "no incident %lld", (long long)id);
        rc = MAMORI_ENOENT;
    } else {
        rc = fail(s, "read incident");
    }
    sqlite3_finalize(st);
    return rc;
}

int incident_each(struct store *s, int64_t site_id, bool open_only,
                  int (*fn)(void *, const struct incident_row *), void *arg)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " INCIDENT_COLS " WHERE (?1 = 0 OR i.site_id = ?1)%s"
             " ORDER BY i.id DESC",
             open_only ? " AND i.status = 'open'" : "");
    sqlite3_stmt *st = prep(s, sql);
    if (!st)
        return MAMORI_EIO;
    sqlite3_bind_int64(st, 1, site_id);
    int r;
    struct incident_row row;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        incident_from_row(st, &row);
        if (fn(arg, &row))
            break;
    }
    int rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : fail(s, "list incidents");
    sqlite3_finalize(st);
    return rc;
}

int incident_resolve(struct store *s, int64_t id, const char *by, int64_t now, bool *changed)
{
    struct incident_row r;
    int rc = incident_get(s, id, &r);
    if (rc < 0)
        return rc;
    *changed = strcmp(r.status, "open") == 0;
    if (!*changed)
        return 0;
    int64_t rev;
    if (next_rev(s, &rev) < 0)
        return MAMORI_EIO;
    sqlite3_stmt *st = prep(s, "UPDATE incidents SET status = 'resolved', resolved_by = ?,"
                               " resolved_at = ?, rev = ? WHERE id = ? AND status = 'open'");
    if (st) {
        bind_text(st, 1, by);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, rev);
        sqlite3_bind_int64(st, 4, id);
    }
    return step_done(s, st, "resolve incident");
}
