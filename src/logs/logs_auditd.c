/* logs_auditd.c - raw audit.log records joined by serial into events.
 *
 * Data enters as lines ("[node=N ]type=T msg=audit(SEC.MSEC:SERIAL): k=v
 * ...[\x1d K="v" ...]") from the input window. The records of one serial are
 * kept (their text copied into the serial's slot) until the event is
 * complete: at its EOE record; at once for user-space records (USER_*,
 * CRED_*, SERVICE_*, ... which never have more than one); or when the
 * window passes - more than LG_AUDIT_OPEN serials open, more than
 * LG_AUDIT_WINDOW lines since its first record, more than LG_AUDIT_POOL
 * bytes kept in all, or the end of the file. Records of different serials
 * may be interleaved.
 *
 * An event leaves with, per record in file order, a field "type" and every
 * key=value of the record (quotes removed; msg='...' opened into its own
 * pairs; the enriched part after \x1d too), pointing into the slot (parsed
 * in place, no further copy). Hex-encoded values of the string fields
 * (proctitle, aN, aN[k], name, cmd, comm, exe, cwd, path, acct, data, key)
 * are decoded in place, NUL bytes becoming spaces. With an EXECVE record
 * these are added: Image (SYSCALL exe), CommandLine (arguments joined by
 * single spaces), CurrentDirectory (CWD cwd), ProcessId (pid),
 * ParentProcessId (ppid), User (enriched UID, else uid), LogonId (ses) and
 * ParentImage when an earlier event of the file showed the parent's exe
 * (a map of LG_AUDIT_PIDS pids, newest wins). channel "linux/auditd",
 * provider "auditd", computer from node=, time from the audit stamp. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"
#include "logs/logs_int.h"

#define LG_AUDIT_OPEN 64              /* serials kept open at once */
#define LG_AUDIT_WINDOW 1024          /* lines after which an open serial is emitted */
#define LG_AUDIT_EVENT_MAX (1u << 20) /* record text kept for one serial */
#define LG_AUDIT_POOL (8u << 20)      /* record text kept for all open serials */
#define LG_AUDIT_PIDS 4096            /* pid -> exe map entries (direct-mapped) */
#define LG_AUDIT_EXE_MAX 1024         /* longest exe kept in the map */
#define LG_AUDIT_NODE_MAX 256

struct au_slot {
    bool used, dropped;
    uint64_t serial, first_line;
    int64_t time_ns;
    char node[LG_AUDIT_NODE_MAX];
    char *buf; /* records: "TYPE\0body\0" one after another */
    size_t len, cap;
    uint32_t nrec;
};

struct au_pid {
    uint32_t pid;
    char *exe;
};

/* One slot more than may be open: the event handed out lives in it until
 * the next call while a new serial takes the place it left. */
#define AU_SLOTS (LG_AUDIT_OPEN + 1)

struct lg_audit {
    struct au_slot slot[AU_SLOTS];
    size_t pool; /* bytes of record text in all slots */
    int emitted; /* slot handed out by the last event, freed at the next call */
    struct au_pid pids[LG_AUDIT_PIDS];
};

/* --------------------------------------------------------- lifetime -- */

