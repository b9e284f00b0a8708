/* cmdstore.h - response commands in the server's database (table
 * `commands`, schema v3, see store.h).
 *
 * A row is written by the operator's `mamori server command` (another
 * process) or by the server itself, as pending; the running server sends it
 * to the host (pending -> sent) and stores the agent's result (sent -> ok or
 * failed, with the agent's message). Rows are never deleted: they are the
 * record of what was asked and what happened. Text enters from the CLI and
 * from RESULT frames (bounded by net/command.h), rows leave through the
 * iterators. Functions return 0 or a negative MAMORI_E* code with a reason
 * in s->err. */
#ifndef MAMORI_SERVER_CMDSTORE_H
#define MAMORI_SERVER_CMDSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "net/command.h"
#include "server/store.h"

#define CMD_BY_MAX 64 /* who asked ("operator", an API token name), NUL included */

enum cmd_status { CMDST_PENDING, CMDST_SENT, CMDST_OK, CMDST_FAILED };

struct cmd_row {
    int64_t id; /* row id: order of creation */
    char uid[CMD_ID_MAX];
    char host_id[HOST_ID_MAX];
    char hostname[HOSTNAME_MAX];
    enum cmd_action action;
    char arg[CMD_ARG_MAX]; /* "" when the action takes none */
    char created_by[CMD_BY_MAX];
    int64_t created, sent, done; /* ms; 0 = not yet */
    enum cmd_status status;
    char message[CMD_MSG_MAX];
};

const char *cmd_status_name(enum cmd_status st);

/* A new pending command for host_id with a fresh random uid (written to
 * uid_out), and its audit row, in one transaction. arg must be valid for
 * the action (cmd_arg_valid). */
int cmdstore_add(struct store *s, const char *host_id, enum cmd_action a, const char *arg,
                 const char *by, int64_t now, char uid_out[CMD_ID_MAX]);
/* One command by uid: MAMORI_ENOENT if none. */
int cmdstore_get(struct store *s, const char *uid, struct cmd_row *out);
/* Calls fn for each command, oldest first: all of them (host_id NULL, or
 * one host's), or only those still waiting for a result (open: pending and
 * sent). fn returns non-zero to stop. */
int cmdstore_each(struct store *s, const char *host_id, bool open_only,
                  int (*fn)(void *, const struct cmd_row *), void *arg);
/* Only the pending ones (never sent), all hosts, oldest first. */
int cmdstore_pending_each(struct store *s, int (*fn)(void *, const struct cmd_row *), void *arg);
/* pending -> sent (a command already sent keeps its first time). */
int cmdstore_mark_sent(struct store *s, const char *uid, int64_t now);
/* The agent's answer: an open command of host_id becomes ok or failed with
 * message, and an audit row is added, in one transaction. 0 when stored;
 * MAMORI_EEXIST when the command already had its result (a repeated answer:
 * nothing changes); MAMORI_ENOENT when host_id has no such command. */
int cmdstore_result(struct store *s, const char *uid, const char *host_id, bool ok,
                    const char *message, int64_t now);

#endif
