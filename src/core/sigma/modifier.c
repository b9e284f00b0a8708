/* modifier.c - one "Field|mod|mod: value(s)" of a detection -> logic node.
 *
 * Data enters as the key text and its YAML value (scalar, null or list);
 * it leaves as a node over shared predicates (sg_pred_add), or an error
 * naming the key or value. Steps for each value:
 *   1. plain strings are read into a "sigma string": bytes plus a wildcard
 *      mark per byte ('*', '?', and '\' escapes as the specification says:
 *      \* \? \\ escape, a backslash before anything else is itself);
 *   2. transformation modifiers run in the order written (windash, base64,
 *      base64offset, utf16le/utf16be/utf16/wide), each value possibly
 *      becoming several (at most SG_MAX_EXPANSION);
 *   3. contains/startswith/endswith add '*' around;
 *   4. each result becomes a predicate: equality, substring, prefix, suffix
 *      or a wildcard glob, folded to lower case unless |cased.
 * Type modifiers (re, cidr, lt/lte/gt/gte, exists, fieldref, time parts)
 * make their own predicate kinds. Values of a list are OR-ed (AND-ed with
 * |all); |neq negates the whole: the field equals none of the values.
 * |expand placeholders come from the mapping's placeholders; a placeholder
 * it does not define makes the value match nothing (docs/sigma.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"
#include "core/ytree.h"

enum xform { X_WINDASH, X_B64, X_B64OFF, X_U16LE, X_U16BE, X_U16BOM };

struct mods {
    bool contains, startswith, endswith, all, cased, neq, re, ri, rm, rs, cidr, expand, fieldref,
        exists;
    uint8_t cmp; /* 0 or SG_OP_LT.. */
    uint8_t tpart;
    uint8_t xf[16];
    unsigned nxf;
};

/* a value under construction: bytes and a wildcard mark per byte */
struct sgs {
    char *b;
    uint8_t *w; /* 0 literal, SG_G_STAR, SG_G_ONE */
    uint32_t len, cap;
};

struct alts {
    struct sgs *v;
    uint32_t n, cap;
};

static void sgs_free(struct sgs *s)
{
    free(s->b);
    free(s->w);
    *s = (struct sgs){0};
}

static void alts_free(struct alts *a)
{
    for (uint32_t i = 0; i < a->n; i++)
        sgs_free(&a->v[i]);
    free(a->v);
    *a = (struct alts){0};
}

static int sgs_put(struct sgs *s, char c, uint8_t w)
{
    if (s->len + 1 > SG_MAX_VALUE_BYTES * 4u)
        return MAMORI_ERANGE;
    if (s->len == s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 64;
        char *nb = realloc(s->b, nc);
        if (!nb)
            return MAMORI_ENOMEM;
        s->b = nb;
        uint8_t *nw = realloc(s->w, nc);
        if (!nw)
            return MAMORI_ENOMEM;
        s->w = nw;
        s->cap = nc;
    }
    s->b[s->len] = c;
    s->w[s->len++] = w;
    return 0;
}

static int sgs_lit(struct sgs *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sgs_put(s, p[i], 0) < 0)
            return MAMORI_ENOMEM;
    return 0;
}

static int alts_push(struct alts *a, struct sgs *s)
{
    if (a->n >= SG_MAX_EXPANSION)
        return MAMORI_ERANGE;
    if (sg_grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v) < 0)
        return MAMORI_ENOMEM;
    a->v[a->n++] = *s;
    *s = (struct sgs){0};
    return 0;
}

static bool has_wild(const struct sgs *s)
{
    for (uint32_t i = 0; i < s->len; i++)
        if (s->w[i])
            return true;
    return false;
}

