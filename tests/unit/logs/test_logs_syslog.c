/* test_logs_syslog.c - the syslog reader on auth.log lines written here in
 * the three date forms (BSD, RFC 3339, RFC 5424): sshd logons (password,
 * publickey, invalid users, disconnects), sudo (success and failure), su,
 * user and group management, pam_unix; channels; the BSD year and its
 * rollover; damage skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "core/err.h"
#include "logs_test.h"

static struct lg_reader *open_text(const char *text, struct lt_errs *e, int year)
{
    struct lg_reader *r = lg_reader_new();
    assert_non_null(r);
    struct lg_opts o = {.on_error = lt_collect, .ctx = e, .year = year};
    assert_int_equal(lg_open_mem(r, text, strlen(text), "auth.log", &o), 0);
    assert_int_equal(lg_stats(r)->format, LG_SYSLOG);
    return r;
}

static const struct sg_event *next(struct lg_reader *r)
{
    const struct sg_event *ev;
    assert_int_equal(lg_next(r, &ev), 1);
    return ev;
}

static void test_sshd_three_forms(void **state)
{
    const char *t =
        "Dec  2 15:15:17 web1 sshd[1234]: Accepted password for alice from 192.0.2.10 port 52311 "
        "ssh2\n"
        "2026-12-02T15:15:18.123456+09:00 web1 sshd[1235]: Failed password for invalid user admin "
        "from 198.51.100.7 port 40022 ssh2\n"
        "<38>1 2026-12-02T06:15:19.003Z web1 sshd 1236 - - Accepted publickey for bob from "
        "2001:db8::1 port 6000 ssh2: ED25519 SHA256:abc\n"
        "<38>1 2026-12-02T06:15:20Z web1 sshd-session 1237 ID47 [meta x=\"a]b\" y=\"1\"][o k=\"2\"] "
        "Invalid user oracle from 203.0.113.5 port 1111\n"
        "Dec  2 15:15:21 web1 sshd[1238]: Disconnected from invalid user oracle 203.0.113.5 port "
        "1111 [preauth]\n"
        "Dec  2 15:15:22 web1 sshd[1239]: Failed password for root from 203.0.113.5 port 1112 ssh2\n";
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e, 2026);
    const struct sg_event *ev = next(r);
    assert_int_equal(ev->record, 1);
    assert_int_equal(ev->time_ns, 1796224517000000000LL); /* 2026-12-02T15:15:17Z */
    assert_string_equal(lt_str(&ev->channel), "linux/auth");
    assert_string_equal(lt_str(&ev->provider), "sshd");
    assert_string_equal(lt_str(&ev->computer), "web1");
    assert_field(ev, "program", "sshd");
    assert_field(ev, "pid", "1234");
    assert_field(ev, "host", "web1");
    assert_field(ev, "message",
                 "Accepted password for alice from 192.0.2.10 port 52311 ssh2");
    assert_field(ev, "Action", "logon");
    assert_field(ev, "Outcome", "success");
    assert_field(ev, "AuthMethod", "password");
    assert_field(ev, "User", "alice");
    assert_field(ev, "SourceIp", "192.0.2.10");
    assert_field(ev, "SourcePort", "52311");

    ev = next(r);
    assert_int_equal(ev->time_ns, 1796192118123456000LL); /* 06:15:18.123456Z */
    assert_field(ev, "Outcome", "failure");
    assert_field(ev, "User", "admin");
    assert_field(ev, "InvalidUser", "true");
    assert_field(ev, "SourceIp", "198.51.100.7");
    assert_field(ev, "SourcePort", "40022");

    ev = next(r);
    assert_int_equal(ev->time_ns, 1796192119003000000LL);
    assert_field(ev, "AuthMethod", "publickey");
    assert_field(ev, "User", "bob");
    assert_field(ev, "SourceIp", "2001:db8::1");
    assert_field(ev, "pid", "1236");
    assert_null(lt_get(ev, "msgid"));

    ev = next(r);
    assert_field(ev, "program", "sshd-session");
    assert_field(ev, "msgid", "ID47");
    assert_field(ev, "message", "Invalid user oracle from 203.0.113.5 port 1111");
    assert_field(ev, "Action", "invalid_user");
    assert_field(ev, "User", "oracle");
    assert_field(ev, "SourceIp", "203.0.113.5");

    ev = next(r);
    assert_field(ev, "Action", "disconnect");
    assert_field(ev, "User", "oracle");
    assert_field(ev, "InvalidUser", "true");
    assert_field(ev, "SourcePort", "1111");

    ev = next(r);
    assert_field(ev, "User", "root");
    assert_null(lt_get(ev, "InvalidUser"));
    const struct sg_event *end;
    assert_int_equal(lg_next(r, &end), 0);
    assert_int_equal(e.n, 0);
    lg_reader_free(r);
}

