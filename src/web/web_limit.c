/* web_limit.c - failed logins counted in memory, per key ("u:NAME" and
 * "ip:ADDR"), to lock out guessing. A failure enters with its key and
 * time; a lock in milliseconds leaves. Bounded: WEB_LIMIT_MAX entries;
 * when full, the entry with the oldest last failure is reused (an attacker
 * who fills the table with fresh addresses only forgets the oldest ones; a
 * known user's count also lives in users.failed_logins). An entry quiet for
 * WEB_FORGET_MS starts again from zero. Policy: web_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "web/web_int.h"

int web_limit_init(struct web_limit *l)
{
    l->n = 0;
    l->e = calloc(WEB_LIMIT_MAX, sizeof *l->e);
    return l->e ? 0 : MAMORI_ENOMEM;
}

void web_limit_free(struct web_limit *l)
{
    free(l->e);
    l->e = NULL;
    l->n = 0;
}

int64_t web_lock_ms(int fails, int threshold)
{
    if (fails < threshold)
        return 0;
    int shift = fails - threshold;
    if (shift > 10)
        shift = 10;
    int64_t ms = (int64_t)WEB_LOCK_BASE_MS << shift;
    return ms > WEB_LOCK_MAX_MS ? WEB_LOCK_MAX_MS : ms;
}

static struct web_limit_ent *find(struct web_limit *l, const char *key, int64_t now)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->e[i].key, key)) {
            if (now - l->e[i].last_fail > WEB_FORGET_MS && now >= l->e[i].locked_until)
                l->e[i].fails = 0;
            return &l->e[i];
        }
    return NULL;
}

int64_t web_limit_locked(struct web_limit *l, const char *key, int64_t now)
{
    struct web_limit_ent *e = find(l, key, now);
    return e && e->locked_until > now ? e->locked_until - now : 0;
}

int web_limit_fails(struct web_limit *l, const char *key, int64_t now)
{
    struct web_limit_ent *e = find(l, key, now);
    return e ? e->fails : 0;
}

int64_t web_limit_fail(struct web_limit *l, const char *key, int threshold, int64_t now)
{
    struct web_limit_ent *e = find(l, key, now);
    if (!e) {
        if (l->n < WEB_LIMIT_MAX) {
            e = &l->e[l->n++];
        } else {
            e = &l->e[0];
            for (size_t i = 1; i < l->n; i++)
                if (l->e[i].last_fail < e->last_fail)
                    e = &l->e[i];
        }
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    e->fails++;
    e->last_fail = now;
    int64_t lock = web_lock_ms(e->fails, threshold);
    if (lock)
        e->locked_until = now + lock;
    return lock;
}

void web_limit_clear(struct web_limit *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->e[i].key, key)) {
            l->e[i] = l->e[--l->n];
            return;
        }
}