static void slot_clear(struct lg_audit *a, struct au_slot *s)
{
    a->pool -= s->len;
    s->used = s->dropped = false;
    s->len = 0;
    s->nrec = 0;
    if (s->cap > 64 * 1024) { /* give back what a rare large event took */
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
}

static void pids_clear(struct lg_audit *a)
{
    for (int i = 0; i < LG_AUDIT_PIDS; i++) {
        free(a->pids[i].exe);
        a->pids[i].exe = NULL;
    }
}

int lg_audit_open(struct lg_reader *r)
{
    if (!r->audit && !(r->audit = calloc(1, sizeof *r->audit)))
        return MAMORI_ENOMEM;
    r->audit->emitted = -1;
    return 0;
}

void lg_audit_close(struct lg_reader *r)
{
    struct lg_audit *a = r->audit;
    if (!a)
        return;
    for (int i = 0; i < AU_SLOTS; i++)
        if (a->slot[i].used)
            slot_clear(a, &a->slot[i]);
    a->emitted = -1;
    pids_clear(a);
}

void lg_audit_free(struct lg_reader *r)
{
    struct lg_audit *a = r->audit;
    if (!a)
        return;
    lg_audit_close(r);
    for (int i = 0; i < AU_SLOTS; i++)
        free(a->slot[i].buf);
    free(a);
    r->audit = NULL;
}

/* ------------------------------------------------------- line header -- */

struct au_head {
    const char *node;
    size_t node_len;
    const char *type;
    size_t type_len;
    int64_t time_ns;
    uint64_t serial;
    const char *body; /* after "): " */
    size_t body_len;
};

static bool parse_u64(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    while (s < end && *s >= '0' && *s <= '9' && x < UINT64_MAX / 10 - 10)
        x = x * 10 + (uint64_t)(*s++ - '0');
    if (s == *p)
        return false;
    *p = s;
    *v = x;
    return true;
}

static bool parse_head(const char *line, size_t len, struct au_head *h)
{
    const char *p = line, *end = line + len;
    memset(h, 0, sizeof *h);
    if (len > 5 && !memcmp(p, "node=", 5)) {
        const char *sp = memchr(p, ' ', len);
        if (!sp)
            return false;
        h->node = p + 5;
        h->node_len = (size_t)(sp - p - 5);
        p = sp + 1;
    }
    if (end - p < 5 || memcmp(p, "type=", 5))
        return false;
    p += 5;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp || sp == p || end - sp < 11 || memcmp(sp, " msg=audit(", 11))
        return false;
    h->type = p;
    h->type_len = (size_t)(sp - p);
    p = sp + 11;
    uint64_t sec, ms = 0;
    if (!parse_u64(&p, end, &sec) || sec > 9000000000u)
        return false;
    if (p < end && *p == '.') {
        p++;
        const char *f = p;
        if (!parse_u64(&p, end, &ms) || p - f > 9)
            return false;
        for (ptrdiff_t i = p - f; i < 9; i++)
            ms *= 10;
    }
    if (p >= end || *p++ != ':' || !parse_u64(&p, end, &h->serial))
        return false;
    if (p >= end || *p++ != ')')
        return false;
    if (p < end && *p == ':')
        p++;
    while (p < end && *p == ' ')
        p++;
    h->time_ns = (int64_t)sec * 1000000000 + (int64_t)ms;
    h->body = p;
    h->body_len = (size_t)(end - p);
    return true;
}

/* ------------------------------------------------------------ slots -- */

static struct au_slot *find_slot(struct lg_audit *a, uint64_t serial, int64_t time_ns)
{
    for (int i = 0; i < AU_SLOTS; i++)
        if (a->slot[i].used && a->slot[i].serial == serial && a->slot[i].time_ns == time_ns &&
            i != a->emitted)
            return &a->slot[i];
    return NULL;
}

/* A free slot, or NULL when LG_AUDIT_OPEN serials are open. */
static struct au_slot *free_slot(struct lg_audit *a)
{
    int open = 0;
    struct au_slot *f = NULL;
    for (int i = 0; i < AU_SLOTS; i++) {
        if (a->slot[i].used)
            open += i != a->emitted;
        else if (!f)
            f = &a->slot[i];
    }
    return open < LG_AUDIT_OPEN ? f : NULL;
}

/* The open serial whose first record is oldest, or -1. */
static int oldest(const struct lg_audit *a)
{
    int best = -1;
    for (int i = 0; i < AU_SLOTS; i++)
        if (a->slot[i].used && i != a->emitted &&
            (best < 0 || a->slot[i].first_line < a->slot[best].first_line))
            best = i;
    return best;
}

static bool slot_append(struct lg_audit *a, struct au_slot *s, const struct au_head *h)
{
    size_t need = h->type_len + 1 + h->body_len + 1;
    if (s->len + need > LG_AUDIT_EVENT_MAX) {
        s->dropped = true;
        return false;
    }
    if (s->len + need > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + need)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) {
            s->dropped = true;
            return false;
        }
        s->buf = b;
        s->cap = cap;
    }
    char *d = s->buf + s->len;
    memcpy(d, h->type, h->type_len);
    d[h->type_len] = '\0';
    memcpy(d + h->type_len + 1, h->body, h->body_len);
    d[h->type_len + 1 + h->body_len] = '\0';
    s->len += need;
    a->pool += need;
    s->nrec++;
    return true;
}

