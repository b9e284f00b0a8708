/* send.c - render an alert for its route and hand it to the transport
 * (see send.h). */
#include "deliver/send.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "deliver/format.h"

int send_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : MAMORI_EIO;
}

int send_alert(const struct route *r, const struct dalert *a, const atomic_bool *stop, char *err,
               size_t errsz, bool *permanent)
{
    *permanent = false;
    struct route_opts o;
    if (route_opts_parse(r->options, &o, err, errsz) < 0) {
        *permanent = true;
        return MAMORI_EINVAL;
    }
    struct dtext *t = malloc(sizeof *t);
    if (!t) {
        snprintf(err, errsz, "out of memory");
        return MAMORI_ENOMEM;
    }
    dtext_build(a, t);
    char *msg = NULL;
    switch (r->kind) {
    case RK_WEBHOOK: msg = dfmt_json(a, t); break;
    case RK_SLACK: msg = dfmt_slack(a, t); break;
    case RK_TEAMS: msg = dfmt_teams(a, t); break;
    case RK_SYSLOG: msg = dfmt_syslog(a, t); break;
    case RK_EMAIL: {
        char host[256] = "localhost";
        gethostname(host, sizeof host - 1);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        msg = dfmt_email(a, t, o.from, o.to, host, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        break;
    }
    }
    free(t);
    if (!msg) {
        snprintf(err, errsz, "out of memory rendering the message");
        return MAMORI_ENOMEM;
    }
    int rc;
    if (r->kind == RK_SYSLOG)
        rc = send_syslog(r, &o, msg, stop, err, errsz);
    else if (r->kind == RK_EMAIL)
        rc = send_smtp(r, &o, msg, stop, err, errsz, permanent);
    else
        rc = send_http(r, &o, msg, stop, err, errsz, permanent);
    free(msg);
    return rc;
}

int send_route_test(const struct route *r, const char *from, const atomic_bool *stop, char *err,
                    size_t errsz)
{
    char summary[512];
    snprintf(summary, sizeof summary,
             "Test message for route %" PRId64 " (%s), sent from the mamori server on %s.", r->id,
             route_kind_name(r->kind), from);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct dalert al = {.id = 0,
                        .time = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                        .hostname = from,
                        .site = r->site_id ? r->site : "all sites",
                        .kind = "test",
                        .severity = "info",
                        .summary = summary};
    bool perm = false;
    return send_alert(r, &al, stop, err, errsz, &perm);
}
