/* vault.c - the pre-image vault of one filesystem (see vault.h).
 *
 * Data enters from the guard (vault_save copies a file through the fd the
 * kernel gave with its fanotify event; the other calls add rows) and leaves
 * through restore.c, which reads the same index and blobs. */
#include "vault/vault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stddef.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"

#define COPY_CHUNK (8u << 20) /* bytes per copy step between progress calls */
#define EVICT_BATCH 64
#define SCHEMA_VERSION "1"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    /* one row per actor that has ops or alerts; condemned rows never expire */
    "CREATE TABLE IF NOT EXISTS actors(key TEXT PRIMARY KEY, exe TEXT, cmdline TEXT,"
    " uid INTEGER, first_us INTEGER, condemned INTEGER NOT NULL DEFAULT 0);"
    /* the undo log: kind save|create|rename; rename has path=from, path2=to;
     * save has blob (file name in the vault) and the file's metadata */
    "CREATE TABLE IF NOT EXISTS ops(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " actor TEXT NOT NULL, kind TEXT NOT NULL CHECK(kind IN ('save','create','rename')),"
    " path TEXT NOT NULL, path2 TEXT, blob INTEGER, size INTEGER, mode INTEGER,"
    " uid INTEGER, gid INTEGER, atime_ns INTEGER, mtime_ns INTEGER, ino INTEGER,"
    " us INTEGER NOT NULL, late INTEGER NOT NULL DEFAULT 0,"
    /* bytes the blob counts against the cap (a reflink: what it may come to hold) */
    " cost INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS ops_actor ON ops(actor, seq);"
    "CREATE INDEX IF NOT EXISTS ops_blob ON ops(blob);"
    "CREATE INDEX IF NOT EXISTS ops_us ON ops(us);"
    "CREATE TABLE IF NOT EXISTS alerts(id TEXT PRIMARY KEY, incident TEXT NOT NULL,"
    " actor TEXT NOT NULL, decision_us INTEGER, freeze_us INTEGER);"
    "CREATE INDEX IF NOT EXISTS alerts_incident ON alerts(incident);"
    "INSERT OR IGNORE INTO meta VALUES('schema','" SCHEMA_VERSION "');";

static uint64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int db_fail(struct vault *v, const char *what)
{
    log_error("vault %s: %s: %s", v->dir, what, v->db ? sqlite3_errmsg(v->db) : "no database");
    v->st.errors++;
    return MAMORI_EIO;
}

