/* send.h - one alert sent over one route, blocking, with bounded time.
 *
 * A route and an alert enter; the message is rendered (alert_text.h,
 * format.h) and sent: HTTP(S) POST with libcurl (webhook, slack, teams),
 * SMTP with libcurl (email), RFC 5424 syslog over TCP with octet-counting
 * framing (RFC 6587) or over TLS (RFC 5425) with OpenSSL. Every step has a
 * deadline: connect SEND_CONNECT_MS, the whole send SEND_TOTAL_MS; and
 * `stop` (when set) aborts within about 100 ms, so a stuck receiver holds
 * one worker for at most SEND_TOTAL_MS and never the server's shutdown.
 * Returns 0 when the receiver took the message (HTTP 2xx, SMTP 250 after
 * DATA, syslog bytes written and the connection closed cleanly), else < 0
 * with a sentence in err (targets masked) and *permanent set when a retry
 * cannot help (HTTP 4xx other than 408 and 429, a bad route). Callers call
 * send_global_init once before any thread sends. */
#ifndef MAMORI_DELIVER_SEND_H
#define MAMORI_DELIVER_SEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "deliver/alert_text.h"
#include "deliver/route.h"

#define SEND_CONNECT_MS 5000
#define SEND_TOTAL_MS 15000
#define SEND_ERR_MAX 300

int send_global_init(void);
int send_alert(const struct route *r, const struct dalert *a, const atomic_bool *stop, char *err,
               size_t errsz, bool *permanent);
/* The route test: a message of kind "test" (severity info) naming the route
 * and `from` (the server's host name), sent like an alert. The operator's
 * `mamori server route test` and the API's POST /routes/{id}/test. */
int send_route_test(const struct route *r, const char *from, const atomic_bool *stop, char *err,
                    size_t errsz);

/* transports (send_http.c, send_syslog.c) */
int send_http(const struct route *r, const struct route_opts *o, const char *json,
              const atomic_bool *stop, char *err, size_t errsz, bool *permanent);
int send_smtp(const struct route *r, const struct route_opts *o, const char *msg,
              const atomic_bool *stop, char *err, size_t errsz, bool *permanent);
int send_syslog(const struct route *r, const struct route_opts *o, const char *msg,
                const atomic_bool *stop, char *err, size_t errsz);

#endif
