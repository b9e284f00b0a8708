/* anchor.c - which rules of a bucket an event can wake: their required
 * literal predicates.
 *
 * Data enters after the literal groups are built (hsscan.c) as each rule's
 * detection node and the group of each predicate; it leaves in each bucket
 * (compile.c) as an index. A rule whose detection cannot hold unless one of
 * a small set of grouped literal predicates holds (its anchors) is listed
 * under each of them; the other rules of the bucket are open (always
 * evaluated). At match time (match.c) the groups the bucket's anchors use
 * are scanned first, and only the open rules and the rules listed under a
 * predicate that fired are evaluated: a rule left out has a necessary
 * condition that is false, so the hits are the same.
 *
 * need(e), a set S of grouped predicates with e => (some p of S holds), or
 * none:
 *   PRED p           {p} when p is in a literal group, else none
 *   AND              the cheapest set among its kids' (none when no kid has one)
 *   OR, ATLEAST k>=1 the union of its kids' sets (none when a kid has none)
 *   NOT, TRUE        none;   FALSE: {} (the rule never holds)
 * It is taken on the rule's detection alone (the bucket's source guard only
 * adds conditions). Cost of a set: the sum over its predicates of how often
 * such a literal is expected to occur (short substrings often, equalities
 * and long literals rarely). Bounds: a set holds at most SG_ANCHOR_MAX
 * predicates (a larger union: none); recursion follows the node depth that
 * evaluation follows too. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"

#define SG_ANCHOR_MAX 256u
#define NONE 0
#define SOME 1

static uint32_t pred_cost(const struct sg_pred *p)
{
    if (p->op == SG_OP_EQ)
        return 1;
    return p->nlen >= 6 ? 1 : p->nlen >= 4 ? 4 : 32;
}

static uint64_t set_cost(const struct sg_ruleset *rs, const uint32_t *s, uint32_t n)
{
    uint64_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += pred_cost(&rs->preds[s[i]]);
    return c;
}

/* The anchors of node ei into out (room SG_ANCHOR_MAX): SOME with *n set,
 * NONE, or MAMORI_ENOMEM. */
