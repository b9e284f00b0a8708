/* restore.c - replays an incident's undo log backwards (see restore.h).
 *
 * Data enters from the vault's index and blobs and leaves as files written
 * back in place and one line per outcome on the output stream. */
#include "vault/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

#define IO_CHUNK (64u * 1024)
#define RESTORE_RENAME_HOPS 16 /* renames of one file followed back */

struct op {
    int64_t seq;
    char kind[8];
    char path[PATH_MAX];
    char path2[PATH_MAX];
    int64_t blob;
    uint64_t size;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    int64_t atime_ns, mtime_ns;
    int64_t ino;
    bool late;
};

/* A set of path hashes (open addressing, grows at half full, at most
 * PATHSET_MAX entries: beyond, additions are dropped and a lookup may miss). */
#define PATHSET_MAX (1u << 22)
struct pathset {
    uint64_t *slot; /* 0 = empty */
    size_t cap, n;
};

static bool pathset_has(const struct pathset *p, uint64_t h)
{
    for (size_t i = h & (p->cap - 1); p->cap && p->slot[i]; i = (i + 1) & (p->cap - 1))
        if (p->slot[i] == h)
            return true;
    return false;
}

static void pathset_add(struct pathset *p, uint64_t h)
{
    if (pathset_has(p, h))
        return;
    if (2 * (p->n + 1) > p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 1024;
        if (cap > PATHSET_MAX)
            return;
        uint64_t *s = calloc(cap, sizeof *s);
        if (!s)
            return;
        for (size_t i = 0; i < p->cap; i++) {
            if (!p->slot[i])
                continue;
            size_t j = p->slot[i] & (cap - 1);
            while (s[j])
                j = (j + 1) & (cap - 1);
            s[j] = p->slot[i];
        }
        free(p->slot);
        p->slot = s;
        p->cap = cap;
    }
    size_t i = h & (p->cap - 1);
    while (p->slot[i])
        i = (i + 1) & (p->cap - 1);
    p->slot[i] = h;
    p->n++;
}

struct ctx {
    struct vault *v;
    const struct restore_opts *o;
    struct restore_counts *c;
    int64_t end_ns; /* changes after this are not the attacker's */
    unsigned tmp_seq;
    struct pathset moved; /* names this run renamed back: their ctime is ours */
    struct pathset done;  /* names whose oldest save was applied */
};

static uint64_t path_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1; /* 0 marks an empty slot */
}

static bool moved_here(const struct ctx *x, const char *path)
{
    return pathset_has(&x->moved, path_hash(path));
}

/* Changed after the attack stopped? The inode's change time, which no
 * program can set back (an attacker can set mtime to anything). */
static bool changed_after(const struct ctx *x, const struct stat *st)
{
    return (st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec) > x->end_ns;
}

static void col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Directory fd of path's parent, walked from "/" one component at a time
 * without following symbolic links; missing folders are created when
 * create is set. leaf points into path. Returns -1 with errno set. */
static int open_parent(const char *path, bool create, const char **leaf)
{
    if (path[0] != '/') {
        errno = EINVAL;
        return -1;
    }
    const char *last = strrchr(path, '/');
    *leaf = last + 1;
    if (!**leaf) {
        errno = EINVAL;
        return -1;
    }
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *p = path + 1;
    while (fd >= 0 && p < last + 1 && p <= last) {
        const char *slash = strchr(p, '/');
        if (!slash || slash > last)
            break;
        size_t n = (size_t)(slash - p);
        char comp[NAME_MAX + 1];
        if (n == 0) {
            p = slash + 1;
            continue;
        }
        if (n > NAME_MAX || (n == 2 && !memcmp(p, "..", 2)) || (n == 1 && p[0] == '.')) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            /* a folder made again gets its parent's owner and mode, so
             * that the owner of the files can still write there */
            struct stat pst;
            if (next >= 0 && fstat(fd, &pst) == 0) {
                if (fchown(next, pst.st_uid, pst.st_gid) < 0 || fchmod(next, pst.st_mode & 07777) < 0)
                    (void)0; /* the folder exists; its owner is cosmetic here */
            }
        }
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
        p = slash + 1;
    }
    return fd;
}


