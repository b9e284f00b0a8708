/* http_router.c - path patterns with parameters (see http_router.h). */
#include "http/http_router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Does path match pattern? Parameters into p when it does. */
static bool match(const char *pat, const char *path, struct http_params *p)
{
    p->n = 0;
    while (*pat && *path) {
        if (*pat != '/' || *path != '/')
            return false;
        pat++;
        path++;
        size_t pl = strcspn(pat, "/"), sl = strcspn(path, "/");
        if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
            if (sl == 0 || sl >= HTTP_PARAM_MAX || p->n >= HTTP_PARAMS_MAX)
                return false;
            p->name[p->n] = pat + 1;
            p->name_len[p->n] = pl - 2;
            memcpy(p->value[p->n], path, sl);
            p->value[p->n][sl] = '\0';
            p->n++;
        } else if (pl != sl || memcmp(pat, path, pl) != 0) {
            return false;
        }
        pat += pl;
        path += sl;
    }
    return *pat == '\0' && *path == '\0';
}

int http_route(const struct http_route *routes, size_t n, const char *method, const char *path,
               const struct http_route **found, struct http_params *p, char *allow, size_t allowsz)
{
    struct http_params tmp;
    size_t o = 0;
    bool path_known = false;
    if (allowsz)
        allow[0] = '\0';
    *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!match(routes[i].pattern, path, &tmp))
            continue;
        path_known = true;
        if (!strcmp(routes[i].method, method)) {
            *p = tmp;
            *found = &routes[i];
            return 200;
        }
        if (o + 1 < allowsz && !strstr(allow, routes[i].method)) {
            int w = snprintf(allow + o, allowsz - o, "%s%s", o ? ", " : "", routes[i].method);
            o = w < 0 ? allowsz : o + (size_t)w;
        }
    }
    return path_known ? 405 : 404;
}

const char *http_param(const struct http_params *p, const char *name)
{
    size_t l = strlen(name);
    for (size_t i = 0; i < p->n; i++)
        if (p->name_len[i] == l && !memcmp(p->name[i], name, l))
            return p->value[i];
    return NULL;
}
