/* enroll.c - token + CSR -> host row + client certificate (see enroll.h). */
#include "server/enroll.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "net/token.h"

static int name_chars_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

int hostname_valid(const char *s)
{
    return s && name_chars_ok(s, HOSTNAME_MAX - 1);
}
int site_name_valid(const char *s)
{
    return s && name_chars_ok(s, SITE_NAME_MAX);
}

static int refuse(struct enroll_res *res, int rc, const char *code, const char *why)
{
    snprintf(res->code, sizeof res->code, "%s", code);
    snprintf(res->why, sizeof res->why, "%s", why);
    return rc;
}

static int new_host_id(char out[HOST_ID_MAX])
{
    uint8_t b[8];
    if (RAND_bytes(b, sizeof b) != 1)
        return MAMORI_EIO;
    snprintf(out, HOST_ID_MAX, "h-%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
             b[5], b[6], b[7]);
    return 0;
}

/* Inside the transaction: use the token, sign, add the host. */
static int enroll_txn(struct store *st, struct srv_ca *ca, const char *hash, EVP_PKEY *pub,
                      const struct enroll_req *req, int64_t now, struct enroll_res *res)
{
    struct host_row *h = &res->host;
    char err[PKI_ERR_MAX];
    if (new_host_id(h->id) < 0)
        return refuse(res, MAMORI_EIO, "internal", "cannot draw a host id");
    int rc = store_token_use(st, hash, now, h->id, &h->site_id, h->site);
    if (rc == MAMORI_ENOENT || rc == MAMORI_EEXIST || rc == MAMORI_ERANGE)
        return refuse(res, rc,
                      rc == MAMORI_ENOENT   ? "bad_token"
                      : rc == MAMORI_EEXIST ? "token_used"
                                            : "token_expired",
                      st->err);
    if (rc < 0)
        return refuse(res, rc, "internal", "server database error");
    X509 *c = srv_ca_client_cert(ca, pub, h->id, h->site, err);
    if (!c)
        return refuse(res, MAMORI_EIO, "internal", "cannot issue the certificate");
    rc = pki_cert_fp(c, h->cert_fp);
    if (rc == 0)
        rc = pki_cert_pem(c, res->cert_pem, sizeof res->cert_pem, err);
    if (rc == 0)
        rc = pki_cert_pem(ca->cert, res->ca_pem, sizeof res->ca_pem, err);
    X509_free(c);
    if (rc < 0)
        return refuse(res, rc, "internal", "cannot encode the certificate");
    snprintf(h->hostname, sizeof h->hostname, "%s", req->hostname);
    h->enrolled = now;
    h->status = HOST_ENROLLED;
    char detail[512];
    snprintf(detail, sizeof detail, "hostname=%s site=%s peer=%s", h->hostname, h->site,
             req->peer ? req->peer : "?");
    if (store_host_add(st, h) < 0 || store_audit(st, now, "agent", "enroll", h->id, detail) < 0)
        return refuse(res, MAMORI_EIO, "internal", "server database error");
    return 0;
}

static int check_request(struct srv_ca *ca, const struct enroll_req *req, char hash[65],
                         EVP_PKEY **pub, struct enroll_res *res)
{
    uint8_t secret[32], pin[32];
    char err[PKI_ERR_MAX];
    if (!req->token || token_parse(req->token, secret, pin) < 0)
        return refuse(res, MAMORI_EINVAL, "bad_token", "malformed enrollment token");
    if (CRYPTO_memcmp(pin, ca->spki, 32) != 0)
        return refuse(res, MAMORI_EINVAL, "bad_token",
                      "enrollment token was made for another server's CA");
    token_hash_hex(secret, hash);
    OPENSSL_cleanse(secret, sizeof secret);
    if (!hostname_valid(req->hostname))
        return refuse(res, MAMORI_EINVAL, "bad_hostname",
                      "hostname must be 1-253 characters of A-Z a-z 0-9 . _ -");
    *pub = req->csr ? pki_csr_check(req->csr, strlen(req->csr), err) : NULL;
    if (!*pub) {
        char why[PKI_ERR_MAX + 16];
        snprintf(why, sizeof why, "bad CSR: %s", req->csr ? err : "missing");
        return refuse(res, MAMORI_EINVAL, "bad_csr", why);
    }
    return 0;
}

int srv_enroll(struct store *st, struct srv_ca *ca, const struct enroll_req *req, int64_t now_ms,
               struct enroll_res *res)
{
    memset(res, 0, sizeof *res);
    char hash[65];
    EVP_PKEY *pub = NULL;
    int rc = check_request(ca, req, hash, &pub, res);
    if (rc == 0) {
        rc = store_begin(st);
        if (rc < 0) {
            refuse(res, rc, "internal", "server database busy");
        } else {
            rc = enroll_txn(st, ca, hash, pub, req, now_ms, res);
            if (rc == 0 && store_commit(st) < 0)
                rc = refuse(res, MAMORI_EIO, "internal", "server database error");
            if (rc < 0)
                store_rollback(st);
        }
    }
    EVP_PKEY_free(pub);
    if (rc < 0) {
        char detail[700];
        snprintf(detail, sizeof detail, "refused (%s): %s; hostname=%.100s peer=%s", res->code,
                 res->why, hostname_valid(req->hostname) ? req->hostname : "(invalid)",
                 req->peer ? req->peer : "?");
        store_audit(st, now_ms, "agent", "enroll", NULL, detail);
    }
    return rc;
}
