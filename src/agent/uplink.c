/* uplink.c - `mamori agent run`: keep a certified connection to the server,
 * heartbeat over it and forward the alert and event spools (see agent.h).
 *
 * States: connect (TLS with host.crt, trusting ca.crt only) -> HELLO ->
 * WELCOME (gives heartbeat_ms) -> loop { HEARTBEAT every heartbeat_ms;
 * forward spooled alerts in order, at most ALERT_WINDOW unacknowledged,
 * looking for new ones every SPOOL_POLL_MS; read HEARTBEAT_ACK / ALERT_ACK
 * (the spool is deleted up to its seq) / ERROR }. After a reconnect the
 * unacknowledged alerts are sent again (the server stores each seq once).
 * Events come from their own spool (DIR/spool-events, agent/event.h) in
 * EVENTS frames of up to FRAME_EVENTS_MAX records and EV_FRAME_BYTES, at
 * most EV_WINDOW unacknowledged; EVENTS_ACK deletes them. Alerts go first:
 * each turn sends every alert the alert window allows before any event
 * frame, and the event window bounds what an alert can find ahead of it on
 * the wire (EV_WINDOW events, well under a second of intake), so a backlog
 * of events never holds an alert back.
 * The link counts as broken when the socket fails or nothing arrives from
 * the server for 3 heartbeat intervals; the agent
 * then reconnects after a backoff that doubles from 1 s up to max_backoff_ms
 * (with jitter, so a site's agents do not reconnect in step). An ERROR with
 * code "revoked" or "unknown_host" is final: the agent stops (MAMORI_EPERM).
 * SIGINT / SIGTERM stop it between steps (signalfd, polled with the socket).
 * A COMMAND frame is run at once (agent/respond.h: each id once) and
 * answered with a RESULT frame (a restore or kill runs in a worker thread
 * and is answered when it is done, looked for every turn of the loop, so
 * heartbeats go on meanwhile); an isolation ordered earlier is re-applied
 * before the first connection. After WELCOME, a certificate within its
 * renewal window is renewed (RENEW / RENEW_OK, agent/renew.h): the new one
 * is used from the next connection; a failed renewal is logged and tried
 * again on a connection RENEW_RETRY_MS later. */
#include <errno.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/event.h"
#include "agent/link.h"
#include "agent/renew.h"
#include "agent/respond.h"
#include "agent/spool.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "net/tls.h"

#define HELLO_TIMEOUT_MS 10000
#define MISSED_ACKS 3
#define ALERT_WINDOW 256  /* alerts sent and not yet acknowledged */
#define SPOOL_POLL_MS 200 /* how often the spool is checked for new alerts */
#define EV_WINDOW 4096    /* events sent and not yet acknowledged */
#define EV_FRAME_BYTES FRAME_EVENTS_BYTES
#define MAMORI_AGENT_VERSION "0.1.0"
#define RENEW_RETRY_MS 3600000u /* after a failed renewal (an ERROR ends the connection) */

struct uplink {
    const struct agent_run_opts *o;
    FILE *events;
    SSL_CTX *ctx;
    struct hostport hp;
    char server[512], host_id[64], hostname[256];
    int sigfd;
    bool stop;
    uint64_t seq;
    struct spool sp;
    uint64_t last_sent;       /* highest spool seq sent on this connection */
    char *rec, *frame;        /* SPOOL_REC_MAX and SPOOL_REC_MAX + 64 bytes */
    struct spool evsp;        /* DIR/spool-events */
    uint64_t ev_last_sent;    /* highest event seq sent on this connection */
    char *evframe;            /* EV_FRAME_BYTES + FRAME_EVENTS_MAX + 64 */
    char *evbuf;              /* EV_FRAME_BYTES: the payloads read for one frame */
    struct spool_rec *evrecs; /* FRAME_EVENTS_MAX */
    struct respond_ctx *resp;
    EVP_PKEY *renew_key;     /* RENEW sent on this connection, RENEW_OK awaited */
    uint64_t renew_after_ms; /* monotonic: no renewal before this (after a failure) */
    bool reload;             /* a renewed certificate: a new TLS context to connect */
};

