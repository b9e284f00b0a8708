/* event.h - one log event as the Sigma engine sees it.
 *
 * Every event source (EVTX records, JSON lines, auditd, syslog/auth.log)
 * turns what it read into a struct sg_event and hands it to the engine; the
 * engine only reads it, and nothing in it must outlive the call. This header
 * is the contract between the readers (src/logs, src/evtx adapters) and the
 * matcher (src/core/sigma); it has no functions and no allocation.
 *
 * Identity of the source, used by the log-source mapping to decide which
 * rules apply to an event:
 *   - Windows: channel is the event log channel ("Security",
 *     "Microsoft-Windows-Sysmon/Operational", ...), event_id the EventID,
 *     provider the Provider_Name.
 *   - Linux: channel is a pseudo-channel: "linux/auditd" (one event per audit
 *     serial, records joined), "linux/auth" (auth.log / authpriv lines:
 *     sshd, sudo, su, useradd, usermod, ...), "linux/syslog" (any other
 *     syslog line); has_event_id is false; provider is the syslog program
 *     ("sshd") or "auditd".
 *
 * Fields: name/value pairs in source order. A name may repeat (auditd's
 * "type" appears once per record of a joined event; UserData lists): a
 * positive match on any occurrence counts. System fields of a Windows event
 * (EventID, Channel, Computer, Provider_Name, ...) are fields too, under the
 * names Sigma rules use. Names and values are UTF-8, NUL-terminated, with
 * their length beside them. */
#ifndef MAMORI_CORE_SIGMA_EVENT_H
#define MAMORI_CORE_SIGMA_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#define SG_TIME_UNKNOWN INT64_MIN

struct sg_str {
    const char *s; /* NUL-terminated; NULL when absent */
    uint32_t len;
};

struct sg_field {
    struct sg_str name, value;
};

struct sg_event {
    int64_t time_ns;         /* ns since 1970 UTC, or SG_TIME_UNKNOWN */
    struct sg_str channel;   /* see above; s NULL when unknown */
    struct sg_str computer;  /* host name as the log gives it */
    struct sg_str provider;  /* Provider_Name, or the syslog program */
    uint32_t event_id;       /* Windows EventID */
    bool has_event_id;
    const struct sg_field *fields;
    uint32_t nfields;
    /* Where it came from, for output and error messages only. */
    const char *source; /* file path */
    uint64_t record;    /* EVTX record id, or 1-based line number */
};

#endif
