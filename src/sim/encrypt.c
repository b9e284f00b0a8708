/* encrypt.c - the cipher and the per-file transforms of each simulated
 * ransomware behaviour.
 *
 * Input: the sandbox directory descriptor, a path relative to it, the mode
 * and the run's key. Output: that one file changed the way the mode's real
 * families change it (in place, partly, copied, renamed, encoded, mapped).
 * The cipher is ChaCha20 (OpenSSL EVP) with a random 256-bit key per run and
 * a random nonce per file; the key is never stored, so the damage is real
 * and only the corpus manifest tells what the files were.
 *
 * Every path is opened via sim_open_parent (O_NOFOLLOW on each component)
 * and the leaf with O_NOFOLLOW, so a symlink planted in the sandbox can
 * never redirect a write outside it. Partial modes are all "regions":
 * encrypt `span` bytes out of every `period` bytes from offset 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/err.h"
#include "sim/sim_internal.h"

#define ENC_CHUNK 65536u
#define ENC_TEXT_MAX (256u << 20) /* base64/hex read whole files up to this */
#define MMAP_STEP (1u << 20)

int sim_key_new(struct sim_key *k)
{
    return RAND_bytes(k->key, sizeof k->key) == 1 ? 0 : MAMORI_EIO;
}

/* ---- cipher ---- */

static EVP_CIPHER_CTX *cipher_begin(const struct sim_key *k)
{
    unsigned char iv[16];
    if (RAND_bytes(iv, sizeof iv) != 1)
        return NULL;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c && EVP_EncryptInit_ex(c, EVP_chacha20(), NULL, k->key, iv) != 1) {
        EVP_CIPHER_CTX_free(c);
        c = NULL;
    }
    return c;
}

static int cipher_apply(EVP_CIPHER_CTX *c, unsigned char *buf, size_t n)
{
    while (n) {
        int step = n > (1u << 30) ? (1 << 30) : (int)n, outl = 0;
        if (EVP_EncryptUpdate(c, buf, &outl, buf, step) != 1 || outl != step)
            return MAMORI_EIO;
        buf += step;
        n -= (size_t)step;
    }
    return 0;
}

/* ---- I/O helpers ---- */

