/* litscan.c - multi-pattern literal matching per field (Aho-Corasick).
 *
 * Data enters at sg_compile as the ruleset's predicates: every
 * case-insensitive equality, substring, prefix and suffix test of one field
 * (or of the keyword pseudo-field) becomes a pattern of that field's
 * automaton. It leaves at match time as predicate results: the first time
 * an event needs one predicate of a group, one pass over each value of the
 * field (folded) finds every pattern occurrence and marks the predicates
 * that hold; the others of the group are false for this event without any
 * further search. This replaces one memmem per predicate with one scan per
 * field value, whatever the number of rules.
 *
 * The automaton is dense over byte classes (bytes that appear in no pattern
 * share one class), so a step is one table load. Bounds: groups need at
 * least SG_LIT_MIN_PATTERNS patterns; a table larger than SG_LIT_MAX_CELLS
 * cells is not built (its predicates keep their own search). This is the
 * place a Hyperscan back end would plug in: same build input, same output. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"

#define SG_LIT_MIN_PATTERNS 3u
#define SG_LIT_MAX_CELLS (24u * 1024 * 1024) /* 96 MiB of transitions per field at most */

struct sg_litout {
    uint32_t pred, len, next; /* next: index+1 in outs, 0 end */
    uint8_t op;
};

struct sg_lit {
    uint32_t field;
    uint8_t cls[256];
    uint32_t ncls, nstates;
    uint32_t *delta; /* nstates * ncls */
    uint32_t *out;   /* per state: first output index+1, 0 none */
    uint32_t *dict;  /* per state: nearest suffix state with outputs, 0 none */
    struct sg_litout *outs;
    uint32_t nouts;
};

static bool eligible(const struct sg_pred *p)
{
    return (p->op == SG_OP_EQ || p->op == SG_OP_CONTAINS || p->op == SG_OP_PREFIX ||
            p->op == SG_OP_SUFFIX) &&
           !(p->flags & SG_PF_CASED) && p->nlen > 0;
}

static void lit_free(struct sg_lit *l)
{
    free(l->delta);
    free(l->out);
    free(l->dict);
    free(l->outs);
}

/* Builds the automaton of the predicates idx[0..n) (all of one field). */
static int build_one(const struct sg_ruleset *rs, const uint32_t *idx, uint32_t n, struct sg_lit *l)
{
    memset(l, 0, sizeof *l);
    bool used[256] = {0};
    uint64_t total = 1;
    for (uint32_t i = 0; i < n; i++) {
        const struct sg_pred *p = &rs->preds[idx[i]];
        for (uint32_t k = 0; k < p->nlen; k++)
            used[(unsigned char)p->needle[k]] = true;
        total += p->nlen;
    }
    l->ncls = 1;
    for (int c = 0; c < 256; c++)
        l->cls[c] = used[c] ? (uint8_t)l->ncls++ : 0;
    if (l->ncls > 255 || total * l->ncls > SG_LIT_MAX_CELLS)
        return MAMORI_ERANGE;
    uint32_t cap = (uint32_t)total;
    l->delta = calloc((size_t)cap * l->ncls, sizeof *l->delta);
    l->out = calloc(cap, sizeof *l->out);
    l->dict = calloc(cap, sizeof *l->dict);
    l->outs = calloc(n, sizeof *l->outs);
    uint32_t *fail = calloc(cap, sizeof *fail);
    uint32_t *queue = calloc(cap, sizeof *queue);
    int rc = 0;
    if (!l->delta || !l->out || !l->dict || !l->outs || !fail || !queue) {
        rc = MAMORI_ENOMEM;
        goto done;
    }
    /* trie; an edge to 0 means none (nothing goes back to the root in a trie) */
    l->nstates = 1;
    for (uint32_t i = 0; i < n; i++) {
        const struct sg_pred *p = &rs->preds[idx[i]];
        uint32_t s = 0;
        for (uint32_t k = 0; k < p->nlen; k++) {
            uint32_t *e = &l->delta[(size_t)s * l->ncls + l->cls[(unsigned char)p->needle[k]]];
            if (!*e)
                *e = l->nstates++;
            s = *e;
        }
        l->outs[l->nouts] = (struct sg_litout){.pred = idx[i], .len = p->nlen, .op = p->op,
                                                .next = l->out[s]};
        l->out[s] = ++l->nouts;
    }
    /* breadth first: failure links, missing edges filled from them */
    uint32_t qh = 0, qt = 0;
    for (uint32_t c = 0; c < l->ncls; c++) {
        uint32_t t = l->delta[c];
        if (t) {
            fail[t] = 0;
            queue[qt++] = t;
        }
    }
    while (qh < qt) {
        uint32_t s = queue[qh++];
        uint32_t f = fail[s];
        l->dict[s] = l->out[f] ? f : l->dict[f];
        for (uint32_t c = 0; c < l->ncls; c++) {
            uint32_t *e = &l->delta[(size_t)s * l->ncls + c];
            uint32_t via = l->delta[(size_t)f * l->ncls + c];
            if (*e) {
                fail[*e] = via;
                queue[qt++] = *e;
            } else {
                *e = via;
            }
        }
    }
done:
    free(fail);
    free(queue);
    if (rc < 0)
        lit_free(l);
    return rc;
}

