/* finding.h - one line of the hunt's timeline, and its three renderings.
 *
 * A finding is a rule (or a correlation) that fired on an event: the
 * worker fills a struct finding from the event and the rule, picks the
 * event's key fields (finding_key_fields), and renders it in the output
 * format into a caller buffer; the timeline keeps the rendered bytes.
 * Every outside string is escaped for its format (JSON, CSV quoting, control
 * characters in the table), and every string is cut at FINDING_VALUE_MAX
 * bytes (field names at FINDING_NAME_MAX) so a line stays bounded. */
#ifndef MAMORI_HUNT_FINDING_H
#define MAMORI_HUNT_FINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sigma/event.h"

#define FINDING_FIELDS_MAX 16      /* key fields shown per finding */
#define FINDING_VALUE_MAX 2048     /* bytes of one value shown (the file path: twice) */
#define FINDING_NAME_MAX 256       /* bytes of one field name shown */

enum hunt_format { HUNT_JSONL, HUNT_CSV, HUNT_TABLE };

struct finding {
    int64_t time_ns; /* SG_TIME_UNKNOWN when the event has none */
    const char *computer, *channel;
    uint32_t event_id;
    bool has_event_id;
    const char *rule_id, *rule_title, *level;
    const char *const *tags;
    uint32_t ntags;
    const char *file;
    uint64_t record;
    const struct sg_field *fields;
    uint32_t nfields;
};

/* Chooses up to max fields of ev to show: first those named in prefer (the
 * rule's detection fields), then the well-known ones (CommandLine, Image,
 * TargetUserName, IpAddress, ...), each name once, in that order. Returns
 * how many were written to out. */
uint32_t finding_key_fields(const struct sg_event *ev, const char *const *prefer, uint32_t nprefer,
                            struct sg_field *out, uint32_t max);

/* The value of field name in ev, as the Sigma engine would find it: names
 * compared ignoring case and spaces, and Computer, Channel, Provider_Name
 * and EventID from the event's header when no field carries them (tmp, of
 * tmpcap >= 12 bytes, holds the EventID text). out->name is name itself.
 * False when the event has no such field. */
bool finding_event_value(const struct sg_event *ev, const char *name, char *tmp, size_t tmpcap,
                         struct sg_field *out);

/* Renders f (with a trailing newline) into buf. Returns the length, or a
 * negative MAMORI_EFULL when cap is too small even after values are cut. */
long finding_render(enum hunt_format fmt, const struct finding *f, char *buf, size_t cap);
/* The header line of a format ("" for jsonl). */
const char *finding_header(enum hunt_format fmt);

/* "2019-02-13T15:14:52.4097344Z", or "" for an unknown time; buf >= 40. */
void finding_time(int64_t ns, char *buf, size_t cap);

#endif
