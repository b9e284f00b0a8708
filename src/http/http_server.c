/* http_server.c - the HTTPS loop: accept, TLS, read, parse, dispatch,
 * write, deadlines (see http_server.h). */
#include "http/http_server.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "http/hbuf.h"
#include "http/http_resp.h"
#include "net/sock.h"

#define EP_BATCH 64
#define READ_CHUNK (16u << 10)

enum hc_state {
    HC_HANDSHAKE, /* TLS handshake under way */
    HC_READ,      /* waiting for (the rest of) a request head */
    HC_BODY,      /* head parsed, body arriving */
    HC_WRITE,     /* a response is being written; nothing is read */
    HC_STREAM,    /* an open-ended response (server-sent events) */
    HC_DEFER,     /* the owner answers later (http_defer); nothing is read */
};

struct http_conn {
    struct http_server *hs;
    int fd;
    SSL *ssl;
    enum hc_state st;
    char peer[SOCK_ADDR_MAX];
    struct hbuf in, out;
    size_t out_off;      /* bytes of out already written */
    struct http_req req; /* the request being read or answered */
    size_t need;         /* head + body bytes of the current request */
    bool head_done, head_started, replied;
    bool close_after; /* close once out is written */
    bool doomed;      /* close at the end of this loop turn */
    bool dead;        /* closed; freed at the end of this loop turn */
    bool ssl_wants_write;
    bool kick;           /* a deferred answer was queued: written at the end of the loop turn */
    uint64_t deadline;   /* handshake / request deadlines (monotonic ms) */
    uint64_t last_write; /* last progress writing */
    uint32_t epmask;
    void *user;
    struct http_conn *prev, *next;
};

struct http_server {
    struct http_server_cfg cfg;
    int ep, evfd, tfd, wakefd;
    bool stop;
    uint64_t now;
    struct http_conn *conns, *dead;
    unsigned nconns, nstreams;
    uint64_t refused_cap;
};

static char TAG_LISTEN, TAG_STOP, TAG_TIMER, TAG_WAKE;

uint64_t http_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *http_conn_peer(const struct http_conn *c)
{
    return c->peer;
}
void *http_conn_user(const struct http_conn *c)
{
    return c->user;
}
unsigned http_server_streams(const struct http_server *hs)
{
    return hs->nstreams;
}

/* ---------------------------------------------------------- lifecycle -- */

