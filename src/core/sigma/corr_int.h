/* corr_int.h - private structures shared by the correlation files.
 *
 * corr_load.c fills struct corr from YAML (sg_corr_add), corr_link.c adds the
 * resolved references and the per-rule tables (sg_corr_link), corr_window.c
 * keeps the aggregate of one group's window, and corr_state.c owns the groups,
 * the bounds and the emission. Nothing here is part of the public interface
 * (corr.h). */
#ifndef MAMORI_CORE_SIGMA_CORR_INT_H
#define MAMORI_CORE_SIGMA_CORR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/sigma/corr.h"

enum corr_type {
    CT_EVENT_COUNT,
    CT_VALUE_COUNT,
    CT_TEMPORAL,
    CT_TEMPORAL_ORDERED,
    CT_VALUE_SUM,
    CT_VALUE_AVG,
    CT_VALUE_PERCENTILE,
};

/* Condition operators; a condition holds when every operator present holds. */
enum corr_op { OP_GT, OP_GTE, OP_LT, OP_LTE, OP_EQ, OP_NEQ, OP_COUNT };

struct corr_cond {
    unsigned has; /* bit (1u << op) per operator present */
    double v[OP_COUNT];
};

/* One entry of `rules:`. The fields are resolved by sg_corr_link. */
struct corr_ref {
    char *text;
    unsigned line, col;
    bool is_corr;      /* idx names a correlation, else a detection rule */
    uint32_t idx;
    char **gb_field;   /* per group-by entry: event field after aliases */
    char *value_field; /* value_* types: the field after aliases, else NULL */
};

/* aliases: <alias>: { <rule ref>: <field> } */
struct corr_alias_map {
    char *rule, *field;
    unsigned line, col;
};
struct corr_alias {
    char *name;
    struct corr_alias_map *map;
    uint32_t nmap;
};

/* A correlation that uses this one as its input (chaining). */
struct corr_user {
    uint32_t corr, ref;
};

struct corr {
    struct sg_corr_info info; /* pointers into the strings below */
    char *id, *name, *title, *file;
    char **tags;
    char **group_by;
    enum corr_type type;
    unsigned line, col; /* the `correlation:` key, for link-time reports */
    struct corr_ref *refs;
    uint32_t nrefs;
    struct corr_alias *aliases;
    uint32_t naliases;
    int64_t span_ns;
    struct corr_cond cond;
    char *field;       /* value_* types */
    double percentile; /* value_percentile: 0..100 */
    bool median;       /* written as value_median */
    bool generate;
    bool closing;      /* the condition has an upper bound: decided when the window closes */
    /* set by sg_corr_link */
    bool linked, rejected, hidden;
    struct corr_user *users;
    uint32_t nusers;
};

/* Which (correlation, reference) pairs a detection rule feeds. */
struct corr_use {
    uint32_t rule, corr, ref;
};
struct corr_rule_fields {
    uint32_t rule;
    const char **names;
    uint32_t n;
};

struct sg_corrset {
    struct corr *c;
    uint32_t n, cap;
    struct corr_use *uses; /* sorted by rule */
    uint32_t nuses;
    struct corr_rule_fields *rf; /* sorted by rule */
    uint32_t nrf;
};

/* ---- corr_window.c: the aggregate over one group's window ---- */

/* One input of a correlation: a detection hit or an inner correlation hit. */
struct corr_item {
    uint32_t ref;          /* position in the correlation's rules list */
    int64_t t;             /* time used for windows */
    int64_t first, last;   /* span of the underlying events */
    const char *value;     /* value field, NULL when absent */
};

struct cw_slot {
    int64_t t0, first; /* first item's window time, earliest event */
    uint64_t count;
    double sum;
    uint64_t nnum; /* items with a numeric value */
};

struct cw_distinct; /* value_count's table (corr_window.c) */

struct cw_sample {
    int64_t t;
    double v;
};

struct corr_window {
    struct cw_slot *slot;
    uint32_t shead, slen, scap;
    struct cw_distinct *dist;
    struct cw_sample *smp;
    uint32_t mhead, mlen, mcap;
    int64_t *seen;  /* temporal: last time per reference; ordered: chain start per position */
    int64_t last;   /* latest event in the window; INT64_MIN when empty */
};

/* Budget callbacks: the window asks before growing; a refusal makes it drop
 * its own oldest entry instead (counted in *evictions). */
struct cw_budget {
    bool (*reserve)(void *ctx, size_t bytes);
    void (*release)(void *ctx, size_t bytes);
    void *ctx;
    uint64_t *evictions;
    const uint64_t *key; /* the state's hash key (corr_hash) */
};

int cw_add(struct corr_window *w, const struct corr *c, const struct corr_item *it,
           int64_t cutoff, const struct cw_budget *b);
void cw_expire(struct corr_window *w, const struct corr *c, int64_t cutoff);
/* Measures the window (items at or after cutoff). false when the type has no
 * value yet (average or percentile of no numbers). scratch: SG_CORR_MAX_SAMPLES doubles. */
bool cw_measure(const struct corr_window *w, const struct corr *c, int64_t cutoff,
                double *scratch, double *value, uint64_t *count, int64_t *first);
void cw_free(struct corr_window *w, const struct corr *c, const struct cw_budget *b);

bool corr_cond_holds(const struct corr_cond *cond, double v);

/* ---- corr_hash.c ---- */

/* SipHash-2-4 of len bytes under a 128-bit key. */
uint64_t corr_hash(const uint64_t key[2], const void *data, size_t len);
/* A fresh random key (getrandom; a clock-based fallback). */
void corr_hash_key(uint64_t key[2]);

#endif
