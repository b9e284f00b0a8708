/* guardline.c - the guard's output lines cut and read for the agent (see
 * guardline.h): bytes in, lines out; a line in, its kind and (for an
 * alert) a spool record out. */
#include "agent/guardline.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

#define JSON_DEPTH 8 /* the guard's lines nest two deep */

void guardline_feed(struct linebuf *lb, const char *data, size_t n, line_fn fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (!lb->skipping) {
            if (lb->len + take > GUARDLINE_MAX - 1) {
                lb->skipping = true; /* too long: drop it whole */
                lb->len = 0;
                lb->overlong++;
            } else {
                memcpy(lb->buf + lb->len, data, take);
                lb->len += take;
            }
        }
        if (!nl)
            return;
        if (!lb->skipping)
            fn(ctx, lb->buf, lb->len);
        lb->skipping = false;
        lb->len = 0;
        data = nl + 1;
        n -= take + 1;
    }
}

static const char *str_of(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int64_t int_of(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    return json_object_get_int64(v);
}

static size_t arr_len(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
        return 0;
    return json_object_array_length(v);
}

static const char *arr_str(struct json_object *o, const char *key, size_t i)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array) ||
        i >= json_object_array_length(v))
        return NULL;
    struct json_object *e = json_object_array_get_idx(v, i);
    return json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

/* One English line: "the guard killed /usr/bin/x (pid 4121, user bob): 12
 * files damaged, e.g. /srv/a.docx". */
static void summarize(struct json_object *o, const char *action, char *out, size_t cap)
{
    const char *exe = str_of(o, "exe");
    const char *user = str_of(o, "user");
    const char *file = arr_str(o, "files", 0);
    int64_t pid = -1;
    struct json_object *pids;
    if (json_object_object_get_ex(o, "pids", &pids) && json_object_is_type(pids, json_type_array) &&
        json_object_array_length(pids) > 0)
        pid = json_object_get_int64(json_object_array_get_idx(pids, 0));
    int64_t damaged = int_of(o, "files_damaged");
    const char *verb = !strcmp(action, "kill")     ? "killed"
                       : !strcmp(action, "freeze") ? "froze"
                                                   : "saw (and did not stop, action alert)";
    char who[160] = "";
    if (pid > 0)
        snprintf(who, sizeof who, " (pid %lld%s%.60s)", (long long)pid, user ? ", user " : "",
                 user ? user : "");
    char what[400] = "behaving like ransomware";
    if (damaged > 0)
        snprintf(what, sizeof what, "%lld file%s damaged%s%.300s", (long long)damaged,
                 damaged == 1 ? "" : "s", file ? ", e.g. " : "", file ? file : "");
    snprintf(out, cap, "the guard %s %.200s%s: %s", verb, exe && exe[0] ? exe : "a process", who,
             what);
}

static enum guardline_kind bad(struct guardline *out, const char *why)
{
    out->kind = GL_BAD;
    snprintf(out->note, sizeof out->note, "%s", why);
    return GL_BAD;
}

static enum guardline_kind alert(struct json_object *o, int64_t now_ms, struct guardline *out,
                                 char *rec, size_t cap, size_t *reclen)
{
    const char *id = str_of(o, "id");
    const char *action = str_of(o, "action");
    const char *key = str_of(o, "actor_key");
    if (!id || !id[0] || strlen(id) >= sizeof out->alert_id)
        return bad(out, "alert line without a valid \"id\"");
    if (!action)
        action = "?";
    snprintf(out->alert_id, sizeof out->alert_id, "%s", id);
    if (key && strlen(key) < sizeof out->actor_key)
        snprintf(out->actor_key, sizeof out->actor_key, "%s", key);
    snprintf(out->severity, sizeof out->severity, "%s",
             !strcmp(action, "kill") || !strcmp(action, "freeze") ? "critical" : "high");
    char summary[1024]; /* room for the whole summarize() text */
    summarize(o, action, summary, sizeof summary);
    /* the guard's object with the spool's fields added (flat, so the server
     * reads actor_key, exe, user, indicators where every alert has them);
     * too big: without the file list, then the command line, then only the
     * spool's fields */
    struct json_object *r = json_object_get(o);
    json_object_object_del(r, "event");
    json_object_object_add(r, "time_ms", json_object_new_int64(now_ms));
    json_object_object_add(r, "kind", json_object_new_string(GUARDLINE_KIND));
    json_object_object_add(r, "severity", json_object_new_string(out->severity));
    json_object_object_add(r, "summary", json_object_new_string(summary));
    json_object_object_add(r, "alert_id", json_object_new_string(out->alert_id));
    static const char *const shed[] = {"files", "cmdline", NULL};
    long n = -1;
    for (size_t i = 0;; i++) {
        const char *t = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
        size_t tl = t ? strlen(t) : 0;
        if (t && tl < cap) {
            memcpy(rec, t, tl + 1);
            n = (long)tl;
            break;
        }
        if (!shed[i])
            break;
        json_object_object_del(r, shed[i]);
        snprintf(out->note, sizeof out->note, "the alert did not fit a spool record of %zu "
                 "bytes: sent without %s", cap, shed[i]);
    }
    json_object_put(r);
    if (n < 0) {
        struct jw w;
        jw_init(&w, rec, cap);
        jw_obj_begin(&w);
        jw_int(&w, "time_ms", now_ms);
        jw_str(&w, "kind", GUARDLINE_KIND);
        jw_str(&w, "severity", out->severity);
        jw_str(&w, "summary", summary);
        jw_str(&w, "alert_id", out->alert_id);
        jw_str(&w, "actor_key", out->actor_key);
        jw_str(&w, "action", action);
        jw_obj_end(&w);
        n = jw_finish(&w);
        if (n < 0 || (size_t)n >= cap)
            return bad(out, "alert does not fit a spool record");
        rec[n] = '\0';
        snprintf(out->note, sizeof out->note, "the alert did not fit a spool record of %zu "
                 "bytes: sent with its key fields only", cap);
    }
    *reclen = (size_t)n;
    out->kind = GL_ALERT;
    return GL_ALERT;
}

