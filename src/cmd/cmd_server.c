/* cmd_server.c - `mamori server`: the head-office server and its
 * operator commands.
 *
 *   mamori server [run] [--data DIR] [--listen ADDR:PORT] [--name NAME]...
 *                       [--offline-after DUR] [--heartbeat DUR] [--max-conns N]
 *   mamori server token  [--data DIR] --site NAME [--expires DUR]
 *   mamori server revoke [--data DIR] HOST
 *   mamori server hosts  [--data DIR]
 *   mamori server alerts [--data DIR]
 *   mamori server command [--data DIR] HOST isolate|release|kill --actor KEY|
 *                         restore --alert ID [--wait DUR]
 *   mamori server commands [--data DIR] [HOST]
 *
 * Arguments are parsed here and handed to src/server; results become exit
 * status 0 (ok), 1 (runtime failure, refusal), 2 (usage or configuration
 * error, with a message naming the option or file). See docs/mamori-server.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd_route.h"
#include "cmd/cmd_util.h"
#include "cmd/commands.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "net/sock.h"
#include "net/token.h"
#include "server/ca.h"
#include "server/cmdstore.h"
#include "server/enroll.h"
#include "server/server.h"
#include "server/srvconf.h"
#include "server/store.h"
#include "api/api.h"

#define TOKEN_EXPIRES_MAX_MS (365ull * 86400 * 1000)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori server [run] [options]\n"
            "       mamori server token  [--data DIR] --site NAME [--expires DUR]\n"
            "       mamori server revoke [--data DIR] HOST\n"
            "       mamori server hosts  [--data DIR]\n"
            "       mamori server alerts [--data DIR]\n"
            "       mamori server command [--data DIR] HOST ACTION [--actor KEY | --alert ID]\n"
            "                             [--wait DUR]\n"
            "       mamori server commands [--data DIR] [HOST]\n"
            "       mamori server api-token [--data DIR] --name NAME [--role ROLE] [--site S]\n"
            "       mamori server incidents [--data DIR] [--site SITE] [--open]\n\n"
            "The head-office server: enrolls agents, keeps a mutual-TLS (1.3) connection\n"
            "with each, notices a host that goes silent and records an alert. Its data\n"
            "(SQLite database, CA, keys) lives in one directory.\n\n"
            "  run      serve in the foreground; JSON event lines on standard output\n"
            "  token    print a one-time enrollment token for a site\n"
            "  revoke   cut a host off now (by host id or hostname); refused thereafter\n"
            "  hosts    list the enrolled hosts as JSON lines\n"
            "  alerts   list the recorded alerts as JSON lines\n"
            "  command  send a response command to a host (audited); prints its id. ACTION:\n"
            "           isolate (nftables: only loopback, DNS and the server pass), release,\n"
            "           kill --actor KEY (an actor the guard reported: BOOT-PID-START),\n"
            "           restore --alert ID (put back the files of that alert's incident).\n"
            "           The host runs it once and reports; --wait DUR waits for the result\n"
            "           (exit 0 ok, 1 failed or no result in time)\n"
            "  commands list the commands and their results as JSON lines\n"
            "  api-token  print a new API token once (see mamori server api-token --help)\n"
            "  user     web console users: add, list, passwd, disable (see mamori server\n"
            "           user --help)\n"
            "  route    where alerts are delivered: add, list, rm, test (webhook, Slack,\n"
            "           Teams, syslog, e-mail; see mamori server route --help)\n"
            "  incidents  list the incidents (alerts grouped by host and actor, outbreaks\n"
            "           over a site's hosts) as JSON lines, newest first\n\n"
            "Options of run:\n"
            "  -d, --data DIR           data directory (default %s)\n"
            "  -l, --listen ADDR:PORT   address to listen on (default %s; port 0 picks one)\n"
            "  -n, --name NAME          a name or address agents use for the server, for its\n"
            "                           certificate (repeatable; default: host name,\n"
            "                           localhost, 127.0.0.1)\n"
            "      --offline-after DUR  silence after which a host is offline (default 30s)\n"
            "      --heartbeat DUR      heartbeat interval told to agents (default 10s)\n"
            "      --max-conns N        open connections at most (default %d)\n"
            "      --api-listen ADDR:PORT  the HTTPS API (docs/api.md; default " API_DEFAULT_LISTEN
            ",\n"
            "                           'none' for no API; it also serves the web console,\n"
            "                           docs/console.md)\n"
            "      --web-dir DIR        serve the console's files from DIR instead of the\n"
            "                           copies built in (development)\n"
            "      --log-level LEVEL    error, warn, info (default) or debug\n"
            "  -h, --help               this help\n\n"
            "DUR is a number with ms, s, m, h or d (24h, 30s). Exit status: 0 ok, 1 runtime\n"
            "failure or refusal, 2 usage or configuration error. See docs/mamori-server.md.\n",
            SRV_DEFAULT_DATA, SRV_DEFAULT_LISTEN, SRV_DEFAULT_MAX_CONNS);
}

#define usage_error(...) cmd_usage("mamori server", __VA_ARGS__)

static void fmt_time(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------ run -- */

