/* ca.c - the server's CA and certificate files (see ca.h). */
#include "server/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

void srv_ca_path(const struct srv_ca *ca, const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", ca->dir, name);
}

static int make_dir(const char *dir, char *err)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, PKI_ERR_MAX, "%.200s: not a directory", dir);
        return MAMORI_ECONFIG;
    }
    snprintf(err, PKI_ERR_MAX, "%.200s: cannot create the data directory: %s", dir,
             strerror(errno));
    return MAMORI_ECONFIG; /* a path the operator gave that cannot be used */
}

static int create_ca(struct srv_ca *ca, const char *keyp, const char *certp, char *err)
{
    EVP_PKEY *k = pki_key_new(err);
    if (!k)
        return MAMORI_EIO;
    char cn[128];
    char host[64] = "server";
    gethostname(host, sizeof host - 1);
    snprintf(cn, sizeof cn, "mamori CA %.60s", host);
    X509 *c = pki_ca_new(k, cn, CA_DAYS, err);
    int rc = c ? pki_key_save(keyp, k, err) : MAMORI_EIO;
    if (rc == 0)
        rc = pki_cert_save(certp, c, err); /* the certificate last: it marks a whole CA */
    EVP_PKEY_free(k);
    X509_free(c);
    return rc;
}

int srv_ca_open(struct srv_ca *ca, const char *dir, char *err)
{
    memset(ca, 0, sizeof *ca);
    if (strlen(dir) >= sizeof ca->dir - 32) {
        snprintf(err, PKI_ERR_MAX, "%.100s...: data directory path too long", dir);
        return MAMORI_ECONFIG;
    }
    snprintf(ca->dir, sizeof ca->dir, "%s", dir);
    int rc = make_dir(dir, err);
    if (rc < 0)
        return rc;
    char lockp[PATH_MAX], keyp[PATH_MAX], certp[PATH_MAX];
    srv_ca_path(ca, "ca.lock", lockp, sizeof lockp);
    srv_ca_path(ca, "ca.key", keyp, sizeof keyp);
    srv_ca_path(ca, "ca.crt", certp, sizeof certp);
    int lk = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lk < 0 || flock(lk, LOCK_EX) < 0) {
        snprintf(err, PKI_ERR_MAX, "%.200s: cannot lock: %s", lockp, strerror(errno));
        if (lk >= 0)
            close(lk);
        return MAMORI_EIO;
    }
    if (access(certp, F_OK) != 0)
        rc = create_ca(ca, keyp, certp, err);
    close(lk);
    if (rc < 0)
        return rc;
    ca->cert = pki_cert_load(certp, err);
    ca->key = ca->cert ? pki_key_load(keyp, err) : NULL;
    if (!ca->key) {
        srv_ca_close(ca);
        return MAMORI_EIO;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1 || pki_spki_sha256(ca->cert, ca->spki) < 0) {
        snprintf(err, PKI_ERR_MAX, "%.100s does not match %.100s", keyp, certp);
        srv_ca_close(ca);
        return MAMORI_ECONFIG;
    }
    return 0;
}

static int write_chain(FILE *f, X509 *leaf, X509 *ca)
{
    return PEM_write_X509(f, leaf) == 1 && PEM_write_X509(f, ca) == 1 ? 0 : -1;
}

int srv_ca_server_cert(struct srv_ca *ca, const char *const *names, size_t n, char *err)
{
    char keyp[PATH_MAX], certp[PATH_MAX], tmp[PATH_MAX + 16];
    srv_ca_path(ca, "server.key", keyp, sizeof keyp);
    srv_ca_path(ca, "server.crt", certp, sizeof certp);
    EVP_PKEY *k = NULL;
    if (access(keyp, F_OK) == 0) {
        k = pki_key_load(keyp, err);
    } else {
        k = pki_key_new(err);
        if (k && pki_key_save(keyp, k, err) < 0) {
            EVP_PKEY_free(k);
            k = NULL;
        }
    }
    if (!k)
        return MAMORI_EIO;
    X509 *c = pki_issue(ca->cert, ca->key, k, PKI_SERVER, names[0], "mamori server", names, n,
                        SERVER_CERT_DAYS, err);
    EVP_PKEY_free(k);
    if (!c)
        return MAMORI_EINVAL;
    snprintf(tmp, sizeof tmp, "%s.tmp", certp);
    FILE *f = fopen(tmp, "we");
    int rc = f && write_chain(f, c, ca->cert) == 0 ? 0 : MAMORI_EIO;
    if (f && fclose(f) != 0)
        rc = MAMORI_EIO;
    if (rc == 0 && rename(tmp, certp) != 0)
        rc = MAMORI_EIO;
    if (rc < 0) {
        snprintf(err, PKI_ERR_MAX, "%.200s: cannot write: %s", certp, strerror(errno));
        unlink(tmp);
    }
    X509_free(c);
    return rc;
}

X509 *srv_ca_client_cert(struct srv_ca *ca, EVP_PKEY *pub, const char *host_id, const char *site,
                         char *err)
{
    long secs = CLIENT_CERT_DAYS * 86400L;
    const char *t = getenv("MAMORI_TEST_CLIENT_CERT_SECONDS"); /* tests only */
    if (t && atol(t) > 0)
        secs = atol(t);
    return pki_issue_secs(ca->cert, ca->key, pub, PKI_CLIENT, host_id, site, NULL, 0, secs, err);
}

void srv_ca_close(struct srv_ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    ca->cert = NULL;
    ca->key = NULL;
}
