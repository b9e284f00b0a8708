/* store.h - the server's database: one SQLite file (server.db, WAL mode) in
 * the data directory, with a versioned schema.
 *
 * Schema version 10 (PRAGMA user_version; store_open creates or upgrades it
 * step by step and refuses a newer one):
 *   sites   (id, name UNIQUE, created)
 *   tokens  (hash PK = SHA-256 hex of the secret, site_id, created, expires,
 *            used, used_by)                       one-time enrollment tokens
 *   hosts   (id PK "h-<16 hex>", site_id, hostname, cert_fp UNIQUE, enrolled,
 *            last_seen, status enrolled|online|offline|revoked, revoked,
 *            cert_fp_prev: the certificate before a renewal, accepted until
 *            the new one is first used (v10))
 *   events  (id, host_id, time, received, body JSON)          (intake, later)
 *   alerts  (id, host_id, site_id, time, kind, severity, summary, body JSON,
 *            seq: the agent's spool number, unique per host; NULL for
 *            alerts the server raised itself)                     (v2: seq)
 *   audit   (id, time, actor, action, target, detail)   who did what, when
 *   commands (id, uid "c-<16 hex>" UNIQUE, host_id, action isolate|release|
 *            kill|restore, arg, created, created_by, sent, status
 *            pending|sent|ok|failed, done, message)   response commands (v3;
 *            queries in server/cmdstore.h)
 *   api_tokens (id PK 16 hex, name, role admin|site-admin|viewer, site_id,
 *            salt, hash = SHA-256(salt || secret), created, expires,
 *            last_used, revoked)  API tokens; audit gains site_id; indexes
 *            for the API's pages (v4; queries in api/api_store.h)
 *   users   (id, name UNIQUE, role, site_id, hash argon2id string, totp_secret,
 *            created, disabled, failed_logins, locked_until)   console users
 *   sessions (id PK = SHA-256 of the cookie value, user_id, csrf, created,
 *            last_seen, expires, ip, user_agent)  console sessions (v5;
 *            queries in web/web_int.h)
 *   incidents (id, site_id, host_id NULL for an outbreak, kind host|outbreak,
 *            key, title, severity, status open|resolved, first, last,
 *            alert_count, host_count, resolved_by, resolved_at, rev); alerts
 *            gain incident_id, outbreak_id and class (v6; rules and queries
 *            in server/incident.h)
 *   routes  (id, site_id NULL = every site, kind webhook|slack|teams|syslog|
 *            email, target, options JSON, min_rank 0 info..4 critical,
 *            after_alert: highest alert id already queued for it, created,
 *            created_by, disabled)       where alerts are delivered (v7)
 *   deliveries (id, route_id, alert_id, created, status pending|sent|failed,
 *            attempts, next_try, last_error, sent_at; UNIQUE(route, alert))
 *            the durable outbox (v7; queries in deliver/route.h)
 *   events gain seq (the agent's event spool number, unique per host) and
 *            kind; written by server/events.c, deleted by retention.c (v8)
 *   alerts' time index becomes (time, site_id, severity): alert counts over
 *            a window read the index alone (v9; api/api_counts.c)
 * Times are milliseconds since the epoch (UTC).
 *
 * Several processes share the file: the running server, and `mamori server
 * token|revoke|hosts|alerts`. A writer waits up to STORE_BUSY_MS for the
 * lock. The server learns of another process's commit through
 * store_data_version. One struct store has one owner (not thread-safe).
 * Functions return 0 or a negative MAMORI_E* code with a reason in s->err. */
#ifndef MAMORI_SERVER_STORE_H
#define MAMORI_SERVER_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 11
#define STORE_BUSY_MS 5000
#define STORE_FILE "server.db"
#define SITE_NAME_MAX 64
#define HOST_ID_MAX 24          /* "h-" + 16 hex + NUL, with room */
#define HOSTNAME_MAX 254        /* DNS name limit + NUL */
#define HOST_VERSION_MAX 32     /* an agent's version string + NUL */
#define STORE_INCIDENT_STMTS 12 /* statements incident.c runs per alert */

