/* match.c - one event against the compiled ruleset.
 *
 * Data enters as a struct sg_event (event.h); it leaves as the indexes of
 * the rules that match. Per event, in a matcher (one per thread):
 *   1. the bucket of (channel, event id) gives the candidate rules; none,
 *      and the event costs a hash lookup;
 *   2. the field table: each event field name is looked up once among the
 *      names the rules use (interned ids, through a small per-matcher cache
 *      of recent names); values of a field chain together (a name may
 *      repeat); System fields the reader left out (Channel, EventID,
 *      Provider_Name, Computer) are added from the event header; the
 *      bucket's derived fields are computed (mapping: copy, join, hex, map)
 *      and replace fields of the same name;
 *   3. the literal groups the bucket's anchors use are scanned (hsscan.c),
 *      which wakes the rules whose required literal fired (anchor.c); the
 *      open rules and the woken ones are evaluated, in rule order, with
 *      short-circuit; a predicate is computed at most once per event
 *      (epoch-stamped memo shared by all rules), a value is case-folded at
 *      most once.
 * Epoch stamps mean nothing large is cleared between events (the wake
 * bitset is one bit per rule of the bucket). Scratch (folded values,
 * derived text) is bounded by SG_MAX_SCRATCH; a value that does not fit is
 * taken as not matching. Fields past SG_MAX_EVENT_FIELDS are ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"

#define NOFIELD UINT32_MAX
#define SCRATCH_BLOCK (256u * 1024)
#define MAX_DERIVED 64

struct sg_val {
    const char *s, *f; /* raw; folded (NULL until needed) */
    uint32_t len;
    uint32_t next; /* next value of the same field: index+1, 0 at the end */
};

struct sblock {
    char *p;
    size_t cap;
};

#define SG_NAME_CACHE_BITS 8  /* 256 names cached per matcher */
#define SG_NAME_CACHE_LEN 54   /* longer names are not cached */
struct sg_namecache {
    uint32_t len; /* name length + 1; 0: empty slot */
    int32_t id;
    char name[SG_NAME_CACHE_LEN];
};

struct sg_matcher {
    const struct sg_ruleset *rs;
    uint32_t epoch;
    uint32_t *pep; /* per predicate: epoch when computed */
    uint8_t *pres; /* per predicate: result */
    uint32_t *gep; /* per literal group: epoch when scanned */
    uint32_t *fep; /* per field id: epoch when fhead is valid */
    uint32_t *fhead;
    struct sg_val *vals;
    uint32_t nvals, capvals;
    struct sblock *blk;
    uint32_t nblk, capblk, curblk;
    size_t used, total;
    struct sg_rematch *md;
    struct sg_litscratch *lsc;
    uint32_t *fired; /* grouped predicates found true this event (each once) */
    uint32_t nfired;
    uint64_t *cand; /* entries of the bucket to evaluate (anchor.c) */
    const char **lptr; /* the values one literal scan takes */
    uint32_t *llen;
    uint32_t caplv, caplen;
    struct sg_namecache names[1u << SG_NAME_CACHE_BITS];
};

static uint32_t max_ents(const struct sg_ruleset *rs)
{
    uint32_t n = rs->star.nents;
    for (uint32_t c = 0; c < rs->nchan; c++) {
        const struct sg_chan *ch = &rs->chan[c];
        n = ch->any.nents > n ? ch->any.nents : n;
        for (uint32_t i = 0; i < ch->neids; i++)
            n = ch->by_eid[i].nents > n ? ch->by_eid[i].nents : n;
    }
    return n;
}

struct sg_matcher *sg_matcher_new(const struct sg_ruleset *rs)
{
    if (!rs->compiled)
        return NULL;
    struct sg_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->rs = rs;
    m->pep = calloc(rs->npreds + 1, sizeof *m->pep);
    m->pres = calloc(rs->npreds + 1, 1);
    m->fep = calloc(rs->nfields + 1, sizeof *m->fep);
    m->gep = calloc(rs->nlits + 1, sizeof *m->gep);
    m->fhead = calloc(rs->nfields + 1, sizeof *m->fhead);
    m->capvals = 256;
    m->vals = malloc(m->capvals * sizeof *m->vals);
    m->md = sg_rematch_new();
    m->lsc = sg_lit_scratch_new(rs);
    m->fired = malloc((rs->npreds + 1) * sizeof *m->fired);
    m->cand = calloc(max_ents(rs) / 64 + 1, sizeof *m->cand);
    if (!m->pep || !m->pres || !m->fep || !m->gep || !m->fhead || !m->vals || !m->md || !m->lsc ||
        !m->fired || !m->cand) {
        sg_matcher_free(m);
        return NULL;
    }
    return m;
}

