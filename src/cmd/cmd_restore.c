/* cmd_restore.c - `mamori restore`: put back what a stopped attacker damaged.
 *
 * Finds the vaults (given with --vault, or one per filesystem of the
 * configured protected paths), then lists their alerts or replays one
 * alert's incident backwards (src/vault/restore.c). Exit status: 0 every
 * file is as before the attack, 1 something could not be restored or was
 * skipped, 2 usage error or unknown alert. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/config.h"
#include "core/err.h"
#include "vault/restore.h"

#define VAULTS_MAX CONFIG_LIST_MAX

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori restore [--config FILE] [--vault DIR ...] --list\n"
            "       mamori restore [--config FILE] [--vault DIR ...] --alert ID [--dry-run] [--force]\n\n"
            "Puts back every file that the actors of an alert's incident touched, from\n"
            "the pre-images the guard kept in the vault of each protected filesystem:\n"
            "content, name, mode, owner and times; removes the files they created\n"
            "(encrypted copies, ransom notes); renames renamed files back. Prints one\n"
            "line per file. Running it again changes nothing. A file changed after the\n"
            "attack was stopped is left alone unless --force is given.\n\n"
            "  -c, --config FILE  configuration whose guard.protect paths locate the\n"
            "                     vaults (default %s if it exists, else the defaults)\n"
            "  -V, --vault DIR    use this vault directory (repeatable; replaces the lookup)\n"
            "  -l, --list         list the alerts the vaults can restore\n"
            "  -a, --alert ID     restore the incident of alert ID (the \"id\" of the alert line)\n"
            "  -n, --dry-run      say what would be done, change nothing\n"
            "  -f, --force        also overwrite files changed after the attack\n"
            "  -h, --help         this help\n\n"
            "Must run as root. Exit status: 0 all restored, 1 some files not restored,\n"
            "2 usage error or unknown alert. See docs/mamori-restore.md.\n",
            CONFIG_DEFAULT_PATH);
}

/* Vault directories of the configured protected paths, without repeats. */
static size_t vaults_from_config(const char *config_path, char dirs[][PATH_MAX], size_t cap)
{
    struct mamori_config *cfg = malloc(sizeof *cfg);
    size_t n = 0;
    if (!cfg)
        return 0;
    config_defaults(cfg);
    char err[1024];
    if (config_path && config_load(cfg, config_path, err, sizeof err) < 0) {
        fprintf(stderr, "mamori restore: %s\n", err);
        free(cfg);
        return 0;
    }
    for (size_t i = 0; i < cfg->guard.nprotect && n < cap; i++) {
        char d[PATH_MAX];
        if (vault_dir_for(cfg->guard.protect[i], d, sizeof d) < 0 || access(d, F_OK) < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            dup |= !strcmp(dirs[j], d);
        if (!dup)
            snprintf(dirs[n++], PATH_MAX, "%s", d);
    }
    free(cfg);
    return n;
}

int cmd_restore_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"vault", required_argument, NULL, 'V'},
        {"list", no_argument, NULL, 'l'},         {"alert", required_argument, NULL, 'a'},
        {"dry-run", no_argument, NULL, 'n'},      {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    static char dirs[VAULTS_MAX][PATH_MAX];
    size_t ndirs = 0;
    const char *config_path = NULL, *alert = NULL;
    bool list = false;
    struct restore_opts o = {.out = stdout};
    int c;
    while ((c = getopt_long(argc, argv, "c:V:la:nfh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'V':
            if (ndirs == VAULTS_MAX) {
                fprintf(stderr, "mamori restore: at most %d --vault\n", VAULTS_MAX);
                return EXIT_USAGE;
            }
            snprintf(dirs[ndirs++], PATH_MAX, "%s", optarg);
            break;
        case 'l': list = true; break;
        case 'a': alert = optarg; break;
        case 'n': o.dry_run = true; break;
        case 'f': o.force = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || list == (alert != NULL)) {
        fprintf(stderr, "mamori restore: give exactly one of --list or --alert ID\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "mamori restore: must run as root (the vault and the files are root's)\n");
        return EXIT_FAIL;
    }
    if (ndirs == 0) {
        if (!config_path && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
            config_path = CONFIG_DEFAULT_PATH;
        ndirs = vaults_from_config(config_path, dirs, VAULTS_MAX);
        if (ndirs == 0) {
            fprintf(stderr, "mamori restore: no vault found for the protected paths "
                            "(give --vault DIR)\n");
            return EXIT_FAIL;
        }
    }
    struct vault_limits lim = {.cap_bytes = UINT64_MAX, .file_max = UINT64_MAX};
    struct restore_counts cnt = {0};
    bool found = false, broken = false;
    for (size_t i = 0; i < ndirs; i++) {
        struct vault v;
        char err[PATH_MAX + 256];
        if (vault_open(&v, dirs[i], &lim, false, err, sizeof err) < 0) {
            fprintf(stderr, "mamori restore: %s\n", err);
            broken = true;
            continue;
        }
        if (list) {
            found |= restore_list(&v, stdout) > 0;
        } else {
            int rc = restore_alert(&v, alert, &o, &cnt);
            if (rc == 0)
                found = true;
            else if (rc != MAMORI_ENOENT) {
                fprintf(stderr, "mamori restore: vault %s: %s\n", dirs[i], mamori_strerror(rc));
                broken = true;
            }
        }
        vault_close(&v);
    }
    if (list) {
        if (!found)
            printf("no alerts in the vaults\n");
        return broken ? EXIT_FAIL : EXIT_OK;
    }
    if (!found) {
        fprintf(stderr, "mamori restore: alert %s is in none of the vaults (see --list)\n", alert);
        return broken ? EXIT_FAIL : EXIT_USAGE;
    }
    printf("alert %s: %u restored, %u removed, %u renamed back, %u already in place, "
           "%u skipped, %u failed%s\n",
           alert, cnt.restored, cnt.removed, cnt.renamed, cnt.unchanged, cnt.skipped, cnt.failed,
           o.dry_run ? " (dry run: nothing changed)" : "");
    return broken || cnt.failed || cnt.skipped ? EXIT_FAIL : EXIT_OK;
}
