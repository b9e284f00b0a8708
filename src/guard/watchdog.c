/* watchdog.c - late permission answers (see watchdog.h). */
#include "guard/watchdog.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/fanotify.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "guard/fan.h"
#include "guard/lease.h"

uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void remove_at(struct watchdog *w, size_t i)
{
    w->pending[i] = w->pending[--w->n];
}

/* The event thread is stuck: drain the queue ourselves, allowing all. */
static void rescue(struct watchdog *w)
{
    char buf[16384] __attribute__((aligned(8)));
    ssize_t len;
    while ((len = read(w->content_fd, buf, sizeof buf)) > 0) {
        const struct fanotify_event_metadata *m = (const void *)buf;
        for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
            if (m->fd < 0)
                continue;
            if (m->mask & FAN_ALL_PERM_EVENTS) {
                fan_respond(w->content_fd, m->fd, FAN_RESP_ALLOW);
                atomic_fetch_add(&w->late_allowed, 1);
            }
            close(m->fd);
        }
    }
}

/* ... and let every lease break waiting on it go: the mark first. */
static void rescue_leases(struct watchdog *w)
{
    int fds[64];
    bool overflow;
    size_t n;
    while ((n = lease_read_breaks(w->lease_sigfd, fds, 64, &overflow)) > 0) {
        for (size_t i = 0; i < n; i++) {
            fanotify_mark(w->content_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, FAN_OPEN_PERM,
                          fds[i], NULL);
            lease_release(fds[i]);
        }
        atomic_fetch_add(&w->late_allowed, n);
    }
    /* a lost notice (SIGIO) waits for the event thread or the kernel's
     * fs.lease-break-time */
}

static void *wd_main(void *arg)
{
    struct watchdog *w = arg;
    uint64_t deadline = (uint64_t)w->deadline_ms * 1000u;
    unsigned tick = w->deadline_ms / 4 ? w->deadline_ms / 4 : 1;
    while (!atomic_load(&w->stop)) {
        /* Sleep a tick, never wake per event: under load the queue is always
         * readable, and a watchdog woken by it would compete with the event
         * thread for the CPU and the lock. */
        struct timespec ts = {.tv_sec = tick / 1000, .tv_nsec = (long)(tick % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        uint64_t now = now_us();
        size_t late = 0;
        pthread_mutex_lock(&w->mu);
        for (size_t i = 0; i < w->n;) {
            /* t_us may be later than now: registered after we read the clock */
            if (now > w->pending[i].t_us && now - w->pending[i].t_us >= deadline) {
                fan_respond(w->content_fd, w->pending[i].fd, FAN_RESP_ALLOW);
                w->pending[i].fd = -1;
                remove_at(w, i);
                late++;
            } else {
                i++;
            }
        }
        pthread_mutex_unlock(&w->mu);
        if (late) {
            atomic_fetch_add(&w->late_allowed, late);
            log_warn("watchdog: allowed %zu file access(es) whose decision was late (> %u ms)",
                     late, w->deadline_ms);
        }
        uint64_t beat = atomic_load(&w->heartbeat_us);
        struct pollfd p[2] = {{.fd = w->content_fd, .events = POLLIN},
                              {.fd = w->lease_sigfd, .events = POLLIN}};
        if (now > beat && now - beat >= deadline && poll(p, w->lease_sigfd >= 0 ? 2 : 1, 0) > 0) {
            log_warn("watchdog: event thread unresponsive for %u ms; allowing queued accesses",
                     w->deadline_ms);
            rescue(w);
            if (w->lease_sigfd >= 0)
                rescue_leases(w);
        }
    }
    return NULL;
}

int wd_start(struct watchdog *w, int content_fd, int lease_sigfd, unsigned deadline_ms)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    w->content_fd = content_fd;
    w->lease_sigfd = lease_sigfd;
    w->deadline_ms = deadline_ms ? deadline_ms : 1;
    atomic_store(&w->heartbeat_us, now_us());
    if (pthread_create(&w->thread, NULL, wd_main, w) != 0)
        return MAMORI_EIO;
    w->running = true;
    return 0;
}

void wd_stop(struct watchdog *w)
{
    if (!w->running)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    w->running = false;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n; i++)
        fan_respond(w->content_fd, w->pending[i].fd, FAN_RESP_ALLOW);
    w->n = 0;
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_destroy(&w->mu);
}

int wd_track(struct watchdog *w, int fd, uint64_t t)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->n == WD_MAX)
        rc = MAMORI_EFULL;
    else
        w->pending[w->n++] = (struct wd_pending){.fd = fd, .t_us = t};
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void wd_answer(struct watchdog *w, int fd, int verdict)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n; i++) {
        if (w->pending[i].fd == fd) {
            fan_respond(w->content_fd, fd, verdict);
            remove_at(w, i);
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
}

void wd_beat(struct watchdog *w, uint64_t t) { atomic_store(&w->heartbeat_us, t); }

void wd_extend(struct watchdog *w, int fd, uint64_t t)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n; i++)
        if (w->pending[i].fd == fd)
            w->pending[i].t_us = t;
    pthread_mutex_unlock(&w->mu);
}

bool wd_is_pending(struct watchdog *w, int fd)
{
    bool found = false;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n && !found; i++)
        found = w->pending[i].fd == fd;
    pthread_mutex_unlock(&w->mu);
    return found;
}
