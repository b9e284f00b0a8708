/* actor.c - the guard's bounded tables (see actor.h). */
#include "guard/actor.h"

#include <string.h>
#include <unistd.h>

static const char *const ind_names[IND_COUNT] = {
    [IND_STRUCTURED_TO_RANDOM] = "structured-to-random",
    [IND_PARTIAL_ENCRYPTION] = "partial-encryption",
    [IND_ENCODED_CIPHERTEXT] = "encoded-ciphertext",
    [IND_TYPE_BROKEN] = "file-type-broken",
    [IND_COPY_THEN_DELETE] = "encrypted-copy-original-deleted",
    [IND_ORIGINAL_TRUNCATED] = "original-truncated",
    [IND_EXTENSION_RENAME] = "extension-rename",
    [IND_RANSOM_NOTE] = "ransom-note",
    [IND_DECOY] = "decoy-touched",
    [IND_LINEAGE] = "same-program-as-stopped-encryptor",
    [IND_DRIVER] = "starts-encryptors",
};

const char *indicator_name(enum indicator i)
{
    return (unsigned)i < IND_COUNT ? ind_names[i] : "unknown";
}

/* FNV-1a, 64 bit: cheap and good enough for bounded in-memory keys. */
uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t hash_str(const char *s) { return hash_bytes(s, strlen(s)); }

uint64_t hash_stem(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t n = strlen(path);
    if (dot && (!slash || dot > slash + 1))
        n = (size_t)(dot - path);
    return hash_bytes(path, n);
}

