/* test_pki.c - the private CA with real OpenSSL: CA creation in a data
 * directory (modes, reuse, SPKI pin), CSRs (good, tampered, weak key),
 * issued client and server certificates verifying against the CA. */
#include "srvtest.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "core/err.h"
#include "net/pki.h"
#include "server/ca.h"

static mode_t mode_of(const char *dir, const char *name)
{
    char p[8192];
    struct stat st;
    snprintf(p, sizeof p, "%.4096s/%.64s", dir, name);
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 07777;
}

static int verify(X509 *ca, X509 *leaf, int purpose)
{
    X509_STORE *s = X509_STORE_new();
    X509_STORE_CTX *c = X509_STORE_CTX_new();
    X509_STORE_add_cert(s, ca);
    X509_STORE_CTX_init(c, s, leaf, NULL);
    X509_STORE_CTX_set_purpose(c, purpose);
    int ok = X509_verify_cert(c);
    X509_STORE_CTX_free(c);
    X509_STORE_free(s);
    return ok;
}

static void test_ca_dir(void **state)
{
    char *root = srvtest_mkdir();
    char dir[4200], err[PKI_ERR_MAX];
    snprintf(dir, sizeof dir, "%.4000s/data", root); /* created by srv_ca_open */
    struct srv_ca ca, again;
    assert_int_equal(srv_ca_open(&ca, dir, err), 0);
    assert_int_equal(mode_of(root, "data"), 0700);
    assert_int_equal(mode_of(dir, "ca.key"), 0600);
    assert_int_equal(mode_of(dir, "ca.crt"), 0644);
    /* the second open loads the same CA */
    assert_int_equal(srv_ca_open(&again, dir, err), 0);
    assert_memory_equal(ca.spki, again.spki, 32);
    assert_int_equal(X509_cmp(ca.cert, again.cert), 0);
    uint8_t h[32];
    assert_int_equal(pki_spki_sha256(again.cert, h), 0);
    assert_memory_equal(h, ca.spki, 32);
    /* it is a CA */
    assert_int_equal(X509_check_ca(ca.cert), 1);
    /* server certificate for names, IP and DNS */
    const char *names[] = {"mamori.example", "127.0.0.1", "::1"};
    assert_int_equal(srv_ca_server_cert(&ca, names, 3, err), 0);
    assert_int_equal(mode_of(dir, "server.key"), 0600);
    char p[4300];
    snprintf(p, sizeof p, "%.4200s/server.crt", dir);
    X509 *srv = pki_cert_load(p, err);
    assert_non_null(srv);
    assert_int_equal(verify(ca.cert, srv, X509_PURPOSE_SSL_SERVER), 1);
    assert_int_equal(X509_check_host(srv, "mamori.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
    assert_int_equal(X509_check_host(srv, "other.example", 0, 0, NULL), 0);
    X509_free(srv);
    /* a name that would inject another SAN entry is refused */
    const char *evil[] = {"a.example,IP:10.0.0.1"};
    assert_int_equal(srv_ca_server_cert(&ca, evil, 1, err), MAMORI_EINVAL);
    srv_ca_close(&again);
    srv_ca_close(&ca);
    srvtest_rmdir(root);
}

static void test_csr_and_client_cert(void **state)
{
    char err[PKI_ERR_MAX], csr[PKI_PEM_MAX], pem[PKI_PEM_MAX];
    EVP_PKEY *cakey = pki_key_new(err);
    X509 *ca = pki_ca_new(cakey, "test CA", 30, err);
    assert_non_null(ca);
    EVP_PKEY *hostkey = pki_key_new(err);
    assert_int_equal(pki_csr_pem(hostkey, "web-1", csr, sizeof csr, err), 0);
    assert_non_null(strstr(csr, "BEGIN CERTIFICATE REQUEST"));
    EVP_PKEY *pub = pki_csr_check(csr, strlen(csr), err);
    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_eq(pub, hostkey), 1);
    X509 *c =
        pki_issue(ca, cakey, pub, PKI_CLIENT, "h-0011223344556677", "osaka", NULL, 0, 30, err);
    assert_non_null(c);
    assert_int_equal(verify(ca, c, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_equal(verify(ca, c, X509_PURPOSE_SSL_SERVER), 0); /* clientAuth only */
    assert_int_equal(X509_check_private_key(c, hostkey), 1);
    char cn[PKI_CN_MAX], fp[65], fp2[65];
    assert_int_equal(pki_cert_cn(c, cn, sizeof cn), 0);
    assert_string_equal(cn, "h-0011223344556677");
    /* PEM round trip keeps the fingerprint */
    assert_int_equal(pki_cert_pem(c, pem, sizeof pem, err), 0);
    X509 *back = pki_cert_from_pem(pem, strlen(pem), err);
    assert_non_null(back);
    assert_int_equal(pki_cert_fp(c, fp), 0);
    assert_int_equal(pki_cert_fp(back, fp2), 0);
    assert_string_equal(fp, fp2);
    assert_int_equal(strlen(fp), 64);
    /* a certificate signed by another CA does not verify */
    EVP_PKEY *otherkey = pki_key_new(err);
    X509 *other = pki_ca_new(otherkey, "other CA", 30, err);
    assert_int_equal(verify(other, c, X509_PURPOSE_SSL_CLIENT), 0);

    /* tampered CSR: flip one byte inside the base64 body */
    char bad[PKI_PEM_MAX];
    snprintf(bad, sizeof bad, "%s", csr);
    char *mid = strstr(bad, "-----\n") + 6 + 100;
    *mid = *mid == 'A' ? 'B' : 'A';
    EVP_PKEY *nope = pki_csr_check(bad, strlen(bad), err);
    assert_null(nope);
    assert_null(pki_csr_check("not a csr", 9, err));
    assert_non_null(strstr(err, "not a PEM certificate request"));

    X509_free(other);
    EVP_PKEY_free(otherkey);
    X509_free(back);
    X509_free(c);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(hostkey);
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

static void test_weak_key_refused(void **state)
{
    char err[PKI_ERR_MAX], csr[PKI_PEM_MAX];
    EVP_PKEY *rsa = EVP_RSA_gen(1024);
    assert_non_null(rsa);
    assert_int_equal(pki_csr_pem(rsa, "old", csr, sizeof csr, err), 0);
    assert_null(pki_csr_check(csr, strlen(csr), err));
    assert_string_equal(err, "CSR key must be EC P-256 or stronger, or Ed25519");
    EVP_PKEY_free(rsa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_dir),
        cmocka_unit_test(test_csr_and_client_cert),
        cmocka_unit_test(test_weak_key_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
