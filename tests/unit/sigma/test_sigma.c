/* test_sigma.c - the Sigma detection engine: condition grammar, detection
 * structures, every value modifier (positive and negative), wildcards and
 * escaping, case folding, the log-source mapping (buckets, guards, derived
 * fields) and the reporting of rejected documents with line:column.
 *
 * Rules are loaded from text with sg_load_mem; events are built by hand
 * from "Name=value" strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma.h"

/* ---- helpers ---- */

struct diags {
    int n;
    unsigned line, col;
    char reason[512];
};

static void diag(void *ctx, const char *file, unsigned line, unsigned col, const char *reason)
{
    struct diags *d = ctx;
    if (d->n++ == 0) {
        d->line = line;
        d->col = col;
        snprintf(d->reason, sizeof d->reason, "%s", reason);
    }
}

static void print_diag(void *ctx, const char *file, unsigned line, unsigned col, const char *reason)
{
    fprintf(stderr, "unexpected: %s:%u:%u: %s\n", file, line, col, reason);
    (*(int *)ctx)++;
}

/* A whole Windows Sysmon process-creation rule around a detection block. */
static char *rule_text(const char *detection)
{
    static const char head[] = "title: t\nid: 11111111-2222-3333-4444-555555555555\n"
                               "logsource:\n  product: windows\n  category: process_creation\n"
                               "detection:\n";
    size_t n = sizeof head + strlen(detection) + 2;
    char *s = malloc(n);
    snprintf(s, n, "%s%s\n", head, detection);
    return s;
}

struct fixture {
    struct sg_ruleset *rs;
    struct sg_matcher *m;
};

static void load_ok(struct fixture *f, const char *text)
{
    int errors = 0;
    f->rs = sg_ruleset_new();
    assert_non_null(f->rs);
    assert_int_equal(sg_load_mem(f->rs, text, strlen(text), "t.yml", print_diag, &errors), 0);
    assert_int_equal(errors, 0);
    assert_int_equal(sg_compile(f->rs, print_diag, &errors), 0);
    assert_int_equal(errors, 0);
    f->m = sg_matcher_new(f->rs);
    assert_non_null(f->m);
}

static void fixture_free(struct fixture *f)
{
    sg_matcher_free(f->m);
    sg_ruleset_free(f->rs);
}

/* Event of the given channel/id with fields "Name=value" (NULL ends). */
static uint32_t match_ev(struct fixture *f, const char *channel, long eid, const char *const *kv)
{
    struct sg_field fields[32];
    char buf[32][512];
    uint32_t n = 0;
    for (; kv && kv[n]; n++) {
        snprintf(buf[n], sizeof buf[n], "%s", kv[n]);
        char *eq = strchr(buf[n], '=');
        assert_non_null(eq);
        *eq = '\0';
        fields[n].name = (struct sg_str){buf[n], (uint32_t)strlen(buf[n])};
        fields[n].value = (struct sg_str){eq + 1, (uint32_t)strlen(eq + 1)};
    }
    struct sg_event ev = {.time_ns = SG_TIME_UNKNOWN, .fields = fields, .nfields = n};
    if (channel)
        ev.channel = (struct sg_str){channel, (uint32_t)strlen(channel)};
    if (eid >= 0) {
        ev.event_id = (uint32_t)eid;
        ev.has_event_id = true;
    }
    uint32_t hits[8];
    return sg_match(f->m, &ev, hits, 8);
}

#define SYSMON "Microsoft-Windows-Sysmon/Operational"

/* 1 when the detection matches a Sysmon EID 1 event with these fields */
static int det_match(const char *detection, const char *const *kv)
{
    struct fixture f;
    char *t = rule_text(detection);
    load_ok(&f, t);
    uint32_t n = match_ev(&f, SYSMON, 1, kv);
    fixture_free(&f);
    free(t);
    return (int)n;
}

#define EV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* the reason of the first rejection of a detection, "" when it loads */
static void det_reject(const char *detection, const char *want, unsigned line)
{
    struct diags d = {0};
    struct sg_ruleset *rs = sg_ruleset_new();
    char *t = rule_text(detection);
    sg_load_mem(rs, t, strlen(t), "bad.yml", diag, &d);
    if (d.n != 1 || !strstr(d.reason, want))
        fprintf(stderr, "got %d diags, first: %u:%u: %s\n", d.n, d.line, d.col, d.reason);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.reason, want));
    if (line)
        assert_int_equal(d.line, line);
    assert_true(d.col >= 1);
    assert_int_equal(sg_load_stats(rs)->rejected, 1);
    assert_int_equal(sg_rule_count(rs), 0);
    sg_ruleset_free(rs);
    free(t);
}

/* ---- condition grammar ---- */

static void test_and_or_not_precedence(void **state)
{
    const char *d = "  a: {F: a}\n  b: {F: b}\n  c: {G: c}\n"
                    "  condition: a or b and not c\n";
    assert_int_equal(det_match(d, EV("F=a", "G=c")), 1); /* a or (b and not c) */
    assert_int_equal(det_match(d, EV("F=b", "G=c")), 0);
    assert_int_equal(det_match(d, EV("F=b", "G=x")), 1);
    const char *p = "  a: {F: a}\n  b: {F: b}\n  c: {G: c}\n"
                    "  condition: (a or b) and not c\n";
    assert_int_equal(det_match(p, EV("F=a", "G=c")), 0);
    assert_int_equal(det_match(p, EV("F=a", "G=d")), 1);
    const char *nn = "  a: {F: a}\n  condition: not not a\n";
    assert_int_equal(det_match(nn, EV("F=a")), 1);
    assert_int_equal(det_match(nn, EV("F=b")), 0);
}

