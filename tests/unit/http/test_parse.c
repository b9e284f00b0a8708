/* test_parse.c - the HTTP request parser on good requests and on hostile
 * ones: each refusal must carry the right status and code, and a request
 * arriving in pieces must parse the same as in one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"

/* Parse a copy of text (the parser writes into its buffer). */
static int parse(const char *text, struct http_req *r, struct http_err *e)
{
    static char buf[HTTP_HEAD_MAX * 2 + 64];
    size_t n = strlen(text);
    assert_true(n < sizeof buf);
    memcpy(buf, text, n + 1);
    memset(e, 0, sizeof *e);
    return http_parse_head(buf, n, r, e);
}

static struct http_req R;

static void expect_refused(const char *text, int status, const char *code)
{
    struct http_err e;
    int rc = parse(text, &R, &e);
    if (rc != -1 || e.status != status || strcmp(e.code, code) != 0)
        fail_msg("%.60s...: got rc %d status %d code %s (%s), want %d %s", text, rc, e.status,
                 e.code ? e.code : "-", e.msg, status, code);
    assert_true(e.msg[0]); /* always a reason */
}

static void test_good_get(void **state)
{
    struct http_err e;
    const char *t = "GET /api/v1/hosts?site=osaka&status=online&limit=5 HTTP/1.1\r\n"
                    "Host: x\r\nAuthorization:  Bearer abc  \r\nAccept: */*\r\n\r\n";
    assert_int_equal(parse(t, &R, &e), 1);
    assert_int_equal(R.method, HM_GET);
    assert_string_equal(R.path, "/api/v1/hosts");
    assert_int_equal(R.minor, 1);
    assert_true(R.keep_alive);
    assert_int_equal(R.head_len, strlen(t));
    assert_int_equal(R.content_length, 0);
    assert_string_equal(http_header(&R, "authorization"), "Bearer abc");
    assert_string_equal(http_query(&R, "site"), "osaka");
    assert_string_equal(http_query(&R, "limit"), "5");
    assert_null(http_query(&R, "cursor"));
    static const char *const ok[] = {"site", "status", "limit", NULL};
    static const char *const few[] = {"site", NULL};
    assert_int_equal(http_query_check(&R, ok, &e), 0);
    assert_int_equal(http_query_check(&R, few, &e), -1);
    assert_int_equal(e.status, 400);
    assert_non_null(strstr(e.msg, "status"));
}

static void test_post_body_and_decoding(void **state)
{
    struct http_err e;
    const char *t = "POST /api/v1/a%20b?q=x%2By+z&e= HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n"
                    "Connection: close\r\nExpect: 100-continue\r\n\r\n{\"a\":1}";
    assert_int_equal(parse(t, &R, &e), 1);
    assert_int_equal(R.method, HM_POST);
    assert_string_equal(R.path, "/api/v1/a b");
    assert_string_equal(http_query(&R, "q"), "x+y z");
    assert_string_equal(http_query(&R, "e"), "");
    assert_int_equal(R.content_length, 7);
    assert_false(R.keep_alive);
    assert_true(R.expect_continue);
    assert_int_equal(R.head_len, strlen(t) - 7);
}

static void test_http10(void **state)
{
    struct http_err e;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &R, &e), 1); /* no Host needed */
    assert_false(R.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &R, &e), 1);
    assert_true(R.keep_alive);
}

static void test_incremental(void **state)
{
    const char *t = "GET /x HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
    char buf[128];
    struct http_err e;
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++) { /* every prefix is "need more", never an error */
        memcpy(buf, t, i);
        buf[i] = '\0';
        int rc = http_parse_head(buf, i, &R, &e);
        if (rc != 0)
            fail_msg("prefix of %zu bytes: rc %d (%s)", i, rc, e.msg);
    }
    memcpy(buf, t, n + 1);
    assert_int_equal(http_parse_head(buf, n, &R, &e), 1);
    assert_string_equal(R.path, "/x");
}

static void test_malformed(void **state)
{
    expect_refused("\x16\x03\x01\x02\x00", 400, "bad_request"); /* TLS inside TLS */
    expect_refused("GET\r\n\r\n", 400, "bad_request");
    expect_refused("GET  /x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("GET /x HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("GET /x HTTP/1.1\nHost: a\n\n", 400, "bad_request"); /* bare LF */
    expect_refused("GET /x HTTP/2.0\r\nHost: a\r\n\r\n", 505, "http_version_not_supported");
    expect_refused("GET /x HTTP/x\r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("GET http://evil/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("GET /x#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request");
    expect_refused("GET / HTTP/1.1\r\n\r\n", 400, "bad_header"); /* no Host */
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_header");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", 400, "bad_header");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n", 400, "bad_header");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "bad_header");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417, "expectation_failed");
}

static void test_injection(void **state)
{
    /* a CR inside a value (response splitting / header injection) */
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rSet-Cookie: c\r\n\r\n", 400, "bad_header");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n", 400, "bad_header");
    char t[64] = "GET / HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n";
    struct http_err e;
    assert_int_equal(http_parse_head(t, 32, &R, &e), -1); /* a NUL byte */
    assert_int_equal(e.status, 400);
}

