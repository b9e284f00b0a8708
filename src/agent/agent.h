/* agent.h - `mamori agent`: the host side of the uplink.
 *
 * agent_enroll: makes the host's key pair, sends a CSR with a one-time token
 * to the server (trusting only the CA the token pins), and stores in the
 * agent directory (0700):
 *   host.key     the host's private key (EC P-256), mode 0600
 *   host.crt     its certificate, signed by the server's CA
 *   ca.crt       the server's CA: the only trust anchor from now on
 *   agent.json   {"server": "https://HOST:PORT", "host_id", "site", "hostname"}
 *   spool/       alerts waiting for the server (agent/spool.h)
 *   commands/    response commands run, one file each (agent/ledger.h)
 *   isolate.nft  the isolation ruleset while the host is isolated
 * agent_run: connects with that certificate, says HELLO, sends a HEARTBEAT
 * every interval the server's WELCOME names, forwards the spool in order
 * (deleting what the server acknowledged as stored), reconnects with backoff
 * when the link breaks, and stops for good if the server says the host is
 * revoked or unknown. Output: JSON lines on `events` (connected,
 * disconnected, refused); diagnostics on stderr. */
#ifndef MAMORI_AGENT_AGENT_H
#define MAMORI_AGENT_AGENT_H

#include <limits.h>
#include <stdint.h>
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

#define AGENT_VAULTS_MAX 16

struct agent_run_opts {
    const char *dir;
    unsigned max_backoff_ms; /* reconnect backoff ceiling */
    uint64_t spool_max;      /* bytes of DIR/spool (SPOOL_DEFAULT_CAP) */
    const char *vaults[AGENT_VAULTS_MAX]; /* for restore commands; none: from the config */
    size_t nvaults;
    const char *config; /* configuration file for the vault lookup, or NULL */
};

/* Add an alert to DIR/spool for the running agent to forward (a drill or
 * test alert now; the guard's alerts later). Returns its sequence number,
 * or a negative MAMORI_E* code with err set (MAMORI_EFULL: spool full). */
int64_t agent_alert(const char *dir, const char *kind, const char *severity, const char *summary,
                    uint64_t spool_max, char *err);

/* Runs until SIGINT/SIGTERM (0) or a permanent refusal (MAMORI_EPERM);
 * MAMORI_ECONFIG if the directory holds no enrollment. Before connecting it
 * re-applies an isolation the server ordered earlier (DIR/isolate.nft), and
 * it runs the response commands the server sends (agent/respond.h). */
int agent_run(const struct agent_run_opts *o, FILE *events, char *err);

/* `mamori agent reapply`: re-apply DIR/isolate.nft if it exists, for a boot
 * unit ordered before the network comes up. 0 (msg says what was done, or
 * is empty when the host is not isolated) or MAMORI_EIO with msg. */
int agent_reapply(const char *dir, char *msg, size_t cap);

#endif
