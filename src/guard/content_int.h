/* content_int.h - internals shared by the content judge's files.
 *
 *   content.c         sampling (pread), the per-sample walk and the kind decision
 *   content_stat.c    per-block statistics: chi-square, serial correlation, text
 *                     (ASCII/UTF-8/UTF-16) and interleaved-ciphertext detection,
 *                     and the chunker that judges decoded streams 4 KiB at a time
 *   content_magic.c   magic bytes, header sanity checks, the extension table
 *   content_decode.c  container validation (zlib, libarchive), PDF, base64/hex
 *
 * Nothing here is public API; guard code includes content.h only. */
#ifndef MAMORI_GUARD_CONTENT_INT_H
#define MAMORI_GUARD_CONTENT_INT_H

#include "guard/content.h"

/* Chi-square threshold for a block to count as random (255 degrees of freedom).
 * The 1e-5 upper quantile of chi2(255) is about 362 (Wilson-Hilferty), so a
 * ciphertext block is missed with probability ~1e-5 (measured: 3000 urandom
 * blocks, p99.9 = 335, max = 349). Compressed output cannot be separated at
 * 4 KiB (gzip of text: median 280, xz: 255) - see content_decode.c. */
#define CS_CHI2_RANDOM 360.0
/* Serial correlation bound in standard deviations (sd = 1/sqrt(n)). */
#define CS_SERIAL_SD 5.0
/* Smallest piece the randomness test judges. */
#define CS_MIN_BLOCK 512u
/* Bytes of decoded output a container check aims for. */
#define CD_DECODE_CAP (16u * 1024)

enum cs_class { CS_TEXT, CS_STRUCT, CS_RANDOM, CS_INTERLEAVED };
enum cs_enc { CS_ENC_BYTES, CS_ENC_UTF16LE, CS_ENC_UTF16BE };

struct cs_block {
    enum cs_class cls;
    uint32_t granules;          /* 16-byte granules in the block */
    uint32_t nontext_granules;  /* granules holding at least one non-text byte */
    double chi2;
};

/* Judge one block (len >= 1, <= CONTENT_BLOCK). When hist_acc is not NULL the
 * block's byte histogram is added to it. */
void cs_block_judge(const uint8_t *b, size_t len, enum cs_enc enc, struct cs_block *out,
                    uint32_t hist_acc[256]);
void cs_hist(const uint8_t *b, size_t len, uint32_t h[256]);
double cs_chi2_hist(const uint32_t h[256], size_t len);
bool cs_random_hist(const uint8_t *b, size_t len, const uint32_t h[256]);

/* Chunker: judges a decoded byte stream 4 KiB at a time and keeps its first
 * bytes for nested-magic checks. Lives on the caller's stack. */
#define CS_FIRST_KEEP 1024u
struct cs_chunker {
    uint8_t buf[CONTENT_BLOCK];
    size_t len;
    size_t total;
    uint8_t first[CS_FIRST_KEEP];
    size_t first_len;
    uint32_t judged;
    uint32_t random;
};
void cs_chunker_init(struct cs_chunker *c);
void cs_chunker_feed(struct cs_chunker *c, const uint8_t *p, size_t n);
void cs_chunker_finish(struct cs_chunker *c);
/* Majority of judged chunks random, and the stream does not open with a
 * nested compressed/media container (a zip of JPEGs is not ciphertext). */
bool cs_chunker_random(const struct cs_chunker *c);

enum cm_cat {
    CM_NONE,    /* no magic recognised */
    CM_DECODE,  /* compressed container we decode: gzip zlib zstd xz bzip2 zip pack */
    CM_HEADER,  /* compressed/media format checked by header only */
    CM_PDF,     /* PDF: text skeleton with compressed streams */
    CM_STRUCT,  /* structured binary: sqlite elf ole tar pe ... */
};
struct cm_magic {
    const char *type; /* "" when none */
    enum cm_cat cat;
};
void cm_detect(const uint8_t *b, size_t n, struct cm_magic *m);
/* Header sanity for CM_HEADER types (PNG IHDR CRC, JPEG segment walk, 7z CRC...). */
bool cm_header_ok(const char *type, const uint8_t *b, size_t n);
/* zlib header as git and PDF write it (78 01/5E/9C/DA). */
bool cm_zlib_header(const uint8_t *b, size_t n);
/* b opens with a compressed or media container (also inside tar / git object). */
bool cm_nested_container(const uint8_t *b, size_t n);

/* What the sample says about the end of the file. */
struct cd_tail {
    const uint8_t *p; /* last bytes of the file, or NULL when not sampled */
    size_t len;
};
struct cd_result {
    bool valid;
    bool decoded_random;
};
/* Validate a CM_DECODE container or a PDF from the head (n bytes, possibly a
 * cut-off prefix of the file). */
void cd_container(const char *type, const uint8_t *head, size_t n, const struct cd_tail *tail,
                  struct cd_result *r);

/* base64 / hex text whose decoded bytes are random. hist is the head's byte
 * histogram. Returns true for "encoded ciphertext". */
bool cd_encoded_random(const uint8_t *head, size_t n, const uint32_t hist[256]);

#endif
