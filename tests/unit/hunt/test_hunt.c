/* test_hunt.c - the hunt's parts without the engine: the timeline merges
 * spilled runs of several buffers back into exact time order with nothing
 * lost or repeated; findings render as valid, escaped JSON / CSV / table
 * lines; the summary places findings in attack phases per host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sigma/event.h"
#include "hunt/finding.h"
#include "hunt/summary.h"
#include "hunt/timeline.h"

struct seen {
    struct tl_key last;
    uint64_t n;
    uint64_t sum;
    int bad;
};

static int check_order(void *ctx, const struct tl_key *k, const char *line, size_t len)
{
    struct seen *s = ctx;
    if (s->n && (k->time_ns < s->last.time_ns ||
                 (k->time_ns == s->last.time_ns && k->record < s->last.record)))
        s->bad++;
    char want[64];
    int n = snprintf(want, sizeof want, "line %lld %llu\n", (long long)k->time_ns,
                     (unsigned long long)k->record);
    if ((size_t)n != len || memcmp(want, line, len))
        s->bad++;
    s->last = *k;
    s->n++;
    s->sum += k->record;
    return 0;
}

static void test_timeline_spills_and_merges(void **state)
{
    enum { NBUF = 3, PER = 40000 };
    struct tl_buf *b[NBUF];
    uint64_t want_sum = 0;
    srand(7);
    for (int i = 0; i < NBUF; i++) {
        b[i] = tl_buf_new(1u << 20, "/tmp"); /* 1 MiB: forces many spills */
        assert_non_null(b[i]);
        for (uint64_t r = 0; r < PER; r++) {
            struct tl_key k = {.time_ns = rand() % 100000, .file = 0, .rule = 1,
                               .record = (uint64_t)i * PER + r};
            char line[64];
            int n = snprintf(line, sizeof line, "line %lld %llu\n", (long long)k.time_ns,
                             (unsigned long long)k.record);
            assert_int_equal(tl_add(b[i], &k, line, (size_t)n), 0);
            want_sum += k.record;
        }
        assert_true(tl_spills(b[i]) > 1);
        assert_int_equal(tl_count(b[i]), PER);
    }
    struct seen s = {0};
    assert_int_equal(tl_merge(b, NBUF, check_order, &s), 0);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.n, NBUF * PER);
    assert_int_equal(s.sum, want_sum);
    for (int i = 0; i < NBUF; i++)
        tl_buf_free(b[i]);
}

static void test_timeline_refuses_long_line(void **state)
{
    struct tl_buf *b = tl_buf_new(1u << 20, "/tmp");
    char *big = calloc(1, TL_LINE_MAX + 1);
    struct tl_key k = {0};
    assert_true(tl_add(b, &k, big, TL_LINE_MAX + 1) < 0);
    assert_non_null(strstr(tl_buf_error(b), "longer than"));
    free(big);
    tl_buf_free(b);
}

static struct finding sample(struct sg_field *f)
{
    static const char *const tags[] = {"attack.impact", "attack.t1490"};
    f[0] = (struct sg_field){{"CommandLine", 11}, {"vssadmin \"delete\" shadows\n<b>", 29}};
    f[1] = (struct sg_field){{"User", 4}, {"=cmd|' /C calc'!A0", 18}};
    return (struct finding){
        .time_ns = 1550070892409734400ll, .computer = "WS01", .channel = "Security",
        .event_id = 4688, .has_event_id = true, .rule_id = "r-1", .rule_title = "Shadow \"copies\"",
        .level = "high", .tags = tags, .ntags = 2, .file = "/logs/a,b.evtx", .record = 7,
        .fields = f, .nfields = 2,
    };
}

static void test_render_formats(void **state)
{
    struct sg_field f[2];
    struct finding fd = sample(f);
    char buf[4096];
    long n = finding_render(HUNT_JSONL, &fd, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(buf[n - 1], '\n');
    assert_non_null(strstr(buf, "\"timestamp\":\"2019-02-13T15:14:52.4097344Z\""));
    assert_non_null(strstr(buf, "\"event_id\":4688"));
    assert_non_null(strstr(buf, "\"tags\":[\"attack.impact\",\"attack.t1490\"]"));
    assert_non_null(strstr(buf, "\"CommandLine\":\"vssadmin \\\"delete\\\" shadows\\n<b>\""));
    assert_null(memchr(buf, '\n', (size_t)n - 1)); /* one line */

    n = finding_render(HUNT_CSV, &fd, buf, sizeof buf);
    assert_true(n > 0);
    assert_null(memchr(buf, '\n', (size_t)n - 1)); /* newlines inside values flattened */
    assert_non_null(strstr(buf, "\"Shadow \"\"copies\"\"\""));
    assert_non_null(strstr(buf, "\"/logs/a,b.evtx\""));
    assert_non_null(strstr(buf, "User==cmd|")); /* inside a cell: left as it is */
    fd.computer = "=HYPERLINK(\"x\")";
    n = finding_render(HUNT_CSV, &fd, buf, sizeof buf);
    assert_non_null(strstr(buf, ",\"'=HYPERLINK(\"\"x\"\")\",")); /* a cell never starts a formula */

    n = finding_render(HUNT_TABLE, &fd, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "2019-02-13 15:14:52"));
    assert_null(memchr(buf, '\n', (size_t)n - 1));
}

