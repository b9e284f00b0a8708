/* cmd_evtx.c - `mamori evtx`: read Windows event log files, print records.
 *
 * A debugging front door for src/evtx: each FILE is parsed, every record
 * printed as one JSON line on stdout (--format jsonl), or only counted
 * (--count: per file and in total, with the records lost grouped by reason).
 * Damage is reported on stderr as "FILE: chunk C, record R, offset O:
 * reason" and skipped. Exit status: 0 every file read whole, 1 some file
 * unreadable or damaged, 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/err.h"
#include "evtx/evtx.h"

#define JSON_LINE_CAP (8u << 20) /* one record as JSON: 6x the text arena, plus keys */
#define REASONS_MAX 64           /* distinct reasons counted for --count */
#define ERRORS_SHOWN 50          /* error lines printed per file */

struct reason {
    const char *why;
    uint64_t errors, lost;
};

struct ctx {
    unsigned shown;
    uint64_t hidden;
    struct reason reasons[REASONS_MAX];
    size_t nreasons;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mamori evtx [--format jsonl] [--count] [--strict] FILE...\n\n"
                 "Reads Windows XML event log files (.evtx) with mamori's own parser and\n"
                 "prints each record as one JSON object per line: record_id, timestamp (UTC),\n"
                 "event_id, provider, channel, computer, system (every System field) and\n"
                 "fields (EventData / UserData, name -> value). Damaged chunks and records\n"
                 "are reported on standard error with file, chunk, record and reason, and\n"
                 "skipped; the rest of the file is read.\n\n"
                 "  -f, --format jsonl  output format (the only one)\n"
                 "  -c, --count         print only the number of records read and lost per\n"
                 "                      file, in total, and the losses grouped by reason\n"
                 "      --strict        skip a chunk whose record data checksum fails\n"
                 "                      (default: read its records one by one)\n"
                 "  -h, --help          this help\n\n"
                 "Exit status: 0 every file read whole, 1 some file unreadable or damaged,\n"
                 "2 usage error. See docs/mamori-evtx.md.\n");
}

static void on_error(void *p, const struct evtx_error *e)
{
    struct ctx *c = p;
    size_t i;
    for (i = 0; i < c->nreasons; i++)
        if (!strcmp(c->reasons[i].why, e->reason))
            break;
    if (i == c->nreasons && c->nreasons < REASONS_MAX)
        c->reasons[c->nreasons++] = (struct reason){.why = e->reason};
    if (i < c->nreasons) {
        c->reasons[i].errors++;
        c->reasons[i].lost += e->lost;
    }
    if (c->shown >= ERRORS_SHOWN) {
        c->hidden++;
        return;
    }
    c->shown++;
    char where[128] = "";
    size_t n = 0;
    if (e->chunk >= 0)
        n += (size_t)snprintf(where + n, sizeof where - n, "chunk %" PRId64 ", ", e->chunk);
    if (e->record_id)
        n += (size_t)snprintf(where + n, sizeof where - n, "record %" PRIu64 ", ", e->record_id);
    snprintf(where + n, sizeof where - n, "offset 0x%" PRIx64, e->offset);
    fprintf(stderr, "mamori evtx: %s: %s: %s%s%s", e->file, where, e->reason,
            e->sys_errno ? ": " : "", e->sys_errno ? strerror(e->sys_errno) : "");
    if (e->lost)
        fprintf(stderr, " (%" PRIu64 " record%s lost)", e->lost, e->lost == 1 ? "" : "s");
    fputc('\n', stderr);
}

int cmd_evtx_main(int argc, char **argv)
{
    enum { OPT_STRICT = 256 };
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                             {"count", no_argument, NULL, 'c'},
                                             {"strict", no_argument, NULL, OPT_STRICT},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool count = false;
    unsigned flags = 0;
    int c;
    while ((c = getopt_long(argc, argv, "f:ch", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "jsonl") != 0) {
                fprintf(stderr, "mamori evtx: unknown format '%s' (only jsonl)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'c': count = true; break;
        case OPT_STRICT: flags |= EVTX_STRICT; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mamori evtx: give at least one FILE\n");
        usage(stderr);
        return EXIT_USAGE;
    }

    struct ctx *ctx = calloc(1, sizeof *ctx);
    struct evtx_reader *r = evtx_reader_new();
    char *line = count ? NULL : malloc(JSON_LINE_CAP);
    if (!ctx || !r || (!count && !line)) {
        fprintf(stderr, "mamori evtx: out of memory\n");
        free(ctx);
        evtx_reader_free(r);
        free(line);
        return EXIT_FAIL;
    }
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    struct evtx_opts o = {.on_error = on_error, .ctx = ctx, .flags = flags};
    uint64_t total = 0, lost = 0, errors = 0, files = 0;
    int rc = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        ctx->shown = 0;
        ctx->hidden = 0;
        files++;
        if (evtx_open_file(r, argv[i], &o) < 0) {
            rc = EXIT_FAIL;
            errors += evtx_stats(r)->errors;
            if (count)
                printf("%s: unreadable\n", argv[i]);
            continue;
        }
        const struct evtx_record *rec;
        while (evtx_next(r, &rec) > 0) {
            if (count)
                continue;
            long n = evtx_record_json(rec, line, JSON_LINE_CAP);
            if (n < 0) {
                fprintf(stderr, "mamori evtx: %s: record %" PRIu64 ": too large to print\n",
                        argv[i], rec->record_id);
                rc = EXIT_FAIL;
                continue;
            }
            line[n] = '\n';
            fwrite(line, 1, (size_t)n + 1, stdout);
        }
        const struct evtx_stats *st = evtx_stats(r);
        evtx_close(r);
        if (ctx->hidden)
            fprintf(stderr, "mamori evtx: %s: %" PRIu64 " more errors not shown\n", argv[i],
                    ctx->hidden);
        if (st->errors)
            rc = EXIT_FAIL;
        total += st->records;
        lost += st->lost;
        errors += st->errors;
        if (count)
            printf("%s: %" PRIu64 " records, %" PRIu64 " lost, %" PRIu64 " errors\n", argv[i],
                   st->records, st->lost, st->errors);
    }
    if (count) {
        printf("total: %" PRIu64 " records, %" PRIu64 " lost, %" PRIu64 " errors, %" PRIu64
               " files\n",
               total, lost, errors, files);
        for (size_t i = 0; i < ctx->nreasons; i++)
            printf("  %s: %" PRIu64 " errors, %" PRIu64 " records lost\n", ctx->reasons[i].why,
                   ctx->reasons[i].errors, ctx->reasons[i].lost);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mamori evtx: writing the output: %s\n", strerror(errno));
        rc = EXIT_FAIL;
    }
    free(line);
    evtx_reader_free(r);
    free(ctx);
    return rc;
}
