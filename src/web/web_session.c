/* web_session.c - logging in and out, and the session cookie as the API's
 * second way to authenticate (see web.h; figures in web_int.h).
 *
 * Login: POST /api/v1/session {name,password} (same-origin only) -> a new
 * random session (never one the browser brought: no fixation) in a
 * Secure, HttpOnly, SameSite=Strict cookie, and the session's CSRF token in
 * the answer. An unknown name, a disabled user and a wrong password get the
 * same answer after the same argon2id work (an unknown name is checked
 * against a dummy hash). Failures are counted per name and per source
 * address (web_limit.c, users.failed_logins); a locked name or address is
 * answered 429 with Retry-After, before any hashing, and so is one with as
 * many logins being checked as it has failures left. The check runs on a
 * worker (web_pwpool.c): the request's answer is deferred (http_defer)
 * and given by web_logins_finish when the API thread is woken; every slot
 * taken: 503 with Retry-After. Every login, failed login and logout is an
 * audit row (actor "user:ID(NAME)", or "login:NAME" for a failure). */
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "http/http_resp.h"
#include "http/http_server.h"
#include "net/token.h"
#include "web/web_int.h"

static void sha256(const uint8_t *in, size_t n, uint8_t out[32])
{
    unsigned len = 32;
    EVP_Digest(in, n, out, &len, EVP_sha256(), NULL);
}

/* The peer's address without its port ("127.0.0.1:5555", "[::1]:5555"). */
static void peer_ip(struct api_call *q, char *out, size_t outsz)
{
    const char *p = http_conn_peer(q->c);
    const char *colon = strrchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
        p++;
        n -= 2;
    }
    snprintf(out, outsz, "%.*s", (int)(n < outsz ? n : outsz - 1), p);
}

/* A state-changing request made with a cookie must come from our own
 * pages: Origin (or, without one, Referer) names https://<Host>. */
static bool same_origin(const struct http_req *r)
{
    const char *host = http_header(r, "Host");
    if (!host || http_header_count(r, "Origin") > 1 || http_header_count(r, "Referer") > 1)
        return false;
    char want[300];
    int n = snprintf(want, sizeof want, "https://%s", host);
    if (n <= 0 || (size_t)n >= sizeof want)
        return false;
    const char *o = http_header(r, "Origin");
    if (o)
        return !strcmp(o, want);
    const char *ref = http_header(r, "Referer");
    return ref && !strncmp(ref, want, (size_t)n) && ref[n] == '/';
}

static void audit(struct api_call *q, const char *actor, const char *action, const char *detail,
                  int64_t site_id)
{
    if (apist_audit_add(&q->a->st, q->now, actor, action, "console", detail, site_id) < 0)
        log_error("console: cannot write the audit record (%s): %s", action, q->a->st.err);
}

static void principal(struct api_principal *who, const struct web_sess *s)
{
    memset(who, 0, sizeof *who);
    who->role = (enum api_role)s->u.role;
    who->site_id = s->u.site_id;
    snprintf(who->site, sizeof who->site, "%s", s->u.site);
    snprintf(who->kind, sizeof who->kind, "user");
    snprintf(who->id, sizeof who->id, "%lld", (long long)s->u.id);
    snprintf(who->name, sizeof who->name, "%s", s->u.name);
    memcpy(who->session, s->id, 32);
}

/* The session named by the request's cookie: 1 none, 0 found (*id set),
 * -1 a malformed or doubled cookie. */
