/* gen_container.c - corpus generators for container formats written with
 * real libraries: OOXML documents (docx, xlsx: zip archives with
 * [Content_Types].xml, relationships and document XML, via libarchive's zip
 * writer), SQLite databases (libsqlite3, several tables with rows) and
 * tar.gz archives (libarchive, pax + gzip).
 *
 * Input: a struct sim_gen. Output: one new file. Entry times are fixed and
 * the gzip timestamp is disabled so a seed always yields the same bytes. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sqlite3.h>

#include "core/err.h"
#include "sim/sim_internal.h"

#define GEN_XML_MAX (64u << 20)
#define FIXED_MTIME 1704067200 /* 2024-01-01, keeps archives deterministic */

/* ---- archive helpers ---- */

static struct archive *archive_open_new(const char *path, bool zip, int *fd_out)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return NULL;
    struct archive *a = archive_write_new();
    int ok = a != NULL;
    if (ok && zip) {
        ok = archive_write_set_format_zip(a) == ARCHIVE_OK &&
             archive_write_zip_set_compression_deflate(a) == ARCHIVE_OK &&
             archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK;
    } else if (ok) {
        ok = archive_write_set_format_pax_restricted(a) == ARCHIVE_OK &&
             archive_write_add_filter_gzip(a) == ARCHIVE_OK &&
             archive_write_set_options(a, "gzip:!timestamp") >= ARCHIVE_WARN;
    }
    if (ok)
        ok = archive_write_open_fd(a, fd) == ARCHIVE_OK;
    if (!ok) {
        if (a)
            archive_write_free(a);
        close(fd);
        return NULL;
    }
    *fd_out = fd;
    return a;
}

static int archive_add(struct archive *a, const char *name, const void *data, size_t n)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return MAMORI_ENOMEM;
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)n);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, FIXED_MTIME, 0);
    archive_entry_set_uname(e, "office");
    archive_entry_set_gname(e, "office");
    int rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : MAMORI_EIO;
    if (rc == 0 && n && archive_write_data(a, data, n) != (la_ssize_t)n)
        rc = MAMORI_EIO;
    archive_entry_free(e);
    return rc;
}

static int archive_finish(struct archive *a, int fd, int rc)
{
    if (archive_write_close(a) != ARCHIVE_OK)
        rc = rc ? rc : MAMORI_EIO;
    archive_write_free(a);
    if (close(fd) < 0)
        rc = rc ? rc : MAMORI_EIO;
    return rc;
}

static int add_buf(struct archive *a, const char *name, const struct sim_buf *b)
{
    return b->overflow ? MAMORI_ENOMEM : archive_add(a, name, b->p, b->len);
}

static int add_str(struct archive *a, const char *name, const char *s)
{
    return archive_add(a, name, s, strlen(s));
}

/* ---- OOXML ---- */

static const char RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" "
    "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
    "Target=\"%s\"/></Relationships>";

