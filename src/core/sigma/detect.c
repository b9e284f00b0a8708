/* detect.c - a rule's detection section -> one logic node.
 *
 * Data enters as the YAML `detection` mapping; it leaves as a node index
 * (or an error with the position of what is wrong). Each key but
 * `condition` (and v1's `timeframe`, ignored) is a search identifier:
 *   - a mapping: every field/value entry must hold (AND);
 *   - a list of mappings: any of them (OR);
 *   - a list of plain values, or one value: keywords, any field of the
 *     event matching any of them;
 *   - a mapping key "|all" (or "|contains" ...) with an empty field name:
 *     keywords with modifiers.
 * The condition (a string, or a list of strings OR-ed) is parsed by cond.c
 * over those identifiers. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"
#include "core/ytree.h"

#define SG_MAX_IDENTS 256

static int parse_map(struct sg_build *b, const struct ynode *map, uint32_t *out)
{
    if (map->nchild == 0)
        return sg_fail(b, map, "empty mapping in a search identifier");
    uint32_t kids[256], nk = 0;
    for (const struct ynode *k = map->first; k && k->next; k = k->next->next) {
        if (k->type != YN_SCALAR)
            return sg_fail(b, k, "a field name must be a string");
        if (nk == 256)
            return sg_fail(b, k, "more than 256 fields in one mapping");
        int rc = sg_value_parse(b, k, k->str, k->next, &kids[nk]);
        if (rc < 0)
            return rc;
        nk++;
    }
    long r = sg_expr_list(b, SG_E_AND, kids, nk, 0);
    if (r < 0)
        return b->err[0] ? (int)r : sg_fail(b, map, "out of memory");
    *out = (uint32_t)r;
    return 0;
}

static int parse_search(struct sg_build *b, const struct ynode *name, const struct ynode *v,
                        uint32_t *out)
{
    if (!v || (v->type == YN_SCALAR && !v->quoted && v->len == 0))
        return sg_fail(b, name, "search identifier '%s' is empty", name->str);
    if (v->type == YN_MAP)
        return parse_map(b, v, out);
    if (v->type == YN_SCALAR)
        return sg_value_parse(b, name, "", v, out);
    /* a list: of mappings (OR), of plain values (keywords), or mixed */
    if (v->nchild == 0)
        return sg_fail(b, v, "search identifier '%s' is an empty list", name->str);
    bool all_scalars = true;
    for (const struct ynode *c = v->first; c; c = c->next)
        all_scalars = all_scalars && c->type == YN_SCALAR;
    if (all_scalars)
        return sg_value_parse(b, name, "", v, out);
    uint32_t *kids = calloc(v->nchild, sizeof *kids);
    if (!kids)
        return sg_fail(b, v, "out of memory");
    uint32_t nk = 0;
    int rc = 0;
    for (const struct ynode *c = v->first; c && rc == 0; c = c->next) {
        if (c->type == YN_MAP)
            rc = parse_map(b, c, &kids[nk]);
        else if (c->type == YN_SCALAR)
            rc = sg_value_parse(b, name, "", c, &kids[nk]);
        else
            rc = sg_fail(b, c, "a list inside a list in search identifier '%s'", name->str);
        nk += rc == 0;
    }
    if (rc == 0) {
        long r = sg_expr_list(b, SG_E_OR, kids, nk, 0);
        if (r < 0)
            rc = b->err[0] ? (int)r : sg_fail(b, v, "out of memory");
        else
            *out = (uint32_t)r;
    }
    free(kids);
    return rc;
}

int sg_detect_parse(struct sg_build *b, const struct ynode *det, uint32_t *root)
{
    if (!det || det->type != YN_MAP)
        return sg_fail(b, det, "'detection' must be a mapping");
    struct sg_ident ids[SG_MAX_IDENTS];
    uint32_t nids = 0;
    const struct ynode *cond = NULL, *condkey = NULL;
    for (const struct ynode *k = det->first; k && k->next; k = k->next->next) {
        if (k->type != YN_SCALAR)
            return sg_fail(b, k, "a search identifier must be a string");
        if (!strcmp(k->str, "condition")) {
            cond = k->next;
            condkey = k;
            continue;
        }
        if (!strcmp(k->str, "timeframe"))
            continue;
        if (nids == SG_MAX_IDENTS)
            return sg_fail(b, k, "more than %u search identifiers", SG_MAX_IDENTS);
        for (uint32_t i = 0; i < nids; i++)
            if (!strcmp(ids[i].name, k->str))
                return sg_fail(b, k, "search identifier '%s' given twice", k->str);
        int rc = parse_search(b, k, k->next, &ids[nids].expr);
        if (rc < 0)
            return rc;
        ids[nids++].name = k->str;
    }
    if (!cond)
        return sg_fail(b, det, "detection has no 'condition'");
    if (cond->type == YN_SCALAR)
        return sg_cond_parse(b, cond, cond->str, ids, nids, root);
    if (cond->type != YN_SEQ || cond->nchild == 0 || cond->nchild > 64)
        return sg_fail(b, condkey, "'condition' must be a string or a list of 1 to 64 strings");
    uint32_t kids[64], nk = 0;
    for (const struct ynode *c = cond->first; c; c = c->next) {
        if (c->type != YN_SCALAR)
            return sg_fail(b, c, "'condition' list items must be strings");
        int rc = sg_cond_parse(b, c, c->str, ids, nids, &kids[nk++]);
        if (rc < 0)
            return rc;
    }
    long r = sg_expr_list(b, SG_E_OR, kids, nk, 0);
    if (r < 0)
        return b->err[0] ? (int)r : sg_fail(b, cond, "out of memory");
    *root = (uint32_t)r;
    return 0;
}
