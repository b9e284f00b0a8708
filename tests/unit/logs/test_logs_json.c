/* test_logs_json.c - the JSON reader on events written here (Winlogbeat,
 * NXLog, ECS nested, arrays, concatenated pretty-printed objects, damage)
 * and on the SigmaHQ regression data: each .json beside an .evtx gives the
 * same values as the EVTX reader for every field both have
 * (MAMORI_SIGMA_REGRESSION, else ../shared/data/sigma/regression_data;
 * skipped with a message when absent). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/err.h"
#include "logs_test.h"

static struct lg_reader *open_text(const char *text, struct lt_errs *e)
{
    struct lg_reader *r = lg_reader_new();
    assert_non_null(r);
    struct lg_opts o = {.on_error = lt_collect, .ctx = e, .format = LG_JSON};
    assert_int_equal(lg_open_mem(r, text, strlen(text), "t.json", &o), 0);
    return r;
}

static void test_winlogbeat(void **state)
{
    const char *t =
        "{\"@timestamp\":\"2024-05-01T10:00:01.500Z\",\"event\":{\"code\":\"1\",\"kind\":\"event\"},"
        "\"winlog\":{\"channel\":\"Microsoft-Windows-Sysmon/Operational\",\"event_id\":1,"
        "\"computer_name\":\"WS1.corp.local\",\"provider_name\":\"Microsoft-Windows-Sysmon\","
        "\"record_id\":42,\"event_data\":{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\","
        "\"CommandLine\":\"cmd.exe /c whoami\",\"ProcessId\":\"4242\"}},"
        "\"host\":{\"name\":\"ws1\",\"ip\":[\"10.0.0.1\",\"fe80::1\"]},\"ratio\":0.50,"
        "\"ok\":true,\"none\":null,\"tags\":[]}\n";
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e);
    const struct sg_event *ev;
    assert_int_equal(lg_next(r, &ev), 1);
    assert_field(ev, "winlog.event_data.Image", "C:\\Windows\\System32\\cmd.exe");
    assert_field(ev, "Image", "C:\\Windows\\System32\\cmd.exe");
    assert_field(ev, "CommandLine", "cmd.exe /c whoami");
    assert_field(ev, "Channel", "Microsoft-Windows-Sysmon/Operational");
    assert_field(ev, "EventID", "1");
    assert_field(ev, "winlog.event_id", "1");
    assert_field(ev, "Computer", "WS1.corp.local");
    assert_field(ev, "host.ip", "10.0.0.1,fe80::1");
    assert_field(ev, "ratio", "0.50");
    assert_field(ev, "ok", "true");
    assert_null(lt_get(ev, "none"));
    assert_null(lt_get(ev, "tags"));
    assert_string_equal(lt_str(&ev->channel), "Microsoft-Windows-Sysmon/Operational");
    assert_string_equal(lt_str(&ev->computer), "WS1.corp.local");
    assert_string_equal(lt_str(&ev->provider), "Microsoft-Windows-Sysmon");
    assert_true(ev->has_event_id);
    assert_int_equal(ev->event_id, 1);
    assert_int_equal(ev->time_ns, 1714557601500000000LL);
    assert_int_equal(ev->record, 1);
    assert_string_equal(ev->source, "t.json");
    assert_int_equal(lg_next(r, &ev), 0);
    assert_int_equal(e.n, 0);
    lg_reader_free(r);
}

static void test_nxlog_and_ecs(void **state)
{
    const char *t =
        "{\"EventTime\":\"2024-05-01 10:00:02\",\"Hostname\":\"dc1.corp.local\",\"EventID\":4624,"
        "\"SourceName\":\"Microsoft-Windows-Security-Auditing\",\"Channel\":\"Security\","
        "\"TargetUserName\":\"admin\",\"LogonType\":10,\"IpAddress\":\"192.0.2.7\"}\n"
        "\n"
        "{\"@timestamp\":\"2024-05-01T12:00:00+02:00\",\"process\":{\"command_line\":\"vssadmin "
        "delete shadows /all\",\"parent\":{\"name\":\"cmd.exe\"},\"args\":[\"vssadmin\",\"delete\"]},"
        "\"user\":{\"name\":\"bob\"},\"files\":[{\"path\":\"/a\"},{\"path\":\"/b\"}]}\n";
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e);
    const struct sg_event *ev;
    assert_int_equal(lg_next(r, &ev), 1);
    assert_field(ev, "TargetUserName", "admin");
    assert_field(ev, "LogonType", "10");
    assert_string_equal(lt_str(&ev->channel), "Security");
    assert_string_equal(lt_str(&ev->computer), "dc1.corp.local");
    assert_string_equal(lt_str(&ev->provider), "Microsoft-Windows-Security-Auditing");
    assert_int_equal(ev->event_id, 4624);
    assert_int_equal(ev->time_ns, 1714557602000000000LL);
    assert_int_equal(ev->record, 1);
    assert_int_equal(lg_next(r, &ev), 1);
    assert_int_equal(ev->record, 3);
    assert_field(ev, "process.command_line", "vssadmin delete shadows /all");
    assert_field(ev, "process.parent.name", "cmd.exe");
    assert_field(ev, "process.args", "vssadmin,delete");
    assert_int_equal(lt_count(ev, "files.path"), 2);
    assert_false(ev->has_event_id);
    assert_null(ev->channel.s);
    assert_int_equal(ev->time_ns, 1714557600000000000LL);
    assert_int_equal(lg_next(r, &ev), 0);
    assert_int_equal(e.n, 0);
    lg_reader_free(r);
}

static void test_array_and_pretty(void **state)
{
    const char *t = "[\n  {\"a\": 1},\n  {\"a\": 2,\n   \"b\": {\"c\": \"x\"}}\n]\n"
                    "{\n  \"a\": 3\n}\n{\"a\": 4}{\"a\": 5}\n";
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e);
    const struct sg_event *ev;
    const char *want[] = {"1", "2", "3", "4", "5"};
    uint64_t lines[] = {2, 3, 6, 9, 9};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(lg_next(r, &ev), 1);
        assert_field(ev, "a", want[i]);
        assert_int_equal(ev->record, lines[i]);
    }
    assert_int_equal(lg_next(r, &ev), 0);
    assert_int_equal(e.n, 0);
    assert_int_equal(lg_stats(r)->events, 5);
    lg_reader_free(r);
}

static void test_damage(void **state)
{
    const char *t = "{\"a\": 1}\n"
                    "{\"a\": 2, broken\n"
                    "{\"a\": 3}\n"
                    "42\n"
                    "{\"a\": \"\xff\"}\n"
                    "{\"a\": 4}\n"
                    "{\"a\": 5, \"deep\":";
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e);
    const struct sg_event *ev;
    const char *want[] = {"1", "3", "4"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lg_next(r, &ev), 1);
        assert_field(ev, "a", want[i]);
    }
    assert_int_equal(lg_next(r, &ev), 0);
    assert_int_equal(e.n, 4);
    assert_int_equal(e.where[0], 2);
    assert_non_null(strstr(e.reason[0], "t.json:2: invalid JSON"));
    assert_int_equal(e.where[1], 4);
    assert_non_null(strstr(e.reason[1], "not an object"));
    assert_int_equal(e.where[2], 5);
    assert_int_equal(e.where[3], 7);
    assert_non_null(strstr(e.reason[3], "end of the file"));
    assert_int_equal(lg_stats(r)->lost, 4);
    lg_reader_free(r);
}

static void test_oversized(void **state)
{
    size_t big = LG_LINE_MAX + 100;
    char *t = malloc(big + 64);
    assert_non_null(t);
    strcpy(t, "{\"a\": \"");
    memset(t + 7, 'x', big);
    strcpy(t + 7 + big, "\"}\n{\"a\": 2}\n");
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e);
    const struct sg_event *ev;
    assert_int_equal(lg_next(r, &ev), 1);
    assert_field(ev, "a", "2");
    assert_int_equal(ev->record, 2);
    assert_int_equal(lg_next(r, &ev), 0);
    assert_int_equal(e.n, 1);
    assert_non_null(strstr(e.reason[0], "longer than"));
    lg_reader_free(r);
    free(t);
}

/* ------------------------------------------------ regression data -- */

