/* test_logs_evtx.c - the log reader's dispatcher and its EVTX adapter.
 *
 * Every file of the EVTX attack samples (MAMORI_EVTX_SAMPLES, else
 * ../shared/data/evtx-attack-samples from the repository root; skipped with
 * a message when absent) is read twice, once by the EVTX parser and once
 * through lg_open: the same number of events as records, the same errors,
 * and each event holds every present System slot under its name, then the
 * record's fields by pointer. Also: sniffing, unknown and unreadable files. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "evtx/evtx.h"
#include "logs/logs.h"

struct errs {
    unsigned n;
    uint64_t lost;
    char last[512];
    uint64_t where;
};

static void collect(void *ctx, const struct lg_error *e)
{
    struct errs *x = ctx;
    assert_non_null(e->reason);
    assert_non_null(e->file);
    x->n++;
    x->lost += e->lost;
    x->where = e->where;
    snprintf(x->last, sizeof x->last, "%s", e->reason);
}

static void count_evtx(void *ctx, const struct evtx_error *e)
{
    (*(unsigned *)ctx)++;
}

static const char *samples_dir(void)
{
    const char *d = getenv("MAMORI_EVTX_SAMPLES");
    if (!d)
        d = "../shared/data/evtx-attack-samples";
    struct stat sb;
    return stat(d, &sb) == 0 && S_ISDIR(sb.st_mode) ? d : NULL;
}

/* The adapter on one file against the parser itself. */
static void compare_file(struct lg_reader *lr, struct evtx_reader *er, const char *path,
                         uint64_t *events)
{
    unsigned perr = 0;
    struct evtx_opts eo = {.on_error = count_evtx, .ctx = &perr};
    struct errs le = {0};
    struct lg_opts lo = {.on_error = collect, .ctx = &le};
    assert_int_equal(evtx_open_file(er, path, &eo), 0);
    assert_int_equal(lg_open(lr, path, &lo), 0);
    assert_int_equal(lg_stats(lr)->format, LG_EVTX);
    const struct evtx_record *rec;
    const struct sg_event *ev;
    while (evtx_next(er, &rec) > 0) {
        assert_int_equal(lg_next(lr, &ev), 1);
        assert_int_equal(ev->record, rec->record_id);
        assert_int_equal(ev->has_event_id, rec->has_event_id);
        assert_int_equal(ev->event_id, rec->event_id);
        uint32_t nsys = 0;
        for (int i = 0; i < EVTX_SYS_COUNT; i++) {
            if (!rec->sys[i].s)
                continue;
            assert_string_equal(ev->fields[nsys].name.s, evtx_sys_name((enum evtx_sys)i));
            assert_int_equal(ev->fields[nsys].name.len, strlen(evtx_sys_name((enum evtx_sys)i)));
            assert_string_equal(ev->fields[nsys].value.s, rec->sys[i].s);
            nsys++;
        }
        assert_int_equal(ev->nfields, nsys + rec->nfields);
        for (uint32_t i = 0; i < rec->nfields; i++) {
            assert_string_equal(ev->fields[nsys + i].name.s, rec->fields[i].name.s);
            assert_string_equal(ev->fields[nsys + i].value.s, rec->fields[i].value.s);
        }
        if (rec->sys[EVTX_SYS_CHANNEL].s)
            assert_string_equal(ev->channel.s, rec->sys[EVTX_SYS_CHANNEL].s);
        if (rec->sys[EVTX_SYS_COMPUTER].s)
            assert_string_equal(ev->computer.s, rec->sys[EVTX_SYS_COMPUTER].s);
        if (rec->sys[EVTX_SYS_PROVIDER_NAME].s)
            assert_string_equal(ev->provider.s, rec->sys[EVTX_SYS_PROVIDER_NAME].s);
        assert_true(ev->time_ns != SG_TIME_UNKNOWN || rec->filetime == 0);
        if (rec->filetime)
            assert_int_equal(ev->time_ns, rec->time_ns);
        assert_string_equal(ev->source, path);
        (*events)++;
    }
    assert_int_equal(lg_next(lr, &ev), 0);
    assert_int_equal(le.n, perr);
    assert_int_equal(lg_stats(lr)->events, evtx_stats(er)->records);
    assert_int_equal(lg_stats(lr)->lost, evtx_stats(er)->lost);
    assert_int_equal(lg_stats(lr)->bytes, evtx_stats(er)->bytes);
    evtx_close(er);
    lg_close(lr);
}

