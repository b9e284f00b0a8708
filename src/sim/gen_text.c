/* gen_text.c - corpus generators for text-like files: prose, logs, CSV,
 * C and Python source, and small valid PDFs with a text stream.
 *
 * Input: a struct sim_gen (rng, target path, approximate size). Output: one
 * new file (O_EXCL, O_NOFOLLOW). Content is built in a bounded sim_buf and
 * written in one go; the same rng state always yields the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "sim/sim_internal.h"

#define GEN_TEXT_MAX (64u << 20)

static const char *const words[] = {
    "quarterly", "revenue", "invoice", "customer", "supplier", "shipment", "budget",
    "forecast", "meeting", "approval", "contract", "payment", "account", "balance",
    "report", "review", "project", "schedule", "delivery", "warehouse", "inventory",
    "employee", "salary", "overtime", "policy", "compliance", "audit", "tax", "the",
    "and", "of", "to", "for", "with", "on", "by", "from", "regional", "office", "sales",
    "Osaka", "Bangkok", "Jakarta", "Hanoi", "Shanghai", "subsidiary", "headquarters",
    "plan", "target", "margin", "cost", "price", "order", "purchase", "request",
    "is", "will", "be", "was", "has", "been", "updated", "approved", "pending", "final",
};
#define NWORDS (sizeof words / sizeof words[0])

void sim_text_words(struct sim_rng *r, struct sim_buf *b, size_t bytes)
{
    size_t start = b->len, inword = 0;
    while (!b->overflow && b->len - start < bytes) {
        const char *w = words[sim_rng_next(r) % NWORDS];
        sim_buf_puts(b, w);
        inword++;
        if (inword > 6 && sim_rng_next(r) % 8 == 0) {
            sim_buf_puts(b, sim_rng_next(r) % 5 == 0 ? ".\n\n" : ". ");
            inword = 0;
        } else {
            sim_buf_puts(b, " ");
        }
    }
}

int sim_write_new(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return MAMORI_EIO;
    int rc = sim_write_all(fd, data, n);
    if (close(fd) < 0)
        rc = MAMORI_EIO;
    return rc;
}

static int finish(const struct sim_gen *g, struct sim_buf *b)
{
    int rc = b->overflow ? MAMORI_ENOMEM : sim_write_new(g->path, b->p, b->len);
    sim_buf_free(b);
    return rc;
}

int sim_gen_text(const struct sim_gen *g)
{
    struct sim_buf b;
    sim_buf_init(&b, GEN_TEXT_MAX);
    sim_buf_puts(&b, "Memo\n====\n\n");
    sim_text_words(g->rng, &b, g->size);
    sim_buf_puts(&b, "\n");
    return finish(g, &b);
}

int sim_gen_log(const struct sim_gen *g)
{
    static const char *const lvl[] = {"INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"};
    static const char *const src[] = {"sshd", "cron", "backup", "erp-sync", "nginx", "smbd"};
    struct sim_buf b;
    sim_buf_init(&b, GEN_TEXT_MAX);
    uint64_t t = 1704067200 + sim_rng_range(g->rng, 0, 86400 * 300);
    while (!b.overflow && b.len < g->size) {
        t += sim_rng_range(g->rng, 0, 90);
        uint64_t d = t % 86400;
        sim_buf_printf(&b, "2024-%02u-%02u %02u:%02u:%02u %s %s[%u]: ",
                       (unsigned)(1 + (t / 2592000) % 12), (unsigned)(1 + (t / 86400) % 28),
                       (unsigned)(d / 3600), (unsigned)(d / 60 % 60), (unsigned)(d % 60),
                       lvl[sim_rng_next(g->rng) % 6], src[sim_rng_next(g->rng) % 6],
                       (unsigned)sim_rng_range(g->rng, 300, 30000));
        sim_text_words(g->rng, &b, sim_rng_range(g->rng, 20, 90));
        sim_buf_puts(&b, "\n");
    }
    return finish(g, &b);
}

int sim_gen_csv(const struct sim_gen *g)
{
    struct sim_buf b;
    sim_buf_init(&b, GEN_TEXT_MAX);
    sim_buf_puts(&b, "id,date,customer,item,quantity,unit_price,total\n");
    for (unsigned id = 1; !b.overflow && b.len < g->size; id++) {
        unsigned q = (unsigned)sim_rng_range(g->rng, 1, 500);
        unsigned p = (unsigned)sim_rng_range(g->rng, 100, 99999);
        sim_buf_printf(&b, "%u,2024-%02u-%02u,%s %s,SKU-%05u,%u,%u.%02u,%llu.%02u\n", id,
                       (unsigned)sim_rng_range(g->rng, 1, 12),
                       (unsigned)sim_rng_range(g->rng, 1, 28), words[sim_rng_next(g->rng) % NWORDS],
                       words[sim_rng_next(g->rng) % NWORDS],
                       (unsigned)sim_rng_range(g->rng, 0, 99999), q, p / 100, p % 100,
                       (unsigned long long)q * p / 100, (q * p) % 100);
    }
    return finish(g, &b);
}

static void c_function(struct sim_rng *r, struct sim_buf *b, unsigned i)
{
    const char *w1 = words[sim_rng_next(r) % NWORDS], *w2 = words[sim_rng_next(r) % NWORDS];
    sim_buf_printf(b, "/* Computes the %s %s for one record. */\n", w1, w2);
    sim_buf_printf(b, "static int %s_%s_%u(const struct record *rec, long *out)\n{\n", w1, w2, i);
    sim_buf_puts(b, "    if (!rec || !out)\n        return -1;\n    long acc = 0;\n");
    sim_buf_printf(b, "    for (size_t i = 0; i < rec->n; i++)\n        acc += rec->v[i] * %u;\n",
                   (unsigned)sim_rng_range(r, 2, 97));
    sim_buf_puts(b, "    *out = acc;\n    return 0;\n}\n\n");
}

