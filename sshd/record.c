/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portholed.h"

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * What a session records: events and counter deltas are queued in memory
 * and written in one store transaction (and one EventLog append) per
 * batch, so a burst of closing connections costs one write, not one per
 * connection, and the relay never waits on the store per connection.
 * A batch goes out REC_BATCH_MS after its first event, when it holds
 * REC_BATCH_MAX events, or when the session ends; the session's own
 * counters (open connections, bytes) go out every REC_STATS_MS.
 */

#define REC_BATCH_MS      100
#define REC_BATCH_MAX     512
#define REC_STATS_MS      1000
#define REC_RETRY_MS      500 /* a failing store: try again after this */
#define REC_QUEUE_MAX     100000 /* events kept while the store fails */
#define REC_FINAL_BUSY_MS 5000 /* busy timeout of a session's last write */

/* Counter names; the labels are chosen where they are counted. */
#define REC_CONNECTIONS      "porthole_connections_total"
#define REC_BYTES_IN         "porthole_bytes_in_total"
#define REC_BYTES_OUT        "porthole_bytes_out_total"
#define REC_SESSIONS         "porthole_sessions_total"
#define REC_AUTH_FAILURES    "porthole_auth_failures_total"
#define REC_FORWARDS_REFUSED "porthole_forwards_refused_total"
#define REC_CONNS_REFUSED    "porthole_connections_refused_total"

/* Queue event <ev> (taken over) and arm the batch timer. */
static void
rec_queue(struct sess *s, struct event *ev)
{
	if (ev == NULL)
		return;
	if (s->nevq == s->evqalloc) {
		s->evqalloc = s->evqalloc ? s->evqalloc * 2 : 64;
		s->evq = xreallocarray(s->evq, s->evqalloc, sizeof(*s->evq));
	}
	s->evq[s->nevq++] = ev;
	if (s->nevq == 1)
		s->rec_deadline = misc_monotonic_ms() + REC_BATCH_MS;
	if (s->nevq >= REC_BATCH_MAX)
		s->rec_deadline = 0; /* now */
}

/* Add <delta> to counter <name>{<labels>} in the next batch. */
static void
rec_count(struct sess *s, const char *name, const char *labels, int64_t delta)
{
	size_t i;

	for (i = 0; i < s->ncounters; i++) {
		if (strcmp(s->counters[i].name, name) == 0 &&
		    strcmp(s->counters[i].labels, labels) == 0) {
			s->counters[i].value += delta;
			return;
		}
	}
	s->counters =
	    xreallocarray(s->counters, s->ncounters + 1, sizeof(*s->counters));
	/* The strings are static or kept in rec_labels (below). */
	s->counters[s->ncounters].name = name;
	s->counters[s->ncounters].labels = labels;
	s->counters[s->ncounters].value = delta;
	s->ncounters++;
}

/* A static "reason=\"…\"" label for the reasons we count. */
static const char *
rec_reason(const char *reason)
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
	};
	size_t i, n = strlen(reason);

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		if (strncmp(labels[i] + 8, reason, n) == 0 &&
		    labels[i][8 + n] == '"')
			return labels[i];
	}
	return "reason=\"other\"";
}

/* The "tcp://host:port" of forward <f> (static buffer, short use). */
static const char *
rec_url(const struct fwd *f, char *buf, size_t len)
{
	snprintf(buf, len, "tcp://%s", f->hostport);
	return buf;
}

void
rec_conn_closed(struct sess *s, struct fwd *f, const struct sockaddr *client,
    const struct sockaddr *server, int64_t start_ms, uint64_t bytes_in,
    uint64_t bytes_out, int allowed)
{
	struct event_conn c;
	char url[NET_ADDRSTRLEN + 16];

	memset(&c, 0, sizeof(c));
	c.client = client;
	c.server = server;
	c.server_name = f->host;
	c.start_ms = start_ms;
	c.end_ms = misc_now_ms();
	c.bytes_in = bytes_in;
	c.bytes_out = bytes_out;
	c.endpoint_id = f->id;
	c.endpoint_url = rec_url(f, url, sizeof(url));
	c.edge_id = f->edge_id;
	c.allowed = allowed;
	rec_queue(s, event_conn_closed(s->account_id, &c, c.end_ms));
}