static void walk(struct lg_reader *lr, struct evtx_reader *er, const char *dir, unsigned *files,
                 uint64_t *events)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(p, &sb) < 0)
            continue;
        size_t n = strlen(p);
        if (S_ISDIR(sb.st_mode))
            walk(lr, er, p, files, events);
        else if (n > 5 && !strcmp(p + n - 5, ".evtx")) {
            compare_file(lr, er, p, events);
            (*files)++;
        }
    }
    closedir(d);
}

static void test_samples_as_parser(void **state)
{
    const char *dir = samples_dir();
    if (!dir) {
        print_message("evtx samples not found (set MAMORI_EVTX_SAMPLES): skipped\n");
        skip();
    }
    struct lg_reader *lr = lg_reader_new();
    struct evtx_reader *er = evtx_reader_new();
    assert_non_null(lr);
    assert_non_null(er);
    unsigned files = 0;
    uint64_t events = 0;
    walk(lr, er, dir, &files, &events);
    print_message("%u files, %llu events\n", files, (unsigned long long)events);
    assert_true(files > 0);
    evtx_reader_free(er);
    lg_reader_free(lr);
}

static void test_sniff(void **state)
{
    assert_int_equal(lg_sniff("ElfFile\0xx", 10, NULL), LG_EVTX);
    assert_int_equal(lg_sniff("  \n{\"a\":1}", 10, NULL), LG_JSON);
    assert_int_equal(lg_sniff("[{}]", 4, NULL), LG_JSON);
    const char *a = "type=SYSCALL msg=audit(1700000000.123:456): arch=c000003e";
    assert_int_equal(lg_sniff(a, strlen(a), NULL), LG_AUDITD);
    const char *an = "node=web1 type=EXECVE msg=audit(1700000000.123:456): argc=1";
    assert_int_equal(lg_sniff(an, strlen(an), NULL), LG_AUDITD);
    const char *b = "Dec  2 15:15:17 host sshd[12]: hello\n";
    assert_int_equal(lg_sniff(b, strlen(b), NULL), LG_SYSLOG);
    const char *c = "2026-12-02T15:15:17.123456+09:00 host sshd[12]: hello";
    assert_int_equal(lg_sniff(c, strlen(c), NULL), LG_SYSLOG);
    const char *d = "<34>1 2026-12-02T15:15:17.003Z host su - ID47 - msg";
    assert_int_equal(lg_sniff(d, strlen(d), NULL), LG_SYSLOG);
    assert_int_equal(lg_sniff("hello world", 11, NULL), LG_AUTO);
    assert_int_equal(lg_sniff("", 0, "x/audit.log"), LG_AUDITD);
    assert_int_equal(lg_sniff("hello", 5, "x.json"), LG_AUTO); /* content wins */
    assert_string_equal(lg_format_name(LG_AUDITD), "auditd");
}

static void test_unknown_and_unreadable(void **state)
{
    struct lg_reader *r = lg_reader_new();
    struct errs e = {0};
    struct lg_opts o = {.on_error = collect, .ctx = &e};
    assert_int_equal(lg_open(r, "/nonexistent/mamori/x.log", &o), MAMORI_ENOENT);
    assert_int_equal(e.n, 1);
    assert_non_null(strstr(e.last, "/nonexistent/mamori/x.log"));
    assert_int_equal(lg_open_mem(r, "hello\nworld\n", 12, "junk.txt", &o), MAMORI_EINVAL);
    assert_int_equal(e.n, 2);
    assert_non_null(strstr(e.last, "junk.txt"));
    assert_non_null(strstr(e.last, "unknown log format"));
    const struct sg_event *ev;
    assert_int_equal(lg_next(r, &ev), 0);
    /* A damaged EVTX header in memory: refused with a reason. */
    char bad[4096] = "ElfFile";
    assert_true(lg_open_mem(r, bad, sizeof bad, "bad.evtx", &o) < 0 || lg_next(r, &ev) == 0);
    assert_true(e.n >= 3);
    lg_close(r);
    lg_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_unknown_and_unreadable),
        cmocka_unit_test(test_samples_as_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
