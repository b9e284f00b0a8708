/* http_parse.h - the HTTP/1.1 request parser of mamori's HTTPS API.
 *
 * Bytes read from a connection enter as one buffer; http_parse_head looks
 * for the end of the head (CRLF CRLF) and, once it is there, parses the
 * request line, the headers, the decoded path and the query parameters in
 * place (NUL bytes are written over delimiters inside the buffer, which must
 * stay alive while the request is handled). What leaves is a struct
 * http_req whose strings point into that buffer (the decoded path and the
 * query parameters are copied into the struct), or a struct http_err with
 * the status (4xx/5xx), a short error code and an English message naming
 * what was wrong.
 *
 * Bounds (all enforced here, before anything is acted on):
 *   request line          HTTP_LINE_MAX     8 KiB    (414 beyond)
 *   request line+headers  HTTP_HEAD_MAX    16 KiB    (431 beyond)
 *   header fields         HTTP_HEADERS_MAX 64        (431 beyond)
 *   body                  HTTP_BODY_MAX     1 MiB    with Content-Length only (413 beyond;
 *                                                    Transfer-Encoding: 411)
 *   query parameters      HTTP_QUERY_MAX   16, names 1-63 of [a-z0-9_], values
 *                         decoded to at most 1023 bytes, no control characters
 * Strict on purpose: lines end in CRLF, no obs-fold, no space before a
 * header's colon, no control characters in values (header injection), one
 * Host and one Content-Length, no "." or ".." path segments (path traversal),
 * no encoded '/', '\' or NUL in the path, origin-form targets only. */
#ifndef MAMORI_HTTP_HTTP_PARSE_H
#define MAMORI_HTTP_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_LINE_MAX (8u << 10)
#define HTTP_HEAD_MAX (16u << 10)
#define HTTP_HEADERS_MAX 64
#define HTTP_BODY_MAX (1u << 20)
#define HTTP_QUERY_MAX 16
#define HTTP_QKEY_MAX 64
#define HTTP_QVAL_MAX 1024

enum http_method { HM_GET, HM_HEAD, HM_POST, HM_PUT, HM_PATCH, HM_DELETE, HM_OPTIONS, HM_OTHER };

struct http_header {
    const char *name, *value; /* NUL-terminated inside the request buffer */
};

struct http_qparam {
    char key[HTTP_QKEY_MAX];
    char val[HTTP_QVAL_MAX];
};

struct http_req {
    enum http_method method;
    const char *method_name;
    const char *target;       /* raw request-target (path and query, still encoded) */
    char path[HTTP_LINE_MAX]; /* decoded and checked */
    int minor;                /* HTTP/1.<minor> */
    struct http_header h[HTTP_HEADERS_MAX];
    size_t nh;
    struct http_qparam q[HTTP_QUERY_MAX];
    size_t nq;
    size_t head_len;       /* bytes of the head, final CRLF CRLF included */
    size_t content_length; /* the body follows the head */
    bool keep_alive;
    bool expect_continue;
};

struct http_err {
    int status;       /* 4xx or 5xx */
    const char *code; /* short machine-readable code, e.g. "bad_header" */
    char msg[240];    /* English: what was wrong */
};

/* 1: the head is complete and valid (r filled); 0: need more bytes; -1:
 * the request is refused (e filled). buf must be NUL-terminated at len. */
int http_parse_head(char *buf, size_t len, struct http_req *r, struct http_err *e);

/* A header's value (first match, name compared case-insensitively), or NULL. */
const char *http_header(const struct http_req *r, const char *name);
/* How many fields have this name. */
size_t http_header_count(const struct http_req *r, const char *name);
/* A query parameter's decoded value, or NULL. */
const char *http_query(const struct http_req *r, const char *key);
/* -1 with e set (400 "bad_parameter") if a parameter is not in the
 * NULL-terminated list `allowed`. */
int http_query_check(const struct http_req *r, const char *const *allowed, struct http_err *e);

/* Decode %XX escapes (and '+' as space when plus) of in[0..n) into out
 * (outsz bytes with the NUL). -1 on a bad escape or if it does not fit. */
long http_pct_decode(const char *in, size_t n, char *out, size_t outsz, bool plus);

void http_err_set(struct http_err *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
