/* fuzz_frame.c - libFuzzer target: the wire frame parser and body decoder.
 *
 * The input is a byte stream as a peer would send it: frames are taken off
 * its front one by one (bound: 64 KiB bodies if the first byte is even, as
 * before a client certificate, else 1 MiB), each body is decoded as JSON and
 * the members the server reads (token, csr, hostname, proto, seq) are
 * fetched, the token parsed. Any input must end in frames, "need more" or a
 * reason; never a crash, a leak, a read past the input or a frame longer
 * than the bound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"
#include "net/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max = size && (data[0] & 1) ? FRAME_MAX : FRAME_MAX_ENROLL;
    size_t off = 0;
    for (int n = 0; n < 1000; n++) {
        struct frame f;
        size_t used = 0, need = 0;
        const char *why = NULL;
        int r = frame_parse(data + off, size - off, max, &f, &used, &need, &why);
        if (r < 0) {
            if (!why)
                abort(); /* every rejection has a reason */
            break;
        }
        if (r == 0) {
            if (need <= size - off && need >= FRAME_HDR)
                abort(); /* "need more" while the bytes are there */
            break;
        }
        if (f.len > max || used != FRAME_HDR + f.len || used > size - off)
            abort();
        struct json_object *j = frame_body_json(&f, &why);
        if (j) {
            const char *tok = frame_str(j, "token", 256);
            uint8_t secret[32], pin[32];
            if (tok)
                (void)token_parse(tok, secret, pin);
            (void)frame_str(j, "csr", 16384);
            (void)frame_str(j, "hostname", 253);
            int64_t v;
            (void)frame_int(j, "proto", &v);
            (void)frame_int(j, "seq", &v);
            json_object_put(j);
        } else if (!why) {
            abort();
        }
        off += used;
    }
    return 0;
}
