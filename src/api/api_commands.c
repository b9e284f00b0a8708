/* api_commands.c - response commands through the API:
 *   POST /api/v1/hosts/{id}/commands  {"action":"isolate|release|kill|restore",
 *                                      "actor":KEY (kill), "alert":ID (restore)}
 *   GET  /api/v1/hosts/{id}/commands  (keyset pages, newest first)
 *   GET  /api/v1/commands/{id}        (c-<16 hex>)
 * A JSON body enters (at most HTTP_BODY_MAX, nesting 8, unknown members
 * refused); a command leaves as a pending row written by cmdstore_add with
 * its audit row (actor: the API principal) in one transaction; the running
 * server's loop sees it through data_version within a tick and sends it to
 * the host (server/command.c). Another site's host or command answers 404. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "api/api_incidents.h"
#include "core/err.h"
#include "core/log.h"

/* The body as a JSON object: NULL after a 400. */
static json_object *body_object(struct api_call *q)
{
    size_t n = q->r->content_length;
    if (n == 0) {
        api_fail(q, 400, "bad_body",
                 "a command needs a body: {\"action\":\"isolate\"} (or "
                 "release, kill with \"actor\", restore with \"alert\")");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(8);
    json_object *j = tok ? json_tokener_parse_ex(tok, q->body, (int)n) : NULL;
    bool whole = tok && json_tokener_get_error(tok) == json_tokener_success &&
                 json_tokener_get_parse_end(tok) == n;
    json_tokener_free(tok);
    if (!j || !whole || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        api_fail(q, 400, "bad_body", "the request body is not one JSON object (nesting at most 8)");
        return NULL;
    }
    return j;
}

/* member as a string: NULL if absent; *bad when present but not a string. */
static const char *member(json_object *j, const char *key, bool *bad)
{
    json_object *v;
    if (!json_object_object_get_ex(j, key, &v))
        return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        *bad = true;
        return NULL;
    }
    return json_object_get_string(v);
}

/* The command in the body, checked: 0 with *a and arg, or -1 answered. */
static int parse_command(struct api_call *q, json_object *j, enum cmd_action *a,
                         char arg[CMD_ARG_MAX])
{
    json_object_object_foreach(j, key, val)
    {
        (void)val;
        if (strcmp(key, "action") && strcmp(key, "actor") && strcmp(key, "alert")) {
            api_fail(q, 400, "bad_body",
                     "unknown member '%.64s' in the request body (known: action, actor, alert)",
                     key);
            return -1;
        }
    }
    bool bad = false;
    const char *action = member(j, "action", &bad), *actor = member(j, "actor", &bad),
               *alert = member(j, "alert", &bad);
    if (bad) {
        api_fail(q, 400, "bad_body", "action, actor and alert must be strings");
        return -1;
    }
    if (!action || cmd_action_parse(action, a) < 0) {
        api_fail(q, 400, "bad_body", "action must be isolate, release, kill or restore");
        return -1;
    }
    const char *want = cmd_arg_key(*a), *given = actor ? actor : alert;
    if ((actor && alert) || (!want && given)) {
        api_fail(q, 400, "bad_body", "%s takes %s", action,
                 want ? (*a == CMD_KILL ? "only \"actor\"" : "only \"alert\"") : "no argument");
        return -1;
    }
    if (want && (!given || strcmp(want, actor ? "actor" : "alert") != 0)) {
        api_fail(q, 400, "bad_body", "%s needs \"%s\"", action, want);
        return -1;
    }
    if (want && (strlen(given) >= CMD_ARG_MAX || !cmd_arg_valid(*a, given))) {
        api_fail(q, 400, "bad_body",
                 *a == CMD_KILL ? "actor must be an actor key as the guard reports it: "
                                  "BOOT-PID-START (hex boot id, decimal pid and start time)"
                                : "alert must be an alert id: 1-47 of A-Z a-z 0-9 . _ -");
        return -1;
    }
    snprintf(arg, CMD_ARG_MAX, "%s", want ? given : "");
    return 0;
}

static void command_answer(struct api_call *q, int status, const struct cmd_row *c)
{
    struct hbuf b;
    hbuf_init(&b, 64u << 10);
    hbuf_str(&b, "{\"command\":");
    api_command_json(&b, c);
    hbuf_str(&b, "}\n");
    api_json(q, status, &b);
    hbuf_free(&b);
}

