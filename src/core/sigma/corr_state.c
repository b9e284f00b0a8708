/* corr_state.c - run-time evaluation of linked correlations.
 *
 * Detection hits enter through sg_corr_feed (rule index + event), in
 * non-decreasing time order; each is routed to the correlations that use the
 * rule, reduced to an item (time, group values, value field) and added to the
 * window of its group. Correlation hits leave through the emit callback and,
 * for chained correlations, re-enter as items of the outer correlation with
 * the outer's group-by values taken from the inner hit's group values.
 *
 * Design notes:
 *  1. A group is one correlation plus one tuple of group-by values; it owns
 *     one window (corr_window.c). Groups live in one hash table and in one
 *     list per correlation, oldest first.
 *  2. Eager correlations (condition without an upper bound: gt, gte, and the
 *     default of temporal types) slide a window [now - timespan, now] over
 *     each group and emit as soon as the condition holds; the group is then
 *     muted until every event of that window has left it (now > fire time +
 *     timespan), so one burst gives one hit per timespan. Their list is in
 *     order of last update; a group whose newest item is older than the
 *     window is dead and freed.
 *  3. Closing correlations (lt, lte, eq, neq: the final count matters) open a
 *     window [t, t + timespan] at a group's first item and decide when it
 *     closes: when time passes its end (any later feed) or at
 *     sg_corr_finish. Their list is in order of opening, hence of closing.
 *     Closings are processed before each feed in global order of closing
 *     time, and their hits enter outer correlations at that time, so every
 *     correlation sees its items in time order.
 *  4. Bounds: at most SG_CORR_MAX_GROUPS groups and SG_CORR_MAX_BYTES of
 *     group state; to make room the oldest unpinned group over all lists is
 *     dropped without emitting and counted. Groups being updated or emitting
 *     are pinned, so a chain never frees what it is still reading. The hash
 *     heads (at most 2^17 pointers) are outside the byte budget. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/corr_int.h"

#define HEADS_MIN 1024u
#define HEADS_MAX (1u << 17)

struct grp {
    struct grp *hnext;       /* hash chain */
    struct grp *prev, *next; /* the correlation's list */
    uint64_t hash;
    uint32_t corr;
    int pin;
    int64_t key_t;      /* eager: last update; closing: window start */
    int64_t mute_until; /* eager: no hit while now <= mute_until */
    bool muted;
    uint32_t nval;
    const char **vals; /* group values, cut to SG_CORR_MAX_VALUE bytes */
    size_t bytes;      /* accounted size of this struct and its values */
    struct corr_window w;
};

struct glist {
    struct grp *head, *tail;
};

struct sg_corr_state {
    const struct sg_corrset *cs;
    struct glist *lists; /* per correlation */
    struct grp **heads;
    uint32_t nheads, ngroups;
    size_t bytes;
    uint64_t evictions;
    int64_t now;
    bool started;
    double *scratch; /* SG_CORR_MAX_SAMPLES, for percentiles */
    uint64_t key[2]; /* hash key: attacker-chosen values cannot be made to collide */
    struct cw_budget budget;
    sg_corr_emit_fn emit;
    void *emit_ctx;
};

static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    return a < INT64_MIN + 1 + b ? INT64_MIN + 1 : a - b;
}

/* ---- groups: hashing, lists, freeing ---- */

