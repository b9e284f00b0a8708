/* respond.c - one response command from the server, run at most once (see
 * respond.h): frame body in, struct respond_out (for the RESULT frame and
 * the log) out; the ledger is written before and after the action. Long
 * actions go to a worker thread (a slot of the job table); their outcome
 * leaves through respond_poll(). */
#include "agent/respond.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "net/frame.h"

static int64_t clock_ms(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Old finished records out of DIR/commands (ledger.h says which). */
static void prune(struct respond_ctx *r)
{
    long n = ledger_prune(&r->ledger, clock_ms(CLOCK_REALTIME), LEDGER_KEEP_MS,
                          LEDGER_KEEP_COUNT, LEDGER_RUN_WINDOW_MS);
    if (n < 0)
        log_warn("command ledger not pruned: %s", r->ledger.err);
    else if (n > 0)
        log_info("command ledger: %ld old record%s deleted", n, n == 1 ? "" : "s");
    r->next_prune_ms = (uint64_t)clock_ms(CLOCK_MONOTONIC) + LEDGER_PRUNE_EVERY_MS;
}

int respond_init(struct respond_ctx *r, const char *dir, char *err, size_t errsz)
{
    r->dir = dir;
    proc_self_init(&r->self);
    pthread_mutex_init(&r->mu, NULL);
    const char *d = getenv("MAMORI_TEST_RESTORE_DELAY_MS"); /* tests only */
    r->test_delay_ms = d ? (unsigned)strtoul(d, NULL, 10) : 0;
    if (r->test_delay_ms > 600000)
        r->test_delay_ms = 600000;
    if (ledger_open(&r->ledger, dir) < 0) {
        snprintf(err, errsz, "%s", r->ledger.err);
        return MAMORI_EIO;
    }
    prune(r);
    return 0;
}

__attribute__((format(printf, 2, 3))) static void failed(struct respond_out *out,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out->ok = false;
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

static int run(struct respond_ctx *r, enum cmd_action a, const char *arg, char *msg, size_t cap)
{
    switch (a) {
    case CMD_ISOLATE: return isolate_apply(r, msg, cap);
    case CMD_RELEASE: return isolate_release(r, msg, cap);
    case CMD_KILL: return kill_actor(r, arg, msg, cap);
    case CMD_RESTORE: return restore_incident(r, arg, msg, cap);
    default: snprintf(msg, cap, "unknown action"); return MAMORI_EINVAL;
    }
}

static void *worker(void *arg)
{
    struct respond_job *j = arg;
    struct respond_out *out = &j->out;
    out->ok = run(j->r, (enum cmd_action)j->action, j->arg, out->message,
                  sizeof out->message) == 0;
    if (ledger_finish(&j->ledger, out->id, out->action, out->ok, out->message) < 0)
        log_warn("command %s: %s (its result is sent all the same)", out->id, j->ledger.err);
    pthread_mutex_lock(&j->r->mu);
    j->done = true;
    pthread_mutex_unlock(&j->r->mu);
    return NULL;
}

/* The slot of id, or NULL; under r->mu. */
static struct respond_job *job_of(struct respond_ctx *r, const char *id)
{
    for (size_t i = 0; i < RESPOND_INFLIGHT_MAX; i++)
        if (r->jobs[i].used && !strcmp(r->jobs[i].out.id, id))
            return &r->jobs[i];
    return NULL;
}

/* Give a done job's outcome and free its slot; under r->mu. */
static void take(struct respond_job *j, struct respond_out *out)
{
    pthread_join(j->thread, NULL);
    *out = j->out;
    out->pending = false;
    j->used = j->done = false;
}

int respond_poll(struct respond_ctx *r, struct respond_out *out)
{
    if ((uint64_t)clock_ms(CLOCK_MONOTONIC) >= r->next_prune_ms)
        prune(r);
    int got = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < RESPOND_INFLIGHT_MAX && !got; i++)
        if (r->jobs[i].used && r->jobs[i].done) {
            take(&r->jobs[i], out);
            got = 1;
        }
    pthread_mutex_unlock(&r->mu);
    return got;
}

size_t respond_inflight(struct respond_ctx *r)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < RESPOND_INFLIGHT_MAX; i++)
        n += r->jobs[i].used && !r->jobs[i].done;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void respond_finish(struct respond_ctx *r)
{
    for (size_t i = 0; i < RESPOND_INFLIGHT_MAX; i++) {
        pthread_mutex_lock(&r->mu);
        bool used = r->jobs[i].used;
        pthread_mutex_unlock(&r->mu);
        if (used) {
            pthread_join(r->jobs[i].thread, NULL);
            r->jobs[i].used = r->jobs[i].done = false;
        }
    }
}

