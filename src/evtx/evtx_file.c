/* evtx_file.c - EVTX files: file header, chunks, checksums, records.
 *
 * Data enters as a file (pread into the reader's 1 MiB window, 16 chunks at
 * a time) or a caller's buffer; it leaves as one struct evtx_record
 * per evtx_next call, decoded by evtx_binxml.c. Damage leaves through the
 * error callback with the records it costs, and reading goes on:
 *   - the file header is informative only (its next record id serves the
 *     accounting); chunks are found at 4096 + k * 65536 whatever it says;
 *   - an all-zero chunk is unused space; a chunk with a bad signature or
 *     header checksum is skipped, and the record ids missing between the
 *     good chunks around it are counted lost;
 *   - a chunk whose record data checksum fails is read record by record
 *     (skipped whole with EVTX_STRICT);
 *   - a record with a bad frame is skipped by looking for the next record
 *     signature; a record whose binary XML is bad costs that record;
 *   - at the end of each chunk, ids its header states but no record
 *     delivered are counted lost. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"
#include "evtx/evtx_int.h"

#define NAME_MAX_LEN 4096      /* file name kept for error reports */
#define READ_WINDOW (1u << 20) /* bytes read per pread: 16 chunks (syscalls cost) */

struct evtx_reader {
    /* input */
    int fd; /* -1 when reading from memory */
    const uint8_t *mem;
    uint64_t size;
    char name[NAME_MAX_LEN];
    struct evtx_opts o;
    bool open;
    /* file */
    uint64_t nchunks; /* chunk slots in the file, the last one maybe partial */
    uint64_t next_chunk;
    bool header_ok;
    bool finished;
    uint64_t header_first_chunk;
    /* accounting across chunks */
    uint64_t pending_bad;  /* chunks skipped since the last good one */
    int64_t pending_chunk; /* the first of them */
    bool have_good;
    uint64_t prev_last_id, max_last_id;
    /* current chunk */
    bool in_chunk;
    int64_t chunk_idx;
    uint64_t chunk_off;
    const uint8_t *chunk;
    uint32_t chunk_len;
    uint32_t pos, end;
    uint64_t stated, c_yield, c_lost;
    uint8_t *buf; /* READ_WINDOW bytes of the file from win_off */
    uint64_t win_off;
    size_t win_len;
    /* decoding */
    struct bx_chunk bx;
    struct evtx_mem work;
    struct evtx_buf text;
    struct flat flat;
    struct bx_run run;
    struct evtx_record rec;
    struct evtx_field fields[EVTX_MAX_FIELDS];
    struct evtx_stats st;
};

static const uint8_t FILE_SIG[8] = "ElfFile";
static const uint8_t CHUNK_SIG[8] = "ElfChnk";
static const uint8_t RECORD_SIG[4] = {0x2a, 0x2a, 0, 0};

struct evtx_reader *evtx_reader_new(void)
{
    struct evtx_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = -1;
    r->buf = malloc(READ_WINDOW);
    r->work.p = malloc(EVTX_WORK_CAP);
    r->work.cap = EVTX_WORK_CAP;
    r->text.p = malloc(EVTX_TEXT_CAP);
    r->text.cap = EVTX_TEXT_CAP;
    r->bx.arena.p = malloc(EVTX_CHUNK_ARENA);
    r->bx.arena.cap = EVTX_CHUNK_ARENA;
    if (!r->buf || !r->work.p || !r->text.p || !r->bx.arena.p) {
        evtx_reader_free(r);
        return NULL;
    }
    r->run = (struct bx_run){.c = &r->bx, .work = &r->work, .flat = &r->flat};
    return r;
}

void evtx_reader_free(struct evtx_reader *r)
{
    if (!r)
        return;
    if (r->open)
        evtx_close(r);
    free(r->buf);
    free(r->work.p);
    free(r->text.p);
    free(r->bx.arena.p);
    free(r);
}

const struct evtx_stats *evtx_stats(const struct evtx_reader *r)
{
    return &r->st;
}

static void report(struct evtx_reader *r, int64_t chunk, uint64_t rec_id, uint64_t off,
                   const char *why, int sys_errno, uint64_t lost)
{
    r->st.errors++;
    r->st.lost += lost;
    if (r->o.on_error) {
        struct evtx_error e = {.file = r->name,
                               .chunk = chunk,
                               .record_id = rec_id,
                               .offset = off,
                               .reason = why,
                               .sys_errno = sys_errno,
                               .lost = lost};
        r->o.on_error(r->o.ctx, &e);
    }
}

