/* files.c - walking the hunt's input paths (fts, physical walk: a path
 * named on the command line is followed when it is a symbolic link; links
 * inside a tree are not). */
#include "hunt/files.h"

#include <errno.h>
#include <fts.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "hunt/hunt.h"

static int push(struct hunt_files *f, const char *path, uint64_t size, bool walked)
{
    if (f->n >= HUNT_FILES_MAX)
        return MAMORI_EFULL;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        struct hunt_file *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return MAMORI_ENOMEM;
        f->v = v;
        f->cap = cap;
    }
    char *p = strdup(path);
    if (!p)
        return MAMORI_ENOMEM;
    f->v[f->n++] = (struct hunt_file){p, size, walked};
    f->bytes += size;
    return 0;
}

int files_add(struct hunt_files *f, const char *path, files_error_fn err, void *ctx)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        f->errors++;
        if (err)
            err(ctx, path, strerror(errno));
        return 0;
    }
    if (S_ISREG(st.st_mode))
        return push(f, path, (uint64_t)st.st_size, false);
    if (!S_ISDIR(st.st_mode)) {
        f->errors++;
        if (err)
            err(ctx, path, "neither a regular file nor a directory");
        return 0;
    }
    char *const roots[] = {(char *)path, NULL};
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, NULL);
    if (!fts) {
        f->errors++;
        if (err)
            err(ctx, path, strerror(errno));
        return 0;
    }
    int rc = 0;
    FTSENT *e;
    while (!rc && (e = fts_read(fts))) {
        switch (e->fts_info) {
        case FTS_F:
            rc = push(f, e->fts_path, (uint64_t)e->fts_statp->st_size, true);
            break;
        case FTS_DNR:
        case FTS_ERR:
        case FTS_NS:
            f->errors++;
            if (err)
                err(ctx, e->fts_path, strerror(e->fts_errno));
            break;
        default:
            break; /* directories, symlinks in the tree, devices, sockets */
        }
    }
    fts_close(fts);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct hunt_file *)a)->path, ((const struct hunt_file *)b)->path);
}

void files_sort(struct hunt_files *f)
{
    if (f->n)
        qsort(f->v, f->n, sizeof *f->v, by_path);
}

void files_free(struct hunt_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].path);
    free(f->v);
    *f = (struct hunt_files){0};
}
