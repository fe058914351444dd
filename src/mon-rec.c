/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mon-int.h"

#include "buf.h"
#include "compat.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * What the monitor records for its sessions: events and counter deltas
 * are queued and written in one store transaction (and one EventLog
 * append) per batch, with the live counters sessions report; one writer
 * for the whole server. A batch goes out MON_BATCH_MS after its first
 * event, when it holds MON_BATCH_EVENTS events, or on mon_flush; session
 * counters go out every MON_STATS_MS. A batch the store refuses (busy,
 * full) is kept and tried again; past MON_QUEUE_EVENTS the oldest go.
 *
 * Refused connections come from anywhere on the internet, so their
 * events are capped: MON_REF_BURST at once, then MON_REF_RATE a second;
 * past that, each source's refusals in a minute become one
 * tcp_connections_refused.v0 event (for MON_SUM_SOURCES sources a
 * minute; the rest share one), written when the minute ends, or when
 * the monitor is freed. So a refused flood adds at most
 * MON_REF_BURST + 60 * MON_REF_RATE + MON_SUM_SOURCES + 1 events a
 * minute, whatever its rate, and every refusal is still counted
 * (tests/integration/flood.sh).
 */

#define MON_BATCH_MS     100
#define MON_BATCH_EVENTS 512
#define MON_STATS_MS     1000
#define MON_RETRY_MS     500
#define MON_REC_BUSY_MS  100 /* lock wait for a batch */
#define MON_QUEUE_EVENTS 100000 /* kept while the store fails */
#define MON_REF_RATE     10
#define MON_REF_BURST    100
#define MON_SUM_SOURCES  100
#define MON_MINUTE_MS    60000

static const char *const mon_refusal_names[MON_CONN_REFUSAL_MAX] = {
	"relayed",
	"ip_policy",
	"max_connections",
	"connection_rate",
	"max_connections_per_source",
	"transfer_quota",
};

/* Arm the batch timer for <due> (monotonic ms) if that is sooner. */
static void
mon_rec_due(struct mon *mon, int64_t due)
{
	if (due < mon->rec_deadline)
		mon->rec_deadline = due;
}

void
mon_rec_event(struct mon *mon, struct event *ev)
{
	if (ev == NULL)
		return;
	if (mon->nevq >= MON_QUEUE_EVENTS) {
		/* The store has failed for long: keep the newest. */
		event_free(mon->evq[0]);
		memmove(mon->evq, mon->evq + 1,
		    (mon->nevq - 1) * sizeof(*mon->evq));
		mon->nevq--;
		if (mon->nevlogged > 0)
			mon->nevlogged--;
	}
	if (mon->nevq == mon->evqalloc) {
		mon->evqalloc = mon->evqalloc ? mon->evqalloc * 2 : 64;
		mon->evq =
		    xreallocarray(mon->evq, mon->evqalloc, sizeof(*mon->evq));
	}
	mon->evq[mon->nevq++] = ev;
	mon_rec_due(mon,
	    mon->nevq >= MON_BATCH_EVENTS ? 0
	                                  : misc_monotonic_ms() + MON_BATCH_MS);
}

void
mon_rec_count(struct mon *mon, const char *name, const char *labels,
    int64_t delta)
{
	size_t i;

	for (i = 0; i < mon->ncounters; i++) {
		if (strcmp(mon->counters[i].name, name) == 0 &&
		    strcmp(mon->counters[i].labels, labels) == 0) {
			mon->counters[i].value += delta;
			return;
		}
	}
	mon->counters = xreallocarray(mon->counters, mon->ncounters + 1,
	    sizeof(*mon->counters));
	/* Names are static strings; labels are copied (account names). */
	mon->counters[mon->ncounters].name = name;
	mon->counters[mon->ncounters].labels = xstrdup(labels);
	mon->counters[mon->ncounters].value = delta;
	mon->ncounters++;
	mon_rec_due(mon, misc_monotonic_ms() + MON_BATCH_MS);
}

