/* cmd_api_token.c - `mamori server api-token`: make, list and revoke the
 * API tokens of the HTTPS API (docs/api.md).
 *
 *   mamori server api-token [--data DIR] --name NAME [--role ROLE] [--site SITE]
 *                           [--expires DUR]
 *   mamori server api-token [--data DIR] --list
 *   mamori server api-token [--data DIR] --revoke ID
 *
 * Arguments enter here; the token is printed once on standard output (the
 * database keeps a salted hash only, src/api/api_auth.h), listings as JSON
 * lines; every change gets an audit row. Exit status 0 ok, 1 runtime
 * failure, 2 usage error (naming the option). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/api_auth.h"
#include "api/api_store.h"
#include "cmd/cmd_util.h"
#include "cmd/commands.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "net/sock.h"
#include "server/enroll.h"
#include "server/server.h"
#include "server/store.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori server api-token [--data DIR] --name NAME [--role ROLE] [--site SITE]\n"
            "                               [--expires DUR]\n"
            "       mamori server api-token [--data DIR] --list\n"
            "       mamori server api-token [--data DIR] --revoke ID\n\n"
            "Make a token for the HTTPS API (Authorization: Bearer TOKEN). It is printed\n"
            "once: the server keeps only a salted hash.\n\n"
            "  -d, --data DIR     data directory (default %s)\n"
            "      --name NAME    who or what uses the token (1-64 printable characters;\n"
            "                     shown in the audit log)\n"
            "      --role ROLE    admin (every site; the default), site-admin (one site,\n"
            "                     --site required) or viewer (read-only; every site, or one\n"
            "                     with --site)\n"
            "      --site SITE    the site a site-admin or viewer token is limited to\n"
            "      --expires DUR  validity (30d, 12h; default: until revoked)\n"
            "      --list         list the tokens as JSON lines (never their secrets)\n"
            "      --revoke ID    revoke a token (its id is the part after mamori-api1.)\n"
            "  -h, --help         this help\n\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage error. See docs/api.md.\n",
            SRV_DEFAULT_DATA);
}

#define usage_error(...) cmd_usage("mamori server api-token", __VA_ARGS__)

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > APITOK_NAME_MAX)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

static int print_token(void *arg, const char *id, const struct apist_token *t)
{
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "id", id);
    jw_str(&w, "name", t->name);
    jw_str(&w, "role", api_role_name(t->role));
    if (t->site_id)
        jw_str(&w, "site", t->site);
    jw_int(&w, "created_ms", t->created);
    if (t->expires)
        jw_int(&w, "expires_ms", t->expires);
    jw_int(&w, "last_used_ms", t->last_used);
    if (t->revoked)
        jw_int(&w, "revoked_ms", t->revoked);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    return 0;
}

static int make_token(struct store *st, const char *name, enum api_role role, const char *site,
                      uint64_t expires_ms)
{
    struct apist_token t = {.role = role, .created = cmd_wall_ms()};
    snprintf(t.name, sizeof t.name, "%s", name);
    if (expires_ms)
        t.expires = t.created + (int64_t)expires_ms;
    char id[APITOK_ID_LEN + 1], tok[APITOK_BUF], detail[200];
    uint8_t secret[32];
    if (apitok_make(id, secret, tok) < 0 || RAND_bytes(t.salt, sizeof t.salt) != 1) {
        fprintf(stderr, "mamori server api-token: no random bytes\n");
        return EXIT_FAIL;
    }
    apitok_hash(t.salt, secret, t.hash);
    OPENSSL_cleanse(secret, sizeof secret);
    snprintf(detail, sizeof detail, "name=%s role=%s%s%s", name, api_role_name(role),
             site ? " site=" : "", site ? site : "");
    if (store_begin(st) < 0 || (site && store_site_id(st, site, &t.site_id) < 0) ||
        apist_token_add(st, id, &t) < 0 ||
        apist_audit_add(st, t.created, "operator", "api_token", id, detail, t.site_id) < 0 ||
        store_commit(st) < 0) {
        store_rollback(st);
        fprintf(stderr, "mamori server api-token: cannot store the token: %s\n", st->err);
        return EXIT_FAIL;
    }
    printf("%s\n", tok);
    fprintf(stderr, "mamori server api-token: token %s for '%s', role %s%s%s; shown only now\n", id,
            name, api_role_name(role), site ? ", site " : "", site ? site : "");
    OPENSSL_cleanse(tok, sizeof tok);
    return EXIT_OK;
}

int cmd_server_api_token(int argc, char **argv)
{
    enum { O_NAME = 256, O_ROLE, O_SITE, O_EXPIRES, O_LIST, O_REVOKE };
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"name", required_argument, NULL, O_NAME},
                                             {"role", required_argument, NULL, O_ROLE},
                                             {"site", required_argument, NULL, O_SITE},
                                             {"expires", required_argument, NULL, O_EXPIRES},
                                             {"list", no_argument, NULL, O_LIST},
                                             {"revoke", required_argument, NULL, O_REVOKE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *data = SRV_DEFAULT_DATA, *name = NULL, *site = NULL, *revoke = NULL;
    enum api_role role = ROLE_ADMIN;
    uint64_t expires_ms = 0;
    bool list = false;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case O_NAME: name = optarg; break;
        case O_ROLE:
            if (api_role_parse(optarg, &role) < 0)
                return usage_error("--role '%s': expected admin, site-admin or viewer", optarg);
            break;
        case O_SITE: site = optarg; break;
        case O_EXPIRES:
            if (parse_duration_ms(optarg, &expires_ms) < 0 || expires_ms < 60000 ||
                expires_ms > 3650ull * 86400 * 1000)
                return usage_error("--expires '%s': a duration from 1m to 3650d", optarg);
            break;
        case O_LIST: list = true; break;
        case O_REVOKE: revoke = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if ((list || revoke) && (name || site || expires_ms))
        return usage_error("--list and --revoke take no --name, --site or --expires");
    if (list && revoke)
        return usage_error("give --list or --revoke, not both");
    if (!list && !revoke) {
        if (!name)
            return usage_error("--name NAME is required (who or what uses the token)");
        if (!name_ok(name))
            return usage_error("--name: 1-%d printable characters", APITOK_NAME_MAX);
        if (role == ROLE_SITE_ADMIN && !site)
            return usage_error("--role site-admin needs --site SITE");
        if (role == ROLE_ADMIN && site)
            return usage_error("--role admin covers every site: no --site (use site-admin)");
        if (site && !site_name_valid(site))
            return usage_error("--site '%s': 1-64 characters of A-Z a-z 0-9 . _ -", site);
    }
    if (strlen(data) > 4000)
        return usage_error("--data: path too long");
    if (mkdir(data, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "mamori server api-token: %s: cannot create the data directory: %s\n", data,
                strerror(errno));
        return EXIT_USAGE;
    }
    struct store st;
    if (store_open(&st, data) < 0) {
        fprintf(stderr, "mamori server api-token: %s\n", st.err);
        return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    if (list) {
        if (apist_tokens_each(&st, print_token, NULL) < 0) {
            fprintf(stderr, "mamori server api-token: %s\n", st.err);
            rc = EXIT_FAIL;
        }
    } else if (revoke) {
        int64_t now = cmd_wall_ms();
        int r = store_begin(&st);
        if (r == 0)
            r = apist_token_revoke(&st, revoke, now);
        if (r == 0)
            r = apist_audit_add(&st, now, "operator", "api_token_revoke", revoke, NULL, 0);
        if (r == 0)
            r = store_commit(&st);
        if (r < 0) {
            store_rollback(&st);
            fprintf(stderr, "mamori server api-token: revoke: %s\n", st.err);
            rc = r == MAMORI_ENOENT ? EXIT_USAGE : EXIT_FAIL;
        } else {
            printf("revoked API token %s; requests with it are refused from now on\n", revoke);
        }
    } else {
        rc = make_token(&st, name, role, site, expires_ms);
    }
    store_close(&st);
    return rc;
}