enum {
    OPT_OFFLINE = 256,
    OPT_HEARTBEAT,
    OPT_MAXCONNS,
    OPT_LOGLEVEL,
    OPT_SITE,
    OPT_EXPIRES,
    OPT_API,
    OPT_WEBDIR
};

static int parse_dur(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (parse_duration_ms(v, out) < 0 || *out < min || *out > max) {
        fprintf(stderr,
                "mamori server: %s '%s': expected a duration such as 30s, 500ms, 24h, "
                "between %" PRIu64 " ms and %" PRIu64 " s\n",
                opt, v, min, max / 1000);
        return -1;
    }
    return 0;
}

static int set_log_level(const char *v)
{
    enum log_level l;
    if (log_parse_level(v, &l) < 0)
        return usage_error("--log-level '%s': expected error, warn, info or debug", v);
    log_set_level(l);
    return 0;
}

/* The configuration file (server/srvconf.h): --config FILE, else
 * DATA/server.yaml when it exists, else the embedded defaults. Only --config
 * and --data are looked at here; cmd_run parses every flag after this, so a
 * flag overrides the file. An error is "FILE:LINE:COL: reason", exit 2. */
enum { OPT_CONFIG = 400 };
static int load_conf(int argc, char **argv, struct srv_conf *conf)
{
    const char *path = NULL, *data = SRV_DEFAULT_DATA;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config") && i + 1 < argc)
            path = argv[++i];
        else if ((!strcmp(a, "--data") || !strcmp(a, "-d")) && i + 1 < argc)
            data = argv[++i];
        else if (!strncmp(a, "--config=", 9))
            path = a + 9;
        else if (!strncmp(a, "--data=", 7))
            data = a + 7;
        else if (!strncmp(a, "-d", 2) && a[2] && a[1] != '-')
            data = a + 2;
    }
    srvconf_defaults(conf);
    char p[PATH_MAX], err[1024];
    if (!path) {
        snprintf(p, sizeof p, "%s/%s", data, SRVCONF_FILE);
        if (access(p, F_OK) != 0)
            return EXIT_OK;
        path = p;
    }
    if (srvconf_load(conf, path, err, sizeof err) < 0) {
        fprintf(stderr, "mamori server: %s\n", err);
        return EXIT_USAGE;
    }
    if (conf->log_level[0])
        return set_log_level(conf->log_level);
    return EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"name", required_argument, NULL, 'n'},
        {"offline-after", required_argument, NULL, OPT_OFFLINE},
        {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
        {"max-conns", required_argument, NULL, OPT_MAXCONNS},
        {"log-level", required_argument, NULL, OPT_LOGLEVEL},
        {"api-listen", required_argument, NULL, OPT_API},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"web-dir", required_argument, NULL, OPT_WEBDIR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct srv_opts *o = calloc(1, sizeof *o);
    if (!o)
        return EXIT_FAIL;
    struct api_opts api;
    api_opts_default(&api);
    o->api = &api;
    snprintf(o->data, sizeof o->data, "%s", SRV_DEFAULT_DATA);
    struct srv_conf conf; /* the file; the flags parsed below override it */
    int c, rc = load_conf(argc, argv, &conf);
    const char *listen = conf.listen;
    o->offline_after_ms = conf.offline_after_ms;
    o->heartbeat_ms = conf.heartbeat_ms;
    o->max_conns = (unsigned)conf.max_conns;
    o->conf = &conf;
    char err[SOCK_ERR_MAX];
    if (rc == EXIT_OK && conf.api_listen[0] &&
        api_opts_listen(&api, conf.api_listen, err, sizeof err) < 0)
        rc = usage_error("api_listen %s", err);
    while (rc == EXIT_OK && (c = getopt_long(argc, argv, "d:l:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (strlen(optarg) >= sizeof o->data - 32)
                rc = usage_error("--data '%s': path too long", optarg);
            snprintf(o->data, sizeof o->data, "%s", optarg);
            break;
        case 'l': listen = optarg; break;
        case 'n':
            if (o->nnames >= SRV_NAMES_MAX)
                rc = usage_error("--name: at most %d names", SRV_NAMES_MAX);
            else if (!hostname_valid(optarg) && !strchr(optarg, ':'))
                rc = usage_error("--name '%s': not a host name or address", optarg);
            else
                o->names[o->nnames++] = optarg;
            break;
        case OPT_OFFLINE:
            if (parse_dur("--offline-after", optarg, 1000, 86400000, &o->offline_after_ms) < 0)
                rc = EXIT_USAGE;
            break;
        case OPT_HEARTBEAT:
            if (parse_dur("--heartbeat", optarg, 100, 3600000, &o->heartbeat_ms) < 0)
                rc = EXIT_USAGE;
            break;
        case OPT_MAXCONNS: {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*end || n < 1 || n > 1000000)
                rc = usage_error("--max-conns '%s': expected 1 to 1000000", optarg);
            o->max_conns = (unsigned)n;
            break;
        }
        case OPT_LOGLEVEL: rc = set_log_level(optarg); break;
        case OPT_API:
            if (api_opts_listen(&api, optarg, err, sizeof err) < 0)
                rc = usage_error("--api-listen %s", err);
            break;
        case OPT_WEBDIR: api.web_dir = optarg; break;
        case OPT_CONFIG: break; /* read by load_conf */
        case 'h':
            usage(stdout);
            free(o);
            return EXIT_OK;
        default: rc = EXIT_USAGE; break;
        }
    }
    if (rc == EXIT_OK && optind < argc)
        rc = usage_error("unexpected argument '%s'", argv[optind]);
    if (rc == EXIT_OK && sock_parse_hostport(listen, 0, &o->listen, err) < 0)
        rc = usage_error("--listen %s", err);
    if (rc == EXIT_OK && o->heartbeat_ms * 2 > o->offline_after_ms) {
        fprintf(stderr,
                "mamori server: --heartbeat (%" PRIu64 " ms) must be at most half of "
                "--offline-after (%" PRIu64 " ms)\n",
                o->heartbeat_ms, o->offline_after_ms);
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK) {
        int r = srv_run(o, stdout);
        rc = r == 0 ? EXIT_OK : r == MAMORI_ECONFIG ? EXIT_USAGE : EXIT_FAIL;
    }
    free(o);
    return rc;
}