static uint32_t mix32(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

struct gproc *ptab_find(struct tables *t, pid_t pid)
{
    uint32_t h = mix32((uint64_t)pid);
    for (uint32_t i = 0; i < PROBE; i++) {
        struct gproc *g = &t->ptab[(h + i) & (GPROC_MAX - 1)];
        if (g->used && g->info.pid == pid)
            return g;
    }
    return NULL;
}

struct gproc *ptab_slot(struct tables *t, pid_t pid, uint64_t now_us)
{
    struct gproc *g = ptab_find(t, pid);
    if (g)
        return g;
    uint32_t h = mix32((uint64_t)pid);
    struct gproc *victim = NULL;
    for (uint32_t i = 0; i < PROBE; i++) {
        struct gproc *c = &t->ptab[(h + i) & (GPROC_MAX - 1)];
        if (!c->used) {
            victim = c;
            break;
        }
        if (!victim || c->last_us < victim->last_us)
            victim = c;
    }
    memset(victim, 0, sizeof *victim);
    victim->used = true;
    victim->info.pid = pid;
    victim->last_us = now_us;
    return victim;
}

struct actor *actor_get(struct tables *t, uint32_t ref)
{
    if (ref == 0 || ref > ACTOR_MAX || !t->atab[ref - 1].used)
        return NULL;
    return &t->atab[ref - 1];
}

uint32_t actor_ref(struct tables *t, const struct actor *a)
{
    return (uint32_t)(a - t->atab) + 1;
}

struct actor *actor_new(struct tables *t, struct gproc *gp, uint64_t now_us)
{
    struct actor *victim = NULL;
    for (size_t i = 0; i < ACTOR_MAX; i++) {
        struct actor *a = &t->atab[i];
        if (!a->used) {
            victim = a;
            break;
        }
        if (a->condemned || a->score > 0)
            continue;
        if (!victim || a->last_us < victim->last_us)
            victim = a;
    }
    if (!victim) { /* every slot holds evidence: drop the oldest anyway */
        victim = &t->atab[0];
        for (size_t i = 1; i < ACTOR_MAX; i++)
            if (t->atab[i].last_us < victim->last_us && !t->atab[i].condemned)
                victim = &t->atab[i];
    }
    memset(victim, 0, sizeof *victim);
    victim->used = true;
    victim->root = gp->info.pid;
    victim->parent = gp->info.ppid;
    victim->exe_hash = gp->exe_hash;
    memcpy(victim->exe, gp->info.exe, sizeof victim->exe);
    memcpy(victim->cmdline, gp->info.cmdline, sizeof victim->cmdline);
    victim->uid = gp->info.uid;
    victim->last_us = now_us;
    actor_add_member(victim, gp->info.pid);
    gp->actor = actor_ref(t, victim);
    return victim;
}

bool actor_has_member(const struct actor *a, pid_t pid)
{
    for (size_t i = 0; i < a->nmembers; i++)
        if (a->members[i] == pid)
            return true;
    return false;
}

void actor_add_member(struct actor *a, pid_t pid)
{
    if (!actor_has_member(a, pid) && a->nmembers < ACTOR_MEMBERS_MAX)
        a->members[a->nmembers++] = pid;
}

void actor_add_file(struct actor *a, const char *path)
{
    for (size_t i = 0; i < a->nfiles; i++)
        if (!strcmp(a->files[i], path))
            return;
    if (a->nfiles < ACTOR_FILES_MAX) {
        size_t n = strlen(path);
        if (n >= ACTOR_PATH_MAX)
            n = ACTOR_PATH_MAX - 1;
        memcpy(a->files[a->nfiles], path, n);
        a->files[a->nfiles][n] = '\0';
        a->nfiles++;
    }
}

void ring_push(struct ring_ent *ring, size_t *n, const struct ring_ent *e)
{
    ring[*n % ACTOR_RING] = *e;
    (*n)++;
}

struct inode_ent *itab_find(struct tables *t, dev_t dev, ino_t ino, int64_t btime_ns)
{
    uint32_t h = mix32((uint64_t)ino * 31 + (uint64_t)dev);
    for (uint32_t i = 0; i < PROBE; i++) {
        struct inode_ent *e = &t->itab[(h + i) & (INODE_MAX - 1)];
        if (e->used && e->ino == ino && e->dev == dev &&
            (!btime_ns || !e->btime_ns || e->btime_ns == btime_ns))
            return e;
    }
    return NULL;
}

struct inode_ent *itab_slot(struct tables *t, dev_t dev, ino_t ino, int64_t btime_ns,
                            uint64_t now_us)
{
    struct inode_ent *e = itab_find(t, dev, ino, btime_ns);
    if (e) {
        if (!e->btime_ns)
            e->btime_ns = btime_ns;
        return e;
    }
    /* A dead file's entry under the same number stays until it is the least
     * recent: it may hold the fd that keeps a deleted original for the
     * vault. */
    uint32_t h = mix32((uint64_t)ino * 31 + (uint64_t)dev);
    struct inode_ent *victim = NULL;
    for (uint32_t i = 0; i < PROBE; i++) {
        struct inode_ent *c = &t->itab[(h + i) & (INODE_MAX - 1)];
        if (!c->used) {
            victim = c;
            break;
        }
        if (c->decoy)
            continue;
        if (!victim || c->last_us < victim->last_us)
            victim = c;
    }
    if (!victim)
        victim = &t->itab[h & (INODE_MAX - 1)];
    if ((victim->hold || victim->lease_op) && t->on_evict)
        t->on_evict(t->evict_ctx, victim);
    if (victim->hold)
        close(victim->hold - 1);
    memset(victim, 0, sizeof *victim);
    victim->used = true;
    victim->dev = dev;
    victim->ino = ino;
    victim->btime_ns = btime_ns;
    victim->last_us = now_us;
    return victim;
}

void itab_set_path(struct tables *t, struct inode_ent *e, const char *path)
{
    e->path_hash = hash_str(path);
    e->stem_hash = hash_stem(path);
    uint32_t h = mix32(e->path_hash);
    uint32_t idx = (uint32_t)(e - t->itab) + 1;
    uint32_t *free_slot = NULL;
    for (uint32_t i = 0; i < PROBE; i++) {
        uint32_t pos = (h + i) & (INODE_MAX - 1);
        uint32_t *slot = &t->by_path[pos];
        struct inode_ent *cur = *slot ? &t->itab[*slot - 1] : NULL;
        /* Ours, or another entry under this very path: the file last seen
         * under a name is the one the name stands for now (`sed -i` and
         * every rename over a file leave the replaced inode's entry behind,
         * and a lookup must not find that one). */
        if (cur && cur->used && (cur == e || cur->path_hash == e->path_hash)) {
            *slot = idx;
            return;
        }
        /* A slot keeps another path's entry while that path still probes
         * through it; free, gone or moved-on entries leave it free. */
        bool live = cur && cur->used && cur->path_hash &&
                    ((pos - mix32(cur->path_hash)) & (INODE_MAX - 1)) < PROBE;
        if (!live && !free_slot)
            free_slot = slot;
    }
    /* a window full of live paths loses the mapping in its first slot */
    *(free_slot ? free_slot : &t->by_path[h & (INODE_MAX - 1)]) = idx;
}

struct inode_ent *itab_by_path(struct tables *t, uint64_t path_hash)
{
    uint32_t h = mix32(path_hash);
    for (uint32_t i = 0; i < PROBE; i++) {
        uint32_t v = t->by_path[(h + i) & (INODE_MAX - 1)];
        if (v && t->itab[v - 1].used && t->itab[v - 1].path_hash == path_hash)
            return &t->itab[v - 1];
    }
    return NULL;
}