static size_t cut_len(const char *s)
{
    size_t n = strlen(s);
    if (n <= SG_CORR_MAX_VALUE)
        return n;
    n = SG_CORR_MAX_VALUE;
    while (n && ((unsigned char)s[n] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
        n--;
    return n;
}

static uint64_t group_hash(const struct sg_corr_state *st, uint32_t corr,
                           const char *const *vals, uint32_t n)
{
    uint64_t parts[SG_CORR_MAX_GROUP_BY + 1];
    parts[0] = corr;
    for (uint32_t i = 0; i < n; i++)
        parts[i + 1] = corr_hash(st->key, vals[i], cut_len(vals[i]));
    return corr_hash(st->key, parts, (n + 1) * sizeof *parts);
}

static bool group_is(const struct grp *g, uint32_t corr, const char *const *vals, uint32_t n)
{
    if (g->corr != corr || g->nval != n)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = cut_len(vals[i]);
        if (strlen(g->vals[i]) != len || memcmp(g->vals[i], vals[i], len))
            return false;
    }
    return true;
}

static void list_unlink(struct glist *l, struct grp *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        l->head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    else
        l->tail = g->prev;
    g->prev = g->next = NULL;
}

static void list_append(struct glist *l, struct grp *g)
{
    g->prev = l->tail;
    g->next = NULL;
    if (l->tail)
        l->tail->next = g;
    else
        l->head = g;
    l->tail = g;
}

static void hash_unlink(struct sg_corr_state *st, struct grp *g)
{
    struct grp **p = &st->heads[g->hash & (st->nheads - 1)];
    while (*p && *p != g)
        p = &(*p)->hnext;
    if (*p)
        *p = g->hnext;
    g->hnext = NULL;
}

/* Takes g out of the table and its list; it can no longer be found or evicted. */
static void group_detach(struct sg_corr_state *st, struct grp *g)
{
    hash_unlink(st, g);
    list_unlink(&st->lists[g->corr], g);
}

static void group_free(struct sg_corr_state *st, struct grp *g)
{
    cw_free(&g->w, &st->cs->c[g->corr], &st->budget);
    st->bytes -= g->bytes;
    st->ngroups--;
    free(g);
}

/* Drops the oldest unpinned group of all lists; false when none can go. */
static bool evict_oldest(struct sg_corr_state *st)
{
    struct grp *victim = NULL;
    for (uint32_t i = 0; i < st->cs->n; i++) {
        struct grp *g = st->lists[i].head;
        while (g && g->pin)
            g = g->next;
        if (g && (!victim || g->key_t < victim->key_t))
            victim = g;
    }
    if (!victim)
        return false;
    group_detach(st, victim);
    group_free(st, victim);
    st->evictions++;
    return true;
}

static bool budget_reserve(void *ctx, size_t bytes)
{
    struct sg_corr_state *st = ctx;
    while (st->bytes + bytes > SG_CORR_MAX_BYTES)
        if (!evict_oldest(st))
            return false;
    st->bytes += bytes;
    return true;
}

static void budget_release(void *ctx, size_t bytes)
{
    struct sg_corr_state *st = ctx;
    st->bytes -= bytes;
}

static void heads_grow(struct sg_corr_state *st)
{
    if (st->ngroups < st->nheads || st->nheads >= HEADS_MAX)
        return;
    uint32_t n = st->nheads * 2;
    struct grp **h = calloc(n, sizeof *h);
    if (!h)
        return; /* longer chains, still correct */
    for (uint32_t i = 0; i < st->nheads; i++)
        for (struct grp *g = st->heads[i], *next; g; g = next) {
            next = g->hnext;
            g->hnext = h[g->hash & (n - 1)];
            h[g->hash & (n - 1)] = g;
        }
    free(st->heads);
    st->heads = h;
    st->nheads = n;
}

static struct grp *group_get(struct sg_corr_state *st, uint32_t corr, const char *const *vals,
                             uint32_t n, int64_t t)
{
    uint64_t h = group_hash(st, corr, vals, n);
    for (struct grp *g = st->heads[h & (st->nheads - 1)]; g; g = g->hnext)
        if (g->hash == h && group_is(g, corr, vals, n))
            return g;
    size_t bytes = sizeof(struct grp) + n * sizeof(char *);
    for (uint32_t i = 0; i < n; i++)
        bytes += cut_len(vals[i]) + 1;
    while (st->ngroups >= SG_CORR_MAX_GROUPS)
        if (!evict_oldest(st))
            return NULL;
    if (!budget_reserve(st, bytes))
        return NULL;
    struct grp *g = calloc(1, bytes);
    if (!g) {
        st->bytes -= bytes;
        return NULL;
    }
    g->hash = h;
    g->corr = corr;
    g->key_t = t;
    g->nval = n;
    g->bytes = bytes;
    g->w.last = INT64_MIN;
    g->vals = (const char **)(g + 1);
    char *p = (char *)(g->vals + n);
    for (uint32_t i = 0; i < n; i++) {
        size_t len = cut_len(vals[i]);
        memcpy(p, vals[i], len);
        p[len] = 0;
        g->vals[i] = p;
        p += len + 1;
    }
    st->ngroups++;
    heads_grow(st);
    g->hnext = st->heads[h & (st->nheads - 1)];
    st->heads[h & (st->nheads - 1)] = g;
    list_append(&st->lists[corr], g);
    return g;
}

/* ---- items and hits ---- */

static const char *event_field(const struct sg_event *ev, const char *name)
{
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct sg_field *f = &ev->fields[i];
        if (f->name.s && !strcmp(f->name.s, name))
            return f->value.s;
    }
    return NULL;
}

