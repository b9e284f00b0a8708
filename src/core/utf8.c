/* utf8.c - see utf8.h. */
#include "core/utf8.h"

#include <string.h>

size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    const unsigned char *p = (const unsigned char *)s;
    size_t k = max;
    while (k > 0 && (p[k] & 0xC0) == 0x80) /* p[k] continues the character before it */
        k--;
    return k;
}

size_t utf8_copy(char *dst, size_t size, const char *s)
{
    size_t n = utf8_cut(s, strnlen(s, size), size - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return n;
}
