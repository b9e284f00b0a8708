/* logs.h - one reader over every log format `mamori hunt` reads.
 *
 * Data enters as a file path (or a buffer, for fuzzing) holding Windows event
 * logs (EVTX), JSON events (lines, concatenated objects or an array), raw
 * auditd logs, or syslog / auth.log lines; it leaves as one struct sg_event
 * at a time (core/sigma/event.h), the form the Sigma engine matches on.
 * Every skipped piece of input leaves through the caller's error callback
 * (file, record id or line, EVTX chunk, reason, events lost); the rest of the
 * file is read. Nothing in an event outlives the next lg_next call.
 *
 *   struct lg_reader *r = lg_reader_new();
 *   struct lg_opts o = {.on_error = report, .ctx = me};   // LG_AUTO sniffs
 *   if (lg_open(r, path, &o) == 0) {
 *       const struct sg_event *ev;
 *       while (lg_next(r, &ev) > 0)
 *           match(ev);
 *       lg_close(r);
 *   }
 *   lg_reader_free(r);
 *
 * One reader per thread (no global state); reuse it file after file. Memory
 * of one reader is bounded whatever the input: see LG_MEM_BOUND and
 * docs/logs.md for the parts. How each format is flattened into fields is in
 * docs/logs.md. */
#ifndef MAMORI_LOGS_LOGS_H
#define MAMORI_LOGS_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sigma/event.h"

enum lg_format { LG_AUTO, LG_EVTX, LG_JSON, LG_AUDITD, LG_SYSLOG };

/* Bounds (each exceeding input is reported and skipped, never the process). */
#define LG_LINE_MAX (1u << 20)  /* one text line, one JSON object/array item */
#define LG_MAX_FIELDS 1024      /* fields of one event (more: dropped, reported) */
#define LG_TEXT_CAP (4u << 20)  /* names and values built for one event */
#define LG_MEM_BOUND (40u << 20) /* everything one reader may hold, worst case */

/* One piece of damage. where: EVTX record id or 1-based line, 0 = the file
 * as a whole; chunk: EVTX chunk index or -1; lost: events this damage costs
 * (0 when none or unknown). reason is English text, valid during the call. */
struct lg_error {
    const char *file;
    uint64_t where;
    int64_t chunk;
    const char *reason;
    uint64_t lost;
};

typedef void (*lg_error_fn)(void *ctx, const struct lg_error *e);

struct lg_opts {
    lg_error_fn on_error; /* may be NULL */
    void *ctx;
    enum lg_format format; /* LG_AUTO: sniffed from the first bytes */
    int year;              /* for syslog lines without a year; 0 = the file's mtime */
    bool skip_unknown;     /* a file of no known format: return LG_EUNKNOWN, report nothing
                              (files met walking a directory: READMEs, rule files, ...) */
};

/* lg_open's result for a file of no known format when opts.skip_unknown. */
#define LG_EUNKNOWN MAMORI_ENOSYS

struct lg_reader;

/* NULL when out of memory. Buffers are allocated on first use by a format. */
struct lg_reader *lg_reader_new(void);
void lg_reader_free(struct lg_reader *r);

/* 0, or a negative MAMORI_E* after reporting why through o->on_error (the
 * file cannot be read, its format is unknown, ...). o may be NULL. */
int lg_open(struct lg_reader *r, const char *path, const struct lg_opts *o);
/* The same over a caller buffer that must outlive the reading; name is used
 * in events and errors; mtime year 0 means "this year". */
int lg_open_mem(struct lg_reader *r, const void *buf, size_t len, const char *name,
                const struct lg_opts *o);
/* 1 and *ev set (valid until the next call on r), or 0 at the end. */
int lg_next(struct lg_reader *r, const struct sg_event **ev);
/* Closes the input; stats stay readable until the next open. */
void lg_close(struct lg_reader *r);

struct lg_stats {
    uint64_t events; /* yielded */
    uint64_t lost;   /* events reported lost (sum of lg_error.lost) */
    uint64_t errors; /* error callbacks made */
    uint64_t bytes;  /* bytes read (of a .gz file: decompressed bytes) */
    enum lg_format format;
};
const struct lg_stats *lg_stats(const struct lg_reader *r);

/* The format of a file from its first bytes; path (may be NULL) only breaks
 * ties. LG_AUTO when unknown. */
enum lg_format lg_sniff(const void *head, size_t len, const char *path);
/* "auto", "evtx", "json", "auditd", "syslog". */
const char *lg_format_name(enum lg_format f);

#endif
