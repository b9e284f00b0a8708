/* api_incidents.c - GET /api/v1/incidents, GET /api/v1/incidents/{id} and
 * POST /api/v1/incidents/{id}/resolve, and the request helpers the command
 * handlers share (api_incidents.h).
 *
 * Query parameters enter checked by src/http and validated here; rows come
 * from api_store_incidents.c and server/incident.c within the caller's site
 * scope (another site's incident answers 404 like a missing one) and leave
 * as JSON pages. A resolution is one transaction with its audit row. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_incidents.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"

/* ------------------------------------------------------------ helpers -- */

int apii_params(struct api_call *q, const char *const *allowed)
{
    struct http_err e;
    if (http_query_check(q->r, allowed, &e) < 0) {
        api_fail(q, e.status, e.code, "%s", e.msg);
        return -1;
    }
    return 0;
}

int apii_limit(struct api_call *q, int *limit)
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

int apii_cursor(struct api_call *q, char list, uint32_t fp, struct api_cursor *c, bool *has)
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

int apii_host(struct api_call *q, const char *id, struct host_row *h)
{
    int rc = apist_host_get(&q->a->st, id, h);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read host");
        return -1;
    }
    if (rc < 0 || !api_in_scope(&q->who, h->site_id)) {
        api_fail(q, 404, "not_found", "no host '%.64s'", id);
        return -1;
    }
    return 0;
}

static int finish(struct hbuf *out, struct jw *w)
{
    long n = jw_finish(w);
    return n < 0 ? MAMORI_EFULL : hbuf_add(out, w->buf, (size_t)n);
}

/* --------------------------------------------------------------- JSON -- */

int api_incident_json(struct hbuf *out, const struct incident_row *r)
{
    char buf[4096], first[40], last[40];
    api_fmt_time(r->first, first, sizeof first);
    api_fmt_time(r->last, last, sizeof last);
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "id", r->id);
    jw_str(&w, "kind", r->kind);
    jw_str(&w, "status", r->status);
    jw_str(&w, "severity", r->severity);
    jw_str(&w, "site", r->site);
    if (r->host_id[0]) {
        jw_str(&w, "host_id", r->host_id);
        jw_str(&w, "hostname", r->hostname);
    }
    jw_str(&w, "key", r->key);
    if (!strncmp(r->key, "actor:", 6))
        jw_str(&w, "actor_key", r->key + 6);
    jw_str(&w, "title", r->title);
    if (r->alert_kind[0])
        jw_str(&w, "alert_kind", r->alert_kind);
    if (r->exe[0])
        jw_str(&w, "exe", r->exe);
    jw_int(&w, "first_ms", r->first);
    jw_str(&w, "first", first);
    jw_int(&w, "last_ms", r->last);
    jw_str(&w, "last", last);
    jw_int(&w, "alert_count", r->alert_count);
    jw_int(&w, "host_count", r->host_count);
    if (r->resolved_at) {
        jw_str(&w, "resolved_by", r->resolved_by);
        jw_int(&w, "resolved_ms", r->resolved_at);
    }
    jw_int(&w, "rev", r->rev);
    jw_obj_end(&w);
    return finish(out, &w);
}

int api_command_json(struct hbuf *out, const struct cmd_row *r)
{
    char buf[CMD_MSG_MAX * 6 + 1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "id", r->uid);
    jw_str(&w, "host_id", r->host_id);
    jw_str(&w, "hostname", r->hostname);
    jw_str(&w, "action", cmd_action_name(r->action));
    const char *key = cmd_arg_key(r->action);
    if (key && r->arg[0])
        jw_str(&w, key, r->arg);
    jw_str(&w, "status", cmd_status_name(r->status));
    jw_str(&w, "created_by", r->created_by);
    jw_int(&w, "created_ms", r->created);
    if (r->sent)
        jw_int(&w, "sent_ms", r->sent);
    if (r->done)
        jw_int(&w, "done_ms", r->done);
    if (r->status == CMDST_OK || r->status == CMDST_FAILED)
        jw_str(&w, "message", r->message);
    jw_obj_end(&w);
    return finish(out, &w);
}

/* --------------------------------------------------------------- list -- */

