/* json.h - a bounded JSON writer for event lines.
 *
 * Callers build one JSON object into a fixed buffer they own (struct jw); all
 * strings are escaped, so attacker-controlled text (file names, command lines)
 * cannot break the line. When the buffer bound is reached the writer records
 * overflow and further writes are ignored; jw_finish then returns
 * MAMORI_EFULL so the caller never emits a truncated object. */
#ifndef MAMORI_CORE_JSON_H
#define MAMORI_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
    bool need_comma; /* a value was written at the current nesting level */
};

void jw_init(struct jw *w, char *buf, size_t cap);
void jw_obj_begin(struct jw *w);
void jw_obj_begin_key(struct jw *w, const char *key); /* "key":{ inside an object */
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w, const char *key); /* key NULL inside an array */
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *val);
void jw_strn(struct jw *w, const char *key, const char *val, size_t n);
void jw_int(struct jw *w, const char *key, int64_t val);
void jw_uint(struct jw *w, const char *key, uint64_t val);
void jw_double(struct jw *w, const char *key, double val, int decimals);
void jw_bool(struct jw *w, const char *key, bool val);
/* NUL-terminates; returns length or MAMORI_EFULL when the bound was hit. */
long jw_finish(struct jw *w);

#endif
