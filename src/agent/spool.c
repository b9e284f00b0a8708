/* spool.c - the agent's on-disk queue (see spool.h for the format and the
 * invariants this file keeps). */
#include "agent/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"

#define MAGIC 0x3150534du /* "MSP1" little-endian */
#define SEGS_MAX 4096     /* segments listed at once: cap / SPOOL_SEG_BYTES is far below */

struct seglist {
    uint64_t first[SEGS_MAX];
    size_t n;
};

static int fail(struct spool *sp, int rc, const char *what)
{
    snprintf(sp->err, sizeof sp->err, "spool %.200s: %s: %s", sp->dir, what, strerror(errno));
    return rc;
}

static void seg_path(const struct spool *sp, uint64_t first, char *out, size_t n)
{
    snprintf(out, n, "%s/%016" PRIx64 ".seg", sp->dir, first);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_segs(struct spool *sp, struct seglist *l)
{
    DIR *d = opendir(sp->dir);
    if (!d)
        return fail(sp, MAMORI_EIO, "cannot list");
    l->n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        if (strlen(e->d_name) != 20 || strcmp(e->d_name + 16, ".seg") != 0)
            continue;
        uint64_t v = strtoull(e->d_name, &end, 16);
        if (end != e->d_name + 16 || v == 0)
            continue;
        if (l->n == SEGS_MAX) {
            closedir(d);
            snprintf(sp->err, sizeof sp->err, "spool %.200s: more than %d segments", sp->dir,
                     SEGS_MAX);
            return MAMORI_ERANGE;
        }
        l->first[l->n++] = v;
    }
    closedir(d);
    qsort(l->first, l->n, sizeof l->first[0], cmp_u64);
    return 0;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* Read the record at off in fd, expecting sequence number `want` (0: any).
 * Returns 1 with *seq and *len (payload into buf if given), 0 if the bytes there
 * do not make a whole valid record (end of data or a torn tail). */
static int read_rec(int fd, uint64_t off, uint64_t want, uint8_t *buf, uint64_t *seq, size_t *len)
{
    uint8_t h[SPOOL_REC_HDR];
    if (pread(fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h)
        return 0;
    uint32_t n = get32(h + 4);
    uint64_t s = get64(h + 8);
    if (get32(h) != MAGIC || n == 0 || n > SPOOL_REC_MAX || (want && s != want))
        return 0;
    uint8_t *p = buf ? buf : malloc(n);
    if (!p)
        return 0;
    int ok = pread(fd, p, n, (off_t)(off + SPOOL_REC_HDR)) == (ssize_t)n &&
             (uint32_t)crc32(0, p, n) == get32(h + 16);
    if (!buf)
        free(p);
    if (!ok)
        return 0;
    *seq = s;
    *len = n;
    return 1;
}

/* The end of the valid records of a segment and its last seq (first - 1
 * when it has none). */
static void walk(int fd, uint64_t first, uint64_t *end, uint64_t *last)
{
    uint64_t off = 0, seq, want = first;
    size_t len;
    while (read_rec(fd, off, want, NULL, &seq, &len) == 1) {
        off += SPOOL_REC_HDR + len;
        want = seq + 1;
    }
    *end = off;
    *last = want - 1;
}

static int lock(struct spool *sp, int how)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/lock", sp->dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, how) < 0) {
        int rc = fail(sp, MAMORI_EIO, "cannot lock");
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return fd;
}

static void unlock(int fd)
{
    close(fd);
}

static int read_acked(struct spool *sp)
{
    char p[PATH_MAX];
    uint8_t b[8];
    snprintf(p, sizeof p, "%s/acked", sp->dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : fail(sp, MAMORI_EIO, "cannot read acked");
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    sp->acked = n == 8 ? get64(b) : 0;
    return 0;
}

/* Under the lock: size, last seq and valid end of the last segment (a torn
 * tail is cut when cut is set), total bytes. */
static int scan(struct spool *sp, struct seglist *l, bool cut, uint64_t *wr_end)
{
    int rc = list_segs(sp, l);
    if (rc < 0)
        return rc;
    sp->bytes = 0;
    sp->last = sp->acked;
    *wr_end = 0;
    for (size_t i = 0; i < l->n; i++) {
        char p[PATH_MAX];
        struct stat st;
        seg_path(sp, l->first[i], p, sizeof p);
        if (stat(p, &st) == 0)
            sp->bytes += (uint64_t)st.st_size;
        if (i + 1 < l->n)
            continue;
        uint64_t end, last;
        if (sp->wr_seg == l->first[i] && sp->wr_end == (uint64_t)st.st_size && sp->wr_end) {
            /* as this process left it (same size under the lock): no walk */
            *wr_end = sp->wr_end;
            if (sp->wr_last > sp->last)
                sp->last = sp->wr_last;
            continue;
        }
        int fd = open(p, (cut ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0)
            return fail(sp, MAMORI_EIO, "cannot open a segment");
        walk(fd, l->first[i], &end, &last);
        if (cut && end < (uint64_t)st.st_size) {
            if (ftruncate(fd, (off_t)end) < 0) {
                close(fd);
                return fail(sp, MAMORI_EIO, "cannot cut a torn record");
            }
            sp->bytes -= (uint64_t)st.st_size - end;
        }
        close(fd);
        *wr_end = end;
        if (last > sp->last)
            sp->last = last;
    }
    return 0;
}

int spool_open(struct spool *sp, const char *dir, uint64_t cap, bool sync)
{
    memset(sp, 0, sizeof *sp);
    if (strlen(dir) >= sizeof sp->dir) {
        snprintf(sp->err, sizeof sp->err, "spool directory path too long");
        return MAMORI_EINVAL;
    }
    snprintf(sp->dir, sizeof sp->dir, "%s", dir);
    sp->cap = cap < 2ull * SPOOL_SEG_BYTES ? 2ull * SPOOL_SEG_BYTES : cap;
    sp->sync = sync;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return fail(sp, MAMORI_EIO, "cannot create");
    int lk = lock(sp, LOCK_EX);
    if (lk < 0)
        return lk;
    struct seglist *l = malloc(sizeof *l);
    uint64_t end;
    int rc = !l ? MAMORI_ENOMEM : read_acked(sp);
    if (rc == 0)
        rc = scan(sp, l, true, &end);
    free(l);
    unlock(lk);
    sp->rd_next = sp->acked + 1;
    return rc;
}

/* Drop the oldest segment for room (drop_oldest spools only, never the one
 * written to): its records count as done (acked). Under the lock. */
static int drop_oldest(struct spool *sp, struct seglist *l)
{
    if (l->n < 2)
        return 0;
    char p[PATH_MAX], tmp[PATH_MAX + 8];
    struct stat st;
    seg_path(sp, l->first[0], p, sizeof p);
    uint64_t upto = l->first[1] - 1, size = stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (unlink(p) < 0)
        return fail(sp, MAMORI_EIO, "cannot drop the oldest segment");
    uint64_t from = sp->acked + 1 > l->first[0] ? sp->acked + 1 : l->first[0];
    if (upto >= from)
        sp->dropped_now += upto - from + 1;
    if (!sp->drop_first)
        sp->drop_first = from;
    sp->drop_last = upto;
    sp->bytes -= size < sp->bytes ? size : sp->bytes;
    memmove(l->first, l->first + 1, (l->n - 1) * sizeof l->first[0]);
    l->n--;
    if (upto > sp->acked) {
        uint8_t b[8];
        put64(b, upto);
        snprintf(p, sizeof p, "%s/acked", sp->dir);
        snprintf(tmp, sizeof tmp, "%s.tmp", p);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, b, 8) != 8 || close(fd) < 0 || rename(tmp, p) < 0)
            return fail(sp, MAMORI_EIO, "cannot record the dropped records");
        sp->acked = upto;
    }
    return 1;
}

/* Append one record under the lock; *end is the valid end of the last
 * segment (l lists the segments). Returns its seq or a negative code. */
static int64_t append_locked(struct spool *sp, struct seglist *l, uint64_t *end, const void *data,
                             size_t len)
{
    size_t total = SPOOL_REC_HDR + len;
    while (sp->bytes + total > sp->cap) {
        int d = sp->drop_oldest ? drop_oldest(sp, l) : 0;
        if (d < 0)
            return d;
        if (d == 0) {
            sp->dropped++;
            snprintf(sp->err, sizeof sp->err,
                     "spool %.200s full (%" PRIu64 " of %" PRIu64 " bytes): record dropped",
                     sp->dir, sp->bytes, sp->cap);
            return MAMORI_EFULL;
        }
    }
    uint64_t seq = sp->last + 1, first = seq;
    if (l->n > 0 && *end + total <= SPOOL_SEG_BYTES) {
        first = l->first[l->n - 1]; /* else a new segment starts at seq */
    } else {
        *end = 0;
        if (l->n == SEGS_MAX) {
            snprintf(sp->err, sizeof sp->err, "spool %.200s: more than %d segments", sp->dir,
                     SEGS_MAX);
            return MAMORI_ERANGE;
        }
        l->first[l->n++] = seq;
        if (sp->wfd >= 0) {
            if (sp->sync && fdatasync(sp->wfd) < 0)
                return fail(sp, MAMORI_EIO, "cannot write");
            close(sp->wfd);
            sp->wfd = -1;
        }
    }
    if (sp->wfd < 0) {
        char p[PATH_MAX];
        seg_path(sp, first, p, sizeof p);
        sp->wfd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (sp->wfd < 0)
            return fail(sp, MAMORI_EIO, "cannot open a segment");
    }
    uint8_t h[SPOOL_REC_HDR];
    put32(h, MAGIC);
    put32(h + 4, (uint32_t)len);
    put64(h + 8, seq);
    put32(h + 16, (uint32_t)crc32(0, data, (uInt)len));
    struct iovec iov[2] = {{h, sizeof h}, {(void *)data, len}};
    if (pwritev(sp->wfd, iov, 2, (off_t)*end) != (ssize_t)total)
        return fail(sp, MAMORI_EIO, "cannot write");
    *end += total;
    sp->last = seq;
    sp->bytes += total;
    return (int64_t)seq;
}

/* The events_dropped record that says what drop_oldest removed. */
static int64_t append_drop_note(struct spool *sp, struct seglist *l, uint64_t *end)
{
    char rec[256];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(rec, sizeof rec,
                     "{\"kind\":\"events_dropped\",\"time_ms\":%lld,\"count\":%" PRIu64
                     ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}",
                     (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, sp->dropped_now,
                     sp->drop_first, sp->drop_last);
    sp->dropped += sp->dropped_now;
    sp->dropped_now = sp->drop_first = sp->drop_last = 0;
    return append_locked(sp, l, end, rec, (size_t)n);
}

int64_t spool_append_many(struct spool *sp, const struct spool_rec *recs, size_t n, size_t *done)
{
    *done = 0;
    for (size_t i = 0; i < n; i++)
        if (recs[i].len == 0 || recs[i].len > SPOOL_REC_MAX) {
            snprintf(sp->err, sizeof sp->err, "spool record of %zu bytes (1 to %u)", recs[i].len,
                     SPOOL_REC_MAX);
            return MAMORI_EINVAL;
        }
    int lk = lock(sp, LOCK_EX);
    if (lk < 0)
        return lk;
    struct seglist *l = malloc(sizeof *l);
    uint64_t end = 0;
    int64_t rc = !l ? MAMORI_ENOMEM : read_acked(sp);
    if (rc == 0)
        rc = scan(sp, l, true, &end);
    sp->wfd = -1;
    int64_t first = 0;
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        rc = append_locked(sp, l, &end, recs[i].data, recs[i].len);
        if (rc > 0 && sp->dropped_now) /* the note goes right after the record that made room */
            rc = append_drop_note(sp, l, &end) > 0 ? rc : MAMORI_EIO;
        if (rc > 0) {
            if (!first)
                first = rc;
            (*done)++;
        }
    }
    if (sp->wfd >= 0) {
        if (sp->sync && fdatasync(sp->wfd) < 0 && rc >= 0)
            rc = fail(sp, MAMORI_EIO, "cannot write");
        close(sp->wfd);
        sp->wfd = -1;
    }
    sp->wr_seg = rc >= 0 && l && l->n ? l->first[l->n - 1] : 0;
    sp->wr_end = end;
    sp->wr_last = sp->last;
    free(l);
    unlock(lk);
    return rc < 0 ? rc : first;
}

