/* test_logs_auditd.c - the auditd reader on logs written here: records of
 * interleaved serials joined, hex values decoded, enriched fields, node=
 * prefixes, EXECVE synthesis (Image, CommandLine, ParentImage from an
 * earlier event), user-space records standing alone, damage skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "core/err.h"
#include "logs_test.h"

/* A bash (pid 500) starts curl (pid 600), whose EXECVE event is interleaved
 * with a USER_CMD of sudo; curl's args are hex (a space in one), long args
 * come in parts; the proctitle is hex with NULs. */
static const char LOG[] =
    "node=web1 type=SYSCALL msg=audit(1700000000.100:10): arch=c000003e syscall=59 success=yes "
    "exit=0 ppid=1 pid=500 auid=1000 uid=1000 gid=1000 euid=1000 ses=3 comm=\"bash\" "
    "exe=\"/usr/bin/bash\" key=(null)\x1d" "ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"alice\"\n"
    "node=web1 type=EXECVE msg=audit(1700000000.100:10): argc=1 a0=\"bash\"\n"
    "node=web1 type=EOE msg=audit(1700000000.100:10): \n"
    "node=web1 type=SYSCALL msg=audit(1700000001.250:11): arch=c000003e syscall=59 success=yes "
    "exit=0 ppid=500 pid=600 auid=1000 uid=0 ses=3 comm=\"curl\" exe=\"/usr/bin/curl\" "
    "key=\"exec\"\x1d" "ARCH=x86_64 UID=\"root\" AUID=\"alice\"\n"
    "node=web1 type=USER_CMD msg=audit(1700000001.260:12): pid=599 uid=1000 auid=1000 ses=3 "
    "msg='cwd=\"/home/alice\" cmd=7375646F202D69 terminal=pts/0 res=success'\x1d" "UID=\"alice\"\n"
    "node=web1 type=EXECVE msg=audit(1700000001.250:11): argc=4 a0=\"curl\" a1=\"-o\" "
    "a2=2F746D702F6120622E7368 a3_len=10 a3[0]=\"http://\" a3[1]=\"x.example\"\n"
    "this line is not an audit record\n"
    "node=web1 type=CWD msg=audit(1700000001.250:11): cwd=\"/tmp\"\n"
    "node=web1 type=PATH msg=audit(1700000001.250:11): item=0 name=\"/usr/bin/curl\" inode=1 "
    "nametype=NORMAL\n"
    "node=web1 type=PROCTITLE msg=audit(1700000001.250:11): "
    "proctitle=6375726C002D6F002F746D702F612062222E7368\n"
    "node=web1 type=EOE msg=audit(1700000001.250:11): \n"
    "type=SYSCALL msg=audit(1700000002.000:13): syscall=2 pid=601 ppid=600 exe=\"/bin/x\"\n";

