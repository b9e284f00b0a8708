/* finding.c - rendering one finding as a JSON line, a CSV row or a table row.
 *
 * Input is a struct finding whose strings come from the event and the rule
 * (outside text: file names, command lines); output is one line in a caller
 * buffer. JSON goes through the bounded writer (src/core/json.c); CSV quotes
 * every text cell (RFC 4180) and neutralises a leading = + - @ so a
 * spreadsheet never runs a formula from a log; the table replaces control
 * characters with spaces. */
#include "hunt/finding.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "evtx/evtx.h"

/* Names shown after the rule's own fields, most telling first. */
static const char *const KNOWN[] = {
    "CommandLine", "Image", "ParentImage", "ParentCommandLine", "User", "TargetUserName",
    "TargetDomainName", "SubjectUserName", "IpAddress", "WorkstationName", "LogonType",
    "ServiceName", "ImagePath", "ServiceFileName", "TargetFilename", "TargetObject", "Details",
    "DestinationIp", "DestinationPort", "QueryName", "PipeName", "ImageLoaded", "TaskName",
    "ScriptBlockText", "message", "program", "SourceIp", "exe", "comm",
};

/* Names equal ignoring ASCII case and spaces ("Threat Name" = "ThreatName"),
 * as the Sigma engine compares them. */
static bool name_eq(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    for (;; b++) {
        while (i < alen && a[i] == ' ')
            i++;
        while (*b == ' ')
            b++;
        if (i == alen || !*b)
            return i == alen && !*b;
        char x = a[i++], y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return false;
    }
}

bool finding_event_value(const struct sg_event *ev, const char *name, char *tmp, size_t tmpcap,
                         struct sg_field *out)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < ev->nfields; i++)
        if (ev->fields[i].name.s && name_eq(ev->fields[i].name.s, ev->fields[i].name.len, name)) {
            *out = ev->fields[i];
            return true;
        }
    const struct sg_str *hv = NULL;
    if (name_eq("Computer", 8, name) && ev->computer.s)
        hv = &ev->computer;
    else if (name_eq("Channel", 7, name) && ev->channel.s)
        hv = &ev->channel;
    else if (name_eq("Provider_Name", 13, name) && ev->provider.s)
        hv = &ev->provider;
    if (hv) {
        *out = (struct sg_field){{name, (uint32_t)nl}, *hv};
        return true;
    }
    if (name_eq("EventID", 7, name) && ev->has_event_id && tmpcap >= 12) {
        int n = snprintf(tmp, tmpcap, "%u", ev->event_id);
        *out = (struct sg_field){{name, (uint32_t)nl}, {tmp, (uint32_t)n}};
        return true;
    }
    return false;
}

static bool have(const struct sg_field *out, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(out[i].name.s, name))
            return true;
    return false;
}

uint32_t finding_key_fields(const struct sg_event *ev, const char *const *prefer, uint32_t nprefer,
                            struct sg_field *out, uint32_t max)
{
    uint32_t n = 0;
    struct sg_field f;
    for (uint32_t i = 0; i < nprefer && n < max; i++)
        if (finding_event_value(ev, prefer[i], NULL, 0, &f) && f.value.len &&
            !have(out, n, f.name.s))
            out[n++] = f;
    for (size_t i = 0; i < sizeof KNOWN / sizeof *KNOWN && n < max; i++)
        if (finding_event_value(ev, KNOWN[i], NULL, 0, &f) && f.value.len &&
            !have(out, n, f.name.s))
            out[n++] = f;
    return n;
}

void finding_time(int64_t ns, char *buf, size_t cap)
{
    if (ns == SG_TIME_UNKNOWN) {
        if (cap)
            buf[0] = 0;
        return;
    }
    evtx_format_time(ns, buf, cap);
}

