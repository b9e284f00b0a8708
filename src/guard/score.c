/* score.c - evidence rules and weights (see score.h). */
#include "guard/score.h"

#include <string.h>
#include <strings.h>

bool score_is_intact_kind(enum content_kind k)
{
    return k == CK_TEXT || k == CK_STRUCTURED || k == CK_COMPRESSED;
}

bool score_is_original(enum content_kind k, const char *magic_type, uint64_t size)
{
    if (size == 0 || !score_is_intact_kind(k))
        return false;
    return k != CK_STRUCTURED || magic_type[0] != '\0' || size >= SCORE_ORIGINAL_MIN_UNTYPED;
}

bool score_is_cipher_kind(const struct content_verdict *v)
{
    return v->kind == CK_RANDOM || v->kind == CK_ENCODED || v->decoded_random;
}

static int damage_kind(const struct content_verdict *after)
{
    switch (after->kind) {
    case CK_RANDOM: return IND_STRUCTURED_TO_RANDOM;
    case CK_ENCODED: return IND_ENCODED_CIPHERTEXT;
    case CK_MIXED: return IND_PARTIAL_ENCRYPTION;
    default: return after->decoded_random ? IND_STRUCTURED_TO_RANDOM : -1;
    }
}

int score_overwrite(const struct file_before *b, const struct content_verdict *after)
{
    int ind = damage_kind(after);
    if (ind < 0)
        return -1;
    if (b->known && b->size > 0) {
        /* Random before and random after (an encrypted vault re-saved,
         * a compressed file rewritten): nothing was destroyed. */
        return score_is_intact_kind(b->kind) ? ind : -1;
    }
    if (b->known && b->size == 0)
        return -1; /* a new file: judged by copy-then-delete, not here */
    /* Never fingerprinted (opened before the guard started): the name is
     * all we have. A document type whose magic is gone, or a text file
     * that is now ciphertext. */
    if (after->magic_mismatch || !strcmp(after->ext_type, "text"))
        return IND_TYPE_BROKEN;
    return -1;
}

int score_points(enum indicator ind)
{
    switch (ind) {
    case IND_EXTENSION_RENAME: return 25;
    case IND_RANSOM_NOTE: return 60;
    default: return 100;
    }
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : "";
}

static bool benign_suffix(const char *ext)
{
    static const char *const ok[] = {"bak", "tmp", "old", "orig", "swp", "part", "save",
                                     "new", "backup", "1", "lock", "gz", "bz2", "xz", "zst",
                                     "zip", "7z", "gpg", "asc", "sig", "pgp", "enc", "age"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcasecmp(ext, ok[i]))
            return true;
    return ext[0] == '\0' || ext[strlen(ext) - 1] == '~';
}

int score_rename(const char *old_path, const char *new_path)
{
    size_t ol = strlen(old_path);
    const char *new_ext = ext_of(new_path);
    /* a.docx -> a.docx.locked: appended extension */
    if (!strncmp(new_path, old_path, ol) && new_path[ol] == '.' && !strchr(new_path + ol, '/'))
        return benign_suffix(new_ext) ? -1 : IND_EXTENSION_RENAME;
    /* a.docx -> a.xyz12: a known document extension replaced by an unknown one */
    const char *old_ext = ext_of(old_path);
    if (old_ext[0] && strcmp(content_ext_type(old_path), "") != 0 &&
        content_ext_type(new_path)[0] == '\0' && !benign_suffix(new_ext))
        return IND_EXTENSION_RENAME;
    return -1;
}

bool score_copy_matches(const struct ring_ent *orig, const struct ring_ent *copy)
{
    if (copy->stem_hash == orig->path_hash)
        return true; /* a.docx -> a.docx.locked */
    if (copy->stem_hash == orig->stem_hash && copy->path_hash != orig->path_hash)
        return true; /* a.docx -> a.locked */
    /* Under another name, only the size can tell: ciphertext is the
     * original's size plus a small header/footer, 4/3 of it in base64, 2x in
     * hex. Small files (lock files, seeds, caches) are rewritten under new
     * names all the time, so sizes say nothing below SCORE_COPY_MIN_SIZE. */
    uint64_t o = orig->size, c = copy->size;
    return o >= SCORE_COPY_MIN_SIZE && c >= o && c <= o * 2 + 4096;
}
