/* summary.c - counting findings per rule, level, host and attack phase.
 *
 * Hosts live in an open-addressing table keyed by name (FNV-1a), grown by
 * doubling up to SUMMARY_HOSTS_MAX; the table owns copies of the names.
 * Printing sorts copies of the rows, never the table. */
#include "hunt/summary.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/sigma/event.h"
#include "core/sigma/sigma.h"
#include "hunt/finding.h"

#define OTHER_HOSTS "(other hosts)"
#define RULES_SHOWN 50 /* rows of the per-rule table in the text summary */
#define HOST_NAME_MAX_KEPT 255 /* bytes of a host name kept (hostile logs) */

struct span {
    int64_t first, last;
    uint64_t count;
};

struct host {
    char *name; /* NULL: empty slot */
    uint64_t levels[SUMMARY_LEVELS];
    struct span phase[PHASE_COUNT];
};

struct summary {
    uint32_t nrules;
    uint64_t *rules;
    uint64_t levels[SUMMARY_LEVELS];
    uint64_t total;
    struct host *hosts;
    size_t nhosts, cap;
};

static const char *const PHASE_NAMES[PHASE_COUNT] = {
    "initial access", "credential use", "discovery",      "lateral movement",
    "persistence",    "defence evasion", "impact",
};

const char *phase_name(enum phase p) { return p < PHASE_COUNT ? PHASE_NAMES[p] : "?"; }

unsigned phase_of_tags(const char *const *tags, uint32_t ntags)
{
    static const struct {
        const char *tag;
        enum phase p;
    } map[] = {
        {"attack.initial_access", PHASE_INITIAL_ACCESS},
        {"attack.initial-access", PHASE_INITIAL_ACCESS},
        {"attack.credential_access", PHASE_CREDENTIAL_USE},
        {"attack.credential-access", PHASE_CREDENTIAL_USE},
        {"attack.t1078", PHASE_CREDENTIAL_USE}, /* valid accounts, and sub-techniques */
        {"attack.discovery", PHASE_DISCOVERY},
        {"attack.lateral_movement", PHASE_LATERAL_MOVEMENT},
        {"attack.lateral-movement", PHASE_LATERAL_MOVEMENT},
        {"attack.persistence", PHASE_PERSISTENCE},
        {"attack.defense_evasion", PHASE_DEFENCE_EVASION},
        {"attack.defense-evasion", PHASE_DEFENCE_EVASION},
        {"attack.impact", PHASE_IMPACT},
    };
    unsigned bits = 0;
    for (uint32_t i = 0; i < ntags; i++) {
        if (!tags[i])
            continue;
        for (size_t k = 0; k < sizeof map / sizeof *map; k++) {
            size_t n = strlen(map[k].tag);
            if (!strncasecmp(tags[i], map[k].tag, n) && (tags[i][n] == 0 || tags[i][n] == '.'))
                bits |= 1u << map[k].p;
        }
    }
    return bits;
}

struct summary *summary_new(uint32_t nrules)
{
    struct summary *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->nrules = nrules;
    s->rules = calloc(nrules ? nrules : 1, sizeof *s->rules);
    s->cap = 64;
    s->hosts = calloc(s->cap, sizeof *s->hosts);
    if (!s->rules || !s->hosts) {
        summary_free(s);
        return NULL;
    }
    return s;
}

void summary_free(struct summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->hosts && i < s->cap; i++)
        free(s->hosts[i].name);
    free(s->hosts);
    free(s->rules);
    free(s);
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct host *slot(struct host *tab, size_t cap, const char *name)
{
    size_t i = hash(name) & (cap - 1);
    while (tab[i].name && strcmp(tab[i].name, name))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int grow(struct summary *s)
{
    size_t cap = s->cap * 2;
    struct host *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return MAMORI_ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->hosts[i].name)
            *slot(tab, cap, s->hosts[i].name) = s->hosts[i];
    free(s->hosts);
    s->hosts = tab;
    s->cap = cap;
    return 0;
}

static struct host *host_get(struct summary *s, const char *name)
{
    char cutname[HOST_NAME_MAX_KEPT + 1];
    if (!name || !*name)
        name = "(unknown host)";
    if (strlen(name) > HOST_NAME_MAX_KEPT) {
        memcpy(cutname, name, HOST_NAME_MAX_KEPT);
        cutname[HOST_NAME_MAX_KEPT] = 0;
        name = cutname;
    }
    struct host *h = slot(s->hosts, s->cap, name);
    if (h->name)
        return h;
    if (s->nhosts >= SUMMARY_HOSTS_MAX) {
        name = OTHER_HOSTS;
        h = slot(s->hosts, s->cap, name);
        if (h->name)
            return h;
    }
    if ((s->nhosts + 1) * 2 > s->cap) {
        if (grow(s) < 0)
            return NULL;
        h = slot(s->hosts, s->cap, name);
    }
    h->name = strndup(name, HOST_NAME_MAX_KEPT);
    if (!h->name)
        return NULL;
    for (int p = 0; p < PHASE_COUNT; p++)
        h->phase[p].first = h->phase[p].last = SG_TIME_UNKNOWN;
    s->nhosts++;
    return h;
}