static void test_of_patterns_and_them(void **state)
{
    const char *d = "  sel_1: {F: a}\n  sel_2: {G: b}\n  filter: {H: c}\n  _x: {I: d}\n"
                    "  condition: all of sel_* and not 1 of filter*\n";
    assert_int_equal(det_match(d, EV("F=a", "G=b")), 1);
    assert_int_equal(det_match(d, EV("F=a")), 0);
    assert_int_equal(det_match(d, EV("F=a", "G=b", "H=c")), 0);
    const char *t1 = "  sel_1: {F: a}\n  sel_2: {G: b}\n  _x: {I: d}\n  condition: 1 of them\n";
    assert_int_equal(det_match(t1, EV("G=b")), 1);
    assert_int_equal(det_match(t1, EV("I=d")), 0); /* _x is not part of them */
    const char *ta = "  sel_1: {F: a}\n  sel_2: {G: b}\n  _x: {I: d}\n  condition: all of them\n";
    assert_int_equal(det_match(ta, EV("F=a", "G=b")), 1);
    assert_int_equal(det_match(ta, EV("F=a")), 0);
    const char *q = "  s1: {F: a}\n  s2: {G: b}\n  s3: {H: c}\n  condition: 2 of s?\n";
    assert_int_equal(det_match(q, EV("F=a", "H=c")), 1);
    assert_int_equal(det_match(q, EV("F=a")), 0);
    const char *l = "  a: {F: a}\n  b: {G: b}\n  condition:\n    - a\n    - b\n";
    assert_int_equal(det_match(l, EV("G=b")), 1);
    assert_int_equal(det_match(l, EV("H=b")), 0);
    const char *kw = "  a: {F: a}\n  condition: a AND NOT (a OR a)\n";
    assert_int_equal(det_match(kw, EV("F=a")), 0);
}

static void test_condition_errors(void **state)
{
    det_reject("  a: {F: a}\n  condition: a and\n", "expression expected", 8);
    det_reject("  a: {F: a}\n  condition: a and b\n", "unknown search identifier", 8);
    det_reject("  a: {F: a}\n  condition: (a\n", "expected ')'", 8);
    det_reject("  a: {F: a}\n  condition: 1 of z*\n", "matches no search identifier", 8);
    det_reject("  a: {F: a}\n  condition: a | count() > 5\n", "aggregation", 8);
    det_reject("  a: {F: a}\n", "no 'condition'", 7);
    det_reject("  a: {F: a}\n  condition: a a\n", "unexpected token", 8);
}

/* ---- detection structures ---- */

static void test_maps_lists_keywords(void **state)
{
    const char *m = "  s:\n    F: a\n    G: [b, c]\n  condition: s\n";
    assert_int_equal(det_match(m, EV("F=a", "G=c")), 1);
    assert_int_equal(det_match(m, EV("F=a", "G=d")), 0);
    assert_int_equal(det_match(m, EV("G=b")), 0);
    const char *lm = "  s:\n    - F: a\n    - G: b\n  condition: s\n";
    assert_int_equal(det_match(lm, EV("G=b")), 1);
    assert_int_equal(det_match(lm, EV("H=b")), 0);
    const char *kw = "  k:\n    - 'evil*thing'\n    - mimikatz\n  condition: k\n";
    assert_int_equal(det_match(kw, EV("A=x", "B=run MimiKatz now")), 1); /* keywords: anywhere */
    assert_int_equal(det_match(kw, EV("A=x", "B=mimi katz")), 0);
    assert_int_equal(det_match(kw, EV("A=x", "B=MIMIKATZ")), 1);
    assert_int_equal(det_match(kw, EV("B=evil-thing")), 1);
    const char *kall = "  k:\n    '|all':\n      - '*foo*'\n      - '*bar*'\n  condition: k\n";
    assert_int_equal(det_match(kall, EV("A=foo", "B=xbarx")), 1);
    assert_int_equal(det_match(kall, EV("A=foo")), 0);
    const char *kc = "  k:\n    '|contains': mimi\n  condition: k\n";
    assert_int_equal(det_match(kc, EV("B=xxMimiyy")), 1);
}

static void test_null_exists_empty(void **state)
{
    const char *n = "  s:\n    F: null\n  condition: s\n";
    assert_int_equal(det_match(n, EV("G=a")), 1);
    assert_int_equal(det_match(n, EV("F=")), 1);
    assert_int_equal(det_match(n, EV("F=a")), 0);
    const char *e = "  s:\n    F|exists: true\n  condition: s\n";
    assert_int_equal(det_match(e, EV("F=")), 1);
    assert_int_equal(det_match(e, EV("G=a")), 0);
    const char *ne = "  s:\n    F|exists: false\n  condition: s\n";
    assert_int_equal(det_match(ne, EV("G=a")), 1);
    assert_int_equal(det_match(ne, EV("F=a")), 0);
    const char *em = "  s:\n    F: ''\n  condition: s\n";
    assert_int_equal(det_match(em, EV("F=")), 1);
    assert_int_equal(det_match(em, EV("F=a")), 0);
    assert_int_equal(det_match(em, EV("G=a")), 0);
    det_reject("  s:\n    F|exists: maybe\n  condition: s\n", "true or false", 8);
}

static void test_repeated_field_any_occurrence(void **state)
{
    const char *d = "  s:\n    type: EXECVE\n  condition: s\n";
    assert_int_equal(det_match(d, EV("type=SYSCALL", "type=EXECVE", "type=CWD")), 1);
    assert_int_equal(det_match(d, EV("type=SYSCALL", "type=CWD")), 0);
}

/* ---- wildcards, escaping, case ---- */

