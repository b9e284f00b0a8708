/* api_sse.c - GET /api/v1/events/stream: new alerts as server-sent events.
 *
 * Each stream remembers the last alert id it was sent. Every tick (250 ms)
 * the API reads the newest alert id; if a stream is behind, the alerts
 * after the oldest stream position are read in id order (at most
 * API_SSE_BATCH per tick) and each goes to every stream that has not had it
 * and whose caller may see its site:
 *
 *   id: 1234
 *   event: alert
 *   data: {"id":1234,"time_ms":...,"severity":"high",...}
 *
 * A stream starts at the newest alert, or after the Last-Event-ID header
 * (or last_event_id parameter) a reconnecting client sends, at most
 * API_SSE_REPLAY alerts back. A comment line every 15 s keeps proxies and
 * clients from timing out; then the caller's token (or console session) is
 * checked again and a stream of a revoked or expired one is closed. Bounds: API_STREAMS_MAX
 * streams (503 beyond), HTTP_STREAM_OUT_MAX bytes waiting per stream (a
 * client that falls further behind is closed and may resume with
 * Last-Event-ID). Incidents created or changed after the stream opened
 * follow as "event: incident" (no id line; see incidents_tick). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_incidents.h"
#include "api/api_int.h"
#include "core/err.h"
#include "core/log.h"
#include "web/web.h"

struct api_stream {
    struct http_conn *c;
    struct api_principal who;
    int64_t last_id;
    int64_t inc_rev; /* newest incident revision it was sent */
    struct api_stream *prev, *next;
};

static unsigned count(const struct api *a)
{
    unsigned n = 0;
    for (const struct api_stream *s = a->streams; s; s = s->next)
        n++;
    return n;
}

static int resume_id(struct api_call *q, int64_t *out)
{
    const char *v = http_header(q->r, "Last-Event-ID");
    const char *p = http_query(q->r, "last_event_id");
    if (v && p) {
        api_fail(q, 400, "bad_parameter", "give Last-Event-ID or last_event_id, not both");
        return -1;
    }
    if (!v)
        v = p;
    *out = -1;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 0) {
        api_fail(q, 400, "bad_parameter", "Last-Event-ID must be an alert id");
        return -1;
    }
    *out = n;
    return 0;
}

void api_stream_open(struct api_call *q)
{
    static const char *const allowed[] = {"last_event_id", NULL};
    struct http_err e;
    if (http_query_check(q->r, allowed, &e) < 0) {
        api_fail(q, e.status, e.code, "%s", e.msg);
        return;
    }
    int64_t from;
    if (resume_id(q, &from) < 0)
        return;
    struct api *a = q->a;
    if (count(a) >= API_STREAMS_MAX) {
        api_fail(q, 503, "busy", "%d event streams are open already: try again later",
                 API_STREAMS_MAX);
        return;
    }
    int64_t max = apist_alert_max_id(&a->st);
    if (max < 0) {
        api_store_fail(q, "read the newest alert");
        return;
    }
    struct api_stream *s = calloc(1, sizeof *s);
    if (!s) {
        api_fail(q, 503, "busy", "out of memory");
        return;
    }
    s->c = q->c;
    s->who = q->who;
    s->last_id = from < 0 ? max : from < max - API_SSE_REPLAY ? max - API_SSE_REPLAY : from;
    s->inc_rev = apist_incident_max_rev(&a->st); /* incidents: from now on only */
    if (s->inc_rev < 0)
        s->inc_rev = 0;
    if (http_stream_begin(q->c, "text/event-stream; charset=utf-8", s) < 0) {
        free(s);
        api_fail(q, 500, "internal", "cannot start the stream");
        return;
    }
    q->status = 200;
    s->next = a->streams;
    if (a->streams)
        a->streams->prev = s;
    a->streams = s;
    char hello[96];
    int n = snprintf(hello, sizeof hello, "retry: 2000\n: mamori alerts after id %" PRId64 "\n\n",
                     s->last_id);
    http_stream_send(q->c, hello, (size_t)n);
}

