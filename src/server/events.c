/* events.c - events from agents (rules in events.h): EVENTS bodies checked,
 * queued in a bounded in-memory queue, written to the events table in
 * batched transactions with one reused prepared statement, then
 * acknowledged per frame with EVENTS_ACK.
 *
 * Data enters as parsed EVENTS bodies from session.c (after server.c asked
 * events_admit whether the frame fits: if not, the connection pauses and its
 * frame stays unread in its buffer) and leaves as rows in server.db and
 * EVENTS_ACK frames. Queue bounds: conf.queue_events rows and
 * conf.queue_bytes bytes of event text; a frame is admitted when its body
 * length still fits under the byte bound and FRAME_EVENTS_MAX rows under the
 * row bound (the re-encoded text of one admitted frame may pass the byte
 * bound by its re-encoding slack, itself bounded by the frame).
 *
 * Why in the loop thread and not a writer thread: measured on the 2-core
 * test machine (bench/server/intake.sh, perf), the whole server spends
 * about 7 µs of CPU per event (TLS, json-c parsing and re-encoding, malloc,
 * SQLite insert with two indexes): some 140,000 events per CPU-second, well
 * above the 50,000/s target on one core, with the second core left to the
 * API thread and the agents. A writer thread would add a hand-off queue and
 * locking for no gain; the cost is that a transaction (at most batch_events
 * rows, ~100 ms at 16,384) and a WAL checkpoint hold the loop while they
 * run. Heavy hitters if it must go faster: malloc/free (~25%: json-c objects
 * and one copy per event), json-c parsing (~12%), SQLite (~27%). */
#include "server/events.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "net/frame.h"
#include "server/server_int.h"
#include "server/srvconf.h"

#define PAUSE_LOG_MS 10000 /* "paused reading" is logged at most this often */

struct evrow {
    struct host *host;
    uint64_t seq;
    int64_t time;
    int64_t received;
    char kind[EV_KIND_MAX + 1];
    char *text; /* owned */
    size_t len;
};

/* One admitted frame: acknowledged with its last seq once written. */
struct evframe {
    struct host *host;
    uint64_t last_seq;
    size_t end; /* index past its last row */
};

struct evq {
    struct evrow *rows;
    struct evframe *frames;
    size_t n, nframes, cap_rows;
    uint64_t bytes, cap_bytes;
    unsigned batch;
    sqlite3_stmt *ins;
    unsigned paused_now;       /* connections paused since the last resume */
    uint64_t pauses;           /* times a connection was paused */
    uint64_t last_pause_log;   /* monotonic ms */
    uint64_t stored, resent;   /* rows written, rows ignored as already stored */
};

/* ------------------------------------------------------------ parsing -- */

int events_frame_check(struct json_object *body, uint64_t *first_seq, struct json_object **arr,
                       const char **why)
{
    int64_t seq = 0;
    struct json_object *a = NULL;
    if (!frame_int(body, "first_seq", &seq) || seq < 1 || seq > INT64_MAX / 2) {
        *why = "EVENTS frame without first_seq (an integer >= 1)";
        return -1;
    }
    if (!json_object_object_get_ex(body, "events", &a) || !json_object_is_type(a, json_type_array)) {
        *why = "EVENTS frame without an events array";
        return -1;
    }
    size_t n = json_object_array_length(a);
    if (n < 1 || n > FRAME_EVENTS_MAX) {
        *why = "EVENTS frame with no events or more than FRAME_EVENTS_MAX (1024)";
        return -1;
    }
    *first_seq = (uint64_t)seq;
    *arr = a;
    return (int)n;
}

