/* logs.c - the log reader: lifetime, format sniffing, dispatch, errors.
 *
 * Data enters as a path or a buffer; the first bytes decide the format
 * (unless the caller names one) and the call is handed to that format's
 * reader (logs_evtx.c, logs_json.c, logs_auditd.c, logs_syslog.c). Events
 * leave from those readers through lg_next; damage leaves through the
 * caller's callback by lg_report, which also keeps the stats. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/err.h"
#include "logs/logs_int.h"

/* ------------------------------------------------------- lifetime -- */

struct lg_reader *lg_reader_new(void)
{
    struct lg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    for (int i = 0; i < EVTX_SYS_COUNT; i++)
        r->sys_len[i] = (uint32_t)strlen(evtx_sys_name((enum evtx_sys)i));
    if (lg_evb_init(&r->evb) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

void lg_reader_free(struct lg_reader *r)
{
    if (!r)
        return;
    lg_close(r);
    if (r->evtx)
        evtx_reader_free(r->evtx);
    free(r->in.buf);
    lg_json_free(r);
    lg_audit_free(r);
    lg_sys_free(r);
    lg_evb_fini(&r->evb);
    free(r);
}

/* --------------------------------------------------------- errors -- */

void lg_report(struct lg_reader *r, uint64_t where, int64_t chunk, uint64_t lost, const char *fmt,
               ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    r->st.errors++;
    r->st.lost += lost;
    if (r->o.on_error) {
        struct lg_error e = {
            .file = r->name, .where = where, .chunk = chunk, .reason = r->reason, .lost = lost};
        r->o.on_error(r->o.ctx, &e);
    }
}

/* ------------------------------------------------------- sniffing -- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "Jan  2 15:04:05" or "Jan 02 15:04:05". */
static bool bsd_date(const char *p, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (n < 15 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' || p[12] != ':')
        return false;
    bool month = false;
    for (int i = 0; i < 12 && !month; i++)
        month = !memcmp(p, months + 3 * i, 3);
    return month && (p[4] == ' ' || is_digit(p[4])) && is_digit(p[5]) && is_digit(p[7]) &&
           is_digit(p[8]) && is_digit(p[10]) && is_digit(p[11]) && is_digit(p[13]) &&
           is_digit(p[14]);
}

/* An RFC 3339 time, or "<PRI>1 " followed by one (RFC 5424). */
static bool rfc_date(const char *p, size_t n)
{
    if (n > 0 && p[0] == '<') {
        size_t i = 1;
        while (i < n && i < 5 && is_digit(p[i]))
            i++;
        if (i + 2 >= n || p[i] != '>' || !is_digit(p[i + 1]))
            return false;
        i++;
        while (i < n && is_digit(p[i]))
            i++;
        if (i >= n || p[i] != ' ')
            return false;
        p += i + 1;
        n -= i + 1;
        if (n > 0 && p[0] == '-') /* NILVALUE time */
            return true;
    }
    return n >= 19 && is_digit(p[0]) && is_digit(p[3]) && p[4] == '-' && p[7] == '-' &&
           (p[10] == 'T' || p[10] == ' ') && p[13] == ':' && p[16] == ':';
}

static bool audit_line(const char *p, size_t n)
{
    if (n >= 5 && !memcmp(p, "node=", 5)) {
        const char *sp = memchr(p, ' ', n);
        if (!sp)
            return false;
        n -= (size_t)(sp + 1 - p);
        p = sp + 1;
    }
    if (n < 5 || memcmp(p, "type=", 5))
        return false;
    const char *sp = memchr(p, ' ', n);
    return sp && (size_t)(p + n - sp) > 11 && !memcmp(sp + 1, "msg=audit(", 10);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

enum lg_format lg_sniff(const void *head, size_t len, const char *path)
{
    const char *p = head;
    if (len >= 8 && !memcmp(p, "ElfFile", 8))
        return LG_EVTX;
    size_t i = 0;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) /* UTF-8 byte order mark */
        i = 3;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i < len && (p[i] == '{' || p[i] == '['))
        return LG_JSON;
    const char *q = p + i;
    size_t n = len - i;
    const char *nl = memchr(q, '\n', n);
    if (nl)
        n = (size_t)(nl - q);
    if (audit_line(q, n))
        return LG_AUDITD;
    if (bsd_date(q, n) || rfc_date(q, n))
        return LG_SYSLOG;
    if (path && n == 0) { /* empty file: the name decides */
        if (ends_with(path, ".evtx"))
            return LG_EVTX;
        if (ends_with(path, ".json") || ends_with(path, ".jsonl") || ends_with(path, ".ndjson"))
            return LG_JSON;
        if (strstr(path, "audit"))
            return LG_AUDITD;
        if (strstr(path, "syslog") || strstr(path, "auth") || strstr(path, "messages") ||
            strstr(path, "secure"))
            return LG_SYSLOG;
    }
    return LG_AUTO;
}

const char *lg_format_name(enum lg_format f)
{
    switch (f) {
    case LG_AUTO: return "auto";
    case LG_EVTX: return "evtx";
    case LG_JSON: return "json";
    case LG_AUDITD: return "auditd";
    case LG_SYSLOG: return "syslog";
    }
    return "unknown";
}

/* ------------------------------------------------------------ open -- */

static void begin(struct lg_reader *r, const char *name, const struct lg_opts *o)
{
    lg_close(r);
    static const struct lg_opts none = {0};
    r->o = o ? *o : none;
    snprintf(r->name, sizeof r->name, "%s", name ? name : "(memory)");
    memset(&r->st, 0, sizeof r->st);
}

static int year_of(time_t t)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return 1970;
    return tm.tm_year + 1900;
}

/* With the input open and its first bytes in the window: decide and start. */
static int start_text(struct lg_reader *r)
{
    size_t avail = lg_in_fill(&r->in, 4096);
    enum lg_format f = r->o.format;
    if (f == LG_AUTO)
        f = lg_sniff(r->in.buf + r->in.start, avail, r->name);
    if (f == LG_AUTO) {
        if (r->o.skip_unknown) {
            lg_close(r);
            return LG_EUNKNOWN;
        }
        lg_report(r, 0, -1, 0, "%s: unknown log format (not EVTX, JSON, auditd or syslog)",
                  r->name);
        lg_close(r);
        return MAMORI_EINVAL;
    }
    if (f == LG_EVTX) {
        lg_report(r, 0, -1, 0, "%s: compressed EVTX files are not read; decompress it first",
                  r->name);
        lg_close(r);
        return MAMORI_EINVAL;
    }
    r->fmt = r->st.format = f;
    int rc = f == LG_JSON ? lg_json_open(r) : f == LG_AUDITD ? lg_audit_open(r) : lg_sys_open(r);
    if (rc < 0) {
        lg_report(r, 0, -1, 0, "%s: %s", r->name, mamori_strerror(rc));
        lg_close(r);
    }
    return rc;
}

static int ensure_inbuf(struct lg_reader *r)
{
    if (!r->in.buf && !(r->in.buf = malloc(LG_INBUF_CAP))) {
        lg_report(r, 0, -1, 0, "%s: out of memory", r->name);
        return MAMORI_ENOMEM;
    }
    return 0;
}

int lg_open(struct lg_reader *r, const char *path, const struct lg_opts *o)
{
    begin(r, path, o);
    struct stat sb;
    if (stat(path, &sb) < 0) {
        int e = errno;
        lg_report(r, 0, -1, 0, "%s: cannot read: %s", r->name, strerror(e));
        return e == ENOENT ? MAMORI_ENOENT : e == EACCES ? MAMORI_EPERM : MAMORI_EIO;
    }
    if (!S_ISREG(sb.st_mode)) {
        lg_report(r, 0, -1, 0, "%s: not a regular file", r->name);
        return MAMORI_EINVAL;
    }
    r->year = r->o.year ? r->o.year : year_of(sb.st_mtime);
    r->mtime_s = sb.st_mtime;
    enum lg_format f = r->o.format;
    if (f == LG_AUTO) {
        char head[4096];
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            int e = errno;
            lg_report(r, 0, -1, 0, "%s: cannot open: %s", r->name, strerror(e));
            return e == EACCES ? MAMORI_EPERM : MAMORI_EIO;
        }
        size_t n = fread(head, 1, sizeof head, fp);
        fclose(fp);
        if (n >= 8 && !memcmp(head, "ElfFile", 8))
            f = LG_EVTX;
    }
    if (f == LG_EVTX)
        return lg_evtx_open(r, path, NULL, 0);
    int rc = ensure_inbuf(r);
    if (rc < 0)
        return rc;
    bool gz = false;
    int e = lg_in_open_path(&r->in, path, &gz);
    if (e < 0) {
        lg_report(r, 0, -1, 0, "%s: cannot open: %s", r->name, strerror(-e));
        return -e == EACCES ? MAMORI_EPERM : MAMORI_EIO;
    }
    return start_text(r);
}