/* Forget the counter deltas (stored, or the monitor is freed). */
static void
mon_rec_counters_clear(struct mon *mon)
{
	size_t i;

	for (i = 0; i < mon->ncounters; i++)
		free((char *)mon->counters[i].labels);
	free(mon->counters);
	mon->counters = NULL;
	mon->ncounters = 0;
}

/* Forget the usage not stored (stored, or the monitor is freed). */
static void
mon_rec_usage_clear(struct mon *mon)
{
	size_t i;

	for (i = 0; i < mon->nusage; i++) {
		free(mon->usage[i].account_id);
		free(mon->usage[i].hostport);
	}
	free(mon->usage);
	mon->usage = NULL;
	mon->nusage = 0;
}

/*
 * Add to what <k>'s account did through <ep> this hour: <conns>
 * connections relayed, <refused> refused, bytes <in> and <out>. It is
 * stored with the next batch (usage_hours, read by TransferQuota and
 * "portholectl usage"); with MetricsAccountLabels, the account's
 * counters get the same figures. A refusal's reason is <why>.
 */
static void
mon_rec_usage(struct mon *mon, struct mon_kid *k, struct mon_ep *ep,
    int64_t conns, int64_t refused, int64_t in, int64_t out,
    enum mon_conn_refusal why)
{
	struct store_usage *u = NULL;
	int64_t hour = STORE_USAGE_HOUR(misc_now_ms());
	char labels[128];
	size_t i;

	if (conns == 0 && refused == 0 && in == 0 && out == 0)
		return;
	for (i = 0; i < mon->nusage; i++) {
		u = &mon->usage[i];
		if (u->hour_ms == hour &&
		    strcmp(u->account_id, k->account_id) == 0 &&
		    strcmp(u->hostport, ep->hostport) == 0)
			break;
	}
	if (i == mon->nusage) {
		mon->usage = xreallocarray(mon->usage, mon->nusage + 1,
		    sizeof(*mon->usage));
		u = &mon->usage[mon->nusage++];
		memset(u, 0, sizeof(*u));
		u->account_id = xstrdup(k->account_id);
		u->hostport = xstrdup(ep->hostport);
		u->hour_ms = hour;
	}
	u->connections += conns;
	u->refused += refused;
	u->bytes_in += in;
	u->bytes_out += out;
	/* Stored within a second, as the live counters are. */
	mon_rec_due(mon, misc_monotonic_ms() + MON_STATS_MS);
	if (!mon->conf->metrics_account_labels)
		return;
	/* Account names are [A-Za-z0-9._-]: nothing to escape. */
	snprintf(labels, sizeof(labels), "account=\"%s\"", k->account_name);
	if (conns > 0)
		mon_rec_count(mon, MON_C_ACCOUNT_CONNS, labels, conns);
	if (refused > 0) {
		snprintf(labels, sizeof(labels), "account=\"%s\",reason=\"%s\"",
		    k->account_name, mon_refusal_names[why]);
		mon_rec_count(mon, MON_C_ACCOUNT_REFUSED, labels, refused);
	}
	if (in > 0) {
		snprintf(labels, sizeof(labels),
		    "account=\"%s\",direction=\"in\"", k->account_name);
		mon_rec_count(mon, MON_C_ACCOUNT_BYTES, labels, in);
	}
	if (out > 0) {
		snprintf(labels, sizeof(labels),
		    "account=\"%s\",direction=\"out\"", k->account_name);
		mon_rec_count(mon, MON_C_ACCOUNT_BYTES, labels, out);
	}
}

const char *
mon_rec_reason(const char *code)
{
	static const char *const labels[] = {
		"reason=\"ip_policy\"",
		"reason=\"max_connections\"",
		"reason=\"not_reserved\"",
		"reason=\"unknown_host\"",
		"reason=\"limit\"",
		"reason=\"exhausted\"",
		"reason=\"in_use\"",
		"reason=\"invalid\"",
		"reason=\"internal\"",
		"reason=\"connection_rate\"",
		"reason=\"max_connections_per_source\"",
		"reason=\"transfer_quota\"",
	};
	size_t i, n = strlen(code);

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		if (strncmp(labels[i] + 8, code, n) == 0 &&
		    labels[i][8 + n] == '"')
			return labels[i];
	}
	return "reason=\"other\"";
}

