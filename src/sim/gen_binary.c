/* gen_binary.c - corpus generators for binary files: PNG images (real
 * zlib-compressed IDAT and CRCs, decodable), JPEG-like files (a proper JFIF
 * header and segment structure around high-entropy scan data) and large
 * disk-image-like files (boot sector, partition header, zero runs, repeated
 * block headers, text fragments and dense data, as a VM disk holds).
 *
 * Input: a struct sim_gen. Output: one new file (O_EXCL, O_NOFOLLOW). Disk
 * images are streamed in fixed chunks so their size is not bounded by memory. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "core/err.h"
#include "sim/sim_internal.h"

#define PNG_RAW_MAX (48u << 20)

static void png_chunk(struct sim_buf *b, const char type[4], const void *data, size_t n)
{
    sim_buf_u32be(b, (uint32_t)n);
    size_t crc_from = b->len;
    sim_buf_put(b, type, 4);
    sim_buf_put(b, data, n);
    if (b->overflow)
        return;
    uLong crc = crc32(0L, b->p + crc_from, (uInt)(n + 4));
    sim_buf_u32be(b, (uint32_t)crc);
}

static void png_pixels(struct sim_rng *r, unsigned char *raw, uint32_t w, uint32_t h)
{
    unsigned a = (unsigned)sim_rng_range(r, 1, 5), c = (unsigned)sim_rng_range(r, 1, 5);
    unsigned char *p = raw;
    for (uint32_t y = 0; y < h; y++) {
        *p++ = 0; /* filter: none */
        uint64_t noise = sim_rng_next(r);
        for (uint32_t x = 0; x < w; x++) {
            if ((x & 15) == 0)
                noise = sim_rng_next(r);
            unsigned n = (unsigned)(noise >> ((x & 15) * 4)) & 7;
            *p++ = (unsigned char)(x * a + n);
            *p++ = (unsigned char)(y * c + n);
            *p++ = (unsigned char)((x + y) / 2 + n);
        }
    }
}

int sim_gen_png(const struct sim_gen *g)
{
    uint32_t w = (uint32_t)sim_rng_range(g->rng, 200, 800);
    uint64_t h64 = (uint64_t)g->size * 2 / (3u * w);
    uint32_t h = h64 < 16 ? 16 : h64 > 4096 ? 4096 : (uint32_t)h64;
    size_t rawlen = (size_t)h * (1 + 3u * (size_t)w);
    if (rawlen > PNG_RAW_MAX)
        return MAMORI_ERANGE;
    unsigned char *raw = malloc(rawlen);
    uLongf zlen = compressBound((uLong)rawlen);
    unsigned char *z = malloc(zlen);
    int rc = MAMORI_ENOMEM;
    if (raw && z) {
        png_pixels(g->rng, raw, w, h);
        rc = compress2(z, &zlen, raw, (uLong)rawlen, 6) == Z_OK ? 0 : MAMORI_EIO;
    }
    if (rc == 0) {
        struct sim_buf b;
        sim_buf_init(&b, zlen + 4096);
        sim_buf_put(&b, "\x89PNG\r\n\x1a\n", 8);
        unsigned char ihdr[13] = {0};
        for (int i = 0; i < 4; i++) {
            ihdr[i] = (unsigned char)(w >> (24 - 8 * i));
            ihdr[4 + i] = (unsigned char)(h >> (24 - 8 * i));
        }
        ihdr[8] = 8; /* bit depth */
        ihdr[9] = 2; /* colour type: RGB */
        png_chunk(&b, "IHDR", ihdr, sizeof ihdr);
        static const char txt[] = "Software\0mamori sim corpus";
        png_chunk(&b, "tEXt", txt, sizeof txt - 1);
        png_chunk(&b, "IDAT", z, zlen);
        png_chunk(&b, "IEND", "", 0);
        rc = b.overflow ? MAMORI_ENOMEM : sim_write_new(g->path, b.p, b.len);
        sim_buf_free(&b);
    }
    free(raw);
    free(z);
    return rc;
}

static void jpeg_segment(struct sim_buf *b, unsigned char marker, const void *data, size_t n)
{
    unsigned char h[4] = {0xFF, marker, (unsigned char)((n + 2) >> 8), (unsigned char)(n + 2)};
    sim_buf_put(b, h, 4);
    sim_buf_put(b, data, n);
}

