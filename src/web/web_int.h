/* web_int.h - what the files of src/web share. Internal.
 *
 * Figures (docs/console.md):
 *   passwords  argon2id, t=3 passes, m=64 MiB, p=1, 16-byte salt, 32-byte hash,
 *              stored as the PHC string ($argon2id$v=19$m=65536,t=3,p=1$...)
 *   sessions   cookie value = 32 random bytes (base64url, 43 chars); the row's
 *              key is SHA-256 of those bytes; idle expiry 30 min, absolute 12 h;
 *              at most WEB_SESSIONS_PER_USER per user (the oldest go)
 *   CSRF       32 random bytes (base64url) per session, sent back in
 *              X-CSRF-Token on every non-GET request made with the cookie
 *   TOTP       optional per user: RFC 6238, HMAC-SHA1, 30 s, 6 digits, +-1 step
 *   login      WEB_USER_FAILS failures of one name, or WEB_IP_FAILS of one
 *              address, lock it for 30 s, doubling per further failure up to
 *              15 min; a quiet hour forgets; WEB_LIMIT_MAX entries in memory
 *              (the oldest failure goes first), users.failed_logins and
 *              users.locked_until keep a known user's count across restarts;
 *              a name or address has at most as many logins being checked
 *              as failures it has left before its lock (at least one)
 *   checking   the argon2id checks of logins run on WEB_PW_WORKERS threads,
 *              at most WEB_PW_SLOTS logins at once (running or waiting;
 *              more: 503 with Retry-After), so at most WEB_PW_WORKERS x
 *              64 MiB; the API thread answers each when its check is done */
#ifndef MAMORI_WEB_WEB_INT_H
#define MAMORI_WEB_WEB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"
#include "web/web.h"

#define WEB_ARGON_T 3
#define WEB_ARGON_M_KIB (64u * 1024)
#define WEB_ARGON_P 1
#define WEB_HASH_MAX 128
#define WEB_PASSWORD_MIN 8
#define WEB_PASSWORD_MAX 1024
#define WEB_USER_MAX 64
#define WEB_IDLE_MS (30LL * 60 * 1000)
#define WEB_ABSOLUTE_MS (12LL * 3600 * 1000)
#define WEB_TOUCH_MS 60000
#define WEB_SESSIONS_PER_USER 16
#define WEB_COOKIE "mamori_session"
#define WEB_TOKEN_LEN 43 /* base64url of 32 bytes */
#define WEB_USER_FAILS 5
#define WEB_IP_FAILS 20
#define WEB_LOCK_BASE_MS 30000
#define WEB_LOCK_MAX_MS (15LL * 60 * 1000)
#define WEB_FORGET_MS (3600LL * 1000)
#define WEB_LIMIT_MAX 4096
#define WEB_LIMIT_KEY 96
#define WEB_PW_WORKERS 2
#define WEB_PW_WORKERS_MAX 8
#define WEB_PW_SLOTS (WEB_PW_WORKERS + 16) /* the running ones and a queue of 16 */

/* ---- web_pw.c: argon2id ---- */
/* PHC string of password into out (WEB_HASH_MAX). 0 or MAMORI_E*. */
int web_pw_hash(const char *pw, size_t n, char out[WEB_HASH_MAX]);
/* true if pw matches the PHC string (false for a malformed one). */
bool web_pw_verify(const char *hash, const char *pw, size_t n);

/* ---- web_pwpool.c: password checks on worker threads ---- */
struct web_pwslot;
struct web_pwpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th[WEB_PW_WORKERS_MAX];
    int nworkers, nslots;
    struct web_pwslot *slot;
    uint64_t seq;
    bool stop, inited;
    void (*wake)(void *); /* called by a worker when a check is done */
    void *wake_arg;
};
/* Start `workers` threads for at most `slots` checks at once. 0 or
 * MAMORI_E* with err. */
int web_pwpool_start(struct web_pwpool *p, int workers, int slots, void (*wake)(void *),
                     void *arg, char *err, size_t errsz);
/* Stop: a running check ends first, waiting ones are dropped (and wiped). */
void web_pwpool_stop(struct web_pwpool *p);
/* Queue a check of pw against the PHC string hash (both copied): the
 * slot's index, or MAMORI_EFULL when every slot is taken. */
int web_pwpool_submit(struct web_pwpool *p, const char *hash, const char *pw, size_t n);
/* A finished check: its index with *ok (the slot is free again), or -1. */
int web_pwpool_done(struct web_pwpool *p, bool *ok);
/* Checks running or waiting or not yet collected. */
int web_pwpool_busy(struct web_pwpool *p);

