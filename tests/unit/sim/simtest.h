/* simtest.h - helpers shared by the simulator's unit tests: temporary
 * directories under /tmp (removed again), whole-file reads and writes.
 * Header-only (static inline) because each test_*.c is built on its own. */
#ifndef MAMORI_TESTS_SIMTEST_H
#define MAMORI_TESTS_SIMTEST_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new empty directory /tmp/mamori-simtest.XXXXXX; path into buf. */
static inline int st_tmpdir(char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "/tmp/mamori-simtest.XXXXXX");
    return mkdtemp(buf) ? 0 : -1;
}

static inline int st_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)f;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* rm -rf that never follows symlinks (FTW_PHYS). */
static inline void st_rm_rf(const char *path)
{
    if (getenv("KEEP"))
        return;
    nftw(path, st_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reads a whole file (malloc'd, caller frees); NULL on error. */
static inline unsigned char *st_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) < 0) {
        fclose(f);
        return NULL;
    }
    unsigned char *p = malloc((size_t)st.st_size + 1);
    size_t n = p ? fread(p, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (p && n != (size_t)st.st_size) {
        free(p);
        return NULL;
    }
    *len = n;
    return p;
}

static inline int st_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static inline int st_join(char *buf, size_t bufsz, const char *a, const char *b)
{
    int n = snprintf(buf, bufsz, "%s/%s", a, b);
    return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

#endif
