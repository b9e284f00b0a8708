/* http_resp.h - HTTP/1.1 response heads and JSON error bodies.
 *
 * A status, a content type, a body length (or none, for a stream) and a
 * few extra header lines the caller composes from constants enter; bytes
 * appended to an hbuf leave. Every response carries the same security
 * headers (HTTP_SECURITY_HEADERS): a Content-Security-Policy that allows
 * nothing (the API serves data, never pages), nosniff, no referrer, HSTS,
 * no framing, and Cache-Control: no-store. Nothing from the request is
 * ever copied into a header: client text appears only inside JSON strings,
 * escaped. */
#ifndef MAMORI_HTTP_HTTP_RESP_H
#define MAMORI_HTTP_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>

#include "http/hbuf.h"

#define HTTP_CSP_NONE "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
#define HTTP_NO_STORE "Cache-Control: no-store\r\n"
/* Sent on every response; HTTP_CSP_NONE and HTTP_NO_STORE too, unless the
 * caller's `extra` lines carry their own Content-Security-Policy or
 * Cache-Control (the console's pages, src/web). */
#define HTTP_SECURITY_HEADERS                                                                      \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Strict-Transport-Security: max-age=31536000\r\n"                                              \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Cross-Origin-Resource-Policy: same-origin\r\n"

#define HTTP_JSON "application/json"

const char *http_reason(int status);
/* Status line, security headers, Content-Type, Content-Length (body_len <
 * 0: none, the connection then carries a stream until it closes),
 * Connection, then `extra` (complete "Name: value\r\n" lines or NULL) and
 * the blank line. */
int http_resp_head(struct hbuf *out, int status, const char *ctype, long body_len, bool keep_alive,
                   const char *extra);
/* {"error":{"code":CODE,"message":MSG}} into body (emptied first). */
int http_json_error(struct hbuf *body, const char *code, const char *msg);

#endif