static void test_wildcards_and_escapes(void **state)
{
    const char *d = "  s:\n    F: 'C:\\Win*\\sys?em32\\cmd.exe'\n  condition: s\n";
    assert_int_equal(det_match(d, EV("F=c:\\windows\\SYSTEM32\\CMD.EXE")), 1);
    assert_int_equal(det_match(d, EV("F=C:\\Windows\\sys32\\cmd.exe")), 0);
    const char *lit = "  s:\n    F: 'what\\?\\*'\n  condition: s\n"; /* literal ?* */
    assert_int_equal(det_match(lit, EV("F=what?*")), 1);
    assert_int_equal(det_match(lit, EV("F=whatx*")), 0);
    const char *bs = "  s:\n    F: 'a\\\\*'\n  condition: s\n"; /* \\* : backslash then wildcard */
    assert_int_equal(det_match(bs, EV("F=a\\anything")), 1);
    assert_int_equal(det_match(bs, EV("F=ab")), 0);
    const char *trip = "  s:\n    F: 'a\\\\\\*'\n  condition: s\n"; /* \\\* : backslash, star */
    assert_int_equal(det_match(trip, EV("F=a\\*")), 1);
    assert_int_equal(det_match(trip, EV("F=a\\b")), 0);
    const char *plain = "  s:\n    F: 'C:\\Windows\\'\n  condition: s\n";
    assert_int_equal(det_match(plain, EV("F=C:\\Windows\\")), 1);
    const char *q = "  s:\n    F: 'a?c'\n  condition: s\n"; /* ? is one UTF-8 character */
    assert_int_equal(det_match(q, EV("F=a\xC3\xA9" "c")), 1);
    assert_int_equal(det_match(q, EV("F=ac")), 0);
    const char *multi = "  s:\n    F: '*a*b*c'\n  condition: s\n";
    assert_int_equal(det_match(multi, EV("F=xxaxxbxxaxc")), 1);
    assert_int_equal(det_match(multi, EV("F=xxaxxcxxb")), 0);
}

static void test_case_folding_and_cased(void **state)
{
    const char *d = "  s:\n    F: 'ÄRGER Straße'\n  condition: s\n";
    assert_int_equal(det_match(d, EV("F=ärger STRAßE")), 1);
    const char *cy = "  s:\n    F|contains: 'ПРИВЕТ'\n  condition: s\n";
    assert_int_equal(det_match(cy, EV("F=xx привет yy")), 1);
    const char *c = "  s:\n    F|cased: Admin\n  condition: s\n";
    assert_int_equal(det_match(c, EV("F=Admin")), 1);
    assert_int_equal(det_match(c, EV("F=admin")), 0);
    const char *cc = "  s:\n    F|contains|cased: Admin\n  condition: s\n";
    assert_int_equal(det_match(cc, EV("F=xAdminx")), 1);
    assert_int_equal(det_match(cc, EV("F=xADMINx")), 0);
}

/* ---- modifiers ---- */

static void test_contains_startswith_endswith_all(void **state)
{
    assert_int_equal(det_match("  s:\n    F|contains: ell\n  condition: s\n", EV("F=HELLO")), 1);
    assert_int_equal(det_match("  s:\n    F|contains: elx\n  condition: s\n", EV("F=HELLO")), 0);
    assert_int_equal(det_match("  s:\n    F|startswith: he\n  condition: s\n", EV("F=HELLO")), 1);
    assert_int_equal(det_match("  s:\n    F|startswith: el\n  condition: s\n", EV("F=HELLO")), 0);
    assert_int_equal(det_match("  s:\n    F|endswith: '\\cmd.exe'\n  condition: s\n",
                               EV("F=C:\\x\\CMD.EXE")), 1);
    assert_int_equal(det_match("  s:\n    F|endswith: '\\cmd.exe'\n  condition: s\n",
                               EV("F=C:\\x\\acmd.exe")), 0);
    const char *all = "  s:\n    F|contains|all: [' -a ', ' -b ']\n  condition: s\n";
    assert_int_equal(det_match(all, EV("F=x -b  -a y")), 1);
    assert_int_equal(det_match(all, EV("F=x -a y")), 0);
    const char *any = "  s:\n    F|contains: [' -a ', ' -b ']\n  condition: s\n";
    assert_int_equal(det_match(any, EV("F=x -a y")), 1);
    const char *wild = "  s:\n    F|contains: 'a*b'\n  condition: s\n";
    assert_int_equal(det_match(wild, EV("F=xxaYYbzz")), 1);
    assert_int_equal(det_match(wild, EV("F=xxbYYazz")), 0);
}

static void test_neq_and_numbers(void **state)
{
    const char *n = "  s:\n    F|neq: [a, b]\n  condition: s\n";
    assert_int_equal(det_match(n, EV("F=c")), 1);
    assert_int_equal(det_match(n, EV("F=A")), 0);
    assert_int_equal(det_match(n, EV("F=b")), 0);
    const char *eid = "  s:\n    EventID: 4688\n  condition: s\n";
    assert_int_equal(det_match(eid, EV("EventID=4688")), 1);
    assert_int_equal(det_match(eid, EV("EventID=04688")), 1); /* numerically equal */
    assert_int_equal(det_match(eid, EV("EventID=4689")), 0);
    const char *q = "  s:\n    F: '4688'\n  condition: s\n";
    assert_int_equal(det_match(q, EV("F=4688")), 1);
    assert_int_equal(det_match(q, EV("F=04688")), 0); /* quoted: a string */
    const char *lt = "  s:\n    F|lt: 10\n  condition: s\n";
    assert_int_equal(det_match(lt, EV("F=9")), 1);
    assert_int_equal(det_match(lt, EV("F=10")), 0);
    assert_int_equal(det_match(lt, EV("F=abc")), 0);
    assert_int_equal(det_match("  s:\n    F|lte: 10\n  condition: s\n", EV("F=10")), 1);
    assert_int_equal(det_match("  s:\n    F|gt: 10\n  condition: s\n", EV("F=10.5")), 1);
    assert_int_equal(det_match("  s:\n    F|gt: 10\n  condition: s\n", EV("F=10")), 0);
    assert_int_equal(det_match("  s:\n    F|gte: -3\n  condition: s\n", EV("F=-3")), 1);
    det_reject("  s:\n    F|gt: many\n  condition: s\n", "not a number", 8);
}