/* User-space records stand alone: no EOE follows them. */
static bool standalone(const char *t, size_t n)
{
    static const char *const pre[] = {
        "USER_", "CRED_", "SERVICE_", "DAEMON_", "ANOM_",         "SYSTEM_", "ADD_",       "DEL_",
        "ACCT_", "GRP_",  "USYS_",    "LOGIN",   "CONFIG_CHANGE", "ROLE_",   "TRUSTED_APP"};
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++) {
        size_t l = strlen(pre[i]);
        if (n >= l && !memcmp(t, pre[i], l))
            return true;
    }
    return false;
}

/* ---------------------------------------------------- event building -- */

static bool hex_key(const char *k)
{
    static const char *const keys[] = {"proctitle", "name", "cmd",  "comm", "exe", "cwd",
                                       "path",      "acct", "data", "key",  NULL};
    if (k[0] == 'a' && k[1] >= '0' && k[1] <= '9') {
        const char *p = k + 1;
        while (*p >= '0' && *p <= '9')
            p++;
        return *p == '\0' || *p == '[';
    }
    for (int i = 0; keys[i]; i++)
        if (!strcmp(k, keys[i]))
            return true;
    return false;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* Decodes v (n hex digits, n even) in place; NUL bytes become spaces and
 * trailing ones are dropped. Returns the new length. */
static size_t unhex(char *v, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        char c = (char)(hexval(v[i]) << 4 | hexval(v[i + 1]));
        v[o++] = c ? c : ' ';
    }
    while (o > 0 && v[o - 1] == ' ')
        o--;
    v[o] = '\0';
    lg_utf8_fix(v, o);
    return o;
}

static bool all_hex(const char *v, size_t n)
{
    if (n < 2 || n % 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hexval(v[i]) < 0)
            return false;
    return true;
}

/* What the EXECVE synthesis needs, captured while the fields are added. */
struct au_pick {
    const struct sg_str *exe, *pid, *ppid, *uid, *uid_name, *ses, *cwd;
    bool execve;
    uint32_t arg_first, arg_end; /* EXECVE fields [first, end) */
};

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '[' || c == ']' || c == '.';
}

/* Parses "k=v k="v" k='...'" at p (NUL-terminated, modified in place) into
 * fields. Tokens without '=' (AVC's "denied { read } for") are skipped. */
static void parse_pairs(struct lg_reader *r, char *p)
{
    while (*p) {
        while (*p == ' ' || *p == '\x1d' || *p == '\t')
            p++;
        char *k = p;
        while (key_char(*p))
            p++;
        if (*p != '=' || p == k) {
            while (*p && *p != ' ' && *p != '\x1d')
                p++;
            continue;
        }
        *p++ = '\0';
        char *v = p;
        size_t vl;
        bool quoted = *v == '"';
        if (*v == '\'') { /* msg='k=v ...': its own pairs */
            char *e = strchr(v + 1, '\'');
            char *next = e ? e + 1 : v + strlen(v);
            if (e)
                *e = '\0';
            parse_pairs(r, v + 1);
            p = next;
            continue;
        }
        if (quoted) {
            v++;
            char *e = strchr(v, '"');
            p = e ? e + 1 : v + strlen(v);
            vl = e ? (size_t)(e - v) : strlen(v);
        } else {
            while (*p && *p != ' ' && *p != '\x1d')
                p++;
            vl = (size_t)(p - v);
        }
        if (*p && p == v + vl) /* the separator is overwritten below */
            p++;
        v[vl] = '\0';
        if (!quoted && hex_key(k) && all_hex(v, vl))
            vl = unhex(v, vl);
        lg_evb_add(&r->evb, k, strlen(k), v, vl);
    }
}

static const struct sg_str *field_in(const struct lg_evb *b, uint32_t from, uint32_t to,
                                     const char *name)
{
    for (uint32_t i = from; i < to; i++)
        if (!strcmp(b->f[i].name.s, name))
            return &b->f[i].value;
    return NULL;
}

