/* api_json.c - the JSON shapes of sites, hosts, alerts and audit rows, and
 * paged lists {"items":[...],"next_cursor":...}. Rows come from
 * api_store.c; text leaves appended to an hbuf. Every string goes through
 * the escaping JSON writer (core/json.h), so hostile text (a hostname, an
 * alert summary) stays a string. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/json.h"

void api_fmt_time(int64_t ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outsz - n, ".%03dZ", (int)(ms % 1000 + 1000) % 1000);
}

static int finish(struct hbuf *out, struct jw *w)
{
    long n = jw_finish(w);
    return n < 0 ? MAMORI_EFULL : hbuf_add(out, w->buf, (size_t)n);
}

int api_host_json(struct hbuf *out, const struct host_row *h)
{
    char buf[2048];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "id", h->id);
    jw_str(&w, "hostname", h->hostname);
    jw_str(&w, "site", h->site);
    jw_str(&w, "status", host_status_name(h->status));
    jw_int(&w, "enrolled_ms", h->enrolled);
    jw_int(&w, "last_seen_ms", h->last_seen);
    if (h->revoked)
        jw_int(&w, "revoked_ms", h->revoked);
    jw_str(&w, "cert_sha256", h->cert_fp);
    if (h->version[0])
        jw_str(&w, "version", h->version);
    jw_obj_end(&w);
    return finish(out, &w);
}

int api_site_json(struct hbuf *out, const struct apist_site *s)
{
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "name", s->name);
    jw_int(&w, "id", s->id);
    jw_int(&w, "created_ms", s->created);
    jw_obj_begin_key(&w, "hosts");
    jw_int(&w, "total", s->hosts);
    jw_int(&w, "online", s->online);
    jw_int(&w, "offline", s->offline);
    jw_int(&w, "enrolled", s->enrolled);
    jw_int(&w, "revoked", s->revoked);
    jw_obj_end(&w);
    jw_obj_begin_key(&w, "open_incidents");
    for (int i = 0; i < APIST_SEVS; i++)
        jw_int(&w, APIST_SEV_NAMES[i], s->open_incidents[i]);
    jw_obj_end(&w);
    jw_obj_end(&w);
    return finish(out, &w);
}

/* The guard's action (alert, freeze, kill) when the body is a guard alert
 * record, for the console's titles; "" otherwise. Only bodies that name an
 * "action" are parsed. */
static void guard_action(const char *body, char out[8])
{
    out[0] = '\0';
    if (!body || body[0] != '{' || !strstr(body, "\"action\""))
        return;
    json_object *j = json_tokener_parse(body), *v;
    if (j && json_object_is_type(j, json_type_object) &&
        json_object_object_get_ex(j, "action", &v) && json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (!strcmp(s, "alert") || !strcmp(s, "freeze") || !strcmp(s, "kill"))
            snprintf(out, 8, "%s", s);
    }
    json_object_put(j);
}

/* The alert without its body; summary cut to `cut` bytes (0: whole). */
static long alert_obj(struct jw *w, const struct alert_row *a, size_t cut)
{
    char act[8];
    guard_action(a->body, act);
    char when[40];
    api_fmt_time(a->time, when, sizeof when);
    jw_obj_begin(w);
    jw_int(w, "id", a->id);
    jw_int(w, "time_ms", a->time);
    jw_str(w, "time", when);
    jw_str(w, "severity", a->severity ? a->severity : "");
    jw_str(w, "kind", a->kind ? a->kind : "");
    if (a->host_id)
        jw_str(w, "host_id", a->host_id);
    if (a->hostname)
        jw_str(w, "hostname", a->hostname);
    if (a->site)
        jw_str(w, "site", a->site);
    if (a->seq)
        jw_int(w, "seq", a->seq);
    if (a->incident_id)
        jw_int(w, "incident_id", a->incident_id);
    if (a->outbreak_id)
        jw_int(w, "outbreak_id", a->outbreak_id);
    if (act[0])
        jw_str(w, "guard_action", act);
    const char *sum = a->summary ? a->summary : "";
    size_t sl = strlen(sum);
    if (cut && sl > cut) {
        jw_strn(w, "summary", sum, cut);
        jw_bool(w, "summary_truncated", true);
    } else {
        jw_str(w, "summary", sum);
    }
    jw_obj_end(w);
    return jw_finish(w);
}

