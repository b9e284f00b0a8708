/* guard_int.h - the guard's internal state, shared by guard.c (set-up and
 * event loop), guard_events.c (what each event means), respond.c (freeze and
 * kill), alert.c (alert lines) and decoy.c. Not for use outside src/guard. */
#ifndef MAMORI_GUARD_GUARD_INT_H
#define MAMORI_GUARD_GUARD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "guard/actor.h"
#include "guard/content.h"
#include "guard/fan.h"
#include "guard/guard.h"
#include "guard/proc.h"
#include "guard/watchdog.h"

#define DECOY_MAX (GUARD_PROTECT_MAX * 2)
#define GUARD_LINE_MAX (64u * 1024) /* bound of one JSON line */

#define HELD_MAX 256              /* opens held by the write gate at once */
#define ORPHANS_MAX 64            /* lease-break saves kept past their inode entry */
#define HOLD_MAX 8192u            /* fds kept so deleted files stay readable */
#define USERS_MAX 4096u           /* user names known to alerts */
#define GUARD_HOLD 2              /* ev_open_perm: answer later (held) */

struct held_open {
    int fd;
    pid_t pid;
    uint32_t actor;
    dev_t dev;
    ino_t ino;
    uint64_t deadline_us;
};

struct hold_ref {
    struct inode_ent *ie;
    dev_t dev;
    ino_t ino;
    int64_t btime_ns; /* the entry may since stand for a new file under the same number */
};

struct gvault_fs {
    dev_t dev;
    bool ok;
    bool lease;      /* read leases work here (guard_lease.c) */
    struct vault v;
};

/* A deleted file kept by its held fd while the guard waits for evidence
 * (guard_vault.c, save_unlinked). */
#define PENDING_MAX 4096u
struct pending {
    int fd;
    struct gvault_fs *fs;
    uint32_t actor, reader;        /* refs, validated by key */
    uint64_t reader_key;
    uint64_t since_us;
    char key[VAULT_KEY_MAX];       /* the deleter's actor key */
    char *path;                    /* heap */
};

/* guard_vault.c's state: one vault per protected filesystem, held fds. */
struct gvault {
    size_t n;
    struct gvault_fs fs[FAN_FS_MAX];
    char boot[9];
    uint64_t last_expire_us, last_full_log_us, last_flush_us, last_review_us;
    size_t hold_next, hold_max;      /* hold_max <= HOLD_MAX, from RLIMIT_NOFILE */
    struct hold_ref holds[HOLD_MAX]; /* ring: the oldest hold is closed first */
    struct trust_ent {
        char exe[PROC_EXE_MAX];
        ino_t ino;
        int64_t mtime_ns;
        bool ok;
    } trust[GUARD_ALLOW_MAX];        /* verdicts of pkg_verify, per binary */
    size_t npending;
    struct pending pending[PENDING_MAX];
    /* the checkpoint thread (guard_vault.c): reads only these */
    pthread_t ckpt;
    bool ckpt_running;
    _Atomic bool ckpt_stop;
    char ckpt_dir[FAN_FS_MAX][PATH_MAX];
};

struct guard_stats {
    uint64_t perm_events, write_events, name_events, alerts, overflows;
    uint64_t max_event_us; /* longest time one content event took to judge */
    uint64_t held, denied;
    uint64_t open_unknown; /* opens whose flags /proc could not show (taken as writes) */
    uint64_t leases, lease_breaks; /* guard_lease.c */
};

struct guard {
    const struct guard_opts *o;
    struct fan fan;
    struct proc_self self;
    struct watchdog wd;
    struct tables *t;            /* heap: large bounded tables */
    struct gvault *gv;           /* heap; NULL when the vault is off */
    struct content_sample *smp;  /* scratch sample (heap) */
    char *linebuf;               /* one alert line (heap, GUARD_LINE_MAX) */
    uint64_t now;                /* monotonic µs at the current event batch */
    size_t ndecoys;
    char decoys[DECOY_MAX][PATH_MAX];
    uint64_t alert_counter;
    size_t nheld;
    struct held_open held[HELD_MAX];
    uint64_t last_slow_log_us;
    uint64_t alarm_until_us;     /* after a condemnation: see every open again */
    size_t nusers;
    struct guard_user {
        uid_t uid;
        char name[32];
    } *users;                    /* heap, USERS_MAX, from alert_load_users */
    unsigned test_stall_ms;      /* fault injection: MAMORI_TEST_STALL_MS */
    bool test_no_perm;           /* as without permission events: MAMORI_TEST_NO_PERM_EVENTS */
    int lease_sigfd;             /* lease-break notices (guard_lease.c), -1 none */
    struct lease_gate {          /* the write gate for leased files (guard_lease.c) */
        uint64_t until_us;       /* a broken lease's first write not judged yet */
        dev_t dev;
        ino_t ino;
        size_t n;
        struct lease_wait {
            int fd;
            uint64_t deadline_us;
        } deferred[HELD_MAX];
        size_t norphans;         /* lease-break saves whose inode entry was */
        struct lease_orphan {    /* evicted before the first write claimed them */
            dev_t dev;
            ino_t ino;
            int64_t op;
        } orphans[ORPHANS_MAX];
    } lgate;
    struct guard_stats st;
};

