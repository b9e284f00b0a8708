/* corr_link.c - ties loaded correlations to the detection rules and to each
 * other (sg_corr_link), and answers which fields a rule's hits must keep.
 *
 * Input: the set filled by sg_corr_add and the engine's rule set, queried
 * through sg_rule_find; output: for each accepted correlation its resolved
 * references, the event field behind every group-by entry for every
 * referenced rule (aliases applied), the chain of users (correlations fed by
 * this one), the rule-to-correlation table used at run time, and the hidden
 * marks on consumed rules (sg_rule_set_hidden). Problems are reported with
 * the file, line and column of the reference or alias at fault. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/corr_int.h"
#include "core/sigma/sigma.h" /* sg_rule_find, sg_rule_set_hidden */

struct lk {
    struct sg_corrset *cs;
    struct sg_ruleset *rs;
    sg_diag_fn diag;
    void *ctx;
    bool nomem;
};

static void reject(struct lk *lk, struct corr *c, unsigned line, unsigned col, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static void reject(struct lk *lk, struct corr *c, unsigned line, unsigned col, const char *fmt,
                   ...)
{
    char reason[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (lk->diag)
        lk->diag(lk->ctx, c->file, line, col, reason);
    c->rejected = true;
}

static void unlink_all(struct sg_corrset *cs)
{
    for (uint32_t i = 0; i < cs->n; i++) {
        struct corr *c = &cs->c[i];
        for (uint32_t r = 0; r < c->nrefs; r++) {
            for (uint32_t j = 0; c->refs[r].gb_field && j < c->info.ngroup_by; j++)
                free(c->refs[r].gb_field[j]);
            free(c->refs[r].gb_field);
            free(c->refs[r].value_field);
            c->refs[r].gb_field = NULL;
            c->refs[r].value_field = NULL;
        }
        free(c->users);
        c->users = NULL;
        c->nusers = 0;
        c->linked = c->rejected = c->hidden = false;
    }
    free(cs->uses);
    cs->uses = NULL;
    cs->nuses = 0;
    for (uint32_t i = 0; i < cs->nrf; i++)
        free(cs->rf[i].names);
    free(cs->rf);
    cs->rf = NULL;
    cs->nrf = 0;
}

/* ---- references ---- */

enum { FOUND_NONE, FOUND_ONE, FOUND_AMBIGUOUS };

/* Resolves text to a correlation or a detection rule. */
static int resolve(struct lk *lk, const char *text, bool *is_corr, uint32_t *idx)
{
    int ncorr = 0;
    for (uint32_t j = 0; j < lk->cs->n; j++) {
        const struct corr *o = &lk->cs->c[j];
        if ((o->name && !strcmp(o->name, text)) || (o->id && !strcmp(o->id, text))) {
            ncorr++;
            *idx = j;
        }
    }
    long ri = lk->rs ? sg_rule_find(lk->rs, text) : -1;
    if (ncorr + (ri >= 0) > 1)
        return FOUND_AMBIGUOUS;
    if (ncorr) {
        *is_corr = true;
        return FOUND_ONE;
    }
    if (ri >= 0) {
        *is_corr = false;
        *idx = (uint32_t)ri;
        return FOUND_ONE;
    }
    return FOUND_NONE;
}

static void resolve_refs(struct lk *lk, struct corr *c)
{
    for (uint32_t r = 0; r < c->nrefs; r++) {
        struct corr_ref *ref = &c->refs[r];
        int f = resolve(lk, ref->text, &ref->is_corr, &ref->idx);
        if (f == FOUND_NONE)
            reject(lk, c, ref->line, ref->col,
                   "rule '%s' is not loaded (no detection rule or correlation has this name or "
                   "id)", ref->text);
        else if (f == FOUND_AMBIGUOUS)
            reject(lk, c, ref->line, ref->col,
                   "rule reference '%s' is ambiguous: several rules or correlations have this "
                   "name or id", ref->text);
        else if (ref->is_corr && &lk->cs->c[ref->idx] == c)
            reject(lk, c, ref->line, ref->col, "correlation '%s' refers to itself", ref->text);
        if (f != FOUND_ONE)
            continue;
        for (uint32_t q = 0; q < r; q++)
            if (c->refs[q].is_corr == ref->is_corr && c->refs[q].idx == ref->idx)
                reject(lk, c, ref->line, ref->col, "rules '%s' and '%s' are the same rule",
                       c->refs[q].text, ref->text);
    }
}

/* Position in c's rules of an alias's rule key, or -1. */
static int alias_ref(struct lk *lk, const struct corr *c, const char *key)
{
    for (uint32_t r = 0; r < c->nrefs; r++)
        if (!strcmp(c->refs[r].text, key))
            return (int)r;
    bool is_corr;
    uint32_t idx;
    if (resolve(lk, key, &is_corr, &idx) != FOUND_ONE)
        return -1;
    for (uint32_t r = 0; r < c->nrefs; r++)
        if (c->refs[r].is_corr == is_corr && c->refs[r].idx == idx)
            return (int)r;
    return -1;
}

/* The event field behind name for reference r: an alias's mapping, else name. */
static const char *field_for(struct lk *lk, struct corr *c, uint32_t r, const char *name)
{
    for (uint32_t a = 0; a < c->naliases; a++) {
        if (strcmp(c->aliases[a].name, name))
            continue;
        for (uint32_t m = 0; m < c->aliases[a].nmap; m++)
            if (alias_ref(lk, c, c->aliases[a].map[m].rule) == (int)r)
                return c->aliases[a].map[m].field;
    }
    return name;
}

static void resolve_fields(struct lk *lk, struct corr *c)
{
    for (uint32_t a = 0; a < c->naliases; a++)
        for (uint32_t m = 0; m < c->aliases[a].nmap; m++) {
            const struct corr_alias_map *e = &c->aliases[a].map[m];
            if (alias_ref(lk, c, e->rule) < 0)
                reject(lk, c, e->line, e->col,
                       "alias '%s' names rule '%s', which is not in this correlation's rules",
                       c->aliases[a].name, e->rule);
        }
    for (uint32_t r = 0; r < c->nrefs; r++) {
        struct corr_ref *ref = &c->refs[r];
        if (c->info.ngroup_by) {
            ref->gb_field = calloc(c->info.ngroup_by, sizeof *ref->gb_field);
            if (!ref->gb_field) {
                lk->nomem = true;
                return;
            }
        }
        for (uint32_t j = 0; j < c->info.ngroup_by; j++)
            if (!(ref->gb_field[j] = strdup(field_for(lk, c, r, c->group_by[j]))))
                lk->nomem = true;
        if (c->field && !(ref->value_field = strdup(field_for(lk, c, r, c->field))))
            lk->nomem = true;
    }
}

/* ---- chains: cycles, depth, rejected inputs ---- */

/* Depth of the chain below c (1 = only detection rules); 0 on a cycle. */
static unsigned chain_depth(struct lk *lk, uint32_t i, unsigned char *mark, unsigned *depth)
{
    if (mark[i] == 2)
        return depth[i];
    if (mark[i] == 1)
        return 0;
    mark[i] = 1;
    struct corr *c = &lk->cs->c[i];
    unsigned d = 1;
    for (uint32_t r = 0; r < c->nrefs; r++) {
        if (!c->refs[r].is_corr || c->rejected)
            continue;
        uint32_t k = c->refs[r].idx;
        if (mark[k] == 1) {
            reject(lk, c, c->refs[r].line, c->refs[r].col,
                   "correlation chain through '%s' loops back to itself", c->refs[r].text);
            d = 0;
            break;
        }
        unsigned sub = chain_depth(lk, k, mark, depth);
        if (sub == 0) { /* in a loop: reported there, and below as a rejected input */
            d = 0;
            continue;
        }
        if (d && sub + 1 > d)
            d = sub + 1;
    }
    mark[i] = 2;
    depth[i] = d;
    if (d > SG_CORR_MAX_DEPTH)
        reject(lk, c, c->line, c->col, "correlations nested deeper than %u", SG_CORR_MAX_DEPTH);
    return d;
}

static void check_chains(struct lk *lk)
{
    uint32_t n = lk->cs->n;
    unsigned char *mark = calloc(n ? n : 1, 1);
    unsigned *depth = calloc(n ? n : 1, sizeof *depth);
    if (!mark || !depth) {
        lk->nomem = true;
    } else {
        for (uint32_t i = 0; i < n; i++)
            chain_depth(lk, i, mark, depth);
    }
    free(mark);
    free(depth);
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = 0; i < n; i++) {
            struct corr *c = &lk->cs->c[i];
            for (uint32_t r = 0; r < c->nrefs && !c->rejected; r++)
                if (c->refs[r].is_corr && lk->cs->c[c->refs[r].idx].rejected) {
                    reject(lk, c, c->refs[r].line, c->refs[r].col,
                           "correlation '%s' it builds on was rejected", c->refs[r].text);
                    changed = true;
                }
        }
    }
}

