/* timeline.h - the hunt's findings, kept sorted by time in bounded memory.
 *
 * Each worker thread owns one struct tl_buf and adds finished output lines
 * (already formatted for the chosen output) with their sort key. When a
 * buffer's bytes reach its bound it is sorted and spilled as a run to an
 * unlinked temporary file, so memory stays bounded whatever the number of
 * findings. At the end tl_merge() reads every run of every buffer (plus what
 * is still in memory) in one k-way merge and hands the lines to a writer in
 * time order. Lines leave exactly once; the temporary files vanish on close.
 *
 * Sort key: time (ns since 1970; unknown times first), then the input file's
 * index, the record, and the rule, so the order is stable run after run. */
#ifndef MAMORI_HUNT_TIMELINE_H
#define MAMORI_HUNT_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TL_LINE_MAX (64u << 10) /* one output line; longer ones are refused */
#define TL_RUNS_MAX 4096u       /* spilled runs per buffer */

struct tl_key {
    int64_t time_ns;
    uint32_t file;
    uint32_t rule;
    uint64_t record;
};

struct tl_buf;

/* cap: bytes held in memory before a spill (lines + index). tmpdir: where
 * runs go (an O_TMPFILE file, or a file unlinked at once). NULL on no memory. */
struct tl_buf *tl_buf_new(size_t cap, const char *tmpdir);
void tl_buf_free(struct tl_buf *b);
/* Copies the line. Returns 0, or a negative MAMORI_E* (line too long, spill
 * failed: the error text is left in tl_buf_error()). */
int tl_add(struct tl_buf *b, const struct tl_key *k, const char *line, size_t len);
const char *tl_buf_error(const struct tl_buf *b);
uint64_t tl_count(const struct tl_buf *b);
uint32_t tl_spills(const struct tl_buf *b);

typedef int (*tl_write_fn)(void *ctx, const struct tl_key *k, const char *line, size_t len);
/* Merges all buffers in key order into write (which returns <0 to stop).
 * Returns 0, or a negative MAMORI_E*. The buffers are consumed. */
int tl_merge(struct tl_buf **bufs, size_t n, tl_write_fn write, void *ctx);

#endif
