/* api.c - the API's start and stop, its thread, TLS context, routes,
 * authentication and the audit of writes (see api.h). Handlers are in
 * api_read.c, api_write.c, api_sse.c, api_incidents.c and api_commands.c. */
#include "api/api.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api_incidents.h"
#include "api/api_int.h"
#include "api/api_routes.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "http/http_resp.h"
#include "server/ca.h"
#include "api/api_events.h"
#include "server/server.h"
#include "web/web.h"

enum {
    R_HEALTH,
    R_SITES,
    R_SITE,
    R_HOSTS,
    R_HOST,
    R_HOST_REVOKE,
    R_ALERTS,
    R_ALERT,
    R_TOKENS,
    R_AUDIT,
    R_STREAM,
    R_INCIDENTS,
    R_INCIDENT,
    R_INCIDENT_RESOLVE,
    R_HOST_COMMANDS,
    R_HOST_EVENTS,
    R_HOST_COMMAND_ADD,
    R_COMMAND,
    R_SESSION_NEW,
    R_SESSION,
    R_SESSION_END,
    R_ROUTES,
    R_ROUTE_ADD,
    R_ROUTE_RM,
    R_ALERT_DELIVERIES,
    R_ROUTE_TEST,
    R_ROUTE_TEST_GET,
    R_ALERT_COUNTS,
};

static const struct http_route ROUTES[] = {
    {"GET", "/api/v1/health", R_HEALTH},
    {"GET", "/api/v1/sites", R_SITES},
    {"GET", "/api/v1/sites/{name}", R_SITE},
    {"GET", "/api/v1/hosts", R_HOSTS},
    {"GET", "/api/v1/hosts/{id}", R_HOST},
    {"POST", "/api/v1/hosts/{id}/revoke", R_HOST_REVOKE},
    {"GET", "/api/v1/alerts", R_ALERTS},
    {"GET", "/api/v1/alerts/counts", R_ALERT_COUNTS}, /* before /alerts/{id}: first match */
    {"GET", "/api/v1/alerts/{id}", R_ALERT},
    {"POST", "/api/v1/tokens", R_TOKENS},
    {"GET", "/api/v1/audit", R_AUDIT},
    {"GET", "/api/v1/events/stream", R_STREAM},
    {"GET", "/api/v1/incidents", R_INCIDENTS},
    {"GET", "/api/v1/incidents/{id}", R_INCIDENT},
    {"POST", "/api/v1/incidents/{id}/resolve", R_INCIDENT_RESOLVE},
    {"GET", "/api/v1/hosts/{id}/commands", R_HOST_COMMANDS},
    {"GET", "/api/v1/hosts/{id}/events", R_HOST_EVENTS},
    {"POST", "/api/v1/hosts/{id}/commands", R_HOST_COMMAND_ADD},
    {"GET", "/api/v1/commands/{id}", R_COMMAND},
    {"POST", "/api/v1/session", R_SESSION_NEW},
    {"GET", "/api/v1/session", R_SESSION},
    {"DELETE", "/api/v1/session", R_SESSION_END},
    {"GET", "/api/v1/routes", R_ROUTES},
    {"POST", "/api/v1/routes", R_ROUTE_ADD},
    {"DELETE", "/api/v1/routes/{id}", R_ROUTE_RM},
    {"GET", "/api/v1/alerts/{id}/deliveries", R_ALERT_DELIVERIES},
    {"POST", "/api/v1/routes/{id}/test", R_ROUTE_TEST},
    {"GET", "/api/v1/routes/{id}/test", R_ROUTE_TEST_GET},
};

/* audit action names of the write routes */
static const char *write_action(int id)
{
    return id == R_TOKENS             ? "api_enroll_token"
           : id == R_HOST_REVOKE      ? "api_revoke"
           : id == R_INCIDENT_RESOLVE ? "api_incident_resolve"
           : id == R_HOST_COMMAND_ADD ? "command"
           : id == R_SESSION_NEW      ? "login"
           : id == R_SESSION_END      ? "logout"
           : id == R_ROUTE_ADD        ? "route_add"
           : id == R_ROUTE_RM         ? "route_rm"
           : id == R_ROUTE_TEST       ? "route_test"
                                      : "api_write";
}

int64_t api_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api_opts_default(struct api_opts *o)
{
    memset(o, 0, sizeof *o);
    o->enabled = true;
    o->max_conns = API_DEFAULT_MAX_CONNS;
    char err[SOCK_ERR_MAX];
    sock_parse_hostport(API_DEFAULT_LISTEN, 0, &o->listen, err);
}

