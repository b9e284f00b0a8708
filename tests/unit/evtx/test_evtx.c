/* test_evtx.c - the EVTX parser on real files and on damage made here.
 *
 * Real files come from the EVTX attack samples (MAMORI_EVTX_SAMPLES, else
 * ../shared/data/evtx-attack-samples from the repository root); they are read
 * in place, never copied into the repository. Without them the sample tests
 * are skipped with a message. Damage is made in memory from a sample (or a
 * temporary directory for the path API): truncation, a flipped chunk header
 * byte, a bad record size, bad binary XML, garbage, random mutations. */
#include <dirent.h>
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
#include <zlib.h>

#include "core/err.h"
#include "evtx/evtx.h"
#include "evtx/evtx_int.h"

#define MAX_ERRS 64

/* ---------------------------------------------------------- helpers -- */

struct errs {
    unsigned n;
    uint64_t lost;
    const char *reason[MAX_ERRS];
    int64_t chunk[MAX_ERRS];
    char file[256];
};

static void collect(void *ctx, const struct evtx_error *e)
{
    struct errs *x = ctx;
    if (x->n < MAX_ERRS) {
        x->reason[x->n] = e->reason;
        x->chunk[x->n] = e->chunk;
    }
    x->n++;
    x->lost += e->lost;
    snprintf(x->file, sizeof x->file, "%s", e->file);
    assert_non_null(e->reason);
}

static bool has_reason(const struct errs *x, const char *prefix)
{
    for (unsigned i = 0; i < x->n && i < MAX_ERRS; i++)
        if (!strncmp(x->reason[i], prefix, strlen(prefix)))
            return true;
    return false;
}

static const char *samples_dir(void)
{
    const char *d = getenv("MAMORI_EVTX_SAMPLES");
    if (!d)
        d = "../shared/data/evtx-attack-samples";
    struct stat sb;
    return stat(d, &sb) == 0 && S_ISDIR(sb.st_mode) ? d : NULL;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A sample by its path below the samples directory; skips the test if the
 * directory is missing. */
static uint8_t *sample(const char *rel, size_t *len, char *path, size_t cap)
{
    const char *d = samples_dir();
    if (!d) {
        print_message("evtx samples not found (set MAMORI_EVTX_SAMPLES): skipped\n");
        skip();
    }
    snprintf(path, cap, "%s/%s", d, rel);
    uint8_t *b = slurp(path, len);
    assert_non_null(b);
    return b;
}

/* What the file itself states: records of every chunk header, read here
 * independently of the parser. */
static uint64_t stated_records(const uint8_t *b, size_t len, uint64_t *next_id)
{
    uint64_t n = 0;
    *next_id = len >= 32 ? le64(b + 24) : 0;
    for (size_t off = 4096; off + 512 <= len; off += 65536)
        if (!memcmp(b + off, "ElfChnk", 8))
            n += le64(b + off + 32) - le64(b + off + 24) + 1;
    return n;
}

struct run {
    uint64_t yielded;
    struct errs errs;
    struct evtx_stats st;
};

static struct run parse_mem(const uint8_t *b, size_t len, unsigned flags, int *open_rc)
{
    struct run r = {0};
    struct evtx_reader *rd = evtx_reader_new();
    assert_non_null(rd);
    struct evtx_opts o = {.on_error = collect, .ctx = &r.errs, .flags = flags};
    int rc = evtx_open_mem(rd, b, len, "mem.evtx", &o);
    if (open_rc)
        *open_rc = rc;
    if (rc == 0) {
        const struct evtx_record *rec;
        while (evtx_next(rd, &rec) > 0)
            r.yielded++;
        evtx_close(rd);
    }
    r.st = *evtx_stats(rd);
    evtx_reader_free(rd);
    return r;
}

/* The first record of a file, into caller storage (strings copied). */
struct first {
    char json[65536];
    uint32_t event_id;
    uint64_t record_id;
    char channel[128], computer[128];
};

static void first_record(const uint8_t *b, size_t len, struct first *out,
                         void (*check)(const struct evtx_record *))
{
    struct evtx_reader *rd = evtx_reader_new();
    assert_non_null(rd);
    assert_int_equal(evtx_open_mem(rd, b, len, "first", NULL), 0);
    const struct evtx_record *rec;
    assert_int_equal(evtx_next(rd, &rec), 1);
    out->event_id = rec->event_id;
    out->record_id = rec->record_id;
    snprintf(out->channel, sizeof out->channel, "%s", rec->sys[EVTX_SYS_CHANNEL].s);
    snprintf(out->computer, sizeof out->computer, "%s", rec->sys[EVTX_SYS_COMPUTER].s);
    assert_true(evtx_record_json(rec, out->json, sizeof out->json) > 0);
    if (check)
        check(rec);
    evtx_close(rd);
    evtx_reader_free(rd);
}

static const char *field(const struct evtx_record *rec, const char *name)
{
    const struct evtx_str *s = evtx_get(rec, name, strlen(name));
    return s ? s->s : NULL;
}

static bool valid_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80             ? 0
                   : (c & 0xE0) == 0xC0 ? 1
                   : (c & 0xF0) == 0xE0 ? 2
                   : (c & 0xF8) == 0xF0 ? 3
                                        : 9;
        if (k == 9 || (k == 1 && c < 0xC2) || (k && i + k >= n))
            return false;
        for (size_t j = 1; j <= k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80)
                return false;
        i += k + 1;
    }
    return s[n] == '\0';
}

