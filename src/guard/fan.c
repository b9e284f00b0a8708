/* fan.c - fanotify groups, marks and event decoding (see fan.h). */
#include "guard/fan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/err.h"

#ifndef FAN_RENAME
#define FAN_RENAME 0x10000000
#endif
#ifndef FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
#define FAN_EVENT_INFO_TYPE_OLD_DFID_NAME 10
#define FAN_EVENT_INFO_TYPE_NEW_DFID_NAME 12
#endif

#define CONTENT_MASK (FAN_OPEN_PERM | FAN_MODIFY | FAN_CLOSE_WRITE)
#define FAN_NO_PERM_TEXT                                                                           \
    "no fanotify permission events: an encryptor is stopped after, not before, it opens "          \
    "its next file (a pool of threads may destroy many files first, copy-then-delete and "         \
    "rename-then-encrypt are not recognised), and no pre-images are kept"

/* Creations are not needed: a new file is judged when it is closed. */
#define NAME_MASK (FAN_DELETE | FAN_RENAME)

int fan_open(struct fan *f, bool perm)
{
    memset(f, 0, sizeof *f);
    f->content_fd = f->name_fd = -1;
    if (!perm) { /* as on a kernel without them (a test of that path) */
        f->content_fd = fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_NOTIF,
                                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
        if (f->content_fd < 0)
            return errno == EPERM ? MAMORI_EPERM : MAMORI_ENOSYS;
        snprintf(f->degraded, sizeof f->degraded, "%s", FAN_NO_PERM_TEXT);
        goto names;
    }
    f->content_fd = fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_PRE_CONTENT,
                                  O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
    if (f->content_fd < 0 && errno == EINVAL) /* O_NOATIME refused on old kernels */
        f->content_fd = fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_PRE_CONTENT,
                                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (f->content_fd < 0) {
        int e = errno;
        if (e == EPERM)
            return MAMORI_EPERM;
        if (e == ENOSYS)
            return MAMORI_ENOSYS;
        /* permission events compiled out: fall back to notification only */
        f->content_fd = fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_NOTIF,
                                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
        if (f->content_fd < 0)
            return errno == EPERM ? MAMORI_EPERM : MAMORI_ENOSYS;
        snprintf(f->degraded, sizeof f->degraded, "%s", FAN_NO_PERM_TEXT);
    } else {
        f->perm = true;
    }
names:
    f->name_fd = fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME,
                               O_RDONLY | O_CLOEXEC);
    if (f->name_fd < 0) {
        size_t l = strlen(f->degraded);
        snprintf(f->degraded + l, sizeof f->degraded - l,
                 "%sno fanotify name events (kernel < 5.9): renames, deletions and ransom "
                 "notes are not seen",
                 l ? "; " : "");
    }
    return 0;
}

static int mark(int fd, uint64_t mask, const char *path)
{
    return fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, path);
}

int fan_watch(struct fan *f, const char *path, char *err, size_t errsz)
{
    struct stat st;
    struct statfs sfs;
    if (stat(path, &st) < 0 || statfs(path, &sfs) < 0) {
        snprintf(err, errsz, "cannot watch %s: %s", path, strerror(errno));
        return MAMORI_ENOENT;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errsz, "cannot watch %s: not a directory", path);
        return MAMORI_EINVAL;
    }
    for (size_t i = 0; i < f->nfs; i++)
        if (f->fs[i].dev == st.st_dev)
            return 0;
    if (f->nfs == FAN_FS_MAX) {
        snprintf(err, errsz, "cannot watch %s: more than %d filesystems", path, FAN_FS_MAX);
        return MAMORI_EFULL;
    }
    /* open_by_handle_at needs a real (not O_PATH) fd on the filesystem, and
     * it must be opened before the marks exist: once they do, our own open
     * would wait for an answer only this thread can give. */
    struct fan_fs *fs = &f->fs[f->nfs];
    fs->mount_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->mount_fd < 0) {
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
        return MAMORI_EIO;
    }
    if (mark(f->content_fd, f->perm ? CONTENT_MASK : (FAN_MODIFY | FAN_CLOSE_WRITE), path) < 0) {
        int e = errno;
        snprintf(err, errsz, "cannot watch the filesystem of %s: %s", path, strerror(e));
        close(fs->mount_fd);
        fs->mount_fd = -1;
        return e == EPERM ? MAMORI_EPERM : MAMORI_EIO;
    }
    if (f->name_fd >= 0 && mark(f->name_fd, NAME_MASK, path) < 0 &&
        mark(f->name_fd, FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO, path) < 0) {
        /* e.g. a filesystem without file handles: keep content events */
        size_t l = strlen(f->degraded);
        snprintf(f->degraded + l, sizeof f->degraded - l, "%sno name events on %s (%s)",
                 l ? "; " : "", path, strerror(errno));
    }
    fs->dev = st.st_dev;
    memcpy(fs->fsid, &sfs.f_fsid, sizeof fs->fsid);
    snprintf(fs->path, sizeof fs->path, "%s", path);
    f->nfs++;
    return 0;
}

