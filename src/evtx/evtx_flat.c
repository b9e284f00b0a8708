/* evtx_flat.c - the XML of one event as flat fields.
 *
 * Data enters as calls in document order from the binary XML runner (element
 * start, attribute, end of the start tag, end, text pieces, values) and
 * leaves in the record: System slots (rec->sys) and EventData / UserData
 * fields (the caller's array, at most maxfields). Which text is wanted is
 * decided by a zone kept per open element (see evtx.h for the rules); text
 * is copied only while a capture is running. Never fails: an element deeper
 * than EVTX_XML_DEPTH and everything below it are ignored. */
#include "evtx/evtx_int.h"

enum zone {
    Z_ROOT,   /* no element open */
    Z_EVENT,  /* the root element (Event) */
    Z_SYSTEM, /* System */
    Z_SYS,    /* a child of System */
    Z_EDATA,  /* EventData, ProcessingErrorData */
    Z_DATA,   /* EventData/Data: a field, named by its Name attribute */
    Z_UDATA,  /* UserData */
    Z_UWRAP,  /* UserData's child (or a UserData element that has children) */
    Z_LEAF,   /* a field named after its element, unless it has children */
    Z_INNER,  /* below a Data element: its text joins the Data value */
    Z_IGNORE, /* nothing below is kept */
};

static const struct {
    const char *s;
    uint8_t len;
} ATOMS[A_COUNT] = {
#define A(id, str) [id] = {str, sizeof str - 1}
    A(A_OTHER, ""),
    A(A_EVENT, "Event"),
    A(A_SYSTEM, "System"),
    A(A_PROVIDER, "Provider"),
    A(A_NAME, "Name"),
    A(A_GUID, "Guid"),
    A(A_EVENT_SOURCE_NAME, "EventSourceName"),
    A(A_EVENT_ID, "EventID"),
    A(A_QUALIFIERS, "Qualifiers"),
    A(A_VERSION, "Version"),
    A(A_LEVEL, "Level"),
    A(A_TASK, "Task"),
    A(A_OPCODE, "Opcode"),
    A(A_KEYWORDS, "Keywords"),
    A(A_TIME_CREATED, "TimeCreated"),
    A(A_SYSTEM_TIME, "SystemTime"),
    A(A_EVENT_RECORD_ID, "EventRecordID"),
    A(A_CORRELATION, "Correlation"),
    A(A_ACTIVITY_ID, "ActivityID"),
    A(A_RELATED_ACTIVITY_ID, "RelatedActivityID"),
    A(A_EXECUTION, "Execution"),
    A(A_PROCESS_ID, "ProcessID"),
    A(A_THREAD_ID, "ThreadID"),
    A(A_CHANNEL, "Channel"),
    A(A_COMPUTER, "Computer"),
    A(A_SECURITY, "Security"),
    A(A_USER_ID, "UserID"),
    A(A_EVENT_DATA, "EventData"),
    A(A_DATA, "Data"),
    A(A_USER_DATA, "UserData"),
    A(A_PROCESSING_ERROR_DATA, "ProcessingErrorData"),
#undef A
};

static const char *const SYS_NAMES[EVTX_SYS_COUNT] = {
    [EVTX_SYS_PROVIDER_NAME] = "Provider_Name",
    [EVTX_SYS_PROVIDER_GUID] = "Provider_Guid",
    [EVTX_SYS_EVENT_SOURCE_NAME] = "Provider_EventSourceName",
    [EVTX_SYS_EVENT_ID] = "EventID",
    [EVTX_SYS_QUALIFIERS] = "EventID_Qualifiers",
    [EVTX_SYS_VERSION] = "Version",
    [EVTX_SYS_LEVEL] = "Level",
    [EVTX_SYS_TASK] = "Task",
    [EVTX_SYS_OPCODE] = "Opcode",
    [EVTX_SYS_KEYWORDS] = "Keywords",
    [EVTX_SYS_TIME_CREATED] = "TimeCreated_SystemTime",
    [EVTX_SYS_EVENT_RECORD_ID] = "EventRecordID",
    [EVTX_SYS_ACTIVITY_ID] = "Correlation_ActivityID",
    [EVTX_SYS_RELATED_ACTIVITY_ID] = "Correlation_RelatedActivityID",
    [EVTX_SYS_PROCESS_ID] = "Execution_ProcessID",
    [EVTX_SYS_THREAD_ID] = "Execution_ThreadID",
    [EVTX_SYS_CHANNEL] = "Channel",
    [EVTX_SYS_COMPUTER] = "Computer",
    [EVTX_SYS_USER_ID] = "Security_UserID",
};

