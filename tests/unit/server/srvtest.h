/* srvtest.h - helpers shared by the server unit tests: a fresh temporary
 * directory per test (removed afterwards) and the cmocka includes. */
#ifndef MAMORI_TESTS_SRVTEST_H
#define MAMORI_TESTS_SRVTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline int srvtest_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* A new directory under /tmp; the caller frees the returned path with srvtest_rmdir. */
static inline char *srvtest_mkdir(void)
{
    char *d = strdup("/tmp/mamori-srvtest.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static inline void srvtest_rmdir(char *d)
{
    if (d)
        nftw(d, srvtest_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

#endif
