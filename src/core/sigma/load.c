/* load.c - Sigma rule files -> rules of a ruleset.
 *
 * Data enters as paths (files, or directories walked recursively in name
 * order, only .yml and .yaml files) or text in memory; each file may hold several
 * YAML documents. A document with a top-level `correlation` key goes to the
 * correlation module (sg_corr_add); any other becomes a detection rule:
 * metadata into struct sg_rule_info, detection into logic nodes (detect.c).
 * Every document that cannot be used leaves through the diag callback with
 * file, line, column and reason, and is counted in sg_load_stats. Also the
 * ruleset's life cycle and its read accessors. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/sigma/sigma_int.h"
#include "core/ytree.h"

#define SG_MAX_DIR_DEPTH 32

struct sg_ruleset *sg_ruleset_new(void)
{
    struct sg_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->fields.nocase = true;
    rs->chans.nocase = true;
    rs->corr = sg_corrset_new();
    size_t len = (size_t)(sg_embedded_mapping_end - sg_embedded_mapping);
    if (!rs->corr || sg_mapping_parse(&rs->map, sg_embedded_mapping, len, "(embedded logsources.yaml)",
                                      NULL, NULL) < 0) {
        sg_ruleset_free(rs);
        return NULL;
    }
    rs->have_map = true;
    return rs;
}

void sg_ruleset_free(struct sg_ruleset *rs)
{
    if (!rs)
        return;
    sg_tables_free(rs);
    for (uint32_t i = 0; i < rs->npreds; i++)
        sg_regex_free(rs->preds[i].re);
    free(rs->preds);
    free(rs->rules);
    free(rs->exprs);
    free(rs->kids);
    free(rs->fieldnames);
    sg_htab_free(&rs->predkeys);
    sg_htab_free(&rs->fields);
    sg_htab_free(&rs->ruleids);
    sg_htab_free(&rs->chans);
    sg_mapping_free(&rs->map);
    sg_corrset_free(rs->corr);
    sg_arena_free(&rs->arena);
    free(rs);
}

static void report(sg_diag_fn diag, void *ctx, const char *file, unsigned line, unsigned col,
                   const char *reason)
{
    if (diag)
        diag(ctx, file, line, col, reason);
}

/* ---- metadata ---- */

static const char *opt_str(struct sg_build *b, const struct ynode *doc, const char *key, int *rc)
{
    const struct ynode *v = ynode_get(doc, key);
    if (!v || (v->type == YN_SCALAR && !v->quoted && v->len == 0))
        return NULL;
    if (v->type != YN_SCALAR) {
        *rc = sg_fail(b, v, "'%s' must be a string", key);
        return NULL;
    }
    const char *s = sg_arena_strndup(&b->rs->arena, v->str, v->len);
    if (!s)
        *rc = sg_fail(b, v, "out of memory");
    return s;
}

static int read_list(struct sg_build *b, const struct ynode *doc, const char *key,
                     const char *const **out, uint32_t *n)
{
    const struct ynode *v = ynode_get(doc, key);
    *out = NULL;
    *n = 0;
    if (!v || (v->type == YN_SCALAR && v->len == 0))
        return 0;
    if (v->type != YN_SEQ)
        return sg_fail(b, v, "'%s' must be a list of strings", key);
    const char **arr = sg_arena_alloc(&b->rs->arena, (v->nchild + 1) * sizeof *arr);
    if (!arr)
        return sg_fail(b, v, "out of memory");
    uint32_t k = 0;
    for (const struct ynode *c = v->first; c; c = c->next) {
        if (c->type != YN_SCALAR)
            return sg_fail(b, c, "'%s' items must be strings", key);
        if (!(arr[k++] = sg_arena_strndup(&b->rs->arena, c->str, c->len)))
            return sg_fail(b, c, "out of memory");
    }
    *out = arr;
    *n = k;
    return 0;
}

static int parse_level(struct sg_build *b, const struct ynode *doc, enum sg_level *out)
{
    const struct ynode *v = ynode_get(doc, "level");
    *out = SG_LEVEL_MEDIUM;
    if (!v)
        return 0;
    for (int i = 0; i < SG_LEVELS; i++) {
        if (ynode_is(v, sg_level_name(i))) {
            *out = (enum sg_level)i;
            return 0;
        }
    }
    return sg_fail(b, v, "unknown level (informational, low, medium, high or critical)");
}