const char *evtx_sys_name(enum evtx_sys slot)
{
    return (unsigned)slot < EVTX_SYS_COUNT ? SYS_NAMES[slot] : "";
}

uint16_t flat_atom(const char *s, size_t n)
{
    for (uint16_t a = 1; a < A_COUNT; a++)
        if (ATOMS[a].len == n && !memcmp(ATOMS[a].s, s, n))
            return a;
    return A_OTHER;
}

/* System child element -> slot of its text (-1: none, only attributes). */
static int8_t sys_text_slot(uint8_t atom)
{
    switch (atom) {
    case A_EVENT_ID: return EVTX_SYS_EVENT_ID;
    case A_VERSION: return EVTX_SYS_VERSION;
    case A_LEVEL: return EVTX_SYS_LEVEL;
    case A_TASK: return EVTX_SYS_TASK;
    case A_OPCODE: return EVTX_SYS_OPCODE;
    case A_KEYWORDS: return EVTX_SYS_KEYWORDS;
    case A_EVENT_RECORD_ID: return EVTX_SYS_EVENT_RECORD_ID;
    case A_CHANNEL: return EVTX_SYS_CHANNEL;
    case A_COMPUTER: return EVTX_SYS_COMPUTER;
    default: return -1;
    }
}

/* (System child, attribute) -> slot, or -1. */
static int8_t sys_attr_slot(uint8_t elem, uint16_t attr)
{
    switch (elem) {
    case A_PROVIDER:
        return attr == A_NAME                ? EVTX_SYS_PROVIDER_NAME
               : attr == A_GUID              ? EVTX_SYS_PROVIDER_GUID
               : attr == A_EVENT_SOURCE_NAME ? EVTX_SYS_EVENT_SOURCE_NAME
                                             : -1;
    case A_EVENT_ID: return attr == A_QUALIFIERS ? EVTX_SYS_QUALIFIERS : -1;
    case A_TIME_CREATED: return attr == A_SYSTEM_TIME ? EVTX_SYS_TIME_CREATED : -1;
    case A_CORRELATION:
        return attr == A_ACTIVITY_ID           ? EVTX_SYS_ACTIVITY_ID
               : attr == A_RELATED_ACTIVITY_ID ? EVTX_SYS_RELATED_ACTIVITY_ID
                                               : -1;
    case A_EXECUTION:
        return attr == A_PROCESS_ID  ? EVTX_SYS_PROCESS_ID
               : attr == A_THREAD_ID ? EVTX_SYS_THREAD_ID
                                     : -1;
    case A_SECURITY: return attr == A_USER_ID ? EVTX_SYS_USER_ID : -1;
    default: return -1;
    }
}

void flat_begin(struct flat *f, struct evtx_record *rec, struct evtx_buf *text,
                struct evtx_field *fields, uint32_t maxfields)
{
    f->rec = rec;
    f->text = text;
    f->fields = fields;
    f->nfields = 0;
    f->maxfields = maxfields;
    f->depth = 0;
    f->deep = 0;
    f->cap = f->saved_cap = f->in_start = f->attr_cap = f->attr_dname = false;
    f->attr_slot = -1;
    f->attr_fname = (struct evtx_str){NULL, 0};
    f->cap_start = 0;
    f->unnamed = 0;
}

static void cap_begin(struct flat *f)
{
    f->cap = true;
    f->cap_start = f->text->len;
}

/* Ends the running capture: its text, NUL-terminated. */
static struct evtx_str cap_end(struct flat *f)
{
    struct evtx_buf *t = f->text;
    f->cap = false;
    buf_put(t, "", 1);
    if (t->full)
        return (struct evtx_str){"", 0};
    return (struct evtx_str){t->p + f->cap_start, t->len - 1 - f->cap_start};
}

static void add_field(struct flat *f, struct evtx_str name, struct evtx_str value)
{
    if (f->nfields == f->maxfields) {
        f->rec->flags |= EVTX_REC_FIELDS_DROPPED;
        return;
    }
    f->fields[f->nfields++] = (struct evtx_field){name, value};
}

static void emit(struct flat *f, struct flat_lvl *l, struct evtx_str v);

