/* evtx_int.h - what the files of src/evtx share, not for use outside it.
 *
 *   evtx_file.c    file header, chunks, checksums, record framing, errors
 *   evtx_binxml.c  binary XML tokens, template cache, instantiation
 *   evtx_flat.c    XML structure -> System slots and EventData/UserData fields
 *   evtx_value.c   substitution values -> UTF-8 text
 *   evtx_json.c    a record -> one JSON object
 *
 * Memory: three fixed arenas per reader, reset at known points (a chunk's
 * templates and names live until the next chunk; text and scratch until the
 * next record). Every bound is stated beside its constant. */
#ifndef MAMORI_EVTX_INT_H
#define MAMORI_EVTX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evtx/evtx.h"

#define EVTX_TEXT_CAP (1u << 20)        /* UTF-8 text of one record (names + values) */
#define EVTX_WORK_CAP (2u << 20)        /* one record's scratch: value arrays, template compile */
#define EVTX_CHUNK_ARENA (4u << 20)     /* one chunk's compiled templates and names */
#define EVTX_TPL_BUDGET (2u << 20)      /* template bytes one chunk may compile */
#define EVTX_OP_BUDGET (1u << 20)       /* template operations one record may execute */
#define EVTX_CHUNK_OP_BUDGET (1u << 22) /* ... all records of one chunk (real: ~2^14) */
#define EVTX_MAX_VALUES 8192            /* substitution values in one template instance */
#define EVTX_XML_DEPTH 64               /* element nesting kept by the flattener */
#define BX_NAME_SLOTS 4096              /* name cache (per chunk, open addressing) */
#define BX_TPL_SLOTS 2048               /* template cache (per chunk, open addressing) */

static inline uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* x86-64 and arm64 are little-endian; see the static assert */
}
static inline uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "evtx reads little-endian fields directly");

/* Text arena: NUL-terminated UTF-8 strings, never moved. When the bound is
 * reached, full is set and nothing more is written. */
struct evtx_buf {
    char *p;
    uint32_t len, cap;
    bool full;
};

