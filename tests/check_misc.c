/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "misc.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "err.h"

#define SENTINEL ((int64_t)-4242)
#define NOW_MS   ((int64_t)1795608000000) /* 2026-11-25T12:00Z */

static const struct {
	const char *in;
	int64_t secs;
} convtime_ok[] = {
	{ "0", 0 },
	{ "1", 1 },
	{ "90", 90 },
	{ "00010", 10 },
	{ "30s", 30 },
	{ "30S", 30 },
	{ "10m", 600 },
	{ "2h", 7200 },
	{ "2H", 7200 },
	{ "1h30m", 5400 },
	{ "1h30", 3630 },
	{ "1d", 86400 },
	{ "7d", 604800 },
	{ "1w", 604800 },
	{ "1W2D3H4M5S", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5 },
	{ "1m1m", 120 },
	{ "3550w", 3550LL * 604800 },
	{ "2147483647", INT_MAX },
	{ "2147483646s1", INT_MAX },
};

static const char *const convtime_bad[] = {
	"",
	"s",
	"m5",
	"-1",
	"+1",
	" 1",
	"1 ",
	"1 h",
	"1x",
	"1y",
	"1.5h",
	"1hh",
	"0x10",
	"1h-1m",
	"2147483648",
	"2147483647s1",
	"3551w",
	"99999999999999999999",
	"596524h",
};

static const struct {
	int64_t secs;
	const char *out;
} duration_cases[] = {
	{ 0, "0s" },
	{ 45, "45s" },
	{ 59, "59s" },
	{ 60, "1m" },
	{ 192, "3m12s" },
	{ 3599, "59m59s" },
	{ 3600, "1h" },
	{ 3659, "1h" },
	{ 7500, "2h5m" },
	{ 7530, "2h5m" },
	{ 86399, "23h59m" },
	{ 86400, "1d" },
	{ 273600, "3d4h" },
	{ 273660, "3d4h" },
	{ 30 * 86400 + 59, "30d" },
	{ -45, "-45s" },
	{ -7500, "-2h5m" },
	{ INT64_MIN, "-106751991167300d15h" },
	{ INT64_MAX, "106751991167300d15h" },
};

static const struct {
	int64_t ms;
	const char *out;
} rfc3339_cases[] = {
	{ 0, "1970-01-01T00:00:00.000Z" },
	{ 1, "1970-01-01T00:00:00.001Z" },
	{ -1, "1969-12-31T23:59:59.999Z" },
	{ -1000, "1969-12-31T23:59:59.000Z" },
	{ 1795608000123, "2026-11-25T12:00:00.123Z" },
	{ 951782400000, "2000-02-29T00:00:00.000Z" },
	{ 253402300799999, "9999-12-31T23:59:59.999Z" },
	{ -62135596800000, "0001-01-01T00:00:00.000Z" },
};

static const struct {
	const char *in;
	int64_t ms;
} when_ok[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2026-11-25T12:00:00Z", 1795608000000 },
	{ "2026-11-25T12:00:00.123Z", 1795608000123 },
	{ "2026-11-25t12:00:00.123z", 1795608000123 },
	{ "2026-11-25T12:00:00+00:00", 1795608000000 },
	{ "2026-11-25T12:00:00-00:00", 1795608000000 },
	{ "2026-11-25T12:00:00.1Z", 1795608000100 },
	{ "2026-11-25T12:00:00.12+00:00", 1795608000120 },
	{ "2026-11-25T12:00:00.123999999Z", 1795608000123 },
	{ "2000-02-29T00:00:00Z", 951782400000 },
	{ "1600-03-01T00:00:00Z", -11670912000000 },
	{ "1969-12-31T23:59:59.999Z", -1 },
	{ "9999-12-31T23:59:59.999Z", 253402300799999 },
	/* Relative ages count back from NOW_MS. */
	{ "0", NOW_MS },
	{ "10m", NOW_MS - 600000 },
	{ "2h", NOW_MS - 7200000 },
	{ "7d", NOW_MS - 7 * 86400000LL },
	{ "1h30m", NOW_MS - 5400000 },
	{ "90", NOW_MS - 90000 },
};

static const char *const when_bad[] = {
	"",
	"now",
	"10x",
	"-10m",
	"2026-11-25",
	"2026-11-25T12:00",
	"2026-11-25T12:00:00",
	"2026-11-25 12:00:00Z",
	"2026-11-25T12:00:00.Z",
	"2026-11-25T12:00:00ZZ",
	"2026-11-25T12:00:00Z ",
	" 2026-11-25T12:00:00Z",
	"2026-11-25T12:00:00+01:00",
	"2026-11-25T12:00:00+0000",
	"2026-1-25T12:00:00Z",
	"2026-00-10T12:00:00Z",
	"2026-13-10T12:00:00Z",
	"2026-11-00T12:00:00Z",
	"2026-11-31T12:00:00Z",
	"2026-02-29T12:00:00Z",
	"1900-02-29T12:00:00Z",
	"2026-11-25T24:00:00Z",
	"2026-11-25T12:60:00Z",
	"2026-11-25T12:00:60Z",
	"2026-11-25T1a:00:00Z",
	"2026/11/25T12:00:00Z",
};