void
rec_conn_relayed(struct sess *s)
{
	rec_count(s, REC_CONNECTIONS, "", 1);
}

void
rec_conn_refused(struct sess *s, const char *reason)
{
	rec_count(s, REC_CONNS_REFUSED, rec_reason(reason), 1);
}

void
rec_forward_refused(struct sess *s, const char *reason)
{
	rec_count(s, REC_FORWARDS_REFUSED, rec_reason(reason), 1);
}

void
rec_auth_failure(struct sess *s)
{
	rec_count(s, REC_AUTH_FAILURES, "", 1);
}

/* Queue a session or endpoint event whose object is built in <b>. */
static void
rec_object(struct sess *s, const char *type, struct buf *b)
{
	rec_queue(s, event_new(type, s->account_id, buf_str(b), misc_now_ms()));
}

void
rec_session(struct sess *s, int started, const char *reason)
{
	struct buf *b = buf_new();

	buf_puts(b, "{\"session\":{");
	json_kv_str(b, 1, "id", s->id);
	json_kv_str(b, 0, "client_ip", s->client_ip);
	json_kv_int(b, 0, "client_port", s->client_port);
	json_kv_str(b, 0, "user", s->user);
	/* The kind of credential only: "key", "token" or "anonymous". */
	buf_puts(b, ",\"credential\":");
	if (s->credential != NULL) {
		char kind[16];

		snprintf(kind, sizeof(kind), "%.*s",
		    (int)strcspn(s->credential, ":"), s->credential);
		json_str(b, kind);
	} else
		json_str(b, NULL);
	if (!started) {
		json_kv_int(b, 0, "duration_ms",
		    misc_monotonic_ms() - s->started_mono);
		json_kv_str(b, 0, "reason", reason);
	}
	buf_puts(b, "}}");
	rec_object(s, started ? EVENT_SESSION_STARTED : EVENT_SESSION_ENDED, b);
	buf_free(b);
	if (started)
		rec_count(s, REC_SESSIONS, "", 1);
}

void
rec_endpoint(struct sess *s, struct fwd *f, int started)
{
	struct buf *b = buf_new();
	char url[NET_ADDRSTRLEN + 16];

	buf_puts(b, "{\"endpoint\":{");
	json_kv_str(b, 1, "id", f->id);
	json_kv_str(b, 0, "url", rec_url(f, url, sizeof(url)));
	json_kv_str(b, 0, "session_id", s->id);
	json_kv_str(b, 0, "address_id", f->address_id);
	if (!started) {
		json_kv_int(b, 0, "connections_total", (int64_t)f->conns_total);
		json_kv_int(b, 0, "bytes_in", (int64_t)f->bytes_in);
		json_kv_int(b, 0, "bytes_out", (int64_t)f->bytes_out);
	}
	buf_puts(b, "}}");
	rec_object(s, started ? EVENT_ENDPOINT_STARTED : EVENT_ENDPOINT_STOPPED,
	    b);
	buf_free(b);
}

/* The session's live counters, summed over its forwards. */
static void
rec_stats(struct sess *s, struct store_session_stats *st)
{
	struct fwd *f;

	memset(st, 0, sizeof(*st));
	TAILQ_FOREACH (f, &s->fwds, entry) {
		st->conns_open += (int64_t)f->conns_open;
		st->conns_total += (int64_t)f->conns_total;
		st->bytes_in += (int64_t)f->bytes_in;
		st->bytes_out += (int64_t)f->bytes_out;
	}
	/* Forwards freed since keep counting in the session's totals. */
	st->conns_total += s->gone_conns_total;
	st->bytes_in += s->gone_bytes_in;
	st->bytes_out += s->gone_bytes_out;
}

/* Each live endpoint's counters, for listings (edge show, etc.). */
static void
rec_endpoint_stats(struct sess *s)
{
	struct store_endpoint_stats *st = NULL;
	struct fwd *f;
	size_t n = 0;
	int r;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->dead)
			continue;
		st = xreallocarray(st, n + 1, sizeof(*st));
		st[n].id = f->id;
		st[n].conns_open = (int64_t)f->conns_open;
		st[n].conns_total = (int64_t)f->conns_total;
		st[n].bytes_in = (int64_t)f->bytes_in;
		st[n].bytes_out = (int64_t)f->bytes_out;
		n++;
	}
	if (n > 0 && (r = store_endpoint_stats(s->store, st, n)) != 0)
		error_r(r, "session %s: endpoint counters", s->id);
	free(st);
}

