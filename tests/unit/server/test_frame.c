/* test_frame.c - the wire frame parser: whole frames, partial input,
 * malformed and oversized headers, JSON bodies, and the header encoder. */
#include "srvtest.h"

#include "core/err.h"
#include "net/frame.h"

static size_t mk(uint8_t *buf, uint16_t type, const char *body)
{
    size_t n = strlen(body);
    frame_header_encode(buf, type, (uint32_t)n);
    memcpy(buf + FRAME_HDR, body, n);
    return FRAME_HDR + n;
}

static void test_whole_and_partial(void **state)
{
    uint8_t buf[256];
    size_t len = mk(buf, FRAME_HEARTBEAT, "{\"seq\":7}");
    struct frame f;
    size_t used = 0, need = 0;
    const char *why = NULL;
    /* every prefix is "need more", never an error */
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(frame_parse(buf, i, FRAME_MAX, &f, &used, &need, &why), 0);
        assert_int_equal(need, i < FRAME_HDR ? FRAME_HDR : len);
    }
    assert_int_equal(frame_parse(buf, len, FRAME_MAX, &f, &used, &need, &why), 1);
    assert_int_equal(used, len);
    assert_int_equal(f.type, FRAME_HEARTBEAT);
    assert_int_equal(f.len, 9);
    assert_memory_equal(f.body, "{\"seq\":7}", 9);
    /* two frames back to back: the first is taken, the rest stays */
    size_t len2 = mk(buf + len, FRAME_HELLO, "{}");
    assert_int_equal(frame_parse(buf, len + len2, FRAME_MAX, &f, &used, &need, &why), 1);
    assert_int_equal(used, len);
    assert_int_equal(frame_parse(buf + used, len2, FRAME_MAX, &f, &used, &need, &why), 1);
    assert_int_equal(f.type, FRAME_HELLO);
}

static void test_malformed_headers(void **state)
{
    struct frame f;
    size_t used, need;
    const char *why = NULL;
    uint8_t h[FRAME_HDR];

    frame_header_encode(h, 0, 2); /* type 0 */
    assert_int_equal(frame_parse(h, sizeof h, FRAME_MAX, &f, &used, &need, &why), MAMORI_EINVAL);
    assert_string_equal(why, "unknown frame type");

    frame_header_encode(h, FRAME_TYPE_MAX + 1, 2);
    assert_int_equal(frame_parse(h, sizeof h, FRAME_MAX, &f, &used, &need, &why), MAMORI_EINVAL);

    frame_header_encode(h, FRAME_HELLO, 2);
    h[7] = 1; /* reserved */
    assert_int_equal(frame_parse(h, sizeof h, FRAME_MAX, &f, &used, &need, &why), MAMORI_EINVAL);
    assert_string_equal(why, "reserved header field is not zero");

    /* garbage text ("GET / HTTP/1.1") is rejected from its header alone */
    const uint8_t *http = (const uint8_t *)"GET / HTTP/1.1\r\n";
    assert_int_equal(frame_parse(http, 16, FRAME_MAX, &f, &used, &need, &why), MAMORI_EINVAL);
}

static void test_oversized(void **state)
{
    struct frame f;
    size_t used, need;
    const char *why = NULL;
    uint8_t h[FRAME_HDR];
    /* exactly the maximum is fine (needs more bytes), one more is not */
    frame_header_encode(h, FRAME_ENROLL, FRAME_MAX);
    assert_int_equal(frame_parse(h, sizeof h, FRAME_MAX, &f, &used, &need, &why), 0);
    assert_int_equal(need, FRAME_HDR + FRAME_MAX);
    frame_header_encode(h, FRAME_ENROLL, FRAME_MAX + 1);
    assert_int_equal(frame_parse(h, sizeof h, FRAME_MAX, &f, &used, &need, &why), MAMORI_EINVAL);
    assert_string_equal(why, "frame longer than the maximum");
    /* before a certificate the bound is 64 KiB */
    frame_header_encode(h, FRAME_ENROLL, FRAME_MAX_ENROLL + 1);
    assert_int_equal(frame_parse(h, sizeof h, FRAME_MAX_ENROLL, &f, &used, &need, &why),
                     MAMORI_EINVAL);
    frame_header_encode(h, FRAME_ENROLL, 0xffffffffu);
    assert_int_equal(frame_parse(h, sizeof h, FRAME_MAX, &f, &used, &need, &why), MAMORI_EINVAL);
}

static struct json_object *body_of(const char *text, const char **why)
{
    struct frame f = {
        .type = FRAME_HELLO, .len = (uint32_t)strlen(text), .body = (const uint8_t *)text};
    return frame_body_json(&f, why);
}

static void test_json_bodies(void **state)
{
    const char *why = NULL;
    struct json_object *j = body_of("{\"proto\":1,\"hostname\":\"web-1\"}", &why);
    assert_non_null(j);
    int64_t v = 0;
    assert_true(frame_int(j, "proto", &v));
    assert_int_equal(v, 1);
    assert_string_equal(frame_str(j, "hostname", 64), "web-1");
    assert_null(frame_str(j, "hostname", 4)); /* longer than allowed */
    assert_null(frame_str(j, "proto", 64));   /* not a string */
    assert_false(frame_int(j, "hostname", &v));
    json_object_put(j);

    /* an embedded NUL must not pass as a shorter string */
    j = body_of("{\"hostname\":\"a\\u0000b\"}", &why);
    if (j) {
        assert_null(frame_str(j, "hostname", 64));
        json_object_put(j);
    }

    /* (json-c accepts single-quoted strings even when strict: harmless, so not listed) */
    const char *bad[] = {"",        "[1,2]",
                         "\"str\"", "{\"a\":1} trailing",
                         "{\"a\":", "{\"a\":1}{\"b\":2}",
                         "nul",     "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        struct frame f = {
            .type = FRAME_HELLO, .len = (uint32_t)strlen(bad[i]), .body = (const uint8_t *)bad[i]};
        j = frame_body_json(&f, &why);
        if (j)
            fail_msg("accepted body %zu: %s", i, bad[i]);
        assert_non_null(why);
    }
}

static void test_names(void **state)
{
    assert_string_equal(frame_type_name(FRAME_HELLO), "HELLO");
    assert_string_equal(frame_type_name(FRAME_ERROR), "ERROR");
    assert_string_equal(frame_type_name(0), "unknown");
    assert_string_equal(frame_type_name(999), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_partial),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_json_bodies),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
