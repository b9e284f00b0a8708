/* watchdog.h - every fanotify permission event gets an answer, in time.
 *
 * A process that opens a file on a protected filesystem waits until the
 * guard answers. The event thread registers each permission event it reads
 * (wd_track) and answers through wd_answer. A separate watchdog thread
 * answers "allow" for any event still unanswered after the deadline, and,
 * if the event thread stops making progress altogether, reads the queue
 * itself and allows everything in it; lease breaks waiting on it (guard_lease.c)
 * are released the same way, their ignore marks removed first. A stuck guard must never hang the
 * machine; if the guard dies, the kernel allows whatever was pending.
 * At most WD_MAX events are in flight (one read buffer's worth). */
#ifndef MAMORI_GUARD_WATCHDOG_H
#define MAMORI_GUARD_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WD_MAX 1024

struct wd_pending {
    int fd;
    uint64_t t_us;
};

struct watchdog {
    pthread_mutex_t mu;
    pthread_t thread;
    bool running;
    int content_fd;
    int lease_sigfd; /* lease-break notices, -1 none */
    unsigned deadline_ms;
    size_t n;
    struct wd_pending pending[WD_MAX];
    _Atomic uint64_t heartbeat_us; /* event thread's last sign of life */
    _Atomic bool stop;
    _Atomic uint64_t late_allowed; /* answered by the watchdog, for stats */
};

/* lease_sigfd: the signalfd of lease breaks (-1 without leases). */
int wd_start(struct watchdog *w, int content_fd, int lease_sigfd, unsigned deadline_ms);
void wd_stop(struct watchdog *w);
/* Registers an event fd; MAMORI_EFULL when full (answer it at once). */
int wd_track(struct watchdog *w, int fd, uint64_t now_us);
/* Answers fd unless the watchdog already did; removes it. */
void wd_answer(struct watchdog *w, int fd, int verdict);
void wd_beat(struct watchdog *w, uint64_t now_us);
/* The event thread is still working on fd (copying a pre-image while the
 * opener waits): its deadline starts again from now. */
void wd_extend(struct watchdog *w, int fd, uint64_t now_us);
/* Whether fd is still unanswered (the watchdog has not allowed it). */
bool wd_is_pending(struct watchdog *w, int fd);

uint64_t now_us(void);      /* CLOCK_MONOTONIC, microseconds */
uint64_t wall_us(void);     /* CLOCK_REALTIME, microseconds */

#endif
