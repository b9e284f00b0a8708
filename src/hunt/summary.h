/* summary.h - what a hunt found, counted: per rule, per level, per host, and
 * each host's attack chain.
 *
 * Each worker counts into its own struct summary (summary_add per finding);
 * at the end the workers' summaries are merged into one and printed as text
 * (for people) or JSON (for tools). The attack chain places a finding in the
 * phases its ATT&CK tactic tags name, in the order a ransomware intrusion
 * runs: initial access, credential use, discovery, lateral movement,
 * persistence, defence evasion, impact; with the first and last time and the
 * count of each phase per host. Bounded: at most SUMMARY_HOSTS_MAX hosts are
 * told apart, the rest count under "(other hosts)". */
#ifndef MAMORI_HUNT_SUMMARY_H
#define MAMORI_HUNT_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#define SUMMARY_HOSTS_MAX 65536u
#define SUMMARY_LEVELS 5 /* SG_LEVELS of enum sg_level */

enum phase {
    PHASE_INITIAL_ACCESS,
    PHASE_CREDENTIAL_USE,
    PHASE_DISCOVERY,
    PHASE_LATERAL_MOVEMENT,
    PHASE_PERSISTENCE,
    PHASE_DEFENCE_EVASION,
    PHASE_IMPACT,
    PHASE_COUNT
};

struct summary;

/* nrules: how many rule slots (detection rules then correlations). */
struct summary *summary_new(uint32_t nrules);
void summary_free(struct summary *s);
/* One finding: rule slot, level (enum sg_level), host (may be NULL), time
 * (SG_TIME_UNKNOWN allowed), its tags. Returns 0 or MAMORI_ENOMEM. */
int summary_add(struct summary *s, uint32_t rule, int level, const char *host, int64_t time_ns,
                const char *const *tags, uint32_t ntags);
/* Adds every count of from into into (same nrules). */
int summary_merge(struct summary *into, const struct summary *from);
uint64_t summary_total(const struct summary *s);

/* Rule slot -> title, id and level name, for printing. */
struct summary_names {
    const char *(*title)(void *ctx, uint32_t rule);
    const char *(*id)(void *ctx, uint32_t rule);
    const char *(*level)(void *ctx, uint32_t rule);
    void *ctx;
};
void summary_print_text(const struct summary *s, const struct summary_names *n, FILE *out);
/* Returns 0 or a negative MAMORI_E* when writing failed. */
int summary_write_json(const struct summary *s, const struct summary_names *n, FILE *out);

const char *phase_name(enum phase p);
/* Bit set of the phases the tags name (bit p for enum phase p). */
unsigned phase_of_tags(const char *const *tags, uint32_t ntags);

#endif
