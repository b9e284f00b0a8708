/* test_events.c - server/events.c and retention.c against a real SQLite
 * file: EVENTS bodies checked (good, and each way a body is refused),
 * batched writes in slices that end on frame boundaries, a resend stored
 * once, an invalid event stored as invalid_event, the queue's admission
 * bound; retention by age (events first, alerts only when older than their
 * own bound) and by size (events only, down under the bound). */
#include "srvtest.h"

#include <json-c/json.h>
#include <sqlite3.h>

#include "core/err.h"
#include "net/frame.h"
#include "server/events.h"
#include "server/server_int.h"
#include "server/srvconf.h"

struct fx {
    char *dir;
    struct server *s;
    struct srv_opts o;
    struct host h;
    struct sconn c;
    FILE *out;
};

static int count(struct server *s, const char *sql)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(s->st.db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n;
}

static struct fx *fx_new(void (*tune)(struct srv_conf *))
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = srvtest_mkdir();
    f->s = calloc(1, sizeof *f->s);
    f->s->conf = calloc(1, sizeof *f->s->conf);
    srvconf_defaults(f->s->conf);
    if (tune)
        tune(f->s->conf);
    snprintf(f->o.data, sizeof f->o.data, "%s", f->dir);
    f->s->o = &f->o;
    f->out = tmpfile();
    f->s->events = f->out;
    f->s->ep = -1;
    assert_int_equal(store_open(&f->s->st, f->dir), 0);
    assert_int_equal(events_init(f->s), 0);
    assert_int_equal(retention_init(f->s), 0);
    snprintf(f->h.id, sizeof f->h.id, "h-00000000000000aa");
    f->c.host = &f->h;
    f->c.st = SC_AGENT;
    f->c.nc.fd = -1;
    return f;
}

static void fx_free(struct fx *f)
{
    events_free(f->s);
    retention_free(f->s);
    store_close(&f->s->st);
    fclose(f->out);
    free(f->s->conf);
    free(f->s);
    srvtest_rmdir(f->dir);
    free(f);
}

static struct json_object *parse(const char *text)
{
    struct frame fr = {.type = FRAME_EVENTS, .len = (uint32_t)strlen(text),
                       .body = (const uint8_t *)text};
    const char *why = NULL;
    struct json_object *j = frame_body_json(&fr, &why);
    assert_non_null(j);
    return j;
}

/* An EVENTS body of n events from seq first: {"kind":"k","n":seq}. */
static struct json_object *batch(uint64_t first, int n)
{
    size_t cap = 64 + (size_t)n * 64;
    char *b = malloc(cap);
    int len = snprintf(b, cap, "{\"first_seq\":%llu,\"events\":[", (unsigned long long)first);
    for (int i = 0; i < n; i++)
        len += snprintf(b + len, cap - (size_t)len, "%s{\"kind\":\"k\",\"n\":%llu,\"time_ms\":%d}",
                        i ? "," : "", (unsigned long long)(first + (uint64_t)i), 1000 + i);
    snprintf(b + len, cap - (size_t)len, "]}");
    struct json_object *j = parse(b);
    free(b);
    return j;
}

static void test_frame_check(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"events\":[{}]}",                          /* no first_seq */
        "{\"first_seq\":0,\"events\":[{}]}",          /* seq < 1 */
        "{\"first_seq\":\"1\",\"events\":[{}]}",      /* not an integer */
        "{\"first_seq\":1}",                          /* no events */
        "{\"first_seq\":1,\"events\":{}}",            /* not an array */
        "{\"first_seq\":1,\"events\":[]}",            /* empty */
        "{\"first_seq\":4611686018427387904,\"events\":[{}]}", /* seq space overflow */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct json_object *j = parse(bad[i]), *arr = NULL;
        uint64_t first = 0;
        const char *why = NULL;
        assert_int_equal(events_frame_check(j, &first, &arr, &why), -1);
        assert_non_null(why);
        json_object_put(j);
    }
    struct json_object *j = batch(7, FRAME_EVENTS_MAX), *arr = NULL;
    uint64_t first = 0;
    const char *why = NULL;
    assert_int_equal(events_frame_check(j, &first, &arr, &why), FRAME_EVENTS_MAX);
    assert_int_equal(first, 7);
    json_object_put(j);
    /* one past the bound */
    j = batch(1, FRAME_EVENTS_MAX + 1);
    assert_int_equal(events_frame_check(j, &first, &arr, &why), -1);
    json_object_put(j);
}

