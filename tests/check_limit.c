/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "limit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "err.h"
#include "store.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define K        1024LL
#define M        (1024LL * 1024)
#define G        (1024LL * 1024 * 1024)
#define T        (1024LL * 1024 * 1024 * 1024)

enum kind { RATE, SIZE, COUNT, DURATION };

/* A text that parses (with <flags>) to <v>, and formats back as <fmt>. */
static const struct {
	enum kind kind;
	const char *text;
	int flags;
	int64_t v;
	const char *fmt;
} good[] = {
	{ RATE, "1", 0, 1, "1" },
	{ RATE, "5M", 0, 5 * M, "5M" },
	{ RATE, "5m", 0, 5 * M, "5M" },
	{ RATE, "1500", 0, 1500, "1500" },
	{ RATE, "2048", 0, 2 * K, "2K" },
	{ RATE, "1536K", 0, 1536 * K, "1536K" },
	{ RATE, "100M", 0, 100 * M, "100M" },
	{ RATE, "1T", 0, T, "1T" },
	{ RATE, "1099511627776", 0, T, "1T" },
	{ RATE, "007k", 0, 7 * K, "7K" },
	{ RATE, "none", 0, 0, "none" },
	{ RATE, "None", LIMIT_DEFAULT, 0, "none" },
	{ RATE, "default", LIMIT_DEFAULT, LIMIT_IS_DEFAULT, "default" },
	{ RATE, "DEFAULT", LIMIT_DEFAULT, LIMIT_IS_DEFAULT, "default" },
	{ SIZE, "10G", 0, 10 * G, "10G" },
	{ SIZE, "1024T", 0, 1024 * T, "1024T" },
	{ SIZE, "3g", 0, 3 * G, "3G" },
	{ SIZE, "none", 0, 0, "none" },
	{ COUNT, "1", 0, 1, "1" },
	{ COUNT, "60", 0, 60, "60" },
	{ COUNT, "1000000", 0, 1000000, "1000000" },
	{ COUNT, "none", 0, 0, "none" },
	{ COUNT, "default", LIMIT_DEFAULT, LIMIT_IS_DEFAULT, "default" },
	{ DURATION, "1", 0, 1, "1s" },
	{ DURATION, "90s", 0, 90, "1m30s" },
	{ DURATION, "5m", 0, 300, "5m" },
	{ DURATION, "1h30m", 0, 5400, "1h30m" },
	{ DURATION, "2w", 0, 14 * 86400, "14d" },
	{ DURATION, "366d", 0, 366 * 86400, "366d" },
	{ DURATION, "none", 0, 0, "none" },
	{ DURATION, "default", LIMIT_DEFAULT, LIMIT_IS_DEFAULT, "default" },
};

/* A text each kind refuses (with <flags>). */
static const struct {
	enum kind kind;
	const char *text;
	int flags;
} bad[] = {
	{ RATE, "", 0 },
	{ RATE, "0", 0 },
	{ RATE, "0K", 0 },
	{ RATE, "-1", 0 },
	{ RATE, "+1", 0 },
	{ RATE, " 1", 0 },
	{ RATE, "1 ", 0 },
	{ RATE, "5MB", 0 },
	{ RATE, "5MiB", 0 },
	{ RATE, "5B", 0 },
	{ RATE, "5P", 0 },
	{ RATE, "1.5M", 0 },
	{ RATE, "M", 0 },
	{ RATE, "0x10", 0 },
	{ RATE, "2T", 0 },
	{ RATE, "1099511627777", 0 },
	{ RATE, "99999999999999999999999", 0 },
	{ RATE, "default", 0 },
	{ RATE, "nonee", LIMIT_DEFAULT },
	{ SIZE, "0", 0 },
	{ SIZE, "1025T", 0 },
	{ SIZE, "9223372036854775807", 0 },
	{ SIZE, "10G/30d", 0 },
	{ COUNT, "0", 0 },
	{ COUNT, "1000001", 0 },
	{ COUNT, "1K", 0 },
	{ COUNT, "-3", 0 },
	{ COUNT, "", 0 },
	{ COUNT, "default", 0 },
	{ DURATION, "0", 0 },
	{ DURATION, "0s", 0 },
	{ DURATION, "367d", 0 },
	{ DURATION, "5x", 0 },
	{ DURATION, "-5", 0 },
	{ DURATION, "", 0 },
	{ DURATION, "default", 0 },
};