static inline bool buf_room(struct evtx_buf *b, size_t n)
{
    if (b->full || b->cap - b->len < n) {
        b->full = true;
        return false;
    }
    return true;
}
static inline void buf_put(struct evtx_buf *b, const void *s, size_t n)
{
    if (buf_room(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += (uint32_t)n;
    }
}

/* Scratch/arena memory: 8-byte aligned allocations, popped by resetting len. */
struct evtx_mem {
    uint8_t *p;
    size_t len, cap;
};

static inline void *mem_alloc(struct evtx_mem *m, size_t n)
{
    size_t at = (m->len + 7) & ~(size_t)7;
    if (at > m->cap || m->cap - at < n)
        return NULL;
    m->len = at + n;
    return m->p + at;
}

/* ---- evtx_value.c ---- */

/* UTF-16LE (nunits code units, stopping at a NUL) -> UTF-8; invalid
 * surrogates become U+FFFD. */
void val_utf16(struct evtx_buf *b, const uint8_t *p, size_t nunits);
/* Text of a substitution value of TYPE (not 0x21, which the caller expands). */
void val_format(struct evtx_buf *b, uint8_t type, const uint8_t *p, size_t n);
/* The next item of an array value (TYPE with or without 0x80) at *at,
 * appended to b; false when there is none. */
bool val_array_next(struct evtx_buf *b, uint8_t type, const uint8_t *p, size_t n, size_t *at);
/* UTF-8 of one code point (CharRef); 0 becomes U+FFFD. */
void val_codepoint(struct evtx_buf *b, uint32_t cp);
/* FILETIME (100 ns since 1601) as 2019-02-13T15:14:52.4097344Z; out >= 32. */
size_t val_filetime(uint64_t ticks, char *out);

/* ---- evtx_flat.c ---- */

/* Element and attribute names the flattener knows (A_OTHER for the rest). */
enum bx_atom {
    A_OTHER,
    A_EVENT,
    A_SYSTEM,
    A_PROVIDER,
    A_NAME,
    A_GUID,
    A_EVENT_SOURCE_NAME,
    A_EVENT_ID,
    A_QUALIFIERS,
    A_VERSION,
    A_LEVEL,
    A_TASK,
    A_OPCODE,
    A_KEYWORDS,
    A_TIME_CREATED,
    A_SYSTEM_TIME,
    A_EVENT_RECORD_ID,
    A_CORRELATION,
    A_ACTIVITY_ID,
    A_RELATED_ACTIVITY_ID,
    A_EXECUTION,
    A_PROCESS_ID,
    A_THREAD_ID,
    A_CHANNEL,
    A_COMPUTER,
    A_SECURITY,
    A_USER_ID,
    A_EVENT_DATA,
    A_DATA,
    A_USER_DATA,
    A_PROCESSING_ERROR_DATA,
    A_COUNT
};

/* A name from the chunk's string table, converted once per chunk. */
struct bx_name {
    const char *s; /* UTF-8, NUL-terminated */
    uint32_t len;
    uint16_t atom;
};

uint16_t flat_atom(const char *s, size_t n);

struct flat_lvl {
    uint8_t zone;
    uint8_t atom; /* element's atom */
    int8_t slot;  /* System slot its text goes to, or -1 */
    bool cap;     /* this element owns the running text capture */
    bool omit;    /* its optional substitution was NULL: Windows drops it */
    const struct bx_name *name;
    const char *dname; /* Data: its Name attribute */
    uint32_t dname_len;
};

/* The flattener: receives the XML structure as calls, keeps what the record
 * needs. Text reaches the text arena only while something captures it, so
 * values in parts of the event nobody reads are never formatted. */
struct flat {
    struct evtx_record *rec;
    struct evtx_buf *text;
    struct evtx_field *fields;
    uint32_t nfields, maxfields;
    struct flat_lvl st[EVTX_XML_DEPTH];
    uint32_t depth;
    uint32_t deep;              /* levels beyond EVTX_XML_DEPTH (ignored) */
    bool cap;                   /* text pieces go to the text arena now */
    bool saved_cap;             /* cap of the content around the current start tag */
    bool in_start;              /* between an element's name and its content */
    int8_t attr_slot;           /* attribute being captured: System slot, */
    bool attr_dname;            /* or a Data Name, */
    struct evtx_str attr_fname; /* or a field (an attribute below UserData) */
    bool attr_cap;
    uint32_t cap_start;
    uint32_t unnamed; /* unnamed Data seen */
};

void flat_begin(struct flat *f, struct evtx_record *rec, struct evtx_buf *text,
                struct evtx_field *fields, uint32_t maxfields);
void flat_start(struct flat *f, const struct bx_name *n);
void flat_attr(struct flat *f, const struct bx_name *n);
void flat_attrs_done(struct flat *f);
void flat_end(struct flat *f);
/* An optional substitution in the current element's content was NULL. */
void flat_null(struct flat *f);
/* An array value in element content: Windows repeats the element per item,
 * so a field element gives one field per item. */
void flat_array(struct flat *f, uint8_t type, const uint8_t *p, size_t n);
/* Finishes the record: EventID number. */
void flat_finish(struct flat *f);

static inline bool flat_capturing(const struct flat *f)
{
    return f->cap;
}
static inline void flat_text8(struct flat *f, const char *s, size_t n)
{
    if (f->cap)
        buf_put(f->text, s, n);
}

/* ---- evtx_binxml.c ---- */

struct bx_slot {
    uint32_t gen;
    uint32_t key;
    const void *val;
};

/* Per-chunk binary XML state: the chunk bytes, name and template caches
 * (keyed by chunk offset, valid while gen matches), and the chunk arena. */
struct bx_chunk {
    const uint8_t *base;
    uint32_t len;
    uint32_t gen;
    size_t tpl_budget;
    uint32_t ops_left; /* EVTX_CHUNK_OP_BUDGET, spent by its records */
    struct evtx_mem arena;
    struct bx_slot names[BX_NAME_SLOTS];
    struct bx_slot tpls[BX_TPL_SLOTS];
};

/* One record's run: its scratch memory, flattener, budget and the reason of
 * the first failure. */
struct bx_run {
    struct bx_chunk *c;
    struct evtx_mem *work;
    struct flat *flat;
    uint32_t ops_left;
    const char *why;
};

void bx_chunk_reset(struct bx_chunk *c, const uint8_t *base, uint32_t len);
/* Runs the binary XML of one record (chunk offsets [off, off+len)) through
 * run->flat. 0 or -1 with run->why set. */
int bx_record(struct bx_run *run, uint32_t off, uint32_t len);

#endif
