/* liveness.c - which hosts are alive, and the writes that record it.
 *
 * Rules (checked every SRV_TICK_MS by server.c):
 *  1. Any frame from a host is a sign of life (liveness_seen): the host is
 *     online; if it was offline, a "back online" alert (info) is recorded.
 *  2. An online host silent for offline_after is marked offline and a
 *     "went silent" alert (high) is recorded: at most offline_after +
 *     SRV_TICK_MS after its last frame. A live but silent connection counts as
 *     silence; a closed connection alone does not (an agent restarting
 *     reconnects well within the interval).
 *  3. At start, hosts the store says are online get a full offline_after to
 *     reconnect before rule 2 applies.
 *  4. Status changes and alerts are written in one transaction per tick
 *     (liveness_flush); an online host's last_seen at most every
 *     HOSTS_PERSIST_MS. A failed write keeps the entries dirty for the next tick.
 *     Each alert is correlated (server/incident.h) in that transaction.
 *  5. A revocation committed by `mamori server revoke` (another process) is
 *     seen through the store's data_version within one tick: the host's
 *     connection gets ERROR "revoked" and is closed. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "server/incident.h"
#include "server/server_int.h"

static int load_one(void *arg, const struct host_row *r)
{
    struct server *s = arg;
    struct host *h = hosts_put(&s->hosts, r);
    if (!h) {
        log_error("host table full (%u hosts): %s not tracked", HOSTS_MAX, r->id);
        return 1;
    }
    h->seen_mono_ms = s->now_ms; /* rule 3 */
    return 0;
}

int liveness_load(struct server *s)
{
    int rc = store_hosts_each(&s->st, load_one, s);
    if (rc < 0)
        log_error("%s", s->st.err);
    return rc;
}

static void status_event(struct server *s, const char *event, const struct host *h,
                         const char *summary)
{
    char buf[1024];
    struct jw w;
    srv_event_begin(&w, buf, sizeof buf, event);
    jw_str(&w, "host_id", h->id);
    jw_str(&w, "hostname", h->hostname);
    jw_str(&w, "site", h->site);
    if (summary)
        jw_str(&w, "summary", summary);
    srv_emit(s, &w);
}

void liveness_seen(struct server *s, struct host *h)
{
    h->seen_mono_ms = s->now_ms;
    h->seen_wall_ms = srv_wall_ms();
    if (h->status == HOST_ENROLLED || h->status == HOST_OFFLINE) {
        if (h->status == HOST_OFFLINE) {
            h->alert_back = true;
            log_info("host %s (%s) is back online", h->id, h->hostname);
        }
        h->status = HOST_ONLINE;
        h->dirty = true;
        status_event(s, "online", h, NULL);
    } else if (h->seen_wall_ms - h->persisted_ms >= HOSTS_PERSIST_MS) {
        h->dirty = true;
    }
}

static void silent_summary(const struct server *s, const struct host *h, char *out, size_t n)
{
    snprintf(out, n,
             "host %s (%s, site %s) went silent: no heartbeat for %g s; mamori cannot see "
             "or protect it from head office until it reports again. Check that the machine is "
             "up and that the mamori agent runs.",
             h->hostname, h->id, h->site, (double)s->o->offline_after_ms / 1000.0);
}

static int sweep_one(void *arg, struct host *h)
{
    struct server *s = arg;
    if (h->status != HOST_ONLINE || s->now_ms - h->seen_mono_ms < s->o->offline_after_ms)
        return 0;
    h->status = HOST_OFFLINE;
    h->dirty = true;
    h->alert_silent = true;
    char summary[768];
    silent_summary(s, h, summary, sizeof summary);
    log_warn("%s", summary);
    status_event(s, "offline", h, summary);
    return 0;
}

void liveness_tick(struct server *s)
{
    hosts_each(&s->hosts, sweep_one, s);
}

/* The alert just added joins the host's incident (server/incident.h rule 2). */
static int correlate(struct server *s, const struct host *h, int64_t now, const char *kind,
                     const char *severity)
{
    struct incident_alert ia = {
        .id = sqlite3_last_insert_rowid(s->st.db),
        .site_id = h->site_id,
        .time = now,
        .host_id = h->id,
        .hostname = h->hostname,
        .site = h->site,
        .kind = kind,
        .severity = severity,
    };
    struct incident_note note;
    if (incident_link(&s->st, &ia, true, &note) < 0) { /* the alert is kept all the same */
        log_warn("%s alert of host %s stored without an incident: %s", kind, h->id, s->st.err);
        s->st.err[0] = '\0'; /* not a failed flush (liveness_flush reads err) */
    }
    return 0;
}

static int write_one(void *arg, struct host *h)
{
    struct server *s = arg;
    if (!h->dirty)
        return 0;
    int64_t now = srv_wall_ms();
    if (store_host_set(&s->st, h->id, h->status, h->seen_wall_ms) < 0)
        return 1;
    if (h->alert_silent) {
        char summary[768];
        silent_summary(s, h, summary, sizeof summary);
        if (store_alert_add(&s->st, h->id, h->site_id, now, "host_silent", "high", summary, NULL) <
                0 ||
            correlate(s, h, now, "host_silent", "high") < 0)
            return 1;
    }
    if (h->alert_back) {
        char summary[512];
        snprintf(summary, sizeof summary, "host %s (%s, site %s) is reporting again", h->hostname,
                 h->id, h->site);
        if (store_alert_add(&s->st, h->id, h->site_id, now, "host_back", "info", summary, NULL) <
                0 ||
            correlate(s, h, now, "host_back", "info") < 0)
            return 1;
    }
    return 0;
}

static int clear_one(void *arg, struct host *h)
{
    if (h->dirty)
        h->persisted_ms = h->seen_wall_ms;
    h->dirty = h->alert_silent = h->alert_back = false;
    return 0;
}

static int any_dirty(void *arg, struct host *h)
{
    if (h->dirty)
        *(bool *)arg = true;
    return h->dirty;
}

void liveness_flush(struct server *s)
{
    bool dirty = false;
    hosts_each(&s->hosts, any_dirty, &dirty);
    if (!dirty)
        return;
    if (store_begin(&s->st) < 0) {
        log_warn("liveness not written yet (retried next tick): %s", s->st.err);
        return;
    }
    int failed = 0;
    hosts_each(&s->hosts, write_one, s);
    failed = s->st.err[0] != '\0';
    if (!failed && store_commit(&s->st) == 0) {
        hosts_each(&s->hosts, clear_one, NULL);
    } else {
        log_warn("liveness not written yet (retried next tick): %s", s->st.err);
        store_rollback(&s->st);
    }
    s->st.err[0] = '\0';
}

static void revoke_one(void *arg, const char *id)
{
    struct server *s = arg;
    struct host *h = hosts_get(&s->hosts, id);
    if (!h || h->status == HOST_REVOKED)
        return;
    h->status = HOST_REVOKED;
    h->dirty = h->alert_silent = h->alert_back = false;
    log_warn("host %s (%s) revoked%s", h->id, h->hostname,
             h->conn ? ": closing its connection" : "");
    status_event(s, "revoked", h, NULL);
    if (h->conn)
        srv_conn_refuse(s, h->conn, "revoked", "this host was revoked by the server's operator");
}

void liveness_revocations(struct server *s)
{
    int64_t v = store_data_version(&s->st);
    if (v == s->data_version)
        return;
    s->data_version = v;
    if (store_revoked_each(&s->st, revoke_one, s) < 0)
        log_warn("cannot read revocations: %s", s->st.err);
}
