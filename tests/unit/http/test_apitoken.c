/* test_apitoken.c - API tokens (format, salted hash, constant-time check,
 * authentication against a real store: unknown, wrong secret, revoked,
 * expired), the principal's scope, and cursors (round trip, tampering). */
#include "../server/srvtest.h"

#include <openssl/rand.h>

#include "api/api_auth.h"
#include "api/api_cursor.h"
#include "api/api_store.h"
#include "core/err.h"

static void test_format(void **state)
{
    char id[APITOK_ID_LEN + 1], id2[APITOK_ID_LEN + 1], tok[APITOK_BUF];
    uint8_t secret[32], s2[32];
    assert_int_equal(apitok_make(id, secret, tok), 0);
    assert_int_equal(strlen(tok), APITOK_LEN);
    assert_memory_equal(tok, APITOK_PREFIX, strlen(APITOK_PREFIX));
    assert_int_equal(apitok_parse(tok, id2, s2), 0);
    assert_string_equal(id, id2);
    assert_memory_equal(secret, s2, 32);
    char bad[APITOK_BUF + 4];
    snprintf(bad, sizeof bad, "%s", tok);
    bad[strlen(APITOK_PREFIX)] = 'G'; /* id not hex */
    assert_int_equal(apitok_parse(bad, id2, s2), MAMORI_EINVAL);
    snprintf(bad, sizeof bad, "%sx", tok);
    assert_int_equal(apitok_parse(bad, id2, s2), MAMORI_EINVAL);
    assert_int_equal(apitok_parse("", id2, s2), MAMORI_EINVAL);
    assert_int_equal(apitok_parse("mamori1.abc", id2, s2), MAMORI_EINVAL);
}

static void test_hash(void **state)
{
    uint8_t salt[16], salt2[16], secret[32], h[32], h2[32];
    RAND_bytes(salt, 16);
    RAND_bytes(salt2, 16);
    RAND_bytes(secret, 32);
    apitok_hash(salt, secret, h);
    apitok_hash(salt2, secret, h2);
    assert_memory_not_equal(h, h2, 32); /* a salt per token: equal secrets never look equal */
    assert_true(apitok_verify(salt, h, secret));
    secret[31] ^= 1;
    assert_false(apitok_verify(salt, h, secret));
    secret[31] ^= 1;
    salt[0] ^= 1;
    assert_false(apitok_verify(salt, h, secret));
}

/* A token stored the way `mamori server api-token` stores it. */
static void add(struct store *st, const char *name, enum api_role role, int64_t site,
                int64_t expires, char tok[APITOK_BUF], char id[APITOK_ID_LEN + 1])
{
    struct apist_token t = {.role = role, .site_id = site, .created = 1000, .expires = expires};
    snprintf(t.name, sizeof t.name, "%s", name);
    uint8_t secret[32];
    assert_int_equal(apitok_make(id, secret, tok), 0);
    RAND_bytes(t.salt, 16);
    apitok_hash(t.salt, secret, t.hash);
    assert_int_equal(apist_token_add(st, id, &t), 0);
}

