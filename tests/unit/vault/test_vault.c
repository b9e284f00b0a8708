/* test_vault.c - the pre-image vault and restore, on a real SQLite index and
 * real files in a temporary directory under /tmp: opening and permissions,
 * saving blobs, eviction under the cap (condemned actors' pre-images kept),
 * expiry by age, the orphan blob sweep, and restore_alert undoing an attack
 * (saves, creates, renames) once, idempotently, in dry-run and around files
 * changed after the attack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "vault/restore.h"
#include "vault/vault.h"

#define KEY_BAD "boot0-4242-1000"
#define KEY_OK "boot0-5151-2000"

/* One test's scratch: tmp (mkdtemp), tmp/vault, tmp/files. */
struct fx {
    char tmp[64];
    char vdir[128];
    char files[128];
};

static const struct vault_limits BIG = {
    .cap_bytes = 1u << 30, .file_max = 1u << 20, .keep_us = 3600ull * 1000000};

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static int fx_setup(void **state)
{
    struct fx *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    snprintf(x->tmp, sizeof x->tmp, "/tmp/mamori-test-vault.XXXXXX");
    if (!mkdtemp(x->tmp)) {
        free(x);
        return -1;
    }
    snprintf(x->vdir, sizeof x->vdir, "%s/vault", x->tmp);
    snprintf(x->files, sizeof x->files, "%s/files", x->tmp);
    if (mkdir(x->files, 0755) < 0) {
        rmdir(x->tmp);
        free(x);
        return -1;
    }
    *state = x;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *x = *state;
    int rc = nftw(x->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(x);
    return rc;
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void put_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static void put_text(const char *path, const char *text) { put_file(path, text, strlen(text), 0644); }

/* Reads at most cap bytes; returns the length, -1 when the file is missing. */
static ssize_t get_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = 0, k;
    while ((size_t)n < cap && (k = read(fd, buf + n, cap - (size_t)n)) > 0)
        n += k;
    close(fd);
    return n;
}

static void assert_content(const char *path, const char *text)
{
    char buf[4096];
    ssize_t n = get_file(path, buf, sizeof buf - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, text);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Saves the file at path as key would: fstat + the fd. */
static int save_path(struct vault *v, const char *key, const char *path, uint64_t us)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    int rc = vault_save(v, key, fd, &st, path, us, false, NULL, NULL);
    close(fd);
    return rc;
}

/* One integer from the index, with an optional text parameter ?1. */
static int64_t q64(struct vault *v, const char *sql, const char *p1)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(v->db, sql, -1, &s, NULL), SQLITE_OK);
    if (p1)
        sqlite3_bind_text(s, 1, p1, -1, SQLITE_TRANSIENT);
    int64_t r = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        r = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return r;
}

static int64_t blob_of(struct vault *v, const char *path)
{
    return q64(v, "SELECT blob FROM ops WHERE kind = 'save' AND path = ?1", path);
}

static bool blob_file_exists(const struct fx *x, int64_t id)
{
    char p[192];
    snprintf(p, sizeof p, "%s/%lld", x->vdir, (long long)id);
    return exists(p);
}

/* Blob files in the vault directory, and their total size. */
static unsigned count_blobs(const struct fx *x, uint64_t *bytes)
{
    DIR *d = opendir(x->vdir);
    assert_non_null(d);
    unsigned n = 0;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!e->d_name[0] || strspn(e->d_name, "0123456789") != strlen(e->d_name))
            continue;
        struct stat st;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", x->vdir, e->d_name);
        assert_int_equal(stat(p, &st), 0);
        n++;
        sum += (uint64_t)st.st_size;
    }
    closedir(d);
    if (bytes)
        *bytes = sum;
    return n;
}

static void open_vault(struct vault *v, const struct fx *x, const struct vault_limits *lim)
{
    char err[512] = "";
    int rc = vault_open(v, x->vdir, lim, true, err, sizeof err);
    if (rc != 0)
        fail_msg("vault_open: %s", err);
}

/* ---- opening ---------------------------------------------------------- */

