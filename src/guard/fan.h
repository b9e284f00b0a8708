/* fan.h - the guard's fanotify plumbing.
 *
 * Two fanotify groups watch every protected filesystem (FAN_MARK_FILESYSTEM;
 * events outside the protected paths are filtered by path in the engine):
 *   content group  fd-mode, FAN_CLASS_PRE_CONTENT: FAN_OPEN_PERM (the process
 *                  waits for our answer), FAN_MODIFY, FAN_CLOSE_WRITE. Each
 *                  event carries an fd opened by the kernel that generates no
 *                  events itself, so reading file content never feeds back.
 *                  Permission and notification events share one queue, in
 *                  the order they happened.
 *   name group     FID mode (FAN_REPORT_DFID_NAME): FAN_DELETE and
 *                  FAN_RENAME with directory handles and names.
 * fan_read_names() turns a name-group event into paths (directory handles are
 * opened O_PATH, which generates no permission events). */
#ifndef MAMORI_GUARD_FAN_H
#define MAMORI_GUARD_FAN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define FAN_FS_MAX 16 /* protected filesystems */

struct fan_fs {
    dev_t dev;
    int32_t fsid[2];
    int mount_fd; /* a directory fd on the filesystem, for open_by_handle_at */
    char path[PATH_MAX];
};

struct fan {
    int content_fd; /* -1 until fan_open */
    int name_fd;    /* -1 when the kernel lacks FID reporting */
    bool perm;      /* permission events available */
    size_t nfs;
    struct fan_fs fs[FAN_FS_MAX];
    char degraded[1024]; /* what does not work here (kernel, filesystems), "" if all does */
};

/* Opens both groups; with perm false the content group never asks for
 * permission, as on a kernel without permission events (the guard's test of
 * that path: MAMORI_TEST_NO_PERM_EVENTS).
 * Returns 0 or MAMORI_EPERM (not root / no CAP_SYS_ADMIN), MAMORI_ENOSYS
 * (no fanotify); fills f->degraded for partial support. */
int fan_open(struct fan *f, bool perm);
/* Marks the filesystem holding path (once per filesystem). */
int fan_watch(struct fan *f, const char *path, char *err, size_t errsz);
/* Removes all marks and closes the groups. Safe to call twice. */
void fan_close(struct fan *f);

enum { FAN_RESP_ALLOW, FAN_RESP_DENY };
/* Answers one permission event; returns 0 or MAMORI_EIO. */
int fan_respond(int content_fd, int event_fd, int verdict);

/* A name-group event decoded into paths. */
struct fan_name_event {
    uint64_t mask;
    pid_t pid;
    char path[PATH_MAX];     /* created/deleted path, or rename target */
    char old_path[PATH_MAX]; /* rename source, "" otherwise */
};

/* Decodes the name-group event at ev (length len); 0 or a negative code when
 * the event cannot be resolved (e.g. its directory is already gone). */
int fan_decode_name(const struct fan *f, const void *ev, size_t len, struct fan_name_event *out);

/* Ignore marks on the inode behind an event fd (they survive modification;
 * mask is FAN_OPEN_PERM and/or FAN_MODIFY). The guard uses them to keep the
 * hot path cheap in peace time: FAN_MODIFY is ignored from a file's first
 * write until its close (one look per writing session, not one per
 * write(2)), and FAN_OPEN_PERM is ignored for files whose fingerprint the
 * guard already holds. fan_flush_ignores() drops them all at once, when an
 * attack begins and every open must be seen again. */
int fan_ignore(const struct fan *f, int event_fd, uint64_t mask);
int fan_unignore(const struct fan *f, int event_fd, uint64_t mask);
void fan_flush_ignores(const struct fan *f);

/* fstat of an event fd, plus the file's birth time in *btime_ns (0 when the
 * filesystem keeps none): an inode number is reused for new files, the
 * pair is not. One statx call, as cheap as fstat. 0 or -1 with errno. */
int fan_fstat(int fd, struct stat *st, int64_t *btime_ns);

/* Path of an event fd via /proc/self/fd; returns length or -1. */
ssize_t fan_fd_path(int fd, char *buf, size_t cap);

#endif
