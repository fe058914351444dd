/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_POOL_H
#define PORTHOLE_POOL_H

#include <stdint.h>

/*
 * The public port range and the order in which free ports are tried.
 * The kernel's bind() decides whether a port is free; the pool only
 * proposes candidates, each port of the range at most once per walk.
 */
struct pool;

/*
 * Parse a PortRange value "LOW-HIGH" (1 <= LOW <= HIGH <= 65535) or a
 * single port. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
int pool_parse_range(const char *s, uint16_t *lowp, uint16_t *highp);

/* Make a pool for [low, high]. Returns NULL if low > high or low == 0. */
struct pool *pool_new(uint16_t low, uint16_t high);
void pool_free(struct pool *pool); /* NULL is a no-op */

/* Predicate: <port> lies inside the pool's range. */
int pool_contains(const struct pool *pool, uint16_t port);

/*
 * Callback for pool_pick: try to take <port>. Return 0 if taken,
 * PORTHOLE_ERR_EXISTS if the port is busy or must not be used (the walk
 * goes on), any other negative code to stop the walk with that code.
 */
typedef int (*pool_try_fn)(uint16_t port, void *arg);

/*
 * Walk the range in a random order (a random start and a random stride
 * coprime with the range size, so every port is proposed exactly once),
 * calling try_fn until it takes a port. Returns 0 and stores the port in
 * *portp; PORTHOLE_ERR_EXHAUSTED if every port was busy; or the code
 * try_fn stopped with.
 */
int pool_pick(struct pool *pool, pool_try_fn try_fn, void *arg,
    uint16_t *portp);

#endif /* PORTHOLE_POOL_H */
