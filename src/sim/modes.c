/* modes.c - the drivers of `sim ransomware`: how files are visited and by
 * whom (one process, a thread pool, a child per file, cooperating worker
 * processes, or a shell loop that starts one encryptor process per file).
 *
 * Input: an opened sandbox and struct sim_ransom_opts. The driver walks the
 * sandbox like real ransomware (files of a directory, then its
 * subdirectories; marker, manifest, notes and already-renamed files are
 * skipped) and hands each file to sim_transform_file (encrypt.c).
 * Output: struct sim_ransom_result (files done, failures, pids involved).
 *
 * No handlers for SIGTERM/SIGSTOP are installed: when the guard stops or
 * kills a process, the simulator simply stops or dies, as real malware
 * would. All run state lives in struct run (no globals). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "sim/sim_internal.h"

#define THREADS_MAX 256
#define WORKERS_MAX 256

struct mode_info {
    const char *name;
    enum sim_mode file_mode; /* transform applied to each file */
    long delay_ms;           /* default delay between files */
    unsigned workers;        /* default workers (threads / processes) */
};

static const struct mode_info mode_table[SIM_MODE_COUNT_] = {
    [SIM_MODE_FULL] = {"full", SIM_MODE_FULL, 0, 0},
    [SIM_MODE_INTERMITTENT16] = {"intermittent16", SIM_MODE_INTERMITTENT16, 0, 0},
    [SIM_MODE_INTERMITTENT1M] = {"intermittent1m", SIM_MODE_INTERMITTENT1M, 0, 0},
    [SIM_MODE_PERCENT5] = {"percent5", SIM_MODE_PERCENT5, 0, 0},
    [SIM_MODE_HEADER4K] = {"header4k", SIM_MODE_HEADER4K, 0, 0},
    [SIM_MODE_COPY_DELETE] = {"copy-delete", SIM_MODE_COPY_DELETE, 0, 0},
    [SIM_MODE_RENAME_ENCRYPT] = {"rename-encrypt", SIM_MODE_RENAME_ENCRYPT, 0, 0},
    [SIM_MODE_BASE64] = {"base64", SIM_MODE_BASE64, 0, 0},
    [SIM_MODE_HEX] = {"hex", SIM_MODE_HEX, 0, 0},
    [SIM_MODE_MMAP] = {"mmap", SIM_MODE_MMAP, 0, 0},
    [SIM_MODE_THREADS] = {"threads", SIM_MODE_FULL, 0, 8},
    [SIM_MODE_FORK_PER_FILE] = {"fork-per-file", SIM_MODE_FULL, 0, 0},
    [SIM_MODE_WORKERS] = {"workers", SIM_MODE_FULL, 0, 24},
    [SIM_MODE_SHELL_LOOP] = {"shell-loop", SIM_MODE_FULL, 0, 0},
    [SIM_MODE_SLOW] = {"slow", SIM_MODE_FULL, 3000, 0},
    [SIM_MODE_NOTES_FIRST] = {"notes-first", SIM_MODE_FULL, 0, 0},
};

const char *sim_mode_name(enum sim_mode m)
{
    return (unsigned)m < SIM_MODE_COUNT_ ? mode_table[m].name : "?";
}

int sim_mode_parse(const char *s, enum sim_mode *out)
{
    for (unsigned i = 0; i < SIM_MODE_COUNT_; i++)
        if (!strcmp(s, mode_table[i].name)) {
            *out = (enum sim_mode)i;
            return 0;
        }
    return MAMORI_EINVAL;
}

struct run {
    const struct sim_sandbox *sb;
    const struct sim_ransom_opts *o;
    const struct mode_info *mi;
    struct sim_key key;
    struct sim_filelist files;
    long delay_ms;
    unsigned workers;
    struct sim_ransom_result *r;
    /* thread pool */
    pthread_mutex_t mu;
    size_t next;
};

static void add_pid(struct sim_ransom_result *r, pid_t pid)
{
    if (r->npids < SIM_PIDS_MAX)
        r->pids[r->npids++] = pid;
}

static int one_file(struct run *run, size_t i)
{
    return sim_transform_file(run->sb->dirfd, run->files.paths[i], run->mi->file_mode,
                              run->o->ext, &run->key);
}

static void count(struct sim_ransom_result *r, int rc)
{
    if (rc)
        r->failed++;
    else
        r->files++;
}

/* Directory part of rel into dir ("" for the root). */
static void dir_of(const char *rel, char *dir, size_t dirsz)
{
    const char *s = strrchr(rel, '/');
    size_t n = s ? (size_t)(s - rel) : 0;
    if (n >= dirsz)
        n = dirsz - 1;
    memcpy(dir, rel, n);
    dir[n] = '\0';
}

