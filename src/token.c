/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "misc.h"
#include "token.h"
#include "xmalloc.h"

/* token_redact() takes the prefix and this many base62 chars for a token. */
#define TOKEN_REDACT_MIN 16

/*
 * token_redact() works in place: the replacement must never be longer
 * than the shortest run it replaces, which may give back as many
 * characters as the longest prefix has before its '_' ("phk").
 */
_Static_assert(sizeof(TOKEN_REDACTED) - 1 <=
        TOKEN_PREFIX_LEN + TOKEN_REDACT_MIN - (APIKEY_PREFIX_LEN - 1),
    "TOKEN_REDACTED longer than the shortest token-shaped run");
_Static_assert(sizeof(APIKEY_REDACTED) - 1 <=
        APIKEY_PREFIX_LEN + TOKEN_REDACT_MIN - (APIKEY_PREFIX_LEN - 1),
    "APIKEY_REDACTED longer than the shortest key-shaped run");

/* What token_redact() looks for, and what it puts in its place. */
static const struct {
	const char *prefix;
	const char *redacted;
} token_shapes[] = {
	{ TOKEN_PREFIX, TOKEN_REDACTED },
	{ APIKEY_PREFIX, APIKEY_REDACTED },
};
#define TOKEN_NSHAPES (sizeof(token_shapes) / sizeof(token_shapes[0]))

static const char token_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Make sure libsodium is ready; idempotent and cheap after the first call. */
static void
token_sodium_init(void)
{
	if (sodium_init() == -1)
		fatal_f("sodium_init failed");
}

/* Predicate: <c> is one of the 62 characters of token_alphabet. */
static int
token_is_base62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

/*
 * Read the key file <path> into <key>. It must be a regular file (not a
 * symlink) of exactly TOKEN_KEY_LEN bytes. Returns 0,
 * PORTHOLE_ERR_NOT_FOUND, PORTHOLE_ERR_INVALID_FORMAT or
 * PORTHOLE_ERR_SYSTEM.
 */
static int
token_key_read(const char *path, unsigned char key[TOKEN_KEY_LEN])
{
	/* One spare byte, so a file that grew since fstat shows up. */
	unsigned char buf[TOKEN_KEY_LEN + 1];
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd = -1, r = PORTHOLE_ERR_INTERNAL, saved_errno;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		r = errno == ENOENT ? PORTHOLE_ERR_NOT_FOUND
		                    : PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != TOKEN_KEY_LEN) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	while (got < sizeof(buf)) {
		if ((n = read(fd, buf + got, sizeof(buf) - got)) == -1) {
			if (errno == EINTR)
				continue;
			r = PORTHOLE_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != TOKEN_KEY_LEN) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	memcpy(key, buf, TOKEN_KEY_LEN);
	r = 0;
out:
	saved_errno = errno;
	if (fd != -1)
		close(fd);
	sodium_memzero(buf, sizeof(buf));
	errno = saved_errno;
	return r;
}

/*
 * Flush the directory holding <path>, so that a new key survives a
 * crash: losing it would silently invalidate every stored token hash.
 * Best effort; failures are only logged.
 */
