/* sigtest_data.h - where the Sigma tests find the SigmaHQ data set
 * (../shared/data/sigma beside the repository, or $MAMORI_SIGMA_DATA), and
 * a diag callback that groups rejection reasons for a readable report. */
#ifndef MAMORI_TESTS_SIGTEST_DATA_H
#define MAMORI_TESTS_SIGTEST_DATA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static inline const char *sigtest_data_dir(void)
{
    static const char *cands[] = {NULL, "../shared/data/sigma", "/work/shared/data/sigma"};
    cands[0] = getenv("MAMORI_SIGMA_DATA");
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        struct stat st;
        if (cands[i] && stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode))
            return cands[i];
    }
    return NULL;
}

/* Rejections grouped by reason (the text after the last "at"/quote noise is
 * kept: reasons are short fixed phrases plus a detail). */
struct sigtest_reasons {
    char reason[256][160];
    char example[256][320];
    unsigned count[256];
    unsigned n, total;
};

static inline void sigtest_diag(void *ctx, const char *file, unsigned line, unsigned col,
                                const char *reason)
{
    struct sigtest_reasons *r = ctx;
    r->total++;
    char key[160];
    snprintf(key, sizeof key, "%s", reason);
    /* group on the phrase before the first quote: details differ per rule */
    char *q = strpbrk(key, "'\"");
    if (q && q - key > 12)
        *q = '\0';
    for (unsigned i = 0; i < r->n; i++) {
        if (!strcmp(r->reason[i], key)) {
            r->count[i]++;
            return;
        }
    }
    if (r->n == 256)
        return;
    snprintf(r->reason[r->n], sizeof r->reason[r->n], "%s", key);
    snprintf(r->example[r->n], sizeof r->example[r->n], "%s:%u:%u: %s", file, line, col, reason);
    r->count[r->n++] = 1;
}

static inline void sigtest_print(const struct sigtest_reasons *r)
{
    for (unsigned i = 0; i < r->n; i++)
        fprintf(stderr, "  %5u x %s\n          e.g. %s\n", r->count[i], r->reason[i], r->example[i]);
}

#endif