int lg_open_mem(struct lg_reader *r, const void *buf, size_t len, const char *name,
                const struct lg_opts *o)
{
    begin(r, name, o);
    r->year = r->o.year ? r->o.year : year_of(time(NULL));
    r->mtime_s = 0;
    enum lg_format f = r->o.format;
    if (f == LG_AUTO && len >= 8 && !memcmp(buf, "ElfFile", 8))
        f = LG_EVTX;
    if (f == LG_EVTX)
        return lg_evtx_open(r, NULL, buf, len);
    int rc = ensure_inbuf(r);
    if (rc < 0)
        return rc;
    lg_in_open_mem(&r->in, buf, len);
    return start_text(r);
}

/* ------------------------------------------------------ iteration -- */

void lg_ev_begin(struct lg_reader *r, uint64_t record)
{
    lg_evb_reset(&r->evb);
    memset(&r->ev, 0, sizeof r->ev);
    r->ev.time_ns = SG_TIME_UNKNOWN;
    r->ev.source = r->name;
    r->ev.record = record;
}

void lg_ev_finish(struct lg_reader *r)
{
    r->ev.fields = r->evb.f;
    r->ev.nfields = r->evb.n;
    if (r->evb.dropped || r->evb.full)
        lg_report(r, r->ev.record, -1, 0, "%s:%llu: event has more than %u fields or %u MiB of "
                  "text; the rest of its fields are dropped", r->name,
                  (unsigned long long)r->ev.record, LG_MAX_FIELDS, LG_TEXT_CAP >> 20);
}

