/* cond.c - the condition of a Sigma detection: text -> logic node.
 *
 * Data enters as the condition string and the search identifiers already
 * parsed (name -> node); it leaves as one node index, or an error naming
 * the offending token. Grammar (precedence not > and > or):
 *
 *   expr    := and ('or' and)*
 *   and     := unary ('and' unary)*
 *   unary   := 'not' unary | primary
 *   primary := '(' expr ')' | quant 'of' (pattern | 'them') | identifier
 *   quant   := '1' | 'any' | 'all' | N
 *
 * Patterns take '*' and '?' wildcards; 'them' means every identifier not
 * starting with '_'. Keywords are case-insensitive. A '|' (Sigma v1
 * aggregation such as "| count() > 5") is rejected: correlations replace it.
 * Nesting is bounded (SG_COND_MAX_DEPTH). */
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"

#define SG_COND_MAX_DEPTH 64
#define SG_COND_MAX_KIDS 256

enum tkind { T_END, T_LP, T_RP, T_AND, T_OR, T_NOT, T_OF, T_THEM, T_ALL, T_NUM, T_IDENT, T_PIPE, T_BAD };

struct lexer {
    const char *s;
    size_t pos;
    enum tkind kind;
    const char *tok;
    size_t tlen;
    long num;
};

struct cparse {
    struct sg_build *b;
    const struct ynode *at;
    struct lexer lx;
    const struct sg_ident *ids;
    uint32_t nids;
    int depth;
};

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '*' || c == '?' || (unsigned char)c >= 0x80;
}

static void next(struct lexer *lx)
{
    while (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t' || lx->s[lx->pos] == '\n' ||
           lx->s[lx->pos] == '\r')
        lx->pos++;
    const char *p = lx->s + lx->pos;
    lx->tok = p;
    lx->tlen = 1;
    switch (*p) {
    case '\0': lx->kind = T_END; lx->tlen = 0; return;
    case '(': lx->kind = T_LP; lx->pos++; return;
    case ')': lx->kind = T_RP; lx->pos++; return;
    case '|': lx->kind = T_PIPE; lx->pos++; return;
    default: break;
    }
    if (!ident_char(*p)) {
        lx->kind = T_BAD;
        return;
    }
    size_t n = 0;
    while (ident_char(p[n]))
        n++;
    lx->tlen = n;
    lx->pos += n;
    static const struct { const char *w; enum tkind k; } kw[] = {
        {"and", T_AND}, {"or", T_OR}, {"not", T_NOT}, {"of", T_OF}, {"them", T_THEM},
        {"all", T_ALL}, {"any", T_NUM},
    };
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
        if (strlen(kw[i].w) == n && strncasecmp(p, kw[i].w, n) == 0) {
            lx->kind = kw[i].k;
            lx->num = 1;
            return;
        }
    }
    bool digits = true;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > 100000) {
            digits = false;
            break;
        }
        v = v * 10 + (p[i] - '0');
    }
    lx->kind = digits ? T_NUM : T_IDENT;
    lx->num = v;
}

static int cfail(struct cparse *c, const char *what)
{
    const struct lexer *lx = &c->lx;
    if (lx->kind == T_END)
        return sg_fail(c->b, c->at, "condition: %s at the end of \"%s\"", what, lx->s);
    return sg_fail(c->b, c->at, "condition: %s at \"%.*s\" (offset %zu of \"%s\")", what,
                   (int)(lx->tlen > 40 ? 40 : lx->tlen), lx->tok, (size_t)(lx->tok - lx->s),
                   lx->s);
}

/* '*' any run, '?' one character; case-sensitive like the identifiers. */
static bool wild_match(const char *pat, size_t plen, const char *s)
{
    size_t pi = 0, si = 0, sl = strlen(s), star_p = (size_t)-1, star_s = 0;
    while (si < sl || pi < plen) {
        if (pi < plen) {
            if (pat[pi] == '*') {
                star_p = pi++;
                star_s = si;
                continue;
            }
            if (si < sl && (pat[pi] == '?' || pat[pi] == s[si])) {
                pi++;
                si++;
                continue;
            }
        }
        if (star_p == (size_t)-1 || star_s >= sl)
            return false;
        pi = star_p + 1;
        si = ++star_s;
    }
    return true;
}

static int parse_or(struct cparse *c, uint32_t *out);