void
mon_rec_session(struct mon *mon, struct mon_kid *k, int started,
    const char *why)
{
	struct buf *b = buf_new();
	char kind[16];

	buf_puts(b, "{\"session\":{");
	json_kv_str(b, 1, "id", k->session_id);
	json_kv_str(b, 0, "client_ip", k->src);
	json_kv_int(b, 0, "client_port", k->src_port);
	json_kv_str(b, 0, "user", k->user);
	/* The kind of credential only: "key", "token" or "anonymous". */
	snprintf(kind, sizeof(kind), "%.*s", (int)strcspn(k->credential, ":"),
	    k->credential);
	json_kv_str(b, 0, "credential", kind);
	if (!started) {
		json_kv_int(b, 0, "duration_ms", misc_now_ms() - k->started_ms);
		json_kv_str(b, 0, "reason", why);
	}
	buf_puts(b, "}}");
	mon_rec_event(mon,
	    event_new(started ? EVENT_SESSION_STARTED : EVENT_SESSION_ENDED,
	        k->account_id, buf_str(b), misc_now_ms()));
	buf_free(b);
	if (started)
		mon_rec_count(mon, MON_C_SESSIONS, "", 1);
}

void
mon_rec_endpoint(struct mon *mon, struct mon_kid *k, struct mon_ep *ep,
    int started)
{
	struct buf *b = buf_new();
	char url[NET_ADDRSTRLEN + 16];

	snprintf(url, sizeof(url), "tcp://%s", ep->hostport);
	buf_puts(b, "{\"endpoint\":{");
	json_kv_str(b, 1, "id", ep->id);
	json_kv_str(b, 0, "url", url);
	json_kv_str(b, 0, "session_id", k->session_id);
	json_kv_str(b, 0, "address_id", ep->address_id);
	if (!started) {
		json_kv_int(b, 0, "connections_total", ep->conns_total);
		json_kv_int(b, 0, "bytes_in", ep->bytes_in);
		json_kv_int(b, 0, "bytes_out", ep->bytes_out);
	}
	buf_puts(b, "}}");
	mon_rec_event(mon,
	    event_new(started ? EVENT_ENDPOINT_STARTED : EVENT_ENDPOINT_STOPPED,
	        k->account_id, buf_str(b), misc_now_ms()));
	buf_free(b);
}

void
mon_rec_released(struct mon *mon, const struct store_released *rel)
{
	const struct store_endpoint *e;
	const struct store_session *s;
	struct buf *b;
	char kind[16], *hostport = NULL;
	int64_t now = misc_now_ms();
	size_t i;

	for (i = 0; i < rel->nendpoints; i++) {
		e = rel->endpoints[i];
		b = buf_new();
		if (strchr(e->host, ':') != NULL)
			xasprintf(&hostport, "tcp://[%s]:%d", e->host, e->port);
		else
			xasprintf(&hostport, "tcp://%s:%d", e->host, e->port);
		buf_puts(b, "{\"endpoint\":{");
		json_kv_str(b, 1, "id", e->id);
		json_kv_str(b, 0, "url", hostport);
		json_kv_str(b, 0, "session_id", e->session_id);
		json_kv_str(b, 0, "address_id", e->address_id);
		json_kv_int(b, 0, "connections_total", e->conns_total);
		json_kv_int(b, 0, "bytes_in", e->bytes_in);
		json_kv_int(b, 0, "bytes_out", e->bytes_out);
		buf_puts(b, "}}");
		mon_rec_event(mon,
		    event_new_from(EVENT_ENDPOINT_STOPPED, e->account_id,
		        buf_str(b), now, e->node, e->region));
		buf_free(b);
		free(hostport);
		hostport = NULL;
	}
	for (i = 0; i < rel->nsessions; i++) {
		s = rel->sessions[i];
		b = buf_new();
		buf_puts(b, "{\"session\":{");
		json_kv_str(b, 1, "id", s->id);
		json_kv_str(b, 0, "client_ip", s->client_ip);
		json_kv_int(b, 0, "client_port", s->client_port);
		json_kv_str(b, 0, "user", s->user);
		snprintf(kind, sizeof(kind), "%.*s",
		    (int)strcspn(s->credential, ":"), s->credential);
		json_kv_str(b, 0, "credential", kind);
		json_kv_int(b, 0, "duration_ms", now - s->started_ms);
		json_kv_str(b, 0, "reason", "node lost");
		buf_puts(b, "}}");
		mon_rec_event(mon,
		    event_new_from(EVENT_SESSION_ENDED, s->account_id,
		        buf_str(b), now, s->node, s->region));
		buf_free(b);
	}
}

