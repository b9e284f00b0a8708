/* guard_lease.c - with the vault on, let the kernel pass rereads of files
 * the guard has seen, and bring it back before the first write-open.
 *
 * Why: fanotify cannot tell a read-open from a write-open before it asks,
 * and with the vault every write-open needs a pre-image first, so every
 * open of a protected file was a permission round trip. A read lease on the
 * fd the vault already holds (lease.h) splits the two in the kernel.
 *
 * Data enters from guard_vault.c (gl_place: a read-open by an actor that
 * gets pre-images, of an existing file whose fd is held), from the event
 * loop (gl_drain: lease-break notices from the signalfd), from ev_write
 * (gl_claim: the first write event names the writer) and from the places
 * that let go of held fds or inode entries (gl_unlease, gl_release_all at
 * the alarm, gl_evict). It leaves as ignore marks placed and removed on
 * inodes, leases released, and pre-images in the vault:
 *   place   lease the held fd, then ignore FAN_OPEN_PERM on the inode
 *   break   a write-open or truncate waits in the kernel: save the file as
 *           it is (nothing was written yet) under a placeholder key, remove
 *           the ignore mark (later opens are gated again), release the lease
 *   let go  any other end of a lease: remove the ignore mark, then ask the
 *           kernel whether a write-open got past the mark and waits on the
 *           lease or is on its way to it (its notice may sit unread in the
 *           signalfd, and is never served once the lease is gone): if so,
 *           save as at a break; then release the lease
 *   claim   the first FAN_MODIFY / FAN_CLOSE_WRITE of that inode names the
 *           writer: the save moves to its actor's undo log, or is dropped
 *           when the writer is one that gets no pre-images (a save whose
 *           inode entry was evicted first waits by inode, ORPHANS_MAX)
 * So no write reaches a file under a lease of the guard's before its
 * pre-image is kept, whichever way the lease ends but one: a break the
 * event thread cannot serve is released by the watchdog (watchdog.c)
 * without a pre-image, as it allows late permission events (the kernel's
 * own limit being fs.lease-break-time).
 * The write gate of guard_events.c (design note 6) in lease terms: the
 * writer is not known at a break, so after one break the next break of
 * another file is deferred until the first file's first write has been
 * judged (gl_claim) or GATE_HOLD_US, whoever opens it. Eight threads
 * opening eight leased files at once are judged on the first.
 * Never while the alarm is raised (every open is gated then, and raising it
 * releases every lease). No lease without the vault: --no-vault has its own
 * peace-time ignore marks (guard_events.c, design note 5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/log.h"
#include "guard/guard_int.h"
#include "guard/lease.h"

#define BREAKS_MAX 256
#define GATE_WINDOW_US 200000u /* as guard_events.c */
#define GATE_HOLD_US 100000u

static void degrade(struct guard *g, const char *dir, const char *why)
{
    size_t l = strlen(g->fan.degraded);
    snprintf(g->fan.degraded + l, sizeof g->fan.degraded - l,
             "%sno file leases for %s (%s): every open there is a permission round trip",
             l ? "; " : "", dir, why);
}

void gl_open(struct guard *g)
{
    g->lease_sigfd = -1;
    struct gvault *gv = g->gv;
    if (!gv)
        return;
    bool any = false;
    for (size_t i = 0; i < gv->n; i++) {
        struct gvault_fs *f = &gv->fs[i];
        char why[256] = "";
        if (!g->o->leases)
            continue; /* not asked for (the default): every open is gated, nothing degraded */
        if (f->ok && lease_probe(f->v.dir_fd, why, sizeof why) == 0)
            f->lease = any = true;
        if (f->ok && !f->lease) {
            log_warn("no file leases on the filesystem of %s (%s): every open of a protected "
                     "file there costs a round trip to the guard", f->v.dir, why);
            degrade(g, f->v.dir, why);
        }
    }
    if (!any)
        return;
    sigset_t set;
    sigemptyset(&set);
    lease_sigset(&set);
    g->lease_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (g->lease_sigfd < 0) {
        log_warn("no signalfd for lease breaks (%s): leases off", strerror(errno));
        for (size_t i = 0; i < gv->n; i++)
            gv->fs[i].lease = false;
    }
}

