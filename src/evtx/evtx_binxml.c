/* evtx_binxml.c - binary XML of EVTX records: tokens, templates, values.
 *
 * Data enters as chunk offsets of one record's binary XML (the chunk bytes
 * are in struct bx_chunk) and leaves as calls to the flattener (evtx_flat.c).
 *
 * A record is normally a fragment header and one template instance: the
 * template's definition (an XML skeleton with numbered substitution slots)
 * lives somewhere in the chunk, the instance carries the values. Each
 * definition is compiled once per chunk into an array of operations (names
 * resolved, literal text already UTF-8) kept in the chunk arena and found
 * again by its chunk offset; instantiating it is a walk over that array.
 * A value of type 0x21 is binary XML itself and is run in place, at most
 * EVTX_MAX_DEPTH deep. Everything read is bounds-checked against the stream
 * it belongs to; work is bounded per chunk (EVTX_TPL_BUDGET bytes compiled)
 * per record (EVTX_OP_BUDGET operations, the text arena's size) and per chunk
 * (EVTX_CHUNK_OP_BUDGET operations over all its records). */
#include "evtx/evtx_int.h"

enum tk {
    TK_EOF,
    TK_OPEN,
    TK_CLOSE_START,
    TK_CLOSE_EMPTY,
    TK_END,
    TK_TEXT16, /* Value (string) or CDATA: p, n code units */
    TK_CHARREF,
    TK_ENTITY,
    TK_ATTR,
    TK_PI,
    TK_TEMPLATE, /* def_off; the values follow in the stream */
    TK_SUBST,
    TK_FRAGMENT,
};

struct tok {
    uint8_t kind;
    uint8_t type;  /* TK_SUBST: declared value type */
    bool optional; /* TK_SUBST: optional substitution */
    uint16_t idx;  /* TK_SUBST: index; TK_CHARREF: code unit */
    const struct bx_name *name;
    const uint8_t *p;
    uint32_t n;
    uint32_t def_off;
};

/* A stream of tokens: chunk offsets [pos, end); dep_id tells whether element
 * starts carry the 2-byte dependency identifier: only inside template
 * definitions (MS-EVEN6 4.4), not in a record's own fragment or a 0x21 value. */
struct rd {
    struct bx_chunk *c;
    uint32_t pos, end;
    bool dep_id;
};

enum op_kind { OP_START, OP_ATTR, OP_CLOSE_START, OP_CLOSE_EMPTY, OP_END, OP_TEXT, OP_SUBST };
enum { OPF_IN_ATTR = 1, OPF_OPTIONAL = 2 };

struct bx_op {
    uint8_t kind;
    uint8_t flags;
    uint16_t idx;    /* OP_SUBST: value index */
    uint32_t len;    /* OP_TEXT */
    const void *ptr; /* OP_START/OP_ATTR: struct bx_name; OP_TEXT: UTF-8 */
} __attribute__((aligned(8)));
/* The compiler lays ops out with one mem_alloc each: contiguous only if their
 * size is a multiple of mem_alloc's alignment. */
_Static_assert(sizeof(struct bx_op) % 8 == 0, "bx_op must tile 8-byte allocations");

struct bx_template {
    const struct bx_op *ops; /* NULL: the definition is bad (why) */
    uint32_t nops;
    const char *why;
};

struct bx_val {
    const uint8_t *p;
    uint32_t off; /* chunk offset of p */
    uint16_t size;
    uint8_t type;
};

static const char E_TRUNC[] = "binary XML runs past its end";
static const char E_TOKEN[] = "unknown binary XML token";
static const char E_NAME[] = "bad name reference";
static const char E_VALUE[] = "bad value token";
static const char E_NEST[] = "malformed binary XML nesting";
static const char E_TPL[] = "bad template definition";
static const char E_TPL_NEST[] = "template instance inside a template definition";
static const char E_BUDGET[] = "template budget of the chunk exceeded";
static const char E_SUBS[] = "bad substitution array";
static const char E_DEPTH[] = "binary XML nested too deep";
static const char E_OPS[] = "record expands too much";
static const char E_CHUNK_OPS[] = "chunk expands too much (operation budget spent)";
static const char E_MEM[] = "record too large to decode";

