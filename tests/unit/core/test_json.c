/* test_json.c - the bounded JSON writer escapes hostile text and never emits
 * a truncated object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"

static void test_object_and_escaping(void **state)
{
    char buf[256];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "name", "a\"b\\c\n\x01<x>");
    jw_int(&w, "n", -42);
    jw_arr_begin(&w, "list");
    jw_uint(&w, NULL, 1);
    jw_uint(&w, NULL, 2);
    jw_arr_end(&w);
    jw_bool(&w, "ok", true);
    jw_str(&w, "null", NULL);
    jw_obj_end(&w);
    assert_int_equal(jw_finish(&w), (long)strlen(buf));
    assert_string_equal(buf, "{\"name\":\"a\\\"b\\\\c\\n\\u0001<x>\",\"n\":-42,\"list\":[1,2],"
                             "\"ok\":true,\"null\":null}");
}

static void test_overflow_reported(void **state)
{
    char buf[16];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "key", "a value longer than the buffer");
    jw_obj_end(&w);
    assert_int_equal(jw_finish(&w), MAMORI_EFULL);
    assert_true(strlen(buf) < sizeof buf);
}

static void test_double(void **state)
{
    char buf[64];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_double(&w, "ts", 1.5, 3);
    jw_obj_end(&w);
    jw_finish(&w);
    assert_string_equal(buf, "{\"ts\":1.500}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_and_escaping),
        cmocka_unit_test(test_overflow_reported),
        cmocka_unit_test(test_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