void sg_matcher_free(struct sg_matcher *m)
{
    if (!m)
        return;
    free(m->pep);
    free(m->pres);
    free(m->fep);
    free(m->gep);
    free(m->fhead);
    free(m->vals);
    for (uint32_t i = 0; i < m->nblk; i++)
        free(m->blk[i].p);
    free(m->blk);
    sg_rematch_free(m->md);
    sg_lit_scratch_free(m->lsc);
    free(m->fired);
    free(m->cand);
    free(m->lptr);
    free(m->llen);
    free(m);
}

/* ---- scratch ---- */

static char *scratch(struct sg_matcher *m, size_t n)
{
    for (;;) {
        if (m->curblk < m->nblk) {
            struct sblock *b = &m->blk[m->curblk];
            if (b->cap - m->used >= n) {
                char *p = b->p + m->used;
                m->used += n;
                return p;
            }
            m->curblk++;
            m->used = 0;
            continue;
        }
        size_t cap = n > SCRATCH_BLOCK ? n : SCRATCH_BLOCK;
        if (m->total + cap > SG_MAX_SCRATCH ||
            sg_grow((void **)&m->blk, &m->capblk, m->nblk + 1, sizeof *m->blk) < 0)
            return NULL;
        char *p = malloc(cap);
        if (!p)
            return NULL;
        m->blk[m->nblk++] = (struct sblock){.p = p, .cap = cap};
        m->total += cap;
    }
}

/* ---- field table ---- */

static bool add_val(struct sg_matcher *m, uint32_t fid, const char *s, uint32_t len)
{
    if (m->nvals == m->capvals) {
        if (m->capvals >= SG_MAX_EVENT_FIELDS + MAX_DERIVED + 8)
            return false;
        uint32_t nc = m->capvals * 2;
        struct sg_val *nv = realloc(m->vals, nc * sizeof *nv);
        if (!nv)
            return false;
        m->vals = nv;
        m->capvals = nc;
    }
    struct sg_val *v = &m->vals[m->nvals];
    *v = (struct sg_val){.s = s, .len = len};
    if (fid != NOFIELD) {
        if (m->fep[fid] != m->epoch) {
            m->fep[fid] = m->epoch;
            m->fhead[fid] = 0;
        }
        v->next = m->fhead[fid];
        m->fhead[fid] = m->nvals + 1;
    }
    m->nvals++;
    return true;
}

static inline uint32_t head(const struct sg_matcher *m, uint32_t fid)
{
    return m->fep[fid] == m->epoch ? m->fhead[fid] : 0;
}

static const char *folded(struct sg_matcher *m, struct sg_val *v)
{
    if (v->f)
        return v->f;
    if (!sg_needs_fold(v->s, v->len)) {
        v->f = v->s;
    } else {
        char *d = scratch(m, v->len + 1);
        if (!d)
            return NULL;
        sg_fold(d, v->s, v->len);
        d[v->len] = '\0';
        v->f = d;
    }
    return v->f;
}

struct dval {
    uint32_t fid;
    const char *s;
    uint32_t len;
};

static const struct sg_val *first(const struct sg_matcher *m, uint32_t fid)
{
    uint32_t h = head(m, fid);
    return h ? &m->vals[h - 1] : NULL;
}

static bool ieq(const char *a, size_t al, const char *b)
{
    size_t bl = strlen(b);
    if (al != bl)
        return false;
    for (size_t i = 0; i < al; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return false;
    }
    return true;
}

