/* cmd_agent.c - `mamori agent`: enroll this host with a server, then keep
 * its uplink.
 *
 *   mamori agent enroll --server https://HOST:PORT --token TOKEN [--dir DIR]
 *                       [--hostname NAME]
 *   mamori agent [run] [--dir DIR] [--max-backoff DUR] [--spool-max SIZE]
 *                      [--vault DIR]... [--config FILE] [--no-guard]
 *                      [--protect DIR]... [--action A]
 *   mamori agent alert [--dir DIR] --kind KIND --summary TEXT [--severity S]
 *   mamori agent event [--dir DIR] [--file F] [--spool-max MIB]  (cmd_agent_event.c)
 *   mamori agent reapply [--dir DIR]
 *
 * `run` starts the guard's supervisor (agent/guardrun.h) beside the uplink
 * unless --no-guard, and stops it (the guard first) when the uplink ends.
 * Arguments are parsed here and handed to src/agent; results become exit
 * status 0 (ok, or stopped by a signal), 1 (runtime failure, refused by the
 * server), 2 (usage or configuration error, naming the option or file).
 * See docs/mamori-agent.md. */
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/guardrun.h"
#include "agent/spool.h"
#include "cmd/commands.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "net/sock.h"
#include "vault/vault.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori agent enroll --server https://HOST:PORT --token TOKEN [--dir DIR]\n"
            "                           [--hostname NAME]\n"
            "       mamori agent [run] [--dir DIR] [--max-backoff DUR] [--spool-max MIB]\n"
            "                          [--vault DIR]... [--config FILE] [--no-guard]\n"
            "                          [--protect DIR]... [--action kill|freeze|alert]\n"
            "       mamori agent alert [--dir DIR] --kind KIND --summary TEXT [--severity S]\n"
            "       mamori agent event [--dir DIR] [--file F] [--spool-max MIB]\n"
            "       mamori agent reapply [--dir DIR]\n\n"
            "The host side of mamori's uplink to the head-office server.\n\n"
            "  enroll   make this host's key pair, send a certificate request with a one-time\n"
            "           token from 'mamori server token', trust only the server CA the token\n"
            "           pins, and store the signed certificate in DIR\n"
            "  run      (the default) connect with that certificate and send heartbeats;\n"
            "           reconnect with backoff when the link breaks; stop for good if the\n"
            "           server says this host is revoked; forward the alert spool in order.\n"
            "           JSON event lines on standard output. Runs the server's response\n"
            "           commands (isolate, release, kill an actor, restore an alert's files),\n"
            "           each at most once, and re-applies an isolation at start. Starts the\n"
            "           guard (mamori guard) on the same configuration as a child process,\n"
            "           spools its alerts for the server and restarts it if it dies\n"
            "  alert    put a test or drill alert into DIR/spool; the running agent forwards\n"
            "           it (it waits there, across restarts, while the server is unreachable)\n"
            "  event    put JSON-line events (standard input, or --file F) into\n"
            "           DIR/spool-events; the running agent forwards them (see mamori agent\n"
            "           event --help)\n"
            "  reapply  re-apply the isolation the server ordered (DIR/isolate.nft), if any,\n"
            "           and exit: for a boot unit that runs before the network comes up\n\n"
            "Options:\n"
            "  -s, --server URL        the server, https://HOST:PORT (enroll)\n"
            "  -t, --token TOKEN       the one-time enrollment token (enroll)\n"
            "  -D, --dir DIR           agent directory (default %s)\n"
            "      --hostname NAME     the name this host reports (enroll; default: its host\n"
            "                          name)\n"
            "      --max-backoff DUR   longest wait between reconnections (run; default 60s)\n"
            "      --spool-max MIB     size bound of DIR/spool in MiB (run, alert; default 64)\n"
            "      --vault DIR         a vault for restore commands (run; repeatable; default:\n"
            "                          the vaults of the configuration's protected paths)\n"
            "  -c, --config FILE       configuration of the guard and of that lookup (run;\n"
            "                          default %s if it exists, else the embedded\n"
            "                          defaults)\n"
            "      --no-guard          do not start the guard: the uplink only (run)\n"
            "      --protect DIR       a directory for the guard to protect instead of the\n"
            "                          configuration's guard.protect (run; repeatable)\n"
            "      --action A          the guard's action: kill, freeze or alert (run;\n"
            "                          default: the configuration's guard.action)\n"
            "      --kind KIND         alert kind, 1-63 bytes (alert)\n"
            "      --severity S        info, low, medium, high (default) or critical (alert)\n"
            "      --summary TEXT      what happened, for the operator (alert)\n"
            "      --log-level LEVEL   error, warn, info (default) or debug\n"
            "  -h, --help              this help\n\n"
            "Exit status: 0 ok (run: stopped by SIGINT/SIGTERM), 1 runtime failure or refused\n"
            "by the server, 2 usage or configuration error. See docs/mamori-agent.md.\n",
            AGENT_DEFAULT_DIR, CONFIG_DEFAULT_PATH);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mamori agent: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see mamori agent --help)\n");
    va_end(ap);
    return EXIT_USAGE;
}

