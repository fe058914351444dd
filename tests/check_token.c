/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "token.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "err.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* 40 base62 characters: the random part of a well-formed token. */
#define R40 "0123456789ABCDEFGHIJabcdefghijKLMNOPQRST"
/* A second, different one. */
#define S40 "zyxwvutsrqponmlkjihgZYXWVUTSRQPONMLKJIHG"
/* 15 and 16 base62 characters: just under and at the redaction floor. */
#define R15 "abcdefghijklmno"
#define R16 "abcdefghijklmnop"
/* 60 base62 characters. */
#define R60 R40 "KLMNOPQRSTuvwxyz0123"

Suite *token_suite(void);

/* token_is_token: input and the expected answer. */
static const struct {
	const char *s;
	int ok;
} is_token_cases[] = {
	{ "ph_" R40, 1 },
	{ "ph_" S40, 1 },
	{ "ph_", 0 },
	{ "", 0 },
	{ "ph", 0 },
	{ "ph_" R16, 0 },
	{ "ph_" R40 "a", 0 },
	{ "ph_" R60, 0 },
	{ "ph_" R40 "\n", 0 },
	{ "ph_" R40 " ", 0 },
	{ " ph_" R40, 0 },
	{ "PH_" R40, 0 },
	{ "ph-" R40, 0 },
	{ "xx_" R40, 0 },
	{ "ph_0123456789ABCDEFGHI_abcdefghijKLMNOPQRST", 0 },
	{ "ph_0123456789ABCDEFGHI-abcdefghijKLMNOPQRST", 0 },
	{ "ph_0123456789ABCDEFGHI\xc3\xa9"
	  "bcdefghijKLMNOPQRST",
	    0 },
	{ "ph_0123456789ABCDEFGHI+abcdefghijKLMNOPQRST", 0 },
};

/* token_redact: input and the expected output. */
static const struct {
	const char *in;
	const char *out;
} redact_cases[] = {
	{ "", "" },
	{ "nothing here", "nothing here" },
	{ "ph_" R40, TOKEN_REDACTED },
	{ "user ph_" R40 " denied", "user " TOKEN_REDACTED " denied" },
	{ "a=ph_" R40 " b=ph_" S40, "a=" TOKEN_REDACTED " b=" TOKEN_REDACTED },
	/* Back to back: the first run must not swallow the next prefix. */
	{ "ph_" R40 "ph_" S40, TOKEN_REDACTED TOKEN_REDACTED },
	{ "ph_" R40 "ph_" R15, TOKEN_REDACTED "ph_" R15 },
	{ "ph_" R40 "_" S40, TOKEN_REDACTED "_" S40 },
	{ "short ph_" R15 " kept", "short ph_" R15 " kept" },
	{ "ph_" R15, "ph_" R15 },
	{ "ph_" R16, TOKEN_REDACTED },
	{ "at the end: ph_" R40, "at the end: " TOKEN_REDACTED },
	{ "user 'ph_" R40 "'.", "user '" TOKEN_REDACTED "'." },
	{ "(ph_" R40 "), next", "(" TOKEN_REDACTED "), next" },
	{ "ph_" R40 "_x", TOKEN_REDACTED "_x" },
	{ "ph_" R60, TOKEN_REDACTED },
	{ "run ph_" R60 " end", "run " TOKEN_REDACTED " end" },
	/* No word boundary needed before the prefix. */
	{ "xph_" R40, "x" TOKEN_REDACTED },
	{ "ph_ph_" R40, "ph_" TOKEN_REDACTED },
	{ "ph_", "ph_" },
	{ "ph", "ph" },
	{ "PH_" R40, "PH_" R40 },
	/* Already redacted text stays as it is. */
	{ TOKEN_REDACTED, TOKEN_REDACTED },
	/* API keys, alone and next to tokens. */
	{ "phk_" R40, APIKEY_REDACTED },
	{ "key=phk_" R40 " ok", "key=" APIKEY_REDACTED " ok" },
	{ "phk_" R15, "phk_" R15 },
	{ "phk_" R16, APIKEY_REDACTED },
	{ "phk_" R40 "phk_" S40, APIKEY_REDACTED APIKEY_REDACTED },
	{ "ph_" R40 "phk_" S40, TOKEN_REDACTED APIKEY_REDACTED },
	{ "phk_" R40 "ph_" S40, APIKEY_REDACTED TOKEN_REDACTED },
	{ "phk_" R40 "phk_" R15, APIKEY_REDACTED "phk_" R15 },
	{ "ph_" R16 "phk_" S40, TOKEN_REDACTED APIKEY_REDACTED },
	{ "PHK_" R40, "PHK_" R40 },
	{ APIKEY_REDACTED, APIKEY_REDACTED },
};

