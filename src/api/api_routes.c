/* api_routes.c - alert routes over the API (deliver/route.h) and the
 * deliveries of one alert (deliver/outbox.h).
 *
 *   GET    /api/v1/routes                 active routes in the caller's scope
 *                                         (its site's and the all-sites ones)
 *   POST   /api/v1/routes                 {"site": NAME (absent or null: every
 *          site, admin only), "kind", "target", "min_severity", "ca", "from",
 *          "to", "user", "password", "starttls"}; 201 with the route
 *   DELETE /api/v1/routes/{id}            admin, or site-admin of its site
 *   GET    /api/v1/alerts/{id}/deliveries one row per route the alert went to
 *
 * A JSON body (at most HTTP_BODY_MAX) enters; the same checks as the
 * operator's `mamori server route add` apply; each change is one
 * transaction with its audit row. Answers show targets masked and never a
 * password. A route of another site, or an all-sites route to a site-admin
 * deleting it, is 404 as if it did not exist. */
#include "api/api_routes.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "deliver/outbox.h"
#include "deliver/route.h"

static int64_t path_id(struct api_call *q, const char *what)
{
    const char *v = http_param(&q->p, "id");
    char *end;
    errno = 0;
    long long id = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || id <= 0) {
        api_fail(q, 404, "not_found", "no %s '%.64s'", what, v ? v : "");
        return -1;
    }
    return id;
}

/* ---------------------------------------------------------------- list -- */

struct rlist {
    struct api_call *q;
    struct hbuf b;
    int n;
    bool bad;
};

static int route_row(void *arg, const struct route *r)
{
    struct rlist *l = arg;
    char js[ROUTE_OPTIONS_MAX + ROUTE_TARGET_MAX + 512];
    if (route_json(r, js, sizeof js) < 0 ||
        hbuf_printf(&l->b, "%s%s", l->n++ ? "," : "", js) < 0) {
        l->bad = true;
        return 1;
    }
    return 0;
}

void api_routes_list(struct api_call *q)
{
    struct rlist l = {.q = q};
    hbuf_init(&l.b, API_PAGE_BYTES);
    hbuf_str(&l.b, "{\"items\":[");
    if (route_each(&q->a->st, false, q->who.site_id, route_row, &l) < 0)
        api_store_fail(q, "list routes");
    else if (l.bad || hbuf_str(&l.b, "]}\n") < 0)
        api_fail(q, 500, "internal", "the routes do not fit the answer's bound");
    else
        api_json(q, 200, &l.b);
    hbuf_free(&l.b);
}

/* -------------------------------------------------------------- create -- */

static json_object *body_object(struct api_call *q)
{
    size_t n = q->r->content_length;
    json_tokener *tok = json_tokener_new_ex(4);
    json_object *j = tok && n ? json_tokener_parse_ex(tok, q->body, (int)n) : NULL;
    bool whole = j && json_tokener_get_error(tok) == json_tokener_success &&
                 json_tokener_get_parse_end(tok) == n;
    json_tokener_free(tok);
    if (!whole || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        api_fail(q, 400, "bad_body", "the request body is not one JSON object (nesting at most 4)");
        return NULL;
    }
    return j;
}

