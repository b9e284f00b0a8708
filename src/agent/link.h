/* link.h - the agent's connection to the server: one netconn driven with
 * poll and deadlines (the agent has one connection, so it waits in poll
 * instead of an event loop). Frames in and out are JSON objects. Internal to
 * src/agent. */
#ifndef MAMORI_AGENT_LINK_H
#define MAMORI_AGENT_LINK_H

#include <json-c/json.h>
#include <stdint.h>

#include "core/json.h"
#include "net/conn.h"
#include "net/sock.h"

#define LINK_CONNECT_MS 10000
#define LINK_WBUF_MAX (1u << 20)

uint64_t link_mono_ms(void);
/* TCP connect + TLS handshake before deadline (monotonic ms). */
int link_open(struct netconn *nc, SSL_CTX *ctx, const struct hostport *hp, uint64_t deadline,
              char *err, size_t errsz);
/* Close the JSON object open in w, queue it as one frame and flush it. */
int link_send(struct netconn *nc, uint16_t type, struct jw *w, uint64_t deadline);
/* The same with a body already encoded. */
int link_send_raw(struct netconn *nc, uint16_t type, const char *body, size_t len,
                  uint64_t deadline);
/* Wait for one frame until deadline: 1 with *type and *body (caller
 * puts), 0 on timeout, 2 if extra_fd (-1: none) became readable
 * first, NC_CLOSED, or an error (nc->why). */
int link_recv(struct netconn *nc, uint64_t deadline, int extra_fd, uint16_t *type,
              struct json_object **body);

#endif