int sim_gen_jpeg(const struct sim_gen *g)
{
    struct sim_buf b;
    sim_buf_init(&b, g->size + 65536);
    sim_buf_put(&b, "\xFF\xD8", 2);
    static const unsigned char app0[] = {'J', 'F', 'I', 'F', 0, 1, 1, 1, 0, 72, 0, 72, 0, 0};
    jpeg_segment(&b, 0xE0, app0, sizeof app0);
    unsigned char dqt[65];
    dqt[0] = 0;
    for (int i = 1; i < 65; i++)
        dqt[i] = (unsigned char)(2 + i / 3);
    jpeg_segment(&b, 0xDB, dqt, sizeof dqt);
    uint16_t w = (uint16_t)sim_rng_range(g->rng, 640, 4000), h = (uint16_t)(w * 3 / 4);
    unsigned char sof[15] = {8, (unsigned char)(h >> 8), (unsigned char)h, (unsigned char)(w >> 8),
                             (unsigned char)w, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1};
    jpeg_segment(&b, 0xC0, sof, sizeof sof);
    unsigned char dht[29] = {0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
                             0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    jpeg_segment(&b, 0xC4, dht, sizeof dht);
    static const unsigned char sos[] = {3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0};
    jpeg_segment(&b, 0xDA, sos, sizeof sos);
    unsigned char scan[4096];
    while (!b.overflow && b.len < g->size) {
        sim_rng_fill(g->rng, scan, sizeof scan);
        for (size_t i = 0; i < sizeof scan; i++) {
            sim_buf_put(&b, &scan[i], 1);
            if (scan[i] == 0xFF)
                sim_buf_put(&b, "", 1); /* byte stuffing: FF 00 */
        }
    }
    sim_buf_put(&b, "\xFF\xD9", 2);
    int rc = b.overflow ? MAMORI_ENOMEM : sim_write_new(g->path, b.p, b.len);
    sim_buf_free(&b);
    return rc;
}

#define DISK_CHUNK 65536u

static void disk_chunk(struct sim_rng *r, unsigned char *c, uint64_t idx)
{
    memset(c, 0, DISK_CHUNK);
    if (idx == 0) { /* boot sector and a GPT-like header */
        memcpy(c + 3, "MAMORISM", 8);
        c[510] = 0x55;
        c[511] = 0xAA;
        memcpy(c + 512, "EFI PART", 8);
        sim_rng_fill(r, c + 568, 16); /* disk GUID */
        return;
    }
    unsigned kind = (unsigned)(sim_rng_next(r) % 20);
    if (kind < 8)
        return; /* zero run */
    if (kind < 11) { /* repeated block headers, like a filesystem's groups */
        for (size_t o = 0; o + 64 <= DISK_CHUNK; o += 4096) {
            memcpy(c + o, "VDISKBLK", 8);
            uint64_t sec = idx * (DISK_CHUNK / 512) + o / 512;
            memcpy(c + o + 8, &sec, 8);
        }
        return;
    }
    if (kind < 15) { /* text fragments: logs and documents inside the guest */
        struct sim_buf b;
        sim_buf_init(&b, DISK_CHUNK);
        sim_text_words(r, &b, DISK_CHUNK - 512);
        if (!b.overflow)
            memcpy(c, b.p, b.len < DISK_CHUNK ? b.len : DISK_CHUNK);
        sim_buf_free(&b);
        return;
    }
    sim_rng_fill(r, c, DISK_CHUNK); /* dense (compressed) guest data */
}

int sim_gen_disk(const struct sim_gen *g)
{
    unsigned char *c = malloc(DISK_CHUNK);
    if (!c)
        return MAMORI_ENOMEM;
    int fd = open(g->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(c);
        return MAMORI_EIO;
    }
    int rc = 0;
    uint64_t nchunks = (g->size + DISK_CHUNK - 1) / DISK_CHUNK;
    for (uint64_t i = 0; rc == 0 && i < nchunks; i++) {
        disk_chunk(g->rng, c, i);
        rc = sim_write_all(fd, c, DISK_CHUNK);
    }
    if (close(fd) < 0)
        rc = MAMORI_EIO;
    free(c);
    return rc;
}
