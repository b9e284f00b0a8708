/* fuzz_logs.h - the body shared by the libFuzzer targets of the src/logs
 * readers (fuzz_auditd.c, fuzz_jsonl.c, fuzz_syslog.c).
 *
 * fuzz_logs_one() reads the input as a whole file from memory with the
 * format forced (so every input reaches that reader, not the sniffer). Every
 * input must end in events or reported errors, never a crash, a leak or
 * unbounded memory; every event must carry NUL-terminated valid UTF-8 names
 * and values with their lengths right, at most LG_MAX_FIELDS fields, and
 * every error a file and a reason. The reader is made once and reused, as
 * hunt does. */
#ifndef MAMORI_FUZZ_LOGS_H
#define MAMORI_FUZZ_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logs.h"

static void check_str(const struct sg_str *s)
{
    if (!s->s)
        return;
    if (s->s[s->len] != '\0' || strlen(s->s) != s->len)
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

static void on_error(void *ctx, const struct lg_error *e)
{
    if (!e->reason || !e->reason[0] || !e->file)
        abort();
}

static int fuzz_logs_one(const uint8_t *data, size_t size, enum lg_format fmt, const char *name)
{
    static struct lg_reader *r;
    if (!r && !(r = lg_reader_new()))
        abort();
    struct lg_opts o = {.on_error = on_error, .format = fmt, .year = 2026};
    if (lg_open_mem(r, data, size, name, &o) == 0) {
        const struct sg_event *ev;
        while (lg_next(r, &ev) > 0) {
            if (ev->nfields > LG_MAX_FIELDS)
                abort();
            check_str(&ev->channel);
            check_str(&ev->computer);
            check_str(&ev->provider);
            for (uint32_t i = 0; i < ev->nfields; i++) {
                if (!ev->fields[i].name.s || !ev->fields[i].value.s)
                    abort();
                check_str(&ev->fields[i].name);
                check_str(&ev->fields[i].value);
            }
        }
        lg_close(r);
    }
    return 0;
}

#endif
