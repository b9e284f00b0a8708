/* hunt.c - the hunt's orchestration: rules, inputs, workers, merge, summary.
 *
 * Workers take the next input file (largest first, so the last file to start
 * is a small one), read it with their own lg_reader and sg_matcher, and for
 * each rule hit render a finding into their own bounded timeline and count
 * it in their own summary; nothing is shared between workers but two atomic
 * counters and the stderr lock. Base hits that correlation rules need are
 * kept (only the fields those rules read) and, once every file is read,
 * sorted by time and fed to the correlation engine, whose hits join the
 * timeline. The timelines are merged onto the output in time order. */
#include "hunt/hunt.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/sigma/corr.h"
#include "core/sigma/sigma.h"
#include "hunt/files.h"
#include "hunt/summary.h"
#include "hunt/timeline.h"
#include "logs/logs.h"

#define HITS_CAP 4096         /* rule hits taken from one event */
#define LINE_CAP TL_LINE_MAX  /* one rendered finding */
#define ERRORS_SHOWN 20       /* damage lines printed per input file */
#define LOAD_ERRORS_SHOWN 200 /* rule load errors printed (the rest counted) */
#define CORR_FIELDS_MAX 64    /* fields one base hit keeps for correlations */

/* A base hit kept for the correlation engine: one allocation holding the
 * fields the correlations read (names point into the corrset). */
struct corr_base {
    int64_t time_ns;
    uint32_t rule, nfields;
    uint32_t file;
    uint64_t record;
    struct sg_field fields[];
};

struct shared {
    const struct hunt_opts *o;
    const struct sg_ruleset *rs;
    const struct sg_corrset *cs;
    const struct hunt_files *files;
    size_t *order; /* file indexes, largest first */
    atomic_size_t next;
    atomic_uint_fast64_t bytes_done, events, files_done;
    atomic_uint_fast64_t findings;
    atomic_size_t corr_kept;
    atomic_uint_fast64_t corr_dropped, corr_fields_cut, hits_cut, unrendered;
    pthread_mutex_t err_lock;
    size_t mem_per_worker;
};

struct worker {
    struct shared *sh;
    pthread_t tid;
    struct lg_reader *reader;
    struct sg_matcher *matcher;
    struct tl_buf *tl;
    struct summary *sum;
    struct corr_base **corr;
    size_t ncorr, corr_cap;
    char *line;
    uint32_t *hits;
    /* per file */
    const char *path;
    unsigned shown;
    uint64_t hidden;
    /* totals */
    uint64_t unreadable, damaged, lost, skipped;
    atomic_int fatal; /* a timeline could not be written */
    char fatal_msg[400];
};

static void on_read_error(void *p, const struct lg_error *e)
{
    struct worker *w = p;
    if (w->sh->o->quiet || w->shown >= ERRORS_SHOWN) {
        w->hidden++;
        return;
    }
    w->shown++;
    pthread_mutex_lock(&w->sh->err_lock);
    char safe[1024];
    fprintf(stderr, "mamori hunt: %s", log_escape(safe, sizeof safe, e->file));
    if (e->chunk >= 0)
        fprintf(stderr, ": chunk %" PRId64, e->chunk);
    if (e->where)
        fprintf(stderr, ": %s %" PRIu64, w->reader && lg_stats(w->reader)->format == LG_EVTX
                                              ? "record"
                                              : "line",
                e->where);
    /* readers may start the reason with the file (and line) again */
    const char *why = e->reason;
    size_t fl = strlen(e->file);
    if (!strncmp(why, e->file, fl) && why[fl] == ':') {
        why += fl + 1;
        while (*why >= '0' && *why <= '9')
            why++;
        if (*why == ':')
            why++;
        while (*why == ' ')
            why++;
    }
    fprintf(stderr, ": %s", log_escape(safe, sizeof safe, why));
    if (e->lost)
        fprintf(stderr, " (%" PRIu64 " event%s lost)", e->lost, e->lost == 1 ? "" : "s");
    fputc('\n', stderr);
    pthread_mutex_unlock(&w->sh->err_lock);
}

