/* test_score.c - the guard's evidence rules: which file changes are damage,
 * which renames count, when a new random file stands for a deleted original.
 * Verdicts are built by hand so each rule is tested on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "guard/score.h"

static struct content_verdict verdict(enum content_kind k, const char *ext_type, bool mismatch)
{
    struct content_verdict v;
    memset(&v, 0, sizeof v);
    v.kind = k;
    snprintf(v.ext_type, sizeof v.ext_type, "%s", ext_type);
    v.magic_mismatch = mismatch;
    return v;
}

static void test_structured_to_random_is_damage(void **state)
{
    struct file_before b = {.known = true, .kind = CK_TEXT, .size = 5000};
    struct content_verdict v = verdict(CK_RANDOM, "text", false);
    assert_int_equal(score_overwrite(&b, &v), IND_STRUCTURED_TO_RANDOM);
    v = verdict(CK_MIXED, "text", false);
    assert_int_equal(score_overwrite(&b, &v), IND_PARTIAL_ENCRYPTION);
    v = verdict(CK_ENCODED, "text", false);
    assert_int_equal(score_overwrite(&b, &v), IND_ENCODED_CIPHERTEXT);
    b.kind = CK_COMPRESSED; /* a jpeg or a docx destroyed */
    v = verdict(CK_RANDOM, "zip", true);
    assert_int_equal(score_overwrite(&b, &v), IND_STRUCTURED_TO_RANDOM);
}

static void test_benign_changes_are_not_damage(void **state)
{
    /* an encrypted vault re-saved: random before, random after */
    struct file_before b = {.known = true, .kind = CK_RANDOM, .size = 5000};
    struct content_verdict v = verdict(CK_RANDOM, "", false);
    assert_int_equal(score_overwrite(&b, &v), -1);
    /* text edited, compressed file rewritten validly, sqlite pages written */
    b.kind = CK_TEXT;
    v = verdict(CK_TEXT, "text", false);
    assert_int_equal(score_overwrite(&b, &v), -1);
    v = verdict(CK_COMPRESSED, "gzip", false);
    assert_int_equal(score_overwrite(&b, &v), -1);
    b.kind = CK_STRUCTURED;
    v = verdict(CK_STRUCTURED, "sqlite", false);
    assert_int_equal(score_overwrite(&b, &v), -1);
    /* a new file full of random data destroys nothing by itself */
    b = (struct file_before){.known = true, .kind = CK_EMPTY, .size = 0};
    v = verdict(CK_RANDOM, "", false);
    assert_int_equal(score_overwrite(&b, &v), -1);
}

static void test_unknown_before_uses_the_name(void **state)
{
    struct file_before b = {.known = false};
    struct content_verdict v = verdict(CK_RANDOM, "zip", true); /* report.docx now random */
    assert_int_equal(score_overwrite(&b, &v), IND_TYPE_BROKEN);
    v = verdict(CK_MIXED, "text", false);
    assert_int_equal(score_overwrite(&b, &v), IND_TYPE_BROKEN);
    v = verdict(CK_RANDOM, "", false); /* data.bin: no promise, no verdict */
    assert_int_equal(score_overwrite(&b, &v), -1);
    v = verdict(CK_TEXT, "text", false);
    assert_int_equal(score_overwrite(&b, &v), -1);
}

static void test_renames(void **state)
{
    assert_int_equal(score_rename("/d/a.docx", "/d/a.docx.locked"), IND_EXTENSION_RENAME);
    assert_int_equal(score_rename("/d/a.docx", "/d/a.docx.8f3k2"), IND_EXTENSION_RENAME);
    assert_int_equal(score_rename("/d/a.docx", "/d/a.qwerty"), IND_EXTENSION_RENAME);
    /* backups, temporaries, compression, lock files, editors */
    assert_int_equal(score_rename("/d/a.docx", "/d/a.docx.bak"), -1);
    assert_int_equal(score_rename("/d/a.txt", "/d/a.txt~"), -1);
    assert_int_equal(score_rename("/d/a.log", "/d/a.log.gz"), -1);
    assert_int_equal(score_rename("/d/a.txt", "/d/a.txt.gpg"), -1);
    assert_int_equal(score_rename("/r/.git/index.lock", "/r/.git/index"), -1);
    assert_int_equal(score_rename("/d/sedX1b2c3", "/d/notes.txt"), -1);
    assert_int_equal(score_rename("/d/a.docx", "/d/b.docx"), -1);
    assert_int_equal(score_rename("/d/a.docx", "/e/a.docx.x/y"), -1);
}