static const char CORE[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/"
    "metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
    "<dc:creator>Finance Team</dc:creator><dc:title>Quarterly report</dc:title>"
    "</cp:coreProperties>";

static int ooxml_common(struct archive *a, const char *ctypes, const char *main_part)
{
    char rels[sizeof RELS + 64];
    snprintf(rels, sizeof rels, RELS, main_part);
    int rc = add_str(a, "[Content_Types].xml", ctypes);
    if (rc == 0)
        rc = add_str(a, "_rels/.rels", rels);
    if (rc == 0)
        rc = add_str(a, "docProps/core.xml", CORE);
    return rc;
}

int sim_gen_docx(const struct sim_gen *g)
{
    static const char ctypes[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
        "<Default Extension=\"rels\" "
        "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
        "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
        "<Override PartName=\"/word/document.xml\" ContentType=\"application/"
        "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>"
        "<Override PartName=\"/docProps/core.xml\" "
        "ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/></Types>";
    struct sim_buf doc;
    sim_buf_init(&doc, GEN_XML_MAX);
    sim_buf_puts(&doc, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                       "<w:document xmlns:w=\"http://schemas.openxmlformats.org/"
                       "wordprocessingml/2006/main\"><w:body>");
    while (!doc.overflow && doc.len < g->size * 3) {
        sim_buf_puts(&doc, "<w:p><w:r><w:t>");
        struct sim_buf para;
        sim_buf_init(&para, 4096);
        sim_text_words(g->rng, &para, sim_rng_range(g->rng, 80, 600));
        for (size_t i = 0; i < para.len; i++)
            if (para.p[i] != '\n')
                sim_buf_put(&doc, &para.p[i], 1);
        sim_buf_free(&para);
        sim_buf_puts(&doc, "</w:t></w:r></w:p>");
    }
    sim_buf_puts(&doc, "</w:body></w:document>");
    int fd, rc = MAMORI_EIO;
    struct archive *a = archive_open_new(g->path, true, &fd);
    if (a) {
        rc = ooxml_common(a, ctypes, "word/document.xml");
        if (rc == 0)
            rc = add_buf(a, "word/document.xml", &doc);
        rc = archive_finish(a, fd, rc);
    }
    sim_buf_free(&doc);
    return rc;
}

static void xlsx_sheet(struct sim_rng *r, struct sim_buf *s, size_t size)
{
    sim_buf_puts(s, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                    "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/"
                    "2006/main\"><sheetData>");
    for (unsigned row = 1; !s->overflow && s->len < size; row++) {
        sim_buf_printf(s, "<row r=\"%u\"><c r=\"A%u\" t=\"inlineStr\"><is><t>SKU-%05u</t></is>"
                          "</c>", row, row, (unsigned)sim_rng_range(r, 0, 99999));
        for (char col = 'B'; col <= 'F'; col++)
            sim_buf_printf(s, "<c r=\"%c%u\"><v>%u.%02u</v></c>", col, row,
                           (unsigned)sim_rng_range(r, 0, 999999), (unsigned)sim_rng_range(r, 0, 99));
        sim_buf_puts(s, "</row>");
    }
    sim_buf_puts(s, "</sheetData></worksheet>");
}

int sim_gen_xlsx(const struct sim_gen *g)
{
    static const char ctypes[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
        "<Default Extension=\"rels\" "
        "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
        "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
        "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/"
        "vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
        "<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/"
        "vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>";
    static const char workbook[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
        "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
        "<sheets><sheet name=\"Ledger\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
    static const char wbrels[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/"
        "2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>";
    struct sim_buf sheet;
    sim_buf_init(&sheet, GEN_XML_MAX);
    xlsx_sheet(g->rng, &sheet, g->size * 3);
    int fd, rc = MAMORI_EIO;
    struct archive *a = archive_open_new(g->path, true, &fd);
    if (a) {
        rc = ooxml_common(a, ctypes, "xl/workbook.xml");
        if (rc == 0)
            rc = add_str(a, "xl/workbook.xml", workbook);
        if (rc == 0)
            rc = add_str(a, "xl/_rels/workbook.xml.rels", wbrels);
        if (rc == 0)
            rc = add_buf(a, "xl/worksheets/sheet1.xml", &sheet);
        rc = archive_finish(a, fd, rc);
    }
    sim_buf_free(&sheet);
    return rc;
}

/* ---- tar.gz ---- */

int sim_gen_targz(const struct sim_gen *g)
{
    int fd, rc = MAMORI_EIO;
    struct archive *a = archive_open_new(g->path, false, &fd);
    if (!a)
        return rc;
    rc = 0;
    unsigned n = (unsigned)sim_rng_range(g->rng, 3, 6);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        struct sim_buf b;
        sim_buf_init(&b, GEN_XML_MAX);
        sim_text_words(g->rng, &b, g->size * 3 / n);
        char name[64];
        snprintf(name, sizeof name, "backup/%s_%02u.txt", i % 2 ? "minutes" : "notes", i);
        rc = add_buf(a, name, &b);
        sim_buf_free(&b);
    }
    return archive_finish(a, fd, rc);
}

/* ---- SQLite ---- */

static int sql_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MAMORI_EIO;
}

static int sql_fill(sqlite3 *db, struct sim_rng *r, unsigned rows)
{
    sqlite3_stmt *c = NULL, *inv = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO customers VALUES(?,?,?,?,?)", -1, &c, NULL) ==
                         SQLITE_OK &&
                     sqlite3_prepare_v2(db, "INSERT INTO invoices VALUES(?,?,?,?,?)", -1, &inv,
                                        NULL) == SQLITE_OK
                 ? 0
                 : MAMORI_EIO;
    char text[160];
    for (unsigned i = 1; rc == 0 && i <= rows; i++) {
        struct sim_buf memo;
        sim_buf_init(&memo, 512);
        sim_text_words(r, &memo, 40);
        snprintf(text, sizeof text, "customer%05u@example.co.jp", i);
        sqlite3_bind_int(c, 1, (int)i);
        sqlite3_bind_text(c, 2, memo.overflow ? "" : (const char *)memo.p,
                          memo.overflow ? 0 : (int)(memo.len > 30 ? 30 : memo.len), SQLITE_TRANSIENT);
        sqlite3_bind_text(c, 3, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(c, 4, i % 3 ? "APAC" : "EMEA", -1, SQLITE_STATIC);
        sqlite3_bind_double(c, 5, (double)sim_rng_range(r, 0, 10000000) / 100.0);
        sqlite3_bind_int(inv, 1, (int)i);
        sqlite3_bind_int(inv, 2, (int)sim_rng_range(r, 1, rows));
        snprintf(text, sizeof text, "2024-%02u-%02u", (unsigned)sim_rng_range(r, 1, 12),
                 (unsigned)sim_rng_range(r, 1, 28));
        sqlite3_bind_text(inv, 3, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(inv, 4, (double)sim_rng_range(r, 100, 5000000) / 100.0);
        sqlite3_bind_text(inv, 5, memo.overflow ? "" : (const char *)memo.p,
                          memo.overflow ? 0 : (int)memo.len, SQLITE_TRANSIENT);
        if (sqlite3_step(c) != SQLITE_DONE || sqlite3_step(inv) != SQLITE_DONE)
            rc = MAMORI_EIO;
        sqlite3_reset(c);
        sqlite3_reset(inv);
        sim_buf_free(&memo);
    }
    sqlite3_finalize(c);
    sqlite3_finalize(inv);
    return rc;
}

int sim_gen_sqlite(const struct sim_gen *g)
{
    if (access(g->path, F_OK) == 0)
        return MAMORI_EEXIST;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(g->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return MAMORI_EIO;
    }
    unsigned rows = (unsigned)(g->size / 120 + 10);
    int rc = sql_exec(db, "PRAGMA journal_mode=MEMORY;"
                          "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, email TEXT,"
                          " region TEXT, balance REAL);"
                          "CREATE TABLE invoices(id INTEGER PRIMARY KEY, customer_id INTEGER,"
                          " issued TEXT, amount REAL, memo TEXT);"
                          "CREATE INDEX invoices_customer ON invoices(customer_id);"
                          "BEGIN;");
    if (rc == 0)
        rc = sql_fill(db, g->rng, rows);
    if (rc == 0)
        rc = sql_exec(db, "COMMIT;");
    if (sqlite3_close(db) != SQLITE_OK)
        rc = MAMORI_EIO;
    return rc;
}