int64_t spool_append(struct spool *sp, const void *data, size_t len)
{
    struct spool_rec r = {data, len};
    size_t done;
    return spool_append_many(sp, &r, 1, &done);
}

void spool_rewind(struct spool *sp)
{
    sp->rd_seg = 0;
    sp->rd_off = 0;
    sp->rd_next = sp->acked + 1;
}

/* Place the reader on the record rd_next: the segment holding it, and the
 * offset (walked from the segment's start). 1 found, 0 not written yet. */
static int position(struct spool *sp)
{
    struct seglist *l = malloc(sizeof *l);
    if (!l)
        return MAMORI_ENOMEM;
    int rc = list_segs(sp, l);
    if (rc == 0 && l->n > 0 && sp->rd_next < l->first[0])
        sp->rd_next = l->first[0]; /* the records before were dropped for room */
    size_t i = l->n;
    while (rc == 0 && i > 0 && l->first[i - 1] > sp->rd_next)
        i--;
    if (rc == 0 && i > 0) {
        char p[PATH_MAX];
        seg_path(sp, l->first[i - 1], p, sizeof p);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        uint64_t off = 0, seq, want = l->first[i - 1];
        size_t len;
        while (fd >= 0 && want < sp->rd_next && read_rec(fd, off, want, NULL, &seq, &len) == 1) {
            off += SPOOL_REC_HDR + len;
            want++;
        }
        if (fd >= 0)
            close(fd);
        if (want == sp->rd_next) {
            sp->rd_seg = l->first[i - 1];
            sp->rd_off = off;
            rc = 1;
        }
    }
    free(l);
    return rc;
}