static void conn_close(struct http_conn *c)
{
    struct http_server *hs = c->hs;
    if (c->dead)
        return;
    if (c->st == HC_STREAM) {
        hs->nstreams--;
        if (hs->cfg.on_stream_close)
            hs->cfg.on_stream_close(hs->cfg.arg, c);
    } else if (c->st == HC_DEFER && hs->cfg.on_defer_close) {
        hs->cfg.on_defer_close(hs->cfg.arg, c);
    }
    epoll_ctl(hs->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->ssl) {
        if (c->st != HC_HANDSHAKE)
            SSL_shutdown(c->ssl); /* close_notify, best effort: never waits */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    ERR_clear_error();
    if (c->prev)
        c->prev->next = c->next;
    else
        hs->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hs->nconns--;
    c->dead = true;
    c->prev = NULL;
    c->next = hs->dead;
    hs->dead = c;
}

static void free_dead(struct http_server *hs)
{
    while (hs->dead) {
        struct http_conn *c = hs->dead;
        hs->dead = c->next;
        hbuf_free(&c->in);
        hbuf_free(&c->out);
        free(c);
    }
}

static void interest(struct http_conn *c)
{
    uint32_t m = EPOLLRDHUP;
    bool pending = c->out.len > c->out_off;
    switch (c->st) {
    case HC_HANDSHAKE: m |= c->ssl_wants_write ? EPOLLOUT : EPOLLIN; break;
    case HC_READ:
    case HC_BODY: m |= EPOLLIN | (pending || c->ssl_wants_write ? EPOLLOUT : 0); break;
    case HC_WRITE: m |= pending ? EPOLLOUT : EPOLLIN; break;
    case HC_STREAM: m |= EPOLLIN | (pending ? EPOLLOUT : 0); break;
    case HC_DEFER: break; /* only a hang-up: nothing to read or write yet */
    }
    if (m == c->epmask)
        return;
    struct epoll_event ev = {.events = m, .data.ptr = c};
    if (epoll_ctl(c->hs->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->epmask = m;
}

/* -------------------------------------------------------------- write -- */

/* Write what is queued. Returns 1 when everything is written, 0 when the
 * socket is full, -1 when the connection failed (closed). */
static int flush(struct http_conn *c)
{
    while (c->out.len > c->out_off) {
        size_t n = c->out.len - c->out_off;
        if (n > (1u << 30))
            n = 1u << 30;
        ERR_clear_error();
        int w = SSL_write(c->ssl, c->out.p + c->out_off, (int)n);
        if (w > 0) {
            c->out_off += (size_t)w;
            c->last_write = c->hs->now;
            continue;
        }
        int e = SSL_get_error(c->ssl, w);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
            return 0;
        log_debug("API connection from %s: write failed", c->peer);
        conn_close(c);
        return -1;
    }
    if (c->st == HC_STREAM && c->out_off) {
        c->out.len = c->out_off = 0;
    } else if (c->out_off) {
        hbuf_reset(&c->out, 64u << 10);
        c->out_off = 0;
    }
    return 1;
}

static int queue_reply(struct http_conn *c, int status, const char *ctype, const void *body,
                       size_t len, const char *extra)
{
    if (c->replied || c->st == HC_STREAM || c->dead) {
        log_error("API: a second answer to one request from %s (bug)", c->peer);
        return MAMORI_EINVAL;
    }
    c->replied = true;
    if (c->st == HC_DEFER) { /* answered later: sweep() writes it */
        c->kick = true;
        c->user = NULL;
    }
    bool keep = c->head_done && c->req.keep_alive && !c->close_after;
    if (!keep)
        c->close_after = true;
    int rc = http_resp_head(&c->out, status, ctype, (long)len, keep, extra);
    if (rc == 0 && len)
        rc = hbuf_add(&c->out, body, len);
    if (rc < 0) {
        /* the body did not fit HTTP_OUT_MAX: a plain 500 instead */
        c->out.len = c->out_off;
        c->out.full = false;
        c->close_after = true;
        static const char msg[] = "{\"error\":{\"code\":\"internal\",\"message\":\"the response "
                                  "was larger than the server's bound\"}}\n";
        http_resp_head(&c->out, 500, HTTP_JSON, (long)sizeof msg - 1, false, NULL);
        hbuf_add(&c->out, msg, sizeof msg - 1);
    }
    if (c->head_done)
        log_debug("API %s %s %.200s -> %d", c->peer, c->req.method_name, c->req.path, status);
    else
        log_debug("API %s refused -> %d", c->peer, status);
    c->st = HC_WRITE;
    return rc;
}

int http_reply(struct http_conn *c, int status, const char *ctype, const void *body, size_t len,
               const char *extra)
{
    return queue_reply(c, status, ctype, body, len, extra);
}

int http_reply_error(struct http_conn *c, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct hbuf b;
    hbuf_init(&b, 4096);
    http_json_error(&b, code, msg);
    const char *extra = NULL;
    if (status == 401)
        extra = "WWW-Authenticate: Bearer realm=\"mamori\"\r\n";
    int rc = queue_reply(c, status, HTTP_JSON, b.p ? b.p : "", b.len, extra);
    hbuf_free(&b);
    return rc;
}

int http_stream_begin(struct http_conn *c, const char *ctype, void *user)
{
    if (c->replied)
        return MAMORI_EINVAL;
    c->replied = true;
    int rc = http_resp_head(&c->out, 200, ctype, -1, false, "X-Accel-Buffering: no\r\n");
    if (rc < 0)
        return rc;
    c->out.max = c->out.len + HTTP_STREAM_OUT_MAX;
    c->st = HC_STREAM;
    c->user = user;
    c->hs->nstreams++;
    log_debug("API %s %s %.200s -> 200 (stream)", c->peer, c->req.method_name, c->req.path);
    /* what follows the request on this connection is read and dropped; the
     * request's strings pointed into `in`: gone from here on */
    hbuf_reset(&c->in, READ_CHUNK);
    c->in.max = READ_CHUNK;
    return 0;
}

int http_stream_send(struct http_conn *c, const void *d, size_t n)
{
    if (c->st != HC_STREAM || c->doomed || c->dead)
        return MAMORI_EINVAL;
    if (hbuf_add(&c->out, d, n) < 0) {
        log_warn("API event stream to %s closed: the client fell %u KiB behind", c->peer,
                 HTTP_STREAM_OUT_MAX >> 10);
        c->doomed = true;
        return MAMORI_EFULL;
    }
    return 0;
}

void http_stream_end(struct http_conn *c)
{
    c->doomed = true;
}

int http_defer(struct http_conn *c, void *user)
{
    if (c->replied || c->st != HC_WRITE)
        return MAMORI_EINVAL;
    c->st = HC_DEFER;
    c->user = user;
    log_debug("API %s %s %.200s -> deferred", c->peer, c->req.method_name, c->req.path);
    return 0;
}

/* --------------------------------------------------------------- read -- */

static void refuse(struct http_conn *c, const struct http_err *e)
{
    c->close_after = true;
    log_info("API request from %s refused (%d %s): %s", c->peer, e->status, e->code, e->msg);
    http_reply_error(c, e->status, e->code, "%s", e->msg);
}

static void dispatch(struct http_conn *c)
{
    struct http_server *hs = c->hs;
    c->st = HC_WRITE;
    c->replied = false;
    hs->cfg.on_request(hs->cfg.arg, c, &c->req, c->in.p + c->req.head_len);
    if (c->st == HC_DEFER)
        return;
    if (!c->replied) {
        log_error("API: no answer to %s %.200s (bug)", c->req.method_name, c->req.path);
        http_reply_error(c, 500, "internal", "the server did not answer this request");
    }
}

/* Act on the bytes read so far. */
static void process(struct http_conn *c)
{
    struct http_server *hs = c->hs;
    if (c->st != HC_READ && c->st != HC_BODY)
        return;
    if (!c->head_done) {
        if (c->in.len == 0)
            return;
        struct http_err e;
        int r = http_parse_head(c->in.p, c->in.len, &c->req, &e);
        if (r < 0) {
            c->replied = false;
            refuse(c, &e);
            return;
        }
        if (r == 0) {
            if (!c->head_started) {
                c->head_started = true;
                c->deadline = hs->now + HTTP_HEAD_MS;
            }
            return;
        }
        c->head_done = true;
        c->need = c->req.head_len + c->req.content_length;
        if (c->in.len < c->need) {
            c->st = HC_BODY;
            c->deadline = hs->now + HTTP_BODY_MS;
            if (c->req.expect_continue)
                hbuf_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        }
    }
    if (c->in.len >= c->need)
        dispatch(c);
}

/* Read what the socket has. Returns -1 if the connection closed. */
static int do_read(struct http_conn *c)
{
    for (;;) {
        size_t room;
        if (c->st == HC_STREAM) {
            c->in.len = 0; /* a stream's client has nothing to say: dropped */
            room = READ_CHUNK;
        } else if (c->st == HC_READ || c->st == HC_BODY) {
            size_t want = c->head_done ? c->need - c->in.len : HTTP_HEAD_MAX + 1 - c->in.len;
            room = want < READ_CHUNK ? want : READ_CHUNK;
            if (room == 0)
                return 0;
        } else {
            return 0;
        }
        if (hbuf_reserve(&c->in, room) < 0) {
            conn_close(c);
            return -1;
        }
        ERR_clear_error();
        int n = SSL_read(c->ssl, c->in.p + c->in.len, (int)room);
        if (n > 0) {
            c->in.len += (size_t)n;
            c->in.p[c->in.len] = '\0';
            process(c);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            return 0;
        if (e == SSL_ERROR_WANT_WRITE) {
            c->ssl_wants_write = true;
            return 0;
        }
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && c->in.len == 0))
            log_debug("API connection from %s closed by the peer", c->peer);
        else
            log_debug("API connection from %s: read failed", c->peer);
        conn_close(c);
        return -1;
    }
}

/* After a response is written: next request, or close. */
static void next_request(struct http_conn *c)
{
    if (c->close_after) {
        conn_close(c);
        return;
    }
    hbuf_consume(&c->in, c->need);
    if (c->in.cap > (64u << 10) && c->in.len < READ_CHUNK) {
        struct hbuf keep;
        hbuf_init(&keep, c->in.max);
        if (hbuf_add(&keep, c->in.p, c->in.len) == 0) {
            hbuf_free(&c->in);
            c->in = keep;
        } else {
            hbuf_free(&keep);
        }
    }
    c->head_done = c->head_started = c->replied = false;
    c->need = 0;
    c->st = HC_READ;
    c->deadline = c->hs->now + HTTP_IDLE_MS;
    process(c); /* bytes of a pipelined request already read */
    if (c->st == HC_READ || c->st == HC_BODY)
        do_read(c);
}

static void conn_event(struct http_conn *c, uint32_t ev)
{
    struct http_server *hs = c->hs;
    c->ssl_wants_write = false;
    if (c->st == HC_HANDSHAKE) {
        ERR_clear_error();
        int r = SSL_accept(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                c->ssl_wants_write = e == SSL_ERROR_WANT_WRITE;
                interest(c);
                return;
            }
            char why[160];
            ERR_error_string_n(ERR_peek_last_error(), why, sizeof why);
            log_debug("API TLS handshake with %s failed: %s", c->peer, why);
            conn_close(c);
            return;
        }
        c->st = HC_READ;
        c->deadline = hs->now + HTTP_FIRST_MS;
    }
    if (c->st == HC_DEFER) { /* waits for its answer: only a hang-up matters */
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            log_debug("API connection from %s closed before its deferred answer", c->peer);
            conn_close(c);
        }
        return;
    }
    for (int round = 0; round < 4; round++) {
        if ((c->st == HC_READ || c->st == HC_BODY || c->st == HC_STREAM) && do_read(c) < 0)
            return;
        int f = flush(c);
        if (f < 0)
            return;
        if (f == 1 && c->st == HC_WRITE) {
            next_request(c);
            if (c->dead)
                return;
            continue; /* a pipelined request may have been answered */
        }
        break;
    }
    if ((ev & (EPOLLHUP | EPOLLERR)) && c->st != HC_STREAM && c->out.len == c->out_off) {
        conn_close(c);
        return;
    }
    interest(c);
}

