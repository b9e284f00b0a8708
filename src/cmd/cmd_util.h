/* cmd_util.h - small pieces every subcommand's option parsing shares.
 *
 * cmd_usage prints "PREFIX: <message> (see PREFIX --help)" on standard error
 * and returns EXIT_USAGE, so a parser can `return usage_error(...)` with a
 * per-file macro naming its command. cmd_wall_ms is the wall clock in
 * milliseconds since the epoch (what the server stores as *_ms). */
#ifndef MAMORI_CMD_UTIL_H
#define MAMORI_CMD_UTIL_H

#include <stdint.h>

__attribute__((format(printf, 2, 3))) int cmd_usage(const char *prefix, const char *fmt, ...);
int64_t cmd_wall_ms(void);

#endif