static void test_sudo_su_accounts(void **state)
{
    const char *t =
        "Dec  2 15:16:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/usr/bin/tar czf /tmp/x.tgz /etc ; echo\n"
        "Dec  2 15:16:01 web1 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; "
        "PWD=/home/bob ; USER=root ; COMMAND=/bin/bash\n"
        "Dec  2 15:16:02 web1 su[99]: (to root) alice on pts/0\n"
        "Dec  2 15:16:03 web1 su[98]: FAILED SU (to root) bob on pts/1\n"
        "Dec  2 15:16:04 web1 useradd[50]: new user: name=backdoor, UID=0, GID=0, home=/root, "
        "shell=/bin/bash, from=/dev/pts/0\n"
        "Dec  2 15:16:05 web1 usermod[51]: add 'backdoor' to shadow group 'sudo'\n"
        "Dec  2 15:16:06 web1 groupadd[52]: group added to /etc/group: name=devs, GID=1002\n"
        "Dec  2 15:16:07 web1 userdel[53]: delete user 'backdoor'\n"
        "Dec  2 15:16:08 web1 passwd[54]: pam_unix(passwd:chauthtok): password changed for bob\n"
        "Dec  2 15:16:09 web1 sshd[55]: pam_unix(sshd:session): session opened for user "
        "alice(uid=1000) by (uid=0)\n"
        "Dec  2 15:16:10 web1 sshd[56]: pam_unix(sshd:auth): authentication failure; logname= "
        "uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.99  user=root\n"
        "Dec  2 15:16:11 web1 CRON[57]: pam_unix(cron:session): session closed for user root\n"
        "Dec  2 15:16:12 web1 kernel: [ 1.0] usb 1-1: new device\n"
        "Dec  2 15:16:13 web1 chpasswd[58]: password for 'carol' changed by 'root'\n";
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e, 2026);
    const struct sg_event *ev = next(r);
    assert_field(ev, "Action", "sudo");
    assert_field(ev, "User", "alice");
    assert_field(ev, "Tty", "pts/0");
    assert_field(ev, "CurrentDirectory", "/home/alice");
    assert_field(ev, "TargetUser", "root");
    assert_field(ev, "CommandLine", "/usr/bin/tar czf /tmp/x.tgz /etc ; echo");
    assert_field(ev, "Image", "/usr/bin/tar");
    assert_field(ev, "Outcome", "success");
    assert_null(lt_get(ev, "pid"));

    ev = next(r);
    assert_field(ev, "User", "bob");
    assert_field(ev, "Outcome", "failure");
    assert_field(ev, "Reason", "3 incorrect password attempts");
    assert_field(ev, "CommandLine", "/bin/bash");

    ev = next(r);
    assert_field(ev, "Action", "su");
    assert_field(ev, "TargetUser", "root");
    assert_field(ev, "User", "alice");
    assert_field(ev, "Tty", "pts/0");
    assert_field(ev, "Outcome", "success");
    ev = next(r);
    assert_field(ev, "User", "bob");
    assert_field(ev, "Outcome", "failure");

    ev = next(r);
    assert_field(ev, "Action", "user_add");
    assert_field(ev, "TargetUser", "backdoor");
    assert_field(ev, "Uid", "0");
    assert_field(ev, "Home", "/root");
    assert_field(ev, "Shell", "/bin/bash");
    ev = next(r);
    assert_field(ev, "Action", "group_member_add");
    assert_field(ev, "TargetUser", "backdoor");
    assert_field(ev, "TargetGroup", "sudo");
    ev = next(r);
    assert_field(ev, "Action", "group_add");
    assert_field(ev, "TargetGroup", "devs");
    assert_field(ev, "Gid", "1002");
    ev = next(r);
    assert_field(ev, "Action", "user_delete");
    assert_field(ev, "TargetUser", "backdoor");
    ev = next(r);
    assert_field(ev, "Action", "password_change");
    assert_field(ev, "TargetUser", "bob");
    assert_string_equal(lt_str(&ev->channel), "linux/auth");

    ev = next(r);
    assert_field(ev, "Action", "session_open");
    assert_field(ev, "User", "alice");
    ev = next(r);
    assert_field(ev, "Action", "logon");
    assert_field(ev, "Outcome", "failure");
    assert_field(ev, "SourceIp", "192.0.2.99");
    assert_field(ev, "User", "root");
    ev = next(r); /* CRON is no auth program, but the line is pam_unix's */
    assert_string_equal(lt_str(&ev->channel), "linux/auth");
    assert_field(ev, "Action", "session_close");
    ev = next(r);
    assert_string_equal(lt_str(&ev->channel), "linux/syslog");
    assert_string_equal(lt_str(&ev->provider), "kernel");
    assert_field(ev, "message", "[ 1.0] usb 1-1: new device");
    assert_null(lt_get(ev, "Action"));
    ev = next(r);
    assert_field(ev, "Action", "password_change");
    assert_field(ev, "TargetUser", "carol");
    assert_field(ev, "User", "root");
    const struct sg_event *end;
    assert_int_equal(lg_next(r, &end), 0);
    assert_int_equal(e.n, 0);
    lg_reader_free(r);
}

