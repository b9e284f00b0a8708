/* compile.c - loaded rules + mapping -> the matcher's lookup tables.
 *
 * Data enters as the ruleset's rules (logsource and detection node) and the
 * log-source mapping; it leaves as buckets: for each channel named by the
 * mapping and each event id its sources name, the rules that apply to such
 * an event (ascending rule index) with their node, and the derived fields
 * to compute for it. A rule whose source adds conditions (provider, field
 * equalities such as type: EXECVE) gets them AND-ed before its detection.
 *
 *   event (channel, id) -> chans[channel].by_eid[id]  rules for (channel,id),
 *                                                     (channel,any), (*,any)
 *                       -> chans[channel].any         id unknown or not named
 *                       -> star                       channel not named
 *
 * Then sg_corr_link resolves correlation references. After sg_compile the
 * ruleset is read-only. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"

#define STAR UINT32_MAX
#define ANY_EID UINT32_MAX

struct tup {
    uint32_t chan, eid, rule, guard;
    bool has_guard;
};

struct cstate {
    struct sg_ruleset *rs;
    struct sg_build b;
    struct tup *t;
    uint32_t nt, capt;
    const char **chname;
    uint32_t capch;
};

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static long chan_index(struct cstate *c, const char *name)
{
    if (!strcmp(name, "*"))
        return STAR;
    struct sg_ruleset *rs = c->rs;
    long i = sg_htab_get(&rs->chans, name, strlen(name));
    if (i >= 0)
        return i;
    if (sg_grow((void **)&c->chname, &c->capch, rs->nchan + 1, sizeof *c->chname) < 0 ||
        sg_htab_put(&rs->chans, name, strlen(name), rs->nchan) < -1)
        return MAMORI_ENOMEM;
    c->chname[rs->nchan] = name;
    return rs->nchan++;
}

static int add_tup(struct cstate *c, struct tup t)
{
    if (sg_grow((void **)&c->t, &c->capt, c->nt + 1, sizeof *c->t) < 0)
        return MAMORI_ENOMEM;
    c->t[c->nt++] = t;
    return 0;
}

static long guard_of(struct cstate *c, const struct sg_sel *s)
{
    uint32_t kids[65], nk = 0;
    c->b.nodes = 0;
    if (s->provider) {
        long e = sg_eq_expr(&c->b, c->rs->f_provider, s->provider);
        if (e < 0)
            return e;
        kids[nk++] = (uint32_t)e;
    }
    for (uint32_t i = 0; i < s->neq && nk < 65; i++) {
        uint32_t f = sg_field_intern(c->rs, s->eqf[i], strlen(s->eqf[i]));
        long e = f == UINT32_MAX ? MAMORI_ENOMEM : sg_eq_expr(&c->b, f, s->eqv[i]);
        if (e < 0)
            return e;
        kids[nk++] = (uint32_t)e;
    }
    for (uint32_t i = 0; i < s->nex && nk < 65; i++) {
        uint32_t f = sg_field_intern(c->rs, s->exf[i], strlen(s->exf[i]));
        long e = f == UINT32_MAX ? MAMORI_ENOMEM : sg_exists_expr(&c->b, f);
        if (e < 0)
            return e;
        kids[nk++] = (uint32_t)e;
    }
    if (nk == 0)
        return -1; /* no guard */
    return sg_expr_list(&c->b, SG_E_AND, kids, nk, 0);
}

static int place_rule(struct cstate *c, uint32_t ri)
{
    const struct sg_rule_info *in = &c->rs->rules[ri].info;
    const struct sg_mapping *mp = &c->rs->map;
    /* exact (product, category, service); else without the service, else
     * without the category */
    for (int pass = 0; pass < 3; pass++) {
        if ((pass == 1 && !(in->service && in->category)) || (pass == 2 && !(in->service && in->category)))
            continue;
        bool found = false;
        for (uint32_t i = 0; i < mp->nsrc; i++) {
            const struct sg_lsrc *l = &mp->src[i];
            if (!same(l->product, in->product) ||
                !same(l->category, pass == 2 ? NULL : in->category) ||
                !same(l->service, pass == 1 ? NULL : in->service))
                continue;
            found = true;
            for (uint32_t s = 0; s < l->nsels; s++) {
                const struct sg_sel *sel = &l->sels[s];
                long ch = chan_index(c, sel->channel);
                long g = guard_of(c, sel);
                if (ch < 0)
                    return MAMORI_ENOMEM;
                if (g < -1)
                    return (int)g;
                struct tup t = {.chan = (uint32_t)ch, .rule = ri, .guard = g >= 0 ? (uint32_t)g : 0,
                                .has_guard = g >= 0, .eid = ANY_EID};
                if (!sel->neids && add_tup(c, t) < 0)
                    return MAMORI_ENOMEM;
                for (uint32_t e = 0; e < sel->neids; e++) {
                    t.eid = sel->eids[e];
                    if (add_tup(c, t) < 0)
                        return MAMORI_ENOMEM;
                }
            }
        }
        if (found)
            return 0;
    }
    c->rs->stats.unmapped++; /* no source: the rule loads, is counted, never matches */
    return 0;
}

