/* api_int.h - what the files of src/api share: the API context (owned by
 * the API thread once started) and one request being handled. Internal. */
#ifndef MAMORI_API_API_INT_H
#define MAMORI_API_API_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_auth.h"
#include "api/api_cursor.h"
#include "api/api_store.h"
#include "http/hbuf.h"
#include "http/http_router.h"
#include "http/http_server.h"

#define API_LIMIT_DEFAULT 100
#define API_LIMIT_MAX 500
#define API_PAGE_BYTES (4u << 20) /* a page stops early rather than pass this */
#define API_ROW_MAX (64u << 10)   /* one row's JSON */
#define API_SSE_BATCH 256         /* alerts read per tick for the event stream */
#define API_SSE_REPLAY 1000       /* Last-Event-ID: at most this many alerts back */
#define API_SSE_PING_MS 15000

struct api_stream; /* api_sse.c */
struct api_rtest;  /* api_route_test.c */

struct api {
    struct api_opts o;
    const struct srv_opts *so;
    struct store st;
    SSL_CTX *tls;
    struct http_server *hs;
    pthread_t thread;
    bool running;
    uint8_t ca_spki[32];
    char listen[SOCK_ADDR_MAX];         /* bound address */
    char agent_url[SOCK_HOST_MAX + 24]; /* https://NAME:PORT agents enroll with */
    /* event stream */
    struct web *web; /* the console (src/web): sessions, login limiter, page files */
    struct api_stream *streams;
    int64_t sse_max_id; /* newest alert id fanned out */
    int64_t data_version;
    uint64_t next_ping;
    struct api_rtest *rtest; /* the route test running or last run (NULL: none yet) */
};

struct api_call {
    struct api *a;
    struct http_conn *c;
    const struct http_req *r;
    const char *body;
    struct http_params p;
    struct api_principal who;
    int64_t now;   /* wall clock ms */
    bool audited;  /* the handler wrote the audit row of this write */
    int status;    /* the answer given */
    char why[200]; /* its error message, if any */
};

/* api.c: answers (they also note the outcome for the audit of writes) */
void api_json(struct api_call *q, int status, const struct hbuf *body);
void api_fail(struct api_call *q, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 500 naming the store's reason (logged). */
void api_store_fail(struct api_call *q, const char *what);
int64_t api_wall_ms(void);

/* api_read.c */
void api_health(struct api_call *q);
void api_sites_list(struct api_call *q);
void api_site_get(struct api_call *q);
void api_hosts_list(struct api_call *q);
void api_host_get(struct api_call *q);
void api_alerts_list(struct api_call *q);
void api_alert_get(struct api_call *q);
void api_audit_list(struct api_call *q);
/* The site named by a `site` value within q->who's scope: 0 with *id set,
 * or an answer (404 for a site out of scope, as for one that does not exist). */
int api_site_param(struct api_call *q, const char *name, int64_t *id);
/* Query parameter `name` as ms since 1970 or RFC 3339 UTC (2024-05-01T12:00:00Z,
 * fraction allowed) into *out, dflt when absent: 0, or -1 and a 400 answer. */
int api_time_param(struct api_call *q, const char *name, int64_t dflt, int64_t *out);

/* api_counts.c */
void api_alert_counts(struct api_call *q);

/* api_write.c */
void api_token_create(struct api_call *q);
void api_host_revoke(struct api_call *q);

/* api_sse.c */
void api_stream_open(struct api_call *q);
void api_stream_tick(struct api *a, uint64_t now_ms);
void api_stream_closed(void *arg, struct http_conn *c);
void api_streams_free(struct api *a);

/* api_json.c: objects as the API shows them, and pages */
int api_host_json(struct hbuf *out, const struct host_row *h);
int api_site_json(struct hbuf *out, const struct apist_site *s);
/* full: with the alert's body (parsed back to JSON when it is JSON). */
int api_alert_json(struct hbuf *out, const struct alert_row *a, bool full);
int api_audit_json(struct hbuf *out, const struct apist_audit *u);
void api_fmt_time(int64_t ms, char *out, size_t outsz); /* RFC 3339 UTC */

struct api_page {
    struct hbuf body;
    int n, limit;
    bool more; /* a row did not fit: the page ends early */
};
void api_page_begin(struct api_page *pg, int limit);
/* Append one row (JSON object text) unless the page is full: false then. */
bool api_page_row(struct api_page *pg, const struct hbuf *row);
/* Close the page with next_cursor (NULL: the last page). */
void api_page_end(struct api_page *pg, const char *next_cursor);
void api_page_free(struct api_page *pg);

#endif
