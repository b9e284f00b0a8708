/* logs_json.c - JSON events (lines, concatenated objects, arrays) as events.
 *
 * Data enters through the input window (logs_input.c) as a stream of JSON
 * values separated by white space - one object per line, pretty-printed
 * objects one after another, or arrays of objects - parsed one object at a
 * time by json-c (at most LG_LINE_MAX bytes each, nested at most
 * LG_JSON_DEPTH deep). It leaves as one event per object:
 *   - nested objects flatten to dotted names ("process.command_line");
 *   - strings are their text (kept in json-c's object, not copied), numbers
 *     their JSON text, booleans true/false; null gives no field;
 *   - an array of scalars gives one field, its items joined by ","; an array
 *     holding objects gives their fields under the array's name, repeated;
 *   - Windows event data also appears under the plain names the EVTX
 *     flattening uses, so the same Sigma rules match: winlog.event_data.X,
 *     Event.EventData.X and Event.UserData.W.X give X; Event.System.A gives
 *     A, Event.System.A.#attributes.B gives A_B (Provider_Name,
 *     TimeCreated_SystemTime, Security_UserID, ...), Event.System.A.#text A;
 *     winlog.channel / event_id / computer_name / provider_name / record_id
 *     give Channel / EventID / Computer / Provider_Name / EventRecordID.
 * channel, event_id, computer, provider and time come from whichever of the
 * known names is present (see the tables below). Invalid JSON is reported
 * with the line where the object starts and json-c's reason, and skipped up
 * to the next line that starts with '{'; the rest is read. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "logs/logs_int.h"

#define LG_JSON_DEPTH 64      /* nesting json-c accepts */
#define LG_JSON_NAME_MAX 1024 /* a flattened name; longer: the field is dropped */

struct lg_json {
    struct json_tokener *tok;
    struct json_object *root; /* the object of the last event, until the next */
    bool in_array;            /* inside a top-level [ ... ] */
    char name[LG_JSON_NAME_MAX + 1];
    bool long_name; /* a name was dropped in this object */
};

/* ------------------------------------------------------ windows names -- */

/* Dotted names whose value is also given under a plain name. */
static const struct alias {
    const char *from, *to;
} ALIASES[] = {
    {"winlog.channel", "Channel"},
    {"winlog.event_id", "EventID"},
    {"winlog.computer_name", "Computer"},
    {"winlog.provider_name", "Provider_Name"},
    {"winlog.provider_guid", "Provider_Guid"},
    {"winlog.record_id", "EventRecordID"},
    {"winlog.task", "Task"},
    {"winlog.opcode", "Opcode"},
    {"winlog.version", "Version"},
    {"winlog.process.pid", "Execution_ProcessID"},
    {"winlog.process.thread.id", "Execution_ThreadID"},
    {"winlog.user.identifier", "Security_UserID"},
};

/* Prefixes whose remainder is the plain name as it is. */
static const char *const PLAIN_PREFIX[] = {
    "winlog.event_data.", "winlog.user_data.", "Event.EventData.", "EventData.",
};

static bool starts(const char *s, const char *p, size_t *plen)
{
    size_t n = strlen(p);
    if (strncmp(s, p, n))
        return false;
    *plen = n;
    return true;
}

/* "Provider.#attributes.Name" -> "Provider_Name", "EventID.#text" ->
 * "EventID", "Channel" -> "Channel"; anything else (deeper) -> false. */
static bool system_name(const char *rest, char *out, size_t cap)
{
    const char *dot = strchr(rest, '.');
    size_t a = dot ? (size_t)(dot - rest) : strlen(rest);
    if (a == 0 || a + 2 > cap)
        return false;
    memcpy(out, rest, a);
    out[a] = '\0';
    if (!dot)
        return true;
    if (!strcmp(dot + 1, "#text"))
        return true;
    const char *attr = "#attributes.";
    size_t al = strlen(attr);
    if (strncmp(dot + 1, attr, al) || strchr(dot + 1 + al, '.'))
        return false;
    size_t b = strlen(dot + 1 + al);
    if (b == 0 || a + 1 + b + 1 > cap)
        return false;
    out[a] = '_';
    memcpy(out + a + 1, dot + 1 + al, b + 1);
    return true;
}

