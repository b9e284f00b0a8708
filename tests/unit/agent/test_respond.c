/* test_respond.c - the agent's command bookkeeping: the ledger (each id
 * recorded before and after it runs, read back after a reopen), a repeated
 * id answered from the ledger without running again, a command the agent
 * died in the middle of never run again, malformed commands failed with a
 * reason; long commands in workers (a repeat while running is not run again,
 * at most RESPOND_INFLIGHT_MAX, then "busy", each result once, recorded);
 * pruning by age and count, and old commands refused;
 * and the isolation ruleset text and resolv.conf parsing (no
 * nftables call: these tests change no firewall). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#define _XOPEN_SOURCE_EXTENDED 1
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ledger.h"
#include "agent/respond.h"
#include "core/err.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/mamori-agenttest.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmdir_tmp(char *d)
{
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static struct json_object *command(const char *id, const char *action, const char *key,
                                   const char *arg)
{
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "id", json_object_new_string(id));
    json_object_object_add(j, "action", json_object_new_string(action));
    if (key)
        json_object_object_add(j, key, json_object_new_string(arg));
    return j;
}

static void test_ledger(void **state)
{
    char *dir = mkdir_tmp();
    struct ledger l;
    assert_int_equal(ledger_open(&l, dir), 0);
    char msg[CMD_MSG_MAX], action[16];
    const char *id = "c-00112233445566aa";
    assert_int_equal(ledger_lookup(&l, id, msg, action), LEDGER_NONE);
    assert_int_equal(ledger_begin(&l, id, "kill"), 0);
    assert_int_equal(ledger_lookup(&l, id, msg, action), LEDGER_RUNNING);
    assert_int_equal(ledger_finish(&l, id, "kill", true, "killed \"x\"\n"), 0);
    struct ledger l2; /* a new agent process */
    assert_int_equal(ledger_open(&l2, dir), 0);
    assert_int_equal(ledger_lookup(&l2, id, msg, action), LEDGER_OK);
    assert_string_equal(msg, "killed \"x\"\n");
    assert_string_equal(action, "kill");
    /* ids become file names only when they are ids */
    assert_int_equal(ledger_begin(&l, "../x", "kill"), MAMORI_EINVAL);
    assert_int_equal(ledger_lookup(&l, "../x", msg, NULL), LEDGER_RUNNING);
    /* a damaged record counts as "do not run again" */
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/commands/c-00112233445566bb.json", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{\"state\":", f);
    fclose(f);
    assert_int_equal(ledger_lookup(&l, "c-00112233445566bb", msg, NULL), LEDGER_RUNNING);
    rmdir_tmp(dir);
}

/* The next worker result (up to 10 s). */
static void wait_result(struct respond_ctx *r, struct respond_out *out)
{
    for (int i = 0; i < 1000; i++) {
        if (respond_poll(r, out))
            return;
        usleep(10000);
    }
    fail_msg("no worker result in 10 s");
}

/* Long commands run in workers: a repeat while one runs is not run again
 * (pending, one result); at most RESPOND_INFLIGHT_MAX at once, then "busy";
 * results are kept until polled and recorded in the ledger. */
static void test_workers(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct respond_ctx *r = calloc(1, sizeof *r);
    char err[256];
    assert_int_equal(respond_init(r, dir, err, sizeof err), 0);
    r->test_delay_ms = 300; /* each restore takes 300 ms */
    r->vaults[0] = dir;      /* not a vault: the restore fails, after the delay */
    r->nvaults = 1;
    struct respond_out out;
    char id[CMD_ID_MAX];
    for (int i = 0; i < RESPOND_INFLIGHT_MAX; i++) {
        snprintf(id, sizeof id, "c-10000000000000%02u", (unsigned)i % 100u);
        struct json_object *c = command(id, "restore", "alert", "a-1");
        respond_command(r, c, &out);
        assert_true(out.pending);
        json_object_put(c);
    }
    assert_int_equal(respond_inflight(r), RESPOND_INFLIGHT_MAX);
    /* the first again while it runs: pending, not a second run */
    struct json_object *c = command("c-1000000000000000", "restore", "alert", "a-1");
    respond_command(r, c, &out);
    assert_true(out.pending);
    json_object_put(c);
    /* one more: busy, answered at once and recorded */
    c = command("c-10000000000000ff", "restore", "alert", "a-1");
    respond_command(r, c, &out);
    assert_false(out.pending);
    assert_false(out.ok);
    assert_non_null(strstr(out.message, "busy"));
    assert_int_equal(ledger_lookup(&r->ledger, "c-10000000000000ff", NULL, NULL), LEDGER_FAILED);
    json_object_put(c);
    bool seen[RESPOND_INFLIGHT_MAX] = {false};
    for (int i = 0; i < RESPOND_INFLIGHT_MAX; i++) {
        wait_result(r, &out);
        unsigned k = (unsigned)strtoul(out.id + 16, NULL, 16);
        assert_true(k < RESPOND_INFLIGHT_MAX);
        assert_false(seen[k]);
        seen[k] = true;
        assert_false(out.ok);
        assert_string_equal(out.action, "restore");
        assert_int_equal(ledger_lookup(&r->ledger, out.id, NULL, NULL), LEDGER_FAILED);
    }
    assert_int_equal(respond_poll(r, &out), 0); /* one result each */
    assert_int_equal(respond_inflight(r), 0);
    /* done and answered: a repeat is answered from the ledger */
    c = command("c-1000000000000000", "restore", "alert", "a-1");
    respond_command(r, c, &out);
    assert_true(out.repeat);
    json_object_put(c);
    /* a worker left running at the end is waited for */
    c = command("c-1000000000000010", "restore", "alert", "a-1");
    respond_command(r, c, &out);
    assert_true(out.pending);
    json_object_put(c);
    respond_finish(r);
    assert_int_equal(ledger_lookup(&r->ledger, "c-1000000000000010", NULL, NULL), LEDGER_FAILED);
    free(r);
    rmdir_tmp(dir);
}