static int exec(struct vault *v, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(v->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("vault %s: %s", v->dir, msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return MAMORI_EIO;
    }
    return 0;
}

static int64_t query_i64(struct vault *v, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t r = 0;
    if (sqlite3_prepare_v2(v->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        r = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return r;
}

static bool is_blob_name(const char *n)
{
    if (!*n)
        return false;
    for (; *n; n++)
        if (*n < '0' || *n > '9')
            return false;
    return true;
}

/* Blobs without a row: the agent died between writing one and recording it. */
static void sweep_orphans(struct vault *v)
{
    int dfd = dup(v->dir_fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    sqlite3_stmt *s = NULL;
    sqlite3_prepare_v2(v->db, "SELECT 1 FROM ops WHERE blob = ?1", -1, &s, NULL);
    struct dirent *e;
    while (s && (e = readdir(d))) {
        if (!is_blob_name(e->d_name))
            continue;
        uint64_t id = strtoull(e->d_name, NULL, 10);
        if (id >= v->next_blob)
            v->next_blob = id + 1;
        sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
        bool known = sqlite3_step(s) == SQLITE_ROW;
        sqlite3_reset(s);
        if (!known && unlinkat(v->dir_fd, e->d_name, 0) == 0)
            log_info("vault %s: removed blob %s that was never recorded", v->dir, e->d_name);
    }
    sqlite3_finalize(s);
    closedir(d);
}

/* Can this filesystem clone a file? Two scratch files, cloned, removed. */
static bool probe_reflink(struct vault *v)
{
    static const char a[] = ".probe-a", b[] = ".probe-b";
    int fa = openat(v->dir_fd, a, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int fb = openat(v->dir_fd, b, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool ok = fa >= 0 && fb >= 0 && write(fa, "mamori", 6) == 6 && ioctl(fb, FICLONE, fa) == 0;
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    unlinkat(v->dir_fd, a, 0);
    unlinkat(v->dir_fd, b, 0);
    return ok;
}

static int prepare(struct vault *v)
{
    static const struct {
        size_t off;
        const char *sql;
    } stmts[] = {
        {offsetof(struct vault, st_op),
         "INSERT INTO ops(actor,kind,path,path2,blob,size,mode,uid,gid,atime_ns,mtime_ns,ino,us,"
         "late,cost) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"},
        {offsetof(struct vault, st_actor),
         "INSERT INTO actors(key,exe,cmdline,uid,first_us) VALUES(?1,?2,?3,?4,?5) "
         "ON CONFLICT(key) DO UPDATE SET exe=excluded.exe, cmdline=excluded.cmdline"},
        {offsetof(struct vault, st_alert),
         "INSERT OR REPLACE INTO alerts(id,incident,actor,decision_us,freeze_us) "
         "VALUES(?1,?2,?3,?4,?5)"},
        {offsetof(struct vault, st_state),
         "INSERT INTO actors(key,first_us,condemned) VALUES(?1,?2,1) "
         "ON CONFLICT(key) DO UPDATE SET condemned=1"},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        sqlite3_stmt **p = (sqlite3_stmt **)((char *)v + stmts[i].off);
        if (sqlite3_prepare_v2(v->db, stmts[i].sql, -1, p, NULL) != SQLITE_OK)
            return db_fail(v, "preparing statements");
    }
    return 0;
}

int vault_open(struct vault *v, const char *dir, const struct vault_limits *lim, bool create,
               char *err, size_t errsz)
{
    memset(v, 0, sizeof *v);
    v->dir_fd = -1;
    v->lim = *lim;
    v->next_blob = 1;
    snprintf(v->dir, sizeof v->dir, "%s", dir);
    if (create && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errsz, "cannot create the vault directory %s: %s", dir, strerror(errno));
        return MAMORI_EIO;
    }
    v->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (v->dir_fd < 0 || fstat(v->dir_fd, &st) < 0) {
        snprintf(err, errsz, "cannot open the vault directory %s: %s", dir, strerror(errno));
        vault_close(v);
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    }
    if (st.st_uid != 0 || (st.st_mode & 077)) {
        /* root-only: pre-images hold every user's files */
        snprintf(err, errsz, "vault directory %s must be owned by root with mode 0700 "
                             "(refusing to use or repair it: move it aside)", dir);
        vault_close(v);
        return MAMORI_EPERM;
    }
    v->dev = st.st_dev;
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/index.db", dir);
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
                (create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    if (sqlite3_open_v2(db, &v->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errsz, "cannot open the vault index %s: %s", db,
                 v->db ? sqlite3_errmsg(v->db) : "out of memory");
        vault_close(v);
        return MAMORI_EIO;
    }
    /* the guard waits little (an opener is waiting on it); restore may wait */
    sqlite3_busy_timeout(v->db, create ? 100 : 2000);
    /* temp_store: no temporary file on a filesystem the guard may watch */
    if (exec(v, "PRAGMA temp_store=MEMORY;") < 0 ||
        /* no checkpoint from this connection: a checkpoint syncs the
         * filesystem, which must not stall the guard's event thread (see
         * vault_checkpoint) */
        (create && (exec(v, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            " PRAGMA wal_autocheckpoint=0;") < 0 ||
                    exec(v, SCHEMA) < 0)) ||
        prepare(v) < 0) {
        snprintf(err, errsz, "vault index %s is unusable: %s", db, sqlite3_errmsg(v->db));
        vault_close(v);
        return MAMORI_EIO;
    }
    v->used_bytes = (uint64_t)query_i64(v, "SELECT IFNULL(SUM(cost),0) FROM ops WHERE blob IS NOT NULL");
    v->rows = (uint64_t)query_i64(v, "SELECT count(*) FROM ops");
    v->next_blob = (uint64_t)query_i64(v, "SELECT IFNULL(MAX(blob),0) FROM ops") + 1;
    if (create) {
        sweep_orphans(v);
        v->reflink = probe_reflink(v);
    }
    return 0;
}

void vault_close(struct vault *v)
{
    if (v->db)
        vault_flush(v);
    sqlite3_finalize(v->st_op);
    sqlite3_finalize(v->st_actor);
    sqlite3_finalize(v->st_alert);
    sqlite3_finalize(v->st_state);
    v->st_op = v->st_actor = v->st_alert = v->st_state = NULL;
    if (v->db)
        sqlite3_close(v->db);
    v->db = NULL;
    if (v->dir_fd >= 0)
        close(v->dir_fd);
    v->dir_fd = -1;
}

int vault_actor(struct vault *v, const char *key, const char *exe, const char *cmdline, uid_t uid,
                uint64_t wall_us)
{
    sqlite3_stmt *s = v->st_actor;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, exe, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, cmdline, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, uid);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)wall_us);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_fail(v, "recording an actor");
}

struct op_row {
    const char *key, *kind, *path, *path2;
    int64_t blob; /* 0: none */
    const struct stat *st;
    uint64_t size, cost, us;
    bool late;
    bool defer; /* a save committed with the next flush */
};

int vault_flush(struct vault *v)
{
    if (!v->in_tx)
        return 0;
    v->in_tx = false;
    if (exec(v, "COMMIT") < 0) {
        exec(v, "ROLLBACK");
        v->st.errors++;
        return MAMORI_EIO;
    }
    return 0;
}

static int insert_op(struct vault *v, const struct op_row *r)
{
    /* creates, renames and deferred saves wait for a commit; a save is
     * committed at once, with whatever waits */
    bool now = r->blob != 0 && !r->defer;
    if (!now && !v->in_tx) {
        if (exec(v, "BEGIN") < 0)
            return db_fail(v, "starting a transaction");
        v->in_tx = true;
    }
    sqlite3_stmt *s = v->st_op;
    sqlite3_bind_text(s, 1, r->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->path, -1, SQLITE_STATIC);
    if (r->path2)
        sqlite3_bind_text(s, 4, r->path2, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 4);
    if (r->blob)
        sqlite3_bind_int64(s, 5, r->blob);
    else
        sqlite3_bind_null(s, 5);
    if (r->st) {
        const struct stat *st = r->st;
        sqlite3_bind_int64(s, 6, (sqlite3_int64)r->size);
        sqlite3_bind_int64(s, 7, st->st_mode);
        sqlite3_bind_int64(s, 8, st->st_uid);
        sqlite3_bind_int64(s, 9, st->st_gid);
        sqlite3_bind_int64(s, 10, (sqlite3_int64)st->st_atim.tv_sec * 1000000000 + st->st_atim.tv_nsec);
        sqlite3_bind_int64(s, 11, (sqlite3_int64)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);
        sqlite3_bind_int64(s, 12, (sqlite3_int64)st->st_ino);
    } else {
        for (int i = 6; i <= 12; i++)
            sqlite3_bind_null(s, i);
    }
    sqlite3_bind_int64(s, 13, (sqlite3_int64)r->us);
    sqlite3_bind_int(s, 14, r->late);
    sqlite3_bind_int64(s, 15, (sqlite3_int64)r->cost);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return db_fail(v, "recording an op");
    v->rows++;
    return now ? vault_flush(v) : 0;
}

static void blob_name(uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%llu", (unsigned long long)id);
}

/* Deletes the rows and blobs selected by sql (columns seq, blob, cost;
 * ?1 bound to p1, ?2 to limit, ?3 to p3 when given), oldest first, stopping early once
 * used_bytes + need fits the cap (need < 0: no early stop). Returns rows
 * dropped. */
static int drop_ops(struct vault *v, const char *sql, int64_t p1, int limit, int64_t need,
                    const char *p3)
{
    sqlite3_stmt *sel = NULL, *del = NULL;
    if (sqlite3_prepare_v2(v->db, sql, -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(v->db, "DELETE FROM ops WHERE seq = ?1", -1, &del, NULL) != SQLITE_OK) {
        sqlite3_finalize(sel);
        return db_fail(v, "selecting ops to drop");
    }
    sqlite3_bind_int64(sel, 1, p1);
    sqlite3_bind_int(sel, 2, limit);
    if (p3)
        sqlite3_bind_text(sel, 3, p3, -1, SQLITE_STATIC);
    int64_t blobs[EVICT_BATCH * 8];
    uint64_t freed = 0;
    int nb = 0, n = 0;
    if (vault_flush(v) < 0 || exec(v, "BEGIN") < 0) {
        sqlite3_finalize(sel);
        sqlite3_finalize(del);
        return MAMORI_EIO;
    }
    bool ok = true;
    while (ok && (need < 0 || v->used_bytes - freed + (uint64_t)need > v->lim.cap_bytes) &&
           nb < (int)(sizeof blobs / sizeof blobs[0]) && sqlite3_step(sel) == SQLITE_ROW) {
        sqlite3_bind_int64(del, 1, sqlite3_column_int64(sel, 0));
        ok = sqlite3_step(del) == SQLITE_DONE;
        if (ok) {
            if (sqlite3_column_type(sel, 1) != SQLITE_NULL) {
                blobs[nb++] = sqlite3_column_int64(sel, 1);
                uint64_t sz = (uint64_t)sqlite3_column_int64(sel, 2);
                freed += sz < v->used_bytes - freed ? sz : v->used_bytes - freed;
            }
            n++;
        }
        sqlite3_reset(del);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(del);
    if (!ok || exec(v, "COMMIT") < 0) {
        /* nothing happened: the rows stay, and so do their blobs */
        exec(v, "ROLLBACK");
        v->st.errors++;
        return MAMORI_EIO;
    }
    v->used_bytes -= freed;
    v->rows = v->rows > (uint64_t)n ? v->rows - (uint64_t)n : 0;
    /* rows first, then files: a crash in between leaves orphans (swept) */
    for (int i = 0; i < nb; i++) {
        char name[32];
        blob_name((uint64_t)blobs[i], name, sizeof name);
        unlinkat(v->dir_fd, name, 0);
    }
    return n;
}

/* Room for need more bytes for actor key: drop the oldest pre-images of
 * actors never condemned, only as many as needed, and none when even
 * dropping all of them would not make room. A pre-image younger than
 * VAULT_EVICT_MIN_AGE_US is dropped only for another actor: a program
 * cannot flush the copies of the first files it damaged by saving more. */
static bool make_room(struct vault *v, uint64_t need, const char *key)
{
    static const char sql[] =
        "SELECT o.seq, o.blob, o.cost FROM ops o LEFT JOIN actors a ON a.key = o.actor "
        "WHERE IFNULL(a.condemned,0) = 0 AND o.blob IS NOT NULL AND (o.us < ?1 OR o.actor <> ?3) "
        "ORDER BY o.seq LIMIT ?2";
    if (v->used_bytes + need <= v->lim.cap_bytes)
        return true;
    if (need > v->lim.cap_bytes)
        return false;
    int64_t before = (int64_t)(wall_now_us() - VAULT_EVICT_MIN_AGE_US);
    sqlite3_stmt *s = NULL;
    uint64_t evictable = 0;
    if (sqlite3_prepare_v2(v->db,
                           "SELECT IFNULL(SUM(o.cost),0) FROM ops o LEFT JOIN actors a ON "
                           "a.key = o.actor WHERE IFNULL(a.condemned,0) = 0 AND "
                           "o.blob IS NOT NULL AND (o.us < ?1 OR o.actor <> ?2)",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, before);
        sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            evictable = (uint64_t)sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    uint64_t kept = v->used_bytes > evictable ? v->used_bytes - evictable : 0;
    if (kept + need > v->lim.cap_bytes)
        return false;
    while (v->used_bytes + need > v->lim.cap_bytes) {
        int n = drop_ops(v, sql, before, EVICT_BATCH * 8, (int64_t)need, key);
        if (n <= 0)
            return false;
        v->st.evicted += (uint64_t)n;
    }
    return true;
}

/* Copies src into dst from offset 0 until EOF or max bytes; returns bytes. */
static int64_t copy_all(int src, int dst, uint64_t max, vault_progress_fn cb, void *ctx)
{
    loff_t in = 0, out = 0;
    bool plain = false; /* copy_file_range refused: read and write */
    while ((uint64_t)in < max) {
        size_t want = max - (uint64_t)in < COPY_CHUNK ? (size_t)(max - (uint64_t)in) : COPY_CHUNK;
        ssize_t n;
        if (!plain) {
            n = copy_file_range(src, &in, dst, &out, want, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP || errno == EBADF)) {
                plain = true;
                continue;
            }
        } else {
            char tmp[64 * 1024];
            size_t w = want < sizeof tmp ? want : sizeof tmp;
            n = pread(src, tmp, w, in);
            if (n > 0) {
                ssize_t off = 0;
                while (off < n) {
                    ssize_t k = pwrite(dst, tmp + off, (size_t)(n - off), out + off);
                    if (k <= 0)
                        return -1;
                    off += k;
                }
                in += n;
                out += n;
            }
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        if (cb && !cb(ctx))
            return -2;
    }
    return in;
}

int vault_save(struct vault *v, const char *key, int src, const struct stat *st, const char *path,
               uint64_t wall_us, unsigned flags, vault_progress_fn cb, void *ctx)
{
    bool late = flags & VAULT_SAVE_LATE;
    uint64_t size = (uint64_t)st->st_size;
    uint64_t id = v->next_blob++;
    char name[32];
    blob_name(id, name, sizeof name);
    int dst = openat(v->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (dst < 0) {
        log_error("vault %s: cannot create blob %s: %s", v->dir, name, strerror(errno));
        v->st.errors++;
        return MAMORI_EIO;
    }
    /* A reflink (xfs, btrfs) shares the blocks: instant whatever the size,
     * and the filesystem copies a block only when the original is written.
     * Otherwise a copy, which may take a while: not past file_max. */
    int64_t got;
    struct stat bst;
    bool cloned = size > 0 && ioctl(dst, FICLONE, src) == 0 && fstat(dst, &bst) == 0;
    uint64_t cost = size; /* what the blob may come to occupy */
    int refuse = 0;
    if (cloned) {
        /* shared blocks: at most what the original has allocated (a sparse
         * file costs what it holds, not its length) */
        size = (uint64_t)bst.st_size;
        uint64_t alloc = (uint64_t)st->st_blocks * 512u;
        cost = alloc < size ? alloc : size;
    } else if (size > v->lim.file_max) {
        refuse = VAULT_TOO_BIG;
    }
    struct statvfs sv;
    if (!refuse && fstatvfs(v->dir_fd, &sv) == 0 &&
        (uint64_t)sv.f_bavail * sv.f_frsize <
            cost + (uint64_t)sv.f_blocks * sv.f_frsize / 100u * VAULT_FREE_RESERVE_PCT)
        refuse = VAULT_FULL; /* never take the last free space from the users */
    if (!refuse && !make_room(v, cost, key))
        refuse = VAULT_FULL;
    if (!refuse && !cloned) {
        /* the content at open: no more than the size room was made for */
        got = copy_all(src, dst, size, cb, ctx);
        if (got == -2)
            refuse = VAULT_TOO_SLOW;
    }
    if (refuse) {
        close(dst);
        unlinkat(v->dir_fd, name, 0);
        if (refuse == VAULT_FULL)
            v->st.full++;
        else if (refuse == VAULT_TOO_SLOW)
            v->st.slow++;
        else
            v->st.too_big++;
        return refuse;
    }
    if (cloned) {
        got = (int64_t)size;
        v->st.cloned++;
    }
    /* changed while we copied (another writer, or the opener let go)? */
    struct stat after;
    if (fstat(src, &after) == 0 &&
        (after.st_size != st->st_size || after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != st->st_mtim.tv_nsec ||
         after.st_ctim.tv_sec != st->st_ctim.tv_sec || after.st_ctim.tv_nsec != st->st_ctim.tv_nsec))
        late = true;
    int cerr = close(dst);
    if (got < 0 || cerr < 0) {
        log_error("vault %s: cannot save %s: %s", v->dir, path, strerror(errno));
        unlinkat(v->dir_fd, name, 0);
        v->st.errors++;
        return MAMORI_EIO;
    }
    struct op_row r = {.key = key, .kind = "save", .path = path, .blob = (int64_t)id, .st = st,
                       .size = (uint64_t)got, .cost = cloned ? cost : (uint64_t)got,
                       .us = wall_us, .late = late, .defer = flags & VAULT_SAVE_DEFER};
    if (insert_op(v, &r) < 0) {
        unlinkat(v->dir_fd, name, 0);
        return MAMORI_EIO;
    }
    v->used_bytes += r.cost;
    v->st.saved++;
    v->st.saved_bytes += (uint64_t)got;
    return VAULT_SAVED;
}

int vault_mark_late(struct vault *v)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(v->db, "UPDATE ops SET late = 1 WHERE seq = ?1", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, sqlite3_last_insert_rowid(v->db));
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : db_fail(v, "marking a save late");
}

int64_t vault_last_op(const struct vault *v)
{
    return v->db ? (int64_t)sqlite3_last_insert_rowid(v->db) : 0;
}

int vault_assign(struct vault *v, int64_t seq, const char *key)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(v->db, "UPDATE ops SET actor = ?2 WHERE seq = ?1", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : db_fail(v, "assigning a save to its actor");
}

int vault_drop(struct vault *v, int64_t seq)
{
    int n = drop_ops(v, "SELECT seq, blob, cost FROM ops WHERE seq = ?1 LIMIT ?2", seq, 1, -1,
                     NULL);
    return n < 0 ? n : 0;
}

int vault_note_create(struct vault *v, const char *key, const char *path, const struct stat *st,
                      uint64_t wall_us)
{
    struct op_row r = {.key = key, .kind = "create", .path = path, .st = st, .us = wall_us};
    int rc = insert_op(v, &r);
    if (rc == 0)
        v->st.created++;
    return rc;
}

int vault_note_rename(struct vault *v, const char *key, const char *from, const char *to,
                      const struct stat *st, uint64_t wall_us)
{
    struct op_row r = {.key = key, .kind = "rename", .path = from, .path2 = to, .st = st,
                       .size = st ? (uint64_t)st->st_size : 0, .us = wall_us};
    int rc = insert_op(v, &r);
    if (rc == 0)
        v->st.renamed++;
    return rc;
}

int vault_alert(struct vault *v, const char *alert_id, const char *incident, const char *key,
                uint64_t decision_us, uint64_t freeze_us)
{
    /* one transaction: an alert is never recorded without its actor kept */
    if (vault_flush(v) < 0 || exec(v, "BEGIN") < 0)
        return db_fail(v, "recording an alert");
    sqlite3_stmt *s = v->st_alert;
    sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, incident, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)decision_us);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)freeze_us);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) {
        s = v->st_state;
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)decision_us);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
    }
    if (rc != SQLITE_DONE || exec(v, "COMMIT") < 0) {
        exec(v, "ROLLBACK");
        return db_fail(v, "recording an alert");
    }
    return 0;
}

