/* logs_syslog.c - syslog and auth.log lines as events.
 *
 * Data enters as lines from the input window in one of three forms:
 *   BSD       "Dec  2 15:15:17 host prog[pid]: msg"   (optional <PRI> first)
 *   RFC 3339  "2026-12-02T15:15:17.123456+09:00 host prog[pid]: msg"
 *   RFC 5424  "<34>1 2026-12-02T15:15:17.003Z host prog pid msgid [sd] msg"
 * and leaves as one event per line with the fields program, pid, host,
 * message (and msgid for RFC 5424), plus what logs_auth.c reads from the
 * messages of sshd, sudo, su and the user-management tools. computer is the
 * host, provider the program, channel "linux/auth" for authentication
 * programs (see AUTH_PROGS) or any line mentioning pam_unix, else
 * "linux/syslog". A BSD time carries no year and no zone: the year is the
 * caller's (then it grows by one when the month goes back, as from Dec to
 * Jan), else the file's mtime year (a date later than the mtime belongs to
 * the year before); the time is taken as UTC. A line that is none of these
 * forms is reported and skipped. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/civil.h"
#include "core/err.h"
#include "logs/logs_int.h"

struct lg_sys {
    int year;        /* year for BSD dates */
    bool fixed;      /* the caller gave the year: roll it forward */
    int last_month;  /* month of the last BSD date (1-12), 0 none */
    int64_t limit_s; /* mtime mode: dates after this are last year's */
};

static const char *const AUTH_PROGS[] = {
    "sshd",     "sshd-session", "sshd-auth", "sudo",     "su",        "login",
    "passwd",   "chpasswd",     "useradd",   "usermod",  "userdel",   "groupadd",
    "groupmod", "groupdel",     "gpasswd",   "chage",    "systemd-logind",
    "polkitd",  "chfn",         "chsh",      "newgrp",   "doas",      NULL};

int lg_sys_open(struct lg_reader *r)
{
    if (!r->sys && !(r->sys = calloc(1, sizeof *r->sys)))
        return MAMORI_ENOMEM;
    struct lg_sys *s = r->sys;
    memset(s, 0, sizeof *s);
    s->fixed = r->o.year != 0;
    s->year = r->year;
    s->limit_s = (r->mtime_s ? r->mtime_s : (int64_t)time(NULL)) + 2 * 86400;
    return 0;
}

void lg_sys_free(struct lg_reader *r)
{
    free(r->sys);
    r->sys = NULL;
}

/* ------------------------------------------------------------ dates -- */

static bool dig(char c)
{
    return c >= '0' && c <= '9';
}