static const char *const SEVERITIES[] = {"info", "low", "medium", "high", "critical"};

static int param_severity(struct api_call *q, struct apist_incident_q *f)
{
    const char *v = http_query(q->r, "severity");
    if (!v)
        return 0;
    for (const char *p = v; *p;) {
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

struct walk {
    struct api_page pg;
    struct hbuf row;
    int64_t last_id;
    bool more;
    int err;
};

static int inc_row(void *arg, const struct incident_row *r)
{
    struct walk *w = arg;
    if (w->pg.n >= w->pg.limit) {
        w->more = true;
        return 1;
    }
    hbuf_reset(&w->row, API_ROW_MAX);
    if (api_incident_json(&w->row, r) < 0) {
        w->err = 1;
        return 1;
    }
    if (!api_page_row(&w->pg, &w->row)) {
        w->more = true;
        return 1;
    }
    w->last_id = r->id;
    return 0;
}

void api_incidents_list(struct api_call *q)
{
    static const char *const allowed[] = {"site",  "host",   "status", "severity",
                                          "limit", "cursor", NULL};
    int limit;
    if (apii_params(q, allowed) < 0 || apii_limit(q, &limit) < 0)
        return;
    struct apist_incident_q f = {.site_id = q->who.site_id, .limit = limit + 1};
    const char *site = http_query(q->r, "site"), *host = http_query(q->r, "host");
    if (site && api_site_param(q, site, &f.site_id) < 0)
        return;
    struct host_row h;
    if (host && apii_host(q, host, &h) < 0)
        return;
    f.host_id = host ? h.id : NULL;
    f.status = http_query(q->r, "status");
    if (f.status && strcmp(f.status, "open") != 0 && strcmp(f.status, "resolved") != 0) {
        api_fail(q, 400, "bad_parameter", "status must be open or resolved");
        return;
    }
    if (param_severity(q, &f) < 0)
        return;
    char fps[1400];
    snprintf(fps, sizeof fps, "incidents|%" PRId64 "|%s|%s|%s", f.site_id, host ? host : "",
             f.status ? f.status : "",
             http_query(q->r, "severity") ? http_query(q->r, "severity") : "");
    uint32_t fp = api_fp(fps);
    struct api_cursor cur;
    bool has;
    if (apii_cursor(q, 'i', fp, &cur, &has) < 0)
        return;
    if (has)
        f.before_id = cur.n > 0 ? cur.n : 1;
    struct walk w = {0};
    api_page_begin(&w.pg, limit);
    hbuf_init(&w.row, API_ROW_MAX);
    int rc = apist_incidents(&q->a->st, &f, inc_row, &w);
    if (rc < 0 || w.err) {
        api_store_fail(q, "list incidents");
    } else {
        struct api_cursor next = {.list = 'i', .fp = fp, .n = w.last_id};
        char c[API_CURSOR_MAX];
        bool more = w.more && w.pg.n > 0 && api_cursor_encode(&next, c) == 0;
        api_page_end(&w.pg, more ? c : NULL);
        api_json(q, 200, &w.pg.body);
    }
    api_page_free(&w.pg);
    hbuf_free(&w.row);
}

/* ------------------------------------------------------------- detail -- */

/* One incident by the {id} path parameter, in scope: 0, or -1 answered. */
static int incident_param(struct api_call *q, struct incident_row *r)
{
    const char *v = http_param(&q->p, "id");
    char *end;
    errno = 0;
    long long id = strtoll(v, &end, 10);
    if (!*v || *end || errno || id <= 0) {
        api_fail(q, 404, "not_found", "no incident '%.64s'", v);
        return -1;
    }
    int rc = incident_get(&q->a->st, id, r);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read incident");
        return -1;
    }
    if (rc < 0 || !api_in_scope(&q->who, r->site_id)) {
        api_fail(q, 404, "not_found", "no incident %lld", id);
        return -1;
    }
    return 0;
}

struct d_alert {
    int64_t id, time;
    char host_id[HOST_ID_MAX], hostname[HOSTNAME_MAX];
    char kind[64], severity[16], action[16], actor_key[CMD_ARG_MAX], guard_id[CMD_ARG_MAX];
    char summary[512];
};

struct detail {
    struct d_alert *al;
    int nal;
    bool al_more;
    struct cmd_row *cm;
    int ncm;
    bool cm_more;
};

static int d_alert_row(void *arg, const struct alert_row *a)
{
    struct detail *d = arg;
    if (d->nal >= APII_DETAIL_ALERTS) {
        d->al_more = true;
        return 1;
    }
    struct d_alert *x = &d->al[d->nal++];
    memset(x, 0, sizeof *x);
    x->id = a->id;
    x->time = a->time;
    snprintf(x->host_id, sizeof x->host_id, "%s", a->host_id ? a->host_id : "");
    snprintf(x->hostname, sizeof x->hostname, "%s", a->hostname ? a->hostname : "");
    snprintf(x->kind, sizeof x->kind, "%s", a->kind ? a->kind : "");
    snprintf(x->severity, sizeof x->severity, "%s", a->severity ? a->severity : "");
    snprintf(x->summary, sizeof x->summary, "%s", a->summary ? a->summary : "");
    json_object *j = a->body ? json_tokener_parse(a->body) : NULL, *v;
    if (j && json_object_is_type(j, json_type_object)) {
        if (json_object_object_get_ex(j, "action", &v) && json_object_is_type(v, json_type_string))
            snprintf(x->action, sizeof x->action, "%s", json_object_get_string(v));
        if (json_object_object_get_ex(j, "actor_key", &v) &&
            json_object_is_type(v, json_type_string))
            snprintf(x->actor_key, sizeof x->actor_key, "%s", json_object_get_string(v));
        if (json_object_object_get_ex(j, "alert_id", &v) &&
            json_object_is_type(v, json_type_string) && cmd_alert_valid(json_object_get_string(v)))
            snprintf(x->guard_id, sizeof x->guard_id, "%s", json_object_get_string(v));
    }
    json_object_put(j);
    return 0;
}

static int d_cmd_row(void *arg, const struct cmd_row *c)
{
    struct detail *d = arg;
    if (d->ncm >= APII_DETAIL_COMMANDS) {
        d->cm_more = true;
        return 1;
    }
    d->cm[d->ncm++] = *c;
    return 0;
}

/* One step of the timeline: an alert, a command asked, its result, the resolution. */
struct step {
    int64_t time;
    int type; /* 0 alert, 1 command, 2 result, 3 resolved */
    int i;
};

static int step_cmp(const void *a, const void *b)
{
    const struct step *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->type != y->type ? x->type - y->type : x->i - y->i;
}

static void alert_obj(struct jw *w, const struct d_alert *a, bool step)
{
    char when[40];
    api_fmt_time(a->time, when, sizeof when);
    jw_obj_begin_key(w, NULL); /* an array element */
    if (step)
        jw_str(w, "type", "alert");
    jw_int(w, step ? "alert_id" : "id", a->id);
    jw_int(w, "time_ms", a->time);
    jw_str(w, "time", when);
    jw_str(w, "host_id", a->host_id);
    jw_str(w, "hostname", a->hostname);
    jw_str(w, "kind", a->kind);
    jw_str(w, "severity", a->severity);
    jw_str(w, "summary", a->summary);
    if (a->action[0])
        jw_str(w, "guard_action", a->action);
    if (a->actor_key[0])
        jw_str(w, "actor_key", a->actor_key);
    if (a->guard_id[0])
        jw_str(w, "guard_alert_id", a->guard_id); /* what restore takes */
    jw_obj_end(w);
}

static void write_detail(struct jw *w, const struct incident_row *r, const struct detail *d,
                         struct step *steps)
{
    /* hosts: distinct, in order of first alert */
    jw_arr_begin(w, "hosts");
    for (int i = 0; i < d->nal; i++) {
        bool seen = false;
        for (int k = 0; k < i && !seen; k++)
            seen = !strcmp(d->al[k].host_id, d->al[i].host_id);
        if (seen || !d->al[i].host_id[0])
            continue;
        int n = 0;
        for (int k = i; k < d->nal; k++)
            n += !strcmp(d->al[k].host_id, d->al[i].host_id);
        jw_obj_begin_key(w, NULL); /* an array element */
        jw_str(w, "id", d->al[i].host_id);
        jw_str(w, "hostname", d->al[i].hostname);
        jw_int(w, "alerts", n);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_arr_begin(w, "alerts");
    for (int i = 0; i < d->nal; i++)
        alert_obj(w, &d->al[i], false);
    jw_arr_end(w);
    jw_bool(w, "alerts_truncated", d->al_more);
    /* what mamori did: the guard's actions on the hosts, and response commands */
    jw_arr_begin(w, "responses");
    for (int i = 0; i < d->nal; i++) {
        const struct d_alert *a = &d->al[i];
        if (!a->action[0])
            continue;
        jw_obj_begin_key(w, NULL); /* an array element */
        jw_str(w, "by", "guard");
        jw_int(w, "time_ms", a->time);
        jw_str(w, "host_id", a->host_id);
        jw_str(w, "action", a->action);
        jw_int(w, "alert_id", a->id);
        jw_obj_end(w);
    }
    for (int i = 0; i < d->ncm; i++) {
        const struct cmd_row *c = &d->cm[i];
        jw_obj_begin_key(w, NULL); /* an array element */
        jw_str(w, "by", c->created_by);
        jw_int(w, "time_ms", c->created);
        jw_str(w, "host_id", c->host_id);
        jw_str(w, "action", cmd_action_name(c->action));
        jw_str(w, "command", c->uid);
        jw_str(w, "status", cmd_status_name(c->status));
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_arr_begin(w, "commands");
    for (int i = 0; i < d->ncm; i++) {
        const struct cmd_row *c = &d->cm[i];
        jw_obj_begin_key(w, NULL); /* an array element */
        jw_str(w, "id", c->uid);
        jw_str(w, "host_id", c->host_id);
        jw_str(w, "action", cmd_action_name(c->action));
        const char *key = cmd_arg_key(c->action);
        if (key && c->arg[0])
            jw_str(w, key, c->arg);
        jw_str(w, "status", cmd_status_name(c->status));
        jw_str(w, "created_by", c->created_by);
        jw_int(w, "created_ms", c->created);
        if (c->done)
            jw_int(w, "done_ms", c->done);
        if (c->status == CMDST_OK || c->status == CMDST_FAILED)
            jw_str(w, "message", c->message);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_bool(w, "commands_truncated", d->cm_more);
    /* the timeline: every step above in time order */
    int n = 0;
    for (int i = 0; i < d->nal; i++)
        steps[n++] = (struct step){d->al[i].time, 0, i};
    for (int i = 0; i < d->ncm; i++) {
        steps[n++] = (struct step){d->cm[i].created, 1, i};
        if (d->cm[i].done)
            steps[n++] = (struct step){d->cm[i].done, 2, i};
    }
    if (r->resolved_at)
        steps[n++] = (struct step){r->resolved_at, 3, 0};
    qsort(steps, (size_t)n, sizeof *steps, step_cmp);
    jw_arr_begin(w, "timeline");
    for (int s = 0; s < n; s++) {
        const struct step *p = &steps[s];
        if (p->type == 0) {
            alert_obj(w, &d->al[p->i], true);
            continue;
        }
        jw_obj_begin_key(w, NULL); /* an array element */
        jw_int(w, "time_ms", p->time);
        if (p->type == 3) {
            jw_str(w, "type", "resolved");
            jw_str(w, "by", r->resolved_by);
        } else {
            const struct cmd_row *c = &d->cm[p->i];
            jw_str(w, "type", p->type == 1 ? "command" : "command_result");
            jw_str(w, "command", c->uid);
            jw_str(w, "host_id", c->host_id);
            jw_str(w, "action", cmd_action_name(c->action));
            if (p->type == 1) {
                jw_str(w, "by", c->created_by);
                if (c->arg[0])
                    jw_str(w, "arg", c->arg);
            } else {
                jw_str(w, "status", cmd_status_name(c->status));
                jw_str(w, "message", c->message);
            }
        }
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

#define DETAIL_MAX (4u << 20) /* one incident's answer */

void api_incident_get(struct api_call *q)
{
    static const char *const allowed[] = {NULL};
    struct incident_row r;
    if (apii_params(q, allowed) < 0 || incident_param(q, &r) < 0)
        return;
    struct detail d = {0};
    d.al = calloc(APII_DETAIL_ALERTS, sizeof *d.al);
    d.cm = calloc(APII_DETAIL_COMMANDS, sizeof *d.cm);
    struct step *steps = calloc(APII_DETAIL_ALERTS + 2 * APII_DETAIL_COMMANDS + 1, sizeof *steps);
    char *buf = malloc(DETAIL_MAX);
    struct hbuf b;
    hbuf_init(&b, DETAIL_MAX + 64);
    if (!d.al || !d.cm || !steps || !buf) {
        api_fail(q, 503, "busy", "out of memory");
        goto out;
    }
    int64_t until = r.resolved_at ? r.resolved_at : q->now;
    if (apist_incident_alerts(&q->a->st, &r, APII_DETAIL_ALERTS + 1, d_alert_row, &d) < 0 ||
        apist_incident_commands(&q->a->st, &r, until, APII_DETAIL_COMMANDS + 1, d_cmd_row, &d) <
            0) {
        api_store_fail(q, "read incident");
        goto out;
    }
    if (hbuf_str(&b, "{\"incident\":") < 0 || api_incident_json(&b, &r) < 0) {
        api_fail(q, 500, "internal", "incident %lld is too large to show", (long long)r.id);
        goto out;
    }
    struct jw w;
    jw_init(&w, buf, DETAIL_MAX);
    jw_obj_begin(&w);
    write_detail(&w, &r, &d, steps);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    /* the rest of the object after the incident: {"hosts":...} without its brace */
    if (n < 2 || hbuf_str(&b, ",") < 0 || hbuf_add(&b, buf + 1, (size_t)n - 1) < 0 ||
        hbuf_str(&b, "\n") < 0) {
        api_fail(q, 500, "internal", "incident %lld is too large to show", (long long)r.id);
        goto out;
    }
    api_json(q, 200, &b);
out:
    hbuf_free(&b);
    free(buf);
    free(steps);
    free(d.cm);
    free(d.al);
}

/* ------------------------------------------------------------ resolve -- */

void api_incident_resolve(struct api_call *q)
{
    struct incident_row r;
    if (incident_param(q, &r) < 0)
        return;
    size_t blen = q->r->content_length;
    if (blen) {
        json_tokener *tok = json_tokener_new_ex(8);
        json_object *j = tok ? json_tokener_parse_ex(tok, q->body, (int)blen) : NULL;
        bool ok = tok && json_tokener_get_error(tok) == json_tokener_success &&
                  json_tokener_get_parse_end(tok) == blen && j &&
                  json_object_is_type(j, json_type_object) && json_object_object_length(j) == 0;
        json_tokener_free(tok);
        json_object_put(j);
        if (!ok) {
            api_fail(q, 400, "bad_body", "the body of a resolve is empty or {}");
            return;
        }
    }
    char actor[128], target[48];
    api_actor(&q->who, actor, sizeof actor);
    snprintf(target, sizeof target, "incident:%" PRId64, r.id);
    struct store *st = &q->a->st;
    bool changed = false;
    if (store_begin(st) < 0 || incident_resolve(st, r.id, actor, q->now, &changed) < 0 ||
        apist_audit_add(st, q->now, actor, "api_incident_resolve", target,
                        changed ? r.title : "already resolved", r.site_id) < 0 ||
        store_commit(st) < 0) {
        store_rollback(st);
        api_store_fail(q, "resolve incident");
        return;
    }
    q->audited = true;
    if (changed)
        log_info("API: %s resolved incident %" PRId64 " (%s)", actor, r.id, r.title);
    if (incident_get(st, r.id, &r) < 0) {
        api_store_fail(q, "read incident");
        return;
    }
    struct hbuf b;
    hbuf_init(&b, 64u << 10);
    hbuf_str(&b, "{\"incident\":");
    api_incident_json(&b, &r);
    hbuf_printf(&b, ",\"changed\":%s}\n", changed ? "true" : "false");
    api_json(q, 200, &b);
    hbuf_free(&b);
}
