/* deliver.c - the delivery dispatcher and its senders (see deliver.h).
 *
 * Only the dispatcher touches the database. A sender owns one slot: the
 * dispatcher puts a job in an idle slot and signals; the sender sends
 * (send.h), marks the slot done and writes the eventfd; the dispatcher
 * records the outcome and frees the job. Slots are guarded by one mutex. */
#include "deliver/deliver.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "deliver/outbox.h"
#include "deliver/send.h"

enum slot_state { SLOT_IDLE, SLOT_BUSY, SLOT_DONE };

struct slot {
    struct deliver *d;
    pthread_t thread;
    bool started;
    enum slot_state state;
    struct ojob *job;
    int rc;
    bool permanent;
    char err[SEND_ERR_MAX];
};

struct deliver {
    struct store st;
    FILE *events;
    int efd;
    atomic_bool stop;
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct slot slots[DELIVER_WORKERS];
    unsigned seed;
    int64_t last_alert; /* newest alert id queued */
    int64_t next_prune; /* wall ms */
    uint64_t sent, failed;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void deliver_notify(struct deliver *d)
{
    if (!d)
        return;
    uint64_t one = 1;
    if (write(d->efd, &one, sizeof one) < 0) { /* EAGAIN: already signalled */
    }
}

/* --------------------------------------------------------------- sender -- */

static void *sender_main(void *arg)
{
    struct slot *sl = arg;
    struct deliver *d = sl->d;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (sl->state != SLOT_BUSY && !atomic_load(&d->stop))
            pthread_cond_wait(&d->cv, &d->mu);
        if (sl->state != SLOT_BUSY)
            break;
        struct ojob *j = sl->job;
        pthread_mutex_unlock(&d->mu);
        char err[SEND_ERR_MAX] = "";
        bool perm = false;
        int rc = send_alert(&j->r, &j->a, &d->stop, err, sizeof err, &perm);
        pthread_mutex_lock(&d->mu);
        sl->rc = rc;
        sl->permanent = perm;
        memcpy(sl->err, err, sizeof err);
        sl->state = SLOT_DONE;
        deliver_notify(d);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ----------------------------------------------------------- dispatcher -- */

static void emit(struct deliver *d, const struct ojob *j, const char *status, const char *err)
{
    if (!d->events)
        return;
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "event", "delivery");
    jw_int(&w, "time_ms", wall_ms());
    jw_int(&w, "route_id", j->r.id);
    jw_str(&w, "kind", route_kind_name(j->r.kind));
    jw_int(&w, "alert_id", j->a.id);
    jw_str(&w, "status", status);
    jw_int(&w, "attempts", j->attempts + 1);
    if (err && err[0])
        jw_str(&w, "error", err);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0) {
        flockfile(d->events); /* whole lines among the threads (srv_emit locks too) */
        fprintf(d->events, "%s\n", buf);
        fflush(d->events);
        funlockfile(d->events);
    }
}

static int64_t backoff_ms(struct deliver *d, int attempts)
{
    int64_t b = DELIVER_BACKOFF_MS;
    for (int i = 1; i < attempts && b < DELIVER_BACKOFF_CAP_MS; i++)
        b *= 2;
    if (b > DELIVER_BACKOFF_CAP_MS)
        b = DELIVER_BACKOFF_CAP_MS;
    int64_t jitter = b / 4;
    return b - jitter + (int64_t)(rand_r(&d->seed) % (unsigned)(2 * jitter + 1));
}

/* Write the outcome of a finished slot; frees its job. */
static void record(struct deliver *d, struct slot *sl)
{
    struct ojob *j = sl->job;
    int64_t now = wall_ms();
    int rc;
    if (sl->rc == 0) {
        rc = outbox_sent(&d->st, j->did, now);
        d->sent++;
        emit(d, j, "sent", NULL);
        log_debug("delivery: alert %" PRId64 " sent over route %" PRId64, j->a.id, j->r.id);
    } else {
        bool stopping = atomic_load(&d->stop);
        bool give_up = !stopping && (sl->permanent || now - j->created > DELIVER_GIVE_UP_MS);
        rc = outbox_failed(&d->st, j->did, sl->err, give_up);
        if (give_up) {
            d->failed++;
            log_error("delivery of alert %" PRId64 " over route %" PRId64 " (%s) failed for good "
                      "after %d attempts: %s",
                      j->a.id, j->r.id, route_kind_name(j->r.kind), j->attempts + 1, sl->err);
        } else if (!stopping) {
            log_warn("delivery of alert %" PRId64 " over route %" PRId64 " failed (attempt %d, "
                     "retried later): %s",
                     j->a.id, j->r.id, j->attempts + 1, sl->err);
        }
        emit(d, j, give_up ? "failed" : "retry", sl->err);
    }
    if (rc < 0)
        log_error("delivery: %s", d->st.err);
    ojob_free(j);
    sl->job = NULL;
    sl->state = SLOT_IDLE;
}

static void collect(struct deliver *d)
{
    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < DELIVER_WORKERS; i++)
        if (d->slots[i].state == SLOT_DONE)
            record(d, &d->slots[i]);
    pthread_mutex_unlock(&d->mu);
}

struct hand {
    struct deliver *d;
    int64_t now;
};

