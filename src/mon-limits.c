/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mon-int.h"

#include "conf.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "store.h"

/*
 * Traffic limits, decided here and enforced by the session process in
 * its data path (sshd/fwd.c, sshd/relay.c). At login, and whenever the
 * account's settings may have changed (mon_check() after an announced
 * change), the monitor resolves the effective limits of the session's
 * account (the account's value if it has one, else the server's
 * default from portholed.conf) and sends them in MON_LIMITS (wire
 * format in mon.h).
 *
 * TransferQuota counts the bytes of the account's every session over a
 * rolling period: what usage_hours holds (written from the sessions'
 * counters in the record batch), plus what this monitor was told but
 * has not written yet. The session is sent what is left and <seen>, its
 * own byte count that the figure already includes; it counts the bytes
 * it relays after that itself, so the connection after the one that
 * crossed the quota is refused at once, without waiting for the next
 * MON_LIMITS. An account with a quota is re-read at every periodic
 * check (MON_ROW_CHECK_MS), and what is left is sent again when it
 * moved by MON_QUOTA_STEP of the quota or ran out.
 */

#define MON_QUOTA_STEP 64 /* re-send when "left" moved by quota / this */

/* The effective value: the account's (>= 0) or the server default. */
static int64_t
mon_limit(int64_t account, int64_t dflt)
{
	if (account >= 0)
		return account;
	return dflt > 0 ? dflt : 0;
}

/* <k>'s byte count as the monitor last heard it (all its endpoints). */
static int64_t
mon_limits_seen(struct mon_kid *k)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < k->neps; i++)
		n += k->eps[i]->bytes_in + k->eps[i]->bytes_out;
	return n;
}

/*
 * What is left of the quota of <bytes> per <period_s> for <k>'s
 * account, in *leftp (0 once used up). Returns 0, or -1 if the store
 * could not say (nothing is sent then).
 */
static int
mon_limits_left(struct mon *mon, struct mon_kid *k, int64_t bytes,
    int64_t period_s, int64_t seen, int64_t *leftp)
{
	int64_t used = 0, pending;
	int r;

	r = store_usage_bytes_since(mon->store, k->account_id,
	    misc_now_ms() - period_s * 1000, &used);
	if (r != 0) {
		error_r(r, "session %s: cannot read the usage of account %s",
		    k->session_id, k->account_name);
		return -1;
	}
	/* Heard from the session, not yet in usage_hours. */
	pending = seen - (k->counted_in + k->counted_out);
	if (pending > 0)
		used += pending;
	*leftp = used < bytes ? bytes - used : 0;
	return 0;
}

void
mon_limits(struct mon *mon, struct mon_kid *k,
    const struct store_account *given)
{
	const struct conf *conf = mon->conf;
	struct store_account *a = NULL;
	const struct store_account *acc = given;
	struct ipc_msg m;
	int64_t bw, rate, per_src, idle, qbytes, qperiod, left = 0, seen;
	uint64_t stamp;
	int r, resend;

	memset(&m, 0, sizeof(m));
	if (k->state != MON_KID_AUTHED || k->account_id == NULL)
		goto out;
	if (acc == NULL) {
		if ((r = store_account_lookup(mon->store, k->account_id, &a)) !=
		    0) {
			error_r(r, "session %s: cannot read account %s",
			    k->session_id, k->account_name);
			goto out;
		}
		acc = a;
	}
	bw = mon_limit(acc->bandwidth_limit, conf->bandwidth_limit);
	rate = mon_limit(acc->connection_rate, conf->connection_rate_limit);
	per_src = mon_limit(acc->connections_per_source,
	    conf->max_connections_per_source);
	idle = mon_limit(acc->idle_timeout_s, conf->connection_idle_timeout);
	if (acc->quota_bytes >= 0) {
		qbytes = acc->quota_bytes;
		qperiod = acc->quota_period_s;
	} else {
		qbytes = conf->transfer_quota;
		qperiod = conf->transfer_quota_period;
	}
	if (qbytes <= 0 || qperiod <= 0)
		qbytes = qperiod = 0;
	k->quota_bytes = qbytes;
	seen = mon_limits_seen(k);
	if (qbytes > 0 &&
	    mon_limits_left(mon, k, qbytes, qperiod, seen, &left) != 0)
		goto out;
	ipc_msg_init(&m, MON_LIMITS);
	ipc_put_u64(&m, (uint64_t)bw);
	ipc_put_u32(&m, rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate);
	ipc_put_u32(&m, per_src > UINT32_MAX ? UINT32_MAX : (uint32_t)per_src);
	ipc_put_u64(&m, (uint64_t)idle * 1000);
	ipc_put_u8(&m, qbytes > 0 ? 1 : 0);
	/* The stamp covers the limits, not the quota's moving figures. */
	stamp = mon_hash(&m, 0, 0);
	ipc_put_u64(&m, (uint64_t)left);
	ipc_put_u64(&m, (uint64_t)seen);
	/* A session starts with none: nothing to say until one is set. */
	if (!k->limits_sent)
		resend =
		    bw > 0 || rate > 0 || per_src > 0 || idle > 0 || qbytes > 0;
	else
		resend = stamp != k->limits_stamp;
	if (qbytes > 0 && k->limits_sent) {
		int64_t moved = left - k->quota_left_sent;

		if (moved < 0)
			moved = -moved;
		if (moved >= qbytes / MON_QUOTA_STEP ||
		    (left == 0) != (k->quota_left_sent == 0))
			resend = 1;
	}
	if (!resend)
		goto out;
	k->limits_sent = 1;
	k->limits_stamp = stamp;
	k->quota_left_sent = left;
	debug("session %s: limits: bandwidth %lld B/s, %lld connections a "
	      "minute, %lld per source, idle %lld s, quota %lld (%lld left)",
	    k->session_id, (long long)bw, (long long)rate, (long long)per_src,
	    (long long)idle, (long long)qbytes, (long long)left);
	mon_send(mon, k, &m, -1);
out:
	ipc_msg_free(&m);
	store_account_free(a);
}
