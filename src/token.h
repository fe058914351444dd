/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_TOKEN_H
#define PORTHOLE_TOKEN_H

#include <stddef.h>

/*
 * Authtokens: "ph_" followed by TOKEN_RANDOM_LEN base62 characters from
 * libsodium's randombytes. Only a keyed BLAKE2b hash (crypto_generichash
 * with the server's token key) is ever stored; digests are compared with
 * sodium_memcmp; token text is wiped with sodium_memzero after use and
 * never logged: log.c redacts anything shaped like a token.
 */

#define TOKEN_PREFIX     "ph_"
#define TOKEN_PREFIX_LEN 3
#define TOKEN_RANDOM_LEN 40
#define TOKEN_LEN        (TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN)
#define TOKEN_HASH_LEN   32
#define TOKEN_KEY_LEN    32
/*
 * API keys, for the HTTP API: "phk_" and TOKEN_RANDOM_LEN base62
 * characters, made, hashed (with the same token key) and compared as
 * authtokens are; the prefix tells them apart.
 */
#define APIKEY_PREFIX     "phk_"
#define APIKEY_PREFIX_LEN 4
#define APIKEY_LEN        (APIKEY_PREFIX_LEN + TOKEN_RANDOM_LEN)
/* What token_redact() leaves of a token, and of an API key. */
#define TOKEN_REDACTED  "ph_[REDACTED]"
#define APIKEY_REDACTED "phk_[REDACTED]"

/*
 * Read the server's token key from <path> (exactly TOKEN_KEY_LEN bytes).
 * If it does not exist and <create> is set, make it from randombytes
 * with mode 0600 (O_EXCL, so concurrent creators agree on one key).
 * Returns 0, PORTHOLE_ERR_NOT_FOUND (absent, not created),
 * PORTHOLE_ERR_INVALID_FORMAT (wrong size) or PORTHOLE_ERR_SYSTEM.
 */
int token_key_load(const char *path, int create,
    unsigned char key[TOKEN_KEY_LEN]);

/* Write a new random token and its NUL into <buf> (>= TOKEN_LEN + 1). */
void token_generate(char *buf, size_t len);

/*
 * Write <prefix> (TOKEN_PREFIX or APIKEY_PREFIX), TOKEN_RANDOM_LEN
 * random base62 characters and a NUL into <buf>, which must hold
 * strlen(prefix) + TOKEN_RANDOM_LEN + 1 bytes.
 */
void token_generate_prefixed(const char *prefix, char *buf, size_t len);

/*
 * Predicate: <s> is shaped like a token: the prefix and exactly
 * TOKEN_RANDOM_LEN base62 characters, nothing else.
 */
int token_is_token(const char *s);

/* Predicate: <s> is <prefix> and exactly TOKEN_RANDOM_LEN base62 chars. */
int token_is_prefixed(const char *s, const char *prefix);

/* The keyed hash of token text <token> into <hash>. */
void token_hash(const unsigned char key[TOKEN_KEY_LEN], const char *token,
    unsigned char hash[TOKEN_HASH_LEN]);

/* Predicate: digests <a> and <b> are equal, compared in constant time. */
int token_hash_equal(const unsigned char a[TOKEN_HASH_LEN],
    const unsigned char b[TOKEN_HASH_LEN]);

/*
 * Overwrite, in place, every token-shaped run in the NUL-terminated
 * string <s> (the prefix then at least 16 base62 characters) with
 * TOKEN_REDACTED, and every run shaped like an API key with
 * APIKEY_REDACTED, shortening the string. Returns s.
 */
char *token_redact(char *s);

#endif /* PORTHOLE_TOKEN_H */
