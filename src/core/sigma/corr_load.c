/* corr_load.c - reads one Sigma correlation document into a struct corr.
 *
 * Input: the ynode tree of a YAML document whose top level has a
 * `correlation:` key (sg_corr_add); everything kept is copied, so the tree
 * may go right after. Every problem is reported through the caller's diag
 * callback with the file, line and column of the offending node and a plain
 * English reason; a document with any problem is not added. Also owns the
 * set itself (sg_corrset_new/free) and the read-only accessors. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/corr_int.h"
#include "core/ytree.h"

#define CORR_MAX_TITLE 256u
#define CORR_MAX_TAGS 64u
#define CORR_MAX_ALIASES 64u
#define CORR_MAX_NAME 1024u /* rule references, field names, ids */
#define CORR_MAX_SPAN_S (366LL * 86400)

static const char *const type_names[] = {
    [CT_EVENT_COUNT] = "event_count",       [CT_VALUE_COUNT] = "value_count",
    [CT_TEMPORAL] = "temporal",             [CT_TEMPORAL_ORDERED] = "temporal_ordered",
    [CT_VALUE_SUM] = "value_sum",           [CT_VALUE_AVG] = "value_avg",
    [CT_VALUE_PERCENTILE] = "value_percentile",
};
static const char *const op_names[OP_COUNT] = {"gt", "gte", "lt", "lte", "eq", "neq"};
static const char *const level_names[] = {"informational", "low", "medium", "high", "critical"};

struct ld {
    const char *file;
    sg_diag_fn diag;
    void *ctx;
    int errors;
    bool nomem;
};

