/* incident.h - alert correlation: incidents (schema v6, see store.h).
 *
 * Every alert the server stores is offered to incident_link inside the same
 * transaction that inserts it (server/intake.c for agents' alerts,
 * server/liveness.c for host_silent/host_back), so an alert and its
 * incident links are committed together or not at all.
 *
 * Two kinds of incident:
 *   host      one host's alerts of one actor within INCIDENT_ACTOR_WINDOW_MS
 *             of the incident's last alert (alerts.incident_id);
 *   outbreak  the same class of alert on >= INCIDENT_OUTBREAK_HOSTS hosts
 *             of one site within INCIDENT_OUTBREAK_WINDOW_MS
 *             (alerts.outbreak_id; host_id NULL).
 * An alert can be in both (its host incident and its site's outbreak):
 * hence two columns on alerts rather than one or a link table.
 *
 * Rules (constants below; later configurable):
 *  1. The actor key of an alert (incident_keys): the body's "actor_key"
 *     (BOOT-PID-START, what `mamori agent`'s kill command takes) when
 *     present; else its "exe" and "user"; else the alert's kind. An alert
 *     joins the open host incident of its host with the same key whose last
 *     alert is at most INCIDENT_ACTOR_WINDOW_MS before it (or after it: an
 *     alert may arrive late); otherwise it opens a new one. A resolved
 *     incident is never joined again.
 *  2. host_silent and host_back join the host's most recent open incident
 *     whatever its key and age; with none, host_silent opens an incident
 *     keyed "liveness" (which the matching host_back then joins) and a
 *     host_back alone is left without an incident.
 *  3. The class of an alert (the outbreak key): the body's "rule_id" (or
 *     "rule") for sensor alerts; for a guard detection (a body with
 *     "indicators") "guard:" + the strongest indicator class (encryption,
 *     ransom_note, extension_rename, decoy, lineage); else its kind. When
 *     an alert of severity >= low has the class of an open outbreak of its
 *     site whose last alert is within INCIDENT_OUTBREAK_WINDOW_MS, it joins
 *     it; else, when another host of its site has an alert of that class
 *     within the window, an outbreak opens holding every alert of the class
 *     in the site within the window. info alerts (host_back, ...) never
 *     make outbreaks.
 *  4. Severity: a host incident has the highest severity of its alerts; an
 *     outbreak one level above it, and critical for guard classes (an
 *     outbreak of ransomware is critical).
 *
 * State lives in SQL only (indexes incidents_host_key, incidents_site_key,
 * alerts_site_class_time), so a restart keeps grouping: no cache to bound
 * or rebuild. Each call runs a few indexed lookups (bounded by the window:
 * an outbreak's opening reads the site's alerts of one class within 10 min).
 *
 * incidents.rev grows with every change (a store-wide counter), so readers
 * such as the API's event stream find what changed since they last looked.
 * Functions return 0 or a negative MAMORI_E* code with a reason in s->err. */
#ifndef MAMORI_SERVER_INCIDENT_H
#define MAMORI_SERVER_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "server/store.h"

#define INCIDENT_ACTOR_WINDOW_MS (30 * 60 * 1000)    /* rule 1 */
#define INCIDENT_OUTBREAK_WINDOW_MS (10 * 60 * 1000) /* rule 3 */
#define INCIDENT_OUTBREAK_HOSTS 2                    /* rule 3 */
#define INCIDENT_KEY_MAX 320                         /* actor/class key, NUL included */
#define INCIDENT_TITLE_MAX 384                       /* NUL included */

/* What correlation reads of one alert (pure: see incident_keys). */
struct incident_keys {
    char actor[INCIDENT_KEY_MAX]; /* "actor:KEY", "exe:EXE user:U" or "kind:KIND" */
    char cls[INCIDENT_KEY_MAX];   /* "rule:ID", "guard:CLASS" or "kind:KIND" */
    char exe[200];                /* for titles; "" if none */
    bool guard;                   /* a guard detection (body with indicators) */
    bool liveness;                /* host_silent / host_back */
};

/* The keys of an alert from its kind and body (JSON text of the alert
 * object, or NULL). Never fails: a body that is not JSON counts as none. */
void incident_keys(const char *kind, const char *body, struct incident_keys *k);

struct incident_alert {
    int64_t id, site_id, time;
    const char *host_id, *hostname, *site; /* hostname/site only for titles */
    const char *kind, *severity, *body;    /* body may be NULL */
};

/* What incident_link did (0: no such incident). */
struct incident_note {
    int64_t incident, outbreak;
    bool incident_new, outbreak_new;
};

/* Correlate one stored alert (rules above); call in the transaction that
 * inserted it. On failure (reason in s->err): with savepoint, none of its
 * links are kept and the transaction and the alert stay usable (the caller
 * keeps the alert without an incident); without (3x faster: no statement
 * journal), the caller must roll the transaction back (intake then writes
 * its batch again without correlation). */
int incident_link(struct store *s, const struct incident_alert *a, bool savepoint,
                  struct incident_note *out);

struct incident_row {
    int64_t id, site_id, first, last, alert_count, host_count, resolved_at, rev;
    char site[SITE_NAME_MAX + 1];
    char host_id[HOST_ID_MAX]; /* "" for an outbreak */
    char hostname[HOSTNAME_MAX];
    char kind[12]; /* host, outbreak */
    char key[INCIDENT_KEY_MAX];
    char title[INCIDENT_TITLE_MAX];
    char severity[16];
    char status[12]; /* open, resolved */
    char resolved_by[128];
    /* a host incident's oldest alert (the one that opened it, unless
     * retention deleted it): its kind and the body's "exe", for titles in
     * other languages; "" for an outbreak */
    char alert_kind[64];
    char exe[200];
};

/* The columns and joins that incident_from_row reads (for other queries).
 * The oldest alert comes through the alerts_incident index (one lookup). */
#define INCIDENT_COLS                                                                              \
    "i.id, i.site_id, COALESCE(s.name, ''), COALESCE(i.host_id, ''), COALESCE(h.hostname, ''),"    \
    " i.kind, i.key, i.title, i.severity, i.status, i.first, i.last, i.alert_count,"               \
    " i.host_count, COALESCE(i.resolved_by, ''), COALESCE(i.resolved_at, 0), i.rev,"               \
    " COALESCE(fa.kind, ''), CASE WHEN json_valid(fa.body) THEN"                                   \
    " json_extract(fa.body, '$.exe') END"                                                          \
    " FROM incidents i LEFT JOIN sites s ON s.id = i.site_id LEFT JOIN hosts h ON h.id = "         \
    "i.host_id LEFT JOIN alerts fa ON fa.id = (SELECT MIN(id) FROM alerts"                         \
    " WHERE incident_id = i.id)"
void incident_from_row(sqlite3_stmt *st, struct incident_row *r);

/* One incident: MAMORI_ENOENT if none. */
int incident_get(struct store *s, int64_t id, struct incident_row *out);
/* Incidents newest first: of one site (site_id 0: all), open ones only if
 * asked. fn returns non-zero to stop. */
int incident_each(struct store *s, int64_t site_id, bool open_only,
                  int (*fn)(void *, const struct incident_row *), void *arg);
/* open -> resolved by `by` (audited by the caller). *changed false when it
 * was resolved already. MAMORI_ENOENT if no such incident. */
int incident_resolve(struct store *s, int64_t id, const char *by, int64_t now, bool *changed);

/* Severity names in order (info .. critical) and their rank (-1: unknown). */
int incident_sev_rank(const char *sev);
const char *incident_sev_name(int rank);

#endif
