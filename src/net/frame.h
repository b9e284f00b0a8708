/* frame.h - mamori's wire frames between agent and server.
 *
 * Bytes enter from a TLS stream (net/conn.c) and leave as struct frame
 * values pointing into the caller's buffer; frames to send are built with
 * frame_header_encode + a JSON body. One frame on the wire:
 *
 *   offset 0  u32 big-endian  body length in bytes (0 .. max_body)
 *   offset 4  u16 big-endian  type (enum frame_type)
 *   offset 6  u16             reserved, must be 0
 *   offset 8  body            one UTF-8 JSON object, `length` bytes
 *
 * Bounds: a body is at most FRAME_MAX bytes (1 MiB) from a peer with a client
 * certificate and FRAME_MAX_ENROLL bytes (64 KiB) before one (enrollment).
 * A header naming a longer body, an unknown type or a reserved field that is
 * not zero is malformed: the receiver drops the connection with the reason
 * frame_parse gives. The parser never reads past the length it is given. */
#ifndef MAMORI_NET_FRAME_H
#define MAMORI_NET_FRAME_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR 8u
#define FRAME_MAX (1u << 20)         /* body bytes, certified peer */
#define FRAME_MAX_ENROLL (64u << 10) /* body bytes, peer without a certificate */
#define FRAME_PROTO 1                /* protocol version sent in HELLO / ENROLL */
#define FRAME_JSON_DEPTH 16
/* An EVENTS frame carries 1 .. FRAME_EVENTS_MAX events with consecutive
 * sequence numbers from first_seq, in at most FRAME_EVENTS_BYTES of body
 * (the agent's bound; the receiver checks FRAME_MAX and the count). */
#define FRAME_EVENTS_MAX 1024
#define FRAME_EVENTS_BYTES (512u << 10)

enum frame_type {
    FRAME_HELLO = 1,         /* agent -> server: first frame of a certified session */
    FRAME_WELCOME = 2,       /* server -> agent: host id, site, heartbeat interval */
    FRAME_HEARTBEAT = 3,     /* agent -> server: I am alive */
    FRAME_HEARTBEAT_ACK = 4, /* server -> agent: seen */
    FRAME_ENROLL = 5,        /* agent -> server (no certificate): token + CSR */
    FRAME_ENROLL_OK = 6,     /* server -> agent: certificate, CA, host id, site */
    FRAME_ERROR = 7,         /* either way: code + reason; the sender then closes */
    FRAME_ALERT = 8,         /* agent -> server: one spooled alert, with its sequence number */
    FRAME_ALERT_ACK = 9,     /* server -> agent: every alert up to seq is stored */
    FRAME_COMMAND = 10,      /* server -> agent: a response command (id, action, argument) */
    FRAME_RESULT = 11,       /* agent -> server: a command's outcome (id, ok/failed, message) */
    FRAME_EVENTS = 12,       /* agent -> server: {"first_seq":N,"events":[{...},...]}, seqs N.. */
    FRAME_EVENTS_ACK = 13,   /* server -> agent: {"seq":N} every event up to N is stored */
    FRAME_RENEW = 14,        /* agent -> server (after WELCOME): {"csr"} for a new key pair */
    FRAME_RENEW_OK = 15,     /* server -> agent: {"cert"} the new certificate, same host id */
    FRAME_TYPE_MAX = 15,
};

struct frame {
    uint16_t type;
    uint32_t len;        /* body bytes */
    const uint8_t *body; /* points into the parsed buffer; not NUL-terminated */
};

/* Look for one frame at the start of buf[0..len). Returns 1 with *f and
 * *used (header + body bytes) set when a whole frame is there, 0 when more
 * bytes are needed (*need, if not NULL, is the total the frame will take once
 * its header is known, else FRAME_HDR), or MAMORI_EINVAL with *why set to a
 * static English reason for a malformed header. */
int frame_parse(const uint8_t *buf, size_t len, size_t max_body, struct frame *f, size_t *used,
                size_t *need, const char **why);

void frame_header_encode(uint8_t hdr[FRAME_HDR], uint16_t type, uint32_t len);

/* Decode a frame's body (json-c, strict, nesting depth at most
 * FRAME_JSON_DEPTH): one JSON object and nothing after it. Returns the
 * object (caller json_object_put's it) or NULL with *why set (static text). */
struct json_object *frame_body_json(const struct frame *f, const char **why);

/* A string member of obj, no longer than maxlen bytes and without NUL,
 * else NULL. */
const char *frame_str(struct json_object *obj, const char *key, size_t maxlen);
/* An integer member of obj into *out; false if missing or not an integer. */
bool frame_int(struct json_object *obj, const char *key, int64_t *out);

/* "HELLO", "HEARTBEAT", ... or "unknown". */
const char *frame_type_name(unsigned type);

#endif