void fan_close(struct fan *f)
{
    for (size_t i = 0; i < f->nfs; i++) {
        if (f->content_fd >= 0)
            fanotify_mark(f->content_fd, FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM,
                          f->perm ? CONTENT_MASK : (FAN_MODIFY | FAN_CLOSE_WRITE), AT_FDCWD,
                          f->fs[i].path);
        if (f->name_fd >= 0)
            fanotify_mark(f->name_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD,
                          f->fs[i].path);
        if (f->fs[i].mount_fd >= 0)
            close(f->fs[i].mount_fd);
        f->fs[i].mount_fd = -1;
    }
    f->nfs = 0;
    /* Closing a group answers every pending permission event with "allow". */
    if (f->content_fd >= 0)
        close(f->content_fd);
    if (f->name_fd >= 0)
        close(f->name_fd);
    f->content_fd = f->name_fd = -1;
}

int fan_respond(int content_fd, int event_fd, int verdict)
{
    struct fanotify_response r = {.fd = event_fd,
                                  .response = verdict == FAN_RESP_DENY ? FAN_DENY : FAN_ALLOW};
    return write(content_fd, &r, sizeof r) == (ssize_t)sizeof r ? 0 : MAMORI_EIO;
}

int fan_ignore(const struct fan *f, int event_fd, uint64_t mask)
{
    return fanotify_mark(f->content_fd,
                         FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, mask,
                         event_fd, NULL) == 0
               ? 0
               : MAMORI_EIO;
}

int fan_unignore(const struct fan *f, int event_fd, uint64_t mask)
{
    return fanotify_mark(f->content_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, mask, event_fd,
                         NULL) == 0
               ? 0
               : MAMORI_EIO;
}

void fan_flush_ignores(const struct fan *f)
{
    /* FLUSH without MOUNT/FILESYSTEM removes every inode mark of the group:
     * the guard's inode marks are all ignore marks. */
    if (f->nfs > 0)
        fanotify_mark(f->content_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, f->fs[0].path);
}

int fan_fstat(int fd, struct stat *st, int64_t *btime_ns)
{
    struct statx x;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME, &x) <
        0)
        return -1;
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
    st->st_ino = (ino_t)x.stx_ino;
    st->st_mode = x.stx_mode;
    st->st_nlink = x.stx_nlink;
    st->st_uid = x.stx_uid;
    st->st_gid = x.stx_gid;
    st->st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);
    st->st_size = (off_t)x.stx_size;
    st->st_blksize = (blksize_t)x.stx_blksize;
    st->st_blocks = (blkcnt_t)x.stx_blocks;
    st->st_atim = (struct timespec){x.stx_atime.tv_sec, x.stx_atime.tv_nsec};
    st->st_mtim = (struct timespec){x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec};
    st->st_ctim = (struct timespec){x.stx_ctime.tv_sec, x.stx_ctime.tv_nsec};
    *btime_ns = (x.stx_mask & STATX_BTIME)
                    ? (int64_t)x.stx_btime.tv_sec * 1000000000 + x.stx_btime.tv_nsec
                    : 0;
    return 0;
}

