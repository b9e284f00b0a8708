/* server.c - the server's epoll loop: listening socket, connections,
 * signals and the tick (see server.h). Protocol decisions are in session.c,
 * liveness and batched writes in liveness.c. */
#include "server/server.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "deliver/deliver.h"
#include "core/err.h"
#include "core/log.h"
#include "net/tls.h"
#include "server/server_int.h"
#include "server/srvconf.h"

#define EP_BATCH 256
/* epoll data tags for the fds that are not connections */
static char TAG_LISTEN, TAG_SIGNAL, TAG_TIMER;

uint64_t srv_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t srv_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void srv_event_begin(struct jw *w, char *buf, size_t cap, const char *event)
{
    jw_init(w, buf, cap);
    jw_obj_begin(w);
    jw_str(w, "event", event);
    jw_int(w, "time_ms", srv_wall_ms());
}

void srv_emit(struct server *s, struct jw *w)
{
    jw_obj_end(w);
    if (jw_finish(w) < 0)
        return;
    flockfile(s->events); /* whole lines: the API and delivery threads write here too */
    fputs(w->buf, s->events);
    fputc('\n', s->events);
    fflush(s->events);
    funlockfile(s->events);
}

/* ---------------------------------------------------------- connections -- */

static void conn_unlink(struct server *s, struct sconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
}

static void conn_close(struct server *s, struct sconn *c)
{
    if (c->host && c->host->conn == c)
        c->host->conn = NULL;
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->nc.fd, NULL);
    conn_unlink(s, c);
    nc_free(&c->nc);
    c->dead = true;
    c->host = NULL;
    c->prev = NULL;
    c->next = s->dead;
    s->dead = c;
}

static void free_dead(struct server *s)
{
    while (s->dead) {
        struct sconn *c = s->dead;
        s->dead = c->next;
        free(c);
    }
}

void srv_conn_drop(struct server *s, struct sconn *c, const char *why)
{
    char esc[256], buf[1024];
    struct jw w;
    log_escape(esc, sizeof esc, why);
    s->dropped++;
    log_warn("dropped connection from %s%s%s: %s", c->peer, c->host ? " host " : "",
             c->host ? c->host->id : "", esc);
    srv_event_begin(&w, buf, sizeof buf, "drop");
    jw_str(&w, "peer", c->peer);
    if (c->host)
        jw_str(&w, "host_id", c->host->id);
    jw_str(&w, "reason", why);
    srv_emit(s, &w);
    conn_close(s, c);
}

void srv_conn_refuse(struct server *s, struct sconn *c, const char *code, const char *reason)
{
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "code", code);
    jw_str(&w, "reason", reason);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    if (c->host && c->host->conn == c)
        c->host->conn = NULL;
    if (n < 0 || nc_send(&c->nc, FRAME_ERROR, buf, (size_t)n) < 0) {
        srv_conn_drop(s, c, reason);
        return;
    }
    c->st = SC_CLOSING;
    c->deadline_ms = s->now_ms + 2000; /* a peer that does not read its refusal is cut */
}

static void conn_interest(struct server *s, struct sconn *c)
{
    uint32_t m = EPOLLIN | EPOLLRDHUP | (nc_wants_write(&c->nc) ? EPOLLOUT : 0);
    if (c->paused) /* backpressure: nothing read until the event queue has room */
        m &= ~(uint32_t)(EPOLLIN | EPOLLRDHUP);
    if (c->st == SC_CLOSING)
        m = EPOLLOUT | EPOLLRDHUP;
    if (m == c->epmask)
        return;
    struct epoll_event ev = {.events = m, .data.ptr = c};
    if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->nc.fd, &ev) == 0)
        c->epmask = m;
}

/* Read and handle frames until the socket has no more. Returns false if
 * the connection is gone. */
static bool conn_read(struct server *s, struct sconn *c)
{
    while (!c->paused) {
        int r = nc_read(&c->nc);
        struct frame f;
        int fr = 0;
        while (c->st != SC_CLOSING && (fr = nc_frame(&c->nc, &f)) == 1) {
            if (c->st == SC_AGENT && f.type == FRAME_EVENTS && !events_admit(s, c, f.len))
                return true; /* paused: the frame stays in the buffer */
            if (!session_frame(s, c, &f))
                return false;
            if (c->st != SC_CLOSING)
                nc_consume(&c->nc, &f);
        }
        if (c->st == SC_CLOSING)
            return true;
        if (fr < 0) {
            char why[200];
            snprintf(why, sizeof why, "malformed frame: %s", c->nc.why);
            srv_conn_drop(s, c, why);
            return false;
        }
        if (r == NC_AGAIN)
            return true;
        if (r == NC_CLOSED) {
            log_debug("connection from %s closed by the peer", c->peer);
            conn_close(s, c);
            return false;
        }
        if (r < 0) {
            srv_conn_drop(s, c, c->nc.why);
            return false;
        }
    }
    return true;
}

