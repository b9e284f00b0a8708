/* guard.c - the guard's set-up, event loop and orderly stop.
 *
 * Data enters as fanotify events (fan.c) and leaves as JSON lines on the log
 * fd (alert.c) and as signals to condemned processes (respond.c).
 *
 * Threads: the event thread (this file's loop, which owns every table) and
 * the watchdog thread (watchdog.c), which only ever answers "allow". The
 * event thread runs at real-time priority when the kernel lets it, so that
 * a decision is not delayed behind the very processes it is judging; each
 * event's work is bounded (a sample of at most CONTENT_SAMPLE_MAX bytes). */
#include "guard/guard.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "guard/guard_int.h"
#include "guard/lease.h"

#define READ_BUF (64u * 1024)
/* Content events are read in small batches: every permission event in a
 * batch waits while the ones before it are judged, so a batch must stay far
 * below the watchdog deadline even when each event costs a full sample
 * (about 170 events of 24 bytes). */
#define CONTENT_BATCH 4096u
#define BATCHES_PER_TURN 256 /* content reads before the name queue gets a turn */
#define LOOP_TICK_MS 100
#define RT_PRIORITY 10

void guard_opts_default(struct guard_opts *o)
{
    memset(o, 0, sizeof *o);
    o->action = GUARD_FREEZE;
    o->log_fd = STDOUT_FILENO;
    o->decoys = true;
    o->watchdog_ms = 500;
    o->threshold = 100;
    o->vault = true;
    o->leases = false; /* opt-in: --leases (a non-blocking write-open of a leased file fails once) */
    o->vault_cap_percent = 2;
    o->vault_file_max = 64u << 20;
    o->vault_keep_us = 24ull * 3600 * 1000000;
    o->nvault_trusted = 1;
    snprintf(o->vault_trusted[0], PROC_EXE_MAX, "/usr/bin/dpkg");
}

const char *guard_action_name(enum guard_action a)
{
    switch (a) {
    case GUARD_ALERT: return "alert";
    case GUARD_FREEZE: return "freeze";
    case GUARD_KILL: return "kill";
    }
    return "?";
}

int guard_action_parse(const char *s, enum guard_action *out)
{
    for (int a = GUARD_ALERT; a <= GUARD_KILL; a++) {
        if (!strcasecmp(s, guard_action_name((enum guard_action)a))) {
            *out = (enum guard_action)a;
            return 0;
        }
    }
    return MAMORI_EINVAL;
}

/* An event that took long to judge delays every permission event behind
 * it: say so (rate-limited), and keep the worst for the stopped line. */
static void note_slow(struct guard *g, const struct fanotify_event_metadata *m, uint64_t us)
{
    if (us > g->st.max_event_us)
        g->st.max_event_us = us;
    if (us < 100000 || g->now - g->last_slow_log_us < 1000000)
        return;
    g->last_slow_log_us = g->now;
    log_warn("slow decision: %llu ms for event %#llx of pid %d",
             (unsigned long long)(us / 1000), (unsigned long long)m->mask, (int)m->pid);
}

static void drain_content(struct guard *g, char *buf)
{
    for (int turn = 0; turn < BATCHES_PER_TURN; turn++) {
        ssize_t len = read(g->fan.content_fd, buf, CONTENT_BATCH);
        if (len <= 0)
            return;
        g->now = now_us();
        /* Register every permission event first: the watchdog's clock for
         * the last one in the batch starts now, not after the others. */
        /* FAN_EVENT_NEXT consumes its length argument: one copy per pass. */
        const struct fanotify_event_metadata *m;
        ssize_t left = len;
        for (m = (const void *)buf; FAN_EVENT_OK(m, left); m = FAN_EVENT_NEXT(m, left))
            if ((m->mask & FAN_OPEN_PERM) && m->fd >= 0 && wd_track(&g->wd, m->fd, g->now) < 0)
                fan_respond(g->fan.content_fd, m->fd, FAN_RESP_ALLOW);
        for (m = (const void *)buf; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
            if (m->mask & FAN_Q_OVERFLOW) {
                if (g->st.overflows++ % 1000 == 0)
                    log_warn("fanotify queue overflowed: some file events were lost");
                continue;
            }
            if (m->fd < 0)
                continue;
            uint64_t t0 = now_us();
            if (m->mask & FAN_OPEN_PERM) {
                g->st.perm_events++;
                int verdict = ev_open_perm(g, m->pid, m->fd);
                if (verdict == GUARD_HOLD)
                    continue; /* answered by held_review; the fd stays open */
                if (g->test_stall_ms)
                    usleep(g->test_stall_ms * 1000u);
                wd_answer(&g->wd, m->fd, verdict);
            }
            if (m->mask & (FAN_MODIFY | FAN_CLOSE_WRITE)) {
                g->st.write_events++;
                ev_write(g, m->mask, m->pid, m->fd);
            }
            close(m->fd);
            note_slow(g, m, now_us() - t0);
        }
        if (g->nheld)
            held_review(g, false);
    }
}