static void span_add(struct span *sp, int64_t first, int64_t last, uint64_t count)
{
    if (!count)
        return;
    if (first != SG_TIME_UNKNOWN && (sp->first == SG_TIME_UNKNOWN || first < sp->first))
        sp->first = first;
    if (last != SG_TIME_UNKNOWN && (sp->last == SG_TIME_UNKNOWN || last > sp->last))
        sp->last = last;
    sp->count += count;
}

int summary_add(struct summary *s, uint32_t rule, int level, const char *host, int64_t time_ns,
                const char *const *tags, uint32_t ntags)
{
    if (level < 0 || level >= SUMMARY_LEVELS)
        level = 0;
    struct host *h = host_get(s, host);
    if (!h)
        return MAMORI_ENOMEM;
    if (rule < s->nrules)
        s->rules[rule]++;
    s->levels[level]++;
    s->total++;
    h->levels[level]++;
    unsigned bits = phase_of_tags(tags, ntags);
    for (int p = 0; p < PHASE_COUNT; p++)
        if (bits & (1u << p))
            span_add(&h->phase[p], time_ns, time_ns, 1);
    return 0;
}

int summary_merge(struct summary *into, const struct summary *from)
{
    for (uint32_t i = 0; i < into->nrules && i < from->nrules; i++)
        into->rules[i] += from->rules[i];
    for (int l = 0; l < SUMMARY_LEVELS; l++)
        into->levels[l] += from->levels[l];
    into->total += from->total;
    for (size_t i = 0; i < from->cap; i++) {
        const struct host *f = &from->hosts[i];
        if (!f->name)
            continue;
        struct host *h = host_get(into, f->name);
        if (!h)
            return MAMORI_ENOMEM;
        for (int l = 0; l < SUMMARY_LEVELS; l++)
            h->levels[l] += f->levels[l];
        for (int p = 0; p < PHASE_COUNT; p++)
            span_add(&h->phase[p], f->phase[p].first, f->phase[p].last, f->phase[p].count);
    }
    return 0;
}

uint64_t summary_total(const struct summary *s) { return s->total; }

struct rule_row {
    uint32_t rule;
    uint64_t n;
};

static int row_cmp(const void *a, const void *b)
{
    const struct rule_row *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int host_cmp(const void *a, const void *b)
{
    const struct host *const *x = a, *const *y = b;
    for (int l = SUMMARY_LEVELS - 1; l >= 0; l--)
        if ((*x)->levels[l] != (*y)->levels[l])
            return (*x)->levels[l] > (*y)->levels[l] ? -1 : 1;
    return strcmp((*x)->name, (*y)->name);
}

/* Rows of rules with hits, most hits first; caller frees. */
static struct rule_row *rule_rows(const struct summary *s, size_t *n)
{
    struct rule_row *rows = malloc((s->nrules ? s->nrules : 1) * sizeof *rows);
    *n = 0;
    if (!rows)
        return NULL;
    for (uint32_t i = 0; i < s->nrules; i++)
        if (s->rules[i])
            rows[(*n)++] = (struct rule_row){i, s->rules[i]};
    qsort(rows, *n, sizeof *rows, row_cmp);
    return rows;
}

static const struct host **host_rows(const struct summary *s)
{
    const struct host **rows = malloc((s->nhosts ? s->nhosts : 1) * sizeof *rows);
    if (!rows)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->hosts[i].name)
            rows[k++] = &s->hosts[i];
    qsort(rows, k, sizeof *rows, host_cmp);
    return rows;
}

static void short_time(int64_t ns, char *buf, size_t cap)
{
    finding_time(ns, buf, cap);
    if (buf[0]) {
        buf[10] = ' ';
        buf[19] = 0;
    } else {
        snprintf(buf, cap, "-");
    }
}