int spool_next_many(struct spool *sp, void *buf, size_t cap, size_t maxn, struct spool_rec *recs,
                    size_t *n, uint64_t *first)
{
    *n = 0;
    if (cap < SPOOL_REC_MAX)
        return MAMORI_EINVAL;
    int lk = lock(sp, LOCK_SH);
    if (lk < 0)
        return lk;
    uint8_t *b = buf;
    size_t used = 0;
    int rc = 0, fd = -1;
    uint64_t fd_seg = 0;
    while (*n < maxn && used + SPOOL_REC_MAX <= cap) {
        if (!sp->rd_seg && (rc = position(sp)) <= 0)
            break; /* nothing written past the reader yet, or damage */
        if (fd < 0 || fd_seg != sp->rd_seg) {
            char p[PATH_MAX];
            if (fd >= 0)
                close(fd);
            seg_path(sp, sp->rd_seg, p, sizeof p);
            fd = open(p, O_RDONLY | O_CLOEXEC);
            fd_seg = sp->rd_seg;
            if (fd < 0) { /* dropped for room: look again from the oldest segment */
                sp->rd_seg = 0;
                if ((rc = position(sp)) <= 0 || sp->rd_seg == fd_seg)
                    break;
                continue;
            }
        }
        uint64_t seq;
        size_t len;
        if (read_rec(fd, sp->rd_off, sp->rd_next, b + used, &seq, &len) == 1) {
            if (*n == 0)
                *first = seq;
            recs[*n].data = b + used;
            recs[*n].len = len;
            (*n)++;
            used += len;
            sp->rd_off += SPOOL_REC_HDR + len;
            sp->rd_next++;
            continue;
        }
        /* the end of this segment's records: the next one, if it exists, is
         * a segment named by rd_next; else nothing more for now (the reader
         * stays where it is, no walk from the segment's start next time) */
        char p[PATH_MAX];
        seg_path(sp, sp->rd_next, p, sizeof p);
        if (sp->rd_next == sp->rd_seg || access(p, F_OK) != 0)
            break;
        sp->rd_seg = sp->rd_next;
        sp->rd_off = 0;
    }
    if (fd >= 0)
        close(fd);
    unlock(lk);
    return rc < 0 ? rc : *n > 0;
}

