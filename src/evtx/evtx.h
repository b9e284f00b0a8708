/* evtx.h - mamori's reader of Windows XML event log files (.evtx).
 *
 * Data enters as a file path (read with pread 1 MiB at a time and decoded
 * 64 KiB chunk by chunk, so memory stays bounded whatever the file size) or
 * as a buffer in memory; it leaves as
 * one struct evtx_record at a time: the record header (id, written time) and
 * the event flattened into fields, the form the Sigma engine matches on.
 * Damage leaves through the caller's error callback (file, chunk, record,
 * offset, reason, records lost) and is skipped; the rest of the file is read.
 *
 *   struct evtx_reader *r = evtx_reader_new();
 *   struct evtx_opts o = {.on_error = report, .ctx = me};
 *   if (evtx_open_file(r, path, &o) == 0) {
 *       const struct evtx_record *rec;
 *       while (evtx_next(r, &rec) > 0)
 *           use(rec);                    // valid until the next evtx_next
 *       evtx_close(r);
 *   }
 *   evtx_reader_free(r);
 *
 * The flat form of an event:
 *   - System: fixed slots rec->sys[EVTX_SYS_*], named "Element" or
 *     "Element_Attribute" after the XML (EventID, Provider_Name, Channel,
 *     Computer, TimeCreated_SystemTime, Security_UserID, ...), see
 *     evtx_sys_name(); an absent slot has s == NULL.
 *   - EventData: <Data Name="X">v</Data> gives field X = v; unnamed Data give
 *     "Data[1]", "Data[2]"... (numbered among the unnamed ones); any other
 *     child (Binary, ...) gives a field named after the element.
 *     ProcessingErrorData is read the same way.
 *   - UserData: every leaf element below the wrapper element gives a field
 *     named after the element, and every attribute below UserData (but
 *     xmlns) one named Element_Attribute (<Error Code="15007"/>: Error_Code).
 *   Fields are in document order; a name may repeat (UserData). All names and
 *   values are valid UTF-8, NUL-terminated, with their length beside them.
 *
 * Value text follows Windows' rendering: unsigned and signed decimals,
 * HexInt32/64 and SizeT as 0x%x (lower case, no padding), GUID upper case in
 * braces, SID as S-1-..., FILETIME as 2019-02-13T15:14:52.4097344Z, SYSTEMTIME
 * with milliseconds, binary as upper-case hex, booleans true/false; arrays are
 * their items joined by ",". Binary XML inside a substitution (type 0x21) is
 * instantiated in place, nested at most EVTX_MAX_DEPTH deep.
 *
 * Records are yielded in file order (chunk by chunk). A chunk whose header
 * checksum fails is skipped; a chunk whose record data checksum fails is
 * reported and its records are still read one by one, each checked, unless
 * EVTX_STRICT is set (then the chunk is skipped). EVTX_NO_CHECKSUMS skips both
 * checks (fuzzing). Accounting: for a file whose chunk headers are intact,
 * records yielded + records reported lost == the records its chunk headers
 * state. No global state: one reader per thread. */
#ifndef MAMORI_EVTX_EVTX_H
#define MAMORI_EVTX_EVTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVTX_CHUNK_SIZE 65536u
#define EVTX_FILE_HEADER_SIZE 4096u
#define EVTX_MAX_DEPTH 8    /* nested binary XML (substitution type 0x21) */
#define EVTX_MAX_FIELDS 512 /* EventData/UserData fields kept per record */

/* System slots; evtx_sys_name() gives the field name of each. */
enum evtx_sys {
    EVTX_SYS_PROVIDER_NAME,       /* Provider_Name */
    EVTX_SYS_PROVIDER_GUID,       /* Provider_Guid */
    EVTX_SYS_EVENT_SOURCE_NAME,   /* Provider_EventSourceName */
    EVTX_SYS_EVENT_ID,            /* EventID */
    EVTX_SYS_QUALIFIERS,          /* EventID_Qualifiers */
    EVTX_SYS_VERSION,             /* Version */
    EVTX_SYS_LEVEL,               /* Level */
    EVTX_SYS_TASK,                /* Task */
    EVTX_SYS_OPCODE,              /* Opcode */
    EVTX_SYS_KEYWORDS,            /* Keywords */
    EVTX_SYS_TIME_CREATED,        /* TimeCreated_SystemTime */
    EVTX_SYS_EVENT_RECORD_ID,     /* EventRecordID */
    EVTX_SYS_ACTIVITY_ID,         /* Correlation_ActivityID */
    EVTX_SYS_RELATED_ACTIVITY_ID, /* Correlation_RelatedActivityID */
    EVTX_SYS_PROCESS_ID,          /* Execution_ProcessID */
    EVTX_SYS_THREAD_ID,           /* Execution_ThreadID */
    EVTX_SYS_CHANNEL,             /* Channel */
    EVTX_SYS_COMPUTER,            /* Computer */
    EVTX_SYS_USER_ID,             /* Security_UserID */
    EVTX_SYS_COUNT
};

