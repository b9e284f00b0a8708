/* guardline.h - the guard's JSON lines as the agent reads them from the
 * guard's standard output (see docs/mamori-guard.md, OUTPUT).
 *
 * Bytes from the pipe enter guardline_feed(), which cuts them into lines of
 * at most GUARDLINE_MAX bytes (the guard's own bound, GUARD_LINE_MAX,
 * newline included); a longer line is skipped up to its newline and counted,
 * never cut into pieces that could parse as something else. Each line goes
 * to guardline_parse(), which says what it is and, for an alert, makes the
 * spool record for the server: the guard's alert object (its "event"
 * member dropped) with "time_ms", "kind":"ransomware", "severity",
 * "summary" and "alert_id" (= its "id") added; flat, so actor_key, exe,
 * user and indicators are where the server looks for them. A record over
 * the cap loses "files", then "cmdline", then all but the spool's fields
 * and actor_key (note says so). Severity "critical" when the guard acted
 * (kill, freeze), "high" when it only alerted; summary one English line
 * naming the program, its process, user, damaged files and the action.
 * Any other line (ready, stopped, vault notices) is made an event record
 * for DIR/spool-events: the guard's object with "kind":"guard_<event>" and
 * "time_ms" in place of "event" (none when it does not fit). A line that
 * is not a JSON object, or an alert without an id, is GL_BAD with the
 * reason: logged by the caller, never fatal. Pure functions: no I/O, no globals; the buffer is the
 * caller's. */
#ifndef MAMORI_AGENT_GUARDLINE_H
#define MAMORI_AGENT_GUARDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUARDLINE_MAX (64u << 10) /* bytes of one line, newline included */
#define GUARDLINE_KIND "ransomware"

enum guardline_kind { GL_BAD, GL_ALERT, GL_READY, GL_STOPPED, GL_OTHER };

struct guardline {
    enum guardline_kind kind;
    char event[32];     /* the "event" value ("" if none) */
    char severity[16];  /* GL_ALERT */
    char alert_id[64];  /* GL_ALERT */
    char actor_key[64]; /* GL_ALERT ("" if the guard gave none) */
    char note[512];     /* GL_BAD: why; GL_READY: protected paths and "degraded"
                         * (empty when nothing is degraded); GL_OTHER: the event */
    bool degraded;      /* GL_READY: the guard said something does not work */
};

/* Parse one line (len bytes, no newline, not NUL-terminated). For GL_ALERT
 * the alert record is written to rec (cap bytes, NUL-terminated) and its
 * length to *reclen; a record that does not fit cap is shed as said above.
 * For GL_READY, GL_STOPPED and GL_OTHER rec holds the event record (*reclen
 * 0 if it did not fit); for GL_BAD *reclen is 0. */
enum guardline_kind guardline_parse(const char *line, size_t len, int64_t now_ms,
                                    struct guardline *out, char *rec, size_t cap,
                                    size_t *reclen);

/* Line assembly over a caller's buffer of GUARDLINE_MAX bytes. */
struct linebuf {
    char *buf;
    size_t len;
    bool skipping;      /* inside a line longer than the bound */
    uint64_t overlong;  /* lines skipped for length */
};

typedef void (*line_fn)(void *ctx, const char *line, size_t len);

/* Feed n bytes; calls fn for each complete line (without its newline). A
 * partial line stays in lb until its newline comes. */
void guardline_feed(struct linebuf *lb, const char *data, size_t n, line_fn fn, void *ctx);

#endif