/* ns since the epoch -> timespec, also before 1970 (tv_nsec stays >= 0) */
static struct timespec ts_of(int64_t ns)
{
    int64_t s = ns / 1000000000, r = ns % 1000000000;
    if (r < 0) {
        r += 1000000000;
        s--;
    }
    return (struct timespec){.tv_sec = (time_t)s, .tv_nsec = (long)r};
}

static int open_blob(struct ctx *x, const struct op *op)
{
    char name[32];
    snprintf(name, sizeof name, "%" PRId64, op->blob);
    return openat(x->v->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Same bytes in both files? */
static bool same_content(int a, int b, uint64_t size)
{
    static char ba[IO_CHUNK], bb[IO_CHUNK]; /* restore is single-threaded */
    for (uint64_t off = 0; off < size;) {
        size_t want = size - off < IO_CHUNK ? (size_t)(size - off) : IO_CHUNK;
        ssize_t na = pread(a, ba, want, (off_t)off), nb = pread(b, bb, want, (off_t)off);
        if (na <= 0 || na != nb || memcmp(ba, bb, (size_t)na))
            return false;
        off += (uint64_t)na;
    }
    return true;
}

static int copy_fd(int src, int dst, uint64_t size)
{
    loff_t in = 0, out = 0;
    while ((uint64_t)in < size) {
        ssize_t n = copy_file_range(src, &in, dst, &out, size - (uint64_t)in, 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
            char buf[IO_CHUNK];
            ssize_t r = pread(src, buf, sizeof buf, in);
            if (r <= 0 || pwrite(dst, buf, (size_t)r, out) != r)
                return -1;
            in += r;
            out += r;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* the blob is shorter than its record says */
    }
    return 0;
}

/* One outcome line: "VERB PATH[ NOTE]". */
static void say(struct ctx *x, const char *verb, const char *path, const char *note)
{
    fprintf(x->o->out, "%-9s %s%s%s\n", verb, path, note ? " " : "", note ? note : "");
}

static void fail(struct ctx *x, const char *path, const char *why)
{
    char note[512];
    snprintf(note, sizeof note, "(%s)", why);
    say(x, "failed", path, note);
    x->c->failed++;
}

static void undo_save(struct ctx *x, const struct op *op)
{
    const char *leaf;
    int dfd = open_parent(op->path, !x->o->dry_run, &leaf);
    if (dfd < 0 && !(x->o->dry_run && errno == ENOENT)) {
        fail(x, op->path, strerror(errno));
        return;
    }
    int blob = open_blob(x, op);
    if (blob < 0) {
        fail(x, op->path, "its saved copy is missing from the vault");
        if (dfd >= 0)
            close(dfd);
        return;
    }
    struct stat cur;
    bool exists = dfd >= 0 && fstatat(dfd, leaf, &cur, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !S_ISREG(cur.st_mode)) {
        fail(x, op->path, "something other than a regular file is there now");
        goto out;
    }
    if (exists) {
        /* O_NONBLOCK: a FIFO swapped in since the fstatat must not hang us */
        int f = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat fst;
        bool same = f >= 0 && fstat(f, &fst) == 0 && S_ISREG(fst.st_mode) &&
                    fst.st_ino == cur.st_ino && (uint64_t)fst.st_size == op->size &&
                    same_content(f, blob, op->size);
        if (f >= 0)
            close(f);
        if (same) {
            say(x, "unchanged", op->path, "(already as before the attack)");
            x->c->unchanged++;
            goto out;
        }
        /* a name this run renamed back has our ctime, not the owner's */
        if (!x->o->force && changed_after(x, &cur) && !moved_here(x, op->path)) {
            say(x, "skipped", op->path, "(changed after the attack was stopped; --force overwrites it)");
            x->c->skipped++;
            goto out;
        }
    }
    if (x->o->dry_run) {
        say(x, "would restore", op->path, NULL);
        x->c->restored++;
        goto out;
    }
    char tmp[NAME_MAX + 1];
    snprintf(tmp, sizeof tmp, ".mamori-restore.%d.%u", (int)getpid(), x->tmp_seq++);
    int f = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) {
        fail(x, op->path, strerror(errno));
        goto out;
    }
    struct timespec times[2] = {ts_of(op->atime_ns), ts_of(op->mtime_ns)};
    int rc = copy_fd(blob, f, op->size);
    if (rc == 0 && fchown(f, op->uid, op->gid) < 0)
        rc = -1;
    if (rc == 0 && fchmod(f, op->mode & 07777) < 0)
        rc = -1;
    if (rc == 0 && futimens(f, times) < 0)
        rc = -1;
    if (rc == 0 && fsync(f) < 0)
        rc = -1;
    int e = errno;
    close(f);
    if (rc == 0 && renameat(dfd, tmp, dfd, leaf) < 0) {
        e = errno;
        rc = -1;
    }
    if (rc < 0) {
        unlinkat(dfd, tmp, 0);
        fail(x, op->path, strerror(e));
        goto out;
    }
    fsync(dfd);
    say(x, "restored", op->path,
        op->late ? "(its copy was taken after the first write began: check it)" : NULL);
    x->c->restored++;
out:
    close(blob);
    if (dfd >= 0)
        close(dfd);
}

static void undo_create(struct ctx *x, const struct op *op)
{
    const char *leaf;
    int dfd = open_parent(op->path, false, &leaf);
    struct stat cur;
    if (dfd < 0 || fstatat(dfd, leaf, &cur, AT_SYMLINK_NOFOLLOW) < 0) {
        say(x, "unchanged", op->path, "(the file the attacker created is gone)");
        x->c->unchanged++;
    } else if (op->ino && (int64_t)cur.st_ino != op->ino) {
        say(x, "unchanged", op->path, "(the file the attacker created is gone; another file has its name)");
        x->c->unchanged++;
    } else if (!S_ISREG(cur.st_mode)) {
        fail(x, op->path, "something other than a regular file is there now");
    } else if (!x->o->force && changed_after(x, &cur)) {
        say(x, "skipped", op->path, "(created by the attacker but changed after the attack was stopped; --force removes it)");
        x->c->skipped++;
    } else if (x->o->dry_run) {
        say(x, "would remove", op->path, NULL);
        x->c->removed++;
    } else if (unlinkat(dfd, leaf, 0) < 0) {
        fail(x, op->path, strerror(errno));
    } else {
        say(x, "removed", op->path, "(created by the attacker)");
        x->c->removed++;
    }
    if (dfd >= 0)
        close(dfd);
}

/* The attacker renamed path (from) to path2 (to): put it back. */
static void undo_rename(struct ctx *x, const struct op *op)
{
    const char *lf, *lt;
    int df = open_parent(op->path, !x->o->dry_run, &lf);
    int dt = open_parent(op->path2, false, &lt);
    struct stat sf, st;
    bool has_from = df >= 0 && fstatat(df, lf, &sf, AT_SYMLINK_NOFOLLOW) == 0;
    bool has_to = dt >= 0 && fstatat(dt, lt, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (has_from && !has_to) {
        say(x, "unchanged", op->path, "(already under its own name)");
        x->c->unchanged++;
    } else if (!has_from && !has_to) {
        fail(x, op->path, "neither it nor its renamed copy exists any more");
    } else if (has_from) {
        say(x, "skipped", op->path, "(both the original name and the attacker's name exist)");
        x->c->skipped++;
    } else if (op->ino && (int64_t)st.st_ino != op->ino) {
        say(x, "skipped", op->path2, "(not the file the attacker renamed: left where it is)");
        x->c->skipped++;
    } else if (!x->o->force && changed_after(x, &st)) {
        say(x, "skipped", op->path2, "(changed after the attack was stopped; --force renames it back)");
        x->c->skipped++;
    } else if (x->o->dry_run) {
        char note[PATH_MAX + 4];
        snprintf(note, sizeof note, "-> %s", op->path);
        say(x, "would rename", op->path2, note);
        x->c->renamed++;
    } else if (df < 0 || renameat2(dt, lt, df, lf, RENAME_NOREPLACE) < 0) {
        fail(x, op->path2, strerror(errno));
    } else {
        char note[PATH_MAX + 4];
        snprintf(note, sizeof note, "-> %s", op->path);
        say(x, "renamed", op->path2, note);
        x->c->renamed++;
        pathset_add(&x->moved, path_hash(op->path));
    }
    if (df >= 0)
        close(df);
    if (dt >= 0)
        close(dt);
}

int restore_list(struct vault *v, FILE *out)
{
    static const char sql[] =
        "SELECT a.id, a.incident, a.decision_us, IFNULL(ac.exe,''),"
        " (SELECT count(*) FROM ops o WHERE o.actor = a.actor AND o.kind = 'save'),"
        " (SELECT count(*) FROM ops o WHERE o.actor = a.actor AND o.kind = 'create'),"
        " (SELECT count(*) FROM ops o WHERE o.actor = a.actor AND o.kind = 'rename')"
        " FROM alerts a LEFT JOIN actors ac ON ac.key = a.actor ORDER BY a.decision_us DESC";
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(v->db, sql, -1, &s, NULL) != SQLITE_OK)
        return MAMORI_EIO;
    int n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        char id[VAULT_ID_MAX], inc[VAULT_ID_MAX], exe[PATH_MAX], when[32];
        col_text(s, 0, id, sizeof id);
        col_text(s, 1, inc, sizeof inc);
        col_text(s, 3, exe, sizeof exe);
        time_t t = (time_t)(sqlite3_column_int64(s, 2) / 1000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(out, "%s  %s  incident %s  saved %d  created %d  renamed %d  %s  (vault %s)\n",
                id, when, inc, sqlite3_column_int(s, 4), sqlite3_column_int(s, 5),
                sqlite3_column_int(s, 6), exe, v->dir);
        n++;
    }
    sqlite3_finalize(s);
    return n;
}

/* When the incident's actors stopped, in ns since the epoch. */
static int64_t incident_end(struct vault *v, const char *incident)
{
    static const char sql[] =
        "SELECT MAX(CASE WHEN freeze_us > 0 THEN freeze_us + ?2 ELSE"
        " MAX(decision_us, IFNULL((SELECT MAX(us) FROM ops WHERE ops.actor = alerts.actor), 0)) + ?3"
        " END) FROM alerts WHERE incident = ?1";
    sqlite3_stmt *s = NULL;
    int64_t end = 0;
    if (sqlite3_prepare_v2(v->db, sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, incident, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, RESTORE_GRACE_FROZEN_US);
        sqlite3_bind_int64(s, 3, RESTORE_GRACE_RUNNING_US);
        if (sqlite3_step(s) == SQLITE_ROW)
            end = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return end * 1000;
}

/* The name a file had before the incident's renames: follows renames of
 * the same inode *to* that path back to their source (A -> B -> C: C's save
 * goes to A). Both the path and the inode must match: ext4 hands a freed
 * inode number to the next new file at once. "" when never renamed. */
static void original_name(struct vault *v, const char *incident, const char *path, int64_t ino,
                          char *out, size_t cap)
{
    static const char sql[] =
        "SELECT path FROM ops WHERE kind = 'rename' AND path2 = ?2 AND ino = ?3 AND actor IN"
        " (SELECT actor FROM alerts WHERE incident = ?1) ORDER BY seq DESC LIMIT 1";
    sqlite3_stmt *s = NULL;
    char cur[PATH_MAX];
    out[0] = '\0';
    if (!ino || sqlite3_prepare_v2(v->db, sql, -1, &s, NULL) != SQLITE_OK)
        return;
    snprintf(cur, sizeof cur, "%s", path);
    for (int hop = 0; hop < RESTORE_RENAME_HOPS; hop++) {
        sqlite3_bind_text(s, 1, incident, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, cur, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, ino);
        bool found = sqlite3_step(s) == SQLITE_ROW;
        if (found)
            col_text(s, 0, cur, sizeof cur);
        sqlite3_reset(s);
        if (!found || !strcmp(cur, out))
            break;
        snprintf(out, cap, "%s", cur);
    }
    sqlite3_finalize(s);
}

#define OP_COLUMNS                                                                             \
    "seq, kind, path, IFNULL(path2,''), IFNULL(blob,0), IFNULL(size,0), IFNULL(mode,0),"       \
    " IFNULL(uid,0), IFNULL(gid,0), IFNULL(atime_ns,0), IFNULL(mtime_ns,0), late, IFNULL(ino,0)"

static void read_op(sqlite3_stmt *s, struct op *op)
{
    memset(op, 0, sizeof *op);
    op->seq = sqlite3_column_int64(s, 0);
    col_text(s, 1, op->kind, sizeof op->kind);
    col_text(s, 2, op->path, sizeof op->path);
    col_text(s, 3, op->path2, sizeof op->path2);
    op->blob = sqlite3_column_int64(s, 4);
    op->size = (uint64_t)sqlite3_column_int64(s, 5);
    op->mode = (mode_t)sqlite3_column_int64(s, 6);
    op->uid = (uid_t)sqlite3_column_int64(s, 7);
    op->gid = (gid_t)sqlite3_column_int64(s, 8);
    op->atime_ns = sqlite3_column_int64(s, 9);
    op->mtime_ns = sqlite3_column_int64(s, 10);
    op->late = sqlite3_column_int(s, 11) != 0;
    op->ino = sqlite3_column_int64(s, 12);
}

int restore_alert(struct vault *v, const char *alert_id, const struct restore_opts *o,
                  struct restore_counts *c)
{
    sqlite3_stmt *s = NULL;
    char incident[VAULT_ID_MAX] = "";
    if (sqlite3_prepare_v2(v->db, "SELECT incident FROM alerts WHERE id = ?1", -1, &s, NULL) !=
        SQLITE_OK)
        return MAMORI_EIO;
    sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        col_text(s, 0, incident, sizeof incident);
    sqlite3_finalize(s);
    if (!incident[0])
        return MAMORI_ENOENT;
    struct ctx x = {.v = v, .o = o, .c = c, .end_ns = incident_end(v, incident)};
    /* Three passes. The guard records renames from a queue that lags the
     * opens, so the order of renames relative to saves is not known:
     *   1. renames, newest first: every file back under its own name;
     *   2. creates, newest first: a file the attacker created is removed
     *      (only that very inode);
     *   3. saves, oldest first, one per name: each goes to the name its
     *      inode had before the incident renamed it, and only the oldest
     *      save of a name holds the content from before the incident. */
    static const char *const sql[3] = {
        "SELECT " OP_COLUMNS " FROM ops WHERE actor IN (SELECT actor FROM alerts WHERE"
        " incident = ?1) AND kind = 'rename' ORDER BY seq DESC",
        "SELECT " OP_COLUMNS " FROM ops WHERE actor IN (SELECT actor FROM alerts WHERE"
        " incident = ?1) AND kind = 'create' ORDER BY seq DESC",
        "SELECT " OP_COLUMNS " FROM ops WHERE actor IN (SELECT actor FROM alerts WHERE"
        " incident = ?1) AND kind = 'save' ORDER BY seq ASC",
    };
    struct op op;
    int rc = 0;
    for (int pass = 0; pass < 3 && rc == 0; pass++) {
        if (sqlite3_prepare_v2(v->db, sql[pass], -1, &s, NULL) != SQLITE_OK) {
            rc = MAMORI_EIO;
            break;
        }
        sqlite3_bind_text(s, 1, incident, -1, SQLITE_STATIC);
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            read_op(s, &op);
            if (pass == 0) {
                undo_rename(&x, &op);
            } else if (pass == 1) {
                undo_create(&x, &op);
            } else {
                char orig[PATH_MAX];
                original_name(v, incident, op.path, op.ino, orig, sizeof orig);
                if (orig[0])
                    memcpy(op.path, orig, sizeof op.path);
                uint64_t h = path_hash(op.path);
                if (pathset_has(&x.done, h))
                    continue; /* a later save of a name already restored */
                pathset_add(&x.done, h);
                undo_save(&x, &op);
            }
        }
        if (step != SQLITE_DONE) {
            fprintf(o->out, "vault %s: reading the index failed: %s\n", v->dir,
                    sqlite3_errmsg(v->db));
            rc = MAMORI_EIO;
        }
        sqlite3_finalize(s);
    }
    free(x.moved.slot);
    free(x.done.slot);
    return rc;
}
