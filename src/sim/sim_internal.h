/* sim_internal.h - helpers shared by the simulator's files, not used outside
 * src/sim/: a deterministic random generator, a bounded growable buffer, the
 * sandbox-confined directory walk and path opener, the corpus generators and
 * the per-file encryption transforms. */
#ifndef MAMORI_SIM_INTERNAL_H
#define MAMORI_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

/* ---- util.c: deterministic PRNG (xoshiro256**, seeded by splitmix64) ---- */
struct sim_rng {
    uint64_t s[4];
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [lo, hi] (inclusive); hi >= lo. */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);
void sim_rng_fill(struct sim_rng *r, void *buf, size_t n);

/* ---- util.c: bounded growable buffer; appends fail past max ---- */
struct sim_buf {
    unsigned char *p;
    size_t len, cap, max;
    bool overflow; /* an append hit max or allocation failed */
};
void sim_buf_init(struct sim_buf *b, size_t max);
void sim_buf_free(struct sim_buf *b);
void sim_buf_put(struct sim_buf *b, const void *data, size_t n);
void sim_buf_puts(struct sim_buf *b, const char *s);
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sim_buf_u32be(struct sim_buf *b, uint32_t v);

/* Writes all of buf to fd at its current offset; 0 or MAMORI_EIO. */
int sim_write_all(int fd, const void *buf, size_t n);
int sim_pwrite_all(int fd, const void *buf, size_t n, off_t off);
/* Sleeps ms milliseconds (restarting after signals). */
void sim_sleep_ms(long ms);
void sim_msg(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- walk.c: sandbox-confined file access ---- */
/* Opens the directory containing rel (relative to dirfd) walking each
 * component with O_NOFOLLOW; stores a pointer to the last component in *leaf.
 * Returns a directory fd (caller closes) or -1 with errno set. */
int sim_open_parent(int dirfd, const char *rel, const char **leaf);

struct sim_filelist {
    char **paths; /* relative to the sandbox root, in walk order */
    size_t n, cap;
};
struct sim_walk_opts {
    bool skip_notes;      /* leave out ransom notes */
    const char *skip_ext; /* leave out names ending in this (NULL: none) */
    bool skip_newline;    /* leave out names with '\n' (shell loop) */
    size_t max;           /* stop after this many (0 = no limit) */
};
/* Depth-first walk: the files of a directory, then its subdirectories (each
 * level sorted by name). Never follows symlinks; skips marker and manifest. */
int sim_walk(int dirfd, const struct sim_walk_opts *o, struct sim_filelist *out);
/* Directories (relative, "" = root) in the same order. */
int sim_walk_dirs(int dirfd, struct sim_filelist *out);
void sim_filelist_free(struct sim_filelist *l);
int sim_filelist_add(struct sim_filelist *l, const char *path);

/* ---- generators (gen_text.c, gen_binary.c, gen_container.c) ----
 * Each writes one new file at the absolute path `path` (created O_EXCL),
 * with content sized around `size` bytes, drawn from rng. */
struct sim_gen {
    struct sim_rng *rng;
    const char *path;
    size_t size;
};
void sim_text_words(struct sim_rng *r, struct sim_buf *b, size_t bytes);
int sim_write_new(const char *path, const void *data, size_t n);
int sim_gen_text(const struct sim_gen *g);
int sim_gen_log(const struct sim_gen *g);
int sim_gen_csv(const struct sim_gen *g);
int sim_gen_csrc(const struct sim_gen *g);
int sim_gen_header(const struct sim_gen *g);
int sim_gen_python(const struct sim_gen *g);
int sim_gen_pdf(const struct sim_gen *g);
int sim_gen_png(const struct sim_gen *g);
int sim_gen_jpeg(const struct sim_gen *g);
int sim_gen_disk(const struct sim_gen *g);
int sim_gen_docx(const struct sim_gen *g);
int sim_gen_xlsx(const struct sim_gen *g);
int sim_gen_sqlite(const struct sim_gen *g);
int sim_gen_targz(const struct sim_gen *g);

/* ---- encrypt.c: one file, one behaviour ---- */
struct sim_key {
    unsigned char key[32];
};
int sim_key_new(struct sim_key *k);
/* Applies mode's per-file transform to rel (relative to dirfd). Driver modes
 * (threads, workers, ...) map to full. Returns 0 or a MAMORI_E* code. */
int sim_transform_file(int dirfd, const char *rel, enum sim_mode mode, const char *ext,
                       const struct sim_key *k);
/* Writes the ransom note into directory rel ("" = root) unless present. */
int sim_drop_note(int dirfd, const char *reldir);

#endif