static void test_render_cuts_long_values(void **state)
{
    struct sg_field f[2];
    struct finding fd = sample(f);
    size_t big = 100000;
    char *v = malloc(big + 1);
    memset(v, 'A', big);
    v[big] = 0;
    f[0].value = (struct sg_str){v, (uint32_t)big};
    char *buf = malloc(TL_LINE_MAX);
    long n = finding_render(HUNT_JSONL, &fd, buf, TL_LINE_MAX);
    assert_true(n > 0 && n < FINDING_VALUE_MAX + 1024);
    free(buf);
    free(v);
}

static void test_key_fields_prefer_rule_fields(void **state)
{
    struct sg_field ev_f[] = {
        {{"Image", 5}, {"C:\\x.exe", 8}},
        {{"Odd", 3}, {"1", 1}},
        {{"CommandLine", 11}, {"x -y", 4}},
        {{"Empty", 5}, {"", 0}},
    };
    struct sg_event ev = {.fields = ev_f, .nfields = 4};
    const char *prefer[] = {"Odd", "Empty", "Missing"};
    struct sg_field out[4];
    uint32_t n = finding_key_fields(&ev, prefer, 3, out, 4);
    assert_int_equal(n, 3);
    assert_string_equal(out[0].name.s, "Odd");
    assert_string_equal(out[1].name.s, "CommandLine");
    assert_string_equal(out[2].name.s, "Image");
}

static const char *t_title(void *c, uint32_t r) { return r ? "second" : "first"; }
static const char *t_id(void *c, uint32_t r) { return r ? "id-2" : "id-1"; }
static const char *t_level(void *c, uint32_t r) { return "high"; }

static void test_summary_chain(void **state)
{
    const char *const impact[] = {"attack.impact", "attack.t1490"};
    const char *const lateral[] = {"attack.lateral_movement", "attack.t1021.001"};
    const char *const valid[] = {"attack.t1078.002"};
    struct summary *a = summary_new(2), *b = summary_new(2);
    assert_int_equal(summary_add(a, 0, 3, "DC1", 2000, lateral, 2), 0);
    assert_int_equal(summary_add(a, 0, 3, "DC1", 1000, lateral, 2), 0);
    assert_int_equal(summary_add(b, 1, 4, "DC1", 5000, impact, 2), 0);
    assert_int_equal(summary_add(b, 1, 1, "WS7", SG_TIME_UNKNOWN, valid, 1), 0);
    assert_int_equal(summary_merge(a, b), 0);
    assert_int_equal(summary_total(a), 4);
    assert_int_equal(phase_of_tags(valid, 1), 1u << PHASE_CREDENTIAL_USE);
    assert_int_equal(phase_of_tags(impact, 2), 1u << PHASE_IMPACT);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct summary_names sn = {t_title, t_id, t_level, NULL};
    assert_int_equal(summary_write_json(a, &sn, f), 0);
    fclose(f);
    assert_non_null(strstr(text, "\"findings\":4"));
    assert_non_null(strstr(text, "{\"rule_id\":\"id-1\",\"rule_title\":\"first\",\"level\":\"high\","
                                 "\"hits\":2}"));
    assert_non_null(strstr(text, "[\"lateral movement\",\"1970-01-01T00:00:00.0000010Z\","
                                 "\"1970-01-01T00:00:00.0000020Z\",2]"));
    assert_non_null(strstr(text, "\"computer\":\"WS7\""));
    free(text);
    summary_free(a);
    summary_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_spills_and_merges),
        cmocka_unit_test(test_timeline_refuses_long_line),
        cmocka_unit_test(test_render_formats),
        cmocka_unit_test(test_render_cuts_long_values),
        cmocka_unit_test(test_key_fields_prefer_rule_fields),
        cmocka_unit_test(test_summary_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
