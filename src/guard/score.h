/* score.h - the guard's rules: which change of a file is evidence, and how
 * much each indicator weighs. Pure functions over content verdicts, so the
 * rules are unit-tested without fanotify.
 *
 * An actor is condemned when its score reaches the threshold (default 100).
 * Destroying one existing file's content by encryption is decisive on its own
 * (weight 100): waiting for a second file would lose it. Softer signals
 * (extension renames, ransom notes) add up and decide together with others. */
#ifndef MAMORI_GUARD_SCORE_H
#define MAMORI_GUARD_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "guard/actor.h"
#include "guard/content.h"

#define SCORE_THRESHOLD_DEFAULT 100

/* What the guard knew of a file before the write. */
struct file_before {
    bool known;            /* a fingerprint was taken before this writer wrote */
    enum content_kind kind;
    uint64_t size;
};

/* Evidence from one file after a write (close-write or a peek while writing).
 * Returns the indicator, or -1 when the change is not damage. */
int score_overwrite(const struct file_before *b, const struct content_verdict *after);

/* True when content of this kind is a plausible user document / data whose
 * destruction we judge (text, structured, valid compressed). */
bool score_is_intact_kind(enum content_kind k);

/* True when a file read by an actor is worth remembering as an original that
 * an encrypted copy may replace: text, valid compressed data, or structured
 * binary with a known type or of at least SCORE_ORIGINAL_MIN_UNTYPED bytes
 * (a few hundred bytes of untyped binary, such as a random seed file that a
 * program rewrites, say nothing). */
#define SCORE_ORIGINAL_MIN_UNTYPED (16u * 1024)
bool score_is_original(enum content_kind k, const char *magic_type, uint64_t size);

/* True when new content looks like ciphertext (random, encoded, or random
 * inside a valid container). */
bool score_is_cipher_kind(const struct content_verdict *v);

/* Points an indicator adds to its actor's score. */
int score_points(enum indicator ind);

/* Rename evidence: IND_EXTENSION_RENAME when new_path is old_path with an
 * extension appended (a.docx -> a.docx.locked) that is not a backup/temp
 * suffix, or a known document extension replaced by an unknown one. */
int score_rename(const char *old_path, const char *new_path);

/* Copy-then-delete: does a new random file (size, stem) stand for an original
 * (path/stem hash, size)? Same stem, or a plausible ciphertext size. */
#define SCORE_COPY_MIN_SIZE 4096u
bool score_copy_matches(const struct ring_ent *orig, const struct ring_ent *copy);

#endif
