/* mapping.c - the log-source mapping: which events a rule's logsource
 * means, which fields are computed for some events, and placeholder values.
 *
 * Data enters as YAML text (etc/sigma/logsources.yaml, embedded by
 * mapping_blob.c, or a file given to sg_load_mapping) and leaves as struct
 * sg_mapping (sigma_int.h), read by compile.c and by |expand. The format is
 * documented in docs/sigma.md; every entry that is wrong is reported with
 * file, line, column and reason, and the whole mapping is then refused (a
 * half mapping would silently lose rules). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"
#include "core/ytree.h"

struct mctx {
    struct sg_mapping *mp;
    const char *name;
    sg_diag_fn diag;
    void *ctx;
    int errors;
};

static int merr(struct mctx *c, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int merr(struct mctx *c, const struct ynode *at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->diag)
        c->diag(c->ctx, c->name, at ? at->line : 0, at ? at->col : 0, msg);
    c->errors++;
    return MAMORI_ECONFIG;
}

static const char *dup_scalar(struct mctx *c, const struct ynode *v, const char *what)
{
    if (!v || v->type != YN_SCALAR) {
        merr(c, v, "%s must be a string", what);
        return NULL;
    }
    const char *s = sg_arena_strndup(&c->mp->arena, v->str, v->len);
    if (!s)
        merr(c, v, "out of memory");
    return s;
}

static int read_eids(struct mctx *c, const struct ynode *v, uint32_t **out, uint32_t *n)
{
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    size_t cnt = v->type == YN_SEQ ? v->nchild : 1;
    uint32_t *e = sg_arena_alloc(&c->mp->arena, (cnt + 1) * sizeof *e);
    if (!e)
        return merr(c, v, "out of memory");
    const struct ynode *it = v->type == YN_SEQ ? v->first : v;
    for (size_t i = 0; i < cnt; i++, it = it->next) {
        double d;
        if (it->type != YN_SCALAR || !sg_parse_num(it->str, it->len, &d) || d < 0 || d > 65535 ||
            d != (double)(uint32_t)d)
            return merr(c, it, "event_ids must be integers from 0 to 65535");
        e[i] = (uint32_t)d;
    }
    *out = e;
    *n = (uint32_t)cnt;
    return 0;
}

static int read_sel(struct mctx *c, const struct ynode *s, struct sg_sel *out)
{
    if (s->type != YN_MAP)
        return merr(c, s, "a source must be a mapping (channel, provider, event_ids, fields, exists)");
    out->line = s->line;
    out->col = s->col;
    for (const struct ynode *k = s->first; k && k->next; k = k->next->next)
        if (!ynode_is(k, "channel") && !ynode_is(k, "provider") && !ynode_is(k, "event_ids") &&
            !ynode_is(k, "fields") && !ynode_is(k, "exists"))
            return merr(c, k, "unknown key '%s' in a source", k->str ? k->str : "?");
    const struct ynode *ch = ynode_get(s, "channel");
    if (!ch)
        return merr(c, s, "a source needs 'channel' (\"*\" for any)");
    if (!(out->channel = dup_scalar(c, ch, "channel")))
        return MAMORI_ECONFIG;
    const struct ynode *pv = ynode_get(s, "provider");
    if (pv && !(out->provider = dup_scalar(c, pv, "provider")))
        return MAMORI_ECONFIG;
    if (read_eids(c, ynode_get(s, "event_ids"), &out->eids, &out->neids) < 0)
        return MAMORI_ECONFIG;
    if (out->neids && !strcmp(out->channel, "*"))
        return merr(c, s, "event_ids need a channel (not \"*\")");
    const struct ynode *f = ynode_get(s, "fields");
    if (f) {
        if (f->type != YN_MAP)
            return merr(c, f, "'fields' must map field names to values");
        size_t n = f->nchild / 2;
        out->eqf = sg_arena_alloc(&c->mp->arena, (n + 1) * sizeof *out->eqf);
        out->eqv = sg_arena_alloc(&c->mp->arena, (n + 1) * sizeof *out->eqv);
        if (!out->eqf || !out->eqv)
            return merr(c, f, "out of memory");
        for (const struct ynode *k = f->first; k && k->next; k = k->next->next) {
            if (!(out->eqf[out->neq] = dup_scalar(c, k, "a field name")) ||
                !(out->eqv[out->neq] = dup_scalar(c, k->next, "a field value")))
                return MAMORI_ECONFIG;
            out->neq++;
        }
    }
    const struct ynode *x = ynode_get(s, "exists");
    if (x) {
        if (x->type != YN_SEQ || !x->nchild)
            return merr(c, x, "'exists' must list field names");
        out->exf = sg_arena_alloc(&c->mp->arena, x->nchild * sizeof *out->exf);
        if (!out->exf)
            return merr(c, x, "out of memory");
        for (const struct ynode *k = x->first; k; k = k->next)
            if (!(out->exf[out->nex++] = dup_scalar(c, k, "a field name")))
                return MAMORI_ECONFIG;
    }
    return 0;
}

static int read_lsrc(struct mctx *c, const struct ynode *e, struct sg_lsrc *out)
{
    if (e->type != YN_MAP)
        return merr(c, e, "a logsource entry must be a mapping");
    for (const struct ynode *k = e->first; k && k->next; k = k->next->next)
        if (!ynode_is(k, "product") && !ynode_is(k, "category") && !ynode_is(k, "service") &&
            !ynode_is(k, "sources"))
            return merr(c, k, "unknown key '%s' in a logsource entry", k->str ? k->str : "?");
    const struct ynode *v;
    if ((v = ynode_get(e, "product")) && !(out->product = dup_scalar(c, v, "product")))
        return MAMORI_ECONFIG;
    if ((v = ynode_get(e, "category")) && !(out->category = dup_scalar(c, v, "category")))
        return MAMORI_ECONFIG;
    if ((v = ynode_get(e, "service")) && !(out->service = dup_scalar(c, v, "service")))
        return MAMORI_ECONFIG;
    if (!out->product && !out->category && !out->service)
        return merr(c, e, "a logsource entry needs product, category or service");
    const struct ynode *s = ynode_get(e, "sources");
    if (!s || s->type != YN_SEQ || !s->nchild)
        return merr(c, s ? s : e, "a logsource entry needs a non-empty 'sources' list");
    out->sels = sg_arena_alloc(&c->mp->arena, s->nchild * sizeof *out->sels);
    if (!out->sels)
        return merr(c, s, "out of memory");
    for (const struct ynode *it = s->first; it; it = it->next)
        if (read_sel(c, it, &out->sels[out->nsels++]) < 0)
            return MAMORI_ECONFIG;
    return 0;
}

static int read_strs(struct mctx *c, const struct ynode *v, const char ***out, uint32_t *n,
                     const char *what)
{
    size_t cnt = v->type == YN_SEQ ? v->nchild : 1;
    const char **a = sg_arena_alloc(&c->mp->arena, (cnt + 1) * sizeof *a);
    if (!a)
        return merr(c, v, "out of memory");
    const struct ynode *it = v->type == YN_SEQ ? v->first : v;
    for (size_t i = 0; i < cnt; i++, it = it->next)
        if (!(a[i] = dup_scalar(c, it, what)))
            return MAMORI_ECONFIG;
    *out = a;
    *n = (uint32_t)cnt;
    return 0;
}

static int read_dfield(struct mctx *c, const struct ynode *k, const struct ynode *v,
                       struct sg_dfield *d)
{
    if (!(d->name = dup_scalar(c, k, "a derived field name")))
        return MAMORI_ECONFIG;
    if (v->type == YN_SCALAR) {
        d->kind = SG_D_COPY;
        return read_strs(c, v, &d->src, &d->nsrc, "a source field");
    }
    if (v->type != YN_MAP)
        return merr(c, v, "derived field '%s' must be a field name or a mapping", d->name);
    const struct ynode *x;
    if ((x = ynode_get(v, "copy"))) {
        d->kind = SG_D_COPY;
    } else if ((x = ynode_get(v, "hex"))) {
        d->kind = SG_D_HEX;
    } else if ((x = ynode_get(v, "join"))) {
        d->kind = SG_D_JOIN;
        const struct ynode *sep = ynode_get(v, "sep");
        d->sep = sep ? dup_scalar(c, sep, "sep") : "";
        if (!d->sep)
            return MAMORI_ECONFIG;
    } else if ((x = ynode_get(v, "map"))) {
        d->kind = SG_D_MAP;
        const struct ynode *vals = ynode_get(v, "values");
        if (!vals || vals->type != YN_MAP)
            return merr(c, v, "derived field '%s': 'map' needs a 'values' mapping", d->name);
        size_t n = vals->nchild / 2;
        d->mk = sg_arena_alloc(&c->mp->arena, (n + 1) * sizeof *d->mk);
        d->mv = sg_arena_alloc(&c->mp->arena, (n + 1) * sizeof *d->mv);
        if (!d->mk || !d->mv)
            return merr(c, vals, "out of memory");
        for (const struct ynode *q = vals->first; q && q->next; q = q->next->next) {
            if (!(d->mk[d->nmap] = dup_scalar(c, q, "a value")) ||
                !(d->mv[d->nmap] = dup_scalar(c, q->next, "a value")))
                return MAMORI_ECONFIG;
            d->nmap++;
        }
        const struct ynode *keep = ynode_get(v, "keep");
        d->keep_unmapped = keep && ynode_is(keep, "true");
    } else {
        return merr(c, v, "derived field '%s' needs copy, join, hex or map", d->name);
    }
    if (read_strs(c, x, &d->src, &d->nsrc, "a source field") < 0)
        return MAMORI_ECONFIG;
    if (d->nsrc == 0 || d->nsrc > 4 || ((d->kind == SG_D_COPY || d->kind == SG_D_HEX) && d->nsrc != 1))
        return merr(c, x, "derived field '%s': join and map take 1 to 4 fields, copy and hex one",
                    d->name);
    return 0;
}

static int read_derive(struct mctx *c, const struct ynode *e, struct sg_derive *out)
{
    if (e->type != YN_MAP)
        return merr(c, e, "a derived entry must be a mapping");
    const struct ynode *ch = ynode_get(e, "channel");
    if (!ch || !(out->channel = dup_scalar(c, ch, "channel")))
        return ch ? MAMORI_ECONFIG : merr(c, e, "a derived entry needs 'channel'");
    if (read_eids(c, ynode_get(e, "event_ids"), &out->eids, &out->neids) < 0)
        return MAMORI_ECONFIG;
    const struct ynode *f = ynode_get(e, "fields");
    if (!f || f->type != YN_MAP || !f->nchild)
        return merr(c, f ? f : e, "a derived entry needs a 'fields' mapping");
    out->f = sg_arena_alloc(&c->mp->arena, (f->nchild / 2) * sizeof *out->f);
    if (!out->f)
        return merr(c, f, "out of memory");
    for (const struct ynode *k = f->first; k && k->next; k = k->next->next)
        if (read_dfield(c, k, k->next, &out->f[out->nf++]) < 0)
            return MAMORI_ECONFIG;
    return 0;
}

static int read_list(struct mctx *c, const struct ynode *root, const char *key, void **arr,
                     uint32_t *n, size_t elsz,
                     int (*one)(struct mctx *, const struct ynode *, void *))
{
    const struct ynode *l = ynode_get(root, key);
    if (!l)
        return 0;
    if (l->type != YN_SEQ)
        return merr(c, l, "'%s' must be a list", key);
    char *a = sg_arena_alloc(&c->mp->arena, (l->nchild + 1) * elsz);
    if (!a)
        return merr(c, l, "out of memory");
    for (const struct ynode *it = l->first; it; it = it->next)
        if (one(c, it, a + (*n)++ * elsz) < 0 && c->errors > 20)
            break;
    *arr = a;
    return 0;
}

static int one_lsrc(struct mctx *c, const struct ynode *n, void *out) { return read_lsrc(c, n, out); }
static int one_derive(struct mctx *c, const struct ynode *n, void *out) { return read_derive(c, n, out); }

static int read_placeholders(struct mctx *c, const struct ynode *root)
{
    const struct ynode *p = ynode_get(root, "placeholders");
    if (!p)
        return 0;
    if (p->type != YN_MAP)
        return merr(c, p, "'placeholders' must map names to lists of values");
    c->mp->ph = sg_arena_alloc(&c->mp->arena, (p->nchild / 2 + 1) * sizeof *c->mp->ph);
    if (!c->mp->ph)
        return merr(c, p, "out of memory");
    for (const struct ynode *k = p->first; k && k->next; k = k->next->next) {
        struct sg_placeholder *ph = &c->mp->ph[c->mp->nph++];
        if (!(ph->name = dup_scalar(c, k, "a placeholder name")))
            return MAMORI_ECONFIG;
        const struct ynode *v = k->next;
        if (v->type == YN_SCALAR && v->len == 0)
            continue; /* declared, no values: matches nothing */
        if (read_strs(c, v, (const char ***)&ph->values, &ph->n, "a placeholder value") < 0)
            return MAMORI_ECONFIG;
    }
    return 0;
}

