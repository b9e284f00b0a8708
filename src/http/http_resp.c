/* http_resp.c - response heads and JSON errors (see http_resp.h). */
#include "http/http_resp.h"

#include <string.h>

#include "core/err.h"
#include "core/json.h"

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

int http_resp_head(struct hbuf *out, int status, const char *ctype, long body_len, bool keep_alive,
                   const char *extra)
{
    int rc =
        hbuf_printf(out, "HTTP/1.1 %d %s\r\n" HTTP_SECURITY_HEADERS, status, http_reason(status));
    if (rc == 0 && !(extra && strstr(extra, "Content-Security-Policy:")))
        rc = hbuf_str(out, HTTP_CSP_NONE);
    if (rc == 0 && !(extra && strstr(extra, "Cache-Control:")))
        rc = hbuf_str(out, HTTP_NO_STORE);
    if (rc == 0 && ctype)
        rc = hbuf_printf(out, "Content-Type: %s\r\n", ctype);
    if (rc == 0 && body_len >= 0)
        rc = hbuf_printf(out, "Content-Length: %ld\r\n", body_len);
    if (rc == 0)
        rc = hbuf_str(out, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    if (rc == 0 && extra)
        rc = hbuf_str(out, extra);
    if (rc == 0)
        rc = hbuf_str(out, "\r\n");
    return rc;
}

int http_json_error(struct hbuf *body, const char *code, const char *msg)
{
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_obj_begin_key(&w, "error");
    jw_str(&w, "code", code);
    jw_str(&w, "message", msg);
    jw_obj_end(&w);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    hbuf_reset(body, 1u << 20);
    if (n < 0)
        return MAMORI_EFULL;
    int rc = hbuf_add(body, buf, (size_t)n);
    return rc == 0 ? hbuf_str(body, "\n") : rc;
}