void api_route_create(struct api_call *q)
{
    static const char *const allowed[] = {"site", "kind", "target", "min_severity", "ca", "from",
                                          "to", "user", "password", "starttls", NULL};
    static const char *const SEV[] = {"info", "low", "medium", "high", "critical"};
    json_object *j = body_object(q);
    if (!j)
        return;
    json_object *opts = json_object_new_object(), *v;
    struct route r = {0};
    const char *site = NULL, *bad = NULL;
    json_object_object_foreach(j, key, val)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, key);
        if (!ok) {
            bad = key;
            break;
        }
        bool str = json_object_is_type(val, json_type_string);
        if (!strcmp(key, "site")) {
            if (!str && val) {
                bad = key;
                break;
            }
            site = val ? json_object_get_string(val) : NULL;
        } else if (!strcmp(key, "kind") || !strcmp(key, "target") ||
                   !strcmp(key, "min_severity")) {
            if (!str) {
                bad = key;
                break;
            }
        } else {
            json_object_object_add(opts, key, json_object_get(val));
        }
    }
    char err[512];
    const char *kind = json_object_object_get_ex(j, "kind", &v) ? json_object_get_string(v) : NULL;
    const char *target =
        json_object_object_get_ex(j, "target", &v) ? json_object_get_string(v) : NULL;
    const char *sev =
        json_object_object_get_ex(j, "min_severity", &v) ? json_object_get_string(v) : "info";
    r.min_rank = -1;
    for (int i = 0; i < 5; i++)
        if (sev && !strcmp(sev, SEV[i]))
            r.min_rank = i;
    const char *os = json_object_to_json_string_ext(opts, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    if (bad)
        api_fail(q, 400, "bad_body", "unknown or ill-typed member '%.64s' in the request body",
                 bad);
    else if (!kind || route_kind_parse(kind, &r.kind) < 0)
        api_fail(q, 400, "bad_body", "kind must be webhook, slack, teams, syslog or email");
    else if (!target || strlen(target) >= sizeof r.target)
        api_fail(q, 400, "bad_body", "target is required (at most %zu bytes)", sizeof r.target - 1);
    else if (r.min_rank < 0)
        api_fail(q, 400, "bad_body", "min_severity must be info, low, medium, high or critical");
    else if (strlen(os) >= sizeof r.options)
        api_fail(q, 400, "bad_body", "the route's options are too long");
    else if (!site && q->who.site_id)
        api_fail(q, 403, "forbidden", "a route for every site needs the admin role");
    else {
        snprintf(r.target, sizeof r.target, "%s", target);
        snprintf(r.options, sizeof r.options, "%s", os);
        if (route_check(&r, err, sizeof err) < 0)
            api_fail(q, 400, "bad_route", "%s", err);
        else if (site && route_site_id(&q->a->st, site, &r.site_id) < 0)
            api_fail(q, 404, "not_found", "no site '%.64s'", site);
        else if (r.site_id && !api_in_scope(&q->who, r.site_id))
            api_fail(q, 404, "not_found", "no site '%.64s'", site);
        else {
            if (site)
                snprintf(r.site, sizeof r.site, "%s", site);
            r.created = q->now;
            api_actor(&q->who, r.created_by, sizeof r.created_by);
            char masked[ROUTE_TARGET_MAX], tgt[32], detail[ROUTE_TARGET_MAX + 128];
            route_masked_target(&r, masked, sizeof masked);
            int rc = store_begin(&q->a->st);
            if (rc == 0)
                rc = route_add(&q->a->st, &r);
            if (rc == 0) {
                snprintf(tgt, sizeof tgt, "route %" PRId64, r.id);
                snprintf(detail, sizeof detail, "%s %s for %s", route_kind_name(r.kind), masked,
                         site ? site : "all sites");
                rc = apist_audit_add(&q->a->st, q->now, r.created_by, "route_add", tgt, detail,
                                     r.site_id);
            }
            if (rc == 0)
                rc = store_commit(&q->a->st);
            if (rc < 0) {
                store_rollback(&q->a->st);
                api_store_fail(q, "add route");
            } else {
                q->audited = true;
                char js[ROUTE_OPTIONS_MAX + ROUTE_TARGET_MAX + 512];
                struct hbuf b;
                hbuf_init(&b, sizeof js + 8);
                if (route_json(&r, js, sizeof js) == 0)
                    hbuf_printf(&b, "%s\n", js);
                api_json(q, 201, &b);
                hbuf_free(&b);
            }
        }
    }
    json_object_put(opts);
    json_object_put(j);
}

/* -------------------------------------------------------------- delete -- */

