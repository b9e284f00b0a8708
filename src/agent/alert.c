/* alert.c - `mamori agent alert`: put one alert into the agent's spool
 * (DIR/spool); the running agent forwards it. The record is the alert as a
 * JSON object: {"time_ms", "kind", "severity", "summary"}. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/spool.h"
#include "core/err.h"
#include "core/json.h"

int64_t agent_alert(const char *dir, const char *kind, const char *severity, const char *summary,
                    uint64_t spool_max, char *err)
{
    char path[PATH_MAX], rec[SPOOL_REC_MAX];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct jw w;
    jw_init(&w, rec, sizeof rec);
    jw_obj_begin(&w);
    jw_int(&w, "time_ms", (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    jw_str(&w, "kind", kind);
    jw_str(&w, "severity", severity);
    jw_str(&w, "summary", summary);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    if (n < 0) {
        snprintf(err, AGENT_ERR_MAX, "alert longer than a spool record (%u bytes)", SPOOL_REC_MAX);
        return MAMORI_EINVAL;
    }
    snprintf(path, sizeof path, "%s/spool", dir);
    struct spool sp;
    int64_t rc = spool_open(&sp, path, spool_max, true);
    if (rc == 0)
        rc = spool_append(&sp, rec, (size_t)n);
    if (rc < 0)
        snprintf(err, AGENT_ERR_MAX, "%s", sp.err);
    return rc;
}