/* hex "0x1f4" -> "500" in scratch; other text as it is */
static void hex_to_dec(struct sg_matcher *m, const struct sg_val *v, struct dval *out)
{
    out->s = v->s;
    out->len = v->len;
    if (v->len < 3 || v->len > 18 || v->s[0] != '0' || (v->s[1] != 'x' && v->s[1] != 'X'))
        return;
    unsigned long long n = 0;
    for (uint32_t i = 2; i < v->len; i++) {
        char c = v->s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return;
        n = n * 16 + (unsigned)d;
    }
    char *d = scratch(m, 24);
    if (d) {
        out->len = (uint32_t)snprintf(d, 24, "%llu", n);
        out->s = d;
    }
}

static uint32_t derive_one(struct sg_matcher *m, const struct sg_cdfield *cd, struct dval *out,
                           uint32_t room)
{
    const struct sg_dfield *d = cd->d;
    uint32_t n = 0;
    switch (d->kind) {
    case SG_D_COPY:
        for (uint32_t h = head(m, cd->src[0]); h && n < room; h = m->vals[h - 1].next)
            out[n++] = (struct dval){cd->out, m->vals[h - 1].s, m->vals[h - 1].len};
        return n;
    case SG_D_HEX: {
        const struct sg_val *v = first(m, cd->src[0]);
        if (!v)
            return 0;
        out[0].fid = cd->out;
        hex_to_dec(m, v, &out[0]);
        return 1;
    }
    case SG_D_JOIN: {
        size_t total = 0, seplen = strlen(d->sep);
        const struct sg_val *parts[4] = {0};
        uint32_t np = 0;
        for (uint32_t i = 0; i < d->nsrc && i < 4; i++)
            if ((parts[np] = first(m, cd->src[i])) && parts[np]->len)
                total += parts[np++]->len + seplen;
        if (!np)
            return 0;
        char *buf = scratch(m, total + 1);
        if (!buf)
            return 0;
        size_t o = 0;
        for (uint32_t i = 0; i < np; i++) {
            if (i) {
                memcpy(buf + o, d->sep, seplen);
                o += seplen;
            }
            memcpy(buf + o, parts[i]->s, parts[i]->len);
            o += parts[i]->len;
        }
        buf[o] = '\0';
        out[0] = (struct dval){cd->out, buf, (uint32_t)o};
        return 1;
    }
    case SG_D_MAP: {
        const struct sg_val *any = NULL;
        for (uint32_t i = 0; i < d->nsrc && i < 4; i++) {
            const struct sg_val *v = first(m, cd->src[i]);
            if (!v)
                continue;
            if (!any)
                any = v;
            for (uint32_t k = 0; k < d->nmap; k++) {
                if (ieq(v->s, v->len, d->mk[k])) {
                    out[0] = (struct dval){cd->out, d->mv[k], (uint32_t)strlen(d->mv[k])};
                    return 1;
                }
            }
        }
        if (any && d->keep_unmapped) {
            out[0] = (struct dval){cd->out, any->s, any->len};
            return 1;
        }
        return 0;
    }
    default: return 0;
    }
}

/* The interned id of an event field name (-1: no rule reads it), through
 * the matcher's name cache: events of one kind repeat the same names, and a
 * compare of the cached bytes is cheaper than hashing them (the table
 * ignores case and spaces). Exact: an entry holds the very bytes looked up. */
static long field_id(struct sg_matcher *m, const char *s, uint32_t len)
{
    if (len > SG_NAME_CACHE_LEN)
        return sg_htab_get(&m->rs->fields, s, len);
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + len - 8, 8);
    } else {
        memcpy(&a, s, len);
    }
    uint32_t k = (uint32_t)(((a ^ (b * 0x9E3779B97F4A7C15ull) ^ len) * 0xFF51AFD7ED558CCDull) >>
                            (64 - SG_NAME_CACHE_BITS));
    struct sg_namecache *c = &m->names[k];
    if (c->len == len + 1 && !memcmp(c->name, s, len))
        return c->id;
    long id = sg_htab_get(&m->rs->fields, s, len);
    c->len = len + 1;
    c->id = (int32_t)id;
    memcpy(c->name, s, len);
    return id;
}