void flat_start(struct flat *f, const struct bx_name *n)
{
    if (f->in_start)
        flat_attrs_done(f); /* the runner guarantees order; stay safe anyway */
    if (f->depth == EVTX_XML_DEPTH || f->deep) {
        f->deep++;
        return;
    }
    uint8_t parent = f->depth ? f->st[f->depth - 1].zone : Z_ROOT;
    struct flat_lvl l = {.zone = Z_IGNORE, .atom = (uint8_t)n->atom, .slot = -1, .name = n};
    switch (parent) {
    case Z_ROOT: l.zone = Z_EVENT; break;
    case Z_EVENT:
        l.zone = n->atom == A_SYSTEM                                             ? Z_SYSTEM
                 : n->atom == A_EVENT_DATA || n->atom == A_PROCESSING_ERROR_DATA ? Z_EDATA
                 : n->atom == A_USER_DATA                                        ? Z_UDATA
                                                                                 : Z_IGNORE;
        break;
    case Z_SYSTEM:
        switch (n->atom) {
        case A_PROVIDER:
        case A_TIME_CREATED:
        case A_CORRELATION:
        case A_EXECUTION:
        case A_SECURITY: l.zone = Z_SYS; break;
        default: l.slot = sys_text_slot(l.atom); l.zone = l.slot >= 0 ? Z_SYS : Z_IGNORE;
        }
        break;
    case Z_SYS: l.zone = f->cap ? Z_INNER : Z_IGNORE; break;
    case Z_EDATA: l.zone = n->atom == A_DATA ? Z_DATA : Z_LEAF; break;
    case Z_UDATA: l.zone = Z_UWRAP; break;
    case Z_LEAF: {
        struct flat_lvl *p = &f->st[f->depth - 1];
        if (p->cap) { /* the parent has children: not a field after all */
            f->text->len = f->cap_start;
            f->cap = false;
            p->cap = false;
        }
        p->zone = Z_UWRAP;
        l.zone = Z_LEAF;
        break;
    }
    case Z_UWRAP: l.zone = Z_LEAF; break;
    case Z_DATA:
    case Z_INNER: l.zone = Z_INNER; break;
    default: break;
    }
    f->st[f->depth++] = l;
    f->in_start = true;
    f->saved_cap = f->cap;
    f->cap = false;
}

static void attr_done(struct flat *f)
{
    if (!f->attr_cap)
        return;
    struct evtx_str v = cap_end(f);
    f->attr_cap = false;
    if (v.len == 0) { /* an empty (NULL) value: Windows leaves the attribute out */
        f->text->len = f->cap_start;
        return;
    }
    if (f->attr_slot >= 0) {
        f->rec->sys[f->attr_slot] = v;
    } else if (f->attr_fname.s) {
        add_field(f, f->attr_fname, v);
    } else if (f->attr_dname && f->depth) {
        f->st[f->depth - 1].dname = v.s;
        f->st[f->depth - 1].dname_len = v.len;
    }
}

static bool is_xmlns(const struct bx_name *n)
{
    return (n->len == 5 || (n->len > 5 && n->s[5] == ':')) && !memcmp(n->s, "xmlns", 5);
}

/* "Element_Attribute", the field an attribute below UserData gives (event
 * strings are stored there too, as in <Error Code="15007"/>). */
static struct evtx_str attr_field_name(struct flat *f, const struct bx_name *elem,
                                       const struct bx_name *attr)
{
    struct evtx_buf *t = f->text;
    struct evtx_str s = {t->p + t->len, elem->len + 1 + attr->len};
    buf_put(t, elem->s, elem->len);
    buf_put(t, "_", 1);
    buf_put(t, attr->s, attr->len);
    buf_put(t, "", 1);
    return t->full ? (struct evtx_str){"", 0} : s;
}

void flat_attr(struct flat *f, const struct bx_name *n)
{
    attr_done(f);
    if (!f->in_start || f->deep || !f->depth)
        return;
    struct flat_lvl *l = &f->st[f->depth - 1];
    f->attr_slot = -1;
    f->attr_dname = false;
    f->attr_fname = (struct evtx_str){NULL, 0};
    if (l->zone == Z_SYS)
        f->attr_slot = sys_attr_slot(l->atom, n->atom);
    else if (l->zone == Z_DATA && n->atom == A_NAME)
        f->attr_dname = true;
    else if ((l->zone == Z_UWRAP || l->zone == Z_LEAF) && !is_xmlns(n))
        f->attr_fname = attr_field_name(f, l->name, n);
    if (f->attr_slot >= 0 || f->attr_dname || f->attr_fname.s) {
        f->attr_cap = true;
        cap_begin(f);
    }
}

