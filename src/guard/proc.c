/* proc.c - reading /proc/PID and the protection rules (see proc.h). */
#include "guard/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

#define PF_KTHREAD_FLAG 0x00200000u

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    int saved = errno;
    close(fd);
    errno = saved;
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* /proc/PID/stat: "pid (comm) state ppid pgrp session tty ..." where comm may
 * contain spaces and parentheses, so parse from the last ')'. */
int proc_read_stat(pid_t pid, struct proc_info *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return errno == ENOENT || errno == ESRCH ? MAMORI_ENOENT : MAMORI_EIO;
    char *open_paren = strchr(buf, '(');
    char *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return MAMORI_EIO;
    size_t clen = (size_t)(close_paren - open_paren - 1);
    if (clen >= sizeof out->comm)
        clen = sizeof out->comm - 1;
    memcpy(out->comm, open_paren + 1, clen);
    out->comm[clen] = '\0';
    out->pid = pid;
    /* fields after ')': 3 state, 4 ppid, 5 pgrp, 6 session, 7 tty, 8 tpgid,
     * 9 flags, ..., 22 starttime */
    char *p = close_paren + 2;
    int field = 3;
    unsigned long long v;
    while (*p && field <= 22) {
        char *end = strchr(p, ' ');
        if (field == 3) {
            out->state = *p;
        } else {
            v = strtoull(p, NULL, 10);
            if (field == 4)
                out->ppid = (pid_t)v;
            else if (field == 6)
                out->sid = (pid_t)v;
            else if (field == 9)
                out->kthread = (v & PF_KTHREAD_FLAG) != 0;
            else if (field == 22)
                out->start_time = v;
        }
        if (!end)
            break;
        p = end + 1;
        field++;
    }
    return field >= 22 ? 0 : MAMORI_EIO;
}

/* "Uid:\treal\teffective\tsaved\tfs" */
static void read_uids(pid_t pid, uid_t *real, uid_t *eff)
{
    char path[64], buf[2048];
    *real = *eff = (uid_t)-1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return;
    char *u = strstr(buf, "\nUid:");
    if (!u)
        return;
    char *end;
    *real = (uid_t)strtoul(u + 5, &end, 10);
    *eff = (uid_t)strtoul(end, NULL, 10);
}

int proc_read(pid_t pid, struct proc_info *out)
{
    memset(out, 0, sizeof *out);
    int rc = proc_read_stat(pid, out);
    if (rc < 0)
        return rc;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, out->exe, sizeof out->exe - 1);
    out->exe[n > 0 ? n : 0] = '\0';
    /* An executable replaced on disk reads as "/path (deleted)"; keep the path. */
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    n = read_small(path, out->cmdline, sizeof out->cmdline);
    if (n > 0) {
        for (ssize_t i = 0; i < n - 1; i++)
            if (out->cmdline[i] == '\0')
                out->cmdline[i] = ' ';
    } else {
        out->cmdline[0] = '\0';
    }
    read_uids(pid, &out->uid, &out->euid);
    return 0;
}

bool proc_exe_changed(const struct proc_info *p)
{
    char path[64], exe[PROC_EXE_MAX];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)p->pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n < 0)
        return p->exe[0] != '\0';
    exe[n] = '\0';
    return strcmp(exe, p->exe) != 0;
}

void proc_self_init(struct proc_self *s)
{
    memset(s, 0, sizeof *s);
    s->self = getpid();
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
    s->exe[n > 0 ? n : 0] = '\0';
    pid_t p = getppid();
    while (p > 1 && s->nancestors < PROC_ANCESTORS_MAX) {
        s->ancestors[s->nancestors++] = p;
        struct proc_info pi;
        if (proc_read_stat(p, &pi) < 0)
            break;
        p = pi.ppid;
    }
}

bool proc_is_ancestor_or_self(const struct proc_self *s, pid_t pid)
{
    if (pid == s->self)
        return true;
    for (size_t i = 0; i < s->nancestors; i++)
        if (s->ancestors[i] == pid)
            return true;
    return false;
}

bool proc_is_untouchable(const struct proc_self *s, const struct proc_info *p)
{
    return p->pid <= 1 || p->kthread || p->pid == 2 || p->ppid == 2 ||
           proc_is_ancestor_or_self(s, p->pid);
}