static void build_table(struct sg_matcher *m, const struct sg_event *ev, const struct sg_bucket *bk)
{
    const struct sg_ruleset *rs = m->rs;
    m->nvals = 0;
    uint32_t nf = ev->nfields < SG_MAX_EVENT_FIELDS ? ev->nfields : SG_MAX_EVENT_FIELDS;
    for (uint32_t i = 0; i < nf; i++) {
        const struct sg_field *f = &ev->fields[i];
        if (!f->name.s || !f->value.s)
            continue;
        long id = field_id(m, f->name.s, f->name.len);
        if (id < 0 && !rs->has_keywords)
            continue;
        add_val(m, id < 0 ? NOFIELD : (uint32_t)id, f->value.s, f->value.len);
    }
    if (!head(m, rs->f_channel) && ev->channel.s)
        add_val(m, rs->f_channel, ev->channel.s, ev->channel.len);
    if (!head(m, rs->f_provider) && ev->provider.s)
        add_val(m, rs->f_provider, ev->provider.s, ev->provider.len);
    if (!head(m, rs->f_computer) && ev->computer.s)
        add_val(m, rs->f_computer, ev->computer.s, ev->computer.len);
    if (!head(m, rs->f_eventid) && ev->has_event_id) {
        char *d = scratch(m, 12);
        if (d)
            add_val(m, rs->f_eventid, d, (uint32_t)snprintf(d, 12, "%u", ev->event_id));
    }
    if (!bk->nder)
        return;
    struct dval dv[MAX_DERIVED];
    uint32_t nd = 0;
    for (uint32_t i = 0; i < bk->nder && nd < MAX_DERIVED; i++)
        nd += derive_one(m, &bk->der[i], dv + nd, MAX_DERIVED - nd);
    for (uint32_t i = 0; i < nd; i++) /* a derived field replaces the event's */
        m->fhead[dv[i].fid] = 0, m->fep[dv[i].fid] = m->epoch;
    for (uint32_t i = 0; i < nd; i++)
        add_val(m, dv[i].fid, dv[i].s, dv[i].len);
}

/* ---- predicates ---- */

static bool text_test(const struct sg_pred *p, const char *s, size_t len)
{
    switch (p->op) {
    case SG_OP_EQ: return len == p->nlen && !memcmp(s, p->needle, len);
    case SG_OP_CONTAINS: return sg_memmem(s, len, p->needle, p->nlen) != NULL;
    case SG_OP_PREFIX: return len >= p->nlen && !memcmp(s, p->needle, p->nlen);
    case SG_OP_SUFFIX: return len >= p->nlen && !memcmp(s + len - p->nlen, p->needle, p->nlen);
    case SG_OP_GLOB: return sg_glob_match(p->tok, p->ntok, p->needle, s, len);
    default: return false;
    }
}

static bool num_of(const struct sg_pred *p, const struct sg_val *v, double *x)
{
    if (p->tpart) {
        long t;
        if (!sg_time_part(v->s, v->len, p->tpart, &t))
            return false;
        *x = (double)t;
        return true;
    }
    return sg_parse_num(v->s, v->len, x);
}

static bool value_test(struct sg_matcher *m, const struct sg_pred *p, struct sg_val *v)
{
    double x;
    switch (p->op) {
    case SG_OP_EQ:
    case SG_OP_CONTAINS:
    case SG_OP_PREFIX:
    case SG_OP_SUFFIX:
    case SG_OP_GLOB: {
        const char *s = (p->flags & SG_PF_CASED) ? v->s : folded(m, v);
        return s && text_test(p, s, v->len);
    }
    case SG_OP_NUMEQ:
        if (!p->tpart && v->len == p->nlen && !memcmp(v->s, p->needle, v->len))
            return true;
        return num_of(p, v, &x) && x == p->num;
    case SG_OP_LT: return num_of(p, v, &x) && x < p->num;
    case SG_OP_LTE: return num_of(p, v, &x) && x <= p->num;
    case SG_OP_GT: return num_of(p, v, &x) && x > p->num;
    case SG_OP_GTE: return num_of(p, v, &x) && x >= p->num;
    case SG_OP_RE: return sg_regex_match(p->re, m->md, v->s, v->len);
    case SG_OP_CIDR: return sg_cidr_match(&p->cidr, v->s, v->len);
    default: return false;
    }
}

