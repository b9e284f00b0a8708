/* api_events.h - GET /api/v1/hosts/{id}/events (api_events.c; docs/api.md). */
#ifndef MAMORI_API_API_EVENTS_H
#define MAMORI_API_API_EVENTS_H

struct api_call;

/* One host's events, a keyset page at a time (since, until, limit, cursor). */
void api_host_events_list(struct api_call *q);

#endif
