/* hsscan.c - multi-pattern literal matching per field, with Hyperscan.
 *
 * Data enters at sg_compile as the ruleset's predicates: every
 * case-insensitive equality, substring, prefix and suffix test of one field
 * (or of the keyword pseudo-field) becomes a literal of that field's
 * Hyperscan database (block mode). It leaves at match time as predicate
 * results: the first time an event needs one predicate of a group, one
 * hs_scan of each value of the field (folded) reports every literal that
 * occurs, and the callback marks the predicates that hold (a prefix must end
 * at its length, a suffix at the value's end, an equality both); the others
 * of the group are false for this event without any further search.
 *
 * Case: values are folded by the matcher (pattern.c, ASCII and the Latin,
 * Greek and Cyrillic capitals) and needles were folded at load, so the
 * literals are matched as bytes: HS_FLAG_CASELESS (ASCII only) would give
 * nothing more and could not fold the rest. Substring and equality literals
 * are HS_FLAG_SINGLEMATCH (one report settles them); prefix, suffix and
 * equality ones report every end offset. Several values of one field (all
 * of them for keywords) are joined by a byte no literal of the group holds
 * and scanned at once (a match cannot span two values); the value a match
 * ends in decides prefix, suffix and equality. No start of match is asked for (the literal's
 * length gives it).
 *
 * Threads: the databases are read-only after sg_compile; each matcher clones
 * the ruleset's prototype scratch (sg_lit_scratch_new), the only thing
 * hs_scan writes. Bounds: groups need at least SG_LIT_MIN_PATTERNS literals;
 * a group Hyperscan refuses (or a platform without SSSE3) is not built and
 * its predicates keep their own search. */
#include <hs.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"

#define SG_LIT_MIN_PATTERNS 3u

struct sg_litout {
    uint32_t pred, len;
    uint8_t op;
};

struct sg_lit {
    uint32_t field;
    hs_database_t *db;
    struct sg_litout *outs; /* by Hyperscan id */
    uint32_t nouts;
    int sep; /* a byte in none of the literals (joins values), or -1 */
};

static bool eligible(const struct sg_pred *p)
{
    return (p->op == SG_OP_EQ || p->op == SG_OP_CONTAINS || p->op == SG_OP_PREFIX ||
            p->op == SG_OP_SUFFIX) &&
           !(p->flags & SG_PF_CASED) && p->nlen > 0;
}

/* Compiles the literals of the predicates idx[0..n) (all of one field).
 * 0, MAMORI_ENOMEM, or MAMORI_EINVAL when Hyperscan refuses them. */
static int build_one(const struct sg_ruleset *rs, const uint32_t *idx, uint32_t n, struct sg_lit *l)
{
    memset(l, 0, sizeof *l);
    const char **expr = malloc(n * sizeof *expr);
    unsigned *flags = malloc(n * sizeof *flags), *ids = malloc(n * sizeof *ids);
    size_t *lens = malloc(n * sizeof *lens);
    l->outs = malloc(n * sizeof *l->outs);
    int rc = 0;
    if (!expr || !flags || !ids || !lens || !l->outs) {
        rc = MAMORI_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct sg_pred *p = &rs->preds[idx[i]];
        expr[i] = p->needle;
        lens[i] = p->nlen;
        ids[i] = i;
        flags[i] = p->op == SG_OP_CONTAINS ? HS_FLAG_SINGLEMATCH : 0;
        l->outs[i] = (struct sg_litout){.pred = idx[i], .len = p->nlen, .op = p->op};
    }
    l->nouts = n;
    bool used[256] = {0};
    for (uint32_t i = 0; i < n; i++)
        for (size_t k = 0; k < lens[i]; k++)
            used[(unsigned char)expr[i][k]] = true;
    l->sep = -1;
    for (int c = 255; c >= 0 && l->sep < 0; c--)
        if (!used[c])
            l->sep = c;
    hs_compile_error_t *err = NULL;
    if (hs_compile_lit_multi(expr, flags, ids, lens, n, HS_MODE_BLOCK, NULL, &l->db, &err) !=
        HS_SUCCESS) {
        hs_free_compile_error(err);
        l->db = NULL;
        rc = MAMORI_EINVAL;
    }
done:
    free(expr);
    free(flags);
    free(ids);
    free(lens);
    if (rc < 0) {
        free(l->outs);
        l->outs = NULL;
    }
    return rc;
}

