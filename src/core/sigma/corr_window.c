/* corr_window.c - the aggregate over one group's window of one correlation.
 *
 * Items (detection hits or inner correlation hits, already reduced to a
 * time, an event span and the value field) enter with cw_add; cw_expire
 * drops what fell out of the window; cw_measure gives the quantity the
 * correlation's condition is tested on. Memory is asked from the caller's
 * budget before every growth; when refused, the window drops its own oldest
 * entry instead and counts an eviction.
 *
 * What is kept, by type:
 *   all types         time slices of timespan/SG_CORR_SLICES: item count,
 *                     earliest event, sum and count of numeric values. A
 *                     slice leaves the window when its first item does, so
 *                     windows are exact to within one slice.
 *   value_count       the distinct values (keyed 64-bit hashes) with their last
 *                     sighting, in least-recently-seen order (at most
 *                     SG_CORR_MAX_DISTINCT).
 *   value_percentile  the numeric samples in arrival order (at most
 *                     SG_CORR_MAX_SAMPLES; the oldest go first).
 *   temporal          the last time each referenced rule was seen.
 *   temporal_ordered  per position k of the rules list, the latest start
 *                     time of a chain rule1 -> ... -> rule k, in order. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/corr_int.h"

#define NONE UINT32_MAX
#define NEVER INT64_MIN

/* ---- growable rings ---- */

/* Doubles a ring (copying it into order, head 0) up to max elements. */
static bool ring_grow(void **buf, uint32_t *cap, uint32_t *head, uint32_t len, size_t elsz,
                      uint32_t max, const struct cw_budget *b)
{
    if (*cap >= max)
        return false;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    if (ncap > max)
        ncap = max;
    size_t add = (size_t)(ncap - *cap) * elsz;
    if (!b->reserve(b->ctx, add))
        return false;
    char *n = malloc((size_t)ncap * elsz);
    if (!n) {
        b->release(b->ctx, add);
        return false;
    }
    for (uint32_t i = 0; i < len; i++)
        memcpy(n + (size_t)i * elsz, (char *)*buf + (size_t)((*head + i) % *cap) * elsz, elsz);
    free(*buf);
    *buf = n;
    *cap = ncap;
    *head = 0;
    return true;
}

static int64_t slice_ns(const struct corr *c)
{
    int64_t g = c->span_ns / SG_CORR_SLICES;
    return g > 0 ? g : 1;
}

static int slots_add(struct corr_window *w, const struct corr *c, const struct corr_item *it,
                     bool numeric, double v, const struct cw_budget *b)
{
    struct cw_slot *s = NULL;
    if (w->slen) {
        struct cw_slot *tail = &w->slot[(w->shead + w->slen - 1) % w->scap];
        if (it->t - tail->t0 < slice_ns(c))
            s = tail;
    }
    if (!s && w->slen == w->scap &&
        !ring_grow((void **)&w->slot, &w->scap, &w->shead, w->slen, sizeof *w->slot,
                   SG_CORR_SLICES + 2, b)) {
        if (!w->slen)
            return MAMORI_ENOMEM;
        s = &w->slot[(w->shead + w->slen - 1) % w->scap]; /* full: widen the last slice */
    }
    if (!s) {
        s = &w->slot[(w->shead + w->slen++) % w->scap];
        *s = (struct cw_slot){.t0 = it->t, .first = it->first};
    }
    s->count++;
    if (it->first < s->first)
        s->first = it->first;
    if (numeric) {
        s->sum += v;
        s->nnum++;
    }
    return 0;
}

/* ---- value_count: distinct hashes in least-recently-seen order ---- */

struct cw_dent {
    uint64_t h;
    int64_t seen;
    uint32_t prev, next; /* recency list, oldest first */
    uint32_t chain;      /* hash chain, or free list */
};

struct cw_distinct {
    struct cw_dent *e;
    uint32_t *heads;
    uint32_t cap, used, n, nheads;
    uint32_t oldest, newest, free;
};

