/* hunt.h - `mamori hunt`: Sigma rules over log files, a timeline and a summary.
 *
 * hunt_run loads the rules (src/core/sigma), walks the input paths, reads
 * every file with src/logs on N worker threads, matches each event, and
 * renders the findings into bounded per-thread timelines (src/hunt/timeline)
 * that are merged in time order onto the output; correlation rules run
 * afterwards over the base hits sorted by time. Diagnostics (rule load
 * errors, damaged input, progress) go to stderr; the summary goes to stderr
 * as text and, when asked, to a file as JSON. */
#ifndef MAMORI_HUNT_HUNT_H
#define MAMORI_HUNT_HUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hunt/finding.h"

#define HUNT_THREADS_MAX 256
#define HUNT_MEM_DEFAULT (128u << 20) /* timeline bytes in memory, all threads */
#define HUNT_FILES_MAX (1u << 22)     /* input files in one run */
#define HUNT_CORR_HITS_MAX (8u << 20) /* base hits kept for correlations */

struct hunt_opts {
    const char *const *rules; /* rule files or directories */
    size_t nrules;
    const char *mapping; /* log-source mapping file, NULL: built in */
    const char *const *paths;
    size_t npaths;
    enum hunt_format format;
    int min_level;     /* enum sg_level */
    unsigned threads;  /* 0: one per online CPU */
    FILE *out;         /* the timeline */
    const char *summary_json; /* file for the JSON summary, or NULL */
    bool summary;      /* text summary on stderr */
    bool progress;     /* progress line on stderr */
    bool quiet;        /* no rule-load or per-record diagnostics, only totals */
    size_t mem;        /* timeline bytes in memory; 0: HUNT_MEM_DEFAULT */
    const char *tmpdir;
};

/* Returns the exit status: 0 ran (findings or not), 1 some input could not
 * be read or the output could not be written, 2 bad rules path or mapping. */
int hunt_run(const struct hunt_opts *o);

#endif
