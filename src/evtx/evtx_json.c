/* evtx_json.c - one EVTX record as one JSON object (for `mamori evtx`).
 *
 * Data enters as a decoded struct evtx_record and leaves as text in the
 * caller's bounded buffer, written with core/json.h (every string escaped;
 * an object that does not fit is refused, never cut). Keys: record_id,
 * timestamp, event_id, provider, channel, computer, then "system" with every
 * System slot present and "fields" with EventData/UserData in document order
 * (a repeated name is written again). */
#include "core/err.h"
#include "core/json.h"
#include "evtx/evtx.h"

/* "key":{ - json.h opens keyed arrays only; open one and turn its bracket. */
static void obj_begin_key(struct jw *w, const char *key)
{
    jw_arr_begin(w, key);
    if (!w->overflow && w->len > 0)
        w->buf[w->len - 1] = '{';
}

static void str_or_null(struct jw *w, const char *key, const struct evtx_str *s)
{
    jw_strn(w, key, s->s, s->len);
}

long evtx_record_json(const struct evtx_record *rec, char *buf, size_t cap)
{
    struct jw w;
    char ts[40];
    jw_init(&w, buf, cap);
    jw_obj_begin(&w);
    jw_uint(&w, "record_id", rec->record_id);
    evtx_format_filetime(rec->filetime, ts, sizeof ts);
    jw_str(&w, "timestamp", ts);
    if (rec->has_event_id)
        jw_uint(&w, "event_id", rec->event_id);
    else
        jw_str(&w, "event_id", NULL);
    str_or_null(&w, "provider", &rec->sys[EVTX_SYS_PROVIDER_NAME]);
    str_or_null(&w, "channel", &rec->sys[EVTX_SYS_CHANNEL]);
    str_or_null(&w, "computer", &rec->sys[EVTX_SYS_COMPUTER]);
    obj_begin_key(&w, "system");
    for (int i = 0; i < EVTX_SYS_COUNT; i++)
        if (rec->sys[i].s)
            jw_strn(&w, evtx_sys_name((enum evtx_sys)i), rec->sys[i].s, rec->sys[i].len);
    jw_obj_end(&w);
    obj_begin_key(&w, "fields");
    for (uint32_t i = 0; i < rec->nfields; i++)
        jw_strn(&w, rec->fields[i].name.s, rec->fields[i].value.s, rec->fields[i].value.len);
    jw_obj_end(&w);
    if (rec->flags & EVTX_REC_FIELDS_DROPPED)
        jw_bool(&w, "fields_dropped", true);
    jw_obj_end(&w);
    return jw_finish(&w);
}
