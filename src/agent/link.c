/* link.c - the agent's blocking-with-deadline use of a netconn (see link.h). */
#include "agent/link.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"

uint64_t link_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int left_ms(uint64_t deadline)
{
    uint64_t now = link_mono_ms();
    return now >= deadline ? 0 : (int)(deadline - now > 60000 ? 60000 : deadline - now);
}

/* Wait for the socket (as the connection needs it) or extra_fd. Returns 1
 * socket ready, 2 extra_fd ready, 0 timeout. */
static int wait_io(struct netconn *nc, uint64_t deadline, int extra_fd)
{
    struct pollfd p[2] = {{.fd = nc->fd, .events = POLLIN | (nc_wants_write(nc) ? POLLOUT : 0)},
                          {.fd = extra_fd, .events = POLLIN}};
    for (;;) {
        int ms = left_ms(deadline);
        int r = poll(p, extra_fd >= 0 ? 2 : 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        if (extra_fd >= 0 && p[1].revents)
            return 2;
        return 1;
    }
}

int link_open(struct netconn *nc, SSL_CTX *ctx, const struct hostport *hp, uint64_t deadline,
              char *err, size_t errsz)
{
    char serr[SOCK_ERR_MAX];
    int fd = sock_connect(hp, left_ms(deadline), serr);
    if (fd < 0) {
        snprintf(err, errsz, "%s", serr);
        return MAMORI_EIO;
    }
    if (nc_init(nc, fd, ctx, false, hp->host, FRAME_MAX, LINK_WBUF_MAX) < 0) {
        snprintf(err, errsz, "%s", nc->why);
        return MAMORI_ENOMEM;
    }
    for (;;) {
        int r = nc_handshake(nc);
        if (r == NC_DONE)
            return 0;
        if (r < 0 || wait_io(nc, deadline, -1) == 0) {
            snprintf(err, errsz, "%s:%s: %s", hp->host, hp->port,
                     r < 0 ? nc->why : "TLS handshake timed out");
            return r < 0 ? r : MAMORI_EIO;
        }
    }
}

int link_send(struct netconn *nc, uint16_t type, struct jw *w, uint64_t deadline)
{
    jw_obj_end(w);
    long n = jw_finish(w);
    return n < 0 ? (int)n : link_send_raw(nc, type, w->buf, (size_t)n, deadline);
}

int link_send_raw(struct netconn *nc, uint16_t type, const char *body, size_t len,
                  uint64_t deadline)
{
    int rc = nc_send(nc, type, body, len);
    while (rc == 0) {
        int r = nc_flush(nc);
        if (r == NC_DONE)
            return 0;
        if (r < 0)
            return r;
        if (wait_io(nc, deadline, -1) == 0) {
            snprintf(nc->why, sizeof nc->why, "write timed out");
            return MAMORI_EIO;
        }
    }
    return rc;
}

int link_recv(struct netconn *nc, uint64_t deadline, int extra_fd, uint16_t *type,
              struct json_object **body)
{
    for (;;) {
        struct frame f;
        int fr = nc_frame(nc, &f);
        if (fr < 0)
            return fr;
        if (fr == 1) {
            const char *why = NULL;
            *type = f.type;
            *body = frame_body_json(&f, &why);
            nc_consume(nc, &f);
            if (!*body) {
                snprintf(nc->why, sizeof nc->why, "malformed frame from the server: %s", why);
                return MAMORI_EINVAL;
            }
            return 1;
        }
        int r = nc_read(nc);
        if (r == NC_DONE)
            continue;
        if (r != NC_AGAIN)
            return r;
        if (nc_wants_write(nc) && nc_flush(nc) < 0)
            return MAMORI_EIO;
        int w = wait_io(nc, deadline, extra_fd);
        if (w != 1)
            return w; /* 0 timeout, 2 extra_fd */
    }
}
