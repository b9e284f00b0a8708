/* cmd_route.c - `mamori server route`: where alerts are delivered.
 *
 *   mamori server route add  [--data DIR] (--site NAME | --all-sites)
 *                            (--webhook URL | --slack URL | --teams URL |
 *                             --syslog tcp://HOST:PORT | --syslog tls://HOST:PORT |
 *                             --email smtp[s]://HOST[:PORT] --from A --to B...)
 *                            [--ca FILE] [--user U --password-file F] [--starttls]
 *                            [--min-severity S]
 *   mamori server route list [--data DIR] [--all]
 *   mamori server route rm   [--data DIR] ID
 *   mamori server route test [--data DIR] ID
 *
 * Arguments are checked here and by deliver/route.h; routes are rows of the
 * server's database, which the running server's delivery thread reads. Each
 * change and each test is audited. Exit 0 ok, 1 runtime failure (a test
 * that did not get through), 2 usage error. See docs/mamori-server.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
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
#include "deliver/route.h"
#include "deliver/send.h"
#include "server/server.h"
#include "server/store.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori server route add  [--data DIR] (--site NAME | --all-sites) DESTINATION\n"
            "                                [--min-severity S] [--ca FILE]\n"
            "       mamori server route list [--data DIR] [--all]\n"
            "       mamori server route rm   [--data DIR] ID\n"
            "       mamori server route test [--data DIR] ID\n\n"
            "Where the server delivers alerts. The running server sends each new alert of\n"
            "a route's site (or of every site) to it within a second, retries with backoff\n"
            "while the receiver is down and keeps what it still owes across restarts.\n\n"
            "DESTINATION is one of:\n"
            "  --webhook URL          POST the alert as JSON (https://, or http:// on a\n"
            "                         trusted network)\n"
            "  --slack URL            a Slack incoming webhook\n"
            "  --teams URL            a Microsoft Teams incoming webhook (MessageCard)\n"
            "  --syslog tcp://HOST:PORT | tls://HOST:PORT\n"
            "                         RFC 5424 syslog to a SIEM, octet-counted (RFC 6587),\n"
            "                         or over TLS (RFC 5425)\n"
            "  --email smtp://HOST[:PORT] | smtps://HOST[:PORT]  --from ADDR --to ADDR...\n"
            "                         e-mail; --to is repeatable or comma-separated;\n"
            "                         --starttls requires STARTTLS on smtp://;\n"
            "                         --user U --password-file FILE for SMTP AUTH (the\n"
            "                         file's first line; never on the command line)\n\n"
            "Options:\n"
            "  -d, --data DIR         server data directory (default %s)\n"
            "      --site NAME        alerts of this site only\n"
            "      --all-sites        alerts of every site\n"
            "      --min-severity S   info (default), low, medium, high or critical\n"
            "      --ca FILE          CA certificates for the receiver's TLS certificate\n"
            "                         (default: the system's)\n"
            "      --all              list: also removed routes\n\n"
            "  list  one JSON line per route; targets are shown without their secrets\n"
            "  rm    stop delivering to the route; deliveries it still owed are dropped\n"
            "  test  send a test message over the route now and say whether it arrived\n"
            "        (exit 0 yes, 1 no)\n",
            SRV_DEFAULT_DATA);
}

#define usage_error(...) cmd_usage("mamori server route", __VA_ARGS__)

static void actor(char *out, size_t outsz)
{
    const char *u = getenv("SUDO_USER");
    if (!u)
        u = getenv("USER");
    snprintf(out, outsz, "operator%s%s", u ? ":" : "", u ? u : "");
}

static int open_store(const char *data, struct store *st)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", data, STORE_FILE);
    if (access(p, F_OK) != 0) {
        fprintf(stderr,
                "mamori server route: %s: no server data here (start 'mamori server run "
                "--data %s' first)\n",
                data, data);
        return EXIT_USAGE;
    }
    if (store_open(st, data) < 0) {
        fprintf(stderr, "mamori server route: %s\n", st->err);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

enum {
    O_SITE = 256,
    O_ALL_SITES,
    O_WEBHOOK,
    O_SLACK,
    O_TEAMS,
    O_SYSLOG,
    O_EMAIL,
    O_FROM,
    O_TO,
    O_USER,
    O_PWFILE,
    O_STARTTLS,
    O_MINSEV,
    O_CA,
    O_ALL
};

struct args {
    const char *data, *site, *target, *from, *user, *pwfile, *ca, *minsev;
    char to[ROUTE_TO_MAX];
    int kind; /* -1 none */
    bool all_sites, starttls, all;
};