static void test_open_create_reopen_missing(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    struct stat st;
    assert_int_equal(stat(x->vdir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(st.st_uid, 0);
    char db[192];
    path_in(db, sizeof db, x->vdir, "index.db");
    assert_int_equal(stat(db, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(v.used_bytes, 0);
    sqlite3_stmt *jm = NULL;
    assert_int_equal(sqlite3_prepare_v2(v.db, "PRAGMA journal_mode", -1, &jm, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(jm), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(jm, 0), "wal");
    sqlite3_finalize(jm);
    assert_int_equal(vault_actor(&v, KEY_OK, "/usr/bin/vim", "vim notes", 1000, now_us()), 0);
    assert_int_equal(vault_note_create(&v, KEY_OK, "/x/new", NULL, now_us()), 0);
    assert_int_equal(v.st.created, 1);
    vault_close(&v);
    vault_close(&v); /* a second close is harmless */

    /* an existing vault opens for restore and keeps its rows */
    char err[512] = "";
    assert_int_equal(vault_open(&v, x->vdir, &BIG, false, err, sizeof err), 0);
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE kind = 'create' AND path = ?1", "/x/new"),
                     1);
    assert_int_equal(q64(&v, "SELECT count(*) FROM actors WHERE key = ?1", KEY_OK), 1);
    vault_close(&v);

    /* a missing directory: ENOENT, the path in the message, nothing created */
    char missing[192];
    path_in(missing, sizeof missing, x->tmp, "no-such-vault");
    err[0] = '\0';
    assert_int_equal(vault_open(&v, missing, &BIG, false, err, sizeof err), MAMORI_ENOENT);
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, strerror(ENOENT)));
    assert_false(exists(missing));
    vault_close(&v);

    /* a directory without an index is not a vault for restore */
    char bare[192];
    path_in(bare, sizeof bare, x->tmp, "bare");
    assert_int_equal(mkdir(bare, 0700), 0);
    err[0] = '\0';
    assert_int_equal(vault_open(&v, bare, &BIG, false, err, sizeof err), MAMORI_EIO);
    assert_non_null(strstr(err, bare));
    char bare_db[224];
    path_in(bare_db, sizeof bare_db, bare, "index.db");
    assert_false(exists(bare_db));
}

static void test_open_permissions(void **state)
{
    struct fx *x = *state;
    struct vault v;
    char err[512] = "";
    /* a world-readable directory is refused for restore ... */
    assert_int_equal(mkdir(x->vdir, 0755), 0);
    assert_int_equal(chmod(x->vdir, 0755), 0);
    assert_int_equal(vault_open(&v, x->vdir, &BIG, false, err, sizeof err), MAMORI_EPERM);
    assert_non_null(strstr(err, x->vdir));
    struct stat st;
    assert_int_equal(stat(x->vdir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    /* ... and by the guard too: never repaired (someone else may hold files
     * or fds in it), left as it was */
    assert_int_equal(chown(x->vdir, 1000, 1000), 0);
    err[0] = '\0';
    assert_int_equal(vault_open(&v, x->vdir, &BIG, true, err, sizeof err), MAMORI_EPERM);
    assert_non_null(strstr(err, "move it aside"));
    assert_int_equal(stat(x->vdir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_uid, 1000);

    /* a symbolic link in place of the directory is refused */
    char link[192];
    path_in(link, sizeof link, x->tmp, "link");
    assert_int_equal(symlink(x->vdir, link), 0);
    err[0] = '\0';
    assert_true(vault_open(&v, link, &BIG, true, err, sizeof err) < 0);
    assert_non_null(strstr(err, link));
}

/* ---- saving ----------------------------------------------------------- */

static bool count_progress(void *ctx)
{
    (*(unsigned *)ctx)++;
    return true;
}

static void test_save_copies_bytes(void **state)
{
    struct fx *x = *state;
    struct vault_limits lim = BIG;
    lim.file_max = 64 * 1024;
    struct vault v;
    open_vault(&v, x, &lim);
    assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 0, now_us()), 0);

    static char data[5000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 131 + 7);
    char src[192];
    path_in(src, sizeof src, x->files, "doc.bin");
    put_file(src, data, sizeof data, 0640);

    int fd = open(src, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    unsigned calls = 0;
    uint64_t us = now_us();
    assert_int_equal(vault_save(&v, KEY_BAD, fd, &st, src, us, true, count_progress, &calls),
                     VAULT_SAVED);
    close(fd);
    assert_true(v.st.cloned == 1 || calls >= 1); /* a reflink is instant: no progress */
    assert_int_equal(v.used_bytes, sizeof data);
    assert_int_equal(v.st.saved, 1);
    assert_int_equal(v.st.saved_bytes, sizeof data);

    /* the row names the blob and carries the file's metadata */
    int64_t id = blob_of(&v, src);
    assert_true(id > 0);
    assert_int_equal(q64(&v, "SELECT size FROM ops WHERE path = ?1", src), sizeof data);
    assert_int_equal(q64(&v, "SELECT mode FROM ops WHERE path = ?1", src), st.st_mode);
    assert_int_equal(q64(&v, "SELECT ino FROM ops WHERE path = ?1", src), st.st_ino);
    assert_int_equal(q64(&v, "SELECT late FROM ops WHERE path = ?1", src), 1);
    assert_int_equal(q64(&v, "SELECT us FROM ops WHERE path = ?1", src), us);
    assert_int_equal(q64(&v, "SELECT mtime_ns FROM ops WHERE path = ?1", src),
                     (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);

    /* the blob holds exactly the file's bytes, root-only */
    char blob[192], got[8192];
    snprintf(blob, sizeof blob, "%s/%lld", x->vdir, (long long)id);
    assert_int_equal(get_file(blob, got, sizeof got), sizeof data);
    assert_memory_equal(got, data, sizeof data);
    struct stat bst;
    assert_int_equal(stat(blob, &bst), 0);
    assert_int_equal(bst.st_mode & 07777, 0600);

    /* an empty file is saved too (an empty blob) */
    char empty[192];
    path_in(empty, sizeof empty, x->files, "empty");
    put_file(empty, "", 0, 0644);
    assert_int_equal(save_path(&v, KEY_BAD, empty, now_us()), VAULT_SAVED);
    assert_true(blob_file_exists(x, blob_of(&v, empty)));
    assert_int_equal(v.used_bytes, sizeof data);

    /* exactly file_max is copied; one byte more is not (where the
     * filesystem can reflink, both are saved whatever their size) */
    static char big[64 * 1024 + 1];
    memset(big, 'z', sizeof big);
    char edge[192], over[192];
    path_in(edge, sizeof edge, x->files, "edge");
    path_in(over, sizeof over, x->files, "over");
    put_file(edge, big, sizeof big - 1, 0644);
    put_file(over, big, sizeof big, 0644);
    assert_int_equal(save_path(&v, KEY_BAD, edge, now_us()), VAULT_SAVED);
    uint64_t used = v.used_bytes;
    assert_int_equal(used, sizeof data + sizeof big - 1);
    unsigned nblobs = count_blobs(x, NULL);
    if (v.st.cloned == 0) {
        assert_int_equal(save_path(&v, KEY_BAD, over, now_us()), VAULT_TOO_BIG);
        assert_int_equal(v.st.too_big, 1);
        assert_int_equal(v.used_bytes, used);
        assert_int_equal(count_blobs(x, NULL), nblobs); /* no half blob left */
        assert_int_equal(blob_of(&v, over), -1);
    } else {
        assert_int_equal(save_path(&v, KEY_BAD, over, now_us()), VAULT_SAVED);
        assert_int_equal(v.st.too_big, 0);
        used += sizeof big;
        assert_int_equal(v.used_bytes, used);
        assert_int_equal(count_blobs(x, NULL), nblobs + 1);
    }

    /* used_bytes is recomputed from the index on the next open */
    vault_close(&v);
    open_vault(&v, x, &lim);
    assert_int_equal(v.used_bytes, used);
    vault_close(&v);
}

/* ---- the cap ---------------------------------------------------------- */

static void test_cap_evicts_innocent_keeps_condemned(void **state)
{
    struct fx *x = *state;
    struct vault_limits lim = {.cap_bytes = 1000, .file_max = 1000, .keep_us = BIG.keep_us};
    struct vault v;
    open_vault(&v, x, &lim);
    uint64_t t = now_us();
    assert_int_equal(vault_actor(&v, KEY_OK, "/usr/bin/cp", "cp", 1000, t), 0);
    assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 1000, t), 0);

    char chunk[300];
    char p[8][192];
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        path_in(p[i], sizeof p[i], x->files, name);
        memset(chunk, 'a' + i, sizeof chunk);
        put_file(p[i], chunk, sizeof chunk, 0644);
    }
    /* innocent f0, f1; the attacker f2, then it is condemned; all ten
     * minutes old (younger pre-images are never dropped for room) */
    uint64_t t10 = t - 600ull * 1000000;
    assert_int_equal(save_path(&v, KEY_OK, p[0], t10), VAULT_SAVED);
    assert_int_equal(save_path(&v, KEY_OK, p[1], t10), VAULT_SAVED);
    assert_int_equal(save_path(&v, KEY_BAD, p[2], t10), VAULT_SAVED);
    int64_t b0 = blob_of(&v, p[0]), b2 = blob_of(&v, p[2]);
    assert_int_equal(vault_alert(&v, "alert-1", "alert-1", KEY_BAD, t, t), 0);
    assert_int_equal(q64(&v, "SELECT condemned FROM actors WHERE key = ?1", KEY_BAD), 1);
    assert_int_equal(q64(&v, "SELECT condemned FROM actors WHERE key = ?1", KEY_OK), 0);
    assert_int_equal(v.used_bytes, 900);
    assert_int_equal(v.st.evicted, 0);

    /* 900 + 300 > 1000: the oldest innocent pre-image goes */
    assert_int_equal(save_path(&v, KEY_OK, p[3], t10), VAULT_SAVED);
    assert_true(v.st.evicted > 0);
    assert_true(v.used_bytes <= lim.cap_bytes);
    assert_int_equal(blob_of(&v, p[0]), -1);
    assert_false(blob_file_exists(x, b0));
    assert_true(blob_file_exists(x, b2));
    assert_true(blob_file_exists(x, blob_of(&v, p[3])));
    /* the index, the counter and the directory agree */
    uint64_t bytes;
    assert_int_equal(count_blobs(x, &bytes),
                     q64(&v, "SELECT count(*) FROM ops WHERE blob IS NOT NULL", NULL));
    assert_int_equal(bytes, v.used_bytes);
    assert_int_equal(q64(&v, "SELECT SUM(size) FROM ops WHERE blob IS NOT NULL", NULL), v.used_bytes);

    /* the condemned actor keeps saving until only its own pre-images are
     * left; then the vault is full and nothing of it was dropped */
    int bad_saved = 1, rc = VAULT_SAVED, i;
    for (i = 4; i < 8 && rc == VAULT_SAVED; i++) {
        rc = save_path(&v, KEY_BAD, p[i], t);
        if (rc == VAULT_SAVED)
            bad_saved++;
        assert_true(v.used_bytes <= lim.cap_bytes);
    }
    assert_int_equal(rc, VAULT_FULL);
    assert_int_equal(v.st.full, 1);
    assert_int_equal(blob_of(&v, p[i - 1]), -1);
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE actor = ?1 AND blob IS NOT NULL", KEY_OK),
                     0);
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE actor = ?1", KEY_BAD), bad_saved);
    assert_int_equal(bad_saved, 3);
    assert_true(blob_file_exists(x, b2));
    char buf[400];
    char bp[192];
    snprintf(bp, sizeof bp, "%s/%lld", x->vdir, (long long)b2);
    assert_int_equal(get_file(bp, buf, sizeof buf), 300);
    assert_int_equal(buf[0], 'c');
    assert_int_equal(count_blobs(x, &bytes), (unsigned)bad_saved);
    assert_int_equal(bytes, v.used_bytes);
    assert_int_equal(v.used_bytes, 900);
    /* an innocent save is refused the same way */
    assert_int_equal(save_path(&v, KEY_OK, p[7], t), VAULT_FULL);
    assert_int_equal(v.st.full, 2);
    vault_close(&v);
}

/* ---- expiry ----------------------------------------------------------- */

static void test_expire(void **state)
{
    struct fx *x = *state;
    struct vault_limits lim = BIG;
    lim.keep_us = 60ull * 1000000;
    struct vault v;
    open_vault(&v, x, &lim);
    uint64_t now = now_us(), old = now - 3600ull * 1000000;
    const char *key_gone = "boot0-6161-3000";
    assert_int_equal(vault_actor(&v, KEY_OK, "/usr/bin/cp", "cp", 1000, old), 0);
    assert_int_equal(vault_actor(&v, key_gone, "/usr/bin/touch", "touch", 1000, old), 0);
    assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 1000, old), 0);

    char f_old[192], f_new[192], f_bad[192];
    path_in(f_old, sizeof f_old, x->files, "old");
    path_in(f_new, sizeof f_new, x->files, "new");
    path_in(f_bad, sizeof f_bad, x->files, "bad");
    put_text(f_old, "old innocent bytes");
    put_text(f_new, "recent innocent bytes");
    put_text(f_bad, "victim of the attacker");
    assert_int_equal(save_path(&v, KEY_OK, f_old, old), VAULT_SAVED);
    assert_int_equal(vault_note_create(&v, KEY_OK, "/x/old-create", NULL, old), 0);
    assert_int_equal(save_path(&v, KEY_OK, f_new, now), VAULT_SAVED);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vault_note_create(&v, key_gone, "/x/gone", NULL, old + (uint64_t)i), 0);
    assert_int_equal(save_path(&v, KEY_BAD, f_bad, old), VAULT_SAVED);
    assert_int_equal(vault_alert(&v, "alert-9", "alert-9", KEY_BAD, old, old), 0);
    int64_t b_old = blob_of(&v, f_old), b_new = blob_of(&v, f_new), b_bad = blob_of(&v, f_bad);
    uint64_t used = v.used_bytes;

    /* nothing is old enough yet; a clock before keep_us drops nothing */
    assert_int_equal(vault_expire(&v, old + 1, 100), 0);
    assert_int_equal(vault_expire(&v, lim.keep_us, 100), 0);
    /* max_ops bounds one call */
    assert_int_equal(vault_expire(&v, now, 1), 1);
    assert_int_equal(vault_expire(&v, now, 100), 4);
    assert_int_equal(vault_expire(&v, now, 100), 0);
    assert_int_equal(v.st.expired, 5);

    assert_int_equal(blob_of(&v, f_old), -1);
    assert_false(blob_file_exists(x, b_old));
    assert_int_equal(v.used_bytes, used - strlen("old innocent bytes"));
    assert_true(blob_file_exists(x, b_new));
    assert_true(blob_file_exists(x, b_bad));
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE actor = ?1", KEY_OK), 1);
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE actor = ?1", KEY_BAD), 1);
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE actor = ?1", key_gone), 0);
    /* an actor left without ops is forgotten; the others stay */
    assert_int_equal(q64(&v, "SELECT count(*) FROM actors WHERE key = ?1", key_gone), 0);
    assert_int_equal(q64(&v, "SELECT count(*) FROM actors WHERE key = ?1", KEY_OK), 1);
    assert_int_equal(q64(&v, "SELECT count(*) FROM actors WHERE key = ?1", KEY_BAD), 1);

    /* weeks later, the condemned actor's op is still kept ... */
    assert_int_equal(vault_expire(&v, now + 20ull * 86400 * 1000000, 100), 1); /* the recent one */
    assert_int_equal(blob_of(&v, f_bad), b_bad);
    assert_true(blob_file_exists(x, b_bad));
    /* ... until VAULT_INCIDENT_KEEP_US */
    assert_int_equal(vault_expire(&v, old + VAULT_INCIDENT_KEEP_US + 1000000, 100), 1);
    assert_int_equal(blob_of(&v, f_bad), -1);
    assert_false(blob_file_exists(x, b_bad));
    vault_close(&v);
}

