/* fuzz_deliver.c - libFuzzer target: src/deliver on untrusted bytes. The
 * input's first line is a route target (an operator's or API client's
 * text: url_parse, route_check, route_masked_target); the rest is an alert
 * body as an agent may send it, which goes through dtext_build and every
 * channel format. Checks: no crash or overrun; the JSON formats parse back
 * as JSON; the syslog message is one line; the mail's header block has no
 * line but the headers format.c writes (no header injection); a masked
 * target never holds the target's query string. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/alert_text.h"
#include "deliver/format.h"
#include "deliver/route.h"
#include "deliver/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void json_ok(char *s)
{
    if (!s)
        return;
    json_object *j = json_tokener_parse(s);
    if (!j)
        abort();
    json_object_put(j);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl = strchr(in, '\n');
    char *body = nl ? nl + 1 : "";
    if (nl)
        *nl = '\0';
    struct url u;
    char why[200], err[512], m[ROUTE_TARGET_MAX];
    url_parse(in, &u, why, sizeof why);
    struct route r = {.kind = (enum route_kind)(size % 5)};
    snprintf(r.target, sizeof r.target, "%s", in);
    snprintf(r.options, sizeof r.options, "{}");
    route_check(&r, err, sizeof err);
    route_masked_target(&r, m, sizeof m);
    const char *q = strchr(in, '?');
    if (q && q[1] && strstr(m, q))
        abort();
    struct dalert a = {.id = 1, .time = (int64_t)size * 1000, .host_id = in, .hostname = in,
                       .site = in, .kind = in, .severity = in, .summary = body, .body = body};
    struct dtext t;
    dtext_build(&a, &t);
    json_ok(dfmt_json(&a, &t));
    json_ok(dfmt_slack(&a, &t));
    json_ok(dfmt_teams(&a, &t));
    char *s = dfmt_syslog(&a, &t);
    if (s && (strchr(s, '\n') || strchr(s, '\r')))
        abort();
    free(s);
    s = dfmt_email(&a, &t, in, in, in, 0);
    if (s) {
        char *end = strstr(s, "\r\n\r\n");
        if (!end)
            abort();
        *end = '\0';
        for (char *l = s; l;) {
            char *n = strstr(l, "\r\n");
            if (n)
                *n = '\0';
            if (strchr(l, '\r') || strchr(l, '\n'))
                abort();
            if (l[0] != ' ' && strncmp(l, "Date: ", 6) && strncmp(l, "Message-ID: ", 12) &&
                strncmp(l, "From: ", 6) && strncmp(l, "To: ", 4) && strncmp(l, "Subject: ", 9) &&
                strncmp(l, "MIME-Version: ", 14) && strncmp(l, "Content-", 8) &&
                strncmp(l, "Auto-Submitted: ", 16) && strncmp(l, "X-Mamori-Alert-Id: ", 19))
                abort();
            l = n ? n + 2 : NULL;
        }
        free(s);
    }
    free(in);
    return 0;
}
