/* alert_text.h - what an alert says to a person: what happened, on which
 * host and site, what mamori already did, what the operator should do next.
 *
 * An alert row (struct dalert: the alerts table joined with its host and
 * site) enters; plain UTF-8 sentences leave (struct dtext), the same for
 * every channel. The channel formats (format.h) escape them for their
 * markup. Guard alerts (a body with "action" alert|freeze|kill and
 * "actor_key") are recognised whatever their kind; host_silent, host_back,
 * revoked, invalid_alert, command results and the route test have their own
 * texts; any other kind gets a generic text built from its summary.
 * Pure functions, no allocation, no state. */
#ifndef MAMORI_DELIVER_ALERT_TEXT_H
#define MAMORI_DELIVER_ALERT_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct dalert {
    int64_t id;   /* alerts.id; 0 for a route test */
    int64_t time; /* ms since the epoch */
    const char *host_id, *hostname, *site; /* may be NULL */
    const char *kind, *severity, *summary; /* may be NULL */
    const char *body;                      /* JSON text or NULL */
};

#define DTEXT_FACTS_MAX 12
#define DTEXT_TITLE_MAX 240
#define DTEXT_PARA_MAX 2048

struct dfact {
    const char *name;
    char value[512];
};

struct dtext {
    char title[DTEXT_TITLE_MAX]; /* one line: "[high] host_silent on web-1 (osaka)" */
    char what[DTEXT_PARA_MAX];   /* what happened */
    char did[DTEXT_PARA_MAX];    /* what mamori already did */
    char next[DTEXT_PARA_MAX];   /* what the operator should do next */
    struct dfact facts[DTEXT_FACTS_MAX];
    size_t nfacts;
    char host[256]; /* hostname, else host id, else "the server" */
    char site[80];  /* site name or "-" */
};

void dtext_build(const struct dalert *a, struct dtext *t);

/* 0 info, 1 low, 2 medium, 3 high, 4 critical; -1 for another word. */
int dseverity_rank(const char *s);
/* RFC 3339 UTC with milliseconds. */
void dtime_fmt(int64_t ms, char *out, size_t outsz);

#endif
