/* guardrun.c - the agent's guard supervisor (see guardrun.h): one thread
 * that starts `mamori guard` as a child, reads its JSON lines from a pipe,
 * spools its alerts, restarts it with backoff when it dies and stops it
 * cleanly at the end.
 *
 * Data in: the guard's standard output (pipe), its exit (pidfd), a stop
 * request (eventfd). Data out: spool records (alerts, guard_down), event
 * lines on `events`, diagnostics on stderr; the guard's own diagnostics go
 * to the agent's stderr as they are. */
#include "agent/guardrun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/event.h"
#include "agent/guardline.h"
#include "agent/spool.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"

#define ARGV_MAX (8 + 2 * GUARDRUN_PROTECT_MAX)
#define READ_CHUNK (16u << 10)

struct guardrun {
    struct guardrun_opts o;
    pthread_t thread;
    int stopfd; /* eventfd: written by guardrun_stop */
    bool stopping;
    struct spool sp;
    bool spool_ok;
    struct spool evsp; /* DIR/spool-events: the guard's other lines */
    bool ev_ok;
    char *line, *rec; /* GUARDLINE_MAX and SPOOL_REC_MAX bytes */
    struct linebuf lb;
    pid_t pid;  /* the running guard, or 0 */
    bool ready; /* it said "ready" */
    uint64_t started_ms, ready_ms;
    uint64_t bad_lines;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* {"event":EV,"time_ms":..,"pid":..,K1:V1,K2:V2,"seq":..} on events. */
static void emit(struct guardrun *g, const char *ev, const char *k1, const char *v1, const char *k2,
                 const char *v2, int64_t seq)
{
    char buf[2048];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "event", ev);
    jw_int(&w, "time_ms", wall_ms());
    jw_int(&w, "pid", g->pid);
    if (k1)
        jw_str(&w, k1, v1);
    if (k2)
        jw_str(&w, k2, v2);
    if (seq > 0)
        jw_int(&w, "seq", seq);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0) {
        flockfile(g->o.events);
        fprintf(g->o.events, "%s\n", buf);
        fflush(g->o.events);
        funlockfile(g->o.events);
    }
}

static int64_t spool_rec(struct guardrun *g, const char *rec, size_t len)
{
    if (!g->spool_ok) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/spool", g->o.dir);
        g->spool_ok = spool_open(&g->sp, dir, g->o.spool_max, true) == 0;
        if (!g->spool_ok) {
            log_error("guard alert not spooled: %s", g->sp.err);
            return MAMORI_EIO;
        }
    }
    int64_t seq = spool_append(&g->sp, rec, len);
    if (seq < 0) {
        log_error("guard alert not spooled: %s", g->sp.err);
        g->spool_ok = seq != MAMORI_EIO; /* reopen after an I/O error */
    }
    return seq;
}

/* The guard's other lines into the event spool (oldest dropped for room:
 * never blocks, never fails for the bound). */
static void spool_event(struct guardrun *g, const char *rec, size_t len)
{
    if (!g->ev_ok) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", g->o.dir, AGENT_EVENT_SPOOL);
        g->ev_ok = spool_open(&g->evsp, dir, SPOOL_EVENTS_DEFAULT_CAP, true) == 0;
        if (!g->ev_ok) {
            log_warn("guard event not spooled: %s", g->evsp.err);
            return;
        }
        g->evsp.drop_oldest = true;
    }
    if (spool_append(&g->evsp, rec, len) < 0) {
        log_warn("guard event not spooled: %s", g->evsp.err);
        g->ev_ok = false;
    }
}

/* How a guard ended, for a guard_down alert (NULL: it never started). */
struct down {
    int pid, status; /* its wait status */
    uint64_t ran_s;
    bool ready;
    unsigned retry_s; /* the wait before the next start */
};

/* A "guard_down" alert: protection was interrupted. Besides the English
 * summary the record carries its facts as fields (the console words them
 * in its own languages): "cause" start_failed or exited, and for an exit
 * "pid", "exit_status" or "signal", "ran_s", "ready", "retry_s". */
