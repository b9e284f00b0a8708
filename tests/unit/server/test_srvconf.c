/* test_srvconf.c - the server's configuration file (server/srvconf.c): the
 * embedded defaults, every kind of value, the shipped etc/mamori-server.yaml
 * (it must load and equal the defaults), and refusals with FILE:LINE:COL, a
 * reason and, for a misspelt key, a suggestion. */
#include "srvtest.h"

#include "core/err.h"
#include "server/events.h"
#include "server/server.h"
#include "server/srvconf.h"

static int parse(struct srv_conf *c, const char *text, char *err)
{
    srvconf_defaults(c);
    return srvconf_parse(c, "t.yaml", text, strlen(text), err, 512);
}

static void test_defaults(void **state)
{
    (void)state;
    struct srv_conf c;
    char err[512] = "";
    assert_int_equal(parse(&c, "", err), 0);
    assert_string_equal(c.listen, SRV_DEFAULT_LISTEN);
    assert_int_equal(c.heartbeat_ms, SRV_DEFAULT_HEARTBEAT_MS);
    assert_int_equal(c.queue_events, EV_DEFAULT_QUEUE_ROWS);
    assert_int_equal(c.events_max_age_ms, 30ull * 86400000);
    assert_int_equal(c.alerts_max_age_ms, 0); /* kept */
    assert_int_equal(c.events_max_bytes, 10ull << 30);
    assert_int_equal(c.events_max_percent, 20);
}

static void test_values(void **state)
{
    (void)state;
    struct srv_conf c;
    char err[512] = "";
    assert_int_equal(parse(&c,
                           "listen: 127.0.0.1:9000\n"
                           "api_listen: none\n"
                           "offline_after: 1m\n"
                           "heartbeat: 5s\n"
                           "max_conns: 500\n"
                           "log_level: debug\n"
                           "intake:\n"
                           "  queue_events: 4096\n"
                           "  queue_bytes: 8MiB\n"
                           "  batch_events: 1000\n"
                           "retention:\n"
                           "  events_max_age: 7d\n"
                           "  alerts_max_age: never\n"
                           "  events_max_size: 512MiB\n"
                           "  events_max_percent: none\n"
                           "  batch: 300\n",
                           err),
                     0);
    assert_string_equal(c.listen, "127.0.0.1:9000");
    assert_string_equal(c.api_listen, "none");
    assert_int_equal(c.offline_after_ms, 60000);
    assert_int_equal(c.heartbeat_ms, 5000);
    assert_int_equal(c.max_conns, 500);
    assert_string_equal(c.log_level, "debug");
    assert_int_equal(c.queue_events, 4096);
    assert_int_equal(c.queue_bytes, 8u << 20);
    assert_int_equal(c.batch_events, 1000);
    assert_int_equal(c.events_max_age_ms, 7ull * 86400000);
    assert_int_equal(c.alerts_max_age_ms, 0);
    assert_int_equal(c.events_max_bytes, 512u << 20);
    assert_int_equal(c.events_max_percent, 0);
    assert_int_equal(c.retention_batch, 300);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"listen: 1.2.3.4:1\nhartbeat: 1s\n",
         "t.yaml:2:1: unknown key 'hartbeat' (did you mean 'heartbeat'?)"},
        {"intake:\n  queue_event: 5000\n",
         "t.yaml:2:3: unknown key 'queue_event' in section intake (did you mean 'queue_events'?)"},
        {"zzz: 1\n", "t.yaml:1:1: unknown key 'zzz'"},
        {"heartbeat: soon\n", "t.yaml:1:12: 'heartbeat' must be a duration"},
        {"heartbeat: 50ms\n", "t.yaml:1:12: 'heartbeat' must be between 100 ms and 3600000 ms"},
        {"max_conns: -1\n", "t.yaml:1:12: 'max_conns' must be a whole number"},
        {"max_conns: \"5\"\n", "t.yaml:1:12: 'max_conns' must be a whole number"},
        {"intake:\n  queue_events: 10\n", "t.yaml:2:17: 'queue_events' must be between 1024"},
        {"intake:\n  queue_bytes: 1KiB\n", "t.yaml:2:16: 'queue_bytes' must be between"},
        {"intake:\n  queue_bytes: 5XB\n", "t.yaml:2:16: 'queue_bytes' must be a size"},
        {"intake: 5\n", "t.yaml:1:9: section 'intake' must be a mapping of keys"},
        {"listen: [1]\n", "t.yaml:1:9: 'listen' must be a single value"},
        {"listen: nowhere\n", "t.yaml:1:9: 'listen'"},
        {"heartbeat: 20s\noffline_after: 30s\n", "t.yaml:1:1: heartbeat (20000 ms) must be at most half"},
        {"retention:\n  events_max_age: 30d\n  alerts_max_age: 1d\n",
         "t.yaml:1:1: retention: alerts_max_age must be at least events_max_age"},
        {"intake:\n  queue_events: 2000\n  batch_events: 3000\n",
         "t.yaml:1:1: intake: batch_events must be at most queue_events"},
        {"log_level: loud\n", "t.yaml:1:12: 'log_level' must be error, warn, info or debug"},
        {"- a\n- b\n", "t.yaml:1:1: the configuration must be a mapping of keys"},
        {"a: [\n", "t.yaml:"},
        {"events_max_age: 1d\n", "t.yaml:1:1: unknown key 'events_max_age'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_conf c;
        char err[512] = "";
        assert_int_equal(parse(&c, cases[i].text, err), MAMORI_ECONFIG);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].want);
        /* a refused file leaves the defaults */
        assert_string_equal(c.listen, SRV_DEFAULT_LISTEN);
    }
}

static void test_shipped_file(void **state)
{
    (void)state;
    struct srv_conf c, d;
    char err[512] = "";
    srvconf_defaults(&c);
    srvconf_defaults(&d);
    int rc = srvconf_load(&c, "etc/mamori-server.yaml", err, sizeof err);
    if (rc < 0)
        fail_msg("etc/mamori-server.yaml: %s", err);
    /* the shipped file spells out the defaults */
    assert_memory_equal(&c, &d, sizeof c);
    /* a missing file is an error naming it */
    assert_true(srvconf_load(&c, "/nonexistent/server.yaml", err, sizeof err) < 0);
    assert_non_null(strstr(err, "/nonexistent/server.yaml"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shipped_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
