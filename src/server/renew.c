/* renew.c - an agent renews its client certificate on its certified session.
 *
 * A RENEW frame {"csr": PEM} arrives after WELCOME. The CSR must carry a
 * valid public key (pki_csr_check; its subject is ignored): the server
 * issues a certificate for it with the host's own identity (CN = host id,
 * O = site, server/ca.h), records its fingerprint as the host's cert_fp and
 * the one the session presented as cert_fp_prev (still accepted, so an agent
 * that lost the new certificate before storing it is not cut off; cleared
 * when the new one is first used: session.c), audits "cert_renew", and
 * answers RENEW_OK {"cert": PEM}. A revoked host (in memory or, revoked by
 * another process not yet seen, in the store) gets ERROR "revoked"; a bad
 * CSR gets ERROR "bad_csr"; both close the connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "server/server_int.h"

static bool refuse(struct server *s, struct sconn *c, const char *code, const char *why)
{
    struct host *h = c->host;
    log_warn("certificate renewal of host %s from %s refused: %s", h->id, c->peer, why);
    char detail[400];
    snprintf(detail, sizeof detail, "refused (%s): %s; peer=%s", code, why, c->peer);
    store_audit(&s->st, srv_wall_ms(), "agent", "cert_renew", h->id, detail);
    srv_conn_refuse(s, c, code, why);
    return true;
}

/* Inside a transaction: the new fingerprint and the audit row. */
static int record(struct server *s, struct sconn *c, const char *fp, const char *prev)
{
    char detail[400];
    snprintf(detail, sizeof detail, "cert_sha256=%s previous=%s peer=%s", fp, prev, c->peer);
    int rc = store_begin(&s->st);
    if (rc < 0)
        return rc;
    rc = store_host_renew(&s->st, c->host->id, fp, prev);
    if (rc == 0)
        rc = store_audit(&s->st, srv_wall_ms(), "agent", "cert_renew", c->host->id, detail);
    if (rc == 0)
        rc = store_commit(&s->st);
    if (rc < 0)
        store_rollback(&s->st);
    return rc;
}

bool renew_frame(struct server *s, struct sconn *c, struct json_object *body)
{
    struct host *h = c->host;
    char err[PKI_ERR_MAX], fp[65], prev[65] = "", why[PKI_ERR_MAX + 16];
    if (h->status == HOST_REVOKED)
        return refuse(s, c, "revoked", "this host was revoked by the server's operator");
    if (c->renewed)
        return refuse(s, c, "renew_again", "one certificate renewal per connection");
    c->renewed = true;
    const char *csr = frame_str(body, "csr", PKI_PEM_MAX);
    EVP_PKEY *pub = csr ? pki_csr_check(csr, strlen(csr), err) : NULL;
    if (!pub) {
        snprintf(why, sizeof why, "bad CSR: %s", csr ? err : "missing");
        return refuse(s, c, "bad_csr", why);
    }
    X509 *peer = nc_peer_cert(&c->nc);
    if (!peer || pki_cert_fp(peer, prev) < 0)
        prev[0] = '\0';
    X509_free(peer);
    X509 *cert = srv_ca_client_cert(&s->ca, pub, h->id, h->site, err);
    EVP_PKEY_free(pub);
    size_t cap = 2 * PKI_PEM_MAX + 64; /* a PEM certificate, JSON-escaped */
    char *pem = malloc(PKI_PEM_MAX), *buf = malloc(cap);
    int rc = cert && pem && buf && pki_cert_fp(cert, fp) == 0 &&
                     pki_cert_pem(cert, pem, PKI_PEM_MAX, err) == 0
                 ? 0
                 : MAMORI_EIO;
    X509_free(cert);
    if (rc == 0)
        rc = record(s, c, fp, prev);
    if (rc == 0) {
        snprintf(h->cert_fp, sizeof h->cert_fp, "%s", fp);
        snprintf(h->cert_fp_prev, sizeof h->cert_fp_prev, "%s", prev);
        struct jw w;
        jw_init(&w, buf, cap);
        jw_obj_begin(&w);
        jw_str(&w, "cert", pem);
        jw_obj_end(&w);
        long n = jw_finish(&w);
        rc = n < 0 ? (int)n : nc_send(&c->nc, FRAME_RENEW_OK, buf, (size_t)n);
    }
    free(pem);
    free(buf);
    if (rc == MAMORI_EPERM)
        return refuse(s, c, "revoked", "this host was revoked by the server's operator");
    if (rc < 0) {
        log_error("certificate renewal of host %s failed: %s", h->id,
                  rc == MAMORI_EIO && s->st.err[0] ? s->st.err : "cannot issue or send");
        srv_conn_drop(s, c, "certificate renewal failed");
        return false;
    }
    log_info("host %s (%s) renewed its certificate (%.16s...)", h->id, h->hostname, fp);
    char ev[512];
    struct jw w;
    srv_event_begin(&w, ev, sizeof ev, "cert_renewed");
    jw_str(&w, "host_id", h->id);
    jw_str(&w, "cert_sha256", fp);
    srv_emit(s, &w);
    return true;
}
