/* vault.h - the pre-image vault of one filesystem: what is needed to undo
 * what an actor did to files.
 *
 * The guard records, per actor and in the order it happened, an undo log:
 *   SAVE    the bytes and metadata of a file as they were before the actor
 *           overwrote, truncated, deleted or replaced it (a blob file)
 *   CREATE  a file the actor created (an encrypted copy, a ransom note)
 *   RENAME  a rename the actor made
 * `mamori restore` (restore.c) replays it backwards.
 *
 * On disk, one directory per filesystem (root-only, 0700, flat so that one
 * fanotify ignore mark on it keeps it out of the guard's sight):
 *   index.db     SQLite in WAL mode: actors, ops, alerts (schema in vault.c)
 *   <N>          blob N: the saved bytes of one SAVE op: a reflink of the
 *                file where the filesystem can (xfs, btrfs: instant, shares
 *                blocks until the original is overwritten), else a copy
 *                (ext4, tmpfs: at most file_max bytes)
 * A blob is complete and closed before its op row is committed, so a row that
 * exists always names a whole blob; a blob without a row (the agent was
 * killed between the two) is deleted at the next open. Commits survive the
 * death of the process (WAL, synchronous=NORMAL), not a power cut.
 *
 * Bounds: the blobs together stay under cap_bytes (a reflink counts as the
 * blocks the original has allocated). To make room the oldest pre-images of
 * actors that were never condemned go first, but one younger than
 * VAULT_EVICT_MIN_AGE_US only for another actor's save (an attacker must not
 * flush the pre-images of its own first files by saving big ones; a busy
 * benign job must not lock out an attack); pre-images of a condemned actor are
 * never dropped for room. A save also needs VAULT_FREE_RESERVE_PCT of the
 * filesystem to stay free. Ops of actors never condemned expire after
 * keep_us, those of condemned actors after VAULT_INCIDENT_KEEP_US.
 *
 * Not thread-safe: one owner (the guard's event thread, or a restore). */
#ifndef MAMORI_VAULT_VAULT_H
#define MAMORI_VAULT_VAULT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define VAULT_DIR_NAME ".mamori-vault"
#define VAULT_KEY_MAX 48     /* actor key "bootid-pid-starttime" */
#define VAULT_ID_MAX 48      /* alert / incident id */
#define VAULT_EVICT_MIN_AGE_US (5ull * 60 * 1000000)          /* 5 minutes */
#define VAULT_INCIDENT_KEEP_US (30ull * 24 * 3600 * 1000000)  /* 30 days */
#define VAULT_FREE_RESERVE_PCT 1
#define VAULT_ROWS_MAX 1000000u /* ops in one index; the oldest harmless ones go first */

struct sqlite3;
struct sqlite3_stmt;

struct vault_limits {
    uint64_t cap_bytes;      /* all blobs together */
    uint64_t file_max;       /* larger files are not saved whole */
    uint64_t keep_us;        /* ops of never-condemned actors expire after this */
};

struct vault_stats {
    uint64_t saved, created, renamed;  /* ops recorded by this process */
    uint64_t saved_bytes;
    uint64_t cloned;                   /* saves made by reflink (FICLONE) */
    uint64_t full, too_big, slow, errors; /* saves that could not be made */
    uint64_t evicted, expired;         /* ops dropped for room / by age */
};

struct vault {
    struct sqlite3 *db;
    int dir_fd;
    dev_t dev;
    char dir[PATH_MAX];
    struct vault_limits lim;
    uint64_t used_bytes;     /* sum of blob costs in the index */
    uint64_t rows;           /* ops in the index (bounded by VAULT_ROWS_MAX) */
    bool reflink;            /* the filesystem clones files (probed at open) */
    bool in_tx;              /* creates/renames waiting for vault_flush or a save */
    uint64_t next_blob;
    struct sqlite3_stmt *st_op, *st_actor, *st_alert, *st_state;
    struct vault_stats st;
};

/* Called between copied chunks of a long save (the guard extends its
 * watchdog deadline for the waiting opener); returning false abandons the
 * save (VAULT_TOO_SLOW). May be NULL. */
