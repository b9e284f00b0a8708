/* sim.h - the public face of the ransomware simulator (`mamori sim`).
 *
 * The simulator works only inside a sandbox directory it created itself: a
 * directory holding the marker file SIM_MARKER. Every entry point that writes
 * into a directory first opens it as a struct sim_sandbox (sandbox.c), which
 * refuses "/", directories without a marker, markers that are symlinks and
 * paths that leave the sandbox. All later file access goes through the
 * sandbox's directory descriptor with O_NOFOLLOW on every path component.
 *
 * Data flow:  sim_corpus_create()  -> files + SIM_MANIFEST
 *             sim_ransom_run()     -> encrypted files (per mode, modes.c)
 *             sim_verify()         -> counts of intact/damaged/missing/extra
 * Library functions return 0 or a negative MAMORI_E* code and write a short
 * English reason into a caller-provided message buffer; they never exit. */
#ifndef MAMORI_SIM_SIM_H
#define MAMORI_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SIM_MARKER ".mamori-sim-sandbox"
#define SIM_MANIFEST ".mamori-sim-manifest"
#define SIM_NOTE "README_RESTORE_FILES.txt"
#define SIM_MSG_MAX 512
#define SIM_PATH_MAX 4096

/* An opened sandbox: the resolved path and a directory descriptor. */
struct sim_sandbox {
    char root[SIM_PATH_MAX]; /* realpath of the sandbox directory */
    int dirfd;               /* O_DIRECTORY descriptor of root, or -1 */
};

/* Opens DIR as a sandbox, or refuses (MAMORI_EPERM) with a reason in msg. */
int sim_sandbox_open(struct sim_sandbox *sb, const char *dir, char *msg, size_t msgsz);
void sim_sandbox_close(struct sim_sandbox *sb);
/* Maps FILE (absolute or relative to the cwd) to a path relative to the
 * sandbox root; refuses files outside it and the marker/manifest. */
int sim_sandbox_relpath(const struct sim_sandbox *sb, const char *file, char *rel,
                        size_t relsz, char *msg, size_t msgsz);
/* Creates DIR (must not exist, or be empty) and writes the marker into it. */
int sim_sandbox_create(struct sim_sandbox *sb, const char *dir, char *msg, size_t msgsz);
/* True for names the simulator never touches (marker, manifest). */
bool sim_is_reserved(const char *relpath);

/* ---- corpus (corpus.c) ---- */
struct sim_corpus_opts {
    unsigned files;  /* number of files (default 200) */
    uint64_t seed;   /* determinism: same seed, same bytes */
    double scale;    /* multiplies content sizes (default 1.0) */
};
struct sim_corpus_stats {
    unsigned files;
    uint64_t bytes;
};
int sim_corpus_create(const char *dir, const struct sim_corpus_opts *o,
                      struct sim_corpus_stats *st, char *msg, size_t msgsz);

/* ---- manifest and verify (manifest.c) ---- */
#define SIM_VERIFY_LIST_MAX 50
struct sim_verify_result {
    unsigned total, intact, damaged, missing, extra;
    unsigned ndamaged_listed;
    char damaged_files[SIM_VERIFY_LIST_MAX][256];
};
/* Hashes every regular file under sb (except marker/manifest) into the manifest. */
int sim_manifest_write(const struct sim_sandbox *sb, char *msg, size_t msgsz);
int sim_verify(const struct sim_sandbox *sb, struct sim_verify_result *r, char *msg,
               size_t msgsz);
/* One JSON line (no newline) describing r into buf. */
int sim_verify_json(const struct sim_verify_result *r, char *buf, size_t bufsz);

/* ---- ransomware behaviours (encrypt.c, modes.c) ---- */
enum sim_mode {
    SIM_MODE_FULL,
    SIM_MODE_INTERMITTENT16,
    SIM_MODE_INTERMITTENT1M,
    SIM_MODE_PERCENT5,
    SIM_MODE_HEADER4K,
    SIM_MODE_COPY_DELETE,
    SIM_MODE_RENAME_ENCRYPT,
    SIM_MODE_BASE64,
    SIM_MODE_HEX,
    SIM_MODE_MMAP,
    SIM_MODE_THREADS,
    SIM_MODE_FORK_PER_FILE,
    SIM_MODE_WORKERS,
    SIM_MODE_SHELL_LOOP,
    SIM_MODE_SLOW,
    SIM_MODE_NOTES_FIRST,
    SIM_MODE_COUNT_
};
const char *sim_mode_name(enum sim_mode m);
int sim_mode_parse(const char *s, enum sim_mode *out);

#define SIM_PIDS_MAX 256
struct sim_ransom_opts {
    enum sim_mode mode;
    char ext[32];        /* appended by copy-delete / rename-encrypt */
    long delay_ms;       /* between files; -1 = mode default */
    unsigned workers;    /* 0 = mode default */
    unsigned max_files;  /* 0 = all */
    bool note;           /* drop ransom notes after each directory */
    const char *self_exe; /* for shell-loop; NULL = /proc/self/exe */
};
struct sim_ransom_result {
    unsigned files;      /* files transformed */
    unsigned failed;     /* files that could not be transformed */
    unsigned npids;
    pid_t pids[SIM_PIDS_MAX];
};
int sim_ransom_run(const struct sim_sandbox *sb, const struct sim_ransom_opts *o,
                   struct sim_ransom_result *r, char *msg, size_t msgsz);
/* Full in-place encryption of one file, path relative to the sandbox root. */
int sim_encrypt_one(const struct sim_sandbox *sb, const char *rel, char *msg, size_t msgsz);

#endif
