/* guard.h - the file guard: detect and stop encryption of files.
 *
 * guard_run() marks the filesystems of the protected paths with fanotify,
 * writes {"event":"ready"} to the log once the marks are in place, then
 * watches until SIGTERM/SIGINT, writing one JSON line per detection to the
 * log fd. See docs/mamori-guard.md for the alert format and the rules. */
#ifndef MAMORI_GUARD_GUARD_H
#define MAMORI_GUARD_GUARD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard/proc.h"

#define GUARD_PROTECT_MAX 32
#define GUARD_ALLOW_MAX 64

enum guard_action { GUARD_ALERT, GUARD_FREEZE, GUARD_KILL };

struct guard_opts {
    size_t nprotect;
    char protect[GUARD_PROTECT_MAX][PATH_MAX];
    enum guard_action action;
    int log_fd;               /* JSON lines go here */
    size_t nallow;            /* executables never acted upon (full paths) */
    char allow_exe[GUARD_ALLOW_MAX][PROC_EXE_MAX];
    bool decoys;              /* place decoy files in each protected path */
    unsigned watchdog_ms;     /* a permission decision later than this is allowed */
    int threshold;            /* score that condemns an actor */
    bool vault;               /* keep pre-images (src/vault, guard_vault.c) */
    bool leases;              /* with the vault: rereads pass under read leases (guard_lease.c) */
    unsigned vault_cap_percent;
    uint64_t vault_file_max;  /* bytes */
    uint64_t vault_keep_us;
    size_t nvault_trusted;    /* writers needing no pre-images, if dpkg-verified */
    char vault_trusted[GUARD_ALLOW_MAX][PROC_EXE_MAX];
};

void guard_opts_default(struct guard_opts *o);
const char *guard_action_name(enum guard_action a);
int guard_action_parse(const char *s, enum guard_action *out);

/* Runs until SIGTERM/SIGINT. Returns 0 after a clean stop, or a negative
 * MAMORI_E* code when it could not start (message already logged). */
int guard_run(const struct guard_opts *o);

#endif
