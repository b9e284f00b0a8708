/* files.h - the input files of a hunt: paths walked into a sorted list.
 *
 * Each path on the command line is a file or a directory; directories are
 * walked recursively (their files are marked walked, so that files of no log
 * format met there can be skipped quietly) without following symbolic links inside them (no loops,
 * no escaping the tree). Entries that are not regular files are skipped;
 * what cannot be opened or read is reported through the callback and
 * counted. The list is sorted by path, so a file's index (used to keep the
 * timeline's order stable) does not depend on the walk. Bounded by
 * HUNT_FILES_MAX entries. */
#ifndef MAMORI_HUNT_FILES_H
#define MAMORI_HUNT_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hunt_file {
    char *path;
    uint64_t size;
    bool walked; /* found in a directory, not named on the command line */
};

struct hunt_files {
    struct hunt_file *v;
    size_t n, cap;
    uint64_t bytes;
    size_t errors;
};

typedef void (*files_error_fn)(void *ctx, const char *path, const char *reason);

/* Adds path (file or tree). Returns 0, or MAMORI_ENOMEM / MAMORI_EFULL. */
int files_add(struct hunt_files *f, const char *path, files_error_fn err, void *ctx);
void files_sort(struct hunt_files *f);
void files_free(struct hunt_files *f);

#endif