static void spool_down(struct guardrun *g, const char *summary, const struct down *d)
{
    char rec[2048];
    struct jw w;
    jw_init(&w, rec, sizeof rec);
    jw_obj_begin(&w);
    jw_int(&w, "time_ms", wall_ms());
    jw_str(&w, "kind", "guard_down");
    jw_str(&w, "severity", "high");
    jw_str(&w, "summary", summary);
    jw_str(&w, "cause", d ? "exited" : "start_failed");
    if (d) {
        jw_int(&w, "pid", d->pid);
        if (WIFEXITED(d->status))
            jw_int(&w, "exit_status", WEXITSTATUS(d->status));
        else if (WIFSIGNALED(d->status))
            jw_int(&w, "signal", WTERMSIG(d->status));
        jw_uint(&w, "ran_s", d->ran_s);
        jw_bool(&w, "ready", d->ready);
        jw_uint(&w, "retry_s", d->retry_s);
    }
    jw_obj_end(&w);
    long n = jw_finish(&w);
    int64_t seq = n > 0 ? spool_rec(g, rec, (size_t)n) : MAMORI_EFULL;
    log_error("%s", summary);
    emit(g, "guard_down", "summary", summary, NULL, NULL, seq);
}

static void on_line(void *ctx, const char *line, size_t len)
{
    struct guardrun *g = ctx;
    struct guardline gl;
    size_t reclen = 0;
    switch (guardline_parse(line, len, wall_ms(), &gl, g->rec, SPOOL_REC_MAX, &reclen)) {
    case GL_ALERT: {
        if (gl.note[0])
            log_warn("guard alert %s: %s", gl.alert_id, gl.note);
        int64_t seq = spool_rec(g, g->rec, reclen);
        log_warn("guard alert %s (actor %s): %s", gl.alert_id, gl.actor_key[0] ? gl.actor_key : "?",
                 seq > 0 ? "spooled for the server" : "NOT spooled (see above)");
        emit(g, "guard_alert", "alert_id", gl.alert_id, "actor_key", gl.actor_key, seq);
        break;
    }
    case GL_READY:
        g->ready = true;
        g->ready_ms = mono_ms();
        if (gl.degraded)
            log_warn("guard %d ready, %s", (int)g->pid, gl.note);
        else
            log_info("guard %d ready, %s", (int)g->pid, gl.note);
        emit(g, "guard_ready", "note", gl.note, NULL, NULL, 0);
        break;
    case GL_STOPPED: log_info("guard %d stopped cleanly", (int)g->pid); break;
    case GL_OTHER: {
        char esc[512];
        log_info("guard %d: %s", (int)g->pid, log_escape(esc, sizeof esc, line));
        break;
    }
    case GL_BAD: {
        reclen = 0;
        g->bad_lines++;
        char esc[200];
        log_warn("guard %d wrote a line the agent cannot read (%s): %s", (int)g->pid, gl.note,
                 log_escape(esc, sizeof esc, line));
        break;
    }
    }
    if (gl.kind != GL_ALERT && reclen > 0)
        spool_event(g, g->rec, reclen);
}

/* Child side of fork: only async-signal-safe calls until exec. */
static void child(int wfd, char **argv, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127); /* the agent is already gone */
    setpgid(0, 0);  /* its own group: a terminal's ^C reaches the agent only */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPIPE, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0 && nul != STDIN_FILENO) {
        dup2(nul, STDIN_FILENO);
        close(nul);
    }
    if (dup2(wfd, STDOUT_FILENO) < 0)
        _exit(127);
    /* nothing of the agent's (its TLS socket, spool files) reaches the
     * guard, even an fd some library opened without O_CLOEXEC */
    close_range(3, ~0u, 0);
    execv("/proc/self/exe", argv);
    _exit(127);
}