static int need(const struct sg_ruleset *rs, uint32_t ei, uint32_t *out, uint32_t *n)
{
    const struct sg_expr *e = &rs->exprs[ei];
    const uint32_t *k = rs->kids ? rs->kids + e->a : NULL; /* no list nodes at all: NULL */
    *n = 0;
    switch (e->kind) {
    case SG_E_PRED:
        if (!rs->preds[e->a].grp)
            return NONE;
        out[(*n)++] = e->a;
        return SOME;
    case SG_E_FALSE: return SOME; /* empty: never holds */
    case SG_E_AND: {
        uint32_t *tmp = malloc(SG_ANCHOR_MAX * sizeof *tmp), tn;
        if (!tmp)
            return MAMORI_ENOMEM;
        int found = NONE;
        uint64_t best = 0;
        for (uint32_t i = 0; i < e->n; i++) {
            int r = need(rs, k[i], tmp, &tn);
            if (r < 0) {
                free(tmp);
                return r;
            }
            uint64_t c = r == SOME ? set_cost(rs, tmp, tn) : 0;
            if (r == SOME && (found == NONE || c < best)) {
                found = SOME;
                best = c;
                memcpy(out, tmp, tn * sizeof *tmp);
                *n = tn;
            }
        }
        free(tmp);
        return found;
    }
    case SG_E_ATLEAST:
        if (e->k == 0)
            return NONE;
        __attribute__((fallthrough)); /* at least one kid must hold */
    case SG_E_OR: {
        uint32_t *tmp = malloc(SG_ANCHOR_MAX * sizeof *tmp), tn;
        if (!tmp)
            return MAMORI_ENOMEM;
        int r = SOME;
        for (uint32_t i = 0; i < e->n && r == SOME; i++) {
            r = need(rs, k[i], tmp, &tn);
            if (r == SOME && *n + tn > SG_ANCHOR_MAX)
                r = NONE;
            if (r == SOME) {
                memcpy(out + *n, tmp, tn * sizeof *tmp);
                *n += tn;
            }
        }
        free(tmp);
        return r;
    }
    default: return NONE; /* NOT, TRUE */
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct anchors { /* per rule: its anchor set, or none */
    uint32_t *off; /* nrules + 1; set of rule r: set[off[r]..off[r+1]) */
    uint32_t *set;
    bool *none;
};

static int bucket_index(struct sg_ruleset *rs, const struct anchors *a, struct sg_bucket *bk)
{
    uint32_t nopen = 0, npairs = 0;
    for (uint32_t i = 0; i < bk->nents; i++) {
        uint32_t r = bk->ents[i].rule;
        if (a->none[r])
            nopen++;
        else
            npairs += a->off[r + 1] - a->off[r];
    }
    uint64_t *pairs = malloc((npairs + 1) * sizeof *pairs);
    if (!pairs)
        return MAMORI_ENOMEM;
    uint32_t *open = nopen ? sg_arena_alloc(&rs->arena, nopen * sizeof *open) : NULL;
    if (nopen && !open)
        goto oom;
    nopen = npairs = 0;
    for (uint32_t i = 0; i < bk->nents; i++) {
        uint32_t r = bk->ents[i].rule;
        if (a->none[r])
            open[nopen++] = i;
        else
            for (uint32_t j = a->off[r]; j < a->off[r + 1]; j++)
                pairs[npairs++] = (uint64_t)a->set[j] << 32 | i;
    }
    qsort(pairs, npairs, sizeof *pairs, cmp_pair);
    uint32_t np = 0, ng = 0;
    for (uint32_t i = 0; i < npairs; i++)
        if (!i || pairs[i] >> 32 != pairs[i - 1] >> 32)
            np++;
    uint32_t *apred = np ? sg_arena_alloc(&rs->arena, np * sizeof *apred) : NULL;
    uint32_t *aoff = sg_arena_alloc(&rs->arena, (np + 1) * sizeof *aoff);
    uint32_t *aent = npairs ? sg_arena_alloc(&rs->arena, npairs * sizeof *aent) : NULL;
    uint32_t *groups = np ? sg_arena_alloc(&rs->arena, np * sizeof *groups) : NULL;
    if ((np && (!apred || !groups)) || !aoff || (npairs && !aent))
        goto oom;
    np = 0;
    for (uint32_t i = 0; i < npairs; i++) {
        uint32_t p = (uint32_t)(pairs[i] >> 32);
        if (!i || p != apred[np - 1]) {
            aoff[np] = i;
            apred[np++] = p;
            groups[ng++] = rs->preds[p].grp - 1;
        }
        aent[i] = (uint32_t)pairs[i];
    }
    aoff[np] = npairs;
    if (ng)
        qsort(groups, ng, sizeof *groups, cmp_u32);
    uint32_t u = 0;
    for (uint32_t i = 0; i < ng; i++)
        if (!u || groups[u - 1] != groups[i])
            groups[u++] = groups[i];
    free(pairs);
    bk->open = open;
    bk->nopen = nopen;
    bk->apred = apred;
    bk->aoff = aoff;
    bk->aent = aent;
    bk->napred = np;
    bk->groups = groups;
    bk->ngroups = u;
    return 0;
oom:
    free(pairs);
    return MAMORI_ENOMEM;
}

int sg_anchor_build(struct sg_ruleset *rs)
{
    struct anchors a = {.off = calloc(rs->nrules + 1, sizeof *a.off),
                        .none = calloc(rs->nrules + 1, sizeof *a.none)};
    uint32_t *tmp = malloc(SG_ANCHOR_MAX * sizeof *tmp), cap = 0, used = 0;
    int rc = a.off && a.none && tmp ? 0 : MAMORI_ENOMEM;
    for (uint32_t r = 0; rc == 0 && r < rs->nrules; r++) {
        uint32_t n = 0;
        int k = need(rs, rs->rules[r].root, tmp, &n);
        if (k < 0) {
            rc = k;
            break;
        }
        a.none[r] = k == NONE;
        if (k == SOME) {
            qsort(tmp, n, sizeof *tmp, cmp_u32);
            uint32_t u = 0;
            for (uint32_t i = 0; i < n; i++)
                if (!u || tmp[u - 1] != tmp[i])
                    tmp[u++] = tmp[i];
            if (sg_grow((void **)&a.set, &cap, used + u, sizeof *a.set) < 0) {
                rc = MAMORI_ENOMEM;
                break;
            }
            memcpy(a.set + used, tmp, u * sizeof *tmp);
            used += u;
        }
        a.off[r + 1] = used;
    }
    for (uint32_t c = 0; rc == 0 && c < rs->nchan; c++) {
        struct sg_chan *ch = &rs->chan[c];
        for (uint32_t i = 0; rc == 0 && i < ch->neids; i++)
            rc = bucket_index(rs, &a, &ch->by_eid[i]);
        if (rc == 0)
            rc = bucket_index(rs, &a, &ch->any);
    }
    if (rc == 0)
        rc = bucket_index(rs, &a, &rs->star);
    free(tmp);
    free(a.off);
    free(a.none);
    free(a.set);
    return rc;
}
