/* test_web.c - the console's pieces without a server: the Cookie header
 * parser (found, absent, quoted, doubled, too long, control characters),
 * the login limiter (threshold, doubling, cap, bound and eviction, forget),
 * argon2id hashes (round trip, wrong password, malformed strings, the PHC
 * parameters) with the time one check takes, the pool that runs checks
 * on worker threads (results, the bound, wake-ups, stop with checks
 * waiting), TOTP (RFC 6238 vectors,
 * base32, the +-1 step window), and the users/sessions SQL on
 * a real store (add, duplicate, sessions, prune, disable). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api_auth.h"
#include "core/err.h"
#include "web/web_int.h"

static void test_cookie(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(web_cookie_find("a=1; mamori_session=xyz; b=2", "mamori_session", v, sizeof v),
                     1);
    assert_string_equal(v, "xyz");
    assert_int_equal(web_cookie_find("mamori_session=\"q\"", "mamori_session", v, sizeof v), 1);
    assert_string_equal(v, "q");
    assert_int_equal(
        web_cookie_find("x_mamori_session=1; mamori_sessionx=2", "mamori_session", v, sizeof v), 0);
    assert_int_equal(web_cookie_find("", "mamori_session", v, sizeof v), 0);
    assert_int_equal(web_cookie_find(NULL, "mamori_session", v, sizeof v), 0);
    assert_int_equal(
        web_cookie_find("mamori_session=1;mamori_session=2", "mamori_session", v, sizeof v), -1);
    assert_int_equal(web_cookie_find("mamori_session=1\x01", "mamori_session", v, sizeof v), -1);
    char longv[200] = "mamori_session=";
    memset(longv + 15, 'a', 150);
    assert_int_equal(web_cookie_find(longv, "mamori_session", v, sizeof v), -1);
    assert_int_equal(web_cookie_find(";;; =; mamori_session ; a", "mamori_session", v, sizeof v),
                     1);
    assert_string_equal(v, "");
}

static void test_limit(void **state)
{
    (void)state;
    struct web_limit l;
    assert_int_equal(web_limit_init(&l), 0);
    int64_t t = 1000000;
    for (int i = 1; i < WEB_USER_FAILS; i++)
        assert_int_equal(web_limit_fail(&l, "u:a", WEB_USER_FAILS, t), 0);
    assert_int_equal(web_limit_locked(&l, "u:a", t), 0);
    assert_int_equal(web_limit_fail(&l, "u:a", WEB_USER_FAILS, t), WEB_LOCK_BASE_MS);
    assert_int_equal(web_limit_locked(&l, "u:a", t + 1000), WEB_LOCK_BASE_MS - 1000);
    assert_int_equal(web_limit_fail(&l, "u:a", WEB_USER_FAILS, t), 2 * WEB_LOCK_BASE_MS);
    assert_int_equal(web_lock_ms(100, WEB_USER_FAILS), WEB_LOCK_MAX_MS);
    assert_int_equal(web_limit_locked(&l, "u:b", t), 0);
    /* a quiet hour after the lock ends forgets */
    assert_int_equal(web_limit_fail(&l, "u:a", WEB_USER_FAILS, t + WEB_FORGET_MS + 120000), 0);
    web_limit_clear(&l, "u:a");
    assert_int_equal(web_limit_locked(&l, "u:a", t), 0);
    /* the bound: the oldest failure is evicted, never more than WEB_LIMIT_MAX */
    char k[32];
    for (int i = 0; i < WEB_LIMIT_MAX + 10; i++) {
        snprintf(k, sizeof k, "ip:%d", i);
        web_limit_fail(&l, k, 1, t + i);
    }
    assert_int_equal(l.n, WEB_LIMIT_MAX);
    assert_int_equal(web_limit_locked(&l, "ip:0", t + WEB_LIMIT_MAX + 10), 0);
    assert_true(web_limit_locked(&l, "ip:4100", t + WEB_LIMIT_MAX + 10) > 0);
    web_limit_free(&l);
}

