/* cmd_agent_event.c - `mamori agent event`: JSON-line events into the
 * agent's event spool (agent/event.h), for tests, drills and integrations
 * until the guard writes them itself.
 *
 *   mamori agent event [--dir DIR] [--file F] [--spool-max MIB]
 *
 * Reads one JSON object per line from F (default standard input); prints
 * one summary line. Exit status 0 (every line spooled), 1 (a line was
 * skipped, or the spool could not be written), 2 (usage). */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/event.h"
#include "agent/spool.h"
#include "cmd/commands.h"
#include "core/err.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori agent event [--dir DIR] [--file F] [--spool-max MIB]\n\n"
            "Put events, one JSON object per line, from F (default: standard input) into\n"
            "DIR/spool-events; the running agent forwards them to the server in order\n"
            "(EVENTS frames), alerts first. A line that is not one JSON object of at most\n"
            "64 KiB is reported with its line number and skipped. When the spool reaches\n"
            "its bound its oldest events are dropped and an events_dropped event says how\n"
            "many: appending never blocks.\n\n"
            "  -D, --dir DIR        agent directory (default %s)\n"
            "  -f, --file F         read events from F instead of standard input\n"
            "      --spool-max MIB  size bound of DIR/spool-events (default %llu)\n"
            "  -h, --help           this help\n\n"
            "Exit status: 0 all spooled, 1 a line skipped or the spool not writable, 2 usage.\n",
            AGENT_DEFAULT_DIR, (unsigned long long)(SPOOL_EVENTS_DEFAULT_CAP >> 20));
}

int cmd_agent_event(int argc, char **argv)
{
    enum { OPT_SPOOL = 256 };
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'D'},
                                             {"file", required_argument, NULL, 'f'},
                                             {"spool-max", required_argument, NULL, OPT_SPOOL},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = AGENT_DEFAULT_DIR, *file = NULL;
    uint64_t cap = SPOOL_EVENTS_DEFAULT_CAP;
    int c;
    while ((c = getopt_long(argc, argv, "D:f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'D': dir = optarg; break;
        case 'f': file = optarg; break;
        case OPT_SPOOL: {
            char *end;
            unsigned long mib = strtoul(optarg, &end, 10);
            if (*end || mib < 8 || mib > 65536) {
                fprintf(stderr, "mamori agent event: --spool-max '%s': MiB from 8 to 65536\n",
                        optarg);
                return EXIT_USAGE;
            }
            cap = (uint64_t)mib << 20;
            break;
        }
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mamori agent event: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    FILE *in = file ? fopen(file, "r") : stdin;
    if (!in) {
        perror(file);
        return EXIT_FAIL;
    }
    struct agent_event_stats st;
    char err[AGENT_ERR_MAX] = "";
    int rc = agent_event(dir, in, file ? file : "stdin", cap, &st, err);
    if (file)
        fclose(in);
    printf("spooled %" PRIu64 " events (seq %" PRIu64 "..%" PRIu64 ") in %s/%s; %" PRIu64
           " lines skipped, %" PRIu64 " older events dropped for room\n",
           st.spooled, st.first_seq, st.last_seq, dir, AGENT_EVENT_SPOOL, st.rejected,
           st.dropped);
    if (rc < 0) {
        fprintf(stderr, "mamori agent event: %s\n", err);
        return EXIT_FAIL;
    }
    return st.rejected ? EXIT_FAIL : EXIT_OK;
}
