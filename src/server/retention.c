/* retention.c - old events and alerts deleted a slice at a time, each tick.
 *
 * Rules (keys in server/srvconf.h, defaults there):
 *  - by age: events received more than events_max_age ago, alerts raised
 *    more than alerts_max_age ago (alerts_max_age >= events_max_age is
 *    required by the configuration, so an alert never goes before the
 *    events around it);
 *  - by size: while the rows of server.db take more than the smaller of
 *    events_max_size and events_max_percent of the data directory's
 *    filesystem, the oldest events go (never alerts), down to 95% of it.
 * Deleting goes by slices of the oldest rows (by rowid, which follows
 * arrival order): the slice is at most retention.batch rows, halves when a
 * delete took more than SLICE_MS / 2 and grows back when it is quick; slices
 * run until SLICE_MS is used, once per tick while there is nothing to delete
 * and at every turn of the event loop during a pass (so that deleting keeps
 * pace with intake), so the loop never stalls more than about SLICE_MS. Freed pages go back to the filesystem
 * with PRAGMA incremental_vacuum on a database created with
 * auto_vacuum=INCREMENTAL (store.c; an older database keeps its freed pages
 * for reuse: auto_vacuum cannot change once tables exist, without a full
 * VACUUM). When a pass ends (a tick finds nothing more to delete) the counts
 * are logged at info and written as a "retention" event line. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "core/err.h"
#include "core/log.h"
#include "server/server_int.h"
#include "server/srvconf.h"

#define SLICE_MS 10          /* a delete slower than this halves the slice */
#define FS_REFRESH_MS 60000  /* the filesystem size is read again this often */
#define PROGRESS_LOG_MS 10000

struct retention {
    sqlite3_stmt *del_events_age, *del_alerts_age, *del_events_oldest, *pages;
    uint64_t slice;
    uint64_t limit_bytes; /* the size bound in force (0: none) */
    uint64_t fs_checked_ms;
    uint64_t n_age, n_size, n_alerts; /* this pass */
    uint64_t pass_start_ms, last_log_ms, last_check_ms, last_warn_ms;
    bool full_warned;
};

static sqlite3_stmt *prep(struct server *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->st.db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        log_error("retention: cannot prepare: %s", sqlite3_errmsg(s->st.db));
    return st;
}

int retention_init(struct server *s)
{
    struct retention *r = calloc(1, sizeof *r);
    if (!r)
        return MAMORI_ENOMEM;
    s->ret = r;
    r->slice = s->conf->retention_batch;
    /* the oldest slice by rowid, filtered: never a scan of the whole table */
    r->del_events_age = prep(s, "DELETE FROM events WHERE rowid IN (SELECT rowid FROM"
                                " (SELECT rowid, received FROM events ORDER BY rowid LIMIT ?2)"
                                " WHERE received < ?1)");
    /* alerts by their time index; one a delivery row still names stays
     * (deliveries.alert_id references it: the delivery side prunes those) */
    r->del_alerts_age = prep(s, "DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts"
                                " WHERE time < ?1 AND NOT EXISTS (SELECT 1 FROM deliveries d"
                                " WHERE d.alert_id = alerts.id) LIMIT ?2)");
    r->del_events_oldest =
        prep(s, "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events ORDER BY rowid"
                " LIMIT ?1)");
    r->pages = prep(s, "SELECT (SELECT page_count FROM pragma_page_count()) -"
                       " (SELECT freelist_count FROM pragma_freelist_count()),"
                       " (SELECT page_size FROM pragma_page_size())");
    if (!r->del_events_age || !r->del_alerts_age || !r->del_events_oldest || !r->pages)
        return MAMORI_EIO;
    return 0;
}

void retention_free(struct server *s)
{
    struct retention *r = s->ret;
    if (!r)
        return;
    sqlite3_finalize(r->del_events_age);
    sqlite3_finalize(r->del_alerts_age);
    sqlite3_finalize(r->del_events_oldest);
    sqlite3_finalize(r->pages);
    free(r);
    s->ret = NULL;
}

/* Run a delete; returns rows removed, or -1 (logged). */
static int64_t run_delete(struct server *s, sqlite3_stmt *st, const char *what)
{
    int64_t before = sqlite3_total_changes64(s->st.db);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        if (!s->ret->last_warn_ms || s->now_ms - s->ret->last_warn_ms >= 60000) {
            log_warn("retention: deleting %s: %s (tried again, said at most once a minute)",
                     what, sqlite3_errmsg(s->st.db));
            s->ret->last_warn_ms = s->now_ms ? s->now_ms : 1;
        }
        return -1;
    }
    return sqlite3_total_changes64(s->st.db) - before;
}

static uint64_t used_bytes(struct server *s)
{
    struct retention *r = s->ret;
    uint64_t used = 0;
    if (sqlite3_step(r->pages) == SQLITE_ROW)
        used = (uint64_t)sqlite3_column_int64(r->pages, 0) *
               (uint64_t)sqlite3_column_int64(r->pages, 1);
    sqlite3_reset(r->pages);
    return used;
}

static void refresh_limit(struct server *s)
{
    struct retention *r = s->ret;
    const struct srv_conf *c = s->conf;
    if (r->fs_checked_ms && s->now_ms - r->fs_checked_ms < FS_REFRESH_MS)
        return;
    r->fs_checked_ms = s->now_ms;
    uint64_t lim = c->events_max_bytes;
    struct statvfs sv;
    if (c->events_max_percent && statvfs(s->o->data, &sv) == 0) {
        uint64_t fs = (uint64_t)sv.f_blocks * sv.f_frsize / 100 * c->events_max_percent;
        if (!lim || fs < lim)
            lim = fs;
    }
    r->limit_bytes = lim;
}

