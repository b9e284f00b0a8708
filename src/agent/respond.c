/* respond.c - one response command from the server, run at most once (see
 * respond.h): frame body in, struct respond_out (for the RESULT frame and
 * the log) out; the ledger is written before and after the action. */
#include "agent/respond.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "net/frame.h"

int respond_init(struct respond_ctx *r, const char *dir, char *err, size_t errsz)
{
    r->dir = dir;
    proc_self_init(&r->self);
    if (ledger_open(&r->ledger, dir) < 0) {
        snprintf(err, errsz, "%s", r->ledger.err);
        return MAMORI_EIO;
    }
    return 0;
}

__attribute__((format(printf, 2, 3))) static void failed(struct respond_out *out,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out->ok = false;
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

static int run(struct respond_ctx *r, enum cmd_action a, const char *arg, char *msg, size_t cap)
{
    switch (a) {
    case CMD_ISOLATE: return isolate_apply(r, msg, cap);
    case CMD_RELEASE: return isolate_release(r, msg, cap);
    case CMD_KILL: return kill_actor(r, arg, msg, cap);
    case CMD_RESTORE: return restore_incident(r, arg, msg, cap);
    default: snprintf(msg, cap, "unknown action"); return MAMORI_EINVAL;
    }
}

void respond_command(struct respond_ctx *r, struct json_object *body, struct respond_out *out)
{
    memset(out, 0, sizeof *out);
    const char *id = frame_str(body, "id", CMD_ID_MAX - 1);
    if (!cmd_id_valid(id)) {
        log_warn("COMMAND frame without a valid id: ignored");
        return;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    const char *aname = frame_str(body, "action", 15);
    snprintf(out->action, sizeof out->action, "%s", aname ? aname : "?");

    /* each id runs once: a repeat gets the recorded answer */
    char prev_action[16];
    enum ledger_state st = ledger_lookup(&r->ledger, id, out->message, prev_action);
    if (st == LEDGER_OK || st == LEDGER_FAILED) {
        out->ok = st == LEDGER_OK;
        out->repeat = true;
        return;
    }
    if (st == LEDGER_RUNNING) {
        failed(out, "the agent stopped while running this command (or its record is damaged); "
                    "it is not run again: check the host and send a new command if needed");
        out->repeat = true;
        if (ledger_finish(&r->ledger, id, out->action, false, out->message) < 0)
            log_warn("%s", r->ledger.err);
        return;
    }

    enum cmd_action a;
    const char *arg = NULL;
    if (!aname || cmd_action_parse(aname, &a) < 0) {
        failed(out, "unknown action '%s' (this agent knows isolate, release, kill, restore)",
               aname ? aname : "");
    } else {
        const char *key = cmd_arg_key(a);
        arg = key ? frame_str(body, key, CMD_ARG_MAX - 1) : NULL;
        if (key && !cmd_arg_valid(a, arg))
            failed(out,
                   a == CMD_KILL ? "kill needs an actor key BOOT-PID-START (%s)"
                                 : "restore needs an alert id (%s)",
                   arg ? "this one is malformed" : "none given");
        else
            out->ok = true;
    }
    if (out->ok) {
        if (ledger_begin(&r->ledger, id, out->action) < 0) {
            /* without the record the command could run twice: do not run it */
            failed(out, "cannot record the command before running it: %s", r->ledger.err);
            return;
        }
        out->ok = run(r, a, arg, out->message, sizeof out->message) == 0;
    }
    if (ledger_finish(&r->ledger, id, out->action, out->ok, out->message) < 0)
        log_warn("command %s: %s (its result is sent all the same)", id, r->ledger.err);
}