static int keep_corr(struct worker *w, uint32_t rule, uint32_t file, const struct sg_event *ev)
{
    struct shared *sh = w->sh;
    if (atomic_fetch_add(&sh->corr_kept, 1) >= HUNT_CORR_HITS_MAX) {
        atomic_fetch_add(&sh->corr_dropped, 1);
        return 0;
    }
    const char *const *names;
    uint32_t nn = sg_corr_fields_for_rule(sh->cs, rule, &names);
    size_t bytes = sizeof(struct corr_base) + nn * sizeof(struct sg_field);
    struct sg_str vals[CORR_FIELDS_MAX];
    bool have[CORR_FIELDS_MAX];
    char eid[CORR_FIELDS_MAX][16];
    if (nn > CORR_FIELDS_MAX) {
        atomic_fetch_add(&sh->corr_fields_cut, 1);
        nn = CORR_FIELDS_MAX;
    }
    for (uint32_t i = 0; i < nn; i++) {
        struct sg_field f;
        have[i] = finding_event_value(ev, names[i], eid[i], sizeof eid[i], &f);
        if (have[i]) {
            vals[i] = f.value;
            bytes += vals[i].len + 1;
        }
    }
    if (w->ncorr == w->corr_cap) {
        size_t cap = w->corr_cap ? w->corr_cap * 2 : 1024;
        struct corr_base **v = realloc(w->corr, cap * sizeof *v);
        if (!v)
            return MAMORI_ENOMEM;
        w->corr = v;
        w->corr_cap = cap;
    }
    struct corr_base *b = malloc(bytes);
    if (!b)
        return MAMORI_ENOMEM;
    b->time_ns = ev->time_ns;
    b->rule = rule;
    b->file = file;
    b->record = ev->record;
    b->nfields = 0;
    char *text = (char *)&b->fields[nn];
    for (uint32_t i = 0; i < nn; i++) {
        if (!have[i])
            continue;
        memcpy(text, vals[i].s, vals[i].len);
        text[vals[i].len] = 0;
        b->fields[b->nfields++] = (struct sg_field){{names[i], (uint32_t)strlen(names[i])},
                                                    {text, vals[i].len}};
        text += vals[i].len + 1;
    }
    w->corr[w->ncorr++] = b;
    return 0;
}

static int on_hit(struct worker *w, uint32_t rule, uint32_t file, const struct sg_event *ev)
{
    struct shared *sh = w->sh;
    const struct sg_rule_info *ri = sg_rule(sh->rs, rule);
    if (sh->cs && sg_corr_uses_rule(sh->cs, rule)) {
        int rc = keep_corr(w, rule, file, ev);
        if (rc < 0)
            return rc;
    }
    if (ri->hidden || (int)ri->level < sh->o->min_level)
        return 0;
    struct sg_field kf[FINDING_FIELDS_MAX];
    uint32_t nkf = finding_key_fields(ev, ri->fields, ri->nfields, kf, FINDING_FIELDS_MAX);
    struct finding f = {
        .time_ns = ev->time_ns,
        .computer = ev->computer.s,
        .channel = ev->channel.s,
        .event_id = ev->event_id,
        .has_event_id = ev->has_event_id,
        .rule_id = ri->id,
        .rule_title = ri->title,
        .level = sg_level_name(ri->level),
        .tags = ri->tags,
        .ntags = ri->ntags,
        .file = ev->source ? ev->source : w->path,
        .record = ev->record,
        .fields = kf,
        .nfields = nkf,
    };
    long n = finding_render(sh->o->format, &f, w->line, LINE_CAP);
    if (n < 0) {
        atomic_fetch_add(&sh->unrendered, 1);
        return 0;
    }
    struct tl_key k = {ev->time_ns, file, rule, ev->record};
    int rc = tl_add(w->tl, &k, w->line, (size_t)n);
    if (rc < 0) {
        snprintf(w->fatal_msg, sizeof w->fatal_msg, "%s", tl_buf_error(w->tl));
        return rc;
    }
    atomic_fetch_add(&sh->findings, 1);
    return summary_add(w->sum, rule, (int)ri->level, ev->computer.s, ev->time_ns, ri->tags,
                       ri->ntags);
}

