/* pkgverify.c - an executable against dpkg's checksum record (see pkgverify.h).
 *
 * Data enters as a path and dpkg's *.md5sums files; leaves as yes or no.
 * Bounded: lines of at most LINE_MAX_LEN bytes, the file hashed in 64 KiB
 * reads. The package named after the file's basename is tried first (dpkg
 * owns usr/bin/dpkg), then every md5sums file. */
#include "core/pkgverify.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 4352 /* 32 hex + 2 spaces + PATH_MAX */

/* The recorded MD5 (hex) of rel in one md5sums file. */
static bool record_in(const char *file, const char *rel, char md5[33])
{
    FILE *f = fopen(file, "re");
    if (!f)
        return false;
    char line[LINE_MAX_LEN];
    bool found = false;
    size_t rl = strlen(rel);
    while (!found && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\n");
        line[n] = '\0';
        if (n == 34 + rl && line[32] == ' ' && line[33] == ' ' && !strcmp(line + 34, rel)) {
            memcpy(md5, line, 32);
            md5[32] = '\0';
            found = true;
        }
    }
    fclose(f);
    return found;
}

static bool find_record(const char *path, const char *info_dir, char md5[33])
{
    const char *rel = path + 1;
    const char *base = strrchr(path, '/') + 1;
    char file[4096];
    snprintf(file, sizeof file, "%s/%s.md5sums", info_dir, base);
    if (record_in(file, rel, md5))
        return true;
    DIR *d = opendir(info_dir);
    if (!d)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 9 || strcmp(e->d_name + l - 8, ".md5sums"))
            continue;
        snprintf(file, sizeof file, "%s/%s", info_dir, e->d_name);
        found = record_in(file, rel, md5);
    }
    closedir(d);
    return found;
}

static bool file_md5(const char *path, char out[33])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1;
    unsigned char buf[64 * 1024];
    ssize_t n = 0;
    while (ok && (n = read(fd, buf, sizeof buf)) > 0)
        ok = EVP_DigestUpdate(c, buf, (size_t)n) == 1;
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    ok = ok && n == 0 && EVP_DigestFinal_ex(c, dig, &len) == 1 && len == 16;
    for (unsigned i = 0; ok && i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", dig[i]);
    EVP_MD_CTX_free(c);
    close(fd);
    return ok;
}

bool pkg_verify(const char *path, const char *info_dir)
{
    char want[33], got[33];
    return path[0] == '/' && strrchr(path, '/')[1] != '\0' &&
           find_record(path, info_dir, want) && file_md5(path, got) && !strcmp(want, got);
}
