/* pki.c - mamori's private CA with OpenSSL EVP (see pki.h). */
#include "net/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

static void ssl_err(char *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, PKI_ERR_MAX, "%s%s%s", what, buf[0] ? ": " : "", buf);
    ERR_clear_error();
}

EVP_PKEY *pki_key_new(char *err)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        ssl_err(err, "cannot generate an EC P-256 key");
    return k;
}

/* Write through a temp file in the same directory, fsync, rename. */
static int save_atomic(const char *path, mode_t mode, int (*write)(FILE *, void *), void *obj,
                       char *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        snprintf(err, PKI_ERR_MAX, "%s: path too long", path);
        return MAMORI_EINVAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        snprintf(err, PKI_ERR_MAX, "%.180s: cannot create: %s", tmp, strerror(errno));
        return MAMORI_EIO;
    }
    (void)fchmod(fd, mode); /* umask must not widen or narrow it */
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        snprintf(err, PKI_ERR_MAX, "%.180s: %s", tmp, strerror(errno));
        return MAMORI_EIO;
    }
    int ok = write(f, obj) == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, PKI_ERR_MAX, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        unlink(tmp);
        ERR_clear_error();
        return MAMORI_EIO;
    }
    return 0;
}

static int write_key(FILE *f, void *k)
{
    return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(FILE *f, void *c)
{
    return PEM_write_X509(f, c);
}

int pki_key_save(const char *path, EVP_PKEY *key, char *err)
{
    return save_atomic(path, 0600, write_key, key, err);
}

int pki_cert_save(const char *path, X509 *cert, char *err)
{
    return save_atomic(path, 0644, write_cert, cert, err);
}

static FILE *open_read(const char *path, char *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        snprintf(err, PKI_ERR_MAX, "%s: cannot open: %s", path, strerror(errno));
    return f;
}

EVP_PKEY *pki_key_load(const char *path, char *err)
{
    FILE *f = open_read(path, err);
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k) {
        char what[PKI_ERR_MAX];
        snprintf(what, sizeof what, "%.200s: not a PEM private key", path);
        ssl_err(err, what);
    }
    return k;
}

X509 *pki_cert_load(const char *path, char *err)
{
    FILE *f = open_read(path, err);
    if (!f)
        return NULL;
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!c) {
        char what[PKI_ERR_MAX];
        snprintf(what, sizeof what, "%.200s: not a PEM certificate", path);
        ssl_err(err, what);
    }
    return c;
}

/* A random positive 127-bit serial: unique without a counter to keep. */
static int set_serial(X509 *c)
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    b[0] &= 0x7f;
    b[0] |= 0x40;
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int add_ext(X509 *c, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v;
    X509V3_set_ctx_nodb(&v);
    X509V3_set_ctx(&v, issuer, c, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    if (!e)
        return -1;
    int ok = X509_add_ext(c, e, -1);
    X509_EXTENSION_free(e);
    return ok == 1 ? 0 : -1;
}

static int set_name(X509_NAME *n, const char *cn, const char *org)
{
    if (org && *org &&
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) !=
            1)
        return -1;
    return X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                      0) == 1
               ? 0
               : -1;
}

/* Version 3, serial, validity (from 1 hour ago to cover clock skew). */
static X509 *cert_base(EVP_PKEY *pub, long secs)
{
    X509 *c = X509_new();
    if (!c || X509_set_version(c, 2) != 1 || set_serial(c) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(c), 0, secs, NULL) || X509_set_pubkey(c, pub) != 1) {
        X509_free(c);
        return NULL;
    }
    return c;
}

X509 *pki_ca_new(EVP_PKEY *key, const char *cn, int days, char *err)
{
    X509 *c = cert_base(key, days * 86400L);
    if (!c || set_name(X509_get_subject_name(c), cn, NULL) < 0 ||
        X509_set_issuer_name(c, X509_get_subject_name(c)) != 1 ||
        add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
        add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(c, c, NID_subject_key_identifier, "hash") < 0 ||
        X509_sign(c, key, EVP_sha256()) <= 0) {
        ssl_err(err, "cannot make the CA certificate");
        X509_free(c);
        return NULL;
    }
    return c;
}

/* "DNS:a,IP:127.0.0.1,..." for the names given; bounded by out. */
static int san_list(const char *const *names, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t a[16];
        bool ip = inet_pton(AF_INET, names[i], a) == 1 || inet_pton(AF_INET6, names[i], a) == 1;
        if (strpbrk(names[i], ",\n\r") || !names[i][0])
            return -1; /* would inject another entry into the list */
        int w = snprintf(out + o, outsz - o, "%s%s:%s", i ? "," : "", ip ? "IP" : "DNS", names[i]);
        if (w < 0 || (size_t)w >= outsz - o)
            return -1;
        o += (size_t)w;
    }
    return 0;
}

X509 *pki_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, enum pki_kind kind, const char *cn,
                const char *org, const char *const *names, size_t nnames, int days, char *err)
{
    return pki_issue_secs(ca, ca_key, pub, kind, cn, org, names, nnames, days * 86400L, err);
}