/* Predicate: refusals wait in summaries for the end of their minute. */
static int
mon_rec_summing(const struct mon *mon)
{
	size_t j;

	if (mon->nsums > 0)
		return 1;
	for (j = 0; j < MON_CONN_REFUSAL_MAX; j++) {
		if (mon->sum_others[j] != 0)
			return 1;
	}
	return 0;
}

/*
 * Emit the summaries of the minute that ended (with <force>, of the
 * minute so far), and start a new one.
 */
static void
mon_rec_summaries(struct mon *mon, int force)
{
	struct buf *b;
	int64_t now = misc_monotonic_ms(), wall = misc_now_ms();
	uint64_t total;
	size_t i, j;
	char start_ts[32], end_ts[32];

	if (mon->sum_start == 0 ||
	    (!force && now < mon->sum_start + MON_MINUTE_MS)) {
		if (mon->sum_start == 0)
			mon->sum_start = now;
		return;
	}
	misc_rfc3339(wall - (now - mon->sum_start), start_ts, sizeof(start_ts));
	misc_rfc3339(wall, end_ts, sizeof(end_ts));
	b = buf_new();
	for (i = 0; i <= mon->nsums; i++) {
		const uint64_t *count =
		    i < mon->nsums ? mon->sums[i].count : mon->sum_others;

		for (total = 0, j = 0; j < MON_CONN_REFUSAL_MAX; j++)
			total += count[j];
		if (total == 0)
			continue;
		buf_reset(b);
		buf_puts(b, "{\"refused\":{");
		/* null: the sources past the cap, together. */
		json_kv_str(b, 1, "client_ip",
		    i < mon->nsums ? mon->sums[i].ip : NULL);
		json_kv_int(b, 0, "count", (int64_t)total);
		buf_puts(b, ",\"reasons\":{");
		for (j = 1; j < MON_CONN_REFUSAL_MAX; j++)
			json_kv_int(b, j == 1, mon_refusal_names[j],
			    (int64_t)count[j]);
		buf_puts(b, "}");
		json_kv_str(b, 0, "start_ts", start_ts);
		json_kv_str(b, 0, "end_ts", end_ts);
		buf_puts(b, "}}");
		mon_rec_event(mon,
		    event_new(EVENT_CONNECTIONS_REFUSED,
		        i < mon->nsums ? mon->sums[i].account_id : NULL,
		        buf_str(b), wall));
	}
	buf_free(b);
	free(mon->sums);
	mon->sums = NULL;
	mon->nsums = 0;
	memset(mon->sum_others, 0, sizeof(mon->sum_others));
	mon->sum_start = now;
}

/*
 * Predicate: a refused connection from <ip> may have an event of its
 * own; otherwise it is added to its source's summary.
 */
static int
mon_rec_refused_event(struct mon *mon, struct mon_kid *k, const char *ip,
    enum mon_conn_refusal why)
{
	int64_t now = misc_monotonic_ms();
	size_t i;