static void conn_event(struct server *s, struct sconn *c, uint32_t ev)
{
    if (c->st == SC_HANDSHAKE) {
        int r = nc_handshake(&c->nc);
        if (r < 0) {
            srv_conn_drop(s, c, c->nc.why);
            return;
        }
        if (r == NC_AGAIN) {
            conn_interest(s, c);
            return;
        }
        if (!session_handshake_done(s, c))
            return;
    }
    if (c->st != SC_CLOSING && !conn_read(s, c))
        return;
    int r = nc_flush(&c->nc);
    if (r < 0) {
        srv_conn_drop(s, c, c->nc.why);
        return;
    }
    if (c->st == SC_CLOSING && r == NC_DONE) {
        conn_close(s, c);
        return;
    }
    if ((ev & (EPOLLERR | EPOLLHUP)) && c->st != SC_CLOSING && r == NC_DONE && !(ev & EPOLLIN)) {
        conn_close(s, c);
        return;
    }
    conn_interest(s, c);
}

static void do_accept(struct server *s)
{
    for (int i = 0; i < 64; i++) { /* bounded: other connections get their turn */
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(s->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("accept: %s", strerror(errno));
            return;
        }
        char peer[SOCK_ADDR_MAX];
        sock_peer_name(&ss, peer, sizeof peer);
        int one = 1; /* acknowledgements are small frames: no Nagle delay */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (s->nconns >= s->o->max_conns) {
            log_warn("refused connection from %s: %u connections open (--max-conns)", peer,
                     s->nconns);
            close(fd);
            continue;
        }
        struct sconn *c = calloc(1, sizeof *c);
        if (!c || nc_init(&c->nc, fd, s->tls, true, NULL, FRAME_MAX_ENROLL, SRV_WBUF_MAX) < 0) {
            log_warn("refused connection from %s: out of memory", peer);
            if (c)
                nc_free(&c->nc);
            else
                close(fd);
            free(c);
            continue;
        }
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        c->deadline_ms = s->now_ms + SRV_HANDSHAKE_MS;
        c->epmask = EPOLLIN | EPOLLRDHUP;
        struct epoll_event ev = {.events = c->epmask, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            nc_free(&c->nc);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        s->accepted++;
    }
}

/* Handshake, first-frame, closing and idle deadlines. */
static void conn_timeouts(struct server *s)
{
    uint64_t idle = s->o->offline_after_ms * 2;
    struct sconn *next;
    for (struct sconn *c = s->conns; c; c = next) {
        next = c->next; /* c may close; closing never touches another connection here */
        if (c->st == SC_AGENT) {
            /* a connection the server itself stopped reading (paused) is not idle */
            if (!c->paused && s->now_ms - c->last_rx_ms > idle)
                srv_conn_drop(s, c, "idle: no frame for twice --offline-after");
        } else if (s->now_ms > c->deadline_ms) {
            srv_conn_drop(s, c,
                          c->st == SC_HANDSHAKE ? "TLS handshake timed out"
                          : c->st == SC_CLOSING ? "peer did not read its last reply"
                                                : "no first frame in time");
        }
    }
}

static void on_tick(struct server *s)
{
    uint64_t n;
    if (read(s->tfd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_warn("timerfd: %s", strerror(errno));
    conn_timeouts(s);
    liveness_tick(s);
    if (store_data_version(&s->st) != s->data_version)
        command_scan(s); /* before liveness_revocations takes the new version */
    liveness_revocations(s);
    liveness_flush(s);
}

/* ---------------------------------------------------------------- setup -- */

static int open_fds(struct server *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->sigfd < 0 || s->tfd < 0 || s->ep < 0) {
        log_error("cannot set up the event loop: %s", strerror(errno));
        return MAMORI_EIO;
    }
    struct itimerspec it = {.it_interval = {0, SRV_TICK_MS * 1000000L},
                            .it_value = {0, SRV_TICK_MS * 1000000L}};
    timerfd_settime(s->tfd, 0, &it, NULL);
    struct {
        int fd;
        void *tag;
    } fds[] = {{s->lfd, &TAG_LISTEN}, {s->sigfd, &TAG_SIGNAL}, {s->tfd, &TAG_TIMER}};
    for (size_t i = 0; i < 3; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = fds[i].tag};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fds[i].fd, &ev) < 0) {
            log_error("epoll: %s", strerror(errno));
            return MAMORI_EIO;
        }
    }
    return 0;
}

