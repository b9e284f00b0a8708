/* test_event_spool.c - the event spool (agent/spool.c with drop_oldest, and
 * agent/event.c) on a real directory: batched appends and batched reads in
 * order across segments; at the bound the oldest segment goes, an
 * events_dropped record says how many, acked moves past them and a reader
 * left behind jumps to what remains; `agent event` input lines checked with
 * their line numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/event.h"
#include "agent/spool.h"
#include "core/err.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/mamori-evspool.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmdir_tmp(char *d)
{
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

/* n records of about `size` bytes: {"n":I,"pad":"xxx..."} from I = from. */
static void append_n(struct spool *sp, int from, int n, size_t size)
{
    char *buf = malloc((size_t)n * (size + 64));
    struct spool_rec *r = calloc((size_t)n, sizeof *r);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        int len = snprintf(buf + off, size + 64, "{\"n\":%d,\"pad\":\"%0*d\"}", from + i,
                           (int)size - 20, 0);
        r[i].data = buf + off;
        r[i].len = (size_t)len;
        off += (size_t)len;
    }
    size_t done = 0;
    assert_true(spool_append_many(sp, r, (size_t)n, &done) > 0);
    assert_int_equal(done, (size_t)n);
    free(r);
    free(buf);
}

static void test_batches_in_order(void **state)
{
    (void)state;
    char *d = mkdir_tmp();
    struct spool w, rd;
    assert_int_equal(spool_open(&w, d, 64ull << 20, false), 0);
    w.drop_oldest = true;
    append_n(&w, 1, 3000, 2000); /* ~6 MiB: two segments */
    append_n(&w, 3001, 10, 100);
    assert_int_equal(w.last, 3010);
    assert_int_equal(spool_open(&rd, d, 64ull << 20, false), 0);
    char *buf = malloc(512u << 10);
    struct spool_rec recs[1024];
    uint64_t want = 1, first = 0;
    size_t n = 0;
    int rounds = 0;
    while (spool_next_many(&rd, buf, 512u << 10, 1024, recs, &n, &first) == 1) {
        assert_int_equal(first, want);
        for (size_t i = 0; i < n; i++) {
            char expect[32];
            int l = snprintf(expect, sizeof expect, "{\"n\":%llu,", (unsigned long long)(want + i));
            assert_memory_equal(recs[i].data, expect, (size_t)l);
        }
        want += n;
        rounds++;
    }
    assert_int_equal(want, 3011);
    assert_true(rounds >= 12); /* 512 KiB of payload per batch at most */
    /* acked up to 1500 and reopened: reading resumes at 1501 */
    assert_int_equal(spool_ack(&rd, 1500), 0);
    assert_int_equal(spool_open(&rd, d, 64ull << 20, false), 0);
    assert_int_equal(spool_next_many(&rd, buf, 512u << 10, 5, recs, &n, &first), 1);
    assert_int_equal(first, 1501);
    assert_int_equal(n, 5);
    free(buf);
    rmdir_tmp(d);
}

static void test_drop_oldest(void **state)
{
    (void)state;
    char *d = mkdir_tmp();
    struct spool w, rd;
    uint64_t cap = 2ull * SPOOL_SEG_BYTES; /* the smallest bound */
    assert_int_equal(spool_open(&rd, d, cap, false), 0);
    assert_int_equal(spool_open(&w, d, cap, false), 0);
    w.drop_oldest = true;
    /* a reader placed on record 1 */
    append_n(&w, 1, 10, 1000);
    char *buf = malloc(512u << 10);
    struct spool_rec recs[1024];
    uint64_t first = 0;
    size_t n = 0;
    assert_int_equal(spool_next_many(&rd, buf, 512u << 10, 1, recs, &n, &first), 1);
    assert_int_equal(first, 1);
    /* ~12 MiB into an 8 MiB spool: never refused, the oldest segments go */
    for (int i = 0; i < 12; i++)
        append_n(&w, 11 + i * 1000, 1000, 1000);
    assert_true(w.bytes <= cap);
    assert_true(w.dropped > 0);
    assert_true(w.acked > 1); /* what was dropped counts as done */
    /* the drop is said by events_dropped records, in the stream */
    uint64_t dropped_said = 0, last_seq = 0, prev = first;
    bool jumped = false;
    while (spool_next_many(&rd, buf, 512u << 10, 1024, recs, &n, &first) == 1) {
        if (first != prev + 1)
            jumped = true; /* the reader left behind went on at the oldest record left */
        for (size_t i = 0; i < n; i++) {
            const char *p = recs[i].data;
            if (recs[i].len > 26 && !memcmp(p, "{\"kind\":\"events_dropped\"", 24)) {
                const char *c = strstr(p, "\"count\":");
                assert_non_null(c);
                dropped_said += strtoull(c + 8, NULL, 10);
            }
        }
        prev = first + n - 1;
        last_seq = prev;
    }
    assert_true(jumped);
    assert_int_equal(last_seq, w.last);
    assert_true(dropped_said > 0);
    assert_true(dropped_said <= w.dropped);
    free(buf);
    rmdir_tmp(d);
}

static void test_agent_event_lines(void **state)
{
    (void)state;
    char *d = mkdir_tmp();
    char in[] = "{\"kind\":\"a\"}\n\nnot json\n{\"kind\":\"b\"}\n[1]\n{\"kind\":\"c\"}";
    FILE *f = fmemopen(in, strlen(in), "r");
    struct agent_event_stats st;
    char err[AGENT_ERR_MAX] = "";
    assert_int_equal(agent_event(d, f, "in", SPOOL_EVENTS_DEFAULT_CAP, &st, err), 0);
    fclose(f);
    assert_int_equal(st.lines, 6);
    assert_int_equal(st.spooled, 3);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(st.last_seq, 3);
    char p[512];
    snprintf(p, sizeof p, "%s/%s", d, AGENT_EVENT_SPOOL);
    struct spool rd;
    assert_int_equal(spool_open(&rd, p, SPOOL_EVENTS_DEFAULT_CAP, false), 0);
    char buf[SPOOL_REC_MAX];
    uint64_t seq;
    size_t len;
    assert_int_equal(spool_next(&rd, buf, sizeof buf, &seq, &len), 1);
    assert_int_equal(seq, 1);
    assert_memory_equal(buf, "{\"kind\":\"a\"}", len);
    assert_int_equal(spool_next(&rd, buf, sizeof buf, &seq, &len), 1);
    assert_memory_equal(buf, "{\"kind\":\"b\"}", len);
    assert_int_equal(spool_next(&rd, buf, sizeof buf, &seq, &len), 1);
    assert_memory_equal(buf, "{\"kind\":\"c\"}", len);
    assert_int_equal(spool_next(&rd, buf, sizeof buf, &seq, &len), 0);
    rmdir_tmp(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_in_order),
        cmocka_unit_test(test_drop_oldest),
        cmocka_unit_test(test_agent_event_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
