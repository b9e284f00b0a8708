/* guard_vault.c - the guard's side of the pre-image vault (src/vault).
 *
 * Events enter from guard_events.c; undo-log entries leave into the vault
 * of the event's filesystem:
 *   an open for writing of an existing file   SAVE (whole copy, while the
 *                                             opener waits in FAN_OPEN_PERM)
 *   an open for writing of a file born now    CREATE
 *   a delete or a rename over a file          SAVE from a held fd (below)
 *   a rename                                  RENAME
 *   a condemnation                            the alert and its incident
 * Only actors that are neither untouchable nor allow-listed are recorded;
 * the guard's own I/O, root's `mamori restore` and root's runs of a
 * vault.trusted_exe binary verified against dpkg's record never are.
 * Creates and renames are committed at most every FLUSH_EVERY_US; a save
 * is committed before the opener goes on.
 *
 * Held fds. fanotify has no permission event before unlink or rename, so a
 * file deleted by an encryptor that first read it (copy-then-delete) is kept
 * alive another way: the fd the kernel passed with the open event is kept
 * (dup), up to hold_max of them (HOLD_MAX, fewer when the open file limit
 * is low), oldest closed first. When the name is
 * deleted or replaced, the inode is still readable through that fd and is
 * copied into the vault. The copy happens after the deletion, so a pre-image
 * taken this way is lost if the agent dies in the few milliseconds between.
 *
 * The vault directory itself is kept out of the guard's sight by an ignore
 * mark (FAN_MARK_IGNORE with FAN_EVENT_ON_CHILD, Linux 6.0): without it the
 * event thread would wait on its own permission events. No such mark, no
 * vault on that filesystem (said in the ready line's "degraded"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/pkgverify.h"
#include "guard/guard_int.h"

#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400
#endif

#define EXPIRE_EVERY_US 1000000u /* expiry pass every second, bounded work */
#define EXPIRE_BATCH 512u
#define BORN_NOW_NS 2000000000LL  /* an empty file born this recently was just created */
#define FULL_LOG_EVERY_US 60000000u
#define SAVE_BUDGET_US 2000000u   /* one save may hold the queue this long */
#define FLUSH_EVERY_US 100000u    /* creates and renames are committed within 100 ms */
#define HOLD_FD_RESERVE (WD_MAX + HELD_MAX + 256) /* fds kept free for everything else */
#define CHECKPOINT_EVERY_MS 2000u
#define PENDING_US 1000000u        /* a deletion waits this long for evidence */
#define REVIEW_EVERY_US 10000u     /* waiting deletions are looked at every 10 ms */

static void review_pending(struct guard *g, bool all);

struct gvault_fs *gv_fs_of(struct guard *g, dev_t dev)
{
    struct gvault *gv = g->gv;
    for (size_t i = 0; gv && i < gv->n; i++)
        if (gv->fs[i].ok && gv->fs[i].dev == dev)
            return &gv->fs[i];
    return NULL;
}

/* At start, before any mark (reading the binaries and dpkg's records later
 * could wait on our own permission events when / is watched). */
static void verify_trusted(struct guard *g)
{
    struct gvault *gv = g->gv;
    for (size_t i = 0; i < g->o->nvault_trusted && i < GUARD_ALLOW_MAX; i++) {
        struct trust_ent *t = &gv->trust[i];
        struct stat st;
        snprintf(t->exe, sizeof t->exe, "%s", g->o->vault_trusted[i]);
        if (stat(t->exe, &st) < 0)
            continue;
        t->ino = st.st_ino;
        t->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        t->ok = pkg_verify(t->exe, PKG_INFO_DIR);
        if (!t->ok)
            log_warn("%s is in vault.trusted_exe but is not the binary its package installed: "
                     "its writes get pre-images", t->exe);
    }
}

