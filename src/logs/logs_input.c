/* logs_input.c - the bytes of one text log through a bounded window.
 *
 * Data enters from a file (through zlib, which reads gzip files decompressed
 * and plain files as they are) or from a caller buffer; it leaves as a
 * window of readable bytes (lg_in_fill / lg_in_consume, for JSON) or as one
 * NUL-terminated line at a time (lg_in_line, for auditd and syslog). The
 * window is LG_INBUF_CAP bytes; a line longer than LG_LINE_MAX is skipped
 * whole and said so, never held. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "logs/logs_int.h"

int lg_in_open_path(struct lg_input *in, const char *path, bool *compressed)
{
    char *buf = in->buf;
    memset(in, 0, sizeof *in);
    in->buf = buf;
    in->line = 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    in->gz = gzdopen(fd, "rb");
    if (!in->gz) {
        close(fd);
        return -ENOMEM;
    }
    gzbuffer(in->gz, 256u << 10);
    /* gzdirect is only meaningful after the first read. */
    size_t n = lg_in_fill(in, 4096);
    *compressed = n > 0 && !gzdirect(in->gz);
    return 0;
}

void lg_in_open_mem(struct lg_input *in, const void *buf, size_t len)
{
    char *b = in->buf;
    memset(in, 0, sizeof *in);
    in->buf = b;
    in->line = 1;
    in->mem = buf;
    in->memlen = len;
}

void lg_in_close(struct lg_input *in)
{
    if (in->gz)
        gzclose(in->gz);
    in->gz = NULL;
    in->mem = NULL;
    in->start = in->end = 0;
    in->eof = true;
}

/* Reads more after in->end (compacting first when the tail is short). */
static void refill(struct lg_input *in)
{
    if (in->start > 0 && (in->start == in->end || LG_INBUF_CAP - in->end < LG_LINE_MAX + 2)) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
    size_t room = LG_INBUF_CAP - 1 - in->end; /* one byte kept for a final NUL */
    if (room == 0 || in->eof)
        return;
    size_t got = 0;
    if (in->mem) {
        got = in->memlen - in->mempos < room ? in->memlen - in->mempos : room;
        memcpy(in->buf + in->end, in->mem + in->mempos, got);
        in->mempos += got;
    } else if (in->gz) {
        int n = gzread(in->gz, in->buf + in->end, (unsigned)room);
        if (n < 0) {
            in->ioerr = true;
            n = 0;
        }
        got = (size_t)n;
    }
    if (got == 0)
        in->eof = true;
    in->end += got;
    in->bytes += got;
}

size_t lg_in_fill(struct lg_input *in, size_t want)
{
    while (in->end - in->start < want && !in->eof)
        refill(in);
    return in->end - in->start;
}

void lg_in_consume(struct lg_input *in, size_t n)
{
    const char *p = in->buf + in->start, *e = p + n;
    while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
        in->line++;
        p++;
    }
    in->start += n;
}

int lg_in_line(struct lg_input *in, char **line, size_t *len, uint64_t *no)
{
    size_t scanned = 0;
    for (;;) {
        char *p = in->buf + in->start;
        size_t avail = in->end - in->start;
        char *nl = memchr(p + scanned, '\n', avail - scanned);
        if (nl || (in->eof && avail > 0) || avail > LG_LINE_MAX) {
            size_t n = nl ? (size_t)(nl - p) : avail;
            *no = in->line++;
            if (n > LG_LINE_MAX)
                break;
            in->start += nl ? n + 1 : n;
            if (n > 0 && p[n - 1] == '\r')
                n--;
            p[n] = '\0'; /* the newline, a '\r', or the byte kept free at the end */
            *line = p;
            *len = n;
            return LG_LINE_OK;
        }
        if (in->eof)
            return LG_LINE_END;
        scanned = avail; /* still valid after refill: offsets are from start */
        refill(in);
    }
    /* Too long: drop bytes until the next newline. */
    for (;;) {
        char *p = in->buf + in->start;
        char *nl = memchr(p, '\n', in->end - in->start);
        if (nl) {
            in->start += (size_t)(nl - p) + 1;
            return LG_LINE_LONG;
        }
        in->start = in->end;
        if (in->eof)
            return LG_LINE_LONG;
        refill(in);
    }
}