/* Every accepted interval yields its number of seconds. */
START_TEST(test_convtime_ok)
{
	int64_t secs = SENTINEL;

	ck_assert_msg(misc_convtime(convtime_ok[_i].in, &secs) == 0,
	    "rejected '%s'", convtime_ok[_i].in);
	ck_assert_msg(secs == convtime_ok[_i].secs, "'%s': %lld != %lld",
	    convtime_ok[_i].in, (long long)secs,
	    (long long)convtime_ok[_i].secs);
}
END_TEST

/* Malformed and overflowing intervals fail and leave *secsp alone. */
START_TEST(test_convtime_bad)
{
	int64_t secs = SENTINEL;

	ck_assert_msg(misc_convtime(convtime_bad[_i], &secs) ==
	        PORTHOLE_ERR_INVALID_FORMAT,
	    "accepted '%s'", convtime_bad[_i]);
	ck_assert_int_eq(secs, SENTINEL);
}
END_TEST

/* A NULL interval is rejected like an empty one. */
START_TEST(test_convtime_null)
{
	int64_t secs = SENTINEL;

	ck_assert_int_eq(misc_convtime(NULL, &secs),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(secs, SENTINEL);
}
END_TEST

/* Durations show their two most significant units. */
START_TEST(test_duration)
{
	char buf[64];

	memset(buf, 'X', sizeof(buf));
	ck_assert_ptr_eq(misc_duration(duration_cases[_i].secs, buf,
	                     sizeof(buf)),
	    buf);
	ck_assert_str_eq(buf, duration_cases[_i].out);
}
END_TEST

/* A short buffer clips but stays terminated; a zero length is untouched. */
START_TEST(test_duration_clip)
{
	char buf[4];

	misc_duration(192, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3m1");
	memset(buf, 'X', sizeof(buf));
	misc_duration(192, buf, 0);
	ck_assert_int_eq(buf[0], 'X');
}
END_TEST

/* Times format as RFC 3339 UTC with milliseconds, before 1970 too. */
START_TEST(test_rfc3339)
{
	char buf[32];

	ck_assert_ptr_eq(misc_rfc3339(rfc3339_cases[_i].ms, buf, sizeof(buf)),
	    buf);
	ck_assert_str_eq(buf, rfc3339_cases[_i].out);
}
END_TEST

/* 25 bytes is exactly enough; less clips and still terminates. */
START_TEST(test_rfc3339_len)
{
	char buf[25], small[11];

	misc_rfc3339(1795608000123, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-25T12:00:00.123Z");
	misc_rfc3339(1795608000123, small, sizeof(small));
	ck_assert_str_eq(small, "2026-11-25");
}
END_TEST

/* Absolute times and relative ages give the right epoch milliseconds. */
START_TEST(test_when_ok)
{
	int64_t ms = SENTINEL;

	ck_assert_msg(misc_parse_when(when_ok[_i].in, NOW_MS, &ms) == 0,
	    "rejected '%s'", when_ok[_i].in);
	ck_assert_msg(ms == when_ok[_i].ms, "'%s': %lld != %lld",
	    when_ok[_i].in, (long long)ms, (long long)when_ok[_i].ms);
}
END_TEST

/* Malformed or non-UTC times fail and leave *msp alone. */
START_TEST(test_when_bad)
{
	int64_t ms = SENTINEL;

	ck_assert_msg(misc_parse_when(when_bad[_i], NOW_MS, &ms) ==
	        PORTHOLE_ERR_INVALID_FORMAT,
	    "accepted '%s'", when_bad[_i]);
	ck_assert_int_eq(ms, SENTINEL);
}
END_TEST

/* An age reaching before INT64_MIN is refused, not wrapped. */
START_TEST(test_when_underflow)
{
	int64_t ms = SENTINEL;

	ck_assert_int_eq(misc_parse_when("1s", INT64_MIN, &ms),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(ms, SENTINEL);
	ck_assert_int_eq(misc_parse_when("0", INT64_MIN, &ms), 0);
	ck_assert_int_eq(ms, INT64_MIN);
}
END_TEST

/* What misc_rfc3339 writes, misc_parse_when reads back unchanged. */
START_TEST(test_rfc3339_roundtrip)
{
	char buf[32];
	int64_t ms;

	misc_rfc3339(rfc3339_cases[_i].ms, buf, sizeof(buf));
	ck_assert_int_eq(misc_parse_when(buf, NOW_MS, &ms), 0);
	ck_assert_int_eq(ms, rfc3339_cases[_i].ms);
}
END_TEST

/* The realtime clock agrees with time(3); the monotonic one never goes back. */
START_TEST(test_clocks)
{
	int64_t before, now, after, m1, m2;

	before = (int64_t)time(NULL) * 1000;
	now = misc_now_ms();
	after = (int64_t)time(NULL) * 1000 + 1000;
	ck_assert_int_ge(now, before);
	ck_assert_int_le(now, after);
	m1 = misc_monotonic_ms();
	m2 = misc_monotonic_ms();
	ck_assert_int_gt(m1, 0);
	ck_assert_int_ge(m2, m1);
}
END_TEST

#define WA_LEN  (256 * 1024) /* many times the smallest pipe buffer */
#define WA_PIPE 4096 /* the smallest pipe buffer */

/* The byte at offset <i> of what the write_all tests send. */
static unsigned char
wa_byte(size_t i)
{
	return (unsigned char)(i * 31 + i / 509);
}

static unsigned char wa_buf[WA_LEN];

/* Fill wa_buf with the pattern. */
static void
wa_fill(void)
{
	size_t i;

	for (i = 0; i < sizeof(wa_buf); i++)
		wa_buf[i] = wa_byte(i);
}

/*
 * Read <fd> to its end in pieces smaller than a pipe's buffer; return 0
 * if it held exactly the first <len> bytes of the pattern.
 */
static int
wa_read_back(int fd, size_t len)
{
	unsigned char buf[1000];
	size_t got = 0, i;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			if (got + i >= len || buf[i] != wa_byte(got + i))
				return 1;
		got += (size_t)n;
	}
	return n == 0 && got == len ? 0 : 1;
}

/*
 * A non-blocking pipe that a reader drains more slowly than it fills:
 * each EAGAIN waits for room, and every byte arrives in order.
 */
START_TEST(test_write_all_nonblocking)
{
	int p[2], status;
	pid_t pid;

	wa_fill();
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, WA_PIPE), 0);
	ck_assert_int_ne(fcntl(p[1], F_SETFL, O_NONBLOCK), -1);
	if ((pid = fork()) == 0) {
		close(p[1]);
		_exit(wa_read_back(p[0], WA_LEN));
	}
	ck_assert_int_gt(pid, 0);
	close(p[0]);
	ck_assert_int_eq(misc_write_all(p[1], wa_buf, WA_LEN, -1), 0);
	close(p[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* A regular file takes it all, and holds it as written. */
START_TEST(test_write_all_file)
{
	FILE *f;
	int fd;

	wa_fill();
	ck_assert_ptr_nonnull(f = tmpfile());
	fd = fileno(f);
	ck_assert_int_eq(misc_write_all(fd, wa_buf, WA_LEN, -1), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(wa_read_back(fd, WA_LEN), 0);
	fclose(f);
}
END_TEST

/* A non-blocking pipe that nobody reads: the wait runs out. */
START_TEST(test_write_all_timeout)
{
	int p[2];

	wa_fill();
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(fcntl(p[1], F_SETFL, O_NONBLOCK), -1);
	errno = 0;
	ck_assert_int_eq(misc_write_all(p[1], wa_buf, WA_LEN, 10),
	    PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, ETIMEDOUT);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Errors are the write's; nothing to write is no write at all. */
START_TEST(test_write_all_errors)
{
	int p[2];

	ck_assert_int_eq(misc_write_all(-1, "x", 0, -1), 0);
	errno = 0;
	ck_assert_int_eq(misc_write_all(-1, "x", 1, -1), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, EBADF);
	/* The reader has gone. */
	ck_assert(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	errno = 0;
	ck_assert_int_eq(misc_write_all(p[1], "x", 1, -1), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
}
END_TEST

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *misc_suite(void);

/* Build the misc suite: one TCase per function group. */
Suite *
misc_suite(void)
{
	Suite *s = suite_create("misc");
	TCase *tc;

	tc = tcase_create("convtime");
	tcase_add_loop_test(tc, test_convtime_ok, 0, NELEM(convtime_ok));
	tcase_add_loop_test(tc, test_convtime_bad, 0, NELEM(convtime_bad));
	tcase_add_test(tc, test_convtime_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("duration");
	tcase_add_loop_test(tc, test_duration, 0, NELEM(duration_cases));
	tcase_add_test(tc, test_duration_clip);
	suite_add_tcase(s, tc);

	tc = tcase_create("rfc3339");
	tcase_add_loop_test(tc, test_rfc3339, 0, NELEM(rfc3339_cases));
	tcase_add_test(tc, test_rfc3339_len);
	tcase_add_loop_test(tc, test_rfc3339_roundtrip, 0,
	    NELEM(rfc3339_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_when");
	tcase_add_loop_test(tc, test_when_ok, 0, NELEM(when_ok));
	tcase_add_loop_test(tc, test_when_bad, 0, NELEM(when_bad));
	tcase_add_test(tc, test_when_underflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_add_test(tc, test_clocks);
	suite_add_tcase(s, tc);

	tc = tcase_create("write_all");
	tcase_add_test(tc, test_write_all_nonblocking);
	tcase_add_test(tc, test_write_all_file);
	tcase_add_test(tc, test_write_all_timeout);
	tcase_add_test(tc, test_write_all_errors);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the misc suite; exit status reflects any failure. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(misc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
