/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "err.h"
#include "limit.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * The text forms of traffic limits. Every parser takes the whole
 * string or nothing, and says in <why> what it wanted; the formatters
 * write what the parsers read back.
 */

#define LIMIT_WHY_RATE                                                         \
	"a rate in bytes per second: digits with an optional K, M, G or T "    \
	"suffix (binary, 5M = 5 MiB/s), 1 to 1T"
#define LIMIT_WHY_SIZE                                                         \
	"a size in bytes: digits with an optional K, M, G or T suffix "        \
	"(binary, 10G = 10 GiB), 1 to 1024T"
#define LIMIT_WHY_QUOTA                                                        \
	"SIZE/PERIOD: SIZE digits with an optional K, M, G or T suffix "       \
	"(binary), PERIOD 1h to 366d (10G/30d)"
#define LIMIT_WHY_COUNT "a number from 1 to 1000000"
#define LIMIT_WHY_DURATION                                                     \
	"a time from 1s to 366d (90s, 5m, 1h30m; a plain number is seconds)"

/* Predicate: <c> is a decimal digit (not locale-dependent). */
static int
limit_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The words every kind takes: "none" stores 0, "default" (when <flags>
 * allow it) LIMIT_IS_DEFAULT. Returns 1 if <s> was one of them.
 */
static int
limit_word(const char *s, int flags, int64_t *vp)
{
	if (strcasecmp(s, "none") == 0) {
		*vp = 0;
		return 1;
	}
	if ((flags & LIMIT_DEFAULT) && strcasecmp(s, "default") == 0) {
		*vp = LIMIT_IS_DEFAULT;
		return 1;
	}
	return 0;
}

/*
 * Parse digits with an optional binary suffix, the whole of <s>, in
 * [min, max] into *vp. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
limit_bytes(const char *s, int64_t min, int64_t max, int64_t *vp)
{
	const char *p = s;
	int64_t v = 0, mult = 1;

	if (!limit_is_digit(*p))
		return PORTHOLE_ERR_INVALID_FORMAT;
	for (; limit_is_digit(*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > max)
			return PORTHOLE_ERR_INVALID_FORMAT;
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1LL << 10;
		break;
	case 'm':
	case 'M':
		mult = 1LL << 20;
		break;
	case 'g':
	case 'G':
		mult = 1LL << 30;
		break;
	case 't':
	case 'T':
		mult = 1LL << 40;
		break;
	default:
		return PORTHOLE_ERR_INVALID_FORMAT;
	}
	if (*p != '\0' && p[1] != '\0')
		return PORTHOLE_ERR_INVALID_FORMAT;
	/* v <= max, so this test cannot overflow. */
	if (v > max / mult)
		return PORTHOLE_ERR_INVALID_FORMAT;
	v *= mult;
	if (v < min)
		return PORTHOLE_ERR_INVALID_FORMAT;
	*vp = v;
	return 0;
}

/* Set *why (if wanted) and return PORTHOLE_ERR_INVALID_FORMAT. */
static int
limit_bad(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
	return PORTHOLE_ERR_INVALID_FORMAT;
}

int
limit_parse_rate(const char *s, int flags, int64_t *vp, const char **why)
{
	int64_t v;

	if (s == NULL)
		return limit_bad(why, LIMIT_WHY_RATE);
	if (limit_word(s, flags, &v) ||
	    limit_bytes(s, LIMIT_RATE_MIN, LIMIT_RATE_MAX, &v) == 0) {
		*vp = v;
		return 0;
	}
	return limit_bad(why, LIMIT_WHY_RATE);
}

int
limit_parse_size(const char *s, int flags, int64_t *vp, const char **why)
{
	int64_t v;

	if (s == NULL)
		return limit_bad(why, LIMIT_WHY_SIZE);
	if (limit_word(s, flags, &v) ||
	    limit_bytes(s, LIMIT_SIZE_MIN, LIMIT_SIZE_MAX, &v) == 0) {
		*vp = v;
		return 0;
	}
	return limit_bad(why, LIMIT_WHY_SIZE);
}

int
limit_parse_quota(const char *s, int flags, int64_t *bytesp, int64_t *periodp,
    const char **why)
{
	char *copy = NULL, *slash;
	int64_t bytes, period;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	if (s == NULL)
		goto out;
	if (limit_word(s, flags, &bytes)) {
		*bytesp = *periodp = bytes;
		r = 0;
		goto out;
	}
	copy = xstrdup(s);
	if ((slash = strchr(copy, '/')) == NULL)
		goto out;
	*slash++ = '\0';
	if (limit_bytes(copy, LIMIT_SIZE_MIN, LIMIT_SIZE_MAX, &bytes) != 0 ||
	    misc_convtime(slash, &period) != 0 || period < LIMIT_PERIOD_MIN ||
	    period > LIMIT_PERIOD_MAX)
		goto out;
	*bytesp = bytes;
	*periodp = period;
	r = 0;
out:
	if (r == PORTHOLE_ERR_INVALID_FORMAT)
		limit_bad(why, LIMIT_WHY_QUOTA);
	free(copy);
	return r;
}

