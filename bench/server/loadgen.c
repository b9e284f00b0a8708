/* loadgen.c - thousands of simulated agents against one `mamori server`, from
 * one process and one epoll loop (bench/server/run.sh drives it).
 *
 *   loadgen enroll --data SRVDIR --work WORK -n N --server 127.0.0.1:PORT
 *       N identities (EC P-256 key + certificate) in WORK/ids/NNNNN.pem; the
 *       ones already there are kept. The missing ones get enrollment tokens
 *       written into SRVDIR/server.db in one transaction (hash, site "bench",
 *       or with --sites K agent i in site "site-NN" for NN = i % K, as
 *       `mamori server token` would), then enroll over the real protocol
 *       (ENROLL frame, CSR), --inflight at a time.
 *   loadgen run --work WORK -n N --server ADDR --pid-file F [options]
 *       Connects the N identities over mutual TLS (HELLO, WELCOME), then
 *       heartbeats at the server's interval and sends ALERT frames at --rate
 *       per second in total (seq 1, 2, ... per host, at most WINDOW
 *       unacknowledged per host, resent from the last ALERT_ACK after a
 *       reconnect, as the real agent does). Phases: connect, steady
 *       (--duration s), optionally kill -9 of the server (pid from F) and
 *       --restart-cmd, run on until every agent is back plus --post s, then
 *       drain (no new alerts until every alert is acknowledged). Writes
 *       WORK/ledger ("host_id acked_seq" lines) and prints key=value results.
 *       --total M: the steady phase ends once M alerts are sent. --mix DAYS
 *       (with --total and --sites K as enrolled): the alerts are
 *       alertmix.h's episodes over DAYS days instead of one kind from every
 *       agent in turn. --hold S: after the drain, print hold=1 and stay
 *       connected (heartbeats) for S seconds.
 *   loadgen floor --db PATH --rows N --batch B
 *       The SQLite floor: the same alert rows, with the server's statement, in
 *       transactions of B rows on the same disk.
 *
 * Data enters as frames from the server and files in WORK; it leaves as
 * frames, the ledger, key=value lines on stdout and progress on stderr.
 * Bounds: --n agents (at most MAX_AGENTS), WINDOW alerts in flight per agent,
 * --inflight connections being set up at once, latency histograms of
 * HIST_SLOTS slots of HIST_US each (later values land in the last slot). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/frame.h"
#include "net/pki.h"
#include "net/tls.h"
#include "net/token.h"

#include "alertmix.h"

#define MAX_AGENTS 100000
#define WINDOW 256 /* unacknowledged alerts per agent, as the real agent */
#define HIST_US 100
#define HIST_SLOTS 300000 /* 100 us .. 30 s */
#define WMAX (4u << 20)
#define EV_WINDOW 4096 /* unacknowledged events per agent, as the real agent */
#define EV_FRAMES 64   /* EVENTS frames in flight per agent (send times kept) */

enum ast { A_IDLE, A_CONNECTING, A_HANDSHAKE, A_WAIT, A_LIVE, A_DONE };

struct agent {
    struct netconn nc;
    enum ast st;
    bool open; /* nc holds a socket */
    int idx;
    EVP_PKEY *key;
    X509 *cert;
    char host_id[64];
    uint64_t retry_at, backoff, next_hb;
    uint64_t sent, acked; /* alert seqs */
    uint64_t hb_seq;
    uint64_t hb_sent_us[4];
    uint64_t sent_us[WINDOW];   /* send time of seq s at s % WINDOW */
    struct mix_ref *mixref;     /* --mix: what seq s was, at s % WINDOW (WINDOW of them) */
    uint64_t ev_sent, ev_acked; /* event seqs */
    uint64_t evf_last[EV_FRAMES], evf_us[EV_FRAMES]; /* frames in flight: last seq, sent */
    unsigned evf_head, evf_n;
};

/* One HTTPS connection reading GET /api/v1/events/stream (server-sent
 * events): each "event: alert" data line names host_id and seq, timed
 * against the moment the loadgen queued that alert. Read buffer SSE_BUF. */
#define SSE_BUF (256u << 10)
struct sse {
    struct netconn nc;
    bool open, sent_req;
    bool in_alert; /* the last "event:" line named an alert */
    const char *token;
    char host[64];
    size_t len;
    char buf[SSE_BUF];
};

struct hist {
    uint32_t *slot;
    uint64_t n;
};

struct lg {
    int n, inflight_max, inflight, sources;
    struct agent *a;
    SSL_CTX *ctx;
    int ep;
    struct sockaddr_in dst;
    const char *work, *pidfile, *restart;
    uint64_t hb_ms;
    double rate, budget, ev_rate, ev_budget;
    int ev_batch;
    int cursor, ev_cursor;
    int sites;       /* --sites: agent i is in site i % sites (0: all in "bench") */
    uint64_t total;  /* --total: alerts to send in all (0: no bound) */
    struct mix *mix; /* --mix: the episode planner */
    int live;
    bool enroll, sending;
    /* counters, reset per phase */
    uint64_t c_hb, c_alerts_acked, c_alerts_sent, c_connects, c_drops, c_ev_sent, c_ev_acked;
    struct hist h_ack, h_hb, h_ev, h_dlv;
    uint64_t c_dlv, c_dlv_untimed;
    struct sse *sse;
    struct agent **byid; /* host id -> agent, open addressing, idcap slots */
    size_t idcap;
    /* enrollment */
    const char **tokens;
    int enrolled;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...);
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ------------------------------------------------------------ figures -- */

static void hist_add(struct hist *h, uint64_t us)
{
    uint64_t i = us / HIST_US;
    h->slot[i < HIST_SLOTS ? i : HIST_SLOTS - 1]++;
    h->n++;
}

static double hist_q(const struct hist *h, double q) /* ms */
{
    if (!h->n)
        return -1;
    uint64_t want = (uint64_t)(q * (double)(h->n - 1)) + 1, c = 0;
    for (size_t i = 0; i < HIST_SLOTS; i++)
        if ((c += h->slot[i]) >= want)
            return (double)(i + 1) * HIST_US / 1000.0;
    return -1;
}

static void hist_reset(struct hist *h)
{
    memset(h->slot, 0, HIST_SLOTS * sizeof *h->slot);
    h->n = 0;
}