int lg_next(struct lg_reader *r, const struct sg_event **ev)
{
    int rc = 0;
    switch (r->fmt) {
    case LG_EVTX: rc = lg_evtx_next(r, ev); break;
    case LG_JSON: rc = lg_json_next(r, ev); break;
    case LG_AUDITD: rc = lg_audit_next(r, ev); break;
    case LG_SYSLOG: rc = lg_sys_next(r, ev); break;
    case LG_AUTO: return 0;
    }
    if (rc > 0)
        r->st.events++;
    if (r->fmt != LG_EVTX)
        r->st.bytes = r->in.bytes;
    if (rc == 0 && r->fmt != LG_EVTX && r->in.ioerr) {
        lg_report(r, r->in.line, -1, 0, "%s: read error after line %llu; the rest is not read",
                  r->name, (unsigned long long)r->in.line);
        r->in.ioerr = false;
    }
    return rc;
}

void lg_close(struct lg_reader *r)
{
    switch (r->fmt) {
    case LG_EVTX: lg_evtx_close(r); break;
    case LG_AUDITD: lg_audit_close(r); break;
    default: break;
    }
    lg_in_close(&r->in);
    r->fmt = LG_AUTO;
}

const struct lg_stats *lg_stats(const struct lg_reader *r)
{
    return &r->st;
}
