/* api_auth.h - who is calling the API: API tokens and the principal.
 *
 * An API token is printed once by `mamori server api-token` and never
 * stored:
 *
 *   mamori-api1.<id>.<secret>
 *
 * id:     16 lowercase hex characters (8 random bytes), the row's key; it
 *         names the token in listings and the audit log and is not secret;
 * secret: 32 random bytes (256 bits), base64url without padding (43).
 * The database keeps, per token, a random 16-byte salt and SHA-256(salt ||
 * secret); a request's secret is hashed the same way and compared in
 * constant time (CRYPTO_memcmp). A slow password hash is not needed: the
 * secret is random and 256 bits long, so the hash cannot be searched.
 *
 * A successful check yields a struct api_principal: role, site scope, and
 * who it is for the audit log. The console's user sessions (argon2id
 * passwords, later) will yield the same struct (kind "user"), so every
 * handler checks permissions the same way whatever logged in.
 * Roles: admin (head office: every site, read and write), site-admin (one
 * site: read and write there, nothing else exists for it), viewer (read
 * only; every site, or one site if the token names one). */
#ifndef MAMORI_API_API_AUTH_H
#define MAMORI_API_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"

#define APITOK_PREFIX "mamori-api1."
#define APITOK_ID_LEN 16
#define APITOK_LEN (12 + APITOK_ID_LEN + 1 + 43)
#define APITOK_BUF (APITOK_LEN + 1)
#define APITOK_NAME_MAX 64

enum api_role { ROLE_ADMIN, ROLE_SITE_ADMIN, ROLE_VIEWER };

struct api_principal {
    enum api_role role;
    int64_t site_id;                /* 0: every site */
    char site[SITE_NAME_MAX + 1];   /* when site_id != 0 */
    char kind[8];                   /* "token", or "user" (console session) */
    char id[APITOK_ID_LEN + 1];     /* token id, or user id (decimal) */
    char name[APITOK_NAME_MAX + 1]; /* for the audit log */
    unsigned char session[32];      /* kind "user": SHA-256 of the session cookie (src/web) */
};

const char *api_role_name(enum api_role r);
int api_role_parse(const char *s, enum api_role *out);
bool api_can_write(const struct api_principal *p);
/* May p see an object of this site? (site_id 0: an object of no site,
 * admin and all-site viewers only) */
bool api_in_scope(const struct api_principal *p, int64_t site_id);
/* "token:ID(NAME)" for the audit log's actor column. */
void api_actor(const struct api_principal *p, char *out, size_t outsz);

/* A fresh token: its id, its secret, and the text to print once. */
int apitok_make(char id[APITOK_ID_LEN + 1], uint8_t secret[32], char out[APITOK_BUF]);
/* 0, or MAMORI_EINVAL if s is not a well-formed token. */
int apitok_parse(const char *s, char id[APITOK_ID_LEN + 1], uint8_t secret[32]);
/* SHA-256(salt || secret). */
void apitok_hash(const uint8_t salt[16], const uint8_t secret[32], uint8_t out[32]);
/* Constant-time check of secret against the stored salt and hash. */
bool apitok_verify(const uint8_t salt[16], const uint8_t hash[32], const uint8_t secret[32]);

/* Check an Authorization header value ("Bearer TOKEN") against the store.
 * 0 with *who filled, or MAMORI_EPERM with an English reason in why (the
 * same for an unknown id and a wrong secret). Refreshes the token's
 * last_used at most once a minute. */
int api_authenticate(struct store *st, const char *authorization, int64_t now_ms,
                     struct api_principal *who, char *why, size_t whysz);

#endif