/* Parse <text> as <kind>. */
static int
parse(enum kind kind, const char *text, int flags, int64_t *vp,
    const char **why)
{
	switch (kind) {
	case RATE:
		return limit_parse_rate(text, flags, vp, why);
	case SIZE:
		return limit_parse_size(text, flags, vp, why);
	case COUNT:
		return limit_parse_count(text, flags, vp, why);
	default:
		return limit_parse_duration(text, flags, vp, why);
	}
}

/* Format <v> as <kind>. */
static char *
format(enum kind kind, int64_t v, char *buf, size_t len)
{
	switch (kind) {
	case RATE:
	case SIZE:
		return limit_format_size(v, buf, len);
	case COUNT:
		return limit_format_count(v, buf, len);
	default:
		return limit_format_duration(v, buf, len);
	}
}

/* Each good text parses to its value and formats back the same way. */
START_TEST(test_good)
{
	char buf[LIMIT_STRLEN];
	const char *why = NULL;
	int64_t v = -99, again = -99;

	ck_assert_msg(parse(good[_i].kind, good[_i].text, good[_i].flags, &v,
	                  &why) == 0,
	    "'%s' refused", good[_i].text);
	ck_assert_int_eq(v, good[_i].v);
	ck_assert_str_eq(format(good[_i].kind, v, buf, sizeof(buf)),
	    good[_i].fmt);
	/* What is printed reads back as the same value. */
	ck_assert_int_eq(parse(good[_i].kind, buf, LIMIT_DEFAULT, &again, NULL),
	    0);
	ck_assert_int_eq(again, v);
}
END_TEST

/* Each bad text is refused, with a reason, and *vp is left alone. */
START_TEST(test_bad)
{
	const char *why = NULL;
	int64_t v = -99;

	ck_assert_msg(parse(bad[_i].kind, bad[_i].text, bad[_i].flags, &v,
	                  &why) == PORTHOLE_ERR_INVALID_FORMAT,
	    "'%s' accepted", bad[_i].text);
	ck_assert_int_eq(v, -99);
	ck_assert_ptr_nonnull(why);
	ck_assert(why[0] != '\0');
}
END_TEST

