/* log.c - stderr logging (see log.h).
 *
 * The level is the one piece of process-wide state in core: it is written once
 * by main before threads start and only read afterwards. */
#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level g_level = LOG_LVL_INFO;

void log_set_level(enum log_level lvl) { g_level = lvl; }
enum log_level log_get_level(void) { return g_level; }

int log_parse_level(const char *s, enum log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_msg(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
    static const char *tags[] = {"error", "warning", "info", "debug"};
    if (lvl > g_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    if (g_level >= LOG_LVL_DEBUG)
        fprintf(stderr, "%s.%03ldZ mamori %s: %s (%s:%d)\n", when, ts.tv_nsec / 1000000,
                tags[lvl], msg, file, line);
    else
        fprintf(stderr, "%s.%03ldZ mamori %s: %s\n", when, ts.tv_nsec / 1000000, tags[lvl], msg);
}

char *log_escape(char *dst, size_t dstsz, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (dstsz == 0)
        return dst;
    for (const unsigned char *p = (const unsigned char *)src; p && *p; p++) {
        bool plain = *p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\';
        size_t need = plain ? 1 : 4;
        if (o + need >= dstsz)
            break;
        if (plain) {
            dst[o++] = (char)*p;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[*p >> 4];
            dst[o++] = hex[*p & 15];
        }
    }
    dst[o] = '\0';
    return dst;
}