static void test_item(void **state)
{
    (void)state;
    struct {
        const char *ev, *kind;
        int64_t time;
        bool valid;
    } cases[] = {
        {"{\"kind\":\"proc\",\"time_ms\":5}", "proc", 5, true},
        {"{\"x\":1}", "", 0, true},
        {"{\"kind\":\"\"}", "invalid_event", 0, false},
        {"{\"kind\":7}", "invalid_event", 0, false},
        {"{\"time_ms\":-1}", "invalid_event", 0, false},
        {"{\"time_ms\":1.5}", "invalid_event", 0, false},
        {"[1,2]", "invalid_event", 0, false},
        {"\"text\"", "invalid_event", 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"first_seq\":1,\"events\":[%s]}", cases[i].ev);
        struct json_object *j = parse(body), *arr = NULL;
        uint64_t first;
        const char *why = NULL;
        assert_int_equal(events_frame_check(j, &first, &arr, &why), 1);
        int64_t t;
        char kind[EV_KIND_MAX + 1];
        const char *text;
        size_t len;
        why = events_item(json_object_array_get_idx(arr, 0), &t, kind, &text, &len);
        assert_true((why == NULL) == cases[i].valid);
        assert_string_equal(kind, cases[i].kind);
        assert_int_equal(t, cases[i].time);
        assert_int_equal(strlen(text), len);
        json_object_put(j);
    }
}

static void small_batches(struct srv_conf *c)
{
    c->batch_events = 100;
}

static void test_batched_write(void **state)
{
    (void)state;
    struct fx *f = fx_new(small_batches);
    /* 10 frames of 30: slices of at most 100 rows end on frame boundaries */
    for (int i = 0; i < 10; i++) {
        struct json_object *j = batch(1 + (uint64_t)i * 30, 30);
        assert_true(events_admit(f->s, &f->c, 4096));
        assert_true(events_frame(f->s, &f->c, j));
        json_object_put(j);
    }
    assert_true(events_pending(f->s));
    assert_int_equal(count(f->s, "SELECT count(*) FROM events"), 0); /* nothing before the flush */
    events_flush(f->s);
    assert_false(events_pending(f->s));
    assert_int_equal(count(f->s, "SELECT count(*) FROM events"), 300);
    assert_int_equal(count(f->s, "SELECT count(DISTINCT seq) FROM events WHERE host_id="
                                  "'h-00000000000000aa' AND kind='k'"),
                     300);
    assert_int_equal(count(f->s, "SELECT sum(json_extract(body,'$.n') != seq) FROM events"), 0);
    assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE time < 1000"), 0);
    assert_int_equal(events_stored(f->s), 300);
    /* a resend (after a reconnect) is stored once */
    struct json_object *j = batch(271, 60);
    assert_true(events_frame(f->s, &f->c, j));
    json_object_put(j);
    events_flush(f->s);
    assert_int_equal(count(f->s, "SELECT count(*) FROM events"), 330);
    assert_int_equal(count(f->s, "SELECT max(seq) FROM events"), 330);
    /* an invalid event is stored as such, with its text */
    j = parse("{\"first_seq\":331,\"events\":[[1,2],{\"kind\":\"ok\"}]}");
    assert_true(events_frame(f->s, &f->c, j));
    json_object_put(j);
    events_flush(f->s);
    assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE seq=331 AND"
                                  " kind='invalid_event' AND body='[1,2]'"),
                     1);
    assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE seq=332 AND kind='ok'"), 1);
    fx_free(f);
}

static void tiny_queue(struct srv_conf *c)
{
    c->queue_events = EV_MIN_QUEUE_ROWS;
    c->queue_bytes = EV_MIN_QUEUE_BYTES;
}

static void test_admission(void **state)
{
    (void)state;
    struct fx *f = fx_new(tiny_queue);
    /* an empty queue takes any frame */
    assert_true(events_admit(f->s, &f->c, FRAME_MAX));
    struct json_object *j = batch(1, 10);
    assert_true(events_frame(f->s, &f->c, j));
    json_object_put(j);
    /* 10 rows queued: another FRAME_EVENTS_MAX would pass 1024 rows -> paused */
    assert_false(events_admit(f->s, &f->c, 100));
    assert_true(f->c.paused);
    assert_true(events_any_paused(f->s));
    events_flush(f->s);
    events_resumed(f->s);
    assert_false(events_any_paused(f->s));
    assert_true(events_admit(f->s, &f->c, 100));
    fclose(f->out);
    f->out = tmpfile(); /* (the pause was logged to stderr, not as an event line) */
    f->s->events = f->out;
    fx_free(f);
}

