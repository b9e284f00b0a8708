/* api.h - the HTTPS JSON API of `mamori server` (/api/v1/..., docs/api.md).
 *
 * Started by srv_run (server.c) once the CA, server.crt and the database
 * exist, it runs in its own thread with its own epoll loop (src/http), its
 * own TLS 1.3 listener (--api-listen, default API_DEFAULT_LISTEN, with the
 * server certificate the CA issued for the --name list) and its own SQLite
 * connection. It meets the agent loop only through the database: what it
 * writes (revocations, tokens) the loop notices through data_version at its
 * next tick; what the loop writes (alerts, host status) it reads.
 *
 * Data enters as HTTPS requests and rows of server.db; it leaves as JSON
 * responses, server-sent events, rows (tokens, revocations, audit) and one
 * `api_ready` event line written by api_start in the caller's thread (the
 * API thread itself writes only diagnostics on stderr). */
#ifndef MAMORI_API_API_H
#define MAMORI_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "net/sock.h"

#define API_DEFAULT_LISTEN "127.0.0.1:8443"
#define API_DEFAULT_MAX_CONNS 256
#define API_STREAMS_MAX 64 /* event-stream clients at most */

struct srv_opts;
struct srv_ca;

struct api_opts {
    bool enabled;  /* false: --api-listen none */
    bool explicit; /* given on the command line: not being able to listen is an error */
    struct hostport listen;
    unsigned max_conns;
    const char *web_dir; /* --web-dir: the console's files from disk (development), or NULL */
};

void api_opts_default(struct api_opts *o);
/* --api-listen ADDR:PORT or "none". 0, or -1 with a reason in err. */
int api_opts_listen(struct api_opts *o, const char *v, char *err, size_t errsz);

struct api;

/* Listen, open the store, start the thread; write the api_ready line on
 * events. agent_lfd is the agents' listening socket (for the port in the
 * enrollment command the API hands out). Returns 0 with *out set (NULL if
 * the API is disabled or, for the default address only, could not listen:
 * a warning says so and the server runs without it), or MAMORI_ECONFIG /
 * another MAMORI_E* code (logged). */
int api_start(const struct api_opts *ao, const struct srv_opts *so, const struct srv_ca *ca,
              int agent_lfd, FILE *events, struct api **out);
/* Stop the thread, close everything. NULL is fine. */
void api_stop(struct api *a);

#endif