static void pass_log(struct server *s, bool done)
{
    struct retention *r = s->ret;
    if (r->n_age + r->n_size + r->n_alerts == 0)
        return;
    char msg[400];
    int n = 0;
    if (r->n_age)
        n += snprintf(msg + n, sizeof msg - (size_t)n, "%s%" PRIu64 " events older than %" PRIu64 " s",
                      n ? ", " : "", r->n_age, s->conf->events_max_age_ms / 1000);
    if (r->n_size)
        n += snprintf(msg + n, sizeof msg - (size_t)n,
                      "%s%" PRIu64 " events over the size bound (%" PRIu64 " bytes)", n ? ", " : "",
                      r->n_size, r->limit_bytes);
    if (r->n_alerts)
        snprintf(msg + n, sizeof msg - (size_t)n, "%s%" PRIu64 " alerts older than %" PRIu64 " s",
                 n ? ", " : "", r->n_alerts, s->conf->alerts_max_age_ms / 1000);
    log_info("retention %s: removed %s", done ? "done" : "in progress", msg);
    char buf[512];
    struct jw w;
    srv_event_begin(&w, buf, sizeof buf, "retention");
    jw_bool(&w, "done", done);
    jw_uint(&w, "events_age", r->n_age);
    jw_uint(&w, "events_size", r->n_size);
    jw_uint(&w, "alerts_age", r->n_alerts);
    srv_emit(s, &w);
    r->last_log_ms = s->now_ms;
    if (done)
        r->n_age = r->n_size = r->n_alerts = 0;
}

/* One slice: returns rows deleted (0: nothing to do). */
static int64_t slice(struct server *s)
{
    struct retention *r = s->ret;
    const struct srv_conf *c = s->conf;
    int64_t now = srv_wall_ms(), got = 0, n;
    if (c->events_max_age_ms) {
        sqlite3_bind_int64(r->del_events_age, 1, now - (int64_t)c->events_max_age_ms);
        sqlite3_bind_int64(r->del_events_age, 2, (int64_t)r->slice);
        if ((n = run_delete(s, r->del_events_age, "old events")) > 0) {
            r->n_age += (uint64_t)n;
            got += n;
        }
    }
    if (c->alerts_max_age_ms && got == 0) { /* events first */
        sqlite3_bind_int64(r->del_alerts_age, 1, now - (int64_t)c->alerts_max_age_ms);
        sqlite3_bind_int64(r->del_alerts_age, 2, (int64_t)r->slice);
        if ((n = run_delete(s, r->del_alerts_age, "old alerts")) > 0) {
            r->n_alerts += (uint64_t)n;
            got += n;
        }
    }
    refresh_limit(s);
    if (r->limit_bytes && got == 0) {
        uint64_t used = used_bytes(s);
        bool over = used > r->limit_bytes || (r->n_size > 0 && used > r->limit_bytes / 100 * 95);
        if (over) {
            sqlite3_bind_int64(r->del_events_oldest, 1, (int64_t)r->slice);
            n = run_delete(s, r->del_events_oldest, "the oldest events");
            if (n > 0) {
                r->n_size += (uint64_t)n;
                got += n;
            } else if (n == 0 && !r->full_warned && used > r->limit_bytes) {
                log_warn("retention: server.db holds %" PRIu64 " bytes, over its bound of %" PRIu64
                         ", and has no events left to delete",
                         used, r->limit_bytes);
                r->full_warned = true;
            }
        }
    }
    if (got > 0) /* at most 1024 free pages back to the filesystem; a no-op without auto_vacuum */
        sqlite3_exec(s->st.db, "PRAGMA incremental_vacuum(1024)", NULL, NULL, NULL);
    return got;
}

bool retention_active(const struct server *s)
{
    return s->ret && s->ret->pass_start_ms;
}

void retention_turn(struct server *s)
{
    struct retention *r = s->ret;
    const struct srv_conf *c = s->conf;
    if (!r)
        return;
    /* idle: look every tick; during a pass: every loop turn, so deleting
     * keeps pace with intake */
    if (!r->pass_start_ms && s->now_ms - r->last_check_ms < SRV_TICK_MS)
        return;
    r->last_check_ms = s->now_ms;
    uint64_t t0 = srv_mono_ms(), took = 0;
    int64_t got = 0, n = 0;
    do { /* slices until SLICE_MS is used */
        uint64_t t1 = srv_mono_ms();
        n = slice(s);
        got += n;
        uint64_t one = srv_mono_ms() - t1;
        took = srv_mono_ms() - t0;
        if (one > SLICE_MS / 2 && r->slice > 10)
            r->slice /= 2;
        else if (n > 0 && one < SLICE_MS / 8 && r->slice < c->retention_batch)
            r->slice = r->slice * 2 > c->retention_batch ? c->retention_batch : r->slice * 2;
    } while (n > 0 && took < SLICE_MS);
    if (got > 0) {
        if (!r->pass_start_ms) {
            r->pass_start_ms = s->now_ms ? s->now_ms : 1;
            r->last_log_ms = s->now_ms;
        }
        if (s->now_ms - r->last_log_ms >= PROGRESS_LOG_MS)
            pass_log(s, false);
    } else if (r->pass_start_ms) {
        r->pass_start_ms = 0;
        pass_log(s, true);
    }
}