static void do_accept(struct http_server *hs)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(hs->cfg.lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("API accept: %s", strerror(errno));
            return;
        }
        char peer[SOCK_ADDR_MAX];
        sock_peer_name(&ss, peer, sizeof peer);
        if (hs->nconns >= hs->cfg.max_conns) {
            if (hs->refused_cap++ % 100 == 0)
                log_warn("API: refused a connection from %s: %u connections open "
                         "(--api-max-conns); %llu refused so far",
                         peer, hs->nconns, (unsigned long long)hs->refused_cap);
            close(fd);
            continue;
        }
        struct http_conn *c = calloc(1, sizeof *c);
        SSL *ssl = c ? SSL_new(hs->cfg.tls) : NULL;
        if (!ssl || SSL_set_fd(ssl, fd) != 1) {
            log_warn("API: refused a connection from %s: out of memory", peer);
            SSL_free(ssl);
            free(c);
            close(fd);
            continue;
        }
        int one = 1; /* responses leave as TLS records at once: no Nagle/delayed-ACK stall */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->hs = hs;
        c->fd = fd;
        c->ssl = ssl;
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        hbuf_init(&c->in, HTTP_HEAD_MAX + HTTP_BODY_MAX + 1);
        hbuf_init(&c->out, HTTP_OUT_MAX);
        c->deadline = hs->now + HTTP_HANDSHAKE_MS;
        c->last_write = hs->now;
        c->epmask = EPOLLIN | EPOLLRDHUP;
        struct epoll_event ev = {.events = c->epmask, .data.ptr = c};
        if (epoll_ctl(hs->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            SSL_free(ssl);
            free(c);
            close(fd);
            continue;
        }
        c->next = hs->conns;
        if (hs->conns)
            hs->conns->prev = c;
        hs->conns = c;
        hs->nconns++;
    }
}

