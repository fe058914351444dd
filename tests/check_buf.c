/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "buf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

START_TEST(test_new_is_empty)
{
	struct buf *b;

	b = buf_new();
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(buf_str(b), "");
	ck_assert_uint_eq(buf_len(b), 0);
	buf_free(b);
}
END_TEST

START_TEST(test_free_null)
{
	buf_free(NULL);
}
END_TEST

START_TEST(test_puts_putc_append)
{
	struct buf *b;

	b = buf_new();
	buf_puts(b, "hello");
	buf_putc(b, ',');
	buf_putc(b, ' ');
	buf_append(b, "world!!", 5);
	buf_puts(b, "");
	buf_append(b, NULL, 0);
	ck_assert_str_eq(buf_str(b), "hello, world");
	ck_assert_uint_eq(buf_len(b), 12);
	buf_free(b);
}
END_TEST

START_TEST(test_append_embedded_nul)
{
	struct buf *b;

	b = buf_new();
	buf_append(b, "a\0b", 3);
	ck_assert_uint_eq(buf_len(b), 3);
	ck_assert_int_eq(memcmp(buf_str(b), "a\0b", 4), 0);
	buf_putc(b, '\0');
	ck_assert_uint_eq(buf_len(b), 4);
	ck_assert_int_eq(buf_str(b)[4], '\0');
	buf_free(b);
}
END_TEST

START_TEST(test_grow_large)
{
	struct buf *b;
	char chunk[1000];
	size_t i;

	memset(chunk, 'x', sizeof(chunk));
	b = buf_new();
	for (i = 0; i < 100; i++) {
		chunk[0] = (char)('a' + i % 26);
		buf_append(b, chunk, sizeof(chunk));
		ck_assert_uint_eq(buf_len(b), (i + 1) * sizeof(chunk));
		ck_assert_int_eq(buf_str(b)[buf_len(b)], '\0');
	}
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(buf_str(b)[i * sizeof(chunk)],
		    (char)('a' + i % 26));
		ck_assert_int_eq(buf_str(b)[i * sizeof(chunk) + 1], 'x');
	}
	buf_free(b);
}
END_TEST

START_TEST(test_printf)
{
	struct buf *b;

	b = buf_new();
	buf_printf(b, "%s=%d", "port", 41234);
	buf_printf(b, "%s", "");
	buf_printf(b, ";%c%05u", 'x', 42U);
	ck_assert_str_eq(buf_str(b), "port=41234;x00042");
	ck_assert_uint_eq(buf_len(b), strlen("port=41234;x00042"));
	buf_free(b);
}
END_TEST

START_TEST(test_printf_grows)
{
	struct buf *b;
	char *big;
	size_t i;

	big = malloc(10001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'q', 10000);
	big[10000] = '\0';
	b = buf_new();
	buf_puts(b, "<");
	/* Each call lands exactly where the last one ended. */
	for (i = 0; i < 3; i++)
		buf_printf(b, "%s|%zu", big, i);
	ck_assert_uint_eq(buf_len(b), 1 + 3 * (10000 + 2));
	ck_assert_int_eq(buf_str(b)[0], '<');
	ck_assert_int_eq(buf_str(b)[10001], '|');
	ck_assert_int_eq(buf_str(b)[10002], '0');
	ck_assert_int_eq(buf_str(b)[1 + 10002 + 10001], '1');
	ck_assert_str_eq(buf_str(b) + buf_len(b) - 2, "|2");
	buf_free(b);
	free(big);
}
END_TEST

START_TEST(test_printf_exact_fit)
{
	struct buf *b;
	size_t n;

	/* Lengths around the initial allocation, to hit the boundary. */
	for (n = 50; n < 140; n++) {
		b = buf_new();
		buf_printf(b, "%*s", (int)n, "");
		ck_assert_uint_eq(buf_len(b), n);
		ck_assert_uint_eq(strlen(buf_str(b)), n);
		buf_free(b);
	}
}
END_TEST

/* A variadic wrapper, as callers of buf_vprintf write them. */
static void __attribute__((format(printf, 2, 3)))
wrap_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

START_TEST(test_vprintf)
{
	struct buf *b;

	b = buf_new();
	wrap_printf(b, "%s:%u", "tunnel.example.com", 41234U);
	ck_assert_str_eq(buf_str(b), "tunnel.example.com:41234");
	buf_free(b);
}
END_TEST

START_TEST(test_reset)
{
	struct buf *b;

	b = buf_new();
	buf_puts(b,
	    "some text that is longer than the first allocation, "
	    "so that reset has something to keep");
	buf_reset(b);
	ck_assert_str_eq(buf_str(b), "");
	ck_assert_uint_eq(buf_len(b), 0);
	buf_puts(b, "again");
	ck_assert_str_eq(buf_str(b), "again");
	buf_free(b);
}
END_TEST

START_TEST(test_steal)
{
	struct buf *b;
	char *s;

	b = buf_new();
	buf_puts(b, "owned by the caller");
	s = buf_steal(b);
	ck_assert_str_eq(s, "owned by the caller");
	ck_assert_str_eq(buf_str(b), "");
	ck_assert_uint_eq(buf_len(b), 0);
	/* The buffer stays usable after a steal. */
	buf_puts(b, "next");
	ck_assert_str_eq(buf_str(b), "next");
	ck_assert_str_eq(s, "owned by the caller");
	free(s);
	buf_free(b);
}
END_TEST

START_TEST(test_steal_empty)
{
	struct buf *b;
	char *s;

	b = buf_new();
	s = buf_steal(b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);
	buf_free(b);
}
END_TEST

Suite *buf_suite(void);

/* The buf tests, one TCase per group of functions. */
Suite *
buf_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("buf");

	tc = tcase_create("lifecycle");
	tcase_add_test(tc, test_new_is_empty);
	tcase_add_test(tc, test_free_null);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_steal);
	tcase_add_test(tc, test_steal_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("append");
	tcase_add_test(tc, test_puts_putc_append);
	tcase_add_test(tc, test_append_embedded_nul);
	tcase_add_test(tc, test_grow_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("printf");
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_printf_grows);
	tcase_add_test(tc, test_printf_exact_fit);
	tcase_add_test(tc, test_vprintf);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(buf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
