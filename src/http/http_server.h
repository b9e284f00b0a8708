/* http_server.h - an HTTPS/1.1 server loop: one thread, one epoll loop,
 * non-blocking TLS (OpenSSL), bounded connections.
 *
 * The owner hands over a listening socket and a TLS context; requests
 * enter as bytes on connections, are parsed (http_parse.h) and, once head
 * and body are complete, passed to on_request, which answers before it
 * returns with http_reply / http_reply_error, or turns the connection into
 * a stream (server-sent events) with http_stream_begin and feeds it later
 * with http_stream_send (from on_tick), or defers its answer with
 * http_defer and gives it later (from on_wake, after another thread's
 * http_server_wake: work that must not hold the loop). Responses leave as
 * bytes queued on the connection and written as the socket accepts them.
 * A refused request (malformed, oversized, too slow) gets its 4xx JSON
 * error and the connection is closed; every other connection is
 * unaffected.
 *
 * Bounds and deadlines (per connection unless said):
 *   max_conns open connections (further ones are closed at accept)
 *   request buffer   HTTP_HEAD_MAX + HTTP_BODY_MAX (16 KiB + 1 MiB)
 *   response buffer  HTTP_OUT_MAX (8 MiB); a stream's  HTTP_STREAM_OUT_MAX (256 KiB):
 *                    a stream client that falls that far behind is closed
 *   TLS handshake    HTTP_HANDSHAKE_MS (10 s)
 *   first request    HTTP_FIRST_MS (10 s) after the handshake; between
 *                    keep-alive requests HTTP_IDLE_MS (30 s)
 *   a request head   HTTP_HEAD_MS (10 s) from its first byte; the body
 *                    HTTP_BODY_MS (30 s) from the end of the head (408 after)
 *   writing          HTTP_STALL_MS (30 s) without progress closes
 *   a deferred answer no deadline: the owner bounds its work (the
 *                    connection reads nothing meanwhile; the client closing
 *                    it ends the wait: on_defer_close)
 * The loop ticks every HTTP_TICK_MS (250 ms): deadlines, then on_tick.
 * One struct http_server belongs to the thread that runs it; only
 * http_server_stop and http_server_wake may be called from another thread. */
#ifndef MAMORI_HTTP_HTTP_SERVER_H
#define MAMORI_HTTP_HTTP_SERVER_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_parse.h"

#define HTTP_OUT_MAX (8u << 20)
#define HTTP_STREAM_OUT_MAX (256u << 10)
#define HTTP_HANDSHAKE_MS 10000
#define HTTP_FIRST_MS 10000
#define HTTP_IDLE_MS 30000
#define HTTP_HEAD_MS 10000
#define HTTP_BODY_MS 30000
#define HTTP_STALL_MS 30000
#define HTTP_TICK_MS 250

struct http_conn;
struct http_server;

struct http_server_cfg {
    SSL_CTX *tls;       /* borrowed; outlives the server */
    int lfd;            /* non-blocking listening socket; owned (closed) by the server */
    unsigned max_conns; /* open connections at most */
    void *arg;          /* passed to the callbacks */
    /* A complete request; body has r->content_length bytes. Must answer. */
    void (*on_request)(void *arg, struct http_conn *c, const struct http_req *r, const char *body);
    void (*on_tick)(void *arg, uint64_t now_ms);
    /* A stream connection closed (its user pointer is still set). */
    void (*on_stream_close)(void *arg, struct http_conn *c);
    /* After http_server_wake (from any thread), in the loop's thread. */
    void (*on_wake)(void *arg);
    /* A connection whose answer was deferred closed before the answer
     * (its user pointer is still set): the answer must not be given. */
    void (*on_defer_close)(void *arg, struct http_conn *c);
};

int http_server_new(struct http_server **out, const struct http_server_cfg *cfg, char *err,
                    size_t errsz);
/* Serves until http_server_stop. Returns 0 or a negative MAMORI_E* code. */
int http_server_run(struct http_server *hs);
void http_server_stop(struct http_server *hs); /* any thread */
void http_server_wake(struct http_server *hs); /* any thread: on_wake soon */
void http_server_free(struct http_server *hs);
uint64_t http_mono_ms(void);

/* ---- for on_request (and streams) ---- */
/* Queue a whole response. extra: complete header lines or NULL. */
int http_reply(struct http_conn *c, int status, const char *ctype, const void *body, size_t len,
               const char *extra);
/* A JSON error {"error":{"code","message"}}. */
int http_reply_error(struct http_conn *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Send the head of an open-ended response and keep the connection as a
 * stream owned by `user` until it closes (on_stream_close). */
int http_stream_begin(struct http_conn *c, const char *ctype, void *user);
/* Queue bytes on a stream; MAMORI_EFULL if the client is too far behind
 * (the connection is then closed at the end of this loop turn). */
int http_stream_send(struct http_conn *c, const void *d, size_t n);
/* Close a stream at the end of this loop turn (on_stream_close follows). */
void http_stream_end(struct http_conn *c);
/* Answer this request later (from the loop's thread): on_request returns
 * without an answer; http_reply or http_reply_error on c gives it, and it
 * is written at the end of that loop turn. Until then c is owned by `user`
 * (http_conn_user), unless on_defer_close says it closed. */
int http_defer(struct http_conn *c, void *user);
/* Number of stream connections open. */
unsigned http_server_streams(const struct http_server *hs);
const char *http_conn_peer(const struct http_conn *c);
void *http_conn_user(const struct http_conn *c);

#endif
