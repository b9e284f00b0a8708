/* api_route_test.c - the route test over the API (api_routes.h):
 *
 *   POST /api/v1/routes/{id}/test   admin, or site-admin of the route's site:
 *                                   202, a test message is on its way
 *   GET  /api/v1/routes/{id}/test   the outcome of the route's last test
 *
 * The message (deliver/send.h, send_route_test) goes out from a worker
 * thread, so that a receiver that is slow or silent (up to SEND_TOTAL_MS)
 * never holds the API's loop. One test at a time: a second POST while one
 * runs is 409. The worker gets a copy of the route and the server's name,
 * and hands back only its result, read after it is joined; it shares with
 * the API thread the atomic `done` and `stop` flags. The API thread joins
 * it at the first tick after it finished, writes the audit row (action
 * route_test, the caller as actor, the route's site, "delivered" or the
 * reason) and keeps the outcome for GET until the next test. At stop the
 * worker is told to give up (within about 100 ms) and joined. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_routes.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "deliver/route.h"
#include "deliver/send.h"

struct api_rtest {
    /* the worker's: input before it starts, output read after the join */
    struct route r;
    char from[256];
    int rc;
    char err[SEND_ERR_MAX];
    atomic_bool done, stop;
    /* the API thread's */
    pthread_t th;
    bool running; /* a worker exists, not joined yet */
    int64_t route_id, site_id, started, finished;
    char by[128], status[12], message[SEND_ERR_MAX + ROUTE_TARGET_MAX + 64];
};

static void *worker(void *arg)
{
    struct api_rtest *t = arg;
    t->rc = send_route_test(&t->r, t->from, &t->stop, t->err, sizeof t->err);
    atomic_store(&t->done, true);
    return NULL;
}

/* The {id} route in the caller's scope: site-admins only their site's,
 * `write`: never an all-sites route. 0, or -1 answered (404 as if absent). */
static int route_param(struct api_call *q, bool write, struct route *r)
{
    const char *v = http_param(&q->p, "id");
    char *end;
    errno = 0;
    long long id = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || id <= 0) {
        api_fail(q, 404, "not_found", "no route '%.64s'", v ? v : "");
        return -1;
    }
    int rc = route_get(&q->a->st, id, r);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read route");
        return -1;
    }
    if (rc < 0 || r->disabled ||
        !(r->site_id ? api_in_scope(&q->who, r->site_id) : !write || !q->who.site_id)) {
        api_fail(q, 404, "not_found", "no route %lld", id);
        return -1;
    }
    return 0;
}

/* The worker finished: join it, audit, keep the outcome. */
static void finish(struct api *a, struct api_rtest *t, int64_t now)
{
    pthread_join(t->th, NULL);
    t->running = false;
    t->finished = now;
    char masked[ROUTE_TARGET_MAX], target[32];
    route_masked_target(&t->r, masked, sizeof masked);
    snprintf(t->status, sizeof t->status, "%s", t->rc == 0 ? "delivered" : "failed");
    if (t->rc == 0)
        snprintf(t->message, sizeof t->message, "%s %s: delivered", route_kind_name(t->r.kind),
                 masked);
    else /* the reason names the (masked) target */
        snprintf(t->message, sizeof t->message, "%s: %s", route_kind_name(t->r.kind), t->err);
    snprintf(target, sizeof target, "route %" PRId64, t->route_id);
    if (apist_audit_add(&a->st, now, t->by, "route_test", target, t->message, t->site_id) < 0)
        log_error("API: cannot write the audit record of a route test: %s", a->st.err);
    log_info("API: %s tested route %" PRId64 ": %s", t->by, t->route_id, t->message);
}

void api_route_test_start(struct api_call *q)
{
    struct api *a = q->a;
    if (q->r->content_length) {
        api_fail(q, 400, "bad_body", "a route test takes no body");
        return;
    }
    if (!a->rtest && !(a->rtest = calloc(1, sizeof *a->rtest))) {
        api_fail(q, 503, "busy", "out of memory");
        return;
    }
    struct api_rtest *t = a->rtest;
    if (t->running) {
        api_fail(q, 409, "conflict",
                 "a route test is running (route %" PRId64 "): try again "
                 "when it is done",
                 t->route_id);
        return;
    }
    if (route_param(q, true, &t->r) < 0)
        return;
    if (send_global_init() < 0) {
        api_fail(q, 500, "internal", "libcurl failed to initialise");
        return;
    }
    snprintf(t->from, sizeof t->from, "the server");
    gethostname(t->from, sizeof t->from - 1);
    t->rc = 0;
    t->err[0] = '\0';
    atomic_store(&t->done, false);
    atomic_store(&t->stop, false);
    t->route_id = t->r.id;
    t->site_id = t->r.site_id;
    t->started = q->now;
    t->finished = 0;
    api_actor(&q->who, t->by, sizeof t->by);
    snprintf(t->status, sizeof t->status, "sending");
    t->message[0] = '\0';
    int e = pthread_create(&t->th, NULL, worker, t);
    if (e != 0) {
        snprintf(t->status, sizeof t->status, "failed");
        api_fail(q, 503, "busy", "cannot start the test: %s", strerror(e));
        return;
    }
    t->running = true;
    q->audited = true; /* the row, with the outcome, is written when it is known */
    struct hbuf b;
    hbuf_init(&b, 256);
    hbuf_printf(&b, "{\"route_id\":%" PRId64 ",\"status\":\"sending\"}\n", t->route_id);
    api_json(q, 202, &b);
    hbuf_free(&b);
}

void api_route_test_get(struct api_call *q)
{
    struct route r;
    if (route_param(q, false, &r) < 0)
        return;
    const struct api_rtest *t = q->a->rtest;
    if (!t || t->route_id != r.id) {
        api_fail(q, 404, "not_found", "route %" PRId64 " was not tested since the server started",
                 r.id);
        return;
    }
    char buf[4096];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "route_id", t->route_id);
    jw_str(&w, "status", t->status);
    jw_str(&w, "by", t->by);
    jw_int(&w, "started_ms", t->started);
    if (t->finished) {
        jw_int(&w, "finished_ms", t->finished);
        jw_str(&w, "message", t->message);
    }
    jw_obj_end(&w);
    long n = jw_finish(&w);
    struct hbuf b;
    hbuf_init(&b, sizeof buf + 2);
    if (n > 0) {
        hbuf_add(&b, buf, (size_t)n);
        hbuf_str(&b, "\n");
    }
    api_json(q, 200, &b);
    hbuf_free(&b);
}

void api_route_test_tick(struct api *a, int64_t now)
{
    struct api_rtest *t = a->rtest;
    if (t && t->running && atomic_load(&t->done))
        finish(a, t, now);
}

void api_route_test_free(struct api *a)
{
    struct api_rtest *t = a->rtest;
    if (!t)
        return;
    if (t->running) {
        atomic_store(&t->stop, true);
        finish(a, t, api_wall_ms());
    }
    free(t);
    a->rtest = NULL;
}