enum host_status { HOST_ENROLLED, HOST_ONLINE, HOST_OFFLINE, HOST_REVOKED };

struct host_row {
    char id[HOST_ID_MAX];
    int64_t site_id;
    char site[SITE_NAME_MAX + 1];
    char hostname[HOSTNAME_MAX];
    char cert_fp[65];
    char cert_fp_prev[65];                /* "" = none */
    char version[HOST_VERSION_MAX];       /* the agent's last reported version; "" = unknown */
    int64_t enrolled, last_seen, revoked; /* ms; 0 = never */
    enum host_status status;
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *host_set;                       /* cached: the liveness flush runs it per host */
    sqlite3_stmt *intake;                         /* cached: one per alert from an agent */
    sqlite3_stmt *incident[STORE_INCIDENT_STMTS]; /* cached by server/incident.c */
    char err[512];
};

int store_open(struct store *s, const char *dir);
void store_close(struct store *s);
int store_version(struct store *s); /* PRAGMA user_version, or < 0 */

int store_begin(struct store *s); /* BEGIN IMMEDIATE */
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Site by name, created if missing. */
int store_site_id(struct store *s, const char *name, int64_t *id);
int store_token_add(struct store *s, const char *hash_hex, int64_t site_id, int64_t now,
                    int64_t expires);
/* Mark the token used by host_id. Returns 0 with the token's site, or
 * MAMORI_ENOENT (unknown), MAMORI_EEXIST (used), MAMORI_ERANGE (expired),
 * each with an English reason in s->err. Call inside a transaction. */
int store_token_use(struct store *s, const char *hash_hex, int64_t now, const char *host_id,
                    int64_t *site_id, char site[SITE_NAME_MAX + 1]);

int store_host_add(struct store *s, const struct host_row *h);
/* A host by id, else by hostname (MAMORI_EEXIST if two share it). */
int store_host_find(struct store *s, const char *id_or_name, struct host_row *out);
int store_host_set(struct store *s, const char *id, enum host_status st, int64_t last_seen);
int store_host_revoke(struct store *s, const char *id, int64_t now);
/* A renewed certificate: cert_fp = fp, cert_fp_prev = prev ("" or NULL:
 * none). MAMORI_EPERM if the host is revoked (or unknown). */
int store_host_renew(struct store *s, const char *id, const char *fp, const char *prev);
/* Records the version an agent reported (at most HOST_VERSION_MAX - 1 bytes). */
int store_host_version(struct store *s, const char *id, const char *version);
/* Calls fn for each host (ordered by site, hostname); fn returns non-zero to stop. */
int store_hosts_each(struct store *s, int (*fn)(void *, const struct host_row *), void *arg);
/* Calls fn with each revoked host's id. */
int store_revoked_each(struct store *s, void (*fn)(void *, const char *), void *arg);

int store_alert_add(struct store *s, const char *host_id, int64_t site_id, int64_t time,
                    const char *kind, const char *severity, const char *summary, const char *body);
struct alert_row {
    int64_t id, site_id, time, seq; /* seq 0: raised by the server */
    const char *host_id, *site, *hostname, *kind, *severity, *summary, *body; /* may be NULL */
    /* 0: none (filled by the API's alert queries) */
    int64_t incident_id, outbreak_id;
};
/* One alert from an agent (INSERT OR IGNORE on host + seq): cached statement. */
int store_alert_intake(struct store *s, const char *host_id, int64_t site_id, uint64_t seq,
                       int64_t time, const char *kind, const char *severity, const char *summary,
                       const char *body);
int store_alerts_each(struct store *s, int (*fn)(void *, const struct alert_row *), void *arg);

int store_audit(struct store *s, int64_t time, const char *actor, const char *action,
                const char *target, const char *detail);

/* Changes whenever another connection commits (PRAGMA data_version). */
int64_t store_data_version(struct store *s);

const char *host_status_name(enum host_status st);
int host_status_parse(const char *s, enum host_status *out);

#endif
