/* cmd_user.c - `mamori server user`: the web console's local users
 * (docs/console.md).
 *
 *   mamori server user [--data DIR] add NAME --role ROLE [--site SITE] [--password-stdin]
 *   mamori server user [--data DIR] list
 *   mamori server user [--data DIR] passwd NAME [--password-stdin]
 *   mamori server user [--data DIR] disable NAME
 *   mamori server user [--data DIR] totp NAME [--off]
 *
 * A password is read from the terminal without echo (asked twice), or as
 * the first line of standard input with --password-stdin; it leaves only
 * as an argon2id hash (src/web/web_pw.c). Listings are JSON lines (never
 * hashes). Every change is an audit row (actor "operator"); a new password
 * or a disabled user ends that user's sessions. Exit status 0 ok, 1
 * runtime failure, 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api/api_auth.h"
#include "api/api_store.h"
#include "cmd/cmd_util.h"
#include "cmd/commands.h"
#include "core/err.h"
#include "core/json.h"
#include "server/enroll.h"
#include "server/server.h"
#include "server/store.h"
#include "web/web_int.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mamori server user [--data DIR] add NAME --role ROLE [--site SITE]\n"
            "                          [--password-stdin]\n"
            "       mamori server user [--data DIR] list\n"
            "       mamori server user [--data DIR] passwd NAME [--password-stdin]\n"
            "       mamori server user [--data DIR] disable NAME\n"
            "       mamori server user [--data DIR] totp NAME [--off]\n\n"
            "Users of the web console (docs/console.md). Passwords are kept as argon2id\n"
            "hashes (t=%d, m=%u MiB, p=%d); they are read from the terminal without echo,\n"
            "or as the first line of standard input with --password-stdin (%d-%d bytes).\n\n"
            "  -d, --data DIR      data directory (default %s)\n"
            "      --role ROLE     admin (every site), site-admin (one site, --site\n"
            "                      required) or viewer (read-only; every site, or --site)\n"
            "      --site SITE     the site a site-admin or viewer is limited to\n"
            "      --password-stdin  read the password from standard input\n"
            "  -h, --help          this help\n\n"
            "totp gives the user a second factor: a new secret for an authenticator app\n"
            "(RFC 6238: SHA-1, 6 digits, 30 s), printed once as an otpauth:// URI; from\n"
            "then on a login needs the current code. --off removes it.\n"
            "passwd, disable and totp end the user's sessions. Every change is audited.\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage error.\n",
            WEB_ARGON_T, WEB_ARGON_M_KIB / 1024, WEB_ARGON_P, WEB_PASSWORD_MIN, WEB_PASSWORD_MAX,
            SRV_DEFAULT_DATA);
}

#define usage_error(...) cmd_usage("mamori server user", __VA_ARGS__)

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > WEB_USER_MAX)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

/* One line from f (without its newline) into buf; -1 if none or too long. */
static int read_line(FILE *f, char *buf, size_t sz)
{
    if (!fgets(buf, (int)sz, f))
        return -1;
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (!feof(f))
        return -1; /* longer than the buffer */
    if (n && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return 0;
}

static int prompt(FILE *tty, const char *what, char *buf, size_t sz)
{
    struct termios old, quiet;
    int fd = fileno(tty);
    bool echo_off = tcgetattr(fd, &old) == 0;
    if (echo_off) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fprintf(tty, "%s: ", what);
    fflush(tty);
    int rc = read_line(tty, buf, sz);
    if (echo_off)
        tcsetattr(fd, TCSAFLUSH, &old);
    return rc;
}

/* The new password into pw (WEB_PASSWORD_MAX + 2). 0 or an exit status. */
static int get_password(bool from_stdin, char *pw, size_t sz)
{
    if (from_stdin) {
        if (read_line(stdin, pw, sz) < 0) {
            fprintf(stderr,
                    "mamori server user: no password line on standard input (or over "
                    "%d bytes)\n",
                    WEB_PASSWORD_MAX);
            return EXIT_USAGE;
        }
    } else {
        FILE *tty = fopen("/dev/tty", "r+");
        if (!tty) {
            fprintf(stderr, "mamori server user: no terminal to ask the password on: give "
                            "--password-stdin\n");
            return EXIT_USAGE;
        }
        char again[WEB_PASSWORD_MAX + 2];
        int r = prompt(tty, "New password", pw, sz);
        if (r == 0)
            r = prompt(tty, "Again", again, sizeof again);
        fclose(tty);
        bool same = r == 0 && !strcmp(pw, again);
        OPENSSL_cleanse(again, sizeof again);
        if (!same) {
            fprintf(stderr, "mamori server user: the passwords differ (or none was given)\n");
            return EXIT_USAGE;
        }
    }
    size_t n = strlen(pw);
    if (n < WEB_PASSWORD_MIN || n > WEB_PASSWORD_MAX) {
        fprintf(stderr, "mamori server user: a password is %d to %d bytes\n", WEB_PASSWORD_MIN,
                WEB_PASSWORD_MAX);
        return EXIT_USAGE;
    }
    return 0;
}

static int hash_password(bool from_stdin, char hash[WEB_HASH_MAX])
{
    char pw[WEB_PASSWORD_MAX + 2];
    int rc = get_password(from_stdin, pw, sizeof pw);
    if (rc == 0 && web_pw_hash(pw, strlen(pw), hash) < 0) {
        fprintf(stderr, "mamori server user: cannot hash the password (argon2id, %u MiB)\n",
                WEB_ARGON_M_KIB / 1024);
        rc = EXIT_FAIL;
    }
    OPENSSL_cleanse(pw, sizeof pw);
    return rc;
}

static int print_user(void *arg, const struct web_user *u)
{
    (void)arg;
    char buf[512];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_int(&w, "id", u->id);
    jw_str(&w, "name", u->name);
    jw_str(&w, "role", api_role_name((enum api_role)u->role));
    if (u->site_id)
        jw_str(&w, "site", u->site);
    jw_int(&w, "created_ms", u->created);
    if (u->disabled)
        jw_int(&w, "disabled_ms", u->disabled);
    jw_int(&w, "failed_logins", u->failed_logins);
    jw_bool(&w, "totp", u->totp[0] != '\0');
    if (u->locked_until)
        jw_int(&w, "locked_until_ms", u->locked_until);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    return 0;
}

static int fail_store(struct store *st, const char *what)
{
    store_rollback(st);
    fprintf(stderr, "mamori server user: %s: %s\n", what, st->err);
    return EXIT_FAIL;
}

static int do_add(struct store *st, const char *name, enum api_role role, const char *site,
                  bool from_stdin)
{
    struct web_user u = {.role = (int)role, .created = cmd_wall_ms()};
    snprintf(u.name, sizeof u.name, "%s", name);
    int rc = hash_password(from_stdin, u.hash);
    if (rc)
        return rc;
    char detail[200];
    snprintf(detail, sizeof detail, "role=%s%s%s", api_role_name(role), site ? " site=" : "",
             site ? site : "");
    if (store_begin(st) < 0 || (site && store_site_id(st, site, &u.site_id) < 0))
        return fail_store(st, "add user");
    int r = webst_user_add(st, &u);
    if (r == MAMORI_EEXIST) {
        store_rollback(st);
        fprintf(stderr, "mamori server user: %s\n", st->err);
        return EXIT_USAGE;
    }
    if (r < 0 ||
        apist_audit_add(st, u.created, "operator", "user_add", name, detail, u.site_id) < 0 ||
        store_commit(st) < 0)
        return fail_store(st, "add user");
    printf("added console user '%s', role %s%s%s\n", name, api_role_name(role),
           site ? ", site " : "", site ? site : "");
    return EXIT_OK;
}

static int do_totp(struct store *st, const char *name, bool off)
{
    struct web_user u;
    int r = webst_user_get(st, name, &u);
    if (r < 0) {
        fprintf(stderr, "mamori server user: %s\n", st->err);
        return r == MAMORI_ENOENT ? EXIT_USAGE : EXIT_FAIL;
    }
    char secret[WEB_TOTP_B32 + 1];
    if (!off && web_totp_new(secret) < 0) {
        fprintf(stderr, "mamori server user: no random bytes\n");
        return EXIT_FAIL;
    }
    if (store_begin(st) < 0 || webst_user_set_totp(st, name, off ? NULL : secret) < 0 ||
        webst_sessions_del_user(st, u.id) < 0 ||
        apist_audit_add(st, cmd_wall_ms(), "operator", off ? "user_totp_off" : "user_totp", name,
                        NULL, u.site_id) < 0 ||
        store_commit(st) < 0)
        return fail_store(st, "totp");
    if (off) {
        printf("removed the one-time codes of '%s'\n", name);
    } else {
        printf(
            "otpauth://totp/mamori:%s?secret=%s&issuer=mamori&algorithm=SHA1&digits=6&period=%d\n",
            name, secret, WEB_TOTP_STEP);
        fprintf(stderr,
                "mamori server user: secret %s for '%s' (shown only now); a login needs "
                "its current code from now on\n",
                secret, name);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    return EXIT_OK;
}

static int do_change(struct store *st, const char *verb, const char *name, bool from_stdin)
{
    struct web_user u;
    int r = webst_user_get(st, name, &u);
    if (r < 0) {
        fprintf(stderr, "mamori server user: %s\n", st->err);
        return r == MAMORI_ENOENT ? EXIT_USAGE : EXIT_FAIL;
    }
    char hash[WEB_HASH_MAX];
    bool passwd = !strcmp(verb, "passwd");
    if (passwd && (r = hash_password(from_stdin, hash)) != 0)
        return r;
    int64_t now = cmd_wall_ms();
    if (store_begin(st) < 0 ||
        (passwd ? webst_user_set_hash(st, name, hash) : webst_user_disable(st, name, now)) < 0 ||
        webst_sessions_del_user(st, u.id) < 0 ||
        apist_audit_add(st, now, "operator", passwd ? "user_passwd" : "user_disable", name, NULL,
                        u.site_id) < 0 ||
        store_commit(st) < 0)
        return fail_store(st, verb);
    printf("%s '%s'; their sessions are ended\n", passwd ? "new password for" : "disabled user",
           name);
    return EXIT_OK;
}

int cmd_server_user(int argc, char **argv)
{
    enum { O_ROLE = 256, O_SITE, O_STDIN, O_OFF };
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"role", required_argument, NULL, O_ROLE},
                                             {"site", required_argument, NULL, O_SITE},
                                             {"password-stdin", no_argument, NULL, O_STDIN},
                                             {"off", no_argument, NULL, O_OFF},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *data = SRV_DEFAULT_DATA, *site = NULL, *role_s = NULL;
    bool from_stdin = false, off = false;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case O_ROLE: role_s = optarg; break;
        case O_SITE: site = optarg; break;
        case O_STDIN: from_stdin = true; break;
        case O_OFF: off = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return usage_error("give add, list, passwd, disable or totp");
    const char *verb = argv[optind++];
    const char *name = optind < argc ? argv[optind++] : NULL;
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    bool add = !strcmp(verb, "add"), list = !strcmp(verb, "list"), totp = !strcmp(verb, "totp");
    if (!add && !list && !totp && strcmp(verb, "passwd") && strcmp(verb, "disable"))
        return usage_error("unknown action '%s' (add, list, passwd, disable or totp)", verb);
    if (off && !totp)
        return usage_error("--off goes with totp only");
    if (list ? name != NULL : !name)
        return usage_error(list ? "list takes no NAME" : "%s needs a user NAME", verb);
    if (name && !name_ok(name))
        return usage_error("NAME: 1-%d printable characters without spaces", WEB_USER_MAX);
    if (!add && (role_s || site))
        return usage_error("--role and --site go with add only");
    if ((list || totp || !strcmp(verb, "disable")) && from_stdin)
        return usage_error("--password-stdin goes with add and passwd only");
    enum api_role role = ROLE_VIEWER;
    if (add) {
        if (!role_s)
            return usage_error("add needs --role (admin, site-admin or viewer)");
        if (api_role_parse(role_s, &role) < 0)
            return usage_error("--role '%s': expected admin, site-admin or viewer", role_s);
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
        fprintf(stderr, "mamori server user: %s: cannot create the data directory: %s\n", data,
                strerror(errno));
        return EXIT_USAGE;
    }
    struct store st;
    if (store_open(&st, data) < 0) {
        fprintf(stderr, "mamori server user: %s\n", st.err);
        return EXIT_FAIL;
    }
    int rc;
    if (list)
        rc = webst_users_each(&st, print_user, NULL) < 0 ? fail_store(&st, "list") : EXIT_OK;
    else if (add)
        rc = do_add(&st, name, role, site, from_stdin);
    else if (totp)
        rc = do_totp(&st, name, off);
    else
        rc = do_change(&st, verb, name, from_stdin);
    store_close(&st);
    return rc;
}
