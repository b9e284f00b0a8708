/* regex.c - the `re` modifier: PCRE2 (8-bit, JIT when available) with a
 * literal prefilter.
 *
 * Data enters as a pattern and its i/m/s flags at load time and as event
 * values at match time; it leaves as a boolean. Bounds: the pattern length
 * (SG_MAX_REGEX_BYTES), PCRE2's compile limits, a match limit and a depth
 * limit per match, so a hostile pattern cannot take the matcher hostage.
 * The prefilter: the longest run of plain characters that every match must
 * contain (taken from the top level of the pattern, outside groups and
 * alternations); an event value without it is rejected with memmem before
 * PCRE2 is called. Values are matched as bytes (no UTF check: readers give
 * UTF-8, but a hostile log must not make PCRE2 refuse or misbehave). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sigma/sigma_int.h"

#define SG_RE_MATCH_LIMIT 200000u
#define SG_RE_DEPTH_LIMIT 5000u
#define SG_RE_LIT_MAX 64u

struct sg_regex {
    pcre2_code *code;
    pcre2_match_context *mctx;
    bool icase;
    uint32_t litlen;
    char lit[SG_RE_LIT_MAX]; /* folded when icase */
};

struct sg_rematch {
    pcre2_match_data *md;
};

static bool is_meta(char c)
{
    return strchr("\\^$.|?*+()[]{}", c) != NULL;
}

/* When p[i] is '{' opening a quantifier ({n}, {n,}, {n,m}), the index of its
 * '}', else 0 (then PCRE2 reads the brace as a plain character). */
static size_t quant_end(const char *p, size_t len, size_t i)
{
    if (i >= len || p[i] != '{')
        return 0;
    size_t j = i + 1, digits = 0;
    while (j < len && p[j] >= '0' && p[j] <= '9')
        j++, digits++;
    if (!digits)
        return 0;
    if (j < len && p[j] == ',') {
        j++;
        while (j < len && p[j] >= '0' && p[j] <= '9')
            j++;
    }
    return j < len && p[j] == '}' ? j : 0;
}

/* Longest literal run at the top level, or none when the pattern has a
 * top-level alternation. A run followed by a quantifier loses its last
 * character (it may repeat zero times). Escapes of punctuation count as
 * plain characters; any other escape ends the run. */
static void find_literal(struct sg_regex *r, const char *p, size_t len)
{
    char best[SG_RE_LIT_MAX], cur[SG_RE_LIT_MAX];
    size_t nbest = 0, ncur = 0;
    int depth = 0;
    bool in_class = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (in_class) {
            if (c == '\\')
                i++;
            else if (c == ']')
                in_class = false;
            continue;
        }
        bool lit = false;
        char lc = c;
        if (c == '\\' && i + 1 < len) {
            char e = p[++i];
            if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))) {
                lit = true;
                lc = e;
            } else {
                /* \x41, \p{L}, \0123...: skip the escape's argument too */
                while (i + 1 < len && ((p[i + 1] >= 'a' && p[i + 1] <= 'z') ||
                                       (p[i + 1] >= 'A' && p[i + 1] <= 'Z') ||
                                       (p[i + 1] >= '0' && p[i + 1] <= '9')))
                    i++;
                if (i + 1 < len && p[i + 1] == '{')
                    while (i + 1 < len && p[i] != '}')
                        i++;
            }
        } else if (c == '|' && depth == 0) {
            r->litlen = 0;
            return;
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (depth > 0)
                depth--;
        } else if (c == '[') {
            in_class = true;
            /* a ']' first in the class (after an optional '^') is a member */
            if (i + 1 < len && p[i + 1] == '^')
                i++;
            if (i + 1 < len && p[i + 1] == ']')
                i++;
        } else if (c == '{') {
            size_t q = quant_end(p, len, i);
            if (q)
                i = q; /* a quantifier: its digits are no text of the value */
            else
                lit = true;
        } else if (!is_meta(c)) {
            lit = true;
        }
        /* a quantifier after this character makes it optional */
        bool quant_next = i + 1 < len && (strchr("?*+", p[i + 1]) != NULL ||
                                          quant_end(p, len, i + 1) != 0);
        if (lit && (unsigned char)lc < 0x80 && depth == 0 && !quant_next && ncur < SG_RE_LIT_MAX) {
            cur[ncur++] = lc;
        } else {
            if (ncur > nbest) {
                memcpy(best, cur, ncur);
                nbest = ncur;
            }
            ncur = 0;
        }
    }
    if (ncur > nbest) {
        memcpy(best, cur, ncur);
        nbest = ncur;
    }
    if (nbest >= 3) {
        memcpy(r->lit, best, nbest);
        r->litlen = (uint32_t)nbest;
    }
}

