/* log.h - diagnostic logging for operators and developers.
 *
 * Messages go to stderr (the JSON event stream of a command goes elsewhere).
 * Each line carries time, level and, at debug level, file:line. Text that came
 * from outside (file names, command lines) must pass through log_escape or the
 * %s arguments are escaped by the caller: a hostile file name must not be able
 * to forge log lines. The level is process-wide state set once by main. */
#ifndef MAMORI_CORE_LOG_H
#define MAMORI_CORE_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
int log_parse_level(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copy src into dst (size dstsz, always NUL-terminated), replacing control
 * characters, quotes and backslashes with \xNN escapes. Returns dst. */
char *log_escape(char *dst, size_t dstsz, const char *src);

#define log_error(...) log_msg(LOG_LVL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