int api_alert_json(struct hbuf *out, const struct alert_row *a, bool full)
{
    char buf[API_ROW_MAX];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    long n = alert_obj(&w, a, 0);
    if (n < 0) {
        jw_init(&w, buf, sizeof buf);
        n = alert_obj(&w, a, 1024);
        if (n < 0)
            return MAMORI_EFULL;
    }
    if (!full || !a->body)
        return hbuf_add(out, buf, (size_t)n);
    /* the body: the agent's alert object as the server stored it */
    int rc = hbuf_add(out, buf, (size_t)n - 1); /* without the closing brace */
    json_object *j = json_tokener_parse(a->body);
    if (rc == 0 && j) {
        rc = hbuf_str(out, ",\"body\":");
        if (rc == 0)
            rc = hbuf_str(out, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    } else if (rc == 0) {
        /* not JSON (an agent's invalid alert): the text, escaped */
        size_t cap = strlen(a->body) * 6 + 64;
        char *tmp = malloc(cap);
        struct jw w2;
        rc = tmp ? 0 : MAMORI_ENOMEM;
        if (rc == 0) {
            jw_init(&w2, tmp, cap);
            jw_obj_begin(&w2);
            jw_str(&w2, "body_text", a->body);
            jw_obj_end(&w2);
            long m = jw_finish(&w2); /* {"body_text":"..."}: the braces are dropped */
            rc = m < 2 ? MAMORI_EFULL : hbuf_str(out, ",");
            if (rc == 0)
                rc = hbuf_add(out, tmp + 1, (size_t)m - 2);
        }
        free(tmp);
    }
    json_object_put(j);
    return rc == 0 ? hbuf_str(out, "}") : rc;
}

int api_audit_json(struct hbuf *out, const struct apist_audit *u)
{
    char buf[8192], when[40];
    struct jw w;
    api_fmt_time(u->time, when, sizeof when);
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "id", u->id);
    jw_int(&w, "time_ms", u->time);
    jw_str(&w, "time", when);
    jw_str(&w, "actor", u->actor ? u->actor : "");
    jw_str(&w, "action", u->action ? u->action : "");
    if (u->target)
        jw_str(&w, "target", u->target);
    if (u->detail)
        jw_strn(&w, "detail", u->detail, strnlen(u->detail, 1024));
    if (u->site)
        jw_str(&w, "site", u->site);
    jw_obj_end(&w);
    return finish(out, &w);
}

void api_page_begin(struct api_page *pg, int limit)
{
    memset(pg, 0, sizeof *pg);
    hbuf_init(&pg->body, API_PAGE_BYTES + (64u << 10));
    pg->limit = limit;
    hbuf_str(&pg->body, "{\"items\":[");
}

bool api_page_row(struct api_page *pg, const struct hbuf *row)
{
    if (pg->more || pg->body.len + row->len + 2 > API_PAGE_BYTES) {
        pg->more = true;
        return false;
    }
    if (pg->n)
        hbuf_str(&pg->body, ",");
    hbuf_add(&pg->body, row->p, row->len);
    pg->n++;
    return true;
}

void api_page_end(struct api_page *pg, const char *next_cursor)
{
    char tail[API_CURSOR_MAX + 128];
    if (next_cursor)
        snprintf(tail, sizeof tail, "],\"count\":%d,\"limit\":%d,\"next_cursor\":\"%s\"}\n", pg->n,
                 pg->limit, next_cursor);
    else
        snprintf(tail, sizeof tail, "],\"count\":%d,\"limit\":%d,\"next_cursor\":null}\n", pg->n,
                 pg->limit);
    hbuf_str(&pg->body, tail);
}

void api_page_free(struct api_page *pg)
{
    hbuf_free(&pg->body);
}
