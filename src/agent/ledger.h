/* ledger.h - the agent's durable record of the response commands it was
 * given, so that each command id runs at most once.
 *
 * One small file per command in DIR/commands/ (mode 0700), named by the
 * command id ("c-<16 hex>.json"), holding {"id", "action", "state",
 * "message", "time_ms"}; state is "running" (written and synced before the
 * command starts), then "ok" or "failed" with the message sent back to the
 * server. Each write goes to a temporary file that is synced and renamed
 * over the old one, then the directory is synced: after a crash a file is
 * either the old or the new state, never half of one. An id found "running"
 * means the agent died while running it: it is not run again (the caller
 * answers "failed" and records that). Ids are checked (net/command.h) before
 * they become file names. Bounds: a file is at most LEDGER_FILE_MAX bytes.
 *
 * Pruning (ledger_prune, at agent start and once a day): a finished record
 * is deleted when it is older than LEDGER_KEEP_MS (30 days, by the time it
 * was last written), or when more than LEDGER_KEEP_COUNT (10,000) records
 * are kept and it is among the oldest and older than LEDGER_RUN_WINDOW_MS;
 * a "running" record is never deleted by count (it is the proof that a
 * command may have half run). Leftover temporary files older than an hour
 * go too. A command id seen again after its record was pruned must still
 * not run twice: the agent runs no command issued (COMMAND "issued_ms")
 * more than LEDGER_RUN_WINDOW_MS (7 days) ago, and a record is pruned only
 * after that window (by age: 30 days, 23 days of margin for clock skew),
 * so a pruned id is always refused for its age. The server also never
 * resends a command that has its result. */
#ifndef MAMORI_AGENT_LEDGER_H
#define MAMORI_AGENT_LEDGER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/command.h"

#define LEDGER_DIR "commands"
#define LEDGER_FILE_MAX 8192 /* a 1 KiB message escaped at worst 6 times, and the rest */
#define LEDGER_ERR_MAX 512
#define LEDGER_KEEP_MS (30LL * 86400 * 1000)
#define LEDGER_KEEP_COUNT 10000
#define LEDGER_RUN_WINDOW_MS (7LL * 86400 * 1000)
#define LEDGER_PRUNE_EVERY_MS (86400LL * 1000)

enum ledger_state { LEDGER_NONE, LEDGER_RUNNING, LEDGER_OK, LEDGER_FAILED };

struct ledger {
    char dir[PATH_MAX];
    char err[LEDGER_ERR_MAX];
};

/* Makes DIR/commands if needed. 0 or MAMORI_EIO (err set). */
int ledger_open(struct ledger *l, const char *agent_dir);
/* What is recorded for id: LEDGER_NONE if nothing; with the message and the
 * action of a recorded one (either pointer may be NULL). A file that cannot
 * be read or parsed counts as LEDGER_RUNNING: the safe answer is "do not run
 * it again". */
enum ledger_state ledger_lookup(struct ledger *l, const char *id, char msg[CMD_MSG_MAX],
                                char action[16]);
/* Durably record that id starts (before running it). */
int ledger_begin(struct ledger *l, const char *id, const char *action);
/* Durably record id's outcome. */
int ledger_finish(struct ledger *l, const char *id, const char *action, bool ok, const char *msg);

/* Delete old finished records as said above, with the bounds given (the
 * agent passes LEDGER_KEEP_MS, LEDGER_KEEP_COUNT, LEDGER_RUN_WINDOW_MS).
 * Returns how many records were deleted, or MAMORI_EIO (err set) when the
 * directory cannot be read. */
long ledger_prune(struct ledger *l, int64_t now_ms, int64_t keep_ms, size_t keep_count,
                  int64_t window_ms);

#endif
