/* api_counts.c - GET /api/v1/alerts/counts: how many alerts a window holds,
 * per hour and per site and severity, counted by the store in one grouped
 * query (the console's overview: its chart and site cards), so a client
 * never pages through the alerts themselves to count them.
 *
 * Query: since, until (ms since 1970 or RFC 3339 UTC; the alert's time,
 * since inclusive, until exclusive; default the 24 h before now), site.
 * At most COUNTS_BUCKETS_MAX hourly buckets. Scope: a site-scoped caller
 * counts its own site only; site= outside its scope is 404. Data enters
 * from the API thread's store connection (alerts by the index on time) and
 * leaves as one JSON object: {"since_ms", "until_ms", "bucket_ms", "total",
 * "buckets": [n, ...], "sites": [{"site", "total", "critical", "high",
 * "medium", "low", "info"}, ...]} (sites with alerts in the window, by
 * name). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/json.h"

#define COUNTS_BUCKET_MS 3600000
#define COUNTS_BUCKETS_MAX 192 /* 8 days of hours: "since a week ago" always fits */

static const char *const SEVS[] = {"critical", "high", "medium", "low", "info"};
#define NSEVS 5

struct site_acc {
    char name[SITE_NAME_MAX + 1];
    int64_t total, sev[NSEVS];
    bool any;
};

/* The site's object into b (after a comma when not the first). */
static int site_out(struct hbuf *b, const struct site_acc *s, bool first)
{
    char buf[512];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "site", s->name);
    jw_int(&w, "total", s->total);
    for (int i = 0; i < NSEVS; i++)
        jw_int(&w, SEVS[i], s->sev[i]);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    if (n < 0 || (!first && hbuf_str(b, ",") < 0))
        return -1;
    return hbuf_add(b, buf, (size_t)n);
}

void api_alert_counts(struct api_call *q)
{
    static const char *const allowed[] = {"since", "until", "site", NULL};
    struct http_err e;
    if (http_query_check(q->r, allowed, &e) < 0) {
        api_fail(q, e.status, e.code, "%s", e.msg);
        return;
    }
    int64_t until, since, site_id = q->who.site_id;
    if (api_time_param(q, "until", q->now, &until) < 0 ||
        api_time_param(q, "since", until - 24 * (int64_t)COUNTS_BUCKET_MS, &since) < 0)
        return;
    const char *site = http_query(q->r, "site");
    if (site && api_site_param(q, site, &site_id) < 0)
        return;
    if (since >= until || (until - since) > (int64_t)COUNTS_BUCKETS_MAX * COUNTS_BUCKET_MS) {
        api_fail(q, 400, "bad_parameter",
                 "since must be before until, at most %d hours (one bucket an hour) apart",
                 COUNTS_BUCKETS_MAX);
        return;
    }
    int nb = (int)((until - since + COUNTS_BUCKET_MS - 1) / COUNTS_BUCKET_MS);
    sqlite3_stmt *st = NULL;
    /* the window by alerts_time (range on both ends: the planner keeps to it
     * rather than walk alerts_site_id for the GROUP BY); ordered by site name */
    if (sqlite3_prepare_v2(q->a->st.db,
                           "SELECT COALESCE(s.name, ''), g.severity, g.b, g.n FROM"
                           " (SELECT site_id, severity, (time - ?1) / ?4 AS b, count(*) AS n"
                           "  FROM alerts WHERE time >= ?1 AND time < ?2"
                           "  AND (?3 = 0 OR site_id = ?3) GROUP BY 1, 2, 3) g"
                           " LEFT JOIN sites s ON s.id = g.site_id ORDER BY 1",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(q->a->st.err, sizeof q->a->st.err, "%s", sqlite3_errmsg(q->a->st.db));
        api_store_fail(q, "count alerts");
        return;
    }
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, until);
    sqlite3_bind_int64(st, 3, site_id);
    sqlite3_bind_int64(st, 4, COUNTS_BUCKET_MS);
    int64_t buckets[COUNTS_BUCKETS_MAX] = {0}, total = 0;
    struct hbuf sites;
    hbuf_init(&sites, API_PAGE_BYTES);
    struct site_acc cur = {0};
    bool first = true;
    int r, bad = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *sev = (const char *)sqlite3_column_text(st, 1);
        int64_t b = sqlite3_column_int64(st, 2), n = sqlite3_column_int64(st, 3);
        if (b >= 0 && b < nb)
            buckets[b] += n;
        total += n;
        if (!name || !name[0])
            continue; /* an alert without a site: in the buckets and total only */
        if (cur.any && strcmp(cur.name, name) != 0) {
            bad |= site_out(&sites, &cur, first) < 0;
            first = false;
            memset(&cur, 0, sizeof cur);
        }
        snprintf(cur.name, sizeof cur.name, "%s", name);
        cur.any = true;
        cur.total += n;
        for (int i = 0; sev && i < NSEVS; i++)
            if (!strcmp(sev, SEVS[i]))
                cur.sev[i] += n;
    }
    if (cur.any)
        bad |= site_out(&sites, &cur, first) < 0;
    if (r != SQLITE_DONE)
        snprintf(q->a->st.err, sizeof q->a->st.err, "%s", sqlite3_errmsg(q->a->st.db));
    sqlite3_finalize(st);
    if (r != SQLITE_DONE) {
        api_store_fail(q, "count alerts");
        hbuf_free(&sites);
        return;
    }
    struct hbuf out;
    hbuf_init(&out, API_PAGE_BYTES + 4096);
    hbuf_printf(&out,
                "{\"since_ms\":%" PRId64 ",\"until_ms\":%" PRId64
                ",\"bucket_ms\":%d,\"total\":%" PRId64 ",\"buckets\":[",
                since, until, COUNTS_BUCKET_MS, total);
    for (int i = 0; i < nb; i++)
        hbuf_printf(&out, "%s%" PRId64, i ? "," : "", buckets[i]);
    hbuf_str(&out, "],\"sites\":[");
    hbuf_add(&out, sites.p ? sites.p : "", sites.len);
    if (bad || hbuf_str(&out, "]}\n") < 0)
        api_fail(q, 500, "internal", "the counts do not fit in an answer (%d sites or more)",
                 API_PAGE_BYTES / 100);
    else
        api_json(q, 200, &out);
    hbuf_free(&sites);
    hbuf_free(&out);
}
