/* web_static.c - the console's page files: GET / and GET /static/NAME.
 *
 * The files are embedded in the binary (web/ at build time, by
 * src/web/gen_assets.sh: a table of name, Content-Type, ETag, bytes). A
 * request's path enters (already decoded and checked by src/http, which
 * refuses "." and ".." segments, encoded '/', '\\' and NUL); the only
 * names ever served are the table's, compared whole, so no path can reach
 * a file outside it: anything else is 404. With --web-dir DIR the file of
 * the same table name is read from DIR instead (development: edit, reload),
 * bounded at WEB_DEV_MAX bytes. Every answer carries the page's
 * Content-Security-Policy (scripts, styles, images and connections only
 * from this origin; no inline script; no framing); files are revalidated
 * with their ETag (Cache-Control: no-cache, 304). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/http_resp.h"
#include "http/http_server.h"
#include "web/web_int.h"

#define WEB_DEV_MAX (4u << 20)

#define WEB_CSP                                                                                    \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "               \
    "form-action 'self'; frame-ancestors 'none'\r\n"

const struct web_asset *web_asset_find(const char *name)
{
    for (size_t i = 0; i < web_assets_n; i++)
        if (!strcmp(web_assets[i].name, name))
            return &web_assets[i];
    return NULL;
}

static char *read_dev(const char *dir, const char *name, size_t *len)
{
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(WEB_DEV_MAX);
    size_t n = b ? fread(b, 1, WEB_DEV_MAX, f) : 0;
    bool whole = b && feof(f);
    fclose(f);
    if (!whole) {
        free(b);
        return NULL;
    }
    *len = n;
    return b;
}

bool web_static(struct web *w, struct http_conn *c, const struct http_req *r)
{
    const char *name;
    if (!strcmp(r->path, "/"))
        name = "index.html";
    else if (!strncmp(r->path, "/static/", 8))
        name = r->path + 8;
    else
        return false;
    if (r->method != HM_GET) {
        http_reply_error(c, 405, "method_not_allowed", "the console's files are read with GET");
        return true;
    }
    const struct web_asset *a = web_asset_find(name);
    if (!a) {
        http_reply_error(c, 404, "not_found", "no such file");
        return true;
    }
    char extra[640];
    if (w->dir) {
        size_t len = 0;
        char *b = read_dev(w->dir, a->name, &len);
        if (!b) {
            log_warn("console: --web-dir: cannot read %s/%s (or it is over 4 MiB)", w->dir,
                     a->name);
            http_reply_error(c, 404, "not_found", "no such file");
            return true;
        }
        snprintf(extra, sizeof extra, WEB_CSP "Cache-Control: no-store\r\n");
        http_reply(c, 200, a->ctype, b, len, extra);
        free(b);
        return true;
    }
    snprintf(extra, sizeof extra, WEB_CSP "Cache-Control: no-cache\r\nETag: %s\r\n", a->etag);
    const char *inm = http_header(r, "If-None-Match");
    if (inm && !strcmp(inm, a->etag))
        http_reply(c, 304, NULL, "", 0, extra);
    else
        http_reply(c, 200, a->ctype, a->data, a->len, extra);
    return true;
}
