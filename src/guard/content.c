/* content.c - sample a file and decide what its bytes are (see content.h).
 *
 * content_read_sample() preads the head (up to CONTENT_HEAD_MAX), up to
 * CONTENT_SPREAD_BLOCKS 4 KiB blocks at evenly spaced aligned offsets after
 * it, and the tail block; nothing is read twice.
 *
 * content_judge() walks the sample once, block by block (content_stat.c),
 * recognises the magic (content_magic.c), validates containers and looks for
 * encoded ciphertext (content_decode.c), then decides the kind:
 *
 *   1. no bytes                                         -> EMPTY
 *   2. base64/hex text decoding to random bytes         -> ENCODED
 *   3. a decodable container (gzip, zstd, xz, bzip2, zip, zlib, git pack, PDF)
 *      that decodes: random inside -> RANDOM, else COMPRESSED (a PDF without
 *      random blocks -> STRUCTURED). Random-looking blocks elsewhere in a valid
 *      container are its payload and do not make it MIXED.
 *   4. media / archive formats checked by header         -> COMPRESSED
 *   5. otherwise, by blocks (R random, I interleaved, n judged):
 *        R >= 90% of n                                   -> RANDOM
 *        R + I >= 1 and (>= 10% of n, or the first block is hit, or the
 *        remaining blocks are mostly text: text never holds random 4 KiB)
 *                                                        -> MIXED
 *        >= 90% text blocks and no binary magic          -> TEXT
 *        else                                            -> STRUCTURED
 * A broken container (magic present, decode fails) falls through to 5. */
#include "guard/content.h"

#include "core/err.h"
#include "guard/content_int.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- sampling ------------------------------------------------------------ */

static ssize_t pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t k = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static int add_block(int fd, struct content_sample *s, uint64_t off, size_t len)
{
    size_t i = s->nblocks;
    ssize_t k = pread_full(fd, s->blocks[i], len, off);
    if (k < 0)
        return MAMORI_EIO;
    if (k == 0)
        return 0; /* the file shrank under us */
    s->block_off[i] = off;
    s->block_len[i] = (size_t)k;
    s->nblocks++;
    return 0;
}

int content_read_sample(int fd, struct content_sample *s)
{
    if (fd < 0 || !s)
        return MAMORI_EINVAL;
    s->file_size = 0;
    s->head_len = 0;
    s->nblocks = 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return MAMORI_EIO;
    if (!S_ISREG(st.st_mode))
        return MAMORI_EINVAL;
    uint64_t size = (uint64_t)st.st_size;
    s->file_size = size;
    size_t want = size < CONTENT_HEAD_MAX ? (size_t)size : CONTENT_HEAD_MAX;
    ssize_t got = pread_full(fd, s->head, want, 0);
    if (got < 0)
        return MAMORI_EIO;
    s->head_len = (size_t)got;
    if ((size_t)got < want || size <= CONTENT_HEAD_MAX)
        return 0;

    size_t tail_len = size - CONTENT_HEAD_MAX < CONTENT_BLOCK ? (size_t)(size - CONTENT_HEAD_MAX)
                                                               : CONTENT_BLOCK;
    uint64_t tail_off = size - tail_len;
    uint64_t slots = (tail_off - CONTENT_HEAD_MAX) / CONTENT_BLOCK;
    uint64_t k = slots < CONTENT_SPREAD_BLOCKS ? slots : CONTENT_SPREAD_BLOCKS;
    /* Slot i sits at the middle of the i-th of k equal stretches; consecutive
     * slots differ by >= slots/k >= 1, so blocks never overlap. */
    for (uint64_t i = 0; i < k; i++) {
        uint64_t slot = (2 * i + 1) * slots / (2 * k);
        int rc = add_block(fd, s, CONTENT_HEAD_MAX + slot * CONTENT_BLOCK, CONTENT_BLOCK);
        if (rc < 0)
            return rc;
    }
    return add_block(fd, s, tail_off, tail_len);
}

/* ---- judging ------------------------------------------------------------- */

struct tally {
    uint32_t n, random, inter, text;
    uint64_t granules, nontext_granules;
    bool first_hit; /* the first block of the file is random or interleaved */
};

static void tally_block(struct tally *t, const struct cs_block *b)
{
    if (t->n == 0)
        t->first_hit = b->cls == CS_RANDOM || b->cls == CS_INTERLEAVED;
    t->n++;
    t->random += b->cls == CS_RANDOM;
    t->inter += b->cls == CS_INTERLEAVED;
    t->text += b->cls == CS_TEXT;
    t->granules += b->granules;
    t->nontext_granules += b->nontext_granules;
}

static enum cs_enc detect_enc(const uint8_t *h, size_t n)
{
    if (n >= 2 && h[0] == 0xff && h[1] == 0xfe && !(n >= 4 && h[2] == 0 && h[3] == 0))
        return CS_ENC_UTF16LE;
    if (n >= 2 && h[0] == 0xfe && h[1] == 0xff)
        return CS_ENC_UTF16BE;
    return CS_ENC_BYTES;
}