static double secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_password(void **state)
{
    (void)state;
    char h[WEB_HASH_MAX], h2[WEB_HASH_MAX];
    double t0 = secs();
    assert_int_equal(web_pw_hash("correct horse", 13, h), 0);
    double t1 = secs();
    assert_true(!strncmp(h, "$argon2id$v=19$m=65536,t=3,p=1$", 31));
    assert_true(web_pw_verify(h, "correct horse", 13));
    double t2 = secs();
    assert_false(web_pw_verify(h, "correct horsf", 13));
    assert_false(web_pw_verify(h, "correct hors", 12));
    assert_int_equal(web_pw_hash("correct horse", 13, h2), 0);
    assert_string_not_equal(h, h2); /* salted */
    assert_false(web_pw_verify("$argon2i$v=19$m=65536,t=3,p=1$AAAA$AAAA", "x", 1));
    assert_false(web_pw_verify("", "x", 1));
    assert_false(web_pw_verify("$argon2id$garbage", "x", 1));
    printf("argon2id t=%d m=%u MiB p=%d: hash %.0f ms, verify %.0f ms (load %s)\n", WEB_ARGON_T,
           WEB_ARGON_M_KIB / 1024, WEB_ARGON_P, (t1 - t0) * 1000, (t2 - t1) * 1000,
           getenv("LOADAVG") ? getenv("LOADAVG") : "?");
}

/* The pool's worker calls this when a check is done: a byte on a pipe. */
static void pool_wake(void *arg)
{
    int fd = *(int *)arg;
    char c = 1;
    if (write(fd, &c, 1) != 1)
        fail_msg("wake: write failed");
}

static void test_pwpool(void **state)
{
    (void)state;
    struct web_pwpool p;
    char err[200], h[WEB_HASH_MAX];
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(web_pwpool_start(&p, 0, 3, pool_wake, &fds[1], err, sizeof err),
                     MAMORI_EINVAL);
    assert_int_equal(web_pw_hash("right", 5, h), 0);
    assert_int_equal(web_pwpool_start(&p, 1, 3, pool_wake, &fds[1], err, sizeof err), 0);
    /* three at once fill it: a fourth is refused, nothing is dropped */
    double t0 = secs();
    int right = web_pwpool_submit(&p, h, "right", 5);
    int wrong = web_pwpool_submit(&p, h, "wrong", 5);
    int junk = web_pwpool_submit(&p, "$argon2id$garbage", "x", 1);
    assert_true(right >= 0 && wrong >= 0 && junk >= 0);
    assert_true(right != wrong && wrong != junk && right != junk);
    assert_int_equal(web_pwpool_submit(&p, h, "right", 5), MAMORI_EFULL);
    assert_int_equal(web_pwpool_busy(&p), 3);
    bool got[3] = {0}, ok[3] = {0}, v;
    int n = 0, wakes = 0;
    while (n < 3 && secs() - t0 < 120) {
        char c;
        if (read(fds[0], &c, 1) == 1) /* blocks until a worker is done */
            wakes++;
        int i;
        while ((i = web_pwpool_done(&p, &v)) >= 0) {
            assert_true(i < 3 && !got[i]);
            got[i] = true;
            ok[i] = v;
            n++;
        }
    }
    assert_int_equal(n, 3);
    /* one wake-up per check (some may still be in the pipe) */
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    for (char c; read(fds[0], &c, 1) == 1;)
        wakes++;
    assert_int_equal(wakes, 3);
    assert_true(ok[right]);
    assert_false(ok[wrong]);
    assert_false(ok[junk]);
    assert_int_equal(web_pwpool_busy(&p), 0);
    assert_int_equal(web_pwpool_done(&p, &v), -1);
    printf("pool of 1 worker: 3 checks in %.0f ms\n", (secs() - t0) * 1000);
    /* slots are used again; a stop with checks waiting ends after the
     * running one at most (ASan: nothing leaks) */
    assert_true(web_pwpool_submit(&p, h, "right", 5) >= 0);
    assert_true(web_pwpool_submit(&p, h, "right", 5) >= 0);
    web_pwpool_stop(&p);
    web_pwpool_stop(&p); /* twice: nothing */
    close(fds[0]);
    close(fds[1]);
}

