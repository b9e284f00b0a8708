/* fuzz_content.c - libFuzzer target for the content judge.
 *
 * The input becomes a sample: the first CONTENT_HEAD_MAX bytes fill the head,
 * the rest is cut into spread blocks (the last one acting as the tail) with
 * file_size set as if the blocks came from a bigger file. content_judge runs
 * with a few names so the extension paths (text, zip, gzip, none) are walked.
 * Also content_chi2 / content_block_random on the raw input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/content.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"notes.txt", "report.docx", "a.tar.gz", NULL};
    struct content_sample *s = malloc(sizeof *s);
    if (!s)
        return 0;
    size_t head = size < CONTENT_HEAD_MAX ? size : CONTENT_HEAD_MAX;
    s->head_len = head;
    memcpy(s->head, data, head);
    s->nblocks = 0;
    size_t off = head;
    uint64_t fake_off = head;
    while (off < size && s->nblocks < CONTENT_SPREAD_BLOCKS + 1) {
        size_t k = size - off < CONTENT_BLOCK ? size - off : CONTENT_BLOCK;
        memcpy(s->blocks[s->nblocks], data + off, k);
        s->block_off[s->nblocks] = fake_off;
        s->block_len[s->nblocks] = k;
        s->nblocks++;
        off += k;
        fake_off += 3u * CONTENT_BLOCK;
    }
    s->file_size = s->nblocks ? s->block_off[s->nblocks - 1] + s->block_len[s->nblocks - 1] : head;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct content_verdict v;
        content_judge(s, names[i], &v);
        if (v.kind > CK_ENCODED || v.random_blocks > v.blocks || v.magic_type[11] != '\0')
            abort();
    }
    /* The open-time fingerprint: head only, file size unknown. */
    s->nblocks = 0;
    s->file_size = 0;
    struct content_verdict v;
    content_judge(s, "x", &v);
    (void)content_chi2(data, size);
    (void)content_block_random(data, size);
    free(s);
    return 0;
}
