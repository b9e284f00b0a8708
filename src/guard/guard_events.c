/* guard_events.c - what each fanotify event means to the guard.
 *
 * Events enter from the event loop in guard.c, already read and, for
 * permission events, registered with the watchdog:
 *   ev_open_perm  a process is about to open a file: learn the process,
 *                 deny it if its actor is condemned, fingerprint the file's
 *                 content as it is *before* anything is written to it.
 *   ev_write      a file was modified or closed after writing: judge the new
 *                 content against the fingerprint (score.c) and add evidence.
 *   ev_name       create / delete / rename: copy-then-delete, extension
 *                 renames, decoys.
 * Evidence accumulates per actor; at the threshold the actor is condemned:
 * respond.c stops it and alert.c writes the alert. Lineage rules then extend
 * the verdict to a loop that keeps starting encryptors (see condemn()).
 *
 * Design notes (invariants):
 *  1. The fingerprint of a file is taken while the opener waits in
 *     FAN_OPEN_PERM, so it always shows the content before that opener
 *     wrote. O_TRUNC happens after the permission check.
 *  2. A file being written (MODIFY seen, CLOSE_WRITE not yet) keeps its old
 *     fingerprint; after the close the fingerprint becomes the new content.
 *  3. Nothing here opens a path on a protected filesystem: content is read
 *     through the event's fd (no events) and directories through O_PATH.
 *  4. Untouchable and allow-listed processes produce no evidence.
 *  5. Peace and alarm. In peace, a file whose fingerprint the guard holds
 *     gets an inode ignore mark for FAN_OPEN_PERM: reopening it costs no
 *     round trip, and the fingerprint stays current because every close
 *     after a write is judged (an allow-listed writer clears the mark). The
 *     first condemnation raises the alarm for ALARM_US: all ignore marks
 *     are flushed and none are added, so every open by anyone is gated
 *     again (the lineage rule stops a repeated encryptor before it writes).
 *  6. The write gate. An actor may have one existing file open for writing
 *     that has not been judged yet (no write seen, at most GATE_WINDOW_US).
 *     Its next open *for writing* (read from /proc/PID/task/TID/syscall
 *     while it waits) of another existing, non-empty file is held until the
 *     first file's first write has been judged, or GATE_HOLD_US. Eight
 *     threads that open eight files at once are thus judged on the first
 *     file before the other seven are touched; readers are never held, and
 *     new files (where nothing can be destroyed) never are. */
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "guard/guard_int.h"
#include "guard/score.h"

#define PEEK_INTERVAL_US 5000u   /* at most one mid-write look per file per 5 ms */
#define PEEK_BYTES (16u * 1024)     /* head read while an existing file is written */
#define NEW_FILE_BYTES (4u * 1024)  /* head read of a new file at close */
#define PROC_REVALIDATE_US 1000000u
#define LINEAGE_DEPTH 16
#define NOTE_MIN 64u
#define NOTE_MAX (64u * 1024)
#define NOTE_DIRS_DECISIVE 3u
#define ALARM_US (600u * 1000000u) /* ten minutes of full gating after an alert */
#define GATE_WINDOW_US 200000u     /* a write-open is "unjudged" for at most 200 ms */
#define GATE_HOLD_US 100000u       /* a held open waits at most 100 ms (a cold first read) */

static void condemn(struct guard *g, struct actor *a);

bool guard_path_protected(const struct guard *g, const char *path)
{
    for (size_t i = 0; i < g->o->nprotect; i++) {
        const char *p = g->o->protect[i];
        size_t l = strlen(p);
        while (l > 1 && p[l - 1] == '/')
            l--;
        if (!strncmp(path, p, l) && (path[l] == '/' || path[l] == '\0' || l == 1))
            return true;
    }
    return false;
}

static bool exe_allowed(const struct guard *g, const char *exe)
{
    for (size_t i = 0; i < g->o->nallow; i++)
        if (!strcmp(g->o->allow_exe[i], exe))
            return true;
    return false;
}