/* One server per data directory. */
static int lock_data(struct server *s)
{
    char p[PATH_MAX];
    srv_ca_path(&s->ca, "server.lock", p, sizeof p);
    s->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
        log_error("%s: %s", p,
                  errno == EWOULDBLOCK ? "another mamori server is using this data directory"
                                       : strerror(errno));
        return MAMORI_ECONFIG;
    }
    return 0;
}

/* Names for the server certificate: those given, else the host name,
 * localhost, 127.0.0.1 and the listen address if it is a specific one. */
static size_t cert_names(const struct srv_opts *o, const char **names, char *hostbuf, size_t hsz)
{
    size_t n = 0;
    if (o->nnames) {
        for (; n < o->nnames; n++)
            names[n] = o->names[n];
        return n;
    }
    if (gethostname(hostbuf, hsz - 1) == 0 && hostbuf[0])
        names[n++] = hostbuf;
    names[n++] = "localhost";
    names[n++] = "127.0.0.1";
    if (o->listen.host[0] && strcmp(o->listen.host, "0.0.0.0") && strcmp(o->listen.host, "::") &&
        strcmp(o->listen.host, "127.0.0.1") && strcmp(o->listen.host, "localhost"))
        names[n++] = o->listen.host;
    return n;
}

static int setup(struct server *s)
{
    char err[PKI_ERR_MAX];
    int rc = srv_ca_open(&s->ca, s->o->data, err);
    if (rc < 0) {
        log_error("%s", err);
        return rc == MAMORI_EIO ? MAMORI_EIO : MAMORI_ECONFIG;
    }
    if ((rc = lock_data(s)) < 0)
        return rc;
    const char *names[SRV_NAMES_MAX + 4];
    char host[256] = "";
    size_t n = cert_names(s->o, names, host, sizeof host);
    if ((rc = srv_ca_server_cert(&s->ca, names, n, err)) < 0) {
        log_error("server certificate: %s", err);
        return MAMORI_ECONFIG;
    }
    char chain[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
    srv_ca_path(&s->ca, "server.crt", chain, sizeof chain);
    srv_ca_path(&s->ca, "server.key", key, sizeof key);
    srv_ca_path(&s->ca, "ca.crt", ca, sizeof ca);
    if (!(s->tls = tls_server_ctx(chain, key, ca, err))) {
        log_error("%s", err);
        return MAMORI_EIO;
    }
    if ((rc = store_open(&s->st, s->o->data)) < 0) {
        log_error("%s", s->st.err);
        return rc;
    }
    s->data_version = store_data_version(&s->st);
    if ((rc = hosts_init(&s->hosts)) < 0 || (rc = liveness_load(s)) < 0)
        return rc;
    s->intake = calloc(SRV_INTAKE_MAX, sizeof *s->intake);
    if (!s->intake)
        return MAMORI_ENOMEM;
    if ((rc = events_init(s)) < 0 || (rc = retention_init(s)) < 0)
        return rc;
    char serr[SOCK_ERR_MAX];
    if ((s->lfd = sock_listen(&s->o->listen, serr)) < 0) {
        log_error("%s", serr);
        return MAMORI_ECONFIG;
    }
    return open_fds(s);
}

/* One descriptor per connection plus ~64 for the store, the API, delivery
 * and the loop: the soft limit goes up to the hard one, said in the log, and
 * a hard limit too low for --max-conns is a warning naming the fix. */
static void raise_fd_limit(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            log_info("open files limit raised from %llu to the hard limit %llu",
                     (unsigned long long)was, (unsigned long long)rl.rlim_max);
        else
            rl.rlim_cur = was;
    }
    if (rl.rlim_cur < (rlim_t)want + 64)
        log_warn("open files limit %llu is below --max-conns %u + 64: connections past about "
                 "%llu will be refused; raise the hard limit (ulimit -Hn, LimitNOFILE=)",
                 (unsigned long long)rl.rlim_cur, want,
                 (unsigned long long)(rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 0));
}

static void emit_ready(struct server *s)
{
    char addr[SOCK_ADDR_MAX], spki[65], buf[1024];
    sock_local_name(s->lfd, addr, sizeof addr);
    for (int i = 0; i < 32; i++)
        snprintf(spki + 2 * i, 3, "%02x", s->ca.spki[i]);
    struct jw w;
    srv_event_begin(&w, buf, sizeof buf, "ready");
    jw_str(&w, "listen", addr);
    jw_str(&w, "data", s->o->data);
    jw_str(&w, "ca_spki_sha256", spki);
    jw_uint(&w, "hosts", s->hosts.n);
    jw_uint(&w, "offline_after_ms", s->o->offline_after_ms);
    jw_uint(&w, "heartbeat_ms", s->o->heartbeat_ms);
    srv_emit(s, &w);
    log_info("listening on %s, data in %s, %zu hosts enrolled", addr, s->o->data, s->hosts.n);
}