static bool ref_test(struct sg_matcher *m, const struct sg_pred *p, struct sg_val *v)
{
    bool cased = p->flags & SG_PF_CASED;
    const char *a = cased ? v->s : folded(m, v);
    for (uint32_t h = head(m, p->ref); a && h; h = m->vals[h - 1].next) {
        struct sg_val *r = &m->vals[h - 1];
        const char *b = cased ? r->s : folded(m, r);
        if (!b)
            continue;
        size_t al = v->len, bl = r->len;
        bool hit = false;
        switch (p->op) {
        case SG_OP_REF_EQ: hit = al == bl && !memcmp(a, b, al); break;
        case SG_OP_REF_CONTAINS: hit = sg_memmem(a, al, b, bl) != NULL; break;
        case SG_OP_REF_PREFIX: hit = al >= bl && !memcmp(a, b, bl); break;
        case SG_OP_REF_SUFFIX: hit = al >= bl && !memcmp(a + al - bl, b, bl); break;
        default: break;
        }
        if (hit)
            return true;
    }
    return false;
}

static bool pred_compute(struct sg_matcher *m, const struct sg_pred *p)
{
    switch (p->op) {
    case SG_OP_NEVER: return false;
    case SG_OP_EXISTS: return head(m, p->field) != 0;
    case SG_OP_NULL:
        for (uint32_t h = head(m, p->field); h; h = m->vals[h - 1].next)
            if (m->vals[h - 1].len == 0)
                return true;
        return head(m, p->field) == 0;
    case SG_OP_REF_EQ:
    case SG_OP_REF_CONTAINS:
    case SG_OP_REF_PREFIX:
    case SG_OP_REF_SUFFIX:
        for (uint32_t h = head(m, p->field); h; h = m->vals[h - 1].next)
            if (ref_test(m, p, &m->vals[h - 1]))
                return true;
        return false;
    default: break;
    }
    if (p->field == SG_FIELD_ANY) {
        for (uint32_t i = 0; i < m->nvals; i++)
            if (value_test(m, p, &m->vals[i]))
                return true;
        return false;
    }
    for (uint32_t h = head(m, p->field); h; h = m->vals[h - 1].next)
        if (value_test(m, p, &m->vals[h - 1]))
            return true;
    return false;
}

static void lit_hit(void *ctx, uint32_t pi)
{
    struct sg_matcher *m = ctx;
    if (m->pep[pi] == m->epoch)
        return; /* already found on another value */
    m->pep[pi] = m->epoch;
    m->pres[pi] = 1;
    m->fired[m->nfired++] = pi; /* at most once per predicate: npreds room */
}

/* One pass of literal group g over the values of its field (all values for
 * keywords), folded: every predicate of the group that holds is stamped
 * true; the rest are false. */
static void lit_group(struct sg_matcher *m, uint32_t g)
{
    const struct sg_ruleset *rs = m->rs;
    m->gep[g] = m->epoch;
    uint32_t field = sg_lit_field(rs, g), n = 0;
    if (sg_grow((void **)&m->lptr, &m->caplv, m->nvals, sizeof *m->lptr) < 0 ||
        sg_grow((void **)&m->llen, &m->caplen, m->nvals, sizeof *m->llen) < 0)
        return; /* out of memory: the group's predicates are false */
    if (field == SG_FIELD_ANY) {
        for (uint32_t i = 0; i < m->nvals; i++)
            if ((m->lptr[n] = folded(m, &m->vals[i])))
                m->llen[n++] = m->vals[i].len;
    } else {
        for (uint32_t h = head(m, field); h; h = m->vals[h - 1].next)
            if ((m->lptr[n] = folded(m, &m->vals[h - 1])))
                m->llen[n++] = m->vals[h - 1].len;
    }
    if (n)
        sg_lit_scan(rs, g, m->lsc, m->lptr, m->llen, n, lit_hit, m);
}

static inline bool pred(struct sg_matcher *m, uint32_t pi)
{
    if (m->pep[pi] == m->epoch)
        return m->pres[pi];
    const struct sg_pred *p = &m->rs->preds[pi];
    if (p->grp) {
        if (m->gep[p->grp - 1] != m->epoch) {
            lit_group(m, p->grp - 1);
            if (m->pep[pi] == m->epoch)
                return m->pres[pi];
        }
        m->pep[pi] = m->epoch;
        m->pres[pi] = 0;
        return false;
    }
    bool r = pred_compute(m, p);
    m->pep[pi] = m->epoch;
    m->pres[pi] = r;
    return r;
}