/* ------------------------------------------------------------ caches -- */

void bx_chunk_reset(struct bx_chunk *c, const uint8_t *base, uint32_t len)
{
    c->base = base;
    c->len = len;
    c->arena.len = 0;
    c->tpl_budget = EVTX_TPL_BUDGET;
    c->ops_left = EVTX_CHUNK_OP_BUDGET;
    if (++c->gen == 0) { /* wrapped: old entries could look current */
        memset(c->names, 0, sizeof c->names);
        memset(c->tpls, 0, sizeof c->tpls);
        c->gen = 1;
    }
}

static inline uint32_t slot_hash(uint32_t key, uint32_t nslots)
{
    return (key * 2654435761u) >> 7 & (nslots - 1);
}

/* Looks KEY up; returns its value, or NULL with *free set to an empty slot
 * (NULL when the neighbourhood is full: then nothing is cached). */
static const void *cache_find(struct bx_slot *t, uint32_t nslots, uint32_t gen, uint32_t key,
                              struct bx_slot **free)
{
    uint32_t h = slot_hash(key, nslots);
    *free = NULL;
    for (uint32_t i = 0; i < 16; i++) {
        struct bx_slot *s = &t[(h + i) & (nslots - 1)];
        if (s->gen != gen) {
            *free = s;
            return NULL;
        }
        if (s->key == key)
            return s->val;
    }
    return NULL;
}

static void cache_put(struct bx_slot *s, uint32_t gen, uint32_t key, const void *val)
{
    if (s) {
        s->gen = gen;
        s->key = key;
        s->val = val;
    }
}

/* The name whose string structure is at chunk offset OFF. */
static const struct bx_name *name_at(struct bx_chunk *c, uint32_t off)
{
    struct bx_slot *free;
    const struct bx_name *n = cache_find(c->names, BX_NAME_SLOTS, c->gen, off, &free);
    if (n)
        return n;
    if (off > c->len || c->len - off < 8)
        return NULL;
    uint32_t units = le16(c->base + off + 6);
    if ((c->len - off - 8) / 2 < units)
        return NULL;
    struct bx_name *nm = mem_alloc(&c->arena, sizeof *nm);
    if (!nm || c->arena.cap - c->arena.len < (size_t)units * 3 + 1)
        return NULL;
    struct evtx_buf b = {.p = (char *)c->arena.p + c->arena.len, .cap = (uint32_t)(units * 3 + 1)};
    val_utf16(&b, c->base + off + 8, units);
    b.p[b.len] = '\0';
    c->arena.len += b.len + 1;
    nm->s = b.p;
    nm->len = b.len;
    nm->atom = flat_atom(b.p, b.len);
    cache_put(free, c->gen, off, nm);
    return nm;
}

/* ------------------------------------------------------------ tokens -- */

static inline bool need(const struct rd *r, uint32_t n)
{
    return r->end - r->pos >= n;
}

/* A name reference: chunk offset, with the name structure inline when the
 * offset points right after itself. */
static const char *read_name(struct rd *r, const struct bx_name **out)
{
    if (!need(r, 4))
        return E_TRUNC;
    uint32_t off = le32(r->c->base + r->pos);
    r->pos += 4;
    if (off == r->pos) {
        if (!need(r, 8))
            return E_TRUNC;
        uint32_t size = 8 + 2 * (uint32_t)le16(r->c->base + r->pos + 6) + 2;
        if (!need(r, size))
            return E_TRUNC;
        r->pos += size;
    }
    *out = name_at(r->c, off);
    return *out ? NULL : E_NAME;
}

