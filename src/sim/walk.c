/* walk.c - sandbox-confined file access: the directory walk that picks the
 * files a simulated ransomware visits, and the path opener that never leaves
 * the sandbox.
 *
 * Input: the sandbox's directory descriptor. Output: lists of paths relative
 * to it (struct sim_filelist), or a descriptor of a file's parent directory.
 * Symlinks are never followed: the walk lstat()s every entry and skips
 * anything that is not a regular file or directory, and the opener walks
 * each path component with openat(O_NOFOLLOW | O_DIRECTORY) and refuses "..".
 * The marker and manifest at the root are never listed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "sim/sim_internal.h"

#define WALK_DEPTH_MAX 32
#define WALK_FILES_MAX 1000000

int sim_open_parent(int dirfd, const char *rel, const char **leaf)
{
    char buf[SIM_PATH_MAX];
    size_t n = strlen(rel);
    if (n == 0 || n >= sizeof buf || rel[0] == '/') {
        errno = EINVAL;
        return -1;
    }
    memcpy(buf, rel, n + 1);
    const char *slash = strrchr(rel, '/');
    *leaf = slash ? slash + 1 : rel;
    if (!**leaf || !strcmp(*leaf, "..") || !strcmp(*leaf, ".")) {
        errno = EINVAL;
        return -1;
    }
    int cur = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0)
        return -1;
    char *save = NULL;
    char *last = strrchr(buf, '/');
    if (!last)
        return cur;
    *last = '\0';
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            close(cur);
            errno = EPERM;
            return -1;
        }
        int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(cur);
        if (next < 0) {
            errno = e;
            return -1;
        }
        cur = next;
    }
    return cur;
}

int sim_filelist_add(struct sim_filelist *l, const char *path)
{
    if (l->n >= WALK_FILES_MAX)
        return MAMORI_EFULL;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        char **np = realloc(l->paths, nc * sizeof *np);
        if (!np)
            return MAMORI_ENOMEM;
        l->paths = np;
        l->cap = nc;
    }
    char *d = strdup(path);
    if (!d)
        return MAMORI_ENOMEM;
    l->paths[l->n++] = d;
    return 0;
}

void sim_filelist_free(struct sim_filelist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    *l = (struct sim_filelist){0};
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of fd (without . and ..). */
static int read_names(int fd, struct sim_filelist *names)
{
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return MAMORI_EIO;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return MAMORI_EIO;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            rc = sim_filelist_add(names, de->d_name);
    closedir(d);
    if (names->n)
        qsort(names->paths, names->n, sizeof *names->paths, cmp_str);
    return rc;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return b && a >= b && !strcmp(s + a - b, suf);
}

static bool keep_file(const struct sim_walk_opts *o, const char *prefix, const char *name)
{
    if (!*prefix && sim_is_reserved(name))
        return false;
    if (!o)
        return true;
    if (o->skip_notes && !strcmp(name, SIM_NOTE))
        return false;
    if (o->skip_ext && ends_with(name, o->skip_ext))
        return false;
    if (o->skip_newline && strchr(name, '\n'))
        return false;
    return true;
}

struct walk_ctx {
    const struct sim_walk_opts *o;
    struct sim_filelist *files; /* NULL when listing directories */
    struct sim_filelist *dirs;  /* NULL when listing files */
};

static int walk_dir(const struct walk_ctx *w, int fd, const char *prefix, int depth)
{
    if (depth > WALK_DEPTH_MAX)
        return 0;
    if (w->dirs) {
        int rc = sim_filelist_add(w->dirs, prefix);
        if (rc)
            return rc;
    }
    struct sim_filelist names = {0}, subdirs = {0};
    int rc = read_names(fd, &names);
    char path[SIM_PATH_MAX];
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        const char *name = names.paths[i];
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* vanished while walking */
        int pn = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", name);
        if (pn < 0 || (size_t)pn >= sizeof path)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = sim_filelist_add(&subdirs, name);
        else if (S_ISREG(st.st_mode) && w->files && keep_file(w->o, prefix, name)) {
            if (w->o && w->o->max && w->files->n >= w->o->max)
                break;
            rc = sim_filelist_add(w->files, path);
        }
    }
    for (size_t i = 0; rc == 0 && i < subdirs.n; i++) {
        if (w->files && w->o && w->o->max && w->files->n >= w->o->max)
            break;
        int sub = openat(fd, subdirs.paths[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            continue;
        int pn = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "",
                          subdirs.paths[i]);
        if (pn > 0 && (size_t)pn < sizeof path)
            rc = walk_dir(w, sub, path, depth + 1);
        close(sub);
    }
    sim_filelist_free(&names);
    sim_filelist_free(&subdirs);
    return rc;
}

int sim_walk(int dirfd, const struct sim_walk_opts *o, struct sim_filelist *out)
{
    struct walk_ctx w = {.o = o, .files = out};
    return walk_dir(&w, dirfd, "", 0);
}

int sim_walk_dirs(int dirfd, struct sim_filelist *out)
{
    struct walk_ctx w = {.dirs = out};
    return walk_dir(&w, dirfd, "", 0);
}