static void drain_names(struct guard *g, char *buf)
{
    if (g->fan.name_fd < 0)
        return;
    for (int turn = 0; turn < BATCHES_PER_TURN; turn++) {
        ssize_t len = read(g->fan.name_fd, buf, READ_BUF);
        if (len <= 0)
            return;
        g->now = now_us();
        /* Name events carry names: their lengths are not multiples of 8, so
         * each header is copied out rather than read in place. */
        for (ssize_t off = 0; off + (ssize_t)FAN_EVENT_METADATA_LEN <= len;) {
            struct fanotify_event_metadata m;
            memcpy(&m, buf + off, sizeof m);
            if (m.event_len < FAN_EVENT_METADATA_LEN || off + (ssize_t)m.event_len > len)
                break;
            const char *ev = buf + off;
            off += m.event_len;
            if (m.mask & FAN_Q_OVERFLOW) {
                g->st.overflows++;
                continue;
            }
            struct fan_name_event ne;
            g->st.name_events++;
            int rc = fan_decode_name(&g->fan, ev, m.event_len, &ne);
            if (rc == 0)
                ev_name(g, &ne);
            else
                log_debug("name event (mask %#llx, pid %d) not resolved: %s",
                          (unsigned long long)m.mask, (int)m.pid, mamori_strerror(rc));
        }
        /* A content event may be waiting for an answer: serve it first. */
        drain_content(g, buf);
    }
}

/* An inode entry with a held fd or a lease-break save is about to be reused
 * (actor.c). */
static void on_evict(void *ctx, struct inode_ent *e) { gl_evict(ctx, e); }

static void raise_priority(void)
{
    struct sched_param sp = {.sched_priority = RT_PRIORITY};
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0 &&
        setpriority(PRIO_PROCESS, 0, -10) < 0)
        log_info("running at normal priority (%s)", strerror(errno));
}

/* Held fds (guard_vault.c) need more than the usual 1024. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < HOLD_MAX + WD_MAX + HELD_MAX + 64)
        log_warn("open file limit %llu is low: fewer deleted files can be kept for the vault",
                 (unsigned long long)rl.rlim_cur);
}

static int setup(struct guard *g, char *err, size_t errsz)
{
    int rc = fan_open(&g->fan, !g->test_no_perm);
    if (rc == MAMORI_EPERM) {
        snprintf(err, errsz, "fanotify refused: mamori guard must run as root "
                             "(it needs CAP_SYS_ADMIN)");
        return rc;
    }
    if (rc < 0) {
        snprintf(err, errsz, "this kernel has no fanotify (CONFIG_FANOTIFY): the guard cannot run");
        return rc;
    }
    if (g->fan.degraded[0])
        log_warn("degraded: %s", g->fan.degraded);
    /* Our own files first, while no mark can make us wait on ourselves:
     * the vaults, dpkg's records, the user names for alerts. */
    if (g->o->vault && g->fan.perm)
        raise_nofile();
    rc = gv_open(g);
    if (rc < 0) {
        snprintf(err, errsz, "out of memory for the vault");
        return rc;
    }
    gl_open(g);
    alert_load_users(g);
    if (g->o->decoys)
        decoy_place(g);
    for (size_t i = 0; i < g->o->nprotect; i++) {
        rc = fan_watch(&g->fan, g->o->protect[i], err, errsz);
        if (rc < 0)
            return rc;
    }
    gv_mark(g);
    gv_start(g);
    rc = wd_start(&g->wd, g->fan.content_fd, g->lease_sigfd, g->o->watchdog_ms);
    if (rc < 0)
        snprintf(err, errsz, "cannot start the watchdog thread");
    return rc;
}

