/* test_itab.c - the guard's inode table (src/guard/actor.c) keyed by the
 * file's identity, and fan_fstat (src/guard/fan.c) that gives it.
 *
 * Filesystems reuse a deleted file's inode number for a new file (ext4 does
 * at once). The table must not take the new file for the old one: the old
 * entry says "an ignore mark is on this inode" and "its content was X", and
 * neither is true of the new file (its opens would all reach the guard, never
 * muted again). The birth time tells them apart; the old entry stays (it may
 * hold the fd that keeps a deleted original for the vault) until it is the
 * least recently used. The path index finds the file last seen under a
 * name, and keeps the mappings of other paths whose hashes meet. fan_fstat
 * is checked against fstat on a real file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard/actor.h"
#include "guard/fan.h"

static int setup(void **state)
{
    struct tables *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void reused_number_is_a_new_entry(void **state)
{
    struct tables *t = *state;
    struct inode_ent *old = itab_slot(t, 8, 42, 1000, 1);
    old->open_ignored = old->muted = old->known = true;
    old->size = 123;
    struct inode_ent *neu = itab_slot(t, 8, 42, 2000, 2);
    assert_ptr_not_equal(neu, old);
    assert_false(neu->open_ignored);
    assert_false(neu->muted);
    assert_false(neu->known);
    assert_int_equal(neu->btime_ns, 2000);
    /* the dead file's entry is still there, as it was */
    assert_true(old->used);
    assert_true(old->open_ignored);
    assert_int_equal(old->size, 123);
    assert_ptr_equal(itab_find(t, 8, 42, 1000), old);
    assert_ptr_equal(itab_find(t, 8, 42, 2000), neu);
    /* the same file again is the same entry */
    assert_ptr_equal(itab_slot(t, 8, 42, 2000, 3), neu);
    /* another device is another file */
    assert_ptr_not_equal(itab_slot(t, 9, 42, 2000, 4), neu);
}

static void unknown_birth_time_matches_and_is_learned(void **state)
{
    struct tables *t = *state;
    struct inode_ent *e = itab_slot(t, 8, 7, 0, 1); /* a filesystem without birth times */
    e->known = true;
    assert_ptr_equal(itab_slot(t, 8, 7, 0, 2), e);
    assert_ptr_equal(itab_slot(t, 8, 7, 300, 3), e); /* first time the birth time is known */
    assert_int_equal(e->btime_ns, 300);
    assert_true(e->known);
    assert_ptr_equal(itab_find(t, 8, 7, 0), e);
    assert_null(itab_find(t, 8, 7, 301));
}

/* A name stands for the file last seen under it: after `sed -i` (a new
 * file renamed over the old one) a deletion of that name is the new
 * file's, and the vault must find the new file's held fd, not the old. */
static void newest_entry_under_a_path_wins(void **state)
{
    struct tables *t = *state;
    uint64_t ph = hash_str("/srv/docs/report.txt");
    struct inode_ent *old = itab_slot(t, 8, 100, 1, 1);
    itab_set_path(t, old, "/srv/docs/report.txt");
    assert_ptr_equal(itab_by_path(t, ph), old);
    struct inode_ent *neu = itab_slot(t, 8, 101, 2, 2);
    itab_set_path(t, neu, "/srv/docs/report.txt.tmp");
    assert_ptr_equal(itab_by_path(t, hash_str("/srv/docs/report.txt.tmp")), neu);
    itab_set_path(t, neu, "/srv/docs/report.txt"); /* renamed over the old one */
    assert_ptr_equal(itab_by_path(t, ph), neu);
    itab_set_path(t, old, "/srv/docs/report.txt"); /* and back: the latest wins */
    assert_ptr_equal(itab_by_path(t, ph), old);
}

/* Paths whose hashes meet in the index keep their own mappings: a new path
 * takes a free slot of its window, not another live path's. */
static void many_paths_all_found(void **state)
{
    struct tables *t = *state;
    enum { N = 10000 };
    char p[64];
    for (unsigned i = 0; i < N; i++) {
        struct inode_ent *e = itab_slot(t, 8, 1000 + i, 5 + i, i);
        snprintf(p, sizeof p, "/srv/tree/d%u/f%u.h", i % 97, i);
        itab_set_path(t, e, p);
    }
    unsigned found = 0;
    for (unsigned i = 0; i < N; i++) {
        snprintf(p, sizeof p, "/srv/tree/d%u/f%u.h", i % 97, i);
        struct inode_ent *e = itab_by_path(t, hash_str(p));
        found += e && e->ino == 1000 + i;
    }
    assert_int_equal(found, N);
}

static void fan_fstat_agrees_with_fstat(void **state)
{
    (void)state;
    char dir[] = "/tmp/mamori-itab.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "twelve bytes", 12), 12);
    struct stat a, b;
    int64_t btime = -1;
    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(fan_fstat(fd, &b, &btime), 0);
    assert_true(a.st_dev == b.st_dev);
    assert_true(a.st_ino == b.st_ino);
    assert_int_equal(a.st_mode, b.st_mode);
    assert_int_equal(a.st_nlink, b.st_nlink);
    assert_int_equal(a.st_uid, b.st_uid);
    assert_int_equal(a.st_gid, b.st_gid);
    assert_int_equal(b.st_size, 12);
    assert_int_equal(a.st_blocks, b.st_blocks);
    assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
    assert_int_equal(a.st_ctim.tv_nsec, b.st_ctim.tv_nsec);
    assert_true(btime >= 0); /* 0 where the filesystem keeps no birth time */
    assert_int_equal(fan_fstat(-1, &b, &btime), -1);
    close(fd);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reused_number_is_a_new_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_birth_time_matches_and_is_learned, setup, teardown),
        cmocka_unit_test_setup_teardown(newest_entry_under_a_path_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(many_paths_all_found, setup, teardown),
        cmocka_unit_test(fan_fstat_agrees_with_fstat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
