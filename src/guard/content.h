/* content.h - what a file's bytes look like, judged from a bounded sample.
 *
 * The guard never reads whole files. content_read_sample() takes a bounded
 * sample of an open file (the head, a few blocks spread over the file, the
 * tail: at most CONTENT_SAMPLE_MAX bytes); content_judge() classifies a sample
 * block by block (chi-square of the byte histogram per block, not whole-file
 * entropy, so partial encryption shows), recognises file types by magic bytes
 * and by file-name extension, checks that compressed containers really decode
 * and that what they decode to is not itself random, and recognises
 * ciphertext hidden in base64 or hex text.
 *
 * The same judge runs on the small head sample taken when a file is opened
 * (the "before" fingerprint) and on the full sample taken after it is written
 * (the "after"); the guard's scoring compares the two. Pure functions: no
 * global state, no allocation beyond what the caller passes in, thread-safe. */
#ifndef MAMORI_GUARD_CONTENT_H
#define MAMORI_GUARD_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTENT_BLOCK 4096u          /* unit of the per-block randomness test */
#define CONTENT_HEAD_MAX (64u * 1024) /* bytes of the head kept in a sample */
#define CONTENT_SPREAD_BLOCKS 8u     /* blocks sampled across the rest of the file */
#define CONTENT_SAMPLE_MAX (CONTENT_HEAD_MAX + (CONTENT_SPREAD_BLOCKS + 1) * CONTENT_BLOCK)

enum content_kind {
    CK_EMPTY = 0,   /* no bytes */
    CK_TEXT,        /* text: ASCII/UTF-8 (or UTF-16) with few control bytes */
    CK_STRUCTURED,  /* binary with structure: known non-compressed format or low entropy */
    CK_COMPRESSED,  /* known compressed/archive/media format whose header is valid and,
                       where we can decode it, decodes to non-random data */
    CK_MIXED,       /* some sampled blocks random, the others text/structured:
                       partial (intermittent) encryption looks like this */
    CK_RANDOM,      /* sampled blocks indistinguishable from uniform random bytes
                       and no valid container: ciphertext */
    CK_ENCODED,     /* base64 or hex text whose decoded bytes are random */
};

/* A bounded sample of one file. Filled by content_read_sample() or by hand
 * (tests, the open-time fingerprint, which fills only the head). */
struct content_sample {
    uint64_t file_size;
    size_t head_len;                        /* valid bytes in head */
    uint8_t head[CONTENT_HEAD_MAX];
    size_t nblocks;                         /* spread blocks (tail last) */
    uint64_t block_off[CONTENT_SPREAD_BLOCKS + 1];
    size_t block_len[CONTENT_SPREAD_BLOCKS + 1];
    uint8_t blocks[CONTENT_SPREAD_BLOCKS + 1][CONTENT_BLOCK];
};

struct content_verdict {
    enum content_kind kind;
    char magic_type[12];   /* type recognised from the bytes: "pdf", "zip", "gzip", "zstd",
                              "xz", "bzip2", "7z", "png", "jpeg", "gif", "sqlite", "elf",
                              "tar", "ole" (old MS Office), ... or "" */
    char ext_type[12];     /* type the file-name extension promises, same vocabulary plus
                              "text" (txt, csv, c, log, md, json, xml, html, ...);
                              "" when the extension says nothing */
    bool magic_mismatch;   /* ext_type names a binary type the bytes do not carry */
    bool container_valid;  /* a compressed container decoded without error; for formats
                              checked by header only (png, jpeg, gif, 7z, rar, media) and
                              for PDF: the header (and PDF's %%EOF, first streams) checked */
    bool decoded_random;   /* ...but what it decoded to is random: ciphertext inside */
    uint32_t blocks;       /* blocks judged (head split into CONTENT_BLOCK pieces + spread) */
    uint32_t random_blocks;
    uint32_t text_blocks;
    double random_fraction; /* random_blocks / blocks */
    double nontext_fraction; /* for text-like content: share of bytes that are not text
                                (counted in 16-byte granules: a granule holding any
                                non-text byte counts whole, so ciphertext spliced into
                                text at 16-byte steps shows as ~0.5, not ~0.3) */
    uint32_t interleaved_blocks; /* text blocks with random bytes spliced in (not counted
                                    in random_blocks) */
};

/* Read a bounded sample of the open file fd (pread only; the file offset is
 * not moved). Returns 0 or a negative MAMORI_E* code. */
int content_read_sample(int fd, struct content_sample *s);

/* Classify the sample. name is the file's base name or path (for the
 * extension), may be NULL. Never fails; never reads outside the sample. */
void content_judge(const struct content_sample *s, const char *name, struct content_verdict *v);

/* Chi-square statistic of the byte histogram of buf against the uniform
 * distribution (255 degrees of freedom). Uniform random 4 KiB blocks give
 * values around 255 +- 23; text and most structured data give thousands. */
double content_chi2(const uint8_t *buf, size_t len);

/* True when a block of at least 512 bytes is indistinguishable from uniform
 * random bytes by the chi-square test (and a serial-correlation check). */
bool content_block_random(const uint8_t *buf, size_t len);

/* The type a file name's extension promises ("" if none); see ext_type above. */
const char *content_ext_type(const char *name);

const char *content_kind_name(enum content_kind k);

#endif