static void test_authenticate(void **state)
{
    char *dir = srvtest_mkdir();
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    int64_t osaka;
    assert_int_equal(store_site_id(&st, "osaka", &osaka), 0);
    char tok[APITOK_BUF], id[APITOK_ID_LEN + 1], tsa[APITOK_BUF], idsa[APITOK_ID_LEN + 1];
    char tex[APITOK_BUF], idex[APITOK_ID_LEN + 1], hdr[200], why[200];
    add(&st, "ops", ROLE_ADMIN, 0, 0, tok, id);
    add(&st, "osaka-it", ROLE_SITE_ADMIN, osaka, 0, tsa, idsa);
    add(&st, "old", ROLE_VIEWER, 0, 5000, tex, idex);
    struct api_principal p;

    snprintf(hdr, sizeof hdr, "Bearer %s", tok);
    assert_int_equal(api_authenticate(&st, hdr, 2000, &p, why, sizeof why), 0);
    assert_int_equal(p.role, ROLE_ADMIN);
    assert_int_equal(p.site_id, 0);
    assert_string_equal(p.name, "ops");
    assert_true(api_can_write(&p));
    assert_true(api_in_scope(&p, osaka));
    assert_true(api_in_scope(&p, osaka + 1));
    snprintf(hdr, sizeof hdr, "bearer   %s", tok); /* scheme is case-insensitive */
    assert_int_equal(api_authenticate(&st, hdr, 2000, &p, why, sizeof why), 0);

    snprintf(hdr, sizeof hdr, "Bearer %s", tsa);
    assert_int_equal(api_authenticate(&st, hdr, 2000, &p, why, sizeof why), 0);
    assert_int_equal(p.role, ROLE_SITE_ADMIN);
    assert_int_equal(p.site_id, osaka);
    assert_string_equal(p.site, "osaka");
    assert_true(api_in_scope(&p, osaka));
    assert_false(api_in_scope(&p, osaka + 1));
    assert_false(api_in_scope(&p, 0)); /* objects of no site belong to head office */

    /* refusals: all MAMORI_EPERM with a reason */
    assert_int_equal(api_authenticate(&st, NULL, 2000, &p, why, sizeof why), MAMORI_EPERM);
    assert_non_null(strstr(why, "Bearer"));
    snprintf(hdr, sizeof hdr, "Basic %s", tok);
    assert_int_equal(api_authenticate(&st, hdr, 2000, &p, why, sizeof why), MAMORI_EPERM);
    char wrong[APITOK_BUF];
    memcpy(wrong, tok, sizeof wrong);
    wrong[APITOK_LEN - 2] = wrong[APITOK_LEN - 2] == 'A' ? 'B' : 'A'; /* wrong secret */
    snprintf(hdr, sizeof hdr, "Bearer %s", wrong);
    assert_int_equal(api_authenticate(&st, hdr, 2000, &p, why, sizeof why), MAMORI_EPERM);
    assert_string_equal(why, "unknown API token or wrong secret");
    memcpy(wrong, tok, sizeof wrong);
    wrong[strlen(APITOK_PREFIX)] = wrong[strlen(APITOK_PREFIX)] == 'a' ? 'b' : 'a'; /* unknown id */
    snprintf(hdr, sizeof hdr, "Bearer %s", wrong);
    assert_int_equal(api_authenticate(&st, hdr, 2000, &p, why, sizeof why), MAMORI_EPERM);
    assert_string_equal(why, "unknown API token or wrong secret"); /* the same: no oracle */
    snprintf(hdr, sizeof hdr, "Bearer %s", tex);
    assert_int_equal(api_authenticate(&st, hdr, 4999, &p, why, sizeof why), 0);
    assert_false(api_can_write(&p));
    assert_int_equal(api_authenticate(&st, hdr, 5000, &p, why, sizeof why), MAMORI_EPERM);
    assert_non_null(strstr(why, "expired"));
    assert_int_equal(apist_token_revoke(&st, id, 3000), 0);
    snprintf(hdr, sizeof hdr, "Bearer %s", tok);
    assert_int_equal(api_authenticate(&st, hdr, 3001, &p, why, sizeof why), MAMORI_EPERM);
    assert_non_null(strstr(why, "revoked"));
    assert_int_equal(apist_token_revoke(&st, "0000000000000000", 3000), MAMORI_ENOENT);
    /* no secret in the database */
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(st.db,
                                        "SELECT count(*) FROM api_tokens WHERE"
                                        " instr(hash, ?) > 0 OR instr(salt, ?) > 0",
                                        -1, &q, NULL),
                     SQLITE_OK);
    char id2[APITOK_ID_LEN + 1];
    uint8_t secret[32];
    assert_int_equal(apitok_parse(tsa, id2, secret), 0);
    sqlite3_bind_blob(q, 1, secret, 32, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, secret, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    store_close(&st);
    srvtest_rmdir(dir);
}

static void test_cursor(void **state)
{
    struct api_cursor c = {.list = 'h', .fp = api_fp("hosts|3|online"), .n = -5}, d;
    snprintf(c.k1, sizeof c.k1, "web-1.example");
    snprintf(c.k2, sizeof c.k2, "h-0011223344556677");
    char s[API_CURSOR_MAX];
    assert_int_equal(api_cursor_encode(&c, s), 0);
    assert_int_equal(api_cursor_decode(s, &d), 0);
    assert_int_equal(d.list, 'h');
    assert_int_equal(d.fp, c.fp);
    assert_int_equal(d.n, -5);
    assert_string_equal(d.k1, c.k1);
    assert_string_equal(d.k2, c.k2);
    assert_int_not_equal(api_fp("hosts|3|online"), api_fp("hosts|4|online"));
    /* damaged, truncated, foreign */
    char t[API_CURSOR_MAX];
    snprintf(t, sizeof t, "%s", s);
    t[strlen(t) - 3] = '\0';
    assert_int_equal(api_cursor_decode(t, &d), MAMORI_EINVAL);
    assert_int_equal(api_cursor_decode("", &d), MAMORI_EINVAL);
    assert_int_equal(api_cursor_decode("!!!!", &d), MAMORI_EINVAL);
    assert_int_equal(api_cursor_decode("AAAA", &d), MAMORI_EINVAL);
    char big[API_CURSOR_MAX + 8];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(api_cursor_decode(big, &d), MAMORI_EINVAL);
    /* a string key longer than the bound is refused at encoding */
    memset(c.k2, 'x', sizeof c.k2 - 1);
    c.k2[sizeof c.k2 - 1] = '\0';
    assert_int_equal(api_cursor_encode(&c, s), 0); /* 63 bytes: fits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_authenticate),
        cmocka_unit_test(test_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
