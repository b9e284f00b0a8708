/* http_parse.c - strict HTTP/1.1 request parser (see http_parse.h). */
#include "http/http_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void http_err_set(struct http_err *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* RFC 9110 tchar */
static bool tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_pct_decode(const char *in, size_t n, char *out, size_t outsz, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hexval((unsigned char)in[i + 1]), b = hexval((unsigned char)in[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            c = (unsigned char)(a * 16 + b);
            i += 2;
        } else if (plus && c == '+') {
            c = ' ';
        }
        if (o + 1 >= outsz)
            return -1;
        out[o++] = (char)c;
    }
    if (outsz == 0)
        return -1;
    out[o] = '\0';
    return (long)o;
}

static const struct {
    const char *name;
    enum http_method m;
} METHODS[] = {{"GET", HM_GET},     {"HEAD", HM_HEAD},     {"POST", HM_POST},      {"PUT", HM_PUT},
               {"PATCH", HM_PATCH}, {"DELETE", HM_DELETE}, {"OPTIONS", HM_OPTIONS}};

/* Quick checks on an incomplete head, so garbage and slow attacks on the
 * framing are refused at once instead of after 16 KiB or a timeout. */
static int early_check(const char *buf, size_t len, struct http_err *e)
{
    size_t i = 0;
    while (i < len && i < 17 && tchar((unsigned char)buf[i]))
        i++;
    if (i < len && (i == 0 || i > 16 || buf[i] != ' ')) {
        http_err_set(e, 400, "bad_request",
                     "the request does not start with a method and a space (is this HTTP?)");
        return -1;
    }
    for (size_t k = 0; k < len; k++) {
        if (buf[k] == '\0') {
            http_err_set(e, 400, "bad_request", "NUL byte in the request head");
            return -1;
        }
        if (buf[k] == '\n' && (k == 0 || buf[k - 1] != '\r')) {
            http_err_set(e, 400, "bad_request", "a line of the request head ends in LF without CR");
            return -1;
        }
    }
    return 0;
}

static int parse_path(struct http_req *r, const char *t, size_t n, struct http_err *e)
{
    long dn = http_pct_decode(t, n, r->path, sizeof r->path, false);
    if (dn < 0) {
        http_err_set(e, 400, "bad_path", "bad percent-encoding in the path");
        return -1;
    }
    for (long i = 0; i < dn; i++) {
        unsigned char c = (unsigned char)r->path[i];
        if (c < 0x20 || c == 0x7f || c >= 0x80 || c == '\\') {
            http_err_set(e, 400, "bad_path",
                         "the path contains a control, non-ASCII or backslash character");
            return -1;
        }
    }
    /* an encoded '/' would change the segments after decoding */
    for (size_t i = 0; i + 2 < n; i++) {
        if (t[i] == '%' && t[i + 1] == '2' && (t[i + 2] == 'f' || t[i + 2] == 'F')) {
            http_err_set(e, 400, "bad_path", "an encoded '/' (%%2F) in the path is not allowed");
            return -1;
        }
    }
    const char *s = r->path;
    while (*s) {
        s++; /* past '/' */
        size_t seg = strcspn(s, "/");
        if ((seg == 1 && s[0] == '.') || (seg == 2 && s[0] == '.' && s[1] == '.')) {
            http_err_set(e, 400, "path_traversal",
                         "'.' and '..' path segments are not allowed (path traversal)");
            return -1;
        }
        s += seg;
    }
    return 0;
}

static bool qkey_ok(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
            return false;
    return true;
}

static int parse_query(struct http_req *r, const char *q, size_t n, struct http_err *e)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && q[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && q[eq] != '=')
                eq++;
            if (r->nq >= HTTP_QUERY_MAX) {
                http_err_set(e, 400, "bad_parameter", "more than %d query parameters",
                             HTTP_QUERY_MAX);
                return -1;
            }
            struct http_qparam *p = &r->q[r->nq];
            if (http_pct_decode(q + i, eq - i, p->key, sizeof p->key, true) < 0 ||
                !qkey_ok(p->key)) {
                http_err_set(e, 400, "bad_parameter",
                             "a query parameter name is not 1-63 of a-z 0-9 _");
                return -1;
            }
            long vn = eq < end
                          ? http_pct_decode(q + eq + 1, end - eq - 1, p->val, sizeof p->val, true)
                          : http_pct_decode("", 0, p->val, sizeof p->val, true);
            if (vn < 0) {
                http_err_set(e, 400, "bad_parameter",
                             "query parameter '%s': bad percent-encoding or longer than %d bytes",
                             p->key, HTTP_QVAL_MAX - 1);
                return -1;
            }
            for (long k = 0; k < vn; k++) {
                unsigned char c = (unsigned char)p->val[k];
                if (c < 0x20 || c == 0x7f) {
                    http_err_set(e, 400, "bad_parameter",
                                 "query parameter '%s' contains a control character", p->key);
                    return -1;
                }
            }
            for (size_t k = 0; k < r->nq; k++) {
                if (!strcmp(r->q[k].key, p->key)) {
                    http_err_set(e, 400, "bad_parameter", "query parameter '%s' given twice",
                                 p->key);
                    return -1;
                }
            }
            r->nq++;
        }
        i = end + 1;
    }
    return 0;
}