/* Up to n (<= READ_WINDOW) bytes at file offset off: in the reader's window
 * (refilled from off when it does not hold them) or in place (memory).
 * Returns the bytes available, or -1 with errno. */
static long read_at(struct evtx_reader *r, uint64_t off, size_t n, const uint8_t **out)
{
    if (off >= r->size)
        return 0;
    if (n > r->size - off)
        n = (size_t)(r->size - off);
    if (r->fd < 0) {
        *out = r->mem + off;
        return (long)n;
    }
    if (off < r->win_off || off + n > r->win_off + r->win_len) {
        size_t want = READ_WINDOW, got = 0;
        if (want > r->size - off)
            want = (size_t)(r->size - off);
        r->win_off = off;
        r->win_len = 0;
        while (got < want) {
            ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return -1;
            if (k == 0)
                break;
            got += (size_t)k;
        }
        r->st.bytes += got;
        r->win_len = got;
        if (n > got)
            n = got;
    }
    *out = r->buf + (off - r->win_off);
    return (long)n;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(0, p, (uInt)n);
}

static int start(struct evtx_reader *r)
{
    const uint8_t *h;
    long got = read_at(r, 0, EVTX_FILE_HEADER_SIZE, &h);
    if (got < 0) {
        report(r, -1, 0, 0, "read error", errno, 0);
        return MAMORI_EIO;
    }
    r->nchunks = r->size > EVTX_FILE_HEADER_SIZE
                     ? (r->size - EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE - 1) / EVTX_CHUNK_SIZE
                     : 0;
    bool sig = got >= 128 && !memcmp(h, FILE_SIG, 8);
    if (!sig) {
        report(r, -1, 0, 0,
               got < 128 ? "file too short for an EVTX file header" : "bad file header signature",
               0, 0);
    } else if (!(r->o.flags & EVTX_NO_CHECKSUMS) && crc(h, 120) != le32(h + 124)) {
        report(r, -1, 0, 0, "bad file header checksum", 0, 0);
    } else {
        r->header_ok = true;
        r->st.header_next_id = le64(h + 24);
        r->header_first_chunk = le64(h + 8);
        if (le16(h + 38) != 3)
            report(r, -1, 0, 36, "unknown file format version (not 3)", 0, 0);
    }
    if (!sig) {
        /* No header: go on only if a chunk is where the first should be. */
        const uint8_t *c;
        long n = read_at(r, EVTX_FILE_HEADER_SIZE, 8, &c);
        if (n < 8 || memcmp(c, CHUNK_SIG, 8)) {
            report(r, -1, 0, 0, "not an EVTX file", 0, 0);
            return MAMORI_EINVAL;
        }
    }
    return 0;
}

static void reset_file(struct evtx_reader *r, const struct evtx_opts *o)
{
    r->o = o ? *o : (struct evtx_opts){0};
    r->st = (struct evtx_stats){0};
    r->next_chunk = 0;
    r->header_ok = false;
    r->finished = false;
    r->header_first_chunk = 0;
    r->pending_bad = 0;
    r->pending_chunk = -1;
    r->have_good = false;
    r->prev_last_id = r->max_last_id = 0;
    r->in_chunk = false;
    r->win_off = 0;
    r->win_len = 0;
}

int evtx_open_mem(struct evtx_reader *r, const void *buf, size_t len, const char *name,
                  const struct evtx_opts *o)
{
    if (r->open)
        evtx_close(r);
    reset_file(r, o);
    snprintf(r->name, sizeof r->name, "%s", name ? name : "(memory)");
    r->fd = -1;
    r->mem = buf;
    r->size = len;
    int rc = start(r);
    r->open = rc == 0;
    return rc;
}

