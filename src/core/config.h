/* config.h - mamori's configuration file (YAML), with embedded defaults.
 *
 * config_defaults() gives the configuration mamori runs on when there is no
 * file; config_load() overlays a file on it and rejects anything unknown or
 * malformed with "FILE:LINE:COL: reason" (the command exits 2). Only plain
 * values live here; each component maps its section onto its own options.
 * Every key is documented in docs/mamori.yaml.md and etc/mamori.yaml. */
#ifndef MAMORI_CORE_CONFIG_H
#define MAMORI_CORE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_LIST_MAX 32
#define CONFIG_DEFAULT_PATH "/etc/mamori/mamori.yaml"

struct config_guard {
    size_t nprotect;
    char protect[CONFIG_LIST_MAX][PATH_MAX];
    char action[16];          /* alert | freeze | kill */
    char log[PATH_MAX];       /* "-" is standard output */
    bool decoys;
    unsigned watchdog_ms;     /* 10 .. 10000 */
    int threshold;            /* 1 .. 1000 */
    size_t nallow;
    char allow_exe[CONFIG_LIST_MAX][256];
};

struct config_vault {
    bool enabled;
    unsigned cap_percent;     /* 1 .. 50: of each protected filesystem's size */
    unsigned file_max_mib;    /* 1 .. 65536: larger files are not saved whole */
    unsigned keep_minutes;    /* 1 .. 525600: pre-images of never-condemned actors */
    size_t ntrusted;          /* writers that need no pre-images, if dpkg-verified */
    char trusted_exe[CONFIG_LIST_MAX][256];
};

struct mamori_config {
    char log_level[16];       /* error | warn | info | debug */
    struct config_guard guard;
    struct config_vault vault;
};

void config_defaults(struct mamori_config *c);
/* Returns 0, or a negative MAMORI_E* code with err = "FILE:LINE:COL: reason". */
int config_load(struct mamori_config *c, const char *path, char *err, size_t errsz);
/* Same, from a string (name is used in messages). */
int config_parse(struct mamori_config *c, const char *name, const char *text, size_t len,
                 char *err, size_t errsz);

#endif
