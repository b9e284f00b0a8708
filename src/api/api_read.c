/* api_read.c - the GET endpoints: health, sites, hosts, alerts, audit.
 * Query parameters enter checked (http_parse.h) and are validated here;
 * rows come from api_store.c within the caller's site scope and leave as
 * JSON pages (api_json.c). An object outside the scope answers 404 exactly
 * like one that does not exist. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/json.h"
#include "server/enroll.h"

/* ------------------------------------------------------------- params -- */

static int check_params(struct api_call *q, const char *const *allowed)
{
    struct http_err e;
    if (http_query_check(q->r, allowed, &e) < 0) {
        api_fail(q, e.status, e.code, "%s", e.msg);
        return -1;
    }
    return 0;
}

static int param_limit(struct api_call *q, int *limit)
{
    const char *v = http_query(q->r, "limit");
    *limit = API_LIMIT_DEFAULT;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 1 || n > API_LIMIT_MAX) {
        api_fail(q, 400, "bad_parameter", "limit must be a number from 1 to %d", API_LIMIT_MAX);
        return -1;
    }
    *limit = (int)n;
    return 0;
}

/* The cursor of this list and filters, if one was given (*has set). */
static int param_cursor(struct api_call *q, char list, uint32_t fp, struct api_cursor *c, bool *has)
{
    const char *v = http_query(q->r, "cursor");
    *has = false;
    if (!v)
        return 0;
    if (api_cursor_decode(v, c) < 0 || c->list != list || c->fp != fp) {
        api_fail(q, 400, "bad_cursor",
                 "cursor was not made by this list with these filters: send back next_cursor "
                 "unchanged, with the same filters");
        return -1;
    }
    *has = true;
    return 0;
}

int api_time_param(struct api_call *q, const char *name, int64_t dflt, int64_t *out)
{
    const char *v = http_query(q->r, name);
    *out = dflt;
    if (!v)
        return 0;
    if (*v && strspn(v, "0123456789") == strlen(v) && strlen(v) <= 15) {
        *out = strtoll(v, NULL, 10);
        return 0;
    }
    struct tm tm = {0};
    const char *p = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
    int64_t frac = 0;
    if (p && *p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
        for (; digits < 3; digits++)
            frac *= 10;
    }
    if (!p || strcmp(p, "Z") != 0) {
        api_fail(q, 400, "bad_parameter",
                 "%s must be milliseconds since 1970 or a UTC time like 2024-05-01T12:00:00Z",
                 name);
        return -1;
    }
    *out = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

int api_site_param(struct api_call *q, const char *name, int64_t *id)
{
    struct apist_site s;
    int rc = site_name_valid(name) ? apist_site_get(&q->a->st, name, &s) : MAMORI_ENOENT;
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read site");
        return -1;
    }
    if (rc < 0 || !api_in_scope(&q->who, s.id)) {
        api_fail(q, 404, "not_found", "no site '%.64s'", name);
        return -1;
    }
    *id = s.id;
    return 0;
}

/* ------------------------------------------------------------- health -- */

void api_health(struct api_call *q)
{
    static const char *const allowed[] = {NULL};
    if (check_params(q, allowed) < 0)
        return;
    int v = store_version(&q->a->st);
    char buf[256];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "status", v > 0 ? "ok" : "degraded");
    jw_str(&w, "api", "v1");
    jw_int(&w, "schema", v);
    jw_int(&w, "time_ms", q->now);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    struct hbuf b;
    hbuf_init(&b, 4096);
    if (n > 0)
        hbuf_add(&b, buf, (size_t)n);
    hbuf_str(&b, "\n");
    api_json(q, v > 0 ? 200 : 503, &b);
    hbuf_free(&b);
}

/* --------------------------------------------------------- page walker -- */

/* What the row callbacks share while a page is filled. */
struct walk {
    struct api_call *q;
    struct api_page pg;
    struct hbuf row;
    struct api_cursor next; /* the last row that went in */
    bool more;
    int err;
};

static void walk_begin(struct walk *w, struct api_call *q, int limit, char list, uint32_t fp)
{
    memset(w, 0, sizeof *w);
    w->q = q;
    api_page_begin(&w->pg, limit);
    hbuf_init(&w->row, API_ROW_MAX * 2);
    w->next.list = list;
    w->next.fp = fp;
}