/* ----------------------------------------------------- operator commands -- */

struct opcmd {
    const char *data;
    const char *site;
    uint64_t expires_ms;
};

static int parse_op(int argc, char **argv, struct opcmd *o, bool token)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"site", required_argument, NULL, OPT_SITE},
                                             {"expires", required_argument, NULL, OPT_EXPIRES},
                                             {"log-level", required_argument, NULL, OPT_LOGLEVEL},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    o->data = SRV_DEFAULT_DATA;
    o->expires_ms = 24ull * 3600 * 1000;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case OPT_SITE:
            if (!token)
                return usage_error("--site: only for 'mamori server token'");
            o->site = optarg;
            break;
        case OPT_EXPIRES:
            if (!token)
                return usage_error("--expires: only for 'mamori server token'");
            if (parse_dur("--expires", optarg, 1000, TOKEN_EXPIRES_MAX_MS, &o->expires_ms) < 0)
                return EXIT_USAGE;
            break;
        case OPT_LOGLEVEL:
            if (set_log_level(optarg) != 0)
                return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return -1;
        default: return EXIT_USAGE;
        }
    }
    return 0;
}

/* Open an existing data directory's store (operator commands never create one). */
static int open_existing(const char *data, struct store *st)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", data, STORE_FILE);
    if (access(p, F_OK) != 0) {
        fprintf(stderr,
                "mamori server: %s: no server data here (start 'mamori server run --data %s' or "
                "make a token first)\n",
                data, data);
        return EXIT_USAGE;
    }
    if (store_open(st, data) < 0) {
        fprintf(stderr, "mamori server: %s\n", st->err);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int cmd_token(int argc, char **argv)
{
    struct opcmd o = {0};
    int rc = parse_op(argc, argv, &o, true);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o.site)
        return usage_error("token: --site NAME is required");
    if (!site_name_valid(o.site))
        return usage_error("--site '%s': 1-64 characters of A-Z a-z 0-9 . _ -", o.site);
    struct srv_ca ca;
    char err[PKI_ERR_MAX];
    int r = srv_ca_open(&ca, o.data, err);
    if (r < 0) {
        fprintf(stderr, "mamori server: %s\n", err);
        return r == MAMORI_ECONFIG ? EXIT_USAGE : EXIT_FAIL;
    }
    struct store st;
    uint8_t secret[32];
    char tok[TOKEN_BUF], hash[65], when[32];
    int64_t now = cmd_wall_ms(), site_id = 0, expires = now + (int64_t)o.expires_ms;
    rc = EXIT_FAIL;
    if (store_open(&st, o.data) < 0) {
        fprintf(stderr, "mamori server: %s\n", st.err);
    } else {
        if (token_make(ca.spki, secret, tok) == 0) {
            token_hash_hex(secret, hash);
            char detail[128];
            fmt_time(expires, when, sizeof when);
            snprintf(detail, sizeof detail, "site=%s expires=%s", o.site, when);
            if (store_begin(&st) == 0 && store_site_id(&st, o.site, &site_id) == 0 &&
                store_token_add(&st, hash, site_id, now, expires) == 0 &&
                store_audit(&st, now, "operator", "token", hash, detail) == 0 &&
                store_commit(&st) == 0)
                rc = EXIT_OK;
            else
                store_rollback(&st);
        }
        if (rc != EXIT_OK)
            fprintf(stderr, "mamori server: cannot store the token: %s\n", st.err);
        store_close(&st);
    }
    srv_ca_close(&ca);
    if (rc == EXIT_OK) {
        printf("%s\n", tok);
        fprintf(stderr, "mamori server: one-time token for site %s, valid until %s\n", o.site,
                when);
    }
    return rc;
}