void gl_close(struct guard *g)
{
    if (g->lease_sigfd >= 0)
        close(g->lease_sigfd);
    g->lease_sigfd = -1;
}

static bool lease_fs(struct guard *g, dev_t dev)
{
    struct gvault_fs *f = gv_fs_of(g, dev);
    return f && f->lease && g->lease_sigfd >= 0;
}

void gl_place(struct guard *g, struct inode_ent *ie, int event_fd)
{
    if (ie->leased || !ie->hold || ie->lease_op || g->now < g->alarm_until_us ||
        !lease_fs(g, ie->dev))
        return;
    int fd = ie->hold - 1;
    if (lease_place(fd) < 0)
        return; /* someone has it open for writing: opens stay gated */
    /* lease first, then the mark: no moment with a mark and no lease */
    if (fan_ignore(&g->fan, event_fd, FAN_OPEN_PERM) < 0) {
        lease_release(fd);
        return;
    }
    ie->leased = true;
    g->st.leases++;
}

void gl_release_all(struct guard *g)
{
    gl_review(g, true); /* deferred breaks get their pre-images first */
    struct gvault *gv = g->gv;
    for (size_t i = 0; gv && i < gv->hold_max; i++) {
        struct hold_ref *h = &gv->holds[i];
        if (h->ie && h->ie->leased && h->ie->dev == h->dev && h->ie->ino == h->ino)
            gl_unlease(g, h->ie);
    }
}

static struct inode_ent *leased_by_fd(struct guard *g, int fd)
{
    struct gvault *gv = g->gv;
    for (size_t i = 0; gv && i < gv->hold_max; i++) {
        struct hold_ref *h = &gv->holds[i];
        if (h->ie && h->ie->leased && h->ie->hold == fd + 1 && h->ie->dev == h->dev &&
            h->ie->ino == h->ino)
            return h->ie;
    }
    return NULL;
}

static bool on_progress(void *ctx)
{
    struct guard *g = ctx;
    uint64_t t = now_us();
    wd_beat(&g->wd, t);
    return t - g->now <= 2000000u; /* as long as a save at open may take */
}

/* Keeps the file's pre-image while a writer waits on its lease (nothing is
 * written before the lease goes). The writer is not known yet: a
 * placeholder key until gl_claim. */
static void keep(struct guard *g, struct inode_ent *ie, int fd)
{
    g->st.lease_breaks++;
    ie->last_us = g->now; /* its first write comes next: not the entry to evict */
    struct stat st;
    char path[PATH_MAX];
    struct gvault_fs *f = gv_fs_of(g, ie->dev);
    if (f && fstat(fd, &st) == 0 && st.st_nlink > 0 && st.st_size > 0 &&
        fan_fd_path(fd, path, sizeof path) >= 0) {
        char key[VAULT_KEY_MAX];
        snprintf(key, sizeof key, "%s-lease", g->gv->boot);
        g->now = now_us();
        int rc = vault_save(&f->v, key, fd, &st, path, wall_us(), 0, on_progress, g);
        if (rc == VAULT_SAVED) {
            ie->lease_op = vault_last_op(&f->v);
            ie->vault_key = 0;
            ie->vault_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
            ie->vault_size = (uint64_t)st.st_size;
        }
    }
}

/* The mark, then the lease. With check (every let-go but a served break):
 * a write-open that got past the mark before it went waits on the lease or
 * is on its way to it, and its break notice, if any, may never be served
 * (the alarm, an evicted entry, a held fd let go): its pre-image first. */
static void let_go(struct guard *g, struct inode_ent *ie, bool check)
{
    int fd = ie->hold - 1;
    fan_unignore(&g->fan, fd, FAN_OPEN_PERM);
    if (check && lease_state(fd) == LEASE_WRITER)
        keep(g, ie, fd);
    lease_release(fd);
    ie->leased = false;
}

void gl_unlease(struct guard *g, struct inode_ent *ie)
{
    if (ie->leased && ie->hold)
        let_go(g, ie, true);
}

