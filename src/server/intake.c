/* intake.c - alerts from agents: validated, queued, written in batches,
 * then acknowledged.
 *
 * An ALERT frame is {"seq": N, "alert": {"time_ms", "kind", "severity",
 * "summary", ...}}; N is the agent's spool number (1, 2, ...). Frames are
 * queued (at most SRV_INTAKE_MAX) and written in one transaction at the end
 * of each turn of the event loop, or at once when the queue is full: that
 * write is where a flood of alerts slows its senders down (backpressure),
 * never a dropped alert. Only after the commit does each host get one
 * ALERT_ACK with the highest seq written for it: the agent deletes its spool
 * up to there. A resend (after a reconnect) is stored once: (host, seq) is
 * unique and the insert ignores duplicates. An alert whose fields do not
 * validate is stored as kind "invalid_alert" with its raw text and
 * acknowledged like the others, so one bad record cannot block a spool.
 * Each newly stored alert is correlated into incidents (server/incident.h)
 * in the same transaction, so an alert is stored with its links; if the
 * correlation fails, the batch is written again without it (warned about):
 * an alert is never held back by its incident. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/incident.h"
#include "server/server_int.h"

#define KIND_MAX 63
#define SUMMARY_MAX 4096

static const char *const SEVERITIES[] = {"info", "low", "medium", "high", "critical"};

static bool severity_ok(const char *s)
{
    for (size_t i = 0; s && i < sizeof SEVERITIES / sizeof SEVERITIES[0]; i++)
        if (!strcmp(s, SEVERITIES[i]))
            return true;
    return false;
}

/* Fill r from the alert object; returns NULL or why it does not validate. */
static const char *fill(struct intake_rec *r, struct json_object *alert)
{
    const char *kind = frame_str(alert, "kind", KIND_MAX);
    const char *sev = frame_str(alert, "severity", 15);
    const char *summary = frame_str(alert, "summary", SUMMARY_MAX);
    int64_t t = 0;
    if (!kind || !kind[0])
        return "no kind (a string of 1-63 bytes)";
    if (!severity_ok(sev))
        return "severity is not info, low, medium, high or critical";
    if (!summary)
        return "no summary (a string of at most 4096 bytes)";
    if (frame_int(alert, "time_ms", &t) && t > 0)
        r->time = t;
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    snprintf(r->severity, sizeof r->severity, "%s", sev);
    r->summary = strdup(summary);
    return r->summary ? NULL : "out of memory";
}

bool intake_alert(struct server *s, struct sconn *c, struct json_object *body)
{
    int64_t seq = 0;
    struct json_object *alert = NULL;
    if (!frame_int(body, "seq", &seq) || seq < 1 ||
        !json_object_object_get_ex(body, "alert", &alert)) {
        srv_conn_drop(s, c, "protocol error: ALERT frame without seq (>= 1) and alert");
        return false;
    }
    if (s->nintake == SRV_INTAKE_MAX)
        intake_flush(s); /* backpressure: write before reading more */
    if (s->nintake == SRV_INTAKE_MAX) { /* the write failed: the agent resends later */
        srv_conn_drop(s, c, "alert queue full and the database cannot be written now");
        return false;
    }
    struct intake_rec *r = &s->intake[s->nintake];
    memset(r, 0, sizeof *r);
    r->host = c->host;
    r->seq = (uint64_t)seq;
    r->time = srv_wall_ms();
    const char *text = json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN);
    r->body = strdup(text ? text : "null");
    const char *why = json_object_is_type(alert, json_type_object) ? fill(r, alert)
                                                                   : "alert is not a JSON object";
    if (why) {
        char esc[160];
        log_warn("host %s sent alert %lld that does not validate: %s", c->host->id, (long long)seq,
                 why);
        snprintf(r->kind, sizeof r->kind, "invalid_alert");
        snprintf(r->severity, sizeof r->severity, "medium");
        free(r->summary);
        snprintf(esc, sizeof esc, "the agent sent an alert that did not validate: %s", why);
        r->summary = strdup(esc);
    }
    if (!r->body || !r->summary) {
        free(r->body);
        free(r->summary);
        srv_conn_drop(s, c, "out of memory for an alert");
        return false;
    }
    s->nintake++;
    return true;
}

