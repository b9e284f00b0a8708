/* sigma_int.h - what the files of the Sigma engine share (not for callers).
 *
 * Flow: load.c reads YAML documents and their metadata; detect.c turns a
 * detection section into logic nodes over predicates, with modifier.c
 * turning each field/modifier/value triple into predicates and cond.c
 * parsing the condition; mapping.c holds the log-source mapping; compile.c
 * builds the channel/event-id buckets and derived-field plans; match.c
 * evaluates events; pattern.c owns the text primitives (folding, wildcard
 * globs, numbers, CIDR, time parts) and regex.c the PCRE2 side.
 *
 * Ownership: everything a ruleset allocates lives in its arena (strings,
 * small arrays) or in the growable tables below, freed by sg_ruleset_free.
 * Predicates are shared across rules: one (field, operator, flags, value) is
 * stored once and evaluated at most once per event (matcher memo). */
#ifndef MAMORI_CORE_SIGMA_SIGMA_INT_H
#define MAMORI_CORE_SIGMA_SIGMA_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sigma/corr.h"
#include "core/sigma/sigma.h"

struct ynode;

/* ---- arena: bump allocator of blocks, freed at once ---- */
struct sg_ablock;
struct sg_arena {
    struct sg_ablock *head;
    size_t total; /* bytes handed out */
};
void *sg_arena_alloc(struct sg_arena *a, size_t n); /* zeroed, 16-aligned; NULL on OOM */
char *sg_arena_strndup(struct sg_arena *a, const char *s, size_t len);
void sg_arena_free(struct sg_arena *a);

/* ---- growable array helper: 0 or MAMORI_ENOMEM ---- */
int sg_grow(void **arr, uint32_t *cap, uint32_t need, size_t elsz);

/* ---- string hash table (name -> uint32): exact, or ignoring ASCII case
 * and spaces (nocase) ---- */
struct sg_htab {
    struct sg_hslot *slots;
    uint32_t cap, n;
    bool nocase;
};
struct sg_hslot {
    const char *key; /* not owned */
    uint32_t len, hash, val;
};
uint32_t sg_hash(const char *s, size_t len, bool nocase);
/* Value stored under key, or -1. */
long sg_htab_get(const struct sg_htab *h, const char *key, size_t len);
/* Puts key (must outlive the table) -> val; returns the existing value when
 * the key is present (and does not replace it), -1 when inserted, or
 * MAMORI_ENOMEM - 100 on allocation failure (always < -1). */
long sg_htab_put(struct sg_htab *h, const char *key, size_t len, uint32_t val);
void sg_htab_free(struct sg_htab *h);

/* ---- predicates ---- */
#define SG_FIELD_ANY UINT32_MAX /* keyword search: any field value */

enum sg_op {
    SG_OP_EQ,       /* value == needle */
    SG_OP_CONTAINS, /* needle anywhere */
    SG_OP_PREFIX,
    SG_OP_SUFFIX,
    SG_OP_GLOB,     /* wildcard pattern (glob tokens) */
    SG_OP_NUMEQ,    /* unquoted integer: text equality or numeric equality */
    SG_OP_LT,
    SG_OP_LTE,
    SG_OP_GT,
    SG_OP_GTE,
    SG_OP_RE,       /* PCRE2 search */
    SG_OP_CIDR,
    SG_OP_EXISTS,   /* field present (any value) */
    SG_OP_NULL,     /* field absent or empty */
    SG_OP_REF_EQ,   /* fieldref: value equals a value of field ref */
    SG_OP_REF_CONTAINS,
    SG_OP_REF_PREFIX,
    SG_OP_REF_SUFFIX,
    SG_OP_NEVER,    /* matches nothing (unresolved placeholder) */
};

enum sg_tpart { SG_T_NONE, SG_T_MINUTE, SG_T_HOUR, SG_T_DAY, SG_T_WEEK, SG_T_MONTH, SG_T_YEAR };

#define SG_PF_CASED 1u /* compare case-sensitively (needle not folded) */

enum sg_gkind { SG_G_LIT, SG_G_STAR, SG_G_ONE };
struct sg_gtok {
    uint8_t kind;
    uint32_t off, len; /* SG_G_LIT: bytes of the needle */
};

struct sg_cidr {
    uint8_t addr[16];
    uint8_t bits;
    bool v6;
};

struct sg_pred {
    uint32_t field; /* interned id or SG_FIELD_ANY */
    uint32_t ref;   /* fieldref: the other field's id */
    uint8_t op, flags, tpart;
    uint32_t nlen;
    const char *needle; /* text ops (folded unless cased), NUMEQ text */
    const struct sg_gtok *tok;
    uint32_t ntok;
    double num;
    void *re; /* struct sg_regex (regex.c) */
    struct sg_cidr cidr;
    uint32_t grp; /* literal group index+1 (hsscan.c, set at compile), 0 none */
};