static void emit(struct uplink *u, const char *event, const char *k1, const char *v1)
{
    char buf[1024];
    struct jw w;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "event", event);
    jw_int(&w, "time_ms", (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    jw_str(&w, "server", u->server);
    jw_str(&w, "host_id", u->host_id);
    if (k1)
        jw_str(&w, k1, v1);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0) {
        fprintf(u->events, "%s\n", buf);
        fflush(u->events);
    }
}

static int load_state(struct uplink *u, char *err)
{
    char p[PATH_MAX], serr[SOCK_ERR_MAX];
    snprintf(p, sizeof p, "%s/agent.json", u->o->dir);
    struct json_object *j = json_object_from_file(p);
    if (!j || !json_object_is_type(j, json_type_object)) {
        snprintf(err, AGENT_ERR_MAX,
                 "%.400s: %s (enroll first: mamori agent enroll --server URL --token TOKEN)", p,
                 access(p, F_OK) == 0 ? "not a JSON object" : strerror(errno));
        json_object_put(j);
        return MAMORI_ECONFIG;
    }
    const char *server = frame_str(j, "server", sizeof u->server - 1);
    const char *id = frame_str(j, "host_id", sizeof u->host_id - 1);
    const char *hn = frame_str(j, "hostname", sizeof u->hostname - 1);
    int rc = 0;
    if (!server || !id || sock_parse_hostport(server, 1, &u->hp, serr) < 0) {
        snprintf(err, AGENT_ERR_MAX, "%.400s: no valid \"server\" and \"host_id\"", p);
        rc = MAMORI_ECONFIG;
    } else {
        snprintf(u->server, sizeof u->server, "%s", server);
        snprintf(u->host_id, sizeof u->host_id, "%s", id);
        snprintf(u->hostname, sizeof u->hostname, "%s", hn ? hn : "");
    }
    json_object_put(j);
    return rc;
}

static int make_ctx(struct uplink *u, char *err)
{
    char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], e[PKI_ERR_MAX];
    snprintf(ca, sizeof ca, "%s/ca.crt", u->o->dir);
    snprintf(crt, sizeof crt, "%s/host.crt", u->o->dir);
    snprintf(key, sizeof key, "%s/host.key", u->o->dir);
    u->ctx = tls_client_ctx(ca, crt, key, e);
    if (!u->ctx) {
        snprintf(err, AGENT_ERR_MAX, "%s", e);
        return MAMORI_ECONFIG;
    }
    return 0;
}

static void renew_failed(struct uplink *u, const char *why)
{
    log_warn("certificate renewal failed: %s; tried again on a later connection", why);
    emit(u, "cert_renew_failed", "reason", why);
    u->renew_after_ms = link_mono_ms() + RENEW_RETRY_MS;
}

/* After WELCOME: send RENEW if the certificate is due. */
static int renew_start(struct uplink *u, struct netconn *nc, char *err)
{
    long left = 0;
    if (link_mono_ms() < u->renew_after_ms || !renew_due(u->o->dir, &left))
        return 0;
    char csr[4096], e[PKI_ERR_MAX];
    if (renew_request(&u->renew_key, u->host_id, csr, sizeof csr, e) < 0) {
        renew_failed(u, e);
        return 0;
    }
    log_info("certificate expires in %ld s: renewing", left);
    char buf[8192];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "csr", csr);
    if (link_send(nc, FRAME_RENEW, &w, link_mono_ms() + HELLO_TIMEOUT_MS) < 0) {
        snprintf(err, AGENT_ERR_MAX, "sending RENEW: %s", nc->why);
        return MAMORI_EIO;
    }
    return 0;
}

static void on_renew_ok(struct uplink *u, struct json_object *body)
{
    const char *pem = frame_str(body, "cert", PKI_PEM_MAX);
    char e[PKI_ERR_MAX] = "RENEW_OK without a certificate or not asked for";
    if (!u->renew_key || !pem || renew_install(u->o->dir, u->renew_key, u->host_id, pem, e) < 0) {
        renew_failed(u, e);
    } else {
        log_info("certificate renewed: used from the next connection");
        emit(u, "cert_renewed", NULL, NULL);
        u->reload = true;
    }
    EVP_PKEY_free(u->renew_key);
    u->renew_key = NULL;
}