/* ---- orphan blobs ----------------------------------------------------- */

static void test_orphan_sweep(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    char f[192];
    path_in(f, sizeof f, x->files, "kept");
    put_text(f, "recorded pre-image");
    assert_int_equal(save_path(&v, KEY_OK, f, now_us()), VAULT_SAVED);
    int64_t b = blob_of(&v, f);
    vault_close(&v);

    /* the agent died between writing blob 4242 and recording it */
    char orphan[192], other[192], low[192];
    path_in(orphan, sizeof orphan, x->vdir, "4242");
    path_in(other, sizeof other, x->vdir, "notes.txt");
    path_in(low, sizeof low, x->vdir, "77");
    put_text(orphan, "half a blob");
    put_text(other, "not a blob name");

    /* restore (create=false) does not sweep */
    char err[512] = "";
    assert_int_equal(vault_open(&v, x->vdir, &BIG, false, err, sizeof err), 0);
    assert_true(exists(orphan));
    vault_close(&v);

    put_text(low, "another orphan");
    open_vault(&v, x, &BIG);
    assert_false(exists(orphan));
    assert_false(exists(low));
    assert_true(exists(other));
    assert_true(blob_file_exists(x, b));
    assert_int_equal(v.used_bytes, strlen("recorded pre-image"));
    /* new blobs do not reuse a swept number */
    assert_true(v.next_blob > 4242);
    assert_int_equal(save_path(&v, KEY_OK, f, now_us()), VAULT_SAVED);
    assert_int_equal(count_blobs(x, NULL), 2);
    vault_close(&v);
}

