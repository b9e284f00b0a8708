/* tls.h - OpenSSL contexts for mamori's uplink: TLS 1.3 only, both sides.
 *
 * Server: presents its certificate and the CA behind it, asks every client
 * for a certificate and verifies it against the CA, but lets a client without
 * one finish the handshake (the session code then allows enrollment only).
 * Client: trusts exactly one CA (the pinned file written at enrollment), or,
 * during enrollment, the CA in the server's chain whose SPKI SHA-256 equals
 * the pin carried by the token (struct tls_pin, which keeps that CA).
 * Paths enter, SSL_CTX objects leave; errors are English text in err. */
#ifndef MAMORI_NET_TLS_H
#define MAMORI_NET_TLS_H

#include <openssl/ssl.h>
#include <stdint.h>

#include "net/pki.h"

struct tls_pin {
    uint8_t spki[32]; /* SHA-256 of the CA's SubjectPublicKeyInfo */
    X509 *ca;         /* set by the handshake: the CA that matched (owned) */
};

SSL_CTX *tls_server_ctx(const char *chain_pem, const char *key_pem, const char *ca_pem, char *err);
/* ca_pem: trust anchor; cert/key: client identity (both NULL for none). */
SSL_CTX *tls_client_ctx(const char *ca_pem, const char *cert_pem, const char *key_pem, char *err);
/* A client context for enrollment: no file trusted, only the pinned CA.
 * pin must outlive the context; free pin->ca afterwards. */
SSL_CTX *tls_client_pinned_ctx(struct tls_pin *pin, char *err);

#endif
