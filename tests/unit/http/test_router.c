/* test_router.c - route matching: literals, parameters, 404 against 405
 * with the Allow list, and what a parameter may hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/http_router.h"

static const struct http_route ROUTES[] = {
    {"GET", "/api/v1/hosts", 1},
    {"GET", "/api/v1/hosts/{id}", 2},
    {"POST", "/api/v1/hosts/{id}/revoke", 3},
    {"DELETE", "/api/v1/hosts/{id}", 4},
    {"GET", "/api/v1/sites/{site}/hosts/{id}", 5},
};
#define N (sizeof ROUTES / sizeof ROUTES[0])

static int route(const char *m, const char *path, const struct http_route **f,
                 struct http_params *p, char *allow)
{
    return http_route(ROUTES, N, m, path, f, p, allow, 64);
}

static void test_match(void **state)
{
    const struct http_route *f;
    struct http_params p;
    char allow[64];
    assert_int_equal(route("GET", "/api/v1/hosts", &f, &p, allow), 200);
    assert_int_equal(f->id, 1);
    assert_int_equal(p.n, 0);
    assert_int_equal(route("GET", "/api/v1/hosts/h-1", &f, &p, allow), 200);
    assert_int_equal(f->id, 2);
    assert_string_equal(http_param(&p, "id"), "h-1");
    assert_null(http_param(&p, "i"));
    assert_int_equal(route("POST", "/api/v1/hosts/h-2/revoke", &f, &p, allow), 200);
    assert_int_equal(f->id, 3);
    assert_string_equal(http_param(&p, "id"), "h-2");
    assert_int_equal(route("GET", "/api/v1/sites/osaka/hosts/h-3", &f, &p, allow), 200);
    assert_string_equal(http_param(&p, "site"), "osaka");
    assert_string_equal(http_param(&p, "id"), "h-3");
}

static void test_not_found(void **state)
{
    const struct http_route *f;
    struct http_params p;
    char allow[64];
    const char *paths[] = {"/",
                           "/api/v1",
                           "/api/v1/hosts/",
                           "/api/v1/hostsx",
                           "/api/v1/hosts//revoke",
                           "/api/v1/hosts/a/b",
                           "/api/v2/hosts",
                           "/API/v1/hosts",
                           ""};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (route("GET", paths[i], &f, &p, allow) != 404)
            fail_msg("%s should be 404", paths[i]);
        assert_null(f);
    }
}

static void test_method_not_allowed(void **state)
{
    const struct http_route *f;
    struct http_params p;
    char allow[64];
    assert_int_equal(route("PUT", "/api/v1/hosts/h-1", &f, &p, allow), 405);
    assert_string_equal(allow, "GET, DELETE");
    assert_int_equal(route("GET", "/api/v1/hosts/h-1/revoke", &f, &p, allow), 405);
    assert_string_equal(allow, "POST");
    assert_int_equal(route("BREW", "/api/v1/hosts", &f, &p, allow), 405);
    assert_string_equal(allow, "GET");
}

static void test_param_bound(void **state)
{
    const struct http_route *f;
    struct http_params p;
    char allow[64], path[600] = "/api/v1/hosts/";
    memset(path + strlen(path), 'x', HTTP_PARAM_MAX - 1);
    assert_int_equal(route("GET", path, &f, &p, allow), 200);
    assert_int_equal(strlen(http_param(&p, "id")), HTTP_PARAM_MAX - 1);
    strcat(path, "x"); /* one byte too long: no such object, never a truncated id */
    assert_int_equal(route("GET", path, &f, &p, allow), 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_param_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
