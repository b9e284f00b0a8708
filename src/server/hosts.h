/* hosts.h - the server's in-memory view of enrolled hosts: liveness.
 *
 * Loaded from the store at start, added to at enrollment; keyed by host id
 * (open addressing, linear probing, never shrinks: hosts are not deleted,
 * a revoked host stays with status revoked). Each entry keeps when the host
 * was last heard (monotonic clock, for silence; wall clock, for the store)
 * and the connection that carries it, if any. Bound: HOSTS_MAX hosts.
 *
 * The liveness rules that use these fields (silence -> offline, batched
 * writes of dirty entries) live in server/liveness.c. */
#ifndef MAMORI_SERVER_HOSTS_H
#define MAMORI_SERVER_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"

#define HOSTS_MAX 200000u
#define HOSTS_PERSIST_MS 15000 /* last_seen of an online host reaches the store this often */

struct host {
    char id[HOST_ID_MAX];
    char hostname[HOSTNAME_MAX];
    char site[SITE_NAME_MAX + 1];
    char cert_fp[65];
    char cert_fp_prev[65];          /* accepted until cert_fp is first used ("" = none) */
    char version[HOST_VERSION_MAX]; /* the agent's last reported version ("" = unknown) */
    int64_t site_id;
    enum host_status status;
    uint64_t seen_mono_ms; /* last frame, monotonic */
    int64_t seen_wall_ms;  /* last frame, wall clock */
    int64_t persisted_ms;  /* seen_wall_ms as last written */
    bool dirty;            /* status or last_seen to be written */
    bool alert_silent;     /* a "went silent" alert to be written with it */
    bool alert_back;       /* a "back online" alert to be written with it */
    uint64_t ack_seq;      /* intake: highest alert seq in the batch being written */
    void *conn;            /* the live connection (server.c's struct sconn), or NULL */
};

struct hosts {
    struct host **slot; /* cap entries, NULL = empty */
    size_t cap, n;
};

int hosts_init(struct hosts *t);
void hosts_free(struct hosts *t);
/* Add (or replace the fields of) a host from a store row. */
struct host *hosts_put(struct hosts *t, const struct host_row *r);
struct host *hosts_get(const struct hosts *t, const char *id);
/* Every host, in no order; fn returns non-zero to stop. */
void hosts_each(const struct hosts *t, int (*fn)(void *, struct host *), void *arg);

#endif
