/* enroll.h - server side of enrollment: token in, signed certificate out.
 *
 * srv_enroll checks the token (well-formed, made for this server's CA,
 * known, unused, unexpired), checks the CSR (self-signature, key type),
 * assigns a host id, issues a client certificate (CN = host id, O = site,
 * valid CLIENT_CERT_DAYS) and records the host, the token's use and an audit
 * row in one transaction: a refused or failed enrollment consumes nothing.
 * A refusal is also written to the audit log. No I/O besides the store. */
#ifndef MAMORI_SERVER_ENROLL_H
#define MAMORI_SERVER_ENROLL_H

#include <stdint.h>

#include "net/pki.h"
#include "server/ca.h"
#include "server/store.h"

struct enroll_req {
    const char *token;
    const char *csr; /* PEM */
    const char *hostname;
    const char *peer; /* address, for the audit log */
};

struct enroll_res {
    struct host_row host;
    char cert_pem[PKI_PEM_MAX];
    char ca_pem[PKI_PEM_MAX];
    char code[24]; /* on refusal: bad_token, token_used, token_expired, bad_csr, ... */
    char why[512]; /* on refusal: English reason sent to the agent */
};

/* 0, or a negative MAMORI_E* code with res->code and res->why set. */
int srv_enroll(struct store *st, struct srv_ca *ca, const struct enroll_req *req, int64_t now_ms,
               struct enroll_res *res);

/* A hostname an agent may claim: 1..253 of [A-Za-z0-9._-]. */
int hostname_valid(const char *s);
/* A site name: 1..64 of [A-Za-z0-9._-]. */
int site_name_valid(const char *s);

#endif
