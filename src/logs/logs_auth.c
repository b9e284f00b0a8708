/* logs_auth.c - fields from the messages of authentication programs.
 *
 * Data enters as a syslog program name and message (logs_syslog.c); it
 * leaves as fields added to the event under construction (values copied
 * into the event arena). Names, all documented in docs/logs.md:
 *   Action       logon, invalid_user, disconnect, session_open,
 *                session_close, sudo, su, user_add, user_delete,
 *                user_modify, group_add, group_delete, group_modify,
 *                group_member_add, group_member_delete, password_change
 *   Outcome      success | failure
 *   User         the acting or logging-in account
 *   TargetUser   the account acted on (sudo USER=, su to, useradd name=)
 *   TargetGroup  the group acted on
 *   SourceIp, SourcePort, AuthMethod (password, publickey, ...),
 *   InvalidUser  "true" when sshd says the user does not exist
 *   CommandLine, Image, CurrentDirectory, Tty (sudo), Reason (a failure's
 *   words), Uid, Gid, Home, Shell (useradd)
 * Messages it does not know add nothing; the message field is always kept. */
#include <string.h>

#include "logs/logs_int.h"

struct cur {
    const char *p, *e;
};

static bool lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, s, n))
        return false;
    c->p += n;
    return true;
}

/* A word up to a space (or the end); false when empty. */
static bool word(struct cur *c, const char **w, size_t *n)
{
    const char *q = c->p;
    while (q < c->e && *q != ' ')
        q++;
    if (q == c->p)
        return false;
    *w = c->p;
    *n = (size_t)(q - c->p);
    c->p = q < c->e ? q + 1 : q;
    return true;
}

static void put(struct lg_reader *r, const char *name, const char *v, size_t n)
{
    if (v && n)
        lg_evb_addc(&r->evb, name, strlen(name), false, v, n);
}

static void puts_(struct lg_reader *r, const char *name, const char *v)
{
    lg_evb_add(&r->evb, name, strlen(name), v, strlen(v));
}

/* "IP port P" at c. */
static void ip_port(struct lg_reader *r, struct cur *c)
{
    const char *w;
    size_t n;
    if (!word(c, &w, &n))
        return;
    put(r, "SourceIp", w, n);
    if (lit(c, "port ") && word(c, &w, &n)) {
        size_t k = 0;
        while (k < n && w[k] >= '0' && w[k] <= '9')
            k++;
        put(r, "SourcePort", w, k);
    }
}

/* "[invalid user ]U from IP port P" or "user U IP port P" shapes. */
static void user_from(struct lg_reader *r, struct cur *c, bool from_word)
{
    const char *w;
    size_t n;
    if (lit(c, "invalid user ")) {
        puts_(r, "InvalidUser", "true");
    } else {
        lit(c, "authenticating user ");
        lit(c, "user ");
    }
    /* An invalid user name may be empty: "invalid user  from ...". */
    if (!(c->p < c->e && *c->p == ' ' ? (c->p++, false) : word(c, &w, &n)))
        w = NULL, n = 0;
    put(r, "User", w, n);
    if (from_word && !lit(c, "from "))
        return;
    ip_port(r, c);
}

static void sshd(struct lg_reader *r, struct cur *c)
{
    const char *w;
    size_t n;
    bool ok = lit(c, "Accepted ");
    if (ok || lit(c, "Failed ")) {
        puts_(r, "Action", "logon");
        puts_(r, "Outcome", ok ? "success" : "failure");
        if (word(c, &w, &n))
            put(r, "AuthMethod", w, n);
        if (lit(c, "for "))
            user_from(r, c, true);
    } else if (lit(c, "Invalid user ")) {
        puts_(r, "Action", "invalid_user");
        puts_(r, "Outcome", "failure");
        puts_(r, "InvalidUser", "true");
        if (!(c->p < c->e && *c->p == ' ' ? (c->p++, false) : word(c, &w, &n)))
            w = NULL, n = 0;
        put(r, "User", w, n);
        if (lit(c, "from "))
            ip_port(r, c);
    } else if (lit(c, "Disconnected from ") || lit(c, "Connection closed by ") ||
               lit(c, "Received disconnect from ")) {
        puts_(r, "Action", "disconnect");
        struct cur s = *c;
        if (lit(&s, "invalid user ") || lit(&s, "authenticating user ") || lit(&s, "user ")) {
            user_from(r, c, false);
        } else {
            ip_port(r, c);
        }
    }
}