/* Add the row just written to w->row; returns non-zero to stop the walk. */
static int walk_add(struct walk *w)
{
    bool ok = w->pg.n < w->pg.limit && api_page_row(&w->pg, &w->row);
    hbuf_reset(&w->row, API_ROW_MAX * 2);
    if (!ok)
        w->more = true;
    return ok ? 0 : 1;
}

static void walk_end(struct walk *w, int rc, const char *what)
{
    if (rc < 0 || w->err) {
        api_store_fail(w->q, what);
    } else {
        char cur[API_CURSOR_MAX];
        bool has = w->more && w->pg.n > 0 && api_cursor_encode(&w->next, cur) == 0;
        api_page_end(&w->pg, has ? cur : NULL);
        api_json(w->q, 200, &w->pg.body);
    }
    api_page_free(&w->pg);
    hbuf_free(&w->row);
}

/* -------------------------------------------------------------- sites -- */

static int site_row(void *arg, const struct apist_site *s)
{
    struct walk *w = arg;
    if (w->pg.n >= w->pg.limit) {
        w->more = true;
        return 1;
    }
    if (api_site_json(&w->row, s) < 0)
        w->err = 1;
    if (w->err || walk_add(w))
        return 1;
    snprintf(w->next.k1, sizeof w->next.k1, "%s", s->name);
    return 0;
}

void api_sites_list(struct api_call *q)
{
    static const char *const allowed[] = {"limit", "cursor", NULL};
    int limit;
    struct api_cursor cur;
    bool has;
    uint32_t fp = api_fp("sites");
    if (check_params(q, allowed) < 0 || param_limit(q, &limit) < 0 ||
        param_cursor(q, 's', fp, &cur, &has) < 0)
        return;
    struct walk w;
    walk_begin(&w, q, limit, 's', fp);
    int rc = apist_sites(&q->a->st, q->who.site_id, has ? cur.k1 : NULL, limit + 1, site_row, &w);
    walk_end(&w, rc, "list sites");
}

void api_site_get(struct api_call *q)
{
    static const char *const allowed[] = {NULL};
    if (check_params(q, allowed) < 0)
        return;
    const char *name = http_param(&q->p, "name");
    struct apist_site s;
    int rc = site_name_valid(name) ? apist_site_get(&q->a->st, name, &s) : MAMORI_ENOENT;
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read site");
        return;
    }
    if (rc < 0 || !api_in_scope(&q->who, s.id)) {
        api_fail(q, 404, "not_found", "no site '%.64s'", name);
        return;
    }
    struct hbuf b;
    hbuf_init(&b, 64u << 10);
    api_site_json(&b, &s);
    hbuf_str(&b, "\n");
    api_json(q, 200, &b);
    hbuf_free(&b);
}

/* -------------------------------------------------------------- hosts -- */

static int host_row(void *arg, const struct host_row *h)
{
    struct walk *w = arg;
    if (w->pg.n >= w->pg.limit) {
        w->more = true;
        return 1;
    }
    if (api_host_json(&w->row, h) < 0)
        w->err = 1;
    if (w->err || walk_add(w))
        return 1;
    snprintf(w->next.k1, sizeof w->next.k1, "%s", h->hostname);
    snprintf(w->next.k2, sizeof w->next.k2, "%s", h->id);
    return 0;
}

void api_hosts_list(struct api_call *q)
{
    static const char *const allowed[] = {"site", "status", "limit", "cursor", NULL};
    int limit;
    if (check_params(q, allowed) < 0 || param_limit(q, &limit) < 0)
        return;
    struct apist_host_q f = {.site_id = q->who.site_id, .limit = limit + 1};
    const char *site = http_query(q->r, "site"), *status = http_query(q->r, "status");
    if (site && api_site_param(q, site, &f.site_id) < 0)
        return;
    enum host_status hs;
    if (status && host_status_parse(status, &hs) < 0) {
        api_fail(q, 400, "bad_parameter", "status must be enrolled, online, offline or revoked");
        return;
    }
    f.status = status;
    char fps[128];
    snprintf(fps, sizeof fps, "hosts|%" PRId64 "|%s", f.site_id, status ? status : "");
    uint32_t fp = api_fp(fps);
    struct api_cursor cur;
    bool has;
    if (param_cursor(q, 'h', fp, &cur, &has) < 0)
        return;
    if (has) {
        f.after_name = cur.k1;
        f.after_id = cur.k2;
    }
    struct walk w;
    walk_begin(&w, q, limit, 'h', fp);
    int rc = apist_hosts(&q->a->st, &f, host_row, &w);
    walk_end(&w, rc, "list hosts");
}

