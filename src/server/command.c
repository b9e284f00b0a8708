/* command.c - response commands between the store and the agents' live
 * connections (the loop side of server/cmdstore.h).
 *
 * Data enters as rows other processes commit to `commands` (the operator's
 * `mamori server command`; seen through SQLite's data_version at a tick:
 * command_scan) and as RESULT frames from agents (command_result); it leaves
 * as COMMAND frames, updated rows, audit rows and JSON event lines
 * (command_sent, command_result).
 *
 * Rules:
 *  1. A pending command goes to its host's live connection (after HELLO) as
 *     soon as the server sees it, and becomes sent. A host that is not
 *     connected gets it right after its next HELLO (command_hello).
 *  2. After each HELLO every open command of the host (pending, or sent
 *     without a result yet) is sent again: the agent runs each id once and
 *     answers a repeat with the result it stored, so a result lost with a
 *     connection is never lost for good and nothing runs twice.
 *  3. A RESULT names a command of that very host (the client certificate
 *     says which host speaks): it is stored once with an audit row; a
 *     repeated answer changes nothing; a RESULT for a command the host was
 *     not given is logged and ignored. A malformed RESULT is a protocol
 *     error (the connection is dropped). */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "server/cmdstore.h"
#include "server/server_int.h"

static void cmd_event(struct server *s, const char *event, const struct host *h,
                      const char *uid, const char *action, const char *arg, const char *status,
                      const char *message)
{
    char buf[CMD_MSG_MAX * 2 + 1024];
    struct jw w;
    srv_event_begin(&w, buf, sizeof buf, event);
    jw_str(&w, "command", uid);
    jw_str(&w, "host_id", h->id);
    jw_str(&w, "hostname", h->hostname);
    if (action)
        jw_str(&w, "action", action);
    if (arg && arg[0])
        jw_str(&w, "arg", arg);
    if (status)
        jw_str(&w, "status", status);
    if (message)
        jw_str(&w, "message", message);
    srv_emit(s, &w);
}

/* Queue a COMMAND frame for r on c; false if the connection was dropped. */
static bool send_one(struct server *s, struct sconn *c, const struct cmd_row *r)
{
    char buf[512];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "id", r->uid);
    jw_str(&w, "action", cmd_action_name(r->action));
    const char *key = cmd_arg_key(r->action);
    if (key)
        jw_str(&w, key, r->arg);
    jw_int(&w, "issued_ms", r->created);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    if (n < 0 || nc_send(&c->nc, FRAME_COMMAND, buf, (size_t)n) < 0) {
        srv_conn_drop(s, c, "write buffer full: cannot queue a command");
        return false;
    }
    if (r->status == CMDST_PENDING && cmdstore_mark_sent(&s->st, r->uid, srv_wall_ms()) < 0)
        log_warn("command %s sent but not marked sent: %s", r->uid, s->st.err);
    log_info("command %s sent to host %s (%s): %s %s", r->uid, c->host->id, c->host->hostname,
             cmd_action_name(r->action), r->arg);
    cmd_event(s, "command_sent", c->host, r->uid, cmd_action_name(r->action), r->arg, NULL, NULL);
    return true;
}

static bool is_live(const struct host *h)
{
    const struct sconn *c = h ? h->conn : NULL;
    return c && !c->dead && c->st == SC_AGENT;
}

static int scan_one(void *arg, const struct cmd_row *r)
{
    struct server *s = arg;
    struct host *h = hosts_get(&s->hosts, r->host_id);
    if (r->action == CMD_NACTIONS || !is_live(h) || h->status == HOST_REVOKED)
        return 0; /* delivered after the host's next HELLO (rule 1) */
    send_one(s, h->conn, r);
    return 0;
}

void command_scan(struct server *s)
{
    if (cmdstore_pending_each(&s->st, scan_one, s) < 0)
        log_warn("cannot read pending commands: %s", s->st.err);
}

struct hello_ctx {
    struct server *s;
    struct sconn *c;
    bool gone;
};

static int hello_one(void *arg, const struct cmd_row *r)
{
    struct hello_ctx *x = arg;
    if (r->action == CMD_NACTIONS)
        return 0;
    x->gone = !send_one(x->s, x->c, r);
    return x->gone;
}

bool command_hello(struct server *s, struct sconn *c)
{
    struct hello_ctx x = {s, c, false};
    if (cmdstore_each(&s->st, c->host->id, true, hello_one, &x) < 0)
        log_warn("cannot read the commands of host %s: %s", c->host->id, s->st.err);
    return !x.gone;
}

bool command_result(struct server *s, struct sconn *c, struct json_object *body)
{
    const char *uid = frame_str(body, "id", CMD_ID_MAX - 1);
    const char *status = frame_str(body, "status", 8);
    const char *msg = frame_str(body, "message", CMD_MSG_MAX - 1);
    if (!cmd_id_valid(uid) || !status || (strcmp(status, "ok") && strcmp(status, "failed")) ||
        !msg) {
        srv_conn_drop(s, c, "protocol error: RESULT frame without id, status ok|failed, message");
        return false;
    }
    struct host *h = c->host;
    bool ok = !strcmp(status, "ok");
    int rc = cmdstore_result(&s->st, uid, h->id, ok, msg, srv_wall_ms());
    char esc[CMD_MSG_MAX];
    log_escape(esc, sizeof esc, msg);
    if (rc == MAMORI_EEXIST) {
        log_debug("host %s repeated the result of command %s", h->id, uid);
    } else if (rc == MAMORI_ENOENT) {
        log_warn("host %s (%s) answered command %s, which it was not given: ignored", h->id,
                 h->hostname, uid);
    } else if (rc < 0) {
        /* the command stays open: resent after the next HELLO, the agent repeats its answer */
        log_warn("result of command %s not stored (asked again at the next connection): %s", uid,
                 s->st.err);
    } else {
        struct cmd_row r;
        const char *action = cmdstore_get(&s->st, uid, &r) == 0 ? cmd_action_name(r.action) : NULL;
        if (ok)
            log_info("command %s on host %s (%s): ok: %s", uid, h->id, h->hostname, esc);
        else
            log_warn("command %s on host %s (%s) failed: %s", uid, h->id, h->hostname, esc);
        cmd_event(s, "command_result", h, uid, action, action ? r.arg : NULL, status, msg);
    }
    return true;
}