/* ---- restore ---------------------------------------------------------- */

#define ALERT "a-20240101-0001"
#define A_ORIG "the original contents of a\n"
#define B_ORIG "b as it was before\n"
#define C_ORIG "c, soon renamed\n"
static const struct timespec A_TIMES[2] = {{1600000001, 222000000}, {1600000000, 123456789}};

struct attack {
    char a[192], b[192], c[192], c_locked[192], xenc[192];
};

/* An attacker (KEY_BAD) overwrites a, creates x.enc, deletes b and renames
 * c to c.locked; the guard records each step, then condemns it. */
static void stage_attack(struct vault *v, const struct fx *x, struct attack *k)
{
    path_in(k->a, sizeof k->a, x->files, "a");
    path_in(k->b, sizeof k->b, x->files, "b");
    path_in(k->c, sizeof k->c, x->files, "c");
    path_in(k->c_locked, sizeof k->c_locked, x->files, "c.locked");
    path_in(k->xenc, sizeof k->xenc, x->files, "x.enc");
    put_file(k->a, A_ORIG, strlen(A_ORIG), 0640);
    assert_int_equal(chown(k->a, 1234, 2345), 0);
    assert_int_equal(utimensat(AT_FDCWD, k->a, A_TIMES, 0), 0);
    put_text(k->b, B_ORIG);
    put_text(k->c, C_ORIG);

    assert_int_equal(vault_actor(v, KEY_BAD, "/tmp/evil", "evil --encrypt", 1234, now_us()), 0);
    /* a: saved, then overwritten */
    int fd = open(k->a, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(vault_save(v, KEY_BAD, fd, &st, k->a, now_us(), false, NULL, NULL), VAULT_SAVED);
    const char enc[] = "\x8f\x13" "ENCRYPTED-GARBAGE-LONGER-THAN-THE-ORIGINAL\x01\x02";
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, enc, sizeof enc, 0), (ssize_t)sizeof enc);
    close(fd);
    /* x.enc: noted, then created */
    assert_int_equal(vault_note_create(v, KEY_BAD, k->xenc, NULL, now_us()), 0);
    put_text(k->xenc, "ciphertext of a");
    /* b: saved through an fd opened before the unlink, then deleted */
    fd = open(k->b, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(vault_save(v, KEY_BAD, fd, &st, k->b, now_us(), false, NULL, NULL), VAULT_SAVED);
    assert_int_equal(unlink(k->b), 0);
    close(fd);
    /* c renamed */
    assert_int_equal(rename(k->c, k->c_locked), 0);
    assert_int_equal(lstat(k->c_locked, &st), 0);
    assert_int_equal(vault_note_rename(v, KEY_BAD, k->c, k->c_locked, &st, now_us()), 0);
    uint64_t t = now_us();
    assert_int_equal(vault_alert(v, ALERT, ALERT, KEY_BAD, t, t), 0);
}