/* Before connecting: the renewed certificate in a new TLS context. */
static void reload_ctx(struct uplink *u)
{
    SSL_CTX *old = u->ctx;
    char e[AGENT_ERR_MAX];
    u->reload = false;
    if (make_ctx(u, e) < 0) {
        log_error("cannot load the renewed certificate (still using the old one): %s", e);
        u->ctx = old;
        return;
    }
    SSL_CTX_free(old);
}

static void drain_signal(struct uplink *u)
{
    struct signalfd_siginfo si;
    if (read(u->sigfd, &si, sizeof si) == sizeof si)
        log_info("signal %u: stopping", si.ssi_signo);
    u->stop = true;
}

/* Sleep ms unless a signal comes. */
static void pause_ms(struct uplink *u, unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigtimedwait(&set, NULL, &ts) > 0) {
        log_info("signal: stopping");
        u->stop = true;
    }
}

/* Send spooled alerts while the window allows. */
static int forward(struct uplink *u, struct netconn *nc, char *err)
{
    while (u->last_sent - u->sp.acked < ALERT_WINDOW) {
        uint64_t seq;
        size_t len;
        int r = spool_next(&u->sp, u->rec, SPOOL_REC_MAX, &seq, &len);
        if (r <= 0)
            return r < 0 ? r : 0;
        int n = snprintf(u->frame, 64, "{\"seq\":%llu,\"alert\":", (unsigned long long)seq);
        memcpy(u->frame + n, u->rec, len);
        u->frame[n + (int)len] = '}';
        if (link_send_raw(nc, FRAME_ALERT, u->frame, (size_t)n + len + 1,
                          link_mono_ms() + LINK_CONNECT_MS) < 0) {
            snprintf(err, AGENT_ERR_MAX, "sending ALERT: %s", nc->why);
            return MAMORI_EIO;
        }
        u->last_sent = seq;
    }
    return 0;
}

/* Send event frames while the event window allows (after the alerts). */
static int forward_events(struct uplink *u, struct netconn *nc, char *err)
{
    for (;;) {
        uint64_t inflight = u->ev_last_sent > u->evsp.acked ? u->ev_last_sent - u->evsp.acked : 0;
        if (inflight + FRAME_EVENTS_MAX > EV_WINDOW)
            return 0;
        size_t count = 0;
        uint64_t first = 0;
        /* payloads fill at most EV_FRAME_BYTES - 64 KiB: the frame holds them,
         * their commas and the 64-byte head */
        int r = spool_next_many(&u->evsp, u->evbuf, EV_FRAME_BYTES - SPOOL_REC_MAX,
                                FRAME_EVENTS_MAX, u->evrecs, &count, &first);
        if (r < 0)
            log_warn("%s", u->evsp.err);
        if (count == 0)
            return 0;
        char *f = u->evframe;
        size_t len =
            (size_t)snprintf(f, 64, "{\"first_seq\":%llu,\"events\":[", (unsigned long long)first);
        for (size_t i = 0; i < count; i++) {
            if (i)
                f[len++] = ',';
            memcpy(f + len, u->evrecs[i].data, u->evrecs[i].len);
            len += u->evrecs[i].len;
        }
        f[len++] = ']';
        f[len++] = '}';
        if (link_send_raw(nc, FRAME_EVENTS, f, len, link_mono_ms() + LINK_CONNECT_MS) < 0) {
            snprintf(err, AGENT_ERR_MAX, "sending EVENTS: %s", nc->why);
            return MAMORI_EIO;
        }
        u->ev_last_sent = first + count - 1;
    }
}

static void on_events_ack(struct uplink *u, struct json_object *body)
{
    int64_t seq = 0;
    if (!frame_int(body, "seq", &seq) || seq < 1 || (uint64_t)seq > u->ev_last_sent)
        return; /* not something we sent: ignore */
    if (spool_ack(&u->evsp, (uint64_t)seq) < 0)
        log_warn("%s", u->evsp.err);
}

static void on_alert_ack(struct uplink *u, struct json_object *body)
{
    int64_t seq = 0;
    if (!frame_int(body, "seq", &seq) || seq < 1 || (uint64_t)seq > u->last_sent)
        return; /* not something we sent: ignore */
    if (spool_ack(&u->sp, (uint64_t)seq) < 0)
        log_warn("%s", u->sp.err);
}