/* The process table entry for pid, read from /proc when unknown or stale. */
static struct gproc *learn(struct guard *g, pid_t pid)
{
    struct gproc *gp = ptab_find(g->t, pid);
    if (gp && g->now - gp->last_us < PROC_REVALIDATE_US && !proc_exe_changed(&gp->info)) {
        gp->last_us = g->now;
        return gp;
    }
    struct proc_info pi;
    if (proc_read(pid, &pi) < 0)
        return gp; /* gone: what we knew is all there is */
    /* Same process: same start time, and the same executable or none
     * readable any more (an exiting process has no exe link). */
    if (gp && gp->info.start_time == pi.start_time &&
        (!strcmp(gp->info.exe, pi.exe) || pi.exe[0] == '\0')) {
        gp->last_us = g->now;
        return gp;
    }
    /* A new process, a reused pid, or an exec: after exec the process is
     * another program and is judged afresh (a shell's fork that opened a
     * redirect and then became `cat` is not the shell any more). */
    gp = ptab_slot(g->t, pid, g->now);
    memset(gp, 0, sizeof *gp);
    gp->used = true;
    gp->info = pi;
    gp->last_us = g->now;
    gp->exe_hash = hash_str(pi.exe);
    gp->untouchable = proc_is_untouchable(&g->self, &pi);
    gp->trusted = pi.exe[0] && (exe_allowed(g, pi.exe) || gv_is_restore(g, &pi));
    gp->vault_trusted = gv_trusted(g, &pi);
    return gp;
}

static bool same_program(const struct gproc *parent, const struct gproc *child)
{
    if (!child->info.exe[0] || parent->exe_hash != child->exe_hash)
        return false;
    /* A shell starting a shell script is not the same program; a subshell
     * (fork without exec) has the very same command line. */
    return !proc_is_interpreter(child->info.exe) ||
           !strcmp(parent->info.cmdline, child->info.cmdline);
}

static void evidence(struct guard *g, struct actor *a, enum indicator ind, const char *path);

static struct actor *actor_for(struct guard *g, struct gproc *gp, int depth)
{
    struct actor *a = actor_get(g->t, gp->actor);
    if (a) {
        a->last_us = g->now;
        return a;
    }
    struct gproc *pp = depth < LINEAGE_DEPTH && gp->info.ppid > 1 ? learn(g, gp->info.ppid) : NULL;
    if (pp && !pp->untouchable && !pp->trusted && same_program(pp, gp)) {
        a = actor_for(g, pp, depth + 1);
        actor_add_member(a, gp->info.pid);
        gp->actor = actor_ref(g->t, a);
        if (a->condemned && g->o->action != GUARD_ALERT)
            respond_pid(g, a, gp->info.pid);
        return a;
    }
    a = actor_new(g->t, gp, g->now);
    gv_actor_key(g, a, &gp->info);
    /* Lineage: the parent already started this program once and it was
     * condemned after doing its damage and exiting (one process per file). */
    if (pp && pp->oneshot_condemned > 0 && pp->oneshot_exe_hash == gp->exe_hash) {
        memcpy(a->incident, pp->oneshot_incident, sizeof a->incident);
        evidence(g, a, IND_LINEAGE, NULL);
    }
    return a;
}

static bool is_damage(enum indicator ind)
{
    return ind != IND_EXTENSION_RENAME && ind != IND_RANSOM_NOTE && ind != IND_LINEAGE &&
           ind != IND_DRIVER;
}