int sim_gen_csrc(const struct sim_gen *g)
{
    struct sim_buf b;
    sim_buf_init(&b, GEN_TEXT_MAX);
    sim_buf_puts(&b, "/* erp-sync: nightly ledger export. */\n#include <stdio.h>\n"
                     "#include <stdlib.h>\n#include \"record.h\"\n\n");
    for (unsigned i = 0; !b.overflow && b.len < g->size; i++)
        c_function(g->rng, &b, i);
    return finish(g, &b);
}

int sim_gen_header(const struct sim_gen *g)
{
    struct sim_buf b;
    sim_buf_init(&b, GEN_TEXT_MAX);
    sim_buf_puts(&b, "#ifndef RECORD_H\n#define RECORD_H\n\n#include <stddef.h>\n\n"
                     "struct record {\n    size_t n;\n    long v[64];\n};\n\n");
    for (unsigned i = 0; !b.overflow && b.len < g->size; i++)
        sim_buf_printf(&b, "int %s_%s_%u(const struct record *rec, long *out);\n",
                       words[sim_rng_next(g->rng) % NWORDS], words[sim_rng_next(g->rng) % NWORDS],
                       i);
    sim_buf_puts(&b, "\n#endif\n");
    return finish(g, &b);
}

int sim_gen_python(const struct sim_gen *g)
{
    struct sim_buf b;
    sim_buf_init(&b, GEN_TEXT_MAX);
    sim_buf_puts(&b, "#!/usr/bin/env python3\n\"\"\"Monthly report helpers.\"\"\"\nimport csv\n"
                     "import sys\n\n");
    for (unsigned i = 0; !b.overflow && b.len < g->size; i++)
        sim_buf_printf(&b,
                       "def %s_%u(rows):\n    \"\"\"Sum the %s column.\"\"\"\n    total = 0\n"
                       "    for row in rows:\n        total += float(row[%u]) * %u\n"
                       "    return total\n\n\n",
                       words[sim_rng_next(g->rng) % NWORDS], i,
                       words[sim_rng_next(g->rng) % NWORDS], (unsigned)sim_rng_range(g->rng, 0, 6),
                       (unsigned)sim_rng_range(g->rng, 1, 9));
    sim_buf_puts(&b, "if __name__ == \"__main__\":\n    sys.exit(0)\n");
    return finish(g, &b);
}

/* PDF: catalog, pages, page, font and one content stream; the xref table
 * records each object's real byte offset so readers accept the file. */
int sim_gen_pdf(const struct sim_gen *g)
{
    struct sim_buf text, b;
    sim_buf_init(&text, GEN_TEXT_MAX);
    sim_buf_init(&b, GEN_TEXT_MAX);
    sim_buf_puts(&text, "BT /F1 11 Tf 14 TL 56 780 Td\n");
    while (!text.overflow && text.len < g->size) {
        struct sim_buf line;
        sim_buf_init(&line, 256);
        sim_text_words(g->rng, &line, 60);
        sim_buf_puts(&text, "(");
        for (size_t i = 0; i < line.len; i++)
            if (line.p[i] != '\n' && line.p[i] != '(' && line.p[i] != ')')
                sim_buf_put(&text, &line.p[i], 1);
        sim_buf_puts(&text, ") Tj T*\n");
        sim_buf_free(&line);
    }
    sim_buf_puts(&text, "ET\n");
    size_t off[6];
    sim_buf_puts(&b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    off[1] = b.len;
    sim_buf_puts(&b, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    off[2] = b.len;
    sim_buf_puts(&b, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    off[3] = b.len;
    sim_buf_puts(&b, "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                     "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>\nendobj\n");
    off[4] = b.len;
    sim_buf_puts(&b, "4 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
    off[5] = b.len;
    sim_buf_printf(&b, "5 0 obj\n<< /Length %zu >>\nstream\n", text.len);
    if (!text.overflow)
        sim_buf_put(&b, text.p, text.len);
    sim_buf_puts(&b, "endstream\nendobj\n");
    size_t xref = b.len;
    sim_buf_puts(&b, "xref\n0 6\n0000000000 65535 f \n");
    for (int i = 1; i <= 5; i++)
        sim_buf_printf(&b, "%010zu 00000 n \n", off[i]);
    sim_buf_printf(&b, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
    if (text.overflow)
        b.overflow = true;
    sim_buf_free(&text);
    return finish(g, &b);
}
