/* command.h - the vocabulary of response commands on the wire, shared by
 * the server (which stores and sends them) and the agent (which runs them).
 *
 * A command travels as a COMMAND frame {"id", "action", "actor" | "alert"}
 * and its outcome comes back as a RESULT frame {"id", "status", "message"}
 * (see docs/mamori-server.md). Strings enter from the operator's command
 * line or from a peer's frame; these functions only say whether they are
 * well formed, and name the actions. Pure functions, no I/O. */
#ifndef MAMORI_NET_COMMAND_H
#define MAMORI_NET_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#define CMD_ID_LEN 18      /* "c-" + 16 lowercase hex */
#define CMD_ID_MAX 24      /* CMD_ID_LEN + NUL, with room */
#define CMD_ARG_MAX 64     /* actor key or alert id, NUL included */
#define CMD_MSG_MAX 1024   /* a result message, NUL included */
#define CMD_BOOT_HEX_MAX 32 /* hex digits of the boot id in an actor key */

enum cmd_action { CMD_ISOLATE, CMD_RELEASE, CMD_KILL, CMD_RESTORE, CMD_NACTIONS };

/* "isolate", "release", "kill", "restore"; "?" for anything else. */
const char *cmd_action_name(enum cmd_action a);
/* 0, or -1 when s names no action. */
int cmd_action_parse(const char *s, enum cmd_action *out);
/* The argument an action takes: "actor" (kill), "alert" (restore) or NULL. */
const char *cmd_arg_key(enum cmd_action a);

/* "c-" followed by 16 lowercase hex digits. */
bool cmd_id_valid(const char *id);
/* An actor key as the guard and its vault write it: BOOT-PID-START, BOOT
 * 1-32 lowercase hex digits of the boot id, PID and START decimal (START:
 * the process start time in clock ticks after boot). On success the parts
 * are stored where the pointers are not NULL. */
bool cmd_actor_parse(const char *key, char boot[CMD_BOOT_HEX_MAX + 1], long *pid,
                     unsigned long long *start);
/* An alert id: 1-47 characters of A-Z a-z 0-9 . _ - */
bool cmd_alert_valid(const char *id);
/* The argument of action a is well formed (NULL when the action takes none). */
bool cmd_arg_valid(enum cmd_action a, const char *arg);

#endif