/* A command's outcome: log it, answer with RESULT (frees out). */
static int send_result(struct uplink *u, struct netconn *nc, struct respond_out *out, char *err)
{
    char esc[CMD_MSG_MAX];
    log_escape(esc, sizeof esc, out->message);
    if (out->ok)
        log_info("command %s (%s)%s: ok: %s", out->id, out->action,
                 out->repeat ? " repeated: not run again" : "", esc);
    else
        log_warn("command %s (%s)%s failed: %s", out->id, out->action,
                 out->repeat ? " repeated: not run again;" : "", esc);
    char buf[CMD_MSG_MAX * 6 + 512];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "event", "command");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    jw_int(&w, "time_ms", (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    jw_str(&w, "host_id", u->host_id);
    jw_str(&w, "id", out->id);
    jw_str(&w, "action", out->action);
    jw_str(&w, "status", out->ok ? "ok" : "failed");
    jw_bool(&w, "repeat", out->repeat);
    jw_str(&w, "message", out->message);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0) {
        fprintf(u->events, "%s\n", buf);
        fflush(u->events);
    }
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "id", out->id);
    jw_str(&w, "status", out->ok ? "ok" : "failed");
    jw_str(&w, "message", out->message);
    jw_bool(&w, "repeat", out->repeat);
    int rc = link_send(nc, FRAME_RESULT, &w, link_mono_ms() + LINK_CONNECT_MS);
    free(out);
    if (rc < 0) {
        snprintf(err, AGENT_ERR_MAX, "sending RESULT: %s", nc->why);
        return MAMORI_EIO;
    }
    return 0;
}

/* A COMMAND frame: run it (once); answer now, or when its worker is done
 * (results(): long commands run beside the heartbeats, agent/respond.h). */
static int on_command(struct uplink *u, struct netconn *nc, struct json_object *body, char *err)
{
    struct respond_out *out = malloc(sizeof *out);
    if (!out)
        return 0; /* not answered: the server sends it again after the next HELLO */
    respond_command(u->resp, body, out);
    if (!out->id[0] || out->pending) {
        if (out->pending)
            log_info("command %s (%s) runs in the background", out->id, out->action);
        free(out);
        return 0;
    }
    return send_result(u, nc, out, err);
}

/* The results of the workers that are done. */
static int results(struct uplink *u, struct netconn *nc, char *err)
{
    struct respond_out *out;
    while ((out = malloc(sizeof *out)) && respond_poll(u->resp, out)) {
        if (send_result(u, nc, out, err) < 0)
            return MAMORI_EIO; /* recorded in the ledger: answered when sent again */
    }
    free(out);
    return 0;
}

/* An ERROR frame: log it; true if it is final. */
static bool server_error(struct uplink *u, struct json_object *body, char *err)
{
    const char *code = frame_str(body, "code", 64);
    const char *reason = frame_str(body, "reason", 512);
    snprintf(err, AGENT_ERR_MAX, "the server refused this host: %s (%s)",
             reason ? reason : "no reason given", code ? code : "?");
    emit(u, "refused", "reason", reason ? reason : "");
    return code && (!strcmp(code, "revoked") || !strcmp(code, "unknown_host"));
}

/* One connection's life. Returns 0 when the link broke (reconnect),
 * MAMORI_EPERM when refused for good; sets *welcomed if HELLO got through. */