void summary_print_text(const struct summary *s, const struct summary_names *n, FILE *out)
{
    fprintf(out, "\nSummary: %llu findings", (unsigned long long)s->total);
    for (int l = SUMMARY_LEVELS - 1; l >= 0; l--)
        if (s->levels[l])
            fprintf(out, ", %llu %s", (unsigned long long)s->levels[l], sg_level_name(l));
    fprintf(out, "\n");
    size_t nr = 0;
    struct rule_row *rows = rule_rows(s, &nr);
    if (rows && nr) {
        fprintf(out, "\nHits per rule (most first):\n");
        for (size_t i = 0; i < nr && i < RULES_SHOWN; i++)
        {
            char safe[1024];
            fprintf(out, "  %8llu  %-13s %s\n", (unsigned long long)rows[i].n,
                    n->level(n->ctx, rows[i].rule),
                    log_escape(safe, sizeof safe, n->title(n->ctx, rows[i].rule)));
        }
        if (nr > RULES_SHOWN)
            fprintf(out, "  ... and %zu more rules\n", nr - RULES_SHOWN);
    }
    free(rows);
    const struct host **hosts = host_rows(s);
    if (!hosts)
        return;
    if (s->nhosts)
        fprintf(out, "\nHosts (critical/high/medium/low/informational):\n");
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct host *h = hosts[i];
        char safe[HOST_NAME_MAX_KEPT * 4 + 1];
        fprintf(out, "  %-32s %llu/%llu/%llu/%llu/%llu\n", log_escape(safe, sizeof safe, h->name),
                (unsigned long long)h->levels[4], (unsigned long long)h->levels[3],
                (unsigned long long)h->levels[2], (unsigned long long)h->levels[1],
                (unsigned long long)h->levels[0]);
    }
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct host *h = hosts[i];
        bool any = false;
        for (int p = 0; p < PHASE_COUNT; p++)
            any |= h->phase[p].count > 0;
        if (!any)
            continue;
        char safe[HOST_NAME_MAX_KEPT * 4 + 1];
        fprintf(out, "\nAttack chain on %s:\n", log_escape(safe, sizeof safe, h->name));
        for (int p = 0; p < PHASE_COUNT; p++) {
            char a[48], b[48];
            if (!h->phase[p].count) {
                fprintf(out, "  %-17s -\n", PHASE_NAMES[p]);
                continue;
            }
            short_time(h->phase[p].first, a, sizeof a);
            short_time(h->phase[p].last, b, sizeof b);
            fprintf(out, "  %-17s %s .. %s  (%llu)\n", PHASE_NAMES[p], a, b,
                    (unsigned long long)h->phase[p].count);
        }
    }
    free(hosts);
}

int summary_write_json(const struct summary *s, const struct summary_names *n, FILE *out)
{
    size_t cap = 1u << 16;
    char *buf = malloc(cap);
    size_t nr = 0;
    struct rule_row *rows = rule_rows(s, &nr);
    const struct host **hosts = host_rows(s);
    int rc = (buf && rows && hosts) ? 0 : MAMORI_ENOMEM;
    struct jw w;
    /* Written piecewise: one bounded object per line of the document. */
    if (!rc) {
        jw_init(&w, buf, cap);
        jw_obj_begin(&w);
        jw_uint(&w, "findings", s->total);
        jw_obj_begin_key(&w, "levels");
        for (int l = 0; l < SUMMARY_LEVELS; l++)
            jw_uint(&w, sg_level_name(l), s->levels[l]);
        jw_obj_end(&w);
        jw_obj_end(&w);
        if (jw_finish(&w) < 0)
            rc = MAMORI_EFULL;
        else
            fprintf(out, "{\"summary\":%s,\n\"rules\":[", buf);
    }
    for (size_t i = 0; !rc && i < nr; i++) {
        jw_init(&w, buf, cap);
        jw_obj_begin(&w);
        jw_str(&w, "rule_id", n->id(n->ctx, rows[i].rule));
        jw_str(&w, "rule_title", n->title(n->ctx, rows[i].rule));
        jw_str(&w, "level", n->level(n->ctx, rows[i].rule));
        jw_uint(&w, "hits", rows[i].n);
        jw_obj_end(&w);
        if (jw_finish(&w) < 0)
            rc = MAMORI_EFULL;
        else
            fprintf(out, "%s\n%s", i ? "," : "", buf);
    }
    if (!rc)
        fprintf(out, "],\n\"hosts\":[");
    for (size_t i = 0; !rc && i < s->nhosts; i++) {
        const struct host *h = hosts[i];
        char t[48];
        jw_init(&w, buf, cap);
        jw_obj_begin(&w);
        jw_str(&w, "computer", h->name);
        jw_obj_begin_key(&w, "levels");
        for (int l = 0; l < SUMMARY_LEVELS; l++)
            jw_uint(&w, sg_level_name(l), h->levels[l]);
        jw_obj_end(&w);
        jw_arr_begin(&w, "chain");
        for (int p = 0; p < PHASE_COUNT; p++) {
            if (!h->phase[p].count)
                continue;
            /* an object inside an array: the writer's keyless begin */
            jw_arr_begin(&w, NULL);
            jw_str(&w, NULL, PHASE_NAMES[p]);
            finding_time(h->phase[p].first, t, sizeof t);
            jw_str(&w, NULL, t[0] ? t : NULL);
            finding_time(h->phase[p].last, t, sizeof t);
            jw_str(&w, NULL, t[0] ? t : NULL);
            jw_uint(&w, NULL, h->phase[p].count);
            jw_arr_end(&w);
        }
        jw_arr_end(&w);
        jw_obj_end(&w);
        if (jw_finish(&w) < 0)
            rc = MAMORI_EFULL;
        else
            fprintf(out, "%s\n%s", i ? "," : "", buf);
    }
    if (!rc)
        fprintf(out, "]}\n");
    if (!rc && ferror(out))
        rc = MAMORI_EIO;
    free(buf);
    free(rows);
    free(hosts);
    return rc;
}
