/* timeline.c - bounded buffers of findings, spilled as sorted runs, merged.
 *
 * In memory: an arena of line bytes and an index of (key, offset, length).
 * A spill sorts the index and appends the records [key][u32 len][bytes] to
 * the buffer's one temporary file as a run (offset, length). tl_merge keeps
 * one reader per run (a window of READ_WIN bytes, refilled with pread) and
 * one for each in-memory remainder, in a binary heap on the key. */
#include "hunt/timeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

#define READ_WIN (TL_LINE_MAX + 64u * 1024u) /* per-run read window in tl_merge */
#define REC_HEAD (sizeof(struct tl_key) + sizeof(uint32_t))

struct ent {
    struct tl_key k;
    size_t off;
    uint32_t len;
};

struct run {
    off_t off, len;
};

struct tl_buf {
    size_t cap;
    char *arena;
    size_t alen, acap;
    struct ent *ents;
    size_t nents, ecap;
    int fd; /* run file, -1 until the first spill */
    off_t fend;
    struct run runs[TL_RUNS_MAX];
    uint32_t nruns;
    uint64_t count;
    char tmpdir[256];
    char err[400];
};

static int key_cmp(const struct tl_key *a, const struct tl_key *b)
{
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    if (a->record != b->record)
        return a->record < b->record ? -1 : 1;
    if (a->rule != b->rule)
        return a->rule < b->rule ? -1 : 1;
    return 0;
}

static int ent_cmp(const void *a, const void *b)
{
    return key_cmp(&((const struct ent *)a)->k, &((const struct ent *)b)->k);
}

struct tl_buf *tl_buf_new(size_t cap, const char *tmpdir)
{
    struct tl_buf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cap = cap < (1u << 20) ? (1u << 20) : cap;
    b->fd = -1;
    snprintf(b->tmpdir, sizeof b->tmpdir, "%s", tmpdir && *tmpdir ? tmpdir : "/tmp");
    return b;
}

void tl_buf_free(struct tl_buf *b)
{
    if (!b)
        return;
    if (b->fd >= 0)
        close(b->fd);
    free(b->arena);
    free(b->ents);
    free(b);
}

const char *tl_buf_error(const struct tl_buf *b) { return b->err; }
uint64_t tl_count(const struct tl_buf *b) { return b->count; }
uint32_t tl_spills(const struct tl_buf *b) { return b->nruns; }

