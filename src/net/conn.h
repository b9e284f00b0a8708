/* conn.h - one non-blocking TLS connection carrying frames, with bounded
 * buffers; used by the server's event loop and by the agent alike.
 *
 * Bytes enter from the socket through OpenSSL (nc_read appends plaintext to
 * the read buffer, nc_frame takes whole frames out of it) and leave through
 * nc_send (appends a frame to the write buffer) and nc_flush. Nothing blocks:
 * each call does what the socket allows and says, through nc_wants_write, if
 * it needs the socket to become writable before it can go on.
 *
 * Bounds: the read buffer starts at NC_RBUF_MIN (4 KiB) and grows only to hold
 * the frame whose header has arrived (at most FRAME_HDR + max_body), and
 * shrinks back once that frame is consumed; the write buffer holds at most
 * wmax bytes (nc_send returns MAMORI_EFULL beyond: a peer that does not read
 * its replies is dropped, never buffered without limit). */
#ifndef MAMORI_NET_CONN_H
#define MAMORI_NET_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/frame.h"

#define NC_RBUF_MIN (4u << 10)

enum nc_status {
    NC_DONE = 1,     /* the operation finished */
    NC_AGAIN = 0,    /* the socket must become readable/writable first */
    NC_CLOSED = -100 /* the peer closed the connection */
    /* other negative values: MAMORI_E* errors, reason in nc->why */
};

struct netconn {
    int fd;
    SSL *ssl;
    bool handshake_done;
    bool want_write; /* OpenSSL needs the socket writable to go on */
    size_t max_body; /* frames accepted from the peer */
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen, wcap, wmax;
    char why[160]; /* reason of the last failure, for logs */
};

/* Take ownership of the connected non-blocking socket fd. server selects
 * accept or connect; host (client only, may be NULL) is the name or address
 * the peer's certificate must carry. Returns 0 or a MAMORI_E* code. */
int nc_init(struct netconn *nc, int fd, SSL_CTX *ctx, bool server, const char *host,
            size_t max_body, size_t wmax);
void nc_free(struct netconn *nc); /* closes the socket */

int nc_handshake(struct netconn *nc);
/* Read what the socket has into the read buffer. NC_DONE: bytes were added
 * (call again after taking frames out); NC_AGAIN; NC_CLOSED; or an error. */
int nc_read(struct netconn *nc);
/* The next whole frame at the front of the read buffer: 1 with *f valid
 * until nc_consume, 0 if none is complete yet, MAMORI_EINVAL if malformed
 * (nc->why says why). The frame stays in place until nc_consume(nc, f). */
int nc_frame(struct netconn *nc, struct frame *f);
void nc_consume(struct netconn *nc, const struct frame *f);
/* Queue one frame; MAMORI_EFULL past the write bound. */
int nc_send(struct netconn *nc, uint16_t type, const char *body, size_t len);
/* Write queued bytes: NC_DONE when nothing is left, NC_AGAIN, or an error. */
int nc_flush(struct netconn *nc);
bool nc_wants_write(const struct netconn *nc);

/* The peer's certificate (a reference the caller frees), or NULL. */
X509 *nc_peer_cert(const struct netconn *nc);

#endif