/* Judge head pieces and spread blocks; the head's histogram goes to hist. */
static void judge_blocks(const struct content_sample *s, size_t head_len, size_t nblocks,
                         enum cs_enc enc, struct tally *t, uint32_t hist[256])
{
    struct cs_block b;
    bool only_head = nblocks == 0;
    for (size_t off = 0; off < head_len; off += CONTENT_BLOCK) {
        size_t len = head_len - off < CONTENT_BLOCK ? head_len - off : CONTENT_BLOCK;
        if (len < CS_MIN_BLOCK && !(off == 0 && only_head)) {
            uint32_t h[256];
            cs_hist(s->head + off, len, h);
            for (int v = 0; v < 256; v++)
                hist[v] += h[v];
            continue;
        }
        cs_block_judge(s->head + off, len, enc, &b, hist);
        tally_block(t, &b);
    }
    for (size_t i = 0; i < nblocks; i++) {
        size_t len = s->block_len[i] < CONTENT_BLOCK ? s->block_len[i] : CONTENT_BLOCK;
        if (len < CS_MIN_BLOCK && !(head_len == 0 && t->n == 0))
            continue;
        if (len == 0)
            continue;
        /* UTF-16 needs even offsets; an odd one is judged as bytes. */
        enum cs_enc e = (s->block_off[i] & 1) ? CS_ENC_BYTES : enc;
        cs_block_judge(s->blocks[i], len, e, &b, NULL);
        tally_block(t, &b);
    }
}

/* The end of the file, if the sample holds it. */
static void sample_tail(const struct content_sample *s, size_t head_len, size_t nblocks,
                        struct cd_tail *t)
{
    t->p = NULL;
    t->len = 0;
    if (nblocks > 0) {
        size_t i = nblocks - 1;
        size_t len = s->block_len[i] < CONTENT_BLOCK ? s->block_len[i] : CONTENT_BLOCK;
        if (s->block_off[i] + len == s->file_size && len > 0) {
            t->p = s->blocks[i];
            t->len = len;
        }
    } else if (head_len > 0 && s->file_size == head_len) {
        size_t len = head_len < CONTENT_BLOCK ? head_len : CONTENT_BLOCK;
        t->p = s->head + head_len - len;
        t->len = len;
    }
}

static enum content_kind kind_by_blocks(const struct tally *t, enum cm_cat cat)
{
    uint32_t hit = t->random + t->inter;
    if (t->n == 0)
        return CK_STRUCTURED;
    if (t->random * 10u >= t->n * 9u)
        return CK_RANDOM;
    if (hit > 0) {
        uint32_t rest = t->n - hit;
        bool share = hit * 10u >= t->n;
        bool textish = t->text > 0 && t->text * 2u >= rest;
        if (share || t->first_hit || textish)
            return CK_MIXED;
        return CK_STRUCTURED;
    }
    if (cat == CM_NONE && t->text * 10u >= t->n * 9u)
        return CK_TEXT;
    return CK_STRUCTURED;
}

static void copy_type(char dst[12], const char *src)
{
    size_t n = strlen(src);
    if (n > 11)
        n = 11;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void content_judge(const struct content_sample *s, const char *name, struct content_verdict *v)
{
    memset(v, 0, sizeof *v);
    const char *ext = content_ext_type(name);
    copy_type(v->ext_type, ext);
    if (!s)
        return;
    size_t head_len = s->head_len < CONTENT_HEAD_MAX ? s->head_len : CONTENT_HEAD_MAX;
    size_t nblocks = s->nblocks < CONTENT_SPREAD_BLOCKS + 1 ? s->nblocks : CONTENT_SPREAD_BLOCKS + 1;
    size_t total = head_len;
    for (size_t i = 0; i < nblocks; i++)
        total += s->block_len[i] < CONTENT_BLOCK ? s->block_len[i] : CONTENT_BLOCK;
    if (total == 0) {
        v->kind = CK_EMPTY;
        return;
    }

    struct cm_magic m;
    cm_detect(s->head, head_len, &m);
    copy_type(v->magic_type, m.type);
    v->magic_mismatch = ext[0] && strcmp(ext, "text") != 0 && strcmp(ext, m.type) != 0;

    enum cs_enc enc = m.cat == CM_NONE ? detect_enc(s->head, head_len) : CS_ENC_BYTES;
    struct tally t = {0};
    uint32_t hist[256] = {0};
    judge_blocks(s, head_len, nblocks, enc, &t, hist);
    v->blocks = t.n;
    v->random_blocks = t.random;
    v->interleaved_blocks = t.inter;
    v->text_blocks = t.text;
    v->random_fraction = t.n ? (double)t.random / t.n : 0.0;
    v->nontext_fraction = t.granules ? (double)t.nontext_granules / (double)t.granules : 0.0;

    if (m.cat == CM_NONE && enc == CS_ENC_BYTES && t.random == 0 &&
        cd_encoded_random(s->head, head_len, hist)) {
        v->kind = CK_ENCODED;
        return;
    }
    if (m.cat == CM_DECODE || m.cat == CM_PDF) {
        struct cd_tail tail;
        sample_tail(s, head_len, nblocks, &tail);
        struct cd_result r;
        cd_container(m.type, s->head, head_len, &tail, &r);
        v->container_valid = r.valid;
        v->decoded_random = r.decoded_random;
        if (r.valid) {
            if (r.decoded_random)
                v->kind = CK_RANDOM;
            else if (m.cat == CM_PDF && t.random + t.inter == 0)
                v->kind = CK_STRUCTURED;
            else
                v->kind = CK_COMPRESSED;
            return;
        }
    } else if (m.cat == CM_HEADER && cm_header_ok(m.type, s->head, head_len)) {
        v->container_valid = true;
        v->kind = CK_COMPRESSED;
        return;
    }
    v->kind = kind_by_blocks(&t, m.cat);
}

const char *content_kind_name(enum content_kind k)
{
    switch (k) {
    case CK_EMPTY: return "empty";
    case CK_TEXT: return "text";
    case CK_STRUCTURED: return "structured";
    case CK_COMPRESSED: return "compressed";
    case CK_MIXED: return "mixed";
    case CK_RANDOM: return "random";
    case CK_ENCODED: return "encoded";
    }
    return "unknown";
}
