/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_RATELIM_H
#define PORTHOLE_RATELIM_H

#include <stddef.h>
#include <stdint.h>

/*
 * The arithmetic of the traffic limits a session enforces (sshd/fwd.c,
 * sshd/relay.c): a token bucket for BandwidthLimit and a sliding window
 * for ConnectionRateLimit. No clock of its own: callers pass the time.
 */

/*
 * A token bucket of <rate> bytes a second holding at most <burst>:
 * over any span of t seconds it grants at most burst + rate * t bytes.
 */
struct ratelim_bucket {
	uint64_t rate; /* bytes a second; 0: unlimited */
	uint64_t burst; /* the most it holds */
	double tokens;
	int64_t last_us; /* monotonic µs of the last refill */
};

/* The burst for <rate>: a tenth of a second's worth, at least 64 KiB. */
#define RATELIM_BURST_MIN (64 * 1024)
uint64_t ratelim_burst(uint64_t rate);
/*
 * The least a bucket grants at a time (unless asked for less): smaller
 * grants would only cost wake-ups. A quarter of the burst, at most
 * RATELIM_GRANT.
 */
#define RATELIM_GRANT (16 * 1024)

/*
 * Set bucket <b> to <rate> (0: unlimited) at <now_us>. A bucket set for
 * the first time, or from unlimited, starts full; a rate change keeps
 * the tokens it has (clipped to the new burst).
 */
void ratelim_bucket_set(struct ratelim_bucket *b, uint64_t rate,
    int64_t now_us);
/*
 * Take up to <want> bytes from <b> at <now_us>: returns what may be
 * sent now (all of it if unlimited), 0 when it must wait.
 */
size_t ratelim_bucket_take(struct ratelim_bucket *b, size_t want,
    int64_t now_us);
/* Give back <n> bytes taken but not sent (clipped to the burst). */
void ratelim_bucket_give(struct ratelim_bucket *b, size_t n);
/*
 * Microseconds from <now_us> until <b> grants a take of <want> bytes
 * (at least 1 if it would refuse now; 0 if it grants now).
 */
int64_t ratelim_bucket_wait_us(struct ratelim_bucket *b, size_t want,
    int64_t now_us);

/*
 * A sliding window: the times of the last admissions, to admit at most
 * <limit> within any <span> (ConnectionRateLimit: 60 s). Exact: N + k
 * attempts within a span admit N and refuse k.
 */
struct ratelim_window {
	int64_t *at; /* ring of admission times, oldest at head */
	uint32_t size, head, n;
};

/*
 * Admit one at <now> if fewer than <limit> were admitted in the <span>
 * before it (and record it): returns 1 to admit, 0 to refuse. <limit>
 * 0 admits everything and records nothing.
 */
int ratelim_window_admit(struct ratelim_window *w, uint32_t limit, int64_t now,
    int64_t span);
void ratelim_window_clear(struct ratelim_window *w);

#endif /* PORTHOLE_RATELIM_H */