int vault_expire(struct vault *v, uint64_t wall_now_us, unsigned max_ops)
{
    static const char sql[] =
        "SELECT o.seq, o.blob, o.cost FROM ops o LEFT JOIN actors a ON a.key = o.actor "
        "WHERE IFNULL(a.condemned,0) = 0 AND o.us < ?1 ORDER BY o.seq LIMIT ?2";
    static const char old_incidents[] =
        "SELECT o.seq, o.blob, o.cost FROM ops o JOIN actors a ON a.key = o.actor "
        "WHERE a.condemned = 1 AND o.us < ?1 ORDER BY o.seq LIMIT ?2";
    int k = 0;
    if (wall_now_us > VAULT_INCIDENT_KEEP_US) {
        k = drop_ops(v, old_incidents, (int64_t)(wall_now_us - VAULT_INCIDENT_KEEP_US),
                     (int)(max_ops < EVICT_BATCH * 8 ? max_ops : EVICT_BATCH * 8), -1, NULL);
        if (k > 0)
            v->st.expired += (uint64_t)k;
        else
            k = 0;
    }
    /* too many rows (creates and renames of a busy tree): the oldest ops of
     * actors never condemned go, whatever their age */
    static const char oldest[] =
        "SELECT o.seq, o.blob, o.cost FROM ops o LEFT JOIN actors a ON a.key = o.actor "
        "WHERE IFNULL(a.condemned,0) = 0 AND ?1 >= 0 ORDER BY o.seq LIMIT ?2";
    if (v->rows > VAULT_ROWS_MAX) {
        uint64_t over = v->rows - VAULT_ROWS_MAX;
        int r = drop_ops(v, oldest, 0, (int)(over < EVICT_BATCH * 8 ? over : EVICT_BATCH * 8), -1,
                         NULL);
        if (r > 0) {
            v->st.expired += (uint64_t)r;
            k += r;
        }
    }
    if (wall_now_us <= v->lim.keep_us)
        return k;
    int64_t before = (int64_t)(wall_now_us - v->lim.keep_us);
    int n = drop_ops(v, sql, before, (int)(max_ops < EVICT_BATCH * 8 ? max_ops : EVICT_BATCH * 8), -1, NULL);
    if (n > 0) {
        v->st.expired += (uint64_t)n;
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(v->db,
                               "DELETE FROM actors WHERE condemned = 0 AND first_us < ?1 AND "
                               "NOT EXISTS (SELECT 1 FROM ops WHERE ops.actor = actors.key)",
                               -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, before);
            sqlite3_step(s);
        }
        sqlite3_finalize(s);
    }
    return n > 0 ? n + k : k;
}

int vault_checkpoint(const char *dir)
{
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/index.db", dir);
    sqlite3 *c = NULL;
    int rc = sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                         SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c, 100);
        rc = sqlite3_wal_checkpoint_v2(c, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
    sqlite3_close(c);
    return rc == SQLITE_OK ? 0 : MAMORI_EIO;
}

int vault_dir_for(const char *path, char *out, size_t cap)
{
    char cur[PATH_MAX];
    struct stat st, up;
    if (!realpath(path, cur) || stat(cur, &st) < 0)
        return MAMORI_ENOENT;
    /* climb while the parent is on the same filesystem */
    for (;;) {
        if (!strcmp(cur, "/"))
            break;
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", cur);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            parent[1] = '\0';
        else if (slash)
            *slash = '\0';
        if (stat(parent, &up) < 0 || up.st_dev != st.st_dev)
            break;
        memcpy(cur, parent, strlen(parent) + 1);
    }
    int n = snprintf(out, cap, "%s/%s", strcmp(cur, "/") ? cur : "", VAULT_DIR_NAME);
    return n > 0 && (size_t)n < cap ? 0 : MAMORI_ERANGE;
}