struct evtx_str {
    const char *s; /* UTF-8, NUL-terminated; NULL when absent */
    uint32_t len;
};

struct evtx_field {
    struct evtx_str name, value;
};

enum {
    EVTX_REC_FIELDS_DROPPED = 1u << 0, /* more than EVTX_MAX_FIELDS fields */
};

struct evtx_record {
    uint64_t record_id; /* from the record header */
    uint64_t filetime;  /* record header written time: 100 ns since 1601 UTC */
    int64_t time_ns;    /* the same in ns since 1970, saturated outside 1677..2262
                           (some files hold 0 here: see TimeCreated_SystemTime) */
    uint32_t event_id;  /* numeric EventID (0 when absent, see has_event_id) */
    bool has_event_id;
    unsigned flags;  /* EVTX_REC_* */
    uint32_t chunk;  /* index of the chunk in the file (0-based) */
    uint64_t offset; /* file offset of the record */
    struct evtx_str sys[EVTX_SYS_COUNT];
    const struct evtx_field *fields; /* EventData / UserData, document order */
    uint32_t nfields;
};

/* One piece of damage. chunk is -1 for the file header; record_id 0 when no
 * record is concerned or its id is unknown; lost is the number of records this
 * damage costs (0 when none or unknown yet: a later error then counts them). */
struct evtx_error {
    const char *file;
    int64_t chunk;
    uint64_t record_id;
    uint64_t offset;    /* file offset where the damage was seen */
    const char *reason; /* a fixed English phrase (safe to group by pointer) */
    int sys_errno;      /* errno for I/O failures, else 0 */
    uint64_t lost;
};

typedef void (*evtx_error_fn)(void *ctx, const struct evtx_error *e);

enum {
    EVTX_NO_CHECKSUMS = 1u << 0, /* do not verify CRC32s (fuzzing, speed) */
    EVTX_STRICT = 1u << 1,       /* skip a chunk whose record checksum fails */
};

struct evtx_opts {
    evtx_error_fn on_error; /* may be NULL */
    void *ctx;
    unsigned flags; /* EVTX_NO_CHECKSUMS | EVTX_STRICT */
};

struct evtx_stats {
    uint64_t records;        /* yielded */
    uint64_t lost;           /* records reported lost (sum of evtx_error.lost) */
    uint64_t errors;         /* error callbacks made */
    uint64_t chunks;         /* chunks with a valid header */
    uint64_t bad_chunks;     /* chunks skipped */
    uint64_t stated;         /* records stated by the valid chunk headers */
    uint64_t bytes;          /* bytes read from the file */
    uint64_t header_next_id; /* file header's next record id (0 if unreadable) */
};

struct evtx_reader;

/* A reader owns every buffer it needs (about 8 MiB, allocated here once) and
 * may be reused for file after file. NULL when out of memory. */
struct evtx_reader *evtx_reader_new(void);
void evtx_reader_free(struct evtx_reader *r);

/* Open PATH (or a caller buffer that must outlive the reading, NAME used in
 * errors). Returns 0, or a negative MAMORI_E* after reporting the reason
 * through opts->on_error (the file cannot be opened, or is no EVTX at all). */
int evtx_open_file(struct evtx_reader *r, const char *path, const struct evtx_opts *opts);
int evtx_open_mem(struct evtx_reader *r, const void *buf, size_t len, const char *name,
                  const struct evtx_opts *opts);
/* 1 and *rec set (valid until the next call), or 0 at the end of the file
 * (after reporting the records the file promises but no chunk delivered). */
int evtx_next(struct evtx_reader *r, const struct evtx_record **rec);
/* Closes the file (stats stay readable until the next open). */
void evtx_close(struct evtx_reader *r);
const struct evtx_stats *evtx_stats(const struct evtx_reader *r);

/* Field lookup by name: System slot names first, then the fields (first
 * match). NULL when absent. Linear; the Sigma engine resolves names once. */
const struct evtx_str *evtx_get(const struct evtx_record *rec, const char *name, size_t len);
const char *evtx_sys_name(enum evtx_sys slot);

/* "2019-02-13T15:14:52.4097344Z" (100 ns digits) into buf (>= 32 bytes);
 * returns the length. From ns since 1970, or from a FILETIME. */
size_t evtx_format_time(int64_t ns, char *buf, size_t cap);
size_t evtx_format_filetime(uint64_t filetime, char *buf, size_t cap);

/* One JSON object (no newline) for a record into buf:
 * {"record_id":..,"timestamp":"..Z","event_id":..,"provider":"..",
 *  "channel":"..","computer":"..","system":{...},"fields":{...}}.
 * Returns the length, or MAMORI_EFULL when cap is too small. */
long evtx_record_json(const struct evtx_record *rec, char *buf, size_t cap);

#endif
