/* alert_text.c - the sentences of an alert (see alert_text.h). Values from
 * the alert (hostnames, command lines, file names) are copied with control
 * characters replaced by spaces and cut on a UTF-8 boundary, so no field
 * can add lines or break a channel's framing before it is even escaped. */
#include "deliver/alert_text.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const SEV[] = {"info", "low", "medium", "high", "critical"};

int dseverity_rank(const char *s)
{
    for (int i = 0; s && i < 5; i++)
        if (!strcmp(s, SEV[i]))
            return i;
    return -1;
}

void dtime_fmt(int64_t ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, outsz, "-");
        return;
    }
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%03dZ", b, (int)(ms % 1000 + 1000) % 1000);
}

/* Cut s (NUL-terminated, in a buffer) so it does not end inside a UTF-8
 * sequence. */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

/* Copy v into out with control characters as spaces, cut on UTF-8. */
static void clean(char *out, size_t outsz, const char *v)
{
    size_t o = 0;
    for (; v && *v && o + 1 < outsz; v++) {
        unsigned char c = (unsigned char)*v;
        out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[o] = '\0';
    utf8_trim(out);
}

__attribute__((format(printf, 3, 4))) static void put(char *out, size_t outsz, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
    utf8_trim(out);
}

static void fact(struct dtext *t, const char *name, const char *value)
{
    if (t->nfacts >= DTEXT_FACTS_MAX || !value || !value[0])
        return;
    t->facts[t->nfacts].name = name;
    clean(t->facts[t->nfacts].value, sizeof t->facts[0].value, value);
    t->nfacts++;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Up to max array items joined with ", " into out (strings or numbers). */
static void jlist(json_object *o, const char *key, size_t max, char *out, size_t outsz)
{
    json_object *arr;
    out[0] = '\0';
    if (!o || !json_object_object_get_ex(o, key, &arr) || !json_object_is_type(arr, json_type_array))
        return;
    size_t n = json_object_array_length(arr), used = 0;
    for (size_t i = 0; i < n && i < max; i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
        int w = snprintf(out + used, outsz - used, "%s%s", i ? ", " : "", s ? s : "");
        if (w < 0 || (size_t)w >= outsz - used)
            break;
        used += (size_t)w;
    }
    if (n > max && used + 16 < outsz)
        snprintf(out + used, outsz - used, " (+%zu more)", n - max);
    char tmp[1024];
    clean(tmp, sizeof tmp, out);
    snprintf(out, outsz, "%s", tmp);
}

static void guard_text(const struct dalert *a, json_object *b, struct dtext *t, const char *host)
{
    const char *action = jstr(b, "action"), *exe = jstr(b, "exe"), *key = jstr(b, "actor_key");
    char pids[256], files[1024], ind[512], exe_c[300], user[80], keyc[80], cmd[600];
    jlist(b, "pids", 16, pids, sizeof pids);
    jlist(b, "files", 5, files, sizeof files);
    jlist(b, "indicators", 10, ind, sizeof ind);
    clean(exe_c, sizeof exe_c, exe ? exe : "an unknown program");
    clean(user, sizeof user, jstr(b, "user") ? jstr(b, "user") : "?");
    clean(keyc, sizeof keyc, key ? key : "");
    clean(cmd, sizeof cmd, jstr(b, "cmdline"));
    json_object *v;
    int64_t damaged = json_object_object_get_ex(b, "files_damaged", &v) ? json_object_get_int64(v)
                                                                        : 0;
    put(t->what, sizeof t->what,
        "Ransomware-like file activity on %s (site %s): %s (user %s, pids %s) %s. Indicators: "
        "%s. Files damaged so far: %lld.",
        host, t->site, exe_c, user, pids[0] ? pids : "?",
        files[0] ? "wrote to files such as the ones listed" : "changed protected files",
        ind[0] ? ind : "-", (long long)damaged);
    if (action && !strcmp(action, "kill"))
        put(t->did, sizeof t->did,
            "mamori killed the process (guard action 'kill'); files it changed were kept in the "
            "vault where a vault protects them.");
    else if (action && !strcmp(action, "freeze"))
        put(t->did, sizeof t->did,
            "mamori froze the process with SIGSTOP (guard action 'freeze'): it is stopped, not "
            "killed, and can do no more damage while frozen.");
    else
        put(t->did, sizeof t->did,
            "mamori only reported it (guard action 'alert'): the process was left running.");
    char kill_step[300] = "";
    if (key && (!action || strcmp(action, "kill") != 0))
        put(kill_step, sizeof kill_step,
            "If this is not a program you expect, stop it: run `mamori server command %s kill "
            "--actor %s`. ",
            host, keyc);
    put(t->next, sizeof t->next,
        "%sTo put the damaged files back run `mamori server command %s restore --alert %lld` or "
        "use the console's Restore button. If more hosts of site %s report the same program, "
        "isolate them (`mamori server command HOST isolate`).%s",
        kill_step, host, (long long)a->id, t->site,
        action && !strcmp(action, "freeze")
            ? " If the program is legitimate (a backup, an archiver), resume it on the host with "
              "`kill -CONT` on its pids."
            : "");
    fact(t, "Program", exe_c);
    fact(t, "Command line", cmd);
    fact(t, "User", user);
    fact(t, "PIDs", pids);
    fact(t, "Files", files);
    fact(t, "Indicators", ind);
    fact(t, "Actor key", keyc);
    fact(t, "Action taken", action);
}

void dtext_build(const struct dalert *a, struct dtext *t)
{
    memset(t, 0, sizeof *t);
    const char *hn = a->hostname && a->hostname[0] ? a->hostname
                     : a->host_id && a->host_id[0] ? a->host_id
                                                    : "the server";
    clean(t->host, sizeof t->host, hn);
    clean(t->site, sizeof t->site, a->site && a->site[0] ? a->site : "-");
    char kind[64], sev[16], summary[1024], when[40];
    clean(kind, sizeof kind, a->kind && a->kind[0] ? a->kind : "alert");
    clean(sev, sizeof sev, dseverity_rank(a->severity) >= 0 ? a->severity : "medium");
    clean(summary, sizeof summary, a->summary ? a->summary : "");
    dtime_fmt(a->time, when, sizeof when);
    json_object *b = NULL;
    if (a->body && a->body[0]) {
        json_tokener *tok = json_tokener_new_ex(16);
        if (tok) {
            b = json_tokener_parse_ex(tok, a->body, (int)strnlen(a->body, 1 << 20));
            json_tokener_free(tok);
        }
        if (b && !json_object_is_type(b, json_type_object)) {
            json_object_put(b);
            b = NULL;
        }
    }
    const char *act = jstr(b, "action");
    bool guard = act && jstr(b, "actor_key") &&
                 (!strcmp(act, "alert") || !strcmp(act, "freeze") || !strcmp(act, "kill"));
    const char *h = t->host;
    if (guard) {
        put(t->title, sizeof t->title, "[%s] ransomware activity on %s (site %s): %s", sev, h,
            t->site, !strcmp(act, "kill") ? "process killed" : !strcmp(act, "freeze") ? "process frozen" : "process still running");
        guard_text(a, b, t, h);
    } else if (!strcmp(kind, "host_silent")) {
        put(t->title, sizeof t->title, "[%s] host %s (site %s) went silent", sev, h, t->site);
        put(t->what, sizeof t->what, "%s", summary[0] ? summary : "The host stopped reporting.");
        put(t->did, sizeof t->did,
            "mamori marked the host offline. Commands sent to it wait and run when it "
            "reconnects; its guard keeps protecting files locally in the meantime.");
        put(t->next, sizeof t->next,
            "Check that %s is powered on and connected to the network. If it went silent "
            "during an attack (other alerts from it or its site), isolate it: unplug it, or "
            "queue `mamori server command %s isolate`, which runs the moment it reconnects.",
            h, h);
    } else if (!strcmp(kind, "host_back")) {
        put(t->title, sizeof t->title, "[%s] host %s (site %s) is reporting again", sev, h,
            t->site);
        put(t->what, sizeof t->what, "%s", summary[0] ? summary : "The host reconnected.");
        put(t->did, sizeof t->did,
            "mamori marked the host online and sent it any commands that waited for it.");
        put(t->next, sizeof t->next,
            "Nothing, if the outage was expected. Otherwise review the host's alerts "
            "(`mamori server alerts`) for what happened while it was silent.");
    } else if (!strcmp(kind, "revoked") || !strcmp(kind, "host_revoked")) {
        put(t->title, sizeof t->title, "[%s] host %s (site %s) was revoked", sev, h, t->site);
        put(t->what, sizeof t->what, "%s", summary[0] ? summary : "The host was revoked.");
        put(t->did, sizeof t->did,
            "mamori closed the host's connection and refuses it from now on.");
        put(t->next, sizeof t->next,
            "If you did not expect this, check who revoked it in the audit log (GET "
            "/api/v1/audit). To bring the host back, enroll it again with a new token "
            "(`mamori server token --site %s`).",
            t->site);
    } else if (!strcmp(kind, "invalid_alert")) {
        put(t->title, sizeof t->title, "[%s] unreadable alert from %s (site %s)", sev, h, t->site);
        put(t->what, sizeof t->what, "%s", summary);
        put(t->did, sizeof t->did, "mamori stored the agent's raw alert as alert %lld.",
            (long long)a->id);
        put(t->next, sizeof t->next,
            "Read the raw alert (`mamori server alerts`) and check that the agent on %s runs "
            "the same mamori version as the server.",
            h);
    } else if (!strncmp(kind, "command", 7)) {
        put(t->title, sizeof t->title, "[%s] command result from %s (site %s): %s", sev, h,
            t->site, summary);
        put(t->what, sizeof t->what, "%s", summary);
        put(t->did, sizeof t->did, "The host ran the response command and reported its result.");
        put(t->next, sizeof t->next,
            "Check the result with `mamori server commands %s`; if it failed, act on the host "
            "directly.",
            h);
    } else if (!strcmp(kind, "test")) {
        put(t->title, sizeof t->title, "[%s] mamori test message (site %s)", sev, t->site);
        put(t->what, sizeof t->what, "%s",
            summary[0] ? summary : "A test of this alert route.");
        put(t->did, sizeof t->did, "Nothing: this is a test sent by `mamori server route test`.");
        put(t->next, sizeof t->next,
            "Nothing. If you received this, the route works.");
    } else {
        put(t->title, sizeof t->title, "[%s] %s on %s (site %s)", sev, kind, h, t->site);
        put(t->what, sizeof t->what, "%s", summary[0] ? summary : "An alert without a summary.");
        put(t->did, sizeof t->did, "mamori recorded the alert (id %lld).", (long long)a->id);
        put(t->next, sizeof t->next,
            "Review the alert with `mamori server alerts` or GET /api/v1/alerts/%lld and decide "
            "whether %s needs a response (isolate, kill, restore).",
            (long long)a->id, h);
    }
    char idb[24], hid[64];
    snprintf(idb, sizeof idb, "%lld", (long long)a->id);
    clean(hid, sizeof hid, a->host_id ? a->host_id : "");
    /* the alert's own facts go first: they always fit */
    struct dfact keep[DTEXT_FACTS_MAX];
    size_t nkeep = t->nfacts;
    memcpy(keep, t->facts, sizeof keep);
    t->nfacts = 0;
    fact(t, "Host", t->host);
    fact(t, "Site", t->site);
    fact(t, "Severity", sev);
    fact(t, "Kind", kind);
    fact(t, "Alert id", idb);
    fact(t, "Time", when);
    if (strcmp(hid, t->host) != 0)
        fact(t, "Host id", hid);
    for (size_t i = 0; i < nkeep && t->nfacts < DTEXT_FACTS_MAX; i++)
        t->facts[t->nfacts++] = keep[i];
    json_object_put(b);
}
