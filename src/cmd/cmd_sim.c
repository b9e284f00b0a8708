/* cmd_sim.c - `mamori sim`: the front door of the ransomware simulator.
 *
 * Parses the subcommand and its options (getopt_long), calls src/sim/ and
 * maps results to exit codes: 0 ok, 1 runtime failure, 2 usage error or a
 * refused (non-sandbox) directory. Result lines are JSON on stdout; reasons
 * go to stderr in plain English naming what and where. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/commands.h"
#include "core/err.h"
#include "core/json.h"
#include "sim/sim.h"

static void usage_main(FILE *out)
{
    fprintf(out,
            "usage: mamori sim SUBCOMMAND [options]\n\n"
            "Safe ransomware simulator; works only inside a sandbox directory it created.\n\n"
            "subcommands:\n"
            "  corpus      create a sandbox with a realistic office file corpus\n"
            "  ransomware  encrypt the sandbox's files like a real ransomware family\n"
            "  encrypt-one encrypt one sandbox file in place (used by shell-loop)\n"
            "  verify      compare the sandbox with its manifest\n\n"
            "Run 'mamori sim SUBCOMMAND --help' for its options; see docs/mamori-sim.md.\n");
}

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        fprintf(stderr, "mamori sim: %s needs a whole number up to %llu, not '%s'\n", opt,
                (unsigned long long)max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "mamori sim %s: %s\n", what, msg[0] ? msg : mamori_strerror(rc));
    return rc == MAMORI_EPERM || rc == MAMORI_EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

/* ---- corpus ---- */

static void usage_corpus(FILE *out)
{
    fprintf(out, "usage: mamori sim corpus --dir DIR [--files N] [--seed S] [--scale X]\n\n"
                 "Creates DIR (it must not exist, or be empty), marks it as a sandbox and fills\n"
                 "it with N office files (default 200) in nested folders: docx, xlsx, pdf, png,\n"
                 "jpg, sqlite, tar.gz, source code, logs, csv, text and disk images. The same\n"
                 "seed gives the same bytes; --scale multiplies file sizes (default 1.0).\n");
}