/* "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u" */
static void sudo(struct lg_reader *r, struct cur *c)
{
    while (c->p < c->e && *c->p == ' ')
        c->p++;
    const char *colon = memmem(c->p, (size_t)(c->e - c->p), " : ", 3);
    if (!colon)
        return;
    puts_(r, "Action", "sudo");
    put(r, "User", c->p, (size_t)(colon - c->p));
    const char *p = colon + 3;
    bool failed = false;
    while (p < c->e) {
        const char *sep = memmem(p, (size_t)(c->e - p), " ; ", 3);
        /* COMMAND= is last and may itself hold " ; ". */
        if (!strncmp(p, "COMMAND=", 8) || !sep)
            sep = c->e;
        size_t n = (size_t)(sep - p);
        if (n > 4 && !memcmp(p, "TTY=", 4))
            put(r, "Tty", p + 4, n - 4);
        else if (n > 4 && !memcmp(p, "PWD=", 4))
            put(r, "CurrentDirectory", p + 4, n - 4);
        else if (n > 5 && !memcmp(p, "USER=", 5))
            put(r, "TargetUser", p + 5, n - 5);
        else if (n > 8 && !memcmp(p, "COMMAND=", 8)) {
            put(r, "CommandLine", p + 8, n - 8);
            const char *sp = memchr(p + 8, ' ', n - 8);
            put(r, "Image", p + 8, sp ? (size_t)(sp - p - 8) : n - 8);
        } else if (!memchr(p, '=', n)) {
            failed = true; /* "3 incorrect password attempts", "user NOT in sudoers" */
            put(r, "Reason", p, n);
        }
        p = sep + 3;
    }
    puts_(r, "Outcome", failed ? "failure" : "success");
}

/* "(to root) alice on pts/0", "FAILED SU (to root) alice on pts/0",
 * "Successful su for root by alice", "FAILED su for root by alice". */
static void su(struct lg_reader *r, struct cur *c)
{
    const char *w;
    size_t n;
    bool failed = lit(c, "FAILED SU ") || lit(c, "FAILED su ");
    if (lit(c, "(to ")) {
        const char *close = memchr(c->p, ')', (size_t)(c->e - c->p));
        if (!close)
            return;
        put(r, "TargetUser", c->p, (size_t)(close - c->p));
        c->p = close + 1;
        lit(c, " ");
        if (word(c, &w, &n))
            put(r, "User", w, n);
        if (lit(c, "on ") && word(c, &w, &n))
            put(r, "Tty", w, n);
    } else if (lit(c, "Successful su for ") || (failed && lit(c, "for "))) {
        if (word(c, &w, &n))
            put(r, "TargetUser", w, n);
        if (lit(c, "by ") && word(c, &w, &n))
            put(r, "User", w, n);
    } else {
        return;
    }
    puts_(r, "Action", "su");
    puts_(r, "Outcome", failed ? "failure" : "success");
}

/* The text between the quotes of the next 'x' after c. */
static bool quoted(struct cur *c, const char **v, size_t *n)
{
    const char *a = memchr(c->p, '\'', (size_t)(c->e - c->p));
    if (!a)
        return false;
    const char *b = memchr(a + 1, '\'', (size_t)(c->e - a - 1));
    if (!b)
        return false;
    *v = a + 1;
    *n = (size_t)(b - a - 1);
    c->p = b + 1;
    return true;
}

/* "name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, ..." */
static void kv_list(struct lg_reader *r, struct cur *c, const char *name_field)
{
    static const struct {
        const char *key, *field;
    } map[] = {{"UID", "Uid"}, {"GID", "Gid"}, {"home", "Home"}, {"shell", "Shell"}};
    const char *p = c->p;
    while (p < c->e) {
        const char *end = memchr(p, ',', (size_t)(c->e - p));
        if (!end)
            end = c->e;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            size_t kl = (size_t)(eq - p);
            if (kl == 4 && !memcmp(p, "name", 4))
                put(r, name_field, eq + 1, (size_t)(end - eq - 1));
            for (size_t i = 0; i < sizeof map / sizeof *map; i++)
                if (strlen(map[i].key) == kl && !memcmp(p, map[i].key, kl))
                    put(r, map[i].field, eq + 1, (size_t)(end - eq - 1));
        }
        p = end + 1;
        while (p < c->e && *p == ' ')
            p++;
    }
}

/* "add 'bob' to [shadow ]group 'sudo'", "delete 'bob' from group 'sudo'". */
static bool member(struct lg_reader *r, struct cur s)
{
    const char *v, *g;
    size_t n, gn;
    bool add = lit(&s, "add ");
    if ((!add && !lit(&s, "delete ")) || !quoted(&s, &v, &n) ||
        !lit(&s, add ? " to " : " from "))
        return false;
    lit(&s, "shadow ");
    if (!lit(&s, "group ") || !quoted(&s, &g, &gn))
        return false;
    puts_(r, "Action", add ? "group_member_add" : "group_member_delete");
    put(r, "TargetUser", v, n);
    put(r, "TargetGroup", g, gn);
    return true;
}

