/* utf8.h - cutting UTF-8 text to a byte bound without splitting a
 * character. Input: a string that is valid UTF-8 (json-c and the log
 * readers give such) and a bound; output: a length, or a bounded copy. */
#ifndef MAMORI_CORE_UTF8_H
#define MAMORI_CORE_UTF8_H

#include <stddef.h>

/* The longest prefix of s[0..n) no longer than max bytes that does not
 * end inside a character. */
size_t utf8_cut(const char *s, size_t n, size_t max);

/* Copies at most size - 1 bytes of s into dst, cut between characters,
 * NUL-terminated (size >= 1). Returns the bytes copied. */
size_t utf8_copy(char *dst, size_t size, const char *s);

#endif
