/* format.c - alert texts as webhook JSON, Slack, Teams, RFC 5424 syslog and
 * RFC 5322 e-mail (see format.h). */
#include "deliver/format.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/hbuf.h"

#define MSG_MAX (256u << 10) /* any one message; texts are far smaller */

static char *dup_json(json_object *o)
{
    const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE)
                      : NULL;
    char *r = s ? strdup(s) : NULL;
    json_object_put(o);
    return r;
}

static void add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* --------------------------------------------------------------- JSON -- */

char *dfmt_json(const struct dalert *a, const struct dtext *t)
{
    json_object *o = json_object_new_object(), *al = json_object_new_object();
    if (!o || !al) {
        json_object_put(o);
        json_object_put(al);
        return NULL;
    }
    char when[40];
    dtime_fmt(a->time, when, sizeof when);
    json_object_object_add(al, "id", json_object_new_int64(a->id));
    add_str(al, "time", when);
    add_str(al, "kind", a->kind);
    add_str(al, "severity", a->severity);
    add_str(al, "site", a->site);
    add_str(al, "host_id", a->host_id);
    add_str(al, "hostname", a->hostname);
    add_str(al, "summary", a->summary);
    json_object *body = a->body ? json_tokener_parse(a->body) : NULL;
    if (!body && a->body)
        body = json_object_new_string(a->body);
    json_object_object_add(al, "body", body);
    add_str(o, "source", "mamori");
    json_object_object_add(o, "alert", al);
    add_str(o, "title", t->title);
    add_str(o, "what_happened", t->what);
    add_str(o, "mamori_did", t->did);
    add_str(o, "next_steps", t->next);
    return dup_json(o);
}

/* -------------------------------------------------------------- Slack -- */

/* Slack mrkdwn: &, < and > are the characters to escape (as entities). */
static void slack_esc(struct hbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            hbuf_str(b, "&amp;");
        else if (*s == '<')
            hbuf_str(b, "&lt;");
        else if (*s == '>')
            hbuf_str(b, "&gt;");
        else
            hbuf_add(b, s, 1);
    }
}

static json_object *mrkdwn(const char *text)
{
    json_object *o = json_object_new_object();
    add_str(o, "type", "mrkdwn");
    add_str(o, "text", text);
    return o;
}

static json_object *section(struct hbuf *b, const char *head, const char *para)
{
    hbuf_reset(b, MSG_MAX);
    hbuf_str(b, "*");
    hbuf_str(b, head);
    hbuf_str(b, "*\n");
    slack_esc(b, para);
    json_object *s = json_object_new_object();
    add_str(s, "type", "section");
    json_object_object_add(s, "text", mrkdwn(b->full ? "(text too long)" : b->p ? b->p : ""));
    return s;
}

char *dfmt_slack(const struct dalert *a, const struct dtext *t)
{
    struct hbuf b;
    hbuf_init(&b, MSG_MAX);
    json_object *o = json_object_new_object(), *blocks = json_object_new_array();
    slack_esc(&b, t->title);
    add_str(o, "text", b.full ? t->title : b.p);
    json_object *hdr = json_object_new_object(), *pt = json_object_new_object();
    char title[151]; /* header text: plain, at most 150 characters */
    size_t tl = strnlen(t->title, sizeof title - 1);
    while (tl > 0 && tl < strlen(t->title) && ((unsigned char)t->title[tl] & 0xC0) == 0x80)
        tl--; /* not inside a UTF-8 sequence */
    memcpy(title, t->title, tl);
    title[tl] = '\0';
    add_str(pt, "type", "plain_text");
    add_str(pt, "text", title);
    add_str(hdr, "type", "header");
    json_object_object_add(hdr, "text", pt);
    json_object_array_add(blocks, hdr);
    json_object_array_add(blocks, section(&b, "What happened", t->what));
    json_object_array_add(blocks, section(&b, "What mamori did", t->did));
    json_object_array_add(blocks, section(&b, "What to do next", t->next));
    json_object *fields = json_object_new_array();
    for (size_t i = 0; i < t->nfacts && i < 10; i++) { /* Slack: at most 10 fields */
        hbuf_reset(&b, MSG_MAX);
        hbuf_str(&b, "*");
        hbuf_str(&b, t->facts[i].name);
        hbuf_str(&b, ":*\n");
        slack_esc(&b, t->facts[i].value);
        json_object_array_add(fields, mrkdwn(b.full || !b.p ? "-" : b.p));
    }
    json_object *fs = json_object_new_object();
    add_str(fs, "type", "section");
    json_object_object_add(fs, "fields", fields);
    json_object_array_add(blocks, fs);
    json_object_object_add(o, "blocks", blocks);
    hbuf_free(&b);
    (void)a;
    return dup_json(o);
}