/* ---- web_totp.c: RFC 6238 one-time codes (optional second factor) ---- */
#define WEB_TOTP_STEP 30
#define WEB_TOTP_B32 32 /* base32 of the 20-byte secret */
void web_b32_encode(const uint8_t *in, size_t n, char *out);
long web_b32_decode(const char *in, uint8_t *out, size_t outsz); /* bytes, or -1 */
/* The 6-digit code of a step (seconds / 30), or -1. */
int web_totp_code(const uint8_t *key, size_t keylen, uint64_t step);
/* Does code match the secret now (this step or one either side)? */
bool web_totp_check(const char *secret_b32, const char *code, int64_t now_ms);
int web_totp_new(char out[WEB_TOTP_B32 + 1]);

/* ---- web_cookie.c: the Cookie header ---- */
/* The value of cookie `name` in a Cookie header value: 1 found (copied to
 * out), 0 absent, -1 malformed, too long for out, or present twice. */
int web_cookie_find(const char *header, const char *name, char *out, size_t outsz);

/* ---- web_limit.c: failed logins in memory ---- */
struct web_limit_ent {
    char key[WEB_LIMIT_KEY];
    int fails;
    int64_t last_fail, locked_until;
};
struct web_limit {
    struct web_limit_ent *e; /* WEB_LIMIT_MAX */
    size_t n;
};
int web_limit_init(struct web_limit *l);
void web_limit_free(struct web_limit *l);
/* ms left of a lock on key, or 0. */
int64_t web_limit_locked(struct web_limit *l, const char *key, int64_t now);
/* Failures counted for key now (0 after a quiet WEB_FORGET_MS). */
int web_limit_fails(struct web_limit *l, const char *key, int64_t now);
/* One more failure; the lock it sets (0 while under `threshold`). */
int64_t web_limit_fail(struct web_limit *l, const char *key, int threshold, int64_t now);
void web_limit_clear(struct web_limit *l, const char *key);
/* The lock after `fails` failures with this threshold: 0 or ms. */
int64_t web_lock_ms(int fails, int threshold);

/* ---- web_store.c: users and sessions SQL ---- */
struct web_user {
    int64_t id, site_id, created, disabled, locked_until;
    int role; /* enum api_role */
    int failed_logins;
    char name[WEB_USER_MAX + 1];
    char site[SITE_NAME_MAX + 1];
    char hash[WEB_HASH_MAX];
    char totp[WEB_TOTP_B32 + 1]; /* base32 secret, or "" (no second factor) */
};
struct web_sess {
    uint8_t id[32];
    int64_t user_id, created, last_seen, expires;
    char csrf[WEB_TOKEN_LEN + 1];
    char ip[64], ua[256];
    struct web_user u; /* joined */
};
int webst_user_add(struct store *st, const struct web_user *u);
/* 0, MAMORI_ENOENT or MAMORI_EIO */
int webst_user_get(struct store *st, const char *name, struct web_user *out);
int webst_users_each(struct store *st, int (*fn)(void *, const struct web_user *), void *arg);
int webst_user_set_hash(struct store *st, const char *name, const char *hash);
int webst_user_disable(struct store *st, const char *name, int64_t now);
int webst_user_failed(struct store *st, int64_t id, int failed, int64_t locked_until);
/* Set (secret) or clear (NULL) a user's TOTP secret. */
int webst_user_set_totp(struct store *st, const char *name, const char *secret);
int webst_session_add(struct store *st, const struct web_sess *s);
int webst_session_get(struct store *st, const uint8_t id[32], struct web_sess *out);
int webst_session_touch(struct store *st, const uint8_t id[32], int64_t now);
int webst_session_del(struct store *st, const uint8_t id[32]);
int webst_sessions_del_user(struct store *st, int64_t user_id);
/* Delete expired sessions and all but the newest keep-1 of this user. */
int webst_sessions_prune(struct store *st, int64_t user_id, int keep, int64_t now);

/* ---- web_static.c ---- */
struct web_asset {
    const char *name;  /* "index.html", "app.js", "i18n/ja.json" */
    const char *ctype; /* Content-Type */
    const char *etag;  /* "\"<16 hex of SHA-256>\"" */
    const unsigned char *data;
    size_t len;
};
/* the generated table (build/<variant>/gen/web_assets.c) */
extern const struct web_asset web_assets[];
extern const size_t web_assets_n;
const struct web_asset *web_asset_find(const char *name);

/* A login waiting for its password check (web_session.c): the API
 * thread's, one per pool slot. */
struct web_pending {
    bool used;
    struct http_conn *conn; /* NULL once the client went away */
    bool known, has_old;
    int64_t started; /* wall ms of the request */
    uint8_t old[32]; /* the session the browser brought (deleted at login) */
    char name[WEB_USER_MAX + 1];
    char ip[64], ua[256], code[9];
    char ukey[WEB_LIMIT_KEY], ikey[WEB_LIMIT_KEY];
    struct web_user u;
};

struct web {
    char *dir; /* --web-dir, or NULL */
    struct web_limit lim;
    char dummy[WEB_HASH_MAX]; /* verified against for an unknown name: same cost */
    struct web_pwpool pool;   /* started by web_start */
    struct web_pending pend[WEB_PW_SLOTS];
};

#endif
