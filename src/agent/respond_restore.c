/* respond_restore.c - put back the files of an alert's incident, from the
 * vaults, with the restore engine (vault/restore.h), as `mamori restore
 * --alert ID` does.
 *
 * The vaults are those given to `mamori agent run --vault DIR`, else those
 * of the configuration's protected paths (guard.protect of --config or
 * /etc/mamori/mamori.yaml, else the defaults). Files changed after the
 * attack was stopped are left alone (no --force from afar). One line per
 * file goes to DIR/restore.log; the message gives the counts. It runs in a
 * worker thread (respond.h): only the context's constant fields are read.
 * MAMORI_TEST_RESTORE_DELAY_MS=N (tests only) makes it wait N ms first, so
 * that a test can see heartbeats go on during a long restore. Data in: the
 * alert id, the vaults; out: restored files, the log, a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/respond.h"
#include "core/config.h"
#include "core/err.h"
#include "vault/restore.h"

/* The vault directories to look in; returns how many (into dirs). */
static size_t vault_dirs(const struct respond_ctx *r, char dirs[][PATH_MAX], size_t cap)
{
    size_t n = 0;
    for (; n < r->nvaults && n < cap; n++)
        snprintf(dirs[n], PATH_MAX, "%s", r->vaults[n]);
    if (n)
        return n;
    struct mamori_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 0;
    config_defaults(cfg);
    const char *path = r->config;
    if (!path && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
        path = CONFIG_DEFAULT_PATH;
    char err[1024];
    if (!path || config_load(cfg, path, err, sizeof err) == 0) {
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
    }
    free(cfg);
    return n;
}

static int do_restore(struct respond_ctx *r, const char *alert, char dirs[][PATH_MAX],
                      size_t ndirs, char *msg, size_t cap);

int restore_incident(struct respond_ctx *r, const char *alert, char *msg, size_t cap)
{
    if (r->test_delay_ms) { /* MAMORI_TEST_RESTORE_DELAY_MS: a slow restore, for tests */
        struct timespec ts = {r->test_delay_ms / 1000, (long)(r->test_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    char(*dirs)[PATH_MAX] = malloc(RESPOND_VAULTS_MAX * sizeof *dirs);
    if (!dirs) {
        snprintf(msg, cap, "restore: out of memory");
        return MAMORI_ENOMEM;
    }
    int rc = do_restore(r, alert, dirs, vault_dirs(r, dirs, RESPOND_VAULTS_MAX), msg, cap);
    free(dirs);
    return rc;
}

static int do_restore(struct respond_ctx *r, const char *alert, char dirs[][PATH_MAX],
                      size_t ndirs, char *msg, size_t cap)
{
    if (ndirs == 0) {
        snprintf(msg, cap, "restore: no vault found (give the agent --vault DIR, or protect "
                           "paths in the configuration)");
        return MAMORI_ENOENT;
    }
    char logpath[PATH_MAX + 32];
    snprintf(logpath, sizeof logpath, "%s/restore.log", r->dir);
    FILE *out = fopen(logpath, "ae");
    if (!out) {
        snprintf(msg, cap, "restore: cannot open %s", logpath);
        return MAMORI_EIO;
    }
    fprintf(out, "# restore of alert %s\n", alert);
    struct restore_opts o = {.out = out};
    struct restore_counts c = {0};
    struct vault_limits lim = {.cap_bytes = UINT64_MAX, .file_max = UINT64_MAX};
    bool found = false;
    char broken[512] = "";
    for (size_t i = 0; i < ndirs; i++) {
        struct vault v;
        char err[PATH_MAX + 256];
        if (vault_open(&v, dirs[i], &lim, false, err, sizeof err) < 0) {
            snprintf(broken, sizeof broken, "%.500s", err);
            continue;
        }
        int rc = restore_alert(&v, alert, &o, &c);
        if (rc == 0)
            found = true;
        else if (rc != MAMORI_ENOENT)
            snprintf(broken, sizeof broken, "vault %.300s: %s", dirs[i], mamori_strerror(rc));
        vault_close(&v);
    }
    fclose(out);
    if (!found) {
        snprintf(msg, cap, "restore: alert %s is in none of the %zu vault%s%s%s", alert, ndirs,
                 ndirs == 1 ? "" : "s", broken[0] ? "; " : "", broken);
        return MAMORI_ENOENT;
    }
    snprintf(msg, cap,
             "restore of alert %s: %u restored, %u removed, %u renamed back, %u already in "
             "place, %u skipped, %u failed (details in %s)%s%s",
             alert, c.restored, c.removed, c.renamed, c.unchanged, c.skipped, c.failed, logpath,
             broken[0] ? "; " : "", broken);
    return c.failed || c.skipped || broken[0] ? MAMORI_EIO : 0;
}