static int request_line(struct http_req *r, char *line, struct http_err *e)
{
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
        http_err_set(e, 400, "bad_request",
                     "the request line is not 'METHOD /path HTTP/1.1' (single spaces)");
        return -1;
    }
    *sp1 = *sp2 = '\0';
    r->method_name = line;
    r->method = HM_OTHER;
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
        if (!strcmp(line, METHODS[i].name))
            r->method = METHODS[i].m;
    for (const char *p = line; *p; p++) {
        if (!tchar((unsigned char)*p)) {
            http_err_set(e, 400, "bad_request", "the method is not a token");
            return -1;
        }
    }
    const char *ver = sp2 + 1;
    if (!strcmp(ver, "HTTP/1.1")) {
        r->minor = 1;
    } else if (!strcmp(ver, "HTTP/1.0")) {
        r->minor = 0;
    } else if (strlen(ver) == 8 && !strncmp(ver, "HTTP/", 5) && ver[5] >= '0' && ver[5] <= '9' &&
               ver[6] == '.' && ver[7] >= '0' && ver[7] <= '9') {
        http_err_set(e, 505, "http_version_not_supported", "only HTTP/1.1 and HTTP/1.0 are served");
        return -1;
    } else {
        http_err_set(e, 400, "bad_request", "the request line does not end with HTTP/1.1");
        return -1;
    }
    char *t = sp1 + 1;
    r->target = t;
    if (t[0] != '/') {
        http_err_set(e, 400, "bad_request",
                     "the request target must be a path starting with '/' (origin form)");
        return -1;
    }
    for (const char *p = t; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '#') {
            http_err_set(e, 400, "bad_request",
                         "the request target contains a character that must be percent-encoded");
            return -1;
        }
    }
    size_t tl = strlen(t), pl = strcspn(t, "?");
    if (parse_path(r, t, pl, e) < 0)
        return -1;
    return pl < tl ? parse_query(r, t + pl + 1, tl - pl - 1, e) : 0;
}

static bool has_token(const char *list, const char *tok)
{
    size_t n = strlen(tok);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t l = strcspn(p, ", \t");
        if (l == n && !strncasecmp(p, tok, n))
            return true;
        p += l;
    }
    return false;
}

static int header_line(struct http_req *r, char *line, struct http_err *e)
{
    if (line[0] == ' ' || line[0] == '\t') {
        http_err_set(e, 400, "bad_header", "folded header lines (obs-fold) are not accepted");
        return -1;
    }
    char *colon = strchr(line, ':');
    if (!colon || colon == line) {
        http_err_set(e, 400, "bad_header", "a header line has no 'name:'");
        return -1;
    }
    for (char *p = line; p < colon; p++) {
        if (!tchar((unsigned char)*p)) {
            http_err_set(e, 400, "bad_header",
                         "a header name contains a character that is not allowed (space before "
                         "the colon?)");
            return -1;
        }
    }
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    char *end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    for (char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            char name[64];
            snprintf(name, sizeof name, "%s", line);
            http_err_set(e, 400, "bad_header",
                         "header '%s' contains a control character (header injection?)", name);
            return -1;
        }
    }
    if (r->nh >= HTTP_HEADERS_MAX) {
        http_err_set(e, 431, "header_too_large", "more than %d header fields", HTTP_HEADERS_MAX);
        return -1;
    }
    r->h[r->nh].name = line;
    r->h[r->nh].value = v;
    r->nh++;
    return 0;
}