/* ------------------------------------------------------ real files -- */

struct walk {
    unsigned files;
    uint64_t records;
};

static void check_file(const char *path, struct walk *w)
{
    size_t len;
    uint8_t *b = slurp(path, &len);
    assert_non_null(b);
    uint64_t next_id, stated = stated_records(b, len, &next_id);

    struct run r = {0};
    struct evtx_reader *rd = evtx_reader_new();
    assert_non_null(rd);
    struct evtx_opts o = {.on_error = collect, .ctx = &r.errs};
    assert_int_equal(evtx_open_file(rd, path, &o), 0);
    const struct evtx_record *rec;
    while (evtx_next(rd, &rec) > 0) {
        r.yielded++;
        assert_true(rec->has_event_id);
        assert_non_null(rec->sys[EVTX_SYS_CHANNEL].s);
        for (uint32_t i = 0; i < rec->nfields; i++)
            assert_true(valid_utf8(rec->fields[i].value.s, rec->fields[i].value.len));
    }
    evtx_close(rd);
    const struct evtx_stats *st = evtx_stats(rd);
    if (r.errs.n || r.yielded + st->lost != stated || r.yielded != stated)
        print_message("%s: %llu yielded, %llu lost, %llu stated, %u errors (first: %s)\n", path,
                      (unsigned long long)r.yielded, (unsigned long long)st->lost,
                      (unsigned long long)stated, r.errs.n, r.errs.n ? r.errs.reason[0] : "-");
    assert_int_equal(r.errs.n, 0);
    assert_int_equal(r.yielded, stated); /* no record lost */
    assert_int_equal(st->stated, stated);
    assert_int_equal(next_id - 1, stated); /* the file header agrees */
    evtx_reader_free(rd);
    free(b);
    w->files++;
    w->records += r.yielded;
}

static void walk_dir(const char *dir, struct walk *w, int depth)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) < 0)
            continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(sb.st_mode) && depth < 4)
            walk_dir(p, w, depth + 1);
        else if (S_ISREG(sb.st_mode) && n > 5 && !strcmp(e->d_name + n - 5, ".evtx"))
            check_file(p, w);
    }
    closedir(d);
}

static void test_samples_no_record_lost(void **state)
{
    const char *d = samples_dir();
    if (!d) {
        print_message("evtx samples not found (set MAMORI_EVTX_SAMPLES): skipped\n");
        skip();
    }
    struct walk w = {0};
    walk_dir(d, &w, 0);
    print_message("%u files, %llu records, none lost\n", w.files, (unsigned long long)w.records);
    assert_true(w.files >= 200);
}

