/* events.h - events from agents: the EVENTS frame body, the bounded intake
 * queue, its batched writes to the events table, and retention.
 *
 * Wire (agent -> server, net/frame.h): an EVENTS frame is
 *   {"first_seq": N, "events": [{...}, {...}, ...]}
 * with 1 .. FRAME_EVENTS_MAX events; the i-th (from 0) has sequence number
 * N + i in the agent's event spool. Each event is a JSON object; its
 * "time_ms" (integer > 0) and "kind" (string, 1-63 bytes) are read if
 * present. An event that is not an object, or whose time_ms / kind do not
 * validate, is stored with kind "invalid_event" (so one bad record cannot
 * block a spool). A body without first_seq >= 1 and an events array of the
 * allowed size is a protocol error: the connection is dropped.
 * The answer, once every event of the frame is committed, is EVENTS_ACK
 * {"seq": N + count - 1}.
 *
 * Queue: at most opts.ev_queue_rows events and opts.ev_queue_bytes bytes of
 * event text (plus the re-encoding slack of the frame being admitted) wait
 * for the write; a frame that does not fit is left unread in its
 * connection, whose reading pauses (EPOLLIN removed) until the next write
 * made room. Nothing is dropped. Written in one transaction per loop turn
 * (after the alerts), in slices of at most opts.ev_batch_rows rows per
 * transaction; a (host, seq) seen before is ignored (a resend). */
#ifndef MAMORI_SERVER_EVENTS_H
#define MAMORI_SERVER_EVENTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_KIND_MAX 63
#define EV_DEFAULT_QUEUE_ROWS 65536u
#define EV_DEFAULT_QUEUE_BYTES (64ull << 20)
#define EV_DEFAULT_BATCH_ROWS 16384u
#define EV_MIN_QUEUE_ROWS 1024u /* FRAME_EVENTS_MAX: a whole frame */
#define EV_MIN_QUEUE_BYTES (2ull << 20) /* a whole 1 MiB frame and its re-encoding */

/* Check an EVENTS body. Returns the number of events (>= 1) with
 * *first_seq and *arr (borrowed from body) set, or -1 with *why set. */
int events_frame_check(struct json_object *body, uint64_t *first_seq, struct json_object **arr,
                       const char **why);

/* One event of the array: its time (0: none given), kind and text. Returns
 * NULL, or why it is stored as "invalid_event" (kind is set to that). The
 * text (*text, *len) is owned by ev. */
const char *events_item(struct json_object *ev, int64_t *time_ms, char kind[EV_KIND_MAX + 1],
                        const char **text, size_t *len);

#endif