static void process(struct sg_corr_state *st, uint32_t ci, const char *const *vals,
                    const struct corr_item *it);

/* Emits g's hit and feeds the correlations built on this one. */
static void emit_hit(struct sg_corr_state *st, uint32_t ci, const struct grp *g, double value,
                     uint64_t count, int64_t first, int64_t t)
{
    const struct corr *c = &st->cs->c[ci];
    struct sg_corr_hit hit = {
        .corr_idx = ci, .first_ns = first, .last_ns = g->w.last, .count = count,
        .value = value, .group_values = g->vals, .ngroup = g->nval,
    };
    if (!c->hidden && st->emit)
        st->emit(st->emit_ctx, &hit);
    for (uint32_t u = 0; u < c->nusers; u++) {
        const struct corr *outer = &st->cs->c[c->users[u].corr];
        const struct corr_ref *ref = &outer->refs[c->users[u].ref];
        const char *vals[SG_CORR_MAX_GROUP_BY];
        struct corr_item it = {.ref = c->users[u].ref, .t = t, .first = first,
                               .last = hit.last_ns};
        for (uint32_t j = 0; j < outer->info.ngroup_by; j++) {
            vals[j] = "";
            for (uint32_t k = 0; k < c->info.ngroup_by; k++)
                if (!strcmp(ref->gb_field[j], c->group_by[k]))
                    vals[j] = g->vals[k];
        }
        for (uint32_t k = 0; ref->value_field && k < c->info.ngroup_by; k++)
            if (!strcmp(ref->value_field, c->group_by[k]))
                it.value = g->vals[k];
        process(st, c->users[u].corr, vals, &it);
    }
}

static void process(struct sg_corr_state *st, uint32_t ci, const char *const *vals,
                    const struct corr_item *it)
{
    const struct corr *c = &st->cs->c[ci];
    struct grp *g = group_get(st, ci, vals, c->info.ngroup_by, it->t);
    if (!g) {
        st->evictions++; /* no room even after eviction: the item is lost */
        return;
    }
    g->pin++;
    if (c->closing) {
        if (cw_add(&g->w, c, it, g->key_t, &st->budget) < 0)
            st->evictions++;
        g->pin--;
        return;
    }
    int64_t cutoff = sat_sub(it->t, c->span_ns);
    cw_expire(&g->w, c, cutoff);
    if (cw_add(&g->w, c, it, cutoff, &st->budget) < 0)
        st->evictions++;
    g->key_t = it->t;
    list_unlink(&st->lists[ci], g);
    list_append(&st->lists[ci], g);
    double value;
    uint64_t count;
    int64_t first;
    if ((!g->muted || it->t > g->mute_until) &&
        cw_measure(&g->w, c, cutoff, st->scratch, &value, &count, &first) &&
        corr_cond_holds(&c->cond, value)) {
        g->muted = true;
        g->mute_until = sat_add(it->t, c->span_ns);
        emit_hit(st, ci, g, value, count, first, it->t);
    }
    g->pin--;
}

/* Decides a closing correlation's window, emits it if the condition holds,
 * and frees the group. */
static void close_group(struct sg_corr_state *st, struct grp *g)
{
    const struct corr *c = &st->cs->c[g->corr];
    group_detach(st, g);
    double value;
    uint64_t count;
    int64_t first;
    if (cw_measure(&g->w, c, g->key_t, st->scratch, &value, &count, &first) &&
        corr_cond_holds(&c->cond, value))
        emit_hit(st, g->corr, g, value, count, first, sat_add(g->key_t, c->span_ns));
    group_free(st, g);
}

/* Moves time to t: closes the windows that end before t, in order of their
 * end, and frees the eager groups whose window is empty. */
