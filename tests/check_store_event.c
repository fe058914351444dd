/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "store.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "check_store.h"
#include "err.h"
#include "event.h"
#include "id.h"
#include "log.h"
#include "token.h"

/* check_store: events, counters and the event cap. */

/* The number of counters in <store>. */
static size_t
count_counters(struct store *store)
{
	struct store_counter *cl = NULL;
	size_t n = 0;

	ck_assert_int_eq(store_counter_list(store, &cl, &n), 0);
	store_counter_list_free(cl, n);
	return n;
}

/* Record <n> events of account ac_1 at <ts_ms>, in batches. */
static void
record_many(struct store *store, size_t n, int64_t ts_ms)
{
	struct event *evs[500];
	size_t i, k, batch;

	for (i = 0; i < n; i += batch) {
		batch = n - i < 500 ? n - i : 500;
		for (k = 0; k < batch; k++)
			evs[k] = mk_event(EVENT_SESSION_STARTED, "ac_1", ts_ms);
		record_events(store, evs, batch);
		free_events(evs, batch);
	}
}

/* The seq of the oldest and the newest event, and how many there are. */
static void
event_span(struct store *store, int64_t *lop, int64_t *hip, size_t *np)
{
	struct store_event **el = NULL;
	size_t n = 0;

	ck_assert_int_eq(store_event_list(store, 0, NULL, 0, 0, &el, &n), 0);
	*np = n;
	*lop = n > 0 ? el[0]->seq : 0;
	*hip = n > 0 ? el[n - 1]->seq : 0;
	store_event_list_free(el, n);
}

/* Events come back as recorded, in the order recorded. */
START_TEST(test_record_events)
{
	struct event *evs[4];
	struct store_event **el = (struct store_event **)&el;
	size_t n = 99, i;

	evs[0] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	evs[1] = event_new(EVENT_ADDRESS_CREATED, NULL,
	    "{\"name\":\"say \\\"hi\\\"\\n\"}", 1001);
	/* An earlier timestamp still comes later: seq is the order. */
	evs[2] = mk_event(EVENT_SESSION_ENDED, "ac_2", 999);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_ptr_null(el);
	ck_assert_uint_eq(n, 0);
	record_events(st, evs, 3);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		ck_assert_int_gt(el[i]->seq, i == 0 ? 0 : el[i - 1]->seq);
		ck_assert_str_eq(el[i]->id, evs[i]->id);
		ck_assert_str_eq(el[i]->type, evs[i]->type);
		ck_assert_int_eq(el[i]->timestamp_ms, evs[i]->timestamp_ms);
		ck_assert_str_eq(el[i]->json, evs[i]->json);
	}
	ck_assert_str_eq(el[0]->account_id, "ac_1");
	ck_assert_ptr_null(el[1]->account_id);
	ck_assert_str_eq(el[2]->account_id, "ac_2");

	/* A follower asks for what came after the last it saw. */
	evs[3] = mk_event(EVENT_ENDPOINT_STARTED, "ac_1", 1002);
	record_events(st, evs + 3, 1);
	i = (size_t)el[2]->seq;
	store_event_list_free(el, n);
	ck_assert_int_eq(store_event_list(st, (int64_t)i, NULL, 0, 0, &el, &n),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->id, evs[3]->id);
	store_event_list_free(el, n);
	free_events(evs, 4);
}

END_TEST

/*
 * A batch is all or nothing: a taken event id fails it with _EXISTS,
 * the events before it and its counters gone too, even at 1000 events.
 */