static int drop_all_notes(const struct sim_sandbox *sb)
{
    struct sim_filelist dirs = {0};
    int rc = sim_walk_dirs(sb->dirfd, &dirs);
    for (size_t i = 0; rc == 0 && i < dirs.n; i++)
        rc = sim_drop_note(sb->dirfd, dirs.paths[i]);
    sim_filelist_free(&dirs);
    return rc;
}

/* ---- one process, files in walk order ---- */

static int drive_sequential(struct run *run)
{
    char cur[SIM_PATH_MAX] = "", d[SIM_PATH_MAX];
    for (size_t i = 0; i < run->files.n; i++) {
        dir_of(run->files.paths[i], d, sizeof d);
        if (run->o->note && i > 0 && strcmp(d, cur))
            sim_drop_note(run->sb->dirfd, cur); /* finished that directory */
        memcpy(cur, d, sizeof cur);
        if (i > 0)
            sim_sleep_ms(run->delay_ms);
        count(run->r, one_file(run, i));
    }
    if (run->o->note && run->files.n)
        sim_drop_note(run->sb->dirfd, cur);
    return 0;
}

/* ---- thread pool taking files from a shared queue ---- */

static void *pool_worker(void *arg)
{
    struct run *run = arg;
    for (bool first = true;; first = false) {
        pthread_mutex_lock(&run->mu);
        size_t i = run->next < run->files.n ? run->next++ : SIZE_MAX;
        pthread_mutex_unlock(&run->mu);
        if (i == SIZE_MAX)
            break;
        if (!first)
            sim_sleep_ms(run->delay_ms);
        int rc = one_file(run, i);
        pthread_mutex_lock(&run->mu);
        count(run->r, rc);
        pthread_mutex_unlock(&run->mu);
    }
    return NULL;
}

static int drive_threads(struct run *run)
{
    pthread_t tids[THREADS_MAX];
    unsigned n = 0;
    if (pthread_mutex_init(&run->mu, NULL))
        return MAMORI_EIO;
    for (; n < run->workers; n++)
        if (pthread_create(&tids[n], NULL, pool_worker, run))
            break;
    if (n == 0)
        pool_worker(run); /* could not start any thread: do the work here */
    for (unsigned i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&run->mu);
    return 0;
}

/* ---- processes ---- */

static int wait_child(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static int drive_fork_per_file(struct run *run)
{
    fflush(NULL);
    for (size_t i = 0; i < run->files.n; i++) {
        if (i > 0)
            sim_sleep_ms(run->delay_ms);
        pid_t pid = fork();
        if (pid < 0)
            return MAMORI_EIO;
        if (pid == 0)
            _exit(one_file(run, i) ? 1 : 0);
        add_pid(run->r, pid);
        count(run->r, wait_child(pid) ? MAMORI_EIO : 0);
    }
    return 0;
}

/* Worker k of n handles files k, k+n, k+2n, ...; exits with its failure count. */
static void worker_main(struct run *run, unsigned k)
{
    unsigned failed = 0;
    for (size_t i = k, done = 0; i < run->files.n; i += run->workers, done++) {
        if (done)
            sim_sleep_ms(run->delay_ms);
        if (one_file(run, i))
            failed++;
    }
    _exit(failed > 254 ? 254 : (int)failed);
}

static int drive_workers(struct run *run)
{
    pid_t pids[WORKERS_MAX];
    unsigned n = 0;
    fflush(NULL);
    for (; n < run->workers; n++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0)
            worker_main(run, n);
        pids[n] = pid;
        add_pid(run->r, pid);
    }
    unsigned failed = 0;
    for (unsigned i = 0; i < n; i++) {
        int st = wait_child(pids[i]);
        failed += st < 0 ? 0 : (unsigned)st;
    }
    size_t handled = 0; /* files whose worker started */
    for (size_t i = 0; i < run->files.n; i++)
        if (i % run->workers < n)
            handled++;
    run->r->failed = failed + (unsigned)(run->files.n - handled);
    run->r->files = (unsigned)(handled > failed ? handled - failed : 0);
    return n == run->workers ? 0 : MAMORI_EIO;
}

/* ---- shell loop: /bin/sh runs one `mamori sim encrypt-one` per file ---- */

/* The file list arrives on the loop's standard input (an unlinked temp
 * file), so nothing is left behind in /tmp when the run is killed. */
static const char SHELL_LOOP[] =
    "rc=0; while IFS= read -r f; do "
    "\"$1\" sim encrypt-one --dir \"$2\" -- \"$f\" </dev/null || rc=1; "
    "[ \"$4\" = 0 ] || sleep \"$4\"; "
    "done; exit $rc";

/* Writes the list into an unlinked temp file; returns its fd (at offset 0)
 * or a negative code. */
