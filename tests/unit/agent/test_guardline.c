/* test_guardline.c - the agent's reading of the guard's JSON lines
 * (agent/guardline.h): an alert line becomes a spool record with the kind,
 * the severity from the action, a one-line summary, the actor key and the
 * guard's members; ready/stopped/other lines are told apart and made event
 * records (kind guard_<event>); bad lines (not
 * JSON, not an object, trailing text, NUL bytes, an alert without an id)
 * are GL_BAD with a reason; line assembly keeps partial lines across reads
 * and skips a line over the bound whole (counted), without touching the
 * next one; a record that does not fit is shed down to its key fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "agent/guardline.h"

static const char ALERT[] =
    "{\"event\":\"alert\",\"id\":\"a-1f\",\"action\":\"kill\",\"actor_key\":\"3f9c1a2b-4121-889123\","
    "\"pids\":[4121,4122],\"exe\":\"/usr/bin/python3\",\"user\":\"bob\",\"files\":[\"/srv/a.docx\"],"
    "\"files_damaged\":12,\"incident\":\"a-1f\"}";

static enum guardline_kind parse(const char *s, struct guardline *gl, char *rec, size_t cap,
                                 size_t *n)
{
    return guardline_parse(s, strlen(s), 1700000000000, gl, rec, cap, n);
}

static void test_alert_record(void **st)
{
    (void)st;
    struct guardline gl;
    char rec[4096];
    size_t n;
    assert_int_equal(parse(ALERT, &gl, rec, sizeof rec, &n), GL_ALERT);
    assert_string_equal(gl.severity, "critical");
    assert_string_equal(gl.alert_id, "a-1f");
    assert_string_equal(gl.actor_key, "3f9c1a2b-4121-889123");
    rec[n] = '\0';
    struct json_object *j = json_tokener_parse(rec), *v;
    assert_non_null(j);
    assert_true(json_object_object_get_ex(j, "kind", &v));
    assert_string_equal(json_object_get_string(v), "ransomware");
    assert_true(json_object_object_get_ex(j, "time_ms", &v));
    assert_int_equal(json_object_get_int64(v), 1700000000000);
    assert_true(json_object_object_get_ex(j, "summary", &v));
    assert_string_equal(json_object_get_string(v),
                        "the guard killed /usr/bin/python3 (pid 4121, user bob): 12 files "
                        "damaged, e.g. /srv/a.docx");
    assert_true(json_object_object_get_ex(j, "actor_key", &v));
    assert_string_equal(json_object_get_string(v), "3f9c1a2b-4121-889123");
    assert_true(json_object_object_get_ex(j, "alert_id", &v));
    assert_string_equal(json_object_get_string(v), "a-1f");
    /* the guard's members, flat; its "event" dropped */
    assert_true(json_object_object_get_ex(j, "pids", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_true(json_object_object_get_ex(j, "exe", &v));
    assert_false(json_object_object_get_ex(j, "event", &v));
    json_object_put(j);
}

static void test_severity_by_action(void **st)
{
    (void)st;
    struct guardline gl;
    char rec[4096];
    size_t n;
    assert_int_equal(parse("{\"event\":\"alert\",\"id\":\"x\",\"action\":\"freeze\"}", &gl, rec,
                           sizeof rec, &n),
                     GL_ALERT);
    assert_string_equal(gl.severity, "critical");
    assert_int_equal(parse("{\"event\":\"alert\",\"id\":\"x\",\"action\":\"alert\"}", &gl, rec,
                           sizeof rec, &n),
                     GL_ALERT);
    assert_string_equal(gl.severity, "high");
    rec[n] = '\0';
    assert_non_null(strstr(rec, "did not stop"));
    assert_string_equal(gl.actor_key, "");
}

static void test_other_lines(void **st)
{
    (void)st;
    struct guardline gl;
    char rec[256];
    size_t n;
    assert_int_equal(parse("{\"event\":\"ready\",\"protect\":[\"/srv\",\"/home\"],\"degraded\":"
                           "\"no leases\"}",
                           &gl, rec, sizeof rec, &n),
                     GL_READY);
    assert_true(gl.degraded);
    assert_string_equal(gl.note, "protecting /srv /home; degraded: no leases");
    /* the event record: kind guard_ready in place of event */
    assert_true(n > 0);
    rec[n] = '\0';
    struct json_object *j = json_tokener_parse(rec), *v;
    assert_non_null(j);
    assert_true(json_object_object_get_ex(j, "kind", &v));
    assert_string_equal(json_object_get_string(v), "guard_ready");
    assert_false(json_object_object_get_ex(j, "event", &v));
    assert_true(json_object_object_get_ex(j, "time_ms", &v));
    assert_true(json_object_object_get_ex(j, "protect", &v));
    json_object_put(j);
    assert_int_equal(parse("{\"event\":\"ready\",\"protect\":[\"/srv\"],\"degraded\":\"\"}", &gl,
                           rec, sizeof rec, &n),
                     GL_READY);
    assert_false(gl.degraded);
    assert_int_equal(parse("{\"event\":\"stopped\",\"alerts\":3}", &gl, rec, sizeof rec, &n),
                     GL_STOPPED);
    assert_int_equal(parse("{\"event\":\"vault_full\"}", &gl, rec, sizeof rec, &n), GL_OTHER);
    assert_string_equal(gl.event, "vault_full");
    rec[n] = '\0';
    assert_non_null(strstr(rec, "\"kind\":\"guard_vault_full\""));
    /* an event record that does not fit: none, the line still read */
    char small[16];
    assert_int_equal(parse("{\"event\":\"vault_full\"}", &gl, small, sizeof small, &n), GL_OTHER);
    assert_int_equal(n, 0);
}

static void test_bad_lines(void **st)
{
    (void)st;
    struct guardline gl;
    char rec[4096];
    size_t n;
    static const char *const bad[] = {
        "not json",           "[1,2]",  "{\"event\":\"alert\"",   "{\"event\":\"alert\"}",
        "{\"event\":\"alert\",\"id\":\"\"}", "{} trailing", "{\"no_event\":1}", "\"str\"",
        "{\"event\":\"alert\",\"id\":7}", "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
        "{\"event\":\"ready\"}{\"event\":\"ready\"}", "{\"event\":\"\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], &gl, rec, sizeof rec, &n), GL_BAD);
        assert_true(gl.note[0] != '\0');
        assert_int_equal(n, 0);
    }
    assert_int_equal(guardline_parse("{\"event\":\"ready\"}\0x", 20, 0, &gl, rec, sizeof rec, &n),
                     GL_BAD);
    assert_int_equal(guardline_parse("", 0, 0, &gl, rec, sizeof rec, &n), GL_BAD);
    /* trailing blanks (a CR) are fine */
    assert_int_equal(parse("{\"event\":\"stopped\"} \r", &gl, rec, sizeof rec, &n), GL_STOPPED);
}

static void test_record_too_big(void **st)
{
    (void)st;
    struct guardline gl;
    char rec[360];
    size_t n;
    assert_int_equal(parse(ALERT, &gl, rec, sizeof rec, &n), GL_ALERT);
    assert_true(n < sizeof rec);
    rec[n] = '\0';
    assert_non_null(strstr(gl.note, "did not fit"));
    struct json_object *j = json_tokener_parse(rec); /* valid JSON all the same */
    assert_non_null(j);
    json_object_put(j);
    assert_non_null(strstr(rec, "\"actor_key\":\"3f9c1a2b-4121-889123\""));
    char tiny[32];
    assert_int_equal(parse(ALERT, &gl, tiny, sizeof tiny, &n), GL_BAD);
}

struct seen {
    size_t n;
    char lines[8][64];
    size_t lens[8];
};

static void collect(void *ctx, const char *line, size_t len)
{
    struct seen *s = ctx;
    assert_true(s->n < 8);
    assert_true(len < 64);
    memcpy(s->lines[s->n], line, len);
    s->lines[s->n][len] = '\0';
    s->lens[s->n++] = len;
}

static void record_len(void *ctx, const char *line, size_t len)
{
    (void)line;
    *(size_t *)ctx = len;
}

static void test_feed(void **st)
{
    (void)st;
    char *buf = malloc(GUARDLINE_MAX);
    struct linebuf lb = {.buf = buf};
    struct seen s = {0};
    guardline_feed(&lb, "{\"a\":1}\n{\"b\"", 12, collect, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.lines[0], "{\"a\":1}");
    guardline_feed(&lb, ":2}\n\n", 5, collect, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.lines[1], "{\"b\":2}");
    assert_int_equal(s.lens[2], 0);
    /* a line over the bound, fed in pieces, is skipped whole */
    char *big = malloc(GUARDLINE_MAX);
    memset(big, 'x', GUARDLINE_MAX);
    guardline_feed(&lb, big, GUARDLINE_MAX / 2, collect, &s);
    guardline_feed(&lb, big, GUARDLINE_MAX / 2, collect, &s);
    guardline_feed(&lb, big, 10, collect, &s);
    guardline_feed(&lb, "tail\nnext\n", 10, collect, &s);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.lines[3], "next");
    assert_int_equal(lb.overlong, 1);
    /* exactly the bound minus the newline still passes */
    size_t got = 0;
    memset(big, 'y', GUARDLINE_MAX);
    big[GUARDLINE_MAX - 1] = '\n';
    struct linebuf lb2 = {.buf = buf};
    guardline_feed(&lb2, big, GUARDLINE_MAX, record_len, &got);
    assert_int_equal(got, GUARDLINE_MAX - 1);
    assert_int_equal(lb2.overlong, 0);
    free(big);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_record), cmocka_unit_test(test_severity_by_action),
        cmocka_unit_test(test_other_lines),  cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_record_too_big), cmocka_unit_test(test_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