static void
token_sync_dir(const char *path)
{
	char *dir = NULL, *slash;
	int fd;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		debug_f("sync directory of %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	free(dir);
}

/*
 * Make a new random key at <path> and store it in <key>. The key is
 * written in full to a private temporary file (O_CREAT|O_EXCL|
 * O_NOFOLLOW, mode 0600) and then link()ed into place, so that nobody
 * ever reads a half-written key and a crash never leaves a short one.
 * link() fails with EEXIST if another process got there first, and then
 * its key is read instead: concurrent creators agree on one key.
 */
static int
token_key_create(const char *path, unsigned char key[TOKEN_KEY_LEN])
{
	unsigned char buf[TOKEN_KEY_LEN];
	char *tmp = NULL;
	int fd = -1, made = 0, r = PORTHOLE_ERR_INTERNAL, saved_errno;

	randombytes_buf(buf, sizeof(buf));
	xasprintf(&tmp, "%s.%08x.tmp", path, (unsigned)randombytes_random());
	if ((fd = open(tmp,
	         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	    -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	made = 1;
	if (misc_write_all(fd, buf, sizeof(buf), -1) != 0 || fsync(fd) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	fd = -1;
	if (link(tmp, path) == -1) {
		if (errno != EEXIST) {
			r = PORTHOLE_ERR_SYSTEM;
			goto out;
		}
		/* Another creator won the race: use its key. */
		debug_f("%s: created concurrently, reading it", path);
		r = token_key_read(path, key);
		goto out;
	}
	token_sync_dir(path);
	memcpy(key, buf, TOKEN_KEY_LEN);
	r = 0;
out:
	saved_errno = errno;
	if (fd != -1)
		close(fd);
	if (made)
		unlink(tmp);
	free(tmp);
	sodium_memzero(buf, sizeof(buf));
	errno = saved_errno;
	return r;
}

/* Load the token key from <path>, making it first if asked to. */
int
token_key_load(const char *path, int create, unsigned char key[TOKEN_KEY_LEN])
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (path == NULL || *path == '\0' || key == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	token_sodium_init();
	r = token_key_read(path, key);
	if (r == PORTHOLE_ERR_NOT_FOUND && create)
		r = token_key_create(path, key);
out:
	return r;
}

/* Write "ph_" and TOKEN_RANDOM_LEN uniformly random base62 characters. */
void
token_generate(char *buf, size_t len)
{
	token_generate_prefixed(TOKEN_PREFIX, buf, len);
}

/* Write <prefix> and TOKEN_RANDOM_LEN uniformly random base62 chars. */
void
token_generate_prefixed(const char *prefix, char *buf, size_t len)
{
	size_t i, plen;

	plen = strlen(prefix);
	/* A short buffer is a programming error, never user input. */
	if (buf == NULL || len < plen + TOKEN_RANDOM_LEN + 1)
		fatal_f("token buffer too small (%zu)", len);
	token_sodium_init();
	memcpy(buf, prefix, plen);
	/* randombytes_uniform avoids the modulo bias of "byte % 62". */
	for (i = 0; i < TOKEN_RANDOM_LEN; i++)
		buf[plen + i] = token_alphabet[randombytes_uniform(
		    sizeof(token_alphabet) - 1)];
	buf[plen + TOKEN_RANDOM_LEN] = '\0';
}

/* Predicate: <s> is the prefix and exactly TOKEN_RANDOM_LEN base62 chars. */
int
token_is_token(const char *s)
{
	return token_is_prefixed(s, TOKEN_PREFIX);
}

/* Predicate: <s> is <prefix> and exactly TOKEN_RANDOM_LEN base62 chars. */
int
token_is_prefixed(const char *s, const char *prefix)
{
	size_t i, plen;

	plen = strlen(prefix);
	if (s == NULL || strncmp(s, prefix, plen) != 0)
		return 0;
	for (i = plen; i < plen + TOKEN_RANDOM_LEN; i++) {
		if (!token_is_base62(s[i]))
			return 0;
	}
	return s[plen + TOKEN_RANDOM_LEN] == '\0';
}

/* Keyed BLAKE2b of the token text: what the store keeps. */
void
token_hash(const unsigned char key[TOKEN_KEY_LEN], const char *token,
    unsigned char hash[TOKEN_HASH_LEN])
{
	token_sodium_init();
	if (crypto_generichash(hash, TOKEN_HASH_LEN,
	        (const unsigned char *)token, strlen(token), key,
	        TOKEN_KEY_LEN) != 0)
		fatal_f("crypto_generichash failed");
}

/* Predicate: two digests are equal; constant time in their contents. */
int
token_hash_equal(const unsigned char a[TOKEN_HASH_LEN],
    const unsigned char b[TOKEN_HASH_LEN])
{
	return sodium_memcmp(a, b, TOKEN_HASH_LEN) == 0;
}

/*
 * The length of the prefix (less its '_') that the base62 run ending
 * just before <end> ends with, when a '_' follows, or 0: that run runs
 * into the next token or key, and gives its prefix back.
 */
static size_t
token_run_gives_back(const char *start, const char *end)
{
	size_t i, stem;

	if (*end != '_')
		return 0;
	for (i = 0; i < TOKEN_NSHAPES; i++) {
		stem = strlen(token_shapes[i].prefix) - 1;
		if ((size_t)(end - start) >= stem &&
		    strncmp(end - stem, token_shapes[i].prefix, stem) == 0)
			return stem;
	}
	return 0;
}

/*
 * Replace each "ph_" + >= TOKEN_REDACT_MIN base62 run in <s> by
 * TOKEN_REDACTED, and each such "phk_" run by APIKEY_REDACTED. No word
 * boundary is required before the prefix: redacting too much is
 * harmless, too little is a leak. The output is never longer than the
 * input (a replacement is shorter than the shortest run), so it is
 * written in place behind the read position; the bytes freed at the
 * end, which may hold token text, are wiped.
 */
char *
token_redact(char *s)
{
	size_t r = 0, w = 0, n, i, plen, rlen;

	if (s == NULL)
		return NULL;
	while (s[r] != '\0') {
		for (i = 0; i < TOKEN_NSHAPES; i++) {
			plen = strlen(token_shapes[i].prefix);
			if (strncmp(s + r, token_shapes[i].prefix, plen) == 0)
				break;
		}
		if (i < TOKEN_NSHAPES) {
			for (n = 0; token_is_base62(s[r + plen + n]); n++)
				;
			if (n >= TOKEN_REDACT_MIN) {
				/*
				 * A run ending in "ph" or "phk" then '_' runs
				 * into the next token: leave it that prefix.
				 */
				n -= token_run_gives_back(s + r + plen,
				    s + r + plen + n);
				rlen = strlen(token_shapes[i].redacted);
				memcpy(s + w, token_shapes[i].redacted, rlen);
				w += rlen;
				r += plen + n;
				continue;
			}
		}
		s[w++] = s[r++];
	}
	if (r > w)
		sodium_memzero(s + w, r - w);
	s[w] = '\0';
	return s;
}