/* Start the guard; 0 with *pidfd and *rfd, or -1 (logged). */
static int spawn(struct guardrun *g, int *pidfd, int *rfd)
{
    char *argv[ARGV_MAX];
    size_t n = 0;
    argv[n++] = "mamori";
    argv[n++] = "guard";
    argv[n++] = "--log";
    argv[n++] = "-";
    if (g->o.config) {
        argv[n++] = "--config";
        argv[n++] = (char *)g->o.config;
    }
    for (size_t i = 0; i < g->o.nprotect; i++) {
        argv[n++] = "--protect";
        argv[n++] = (char *)g->o.protect[i];
    }
    if (g->o.action) {
        argv[n++] = "--action";
        argv[n++] = (char *)g->o.action;
    }
    argv[n] = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        log_error("cannot start the guard: pipe: %s", strerror(errno));
        return -1;
    }
    if (fcntl(p[0], F_SETPIPE_SZ, (int)GUARDRUN_PIPE) < 0)
        log_warn("guard pipe stays at the default size: F_SETPIPE_SZ: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child(p[1], argv, parent);
    int e = errno;
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        log_error("cannot start the guard: fork: %s", strerror(e));
        return -1;
    }
    *pidfd = pidfd_open(pid, 0);
    if (*pidfd < 0) { /* no pidfd (old kernel): cannot supervise it */
        log_error("cannot watch the guard: pidfd_open: %s", strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(p[0]);
        return -1;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    *rfd = p[0];
    g->pid = pid;
    g->ready = false;
    g->started_ms = mono_ms();
    g->lb.len = 0;
    g->lb.skipping = false;
    log_info("guard started: pid %d", (int)pid);
    emit(g, "guard_started", NULL, NULL, NULL, NULL, 0);
    return 0;
}

/* Read what the pipe holds now; false at end of file. */
static bool drain(struct guardrun *g, int rfd)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t r = read(rfd, buf, sizeof buf);
        if (r > 0) {
            guardline_feed(&g->lb, buf, (size_t)r, on_line, g);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0; /* EAGAIN: open, nothing more now; 0: EOF */
    }
}

static void describe(int status, char *out, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, cap, "was killed by signal %d (SIG%s)", WTERMSIG(status),
                 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
    else
        snprintf(out, cap, "ended (status 0x%x)", (unsigned)status);
}

/* Supervise one guard until it exits; returns its wait status. */
static int watch(struct guardrun *g, int pidfd, int rfd)
{
    uint64_t kill_at = 0;
    bool exited = false;
    while (!exited) {
        if (g->stopping && !kill_at) {
            pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
            kill_at = mono_ms() + GUARDRUN_STOP_MS;
        }
        int tmo = -1;
        if (kill_at) {
            uint64_t now = mono_ms();
            if (now >= kill_at) {
                log_error("guard %d did not stop within %u ms of SIGTERM: killed", (int)g->pid,
                          GUARDRUN_STOP_MS);
                pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                kill_at = UINT64_MAX;
            } else {
                tmo = (int)(kill_at - now);
            }
        }
        struct pollfd p[3] = {{.fd = rfd, .events = POLLIN},
                              {.fd = pidfd, .events = POLLIN},
                              {.fd = g->stopping ? -1 : g->stopfd, .events = POLLIN}};
        int r = poll(p, 3, tmo);
        if (r < 0 && errno != EINTR) {
            log_error("guard supervisor: poll: %s", strerror(errno));
            break;
        }
        if (rfd >= 0 && (p[0].revents & (POLLIN | POLLHUP)) && !drain(g, rfd)) {
            close(rfd); /* EOF: the guard closed its output */
            rfd = -1;
        }
        if (p[2].revents & POLLIN)
            g->stopping = true;
        exited = p[1].revents & POLLIN;
    }
    if (rfd >= 0) { /* lines written just before the exit */
        drain(g, rfd);
        close(rfd);
    }
    int status = 0;
    if (waitpid(g->pid, &status, 0) < 0)
        status = 0;
    close(pidfd);
    return status;
}