static void test_windash(void **state)
{
    const char *d = "  s:\n    F|contains|windash: ' -enc '\n  condition: s\n";
    assert_int_equal(det_match(d, EV("F=ps /enc x")), 1);
    assert_int_equal(det_match(d, EV("F=ps -enc x")), 1);
    assert_int_equal(det_match(d, EV("F=ps \xE2\x80\x93" "enc x")), 1); /* en dash */
    assert_int_equal(det_match(d, EV("F=ps \xE2\x80\x95" "enc x")), 1); /* horizontal bar */
    assert_int_equal(det_match(d, EV("F=ps +enc x")), 0);
    /* only a dash that starts an option varies, as in pySigma: not one inside
       a word or a path */
    const char *w = "  s:\n    F|contains|windash: 'Add-MpPreference -Force'\n  condition: s\n";
    assert_int_equal(det_match(w, EV("F=Add-MpPreference /Force")), 1);
    assert_int_equal(det_match(w, EV("F=Add/MpPreference -Force")), 0);
}

static void test_re(void **state)
{
    const char *d = "  s:\n    F|re: '^C:\\\\Users\\\\[^\\\\]+\\\\evil\\.exe$'\n  condition: s\n";
    assert_int_equal(det_match(d, EV("F=C:\\Users\\bob\\evil.exe")), 1);
    assert_int_equal(det_match(d, EV("F=c:\\users\\bob\\evil.exe")), 0); /* case-sensitive */
    const char *i = "  s:\n    F|re|i: 'users\\\\.+\\.exe'\n  condition: s\n";
    assert_int_equal(det_match(i, EV("F=C:\\USERS\\bob\\X.EXE")), 1);
    const char *m = "  s:\n    F|re|m: '^second$'\n  condition: s\n";
    assert_int_equal(det_match(m, EV("F=first\nsecond\nthird")), 1);
    const char *nm = "  s:\n    F|re: '^second$'\n  condition: s\n";
    assert_int_equal(det_match(nm, EV("F=first\nsecond\nthird")), 0);
    const char *s = "  s:\n    F|re|s: 'a.b'\n  condition: s\n";
    assert_int_equal(det_match(s, EV("F=a\nb")), 1);
    assert_int_equal(det_match("  s:\n    F|re: 'a.b'\n  condition: s\n", EV("F=a\nb")), 0);
    const char *alt = "  s:\n    F|re: 'foo|bar'\n  condition: s\n"; /* no literal prefilter */
    assert_int_equal(det_match(alt, EV("F=xbarx")), 1);
    const char *inl = "  s:\n    F|re: '(?i)abc'\n  condition: s\n";
    assert_int_equal(det_match(inl, EV("F=xABCx")), 1);
    const char *hex = "  s:\n    F|re: '\\x41BC'\n  condition: s\n";
    assert_int_equal(det_match(hex, EV("F=xABCx")), 1);
    /* the literal prefilter never takes quantifier digits or class members
       for text of the value */
    const char *q = "  s:\n    F|re: '[a-z]{10,20}\\.exe'\n  condition: s\n";
    assert_int_equal(det_match(q, EV("F=run abcdefghijkl.exe")), 1);
    const char *q2 = "  s:\n    F|re: '^x(.){200,}'\n  condition: s\n";
    assert_int_equal(det_match(q2, EV("F=x12345678901234567890123456789012345678901234567890"
                                      "12345678901234567890123456789012345678901234567890"
                                      "12345678901234567890123456789012345678901234567890"
                                      "123456789012345678901234567890123456789012345678901")),
                     1);
    const char *q3 = "  s:\n    F|re: '[]abc]+zz'\n  condition: s\n";
    assert_int_equal(det_match(q3, EV("F=]]zz")), 1);
    const char *q4 = "  s:\n    F|re: 'ab{c'\n  condition: s\n"; /* a plain brace */
    assert_int_equal(det_match(q4, EV("F=xab{c")), 1);
    det_reject("  s:\n    F|re: 'a(b'\n  condition: s\n", "does not compile", 8);
}

static void test_base64_and_utf16(void **state)
{
    /* "cmd" -> "Y21k" */
    const char *b = "  s:\n    F|base64: cmd\n  condition: s\n";
    assert_int_equal(det_match(b, EV("F=Y21k")), 1);
    assert_int_equal(det_match(b, EV("F=Y21kx")), 0);
    /* base64offset|contains: "ping" anywhere inside base64 text */
    const char *o = "  s:\n    F|base64offset|contains: ping\n  condition: s\n";
    /* base64("xping") = eHBpbmc=, base64("xxping")= eHhwaW5n, base64("ping ") = cGluZyA= */
    assert_int_equal(det_match(o, EV("F=AAeHBpbmc=")), 1);
    assert_int_equal(det_match(o, EV("F=eHhwaW5n")), 1);
    assert_int_equal(det_match(o, EV("F=cGluZyA=")), 1);
    assert_int_equal(det_match(o, EV("F=cG9uZyA=")), 0); /* "pong " */
    /* wide|base64offset: UTF-16LE "ab" = 61 00 62 00 -> base64 "YQBiAA==" */
    const char *w = "  s:\n    F|wide|base64: ab\n  condition: s\n";
    assert_int_equal(det_match(w, EV("F=YQBiAA==")), 1);
    const char *be = "  s:\n    F|utf16be|base64: ab\n  condition: s\n"; /* 00 61 00 62 */
    assert_int_equal(det_match(be, EV("F=AGEAYg==")), 1);
    const char *bom = "  s:\n    F|utf16|base64: ab\n  condition: s\n"; /* FF FE 61 00 62 00 */
    assert_int_equal(det_match(bom, EV("F=//5hAGIA")), 1);
    const char *wo = "  s:\n    F|wide|base64offset|contains: ping\n  condition: s\n";
    /* base64 of UTF-16LE "ping" = cABpAG4AZwA= */
    assert_int_equal(det_match(wo, EV("F=xx cABpAG4AZwA= yy")), 1);
    det_reject("  s:\n    F|base64: 'a*'\n  condition: s\n", "wildcards", 8);
}