/* Everything restore_alert printed. */
static char *slurp(FILE *f)
{
    static char buf[16384];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

static unsigned leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, ".mamori-restore.", 16))
            n++;
    closedir(d);
    return n;
}

static void test_restore_alert(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    struct attack k;
    stage_attack(&v, x, &k);
    vault_close(&v);

    /* restore opens the vault as `mamori restore` does */
    char err[512] = "";
    struct vault_limits lim = {.cap_bytes = UINT64_MAX, .file_max = UINT64_MAX};
    assert_int_equal(vault_open(&v, x->vdir, &lim, false, err, sizeof err), 0);

    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(restore_list(&v, out), 1);
    char *listed = slurp(out);
    assert_non_null(strstr(listed, ALERT));
    assert_non_null(strstr(listed, "saved 2  created 1  renamed 1"));
    assert_non_null(strstr(listed, "/tmp/evil"));
    fclose(out);

    out = tmpfile();
    assert_non_null(out);
    struct restore_opts o = {.out = out};
    struct restore_counts c = {0};
    assert_int_equal(restore_alert(&v, ALERT, &o, &c), 0);
    char *said = slurp(out);
    assert_int_equal(c.restored, 2);
    assert_int_equal(c.removed, 1);
    assert_int_equal(c.renamed, 1);
    assert_int_equal(c.unchanged, 0);
    assert_int_equal(c.skipped, 0);
    assert_int_equal(c.failed, 0);
    assert_non_null(strstr(said, "restored"));
    assert_non_null(strstr(said, k.a));
    assert_non_null(strstr(said, "removed"));
    assert_non_null(strstr(said, k.xenc));
    assert_non_null(strstr(said, "renamed"));
    assert_null(strstr(said, "failed"));
    fclose(out);

    /* a: bytes, mode, owner and times as before (stat first: reading the
     * file moves its atime) */
    struct stat st;
    assert_int_equal(stat(k.a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 2345);
    assert_int_equal(st.st_mtim.tv_sec, A_TIMES[1].tv_sec);
    assert_int_equal(st.st_mtim.tv_nsec, A_TIMES[1].tv_nsec);
    assert_int_equal(st.st_atim.tv_sec, A_TIMES[0].tv_sec);
    assert_int_equal(st.st_atim.tv_nsec, A_TIMES[0].tv_nsec);
    assert_content(k.a, A_ORIG);
    assert_content(k.b, B_ORIG);
    assert_false(exists(k.xenc));
    assert_content(k.c, C_ORIG);
    assert_false(exists(k.c_locked));
    assert_int_equal(leftovers(x->files), 0);

    /* a second restore finds everything in place */
    out = tmpfile();
    assert_non_null(out);
    o.out = out;
    memset(&c, 0, sizeof c);
    assert_int_equal(restore_alert(&v, ALERT, &o, &c), 0);
    assert_int_equal(c.restored, 0);
    assert_int_equal(c.removed, 0);
    assert_int_equal(c.renamed, 0);
    assert_int_equal(c.failed, 0);
    assert_int_equal(c.skipped, 0);
    assert_int_equal(c.unchanged, 4);
    fclose(out);
    assert_content(k.a, A_ORIG);
    assert_int_equal(stat(k.a, &st), 0);
    assert_int_equal(st.st_mtim.tv_nsec, A_TIMES[1].tv_nsec);
    assert_content(k.b, B_ORIG);
    assert_content(k.c, C_ORIG);
    assert_false(exists(k.xenc));
    assert_false(exists(k.c_locked));

    /* an alert the vault does not know */
    memset(&c, 0, sizeof c);
    o.out = stderr;
    assert_int_equal(restore_alert(&v, "a-no-such-alert", &o, &c), MAMORI_ENOENT);
    assert_int_equal(c.restored + c.removed + c.renamed + c.unchanged + c.skipped + c.failed, 0);
    vault_close(&v);
}

static void test_restore_dry_run(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    struct attack k;
    stage_attack(&v, x, &k);

    char before[4096];
    ssize_t na = get_file(k.a, before, sizeof before);
    struct stat sa0, sa1;
    assert_int_equal(stat(k.a, &sa0), 0);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    struct restore_opts o = {.dry_run = true, .out = out};
    struct restore_counts c = {0};
    assert_int_equal(restore_alert(&v, ALERT, &o, &c), 0);
    fclose(out);
    assert_int_equal(c.restored, 2);
    assert_int_equal(c.removed, 1);
    assert_int_equal(c.renamed, 1);
    assert_int_equal(c.failed, 0);
    assert_non_null(strstr(text, "would restore"));
    assert_non_null(strstr(text, "would remove"));
    assert_non_null(strstr(text, "would rename"));
    free(text);

    /* nothing moved */
    char after[4096];
    assert_int_equal(get_file(k.a, after, sizeof after), na);
    assert_memory_equal(after, before, (size_t)na);
    assert_int_equal(stat(k.a, &sa1), 0);
    assert_int_equal(sa1.st_mtim.tv_sec, sa0.st_mtim.tv_sec);
    assert_int_equal(sa1.st_mtim.tv_nsec, sa0.st_mtim.tv_nsec);
    assert_int_equal(sa1.st_ino, sa0.st_ino);
    assert_false(exists(k.b));
    assert_true(exists(k.xenc));
    assert_false(exists(k.c));
    assert_true(exists(k.c_locked));
    assert_int_equal(leftovers(x->files), 0);

    /* the real thing still works afterwards */
    o = (struct restore_opts){.out = stderr};
    memset(&c, 0, sizeof c);
    FILE *sink = tmpfile();
    assert_non_null(sink);
    o.out = sink;
    assert_int_equal(restore_alert(&v, ALERT, &o, &c), 0);
    fclose(sink);
    assert_int_equal(c.restored, 2);
    assert_int_equal(c.removed, 1);
    assert_int_equal(c.renamed, 1);
    assert_content(k.a, A_ORIG);
    assert_content(k.b, B_ORIG);
    assert_content(k.c, C_ORIG);
    vault_close(&v);
}

/* An attacker that sets a file's mtime into the future before it is stopped
 * does not make restore think the owner changed it: ctime decides. */
static void test_restore_ignores_forged_mtime(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    char n[192];
    path_in(n, sizeof n, x->files, "n.txt");
    put_text(n, "the original text");
    assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 0, now_us()), 0);
    assert_int_equal(save_path(&v, KEY_BAD, n, now_us()), VAULT_SAVED);
    put_text(n, "encrypted, with a forged mtime");
    struct timespec future[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) + 86400}};
    int fd = open(n, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(futimens(fd, future), 0);
    close(fd);
    uint64_t t = now_us();
    assert_int_equal(vault_alert(&v, "alert-n", "alert-n", KEY_BAD, t, t), 0);
    FILE *out = tmpfile();
    assert_non_null(out);
    struct restore_opts o = {.out = out};
    struct restore_counts c = {0};
    assert_int_equal(restore_alert(&v, "alert-n", &o, &c), 0);
    assert_int_equal(c.restored, 1);
    assert_int_equal(c.skipped, 0);
    assert_content(n, "the original text");
    fclose(out);
    vault_close(&v);
}

