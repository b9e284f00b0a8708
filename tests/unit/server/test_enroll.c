/* test_enroll.c - server-side enrollment with a real CA and store: a good
 * token gives a certificate for the CSR's key; reused, expired, unknown and
 * foreign-CA tokens, bad CSRs and bad hostnames are refused with a reason,
 * and a refusal consumes nothing. */
#include "srvtest.h"

#include <sqlite3.h>

#include "core/err.h"
#include "net/token.h"
#include "server/enroll.h"

struct fx {
    char *dir;
    struct srv_ca ca;
    struct store st;
    EVP_PKEY *key;
    char csr[PKI_PEM_MAX];
    struct enroll_res res;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[PKI_ERR_MAX];
    f->dir = srvtest_mkdir();
    assert_int_equal(srv_ca_open(&f->ca, f->dir, err), 0);
    assert_int_equal(store_open(&f->st, f->dir), 0);
    f->key = pki_key_new(err);
    assert_int_equal(pki_csr_pem(f->key, "web-1", f->csr, sizeof f->csr, err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    EVP_PKEY_free(f->key);
    store_close(&f->st);
    srv_ca_close(&f->ca);
    srvtest_rmdir(f->dir);
    free(f);
    return 0;
}

/* A token for site, valid from 1000 ms to expires. */
static void make_token(struct fx *f, const char *site, int64_t expires, char tok[TOKEN_BUF])
{
    uint8_t secret[32];
    char hash[65];
    int64_t id;
    assert_int_equal(token_make(f->ca.spki, secret, tok), 0);
    token_hash_hex(secret, hash);
    assert_int_equal(store_site_id(&f->st, site, &id), 0);
    assert_int_equal(store_token_add(&f->st, hash, id, 1000, expires), 0);
}

static int enroll(struct fx *f, const char *tok, const char *csr, const char *hostname, int64_t now)
{
    struct enroll_req req = {.token = tok, .csr = csr, .hostname = hostname, .peer = "127.0.0.1:1"};
    return srv_enroll(&f->st, &f->ca, &req, now, &f->res);
}

static int rows(struct fx *f, const char *sql)
{
    sqlite3_stmt *q;
    sqlite3_prepare_v2(f->st.db, sql, -1, &q, NULL);
    sqlite3_step(q);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n;
}

static void test_good_then_reused(void **state)
{
    struct fx *f = *state;
    char tok[TOKEN_BUF], err[PKI_ERR_MAX];
    make_token(f, "osaka", 100000, tok);
    assert_int_equal(enroll(f, tok, f->csr, "web-1", 2000), 0);
    assert_memory_equal(f->res.host.id, "h-", 2);
    assert_int_equal(strlen(f->res.host.id), 18);
    assert_string_equal(f->res.host.site, "osaka");
    X509 *c = pki_cert_from_pem(f->res.cert_pem, strlen(f->res.cert_pem), err);
    assert_non_null(c);
    assert_int_equal(X509_check_private_key(c, f->key), 1);
    assert_int_equal(X509_verify(c, X509_get0_pubkey(f->ca.cert)), 1);
    char cn[PKI_CN_MAX], fp[65];
    pki_cert_cn(c, cn, sizeof cn);
    assert_string_equal(cn, f->res.host.id);
    pki_cert_fp(c, fp);
    assert_string_equal(fp, f->res.host.cert_fp);
    X509_free(c);
    struct host_row h;
    assert_int_equal(store_host_find(&f->st, "web-1", &h), 0);
    assert_int_equal(h.status, HOST_ENROLLED);

    char id[HOST_ID_MAX];
    snprintf(id, sizeof id, "%s", f->res.host.id);
    assert_int_equal(enroll(f, tok, f->csr, "web-2", 3000), MAMORI_EEXIST);
    assert_string_equal(f->res.code, "token_used");
    assert_non_null(strstr(f->res.why, "already used (by host"));
    assert_non_null(strstr(f->res.why, id));
    assert_int_equal(rows(f, "SELECT count(*) FROM hosts"), 1);
    assert_int_equal(rows(f, "SELECT count(*) FROM audit WHERE action='enroll' AND target IS NULL"
                             " AND detail LIKE 'refused (token_used)%'"),
                     1);
}

static void test_expired(void **state)
{
    struct fx *f = *state;
    char tok[TOKEN_BUF];
    make_token(f, "lima", 5000, tok);
    assert_int_equal(enroll(f, tok, f->csr, "db", 5000), MAMORI_ERANGE);
    assert_string_equal(f->res.code, "token_expired");
    assert_non_null(strstr(f->res.why, "expired at 1970-01-01T00:00:05Z"));
    assert_int_equal(rows(f, "SELECT count(*) FROM hosts"), 0);
}

static void test_refusals_consume_nothing(void **state)
{
    struct fx *f = *state;
    char tok[TOKEN_BUF], foreign[TOKEN_BUF];
    make_token(f, "osaka", 100000, tok);
    /* unknown secret with the right pin */
    uint8_t secret[32];
    assert_int_equal(token_make(f->ca.spki, secret, foreign), 0);
    assert_int_equal(enroll(f, foreign, f->csr, "x", 2000), MAMORI_ENOENT);
    assert_string_equal(f->res.code, "bad_token");
    /* a token pinned to another CA */
    uint8_t other_pin[32] = {9};
    assert_int_equal(token_make(other_pin, secret, foreign), 0);
    assert_int_equal(enroll(f, foreign, f->csr, "x", 2000), MAMORI_EINVAL);
    assert_string_equal(f->res.why, "enrollment token was made for another server's CA");
    assert_int_equal(enroll(f, "garbage", f->csr, "x", 2000), MAMORI_EINVAL);
    assert_string_equal(f->res.why, "malformed enrollment token");
    /* bad CSR, bad hostname: refused before the token is touched */
    assert_int_equal(enroll(f, tok, "-----BEGIN CERTIFICATE REQUEST-----\nxx\n", "x", 2000),
                     MAMORI_EINVAL);
    assert_string_equal(f->res.code, "bad_csr");
    assert_int_equal(enroll(f, tok, NULL, "x", 2000), MAMORI_EINVAL);
    assert_int_equal(enroll(f, tok, f->csr, "bad host\n", 2000), MAMORI_EINVAL);
    assert_string_equal(f->res.code, "bad_hostname");
    assert_int_equal(enroll(f, tok, f->csr, "", 2000), MAMORI_EINVAL);
    /* the token still works */
    assert_int_equal(enroll(f, tok, f->csr, "x", 2000), 0);
    assert_int_equal(rows(f, "SELECT count(*) FROM audit WHERE detail LIKE 'refused%'"), 7);
}

static void test_names(void **state)
{
    assert_true(hostname_valid("web-1.osaka.example"));
    assert_false(hostname_valid("a b"));
    assert_false(hostname_valid("a\"b"));
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[254] = '\0';
    assert_false(hostname_valid(longname));
    longname[253] = '\0';
    assert_true(hostname_valid(longname));
    assert_true(site_name_valid("osaka_2"));
    assert_false(site_name_valid("../x/"));
    assert_false(site_name_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_then_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_consume_nothing, setup, teardown),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
