/* ytree.h - a YAML document as a small tree of nodes with source positions.
 *
 * ytree_parse() reads YAML text with libyaml into an arena of nodes
 * (mapping, sequence, scalar), each carrying its 1-based line and column, so
 * that configuration and rule loaders can say exactly where a value they
 * reject stands. Bounded: at most YTREE_MAX_NODES nodes, YTREE_MAX_DEPTH
 * nesting, YTREE_MAX_BYTES of input; anchors/aliases are rejected (no
 * billion-laughs). One document per input with ytree_parse(); up to
 * YTREE_MAX_DOCS "---"-separated documents with ytree_parse_stream() (Sigma
 * rule files hold several). */
#ifndef MAMORI_CORE_YTREE_H
#define MAMORI_CORE_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#define YTREE_MAX_NODES 200000u
#define YTREE_MAX_DEPTH 64u
#define YTREE_MAX_BYTES (16u * 1024 * 1024)
#define YTREE_MAX_DOCS 1024u

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
    struct ynode *root;    /* NULL for an empty document; the first one in a stream */
    struct ynode **docs;   /* ytree_parse_stream: root of each document (NULL when empty) */
    size_t ndocs;
    struct ynode *nodes;
    size_t nnodes, cap;
    char *strings;         /* arena of scalar text */
    size_t slen, scap;
};

/* Parses text (len bytes). On failure returns a negative MAMORI_E* code and
 * writes "LINE:COL: reason" into err. */
int ytree_parse(struct ytree *t, const char *text, size_t len, char *err, size_t errsz);
/* The same for a stream of documents: t->docs[0..ndocs). A syntax error
 * anywhere fails the whole stream (libyaml cannot resume after one). */
int ytree_parse_stream(struct ytree *t, const char *text, size_t len, char *err, size_t errsz);
/* Reads and parses a file; err gets "FILE:LINE:COL: reason". */
int ytree_load_file(struct ytree *t, const char *path, char *err, size_t errsz);
void ytree_free(struct ytree *t);

/* Value of key in a mapping, NULL when absent. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
bool ynode_is(const struct ynode *n, const char *s);

#endif
