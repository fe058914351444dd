/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "err.h"
#include "misc.h"

#define MISC_MINUTE 60
#define MISC_HOUR   (60 * MISC_MINUTE)
#define MISC_DAY    (24 * MISC_HOUR)
#define MISC_WEEK   (7 * MISC_DAY)

/* "YYYY-MM-DDTHH:MM:SS": the fixed-width head of an RFC 3339 time. */
#define MISC_RFC3339_HEAD 19

/* ASCII digit test that ignores the locale. */
static int
misc_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Parse an sshd_config time interval as OpenSSH's convtime() does: runs
 * of digits each followed by an optional unit, the total capped at
 * INT_MAX seconds so that callers may scale it to milliseconds.
 */
int
misc_convtime(const char *s, int64_t *secsp)
{
	const char *p = s;
	int64_t total = 0, n, mult;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	if (s == NULL || *s == '\0')
		goto out;
	while (*p != '\0') {
		if (!misc_is_digit(*p))
			goto out;
		for (n = 0; misc_is_digit(*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > INT_MAX)
				goto out;
		}
		switch (*p) {
		case '\0':
			mult = 1;
			break;
		case 's':
		case 'S':
			mult = 1;
			p++;
			break;
		case 'm':
		case 'M':
			mult = MISC_MINUTE;
			p++;
			break;
		case 'h':
		case 'H':
			mult = MISC_HOUR;
			p++;
			break;
		case 'd':
		case 'D':
			mult = MISC_DAY;
			p++;
			break;
		case 'w':
		case 'W':
			mult = MISC_WEEK;
			p++;
			break;
		default:
			goto out;
		}
		/* Both factors are <= INT_MAX, so this cannot overflow. */
		total += n * mult;
		if (total > INT_MAX)
			goto out;
	}
	*secsp = total;
	r = 0;
out:
	return r;
}

/* Read clock <id> in milliseconds; the clocks used here cannot fail. */
static int64_t
misc_clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch from CLOCK_REALTIME. */
int64_t
misc_now_ms(void)
{
	return misc_clock_ms(CLOCK_REALTIME);
}

/* Milliseconds from CLOCK_MONOTONIC, immune to clock steps. */
int64_t
misc_monotonic_ms(void)
{
	return misc_clock_ms(CLOCK_MONOTONIC);
}

/* Format <ms> since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf. */
char *
misc_rfc3339(int64_t ms, char *buf, size_t len)
{
	struct tm tm;
	time_t t;
	int64_t secs = ms / 1000, frac = ms % 1000;

	if (len == 0)
		return buf;
	/* Round towards minus infinity so that -1 ms is 23:59:59.999. */
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL) {
		strlcpy(buf, "invalid-time", len);
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)frac);
	return buf;
}

/* Parse exactly <n> decimal digits at <s> into *vp; 0 or -1. */
static int
misc_fixed_digits(const char *s, int n, int *vp)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!misc_is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*vp = v;
	return 0;
}

/* Predicate: <year> is a Gregorian leap year. */
static int
misc_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/*
 * Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard
 * Hinnant's days_from_civil), so no time zone or time_t range is
 * involved.
 */
static int64_t
misc_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Parse an RFC 3339 time in UTC: "YYYY-MM-DDTHH:MM:SS", an optional
 * fraction (kept to the millisecond, truncated), then "Z" or an offset
 * of zero ("+00:00", or "-00:00" which RFC 3339 also reads as UTC).
 */