static int server_pid(const struct lg *g)
{
    FILE *f = g->pidfile ? fopen(g->pidfile, "r") : NULL;
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* Server CPU seconds (user + system) and VmHWM / VmRSS in KiB. */
static void server_stats(int pid, double *cpu, long *hwm, long *rss)
{
    char p[64], line[512];
    *cpu = 0;
    *hwm = *rss = 0;
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    FILE *f = pid > 0 ? fopen(p, "r") : NULL;
    if (f) {
        if (fgets(line, sizeof line, f)) {
            char *s = strrchr(line, ')');
            unsigned long ut = 0, st = 0;
            if (s &&
                sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
                *cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        }
        fclose(f);
    }
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    f = pid > 0 ? fopen(p, "r") : NULL;
    if (f) {
        while (fgets(line, sizeof line, f)) {
            sscanf(line, "VmHWM: %ld", hwm);
            sscanf(line, "VmRSS: %ld", rss);
        }
        fclose(f);
    }
}

/* -------------------------------------------------------- connections -- */

static void interest(struct lg *g, struct agent *a)
{
    uint32_t m = EPOLLIN | EPOLLRDHUP;
    if (a->st == A_CONNECTING || nc_wants_write(&a->nc) || a->nc.wlen)
        m |= EPOLLOUT;
    struct epoll_event ev = {.events = m, .data.ptr = a};
    epoll_ctl(g->ep, EPOLL_CTL_MOD, a->nc.fd, &ev);
}

static bool setting_up(const struct agent *a)
{
    return a->st == A_CONNECTING || a->st == A_HANDSHAKE || a->st == A_WAIT;
}

static void agent_close(struct lg *g, struct agent *a, bool failed)
{
    if (setting_up(a))
        g->inflight--;
    if (a->st == A_LIVE)
        g->live--;
    if (a->open) {
        epoll_ctl(g->ep, EPOLL_CTL_DEL, a->nc.fd, NULL);
        nc_free(&a->nc);
        a->open = false;
    }
    if (a->st == A_DONE)
        return;
    uint64_t now = now_us() / 1000;
    if (failed) {
        a->backoff = a->backoff ? a->backoff * 2 : 250;
        if (a->backoff > 2000)
            a->backoff = 2000;
    } else {
        a->backoff = 250;
    }
    a->retry_at = now + a->backoff + (uint64_t)(rand() % 500);
    a->st = A_IDLE;
}

static void agent_fail(struct lg *g, struct agent *a, const char *why)
{
    static uint64_t shown;
    if (shown++ < 5 || g->enroll)
        fprintf(stderr, "loadgen: agent %d: %s\n", a->idx, why);
    g->c_drops++;
    agent_close(g, a, true);
}

static int agent_connect(struct lg *g, struct agent *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (g->sources > 1) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(a->idx % g->sources));
        bind(fd, (struct sockaddr *)&src, sizeof src);
    }
    if (connect(fd, (struct sockaddr *)&g->dst, sizeof g->dst) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    if (nc_init(&a->nc, fd, g->ctx, false, "127.0.0.1", FRAME_MAX, WMAX) < 0) {
        nc_free(&a->nc);
        return -1;
    }
    if (a->cert && (SSL_use_certificate(a->nc.ssl, a->cert) != 1 ||
                    SSL_use_PrivateKey(a->nc.ssl, a->key) != 1)) {
        nc_free(&a->nc);
        return -1;
    }
    a->open = true;
    a->st = A_CONNECTING;
    g->inflight++;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = a};
    epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static bool send_str(struct lg *g, struct agent *a, uint16_t type, const char *body)
{
    if (nc_send(&a->nc, type, body, strlen(body)) < 0) {
        agent_fail(g, a, "write buffer full");
        return false;
    }
    return true;
}

static bool send_alert(struct lg *g, struct agent *a, uint64_t seq, uint64_t t)
{
    char b[MIX_BODY_MAX];
    a->sent_us[seq % WINDOW] = t;
    if (g->mix) {
        if (mix_frame(&a->mixref[seq % WINDOW], a->idx, seq, a->host_id, b, sizeof b) < 0)
            die("%s", "a mixed alert is larger than MIX_BODY_MAX");
        return send_str(g, a, FRAME_ALERT, b);
    }
    snprintf(b, sizeof b,
             "{\"seq\":%" PRIu64 ",\"alert\":{\"time_ms\":%" PRId64
             ",\"kind\":\"bench\",\"severity\":\"high\",\"summary\":\"bench alert %" PRIu64
             " from %s: process /usr/bin/x encrypted files in /srv/share; mamori froze it\"}}",
             seq, wall_ms(), seq, a->host_id);
    return send_str(g, a, FRAME_ALERT, b);
}

/* One EVENTS frame with seqs first..last (at most FRAME_EVENTS_MAX). */
static bool send_events(struct lg *g, struct agent *a, uint64_t first, uint64_t last, uint64_t t)
{
    static char b[FRAME_EVENTS_MAX * 256 + 64];
    int64_t now = wall_ms();
    size_t n = (size_t)snprintf(b, sizeof b, "{\"first_seq\":%" PRIu64 ",\"events\":[", first);
    for (uint64_t q = first; q <= last; q++)
        n += (size_t)snprintf(b + n, sizeof b - n,
                              "%s{\"time_ms\":%" PRId64 ",\"kind\":\"file_write\",\"pid\":%" PRIu64
                              ",\"exe\":\"/usr/bin/x\",\"user\":\"alice\",\"path\":\"/srv/share/"
                              "doc%" PRIu64 ".docx\"}",
                              q == first ? "" : ",", now, 1000 + q % 30000, q);
    n += (size_t)snprintf(b + n, sizeof b - n, "]}");
    if (a->evf_n == EV_FRAMES) /* oldest send time forgotten: counted, not timed */
        a->evf_n--;
    unsigned i = (a->evf_head + a->evf_n) % EV_FRAMES;
    a->evf_last[i] = last;
    a->evf_us[i] = t;
    a->evf_n++;
    if (nc_send(&a->nc, FRAME_EVENTS, b, n) < 0) {
        agent_fail(g, a, "write buffer full");
        return false;
    }
    return true;
}

static bool resend_events(struct lg *g, struct agent *a, uint64_t t)
{
    a->evf_n = 0;
    for (uint64_t q = a->ev_acked + 1; q <= a->ev_sent; q += (uint64_t)g->ev_batch) {
        uint64_t last = q + (uint64_t)g->ev_batch - 1;
        if (!send_events(g, a, q, last < a->ev_sent ? last : a->ev_sent, t))
            return false;
    }
    return true;
}

/* After WELCOME: resend what the server has not acknowledged. */
static bool on_live(struct lg *g, struct agent *a)
{
    a->st = A_LIVE;
    g->inflight--;
    g->live++;
    g->c_connects++;
    a->backoff = 0;
    uint64_t t = now_us();
    a->next_hb = t / 1000 + (uint64_t)rand() % (g->hb_ms ? g->hb_ms : 1000);
    for (uint64_t s = a->acked + 1; s <= a->sent; s++)
        if (!send_alert(g, a, s, t))
            return false;
    return resend_events(g, a, t);
}

static bool save_identity(struct lg *g, struct agent *a, const char *cert_pem, const char *id)
{
    char p[4096], e[PKI_ERR_MAX];
    snprintf(p, sizeof p, "%s/ids/%05d.pem", g->work, a->idx);
    a->cert = pki_cert_from_pem(cert_pem, strlen(cert_pem), e);
    FILE *f = a->cert ? fopen(p, "w") : NULL;
    if (!f)
        return false;
    fprintf(f, "# %s\n", id);
    PEM_write_PrivateKey(f, a->key, NULL, NULL, 0, NULL, NULL);
    PEM_write_X509(f, a->cert);
    return fclose(f) == 0;
}

static bool on_frame(struct lg *g, struct agent *a, const struct frame *f)
{
    const char *why = NULL;
    struct json_object *j = frame_body_json(f, &why);
    if (!j) {
        agent_fail(g, a, why);
        return false;
    }
    int64_t seq = 0;
    bool ok = true;
    uint64_t t = now_us();
    switch (f->type) {
    case FRAME_WELCOME: {
        int64_t hb = 0;
        if (frame_int(j, "heartbeat_ms", &hb) && hb > 0)
            g->hb_ms = (uint64_t)hb;
        const char *id = frame_str(j, "host_id", 63);
        snprintf(a->host_id, sizeof a->host_id, "%s", id ? id : "?");
        ok = a->st == A_WAIT && on_live(g, a);
        break;
    }
    case FRAME_HEARTBEAT_ACK:
        if (frame_int(j, "seq", &seq) && seq > 0 && (uint64_t)seq + 4 > a->hb_seq) {
            hist_add(&g->h_hb, t - a->hb_sent_us[seq % 4]);
            g->c_hb++;
        }
        break;
    case FRAME_ALERT_ACK:
        if (frame_int(j, "seq", &seq) && (uint64_t)seq > a->acked && (uint64_t)seq <= a->sent) {
            for (uint64_t s = a->acked + 1; s <= (uint64_t)seq; s++)
                hist_add(&g->h_ack, t - a->sent_us[s % WINDOW]);
            g->c_alerts_acked += (uint64_t)seq - a->acked;
            a->acked = (uint64_t)seq;
        }
        break;
    case FRAME_EVENTS_ACK:
        if (frame_int(j, "seq", &seq) && (uint64_t)seq > a->ev_acked &&
            (uint64_t)seq <= a->ev_sent) {
            while (a->evf_n && a->evf_last[a->evf_head] <= (uint64_t)seq) {
                hist_add(&g->h_ev, t - a->evf_us[a->evf_head]);
                a->evf_head = (a->evf_head + 1) % EV_FRAMES;
                a->evf_n--;
            }
            g->c_ev_acked += (uint64_t)seq - a->ev_acked;
            a->ev_acked = (uint64_t)seq;
        }
        break;
    case FRAME_ENROLL_OK: {
        const char *cert = frame_str(j, "cert", PKI_PEM_MAX);
        const char *id = frame_str(j, "host_id", 63);
        if (!cert || !id || !save_identity(g, a, cert, id)) {
            agent_fail(g, a, "enrollment answer unusable");
            ok = false;
            break;
        }
        g->enrolled++;
        agent_close(g, a, false);
        a->st = A_DONE;
        ok = false;
        break;
    }
    case FRAME_COMMAND: break; /* not answered: the bench sends no commands */
    case FRAME_ERROR: {
        char m[300];
        snprintf(m, sizeof m, "server refused: %s", frame_str(j, "reason", 200) ?: "?");
        agent_fail(g, a, m);
        ok = false;
        break;
    }
    default: break;
    }
    json_object_put(j);
    return ok;
}

static void agent_event(struct lg *g, struct agent *a, uint32_t ev)
{
    if (a->st == A_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(a->nc.fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            agent_fail(g, a, strerror(err));
            return;
        }
        a->st = A_HANDSHAKE;
    }
    if (a->st == A_HANDSHAKE) {
        int r = nc_handshake(&a->nc);
        if (r < 0) {
            agent_fail(g, a, a->nc.why);
            return;
        }
        if (r == NC_AGAIN) {
            interest(g, a);
            return;
        }
        a->st = A_WAIT;
        if (g->enroll) {
            char e[PKI_ERR_MAX], csr[PKI_PEM_MAX], hn[32];
            snprintf(hn, sizeof hn, "bench-%05d", a->idx);
            if (pki_csr_pem(a->key, hn, csr, sizeof csr, e) < 0) {
                agent_fail(g, a, e);
                return;
            }
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "proto", json_object_new_int(FRAME_PROTO));
            json_object_object_add(o, "token", json_object_new_string(g->tokens[a->idx]));
            json_object_object_add(o, "csr", json_object_new_string(csr));
            json_object_object_add(o, "hostname", json_object_new_string(hn));
            bool ok = send_str(g, a, FRAME_ENROLL,
                               json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
            if (!ok)
                return;
        } else {
            char b[160];
            snprintf(b, sizeof b,
                     "{\"proto\":%d,\"hostname\":\"bench-%05d\",\"agent_version\":\"loadgen\"}",
                     FRAME_PROTO, a->idx);
            if (!send_str(g, a, FRAME_HELLO, b))
                return;
        }
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (;;) {
            int r = nc_read(&a->nc);
            struct frame f;
            int fr;
            while ((fr = nc_frame(&a->nc, &f)) == 1) {
                if (!on_frame(g, a, &f))
                    return;
                nc_consume(&a->nc, &f);
            }
            if (fr < 0) {
                agent_fail(g, a, a->nc.why);
                return;
            }
            if (r == NC_AGAIN)
                break;
            if (r < 0) {
                agent_fail(g, a, r == NC_CLOSED ? "closed by the server" : a->nc.why);
                return;
            }
        }
    }
    if (nc_flush(&a->nc) < 0) {
        agent_fail(g, a, a->nc.why);
        return;
    }
    interest(g, a);
}

static uint64_t id_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void index_ids(struct lg *g)
{
    g->idcap = 1;
    while (g->idcap < (size_t)g->n * 2)
        g->idcap *= 2;
    g->byid = calloc(g->idcap, sizeof *g->byid);
    if (!g->byid)
        die("%s", "out of memory");
    for (int i = 0; i < g->n; i++) {
        size_t k = id_hash(g->a[i].host_id) & (g->idcap - 1);
        while (g->byid[k])
            k = (k + 1) & (g->idcap - 1);
        g->byid[k] = &g->a[i];
    }
}

static struct agent *by_id(const struct lg *g, const char *id)
{
    for (size_t k = id_hash(id) & (g->idcap - 1); g->byid[k]; k = (k + 1) & (g->idcap - 1))
        if (!strcmp(g->byid[k]->host_id, id))
            return g->byid[k];
    return NULL;
}

static void sse_close(struct lg *g, const char *why)
{
    fprintf(stderr, "loadgen: event stream closed: %s\n", why);
    epoll_ctl(g->ep, EPOLL_CTL_DEL, g->sse->nc.fd, NULL);
    nc_free(&g->sse->nc);
    g->sse->open = false;
}

/* One "data: {...}" line of an alert event. */
static void sse_line(struct lg *g, char *line, uint64_t t)
{
    if (!strncmp(line, "event: ", 7))
        g->sse->in_alert = !strncmp(line + 7, "alert", 5) && (line[12] == 0 || line[12] == '\r');
    if (!g->sse->in_alert || strncmp(line, "data: {", 7) != 0)
        return;
    struct json_object *j = json_tokener_parse(line + 6);
    if (!j)
        return;
    const char *id = frame_str(j, "host_id", 63);
    int64_t seq = 0;
    struct agent *a = id ? by_id(g, id) : NULL;
    if (a && frame_int(j, "seq", &seq) && seq > 0 && (uint64_t)seq <= a->sent &&
        (uint64_t)seq + WINDOW > a->sent) {
        hist_add(&g->h_dlv, t - a->sent_us[seq % WINDOW]);
        g->c_dlv++;
    } else if (a) {
        g->c_dlv_untimed++;
    }
    json_object_put(j);
}

static void sse_event(struct lg *g)
{
    struct sse *e = g->sse;
    int r = nc_handshake(&e->nc);
    if (r < 0) {
        sse_close(g, e->nc.why);
        return;
    }
    if (r == NC_AGAIN) {
        struct epoll_event ev = {.events = EPOLLIN | (e->nc.want_write ? EPOLLOUT : 0),
                                 .data.ptr = e};
        epoll_ctl(g->ep, EPOLL_CTL_MOD, e->nc.fd, &ev);
        return;
    }
    if (!e->sent_req) {
        char req[1024];
        int n = snprintf(req, sizeof req,
                         "GET /api/v1/events/stream HTTP/1.1\r\nHost: %s\r\n"
                         "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                         e->host, e->token);
        if (SSL_write(e->nc.ssl, req, n) != n) {
            sse_close(g, "cannot send the request");
            return;
        }
        e->sent_req = true;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
        epoll_ctl(g->ep, EPOLL_CTL_MOD, e->nc.fd, &ev);
    }
    uint64_t t = now_us();
    for (;;) {
        if (e->len == SSE_BUF - 1)
            e->len = 0; /* a line longer than the buffer: dropped */
        int n = SSL_read(e->nc.ssl, e->buf + e->len, (int)(SSE_BUF - 1 - e->len));
        if (n <= 0) {
            int err = SSL_get_error(e->nc.ssl, n);
            ERR_clear_error();
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
                sse_close(g, "closed by the server");
            return;
        }
        e->len += (size_t)n;
        e->buf[e->len] = 0;
        char *p = e->buf, *nl;
        while ((nl = strchr(p, '\n'))) {
            *nl = 0;
            sse_line(g, p, t);
            p = nl + 1;
        }
        e->len -= (size_t)(p - e->buf);
        memmove(e->buf, p, e->len);
    }
}

static void sse_open(struct lg *g, const char *addr, const char *token)
{
    struct sse *e = calloc(1, sizeof *e);
    char host[64];
    int port = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (!e || sscanf(addr, "%63[^:]:%d", host, &port) != 2 ||
        inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        die("--sse %s: want IPV4:PORT", addr);
    sa.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("--sse %s: cannot connect", addr);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    if (nc_init(&e->nc, fd, g->ctx, false, host, FRAME_MAX, WMAX) < 0)
        die("%s", "event stream: TLS setup failed");
    snprintf(e->host, sizeof e->host, "%s", addr);
    e->token = token;
    e->open = true;
    g->sse = e;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = e};
    epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* ---------------------------------------------------------- the loop -- */

static void start_connects(struct lg *g, uint64_t now_ms)
{
    for (int i = 0; i < g->n && g->inflight < g->inflight_max; i++) {
        struct agent *a = &g->a[i];
        if (a->st == A_IDLE && a->retry_at <= now_ms && agent_connect(g, a) < 0)
            agent_fail(g, a, "cannot open a socket");
    }
}

static void heartbeats(struct lg *g, uint64_t now_ms)
{
    for (int i = 0; i < g->n; i++) {
        struct agent *a = &g->a[i];
        if (a->st != A_LIVE || a->next_hb > now_ms)
            continue;
        char b[48];
        a->hb_seq++;
        a->hb_sent_us[a->hb_seq % 4] = now_us();
        snprintf(b, sizeof b, "{\"seq\":%" PRIu64 "}", a->hb_seq);
        a->next_hb = now_ms + g->hb_ms;
        if (send_str(g, a, FRAME_HEARTBEAT, b)) {
            if (nc_flush(&a->nc) < 0)
                agent_fail(g, a, a->nc.why);
            else
                interest(g, a);
        }
    }
}

/* Spend the alert budget over live agents with room in their window,
 * round robin, a few alerts per agent per turn. */
static void events(struct lg *g, double dt_s)
{
    if (!g->sending || g->live == 0 || g->ev_rate <= 0) {
        g->ev_budget = 0;
        return;
    }
    g->ev_budget += g->ev_rate * dt_s;
    if (g->ev_budget > g->ev_rate)
        g->ev_budget = g->ev_rate;
    uint64_t b = (uint64_t)g->ev_batch, t = now_us();
    for (int k = 0; k < g->n && g->ev_budget >= (double)b; k++) {
        struct agent *a = &g->a[g->ev_cursor];
        g->ev_cursor = (g->ev_cursor + 1) % g->n;
        if (a->st != A_LIVE || a->ev_sent - a->ev_acked + b > EV_WINDOW || a->evf_n == EV_FRAMES)
            continue;
        if (!send_events(g, a, a->ev_sent + 1, a->ev_sent + b, t))
            continue;
        a->ev_sent += b;
        g->ev_budget -= (double)b;
        g->c_ev_sent += b;
        if (nc_flush(&a->nc) < 0)
            agent_fail(g, a, a->nc.why);
        else
            interest(g, a);
    }
}

/* --mix: the planner names the agent of each alert; one that is not live
 * or has a full window holds the stream until it can take it. */
static void alerts_mix(struct lg *g)
{
    uint64_t t = now_us();
    int ai;
    struct mix_ref r;
    while (g->budget >= 1 && mix_peek(g->mix, &ai, &r)) {
        struct agent *a = &g->a[ai];
        if (a->st != A_LIVE || a->sent - a->acked >= WINDOW)
            break;
        a->mixref[(a->sent + 1) % WINDOW] = r;
        if (!send_alert(g, a, a->sent + 1, t))
            break;
        a->sent++;
        mix_take(g->mix);
        g->budget -= 1;
        g->c_alerts_sent++;
        if (nc_flush(&a->nc) < 0)
            agent_fail(g, a, a->nc.why);
        else
            interest(g, a);
    }
}

static void alerts(struct lg *g, double dt_s)
{
    if (!g->sending || g->live == 0) {
        g->budget = 0;
        return;
    }
    g->budget += g->rate * dt_s;
    if (g->budget > g->rate) /* at most one second behind */
        g->budget = g->rate;
    if (g->total && g->budget > (double)(g->total - g->c_alerts_sent))
        g->budget = (double)(g->total - g->c_alerts_sent);
    if (g->mix) {
        alerts_mix(g);
        return;
    }
    uint64_t per = (uint64_t)(g->budget / g->live) + 1, t = now_us();
    for (int k = 0; k < g->n && g->budget >= 1; k++) {
        struct agent *a = &g->a[g->cursor];
        g->cursor = (g->cursor + 1) % g->n;
        if (a->st != A_LIVE)
            continue;
        uint64_t n = 0;
        while (n < per && g->budget >= 1 && a->sent - a->acked < WINDOW) {
            if (!send_alert(g, a, ++a->sent, t))
                break;
            n++;
            g->budget -= 1;
            g->c_alerts_sent++;
        }
        if (n && a->st == A_LIVE) {
            if (nc_flush(&a->nc) < 0)
                agent_fail(g, a, a->nc.why);
            else
                interest(g, a);
        }
    }
}

struct phase_stats {
    uint64_t t0_us, hb, acked, sent, ev_sent, ev_acked;
    double cpu0;
    double alerts_ps, events_ps; /* acknowledged, set by phase_end */
};

static void phase_begin(struct lg *g, struct phase_stats *p)
{
    long hwm, rss;
    p->t0_us = now_us();
    p->hb = g->c_hb;
    p->acked = g->c_alerts_acked;
    p->sent = g->c_alerts_sent;
    p->ev_sent = g->c_ev_sent;
    p->ev_acked = g->c_ev_acked;
    server_stats(server_pid(g), &p->cpu0, &hwm, &rss);
    hist_reset(&g->h_ack);
    hist_reset(&g->h_hb);
    hist_reset(&g->h_ev);
    hist_reset(&g->h_dlv);
    g->c_dlv = g->c_dlv_untimed = 0;
}

static void phase_end(struct lg *g, struct phase_stats *p, const char *name)
{
    double cpu;
    long hwm, rss;
    double s = (double)(now_us() - p->t0_us) / 1e6;
    server_stats(server_pid(g), &cpu, &hwm, &rss);
    p->alerts_ps = (double)(g->c_alerts_acked - p->acked) / s;
    p->events_ps = (double)(g->c_ev_acked - p->ev_acked) / s;
    printf("%s_seconds=%.2f\n%s_connected=%d\n", name, s, name, g->live);
    printf("%s_heartbeats_per_s=%.0f\n", name, (double)(g->c_hb - p->hb) / s);
    printf("%s_alerts_sent_per_s=%.0f\n", name, (double)(g->c_alerts_sent - p->sent) / s);
    printf("%s_alerts_acked_per_s=%.0f\n", name, (double)(g->c_alerts_acked - p->acked) / s);
    printf("%s_ack_p50_ms=%.1f\n%s_ack_p99_ms=%.1f\n%s_ack_max_ms=%.1f\n", name,
           hist_q(&g->h_ack, 0.5), name, hist_q(&g->h_ack, 0.99), name, hist_q(&g->h_ack, 1.0));
    printf("%s_events_sent_per_s=%.0f\n", name, (double)(g->c_ev_sent - p->ev_sent) / s);
    printf("%s_events_acked_per_s=%.0f\n", name, (double)(g->c_ev_acked - p->ev_acked) / s);
    printf("%s_ev_ack_p50_ms=%.1f\n%s_ev_ack_p99_ms=%.1f\n", name, hist_q(&g->h_ev, 0.5), name,
           hist_q(&g->h_ev, 0.99));
    if (g->sse)
        printf("%s_sse_alerts=%" PRIu64 "\n%s_sse_untimed=%" PRIu64
               "\n%s_sse_p50_ms=%.1f\n%s_sse_p99_ms=%.1f\n",
               name, g->c_dlv, name, g->c_dlv_untimed, name, hist_q(&g->h_dlv, 0.5), name,
               hist_q(&g->h_dlv, 0.99));
    printf("%s_hb_p50_ms=%.1f\n%s_hb_p99_ms=%.1f\n", name, hist_q(&g->h_hb, 0.5), name,
           hist_q(&g->h_hb, 0.99));
    printf("%s_server_cpu_pct=%.0f\n", name, s > 0 ? (cpu - p->cpu0) * 100.0 / s : 0);
    printf("%s_server_hwm_kib=%ld\n%s_server_rss_kib=%ld\n", name, hwm, name, rss);
    fflush(stdout);
}

/* Turn the loop until stop(g) says so or limit_ms passes; progress every second. */
static bool loop_until(struct lg *g, uint64_t limit_ms, bool (*stop)(const struct lg *),
                       const char *label)
{
    struct epoll_event evs[512];
    uint64_t t0 = now_us() / 1000, last = now_us(), last_hb = 0, last_print = t0;
    uint64_t pa = g->c_alerts_acked, ph = g->c_hb, pe = g->c_ev_acked;
    for (;;) {
        uint64_t nowm = now_us() / 1000;
        if (stop && stop(g))
            return true;
        if (nowm - t0 >= limit_ms)
            return !stop;
        start_connects(g, nowm);
        int n = epoll_wait(g->ep, evs, 512, g->sending ? 1 : 10);
        for (int i = 0; i < n; i++) {
            if (g->sse && evs[i].data.ptr == g->sse) {
                if (g->sse->open)
                    sse_event(g);
                continue;
            }
            struct agent *a = evs[i].data.ptr;
            if (a->open)
                agent_event(g, a, evs[i].events);
        }
        uint64_t t = now_us();
        alerts(g, (double)(t - last) / 1e6);
        events(g, (double)(t - last) / 1e6);
        last = t;
        if (!g->enroll && t / 1000 - last_hb >= 50) {
            heartbeats(g, t / 1000);
            last_hb = t / 1000;
        }
        if (t / 1000 - last_print >= 1000) {
            fprintf(stderr,
                    "  [%s %5.1fs] live %d, setting up %d, alerts acked %" PRIu64
                    "/s, events acked %" PRIu64 "/s, heartbeats %" PRIu64 "/s\n",
                    label, (double)(t / 1000 - t0) / 1000, g->live, g->inflight,
                    g->c_alerts_acked - pa, g->c_ev_acked - pe, g->c_hb - ph);
            pe = g->c_ev_acked;
            pa = g->c_alerts_acked;
            ph = g->c_hb;
            last_print = t / 1000;
        }
    }
}

static bool all_live(const struct lg *g)
{
    return g->live == g->n;
}

static bool all_enrolled(const struct lg *g)
{
    for (int i = 0; i < g->n; i++)
        if (g->a[i].st != A_DONE)
            return false;
    return true;
}

static bool all_acked(const struct lg *g)
{
    if (!all_live(g))
        return false;
    for (int i = 0; i < g->n; i++)
        if (g->a[i].acked != g->a[i].sent || g->a[i].ev_acked != g->a[i].ev_sent)
            return false;
    return true;
}

static bool all_sent(const struct lg *g)
{
    return g->c_alerts_sent >= g->total;
}

static bool stop_never(const struct lg *g)
{
    (void)g;
    return false;
}

static bool all_gone(const struct lg *g)
{
    return g->live == 0;
}

/* ------------------------------------------------------------- setup -- */

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void set_dst(struct lg *g, const char *server)
{
    char host[64];
    int port = 0;
    if (sscanf(server, "%63[^:]:%d", host, &port) != 2 ||
        inet_pton(AF_INET, host, &g->dst.sin_addr) != 1)
        die("--server %s: want IPV4:PORT", server);
    g->dst.sin_family = AF_INET;
    g->dst.sin_port = htons((uint16_t)port);
}

static bool load_identity(struct lg *g, struct agent *a)
{
    char p[4096], line[128];
    snprintf(p, sizeof p, "%s/ids/%05d.pem", g->work, a->idx);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    if (fgets(line, sizeof line, f) && sscanf(line, "# %63s", a->host_id) == 1) {
        a->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        a->cert = a->key ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    }
    fclose(f);
    return a->cert != NULL;
}

static void lg_init(struct lg *g, int n)
{
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    if (n < 1 || n > MAX_AGENTS)
        die("-n: 1..%d agents", MAX_AGENTS);
    g->n = n;
    g->a = calloc((size_t)n, sizeof *g->a);
    g->h_ack.slot = calloc(HIST_SLOTS, sizeof(uint32_t));
    g->h_hb.slot = calloc(HIST_SLOTS, sizeof(uint32_t));
    g->h_ev.slot = calloc(HIST_SLOTS, sizeof(uint32_t));
    g->h_dlv.slot = calloc(HIST_SLOTS, sizeof(uint32_t));
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!g->a || !g->h_ack.slot || !g->h_hb.slot || !g->h_ev.slot || !g->h_dlv.slot || g->ep < 0)
        die("%s", "out of memory");
    for (int i = 0; i < n; i++)
        g->a[i].idx = i;
    if (!g->inflight_max)
        g->inflight_max = 256;
}

/* Tokens for agents without an identity, written in one transaction. */
static int make_tokens(struct lg *g, const char *data)
{
    char p[4096], e[PKI_ERR_MAX];
    snprintf(p, sizeof p, "%s/ca.crt", data);
    X509 *ca = pki_cert_load(p, e);
    uint8_t pin[32];
    if (!ca || pki_spki_sha256(ca, pin) < 0)
        die("CA: %s", e);
    X509_free(ca);
    snprintf(p, sizeof p, "%s/server.db", data);
    sqlite3 *db;
    if (sqlite3_open(p, &db) != SQLITE_OK)
        die("cannot open %s", p);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (g->sites < 1)
        sqlite3_exec(db, "INSERT OR IGNORE INTO sites(name, created) VALUES('bench', 0)", NULL,
                     NULL, NULL);
    for (int k = 0; k < g->sites; k++) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "INSERT OR IGNORE INTO sites(name, created) VALUES('site-%02d', 0)", k);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO tokens(hash, site_id, created, expires) VALUES(?1,"
                           " (SELECT id FROM sites WHERE name = ?4), ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        die("prepare: %s", sqlite3_errmsg(db));
    int made = 0;
    int64_t now = wall_ms();
    g->tokens = calloc((size_t)g->n, sizeof *g->tokens);
    for (int i = 0; i < g->n; i++) {
        struct agent *a = &g->a[i];
        if (a->st == A_DONE)
            continue;
        char tok[TOKEN_BUF], hash[65];
        uint8_t secret[32];
        token_make(pin, secret, tok);
        token_hash_hex(secret, hash);
        g->tokens[i] = strdup(tok);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, now + 86400000);
        char site[32] = "bench";
        if (g->sites > 0)
            snprintf(site, sizeof site, "site-%02d", i % g->sites);
        sqlite3_bind_text(st, 4, site, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("token insert: %s", sqlite3_errmsg(db));
        a->key = pki_key_new(e);
        made++;
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die("commit: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
    return made;
}

static void lg_free(struct lg *g)
{
    for (int i = 0; i < g->n; i++) {
        struct agent *a = &g->a[i];
        if (a->open)
            nc_free(&a->nc);
        EVP_PKEY_free(a->key);
        X509_free(a->cert);
        free(a->mixref);
        if (g->tokens)
            free((char *)g->tokens[i]);
    }
    if (g->sse && g->sse->open)
        nc_free(&g->sse->nc);
    free(g->sse);
    free(g->mix);
    free((void *)g->tokens);
    free(g->byid);
    free(g->a);
    free(g->h_ack.slot);
    free(g->h_hb.slot);
    free(g->h_ev.slot);
    free(g->h_dlv.slot);
    SSL_CTX_free(g->ctx);
    close(g->ep);
}

static int cmd_enroll(int argc, char **argv)
{
    struct lg g = {0};
    const char *data = NULL, *server = NULL;
    int n = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data"))
            data = argv[i + 1];
        else if (!strcmp(argv[i], "--work"))
            g.work = argv[i + 1];
        else if (!strcmp(argv[i], "-n"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--server"))
            server = argv[i + 1];
        else if (!strcmp(argv[i], "--inflight"))
            g.inflight_max = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sites"))
            g.sites = atoi(argv[i + 1]);
        else
            die("enroll: unknown option %s", argv[i]);
    }
    if (!data || !g.work || !server)
        die("%s", "enroll needs --data, --work, -n and --server");
    lg_init(&g, n);
    g.enroll = true;
    set_dst(&g, server);
    char p[4096], e[PKI_ERR_MAX];
    snprintf(p, sizeof p, "%s/ids", g.work);
    mkdir(g.work, 0700);
    mkdir(p, 0700);
    int have = 0;
    for (int i = 0; i < n; i++)
        if (load_identity(&g, &g.a[i])) {
            g.a[i].st = A_DONE;
            have++;
        }
    uint64_t t0 = now_us();
    int made = make_tokens(&g, data);
    uint64_t t1 = now_us();
    snprintf(p, sizeof p, "%s/ca.crt", data);
    g.ctx = tls_client_ctx(p, NULL, NULL, e);
    if (!g.ctx)
        die("%s", e);
    if (made)
        loop_until(&g, 600000, all_enrolled, "enroll");
    uint64_t t2 = now_us();
    printf("enroll_cached=%d\nenroll_new=%d\nenroll_tokens_ms=%.0f\nenroll_ms=%.0f\n", have,
           g.enrolled, (double)(t1 - t0) / 1000, (double)(t2 - t1) / 1000);
    int rc = have + g.enrolled == n ? 0 : 1;
    lg_free(&g);
    return rc;
}

static void write_ledger(struct lg *g)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/ledger", g->work);
    FILE *f = fopen(p, "w");
    if (!f)
        die("cannot write %s", p);
    for (int i = 0; i < g->n; i++)
        fprintf(f, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", g->a[i].host_id, g->a[i].acked,
                g->a[i].sent, g->a[i].ev_acked);
    fclose(f);
}

static void restart_server(const char *cmd)
{
    pid_t p = fork();
    if (p == 0) {
        setsid();
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
}

static int cmd_run(int argc, char **argv)
{
    struct lg g = {0};
    const char *server = NULL, *sse = NULL, *sse_token = NULL;
    int n = 0;
    double duration = 20, post = 5, settle = 2, recover_s = 120, mix_days = 0, hold = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--work"))
            g.work = v;
        else if (!strcmp(o, "-n"))
            n = atoi(v);
        else if (!strcmp(o, "--server"))
            server = v;
        else if (!strcmp(o, "--pid-file"))
            g.pidfile = v;
        else if (!strcmp(o, "--rate"))
            g.rate = atof(v);
        else if (!strcmp(o, "--sse"))
            sse = v;
        else if (!strcmp(o, "--sse-token"))
            sse_token = v;
        else if (!strcmp(o, "--events-rate"))
            g.ev_rate = atof(v);
        else if (!strcmp(o, "--events-batch"))
            g.ev_batch = atoi(v);
        else if (!strcmp(o, "--duration"))
            duration = atof(v);
        else if (!strcmp(o, "--recover-timeout"))
            recover_s = atof(v);
        else if (!strcmp(o, "--post"))
            post = atof(v);
        else if (!strcmp(o, "--restart-cmd"))
            g.restart = v;
        else if (!strcmp(o, "--inflight"))
            g.inflight_max = atoi(v);
        else if (!strcmp(o, "--sources"))
            g.sources = atoi(v);
        else if (!strcmp(o, "--sites"))
            g.sites = atoi(v);
        else if (!strcmp(o, "--total"))
            g.total = strtoull(v, NULL, 10);
        else if (!strcmp(o, "--mix"))
            mix_days = atof(v);
        else if (!strcmp(o, "--hold"))
            hold = atof(v);
        else
            die("run: unknown option %s", o);
    }
    if (!g.work || !server)
        die("%s", "run needs --work, -n and --server");
    lg_init(&g, n);
    set_dst(&g, server);
    g.hb_ms = 10000;
    if (g.ev_batch < 1 || g.ev_batch > (int)FRAME_EVENTS_MAX)
        g.ev_batch = 100;
    char p[4096], e[PKI_ERR_MAX];
    for (int i = 0; i < n; i++)
        if (!load_identity(&g, &g.a[i]))
            die("%s: an identity is missing: run `loadgen enroll` first", g.work);
    snprintf(p, sizeof p, "%s/ca.crt", g.work);
    if (!(g.ctx = tls_client_ctx(p, NULL, NULL, e)))
        die("%s", e);
    index_ids(&g);
    if (mix_days > 0) {
        if (!g.total)
            die("%s", "--mix needs --total");
        g.mix = calloc(1, sizeof *g.mix);
        if (!g.mix)
            die("%s", "out of memory");
        mix_init(g.mix, n, g.sites, mix_days, g.total, wall_ms());
        for (int i = 0; i < n; i++)
            if (!(g.a[i].mixref = calloc(WINDOW, sizeof *g.a[i].mixref)))
                die("%s", "out of memory");
    }
    if (sse && sse_token)
        sse_open(&g, sse, sse_token);
    struct phase_stats ps;

    /* 1. connect everyone */
    phase_begin(&g, &ps);
    bool ok = loop_until(&g, 300000, all_live, "connect");
    printf("connect_ok=%d\n", ok);
    phase_end(&g, &ps, "connect");
    if (!ok) {
        lg_free(&g);
        return 1;
    }

    /* 2. steady load */
    g.sending = g.rate > 0 || g.ev_rate > 0;
    loop_until(&g, (uint64_t)(settle * 1000), NULL, "warm-up");
    phase_begin(&g, &ps);
    loop_until(&g, (uint64_t)(duration * 1000), g.total ? all_sent : NULL, "steady");
    phase_end(&g, &ps, "steady");

    /* 3. kill -9 of the server mid-load, restart, everyone back */
    if (g.restart) {
        /* offered from now on: what the server proved it stores (an offer
         * above that only grows the agents' backlogs, and no recovery ends) */
        if (g.rate > ps.alerts_ps)
            g.rate = ps.alerts_ps;
        if (g.ev_rate > ps.events_ps)
            g.ev_rate = ps.events_ps;
        printf("crash_alerts_offered_per_s=%.0f\ncrash_events_offered_per_s=%.0f\n", g.rate,
               g.ev_rate);
        int pid = server_pid(&g);
        long hwm, rss;
        double cpu;
        server_stats(pid, &cpu, &hwm, &rss);
        printf("crash_server_hwm_kib=%ld\n", hwm);
        uint64_t t0 = now_us();
        if (pid <= 0 || kill(pid, SIGKILL) < 0)
            die("cannot kill the server (pid file %s)", g.pidfile);
        loop_until(&g, 10000, all_gone, "killed");
        restart_server(g.restart);
        uint64_t t1 = now_us();
        ok = loop_until(&g, (uint64_t)(recover_s * 1000), all_live, "recover");
        uint64_t t2 = now_us();
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        printf("recover_ok=%d\nrecover_from_kill_ms=%.0f\nrecover_from_restart_ms=%.0f\n", ok,
               (double)(t2 - t0) / 1000, (double)(t2 - t1) / 1000);
        phase_begin(&g, &ps);
        loop_until(&g, (uint64_t)(post * 1000), stop_never, "after");
        phase_end(&g, &ps, "after");
    }

    /* 4. drain: every alert acknowledged */
    g.sending = false;
    ok = loop_until(&g, 60000, all_acked, "drain");
    uint64_t sent = 0, acked = 0, ev_sent = 0, ev_acked = 0;
    for (int i = 0; i < n; i++) {
        sent += g.a[i].sent;
        acked += g.a[i].acked;
        ev_sent += g.a[i].ev_sent;
        ev_acked += g.a[i].ev_acked;
    }
    printf("events_sent_total=%" PRIu64 "\nevents_acked_total=%" PRIu64 "\n", ev_sent, ev_acked);
    printf("drain_ok=%d\nalerts_sent_total=%" PRIu64 "\nalerts_acked_total=%" PRIu64
           "\nreconnects=%" PRIu64 "\n",
           ok, sent, acked, g.c_connects - (uint64_t)n);
    write_ledger(&g);
    if (hold > 0) {
        printf("hold=1\n");
        fflush(stdout);
        loop_until(&g, (uint64_t)(hold * 1000), stop_never, "hold");
    }
    lg_free(&g);
    return ok ? 0 : 1;
}

/* The events floor: event rows as the server writes them (events.c's
 * statement), B rows a transaction. */
static void floor_events(sqlite3 *db, long rows, long batch)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO events(host_id, seq, time, received, kind, body)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &q, NULL) != SQLITE_OK)
        die("floor: %s", sqlite3_errmsg(db));
    uint64_t t0 = now_us();
    for (long i = 0; i < rows; i++) {
        if (i % batch == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        char host[32], body[256];
        int64_t now = wall_ms();
        snprintf(host, sizeof host, "h-%016lx", i % 10000);
        int n = snprintf(body, sizeof body,
                         "{\"time_ms\":%" PRId64 ",\"kind\":\"file_write\",\"pid\":%ld,"
                         "\"exe\":\"/usr/bin/x\",\"user\":\"alice\",\"path\":\"/srv/share/"
                         "doc%ld.docx\"}",
                         now, 1000 + i % 30000, i / 10000 + 1);
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, host, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, i / 10000 + 1);
        sqlite3_bind_int64(q, 3, now);
        sqlite3_bind_int64(q, 4, now);
        sqlite3_bind_text(q, 5, "file_write", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, body, n, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_DONE)
            die("floor insert: %s", sqlite3_errmsg(db));
        if ((i + 1) % batch == 0 || i + 1 == rows)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double s = (double)(now_us() - t0) / 1e6;
    printf("floor_events_rows_per_s=%.0f\nfloor_events_batch=%ld\n", (double)rows / s, batch);
    sqlite3_finalize(q);
}

/* The floor: the same rows, the server's statement, B rows a transaction. */
static int cmd_floor(int argc, char **argv)
{
    const char *path = NULL, *table = "alerts";
    long rows = 100000, batch = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--db"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "--rows"))
            rows = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--table"))
            table = argv[i + 1];
        else if (!strcmp(argv[i], "--batch"))
            batch = atol(argv[i + 1]);
        else
            die("floor: unknown option %s", argv[i]);
    }
    sqlite3 *db;
    if (!path || sqlite3_open(path, &db) != SQLITE_OK)
        die("floor: cannot open --db %s", path ? path : "(none)");
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    if (!strcmp(table, "events")) {
        floor_events(db, rows, batch);
        sqlite3_close(db);
        return 0;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO alerts(host_id, site_id, seq, time, kind,"
                           " severity, summary, body) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &q, NULL) != SQLITE_OK)
        die("floor: %s", sqlite3_errmsg(db));
    uint64_t t0 = now_us();
    for (long i = 0; i < rows; i++) {
        if (i % batch == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        char host[32], summary[160], body[512];
        snprintf(host, sizeof host, "h-%016lx", i % 10000);
        snprintf(summary, sizeof summary,
                 "bench alert %ld from %s: process /usr/bin/x encrypted files in /srv/share;"
                 " mamori froze it",
                 i / 10000 + 1, host);
        snprintf(body, sizeof body,
                 "{\"time_ms\":%" PRId64 ",\"kind\":\"bench\",\"severity\":\"high\","
                 "\"summary\":\"%s\"}",
                 wall_ms(), summary);
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, host, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, 1);
        sqlite3_bind_int64(q, 3, i / 10000 + 1);
        sqlite3_bind_int64(q, 4, wall_ms());
        sqlite3_bind_text(q, 5, "bench", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, "high", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 7, summary, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 8, body, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_DONE)
            die("floor insert: %s", sqlite3_errmsg(db));
        if ((i + 1) % batch == 0 || i + 1 == rows)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double s = (double)(now_us() - t0) / 1e6;
    printf("floor_sqlite_rows_per_s=%.0f\nfloor_sqlite_batch=%ld\n", (double)rows / s, batch);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    srand((unsigned)getpid());
    if (argc >= 2 && !strcmp(argv[1], "enroll"))
        return cmd_enroll(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "floor"))
        return cmd_floor(argc - 1, argv + 1);
    fprintf(stderr,
            "usage: loadgen enroll|run|floor ... (see the top of bench/server/loadgen.c)\n");
    return 2;
}
