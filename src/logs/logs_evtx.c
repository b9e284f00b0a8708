/* logs_evtx.c - EVTX records (src/evtx) as Sigma events.
 *
 * Data enters as one struct evtx_record from the EVTX parser; it leaves as
 * an sg_event whose fields point at the parser's strings (valid until the
 * next record) - nothing is copied: every present System slot becomes a
 * field under its evtx_sys_name() (EventID, Provider_Name, Channel, ...),
 * followed by the EventData / UserData fields in document order. Parser
 * errors are forwarded as they are (file, chunk, record, reason, lost). The
 * parser's buffers (about 8 MiB) are allocated with the first EVTX file. */
#include "core/err.h"
#include "logs/logs_int.h"

_Static_assert(EVTX_SYS_COUNT + EVTX_MAX_FIELDS <= LG_MAX_FIELDS,
               "an EVTX record's fields fit in one event");

static void forward(void *ctx, const struct evtx_error *e)
{
    struct lg_reader *r = ctx;
    r->st.errors++;
    r->st.lost += e->lost;
    if (r->o.on_error) {
        struct lg_error le = {.file = r->name,
                              .where = e->record_id,
                              .chunk = e->chunk,
                              .reason = e->reason,
                              .lost = e->lost};
        r->o.on_error(r->o.ctx, &le);
    }
}

int lg_evtx_open(struct lg_reader *r, const char *path, const void *mem, size_t len)
{
    if (!r->evtx && !(r->evtx = evtx_reader_new())) {
        lg_report(r, 0, -1, 0, "%s: out of memory for the EVTX reader", r->name);
        return MAMORI_ENOMEM;
    }
    struct evtx_opts eo = {.on_error = forward, .ctx = r};
    int rc = path ? evtx_open_file(r->evtx, path, &eo)
                  : evtx_open_mem(r->evtx, mem, len, r->name, &eo);
    if (rc < 0)
        return rc; /* the parser reported why */
    r->fmt = r->st.format = LG_EVTX;
    return 0;
}

static struct sg_str str(const struct evtx_str *s)
{
    return (struct sg_str){s->s, s->len};
}

int lg_evtx_next(struct lg_reader *r, const struct sg_event **ev)
{
    const struct evtx_record *rec;
    int rc = evtx_next(r->evtx, &rec);
    r->st.bytes = evtx_stats(r->evtx)->bytes;
    if (rc <= 0)
        return 0;
    struct sg_field *f = r->evb.f;
    uint32_t n = 0;
    for (int i = 0; i < EVTX_SYS_COUNT; i++)
        if (rec->sys[i].s)
            f[n++] = (struct sg_field){{evtx_sys_name((enum evtx_sys)i), r->sys_len[i]},
                                       str(&rec->sys[i])};
    for (uint32_t i = 0; i < rec->nfields && n < LG_MAX_FIELDS; i++)
        f[n++] = (struct sg_field){str(&rec->fields[i].name), str(&rec->fields[i].value)};

    struct sg_event *e = &r->ev;
    e->time_ns = rec->time_ns;
    const struct evtx_str *tc = &rec->sys[EVTX_SYS_TIME_CREATED];
    if (rec->filetime == 0 && !(tc->s && lg_parse_iso(tc->s, tc->len, &e->time_ns, NULL)))
        e->time_ns = SG_TIME_UNKNOWN;
    e->channel = str(&rec->sys[EVTX_SYS_CHANNEL]);
    e->computer = str(&rec->sys[EVTX_SYS_COMPUTER]);
    e->provider = str(&rec->sys[EVTX_SYS_PROVIDER_NAME]);
    e->event_id = rec->event_id;
    e->has_event_id = rec->has_event_id;
    e->fields = f;
    e->nfields = n;
    e->source = r->name;
    e->record = rec->record_id;
    *ev = e;
    return 1;
}

void lg_evtx_close(struct lg_reader *r)
{
    if (r->evtx)
        evtx_close(r->evtx);
}