static int cmd_revoke(int argc, char **argv)
{
    struct opcmd o = {0};
    int rc = parse_op(argc, argv, &o, false);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (optind + 1 != argc)
        return usage_error("revoke: give exactly one HOST (host id or hostname)");
    struct store st;
    if ((rc = open_existing(o.data, &st)) != EXIT_OK)
        return rc;
    struct host_row h;
    int r = store_host_find(&st, argv[optind], &h);
    int64_t now = cmd_wall_ms();
    if (r < 0) {
        fprintf(stderr, "mamori server: revoke: %s\n", st.err);
        rc = r == MAMORI_EIO ? EXIT_FAIL : EXIT_USAGE;
    } else if (h.status == HOST_REVOKED) {
        printf("host %s (%s, site %s) was already revoked\n", h.id, h.hostname, h.site);
    } else if (store_begin(&st) == 0 && store_host_revoke(&st, h.id, now) == 0 &&
               store_audit(&st, now, "operator", "revoke", h.id, h.hostname) == 0 &&
               store_commit(&st) == 0) {
        printf("revoked host %s (%s, site %s); a running server closes its connection within "
               "a second\n",
               h.id, h.hostname, h.site);
    } else {
        store_rollback(&st);
        fprintf(stderr, "mamori server: revoke: %s\n", st.err);
        rc = EXIT_FAIL;
    }
    store_close(&st);
    return rc;
}

static int print_host(void *arg, const struct host_row *h)
{
    char buf[2048];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "host_id", h->id);
    jw_str(&w, "hostname", h->hostname);
    jw_str(&w, "site", h->site);
    jw_str(&w, "status", host_status_name(h->status));
    jw_int(&w, "enrolled_ms", h->enrolled);
    jw_int(&w, "last_seen_ms", h->last_seen);
    if (h->revoked)
        jw_int(&w, "revoked_ms", h->revoked);
    jw_str(&w, "cert_sha256", h->cert_fp);
    if (h->version[0])
        jw_str(&w, "version", h->version);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    return 0;
}

