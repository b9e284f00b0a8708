/* decoy.c - decoy files: bait that no legitimate program touches.
 *
 * The guard places two small documents in each protected path when it starts
 * (named to sort first and last in a directory listing, where encryptors
 * that walk a tree reach them early) and removes them when it stops. Reading
 * a decoy is harmless (backups read everything); modifying, renaming or
 * deleting one is decisive evidence against the actor that did it.
 * Decoys are made before the fanotify marks exist, so making them raises no
 * event; existing decoys from an earlier run are reused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "guard/guard_int.h"

static const char *const decoy_names[] = {"00_mamori_decoy_do_not_edit.pdf",
                                          "zz_mamori_decoy_do_not_edit.pdf"};

static const char decoy_body[] =
    "%PDF-1.4\n"
    "% This file was placed by mamori, the ransomware guard of this host.\n"
    "% It is bait: any program that modifies, renames or deletes it is stopped.\n"
    "% Do not edit it. It disappears when the guard stops.\n"
    "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
    "trailer << /Root 1 0 R >>\n%%EOF\n";

void decoy_place(struct guard *g)
{
    for (size_t i = 0; i < g->o->nprotect; i++) {
        for (size_t k = 0; k < sizeof decoy_names / sizeof decoy_names[0]; k++) {
            if (g->ndecoys == DECOY_MAX)
                return;
            char *path = g->decoys[g->ndecoys];
            int n = snprintf(path, PATH_MAX, "%s/%s", g->o->protect[i], decoy_names[k]);
            if (n < 0 || n >= PATH_MAX)
                continue;
            int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (fd < 0) {
                log_warn("cannot place decoy %s: %s", path, strerror(errno));
                continue;
            }
            struct stat st;
            int64_t btime;
            if (fan_fstat(fd, &st, &btime) == 0 && S_ISREG(st.st_mode)) {
                if (st.st_size != (off_t)(sizeof decoy_body - 1) &&
                    (ftruncate(fd, 0) < 0 ||
                     write(fd, decoy_body, sizeof decoy_body - 1) != (ssize_t)(sizeof decoy_body - 1)))
                    log_warn("cannot write decoy %s: %s", path, strerror(errno));
                struct inode_ent *ie = itab_slot(g->t, st.st_dev, st.st_ino, btime, g->now);
                ie->decoy = true;
                g->ndecoys++;
            }
            close(fd);
        }
    }
}

void decoy_remove(struct guard *g)
{
    for (size_t i = 0; i < g->ndecoys; i++)
        if (unlink(g->decoys[i]) < 0 && errno != ENOENT)
            log_warn("cannot remove decoy %s: %s", g->decoys[i], strerror(errno));
    g->ndecoys = 0;
}

bool decoy_is(const struct guard *g, const char *path)
{
    for (size_t i = 0; i < g->ndecoys; i++)
        if (!strcmp(g->decoys[i], path))
            return true;
    return false;
}
