/* logs_int.h - what the files of src/logs share, not for use outside it.
 *
 *   logs.c          reader lifetime, open (sniff, dispatch), errors, stats
 *   logs_input.c    bounded byte source (file, .gz, memory) and line access
 *   logs_event.c    event builder: field array and text arena of one event
 *   logs_time.c     timestamps (ISO 8601 / RFC 3339, civil dates) -> ns
 *   logs_evtx.c     EVTX records (src/evtx) -> events, no copies
 *   logs_json.c     JSON objects (jansson) -> flattened events
 *   logs_auditd.c   audit.log records joined by serial -> events
 *   logs_syslog.c   syslog lines (BSD, RFC 3339, RFC 5424) -> events
 *   logs_auth.c     sshd / sudo / su / user-management messages -> fields
 *
 * A reader holds one format state at a time; each format's buffers are
 * allocated on first use and kept for the next file. */
#ifndef MAMORI_LOGS_INT_H
#define MAMORI_LOGS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "evtx/evtx.h"
#include "logs/logs.h"

#define LG_NAME_MAX 4096                    /* file name kept for events and errors */
#define LG_INBUF_CAP (2 * LG_LINE_MAX + 16) /* input window: a whole line always fits */

/* ---------------------------------------------------------- input -- */

/* Bytes of one file or buffer through a window of LG_INBUF_CAP. Lines are
 * handed out NUL-terminated in place (the newline is overwritten). */
struct lg_input {
    gzFile gz;          /* file input (zlib reads plain files as they are) */
    const uint8_t *mem; /* memory input */
    size_t memlen, mempos;
    char *buf;
    size_t start, end; /* unread bytes are buf[start..end) */
    bool eof, ioerr;
    uint64_t line;  /* 1-based line number of buf[start] */
    uint64_t bytes; /* bytes delivered so far */
};

/* 0, or -errno. *compressed tells whether the file is gzip. */
int lg_in_open_path(struct lg_input *in, const char *path, bool *compressed);
void lg_in_open_mem(struct lg_input *in, const void *buf, size_t len);
void lg_in_close(struct lg_input *in);
/* Makes at least want bytes (<= LG_LINE_MAX + 1) readable from buf + start
 * unless the input ends first; returns how many are. */
size_t lg_in_fill(struct lg_input *in, size_t want);
/* Consumes n readable bytes, counting the lines passed. */
void lg_in_consume(struct lg_input *in, size_t n);

enum { LG_LINE_END = 0, LG_LINE_OK = 1, LG_LINE_LONG = 2 };
/* Next line (without "\n" or "\r\n"), NUL-terminated, writable in place until
 * the next call; *no its line number. LG_LINE_LONG: the line exceeded
 * LG_LINE_MAX and was skipped whole (*no still says which). */
int lg_in_line(struct lg_input *in, char **line, size_t *len, uint64_t *no);

/* ---------------------------------------------------------- event -- */

/* Fields of one event: names and values either point at text that lives
 * until the next lg_next (the input window, a parser's strings) or are
 * copied into the arena. Past a bound, adds fail and dropped/full is set. */
struct lg_evb {
    struct sg_field *f;
    uint32_t n;
    bool dropped; /* more than LG_MAX_FIELDS */
    char *text;
    size_t tlen;
    bool full; /* the arena (LG_TEXT_CAP) ran out */
};

int lg_evb_init(struct lg_evb *b);
void lg_evb_fini(struct lg_evb *b);
static inline void lg_evb_reset(struct lg_evb *b)
{
    b->n = 0;
    b->tlen = 0;
    b->dropped = b->full = false;
}
/* Copy of s[0..n) NUL-terminated in the arena, or NULL when full. */
char *lg_evb_copy(struct lg_evb *b, const char *s, size_t n);
/* Room for n bytes + NUL in the arena (commit with lg_evb_commit), or NULL. */
char *lg_evb_room(struct lg_evb *b, size_t n);
void lg_evb_commit(struct lg_evb *b, size_t n);
/* Adds a field whose name and value stay valid (both NUL-terminated). */
bool lg_evb_add(struct lg_evb *b, const char *name, size_t nlen, const char *val, size_t vlen);
/* Adds a field copying the value (and the name when copy_name). */
bool lg_evb_addc(struct lg_evb *b, const char *name, size_t nlen, bool copy_name, const char *val,
                 size_t vlen);
/* Value of the first field called name, or NULL. */
const struct sg_str *lg_evb_get(const struct lg_evb *b, const char *name);
/* True when s[0..n) is valid UTF-8 without NUL. */
bool lg_utf8_ok(const char *s, size_t n);
/* Replaces every byte not part of valid UTF-8 (and NUL) with '?', in place. */
void lg_utf8_fix(char *s, size_t n);

/* ----------------------------------------------------------- time -- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
/* "YYYY-MM-DD[T ]hh:mm:ss[.fraction][Z|+hh:mm|+hhmm|-..]" (no zone: UTC) ->
 * ns since 1970 UTC. *used (may be NULL) gets the bytes read. false if not
 * such a time. */
bool lg_parse_iso(const char *s, size_t n, int64_t *ns, size_t *used);

/* ---------------------------------------------------------- reader -- */

struct lg_json;
struct lg_audit;
struct lg_sys;

struct lg_reader {
    struct lg_opts o;
    char name[LG_NAME_MAX];
    enum lg_format fmt; /* of the open input; LG_AUTO when none is open */
    struct lg_stats st;
    int year;        /* for syslog: opts, else the file's mtime year */
    int64_t mtime_s; /* the file's mtime (0 for memory: now) */
    struct evtx_reader *evtx;
    uint32_t sys_len[EVTX_SYS_COUNT];
    struct lg_input in;
    struct lg_evb evb;
    struct sg_event ev;
    struct lg_json *json;
    struct lg_audit *audit;
    struct lg_sys *sys;
    char reason[512];
};

/* Reports one piece of damage (reason formatted into r->reason). */
void lg_report(struct lg_reader *r, uint64_t where, int64_t chunk, uint64_t lost, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
/* Starts r->ev for a new event of the text formats (fields from r->evb). */
void lg_ev_begin(struct lg_reader *r, uint64_t record);
void lg_ev_finish(struct lg_reader *r);

/* Per format: open prepares the state (input already open for text formats;
 * path or mem given for EVTX), next yields 1/0, close drops per-file state,
 * free releases the buffers. */
int lg_evtx_open(struct lg_reader *r, const char *path, const void *mem, size_t len);
int lg_evtx_next(struct lg_reader *r, const struct sg_event **ev);
void lg_evtx_close(struct lg_reader *r);

int lg_json_open(struct lg_reader *r);
int lg_json_next(struct lg_reader *r, const struct sg_event **ev);
void lg_json_free(struct lg_reader *r);

int lg_audit_open(struct lg_reader *r);
int lg_audit_next(struct lg_reader *r, const struct sg_event **ev);
void lg_audit_close(struct lg_reader *r);
void lg_audit_free(struct lg_reader *r);

int lg_sys_open(struct lg_reader *r);
int lg_sys_next(struct lg_reader *r, const struct sg_event **ev);
void lg_sys_free(struct lg_reader *r);

/* Fields of an auth program's message (logs_auth.c): sshd, sudo, su,
 * useradd & co. Adds to r->evb; true when the program is an auth one. */
bool lg_auth_fields(struct lg_reader *r, const char *prog, size_t plen, const char *msg,
                    size_t mlen);

#endif
