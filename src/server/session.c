/* session.c - what an agent connection may say, and the server's answers.
 *
 * After the TLS handshake (server.c) a connection is either
 *   - without a client certificate: SC_ENROLL, frame limit FRAME_MAX_ENROLL;
 *     one ENROLL frame is answered with ENROLL_OK or ERROR, then closed;
 *   - with a certificate our CA issued: the host is looked up by the
 *     certificate's CN (host id) and fingerprint; unknown or revoked hosts
 *     get ERROR and are closed; else SC_CERT, limit FRAME_MAX. The first
 *     frame must be HELLO (answered with WELCOME: host id, site, heartbeat
 *     and offline intervals, then the host's open commands: command.c),
 *     then HEARTBEATs (answered with HEARTBEAT_ACK), ALERTs, RESULTs, EVENTS
 *     and RENEW (a new client certificate: renew.c). A host that renewed is
 *     also known by its previous certificate until it uses the new one.
 * Any other frame in a state is a protocol error: the connection is dropped
 * with the reason logged. Every frame from a host counts as a sign of life. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "server/enroll.h"
#include "server/server_int.h"

static void host_event(struct server *s, const char *event, const struct host *h, const char *peer)
{
    char buf[1024];
    struct jw w;
    srv_event_begin(&w, buf, sizeof buf, event);
    jw_str(&w, "host_id", h->id);
    jw_str(&w, "hostname", h->hostname);
    jw_str(&w, "site", h->site);
    if (peer)
        jw_str(&w, "peer", peer);
    srv_emit(s, &w);
}

static bool cert_session(struct server *s, struct sconn *c, X509 *cert)
{
    char cn[PKI_CN_MAX], fp[65];
    struct host *h = NULL;
    if (pki_cert_cn(cert, cn, sizeof cn) == 0 && pki_cert_fp(cert, fp) == 0)
        h = hosts_get(&s->hosts, cn);
    bool prev = h && h->cert_fp_prev[0] && strcmp(h->cert_fp_prev, fp) == 0;
    if (!h || (strcmp(h->cert_fp, fp) != 0 && !prev)) {
        log_warn("refused %s: certificate of an unknown host (CN %s)", c->peer, h ? cn : "?");
        srv_conn_refuse(s, c, "unknown_host",
                        "this host's certificate is not known to the server: enroll again");
        return true;
    }
    if (h->status == HOST_REVOKED) {
        log_warn("refused %s: host %s (%s) is revoked", c->peer, h->id, h->hostname);
        c->host = h;
        host_event(s, "refused_revoked", h, c->peer);
        srv_conn_refuse(s, c, "revoked", "this host was revoked by the server's operator");
        return true;
    }
    if (!prev && h->cert_fp_prev[0]) { /* the renewed certificate in use: the old one no more */
        if (store_host_renew(&s->st, h->id, h->cert_fp, NULL) == 0)
            h->cert_fp_prev[0] = '\0';
        else
            log_warn("host %s: cannot retire its previous certificate: %s", h->id, s->st.err);
    }
    if (h->conn) { /* the old connection of a host that reconnected */
        srv_conn_drop(s, h->conn, "replaced by a new connection from the same host");
    }
    h->conn = c;
    c->host = h;
    c->st = SC_CERT;
    c->nc.max_body = FRAME_MAX;
    return true;
}

bool session_handshake_done(struct server *s, struct sconn *c)
{
    c->deadline_ms = s->now_ms + SRV_HANDSHAKE_MS;
    c->last_rx_ms = s->now_ms;
    X509 *cert = nc_peer_cert(&c->nc);
    if (!cert) {
        c->st = SC_ENROLL;
        return true;
    }
    bool ok = cert_session(s, c, cert);
    X509_free(cert);
    return ok;
}

static bool protocol_error(struct server *s, struct sconn *c, const struct frame *f,
                           const char *state)
{
    char why[160];
    snprintf(why, sizeof why, "protocol error: %s frame %s", frame_type_name(f->type), state);
    srv_conn_drop(s, c, why);
    return false;
}

/* Close the object in w and queue it as one frame. */
static int send_jw(struct sconn *c, uint16_t type, struct jw *w)
{
    jw_obj_end(w);
    long n = jw_finish(w);
    return n < 0 ? (int)n : nc_send(&c->nc, type, w->buf, (size_t)n);
}

static bool on_enroll(struct server *s, struct sconn *c, struct json_object *body)
{
    struct enroll_req req = {
        .token = frame_str(body, "token", 256),
        .csr = frame_str(body, "csr", PKI_PEM_MAX),
        .hostname = frame_str(body, "hostname", HOSTNAME_MAX),
        .peer = c->peer,
    };
    struct enroll_res *res = malloc(sizeof *res);
    if (!res) {
        srv_conn_drop(s, c, "out of memory");
        return false;
    }
    int rc = srv_enroll(&s->st, &s->ca, &req, srv_wall_ms(), res);
    if (rc < 0) {
        char esc[HOSTNAME_MAX * 4];
        log_escape(esc, sizeof esc, req.hostname ? req.hostname : "?");
        log_warn("enrollment from %s (hostname %s) refused: %s", c->peer, esc, res->why);
        char buf[1024];
        struct jw w;
        srv_event_begin(&w, buf, sizeof buf, "enroll_refused");
        jw_str(&w, "peer", c->peer);
        jw_str(&w, "code", res->code);
        jw_str(&w, "reason", res->why);
        srv_emit(s, &w);
        srv_conn_refuse(s, c, res->code, res->why);
        free(res);
        return true;
    }
    struct host *h = hosts_put(&s->hosts, &res->host);
    if (!h)
        log_error("host table full (%u hosts): %s enrolled but not tracked", HOSTS_MAX,
                  res->host.id);
    log_info("enrolled host %s (%s) in site %s from %s", res->host.id, res->host.hostname,
             res->host.site, c->peer);
    if (h)
        host_event(s, "enrolled", h, c->peer);
    /* two PEM certificates, JSON-escaped (newlines double), and three names */
    size_t cap = 4 * PKI_PEM_MAX + 1024;
    char *buf = malloc(cap);
    struct jw w;
    rc = MAMORI_ENOMEM;
    if (buf) {
        jw_init(&w, buf, cap);
        jw_obj_begin(&w);
        jw_str(&w, "host_id", res->host.id);
        jw_str(&w, "site", res->host.site);
        jw_str(&w, "hostname", res->host.hostname);
        jw_str(&w, "cert", res->cert_pem);
        jw_str(&w, "ca", res->ca_pem);
        rc = send_jw(c, FRAME_ENROLL_OK, &w);
    }
    free(buf);
    free(res);
    if (rc < 0) {
        srv_conn_drop(s, c, "cannot queue the enrollment reply");
        return false;
    }
    c->st = SC_CLOSING;
    c->deadline_ms = s->now_ms + 2000;
    return true;
}

