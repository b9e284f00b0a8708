/* corpus.c - `sim corpus`: builds a realistic office file tree in a new
 * sandbox.
 *
 * Input: a directory path and struct sim_corpus_opts (count, seed, scale).
 * Output: the sandbox (marker written first, sandbox.c), files in nested
 * directories made by the generators in gen_*.c, and the manifest
 * (manifest.c) hashing every file.
 *
 * The plan is a table of file kinds, each with its directories, size range
 * and generator. The first files cycle through every kind so even a tiny
 * corpus holds one of each; the rest are drawn by weight. Each file gets its
 * own rng seeded from (seed, index), so the bytes depend only on the seed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "sim/sim_internal.h"

struct kind {
    const char *ext;
    const char *stem;
    const char *dirs[3];
    unsigned min_kb, max_kb;
    unsigned weight; /* 0: placed by count, not drawn */
    int (*gen)(const struct sim_gen *g);
};

static const struct kind kinds[] = {
    {"docx", "report", {"finance/2023", "finance/2024", "projects/docs"}, 20, 200, 14, sim_gen_docx},
    {"xlsx", "ledger", {"finance/2023", "finance/2024", "hr"}, 20, 200, 10, sim_gen_xlsx},
    {"pdf", "contract", {"finance/2024", "hr/contracts", "archive/scans"}, 8, 120, 10, sim_gen_pdf},
    {"png", "diagram", {"photos/2024", "projects/docs/img", "photos/2024"}, 30, 600, 7, sim_gen_png},
    {"jpg", "IMG", {"photos/2023", "photos/2024", "photos/2024"}, 50, 800, 10, sim_gen_jpeg},
    {"db", "sales", {"db", "db", "projects/data"}, 40, 800, 4, sim_gen_sqlite},
    {"tar.gz", "backup", {"archive", "archive", "archive/old"}, 20, 300, 4, sim_gen_targz},
    {"c", "ledger_sync", {"projects/src", "projects/src", "projects/src/core"}, 2, 40, 8, sim_gen_csrc},
    {"h", "record", {"projects/src/include", "projects/src/include", "projects/src/core"}, 1, 12, 4,
     sim_gen_header},
    {"py", "report_tool", {"projects/tools", "projects/tools", "projects/src"}, 2, 30, 5,
     sim_gen_python},
    {"log", "app", {"logs", "logs", "logs/archive"}, 10, 300, 8, sim_gen_log},
    {"csv", "export", {"finance/exports", "shared", "finance/exports"}, 5, 200, 8, sim_gen_csv},
    {"txt", "memo", {"shared", "hr", "hr/reviews"}, 2, 40, 8, sim_gen_text},
    {"img", "vm-disk", {"vm", "vm", "vm"}, 2048, 6144, 0, sim_gen_disk},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static size_t pick_kind(struct sim_rng *r)
{
    unsigned total = 0;
    for (size_t k = 0; k < NKINDS; k++)
        total += kinds[k].weight;
    unsigned x = (unsigned)(sim_rng_next(r) % total);
    for (size_t k = 0; k < NKINDS; k++) {
        if (x < kinds[k].weight)
            return k;
        x -= kinds[k].weight;
    }
    return 0;
}

/* mkdir -p of rel below root (root itself exists). */
static int make_dirs(const char *root, const char *rel)
{
    char path[SIM_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return MAMORI_ERANGE;
    for (char *p = path + strlen(root) + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return MAMORI_EIO;
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

struct plan {
    const char *root;
    const struct sim_corpus_opts *o;
    unsigned ndisks;
};

static size_t kind_of(const struct plan *p, unsigned i, struct sim_rng *r)
{
    if (i < NKINDS)
        return i; /* one of each first */
    if (i < NKINDS + p->ndisks - 1)
        return NKINDS - 1;
    return pick_kind(r);
}

static int make_file(const struct plan *p, unsigned i, struct sim_corpus_stats *st, char *msg,
                     size_t msgsz)
{
    struct sim_rng r;
    sim_rng_seed(&r, p->o->seed ^ (0x9e3779b97f4a7c15ULL * (i + 1)));
    const struct kind *k = &kinds[kind_of(p, i, &r)];
    const char *dir = k->dirs[sim_rng_next(&r) % 3];
    double kb = (double)sim_rng_range(&r, k->min_kb, k->max_kb) * p->o->scale;
    size_t size = kb * 1024 < 256 ? 256 : (size_t)(kb * 1024);
    int rc = make_dirs(p->root, dir);
    char path[SIM_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s/%s_%04u.%s", p->root, dir, k->stem, i, k->ext);
    if (rc == 0 && (n < 0 || (size_t)n >= sizeof path))
        rc = MAMORI_ERANGE;
    if (rc == 0) {
        struct sim_gen g = {.rng = &r, .path = path, .size = size};
        rc = k->gen(&g);
    }
    if (rc) {
        sim_msg(msg, msgsz, "cannot generate %s: %s (%s)", path, mamori_strerror(rc),
                strerror(errno));
        return rc;
    }
    struct stat sb;
    if (stat(path, &sb) == 0)
        st->bytes += (uint64_t)sb.st_size;
    st->files++;
    return 0;
}

int sim_corpus_create(const char *dir, const struct sim_corpus_opts *o,
                      struct sim_corpus_stats *st, char *msg, size_t msgsz)
{
    *st = (struct sim_corpus_stats){0};
    if (o->scale <= 0 || o->scale > 1000 || o->files == 0 || o->files > 100000) {
        sim_msg(msg, msgsz, "corpus options out of range (files 1..100000, scale (0, 1000])");
        return MAMORI_EINVAL;
    }
    struct sim_sandbox sb;
    int rc = sim_sandbox_create(&sb, dir, msg, msgsz);
    if (rc)
        return rc;
    struct plan p = {.root = sb.root, .o = o, .ndisks = o->files / 60 ? o->files / 60 : 1};
    if (p.ndisks > 8)
        p.ndisks = 8;
    for (unsigned i = 0; rc == 0 && i < o->files; i++)
        rc = make_file(&p, i, st, msg, msgsz);
    if (rc == 0)
        rc = sim_manifest_write(&sb, msg, msgsz);
    sim_sandbox_close(&sb);
    return rc;
}
