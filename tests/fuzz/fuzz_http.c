/* fuzz_http.c - libFuzzer target: the HTTP request parser, the router and
 * the cursor decoder on a client's bytes.
 *
 * The input is what a client sends on one connection: requests are parsed
 * off its front as the server does (head, then Content-Length bytes of
 * body), each parsed request is routed against the API's route table and
 * its query parameters checked and read; the bytes after the first NUL-free
 * "cursor=" value are also decoded as a cursor. Any input must end in
 * requests, "need more" or a refusal with a 4xx/5xx status, a code and a
 * message; never a crash, a leak, a read past the input, a head longer
 * than HTTP_HEAD_MAX or a body longer than HTTP_BODY_MAX. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_cursor.h"
#include "http/http_parse.h"
#include "http/http_router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_route ROUTES[] = {
    {"GET", "/api/v1/health", 0},      {"GET", "/api/v1/hosts", 1},
    {"GET", "/api/v1/hosts/{id}", 2},  {"POST", "/api/v1/hosts/{id}/revoke", 3},
    {"GET", "/api/v1/alerts/{id}", 4}, {"GET", "/api/v1/sites/{name}", 5},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    static struct http_req r;
    size_t off = 0;
    for (int n = 0; n < 64 && off < size; n++) {
        struct http_err e = {0};
        /* the server parses from the start of its buffer; the parser writes into it */
        int rc = http_parse_head(buf + off, size - off, &r, &e);
        if (rc < 0) {
            if (e.status < 400 || e.status > 599 || !e.code || !e.msg[0])
                abort();
            break;
        }
        if (rc == 0)
            break;
        if (r.head_len > HTTP_HEAD_MAX || r.content_length > HTTP_BODY_MAX ||
            r.head_len > size - off || r.nh > HTTP_HEADERS_MAX || r.nq > HTTP_QUERY_MAX)
            abort();
        const struct http_route *f;
        struct http_params p;
        char allow[64];
        int st = http_route(ROUTES, sizeof ROUTES / sizeof ROUTES[0], r.method_name, r.path, &f, &p,
                            allow, sizeof allow);
        if (st != 200 && st != 404 && st != 405)
            abort();
        static const char *const allowed[] = {"site", "limit", "cursor", NULL};
        http_query_check(&r, allowed, &e);
        const char *cur = http_query(&r, "cursor");
        struct api_cursor c;
        if (cur && api_cursor_decode(cur, &c) == 0 && (strlen(c.k1) > 255 || strlen(c.k2) > 63))
            abort();
        for (size_t i = 0; i < r.nh; i++)
            if (strlen(r.h[i].name) + strlen(r.h[i].value) > HTTP_HEAD_MAX)
                abort();
        size_t used = r.head_len + r.content_length;
        if (used > size - off)
            break; /* the body has not all arrived */
        off += used;
    }
    free(buf);
    return 0;
}