int gv_open(struct guard *g)
{
    if (!g->o->vault || !g->fan.perm) /* pre-images are kept while the writer waits */
        return 0;
    struct gvault *gv = calloc(1, sizeof *gv);
    if (!gv)
        return MAMORI_ENOMEM;
    g->gv = gv;
    proc_boot_hex(gv->boot, sizeof gv->boot - 1);
    verify_trusted(g);
    /* held fds: as many as the open file limit allows beside the rest */
    struct rlimit rl;
    gv->hold_max = HOLD_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        uint64_t room = rl.rlim_cur > HOLD_FD_RESERVE ? rl.rlim_cur - HOLD_FD_RESERVE : 0;
        if (room < gv->hold_max)
            gv->hold_max = (size_t)room;
        if (gv->hold_max < HOLD_MAX)
            log_warn("open file limit %llu: at most %zu deleted files can be kept for the vault",
                     (unsigned long long)rl.rlim_cur, gv->hold_max);
    }
    for (size_t i = 0; i < g->o->nprotect && gv->n < FAN_FS_MAX; i++) {
        char dir[PATH_MAX], err[PATH_MAX + 256];
        if (vault_dir_for(g->o->protect[i], dir, sizeof dir) < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < gv->n; j++)
            dup |= !strcmp(gv->fs[j].v.dir, dir);
        if (dup)
            continue;
        struct statvfs sv;
        struct gvault_fs *f = &gv->fs[gv->n];
        if (statvfs(g->o->protect[i], &sv) < 0)
            continue;
        struct vault_limits lim = {
            .cap_bytes = (uint64_t)sv.f_blocks * sv.f_frsize / 100u * g->o->vault_cap_percent,
            .file_max = g->o->vault_file_max,
            .keep_us = g->o->vault_keep_us,
        };
        if (vault_open(&f->v, dir, &lim, true, err, sizeof err) < 0) {
            log_error("no pre-images on the filesystem of %s: %s", g->o->protect[i], err);
            size_t l = strlen(g->fan.degraded);
            snprintf(g->fan.degraded + l, sizeof g->fan.degraded - l, "%sno vault for %s: %s",
                     l ? "; " : "", g->o->protect[i], err);
            continue;
        }
        f->dev = f->v.dev;
        f->ok = true;
        gv->n++;
        log_info("vault %s: cap %llu MiB, %llu MiB in use, pre-images by %s", dir,
                 (unsigned long long)(lim.cap_bytes >> 20),
                 (unsigned long long)(f->v.used_bytes >> 20),
                 f->v.reflink ? "reflink" : "copy");
        if (!f->v.reflink) {
            /* said in the ready line: what this filesystem cannot do */
            size_t l = strlen(g->fan.degraded);
            snprintf(g->fan.degraded + l, sizeof g->fan.degraded - l,
                     "%sno reflinks on %s: files over %llu MiB get no pre-image",
                     l ? "; " : "", g->o->protect[i],
                     (unsigned long long)(g->o->vault_file_max >> 20));
        }
    }
    return 0;
}

/* Keeps the vault directories out of sight; again after every flush of the
 * ignore marks (raise_alarm). */
void gv_mark(struct guard *g)
{
    struct gvault *gv = g->gv;
    for (size_t i = 0; gv && i < gv->n; i++) {
        struct gvault_fs *f = &gv->fs[i];
        if (!f->ok)
            continue;
        unsigned flags = FAN_MARK_ADD | FAN_MARK_IGNORE | FAN_MARK_IGNORED_SURV_MODIFY;
        uint64_t content = FAN_OPEN_PERM | FAN_MODIFY | FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD |
                           FAN_ONDIR;
        if (fanotify_mark(g->fan.content_fd, flags, content, AT_FDCWD, f->v.dir) < 0 ||
            (g->fan.name_fd >= 0 &&
             fanotify_mark(g->fan.name_fd, flags, FAN_DELETE | FAN_RENAME | FAN_ONDIR, AT_FDCWD,
                           f->v.dir) < 0)) {
            log_error("vault %s: cannot hide it from the guard (%s): no pre-images on this "
                      "filesystem (needs Linux 6.0)", f->v.dir, strerror(errno));
            snprintf(g->fan.degraded + strlen(g->fan.degraded),
                     sizeof g->fan.degraded - strlen(g->fan.degraded), "%sno vault on %s",
                     g->fan.degraded[0] ? "; " : "", f->v.dir);
            f->ok = false;
        }
    }
}

/* The checkpoint thread: every CHECKPOINT_EVERY_MS, each vault's log goes
 * into its database, with the fsyncs that takes, away from the event
 * thread. It touches only the vault directories (ignored by the marks). */
