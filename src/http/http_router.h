/* http_router.h - method + path pattern -> handler, with path parameters.
 *
 * Routes are a caller's constant table; a pattern is a path whose segments
 * are literals or "{name}" (one whole segment, at most HTTP_PARAM_MAX - 1
 * bytes, never empty). A decoded, checked path (http_parse.h) and a method
 * name enter; the matching route and its parameter values leave, or 404
 * (no pattern matches the path) or 405 with the methods that the path does
 * accept (for an Allow header). No allocation, no state. */
#ifndef MAMORI_HTTP_HTTP_ROUTER_H
#define MAMORI_HTTP_HTTP_ROUTER_H

#include <stddef.h>

#define HTTP_PARAMS_MAX 4
#define HTTP_PARAM_MAX 256

struct http_params {
    size_t n;
    const char *name[HTTP_PARAMS_MAX]; /* points into the pattern, not NUL-terminated at '}' */
    size_t name_len[HTTP_PARAMS_MAX];
    char value[HTTP_PARAMS_MAX][HTTP_PARAM_MAX];
};

struct http_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/v1/hosts/{id}/revoke" */
    int id;              /* the caller's handler number */
};

/* 200 with *found set, 404, or 405 with `allow` ("GET, POST"). */
int http_route(const struct http_route *routes, size_t n, const char *method, const char *path,
               const struct http_route **found, struct http_params *p, char *allow, size_t allowsz);
/* A parameter's value by name, or NULL. */
const char *http_param(const struct http_params *p, const char *name);

#endif