static void test_cidr(void **state)
{
    const char *d = "  s:\n    F|cidr: [10.0.0.0/8, 'fd00::/8']\n  condition: s\n";
    assert_int_equal(det_match(d, EV("F=10.200.3.4")), 1);
    assert_int_equal(det_match(d, EV("F=11.0.0.1")), 0);
    assert_int_equal(det_match(d, EV("F=::ffff:10.1.1.1")), 1); /* IPv4-mapped */
    assert_int_equal(det_match(d, EV("F=fd12::1")), 1);
    assert_int_equal(det_match(d, EV("F=fe80::1")), 0);
    assert_int_equal(det_match(d, EV("F=not an ip")), 0);
    assert_int_equal(det_match("  s:\n    F|cidr: 192.168.1.0/25\n  condition: s\n",
                               EV("F=192.168.1.128")), 0);
    det_reject("  s:\n    F|cidr: 10.0.0.0/33\n  condition: s\n", "CIDR", 8);
}

static void test_fieldref(void **state)
{
    const char *d = "  s:\n    F|fieldref: G\n  condition: s\n";
    assert_int_equal(det_match(d, EV("F=abc", "G=ABC")), 1);
    assert_int_equal(det_match(d, EV("F=abc", "G=abd")), 0);
    assert_int_equal(det_match(d, EV("F=abc")), 0);
    const char *e = "  s:\n    F|fieldref|endswith: G\n  condition: s\n";
    assert_int_equal(det_match(e, EV("F=C:\\x\\evil.exe", "G=evil.exe")), 1);
    const char *n = "  s:\n    F|fieldref|neq: G\n  condition: s\n";
    assert_int_equal(det_match(n, EV("F=a", "G=b")), 1);
    assert_int_equal(det_match(n, EV("F=a", "G=a")), 0);
}

static void test_time_parts(void **state)
{
    const char *ts = "T=2024-03-10T23:45:12.123Z";
    assert_int_equal(det_match("  s:\n    T|hour: 23\n  condition: s\n", EV(ts)), 1);
    assert_int_equal(det_match("  s:\n    T|hour: 22\n  condition: s\n", EV(ts)), 0);
    assert_int_equal(det_match("  s:\n    T|minute: 45\n  condition: s\n", EV(ts)), 1);
    assert_int_equal(det_match("  s:\n    T|day: 10\n  condition: s\n", EV(ts)), 1);
    assert_int_equal(det_match("  s:\n    T|month: 3\n  condition: s\n", EV(ts)), 1);
    assert_int_equal(det_match("  s:\n    T|year: 2024\n  condition: s\n", EV(ts)), 1);
    assert_int_equal(det_match("  s:\n    T|week: 10\n  condition: s\n", EV(ts)), 1); /* ISO week */
    assert_int_equal(det_match("  s:\n    T|hour|gte: 20\n  condition: s\n", EV(ts)), 1);
    assert_int_equal(det_match("  s:\n    T|hour|lt: 6\n  condition: s\n", EV(ts)), 0);
    assert_int_equal(det_match("  s:\n    T|week: 1\n  condition: s\n",
                               EV("T=2021-01-04 00:00:00")), 1);
    assert_int_equal(det_match("  s:\n    T|week: 53\n  condition: s\n",
                               EV("T=2021-01-03 00:00:00")), 1);
    assert_int_equal(det_match("  s:\n    T|hour: 1\n  condition: s\n", EV("T=garbage")), 0);
}

static void test_expand_placeholders(void **state)
{
    /* unresolved: matches nothing, the rule still loads */
    const char *d = "  s:\n    F|expand: '%Servers%'\n  condition: s\n";
    assert_int_equal(det_match(d, EV("F=%Servers%")), 0);
    const char *n = "  s:\n    F: x\n  f:\n    G|expand: '%Admins%'\n  condition: s and not f\n";
    assert_int_equal(det_match(n, EV("F=x", "G=bob")), 1);
    /* resolved through a mapping with placeholders */
    static const char map[] =
        "logsources:\n  - {product: windows, category: process_creation, sources: [{channel: X}]}\n"
        "placeholders:\n  Admins: [alice, 'bo*']\n";
    struct fixture f;
    int errors = 0;
    f.rs = sg_ruleset_new();
    assert_int_equal(sg_load_mapping_mem(f.rs, map, strlen(map), "map.yaml", print_diag, &errors), 0);
    char *t = rule_text("  s:\n    G|expand: 'CORP\\\\%Admins%'\n  condition: s\n");
    assert_int_equal(sg_load_mem(f.rs, t, strlen(t), "t.yml", print_diag, &errors), 0);
    assert_int_equal(sg_compile(f.rs, print_diag, &errors), 0);
    assert_int_equal(errors, 0);
    f.m = sg_matcher_new(f.rs);
    assert_int_equal(match_ev(&f, "X", 1, EV("G=corp\\alice")), 1);
    assert_int_equal(match_ev(&f, "X", 1, EV("G=CORP\\bob")), 1);
    assert_int_equal(match_ev(&f, "X", 1, EV("G=CORP\\carol")), 0);
    fixture_free(&f);
    free(t);
}

static void test_modifier_errors(void **state)
{
    det_reject("  s:\n    F|contians: a\n  condition: s\n", "unknown modifier 'contians'", 8);
    det_reject("  s:\n    F|re|cidr: a\n  condition: s\n", "do not combine", 8);
    det_reject("  s:\n    F: []\n  condition: s\n", "empty list", 8);
    det_reject("  s:\n    F: {a: b}\n  condition: s\n", "is a mapping", 8);
    det_reject("  s:\n  condition: s\n", "is empty", 7);
    det_reject("  s:\n    F|i: a\n  condition: s\n", "unknown modifier 'i'", 8);
}