/* ---- run-time tables ---- */

static int cmp_use(const void *a, const void *b)
{
    const struct corr_use *x = a, *y = b;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    if (x->corr != y->corr)
        return x->corr < y->corr ? -1 : 1;
    return x->ref < y->ref ? -1 : x->ref > y->ref;
}

static int add_name(struct corr_rule_fields *f, const char *name, uint32_t cap)
{
    for (uint32_t i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], name))
            return 0;
    if (f->n >= cap)
        return MAMORI_ENOMEM;
    f->names[f->n++] = name;
    return 0;
}

static int build_tables(struct lk *lk)
{
    struct sg_corrset *cs = lk->cs;
    uint32_t nuses = 0;
    for (uint32_t i = 0; i < cs->n; i++)
        for (uint32_t r = 0; r < cs->c[i].nrefs; r++)
            nuses += cs->c[i].linked && !cs->c[i].refs[r].is_corr;
    cs->uses = calloc(nuses ? nuses : 1, sizeof *cs->uses);
    cs->rf = calloc(nuses ? nuses : 1, sizeof *cs->rf);
    if (!cs->uses || !cs->rf)
        return MAMORI_ENOMEM;
    for (uint32_t i = 0; i < cs->n; i++)
        for (uint32_t r = 0; r < cs->c[i].nrefs; r++)
            if (cs->c[i].linked && !cs->c[i].refs[r].is_corr)
                cs->uses[cs->nuses++] = (struct corr_use){cs->c[i].refs[r].idx, i, r};
    qsort(cs->uses, cs->nuses, sizeof *cs->uses, cmp_use);
    for (uint32_t u = 0; u < cs->nuses;) {
        uint32_t end = u, cap = 0;
        while (end < cs->nuses && cs->uses[end].rule == cs->uses[u].rule) {
            cap += cs->c[cs->uses[end].corr].info.ngroup_by + 1;
            end++;
        }
        struct corr_rule_fields *f = &cs->rf[cs->nrf++];
        f->rule = cs->uses[u].rule;
        if (!(f->names = calloc(cap, sizeof *f->names)))
            return MAMORI_ENOMEM;
        for (; u < end; u++) {
            const struct corr *c = &cs->c[cs->uses[u].corr];
            const struct corr_ref *ref = &c->refs[cs->uses[u].ref];
            for (uint32_t j = 0; j < c->info.ngroup_by; j++)
                add_name(f, ref->gb_field[j], cap);
            if (ref->value_field)
                add_name(f, ref->value_field, cap);
        }
    }
    return 0;
}

