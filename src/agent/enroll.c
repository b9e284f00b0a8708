/* enroll.c - `mamori agent enroll`: key pair, CSR, token, pinned CA, files
 * (see agent.h for what is written where). Nothing is written unless the
 * server accepted the request and its answer checks out: the certificate
 * carries our key and was signed by the pinned CA. */
#include <errno.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/link.h"
#include "core/err.h"
#include "core/json.h"
#include "net/pki.h"
#include "net/tls.h"
#include "net/token.h"

#define ENROLL_TIMEOUT_MS 30000

__attribute__((format(printf, 3, 4))) static int errf(char *err, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, AGENT_ERR_MAX, fmt, ap);
    va_end(ap);
    return rc;
}

static int prepare_dir(const char *dir, char *err)
{
    char p[PATH_MAX];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return errf(err, errno == ENOENT ? MAMORI_ECONFIG : MAMORI_EIO,
                    "%s: cannot create the agent directory: %s", dir, strerror(errno));
    snprintf(p, sizeof p, "%s/agent.json", dir);
    if (access(p, F_OK) == 0)
        return errf(err, MAMORI_ECONFIG,
                    "%s: this host is already enrolled (%s exists); remove the directory to "
                    "enroll again",
                    dir, p);
    return 0;
}

/* The server's answer must carry our key, signed by the CA we pinned. */
static int check_answer(struct json_object *ok, EVP_PKEY *key, X509 *pinned, X509 **cert, char *err)
{
    char e[PKI_ERR_MAX];
    const char *pem = frame_str(ok, "cert", PKI_PEM_MAX);
    *cert = pem ? pki_cert_from_pem(pem, strlen(pem), e) : NULL;
    if (!*cert)
        return errf(err, MAMORI_EINVAL, "the server's answer holds no usable certificate%s%s",
                    pem ? ": " : "", pem ? e : "");
    EVP_PKEY *ca_pub = X509_get0_pubkey(pinned);
    if (X509_check_private_key(*cert, key) != 1 || !ca_pub || X509_verify(*cert, ca_pub) != 1)
        return errf(err, MAMORI_EINVAL,
                    "the server's certificate for this host does not match its key or was not "
                    "signed by the pinned CA");
    return 0;
}

static int write_files(const struct agent_enroll_opts *o, EVP_PKEY *key, X509 *cert, X509 *ca,
                       struct json_object *ok, const char *hostname, char *err)
{
    char p[PATH_MAX], e[PKI_ERR_MAX];
    int rc;
    snprintf(p, sizeof p, "%s/host.key", o->dir);
    if ((rc = pki_key_save(p, key, e)) < 0)
        return errf(err, rc, "%s", e);
    snprintf(p, sizeof p, "%s/host.crt", o->dir);
    if ((rc = pki_cert_save(p, cert, e)) < 0)
        return errf(err, rc, "%s", e);
    snprintf(p, sizeof p, "%s/ca.crt", o->dir);
    if ((rc = pki_cert_save(p, ca, e)) < 0)
        return errf(err, rc, "%s", e);
    char buf[2048], tmp[PATH_MAX + 8];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "server", o->server);
    jw_str(&w, "host_id", frame_str(ok, "host_id", 64));
    jw_str(&w, "site", frame_str(ok, "site", 64));
    jw_str(&w, "hostname", hostname);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    snprintf(p, sizeof p, "%s/agent.json", o->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = n < 0 ? NULL : fopen(tmp, "we");
    rc = f && fprintf(f, "%s\n", buf) > 0 ? 0 : MAMORI_EIO;
    if (f && fclose(f) != 0)
        rc = MAMORI_EIO;
    if (rc == 0 && rename(tmp, p) != 0)
        rc = MAMORI_EIO;
    if (rc < 0)
        return errf(err, rc, "%s: cannot write: %s", p, strerror(errno));
    return 0;
}

