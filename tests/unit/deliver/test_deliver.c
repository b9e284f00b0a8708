/* test_deliver.c - unit tests of src/deliver's pure parts: the alert texts
 * (alert_text.c), the channel formats (format.c: Slack and Teams escaping,
 * RFC 5424 syslog, RFC 5322 mail without header injection), target URLs
 * (url.c) and route checks and masking (route.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/err.h"
#include "deliver/alert_text.h"
#include "deliver/format.h"
#include "deliver/route.h"
#include "deliver/outbox.h"
#include "deliver/url.h"

static const char GUARD_BODY[] =
    "{\"event\":\"alert\",\"action\":\"freeze\",\"actor_key\":\"b1-4242-77\",\"pids\":[4242,4243],"
    "\"exe\":\"/tmp/enc\",\"cmdline\":\"/tmp/enc\\n--all\",\"user\":\"bob\",\"files\":[\"/srv/a\"],"
    "\"indicators\":[\"entropy\"],\"files_damaged\":3}";

static struct dalert guard_alert(void)
{
    struct dalert a = {.id = 42, .time = 1700000000123, .host_id = "h-0011223344556677",
                       .hostname = "web-1", .site = "osaka", .kind = "ransomware",
                       .severity = "critical", .summary = "guard froze /tmp/enc", .body = GUARD_BODY};
    return a;
}

static void text_guard_freeze(void **state)
{
    struct dalert a = guard_alert();
    struct dtext t;
    dtext_build(&a, &t);
    assert_non_null(strstr(t.title, "web-1"));
    assert_non_null(strstr(t.title, "frozen"));
    assert_non_null(strstr(t.what, "/tmp/enc"));
    assert_non_null(strstr(t.what, "4242, 4243"));
    assert_non_null(strstr(t.did, "SIGSTOP"));
    assert_non_null(strstr(t.next, "mamori server command web-1 kill --actor b1-4242-77"));
    assert_non_null(strstr(t.next, "restore --alert 42"));
    for (size_t i = 0; i < t.nfacts; i++) /* the newline of cmdline is gone */
        assert_null(strchr(t.facts[i].value, '\n'));
}

static void text_kinds(void **state)
{
    struct dalert a = {.id = 7, .time = 1, .hostname = "db-1", .site = "kyoto",
                       .kind = "host_silent", .severity = "high", .summary = "silent"};
    struct dtext t;
    dtext_build(&a, &t);
    assert_non_null(strstr(t.next, "powered"));
    assert_non_null(strstr(t.next, "isolate"));
    a.kind = "host_back";
    dtext_build(&a, &t);
    assert_non_null(strstr(t.title, "reporting again"));
    a.kind = "something_new";
    a.hostname = NULL;
    a.host_id = NULL;
    dtext_build(&a, &t);
    assert_non_null(strstr(t.title, "something_new on the server"));
    assert_non_null(strstr(t.next, "/api/v1/alerts/7"));
    a.body = "not json {";
    a.severity = "bogus";
    dtext_build(&a, &t); /* no crash; an unknown severity reads as medium */
    assert_non_null(strstr(t.title, "[medium]"));
}

static json_object *parse(const char *s)
{
    json_object *j = json_tokener_parse(s);
    assert_non_null(j);
    return j;
}

static void fmt_slack_teams_escape(void **state)
{
    struct dalert a = {.id = 1, .time = 0, .hostname = "h<1>&", .site = "s", .kind = "drill",
                       .severity = "low", .summary = "a <b> & *c*"};
    struct dtext t;
    dtext_build(&a, &t);
    char *s = dfmt_slack(&a, &t);
    json_object *j = parse(s);
    const char *txt = json_object_get_string(json_object_object_get(j, "text"));
    assert_non_null(strstr(txt, "h&lt;1&gt;&amp;"));
    assert_null(strstr(s, "<b>"));
    json_object_put(j);
    free(s);
    s = dfmt_teams(&a, &t);
    j = parse(s);
    assert_string_equal(json_object_get_string(json_object_object_get(j, "@type")), "MessageCard");
    assert_non_null(strstr(s, "\\\\*c\\\\*")); /* markdown escaped, then JSON-escaped */
    assert_null(strstr(s, "<b>"));
    json_object_put(j);
    free(s);
    s = dfmt_json(&a, &t);
    j = parse(s);
    json_object *al = json_object_object_get(j, "alert");
    assert_string_equal(json_object_get_string(json_object_object_get(al, "summary")),
                        "a <b> & *c*");
    json_object_put(j);
    free(s);
}

