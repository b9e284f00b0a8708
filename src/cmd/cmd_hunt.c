/* cmd_hunt.c - `mamori hunt`: run Sigma rules over log files after the fact.
 *
 * Parses the options into a struct hunt_opts and hands over to src/hunt.
 * Without --rules, mamori's own rules are used: the directory rules/ of the
 * source tree the binary was built in (build/<variant>/mamori), else
 * /usr/share/mamori/rules. Exit status: 0 it ran (with or without
 * findings), 1 some input could not be read or the output not written,
 * 2 usage error or unusable rules. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/sigma/sigma.h"
#include "hunt/hunt.h"

#define RULE_PATHS_MAX 64
#define SYSTEM_RULES "/usr/share/mamori/rules"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori hunt [--rules PATH ...] [--format csv|jsonl|table]\n"
            "                   [--min-level LEVEL] [--threads N] [--output FILE]\n"
            "                   [--summary-json FILE] [--no-summary] [--quiet] PATH...\n\n"
            "Runs Sigma rules over log files and prints a timeline of what they found,\n"
            "sorted by time, then a summary: hits per rule and level, per host, and each\n"
            "host's attack chain (initial access, credential use, discovery, lateral\n"
            "movement, persistence, defence evasion, impact) with first and last times.\n"
            "PATH is a file or a directory (read recursively). Formats are recognised\n"
            "from the content: Windows event logs (.evtx), JSON events (lines, objects or\n"
            "arrays; Winlogbeat, NXLog, ECS), auditd logs, syslog and auth.log.\n\n"
            "  -r, --rules PATH       a rule file or directory (repeatable); default:\n"
            "                         mamori's own rules. Give SigmaHQ's rules/ tree to\n"
            "                         use theirs. Rejected rules are listed with the reason.\n"
            "      --mapping FILE     log-source mapping to use instead of the built-in one\n"
            "  -f, --format FMT       table (default on a terminal), jsonl (default\n"
            "                         otherwise) or csv\n"
            "  -l, --min-level LEVEL  informational, low, medium (default: informational),\n"
            "                         high or critical\n"
            "  -t, --threads N        worker threads (default: one per CPU)\n"
            "  -o, --output FILE      write the timeline to FILE instead of stdout\n"
            "      --summary-json FILE  also write the summary as JSON\n"
            "      --no-summary       no text summary on standard error\n"
            "      --no-progress      no progress line (shown when stderr is a terminal)\n"
            "  -q, --quiet            no per-rule or per-record problem lines, only totals\n"
            "      --memory MIB       timeline kept in memory before spilling to\n"
            "                         temporary files (default 128)\n"
            "      --tmpdir DIR       where spilled timeline runs go (default: $TMPDIR or /tmp)\n"
            "  -h, --help             this help\n\n"
            "JSONL keys: timestamp, computer, channel, event_id, rule_id, rule_title,\n"
            "level, tags, file, record, fields.\n"
            "Exit status: 0 it ran (findings or not), 1 some input could not be read or\n"
            "the output not written, 2 usage error or unusable rules. See docs/mamori-hunt.md.\n");
}

/* mamori's own rules: next to the source tree of this binary, else the
 * system directory. */
static const char *default_rules(char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat st;
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, cap, "%s/../../rules", exe);
            if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
                return buf;
        }
    }
    if (stat(SYSTEM_RULES, &st) == 0 && S_ISDIR(st.st_mode))
        return SYSTEM_RULES;
    return NULL;
}