/* SIZE/PERIOD: both parts, the period from 1h to 366d. */
START_TEST(test_quota)
{
	char buf[LIMIT_STRLEN];
	const char *why = NULL;
	int64_t b = -99, p = -99;

	ck_assert_int_eq(limit_parse_quota("10G/30d", 0, &b, &p, &why), 0);
	ck_assert_int_eq(b, 10 * G);
	ck_assert_int_eq(p, 30 * 86400);
	ck_assert_str_eq(limit_format_quota(b, p, buf, sizeof(buf)), "10G/30d");
	ck_assert_int_eq(limit_parse_quota("1500/1h30m", 0, &b, &p, NULL), 0);
	ck_assert_int_eq(b, 1500);
	ck_assert_int_eq(p, 5400);
	ck_assert_str_eq(limit_format_quota(b, p, buf, sizeof(buf)),
	    "1500/1h30m");
	ck_assert_int_eq(limit_parse_quota("1k/3600", 0, &b, &p, NULL), 0);
	ck_assert_str_eq(limit_format_quota(b, p, buf, sizeof(buf)), "1K/1h");
	ck_assert_int_eq(limit_parse_quota("none", 0, &b, &p, NULL), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(p, 0);
	ck_assert_str_eq(limit_format_quota(b, p, buf, sizeof(buf)), "none");
	ck_assert_int_eq(limit_parse_quota("default", LIMIT_DEFAULT, &b, &p,
	                     NULL),
	    0);
	ck_assert_int_eq(b, LIMIT_IS_DEFAULT);
	ck_assert_int_eq(p, LIMIT_IS_DEFAULT);
	ck_assert_str_eq(limit_format_quota(b, p, buf, sizeof(buf)), "default");
	b = p = -99;
	ck_assert_int_eq(limit_parse_quota("default", 0, &b, &p, &why),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_nonnull(strstr(why, "SIZE/PERIOD"));
	ck_assert_int_eq(limit_parse_quota("10G", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota("10G/", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota("/30d", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota("0/30d", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota("10G/59m59s", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota("10G/367d", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota("10GB/30d", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota("10G/30d/1", 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(limit_parse_quota(NULL, 0, &b, &p, NULL),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(b, -99);
	ck_assert_int_eq(p, -99);
}
END_TEST

/* Numbers from the API and the store: 0 (none) or within bounds. */
START_TEST(test_valid)
{
	ck_assert(limit_rate_valid(0));
	ck_assert(limit_rate_valid(1));
	ck_assert(limit_rate_valid(LIMIT_RATE_MAX));
	ck_assert(!limit_rate_valid(LIMIT_RATE_MAX + 1));
	ck_assert(!limit_rate_valid(-1));
	ck_assert(limit_size_valid(LIMIT_SIZE_MAX));
	ck_assert(!limit_size_valid(LIMIT_SIZE_MAX + 1));
	ck_assert(limit_quota_valid(0, 0));
	ck_assert(!limit_quota_valid(0, 3600));
	ck_assert(limit_quota_valid(1, 3600));
	ck_assert(!limit_quota_valid(1, 3599));
	ck_assert(limit_quota_valid(1, 366 * 86400));
	ck_assert(!limit_quota_valid(1, 366 * 86400 + 1));
	ck_assert(!limit_quota_valid(-1, 3600));
	ck_assert(limit_count_valid(0));
	ck_assert(limit_count_valid(1000000));
	ck_assert(!limit_count_valid(1000001));
	ck_assert(!limit_count_valid(-5));
	ck_assert(limit_duration_valid(0));
	ck_assert(limit_duration_valid(366 * 86400));
	ck_assert(!limit_duration_valid(366 * 86400 + 1));
	ck_assert(!limit_duration_valid(-1));
}
END_TEST

/* The account's value when set (0 is none), else the server's. */
START_TEST(test_effective)
{
	ck_assert_int_eq(limit_effective(-1, 5), 5);
	ck_assert_int_eq(limit_effective(-1, 0), 0);
	ck_assert_int_eq(limit_effective(0, 5), 0);
	ck_assert_int_eq(limit_effective(7, 5), 7);
}
END_TEST

/* The account's own limits win; unset ones follow the server's. */
START_TEST(test_resolve)
{
	struct store_account a;
	struct limit_set eff;
	struct conf *conf = conf_new();
	char err[256];

	ck_assert_int_eq(conf_apply_line(conf, "BandwidthLimit 5M", 0, err,
	                     sizeof(err)),
	    0);
	ck_assert_int_eq(conf_apply_line(conf, "TransferQuota 10G/30d", 0, err,
	                     sizeof(err)),
	    0);
	ck_assert_int_eq(conf_apply_line(conf, "ConnectionRateLimit 60", 0, err,
	                     sizeof(err)),
	    0);
	memset(&a, 0, sizeof(a));
	a.bandwidth_limit = a.quota_bytes = a.connection_rate = -1;
	a.connections_per_source = a.idle_timeout_s = -1;
	limit_resolve(&a, conf, &eff);
	ck_assert_int_eq(eff.bandwidth, 5 * M);
	ck_assert_int_eq(eff.quota_bytes, 10 * G);
	ck_assert_int_eq(eff.quota_period_s, 30 * 86400);
	ck_assert_int_eq(eff.connection_rate, 60);
	ck_assert_int_eq(eff.per_source, 0);
	ck_assert_int_eq(eff.idle_timeout_s, 0);
	/* Its own: none lifts the server's; values win. */
	a.bandwidth_limit = 0;
	a.quota_bytes = 0;
	a.quota_period_s = 0;
	a.connection_rate = 5;
	a.connections_per_source = 2;
	a.idle_timeout_s = 90;
	limit_resolve(&a, conf, &eff);
	ck_assert_int_eq(eff.bandwidth, 0);
	ck_assert_int_eq(eff.quota_bytes, 0);
	ck_assert_int_eq(eff.quota_period_s, 0);
	ck_assert_int_eq(eff.connection_rate, 5);
	ck_assert_int_eq(eff.per_source, 2);
	ck_assert_int_eq(eff.idle_timeout_s, 90);
	a.quota_bytes = K;
	a.quota_period_s = 3600;
	limit_resolve(&a, conf, &eff);
	ck_assert_int_eq(eff.quota_bytes, K);
	ck_assert_int_eq(eff.quota_period_s, 3600);
	conf_free(conf);
}
END_TEST

/* A short buffer is cut, never overrun. */
START_TEST(test_short_buffer)
{
	char buf[4];

	memset(buf, 'x', sizeof(buf));
	ck_assert_str_eq(limit_format_quota(10 * G, 30 * 86400, buf,
	                     sizeof(buf)),
	    "10G");
	ck_assert_str_eq(limit_format_duration(5400, buf, sizeof(buf)), "1h3");
	ck_assert_str_eq(limit_format_size(1500, buf, sizeof(buf)), "150");
}
END_TEST

Suite *limit_suite(void);

/* Build the limit suite: one TCase per function group. */
Suite *
limit_suite(void)
{
	Suite *s = suite_create("limit");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_good, 0, NELEM(good));
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad));
	tcase_add_test(tc, test_quota);
	suite_add_tcase(s, tc);
	tc = tcase_create("values");
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_effective);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_short_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(limit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
