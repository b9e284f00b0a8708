/* logs_test.h - what the log reader tests share: error collection, field
 * lookup on an event, and reading a text held in the test. */
#ifndef MAMORI_TESTS_LOGS_TEST_H
#define MAMORI_TESTS_LOGS_TEST_H

#include <stdio.h>
#include <string.h>

#include "logs/logs.h"

#define LT_MAX_ERRS 32

struct lt_errs {
    unsigned n;
    uint64_t lost;
    uint64_t where[LT_MAX_ERRS];
    char reason[LT_MAX_ERRS][256];
};

static inline void lt_collect(void *ctx, const struct lg_error *e)
{
    struct lt_errs *x = ctx;
    assert_non_null(e->reason);
    assert_non_null(e->file);
    if (x->n < LT_MAX_ERRS) {
        x->where[x->n] = e->where;
        snprintf(x->reason[x->n], sizeof x->reason[0], "%s", e->reason);
    }
    x->n++;
    x->lost += e->lost;
}

/* Value of the first field called name, or NULL. */
static inline const char *lt_get(const struct sg_event *ev, const char *name)
{
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct sg_field *f = &ev->fields[i];
        assert_int_equal(strlen(f->name.s), f->name.len);
        assert_int_equal(strlen(f->value.s), f->value.len);
        if (!strcmp(f->name.s, name))
            return f->value.s;
    }
    return NULL;
}

static inline unsigned lt_count(const struct sg_event *ev, const char *name)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < ev->nfields; i++)
        n += !strcmp(ev->fields[i].name.s, name);
    return n;
}

static inline const char *lt_str(const struct sg_str *s)
{
    return s->s ? s->s : "(null)";
}

#define assert_field(ev, name, want)                                                               \
    do {                                                                                           \
        const char *got_ = lt_get(ev, name);                                                       \
        if (!got_)                                                                                 \
            fail_msg("field %s absent", name);                                                     \
        assert_string_equal(got_, want);                                                           \
    } while (0)

#endif