/* Wait ms unless asked to stop. */
static void backoff_wait(struct guardrun *g, unsigned ms)
{
    struct pollfd p = {.fd = g->stopfd, .events = POLLIN};
    if (poll(&p, 1, (int)ms) > 0)
        g->stopping = true;
}

static void *supervise(void *arg)
{
    struct guardrun *g = arg;
    unsigned backoff = 1000;
    bool failing = false; /* guards that die before "ready", in a row */
    while (!g->stopping) {
        int pidfd, rfd;
        if (spawn(g, &pidfd, &rfd) < 0) {
            if (!failing)
                spool_down(g,
                           "the guard could not be started: the host is NOT protected "
                           "against ransomware until it is (see the agent's log)",
                           NULL);
            failing = true;
        } else {
            int status = watch(g, pidfd, rfd);
            char how[128], sum[512];
            describe(status, how, sizeof how);
            uint64_t ran = mono_ms() - g->started_ms;
            if (g->stopping) {
                log_info("guard %d %s on stop", (int)g->pid, how);
                emit(g, "guard_stopped", "status", how, NULL, NULL, 0);
                break;
            }
            emit(g, "guard_exited", "status", how, NULL, NULL, 0);
            if (g->ready && mono_ms() - g->ready_ms >= GUARDRUN_STABLE_MS)
                backoff = 1000;
            if (g->ready || !failing) {
                snprintf(sum, sizeof sum,
                         "the guard (pid %d) %s after %llu s%s: ransomware protection was "
                         "interrupted; the agent starts it again in %u s",
                         (int)g->pid, how, (unsigned long long)(ran / 1000),
                         g->ready ? "" : ", before it was ready", backoff / 1000);
                struct down d = {(int)g->pid, status, ran / 1000, g->ready, backoff / 1000};
                spool_down(g, sum, &d);
            } else {
                log_error("guard %d %s before it was ready (again); next try in %u s", (int)g->pid,
                          how, backoff / 1000);
            }
            failing = !g->ready;
            g->pid = 0;
        }
        backoff_wait(g, backoff);
        backoff = backoff * 2 > g->o.max_backoff_ms ? g->o.max_backoff_ms : backoff * 2;
    }
    if (g->lb.overlong)
        log_warn("%llu guard line(s) longer than %u bytes were skipped",
                 (unsigned long long)g->lb.overlong, GUARDLINE_MAX);
    return NULL;
}

int guardrun_start(struct guardrun **out, const struct guardrun_opts *o, char *err, size_t errsz)
{
    *out = NULL;
    struct guardrun *g = calloc(1, sizeof *g);
    if (!g || !(g->line = malloc(GUARDLINE_MAX)) || !(g->rec = malloc(SPOOL_REC_MAX))) {
        if (g) {
            free(g->line);
            free(g);
        }
        snprintf(err, errsz, "guard supervisor: out of memory");
        return MAMORI_ENOMEM;
    }
    g->o = *o;
    if (g->o.max_backoff_ms < 1000)
        g->o.max_backoff_ms = 1000;
    g->lb.buf = g->line;
    g->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = g->stopfd < 0 ? errno : pthread_create(&g->thread, NULL, supervise, g);
    if (rc) {
        snprintf(err, errsz, "cannot start the guard supervisor: %s", strerror(rc));
        if (g->stopfd >= 0)
            close(g->stopfd);
        free(g->line);
        free(g->rec);
        free(g);
        return MAMORI_EIO;
    }
    *out = g;
    return 0;
}

void guardrun_stop(struct guardrun *g)
{
    if (!g)
        return;
    uint64_t one = 1;
    if (write(g->stopfd, &one, sizeof one) < 0)
        log_error("guard supervisor: eventfd: %s", strerror(errno));
    pthread_join(g->thread, NULL);
    close(g->stopfd);
    free(g->line);
    free(g->rec);
    free(g);
}