static void evidence(struct guard *g, struct actor *a, enum indicator ind, const char *path)
{
    uint32_t bit = 1u << ind;
    if (path)
        actor_add_file(a, path);
    if (is_damage(ind))
        a->damaged++;
    if (!a->first_write_us && ind != IND_LINEAGE && ind != IND_DRIVER && ind != IND_RANSOM_NOTE)
        a->first_write_us = wall_us();
    if (a->condemned) {
        a->indicators |= bit;
        return;
    }
    /* Renames add up to three times; other indicators count once per file
     * for damage, once per actor otherwise. */
    if (ind == IND_EXTENSION_RENAME) {
        if (a->ext_renames < 3)
            a->score += score_points(ind);
        a->ext_renames++;
    } else if (is_damage(ind) || !(a->indicators & bit)) {
        a->score += score_points(ind);
    }
    a->indicators |= bit;
    log_debug("actor %d (%s): %s, score %d", (int)a->root, a->exe, indicator_name(ind), a->score);
    if (a->score >= g->o->threshold)
        condemn(g, a);
}

static bool proc_gone(pid_t pid)
{
    struct proc_info pi;
    return proc_read_stat(pid, &pi) < 0 || pi.state == 'Z' || pi.state == 'X';
}

/* The parent keeps starting the condemned program: if it is not an
 * innocent (untouchable, allow-listed, or an interactive login shell), it is
 * the driver of the attack and joins the verdict. */
static void consider_driver(struct guard *g, struct actor *a, bool oneshot)
{
    struct gproc *pp = a->parent > 1 ? learn(g, a->parent) : NULL;
    if (!pp || !oneshot)
        return;
    if (pp->oneshot_exe_hash != a->exe_hash)
        pp->oneshot_condemned = 0;
    pp->oneshot_exe_hash = a->exe_hash;
    pp->oneshot_condemned++;
    if (!pp->oneshot_incident[0] || pp->oneshot_condemned == 1)
        memcpy(pp->oneshot_incident, a->incident, sizeof pp->oneshot_incident);
    if (pp->oneshot_condemned < 2 || pp->untouchable || pp->trusted)
        return;
    if (pp->info.sid == pp->info.pid) /* session leader: a login shell; children are */
        return;                       /* stopped one by one by the lineage rule instead */
    struct actor *pa = actor_for(g, pp, 0);
    if (pa != a && !pa->condemned) {
        if (!pa->incident[0])
            memcpy(pa->incident, a->incident, sizeof pa->incident);
        evidence(g, pa, IND_DRIVER, NULL);
    }
}

static bool in_alarm(const struct guard *g) { return g->now < g->alarm_until_us; }

static void raise_alarm(struct guard *g)
{
    if (!in_alarm(g)) {
        fan_flush_ignores(&g->fan);
        /* the flush took the vault's ignore marks too: back before any
         * pre-image is written there, or the guard waits on its own opens
         * until the watchdog lets them (and every lease break) go */
        gv_mark(g);
        gl_release_all(g); /* the marks are gone: the leases go too */
        for (size_t i = 0; i < INODE_MAX; i++)
            g->t->itab[i].muted = g->t->itab[i].open_ignored = false;
    }
    g->alarm_until_us = g->now + ALARM_US;
}