static int semantics(struct http_req *r, struct http_err *e)
{
    size_t nhost = http_header_count(r, "Host");
    if (nhost > 1 || (r->minor == 1 && nhost == 0)) {
        http_err_set(e, 400, "bad_header", "an HTTP/1.1 request needs exactly one Host header");
        return -1;
    }
    size_t ncl = http_header_count(r, "Content-Length");
    bool te = http_header_count(r, "Transfer-Encoding") > 0;
    if (te && ncl) {
        http_err_set(e, 400, "bad_header",
                     "both Transfer-Encoding and Content-Length (request smuggling?)");
        return -1;
    }
    if (te) {
        http_err_set(e, 411, "length_required",
                     "Transfer-Encoding (chunked) request bodies are not accepted: send "
                     "Content-Length");
        return -1;
    }
    if (ncl > 1) {
        http_err_set(e, 400, "bad_header", "more than one Content-Length header");
        return -1;
    }
    r->content_length = 0;
    if (ncl) {
        const char *cl = http_header(r, "Content-Length");
        size_t n = strlen(cl);
        if (n == 0 || n > 12 || strspn(cl, "0123456789") != n) {
            http_err_set(e, 400, "bad_header", "Content-Length is not a decimal number");
            return -1;
        }
        unsigned long long v = 0;
        for (const char *p = cl; *p; p++)
            v = v * 10 + (unsigned)(*p - '0');
        if (v > HTTP_BODY_MAX) {
            http_err_set(e, 413, "payload_too_large",
                         "request body of %llu bytes: at most %u bytes are accepted", v,
                         HTTP_BODY_MAX);
            return -1;
        }
        r->content_length = (size_t)v;
    }
    const char *conn = http_header(r, "Connection");
    r->keep_alive = r->minor == 1;
    if (conn && has_token(conn, "close"))
        r->keep_alive = false;
    else if (conn && r->minor == 0 && has_token(conn, "keep-alive"))
        r->keep_alive = true;
    const char *expect = http_header(r, "Expect");
    if (expect) {
        if (strcasecmp(expect, "100-continue") != 0) {
            http_err_set(e, 417, "expectation_failed", "only 'Expect: 100-continue' is understood");
            return -1;
        }
        r->expect_continue = r->content_length > 0;
    }
    return 0;
}

int http_parse_head(char *buf, size_t len, struct http_req *r, struct http_err *e)
{
    size_t scan = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
    char *end = NULL;
    for (size_t i = 3; i < scan; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = buf + i + 1;
            break;
        }
    }
    if (early_check(buf, end ? (size_t)(end - buf) : scan, e) < 0)
        return -1;
    if (!end) {
        const void *nl = memchr(buf, '\n', scan);
        if ((!nl && scan >= HTTP_LINE_MAX) ||
            (nl && (const char *)nl - buf > (long)HTTP_LINE_MAX)) {
            http_err_set(e, 414, "uri_too_long", "the request line is longer than %u bytes",
                         HTTP_LINE_MAX);
            return -1;
        }
        if (len >= HTTP_HEAD_MAX) {
            http_err_set(e, 431, "header_too_large",
                         "the request line and headers are longer than %u bytes", HTTP_HEAD_MAX);
            return -1;
        }
        return 0;
    }
    memset(r, 0, sizeof *r);
    r->head_len = (size_t)(end - buf);
    char *line = buf;
    char *eol = strstr(line, "\r\n");
    if (eol - line > (long)HTTP_LINE_MAX) {
        http_err_set(e, 414, "uri_too_long", "the request line is longer than %u bytes",
                     HTTP_LINE_MAX);
        return -1;
    }
    *eol = '\0';
    if (request_line(r, line, e) < 0)
        return -1;
    line = eol + 2;
    while (line < end - 2) {
        eol = strstr(line, "\r\n");
        *eol = '\0';
        if (header_line(r, line, e) < 0)
            return -1;
        line = eol + 2;
    }
    return semantics(r, e) < 0 ? -1 : 1;
}

const char *http_header(const struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++)
        if (!strcasecmp(r->h[i].name, name))
            return r->h[i].value;
    return NULL;
}

size_t http_header_count(const struct http_req *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nh; i++)
        n += !strcasecmp(r->h[i].name, name);
    return n;
}

const char *http_query(const struct http_req *r, const char *key)
{
    for (size_t i = 0; i < r->nq; i++)
        if (!strcmp(r->q[i].key, key))
            return r->q[i].val;
    return NULL;
}

int http_query_check(const struct http_req *r, const char *const *allowed, struct http_err *e)
{
    for (size_t i = 0; i < r->nq; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, r->q[i].key);
        if (!ok) {
            char list[200] = "";
            size_t o = 0;
            for (const char *const *a = allowed; *a && o + 1 < sizeof list; a++) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *a);
                o = w < 0 ? sizeof list : o + (size_t)w;
            }
            http_err_set(e, 400, "bad_parameter", "unknown query parameter '%s' (known: %s)",
                         r->q[i].key, *allowed ? list : "none");
            return -1;
        }
    }
    return 0;
}
