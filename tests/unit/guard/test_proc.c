/* test_proc.c - what the guard reads from /proc: a real child blocked in
 * open(2) on a FIFO shows whether it asks for write access; the protection
 * rules cover PID 1, ourselves and our ancestors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard/proc.h"

/* A child that opens a FIFO with flags blocks in openat until the other
 * end is opened; returns what proc_opening_for_write saw meanwhile. */
static int probe_open(int flags)
{
    char dir[] = "/tmp/mamori-proc.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/f", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(fifo, flags);
        _exit(fd >= 0 ? 0 : 1);
    }
    int seen = -1;
    for (int i = 0; i < 400 && seen < 0; i++) { /* up to 2 s for the child to block */
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        seen = proc_opening_for_write(pid);
    }
    /* release the child: open the other end */
    int other = open(fifo, ((flags & O_ACCMODE) == O_RDONLY ? O_WRONLY : O_RDONLY) | O_NONBLOCK);
    int status;
    waitpid(pid, &status, 0);
    if (other >= 0)
        close(other);
    unlink(fifo);
    rmdir(dir);
    return seen;
}

static void test_open_for_write_seen(void **state)
{
    assert_int_equal(probe_open(O_WRONLY), PROC_OPEN_WRITE);
}

static void test_open_for_read_seen(void **state)
{
    assert_int_equal(probe_open(O_RDONLY), PROC_OPEN_READ);
}

static void test_open_for_append_seen(void **state)
{
    /* appending cannot change existing bytes; truncating can */
    assert_int_equal(probe_open(O_WRONLY | O_APPEND), PROC_OPEN_APPEND);
    assert_int_equal(probe_open(O_WRONLY | O_APPEND | O_TRUNC), PROC_OPEN_WRITE);
}

static void test_not_in_open(void **state)
{
    /* this process is reading /proc, not opening: no verdict */
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    assert_int_equal(proc_opening_for_write(pid), -1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_read_self_and_rules(void **state)
{
    struct proc_info pi;
    assert_int_equal(proc_read(getpid(), &pi), 0);
    assert_int_equal(pi.ppid, getppid());
    assert_true(strstr(pi.exe, "test_proc") != NULL);
    assert_true(strstr(pi.cmdline, "test_proc") != NULL);
    struct proc_self self;
    proc_self_init(&self);
    assert_true(proc_is_untouchable(&self, &pi)); /* ourselves */
    struct proc_info parent;
    assert_int_equal(proc_read(getppid(), &parent), 0);
    assert_true(proc_is_untouchable(&self, &parent)); /* an ancestor */
    struct proc_info init;
    assert_int_equal(proc_read_stat(1, &init), 0);
    assert_true(proc_is_untouchable(&self, &init)); /* PID 1 */
    assert_true(proc_read(999999999, &pi) < 0);
}

static void test_interpreters(void **state)
{
    assert_true(proc_is_interpreter("/usr/bin/bash"));
    assert_true(proc_is_interpreter("/usr/bin/python3.11"));
    assert_true(proc_is_interpreter("/bin/sh"));
    assert_false(proc_is_interpreter("/usr/bin/gpg"));
    assert_false(proc_is_interpreter("/usr/bin/shred"));
    assert_false(proc_is_interpreter("/opt/pythonista"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_for_write_seen), cmocka_unit_test(test_open_for_read_seen),
        cmocka_unit_test(test_open_for_append_seen),
        cmocka_unit_test(test_not_in_open),         cmocka_unit_test(test_read_self_and_rules),
        cmocka_unit_test(test_interpreters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
