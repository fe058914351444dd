/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "err.h"

Suite *pool_suite(void);

/* What a pool_pick callback saw and how it should answer. */
struct walk {
	uint32_t seen[65536]; /* times each port was proposed */
	uint16_t order[65536]; /* ports in the order proposed */
	uint32_t calls;
	uint32_t take_at; /* take the port on this call (1-based); 0: never */
	int stop_code; /* if nonzero, return it on call take_at */
};

/* Record <port>, then take it, refuse it or stop, as <arg> asks. */
static int
walk_try(uint16_t port, void *arg)
{
	struct walk *w = arg;

	w->seen[port]++;
	w->order[w->calls++] = port;
	if (w->take_at != 0 && w->calls == w->take_at)
		return w->stop_code != 0 ? w->stop_code : 0;
	return PORTHOLE_ERR_EXISTS;
}

static const struct {
	const char *s;
	int r;
	uint16_t low;
	uint16_t high;
} range_cases[] = {
	{ "10000-59999", 0, 10000, 59999 },
	{ "1-65535", 0, 1, 65535 },
	{ "5-6", 0, 5, 6 },
	{ "8080", 0, 8080, 8080 },
	{ "7-7", 0, 7, 7 },
	{ "65535", 0, 65535, 65535 },
	{ "00080-00081", 0, 80, 81 },
	{ "0-10", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "0", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "10-5", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "70000", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "65536", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "1-65536", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "99999999999999999999", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "a-b", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "10-", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "-10", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ " 5-6", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "5-6 ", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "5 - 6", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "+5-6", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "5-6-7", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "-", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
	{ "0x10-0x20", PORTHOLE_ERR_INVALID_FORMAT, 0, 0 },
};

START_TEST(test_parse_range)
{
	uint16_t low = 1234, high = 1234;
	int r;

	r = pool_parse_range(range_cases[_i].s, &low, &high);
	ck_assert_msg(r == range_cases[_i].r, "\"%s\": got %d, want %d",
	    range_cases[_i].s, r, range_cases[_i].r);
	ck_assert_uint_eq(low, range_cases[_i].low);
	ck_assert_uint_eq(high, range_cases[_i].high);
}
END_TEST

START_TEST(test_new_invalid)
{
	ck_assert_ptr_null(pool_new(0, 10));
	ck_assert_ptr_null(pool_new(10, 5));
	ck_assert_ptr_null(pool_new(0, 0));
	pool_free(NULL);
}
END_TEST

START_TEST(test_contains)
{
	struct pool *pool;

	pool = pool_new(100, 200);
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(pool_contains(pool, 99), 0);
	ck_assert_int_eq(pool_contains(pool, 100), 1);
	ck_assert_int_eq(pool_contains(pool, 150), 1);
	ck_assert_int_eq(pool_contains(pool, 200), 1);
	ck_assert_int_eq(pool_contains(pool, 201), 0);
	ck_assert_int_eq(pool_contains(pool, 0), 0);
	ck_assert_int_eq(pool_contains(pool, 65535), 0);
	pool_free(pool);
}
END_TEST

/*
 * Ranges for the full walk: sizes 1, 2, 3, a prime, a power of two, a
 * highly composite one, the edges of the port space, and all of it.
 */
static const struct {
	uint16_t low;
	uint16_t high;
} walk_ranges[] = {
	{ 1, 1 },
	{ 65535, 65535 },
	{ 500, 501 },
	{ 500, 502 },
	{ 1000, 1096 }, /* 97, prime */
	{ 2000, 2255 }, /* 256 */
	{ 3000, 3359 }, /* 360 */
	{ 65000, 65535 },
	{ 1, 1024 },
	{ 1, 65535 },
};

START_TEST(test_full_walk)
{
	struct walk *w;
	struct pool *pool;
	uint16_t low = walk_ranges[_i].low, high = walk_ranges[_i].high;
	uint16_t port = 4321;
	uint32_t p, want, n = (uint32_t)high - low + 1;
	int round;

	pool = pool_new(low, high);
	ck_assert_ptr_nonnull(pool);
	/* Several rounds, so several starts and strides are exercised. */
	for (round = 0; round < (n > 10000 ? 2 : 20); round++) {
		w = calloc(1, sizeof(*w));
		ck_assert_ptr_nonnull(w);
		ck_assert_int_eq(pool_pick(pool, walk_try, w, &port),
		    PORTHOLE_ERR_EXHAUSTED);
		ck_assert_uint_eq(port, 0);
		ck_assert_uint_eq(w->calls, n);
		/* A passing ck_assert costs a write(2): test, then abort. */
		for (p = 0; p <= 65535; p++) {
			want = p >= low && p <= high ? 1 : 0;
			if (w->seen[p] != want)
				ck_abort_msg("%u-%u: port %u proposed %u times",
				    low, high, p, w->seen[p]);
		}
		free(w);
	}
	pool_free(pool);
}
END_TEST

START_TEST(test_take)
{
	struct walk *w;
	struct pool *pool;
	uint16_t port = 0;

	pool = pool_new(20000, 20099);
	ck_assert_ptr_nonnull(pool);
	w = calloc(1, sizeof(*w));
	ck_assert_ptr_nonnull(w);
	w->take_at = 5;
	ck_assert_int_eq(pool_pick(pool, walk_try, w, &port), 0);
	ck_assert_uint_eq(w->calls, 5);
	ck_assert_uint_eq(port, w->order[4]);
	ck_assert(pool_contains(pool, port));

	/* The last candidate can still be taken. */
	memset(w, 0, sizeof(*w));
	w->take_at = 100;
	ck_assert_int_eq(pool_pick(pool, walk_try, w, &port), 0);
	ck_assert_uint_eq(w->calls, 100);
	ck_assert_uint_eq(port, w->order[99]);
	free(w);
	pool_free(pool);
}
END_TEST

static const int stop_codes[] = {
	PORTHOLE_ERR_INTERNAL,
	PORTHOLE_ERR_DENIED,
	PORTHOLE_ERR_SYSTEM,
	PORTHOLE_ERR_STORE,
	PORTHOLE_ERR_BUSY,
	PORTHOLE_ERR_EXHAUSTED,
};

START_TEST(test_stop)
{
	struct walk *w;
	struct pool *pool;
	uint16_t port = 4321;

	pool = pool_new(30000, 30049);
	ck_assert_ptr_nonnull(pool);
	w = calloc(1, sizeof(*w));
	ck_assert_ptr_nonnull(w);
	w->take_at = 3;
	w->stop_code = stop_codes[_i];
	ck_assert_int_eq(pool_pick(pool, walk_try, w, &port), stop_codes[_i]);
	ck_assert_uint_eq(w->calls, 3);
	ck_assert_uint_eq(port, 0);
	free(w);
	pool_free(pool);
}
END_TEST

START_TEST(test_single_port)
{
	struct walk *w;
	struct pool *pool;
	uint16_t port = 0;

	pool = pool_new(4242, 4242);
	ck_assert_ptr_nonnull(pool);
	w = calloc(1, sizeof(*w));
	ck_assert_ptr_nonnull(w);
	w->take_at = 1;
	ck_assert_int_eq(pool_pick(pool, walk_try, w, &port), 0);
	ck_assert_uint_eq(port, 4242);
	ck_assert_uint_eq(w->calls, 1);

	memset(w, 0, sizeof(*w));
	ck_assert_int_eq(pool_pick(pool, walk_try, w, &port),
	    PORTHOLE_ERR_EXHAUSTED);
	ck_assert_uint_eq(w->calls, 1);
	ck_assert_uint_eq(w->order[0], 4242);
	free(w);
	pool_free(pool);
}
END_TEST

START_TEST(test_random_order)
{
	struct walk *w;
	struct pool *pool;
	uint16_t port, first = 0;
	uint32_t stride, last_stride = 0;
	int i, starts = 0, strides = 0;

	/*
	 * 40 walks of 1000 ports that all share a start (or a stride)
	 * would happen by chance with odds of 1e-117 (or 400^-39).
	 */
	pool = pool_new(40000, 40999);
	ck_assert_ptr_nonnull(pool);
	w = calloc(1, sizeof(*w));
	ck_assert_ptr_nonnull(w);
	for (i = 0; i < 40; i++) {
		memset(w, 0, sizeof(*w));
		w->take_at = 2;
		ck_assert_int_eq(pool_pick(pool, walk_try, w, &port), 0);
		stride = (uint32_t)(w->order[1] + 1000 - w->order[0]) % 1000;
		if (i > 0 && w->order[0] != first)
			starts++;
		if (i > 0 && stride != last_stride)
			strides++;
		first = w->order[0];
		last_stride = stride;
	}
	ck_assert_int_gt(starts, 0);
	ck_assert_int_gt(strides, 0);
	free(w);
	pool_free(pool);
}
END_TEST

/* The pool suite: range parsing, construction and the random walk. */
Suite *
pool_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("pool");

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_range, 0,
	    sizeof(range_cases) / sizeof(range_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("new");
	tcase_add_test(tc, test_new_invalid);
	tcase_add_test(tc, test_contains);
	suite_add_tcase(s, tc);

	tc = tcase_create("pick");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_full_walk, 0,
	    sizeof(walk_ranges) / sizeof(walk_ranges[0]));
	tcase_add_test(tc, test_take);
	tcase_add_loop_test(tc, test_stop, 0,
	    sizeof(stop_codes) / sizeof(stop_codes[0]));
	tcase_add_test(tc, test_single_port);
	tcase_add_test(tc, test_random_order);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the pool suite; fail if any test failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() == -1)
		return EXIT_FAILURE;
	sr = srunner_create(pool_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
