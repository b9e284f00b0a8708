/* agent.h - `mamori agent`: the host side of the uplink.
 *
 * agent_enroll: makes the host's key pair, sends a CSR with a one-time token
 * to the server (trusting only the CA the token pins), and stores in the
 * agent directory (0700):
 *   host.key     the host's private key (EC P-256), mode 0600
 *   host.crt     its certificate, signed by the server's CA
 *   ca.crt       the server's CA: the only trust anchor from now on
 *   agent.json   {"server": "https://HOST:PORT", "host_id", "site", "hostname"}
 * agent_run: connects with that certificate, says HELLO, sends a HEARTBEAT
 * every interval the server's WELCOME names, reconnects with backoff when
 * the link breaks, and stops for good if the server says the host is revoked
 * or unknown. Output: JSON lines on `events` (connected, disconnected,
 * refused); diagnostics on stderr. */
#ifndef MAMORI_AGENT_AGENT_H
#define MAMORI_AGENT_AGENT_H

#include <limits.h>
#include <stdio.h>

#define AGENT_DEFAULT_DIR "/var/lib/mamori/agent"
#define AGENT_ERR_MAX 768

struct agent_enroll_opts {
    const char *server; /* https://HOST:PORT */
    const char *token;
    const char *dir;
    const char *hostname; /* NULL: gethostname() */
};

/* 0; MAMORI_ECONFIG for a usage/config problem (bad URL, token, already
 * enrolled); MAMORI_EPERM when the server refused; other codes otherwise.
 * err names what went wrong. */
int agent_enroll(const struct agent_enroll_opts *o, FILE *out, char *err);

struct agent_run_opts {
    const char *dir;
    unsigned max_backoff_ms; /* reconnect backoff ceiling */
};

/* Runs until SIGINT/SIGTERM (0) or a permanent refusal (MAMORI_EPERM);
 * MAMORI_ECONFIG if the directory holds no enrollment. */
int agent_run(const struct agent_run_opts *o, FILE *events, char *err);

#endif
