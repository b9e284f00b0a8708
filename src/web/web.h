/* web.h - the web console of `mamori server` (docs/console.md): local users,
 * their sessions, the login limiter and the page's static files.
 *
 * The console runs inside the API's thread (src/api) on the same HTTPS
 * listener: api.c hands it the requests for "/", "/static/..." and
 * "/api/v1/session", and asks it, for every other API request that carries
 * no Authorization header, whether the session cookie names a live session
 * (web_session_auth). A session yields the same struct api_principal as an
 * API token (kind "user"), so every handler checks roles and site scope the
 * same way whichever logged in.
 *
 * Data enters as HTTP requests (cookie, CSRF header, Origin, JSON login
 * bodies) and rows of users/sessions in server.db; it leaves as answers
 * (Set-Cookie, JSON, embedded files), session and user rows, and audit rows
 * (login, failed login, logout, refusals). One struct web belongs to the
 * API thread; its password checks run on worker threads of its own
 * (web_pwpool.c), whose results the API thread collects when woken. */
#ifndef MAMORI_WEB_WEB_H
#define MAMORI_WEB_WEB_H

#include <stdbool.h>
#include <stddef.h>

struct web;
struct api;
struct api_call;
struct http_conn;
struct http_req;
struct http_server;

/* web_dir: NULL to serve the embedded files, or a directory whose files of
 * the same names are served instead (development). 0 or -1 with err. */
int web_new(struct web **out, const char *web_dir, char *err, size_t errsz);
/* Start the password-check workers; a finished check wakes hs's loop
 * (http_server_wake), whose on_wake calls web_logins_finish. 0 or -1. */
int web_start(struct web *w, struct http_server *hs, char *err, size_t errsz);
/* Stop the workers (a running check ends first); before hs goes. */
void web_stop(struct web *w);
void web_free(struct web *w); /* stops the workers first */

/* "/" or "/static/...": answer it (the file, 304 or 404) and return true. */
bool web_static(struct web *w, struct http_conn *c, const struct http_req *r);

/* POST /api/v1/session {name,password}: log in. The answer is deferred
 * (http_defer) while the password is checked on a worker thread. */
void web_login(struct web *w, struct api_call *q);
/* The logins whose check finished: answered (API thread, on_wake). */
void web_logins_finish(struct web *w, struct api *a);
/* A deferred login's connection closed: its answer is not given (its
 * failure still counts). */
void web_conn_closed(struct web *w, struct http_conn *c);
/* GET /api/v1/session: who is logged in (q->who set by web_session_auth). */
void web_session_get(struct web *w, struct api_call *q);
/* DELETE /api/v1/session: log out (the session row is deleted). */
void web_logout(struct web *w, struct api_call *q);

/* The session cookie of a request without an Authorization header:
 * 1 no cookie (the caller goes on with bearer tokens), 0 q->who is the
 * session's user (and for a non-GET request the CSRF header and the
 * Origin/Referer were right), -1 refused and answered (401 no such or an
 * expired session, 403 CSRF or origin). */
int web_session_auth(struct web *w, struct api_call *q);
/* Is the session behind this principal still alive? (event streams) */
struct store;
bool web_session_alive(struct store *st, const unsigned char session[32], long long now_ms);

#endif
