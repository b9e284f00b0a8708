/* proc.h - what the guard knows about one process, read from /proc.
 *
 * proc_read() fills a struct proc_info from /proc/PID (stat, exe, cmdline,
 * status); it is called while the process is blocked in a fanotify permission
 * event, so the process is alive and its record is consistent. The protection
 * rules (never act on ourselves, our ancestors, PID 1, kernel threads or an
 * allow-listed executable) live here too, so every action path uses one
 * definition. Nothing is cached here; see actor.h for the table. */
#ifndef MAMORI_GUARD_PROC_H
#define MAMORI_GUARD_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_EXE_MAX 256
#define PROC_CMDLINE_MAX 512
#define PROC_ANCESTORS_MAX 64

struct proc_info {
    pid_t pid;
    pid_t ppid;
    pid_t sid;
    uint64_t start_time; /* clock ticks after boot: (pid, start_time) names a process */
    uid_t uid;           /* real */
    uid_t euid;          /* effective */
    char state;          /* R S D T Z ... */
    bool kthread;
    char comm[17];
    char exe[PROC_EXE_MAX];         /* "" when unreadable (kernel thread, exited) */
    char cmdline[PROC_CMDLINE_MAX]; /* argv joined by spaces, truncated */
};

/* The guard's own identity: itself and the chain of its ancestors, read once
 * at start (our ancestors do not change while we live, except by reparenting
 * to an init, which is protected anyway). */
struct proc_self {
    pid_t self;
    size_t nancestors;
    pid_t ancestors[PROC_ANCESTORS_MAX];
    char exe[PROC_EXE_MAX];
};

/* Returns 0, MAMORI_ENOENT when the process is gone, MAMORI_EIO otherwise. */
int proc_read(pid_t pid, struct proc_info *out);
/* Only the state and parent (cheap: one read of /proc/PID/stat). */
int proc_read_stat(pid_t pid, struct proc_info *out);
void proc_self_init(struct proc_self *s);
/* True when /proc/PID/exe no longer names p->exe (the process called exec,
 * or is gone): one readlink, cheap enough for every event. */
bool proc_exe_changed(const struct proc_info *p);

/* True for PID 1, kernel threads, the guard and its ancestors. */
bool proc_is_untouchable(const struct proc_self *s, const struct proc_info *p);
bool proc_is_ancestor_or_self(const struct proc_self *s, pid_t pid);

/* True for shells and script interpreters: processes of these executables
 * are grouped with a same-executable parent only when their command lines
 * are identical too (a subshell), never for being the same interpreter. */
bool proc_is_interpreter(const char *exe);

/* Whether a thread of pid, blocked in open(2)/openat(2) (as it is while
 * the guard holds its FAN_OPEN_PERM event), asks for write access: read from
 * /proc/PID/task/TID/syscall. PROC_OPEN_WRITE (includes O_TRUNC on a
 * read-only open), PROC_OPEN_APPEND (O_WRONLY|O_APPEND: existing bytes stay),
 * PROC_OPEN_READ, or -1 unknown (no thread in an open call, or /proc
 * unreadable). A main thread that /proc still shows running (its event
 * came faster than it fell asleep) is looked at again, up to 0.5 ms. openat2's flags live in user memory: counted as write, the
 * cautious answer. */
enum { PROC_OPEN_READ = 0, PROC_OPEN_WRITE = 1, PROC_OPEN_APPEND = 2 };
int proc_opening_for_write(pid_t pid);

/* Children of pid (all its threads), up to max; returns the count. */
size_t proc_children(pid_t pid, pid_t *out, size_t max);

const char *proc_basename(const char *path);

/* An actor's key, the one name the guard, its vault, the agent's kill
 * responder and the server use for it: BOOT-PID-START, BOOT the first
 * PROC_BOOT_HEX hex digits of this boot's id (/proc/sys/kernel/random/
 * boot_id without dashes), PID the actor's root process and START its start
 * time in clock ticks after boot (net/command.h parses it). boot NULL: read
 * now with proc_boot_hex. Returns the length, or -1 if it does not fit cap. */
#define PROC_BOOT_HEX 8
#define PROC_ACTOR_KEY_MAX 48
int proc_actor_key(const char *boot, pid_t pid, uint64_t start, char *out, size_t cap);
/* The first ndigits (at most 32) hex digits of the boot id into out
 * (ndigits + 1 bytes); "" when /proc does not say. */
void proc_boot_hex(char *out, size_t ndigits);

#endif
