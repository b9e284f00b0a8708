/* util.c - small helpers of the simulator: a deterministic random generator
 * (so a corpus is byte-identical for a seed), a bounded growable buffer (so no
 * generator can grow without limit), full-write loops and message formatting.
 * No state outside the structs the caller passes in. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "sim/sim_internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    return span == 0 ? sim_rng_next(r) : lo + sim_rng_next(r) % span;
}

void sim_rng_fill(struct sim_rng *r, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n >= 8) {
        uint64_t v = sim_rng_next(r);
        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t v = sim_rng_next(r);
        memcpy(p, &v, n);
    }
}

void sim_buf_init(struct sim_buf *b, size_t max) { *b = (struct sim_buf){.max = max}; }

void sim_buf_free(struct sim_buf *b)
{
    free(b->p);
    *b = (struct sim_buf){0};
}

void sim_buf_put(struct sim_buf *b, const void *data, size_t n)
{
    if (b->overflow)
        return;
    if (n > b->max - b->len) {
        b->overflow = true;
        return;
    }
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        if (ncap > b->max)
            ncap = b->max;
        unsigned char *np = realloc(b->p, ncap);
        if (!np) {
            b->overflow = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void sim_buf_puts(struct sim_buf *b, const char *s) { sim_buf_put(b, s, strlen(s)); }

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->overflow = true;
        return;
    }
    sim_buf_put(b, tmp, (size_t)n);
}

void sim_buf_u32be(struct sim_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    sim_buf_put(b, x, 4);
}

/* Writes all n bytes, at off, or at the file offset when off < 0. */
static int write_loop(int fd, const void *buf, size_t n, off_t off)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t w = off < 0 ? write(fd, p, n) : pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return MAMORI_EIO;
        }
        p += w;
        n -= (size_t)w;
        if (off >= 0)
            off += w;
    }
    return 0;
}

int sim_write_all(int fd, const void *buf, size_t n) { return write_loop(fd, buf, n, -1); }

int sim_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
    return off < 0 ? MAMORI_EIO : write_loop(fd, buf, n, off);
}

void sim_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void sim_msg(char *msg, size_t msgsz, const char *fmt, ...)
{
    if (!msg || !msgsz)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
}