static void timeouts(struct http_server *hs)
{
    struct http_conn *next;
    for (struct http_conn *c = hs->conns; c; c = next) {
        next = c->next;
        bool pending = c->out.len > c->out_off;
        if (pending && hs->now - c->last_write > HTTP_STALL_MS) {
            log_info("API connection from %s closed: the client read nothing for %d s", c->peer,
                     HTTP_STALL_MS / 1000);
            conn_close(c);
            continue;
        }
        if (c->st == HC_STREAM || c->st == HC_WRITE || c->st == HC_DEFER || hs->now <= c->deadline)
            continue;
        if (c->st == HC_HANDSHAKE || (c->st == HC_READ && !c->head_started)) {
            log_debug("API connection from %s closed: %s", c->peer,
                      c->st == HC_HANDSHAKE ? "TLS handshake timed out" : "idle");
            conn_close(c);
            continue;
        }
        struct http_err e;
        http_err_set(&e, 408, "request_timeout",
                     c->st == HC_BODY ? "the request body did not arrive within %d s"
                                      : "the request head did not arrive within %d s",
                     (c->st == HC_BODY ? HTTP_BODY_MS : HTTP_HEAD_MS) / 1000);
        c->replied = false;
        refuse(c, &e);
        int f = flush(c);
        if (f == 1)
            conn_close(c);
        else if (f == 0)
            interest(c);
    }
}

