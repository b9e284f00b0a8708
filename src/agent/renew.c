/* renew.c - the agent's certificate renewal files (see renew.h). */
#include "agent/renew.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "net/pki.h"

static void path(char *out, const char *dir, const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

bool renew_due(const char *dir, long *left_s)
{
    char p[PATH_MAX], err[PKI_ERR_MAX];
    path(p, dir, "host.crt");
    X509 *c = pki_cert_load(p, err);
    int life_d = 0, life_s = 0, left_d = 0, left_sec = 0;
    bool ok = c &&
              ASN1_TIME_diff(&life_d, &life_s, X509_get0_notBefore(c), X509_get0_notAfter(c)) &&
              ASN1_TIME_diff(&left_d, &left_sec, NULL, X509_get0_notAfter(c));
    X509_free(c);
    if (!ok)
        return false;
    long life = life_d * 86400L + life_s, left = left_d * 86400L + left_sec;
    *left_s = left;
    return left < life / RENEW_WINDOW_DIV;
}

int renew_request(EVP_PKEY **key, const char *host_id, char *csr, size_t csrsz, char *err)
{
    *key = pki_key_new(err);
    if (!*key)
        return MAMORI_EIO;
    int rc = pki_csr_pem(*key, host_id, csr, csrsz, err);
    if (rc < 0) {
        EVP_PKEY_free(*key);
        *key = NULL;
    }
    return rc;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : MAMORI_EIO;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* host.key.new (if there) and host.crt.new over host.key and host.crt. */
static int move_in(const char *dir, char *err)
{
    char kn[PATH_MAX], k[PATH_MAX], cn[PATH_MAX], c[PATH_MAX];
    path(kn, dir, "host.key.new");
    path(k, dir, "host.key");
    path(cn, dir, "host.crt.new");
    path(c, dir, "host.crt");
    if ((access(kn, F_OK) == 0 && rename(kn, k) != 0) || rename(cn, c) != 0 || sync_dir(dir) < 0) {
        snprintf(err, PKI_ERR_MAX, "%.200s: cannot install the renewed certificate: %s", dir,
                 strerror(errno));
        return MAMORI_EIO;
    }
    return 0;
}

static int check(const char *dir, X509 *cert, EVP_PKEY *key, const char *host_id, char *err)
{
    char p[PATH_MAX], cn[PKI_CN_MAX];
    path(p, dir, "ca.crt");
    X509 *ca = pki_cert_load(p, err);
    int rc = MAMORI_EINVAL;
    if (!ca)
        rc = MAMORI_EIO;
    else if (X509_verify(cert, X509_get0_pubkey(ca)) != 1)
        snprintf(err, PKI_ERR_MAX, "the renewed certificate is not signed by our CA");
    else if (pki_cert_cn(cert, cn, sizeof cn) < 0 || strcmp(cn, host_id) != 0)
        snprintf(err, PKI_ERR_MAX, "the renewed certificate is for another host");
    else if (X509_check_private_key(cert, key) != 1)
        snprintf(err, PKI_ERR_MAX, "the renewed certificate is not for our new key");
    else
        rc = 0;
    X509_free(ca);
    return rc;
}

int renew_install(const char *dir, EVP_PKEY *key, const char *host_id, const char *cert_pem,
                  char *err)
{
    X509 *cert = pki_cert_from_pem(cert_pem, strlen(cert_pem), err);
    if (!cert)
        return MAMORI_EINVAL;
    char kn[PATH_MAX], cn[PATH_MAX];
    path(kn, dir, "host.key.new");
    path(cn, dir, "host.crt.new");
    int rc = check(dir, cert, key, host_id, err);
    if (rc == 0)
        rc = pki_key_save(kn, key, err);
    if (rc == 0)
        rc = pki_cert_save(cn, cert, err); /* from here the pair is whole */
    X509_free(cert);
    if (rc == 0)
        return move_in(dir, err);
    unlink(kn);
    return rc;
}

int renew_recover(const char *dir, char *err)
{
    char kn[PATH_MAX], cn[PATH_MAX];
    path(kn, dir, "host.key.new");
    path(cn, dir, "host.crt.new");
    if (access(cn, F_OK) == 0)
        return move_in(dir, err);
    if (unlink(kn) != 0 && errno != ENOENT) {
        snprintf(err, PKI_ERR_MAX, "%.200s: %s", kn, strerror(errno));
        return MAMORI_EIO;
    }
    return 0;
}