void api_route_delete(struct api_call *q)
{
    int64_t id = path_id(q, "route");
    if (id < 0)
        return;
    struct route r;
    int rc = route_get(&q->a->st, id, &r);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read route");
        return;
    }
    if (rc < 0 || r.disabled || (q->who.site_id && r.site_id != q->who.site_id)) {
        api_fail(q, 404, "not_found", "no route %" PRId64, id);
        return;
    }
    char actor[128], masked[ROUTE_TARGET_MAX], tgt[32], detail[ROUTE_TARGET_MAX + 64];
    api_actor(&q->who, actor, sizeof actor);
    route_masked_target(&r, masked, sizeof masked);
    snprintf(tgt, sizeof tgt, "route %" PRId64, id);
    snprintf(detail, sizeof detail, "%s %s", route_kind_name(r.kind), masked);
    rc = store_begin(&q->a->st);
    if (rc == 0)
        rc = route_disable(&q->a->st, id, q->now);
    if (rc == 0)
        rc = apist_audit_add(&q->a->st, q->now, actor, "route_rm", tgt, detail, r.site_id);
    if (rc == 0)
        rc = store_commit(&q->a->st);
    if (rc < 0) {
        store_rollback(&q->a->st);
        if (rc == MAMORI_ENOENT)
            api_fail(q, 404, "not_found", "no route %" PRId64, id);
        else
            api_store_fail(q, "remove route");
        return;
    }
    q->audited = true;
    struct hbuf b;
    hbuf_init(&b, 256);
    hbuf_printf(&b, "{\"id\":%" PRId64 ",\"removed\":true}\n", id);
    api_json(q, 200, &b);
    hbuf_free(&b);
}

/* ---------------------------------------------------------- deliveries -- */

struct scope {
    struct api_call *q;
    bool found;
};

static int alert_scope(void *arg, const struct alert_row *a)
{
    struct scope *s = arg;
    s->found = api_in_scope(&s->q->who, a->site_id);
    return 1;
}

struct dlist {
    struct hbuf b;
    int n;
    bool bad;
};

static int dlv_row(void *arg, const struct dlv_row *d)
{
    struct dlist *l = arg;
    struct route r = {0};
    if (route_kind_parse(d->kind, &r.kind) < 0)
        r.kind = RK_WEBHOOK;
    snprintf(r.target, sizeof r.target, "%s", d->target ? d->target : "");
    char masked[ROUTE_TARGET_MAX], created[40], next[40], sent[40];
    route_masked_target(&r, masked, sizeof masked);
    api_fmt_time(d->created, created, sizeof created);
    api_fmt_time(d->next_try, next, sizeof next);
    api_fmt_time(d->sent_at, sent, sizeof sent);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "route_id", json_object_new_int64(d->route_id));
    json_object_object_add(o, "kind", json_object_new_string(route_kind_name(r.kind)));
    json_object_object_add(o, "target", json_object_new_string(masked));
    json_object_object_add(o, "status", json_object_new_string(d->status ? d->status : ""));
    json_object_object_add(o, "attempts", json_object_new_int(d->attempts));
    json_object_object_add(o, "queued", json_object_new_string(created));
    json_object_object_add(o, "next_try", d->status && !strcmp(d->status, "pending")
                                              ? json_object_new_string(next)
                                              : NULL);
    json_object_object_add(o, "sent_at", d->sent_at ? json_object_new_string(sent) : NULL);
    json_object_object_add(o, "last_error",
                           d->last_error ? json_object_new_string(d->last_error) : NULL);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    if (hbuf_printf(&l->b, "%s%s", l->n++ ? "," : "", s) < 0)
        l->bad = true;
    json_object_put(o);
    return l->bad;
}

void api_alert_deliveries(struct api_call *q)
{
    int64_t id = path_id(q, "alert");
    if (id < 0)
        return;
    struct scope sc = {.q = q};
    int rc = apist_alert_get(&q->a->st, id, alert_scope, &sc);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read alert");
        return;
    }
    if (rc < 0 || !sc.found) {
        api_fail(q, 404, "not_found", "no alert %" PRId64, id);
        return;
    }
    struct dlist l = {0};
    hbuf_init(&l.b, API_PAGE_BYTES);
    hbuf_printf(&l.b, "{\"alert_id\":%" PRId64 ",\"items\":[", id);
    if (outbox_each_for_alert(&q->a->st, id, dlv_row, &l) < 0)
        api_store_fail(q, "list deliveries");
    else if (l.bad || hbuf_str(&l.b, "]}\n") < 0)
        api_fail(q, 500, "internal", "the deliveries do not fit the answer's bound");
    else
        api_json(q, 200, &l.b);
    hbuf_free(&l.b);
}