int
limit_parse_count(const char *s, int flags, int64_t *vp, const char **why)
{
	const char *p;
	int64_t v = 0;

	if (s == NULL || *s == '\0')
		return limit_bad(why, LIMIT_WHY_COUNT);
	if (limit_word(s, flags, vp))
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!limit_is_digit(*p))
			return limit_bad(why, LIMIT_WHY_COUNT);
		v = v * 10 + (*p - '0');
		if (v > LIMIT_COUNT_MAX)
			return limit_bad(why, LIMIT_WHY_COUNT);
	}
	if (v < LIMIT_COUNT_MIN)
		return limit_bad(why, LIMIT_WHY_COUNT);
	*vp = v;
	return 0;
}

int
limit_parse_duration(const char *s, int flags, int64_t *vp, const char **why)
{
	int64_t v;

	if (s == NULL)
		return limit_bad(why, LIMIT_WHY_DURATION);
	if (limit_word(s, flags, vp))
		return 0;
	if (misc_convtime(s, &v) != 0 || v < LIMIT_DURATION_MIN ||
	    v > LIMIT_DURATION_MAX)
		return limit_bad(why, LIMIT_WHY_DURATION);
	*vp = v;
	return 0;
}

int
limit_rate_valid(int64_t v)
{
	return v == 0 || (v >= LIMIT_RATE_MIN && v <= LIMIT_RATE_MAX);
}

int
limit_size_valid(int64_t v)
{
	return v == 0 || (v >= LIMIT_SIZE_MIN && v <= LIMIT_SIZE_MAX);
}

int
limit_quota_valid(int64_t bytes, int64_t period)
{
	if (bytes == 0)
		return period == 0;
	return bytes >= LIMIT_SIZE_MIN && bytes <= LIMIT_SIZE_MAX &&
	    period >= LIMIT_PERIOD_MIN && period <= LIMIT_PERIOD_MAX;
}

int
limit_count_valid(int64_t v)
{
	return v == 0 || (v >= LIMIT_COUNT_MIN && v <= LIMIT_COUNT_MAX);
}

int
limit_duration_valid(int64_t v)
{
	return v == 0 || (v >= LIMIT_DURATION_MIN && v <= LIMIT_DURATION_MAX);
}

/*
 * Write "none" for 0 or "default" for a negative <v> into buf and
 * return 1; else return 0 and leave buf alone.
 */
static int
limit_format_word(int64_t v, char *buf, size_t len)
{
	if (v > 0)
		return 0;
	snprintf(buf, len, "%s", v == 0 ? "none" : "default");
	return 1;
}

/* Append the exact size <v> > 0 to buf: the largest suffix that fits. */
static void
limit_put_size(int64_t v, char *buf, size_t len)
{
	static const char suffix[] = "TGMK";
	int shift, i;

	for (i = 0, shift = 40; shift > 0; i++, shift -= 10) {
		if (v % (1LL << shift) == 0) {
			snprintf(buf, len, "%lld%c", (long long)(v >> shift),
			    suffix[i]);
			return;
		}
	}
	snprintf(buf, len, "%lld", (long long)v);
}

/* Write the exact duration <secs> > 0 as "1d2h3m4s", units as needed. */
static void
limit_put_duration(int64_t secs, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && off < len; i++) {
		if (secs < units[i].secs)
			continue;
		n = snprintf(buf + off, len - off, "%lld%c",
		    (long long)(secs / units[i].secs), units[i].unit);
		if (n < 0)
			break;
		off += (size_t)n;
		secs %= units[i].secs;
	}
}

char *
limit_format_size(int64_t v, char *buf, size_t len)
{
	if (len == 0 || limit_format_word(v, buf, len))
		return buf;
	limit_put_size(v, buf, len);
	return buf;
}

char *
limit_format_quota(int64_t bytes, int64_t period, char *buf, size_t len)
{
	char size[LIMIT_STRLEN], per[LIMIT_STRLEN];

	if (len == 0 || limit_format_word(bytes, buf, len))
		return buf;
	limit_put_size(bytes, size, sizeof(size));
	if (period > 0)
		limit_put_duration(period, per, sizeof(per));
	else
		snprintf(per, sizeof(per), "?");
	snprintf(buf, len, "%s/%s", size, per);
	return buf;
}

char *
limit_format_count(int64_t v, char *buf, size_t len)
{
	if (len == 0 || limit_format_word(v, buf, len))
		return buf;
	snprintf(buf, len, "%lld", (long long)v);
	return buf;
}

char *
limit_format_duration(int64_t v, char *buf, size_t len)
{
	if (len == 0 || limit_format_word(v, buf, len))
		return buf;
	limit_put_duration(v, buf, len);
	return buf;
}

int64_t
limit_effective(int64_t v, int64_t dflt)
{
	return v >= 0 ? v : dflt;
}

void
limit_resolve(const struct store_account *a, const struct conf *conf,
    struct limit_set *out)
{
	memset(out, 0, sizeof(*out));
	out->bandwidth =
	    limit_effective(a->bandwidth_limit, conf->bandwidth_limit);
	if (a->quota_bytes >= 0) {
		out->quota_bytes = a->quota_bytes;
		out->quota_period_s =
		    a->quota_bytes > 0 ? a->quota_period_s : 0;
	} else {
		out->quota_bytes = conf->transfer_quota;
		out->quota_period_s =
		    conf->transfer_quota > 0 ? conf->transfer_quota_period : 0;
	}
	out->connection_rate =
	    limit_effective(a->connection_rate, conf->connection_rate_limit);
	out->per_source = limit_effective(a->connections_per_source,
	    conf->max_connections_per_source);
	out->idle_timeout_s =
	    limit_effective(a->idle_timeout_s, conf->connection_idle_timeout);
}
