/* test_pkgverify.c - pkg_verify against dpkg's real records and against an
 * info directory the test writes: the packaged binary is verified; a copy
 * elsewhere, a file no package owns and a file whose bytes differ from the
 * record are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pkgverify.h"

static void test_real_dpkg(void **state)
{
    if (access("/var/lib/dpkg/info/dpkg.md5sums", R_OK) != 0)
        skip();
    assert_true(pkg_verify("/usr/bin/dpkg", PKG_INFO_DIR));
    assert_false(pkg_verify("/usr/bin/no-such-program-mamori", PKG_INFO_DIR));
    assert_false(pkg_verify("relative/path", PKG_INFO_DIR));
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_own_records(void **state)
{
    char dir[] = "/tmp/mamori-pkg.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char info[128], bin[128], rec[512], other[128];
    snprintf(info, sizeof info, "%s/info", dir);
    assert_int_equal(mkdir(info, 0700), 0);
    snprintf(bin, sizeof bin, "%s/tool", dir);
    put(bin, "hello\n"); /* md5 b1946ac92492d2347c6235b4d2611184 */
    snprintf(other, sizeof other, "%s/info/other.md5sums", dir);
    /* recorded under another package's name: found by the full scan */
    snprintf(rec, sizeof rec, "b1946ac92492d2347c6235b4d2611184  %s\n", bin + 1);
    put(other, rec);
    assert_true(pkg_verify(bin, info));
    put(bin, "hello, changed\n");
    assert_false(pkg_verify(bin, info)); /* bytes differ from the record */
    unlink(other);
    assert_false(pkg_verify(bin, info)); /* no package owns it */
    unlink(bin);
    rmdir(info);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_dpkg),
        cmocka_unit_test(test_own_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
