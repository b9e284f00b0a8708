/* ytree.c - YAML to a positioned node tree with libyaml (see ytree.h). */
#include "core/ytree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/err.h"

/* During the parse nodes and strings live in growing arrays, so links are
 * kept as indices (+1, 0 meaning none) in a parallel array and turned into
 * pointers once the arrays stop moving. */
struct plink {
    size_t first, next, str;
};

struct pstate {
    struct plink *links;
    size_t root;  /* index+1 of the current document's root */
    size_t *docs; /* roots (index+1, 0 for an empty document), multi-document mode */
    size_t ndocs;
};

static struct ynode *new_node(struct ytree *t, struct pstate *ps, enum ynode_type type,
                              const yaml_mark_t *m)
{
    if (t->nnodes == t->cap) {
        if (t->cap >= YTREE_MAX_NODES)
            return NULL;
        size_t ncap = t->cap ? t->cap * 2 : 64;
        if (ncap > YTREE_MAX_NODES)
            ncap = YTREE_MAX_NODES;
        struct ynode *nn = realloc(t->nodes, ncap * sizeof *nn);
        if (!nn)
            return NULL;
        t->nodes = nn;
        struct plink *nl = realloc(ps->links, ncap * sizeof *nl);
        if (!nl)
            return NULL;
        ps->links = nl;
        t->cap = ncap;
    }
    ps->links[t->nnodes] = (struct plink){0};
    struct ynode *n = &t->nodes[t->nnodes++];
    *n = (struct ynode){.type = type, .line = (unsigned)m->line + 1, .col = (unsigned)m->column + 1};
    return n;
}

/* Scalar strings are stored as offsets during the parse (the arena moves),
 * and turned into pointers at the end. */
static int add_string(struct ytree *t, const char *s, size_t len, size_t *off)
{
    if (t->slen + len + 1 > t->scap) {
        size_t ncap = t->scap ? t->scap : 4096;
        while (ncap < t->slen + len + 1)
            ncap *= 2;
        char *ns = realloc(t->strings, ncap);
        if (!ns)
            return MAMORI_ENOMEM;
        t->strings = ns;
        t->scap = ncap;
    }
    memcpy(t->strings + t->slen, s, len);
    t->strings[t->slen + len] = '\0';
    *off = t->slen;
    t->slen += len + 1;
    return 0;
}

struct frame {
    size_t node; /* index of the container */
    size_t last; /* index+1 of its last child, 0 none */
};

static void append(struct ytree *t, struct pstate *ps, struct frame *f, size_t child)
{
    if (f->last)
        ps->links[f->last - 1].next = child + 1;
    else
        ps->links[f->node].first = child + 1;
    t->nodes[f->node].nchild++;
    f->last = child + 1;
}