static void advance(struct sg_corr_state *st, int64_t t)
{
    const struct sg_corrset *cs = st->cs;
    for (;;) {
        struct grp *first = NULL;
        int64_t first_end = INT64_MAX;
        for (uint32_t i = 0; i < cs->n; i++) {
            struct grp *g = st->lists[i].head;
            if (!cs->c[i].closing || !g)
                continue;
            int64_t end = sat_add(g->key_t, cs->c[i].span_ns);
            if (end < t && (!first || end < first_end)) {
                first = g;
                first_end = end;
            }
        }
        if (!first)
            break;
        close_group(st, first);
    }
    for (uint32_t i = 0; i < cs->n; i++) {
        if (cs->c[i].closing)
            continue;
        int64_t cutoff = sat_sub(t, cs->c[i].span_ns);
        struct grp *g;
        while ((g = st->lists[i].head) && !g->pin && g->key_t < cutoff) {
            group_detach(st, g);
            group_free(st, g);
        }
    }
}

/* ---- public ---- */

struct sg_corr_state *sg_corr_state_new(const struct sg_corrset *cs)
{
    if (!cs)
        return NULL;
    struct sg_corr_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cs = cs;
    st->lists = calloc(cs->n ? cs->n : 1, sizeof *st->lists);
    st->heads = calloc(HEADS_MIN, sizeof *st->heads);
    st->scratch = malloc(SG_CORR_MAX_SAMPLES * sizeof *st->scratch);
    st->nheads = HEADS_MIN;
    corr_hash_key(st->key);
    st->budget = (struct cw_budget){budget_reserve, budget_release, st, &st->evictions, st->key};
    if (!st->lists || !st->heads || !st->scratch) {
        sg_corr_state_free(st);
        return NULL;
    }
    return st;
}

static void drop_all(struct sg_corr_state *st)
{
    for (uint32_t i = 0; i < st->cs->n; i++)
        while (st->lists[i].head) {
            struct grp *g = st->lists[i].head;
            group_detach(st, g);
            group_free(st, g);
        }
}

void sg_corr_state_free(struct sg_corr_state *st)
{
    if (!st)
        return;
    if (st->lists && st->heads)
        drop_all(st);
    free(st->lists);
    free(st->heads);
    free(st->scratch);
    free(st);
}

void sg_corr_feed(struct sg_corr_state *st, uint32_t rule_idx, const struct sg_event *ev,
                  sg_corr_emit_fn emit, void *ctx)
{
    if (!st || !ev || ev->time_ns == SG_TIME_UNKNOWN)
        return;
    const struct sg_corrset *cs = st->cs;
    uint32_t lo = 0, hi = cs->nuses;
    while (lo < hi) { /* first use of rule_idx */
        uint32_t mid = lo + (hi - lo) / 2;
        if (cs->uses[mid].rule < rule_idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= cs->nuses || cs->uses[lo].rule != rule_idx)
        return;
    st->emit = emit;
    st->emit_ctx = ctx;
    int64_t t = st->started && ev->time_ns < st->now ? st->now : ev->time_ns;
    advance(st, t);
    st->now = t;
    st->started = true;
    for (uint32_t u = lo; u < cs->nuses && cs->uses[u].rule == rule_idx; u++) {
        const struct corr *c = &cs->c[cs->uses[u].corr];
        const struct corr_ref *ref = &c->refs[cs->uses[u].ref];
        const char *vals[SG_CORR_MAX_GROUP_BY];
        for (uint32_t j = 0; j < c->info.ngroup_by; j++) {
            vals[j] = event_field(ev, ref->gb_field[j]);
            if (!vals[j])
                vals[j] = "";
        }
        struct corr_item it = {.ref = cs->uses[u].ref, .t = t, .first = t, .last = t,
                               .value = ref->value_field ? event_field(ev, ref->value_field)
                                                         : NULL};
        process(st, cs->uses[u].corr, vals, &it);
    }
}

void sg_corr_finish(struct sg_corr_state *st, sg_corr_emit_fn emit, void *ctx)
{
    if (!st)
        return;
    st->emit = emit;
    st->emit_ctx = ctx;
    advance(st, INT64_MAX);
    drop_all(st);
    st->started = false;
    st->now = 0;
}

uint64_t sg_corr_evictions(const struct sg_corr_state *st)
{
    return st ? st->evictions : 0;
}