int api_opts_listen(struct api_opts *o, const char *v, char *err, size_t errsz)
{
    if (!strcmp(v, "none")) {
        o->enabled = false;
        return 0;
    }
    char e[SOCK_ERR_MAX];
    if (sock_parse_hostport(v, 0, &o->listen, e) < 0) {
        snprintf(err, errsz, "%s", e);
        return -1;
    }
    o->enabled = true;
    o->explicit = true;
    return 0;
}

/* ------------------------------------------------------------ answers -- */

void api_json(struct api_call *q, int status, const struct hbuf *body)
{
    q->status = status;
    if (body->full) {
        api_fail(q, 500, "internal", "the answer did not fit the server's bound");
        return;
    }
    http_reply(q->c, status, HTTP_JSON, body->p ? body->p : "", body->len, NULL);
}

void api_fail(struct api_call *q, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->why, sizeof q->why, fmt, ap);
    va_end(ap);
    q->status = status;
    http_reply_error(q->c, status, code, "%s", q->why);
}

void api_store_fail(struct api_call *q, const char *what)
{
    log_error("API: %s: %s", what, q->a->st.err);
    api_fail(q, 500, "store", "%s: the database failed (%s)", what, q->a->st.err);
}

/* ------------------------------------------------------------ dispatch -- */

static void audit_refusal(struct api_call *q, int route)
{
    char actor[128], detail[300];
    api_actor(&q->who, actor, sizeof actor);
    snprintf(detail, sizeof detail, "refused %d: %s", q->status, q->why);
    if (apist_audit_add(&q->a->st, q->now, actor, write_action(route), q->r->path, detail,
                        q->who.site_id) < 0)
        log_error("API: cannot write the audit record of a refused request: %s", q->a->st.err);
}

static void on_request(void *arg, struct http_conn *c, const struct http_req *r, const char *body)
{
    struct api *a = arg;
    struct api_call *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(c, 503, "busy", "out of memory");
        return;
    }
    q->a = a;
    q->c = c;
    q->r = r;
    q->body = body;
    q->now = api_wall_ms();
    if (web_static(a->web, c, r)) { /* the console's page files: "/", "/static/..." */
        free(q);
        return;
    }
    const struct http_route *rt;
    char allow[64];
    int st = http_route(ROUTES, sizeof ROUTES / sizeof ROUTES[0], r->method_name, r->path, &rt,
                        &q->p, allow, sizeof allow);
    if (st == 404) {
        api_fail(q, 404, "not_found", "no such API endpoint: %.200s", r->path);
    } else if (st == 405) {
        char extra[96];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        q->status = 405;
        char msg[200];
        snprintf(msg, sizeof msg, "%s is not allowed on %.100s (allowed: %s)", r->method_name,
                 r->path, allow);
        struct hbuf b;
        hbuf_init(&b, 4096);
        http_json_error(&b, "method_not_allowed", msg);
        http_reply(c, 405, HTTP_JSON, b.p ? b.p : "", b.len, extra);
        hbuf_free(&b);
    } else if (r->method == HM_POST && r->content_length > 0 &&
               (!http_header(r, "Content-Type") ||
                strncasecmp(http_header(r, "Content-Type"), HTTP_JSON, strlen(HTTP_JSON)) != 0)) {
        api_fail(q, 415, "unsupported_media_type", "a request body must be application/json");
    } else if (rt->id == R_HEALTH) {
        api_health(q);
    } else if (rt->id == R_SESSION_NEW) {
        web_login(a->web, q);
    } else {
        char why[200];
        /* a console session cookie, when there is no Authorization header */
        int by_cookie = http_header(r, "Authorization") ? 1 : web_session_auth(a->web, q);
        if (by_cookie <= 0) {
            /* 0: q->who is the session's user; -1: refused and answered */
        } else if (http_header_count(r, "Authorization") > 1) {
            api_fail(q, 400, "bad_header", "more than one Authorization header");
        } else if (api_authenticate(&a->st, http_header(r, "Authorization"), q->now, &q->who, why,
                                    sizeof why) < 0) {
            log_info("API: %s %.100s from %s refused: %s", r->method_name, r->path,
                     http_conn_peer(c), why);
            api_fail(q, 401, "unauthorized", "%s", why);
        }
        if (q->status) {
            /* answered */
        } else if (r->method != HM_GET && rt->id != R_SESSION_END && !api_can_write(&q->who)) {
            api_fail(q, 403, "forbidden", "role %s is read-only", api_role_name(q->who.role));
        } else {
            switch (rt->id) {
            case R_SITES: api_sites_list(q); break;
            case R_SITE: api_site_get(q); break;
            case R_HOSTS: api_hosts_list(q); break;
            case R_HOST: api_host_get(q); break;
            case R_HOST_REVOKE: api_host_revoke(q); break;
            case R_ALERTS: api_alerts_list(q); break;
            case R_ALERT: api_alert_get(q); break;
            case R_ALERT_COUNTS: api_alert_counts(q); break;
            case R_TOKENS: api_token_create(q); break;
            case R_AUDIT: api_audit_list(q); break;
            case R_STREAM: api_stream_open(q); break;
            case R_INCIDENTS: api_incidents_list(q); break;
            case R_INCIDENT: api_incident_get(q); break;
            case R_INCIDENT_RESOLVE: api_incident_resolve(q); break;
            case R_HOST_COMMANDS: api_host_commands_list(q); break;
            case R_HOST_EVENTS: api_host_events_list(q); break;
            case R_HOST_COMMAND_ADD: api_host_command_add(q); break;
            case R_COMMAND: api_command_get(q); break;
            case R_SESSION: web_session_get(a->web, q); break;
            case R_SESSION_END: web_logout(a->web, q); break;
            case R_ROUTES: api_routes_list(q); break;
            case R_ROUTE_ADD: api_route_create(q); break;
            case R_ROUTE_RM: api_route_delete(q); break;
            case R_ALERT_DELIVERIES: api_alert_deliveries(q); break;
            case R_ROUTE_TEST: api_route_test_start(q); break;
            case R_ROUTE_TEST_GET: api_route_test_get(q); break;
            default: api_fail(q, 500, "internal", "route without a handler"); break;
            }
        }
        if (r->method != HM_GET && q->who.kind[0] && !q->audited)
            audit_refusal(q, rt->id);
    }
    free(q);
}