static void add_fields(struct lg_reader *r, struct au_slot *s, struct au_pick *pk)
{
    struct lg_evb *b = &r->evb;
    char *p = s->buf, *end = s->buf + s->len;
    while (p < end) {
        char *type = p;
        size_t tl = strlen(type);
        char *body = type + tl + 1;
        size_t bl = strlen(body);
        lg_evb_add(b, "type", 4, type, tl);
        uint32_t from = b->n;
        parse_pairs(r, body);
        if (!strcmp(type, "SYSCALL")) {
            pk->exe = field_in(b, from, b->n, "exe");
            pk->pid = field_in(b, from, b->n, "pid");
            pk->ppid = field_in(b, from, b->n, "ppid");
            pk->uid = field_in(b, from, b->n, "uid");
            pk->uid_name = field_in(b, from, b->n, "UID");
            pk->ses = field_in(b, from, b->n, "ses");
        } else if (!strcmp(type, "CWD")) {
            pk->cwd = field_in(b, from, b->n, "cwd");
        } else if (!strcmp(type, "EXECVE") && !pk->execve) {
            pk->execve = true;
            pk->arg_first = from;
            pk->arg_end = b->n;
        }
        p = body + bl + 1;
    }
}

/* "a3" -> 3, "a3[1]" -> 3 and *part 1; -1 when not an argument. */
static long arg_index(const char *k, long *part)
{
    if (k[0] != 'a' || k[1] < '0' || k[1] > '9')
        return -1;
    char *e;
    long i = strtol(k + 1, &e, 10);
    *part = 0;
    if (*e == '[')
        *part = strtol(e + 1, &e, 10) + (*e == ']' ? 0 : -1000000);
    else if (*e)
        return -1;
    return i;
}

static void add_synth(struct lg_evb *b, const char *name, const struct sg_str *v)
{
    if (v && v->s)
        lg_evb_add(b, name, strlen(name), v->s, v->len);
}

static const char *pid_exe(struct lg_audit *a, const struct sg_str *pid)
{
    if (!pid)
        return NULL;
    uint32_t n = (uint32_t)strtoul(pid->s, NULL, 10);
    struct au_pid *e = &a->pids[n % LG_AUDIT_PIDS];
    return e->exe && e->pid == n ? e->exe : NULL;
}

static void remember_exe(struct lg_audit *a, const struct au_pick *pk)
{
    if (!pk->pid || !pk->exe || pk->exe->len > LG_AUDIT_EXE_MAX)
        return;
    uint32_t n = (uint32_t)strtoul(pk->pid->s, NULL, 10);
    struct au_pid *e = &a->pids[n % LG_AUDIT_PIDS];
    char *x = malloc(pk->exe->len + 1);
    if (!x)
        return;
    memcpy(x, pk->exe->s, pk->exe->len + 1);
    free(e->exe);
    e->exe = x;
    e->pid = n;
}

static void synthesise(struct lg_reader *r, const struct au_pick *pk)
{
    struct lg_evb *b = &r->evb;
    add_synth(b, "Image", pk->exe);
    /* CommandLine: arguments in order, parts of one argument concatenated. */
    size_t total = 0;
    for (uint32_t i = pk->arg_first; i < pk->arg_end; i++)
        total += b->f[i].value.len + 1;
    char *cl = lg_evb_room(b, total);
    if (cl) {
        size_t n = 0;
        long last = -1, part;
        for (uint32_t i = pk->arg_first; i < pk->arg_end; i++) {
            long idx = arg_index(b->f[i].name.s, &part);
            if (idx < 0 || part < 0)
                continue;
            if (n && idx != last)
                cl[n++] = ' ';
            memcpy(cl + n, b->f[i].value.s, b->f[i].value.len);
            n += b->f[i].value.len;
            last = idx;
        }
        lg_evb_commit(b, n);
        lg_evb_add(b, "CommandLine", 11, cl, n);
    }
    add_synth(b, "CurrentDirectory", pk->cwd);
    add_synth(b, "ProcessId", pk->pid);
    add_synth(b, "ParentProcessId", pk->ppid);
    add_synth(b, "User", pk->uid_name ? pk->uid_name : pk->uid);
    add_synth(b, "LogonId", pk->ses);
    const char *pexe = pid_exe(r->audit, pk->ppid);
    if (pexe) {
        const char *c = lg_evb_copy(b, pexe, strlen(pexe));
        if (c)
            lg_evb_add(b, "ParentImage", 11, c, strlen(c));
    }
}