static int session(struct uplink *u, struct netconn *nc, bool *welcomed, char *err)
{
    uint64_t now = link_mono_ms();
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "proto", FRAME_PROTO);
    jw_str(&w, "hostname", u->hostname);
    jw_str(&w, "agent_version", MAMORI_AGENT_VERSION);
    if (link_send(nc, FRAME_HELLO, &w, now + HELLO_TIMEOUT_MS) < 0) {
        snprintf(err, AGENT_ERR_MAX, "sending HELLO: %s", nc->why);
        return 0;
    }
    uint16_t type;
    struct json_object *body = NULL;
    int r = link_recv(nc, now + HELLO_TIMEOUT_MS, u->sigfd, &type, &body);
    if (r == 2) {
        drain_signal(u);
        return 0;
    }
    if (r != 1) {
        snprintf(err, AGENT_ERR_MAX, "waiting for WELCOME: %s", r == 0 ? "timed out" : nc->why);
        return 0;
    }
    if (type == FRAME_ERROR) {
        bool final = server_error(u, body, err);
        json_object_put(body);
        return final ? MAMORI_EPERM : 0;
    }
    int64_t hb = 0;
    frame_int(body, "heartbeat_ms", &hb);
    json_object_put(body);
    if (type != FRAME_WELCOME || hb < 100 || hb > 3600000) {
        snprintf(err, AGENT_ERR_MAX, "unexpected %s frame instead of WELCOME",
                 frame_type_name(type));
        return 0;
    }
    *welcomed = true;
    log_info("connected to %s as %s (heartbeat every %lld ms)", u->server, u->host_id,
             (long long)hb);
    emit(u, "connected", NULL, NULL);
    u->resp->server_len = sizeof u->resp->server; /* isolate keeps this path open */
    if (getpeername(nc->fd, (struct sockaddr *)&u->resp->server, &u->resp->server_len) < 0)
        u->resp->server_len = 0;
    spool_rewind(&u->sp); /* what the server has not acknowledged goes again */
    u->last_sent = u->sp.acked;
    spool_rewind(&u->evsp);
    u->ev_last_sent = u->evsp.acked;
    if (renew_start(u, nc, err) < 0)
        return 0;
    uint64_t next_beat = link_mono_ms(), last_rx = next_beat;
    while (!u->stop) {
        if (forward(u, nc, err) < 0 || forward_events(u, nc, err) < 0 || results(u, nc, err) < 0)
            return 0;
        now = link_mono_ms();
        if (now >= next_beat) {
            jw_init(&w, buf, sizeof buf);
            jw_obj_begin(&w);
            jw_uint(&w, "seq", ++u->seq);
            if (link_send(nc, FRAME_HEARTBEAT, &w, now + (uint64_t)hb) < 0) {
                snprintf(err, AGENT_ERR_MAX, "sending HEARTBEAT: %s", nc->why);
                return 0;
            }
            next_beat = now + (uint64_t)hb;
        }
        if (now - last_rx > MISSED_ACKS * (uint64_t)hb) {
            snprintf(err, AGENT_ERR_MAX, "nothing from the server for %d heartbeats", MISSED_ACKS);
            return 0;
        }
        uint64_t wake = next_beat < now + SPOOL_POLL_MS ? next_beat : now + SPOOL_POLL_MS;
        r = link_recv(nc, wake, u->sigfd, &type, &body);
        if (r == 2) {
            drain_signal(u);
        } else if (r == 1) {
            last_rx = link_mono_ms();
            if (type == FRAME_ALERT_ACK)
                on_alert_ack(u, body);
            if (type == FRAME_EVENTS_ACK)
                on_events_ack(u, body);
            if (type == FRAME_RENEW_OK)
                on_renew_ok(u, body);
            if (type == FRAME_COMMAND && on_command(u, nc, body, err) < 0) {
                json_object_put(body);
                return 0;
            }
            bool final = type == FRAME_ERROR && server_error(u, body, err);
            json_object_put(body);
            if (final)
                return MAMORI_EPERM;
            if (type == FRAME_ERROR)
                return 0;
        } else if (r != 0) {
            snprintf(err, AGENT_ERR_MAX, "%s",
                     r == NC_CLOSED ? "the server closed the connection" : nc->why);
            return 0;
        }
    }
    return 0;
}

static unsigned jitter(unsigned ms)
{
    uint16_t r = 0;
    RAND_bytes((unsigned char *)&r, sizeof r);
    return ms / 2 + (unsigned)((uint64_t)ms / 2 * r / 65535u);
}