static void on_tick(void *arg, uint64_t now_ms)
{
    api_stream_tick(arg, now_ms);
    api_route_test_tick(arg, api_wall_ms());
}

/* A worker finished work whose answer waits (the console's password checks). */
static void on_wake(void *arg)
{
    struct api *a = arg;
    web_logins_finish(a->web, a);
}

/* A connection whose answer waited closed first (only logins wait). */
static void on_defer_close(void *arg, struct http_conn *c)
{
    struct api *a = arg;
    web_conn_closed(a->web, c);
}

/* --------------------------------------------------------------- setup -- */

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    static const unsigned char h11[] = "\x08http/1.1";
    unsigned char *o = NULL;
    if (SSL_select_next_proto(&o, outlen, h11, sizeof h11 - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no ALPN: plain HTTP/1.1 all the same */
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *make_tls(const char *chain, const char *key, char *err, size_t errsz)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, chain) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char e[200];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        snprintf(err, errsz, "API TLS context from %.200s: %s", chain, e);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* clients prove themselves with tokens */
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    return ctx;
}

static bool wildcard_addr(const char *h)
{
    return !h[0] || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

/* Warn when the server certificate does not name the API's address. */
static void check_cert_name(const char *chain, const char *host)
{
    if (wildcard_addr(host))
        return;
    char err[PKI_ERR_MAX];
    X509 *c = pki_cert_load(chain, err);
    if (!c)
        return;
    int ok = strchr(host, ':') || strspn(host, "0123456789.") == strlen(host)
                 ? X509_check_ip_asc(c, host, 0)
                 : X509_check_host(c, host, 0, 0, NULL);
    if (ok != 1)
        log_warn("API: the server certificate does not name %s, the API's address: clients "
                 "will refuse it unless they dial a --name it does carry (add --name %s)",
                 host, host);
    X509_free(c);
}

static void agent_url(struct api *a, int agent_lfd)
{
    char bound[SOCK_ADDR_MAX], host[SOCK_HOST_MAX] = "";
    sock_local_name(agent_lfd, bound, sizeof bound);
    const char *port = strrchr(bound, ':');
    port = port ? port + 1 : "7447";
    if (a->so->nnames)
        snprintf(host, sizeof host, "%s", a->so->names[0]);
    else if (!wildcard_addr(a->so->listen.host))
        snprintf(host, sizeof host, "%s", a->so->listen.host);
    else if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    bool v6 = strchr(host, ':') != NULL;
    snprintf(a->agent_url, sizeof a->agent_url, "https://%s%s%s:%s", v6 ? "[" : "", host,
             v6 ? "]" : "", port);
}

static void emit_ready(struct api *a, FILE *events)
{
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "event", "api_ready");
    jw_int(&w, "time_ms", api_wall_ms());
    jw_str(&w, "listen", a->listen);
    jw_str(&w, "agent_url", a->agent_url);
    jw_obj_end(&w);
    if (jw_finish(&w) < 0)
        return;
    fprintf(events, "%s\n", buf);
    fflush(events);
}