const char *proc_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool proc_is_interpreter(const char *exe)
{
    static const char *const names[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "fish",
                                        "busybox", "python", "perl", "ruby", "node", "php",
                                        "lua", "tclsh", "pwsh"};
    const char *b = proc_basename(exe);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t l = strlen(names[i]);
        /* "python3.11" and "perl5.36" count as python and perl */
        if (!strncmp(b, names[i], l) && (b[l] == '\0' || b[l] == '.' || (b[l] >= '0' && b[l] <= '9')))
            return true;
    }
    return false;
}

/* O_WRONLY|O_APPEND cannot change a byte that is already there. */
static int mode_of(unsigned long long flags)
{
    if ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC))
        return PROC_OPEN_READ;
    if ((flags & O_ACCMODE) == O_WRONLY && (flags & O_APPEND) && !(flags & O_TRUNC))
        return PROC_OPEN_APPEND;
    return PROC_OPEN_WRITE;
}

/* One /proc/.../syscall line: "NR ARG1 ARG2 ARG3 ...". */
static int open_call_writes(const char *line)
{
    enum { NR_OPEN = 2, NR_CREAT = 85, NR_OPENAT = 257, NR_OPENAT2 = 437 };
    char *end;
    long nr = strtol(line, &end, 10);
    unsigned long long arg[3] = {0};
    for (int i = 0; i < 3 && *end == ' '; i++)
        arg[i] = strtoull(end + 1, &end, 16);
    switch (nr) {
    case NR_OPEN: return mode_of(arg[1]);
    case NR_OPENAT: return mode_of(arg[2]);
    case NR_CREAT:
    case NR_OPENAT2: return PROC_OPEN_WRITE;
    default: return -1;
    }
}

/* The opener's event can reach the guard (on another CPU) before the opener
 * has gone to sleep waiting for the answer: /proc says "running" for that
 * moment, and the syscall is not readable yet. It is asleep within
 * microseconds; look again at most this many times, 10 us apart. */
#define RUNNING_RETRIES 50

int proc_opening_for_write(pid_t pid)
{
    char path[64], line[256];
    /* Most openers are single-threaded: the main thread is the one waiting. */
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    for (int i = 0; i <= RUNNING_RETRIES; i++) {
        if (read_small(path, line, sizeof line) <= 0)
            break;
        if (strncmp(line, "running", 7) != 0) {
            int w = open_call_writes(line);
            if (w >= 0)
                return w;
            break; /* asleep in another call: another thread is the opener */
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10000};
        nanosleep(&ts, NULL);
    }
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int verdict = -1;
    struct dirent *de;
    while ((de = readdir(d)) && verdict != PROC_OPEN_WRITE) {
        if (de->d_name[0] == '.')
            continue;
        char spath[320];
        snprintf(spath, sizeof spath, "/proc/%d/task/%s/syscall", (int)pid, de->d_name);
        if (read_small(spath, line, sizeof line) <= 0)
            continue;
        /* the most dangerous open among the threads: write, append, read */
        int w = open_call_writes(line);
        if (w == PROC_OPEN_WRITE || (w == PROC_OPEN_APPEND && verdict != PROC_OPEN_WRITE) ||
            (w == PROC_OPEN_READ && verdict < 0))
            verdict = w;
    }
    closedir(d);
    return verdict;
}

size_t proc_children(pid_t pid, pid_t *out, size_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        if (de->d_name[0] == '.')
            continue;
        char cpath[320], buf[4096];
        snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, de->d_name);
        if (read_small(cpath, buf, sizeof buf) <= 0)
            continue;
        for (char *p = buf; *p && n < max;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            out[n++] = (pid_t)v;
            p = end;
            while (*p == ' ')
                p++;
        }
    }
    closedir(d);
    return n;
}

void proc_boot_hex(char *out, size_t ndigits)
{
    char buf[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    size_t n = 0;
    for (const char *p = buf; *p && n < ndigits && n < 32; p++)
        if (*p != '-' && *p != '\n')
            out[n++] = *p;
    out[n] = '\0';
}

int proc_actor_key(const char *boot, pid_t pid, uint64_t start, char *out, size_t cap)
{
    char b[PROC_BOOT_HEX + 1];
    if (!boot) {
        proc_boot_hex(b, PROC_BOOT_HEX);
        boot = b;
    }
    int n = snprintf(out, cap, "%s-%d-%llu", boot, (int)pid, (unsigned long long)start);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