/* ---- documents ---- */

static void test_rejected_documents_report_position(void **state)
{
    struct diags d = {0};
    struct sg_ruleset *rs = sg_ruleset_new();
    static const char multi[] =
        "title: good\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {EventID: 1102}, condition: s}\n"
        "---\n"
        "title: bad level\nlevel: severe\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {EventID: 1}, condition: s}\n"
        "---\n"
        "- just a list\n";
    assert_int_equal(sg_load_mem(rs, multi, strlen(multi), "m.yml", diag, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.line, 6);
    assert_int_equal(d.col, 8);
    assert_non_null(strstr(d.reason, "unknown level"));
    const struct sg_load_stats *st = sg_load_stats(rs);
    assert_int_equal(st->files, 1);
    assert_int_equal(st->docs, 3);
    assert_int_equal(st->rules, 1);
    assert_int_equal(st->rejected, 2);
    /* YAML syntax error: position from libyaml */
    struct diags y = {0};
    static const char broken[] = "title: x\ndetection:\n  s: [a, b\n";
    sg_load_mem(rs, broken, strlen(broken), "y.yml", diag, &y);
    assert_int_equal(y.n, 1);
    assert_true(y.line >= 3);
    assert_int_equal(sg_load_stats(rs)->rejected, 3);
    /* missing pieces */
    struct diags z = {0};
    static const char nolog[] = "title: x\ndetection: {s: {a: b}, condition: s}\n";
    sg_load_mem(rs, nolog, strlen(nolog), "z.yml", diag, &z);
    assert_int_equal(z.n, 1);
    assert_non_null(strstr(z.reason, "logsource"));
    sg_ruleset_free(rs);
}

static void test_rule_info(void **state)
{
    static const char r[] =
        "title: Info\nid: abc-123\nname: info_rule\nstatus: test\nlevel: high\n"
        "tags: [attack.execution, attack.t1059]\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  s:\n    Image|endswith: '\\x.exe'\n    CommandLine|contains: y\n"
        "  condition: s\n";
    struct fixture f;
    load_ok(&f, r);
    assert_int_equal(sg_rule_count(f.rs), 1);
    const struct sg_rule_info *in = sg_rule(f.rs, 0);
    assert_string_equal(in->title, "Info");
    assert_string_equal(in->id, "abc-123");
    assert_string_equal(in->name, "info_rule");
    assert_string_equal(in->status, "test");
    assert_int_equal(in->level, SG_LEVEL_HIGH);
    assert_int_equal(in->ntags, 2);
    assert_string_equal(in->tags[1], "attack.t1059");
    assert_string_equal(in->product, "windows");
    assert_string_equal(in->category, "process_creation");
    assert_null(in->service);
    assert_string_equal(in->file, "t.yml");
    assert_int_equal(in->nfields, 2);
    assert_string_equal(in->fields[0], "Image");
    assert_string_equal(in->fields[1], "CommandLine");
    assert_false(in->hidden);
    assert_int_equal(sg_rule_find(f.rs, "abc-123"), 0);
    assert_int_equal(sg_rule_find(f.rs, "info_rule"), 0);
    assert_int_equal(sg_rule_find(f.rs, "nope"), -1);
    sg_rule_set_hidden(f.rs, 0, true);
    assert_true(sg_rule(f.rs, 0)->hidden);
    assert_null(sg_rule(f.rs, 1));
    fixture_free(&f);
}

/* ---- log-source mapping ---- */

static void test_mapping_buckets_and_guards(void **state)
{
    static const char r[] =
        "title: proc\nlogsource: {product: windows, category: process_creation}\n"
        "detection: {s: {Image|endswith: '\\whoami.exe'}, condition: s}\n"
        "---\n"
        "title: sec\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {EventID: 1102}, condition: s}\n"
        "---\n"
        "title: regdel\nlogsource: {product: windows, category: registry_delete}\n"
        "detection: {s: {TargetObject|contains: run}, condition: s}\n"
        "---\n"
        "title: lx\nlogsource: {product: linux, category: process_creation}\n"
        "detection: {s: {Image|endswith: /whoami}, condition: s}\n"
        "---\n"
        "title: sshd\nlogsource: {product: linux, service: sshd}\n"
        "detection: {k: [fatal], condition: k}\n"
        "---\n"
        "title: cloud\nlogsource: {product: aws, service: cloudtrail}\n"
        "detection: {s: {eventName: x}, condition: s}\n";
    struct fixture f;
    load_ok(&f, r);
    assert_int_equal(sg_rule_count(f.rs), 6);
    /* Sysmon 1 */
    assert_int_equal(match_ev(&f, SYSMON, 1, EV("Image=C:\\W\\whoami.exe")), 1);
    assert_int_equal(match_ev(&f, SYSMON, 3, EV("Image=C:\\W\\whoami.exe")), 0);
    /* Security 4688, with the derived Image */
    assert_int_equal(match_ev(&f, "Security", 4688, EV("NewProcessName=C:\\W\\WHOAMI.EXE")), 1);
    assert_int_equal(match_ev(&f, "security", 1102, EV("X=y")), 1); /* channel case */
    assert_int_equal(match_ev(&f, "System", 1102, EV("X=y")), 0);
    /* registry_delete: EID 12 with EventType DeleteKey/DeleteValue only */
    assert_int_equal(match_ev(&f, SYSMON, 12, EV("EventType=DeleteKey", "TargetObject=HKLM\\Run")), 1);
    assert_int_equal(match_ev(&f, SYSMON, 12, EV("EventType=CreateKey", "TargetObject=HKLM\\Run")), 0);
    /* Linux auditd EXECVE */
    assert_int_equal(match_ev(&f, "linux/auditd", -1,
                              EV("type=SYSCALL", "type=EXECVE", "Image=/usr/bin/whoami")), 1);
    assert_int_equal(match_ev(&f, "linux/auditd", -1, EV("type=SYSCALL", "Image=/usr/bin/whoami")), 0);
    /* sshd by provider (no Provider_Name field: from the event header) */
    struct sg_field fl[1] = {{{"message", 7}, {"fatal: boom", 11}}};
    struct sg_event ev = {.channel = {"linux/auth", 10}, .provider = {"sshd", 4}, .fields = fl, .nfields = 1};
    uint32_t hits[4];
    fl[0].value = (struct sg_str){"fatal", 5};
    assert_int_equal(sg_match(f.m, &ev, hits, 4), 1);
    assert_int_equal(hits[0], 4);
    ev.provider = (struct sg_str){"sudo", 4};
    assert_int_equal(sg_match(f.m, &ev, hits, 4), 0);
    /* unknown channel */
    assert_int_equal(match_ev(&f, "Whatever", 1, EV("Image=\\whoami.exe")), 0);
    fixture_free(&f);
}

static void test_mapping_4688_conversions(void **state)
{
    static const char r[] =
        "title: conv\nlogsource: {product: windows, category: process_creation}\n"
        "detection:\n  s:\n    User: 'CORP\\bob'\n    IntegrityLevel: High\n    ProcessId: 4660\n"
        "    ParentProcessId: 500\n    ParentImage|endswith: '\\explorer.exe'\n  condition: s\n";
    struct fixture f;
    load_ok(&f, r);
    assert_int_equal(match_ev(&f, "Security", 4688,
                              EV("NewProcessName=C:\\a.exe", "ParentProcessName=C:\\Windows\\explorer.exe",
                                 "SubjectDomainName=CORP", "SubjectUserName=bob",
                                 "MandatoryLabel=S-1-16-12288", "NewProcessId=0x1234",
                                 "ProcessId=0x1f4")),
                     1);
    /* TokenElevationType when MandatoryLabel is absent (older Windows) */
    assert_int_equal(match_ev(&f, "Security", 4688,
                              EV("ParentProcessName=C:\\Windows\\explorer.exe", "SubjectDomainName=CORP",
                                 "SubjectUserName=bob", "TokenElevationType=%%1937",
                                 "NewProcessId=0x1234", "ProcessId=0x1f4")),
                     1);
    assert_int_equal(match_ev(&f, "Security", 4688,
                              EV("ParentProcessName=C:\\Windows\\explorer.exe", "SubjectDomainName=CORP",
                                 "SubjectUserName=bob", "MandatoryLabel=S-1-16-8192",
                                 "NewProcessId=0x1234", "ProcessId=0x1f4")),
                     0);
    fixture_free(&f);
}

static void test_mapping_errors(void **state)
{
    struct sg_ruleset *rs = sg_ruleset_new();
    struct diags d = {0};
    static const char bad[] = "logsources:\n  - product: windows\n    sources:\n      - {chanel: X}\n";
    assert_true(sg_load_mapping_mem(rs, bad, strlen(bad), "m.yaml", diag, &d) < 0);
    assert_int_equal(d.line, 4);
    assert_non_null(strstr(d.reason, "chanel"));
    struct diags e = {0};
    static const char bad2[] = "logsources: []\nderived:\n  - channel: X\n    fields: {A: {frob: B}}\n";
    assert_true(sg_load_mapping_mem(rs, bad2, strlen(bad2), "m.yaml", diag, &e) < 0);
    assert_int_equal(e.line, 4);
    int errors = 0;
    assert_int_equal(sg_load_mapping(rs, "etc/sigma/logsources.yaml", print_diag, &errors), 0);
    assert_int_equal(errors, 0);
    sg_ruleset_free(rs);
}

static void test_many_hits_cap_and_order(void **state)
{
    char text[8192] = "";
    size_t o = 0;
    for (int i = 0; i < 20; i++)
        o += (size_t)snprintf(text + o, sizeof text - o,
                              "%stitle: r%d\nlogsource: {product: windows, service: security}\n"
                              "detection: {s: {F|contains: x}, condition: s}\n",
                              i ? "---\n" : "", i);
    struct fixture f;
    load_ok(&f, text);
    struct sg_field fl[1] = {{{"F", 1}, {"xx", 2}}};
    struct sg_event ev = {.channel = {"Security", 8}, .has_event_id = true, .event_id = 1, .fields = fl, .nfields = 1};
    uint32_t hits[5];
    assert_int_equal(sg_match(f.m, &ev, hits, 5), 20);
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(hits[i], i);
    fixture_free(&f);
}

/* Many literal tests of one field go through one multi-pattern scan
 * (hsscan.c): overlapping needles, every operator, repeated values. */
static void test_literal_groups(void **state)
{
    static const char r[] =
        "title: eq\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F: [abc, abcd, bc, 'x y']}, condition: s}\n---\n"
        "title: pre\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F|startswith: [ab, bcd, zz]}, condition: s}\n---\n"
        "title: suf\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F|endswith: [cd, d, qq]}, condition: s}\n---\n"
        "title: con\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F|contains: [bc, CD, nothere]}, condition: s}\n---\n"
        "title: kw\nlogsource: {product: windows, service: security}\n"
        "detection: {k: [needle1, needle2, needle3], condition: k}\n";
    struct fixture f;
    load_ok(&f, r);
    struct sg_field fl[2] = {{{"F", 1}, {"ABCD", 4}}, {{"G", 1}, {"xxNEEDLE2", 9}}};
    struct sg_event ev = {.channel = {"Security", 8}, .has_event_id = true, .event_id = 1, .fields = fl, .nfields = 2};
    uint32_t hits[8];
    /* ABCD: eq abcd, startswith ab, endswith cd/d, contains bc; keyword needle2 */
    assert_int_equal(sg_match(f.m, &ev, hits, 8), 5);
    fl[0].value = (struct sg_str){"bcdx", 4}; /* startswith bcd, contains bc */
    fl[1].value = (struct sg_str){"none", 4};
    assert_int_equal(sg_match(f.m, &ev, hits, 8), 2);
    assert_int_equal(hits[0], 1);
    assert_int_equal(hits[1], 3);
    fl[0].value = (struct sg_str){"x y", 3};
    assert_int_equal(sg_match(f.m, &ev, hits, 8), 1);
    assert_int_equal(hits[0], 0);
    fl[0].value = (struct sg_str){"", 0};
    assert_int_equal(sg_match(f.m, &ev, hits, 8), 0);
    fixture_free(&f);
}

/* The values of a repeated field are scanned at once, joined (hsscan.c):
 * a literal never matches across two values, and equality, prefix and
 * suffix hold on one value, not on the joined text; a rule whose required
 * literal did not fire is not evaluated (anchor.c), one with a filter is. */
static void test_literal_groups_repeated_values(void **state)
{
    static const char r[] =
        "title: eq\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F: [abc, abcd, bc]}, condition: s}\n---\n"
        "title: pre\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F|startswith: [cd, zz, yy]}, condition: s}\n---\n"
        "title: suf\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F|endswith: [ab, qq, ww]}, condition: s}\n---\n"
        "title: con\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {F|contains: [bcd, qqq, www]}, condition: s}\n---\n"
        "title: kw\nlogsource: {product: windows, service: security}\n"
        "detection: {k: [abcd, x1x, x2x], condition: k}\n---\n"
        "title: not\nlogsource: {product: windows, service: security}\n"
        "detection: {f: {F|contains: [qqq, www, zzz]}, condition: not f}\n";
    struct fixture f;
    load_ok(&f, r);
    struct sg_field fl[2] = {{{"F", 1}, {"AB", 2}}, {{"F", 1}, {"cd", 2}}};
    struct sg_event ev = {.channel = {"Security", 8}, .has_event_id = true, .event_id = 1, .fields = fl, .nfields = 2};
    uint32_t hits[8];
    /* ab | cd: startswith cd (second value), endswith ab (first), not f;
     * no abcd/bcd across the two */
    assert_int_equal(sg_match(f.m, &ev, hits, 8), 3);
    assert_int_equal(hits[0], 1);
    assert_int_equal(hits[1], 2);
    assert_int_equal(hits[2], 5);
    /* xabc | bc: equal to bc (second value only); zzz filters */
    fl[0].value = (struct sg_str){"xabczzz", 7};
    fl[1].value = (struct sg_str){"bc", 2};
    assert_int_equal(sg_match(f.m, &ev, hits, 8), 1);
    assert_int_equal(hits[0], 0);
    fixture_free(&f);
}

/* A correlation document goes to the correlation module; with generate:
 * false the detection rule it uses becomes hidden but still matches. */
static void test_correlation_documents(void **state)
{
    static const char r[] =
        "title: failed logon\nname: failed_logon\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {EventID: 4625}, condition: s}\n"
        "---\n"
        "title: many failed logons\ngenerate: false\n"
        "correlation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n"
        "  timespan: 10m\n  condition: {gte: 5}\n";
    struct fixture f;
    load_ok(&f, r);
    const struct sg_load_stats *st = sg_load_stats(f.rs);
    assert_int_equal(st->docs, 2);
    assert_int_equal(st->rules, 1);
    assert_int_equal(st->correlations, 1);
    assert_int_equal(sg_rule_count(f.rs), 1);
    assert_true(sg_rule(f.rs, 0)->hidden);
    assert_non_null(sg_ruleset_corr(f.rs));
    assert_int_equal(match_ev(&f, "Security", 4625, EV("TargetUserName=bob")), 1);
    fixture_free(&f);
}

static void test_load_path_errors(void **state)
{
    struct sg_ruleset *rs = sg_ruleset_new();
    struct diags d = {0};
    assert_int_equal(sg_load_path(rs, "/nonexistent/rules", diag, &d), MAMORI_ENOENT);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.reason, "cannot read"));
    assert_int_equal(sg_load_path(rs, "etc/sigma", diag, &d), 0); /* no rules there: nothing */
    sg_ruleset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_and_or_not_precedence),
        cmocka_unit_test(test_of_patterns_and_them),
        cmocka_unit_test(test_condition_errors),
        cmocka_unit_test(test_maps_lists_keywords),
        cmocka_unit_test(test_null_exists_empty),
        cmocka_unit_test(test_repeated_field_any_occurrence),
        cmocka_unit_test(test_wildcards_and_escapes),
        cmocka_unit_test(test_case_folding_and_cased),
        cmocka_unit_test(test_contains_startswith_endswith_all),
        cmocka_unit_test(test_neq_and_numbers),
        cmocka_unit_test(test_windash),
        cmocka_unit_test(test_re),
        cmocka_unit_test(test_base64_and_utf16),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_fieldref),
        cmocka_unit_test(test_time_parts),
        cmocka_unit_test(test_expand_placeholders),
        cmocka_unit_test(test_modifier_errors),
        cmocka_unit_test(test_rejected_documents_report_position),
        cmocka_unit_test(test_rule_info),
        cmocka_unit_test(test_mapping_buckets_and_guards),
        cmocka_unit_test(test_mapping_4688_conversions),
        cmocka_unit_test(test_mapping_errors),
        cmocka_unit_test(test_many_hits_cap_and_order),
        cmocka_unit_test(test_literal_groups),
        cmocka_unit_test(test_literal_groups_repeated_values),
        cmocka_unit_test(test_correlation_documents),
        cmocka_unit_test(test_load_path_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