static const char *read_token(struct rd *r, struct tok *t)
{
    const uint8_t *b = r->c->base;
    if (!need(r, 1))
        return E_TRUNC;
    uint8_t raw = b[r->pos++];
    uint8_t kind = raw & 0x40 ? raw & (uint8_t)~0x40 : raw;
    if ((raw & 0x40) && kind != 0x01 && (kind < 0x05 || kind > 0x09))
        return E_TOKEN;
    switch (kind) {
    case 0x00: t->kind = TK_EOF; return NULL;
    case 0x01: {
        uint32_t skip = r->dep_id ? 6 : 4; /* dependency id, data size */
        if (!need(r, skip))
            return E_TRUNC;
        r->pos += skip;
        const char *e = read_name(r, &t->name);
        if (e)
            return e;
        if (raw & 0x40) { /* attribute list size */
            if (!need(r, 4))
                return E_TRUNC;
            r->pos += 4;
        }
        t->kind = TK_OPEN;
        return NULL;
    }
    case 0x02: t->kind = TK_CLOSE_START; return NULL;
    case 0x03: t->kind = TK_CLOSE_EMPTY; return NULL;
    case 0x04: t->kind = TK_END; return NULL;
    case 0x05:
    case 0x07: {
        if (kind == 0x05) {
            if (!need(r, 1))
                return E_TRUNC;
            if (b[r->pos++] != 0x01) /* a Value token holds a string */
                return E_VALUE;
        }
        if (!need(r, 2))
            return E_TRUNC;
        uint32_t units = le16(b + r->pos);
        r->pos += 2;
        if (!need(r, 2 * units))
            return E_TRUNC;
        t->kind = TK_TEXT16;
        t->p = b + r->pos;
        t->n = units;
        r->pos += 2 * units;
        return NULL;
    }
    case 0x06: t->kind = TK_ATTR; return read_name(r, &t->name);
    case 0x08:
        if (!need(r, 2))
            return E_TRUNC;
        t->kind = TK_CHARREF;
        t->idx = le16(b + r->pos);
        r->pos += 2;
        return NULL;
    case 0x09: t->kind = TK_ENTITY; return read_name(r, &t->name);
    case 0x0a: t->kind = TK_PI; return read_name(r, &t->name);
    case 0x0b: {
        if (!need(r, 2))
            return E_TRUNC;
        uint32_t units = le16(b + r->pos);
        r->pos += 2;
        if (!need(r, 2 * units))
            return E_TRUNC;
        r->pos += 2 * units;
        t->kind = TK_PI;
        return NULL;
    }
    case 0x0c: {
        if (!need(r, 9)) /* unknown byte, template id, definition offset */
            return E_TRUNC;
        t->def_off = le32(b + r->pos + 5);
        r->pos += 9;
        if (t->def_off == r->pos) { /* the definition follows inline */
            if (!need(r, 24))
                return E_TRUNC;
            uint32_t size = le32(b + r->pos + 20);
            if (r->end - r->pos - 24 < size)
                return E_TRUNC;
            r->pos += 24 + size;
        }
        t->kind = TK_TEMPLATE;
        return NULL;
    }
    case 0x0d:
    case 0x0e:
        if (!need(r, 3))
            return E_TRUNC;
        t->kind = TK_SUBST;
        t->optional = kind == 0x0e;
        t->idx = le16(b + r->pos);
        t->type = b[r->pos + 2];
        r->pos += 3;
        return NULL;
    case 0x0f:
        if (!need(r, 3))
            return E_TRUNC;
        r->pos += 3;
        t->kind = TK_FRAGMENT;
        return NULL;
    default: return E_TOKEN;
    }
}