/* The plain Windows name of a flattened name (in arena or static text), or
 * NULL. name is the arena copy; the result may point inside it. */
static const char *plain_name(struct lg_evb *b, const char *name, size_t *len)
{
    size_t p;
    for (size_t i = 0; i < sizeof PLAIN_PREFIX / sizeof *PLAIN_PREFIX; i++)
        if (starts(name, PLAIN_PREFIX[i], &p) && name[p]) {
            *len = strlen(name + p);
            return name + p;
        }
    if (starts(name, "Event.UserData.", &p) || starts(name, "UserData.", &p)) {
        const char *leaf = strrchr(name + p, '.'); /* below the wrapper element */
        if (leaf && leaf[1] && strncmp(leaf + 1, "#", 1)) {
            *len = strlen(leaf + 1);
            return leaf + 1;
        }
        return NULL;
    }
    if (starts(name, "Event.System.", &p) || starts(name, "System.", &p)) {
        char tmp[LG_JSON_NAME_MAX + 1];
        if (!system_name(name + p, tmp, sizeof tmp))
            return NULL;
        *len = strlen(tmp);
        return lg_evb_copy(b, tmp, *len);
    }
    if (name[0] == 'w')
        for (size_t i = 0; i < sizeof ALIASES / sizeof *ALIASES; i++)
            if (!strcmp(name, ALIASES[i].from)) {
                *len = strlen(ALIASES[i].to);
                return ALIASES[i].to;
            }
    return NULL;
}

/* -------------------------------------------------------- flattening -- */

static void add_leaf(struct lg_reader *r, size_t nlen, const char *val, size_t vlen)
{
    struct lg_evb *b = &r->evb;
    const char *name = lg_evb_copy(b, r->json->name, nlen);
    if (!name)
        return;
    if (memchr(val, '\0', vlen)) { /* \u0000 inside a string */
        char *v = lg_evb_copy(b, val, vlen);
        if (!v)
            return;
        for (size_t i = 0; i < vlen; i++)
            if (!v[i])
                v[i] = '?';
        val = v;
    }
    if (!lg_evb_add(b, name, nlen, val, vlen))
        return;
    size_t plen;
    const char *plain = plain_name(b, name, &plen);
    if (plain)
        lg_evb_add(b, plain, plen, val, vlen);
}

static const char *scalar_text(struct json_object *v, size_t *len)
{
    if (json_object_is_type(v, json_type_string)) {
        *len = (size_t)json_object_get_string_len(v);
        return json_object_get_string(v);
    }
    const char *s = json_object_get_string(v); /* numbers keep their text */
    *len = s ? strlen(s) : 0;
    return s;
}

static bool is_scalar(struct json_object *v)
{
    return v && !json_object_is_type(v, json_type_object) &&
           !json_object_is_type(v, json_type_array);
}

static void flatten(struct lg_reader *r, struct json_object *v, size_t nlen);

/* Scalars joined by "," into one field (built in the arena's free space:
 * nothing else is copied meanwhile); then objects and nested arrays
 * flattened under the same name. */
static void flatten_array(struct lg_reader *r, struct json_object *v, size_t nlen)
{
    size_t n = json_object_array_length(v);
    struct lg_evb *b = &r->evb;
    char *joined = NULL;
    size_t jl = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *x = json_object_array_get_idx(v, i);
        if (!is_scalar(x))
            continue;
        size_t l;
        const char *s = scalar_text(x, &l);
        char *room = lg_evb_room(b, jl + 1 + l);
        if (!room)
            return;
        if (!joined)
            joined = room;
        if (jl)
            joined[jl++] = ',';
        memcpy(joined + jl, s, l);
        jl += l;
    }
    if (joined) {
        lg_evb_commit(b, jl);
        add_leaf(r, nlen, joined, jl);
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *x = json_object_array_get_idx(v, i);
        if (x && !is_scalar(x))
            flatten(r, x, nlen);
    }
}

