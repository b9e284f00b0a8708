/* url.h - the parts of a route target URL: scheme://[user@]host[:port]
 * [/path][?query]. Untrusted text enters (an operator's or API client's
 * target); bounded copies of its parts leave, or a reason. Hosts may be
 * bracketed IPv6 literals (stored without the brackets). No allocation. */
#ifndef MAMORI_DELIVER_URL_H
#define MAMORI_DELIVER_URL_H

#include <stdbool.h>
#include <stddef.h>

struct url {
    char scheme[16]; /* lower case */
    char user[128];
    char host[256];
    unsigned port; /* 0: none given */
    char path[1024];
    bool query; /* a '?' part follows the path */
};

int url_parse(const char *s, struct url *u, char *why, size_t whysz);

#endif