/* Text of an entity reference: the five XML entities, else "&name;". */
static void entity_text(const struct bx_name *n, struct evtx_buf *b)
{
    static const struct {
        const char *name, *text;
    } ents[] = {{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
        if (!strcmp(n->s, ents[i].name)) {
            buf_put(b, ents[i].text, 1);
            return;
        }
    buf_put(b, "&", 1);
    buf_put(b, n->s, n->len);
    buf_put(b, ";", 1);
}

/* Element nesting rules shared by the compiler and the runner. */
struct shape {
    uint32_t depth;
    bool in_start, in_attr;
};

static const char *shape_step(struct shape *s, uint8_t kind)
{
    switch (kind) {
    case TK_OPEN:
        if (s->in_start || s->depth >= 1024)
            return E_NEST;
        s->in_start = true;
        s->in_attr = false;
        s->depth++;
        return NULL;
    case TK_ATTR:
        if (!s->in_start)
            return E_NEST;
        s->in_attr = true;
        return NULL;
    case TK_CLOSE_START:
    case TK_CLOSE_EMPTY:
        if (!s->in_start)
            return E_NEST;
        s->in_start = s->in_attr = false;
        if (kind == TK_CLOSE_EMPTY)
            s->depth--;
        return NULL;
    case TK_END:
        if (s->in_start || s->depth == 0)
            return E_NEST;
        s->depth--;
        return NULL;
    case TK_TEXT16:
    case TK_CHARREF:
    case TK_ENTITY:
    case TK_SUBST: return s->in_start && !s->in_attr ? E_NEST : NULL;
    case TK_TEMPLATE: return s->in_start ? E_NEST : NULL;
    default: return NULL;
    }
}

/* ---------------------------------------------------------- compiler -- */

static const struct bx_template *tpl_bad(struct bx_chunk *c, struct bx_slot *slot, uint32_t off,
                                         const char *why)
{
    struct bx_template *t = mem_alloc(&c->arena, sizeof *t);
    if (!t)
        return NULL;
    *t = (struct bx_template){.why = why};
    cache_put(slot, c->gen, off, t);
    return t;
}

/* The compiled template defined at chunk offset OFF (from the cache, or
 * compiled now into the chunk arena, with scratch space from WORK). NULL only
 * when even a failure cannot be recorded; otherwise ops == NULL means bad. */
static const struct bx_template *template_at(struct bx_chunk *c, struct evtx_mem *work,
                                             uint32_t off)
{
    struct bx_slot *slot;
    const struct bx_template *cached = cache_find(c->tpls, BX_TPL_SLOTS, c->gen, off, &slot);
    if (cached)
        return cached;
    if (off > c->len || c->len - off < 24)
        return tpl_bad(c, slot, off, E_TPL);
    uint32_t size = le32(c->base + off + 20);
    if (c->len - off - 24 < size)
        return tpl_bad(c, slot, off, E_TPL);
    if (c->tpl_budget < size)
        return tpl_bad(c, slot, off, E_BUDGET);
    c->tpl_budget -= size;

    struct rd r = {.c = c, .pos = off + 24, .end = off + 24 + size, .dep_id = true};
    struct shape sh = {0};
    size_t mark = work->len;
    struct bx_op *ops = (struct bx_op *)(work->p + ((work->len + 7) & ~(size_t)7));
    uint32_t nops = 0;
    const char *why = NULL;
    for (;;) {
        struct tok t;
        if (r.pos == r.end) {
            if (sh.depth || sh.in_start)
                why = E_TRUNC;
            break;
        }
        if ((why = read_token(&r, &t)))
            break;
        if (t.kind == TK_EOF) {
            if (sh.depth || sh.in_start)
                why = E_NEST;
            break;
        }
        if (t.kind == TK_TEMPLATE) {
            why = E_TPL_NEST;
            break;
        }
        if ((why = shape_step(&sh, t.kind)))
            break;
        if (t.kind == TK_FRAGMENT || t.kind == TK_PI)
            continue;
        struct bx_op *op = mem_alloc(work, sizeof *op);
        if (!op) {
            why = E_MEM;
            break;
        }
        *op = (struct bx_op){.flags = sh.in_attr ? OPF_IN_ATTR : 0};
        nops++;
        switch (t.kind) {
        case TK_OPEN:
            op->kind = OP_START;
            op->ptr = t.name;
            break;
        case TK_ATTR:
            op->kind = OP_ATTR;
            op->ptr = t.name;
            break;
        case TK_CLOSE_START: op->kind = OP_CLOSE_START; break;
        case TK_CLOSE_EMPTY: op->kind = OP_CLOSE_EMPTY; break;
        case TK_END: op->kind = OP_END; break;
        case TK_SUBST:
            op->kind = OP_SUBST;
            op->idx = t.idx;
            if (t.optional)
                op->flags |= OPF_OPTIONAL;
            break;
        default: { /* literal text, converted once */
            struct evtx_buf b = {.p = (char *)c->arena.p + c->arena.len,
                                 .cap = (uint32_t)(c->arena.cap - c->arena.len > UINT32_MAX
                                                       ? UINT32_MAX
                                                       : c->arena.cap - c->arena.len)};
            if (t.kind == TK_TEXT16)
                val_utf16(&b, t.p, t.n);
            else if (t.kind == TK_CHARREF)
                val_codepoint(&b, t.idx);
            else
                entity_text(t.name, &b);
            if (b.full) {
                why = E_MEM;
                break;
            }
            c->arena.len += b.len;
            op->kind = OP_TEXT;
            op->ptr = b.p;
            op->len = b.len;
        }
        }
        if (why)
            break;
    }
    if (!why) {
        struct bx_template *tpl = mem_alloc(&c->arena, sizeof *tpl);
        struct bx_op *keep = mem_alloc(&c->arena, (size_t)nops * sizeof *keep + 1);
        if (tpl && keep) {
            if (nops)
                memcpy(keep, ops, (size_t)nops * sizeof *keep);
            *tpl = (struct bx_template){.ops = keep, .nops = nops};
            cache_put(slot, c->gen, off, tpl);
            work->len = mark;
            return tpl;
        }
        why = E_MEM;
    }
    work->len = mark; /* the chunk arena keeps what was made: names are cached */
    return tpl_bad(c, slot, off, why);
}

/* ------------------------------------------------------------ runner -- */

static int run_stream(struct bx_run *run, uint32_t off, uint32_t len, int depth);

static int fail(struct bx_run *run, const char *why)
{
    if (!run->why)
        run->why = why;
    return -1;
}

static int run_template(struct bx_run *run, const struct bx_template *tpl,
                        const struct bx_val *vals, uint32_t nvals, int depth)
{
    struct flat *f = run->flat;
    if (tpl->nops > run->ops_left)
        return fail(run, E_OPS);
    run->ops_left -= tpl->nops;
    const struct bx_op *op = tpl->ops, *end = tpl->ops + tpl->nops;
    for (; op < end; op++) {
        switch (op->kind) {
        case OP_START: flat_start(f, op->ptr); break;
        case OP_ATTR: flat_attr(f, op->ptr); break;
        case OP_CLOSE_START: flat_attrs_done(f); break;
        case OP_CLOSE_EMPTY:
            flat_attrs_done(f);
            flat_end(f);
            break;
        case OP_END: flat_end(f); break;
        case OP_TEXT: flat_text8(f, op->ptr, op->len); break;
        case OP_SUBST: {
            const struct bx_val *v = op->idx < nvals ? &vals[op->idx] : NULL;
            if (!v || v->type == 0x00) { /* NULL, or no such value */
                if ((op->flags & (OPF_OPTIONAL | OPF_IN_ATTR)) == OPF_OPTIONAL)
                    flat_null(f);
            } else if (v->type == 0x21) {
                if (!(op->flags & OPF_IN_ATTR) && v->size &&
                    run_stream(run, v->off, v->size, depth + 1) < 0)
                    return -1;
            } else if (flat_capturing(f)) {
                if ((v->type & 0x80) && !(op->flags & OPF_IN_ATTR))
                    flat_array(f, v->type, v->p, v->size);
                else
                    val_format(f->text, v->type, v->p, v->size);
            }
            break;
        }
        }
    }
    return 0;
}

/* Reads the substitution values that follow a template instance. */
static const char *read_values(struct rd *r, struct evtx_mem *work, struct bx_val **out,
                               uint32_t *nout)
{
    const uint8_t *b = r->c->base;
    if (!need(r, 4))
        return E_TRUNC;
    uint32_t n = le32(b + r->pos);
    r->pos += 4;
    if (n > EVTX_MAX_VALUES || !need(r, 4 * n))
        return E_SUBS;
    struct bx_val *v = mem_alloc(work, (size_t)n * sizeof *v + 1);
    if (!v)
        return E_MEM;
    uint32_t at = r->pos + 4 * n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *d = b + r->pos + 4 * i;
        uint32_t size = le16(d);
        if (r->end - at < size)
            return E_SUBS;
        v[i] = (struct bx_val){.p = b + at, .off = at, .size = (uint16_t)size, .type = d[2]};
        at += size;
    }
    r->pos = at;
    *out = v;
    *nout = n;
    return NULL;
}

static int run_stream(struct bx_run *run, uint32_t off, uint32_t len, int depth)
{
    if (depth > EVTX_MAX_DEPTH)
        return fail(run, E_DEPTH);
    struct bx_chunk *c = run->c;
    struct flat *f = run->flat;
    struct rd r = {.c = c, .pos = off, .end = off + len, .dep_id = false};
    struct shape sh = {0};
    struct evtx_buf *text = f->text;
    while (r.pos < r.end) {
        struct tok t;
        const char *why = read_token(&r, &t);
        if (why)
            return fail(run, why);
        if (t.kind == TK_EOF)
            break;
        if ((why = shape_step(&sh, t.kind)))
            return fail(run, why);
        if (run->ops_left == 0)
            return fail(run, E_OPS);
        run->ops_left--;
        switch (t.kind) {
        case TK_OPEN: flat_start(f, t.name); break;
        case TK_ATTR: flat_attr(f, t.name); break;
        case TK_CLOSE_START: flat_attrs_done(f); break;
        case TK_CLOSE_EMPTY:
            flat_attrs_done(f);
            flat_end(f);
            break;
        case TK_END: flat_end(f); break;
        case TK_TEXT16:
            if (flat_capturing(f))
                val_utf16(text, t.p, t.n);
            break;
        case TK_CHARREF:
            if (flat_capturing(f))
                val_codepoint(text, t.idx);
            break;
        case TK_ENTITY:
            if (flat_capturing(f))
                entity_text(t.name, text);
            break;
        case TK_TEMPLATE: {
            size_t mark = run->work->len;
            const struct bx_template *tpl = template_at(c, run->work, t.def_off);
            if (!tpl)
                return fail(run, E_MEM);
            if (!tpl->ops)
                return fail(run, tpl->why);
            struct bx_val *vals;
            uint32_t nvals;
            if ((why = read_values(&r, run->work, &vals, &nvals)))
                return fail(run, why);
            if (run_template(run, tpl, vals, nvals, depth) < 0)
                return -1;
            run->work->len = mark;
            break;
        }
        default:
            break; /* fragment header, PI; a substitution outside a
                      template has no value */
        }
    }
    if (sh.depth || sh.in_start)
        return fail(run, E_NEST);
    return 0;
}

int bx_record(struct bx_run *run, uint32_t off, uint32_t len)
{
    struct bx_chunk *c = run->c;
    run->why = NULL;
    if (c->ops_left == 0)
        return fail(run, E_CHUNK_OPS);
    uint32_t budget = c->ops_left < EVTX_OP_BUDGET ? c->ops_left : EVTX_OP_BUDGET;
    run->ops_left = budget;
    int rc = run_stream(run, off, len, 0);
    c->ops_left -= budget - run->ops_left;
    if (rc == 0 && run->flat->text->full)
        return fail(run, E_MEM);
    return rc;
}
