/* ledger.c - one JSON file per command id, written atomically and synced,
 * and pruned by age and count (see ledger.h). Ids and outcomes in, states
 * out. */
#include "agent/ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/json.h"

int ledger_open(struct ledger *l, const char *agent_dir)
{
    l->err[0] = '\0';
    if ((size_t)snprintf(l->dir, sizeof l->dir, "%s/%s", agent_dir, LEDGER_DIR) >= sizeof l->dir) {
        snprintf(l->err, sizeof l->err, "%.300s: path too long", agent_dir);
        return MAMORI_EINVAL;
    }
    if (mkdir(l->dir, 0700) < 0 && errno != EEXIST) {
        snprintf(l->err, sizeof l->err, "%.400s: %s", l->dir, strerror(errno));
        return MAMORI_EIO;
    }
    return 0;
}

static int path_of(struct ledger *l, const char *id, const char *suffix, char *out, size_t cap)
{
    if (!cmd_id_valid(id)) {
        snprintf(l->err, sizeof l->err, "not a command id: '%.40s'", id ? id : "");
        return MAMORI_EINVAL;
    }
    snprintf(out, cap, "%s/%s.json%s", l->dir, id, suffix);
    return 0;
}

enum ledger_state ledger_lookup(struct ledger *l, const char *id, char msg[CMD_MSG_MAX],
                                char action[16])
{
    char p[PATH_MAX + 64];
    if (msg)
        msg[0] = '\0';
    if (action)
        action[0] = '\0';
    if (path_of(l, id, "", p, sizeof p) < 0)
        return LEDGER_RUNNING;
    char buf[LEDGER_FILE_MAX + 1];
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? LEDGER_NONE : LEDGER_RUNNING;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return LEDGER_RUNNING;
    buf[n] = '\0';
    struct json_object *j = json_tokener_parse(buf);
    enum ledger_state st = LEDGER_RUNNING;
    struct json_object *v;
    if (j && json_object_object_get_ex(j, "state", &v)) {
        const char *s = json_object_get_string(v);
        st = !strcmp(s, "ok") ? LEDGER_OK : !strcmp(s, "failed") ? LEDGER_FAILED : LEDGER_RUNNING;
    }
    if (j && msg && json_object_object_get_ex(j, "message", &v))
        snprintf(msg, CMD_MSG_MAX, "%s", json_object_get_string(v));
    if (j && action && json_object_object_get_ex(j, "action", &v))
        snprintf(action, 16, "%s", json_object_get_string(v));
    json_object_put(j);
    return st;
}

static int write_state(struct ledger *l, const char *id, const char *action, const char *state,
                       const char *msg)
{
    char p[PATH_MAX + 64], tmp[PATH_MAX + 64], buf[LEDGER_FILE_MAX];
    if (path_of(l, id, "", p, sizeof p) < 0 || path_of(l, id, ".tmp", tmp, sizeof tmp) < 0)
        return MAMORI_EINVAL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct jw w;
    jw_init(&w, buf, sizeof buf - 1);
    jw_obj_begin(&w);
    jw_str(&w, "id", id);
    jw_str(&w, "action", action);
    jw_str(&w, "state", state);
    jw_str(&w, "message", msg ? msg : "");
    jw_int(&w, "time_ms", (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    if (n < 0) {
        snprintf(l->err, sizeof l->err, "command %s: record longer than %d bytes", id,
                 LEDGER_FILE_MAX);
        return MAMORI_EFULL;
    }
    buf[n++] = '\n';
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) < 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, p) < 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        snprintf(l->err, sizeof l->err, "%.400s: %s", p, strerror(e));
        return MAMORI_EIO;
    }
    int dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int ledger_begin(struct ledger *l, const char *id, const char *action)
{
    return write_state(l, id, action, "running", "");
}

int ledger_finish(struct ledger *l, const char *id, const char *action, bool ok, const char *msg)
{
    return write_state(l, id, action, ok ? "ok" : "failed", msg);
}

struct rec_ent {
    char id[CMD_ID_MAX];
    int64_t mtime_ms;
};

static int by_mtime(const void *a, const void *b)
{
    const struct rec_ent *x = a, *y = b;
    return x->mtime_ms < y->mtime_ms ? -1 : x->mtime_ms > y->mtime_ms;
}

#define PRUNE_SCAN_MAX 1000000 /* records looked at in one pass */
#define TMP_STALE_MS (3600LL * 1000)

long ledger_prune(struct ledger *l, int64_t now_ms, int64_t keep_ms, size_t keep_count,
                  int64_t window_ms)
{
    DIR *d = opendir(l->dir);
    if (!d) {
        snprintf(l->err, sizeof l->err, "%.400s: %s", l->dir, strerror(errno));
        return MAMORI_EIO;
    }
    size_t n = 0, cap = 0;
    struct rec_ent *v = NULL;
    struct dirent *de;
    while ((de = readdir(d)) && n < PRUNE_SCAN_MAX) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (len == CMD_ID_LEN + 9 && !strcmp(name + CMD_ID_LEN, ".json.tmp")) {
            if (now_ms - mt > TMP_STALE_MS)
                unlinkat(dirfd(d), name, 0); /* a write that never finished */
            continue;
        }
        if (len != CMD_ID_LEN + 5 || strcmp(name + CMD_ID_LEN, ".json"))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            struct rec_ent *nv = realloc(v, nc * sizeof *nv);
            if (!nv)
                break;
            v = nv;
            cap = nc;
        }
        memcpy(v[n].id, name, CMD_ID_LEN);
        v[n].id[CMD_ID_LEN] = '\0';
        if (!cmd_id_valid(v[n].id))
            continue;
        v[n++].mtime_ms = mt;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, by_mtime);
    long removed = 0;
    size_t kept = n;
    for (size_t i = 0; i < n; i++) {
        int64_t age = now_ms - v[i].mtime_ms;
        bool old = age > keep_ms;
        bool over = kept > keep_count && age > window_ms;
        if (!old && !over)
            continue;
        enum ledger_state st = ledger_lookup(l, v[i].id, NULL, NULL);
        if (st != LEDGER_OK && st != LEDGER_FAILED)
            continue; /* running (or unreadable): kept */
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/%s.json", l->dir, v[i].id);
        if (unlink(p) == 0) {
            removed++;
            kept--;
        }
    }
    free(v);
    return removed;
}
