/* server.h - `mamori server run`: the head-office process.
 *
 * One thread, one epoll loop (server.c) over: the listening socket, every
 * agent connection (non-blocking TLS, net/conn.c), a signalfd (SIGINT,
 * SIGTERM stop it cleanly) and a timerfd ticking every SRV_TICK_MS for
 * liveness, timeouts, batched writes and revocations (liveness.c). Frames are
 * handled in session.c. Data lives in opts.data (store.h, ca.h).
 *
 * Output: one JSON object per line on `events` for what an operator or a
 * test watches (ready, enrolled, online, offline, revoked, drop, alert);
 * diagnostics on stderr through core/log. */
#ifndef MAMORI_SERVER_SERVER_H
#define MAMORI_SERVER_SERVER_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "net/sock.h"

struct api_opts;
struct srv_conf;

#define SRV_NAMES_MAX 16
#define SRV_TICK_MS 250
#define SRV_DEFAULT_DATA "/var/lib/mamori/server"
#define SRV_DEFAULT_LISTEN "0.0.0.0:7447"
#define SRV_DEFAULT_OFFLINE_MS 30000
#define SRV_DEFAULT_HEARTBEAT_MS 10000
#define SRV_DEFAULT_MAX_CONNS 20000
#define SRV_HANDSHAKE_MS 10000    /* TLS handshake + first frame */
#define SRV_WBUF_MAX (256u << 10) /* queued replies per connection */
#define SRV_INTAKE_MAX 4096       /* alerts waiting for a batched write */
#define SRV_INTAKE_MAX 4096       /* alerts waiting for a batched write */

struct srv_opts {
    char data[PATH_MAX - 64];
    struct hostport listen;
    const char *names[SRV_NAMES_MAX]; /* server certificate names; empty: defaults */
    size_t nnames;
    uint64_t offline_after_ms;
    uint64_t heartbeat_ms;
    unsigned max_conns;
    const struct api_opts *api; /* the HTTPS API (src/api/api.h); NULL: none */
    const struct srv_conf *conf; /* intake and retention (server/srvconf.h); NULL: defaults */
};

/* Runs until SIGINT/SIGTERM. Returns 0, MAMORI_ECONFIG (bad data dir,
 * address, names: the message is logged), or another MAMORI_E* code. */
int srv_run(const struct srv_opts *o, FILE *events);

#endif
