/* manifest.c - the corpus manifest and `sim verify`.
 *
 * The manifest (SIM_MANIFEST at the sandbox root) has one line per corpus
 * file: "<sha256 hex> <size> <relative path>\n", in walk order. It is written
 * once by `sim corpus` and only read afterwards.
 * Verify reads it (bounded), hashes each listed file through the sandbox
 * descriptor (no symlinks followed) and classifies it intact, damaged
 * (content differs) or missing; then walks the tree and counts files the
 * manifest does not list as extra (ransom notes, renamed or copied files).
 * Output: struct sim_verify_result, and a JSON line from sim_verify_json. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/json.h"
#include "sim/sim_internal.h"

#define MANIFEST_MAX (64u << 20)
#define HASH_HEX 65

/* sha256 of rel as hex; MAMORI_ENOENT when it does not exist. */
static int hash_file(int dirfd, const char *rel, char hex[HASH_HEX], uint64_t *size)
{
    const char *leaf;
    int pfd = sim_open_parent(dirfd, rel, &leaf);
    if (pfd < 0)
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    int fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(pfd);
    if (fd < 0)
        return e == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], dig[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : MAMORI_EIO;
    *size = 0;
    for (ssize_t n; rc == 0 && (n = read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno != EINTR)
                rc = MAMORI_EIO;
            continue;
        }
        *size += (uint64_t)n;
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
            rc = MAMORI_EIO;
    }
    if (rc == 0 && EVP_DigestFinal_ex(md, dig, &dlen) != 1)
        rc = MAMORI_EIO;
    EVP_MD_CTX_free(md);
    close(fd);
    for (unsigned i = 0; rc == 0 && i < dlen && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return rc;
}

int sim_manifest_write(const struct sim_sandbox *sb, char *msg, size_t msgsz)
{
    struct sim_filelist files = {0};
    int rc = sim_walk(sb->dirfd, NULL, &files);
    struct sim_buf out;
    sim_buf_init(&out, MANIFEST_MAX);
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        char hex[HASH_HEX];
        uint64_t size;
        rc = hash_file(sb->dirfd, files.paths[i], hex, &size);
        if (rc == 0)
            sim_buf_printf(&out, "%s %llu %s\n", hex, (unsigned long long)size, files.paths[i]);
    }
    if (rc == 0 && out.overflow)
        rc = MAMORI_ENOMEM;
    if (rc == 0) {
        int fd = openat(sb->dirfd, SIM_MANIFEST,
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        rc = fd < 0 ? MAMORI_EIO : sim_write_all(fd, out.p, out.len);
        if (fd >= 0 && close(fd) < 0)
            rc = MAMORI_EIO;
    }
    if (rc)
        sim_msg(msg, msgsz, "cannot write manifest %s/%s: %s", sb->root, SIM_MANIFEST,
                mamori_strerror(rc));
    sim_buf_free(&out);
    sim_filelist_free(&files);
    return rc;
}

struct mentry {
    char hash[HASH_HEX];
    uint64_t size;
    char *path; /* points into the manifest buffer */
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct mentry *)a)->path, ((const struct mentry *)b)->path);
}

static int read_manifest(int dirfd, struct sim_buf *b)
{
    int fd = openat(dirfd, SIM_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_ENOENT;
    unsigned char chunk[65536];
    int rc = 0;
    for (ssize_t n; rc == 0 && (n = read(fd, chunk, sizeof chunk)) != 0;) {
        if (n < 0) {
            if (errno != EINTR)
                rc = MAMORI_EIO;
            continue;
        }
        sim_buf_put(b, chunk, (size_t)n);
        if (b->overflow)
            rc = MAMORI_ENOMEM;
    }
    close(fd);
    sim_buf_put(b, "", 1);
    return rc ? rc : b->overflow ? MAMORI_ENOMEM : 0;
}

/* Splits the manifest text in place into entries; malformed lines fail. */
static int parse_manifest(char *text, struct mentry **out, size_t *nout)
{
    size_t n = 0, cap = 0;
    struct mentry *v = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp1 = strchr(line, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || sp1 - line != 64 || !sp2[1]) {
            free(v);
            return MAMORI_EINVAL;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct mentry *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return MAMORI_ENOMEM;
            }
            v = nv;
        }
        memcpy(v[n].hash, line, 64);
        v[n].hash[64] = '\0';
        v[n].size = strtoull(sp1 + 1, NULL, 10);
        v[n].path = sp2 + 1;
        n++;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_entry);
    *out = v;
    *nout = n;
    return 0;
}

static void check_entry(int dirfd, const struct mentry *m, struct sim_verify_result *r)
{
    char hex[HASH_HEX];
    uint64_t size;
    int rc = hash_file(dirfd, m->path, hex, &size);
    if (rc == MAMORI_ENOENT) {
        r->missing++;
        return;
    }
    if (rc == 0 && size == m->size && !strcmp(hex, m->hash)) {
        r->intact++;
        return;
    }
    r->damaged++;
    if (r->ndamaged_listed < SIM_VERIFY_LIST_MAX) {
        snprintf(r->damaged_files[r->ndamaged_listed], sizeof r->damaged_files[0], "%s",
                 m->path);
        r->ndamaged_listed++;
    }
}

int sim_verify(const struct sim_sandbox *sb, struct sim_verify_result *r, char *msg,
               size_t msgsz)
{
    memset(r, 0, sizeof *r);
    struct sim_buf text;
    sim_buf_init(&text, MANIFEST_MAX);
    struct mentry *v = NULL;
    size_t n = 0;
    int rc = read_manifest(sb->dirfd, &text);
    if (rc == 0)
        rc = parse_manifest((char *)text.p, &v, &n);
    if (rc) {
        sim_msg(msg, msgsz, "cannot read manifest %s/%s: %s", sb->root, SIM_MANIFEST,
                mamori_strerror(rc));
        sim_buf_free(&text);
        return rc;
    }
    r->total = (unsigned)n;
    for (size_t i = 0; i < n; i++)
        check_entry(sb->dirfd, &v[i], r);
    struct sim_filelist files = {0};
    rc = sim_walk(sb->dirfd, NULL, &files);
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        struct mentry key = {.path = files.paths[i]};
        if (!n || !bsearch(&key, v, n, sizeof *v, cmp_entry))
            r->extra++;
    }
    if (rc)
        sim_msg(msg, msgsz, "cannot walk %s: %s", sb->root, mamori_strerror(rc));
    sim_filelist_free(&files);
    free(v);
    sim_buf_free(&text);
    return rc;
}

int sim_verify_json(const struct sim_verify_result *r, char *buf, size_t bufsz)
{
    struct jw w;
    jw_init(&w, buf, bufsz);
    jw_obj_begin(&w);
    jw_str(&w, "event", "sim-verify");
    jw_uint(&w, "total", r->total);
    jw_uint(&w, "intact", r->intact);
    jw_uint(&w, "damaged", r->damaged);
    jw_uint(&w, "missing", r->missing);
    jw_uint(&w, "extra", r->extra);
    jw_arr_begin(&w, "damaged_files");
    for (unsigned i = 0; i < r->ndamaged_listed; i++)
        jw_str(&w, NULL, r->damaged_files[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    return jw_finish(&w) < 0 ? MAMORI_EFULL : 0;
}