/* Move c to the front of the connection list. */
static void conn_to_front(struct server *s, struct sconn *c)
{
    if (s->conns == c)
        return;
    c->prev->next = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = s->conns;
    s->conns->prev = c;
    s->conns = c;
}

/* Connections paused for a full event queue read again after its write.
 * One paused again before it got a frame in goes to the front of the list,
 * so the next resume serves it first: without that, the connections at the
 * front took the queue at every turn and those behind starved (dropped as
 * idle, heartbeats unread) with 10,000 agents resending at once. */
static void resume_paused(struct server *s)
{
    events_resumed(s);
    struct sconn *next;
    for (struct sconn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->dead || !c->paused)
            continue;
        c->paused = false;
        uint64_t rx = c->last_rx_ms;
        conn_event(s, c, EPOLLIN);
        if (!c->dead && c->paused && c->last_rx_ms == rx)
            conn_to_front(s, c);
    }
}

static void loop(struct server *s)
{
    struct epoll_event evs[EP_BATCH];
    while (!s->stop) {
        /* events read by resumed connections are written at the end of the next turn:
         * do not sleep first; during a retention pass, come back in 20 ms (a
         * pass takes at most about half of the time) */
        int n = epoll_wait(s->ep, evs, EP_BATCH,
                           events_pending(s) ? 0 : retention_active(s) ? 2 * 10 : 1000);
        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            return;
        }
        s->now_ms = srv_mono_ms();
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &TAG_LISTEN) {
                do_accept(s);
            } else if (p == &TAG_TIMER) {
                on_tick(s);
            } else if (p == &TAG_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(s->sigfd, &si, sizeof si) == sizeof si)
                    log_info("signal %u: stopping", si.ssi_signo);
                s->stop = true;
            } else if (!((struct sconn *)p)->dead) {
                conn_event(s, p, evs[i].events);
            }
        }
        uint64_t stored = s->alerts_stored;
        intake_flush(s); /* the alerts of this turn, in one transaction */
        if (s->alerts_stored != stored)
            deliver_notify(s->dlv); /* wake the delivery thread now */
        events_flush(s); /* then its events (events.h) */
        retention_turn(s);
        if (events_any_paused(s))
            resume_paused(s);
        free_dead(s);
    }
}

static void teardown(struct server *s)
{
    if (s->st.db && s->intake)
        intake_flush(s);
    if (s->st.db && s->evq)
        events_flush(s);
    events_free(s);
    retention_free(s);
    for (size_t i = 0; i < s->nintake; i++) { /* left only if the last write failed */
        free(s->intake[i].summary);
        free(s->intake[i].body);
    }
    free(s->intake);
    while (s->conns)
        conn_close(s, s->conns);
    free_dead(s);
    if (s->st.db)
        liveness_flush(s);
    store_close(&s->st);
    hosts_free(&s->hosts);
    SSL_CTX_free(s->tls);
    srv_ca_close(&s->ca);
    int fds[] = {s->ep, s->lfd, s->sigfd, s->tfd, s->lockfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int srv_run(const struct srv_opts *o, FILE *events)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s)
        return MAMORI_ENOMEM;
    s->o = o;
    s->events = events;
    s->ep = s->lfd = s->sigfd = s->tfd = s->lockfd = -1;
    s->now_ms = srv_mono_ms();
    s->conf = malloc(sizeof *s->conf);
    if (!s->conf) {
        free(s);
        return MAMORI_ENOMEM;
    }
    if (o->conf)
        *s->conf = *o->conf;
    else
        srvconf_defaults(s->conf);
    raise_fd_limit(o->max_conns);
    int rc = setup(s);
    struct api *api = NULL; /* its own thread, store connection and listener */
    if (rc == 0)
        rc = deliver_start(o->data, events, &s->dlv); /* its own threads and connection */
    if (rc == 0 && o->api)
        rc = api_start(o->api, o, &s->ca, s->lfd, events, &api);
    if (rc == 0) {
        emit_ready(s);
        loop(s);
        log_info("stopped: %" PRIu64 " connections accepted, %" PRIu64 " dropped, %" PRIu64
                 " alerts and %" PRIu64 " events stored",
                 s->accepted, s->dropped, s->alerts_stored, events_stored(s));
    }
    api_stop(api);
    deliver_stop(s->dlv);
    teardown(s);
    free(s->conf);
    free(s);
    return rc;
}
