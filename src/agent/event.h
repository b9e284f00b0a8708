/* event.h - `mamori agent event`: events into the agent's event spool
 * (DIR/spool-events, bounded by spool_max bytes, oldest dropped for room),
 * forwarded by the running agent in EVENTS frames (agent/uplink.c). */
#ifndef MAMORI_AGENT_EVENT_H
#define MAMORI_AGENT_EVENT_H

#include <stdint.h>
#include <stdio.h>

#define AGENT_EVENT_SPOOL "spool-events"

struct agent_event_stats {
    uint64_t lines, spooled, rejected, dropped;
    uint64_t first_seq, last_seq; /* of the records spooled (0: none) */
};

/* Spool each JSON-object line of `in` (name is used in messages). Returns
 * 0 (lines that are not one JSON object are skipped, counted in
 * st->rejected and reported on stderr with their line number) or a
 * negative MAMORI_E* code with err (AGENT_ERR_MAX bytes) set. */
int agent_event(const char *dir, FILE *in, const char *name, uint64_t spool_max,
                struct agent_event_stats *st, char *err);

#endif