static void hunt_file(struct worker *w, size_t fi)
{
    struct shared *sh = w->sh;
    const struct hunt_file *hf = &sh->files->v[fi];
    w->path = hf->path;
    w->shown = 0;
    w->hidden = 0;
    struct lg_opts lo = {.on_error = on_read_error, .ctx = w, .skip_unknown = hf->walked};
    int orc = lg_open(w->reader, hf->path, &lo);
    if (orc < 0) {
        if (orc == LG_EUNKNOWN)
            w->skipped++;
        else
            w->unreadable++;
        atomic_fetch_add(&sh->bytes_done, hf->size);
        atomic_fetch_add(&sh->files_done, 1);
        return;
    }
    const struct sg_event *ev;
    uint64_t events = 0;
    while (!w->fatal && lg_next(w->reader, &ev) > 0) {
        events++;
        uint32_t nh = sg_match(w->matcher, ev, w->hits, HITS_CAP);
        if (nh > HITS_CAP) {
            atomic_fetch_add(&sh->hits_cut, nh - HITS_CAP);
            nh = HITS_CAP;
        }
        for (uint32_t i = 0; i < nh && !w->fatal; i++) {
            int rc = on_hit(w, w->hits[i], (uint32_t)fi, ev);
            if (rc < 0) {
                w->fatal = rc;
                if (!w->fatal_msg[0])
                    snprintf(w->fatal_msg, sizeof w->fatal_msg, "%s", mamori_strerror(rc));
            }
        }
    }
    const struct lg_stats *st = lg_stats(w->reader);
    if (st->errors)
        w->damaged++;
    w->lost += st->lost;
    lg_close(w->reader);
    if (w->hidden) {
        pthread_mutex_lock(&sh->err_lock);
        fprintf(stderr, "mamori hunt: %s: %" PRIu64 " more problems not shown\n", hf->path,
                w->hidden);
        pthread_mutex_unlock(&sh->err_lock);
    }
    atomic_fetch_add(&sh->events, events);
    atomic_fetch_add(&sh->bytes_done, hf->size);
    atomic_fetch_add(&sh->files_done, 1);
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct shared *sh = w->sh;
    for (;;) {
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->files->n || w->fatal)
            break;
        hunt_file(w, sh->order[i]);
    }
    return NULL;
}

static int worker_init(struct worker *w, struct shared *sh, uint32_t nslots)
{
    w->sh = sh;
    w->reader = lg_reader_new();
    w->matcher = sg_matcher_new(sh->rs);
    w->tl = tl_buf_new(sh->mem_per_worker, sh->o->tmpdir);
    w->sum = summary_new(nslots);
    w->line = malloc(LINE_CAP);
    w->hits = malloc(HITS_CAP * sizeof *w->hits);
    return (w->reader && w->matcher && w->tl && w->sum && w->line && w->hits) ? 0 : MAMORI_ENOMEM;
}

static void worker_fini(struct worker *w)
{
    lg_reader_free(w->reader);
    sg_matcher_free(w->matcher);
    tl_buf_free(w->tl);
    summary_free(w->sum);
    for (size_t i = 0; i < w->ncorr; i++)
        free(w->corr[i]);
    free(w->corr);
    free(w->line);
    free(w->hits);
}

/* ---- correlations ---- */

struct corr_ctx {
    struct shared *sh;
    struct worker *w; /* whose timeline and summary take the hits */
    uint32_t nrules;
    const struct corr_base *cur;
    int rc;
};

