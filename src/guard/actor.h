/* actor.h - who is doing what: processes, actors, and what the guard
 * remembers about files.
 *
 * An actor is the set of processes that act as one program: a process and
 * the workers it forks (same executable), its threads (fanotify reports the
 * thread-group id), and later, by the lineage rules in guard.c, one-shot
 * encryptors started in a loop and the loop driving them. Evidence and the
 * score are kept per actor, so twenty cooperating workers add up to one
 * actor, not twenty innocent-looking ones.
 *
 * Three bounded tables, all owned by struct guard and touched only by the
 * event thread:
 *   ptab   pid -> struct gproc           (GPROC_MAX, evicts least recent)
 *   atab   actors                        (ACTOR_MAX, evicts least recent harmless)
 *   itab   (dev, inode, birth time) -> struct inode_ent, the "before"
 *          fingerprint of files the guard has seen opened (INODE_MAX, evicts
 *          least recent), with by_path: the file last seen under a name
 */
#ifndef MAMORI_GUARD_ACTOR_H
#define MAMORI_GUARD_ACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "guard/content.h"
#include "guard/proc.h"
#include "vault/vault.h"

#define GPROC_MAX 4096u  /* power of two */
#define ACTOR_MAX 512u
#define INODE_MAX 65536u /* power of two */
#define PROBE 8u         /* hash probe window */
#define ACTOR_MEMBERS_MAX 256u
#define ACTOR_FILES_MAX 32u
#define ACTOR_RING 64u   /* recent reads / new random files / deleted originals */
#define ACTOR_NOTES_MAX 8u
#define NOTE_DIRS 4u
#define ACTOR_PATH_MAX 512u

/* Indicators: each named in alerts. */
enum indicator {
    IND_STRUCTURED_TO_RANDOM, /* existing structured/text file overwritten with random bytes */
    IND_PARTIAL_ENCRYPTION,   /* ... with random blocks among intact ones (intermittent) */
    IND_ENCODED_CIPHERTEXT,   /* ... with base64/hex text of random bytes */
    IND_TYPE_BROKEN,          /* the extension promises a type the new bytes do not carry */
    IND_COPY_THEN_DELETE,     /* random new file written, the original it read deleted */
    IND_ORIGINAL_TRUNCATED,   /* random new file written, the original truncated */
    IND_EXTENSION_RENAME,     /* files renamed to an appended or unknown extension */
    IND_RANSOM_NOTE,          /* the same new text file in several directories */
    IND_DECOY,                /* a decoy file placed by the guard was modified/renamed/deleted */
    IND_LINEAGE,              /* same program started again by the parent of a stopped encryptor */
    IND_DRIVER,               /* a process that keeps starting encryptors */
    IND_COUNT
};
const char *indicator_name(enum indicator i);

struct gproc {
    bool used;
    bool untouchable;      /* PID 1, kernel thread, the guard or its ancestors */
    bool trusted;          /* allow-listed executable */
    bool acted;            /* signalled by us */
    bool vault_trusted;    /* its writes need no pre-images (guard_vault.c) */
    struct proc_info info;
    uint64_t exe_hash;
    uint32_t actor;        /* index + 1 into atab, 0 none */
    uint64_t last_us;
    uint16_t oneshot_condemned; /* children condemned after they had already exited */
    uint64_t oneshot_exe_hash;
    char oneshot_incident[VAULT_ID_MAX]; /* incident of those children */
};

struct ring_ent {
    uint64_t path_hash;
    uint64_t stem_hash;    /* path without its last extension */
    uint64_t size;
    uint64_t us;
};

struct note_ent {
    uint64_t content_hash;
    uint8_t ndirs;
    uint64_t dir_hash[NOTE_DIRS];
};