static void condemn(struct guard *g, struct actor *a)
{
    a->condemned = true;
    a->decision_us = wall_us();
    if (!a->first_write_us)
        a->first_write_us = a->decision_us;
    a->freeze_us = 0;
    if (g->o->action != GUARD_ALERT)
        a->freeze_us = respond_actor(g, a, g->o->action == GUARD_KILL);
    snprintf(a->alert_id, sizeof a->alert_id, "%llx-%llu",
             (unsigned long long)(a->decision_us / 1000000u),
             (unsigned long long)++g->alert_counter);
    if (!a->incident[0])
        memcpy(a->incident, a->alert_id, sizeof a->incident);
    alert_emit(g, a);
    g->st.alerts++;
    gv_alert(g, a);
    raise_alarm(g); /* after the signals: flushing marks takes a while */
    /* One-shot: the condemned program's life is over (it exited, or we just
     * killed it - a SIGKILL not yet delivered must count too); if its parent
     * starts it again, that is a loop. */
    bool oneshot = (a->indicators & (1u << IND_LINEAGE)) || g->o->action == GUARD_KILL ||
                   proc_gone(a->root);
    consider_driver(g, a, oneshot);
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Fingerprint of the file behind fd as it is now (head only: cheap). */
static void fingerprint(struct guard *g, int fd, const struct stat *st, const char *path,
                        struct inode_ent *ie)
{
    struct content_sample *s = g->smp;
    s->file_size = (uint64_t)st->st_size;
    s->nblocks = 0;
    size_t want = st->st_size < CONTENT_BLOCK ? (size_t)st->st_size : CONTENT_BLOCK;
    ssize_t n = want ? pread(fd, s->head, want, 0) : 0;
    s->head_len = n > 0 ? (size_t)n : 0;
    struct content_verdict v;
    content_judge(s, path, &v);
    ie->known = true;
    ie->before = v.kind;
    memcpy(ie->before_type, v.magic_type, sizeof ie->before_type);
    ie->size = (uint64_t)st->st_size;
    ie->mtime_ns = mtime_ns(st);
}

int ev_open_perm(struct guard *g, pid_t pid, int fd)
{
    char path[PATH_MAX];
    if (pid == g->self.self || fan_fd_path(fd, path, sizeof path) < 0)
        return FAN_RESP_ALLOW;
    if (!guard_path_protected(g, path)) {
        /* Same filesystem, outside the protected paths (say /usr when /home
         * is protected on /): let its later opens pass in the kernel. */
        if (!in_alarm(g))
            fan_ignore(&g->fan, fd, FAN_OPEN_PERM);
        return FAN_RESP_ALLOW;
    }
    struct gproc *gp = learn(g, pid);
    if (!gp || gp->untouchable || gp->trusted)
        return FAN_RESP_ALLOW;
    struct actor *a = actor_for(g, gp, 0);
    if (a->condemned && g->o->action != GUARD_ALERT) {
        respond_pid(g, a, pid);
        if (g->gv)
            gv_denied(g, a, fd, path);
        return FAN_RESP_DENY;
    }
    /* alert-only: a condemned actor goes on, and its pre-images are kept */
    struct stat st;
    int64_t btime;
    if (fan_fstat(fd, &st, &btime) < 0)
        return FAN_RESP_ALLOW;
    if (!S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode) && !in_alarm(g))
            fan_ignore(&g->fan, fd, FAN_OPEN_PERM); /* listing a directory harms nothing */
        return FAN_RESP_ALLOW;
    }
    struct inode_ent *ie = itab_slot(g->t, st.st_dev, st.st_ino, btime, g->now);
    ie->last_us = g->now;
    if (ie->decoy)
        return FAN_RESP_ALLOW;
    if (!ie->known || (!ie->writing && ((uint64_t)st.st_size != ie->size ||
                                        mtime_ns(&st) != ie->mtime_ns)))
        fingerprint(g, fd, &st, path, ie);
    itab_set_path(g->t, ie, path);
    if (score_is_original(ie->before, ie->before_type, ie->size)) {
        struct ring_ent r = {.path_hash = ie->path_hash, .stem_hash = ie->stem_hash,
                             .size = ie->size, .us = g->now};
        ring_push(a->reads, &a->nreads, &r);
    }
    int wmode = ie->size > 0 || g->gv ? proc_opening_for_write(pid) : 0;
    if (wmode < 0)
        g->st.open_unknown++; /* the vault then keeps a pre-image: the cautious answer */
    if (g->gv && !gp->vault_trusted)
        gv_open_file(g, a, fd, &st, path, ie, wmode);
    if (ie->size > 0 && (wmode == PROC_OPEN_WRITE || wmode == PROC_OPEN_APPEND)) {
        bool same = a->gate_dev == st.st_dev && a->gate_ino == st.st_ino;
        if (a->gate_until_us > g->now && !same && g->nheld < HELD_MAX) {
            g->held[g->nheld++] = (struct held_open){.fd = fd, .pid = pid,
                                                     .actor = actor_ref(g->t, a),
                                                     .dev = st.st_dev, .ino = st.st_ino,
                                                     .deadline_us = g->now + GATE_HOLD_US};
            g->st.held++;
            return GUARD_HOLD;
        }
        a->gate_dev = st.st_dev;
        a->gate_ino = st.st_ino;
        a->gate_until_us = g->now + GATE_WINDOW_US;
    }
    /* With the vault, every open of a protected file is seen: a later
     * open for writing needs its pre-image first. */
    if (!in_alarm(g) && !g->gv && !ie->open_ignored &&
        fan_ignore(&g->fan, fd, FAN_OPEN_PERM) == 0)
        ie->open_ignored = true;
    return FAN_RESP_ALLOW;
}