static void fmt_syslog_5424(void **state)
{
    struct dalert a = {.id = 9, .time = 1700000000123, .host_id = "h-1", .hostname = "web 1",
                       .site = "o\"s]a\\ka", .kind = "drill", .severity = "critical",
                       .summary = "line1\nline2"};
    struct dtext t;
    dtext_build(&a, &t);
    char *m = dfmt_syslog(&a, &t);
    assert_non_null(m);
    const char *want = "<34>1 2023-11-14T22:13:20.123Z web_1 mamori - drill [mamori@32473 "
                       "host=\"web 1\" site=\"o\\\"s\\]a\\\\ka\" alert_id=\"9\" kind=\"drill\" "
                       "severity=\"critical\" host_id=\"h-1\"] \xEF\xBB\xBF";
    assert_memory_equal(m, want, strlen(want));
    assert_null(strchr(m, '\n'));
    free(m);
    a.severity = "info"; /* informational: 4*8+6 */
    a.hostname = NULL;
    a.host_id = NULL;
    m = dfmt_syslog(&a, &t);
    assert_memory_equal(m, "<38>1 2023-11-14T22:13:20.123Z - mamori - drill ", 48);
    free(m);
}

static void fmt_email_no_injection(void **state)
{
    struct dalert a = {.id = 5, .time = 0, .hostname = "evil\r\nBcc: x@y.z", .site = "s\r\nX-A: b",
                       .kind = "drill\nX-K: 1", .severity = "high", .summary = "s"};
    struct dtext t;
    dtext_build(&a, &t);
    char *m = dfmt_email(&a, &t, "m@example.org", "a@example.org,b@example.org", "srv", 0);
    assert_non_null(m);
    char *end = strstr(m, "\r\n\r\n");
    assert_non_null(end);
    *end = '\0';
    for (char *l = m; l;) { /* every header line is a known header or a fold */
        char *n = strstr(l, "\r\n");
        if (n)
            *n = '\0';
        assert_true(l[0] == ' ' || !strncmp(l, "Date: ", 6) || !strncmp(l, "Message-ID: <", 13) ||
                    !strncmp(l, "From: ", 6) || !strncmp(l, "To: ", 4) ||
                    !strncmp(l, "Subject: ", 9) || !strncmp(l, "MIME-Version: ", 14) ||
                    !strncmp(l, "Content-", 8) || !strncmp(l, "Auto-Submitted: ", 16) ||
                    !strncmp(l, "X-Mamori-Alert-Id: ", 19));
        assert_null(strchr(l, '\r'));
        assert_null(strchr(l, '\n'));
        l = n ? n + 2 : NULL;
    }
    free(m);
    a.hostname = "東京-1"; /* a subject that is not ASCII: RFC 2047 */
    dtext_build(&a, &t);
    m = dfmt_email(&a, &t, "m@example.org", "a@example.org", "srv", 0);
    assert_non_null(strstr(m, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    free(m);
}

static void url_parts(void **state)
{
    struct url u;
    char why[200];
    assert_int_equal(url_parse("HTTPS://user@[::1]:8443/a/b?c=d", &u, why, sizeof why), 0);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.user, "user");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.path, "/a/b");
    assert_true(u.query);
    assert_true(url_parse("tcp://h:0", &u, why, sizeof why) < 0);
    assert_true(url_parse("tcp://h:65536", &u, why, sizeof why) < 0);
    assert_true(url_parse("h:514", &u, why, sizeof why) < 0);
    assert_true(url_parse("http://a b/", &u, why, sizeof why) < 0);
    assert_true(url_parse("http:///x", &u, why, sizeof why) < 0);
    assert_true(url_parse("http://[::1/x", &u, why, sizeof why) < 0);
    assert_true(url_parse("http://h/x#frag", &u, why, sizeof why) < 0);
}