static int print_alert(void *arg, const struct alert_row *a)
{
    char buf[8192];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "id", a->id);
    jw_int(&w, "time_ms", a->time);
    if (a->seq)
        jw_int(&w, "seq", a->seq);
    jw_str(&w, "kind", a->kind);
    jw_str(&w, "severity", a->severity);
    jw_str(&w, "host_id", a->host_id);
    jw_str(&w, "hostname", a->hostname);
    jw_str(&w, "site", a->site);
    jw_str(&w, "summary", a->summary);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    return 0;
}

static int cmd_list(int argc, char **argv, bool hosts)
{
    struct opcmd o = {0};
    int rc = parse_op(argc, argv, &o, false);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    struct store st;
    if ((rc = open_existing(o.data, &st)) != EXIT_OK)
        return rc;
    int r =
        hosts ? store_hosts_each(&st, print_host, NULL) : store_alerts_each(&st, print_alert, NULL);
    if (r < 0) {
        fprintf(stderr, "mamori server: %s\n", st.err);
        rc = EXIT_FAIL;
    }
    store_close(&st);
    return rc;
}

/* ------------------------------------------------------------ commands -- */

enum { OPT_ACTOR = 512, OPT_ALERT, OPT_WAIT };

static int print_cmd(void *arg, const struct cmd_row *r)
{
    char buf[CMD_MSG_MAX * 6 + 1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "id", r->uid);
    jw_str(&w, "host_id", r->host_id);
    jw_str(&w, "hostname", r->hostname);
    jw_str(&w, "action", cmd_action_name(r->action));
    const char *key = cmd_arg_key(r->action);
    if (key)
        jw_str(&w, key, r->arg);
    jw_str(&w, "status", cmd_status_name(r->status));
    jw_str(&w, "created_by", r->created_by);
    jw_int(&w, "created_ms", r->created);
    if (r->sent)
        jw_int(&w, "sent_ms", r->sent);
    if (r->done) {
        jw_int(&w, "done_ms", r->done);
        jw_str(&w, "message", r->message);
    }
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    return 0;
}

/* Poll the command's row until it has a result or wait_ms pass. */
static int wait_result(struct store *st, const char *uid, uint64_t wait_ms)
{
    int64_t deadline = cmd_wall_ms() + (int64_t)wait_ms;
    struct cmd_row r;
    for (;;) {
        if (cmdstore_get(st, uid, &r) < 0) {
            fprintf(stderr, "mamori server: %s\n", st->err);
            return EXIT_FAIL;
        }
        if (r.status == CMDST_OK || r.status == CMDST_FAILED || cmd_wall_ms() >= deadline)
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    print_cmd(NULL, &r);
    if (r.status == CMDST_OK)
        return EXIT_OK;
    if (r.status == CMDST_FAILED)
        fprintf(stderr, "mamori server: command %s failed on host %s: %s\n", uid, r.hostname,
                r.message);
    else
        fprintf(stderr,
                "mamori server: command %s: no result within %.1f s (status %s); it stays "
                "queued and runs when the host is connected\n",
                uid, (double)wait_ms / 1000.0, cmd_status_name(r.status));
    return EXIT_FAIL;
}

static int cmd_command(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"actor", required_argument, NULL, OPT_ACTOR},
                                             {"alert", required_argument, NULL, OPT_ALERT},
                                             {"wait", required_argument, NULL, OPT_WAIT},
                                             {"log-level", required_argument, NULL, OPT_LOGLEVEL},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *data = SRV_DEFAULT_DATA, *actor = NULL, *alert = NULL;
    uint64_t wait_ms = 0;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case OPT_ACTOR: actor = optarg; break;
        case OPT_ALERT: alert = optarg; break;
        case OPT_WAIT:
            if (parse_dur("--wait", optarg, 100, 3600000, &wait_ms) < 0)
                return EXIT_USAGE;
            break;
        case OPT_LOGLEVEL:
            if (set_log_level(optarg) != 0)
                return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 2 != argc)
        return usage_error("command: give HOST and ACTION (isolate, release, kill, restore)");
    enum cmd_action a;
    if (cmd_action_parse(argv[optind + 1], &a) < 0)
        return usage_error("command: unknown action '%s' (isolate, release, kill, restore)",
                           argv[optind + 1]);
    if (actor && a != CMD_KILL)
        return usage_error("--actor: only for the kill action");
    if (alert && a != CMD_RESTORE)
        return usage_error("--alert: only for the restore action");
    const char *arg = a == CMD_KILL ? actor : a == CMD_RESTORE ? alert : NULL;
    if (a == CMD_KILL && !cmd_arg_valid(a, arg))
        return usage_error("kill: --actor KEY is required, an actor key BOOT-PID-START as the "
                           "guard reports it (got '%s')",
                           arg ? arg : "");
    if (a == CMD_RESTORE && !cmd_arg_valid(a, arg))
        return usage_error("restore: --alert ID is required, 1-47 of A-Z a-z 0-9 . _ - (got '%s')",
                           arg ? arg : "");
    struct store st;
    int rc = open_existing(data, &st);
    if (rc != EXIT_OK)
        return rc;
    struct host_row h;
    char uid[CMD_ID_MAX];
    int r = store_host_find(&st, argv[optind], &h);
    if (r < 0) {
        fprintf(stderr, "mamori server: command: %s\n", st.err);
        rc = r == MAMORI_EIO ? EXIT_FAIL : EXIT_USAGE;
    } else if (h.status == HOST_REVOKED) {
        fprintf(stderr,
                "mamori server: command: host %s (%s) is revoked: it cannot receive "
                "commands\n",
                h.id, h.hostname);
        rc = EXIT_FAIL;
    } else if (cmdstore_add(&st, h.id, a, arg, "operator", cmd_wall_ms(), uid) < 0) {
        fprintf(stderr, "mamori server: command: %s\n", st.err);
        rc = EXIT_FAIL;
    } else {
        printf("%s\n", uid);
        fflush(stdout);
        fprintf(stderr,
                "mamori server: command %s (%s%s%s) for host %s (%s, site %s) queued; the "
                "server sends it within a second while the host is connected, else when it "
                "connects\n",
                uid, cmd_action_name(a), arg ? " " : "", arg ? arg : "", h.id, h.hostname, h.site);
        if (wait_ms)
            rc = wait_result(&st, uid, wait_ms);
    }
    store_close(&st);
    return rc;
}

