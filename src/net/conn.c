/* conn.c - non-blocking TLS frame connection (see conn.h). */
#include "net/conn.h"

#include <assert.h>
#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

static void set_why_ssl(struct netconn *nc, const char *what, int sslerr)
{
    unsigned long e = ERR_get_error();
    char buf[120] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    else if (sslerr == SSL_ERROR_SYSCALL && errno)
        snprintf(buf, sizeof buf, "%s", strerror(errno));
    else if (sslerr == SSL_ERROR_SYSCALL)
        snprintf(buf, sizeof buf, "connection reset");
    snprintf(nc->why, sizeof nc->why, "%s: %s", what, buf[0] ? buf : "TLS error");
    ERR_clear_error();
}

int nc_init(struct netconn *nc, int fd, SSL_CTX *ctx, bool server, const char *host,
            size_t max_body, size_t wmax)
{
    memset(nc, 0, sizeof *nc);
    nc->fd = fd;
    nc->max_body = max_body;
    nc->wmax = wmax;
    nc->rcap = NC_RBUF_MIN;
    nc->rbuf = malloc(nc->rcap);
    nc->ssl = SSL_new(ctx);
    if (!nc->rbuf || !nc->ssl || SSL_set_fd(nc->ssl, fd) != 1) {
        snprintf(nc->why, sizeof nc->why, "out of memory for a connection");
        return MAMORI_ENOMEM;
    }
    if (server) {
        SSL_set_accept_state(nc->ssl);
    } else {
        SSL_set_connect_state(nc->ssl);
        if (host && *host) {
            X509_VERIFY_PARAM *p = SSL_get0_param(nc->ssl);
            /* an address literal is checked against IP SANs, a name against DNS SANs */
            if (X509_VERIFY_PARAM_set1_ip_asc(p, host) != 1) {
                ERR_clear_error();
                if (SSL_set1_host(nc->ssl, host) != 1 ||
                    SSL_set_tlsext_host_name(nc->ssl, host) != 1) {
                    set_why_ssl(nc, "server name", 0);
                    return MAMORI_EINVAL;
                }
            }
        }
    }
    return 0;
}

void nc_free(struct netconn *nc)
{
    if (nc->ssl)
        SSL_free(nc->ssl);
    if (nc->fd >= 0)
        close(nc->fd);
    free(nc->rbuf);
    free(nc->wbuf);
    nc->ssl = NULL;
    nc->fd = -1;
    nc->rbuf = nc->wbuf = NULL;
}

/* Map an SSL_* result to NC_AGAIN / NC_CLOSED / error, noting what the
 * connection waits for. */
static int ssl_result(struct netconn *nc, int r, const char *what)
{
    int e = SSL_get_error(nc->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ: nc->want_write = false; return NC_AGAIN;
    case SSL_ERROR_WANT_WRITE: nc->want_write = true; return NC_AGAIN;
    case SSL_ERROR_ZERO_RETURN: snprintf(nc->why, sizeof nc->why, "peer closed"); return NC_CLOSED;
    case SSL_ERROR_SSL:
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error(); /* the peer went away without a TLS close (killed, crashed) */
            snprintf(nc->why, sizeof nc->why, "peer closed without a TLS close");
            return NC_CLOSED;
        }
        set_why_ssl(nc, what, e);
        return MAMORI_EIO;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0 && (errno == 0 || errno == ECONNRESET || errno == EPIPE)) {
            snprintf(nc->why, sizeof nc->why, "peer closed");
            return NC_CLOSED;
        }
        set_why_ssl(nc, what, e);
        return MAMORI_EIO;
    default: set_why_ssl(nc, what, e); return MAMORI_EIO;
    }
}

int nc_handshake(struct netconn *nc)
{
    if (nc->handshake_done)
        return NC_DONE;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(nc->ssl);
    if (r == 1) {
        nc->handshake_done = true;
        nc->want_write = false;
        return NC_DONE;
    }
    int rc = ssl_result(nc, r, "TLS handshake");
    if (rc == NC_CLOSED)
        snprintf(nc->why, sizeof nc->why, "peer closed during the TLS handshake");
    return rc;
}

/* Make room in rbuf for the frame being received: grow to its full size
 * (bounded by max_body) or shrink back after a big one. */
