/* api_store.h - the API's queries on the server database (server.db).
 *
 * The API thread has its own connection (struct store from server/store.h,
 * opened with store_open: WAL, so its reads never block the agent loop and
 * the loop's writes never block them). Writes here are single short
 * transactions (tokens, revocation, audit). Schema: store.h, version 3
 * added api_tokens, audit.site_id and the indexes these pages use.
 *
 * Lists are keyset pages in a stable order (never OFFSET): hosts by
 * (hostname, id), sites by name, alerts and audit rows by id, newest first.
 * Each list calls fn once per row (fn returns non-zero to stop); strings in
 * the rows passed to fn live until fn returns. Functions return 0 or a
 * negative MAMORI_E* code with the reason in st->err; MAMORI_ENOENT for a
 * missing object. */
#ifndef MAMORI_API_API_STORE_H
#define MAMORI_API_API_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api_auth.h"
#include "server/store.h"

struct apist_token {
    char name[APITOK_NAME_MAX + 1];
    enum api_role role;
    int64_t site_id; /* 0: every site */
    char site[SITE_NAME_MAX + 1];
    uint8_t salt[16], hash[32];
    int64_t created, expires, last_used, revoked; /* ms; 0 = never / none */
};

int apist_token_add(struct store *st, const char *id, const struct apist_token *t);
int apist_token_get(struct store *st, const char *id, struct apist_token *out);
int apist_token_touch(struct store *st, const char *id, int64_t now);
/* Every token, oldest first (fn gets the id and the row). */
int apist_tokens_each(struct store *st, int (*fn)(void *, const char *, const struct apist_token *),
                      void *arg);
/* MAMORI_ENOENT if no such token, 0 when revoked now or before. */
int apist_token_revoke(struct store *st, const char *id, int64_t now);

/* severities in the order of APIST_SEV_NAMES: critical, high, medium, low, info */
#define APIST_SEVS 5
extern const char *const APIST_SEV_NAMES[APIST_SEVS];
struct apist_site {
    int64_t id, created;
    char name[SITE_NAME_MAX + 1];
    int64_t hosts, online, offline, enrolled, revoked;
    int64_t open_incidents[APIST_SEVS]; /* open incidents by severity */
};
/* Sites ordered by name after `after` (NULL: from the first); only_site 0: all. */
int apist_sites(struct store *st, int64_t only_site, const char *after, int limit,
                int (*fn)(void *, const struct apist_site *), void *arg);
int apist_site_get(struct store *st, const char *name, struct apist_site *out);

struct apist_host_q {
    int64_t site_id;        /* 0: any */
    const char *status;     /* NULL: any */
    const char *after_name; /* keyset: rows after (after_name, after_id) */
    const char *after_id;
    int limit;
};
int apist_hosts(struct store *st, const struct apist_host_q *q,
                int (*fn)(void *, const struct host_row *), void *arg);
int apist_host_get(struct store *st, const char *id, struct host_row *out);

#define APIST_SEV_MAX 5
struct apist_alert_q {
    int64_t site_id;     /* 0: any */
    const char *host_id; /* NULL: any */
    int64_t since;       /* time >= since (ms); 0: no bound */
    const char *sev[APIST_SEV_MAX];
    int nsev;
    const char *kind;  /* NULL: any */
    int64_t before_id; /* keyset: id < before_id; 0: from the newest */
    int64_t after_id;  /* non-zero: ascending, id > after_id (event stream; -1: all) */
    int limit;
};
int apist_alerts(struct store *st, const struct apist_alert_q *q,
                 int (*fn)(void *, const struct alert_row *), void *arg);
/* One alert: fn called once, or MAMORI_ENOENT. */
int apist_alert_get(struct store *st, int64_t id, int (*fn)(void *, const struct alert_row *),
                    void *arg);
int64_t apist_alert_max_id(struct store *st); /* 0 when none, < 0 on error */

struct apist_audit {
    int64_t id, time, site_id;
    const char *actor, *action, *target, *detail, *site; /* may be NULL */
};
struct apist_audit_q {
    int64_t site_id; /* 0: any (rows of no site included) */
    int64_t since;
    const char *actor, *action;
    int64_t before_id;
    int limit;
};
int apist_audit_list(struct store *st, const struct apist_audit_q *q,
                     int (*fn)(void *, const struct apist_audit *), void *arg);
int apist_audit_add(struct store *st, int64_t now, const char *actor, const char *action,
                    const char *target, const char *detail, int64_t site_id);

#endif
