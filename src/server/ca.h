/* ca.h - the server's certificate authority and its own certificate, kept
 * in the data directory:
 *
 *   ca.key       CA private key (EC P-256), mode 0600
 *   ca.crt       CA certificate, self-signed, valid CA_DAYS
 *   server.key   the TLS server key, mode 0600
 *   server.crt   server certificate + CA (the chain sent to agents), issued
 *                anew at each start for the names given (so --name changes
 *                take effect), valid SERVER_CERT_DAYS
 *
 * The CA is created on first use (first start, or the first `mamori server
 * token`) under an exclusive lock on DIR/ca.lock, so two processes starting
 * at once cannot make two CAs. Agents pin the CA, never server.crt.
 * Files enter, loaded OpenSSL objects leave; errors are text in err. */
#ifndef MAMORI_SERVER_CA_H
#define MAMORI_SERVER_CA_H

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "net/pki.h"

#define CA_DAYS 3650
#define SERVER_CERT_DAYS 397
#define CLIENT_CERT_DAYS 825

struct srv_ca {
    X509 *cert;
    EVP_PKEY *key;
    uint8_t spki[32];        /* the pin enrollment tokens carry */
    char dir[PATH_MAX - 64]; /* room for "/server.crt.tmp" in PATH_MAX */
};

/* Create DIR (0700) if missing, then load or create the CA. */
int srv_ca_open(struct srv_ca *ca, const char *dir, char *err);
/* Issue server.crt for names (DNS names or IP literals). */
int srv_ca_server_cert(struct srv_ca *ca, const char *const *names, size_t n, char *err);
void srv_ca_close(struct srv_ca *ca);
/* A client certificate for pub: CN = host id, O = site, valid
 * CLIENT_CERT_DAYS, or MAMORI_TEST_CLIENT_CERT_SECONDS seconds when that is
 * set in the environment (tests only: short-lived certificates to renew). */
X509 *srv_ca_client_cert(struct srv_ca *ca, EVP_PKEY *pub, const char *host_id, const char *site,
                         char *err);
/* DIR/NAME into out. */
void srv_ca_path(const struct srv_ca *ca, const char *name, char *out, size_t outsz);

#endif