static int parse(int argc, char **argv, struct args *a)
{
    static const struct option lo[] = {{"data", required_argument, NULL, 'd'},
                                       {"site", required_argument, NULL, O_SITE},
                                       {"all-sites", no_argument, NULL, O_ALL_SITES},
                                       {"webhook", required_argument, NULL, O_WEBHOOK},
                                       {"slack", required_argument, NULL, O_SLACK},
                                       {"teams", required_argument, NULL, O_TEAMS},
                                       {"syslog", required_argument, NULL, O_SYSLOG},
                                       {"email", required_argument, NULL, O_EMAIL},
                                       {"from", required_argument, NULL, O_FROM},
                                       {"to", required_argument, NULL, O_TO},
                                       {"user", required_argument, NULL, O_USER},
                                       {"password-file", required_argument, NULL, O_PWFILE},
                                       {"starttls", no_argument, NULL, O_STARTTLS},
                                       {"min-severity", required_argument, NULL, O_MINSEV},
                                       {"ca", required_argument, NULL, O_CA},
                                       {"all", no_argument, NULL, O_ALL},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    a->data = SRV_DEFAULT_DATA;
    a->kind = -1;
    int c;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "d:h", lo, NULL)) != -1) {
        switch (c) {
        case 'd': a->data = optarg; break;
        case O_SITE: a->site = optarg; break;
        case O_ALL_SITES: a->all_sites = true; break;
        case O_WEBHOOK:
        case O_SLACK:
        case O_TEAMS:
        case O_SYSLOG:
        case O_EMAIL:
            if (a->kind >= 0)
                return usage_error("give one destination (--webhook, --slack, --teams, --syslog "
                                   "or --email)");
            a->kind = c == O_WEBHOOK  ? RK_WEBHOOK
                      : c == O_SLACK  ? RK_SLACK
                      : c == O_TEAMS  ? RK_TEAMS
                      : c == O_SYSLOG ? RK_SYSLOG
                                      : RK_EMAIL;
            a->target = optarg;
            break;
        case O_FROM: a->from = optarg; break;
        case O_TO: {
            size_t n = strlen(a->to);
            if (n + strlen(optarg) + 2 > sizeof a->to)
                return usage_error("--to: too many recipients");
            snprintf(a->to + n, sizeof a->to - n, "%s%s", n ? "," : "", optarg);
            break;
        }
        case O_USER: a->user = optarg; break;
        case O_PWFILE: a->pwfile = optarg; break;
        case O_STARTTLS: a->starttls = true; break;
        case O_MINSEV: a->minsev = optarg; break;
        case O_CA: a->ca = optarg; break;
        case O_ALL: a->all = true; break;
        case 'h': usage(stdout); return -1;
        default: return EXIT_USAGE;
        }
    }
    return 0;
}

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0)
        return usage_error("'%s' is not a route id (a number from 'mamori server route list')", s);
    *id = v;
    return 0;
}

