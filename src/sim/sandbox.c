/* sandbox.c - the rules that keep the simulator inside its own directory.
 *
 * A sandbox is a directory the simulator created itself: `sim corpus` makes it
 * (it must not exist, or be empty) and writes the marker SIM_MARKER into it.
 * Every command that changes files opens the sandbox first and is refused
 * (MAMORI_EPERM, reason in msg) when:
 *   - DIR is empty, or resolves (realpath) to "/";
 *   - the resolved directory has no regular-file marker directly in it (a
 *     symlinked marker does not count) or the marker lacks its first line;
 *   - a FILE given to encrypt-one resolves outside the resolved root, or is
 *     the marker or the manifest.
 * Input: paths from the command line. Output: struct sim_sandbox holding the
 * resolved root and an O_DIRECTORY descriptor that all later access goes
 * through (walk.c opens every component with O_NOFOLLOW). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/err.h"
#include "sim/sim_internal.h"

#define MARKER_MAGIC "mamori-sim-sandbox v1 "

bool sim_is_reserved(const char *rel)
{
    return !strcmp(rel, SIM_MARKER) || !strcmp(rel, SIM_MANIFEST);
}

void sim_sandbox_close(struct sim_sandbox *sb)
{
    if (sb->dirfd >= 0)
        close(sb->dirfd);
    sb->dirfd = -1;
}

static int resolve_dir(struct sim_sandbox *sb, const char *dir, char *msg, size_t msgsz)
{
    sb->dirfd = -1;
    if (!dir || !*dir) {
        sim_msg(msg, msgsz, "no sandbox directory given (--dir)");
        return MAMORI_EINVAL;
    }
    char buf[PATH_MAX];
    if (!realpath(dir, buf)) {
        sim_msg(msg, msgsz, "refusing: cannot resolve sandbox directory %s: %s", dir,
                strerror(errno));
        return MAMORI_EPERM;
    }
    if (!strcmp(buf, "/")) {
        sim_msg(msg, msgsz, "refusing: %s resolves to the root directory /", dir);
        return MAMORI_EPERM;
    }
    if (strlen(buf) >= sizeof sb->root) {
        sim_msg(msg, msgsz, "refusing: sandbox path %s is too long", dir);
        return MAMORI_EPERM;
    }
    memcpy(sb->root, buf, strlen(buf) + 1);
    sb->dirfd = open(sb->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sb->dirfd < 0) {
        sim_msg(msg, msgsz, "refusing: cannot open sandbox directory %s: %s", sb->root,
                strerror(errno));
        return MAMORI_EPERM;
    }
    return 0;
}

static int check_marker(const struct sim_sandbox *sb, char *msg, size_t msgsz)
{
    struct stat st;
    if (fstatat(sb->dirfd, SIM_MARKER, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
        sim_msg(msg, msgsz,
                "refusing: %s is not a simulator sandbox (no regular file %s in it; "
                "create one with 'mamori sim corpus --dir DIR')",
                sb->root, SIM_MARKER);
        return MAMORI_EPERM;
    }
    int fd = openat(sb->dirfd, SIM_MARKER, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        sim_msg(msg, msgsz, "refusing: cannot read marker %s/%s: %s", sb->root, SIM_MARKER,
                strerror(errno));
        return MAMORI_EPERM;
    }
    char head[sizeof MARKER_MAGIC] = {0};
    ssize_t n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n != (ssize_t)(sizeof head - 1) || memcmp(head, MARKER_MAGIC, sizeof head - 1)) {
        sim_msg(msg, msgsz, "refusing: marker %s/%s is not a mamori sandbox marker", sb->root,
                SIM_MARKER);
        return MAMORI_EPERM;
    }
    return 0;
}

int sim_sandbox_open(struct sim_sandbox *sb, const char *dir, char *msg, size_t msgsz)
{
    int rc = resolve_dir(sb, dir, msg, msgsz);
    if (rc == 0)
        rc = check_marker(sb, msg, msgsz);
    if (rc)
        sim_sandbox_close(sb);
    return rc;
}

int sim_sandbox_relpath(const struct sim_sandbox *sb, const char *file, char *rel,
                        size_t relsz, char *msg, size_t msgsz)
{
    char buf[PATH_MAX];
    if (!realpath(file, buf)) {
        sim_msg(msg, msgsz, "cannot resolve %s: %s", file, strerror(errno));
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    }
    size_t rl = strlen(sb->root);
    if (strncmp(buf, sb->root, rl) || buf[rl] != '/' || !buf[rl + 1]) {
        sim_msg(msg, msgsz, "refusing: %s (resolves to %s) is outside the sandbox %s", file,
                buf, sb->root);
        return MAMORI_EPERM;
    }
    const char *r = buf + rl + 1;
    if (sim_is_reserved(r)) {
        sim_msg(msg, msgsz, "refusing: %s is the sandbox's own %s file", file, r);
        return MAMORI_EPERM;
    }
    if (strlen(r) >= relsz) {
        sim_msg(msg, msgsz, "path %s is too long", file);
        return MAMORI_ERANGE;
    }
    memcpy(rel, r, strlen(r) + 1);
    return 0;
}

/* DIR must be new, or an existing empty real directory. */
static int make_empty_dir(const char *dir, char *msg, size_t msgsz)
{
    if (mkdir(dir, 0755) == 0)
        return 0;
    if (errno != EEXIST) {
        sim_msg(msg, msgsz, "cannot create sandbox directory %s: %s", dir, strerror(errno));
        return MAMORI_EIO;
    }
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        sim_msg(msg, msgsz, "refusing: %s exists and is not a directory", dir);
        return MAMORI_EPERM;
    }
    DIR *d = opendir(dir);
    if (!d) {
        sim_msg(msg, msgsz, "cannot read %s: %s", dir, strerror(errno));
        return MAMORI_EIO;
    }
    struct dirent *de;
    int nonempty = 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            nonempty = 1;
    closedir(d);
    if (nonempty) {
        sim_msg(msg, msgsz, "refusing: %s exists and is not empty", dir);
        return MAMORI_EPERM;
    }
    return 0;
}