void held_review(struct guard *g, bool all)
{
    for (size_t i = 0; i < g->nheld;) {
        struct held_open *h = &g->held[i];
        struct actor *a = actor_get(g->t, h->actor);
        int verdict = -1;
        if (!a) {
            verdict = FAN_RESP_ALLOW;
        } else if (a->condemned && g->o->action != GUARD_ALERT) {
            respond_pid(g, a, h->pid);
            verdict = FAN_RESP_DENY;
            g->st.denied++;
        } else if (all || g->now >= h->deadline_us || a->gate_until_us <= g->now) {
            /* released: this file becomes the actor's unjudged write */
            verdict = FAN_RESP_ALLOW;
            a->gate_dev = h->dev;
            a->gate_ino = h->ino;
            a->gate_until_us = g->now + GATE_WINDOW_US;
        }
        if (verdict < 0) {
            i++;
            continue;
        }
        wd_answer(&g->wd, h->fd, verdict);
        close(h->fd);
        g->held[i] = g->held[--g->nheld];
    }
}

static const struct ring_ent *ring_find(const struct ring_ent *ring, size_t n, uint64_t path_hash)
{
    size_t m = n < ACTOR_RING ? n : ACTOR_RING;
    for (size_t i = 0; i < m; i++)
        if (ring[i].path_hash == path_hash)
            return &ring[i];
    return NULL;
}

/* A new file of random content: the encrypted copy of an original that this
 * actor has deleted (or will delete: see ev_name). */
static void new_random_file(struct guard *g, struct actor *a, const char *path, uint64_t size)
{
    struct ring_ent c = {.path_hash = hash_str(path), .stem_hash = hash_stem(path),
                         .size = size, .us = g->now};
    ring_push(a->newrand, &a->nnewrand, &c);
    size_t m = a->ndeleted < ACTOR_RING ? a->ndeleted : ACTOR_RING;
    for (size_t i = 0; i < m; i++) {
        if (a->deleted[i].path_hash && score_copy_matches(&a->deleted[i], &c)) {
            a->deleted[i].path_hash = 0; /* count each original once */
            evidence(g, a, IND_COPY_THEN_DELETE, path);
            return;
        }
    }
}

/* The same new text file in several directories: a ransom note. */
static void new_text_file(struct guard *g, struct actor *a, const char *path)
{
    struct content_sample *s = g->smp;
    uint64_t h = hash_bytes(s->head, s->head_len) ^ s->file_size;
    const char *slash = strrchr(path, '/');
    uint64_t dh = hash_bytes(path, slash ? (size_t)(slash - path) : 0);
    struct note_ent *free_slot = NULL;
    for (size_t i = 0; i < ACTOR_NOTES_MAX; i++) {
        struct note_ent *n = &a->notes[i];
        if (n->ndirs == 0) {
            if (!free_slot)
                free_slot = n;
            continue;
        }
        if (n->content_hash != h)
            continue;
        for (size_t j = 0; j < n->ndirs && j < NOTE_DIRS; j++)
            if (n->dir_hash[j] == dh)
                return;
        if (n->ndirs < NOTE_DIRS)
            n->dir_hash[n->ndirs] = dh;
        if (++n->ndirs == NOTE_DIRS_DECISIVE)
            evidence(g, a, IND_RANSOM_NOTE, path);
        return;
    }
    if (!free_slot)
        free_slot = &a->notes[h % ACTOR_NOTES_MAX];
    *free_slot = (struct note_ent){.content_hash = h, .ndirs = 1, .dir_hash = {dh}};
}