static void test_joined_events(void **state)
{
    struct lt_errs e = {0};
    struct lg_reader *r = lg_reader_new();
    struct lg_opts o = {.on_error = lt_collect, .ctx = &e};
    assert_int_equal(lg_open_mem(r, LOG, sizeof LOG - 1, "audit.log", &o), 0);
    assert_int_equal(lg_stats(r)->format, LG_AUDITD);
    const struct sg_event *ev;

    assert_int_equal(lg_next(r, &ev), 1); /* bash: serial 10 */
    assert_int_equal(ev->record, 1);
    assert_int_equal(ev->time_ns, 1700000000100000000LL);
    assert_string_equal(lt_str(&ev->channel), "linux/auditd");
    assert_string_equal(lt_str(&ev->provider), "auditd");
    assert_string_equal(lt_str(&ev->computer), "web1");
    assert_false(ev->has_event_id);
    assert_int_equal(lt_count(ev, "type"), 2);
    assert_field(ev, "Image", "/usr/bin/bash");
    assert_field(ev, "CommandLine", "bash");
    assert_field(ev, "User", "alice");
    assert_field(ev, "key", "(null)");
    assert_null(lt_get(ev, "ParentImage"));

    assert_int_equal(lg_next(r, &ev), 1); /* sudo's USER_CMD stands alone */
    assert_int_equal(ev->record, 5);
    assert_field(ev, "type", "USER_CMD");
    assert_field(ev, "cmd", "sudo -i");
    assert_field(ev, "cwd", "/home/alice");
    assert_field(ev, "res", "success");
    assert_field(ev, "UID", "alice");
    assert_null(lt_get(ev, "CommandLine"));

    assert_int_equal(lg_next(r, &ev), 1); /* curl: serial 11, interleaved */
    assert_int_equal(ev->record, 4);
    assert_int_equal(ev->time_ns, 1700000001250000000LL);
    assert_int_equal(lt_count(ev, "type"), 5);
    assert_field(ev, "a2", "/tmp/a b.sh");
    assert_field(ev, "CommandLine", "curl -o /tmp/a b.sh http://x.example");
    assert_field(ev, "Image", "/usr/bin/curl");
    assert_field(ev, "CurrentDirectory", "/tmp");
    assert_field(ev, "ProcessId", "600");
    assert_field(ev, "ParentProcessId", "500");
    assert_field(ev, "ParentImage", "/usr/bin/bash");
    assert_field(ev, "User", "root");
    assert_field(ev, "LogonId", "3");
    assert_field(ev, "proctitle", "curl -o /tmp/a b\".sh");
    assert_field(ev, "name", "/usr/bin/curl");
    assert_field(ev, "key", "exec");

    assert_int_equal(lg_next(r, &ev), 1); /* no EOE: out at the end of file */
    assert_int_equal(ev->record, 12);
    assert_null(ev->computer.s);
    assert_null(lt_get(ev, "CommandLine"));
    assert_int_equal(lg_next(r, &ev), 0);

    assert_int_equal(e.n, 1);
    assert_int_equal(e.where[0], 7);
    assert_non_null(strstr(e.reason[0], "audit.log:7: not an audit record"));
    assert_int_equal(lg_stats(r)->events, 4);
    lg_reader_free(r);
}

/* More than 64 serials open at once: the oldest leave first, none is lost. */
static void test_window(void **state)
{
    size_t cap = 1 << 20, n = 0;
    char *t = malloc(cap);
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(t + n, cap - n,
                              "type=SYSCALL msg=audit(1700000000.000:%d): pid=%d exe=\"/bin/e%d\"\n",
                              i, i, i);
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(t + n, cap - n, "type=EOE msg=audit(1700000000.000:%d): \n", i);
    struct lt_errs e = {0};
    struct lg_reader *r = lg_reader_new();
    struct lg_opts o = {.on_error = lt_collect, .ctx = &e, .format = LG_AUDITD};
    assert_int_equal(lg_open_mem(r, t, n, "many.log", &o), 0);
    const struct sg_event *ev;
    int got = 0;
    while (lg_next(r, &ev) > 0) {
        char want[32];
        snprintf(want, sizeof want, "/bin/e%d", got);
        assert_field(ev, "exe", want);
        got++;
    }
    assert_int_equal(got, 200);
    assert_int_equal(e.n, 0);
    lg_reader_free(r);
    free(t);
}

static void test_garbage(void **state)
{
    const char *t = "type=SYSCALL msg=audit(17:1): a=\"unterminated\n"
                    "type=X msg=audit(1.2:3): k='open msg\n"
                    "type=EXECVE msg=audit(1.2:3): argc=2 a0=ABC a1=\"\" a2[x]=1 =v k= \x1d\x1d\n"
                    "type=EOE msg=audit(9999999999.1:1)\n"
                    "type=Y msg=audit(x:1): a=1\n\xff\xfe\n";
    struct lt_errs e = {0};
    struct lg_reader *r = lg_reader_new();
    struct lg_opts o = {.on_error = lt_collect, .ctx = &e, .format = LG_AUDITD};
    assert_int_equal(lg_open_mem(r, t, strlen(t), "g.log", &o), 0);
    const struct sg_event *ev;
    int n = 0;
    while (lg_next(r, &ev) > 0)
        n++;
    assert_int_equal(n, 2);
    assert_int_equal(e.n, 3);
    lg_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joined_events),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
