/* fuzz_srvconf.c - libFuzzer target: the server's configuration file
 * (ytree + server/srvconf.c). Any input must give either a configuration
 * whose values are inside their documented bounds, or an error naming the
 * file and a position; never a crash, a leak or unbounded memory. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/events.h"
#include "server/srvconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_conf c;
    char err[512] = "";
    srvconf_defaults(&c);
    int rc = srvconf_parse(&c, "fuzz.yaml", (const char *)data, size, err, sizeof err);
    if (rc < 0 && strncmp(err, "fuzz.yaml:", 10) != 0)
        abort(); /* every rejection names the file and a position */
    if (rc == 0 && (c.queue_events < EV_MIN_QUEUE_ROWS || c.queue_bytes < EV_MIN_QUEUE_BYTES ||
                    c.batch_events < 1 || c.batch_events > c.queue_events ||
                    c.heartbeat_ms * 2 > c.offline_after_ms || c.max_conns < 1 ||
                    c.events_max_percent > 100 || c.retention_batch < 10 ||
                    memchr(c.listen, 0, sizeof c.listen) == NULL))
        abort(); /* an accepted file holds only values inside their bounds */
    return 0;
}
