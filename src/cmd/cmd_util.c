/* cmd_util.c - the usage-error message and wall clock the subcommands
 * share (cmd_util.h). Input: a command prefix and a printf format; output:
 * one line on standard error. */
#include "cmd/cmd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cmd/commands.h"

int cmd_usage(const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prefix);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s --help)\n", prefix);
    va_end(ap);
    return EXIT_USAGE;
}

int64_t cmd_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
