/* renew.h - the agent's side of client certificate renewal.
 *
 * After WELCOME the uplink asks renew_due whether DIR/host.crt expires in
 * less than a third of its lifetime (RENEW_WINDOW_DIV: ~275 of 825 days);
 * if so it makes a new key pair and CSR (renew_request), sends RENEW, and
 * on RENEW_OK checks the certificate (our CA's signature, our host id, our
 * new key) and installs it (renew_install): host.key.new and host.crt.new
 * are written (temp file + fsync + rename, the key 0600), then renamed over
 * host.key and host.crt and the directory synced. A crash between the two
 * renames is finished by renew_recover at the next start (a host.crt.new
 * means the pair is whole; a lone host.key.new is dropped). Files enter and
 * leave; the current session goes on with the old certificate. */
#ifndef MAMORI_AGENT_RENEW_H
#define MAMORI_AGENT_RENEW_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#define RENEW_WINDOW_DIV 3 /* renew when less than lifetime / 3 is left */

/* True when DIR/host.crt should be renewed now; *left_s = seconds left. */
bool renew_due(const char *dir, long *left_s);
/* A new key into *key (caller frees) and its CSR (CN = host id) into csr. */
int renew_request(EVP_PKEY **key, const char *host_id, char *csr, size_t csrsz, char *err);
/* Check cert_pem against DIR/ca.crt, host_id and key, then install it. */
int renew_install(const char *dir, EVP_PKEY *key, const char *host_id, const char *cert_pem,
                  char *err);
/* Finish an installation a crash interrupted (see above). */
int renew_recover(const char *dir, char *err);

#endif