static int parse(struct ytree *t, const char *text, size_t len, char *err, size_t errsz,
                 bool multi)
{
    memset(t, 0, sizeof *t);
    if (len > YTREE_MAX_BYTES) {
        snprintf(err, errsz, "1:1: document larger than %u bytes", YTREE_MAX_BYTES);
        return MAMORI_ERANGE;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return MAMORI_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct frame stack[YTREE_MAX_DEPTH];
    size_t depth = 0;
    struct pstate ps = {0};
    int rc = 0, docs = 0;
    bool done = false;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errsz, "%zu:%zu: %s%s%s", p.problem_mark.line + 1,
                     p.problem_mark.column + 1, p.problem ? p.problem : "syntax error",
                     p.context ? " " : "", p.context ? p.context : "");
            rc = MAMORI_EINVAL;
            break;
        }
        const yaml_mark_t *m = &ev.start_mark;
        struct ynode *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1 && !multi) {
                snprintf(err, errsz, "%zu:%zu: more than one YAML document", m->line + 1,
                         m->column + 1);
                rc = MAMORI_EINVAL;
            } else if (multi && (size_t)docs > YTREE_MAX_DOCS) {
                snprintf(err, errsz, "%zu:%zu: more than %u YAML documents", m->line + 1,
                         m->column + 1, YTREE_MAX_DOCS);
                rc = MAMORI_ERANGE;
            }
            ps.root = 0;
            break;
        case YAML_DOCUMENT_END_EVENT:
            if (multi) {
                if (!ps.docs && !(ps.docs = calloc(YTREE_MAX_DOCS, sizeof *ps.docs))) {
                    rc = MAMORI_ENOMEM;
                    break;
                }
                ps.docs[ps.ndocs++] = ps.root;
            }
            break;
        case YAML_ALIAS_EVENT:
            snprintf(err, errsz, "%zu:%zu: YAML aliases are not supported", m->line + 1,
                     m->column + 1);
            rc = MAMORI_EINVAL;
            break;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            enum ynode_type ty = ev.type == YAML_SCALAR_EVENT        ? YN_SCALAR
                                 : ev.type == YAML_MAPPING_START_EVENT ? YN_MAP
                                                                       : YN_SEQ;
            n = new_node(t, &ps, ty, m);
            if (!n) {
                snprintf(err, errsz, "%zu:%zu: document has more than %u nodes", m->line + 1,
                         m->column + 1, YTREE_MAX_NODES);
                rc = MAMORI_ERANGE;
                break;
            }
            size_t idx = (size_t)(n - t->nodes);
            if (ty == YN_SCALAR) {
                size_t off;
                rc = add_string(t, (const char *)ev.data.scalar.value, ev.data.scalar.length, &off);
                if (rc < 0)
                    break;
                ps.links[idx].str = off + 1;
                n->len = ev.data.scalar.length;
                n->quoted = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                            ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
                if (ev.data.scalar.anchor) {
                    snprintf(err, errsz, "%zu:%zu: YAML anchors are not supported", m->line + 1,
                             m->column + 1);
                    rc = MAMORI_EINVAL;
                    break;
                }
            }
            if (depth > 0)
                append(t, &ps, &stack[depth - 1], idx);
            else if (!ps.root)
                ps.root = idx + 1;
            if (ty != YN_SCALAR) {
                if (depth == YTREE_MAX_DEPTH) {
                    snprintf(err, errsz, "%zu:%zu: nested deeper than %u levels", m->line + 1,
                             m->column + 1, YTREE_MAX_DEPTH);
                    rc = MAMORI_ERANGE;
                    break;
                }
                stack[depth++] = (struct frame){.node = idx};
            }
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc < 0)
            break;
    }
    yaml_parser_delete(&p);
    if (rc == 0) {
        for (size_t i = 0; i < t->nnodes; i++) {
            const struct plink *l = &ps.links[i];
            t->nodes[i].first = l->first ? &t->nodes[l->first - 1] : NULL;
            t->nodes[i].next = l->next ? &t->nodes[l->next - 1] : NULL;
            t->nodes[i].str = l->str ? t->strings + l->str - 1 : NULL;
        }
        if (multi) {
            t->ndocs = ps.ndocs;
            if (ps.ndocs && !(t->docs = calloc(ps.ndocs, sizeof *t->docs)))
                rc = MAMORI_ENOMEM;
            for (size_t i = 0; rc == 0 && i < ps.ndocs; i++)
                t->docs[i] = ps.docs[i] ? &t->nodes[ps.docs[i] - 1] : NULL;
            t->root = t->ndocs ? t->docs[0] : NULL;
        } else {
            t->root = ps.root ? &t->nodes[ps.root - 1] : NULL;
        }
    }
    if (rc < 0)
        ytree_free(t);
    free(ps.links);
    free(ps.docs);
    return rc;
}

int ytree_parse(struct ytree *t, const char *text, size_t len, char *err, size_t errsz)
{
    return parse(t, text, len, err, errsz, false);
}

int ytree_parse_stream(struct ytree *t, const char *text, size_t len, char *err, size_t errsz)
{
    return parse(t, text, len, err, errsz, true);
}

int ytree_load_file(struct ytree *t, const char *path, char *err, size_t errsz)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return MAMORI_ENOENT;
    }
    char *buf = malloc(YTREE_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return MAMORI_ENOMEM;
    }
    size_t n = fread(buf, 1, YTREE_MAX_BYTES + 1, f);
    int rerr = ferror(f);
    fclose(f);
    int rc;
    if (rerr) {
        snprintf(err, errsz, "%s: read error", path);
        rc = MAMORI_EIO;
    } else {
        char inner[512];
        rc = ytree_parse(t, buf, n, inner, sizeof inner);
        if (rc < 0)
            snprintf(err, errsz, "%s:%s", path, inner);
    }
    free(buf);
    return rc;
}

void ytree_free(struct ytree *t)
{
    free(t->docs);
    free(t->nodes);
    free(t->strings);
    memset(t, 0, sizeof *t);
}

bool ynode_is(const struct ynode *n, const char *s)
{
    return n && n->type == YN_SCALAR && n->str && !strcmp(n->str, s);
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
    if (!map || map->type != YN_MAP)
        return NULL;
    for (const struct ynode *k = map->first; k && k->next; k = k->next->next)
        if (ynode_is(k, key))
            return k->next;
    return NULL;
}