static void on_corr_hit(void *p, const struct sg_corr_hit *h)
{
    struct corr_ctx *c = p;
    const struct sg_corr_info *ci = sg_corr_info(c->sh->cs, h->corr_idx);
    if (c->rc < 0 || ci->level < c->sh->o->min_level)
        return;
    struct sg_field kf[FINDING_FIELDS_MAX];
    uint32_t nkf = 0;
    const char *computer = NULL;
    for (uint32_t i = 0; i < h->ngroup && nkf + 3 < FINDING_FIELDS_MAX; i++) {
        const char *v = h->group_values[i] ? h->group_values[i] : "";
        kf[nkf++] = (struct sg_field){{ci->group_by[i], (uint32_t)strlen(ci->group_by[i])},
                                      {v, (uint32_t)strlen(v)}};
        if (!strcmp(ci->group_by[i], "Computer"))
            computer = v;
    }
    char count[32], value[48], first[48];
    snprintf(count, sizeof count, "%" PRIu64, h->count);
    snprintf(value, sizeof value, "%g", h->value);
    finding_time(h->first_ns, first, sizeof first);
    kf[nkf++] = (struct sg_field){{"count", 5}, {count, (uint32_t)strlen(count)}};
    kf[nkf++] = (struct sg_field){{"value", 5}, {value, (uint32_t)strlen(value)}};
    kf[nkf++] = (struct sg_field){{"first", 5}, {first, (uint32_t)strlen(first)}};
    int level = ci->level < 0 ? 0 : ci->level > 4 ? 4 : ci->level;
    struct finding f = {
        .time_ns = h->last_ns,
        .computer = computer,
        .rule_id = ci->id,
        .rule_title = ci->title,
        .level = sg_level_name(level),
        .tags = ci->tags,
        .ntags = ci->ntags,
        /* the base hit being fed completed it only when it is its last one;
           a window closed by time names no event */
        .file = c->cur && c->cur->time_ns == h->last_ns ? c->sh->files->v[c->cur->file].path : NULL,
        .record = c->cur && c->cur->time_ns == h->last_ns ? c->cur->record : 0,
        .fields = kf,
        .nfields = nkf,
    };
    long n = finding_render(c->sh->o->format, &f, c->w->line, LINE_CAP);
    if (n < 0) {
        atomic_fetch_add(&c->sh->unrendered, 1);
        return;
    }
    uint32_t slot = c->nrules + h->corr_idx;
    struct tl_key k = {h->last_ns, UINT32_MAX, slot, 0};
    int rc = tl_add(c->w->tl, &k, c->w->line, (size_t)n);
    if (rc == 0)
        rc = summary_add(c->w->sum, slot, level, computer, h->last_ns, ci->tags, ci->ntags);
    if (rc < 0)
        c->rc = rc;
    else
        atomic_fetch_add(&c->sh->findings, 1);
}

static int base_cmp(const void *a, const void *b)
{
    const struct corr_base *x = *(const struct corr_base *const *)a;
    const struct corr_base *y = *(const struct corr_base *const *)b;
    if (x->time_ns != y->time_ns)
        return x->time_ns < y->time_ns ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->record != y->record)
        return x->record < y->record ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int run_correlations(struct shared *sh, struct worker *ws, unsigned nw, uint32_t nrules)
{
    size_t total = 0;
    for (unsigned i = 0; i < nw; i++)
        total += ws[i].ncorr;
    if (!sh->cs || !sg_corr_count(sh->cs))
        return 0;
    struct corr_base **all = malloc((total ? total : 1) * sizeof *all);
    struct sg_corr_state *st = sg_corr_state_new(sh->cs);
    if (!all || !st) {
        free(all);
        sg_corr_state_free(st);
        return MAMORI_ENOMEM;
    }
    size_t k = 0;
    for (unsigned i = 0; i < nw; i++)
        for (size_t j = 0; j < ws[i].ncorr; j++)
            all[k++] = ws[i].corr[j];
    qsort(all, total, sizeof *all, base_cmp);
    struct corr_ctx c = {sh, &ws[0], nrules, NULL, 0};
    for (size_t i = 0; i < total && c.rc == 0; i++) {
        const struct corr_base *b = all[i];
        struct sg_event ev = {
            .time_ns = b->time_ns,
            .fields = b->fields,
            .nfields = b->nfields,
            .source = sh->files->v[b->file].path,
            .record = b->record,
        };
        c.cur = b;
        sg_corr_feed(st, b->rule, &ev, on_corr_hit, &c);
    }
    c.cur = NULL;
    if (c.rc == 0)
        sg_corr_finish(st, on_corr_hit, &c);
    uint64_t ev = sg_corr_evictions(st);
    if (ev)
        fprintf(stderr,
                "mamori hunt: correlation state was full: %" PRIu64
                " groups were dropped before their windows ended (their hits may be missing)\n",
                ev);
    sg_corr_state_free(st);
    free(all);
    return c.rc;
}

