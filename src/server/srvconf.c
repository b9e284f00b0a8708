/* srvconf.c - the server's configuration file (see srvconf.h for the keys).
 *
 * YAML text enters through core/ytree (nodes with line and column) and
 * leaves as a filled struct srv_conf, or as "FILE:LINE:COL: reason" for the
 * first thing refused. Pure: no I/O beyond reading the file. */
#include "server/srvconf.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/ytree.h"
#include "net/sock.h"
#include "server/events.h"
#include "server/server.h"

#define DAY_MS (86400000ull)

void srvconf_defaults(struct srv_conf *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "%s", SRV_DEFAULT_LISTEN);
    c->offline_after_ms = SRV_DEFAULT_OFFLINE_MS;
    c->heartbeat_ms = SRV_DEFAULT_HEARTBEAT_MS;
    c->max_conns = SRV_DEFAULT_MAX_CONNS;
    c->queue_events = EV_DEFAULT_QUEUE_ROWS;
    c->queue_bytes = EV_DEFAULT_QUEUE_BYTES;
    c->batch_events = EV_DEFAULT_BATCH_ROWS;
    c->events_max_age_ms = 30 * DAY_MS;
    c->alerts_max_age_ms = 0; /* alerts are kept unless configured: the record of what happened */
    c->events_max_bytes = 10ull << 30;
    c->events_max_percent = 20;
    c->retention_batch = 2000;
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

/* ---------------------------------------------------------- the keys -- */

enum ktype { K_ADDR, K_DUR, K_UINT, K_SIZE, K_PERCENT, K_LEVEL, K_SECTION };

struct key {
    const char *section; /* NULL: top level */
    const char *name;
    enum ktype type;
    uint64_t lo, hi;  /* K_DUR (ms), K_UINT, K_SIZE (bytes), K_PERCENT */
    bool none;        /* "never" / "none" / 0 allowed: no limit */
    size_t off;       /* into struct srv_conf */
};

#define OFF(f) offsetof(struct srv_conf, f)
static const struct key KEYS[] = {
    {NULL, "listen", K_ADDR, 0, 0, false, OFF(listen)},
    {NULL, "api_listen", K_ADDR, 0, 0, true, OFF(api_listen)},
    {NULL, "offline_after", K_DUR, 1000, DAY_MS, false, OFF(offline_after_ms)},
    {NULL, "heartbeat", K_DUR, 100, 3600000, false, OFF(heartbeat_ms)},
    {NULL, "max_conns", K_UINT, 1, 1000000, false, OFF(max_conns)},
    {NULL, "log_level", K_LEVEL, 0, 0, false, OFF(log_level)},
    {NULL, "intake", K_SECTION, 0, 0, false, 0},
    {NULL, "retention", K_SECTION, 0, 0, false, 0},
    {"intake", "queue_events", K_UINT, EV_MIN_QUEUE_ROWS, 16u << 20, false, OFF(queue_events)},
    {"intake", "queue_bytes", K_SIZE, EV_MIN_QUEUE_BYTES, 16ull << 30, false, OFF(queue_bytes)},
    {"intake", "batch_events", K_UINT, 1, 1u << 20, false, OFF(batch_events)},
    {"retention", "events_max_age", K_DUR, 60000, 36500 * DAY_MS, true, OFF(events_max_age_ms)},
    {"retention", "alerts_max_age", K_DUR, 60000, 36500 * DAY_MS, true, OFF(alerts_max_age_ms)},
    {"retention", "events_max_size", K_SIZE, 1u << 20, 1ull << 50, true, OFF(events_max_bytes)},
    {"retention", "events_max_percent", K_PERCENT, 1, 100, true, OFF(events_max_percent)},
    {"retention", "batch", K_UINT, 10, 100000, false, OFF(retention_batch)},
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static bool same_section(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Levenshtein distance, capped (names are short). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static int unknown(struct cerr *e, const struct ynode *k, const char *section)
{
    const char *name = k->str ? k->str : "?";
    const char *best = NULL;
    size_t bd = 4;
    for (size_t i = 0; i < NKEYS; i++) {
        if (!same_section(KEYS[i].section, section))
            continue;
        size_t d = distance(name, KEYS[i].name);
        if (d < bd) {
            bd = d;
            best = KEYS[i].name;
        }
    }
    char where[64] = "";
    if (section)
        snprintf(where, sizeof where, " in section %s", section);
    if (best)
        return fail(e, k, "unknown key '%s'%s (did you mean '%s'?)", name, where, best);
    return fail(e, k, "unknown key '%s'%s", name, where);
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -1;
    static const struct {
        const char *suf;
        unsigned shift;
    } units[] = {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suf) != 0)
            continue;
        if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
            return -1;
        *out = (uint64_t)v << units[i].shift;
        return 0;
    }
    return -1;
}