void
rec_forget_fwd(struct sess *s, struct fwd *f)
{
	s->gone_conns_total += (int64_t)f->conns_total;
	s->gone_bytes_in += (int64_t)f->bytes_in;
	s->gone_bytes_out += (int64_t)f->bytes_out;
}

int64_t
rec_deadline(struct sess *s)
{
	/* An idle session has nothing to write and is not woken for it. */
	int64_t next = s->stats_dirty ? s->stats_deadline : INT64_MAX;

	if (s->nevq > 0 && s->rec_deadline < next)
		next = s->rec_deadline;
	return next;
}

void
rec_flush(struct sess *s, int force)
{
	struct store_session_stats st;
	int64_t now = misc_monotonic_ms();
	size_t i;
	int r,
	    stats_due = force || (s->stats_dirty && now >= s->stats_deadline);

	if (s->store == NULL)
		return;
	if (!force && !stats_due && (s->nevq == 0 || now < s->rec_deadline))
		return;
	rec_stats(s, &st);
	if (stats_due) {
		/* Byte counters move with the traffic, not per connection. */
		if (st.bytes_in > s->counted_bytes_in)
			rec_count(s, REC_BYTES_IN, "",
			    st.bytes_in - s->counted_bytes_in);
		if (st.bytes_out > s->counted_bytes_out)
			rec_count(s, REC_BYTES_OUT, "",
			    st.bytes_out - s->counted_bytes_out);
		s->counted_bytes_in = st.bytes_in;
		s->counted_bytes_out = st.bytes_out;
		s->stats_deadline = now + REC_STATS_MS;
		s->stats_dirty = 0;
	}
	if (s->nevq == 0 && s->ncounters == 0 && !stats_due)
		return;
	/* EventLog gets each event once, whatever the store does. */
	if (s->nevq > s->nevlogged &&
	    event_log_write(s->conf->event_log, s->evq + s->nevlogged,
	        s->nevq - s->nevlogged) != 0)
		error("EventLog %s: %s", s->conf->event_log, strerror(errno));
	s->nevlogged = s->nevq;
	if (force)
		/* The last write of the session may wait a little longer. */
		(void)store_set_busy_timeout(s->store, REC_FINAL_BUSY_MS);
	r = store_record(s->store, s->evq, s->nevq, s->counters, s->ncounters,
	    s->id, stats_due && s->id != NULL ? &st : NULL);
	if (stats_due && s->id != NULL && r == 0)
		rec_endpoint_stats(s);
	if (r != 0 && !force && s->nevq < REC_QUEUE_MAX) {
		/*
		 * The store is busy, full or unwritable: keep the batch and
		 * try again soon; the relay does not wait on it meanwhile.
		 */
		if (!s->rec_failing)
			error("session %s: cannot record %zu event(s) yet "
			      "(%s); trying again",
			    s->id != NULL ? s->id : "-", s->nevq,
			    store_errmsg(s->store));
		s->rec_failing = 1;
		s->rec_deadline = now + REC_RETRY_MS;
		s->stats_dirty = 1;
		s->stats_deadline = now + REC_RETRY_MS;
		return;
	}
	if (r != 0)
		error("session %s: cannot record %zu event(s) (%s); they "
		      "went to EventLog only",
		    s->id != NULL ? s->id : "-", s->nevq,
		    store_errmsg(s->store));
	else if (s->rec_failing)
		logit("session %s: the store took %zu waiting event(s)",
		    s->id != NULL ? s->id : "-", s->nevq);
	s->rec_failing = 0;
	for (i = 0; i < s->nevq; i++)
		event_free(s->evq[i]);
	s->nevq = 0;
	s->nevlogged = 0;
	free(s->counters);
	s->counters = NULL;
	s->ncounters = 0;
}

void
rec_free(struct sess *s)
{
	size_t i;

	for (i = 0; i < s->nevq; i++)
		event_free(s->evq[i]);
	free(s->evq);
	free(s->counters);
}