/* -------------------------------------------------------------- Teams -- */

/* MessageCard text is markdown: entities for & < >, a backslash before the
 * characters that would start emphasis, code, links or headings. */
static const char *teams_esc(struct hbuf *b, const char *s)
{
    hbuf_reset(b, MSG_MAX);
    for (; *s; s++) {
        if (*s == '&')
            hbuf_str(b, "&amp;");
        else if (*s == '<')
            hbuf_str(b, "&lt;");
        else if (*s == '>')
            hbuf_str(b, "&gt;");
        else {
            if (strchr("\\`*_[]()#~|", *s))
                hbuf_add(b, "\\", 1);
            hbuf_add(b, s, 1);
        }
    }
    return b->full ? "(text too long)" : b->p ? b->p : "";
}

static const char *sev_color(const char *sev)
{
    switch (dseverity_rank(sev)) {
    case 4: return "8B0000";
    case 3: return "D70000";
    case 2: return "FF8C00";
    case 1: return "FFD700";
    default: return "0078D7";
    }
}

static json_object *teams_section(struct hbuf *b, const char *head, const char *para)
{
    json_object *s = json_object_new_object();
    add_str(s, "activityTitle", head);
    add_str(s, "text", teams_esc(b, para));
    return s;
}

char *dfmt_teams(const struct dalert *a, const struct dtext *t)
{
    struct hbuf b;
    hbuf_init(&b, MSG_MAX);
    json_object *o = json_object_new_object(), *secs = json_object_new_array();
    add_str(o, "@type", "MessageCard");
    add_str(o, "@context", "https://schema.org/extensions");
    add_str(o, "summary", t->title);
    add_str(o, "themeColor", sev_color(a->severity));
    add_str(o, "title", teams_esc(&b, t->title));
    json_object_array_add(secs, teams_section(&b, "What happened", t->what));
    json_object_array_add(secs, teams_section(&b, "What mamori did", t->did));
    json_object_array_add(secs, teams_section(&b, "What to do next", t->next));
    json_object *fs = json_object_new_object(), *facts = json_object_new_array();
    for (size_t i = 0; i < t->nfacts; i++) {
        json_object *f = json_object_new_object();
        add_str(f, "name", t->facts[i].name);
        add_str(f, "value", teams_esc(&b, t->facts[i].value));
        json_object_array_add(facts, f);
    }
    json_object_object_add(fs, "facts", facts);
    json_object_array_add(secs, fs);
    json_object_object_add(o, "sections", secs);
    hbuf_free(&b);
    return dup_json(o);
}

/* ------------------------------------------------------------- syslog -- */

/* PRINTUSASCII (33..126) of at most max bytes, or "-" when empty. */
static void sl_token(struct hbuf *b, const char *s, size_t max)
{
    size_t n = 0;
    for (; s && *s && n < max; s++, n++) {
        char c = *s > 32 && *s < 127 ? *s : '_';
        hbuf_add(b, &c, 1);
    }
    if (n == 0)
        hbuf_add(b, "-", 1);
}

static void sl_param(struct hbuf *b, const char *name, const char *v)
{
    hbuf_str(b, " ");
    hbuf_str(b, name);
    hbuf_str(b, "=\"");
    for (; v && *v; v++) {
        if (*v == '"' || *v == '\\' || *v == ']')
            hbuf_add(b, "\\", 1);
        char c = (unsigned char)*v < 0x20 || *v == 0x7f ? ' ' : *v;
        hbuf_add(b, &c, 1);
    }
    hbuf_str(b, "\"");
}

static void one_line(struct hbuf *b, const char *s)
{
    for (; *s; s++) {
        char c = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
        hbuf_add(b, &c, 1);
    }
}

char *dfmt_syslog(const struct dalert *a, const struct dtext *t)
{
    static const int SL_SEV[] = {6, 5, 4, 3, 2}; /* info..critical -> informational..crit */
    int r = dseverity_rank(a->severity);
    int pri = 4 * 8 + SL_SEV[r < 0 ? 2 : r];
    struct hbuf b;
    hbuf_init(&b, MSG_MAX);
    char head[32], when[40], id[24];
    snprintf(head, sizeof head, "<%d>1 ", pri);
    dtime_fmt(a->time, when, sizeof when);
    snprintf(id, sizeof id, "%lld", (long long)a->id);
    hbuf_str(&b, head);
    hbuf_str(&b, when);
    hbuf_str(&b, " ");
    sl_token(&b, a->hostname && a->hostname[0] ? a->hostname : a->host_id, 255);
    hbuf_str(&b, " mamori - ");
    sl_token(&b, a->kind, 32);
    hbuf_str(&b, " [mamori@32473");
    sl_param(&b, "host", t->host);
    sl_param(&b, "site", t->site);
    sl_param(&b, "alert_id", id);
    sl_param(&b, "kind", a->kind ? a->kind : "");
    sl_param(&b, "severity", a->severity ? a->severity : "");
    if (a->host_id)
        sl_param(&b, "host_id", a->host_id);
    hbuf_str(&b, "] \xEF\xBB\xBF");
    one_line(&b, t->title);
    hbuf_str(&b, ". What happened: ");
    one_line(&b, t->what);
    hbuf_str(&b, " mamori did: ");
    one_line(&b, t->did);
    hbuf_str(&b, " Next: ");
    one_line(&b, t->next);
    if (b.full || !b.p) {
        hbuf_free(&b);
        return NULL;
    }
    return b.p; /* hbuf's buffer is malloc'd: the caller frees it */
}