X509 *pki_issue_secs(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, enum pki_kind kind, const char *cn,
                     const char *org, const char *const *names, size_t nnames, long secs, char *err)
{
    char san[2048];
    if (kind == PKI_SERVER && (nnames == 0 || san_list(names, nnames, san, sizeof san) < 0)) {
        snprintf(err, PKI_ERR_MAX, "bad or too many server names for the certificate");
        return NULL;
    }
    X509 *c = cert_base(pub, secs);
    bool ok =
        c && set_name(X509_get_subject_name(c), cn, org) == 0 &&
        X509_set_issuer_name(c, X509_get_subject_name(ca)) == 1 &&
        add_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
        add_ext(c, ca, NID_key_usage, "critical,digitalSignature") == 0 &&
        add_ext(c, ca, NID_ext_key_usage, kind == PKI_SERVER ? "serverAuth" : "clientAuth") == 0 &&
        add_ext(c, ca, NID_authority_key_identifier, "keyid:always") == 0 &&
        (kind != PKI_SERVER || add_ext(c, ca, NID_subject_alt_name, san) == 0) &&
        X509_sign(c, ca_key, EVP_sha256()) > 0;
    if (!ok) {
        ssl_err(err, "cannot issue the certificate");
        X509_free(c);
        return NULL;
    }
    return c;
}

static int bio_to_text(BIO *b, char *out, size_t outsz, char *err, const char *what)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0 || (size_t)n >= outsz) {
        snprintf(err, PKI_ERR_MAX, "%s does not fit in %zu bytes", what, outsz);
        return MAMORI_EFULL;
    }
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    return 0;
}

int pki_csr_pem(EVP_PKEY *key, const char *cn, char *out, size_t outsz, char *err)
{
    X509_REQ *r = X509_REQ_new();
    BIO *b = BIO_new(BIO_s_mem());
    int rc = MAMORI_EIO;
    if (r && b && X509_REQ_set_version(r, 0) == 1 &&
        set_name(X509_REQ_get_subject_name(r), cn, NULL) == 0 && X509_REQ_set_pubkey(r, key) == 1 &&
        X509_REQ_sign(r, key, EVP_sha256()) > 0 && PEM_write_bio_X509_REQ(b, r) == 1)
        rc = bio_to_text(b, out, outsz, err, "the CSR");
    else
        ssl_err(err, "cannot make the certificate signing request");
    BIO_free(b);
    X509_REQ_free(r);
    return rc;
}

static bool key_acceptable(EVP_PKEY *k)
{
    int id = EVP_PKEY_get_base_id(k);
    if (id == EVP_PKEY_ED25519)
        return true;
    return id == EVP_PKEY_EC && EVP_PKEY_get_bits(k) >= 256;
}

EVP_PKEY *pki_csr_check(const char *pem, size_t len, char *err)
{
    if (len > PKI_PEM_MAX || len > INT32_MAX) {
        snprintf(err, PKI_ERR_MAX, "CSR longer than %u bytes", PKI_PEM_MAX);
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509_REQ *r = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!r) {
        ssl_err(err, "CSR is not a PEM certificate request");
        return NULL;
    }
    EVP_PKEY *k = X509_REQ_get_pubkey(r);
    const char *why = NULL;
    if (!k)
        why = "CSR has no usable public key";
    else if (!key_acceptable(k))
        why = "CSR key must be EC P-256 or stronger, or Ed25519";
    else if (X509_REQ_verify(r, k) != 1)
        why = "CSR signature does not verify";
    X509_REQ_free(r);
    if (why) {
        ERR_clear_error();
        snprintf(err, PKI_ERR_MAX, "%s", why);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

int pki_cert_pem(X509 *cert, char *out, size_t outsz, char *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = MAMORI_EIO;
    if (b && PEM_write_bio_X509(b, cert) == 1)
        rc = bio_to_text(b, out, outsz, err, "the certificate");
    else
        ssl_err(err, "cannot write the certificate as PEM");
    BIO_free(b);
    return rc;
}

X509 *pki_cert_from_pem(const char *pem, size_t len, char *err)
{
    if (len > PKI_PEM_MAX) {
        snprintf(err, PKI_ERR_MAX, "certificate longer than %u bytes", PKI_PEM_MAX);
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!c)
        ssl_err(err, "not a PEM certificate");
    return c;
}

int pki_spki_sha256(X509 *cert, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (n <= 0)
        return MAMORI_EINVAL;
    unsigned int mdlen = 0;
    int ok = EVP_Digest(der, (size_t)n, out, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return ok == 1 && mdlen == 32 ? 0 : MAMORI_EIO;
}

int pki_cert_fp(X509 *cert, char out[65])
{
    uint8_t md[32];
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
        return MAMORI_EIO;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int pki_cert_cn(X509 *cert, char *out, size_t outsz)
{
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out, (int)outsz);
    return n > 0 && (size_t)n < outsz ? 0 : MAMORI_EINVAL;
}