static void *thread_main(void *arg)
{
    struct api *a = arg;
    int rc = http_server_run(a->hs);
    if (rc < 0)
        log_error("API: the HTTPS loop stopped: %s", mamori_strerror(rc));
    return NULL;
}

void api_stop(struct api *a)
{
    if (!a)
        return;
    if (a->running) {
        http_server_stop(a->hs);
        pthread_join(a->thread, NULL);
    }
    web_stop(a->web);        /* its workers wake a->hs: joined before it goes */
    http_server_free(a->hs); /* closes the streams: api_stream_closed for each */
    api_route_test_free(a);  /* before the store closes: it writes an audit row */
    api_streams_free(a);
    web_free(a->web);
    if (a->st.db)
        store_close(&a->st);
    SSL_CTX_free(a->tls);
    free(a);
}

int api_start(const struct api_opts *ao, const struct srv_opts *so, const struct srv_ca *ca,
              int agent_lfd, FILE *events, struct api **out)
{
    *out = NULL;
    if (!ao->enabled)
        return 0;
    char serr[SOCK_ERR_MAX];
    int lfd = sock_listen(&ao->listen, serr);
    if (lfd < 0) {
        if (ao->explicit) {
            log_error("--api-listen: %s", serr);
            return MAMORI_ECONFIG;
        }
        log_warn("API not started: %s (give --api-listen ADDR:PORT, or none)", serr);
        return 0;
    }
    struct api *a = calloc(1, sizeof *a);
    if (!a) {
        close(lfd);
        return MAMORI_ENOMEM;
    }
    a->o = *ao;
    a->so = so;
    memcpy(a->ca_spki, ca->spki, sizeof a->ca_spki);
    sock_local_name(lfd, a->listen, sizeof a->listen);
    agent_url(a, agent_lfd);
    char chain[PATH_MAX], key[PATH_MAX], err[512];
    srv_ca_path(ca, "server.crt", chain, sizeof chain);
    srv_ca_path(ca, "server.key", key, sizeof key);
    int rc = 0;
    if (!(a->tls = make_tls(chain, key, err, sizeof err))) {
        log_error("%s", err);
        rc = MAMORI_EIO;
    } else if ((rc = store_open(&a->st, so->data)) < 0) {
        log_error("API: %s", a->st.err);
    } else if ((rc = web_new(&a->web, ao->web_dir, err, sizeof err)) < 0) {
        log_error("%s", err);
    }
    if (rc == 0) {
        check_cert_name(chain, ao->listen.host);
        a->data_version = store_data_version(&a->st);
        a->sse_max_id = apist_alert_max_id(&a->st);
        if (a->sse_max_id < 0)
            a->sse_max_id = 0;
        struct http_server_cfg cfg = {
            .tls = a->tls,
            .lfd = lfd,
            .max_conns = ao->max_conns,
            .arg = a,
            .on_request = on_request,
            .on_tick = on_tick,
            .on_stream_close = api_stream_closed,
            .on_wake = on_wake,
            .on_defer_close = on_defer_close,
        };
        lfd = -1; /* the HTTP server owns it now, even if it fails */
        rc = http_server_new(&a->hs, &cfg, err, sizeof err);
        if (rc < 0) {
            close(cfg.lfd);
            log_error("%s", err);
        } else if ((rc = web_start(a->web, a->hs, err, sizeof err)) < 0) {
            log_error("%s", err);
        }
    }
    if (rc == 0) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the agent loop */
        int e = pthread_create(&a->thread, NULL, thread_main, a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e != 0) {
            log_error("API: cannot start its thread: %s", strerror(e));
            rc = MAMORI_EIO;
        } else {
            a->running = true;
        }
    }
    if (lfd >= 0)
        close(lfd);
    if (rc < 0) {
        api_stop(a);
        return rc;
    }
    emit_ready(a, events);
    log_info("API listening on https://%s/api/v1/", a->listen);
    *out = a;
    return 0;
}
