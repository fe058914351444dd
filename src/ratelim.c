/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ratelim.h"
#include "xmalloc.h"

uint64_t
ratelim_burst(uint64_t rate)
{
	uint64_t b = rate / 10;

	return b > RATELIM_BURST_MIN ? b : RATELIM_BURST_MIN;
}

/* Add what <b> earned since its last refill. */
static void
ratelim_refill(struct ratelim_bucket *b, int64_t now_us)
{
	if (now_us > b->last_us) {
		b->tokens +=
		    (double)(now_us - b->last_us) * (double)b->rate / 1e6;
		if (b->tokens > (double)b->burst)
			b->tokens = (double)b->burst;
	}
	b->last_us = now_us;
}

void
ratelim_bucket_set(struct ratelim_bucket *b, uint64_t rate, int64_t now_us)
{
	int fresh = b->rate == 0;

	if (!fresh)
		ratelim_refill(b, now_us);
	b->rate = rate;
	b->burst = rate == 0 ? 0 : ratelim_burst(rate);
	b->last_us = now_us;
	if (fresh || b->tokens > (double)b->burst)
		b->tokens = (double)b->burst;
}

/* The smallest take <b> grants for a want of <want>. */
static size_t
ratelim_min_grant(const struct ratelim_bucket *b, size_t want)
{
	size_t g = (size_t)(b->burst / 4);

	if (g > RATELIM_GRANT)
		g = RATELIM_GRANT;
	return want < g ? want : g;
}

size_t
ratelim_bucket_take(struct ratelim_bucket *b, size_t want, int64_t now_us)
{
	size_t have;

	if (b->rate == 0 || want == 0)
		return want;
	ratelim_refill(b, now_us);
	have = b->tokens < 1 ? 0 : (size_t)b->tokens;
	if (have < ratelim_min_grant(b, want))
		return 0;
	if (have > want)
		have = want;
	b->tokens -= (double)have;
	return have;
}

void
ratelim_bucket_give(struct ratelim_bucket *b, size_t n)
{
	if (b->rate == 0)
		return;
	b->tokens += (double)n;
	if (b->tokens > (double)b->burst)
		b->tokens = (double)b->burst;
}

int64_t
ratelim_bucket_wait_us(struct ratelim_bucket *b, size_t want, int64_t now_us)
{
	double need;
	int64_t us;

	if (b->rate == 0 || want == 0)
		return 0;
	ratelim_refill(b, now_us);
	need = (double)ratelim_min_grant(b, want) - b->tokens;
	if (need <= 0)
		return 0;
	us = (int64_t)(need * 1e6 / (double)b->rate) + 1;
	return us;
}

/* Make <w>'s ring hold <size>, keeping the newest times. */
static void
ratelim_window_resize(struct ratelim_window *w, uint32_t size)
{
	int64_t *at = xcalloc(size, sizeof(*at));
	uint32_t keep = w->n < size ? w->n : size, i, skip = w->n - keep;

	for (i = 0; i < keep; i++)
		at[i] = w->at[(w->head + skip + i) % w->size];
	free(w->at);
	w->at = at;
	w->size = size;
	w->head = 0;
	w->n = keep;
}

int
ratelim_window_admit(struct ratelim_window *w, uint32_t limit, int64_t now,
    int64_t span)
{
	if (limit == 0)
		return 1;
	if (w->size != limit)
		ratelim_window_resize(w, limit);
	/* Forget what left the window. */
	while (w->n > 0 && w->at[w->head] <= now - span) {
		w->head = (w->head + 1) % w->size;
		w->n--;
	}
	if (w->n >= limit)
		return 0;
	w->at[(w->head + w->n) % w->size] = now;
	w->n++;
	return 1;
}

void
ratelim_window_clear(struct ratelim_window *w)
{
	free(w->at);
	memset(w, 0, sizeof(*w));
}
