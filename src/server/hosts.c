/* hosts.c - in-memory host table (see hosts.h). */
#include "server/hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int hosts_init(struct hosts *t)
{
    t->cap = 1024;
    t->n = 0;
    t->slot = calloc(t->cap, sizeof *t->slot);
    return t->slot ? 0 : MAMORI_ENOMEM;
}

void hosts_free(struct hosts *t)
{
    for (size_t i = 0; t->slot && i < t->cap; i++)
        free(t->slot[i]);
    free(t->slot);
    t->slot = NULL;
    t->cap = t->n = 0;
}

static size_t find_slot(struct host **slot, size_t cap, const char *id)
{
    size_t i = hash_id(id) & (cap - 1);
    while (slot[i] && strcmp(slot[i]->id, id) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static int grow(struct hosts *t)
{
    size_t cap = t->cap * 2;
    struct host **s = calloc(cap, sizeof *s);
    if (!s)
        return MAMORI_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i])
            s[find_slot(s, cap, t->slot[i]->id)] = t->slot[i];
    free(t->slot);
    t->slot = s;
    t->cap = cap;
    return 0;
}

struct host *hosts_get(const struct hosts *t, const char *id)
{
    return t->slot[find_slot(t->slot, t->cap, id)];
}

struct host *hosts_put(struct hosts *t, const struct host_row *r)
{
    struct host *h = hosts_get(t, r->id);
    if (!h) {
        if (t->n >= HOSTS_MAX)
            return NULL;
        if ((t->n + 1) * 2 > t->cap && grow(t) < 0) /* load factor <= 1/2 */
            return NULL;
        h = calloc(1, sizeof *h);
        if (!h)
            return NULL;
        snprintf(h->id, sizeof h->id, "%s", r->id);
        t->slot[find_slot(t->slot, t->cap, r->id)] = h;
        t->n++;
    }
    snprintf(h->hostname, sizeof h->hostname, "%s", r->hostname);
    snprintf(h->site, sizeof h->site, "%s", r->site);
    snprintf(h->cert_fp, sizeof h->cert_fp, "%s", r->cert_fp);
    snprintf(h->cert_fp_prev, sizeof h->cert_fp_prev, "%s", r->cert_fp_prev);
    snprintf(h->version, sizeof h->version, "%s", r->version);
    h->site_id = r->site_id;
    h->status = r->status;
    h->seen_wall_ms = h->persisted_ms = r->last_seen;
    return h;
}

void hosts_each(const struct hosts *t, int (*fn)(void *, struct host *), void *arg)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i] && fn(arg, t->slot[i]))
            return;
}