int evtx_open_file(struct evtx_reader *r, const char *path, const struct evtx_opts *o)
{
    if (r->open)
        evtx_close(r);
    reset_file(r, o);
    snprintf(r->name, sizeof r->name, "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        report(r, -1, 0, 0, "cannot open", errno, 0);
        if (fd >= 0)
            close(fd);
        return MAMORI_EIO;
    }
    if (!S_ISREG(sb.st_mode)) {
        report(r, -1, 0, 0, "not a regular file", 0, 0);
        close(fd);
        return MAMORI_EINVAL;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    r->fd = fd;
    r->mem = NULL;
    r->size = (uint64_t)sb.st_size;
    int rc = start(r);
    if (rc < 0) {
        close(fd);
        r->fd = -1;
        return rc;
    }
    r->open = true;
    return 0;
}

static void skip_chunk(struct evtx_reader *r, int64_t idx)
{
    r->st.bad_chunks++;
    if (!r->pending_bad++)
        r->pending_chunk = idx;
}

/* Ids between the last good chunk and this one (first_id) that skipped chunks
 * took with them. */
static void settle_gap(struct evtx_reader *r, uint64_t first_id, uint64_t off)
{
    if (!r->pending_bad)
        return;
    uint64_t lost = 0;
    if (r->have_good && first_id > r->prev_last_id + 1)
        lost = first_id - r->prev_last_id - 1;
    else if (!r->have_good && r->header_ok && r->header_first_chunk == 0 && first_id > 1)
        lost = first_id - 1; /* the log never wrapped: ids start at 1 */
    report(r, r->pending_chunk, 0, off, "records lost in damaged chunks", 0, lost);
    r->pending_bad = 0;
}

/* Loads chunk idx; true when it has records to read. */
static bool load_chunk(struct evtx_reader *r, uint64_t idx)
{
    uint64_t off = EVTX_FILE_HEADER_SIZE + idx * EVTX_CHUNK_SIZE;
    const uint8_t *c;
    long got = read_at(r, off, EVTX_CHUNK_SIZE, &c);
    int64_t ci = (int64_t)idx;
    if (got < 0) {
        report(r, ci, 0, off, "read error", errno, 0);
        skip_chunk(r, ci);
        return false;
    }
    size_t sigcheck = got < 512 ? (size_t)got : 512;
    if ((size_t)got < 8 || memcmp(c, CHUNK_SIG, 8)) {
        bool zero = true;
        for (size_t i = 0; i < sigcheck && zero; i++)
            zero = c[i] == 0;
        if (zero)
            return false; /* unused space */
        report(r, ci, 0, off, "bad chunk signature", 0, 0);
        skip_chunk(r, ci);
        return false;
    }
    if (got < 512) {
        report(r, ci, 0, off, "truncated chunk header", 0, 0);
        skip_chunk(r, ci);
        return false;
    }
    bool sums = !(r->o.flags & EVTX_NO_CHECKSUMS);
    if (sums && (uint32_t)crc32(crc(c, 120), c + 128, 384) != le32(c + 124)) {
        report(r, ci, 0, off, "bad chunk header checksum", 0, 0);
        skip_chunk(r, ci);
        return false;
    }
    uint64_t first = le64(c + 24), last = le64(c + 32);
    uint32_t free_off = le32(c + 48);
    if (free_off < 512 || free_off > EVTX_CHUNK_SIZE || last < first ||
        last - first >= EVTX_CHUNK_SIZE / 28) {
        report(r, ci, 0, off, "bad chunk header values", 0, 0);
        skip_chunk(r, ci);
        return false;
    }
    uint64_t stated = last - first + 1;
    r->st.chunks++;
    r->st.stated += stated;
    settle_gap(r, first, off);
    if (!r->have_good || last > r->max_last_id)
        r->max_last_id = last;
    r->have_good = true;
    r->prev_last_id = last;

    if ((size_t)got < EVTX_CHUNK_SIZE) {
        report(r, ci, 0, off + (uint64_t)got, "truncated chunk", 0, 0);
    } else if (sums && crc(c + 512, free_off - 512) != le32(c + 52)) {
        if (r->o.flags & EVTX_STRICT) {
            report(r, ci, 0, off, "bad event records checksum", 0, stated);
            return false;
        }
        report(r, ci, 0, off, "bad event records checksum (records checked one by one)", 0, 0);
    }
    r->chunk = c;
    r->chunk_len = (uint32_t)got;
    r->chunk_idx = ci;
    r->chunk_off = off;
    r->pos = 512;
    r->end = free_off < (uint32_t)got ? free_off : (uint32_t)got;
    r->stated = stated;
    r->c_yield = r->c_lost = 0;
    r->in_chunk = true;
    bx_chunk_reset(&r->bx, c, (uint32_t)got);
    return true;
}

static void end_chunk(struct evtx_reader *r)
{
    r->in_chunk = false;
    uint64_t got = r->c_yield + r->c_lost;
    if (got < r->stated)
        report(r, r->chunk_idx, 0, r->chunk_off + r->pos, "records missing from chunk", 0,
               r->stated - got);
}

static bool frame_ok(const uint8_t *p, uint32_t room)
{
    if (room < 28 || memcmp(p, RECORD_SIG, 4))
        return false;
    uint32_t size = le32(p + 4);
    return size >= 28 && size <= room && le32(p + size - 4) == size;
}

static int64_t filetime_ns(uint64_t ft)
{
    const uint64_t epoch = 116444736000000000ull; /* 1970-01-01 in 100 ns since 1601 */
    if (ft >= epoch) {
        uint64_t d = ft - epoch;
        return d > (uint64_t)INT64_MAX / 100 ? INT64_MAX : (int64_t)(d * 100);
    }
    uint64_t d = epoch - ft;
    return d > (uint64_t)INT64_MAX / 100 ? INT64_MIN : -(int64_t)(d * 100);
}

/* The next record of the current chunk: 1 yielded, 0 chunk done. */
static int chunk_next(struct evtx_reader *r, const struct evtx_record **out)
{
    const uint8_t *c = r->chunk;
    while (r->end - r->pos >= 28) {
        uint32_t at = r->pos;
        if (!frame_ok(c + at, r->end - at)) {
            report(r, r->chunk_idx, 0, r->chunk_off + at, "bad record header", 0, 0);
            /* Look for the next record that frames. */
            const uint8_t *p = c + at + 1;
            uint32_t next = r->end;
            while (p < c + r->end) {
                p = memmem(p, (size_t)(c + r->end - p), RECORD_SIG, 4);
                if (!p)
                    break;
                if (frame_ok(p, (uint32_t)(c + r->end - p))) {
                    next = (uint32_t)(p - c);
                    break;
                }
                p++;
            }
            r->pos = next;
            continue;
        }
        uint32_t size = le32(c + at + 4);
        r->pos = at + size;
        struct evtx_record *rec = &r->rec;
        memset(rec, 0, sizeof *rec);
        rec->record_id = le64(c + at + 8);
        rec->filetime = le64(c + at + 16);
        rec->time_ns = filetime_ns(rec->filetime);
        rec->chunk = (uint32_t)r->chunk_idx;
        rec->offset = r->chunk_off + at;
        r->work.len = 0;
        r->text.len = 0;
        r->text.full = false;
        flat_begin(&r->flat, rec, &r->text, r->fields, EVTX_MAX_FIELDS);
        if (bx_record(&r->run, at + 24, size - 28) < 0) {
            r->c_lost++;
            report(r, r->chunk_idx, rec->record_id, rec->offset, r->run.why, 0, 1);
            continue;
        }
        flat_finish(&r->flat);
        r->c_yield++;
        r->st.records++;
        *out = rec;
        return 1;
    }
    return 0;
}

/* End of the file: ids the file header promises beyond the last good chunk
 * were lost with damaged chunks or a truncated end. */
static void finish(struct evtx_reader *r)
{
    r->finished = true;
    uint64_t next = r->st.header_next_id, lost = 0;
    if (r->header_ok && next > 0) {
        if (r->have_good && next - 1 > r->max_last_id)
            lost = next - 1 - r->max_last_id;
        else if (!r->have_good && r->header_first_chunk == 0)
            lost = next - 1;
    }
    if (r->pending_bad)
        report(r, r->pending_chunk, 0, r->size, "records lost in damaged chunks", 0, lost);
    else if (lost)
        report(r, -1, 0, r->size, "records missing at the end of the file", 0, lost);
    r->pending_bad = 0;
}

int evtx_next(struct evtx_reader *r, const struct evtx_record **out)
{
    if (!r->open)
        return 0;
    for (;;) {
        if (r->in_chunk) {
            if (chunk_next(r, out))
                return 1;
            end_chunk(r);
        }
        if (r->next_chunk >= r->nchunks) {
            if (!r->finished)
                finish(r);
            return 0;
        }
        load_chunk(r, r->next_chunk++);
    }
}

void evtx_close(struct evtx_reader *r)
{
    if (!r->open)
        return;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->mem = NULL;
    r->open = false;
}
