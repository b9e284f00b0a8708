/* pki.h - keys, certificates and CSRs for mamori's private CA (OpenSSL EVP).
 *
 * The server's CA signs a server certificate for its listen names and one
 * client certificate per enrolled host; the agent makes its own key pair and
 * a CSR. Keys are EC P-256, signatures ECDSA-SHA256. Data enters as PEM text
 * or files and leaves as OpenSSL objects, PEM text, or files written
 * atomically (temp file + rename) with the mode given (0600 for keys).
 * Every function returns 0 / an object on success, or a negative MAMORI_E*
 * code / NULL with a reason in err (at most PKI_ERR_MAX bytes). */
#ifndef MAMORI_NET_PKI_H
#define MAMORI_NET_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PKI_ERR_MAX 256
#define PKI_PEM_MAX (16u << 10) /* one certificate or CSR as PEM text */
#define PKI_CN_MAX 64

enum pki_kind { PKI_CA, PKI_SERVER, PKI_CLIENT };

EVP_PKEY *pki_key_new(char *err);
int pki_key_save(const char *path, EVP_PKEY *key, char *err); /* mode 0600 */
EVP_PKEY *pki_key_load(const char *path, char *err);
int pki_cert_save(const char *path, X509 *cert, char *err); /* mode 0644 */
X509 *pki_cert_load(const char *path, char *err);

/* Self-signed CA certificate for key, valid `days`. */
X509 *pki_ca_new(EVP_PKEY *key, const char *cn, int days, char *err);
/* A certificate for pub signed by the CA. kind PKI_SERVER gets serverAuth
 * and a subjectAltName per entry of names (an IP literal becomes an IP
 * SAN); PKI_CLIENT gets clientAuth, subject CN=cn, O=org. */
X509 *pki_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, enum pki_kind kind, const char *cn,
                const char *org, const char *const *names, size_t nnames, int days, char *err);
/* The same, valid for secs seconds from now (notBefore is an hour back). */
X509 *pki_issue_secs(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, enum pki_kind kind,
                     const char *cn, const char *org, const char *const *names, size_t nnames,
                     long secs, char *err);

/* CSR for key with subject CN=cn; PEM text into out (NUL-terminated). */
int pki_csr_pem(EVP_PKEY *key, const char *cn, char *out, size_t outsz, char *err);
/* Parse a CSR and check its self-signature and key type (EC P-256 or
 * larger, or Ed25519). Returns its public key (caller frees) or NULL. */
EVP_PKEY *pki_csr_check(const char *pem, size_t len, char *err);

int pki_cert_pem(X509 *cert, char *out, size_t outsz, char *err);
X509 *pki_cert_from_pem(const char *pem, size_t len, char *err);

/* SHA-256 of the DER SubjectPublicKeyInfo: the CA pin carried by tokens. */
int pki_spki_sha256(X509 *cert, uint8_t out[32]);
/* SHA-256 of the whole DER certificate, lowercase hex (65 bytes with NUL). */
int pki_cert_fp(X509 *cert, char out[65]);
/* Subject CN into out. */
int pki_cert_cn(X509 *cert, char *out, size_t outsz);

#endif