void api_host_command_add(struct api_call *q)
{
    struct host_row h;
    if (apii_host(q, http_param(&q->p, "id"), &h) < 0)
        return;
    json_object *j = body_object(q);
    if (!j)
        return;
    enum cmd_action a;
    char arg[CMD_ARG_MAX];
    int prc = parse_command(q, j, &a, arg);
    json_object_put(j);
    if (prc < 0)
        return;
    if (h.status == HOST_REVOKED) {
        api_fail(q, 409, "conflict", "host %s (%.100s) is revoked: it can never receive a command",
                 h.id, h.hostname);
        return;
    }
    char actor[128], uid[CMD_ID_MAX];
    api_actor(&q->who, actor, sizeof actor);
    struct store *st = &q->a->st;
    if (cmdstore_add(st, h.id, a, arg[0] ? arg : NULL, actor, q->now, uid) < 0) {
        api_store_fail(q, "store the command");
        return;
    }
    q->audited = true;
    if (apist_command_audit_site(st, uid, h.site_id) < 0)
        log_warn("API: command %s: %s", uid, st->err);
    log_info("API: %s asked host %s (%s) to %s%s%s: command %s", actor, h.id, h.hostname,
             cmd_action_name(a), arg[0] ? " " : "", arg, uid);
    struct cmd_row c;
    if (cmdstore_get(st, uid, &c) < 0) {
        api_store_fail(q, "read the command");
        return;
    }
    command_answer(q, 202, &c);
}

struct cwalk {
    struct api_page pg;
    struct hbuf row;
    int64_t last_id;
    bool more;
    int err;
};

static int cmd_row_cb(void *arg, const struct cmd_row *c)
{
    struct cwalk *w = arg;
    if (w->pg.n >= w->pg.limit) {
        w->more = true;
        return 1;
    }
    hbuf_reset(&w->row, API_ROW_MAX);
    if (api_command_json(&w->row, c) < 0) {
        w->err = 1;
        return 1;
    }
    if (!api_page_row(&w->pg, &w->row)) {
        w->more = true;
        return 1;
    }
    w->last_id = c->id;
    return 0;
}

void api_host_commands_list(struct api_call *q)
{
    static const char *const allowed[] = {"limit", "cursor", NULL};
    int limit;
    struct host_row h;
    if (apii_params(q, allowed) < 0 || apii_limit(q, &limit) < 0 ||
        apii_host(q, http_param(&q->p, "id"), &h) < 0)
        return;
    char fps[64];
    snprintf(fps, sizeof fps, "commands|%s", h.id);
    uint32_t fp = api_fp(fps);
    struct api_cursor cur;
    bool has;
    if (apii_cursor(q, 'c', fp, &cur, &has) < 0)
        return;
    struct cwalk w = {0};
    api_page_begin(&w.pg, limit);
    hbuf_init(&w.row, API_ROW_MAX);
    int rc = apist_host_commands(&q->a->st, h.id, has ? (cur.n > 0 ? cur.n : 1) : 0, limit + 1,
                                 cmd_row_cb, &w);
    if (rc < 0 || w.err) {
        api_store_fail(q, "list commands");
    } else {
        struct api_cursor next = {.list = 'c', .fp = fp, .n = w.last_id};
        char c[API_CURSOR_MAX];
        bool more = w.more && w.pg.n > 0 && api_cursor_encode(&next, c) == 0;
        api_page_end(&w.pg, more ? c : NULL);
        api_json(q, 200, &w.pg.body);
    }
    api_page_free(&w.pg);
    hbuf_free(&w.row);
}

void api_command_get(struct api_call *q)
{
    static const char *const allowed[] = {NULL};
    if (apii_params(q, allowed) < 0)
        return;
    const char *id = http_param(&q->p, "id");
    struct cmd_row c;
    int rc = cmd_id_valid(id) ? cmdstore_get(&q->a->st, id, &c) : MAMORI_ENOENT;
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read the command");
        return;
    }
    struct host_row h;
    int hrc = rc == 0 ? apist_host_get(&q->a->st, c.host_id, &h) : MAMORI_ENOENT;
    if (hrc == MAMORI_EIO) {
        api_store_fail(q, "read host");
        return;
    }
    if (rc < 0 || hrc < 0 || !api_in_scope(&q->who, h.site_id)) {
        api_fail(q, 404, "not_found", "no command '%.64s'", id);
        return;
    }
    command_answer(q, 200, &c);
}