static int cmp_tup_rule(const void *a, const void *b)
{
    const struct tup *x = a, *y = b;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* rules of the tuples matching (chan, eid) or (chan, any) or (*, any) */
static int fill_bucket(struct cstate *c, uint32_t chan, uint32_t eid, struct sg_bucket *bk)
{
    struct tup *sel = malloc((c->nt + 1) * sizeof *sel);
    if (!sel)
        return MAMORI_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->nt; i++) {
        const struct tup *t = &c->t[i];
        bool hit = (t->chan == chan && chan != STAR && (t->eid == eid || t->eid == ANY_EID)) ||
                   (t->chan == STAR && t->eid == ANY_EID);
        if (hit)
            sel[n++] = *t;
    }
    qsort(sel, n, sizeof *sel, cmp_tup_rule);
    struct sg_bent *ents = n ? sg_arena_alloc(&c->rs->arena, n * sizeof *ents) : NULL;
    uint32_t ne = 0;
    int rc = n && !ents ? MAMORI_ENOMEM : 0;
    for (uint32_t i = 0; i < n && rc == 0;) {
        uint32_t j = i, kids[64], nk = 0;
        bool open = false;
        for (; j < n && sel[j].rule == sel[i].rule; j++) {
            if (!sel[j].has_guard)
                open = true;
            else if (nk < 64)
                kids[nk++] = sel[j].guard;
        }
        uint32_t root = c->rs->rules[sel[i].rule].root;
        long e = root;
        c->b.nodes = 0;
        if (!open) {
            long g = sg_expr_list(&c->b, SG_E_OR, kids, nk, 0);
            uint32_t two[2] = {(uint32_t)g, root};
            e = g < 0 ? g : sg_expr_list(&c->b, SG_E_AND, two, 2, 0);
        }
        if (e < 0)
            rc = (int)e;
        else
            ents[ne++] = (struct sg_bent){.rule = sel[i].rule, .expr = (uint32_t)e};
        i = j;
    }
    free(sel);
    bk->ents = ents;
    bk->nents = ne;
    return rc;
}

static bool eid_in(const uint32_t *e, uint32_t n, uint32_t v)
{
    for (uint32_t i = 0; i < n; i++)
        if (e[i] == v)
            return true;
    return false;
}

/* derived fields for (chan, eid); eid ANY_EID: only entries without ids */
static int fill_derived(struct cstate *c, uint32_t chan, uint32_t eid, struct sg_bucket *bk)
{
    struct sg_ruleset *rs = c->rs;
    uint32_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        struct sg_cdfield *out = NULL;
        if (pass == 1) {
            if (!n)
                return 0;
            out = sg_arena_alloc(&rs->arena, n * sizeof *out);
            if (!out)
                return MAMORI_ENOMEM;
            n = 0;
        }
        for (uint32_t i = 0; i < rs->map.nder; i++) {
            const struct sg_derive *d = &rs->map.der[i];
            long ch = sg_htab_get(&rs->chans, d->channel, strlen(d->channel));
            if (ch != (long)chan)
                continue;
            if (d->neids && (eid == ANY_EID || !eid_in(d->eids, d->neids, eid)))
                continue;
            for (uint32_t f = 0; f < d->nf; f++, n++) {
                if (!out)
                    continue;
                const struct sg_dfield *df = &d->f[f];
                struct sg_cdfield *cd = &out[n];
                cd->d = df;
                cd->out = sg_field_intern(rs, df->name, strlen(df->name));
                for (uint32_t s = 0; s < df->nsrc && s < 4; s++)
                    cd->src[s] = sg_field_intern(rs, df->src[s], strlen(df->src[s]));
            }
        }
        if (pass == 1) {
            bk->der = out;
            bk->nder = n;
        }
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int build_chan(struct cstate *c, uint32_t ci)
{
    struct sg_ruleset *rs = c->rs;
    struct sg_chan *ch = &rs->chan[ci];
    uint32_t n = 0, cap = 0, *e = NULL;
    for (uint32_t i = 0; i < c->nt; i++) {
        if (c->t[i].chan == ci && c->t[i].eid != ANY_EID) {
            if (sg_grow((void **)&e, &cap, n + 1, sizeof *e) < 0)
                goto oom;
            e[n++] = c->t[i].eid;
        }
    }
    for (uint32_t i = 0; i < rs->map.nder; i++) {
        const struct sg_derive *d = &rs->map.der[i];
        if (sg_htab_get(&rs->chans, d->channel, strlen(d->channel)) != (long)ci)
            continue;
        for (uint32_t k = 0; k < d->neids; k++) {
            if (sg_grow((void **)&e, &cap, n + 1, sizeof *e) < 0)
                goto oom;
            e[n++] = d->eids[k];
        }
    }
    if (n)
        qsort(e, n, sizeof *e, cmp_u32);
    uint32_t u = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!u || e[u - 1] != e[i])
            e[u++] = e[i];
    ch->eids = u ? sg_arena_alloc(&rs->arena, u * sizeof *ch->eids) : NULL;
    ch->by_eid = u ? sg_arena_alloc(&rs->arena, u * sizeof *ch->by_eid) : NULL;
    if (u && (!ch->eids || !ch->by_eid))
        goto oom;
    if (u)
        memcpy(ch->eids, e, u * sizeof *e);
    ch->neids = u;
    free(e);
    for (uint32_t i = 0; i < u; i++)
        if (fill_bucket(c, ci, ch->eids[i], &ch->by_eid[i]) < 0 ||
            fill_derived(c, ci, ch->eids[i], &ch->by_eid[i]) < 0)
            return MAMORI_ENOMEM;
    if (fill_bucket(c, ci, ANY_EID - 1, &ch->any) < 0 || fill_derived(c, ci, ANY_EID, &ch->any) < 0)
        return MAMORI_ENOMEM;
    return 0;
oom:
    free(e);
    return MAMORI_ENOMEM;
}