static void test_copy_matches(void **state)
{
    struct ring_ent orig = {.path_hash = hash_str("/d/a.docx"), .stem_hash = hash_stem("/d/a.docx"),
                            .size = 100000};
    struct ring_ent copy = {.path_hash = hash_str("/d/a.docx.locked"),
                            .stem_hash = hash_stem("/d/a.docx.locked"), .size = 100512};
    assert_true(score_copy_matches(&orig, &copy));
    copy.size = 5;
    assert_true(score_copy_matches(&orig, &copy)); /* name says it all */
    struct ring_ent other = {.path_hash = hash_str("/d/zz9"), .stem_hash = hash_stem("/d/zz9"),
                             .size = 133400}; /* base64-sized copy under a random name */
    assert_true(score_copy_matches(&orig, &other));
    other.size = 10;
    assert_false(score_copy_matches(&orig, &other));
    other.size = 900000;
    assert_false(score_copy_matches(&orig, &other));
    /* gpg: a 20-byte lock file read and deleted, then a new 600-byte random seed */
    struct ring_ent lock = {.path_hash = hash_str("/h/pubring.kbx.lock"),
                            .stem_hash = hash_stem("/h/pubring.kbx.lock"), .size = 20};
    struct ring_ent seed = {.path_hash = hash_str("/h/random_seed"),
                            .stem_hash = hash_stem("/h/random_seed"), .size = 600};
    assert_false(score_copy_matches(&lock, &seed));
}

static void test_originals(void **state)
{
    assert_true(score_is_original(CK_TEXT, "", 100));
    assert_true(score_is_original(CK_COMPRESSED, "zip", 20000));
    assert_true(score_is_original(CK_STRUCTURED, "sqlite", 8192));
    assert_true(score_is_original(CK_STRUCTURED, "", 1u << 20)); /* a disk image */
    assert_false(score_is_original(CK_STRUCTURED, "", 600));     /* gpg's random_seed */
    assert_false(score_is_original(CK_RANDOM, "", 1u << 20));
    assert_false(score_is_original(CK_TEXT, "", 0));
}

static void test_stem_hash(void **state)
{
    assert_true(hash_stem("/a/b.docx.locked") == hash_str("/a/b.docx"));
    assert_true(hash_stem("/a/.profile") == hash_str("/a/.profile"));
    assert_true(hash_stem("/a.b/c") == hash_str("/a.b/c"));
}

static void test_weights(void **state)
{
    assert_true(score_points(IND_STRUCTURED_TO_RANDOM) >= SCORE_THRESHOLD_DEFAULT);
    assert_true(score_points(IND_COPY_THEN_DELETE) >= SCORE_THRESHOLD_DEFAULT);
    assert_true(score_points(IND_DECOY) >= SCORE_THRESHOLD_DEFAULT);
    /* soft signals alone never decide */
    assert_true(score_points(IND_EXTENSION_RENAME) * 3 < SCORE_THRESHOLD_DEFAULT);
    assert_true(score_points(IND_RANSOM_NOTE) < SCORE_THRESHOLD_DEFAULT);
    assert_true(score_points(IND_RANSOM_NOTE) + score_points(IND_EXTENSION_RENAME) * 2 >=
                SCORE_THRESHOLD_DEFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structured_to_random_is_damage),
        cmocka_unit_test(test_benign_changes_are_not_damage),
        cmocka_unit_test(test_unknown_before_uses_the_name),
        cmocka_unit_test(test_renames),
        cmocka_unit_test(test_copy_matches),
        cmocka_unit_test(test_originals),
        cmocka_unit_test(test_stem_hash),
        cmocka_unit_test(test_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
