/* cmd_incidents.c - `mamori server incidents`: the incidents the server
 * correlated (server/incident.h), newest first, as JSON lines.
 *
 *   mamori server incidents [--data DIR] [--site SITE] [--open]
 *
 * Arguments enter here; rows leave on standard output, one JSON object a
 * line; errors on stderr. Exit status 0 ok, 1 runtime failure, 2 usage
 * error (naming the option), e.g. an unknown site. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd_util.h"
#include "cmd/commands.h"
#include "core/err.h"
#include "core/json.h"
#include "server/incident.h"
#include "server/server.h"
#include "server/store.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori server incidents [--data DIR] [--site SITE] [--open]\n\n"
            "List the incidents (alerts grouped per host by actor and time, and outbreaks:\n"
            "one kind of alert on several hosts of a site), newest first, as JSON lines.\n\n"
            "  -d, --data DIR   data directory (default %s)\n"
            "      --site SITE  only this site's incidents\n"
            "      --open       only open incidents (not resolved)\n"
            "  -h, --help       this help\n\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage error. See docs/mamori-server.md.\n",
            SRV_DEFAULT_DATA);
}

#define usage_error(...) cmd_usage("mamori server incidents", __VA_ARGS__)

static int print_one(void *arg, const struct incident_row *r)
{
    (void)arg;
    char buf[4096];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "id", r->id);
    jw_str(&w, "kind", r->kind);
    jw_str(&w, "status", r->status);
    jw_str(&w, "severity", r->severity);
    jw_str(&w, "site", r->site);
    if (r->host_id[0]) {
        jw_str(&w, "host_id", r->host_id);
        jw_str(&w, "hostname", r->hostname);
    }
    jw_str(&w, "key", r->key);
    jw_str(&w, "title", r->title);
    jw_int(&w, "first_ms", r->first);
    jw_int(&w, "last_ms", r->last);
    jw_int(&w, "alert_count", r->alert_count);
    jw_int(&w, "host_count", r->host_count);
    if (r->resolved_at) {
        jw_str(&w, "resolved_by", r->resolved_by);
        jw_int(&w, "resolved_ms", r->resolved_at);
    }
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    return 0;
}

int cmd_server_incidents(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"site", required_argument, NULL, 's'},
                                             {"open", no_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *data = SRV_DEFAULT_DATA, *site = NULL;
    bool open_only = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 's': site = optarg; break;
        case 'o': open_only = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return usage_error("unknown option");
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", data, STORE_FILE);
    if (access(p, F_OK) != 0) {
        fprintf(stderr, "mamori server incidents: %s: no server data here\n", data);
        return EXIT_USAGE;
    }
    struct store st;
    if (store_open(&st, data) < 0) {
        fprintf(stderr, "mamori server incidents: %s\n", st.err);
        return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    int64_t site_id = 0;
    if (site) {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(st.db, "SELECT id FROM sites WHERE name = ?", -1, &q, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(q, 1, site, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(q) == SQLITE_ROW)
                site_id = sqlite3_column_int64(q, 0);
        }
        sqlite3_finalize(q);
        if (!site_id) {
            store_close(&st);
            return usage_error("--site: no site '%.64s'", site);
        }
    }
    if (incident_each(&st, site_id, open_only, print_one, NULL) < 0) {
        fprintf(stderr, "mamori server incidents: %s\n", st.err);
        rc = EXIT_FAIL;
    }
    store_close(&st);
    return rc;
}
