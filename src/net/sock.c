/* sock.c - TCP sockets, addresses and durations (see sock.h). */
#include "net/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

int sock_parse_hostport(const char *s, int https, struct hostport *out, char *err)
{
    const char *p = s;
    if (https) {
        if (strncmp(p, "https://", 8) != 0) {
            snprintf(err, SOCK_ERR_MAX, "'%.100s': the server must be given as https://HOST:PORT",
                     s);
            return MAMORI_EINVAL;
        }
        p += 8;
    }
    const char *host = p, *hend, *colon;
    if (*p == '[') {
        host = p + 1;
        hend = strchr(host, ']');
        colon = hend ? hend + 1 : NULL;
        if (!hend || *colon != ':')
            colon = NULL;
    } else {
        colon = strrchr(p, ':');
        hend = colon;
    }
    if (!colon || hend == host) {
        snprintf(err, SOCK_ERR_MAX, "'%.100s': expected HOST:PORT", s);
        return MAMORI_EINVAL;
    }
    const char *port = colon + 1;
    size_t plen = strcspn(port, "/");
    if (https && port[plen] == '/' && port[plen + 1] != '\0')
        plen = 0; /* a path: not ours */
    if (!https && port[plen] != '\0')
        plen = 0;
    char *end = NULL;
    char pbuf[8] = "";
    if (plen > 0 && plen < sizeof pbuf)
        memcpy(pbuf, port, plen);
    long n = strtol(pbuf, &end, 10);
    if (plen == 0 || plen >= sizeof pbuf || *end || n < 0 || n > 65535 ||
        (size_t)(hend - host) >= sizeof out->host) {
        snprintf(err, SOCK_ERR_MAX, "'%.100s': bad port or host (expected HOST:PORT, port 0-65535)",
                 s);
        return MAMORI_EINVAL;
    }
    memcpy(out->host, host, (size_t)(hend - host));
    out->host[hend - host] = '\0';
    snprintf(out->port, sizeof out->port, "%ld", n);
    return 0;
}

static int resolve(const struct hostport *hp, int passive, struct addrinfo **res, char *err)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
    int e = getaddrinfo(hp->host[0] ? hp->host : NULL, hp->port, &hints, res);
    if (e) {
        snprintf(err, SOCK_ERR_MAX, "%.200s: %s", hp->host, gai_strerror(e));
        return MAMORI_EINVAL;
    }
    return 0;
}

int sock_listen(const struct hostport *hp, char *err)
{
    struct addrinfo *res;
    if (resolve(hp, 1, &res, err) < 0)
        return -1;
    int fd = -1, one = 1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
            snprintf(err, SOCK_ERR_MAX, "cannot listen on %.200s:%s: %s", hp->host, hp->port,
                     strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

void sock_peer_name(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
        port = ntohs(s4->sin_port);
        snprintf(out, outsz, "%s:%u", a, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
        port = ntohs(s6->sin6_port);
        snprintf(out, outsz, "[%s]:%u", a, port);
    } else {
        snprintf(out, outsz, "?");
    }
}

void sock_local_name(int fd, char *out, size_t outsz)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        ss.ss_family = AF_UNSPEC;
    sock_peer_name(&ss, out, outsz);
}

int sock_connect(const struct hostport *hp, int timeout_ms, char *err)
{
    struct addrinfo *res;
    if (resolve(hp, 0, &res, err) < 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int e = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            e = errno;
            if (e == EINPROGRESS) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                socklen_t len = sizeof e;
                int r = poll(&p, 1, timeout_ms);
                if (r == 0)
                    e = ETIMEDOUT;
                else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
                    e = errno;
            }
        }
        if (e) {
            snprintf(err, SOCK_ERR_MAX, "cannot connect to %.200s:%s: %s", hp->host, hp->port,
                     strerror(e));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int parse_duration_ms(const char *s, uint64_t *ms)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1000}};
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (n > UINT64_MAX / units[i].ms)
                return -1;
            *ms = n * units[i].ms;
            return 0;
        }
    }
    return -1;
}
