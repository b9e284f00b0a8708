/* ytree.h - a YAML document as a small tree of nodes with source positions.
 *
 * ytree_parse() reads YAML text with libyaml into an arena of nodes
 * (mapping, sequence, scalar), each carrying its 1-based line and column, so
 * that configuration and rule loaders can say exactly where a value they
 * reject stands. Bounded: at most YTREE_MAX_NODES nodes, YTREE_MAX_DEPTH
 * nesting, YTREE_MAX_BYTES of input; anchors/aliases are rejected (no
 * billion-laughs). One document per input. */
#ifndef MAMORI_CORE_YTREE_H
#define MAMORI_CORE_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#define YTREE_MAX_NODES 200000u
#define YTREE_MAX_DEPTH 64u
#define YTREE_MAX_BYTES (16u * 1024 * 1024)

enum ynode_type { YN_SCALAR, YN_MAP, YN_SEQ };

struct ynode {
    enum ynode_type type;
    unsigned line, col;
    const char *str;       /* scalar value (NUL-terminated), NULL otherwise */
    size_t len;            /* scalar length */
    bool quoted;           /* scalar was quoted: never null/bool/number */
    struct ynode *first;   /* children: for maps alternating key, value */
    struct ynode *next;    /* sibling */
    size_t nchild;
};

struct ytree {
    struct ynode *root;    /* NULL for an empty document */
    struct ynode *nodes;
    size_t nnodes, cap;
    char *strings;         /* arena of scalar text */
    size_t slen, scap;
};

/* Parses text (len bytes). On failure returns a negative MAMORI_E* code and
 * writes "LINE:COL: reason" into err. */
int ytree_parse(struct ytree *t, const char *text, size_t len, char *err, size_t errsz);
/* Reads and parses a file; err gets "FILE:LINE:COL: reason". */
int ytree_load_file(struct ytree *t, const char *path, char *err, size_t errsz);
void ytree_free(struct ytree *t);

/* Value of key in a mapping, NULL when absent. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
bool ynode_is(const struct ynode *n, const char *s);

#endif
