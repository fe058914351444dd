/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "pool.h"
#include "xmalloc.h"

struct pool {
	uint16_t low;
	uint16_t high;
};

/*
 * Parse the <len> bytes at <s> as a decimal port 1..65535 (digits only:
 * no sign, no blanks). Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
pool_parse_port(const char *s, size_t len, uint16_t *portp)
{
	uint32_t v = 0;
	size_t i;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	*portp = 0;
	if (len == 0)
		goto out;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto out;
		v = v * 10 + (uint32_t)(s[i] - '0');
		if (v > UINT16_MAX)
			goto out;
	}
	if (v == 0)
		goto out;
	*portp = (uint16_t)v;
	r = 0;
out:
	return r;
}

/* Parse a PortRange value "LOW-HIGH" or "PORT" (see pool.h). */
int
pool_parse_range(const char *s, uint16_t *lowp, uint16_t *highp)
{
	const char *dash;
	uint16_t low, high;
	int r = PORTHOLE_ERR_INTERNAL;

	*lowp = *highp = 0;
	if ((dash = strchr(s, '-')) == NULL) {
		if ((r = pool_parse_port(s, strlen(s), &low)) != 0)
			goto out;
		high = low;
	} else {
		if ((r = pool_parse_port(s, (size_t)(dash - s), &low)) != 0)
			goto out;
		r = pool_parse_port(dash + 1, strlen(dash + 1), &high);
		if (r != 0)
			goto out;
	}
	if (low > high) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	*lowp = low;
	*highp = high;
	r = 0;
out:
	return r;
}

/* Make a pool for ports [low, high] (see pool.h). */
struct pool *
pool_new(uint16_t low, uint16_t high)
{
	struct pool *pool;

	if (low == 0 || low > high)
		return NULL;
	pool = xcalloc(1, sizeof(*pool));
	pool->low = low;
	pool->high = high;
	return pool;
}

/* Free <pool>; NULL is a no-op. */
void
pool_free(struct pool *pool)
{
	free(pool);
}

/* Predicate: <port> lies inside the pool's range. */
int
pool_contains(const struct pool *pool, uint16_t port)
{
	return port >= pool->low && port <= pool->high;
}

/* Return the greatest common divisor of <a> and <b>. */
static uint32_t
pool_gcd(uint32_t a, uint32_t b)
{
	uint32_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Offer each port of the range once, in a random order (see pool.h). */
int
pool_pick(struct pool *pool, pool_try_fn try_fn, void *arg, uint16_t *portp)
{
	uint32_t n, i, idx, stride;
	uint16_t port;
	int r = PORTHOLE_ERR_INTERNAL;

	*portp = 0;
	n = (uint32_t)pool->high - pool->low + 1;
	idx = randombytes_uniform(n);
	/*
	 * A stride coprime with n makes idx visit every residue mod n once
	 * in n steps. Move up from a random candidate to the next coprime
	 * one; 1 always is, so this ends.
	 */
	stride = 1;
	if (n > 2) {
		stride = 1 + randombytes_uniform(n - 1);
		while (pool_gcd(stride, n) != 1)
			stride = stride == n - 1 ? 1 : stride + 1;
	}
	for (i = 0; i < n; i++) {
		port = (uint16_t)(pool->low + idx);
		r = try_fn(port, arg);
		if (r == 0) {
			*portp = port;
			goto out;
		}
		if (r != PORTHOLE_ERR_EXISTS) {
			debug_fr(r, "port %u", port);
			goto out;
		}
		idx = (idx + stride) % n;
	}
	debug_f("all %u ports of %u-%u are busy", n, pool->low, pool->high);
	r = PORTHOLE_ERR_EXHAUSTED;
out:
	return r;
}