void flat_attrs_done(struct flat *f)
{
    attr_done(f);
    if (!f->in_start)
        return;
    f->in_start = false;
    f->cap = f->saved_cap;
    if (f->deep || !f->depth)
        return;
    struct flat_lvl *l = &f->st[f->depth - 1];
    if ((l->zone == Z_SYS && l->slot >= 0) || l->zone == Z_DATA || l->zone == Z_LEAF) {
        l->cap = true;
        cap_begin(f);
    }
}

void flat_end(struct flat *f)
{
    if (f->in_start)
        flat_attrs_done(f);
    if (f->deep) {
        f->deep--;
        return;
    }
    if (!f->depth)
        return;
    struct flat_lvl *l = &f->st[--f->depth];
    if (!l->cap)
        return;
    struct evtx_str v = cap_end(f);
    if (l->omit) {
        f->text->len = f->cap_start;
        return;
    }
    emit(f, l, v);
}

void flat_null(struct flat *f)
{
    if (f->depth && !f->deep && !f->in_start)
        f->st[f->depth - 1].omit = true;
}

void flat_array(struct flat *f, uint8_t type, const uint8_t *p, size_t n)
{
    struct flat_lvl *l = f->depth && !f->deep ? &f->st[f->depth - 1] : NULL;
    if (!f->cap)
        return;
    if (!l || !l->cap || (l->zone != Z_DATA && l->zone != Z_LEAF) ||
        f->text->len != f->cap_start) { /* not alone in a field: items joined */
        val_format(f->text, type, p, n);
        return;
    }
    /* One field per item; the last stays open for flat_end. */
    size_t at = 0;
    bool any = false;
    while (at < n) {
        if (any) {
            emit(f, l, cap_end(f));
            cap_begin(f);
        }
        if (!val_array_next(f->text, type, p, n, &at))
            break;
        any = true;
    }
}

/* The field (or System slot) of an element that ends with value v. */
static void emit(struct flat *f, struct flat_lvl *l, struct evtx_str v)
{
    if (l->zone == Z_SYS) {
        f->rec->sys[l->slot] = v;
    } else if (l->zone == Z_DATA) {
        struct evtx_str name = {l->dname, l->dname_len};
        if (!name.s) {
            char tmp[24];
            uint32_t k = ++f->unnamed, i = sizeof tmp;
            tmp[--i] = ']';
            do {
                tmp[--i] = (char)('0' + k % 10);
                k /= 10;
            } while (k);
            memcpy(tmp + i - 5, "Data[", 5);
            i -= 5;
            name.s = f->text->p + f->text->len;
            name.len = (uint32_t)(sizeof tmp - i);
            buf_put(f->text, tmp + i, name.len);
            buf_put(f->text, "", 1);
            if (f->text->full)
                name = (struct evtx_str){"", 0};
        }
        add_field(f, name, v);
    } else if (l->zone == Z_LEAF) {
        add_field(f, (struct evtx_str){l->name->s, l->name->len}, v);
    }
}

void flat_finish(struct flat *f)
{
    struct evtx_record *r = f->rec;
    const struct evtx_str *e = &r->sys[EVTX_SYS_EVENT_ID];
    uint64_t v = 0;
    r->has_event_id = false;
    r->event_id = 0;
    if (e->s && e->len > 0 && e->len <= 10) {
        uint32_t i = 0;
        while (i < e->len && e->s[i] >= '0' && e->s[i] <= '9')
            v = v * 10 + (uint64_t)(e->s[i++] - '0');
        if (i == e->len && v <= UINT32_MAX) {
            r->event_id = (uint32_t)v;
            r->has_event_id = true;
        }
    }
    r->fields = f->fields;
    r->nfields = f->nfields;
}

const struct evtx_str *evtx_get(const struct evtx_record *rec, const char *name, size_t len)
{
    for (int i = 0; i < EVTX_SYS_COUNT; i++)
        if (rec->sys[i].s && !strncmp(SYS_NAMES[i], name, len) && SYS_NAMES[i][len] == '\0')
            return &rec->sys[i];
    for (uint32_t i = 0; i < rec->nfields; i++)
        if (rec->fields[i].name.len == len && !memcmp(rec->fields[i].name.s, name, len))
            return &rec->fields[i].value;
    return NULL;
}
