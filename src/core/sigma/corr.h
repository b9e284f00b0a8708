/* corr.h - Sigma correlation rules: load, link to the detection rules, and
 * evaluate over the stream of detection hits.
 *
 * Data enters three ways: the rule loader hands every YAML document with a
 * top-level `correlation:` key to sg_corr_add (validated and copied; errors
 * leave through the diag callback as file:line:col + reason); the engine's
 * sg_compile calls sg_corr_link once all detection rules are loaded, which
 * resolves rule references and hides the rules a correlation consumes
 * (generate: false); at run time the hunt feeds every hit of a detection rule
 * the correlations use, in non-decreasing time order, to sg_corr_feed.
 * Correlation hits leave through the emit callback, in the order they become
 * known (see docs/sigma-correlation.md for the exact window semantics).
 *
 * Types: event_count, value_count, temporal, temporal_ordered, value_sum,
 * value_avg, value_percentile (and value_median = percentile 50).
 *
 * Bounds (state never grows with the input):
 *   SG_CORR_MAX_GROUPS open groups (one window each) over all correlations,
 *   SG_CORR_MAX_BYTES of window state; past either the least recently
 *   updated group is evicted and counted (sg_corr_evictions).
 *   Per group: SG_CORR_MAX_DISTINCT distinct values (value_count),
 *   SG_CORR_MAX_SAMPLES numeric samples (value_percentile), time slices of
 *   timespan/SG_CORR_SLICES (event_count, value_sum, value_avg); the oldest
 *   goes first and is counted as an eviction too. */
#ifndef MAMORI_CORE_SIGMA_CORR_H
#define MAMORI_CORE_SIGMA_CORR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sigma/event.h"

#define SG_CORR_MAX_GROUPS 100000u
#define SG_CORR_MAX_BYTES (64u * 1024 * 1024)
#define SG_CORR_MAX_DISTINCT 4096u
#define SG_CORR_MAX_SAMPLES 1024u
#define SG_CORR_SLICES 256u
#define SG_CORR_MAX_RULES 64u     /* rules referenced by one correlation */
#define SG_CORR_MAX_GROUP_BY 16u  /* group-by fields of one correlation */
#define SG_CORR_MAX_DEPTH 8u      /* correlations of correlations, nested */
#define SG_CORR_MAX_VALUE 4096u   /* bytes of a group value kept; longer ones are cut */

struct sg_corrset;
struct sg_corr_state;
struct sg_ruleset;
struct ynode;

#ifndef SG_DIAG_FN_DEFINED
#define SG_DIAG_FN_DEFINED
typedef void (*sg_diag_fn)(void *ctx, const char *file, unsigned line, unsigned col,
                           const char *reason);
#endif

struct sg_corrset *sg_corrset_new(void);
void sg_corrset_free(struct sg_corrset *cs);

/* One YAML document with a top-level `correlation:` key (the tree may be
 * freed after the call). Checks title, id, name, level, tags, generate and
 * the correlation section: type, rules, group-by, timespan (Ns Nm Nh Nd Nw),
 * condition (gt gte lt lte eq neq with a number; field for value_*;
 * percentile 0-100 for value_percentile), aliases. Returns 0, or a negative
 * MAMORI_E* code after reporting each problem through diag. */
int sg_corr_add(struct sg_corrset *cs, const struct ynode *doc, const char *file,
                sg_diag_fn diag, void *ctx);

/* Resolves every rule reference (name or id) to a detection rule of rs
 * (sg_rule_find) or to another correlation; rejects unresolved, ambiguous or
 * duplicate references, cycles and chains deeper than SG_CORR_MAX_DEPTH
 * (and any correlation built on a rejected one), reporting each. For every
 * accepted correlation with generate: false the detection rules it uses are
 * marked hidden (sg_rule_set_hidden) and the correlations it uses emit no
 * hits of their own (they still feed it). Returns the number rejected. */
int sg_corr_link(struct sg_corrset *cs, struct sg_ruleset *rs, sg_diag_fn diag, void *ctx);

/* All correlations added, linked or not; indexes are stable. */
uint32_t sg_corr_count(const struct sg_corrset *cs);

struct sg_corr_info {
    const char *id, *name, *title, *file, *type; /* id, name NULL when absent */
    int level; /* enum sg_level: 0 informational .. 4 critical; medium when absent */
    const char *const *tags;
    uint32_t ntags;
    const char *const *group_by;
    uint32_t ngroup_by;
};
const struct sg_corr_info *sg_corr_info(const struct sg_corrset *cs, uint32_t idx);

/* Fields a hit of detection rule rule_idx must carry for the correlations
 * that use it (group-by fields after aliases, value fields), without
 * duplicates. *names stays valid as long as cs. 0 when no correlation uses
 * the rule or before sg_corr_link. */
uint32_t sg_corr_fields_for_rule(const struct sg_corrset *cs, uint32_t rule_idx,
                                 const char *const **names);
bool sg_corr_uses_rule(const struct sg_corrset *cs, uint32_t rule_idx);

/* A correlation hit. first_ns/last_ns: earliest and latest event in the
 * window; count: events (or inner hits) in it; value: the measured quantity
 * (event count, distinct values, sum, average, percentile, or number of
 * referenced rules seen for temporal types). group_values is parallel to
 * info.group_by; an absent field gives "". All pointers are valid only during
 * the emit call. */
struct sg_corr_hit {
    uint32_t corr_idx;
    int64_t first_ns, last_ns;
    uint64_t count;
    double value;
    const char *const *group_values;
    uint32_t ngroup;
};
typedef void (*sg_corr_emit_fn)(void *ctx, const struct sg_corr_hit *hit);

/* Runtime state for one linked set (one per thread/hunt). NULL on no memory. */
struct sg_corr_state *sg_corr_state_new(const struct sg_corrset *cs);
void sg_corr_state_free(struct sg_corr_state *st);
/* One hit of detection rule rule_idx on ev (ev->time_ns must be known;
 * events with SG_TIME_UNKNOWN are ignored). Times must not decrease; an
 * earlier time is treated as the latest time seen. */
void sg_corr_feed(struct sg_corr_state *st, uint32_t rule_idx, const struct sg_event *ev,
                  sg_corr_emit_fn emit, void *ctx);
/* End of input: closes every open window (conditions with an upper bound
 * are decided then) and forgets all state. */
void sg_corr_finish(struct sg_corr_state *st, sg_corr_emit_fn emit, void *ctx);
/* Groups or window entries dropped to stay within the bounds. */
uint64_t sg_corr_evictions(const struct sg_corr_state *st);

#endif