/* ---- rules, output, progress ---- */

struct load_ctx {
    unsigned shown;
    uint64_t hidden;
    bool quiet;
};

static void on_load_error(void *p, const char *file, unsigned line, unsigned col,
                          const char *reason)
{
    struct load_ctx *c = p;
    if (c->quiet || c->shown >= LOAD_ERRORS_SHOWN) {
        c->hidden++;
        return;
    }
    c->shown++;
    char f[1024], r[1024];
    log_escape(f, sizeof f, file);
    log_escape(r, sizeof r, reason);
    if (line)
        fprintf(stderr, "mamori hunt: rule %s:%u:%u: %s\n", f, line, col, r);
    else
        fprintf(stderr, "mamori hunt: rule %s: %s\n", f, r);
}

static void on_file_error(void *ctx, const char *path, const char *reason)
{
    (void)ctx;
    char safe[1024];
    fprintf(stderr, "mamori hunt: %s: %s\n", log_escape(safe, sizeof safe, path), reason);
}

static int write_line(void *ctx, const struct tl_key *k, const char *line, size_t len)
{
    (void)k;
    return fwrite(line, 1, len, (FILE *)ctx) == len ? 0 : -1;
}

struct names {
    const struct sg_ruleset *rs;
    const struct sg_corrset *cs;
    uint32_t nrules;
};

static const char *name_title(void *p, uint32_t slot)
{
    struct names *n = p;
    return slot < n->nrules ? sg_rule(n->rs, slot)->title
                            : sg_corr_info(n->cs, slot - n->nrules)->title;
}

static const char *name_id(void *p, uint32_t slot)
{
    struct names *n = p;
    return slot < n->nrules ? sg_rule(n->rs, slot)->id : sg_corr_info(n->cs, slot - n->nrules)->id;
}

