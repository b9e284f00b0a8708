/* fuzz_incident.c - libFuzzer target: the keys correlation reads from an
 * alert body (server/incident.c incident_keys). The input is split at its
 * first NUL into a kind and a body (JSON text as an agent may send it, or
 * not JSON at all). Any input must give NUL-terminated keys within their
 * bounds, never a crash, a leak or a read past the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/incident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    size_t k = strnlen(buf, size);
    const char *kind = buf, *body = k < size ? buf + k + 1 : NULL;
    struct incident_keys keys;
    incident_keys(kind, body, &keys);
    if (strnlen(keys.actor, sizeof keys.actor) == sizeof keys.actor ||
        strnlen(keys.cls, sizeof keys.cls) == sizeof keys.cls ||
        strnlen(keys.exe, sizeof keys.exe) == sizeof keys.exe || !keys.actor[0] || !keys.cls[0])
        abort();
    free(buf);
    return 0;
}