static void judge_after(struct guard *g, struct actor *a, struct inode_ent *ie, int fd,
                        const struct stat *st, const char *path, bool closed)
{
    struct file_before b = {.known = ie->known, .kind = ie->before, .size = ie->size};
    struct content_sample *s = g->smp;
    struct content_verdict v;
    /* An existing file gets the full sample. A new file destroyed nothing:
     * its first 4 KiB say whether it is ciphertext (an encrypted copy) or a note,
     * and copying a tree of thousands of files must stay cheap. */
    bool full = closed && b.known && b.size > 0;
    if (full) {
        if (content_read_sample(fd, s) < 0)
            return;
    } else {
        size_t cap = closed ? NEW_FILE_BYTES : PEEK_BYTES;
        s->file_size = (uint64_t)st->st_size;
        s->nblocks = 0;
        size_t want = (uint64_t)st->st_size < cap ? (size_t)st->st_size : cap;
        ssize_t n = want ? pread(fd, s->head, want, 0) : 0;
        s->head_len = n > 0 ? (size_t)n : 0;
    }
    content_judge(s, path, &v);
    int ind = score_overwrite(&b, &v);
    if (ind >= 0) {
        evidence(g, a, (enum indicator)ind, path);
    } else if (closed && b.known && b.size > 0 && score_is_intact_kind(b.kind) &&
               v.kind == CK_EMPTY && a->nnewrand > 0) {
        evidence(g, a, IND_ORIGINAL_TRUNCATED, path);
    } else if (closed && (!b.known || b.size == 0)) {
        if (score_is_cipher_kind(&v))
            new_random_file(g, a, path, s->file_size);
        else if (v.kind == CK_TEXT && s->file_size >= NOTE_MIN && s->file_size <= NOTE_MAX)
            new_text_file(g, a, path);
    }
    if (closed) {
        itab_set_path(g->t, ie, path);
        ie->known = true;
        ie->before = v.kind;
        memcpy(ie->before_type, v.magic_type, sizeof ie->before_type);
        ie->size = s->file_size;
        ie->mtime_ns = mtime_ns(st);
    }
}

/* One FAN_MODIFY per writing session is enough (see fan_ignore); the
 * close brings the full judgement. */
static void mute_until_close(struct guard *g, int fd, struct inode_ent *ie, bool closed)
{
    if (closed && ie->muted) {
        fan_unignore(&g->fan, fd, FAN_MODIFY);
        ie->muted = false;
    } else if (!closed && !ie->muted && fan_ignore(&g->fan, fd, FAN_MODIFY) == 0) {
        ie->muted = true;
    }
}