static const char *name_level(void *p, uint32_t slot)
{
    struct names *n = p;
    int l = slot < n->nrules ? (int)sg_rule(n->rs, slot)->level
                             : sg_corr_info(n->cs, slot - n->nrules)->level;
    return sg_level_name(l);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_line(struct shared *sh, double t0, bool final)
{
    double dt = now_s() - t0;
    uint64_t b = atomic_load(&sh->bytes_done);
    fprintf(stderr, "\rmamori hunt: %" PRIu64 "/%zu files, %.1f/%.1f MB, %" PRIu64
                    " events, %" PRIu64 " findings, %.0f MB/s   %s",
            (uint64_t)atomic_load(&sh->files_done), sh->files->n, (double)b / 1e6,
            (double)sh->files->bytes / 1e6, (uint64_t)atomic_load(&sh->events),
            (uint64_t)atomic_load(&sh->findings), dt > 0 ? (double)b / 1e6 / dt : 0.0,
            final ? "\n" : "");
    fflush(stderr);
}

static int by_size_desc(const void *a, const void *b, void *ctx)
{
    const struct hunt_files *f = ctx;
    uint64_t x = f->v[*(const size_t *)a].size, y = f->v[*(const size_t *)b].size;
    return x > y ? -1 : x < y;
}

int hunt_run(const struct hunt_opts *o)
{
    int status = 0;
    struct load_ctx lc = {.quiet = o->quiet};
    struct sg_ruleset *rs = sg_ruleset_new();
    if (!rs) {
        fprintf(stderr, "mamori hunt: out of memory\n");
        return 1;
    }
    if (o->mapping && sg_load_mapping(rs, o->mapping, on_load_error, &lc) < 0) {
        fprintf(stderr, "mamori hunt: the log-source mapping %s cannot be used\n", o->mapping);
        sg_ruleset_free(rs);
        return 2;
    }
    for (size_t i = 0; i < o->nrules; i++) {
        if (sg_load_path(rs, o->rules[i], on_load_error, &lc) < 0) {
            fprintf(stderr, "mamori hunt: rules %s: %s\n", o->rules[i], strerror(errno));
            sg_ruleset_free(rs);
            return 2;
        }
    }
    sg_compile(rs, on_load_error, &lc);
    const struct sg_load_stats *ls = sg_load_stats(rs);
    if (lc.hidden && !o->quiet)
        fprintf(stderr, "mamori hunt: %" PRIu64 " more rule problems not shown\n", lc.hidden);
    fprintf(stderr, "mamori hunt: rules: %u loaded, %u correlations, %u rejected, from %u files\n",
            ls->rules, ls->correlations, ls->rejected, ls->files);
    if (ls->unmapped)
        fprintf(stderr,
                "mamori hunt: %u of the loaded rules are for log sources mamori does not read "
                "(cloud services, network devices, macOS, ...): they never match\n",
                ls->unmapped);

    struct hunt_files files = {0};
    int rc = 0;
    for (size_t i = 0; i < o->npaths && rc == 0; i++)
        rc = files_add(&files, o->paths[i], on_file_error, NULL);
    if (rc < 0) {
        fprintf(stderr, "mamori hunt: too many input files (at most %u): %s\n", HUNT_FILES_MAX,
                mamori_strerror(rc));
        status = 1;
    }
    if (files.errors)
        status = 1;
    files_sort(&files);

    unsigned nw = o->threads ? o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (nw < 1)
        nw = 1;
    if (nw > HUNT_THREADS_MAX)
        nw = HUNT_THREADS_MAX;
    if (files.n && nw > files.n)
        nw = (unsigned)files.n;

    const struct sg_corrset *cs = sg_ruleset_corr(rs);
    uint32_t nrules = sg_rule_count(rs);
    uint32_t nslots = nrules + (cs ? sg_corr_count(cs) : 0);
    struct shared sh = {.o = o, .rs = rs, .cs = cs, .files = &files};
    pthread_mutex_init(&sh.err_lock, NULL);
    sh.mem_per_worker = (o->mem ? o->mem : HUNT_MEM_DEFAULT) / (nw + 1);
    sh.order = malloc((files.n ? files.n : 1) * sizeof *sh.order);
    struct worker *ws = calloc(nw, sizeof *ws);
    bool ok = sh.order && ws;
    for (unsigned i = 0; ok && i < nw; i++)
        ok = worker_init(&ws[i], &sh, nslots) == 0;
    if (!ok) {
        fprintf(stderr, "mamori hunt: out of memory\n");
        status = 1;
        goto out;
    }
    for (size_t i = 0; i < files.n; i++)
        sh.order[i] = i;
    qsort_r(sh.order, files.n, sizeof *sh.order, by_size_desc, &files);

    double t0 = now_s();
    unsigned started = 0;
    for (; started < nw; started++)
        if (pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]) != 0)
            break;
    if (!started) {
        fprintf(stderr, "mamori hunt: cannot start a worker thread\n");
        status = 1;
        goto out;
    }
    if (o->progress) {
        while (atomic_load(&sh.files_done) < files.n) {
            bool fatal = false;
            for (unsigned i = 0; i < started; i++)
                fatal |= ws[i].fatal != 0;
            if (fatal)
                break;
            progress_line(&sh, t0, false);
            usleep(500000);
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].tid, NULL);
    if (o->progress)
        progress_line(&sh, t0, true);

    uint64_t unreadable = 0, damaged = 0, lost = 0, skipped = 0;
    for (unsigned i = 0; i < nw; i++) {
        unreadable += ws[i].unreadable;
        skipped += ws[i].skipped;
        damaged += ws[i].damaged;
        lost += ws[i].lost;
        if (ws[i].fatal) {
            fprintf(stderr, "mamori hunt: stopped: %s\n", ws[i].fatal_msg);
            status = 1;
        }
    }
    if (unreadable)
        status = 1;

    rc = run_correlations(&sh, ws, nw, nrules);
    if (rc < 0) {
        fprintf(stderr, "mamori hunt: correlations: %s\n", mamori_strerror(rc));
        status = 1;
    }
    if (atomic_load(&sh.hits_cut))
        fprintf(stderr, "mamori hunt: %" PRIu64 " rule hits beyond %u on one event were not kept\n",
                (uint64_t)atomic_load(&sh.hits_cut), HITS_CAP);
    if (atomic_load(&sh.corr_fields_cut))
        fprintf(stderr,
                "mamori hunt: %" PRIu64 " base hits kept only %u of the fields correlations read\n",
                (uint64_t)atomic_load(&sh.corr_fields_cut), CORR_FIELDS_MAX);
    if (atomic_load(&sh.corr_dropped))
        fprintf(stderr,
                "mamori hunt: %" PRIu64 " base hits beyond %u were not given to correlation rules\n",
                (uint64_t)atomic_load(&sh.corr_dropped), HUNT_CORR_HITS_MAX);

    /* the timeline */
    fputs(finding_header(o->format), o->out);
    struct tl_buf **bufs = malloc(nw * sizeof *bufs);
    if (!bufs) {
        status = 1;
        goto out;
    }
    for (unsigned i = 0; i < nw; i++)
        bufs[i] = ws[i].tl;
    rc = tl_merge(bufs, nw, write_line, o->out);
    free(bufs);
    if (atomic_load(&sh.unrendered)) {
        fprintf(stderr, "mamori hunt: %" PRIu64 " findings could not be written (longer than %u bytes)\n",
                (uint64_t)atomic_load(&sh.unrendered), TL_LINE_MAX);
        status = 1;
    }
    if (rc < 0 || fflush(o->out) != 0 || ferror(o->out)) {
        fprintf(stderr, "mamori hunt: writing the timeline: %s\n",
                rc < 0 ? mamori_strerror(rc) : strerror(errno));
        status = 1;
    }

    /* the summary */
    for (unsigned i = 1; i < nw; i++)
        if (summary_merge(ws[0].sum, ws[i].sum) < 0)
            status = 1;
    struct names nm = {rs, cs, nrules};
    struct summary_names sn = {name_title, name_id, name_level, &nm};
    double dt = now_s() - t0;
    fprintf(stderr,
            "mamori hunt: %zu files, %.1f MB, %" PRIu64 " events in %.2f s (%.1f MB/s, %u threads); "
            "%" PRIu64 " findings; %" PRIu64 " unreadable, %" PRIu64 " damaged (%" PRIu64
            " events lost), %" PRIu64 " of no log format skipped\n",
            files.n, (double)files.bytes / 1e6, (uint64_t)atomic_load(&sh.events), dt,
            dt > 0 ? (double)files.bytes / 1e6 / dt : 0.0, nw, summary_total(ws[0].sum),
            unreadable + files.errors, damaged, lost, skipped);
    uint32_t spills = 0;
    for (unsigned i = 0; i < nw; i++)
        spills += tl_spills(ws[i].tl);
    if (spills)
        fprintf(stderr, "mamori hunt: findings spilled to disk in %u runs (--memory %zu MiB)\n",
                spills, (o->mem ? o->mem : HUNT_MEM_DEFAULT) >> 20);
    if (o->summary)
        summary_print_text(ws[0].sum, &sn, stderr);
    if (o->summary_json) {
        FILE *f = fopen(o->summary_json, "w");
        int wr = f ? summary_write_json(ws[0].sum, &sn, f) : MAMORI_EIO;
        if (f && fclose(f) != 0)
            wr = MAMORI_EIO;
        if (wr < 0) {
            fprintf(stderr, "mamori hunt: writing the summary to %s: %s\n", o->summary_json,
                    errno ? strerror(errno) : mamori_strerror(wr));
            status = 1;
        }
    }
out:
    for (unsigned i = 0; ws && i < nw; i++)
        worker_fini(&ws[i]);
    free(ws);
    free(sh.order);
    pthread_mutex_destroy(&sh.err_lock);
    files_free(&files);
    sg_ruleset_free(rs);
    return status;
}