/* ---- logic nodes ---- */
enum sg_ekind { SG_E_PRED, SG_E_AND, SG_E_OR, SG_E_NOT, SG_E_TRUE, SG_E_FALSE, SG_E_ATLEAST };
struct sg_expr {
    uint8_t kind;
    uint32_t a; /* PRED: predicate; NOT: child node; AND/OR/ATLEAST: first kid index */
    uint32_t n; /* AND/OR/ATLEAST: number of kids */
    uint32_t k; /* ATLEAST: how many kids must hold */
};

/* ---- mapping (mapping.c) ---- */
struct sg_sel { /* one way a log source appears in events */
    const char *channel;  /* exact (case-insensitive), "*" any */
    const char *provider; /* NULL: any */
    uint32_t *eids, neids; /* empty: any */
    const char **eqf, **eqv; /* field equalities (case-insensitive) */
    uint32_t neq;
    const char **exf; /* fields that must be present, any value */
    uint32_t nex;
    unsigned line, col;
};
struct sg_lsrc {
    const char *product, *category, *service; /* NULL: not given */
    struct sg_sel *sels;
    uint32_t nsels;
};
enum sg_dkind { SG_D_COPY, SG_D_JOIN, SG_D_MAP, SG_D_HEX };
struct sg_dfield { /* a field computed for events of a channel/event id */
    const char *name;
    uint8_t kind;
    const char **src; /* source field names (JOIN: several) */
    uint32_t nsrc;
    const char *sep;             /* JOIN */
    const char **mk, **mv;       /* MAP: from -> to (case-insensitive from) */
    uint32_t nmap;
    bool keep_unmapped;          /* MAP: copy values not in the table */
};
struct sg_derive {
    const char *channel;
    uint32_t *eids, neids;
    struct sg_dfield *f;
    uint32_t nf;
};
struct sg_placeholder {
    const char *name;
    const char **values;
    uint32_t n;
};
struct sg_mapping {
    struct sg_arena arena;
    struct sg_lsrc *src;
    uint32_t nsrc;
    struct sg_derive *der;
    uint32_t nder;
    struct sg_placeholder *ph;
    uint32_t nph;
};
int sg_mapping_parse(struct sg_mapping *mp, const char *text, size_t len, const char *name,
                     sg_diag_fn diag, void *ctx);
void sg_mapping_free(struct sg_mapping *mp);
extern const char sg_embedded_mapping[];
extern const char sg_embedded_mapping_end[];

/* ---- compiled tables (compile.c, read by match.c) ---- */
struct sg_bent {
    uint32_t rule, expr;
};
struct sg_cdfield { /* sg_dfield with field ids */
    const struct sg_dfield *d;
    uint32_t out;
    uint32_t src[4];
};
struct sg_bucket {
    const struct sg_bent *ents;
    uint32_t nents;
    const struct sg_cdfield *der; /* derived fields for these events */
    uint32_t nder;
    /* anchor.c: entries evaluated whatever the literals (ascending), the
     * anchor predicates (ascending) with the entries each wakes
     * (aent[aoff[i]..aoff[i+1])), and the literal groups they belong to */
    const uint32_t *open;
    uint32_t nopen;
    const uint32_t *apred, *aoff, *aent;
    uint32_t napred;
    const uint32_t *groups;
    uint32_t ngroups;
};
struct sg_chan {
    uint32_t *eids; /* sorted */
    struct sg_bucket *by_eid;
    uint32_t neids;
    struct sg_bucket any; /* events with another or no event id */
};

/* ---- rules ---- */
struct sg_rule {
    struct sg_rule_info info;
    uint32_t root;          /* expr of the detection */
    unsigned line, col;     /* of the document */
};

struct sg_ruleset {
    struct sg_arena arena;
    struct sg_rule *rules;
    uint32_t nrules, caprules;
    struct sg_pred *preds;
    uint32_t npreds, cappreds;
    struct sg_htab predkeys; /* canonical predicate key -> index */
    struct sg_expr *exprs;
    uint32_t nexprs, capexprs;
    uint32_t *kids;
    uint32_t nkids, capkids;
    struct sg_htab fields; /* field name (case-insensitive) -> id */
    const char **fieldnames;
    uint32_t nfields, capfields;
    struct sg_htab ruleids; /* name or id -> rule index */
    struct sg_mapping map;
    bool have_map;
    struct sg_load_stats stats;
    struct sg_corrset *corr;
    bool compiled;
    /* compile.c */
    struct sg_htab chans; /* lower-case channel -> index in chan */
    struct sg_chan *chan;
    uint32_t nchan;
    struct sg_bucket star; /* channel not in the mapping */
    uint32_t f_channel, f_eventid, f_provider, f_computer; /* ids of the System fields */
    bool has_keywords;
    struct sg_lit *lits; /* hsscan.c: one Hyperscan database per field */
    uint32_t nlits, caplits;
    struct hs_scratch *lit_proto; /* hsscan.c: scratch each matcher clones */
};