static ssize_t pread_full(int fd, unsigned char *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Opens rel inside dirfd without following symlinks; *pfd gets the parent. */
static int open_in(int dirfd, const char *rel, int flags, int *pfd, const char **leaf)
{
    *pfd = sim_open_parent(dirfd, rel, leaf);
    if (*pfd < 0)
        return -1;
    int fd = openat(*pfd, *leaf, flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        close(*pfd);
        *pfd = -1;
        errno = e;
    }
    return fd;
}

/* ---- region transforms (full and the partial modes) ---- */

static int crypt_range(int fd, EVP_CIPHER_CTX *c, unsigned char *buf, off_t off, size_t len)
{
    while (len) {
        size_t want = len < ENC_CHUNK ? len : ENC_CHUNK;
        ssize_t n = pread_full(fd, buf, want, off);
        if (n < 0)
            return MAMORI_EIO;
        if (n == 0)
            return 0;
        int rc = cipher_apply(c, buf, (size_t)n);
        if (rc == 0)
            rc = sim_pwrite_all(fd, buf, (size_t)n, off);
        if (rc)
            return rc;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Small periods: read whole chunks and encrypt the span of each period. */
static int crypt_interleaved(int fd, EVP_CIPHER_CTX *c, unsigned char *buf, uint64_t size,
                             size_t period, size_t span)
{
    for (uint64_t off = 0; off < size; off += ENC_CHUNK) {
        ssize_t n = pread_full(fd, buf, ENC_CHUNK, (off_t)off);
        if (n <= 0)
            return n < 0 ? MAMORI_EIO : 0;
        for (size_t i = 0; i < (size_t)n; i += period) {
            size_t len = (size_t)n - i < span ? (size_t)n - i : span;
            if (cipher_apply(c, buf + i, len))
                return MAMORI_EIO;
        }
        if (sim_pwrite_all(fd, buf, (size_t)n, (off_t)off))
            return MAMORI_EIO;
    }
    return 0;
}

static int crypt_regions(int fd, EVP_CIPHER_CTX *c, uint64_t period, uint64_t span)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return MAMORI_EIO;
    unsigned char *buf = malloc(ENC_CHUNK);
    if (!buf)
        return MAMORI_ENOMEM;
    uint64_t size = (uint64_t)st.st_size;
    int rc = 0;
    if (period <= ENC_CHUNK && ENC_CHUNK % period == 0) {
        rc = crypt_interleaved(fd, c, buf, size, (size_t)period, (size_t)span);
    } else {
        for (uint64_t start = 0; rc == 0 && start < size; start += period) {
            uint64_t len = size - start < span ? size - start : span;
            rc = crypt_range(fd, c, buf, (off_t)start, (size_t)len);
            if (period > size - start)
                break;
        }
    }
    free(buf);
    return rc;
}

static void mode_regions(enum sim_mode m, uint64_t *period, uint64_t *span)
{
    switch (m) {
    case SIM_MODE_INTERMITTENT16: *period = 32; *span = 16; break;
    case SIM_MODE_INTERMITTENT1M: *period = 2u << 20; *span = 1u << 20; break;
    case SIM_MODE_PERCENT5: *period = 20 * 4096; *span = 4096; break;
    case SIM_MODE_HEADER4K: *period = UINT64_MAX; *span = 4096; break;
    default: *period = ENC_CHUNK; *span = ENC_CHUNK; break;
    }
}

/* The file rel of the sandbox opened read-write (no symlinks followed);
 * the fd, or MAMORI_ENOENT / MAMORI_EIO. */
static int open_rw(int dirfd, const char *rel)
{
    int pfd;
    const char *leaf;
    int fd = open_in(dirfd, rel, O_RDWR, &pfd, &leaf);
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    close(pfd);
    return fd;
}

static int do_inplace(int dirfd, const char *rel, enum sim_mode m, const struct sim_key *k)
{
    int fd = open_rw(dirfd, rel);
    if (fd < 0)
        return fd;
    EVP_CIPHER_CTX *c = cipher_begin(k);
    uint64_t period, span;
    mode_regions(m, &period, &span);
    int rc = c ? crypt_regions(fd, c, period, span) : MAMORI_EIO;
    EVP_CIPHER_CTX_free(c);
    if (close(fd) < 0)
        rc = rc ? rc : MAMORI_EIO;
    return rc;
}

/* ---- copy-delete and rename-encrypt ---- */

static int with_ext(char *out, size_t outsz, const char *leaf, const char *ext)
{
    int n = snprintf(out, outsz, "%s%s", leaf, ext);
    return n < 0 || (size_t)n >= outsz ? MAMORI_ERANGE : 0;
}

static int copy_encrypted(int in, int out, EVP_CIPHER_CTX *c)
{
    unsigned char *buf = malloc(ENC_CHUNK);
    if (!buf)
        return MAMORI_ENOMEM;
    int rc = 0;
    for (ssize_t n; rc == 0 && (n = read(in, buf, ENC_CHUNK)) != 0;) {
        if (n < 0) {
            if (errno != EINTR)
                rc = MAMORI_EIO;
            continue;
        }
        rc = cipher_apply(c, buf, (size_t)n);
        if (rc == 0)
            rc = sim_write_all(out, buf, (size_t)n);
    }
    free(buf);
    return rc;
}

static int do_copy_delete(int dirfd, const char *rel, const char *ext, const struct sim_key *k)
{
    int pfd;
    const char *leaf;
    int in = open_in(dirfd, rel, O_RDONLY, &pfd, &leaf);
    if (in < 0)
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    char name[512];
    int rc = with_ext(name, sizeof name, leaf, ext);
    int out = rc ? -1
                 : openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    EVP_CIPHER_CTX *c = cipher_begin(k);
    if (rc == 0)
        rc = out < 0 || !c ? MAMORI_EIO : copy_encrypted(in, out, c);
    if (out >= 0 && close(out) < 0)
        rc = rc ? rc : MAMORI_EIO;
    close(in);
    if (rc == 0 && unlinkat(pfd, leaf, 0) < 0)
        rc = MAMORI_EIO;
    EVP_CIPHER_CTX_free(c);
    close(pfd);
    return rc;
}

static int do_rename_encrypt(int dirfd, const char *rel, const char *ext,
                             const struct sim_key *k)
{
    const char *leaf;
    int pfd = sim_open_parent(dirfd, rel, &leaf);
    if (pfd < 0)
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    char name[512];
    int rc = with_ext(name, sizeof name, leaf, ext);
    struct stat st;
    if (rc == 0 && (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)))
        rc = MAMORI_ENOENT;
    if (rc == 0 && renameat2(pfd, leaf, pfd, name, RENAME_NOREPLACE) < 0)
        rc = MAMORI_EIO;
    int fd = rc ? -1 : openat(pfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    close(pfd);
    if (rc)
        return rc;
    if (fd < 0)
        return MAMORI_EIO;
    EVP_CIPHER_CTX *c = cipher_begin(k);
    rc = c ? crypt_regions(fd, c, ENC_CHUNK, ENC_CHUNK) : MAMORI_EIO;
    EVP_CIPHER_CTX_free(c);
    if (close(fd) < 0)
        rc = rc ? rc : MAMORI_EIO;
    return rc;
}

/* ---- base64 / hex: ciphertext as text, written over the original ---- */

static size_t encode(enum sim_mode m, const unsigned char *in, size_t n, unsigned char *out)
{
    if (m == SIM_MODE_BASE64)
        return n ? (size_t)EVP_EncodeBlock(out, in, (int)n) : 0;
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (unsigned char)hx[in[i] >> 4];
        out[2 * i + 1] = (unsigned char)hx[in[i] & 15];
    }
    return 2 * n;
}

static int do_text(int dirfd, const char *rel, enum sim_mode m, const struct sim_key *k)
{
    int fd = open_rw(dirfd, rel);
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? MAMORI_EIO : 0;
    if (rc == 0 && (uint64_t)st.st_size > ENC_TEXT_MAX)
        rc = MAMORI_ERANGE;
    size_t n = rc ? 0 : (size_t)st.st_size;
    unsigned char *plain = rc ? NULL : malloc(n + 1);
    unsigned char *text = rc ? NULL : malloc(2 * n + 8);
    EVP_CIPHER_CTX *c = cipher_begin(k);
    if (rc == 0 && (!plain || !text || !c))
        rc = MAMORI_ENOMEM;
    if (rc == 0 && pread_full(fd, plain, n, 0) != (ssize_t)n)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = cipher_apply(c, plain, n);
    if (rc == 0) {
        size_t tl = encode(m, plain, n, text);
        if (ftruncate(fd, 0) < 0)
            rc = MAMORI_EIO;
        else
            rc = sim_pwrite_all(fd, text, tl, 0);
    }
    EVP_CIPHER_CTX_free(c);
    free(plain);
    free(text);
    if (close(fd) < 0)
        rc = rc ? rc : MAMORI_EIO;
    return rc;
}

/* ---- mmap: encrypt through a shared mapping, no write() ---- */

static int do_mmap(int dirfd, const char *rel, const struct sim_key *k)
{
    int fd = open_rw(dirfd, rel);
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? MAMORI_EIO : 0;
    if (rc == 0 && st.st_size > 0) {
        size_t n = (size_t)st.st_size;
        unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        EVP_CIPHER_CTX *c = cipher_begin(k);
        if (p == MAP_FAILED || !c)
            rc = MAMORI_EIO;
        for (size_t off = 0; rc == 0 && off < n; off += MMAP_STEP)
            rc = cipher_apply(c, p + off, n - off < MMAP_STEP ? n - off : MMAP_STEP);
        if (p != MAP_FAILED) {
            if (msync(p, n, MS_SYNC) < 0)
                rc = rc ? rc : MAMORI_EIO;
            if (munmap(p, n) < 0)
                rc = rc ? rc : MAMORI_EIO;
        }
        EVP_CIPHER_CTX_free(c);
    }
    if (close(fd) < 0)
        rc = rc ? rc : MAMORI_EIO;
    return rc;
}

int sim_transform_file(int dirfd, const char *rel, enum sim_mode mode, const char *ext,
                       const struct sim_key *k)
{
    if (sim_is_reserved(rel))
        return MAMORI_EPERM;
    switch (mode) {
    case SIM_MODE_COPY_DELETE: return do_copy_delete(dirfd, rel, ext, k);
    case SIM_MODE_RENAME_ENCRYPT: return do_rename_encrypt(dirfd, rel, ext, k);
    case SIM_MODE_BASE64:
    case SIM_MODE_HEX: return do_text(dirfd, rel, mode, k);
    case SIM_MODE_MMAP: return do_mmap(dirfd, rel, k);
    default: return do_inplace(dirfd, rel, mode, k);
    }
}

static const char NOTE_TEXT[] =
    "!!! YOUR FILES HAVE BEEN ENCRYPTED (SIMULATION) !!!\n"
    "\n"
    "This note was written by `mamori sim`, a safe ransomware simulator used for\n"
    "tests, benchmarks and drills. It ran only inside a sandbox directory that it\n"
    "created itself (marked by the file .mamori-sim-sandbox). No data outside the\n"
    "sandbox was touched and nothing left this machine.\n"
    "\n"
    "Real ransomware leaves a note like this one in every folder it encrypts. It\n"
    "usually says that your documents, databases, photos and backups are encrypted\n"
    "with a strong cipher, that only the attacker holds the key, that your data was\n"
    "also copied and will be published on a leak site unless you pay, and that you\n"
    "must contact the attacker through a Tor site or a chat ID within a deadline.\n"
    "\n"
    "What to do if you see a real note:\n"
    "  1. Do not power off servers; disconnect them from the network instead.\n"
    "  2. Call your IT contact and head office security immediately.\n"
    "  3. Do not delete files, notes or logs: they are evidence.\n"
    "  4. Do not contact the attacker or pay.\n"
    "  5. Restore from the mamori vault or from offline backups after the\n"
    "     intrusion has been investigated and credentials have been reset.\n"
    "\n"
    "Simulation ID: mamori-sim. The files in this sandbox were encrypted with a\n"
    "random key that was never stored; compare them with .mamori-sim-manifest\n"
    "using `mamori sim verify --dir DIR` to see what was damaged.\n";

int sim_drop_note(int dirfd, const char *reldir)
{
    char rel[SIM_PATH_MAX];
    int n = snprintf(rel, sizeof rel, "%s%s%s", reldir, *reldir ? "/" : "", SIM_NOTE);
    if (n < 0 || (size_t)n >= sizeof rel)
        return MAMORI_ERANGE;
    const char *leaf;
    int pfd = sim_open_parent(dirfd, rel, &leaf);
    if (pfd < 0)
        return MAMORI_EIO;
    int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int e = errno;
    close(pfd);
    if (fd < 0)
        return e == EEXIST ? 0 : MAMORI_EIO;
    int rc = sim_write_all(fd, NOTE_TEXT, sizeof NOTE_TEXT - 1);
    if (close(fd) < 0)
        rc = MAMORI_EIO;
    return rc;
}