struct sg_regex *sg_regex_new(const char *pat, size_t len, bool icase, bool multi, bool dotall,
                              char *err, size_t errsz)
{
    if (len > SG_MAX_REGEX_BYTES) {
        snprintf(err, errsz, "regular expression longer than %u bytes", SG_MAX_REGEX_BYTES);
        return NULL;
    }
    struct sg_regex *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    uint32_t opts = (icase ? PCRE2_CASELESS : 0) | (multi ? PCRE2_MULTILINE : 0) |
                    (dotall ? PCRE2_DOTALL : 0);
    int ec;
    PCRE2_SIZE eoff;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (cc) {
        pcre2_set_max_pattern_length(cc, SG_MAX_REGEX_BYTES);
        pcre2_set_parens_nest_limit(cc, 64);
    }
    r->code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &ec, &eoff, cc);
    pcre2_compile_context_free(cc);
    if (!r->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, errsz, "regular expression does not compile at offset %zu: %s",
                 (size_t)eoff, (const char *)msg);
        free(r);
        return NULL;
    }
    (void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE); /* interpreter when JIT is refused */
    r->mctx = pcre2_match_context_create(NULL);
    if (!r->mctx) {
        sg_regex_free(r);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    pcre2_set_match_limit(r->mctx, SG_RE_MATCH_LIMIT);
    pcre2_set_depth_limit(r->mctx, SG_RE_DEPTH_LIMIT);
    r->icase = icase;
    /* no prefilter with inline options ((?i) would change what the literal
     * means) */
    if (!sg_memmem(pat, len, "(?", 2))
        find_literal(r, pat, len);
    if (icase)
        sg_fold(r->lit, r->lit, r->litlen);
    return r;
}

void sg_regex_free(struct sg_regex *r)
{
    if (!r)
        return;
    pcre2_code_free(r->code);
    pcre2_match_context_free(r->mctx);
    free(r);
}

struct sg_rematch *sg_rematch_new(void)
{
    struct sg_rematch *m = calloc(1, sizeof *m);
    if (m && !(m->md = pcre2_match_data_create(1, NULL))) {
        free(m);
        m = NULL;
    }
    return m;
}

void sg_rematch_free(struct sg_rematch *m)
{
    if (m) {
        pcre2_match_data_free(m->md);
        free(m);
    }
}

static bool has_literal(const struct sg_regex *r, const char *s, size_t len)
{
    if (!r->litlen)
        return true;
    if (!r->icase)
        return sg_memmem(s, len, r->lit, r->litlen) != NULL;
    /* case-insensitive scan for the folded literal (ASCII fold is enough for
     * a prefilter: non-ASCII bytes compare as they are, so it may only let
     * more through, never less) */
    unsigned char f = (unsigned char)r->lit[0];
    for (size_t i = 0; i + r->litlen <= len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c != f)
            continue;
        size_t j = 1;
        for (; j < r->litlen; j++) {
            unsigned char d = (unsigned char)s[i + j];
            if (d >= 'A' && d <= 'Z')
                d += 32;
            if (d != (unsigned char)r->lit[j])
                break;
        }
        if (j == r->litlen)
            return true;
    }
    return false;
}

bool sg_regex_match(const struct sg_regex *r, struct sg_rematch *m, const char *s, size_t len)
{
    if (!has_literal(r, s, len))
        return false;
    int rc = pcre2_match(r->code, (PCRE2_SPTR)s, len, 0, 0, m->md, r->mctx);
    return rc >= 0;
}