/* ---- building one rule (detect.c, modifier.c, cond.c) ---- */
struct sg_build {
    struct sg_ruleset *rs;
    const char *file;
    sg_diag_fn diag;
    void *ctx;
    uint32_t nodes;      /* predicates + nodes of this rule, for the bound */
    const char **fields; /* field names read (arena), unique */
    uint32_t nfields, capfields;
    char err[512];
    unsigned eline, ecol;
};
/* Records the first error of a build (kept: the first reason is the one
 * reported). Returns MAMORI_EINVAL. */
int sg_fail(struct sg_build *b, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

uint32_t sg_field_intern(struct sg_ruleset *rs, const char *name, size_t len); /* UINT32_MAX: OOM */
long sg_field_lookup(const struct sg_ruleset *rs, const char *name, size_t len);
int sg_note_field(struct sg_build *b, const char *name, size_t len);
/* Adds a predicate (shared when an identical one exists); its index or <0. */
long sg_pred_add(struct sg_build *b, const struct sg_pred *p, const char *key, size_t keylen);
/* Logic nodes; return the node index or <0. */
long sg_expr_leaf(struct sg_build *b, uint8_t kind, uint32_t a);
long sg_expr_list(struct sg_build *b, uint8_t kind, const uint32_t *kids, uint32_t n, uint32_t k);

/* detection section -> node; 0 or <0 with b->err set */
int sg_detect_parse(struct sg_build *b, const struct ynode *det, uint32_t *root);
/* "Field|mod|mod" and its value -> node */
int sg_value_parse(struct sg_build *b, const struct ynode *keynode, const char *key,
                   const struct ynode *val, uint32_t *out);

/* field == val (plain text, case-insensitive) as a node */
long sg_eq_expr(struct sg_build *b, uint32_t field, const char *val);
/* Expression: field is present in the event (any value). */
long sg_exists_expr(struct sg_build *b, uint32_t field);

/* condition text -> node, resolving identifiers through the callback */
struct sg_ident {
    const char *name;
    uint32_t expr;
};
int sg_cond_parse(struct sg_build *b, const struct ynode *at, const char *text,
                  const struct sg_ident *ids, uint32_t nids, uint32_t *out);

/* ---- text primitives (pattern.c) ---- */
/* Folds UTF-8 to lower case (ASCII, Latin-1, Greek, Cyrillic; same byte
 * length) into dst (len bytes). */
void sg_fold(char *dst, const char *src, size_t len);
bool sg_needs_fold(const char *s, size_t len);
bool sg_glob_match(const struct sg_gtok *tok, uint32_t ntok, const char *needle, const char *s,
                   size_t len);
bool sg_parse_num(const char *s, size_t len, double *out);
int sg_parse_cidr(const char *s, struct sg_cidr *out); /* 0 or <0 */
bool sg_cidr_match(const struct sg_cidr *c, const char *s, size_t len);
/* Time part of an ISO-8601-like timestamp; false when it is none. */
bool sg_time_part(const char *s, size_t len, enum sg_tpart part, long *out);
const void *sg_memmem(const void *h, size_t hl, const void *n, size_t nl);

/* ---- regex (regex.c) ---- */
struct sg_regex;
/* Compiles pat with flags "i", "m", "s" (any of); NULL and err set on failure. */
struct sg_regex *sg_regex_new(const char *pat, size_t len, bool icase, bool multi, bool dotall,
                              char *err, size_t errsz);
void sg_regex_free(struct sg_regex *re);
struct sg_rematch; /* per-matcher match data */
struct sg_rematch *sg_rematch_new(void);
void sg_rematch_free(struct sg_rematch *md);
bool sg_regex_match(const struct sg_regex *re, struct sg_rematch *md, const char *s, size_t len);

/* ---- multi-pattern literal groups (hsscan.c, Hyperscan) ---- */
struct sg_lit;
struct sg_litscratch; /* per matcher (thread) */
int sg_lit_build(struct sg_ruleset *rs);
void sg_lit_free(struct sg_ruleset *rs);
uint32_t sg_lit_field(const struct sg_ruleset *rs, uint32_t g);
struct sg_litscratch *sg_lit_scratch_new(const struct sg_ruleset *rs); /* NULL: out of memory */
void sg_lit_scratch_free(struct sg_litscratch *sc);
/* The n (folded) values of group g's field: hit(ctx, pred) for each
 * predicate of the group that holds on one of them (possibly more than once). */
void sg_lit_scan(const struct sg_ruleset *rs, uint32_t g, struct sg_litscratch *sc,
                 const char *const *vals, const uint32_t *lens, uint32_t n,
                 void (*hit)(void *ctx, uint32_t pred), void *ctx);

/* ---- required literals per bucket (anchor.c), after sg_lit_build ---- */
int sg_anchor_build(struct sg_ruleset *rs);

/* compile.c */
int sg_build_tables(struct sg_ruleset *rs, sg_diag_fn diag, void *ctx);
void sg_tables_free(struct sg_ruleset *rs);

#endif
