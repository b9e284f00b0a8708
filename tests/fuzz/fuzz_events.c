/* fuzz_events.c - libFuzzer target: the EVENTS frame body as the server
 * reads it (net/frame.c's JSON decoding, then server/events.c's checks of
 * the body and of each event). The input is a frame body. Any input must
 * be refused with a reason or give 1..FRAME_EVENTS_MAX events, each with a
 * kind of at most EV_KIND_MAX bytes and text of the stated length; never a
 * crash, a leak or a read past the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"
#include "server/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FRAME_MAX)
        return 0;
    struct frame f = {.type = FRAME_EVENTS, .len = (uint32_t)size, .body = data};
    const char *why = NULL;
    struct json_object *body = frame_body_json(&f, &why);
    if (!body) {
        if (!why)
            abort();
        return 0;
    }
    uint64_t first = 0;
    struct json_object *arr = NULL;
    int n = events_frame_check(body, &first, &arr, &why);
    if (n < 0 && !why)
        abort();
    if (n == 0 || n > FRAME_EVENTS_MAX || (n > 0 && (first < 1 || !arr)))
        abort();
    for (int i = 0; i < n; i++) {
        int64_t t;
        char kind[EV_KIND_MAX + 1];
        const char *text;
        size_t len;
        const char *bad = events_item(json_object_array_get_idx(arr, (size_t)i), &t, kind, &text,
                                      &len);
        if (strlen(kind) > EV_KIND_MAX || strlen(text) != len || (!bad && t < 0) ||
            (bad && strcmp(kind, "invalid_event") != 0))
            abort();
    }
    json_object_put(body);
    return 0;
}
