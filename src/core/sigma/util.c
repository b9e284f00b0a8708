/* util.c - the Sigma engine's small containers: a bump arena for rule
 * strings, growable arrays, an open-addressing string hash table, and the
 * names of the rule levels.
 * Data enters as bytes to keep; it leaves as pointers that live as long as
 * the arena or table. No global state. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"

struct sg_ablock {
    struct sg_ablock *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define SG_ABLOCK_SIZE (64u * 1024)

void *sg_arena_alloc(struct sg_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct sg_ablock *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > SG_ABLOCK_SIZE ? n : SG_ABLOCK_SIZE;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        if (a->head && n > SG_ABLOCK_SIZE) { /* a big one: keep the current block open */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *sg_arena_strndup(struct sg_arena *a, const char *s, size_t len)
{
    char *d = sg_arena_alloc(a, len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void sg_arena_free(struct sg_arena *a)
{
    for (struct sg_ablock *b = a->head, *nb; b; b = nb) {
        nb = b->next;
        free(b);
    }
    a->head = NULL;
    a->total = 0;
}

int sg_grow(void **arr, uint32_t *cap, uint32_t need, size_t elsz)
{
    if (need <= *cap)
        return 0;
    uint64_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > UINT32_MAX || ncap * elsz > (uint64_t)SIZE_MAX / 2)
        return MAMORI_ENOMEM;
    void *n = realloc(*arr, (size_t)ncap * elsz);
    if (!n)
        return MAMORI_ENOMEM;
    *arr = n;
    *cap = (uint32_t)ncap;
    return 0;
}

static inline unsigned char lower_ascii(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

uint32_t sg_hash(const char *s, size_t len, bool nocase)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (nocase && c == ' ')
            continue;
        h = (h ^ (nocase ? lower_ascii(c) : c)) * 16777619u;
    }
    return h ? h : 1;
}

/* nocase tables also ignore spaces: Sigma names fields "as they appear in
 * the log source with all spaces stripped" (Defender's "Threat Name" is
 * ThreatName in rules). */
static bool key_eq(const struct sg_hslot *sl, const char *key, size_t len, bool nocase)
{
    if (!nocase)
        return sl->len == len && memcmp(sl->key, key, len) == 0;
    size_t i = 0, j = 0;
    for (;;) {
        while (i < sl->len && sl->key[i] == ' ')
            i++;
        while (j < len && key[j] == ' ')
            j++;
        if (i == sl->len || j == len)
            return i == sl->len && j == len;
        if (lower_ascii((unsigned char)sl->key[i]) != lower_ascii((unsigned char)key[j]))
            return false;
        i++;
        j++;
    }
}

long sg_htab_get(const struct sg_htab *h, const char *key, size_t len)
{
    if (!h->cap)
        return -1;
    uint32_t hv = sg_hash(key, len, h->nocase);
    for (uint32_t i = hv & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        const struct sg_hslot *sl = &h->slots[i];
        if (!sl->hash)
            return -1;
        if (sl->hash == hv && key_eq(sl, key, len, h->nocase))
            return sl->val;
    }
}

static int rehash(struct sg_htab *h, uint32_t ncap)
{
    struct sg_hslot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return MAMORI_ENOMEM;
    for (uint32_t i = 0; i < h->cap; i++) {
        struct sg_hslot *sl = &h->slots[i];
        if (!sl->hash)
            continue;
        uint32_t j = sl->hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = *sl;
    }
    free(h->slots);
    h->slots = ns;
    h->cap = ncap;
    return 0;
}

long sg_htab_put(struct sg_htab *h, const char *key, size_t len, uint32_t val)
{
    if ((h->n + 1) * 4 >= h->cap * 3) {
        if (h->cap >= (1u << 30) || rehash(h, h->cap ? h->cap * 2 : 64) < 0)
            return MAMORI_ENOMEM - 100;
    }
    uint32_t hv = sg_hash(key, len, h->nocase);
    uint32_t i = hv & (h->cap - 1);
    for (;; i = (i + 1) & (h->cap - 1)) {
        struct sg_hslot *sl = &h->slots[i];
        if (!sl->hash)
            break;
        if (sl->hash == hv && key_eq(sl, key, len, h->nocase))
            return sl->val;
    }
    h->slots[i] = (struct sg_hslot){.key = key, .len = (uint32_t)len, .hash = hv, .val = val};
    h->n++;
    return -1;
}

void sg_htab_free(struct sg_htab *h)
{
    free(h->slots);
    h->slots = NULL;
    h->cap = h->n = 0;
}

static const char *const LEVEL_NAMES[SG_LEVELS] = {"informational", "low", "medium", "high",
                                                   "critical"};

const char *sg_level_name(int level)
{
    return LEVEL_NAMES[level < 0 ? 0 : level >= SG_LEVELS ? SG_LEVELS - 1 : level];
}

int sg_level_parse(const char *s)
{
    for (int i = 0; i < SG_LEVELS; i++)
        if (!strcmp(s, LEVEL_NAMES[i]))
            return i;
    return -1;
}
