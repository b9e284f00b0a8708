/* restore.h - undo what the actors of an incident did, from a vault.
 *
 * An alert names an incident (itself, or the first alert of a chain of
 * related actors: one-shot encryptors started in a loop and the loop). The
 * ops of every actor of the incident are replayed newest first:
 *   save    the file gets its saved bytes, mode, owner and times back
 *   create  the file the attacker created is removed
 *   rename  the file is renamed back
 * Each step first looks at what is there now, so a second restore finds
 * everything already in place and changes nothing. A file changed after the
 * attack was stopped (ctime - which, unlike mtime, no program can set -
 * later than the stop, plus a grace period for a write in flight) is left
 * alone unless force is set. Files are written to a
 * temporary name in the same folder and renamed into place; paths are
 * walked without following symbolic links.
 *
 * Each outcome is printed as one line on out; restore_alert() fills the
 * counts. */
#ifndef MAMORI_VAULT_RESTORE_H
#define MAMORI_VAULT_RESTORE_H

#include <stdbool.h>
#include <stdio.h>

#include "vault/vault.h"

#define RESTORE_GRACE_FROZEN_US 1000000u   /* a write in flight when SIGSTOP arrived */
#define RESTORE_GRACE_RUNNING_US 5000000u  /* alert-only: the actor was not stopped */

struct restore_opts {
    bool dry_run;
    bool force;
    FILE *out;
};

struct restore_counts {
    unsigned restored, removed, renamed, unchanged, skipped, failed;
};

/* Lists the alerts in the vault, newest first. Returns the number listed. */
int restore_list(struct vault *v, FILE *out);
/* Restores the incident of alert_id. Returns 0, MAMORI_ENOENT when the vault
 * does not know the alert, or another negative MAMORI_E* code. */
int restore_alert(struct vault *v, const char *alert_id, const struct restore_opts *o,
                  struct restore_counts *c);

#endif
