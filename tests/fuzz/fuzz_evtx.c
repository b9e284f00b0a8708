/* fuzz_evtx.c - libFuzzer target: the EVTX parser on any bytes.
 *
 * The input is a whole .evtx file, read from memory with checksums off (so
 * mutations reach the chunk and binary XML decoders instead of stopping at a
 * CRC). Every input must end in records or reported errors, never a crash, a
 * leak or unbounded memory; every record must carry NUL-terminated valid
 * UTF-8 and at most EVTX_MAX_FIELDS fields, every error a reason, and every
 * record must render as JSON within the writer's bound. The reader and the
 * JSON buffer are made once and reused (a reader is meant to be reused;
 * fresh megabytes per input cost more than the parse). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evtx/evtx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const struct evtx_str *s)
{
    if (!s->s)
        return;
    if (s->s[s->len] != '\0')
        abort();
    const unsigned char *p = (const unsigned char *)s->s;
    for (size_t i = 0; i < s->len;) {
        size_t k = p[i] < 0x80 ? 0 : (p[i] & 0xE0) == 0xC0 ? 1 : (p[i] & 0xF0) == 0xE0 ? 2 : 3;
        if ((p[i] & 0xF8) == 0xF8 || (p[i] & 0xC0) == 0x80 || i + k >= s->len + !k)
            abort();
        for (size_t j = 1; j <= k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                abort();
        i += k + 1;
    }
}

static void on_error(void *ctx, const struct evtx_error *e)
{
    if (!e->reason || !e->reason[0] || !e->file)
        abort(); /* every report names a reason and the file */
    (void)ctx;
}

#define JSON_CAP (1u << 23)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct evtx_reader *r;
    static char *json;
    if (!r && (!(r = evtx_reader_new()) || !(json = malloc(JSON_CAP))))
        abort();
    struct evtx_opts o = {.on_error = on_error, .flags = EVTX_NO_CHECKSUMS};
    if (evtx_open_mem(r, data, size, "fuzz.evtx", &o) == 0) {
        const struct evtx_record *rec;
        while (evtx_next(r, &rec) > 0) {
            for (int i = 0; i < EVTX_SYS_COUNT; i++)
                check_utf8(&rec->sys[i]);
            for (uint32_t i = 0; i < rec->nfields; i++) {
                check_utf8(&rec->fields[i].name);
                check_utf8(&rec->fields[i].value);
            }
            if (rec->nfields > EVTX_MAX_FIELDS)
                abort();
            (void)evtx_record_json(rec, json, JSON_CAP);
        }
        evtx_close(r);
    }
    return 0;
}