static void emit_alert(struct server *s, const struct intake_rec *r)
{
    char buf[8192];
    struct jw w;
    srv_event_begin(&w, buf, sizeof buf, "alert");
    jw_str(&w, "host_id", r->host->id);
    jw_str(&w, "hostname", r->host->hostname);
    jw_str(&w, "site", r->host->site);
    jw_uint(&w, "seq", r->seq);
    jw_str(&w, "kind", r->kind);
    jw_str(&w, "severity", r->severity);
    jw_str(&w, "summary", r->summary);
    srv_emit(s, &w);
}

static void ack(struct server *s, struct host *h)
{
    char buf[64];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_uint(&w, "seq", h->ack_seq);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    struct sconn *c = h->conn;
    h->ack_seq = 0;
    if (!c || c->st != SC_AGENT || n < 0)
        return; /* gone: the agent resends after reconnecting, stored once */
    if (nc_send(&c->nc, FRAME_ALERT_ACK, buf, (size_t)n) < 0)
        srv_conn_drop(s, c, "write buffer full: the agent does not read its acknowledgements");
    else if (nc_flush(&c->nc) < 0)
        srv_conn_drop(s, c, c->nc.why);
}

/* The queued alerts in one transaction, each new one correlated if asked;
 * *corr_failed says a failure came from the correlation, not the alerts. */
static int write_batch(struct server *s, bool correlate, unsigned *outbreaks, bool *corr_failed)
{
    int rc = store_begin(&s->st);
    *outbreaks = 0;
    *corr_failed = false;
    for (size_t i = 0; rc == 0 && i < s->nintake; i++) {
        struct intake_rec *r = &s->intake[i];
        rc = store_alert_intake(&s->st, r->host->id, r->host->site_id, r->seq, r->time, r->kind,
                                r->severity, r->summary, r->body);
        if (rc == 0 && correlate && sqlite3_changes(s->st.db) == 1) { /* not a resend */
            struct incident_alert ia = {
                .id = sqlite3_last_insert_rowid(s->st.db),
                .site_id = r->host->site_id,
                .time = r->time,
                .host_id = r->host->id,
                .hostname = r->host->hostname,
                .site = r->host->site,
                .kind = r->kind,
                .severity = r->severity,
                .body = r->body,
            };
            struct incident_note note;
            rc = incident_link(&s->st, &ia, false, &note);
            *corr_failed = rc < 0;
            *outbreaks += note.outbreak_new;
        }
    }
    if (rc == 0)
        rc = store_commit(&s->st);
    if (rc < 0)
        store_rollback(&s->st);
    return rc;
}

void intake_flush(struct server *s)
{
    if (s->nintake == 0)
        return;
    unsigned outbreaks;
    bool corr_failed;
    int rc = write_batch(s, true, &outbreaks, &corr_failed);
    if (rc < 0 && corr_failed) { /* the alerts go in all the same, without incidents */
        char why[sizeof s->st.err];
        memcpy(why, s->st.err, sizeof why);
        rc = write_batch(s, false, &outbreaks, &corr_failed);
        if (rc == 0)
            log_warn("%zu alerts stored without incidents: correlating them failed: %s", s->nintake,
                     why);
    }
    if (rc < 0) {
        log_warn("%zu alerts not written yet (retried at the next turn): %s", s->nintake,
                 s->st.err);
        return; /* kept: a full queue stops taking more (intake_alert flushes first) */
    }
    if (outbreaks)
        log_warn("%u new outbreak incident%s: the same kind of alert on several hosts of a site "
                 "(mamori server incidents --open)",
                 outbreaks, outbreaks == 1 ? "" : "s");
    for (size_t i = 0; i < s->nintake; i++) {
        struct intake_rec *r = &s->intake[i];
        emit_alert(s, r);
        if (r->seq > r->host->ack_seq)
            r->host->ack_seq = r->seq;
    }
    for (size_t i = 0; i < s->nintake; i++) {
        struct intake_rec *r = &s->intake[i];
        if (r->host->ack_seq)
            ack(s, r->host);
        free(r->summary);
        free(r->body);
    }
    s->alerts_stored += s->nintake;
    s->nintake = 0;
}