enum {
    OPT_HOSTNAME = 256,
    OPT_BACKOFF,
    OPT_LOGLEVEL,
    OPT_SPOOL,
    OPT_KIND,
    OPT_SEV,
    OPT_SUMMARY,
    OPT_VAULT,
    OPT_NOGUARD,
    OPT_PROTECT,
    OPT_ACTION
};
enum mode { MODE_RUN, MODE_ENROLL, MODE_ALERT, MODE_REAPPLY };

struct args {
    struct agent_enroll_opts e;
    struct agent_run_opts r;
    const char *kind, *severity, *summary;
    bool no_guard;
    struct guardrun_opts g;
    char vault_of[GUARDRUN_PROTECT_MAX][PATH_MAX]; /* vaults of --protect DIRs */
};

/* 0 to go on, -1 after --help, or an exit status. */
static int parse(int argc, char **argv, struct args *a, enum mode mode)
{
    bool enroll = mode == MODE_ENROLL;
    static const struct option longopts[] = {{"server", required_argument, NULL, 's'},
                                             {"token", required_argument, NULL, 't'},
                                             {"dir", required_argument, NULL, 'D'},
                                             {"hostname", required_argument, NULL, OPT_HOSTNAME},
                                             {"max-backoff", required_argument, NULL, OPT_BACKOFF},
                                             {"log-level", required_argument, NULL, OPT_LOGLEVEL},
                                             {"spool-max", required_argument, NULL, OPT_SPOOL},
                                             {"kind", required_argument, NULL, OPT_KIND},
                                             {"severity", required_argument, NULL, OPT_SEV},
                                             {"summary", required_argument, NULL, OPT_SUMMARY},
                                             {"vault", required_argument, NULL, OPT_VAULT},
                                             {"config", required_argument, NULL, 'c'},
                                             {"no-guard", no_argument, NULL, OPT_NOGUARD},
                                             {"protect", required_argument, NULL, OPT_PROTECT},
                                             {"action", required_argument, NULL, OPT_ACTION},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    a->e.dir = a->r.dir = AGENT_DEFAULT_DIR;
    a->r.max_backoff_ms = 60000;
    a->r.spool_max = SPOOL_DEFAULT_CAP;
    a->severity = "high";
    int c;
    enum log_level lvl;
    uint64_t ms;
    while ((c = getopt_long(argc, argv, "s:t:D:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
        case 't':
        case OPT_HOSTNAME:
            if (!enroll)
                return usage_error("--%s is an option of 'mamori agent enroll'", c == 's' ? "server"
                                                                                 : c == 't'
                                                                                     ? "token"
                                                                                     : "hostname");
            if (c == 's')
                a->e.server = optarg;
            else if (c == 't')
                a->e.token = optarg;
            else
                a->e.hostname = optarg;
            break;
        case 'D': a->e.dir = a->r.dir = optarg; break;
        case OPT_VAULT:
        case 'c':
            if (mode != MODE_RUN)
                return usage_error("--vault and --config are options of 'mamori agent run'");
            if (c == 'c')
                a->r.config = optarg;
            else if (a->r.nvaults == AGENT_VAULTS_MAX)
                return usage_error("--vault: at most %d", AGENT_VAULTS_MAX);
            else
                a->r.vaults[a->r.nvaults++] = optarg;
            break;
        case OPT_NOGUARD:
        case OPT_PROTECT:
        case OPT_ACTION:
            if (mode != MODE_RUN)
                return usage_error("--no-guard, --protect and --action are options of 'mamori "
                                   "agent run'");
            if (c == OPT_NOGUARD)
                a->no_guard = true;
            else if (c == OPT_ACTION && strcmp(optarg, "kill") && strcmp(optarg, "freeze") &&
                     strcmp(optarg, "alert"))
                return usage_error("--action '%s': kill, freeze or alert", optarg);
            else if (c == OPT_ACTION)
                a->g.action = optarg;
            else if (optarg[0] != '/')
                return usage_error("--protect '%s': an absolute path", optarg);
            else if (a->g.nprotect == GUARDRUN_PROTECT_MAX)
                return usage_error("--protect: at most %d", GUARDRUN_PROTECT_MAX);
            else
                a->g.protect[a->g.nprotect++] = optarg;
            break;
        case OPT_BACKOFF:
            if (parse_duration_ms(optarg, &ms) < 0 || ms < 1000 || ms > 3600000)
                return usage_error("--max-backoff '%s': a duration from 1s to 1h", optarg);
            a->r.max_backoff_ms = (unsigned)ms;
            break;
        case OPT_SPOOL: {
            char *end;
            unsigned long mib = strtoul(optarg, &end, 10);
            if (*end || mib < 8 || mib > 65536)
                return usage_error("--spool-max '%s': MiB from 8 to 65536", optarg);
            a->r.spool_max = (uint64_t)mib << 20;
            break;
        }
        case OPT_KIND:
        case OPT_SEV:
        case OPT_SUMMARY:
            if (mode != MODE_ALERT)
                return usage_error("--kind, --severity and --summary are options of 'mamori "
                                   "agent alert'");
            if (c == OPT_KIND)
                a->kind = optarg;
            else if (c == OPT_SEV)
                a->severity = optarg;
            else
                a->summary = optarg;
            break;
        case OPT_LOGLEVEL:
            if (log_parse_level(optarg, &lvl) < 0)
                return usage_error("--log-level '%s': expected error, warn, info or debug", optarg);
            log_set_level(lvl);
            break;
        case 'h': usage(stdout); return -1;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (enroll && (!a->e.server || !a->e.token))
        return usage_error("enroll needs --server https://HOST:PORT and --token TOKEN");
    if (mode == MODE_ALERT) {
        static const char *const sev[] = {"info", "low", "medium", "high", "critical"};
        bool ok = false;
        for (size_t i = 0; i < 5; i++)
            ok = ok || !strcmp(a->severity, sev[i]);
        if (!a->kind || !a->kind[0] || strlen(a->kind) > 63 || !a->summary)
            return usage_error("alert needs --kind KIND (1-63 bytes) and --summary TEXT");
        if (!ok)
            return usage_error("--severity '%s': info, low, medium, high or critical", a->severity);
    }
    return 0;
}

/* `agent run`: the guard's supervisor beside the uplink. */
static int run(struct args *a, char *err)
{
    /* restore commands look in the vaults of the directories the guard
     * protects when no --vault is given */
    for (size_t i = 0; i < a->g.nprotect && !a->r.nvaults; i++)
        if (vault_dir_for(a->g.protect[i], a->vault_of[i], PATH_MAX) == 0)
            a->r.vaults[a->r.nvaults++] = a->vault_of[i];
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/agent.json", a->r.dir);
    struct guardrun *gr = NULL;
    if (!a->no_guard && access(p, F_OK) == 0) { /* not enrolled: agent_run says so */
        /* the supervisor thread inherits this mask: SIGINT/SIGTERM reach the
         * uplink's signalfd only */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        a->g.dir = a->r.dir;
        a->g.spool_max = a->r.spool_max;
        a->g.config = a->r.config;
        a->g.max_backoff_ms = a->r.max_backoff_ms;
        a->g.events = stdout;
        int rc = guardrun_start(&gr, &a->g, err, AGENT_ERR_MAX);
        if (rc < 0)
            return rc;
    }
    int rc = agent_run(&a->r, stdout, err);
    guardrun_stop(gr);
    return rc;
}

static int status_of(int rc)
{
    return rc == 0 ? EXIT_OK : rc == MAMORI_ECONFIG ? EXIT_USAGE : EXIT_FAIL;
}

int cmd_agent_main(int argc, char **argv)
{
    enum mode mode = MODE_RUN;
    if (argc >= 2 && !strcmp(argv[1], "event"))
        return cmd_agent_event(argc - 1, argv + 1);
    if (argc >= 2 && argv[1][0] != '-') {
        if (!strcmp(argv[1], "enroll"))
            mode = MODE_ENROLL;
        else if (!strcmp(argv[1], "alert"))
            mode = MODE_ALERT;
        else if (!strcmp(argv[1], "reapply"))
            mode = MODE_REAPPLY;
        else if (!strcmp(argv[1], "help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[1], "run") != 0)
            return usage_error("unknown subcommand '%s'", argv[1]);
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    struct args a = {0};
    int rc = parse(argc, argv, &a, mode);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    char err[AGENT_ERR_MAX] = "";
    if (mode == MODE_REAPPLY) {
        char msg[AGENT_ERR_MAX];
        rc = agent_reapply(a.r.dir, msg, sizeof msg);
        if (rc < 0)
            memcpy(err, msg, sizeof err);
        else
            printf("%s\n", msg[0] ? msg : "not isolated: nothing to re-apply");
    } else if (mode == MODE_ALERT) {
        int64_t seq = agent_alert(a.r.dir, a.kind, a.severity, a.summary, a.r.spool_max, err);
        if (seq > 0)
            printf("spooled alert %lld in %s/spool\n", (long long)seq, a.r.dir);
        rc = seq > 0 ? 0 : (int)seq;
    } else if (mode == MODE_ENROLL) {
        rc = agent_enroll(&a.e, stdout, err);
    } else {
        rc = run(&a, err);
    }
    if (rc < 0)
        fprintf(stderr, "mamori agent: %s\n", err[0] ? err : mamori_strerror(rc));
    return status_of(rc);
}
