/* server_int.h - what server.c, session.c and liveness.c share: the server
 * context and one agent connection. Internal to src/server. */
#ifndef MAMORI_SERVER_SERVER_INT_H
#define MAMORI_SERVER_SERVER_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/json.h"
#include "net/conn.h"
#include "server/ca.h"
#include "server/hosts.h"
#include "server/server.h"
#include "server/store.h"

enum sconn_state {
    SC_HANDSHAKE, /* TLS handshake under way */
    SC_ENROLL,    /* no client certificate: ENROLL is the only frame allowed */
    SC_CERT,      /* certified host, HELLO not yet received */
    SC_AGENT,     /* certified host after HELLO */
    SC_CLOSING,   /* a last reply is being flushed, then the socket closes */
};

struct sconn {
    struct netconn nc;
    enum sconn_state st;
    struct host *host; /* SC_CERT, SC_AGENT */
    char peer[SOCK_ADDR_MAX];
    uint64_t deadline_ms; /* monotonic: handshake / first frame / closing */
    uint64_t last_rx_ms;  /* monotonic: last frame */
    uint32_t epmask;      /* events registered with epoll */
    bool dead;            /* closed; freed after this loop turn (epoll may still name it) */
    bool paused;          /* an EVENTS frame waits for room in the intake queue: not read */
    bool renewed;         /* a RENEW was answered: one per connection (each signs a certificate) */
    struct sconn *prev, *next;
};

/* One alert from an agent, waiting for the next batched write. */
struct intake_rec {
    struct host *host; /* hosts are never freed while the server runs */
    uint64_t seq;
    int64_t time;
    char kind[64];
    char severity[16];
    char *summary; /* owned */
    char *body;    /* owned: the alert object as JSON text */
};

struct server {
    const struct srv_opts *o;
    FILE *events;
    struct store st;
    struct srv_ca ca;
    SSL_CTX *tls;
    struct hosts hosts;
    int ep, lfd, sigfd, tfd, lockfd;
    struct sconn *conns; /* every open connection (list) */
    struct sconn *dead;  /* closed this loop turn, freed at its end (next = link) */
    unsigned nconns;
    int64_t data_version;
    bool stop;
    uint64_t now_ms; /* monotonic, refreshed per loop turn */
    uint64_t accepted, dropped;
    struct intake_rec *intake; /* SRV_INTAKE_MAX slots */
    size_t nintake;
    uint64_t alerts_stored;
    struct deliver *dlv;   /* alert delivery thread (src/deliver) */
    struct srv_conf *conf; /* o->conf or the defaults (owned copy) */
    struct evq *evq;       /* events waiting for their write (events.c) */
    struct retention *ret; /* retention state (retention.c) */
};

uint64_t srv_mono_ms(void);
int64_t srv_wall_ms(void);

/* server.c */
void srv_conn_drop(struct server *s, struct sconn *c, const char *why);
/* Send ERROR {code, reason} and close once it is flushed. */
void srv_conn_refuse(struct server *s, struct sconn *c, const char *code, const char *reason);
/* Write one event line: w holds an open object; this closes and prints it. */
void srv_emit(struct server *s, struct jw *w);
void srv_event_begin(struct jw *w, char *buf, size_t cap, const char *event);

/* session.c */
/* Both return false when the connection was dropped (c is freed); a refusal
 * leaves c in SC_CLOSING and returns true. */
bool session_handshake_done(struct server *s, struct sconn *c);
bool session_frame(struct server *s, struct sconn *c, const struct frame *f);

/* intake.c */
bool intake_alert(struct server *s, struct sconn *c, struct json_object *body);
/* Write the pending alerts in one transaction, then acknowledge them. */
void intake_flush(struct server *s);

/* events.c (rules in events.h) */
int events_init(struct server *s);
void events_free(struct server *s);
/* Room in the queue for a frame of len body bytes? If not, c is paused
 * (false): its frame stays unread until events_resume. */
bool events_admit(struct server *s, struct sconn *c, size_t len);
/* An EVENTS frame: queued; false when c was dropped (protocol error). */
bool events_frame(struct server *s, struct sconn *c, struct json_object *body);
/* Write the queued events (transactions of batch_events rows), then ack. */
void events_flush(struct server *s);
/* After a flush: true if some connection was paused (the loop resumes it). */
bool events_any_paused(const struct server *s);
void events_resumed(struct server *s);
uint64_t events_stored(const struct server *s);
bool events_pending(const struct server *s); /* rows wait in the queue */

/* retention.c: delete old events/alerts in slices of at most ~10 ms, each
 * tick, or each loop turn while a pass is under way */
int retention_init(struct server *s);
void retention_free(struct server *s);
void retention_turn(struct server *s);
bool retention_active(const struct server *s); /* a pass is under way */

/* command.c: response commands (rules there) */
void command_scan(struct server *s); /* pending rows another process committed */
/* After WELCOME: the host's open commands; false if c was dropped. */
bool command_hello(struct server *s, struct sconn *c);
bool command_result(struct server *s, struct sconn *c, struct json_object *body);

/* renew.c: a RENEW frame (rules there); false if c was dropped */
bool renew_frame(struct server *s, struct sconn *c, struct json_object *body);

/* liveness.c */
void liveness_seen(struct server *s, struct host *h);
void liveness_tick(struct server *s);
int liveness_load(struct server *s);
void liveness_flush(struct server *s);
void liveness_revocations(struct server *s);

#endif