void ev_write(struct guard *g, uint64_t mask, pid_t pid, int fd)
{
    struct stat st;
    int64_t btime;
    if (fan_fstat(fd, &st, &btime) < 0 || !S_ISREG(st.st_mode))
        return;
    bool closed = (mask & FAN_CLOSE_WRITE) != 0;
    struct inode_ent *ie = itab_slot(g->t, st.st_dev, st.st_ino, btime, g->now);
    ie->last_us = g->now;
    mute_until_close(g, fd, ie, closed);
    char path[PATH_MAX];
    if (pid == g->self.self || fan_fd_path(fd, path, sizeof path) < 0 ||
        !guard_path_protected(g, path))
        return;
    struct gproc *gp = learn(g, pid);
    /* saved at a lease break, or the lease gate's file: the writer is known */
    if (ie->lease_op || g->lgate.norphans ||
        (g->lgate.until_us && g->lgate.ino == ie->ino && g->lgate.dev == ie->dev))
        gl_claim(g, ie, gp && !gp->untouchable && !gp->trusted ? actor_for(g, gp, 0) : NULL,
                 gp && !gp->vault_trusted);
    if (!gp || gp->untouchable || gp->trusted) {
        if (!ie->decoy)
            ie->known = false; /* changed by someone we do not judge: */
        if (ie->open_ignored && fan_unignore(&g->fan, fd, FAN_OPEN_PERM) == 0)
            ie->open_ignored = false; /* fingerprint it again at its next open */
        return;
    }
    struct actor *a = actor_for(g, gp, 0);
    if (ie->decoy) {
        evidence(g, a, IND_DECOY, path);
        return;
    }
    bool pre_existing = ie->known && ie->size > 0;
    if (pre_existing && !a->first_write_us && score_is_intact_kind(ie->before))
        a->first_write_us = wall_us();
    if (a->gate_dev == st.st_dev && a->gate_ino == st.st_ino)
        a->gate_until_us = 0; /* its first write is judged below: the gate opens */
    if (closed) {
        judge_after(g, a, ie, fd, &st, path, true);
        ie->writing = false;
        return;
    }
    ie->writing = true;
    if (pre_existing && score_is_intact_kind(ie->before) &&
        g->now - ie->last_peek_us >= PEEK_INTERVAL_US) {
        ie->last_peek_us = g->now;
        judge_after(g, a, ie, fd, &st, path, false);
    }
}

void ev_name(struct guard *g, const struct fan_name_event *ne)
{
    bool is_rename = ne->old_path[0] != '\0';
    if (ne->pid == g->self.self ||
        (!guard_path_protected(g, ne->path) &&
         !(is_rename && guard_path_protected(g, ne->old_path))))
        return;
    struct gproc *gp = learn(g, ne->pid);
    if (!gp || gp->untouchable || gp->trusted) {
        if (g->gv && (ne->mask & FAN_DELETE))
            gv_release(g, ne->path);
        return;
    }
    struct actor *a = actor_for(g, gp, 0);
    if ((ne->mask & FAN_DELETE) || is_rename) {
        const char *victim = is_rename ? ne->old_path : ne->path;
        if (decoy_is(g, victim)) {
            evidence(g, a, IND_DECOY, victim);
            return;
        }
    }
    if (is_rename) {
        if (g->gv && !gp->vault_trusted)
            gv_rename(g, a, ne->old_path, ne->path);
        if (score_rename(ne->old_path, ne->path) >= 0)
            evidence(g, a, IND_EXTENSION_RENAME, ne->path);
        return;
    }
    if (!(ne->mask & FAN_DELETE))
        return;
    if (g->gv && !gp->vault_trusted)
        gv_delete(g, a, ne->path);
    else if (g->gv)
        gv_release(g, ne->path);
    /* The original: read by this actor, or at least known to the guard
     * (its open may not have been seen: see design note 5). */
    uint64_t ph = hash_str(ne->path);
    const struct ring_ent *orig = ring_find(a->reads, a->nreads, ph);
    struct ring_ent known;
    if (!orig) {
        struct inode_ent *ie = itab_by_path(g->t, ph);
        if (!ie || !ie->known || !score_is_original(ie->before, ie->before_type, ie->size))
            return;
        known = (struct ring_ent){.path_hash = ph, .stem_hash = ie->stem_hash, .size = ie->size,
                                  .us = g->now};
        orig = &known;
    }
    size_t m = a->nnewrand < ACTOR_RING ? a->nnewrand : ACTOR_RING;
    for (size_t i = 0; i < m; i++) {
        if (a->newrand[i].path_hash && score_copy_matches(orig, &a->newrand[i])) {
            a->newrand[i].path_hash = 0; /* each copy stands for one original */
            evidence(g, a, IND_COPY_THEN_DELETE, ne->path);
            return;
        }
    }
    ring_push(a->deleted, &a->ndeleted, orig);
}