static void ready(struct json_object *o, struct guardline *out)
{
    const char *deg = str_of(o, "degraded");
    out->degraded = deg && deg[0];
    char paths[300] = "";
    size_t np = arr_len(o, "protect"), at = 0;
    for (size_t i = 0; i < np && at + 2 < sizeof paths; i++) {
        const char *p = arr_str(o, "protect", i);
        int w = snprintf(paths + at, sizeof paths - at, "%s%s", i ? " " : "", p ? p : "?");
        if (w < 0)
            break;
        at += (size_t)w < sizeof paths - at ? (size_t)w : sizeof paths - at - 1;
    }
    snprintf(out->note, sizeof out->note, "protecting %s%s%.180s", paths,
             out->degraded ? "; degraded: " : "", out->degraded ? deg : "");
}

/* Any other line as an event record for DIR/spool-events: the guard's
 * object with "kind":"guard_<event>" and "time_ms" instead of "event". */
static void event_rec(struct json_object *o, const char *ev, int64_t now_ms, char *rec,
                      size_t cap, size_t *reclen)
{
    char kind[64];
    snprintf(kind, sizeof kind, "guard_%.50s", ev);
    struct json_object *r = json_object_get(o);
    json_object_object_del(r, "event");
    json_object_object_add(r, "kind", json_object_new_string(kind));
    json_object_object_add(r, "time_ms", json_object_new_int64(now_ms));
    const char *t = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
    size_t tl = t ? strlen(t) : 0;
    if (t && tl < cap) {
        memcpy(rec, t, tl + 1);
        *reclen = tl;
    }
    json_object_put(r);
}

enum guardline_kind guardline_parse(const char *line, size_t len, int64_t now_ms,
                                    struct guardline *out, char *rec, size_t cap,
                                    size_t *reclen)
{
    memset(out, 0, sizeof *out);
    *reclen = 0;
    if (len == 0 || len >= GUARDLINE_MAX)
        return bad(out, len ? "line longer than the bound" : "empty line");
    if (memchr(line, '\0', len))
        return bad(out, "line holds a NUL byte");
    struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
    if (!tok)
        return bad(out, "out of memory");
    struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    enum guardline_kind k;
    if (!o || je != json_tokener_success) {
        k = bad(out, "not JSON");
    } else if (!json_object_is_type(o, json_type_object)) {
        k = bad(out, "not a JSON object");
    } else if (used != len && strspn(line + used, " \t\r") != len - used) {
        k = bad(out, "text after the JSON object");
    } else {
        const char *ev = str_of(o, "event");
        snprintf(out->event, sizeof out->event, "%s", ev ? ev : "");
        if (!ev)
            k = bad(out, "no \"event\"");
        else if (!strcmp(ev, "alert"))
            k = alert(o, now_ms, out, rec, cap, reclen);
        else if (!ev[0] || strlen(ev) > 50)
            k = bad(out, "\"event\" is empty or longer than 50 bytes");
        else if (!strcmp(ev, "ready")) {
            ready(o, out);
            k = out->kind = GL_READY;
        } else if (!strcmp(ev, "stopped")) {
            k = out->kind = GL_STOPPED;
        } else {
            snprintf(out->note, sizeof out->note, "%.200s", ev);
            k = out->kind = GL_OTHER;
        }
        if (k != GL_ALERT && k != GL_BAD)
            event_rec(o, ev, now_ms, rec, cap, reclen);
    }
    json_object_put(o);
    return k;
}