ssize_t fan_fd_path(int fd, char *buf, size_t cap)
{
    char l[64];
    snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(l, buf, cap - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Name events have variable length and are not 8-byte aligned in the read
 * buffer: every structure is copied out with memcpy before it is read. */

/* One info record (rec .. rec_end): header, fsid, file handle, then a
 * NUL-terminated name. */
static int resolve_dfid_name(const struct fan *f, const char *rec, const char *rec_end,
                             char *out, size_t outsz)
{
    const size_t fsid_off = sizeof(struct fanotify_event_info_header);
    const size_t fh_off = fsid_off + sizeof(__kernel_fsid_t);
    struct file_handle fh_hdr;
    if (rec + fh_off + sizeof fh_hdr > rec_end)
        return MAMORI_EINVAL;
    int32_t fsid[2];
    memcpy(fsid, rec + fsid_off, sizeof fsid);
    memcpy(&fh_hdr, rec + fh_off, sizeof fh_hdr);
    const char *handle_bytes = rec + fh_off + sizeof fh_hdr;
    if (fh_hdr.handle_bytes > MAX_HANDLE_SZ || handle_bytes + fh_hdr.handle_bytes > rec_end)
        return MAMORI_EINVAL;
    const struct fan_fs *fs = NULL;
    for (size_t i = 0; i < f->nfs; i++)
        if (!memcmp(f->fs[i].fsid, fsid, sizeof fsid))
            fs = &f->fs[i];
    if (!fs || fs->mount_fd < 0)
        return MAMORI_ENOENT;
    /* The name follows the handle, NUL-terminated inside the record. */
    const char *name = handle_bytes + fh_hdr.handle_bytes;
    if (memchr(name, '\0', (size_t)(rec_end - name)) == NULL)
        return MAMORI_EINVAL;
    union {
        struct file_handle fh;
        char raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    } h;
    h.fh = fh_hdr;
    memcpy(h.fh.f_handle, handle_bytes, fh_hdr.handle_bytes);
    int dfd = open_by_handle_at(fs->mount_fd, &h.fh, O_PATH | O_CLOEXEC);
    if (dfd < 0)
        return MAMORI_ENOENT;
    char dir[PATH_MAX];
    ssize_t n = fan_fd_path(dfd, dir, sizeof dir);
    close(dfd);
    if (n < 0)
        return MAMORI_ENOENT;
    int w = (name[0] && strcmp(name, ".")) ? snprintf(out, outsz, "%s/%s", dir, name)
                                           : snprintf(out, outsz, "%s", dir);
    return w < 0 || (size_t)w >= outsz ? MAMORI_ERANGE : 0;
}

int fan_decode_name(const struct fan *f, const void *ev, size_t len, struct fan_name_event *out)
{
    struct fanotify_event_metadata m;
    out->path[0] = out->old_path[0] = '\0';
    if (len < sizeof m)
        return MAMORI_EINVAL;
    memcpy(&m, ev, sizeof m);
    out->mask = m.mask;
    out->pid = m.pid;
    const char *p = (const char *)ev + m.metadata_len;
    const char *end = (const char *)ev + (m.event_len < len ? m.event_len : len);
    int rc = MAMORI_ENOENT;
    while (p + sizeof(struct fanotify_event_info_header) <= end) {
        struct fanotify_event_info_header h;
        memcpy(&h, p, sizeof h);
        if (h.len < sizeof h || p + h.len > end)
            return MAMORI_EINVAL;
        const char *rec_end = p + h.len;
        switch (h.info_type) {
        case FAN_EVENT_INFO_TYPE_DFID_NAME:
        case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
            rc = resolve_dfid_name(f, p, rec_end, out->path, sizeof out->path);
            break;
        case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
            resolve_dfid_name(f, p, rec_end, out->old_path, sizeof out->old_path);
            break;
        default:
            break;
        }
        p = rec_end;
    }
    return rc;
}
