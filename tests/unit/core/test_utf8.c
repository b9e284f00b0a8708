/* test_utf8.c - cutting UTF-8 to a byte bound: never inside a character
 * (2-, 3- and 4-byte ones at every bound), whole strings untouched, and the
 * bounded copy's terminator and length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/utf8.h"

static void test_cut_every_bound(void **state)
{
    const char *s = "a\xc3\xa9"
                    "b\xe6\x97\xa5\xf0\x9f\x94\x92z"; /* a é b 日 🔒 z */
    size_t n = strlen(s);
    /* the lengths at which a character ends */
    const size_t ends[] = {0, 1, 3, 4, 7, 11, 12};
    for (size_t max = 0; max <= n + 2; max++) {
        size_t want = 0;
        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
            if (ends[i] <= max)
                want = ends[i];
        assert_int_equal(utf8_cut(s, n, max), want);
    }
}

static void test_copy(void **state)
{
    char buf[6];
    assert_int_equal(utf8_copy(buf, sizeof buf, "ab\xe6\x97\xa5\xe6\x97\xa5"), 5);
    assert_string_equal(buf, "ab\xe6\x97\xa5");
    assert_int_equal(utf8_copy(buf, sizeof buf, "abcd\xc3\xa9"), 4); /* é would end at 6 */
    assert_string_equal(buf, "abcd");
    assert_int_equal(utf8_copy(buf, sizeof buf, "short"), 5);
    assert_string_equal(buf, "short");
    assert_int_equal(utf8_copy(buf, 1, "x"), 0);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_every_bound),
        cmocka_unit_test(test_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
