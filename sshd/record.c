/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portholed.h"

#include "misc.h"
#include "mon.h"

/*
 * What a session process reports to the monitor, which records it (src/
 * mon-rec.c): each public connection that ended or was refused, batched
 * (one MON_CONNS message per REC_BATCH_MS, or per MON_BATCH_MAX
 * records), and its endpoints' live counters every REC_STATS_MS while
 * they move. The relay never waits on any of it.
 */

#define REC_BATCH_MS 100
#define REC_STATS_MS 1000

/* Send the batched connection records. */
static void
rec_send_conns(struct sess *s)
{
	struct ipc_msg m;

	if (s->nconns == 0)
		return;
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CONNS);
	ipc_put_u32(&m, s->nconns);
	/* The records follow the count as they were written. */
	ipc_put_raw(&m, s->conns.data, s->conns.len);
	link_send(s, &m, -1);
	ipc_msg_free(&m);
	s->nconns = 0;
}

void
rec_conn_closed(struct sess *s, struct fwd *f, const struct sockaddr *client,
    const struct sockaddr *server, int64_t start_ms, uint64_t bytes_in,
    uint64_t bytes_out, int refusal)
{
	if (s->nconns == 0) {
		ipc_msg_init(&s->conns, MON_CONNS);
		s->conns_deadline = misc_monotonic_ms() + REC_BATCH_MS;
	}
	ipc_put_str(&s->conns, f->id);
	ipc_put_addr(&s->conns, client);
	ipc_put_addr(&s->conns, server);
	ipc_put_u64(&s->conns, (uint64_t)start_ms);
	ipc_put_u64(&s->conns, (uint64_t)misc_now_ms());
	ipc_put_u64(&s->conns, bytes_in);
	ipc_put_u64(&s->conns, bytes_out);
	ipc_put_u8(&s->conns, (uint8_t)refusal);
	s->nconns++;
	if (s->nconns >= MON_BATCH_MAX)
		rec_send_conns(s); /* a message holds no more */
}

/* Append forward <f>'s counters to MON_STATS message <m>. */
static void
rec_put_stats(struct ipc_msg *m, const struct fwd *f)
{
	ipc_put_str(m, f->id);
	ipc_put_u64(m, f->conns_open);
	ipc_put_u64(m, f->conns_total);
	ipc_put_u64(m, f->bytes_in);
	ipc_put_u64(m, f->bytes_out);
}

/* Report the counters of every forward, MON_BATCH_MAX a message. */
static void
rec_send_stats(struct sess *s)
{
	struct ipc_msg m;
	struct fwd *f = TAILQ_FIRST(&s->fwds), *g;
	uint32_t n;

	memset(&m, 0, sizeof(m));
	while (f != NULL) {
		for (n = 0, g = f; g != NULL && n < MON_BATCH_MAX;
		     g = TAILQ_NEXT(g, entry))
			n++;
		ipc_msg_init(&m, MON_STATS);
		ipc_put_u32(&m, n);
		for (; n > 0; n--, f = TAILQ_NEXT(f, entry))
			rec_put_stats(&m, f);
		link_send(s, &m, -1);
	}
	ipc_msg_free(&m);
}

void
rec_forget_fwd(struct sess *s, struct fwd *f)
{
	struct ipc_msg m;

	s->gone_conns_total += (int64_t)f->conns_total;
	s->gone_bytes_in += (int64_t)f->bytes_in;
	s->gone_bytes_out += (int64_t)f->bytes_out;
	/* Its last counters, before it is forgotten here. */
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_STATS);
	ipc_put_u32(&m, 1);
	rec_put_stats(&m, f);
	link_send(s, &m, -1);
	ipc_msg_free(&m);
}

int64_t
rec_deadline(struct sess *s)
{
	/* An idle session has nothing to say and is not woken for it. */
	int64_t next = s->stats_dirty ? s->stats_deadline : INT64_MAX;

	if (s->nconns > 0 && s->conns_deadline < next)
		next = s->conns_deadline;
	return next;
}

void
rec_flush(struct sess *s, int force)
{
	int64_t now = misc_monotonic_ms();

	if (s->nconns > 0 && (force || now >= s->conns_deadline))
		rec_send_conns(s);
	if (s->stats_dirty && (force || now >= s->stats_deadline)) {
		rec_send_stats(s);
		s->stats_dirty = 0;
		s->stats_deadline = now + REC_STATS_MS;
	}
}

void
rec_free(struct sess *s)
{
	ipc_msg_free(&s->conns);
}