/* A save that can never fit, or a file too big to copy, drops nothing. */
static void test_cap_no_needless_eviction(void **state)
{
    struct fx *x = *state;
    struct vault_limits lim = {.cap_bytes = 1000, .file_max = 500, .keep_us = BIG.keep_us};
    struct vault v;
    open_vault(&v, x, &lim);
    assert_int_equal(vault_actor(&v, KEY_OK, "/usr/bin/cp", "cp", 1000, now_us()), 0);
    char chunk[1200], p[3][192];
    memset(chunk, 'q', sizeof chunk);
    static const size_t sizes[3] = {300, 300, 1200};
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        path_in(p[i], sizeof p[i], x->files, name);
        put_file(p[i], chunk, sizes[i], 0644);
    }
    uint64_t t10 = now_us() - 600ull * 1000000; /* old enough to be dropped */
    assert_int_equal(save_path(&v, KEY_OK, p[0], t10), VAULT_SAVED);
    assert_int_equal(save_path(&v, KEY_OK, p[1], t10), VAULT_SAVED);
    int rc = save_path(&v, KEY_OK, p[2], now_us());
    /* larger than the cap: refused (too big to copy here, or full where a
     * reflink was possible), and the two pre-images stay */
    assert_true(rc == VAULT_TOO_BIG || rc == VAULT_FULL);
    assert_int_equal(v.st.evicted, 0);
    assert_int_equal(v.used_bytes, 600);
    /* one more 300-byte save: one old pre-image makes room, not both */
    put_file(p[2], chunk, 300, 0644);
    if (v.st.cloned == 0) {
        assert_int_equal(save_path(&v, KEY_OK, p[2], now_us()), VAULT_SAVED);
        assert_int_equal(save_path(&v, KEY_OK, p[2], now_us()), VAULT_SAVED);
        assert_int_equal(v.st.evicted, 1);
        assert_true(v.used_bytes <= lim.cap_bytes);
        assert_int_equal(save_path(&v, KEY_OK, p[2], now_us()), VAULT_SAVED);
        assert_int_equal(v.st.evicted, 2);
        /* full of its own young pre-images: the same actor's next save is
         * refused (it cannot flush its own first copies) ... */
        assert_int_equal(save_path(&v, KEY_OK, p[2], now_us()), VAULT_FULL);
        assert_int_equal(v.st.evicted, 2);
        /* ... another actor's save may drop a young one */
        assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 0, now_us()), 0);
        assert_int_equal(save_path(&v, KEY_BAD, p[2], now_us()), VAULT_SAVED);
        assert_int_equal(v.st.evicted, 3);
    }
    vault_close(&v);
}

