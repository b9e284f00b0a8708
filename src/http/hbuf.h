/* hbuf.h - a growable byte buffer with a hard upper bound, for HTTP
 * connections (request bytes read, response bytes queued) and response
 * bodies built row by row.
 *
 * Bytes enter with hbuf_add / hbuf_printf and leave from the front with
 * hbuf_consume. The buffer grows by doubling up to `max` bytes and never
 * beyond: an append that would pass the bound adds nothing, returns
 * MAMORI_EFULL and leaves `full` set so a caller building a body can stop.
 * The content is always followed by a NUL byte (not counted in len), so a
 * request head can be parsed as text. */
#ifndef MAMORI_HTTP_HBUF_H
#define MAMORI_HTTP_HBUF_H

#include <stdbool.h>
#include <stddef.h>

struct hbuf {
    char *p;
    size_t len, cap, max;
    bool full; /* an append was refused for the bound */
};

void hbuf_init(struct hbuf *b, size_t max);
void hbuf_free(struct hbuf *b);
/* Room for n more bytes (allocates); 0, or MAMORI_EFULL / MAMORI_ENOMEM. */
int hbuf_reserve(struct hbuf *b, size_t n);
int hbuf_add(struct hbuf *b, const void *d, size_t n);
int hbuf_str(struct hbuf *b, const char *s);
int hbuf_printf(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop n bytes from the front. */
void hbuf_consume(struct hbuf *b, size_t n);
/* Empty it; memory above `keep` bytes is released. */
void hbuf_reset(struct hbuf *b, size_t keep);

#endif
