/* test_civil.c - civil date <-> day number: known dates on both sides of the
 * epoch and of leap-century rules, and a round trip over 1600..2400 checked
 * against timegm() from the C library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "core/civil.h"

static void test_known(void **state)
{
    assert_int_equal(civil_to_days(1970, 1, 1), 0);
    assert_int_equal(civil_to_days(1969, 12, 31), -1);
    assert_int_equal(civil_to_days(2000, 3, 1), 11017);
    assert_int_equal(civil_to_days(2000, 2, 29), 11016); /* 2000 is a leap year */
    assert_int_equal(civil_to_days(1900, 3, 1) - civil_to_days(1900, 2, 28), 1); /* 1900 is not */
    assert_int_equal(civil_to_days(1677, 9, 21), -106752);
    int64_t y;
    unsigned m, d;
    civil_from_days(-106752, &y, &m, &d);
    assert_true(y == 1677 && m == 9 && d == 21);
    civil_from_days(20789, &y, &m, &d);
    assert_true(y == 2026 && m == 12 && d == 2);
}

static void test_round_trip_against_libc(void **state)
{
    int64_t first = civil_to_days(1600, 1, 1), last = civil_to_days(2400, 12, 31);
    for (int64_t days = first; days <= last; days++) {
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        assert_int_equal(civil_to_days(y, m, d), days);
        struct tm tm = {.tm_year = (int)(y - 1900), .tm_mon = (int)m - 1, .tm_mday = (int)d};
        assert_int_equal((int64_t)timegm(&tm), days * 86400);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_round_trip_against_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
