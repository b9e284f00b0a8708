/* api_cursor.h - the opaque `cursor` of paged lists.
 *
 * A page ends with next_cursor when more rows may follow; the client sends
 * it back unchanged to get the next page. Inside (base64url, no padding):
 * a version byte, the list it belongs to ('s' sites, 'h' hosts, 'a'
 * alerts, 'u' audit), a 32-bit fingerprint of the query's filters, and the
 * keyset position (the last row's sort key: a number, up to two strings).
 * A cursor from another list or other filters is refused (400), so a
 * client cannot mix pages of two queries. A cursor only positions a query;
 * it grants nothing: the caller's site scope is applied to every page.
 * Bounds: strings 255 and 63 bytes; the text at most API_CURSOR_MAX. */
#ifndef MAMORI_API_API_CURSOR_H
#define MAMORI_API_API_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#define API_CURSOR_MAX 512

struct api_cursor {
    char list;   /* 's', 'h', 'a', 'u' */
    uint32_t fp; /* api_fp of the filters */
    int64_t n;
    char k1[256];
    char k2[64];
};

/* FNV-1a of a text describing the filters. */
uint32_t api_fp(const char *s);
int api_cursor_encode(const struct api_cursor *c, char out[API_CURSOR_MAX]);
/* 0, or MAMORI_EINVAL when s is not a cursor this server made. */
int api_cursor_decode(const char *s, struct api_cursor *c);

#endif