static bool eval(struct sg_matcher *m, uint32_t ei)
{
    const struct sg_ruleset *rs = m->rs;
    const struct sg_expr *e = &rs->exprs[ei];
    const uint32_t *k = rs->kids ? rs->kids + e->a : NULL; /* no list nodes at all: NULL */
    switch (e->kind) {
    case SG_E_PRED: return pred(m, e->a);
    case SG_E_AND:
        for (uint32_t i = 0; i < e->n; i++)
            if (!eval(m, k[i]))
                return false;
        return true;
    case SG_E_OR:
        for (uint32_t i = 0; i < e->n; i++)
            if (eval(m, k[i]))
                return true;
        return false;
    case SG_E_NOT: return !eval(m, e->a);
    case SG_E_TRUE: return true;
    case SG_E_ATLEAST: {
        uint32_t hits = 0;
        for (uint32_t i = 0; i < e->n && hits < e->k; i++)
            hits += eval(m, k[i]);
        return hits >= e->k;
    }
    default: return false;
    }
}

/* The entries of bk to evaluate, into m->cand: the open ones, and those
 * woken by an anchor predicate that holds (anchor.c); the bucket's literal
 * groups are scanned first, which lists in m->fired every grouped predicate
 * found true. */
static void wake(struct sg_matcher *m, const struct sg_bucket *bk)
{
    uint32_t words = (bk->nents - 1) / 64 + 1;
    memset(m->cand, 0, words * sizeof *m->cand);
    for (uint32_t i = 0; i < bk->nopen; i++)
        m->cand[bk->open[i] / 64] |= 1ull << (bk->open[i] % 64);
    for (uint32_t i = 0; i < bk->ngroups; i++)
        if (m->gep[bk->groups[i]] != m->epoch)
            lit_group(m, bk->groups[i]);
    for (uint32_t f = 0; f < m->nfired; f++) {
        uint32_t p = m->fired[f], lo = 0, hi = bk->napred;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (bk->apred[mid] < p)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == bk->napred || bk->apred[lo] != p)
            continue;
        for (uint32_t j = bk->aoff[lo]; j < bk->aoff[lo + 1]; j++)
            m->cand[bk->aent[j] / 64] |= 1ull << (bk->aent[j] % 64);
    }
}

static const struct sg_bucket *bucket_of(const struct sg_ruleset *rs, const struct sg_event *ev)
{
    long ci = ev->channel.s ? sg_htab_get(&rs->chans, ev->channel.s, ev->channel.len) : -1;
    if (ci < 0)
        return &rs->star;
    const struct sg_chan *ch = &rs->chan[ci];
    if (ev->has_event_id) {
        uint32_t lo = 0, hi = ch->neids;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (ch->eids[mid] < ev->event_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < ch->neids && ch->eids[lo] == ev->event_id)
            return &ch->by_eid[lo];
    }
    return &ch->any;
}

uint32_t sg_match(struct sg_matcher *m, const struct sg_event *ev, uint32_t *hits, uint32_t cap)
{
    const struct sg_bucket *bk = bucket_of(m->rs, ev);
    if (!bk->nents)
        return 0;
    if (++m->epoch == 0) { /* wrapped: forget every stamp */
        memset(m->pep, 0, (m->rs->npreds + 1) * sizeof *m->pep);
        memset(m->fep, 0, (m->rs->nfields + 1) * sizeof *m->fep);
        memset(m->gep, 0, (m->rs->nlits + 1) * sizeof *m->gep);
        m->epoch = 1;
    }
    m->curblk = 0;
    m->used = 0;
    m->nfired = 0;
    build_table(m, ev, bk);
    wake(m, bk);
    uint32_t n = 0;
    for (uint32_t w = 0; w <= (bk->nents - 1) / 64; w++) {
        for (uint64_t bits = m->cand[w]; bits; bits &= bits - 1) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
            if (eval(m, bk->ents[i].expr)) {
                if (n < cap)
                    hits[n] = bk->ents[i].rule;
                n++;
            }
        }
    }
    return n;
}
