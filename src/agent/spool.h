/* spool.h - the agent's on-disk queue of records for the server (alerts
 * now, events later): bounded, survives restarts and crashes, read back in
 * order, deleted once the server has stored them.
 *
 * On disk, in one directory (0700):
 *   <16 hex>.seg   segments, named by the sequence number of their first
 *                  record; a new one starts past SPOOL_SEG_BYTES
 *   acked          the highest sequence number the server has stored
 *                  (8 bytes little-endian, replaced atomically)
 *   lock           flock()ed by whoever appends: the running agent and
 *                  `mamori agent alert` may both add records
 * One record: u32 magic "MSP1" | u32 length | u64 seq | u32 crc32 of the
 * payload | payload (1 .. SPOOL_REC_MAX bytes, JSON text).
 *
 * Invariants:
 *  1. Sequence numbers grow by one from record to record across segments
 *     in name order; the first is 1.
 *  2. A record counts once its bytes are all written (and, with sync,
 *     flushed); a torn tail left by a crash fails its magic, length or crc
 *     and is cut off when the spool is next opened for writing.
 *  3. spool_ack(seq) records that every record up to seq is stored by the
 *     server; segments whose records are all acked are deleted.
 *  4. The segments together stay under cap bytes. An append that would pass
 *     it fails with MAMORI_EFULL and the record is counted as dropped; or,
 *     in a drop_oldest spool (the event spool), the oldest segment is
 *     deleted for room (never the one written to): its records count as
 *     acked, and a record {"kind":"events_dropped","count","first_seq",
 *     "last_seq","time_ms"} is appended right after the one that made room.
 *     The spool never blocks its caller; an alert spool never drops records
 *     it already holds.
 * Not thread-safe; several processes may append (under the lock), one reads. */
#ifndef MAMORI_AGENT_SPOOL_H
#define MAMORI_AGENT_SPOOL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_SEG_BYTES (4u << 20)
#define SPOOL_REC_MAX (64u << 10)
#define SPOOL_REC_HDR 20u
#define SPOOL_DEFAULT_CAP (64ull << 20)
#define SPOOL_EVENTS_DEFAULT_CAP (256ull << 20) /* DIR/spool-events */

struct spool {
    char dir[PATH_MAX - 32];
    uint64_t cap;
    bool sync;        /* fdatasync each append */
    uint64_t acked;   /* highest seq the server stored */
    uint64_t last;    /* highest seq written (as of the last scan) */
    uint64_t bytes;   /* total segment bytes (as of the last scan) */
    uint64_t dropped; /* appends refused for the bound, or records dropped for room */
    bool drop_oldest; /* set after spool_open: make room by dropping the oldest segment */
    uint64_t dropped_now, drop_first, drop_last; /* dropped by the append under way */
    int wfd;          /* the segment being appended to, during an append */
    uint64_t wr_seg, wr_end, wr_last; /* the last segment as this process left it */
    uint64_t rd_seg;  /* reader: first seq of the segment it is in (0: none) */
    uint64_t rd_off;  /* reader: offset of the next record in it */
    uint64_t rd_next; /* reader: seq of the next record to hand out */
    char err[320];
};

/* Open (creating the directory if needed) and scan; a torn tail is cut. */
int spool_open(struct spool *sp, const char *dir, uint64_t cap, bool sync);
/* Append one record; returns its seq (> 0) or a negative MAMORI_E* code. */
int64_t spool_append(struct spool *sp, const void *data, size_t len);
struct spool_rec {
    const void *data;
    size_t len;
};
/* Append n records under one lock and one sync (a batch). Returns the seq
 * of the first (> 0) with *done = n, or a negative code with *done records
 * appended before the failure. */
int64_t spool_append_many(struct spool *sp, const struct spool_rec *recs, size_t n, size_t *done);
/* The next record after the reader's position, into buf: 1 with *seq and
 * *len set, 0 if there is none (yet), or a negative code for damage. */
int spool_next(struct spool *sp, void *buf, size_t cap, uint64_t *seq, size_t *len);
/* Up to maxn next records at once (one lock, one open per segment), their
 * payloads packed into buf (cap >= SPOOL_REC_MAX; no record is read unless
 * SPOOL_REC_MAX bytes are left): recs[0..*n) point into buf, *first is the
 * seq of the first and the others follow it one by one. 1 if any, 0 if
 * none yet, or a negative code. */
int spool_next_many(struct spool *sp, void *buf, size_t cap, size_t maxn, struct spool_rec *recs,
                    size_t *n, uint64_t *first);
/* Restart reading right after the acked records (after a reconnect). */
void spool_rewind(struct spool *sp);
/* Everything up to seq is stored by the server: persist, delete segments. */
int spool_ack(struct spool *sp, uint64_t seq);
/* Records not yet acked. */
uint64_t spool_pending(const struct spool *sp);

#endif