static int parse_rule(struct sg_build *b, const struct ynode *doc, struct sg_rule *r)
{
    int rc = 0;
    struct sg_rule_info *in = &r->info;
    const struct ynode *title = ynode_get(doc, "title");
    if (!title || title->type != YN_SCALAR || !title->len)
        return sg_fail(b, doc, "rule has no 'title'");
    in->title = opt_str(b, doc, "title", &rc);
    in->id = opt_str(b, doc, "id", &rc);
    in->name = opt_str(b, doc, "name", &rc);
    in->status = opt_str(b, doc, "status", &rc);
    if (rc < 0)
        return rc;
    if ((rc = parse_level(b, doc, &in->level)) < 0 || (rc = read_list(b, doc, "tags", &in->tags, &in->ntags)) < 0)
        return rc;
    const struct ynode *ls = ynode_get(doc, "logsource");
    if (!ls || ls->type != YN_MAP)
        return sg_fail(b, ls ? ls : doc, "rule has no 'logsource' mapping");
    in->product = opt_str(b, ls, "product", &rc);
    in->category = opt_str(b, ls, "category", &rc);
    in->service = opt_str(b, ls, "service", &rc);
    if (rc < 0)
        return rc;
    if (!in->product && !in->category && !in->service)
        return sg_fail(b, ls, "'logsource' names no product, category or service");
    const struct ynode *det = ynode_get(doc, "detection");
    if (!det)
        return sg_fail(b, doc, "rule has no 'detection'");
    return sg_detect_parse(b, det, &r->root);
}

static bool is_action(const struct ynode *doc)
{
    const struct ynode *a = ynode_get(doc, "action");
    return a && (ynode_is(a, "global") || ynode_is(a, "reset") || ynode_is(a, "repeat"));
}

static void load_doc(struct sg_ruleset *rs, const struct ynode *doc, const char *file,
                     sg_diag_fn diag, void *ctx)
{
    rs->stats.docs++;
    if (doc->type != YN_MAP) {
        report(diag, ctx, file, doc->line, doc->col, "document is not a mapping (not a Sigma rule)");
        rs->stats.rejected++;
        return;
    }
    if (ynode_get(doc, "correlation")) {
        if (sg_corr_add(rs->corr, doc, file, diag, ctx) == 0)
            rs->stats.correlations++;
        else
            rs->stats.rejected++;
        return;
    }
    struct sg_build b = {.rs = rs, .file = file, .diag = diag, .ctx = ctx};
    uint32_t nexprs = rs->nexprs, nkids = rs->nkids;
    struct sg_rule r = {.line = doc->line, .col = doc->col};
    int rc;
    if (rs->compiled)
        rc = sg_fail(&b, doc, "ruleset already compiled; load rules before sg_compile");
    else if (is_action(doc))
        rc = sg_fail(&b, ynode_get(doc, "action"),
                     "rule collections (action: global/reset/repeat, Sigma v1) are not supported");
    else if (ynode_get(doc, "filter") && !ynode_get(doc, "detection"))
        rc = sg_fail(&b, ynode_get(doc, "filter"), "Sigma filters (meta rules) are not supported");
    else if (rs->nrules >= SG_MAX_RULES)
        rc = sg_fail(&b, doc, "more than %u rules", SG_MAX_RULES);
    else
        rc = parse_rule(&b, doc, &r);
    if (rc == 0) {
        r.info.file = sg_arena_strndup(&rs->arena, file, strlen(file));
        const char **fv = b.nfields ? sg_arena_alloc(&rs->arena, b.nfields * sizeof *fv) : NULL;
        if (!r.info.file || (b.nfields && !fv) ||
            sg_grow((void **)&rs->rules, &rs->caprules, rs->nrules + 1, sizeof *rs->rules) < 0) {
            rc = sg_fail(&b, doc, "out of memory");
        } else {
            if (fv)
                memcpy(fv, b.fields, b.nfields * sizeof *fv);
            r.info.fields = fv;
            r.info.nfields = b.nfields;
            rs->rules[rs->nrules] = r;
            const struct sg_rule_info *in = &rs->rules[rs->nrules].info;
            if (in->id)
                sg_htab_put(&rs->ruleids, in->id, strlen(in->id), rs->nrules);
            if (in->name)
                sg_htab_put(&rs->ruleids, in->name, strlen(in->name), rs->nrules);
            rs->nrules++;
            rs->stats.rules++;
        }
    }
    if (rc < 0) {
        rs->nexprs = nexprs; /* predicates stay: shared, and unused ones cost nothing */
        rs->nkids = nkids;
        report(diag, ctx, file, b.eline ? b.eline : doc->line, b.eline ? b.ecol : doc->col,
               b.err[0] ? b.err : "rejected");
        rs->stats.rejected++;
    }
    free(b.fields);
}

