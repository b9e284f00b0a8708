/* test_cmdstore.c - response commands in the server database: a command is
 * added pending with an audit row, listed, marked sent, its result stored
 * once (a repeat changes nothing, another host cannot answer it); and the
 * wire vocabulary (net/command.h): ids, actor keys, alert ids. */
#include "srvtest.h"

#include <sqlite3.h>

#include "core/err.h"
#include "net/command.h"
#include "server/cmdstore.h"
#include "server/store.h"

static int count(struct store *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n;
}

static void add_host(struct store *st, const char *id, int64_t site, const char *fp)
{
    struct host_row h = {.site_id = site, .enrolled = 1000, .status = HOST_ENROLLED};
    snprintf(h.id, sizeof h.id, "%s", id);
    snprintf(h.hostname, sizeof h.hostname, "name-%s", id);
    snprintf(h.cert_fp, sizeof h.cert_fp, "%s", fp);
    assert_int_equal(store_host_add(st, &h), 0);
}

static int collect(void *arg, const struct cmd_row *r)
{
    struct cmd_row *rows = arg;
    for (int i = 0; i < 8; i++)
        if (!rows[i].uid[0]) {
            rows[i] = *r;
            break;
        }
    return 0;
}

static void test_lifecycle(void **state)
{
    char *dir = srvtest_mkdir();
    struct store st;
    assert_int_equal(store_open(&st, dir), 0);
    int64_t site;
    assert_int_equal(store_site_id(&st, "lab", &site), 0);
    add_host(&st, "h-a", site, "fa");
    add_host(&st, "h-b", site, "fb");

    char iso[CMD_ID_MAX], kill[CMD_ID_MAX];
    assert_int_equal(cmdstore_add(&st, "h-a", CMD_ISOLATE, NULL, "operator", 5000, iso), 0);
    assert_true(cmd_id_valid(iso));
    assert_int_equal(cmdstore_add(&st, "h-a", CMD_KILL, "0a1b2c3d-42-99", "operator", 6000, kill),
                     0);
    assert_string_not_equal(iso, kill);
    assert_int_equal(count(&st, "SELECT count(*) FROM audit WHERE action='command'"), 2);

    struct cmd_row rows[8] = {0};
    assert_int_equal(cmdstore_pending_each(&st, collect, rows), 0);
    assert_string_equal(rows[0].uid, iso);
    assert_int_equal(rows[0].action, CMD_ISOLATE);
    assert_string_equal(rows[0].arg, "");
    assert_string_equal(rows[0].hostname, "name-h-a");
    assert_int_equal(rows[0].status, CMDST_PENDING);
    assert_string_equal(rows[1].uid, kill);
    assert_string_equal(rows[1].arg, "0a1b2c3d-42-99");
    assert_string_equal(rows[2].uid, "");

    /* sent: no longer pending, still open */
    assert_int_equal(cmdstore_mark_sent(&st, iso, 7000), 0);
    assert_int_equal(cmdstore_mark_sent(&st, iso, 8000), 0); /* keeps the first time */
    memset(rows, 0, sizeof rows);
    assert_int_equal(cmdstore_pending_each(&st, collect, rows), 0);
    assert_string_equal(rows[0].uid, kill);
    assert_string_equal(rows[1].uid, "");
    memset(rows, 0, sizeof rows);
    assert_int_equal(cmdstore_each(&st, "h-a", true, collect, rows), 0);
    assert_string_equal(rows[0].uid, iso);
    assert_int_equal(rows[0].status, CMDST_SENT);
    assert_int_equal(rows[0].sent, 7000);
    assert_string_equal(rows[1].uid, kill);

    /* another host cannot answer it; the right one stores it once */
    assert_int_equal(cmdstore_result(&st, iso, "h-b", true, "x", 9000), MAMORI_ENOENT);
    assert_int_equal(cmdstore_result(&st, "c-0000000000000000", "h-a", true, "x", 9000),
                     MAMORI_ENOENT);
    assert_int_equal(cmdstore_result(&st, iso, "h-a", true, "isolated", 9000), 0);
    assert_int_equal(cmdstore_result(&st, iso, "h-a", false, "again", 9500), MAMORI_EEXIST);
    struct cmd_row r;
    assert_int_equal(cmdstore_get(&st, iso, &r), 0);
    assert_int_equal(r.status, CMDST_OK);
    assert_int_equal(r.done, 9000);
    assert_string_equal(r.message, "isolated");
    assert_string_equal(r.created_by, "operator");
    assert_int_equal(count(&st, "SELECT count(*) FROM audit WHERE action='command_result'"), 1);
    assert_int_equal(cmdstore_result(&st, kill, "h-a", false, "refused: PID 1", 9600), 0);
    assert_int_equal(cmdstore_get(&st, kill, &r), 0);
    assert_int_equal(r.status, CMDST_FAILED);
    memset(rows, 0, sizeof rows);
    assert_int_equal(cmdstore_each(&st, NULL, true, collect, rows), 0);
    assert_string_equal(rows[0].uid, ""); /* nothing open */
    assert_int_equal(cmdstore_get(&st, "c-ffffffffffffffff", &r), MAMORI_ENOENT);
    /* the table refuses an action it does not know */
    assert_int_not_equal(sqlite3_exec(st.db,
                                      "INSERT INTO commands(uid, host_id, action, created,"
                                      " created_by) VALUES('c-1', 'h-a', 'format', 1, 'x')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    store_close(&st);
    srvtest_rmdir(dir);
}

static void test_vocabulary(void **state)
{
    enum cmd_action a;
    assert_int_equal(cmd_action_parse("isolate", &a), 0);
    assert_int_equal(a, CMD_ISOLATE);
    assert_int_equal(cmd_action_parse("restore", &a), 0);
    assert_int_equal(a, CMD_RESTORE);
    assert_int_equal(cmd_action_parse("reboot", &a), -1);
    assert_int_equal(cmd_action_parse(NULL, &a), -1);
    assert_string_equal(cmd_action_name(CMD_KILL), "kill");
    assert_string_equal(cmd_arg_key(CMD_KILL), "actor");
    assert_string_equal(cmd_arg_key(CMD_RESTORE), "alert");
    assert_null(cmd_arg_key(CMD_ISOLATE));

    assert_true(cmd_id_valid("c-0123456789abcdef"));
    assert_false(cmd_id_valid("c-0123456789ABCDEF"));
    assert_false(cmd_id_valid("c-0123456789abcde"));
    assert_false(cmd_id_valid("c-0123456789abcdef0"));
    assert_false(cmd_id_valid("../../etc/passwd"));
    assert_false(cmd_id_valid(NULL));

    char boot[CMD_BOOT_HEX_MAX + 1];
    long pid;
    unsigned long long start;
    assert_true(cmd_actor_parse("3f2a9c01-4242-123456", boot, &pid, &start));
    assert_string_equal(boot, "3f2a9c01");
    assert_int_equal(pid, 4242);
    assert_int_equal(start, 123456);
    assert_false(cmd_actor_parse("3f2a9c01-4242", NULL, NULL, NULL));
    assert_false(cmd_actor_parse("-4242-1", NULL, NULL, NULL));
    assert_false(cmd_actor_parse("3F2A-4242-1", NULL, NULL, NULL));
    assert_false(cmd_actor_parse("3f2a-0-1", NULL, NULL, NULL));
    assert_false(cmd_actor_parse("3f2a-99999999-1", NULL, NULL, NULL));
    assert_false(cmd_actor_parse("3f2a-12-1x", NULL, NULL, NULL));
    assert_false(cmd_actor_parse("3f2a-12-", NULL, NULL, NULL));
    assert_false(cmd_actor_parse("3f2a-+12-5", NULL, NULL, NULL));

    assert_true(cmd_alert_valid("18c3a9f-12"));
    assert_false(cmd_alert_valid(""));
    assert_false(cmd_alert_valid("a/b"));
    assert_false(cmd_alert_valid("012345678901234567890123456789012345678901234567"));
    assert_true(cmd_arg_valid(CMD_ISOLATE, NULL));
    assert_false(cmd_arg_valid(CMD_ISOLATE, "x"));
    assert_false(cmd_arg_valid(CMD_KILL, NULL));
    assert_true(cmd_arg_valid(CMD_RESTORE, "a-1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
