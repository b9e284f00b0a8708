/* web_pwpool.c - password checks (argon2id, web_pw_verify) on worker
 * threads, so that the ~0.1-2 s and 64 MiB of each never hold the API's
 * loop (every other request and the event streams wait behind it there).
 *
 * A check enters on the API thread as a PHC string and a password, copied
 * into a free slot (web_pwpool_submit; none free: MAMORI_EFULL, the caller
 * answers 503). `workers` threads take the oldest waiting slot, verify,
 * wipe the password and mark it done, then call wake() (the API thread's
 * http_server_wake). The API thread collects done slots with
 * web_pwpool_done: the slot's index (the caller keeps its own context per
 * index) and the yes/no leave. Bounds: `slots` checks at once (running or
 * waiting), `workers` of them running, so at most workers x 64 MiB.
 * Shared state (the slots' state, hash, password, result) is under one
 * mutex, except a running slot's hash and password, which only its worker
 * reads until it marks it done. */
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "web/web_int.h"

enum { PW_FREE, PW_WAITING, PW_RUNNING, PW_DONE };

struct web_pwslot {
    int state;
    uint64_t seq; /* order of submission: the oldest waiting runs first */
    bool ok;
    size_t n;
    char hash[WEB_HASH_MAX];
    char pw[WEB_PASSWORD_MAX];
};

static void *worker(void *arg)
{
    struct web_pwpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct web_pwslot *s = NULL;
        while (!p->stop) {
            for (int i = 0; i < p->nslots; i++)
                if (p->slot[i].state == PW_WAITING && (!s || p->slot[i].seq < s->seq))
                    s = &p->slot[i];
            if (s)
                break;
            pthread_cond_wait(&p->cv, &p->mu);
        }
        if (p->stop)
            break;
        s->state = PW_RUNNING;
        pthread_mutex_unlock(&p->mu);
        bool ok = web_pw_verify(s->hash, s->pw, s->n);
        OPENSSL_cleanse(s->pw, sizeof s->pw);
        pthread_mutex_lock(&p->mu);
        s->ok = ok;
        s->state = PW_DONE;
        pthread_mutex_unlock(&p->mu);
        if (p->wake)
            p->wake(p->wake_arg);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int web_pwpool_start(struct web_pwpool *p, int workers, int slots, void (*wake)(void *), void *arg,
                     char *err, size_t errsz)
{
    memset(p, 0, sizeof *p);
    if (workers < 1 || workers > WEB_PW_WORKERS_MAX || slots < workers) {
        snprintf(err, errsz, "console: bad password-check pool (%d workers, %d slots)", workers,
                 slots);
        return MAMORI_EINVAL;
    }
    p->slot = calloc((size_t)slots, sizeof *p->slot);
    if (!p->slot) {
        snprintf(err, errsz, "console: out of memory");
        return MAMORI_ENOMEM;
    }
    p->nslots = slots;
    p->wake = wake;
    p->wake_arg = arg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->inited = true;
    /* the workers take no signals: they stay with the process's main loop */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = 0;
    for (; p->nworkers < workers; p->nworkers++)
        if ((e = pthread_create(&p->th[p->nworkers], NULL, worker, p)) != 0)
            break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        snprintf(err, errsz, "console: cannot start a password-check thread: %s", strerror(e));
        web_pwpool_stop(p);
        return MAMORI_EIO;
    }
    return 0;
}

void web_pwpool_stop(struct web_pwpool *p)
{
    if (!p->inited)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++) /* a running check ends first: at most one verify */
        pthread_join(p->th[i], NULL);
    OPENSSL_cleanse(p->slot, (size_t)p->nslots * sizeof *p->slot);
    free(p->slot);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
}

int web_pwpool_submit(struct web_pwpool *p, const char *hash, const char *pw, size_t n)
{
    if (n > WEB_PASSWORD_MAX || strlen(hash) >= WEB_HASH_MAX)
        return MAMORI_EINVAL;
    pthread_mutex_lock(&p->mu);
    int i = 0;
    while (i < p->nslots && p->slot[i].state != PW_FREE)
        i++;
    if (i == p->nslots) {
        pthread_mutex_unlock(&p->mu);
        return MAMORI_EFULL;
    }
    struct web_pwslot *s = &p->slot[i];
    s->seq = ++p->seq;
    s->n = n;
    s->ok = false;
    memcpy(s->pw, pw, n);
    snprintf(s->hash, sizeof s->hash, "%s", hash);
    s->state = PW_WAITING;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return i;
}

int web_pwpool_done(struct web_pwpool *p, bool *ok)
{
    pthread_mutex_lock(&p->mu);
    int found = -1;
    for (int i = 0; i < p->nslots && found < 0; i++)
        if (p->slot[i].state == PW_DONE) {
            found = i;
            *ok = p->slot[i].ok;
            p->slot[i].state = PW_FREE;
        }
    pthread_mutex_unlock(&p->mu);
    return found;
}

int web_pwpool_busy(struct web_pwpool *p)
{
    pthread_mutex_lock(&p->mu);
    int n = 0;
    for (int i = 0; i < p->nslots; i++)
        n += p->slot[i].state != PW_FREE;
    pthread_mutex_unlock(&p->mu);
    return n;
}