static int cmp_by_field(const void *a, const void *b, void *arg)
{
    const struct sg_pred *p = arg;
    uint32_t x = p[*(const uint32_t *)a].field, y = p[*(const uint32_t *)b].field;
    return x < y ? -1 : x > y;
}

int sg_lit_build(struct sg_ruleset *rs)
{
    uint32_t *idx = malloc((rs->npreds + 1) * sizeof *idx), n = 0;
    if (!idx)
        return MAMORI_ENOMEM;
    for (uint32_t i = 0; i < rs->npreds; i++)
        if (eligible(&rs->preds[i]))
            idx[n++] = i;
    qsort_r(idx, n, sizeof *idx, cmp_by_field, rs->preds);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0;) {
        uint32_t j = i;
        while (j < n && rs->preds[idx[j]].field == rs->preds[idx[i]].field)
            j++;
        if (j - i >= SG_LIT_MIN_PATTERNS) {
            struct sg_lit l;
            int b = build_one(rs, idx + i, j - i, &l);
            if (b == MAMORI_ENOMEM) {
                rc = b;
            } else if (b == 0) {
                if (sg_grow((void **)&rs->lits, &rs->caplits, rs->nlits + 1, sizeof *rs->lits) < 0) {
                    lit_free(&l);
                    rc = MAMORI_ENOMEM;
                } else {
                    l.field = rs->preds[idx[i]].field;
                    rs->lits[rs->nlits++] = l;
                    for (uint32_t k = i; k < j; k++)
                        rs->preds[idx[k]].grp = rs->nlits; /* index+1 */
                }
            }
        }
        i = j;
    }
    free(idx);
    return rc;
}

void sg_lit_free(struct sg_ruleset *rs)
{
    for (uint32_t i = 0; i < rs->nlits; i++)
        lit_free(&rs->lits[i]);
    free(rs->lits);
    rs->lits = NULL;
    rs->nlits = rs->caplits = 0;
}

uint32_t sg_lit_field(const struct sg_ruleset *rs, uint32_t g)
{
    return rs->lits[g].field;
}

/* One folded value through automaton g; hit(ctx, pred) for each predicate
 * that holds on it. */
void sg_lit_scan(const struct sg_ruleset *rs, uint32_t g, const char *s, size_t len,
                 void (*hit)(void *ctx, uint32_t pred), void *ctx)
{
    const struct sg_lit *l = &rs->lits[g];
    const uint32_t *delta = l->delta;
    const uint32_t ncls = l->ncls;
    uint32_t st = 0;
    for (size_t i = 0; i < len; i++) {
        st = delta[(size_t)st * ncls + l->cls[(unsigned char)s[i]]];
        if (!l->out[st] && !l->dict[st])
            continue;
        for (uint32_t t = l->out[st] ? st : l->dict[st]; t; t = l->dict[t]) {
            for (uint32_t o = l->out[t]; o; o = l->outs[o - 1].next) {
                const struct sg_litout *x = &l->outs[o - 1];
                size_t end = i + 1, start = end - x->len;
                bool ok = x->op == SG_OP_CONTAINS || (x->op == SG_OP_PREFIX && start == 0) ||
                          (x->op == SG_OP_SUFFIX && end == len) ||
                          (x->op == SG_OP_EQ && start == 0 && end == len);
                if (ok)
                    hit(ctx, x->pred);
            }
        }
    }
}
