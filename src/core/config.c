/* config.c - YAML configuration onto struct mamori_config (see config.h).
 *
 * The schema is a table per section: key, type, where it goes, limits. An
 * unknown key is an error (a typo must not silently fall back to a default). */
#include "core/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/ytree.h"

void config_defaults(struct mamori_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->log_level, sizeof c->log_level, "info");
    struct config_guard *g = &c->guard;
    g->nprotect = 2;
    snprintf(g->protect[0], sizeof g->protect[0], "/home");
    snprintf(g->protect[1], sizeof g->protect[1], "/srv");
    snprintf(g->action, sizeof g->action, "freeze");
    snprintf(g->log, sizeof g->log, "-");
    g->decoys = true;
    g->watchdog_ms = 500;
    g->threshold = 100;
    c->vault.enabled = true;
    c->vault.cap_percent = 2;
    c->vault.file_max_mib = 64;
    c->vault.keep_minutes = 24 * 60;
    c->vault.ntrusted = 1;
    snprintf(c->vault.trusted_exe[0], sizeof c->vault.trusted_exe[0], "/usr/bin/dpkg");
}

struct cerr {
    const char *file;
    char *buf;
    size_t sz;
};

__attribute__((format(printf, 3, 4))) static int fail(struct cerr *e, const struct ynode *n,
                                                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(e->buf, e->sz, "%s:%u:%u: %s", e->file, n ? n->line : 1, n ? n->col : 1, msg);
    return MAMORI_ECONFIG;
}

static int get_string(struct cerr *e, const struct ynode *v, const char *key, char *out, size_t cap)
{
    if (v->type != YN_SCALAR)
        return fail(e, v, "'%s' must be a string", key);
    if (v->len >= cap || memchr(v->str, '\0', v->len))
        return fail(e, v, "'%s' is too long or contains a NUL byte", key);
    memcpy(out, v->str, v->len + 1);
    return 0;
}

static int get_bool(struct cerr *e, const struct ynode *v, const char *key, bool *out)
{
    if (v->type == YN_SCALAR && !v->quoted) {
        if (!strcmp(v->str, "true") || !strcmp(v->str, "yes") || !strcmp(v->str, "on")) {
            *out = true;
            return 0;
        }
        if (!strcmp(v->str, "false") || !strcmp(v->str, "no") || !strcmp(v->str, "off")) {
            *out = false;
            return 0;
        }
    }
    return fail(e, v, "'%s' must be true or false", key);
}

static int get_long(struct cerr *e, const struct ynode *v, const char *key, long lo, long hi,
                    long *out)
{
    if (v->type != YN_SCALAR || v->quoted)
        return fail(e, v, "'%s' must be a number", key);
    char *end;
    errno = 0;
    long x = strtol(v->str, &end, 10);
    if (errno || end == v->str || *end)
        return fail(e, v, "'%s' must be a whole number", key);
    if (x < lo || x > hi)
        return fail(e, v, "'%s' must be between %ld and %ld", key, lo, hi);
    *out = x;
    return 0;
}

static int get_list(struct cerr *e, const struct ynode *v, const char *key, char *out,
                    size_t itemsz, size_t max, size_t *n)
{
    if (v->type != YN_SEQ)
        return fail(e, v, "'%s' must be a list", key);
    *n = 0;
    for (const struct ynode *it = v->first; it; it = it->next) {
        if (*n == max)
            return fail(e, it, "'%s' has too many entries", key);
        int rc = get_string(e, it, key, out + *n * itemsz, itemsz);
        if (rc < 0)
            return rc;
        (*n)++;
    }
    return 0;
}

static int one_of(struct cerr *e, const struct ynode *v, const char *key, const char *val,
                  const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (!strcmp(val, *allowed))
            return 0;
    return fail(e, v, "'%s' has a value that is not allowed here", key);
}