START_TEST(test_record_duplicate)
{
	struct event *evs[BIG_BATCH];
	struct store_counter c = { "porthole_connections_total", "", 5 };
	struct store_counter *cl = NULL;
	struct store_event **el = NULL;
	size_t n = 0, i;

	for (i = 0; i < BIG_BATCH; i++)
		evs[i] = mk_event(EVENT_CONNECTION_CLOSED, "ac_1", 1000);
	record_events(st, evs, 1);
	ck_assert_int_eq(store_record(st, evs + 1, BIG_BATCH - 1, &c, 1, NULL,
	                     NULL),
	    0);
	ck_assert_uint_eq(count_events(st), BIG_BATCH);
	/* Again: the first event of the batch is taken. */
	ck_assert_int_eq(store_record(st, evs, 1, &c, 1, NULL, NULL),
	    PORTHOLE_ERR_EXISTS);
	free_events(evs + 1, BIG_BATCH - 1);
	for (i = 1; i < BIG_BATCH; i++)
		evs[i] = mk_event(EVENT_CONNECTION_CLOSED, "ac_1", 2000);
	/* The last is taken: the 998 before it are not recorded. */
	free(evs[BIG_BATCH - 1]->id);
	ck_assert_ptr_nonnull(evs[BIG_BATCH - 1]->id = strdup(evs[0]->id));
	ck_assert_int_eq(store_record(st, evs + 1, BIG_BATCH - 1, &c, 1, NULL,
	                     NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 1500, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(count_events(st), BIG_BATCH);
	ck_assert_int_eq(store_counter_list(st, &cl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(cl[0].value, 5);
	store_counter_list_free(cl, n);
	/* The same id twice in one batch. */
	ck_assert_int_eq(store_record(st, (struct event *[]){ evs[1], evs[1] },
	                     2, NULL, 0, NULL, NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_uint_eq(count_events(st), BIG_BATCH);
	free_events(evs, BIG_BATCH);
}

END_TEST

/* Bad arguments record nothing; NULL elements are skipped; none is 0. */
START_TEST(test_record_args)
{
	struct event *evs[3], bad;
	struct store_counter c[2] = { { "porthole_a_total", "", 1 },
		{ NULL, "", 1 } };
	struct store_session_stats stats = { 1, 1, 1, 1 };

	evs[0] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	evs[1] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	memset(&bad, 0, sizeof(bad));
	bad.id = evs[1]->id;
	bad.type = EVENT_SESSION_STARTED;
	evs[2] = &bad; /* no json */
	ck_assert_int_eq(store_record(NULL, evs, 1, NULL, 0, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, NULL, 1, NULL, 0, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, evs, 0, NULL, 1, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, evs, 3, c, 1, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, evs, 2, c, 2, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(count_events(st), 0);
	ck_assert_uint_eq(count_counters(st), 0);

	/* Nothing to do, and a session without stats, are fine. */
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, NULL, NULL), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", NULL), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, NULL, &stats), 0);
	/* A session that does not exist is not an error. */
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_nope", &stats),
	    0);

	evs[2] = NULL;
	ck_assert_int_eq(store_record(st,
	                     (struct event *[]){ NULL, evs[0], NULL, evs[1] },
	                     4, c, 1, NULL, NULL),
	    0);
	ck_assert_uint_eq(count_events(st), 2);
	ck_assert_uint_eq(count_counters(st), 1);
	free_events(evs, 2);
}

END_TEST

/* Counters add up their deltas, per name and labels. */
START_TEST(test_record_counters)
{
	struct store_counter d1[] = {
		{ "porthole_connections_total", "", 1 },
		{ "porthole_bytes_total", "direction=\"out\"", 50 },
		{ "porthole_bytes_total", "direction=\"in\"", 100 },
		{ "porthole_refused_total", NULL, 0 },
		{ "porthole_connections_total", "", 2 },
	};
	struct store_counter d2[] = {
		{ "porthole_bytes_total", "direction=\"in\"", 11 },
		{ "porthole_connections_total", "", -1 },
		{ "porthole_bytes_total", "", 7 },
	};
	struct store_counter *cl = (struct store_counter *)&cl;
	size_t n = 99;

	ck_assert_int_eq(store_counter_list(st, &cl, &n), 0);
	ck_assert_ptr_null(cl);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_record(st, NULL, 0, d1, 5, NULL, NULL), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, d2, 3, NULL, NULL), 0);
	ck_assert_int_eq(store_counter_list(st, &cl, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(cl[0].name, "porthole_bytes_total");
	ck_assert_str_eq(cl[0].labels, "");
	ck_assert_int_eq(cl[0].value, 7);
	ck_assert_str_eq(cl[1].name, "porthole_bytes_total");
	ck_assert_str_eq(cl[1].labels, "direction=\"in\"");
	ck_assert_int_eq(cl[1].value, 111);
	ck_assert_str_eq(cl[2].labels, "direction=\"out\"");
	ck_assert_int_eq(cl[2].value, 50);
	ck_assert_str_eq(cl[3].name, "porthole_connections_total");
	ck_assert_int_eq(cl[3].value, 2);
	/* A zero delta still makes the counter, at 0. */
	ck_assert_str_eq(cl[4].name, "porthole_refused_total");
	ck_assert_str_eq(cl[4].labels, "");
	ck_assert_int_eq(cl[4].value, 0);
	store_counter_list_free(cl, n);
	store_counter_list_free(NULL, 0);

	ck_assert_int_eq(store_counter_list(st, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_counter_list(st, &cl, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(cl);
}

END_TEST

/*
 * A session's stats are the values it last recorded, seen by get and
 * list; once it has ended they stay as they were.
 */
START_TEST(test_record_session_stats)
{
	struct store_session_stats s1 = { 3, 10, 1000, 2000 };
	struct store_session_stats s2 = { 1, 12, 1500, 2500 };
	struct store_session_stats s3 = { 9, 99, 9999, 99999 };
	struct store_session *ss = NULL, **sl = NULL;
	struct event *ev;
	size_t n = 0;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 101, 1001);
	ck_assert_int_eq(store_session_get(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss->conns_open, 0);
	ck_assert_int_eq(ss->conns_total, 0);
	ck_assert_int_eq(ss->bytes_in, 0);
	ck_assert_int_eq(ss->bytes_out, 0);
	store_session_free(ss);

	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", &s1), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", &s2), 0);
	ck_assert_int_eq(store_session_get(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss->conns_open, 1);
	ck_assert_int_eq(ss->conns_total, 12);
	ck_assert_int_eq(ss->bytes_in, 1500);
	ck_assert_int_eq(ss->bytes_out, 2500);
	store_session_free(ss);
	ck_assert_int_eq(store_session_list(st, NULL, &sl, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(sl[0]->id, "ss_1");
	ck_assert_int_eq(sl[0]->conns_total, 12);
	ck_assert_int_eq(sl[0]->bytes_out, 2500);
	ck_assert_str_eq(sl[1]->id, "ss_2");
	ck_assert_int_eq(sl[1]->conns_total, 0);
	store_session_list_free(sl, n);

	/* Ended: the events still go in, the stats are left alone. */
	ck_assert_int_eq(store_session_kill(st, "ss_1", NULL, 3000, NULL), 0);
	ev = mk_event(EVENT_SESSION_ENDED, id, 3001);
	ck_assert_int_eq(store_record(st, &ev, 1, NULL, 0, "ss_1", &s3), 0);
	ck_assert_uint_eq(count_events(st), 1);
	ck_assert_int_eq(store_session_get(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss->conns_open, 1);
	ck_assert_int_eq(ss->conns_total, 12);
	store_session_free(ss);
	/* The other session was never touched. */
	ck_assert_int_eq(store_session_get(st, "ss_2", &ss), 0);
	ck_assert_int_eq(ss->bytes_in, 0);
	store_session_free(ss);
	event_free(ev);
	free(id);
}

END_TEST

/*
 * The events of test_event_list, by letter: type, timestamp. They are
 * recorded in this order; F is before the epoch.
 */
static const struct {
	const char *type;
	int64_t ts;
} list_events[] = {
	{ EVENT_SESSION_STARTED, 1000 }, /* A */
	{ EVENT_CONNECTION_CLOSED, 2000 }, /* B */
	{ EVENT_CONNECTION_CLOSED, 3000 }, /* C */
	{ EVENT_SESSION_ENDED, 1500 }, /* D */
	{ EVENT_CONNECTION_CLOSED, 4000 }, /* E */
	{ EVENT_SESSION_ENDED, -1 }, /* F */
};
#define NLIST_EVENTS (sizeof(list_events) / sizeof(list_events[0]))

/* The filters, and the letters expected, oldest first. */
static const struct {
	int after; /* a letter's seq, 0 for none */
	const char *type;
	int64_t since;
	size_t limit;
	const char *want;
} list_cases[] = {
	{ 0, NULL, 0, 0, "ABCDEF" },
	{ 'B', NULL, 0, 0, "CDEF" },
	{ 'F', NULL, 0, 0, "" },
	{ 0, EVENT_CONNECTION_CLOSED, 0, 0, "BCE" },
	{ 0, EVENT_SESSION_ENDED, 0, 0, "DF" },
	{ 0, "tcp_nothing.v0", 0, 0, "" },
	{ 0, NULL, 2000, 0, "BCE" },
	{ 0, NULL, 1500, 0, "BCDE" },
	{ 0, NULL, 1, 0, "ABCDE" },
	{ 0, NULL, -1, 0, "ABCDEF" },
	{ 0, NULL, 5000, 0, "" },
	{ 0, NULL, 0, 2, "EF" },
	{ 0, NULL, 0, 1, "F" },
	{ 0, NULL, 0, 6, "ABCDEF" },
	{ 0, NULL, 0, 100, "ABCDEF" },
	{ 0, NULL, 0, SIZE_MAX, "ABCDEF" },
	{ 0, EVENT_CONNECTION_CLOSED, 0, 2, "CE" },
	{ 0, EVENT_CONNECTION_CLOSED, 2500, 1, "E" },
	{ 0, EVENT_CONNECTION_CLOSED, 2500, 5, "CE" },
	{ 'C', EVENT_CONNECTION_CLOSED, 0, 0, "E" },
	{ 'A', EVENT_CONNECTION_CLOSED, 0, 1, "E" },
	{ 'A', NULL, 1200, 2, "DE" },
	{ 'D', NULL, 0, 3, "EF" },
	{ 'D', EVENT_SESSION_ENDED, 0, 3, "F" },
	{ 'A', EVENT_SESSION_ENDED, 1000, 0, "D" },
};

START_TEST(test_event_list)
{
	struct event *evs[NLIST_EVENTS];
	struct store_event **el = NULL, **all = NULL;
	size_t n = 0, nall = 0, i;
	int64_t after = 0;
	const char *want = list_cases[_i].want;

	for (i = 0; i < NLIST_EVENTS; i++)
		evs[i] =
		    mk_event(list_events[i].type, "ac_1", list_events[i].ts);
	/* Two batches, so that seq runs on across transactions. */
	record_events(st, evs, 2);
	record_events(st, evs + 2, NLIST_EVENTS - 2);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &all, &nall), 0);
	ck_assert_uint_eq(nall, NLIST_EVENTS);
	if (list_cases[_i].after != 0)
		after = all[list_cases[_i].after - 'A']->seq;
	ck_assert_int_eq(store_event_list(st, after, list_cases[_i].type,
	                     list_cases[_i].since, list_cases[_i].limit, &el,
	                     &n),
	    0);
	ck_assert_msg(n == strlen(want), "%zu events, want %s", n, want);
	for (i = 0; i < n; i++) {
		ck_assert_msg(strcmp(el[i]->id, evs[want[i] - 'A']->id) == 0,
		    "event %zu is not %c", i, want[i]);
		ck_assert_int_eq(el[i]->seq, all[want[i] - 'A']->seq);
	}
	store_event_list_free(el, n);
	store_event_list_free(all, nall);
	free_events(evs, NLIST_EVENTS);
}

END_TEST

START_TEST(test_event_list_args)
{
	struct store_event **el = (struct store_event **)&el;
	size_t n = 99;

	ck_assert_int_eq(store_event_list(NULL, 0, NULL, 0, 0, &el, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(el);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	store_event_list_free(NULL, 0);
	store_event_free(NULL);
}

END_TEST

/* Pruning drops old events; seq is never reused, even when all go. */
START_TEST(test_event_prune)
{
	struct event *evs[4];
	struct store_event **el = NULL;
	size_t n = 0;
	int64_t pruned = -1, last;

	evs[0] = mk_event(EVENT_SESSION_STARTED, "ac_1", 3000);
	evs[1] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	evs[2] = mk_event(EVENT_SESSION_STARTED, "ac_1", 2000);
	evs[3] = mk_event(EVENT_SESSION_STARTED, "ac_1", 5000);
	record_events(st, evs, 3);
	ck_assert_int_eq(store_event_prune(st, 2000, &pruned), 0);
	ck_assert_int_eq(pruned, 1);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(el[0]->id, evs[0]->id);
	ck_assert_str_eq(el[1]->id, evs[2]->id);
	last = el[1]->seq;
	store_event_list_free(el, n);
	ck_assert_int_eq(store_event_prune(st, 2000, &pruned), 0);
	ck_assert_int_eq(pruned, 0);
	ck_assert_int_eq(store_event_prune(st, 3001, NULL), 0);
	ck_assert_uint_eq(count_events(st), 0);

	record_events(st, evs + 3, 1);
	ck_assert_int_eq(store_event_list(st, last, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_gt(el[0]->seq, last);
	store_event_list_free(el, n);
	ck_assert_int_eq(store_event_prune(NULL, 0, &pruned),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(pruned, 0);
	free_events(evs, 4);
}

END_TEST

/* Live sessions, live endpoints, and their sessions' open connections. */
START_TEST(test_live_totals)
{
	struct store_session_stats stats = { 3, 5, 0, 0 };
	int64_t ns = -1, ne = -1, nc = -1;
	char *id;

	ck_assert_int_eq(store_live_totals(st, NULL, &ns, &ne, &nc), 0);
	ck_assert_int_eq(ns, 0);
	ck_assert_int_eq(ne, 0);
	ck_assert_int_eq(nc, 0);

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 101, 1000);
	mk_session(st, "ss_3", id, 102, 1000);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1001);
	mk_endpoint(st, "ep_2", "ss_2", id, 41235, 1001);
	mk_endpoint(st, "ep_3", "ss_2", id, 41236, 1001);
	mk_endpoint(st, "ep_4", "ss_3", id, 41237, 1001);
	ck_assert_int_eq(store_endpoint_end(st, "ep_3", 1500), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", &stats), 0);
	stats.conns_open = 4;
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_2", &stats), 0);
	stats.conns_open = 100;
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_3", &stats), 0);
	/* An ended session counts for nothing, its endpoints neither. */
	ck_assert_int_eq(store_session_end(st, "ss_3", 2000), 0);
	ck_assert_int_eq(store_live_totals(st, NULL, &ns, &ne, &nc), 0);
	ck_assert_int_eq(ns, 2);
	ck_assert_int_eq(ne, 2);
	ck_assert_int_eq(nc, 7);
	ck_assert_int_eq(store_live_totals(st, NULL, NULL, &ne, NULL), 0);
	ck_assert_int_eq(ne, 2);
	ck_assert_int_eq(store_live_totals(NULL, NULL, &ns, &ne, &nc),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(ns, 0);
	free(id);
}

END_TEST

/* The cap keeps the newest events by seq. */
START_TEST(test_event_cap)
{
	int64_t lo, hi, first, last, deleted = -1;
	size_t n;

	/* Nothing to cap. */
	ck_assert_int_eq(store_event_cap(st, 5, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	record_many(st, 10, 1000);
	event_span(st, &first, &last, &n);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(store_event_cap(st, 0, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(st, 10, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(st, 4, &deleted), 0);
	ck_assert_int_eq(deleted, 6);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(lo, last - 3);
	ck_assert_int_eq(hi, last);
	ck_assert_int_eq(store_event_cap(st, 4, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(st, 1, NULL), 0);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(lo, last);
	ck_assert_int_eq(store_event_cap(st, -1, &deleted),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(NULL, 1, &deleted),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}

END_TEST

/* More than a batch beyond the cap: every batch goes. */
START_TEST(test_event_cap_batches)
{
	int64_t lo, hi, first, last, deleted = -1;
	size_t n;

	record_many(st, 25000, 1000);
	event_span(st, &first, &last, &n);
	ck_assert_uint_eq(n, 25000);
	ck_assert_int_eq(store_event_cap(st, 1000, &deleted), 0);
	ck_assert_int_eq(deleted, 24000);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 1000);
	ck_assert_int_eq(lo, last - 999);
	ck_assert_int_eq(hi, last);
}

END_TEST

/*
 * The cap counts events stored, by seq: an event is deleted once <max>
 * newer ones were stored, even if pruning by age took some of them.
 */
START_TEST(test_event_cap_holes)
{
	struct event *evs[6];
	int64_t lo, hi, deleted = -1;
	size_t n, i;

	for (i = 0; i < 6; i++)
		evs[i] = mk_event(EVENT_SESSION_STARTED, "ac_1",
		    i == 3 ? 500 : 1000);
	record_events(st, evs, 6);
	free_events(evs, 6);
	ck_assert_int_eq(store_event_prune(st, 1000, &deleted), 0);
	ck_assert_int_eq(deleted, 1);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 5);
	/* Seq 1-6 less 4: with 5 and 6 newer, 3 was stored 3 before 6. */
	ck_assert_int_eq(store_event_cap(st, 3, &deleted), 0);
	ck_assert_int_eq(deleted, 3);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(lo, hi - 1);
}

END_TEST

/* Add the test cases of this file to <s>. */
void
store_tcases_event(Suite *s)
{
	TCase *tc;

	tc = tcase_create("event");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_record_events);
	tcase_add_test(tc, test_record_duplicate);
	tcase_add_test(tc, test_record_args);
	tcase_add_test(tc, test_record_counters);
	tcase_add_test(tc, test_record_session_stats);
	tcase_add_loop_test(tc, test_event_list, 0,
	    sizeof(list_cases) / sizeof(list_cases[0]));
	tcase_add_test(tc, test_event_list_args);
	tcase_add_test(tc, test_event_prune);
	tcase_add_test(tc, test_live_totals);
	suite_add_tcase(s, tc);
	tc = tcase_create("cap");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_event_cap);
	tcase_add_test(tc, test_event_cap_batches);
	tcase_add_test(tc, test_event_cap_holes);
	suite_add_tcase(s, tc);
}