static void flatten(struct lg_reader *r, struct json_object *v, size_t nlen)
{
    struct lg_json *j = r->json;
    if (json_object_is_type(v, json_type_array)) {
        flatten_array(r, v, nlen);
        return;
    }
    if (!json_object_is_type(v, json_type_object)) {
        if (v) {
            size_t l;
            const char *s = scalar_text(v, &l);
            if (s)
                add_leaf(r, nlen, s, l);
        }
        return;
    }
    json_object_object_foreach(v, key, x)
    {
        if (!x)
            continue; /* null: no field */
        size_t kl = strlen(key);
        size_t at = nlen ? nlen + 1 : 0;
        if (at + kl > LG_JSON_NAME_MAX) {
            j->long_name = true;
            continue;
        }
        if (nlen)
            j->name[nlen] = '.';
        memcpy(j->name + at, key, kl);
        j->name[at + kl] = '\0';
        flatten(r, x, at + kl);
    }
}

/* ---------------------------------------------------------- identity -- */

static const struct sg_str *first_of(const struct lg_evb *b, const char *const *names)
{
    for (; *names; names++) {
        const struct sg_str *s = lg_evb_get(b, *names);
        if (s && s->len)
            return s;
    }
    return NULL;
}

static const char *const CHANNEL[] = {"Channel", NULL};
static const char *const EVENT_ID[] = {"EventID", "event.code", NULL};
static const char *const COMPUTER[] = {"Computer", "Hostname", "host.name", "host.hostname",
                                       "computer_name", NULL};
static const char *const PROVIDER[] = {"Provider_Name", "SourceName", "ProviderName",
                                       "event.provider", NULL};
static const char *const TIME[] = {"TimeCreated_SystemTime", "@timestamp", "EventTime",
                                   "timestamp", "UtcTime", "event.created", NULL};

static void identity(struct lg_reader *r)
{
    struct sg_event *e = &r->ev;
    const struct sg_str *s;
    if ((s = first_of(&r->evb, CHANNEL)))
        e->channel = *s;
    if ((s = first_of(&r->evb, COMPUTER)))
        e->computer = *s;
    if ((s = first_of(&r->evb, PROVIDER)))
        e->provider = *s;
    if ((s = first_of(&r->evb, EVENT_ID))) {
        char *end;
        unsigned long id = strtoul(s->s, &end, 10);
        if (end != s->s && !*end && id <= UINT32_MAX && s->s[0] != '-') {
            e->event_id = (uint32_t)id;
            e->has_event_id = true;
        }
    }
    for (const char *const *t = TIME; *t; t++)
        if ((s = lg_evb_get(&r->evb, *t)) && lg_parse_iso(s->s, s->len, &e->time_ns, NULL))
            break;
}

/* ------------------------------------------------------------ stream -- */

int lg_json_open(struct lg_reader *r)
{
    if (!r->json) {
        if (!(r->json = calloc(1, sizeof *r->json)))
            return MAMORI_ENOMEM;
        if (!(r->json->tok = json_tokener_new_ex(LG_JSON_DEPTH))) {
            free(r->json);
            r->json = NULL;
            return MAMORI_ENOMEM;
        }
        json_tokener_set_flags(r->json->tok, JSON_TOKENER_VALIDATE_UTF8);
    }
    if (r->json->root)
        json_object_put(r->json->root);
    r->json->root = NULL;
    r->json->in_array = false;
    return 0;
}