static void bad(struct ld *ld, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad(struct ld *ld, const struct ynode *n, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    ld->errors++;
    if (ld->diag)
        ld->diag(ld->ctx, ld->file, n ? n->line : 0, n ? n->col : 0, reason);
}

static char *dup_str(struct ld *ld, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        ld->nomem = true;
    return d;
}

/* A plain scalar string of at most max bytes, or NULL after a report. */
static const char *want_str(struct ld *ld, const struct ynode *n, const char *what, size_t max)
{
    if (!n || n->type != YN_SCALAR || !n->str) {
        bad(ld, n, "%s must be a text value", what);
        return NULL;
    }
    if (n->len == 0) {
        bad(ld, n, "%s is empty", what);
        return NULL;
    }
    if (n->len > max) {
        bad(ld, n, "%s is longer than %zu characters", what, max);
        return NULL;
    }
    return n->str;
}

/* A scalar or a sequence of scalars, copied into a NULL-terminated array of
 * unique strings. Returns the count, or -1 after a report. */
static int want_list(struct ld *ld, const struct ynode *n, const char *what, uint32_t max,
                     char ***out, const struct ynode ***nodes)
{
    *out = NULL;
    size_t cnt = n->type == YN_SEQ ? n->nchild : 1;
    if (n->type == YN_MAP) {
        bad(ld, n, "%s must be a list of text values", what);
        return -1;
    }
    if (cnt == 0) {
        bad(ld, n, "%s is an empty list", what);
        return -1;
    }
    if (cnt > max) {
        bad(ld, n, "%s has %zu entries; at most %u are allowed", what, cnt, max);
        return -1;
    }
    char **v = calloc(cnt + 1, sizeof *v);
    const struct ynode **nv = nodes ? calloc(cnt, sizeof *nv) : NULL;
    if (!v || (nodes && !nv)) {
        free(v);
        free(nv);
        ld->nomem = true;
        return -1;
    }
    bool ok = true;
    const struct ynode *e = n->type == YN_SEQ ? n->first : n;
    for (size_t i = 0; i < cnt && e; i++, e = e->next) {
        const char *s = want_str(ld, e, what, CORR_MAX_NAME);
        if (!s) {
            ok = false;
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (v[j] && !strcmp(v[j], s)) {
                bad(ld, e, "%s lists '%s' twice", what, s);
                ok = false;
            }
        v[i] = dup_str(ld, s);
        if (nv)
            nv[i] = e;
    }
    if (!ok || ld->nomem) {
        for (size_t j = 0; j < cnt; j++)
            free(v[j]);
        free(v);
        free(nv);
        return -1;
    }
    *out = v;
    if (nodes)
        *nodes = nv;
    return (int)cnt;
}

static void free_strv(char **v, uint32_t n)
{
    if (!v)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void corr_clear(struct corr *c)
{
    free(c->id);
    free(c->name);
    free(c->title);
    free(c->file);
    free_strv(c->tags, c->info.ntags);
    for (uint32_t i = 0; i < c->nrefs; i++) {
        free(c->refs[i].text);
        free_strv(c->refs[i].gb_field, c->info.ngroup_by);
        free(c->refs[i].value_field);
    }
    free(c->refs);
    free_strv(c->group_by, c->info.ngroup_by);
    for (uint32_t i = 0; i < c->naliases; i++) {
        free(c->aliases[i].name);
        for (uint32_t j = 0; j < c->aliases[i].nmap; j++) {
            free(c->aliases[i].map[j].rule);
            free(c->aliases[i].map[j].field);
        }
        free(c->aliases[i].map);
    }
    free(c->aliases);
    free(c->field);
    free(c->users);
    memset(c, 0, sizeof *c);
}

/* ---- timespan and condition ---- */

/* "<digits><s|m|h|d|w>", positive, at most CORR_MAX_SPAN_S. */
static bool parse_span(const char *s, int64_t *ns)
{
    int64_t n = 0;
    const char *p = s;
    if (*p < '1' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n > CORR_MAX_SPAN_S)
            return false;
    }
    int64_t unit;
    switch (*p) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return false;
    }
    if (p[1] || n * unit > CORR_MAX_SPAN_S)
        return false;
    *ns = n * unit * 1000000000LL;
    return true;
}

static bool parse_number(const struct ynode *n, double *v)
{
    if (!n || n->type != YN_SCALAR || !n->str || !n->len)
        return false;
    char *end;
    errno = 0;
    double d = strtod(n->str, &end);
    if (*end || errno || !isfinite(d))
        return false;
    *v = d;
    return true;
}

static bool is_value_type(enum corr_type t)
{
    return t == CT_VALUE_COUNT || t == CT_VALUE_SUM || t == CT_VALUE_AVG ||
           t == CT_VALUE_PERCENTILE;
}

static void load_condition(struct ld *ld, struct corr *c, const struct ynode *cond, bool median)
{
    if (cond->type == YN_SCALAR) {
        bad(ld, cond,
            "condition must be a mapping such as {gte: 10}; boolean expressions over rules are "
            "not supported");
        return;
    }
    if (cond->type != YN_MAP) {
        bad(ld, cond, "condition must be a mapping such as {gte: 10}");
        return;
    }
    const struct ynode *field = NULL, *pct = NULL;
    for (const struct ynode *k = cond->first; k && k->next; k = k->next->next) {
        const struct ynode *v = k->next;
        int op = -1;
        for (int i = 0; i < OP_COUNT; i++)
            if (ynode_is(k, op_names[i]))
                op = i;
        if (op >= 0) {
            if (!parse_number(v, &c->cond.v[op]))
                bad(ld, v, "condition %s needs a number", op_names[op]);
            c->cond.has |= 1u << op;
        } else if (ynode_is(k, "field")) {
            field = v;
        } else if (ynode_is(k, "percentile")) {
            pct = v;
        } else {
            bad(ld, k, "unknown condition key '%s' (expected gt, gte, lt, lte, eq, neq, field%s)",
                k->str ? k->str : "?", c->type == CT_VALUE_PERCENTILE ? ", percentile" : "");
        }
    }
    if (!c->cond.has)
        bad(ld, cond, "condition has no comparison (gt, gte, lt, lte, eq or neq)");
    if (is_value_type(c->type)) {
        if (!field)
            bad(ld, cond, "%s needs the field to measure (condition: field: NAME)",
                type_names[c->type]);
        else if (field->type == YN_SEQ)
            bad(ld, field, "condition field must be one field name, not a list");
        else if (want_str(ld, field, "condition field", CORR_MAX_NAME))
            c->field = dup_str(ld, field->str);
    } else if (field) {
        bad(ld, field, "condition field is only used by value_* correlation types");
    }
    if (median) {
        if (pct)
            bad(ld, pct, "value_median takes no percentile (it is the 50th)");
    } else if (c->type == CT_VALUE_PERCENTILE) {
        if (!pct)
            bad(ld, cond, "value_percentile needs the percentile to compute (percentile: 0-100)");
        else if (!parse_number(pct, &c->percentile) || c->percentile < 0 ||
                 c->percentile > 100)
            bad(ld, pct, "percentile must be a number from 0 to 100");
    } else if (pct) {
        bad(ld, pct, "percentile is only used by value_percentile");
    }
}

/* generate: true|false, at the top level (specification) or in the
 * correlation section (pySigma); true in either place wins. */
static void load_generate(struct ld *ld, struct corr *c, const struct ynode *n)
{
    if (ynode_is(n, "true") && !n->quoted)
        c->generate = true;
    else if (!(ynode_is(n, "false") && !n->quoted))
        bad(ld, n, "generate must be true or false");
}

/* ---- the correlation section ---- */

static void load_rules(struct ld *ld, struct corr *c, const struct ynode *n)
{
    char **v;
    const struct ynode **nodes;
    int cnt = want_list(ld, n, "rules", SG_CORR_MAX_RULES, &v, &nodes);
    if (cnt < 0)
        return;
    c->refs = calloc((size_t)cnt, sizeof *c->refs);
    if (!c->refs) {
        ld->nomem = true;
        free_strv(v, (uint32_t)cnt);
        free(nodes);
        return;
    }
    for (int i = 0; i < cnt; i++) {
        c->refs[i].text = v[i];
        c->refs[i].line = nodes[i]->line;
        c->refs[i].col = nodes[i]->col;
    }
    c->nrefs = (uint32_t)cnt;
    free(v);
    free(nodes);
}

static void load_aliases(struct ld *ld, struct corr *c, const struct ynode *n)
{
    if (n->type != YN_MAP) {
        bad(ld, n, "aliases must be a mapping of alias name to {rule: field}");
        return;
    }
    if (n->nchild / 2 > CORR_MAX_ALIASES) {
        bad(ld, n, "more than %u aliases", CORR_MAX_ALIASES);
        return;
    }
    c->aliases = calloc(n->nchild / 2 + 1, sizeof *c->aliases);
    if (!c->aliases) {
        ld->nomem = true;
        return;
    }
    for (const struct ynode *k = n->first; k && k->next; k = k->next->next) {
        const struct ynode *m = k->next;
        if (!want_str(ld, k, "alias name", CORR_MAX_NAME))
            continue;
        if (m->type != YN_MAP || m->nchild == 0) {
            bad(ld, m, "alias '%s' must map rule names to field names", k->str);
            continue;
        }
        struct corr_alias *a = &c->aliases[c->naliases++];
        a->name = dup_str(ld, k->str);
        a->map = calloc(m->nchild / 2, sizeof *a->map);
        if (!a->map) {
            ld->nomem = true;
            return;
        }
        for (const struct ynode *r = m->first; r && r->next; r = r->next->next) {
            const char *rule = want_str(ld, r, "alias rule name", CORR_MAX_NAME);
            const char *fld = want_str(ld, r->next, "alias field name", CORR_MAX_NAME);
            if (!rule || !fld)
                continue;
            struct corr_alias_map *e = &a->map[a->nmap++];
            e->rule = dup_str(ld, rule);
            e->field = dup_str(ld, fld);
            e->line = r->line;
            e->col = r->col;
        }
    }
}

static void load_section(struct ld *ld, struct corr *c, const struct ynode *sec)
{
    const struct ynode *type = NULL, *rules = NULL, *gb = NULL, *span = NULL, *cond = NULL;
    for (const struct ynode *k = sec->first; k && k->next; k = k->next->next) {
        const struct ynode *v = k->next;
        if (ynode_is(k, "type"))
            type = v;
        else if (ynode_is(k, "rules"))
            rules = v;
        else if (ynode_is(k, "group-by"))
            gb = v;
        else if (ynode_is(k, "timespan"))
            span = v;
        else if (ynode_is(k, "condition"))
            cond = v;
        else if (ynode_is(k, "aliases"))
            load_aliases(ld, c, v);
        else if (ynode_is(k, "generate")) /* pySigma reads it here, the specification above */
            load_generate(ld, c, v);
        else
            bad(ld, k, "unknown key '%s' in correlation (expected type, rules, group-by, "
                       "timespan, condition, aliases, generate)", k->str ? k->str : "?");
    }
    bool type_ok = false;
    if (!type) {
        bad(ld, sec, "correlation has no type");
    } else if (want_str(ld, type, "type", 64)) {
        for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
            if (ynode_is(type, type_names[i])) {
                c->type = (enum corr_type)i;
                type_ok = true;
            }
        if (ynode_is(type, "value_median")) {
            c->type = CT_VALUE_PERCENTILE;
            c->percentile = 50;
            type_ok = true;
        }
        if (!type_ok)
            bad(ld, type, "unknown correlation type '%s' (expected event_count, value_count, "
                          "temporal, temporal_ordered, value_sum, value_avg, value_percentile)",
                type->str);
    }
    bool median = type_ok && ynode_is(type, "value_median");
    c->median = median;
    if (!rules)
        bad(ld, sec, "correlation has no rules");
    else
        load_rules(ld, c, rules);
    if (gb) {
        int cnt = want_list(ld, gb, "group-by", SG_CORR_MAX_GROUP_BY, &c->group_by, NULL);
        c->info.ngroup_by = cnt > 0 ? (uint32_t)cnt : 0;
    }
    if (!span)
        bad(ld, sec, "correlation has no timespan");
    else if (want_str(ld, span, "timespan", 16) && !parse_span(span->str, &c->span_ns))
        bad(ld, span, "timespan '%s' is not a positive number followed by s, m, h, d or w "
                      "(at most 366 days)", span->str);
    if (!type_ok)
        return;
    bool temporal = c->type == CT_TEMPORAL || c->type == CT_TEMPORAL_ORDERED;
    if (cond) {
        load_condition(ld, c, cond, median);
    } else if (temporal) {
        c->cond.has = 1u << OP_GTE; /* all referenced rules */
        c->cond.v[OP_GTE] = c->nrefs;
    } else {
        bad(ld, sec, "%s needs a condition", type_names[c->type]);
    }
    unsigned upper = (1u << OP_LT) | (1u << OP_LTE) | (1u << OP_EQ) | (1u << OP_NEQ);
    c->closing = (c->cond.has & upper) != 0;
}

/* ---- top level ---- */

static void load_meta(struct ld *ld, struct corr *c, const struct ynode *doc)
{
    const struct ynode *n;
    if (!(n = ynode_get(doc, "title")))
        bad(ld, doc, "correlation has no title");
    else if (want_str(ld, n, "title", CORR_MAX_TITLE))
        c->title = dup_str(ld, n->str);
    if ((n = ynode_get(doc, "id")) && want_str(ld, n, "id", CORR_MAX_NAME))
        c->id = dup_str(ld, n->str);
    if ((n = ynode_get(doc, "name")) && want_str(ld, n, "name", CORR_MAX_NAME))
        c->name = dup_str(ld, n->str);
    c->info.level = 2;
    if ((n = ynode_get(doc, "level")) && want_str(ld, n, "level", 32)) {
        int lv = -1;
        for (int i = 0; i < 5; i++)
            if (ynode_is(n, level_names[i]))
                lv = i;
        if (lv < 0)
            bad(ld, n, "unknown level '%s' (expected informational, low, medium, high, critical)",
                n->str);
        else
            c->info.level = lv;
    }
    if ((n = ynode_get(doc, "tags"))) {
        int cnt = want_list(ld, n, "tags", CORR_MAX_TAGS, &c->tags, NULL);
        c->info.ntags = cnt > 0 ? (uint32_t)cnt : 0;
    }
    if ((n = ynode_get(doc, "generate")))
        load_generate(ld, c, n);
}

static int corr_grow(struct sg_corrset *cs)
{
    if (cs->n < cs->cap)
        return 0;
    uint32_t cap = cs->cap ? cs->cap * 2 : 16;
    struct corr *c = realloc(cs->c, cap * sizeof *c);
    if (!c)
        return MAMORI_ENOMEM;
    cs->c = c;
    cs->cap = cap;
    return 0;
}

static void fill_info(struct corr *c)
{
    c->info.id = c->id;
    c->info.name = c->name;
    c->info.title = c->title;
    c->info.file = c->file;
    c->info.type = c->median ? "value_median" : type_names[c->type];
    c->info.tags = (const char *const *)c->tags;
    c->info.group_by = (const char *const *)c->group_by;
}

int sg_corr_add(struct sg_corrset *cs, const struct ynode *doc, const char *file,
                sg_diag_fn diag, void *ctx)
{
    struct ld ld = {.file = file ? file : "-", .diag = diag, .ctx = ctx};
    if (!cs)
        return MAMORI_EINVAL;
    const struct ynode *sec = doc && doc->type == YN_MAP ? ynode_get(doc, "correlation") : NULL;
    if (!sec) {
        bad(&ld, doc, "not a correlation: the document has no correlation mapping");
        return MAMORI_EINVAL;
    }
    struct corr c = {0};
    const struct ynode *key = doc->first;
    while (key && key->next && key->next != sec)
        key = key->next->next;
    c.line = key ? key->line : sec->line;
    c.col = key ? key->col : sec->col;
    if (sec->type != YN_MAP)
        bad(&ld, sec, "correlation must be a mapping");
    else
        load_section(&ld, &c, sec);
    if (ynode_get(doc, "detection"))
        bad(&ld, ynode_get(doc, "detection"),
            "a document is either a rule (detection) or a correlation, not both");
    load_meta(&ld, &c, doc);
    c.file = dup_str(&ld, ld.file);
    if (ld.nomem && !ld.errors)
        bad(&ld, doc, "out of memory while loading the correlation");
    if (ld.errors || corr_grow(cs) < 0) {
        corr_clear(&c);
        return ld.nomem ? MAMORI_ENOMEM : MAMORI_EINVAL;
    }
    fill_info(&c);
    cs->c[cs->n++] = c;
    return 0;
}

/* ---- the set ---- */

struct sg_corrset *sg_corrset_new(void)
{
    return calloc(1, sizeof(struct sg_corrset));
}

void sg_corrset_free(struct sg_corrset *cs)
{
    if (!cs)
        return;
    for (uint32_t i = 0; i < cs->n; i++)
        corr_clear(&cs->c[i]);
    free(cs->c);
    free(cs->uses);
    for (uint32_t i = 0; i < cs->nrf; i++)
        free(cs->rf[i].names);
    free(cs->rf);
    free(cs);
}

uint32_t sg_corr_count(const struct sg_corrset *cs)
{
    return cs ? cs->n : 0;
}

const struct sg_corr_info *sg_corr_info(const struct sg_corrset *cs, uint32_t idx)
{
    return cs && idx < cs->n ? &cs->c[idx].info : NULL;
}