static int write_list(struct run *run)
{
    char tmpl[] = "/tmp/mamori-sim-list.XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return MAMORI_EIO;
    unlink(tmpl);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < run->files.n; i++) {
        char line[SIM_PATH_MAX * 2];
        int n = snprintf(line, sizeof line, "%s/%s\n", run->sb->root, run->files.paths[i]);
        rc = n < 0 || (size_t)n >= sizeof line ? MAMORI_ERANGE
                                                : sim_write_all(fd, line, (size_t)n);
    }
    if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0)
        rc = MAMORI_EIO;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

static int drive_shell_loop(struct run *run)
{
    char self[SIM_PATH_MAX];
    if (run->o->self_exe) {
        snprintf(self, sizeof self, "%s", run->o->self_exe);
    } else {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
            return MAMORI_EIO;
        self[n] = '\0';
    }
    int listfd = write_list(run);
    int rc = listfd < 0 ? listfd : 0;
    char delay[32];
    snprintf(delay, sizeof delay, "%ld.%03ld", run->delay_ms / 1000, run->delay_ms % 1000);
    if (run->delay_ms <= 0)
        snprintf(delay, sizeof delay, "0");
    pid_t pid = rc ? -1 : fork();
    if (rc == 0 && pid < 0)
        rc = MAMORI_EIO;
    if (pid == 0) {
        if (dup2(listfd, STDIN_FILENO) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", SHELL_LOOP, "mamori-sim-loop", self, run->sb->root, "-",
              delay, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) {
        add_pid(run->r, pid);
        int st = wait_child(pid);
        if (st == 127 || st < 0)
            rc = MAMORI_EIO;
        /* the loop does not report per file; count what is left undone */
        run->r->files = (unsigned)run->files.n;
        if (st != 0)
            run->r->failed = 1;
    }
    if (listfd >= 0)
        close(listfd);
    return rc;
}

static int walk_files(struct run *run)
{
    struct sim_walk_opts wo = {
        .skip_notes = true,
        .skip_ext = run->o->ext[0] ? run->o->ext : NULL,
        .skip_newline = true,
        .max = run->o->max_files,
    };
    return sim_walk(run->sb->dirfd, &wo, &run->files);
}

static int drive(struct run *run)
{
    switch (run->o->mode) {
    case SIM_MODE_THREADS: return drive_threads(run);
    case SIM_MODE_FORK_PER_FILE: return drive_fork_per_file(run);
    case SIM_MODE_WORKERS: return drive_workers(run);
    case SIM_MODE_SHELL_LOOP: return drive_shell_loop(run);
    default: return drive_sequential(run);
    }
}

int sim_ransom_run(const struct sim_sandbox *sb, const struct sim_ransom_opts *o,
                   struct sim_ransom_result *r, char *msg, size_t msgsz)
{
    memset(r, 0, sizeof *r);
    if ((unsigned)o->mode >= SIM_MODE_COUNT_) {
        sim_msg(msg, msgsz, "unknown mode");
        return MAMORI_EINVAL;
    }
    struct run run = {.sb = sb, .o = o, .mi = &mode_table[o->mode], .r = r};
    run.delay_ms = o->delay_ms >= 0 ? o->delay_ms : run.mi->delay_ms;
    run.workers = o->workers ? o->workers : run.mi->workers;
    if (run.workers > WORKERS_MAX)
        run.workers = WORKERS_MAX;
    if (!run.workers)
        run.workers = 1;
    add_pid(r, getpid());
    int rc = sim_key_new(&run.key);
    if (rc == 0)
        rc = walk_files(&run);
    if (rc) {
        sim_msg(msg, msgsz, "cannot list files in %s: %s", sb->root, mamori_strerror(rc));
        sim_filelist_free(&run.files);
        return rc;
    }
    if (o->mode == SIM_MODE_NOTES_FIRST)
        rc = drop_all_notes(sb);
    if (rc == 0)
        rc = drive(&run);
    bool parallel = o->mode == SIM_MODE_THREADS || o->mode == SIM_MODE_WORKERS ||
                    o->mode == SIM_MODE_SHELL_LOOP || o->mode == SIM_MODE_FORK_PER_FILE;
    if (rc == 0 && o->note && parallel)
        rc = drop_all_notes(sb);
    if (rc)
        sim_msg(msg, msgsz, "mode %s failed in %s: %s", run.mi->name, sb->root,
                mamori_strerror(rc));
    memset(&run.key, 0, sizeof run.key);
    sim_filelist_free(&run.files);
    return rc;
}

int sim_encrypt_one(const struct sim_sandbox *sb, const char *rel, char *msg, size_t msgsz)
{
    struct sim_key k;
    int rc = sim_key_new(&k);
    if (rc == 0)
        rc = sim_transform_file(sb->dirfd, rel, SIM_MODE_FULL, "", &k);
    if (rc)
        sim_msg(msg, msgsz, "cannot encrypt %s/%s: %s", sb->root, rel, mamori_strerror(rc));
    memset(&k, 0, sizeof k);
    return rc;
}
