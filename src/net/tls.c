/* tls.c - TLS 1.3 contexts for server and agent (see tls.h). */
#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>

static void tls_err(char *err, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, PKI_ERR_MAX, "%s%s%.100s%s%.100s", what, path ? " " : "", path ? path : "",
             buf[0] ? ": " : "", buf);
    ERR_clear_error();
}

static SSL_CTX *ctx_base(const SSL_METHOD *m, char *err)
{
    SSL_CTX *c = SSL_CTX_new(m);
    if (!c || SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1) {
        tls_err(err, "cannot set up TLS 1.3", NULL);
        SSL_CTX_free(c);
        return NULL;
    }
    /* conn.c retries writes from a moving buffer and takes partial writes;
     * an idle connection (most of them, between heartbeats) gives its
     * record buffers back (~34 KiB each) */
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    return c;
}

SSL_CTX *tls_server_ctx(const char *chain_pem, const char *key_pem, const char *ca_pem, char *err)
{
    SSL_CTX *c = ctx_base(TLS_server_method(), err);
    if (!c)
        return NULL;
    const char *bad = NULL, *what = NULL;
    if (SSL_CTX_use_certificate_chain_file(c, chain_pem) != 1)
        bad = chain_pem, what = "cannot use the server certificate chain";
    else if (SSL_CTX_use_PrivateKey_file(c, key_pem, SSL_FILETYPE_PEM) != 1)
        bad = key_pem, what = "cannot use the server key";
    else if (SSL_CTX_check_private_key(c) != 1)
        bad = key_pem, what = "server key does not match the certificate";
    else if (SSL_CTX_load_verify_locations(c, ca_pem, NULL) != 1)
        bad = ca_pem, what = "cannot load the CA";
    if (bad) {
        tls_err(err, what, bad);
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_num_tickets(c, 0);
    /* ask for a certificate; one that does not verify fails the handshake,
     * none at all is allowed (enrollment) */
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(c, 2);
    return c;
}

SSL_CTX *tls_client_ctx(const char *ca_pem, const char *cert_pem, const char *key_pem, char *err)
{
    SSL_CTX *c = ctx_base(TLS_client_method(), err);
    if (!c)
        return NULL;
    const char *bad = NULL, *what = NULL;
    if (SSL_CTX_load_verify_locations(c, ca_pem, NULL) != 1)
        bad = ca_pem, what = "cannot load the pinned CA";
    else if (cert_pem && SSL_CTX_use_certificate_file(c, cert_pem, SSL_FILETYPE_PEM) != 1)
        bad = cert_pem, what = "cannot use the host certificate";
    else if (key_pem && SSL_CTX_use_PrivateKey_file(c, key_pem, SSL_FILETYPE_PEM) != 1)
        bad = key_pem, what = "cannot use the host key";
    else if (cert_pem && SSL_CTX_check_private_key(c) != 1)
        bad = key_pem, what = "host key does not match its certificate";
    if (bad) {
        tls_err(err, what, bad);
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(c, 2);
    return c;
}

/* Enrollment: find the CA whose key the token pins among the certificates
 * the server sent, and verify the server's certificate (with the name
 * checks the connection asked for) against that CA alone. */
static int pin_verify(X509_STORE_CTX *x, void *arg)
{
    struct tls_pin *pin = arg;
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(x);
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    X509 *ca = NULL;
    for (int i = 0; chain && i < sk_X509_num(chain) && !ca; i++) {
        uint8_t h[32];
        X509 *c = sk_X509_value(chain, i);
        if (pki_spki_sha256(c, h) == 0 && CRYPTO_memcmp(h, pin->spki, 32) == 0)
            ca = c;
    }
    if (!ca || !leaf) {
        X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_UNTRUSTED);
        return 0;
    }
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *v = X509_STORE_CTX_new();
    int ok = 0;
    if (store && v && X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(v, store, leaf, chain) == 1) {
        X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(v), X509_STORE_CTX_get0_param(x));
        ok = X509_verify_cert(v) == 1;
        if (!ok)
            X509_STORE_CTX_set_error(x, X509_STORE_CTX_get_error(v));
    }
    if (ok && !pin->ca && X509_up_ref(ca) == 1)
        pin->ca = ca;
    X509_STORE_CTX_free(v);
    X509_STORE_free(store);
    return ok;
}

SSL_CTX *tls_client_pinned_ctx(struct tls_pin *pin, char *err)
{
    SSL_CTX *c = ctx_base(TLS_client_method(), err);
    if (!c)
        return NULL;
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(c, pin_verify, pin);
    return c;
}