static int parse_quant(struct cparse *c, bool all, long n, uint32_t *out)
{
    next(&c->lx);
    if (c->lx.kind != T_OF)
        return cfail(c, "expected 'of'");
    next(&c->lx);
    bool them = c->lx.kind == T_THEM;
    if (!them && c->lx.kind != T_IDENT && c->lx.kind != T_NUM && c->lx.kind != T_ALL)
        return cfail(c, "expected a search identifier pattern or 'them'");
    uint32_t kids[SG_COND_MAX_KIDS], nk = 0;
    for (uint32_t i = 0; i < c->nids; i++) {
        const char *name = c->ids[i].name;
        bool hit = them ? name[0] != '_' : wild_match(c->lx.tok, c->lx.tlen, name);
        if (!hit)
            continue;
        if (nk == SG_COND_MAX_KIDS)
            return cfail(c, "too many search identifiers");
        kids[nk++] = c->ids[i].expr;
    }
    if (nk == 0)
        return cfail(c, them ? "'them' but no search identifier" : "pattern matches no search identifier");
    if (!all && n < 1)
        return cfail(c, "a count of 0 in 'N of'");
    long r;
    if (all || (uint32_t)n == nk)
        r = sg_expr_list(c->b, SG_E_AND, kids, nk, 0);
    else if (n == 1)
        r = sg_expr_list(c->b, SG_E_OR, kids, nk, 0);
    else /* n > nk can never hold; ATLEAST says so */
        r = sg_expr_list(c->b, SG_E_ATLEAST, kids, nk, (uint32_t)n);
    if (r < 0)
        return (int)r;
    *out = (uint32_t)r;
    next(&c->lx);
    return 0;
}

static int parse_primary(struct cparse *c, uint32_t *out)
{
    struct lexer *lx = &c->lx;
    switch (lx->kind) {
    case T_LP: {
        next(lx);
        int rc = parse_or(c, out);
        if (rc < 0)
            return rc;
        if (lx->kind != T_RP)
            return cfail(c, "expected ')'");
        next(lx);
        return 0;
    }
    case T_ALL: return parse_quant(c, true, 0, out);
    case T_NUM: {
        /* a number is a count only when 'of' follows; else an identifier */
        struct lexer save = *lx;
        next(lx);
        bool of = lx->kind == T_OF;
        *lx = save;
        if (of)
            return parse_quant(c, false, lx->num, out);
    }
    /* fall through */
    case T_IDENT:
    case T_THEM:
    case T_OF:
        for (uint32_t i = 0; i < c->nids; i++) {
            if (strlen(c->ids[i].name) == lx->tlen && !memcmp(c->ids[i].name, lx->tok, lx->tlen)) {
                *out = c->ids[i].expr;
                next(lx);
                return 0;
            }
        }
        return cfail(c, "unknown search identifier");
    case T_PIPE: return cfail(c, "aggregation ('|') is Sigma v1 and not supported, use a correlation rule");
    case T_END: return cfail(c, "expression expected");
    default: return cfail(c, "unexpected token");
    }
}

static int parse_unary(struct cparse *c, uint32_t *out)
{
    if (++c->depth > SG_COND_MAX_DEPTH)
        return cfail(c, "nested too deeply");
    int rc;
    if (c->lx.kind == T_NOT) {
        next(&c->lx);
        uint32_t kid;
        rc = parse_unary(c, &kid);
        if (rc == 0) {
            long r = sg_expr_leaf(c->b, SG_E_NOT, kid);
            rc = r < 0 ? (int)r : 0;
            *out = (uint32_t)r;
        }
    } else {
        rc = parse_primary(c, out);
    }
    c->depth--;
    return rc;
}

static int parse_list(struct cparse *c, enum tkind op, uint32_t *out)
{
    uint32_t kids[SG_COND_MAX_KIDS], nk = 0;
    for (;;) {
        uint32_t kid;
        int rc = op == T_OR ? parse_list(c, T_AND, &kid) : parse_unary(c, &kid);
        if (rc < 0)
            return rc;
        if (nk == SG_COND_MAX_KIDS)
            return cfail(c, "too many operands");
        kids[nk++] = kid;
        if (c->lx.kind != op)
            break;
        next(&c->lx);
    }
    if (nk == 1) {
        *out = kids[0];
        return 0;
    }
    long r = sg_expr_list(c->b, op == T_OR ? SG_E_OR : SG_E_AND, kids, nk, 0);
    if (r < 0)
        return (int)r;
    *out = (uint32_t)r;
    return 0;
}

static int parse_or(struct cparse *c, uint32_t *out)
{
    if (++c->depth > SG_COND_MAX_DEPTH)
        return cfail(c, "nested too deeply");
    int rc = parse_list(c, T_OR, out);
    c->depth--;
    return rc;
}

int sg_cond_parse(struct sg_build *b, const struct ynode *at, const char *text,
                  const struct sg_ident *ids, uint32_t nids, uint32_t *out)
{
    struct cparse c = {.b = b, .at = at, .lx = {.s = text}, .ids = ids, .nids = nids};
    next(&c.lx);
    int rc = parse_or(&c, out);
    if (rc < 0)
        return rc;
    if (c.lx.kind != T_END)
        return cfail(&c, c.lx.kind == T_PIPE ? "aggregation ('|') is Sigma v1 and not supported, use a correlation rule"
                                             : "unexpected token");
    return 0;
}