static void check_4624(const struct evtx_record *rec)
{
    assert_string_equal(field(rec, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
    assert_string_equal(field(rec, "Provider_Guid"), "{54849625-5478-4994-A5BA-3E3B0328C30D}");
    assert_string_equal(field(rec, "EventID"), "4624");
    assert_string_equal(field(rec, "Keywords"), "0x8020000000000000");
    assert_string_equal(field(rec, "TimeCreated_SystemTime"), "2019-02-13T15:14:52.4097344Z");
    assert_string_equal(field(rec, "EventRecordID"), "5278");
    assert_string_equal(field(rec, "Execution_ProcessID"), "480");
    assert_null(field(rec, "Security_UserID")); /* NULL optional: left out */
    assert_string_equal(field(rec, "TargetUserName"), "SYSTEM");
    assert_string_equal(field(rec, "LogonType"), "5");
    assert_string_equal(field(rec, "SubjectLogonId"), "0x3e7"); /* HexInt64 */
    assert_string_equal(field(rec, "ProcessId"), "0x1d4");      /* HexInt32 */
    assert_string_equal(field(rec, "LogonGuid"), "{00000000-0000-0000-0000-000000000000}");
    assert_string_equal(field(rec, "ProcessName"), "C:\\Windows\\System32\\services.exe");
    assert_string_equal(field(rec, "WorkstationName"), "");
    assert_null(field(rec, "NoSuchField"));
    assert_int_equal(rec->nfields, 20);
    char ts[40];
    evtx_format_filetime(rec->filetime, ts, sizeof ts);
    assert_string_equal(ts, "2019-02-13T15:15:04.1352272Z");
    evtx_format_time(rec->time_ns, ts, sizeof ts);
    assert_string_equal(ts, "2019-02-13T15:15:04.1352272Z");
}

static void test_spot_security_4624(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b = sample("Command and Control/DE_RDP_Tunneling_4624.evtx", &len, path, sizeof path);
    struct first *f = malloc(sizeof *f);
    assert_non_null(f);
    first_record(b, len, f, check_4624);
    assert_int_equal(f->event_id, 4624);
    assert_int_equal(f->record_id, 1);
    assert_string_equal(f->channel, "Security");
    assert_string_equal(f->computer, "PC02.example.corp");
    assert_non_null(strstr(f->json,
                           "{\"record_id\":1,\"timestamp\":\"2019-02-13T15:15:04.1352272Z\","
                           "\"event_id\":4624,"));
    assert_non_null(strstr(f->json, "\"fields\":{\"SubjectUserSid\":\"S-1-5-18\","));
    assert_non_null(
        strstr(f->json, "\"ProcessName\":\"C:\\\\Windows\\\\System32\\\\services.exe\""));
    free(f);
    free(b);
}

static void check_1102(const struct evtx_record *rec)
{
    assert_string_equal(field(rec, "Provider_Name"), "Microsoft-Windows-Eventlog");
    assert_string_equal(field(rec, "SubjectUserSid"),
                        "S-1-5-21-1587066498-1489273250-1035260531-1106");
    assert_string_equal(field(rec, "SubjectUserName"), "user01");
    assert_string_equal(field(rec, "SubjectLogonId"), "0x17dad");
    assert_int_equal(rec->nfields, 4); /* UserData leaves, not the wrapper */
}

static void test_spot_userdata_1102(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b =
        sample("Defense Evasion/DE_1102_security_log_cleared.evtx", &len, path, sizeof path);
    struct first *f = malloc(sizeof *f);
    assert_non_null(f);
    first_record(b, len, f, check_1102);
    assert_int_equal(f->event_id, 1102);
    assert_string_equal(f->channel, "Security");
    assert_string_equal(f->computer, "PC01.example.corp");
    free(f);
    free(b);
}

static void check_msi(const struct evtx_record *rec)
{
    /* One string array in one unnamed Data: one field per item, as Windows
     * repeats the element; the NULL Binary is left out. */
    assert_int_equal(rec->nfields, 7);
    assert_string_equal(field(rec, "Data[1]"),
                        "C:\\Program Files\\Google\\Update\\1.3.33.23\\GoogleUpdateHelper.msi");
    assert_string_equal(field(rec, "Data[2]"), "2128");
    assert_string_equal(field(rec, "Data[3]"), "(NULL)");
    assert_string_equal(field(rec, "Data[7]"), "");
    assert_null(field(rec, "Binary"));
    assert_string_equal(field(rec, "EventID_Qualifiers"), "0");
    assert_string_equal(field(rec, "Security_UserID"), "S-1-5-18");
}

static void test_spot_classic_array(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b = sample("Execution/rogue_msi_url_1040_1042.evtx", &len, path, sizeof path);
    struct first *f = malloc(sizeof *f);
    assert_non_null(f);
    first_record(b, len, f, check_msi);
    assert_int_equal(f->event_id, 1040);
    assert_string_equal(f->channel, "Application");
    assert_string_equal(f->computer, "User-PC");
    free(f);
    free(b);
}

/* ---------------------------------------------------------- damage -- */

#define BITS "Command and Control/bits_openvpn.evtx" /* 16 chunks, 1537 records */

static uint64_t chunk_records(const uint8_t *b, unsigned k)
{
    const uint8_t *c = b + 4096 + (size_t)k * 65536;
    return le64(c + 32) - le64(c + 24) + 1;
}

static void test_truncated_file(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b = sample(BITS, &len, path, sizeof path);
    uint64_t next_id, stated = stated_records(b, len, &next_id);
    size_t cut = 4096 + 3 * 65536 + 30000;
    struct run r = parse_mem(b, cut, 0, NULL);
    uint64_t first3 = chunk_records(b, 0) + chunk_records(b, 1) + chunk_records(b, 2);
    assert_true(r.yielded > first3); /* the whole records of the cut chunk too */
    assert_true(r.yielded < stated);
    assert_true(has_reason(&r.errs, "truncated chunk"));
    assert_true(has_reason(&r.errs, "records missing"));
    assert_int_equal(r.yielded + r.st.lost, next_id - 1); /* every record accounted for */

    /* Cut inside the file header, and inside a chunk header. */
    int rc;
    r = parse_mem(b, 100, 0, &rc);
    assert_true(rc < 0);
    assert_true(has_reason(&r.errs, "file too short"));
    r = parse_mem(b, 4096 + 200, 0, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(r.yielded, 0);
    assert_true(has_reason(&r.errs, "truncated chunk header"));
    assert_int_equal(r.st.lost, stated);
    free(b);
}

static void test_bad_chunk_header(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b = sample(BITS, &len, path, sizeof path);
    uint64_t next_id, stated = stated_records(b, len, &next_id);
    uint64_t c1 = chunk_records(b, 1), c15 = chunk_records(b, 15);
    b[4096 + 65536 + 30] ^= 0x5a; /* chunk 1: first record id */
    struct run r = parse_mem(b, len, 0, NULL);
    assert_true(has_reason(&r.errs, "bad chunk header checksum"));
    assert_int_equal(r.errs.chunk[0], 1);
    assert_int_equal(r.yielded, stated - c1); /* the good chunks all yield */
    assert_int_equal(r.st.lost, c1);
    assert_int_equal(r.st.bad_chunks, 1);

    /* The last chunk too: its loss is settled at the end of the file. */
    memcpy(b + 4096 + 15 * 65536, "ElfChnX", 8);
    r = parse_mem(b, len, 0, NULL);
    assert_true(has_reason(&r.errs, "bad chunk signature"));
    assert_int_equal(r.yielded, stated - c1 - c15);
    assert_int_equal(r.yielded + r.st.lost, stated);
    free(b);
}

/* Offset of the record with index k (0-based) in chunk c. */
static size_t record_at(const uint8_t *b, unsigned c, unsigned k)
{
    size_t off = 4096 + (size_t)c * 65536 + 512;
    while (k--)
        off += le32(b + off + 4);
    return off;
}

static void test_bad_record_size(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b = sample(BITS, &len, path, sizeof path);
    uint64_t next_id, stated = stated_records(b, len, &next_id);
    size_t at = record_at(b, 2, 3);
    memcpy(b + at + 4, &(uint32_t){0x12345}, 4);
    struct run r = parse_mem(b, len, 0, NULL);
    assert_true(has_reason(&r.errs, "bad event records checksum"));
    assert_true(has_reason(&r.errs, "bad record header"));
    assert_true(has_reason(&r.errs, "records missing from chunk"));
    assert_int_equal(r.yielded, stated - 1); /* the next record is found again */
    assert_int_equal(r.st.lost, 1);

    /* Strict: the chunk goes whole. */
    r = parse_mem(b, len, EVTX_STRICT, NULL);
    assert_int_equal(r.yielded, stated - chunk_records(b, 2));
    assert_int_equal(r.yielded + r.st.lost, stated);
    free(b);
}

static void test_bad_binxml(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b = sample(BITS, &len, path, sizeof path);
    uint64_t next_id, stated = stated_records(b, len, &next_id);
    /* Record 6 of chunk 4: an unknown token where its fragment starts, and
     * record 7: a template instance pointing outside the chunk. */
    size_t a = record_at(b, 4, 5), c = record_at(b, 4, 6);
    b[a + 24] = 0x3f;
    assert_int_equal(b[c + 28], 0x0c);
    memcpy(b + c + 28 + 6, &(uint32_t){0xFFFFF0}, 4);
    struct run r = parse_mem(b, len, EVTX_NO_CHECKSUMS, NULL);
    assert_int_equal(r.errs.n, 2);
    assert_string_equal(r.errs.reason[0], "unknown binary XML token");
    assert_int_equal(r.yielded, stated - 2);
    assert_int_equal(r.st.lost, 2);
    free(b);
}

static void test_garbage(void **state)
{
    uint8_t *g = malloc(300000);
    assert_non_null(g);
    uint32_t x = 12345;
    for (size_t i = 0; i < 300000; i++) {
        x = x * 1103515245u + 12345u;
        g[i] = (uint8_t)(x >> 16);
    }
    int rc;
    struct run r = parse_mem(g, 300000, 0, &rc);
    assert_int_equal(rc, MAMORI_EINVAL);
    assert_true(has_reason(&r.errs, "not an EVTX file"));
    r = parse_mem(g, 0, 0, &rc);
    assert_true(rc < 0);

    /* A file header and chunk signatures over garbage. */
    memcpy(g, "ElfFile", 8);
    for (size_t off = 4096; off + 8 <= 300000; off += 65536)
        memcpy(g + off, "ElfChnk", 8);
    r = parse_mem(g, 300000, 0, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(r.yielded, 0);
    assert_true(has_reason(&r.errs, "bad file header checksum"));
    assert_true(has_reason(&r.errs, "bad chunk header checksum"));
    r = parse_mem(g, 300000, EVTX_NO_CHECKSUMS, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(r.yielded, 0);
    free(g);
}

/* Random byte changes in a real chunk, checksums off so the decoder sees
 * them: never a crash (the ASan build checks every access), and every record
 * yielded holds valid UTF-8. */
static void test_random_mutations(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *orig = sample("Command and Control/DE_RDP_Tunnel_5156.evtx", &len, path, sizeof path);
    uint8_t *b = malloc(len);
    assert_non_null(b);
    struct evtx_reader *rd = evtx_reader_new();
    assert_non_null(rd);
    uint32_t x = 777;
    uint64_t yielded = 0, damaged = 0;
    for (int it = 0; it < 600; it++) {
        memcpy(b, orig, len);
        int nflips = 1 + it % 8;
        for (int k = 0; k < nflips; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = 4096 + (x >> 8) % (len - 4096);
            x = x * 1103515245u + 12345u;
            b[at] = (uint8_t)(x >> 16);
        }
        struct errs e = {0};
        struct evtx_opts o = {.on_error = collect, .ctx = &e, .flags = EVTX_NO_CHECKSUMS};
        if (evtx_open_mem(rd, b, len, "mut", &o) < 0)
            continue;
        const struct evtx_record *rec;
        while (evtx_next(rd, &rec) > 0) {
            yielded++;
            for (int i = 0; i < EVTX_SYS_COUNT; i++)
                if (rec->sys[i].s)
                    assert_true(valid_utf8(rec->sys[i].s, rec->sys[i].len));
            for (uint32_t i = 0; i < rec->nfields; i++) {
                assert_true(valid_utf8(rec->fields[i].name.s, rec->fields[i].name.len));
                assert_true(valid_utf8(rec->fields[i].value.s, rec->fields[i].value.len));
            }
        }
        evtx_close(rd);
        damaged += e.n > 0;
    }
    evtx_reader_free(rd);
    print_message("600 mutated files: %llu records yielded, %llu with errors reported\n",
                  (unsigned long long)yielded, (unsigned long long)damaged);
    assert_true(yielded > 0 && damaged > 0);
    free(b);
    free(orig);
}

static void test_damaged_file_on_disk(void **state)
{
    char path[4096];
    size_t len;
    uint8_t *b = sample(BITS, &len, path, sizeof path);
    char dir[] = "/tmp/mamori-evtx-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128];
    snprintf(file, sizeof file, "%s/damaged.evtx", dir);
    b[4096 + 7 * 65536 + 200] ^= 0xff; /* chunk 7 header (its checksummed part) */
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len - 1000, f), len - 1000);
    fclose(f);

    struct errs e = {0};
    struct evtx_reader *rd = evtx_reader_new();
    struct evtx_opts o = {.on_error = collect, .ctx = &e};
    assert_int_equal(evtx_open_file(rd, file, &o), 0);
    const struct evtx_record *rec;
    uint64_t n = 0;
    while (evtx_next(rd, &rec) > 0)
        n++;
    evtx_close(rd);
    assert_string_equal(e.file, file);
    assert_true(has_reason(&e, "bad chunk header checksum"));
    assert_int_equal(n, 1537 - chunk_records(b, 7));
    assert_int_equal(n + evtx_stats(rd)->lost, 1537);

    /* Missing and non-regular files. */
    e = (struct errs){0};
    assert_int_equal(evtx_open_file(rd, dir, &o), MAMORI_EINVAL);
    assert_true(has_reason(&e, "not a regular file"));
    unlink(file);
    assert_int_equal(evtx_open_file(rd, file, &o), MAMORI_EIO);
    assert_true(has_reason(&e, "cannot open"));
    rmdir(dir);
    evtx_reader_free(rd);
    free(b);
}

/* ------------------------------------------------- a file made here -- */

/* Binary XML written by hand: raw elements (no template, so no dependency
 * ids), names inline, offsets relative to the chunk. */
struct bb {
    uint8_t b[4096];
    size_t n;
    uint32_t base; /* chunk offset of b[0] */
};

static void put(struct bb *x, const void *p, size_t n)
{
    assert_true(x->n + n <= sizeof x->b);
    memcpy(x->b + x->n, p, n);
    x->n += n;
}
static void put8(struct bb *x, uint8_t v)
{
    put(x, &v, 1);
}
static void put16(struct bb *x, uint16_t v)
{
    put(x, &v, 2);
}
static void put32(struct bb *x, uint32_t v)
{
    put(x, &v, 4);
}
static void utf16(struct bb *x, const char *s)
{
    for (; *s; s++)
        put16(x, (uint8_t)*s);
}
static void name(struct bb *x, const char *s)
{
    put32(x, x->base + (uint32_t)x->n + 4); /* inline: points right after itself */
    put32(x, 0);                            /* next name in the hash chain */
    put16(x, 0);                            /* hash (not checked) */
    put16(x, (uint16_t)strlen(s));
    utf16(x, s);
    put16(x, 0);
}
static void open_el(struct bb *x, const char *s, bool attrs)
{
    put8(x, attrs ? 0x41 : 0x01);
    put32(x, 0); /* data size (not used) */
    name(x, s);
    if (attrs)
        put32(x, 0); /* attribute list size (not used) */
}
static void text(struct bb *x, const char *s)
{
    put8(x, 0x05);
    put8(x, 0x01);
    put16(x, (uint16_t)strlen(s));
    utf16(x, s);
}
static void leaf(struct bb *x, const char *el, const char *s)
{
    open_el(x, el, false);
    put8(x, 0x02);
    text(x, s);
    put8(x, 0x04);
}

static void test_raw_binxml_file(void **state)
{
    struct bb *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->base = 512 + 24;
    put(x, "\x0f\x01\x01\x00", 4);
    open_el(x, "Event", false);
    put8(x, 0x02);
    open_el(x, "System", false);
    put8(x, 0x02);
    leaf(x, "EventID", "7");
    open_el(x, "Channel", false); /* T&C<![CDATA[!]]>&#x41; */
    put8(x, 0x02);
    text(x, "T");
    put8(x, 0x09);
    name(x, "amp");
    text(x, "C");
    put8(x, 0x07);
    put16(x, 1);
    utf16(x, "!");
    put8(x, 0x08);
    put16(x, 0x41);
    put8(x, 0x04);
    put8(x, 0x04); /* </System> */
    open_el(x, "UserData", false);
    put8(x, 0x02);
    open_el(x, "Wrap", true);
    put8(x, 0x06);
    name(x, "xmlns");
    text(x, "urn:x");
    put8(x, 0x02);
    open_el(x, "Error", true);
    put8(x, 0x06);
    name(x, "Code");
    text(x, "15007");
    put8(x, 0x03); /* <Error Code="15007"/> */
    leaf(x, "Name", "abc");
    put8(x, 0x04); /* </Wrap> */
    put8(x, 0x04); /* </UserData> */
    put8(x, 0x04); /* </Event> */
    put8(x, 0x00);

    size_t len = 4096 + 65536;
    uint8_t *f = calloc(1, len);
    assert_non_null(f);
    uint8_t *c = f + 4096, *rec = c + 512;
    uint32_t size = (uint32_t)(24 + x->n + 4);
    memcpy(rec, "**\0\0", 4);
    memcpy(rec + 4, &size, 4);
    memcpy(rec + 8, &(uint64_t){1}, 8);
    memcpy(rec + 16, &(uint64_t){132000000000000000ull}, 8);
    memcpy(rec + 24, x->b, x->n);
    memcpy(rec + size - 4, &size, 4);
    memcpy(c, "ElfChnk", 8);
    for (int i = 0; i < 4; i++)
        memcpy(c + 8 + 8 * i, &(uint64_t){1}, 8); /* record numbers and ids 1..1 */
    memcpy(c + 40, &(uint32_t){128}, 4);
    memcpy(c + 44, &(uint32_t){512}, 4);
    memcpy(c + 48, &(uint32_t){512 + size}, 4);
    memcpy(c + 52, &(uint32_t){(uint32_t)crc32(0, c + 512, size)}, 4);
    uint32_t hc = (uint32_t)crc32(crc32(0, c, 120), c + 128, 384);
    memcpy(c + 124, &hc, 4);
    memcpy(f, "ElfFile", 8);
    memcpy(f + 24, &(uint64_t){2}, 8); /* next record id */
    memcpy(f + 32, &(uint32_t){128}, 4);
    memcpy(f + 36, &(uint16_t){1}, 2);
    memcpy(f + 38, &(uint16_t){3}, 2);
    memcpy(f + 40, &(uint16_t){4096}, 2);
    memcpy(f + 42, &(uint16_t){1}, 2);
    memcpy(f + 124, &(uint32_t){(uint32_t)crc32(0, f, 120)}, 4);

    struct errs e = {0};
    struct evtx_reader *rd = evtx_reader_new();
    struct evtx_opts o = {.on_error = collect, .ctx = &e};
    assert_int_equal(evtx_open_mem(rd, f, len, "made", &o), 0);
    const struct evtx_record *r;
    assert_int_equal(evtx_next(rd, &r), 1);
    assert_int_equal(r->record_id, 1);
    assert_true(r->has_event_id);
    assert_int_equal(r->event_id, 7);
    assert_string_equal(field(r, "Channel"), "T&C!A");
    assert_int_equal(r->nfields, 3);
    assert_string_equal(r->fields[0].name.s, "Error_Code");
    assert_string_equal(r->fields[0].value.s, "15007");
    assert_string_equal(r->fields[1].name.s, "Error");
    assert_string_equal(r->fields[1].value.s, "");
    assert_string_equal(r->fields[2].name.s, "Name");
    assert_string_equal(r->fields[2].value.s, "abc");
    assert_int_equal(evtx_next(rd, &r), 0);
    evtx_close(rd);
    assert_int_equal(e.n, 0);
    assert_int_equal(evtx_stats(rd)->records, 1);
    evtx_reader_free(rd);
    free(f);
    free(x);
}

/* ---------------------------------------------------------- values -- */

static const char *fmt(struct evtx_buf *t, uint8_t type, const void *p, size_t n)
{
    t->len = 0;
    t->full = false;
    val_format(t, type, p, n);
    buf_put(t, "", 1);
    return t->p;
}

static void test_value_types(void **state)
{
    char mem[512];
    struct evtx_buf t = {.p = mem, .cap = sizeof mem};
    assert_string_equal(fmt(&t, 0x00, "x", 1), "");
    assert_string_equal(fmt(&t, 0x01, "a\0b\0\0\0z\0", 8), "ab"); /* stops at NUL */
    assert_string_equal(fmt(&t, 0x01, "\x3d\xd8\x00\xde", 4), "\xf0\x9f\x98\x80"); /* pair */
    assert_string_equal(fmt(&t, 0x01, "\x00\xd8x\0", 4), "\xef\xbf\xbdx");         /* lone */
    assert_string_equal(fmt(&t, 0x01, "\xe9\x00\xac\x20", 4), "\xc3\xa9\xe2\x82\xac");
    assert_string_equal(fmt(&t, 0x02, "ab\xe9\0zz", 6), "ab\xc3\xa9");
    assert_string_equal(fmt(&t, 0x03, "\xfb", 1), "-5");
    assert_string_equal(fmt(&t, 0x04, "\xfb", 1), "251");
    assert_string_equal(fmt(&t, 0x05, "\x00\x80", 2), "-32768");
    assert_string_equal(fmt(&t, 0x06, "\xff\xff", 2), "65535");
    assert_string_equal(fmt(&t, 0x07, "\xff\xff\xff\xff", 4), "-1");
    assert_string_equal(fmt(&t, 0x08, "\xff\xff\xff\xff", 4), "4294967295");
    assert_string_equal(fmt(&t, 0x09, "\0\0\0\0\0\0\0\x80", 8), "-9223372036854775808");
    assert_string_equal(fmt(&t, 0x0a, "\xff\xff\xff\xff\xff\xff\xff\xff", 8),
                        "18446744073709551615");
    float f = 1.5f;
    double d = 0.1;
    assert_string_equal(fmt(&t, 0x0b, &f, 4), "1.5");
    assert_string_equal(fmt(&t, 0x0c, &d, 8), "0.1");
    assert_string_equal(fmt(&t, 0x0d, "\1\0\0\0", 4), "true");
    assert_string_equal(fmt(&t, 0x0d, "\0\0\0\0", 4), "false");
    assert_string_equal(fmt(&t, 0x0d, "\0\1", 2), "true");
    assert_string_equal(fmt(&t, 0x0e, "\xde\xad\xbe\xef", 4), "DEADBEEF");
    assert_string_equal(
        fmt(&t, 0x0f, "\x25\x96\x84\x54\x78\x54\x94\x49\xa5\xba\x3e\x3b\x03\x28\xc3\x0d", 16),
        "{54849625-5478-4994-A5BA-3E3B0328C30D}");
    assert_string_equal(fmt(&t, 0x10, "\xd4\x01\0\0", 4), "0x1d4");
    assert_string_equal(fmt(&t, 0x10, "\xd4\x01\0\0\0\0\0\1", 8), "0x1000000000001d4");
    uint64_t ft = 132000000000000000ull + 1234567;
    assert_string_equal(fmt(&t, 0x11, &ft, 8), "2019-04-17T18:40:00.1234567Z");
    assert_string_equal(fmt(&t, 0x11, "\0\0\0\0\0\0\0\0", 8), "1601-01-01T00:00:00.0000000Z");
    uint16_t st[8] = {2020, 2, 3, 29, 23, 59, 58, 7};
    assert_string_equal(fmt(&t, 0x12, st, 16), "2020-02-29T23:59:58.007Z");
    assert_string_equal(fmt(&t, 0x13, "\1\1\0\0\0\0\0\5\x12\0\0\0", 12), "S-1-5-18");
    assert_string_equal(fmt(&t, 0x13, "\1\5\0\0\0\0\0\5", 8), "0105000000000005"); /* short */
    assert_string_equal(fmt(&t, 0x14, "\x10\0\0\0", 4), "0x10");
    assert_string_equal(fmt(&t, 0x15, "\0\0\0\0\0\0\x20\x80", 8), "0x8020000000000000");
    assert_string_equal(fmt(&t, 0x15, "\0\0\0\0\0\0\0\0", 8), "0x0");
    assert_string_equal(fmt(&t, 0x08, "\1\2\3", 3), "010203"); /* wrong size: hex */
    /* Arrays. */
    assert_string_equal(fmt(&t, 0x81, "a\0\0\0\0\0b\0c\0\0\0", 12), "a,,bc");
    assert_string_equal(fmt(&t, 0x82, "ab\0c\0", 5), "ab,c");
    assert_string_equal(fmt(&t, 0x86, "\1\0\2\0\3\0", 6), "1,2,3");
    assert_string_equal(fmt(&t, 0x94, "\1\0\0\0\xff\0\0\0", 8), "0x1,0xff");
    assert_string_equal(fmt(&t, 0x93, "\1\1\0\0\0\0\0\5\x12\0\0\0\1\0\0\0\0\0\0\1", 20),
                        "S-1-5-18,S-1-1");
    assert_string_equal(fmt(&t, 0x86, "\1\0\2", 3), "1,02"); /* a ragged end: hex */
    /* Bounded: the arena refuses what does not fit, and says so. */
    char small[4];
    struct evtx_buf s = {.p = small, .cap = sizeof small};
    val_format(&s, 0x0a, (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    assert_true(s.full);
    assert_true(s.len <= sizeof small);
}

static void test_json_bound(void **state)
{
    struct evtx_record rec = {.record_id = 7, .filetime = 0, .has_event_id = false};
    char small[16], big[1024];
    assert_int_equal(evtx_record_json(&rec, small, sizeof small), MAMORI_EFULL);
    long n = evtx_record_json(&rec, big, sizeof big);
    assert_true(n > 0);
    assert_string_equal(big, "{\"record_id\":7,\"timestamp\":\"1601-01-01T00:00:00.0000000Z\","
                             "\"event_id\":null,\"provider\":null,\"channel\":null,"
                             "\"computer\":null,\"system\":{},\"fields\":{}}");
    assert_string_equal(evtx_sys_name(EVTX_SYS_USER_ID), "Security_UserID");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_no_record_lost),
        cmocka_unit_test(test_spot_security_4624),
        cmocka_unit_test(test_spot_userdata_1102),
        cmocka_unit_test(test_spot_classic_array),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_bad_chunk_header),
        cmocka_unit_test(test_bad_record_size),
        cmocka_unit_test(test_bad_binxml),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_damaged_file_on_disk),
        cmocka_unit_test(test_raw_binxml_file),
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_json_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
