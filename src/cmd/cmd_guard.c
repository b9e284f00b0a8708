/* cmd_guard.c - `mamori guard`: the file guard in the foreground.
 *
 * Loads the configuration (embedded defaults, then the file), lets options
 * override it, maps the guard section onto struct guard_opts and runs the
 * guard until SIGTERM. Exit status: 0 clean stop, 1 could not run (not root,
 * no fanotify, a path that cannot be watched), 2 usage or configuration
 * error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "guard/guard.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori guard [--config FILE] [--protect DIR ...] [--action alert|freeze|kill]\n"
            "                    [--log FILE] [--allow-exe PATH ...] [--no-decoys]\n"
            "                    [--watchdog-ms N] [--no-vault] [--leases] [--log-level LEVEL]\n\n"
            "Watches the filesystems of the protected directories with fanotify, judges\n"
            "every process that writes there, and stops a process that encrypts files.\n"
            "Runs in the foreground; writes one JSON line per event to the log (default\n"
            "standard output): first {\"event\":\"ready\"}, then one {\"event\":\"alert\"} per\n"
            "detection. SIGTERM or SIGINT stops it and removes its marks and decoys.\n\n"
            "  -c, --config FILE     configuration (default %s if it exists,\n"
            "                        else the embedded defaults)\n"
            "  -p, --protect DIR     protect DIR (repeatable; replaces the configured list)\n"
            "  -a, --action ACTION   alert: report only; freeze: stop the processes\n"
            "                        (SIGSTOP, reversible); kill: stop, then kill\n"
            "  -l, --log FILE        append JSON lines to FILE ('-' = standard output)\n"
            "  -A, --allow-exe PATH  never act on this executable (repeatable)\n"
            "      --no-decoys       do not place decoy files\n"
            "      --no-vault        keep no pre-images (files damaged before the stop\n"
            "                        cannot be restored; see mamori restore)\n"
            "      --leases          with the vault: let rereads of files already seen pass\n"
            "                        under a read lease instead of a round trip each\n"
            "                        (experimental: a non-blocking write-open of such a\n"
            "                        file fails once with EAGAIN); --no-leases: off (default)\n"
            "      --watchdog-ms N   allow a file access whose decision takes longer (default 500)\n"
            "      --log-level L     error, warn, info or debug (diagnostics on stderr)\n"
            "  -h, --help            this help\n\n"
            "Must run as root. See docs/mamori-guard.md.\n",
            CONFIG_DEFAULT_PATH);
}

static int to_opts(const struct config_guard *c, struct guard_opts *o, char *err, size_t errsz)
{
    guard_opts_default(o);
    if (guard_action_parse(c->action, &o->action) < 0) {
        snprintf(err, errsz, "unknown action '%s' (alert, freeze or kill)", c->action);
        return -1;
    }
    if (c->nprotect == 0) {
        snprintf(err, errsz, "nothing to protect: give --protect DIR or guard.protect");
        return -1;
    }
    for (size_t i = 0; i < c->nprotect && i < GUARD_PROTECT_MAX; i++) {
        char real[PATH_MAX];
        if (!realpath(c->protect[i], real)) {
            snprintf(err, errsz, "cannot protect %s: %s", c->protect[i], strerror(errno));
            return -1;
        }
        snprintf(o->protect[o->nprotect++], PATH_MAX, "%s", real);
    }
    for (size_t i = 0; i < c->nallow && i < GUARD_ALLOW_MAX; i++)
        snprintf(o->allow_exe[o->nallow++], PROC_EXE_MAX, "%s", c->allow_exe[i]);
    o->decoys = c->decoys;
    o->watchdog_ms = c->watchdog_ms;
    o->threshold = c->threshold;
    return 0;
}

static void vault_opts(const struct config_vault *v, struct guard_opts *o)
{
    o->vault = v->enabled;
    o->vault_cap_percent = v->cap_percent;
    o->vault_file_max = (uint64_t)v->file_max_mib << 20;
    o->vault_keep_us = (uint64_t)v->keep_minutes * 60u * 1000000u;
    o->nvault_trusted = 0;
    for (size_t i = 0; i < v->ntrusted && i < GUARD_ALLOW_MAX; i++)
        snprintf(o->vault_trusted[o->nvault_trusted++], PROC_EXE_MAX, "%s", v->trusted_exe[i]);
}

int cmd_guard_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},    {"protect", required_argument, NULL, 'p'},
        {"action", required_argument, NULL, 'a'},    {"log", required_argument, NULL, 'l'},
        {"allow-exe", required_argument, NULL, 'A'}, {"no-decoys", no_argument, NULL, 'D'},
        {"watchdog-ms", required_argument, NULL, 'W'}, {"log-level", required_argument, NULL, 'L'},
        {"no-vault", no_argument, NULL, 'N'},        {"no-leases", no_argument, NULL, 'E'},
                                                     {"leases", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    const char *config_path = NULL, *action = NULL, *logpath = NULL, *level = NULL;
    const char *protect[CONFIG_LIST_MAX], *allow[CONFIG_LIST_MAX];
    size_t nprotect = 0, nallow = 0;
    bool no_decoys = false, no_vault = false, no_leases = false, leases = false;
    long watchdog = -1;
    int c;
    while ((c = getopt_long(argc, argv, "c:p:a:l:A:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'p':
            if (nprotect == CONFIG_LIST_MAX) {
                fprintf(stderr, "mamori guard: at most %d --protect\n", CONFIG_LIST_MAX);
                return EXIT_USAGE;
            }
            protect[nprotect++] = optarg;
            break;
        case 'a': action = optarg; break;
        case 'l': logpath = optarg; break;
        case 'A':
            if (nallow == CONFIG_LIST_MAX) {
                fprintf(stderr, "mamori guard: at most %d --allow-exe\n", CONFIG_LIST_MAX);
                return EXIT_USAGE;
            }
            allow[nallow++] = optarg;
            break;
        case 'D': no_decoys = true; break;
        case 'N': no_vault = true; break;
        case 'E': no_leases = true; break;
        case 'U': leases = true; break;
        case 'W': {
            char *end;
            watchdog = strtol(optarg, &end, 10);
            if (*end || watchdog < 10 || watchdog > 10000) {
                fprintf(stderr, "mamori guard: --watchdog-ms must be 10..10000\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'L': level = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mamori guard: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }

    struct mamori_config *cfg = malloc(sizeof *cfg);
    struct guard_opts *o = malloc(sizeof *o);
    int status = EXIT_USAGE;
    char err[1024];
    if (!cfg || !o) {
        status = EXIT_FAIL;
        goto out;
    }
    config_defaults(cfg);
    if (!config_path && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
        config_path = CONFIG_DEFAULT_PATH;
    if (config_path && config_load(cfg, config_path, err, sizeof err) < 0) {
        fprintf(stderr, "mamori guard: %s\n", err);
        goto out;
    }
    struct config_guard *gc = &cfg->guard;
    if (nprotect) {
        gc->nprotect = nprotect;
        for (size_t i = 0; i < nprotect; i++)
            snprintf(gc->protect[i], sizeof gc->protect[i], "%s", protect[i]);
    }
    for (size_t i = 0; i < nallow && gc->nallow < CONFIG_LIST_MAX; i++)
        snprintf(gc->allow_exe[gc->nallow++], sizeof gc->allow_exe[0], "%s", allow[i]);
    if (action)
        snprintf(gc->action, sizeof gc->action, "%s", action);
    if (logpath)
        snprintf(gc->log, sizeof gc->log, "%s", logpath);
    if (no_decoys)
        gc->decoys = false;
    if (watchdog > 0)
        gc->watchdog_ms = (unsigned)watchdog;
    enum log_level lvl;
    if (log_parse_level(level ? level : cfg->log_level, &lvl) < 0) {
        fprintf(stderr, "mamori guard: unknown log level '%s'\n", level);
        goto out;
    }
    log_set_level(lvl);
    if (to_opts(gc, o, err, sizeof err) < 0) {
        fprintf(stderr, "mamori guard: %s\n", err);
        goto out;
    }
    vault_opts(&cfg->vault, o);
    if (no_vault)
        o->vault = false;
    o->leases = leases && !no_leases;
    if (geteuid() != 0) {
        fprintf(stderr, "mamori guard: must run as root (fanotify needs CAP_SYS_ADMIN)\n");
        status = EXIT_FAIL;
        goto out;
    }
    int logfd = STDOUT_FILENO;
    if (strcmp(gc->log, "-") != 0) {
        logfd = open(gc->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (logfd < 0) {
            fprintf(stderr, "mamori guard: cannot open log %s: %s\n", gc->log, strerror(errno));
            status = EXIT_FAIL;
            goto out;
        }
    }
    o->log_fd = logfd;
    status = guard_run(o) == 0 ? EXIT_OK : EXIT_FAIL;
    if (logfd != STDOUT_FILENO)
        close(logfd);
out:
    free(cfg);
    free(o);
    return status;
}
