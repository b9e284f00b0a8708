/* corr_hash.c - keyed hashing of the strings correlation state is keyed by.
 *
 * Group values and value_count's distinct values come from the logs, that is
 * from the attacker: with a public hash function they could be chosen to
 * collide, making group lookups slow or making different values count as
 * one. Every evaluation state therefore draws a random 128-bit key
 * (corr_hash_key) and hashes with SipHash-2-4 (Aumasson and Bernstein, 2012),
 * written here from the published description. Bytes in, 64 bits out. */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/sigma/corr_int.h"

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

struct sip {
    uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13) ^ s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16) ^ s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21) ^ s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17) ^ s->v2;
    s->v2 = rotl(s->v2, 32);
}

static void sip_block(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t corr_hash(const uint64_t key[2], const void *data, size_t len)
{
    const unsigned char *p = data;
    struct sip s = {
        key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
        key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull,
    };
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8)
        sip_block(&s, le64(p + i));
    unsigned char last[8] = {0};
    memcpy(last, p + whole, len - whole);
    last[7] = (unsigned char)len;
    sip_block(&s, le64(last));
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void corr_hash_key(uint64_t key[2])
{
    if (getrandom(key, 2 * sizeof *key, GRND_NONBLOCK) == (ssize_t)(2 * sizeof *key))
        return;
    /* no entropy yet (early boot): unpredictable enough for a hash table */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    key[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)key;
    key[1] ^= (uint64_t)ts.tv_sec * 0xbf58476d1ce4e5b9ull ^ (uint64_t)(uintptr_t)&ts;
}