static int read_password(const char *file, char *out, size_t outsz)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "mamori server route: --password-file %s: %s\n", file, strerror(errno));
        return EXIT_USAGE;
    }
    out[0] = '\0';
    if (!fgets(out, (int)outsz, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    if (!out[0]) {
        fprintf(stderr, "mamori server route: --password-file %s: empty\n", file);
        return EXIT_USAGE;
    }
    return 0;
}

static int build_options(const struct args *a, char *out, size_t outsz)
{
    json_object *o = json_object_new_object();
    if (a->ca)
        json_object_object_add(o, "ca", json_object_new_string(a->ca));
    if (a->from)
        json_object_object_add(o, "from", json_object_new_string(a->from));
    if (a->to[0])
        json_object_object_add(o, "to", json_object_new_string(a->to));
    if (a->user)
        json_object_object_add(o, "user", json_object_new_string(a->user));
    if (a->pwfile) {
        char pw[ROUTE_SECRET_MAX];
        int rc = read_password(a->pwfile, pw, sizeof pw);
        if (rc) {
            json_object_put(o);
            return rc;
        }
        json_object_object_add(o, "password", json_object_new_string(pw));
        memset(pw, 0, sizeof pw);
    }
    if (a->starttls)
        json_object_object_add(o, "starttls", json_object_new_boolean(1));
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = s && strlen(s) < outsz ? 0 : EXIT_USAGE;
    if (rc == 0)
        snprintf(out, outsz, "%s", s);
    else
        fprintf(stderr, "mamori server route: the options are too long\n");
    json_object_put(o);
    return rc;
}

static int cmd_add(int argc, char **argv)
{
    struct args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (a.kind < 0)
        return usage_error("add: give a destination: --webhook, --slack, --teams, --syslog or "
                           "--email");
    if (!a.site == !a.all_sites)
        return usage_error("add: give either --site NAME or --all-sites");
    if (a.all)
        return usage_error("--all: only for 'route list'");
    struct route r = {.kind = (enum route_kind)a.kind};
    if (strlen(a.target) >= sizeof r.target)
        return usage_error("the target is longer than %zu bytes", sizeof r.target - 1);
    snprintf(r.target, sizeof r.target, "%s", a.target);
    r.min_rank = 0;
    if (a.minsev) {
        static const char *const S[] = {"info", "low", "medium", "high", "critical"};
        r.min_rank = -1;
        for (int i = 0; i < 5; i++)
            if (!strcmp(a.minsev, S[i]))
                r.min_rank = i;
        if (r.min_rank < 0)
            return usage_error("--min-severity '%s': expected info, low, medium, high or "
                               "critical",
                               a.minsev);
    }
    if ((rc = build_options(&a, r.options, sizeof r.options)))
        return rc;
    char err[512];
    if (route_check(&r, err, sizeof err) < 0)
        return usage_error("%s", err);
    struct store st;
    if ((rc = open_store(a.data, &st)))
        return rc;
    if (a.site && route_site_id(&st, a.site, &r.site_id) < 0) {
        fprintf(stderr, "mamori server route: %s\n", st.err);
        store_close(&st);
        return EXIT_USAGE;
    }
    if (a.site)
        snprintf(r.site, sizeof r.site, "%s", a.site);
    r.created = cmd_wall_ms();
    actor(r.created_by, sizeof r.created_by);
    char masked[ROUTE_TARGET_MAX], detail[ROUTE_TARGET_MAX + 128], target[32];
    route_masked_target(&r, masked, sizeof masked);
    rc = store_begin(&st) == 0 && route_add(&st, &r) == 0 ? 0 : EXIT_FAIL;
    if (rc == 0) {
        snprintf(target, sizeof target, "route %" PRId64, r.id);
        snprintf(detail, sizeof detail, "%s %s for %s", route_kind_name(r.kind), masked,
                 a.site ? a.site : "all sites");
        rc = store_audit(&st, r.created, r.created_by, "route_add", target, detail) == 0 &&
                     store_commit(&st) == 0
                 ? 0
                 : EXIT_FAIL;
    }
    if (rc) {
        fprintf(stderr, "mamori server route: %s\n", st.err);
        store_rollback(&st);
    } else {
        char line[8192];
        if (route_json(&r, line, sizeof line) == 0)
            printf("%s\n", line);
    }
    store_close(&st);
    return rc;
}

static int print_route(void *arg, const struct route *r)
{
    char line[8192];
    if (route_json(r, line, sizeof line) == 0)
        printf("%s\n", line);
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    struct args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (a.kind >= 0 || a.site || a.all_sites)
        return usage_error("list takes --data and --all only");
    struct store st;
    if ((rc = open_store(a.data, &st)))
        return rc;
    if (route_each(&st, a.all, 0, print_route, NULL) < 0) {
        fprintf(stderr, "mamori server route: %s\n", st.err);
        rc = EXIT_FAIL;
    }
    store_close(&st);
    return rc;
}

/* rm and test: one route id. */
static int one_id(int argc, char **argv, struct args *a, int64_t *id, const char *what)
{
    int rc = parse(argc, argv, a);
    if (rc)
        return rc < 0 ? -1 : rc;
    if (a->kind >= 0 || a->site || a->all_sites || a->all)
        return usage_error("%s takes --data and a route id only", what);
    if (optind + 1 != argc)
        return usage_error("%s: give one route id", what);
    return parse_id(argv[optind], id);
}

static int cmd_rm(int argc, char **argv)
{
    struct args a;
    int64_t id;
    int rc = one_id(argc, argv, &a, &id, "rm");
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct store st;
    if ((rc = open_store(a.data, &st)))
        return rc;
    struct route r;
    char who[128], target[32], detail[ROUTE_TARGET_MAX + 64], masked[ROUTE_TARGET_MAX];
    actor(who, sizeof who);
    int64_t now = cmd_wall_ms();
    rc = store_begin(&st) < 0 ? MAMORI_EIO : route_get(&st, id, &r);
    if (rc == 0)
        rc = route_disable(&st, id, now);
    if (rc == 0) {
        route_masked_target(&r, masked, sizeof masked);
        snprintf(target, sizeof target, "route %" PRId64, id);
        snprintf(detail, sizeof detail, "%s %s", route_kind_name(r.kind), masked);
        rc = store_audit(&st, now, who, "route_rm", target, detail);
    }
    if (rc == 0)
        rc = store_commit(&st);
    if (rc < 0) {
        store_rollback(&st);
        fprintf(stderr, "mamori server route: %s\n", st.err);
        store_close(&st);
        return rc == MAMORI_ENOENT ? EXIT_USAGE : EXIT_FAIL;
    }
    printf("route %" PRId64 " removed\n", id);
    store_close(&st);
    return EXIT_OK;
}

static int cmd_test(int argc, char **argv)
{
    struct args a;
    int64_t id;
    int rc = one_id(argc, argv, &a, &id, "test");
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct store st;
    if ((rc = open_store(a.data, &st)))
        return rc;
    struct route r;
    if (route_get(&st, id, &r) < 0) {
        fprintf(stderr, "mamori server route: %s\n", st.err);
        store_close(&st);
        return EXIT_USAGE;
    }
    if (send_global_init() < 0) {
        fprintf(stderr, "mamori server route: libcurl failed to initialise\n");
        store_close(&st);
        return EXIT_FAIL;
    }
    char host[256] = "the server";
    gethostname(host, sizeof host - 1);
    int64_t now = cmd_wall_ms();
    char err[SEND_ERR_MAX] = "", masked[ROUTE_TARGET_MAX], who[128], target[32],
         detail[SEND_ERR_MAX + ROUTE_TARGET_MAX + 64];
    int sent = send_route_test(&r, host, NULL, err, sizeof err);
    route_masked_target(&r, masked, sizeof masked);
    actor(who, sizeof who);
    snprintf(target, sizeof target, "route %" PRId64, id);
    snprintf(detail, sizeof detail, "%s %s: %s", route_kind_name(r.kind), masked,
             sent == 0 ? "delivered" : err);
    if (store_audit(&st, now, who, "route_test", target, detail) < 0)
        fprintf(stderr, "mamori server route: cannot write the audit record: %s\n", st.err);
    store_close(&st);
    if (sent == 0) {
        printf("route %" PRId64 ": test message delivered to %s\n", id, masked);
        return EXIT_OK;
    }
    fprintf(stderr, "mamori server route: route %" PRId64 ": test message not delivered: %s\n", id,
            err);
    return EXIT_FAIL;
}

int cmd_server_route(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *sub = argv[1];
    argv[1] = argv[0];
    optind = 1;
    if (!strcmp(sub, "add"))
        return cmd_add(argc - 1, argv + 1);
    if (!strcmp(sub, "list"))
        return cmd_list(argc - 1, argv + 1);
    if (!strcmp(sub, "rm"))
        return cmd_rm(argc - 1, argv + 1);
    if (!strcmp(sub, "test"))
        return cmd_test(argc - 1, argv + 1);
    return usage_error("unknown subcommand '%s' (add, list, rm, test)", sub);
}