int spool_next(struct spool *sp, void *buf, size_t cap, uint64_t *seq, size_t *len)
{
    struct spool_rec r;
    size_t n;
    int rc = spool_next_many(sp, buf, cap, 1, &r, &n, seq);
    if (rc == 1)
        *len = r.len;
    return rc;
}

int spool_ack(struct spool *sp, uint64_t seq)
{
    if (seq <= sp->acked)
        return 0;
    char p[PATH_MAX], tmp[PATH_MAX + 8];
    uint8_t b[8];
    put64(b, seq);
    snprintf(p, sizeof p, "%s/acked", sp->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    int lk = lock(sp, LOCK_EX);
    if (lk < 0)
        return lk;
    int rc = read_acked(sp); /* an appender may have dropped records past seq */
    if (rc < 0 || seq <= sp->acked) {
        unlock(lk);
        return rc;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, b, 8) != 8 || close(fd) < 0 || rename(tmp, p) < 0)
        rc = fail(sp, MAMORI_EIO, "cannot record what the server stored");
    if (rc == 0)
        sp->acked = seq;
    struct seglist *l = rc == 0 ? malloc(sizeof *l) : NULL;
    if (rc == 0 && l && list_segs(sp, l) == 0) {
        /* a segment is wholly acked when the next one starts at or below seq + 1;
         * the last segment stays (it names the newest sequence number) */
        for (size_t i = 0; i + 1 < l->n && l->first[i + 1] <= seq + 1; i++) {
            char sp_path[PATH_MAX];
            struct stat st;
            seg_path(sp, l->first[i], sp_path, sizeof sp_path);
            if (stat(sp_path, &st) == 0 && unlink(sp_path) == 0)
                sp->bytes -= (uint64_t)st.st_size < sp->bytes ? (uint64_t)st.st_size : sp->bytes;
            if (sp->rd_seg == l->first[i])
                sp->rd_seg = 0;
        }
    }
    free(l);
    unlock(lk);
    return rc;
}

uint64_t spool_pending(const struct spool *sp)
{
    return sp->last > sp->acked ? sp->last - sp->acked : 0;
}
