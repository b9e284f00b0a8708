/* test_watchdog.c - every permission event gets an answer in time, exactly
 * once. The watchdog writes fanotify responses to its "content fd"; here that
 * fd is one end of a socketpair, so the test reads the responses it wrote
 * and can feed it fake events, with no fanotify (and no root) needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guard/fan.h"
#include "guard/watchdog.h"

struct fixture {
    int sv[2]; /* sv[0]: the watchdog's content fd; sv[1]: the test's end */
    struct watchdog wd;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f.sv) < 0)
        return -1;
    fcntl(f.sv[0], F_SETFL, O_NONBLOCK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    wd_stop(&f->wd);
    close(f->sv[0]);
    close(f->sv[1]);
    return 0;
}

/* Waits up to ms for one response; returns its fd or -1. */
static int read_response(struct fixture *f, int ms, uint32_t *verdict)
{
    struct pollfd p = {.fd = f->sv[1], .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return -1;
    struct fanotify_response r;
    if (read(f->sv[1], &r, sizeof r) != (ssize_t)sizeof r)
        return -1;
    *verdict = r.response;
    return r.fd;
}

static void test_late_event_allowed_after_deadline(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(wd_start(&f->wd, f->sv[0], -1, 100), 0);
    wd_beat(&f->wd, now_us());
    assert_int_equal(wd_track(&f->wd, 42, now_us()), 0);
    uint32_t v;
    assert_int_equal(read_response(f, 40, &v), -1); /* not before the deadline */
    assert_int_equal(read_response(f, 500, &v), 42);
    assert_int_equal(v, FAN_ALLOW);
    assert_true(atomic_load(&f->wd.late_allowed) == 1);
}

static void test_answered_once(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(wd_start(&f->wd, f->sv[0], -1, 50), 0);
    assert_int_equal(wd_track(&f->wd, 7, now_us()), 0);
    wd_answer(&f->wd, 7, FAN_RESP_DENY);
    uint32_t v;
    assert_int_equal(read_response(f, 100, &v), 7);
    assert_int_equal(v, FAN_DENY);
    assert_int_equal(read_response(f, 200, &v), -1); /* the watchdog does not answer again */
    wd_answer(&f->wd, 7, FAN_RESP_ALLOW);             /* nor does a second answer */
    assert_int_equal(read_response(f, 50, &v), -1);
}

static void test_registered_after_clock_read_is_not_late(void **state)
{
    /* Regression: an event registered just after the watchdog read the clock
     * has a timestamp later than "now"; unsigned arithmetic made it look
     * ancient and it was allowed at once. */
    struct fixture *f = *state;
    assert_int_equal(wd_start(&f->wd, f->sv[0], -1, 200), 0);
    for (int i = 0; i < 50; i++) {
        wd_beat(&f->wd, now_us());
        assert_int_equal(wd_track(&f->wd, 100 + i, now_us() + 5000), 0);
    }
    uint32_t v;
    assert_int_equal(read_response(f, 100, &v), -1);
    for (int i = 0; i < 50; i++)
        wd_answer(&f->wd, 100 + i, FAN_RESP_ALLOW);
    int n = 0;
    while (read_response(f, 20, &v) >= 0)
        n++;
    assert_int_equal(n, 50);
    assert_true(atomic_load(&f->wd.late_allowed) == 0);
}

static void test_stuck_event_thread_rescued(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(wd_start(&f->wd, f->sv[0], -1, 50), 0);
    wd_beat(&f->wd, now_us() - 1000000); /* the event thread has not beaten for 1 s */
    int evfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(evfd >= 0);
    struct fanotify_event_metadata m = {.event_len = sizeof m, .vers = FANOTIFY_METADATA_VERSION,
                                        .metadata_len = sizeof m, .mask = FAN_OPEN_PERM,
                                        .fd = evfd, .pid = 1};
    /* the queued event arrives on the watchdog's fd, as from the kernel */
    assert_int_equal(write(f->sv[1], &m, sizeof m), (ssize_t)sizeof m);
    uint32_t v;
    assert_int_equal(read_response(f, 1000, &v), evfd);
    assert_int_equal(v, FAN_ALLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_late_event_allowed_after_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registered_after_clock_read_is_not_late, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stuck_event_thread_rescued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