static void loop(struct guard *g, int sigfd, char *buf)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = sigfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &ev);
    ev.data.fd = g->fan.content_fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, g->fan.content_fd, &ev);
    if (g->fan.name_fd >= 0) {
        ev.data.fd = g->fan.name_fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, g->fan.name_fd, &ev);
    }
    if (g->lease_sigfd >= 0) {
        ev.data.fd = g->lease_sigfd;
        epoll_ctl(ep, EPOLL_CTL_ADD, g->lease_sigfd, &ev);
    }
    for (;;) {
        struct epoll_event out[4];
        int n = epoll_wait(ep, out, 4, g->nheld || g->lgate.n ? 1 : LOOP_TICK_MS);
        wd_beat(&g->wd, now_us());
        if (g->nheld || g->lgate.n) {
            g->now = now_us();
            held_review(g, false);
            gl_review(g, false);
        }
        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            break;
        }
        bool stop = false;
        for (int i = 0; i < n; i++) {
            if (out[i].data.fd == sigfd) {
                struct signalfd_siginfo si;
                if (read(sigfd, &si, sizeof si) == sizeof si)
                    log_info("signal %u: stopping", si.ssi_signo);
                stop = true;
            }
        }
        gl_drain(g); /* a write-open waits on each of these */
        drain_content(g, buf);
        drain_names(g, buf);
        gl_drain(g);
        g->now = now_us();
        gv_flush(g, false);
        gv_tick(g);
        if (stop)
            break;
    }
    g->now = now_us();
    held_review(g, true);
    gl_review(g, true);
    close(ep);
}

int guard_run(const struct guard_opts *o)
{
    struct guard *g = calloc(1, sizeof *g);
    char *buf = aligned_alloc(8, READ_BUF);
    if (!g || !buf) {
        free(g);
        free(buf);
        return MAMORI_ENOMEM;
    }
    g->o = o;
    g->t = calloc(1, sizeof *g->t);
    g->smp = malloc(sizeof *g->smp);
    g->linebuf = malloc(GUARD_LINE_MAX);
    g->fan.content_fd = g->fan.name_fd = -1;
    int rc = MAMORI_ENOMEM;
    if (!g->t || !g->smp || !g->linebuf)
        goto out;
    proc_self_init(&g->self);
    g->now = now_us();
    /* Fault injection for the watchdog test: stall before each answer. */
    const char *stall = getenv("MAMORI_TEST_STALL_MS");
    if (stall)
        g->test_stall_ms = (unsigned)strtoul(stall, NULL, 10);
    /* ... and the path of a kernel without permission events. */
    g->test_no_perm = getenv("MAMORI_TEST_NO_PERM_EVENTS") != NULL;

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigset_t blocked = mask;
    lease_sigset(&blocked); /* lease breaks: read from their own signalfd */
    pthread_sigmask(SIG_BLOCK, &blocked, NULL); /* before the watchdog thread exists */
    int sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
    g->lease_sigfd = -1;
    g->t->on_evict = on_evict;
    g->t->evict_ctx = g;

    char err[512] = "";
    rc = setup(g, err, sizeof err);
    if (rc < 0) {
        log_error("%s", err);
    } else {
        raise_priority();
        alert_ready(g);
        loop(g, sigfd, buf);
        rc = 0;
    }
    wd_stop(&g->wd);
    fan_close(&g->fan);
    gl_close(g);
    decoy_remove(g);
    if (rc == 0)
        alert_stopped(g);
    gv_close(g);
    free(g->users);
    if (sigfd >= 0)
        close(sigfd);
out:
    free(g->linebuf);
    free(g->smp);
    free(g->t);
    free(g);
    free(buf);
    return rc;
}