struct actor {
    bool used;
    bool condemned;
    pid_t root;
    pid_t parent;
    uint64_t exe_hash;
    char exe[PROC_EXE_MAX];
    char cmdline[PROC_CMDLINE_MAX];
    uid_t uid;
    int score;
    uint32_t indicators;   /* bit per enum indicator */
    uint64_t first_write_us, last_us, decision_us, freeze_us;
    uint32_t damaged;      /* files with damage evidence */
    size_t nmembers;
    pid_t members[ACTOR_MEMBERS_MAX];
    size_t nfiles;
    char files[ACTOR_FILES_MAX][ACTOR_PATH_MAX];
    struct ring_ent reads[ACTOR_RING];   size_t nreads;
    struct ring_ent newrand[ACTOR_RING]; size_t nnewrand;
    struct ring_ent deleted[ACTOR_RING]; size_t ndeleted;
    struct note_ent notes[ACTOR_NOTES_MAX];
    /* The write gate: the one existing file this actor opened for writing
     * and that has not been judged yet (see guard_events.c, note 6). */
    dev_t gate_dev;
    ino_t gate_ino;
    uint64_t gate_until_us;
    uint32_t ext_renames;
    /* The vault (guard_vault.c): key across agent restarts, alert id, the
     * incident (first alert of a chain of related actors), vaults that
     * know the actor (bit per filesystem), pre-images kept. */
    char vkey[VAULT_KEY_MAX];
    char alert_id[VAULT_ID_MAX];
    char incident[VAULT_ID_MAX];
    uint32_t vault_seen;
    uint32_t preimages;
};

struct inode_ent {
    bool used;
    bool known;            /* before-fingerprint valid */
    bool writing;          /* modified since the last close */
    bool decoy;
    bool muted;            /* FAN_MODIFY ignored until the next close */
    bool open_ignored;     /* FAN_OPEN_PERM ignored: fingerprint held */
    uint64_t path_hash;    /* path when last seen, for deletions by name */
    uint64_t stem_hash;
    dev_t dev;
    ino_t ino;
    int64_t btime_ns;      /* birth time, 0 unknown: an inode number that the
                            * filesystem reuses for a new file is a new entry */
    uint64_t last_us;
    uint64_t size;         /* size when fingerprinted */
    int64_t mtime_ns;
    enum content_kind before;
    char before_type[12];
    uint64_t last_peek_us;
    int hold;              /* held fd + 1 (guard_vault.c), 0 none */
    uint64_t vault_key;    /* hash of the actor key whose pre-image of this content is saved */
    uint32_t reader_ref;   /* the last actor that opened it (ref; validated by reader_key) */
    uint64_t reader_key;
    int64_t vault_mtime_ns;
    uint64_t vault_size;
    bool leased;           /* read lease on hold + FAN_OPEN_PERM ignored (guard_lease.c) */
    int64_t lease_op;      /* vault op saved at a lease break, writer not known yet */
};

struct tables {
    struct gproc ptab[GPROC_MAX];
    struct actor atab[ACTOR_MAX];
    struct inode_ent itab[INODE_MAX];
    uint32_t by_path[INODE_MAX];   /* path hash -> itab index + 1 (validated on lookup) */
    /* called before an entry with a held fd or a lease-break save is evicted
     * (the guard unleases it, and keeps the save for its writer) */
    void (*on_evict)(void *ctx, struct inode_ent *e);
    void *evict_ctx;
};

uint64_t hash_bytes(const void *p, size_t n);
uint64_t hash_str(const char *s);
/* Hash of path without its last extension ("a/b.docx.locked" -> "a/b.docx"). */
uint64_t hash_stem(const char *path);

struct gproc *ptab_find(struct tables *t, pid_t pid);
/* Finds or makes the entry for pid; a fresh entry has used=true and info
 * zeroed: the caller fills it. Never fails (evicts the least recent). */
struct gproc *ptab_slot(struct tables *t, pid_t pid, uint64_t now_us);

struct actor *actor_get(struct tables *t, uint32_t ref);
/* A new actor for process gp; evicts the least recent actor that is not
 * condemned and has no score when full. */
struct actor *actor_new(struct tables *t, struct gproc *gp, uint64_t now_us);
uint32_t actor_ref(struct tables *t, const struct actor *a);
bool actor_has_member(const struct actor *a, pid_t pid);
void actor_add_member(struct actor *a, pid_t pid);
void actor_add_file(struct actor *a, const char *path);
void ring_push(struct ring_ent *ring, size_t *n, const struct ring_ent *e);

/* An entry matches dev and ino, and the birth time when both sides know it
 * (btime_ns 0: unknown, as on filesystems without statx birth times). */
struct inode_ent *itab_find(struct tables *t, dev_t dev, ino_t ino, int64_t btime_ns);
struct inode_ent *itab_slot(struct tables *t, dev_t dev, ino_t ino, int64_t btime_ns,
                            uint64_t now_us);
/* Remembers the path of an entry, so that a deletion (which names a path,
 * not an inode) finds what the guard knew of the file. */
void itab_set_path(struct tables *t, struct inode_ent *e, const char *path);
struct inode_ent *itab_by_path(struct tables *t, uint64_t path_hash);

#endif
