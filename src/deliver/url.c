/* url.c - route target URLs split into their parts (see url.h). */
#include "deliver/url.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static int bad(char *why, size_t whysz, const char *m)
{
    snprintf(why, whysz, "%s", m);
    return MAMORI_EINVAL;
}

int url_parse(const char *s, struct url *u, char *why, size_t whysz)
{
    memset(u, 0, sizeof *u);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return bad(why, whysz, "spaces and control characters are not allowed");
    if (strchr(s, '#'))
        return bad(why, whysz, "a fragment (#) has no place in a target");
    const char *sep = strstr(s, "://");
    size_t sl = sep ? (size_t)(sep - s) : 0;
    if (!sep || sl == 0 || sl >= sizeof u->scheme)
        return bad(why, whysz, "not a URL (scheme://host...)");
    for (size_t i = 0; i < sl; i++) {
        if (!isalpha((unsigned char)s[i]))
            return bad(why, whysz, "the scheme must be letters");
        u->scheme[i] = (char)tolower((unsigned char)s[i]);
    }
    const char *a = sep + 3;
    size_t al = strcspn(a, "/?#");
    const char *rest = a + al;
    const char *at = memchr(a, '@', al);
    if (at) {
        size_t ul = (size_t)(at - a);
        if (ul >= sizeof u->user)
            return bad(why, whysz, "user part too long");
        memcpy(u->user, a, ul);
        al -= ul + 1;
        a = at + 1;
    }
    const char *hend;
    if (al && a[0] == '[') {
        const char *rb = memchr(a, ']', al);
        if (!rb)
            return bad(why, whysz, "an IPv6 address without its ']'");
        if ((size_t)(rb - a - 1) >= sizeof u->host)
            return bad(why, whysz, "host name too long");
        memcpy(u->host, a + 1, (size_t)(rb - a - 1));
        hend = rb + 1;
    } else {
        const char *colon = memchr(a, ':', al);
        hend = colon ? colon : a + al;
        if ((size_t)(hend - a) >= sizeof u->host)
            return bad(why, whysz, "host name too long");
        memcpy(u->host, a, (size_t)(hend - a));
    }
    if (!u->host[0])
        return bad(why, whysz, "no host");
    for (const char *p = u->host; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-_:%", *p))
            return bad(why, whysz, "the host has characters a host name cannot have");
    if (hend < a + al) {
        if (*hend != ':' || hend + 1 == a + al)
            return bad(why, whysz, "a port must follow ':'");
        unsigned long port = 0;
        for (const char *p = hend + 1; p < a + al; p++) {
            if (!isdigit((unsigned char)*p) || (port = port * 10 + (unsigned)(*p - '0')) > 65535)
                return bad(why, whysz, "the port must be a number 1-65535");
        }
        if (port == 0)
            return bad(why, whysz, "the port must be a number 1-65535");
        u->port = (unsigned)port;
    }
    size_t pl = strcspn(rest, "?#");
    if (pl >= sizeof u->path)
        return bad(why, whysz, "path too long");
    memcpy(u->path, rest, pl);
    u->query = rest[pl] == '?';
    return 0;
}
