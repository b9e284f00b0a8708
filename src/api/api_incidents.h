/* api_incidents.h - the API's incidents and response commands: handlers
 * (api_incidents.c, api_commands.c), their SQL (api_store_incidents.c) and
 * the JSON shape the event stream shares (api_sse.c). Internal to src/api.
 *
 * Bounds: an incident's detail shows at most APII_DETAIL_ALERTS alerts and
 * APII_DETAIL_COMMANDS commands (oldest first; "alerts_truncated" /
 * "commands_truncated" say when more exist); the event stream reads at most
 * API_SSE_BATCH changed incidents per tick. */
#ifndef MAMORI_API_API_INCIDENTS_H
#define MAMORI_API_API_INCIDENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api_int.h"
#include "server/cmdstore.h"
#include "server/incident.h"

#define APII_DETAIL_ALERTS 500
#define APII_DETAIL_COMMANDS 200

/* ------------------------------------------------------------ handlers -- */
void api_incidents_list(struct api_call *q);
void api_incident_get(struct api_call *q);
void api_incident_resolve(struct api_call *q);
void api_host_command_add(struct api_call *q);
void api_host_commands_list(struct api_call *q);
void api_command_get(struct api_call *q);

/* ----------------------------------------------- shared request helpers -- */
/* Each returns 0, or -1 after answering (400 with the reason). */
int apii_params(struct api_call *q, const char *const *allowed);
int apii_limit(struct api_call *q, int *limit);
int apii_cursor(struct api_call *q, char list, uint32_t fp, struct api_cursor *c, bool *has);
/* The host named by id within q->who's scope: 0, or -1 after a 404/500. */
int apii_host(struct api_call *q, const char *id, struct host_row *h);

/* --------------------------------------------------------------- JSON -- */
int api_incident_json(struct hbuf *out, const struct incident_row *r);
int api_command_json(struct hbuf *out, const struct cmd_row *r);

/* ---------------------------------------------------------------- SQL -- */
#define APII_SEV_MAX 5
struct apist_incident_q {
    int64_t site_id;     /* 0: any */
    const char *host_id; /* NULL: any; else its incidents and the outbreaks it is in */
    const char *status;  /* NULL: any */
    const char *sev[APII_SEV_MAX];
    int nsev;
    int64_t before_id; /* keyset: id < before_id; 0: from the newest */
    int64_t after_rev; /* non-zero: by rev ascending, rev > after_rev (event stream) */
    int limit;
};
int apist_incidents(struct store *st, const struct apist_incident_q *f,
                    int (*fn)(void *, const struct incident_row *), void *arg);
int64_t apist_incident_max_rev(struct store *st); /* 0 when none, < 0 on error */
/* The incident's alerts (host incident or outbreak), oldest first, at most limit. */
int apist_incident_alerts(struct store *st, const struct incident_row *r, int limit,
                          int (*fn)(void *, const struct alert_row *), void *arg);
/* Commands of the incident's hosts created from its first alert until it
 * was resolved (or now), oldest first, at most limit. */
int apist_incident_commands(struct store *st, const struct incident_row *r, int64_t until,
                            int limit, int (*fn)(void *, const struct cmd_row *), void *arg);
/* One host's commands, newest first, id < before_id (0: from the newest). */
int apist_host_commands(struct store *st, const char *host_id, int64_t before_id, int limit,
                        int (*fn)(void *, const struct cmd_row *), void *arg);
/* The audit row cmdstore_add wrote for uid gets the host's site (so a site
 * admin reads it). */
int apist_command_audit_site(struct store *st, const char *uid, int64_t site_id);

#endif