	mon->ref_tokens += (double)(now - mon->ref_last) * MON_REF_RATE / 1000;
	if (mon->ref_tokens > MON_REF_BURST)
		mon->ref_tokens = MON_REF_BURST;
	mon->ref_last = now;
	if (mon->ref_tokens >= 1) {
		mon->ref_tokens -= 1;
		return 1;
	}
	mon_rec_summaries(mon, 0);
	mon_rec_count(mon, MON_C_EVENTS_DROPPED, "", 1);
	for (i = 0; i < mon->nsums; i++) {
		if (strcmp(mon->sums[i].ip, ip) == 0 &&
		    strcmp(mon->sums[i].account_id, k->account_id) == 0) {
			mon->sums[i].count[why]++;
			return 0;
		}
	}
	if (mon->nsums >= MON_SUM_SOURCES) {
		mon->sum_others[why]++;
		return 0;
	}
	mon->sums =
	    xreallocarray(mon->sums, mon->nsums + 1, sizeof(*mon->sums));
	memset(&mon->sums[mon->nsums], 0, sizeof(mon->sums[mon->nsums]));
	strlcpy(mon->sums[mon->nsums].ip, ip, sizeof(mon->sums[0].ip));
	strlcpy(mon->sums[mon->nsums].account_id, k->account_id,
	    sizeof(mon->sums[0].account_id));
	mon->sums[mon->nsums].count[why] = 1;
	mon->nsums++;
	return 0;
}

void
mon_rec_conns(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	struct sockaddr_storage client, server;
	struct event_conn c;
	struct mon_ep *ep;
	char url[NET_ADDRSTRLEN + 16], ip[NET_ADDRSTRLEN], *id;
	uint32_t i, n;
	uint64_t start, end, in, out;
	uint8_t why;

	n = ipc_get_u32(m);
	if (n > MON_BATCH_MAX)
		m->bad = 1;
	for (i = 0; i < n && ipc_ok(m, 0); i++) {
		id = ipc_get_str(m, MON_ID_MAX);
		ipc_get_addr(m, &client);
		ipc_get_addr(m, &server);
		start = ipc_get_u64(m);
		end = ipc_get_u64(m);
		in = ipc_get_u64(m);
		out = ipc_get_u64(m);
		why = ipc_get_u8(m);
		ep = mon_kid_ep(k, id);
		free(id);
		/* Only for endpoints it was given, and real addresses. */
		if (!ipc_ok(m, 0) || ep == NULL ||
		    client.ss_family == AF_UNSPEC ||
		    why >= MON_CONN_REFUSAL_MAX || start > INT64_MAX ||
		    end > INT64_MAX || in > INT64_MAX || out > INT64_MAX) {
			m->bad = 1;
			break;
		}
		mon_rec_usage(mon, k, ep, why == MON_CONN_RELAYED,
		    why != MON_CONN_RELAYED, 0, 0, why);
		if (why == MON_CONN_RELAYED)
			mon_rec_count(mon, MON_C_CONNECTIONS, "", 1);
		else {
			mon_rec_count(mon, MON_C_CONNS_REFUSED,
			    mon_rec_reason(mon_refusal_names[why]), 1);
			if (net_ntop((struct sockaddr *)&client, ip, sizeof(ip),
			        NULL) != 0 ||
			    !mon_rec_refused_event(mon, k, ip, why))
				continue;
		}
		snprintf(url, sizeof(url), "tcp://%s", ep->hostport);
		memset(&c, 0, sizeof(c));
		c.client = (struct sockaddr *)&client;
		c.server = (struct sockaddr *)&server;
		c.server_name = ep->host;
		c.start_ms = (int64_t)start;
		c.end_ms = (int64_t)end;
		c.bytes_in = in;
		c.bytes_out = out;
		c.endpoint_id = ep->id;
		c.endpoint_url = url;
		c.edge_id = ep->edge_id;
		c.allowed = why != MON_CONN_IP_POLICY;
		if (why != MON_CONN_RELAYED)
			c.refused = mon_refusal_names[why];
		mon_rec_event(mon,
		    event_conn_closed(k->account_id, &c, misc_now_ms()));
	}
	if (!ipc_ok(m, 1))
		mon_violation(mon, k, m->type, "malformed connection records");
}