static int set_value(struct cerr *e, const struct key *key, const struct ynode *v,
                     struct srv_conf *c)
{
    char *base = (char *)c + key->off;
    if (v->type != YN_SCALAR)
        return fail(e, v, "'%s' must be a single value, not a list or mapping", key->name);
    const char *s = v->str;
    bool none = !strcmp(s, "never") || !strcmp(s, "none");
    if (none && key->none) {
        if (key->type == K_ADDR)
            snprintf(base, SRVCONF_ADDR_MAX, "none");
        else
            *(uint64_t *)(void *)base = 0;
        return 0;
    }
    uint64_t x = 0;
    switch (key->type) {
    case K_ADDR: {
        struct hostport hp;
        char err[SOCK_ERR_MAX];
        if (v->len >= SRVCONF_ADDR_MAX || sock_parse_hostport(s, 0, &hp, err) < 0)
            return fail(e, v, "'%s': %s", key->name,
                        v->len >= SRVCONF_ADDR_MAX ? "too long" : err);
        snprintf(base, SRVCONF_ADDR_MAX, "%s", s);
        return 0;
    }
    case K_LEVEL:
        if (strcmp(s, "error") && strcmp(s, "warn") && strcmp(s, "info") && strcmp(s, "debug"))
            return fail(e, v, "'log_level' must be error, warn, info or debug");
        snprintf(base, 16, "%s", s);
        return 0;
    case K_DUR:
        if (parse_duration_ms(s, &x) < 0)
            return fail(e, v, "'%s' must be a duration such as 500ms, 30s, 10m, 24h or 30d%s",
                        key->name, key->none ? " (or never)" : "");
        break;
    case K_SIZE:
        if (parse_size(s, &x) < 0)
            return fail(e, v, "'%s' must be a size such as 512KiB, 64MiB or 10GiB%s", key->name,
                        key->none ? " (or none)" : "");
        break;
    case K_UINT:
    case K_PERCENT: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(s, &end, 10);
        if (v->quoted || errno || end == s || *end || s[0] == '-')
            return fail(e, v, "'%s' must be a whole number%s", key->name,
                        key->none ? " (or none)" : "");
        x = u;
        break;
    }
    case K_SECTION: return 0;
    }
    if (x < key->lo || x > key->hi) {
        if (key->type == K_DUR)
            return fail(e, v, "'%s' must be between %llu ms and %llu ms", key->name,
                        (unsigned long long)key->lo, (unsigned long long)key->hi);
        return fail(e, v, "'%s' must be between %llu and %llu", key->name,
                    (unsigned long long)key->lo, (unsigned long long)key->hi);
    }
    *(uint64_t *)(void *)base = x;
    return 0;
}

static int apply_map(struct cerr *e, const struct ynode *m, const char *section,
                     struct srv_conf *c)
{
    if (m->type != YN_MAP)
        return fail(e, m, "section '%s' must be a mapping of keys", section ? section : "");
    for (const struct ynode *k = m->first; k && k->next; k = k->next->next) {
        const struct key *key = NULL;
        for (size_t i = 0; i < NKEYS && !key; i++)
            if (same_section(KEYS[i].section, section) && ynode_is(k, KEYS[i].name))
                key = &KEYS[i];
        if (!key || k->type != YN_SCALAR)
            return unknown(e, k, section);
        int rc = key->type == K_SECTION ? apply_map(e, k->next, key->name, c)
                                        : set_value(e, key, k->next, c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check(struct cerr *e, const struct ytree *t, struct srv_conf *c)
{
    if (c->heartbeat_ms * 2 > c->offline_after_ms)
        return fail(e, t->root, "heartbeat (%llu ms) must be at most half of offline_after "
                                "(%llu ms)",
                    (unsigned long long)c->heartbeat_ms, (unsigned long long)c->offline_after_ms);
    if (c->alerts_max_age_ms && (!c->events_max_age_ms ||
                                 c->alerts_max_age_ms < c->events_max_age_ms))
        return fail(e, t->root, "retention: alerts_max_age must be at least events_max_age "
                                "(alerts are never deleted before the events around them)");
    if ((uint64_t)c->batch_events > c->queue_events)
        return fail(e, t->root, "intake: batch_events must be at most queue_events");
    return 0;
}

static int apply(struct srv_conf *c, const char *name, const struct ytree *t, char *err,
                 size_t errsz)
{
    struct cerr e = {.file = name, .buf = err, .sz = errsz};
    if (!t->root)
        return 0;
    if (t->root->type != YN_MAP)
        return fail(&e, t->root, "the configuration must be a mapping of keys");
    struct srv_conf tmp = *c;
    int rc = apply_map(&e, t->root, NULL, &tmp);
    if (rc == 0)
        rc = check(&e, t, &tmp);
    if (rc == 0)
        *c = tmp;
    return rc;
}

int srvconf_parse(struct srv_conf *c, const char *name, const char *text, size_t len, char *err,
                  size_t errsz)
{
    struct ytree t;
    char inner[512];
    if (ytree_parse(&t, text, len, inner, sizeof inner) < 0) {
        snprintf(err, errsz, "%s:%s", name, inner);
        return MAMORI_ECONFIG;
    }
    int rc = apply(c, name, &t, err, errsz);
    ytree_free(&t);
    return rc;
}

int srvconf_load(struct srv_conf *c, const char *path, char *err, size_t errsz)
{
    struct ytree t;
    int rc = ytree_load_file(&t, path, err, errsz);
    if (rc < 0)
        return rc == MAMORI_EINVAL || rc == MAMORI_ERANGE ? MAMORI_ECONFIG : rc;
    rc = apply(c, path, &t, err, errsz);
    ytree_free(&t);
    return rc;
}