/* A fresh temporary directory for key files; the caller removes it. */
static char *
tmp_dir(void)
{
	char *dir;

	ck_assert_ptr_nonnull(dir = strdup("/tmp/check_token.XXXXXX"));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* "<dir>/<name>"; caller frees. */
static char *
path_in(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_ne(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

/* Write <len> bytes of <data> to a new file <path>. */
static void
write_file(const char *path, const void *data, size_t len)
{
	int fd;

	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600),
	    -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* Predicate: <dir> holds nothing but <name> (no stray temporary files). */
static int
dir_holds_only(const char *dir, const char *name)
{
	char *cmd;
	FILE *p;
	char line[256];
	int n = 0, ok = 1;

	ck_assert_int_ne(asprintf(&cmd, "ls -A '%s'", dir), -1);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, name) != 0)
			ok = 0;
		n++;
	}
	pclose(p);
	free(cmd);
	return ok && n == 1;
}

/* Creating makes a 0600 file; loading and reloading give the same key. */
START_TEST(test_key_create_load)
{
	unsigned char k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN], k3[TOKEN_KEY_LEN];
	unsigned char zero[TOKEN_KEY_LEN];
	struct stat st;
	char *dir, *path;

	dir = tmp_dir();
	path = path_in(dir, "token.key");
	memset(zero, 0, sizeof(zero));
	ck_assert_int_eq(token_key_load(path, 1, k1), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, TOKEN_KEY_LEN);
	ck_assert(memcmp(k1, zero, sizeof(k1)) != 0);
	ck_assert(dir_holds_only(dir, "token.key"));

	/* Loading, with or without create, gives the same key back. */
	ck_assert_int_eq(token_key_load(path, 0, k2), 0);
	ck_assert_mem_eq(k1, k2, TOKEN_KEY_LEN);
	ck_assert_int_eq(token_key_load(path, 1, k3), 0);
	ck_assert_mem_eq(k1, k3, TOKEN_KEY_LEN);
	ck_assert(dir_holds_only(dir, "token.key"));

	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

/* Two new key files get different keys. */
START_TEST(test_key_distinct)
{
	unsigned char k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN];
	char *dir, *a, *b;

	dir = tmp_dir();
	a = path_in(dir, "a.key");
	b = path_in(dir, "b.key");
	ck_assert_int_eq(token_key_load(a, 1, k1), 0);
	ck_assert_int_eq(token_key_load(b, 1, k2), 0);
	ck_assert(memcmp(k1, k2, TOKEN_KEY_LEN) != 0);
	unlink(a);
	unlink(b);
	rmdir(dir);
	free(a);
	free(b);
	free(dir);
}
END_TEST

/* A key file already there is read as it is. */
START_TEST(test_key_existing)
{
	unsigned char want[TOKEN_KEY_LEN], key[TOKEN_KEY_LEN];
	char *dir, *path;
	size_t i;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)(i * 7 + 1);
	dir = tmp_dir();
	path = path_in(dir, "token.key");
	write_file(path, want, sizeof(want));
	ck_assert_int_eq(token_key_load(path, 0, key), 0);
	ck_assert_mem_eq(key, want, TOKEN_KEY_LEN);
	ck_assert_int_eq(token_key_load(path, 1, key), 0);
	ck_assert_mem_eq(key, want, TOKEN_KEY_LEN);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

