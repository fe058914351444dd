/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "err.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#define UNKNOWN_TEXT "unknown error code"

/*
 * Every code err.h defines. A code added there without a case in
 * porthole_strerror() fails test_known; one added to porthole_strerror()
 * but not here fails test_unknown_next.
 */
static const struct {
	int code;
	const char *name;
} codes[] = {
	{ 0, "success" },
	{ PORTHOLE_ERR_INTERNAL, "INTERNAL" },
	{ PORTHOLE_ERR_ALLOC, "ALLOC" },
	{ PORTHOLE_ERR_INVALID_ARGUMENT, "INVALID_ARGUMENT" },
	{ PORTHOLE_ERR_INVALID_FORMAT, "INVALID_FORMAT" },
	{ PORTHOLE_ERR_NOT_FOUND, "NOT_FOUND" },
	{ PORTHOLE_ERR_EXISTS, "EXISTS" },
	{ PORTHOLE_ERR_DENIED, "DENIED" },
	{ PORTHOLE_ERR_EXHAUSTED, "EXHAUSTED" },
	{ PORTHOLE_ERR_STORE, "STORE" },
	{ PORTHOLE_ERR_SYSTEM, "SYSTEM" },
	{ PORTHOLE_ERR_BUSY, "BUSY" },
	{ PORTHOLE_ERR_UNAVAILABLE, "UNAVAILABLE" },
	{ PORTHOLE_ERR_UNSUPPORTED, "UNSUPPORTED" },
};

#define NCODES ((int)(sizeof(codes) / sizeof(codes[0])))

/* Each code has its own non-empty text, never the unknown-code text. */
START_TEST(test_known)
{
	const char *s, *t;
	int j;

	errno = ENOENT;
	s = porthole_strerror(codes[_i].code);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(*s != '\0', "%s: empty text", codes[_i].name);
	ck_assert_msg(strcmp(s, UNKNOWN_TEXT) != 0, "%s: no text",
	    codes[_i].name);
	for (j = 0; j < NCODES; j++) {
		if (j == _i)
			continue;
		errno = ENOENT;
		t = porthole_strerror(codes[j].code);
		ck_assert_msg(strcmp(s, t) != 0, "%s and %s share '%s'",
		    codes[_i].name, codes[j].name, s);
	}
}
END_TEST

/* The codes are distinct, negative and run -1, -2, … with no gap. */
START_TEST(test_codes_dense)
{
	int i;

	for (i = 0; i < NCODES; i++)
		ck_assert_int_eq(codes[i].code, -i);
}
END_TEST

/* The first code past the table, positives and extremes are unknown. */
START_TEST(test_unknown_next)
{
	ck_assert_str_eq(porthole_strerror(-NCODES), UNKNOWN_TEXT);
	ck_assert_str_eq(porthole_strerror(1), UNKNOWN_TEXT);
	ck_assert_str_eq(porthole_strerror(-100), UNKNOWN_TEXT);
	ck_assert_str_eq(porthole_strerror(INT_MIN), UNKNOWN_TEXT);
	ck_assert_str_eq(porthole_strerror(INT_MAX), UNKNOWN_TEXT);
}
END_TEST

/* PORTHOLE_ERR_SYSTEM reads errno at the call and leaves it alone. */
START_TEST(test_system_errno)
{
	errno = EACCES;
	ck_assert_str_eq(porthole_strerror(PORTHOLE_ERR_SYSTEM),
	    strerror(EACCES));
	ck_assert_int_eq(errno, EACCES);
	errno = EADDRINUSE;
	ck_assert_str_eq(porthole_strerror(PORTHOLE_ERR_SYSTEM),
	    strerror(EADDRINUSE));
}
END_TEST

/* A few texts that users see verbatim. */
START_TEST(test_texts)
{
	ck_assert_str_eq(porthole_strerror(0), "success");
	ck_assert_str_eq(porthole_strerror(PORTHOLE_ERR_NOT_FOUND),
	    "not found");
	ck_assert_str_eq(porthole_strerror(PORTHOLE_ERR_INVALID_FORMAT),
	    "invalid format");
}
END_TEST

Suite *err_suite(void);

/* Build the err suite. */
Suite *
err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc;

	tc = tcase_create("strerror");
	tcase_add_loop_test(tc, test_known, 0, NCODES);
	tcase_add_test(tc, test_codes_dense);
	tcase_add_test(tc, test_unknown_next);
	tcase_add_test(tc, test_system_errno);
	tcase_add_test(tc, test_texts);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the err suite; exit status reflects any failure. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(err_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