/* Give one due job to an idle sender unless its route is already busy. */
static int hand_out(void *arg, struct ojob *j)
{
    struct hand *h = arg;
    struct deliver *d = h->d;
    struct slot *idle = NULL;
    bool busy = false;
    for (int i = 0; i < DELIVER_WORKERS; i++) {
        struct slot *sl = &d->slots[i];
        if (sl->state == SLOT_IDLE && !idle)
            idle = sl;
        else if (sl->state != SLOT_IDLE && sl->job && sl->job->r.id == j->r.id)
            busy = true;
    }
    if (busy || !idle) {
        ojob_free(j);
        return idle ? 0 : 1;
    }
    if (outbox_attempt(&d->st, j->did, h->now + backoff_ms(d, j->attempts + 1)) < 0) {
        log_error("delivery: %s", d->st.err);
        ojob_free(j);
        return 1;
    }
    idle->job = j;
    idle->state = SLOT_BUSY;
    return 0;
}

static void dispatch(struct deliver *d)
{
    struct hand h = {d, wall_ms()};
    pthread_mutex_lock(&d->mu);
    int idle = 0;
    for (int i = 0; i < DELIVER_WORKERS; i++)
        idle += d->slots[i].state == SLOT_IDLE;
    pthread_mutex_unlock(&d->mu);
    if (!idle)
        return;
    /* the jobs are handed out under the lock: senders only look at their own
     * slot's state, which stays BUSY until they finish */
    pthread_mutex_lock(&d->mu);
    if (outbox_due(&d->st, h.now, DELIVER_WORKERS * 4, hand_out, &h) < 0)
        log_error("delivery: %s", d->st.err);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static int64_t max_alert(struct store *st)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MAX(id), 0) FROM alerts", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void *dispatcher_main(void *arg)
{
    struct deliver *d = arg;
    if (outbox_resume(&d->st, wall_ms()) < 0)
        log_error("delivery: %s", d->st.err);
    d->last_alert = -1;
    while (!atomic_load(&d->stop)) {
        struct pollfd p = {.fd = d->efd, .events = POLLIN};
        int n = poll(&p, 1, DELIVER_POLL_MS);
        if (n > 0) {
            uint64_t v;
            if (read(d->efd, &v, sizeof v) < 0) { /* EAGAIN: nothing */
            }
        }
        if (atomic_load(&d->stop))
            break;
        collect(d);
        int64_t m = max_alert(&d->st);
        if (m > d->last_alert) {
            int added = 0;
            if (outbox_enqueue(&d->st, wall_ms(), &added) < 0)
                log_error("delivery: %s", d->st.err);
            else
                d->last_alert = m;
        }
        dispatch(d);
        int64_t now = wall_ms();
        if (now >= d->next_prune) {
            int pruned = 0;
            if (outbox_prune(&d->st, now - DELIVER_KEEP_MS, DELIVER_PRUNE_SLICE, &pruned) < 0)
                log_error("delivery: %s", d->st.err);
            d->next_prune = now + DELIVER_PRUNE_EVERY_MS;
        }
    }
    return NULL;
}

/* --------------------------------------------------------- start / stop -- */

void deliver_stop(struct deliver *d)
{
    if (!d)
        return;
    atomic_store(&d->stop, true);
    if (d->running) {
        deliver_notify(d);
        pthread_join(d->thread, NULL);
    }
    pthread_mutex_lock(&d->mu);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < DELIVER_WORKERS; i++)
        if (d->slots[i].started)
            pthread_join(d->slots[i].thread, NULL);
    if (d->st.db)
        collect(d); /* sends abandoned at the stop stay pending */
    for (int i = 0; i < DELIVER_WORKERS; i++)
        ojob_free(d->slots[i].job);
    if (d->st.db) {
        log_info("delivery stopped: %" PRIu64 " sent, %" PRIu64 " failed for good", d->sent,
                 d->failed);
        store_close(&d->st);
    }
    if (d->efd >= 0)
        close(d->efd);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

int deliver_start(const char *data_dir, FILE *events, struct deliver **out)
{
    *out = NULL;
    struct deliver *d = calloc(1, sizeof *d);
    if (!d)
        return MAMORI_ENOMEM;
    d->events = events;
    d->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    atomic_init(&d->stop, false);
    d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int rc = 0;
    if (d->efd < 0) {
        log_error("delivery: eventfd: %s", strerror(errno));
        rc = MAMORI_EIO;
    } else if (send_global_init() < 0) {
        log_error("delivery: libcurl failed to initialise");
        rc = MAMORI_EIO;
    } else if ((rc = store_open(&d->st, data_dir)) < 0) {
        log_error("delivery: %s", d->st.err);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the agent loop */
    for (int i = 0; rc == 0 && i < DELIVER_WORKERS; i++) {
        d->slots[i].d = d;
        int e = pthread_create(&d->slots[i].thread, NULL, sender_main, &d->slots[i]);
        if (e != 0) {
            log_error("delivery: cannot start a sender thread: %s", strerror(e));
            rc = MAMORI_EIO;
        } else {
            d->slots[i].started = true;
        }
    }
    if (rc == 0) {
        int e = pthread_create(&d->thread, NULL, dispatcher_main, d);
        if (e != 0) {
            log_error("delivery: cannot start its thread: %s", strerror(e));
            rc = MAMORI_EIO;
        } else {
            d->running = true;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        deliver_stop(d);
        return rc;
    }
    *out = d;
    return 0;
}