int cmd_hunt_main(int argc, char **argv)
{
    enum { OPT_MAPPING = 256, OPT_SUMMARY_JSON, OPT_NO_SUMMARY, OPT_NO_PROGRESS, OPT_MEMORY,
           OPT_TMPDIR };
    static const struct option longopts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"mapping", required_argument, NULL, OPT_MAPPING},
        {"format", required_argument, NULL, 'f'},
        {"min-level", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"summary-json", required_argument, NULL, OPT_SUMMARY_JSON},
        {"no-summary", no_argument, NULL, OPT_NO_SUMMARY},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"quiet", no_argument, NULL, 'q'},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"tmpdir", required_argument, NULL, OPT_TMPDIR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rules[RULE_PATHS_MAX];
    size_t nrules = 0;
    struct hunt_opts o = {.summary = true, .min_level = 0};
    const char *output = NULL;
    int format = -1;
    bool no_progress = false;
    int c;
    while ((c = getopt_long(argc, argv, "r:f:l:t:o:qh", longopts, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'r':
            if (nrules >= RULE_PATHS_MAX) {
                fprintf(stderr, "mamori hunt: at most %d --rules\n", RULE_PATHS_MAX);
                return EXIT_USAGE;
            }
            rules[nrules++] = optarg;
            break;
        case OPT_MAPPING: o.mapping = optarg; break;
        case 'f':
            if (!strcmp(optarg, "jsonl"))
                format = HUNT_JSONL;
            else if (!strcmp(optarg, "csv"))
                format = HUNT_CSV;
            else if (!strcmp(optarg, "table"))
                format = HUNT_TABLE;
            else {
                fprintf(stderr, "mamori hunt: unknown format '%s' (csv, jsonl or table)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'l':
            o.min_level = sg_level_parse(optarg);
            if (o.min_level < 0) {
                fprintf(stderr,
                        "mamori hunt: unknown level '%s' (informational, low, medium, high, "
                        "critical)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 't':
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || v < 1 || v > HUNT_THREADS_MAX) {
                fprintf(stderr, "mamori hunt: --threads wants 1..%d, not '%s'\n",
                        HUNT_THREADS_MAX, optarg);
                return EXIT_USAGE;
            }
            o.threads = (unsigned)v;
            break;
        case 'o': output = optarg; break;
        case OPT_SUMMARY_JSON: o.summary_json = optarg; break;
        case OPT_NO_SUMMARY: o.summary = false; break;
        case OPT_NO_PROGRESS: no_progress = true; break;
        case 'q': o.quiet = true; break;
        case OPT_MEMORY:
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || v < 8 || v > 65536) {
                fprintf(stderr, "mamori hunt: --memory wants 8..65536 (MiB), not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            o.mem = (size_t)v << 20;
            break;
        case OPT_TMPDIR: o.tmpdir = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mamori hunt: give at least one PATH (a log file or a directory)\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    char defbuf[PATH_MAX + 16];
    if (!nrules) {
        const char *d = default_rules(defbuf, sizeof defbuf);
        if (!d) {
            fprintf(stderr, "mamori hunt: no --rules given and mamori's own rules are not "
                            "installed (" SYSTEM_RULES ")\n");
            return EXIT_USAGE;
        }
        rules[nrules++] = d;
    }
    for (size_t i = 0; i < nrules; i++) {
        struct stat st;
        if (stat(rules[i], &st) < 0) {
            fprintf(stderr, "mamori hunt: rules %s: %s\n", rules[i], strerror(errno));
            return EXIT_USAGE;
        }
    }
    if (!o.tmpdir)
        o.tmpdir = getenv("TMPDIR");
    o.rules = rules;
    o.nrules = nrules;
    o.paths = (const char *const *)&argv[optind];
    o.npaths = (size_t)(argc - optind);
    o.progress = !no_progress && isatty(STDERR_FILENO);
    o.out = stdout;
    if (output) {
        o.out = fopen(output, "w");
        if (!o.out) {
            fprintf(stderr, "mamori hunt: cannot write %s: %s\n", output, strerror(errno));
            return EXIT_USAGE;
        }
    }
    o.format = format >= 0 ? (enum hunt_format)format
               : (!output && isatty(STDOUT_FILENO)) ? HUNT_TABLE
                                                    : HUNT_JSONL;
    static char outbuf[1 << 20];
    setvbuf(o.out, outbuf, _IOFBF, sizeof outbuf);
    int rc = hunt_run(&o);
    if (output && fclose(o.out) != 0) {
        fprintf(stderr, "mamori hunt: writing %s: %s\n", output, strerror(errno));
        rc = rc ? rc : EXIT_FAIL;
    }
    return rc;
}
