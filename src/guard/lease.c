/* lease.c - read leases as a write gate: the kernel plumbing (see lease.h).
 *
 * Data enters as fds the guard holds (guard_lease.c places and releases
 * leases on them) and as break notices: realtime signals read from a
 * signalfd (the event loop, or the watchdog when the event thread is stuck),
 * each naming the fd of a lease a write-open is waiting on. */
#include "guard/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define LEASE_SIG_OFFSET 3 /* SIGRTMIN+3: glibc keeps none above SIGRTMIN */
#define PROBE_NAME ".mamori-lease-probe"

int lease_signal(void) { return SIGRTMIN + LEASE_SIG_OFFSET; }

void lease_sigset(sigset_t *set)
{
    sigaddset(set, lease_signal());
    sigaddset(set, SIGIO);
}

int lease_place(int fd)
{
    if (fcntl(fd, F_SETSIG, lease_signal()) < 0 || fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
        return -errno;
    return 0;
}

void lease_release(int fd) { fcntl(fd, F_SETLEASE, F_UNLCK); }

/* A lease of ours on fd, being broken or not: its line in fdinfo
 * ("lock:\t1: LEASE  BREAKING  UNLCK ..."). */
static bool lease_listed(int fd)
{
    char p[64], buf[4096];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    int f = open(p, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return false;
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return strstr(buf, " LEASE ") != NULL;
}

enum lease_state lease_state(int fd)
{
    /* a read lease being broken reports its target, F_UNLCK, as does no
     * lease at all: fdinfo tells the two apart */
    int t = fcntl(fd, F_GETLEASE);
    if (t < 0)
        return LEASE_NONE;
    if (t == F_UNLCK)
        return lease_listed(fd) ? LEASE_WRITER : LEASE_NONE;
    /* Held and not broken. Asking for it again fails with EAGAIN while the
     * file is open for writing anywhere: a writer past fanotify that has
     * not reached the lease yet (it takes write access first). */
    if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0 && errno == EAGAIN)
        return LEASE_WRITER;
    return LEASE_HELD;
}

size_t lease_read_breaks(int sigfd, int *fds, size_t max, bool *overflow)
{
    struct signalfd_siginfo si[32];
    size_t n = 0;
    *overflow = false;
    while (n < max) {
        size_t want = max - n < 32 ? max - n : 32;
        ssize_t len = read(sigfd, si, want * sizeof si[0]);
        if (len < (ssize_t)sizeof si[0])
            break;
        for (size_t i = 0; i < (size_t)len / sizeof si[0]; i++) {
            if ((int)si[i].ssi_signo == lease_signal())
                fds[n++] = si[i].ssi_fd;
            else
                *overflow = true; /* SIGIO: the realtime queue was full */
        }
    }
    return n;
}

int lease_probe(int dir_fd, char *why, size_t whysz)
{
    int w = openat(dir_fd, PROBE_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                   0600);
    if (w < 0) {
        int e = errno;
        snprintf(why, whysz, "cannot create a scratch file (%s)", strerror(e));
        return -e;
    }
    close(w);
    int fd = openat(dir_fd, PROBE_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = fd < 0 ? -errno : lease_place(fd);
    if (rc == 0) {
        lease_release(fd);
    } else {
        FILE *f = fopen("/proc/sys/fs/leases-enable", "re");
        int on = 1;
        if (f) {
            if (fscanf(f, "%d", &on) != 1)
                on = 1;
            fclose(f);
        }
        snprintf(why, whysz, "%s", on ? strerror(-rc) : "fs.leases-enable is 0");
    }
    if (fd >= 0)
        close(fd);
    unlinkat(dir_fd, PROBE_NAME, 0);
    return rc;
}