void api_host_get(struct api_call *q)
{
    static const char *const allowed[] = {NULL};
    if (check_params(q, allowed) < 0)
        return;
    const char *id = http_param(&q->p, "id");
    struct host_row h;
    int rc = apist_host_get(&q->a->st, id, &h);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read host");
        return;
    }
    if (rc < 0 || !api_in_scope(&q->who, h.site_id)) {
        api_fail(q, 404, "not_found", "no host '%.64s'", id);
        return;
    }
    struct hbuf b;
    hbuf_init(&b, 64u << 10);
    api_host_json(&b, &h);
    hbuf_str(&b, "\n");
    api_json(q, 200, &b);
    hbuf_free(&b);
}

/* ------------------------------------------------------------- alerts -- */

static int alert_row(void *arg, const struct alert_row *a)
{
    struct walk *w = arg;
    if (w->pg.n >= w->pg.limit) {
        w->more = true;
        return 1;
    }
    if (api_alert_json(&w->row, a, false) < 0)
        w->err = 1;
    if (w->err || walk_add(w))
        return 1;
    w->next.n = a->id;
    return 0;
}

static const char *const SEVERITIES[] = {"info", "low", "medium", "high", "critical"};

/* severity=high,critical -> f->sev (pointers to the constant names). */
static int param_severity(struct api_call *q, struct apist_alert_q *f)
{
    const char *v = http_query(q->r, "severity");
    if (!v)
        return 0;
    const char *p = v;
    while (*p) {
        size_t l = strcspn(p, ",");
        bool ok = false;
        for (int i = 0; i < 5 && !ok; i++) {
            if (strlen(SEVERITIES[i]) == l && !strncmp(p, SEVERITIES[i], l)) {
                ok = true;
                bool dup = false;
                for (int k = 0; k < f->nsev; k++)
                    dup |= f->sev[k] == SEVERITIES[i];
                if (!dup)
                    f->sev[f->nsev++] = SEVERITIES[i];
            }
        }
        if (!ok) {
            api_fail(q, 400, "bad_parameter",
                     "severity must be a comma-separated list of info, low, medium, high, "
                     "critical");
            return -1;
        }
        p += l;
        if (*p == ',')
            p++;
    }
    if (!f->nsev) {
        api_fail(q, 400, "bad_parameter", "severity is empty");
        return -1;
    }
    return 0;
}

void api_alerts_list(struct api_call *q)
{
    static const char *const allowed[] = {"site", "host",  "since",  "severity",
                                          "kind", "limit", "cursor", NULL};
    int limit;
    if (check_params(q, allowed) < 0 || param_limit(q, &limit) < 0)
        return;
    struct apist_alert_q f = {.site_id = q->who.site_id, .limit = limit + 1};
    const char *site = http_query(q->r, "site"), *host = http_query(q->r, "host");
    if (site && api_site_param(q, site, &f.site_id) < 0)
        return;
    if (host) {
        struct host_row h;
        int rc = apist_host_get(&q->a->st, host, &h);
        if (rc == MAMORI_EIO) {
            api_store_fail(q, "read host");
            return;
        }
        if (rc < 0 || !api_in_scope(&q->who, h.site_id)) {
            api_fail(q, 404, "not_found", "no host '%.64s'", host);
            return;
        }
        f.host_id = host;
    }
    if (api_time_param(q, "since", 0, &f.since) < 0 || param_severity(q, &f) < 0)
        return;
    f.kind = http_query(q->r, "kind");
    if (f.kind && (!*f.kind || strlen(f.kind) > 63)) {
        api_fail(q, 400, "bad_parameter", "kind must be 1-63 bytes");
        return;
    }
    char fps[1400];
    snprintf(fps, sizeof fps, "alerts|%" PRId64 "|%s|%" PRId64 "|%s|%s", f.site_id,
             host ? host : "", f.since,
             http_query(q->r, "severity") ? http_query(q->r, "severity") : "",
             f.kind ? f.kind : "");
    uint32_t fp = api_fp(fps);
    struct api_cursor cur;
    bool has;
    if (param_cursor(q, 'a', fp, &cur, &has) < 0)
        return;
    if (has)
        f.before_id = cur.n > 0 ? cur.n : 1;
    struct walk w;
    walk_begin(&w, q, limit, 'a', fp);
    int rc = apist_alerts(&q->a->st, &f, alert_row, &w);
    walk_end(&w, rc, "list alerts");
}

