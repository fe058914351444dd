/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "id.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "log.h"

Suite *id_suite(void);

static const char *const id_prefixes[] = { "ep", "ss", "ac", "ev", "x",
	"abcdefgh" };

/* Predicate: <c> is a base62 character. */
static int
is_base62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

/* qsort comparator for an array of C strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_id_new_format)
{
	const char *prefix = id_prefixes[_i];
	size_t plen = strlen(prefix), i;
	char *s;

	s = id_new(prefix);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), plen + 1 + ID_RANDOM_LEN);
	ck_assert_int_eq(strncmp(s, prefix, plen), 0);
	ck_assert_int_eq(s[plen], '_');
	for (i = plen + 1; s[i] != '\0'; i++)
		ck_assert_msg(is_base62(s[i]), "bad character in %s", s);
	ck_assert_int_eq(id_is_valid(s, prefix), 1);
	ck_assert_int_eq(id_is_valid(s, "zz"), 0);
	free(s);
}
END_TEST

START_TEST(test_id_new_unique)
{
	enum { N = 4096 };
	char **ids;
	size_t i;

	ids = calloc(N, sizeof(*ids));
	ck_assert_ptr_nonnull(ids);
	for (i = 0; i < N; i++)
		ids[i] = id_new("ep");
	qsort(ids, N, sizeof(*ids), cmp_str);
	for (i = 1; i < N; i++)
		ck_assert_str_ne(ids[i - 1], ids[i]);
	for (i = 0; i < N; i++)
		free(ids[i]);
	free(ids);
}
END_TEST

/*
 * Every base62 character turns up about equally often. The bound is
 * about seven standard deviations, yet catches the 25% excess that
 * "byte % 62" would give the first eight characters.
 */
START_TEST(test_id_new_uniform)
{
	enum { N = 5000 };
	size_t counts[256] = { 0 }, i, j, expect, total = 0;
	char *s;

	for (i = 0; i < N; i++) {
		s = id_new("ev");
		for (j = 3; s[j] != '\0'; j++)
			counts[(unsigned char)s[j]]++;
		free(s);
	}
	expect = (size_t)N * ID_RANDOM_LEN / 62;
	for (i = 0; i < 256; i++) {
		if (!is_base62((char)i)) {
			ck_assert_uint_eq(counts[i], 0);
			continue;
		}
		total += counts[i];
		ck_assert_msg(counts[i] + 300 > expect &&
		        counts[i] < expect + 300,
		    "character %c seen %zu times, expected about %zu", (int)i,
		    counts[i], expect);
	}
	ck_assert_uint_eq(total, (size_t)N * ID_RANDOM_LEN);
}
END_TEST

static const char *const id_bad_prefixes[] = { NULL, "", "EP", "e_p", "e1",
	"abcdefghi" };

/* A bad prefix is a programming error: id_new calls fatal (exit 255). */
START_TEST(test_id_new_bad_prefix)
{
	char *s;

	s = id_new(id_bad_prefixes[_i]);
	free(s);
}
END_TEST

static const struct {
	const char *s;
	const char *prefix;
	int valid;
} id_valid_cases[] = {
	{ "ep_0123456789abcdefghijABCD", "ep", 1 },
	{ "ep_zzzzzzzzzzzzzzzzzzzzzzzz", "ep", 1 },
	{ "ac_AAAAAAAAAAAAAAAAAAAAAAAA", "ac", 1 },
	{ "ep_0123456789abcdefghijABC", "ep", 0 }, /* 23 characters */
	{ "ep_0123456789abcdefghijABCDE", "ep", 0 }, /* 25 characters */
	{ "ep_0123456789abcdefghijABCD", "ss", 0 }, /* other prefix */
	{ "ep_0123456789abcdefghijABCD", "e", 0 }, /* longer prefix */
	{ "ep_0123456789abcdefghijABCD", "ep_", 0 },
	{ "ep0123456789abcdefghijABCDE", "ep", 0 }, /* no '_' */
	{ "ep-0123456789abcdefghijABCD", "ep", 0 },
	{ "ep_0123456789abcdefghij-BCD", "ep", 0 },
	{ "ep_0123456789abcdefghij+BCD", "ep", 0 },
	{ "ep_0123456789abcdefghij/BCD", "ep", 0 },
	{ "ep_0123456789abcdefghij BCD", "ep", 0 },
	{ "ep_0123456789abcdefghij_BCD", "ep", 0 },
	{ "ep_0123456789abcdefghi\xc3\xa9"
	  "BCD",
	    "ep", 0 },
	{ "ep_", "ep", 0 },
	{ "", "ep", 0 },
	{ "_0123456789abcdefghijABCD", "", 0 },
	{ NULL, "ep", 0 },
	{ "ep_0123456789abcdefghijABCD", NULL, 0 },
};

START_TEST(test_id_is_valid)
{
	ck_assert_msg(id_is_valid(id_valid_cases[_i].s,
	                  id_valid_cases[_i].prefix) ==
	        id_valid_cases[_i].valid,
	    "case %d: \"%s\" prefix \"%s\"", _i,
	    id_valid_cases[_i].s != NULL ? id_valid_cases[_i].s : "(null)",
	    id_valid_cases[_i].prefix != NULL ? id_valid_cases[_i].prefix
	                                      : "(null)");
}
END_TEST

/* The id suite: id_new and id_is_valid. */
Suite *
id_suite(void)
{
	const char *fork_mode;
	Suite *s;
	TCase *tc;

	s = suite_create("id");

	tc = tcase_create("id_new");
	tcase_add_loop_test(tc, test_id_new_format, 0,
	    sizeof(id_prefixes) / sizeof(id_prefixes[0]));
	tcase_add_test(tc, test_id_new_unique);
	tcase_add_test(tc, test_id_new_uniform);
	/* Exit tests need fork mode; CK_FORK=no (for gdb) skips them. */
	if ((fork_mode = getenv("CK_FORK")) == NULL ||
	    strcmp(fork_mode, "no") != 0)
		tcase_add_loop_exit_test(tc, test_id_new_bad_prefix, 255, 0,
		    sizeof(id_bad_prefixes) / sizeof(id_bad_prefixes[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("id_is_valid");
	tcase_add_loop_test(tc, test_id_is_valid, 0,
	    sizeof(id_valid_cases) / sizeof(id_valid_cases[0]));
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	log_init("check_id", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	sr = srunner_create(id_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
