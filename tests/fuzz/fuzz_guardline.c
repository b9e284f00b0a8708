/* fuzz_guardline.c - libFuzzer target: the agent's reader of the guard's
 * output (agent/guardline.h). The input is fed as pipe bytes in chunks
 * whose sizes come from its first byte; each line is parsed into a spool
 * record over a buffer of SPOOL_REC_MAX bytes (and, for the first line, a
 * small one too). Any input must end in lines of at most GUARDLINE_MAX - 1
 * bytes, kinds and records within their buffers; never a crash, a leak or a
 * read past the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/guardline.h"
#include "agent/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    char *rec;
    size_t lines;
};

static void on_line(void *p, const char *line, size_t len)
{
    struct ctx *c = p;
    struct guardline gl;
    size_t n = 0;
    if (len >= GUARDLINE_MAX)
        abort();
    enum guardline_kind k = guardline_parse(line, len, 1, &gl, c->rec, SPOOL_REC_MAX, &n);
    if ((k == GL_BAD && n > 0) || n >= SPOOL_REC_MAX || (k == GL_ALERT && n == 0) ||
        (n && strlen(c->rec) != n))
        abort();
    if (c->lines++ == 0) {
        char small[300];
        k = guardline_parse(line, len, 1, &gl, small, sizeof small, &n);
        if (n >= sizeof small)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[GUARDLINE_MAX];
    static char rec[SPOOL_REC_MAX];
    struct linebuf lb = {.buf = buf};
    struct ctx c = {.rec = rec};
    size_t chunk = size ? (size_t)data[0] * 97 + 1 : 1;
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        guardline_feed(&lb, (const char *)data + off, n, on_line, &c);
        off += n;
    }
    return 0;
}