/* -------------------------------------------------------------- e-mail -- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64(struct hbuf *b, const unsigned char *p, size_t n, size_t line)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {B64[v >> 18 & 63], B64[v >> 12 & 63], i + 1 < n ? B64[v >> 6 & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        hbuf_add(b, q, 4);
        col += 4;
        if (line && col >= line && i + 3 < n) {
            hbuf_str(b, "\r\n");
            col = 0;
        }
    }
}

/* A header value: control characters become spaces (no header injection). */
static void hdr_clean(struct hbuf *b, const char *s)
{
    for (; s && *s; s++) {
        char c = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
        hbuf_add(b, &c, 1);
    }
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* Subject: plain when ASCII, else RFC 2047 B encoded-words of at most 45
 * bytes each (never splitting a UTF-8 sequence), folded. */
static void subject(struct hbuf *b, const char *s)
{
    hbuf_str(b, "Subject: ");
    if (ascii(s)) {
        hdr_clean(b, s);
    } else {
        size_t n = strlen(s), i = 0;
        while (i < n) {
            size_t k = n - i > 45 ? 45 : n - i;
            while (k > 0 && i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
                k--;
            if (k == 0)
                k = n - i > 45 ? 45 : n - i;
            if (i)
                hbuf_str(b, "\r\n ");
            hbuf_str(b, "=?UTF-8?B?");
            b64(b, (const unsigned char *)s + i, k, 0);
            hbuf_str(b, "?=");
            i += k;
        }
    }
    hbuf_str(b, "\r\n");
}

char *dfmt_email(const struct dalert *a, const struct dtext *t, const char *from, const char *to,
                 const char *idhost, int64_t now_ms)
{
    struct hbuf b, body;
    hbuf_init(&b, MSG_MAX);
    hbuf_init(&body, MSG_MAX);
    char date[64], line[160];
    time_t now = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    hbuf_str(&b, "Date: ");
    hbuf_str(&b, date);
    snprintf(line, sizeof line, "\r\nMessage-ID: <mamori.alert-%lld.%lld.%ld@", (long long)a->id,
             (long long)now_ms, (long)(rand() & 0xffff));
    hbuf_str(&b, line);
    struct hbuf *hb = &b;
    for (const char *p = idhost && idhost[0] ? idhost : "localhost"; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '-')
            hbuf_add(hb, p, 1);
    hbuf_str(&b, ">\r\nFrom: ");
    hdr_clean(&b, from);
    hbuf_str(&b, "\r\nTo: ");
    hdr_clean(&b, to);
    hbuf_str(&b, "\r\n");
    char subj[DTEXT_TITLE_MAX + 16];
    snprintf(subj, sizeof subj, "[mamori] %s", t->title);
    subject(&b, subj);
    hbuf_str(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n");
    snprintf(line, sizeof line, "X-Mamori-Alert-Id: %lld\r\n\r\n", (long long)a->id);
    hbuf_str(&b, line);
    hbuf_str(&body, t->title);
    hbuf_str(&body, "\r\n\r\nWhat happened\r\n");
    hbuf_str(&body, t->what);
    hbuf_str(&body, "\r\n\r\nWhat mamori did\r\n");
    hbuf_str(&body, t->did);
    hbuf_str(&body, "\r\n\r\nWhat to do next\r\n");
    hbuf_str(&body, t->next);
    hbuf_str(&body, "\r\n\r\n");
    for (size_t i = 0; i < t->nfacts; i++) {
        hbuf_str(&body, t->facts[i].name);
        hbuf_str(&body, ": ");
        hbuf_str(&body, t->facts[i].value);
        hbuf_str(&body, "\r\n");
    }
    b64(&b, (const unsigned char *)(body.p ? body.p : ""), body.len, 76);
    hbuf_str(&b, "\r\n");
    bool bad = b.full || body.full || !b.p;
    hbuf_free(&body);
    if (bad) {
        hbuf_free(&b);
        return NULL;
    }
    return b.p;
}
