/* event.c - `mamori agent event`: put events into the agent's event spool
 * (DIR/spool-events); the running agent forwards them in EVENTS frames.
 *
 * Input: JSON lines (one event object per line; blank lines skipped) from a
 * stream. Each line is checked to be one JSON object of at most
 * SPOOL_REC_MAX bytes (strict json-c); a line that is not is reported on
 * stderr with its line number and skipped. Valid lines are spooled as given,
 * byte for byte, in batches of EVENT_BATCH records (one lock, one sync per
 * batch). The event spool drops its oldest segment when its bound is hit
 * (agent/spool.h): appending never blocks and never fails for the bound. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/event.h"
#include "agent/spool.h"
#include "core/err.h"
#include "core/log.h"

#define EVENT_BATCH 1024
#define EVENT_LINE_MAX (SPOOL_REC_MAX + 2) /* a record plus its newline */

static bool is_object(const char *s, size_t n)
{
    struct json_tokener *tok = json_tokener_new_ex(16);
    if (!tok)
        return false;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *j = json_tokener_parse_ex(tok, s, (int)n);
    bool ok = j && json_tokener_get_error(tok) == json_tokener_success &&
              json_tokener_get_parse_end(tok) == n && json_object_is_type(j, json_type_object);
    json_object_put(j);
    json_tokener_free(tok);
    return ok;
}

static int flush(struct spool *sp, struct spool_rec *recs, char **bufs, size_t *n,
                 struct agent_event_stats *st, char *err)
{
    size_t done = 0;
    int64_t rc = *n ? spool_append_many(sp, recs, *n, &done) : 0;
    st->spooled += done;
    if (rc > 0 && !st->first_seq)
        st->first_seq = (uint64_t)rc;
    if (done)
        st->last_seq = sp->last;
    for (size_t i = 0; i < *n; i++)
        free(bufs[i]);
    *n = 0;
    if (rc < 0) {
        snprintf(err, AGENT_ERR_MAX, "%s", sp->err);
        return (int)rc;
    }
    return 0;
}

int agent_event(const char *dir, FILE *in, const char *name, uint64_t spool_max,
                struct agent_event_stats *st, char *err)
{
    char path[PATH_MAX];
    memset(st, 0, sizeof *st);
    snprintf(path, sizeof path, "%s/spool-events", dir);
    struct spool sp;
    if (spool_open(&sp, path, spool_max, true) < 0) {
        snprintf(err, AGENT_ERR_MAX, "%s", sp.err);
        return MAMORI_EIO;
    }
    sp.drop_oldest = true;
    uint64_t dropped0 = sp.dropped;
    struct spool_rec *recs = calloc(EVENT_BATCH, sizeof *recs);
    char **bufs = calloc(EVENT_BATCH, sizeof *bufs);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    int rc = recs && bufs ? 0 : MAMORI_ENOMEM;
    while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
        st->lines++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        if ((size_t)len > SPOOL_REC_MAX || !is_object(line, (size_t)len)) {
            log_warn("%s:%llu: %s: skipped", name, (unsigned long long)st->lines,
                     (size_t)len > SPOOL_REC_MAX ? "longer than a spool record (64 KiB)"
                                                 : "not one JSON object");
            st->rejected++;
            continue;
        }
        bufs[n] = malloc((size_t)len);
        if (!bufs[n]) {
            rc = MAMORI_ENOMEM;
            break;
        }
        memcpy(bufs[n], line, (size_t)len);
        recs[n].data = bufs[n];
        recs[n].len = (size_t)len;
        if (++n == EVENT_BATCH)
            rc = flush(&sp, recs, bufs, &n, st, err);
    }
    if (rc == 0)
        rc = flush(&sp, recs, bufs, &n, st, err);
    else
        for (size_t i = 0; i < n; i++)
            free(bufs[i]);
    if (rc == MAMORI_ENOMEM)
        snprintf(err, AGENT_ERR_MAX, "out of memory");
    st->dropped = sp.dropped - dropped0;
    free(line);
    free(recs);
    free(bufs);
    return rc;
}