static size_t dist_bytes(uint32_t cap)
{
    return (size_t)cap * sizeof(struct cw_dent) + (size_t)cap * 2 * sizeof(uint32_t);
}

static void dist_link_new(struct cw_distinct *d, uint32_t i)
{
    d->e[i].prev = d->newest;
    d->e[i].next = NONE;
    if (d->newest != NONE)
        d->e[d->newest].next = i;
    else
        d->oldest = i;
    d->newest = i;
}

static void dist_unlink(struct cw_distinct *d, uint32_t i)
{
    struct cw_dent *x = &d->e[i];
    if (x->prev != NONE)
        d->e[x->prev].next = x->next;
    else
        d->oldest = x->next;
    if (x->next != NONE)
        d->e[x->next].prev = x->prev;
    else
        d->newest = x->prev;
}

static void dist_rehash(struct cw_distinct *d)
{
    for (uint32_t k = 0; k < d->nheads; k++)
        d->heads[k] = NONE;
    for (uint32_t i = d->oldest; i != NONE; i = d->e[i].next) {
        uint32_t k = (uint32_t)(d->e[i].h & (d->nheads - 1));
        d->e[i].chain = d->heads[k];
        d->heads[k] = i;
    }
}

static void dist_remove(struct cw_distinct *d, uint32_t i)
{
    uint32_t *p = &d->heads[d->e[i].h & (d->nheads - 1)];
    while (*p != i)
        p = &d->e[*p].chain;
    *p = d->e[i].chain;
    dist_unlink(d, i);
    d->e[i].chain = d->free;
    d->free = i;
    d->n--;
}

static bool dist_grow(struct cw_distinct *d, const struct cw_budget *b)
{
    if (d->cap >= SG_CORR_MAX_DISTINCT)
        return false;
    uint32_t ncap = d->cap ? d->cap * 2 : 8;
    size_t add = dist_bytes(ncap) - dist_bytes(d->cap);
    if (!b->reserve(b->ctx, add))
        return false;
    struct cw_dent *e = realloc(d->e, ncap * sizeof *e);
    if (e)
        d->e = e;
    uint32_t *heads = e ? malloc((size_t)ncap * 2 * sizeof *heads) : NULL;
    if (!heads) {
        b->release(b->ctx, add);
        return false;
    }
    free(d->heads);
    d->heads = heads;
    d->cap = ncap;
    d->nheads = ncap * 2;
    dist_rehash(d);
    return true;
}

static int dist_add(struct corr_window *w, const char *value, int64_t t,
                    const struct cw_budget *b)
{
    if (!w->dist) {
        if (!b->reserve(b->ctx, sizeof *w->dist))
            return MAMORI_ENOMEM;
        if (!(w->dist = calloc(1, sizeof *w->dist))) {
            b->release(b->ctx, sizeof *w->dist);
            return MAMORI_ENOMEM;
        }
        w->dist->oldest = w->dist->newest = w->dist->free = NONE;
    }
    struct cw_distinct *d = w->dist;
    uint64_t h = corr_hash(b->key, value, strlen(value));
    if (d->nheads)
        for (uint32_t i = d->heads[h & (d->nheads - 1)]; i != NONE; i = d->e[i].chain)
            if (d->e[i].h == h) {
                d->e[i].seen = t;
                dist_unlink(d, i);
                dist_link_new(d, i);
                return 0;
            }
    if (d->free == NONE && d->used == d->cap && !dist_grow(d, b)) {
        if (!d->n)
            return MAMORI_ENOMEM;
        dist_remove(d, d->oldest); /* full: forget the value seen longest ago */
        (*b->evictions)++;
    }
    uint32_t i = d->free != NONE ? d->free : d->used++;
    if (i == d->free)
        d->free = d->e[i].chain;
    d->e[i] = (struct cw_dent){.h = h, .seen = t};
    uint32_t k = (uint32_t)(h & (d->nheads - 1));
    d->e[i].chain = d->heads[k];
    d->heads[k] = i;
    dist_link_new(d, i);
    d->n++;
    return 0;
}

