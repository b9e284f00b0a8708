/* outbox.h - the deliveries table: the durable outbox of alert delivery.
 *
 * outbox_enqueue turns new alerts into one pending delivery per matching
 * active route (site, minimum severity) in one transaction, and moves each
 * route's after_alert mark past them, so a restart neither skips nor repeats
 * an alert. outbox_due hands out, per route, its oldest delivery that is
 * due; the delivery thread marks each attempt before it sends (attempts+1,
 * next_try = the retry time) and records the outcome after: a crash while
 * sending leaves a pending row that is sent again (at least once).
 * All on the caller's own struct store; 0 or a negative MAMORI_E* code with
 * the reason in st->err. */
#ifndef MAMORI_DELIVER_OUTBOX_H
#define MAMORI_DELIVER_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "deliver/alert_text.h"
#include "deliver/route.h"
#include "server/store.h"

/* One due delivery with its route and alert (strings owned by the job). */
struct ojob {
    int64_t did, created;
    int attempts; /* before this one */
    struct route r;
    struct dalert a;
    char *strs[7]; /* owned copies behind a's strings */
};
void ojob_free(struct ojob *j);

/* New alerts -> pending deliveries; *added counts them. */
int outbox_enqueue(struct store *st, int64_t now, int *added);
/* At start: every pending delivery is due now. */
int outbox_resume(struct store *st, int64_t now);
/* Calls fn with the oldest due delivery of each route (at most `limit`
 * routes); fn takes ownership of the job (ojob_free) and returns non-zero
 * to stop. */
int outbox_due(struct store *st, int64_t now, int limit, int (*fn)(void *, struct ojob *),
               void *arg);
int outbox_attempt(struct store *st, int64_t did, int64_t next_try);
int outbox_sent(struct store *st, int64_t did, int64_t now);
/* A failed attempt: pending again at next_try, or failed for good when
 * give_up; the error is kept in last_error. */
int outbox_failed(struct store *st, int64_t did, const char *err, bool give_up);
/* Delete at most `limit` finished (sent or failed) deliveries queued before
 * `before`: the history an alert keeps, and what lets the server's
 * retention delete old alerts (it keeps an alert a delivery row names).
 * *n: rows deleted. */
int outbox_prune(struct store *st, int64_t before, int limit, int *n);
/* The earliest next_try of a pending delivery of an active route, or 0. */
int64_t outbox_next_due(struct store *st);

struct dlv_row {
    int64_t route_id, alert_id, created, next_try, sent_at;
    int attempts;
    const char *status, *last_error, *kind, *target; /* valid during the callback */
};
/* The deliveries of one alert, by route id. */
int outbox_each_for_alert(struct store *st, int64_t alert_id,
                          int (*fn)(void *, const struct dlv_row *), void *arg);

#endif