static int build_users(struct lk *lk)
{
    struct sg_corrset *cs = lk->cs;
    for (uint32_t i = 0; i < cs->n; i++) {
        struct corr *c = &cs->c[i];
        for (uint32_t r = 0; c->linked && r < c->nrefs; r++) {
            if (!c->refs[r].is_corr)
                continue;
            struct corr *in = &cs->c[c->refs[r].idx];
            struct corr_user *u = realloc(in->users, (in->nusers + 1) * sizeof *u);
            if (!u)
                return MAMORI_ENOMEM;
            in->users = u;
            in->users[in->nusers++] = (struct corr_user){i, r};
        }
    }
    return 0;
}

int sg_corr_link(struct sg_corrset *cs, struct sg_ruleset *rs, sg_diag_fn diag, void *ctx)
{
    if (!cs)
        return 0;
    struct lk lk = {.cs = cs, .rs = rs, .diag = diag, .ctx = ctx};
    unlink_all(cs);
    for (uint32_t i = 0; i < cs->n; i++)
        resolve_refs(&lk, &cs->c[i]);
    for (uint32_t i = 0; i < cs->n; i++)
        resolve_fields(&lk, &cs->c[i]);
    check_chains(&lk);
    int rejected = 0;
    for (uint32_t i = 0; i < cs->n; i++) {
        cs->c[i].linked = !cs->c[i].rejected && !lk.nomem;
        rejected += !cs->c[i].linked;
    }
    if (!lk.nomem && (build_users(&lk) < 0 || build_tables(&lk) < 0))
        lk.nomem = true;
    if (lk.nomem) {
        if (diag)
            diag(ctx, cs->n ? cs->c[0].file : "-", 0, 0,
                 "out of memory while linking correlations; none is used");
        unlink_all(cs);
        return (int)cs->n;
    }
    for (uint32_t i = 0; i < cs->n; i++) {
        const struct corr *c = &cs->c[i];
        for (uint32_t r = 0; c->linked && !c->generate && r < c->nrefs; r++) {
            if (c->refs[r].is_corr)
                cs->c[c->refs[r].idx].hidden = true;
            else if (rs)
                sg_rule_set_hidden(rs, c->refs[r].idx, true);
        }
    }
    return rejected;
}

/* ---- per-rule questions ---- */

static const struct corr_rule_fields *rule_fields(const struct sg_corrset *cs, uint32_t rule)
{
    uint32_t lo = 0, hi = cs ? cs->nrf : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cs->rf[mid].rule == rule)
            return &cs->rf[mid];
        if (cs->rf[mid].rule < rule)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint32_t sg_corr_fields_for_rule(const struct sg_corrset *cs, uint32_t rule_idx,
                                 const char *const **names)
{
    const struct corr_rule_fields *f = rule_fields(cs, rule_idx);
    if (names)
        *names = f ? (const char *const *)f->names : NULL;
    return f ? f->n : 0;
}

bool sg_corr_uses_rule(const struct sg_corrset *cs, uint32_t rule_idx)
{
    return rule_fields(cs, rule_idx) != NULL;
}