/* RFC 6238 appendix B, SHA-1 (the 8-digit values' last 6 digits) */
static void test_totp(void **state)
{
    (void)state;
    const uint8_t *key = (const uint8_t *)"12345678901234567890";
    static const struct {
        uint64_t t;
        int code;
    } v[] = {{59, 287082},       {1111111109, 81804},  {1111111111, 50471},
             {1234567890, 5924}, {2000000000, 279037}, {20000000000ULL, 353130}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        assert_int_equal(web_totp_code(key, 20, v[i].t / 30), v[i].code);
    char b32[WEB_TOTP_B32 + 1];
    web_b32_encode(key, 20, b32);
    assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    uint8_t back[32];
    assert_int_equal(web_b32_decode("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", back, sizeof back), 20);
    assert_memory_equal(back, key, 20);
    assert_int_equal(web_b32_decode("GEZ1", back, sizeof back), -1);
    assert_true(web_totp_check(b32, "287082", 59000));
    assert_true(web_totp_check(b32, "287082", 59000 + 30000)); /* one step late */
    assert_false(web_totp_check(b32, "287082", 59000 + 90000));
    assert_false(web_totp_check(b32, "287083", 59000));
    assert_false(web_totp_check(b32, "28708", 59000));
    assert_false(web_totp_check(b32, "2870822", 59000));
    assert_false(web_totp_check(b32, NULL, 59000));
    assert_false(web_totp_check("", "287082", 59000));
    assert_int_equal(web_totp_new(b32), 0);
    assert_int_equal(strlen(b32), WEB_TOTP_B32);
}

static void test_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/mamori-webtest.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    struct web_user u = {.role = ROLE_SITE_ADMIN, .created = 5};
    snprintf(u.name, sizeof u.name, "oscar");
    snprintf(u.hash, sizeof u.hash, "$argon2id$x");
    assert_int_equal(store_site_id(&st, "osaka", &u.site_id), 0);
    assert_int_equal(webst_user_add(&st, &u), 0);
    assert_int_equal(webst_user_add(&st, &u), MAMORI_EEXIST);
    struct web_user g;
    assert_int_equal(webst_user_get(&st, "oscar", &g), 0);
    assert_string_equal(g.site, "osaka");
    assert_int_equal(g.role, ROLE_SITE_ADMIN);
    assert_int_equal(webst_user_get(&st, "nobody", &g), MAMORI_ENOENT);
    struct web_sess s = {
        .user_id = g.id, .created = 1000, .last_seen = 1000, .expires = 1000 + WEB_ABSOLUTE_MS};
    for (int i = 0; i < 20; i++) {
        memset(s.id, i + 1, 32);
        s.created = 1000 + i;
        assert_int_equal(webst_session_add(&st, &s), 0);
    }
    assert_int_equal(webst_sessions_prune(&st, g.id, 3, 2000), 0);
    struct web_sess r;
    uint8_t id[32];
    memset(id, 20, 32);
    assert_int_equal(webst_session_get(&st, id, &r), 0); /* the newest stays */
    assert_string_equal(r.u.name, "oscar");
    memset(id, 1, 32);
    assert_int_equal(webst_session_get(&st, id, &r), MAMORI_ENOENT); /* the oldest went */
    /* idle ones go at the next prune */
    assert_int_equal(webst_sessions_prune(&st, g.id, 16, 1000 + WEB_IDLE_MS + 100), 0);
    memset(id, 20, 32);
    assert_int_equal(webst_session_get(&st, id, &r), MAMORI_ENOENT);
    assert_int_equal(webst_user_disable(&st, "oscar", 9), 0);
    assert_int_equal(webst_user_get(&st, "oscar", &g), 0);
    assert_int_equal(g.disabled, 9);
    assert_int_equal(webst_user_disable(&st, "nobody", 9), MAMORI_ENOENT);
    store_close(&st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie),   cmocka_unit_test(test_limit),
        cmocka_unit_test(test_password), cmocka_unit_test(test_totp),
        cmocka_unit_test(test_store),    cmocka_unit_test(test_pwpool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