int sg_build_tables(struct sg_ruleset *rs, sg_diag_fn diag, void *ctx)
{
    struct cstate c = {.rs = rs, .b = {.rs = rs, .file = "(compile)", .diag = diag, .ctx = ctx}};
    int rc = 0;
    rs->f_channel = sg_field_intern(rs, "Channel", 7);
    rs->f_eventid = sg_field_intern(rs, "EventID", 7);
    rs->f_provider = sg_field_intern(rs, "Provider_Name", 13);
    rs->f_computer = sg_field_intern(rs, "Computer", 8);
    if (rs->f_channel == UINT32_MAX || rs->f_eventid == UINT32_MAX ||
        rs->f_provider == UINT32_MAX || rs->f_computer == UINT32_MAX)
        rc = MAMORI_ENOMEM;
    /* every channel the mapping names gets a slot, derived-only ones too */
    for (uint32_t i = 0; rc == 0 && i < rs->map.nder; i++)
        if (chan_index(&c, rs->map.der[i].channel) < 0)
            rc = MAMORI_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < rs->nrules; i++)
        rc = place_rule(&c, i);
    if (rc == 0 && rs->nchan) {
        rs->chan = calloc(rs->nchan, sizeof *rs->chan);
        if (!rs->chan)
            rc = MAMORI_ENOMEM;
    }
    for (uint32_t i = 0; rc == 0 && i < rs->nchan; i++)
        rc = build_chan(&c, i);
    if (rc == 0)
        rc = fill_bucket(&c, STAR, ANY_EID, &rs->star);
    free(c.t);
    free(c.chname);
    free(c.b.fields);
    if (rc < 0 && diag)
        diag(ctx, "(compile)", 0, 0, c.b.err[0] ? c.b.err : "out of memory while compiling the rules");
    return rc;
}

void sg_tables_free(struct sg_ruleset *rs)
{
    sg_lit_free(rs);
    free(rs->chan); /* buckets live in the arena */
    rs->chan = NULL;
    rs->nchan = 0;
}

int sg_compile(struct sg_ruleset *rs, sg_diag_fn diag, void *ctx)
{
    if (rs->compiled)
        return MAMORI_EINVAL;
    int rc = sg_build_tables(rs, diag, ctx); /* reports its own failure */
    if (rc < 0)
        return rc;
    if ((rc = sg_lit_build(rs)) == 0)
        rc = sg_anchor_build(rs);
    if (rc < 0) {
        if (diag)
            diag(ctx, "(compile)", 0, 0, "out of memory while building the literal matchers");
        return rc;
    }
    rc = sg_corr_link(rs->corr, rs, diag, ctx);
    if (rc > 0) { /* correlations rejected at link time: reported by corr, counted here */
        uint32_t r = (uint32_t)rc > rs->stats.correlations ? rs->stats.correlations : (uint32_t)rc;
        rs->stats.correlations -= r;
        rs->stats.rejected += r;
    }
    rs->compiled = true;
    return rc < 0 ? rc : 0;
}