void lg_json_free(struct lg_reader *r)
{
    if (!r->json)
        return;
    if (r->json->root)
        json_object_put(r->json->root);
    json_tokener_free(r->json->tok);
    free(r->json);
    r->json = NULL;
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips white space (and a byte order mark); false at the end of input. */
static bool skip_space(struct lg_input *in)
{
    for (;;) {
        size_t avail = lg_in_fill(in, 3);
        if (avail == 0)
            return false;
        const char *p = in->buf + in->start;
        size_t i = 0;
        if (avail >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
            i = 3;
        while (i < avail && space(p[i]))
            i++;
        lg_in_consume(in, i);
        if (i < avail)
            return true;
    }
}

/* Consumes the rest of the current line, then whole lines until one whose
 * first non-blank byte is '{' (resynchronising after damage). */
static void skip_to_object_line(struct lg_input *in)
{
    bool line_start = false;
    for (;;) {
        size_t avail = lg_in_fill(in, LG_LINE_MAX);
        if (avail == 0)
            return;
        const char *p = in->buf + in->start;
        size_t i = 0;
        if (line_start) {
            while (i < avail && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
                i++;
            if (i < avail && p[i] == '{') {
                lg_in_consume(in, i);
                return;
            }
        }
        const char *nl = memchr(p + i, '\n', avail - i);
        lg_in_consume(in, nl ? (size_t)(nl - p) + 1 : avail);
        line_start = nl != NULL;
    }
}

/* Parses the object at the window's start into j->root; 1, 0 at the end,
 * or -1 after reporting damage (already skipped). */
static int parse_one(struct lg_reader *r, uint64_t *line)
{
    struct lg_json *j = r->json;
    struct lg_input *in = &r->in;
    for (;;) {
        if (!skip_space(in))
            return 0;
        char c = in->buf[in->start];
        if (j->in_array && (c == ',' || c == ']')) {
            j->in_array = c == ',';
            lg_in_consume(in, 1);
            continue;
        }
        if (!j->in_array && c == '[') {
            j->in_array = true;
            lg_in_consume(in, 1);
            continue;
        }
        break;
    }
    *line = in->line;
    size_t avail = lg_in_fill(in, LG_LINE_MAX + 1);
    size_t len = avail > LG_LINE_MAX ? LG_LINE_MAX : avail;
    const char *p = in->buf + in->start;
    json_tokener_reset(j->tok);
    struct json_object *o = json_tokener_parse_ex(j->tok, p, (int)len);
    enum json_tokener_error err = json_tokener_get_error(j->tok);
    if (o && json_object_is_type(o, json_type_object)) {
        lg_in_consume(in, json_tokener_get_parse_end(j->tok));
        j->root = o;
        return 1;
    }
    if (o) {
        json_object_put(o);
        lg_report(r, *line, -1, 1, "%s:%llu: a JSON value that is not an object; skipped", r->name,
                  (unsigned long long)*line);
        lg_in_consume(in, json_tokener_get_parse_end(j->tok));
        return -1;
    }
    if (err == json_tokener_continue && len == LG_LINE_MAX)
        lg_report(r, *line, -1, 1, "%s:%llu: JSON object longer than %u bytes; skipped", r->name,
                  (unsigned long long)*line, LG_LINE_MAX);
    else if (err == json_tokener_continue)
        lg_report(r, *line, -1, 1, "%s:%llu: JSON object cut short by the end of the file",
                  r->name, (unsigned long long)*line);
    else
        lg_report(r, *line, -1, 1, "%s:%llu: invalid JSON (%s); skipped to the next line that "
                  "starts with '{'", r->name, (unsigned long long)*line,
                  json_tokener_error_desc(err));
    skip_to_object_line(in);
    return -1;
}

int lg_json_next(struct lg_reader *r, const struct sg_event **ev)
{
    struct lg_json *j = r->json;
    if (j->root)
        json_object_put(j->root);
    j->root = NULL;
    uint64_t line;
    int rc;
    while ((rc = parse_one(r, &line)) < 0)
        ;
    if (rc == 0)
        return 0;
    lg_ev_begin(r, line);
    j->long_name = false;
    j->name[0] = '\0';
    flatten(r, j->root, 0);
    identity(r);
    lg_ev_finish(r);
    if (j->long_name)
        lg_report(r, line, -1, 0, "%s:%llu: field names longer than %u bytes dropped", r->name,
                  (unsigned long long)line, LG_JSON_NAME_MAX);
    *ev = &r->ev;
    return 1;
}