/* Connect trusting only the pinned CA, send ENROLL, read the answer. */
static int exchange(const struct agent_enroll_opts *o, const struct hostport *hp,
                    struct tls_pin *pin, const char *csr, const char *hostname,
                    struct json_object **answer, char *err)
{
    char e[PKI_ERR_MAX];
    SSL_CTX *ctx = tls_client_pinned_ctx(pin, e);
    if (!ctx)
        return errf(err, MAMORI_EIO, "%s", e);
    struct netconn nc = {.fd = -1};
    uint64_t deadline = link_mono_ms() + ENROLL_TIMEOUT_MS;
    int rc = link_open(&nc, ctx, hp, deadline, err, AGENT_ERR_MAX);
    uint16_t type = 0;
    if (rc == 0) {
        char buf[2 * PKI_PEM_MAX + 1024];
        struct jw w;
        jw_init(&w, buf, sizeof buf);
        jw_obj_begin(&w);
        jw_int(&w, "proto", FRAME_PROTO);
        jw_str(&w, "token", o->token);
        jw_str(&w, "csr", csr);
        jw_str(&w, "hostname", hostname);
        rc = link_send(&nc, FRAME_ENROLL, &w, deadline);
        if (rc == 0)
            rc = link_recv(&nc, deadline, -1, &type, answer);
        if (rc != 1) {
            errf(err, MAMORI_EIO, "no answer from the server: %s", rc == 0 ? "timed out" : nc.why);
            rc = MAMORI_EIO;
        } else {
            rc = 0;
        }
    }
    nc_free(&nc);
    SSL_CTX_free(ctx);
    if (rc < 0)
        return rc;
    if (type == FRAME_ERROR) {
        const char *why = frame_str(*answer, "reason", 512);
        errf(err, MAMORI_EPERM, "the server refused the enrollment: %s",
             why ? why : "no reason given");
        return MAMORI_EPERM;
    }
    if (type != FRAME_ENROLL_OK || !frame_str(*answer, "host_id", 64) ||
        !frame_str(*answer, "site", 64))
        return errf(err, MAMORI_EINVAL, "unexpected %s frame from the server",
                    frame_type_name(type));
    return 0;
}

int agent_enroll(const struct agent_enroll_opts *o, FILE *out, char *err)
{
    struct hostport hp;
    struct tls_pin pin = {0};
    uint8_t secret[32];
    char serr[SOCK_ERR_MAX], host[256] = "", e[PKI_ERR_MAX];
    if (sock_parse_hostport(o->server, 1, &hp, serr) < 0)
        return errf(err, MAMORI_ECONFIG, "--server %s", serr);
    if (token_parse(o->token, secret, pin.spki) < 0)
        return errf(err, MAMORI_ECONFIG,
                    "--token: not a mamori enrollment token (expected mamori1.<secret>.<pin>, %d "
                    "characters, as printed by 'mamori server token')",
                    TOKEN_LEN);
    OPENSSL_cleanse(secret, sizeof secret);
    const char *hostname = o->hostname;
    if (!hostname) {
        gethostname(host, sizeof host - 1);
        hostname = host;
    }
    int rc = prepare_dir(o->dir, err);
    if (rc < 0)
        return rc;
    EVP_PKEY *key = pki_key_new(e);
    char csr[PKI_PEM_MAX];
    if (!key || pki_csr_pem(key, hostname, csr, sizeof csr, e) < 0) {
        EVP_PKEY_free(key);
        return errf(err, MAMORI_EIO, "%s", e);
    }
    struct json_object *ok = NULL;
    X509 *cert = NULL;
    rc = exchange(o, &hp, &pin, csr, hostname, &ok, err);
    if (rc == 0)
        rc = check_answer(ok, key, pin.ca, &cert, err);
    if (rc == 0)
        rc = write_files(o, key, cert, pin.ca, ok, hostname, err);
    if (rc == 0)
        fprintf(out, "enrolled: host %s, site %s, server %s; files in %s\n",
                frame_str(ok, "host_id", 64), frame_str(ok, "site", 64), o->server, o->dir);
    json_object_put(ok);
    X509_free(cert);
    X509_free(pin.ca);
    EVP_PKEY_free(key);
    return rc;
}
