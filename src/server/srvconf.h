/* srvconf.h - the server's configuration file (YAML), with embedded defaults.
 *
 * `mamori server run` reads --config FILE, else DATA/server.yaml when it
 * exists, else runs on srvconf_defaults(); command-line flags override what
 * the file says. A file that does not parse, a key this version does not
 * know (with a suggestion when one is close) or a value out of range is
 * refused with "FILE:LINE:COL: reason" and the command exits 2. Every key is
 * documented in docs/mamori-server.md (CONFIGURATION) and etc/mamori-server.yaml:
 *
 *   listen: ADDR:PORT            heartbeat: DUR         log_level: LEVEL
 *   api_listen: ADDR:PORT|none   offline_after: DUR     max_conns: N
 *   intake:    queue_events: N   queue_bytes: SIZE      batch_events: N
 *   retention: events_max_age: DUR|never   alerts_max_age: DUR|never
 *              events_max_size: SIZE|none  events_max_percent: 1..100|none
 *              batch: N
 * DUR: 500ms, 30s, 10m, 24h, 30d. SIZE: 512KiB, 64MiB, 10GiB (or bytes). */
#ifndef MAMORI_SERVER_SRVCONF_H
#define MAMORI_SERVER_SRVCONF_H

#include <stddef.h>
#include <stdint.h>

#define SRVCONF_FILE "server.yaml"
#define SRVCONF_ADDR_MAX 300

struct srv_conf {
    char listen[SRVCONF_ADDR_MAX];
    char api_listen[SRVCONF_ADDR_MAX]; /* "" : the API's default; "none": no API */
    uint64_t offline_after_ms, heartbeat_ms;
    uint64_t max_conns;
    char log_level[16]; /* "" : unchanged */
    /* intake (server/events.h) */
    uint64_t queue_events, queue_bytes;
    uint64_t batch_events;
    /* retention (server/retention.c); 0 = no limit of that kind */
    uint64_t events_max_age_ms, alerts_max_age_ms;
    uint64_t events_max_bytes;
    uint64_t events_max_percent; /* of the data directory's filesystem */
    uint64_t retention_batch;    /* rows deleted per tick at most */
};

void srvconf_defaults(struct srv_conf *c);
/* 0, or MAMORI_ECONFIG with err = "FILE:LINE:COL: reason" (MAMORI_EIO if
 * the file cannot be read). */
int srvconf_load(struct srv_conf *c, const char *path, char *err, size_t errsz);
int srvconf_parse(struct srv_conf *c, const char *name, const char *text, size_t len, char *err,
                  size_t errsz);

#endif