int sg_mapping_parse(struct sg_mapping *mp, const char *text, size_t len, const char *name,
                     sg_diag_fn diag, void *ctx)
{
    memset(mp, 0, sizeof *mp);
    struct mctx c = {.mp = mp, .name = name, .diag = diag, .ctx = ctx};
    struct ytree t;
    char err[512];
    if (ytree_parse(&t, text, len, err, sizeof err) < 0) {
        unsigned line = 0, col = 0;
        int used = 0;
        const char *reason = err;
        if (sscanf(err, "%u:%u: %n", &line, &col, &used) == 2 && used > 0)
            reason = err + used;
        if (diag)
            diag(ctx, name, line, col, reason);
        return MAMORI_ECONFIG;
    }
    const struct ynode *root = t.root;
    if (!root || root->type != YN_MAP) {
        merr(&c, root, "the mapping must be a YAML mapping with 'logsources'");
    } else {
        for (const struct ynode *k = root->first; k && k->next; k = k->next->next)
            if (!ynode_is(k, "logsources") && !ynode_is(k, "derived") && !ynode_is(k, "placeholders"))
                merr(&c, k, "unknown top-level key '%s' (logsources, derived, placeholders)",
                     k->str ? k->str : "?");
        read_list(&c, root, "logsources", (void **)&mp->src, &mp->nsrc, sizeof *mp->src, one_lsrc);
        read_list(&c, root, "derived", (void **)&mp->der, &mp->nder, sizeof *mp->der, one_derive);
        read_placeholders(&c, root);
    }
    ytree_free(&t);
    if (c.errors) {
        sg_mapping_free(mp);
        return MAMORI_ECONFIG;
    }
    return 0;
}

