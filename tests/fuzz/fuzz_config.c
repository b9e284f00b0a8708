/* fuzz_config.c - libFuzzer target: YAML configuration parsing (ytree +
 * config schema). Any input must give either a configuration or an error
 * message naming a position; never a crash, a leak or unbounded memory. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mamori_config *c = malloc(sizeof *c);
    if (!c)
        return 0;
    char err[512];
    config_defaults(c);
    err[0] = '\0';
    int rc = config_parse(c, "fuzz.yaml", (const char *)data, size, err, sizeof err);
    if (rc < 0 && strncmp(err, "fuzz.yaml:", 10) != 0)
        abort(); /* every rejection names the file and a position */
    free(c);
    return 0;
}