static int sim_corpus_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                          {"files", required_argument, 0, 'n'},
                                          {"seed", required_argument, 0, 's'},
                                          {"scale", required_argument, 0, 'x'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *dir = NULL;
    struct sim_corpus_opts o = {.files = 200, .seed = 1, .scale = 1.0};
    uint64_t v;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "d:n:s:x:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'n':
            if (parse_u64("--files", optarg, 100000, &v) || v == 0)
                return EXIT_USAGE;
            o.files = (unsigned)v;
            break;
        case 's':
            if (parse_u64("--seed", optarg, UINT64_MAX, &v))
                return EXIT_USAGE;
            o.seed = v;
            break;
        case 'x': {
            char *end;
            o.scale = strtod(optarg, &end);
            if (end == optarg || *end || !(o.scale > 0 && o.scale <= 1000)) {
                fprintf(stderr, "mamori sim corpus: --scale needs a number in (0, 1000]\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'h': usage_corpus(stdout); return EXIT_OK;
        default: usage_corpus(stderr); return EXIT_USAGE;
        }
    }
    if (!dir || optind != argc) {
        usage_corpus(stderr);
        return EXIT_USAGE;
    }
    char msg[SIM_MSG_MAX] = "";
    struct sim_corpus_stats st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sim_corpus_create(dir, &o, &st, msg, sizeof msg);
    if (rc)
        return fail("corpus", rc, msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char buf[512];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "event", "sim-corpus");
    jw_str(&w, "dir", dir);
    jw_uint(&w, "files", st.files);
    jw_uint(&w, "bytes", st.bytes);
    jw_double(&w, "seconds", secs, 3);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    return EXIT_OK;
}

/* ---- ransomware ---- */

static void usage_ransom(FILE *out)
{
    fprintf(out,
            "usage: mamori sim ransomware --dir DIR --mode MODE [--ext .locked] [--delay-ms N]\n"
            "                             [--workers N] [--max-files N] [--note]\n\n"
            "Encrypts the files of the sandbox DIR (made by 'mamori sim corpus') the way a\n"
            "real ransomware family does. Refuses any directory without the sandbox marker.\n\n"
            "modes: full intermittent16 intermittent1m percent5 header4k copy-delete\n"
            "       rename-encrypt base64 hex mmap threads fork-per-file workers shell-loop\n"
            "       slow notes-first\n");
}

static void print_done(const struct sim_ransom_opts *o, const struct sim_ransom_result *r)
{
    char buf[8192];
    struct jw w;
    jw_init(&w, buf, sizeof buf);
    jw_obj_begin(&w);
    jw_str(&w, "event", "sim-done");
    jw_str(&w, "mode", sim_mode_name(o->mode));
    jw_uint(&w, "files", r->files);
    jw_uint(&w, "failed", r->failed);
    jw_arr_begin(&w, "pids");
    for (unsigned i = 0; i < r->npids; i++)
        jw_int(&w, NULL, r->pids[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    if (jw_finish(&w) >= 0)
        printf("%s\n", buf);
    fflush(stdout);
}

static int parse_ransom(int argc, char **argv, struct sim_ransom_opts *o, const char **dir)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                          {"mode", required_argument, 0, 'm'},
                                          {"ext", required_argument, 0, 'e'},
                                          {"delay-ms", required_argument, 0, 'D'},
                                          {"workers", required_argument, 0, 'w'},
                                          {"max-files", required_argument, 0, 'M'},
                                          {"note", no_argument, 0, 'N'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    bool have_mode = false;
    uint64_t v;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "d:m:e:D:w:M:Nh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': *dir = optarg; break;
        case 'm':
            if (sim_mode_parse(optarg, &o->mode)) {
                fprintf(stderr, "mamori sim ransomware: unknown --mode '%s'\n", optarg);
                return EXIT_USAGE;
            }
            have_mode = true;
            break;
        case 'e':
            if (strlen(optarg) < 2 || strlen(optarg) >= sizeof o->ext || optarg[0] != '.' ||
                strchr(optarg, '/')) {
                fprintf(stderr, "mamori sim ransomware: --ext must look like .locked "
                                "(starts with '.', no '/', under 32 bytes)\n");
                return EXIT_USAGE;
            }
            snprintf(o->ext, sizeof o->ext, "%s", optarg);
            break;
        case 'D':
            if (parse_u64("--delay-ms", optarg, 3600000, &v))
                return EXIT_USAGE;
            o->delay_ms = (long)v;
            break;
        case 'w':
            if (parse_u64("--workers", optarg, 256, &v) || v == 0)
                return EXIT_USAGE;
            o->workers = (unsigned)v;
            break;
        case 'M':
            if (parse_u64("--max-files", optarg, 10000000, &v))
                return EXIT_USAGE;
            o->max_files = (unsigned)v;
            break;
        case 'N': o->note = true; break;
        case 'h': usage_ransom(stdout); return EXIT_OK;
        default: usage_ransom(stderr); return EXIT_USAGE;
        }
    }
    if (!*dir || !have_mode || optind != argc) {
        usage_ransom(stderr);
        return EXIT_USAGE;
    }
    return -1; /* parsed; run */
}

static int sim_ransom_cmd(int argc, char **argv)
{
    struct sim_ransom_opts o = {.delay_ms = -1, .ext = ".locked"};
    const char *dir = NULL;
    int ex = parse_ransom(argc, argv, &o, &dir);
    if (ex >= 0)
        return ex;
    char msg[SIM_MSG_MAX] = "";
    struct sim_sandbox sb;
    int rc = sim_sandbox_open(&sb, dir, msg, sizeof msg);
    if (rc)
        return fail("ransomware", rc, msg);
    struct sim_ransom_result *r = calloc(1, sizeof *r);
    if (!r) {
        sim_sandbox_close(&sb);
        return fail("ransomware", MAMORI_ENOMEM, "out of memory");
    }
    rc = sim_ransom_run(&sb, &o, r, msg, sizeof msg);
    sim_sandbox_close(&sb);
    if (rc == 0)
        print_done(&o, r);
    int failed = r->failed;
    free(r);
    if (rc)
        return fail("ransomware", rc == MAMORI_EPERM ? MAMORI_EIO : rc, msg);
    if (failed)
        fprintf(stderr, "mamori sim ransomware: %d file(s) could not be changed in %s\n", failed,
                dir);
    return failed ? EXIT_FAIL : EXIT_OK;
}

/* ---- encrypt-one ---- */

static void usage_one(FILE *out)
{
    fprintf(out, "usage: mamori sim encrypt-one --dir DIR FILE\n\n"
                 "Encrypts FILE in place (full overwrite). FILE must lie inside the sandbox DIR.\n");
}

static int sim_one_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'h': usage_one(stdout); return EXIT_OK;
        default: usage_one(stderr); return EXIT_USAGE;
        }
    }
    if (!dir || optind != argc - 1) {
        usage_one(stderr);
        return EXIT_USAGE;
    }
    char msg[SIM_MSG_MAX] = "", rel[SIM_PATH_MAX];
    struct sim_sandbox sb;
    int rc = sim_sandbox_open(&sb, dir, msg, sizeof msg);
    if (rc == 0)
        rc = sim_sandbox_relpath(&sb, argv[optind], rel, sizeof rel, msg, sizeof msg);
    if (rc == 0) {
        rc = sim_encrypt_one(&sb, rel, msg, sizeof msg);
        if (rc == MAMORI_EPERM)
            rc = MAMORI_EIO;
    }
    sim_sandbox_close(&sb);
    return rc ? fail("encrypt-one", rc == MAMORI_ENOENT ? MAMORI_EIO : rc, msg) : EXIT_OK;
}