static int cmd_commands(int argc, char **argv)
{
    struct opcmd o = {0};
    int rc = parse_op(argc, argv, &o, false);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (optind + 1 < argc)
        return usage_error("commands: at most one HOST");
    struct store st;
    if ((rc = open_existing(o.data, &st)) != EXIT_OK)
        return rc;
    struct host_row h;
    const char *host = NULL;
    if (optind < argc) {
        int r = store_host_find(&st, argv[optind], &h);
        if (r < 0) {
            fprintf(stderr, "mamori server: commands: %s\n", st.err);
            store_close(&st);
            return r == MAMORI_EIO ? EXIT_FAIL : EXIT_USAGE;
        }
        host = h.id;
    }
    if (cmdstore_each(&st, host, false, print_cmd, NULL) < 0) {
        fprintf(stderr, "mamori server: %s\n", st.err);
        rc = EXIT_FAIL;
    }
    store_close(&st);
    return rc;
}

int cmd_server_main(int argc, char **argv)
{
    if (argc >= 2 && argv[1][0] != '-') {
        const char *sub = argv[1];
        argv[1] = argv[0]; /* getopt starts after the subcommand */
        if (!strcmp(sub, "run"))
            return cmd_run(argc - 1, argv + 1);
        if (!strcmp(sub, "token"))
            return cmd_token(argc - 1, argv + 1);
        if (!strcmp(sub, "revoke"))
            return cmd_revoke(argc - 1, argv + 1);
        if (!strcmp(sub, "hosts"))
            return cmd_list(argc - 1, argv + 1, true);
        if (!strcmp(sub, "alerts"))
            return cmd_list(argc - 1, argv + 1, false);
        if (!strcmp(sub, "command"))
            return cmd_command(argc - 1, argv + 1);
        if (!strcmp(sub, "commands"))
            return cmd_commands(argc - 1, argv + 1);
        if (!strcmp(sub, "api-token"))
            return cmd_server_api_token(argc - 1, argv + 1);
        if (!strcmp(sub, "user"))
            return cmd_server_user(argc - 1, argv + 1);
        if (!strcmp(sub, "route"))
            return cmd_server_route(argc - 1, argv + 1);
        if (!strcmp(sub, "incidents"))
            return cmd_server_incidents(argc - 1, argv + 1);
        if (!strcmp(sub, "help")) {
            usage(stdout);
            return EXIT_OK;
        }
        return usage_error("unknown subcommand '%s'", sub);
    }
    return cmd_run(argc, argv);
}
