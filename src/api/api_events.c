/* api_events.c - GET /api/v1/hosts/{id}/events: one host's events, a keyset
 * page at a time (docs/api.md).
 *
 * Query: since, until (ms since 1970 or RFC 3339 UTC; the event's own time,
 * since inclusive, until exclusive), limit (1..API_LIMIT_MAX, default
 * API_LIMIT_DEFAULT), cursor (next_cursor of the previous page, same
 * filters). Order: event time, then arrival (id). Scope: a host of another
 * site than a site-scoped caller's is 404, like GET /hosts/{id}. Data
 * enters from the API thread's own store connection (the events table,
 * written by server/events.c) and leaves as one JSON page: {"items": [{"id",
 * "seq", "time", "time_ms", "received_ms", "kind", "event"}], "count",
 * "limit", "next_cursor"}, "event" being the object the agent sent. */
#include "api/api_events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "core/err.h"

static int limit_param(struct api_call *q, int *limit)
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

/* A JSON string of s (kind: at most 63 bytes, any bytes but NUL). */
static void json_str(struct hbuf *b, const char *s)
{
    hbuf_str(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            hbuf_printf(b, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            hbuf_printf(b, "\\u%04x", ch);
        else
            hbuf_add(b, s, 1);
    }
    hbuf_str(b, "\"");
}

/* The row's JSON into b; the stored body is JSON text made by the server. */
static void row_json(struct hbuf *b, sqlite3_stmt *st)
{
    char when[40];
    int64_t t = sqlite3_column_int64(st, 2);
    api_fmt_time(t, when, sizeof when);
    hbuf_printf(b,
                "{\"id\":%" PRId64 ",\"seq\":%" PRId64 ",\"time\":\"%s\",\"time_ms\":%" PRId64
                ",\"received_ms\":%" PRId64 ",\"kind\":",
                (int64_t)sqlite3_column_int64(st, 0), (int64_t)sqlite3_column_int64(st, 1), when, t,
                (int64_t)sqlite3_column_int64(st, 3));
    const char *kind = (const char *)sqlite3_column_text(st, 4);
    if (kind)
        json_str(b, kind);
    else
        hbuf_str(b, "null");
    const void *body = sqlite3_column_text(st, 5);
    int n = sqlite3_column_bytes(st, 5);
    hbuf_str(b, ",\"event\":");
    if (body && n > 0)
        hbuf_add(b, body, (size_t)n);
    else
        hbuf_str(b, "null");
    hbuf_str(b, "}");
}

void api_host_events_list(struct api_call *q)
{
    static const char *const allowed[] = {"since", "until", "limit", "cursor", NULL};
    struct http_err e;
    if (http_query_check(q->r, allowed, &e) < 0) {
        api_fail(q, e.status, e.code, "%s", e.msg);
        return;
    }
    int limit;
    int64_t since, until;
    if (limit_param(q, &limit) < 0 || api_time_param(q, "since", 0, &since) < 0 ||
        api_time_param(q, "until", INT64_MAX, &until) < 0)
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
    char fps[256];
    snprintf(fps, sizeof fps, "events|%s|%" PRId64 "|%" PRId64, h.id, since, until);
    uint32_t fp = api_fp(fps);
    int64_t after_time = INT64_MIN, after_id = 0;
    const char *cv = http_query(q->r, "cursor");
    if (cv) {
        struct api_cursor c;
        char *end;
        if (api_cursor_decode(cv, &c) < 0 || c.list != 'e' || c.fp != fp ||
            (after_time = strtoll(c.k1, &end, 10), *end || !c.k1[0])) {
            api_fail(q, 400, "bad_cursor",
                     "cursor was not made by this list with these filters: send back "
                     "next_cursor unchanged, with the same filters");
            return;
        }
        after_id = c.n;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->a->st.db,
                           "SELECT id, seq, time, received, kind, body FROM events"
                           " WHERE host_id = ?1 AND time >= ?2 AND time < ?3"
                           " AND (time > ?4 OR (time = ?4 AND id > ?5))"
                           " ORDER BY time, id LIMIT ?6",
                           -1, &st, NULL) != SQLITE_OK) {
        api_store_fail(q, "list events");
        return;
    }
    sqlite3_bind_text(st, 1, h.id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    sqlite3_bind_int64(st, 4, after_time);
    sqlite3_bind_int64(st, 5, after_id);
    sqlite3_bind_int(st, 6, limit + 1);
    struct api_page pg;
    struct hbuf row;
    api_page_begin(&pg, limit);
    hbuf_init(&row, API_ROW_MAX * 2);
    struct api_cursor next = {.list = 'e', .fp = fp};
    bool more = false;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (pg.n >= limit) {
            more = true;
            break;
        }
        row_json(&row, st);
        bool ok = api_page_row(&pg, &row);
        hbuf_reset(&row, API_ROW_MAX * 2);
        if (!ok) { /* the page is full in bytes: the next one starts here */
            more = true;
            break;
        }
        next.n = sqlite3_column_int64(st, 0);
        snprintf(next.k1, sizeof next.k1, "%" PRId64, (int64_t)sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        api_store_fail(q, "list events");
    } else {
        char cur[API_CURSOR_MAX];
        bool has = more && pg.n > 0 && api_cursor_encode(&next, cur) == 0;
        api_page_end(&pg, has ? cur : NULL);
        api_json(q, 200, &pg.body);
    }
    api_page_free(&pg);
    hbuf_free(&row);
}