static int cookie_session(const struct http_req *r, uint8_t id[32])
{
    char v[WEB_TOKEN_LEN + 2];
    int found = 0;
    for (size_t i = 0; i < r->nh; i++) {
        if (strcasecmp(r->h[i].name, "Cookie") != 0)
            continue;
        int f = web_cookie_find(r->h[i].value, WEB_COOKIE, v, sizeof v);
        if (f < 0 || (f && found))
            return -1;
        found |= f;
    }
    if (!found)
        return 1;
    uint8_t raw[32];
    if (strlen(v) != WEB_TOKEN_LEN || b64url_decode(v, WEB_TOKEN_LEN, raw, sizeof raw) != 32)
        return -1;
    sha256(raw, sizeof raw, id);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

static bool alive(const struct web_sess *s, int64_t now)
{
    return !s->u.disabled && now < s->expires && now - s->last_seen < WEB_IDLE_MS;
}

bool web_session_alive(struct store *st, const unsigned char session[32], long long now)
{
    struct web_sess s;
    return webst_session_get(st, session, &s) == 0 && alive(&s, now);
}

int web_session_auth(struct web *w, struct api_call *q)
{
    (void)w;
    uint8_t id[32];
    int c = cookie_session(q->r, id);
    if (c == 1)
        return 1;
    if (c < 0) {
        api_fail(q, 401, "unauthorized", "the %s cookie is malformed: log in again", WEB_COOKIE);
        return -1;
    }
    struct web_sess s;
    int rc = webst_session_get(&q->a->st, id, &s);
    if (rc == MAMORI_EIO) {
        api_store_fail(q, "read the session");
        return -1;
    }
    if (rc < 0 || !alive(&s, q->now)) {
        if (rc == 0)
            webst_session_del(&q->a->st, id);
        api_fail(q, 401, "unauthorized", "no such session (expired or logged out): log in again");
        return -1;
    }
    principal(&q->who, &s);
    if (q->r->method != HM_GET && q->r->method != HM_HEAD) {
        const char *t = http_header(q->r, "X-CSRF-Token");
        if (!t || http_header_count(q->r, "X-CSRF-Token") != 1 || strlen(t) != WEB_TOKEN_LEN ||
            CRYPTO_memcmp(t, s.csrf, WEB_TOKEN_LEN) != 0) {
            api_fail(q, 403, "csrf",
                     "a request made with the session cookie needs the session's "
                     "X-CSRF-Token header");
            return -1;
        }
        if (!same_origin(q->r)) {
            api_fail(q, 403, "origin", "Origin (or Referer) must be this server's own address");
            return -1;
        }
    }
    if (q->now - s.last_seen >= WEB_TOUCH_MS)
        webst_session_touch(&q->a->st, id, q->now); /* best effort */
    return 0;
}

/* ------------------------------------------------------------- login -- */

static json_object *body_object(struct api_call *q)
{
    size_t n = q->r->content_length;
    if (n > 4096) {
        api_fail(q, 413, "too_large", "a login body is at most 4096 bytes");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(4);
    json_object *j = tok && n ? json_tokener_parse_ex(tok, q->body, (int)n) : NULL;
    bool whole = tok && j && json_tokener_get_error(tok) == json_tokener_success &&
                 json_tokener_get_parse_end(tok) == n;
    json_tokener_free(tok);
    if (!whole || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        api_fail(q, 400, "bad_body", "the body must be one JSON object {\"name\",\"password\"}");
        return NULL;
    }
    return j;
}

static const char *member(json_object *j, const char *k, size_t *len)
{
    json_object *v;
    if (!json_object_object_get_ex(j, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* 429 (locked, or too many logins of this name or address being checked)
 * or 503 (every check slot taken), with Retry-After. */
static void retry_after(struct api_call *q, int status, const char *code, int64_t ms,
                        const char *why)
{
    long s = (long)((ms + 999) / 1000);
    char extra[64], msg[200];
    snprintf(extra, sizeof extra, "Retry-After: %ld\r\n", s);
    snprintf(msg, sizeof msg, "%s: try again in %ld s", why, s);
    q->status = status;
    snprintf(q->why, sizeof q->why, "%s", msg);
    struct hbuf b;
    hbuf_init(&b, 4096);
    http_json_error(&b, code, msg);
    http_reply(q->c, status, HTTP_JSON, b.p ? b.p : "", b.len, extra);
    hbuf_free(&b);
}

static int make_session(struct api_call *q, const struct web_user *u, const struct web_pending *p,
                        char cookie[WEB_TOKEN_LEN + 1], struct web_sess *s)
{
    uint8_t raw[32], csrf[32];
    if (RAND_bytes(raw, sizeof raw) != 1 || RAND_bytes(csrf, sizeof csrf) != 1)
        return MAMORI_EIO;
    memset(s, 0, sizeof *s);
    b64url_encode(raw, sizeof raw, cookie);
    sha256(raw, sizeof raw, s->id);
    OPENSSL_cleanse(raw, sizeof raw);
    b64url_encode(csrf, sizeof csrf, s->csrf);
    s->user_id = u->id;
    s->created = s->last_seen = q->now;
    s->expires = q->now + WEB_ABSOLUTE_MS;
    snprintf(s->ip, sizeof s->ip, "%s", p->ip);
    snprintf(s->ua, sizeof s->ua, "%s", p->ua);
    s->u = *u;
    struct store *st = &q->a->st;
    if (store_begin(st) < 0)
        return MAMORI_EIO;
    if ((p->has_old && webst_session_del(st, p->old) < 0) ||
        webst_sessions_prune(st, u->id, WEB_SESSIONS_PER_USER - 1, q->now) < 0 ||
        webst_session_add(st, s) < 0 || webst_user_failed(st, u->id, 0, 0) < 0 ||
        store_commit(st) < 0) {
        store_rollback(st);
        return MAMORI_EIO;
    }
    return 0;
}

static void session_json(struct api_call *q, const struct api_principal *who, const char *csrf,
                         int64_t expires, int status, const char *extra)
{
    char buf[1024];
    struct jw jw;
    jw_init(&jw, buf, sizeof buf);
    jw_obj_begin(&jw);
    jw_str(&jw, "kind", who->kind);
    jw_str(&jw, "name", who->name);
    jw_str(&jw, "role", api_role_name(who->role));
    if (who->site_id)
        jw_str(&jw, "site", who->site);
    if (csrf)
        jw_str(&jw, "csrf_token", csrf);
    if (expires) {
        jw_int(&jw, "expires_ms", expires);
        jw_int(&jw, "idle_timeout_ms", WEB_IDLE_MS);
    }
    jw_obj_end(&jw);
    long n = jw_finish(&jw);
    q->status = status;
    http_reply(q->c, status, HTTP_JSON, buf, n < 0 ? 0 : (size_t)n, extra);
}

/* Logins of this key (u:NAME or ip:ADDR) waiting for their check. */
static int checking(const struct web *w, const char *key)
{
    int n = 0;
    for (int i = 0; i < WEB_PW_SLOTS; i++)
        n += w->pend[i].used && (!strcmp(w->pend[i].ukey, key) || !strcmp(w->pend[i].ikey, key));
    return n;
}

/* May another login of this key be checked now? Not more at once than the
 * failures it has left before its lock (at least one): concurrent guesses
 * cannot pass the limit. */
static bool may_check(struct web *w, const char *key, int threshold, int64_t now)
{
    int left = threshold - web_limit_fails(&w->lim, key, now);
    return checking(w, key) < (left > 1 ? left : 1);
}

void web_login(struct web *w, struct api_call *q)
{
    if (!same_origin(q->r)) {
        api_fail(q, 403, "origin", "log in from this server's own page (Origin must match)");
        return;
    }
    json_object *j = body_object(q);
    if (!j)
        return;
    size_t nl = 0, pl = 0;
    const char *jname = member(j, "name", &nl), *jpw = member(j, "password", &pl);
    size_t tl = 0;
    const char *jcode = member(j, "totp", &tl);
    bool has_code = json_object_object_get_ex(j, "totp", NULL);
    if (!jname || !jpw || nl < 1 || nl > WEB_USER_MAX || strlen(jname) != nl || pl < 1 ||
        pl > WEB_PASSWORD_MAX || (has_code && (!jcode || tl > 8)) ||
        json_object_object_length(j) != 2 + has_code) {
        json_object_put(j);
        api_fail(q, 400, "bad_body",
                 "the body must be {\"name\":\"...\",\"password\":\"...\"} "
                 "(name 1-64 bytes, password 1-1024; \"totp\": the one-time code of a "
                 "user who has one)");
        return;
    }
    /* copies: the JSON tree goes now, whatever path the login takes */
    struct web_pending p = {.used = true, .conn = q->c, .started = q->now};
    char pw[WEB_PASSWORD_MAX];
    memcpy(p.name, jname, nl + 1);
    if (jcode)
        memcpy(p.code, jcode, tl + 1);
    memcpy(pw, jpw, pl);
    json_object_put(j);
    peer_ip(q, p.ip, sizeof p.ip);
    snprintf(p.ukey, sizeof p.ukey, "u:%s", p.name);
    snprintf(p.ikey, sizeof p.ikey, "ip:%s", p.ip);
    const char *ua = http_header(q->r, "User-Agent");
    snprintf(p.ua, sizeof p.ua, "%s", ua ? ua : "");
    p.has_old = cookie_session(q->r, p.old) == 0;
    /* the limits, before any hashing */
    int64_t lock = web_limit_locked(&w->lim, p.ukey, q->now);
    int64_t il = web_limit_locked(&w->lim, p.ikey, q->now);
    int rc = lock || il ? 0 : webst_user_get(&q->a->st, p.name, &p.u);
    p.known = rc == 0 && !lock && !il;
    if (!lock && !il && p.known && p.u.locked_until > q->now)
        lock = p.u.locked_until - q->now;
    if (lock || il) {
        OPENSSL_cleanse(pw, sizeof pw);
        retry_after(q, 429, "locked", lock > il ? lock : il, "too many failed logins");
        return;
    }
    if (rc == MAMORI_EIO) {
        OPENSSL_cleanse(pw, sizeof pw);
        api_store_fail(q, "read the user");
        return;
    }
    if (!may_check(w, p.ukey, WEB_USER_FAILS, q->now) ||
        !may_check(w, p.ikey, WEB_IP_FAILS, q->now)) {
        OPENSSL_cleanse(pw, sizeof pw);
        retry_after(q, 429, "locked", 1000, "too many logins of this name or address at once");
        return;
    }
    /* the check (argon2id) on a worker; an unknown name against the dummy
     * hash: the same work and the same answer as a wrong password */
    int slot = w->pool.inited ? web_pwpool_submit(&w->pool, p.known ? p.u.hash : w->dummy, pw, pl)
                              : MAMORI_EFULL;
    OPENSSL_cleanse(pw, sizeof pw);
    if (slot < 0) {
        log_warn("console: login as '%.64s' from %s refused: %d logins are being checked", p.name,
                 p.ip, WEB_PW_SLOTS);
        retry_after(q, 503, "busy", 1000, "too many logins are being checked");
        return;
    }
    w->pend[slot] = p;
    OPENSSL_cleanse(&p, sizeof p);
    if (http_defer(q->c, &w->pend[slot]) < 0) { /* cannot happen: a fresh request */
        w->pend[slot].conn = NULL;
        api_fail(q, 500, "internal", "cannot wait for the password check");
    }
}

/* The rest of a login once its password was checked (API thread). */
static void login_done(struct web *w, struct api *a, struct web_pending *p, bool pw_ok)
{
    struct api_call call = {.a = a, .c = p->conn, .now = api_wall_ms()}, *q = &call;
    /* the user as it is now (a failure meanwhile, a disabled account, a new
     * password): the check counts only against the hash it was made with */
    struct web_user u;
    int rc = p->known ? webst_user_get(&a->st, p->name, &u) : MAMORI_ENOENT;
    if (rc == MAMORI_EIO) {
        log_error("console: login as '%.64s': %s", p->name, a->st.err);
        if (q->c)
            api_store_fail(q, "read the user");
        return;
    }
    bool known = rc == 0;
    bool ok = pw_ok && known && !u.disabled && !strcmp(u.hash, p->u.hash);
    /* a second factor, when the user has one: a wrong or missing code is a
     * failed login like a wrong password, with the same answer */
    if (ok && u.totp[0] && !web_totp_check(u.totp, p->code, q->now))
        ok = false;
    if (!ok) {
        int64_t l1 = web_limit_fail(&w->lim, p->ukey, WEB_USER_FAILS, q->now);
        web_limit_fail(&w->lim, p->ikey, WEB_IP_FAILS, q->now);
        char detail[160], actor[WEB_USER_MAX + 16];
        snprintf(detail, sizeof detail, "failed login from %s%s", p->ip, l1 ? "; name locked" : "");
        snprintf(actor, sizeof actor, "login:%s", p->name);
        if (known) {
            int f = u.failed_logins + 1;
            int64_t dl = web_lock_ms(f, WEB_USER_FAILS);
            webst_user_failed(&a->st, u.id, f, dl ? q->now + dl : 0);
        }
        audit(q, actor, "login_failed", detail, known ? u.site_id : 0);
        log_info("console: failed login as '%.64s' from %s", p->name, p->ip);
        if (q->c)
            api_fail(q, 401, "unauthorized", "wrong name or password (or one-time code)");
        return;
    }
    web_limit_clear(&w->lim, p->ukey);
    if (!q->c) {
        log_info("console: login as '%.64s' from %s not completed: the client closed the "
                 "connection while its password was checked",
                 p->name, p->ip);
        return;
    }
    char cookie[WEB_TOKEN_LEN + 1];
    struct web_sess s;
    if (make_session(q, &u, p, cookie, &s) < 0) {
        api_store_fail(q, "start the session");
        return;
    }
    principal(&q->who, &s);
    char who[WEB_USER_MAX + 40], detail[120];
    api_actor(&q->who, who, sizeof who);
    snprintf(detail, sizeof detail, "login from %s", p->ip);
    audit(q, who, "login", detail, u.site_id);
    char extra[200];
    snprintf(extra, sizeof extra,
             "Set-Cookie: %s=%s; Secure; HttpOnly; SameSite=Strict; Path=/\r\n", WEB_COOKIE,
             cookie);
    OPENSSL_cleanse(cookie, sizeof cookie);
    session_json(q, &q->who, s.csrf, s.expires, 201, extra);
    log_debug("console: login as '%.64s' answered after %lld ms", p->name,
              (long long)(q->now - p->started));
}

void web_logins_finish(struct web *w, struct api *a)
{
    int i;
    bool ok;
    while ((i = web_pwpool_done(&w->pool, &ok)) >= 0) {
        if (w->pend[i].used)
            login_done(w, a, &w->pend[i], ok);
        OPENSSL_cleanse(&w->pend[i], sizeof w->pend[i]);
    }
}

void web_conn_closed(struct web *w, struct http_conn *c)
{
    for (int i = 0; w && i < WEB_PW_SLOTS; i++)
        if (w->pend[i].used && w->pend[i].conn == c)
            w->pend[i].conn = NULL;
}

void web_session_get(struct web *w, struct api_call *q)
{
    (void)w;
    if (strcmp(q->who.kind, "user") != 0) {
        session_json(q, &q->who, NULL, 0, 200, NULL);
        return;
    }
    struct web_sess s;
    if (webst_session_get(&q->a->st, q->who.session, &s) < 0) {
        api_fail(q, 401, "unauthorized", "no such session: log in again");
        return;
    }
    session_json(q, &q->who, s.csrf, s.expires, 200, NULL);
}

void web_logout(struct web *w, struct api_call *q)
{
    (void)w;
    if (strcmp(q->who.kind, "user") != 0) {
        api_fail(q, 400, "no_session", "an API token has no session to end");
        return;
    }
    if (webst_session_del(&q->a->st, q->who.session) < 0) {
        api_store_fail(q, "delete the session");
        return;
    }
    char who[WEB_USER_MAX + 40];
    api_actor(&q->who, who, sizeof who);
    audit(q, who, "logout", "logout", q->who.site_id);
    q->audited = true;
    q->status = 204;
    http_reply(q->c, 204, NULL, "", 0,
               "Set-Cookie: " WEB_COOKIE "=; Secure; HttpOnly; SameSite=Strict; Path=/; "
               "Max-Age=0\r\n");
}

/* ------------------------------------------------------------ context -- */

int web_new(struct web **out, const char *web_dir, char *err, size_t errsz)
{
    struct web *w = calloc(1, sizeof *w);
    if (!w || web_limit_init(&w->lim) < 0) {
        free(w);
        snprintf(err, errsz, "console: out of memory");
        return MAMORI_ENOMEM;
    }
    if (web_dir && !(w->dir = strdup(web_dir))) {
        web_free(w);
        snprintf(err, errsz, "console: out of memory");
        return MAMORI_ENOMEM;
    }
    uint8_t junk[24];
    char pw[40];
    RAND_bytes(junk, sizeof junk);
    b64url_encode(junk, sizeof junk, pw);
    if (web_pw_hash(pw, strlen(pw), w->dummy) < 0) {
        web_free(w);
        snprintf(err, errsz, "console: cannot make the dummy argon2id hash (64 MiB)");
        return MAMORI_ENOMEM;
    }
    *out = w;
    return 0;
}

static void wake(void *hs)
{
    http_server_wake(hs);
}

int web_start(struct web *w, struct http_server *hs, char *err, size_t errsz)
{
    return web_pwpool_start(&w->pool, WEB_PW_WORKERS, WEB_PW_SLOTS, wake, hs, err, errsz);
}

void web_stop(struct web *w)
{
    if (w)
        web_pwpool_stop(&w->pool);
}

void web_free(struct web *w)
{
    if (!w)
        return;
    web_pwpool_stop(&w->pool);
    OPENSSL_cleanse(w->pend, sizeof w->pend);
    web_limit_free(&w->lim);
    free(w->dir);
    free(w);
}