static int write_marker(const struct sim_sandbox *sb, char *msg, size_t msgsz)
{
    unsigned char tok[16];
    if (RAND_bytes(tok, sizeof tok) != 1) {
        sim_msg(msg, msgsz, "cannot get random bytes for the sandbox token");
        return MAMORI_EIO;
    }
    char line[256];
    int n = snprintf(line, sizeof line, MARKER_MAGIC "token=");
    for (size_t i = 0; i < sizeof tok; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%02x", tok[i]);
    n += snprintf(line + n, sizeof line - (size_t)n, " pid=%ld created=%lld\n", (long)getpid(),
                  (long long)time(NULL));
    int fd = openat(sb->dirfd, SIM_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0644);
    if (fd < 0) {
        sim_msg(msg, msgsz, "cannot create marker %s/%s: %s", sb->root, SIM_MARKER,
                strerror(errno));
        return MAMORI_EIO;
    }
    int rc = sim_write_all(fd, line, (size_t)n);
    if (close(fd) < 0)
        rc = MAMORI_EIO;
    if (rc)
        sim_msg(msg, msgsz, "cannot write marker %s/%s", sb->root, SIM_MARKER);
    return rc;
}

int sim_sandbox_create(struct sim_sandbox *sb, const char *dir, char *msg, size_t msgsz)
{
    sb->dirfd = -1;
    if (!dir || !*dir) {
        sim_msg(msg, msgsz, "no sandbox directory given (--dir)");
        return MAMORI_EINVAL;
    }
    int rc = make_empty_dir(dir, msg, msgsz);
    if (rc == 0)
        rc = resolve_dir(sb, dir, msg, msgsz);
    if (rc == 0)
        rc = write_marker(sb, msg, msgsz);
    if (rc)
        sim_sandbox_close(sb);
    return rc;
}
