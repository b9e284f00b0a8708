/* test_lease.c - the lease plumbing the guard relies on (src/guard/lease.c),
 * against the kernel's real leases on a scratch file. Before the guard lets
 * go of a lease it asks lease_state whether a writer waits on it: a waiting
 * writer (write-open or truncate) must be seen while nothing is written yet,
 * so that its pre-image can be kept first; a lease with nobody waiting, and
 * a lease already gone (a writer may have written), must not be taken for
 * one. Child processes are the writers; break notices come through a real
 * signalfd. Skipped where the kernel refuses leases (lease_probe). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard/lease.h"

#define ORIGINAL "the file as it was before any writer"
#define NOTICE_MS 5000 /* a loaded machine: the break notice comes within this */

struct fixture {
    char dir[64];
    char path[96];
    int dir_fd;
    int fd;    /* read-only, the one leased (as the guard's held fd) */
    int sigfd; /* break notices */
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "/tmp/mamori-lease.XXXXXX");
    if (!mkdtemp(f.dir))
        return -1;
    f.dir_fd = open(f.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    snprintf(f.path, sizeof f.path, "%s/file", f.dir);
    int w = open(f.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f.dir_fd < 0 || w < 0 || write(w, ORIGINAL, strlen(ORIGINAL)) < 0)
        return -1;
    close(w);
    sigset_t set;
    sigemptyset(&set);
    lease_sigset(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    f.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    f.fd = open(f.path, O_RDONLY | O_CLOEXEC);
    if (f.sigfd < 0 || f.fd < 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    lease_release(f->fd);
    close(f->fd);
    close(f->sigfd);
    unlink(f->path);
    close(f->dir_fd);
    rmdir(f->dir);
    return 0;
}

static void need_leases(struct fixture *f)
{
    char why[256];
    if (lease_probe(f->dir_fd, why, sizeof why) < 0) {
        print_message("no leases here (%s): skipped\n", why);
        skip();
    }
}

static void content(struct fixture *f, char *buf, size_t cap)
{
    ssize_t n = pread(f->fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

/* A writer in a child: truncate, or open for writing and write "new";
 * then, with hold_fd, it waits for a byte on the pipe before it exits. */
static pid_t writer(struct fixture *f, bool truncate_it, int hold_fd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (truncate_it)
            _exit(truncate(f->path, 0) == 0 ? 0 : 1);
        int w = open(f->path, O_WRONLY | O_CLOEXEC);
        if (w < 0 || write(w, "new", 3) != 3)
            _exit(1);
        char c;
        if (hold_fd >= 0 && read(hold_fd, &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    return pid;
}

/* Waits for the break notice of f->fd; true when it came. */
static bool break_notice(struct fixture *f)
{
    struct pollfd p = {.fd = f->sigfd, .events = POLLIN};
    if (poll(&p, 1, NOTICE_MS) <= 0)
        return false;
    int fds[8];
    bool overflow;
    size_t n = lease_read_breaks(f->sigfd, fds, 8, &overflow);
    return n == 1 && fds[0] == f->fd && !overflow;
}

static int wait_exit(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_no_lease(void **state)
{
    struct fixture *f = *state;
    need_leases(f);
    assert_int_equal(lease_state(f->fd), LEASE_NONE);
    assert_int_equal(lease_state(-1), LEASE_NONE);
}

static void test_held_nobody_waits(void **state)
{
    struct fixture *f = *state;
    need_leases(f);
    assert_int_equal(lease_place(f->fd), 0);
    assert_int_equal(lease_state(f->fd), LEASE_HELD);
    /* asking does not disturb it: a reader passes, and it is still held */
    int r = open(f->path, O_RDONLY | O_CLOEXEC);
    assert_true(r >= 0);
    close(r);
    assert_int_equal(lease_state(f->fd), LEASE_HELD);
    lease_release(f->fd);
    assert_int_equal(lease_state(f->fd), LEASE_NONE);
}

/* The guard's case: a write-open waits on the lease, its notice unread or
 * not; the guard must see it before it lets the lease go. */
static void writer_waits(struct fixture *f, bool truncate_it)
{
    need_leases(f);
    assert_int_equal(lease_place(f->fd), 0);
    pid_t pid = writer(f, truncate_it, -1);
    assert_true(break_notice(f));
    assert_int_equal(lease_state(f->fd), LEASE_WRITER);
    char buf[128];
    content(f, buf, sizeof buf);
    assert_string_equal(buf, ORIGINAL); /* nothing written while the lease is held */
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
    lease_release(f->fd); /* the writer goes on */
    assert_int_equal(wait_exit(pid), 0);
    content(f, buf, sizeof buf);
    assert_string_not_equal(buf, ORIGINAL);
    assert_int_equal(lease_state(f->fd), LEASE_NONE);
}

static void test_write_open_waits(void **state)
{
    writer_waits(*state, false);
}

static void test_truncate_waits(void **state)
{
    writer_waits(*state, true);
}

/* A lease already let go (the watchdog, fs.lease-break-time) while the
 * writer still has the file open: it may have written, so this is not a
 * writer whose pre-image can still be taken. */
static void test_gone_lease_is_not_a_waiting_writer(void **state)
{
    struct fixture *f = *state;
    need_leases(f);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(lease_place(f->fd), 0);
    pid_t pid = writer(f, false, p[0]);
    assert_true(break_notice(f));
    lease_release(f->fd);
    char buf[128] = "";
    for (int i = 0; i < NOTICE_MS / 5; i++) { /* until the writer has written */
        content(f, buf, sizeof buf);
        if (strcmp(buf, ORIGINAL))
            break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    assert_string_not_equal(buf, ORIGINAL); /* written, and still open for writing */
    assert_int_equal(lease_state(f->fd), LEASE_NONE);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(wait_exit(pid), 0);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_nobody_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_open_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_lease_is_not_a_waiting_writer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