static const char *regression_dir(void)
{
    const char *d = getenv("MAMORI_SIGMA_REGRESSION");
    if (!d)
        d = "../shared/data/sigma/regression_data";
    struct stat sb;
    return stat(d, &sb) == 0 && S_ISDIR(sb.st_mode) ? d : NULL;
}

struct cmp {
    struct lg_reader *je, *ee;
    unsigned files, compared, events, fields, bad, case_only;
};

/* Values as the EVTX parser renders them vs the JSON exporter's text. */
static size_t trimmed(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == '\t'))
        n--;
    return n;
}

static bool same_value(const char *name, const char *ev, const char *js)
{
    if (!strcmp(ev, js))
        return true;
    if (trimmed(ev) == trimmed(js) && !strncmp(ev, js, trimmed(ev)))
        return true; /* the exporter trims trailing white space */
    if (!strcmp(name, "TimeCreated_SystemTime")) { /* 7 digits vs 6 (cut) or 9 */
        size_t a = strcspn(ev, "Z"), b = strcspn(js, "Z");
        while (a > 0 && ev[a - 1] == '0')
            a--;
        while (b > 0 && js[b - 1] == '0')
            b--;
        return b <= a && b > 20 && !strncmp(ev, js, b);
    }
    size_t n = strlen(js);
    /* GUIDs: the parser renders {GUID} as Windows does, the exporter GUID. */
    return strlen(ev) == n + 2 && ev[0] == '{' && !strncasecmp(ev + 1, js, n);
    return false;
}