/* ---- numbers ---- */

/* A field value as a number: decimal or 0x hexadecimal, nothing after it. */
static bool as_number(const char *s, double *v)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (*end || errno || !isfinite(d) || end == s)
        return false;
    *v = d;
    return true;
}

static int samples_add(struct corr_window *w, int64_t t, double v, const struct cw_budget *b)
{
    if (w->mlen == w->mcap &&
        !ring_grow((void **)&w->smp, &w->mcap, &w->mhead, w->mlen, sizeof *w->smp,
                   SG_CORR_MAX_SAMPLES, b)) {
        if (!w->mlen)
            return MAMORI_ENOMEM;
        w->mhead = (w->mhead + 1) % w->mcap; /* full: drop the oldest sample */
        w->mlen--;
        (*b->evictions)++;
    }
    w->smp[(w->mhead + w->mlen++) % w->mcap] = (struct cw_sample){t, v};
    return 0;
}

/* The k-th smallest of v[0..n) (k < n), partially reordering v so that
 * everything after position k is at least as large. */
static double select_kth(double *v, long n, long k)
{
    long lo = 0, hi = n - 1;
    while (hi > lo) {
        double pivot = v[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* Percentile p (0-100) with linear interpolation between closest ranks. */
static double percentile(double *v, uint32_t n, double p)
{
    double pos = p / 100.0 * (n - 1);
    uint32_t k = (uint32_t)pos;
    double frac = pos - k;
    double a = select_kth(v, n, k);
    if (frac <= 0 || k + 1 >= n)
        return a;
    double b = v[k + 1]; /* after selection everything above k is >= a */
    for (uint32_t i = k + 2; i < n; i++)
        if (v[i] < b)
            b = v[i];
    return a + frac * (b - a);
}

/* ---- temporal ---- */

static int temporal_add(struct corr_window *w, const struct corr *c, const struct corr_item *it,
                        int64_t cutoff, const struct cw_budget *b)
{
    if (!w->seen) {
        size_t sz = c->nrefs * sizeof *w->seen;
        if (!b->reserve(b->ctx, sz))
            return MAMORI_ENOMEM;
        if (!(w->seen = malloc(sz))) {
            b->release(b->ctx, sz);
            return MAMORI_ENOMEM;
        }
        for (uint32_t i = 0; i < c->nrefs; i++)
            w->seen[i] = NEVER;
    }
    if (c->type == CT_TEMPORAL)
        w->seen[it->ref] = it->t;
    else if (it->ref == 0)
        w->seen[0] = it->t; /* the latest start is the best start */
    else if (w->seen[it->ref - 1] != NEVER && w->seen[it->ref - 1] >= cutoff &&
             w->seen[it->ref - 1] > w->seen[it->ref])
        w->seen[it->ref] = w->seen[it->ref - 1];
    return 0;
}

/* ---- the window ---- */

int cw_add(struct corr_window *w, const struct corr *c, const struct corr_item *it,
           int64_t cutoff, const struct cw_budget *b)
{
    double v = 0;
    bool numeric = (c->type == CT_VALUE_SUM || c->type == CT_VALUE_AVG ||
                    c->type == CT_VALUE_PERCENTILE) &&
                   as_number(it->value, &v);
    int rc = slots_add(w, c, it, numeric, v, b);
    if (rc == 0 && c->type == CT_VALUE_COUNT && it->value)
        rc = dist_add(w, it->value, it->t, b);
    if (rc == 0 && numeric && c->type == CT_VALUE_PERCENTILE)
        rc = samples_add(w, it->t, v, b);
    if (rc == 0 && (c->type == CT_TEMPORAL || c->type == CT_TEMPORAL_ORDERED))
        rc = temporal_add(w, c, it, cutoff, b);
    if (it->last > w->last)
        w->last = it->last;
    return rc;
}

void cw_expire(struct corr_window *w, const struct corr *c, int64_t cutoff)
{
    while (w->slen && w->slot[w->shead].t0 < cutoff) {
        w->shead = (w->shead + 1) % w->scap;
        w->slen--;
    }
    while (w->mlen && w->smp[w->mhead].t < cutoff) {
        w->mhead = (w->mhead + 1) % w->mcap;
        w->mlen--;
    }
    while (w->dist && w->dist->oldest != NONE && w->dist->e[w->dist->oldest].seen < cutoff)
        dist_remove(w->dist, w->dist->oldest);
}

bool cw_measure(const struct corr_window *w, const struct corr *c, int64_t cutoff,
                double *scratch, double *value, uint64_t *count, int64_t *first)
{
    uint64_t n = 0, nnum = 0;
    double sum = 0;
    int64_t f = INT64_MAX;
    for (uint32_t i = 0; i < w->slen; i++) {
        const struct cw_slot *s = &w->slot[(w->shead + i) % w->scap];
        if (s->t0 < cutoff)
            continue;
        n += s->count;
        nnum += s->nnum;
        sum += s->sum;
        if (s->first < f)
            f = s->first;
    }
    *count = n;
    *first = n ? f : w->last;
    switch (c->type) {
    case CT_EVENT_COUNT:
        *value = (double)n;
        return true;
    case CT_VALUE_COUNT:
        *value = w->dist ? w->dist->n : 0;
        return true;
    case CT_VALUE_SUM:
        *value = sum;
        return true;
    case CT_VALUE_AVG:
        *value = nnum ? sum / (double)nnum : 0;
        return nnum > 0;
    case CT_VALUE_PERCENTILE: {
        uint32_t m = 0;
        for (uint32_t i = 0; i < w->mlen; i++) {
            const struct cw_sample *s = &w->smp[(w->mhead + i) % w->mcap];
            if (s->t >= cutoff)
                scratch[m++] = s->v;
        }
        if (!m)
            return false;
        *value = percentile(scratch, m, c->percentile);
        return true;
    }
    case CT_TEMPORAL: {
        uint32_t seen = 0;
        for (uint32_t i = 0; w->seen && i < c->nrefs; i++)
            seen += w->seen[i] != NEVER && w->seen[i] >= cutoff;
        *value = seen;
        return true;
    }
    case CT_TEMPORAL_ORDERED: {
        uint32_t len = 0;
        for (uint32_t i = 0; w->seen && i < c->nrefs; i++)
            if (w->seen[i] != NEVER && w->seen[i] >= cutoff)
                len = i + 1;
        *value = len;
        return true;
    }
    }
    return false;
}

void cw_free(struct corr_window *w, const struct corr *c, const struct cw_budget *b)
{
    size_t bytes = (size_t)w->scap * sizeof *w->slot + (size_t)w->mcap * sizeof *w->smp;
    free(w->slot);
    free(w->smp);
    if (w->seen) {
        free(w->seen);
        bytes += c->nrefs * sizeof *w->seen;
    }
    if (w->dist) {
        bytes += sizeof *w->dist + dist_bytes(w->dist->cap);
        free(w->dist->e);
        free(w->dist->heads);
        free(w->dist);
    }
    b->release(b->ctx, bytes);
    memset(w, 0, sizeof *w);
    w->last = INT64_MIN;
}

bool corr_cond_holds(const struct corr_cond *cond, double v)
{
    static const unsigned all = (1u << OP_COUNT) - 1;
    bool ok = (cond->has & all) != 0;
    if (cond->has & (1u << OP_GT))
        ok &= v > cond->v[OP_GT];
    if (cond->has & (1u << OP_GTE))
        ok &= v >= cond->v[OP_GTE];
    if (cond->has & (1u << OP_LT))
        ok &= v < cond->v[OP_LT];
    if (cond->has & (1u << OP_LTE))
        ok &= v <= cond->v[OP_LTE];
    if (cond->has & (1u << OP_EQ))
        ok &= v == cond->v[OP_EQ];
    if (cond->has & (1u << OP_NEQ))
        ok &= v != cond->v[OP_NEQ];
    return ok;
}