int sg_load_mem(struct sg_ruleset *rs, const char *text, size_t len, const char *name,
                sg_diag_fn diag, void *ctx)
{
    rs->stats.files++;
    if (len > SG_MAX_FILE_BYTES) {
        char msg[96];
        snprintf(msg, sizeof msg, "file larger than %u bytes", SG_MAX_FILE_BYTES);
        report(diag, ctx, name, 0, 0, msg);
        rs->stats.docs++;
        rs->stats.rejected++;
        return 0;
    }
    struct ytree t;
    char err[512];
    if (ytree_parse_stream(&t, text, len, err, sizeof err) < 0) {
        unsigned line = 0, col = 0;
        int used = 0;
        const char *reason = err;
        if (sscanf(err, "%u:%u: %n", &line, &col, &used) == 2 && used > 0)
            reason = err + used;
        report(diag, ctx, name, line, col, reason);
        rs->stats.docs++;
        rs->stats.rejected++;
        return 0;
    }
    for (size_t i = 0; i < t.ndocs; i++)
        if (t.docs[i]) /* an empty document ("---" at the end) holds nothing */
            load_doc(rs, t.docs[i], name, diag, ctx);
    ytree_free(&t);
    return 0;
}

static int load_file(struct sg_ruleset *rs, const char *path, sg_diag_fn diag, void *ctx)
{
    FILE *f = fopen(path, "rb");
    char msg[256];
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open: %s", strerror(errno));
        report(diag, ctx, path, 0, 0, msg);
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    }
    char *buf = malloc(SG_MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return MAMORI_ENOMEM;
    }
    size_t n = fread(buf, 1, SG_MAX_FILE_BYTES + 1, f);
    int rerr = ferror(f);
    fclose(f);
    int rc = 0;
    if (rerr) {
        report(diag, ctx, path, 0, 0, "read error");
        rc = MAMORI_EIO;
    } else {
        rc = sg_load_mem(rs, buf, n, path, diag, ctx);
    }
    free(buf);
    return rc;
}

static bool rule_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && ((l > 4 && !strcmp(n + l - 4, ".yml")) || (l > 5 && !strcmp(n + l - 5, ".yaml")));
}

static int load_dir(struct sg_ruleset *rs, const char *path, int depth, sg_diag_fn diag, void *ctx)
{
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    if (n < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot read directory: %s", strerror(errno));
        report(diag, ctx, path, 0, 0, msg);
        return MAMORI_EIO;
    }
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (nm[0] == '.')
            continue;
        size_t need = strlen(path) + strlen(nm) + 2;
        char *sub = malloc(need);
        if (!sub) {
            report(diag, ctx, path, 0, 0, "out of memory: the rest of the directory is not read");
            break;
        }
        snprintf(sub, need, "%s/%s", path, nm);
        struct stat st, lst;
        bool is_dir = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
        if (is_dir && lstat(sub, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            /* never followed: a link back up the tree would load every rule
               again, or loop */
            report(diag, ctx, sub, 0, 0, "symbolic link to a directory; not followed");
        } else if (is_dir) {
            if (depth < SG_MAX_DIR_DEPTH)
                load_dir(rs, sub, depth + 1, diag, ctx);
            else
                report(diag, ctx, sub, 0, 0, "directory nested too deeply; skipped");
        } else if (rule_name(nm)) {
            if (load_file(rs, sub, diag, ctx) < 0) {
                rs->stats.files++;
                rs->stats.rejected++;
            }
        }
        free(sub);
    }
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return 0;
}

int sg_load_path(struct sg_ruleset *rs, const char *path, sg_diag_fn diag, void *ctx)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot read: %s", strerror(errno));
        report(diag, ctx, path, 0, 0, msg);
        return errno == ENOENT ? MAMORI_ENOENT : MAMORI_EIO;
    }
    if (S_ISDIR(st.st_mode))
        return load_dir(rs, path, 0, diag, ctx);
    return load_file(rs, path, diag, ctx);
}

/* ---- accessors ---- */

const struct sg_load_stats *sg_load_stats(const struct sg_ruleset *rs) { return &rs->stats; }
uint32_t sg_rule_count(const struct sg_ruleset *rs) { return rs->nrules; }
struct sg_corrset *sg_ruleset_corr(const struct sg_ruleset *rs) { return rs->corr; }

const struct sg_rule_info *sg_rule(const struct sg_ruleset *rs, uint32_t idx)
{
    return idx < rs->nrules ? &rs->rules[idx].info : NULL;
}

long sg_rule_find(const struct sg_ruleset *rs, const char *name_or_id)
{
    return name_or_id ? sg_htab_get(&rs->ruleids, name_or_id, strlen(name_or_id)) : -1;
}

void sg_rule_set_hidden(struct sg_ruleset *rs, uint32_t idx, bool hidden)
{
    if (idx < rs->nrules)
        rs->rules[idx].info.hidden = hidden;
}