/* One JSON event against the record of the same id in the .evtx. */
static void compare_event(struct cmp *c, const struct sg_event *j, const char *json,
                          const char *evtx)
{
    struct lt_errs e2 = {0};
    struct lg_opts o2 = {.on_error = lt_collect, .ctx = &e2};
    assert_int_equal(lg_open(c->ee, evtx, &o2), 0);
    const char *rid = lt_get(j, "EventRecordID");
    assert_non_null(rid);
    const struct sg_event *x;
    bool found = false;
    while (!found && lg_next(c->ee, &x) > 0) {
        const char *xr = lt_get(x, "EventRecordID");
        if (!xr || strcmp(xr, rid))
            continue;
        found = true;
        for (uint32_t i = 0; i < x->nfields; i++) {
            const char *name = x->fields[i].name.s;
            const char *jv = lt_get(j, name);
            if (!jv)
                continue;
            if (!same_value(name, x->fields[i].value.s, jv) &&
                !strcasecmp(x->fields[i].value.s, jv)) {
                /* One .json holds Explorer.exe where its .evtx (and evtxexport)
                 * say Explorer.EXE: the data differs, not the readers. */
                c->case_only++;
                continue;
            }
            if (!same_value(name, x->fields[i].value.s, jv) && ++c->bad <= 10)
                print_message("%s: %s: evtx \"%s\" json \"%s\"\n", json, name,
                              x->fields[i].value.s, jv);
            c->fields++;
        }
        assert_string_equal(lt_str(&j->channel), lt_str(&x->channel));
        assert_string_equal(lt_str(&j->computer), lt_str(&x->computer));
        assert_string_equal(lt_str(&j->provider), lt_str(&x->provider));
        assert_int_equal(j->event_id, x->event_id);
        assert_true(j->time_ns != SG_TIME_UNKNOWN);
    }
    if (!found)
        fail_msg("%s: record %s not in %s", json, rid, evtx);
    lg_close(c->ee);
}

static void compare_pair(struct cmp *c, const char *json, const char *evtx)
{
    struct lt_errs e1 = {0};
    struct lg_opts o1 = {.on_error = lt_collect, .ctx = &e1};
    assert_int_equal(lg_open(c->je, json, &o1), 0);
    assert_int_equal(lg_stats(c->je)->format, LG_JSON);
    const struct sg_event *j;
    while (lg_next(c->je, &j) > 0) {
        compare_event(c, j, json, evtx);
        c->events++;
    }
    assert_int_equal(e1.n, 0);
    c->compared++;
    lg_close(c->je);
}

static void walk(struct cmp *c, const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4096], q[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(p, &sb) < 0)
            continue;
        size_t n = strlen(p);
        if (S_ISDIR(sb.st_mode)) {
            walk(c, p);
        } else if (n > 5 && !strcmp(p + n - 5, ".json")) {
            c->files++;
            snprintf(q, sizeof q, "%.*s.evtx", (int)(n - 5), p);
            if (stat(q, &sb) == 0)
                compare_pair(c, p, q);
        }
    }
    closedir(d);
}

static void test_regression_json_as_evtx(void **state)
{
    const char *dir = regression_dir();
    if (!dir) {
        print_message("sigma regression data not found (set MAMORI_SIGMA_REGRESSION): skipped\n");
        skip();
    }
    struct cmp c = {.je = lg_reader_new(), .ee = lg_reader_new()};
    walk(&c, dir);
    print_message("%u .json files, %u compared with their .evtx (%u events), %u field values "
                  "equal, %u differ in letter case only\n", c.files, c.compared, c.events, c.fields,
                  c.case_only);
    assert_true(c.compared > 0);
    assert_int_equal(c.bad, 0);
    assert_true(c.case_only <= 1);
    lg_reader_free(c.je);
    lg_reader_free(c.ee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winlogbeat),
        cmocka_unit_test(test_nxlog_and_ecs),
        cmocka_unit_test(test_array_and_pretty),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_regression_json_as_evtx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