void sg_mapping_free(struct sg_mapping *mp)
{
    sg_arena_free(&mp->arena);
    memset(mp, 0, sizeof *mp);
}

int sg_load_mapping_mem(struct sg_ruleset *rs, const char *text, size_t len, const char *name,
                        sg_diag_fn diag, void *ctx)
{
    if (rs->compiled) {
        if (diag)
            diag(ctx, name, 0, 0, "ruleset already compiled; load the mapping before sg_compile");
        return MAMORI_EINVAL;
    }
    struct sg_mapping nm;
    int rc = sg_mapping_parse(&nm, text, len, name, diag, ctx);
    if (rc < 0)
        return rc;
    sg_mapping_free(&rs->map);
    rs->map = nm;
    rs->have_map = true;
    return 0;
}

int sg_load_mapping(struct sg_ruleset *rs, const char *path, sg_diag_fn diag, void *ctx)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (diag)
            diag(ctx, path, 0, 0, "cannot open the mapping file");
        return MAMORI_ENOENT;
    }
    char *buf = malloc(SG_MAX_FILE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, SG_MAX_FILE_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf)
        return MAMORI_ENOMEM;
    int rc;
    if (n > SG_MAX_FILE_BYTES) {
        if (diag)
            diag(ctx, path, 0, 0, "mapping file too large");
        rc = MAMORI_ERANGE;
    } else {
        rc = sg_load_mapping_mem(rs, buf, n, path, diag, ctx);
    }
    free(buf);
    return rc;
}
