/* pkgverify.h - is this executable the one its Debian package installed?
 *
 * pkg_verify() finds the file among the checksums dpkg recorded when it
 * installed its package (/var/lib/dpkg/info/PKG.md5sums, "MD5  path" lines,
 * paths without the leading slash) and compares the file's MD5 with the
 * record. A file no package owns, or whose bytes differ from what was
 * installed (replaced, patched), is not verified. Used to decide which
 * programs need no pre-images (src/guard/guard_vault.c); the checksum is
 * dpkg's own integrity record, not a signature: it tells "the packaged
 * binary" from "something else at that path". */
#ifndef MAMORI_CORE_PKGVERIFY_H
#define MAMORI_CORE_PKGVERIFY_H

#include <stdbool.h>

#define PKG_INFO_DIR "/var/lib/dpkg/info"

/* path must be absolute and canonical (as /proc/PID/exe gives it). info_dir
 * is PKG_INFO_DIR except in tests. */
bool pkg_verify(const char *path, const char *info_dir);

#endif