/* Files of the wrong size are refused and left alone; key is untouched. */
START_TEST(test_key_wrong_size)
{
	static const size_t sizes[] = { 0, 1, TOKEN_KEY_LEN - 1,
		TOKEN_KEY_LEN + 1, 64, 4096 };
	unsigned char data[4096], key[TOKEN_KEY_LEN], before[TOKEN_KEY_LEN];
	struct stat st;
	char *dir, *path;
	size_t i;

	memset(data, 'k', sizeof(data));
	memset(key, 0xa5, sizeof(key));
	memcpy(before, key, sizeof(key));
	dir = tmp_dir();
	path = path_in(dir, "token.key");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_file(path, data, sizes[i]);
		ck_assert_int_eq(token_key_load(path, 0, key),
		    PORTHOLE_ERR_INVALID_FORMAT);
		ck_assert_int_eq(token_key_load(path, 1, key),
		    PORTHOLE_ERR_INVALID_FORMAT);
		ck_assert_mem_eq(key, before, TOKEN_KEY_LEN);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)sizes[i]);
		ck_assert_int_eq(unlink(path), 0);
	}
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

/* Missing and create=0 is NOT_FOUND, and nothing is made. */
START_TEST(test_key_missing)
{
	unsigned char key[TOKEN_KEY_LEN];
	char *dir, *path;

	dir = tmp_dir();
	path = path_in(dir, "token.key");
	ck_assert_int_eq(token_key_load(path, 0, key), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

/* A missing directory is a system error, even with create. */
START_TEST(test_key_no_dir)
{
	unsigned char key[TOKEN_KEY_LEN];
	const char *path = "/nonexistent/porthole/token.key";

	ck_assert_int_eq(token_key_load(path, 0, key), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(token_key_load(path, 1, key), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(token_key_load(NULL, 1, key),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(token_key_load("", 1, key),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}
END_TEST

/* A symlink in place of the key is refused, not followed or replaced. */
START_TEST(test_key_symlink)
{
	unsigned char key[TOKEN_KEY_LEN], want[TOKEN_KEY_LEN];
	char *dir, *path, *target, *dangling;

	memset(want, 3, sizeof(want));
	dir = tmp_dir();
	path = path_in(dir, "token.key");
	target = path_in(dir, "real.key");
	dangling = path_in(dir, "nowhere.key");
	write_file(target, want, sizeof(want));
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(token_key_load(path, 0, key), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(token_key_load(path, 1, key), PORTHOLE_ERR_SYSTEM);
	unlink(path);

	/* A dangling link is not followed to create its target. */
	ck_assert_int_eq(symlink(dangling, path), 0);
	ck_assert_int_eq(token_key_load(path, 1, key), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(access(dangling, F_OK), -1);
	unlink(path);
	unlink(target);
	rmdir(dir);
	free(path);
	free(target);
	free(dangling);
	free(dir);
}
END_TEST

/* Many processes creating the same key at once all end up with one key. */
START_TEST(test_key_race)
{
	enum { NPROC = 8, ROUNDS = 20 };
	unsigned char key[TOKEN_KEY_LEN], got[TOKEN_KEY_LEN];
	int fds[NPROC][2], status, round, i;
	pid_t pids[NPROC];
	char *dir, *path;

	dir = tmp_dir();
	path = path_in(dir, "token.key");
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < NPROC; i++) {
			ck_assert_int_eq(pipe(fds[i]), 0);
			ck_assert_int_ne(pids[i] = fork(), -1);
			if (pids[i] == 0) {
				close(fds[i][0]);
				if (token_key_load(path, 1, got) != 0 ||
				    write(fds[i][1], got, sizeof(got)) !=
				        (ssize_t)sizeof(got))
					_exit(1);
				_exit(0);
			}
			close(fds[i][1]);
		}
		for (i = 0; i < NPROC; i++) {
			ck_assert_int_eq(read(fds[i][0], got, sizeof(got)),
			    (ssize_t)sizeof(got));
			close(fds[i][0]);
			ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
			ck_assert(WIFEXITED(status));
			ck_assert_int_eq(WEXITSTATUS(status), 0);
			if (i == 0)
				memcpy(key, got, sizeof(key));
			else
				ck_assert_mem_eq(key, got, TOKEN_KEY_LEN);
		}
		ck_assert_int_eq(token_key_load(path, 0, got), 0);
		ck_assert_mem_eq(key, got, TOKEN_KEY_LEN);
		ck_assert(dir_holds_only(dir, "token.key"));
		ck_assert_int_eq(unlink(path), 0);
	}
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

/* Generated tokens are well formed and distinct. */
START_TEST(test_generate)
{
	enum { N = 200 };
	static char toks[N][TOKEN_LEN + 1];
	int i, j;

	for (i = 0; i < N; i++) {
		memset(toks[i], 'X', sizeof(toks[i]));
		token_generate(toks[i], sizeof(toks[i]));
		ck_assert_uint_eq(strlen(toks[i]), TOKEN_LEN);
		ck_assert_msg(token_is_token(toks[i]), "bad token '%s'",
		    toks[i]);
		ck_assert(
		    strncmp(toks[i], TOKEN_PREFIX, TOKEN_PREFIX_LEN) == 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(toks[i], toks[j]);
	}
}
END_TEST

/* A larger buffer gets the same shape; bytes past the NUL are untouched. */
START_TEST(test_generate_big_buffer)
{
	char buf[TOKEN_LEN + 8];

	memset(buf, 'Z', sizeof(buf));
	token_generate(buf, sizeof(buf));
	ck_assert(token_is_token(buf));
	ck_assert_int_eq(buf[TOKEN_LEN + 1], 'Z');
	ck_assert_int_eq(buf[sizeof(buf) - 1], 'Z');
}
END_TEST

/* A buffer without room for the NUL is a programming error: fatal. */
START_TEST(test_generate_short_buffer)
{
	char buf[TOKEN_LEN];

	token_generate(buf, sizeof(buf));
}
END_TEST

/* API keys: their own prefix, the same randomness, never token-shaped. */
START_TEST(test_generate_apikey)
{
	char k1[APIKEY_LEN + 1], k2[APIKEY_LEN + 1];

	memset(k1, 'X', sizeof(k1));
	token_generate_prefixed(APIKEY_PREFIX, k1, sizeof(k1));
	token_generate_prefixed(APIKEY_PREFIX, k2, sizeof(k2));
	ck_assert_uint_eq(strlen(k1), APIKEY_LEN);
	ck_assert(strncmp(k1, APIKEY_PREFIX, APIKEY_PREFIX_LEN) == 0);
	ck_assert_str_ne(k1, k2);
	ck_assert(token_is_prefixed(k1, APIKEY_PREFIX));
	ck_assert(!token_is_token(k1));
	ck_assert(!token_is_prefixed(k1 + 1, APIKEY_PREFIX));
	/* An authtoken is not an API key either. */
	token_generate(k2, sizeof(k2));
	ck_assert(!token_is_prefixed(k2, APIKEY_PREFIX));
	ck_assert(token_is_prefixed(k2, TOKEN_PREFIX));
}
END_TEST

/* A buffer that fits a token but not a key's longer prefix: fatal. */
START_TEST(test_generate_apikey_short_buffer)
{
	char buf[APIKEY_LEN];

	token_generate_prefixed(APIKEY_PREFIX, buf, sizeof(buf));
}
END_TEST

/* The shape test, case by case. */
START_TEST(test_is_token)
{
	ck_assert_msg(token_is_token(is_token_cases[_i].s) ==
	        is_token_cases[_i].ok,
	    "'%s': want %d", is_token_cases[_i].s, is_token_cases[_i].ok);
}
END_TEST

/* NULL is not a token. */
START_TEST(test_is_token_null)
{
	ck_assert_int_eq(token_is_token(NULL), 0);
}
END_TEST

/* The hash depends on the key and the token, and on nothing else. */
START_TEST(test_hash_keyed)
{
	unsigned char k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN];
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	unsigned char h3[TOKEN_HASH_LEN], h4[TOKEN_HASH_LEN];
	const char *t1 = "ph_" R40, *t2 = "ph_" S40;

	memset(k1, 1, sizeof(k1));
	memset(k2, 1, sizeof(k2));
	k2[TOKEN_KEY_LEN - 1] = 2;
	token_hash(k1, t1, h1);
	token_hash(k1, t1, h2);
	ck_assert_mem_eq(h1, h2, TOKEN_HASH_LEN);
	/* Same token, another key. */
	token_hash(k2, t1, h3);
	ck_assert(memcmp(h1, h3, TOKEN_HASH_LEN) != 0);
	/* Another token, same key. */
	token_hash(k1, t2, h4);
	ck_assert(memcmp(h1, h4, TOKEN_HASH_LEN) != 0);
}
END_TEST

/* The hash is BLAKE2b-256 keyed with the token key, over the token text. */
START_TEST(test_hash_known)
{
	unsigned char key[TOKEN_KEY_LEN], h[TOKEN_HASH_LEN];
	unsigned char want[TOKEN_HASH_LEN];
	const char *t = "ph_" R40;
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	ck_assert_int_eq(crypto_generichash(want, sizeof(want),
	                     (const unsigned char *)t, strlen(t), key,
	                     sizeof(key)),
	    0);
	token_hash(key, t, h);
	ck_assert_mem_eq(h, want, TOKEN_HASH_LEN);
}
END_TEST

/* Equal digests compare equal; a difference anywhere is seen. */
START_TEST(test_hash_equal)
{
	unsigned char a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN];
	size_t i;

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	ck_assert_int_eq(token_hash_equal(a, b), 1);
	for (i = 0; i < TOKEN_HASH_LEN; i++) {
		b[i] ^= 0x01;
		ck_assert_int_eq(token_hash_equal(a, b), 0);
		b[i] = a[i];
	}
	ck_assert_int_eq(token_hash_equal(a, b), 1);
}
END_TEST

/* Redaction, case by case, in place. */
START_TEST(test_redact)
{
	char buf[256];
	size_t inlen = strlen(redact_cases[_i].in), outlen, i;

	ck_assert_uint_lt(inlen, sizeof(buf));
	memcpy(buf, redact_cases[_i].in, inlen + 1);
	ck_assert_ptr_eq(token_redact(buf), buf);
	ck_assert_str_eq(buf, redact_cases[_i].out);
	/* What the string gave up is wiped: no token text left behind it. */
	outlen = strlen(buf);
	for (i = outlen; i <= inlen; i++)
		ck_assert_int_eq(buf[i], '\0');
}
END_TEST

/* A generated token is always redacted; NULL passes through. */
START_TEST(test_redact_generated)
{
	char tok[TOKEN_LEN + 1], key[APIKEY_LEN + 1], buf[128];
	int i;

	for (i = 0; i < 100; i++) {
		token_generate(tok, sizeof(tok));
		snprintf(buf, sizeof(buf), "auth user=%s ok", tok);
		ck_assert_str_eq(token_redact(buf),
		    "auth user=" TOKEN_REDACTED " ok");
	}
	for (i = 0; i < 100; i++) {
		token_generate_prefixed(APIKEY_PREFIX, key, sizeof(key));
		snprintf(buf, sizeof(buf), "auth key=%s ok", key);
		ck_assert_str_eq(token_redact(buf),
		    "auth key=" APIKEY_REDACTED " ok");
	}
	ck_assert_ptr_null(token_redact(NULL));
}
END_TEST

/* Build the token suite: one TCase per function group. */
Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc;

	tc = tcase_create("key");
	tcase_add_test(tc, test_key_create_load);
	tcase_add_test(tc, test_key_distinct);
	tcase_add_test(tc, test_key_existing);
	tcase_add_test(tc, test_key_wrong_size);
	tcase_add_test(tc, test_key_missing);
	tcase_add_test(tc, test_key_no_dir);
	tcase_add_test(tc, test_key_symlink);
	tcase_add_test(tc, test_key_race);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("generate");
	tcase_add_test(tc, test_generate);
	tcase_add_test(tc, test_generate_big_buffer);
	tcase_add_exit_test(tc, test_generate_short_buffer, 255);
	tcase_add_test(tc, test_generate_apikey);
	tcase_add_exit_test(tc, test_generate_apikey_short_buffer, 255);
	suite_add_tcase(s, tc);

	tc = tcase_create("is_token");
	tcase_add_loop_test(tc, test_is_token, 0, NELEM(is_token_cases));
	tcase_add_test(tc, test_is_token_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_test(tc, test_hash_keyed);
	tcase_add_test(tc, test_hash_known);
	tcase_add_test(tc, test_hash_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("redact");
	tcase_add_loop_test(tc, test_redact, 0, NELEM(redact_cases));
	tcase_add_test(tc, test_redact_generated);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the token suite; exit status reflects any failure. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(token_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