/* Set the mtime of DIR/commands/NAME to now_ms - age_ms. */
static void age(const char *dir, const char *name, int64_t now_ms, int64_t age_ms)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/commands/%s", dir, name);
    int64_t t = now_ms - age_ms;
    struct timespec ts[2] = {{t / 1000, (t % 1000) * 1000000}, {t / 1000, (t % 1000) * 1000000}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* Pruning: finished records past the age go, a running one stays, stale
 * temporary files go; past the count bound the oldest finished records
 * older than the run window go, not younger ones; a command issued before
 * the run window is refused (so a pruned id never runs again). */
static void test_prune(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct ledger l;
    assert_int_equal(ledger_open(&l, dir), 0);
    const int64_t day = 86400000, now = (int64_t)time(NULL) * 1000;
    char id[CMD_ID_MAX], name[64];
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof id, "c-20000000000000%02u", (unsigned)i % 100u);
        assert_int_equal(ledger_finish(&l, id, "kill", true, "done"), 0);
        snprintf(name, sizeof name, "%s.json", id);
        age(dir, name, now, i < 2 ? 31 * day : (20 - i) * day); /* 0,1: 31 d; 2..11: 18..9 d */
    }
    assert_int_equal(ledger_begin(&l, "c-20000000000000aa", "restore"), 0); /* running, old */
    age(dir, "c-20000000000000aa.json", now, 40 * day);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/commands/c-20000000000000bb.json.tmp", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    age(dir, "c-20000000000000bb.json.tmp", now, 2 * 3600 * 1000);
    /* by age: the two 31-day records */
    assert_int_equal(ledger_prune(&l, now, LEDGER_KEEP_MS, LEDGER_KEEP_COUNT,
                                  LEDGER_RUN_WINDOW_MS), 2);
    assert_int_equal(ledger_lookup(&l, "c-2000000000000000", NULL, NULL), LEDGER_NONE);
    assert_int_equal(ledger_lookup(&l, "c-2000000000000002", NULL, NULL), LEDGER_OK);
    assert_int_equal(ledger_lookup(&l, "c-20000000000000aa", NULL, NULL), LEDGER_RUNNING);
    assert_int_equal(access(p, F_OK), -1);
    /* by count: 10 finished + 1 running kept, bound 4, window 15 days: only
     * the finished ones older than 15 days (18, 17, 16 days) go */
    assert_int_equal(ledger_prune(&l, now, LEDGER_KEEP_MS, 4, 15 * day), 3);
    assert_int_equal(ledger_lookup(&l, "c-2000000000000004", NULL, NULL), LEDGER_NONE);
    assert_int_equal(ledger_lookup(&l, "c-2000000000000005", NULL, NULL), LEDGER_OK);
    assert_int_equal(ledger_lookup(&l, "c-20000000000000aa", NULL, NULL), LEDGER_RUNNING);
    assert_int_equal(ledger_prune(&l, now, LEDGER_KEEP_MS, 4, 15 * day), 0);

    /* an id whose record was pruned, sent again with its old issue time */
    struct respond_ctx *r = calloc(1, sizeof *r);
    char err[256];
    assert_int_equal(respond_init(r, dir, err, sizeof err), 0);
    struct json_object *c = command("c-2000000000000000", "kill", "actor", "ffffffffffffffff-1-1");
    json_object_object_add(c, "issued_ms", json_object_new_int64(now - 31 * day));
    struct respond_out out;
    respond_command(r, c, &out);
    assert_false(out.pending);
    assert_false(out.ok);
    assert_non_null(strstr(out.message, "issued 31 days ago: a command older than 7 days is not run"));
    json_object_put(c);
    free(r);
    rmdir_tmp(dir);
}