/* Without a year in the line: the caller's, growing at Dec -> Jan. */
static void test_year_rollover_and_damage(void **state)
{
    const char *t = "Dec 31 23:59:59 h cron[1]: a\n"
                    "not a syslog line at all\n"
                    "Jan  1 00:00:01 h cron[1]: b\n"
                    "\n"
                    "Jan  1 00:00:02 h\n"
                    "<13>Jan  1 00:00:03 h prog: c\r\n"
                    "Feb 30 25:00:00 h prog: bad time\n"
                    "2027-01-01 00:00:04 h prog[x: d";
    struct lt_errs e = {0};
    struct lg_reader *r = open_text(t, &e, 2026);
    const struct sg_event *ev = next(r);
    assert_int_equal(ev->time_ns, 1798761599000000000LL); /* 2026-12-31T23:59:59Z */
    assert_string_equal(lt_str(&ev->channel), "linux/syslog");
    ev = next(r);
    assert_int_equal(ev->record, 3);
    assert_int_equal(ev->time_ns, 1798761601000000000LL); /* 2027-01-01T00:00:01Z */
    ev = next(r); /* a host and no message is a line too */
    assert_int_equal(ev->record, 5);
    assert_field(ev, "message", "");
    ev = next(r);
    assert_int_equal(ev->record, 6);
    assert_field(ev, "program", "prog");
    assert_field(ev, "message", "c");
    ev = next(r);
    assert_int_equal(ev->record, 8);
    assert_null(lt_get(ev, "program"));
    assert_field(ev, "message", "prog[x: d");
    const struct sg_event *end;
    assert_int_equal(lg_next(r, &end), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.where[0], 2);
    assert_non_null(strstr(e.reason[0], "auth.log:2: not a syslog line"));
    assert_int_equal(e.where[1], 7);
    lg_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sshd_three_forms),
        cmocka_unit_test(test_sudo_su_accounts),
        cmocka_unit_test(test_year_rollover_and_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