/* ---- verify ---- */

static void usage_verify(FILE *out)
{
    fprintf(out, "usage: mamori sim verify --dir DIR\n\n"
                 "Compares the sandbox DIR with its manifest and prints one JSON line with the\n"
                 "numbers of intact, damaged, missing and extra files.\n");
}

static int sim_verify_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'h': usage_verify(stdout); return EXIT_OK;
        default: usage_verify(stderr); return EXIT_USAGE;
        }
    }
    if (!dir || optind != argc) {
        usage_verify(stderr);
        return EXIT_USAGE;
    }
    char msg[SIM_MSG_MAX] = "";
    struct sim_sandbox sb;
    int rc = sim_sandbox_open(&sb, dir, msg, sizeof msg);
    if (rc)
        return fail("verify", rc, msg);
    struct sim_verify_result *r = calloc(1, sizeof *r);
    char *buf = malloc(32768);
    rc = r && buf ? sim_verify(&sb, r, msg, sizeof msg) : MAMORI_ENOMEM;
    if (rc == 0)
        rc = sim_verify_json(r, buf, 32768);
    if (rc == 0)
        printf("%s\n", buf);
    sim_sandbox_close(&sb);
    free(r);
    free(buf);
    return rc ? fail("verify", rc == MAMORI_EINVAL ? MAMORI_EIO : rc, msg) : EXIT_OK;
}

int cmd_sim_main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        usage_main(stdout);
        return EXIT_OK;
    }
    if (!strcmp(sub, "corpus"))
        return sim_corpus_cmd(argc - 1, argv + 1);
    if (!strcmp(sub, "ransomware"))
        return sim_ransom_cmd(argc - 1, argv + 1);
    if (!strcmp(sub, "encrypt-one"))
        return sim_one_cmd(argc - 1, argv + 1);
    if (!strcmp(sub, "verify"))
        return sim_verify_cmd(argc - 1, argv + 1);
    fprintf(stderr, "mamori sim: unknown subcommand '%s' (run 'mamori sim --help')\n", sub);
    return EXIT_USAGE;
}
