/* send_syslog.c - one RFC 5424 message to a SIEM over TCP (octet-counting
 * framing, RFC 6587 3.4.1: "LEN SP MSG") or TLS (RFC 5425, TLS 1.2 or
 * newer, the server certificate checked against the route's CA file or the
 * system's, and against the target's host name or address). One connection
 * per message; non-blocking sockets and poll() in slices of 100 ms, so the
 * deadline (send.h) and the stop flag are honoured at every step. Syslog
 * has no acknowledgement: "sent" means every byte was written and the
 * connection was closed without error. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "deliver/send.h"
#include "deliver/url.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for ev; 0, or < 0 with err set. */
static int wait_fd(int fd, short ev, int64_t deadline, const atomic_bool *stop, const char *where,
                   const char *step, char *err, size_t errsz)
{
    for (;;) {
        if (stop && atomic_load(stop)) {
            snprintf(err, errsz, "%s: abandoned: the server is stopping", where);
            return MAMORI_EIO;
        }
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            snprintf(err, errsz, "%s: timed out while %s", where, step);
            return MAMORI_EIO;
        }
        struct pollfd p = {.fd = fd, .events = ev};
        int n = poll(&p, 1, left < 100 ? (int)left : 100);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            snprintf(err, errsz, "%s: poll: %s", where, strerror(errno));
            return MAMORI_EIO;
        }
    }
}

static int dial(const struct url *u, int64_t deadline, const atomic_bool *stop, const char *where,
                char *err, size_t errsz)
{
    char port[8];
    snprintf(port, sizeof port, "%u", u->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(u->host, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errsz, "%s: cannot resolve the host: %s", where, gai_strerror(g));
        return MAMORI_EIO;
    }
    int fd = -1;
    snprintf(err, errsz, "%s: no address to connect to", where);
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int64_t cdl = mono_ms() + SEND_CONNECT_MS;
        if (cdl > deadline)
            cdl = deadline;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            snprintf(err, errsz, "%s: connect: %s", where, strerror(errno));
        } else if (wait_fd(fd, POLLOUT, cdl, stop, where, "connecting", err, errsz) == 0) {
            int e = 0;
            socklen_t l = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
            if (e == 0)
                break;
            snprintf(err, errsz, "%s: connect: %s", where, strerror(e));
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void ssl_why(const char *where, const char *step, SSL *s, char *err, size_t errsz)
{
    unsigned long e = ERR_get_error();
    char buf[200] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    long v = s ? SSL_get_verify_result(s) : X509_V_OK;
    if (v != X509_V_OK)
        snprintf(err, errsz, "%s: TLS %s: certificate not trusted: %s", where, step,
                 X509_verify_cert_error_string(v));
    else
        snprintf(err, errsz, "%s: TLS %s failed%s%s", where, step, buf[0] ? ": " : "", buf);
    ERR_clear_error();
}

/* Drive one SSL call until it completes; 1 done, else < 0 with err. */
static int ssl_io(SSL *s, int fd, int (*op)(SSL *, void *, int), void *arg, int len,
                  int64_t deadline, const atomic_bool *stop, const char *where, const char *step,
                  char *err, size_t errsz, int *out)
{
    for (;;) {
        ERR_clear_error();
        int r = op(s, arg, len);
        if (r > 0) {
            *out = r;
            return 1;
        }
        int e = SSL_get_error(s, r);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev) {
            ssl_why(where, step, s, err, errsz);
            return MAMORI_EIO;
        }
        if (wait_fd(fd, ev, deadline, stop, where, step, err, errsz) < 0)
            return MAMORI_EIO;
    }
}

static int op_connect(SSL *s, void *a, int l)
{
    return SSL_connect(s);
}
static int op_write(SSL *s, void *a, int l)
{
    return SSL_write(s, a, l);
}

int send_syslog(const struct route *r, const struct route_opts *o, const char *msg,
                const atomic_bool *stop, char *err, size_t errsz)
{
    char where[ROUTE_TARGET_MAX], why[200];
    route_masked_target(r, where, sizeof where);
    struct url u;
    if (url_parse(r->target, &u, why, sizeof why) < 0) {
        snprintf(err, errsz, "%s: %s", where, why);
        return MAMORI_EINVAL;
    }
    bool tls = !strcmp(u.scheme, "tls");
    size_t mlen = strlen(msg);
    char *frame = malloc(mlen + 24);
    if (!frame) {
        snprintf(err, errsz, "%s: out of memory", where);
        return MAMORI_ENOMEM;
    }
    int flen = snprintf(frame, 24, "%zu ", mlen);
    memcpy(frame + flen, msg, mlen);
    size_t total = (size_t)flen + mlen;
    int64_t deadline = mono_ms() + SEND_TOTAL_MS;
    int rc = MAMORI_EIO;
    SSL_CTX *ctx = NULL;
    SSL *s = NULL;
    int fd = dial(&u, deadline, stop, where, err, errsz);
    if (fd < 0)
        goto out;
    if (tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
            ssl_why(where, "set-up", NULL, err, errsz);
            goto out;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if ((o->ca[0] ? SSL_CTX_load_verify_locations(ctx, o->ca, NULL)
                      : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
            ssl_why(where, "CA file", NULL, err, errsz);
            goto out;
        }
        s = SSL_new(ctx);
        if (!s || SSL_set_fd(s, fd) != 1) {
            ssl_why(where, "set-up", NULL, err, errsz);
            goto out;
        }
        bool ip = strchr(u.host, ':') || strspn(u.host, "0123456789.") == strlen(u.host);
        X509_VERIFY_PARAM *vp = SSL_get0_param(s);
        if (ip) {
            X509_VERIFY_PARAM_set1_ip_asc(vp, u.host);
        } else {
            SSL_set_tlsext_host_name(s, u.host);
            SSL_set1_host(s, u.host);
        }
        int n;
        if (ssl_io(s, fd, op_connect, NULL, 0, deadline, stop, where, "handshake", err, errsz,
                   &n) < 0)
            goto out;
        size_t off = 0;
        while (off < total) {
            if (ssl_io(s, fd, op_write, frame + off, (int)(total - off), deadline, stop, where,
                       "write", err, errsz, &n) < 0)
                goto out;
            off += (size_t)n;
        }
        SSL_shutdown(s); /* close_notify; the receiver's answer is not awaited */
    } else {
        size_t off = 0;
        while (off < total) {
            ssize_t w = send(fd, frame + off, total - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += (size_t)w;
                continue;
            }
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                snprintf(err, errsz, "%s: write: %s", where, strerror(errno));
                goto out;
            }
            if (wait_fd(fd, POLLOUT, deadline, stop, where, "writing", err, errsz) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    SSL_free(s);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    free(frame);
    return rc;
}