static int open_tmp(struct tl_buf *b)
{
    b->fd = open(b->tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (b->fd >= 0)
        return 0;
    char path[300];
    snprintf(path, sizeof path, "%s/mamori-hunt.XXXXXX", b->tmpdir);
    b->fd = mkostemp(path, O_CLOEXEC);
    if (b->fd < 0) {
        snprintf(b->err, sizeof b->err, "cannot create a temporary file in %s: %s", b->tmpdir,
                 strerror(errno));
        return MAMORI_EIO;
    }
    unlink(path);
    return 0;
}

static int write_all(int fd, const void *p, size_t n, off_t at)
{
    const char *c = p;
    while (n) {
        ssize_t w = pwrite(fd, c, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

/* Sorts the in-memory part and appends it as one run. */
static int spill(struct tl_buf *b)
{
    if (!b->nents)
        return 0;
    if (b->nruns >= TL_RUNS_MAX) {
        snprintf(b->err, sizeof b->err, "more than %u spilled runs of findings", TL_RUNS_MAX);
        return MAMORI_EFULL;
    }
    if (b->fd < 0 && open_tmp(b) < 0)
        return MAMORI_EIO;
    qsort(b->ents, b->nents, sizeof *b->ents, ent_cmp);
    char *out = malloc(1u << 20);
    if (!out)
        return MAMORI_ENOMEM;
    size_t olen = 0;
    off_t start = b->fend, at = b->fend;
    int rc = 0;
    for (size_t i = 0; i < b->nents && !rc; i++) {
        const struct ent *e = &b->ents[i];
        size_t need = REC_HEAD + e->len;
        if (olen + need > (1u << 20)) {
            if (write_all(b->fd, out, olen, at) < 0)
                rc = MAMORI_EIO;
            at += (off_t)olen;
            olen = 0;
        }
        memcpy(out + olen, &e->k, sizeof e->k);
        memcpy(out + olen + sizeof e->k, &e->len, sizeof e->len);
        memcpy(out + olen + REC_HEAD, b->arena + e->off, e->len);
        olen += need;
    }
    if (!rc && olen && write_all(b->fd, out, olen, at) < 0)
        rc = MAMORI_EIO;
    at += (off_t)olen;
    free(out);
    if (rc) {
        snprintf(b->err, sizeof b->err, "writing findings to a temporary file in %s: %s",
                 b->tmpdir, strerror(errno ? errno : EIO));
        return rc;
    }
    b->runs[b->nruns++] = (struct run){start, at - start};
    b->fend = at;
    b->nents = 0;
    b->alen = 0;
    return 0;
}

int tl_add(struct tl_buf *b, const struct tl_key *k, const char *line, size_t len)
{
    if (len > TL_LINE_MAX) {
        snprintf(b->err, sizeof b->err, "a finding of %zu bytes is longer than %u", len,
                 TL_LINE_MAX);
        return MAMORI_ERANGE;
    }
    if (b->alen + len + (b->nents + 1) * sizeof(struct ent) > b->cap) {
        int rc = spill(b);
        if (rc < 0)
            return rc;
    }
    if (b->alen + len > b->acap) {
        size_t n = b->acap ? b->acap * 2 : 64u << 10;
        while (n < b->alen + len)
            n *= 2;
        char *a = realloc(b->arena, n);
        if (!a)
            return MAMORI_ENOMEM;
        b->arena = a;
        b->acap = n;
    }
    if (b->nents == b->ecap) {
        size_t n = b->ecap ? b->ecap * 2 : 1024;
        struct ent *e = realloc(b->ents, n * sizeof *e);
        if (!e)
            return MAMORI_ENOMEM;
        b->ents = e;
        b->ecap = n;
    }
    memcpy(b->arena + b->alen, line, len);
    b->ents[b->nents++] = (struct ent){*k, b->alen, (uint32_t)len};
    b->alen += len;
    b->count++;
    return 0;
}

/* One source of the merge: a run on disk or a buffer's sorted remainder. */
struct src {
    struct tl_key k;
    const char *line;
    uint32_t len;
    /* run */
    int fd;
    off_t next, end;
    char *win;
    size_t wpos, wlen;
    /* memory */
    const struct tl_buf *mem;
    size_t idx;
};

/* Loads the next record of s into k/line/len; 1, 0 at the end, <0 error. */
static int src_next(struct src *s)
{
    if (s->mem) {
        if (s->idx >= s->mem->nents)
            return 0;
        const struct ent *e = &s->mem->ents[s->idx++];
        s->k = e->k;
        s->line = s->mem->arena + e->off;
        s->len = e->len;
        return 1;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (s->wlen - s->wpos >= REC_HEAD) {
            uint32_t len;
            memcpy(&len, s->win + s->wpos + sizeof(struct tl_key), sizeof len);
            if (len > TL_LINE_MAX)
                return MAMORI_EINVAL;
            if (s->wlen - s->wpos >= REC_HEAD + len) {
                memcpy(&s->k, s->win + s->wpos, sizeof s->k);
                s->line = s->win + s->wpos + REC_HEAD;
                s->len = len;
                s->wpos += REC_HEAD + len;
                return 1;
            }
        }
        if (pass)
            break;
        /* refill: keep the partial record, read what follows */
        size_t keep = s->wlen - s->wpos;
        memmove(s->win, s->win + s->wpos, keep);
        s->wpos = 0;
        s->wlen = keep;
        size_t want = READ_WIN - keep;
        if ((off_t)want > s->end - s->next)
            want = (size_t)(s->end - s->next);
        while (want) {
            ssize_t r = pread(s->fd, s->win + s->wlen, want, s->next);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return MAMORI_EIO;
            s->wlen += (size_t)r;
            s->next += r;
            want -= (size_t)r;
        }
    }
    return s->wlen == s->wpos ? 0 : MAMORI_ETRUNC;
}

static void heap_down(struct src **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && key_cmp(&h[l]->k, &h[m]->k) < 0)
            m = l;
        if (l + 1 < n && key_cmp(&h[l + 1]->k, &h[m]->k) < 0)
            m = l + 1;
        if (m == i)
            return;
        struct src *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

int tl_merge(struct tl_buf **bufs, size_t n, tl_write_fn write, void *ctx)
{
    size_t nsrc = 0;
    for (size_t i = 0; i < n; i++) {
        if (bufs[i]->nents)
            qsort(bufs[i]->ents, bufs[i]->nents, sizeof(struct ent), ent_cmp);
        nsrc += bufs[i]->nruns + 1;
    }
    struct src *srcs = calloc(nsrc ? nsrc : 1, sizeof *srcs);
    struct src **heap = calloc(nsrc ? nsrc : 1, sizeof *heap);
    int rc = (srcs && heap) ? 0 : MAMORI_ENOMEM;
    size_t ns = 0, nh = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        for (uint32_t r = 0; r < bufs[i]->nruns && !rc; r++) {
            struct src *s = &srcs[ns++];
            s->fd = bufs[i]->fd;
            s->next = bufs[i]->runs[r].off;
            s->end = s->next + bufs[i]->runs[r].len;
            s->win = malloc(READ_WIN);
            if (!s->win)
                rc = MAMORI_ENOMEM;
        }
        srcs[ns].mem = bufs[i];
        srcs[ns++].fd = -1;
    }
    for (size_t i = 0; i < ns && !rc; i++) {
        int got = src_next(&srcs[i]);
        if (got < 0)
            rc = got;
        else if (got)
            heap[nh++] = &srcs[i];
    }
    for (size_t i = nh; i-- > 0;)
        heap_down(heap, nh, i);
    while (!rc && nh) {
        struct src *s = heap[0];
        if (write(ctx, &s->k, s->line, s->len) < 0) {
            rc = MAMORI_EIO;
            break;
        }
        int got = src_next(s);
        if (got < 0) {
            rc = got;
            break;
        }
        if (!got)
            heap[0] = heap[--nh];
        heap_down(heap, nh, 0);
    }
    for (size_t i = 0; i < ns; i++)
        free(srcs[i].win);
    free(srcs);
    free(heap);
    return rc;
}