void
mon_rec_stats(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	struct mon_ep *ep;
	char *id;
	uint32_t i, n;
	uint64_t v[4];

	n = ipc_get_u32(m);
	if (n > MON_BATCH_MAX)
		m->bad = 1;
	for (i = 0; i < n && ipc_ok(m, 0); i++) {
		id = ipc_get_str(m, MON_ID_MAX);
		v[0] = ipc_get_u64(m);
		v[1] = ipc_get_u64(m);
		v[2] = ipc_get_u64(m);
		v[3] = ipc_get_u64(m);
		ep = mon_kid_ep(k, id);
		free(id);
		if (!ipc_ok(m, 0) || ep == NULL || v[0] > INT64_MAX ||
		    v[1] > INT64_MAX || v[2] > INT64_MAX || v[3] > INT64_MAX) {
			m->bad = 1;
			break;
		}
		/*
		 * Usage: what moved since its last report (the counters
		 * only grow; a session that says otherwise adds nothing).
		 */
		mon_rec_usage(mon, k, ep, 0, 0,
		    (int64_t)v[2] > ep->bytes_in ? (int64_t)v[2] - ep->bytes_in
		                                 : 0,
		    (int64_t)v[3] > ep->bytes_out
		        ? (int64_t)v[3] - ep->bytes_out
		        : 0,
		    MON_CONN_RELAYED);
		ep->conns_open = (int64_t)v[0];
		ep->conns_total = (int64_t)v[1];
		ep->bytes_in = (int64_t)v[2];
		ep->bytes_out = (int64_t)v[3];
		ep->stats_dirty = 1;
		k->stats_dirty = 1;
	}
	if (!ipc_ok(m, 1)) {
		mon_violation(mon, k, m->type, "malformed counters");
		return;
	}
	mon_rec_due(mon, misc_monotonic_ms() + MON_STATS_MS);
}

int64_t
mon_rec_deadline(struct mon *mon)
{
	int64_t end;

	/* A minute's summaries go out when it ends, busy or not. */
	if (mon_rec_summing(mon)) {
		end = mon->sum_start + MON_MINUTE_MS;
		return end < mon->rec_deadline ? end : mon->rec_deadline;
	}
	return mon->rec_deadline;
}

/* <k>'s session counters: the sum over every endpoint it had. */
static void
mon_rec_kid_stats(struct mon_kid *k, struct store_session_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < k->neps; i++) {
		st->conns_open += k->eps[i]->conns_open;
		st->conns_total += k->eps[i]->conns_total;
		st->bytes_in += k->eps[i]->bytes_in;
		st->bytes_out += k->eps[i]->bytes_out;
	}
}