/* Start a long action in a worker; false (out failed "busy") when all
 * slots are taken or the thread cannot start. The ledger says "running". */
static bool start_job(struct respond_ctx *r, enum cmd_action a, const char *arg,
                      struct respond_out *out)
{
    pthread_mutex_lock(&r->mu);
    struct respond_job *j = NULL;
    for (size_t i = 0; i < RESPOND_INFLIGHT_MAX && !j; i++)
        if (!r->jobs[i].used)
            j = &r->jobs[i];
    if (!j) {
        pthread_mutex_unlock(&r->mu);
        failed(out, "busy: %d long commands (restore, kill) are running on this host; "
                    "send this one again when they are done", RESPOND_INFLIGHT_MAX);
        return false;
    }
    memset(j, 0, sizeof *j);
    j->r = r;
    j->action = (int)a;
    snprintf(j->arg, sizeof j->arg, "%s", arg ? arg : "");
    j->ledger = r->ledger;
    j->out = *out;
    j->used = true;
    int e = pthread_create(&j->thread, NULL, worker, j);
    if (e) {
        j->used = false;
        pthread_mutex_unlock(&r->mu);
        failed(out, "cannot start a worker thread for it: %s", strerror(e));
        return false;
    }
    pthread_mutex_unlock(&r->mu);
    out->pending = true;
    return true;
}

void respond_command(struct respond_ctx *r, struct json_object *body, struct respond_out *out)
{
    memset(out, 0, sizeof *out);
    const char *id = frame_str(body, "id", CMD_ID_MAX - 1);
    if (!cmd_id_valid(id)) {
        log_warn("COMMAND frame without a valid id: ignored");
        return;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    const char *aname = frame_str(body, "action", 15);
    snprintf(out->action, sizeof out->action, "%s", aname ? aname : "?");

    /* sent again while a worker has it: its result goes when it is done */
    pthread_mutex_lock(&r->mu);
    struct respond_job *j = job_of(r, id);
    if (j && j->done)
        take(j, out);
    else if (j)
        out->pending = true;
    pthread_mutex_unlock(&r->mu);
    if (j)
        return;

    /* each id runs once: a repeat gets the recorded answer */
    char prev_action[16];
    enum ledger_state st = ledger_lookup(&r->ledger, id, out->message, prev_action);
    if (st == LEDGER_OK || st == LEDGER_FAILED) {
        out->ok = st == LEDGER_OK;
        out->repeat = true;
        return;
    }
    if (st == LEDGER_RUNNING) {
        failed(out, "the agent stopped while running this command (or its record is damaged); "
                    "it is not run again: check the host and send a new command if needed");
        out->repeat = true;
        if (ledger_finish(&r->ledger, id, out->action, false, out->message) < 0)
            log_warn("%s", r->ledger.err);
        return;
    }

    enum cmd_action a;
    const char *arg = NULL;
    int64_t issued = 0, now = clock_ms(CLOCK_REALTIME);
    if (frame_int(body, "issued_ms", &issued) && issued > 0 &&
        now - issued > LEDGER_RUN_WINDOW_MS) {
        /* its record could be pruned by now: never run (ledger.h) */
        failed(out, "issued %lld days ago: a command older than %lld days is not run (send a "
                    "new one)",
               (long long)((now - issued) / 86400000), LEDGER_RUN_WINDOW_MS / 86400000);
    } else if (!aname || cmd_action_parse(aname, &a) < 0) {
        failed(out, "unknown action '%s' (this agent knows isolate, release, kill, restore)",
               aname ? aname : "");
    } else {
        const char *key = cmd_arg_key(a);
        arg = key ? frame_str(body, key, CMD_ARG_MAX - 1) : NULL;
        if (key && !cmd_arg_valid(a, arg))
            failed(out,
                   a == CMD_KILL ? "kill needs an actor key BOOT-PID-START (%s)"
                                 : "restore needs an alert id (%s)",
                   arg ? "this one is malformed" : "none given");
        else
            out->ok = true;
    }
    if (out->ok) {
        if (ledger_begin(&r->ledger, id, out->action) < 0) {
            /* without the record the command could run twice: do not run it */
            failed(out, "cannot record the command before running it: %s", r->ledger.err);
            return;
        }
        if (a == CMD_RESTORE || a == CMD_KILL) {
            if (start_job(r, a, arg, out))
                return; /* the worker records the outcome */
        } else {
            out->ok = run(r, a, arg, out->message, sizeof out->message) == 0;
        }
    }
    if (ledger_finish(&r->ledger, id, out->action, out->ok, out->message) < 0)
        log_warn("command %s: %s (its result is sent all the same)", id, r->ledger.err);
}
