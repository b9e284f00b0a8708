/* deliver.h - the alert delivery thread of `mamori server`.
 *
 * deliver_start opens its own connection to DIR/server.db and starts one
 * dispatcher thread and DELIVER_WORKERS sender threads. The dispatcher
 * wakes when the server calls deliver_notify (after each transaction that
 * stored alerts: an eventfd write, so delivery starts within a millisecond),
 * when a sender finishes, and at least every DELIVER_POLL_MS (alerts the
 * server raised in its liveness flush, routes other processes added, retry
 * times). Each wake: new alerts become pending deliveries (outbox.h); due
 * deliveries go to idle senders, at most one in flight per route (so a
 * route whose receiver hangs holds one sender for at most SEND_TOTAL_MS
 * and delays no other route while senders are free); outcomes are written
 * back. In flight at most DELIVER_WORKERS deliveries. A failed attempt is
 * retried after DELIVER_BACKOFF_MS * 2^(attempts-1), capped at
 * DELIVER_BACKOFF_CAP_MS, each +-25 % jitter; a delivery still failing
 * DELIVER_GIVE_UP_MS after it was queued, or failing permanently (HTTP 4xx,
 * a bad route), becomes "failed" with a log line and a "delivery" event.
 * At least once: the attempt is recorded before sending and the success
 * after, so a crash between the two sends that alert again after the
 * restart (when every pending delivery is due at once).
 * Finished deliveries older than DELIVER_KEEP_MS are deleted, at most
 * DELIVER_PRUNE_SLICE rows every DELIVER_PRUNE_EVERY_MS (the server's
 * retention keeps an alert while a delivery row names it).
 * deliver_stop aborts sends in progress (within ~100 ms), records their
 * outcome and joins the threads. */
#ifndef MAMORI_DELIVER_DELIVER_H
#define MAMORI_DELIVER_DELIVER_H

#include <stdio.h>

#define DELIVER_WORKERS 8
#define DELIVER_POLL_MS 200
#define DELIVER_BACKOFF_MS 1000
#define DELIVER_BACKOFF_CAP_MS (3600 * 1000)
#define DELIVER_GIVE_UP_MS (24LL * 3600 * 1000)
#define DELIVER_KEEP_MS (7LL * 86400 * 1000) /* finished deliveries kept this long */
#define DELIVER_PRUNE_EVERY_MS 60000
#define DELIVER_PRUNE_SLICE 1000

struct deliver;

/* events: the server's event stream ("delivery" lines), may be NULL. */
int deliver_start(const char *data_dir, FILE *events, struct deliver **out);
void deliver_notify(struct deliver *d); /* NULL is fine */
void deliver_stop(struct deliver *d);

#endif