static int run_loop(struct uplink *u, char *err)
{
    unsigned backoff = 1000;
    while (!u->stop) {
        struct netconn nc = {.fd = -1};
        char why[AGENT_ERR_MAX] = "";
        bool welcomed = false;
        if (u->reload)
            reload_ctx(u);
        int rc = link_open(&nc, u->ctx, &u->hp, link_mono_ms() + LINK_CONNECT_MS, why, sizeof why);
        if (rc == 0)
            rc = session(u, &nc, &welcomed, why);
        nc_free(&nc);
        if (u->renew_key) { /* RENEW unanswered: the server refused or the link broke */
            renew_failed(u, why);
            EVP_PKEY_free(u->renew_key);
            u->renew_key = NULL;
        }
        if (rc == MAMORI_EPERM) {
            snprintf(err, AGENT_ERR_MAX, "%s", why);
            return rc;
        }
        if (u->stop)
            break;
        if (welcomed)
            backoff = 1000;
        log_warn("link to %s down: %s; retrying in about %u s", u->server, why, backoff / 1000);
        emit(u, "disconnected", "reason", why);
        pause_ms(u, jitter(backoff));
        backoff = backoff * 2 > u->o->max_backoff_ms ? u->o->max_backoff_ms : backoff * 2;
    }
    return 0;
}

/* An isolation ordered before a restart or reboot is in force again before
 * the first connection. */
static void reapply(struct uplink *u)
{
    char msg[1024];
    int rc = isolate_reapply(u->o->dir, msg, sizeof msg);
    if (!msg[0])
        return;
    if (rc == 0)
        log_warn("%s", msg);
    else
        log_error("%s", msg);
    emit(u, rc == 0 ? "isolation_reapplied" : "isolation_failed", "message", msg);
}

int agent_reapply(const char *dir, char *msg, size_t cap)
{
    return isolate_reapply(dir, msg, cap);
}

int agent_run(const struct agent_run_opts *o, FILE *events, char *err)
{
    struct uplink u = {.o = o, .events = events, .sigfd = -1};
    int rc = load_state(&u, err);
    u.resp = calloc(1, sizeof *u.resp);
    if (rc == 0 && !u.resp)
        rc = MAMORI_ENOMEM;
    if (rc == 0 && (rc = respond_init(u.resp, o->dir, err, AGENT_ERR_MAX)) == 0) {
        for (size_t i = 0; i < o->nvaults && i < RESPOND_VAULTS_MAX; i++)
            u.resp->vaults[u.resp->nvaults++] = o->vaults[i];
        u.resp->config = o->config;
        reapply(&u);
    }
    if (rc == 0 && (rc = renew_recover(o->dir, err)) < 0)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = make_ctx(&u, err);
    char spool_dir[PATH_MAX];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", o->dir);
    if (rc == 0 && spool_open(&u.sp, spool_dir, o->spool_max, true) < 0) {
        snprintf(err, AGENT_ERR_MAX, "%s", u.sp.err);
        rc = MAMORI_EIO;
    }
    snprintf(spool_dir, sizeof spool_dir, "%s/%s", o->dir, AGENT_EVENT_SPOOL);
    /* this process only reads the event spool: its bound is the appenders' */
    if (rc == 0 && spool_open(&u.evsp, spool_dir, SPOOL_EVENTS_DEFAULT_CAP, true) < 0) {
        snprintf(err, AGENT_ERR_MAX, "%s", u.evsp.err);
        rc = MAMORI_EIO;
    }
    u.evsp.drop_oldest = true;
    u.rec = malloc(SPOOL_REC_MAX);
    u.frame = malloc(SPOOL_REC_MAX + 64);
    u.evframe = malloc(EV_FRAME_BYTES + FRAME_EVENTS_MAX + 64);
    u.evbuf = malloc(EV_FRAME_BYTES);
    u.evrecs = calloc(FRAME_EVENTS_MAX, sizeof *u.evrecs);
    if (rc == 0 && (!u.rec || !u.frame || !u.evframe || !u.evbuf || !u.evrecs))
        rc = MAMORI_ENOMEM;
    if (rc < 0) {
        SSL_CTX_free(u.ctx);
        free(u.rec);
        free(u.frame);
        free(u.evframe);
        free(u.evbuf);
        free(u.evrecs);
        free(u.resp);
        return rc;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    u.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (u.sigfd < 0) {
        snprintf(err, AGENT_ERR_MAX, "signalfd: %s", strerror(errno));
        rc = MAMORI_EIO;
    } else {
        rc = run_loop(&u, err);
        close(u.sigfd);
    }
    respond_finish(u.resp); /* workers still running a restore or a kill */
    SSL_CTX_free(u.ctx);
    free(u.rec);
    free(u.frame);
    free(u.evframe);
    free(u.evbuf);
    free(u.evrecs);
    free(u.resp);
    return rc;
}
