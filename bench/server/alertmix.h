/* alertmix.h - a realistic stream of alerts for `loadgen run --mix DAYS`
 * (bench/console fills a store with it): episodes as they happen on a
 * fleet, spread over DAYS days that end now, so the server's intake and
 * correlation group them as they would real ones.
 *
 * Episodes (shares of all episodes; each is numbered, and everything about
 * it - hosts, count, kinds, texts - follows from its number alone):
 *   single Sigma hit on one host (60 %), info to critical by rule;
 *   one actor (exe + user) hitting several Sigma rules on one host, 2-8
 *   alerts 15-45 s apart (24 %);
 *   a guard detection on one host (kind ransomware, indicators, actor_key,
 *   damaged files), 1-3 alerts (6 %);
 *   an outbreak: guard detections on 3-6 hosts of one site within minutes,
 *   1-2 alerts each (2 %);
 *   guard_down on one host (8 %).
 * Episode k starts at t0 + (alerts planned before it) * DAYS / total, so
 * alert ids grow with time as they do on a real server.
 *
 * Data enters as the planner's state (struct mix) and leaves as an agent
 * index and a reference per alert (struct mix_ref, kept by the caller while
 * the alert is unacknowledged, so a resend has the same text) and the JSON
 * text of an ALERT frame. Bounds: MIX_MEMBERS hosts per episode, bodies of
 * at most MIX_BODY_MAX bytes. */
#ifndef MAMORI_BENCH_ALERTMIX_H
#define MAMORI_BENCH_ALERTMIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIX_MEMBERS 6
#define MIX_BODY_MAX 2048

/* One alert of the stream: enough to write it again. */
struct mix_ref {
    int64_t time_ms;
    uint32_t ep; /* episode number */
    uint16_t j;  /* alert within the episode */
    uint16_t member;
};

struct mix {
    uint64_t total, planned; /* alerts in all; alerts handed out so far */
    int n, sites;            /* agents; sites (agent i is in site i % sites; 0: one) */
    int64_t t0_ms, span_ms, end_ms;
    /* the current episode */
    uint32_t ep;
    int type, nmem, mem[MIX_MEMBERS], per[MIX_MEMBERS];
    int m, j; /* member being sent, its alert */
    int64_t ep_time;
};

/* total alerts from n agents in `sites` sites over `days` days ending at now_ms. */
void mix_init(struct mix *m, int n, int sites, double days, uint64_t total, int64_t now_ms);

/* The next alert: the agent that sends it and its reference; false when all
 * `total` are handed out. mix_take moves on to the one after. */
bool mix_peek(struct mix *m, int *agent, struct mix_ref *ref);
void mix_take(struct mix *m);

/* The ALERT frame body {"seq", "alert": {...}} of alert `seq` of agent
 * `agent` (host_id for texts) for ref; returns its length, or -1 if cap is
 * too small. */
int mix_frame(const struct mix_ref *r, int agent, uint64_t seq, const char *host_id, char *out,
              size_t cap);

#endif