static int load_guard(struct cerr *e, const struct ynode *m, struct config_guard *g)
{
    static const char *const actions[] = {"alert", "freeze", "kill", NULL};
    if (m->type != YN_MAP)
        return fail(e, m, "'%s' must be a mapping", "guard");
    for (const struct ynode *k = m->first; k && k->next; k = k->next->next) {
        const struct ynode *v = k->next;
        long x;
        int rc;
        if (ynode_is(k, "protect")) {
            rc = get_list(e, v, "protect", &g->protect[0][0], sizeof g->protect[0],
                          CONFIG_LIST_MAX, &g->nprotect);
            for (size_t i = 0; rc == 0 && i < g->nprotect; i++)
                if (g->protect[i][0] != '/')
                    rc = fail(e, v, "'protect' paths must be absolute: %s", g->protect[i]);
        } else if (ynode_is(k, "action")) {
            rc = get_string(e, v, "action", g->action, sizeof g->action);
            if (rc == 0)
                rc = one_of(e, v, "action (alert, freeze or kill)", g->action, actions);
        } else if (ynode_is(k, "log")) {
            rc = get_string(e, v, "log", g->log, sizeof g->log);
        } else if (ynode_is(k, "decoys")) {
            rc = get_bool(e, v, "decoys", &g->decoys);
        } else if (ynode_is(k, "watchdog_ms")) {
            rc = get_long(e, v, "watchdog_ms", 10, 10000, &x);
            g->watchdog_ms = (unsigned)x;
        } else if (ynode_is(k, "threshold")) {
            rc = get_long(e, v, "threshold", 1, 1000, &x);
            g->threshold = (int)x;
        } else if (ynode_is(k, "allow_exe")) {
            rc = get_list(e, v, "allow_exe", &g->allow_exe[0][0], sizeof g->allow_exe[0],
                          CONFIG_LIST_MAX, &g->nallow);
        } else {
            rc = fail(e, k, "unknown key '%s' in section guard", k->str ? k->str : "?");
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_vault(struct cerr *e, const struct ynode *m, struct config_vault *vc)
{
    if (m->type != YN_MAP)
        return fail(e, m, "'%s' must be a mapping", "vault");
    for (const struct ynode *k = m->first; k && k->next; k = k->next->next) {
        const struct ynode *v = k->next;
        long x = 0;
        int rc;
        if (ynode_is(k, "enabled")) {
            rc = get_bool(e, v, "enabled", &vc->enabled);
        } else if (ynode_is(k, "cap_percent")) {
            rc = get_long(e, v, "cap_percent", 1, 50, &x);
            vc->cap_percent = (unsigned)x;
        } else if (ynode_is(k, "file_max_mib")) {
            rc = get_long(e, v, "file_max_mib", 1, 65536, &x);
            vc->file_max_mib = (unsigned)x;
        } else if (ynode_is(k, "trusted_exe")) {
            rc = get_list(e, v, "trusted_exe", &vc->trusted_exe[0][0], sizeof vc->trusted_exe[0],
                          CONFIG_LIST_MAX, &vc->ntrusted);
            for (size_t i = 0; rc == 0 && i < vc->ntrusted; i++)
                if (vc->trusted_exe[i][0] != '/')
                    rc = fail(e, v, "'trusted_exe' paths must be absolute: %s", vc->trusted_exe[i]);
        } else if (ynode_is(k, "keep_minutes")) {
            rc = get_long(e, v, "keep_minutes", 1, 525600, &x);
            vc->keep_minutes = (unsigned)x;
        } else {
            rc = fail(e, k, "unknown key '%s' in section vault", k->str ? k->str : "?");
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Applies a parsed document; name is the file name used in messages. */
static int config_apply(struct mamori_config *c, const char *name, const struct ytree *t,
                        char *err, size_t errsz)
{
    struct cerr e = {.file = name, .buf = err, .sz = errsz};
    const struct ynode *root = t->root;
    if (!root)
        return 0;
    if (root->type != YN_MAP)
        return fail(&e, root, "%s", "the configuration must be a mapping of sections");
    int rc = 0;
    for (const struct ynode *k = root->first; k && k->next && rc == 0; k = k->next->next) {
        if (ynode_is(k, "guard")) {
            rc = load_guard(&e, k->next, &c->guard);
        } else if (ynode_is(k, "vault")) {
            rc = load_vault(&e, k->next, &c->vault);
        } else if (ynode_is(k, "log_level")) {
            static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
            rc = get_string(&e, k->next, "log_level", c->log_level, sizeof c->log_level);
            if (rc == 0)
                rc = one_of(&e, k->next, "log_level (error, warn, info or debug)", c->log_level,
                            levels);
        } else {
            rc = fail(&e, k, "unknown section '%s'", k->str ? k->str : "?");
        }
    }
    return rc;
}

int config_parse(struct mamori_config *c, const char *name, const char *text, size_t len,
                 char *err, size_t errsz)
{
    struct ytree t;
    char inner[512];
    if (ytree_parse(&t, text, len, inner, sizeof inner) < 0) {
        snprintf(err, errsz, "%s:%s", name, inner);
        return MAMORI_ECONFIG;
    }
    int rc = config_apply(c, name, &t, err, errsz);
    ytree_free(&t);
    return rc;
}

int config_load(struct mamori_config *c, const char *path, char *err, size_t errsz)
{
    struct ytree t;
    int rc = ytree_load_file(&t, path, err, errsz);
    if (rc < 0)
        return rc == MAMORI_EINVAL || rc == MAMORI_ERANGE ? MAMORI_ECONFIG : rc;
    rc = config_apply(c, path, &t, err, errsz);
    ytree_free(&t);
    return rc;
}