void
mon_rec_flush(struct mon *mon, int force)
{
	struct store_session_stats_row *srows = NULL;
	struct store_endpoint_stats *erows = NULL;
	struct store_counter *tagged = NULL;
	size_t nsrows = 0, nerows = 0, i;
	struct mon_kid *k;
	int64_t now = misc_monotonic_ms();
	int r;

	if (mon->sum_start != 0)
		mon_rec_summaries(mon, 0);
	if (!force && now < mon->rec_deadline)
		return;
	mon->rec_deadline = INT64_MAX;
	/* Live counters: bytes into the server-wide counters too. */
	TAILQ_FOREACH (k, &mon->kids, entry) {
		struct store_session_stats st;

		if (!k->stats_dirty || k->state != MON_KID_AUTHED)
			continue;
		mon_rec_kid_stats(k, &st);
		if (st.bytes_in > k->counted_in)
			mon_rec_count(mon, MON_C_BYTES_IN, "",
			    st.bytes_in - k->counted_in);
		if (st.bytes_out > k->counted_out)
			mon_rec_count(mon, MON_C_BYTES_OUT, "",
			    st.bytes_out - k->counted_out);
		k->counted_in = st.bytes_in;
		k->counted_out = st.bytes_out;
		srows = xreallocarray(srows, nsrows + 1, sizeof(*srows));
		srows[nsrows].id = k->session_id;
		srows[nsrows].stats = st;
		nsrows++;
		for (i = 0; i < k->neps; i++) {
			struct mon_ep *ep = k->eps[i];

			if (!ep->stats_dirty)
				continue;
			erows =
			    xreallocarray(erows, nerows + 1, sizeof(*erows));
			erows[nerows].id = ep->id;
			erows[nerows].conns_open = ep->conns_open;
			erows[nerows].conns_total = ep->conns_total;
			erows[nerows].bytes_in = ep->bytes_in;
			erows[nerows].bytes_out = ep->bytes_out;
			nerows++;
		}
	}
	if (mon->nevq == 0 && mon->ncounters == 0 && nsrows == 0 &&
	    mon->nusage == 0)
		goto out;
	/* EventLog gets each event once, whatever the store does. */
	if (mon->nevq > mon->nevlogged &&
	    event_log_write(mon->conf->event_log, mon->evq + mon->nevlogged,
	        mon->nevq - mon->nevlogged) != 0)
		error("EventLog %s: %s", mon->conf->event_log, strerror(errno));
	mon->nevlogged = mon->nevq;
	/* In a fleet, each node's counters carry its labels. */
	if (mon->node_labels != NULL) {
		tagged = xcalloc(mon->ncounters + 1, sizeof(*tagged));
		for (i = 0; i < mon->ncounters; i++) {
			tagged[i] = mon->counters[i];
			if (*mon->counters[i].labels == '\0')
				tagged[i].labels = xstrdup(mon->node_labels);
			else
				xasprintf((char **)&tagged[i].labels, "%s,%s",
				    mon->node_labels, mon->counters[i].labels);
		}
	}
	/* A batch waits little for a lock: it is tried again soon. */
	(void)store_set_busy_timeout(mon->store, MON_REC_BUSY_MS);
	r = store_record_batch(mon->store, mon->evq, mon->nevq,
	    tagged != NULL ? tagged : mon->counters, mon->ncounters, srows,
	    nsrows, erows, nerows, mon->usage, mon->nusage);
	if (tagged != NULL) {
		for (i = 0; i < mon->ncounters; i++)
			free((char *)tagged[i].labels);
		free(tagged);
		tagged = NULL;
	}
	(void)store_set_busy_timeout(mon->store, MON_BUSY_MS);
	if (r != 0) {
		/*
		 * The store is busy, full or unwritable: keep the batch and
		 * try again soon; nobody waits on it meanwhile.
		 */
		if (!mon->rec_failing)
			error("cannot record %zu event(s) yet (%s); trying "
			      "again",
			    mon->nevq, store_errmsg(mon->store));
		mon->rec_failing = 1;
		mon_rec_due(mon, now + MON_RETRY_MS);
		goto out;
	}
	if (mon->rec_failing)
		logit("the store took %zu waiting event(s)", mon->nevq);
	mon->rec_failing = 0;
	for (i = 0; i < mon->nevq; i++)
		event_free(mon->evq[i]);
	mon->nevq = 0;
	mon->nevlogged = 0;
	mon_rec_counters_clear(mon);
	mon_rec_usage_clear(mon);
	TAILQ_FOREACH (k, &mon->kids, entry) {
		if (!k->stats_dirty)
			continue;
		k->stats_dirty = 0;
		for (i = 0; i < k->neps; i++)
			k->eps[i]->stats_dirty = 0;
	}
out:
	free(srows);
	free(erows);
}

void
mon_rec_free(struct mon *mon)
{
	size_t i;

	/* The minute so far: its refusals are counted, so they get events. */
	if (mon_rec_summing(mon)) {
		mon_rec_summaries(mon, 1);
		mon_rec_flush(mon, 1);
	}
	if (mon->nevq > 0)
		error("%zu event(s) could not be stored (they are in EventLog "
		      "if it is set)",
		    mon->nevq);
	if (mon->nusage > 0)
		error("usage of %zu account address hour(s) could not be "
		      "stored",
		    mon->nusage);
	for (i = 0; i < mon->nevq; i++)
		event_free(mon->evq[i]);
	free(mon->evq);
	mon_rec_counters_clear(mon);
	mon_rec_usage_clear(mon);
	free(mon->sums);
}