static int rbuf_fit(struct netconn *nc, size_t want)
{
    if (want < NC_RBUF_MIN)
        want = NC_RBUF_MIN;
    if (want < nc->rlen)
        want = nc->rlen;
    if (want == nc->rcap)
        return 0;
    uint8_t *p = realloc(nc->rbuf, want);
    if (!p) {
        snprintf(nc->why, sizeof nc->why, "out of memory for a %zu-byte frame", want);
        return MAMORI_ENOMEM;
    }
    nc->rbuf = p;
    nc->rcap = want;
    return 0;
}

int nc_read(struct netconn *nc)
{
    if (nc->rlen == nc->rcap) {
        /* full: grow only if the header asks for more than fits */
        struct frame f;
        size_t used, need;
        const char *why = NULL;
        int r = frame_parse(nc->rbuf, nc->rlen, nc->max_body, &f, &used, &need, &why);
        if (r < 0) {
            snprintf(nc->why, sizeof nc->why, "%s", why);
            return MAMORI_EINVAL;
        }
        if (r == 1 || need <= nc->rcap)
            return NC_DONE; /* a frame is waiting to be taken */
        int e = rbuf_fit(nc, need);
        if (e < 0)
            return e;
    }
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(nc->ssl, nc->rbuf + nc->rlen, (int)(nc->rcap - nc->rlen));
    if (n > 0) {
        nc->rlen += (size_t)n;
        nc->want_write = false;
        return NC_DONE;
    }
    return ssl_result(nc, n, "TLS read");
}

int nc_frame(struct netconn *nc, struct frame *f)
{
    static_assert(NC_RBUF_MIN >= FRAME_HDR, "the read buffer holds a header");
    size_t used = 0, need = 0;
    const char *why = NULL;
    int r = frame_parse(nc->rbuf, nc->rlen, nc->max_body, f, &used, &need, &why);
    if (r < 0) {
        snprintf(nc->why, sizeof nc->why, "%s", why);
        return MAMORI_EINVAL;
    }
    if (r == 0) {
        if (need > nc->rcap)
            return rbuf_fit(nc, need) < 0 ? MAMORI_ENOMEM : 0;
        return 0;
    }
    return 1;
}

void nc_consume(struct netconn *nc, const struct frame *f)
{
    size_t used = FRAME_HDR + f->len;
    memmove(nc->rbuf, nc->rbuf + used, nc->rlen - used);
    nc->rlen -= used;
    if (nc->rcap > NC_RBUF_MIN && nc->rlen <= NC_RBUF_MIN)
        (void)rbuf_fit(nc, NC_RBUF_MIN); /* a failed shrink keeps the bigger buffer */
}

int nc_send(struct netconn *nc, uint16_t type, const char *body, size_t len)
{
    size_t total = FRAME_HDR + len;
    if (len > FRAME_MAX || nc->wlen + total > nc->wmax) {
        snprintf(nc->why, sizeof nc->why, "write buffer full (%zu bytes queued, bound %zu)",
                 nc->wlen, nc->wmax);
        return MAMORI_EFULL;
    }
    if (nc->wlen + total > nc->wcap) {
        size_t cap = nc->wcap ? nc->wcap : 4096;
        while (cap < nc->wlen + total)
            cap *= 2;
        if (cap > nc->wmax)
            cap = nc->wmax;
        uint8_t *p = realloc(nc->wbuf, cap);
        if (!p) {
            snprintf(nc->why, sizeof nc->why, "out of memory for the write buffer");
            return MAMORI_ENOMEM;
        }
        nc->wbuf = p;
        nc->wcap = cap;
    }
    frame_header_encode(nc->wbuf + nc->wlen, type, (uint32_t)len);
    if (len)
        memcpy(nc->wbuf + nc->wlen + FRAME_HDR, body, len);
    nc->wlen += total;
    return 0;
}

int nc_flush(struct netconn *nc)
{
    while (nc->wlen > 0) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(nc->ssl, nc->wbuf, (int)nc->wlen);
        if (n <= 0)
            return ssl_result(nc, n, "TLS write");
        memmove(nc->wbuf, nc->wbuf + n, nc->wlen - (size_t)n);
        nc->wlen -= (size_t)n;
    }
    nc->want_write = false;
    return NC_DONE;
}

bool nc_wants_write(const struct netconn *nc)
{
    return nc->wlen > 0 || nc->want_write;
}

X509 *nc_peer_cert(const struct netconn *nc)
{
    return SSL_get1_peer_certificate(nc->ssl);
}
