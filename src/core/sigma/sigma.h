/* sigma.h - the Sigma rule engine: load rules, compile them, match events.
 *
 * Data enters as YAML rule files (Sigma specification v2: detection rules,
 * and correlation documents handed to corr.c), an optional log-source
 * mapping (etc/sigma/logsources.yaml is embedded; sg_load_mapping replaces
 * it), and then one struct sg_event at a time (event.h). It leaves as rule
 * indexes of the detection rules that match an event, plus read-only rule
 * metadata (struct sg_rule_info). Every document that cannot be used is
 * reported through the caller's diag callback with file, line, column and a
 * reason in English, and counted; none is dropped silently.
 *
 *   struct sg_ruleset *rs = sg_ruleset_new();
 *   sg_load_path(rs, "rules/", diag, ctx);        // any number of times
 *   sg_compile(rs, diag, ctx);                    // once, after all loads
 *   struct sg_matcher *m = sg_matcher_new(rs);    // one per thread
 *   uint32_t hits[64], n = sg_match(m, &ev, hits, 64);
 *   ... sg_rule(rs, hits[i])->title ...
 *   sg_matcher_free(m); sg_ruleset_free(rs);
 *
 * The ruleset is read-only after sg_compile and may be shared by threads;
 * all per-event scratch lives in the matcher. No global state. */
#ifndef MAMORI_CORE_SIGMA_SIGMA_H
#define MAMORI_CORE_SIGMA_SIGMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sigma/event.h"

struct sg_ruleset;
struct sg_matcher;
struct sg_corrset;

/* A rejected document or mapping entry: where and why. line/col are 1-based
 * (0 when the whole file is concerned). */
#ifndef SG_DIAG_FN_DEFINED
#define SG_DIAG_FN_DEFINED
typedef void (*sg_diag_fn)(void *ctx, const char *file, unsigned line, unsigned col,
                           const char *reason);
#endif

enum sg_level { SG_LEVEL_INFORMATIONAL, SG_LEVEL_LOW, SG_LEVEL_MEDIUM, SG_LEVEL_HIGH, SG_LEVEL_CRITICAL };
#define SG_LEVELS 5

/* "informational" .. "critical"; an out-of-range level is clamped. */
const char *sg_level_name(int level);
/* The level named s (exactly, lower case), or -1. */
int sg_level_parse(const char *s);

struct sg_rule_info { /* stable after sg_compile, owned by the ruleset */
    const char *id, *name, *title, *status, *file; /* NULL when absent (file always set) */
    enum sg_level level;                            /* medium when the rule names none */
    const char *const *tags;
    uint32_t ntags;
    const char *product, *category, *service; /* logsource, NULL when absent */
    const char *const *fields;                /* event field names the detection reads */
    uint32_t nfields;
    bool is_correlation; /* always false here: correlations live in corr.c */
    bool hidden;         /* only feeds a correlation (generate: false) */
};

struct sg_load_stats {
    uint32_t files, docs, rules, correlations, rejected;
    uint32_t unmapped; /* loaded rules whose log source no mapping entry names: never match */
};

/* Bounds (a rule beyond one is rejected with the reason). */
#define SG_MAX_RULES 100000u       /* detection rules per ruleset */
#define SG_MAX_RULE_NODES 65536u   /* predicates + logic nodes of one rule */
#define SG_MAX_EXPANSION 256u      /* values one rule value may expand to (windash) */
#define SG_MAX_VALUE_BYTES 65536u  /* one rule value */
#define SG_MAX_REGEX_BYTES 8192u   /* one regular expression */
#define SG_MAX_FILE_BYTES (4u * 1024 * 1024) /* one rule file */
#define SG_MAX_EVENT_FIELDS 4096u  /* fields of one event looked at (more are ignored) */
#define SG_MAX_SCRATCH (32u * 1024 * 1024)   /* per-event scratch of a matcher */

struct sg_ruleset *sg_ruleset_new(void);
void sg_ruleset_free(struct sg_ruleset *rs);

/* Loads one .yml/.yaml file or a directory (recursive, sorted by name, only
 * *.yml and *.yaml, hidden entries skipped). Returns 0, or a negative MAMORI_E*
 * when the path itself cannot be read (reported through diag too). */
int sg_load_path(struct sg_ruleset *rs, const char *path, sg_diag_fn diag, void *ctx);
/* Loads rule text from memory; name is used as the file in messages. */
int sg_load_mem(struct sg_ruleset *rs, const char *text, size_t len, const char *name,
                sg_diag_fn diag, void *ctx);
/* Replaces the embedded log-source mapping. Returns 0, or a negative
 * MAMORI_E* after reporting the reason (the previous mapping stays). */
int sg_load_mapping(struct sg_ruleset *rs, const char *path, sg_diag_fn diag, void *ctx);
int sg_load_mapping_mem(struct sg_ruleset *rs, const char *text, size_t len, const char *name,
                        sg_diag_fn diag, void *ctx);
/* After all loads: builds the matcher tables and links correlations. Once. */
int sg_compile(struct sg_ruleset *rs, sg_diag_fn diag, void *ctx);

const struct sg_load_stats *sg_load_stats(const struct sg_ruleset *rs);
uint32_t sg_rule_count(const struct sg_ruleset *rs);
const struct sg_rule_info *sg_rule(const struct sg_ruleset *rs, uint32_t idx);
/* Index of the rule whose name or id is name_or_id, or -1. */
long sg_rule_find(const struct sg_ruleset *rs, const char *name_or_id);
void sg_rule_set_hidden(struct sg_ruleset *rs, uint32_t idx, bool hidden);
struct sg_corrset *sg_ruleset_corr(const struct sg_ruleset *rs);

/* One matcher per thread (scratch space); NULL when out of memory or the
 * ruleset is not compiled. */
struct sg_matcher *sg_matcher_new(const struct sg_ruleset *rs);
void sg_matcher_free(struct sg_matcher *m);
/* Indexes of the detection rules that match ev (hidden ones included),
 * ascending, at most cap written; returns how many matched (may exceed cap). */
uint32_t sg_match(struct sg_matcher *m, const struct sg_event *ev, uint32_t *hits, uint32_t cap);

#endif