/* ext4 gives a freed inode number to the next new file: a save must follow
 * only renames of its own path back to the original name. */
static void test_restore_inode_reuse(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    char f1[192], tmp2[192], locked2[192];
    path_in(f1, sizeof f1, x->files, "f1.doc");
    path_in(tmp2, sizeof tmp2, x->files, "tmp2");
    path_in(locked2, sizeof locked2, x->files, "f2.doc.locked");
    put_text(f1, "first original");
    struct stat st;
    assert_int_equal(stat(f1, &st), 0);
    uint64_t t = now_us();
    assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 0, t), 0);
    /* f1 deleted after its copy was read (saved from a held fd) ... */
    assert_int_equal(save_path(&v, KEY_BAD, f1, t), VAULT_SAVED);
    assert_int_equal(unlink(f1), 0);
    /* ... then tmp2 created and renamed with f1's old inode number */
    put_text(tmp2, "ciphertext two");
    assert_int_equal(vault_note_create(&v, KEY_BAD, tmp2, &st, t), 0);
    struct stat reused = st; /* the rename row carries f1's number */
    assert_int_equal(rename(tmp2, locked2), 0);
    assert_int_equal(vault_note_rename(&v, KEY_BAD, tmp2, locked2, &reused, t), 0);
    assert_int_equal(vault_alert(&v, "alert-r", "alert-r", KEY_BAD, t, t), 0);
    FILE *out = tmpfile();
    assert_non_null(out);
    struct restore_opts o = {.out = out};
    struct restore_counts c = {0};
    assert_int_equal(restore_alert(&v, "alert-r", &o, &c), 0);
    assert_int_equal(c.failed, 0);
    assert_content(f1, "first original");
    assert_false(exists(tmp2));
    assert_false(exists(locked2));
    fclose(out);
    vault_close(&v);
}

static void test_restore_skips_later_changes(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    char m[192];
    path_in(m, sizeof m, x->files, "m.txt");
    put_text(m, "before the attack");
    assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 0, now_us()), 0);
    assert_int_equal(save_path(&v, KEY_BAD, m, now_us()), VAULT_SAVED);
    put_text(m, "encrypted by the attacker");
    /* the attacker was frozen five seconds ago */
    uint64_t t = now_us() - 5000000u;
    assert_int_equal(vault_alert(&v, "alert-m", "alert-m", KEY_BAD, t, t), 0);

    /* the owner edits the file after the attack was stopped: its ctime is
     * now, later than the freeze plus the grace period */
    put_text(m, "the owner's later edit");
    struct stat s0;
    assert_int_equal(stat(m, &s0), 0);

    FILE *out = tmpfile();
    assert_non_null(out);
    struct restore_opts o = {.out = out};
    struct restore_counts c = {0};
    assert_int_equal(restore_alert(&v, "alert-m", &o, &c), 0);
    assert_int_equal(c.skipped, 1);
    assert_int_equal(c.restored, 0);
    assert_int_equal(c.failed, 0);
    assert_non_null(strstr(slurp(out), "skipped"));
    assert_content(m, "the owner's later edit");
    struct stat s1;
    assert_int_equal(stat(m, &s1), 0);
    assert_int_equal(s1.st_mtim.tv_sec, s0.st_mtim.tv_sec);
    assert_int_equal(s1.st_ino, s0.st_ino);

    /* --force puts the pre-attack bytes back anyway */
    o.force = true;
    memset(&c, 0, sizeof c);
    assert_int_equal(restore_alert(&v, "alert-m", &o, &c), 0);
    assert_int_equal(c.restored, 1);
    assert_int_equal(c.skipped, 0);
    assert_int_equal(c.failed, 0);
    assert_content(m, "before the attack");
    fclose(out);
    vault_close(&v);
}

/* Written after the rename: the save is recorded under the new name but goes
 * back under the name the inode had before the incident. Two actors of one
 * incident (a loop and the encryptor it started) are undone together. */