static void *checkpointer(void *arg)
{
    struct gvault *gv = arg;
    for (;;) {
        for (unsigned slept = 0; slept < CHECKPOINT_EVERY_MS; slept += 100) {
            if (atomic_load(&gv->ckpt_stop))
                return NULL;
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
        for (size_t i = 0; i < gv->n; i++)
            vault_checkpoint(gv->ckpt_dir[i]);
    }
}

void gv_start(struct guard *g)
{
    struct gvault *gv = g->gv;
    if (!gv)
        return;
    for (size_t i = 0; i < gv->n; i++)
        snprintf(gv->ckpt_dir[i], sizeof gv->ckpt_dir[i], "%s", gv->fs[i].v.dir);
    gv->ckpt_running = pthread_create(&gv->ckpt, NULL, checkpointer, gv) == 0;
    if (!gv->ckpt_running)
        log_warn("no vault checkpoint thread: the index log grows until the guard stops");
}

void gv_close(struct guard *g)
{
    struct gvault *gv = g->gv;
    if (!gv)
        return;
    if (gv->ckpt_running) {
        atomic_store(&gv->ckpt_stop, true);
        pthread_join(gv->ckpt, NULL);
        gv->ckpt_running = false;
    }
    review_pending(g, true);
    for (size_t i = 0; i < INODE_MAX; i++) {
        struct inode_ent *e = &g->t->itab[i];
        if (e->hold) {
            gl_unlease(g, e);
            close(e->hold - 1);
            e->hold = 0;
        }
    }
    for (size_t i = 0; i < gv->n; i++) {
        if (!gv->fs[i].v.db)
            continue;
        vault_close(&gv->fs[i].v); /* commits what is pending */
        vault_checkpoint(gv->fs[i].v.dir);
    }
    free(gv);
    g->gv = NULL;
}

void gv_stats(const struct guard *g, struct vault_stats *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; g->gv && i < g->gv->n; i++) {
        const struct vault_stats *s = &g->gv->fs[i].v.st;
        out->saved += s->saved;
        out->created += s->created;
        out->renamed += s->renamed;
        out->saved_bytes += s->saved_bytes;
        out->cloned += s->cloned;
        out->full += s->full;
        out->too_big += s->too_big;
        out->errors += s->errors;
        out->evicted += s->evicted;
        out->expired += s->expired;
    }
}

void gv_actor_key(struct guard *g, struct actor *a, const struct proc_info *root)
{
    /* one definition of the key (guard/proc.h); without a vault the boot
     * id is read here, once per actor */
    proc_actor_key(g->gv ? g->gv->boot : NULL, root->pid, root->start_time, a->vkey,
                   sizeof a->vkey);
}

/* The actor's row, once per vault. */
bool gv_ensure_actor(struct guard *g, struct gvault_fs *f, struct actor *a)
{
    unsigned bit = 1u << (unsigned)(f - g->gv->fs);
    if (a->vault_seen & bit)
        return true;
    if (vault_actor(&f->v, a->vkey, a->exe, a->cmdline, a->uid, wall_us()) < 0)
        return false;
    a->vault_seen |= bit;
    return true;
}

struct progress {
    struct guard *g;
    int fd;
    uint64_t start_us;
};

/* A copy holds up the whole queue of the filesystem: it gets SAVE_BUDGET_US,
 * then it is abandoned (counted as vault_slow) and the opener goes on. */
static bool on_progress(void *ctx)
{
    struct progress *p = ctx;
    uint64_t t = now_us();
    if (t - p->start_us > SAVE_BUDGET_US)
        return false;
    wd_beat(&p->g->wd, t);
    if (p->fd >= 0)
        wd_extend(&p->g->wd, p->fd, t);
    return true;
}

static void saved(struct guard *g, struct gvault_fs *f, struct actor *a, int rc, const char *path)
{
    if (rc == VAULT_SAVED) {
        a->preimages++;
        return;
    }
    if (g->now - g->gv->last_full_log_us < FULL_LOG_EVERY_US)
        return;
    g->gv->last_full_log_us = g->now;
    if (rc == VAULT_FULL)
        log_warn("vault %s is full (cap %llu MiB): %s has no pre-image", f->v.dir,
                 (unsigned long long)(f->v.lim.cap_bytes >> 20), path);
    else if (rc == VAULT_TOO_BIG)
        log_warn("%s is larger than vault.file_max_mib: no pre-image", path);
    else if (rc == VAULT_TOO_SLOW)
        log_warn("%s: copying it took longer than %u ms: no pre-image", path,
                 SAVE_BUDGET_US / 1000u);
}