/* guard_events.c */
/* FAN_RESP_ALLOW, FAN_RESP_DENY, or GUARD_HOLD: the event is kept in
 * g->held (fd still open) and answered by held_review(). */
int ev_open_perm(struct guard *g, pid_t pid, int fd);
/* Answers held opens whose gate opened, whose actor was condemned, or whose
 * time is up; with all=true answers every one (allow unless condemned). */
void held_review(struct guard *g, bool all);
void ev_write(struct guard *g, uint64_t mask, pid_t pid, int fd);
void ev_name(struct guard *g, const struct fan_name_event *ne);
bool guard_path_protected(const struct guard *g, const char *path);

/* respond.c: stop (and with kill, end) every member of the actor and its
 * descendants; never an untouchable or allow-listed process. Returns the
 * wall-clock µs when the signals were sent. */
uint64_t respond_actor(struct guard *g, struct actor *a, bool kill_too);
/* Stops one more process joining a condemned actor. */
void respond_pid(struct guard *g, struct actor *a, pid_t pid);

/* alert.c */
void alert_emit(struct guard *g, struct actor *a);
/* User names for alerts, read once before any mark: the guard must not open
 * /etc/passwd while / may be watched (it would wait on its own event). */
void alert_load_users(struct guard *g);
void alert_ready(struct guard *g);
void alert_stopped(struct guard *g);
void alert_line(struct guard *g, const char *line, size_t len);

/* guard_vault.c */
int gv_open(struct guard *g);     /* before the filesystems are marked */
void gv_mark(struct guard *g);    /* after; again after every flush of ignore marks */
void gv_start(struct guard *g);   /* after gv_mark: the checkpoint thread */
void gv_close(struct guard *g);
void gv_stats(const struct guard *g, struct vault_stats *out);
void gv_actor_key(struct guard *g, struct actor *a, const struct proc_info *root);
/* wmode: proc_opening_for_write() of the opener */
void gv_open_file(struct guard *g, struct actor *a, int fd, const struct stat *st,
                  const char *path, struct inode_ent *ie, int wmode);
/* A condemned actor's open was denied: the file O_CREAT made stays behind. */
void gv_denied(struct guard *g, struct actor *a, int fd, const char *path);
void gv_delete(struct guard *g, struct actor *a, const char *path);
void gv_rename(struct guard *g, struct actor *a, const char *from, const char *to);
void gv_alert(struct guard *g, struct actor *a);
void gv_tick(struct guard *g);
/* Commits the creates and renames recorded so far: at most every
 * FLUSH_EVERY_US unless now (a save commits them at once anyway). */
void gv_flush(struct guard *g, bool now);
bool gv_is_restore(const struct guard *g, const struct proc_info *pi);
/* A vault.trusted_exe program run by root, whose binary is the one verified
 * against dpkg's record at start. */
bool gv_trusted(struct guard *g, const struct proc_info *pi);
/* A deleted name: drop the held fd of its file (no pre-image wanted). */
void gv_release(struct guard *g, const char *path);
/* The vault of filesystem dev, NULL if none. */
struct gvault_fs *gv_fs_of(struct guard *g, dev_t dev);
/* The actor's row in that vault (once). */
bool gv_ensure_actor(struct guard *g, struct gvault_fs *f, struct actor *a);

/* guard_lease.c: read leases so that rereads skip the guard (vault on) */
void gl_open(struct guard *g);   /* after gv_open, before the marks: probes, signalfd */
void gl_close(struct guard *g);
/* After a read-open by an actor that gets pre-images, of a held file. */
void gl_place(struct guard *g, struct inode_ent *ie, int event_fd);
/* Before a held fd is closed or let go: the mark, then (a writer waiting on
 * the lease gets its pre-image) the lease. */
void gl_unlease(struct guard *g, struct inode_ent *ie);
/* Before an inode entry is reused: gl_unlease, and a save still waiting for
 * its writer's first write is kept by inode for gl_claim. */
void gl_evict(struct guard *g, struct inode_ent *ie);
void gl_release_all(struct guard *g); /* the alarm: every open is gated again */
void gl_drain(struct guard *g);       /* lease-break notices */
void gl_review(struct guard *g, bool all); /* deferred breaks whose gate opened */
/* The first write event of an inode whose pre-image a lease break took:
 * a = the writer's actor (NULL if none), wants_preimages = not trusted. */
void gl_claim(struct guard *g, struct inode_ent *ie, struct actor *a, bool wants_preimages);

/* decoy.c */
void decoy_place(struct guard *g);
void decoy_remove(struct guard *g);
bool decoy_is(const struct guard *g, const char *path);

#endif