void api_stream_closed(void *arg, struct http_conn *c)
{
    struct api *a = arg;
    struct api_stream *s = http_conn_user(c);
    if (!s)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        a->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

void api_streams_free(struct api *a)
{
    while (a->streams) {
        struct api_stream *s = a->streams;
        a->streams = s->next;
        free(s);
    }
}

struct fan {
    struct api *a;
    struct hbuf ev;
    int64_t last;
};

static int fan_out(void *arg, const struct alert_row *row)
{
    struct fan *f = arg;
    hbuf_reset(&f->ev, 128u << 10);
    hbuf_printf(&f->ev, "id: %" PRId64 "\nevent: alert\ndata: ", row->id);
    if (api_alert_json(&f->ev, row, false) < 0 || hbuf_str(&f->ev, "\n\n") < 0)
        hbuf_reset(&f->ev, 128u << 10);
    for (struct api_stream *s = f->a->streams; s; s = s->next) {
        if (s->last_id >= row->id)
            continue;
        s->last_id = row->id;
        if (f->ev.len && api_in_scope(&s->who, row->site_id))
            http_stream_send(s->c, f->ev.p, f->ev.len);
    }
    f->last = row->id;
    return 0;
}

/* Every 15 s: a comment line, and the token checked again. */
static void ping(struct api *a, int64_t now)
{
    for (struct api_stream *s = a->streams; s; s = s->next) {
        if (!strcmp(s->who.kind, "user")) { /* a console session (src/web) */
            if (!web_session_alive(&a->st, s->who.session, now)) {
                log_info("API: event stream of user %s closed: the session ended", s->who.name);
                http_stream_end(s->c);
            } else {
                http_stream_send(s->c, ": ping\n\n", 8);
            }
            continue;
        }
        struct apist_token t;
        int rc = apist_token_get(&a->st, s->who.id, &t);
        if (rc == MAMORI_ENOENT || (rc == 0 && (t.revoked || (t.expires && now >= t.expires)))) {
            log_info("API: event stream of token %s closed: the token was revoked or expired",
                     s->who.id);
            http_stream_end(s->c);
            continue;
        }
        http_stream_send(s->c, ": ping\n\n", 8);
    }
}

static void alerts_tick(struct api *a, uint64_t now_ms)
{
    if (!a->streams)
        return;
    if (now_ms >= a->next_ping) {
        if (a->next_ping)
            ping(a, api_wall_ms());
        a->next_ping = now_ms + API_SSE_PING_MS;
    }
    int64_t max = apist_alert_max_id(&a->st);
    if (max < 0) {
        log_warn("API event stream: %s", a->st.err);
        return;
    }
    int64_t from = max;
    for (struct api_stream *s = a->streams; s; s = s->next)
        if (s->last_id < from)
            from = s->last_id;
    if (from >= max)
        return;
    struct fan f = {.a = a, .last = from};
    hbuf_init(&f.ev, API_ROW_MAX * 2);
    /* ascending after `from`; -1 stands for "from the first" (ids start at 1) */
    struct apist_alert_q qq = {.after_id = from > 0 ? from : -1, .limit = API_SSE_BATCH};
    int rc = apist_alerts(&a->st, &qq, fan_out, &f);
    if (rc < 0)
        log_warn("API event stream: %s", a->st.err);
    hbuf_free(&f.ev);
}

/* Incidents created or changed since each stream's inc_rev (incidents.rev),
 * as "event: incident" without an id line (Last-Event-ID stays the alerts'
 * position): a stream gets the incidents changed after it opened. */
struct inc_fan {
    struct api *a;
    struct hbuf ev;
};

static int inc_fan_out(void *arg, const struct incident_row *row)
{
    struct inc_fan *f = arg;
    hbuf_reset(&f->ev, 64u << 10);
    hbuf_str(&f->ev, "event: incident\ndata: ");
    if (api_incident_json(&f->ev, row) < 0 || hbuf_str(&f->ev, "\n\n") < 0)
        hbuf_reset(&f->ev, 64u << 10);
    for (struct api_stream *s = f->a->streams; s; s = s->next) {
        if (s->inc_rev >= row->rev)
            continue;
        s->inc_rev = row->rev;
        if (f->ev.len && api_in_scope(&s->who, row->site_id))
            http_stream_send(s->c, f->ev.p, f->ev.len);
    }
    return 0;
}

static void incidents_tick(struct api *a)
{
    int64_t max = apist_incident_max_rev(&a->st);
    if (max < 0) {
        log_warn("API event stream: %s", a->st.err);
        return;
    }
    int64_t from = max;
    for (struct api_stream *s = a->streams; s; s = s->next)
        if (s->inc_rev < from)
            from = s->inc_rev;
    if (from >= max)
        return;
    struct inc_fan f = {.a = a};
    hbuf_init(&f.ev, API_ROW_MAX);
    struct apist_incident_q qq = {.after_rev = from > 0 ? from : -1, .limit = API_SSE_BATCH};
    if (apist_incidents(&a->st, &qq, inc_fan_out, &f) < 0)
        log_warn("API event stream: %s", a->st.err);
    hbuf_free(&f.ev);
}

void api_stream_tick(struct api *a, uint64_t now_ms)
{
    alerts_tick(a, now_ms);
    if (a->streams)
        incidents_tick(a);
}