static const struct sg_event *emit(struct lg_reader *r, int i)
{
    struct lg_audit *a = r->audit;
    struct au_slot *s = &a->slot[i];
    lg_ev_begin(r, s->first_line);
    struct sg_event *e = &r->ev;
    e->time_ns = s->time_ns;
    e->channel = (struct sg_str){"linux/auditd", 12};
    e->provider = (struct sg_str){"auditd", 6};
    if (s->node[0]) {
        size_t nl = strlen(s->node);
        e->computer = (struct sg_str){s->node, (uint32_t)nl};
        lg_evb_add(&r->evb, "node", 4, s->node, nl);
    }
    struct au_pick pk = {0};
    add_fields(r, s, &pk);
    if (pk.execve)
        synthesise(r, &pk);
    remember_exe(a, &pk);
    lg_ev_finish(r);
    if (s->dropped)
        lg_report(r, s->first_line, -1, 0,
                  "%s:%llu: audit event %llu has more than %u bytes of "
                  "records; later records dropped",
                  r->name, (unsigned long long)s->first_line, (unsigned long long)s->serial,
                  LG_AUDIT_EVENT_MAX);
    a->emitted = i;
    return e;
}

/* ---------------------------------------------------------- reading -- */

/* A slot the window forces out now, or -1. */
static int overdue(struct lg_reader *r, bool at_end)
{
    struct lg_audit *a = r->audit;
    int o = oldest(a);
    if (o < 0)
        return -1;
    if (at_end || a->pool > LG_AUDIT_POOL || r->in.line > a->slot[o].first_line + LG_AUDIT_WINDOW)
        return o;
    return -1;
}

/* Files one line; returns a slot completed by it, or -1. */
static int take_line(struct lg_reader *r, char *line, size_t len, uint64_t no)
{
    struct lg_audit *a = r->audit;
    if (!lg_utf8_ok(line, len))
        lg_utf8_fix(line, len);
    struct au_head h;
    if (!parse_head(line, len, &h)) {
        if (len > 0)
            lg_report(r, no, -1, 0,
                      "%s:%llu: not an audit record (type=... msg=audit(...)); "
                      "skipped",
                      r->name, (unsigned long long)no);
        return -1;
    }
    struct au_slot *s = find_slot(a, h.serial, h.time_ns);
    bool eoe = h.type_len == 3 && !memcmp(h.type, "EOE", 3);
    if (!s) {
        if (eoe)
            return -1; /* the end of an event already emitted by the window */
        if (!(s = free_slot(a)))
            return -2; /* caller emits the oldest first, then retries */
        s->used = true;
        s->serial = h.serial;
        s->time_ns = h.time_ns;
        s->first_line = no;
        size_t nl = h.node ? utf8_cut(h.node, h.node_len, LG_AUDIT_NODE_MAX - 1) : 0;
        memcpy(s->node, h.node ? h.node : "", nl);
        s->node[nl] = '\0';
    }
    if (eoe)
        return (int)(s - a->slot);
    slot_append(a, s, &h);
    if (s->nrec == 1 && standalone(h.type, h.type_len))
        return (int)(s - a->slot);
    return -1;
}

int lg_audit_next(struct lg_reader *r, const struct sg_event **ev)
{
    struct lg_audit *a = r->audit;
    if (a->emitted >= 0) {
        slot_clear(a, &a->slot[a->emitted]);
        a->emitted = -1;
    }
    char *line;
    size_t len;
    uint64_t no;
    for (;;) {
        int i = overdue(r, false);
        if (i >= 0) {
            *ev = emit(r, i);
            return 1;
        }
        int rc = lg_in_line(&r->in, &line, &len, &no);
        if (rc == LG_LINE_END)
            break;
        if (rc == LG_LINE_LONG) {
            lg_report(r, no, -1, 0, "%s:%llu: line longer than %u bytes; skipped", r->name,
                      (unsigned long long)no, LG_LINE_MAX);
            continue;
        }
        /* The line lives in the input window: file it before the next read. */
        i = take_line(r, line, len, no);
        if (i == -2) { /* every slot open: the oldest goes out, the line waits */
            *ev = emit(r, oldest(a));
            take_line(r, line, len, no); /* completes nothing: a new serial */
            return 1;
        }
        if (i >= 0) {
            *ev = emit(r, i);
            return 1;
        }
    }
    int i = overdue(r, true);
    if (i < 0)
        return 0;
    *ev = emit(r, i);
    return 1;
}