const char *events_item(struct json_object *ev, int64_t *time_ms, char kind[EV_KIND_MAX + 1],
                        const char **text, size_t *len)
{
    *time_ms = 0;
    kind[0] = 0;
    const char *why = NULL;
    if (!json_object_is_type(ev, json_type_object)) {
        why = "event is not a JSON object";
    } else {
        struct json_object *v = NULL;
        int64_t t = 0;
        if (json_object_object_get_ex(ev, "time_ms", &v) && (!frame_int(ev, "time_ms", &t) || t < 1))
            why = "time_ms is not an integer >= 1";
        else
            *time_ms = t;
        if (!why && json_object_object_get_ex(ev, "kind", &v)) {
            const char *k = frame_str(ev, "kind", EV_KIND_MAX);
            if (!k || !k[0])
                why = "kind is not a string of 1-63 bytes";
            else
                snprintf(kind, EV_KIND_MAX + 1, "%s", k);
        }
    }
    if (why)
        snprintf(kind, EV_KIND_MAX + 1, "invalid_event");
    size_t l = 0;
    const char *t = json_object_to_json_string_length(
        ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
    *text = t ? t : "null";
    *len = t ? l : 4;
    return why;
}

/* -------------------------------------------------------------- queue -- */

int events_init(struct server *s)
{
    struct evq *q = calloc(1, sizeof *q);
    if (!q)
        return MAMORI_ENOMEM;
    s->evq = q;
    q->cap_rows = s->conf->queue_events;
    q->cap_bytes = s->conf->queue_bytes;
    q->batch = s->conf->batch_events;
    q->rows = calloc(q->cap_rows, sizeof *q->rows);
    q->frames = calloc(q->cap_rows, sizeof *q->frames);
    if (!q->rows || !q->frames)
        return MAMORI_ENOMEM;
    if (sqlite3_prepare_v3(s->st.db,
                           "INSERT OR IGNORE INTO events(host_id, seq, time, received, kind, body)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, SQLITE_PREPARE_PERSISTENT, &q->ins, NULL) != SQLITE_OK) {
        log_error("cannot prepare the event insert: %s", sqlite3_errmsg(s->st.db));
        return MAMORI_EIO;
    }
    return 0;
}

void events_free(struct server *s)
{
    struct evq *q = s->evq;
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        free(q->rows[i].text);
    sqlite3_finalize(q->ins);
    free(q->rows);
    free(q->frames);
    free(q);
    s->evq = NULL;
}

bool events_admit(struct server *s, struct sconn *c, size_t len)
{
    struct evq *q = s->evq;
    if (q->n == 0 || (q->n + FRAME_EVENTS_MAX <= q->cap_rows && q->bytes + len <= q->cap_bytes))
        return true; /* an empty queue takes any frame: the bounds are at least one frame */
    c->paused = true;
    q->paused_now++;
    q->pauses++;
    if (q->pauses == 1 || s->now_ms - q->last_pause_log >= PAUSE_LOG_MS) {
        log_info("intake queue full (%zu events, %" PRIu64 " bytes; bounds %zu, %" PRIu64
                 "): paused reading from host %s until the next write (backpressure; %" PRIu64
                 " pauses so far)",
                 q->n, q->bytes, q->cap_rows, q->cap_bytes, c->host ? c->host->id : c->peer,
                 q->pauses);
        q->last_pause_log = s->now_ms;
    }
    return false;
}

bool events_any_paused(const struct server *s)
{
    return s->evq && s->evq->paused_now > 0;
}

void events_resumed(struct server *s)
{
    s->evq->paused_now = 0;
}

bool events_frame(struct server *s, struct sconn *c, struct json_object *body)
{
    struct evq *q = s->evq;
    uint64_t first = 0;
    struct json_object *arr = NULL;
    const char *why = NULL;
    int n = events_frame_check(body, &first, &arr, &why);
    if (n < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "protocol error: %s", why);
        srv_conn_drop(s, c, msg);
        return false;
    }
    if (q->n + (size_t)n > q->cap_rows) { /* admitted only with room: cannot happen */
        srv_conn_drop(s, c, "event queue full");
        return false;
    }
    int64_t now = srv_wall_ms();
    size_t start = q->n;
    for (int i = 0; i < n; i++) {
        struct evrow *r = &q->rows[q->n];
        const char *text;
        size_t len;
        why = events_item(json_object_array_get_idx(arr, (size_t)i), &r->time, r->kind, &text,
                          &len);
        if (why)
            log_warn("host %s sent event %" PRIu64 " that does not validate: %s", c->host->id,
                     first + (uint64_t)i, why);
        r->text = malloc(len + 1);
        if (!r->text) {
            while (q->n > start)
                free(q->rows[--q->n].text);
            srv_conn_drop(s, c, "out of memory for events");
            return false;
        }
        memcpy(r->text, text, len + 1);
        r->len = len;
        r->host = c->host;
        r->seq = first + (uint64_t)i;
        r->received = now;
        if (r->time <= 0)
            r->time = now;
        q->bytes += len;
        q->n++;
    }
    struct evframe *f = &q->frames[q->nframes++];
    f->host = c->host;
    f->last_seq = first + (uint64_t)n - 1;
    f->end = q->n;
    return true;
}

/* ------------------------------------------------------------- writing -- */

static void ack(struct server *s, struct host *h, uint64_t seq)
{
    struct sconn *c = h->conn;
    if (!c || c->st != SC_AGENT)
        return; /* gone: the agent resends after reconnecting, stored once */
    char buf[48];
    int n = snprintf(buf, sizeof buf, "{\"seq\":%" PRIu64 "}", seq);
    if (nc_send(&c->nc, FRAME_EVENTS_ACK, buf, (size_t)n) < 0)
        srv_conn_drop(s, c, "write buffer full: the agent does not read its acknowledgements");
    else if (nc_flush(&c->nc) < 0)
        srv_conn_drop(s, c, c->nc.why);
}

/* Rows [from, to) in one transaction. */
static int write_rows(struct server *s, size_t from, size_t to)
{
    struct evq *q = s->evq;
    int rc = store_begin(&s->st);
    uint64_t before = (uint64_t)sqlite3_total_changes64(s->st.db);
    for (size_t i = from; rc == 0 && i < to; i++) {
        struct evrow *r = &q->rows[i];
        sqlite3_bind_text(q->ins, 1, r->host->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q->ins, 2, (int64_t)r->seq);
        sqlite3_bind_int64(q->ins, 3, r->time);
        sqlite3_bind_int64(q->ins, 4, r->received);
        sqlite3_bind_text(q->ins, 5, r->kind[0] ? r->kind : NULL, -1, SQLITE_STATIC);
        if (!r->kind[0])
            sqlite3_bind_null(q->ins, 5);
        sqlite3_bind_text(q->ins, 6, r->text, (int)r->len, SQLITE_STATIC);
        if (sqlite3_step(q->ins) != SQLITE_DONE) {
            snprintf(s->st.err, sizeof s->st.err, "insert event: %s", sqlite3_errmsg(s->st.db));
            rc = MAMORI_EIO;
        }
        sqlite3_reset(q->ins);
    }
    sqlite3_clear_bindings(q->ins);
    uint64_t written = (uint64_t)sqlite3_total_changes64(s->st.db) - before;
    if (rc == 0)
        rc = store_commit(&s->st);
    if (rc < 0) {
        store_rollback(&s->st);
        return rc;
    }
    q->stored += written;
    q->resent += (to - from) - written;
    return 0;
}

void events_flush(struct server *s)
{
    struct evq *q = s->evq;
    if (!q || q->n == 0)
        return;
    size_t done = 0, fdone = 0;
    while (done < q->n) {
        /* a slice ends on a frame boundary: a frame is acked whole */
        size_t end = done;
        size_t fi = fdone;
        while (fi < q->nframes && (end == done || q->frames[fi].end - done <= q->batch))
            end = q->frames[fi++].end;
        if (write_rows(s, done, end) < 0) {
            log_warn("%zu events not written yet (retried at the next turn): %s", q->n - done,
                     s->st.err);
            break;
        }
        for (size_t i = fdone; i < fi; i++) {
            /* one ack for a run of frames of the same host */
            if (i + 1 < fi && q->frames[i + 1].host == q->frames[i].host)
                continue;
            ack(s, q->frames[i].host, q->frames[i].last_seq);
        }
        for (size_t i = done; i < end; i++) {
            q->bytes -= q->rows[i].len;
            free(q->rows[i].text);
        }
        done = end;
        fdone = fi;
    }
    if (done > 0) { /* keep what a failed write left, at the front */
        memmove(q->rows, q->rows + done, (q->n - done) * sizeof *q->rows);
        memmove(q->frames, q->frames + fdone, (q->nframes - fdone) * sizeof *q->frames);
        q->n -= done;
        q->nframes -= fdone;
        for (size_t i = 0; i < q->nframes; i++)
            q->frames[i].end -= done;
    }
}

bool events_pending(const struct server *s)
{
    return s->evq && s->evq->n > 0;
}

uint64_t events_stored(const struct server *s)
{
    return s->evq ? s->evq->stored : 0;
}