static void test_traversal(void **state)
{
    expect_refused("GET /api/../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400, "path_traversal");
    expect_refused("GET /api/./v1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "path_traversal");
    expect_refused("GET /api/%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "path_traversal");
    expect_refused("GET /api/%2E%2e HTTP/1.1\r\nHost: a\r\n\r\n", 400, "path_traversal");
    expect_refused("GET /api/.. HTTP/1.1\r\nHost: a\r\n\r\n", 400, "path_traversal");
    expect_refused("GET /a%2f..%2fb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_path");
    expect_refused("GET /a%5c..%5cb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_path");
    expect_refused("GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_path");
    expect_refused("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_path");
    expect_refused("GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_path");
    struct http_err e; /* dots inside a segment are a name, not traversal */
    assert_int_equal(parse("GET /a/..b/c.d/...x HTTP/1.1\r\nHost: a\r\n\r\n", &R, &e), 1);
    assert_string_equal(R.path, "/a/..b/c.d/...x");
}

static void test_query(void **state)
{
    expect_refused("GET /?a=1&a=2 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_parameter");
    expect_refused("GET /?A=1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_parameter");
    expect_refused("GET /?a=%0d%0a HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_parameter");
    expect_refused("GET /?a=%g1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_parameter");
    char t[4096] = "GET /?";
    for (int i = 0; i < 17; i++)
        snprintf(t + strlen(t), sizeof t - strlen(t), "k%d=v&", i);
    strcat(t, " HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_refused(t, 400, "bad_parameter");
    struct http_err e; /* empty pairs are skipped */
    assert_int_equal(parse("GET /?&&a=1& HTTP/1.1\r\nHost: a\r\n\r\n", &R, &e), 1);
    assert_int_equal(R.nq, 1);
}

static void test_bounds(void **state)
{
    static char t[HTTP_HEAD_MAX * 2];
    struct http_err e;
    /* a request line longer than 8 KiB: 414 as soon as it is known */
    memset(t, 'a', sizeof t);
    memcpy(t, "GET /", 5);
    t[HTTP_LINE_MAX + 10] = '\0';
    expect_refused(t, 414, "uri_too_long");
    /* headers past 16 KiB without an end: 431 */
    size_t o = (size_t)snprintf(t, sizeof t, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (o < HTTP_HEAD_MAX + 100)
        o += (size_t)snprintf(t + o, sizeof t - o, "X-Pad: %0100d\r\n", 0);
    expect_refused(t, 431, "header_too_large");
    /* 65 header fields */
    o = (size_t)snprintf(t, sizeof t, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 64; i++)
        o += (size_t)snprintf(t + o, sizeof t - o, "X-%d: v\r\n", i);
    snprintf(t + o, sizeof t - o, "\r\n");
    expect_refused(t, 431, "header_too_large");
    /* exactly 64 fields are fine */
    o = (size_t)snprintf(t, sizeof t, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 63; i++)
        o += (size_t)snprintf(t + o, sizeof t - o, "X-%d: v\r\n", i);
    snprintf(t + o, sizeof t - o, "\r\n");
    assert_int_equal(parse(t, &R, &e), 1);
    assert_int_equal(R.nh, 64);
}

static void test_bodies(void **state)
{
    struct http_err e;
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413,
                   "payload_too_large");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999\r\n\r\n", 400,
                   "bad_header");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "bad_header");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                   400, "bad_header");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411,
                   "length_required");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 3\r\n\r\n",
                   400, "bad_header");
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n", &R, &e),
                     1);
    assert_int_equal(R.content_length, HTTP_BODY_MAX);
}

static void test_pct_decode(void **state)
{
    char out[8];
    assert_int_equal(http_pct_decode("a%41+", 5, out, sizeof out, true), 3);
    assert_string_equal(out, "aA ");
    assert_int_equal(http_pct_decode("a%41+", 5, out, sizeof out, false), 3);
    assert_string_equal(out, "aA+");
    assert_int_equal(http_pct_decode("%4", 2, out, sizeof out, false), -1);
    assert_int_equal(http_pct_decode("%", 1, out, sizeof out, false), -1);
    assert_int_equal(http_pct_decode("12345678", 8, out, sizeof out, false), -1); /* no room */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_get),   cmocka_unit_test(test_post_body_and_decoding),
        cmocka_unit_test(test_http10),     cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_malformed),  cmocka_unit_test(test_injection),
        cmocka_unit_test(test_traversal),  cmocka_unit_test(test_query),
        cmocka_unit_test(test_bounds),     cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_pct_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
