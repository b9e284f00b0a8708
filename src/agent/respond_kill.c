/* respond_kill.c - kill an actor the guard reported, by its key.
 *
 * The key is the guard's (and its vault's) name for an actor:
 * BOOT-PID-START (made by proc_actor_key in guard/proc.c, parsed by
 * cmd_actor_parse in net/command.c), the first hex digits of this boot's id
 * (/proc/sys/kernel/random/boot_id without dashes), the actor's root
 * process and its start time in clock ticks after boot. A PID alone could
 * name another process by now; the three together name one process once.
 *
 * Steps, each refusing with the reason in the message:
 *  1. the key is from this boot (else its processes are gone);
 *  2. a pidfd is opened on PID, and only then is /proc/PID read: the start
 *     time must equal START, so the pidfd holds the actor's process and no
 *     later one that reuses the number;
 *  3. the guard's protection rule (guard/proc.h, the one definition every
 *     action path uses): never PID 1, a kernel thread, the agent itself or
 *     one of its ancestors;
 *  4. the root is stopped (SIGSTOP) so it forks no more, then its
 *     descendants are found breadth first and stopped the same way (each
 *     through its own pidfd, each checked by the same rule), at most
 *     KILL_MAX processes;
 *  5. all get SIGKILL through their pidfds; the root's exit is awaited up to
 *     KILL_WAIT_MS.
 * Data in: the key, /proc; out: signals, a message. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "agent/respond.h"
#include "core/err.h"
#include "core/log.h"

#define KILL_MAX 1024 /* processes of one actor: the root and its descendants */
#define KILL_WAIT_MS 3000

static const char *why_untouchable(const struct respond_ctx *r, const struct proc_info *p)
{
    if (p->pid <= 1)
        return "it is PID 1 (init)";
    if (p->kthread || p->pid == 2 || p->ppid == 2)
        return "it is a kernel thread";
    if (p->pid == r->self.self)
        return "it is the mamori agent itself";
    return "it is an ancestor of the mamori agent";
}

struct victim {
    pid_t pid;
    int fd;
};

/* Open a pidfd on pid and check it is the process info says (start time)
 * and may be touched. Returns the fd, or -1 (gone, or another process now),
 * or -2 (protected). */
static int grab(const struct respond_ctx *r, pid_t pid, uint64_t start, struct proc_info *info)
{
    int fd = pidfd_open(pid, 0);
    if (fd < 0)
        return -1;
    if (proc_read(pid, info) < 0 || info->start_time != start) {
        close(fd);
        return -1;
    }
    if (proc_is_untouchable(&r->self, info)) {
        close(fd);
        return -2;
    }
    return fd;
}

int kill_actor(struct respond_ctx *r, const char *key, char *msg, size_t cap)
{
    char boot[CMD_BOOT_HEX_MAX + 1], now_boot[CMD_BOOT_HEX_MAX + 1];
    long lpid;
    unsigned long long start;
    if (!cmd_actor_parse(key, boot, &lpid, &start)) {
        snprintf(msg, cap, "kill: '%s' is not an actor key (BOOT-PID-START)", key);
        return MAMORI_EINVAL;
    }
    proc_boot_hex(now_boot, CMD_BOOT_HEX_MAX);
    if (strncmp(boot, now_boot, strlen(boot)) != 0) {
        snprintf(msg, cap,
                 "kill: actor %s is from another boot of this host (now %.8s...): its processes "
                 "are gone",
                 key, now_boot);
        return MAMORI_ENOENT;
    }
    pid_t pid = (pid_t)lpid;
    struct proc_info info;
    int fd = pidfd_open(pid, 0);
    if (fd < 0 && errno != ESRCH) {
        snprintf(msg, cap, "kill: pidfd_open(%d): %s", (int)pid, strerror(errno));
        return MAMORI_EIO;
    }
    if (fd >= 0 && (proc_read(pid, &info) < 0 || info.start_time != start)) {
        close(fd);
        snprintf(msg, cap,
                 "kill: process %d is not actor %s any more (it exited%s): nothing signalled",
                 (int)pid, key, "; the number may belong to another process now");
        return MAMORI_ENOENT;
    }
    if (fd < 0) {
        snprintf(msg, cap, "kill: actor %s has exited (no process %d): nothing to kill", key,
                 (int)pid);
        return MAMORI_ENOENT;
    }
    if (proc_is_untouchable(&r->self, &info)) {
        close(fd);
        snprintf(msg, cap, "kill refused: process %d (%s) is never signalled: %s", (int)pid,
                 info.comm, why_untouchable(r, &info));
        return MAMORI_EPERM;
    }
    char exe[PROC_EXE_MAX];
    snprintf(exe, sizeof exe, "%s", info.exe[0] ? info.exe : info.comm);

    struct victim v[KILL_MAX]; /* 8 KiB */
    size_t n = 0, spared = 0;
    v[n++] = (struct victim){pid, fd};
    pidfd_send_signal(fd, SIGSTOP, NULL, 0);
    for (size_t i = 0; i < n; i++) { /* breadth first; the list grows as we go */
        pid_t kids[256];
        size_t nk = proc_children(v[i].pid, kids, 256);
        for (size_t k = 0; k < nk && n < KILL_MAX; k++) {
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = v[j].pid == kids[k];
            struct proc_info ci;
            if (seen || proc_read(kids[k], &ci) < 0)
                continue;
            int cfd = grab(r, kids[k], ci.start_time, &ci);
            if (cfd == -2)
                spared++;
            if (cfd < 0)
                continue;
            pidfd_send_signal(cfd, SIGSTOP, NULL, 0);
            v[n++] = (struct victim){kids[k], cfd};
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (pidfd_send_signal(v[i].fd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
            log_warn("kill: SIGKILL to %d: %s", (int)v[i].pid, strerror(errno));
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int gone = poll(&p, 1, KILL_WAIT_MS);
    for (size_t i = 0; i < n; i++)
        close(v[i].fd);
    if (gone <= 0) {
        snprintf(msg, cap, "kill: SIGKILL sent to actor %s (%s, pid %d) but it did not exit "
                           "within %d ms",
                 key, exe, (int)pid, KILL_WAIT_MS);
        return MAMORI_EIO;
    }
    snprintf(msg, cap, "killed actor %s: %s (pid %d) and %zu descendant%s%s%s", key, exe,
             (int)pid, n - 1, n == 2 ? "" : "s",
             n == KILL_MAX ? " (the bound: more may remain)" : "",
             spared ? "; protected processes spared" : "");
    return 0;
}