struct one_alert {
    struct api_call *q;
    struct hbuf b;
    bool found;
    int rc;
};

static int alert_one(void *arg, const struct alert_row *a)
{
    struct one_alert *o = arg;
    if (!api_in_scope(&o->q->who, a->site_id))
        return 1;
    o->found = true;
    o->rc = api_alert_json(&o->b, a, true);
    return 1;
}

void api_alert_get(struct api_call *q)
{
    static const char *const allowed[] = {NULL};
    if (check_params(q, allowed) < 0)
        return;
    const char *v = http_param(&q->p, "id");
    char *end;
    errno = 0;
    long long id = strtoll(v, &end, 10);
    if (!*v || *end || errno || id <= 0) {
        api_fail(q, 404, "not_found", "no alert '%.64s'", v);
        return;
    }
    struct one_alert o = {.q = q};
    hbuf_init(&o.b, 4u << 20);
    int rc = apist_alert_get(&q->a->st, id, alert_one, &o);
    if (rc == MAMORI_EIO)
        api_store_fail(q, "read alert");
    else if (rc < 0 || !o.found)
        api_fail(q, 404, "not_found", "no alert %lld", id);
    else if (o.rc < 0)
        api_fail(q, 500, "internal", "alert %lld is too large to show", id);
    else if (hbuf_str(&o.b, "\n") == 0)
        api_json(q, 200, &o.b);
    else
        api_fail(q, 500, "internal", "alert %lld is too large to show", id);
    hbuf_free(&o.b);
}

/* -------------------------------------------------------------- audit -- */

static int audit_row(void *arg, const struct apist_audit *u)
{
    struct walk *w = arg;
    if (w->pg.n >= w->pg.limit) {
        w->more = true;
        return 1;
    }
    if (api_audit_json(&w->row, u) < 0)
        w->err = 1;
    if (w->err || walk_add(w))
        return 1;
    w->next.n = u->id;
    return 0;
}

void api_audit_list(struct api_call *q)
{
    static const char *const allowed[] = {"since", "actor", "action", "limit", "cursor", NULL};
    if (q->who.role == ROLE_VIEWER) {
        api_fail(q, 403, "forbidden", "the audit log is for admins and site admins");
        return;
    }
    int limit;
    if (check_params(q, allowed) < 0 || param_limit(q, &limit) < 0)
        return;
    struct apist_audit_q f = {.site_id = q->who.site_id, .limit = limit + 1};
    if (api_time_param(q, "since", 0, &f.since) < 0)
        return;
    f.actor = http_query(q->r, "actor");
    f.action = http_query(q->r, "action");
    char fps[2200];
    snprintf(fps, sizeof fps, "audit|%" PRId64 "|%" PRId64 "|%s|%s", f.site_id, f.since,
             f.actor ? f.actor : "", f.action ? f.action : "");
    uint32_t fp = api_fp(fps);
    struct api_cursor cur;
    bool has;
    if (param_cursor(q, 'u', fp, &cur, &has) < 0)
        return;
    if (has)
        f.before_id = cur.n > 0 ? cur.n : 1;
    struct walk w;
    walk_begin(&w, q, limit, 'u', fp);
    int rc = apist_audit_list(&q->a->st, &f, audit_row, &w);
    walk_end(&w, rc, "list audit records");
}
