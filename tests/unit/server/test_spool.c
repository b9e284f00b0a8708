/* test_spool.c - the agent's on-disk spool: order, survival across
 * reopening, acknowledgement, a torn tail cut after a crash, segment
 * rotation and deletion, the size bound (refuse, never block or drop held
 * records), and two appenders on one directory. Real files in a temp dir. */
#include "srvtest.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "agent/spool.h"
#include "core/err.h"

static char buf[SPOOL_REC_MAX];

static uint64_t next_seq(struct spool *sp, char *text)
{
    uint64_t seq = 0;
    size_t len = 0;
    int r = spool_next(sp, buf, sizeof buf, &seq, &len);
    if (r != 1)
        return 0;
    if (text) {
        memcpy(text, buf, len);
        text[len] = '\0';
    }
    return seq;
}

static void test_order_restart_ack(void **state)
{
    char *dir = srvtest_mkdir();
    struct spool sp;
    char text[64];
    assert_int_equal(spool_open(&sp, dir, SPOOL_DEFAULT_CAP, true), 0);
    assert_int_equal(spool_append(&sp, "one", 3), 1);
    assert_int_equal(spool_append(&sp, "two", 3), 2);
    assert_int_equal(spool_append(&sp, "three", 5), 3);
    assert_int_equal(spool_pending(&sp), 3);
    assert_int_equal(next_seq(&sp, text), 1);
    assert_string_equal(text, "one");
    assert_int_equal(next_seq(&sp, text), 2);
    assert_int_equal(next_seq(&sp, text), 3);
    assert_string_equal(text, "three");
    assert_int_equal(next_seq(&sp, NULL), 0); /* nothing more yet */
    assert_int_equal(spool_append(&sp, "four", 4), 4);
    assert_int_equal(next_seq(&sp, text), 4); /* the reader picks up new records */

    /* a restart (new struct) reads everything not acked, again, in order */
    struct spool again;
    assert_int_equal(spool_open(&again, dir, SPOOL_DEFAULT_CAP, true), 0);
    assert_int_equal(next_seq(&again, NULL), 1);
    assert_int_equal(spool_ack(&again, 2), 0);
    struct spool third;
    assert_int_equal(spool_open(&third, dir, SPOOL_DEFAULT_CAP, true), 0);
    assert_int_equal(third.acked, 2);
    assert_int_equal(spool_pending(&third), 2);
    assert_int_equal(next_seq(&third, text), 3);
    assert_int_equal(next_seq(&third, text), 4);
    /* rewind goes back to the first record not acked */
    spool_rewind(&third);
    assert_int_equal(next_seq(&third, NULL), 3);
    /* numbering goes on after a restart */
    assert_int_equal(spool_append(&third, "five", 4), 5);
    srvtest_rmdir(dir);
}

static void test_torn_tail_cut(void **state)
{
    char *dir = srvtest_mkdir();
    struct spool sp;
    assert_int_equal(spool_open(&sp, dir, SPOOL_DEFAULT_CAP, false), 0);
    assert_int_equal(spool_append(&sp, "kept-1", 6), 1);
    assert_int_equal(spool_append(&sp, "kept-2", 6), 2);
    /* a crash in the middle of the next append: half a header */
    char seg[4200];
    snprintf(seg, sizeof seg, "%.4000s/0000000000000001.seg", dir);
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "MSP1\x10\x00\x00", 7), 7);
    close(fd);
    struct stat st;
    stat(seg, &st);
    off_t torn = st.st_size;
    struct spool after;
    assert_int_equal(spool_open(&after, dir, SPOOL_DEFAULT_CAP, false), 0);
    stat(seg, &st);
    assert_int_equal(st.st_size, torn - 7); /* cut */
    assert_int_equal(spool_append(&after, "three", 5), 3);
    char text[64];
    assert_int_equal(next_seq(&after, text), 1);
    assert_int_equal(next_seq(&after, text), 2);
    assert_int_equal(next_seq(&after, text), 3);
    assert_string_equal(text, "three");
    srvtest_rmdir(dir);
}

static int count_segs(const char *dir)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "ls %.4000s | grep -c '\\.seg$'", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static void test_rotation_bound_and_deletion(void **state)
{
    char *dir = srvtest_mkdir();
    struct spool sp;
    static char big[60000];
    memset(big, 'z', sizeof big);
    /* the bound: two segments (8 MiB) */
    assert_int_equal(spool_open(&sp, dir, 1, false), 0);
    assert_int_equal(sp.cap, 2ull * SPOOL_SEG_BYTES);
    int64_t seq, last = 0;
    int n = 0;
    while ((seq = spool_append(&sp, big, sizeof big)) > 0) {
        assert_int_equal(seq, last + 1); /* no gap */
        last = seq;
        n++;
        assert_true(n < 1000);
    }
    assert_int_equal(seq, MAMORI_EFULL);
    assert_int_equal(sp.dropped, 1);
    assert_non_null(strstr(sp.err, "full"));
    assert_true(n >= 130 && n <= 140); /* 8 MiB / 60 KiB, less the headers and the tails */
    /* 69 records fill a 4 MiB segment; the 139th starts a third */
    assert_int_equal(n, 139);
    assert_int_equal(count_segs(dir), 3);
    /* all of it readable, in order, across the segment boundary */
    for (int64_t i = 1; i <= last; i++)
        assert_int_equal(next_seq(&sp, NULL), i);
    /* acking the first segment's records deletes it and makes room */
    assert_int_equal(spool_ack(&sp, (uint64_t)last), 0);
    assert_int_equal(count_segs(dir), 1); /* the newest one stays */
    assert_int_equal(spool_append(&sp, big, sizeof big), last + 1);
    assert_int_equal(next_seq(&sp, NULL), last + 1);
    /* a record longer than the bound of one record, or empty */
    assert_int_equal(spool_append(&sp, big, 0), MAMORI_EINVAL);
    srvtest_rmdir(dir);
}

static void test_two_appenders(void **state)
{
    char *dir = srvtest_mkdir();
    struct spool a, b;
    assert_int_equal(spool_open(&a, dir, SPOOL_DEFAULT_CAP, false), 0);
    assert_int_equal(spool_open(&b, dir, SPOOL_DEFAULT_CAP, false), 0);
    assert_int_equal(spool_append(&a, "a1", 2), 1);
    assert_int_equal(spool_append(&b, "b1", 2), 2); /* b sees a's record */
    assert_int_equal(spool_append(&a, "a2", 2), 3);
    char text[8];
    assert_int_equal(next_seq(&a, text), 1);
    assert_string_equal(text, "a1");
    assert_int_equal(next_seq(&a, text), 2);
    assert_string_equal(text, "b1");
    assert_int_equal(next_seq(&a, text), 3);
    srvtest_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_restart_ack),
        cmocka_unit_test(test_torn_tail_cut),
        cmocka_unit_test(test_rotation_bound_and_deletion),
        cmocka_unit_test(test_two_appenders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