static void hold(struct guard *g, struct inode_ent *ie, int fd)
{
    struct gvault *gv = g->gv;
    if (ie->hold || gv->hold_max == 0)
        return;
    struct hold_ref *slot = &gv->holds[gv->hold_next];
    if (slot->ie && slot->ie->hold && slot->ie->dev == slot->dev && slot->ie->ino == slot->ino &&
        (!slot->btime_ns || slot->ie->btime_ns == slot->btime_ns)) {
        gl_unlease(g, slot->ie);
        close(slot->ie->hold - 1);
        slot->ie->hold = 0;
    }
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d < 0)
        return;
    ie->hold = d + 1;
    *slot = (struct hold_ref){.ie = ie, .dev = ie->dev, .ino = ie->ino, .btime_ns = ie->btime_ns};
    gv->hold_next = (gv->hold_next + 1) % gv->hold_max;
}

/* An empty file born just now was created by this open (O_CREAT makes the
 * file before the permission check): a CREATE, so restore removes it.
 * btime_ns from fan_fstat; without a birth time the change time stands in. */
static bool note_if_new(struct gvault_fs *f, struct actor *a, const struct stat *st,
                        int64_t btime_ns, const char *path)
{
    if (st->st_size != 0)
        return false;
    int64_t born =
        btime_ns ? btime_ns : (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    if ((int64_t)(wall_us() * 1000) - born >= BORN_NOW_NS)
        return false;
    vault_note_create(&f->v, a->vkey, path, st, wall_us());
    return true;
}

void gv_denied(struct guard *g, struct actor *a, int fd, const char *path)
{
    struct stat st;
    int64_t btime;
    struct gvault_fs *f;
    if (fan_fstat(fd, &st, &btime) == 0 && S_ISREG(st.st_mode) && (f = gv_fs_of(g, st.st_dev)) &&
        gv_ensure_actor(g, f, a))
        note_if_new(f, a, &st, btime, path);
}

void gv_open_file(struct guard *g, struct actor *a, int fd, const struct stat *st, const char *path,
                  struct inode_ent *ie, int wmode)
{
    struct gvault_fs *f = gv_fs_of(g, st->st_dev);
    if (!f || !gv_ensure_actor(g, f, a))
        return;
    if (st->st_size > 0) {
        hold(g, ie, fd);
        ie->reader_ref = actor_ref(g->t, a);
        ie->reader_key = hash_str(a->vkey);
    }
    /* Reads need nothing. Appends do: O_APPEND can be cleared with
     * fcntl(F_SETFL) and the file overwritten (unknown counts as write). */
    if (wmode == PROC_OPEN_READ) {
        gl_place(g, ie, fd); /* rereads pass in the kernel until a write-open */
        return;
    }
    int64_t mt = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    uint64_t kh = hash_str(a->vkey);
    if (ie->vault_key == kh && ie->vault_mtime_ns == mt && ie->vault_size == (uint64_t)st->st_size)
        return; /* this actor's copy of this very content is in the vault */
    if (note_if_new(f, a, st, ie->btime_ns, path)) {
        ie->vault_key = kh;
        ie->vault_mtime_ns = mt;
        ie->vault_size = 0;
        return;
    }
    struct progress p = {.g = g, .fd = fd, .start_us = now_us()};
    bool late = !wd_is_pending(&g->wd, fd);
    int rc = vault_save(&f->v, a->vkey, fd, st, path, wall_us(), late ? VAULT_SAVE_LATE : 0,
                        on_progress, &p);
    if (rc == VAULT_SAVED) {
        if (!late && !wd_is_pending(&g->wd, fd))
            vault_mark_late(&f->v); /* the watchdog let the opener go during the copy */
        ie->vault_key = kh;
        ie->vault_mtime_ns = mt;
        ie->vault_size = (uint64_t)st->st_size;
    }
    saved(g, f, a, rc, path);
}

/* A name that pointed to a file we hold is gone (deleted, or replaced by a
 * rename): if the inode is now unlinked, save it from the held fd. */
/* Has this actor shown what an encryptor does: new random-looking files,
 * damage, a verdict? (A rename alone is not enough: `sed -i` renames its
 * temporary file over the original.) */
static bool makes_cipher(const struct actor *a)
{
    return a && (a->condemned || a->nnewrand > 0 || a->damaged > 0);
}

/* The actor that last read a file, if it is still known. */
static struct actor *reader_of(struct guard *g, const struct inode_ent *ie)
{
    struct actor *r = ie->reader_ref ? actor_get(g->t, ie->reader_ref) : NULL;
    return r && hash_str(r->vkey) == ie->reader_key ? r : NULL;
}

static void save_fd(struct guard *g, struct gvault_fs *f, struct actor *a, int fd,
                    const struct stat *st, const char *path)
{
    struct progress p = {.g = g, .fd = -1, .start_us = now_us()};
    int rc = vault_save(&f->v, a->vkey, fd, st, path, wall_us(), VAULT_SAVE_DEFER, on_progress, &p);
    saved(g, f, a, rc, path);
}

/* A name that pointed to a file we hold is gone (deleted, or replaced by a
 * rename), and the inode is unlinked. If the deleter, or the program that
 * read the file, has produced ciphertext, the file is saved now. If not
 * (`rm -rf` of a copied tree, `sed -i`), the decision waits up to
 * PENDING_US for such evidence (the queues of names and contents are read
 * apart, so the judgement of an encrypted copy may come just after the
 * deletion); then the held fd is let go. A full waiting list saves at once. */
static void save_unlinked(struct guard *g, struct gvault_fs *f, struct actor *a, const char *path)
{
    struct gvault *gv = g->gv;
    struct inode_ent *ie = itab_by_path(g->t, hash_str(path));
    struct stat st;
    if (!ie || !ie->hold || fstat(ie->hold - 1, &st) < 0 || st.st_nlink > 0)
        return;
    int fd = ie->hold - 1;
    gl_unlease(g, ie);
    ie->hold = 0;
    if (ie->vault_key == hash_str(a->vkey) && ie->vault_size == (uint64_t)st.st_size &&
        ie->vault_mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec) {
        close(fd); /* saved at this actor's open for writing; only the name changed */
        return;
    }
    struct actor *reader = reader_of(g, ie);
    char *copy = NULL;
    if (makes_cipher(a) || makes_cipher(reader) || gv->npending == PENDING_MAX ||
        !(copy = strdup(path))) {
        save_fd(g, f, a, fd, &st, path);
        close(fd);
        return;
    }
    struct pending *p = &gv->pending[gv->npending++];
    *p = (struct pending){.fd = fd, .fs = f, .actor = actor_ref(g->t, a),
                          .reader = ie->reader_ref, .reader_key = ie->reader_key,
                          .since_us = g->now, .path = copy};
    snprintf(p->key, sizeof p->key, "%s", a->vkey);
}

/* Decides the waiting deletions: save those whose deleter or reader has
 * since produced ciphertext; let go of those older than PENDING_US (all
 * of them when the guard stops). */
static void review_pending(struct guard *g, bool all)
{
    struct gvault *gv = g->gv;
    for (size_t i = 0; i < gv->npending;) {
        struct pending *p = &gv->pending[i];
        struct actor *a = actor_get(g->t, p->actor);
        if (a && strcmp(a->vkey, p->key))
            a = NULL;
        struct actor *r = p->reader ? actor_get(g->t, p->reader) : NULL;
        if (r && hash_str(r->vkey) != p->reader_key)
            r = NULL;
        bool save = makes_cipher(a) || makes_cipher(r);
        if (!save && !all && g->now - p->since_us < PENDING_US) {
            i++;
            continue;
        }
        struct stat st;
        if (save && a && fstat(p->fd, &st) == 0)
            save_fd(g, p->fs, a, p->fd, &st, p->path);
        close(p->fd);
        free(p->path);
        gv->pending[i] = gv->pending[--gv->npending];
    }
}

static struct gvault_fs *vault_of_path(struct guard *g, const char *path)
{
    /* name events carry paths: the filesystem is the one of the nearest
     * existing parent (the entry itself may be gone) */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    struct stat st;
    for (char *s; (s = strrchr(dir, '/'));) {
        if (s == dir)
            s[1] = '\0';
        else
            *s = '\0';
        if (stat(dir, &st) == 0)
            return gv_fs_of(g, st.st_dev);
        if (s == dir)
            break;
    }
    return NULL;
}

void gv_release(struct guard *g, const char *path)
{
    struct inode_ent *ie = g->gv ? itab_by_path(g->t, hash_str(path)) : NULL;
    struct stat st;
    if (ie && ie->hold && fstat(ie->hold - 1, &st) == 0 && st.st_nlink == 0) {
        gl_unlease(g, ie);
        close(ie->hold - 1); /* deleted by someone we keep no pre-images for */
        ie->hold = 0;
    }
}

void gv_delete(struct guard *g, struct actor *a, const char *path)
{
    struct gvault_fs *f = vault_of_path(g, path);
    if (f && gv_ensure_actor(g, f, a))
        save_unlinked(g, f, a, path);
}

void gv_rename(struct guard *g, struct actor *a, const char *from, const char *to)
{
    struct gvault_fs *f = vault_of_path(g, to);
    if (!f || !gv_ensure_actor(g, f, a))
        return;
    save_unlinked(g, f, a, to); /* a file replaced by the rename */
    struct stat st;
    vault_note_rename(&f->v, a->vkey, from, to, lstat(to, &st) == 0 ? &st : NULL, wall_us());
    /* the inode keeps its fingerprint and held fd under its new name */
    struct inode_ent *ie = itab_by_path(g->t, hash_str(from));
    if (ie)
        itab_set_path(g->t, ie, to);
}

void gv_alert(struct guard *g, struct actor *a)
{
    struct gvault *gv = g->gv;
    for (size_t i = 0; gv && i < gv->n; i++)
        if (gv->fs[i].ok && gv_ensure_actor(g, &gv->fs[i], a))
            vault_alert(&gv->fs[i].v, a->alert_id, a->incident, a->vkey, a->decision_us,
                        a->freeze_us);
}

void gv_flush(struct guard *g, bool now)
{
    struct gvault *gv = g->gv;
    if (!gv || (!now && g->now - gv->last_flush_us < FLUSH_EVERY_US))
        return;
    gv->last_flush_us = g->now;
    for (size_t i = 0; i < gv->n; i++)
        if (gv->fs[i].ok)
            vault_flush(&gv->fs[i].v);
}

void gv_tick(struct guard *g)
{
    struct gvault *gv = g->gv;
    /* every REVIEW_EVERY_US, not every loop turn: thousands may wait (rm -rf
     * of a copied tree) and the held fds keep their files meanwhile */
    if (gv && gv->npending && g->now - gv->last_review_us >= REVIEW_EVERY_US) {
        gv->last_review_us = g->now;
        review_pending(g, false);
    }
    if (!gv || g->now - gv->last_expire_us < EXPIRE_EVERY_US)
        return;
    gv->last_expire_us = g->now;
    for (size_t i = 0; i < gv->n; i++)
        if (gv->fs[i].ok)
            vault_expire(&gv->fs[i].v, wall_us(), EXPIRE_BATCH);
}

bool gv_trusted(struct guard *g, const struct proc_info *pi)
{
    struct gvault *gv = g->gv;
    if (!gv || !pi->exe[0] || pi->uid != 0 || pi->euid != 0)
        return false; /* only root's runs of the packaged binary */
    for (size_t i = 0; i < g->o->nvault_trusted && i < GUARD_ALLOW_MAX; i++) {
        const struct trust_ent *t = &gv->trust[i];
        if (!t->ok || strcmp(t->exe, pi->exe))
            continue;
        /* the very binary verified at start (stat opens nothing) */
        struct stat st;
        return stat(pi->exe, &st) == 0 && st.st_ino == t->ino &&
               (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == t->mtime_ns;
    }
    return false;
}

bool gv_is_restore(const struct guard *g, const struct proc_info *pi)
{
    /* `mamori restore` writes files back: it is not an attacker */
    const char *arg1 = strchr(pi->cmdline, ' ');
    /* root only: anyone may run the binary with LD_PRELOAD */
    return g->gv && pi->uid == 0 && pi->euid == 0 && pi->exe[0] &&
           !strcmp(pi->exe, g->self.exe) && arg1 &&
           !strncmp(arg1 + 1, "restore", 7) && (arg1[8] == ' ' || arg1[8] == '\0');
}