/* step 1: escapes and wildcards */
static int read_plain(struct sgs *s, const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        int rc;
        if (c == '\\' && i + 1 < n && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\'))
            rc = sgs_put(s, v[++i], 0);
        else if (c == '*')
            rc = sgs_put(s, '*', SG_G_STAR);
        else if (c == '?')
            rc = sgs_put(s, '?', SG_G_ONE);
        else
            rc = sgs_put(s, c, 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- transformations ---- */
static const char *const dashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};

static bool word_char(const struct sgs *s, uint32_t i)
{
    char c = s->b[i];
    return !s->w[i] && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_');
}

/* Length of the dash that starts an option at i (as pySigma's \B[-/]\b: not
 * after a word character, before one: " -enc", "/c", not "Add-MpPreference"
 * or "C:/x"), else 0. */
static size_t dash_at(const struct sgs *s, uint32_t i)
{
    if (i > 0 && word_char(s, i - 1))
        return 0;
    for (size_t d = 0; d < 5; d++) {
        size_t dl = strlen(dashes[d]);
        if (i + dl <= s->len && !memcmp(s->b + i, dashes[d], dl)) {
            bool lit = true;
            for (size_t k = 0; k < dl; k++)
                lit = lit && !s->w[i + k];
            if (lit && i + dl < s->len && word_char(s, (uint32_t)(i + dl)))
                return dl;
        }
    }
    return 0;
}

static int windash_rec(const struct sgs *src, uint32_t i, struct sgs *cur, struct alts *out)
{
    while (i < src->len) {
        size_t dl = dash_at(src, i);
        if (dl) {
            for (size_t d = 0; d < 5; d++) {
                struct sgs c = {0};
                int rc = sgs_lit(&c, cur->b ? cur->b : "", cur->len);
                if (rc == 0 && cur->len)
                    memcpy(c.w, cur->w, cur->len);
                if (rc == 0)
                    rc = sgs_lit(&c, dashes[d], strlen(dashes[d]));
                if (rc == 0)
                    rc = windash_rec(src, i + (uint32_t)dl, &c, out);
                sgs_free(&c);
                if (rc < 0)
                    return rc;
            }
            return 0;
        }
        int rc = sgs_put(cur, src->b[i], src->w[i]);
        if (rc < 0)
            return rc;
        i++;
    }
    struct sgs c = {0};
    for (uint32_t k = 0; k < cur->len; k++)
        if (sgs_put(&c, cur->b[k], cur->w[k]) < 0) {
            sgs_free(&c);
            return MAMORI_ENOMEM;
        }
    int rc = alts_push(out, &c);
    sgs_free(&c);
    return rc;
}

static int b64_encode(struct sgs *out, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        if (sgs_lit(out, q, 4) < 0)
            return MAMORI_ENOMEM;
    }
    return 0;
}

/* The three encodings of the value at offsets 0, 1, 2 of a longer base64
 * text, without the characters that depend on the bytes around it. */
static int b64_offsets(const struct sgs *in, struct alts *out)
{
    static const uint32_t lead[3] = {0, 2, 3}, trail[3] = {0, 3, 2};
    for (uint32_t sh = 0; sh < 3; sh++) {
        size_t n = in->len + sh;
        unsigned char *buf = calloc(1, n + 1);
        if (!buf)
            return MAMORI_ENOMEM;
        memcpy(buf + sh, in->b, in->len);
        struct sgs enc = {0};
        int rc = b64_encode(&enc, buf, n);
        free(buf);
        uint32_t cut = trail[n % 3];
        if (rc == 0 && enc.len > lead[sh] + cut) {
            struct sgs part = {0};
            rc = sgs_lit(&part, enc.b + lead[sh], enc.len - lead[sh] - cut);
            if (rc == 0)
                rc = alts_push(out, &part);
            sgs_free(&part);
        }
        sgs_free(&enc);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int utf16(const struct sgs *in, struct sgs *out, bool be, bool bom)
{
    if (bom && sgs_lit(out, be ? "\xFE\xFF" : "\xFF\xFE", 2) < 0)
        return MAMORI_ENOMEM;
    const unsigned char *p = (const unsigned char *)in->b;
    for (uint32_t i = 0; i < in->len;) {
        uint32_t cp = p[i], n = 1;
        if (cp >= 0xF0 && i + 3 < in->len) {
            cp = ((cp & 7) << 18) | ((p[i + 1] & 63u) << 12) | ((p[i + 2] & 63u) << 6) | (p[i + 3] & 63u);
            n = 4;
        } else if (cp >= 0xE0 && i + 2 < in->len) {
            cp = ((cp & 15) << 12) | ((p[i + 1] & 63u) << 6) | (p[i + 2] & 63u);
            n = 3;
        } else if (cp >= 0xC0 && i + 1 < in->len) {
            cp = ((cp & 31) << 6) | (p[i + 1] & 63u);
            n = 2;
        }
        i += n;
        uint16_t units[2];
        int nu = 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            units[0] = (uint16_t)(0xD800 | (cp >> 10));
            units[1] = (uint16_t)(0xDC00 | (cp & 0x3FF));
            nu = 2;
        } else {
            units[0] = (uint16_t)cp;
        }
        for (int k = 0; k < nu; k++) {
            char b2[2] = {(char)(units[k] & 0xFF), (char)(units[k] >> 8)};
            if (be) {
                char t = b2[0];
                b2[0] = b2[1];
                b2[1] = t;
            }
            if (sgs_lit(out, b2, 2) < 0)
                return MAMORI_ENOMEM;
        }
    }
    return 0;
}

static const char *xf_name(uint8_t x)
{
    static const char *n[] = {"windash", "base64", "base64offset", "utf16le", "utf16be", "utf16"};
    return n[x];
}

static int transform(struct sg_build *b, const struct ynode *at, uint8_t x, struct alts *a)
{
    struct alts out = {0};
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < a->n; i++) {
        struct sgs *in = &a->v[i];
        if (x != X_WINDASH && has_wild(in)) {
            rc = sg_fail(b, at, "|%s cannot encode a value with wildcards", xf_name(x));
            break;
        }
        struct sgs o = {0};
        switch (x) {
        case X_WINDASH: rc = windash_rec(in, 0, &o, &out); break;
        case X_B64:
            rc = b64_encode(&o, (const unsigned char *)in->b, in->len);
            if (rc == 0)
                rc = alts_push(&out, &o);
            break;
        case X_B64OFF: rc = b64_offsets(in, &out); break;
        default:
            rc = utf16(in, &o, x == X_U16BE, x == X_U16BOM);
            if (rc == 0)
                rc = alts_push(&out, &o);
            break;
        }
        sgs_free(&o);
    }
    if (rc == MAMORI_ERANGE)
        rc = sg_fail(b, at, "|%s makes more than %u values", xf_name(x), SG_MAX_EXPANSION);
    else if (rc == 0 && out.n == 0)
        rc = sg_fail(b, at, "|%s leaves nothing to match (value too short)", xf_name(x));
    if (rc < 0) {
        alts_free(&out);
        return rc == MAMORI_ENOMEM ? sg_fail(b, at, "out of memory") : rc;
    }
    alts_free(a);
    *a = out;
    return 0;
}

/* ---- predicates ---- */
struct keybuf {
    char *p;
    size_t len, cap;
};

static int kput(struct keybuf *k, const void *p, size_t n)
{
    if (k->len + n > k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 256;
        while (nc < k->len + n)
            nc *= 2;
        char *np = realloc(k->p, nc);
        if (!np)
            return MAMORI_ENOMEM;
        k->p = np;
        k->cap = nc;
    }
    memcpy(k->p + k->len, p, n);
    k->len += n;
    return 0;
}

static long add_pred(struct sg_build *b, const struct sg_pred *p, const char *payload, size_t plen)
{
    struct keybuf k = {0};
    char head[96];
    int hn = snprintf(head, sizeof head, "%u|%u|%u|%u|%u|%.17g|", p->field, p->ref, p->op, p->flags,
                      p->tpart, p->num);
    long r = MAMORI_ENOMEM;
    if (kput(&k, head, (size_t)hn) == 0 && kput(&k, payload, plen) == 0)
        r = sg_pred_add(b, p, k.p, k.len); /* owns p->re from here */
    else
        sg_regex_free(p->re);
    free(k.p);
    return r;
}

static long leaf(struct sg_build *b, long pred)
{
    if (pred < 0)
        return pred;
    return sg_expr_leaf(b, SG_E_PRED, (uint32_t)pred);
}

/* A sigma string -> text predicate (step 4). */
static long string_pred(struct sg_build *b, uint32_t field, const struct sgs *s, bool cased)
{
    /* collapse runs of '*' */
    uint32_t n = 0;
    char *bb = calloc(1, s->len + 1);
    uint8_t *ww = malloc(s->len + 1);
    if (!bb || !ww) {
        free(bb);
        free(ww);
        return MAMORI_ENOMEM;
    }
    for (uint32_t i = 0; i < s->len; i++) {
        if (s->w[i] == SG_G_STAR && n && ww[n - 1] == SG_G_STAR)
            continue;
        bb[n] = s->b[i];
        ww[n++] = s->w[i];
    }
    if (!cased)
        sg_fold(bb, bb, n);
    uint32_t lo = 0, hi = n;
    bool lead = n && ww[0] == SG_G_STAR, trail = n > (lead ? 1u : 0u) && ww[n - 1] == SG_G_STAR;
    if (lead)
        lo++;
    if (trail)
        hi--;
    bool inner = false;
    for (uint32_t i = lo; i < hi; i++)
        inner = inner || ww[i];
    struct sg_pred p = {.field = field, .flags = cased ? SG_PF_CASED : 0};
    struct keybuf k = {0};
    long r = 0;
    struct sg_gtok *tok = NULL;
    uint32_t ntok = 0;
    if (!inner) {
        p.op = lead && trail ? SG_OP_CONTAINS : lead ? SG_OP_SUFFIX : trail ? SG_OP_PREFIX : SG_OP_EQ;
        if (lead && !trail && n == 1) /* "*" alone: any value */
            p.op = SG_OP_CONTAINS;
        p.needle = sg_arena_strndup(&b->rs->arena, bb + lo, hi - lo);
        p.nlen = hi - lo;
        if (!p.needle)
            r = MAMORI_ENOMEM;
        else
            r = add_pred(b, &p, bb + lo, hi - lo);
    } else {
        /* glob: tokens over the needle's bytes; key marks wildcards */
        p.op = SG_OP_GLOB;
        char *needle = sg_arena_alloc(&b->rs->arena, n + 1);
        tok = sg_arena_alloc(&b->rs->arena, (n + 1) * sizeof *tok);
        if (!needle || !tok) {
            r = MAMORI_ENOMEM;
        } else {
            uint32_t nl = 0;
            for (uint32_t i = 0; i < n && r == 0; i++) {
                if (ww[i]) {
                    tok[ntok++] = (struct sg_gtok){.kind = ww[i]};
                    r = kput(&k, ww[i] == SG_G_STAR ? "\0*" : "\0?", 2);
                } else {
                    if (!ntok || tok[ntok - 1].kind != SG_G_LIT)
                        tok[ntok++] = (struct sg_gtok){.kind = SG_G_LIT, .off = nl};
                    tok[ntok - 1].len++;
                    needle[nl++] = bb[i];
                    r = bb[i] ? kput(&k, bb + i, 1) : kput(&k, "\0\0", 2);
                }
            }
            p.needle = needle;
            p.nlen = nl;
            p.tok = tok;
            p.ntok = ntok;
            if (r == 0)
                r = add_pred(b, &p, k.p, k.len);
        }
    }
    free(k.p);
    free(bb);
    free(ww);
    return leaf(b, r);
}

long sg_eq_expr(struct sg_build *b, uint32_t field, const char *val)
{
    struct sgs s = {0};
    long r = sgs_lit(&s, val, strlen(val));
    if (r == 0)
        r = string_pred(b, field, &s, false);
    sgs_free(&s);
    return r;
}

long sg_exists_expr(struct sg_build *b, uint32_t field)
{
    struct sg_pred p = {.field = field, .op = SG_OP_EXISTS};
    return leaf(b, add_pred(b, &p, "", 0));
}

static bool is_null(const struct ynode *v)
{
    return !v || (v->type == YN_SCALAR && !v->quoted &&
                  (v->len == 0 || !strcmp(v->str, "null") || !strcmp(v->str, "~") ||
                   !strcmp(v->str, "Null") || !strcmp(v->str, "NULL")));
}

static bool is_int(const struct ynode *v)
{
    if (v->type != YN_SCALAR || v->quoted || v->len == 0 || v->len > 18)
        return false;
    size_t i = v->str[0] == '-' ? 1 : 0;
    if (i == v->len)
        return false;
    for (; i < v->len; i++)
        if (v->str[i] < '0' || v->str[i] > '9')
            return false;
    return true;
}

static int parse_mods(struct sg_build *b, const struct ynode *at, const char *key, struct mods *m)
{
    const char *p = strchr(key, '|');
    while (p) {
        const char *s = p + 1;
        p = strchr(s, '|');
        size_t n = p ? (size_t)(p - s) : strlen(s);
        char name[32];
        if (n == 0 || n >= sizeof name)
            return sg_fail(b, at, "empty or overlong modifier in '%s'", key);
        memcpy(name, s, n);
        name[n] = '\0';
        struct { const char *n; bool *flag; } flags[] = {
            {"contains", &m->contains}, {"startswith", &m->startswith}, {"endswith", &m->endswith},
            {"all", &m->all}, {"cased", &m->cased}, {"neq", &m->neq}, {"re", &m->re},
            {"cidr", &m->cidr}, {"expand", &m->expand}, {"fieldref", &m->fieldref},
            {"exists", &m->exists},
        };
        bool done = false;
        for (size_t i = 0; i < sizeof flags / sizeof flags[0] && !done; i++)
            if (!strcmp(name, flags[i].n))
                *flags[i].flag = done = true;
        static const struct { const char *n; uint8_t x; } xf[] = {
            {"windash", X_WINDASH}, {"base64", X_B64}, {"base64offset", X_B64OFF},
            {"utf16le", X_U16LE}, {"wide", X_U16LE}, {"utf16be", X_U16BE}, {"utf16", X_U16BOM},
        };
        for (size_t i = 0; i < sizeof xf / sizeof xf[0] && !done; i++) {
            if (!strcmp(name, xf[i].n)) {
                if (m->nxf == sizeof m->xf)
                    return sg_fail(b, at, "too many modifiers in '%s'", key);
                m->xf[m->nxf++] = xf[i].x;
                done = true;
            }
        }
        static const struct { const char *n; uint8_t op; } cmp[] = {
            {"lt", SG_OP_LT}, {"lte", SG_OP_LTE}, {"gt", SG_OP_GT}, {"gte", SG_OP_GTE},
        };
        for (size_t i = 0; i < 4 && !done; i++)
            if (!strcmp(name, cmp[i].n))
                m->cmp = cmp[i].op, done = true;
        static const struct { const char *n; uint8_t t; } tp[] = {
            {"minute", SG_T_MINUTE}, {"hour", SG_T_HOUR}, {"day", SG_T_DAY},
            {"week", SG_T_WEEK}, {"month", SG_T_MONTH}, {"year", SG_T_YEAR},
        };
        for (size_t i = 0; i < 6 && !done; i++)
            if (!strcmp(name, tp[i].n))
                m->tpart = tp[i].t, done = true;
        if (!done && m->re && (!strcmp(name, "i") || !strcmp(name, "m") || !strcmp(name, "s"))) {
            *(name[0] == 'i' ? &m->ri : name[0] == 'm' ? &m->rm : &m->rs) = true;
            done = true;
        }
        if (!done)
            return sg_fail(b, at, "unknown modifier '%s' in '%s'", name, key);
    }
    int kinds = m->re + m->cidr + (m->cmp != 0 || m->tpart != 0) + m->exists + m->fieldref;
    if (kinds > 1)
        return sg_fail(b, at, "modifiers of '%s' do not combine (re, cidr, comparison, exists, fieldref)", key);
    if (kinds && m->nxf)
        return sg_fail(b, at, "encoding modifiers of '%s' apply to plain strings only", key);
    return 0;
}

/* |expand: replace %name% placeholders with the mapping's values. Returns
 * 1 when a placeholder is unknown (the value then matches nothing). */
static int expand_value(struct sg_build *b, const struct ynode *at, const char *v, size_t n,
                        struct alts *out)
{
    struct sgs cur = {0};
    struct alts acc = {0};
    int rc = alts_push(&acc, &cur);
    for (size_t i = 0; rc == 0 && i < n;) {
        if (v[i] == '\\' && i + 1 < n && v[i + 1] == '%') {
            for (uint32_t a = 0; a < acc.n && rc == 0; a++)
                rc = sgs_put(&acc.v[a], '%', 0);
            i += 2;
            continue;
        }
        const char *end = v[i] == '%' ? memchr(v + i + 1, '%', n - i - 1) : NULL;
        if (!end) {
            /* plain text up to the next % (or escape) */
            size_t j = i;
            while (j < n && v[j] != '%') {
                if (v[j] == '\\' && j + 1 < n && v[j + 1] == '%')
                    break;
                j += (v[j] == '\\' && j + 1 < n) ? 2 : 1; /* keep escape pairs whole */
            }
            if (j == i) { /* a lone '%' without a closing one */
                j = i + 1;
            }
            for (uint32_t a = 0; a < acc.n && rc == 0; a++)
                rc = read_plain(&acc.v[a], v + i, j - i);
            i = j;
            continue;
        }
        size_t nl = (size_t)(end - (v + i + 1));
        const struct sg_placeholder *ph = NULL;
        for (uint32_t k = 0; k < b->rs->map.nph; k++)
            if (strlen(b->rs->map.ph[k].name) == nl && !memcmp(b->rs->map.ph[k].name, v + i + 1, nl))
                ph = &b->rs->map.ph[k];
        if (!ph || ph->n == 0) {
            alts_free(&acc);
            return 1;
        }
        struct alts nx = {0};
        for (uint32_t a = 0; a < acc.n && rc == 0; a++) {
            for (uint32_t k = 0; k < ph->n && rc == 0; k++) {
                struct sgs c = {0};
                for (uint32_t q = 0; q < acc.v[a].len && rc == 0; q++)
                    rc = sgs_put(&c, acc.v[a].b[q], acc.v[a].w[q]);
                if (rc == 0)
                    rc = read_plain(&c, ph->values[k], strlen(ph->values[k]));
                if (rc == 0)
                    rc = alts_push(&nx, &c);
                sgs_free(&c);
            }
        }
        alts_free(&acc);
        acc = nx;
        i = (size_t)(end - v) + 1;
    }
    if (rc < 0) {
        alts_free(&acc);
        return rc == MAMORI_ERANGE ? sg_fail(b, at, "|expand makes more than %u values", SG_MAX_EXPANSION)
                                   : sg_fail(b, at, "out of memory");
    }
    *out = acc;
    return 0;
}

static long one_value(struct sg_build *b, uint32_t field, const struct mods *m, const struct ynode *v)
{
    struct sg_pred p = {.field = field};
    if (m->exists) {
        bool t = v && v->type == YN_SCALAR && !v->quoted && !strcmp(v->str, "true");
        bool f = v && v->type == YN_SCALAR && !v->quoted && !strcmp(v->str, "false");
        if (!t && !f)
            return sg_fail(b, v, "|exists takes true or false");
        if (field == SG_FIELD_ANY)
            return sg_fail(b, v, "|exists needs a field name");
        p.op = SG_OP_EXISTS;
        long e = leaf(b, add_pred(b, &p, "", 0));
        return t || e < 0 ? e : sg_expr_leaf(b, SG_E_NOT, (uint32_t)e);
    }
    if (is_null(v)) {
        if (field == SG_FIELD_ANY)
            return sg_fail(b, v, "a null keyword matches nothing");
        p.op = SG_OP_NULL;
        return leaf(b, add_pred(b, &p, "", 0));
    }
    if (v->type != YN_SCALAR)
        return sg_fail(b, v, "a value must be a string, a number or null");
    if (memchr(v->str, '\0', v->len))
        return sg_fail(b, v, "a value contains a NUL byte");
    if (v->len > SG_MAX_VALUE_BYTES)
        return sg_fail(b, v, "value longer than %u bytes", SG_MAX_VALUE_BYTES);
    if (m->re) {
        char err[256];
        p.op = SG_OP_RE;
        p.flags = (uint8_t)((m->ri ? 2 : 0) | (m->rm ? 4 : 0) | (m->rs ? 8 : 0));
        struct sg_regex *re = sg_regex_new(v->str, v->len, m->ri, m->rm, m->rs, err, sizeof err);
        if (!re)
            return sg_fail(b, v, "%s", err);
        p.re = re;
        long r = add_pred(b, &p, v->str, v->len);
        return leaf(b, r);
    }
    if (m->cidr) {
        p.op = SG_OP_CIDR;
        if (sg_parse_cidr(v->str, &p.cidr) < 0)
            return sg_fail(b, v, "'%s' is not an IPv4 or IPv6 address or CIDR range", v->str);
        return leaf(b, add_pred(b, &p, v->str, v->len));
    }
    if (m->cmp || m->tpart) {
        double num;
        if (!sg_parse_num(v->str, v->len, &num))
            return sg_fail(b, v, "'%s' is not a number", v->str);
        p.op = m->cmp ? m->cmp : SG_OP_NUMEQ;
        p.num = num;
        p.tpart = m->tpart;
        p.needle = sg_arena_strndup(&b->rs->arena, v->str, v->len);
        p.nlen = (uint32_t)v->len;
        return leaf(b, add_pred(b, &p, v->str, v->len));
    }
    if (m->fieldref) {
        if (field == SG_FIELD_ANY)
            return sg_fail(b, v, "|fieldref needs a field name");
        uint32_t ref = sg_field_intern(b->rs, v->str, v->len);
        if (ref == UINT32_MAX || sg_note_field(b, v->str, v->len) < 0)
            return MAMORI_ENOMEM;
        p.ref = ref;
        p.flags = m->cased ? SG_PF_CASED : 0;
        p.op = m->contains ? SG_OP_REF_CONTAINS : m->startswith ? SG_OP_REF_PREFIX
             : m->endswith ? SG_OP_REF_SUFFIX : SG_OP_REF_EQ;
        return leaf(b, add_pred(b, &p, "", 0));
    }
    if (is_int(v) && !m->nxf && !m->contains && !m->startswith && !m->endswith && !m->expand &&
        !m->cased) {
        double num;
        sg_parse_num(v->str, v->len, &num);
        p.op = SG_OP_NUMEQ;
        p.num = num;
        p.needle = sg_arena_strndup(&b->rs->arena, v->str, v->len);
        p.nlen = (uint32_t)v->len;
        return leaf(b, add_pred(b, &p, v->str, v->len));
    }
    /* plain string: steps 1-4 */
    struct alts a = {0};
    int rc;
    if (m->expand) {
        rc = expand_value(b, v, v->str, v->len, &a);
        if (rc == 1) {
            p.op = SG_OP_NEVER;
            return leaf(b, add_pred(b, &p, "", 0));
        }
    } else {
        struct sgs s = {0};
        rc = read_plain(&s, v->str, v->len);
        if (rc == 0)
            rc = alts_push(&a, &s);
        sgs_free(&s);
        if (rc < 0)
            rc = sg_fail(b, v, "out of memory");
    }
    for (unsigned i = 0; rc == 0 && i < m->nxf; i++)
        rc = transform(b, v, m->xf[i], &a);
    uint32_t kids[SG_MAX_EXPANSION];
    uint32_t nk = 0;
    for (uint32_t i = 0; rc == 0 && i < a.n; i++) {
        struct sgs *s = &a.v[i];
        if (m->contains || m->endswith) { /* prepend '*' */
            rc = sgs_put(s, 0, 0);
            if (rc == 0) {
                memmove(s->b + 1, s->b, s->len - 1);
                memmove(s->w + 1, s->w, s->len - 1);
                s->b[0] = '*';
                s->w[0] = SG_G_STAR;
            }
        }
        if (rc == 0 && (m->contains || m->startswith))
            rc = sgs_put(s, '*', SG_G_STAR);
        long e = rc < 0 ? rc : string_pred(b, field, s, m->cased);
        if (e < 0)
            rc = (int)e;
        else
            kids[nk++] = (uint32_t)e;
    }
    alts_free(&a);
    if (rc < 0)
        return b->err[0] ? rc : sg_fail(b, v, "out of memory");
    return nk == 1 ? (long)kids[0] : sg_expr_list(b, SG_E_OR, kids, nk, 0);
}

int sg_value_parse(struct sg_build *b, const struct ynode *keynode, const char *key,
                   const struct ynode *val, uint32_t *out)
{
    struct mods m = {0};
    int rc = parse_mods(b, keynode, key, &m);
    if (rc < 0)
        return rc;
    const char *bar = strchr(key, '|');
    size_t flen = bar ? (size_t)(bar - key) : strlen(key);
    uint32_t field = SG_FIELD_ANY;
    if (flen) {
        field = sg_field_intern(b->rs, key, flen);
        if (field == UINT32_MAX || sg_note_field(b, key, flen) < 0)
            return sg_fail(b, keynode, "out of memory");
    } else {
        /* keywords are searched in the text of the event: implicit contains */
        b->rs->has_keywords = true;
        if (!m.startswith && !m.endswith && !m.re && !m.cidr && !m.cmp && !m.tpart)
            m.contains = true;
    }
    const struct ynode *single = val;
    uint32_t nvals = 1;
    if (val && val->type == YN_SEQ) {
        if (val->nchild == 0)
            return sg_fail(b, val, "empty list of values for '%s'", key);
        nvals = (uint32_t)val->nchild;
        single = val->first;
    } else if (val && val->type == YN_MAP) {
        return sg_fail(b, val, "the value of '%s' is a mapping; expected a value or a list", key);
    }
    uint32_t stackk[64], *kids = nvals <= 64 ? stackk : malloc(nvals * sizeof *kids);
    if (!kids)
        return sg_fail(b, val, "out of memory");
    uint32_t nk = 0;
    rc = 0;
    for (const struct ynode *v = single; rc == 0 && nk < nvals; v = v ? v->next : NULL) {
        if (v && v->type != YN_SCALAR) {
            rc = sg_fail(b, v, "a list of values may hold only strings, numbers or null");
            break;
        }
        long e = one_value(b, field, &m, v);
        if (e < 0)
            rc = b->err[0] ? (int)e : sg_fail(b, v ? v : keynode, "out of memory");
        else
            kids[nk++] = (uint32_t)e;
    }
    long r = rc;
    if (rc == 0) {
        bool and = m.all && !m.neq;
        r = nk == 1 ? (long)kids[0] : sg_expr_list(b, and ? SG_E_AND : SG_E_OR, kids, nk, 0);
        if (r >= 0 && m.neq)
            r = sg_expr_leaf(b, SG_E_NOT, (uint32_t)r);
        if (r < 0 && !b->err[0])
            r = sg_fail(b, keynode, "out of memory");
    }
    if (kids != stackk)
        free(kids);
    if (r < 0)
        return (int)r;
    *out = (uint32_t)r;
    return 0;
}
