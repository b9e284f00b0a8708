/* frame.c - parse and build wire frame headers, decode JSON bodies (see
 * frame.h for the format). Pure functions over caller buffers: bytes in,
 * struct frame / json-c objects out; no I/O. */
#include "net/frame.h"

#include <assert.h>
#include <string.h>

#include "core/err.h"

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

int frame_parse(const uint8_t *buf, size_t len, size_t max_body, struct frame *f, size_t *used,
                size_t *need, const char **why)
{
    if (need)
        *need = FRAME_HDR;
    if (len < FRAME_HDR)
        return 0;
    uint32_t blen = get_be32(buf);
    uint16_t type = get_be16(buf + 4);
    uint16_t reserved = get_be16(buf + 6);
    if (type == 0 || type > FRAME_TYPE_MAX) {
        *why = "unknown frame type";
        return MAMORI_EINVAL;
    }
    if (reserved != 0) {
        *why = "reserved header field is not zero";
        return MAMORI_EINVAL;
    }
    if (blen > max_body) {
        *why = "frame longer than the maximum";
        return MAMORI_EINVAL;
    }
    size_t total = FRAME_HDR + (size_t)blen;
    if (need)
        *need = total;
    if (len < total)
        return 0;
    f->type = type;
    f->len = blen;
    f->body = buf + FRAME_HDR;
    *used = total;
    return 1;
}

void frame_header_encode(uint8_t hdr[FRAME_HDR], uint16_t type, uint32_t len)
{
    hdr[0] = (uint8_t)(len >> 24);
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
    hdr[4] = (uint8_t)(type >> 8);
    hdr[5] = (uint8_t)type;
    hdr[6] = 0;
    hdr[7] = 0;
}

struct json_object *frame_body_json(const struct frame *f, const char **why)
{
    if (f->len == 0) {
        *why = "empty frame body (a JSON object is required)";
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(FRAME_JSON_DEPTH);
    if (!tok) {
        *why = "out of memory";
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *j = json_tokener_parse_ex(tok, (const char *)f->body, (int)f->len);
    bool whole = json_tokener_get_error(tok) == json_tokener_success &&
                 json_tokener_get_parse_end(tok) == f->len;
    json_tokener_free(tok);
    if (!j || !whole) {
        json_object_put(j);
        *why = "frame body is not one valid JSON value";
        return NULL;
    }
    if (!json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        *why = "frame body is not a JSON object";
        return NULL;
    }
    return j;
}

const char *frame_str(struct json_object *obj, const char *key, size_t maxlen)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n > maxlen || strlen(s) != n) /* an embedded NUL would cut the string short */
        return NULL;
    return s;
}

bool frame_int(struct json_object *obj, const char *key, int64_t *out)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

const char *frame_type_name(unsigned type)
{
    static const char *names[] = {NULL,      "HELLO",     "WELCOME", "HEARTBEAT",  "HEARTBEAT_ACK",
                                  "ENROLL",  "ENROLL_OK", "ERROR",   "ALERT",      "ALERT_ACK",
                                  "COMMAND", "RESULT",    "EVENTS",  "EVENTS_ACK", "RENEW",
                                  "RENEW_OK"};
    static_assert(sizeof names / sizeof names[0] == FRAME_TYPE_MAX + 1, "a name per type");
    return type >= 1 && type <= FRAME_TYPE_MAX ? names[type] : "unknown";
}