static void test_runs_once(void **state)
{
    char *dir = mkdir_tmp();
    struct respond_ctx *r = calloc(1, sizeof *r);
    char err[256];
    assert_int_equal(respond_init(r, dir, err, sizeof err), 0);
    struct respond_out out;

    /* isolate without a connection to keep open fails before any nftables call */
    struct json_object *c = command("c-0000000000000001", "isolate", NULL, NULL);
    respond_command(r, c, &out);
    assert_string_equal(out.id, "c-0000000000000001");
    assert_false(out.ok);
    assert_false(out.repeat);
    assert_string_equal(out.message, "isolate: the server's address is unknown");
    respond_command(r, c, &out); /* the same id again: the recorded answer */
    assert_true(out.repeat);
    assert_false(out.ok);
    assert_string_equal(out.message, "isolate: the server's address is unknown");
    json_object_put(c);

    /* malformed arguments and unknown actions fail with a reason, once */
    c = command("c-0000000000000002", "kill", "actor", "not-a-key");
    respond_command(r, c, &out);
    assert_false(out.ok);
    assert_non_null(strstr(out.message, "actor key BOOT-PID-START (this one is malformed)"));
    json_object_put(c);
    c = command("c-0000000000000003", "reboot", NULL, NULL);
    respond_command(r, c, &out);
    assert_false(out.ok);
    assert_non_null(strstr(out.message, "unknown action 'reboot'"));
    json_object_put(c);
    c = command("c-0000000000000004", "restore", NULL, NULL);
    respond_command(r, c, &out);
    assert_non_null(strstr(out.message, "restore needs an alert id (none given)"));
    json_object_put(c);
    /* kill of an actor from another boot: refused without signalling (a kill
     * runs in a worker: its result comes through respond_poll) */
    c = command("c-0000000000000005", "kill", "actor", "ffffffffffffffff-1-1");
    respond_command(r, c, &out);
    assert_true(out.pending);
    wait_result(r, &out);
    assert_string_equal(out.id, "c-0000000000000005");
    assert_false(out.ok);
    assert_false(out.pending);
    assert_non_null(strstr(out.message, "is from another boot"));
    json_object_put(c);

    /* the agent died while running a command: it is not run again */
    assert_int_equal(ledger_begin(&r->ledger, "c-0000000000000006", "isolate"), 0);
    c = command("c-0000000000000006", "isolate", NULL, NULL);
    respond_command(r, c, &out);
    assert_false(out.ok);
    assert_true(out.repeat);
    assert_non_null(strstr(out.message, "it is not run again"));
    respond_command(r, c, &out); /* and that answer is now recorded */
    assert_true(out.repeat);
    assert_int_equal(ledger_lookup(&r->ledger, "c-0000000000000006", NULL, NULL), LEDGER_FAILED);
    json_object_put(c);

    /* no valid id: nothing to answer */
    c = command("c-XYZ", "isolate", NULL, NULL);
    respond_command(r, c, &out);
    assert_string_equal(out.id, "");
    json_object_put(c);
    free(r);
    rmdir_tmp(dir);
}

static void test_ruleset(void **state)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(7447);
    inet_pton(AF_INET, "192.0.2.10", &a->sin_addr);
    const char *res[] = {"198.51.100.53", "2001:db8::53"};
    char buf[ISOLATE_RULES_MAX];
    int n = isolate_ruleset(&ss, res, 2, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "table inet mamori_isolate\ndelete table inet mamori_isolate\n"));
    assert_non_null(strstr(buf, "type filter hook input priority -300; policy drop;"));
    assert_non_null(strstr(buf, "type filter hook output priority -300; policy drop;"));
    assert_non_null(strstr(buf, "type filter hook forward priority -300; policy drop;"));
    assert_non_null(strstr(buf, "iif \"lo\" accept"));
    assert_non_null(strstr(buf, "ip saddr 192.0.2.10 tcp sport 7447 accept"));
    assert_non_null(strstr(buf, "ip daddr 192.0.2.10 tcp dport 7447 accept"));
    assert_non_null(strstr(buf, "ip daddr 198.51.100.53 udp dport 53 accept"));
    assert_non_null(strstr(buf, "ip6 saddr 2001:db8::53 tcp sport 53 accept"));
    assert_int_equal(isolate_ruleset(&ss, res, 2, buf, 100), MAMORI_EFULL);
    struct sockaddr_storage none = {0};
    assert_int_equal(isolate_ruleset(&none, res, 0, buf, sizeof buf), MAMORI_EINVAL);

    char p[] = "/tmp/mamori-resolv.XXXXXX";
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    const char *conf = "# comment\nsearch example.com\nnameserver 10.0.0.53\n"
                       "nameserver fe80::1%eth0\nnameserver not-an-address\n"
                       "  nameserver\t2001:db8::1\nnameserver 10.0.0.54\n";
    assert_int_equal(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
    close(fd);
    char got[RESOLVERS_MAX][64];
    assert_int_equal(isolate_resolvers(p, got, RESOLVERS_MAX), 3);
    assert_string_equal(got[0], "10.0.0.53");
    assert_string_equal(got[1], "2001:db8::1");
    assert_string_equal(got[2], "10.0.0.54");
    assert_int_equal(isolate_resolvers(p, got, 2), 2);
    assert_int_equal(isolate_resolvers("/nonexistent/resolv.conf", got, 2), 0);
    unlink(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_runs_once),
        cmocka_unit_test(test_workers),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_ruleset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