static int month_of(const char *p)
{
    static const char m[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (!memcmp(p, m + 3 * i, 3))
            return i + 1;
    return 0;
}

/* "Dec  2 15:15:17" (15 bytes, an optional fraction after) -> ns. */
static bool bsd_time(struct lg_sys *s, const char *p, size_t n, int64_t *ns, size_t *used)
{
    if (n < 15 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' || p[12] != ':')
        return false;
    int mon = month_of(p);
    if (!mon || !(p[4] == ' ' || dig(p[4])) || !dig(p[5]) || !dig(p[7]) || !dig(p[8]) ||
        !dig(p[10]) || !dig(p[11]) || !dig(p[13]) || !dig(p[14]))
        return false;
    int day = (p[4] == ' ' ? 0 : p[4] - '0') * 10 + p[5] - '0';
    int h = (p[7] - '0') * 10 + p[8] - '0', mi = (p[10] - '0') * 10 + p[11] - '0';
    int se = (p[13] - '0') * 10 + p[14] - '0';
    if (day < 1 || day > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    size_t i = 15;
    int64_t frac = 0;
    if (i < n && p[i] == '.') {
        int64_t scale = 100000000;
        for (i++; i < n && dig(p[i]); i++, scale /= 10)
            frac += (p[i] - '0') * scale;
    }
    if (s->fixed && s->last_month && mon + 6 < s->last_month)
        s->year++;
    s->last_month = mon;
    int64_t secs = civil_to_days(s->year, (unsigned)mon, (unsigned)day) * 86400 +
                   h * 3600 + mi * 60 + se;
    if (!s->fixed && secs > s->limit_s)
        secs = civil_to_days(s->year - 1, (unsigned)mon, (unsigned)day) * 86400 + h * 3600 +
               mi * 60 + se;
    *ns = secs * 1000000000 + frac;
    *used = i;
    return true;
}

/* ------------------------------------------------------------ lines -- */

struct sys_line {
    const char *host, *prog, *pid, *msgid, *msg;
    size_t host_len, prog_len, pid_len, msgid_len, msg_len;
    int64_t ns;
};

static size_t span_to(const char *p, const char *e, char stop)
{
    const char *q = p;
    while (q < e && *q != stop)
        q++;
    return (size_t)(q - p);
}

/* "host prog[pid]: msg" (BSD and RFC 3339 lines, after the time). */
static bool bsd_rest(const char *p, const char *e, struct sys_line *l)
{
    while (p < e && *p == ' ')
        p++;
    l->host = p;
    l->host_len = span_to(p, e, ' ');
    if (!l->host_len)
        return false;
    p += l->host_len;
    while (p < e && *p == ' ')
        p++;
    /* The tag: up to ':', '[' or a space; "prog: msg" or "prog[pid]: msg". */
    const char *t = p;
    while (p < e && *p != ':' && *p != '[' && *p != ' ')
        p++;
    if (p < e && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(e - p));
        if (close && close + 1 < e && close[1] == ':') {
            l->prog = t;
            l->prog_len = (size_t)(p - t);
            l->pid = p + 1;
            l->pid_len = (size_t)(close - p - 1);
            p = close + 2;
        } else {
            p = t;
        }
    } else if (p < e && *p == ':' && p > t) {
        l->prog = t;
        l->prog_len = (size_t)(p - t);
        p++;
    } else {
        p = t; /* no tag: the whole rest is the message */
    }
    if (p < e && *p == ' ')
        p++;
    l->msg = p;
    l->msg_len = (size_t)(e - p);
    return true;
}

/* Next space-separated RFC 5424 header field; "-" is no value. */
static bool sd_field(const char **p, const char *e, const char **v, size_t *n)
{
    if (*p >= e)
        return false;
    size_t k = span_to(*p, e, ' ');
    *v = k == 1 && **p == '-' ? NULL : *p;
    *n = *v ? k : 0;
    *p += k + (*p + k < e);
    return k > 0;
}

static bool rfc5424(const char *p, const char *e, struct sys_line *l)
{
    const char *ts;
    size_t tn;
    if (!sd_field(&p, e, &ts, &tn))
        return false;
    l->ns = SG_TIME_UNKNOWN;
    if (ts && !lg_parse_iso(ts, tn, &l->ns, NULL))
        return false;
    if (!sd_field(&p, e, &l->host, &l->host_len) || !sd_field(&p, e, &l->prog, &l->prog_len) ||
        !sd_field(&p, e, &l->pid, &l->pid_len) || !sd_field(&p, e, &l->msgid, &l->msgid_len))
        return false;
    if (p < e && *p == '[') { /* structured data: [id k="v\]" ...][...] */
        while (p < e && *p == '[') {
            bool q = false;
            for (p++; p < e && (q || *p != ']'); p++) {
                if (*p == '\\' && p + 1 < e)
                    p++;
                else if (*p == '"')
                    q = !q;
            }
            p += p < e;
        }
    } else if (p < e && *p == '-') {
        p++;
    }
    if (p < e && *p == ' ')
        p++;
    if (e - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    l->msg = p;
    l->msg_len = (size_t)(e - p);
    return true;
}

static bool parse_line(struct lg_sys *s, const char *line, size_t n, struct sys_line *l)
{
    const char *p = line, *e = line + n;
    memset(l, 0, sizeof *l);
    if (p < e && *p == '<') { /* <PRI> */
        const char *q = p + 1;
        while (q < e && q - p < 5 && dig(*q))
            q++;
        if (q >= e || *q != '>' || q == p + 1)
            return false;
        p = q + 1;
        if (e - p >= 2 && dig(p[0]) && (p[1] == ' ' || (dig(p[1]) && e - p >= 3 && p[2] == ' ')))
            return rfc5424(p + (p[1] == ' ' ? 2 : 3), e, l);
    }
    size_t used;
    if (bsd_time(s, p, (size_t)(e - p), &l->ns, &used) ||
        lg_parse_iso(p, (size_t)(e - p), &l->ns, &used))
        return used < (size_t)(e - p) && p[used] == ' ' && bsd_rest(p + used, e, l);
    return false;
}

/* ------------------------------------------------------------ event -- */

static bool is_auth(const char *prog, size_t n, const char *msg, size_t mlen)
{
    for (int i = 0; prog && AUTH_PROGS[i]; i++)
        if (strlen(AUTH_PROGS[i]) == n && !memcmp(prog, AUTH_PROGS[i], n))
            return true;
    return mlen >= 8 && memmem(msg, mlen, "pam_unix", 8) != NULL;
}

static void add_part(struct lg_reader *r, const char *name, const char *v, size_t n)
{
    if (v && n)
        lg_evb_addc(&r->evb, name, strlen(name), false, v, n);
}

int lg_sys_next(struct lg_reader *r, const struct sg_event **ev)
{
    char *line;
    size_t len;
    uint64_t no;
    struct sys_line l;
    for (;;) {
        int rc = lg_in_line(&r->in, &line, &len, &no);
        if (rc == LG_LINE_END)
            return 0;
        if (rc == LG_LINE_LONG) {
            lg_report(r, no, -1, 1, "%s:%llu: line longer than %u bytes; skipped", r->name,
                      (unsigned long long)no, LG_LINE_MAX);
            continue;
        }
        if (len == 0)
            continue;
        if (!lg_utf8_ok(line, len))
            lg_utf8_fix(line, len);
        if (parse_line(r->sys, line, len, &l))
            break;
        lg_report(r, no, -1, 1, "%s:%llu: not a syslog line (no BSD, RFC 3339 or RFC 5424 "
                  "time and host); skipped", r->name, (unsigned long long)no);
    }
    lg_ev_begin(r, no);
    struct sg_event *e = &r->ev;
    e->time_ns = l.ns;
    add_part(r, "program", l.prog, l.prog_len);
    add_part(r, "pid", l.pid, l.pid_len);
    add_part(r, "host", l.host, l.host_len);
    add_part(r, "msgid", l.msgid, l.msgid_len);
    /* The message is the line's tail: already NUL-terminated in place. */
    lg_evb_add(&r->evb, "message", 7, l.msg, l.msg_len);
    const struct sg_str *v;
    if ((v = lg_evb_get(&r->evb, "host")))
        e->computer = *v;
    if ((v = lg_evb_get(&r->evb, "program")))
        e->provider = *v;
    bool auth = is_auth(l.prog, l.prog_len, l.msg, l.msg_len);
    e->channel = auth ? (struct sg_str){"linux/auth", 10} : (struct sg_str){"linux/syslog", 12};
    if (auth)
        lg_auth_fields(r, l.prog, l.prog_len, l.msg, l.msg_len);
    lg_ev_finish(r);
    *ev = e;
    return 1;
}