static int cmp_by_field(const void *a, const void *b, void *arg)
{
    const struct sg_pred *p = arg;
    uint32_t x = p[*(const uint32_t *)a].field, y = p[*(const uint32_t *)b].field;
    if (x != y)
        return x < y ? -1 : 1;
    x = *(const uint32_t *)a, y = *(const uint32_t *)b;
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
    hs_scratch_t *proto = NULL;
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
                if (hs_alloc_scratch(l.db, &proto) != HS_SUCCESS ||
                    sg_grow((void **)&rs->lits, &rs->caplits, rs->nlits + 1, sizeof *rs->lits) < 0) {
                    hs_free_database(l.db);
                    free(l.outs);
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
    rs->lit_proto = proto;
    return rc;
}

void sg_lit_free(struct sg_ruleset *rs)
{
    for (uint32_t i = 0; i < rs->nlits; i++) {
        hs_free_database(rs->lits[i].db);
        free(rs->lits[i].outs);
    }
    free(rs->lits);
    hs_free_scratch(rs->lit_proto);
    rs->lit_proto = NULL;
    rs->lits = NULL;
    rs->nlits = rs->caplits = 0;
}

uint32_t sg_lit_field(const struct sg_ruleset *rs, uint32_t g)
{
    return rs->lits[g].field;
}

struct sg_litscratch {
    hs_scratch_t *hs; /* NULL when no group was built */
    char *buf;        /* values joined by the group's separator */
    uint32_t cap;
    uint32_t *ends; /* end offset of each joined value */
    uint32_t capends;
};

/* A matcher's scratch: a clone of the prototype. */
struct sg_litscratch *sg_lit_scratch_new(const struct sg_ruleset *rs)
{
    struct sg_litscratch *sc = calloc(1, sizeof *sc);
    if (sc && rs->lit_proto && hs_clone_scratch(rs->lit_proto, &sc->hs) != HS_SUCCESS) {
        free(sc);
        sc = NULL;
    }
    return sc;
}

void sg_lit_scratch_free(struct sg_litscratch *sc)
{
    if (sc) {
        hs_free_scratch(sc->hs);
        free(sc->buf);
        free(sc->ends);
    }
    free(sc);
}

struct scan_ctx {
    const struct sg_lit *l;
    const uint32_t *ends; /* joined: end of each value; else NULL */
    uint32_t n;
    unsigned long long len; /* one value: its length */
    void (*hit)(void *ctx, uint32_t pred);
    void *ctx;
};

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *arg)
{
    const struct scan_ctx *c = arg;
    const struct sg_litout *x = &c->l->outs[id];
    unsigned long long vstart = 0, vend = c->len;
    if (c->ends) { /* the value the match ends in: the first whose end is >= to */
        uint32_t lo = 0, hi = c->n;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (c->ends[mid] < to)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == c->n)
            return 0;
        vstart = lo ? c->ends[lo - 1] + 1ull : 0;
        vend = c->ends[lo];
        if (to < vstart + x->len)
            return 0; /* across values: impossible, no literal holds the separator */
    }
    unsigned long long start = to - x->len;
    bool ok = x->op == SG_OP_CONTAINS || (x->op == SG_OP_PREFIX && start == vstart) ||
              (x->op == SG_OP_SUFFIX && to == vend) ||
              (x->op == SG_OP_EQ && start == vstart && to == vend);
    if (ok)
        c->hit(c->ctx, x->pred);
    return 0;
}

/* Joins the values with the group's separator into sc->buf; false when
 * that cannot be done (no separator, too large, out of memory). */
static bool join(const struct sg_lit *l, struct sg_litscratch *sc, const char *const *vals,
                 const uint32_t *lens, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += lens[i] + 1ull;
    if (l->sep < 0 || total > SG_MAX_SCRATCH ||
        sg_grow((void **)&sc->buf, &sc->cap, (uint32_t)total, 1) < 0 ||
        sg_grow((void **)&sc->ends, &sc->capends, n, sizeof *sc->ends) < 0)
        return false;
    uint32_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(sc->buf + o, vals[i], lens[i]);
        o += lens[i];
        sc->ends[i] = o;
        sc->buf[o++] = (char)l->sep;
    }
    return true;
}

/* The values of group g's field: one hs_scan of each, or one of them all
 * joined by a separator no literal holds (so no match spans two values). */
void sg_lit_scan(const struct sg_ruleset *rs, uint32_t g, struct sg_litscratch *sc,
                 const char *const *vals, const uint32_t *lens, uint32_t n,
                 void (*hit)(void *ctx, uint32_t pred), void *ctx)
{
    const struct sg_lit *l = &rs->lits[g];
    struct scan_ctx c = {.l = l, .hit = hit, .ctx = ctx};
    if (n > 1 && join(l, sc, vals, lens, n)) {
        c.ends = sc->ends;
        c.n = n;
        hs_scan(l->db, sc->buf, sc->ends[n - 1], 0, sc->hs, on_match, &c);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        c.len = lens[i];
        hs_scan(l->db, vals[i], lens[i], 0, sc->hs, on_match, &c);
    }
}
