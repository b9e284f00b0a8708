/* build.c - the ruleset's shared tables while rules are read: interned
 * field names, predicates (deduplicated by a canonical key, so one
 * field/operator/value is evaluated once per event whatever the number of
 * rules using it) and logic nodes. Data enters from detect.c, modifier.c
 * and cond.c; it leaves as indexes into rs->preds / rs->exprs. Each rule is
 * bounded to SG_MAX_RULE_NODES predicates + nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"
#include "core/ytree.h"

int sg_fail(struct sg_build *b, const struct ynode *at, const char *fmt, ...)
{
    if (b->err[0])
        return MAMORI_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof b->err, fmt, ap);
    va_end(ap);
    if (!b->err[0])
        snprintf(b->err, sizeof b->err, "rejected");
    if (at) {
        b->eline = at->line;
        b->ecol = at->col;
    }
    return MAMORI_EINVAL;
}

uint32_t sg_field_intern(struct sg_ruleset *rs, const char *name, size_t len)
{
    long id = sg_htab_get(&rs->fields, name, len);
    if (id >= 0)
        return (uint32_t)id;
    if (rs->nfields >= UINT32_MAX - 1 ||
        sg_grow((void **)&rs->fieldnames, &rs->capfields, rs->nfields + 1, sizeof *rs->fieldnames) < 0)
        return UINT32_MAX;
    char *s = sg_arena_strndup(&rs->arena, name, len);
    if (!s || sg_htab_put(&rs->fields, s, len, rs->nfields) < -1)
        return UINT32_MAX;
    rs->fieldnames[rs->nfields] = s;
    return rs->nfields++;
}

long sg_field_lookup(const struct sg_ruleset *rs, const char *name, size_t len)
{
    return sg_htab_get(&rs->fields, name, len);
}

int sg_note_field(struct sg_build *b, const char *name, size_t len)
{
    for (uint32_t i = 0; i < b->nfields; i++)
        if (strlen(b->fields[i]) == len && !memcmp(b->fields[i], name, len))
            return 0;
    if (sg_grow((void **)&b->fields, &b->capfields, b->nfields + 1, sizeof *b->fields) < 0)
        return MAMORI_ENOMEM;
    const char *s = sg_arena_strndup(&b->rs->arena, name, len);
    if (!s)
        return MAMORI_ENOMEM;
    b->fields[b->nfields++] = s;
    return 0;
}

static int count_node(struct sg_build *b)
{
    if (++b->nodes > SG_MAX_RULE_NODES)
        return sg_fail(b, NULL, "rule has more than %u predicates and logic nodes", SG_MAX_RULE_NODES);
    return 0;
}

long sg_pred_add(struct sg_build *b, const struct sg_pred *p, const char *key, size_t keylen)
{
    struct sg_ruleset *rs = b->rs;
    if (count_node(b) < 0) {
        sg_regex_free(p->re);
        return MAMORI_EINVAL;
    }
    long old = sg_htab_get(&rs->predkeys, key, keylen);
    if (old >= 0) {
        sg_regex_free(p->re); /* the shared one stays */
        return old;
    }
    char *k = sg_arena_strndup(&rs->arena, key, keylen);
    if (!k || sg_grow((void **)&rs->preds, &rs->cappreds, rs->npreds + 1, sizeof *rs->preds) < 0 ||
        sg_htab_put(&rs->predkeys, k, keylen, rs->npreds) < -1) {
        sg_regex_free(p->re);
        return MAMORI_ENOMEM;
    }
    rs->preds[rs->npreds] = *p;
    return rs->npreds++;
}

long sg_expr_leaf(struct sg_build *b, uint8_t kind, uint32_t a)
{
    struct sg_ruleset *rs = b->rs;
    if (count_node(b) < 0)
        return MAMORI_EINVAL;
    /* not(not x) = x */
    if (kind == SG_E_NOT && rs->exprs[a].kind == SG_E_NOT)
        return rs->exprs[a].a;
    if (sg_grow((void **)&rs->exprs, &rs->capexprs, rs->nexprs + 1, sizeof *rs->exprs) < 0)
        return MAMORI_ENOMEM;
    rs->exprs[rs->nexprs] = (struct sg_expr){.kind = kind, .a = a};
    return rs->nexprs++;
}

long sg_expr_list(struct sg_build *b, uint8_t kind, const uint32_t *kids, uint32_t n, uint32_t k)
{
    struct sg_ruleset *rs = b->rs;
    if (count_node(b) < 0)
        return MAMORI_EINVAL;
    if (n == 1 && kind != SG_E_ATLEAST)
        return kids[0];
    if (sg_grow((void **)&rs->kids, &rs->capkids, rs->nkids + n, sizeof *rs->kids) < 0 ||
        sg_grow((void **)&rs->exprs, &rs->capexprs, rs->nexprs + 1, sizeof *rs->exprs) < 0)
        return MAMORI_ENOMEM;
    if (n)
        memcpy(rs->kids + rs->nkids, kids, n * sizeof *kids);
    rs->exprs[rs->nexprs] = (struct sg_expr){.kind = kind, .a = rs->nkids, .n = n, .k = k};
    rs->nkids += n;
    return rs->nexprs++;
}