/* The version an agent names in HELLO ("agent_version"), kept when it
 * changed; anything but 1-31 printable ASCII characters is ignored (it is
 * shown on the console and must stay plain text). */
static void note_version(struct server *s, struct host *h, struct json_object *body)
{
    struct json_object *v;
    if (!json_object_object_get_ex(body, "agent_version", &v) ||
        !json_object_is_type(v, json_type_string))
        return;
    const char *ver = json_object_get_string(v);
    size_t n = strlen(ver);
    if (n < 1 || n >= HOST_VERSION_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        if (ver[i] < 0x21 || ver[i] > 0x7e)
            return;
    if (!strcmp(ver, h->version))
        return;
    if (store_host_version(&s->st, h->id, ver) < 0) {
        log_warn("host %s: cannot record agent version: %s", h->id, s->st.err);
        return;
    }
    snprintf(h->version, sizeof h->version, "%s", ver);
}

static bool on_hello(struct server *s, struct sconn *c, struct json_object *body)
{
    int64_t proto = 0;
    if (!frame_int(body, "proto", &proto) || proto != FRAME_PROTO) {
        char why[96];
        snprintf(why, sizeof why, "protocol version %lld not supported (server speaks %d)",
                 (long long)proto, FRAME_PROTO);
        srv_conn_refuse(s, c, "bad_proto", why);
        return true;
    }
    struct host *h = c->host;
    note_version(s, h, body);
    char buf[512];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "host_id", h->id);
    jw_str(&w, "site", h->site);
    jw_uint(&w, "heartbeat_ms", s->o->heartbeat_ms);
    jw_uint(&w, "offline_after_ms", s->o->offline_after_ms);
    jw_int(&w, "server_time_ms", srv_wall_ms());
    if (send_jw(c, FRAME_WELCOME, &w) < 0) {
        srv_conn_drop(s, c, "cannot queue WELCOME");
        return false;
    }
    c->st = SC_AGENT;
    log_info("host %s (%s) connected from %s", h->id, h->hostname, c->peer);
    host_event(s, "connected", h, c->peer);
    liveness_seen(s, h);
    return command_hello(s, c);
}

static bool on_heartbeat(struct server *s, struct sconn *c, struct json_object *body)
{
    int64_t seq = 0;
    frame_int(body, "seq", &seq);
    char buf[64];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "seq", seq);
    if (send_jw(c, FRAME_HEARTBEAT_ACK, &w) < 0) {
        srv_conn_drop(s, c, "write buffer full: the agent does not read its acknowledgements");
        return false;
    }
    liveness_seen(s, c->host);
    return true;
}

static bool on_alert(struct server *s, struct sconn *c, struct json_object *body)
{
    if (!intake_alert(s, c, body))
        return false;
    liveness_seen(s, c->host);
    return true;
}

static bool on_events(struct server *s, struct sconn *c, struct json_object *body)
{
    if (!events_frame(s, c, body))
        return false;
    liveness_seen(s, c->host);
    return true;
}

static bool on_result(struct server *s, struct sconn *c, struct json_object *body)
{
    if (!command_result(s, c, body))
        return false;
    liveness_seen(s, c->host);
    return true;
}

bool session_frame(struct server *s, struct sconn *c, const struct frame *f)
{
    const char *why = NULL;
    struct json_object *body = frame_body_json(f, &why);
    if (!body) {
        char msg[160];
        snprintf(msg, sizeof msg, "malformed %s frame: %s", frame_type_name(f->type), why);
        srv_conn_drop(s, c, msg);
        return false;
    }
    c->last_rx_ms = s->now_ms;
    bool ok;
    switch (c->st) {
    case SC_ENROLL:
        ok = f->type == FRAME_ENROLL ? on_enroll(s, c, body)
                                     : protocol_error(s, c, f, "without a client certificate");
        break;
    case SC_CERT:
        ok =
            f->type == FRAME_HELLO ? on_hello(s, c, body) : protocol_error(s, c, f, "before HELLO");
        break;
    case SC_AGENT:
        ok = f->type == FRAME_HEARTBEAT ? on_heartbeat(s, c, body)
             : f->type == FRAME_ALERT   ? on_alert(s, c, body)
             : f->type == FRAME_RESULT  ? on_result(s, c, body)
             : f->type == FRAME_EVENTS  ? on_events(s, c, body)
             : f->type == FRAME_RENEW   ? renew_frame(s, c, body)
                                        : protocol_error(s, c, f, "not expected from an agent");
        break;
    default: ok = protocol_error(s, c, f, "in a closing connection"); break;
    }
    json_object_put(body);
    return ok;
}
