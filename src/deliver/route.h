/* route.h - alert routes: where the alerts of a site (or of every site) are
 * delivered, and the checks a route must pass before it is stored.
 *
 * A route is one row of the routes table (server/store.h, v7): a kind
 * (webhook, slack, teams, syslog, email), a target (https:// URL for the
 * first three, tcp:// or tls://HOST:PORT for syslog, smtp:// or smtps://
 * HOST[:PORT] for e-mail), options as a JSON object (ca, from, to, user,
 * password, starttls) and the lowest severity it takes. The operator
 * commands (cmd/cmd_route.c), the API (api/api_routes.c) and the delivery
 * thread (deliver.c) all read and write routes through these functions, on
 * their own struct store. Targets hold secrets (webhook URLs carry tokens,
 * SMTP passwords): route_masked_target is what logs and answers show.
 * Functions return 0 or a negative MAMORI_E* code with a reason in err
 * (or st->err for the database). */
#ifndef MAMORI_DELIVER_ROUTE_H
#define MAMORI_DELIVER_ROUTE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"

#define ROUTE_TARGET_MAX 1024
#define ROUTE_OPTIONS_MAX 4096
#define ROUTE_ADDR_MAX 320  /* one e-mail address */
#define ROUTE_TO_MAX 1024   /* comma-separated recipients */
#define ROUTE_SECRET_MAX 256

enum route_kind { RK_WEBHOOK, RK_SLACK, RK_TEAMS, RK_SYSLOG, RK_EMAIL };

struct route {
    int64_t id;
    int64_t site_id; /* 0: every site */
    char site[SITE_NAME_MAX + 1];
    enum route_kind kind;
    char target[ROUTE_TARGET_MAX];
    char options[ROUTE_OPTIONS_MAX]; /* a JSON object */
    int min_rank;                    /* 0 info .. 4 critical */
    int64_t created, disabled;       /* ms; disabled 0 = active */
    char created_by[128];
};

/* What the options JSON holds, parsed. */
struct route_opts {
    char ca[PATH_MAX];              /* CA bundle for TLS targets ("" = system) */
    char from[ROUTE_ADDR_MAX];      /* email */
    char to[ROUTE_TO_MAX];          /* email, comma-separated */
    char user[ROUTE_SECRET_MAX];    /* email (SMTP AUTH) */
    char password[ROUTE_SECRET_MAX];
    bool starttls; /* email over smtp://: require STARTTLS */
};

const char *route_kind_name(enum route_kind k);
int route_kind_parse(const char *s, enum route_kind *out);

/* Check kind, target and options together (the CA file must be readable).
 * 0 or MAMORI_EINVAL with a sentence in err naming what is wrong. */
int route_check(const struct route *r, char *err, size_t errsz);
int route_opts_parse(const char *json, struct route_opts *o, char *err, size_t errsz);
/* The target without its secrets: scheme://host[:port] plus the first path
 * segment and "/..." for URLs; the SMTP user but never the password. */
void route_masked_target(const struct route *r, char *out, size_t outsz);
/* The route as one JSON object (masked), for listings and the API. */
int route_json(const struct route *r, char *out, size_t outsz);

/* Database. route_add stores r (id and created set on return) with
 * after_alert = the newest alert now, so a new route takes alerts from now
 * on. Call inside a transaction to add the audit row with it. */
int route_add(struct store *st, struct route *r);
int route_get(struct store *st, int64_t id, struct route *r); /* MAMORI_ENOENT */
/* Active routes (all == false) or every route, ordered by id; site_id > 0:
 * only that site's routes and the all-sites ones. fn returns non-zero to stop. */
int route_each(struct store *st, bool all, int64_t site_id,
               int (*fn)(void *, const struct route *), void *arg);
/* Disable the route; its pending deliveries become failed ("route
 * removed"). MAMORI_ENOENT when it is unknown or already removed. */
int route_disable(struct store *st, int64_t id, int64_t now);
/* Site id by name: MAMORI_ENOENT if there is no such site. */
int route_site_id(struct store *st, const char *name, int64_t *id);

#endif
