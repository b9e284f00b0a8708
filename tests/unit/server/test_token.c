/* test_token.c - enrollment tokens: format round trip, malformed tokens,
 * hashing, and one-time use with expiry in a real store. */
#include "srvtest.h"

#include "core/err.h"
#include "net/token.h"
#include "server/store.h"

static void test_round_trip(void **state)
{
    uint8_t pin[32], secret[32], s2[32], p2[32];
    for (int i = 0; i < 32; i++)
        pin[i] = (uint8_t)(i * 7 + 1);
    char tok[TOKEN_BUF];
    assert_int_equal(token_make(pin, secret, tok), 0);
    assert_int_equal(strlen(tok), TOKEN_LEN);
    assert_memory_equal(tok, "mamori1.", 8);
    assert_int_equal(token_parse(tok, s2, p2), 0);
    assert_memory_equal(s2, secret, 32);
    assert_memory_equal(p2, pin, 32);
    /* two tokens never share a secret */
    char tok2[TOKEN_BUF];
    uint8_t secret2[32];
    assert_int_equal(token_make(pin, secret2, tok2), 0);
    assert_memory_not_equal(secret, secret2, 32);
}

static void test_malformed(void **state)
{
    uint8_t pin[32] = {1}, secret[32], s[32], p[32];
    char tok[TOKEN_BUF], bad[TOKEN_BUF + 8];
    assert_int_equal(token_make(pin, secret, tok), 0);
    assert_int_equal(token_parse("", s, p), MAMORI_EINVAL);
    assert_int_equal(token_parse("mamori1.", s, p), MAMORI_EINVAL);
    snprintf(bad, sizeof bad, "%sx", tok); /* one character too many */
    assert_int_equal(token_parse(bad, s, p), MAMORI_EINVAL);
    memcpy(bad, tok, sizeof tok);
    bad[0] = 'M'; /* prefix */
    assert_int_equal(token_parse(bad, s, p), MAMORI_EINVAL);
    memcpy(bad, tok, sizeof tok);
    bad[8 + 43] = '-'; /* separator */
    assert_int_equal(token_parse(bad, s, p), MAMORI_EINVAL);
    memcpy(bad, tok, sizeof tok);
    bad[10] = '+'; /* not base64url */
    assert_int_equal(token_parse(bad, s, p), MAMORI_EINVAL);
}

static void test_b64url(void **state)
{
    uint8_t out[8];
    char enc[16];
    const uint8_t in[] = {0xfb, 0xff, 0x01};
    b64url_encode(in, 3, enc);
    assert_string_equal(enc, "-_8B");
    assert_int_equal(b64url_decode("-_8B", 4, out, sizeof out), 3);
    assert_memory_equal(out, in, 3);
    b64url_encode(in, 1, enc);
    assert_string_equal(enc, "-w");
    assert_int_equal(b64url_decode("-w", 2, out, sizeof out), 1);
    assert_int_equal(b64url_decode("-x", 2, out, sizeof out), -1); /* non-zero spare bits */
    assert_int_equal(b64url_decode("A", 1, out, sizeof out), -1);
    assert_int_equal(b64url_decode("AAAAAAAAAAAA", 12, out, 8), -1); /* 9 bytes > 8 */
}

static void test_hash(void **state)
{
    uint8_t secret[32] = {0};
    char h[65];
    token_hash_hex(secret, h);
    /* SHA-256 of 32 zero bytes */
    assert_string_equal(h, "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
}

static void test_one_time_and_expiry(void **state)
{
    char *dir = srvtest_mkdir();
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    int64_t site = 0, got_site = 0;
    char site_name[SITE_NAME_MAX + 1];
    assert_int_equal(store_site_id(&st, "osaka", &site), 0);
    assert_int_equal(store_token_add(&st, "aa", site, 1000, 5000), 0);
    assert_int_equal(store_token_add(&st, "bb", site, 1000, 2000), 0);

    assert_int_equal(store_token_use(&st, "zz", 1500, "h-1", &got_site, site_name), MAMORI_ENOENT);
    assert_string_equal(st.err, "unknown enrollment token");

    assert_int_equal(store_token_use(&st, "aa", 1500, "h-1", &got_site, site_name), 0);
    assert_int_equal(got_site, site);
    assert_string_equal(site_name, "osaka");
    /* reused */
    assert_int_equal(store_token_use(&st, "aa", 1600, "h-2", &got_site, site_name), MAMORI_EEXIST);
    assert_non_null(strstr(st.err, "already used (by host h-1 at 1970-01-01T00:00:01Z)"));
    /* expired: valid strictly before its expiry */
    assert_int_equal(store_token_use(&st, "bb", 2000, "h-3", &got_site, site_name), MAMORI_ERANGE);
    assert_non_null(strstr(st.err, "expired at 1970-01-01T00:00:02Z"));
    assert_int_equal(store_token_use(&st, "bb", 1999, "h-3", &got_site, site_name), 0);
    store_close(&st);
    srvtest_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_one_time_and_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