static void route_checks_and_mask(void **state)
{
    struct route r = {.kind = RK_SLACK};
    char err[512], m[ROUTE_TARGET_MAX];
    snprintf(r.target, sizeof r.target, "https://hooks.slack.com/services/T0/B0/SECRET");
    snprintf(r.options, sizeof r.options, "{}");
    assert_int_equal(route_check(&r, err, sizeof err), 0);
    route_masked_target(&r, m, sizeof m);
    assert_string_equal(m, "https://hooks.slack.com/services/...");
    snprintf(r.target, sizeof r.target, "https://h.example/SECRET");
    route_masked_target(&r, m, sizeof m);
    assert_string_equal(m, "https://h.example/...");
    r.kind = RK_SYSLOG;
    assert_true(route_check(&r, err, sizeof err) < 0);
    assert_non_null(strstr(err, "tcp://HOST:PORT"));
    snprintf(r.target, sizeof r.target, "tls://siem.example:6514");
    assert_int_equal(route_check(&r, err, sizeof err), 0);
    r.kind = RK_EMAIL;
    snprintf(r.target, sizeof r.target, "smtp://mail.example:587");
    snprintf(r.options, sizeof r.options, "{\"from\":\"a@b.c\",\"to\":\"x@y.z,\"}");
    assert_true(route_check(&r, err, sizeof err) < 0);
    snprintf(r.options, sizeof r.options, "{\"from\":\"a@b.c\",\"to\":\"x@y.z\",\"password\":\"pw\"}");
    assert_true(route_check(&r, err, sizeof err) < 0); /* a password needs a user */
    snprintf(r.options, sizeof r.options,
             "{\"from\":\"a@b.c\",\"to\":\"x@y.z,w@v.u\",\"user\":\"u\",\"password\":\"pw\"}");
    assert_int_equal(route_check(&r, err, sizeof err), 0);
    char js[2048];
    assert_int_equal(route_json(&r, js, sizeof js), 0);
    assert_null(strstr(js, "pw\""));
    assert_non_null(strstr(js, "\"password\":\"(set)\""));
    snprintf(r.options, sizeof r.options, "{\"from\":\"a@b.c\",\"to\":\"x@y.z\",\"bogus\":1}");
    assert_true(route_check(&r, err, sizeof err) < 0);
    assert_non_null(strstr(err, "bogus"));
}

static int take(void *arg, struct ojob *j)
{
    struct ojob **out = arg;
    if (*out)
        ojob_free(*out);
    *out = j;
    return 0;
}

/* The outbox on a real database: routing by site and severity, one due
 * delivery per route, attempts, sent, pruning, a removed route. */
static void outbox_sqlite(void **state)
{
    char dir[] = "/tmp/test_deliver.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    int64_t osaka, kyoto;
    assert_int_equal(store_site_id(&st, "osaka", &osaka), 0);
    assert_int_equal(store_site_id(&st, "kyoto", &kyoto), 0);
    assert_int_equal(store_alert_add(&st, "h-old", osaka, 1, "old", "high", "before", NULL), 0);
    struct route r = {.kind = RK_WEBHOOK, .site_id = osaka, .min_rank = 3, .created = 5};
    snprintf(r.target, sizeof r.target, "http://127.0.0.1:9/x");
    snprintf(r.created_by, sizeof r.created_by, "test");
    assert_int_equal(route_add(&st, &r), 0);
    assert_int_equal(store_alert_add(&st, "h-1", osaka, 10, "a", "critical", "s1", NULL), 0);
    assert_int_equal(store_alert_add(&st, "h-1", osaka, 11, "b", "low", "s2", NULL), 0);
    assert_int_equal(store_alert_add(&st, "h-2", kyoto, 12, "c", "critical", "s3", NULL), 0);
    assert_int_equal(store_alert_add(&st, "h-1", osaka, 13, "d", "high", "s4", NULL), 0);
    int added = -1;
    assert_int_equal(outbox_enqueue(&st, 100, &added), 0);
    assert_int_equal(added, 2); /* s1 and s4: osaka, >= high, after the route */
    assert_int_equal(outbox_enqueue(&st, 100, &added), 0);
    assert_int_equal(added, 0); /* never twice */
    struct ojob *j = NULL;
    assert_int_equal(outbox_due(&st, 100, 10, take, &j), 0);
    assert_non_null(j);
    assert_string_equal(j->a.summary, "s1"); /* one per route, the oldest */
    assert_int_equal(outbox_attempt(&st, j->did, 5000), 0);
    int64_t did = j->did;
    ojob_free(j);
    j = NULL;
    assert_int_equal(outbox_due(&st, 200, 10, take, &j), 0);
    assert_string_equal(j->a.summary, "s4"); /* s1 waits for its retry time */
    ojob_free(j);
    j = NULL;
    assert_int_equal(outbox_sent(&st, did, 300), 0);
    int n = -1;
    assert_int_equal(outbox_prune(&st, 50, 10, &n), 0);
    assert_int_equal(n, 0); /* queued at 100: younger than the limit */
    assert_int_equal(outbox_prune(&st, 101, 10, &n), 0);
    assert_int_equal(n, 1); /* the sent one; s4 is still pending */
    assert_int_equal(route_disable(&st, r.id, 400), 0);
    assert_int_equal(route_disable(&st, r.id, 400), MAMORI_ENOENT);
    assert_int_equal(outbox_due(&st, 10000, 10, take, &j), 0);
    assert_null(j); /* the removed route's delivery failed */
    store_close(&st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_guard_freeze),    cmocka_unit_test(text_kinds),
        cmocka_unit_test(fmt_slack_teams_escape), cmocka_unit_test(fmt_syslog_5424),
        cmocka_unit_test(fmt_email_no_injection), cmocka_unit_test(url_parts),
        cmocka_unit_test(route_checks_and_mask), cmocka_unit_test(outbox_sqlite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
