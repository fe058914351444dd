/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "ratelim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#define MIB (1024 * 1024)
#define SEC 1000000LL /* µs */

START_TEST(test_burst)
{
	ck_assert_uint_eq(ratelim_burst(1), RATELIM_BURST_MIN);
	ck_assert_uint_eq(ratelim_burst(5 * MIB), 5 * MIB / 10);
	ck_assert_uint_eq(ratelim_burst(100 * MIB), 10 * MIB);
}
END_TEST

START_TEST(test_unlimited)
{
	struct ratelim_bucket b;

	memset(&b, 0, sizeof(b));
	ratelim_bucket_set(&b, 0, 0);
	ck_assert_uint_eq(ratelim_bucket_take(&b, 1 << 30, 0), 1 << 30);
	ck_assert_int_eq(ratelim_bucket_wait_us(&b, 1 << 30, 0), 0);
}
END_TEST

/* Starts full, then grants the rate: burst + rate * t over t. */
START_TEST(test_rate)
{
	struct ratelim_bucket b;
	uint64_t total = 0;
	int64_t now = 1000 * SEC, end = now + 10 * SEC, w;
	size_t got;

	memset(&b, 0, sizeof(b));
	ratelim_bucket_set(&b, 5 * MIB, now);
	while (now < end) {
		got = ratelim_bucket_take(&b, 256 * 1024, now);
		total += got;
		if (got == 0) {
			w = ratelim_bucket_wait_us(&b, 256 * 1024, now);
			ck_assert_int_gt(w, 0);
			now += w;
		}
	}
	/* 10 s at 5 MiB/s, plus the burst of half a MiB, at most. */
	ck_assert_uint_le(total, 50ULL * MIB + 5 * MIB / 10);
	ck_assert_uint_ge(total, 50ULL * MIB - 256 * 1024);
}
END_TEST

/* An empty bucket grants nothing smaller than its least grant. */
START_TEST(test_min_grant)
{
	struct ratelim_bucket b;
	int64_t now = 5 * SEC;

	memset(&b, 0, sizeof(b));
	ratelim_bucket_set(&b, 1 * MIB, now);
	ck_assert_uint_eq(ratelim_bucket_take(&b, 10 * MIB, now),
	    ratelim_burst(1 * MIB));
	ck_assert_uint_eq(ratelim_bucket_take(&b, 10 * MIB, now), 0);
	/* A millisecond earns 1 KiB or so: still under the least grant. */
	ck_assert_uint_eq(ratelim_bucket_take(&b, 10 * MIB, now + 1000), 0);
	/* ... but a small want is granted as soon as it fits. */
	ck_assert_uint_eq(ratelim_bucket_take(&b, 100, now + 1000), 100);
	ck_assert_int_gt(ratelim_bucket_wait_us(&b, 10 * MIB, now + 1000), 0);
	ck_assert_uint_eq(ratelim_bucket_take(&b, 10 * MIB, now + SEC / 10),
	    ratelim_burst(1 * MIB) - 100);
}
END_TEST

/* A rate change keeps the tokens, clipped to the new burst. */
START_TEST(test_change)
{
	struct ratelim_bucket b;

	memset(&b, 0, sizeof(b));
	ratelim_bucket_set(&b, 100 * MIB, 0);
	ratelim_bucket_set(&b, 1 * MIB, 0);
	ck_assert_uint_eq(ratelim_bucket_take(&b, 100 * MIB, 0),
	    ratelim_burst(1 * MIB));
	ratelim_bucket_set(&b, 0, 0);
	ck_assert_uint_eq(ratelim_bucket_take(&b, 7, 0), 7);
}
END_TEST

/* N + k within the span: exactly k refused; later ones admitted. */
START_TEST(test_window)
{
	struct ratelim_window w;
	int i, admitted = 0;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < 13; i++)
		admitted += ratelim_window_admit(&w, 10, 1000 + i, 60000);
	ck_assert_int_eq(admitted, 10);
	/* Still within a minute of the first. */
	ck_assert_int_eq(ratelim_window_admit(&w, 10, 60999, 60000), 0);
	/* The first has left the window: one more. */
	ck_assert_int_eq(ratelim_window_admit(&w, 10, 61000, 60000), 1);
	ck_assert_int_eq(ratelim_window_admit(&w, 10, 61000, 60000), 0);
	ck_assert_int_eq(ratelim_window_admit(&w, 10, 61001, 60000), 1);
	/* A lower limit keeps the newest; none is admitted over it. */
	ck_assert_int_eq(ratelim_window_admit(&w, 3, 61002, 60000), 0);
	/* Off: everything. */
	ck_assert_int_eq(ratelim_window_admit(&w, 0, 61002, 60000), 1);
	ratelim_window_clear(&w);
	ck_assert_ptr_null(w.at);
}
END_TEST

static Suite *
ratelim_suite(void)
{
	Suite *s = suite_create("ratelim");
	TCase *tc;

	tc = tcase_create("bucket");
	tcase_add_test(tc, test_burst);
	tcase_add_test(tc, test_unlimited);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_min_grant);
	tcase_add_test(tc, test_change);
	suite_add_tcase(s, tc);

	tc = tcase_create("window");
	tcase_add_test(tc, test_window);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(ratelim_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