static int
misc_parse_rfc3339(const char *s, int64_t *msp)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	const char *p;
	int year, mon, day, hour, min, sec, maxday;
	int frac = 0, scale = 100;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	if (strlen(s) < MISC_RFC3339_HEAD)
		goto out;
	if (misc_fixed_digits(s, 4, &year) != 0 || s[4] != '-' ||
	    misc_fixed_digits(s + 5, 2, &mon) != 0 || s[7] != '-' ||
	    misc_fixed_digits(s + 8, 2, &day) != 0 ||
	    (s[10] != 'T' && s[10] != 't') ||
	    misc_fixed_digits(s + 11, 2, &hour) != 0 || s[13] != ':' ||
	    misc_fixed_digits(s + 14, 2, &min) != 0 || s[16] != ':' ||
	    misc_fixed_digits(s + 17, 2, &sec) != 0)
		goto out;
	if (mon < 1 || mon > 12 || hour > 23 || min > 59 || sec > 59)
		goto out;
	maxday = mdays[mon - 1] + (mon == 2 && misc_is_leap(year));
	if (day < 1 || day > maxday)
		goto out;
	p = s + MISC_RFC3339_HEAD;
	if (*p == '.') {
		if (!misc_is_digit(*++p))
			goto out;
		for (; misc_is_digit(*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0 &&
	    strcmp(p, "+00:00") != 0 && strcmp(p, "-00:00") != 0)
		goto out;
	*msp = ((misc_days_from_civil(year, mon, day) * 24 + hour) * 60 + min) *
	        60 * 1000 +
	    (int64_t)sec * 1000 + frac;
	r = 0;
out:
	return r;
}

/*
 * Parse an absolute RFC 3339 UTC time, or a convtime() age meaning that
 * long before <now_ms>.
 */
int
misc_parse_when(const char *s, int64_t now_ms, int64_t *msp)
{
	int64_t secs;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	if (s == NULL)
		goto out;
	/* Four digits then '-' can only be the start of a date. */
	if (strlen(s) > 4 && s[4] == '-') {
		r = misc_parse_rfc3339(s, msp);
		goto out;
	}
	if ((r = misc_convtime(s, &secs)) != 0)
		goto out;
	/* secs <= INT_MAX, so secs * 1000 fits; guard the subtraction. */
	if (now_ms < INT64_MIN + secs * 1000) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	*msp = now_ms - secs * 1000;
	r = 0;
out:
	return r;
}

/*
 * Every writer of a whole buffer (EventLog, the token key, portholectl's
 * output, tests/tnet) comes here: a regular file or a pipe writes short
 * only when interrupted or full, and the next write then tells which.
 */
int
misc_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	const unsigned char *p = buf;
	struct pollfd pfd;
	ssize_t w;
	int n, r = PORTHOLE_ERR_SYSTEM;

	while (len > 0) {
		if ((w = write(fd, p, len)) > 0) {
			p += w;
			len -= (size_t)w;
		} else if (w == 0) {
			/* No progress and no error: do not spin. */
			errno = EIO;
			goto out;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			if ((n = poll(&pfd, 1, timeout_ms)) == 0) {
				errno = ETIMEDOUT;
				goto out;
			}
			if (n == -1 && errno != EINTR)
				goto out;
		} else if (errno != EINTR)
			goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * Format <secs> with its two most significant units ("45s", "3m12s",
 * "2h5m", "3d4h"), dropping a zero second unit; negative durations get
 * a leading '-'.
 */
char *
misc_duration(int64_t secs, char *buf, size_t len)
{
	const char *sign = "";
	uint64_t u;

	if (len == 0)
		return buf;
	if (secs < 0) {
		sign = "-";
		/* Negate in unsigned arithmetic: INT64_MIN has no opposite. */
		u = 0 - (uint64_t)secs;
	} else
		u = (uint64_t)secs;
	if (u < MISC_MINUTE)
		snprintf(buf, len, "%s%llus", sign, (unsigned long long)u);
	else if (u < MISC_HOUR && u % MISC_MINUTE != 0)
		snprintf(buf, len, "%s%llum%llus", sign,
		    (unsigned long long)(u / MISC_MINUTE),
		    (unsigned long long)(u % MISC_MINUTE));
	else if (u < MISC_HOUR)
		snprintf(buf, len, "%s%llum", sign,
		    (unsigned long long)(u / MISC_MINUTE));
	else if (u < MISC_DAY && u % MISC_HOUR / MISC_MINUTE != 0)
		snprintf(buf, len, "%s%lluh%llum", sign,
		    (unsigned long long)(u / MISC_HOUR),
		    (unsigned long long)(u % MISC_HOUR / MISC_MINUTE));
	else if (u < MISC_DAY)
		snprintf(buf, len, "%s%lluh", sign,
		    (unsigned long long)(u / MISC_HOUR));
	else if (u % MISC_DAY / MISC_HOUR != 0)
		snprintf(buf, len, "%s%llud%lluh", sign,
		    (unsigned long long)(u / MISC_DAY),
		    (unsigned long long)(u % MISC_DAY / MISC_HOUR));
	else
		snprintf(buf, len, "%s%llud", sign,
		    (unsigned long long)(u / MISC_DAY));
	return buf;
}

int
misc_become_user(const struct passwd *pw)
{
	if (setgroups(0, NULL) == -1 ||
	    initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return -1;
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}