/* Length of s cut to at most max bytes, never inside a UTF-8 sequence. */
static size_t cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* A string value cut to max bytes on a character boundary (NULL stays null). */
static void jw_cut(struct jw *w, const char *key, const char *v, size_t max)
{
    jw_strn(w, key, v, v ? cut(v, strlen(v), max) : 0);
}

static long render_json(const struct finding *f, char *buf, size_t cap, size_t vmax)
{
    struct jw w;
    char ts[48];
    finding_time(f->time_ns, ts, sizeof ts);
    jw_init(&w, buf, cap);
    jw_obj_begin(&w);
    jw_str(&w, "timestamp", ts[0] ? ts : NULL);
    jw_cut(&w, "computer", f->computer, vmax);
    jw_cut(&w, "channel", f->channel, vmax);
    if (f->has_event_id)
        jw_uint(&w, "event_id", f->event_id);
    else
        jw_str(&w, "event_id", NULL);
    jw_cut(&w, "rule_id", f->rule_id, vmax);
    jw_cut(&w, "rule_title", f->rule_title, vmax);
    jw_cut(&w, "level", f->level, vmax);
    jw_arr_begin(&w, "tags");
    for (uint32_t i = 0; i < f->ntags; i++)
        jw_cut(&w, NULL, f->tags[i], vmax);
    jw_arr_end(&w);
    jw_cut(&w, "file", f->file, vmax * 2);
    jw_uint(&w, "record", f->record);
    jw_obj_begin_key(&w, "fields");
    for (uint32_t i = 0; i < f->nfields; i++) {
        const struct sg_field *fl = &f->fields[i];
        char name[FINDING_NAME_MAX + 1];
        size_t nl = cut(fl->name.s, fl->name.len, FINDING_NAME_MAX);
        memcpy(name, fl->name.s, nl);
        name[nl] = 0;
        jw_strn(&w, name, fl->value.s, cut(fl->value.s, fl->value.len, vmax));
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    if (n < 0 || (size_t)n + 1 >= cap)
        return MAMORI_EFULL;
    buf[n++] = '\n';
    buf[n] = 0;
    return n;
}

struct out {
    char *buf;
    size_t cap, len;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || o->len + n + 2 > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* One CSV cell, always quoted; a leading formula character gets a quote. */
static void csv_cell(struct out *o, const char *s, size_t n, bool first)
{
    if (!first)
        put(o, ",", 1);
    put(o, "\"", 1);
    if (s && n && strchr("=+-@\t\r", s[0]))
        put(o, "'", 1);
    for (size_t i = 0; s && i < n; i++) {
        if (s[i] == '"')
            put(o, "\"\"", 2);
        else if (s[i] == '\n' || s[i] == '\r')
            put(o, " ", 1);
        else
            put(o, &s[i], 1);
    }
    put(o, "\"", 1);
}

static long render_csv(const struct finding *f, char *buf, size_t cap, size_t vmax)
{
    struct out o = {buf, cap, 0, false};
    char ts[48], eid[16] = "", tmp[FINDING_VALUE_MAX * 2 + 256];
    finding_time(f->time_ns, ts, sizeof ts);
    if (f->has_event_id)
        snprintf(eid, sizeof eid, "%u", f->event_id);
    const char *cells[] = {ts, f->computer, f->channel, eid, f->rule_id, f->rule_title, f->level};
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
        csv_cell(&o, cells[i], cells[i] ? cut(cells[i], strlen(cells[i]), vmax) : 0, i == 0);
    size_t t = 0;
    for (uint32_t i = 0; i < f->ntags && t < sizeof tmp - 1; i++)
        t += (size_t)snprintf(tmp + t, sizeof tmp - t, "%s%s", i ? " " : "", f->tags[i]);
    csv_cell(&o, tmp, t < sizeof tmp ? t : sizeof tmp - 1, false);
    csv_cell(&o, f->file, f->file ? cut(f->file, strlen(f->file), vmax * 2) : 0, false);
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)f->record);
    csv_cell(&o, tmp, strlen(tmp), false);
    /* fields: "Name=value | Name=value" in one cell */
    put(&o, ",\"", 2);
    for (uint32_t i = 0; i < f->nfields; i++) {
        const struct sg_field *fl = &f->fields[i];
        if (i)
            put(&o, " | ", 3);
        put(&o, fl->name.s, cut(fl->name.s, fl->name.len, FINDING_NAME_MAX));
        put(&o, "=", 1);
        size_t n = cut(fl->value.s, fl->value.len, vmax);
        for (size_t k = 0; k < n; k++) {
            char c = fl->value.s[k];
            if (c == '"')
                put(&o, "\"\"", 2);
            else
                put(&o, (c == '\n' || c == '\r') ? " " : &fl->value.s[k], 1);
        }
    }
    put(&o, "\"\n", 2);
    if (o.full)
        return MAMORI_EFULL;
    buf[o.len] = 0;
    return (long)o.len;
}

