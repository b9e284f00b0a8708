/* api_write.c - the POST endpoints: enrollment tokens for a site and host
 * revocation. A JSON body (at most HTTP_BODY_MAX, nesting 8) enters; each
 * change is one short transaction that also writes its audit row (actor,
 * action, target, site), so a change without its record cannot happen. The
 * running agent loop sees a revocation through data_version within a tick
 * and closes the host's connection. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "net/sock.h"
#include "net/token.h"
#include "server/enroll.h"

#define ENROLL_EXPIRES_DEFAULT_MS (24ull * 3600 * 1000)
#define ENROLL_EXPIRES_MAX_MS (365ull * 86400 * 1000)

/* The request body as a JSON object (an empty body is {}). NULL: answered. */
static json_object *body_object(struct api_call *q)
{
    size_t n = q->r->content_length;
    if (n == 0)
        return json_object_new_object();
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

/* Refuse members other than those allowed. */
static int body_keys(struct api_call *q, json_object *j, const char *const *allowed)
{
    json_object_object_foreach(j, key, val)
    {
        (void)val;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, key);
        if (!ok) {
            api_fail(q, 400, "bad_body", "unknown member '%.64s' in the request body", key);
            return -1;
        }
    }
    return 0;
}

static const char *body_str(json_object *j, const char *key, bool *bad)
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

/* --------------------------------------------------------------- tokens -- */

void api_token_create(struct api_call *q)
{
    static const char *const allowed[] = {"site", "expires", NULL};
    json_object *j = body_object(q);
    if (!j)
        return;
    bool bad = false;
    const char *site = body_str(j, "site", &bad), *exp = body_str(j, "expires", &bad);
    uint64_t exp_ms = ENROLL_EXPIRES_DEFAULT_MS;
    if (body_keys(q, j, allowed) < 0) {
        json_object_put(j);
        return;
    }
    if (bad) {
        api_fail(q, 400, "bad_body", "site and expires must be strings");
    } else if (!site && !q->who.site_id) {
        api_fail(q, 400, "bad_body", "site is required: the site the enrolled host will belong to");
    } else if (exp && (parse_duration_ms(exp, &exp_ms) < 0 || exp_ms < 1000 ||
                       exp_ms > ENROLL_EXPIRES_MAX_MS)) {
        api_fail(q, 400, "bad_body",
                 "expires must be a duration such as 30m, 24h or 7d, from 1s to 365d");
    } else if (site && !site_name_valid(site)) {
        api_fail(q, 400, "bad_body", "site must be 1-64 of A-Z a-z 0-9 . _ -");
    } else if (site && q->who.site_id && strcmp(site, q->who.site) != 0) {
        api_fail(q, 404, "not_found", "no site '%.64s'", site);
    }
    if (q->status) {
        json_object_put(j);
        return;
    }
    char name[SITE_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", site ? site : q->who.site);
    json_object_put(j);

    uint8_t secret[32];
    char tok[TOKEN_BUF], hash[65], actor[128], detail[160], when[40];
    int64_t site_id = 0, expires = q->now + (int64_t)exp_ms;
    if (token_make(q->a->ca_spki, secret, tok) < 0) {
        api_fail(q, 500, "internal", "no random bytes for a token");
        return;
    }
    token_hash_hex(secret, hash);
    api_fmt_time(expires, when, sizeof when);
    api_actor(&q->who, actor, sizeof actor);
    snprintf(detail, sizeof detail, "site=%s expires=%s", name, when);
    struct store *st = &q->a->st;
    if (store_begin(st) < 0 || store_site_id(st, name, &site_id) < 0 ||
        store_token_add(st, hash, site_id, q->now, expires) < 0 ||
        apist_audit_add(st, q->now, actor, "api_enroll_token", hash, detail, site_id) < 0 ||
        store_commit(st) < 0) {
        store_rollback(st);
        api_store_fail(q, "store the enrollment token");
        return;
    }
    q->audited = true;
    char cmd[TOKEN_BUF + sizeof q->a->agent_url + 64];
    snprintf(cmd, sizeof cmd, "mamori agent enroll --server %s --token %s", q->a->agent_url, tok);
    char buf[2048];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "token", tok);
    jw_str(&w, "site", name);
    jw_int(&w, "expires_ms", expires);
    jw_str(&w, "expires", when);
    jw_str(&w, "server", q->a->agent_url);
    jw_str(&w, "command", cmd);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    struct hbuf b;
    hbuf_init(&b, 8192);
    if (n > 0)
        hbuf_add(&b, buf, (size_t)n);
    hbuf_str(&b, "\n");
    api_json(q, 201, &b);
    hbuf_free(&b);
    log_info("API: %s made an enrollment token for site %s (until %s)", actor, name, when);
}

/* --------------------------------------------------------------- revoke -- */

static void host_answer(struct api_call *q, const struct host_row *h, bool changed)
{
    struct hbuf b;
    hbuf_init(&b, 64u << 10);
    hbuf_str(&b, "{\"host\":");
    api_host_json(&b, h);
    hbuf_printf(&b, ",\"changed\":%s}\n", changed ? "true" : "false");
    api_json(q, 200, &b);
    hbuf_free(&b);
}

void api_host_revoke(struct api_call *q)
{
    static const char *const allowed[] = {NULL};
    json_object *j = body_object(q);
    if (!j)
        return;
    int krc = body_keys(q, j, allowed);
    json_object_put(j);
    if (krc < 0)
        return;
    const char *id = http_param(&q->p, "id");
    struct store *st = &q->a->st;
    struct host_row h;
    int rc = apist_host_get(st, id, &h);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read host");
        return;
    }
    if (rc < 0 || !api_in_scope(&q->who, h.site_id)) {
        api_fail(q, 404, "not_found", "no host '%.64s'", id);
        return;
    }
    char actor[128];
    api_actor(&q->who, actor, sizeof actor);
    bool changed = h.status != HOST_REVOKED;
    if (store_begin(st) < 0 || (changed && store_host_revoke(st, h.id, q->now) < 0) ||
        apist_audit_add(st, q->now, actor, "api_revoke", h.id,
                        changed ? h.hostname : "already revoked", h.site_id) < 0 ||
        store_commit(st) < 0) {
        store_rollback(st);
        api_store_fail(q, "revoke host");
        return;
    }
    q->audited = true;
    if (changed)
        log_info("API: %s revoked host %s (%s, site %s)", actor, h.id, h.hostname, h.site);
    if (apist_host_get(st, id, &h) < 0) {
        api_store_fail(q, "read host");
        return;
    }
    host_answer(q, &h, changed);
}