typedef bool (*vault_progress_fn)(void *ctx);

/* Opens (creating when needed) the vault in dir; dir's parent must exist.
 * A directory that exists but is not root's with mode 0700 is refused, never
 * repaired (someone else may hold files or fds in it). create=false opens an
 * existing vault read-only (restore). err gets a sentence naming the path
 * and the reason. Returns 0 or a negative MAMORI_E* code. */
int vault_open(struct vault *v, const char *dir, const struct vault_limits *lim, bool create,
               char *err, size_t errsz);
void vault_close(struct vault *v);

/* Records the actor (once per process and vault is enough; repeats update
 * it). key identifies the actor across restarts of the agent. */
int vault_actor(struct vault *v, const char *key, const char *exe, const char *cmdline,
                uid_t uid, uint64_t wall_us);

enum vault_save_rc { VAULT_SAVED = 0, VAULT_TOO_BIG = 1, VAULT_FULL = 2, VAULT_TOO_SLOW = 3 };

/* SAVE: reflinks or copies the file behind src (st = its fstat) into a new blob, then
 * records it under path. flags: VAULT_SAVE_LATE = the opener may already
 * have written (the permission was answered before the copy; a save is also
 * marked late when the file changed while it was copied); VAULT_SAVE_DEFER =
 * commit with the next flush instead of at once (nobody waits on it: a
 * file already deleted, copied from a held fd). Returns enum vault_save_rc,
 * or a negative MAMORI_E* code. */
enum { VAULT_SAVE_LATE = 1, VAULT_SAVE_DEFER = 2 };
int vault_save(struct vault *v, const char *key, int src, const struct stat *st,
               const char *path, uint64_t wall_us, unsigned flags, vault_progress_fn cb, void *ctx);
/* The last save turned out late: the opener was let go during the copy. */
int vault_mark_late(struct vault *v);
/* The seq of the op recorded last (after VAULT_SAVED: the save's), 0 if none. */
int64_t vault_last_op(const struct vault *v);
/* Moves op seq to the undo log of actor key (a save taken before its writer
 * was known: see src/guard/guard_lease.c). Returns 0 or a negative code. */
int vault_assign(struct vault *v, int64_t seq, const char *key);
/* Drops op seq and its blob (nobody needs it after all). Returns 0 or a
 * negative code. */
int vault_drop(struct vault *v, int64_t seq);
/* CREATE and RENAME ops. They are gathered in one transaction, committed by
 * the next save (a save is committed before vault_save returns) or by
 * vault_flush(): the guard flushes after every batch of events. */
int vault_note_create(struct vault *v, const char *key, const char *path, const struct stat *st,
                      uint64_t wall_us);
/* st: the file now at `to` (its inode ties the rename to the file's SAVE
 * ops; NULL when it is gone already). */
int vault_note_rename(struct vault *v, const char *key, const char *from, const char *to,
                      const struct stat *st, uint64_t wall_us);
/* Commits what is pending. */
int vault_flush(struct vault *v);
/* The actor was condemned: alert id, the incident it belongs to (the first
 * alert of a chain of related actors), times in wall µs (freeze 0 when the
 * actor was not stopped). Its ops are kept from then on. */
int vault_alert(struct vault *v, const char *alert_id, const char *incident, const char *key,
                uint64_t decision_us, uint64_t freeze_us);
/* Drops at most max_ops expired ops (and their blobs); returns how many. */
int vault_expire(struct vault *v, uint64_t wall_now_us, unsigned max_ops);

/* Copies the index's write-ahead log into the database (SQLite checkpoint,
 * passive: it never blocks the writer), with a connection of its own. The
 * guard's connection never checkpoints (a checkpoint syncs the filesystem,
 * which may take long under heavy writes); the guard runs this from another
 * thread. Returns 0 or MAMORI_EIO. */
int vault_checkpoint(const char *dir);

/* Directory of the vault for the filesystem holding path: the filesystem's
 * mount root + "/" VAULT_DIR_NAME. Returns 0 or a negative MAMORI_E* code. */
int vault_dir_for(const char *path, char *out, size_t cap);

#endif