void gl_evict(struct guard *g, struct inode_ent *ie)
{
    gl_unlease(g, ie);
    if (!ie->lease_op)
        return;
    /* its save waits for the first write: under the inode's identity now */
    struct lease_gate *lg = &g->lgate;
    if (lg->norphans == ORPHANS_MAX) { /* the oldest is left to the vault's expiry */
        memmove(lg->orphans, lg->orphans + 1, (ORPHANS_MAX - 1) * sizeof lg->orphans[0]);
        lg->norphans--;
    }
    lg->orphans[lg->norphans++] = (struct lease_orphan){ie->dev, ie->ino, ie->lease_op};
    ie->lease_op = 0;
}

static int64_t take_orphan(struct guard *g, dev_t dev, ino_t ino)
{
    struct lease_gate *lg = &g->lgate;
    for (size_t i = 0; i < lg->norphans; i++) {
        if (lg->orphans[i].dev != dev || lg->orphans[i].ino != ino)
            continue;
        int64_t seq = lg->orphans[i].op;
        lg->norphans--;
        memmove(lg->orphans + i, lg->orphans + i + 1, (lg->norphans - i) * sizeof lg->orphans[0]);
        return seq;
    }
    return 0;
}

/* A write-open (or truncate) of the leased file waits in the kernel. */
static void on_break(struct guard *g, int fd, bool deferred)
{
    struct inode_ent *ie = leased_by_fd(g, fd);
    if (!ie) { /* not ours any more (already released): make sure */
        fan_unignore(&g->fan, fd, FAN_OPEN_PERM);
        lease_release(fd);
        return;
    }
    struct lease_gate *lg = &g->lgate;
    bool same = lg->dev == ie->dev && lg->ino == ie->ino;
    if (!deferred && lg->until_us > g->now && !same && lg->n < HELD_MAX) {
        lg->deferred[lg->n++] = (struct lease_wait){fd, g->now + GATE_HOLD_US};
        g->st.held++;
        return;
    }
    lg->dev = ie->dev;
    lg->ino = ie->ino;
    lg->until_us = g->now + GATE_WINDOW_US;
    keep(g, ie, fd); /* the mark still on: a second writer waits on the breaking lease */
    let_go(g, ie, false);
}

void gl_drain(struct guard *g)
{
    if (g->lease_sigfd < 0)
        return;
    int fds[BREAKS_MAX];
    bool overflow;
    size_t n;
    while ((n = lease_read_breaks(g->lease_sigfd, fds, BREAKS_MAX, &overflow)) > 0 || overflow) {
        g->now = now_us();
        for (size_t i = 0; i < n; i++)
            on_break(g, fds[i], false);
        if (overflow) { /* notices were lost: ask every lease */
            struct gvault *gv = g->gv;
            for (size_t i = 0; gv && i < gv->hold_max; i++) {
                struct hold_ref *h = &gv->holds[i];
                if (h->ie && h->ie->leased && h->ie->dev == h->dev && h->ie->ino == h->ino &&
                    lease_state(h->ie->hold - 1) == LEASE_WRITER)
                    on_break(g, h->ie->hold - 1, false);
            }
        }
        if (n < BREAKS_MAX && !overflow)
            break;
    }
}

void gl_claim(struct guard *g, struct inode_ent *ie, struct actor *a, bool wants_preimages)
{
    if (g->lgate.dev == ie->dev && g->lgate.ino == ie->ino)
        g->lgate.until_us = 0; /* its first write is being judged: the gate opens */
    int64_t seq = ie->lease_op ? ie->lease_op : take_orphan(g, ie->dev, ie->ino);
    if (!seq)
        return;
    ie->lease_op = 0;
    struct gvault_fs *f = gv_fs_of(g, ie->dev);
    if (!f)
        return;
    if (a && wants_preimages && gv_ensure_actor(g, f, a) && vault_assign(&f->v, seq, a->vkey) == 0) {
        ie->vault_key = hash_str(a->vkey);
        a->preimages++;
        return;
    }
    vault_drop(&f->v, seq);
}

void gl_review(struct guard *g, bool all)
{
    struct lease_gate *lg = &g->lgate;
    for (size_t i = 0; i < lg->n;) {
        if (!all && lg->until_us > g->now && g->now < lg->deferred[i].deadline_us) {
            i++;
            continue;
        }
        int fd = lg->deferred[i].fd;
        lg->deferred[i] = lg->deferred[--lg->n];
        on_break(g, fd, true); /* it becomes the unjudged write */
    }
}
