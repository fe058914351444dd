/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_LIMIT_H
#define PORTHOLE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Traffic limits as text: what portholed.conf, portholectl and the API
 * accept and print. (limit.h, not limits.h: with -I src that name would
 * hide the system's <limits.h>.) One parser per kind of value:
 *
 *   RATE, SIZE   digits with an optional suffix K, M, G or T (binary:
 *                1024, 1024², …; case-insensitive). "B", "KB", "MiB"
 *                and fractions are not accepted: one simple form.
 *   SIZE/PERIOD  a transfer quota, PERIOD a misc_convtime() interval
 *                from 1h to 366d ("10G/30d").
 *   N            a count, digits only.
 *   DURATION     a misc_convtime() interval ("90s", "5m", "1h30m").
 *
 * Each also takes "none" (no limit: 0) and, with LIMIT_DEFAULT,
 * "default" (follow the server's default: LIMIT_IS_DEFAULT, -1, which
 * the store keeps as NULL). "0" is refused: in portholectl's other
 * flags 0 means the server's default, so here the word must be said.
 */

#define LIMIT_IS_DEFAULT (-1) /* the value "default" parses to */

/* Flags of the parsers. */
#define LIMIT_DEFAULT 0x01 /* accept "default" (portholectl, not conf) */

/* Bounds of each kind (inclusive). */
#define LIMIT_RATE_MIN     1LL
#define LIMIT_RATE_MAX     (1LL << 40) /* 1T bytes per second */
#define LIMIT_SIZE_MIN     1LL
#define LIMIT_SIZE_MAX     (1LL << 50) /* 1024T bytes */
#define LIMIT_PERIOD_MIN   3600LL /* 1h */
#define LIMIT_PERIOD_MAX   (366LL * 86400) /* 366d */
#define LIMIT_COUNT_MIN    1LL
#define LIMIT_COUNT_MAX    1000000LL
#define LIMIT_DURATION_MIN 1LL /* seconds */
#define LIMIT_DURATION_MAX (366LL * 86400)

/* Room for any formatted value, "1023T/366d" or "default (none)". */
#define LIMIT_STRLEN 64

/*
 * Parse RATE <s> (bytes per second) into *vp: 1 to LIMIT_RATE_MAX,
 * 0 for "none", LIMIT_IS_DEFAULT for "default" with LIMIT_DEFAULT.
 * Returns 0 or PORTHOLE_ERR_INVALID_FORMAT (*vp untouched); <why> (may
 * be NULL) then says what was wanted, for an error message.
 */
int limit_parse_rate(const char *s, int flags, int64_t *vp, const char **why);
/* The same for SIZE <s>, 1 to LIMIT_SIZE_MAX bytes. */
int limit_parse_size(const char *s, int flags, int64_t *vp, const char **why);
/*
 * Parse quota SIZE/PERIOD <s> into *bytesp and *periodp (seconds);
 * "none" gives 0 and 0, "default" (with LIMIT_DEFAULT)
 * LIMIT_IS_DEFAULT and LIMIT_IS_DEFAULT.
 */
int limit_parse_quota(const char *s, int flags, int64_t *bytesp,
    int64_t *periodp, const char **why);
/* Parse count N <s>, LIMIT_COUNT_MIN to LIMIT_COUNT_MAX. */
int limit_parse_count(const char *s, int flags, int64_t *vp, const char **why);
/*
 * Parse DURATION <s> into seconds, LIMIT_DURATION_MIN to
 * LIMIT_DURATION_MAX.
 */
int limit_parse_duration(const char *s, int flags, int64_t *vp,
    const char **why);

/*
 * Predicates for values that came as numbers (the API, the store): 1
 * if <v> is 0 (none) or within the bounds of its kind, else 0.
 */
int limit_rate_valid(int64_t v);
int limit_size_valid(int64_t v);
int limit_quota_valid(int64_t bytes, int64_t period);
int limit_count_valid(int64_t v);
int limit_duration_valid(int64_t v);

/*
 * Format <v> into <buf> (LIMIT_STRLEN bytes will do) in the form the
 * parser reads back: "none" for 0, "default" for a negative value,
 * else the shortest exact form ("5M", "1500"). Returns buf.
 */
char *limit_format_size(int64_t v, char *buf, size_t len);
/* "10G/30d": SIZE/PERIOD, the period as the largest exact unit. */
char *limit_format_quota(int64_t bytes, int64_t period, char *buf, size_t len);
/* "20" (or "none", "default"). */
char *limit_format_count(int64_t v, char *buf, size_t len);
/* "90s", "5m", "1h30m" (or "none", "default"). */
char *limit_format_duration(int64_t v, char *buf, size_t len);

/*
 * The limit that applies: <v> when it is set (>= 0: a value, or 0 for
 * none), else the server's default <dflt>.
 */
int64_t limit_effective(int64_t v, int64_t dflt);

struct conf;
struct store_account;

/* The traffic limits that apply to one account; 0 is none. */
struct limit_set {
	int64_t bandwidth; /* bytes per second each way per endpoint */
	int64_t quota_bytes; /* over quota_period_s; 0: no quota */
	int64_t quota_period_s; /* 0 when there is no quota */
	int64_t connection_rate; /* new connections per minute per endpoint */
	int64_t per_source; /* connections at once per client IP per endpoint */
	int64_t idle_timeout_s; /* seconds without a byte either way */
};

/*
 * Fill <out> with the limits that apply to account <a> under <conf>:
 * each of the account's own that is set (>= 0), else the server's
 * default; a quota's bytes and period go together.
 */
void limit_resolve(const struct store_account *a, const struct conf *conf,
    struct limit_set *out);

#endif /* PORTHOLE_LIMIT_H */