static void test_restore_rename_then_encrypt_incident(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    char d[192], dl[192], note[192];
    path_in(d, sizeof d, x->files, "d.doc");
    path_in(dl, sizeof dl, x->files, "d.doc.locked");
    path_in(note, sizeof note, x->files, "README-RANSOM.txt");
    put_text(d, "quarterly numbers");
    const char *loop = "boot0-100-1", *enc = "boot0-101-2";
    uint64_t t = now_us();
    assert_int_equal(vault_actor(&v, loop, "/bin/sh", "sh loop.sh", 0, t), 0);
    assert_int_equal(vault_actor(&v, enc, "/tmp/enc", "enc d.doc", 0, t), 0);
    /* the loop drops a ransom note; the encryptor renames, then writes */
    assert_int_equal(vault_note_create(&v, loop, note, NULL, now_us()), 0);
    put_text(note, "pay up");
    assert_int_equal(rename(d, dl), 0);
    struct stat st;
    assert_int_equal(lstat(dl, &st), 0);
    assert_int_equal(vault_note_rename(&v, enc, d, dl, &st, now_us()), 0);
    assert_int_equal(save_path(&v, enc, dl, now_us()), VAULT_SAVED);
    put_text(dl, "\x01\x02\x03 ciphertext");
    t = now_us();
    assert_int_equal(vault_alert(&v, "alert-enc", "alert-enc", enc, t, t), 0);
    assert_int_equal(vault_alert(&v, "alert-loop", "alert-enc", loop, t, t), 0);

    FILE *out = tmpfile();
    assert_non_null(out);
    struct restore_opts o = {.out = out};
    struct restore_counts c = {0};
    assert_int_equal(restore_alert(&v, "alert-loop", &o, &c), 0);
    fclose(out);
    assert_int_equal(c.renamed, 1);
    assert_int_equal(c.restored, 1);
    assert_int_equal(c.removed, 1);
    assert_int_equal(c.failed, 0);
    assert_content(d, "quarterly numbers");
    assert_false(exists(dl));
    assert_false(exists(note));
    vault_close(&v);
}

/* A save taken at a lease break, before the writer is known, moves to the
 * writer's undo log (vault_assign) or goes away with its blob (vault_drop). */
static void test_assign_and_drop(void **state)
{
    struct fx *x = *state;
    struct vault v;
    open_vault(&v, x, &BIG);
    assert_int_equal(vault_actor(&v, KEY_BAD, "/tmp/evil", "evil", 0, now_us()), 0);
    char a[192], b[192];
    path_in(a, sizeof a, x->files, "a.txt");
    path_in(b, sizeof b, x->files, "b.txt");
    put_file(a, "alpha alpha alpha\n", 18, 0644);
    put_file(b, "bravo bravo bravo\n", 18, 0644);
    int64_t seq[2];
    const char *paths[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(vault_save(&v, "boot-lease", fd, &st, paths[i], now_us(), 0, NULL, NULL),
                         VAULT_SAVED);
        close(fd);
        seq[i] = vault_last_op(&v);
        assert_true(seq[i] > 0);
    }
    assert_int_equal(vault_assign(&v, seq[0], KEY_BAD), 0);
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE actor = ?1", KEY_BAD), 1);
    int64_t blob_b = blob_of(&v, b);
    assert_true(blob_file_exists(x, blob_b));
    uint64_t used = v.used_bytes;
    assert_int_equal(vault_drop(&v, seq[1]), 0);
    assert_false(blob_file_exists(x, blob_b));
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE path = ?1", b), 0);
    assert_true(v.used_bytes < used);
    assert_int_equal(q64(&v, "SELECT count(*) FROM ops WHERE path = ?1", a), 1);
    vault_close(&v);
}

static void test_dir_for(void **state)
{
    struct fx *x = *state;
    char out[PATH_MAX];
    assert_int_equal(vault_dir_for("/", out, sizeof out), 0);
    assert_string_equal(out, "/" VAULT_DIR_NAME);
    assert_int_equal(vault_dir_for(x->files, out, sizeof out), 0);
    /* the mount root of the files' filesystem */
    size_t n = strlen(out), s = strlen("/" VAULT_DIR_NAME);
    assert_true(n >= s);
    assert_string_equal(out + n - s, "/" VAULT_DIR_NAME);
    out[n - s] = '\0';
    const char *root = out[0] ? out : "/";
    struct stat sr, sf;
    assert_int_equal(stat(root, &sr), 0);
    assert_int_equal(stat(x->files, &sf), 0);
    assert_int_equal(sr.st_dev, sf.st_dev);
    if (strcmp(root, "/")) {
        char up[PATH_MAX + 4];
        snprintf(up, sizeof up, "%s/..", root);
        struct stat su;
        assert_int_equal(stat(up, &su), 0);
        assert_true(su.st_dev != sf.st_dev);
    }
    char missing[192];
    path_in(missing, sizeof missing, x->tmp, "nope/deeper");
    assert_int_equal(vault_dir_for(missing, out, sizeof out), MAMORI_ENOENT);
    assert_int_equal(vault_dir_for("/", out, 4), MAMORI_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_create_reopen_missing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_permissions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_save_copies_bytes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cap_evicts_innocent_keeps_condemned, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_expire, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_orphan_sweep, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_alert, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_dry_run, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_ignores_forged_mtime, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cap_no_needless_eviction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_inode_reuse, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_skips_later_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_rename_then_encrypt_incident, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_assign_and_drop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dir_for, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