static void sweep(struct http_server *hs)
{
    struct http_conn *next;
    for (struct http_conn *c = hs->conns; c; c = next) {
        next = c->next;
        if (c->doomed) {
            conn_close(c);
        } else if (c->kick) { /* a deferred answer: write it, then the next request */
            c->kick = false;
            int f = flush(c);
            if (f == 1 && c->st == HC_WRITE)
                next_request(c);
            if (!c->dead)
                interest(c);
        } else if (c->st == HC_STREAM && c->out.len > c->out_off) {
            if (flush(c) >= 0)
                interest(c);
        }
    }
}

/* ---------------------------------------------------------------- run -- */

int http_server_new(struct http_server **out, const struct http_server_cfg *cfg, char *err,
                    size_t errsz)
{
    struct http_server *hs = calloc(1, sizeof *hs);
    if (!hs) {
        snprintf(err, errsz, "out of memory");
        return MAMORI_ENOMEM;
    }
    hs->cfg = *cfg;
    hs->ep = epoll_create1(EPOLL_CLOEXEC);
    hs->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    hs->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    hs->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec it = {.it_interval = {0, HTTP_TICK_MS * 1000000L},
                            .it_value = {0, HTTP_TICK_MS * 1000000L}};
    int rc = hs->ep >= 0 && hs->evfd >= 0 && hs->wakefd >= 0 && hs->tfd >= 0 &&
                     timerfd_settime(hs->tfd, 0, &it, NULL) == 0
                 ? 0
                 : -1;
    struct {
        int fd;
        void *tag;
    } fds[] = {{cfg->lfd, &TAG_LISTEN},
               {hs->evfd, &TAG_STOP},
               {hs->tfd, &TAG_TIMER},
               {hs->wakefd, &TAG_WAKE}};
    for (size_t i = 0; rc == 0 && i < sizeof fds / sizeof fds[0]; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = fds[i].tag};
        rc = epoll_ctl(hs->ep, EPOLL_CTL_ADD, fds[i].fd, &ev);
    }
    if (rc < 0) {
        snprintf(err, errsz, "cannot set up the API event loop: %s", strerror(errno));
        http_server_free(hs);
        return MAMORI_EIO;
    }
    *out = hs;
    return 0;
}

int http_server_run(struct http_server *hs)
{
    struct epoll_event evs[EP_BATCH];
    while (!hs->stop) {
        int n = epoll_wait(hs->ep, evs, EP_BATCH, 1000);
        if (n < 0 && errno != EINTR) {
            log_error("API epoll_wait: %s", strerror(errno));
            return MAMORI_EIO;
        }
        hs->now = http_mono_ms();
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &TAG_LISTEN) {
                do_accept(hs);
            } else if (p == &TAG_STOP) {
                hs->stop = true;
            } else if (p == &TAG_WAKE) {
                uint64_t t;
                if (read(hs->wakefd, &t, sizeof t) < 0 && errno != EAGAIN)
                    log_warn("API wake eventfd: %s", strerror(errno));
                if (hs->cfg.on_wake)
                    hs->cfg.on_wake(hs->cfg.arg);
            } else if (p == &TAG_TIMER) {
                uint64_t t;
                if (read(hs->tfd, &t, sizeof t) < 0 && errno != EAGAIN)
                    log_warn("API timerfd: %s", strerror(errno));
                timeouts(hs);
                if (hs->cfg.on_tick)
                    hs->cfg.on_tick(hs->cfg.arg, hs->now);
            } else if (!((struct http_conn *)p)->dead) {
                conn_event(p, evs[i].events);
            }
        }
        sweep(hs);
        free_dead(hs);
    }
    return 0;
}

void http_server_stop(struct http_server *hs)
{
    uint64_t one = 1;
    if (write(hs->evfd, &one, sizeof one) < 0)
        log_warn("API: cannot signal the loop to stop: %s", strerror(errno));
}

void http_server_wake(struct http_server *hs)
{
    uint64_t one = 1;
    if (write(hs->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("API: cannot wake the loop: %s", strerror(errno));
}

void http_server_free(struct http_server *hs)
{
    if (!hs)
        return;
    while (hs->conns)
        conn_close(hs->conns);
    free_dead(hs);
    int fds[] = {hs->ep, hs->evfd, hs->wakefd, hs->tfd, hs->cfg.lfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(hs);
}
