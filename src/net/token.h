/* token.h - the enrollment token's format, shared by server and agent.
 *
 *   mamori1.<secret>.<pin>
 *
 * secret: 32 random bytes, base64url without padding (43 characters); the
 *         server keeps only its SHA-256 (token_hash_hex), so a copy of the
 *         database cannot be used to enroll.
 * pin:    SHA-256 of the server CA's SubjectPublicKeyInfo, base64url (43
 *         characters): the agent accepts only a server whose chain holds
 *         that CA, so enrollment is never blind trust on first use.
 * Text enters, bytes leave; nothing else is stored in the token (the site,
 * expiry and use are rows of the server's database). */
#ifndef MAMORI_NET_TOKEN_H
#define MAMORI_NET_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX "mamori1."
#define TOKEN_LEN (8 + 43 + 1 + 43)
#define TOKEN_BUF (TOKEN_LEN + 1)

/* A fresh token for the CA pin; *secret gets the secret bytes. */
int token_make(const uint8_t pin[32], uint8_t secret[32], char out[TOKEN_BUF]);
/* 0, or MAMORI_EINVAL if s is not a well-formed token. */
int token_parse(const char *s, uint8_t secret[32], uint8_t pin[32]);
/* Lowercase hex SHA-256 of the secret (what the server stores). */
void token_hash_hex(const uint8_t secret[32], char out[65]);

void b64url_encode(const uint8_t *in, size_t n, char *out);                /* out: 4*ceil(n/3)+1 */
int b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsz); /* bytes or -1 */

#endif
