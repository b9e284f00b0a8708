/* sock.h - TCP sockets and addresses for the uplink: listen, connect with a
 * deadline, parse "HOST:PORT" and "https://HOST:PORT", print a peer address,
 * and parse the durations the server and agent take on the command line.
 * Strings enter, non-blocking file descriptors leave; errors are English
 * text in err (SOCK_ERR_MAX bytes). */
#ifndef MAMORI_NET_SOCK_H
#define MAMORI_NET_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOCK_ERR_MAX 256
#define SOCK_HOST_MAX 256
#define SOCK_ADDR_MAX 64 /* "[v6]:port" text */

struct hostport {
    char host[SOCK_HOST_MAX]; /* without IPv6 brackets */
    char port[8];
};

/* "HOST:PORT" or "[V6]:PORT"; with https=1 the "https://" prefix is
 * required and a trailing "/" allowed. */
int sock_parse_hostport(const char *s, int https, struct hostport *out, char *err);
/* A non-blocking listening socket (SO_REUSEADDR, backlog 4096). */
int sock_listen(const struct hostport *hp, char *err);
/* The bound "ADDR:PORT" of a socket (port 0 resolved). */
void sock_local_name(int fd, char *out, size_t outsz);
void sock_peer_name(const struct sockaddr_storage *ss, char *out, size_t outsz);
/* Connect within timeout_ms; returns a non-blocking socket or -1. */
int sock_connect(const struct hostport *hp, int timeout_ms, char *err);

/* "30s", "500ms", "24h", "7d", "2m", a bare number is seconds. Returns
 * milliseconds in *ms, or -1 for anything else (overflow included). */
int parse_duration_ms(const char *s, uint64_t *ms);

#endif
