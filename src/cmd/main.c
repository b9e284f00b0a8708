/* main.c - the mamori binary's front door: picks the subcommand.
 *
 * `mamori COMMAND [options]`; `mamori help` and `mamori --help` list the
 * commands, `mamori COMMAND --help` describes one. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"guard", cmd_guard_main, "file guard in the foreground: detect and stop encryption"},
    {"restore", cmd_restore_main, "put back the files an attacker damaged, from the vault"},
    {"sim", cmd_sim_main, "safe simulator of ransomware behaviour inside a sandbox directory"},
    {"evtx", cmd_evtx_main, "read Windows event log files (.evtx), print records as JSON lines"},
    {"server", cmd_server_main, "head-office server: enrollment, agent connections, liveness"},
    {"agent", cmd_agent_main, "host agent: enroll with a server, keep its uplink (heartbeats)"},
    {"hunt", cmd_hunt_main, "run Sigma rules over log files: a timeline and an attack summary"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mamori COMMAND [options]\n\n"
                 "mamori %s - ransomware early warning and containment.\n\ncommands:\n",
            MAMORI_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-10s %s\n", "version", "print the version");
    fprintf(out, "\nRun 'mamori COMMAND --help' for the options of one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(name, "version") || !strcmp(name, "--version")) {
        printf("mamori %s\n", MAMORI_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "mamori: unknown command '%s' (run 'mamori help')\n", name);
    return EXIT_USAGE;
}