/* A fixed prefix then a quoted name: "delete user 'bob'". */
static bool named(struct lg_reader *r, struct cur s, const char *prefix, const char *action,
                  const char *field)
{
    const char *v;
    size_t n;
    if (!lit(&s, prefix) || !quoted(&s, &v, &n))
        return false;
    puts_(r, "Action", action);
    put(r, field, v, n);
    if (lit(&s, " changed by ") && quoted(&s, &v, &n)) /* "password for 'x' changed by 'y'" */
        put(r, "User", v, n);
    return true;
}

/* useradd, usermod, userdel, groupadd, groupmod, groupdel, gpasswd,
 * passwd, chpasswd, chage. */
static void account(struct lg_reader *r, struct cur *c)
{
    if (lit(c, "new user: ")) {
        puts_(r, "Action", "user_add");
        kv_list(r, c, "TargetUser");
    } else if (lit(c, "new group: ")) {
        puts_(r, "Action", "group_add");
        kv_list(r, c, "TargetGroup");
    } else if (lit(c, "group added to ")) { /* "group added to /etc/group: name=devs, ..." */
        const char *colon = memchr(c->p, ':', (size_t)(c->e - c->p));
        c->p = colon ? colon + 1 : c->e;
        lit(c, " ");
        puts_(r, "Action", "group_add");
        kv_list(r, c, "TargetGroup");
    } else if (!member(r, *c) && !named(r, *c, "delete user ", "user_delete", "TargetUser") &&
               !named(r, *c, "removed group ", "group_delete", "TargetGroup") &&
               !named(r, *c, "group ", "group_modify", "TargetGroup") &&
               !named(r, *c, "change user ", "user_modify", "TargetUser") &&
               !named(r, *c, "lock user ", "user_modify", "TargetUser") &&
               !named(r, *c, "unlock user ", "user_modify", "TargetUser") &&
               !named(r, *c, "password for ", "password_change", "TargetUser")) {
        return;
    }
    puts_(r, "Outcome", "success");
}

/* "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
 * "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh
 * ruser= rhost=192.0.2.9  user=root", "pam_unix(passwd:chauthtok): password
 * changed for bob". */
static void pam(struct lg_reader *r, struct cur *c)
{
    const char *close = memmem(c->p, (size_t)(c->e - c->p), "): ", 3);
    if (!close)
        return;
    c->p = close + 3;
    const char *w;
    size_t n;
    bool open = lit(c, "session opened for user ");
    if (open || lit(c, "session closed for user ")) {
        puts_(r, "Action", open ? "session_open" : "session_close");
        puts_(r, "Outcome", "success");
        if (word(c, &w, &n)) {
            const char *paren = memchr(w, '(', n);
            put(r, "User", w, paren ? (size_t)(paren - w) : n);
        }
    } else if (lit(c, "authentication failure;")) {
        puts_(r, "Action", "logon");
        puts_(r, "Outcome", "failure");
        while (c->p < c->e) {
            if (!word(c, &w, &n)) {
                c->p++; /* a second space */
                continue;
            }
            if (n > 6 && !memcmp(w, "rhost=", 6))
                put(r, "SourceIp", w + 6, n - 6);
            else if (n > 5 && !memcmp(w, "user=", 5))
                put(r, "User", w + 5, n - 5);
        }
    } else if (lit(c, "password changed for ") && word(c, &w, &n)) {
        puts_(r, "Action", "password_change");
        puts_(r, "Outcome", "success");
        put(r, "TargetUser", w, n);
    }
}

static bool prog_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && !memcmp(p, name, n);
}

bool lg_auth_fields(struct lg_reader *r, const char *prog, size_t plen, const char *msg,
                    size_t mlen)
{
    struct cur c = {msg, msg + mlen};
    if (mlen >= 9 && !memcmp(msg, "pam_unix(", 9)) {
        pam(r, &c);
        return true;
    }
    if (!prog)
        return false;
    if (prog_is(prog, plen, "sshd") || prog_is(prog, plen, "sshd-session") ||
        prog_is(prog, plen, "sshd-auth"))
        sshd(r, &c);
    else if (prog_is(prog, plen, "sudo"))
        sudo(r, &c);
    else if (prog_is(prog, plen, "su"))
        su(r, &c);
    else
        account(r, &c);
    return true;
}