static void exec_ok(struct server *s, const char *sql)
{
    assert_int_equal(sqlite3_exec(s->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void ages(struct srv_conf *c)
{
    c->events_max_age_ms = 86400000;      /* 1 d */
    c->alerts_max_age_ms = 7 * 86400000ll; /* 7 d */
    c->retention_batch = 50;
}

static void run_pass(struct fx *f)
{
    for (int i = 0; i < 1000; i++) {
        f->s->now_ms += SRV_TICK_MS;
        retention_turn(f->s);
        if (!retention_active(f->s) && i > 0)
            break;
    }
}

static void test_retention_age(void **state)
{
    (void)state;
    struct fx *f = fx_new(ages);
    int64_t now = srv_wall_ms(), day = 86400000;
    sqlite3_stmt *ins = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->s->st.db,
                                        "INSERT INTO events(host_id, seq, time, received, kind, body)"
                                        " VALUES ('h-1', ?1, 0, ?2, 'k', '{}')",
                                        -1, &ins, NULL),
                     SQLITE_OK);
    for (int i = 1; i <= 1000; i++) { /* 300 two days old, then 700 new */
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_int64(ins, 2, i <= 300 ? now - 2 * day : now);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO alerts(host_id, time, kind, severity, summary) VALUES"
             " ('h-1', %lld, 'a', 'high', 'old'), ('h-1', %lld, 'a', 'high', 'recent')",
             (long long)(now - 8 * day), (long long)(now - 2 * day));
    exec_ok(f->s, sql);
    run_pass(f);
    assert_int_equal(count(f->s, "SELECT count(*) FROM events"), 700);
    assert_int_equal(count(f->s, "SELECT min(seq) FROM events"), 301);
    assert_int_equal(count(f->s, "SELECT count(*) FROM alerts"), 1);
    assert_int_equal(count(f->s, "SELECT count(*) FROM alerts WHERE summary='recent'"), 1);
    /* the pass's counts were written as a retention event line */
    char line[512] = "";
    rewind(f->out);
    bool seen = false;
    while (fgets(line, sizeof line, f->out))
        seen = seen || (strstr(line, "\"event\":\"retention\"") &&
                        strstr(line, "\"events_age\":300") && strstr(line, "\"alerts_age\":1"));
    assert_true(seen);
    fx_free(f);
}

static void sized(struct srv_conf *c)
{
    c->events_max_age_ms = 0;
    c->alerts_max_age_ms = 0;
    c->events_max_percent = 0;
    c->events_max_bytes = 2u << 20; /* 2 MiB */
    c->retention_batch = 500;
}

static void test_retention_size(void **state)
{
    (void)state;
    struct fx *f = fx_new(sized);
    int64_t now = srv_wall_ms();
    exec_ok(f->s, "BEGIN");
    sqlite3_stmt *ins = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->s->st.db,
                                        "INSERT INTO events(host_id, seq, time, received, kind, body)"
                                        " VALUES ('h-1', ?1, 0, ?2, 'k', printf('%.1000c', 'x'))",
                                        -1, &ins, NULL),
                     SQLITE_OK);
    for (int i = 1; i <= 8000; i++) { /* ~8 MiB */
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_int64(ins, 2, now);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec_ok(f->s, "INSERT INTO alerts(host_id, time, kind, severity, summary) VALUES"
                  " ('h-1', 1, 'a', 'high', 'ancient')");
    exec_ok(f->s, "COMMIT");
    run_pass(f);
    int64_t used = (int64_t)count(f->s, "SELECT (SELECT page_count FROM pragma_page_count()) -"
                                        " (SELECT freelist_count FROM pragma_freelist_count())") *
                   count(f->s, "PRAGMA page_size");
    assert_true(used <= 2 << 20);
    int left = count(f->s, "SELECT count(*) FROM events");
    assert_true(left > 0 && left < 2100);
    assert_int_equal(count(f->s, "SELECT max(seq) FROM events"), 8000); /* the oldest went */
    assert_int_equal(count(f->s, "SELECT count(*) FROM alerts"), 1);   /* never by size */
    /* a new database returns freed pages to the filesystem */
    assert_int_equal(count(f->s, "PRAGMA auto_vacuum"), 2);
    assert_true(count(f->s, "PRAGMA freelist_count") < 2048);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_check),    cmocka_unit_test(test_item),
        cmocka_unit_test(test_batched_write),  cmocka_unit_test(test_admission),
        cmocka_unit_test(test_retention_age),  cmocka_unit_test(test_retention_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