/* Table cell: control characters become spaces, padded or cut to width
 * (counted in bytes; wide characters make a column uneven, never broken). */
static void table_cell(struct out *o, const char *s, size_t width, bool pad)
{
    size_t n = s ? strlen(s) : 0;
    n = cut(s ? s : "", n, width);
    for (size_t i = 0; i < n; i++)
        put(o, ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? " " : &s[i], 1);
    if (pad)
        for (size_t i = n; i < width; i++)
            put(o, " ", 1);
    put(o, "  ", pad ? 2 : 0);
}

static long render_table(const struct finding *f, char *buf, size_t cap, size_t vmax)
{
    struct out o = {buf, cap, 0, false};
    char ts[48], eid[16] = "-", val[FINDING_VALUE_MAX + 1];
    finding_time(f->time_ns, ts, sizeof ts);
    if (ts[0]) {
        ts[10] = ' ';
        ts[19] = 0; /* 2019-02-13 15:14:52 */
    } else {
        strcpy(ts, "-");
    }
    if (f->has_event_id)
        snprintf(eid, sizeof eid, "%u", f->event_id);
    table_cell(&o, ts, 19, true);
    table_cell(&o, f->computer ? f->computer : "-", 18, true);
    table_cell(&o, eid, 5, true);
    table_cell(&o, f->level, 13, true);
    table_cell(&o, f->rule_title, 60, true);
    for (uint32_t i = 0; i < f->nfields; i++) {
        const struct sg_field *fl = &f->fields[i];
        size_t n = cut(fl->value.s, fl->value.len, vmax < 200 ? vmax : 200);
        memcpy(val, fl->value.s, n);
        val[n] = 0;
        put(&o, i ? " " : "", i ? 1 : 0);
        table_cell(&o, fl->name.s, FINDING_NAME_MAX, false);
        put(&o, "=", 1);
        table_cell(&o, val, 200, false);
    }
    put(&o, "\n", 1);
    if (o.full)
        return MAMORI_EFULL;
    buf[o.len] = 0;
    return (long)o.len;
}

long finding_render(enum hunt_format fmt, const struct finding *f, char *buf, size_t cap)
{
    /* Try with full values; when the line does not fit, cut them shorter. */
    for (size_t vmax = FINDING_VALUE_MAX; vmax >= 64; vmax /= 4) {
        long n = fmt == HUNT_JSONL  ? render_json(f, buf, cap, vmax)
                 : fmt == HUNT_CSV ? render_csv(f, buf, cap, vmax)
                                   : render_table(f, buf, cap, vmax);
        if (n >= 0)
            return n;
    }
    return MAMORI_EFULL;
}

const char *finding_header(enum hunt_format fmt)
{
    switch (fmt) {
    case HUNT_CSV:
        return "timestamp,computer,channel,event_id,rule_id,rule_title,level,tags,file,record,"
               "fields\n";
    case HUNT_TABLE:
        return "time (UTC)           computer            eid    level          rule"
               "                                                          key fields\n";
    case HUNT_JSONL:
    default:
        return "";
    }
}
