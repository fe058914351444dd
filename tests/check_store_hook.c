/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_store.h"
#include "err.h"
#include "event.h"

/* Webhooks: destinations, subscriptions and their delivery state. */

#define SECRET  "whsec_0123456789abcdef"
#define SECRET2 "whsec_fedcba9876543210"

/* Record one event of <type> for <account_id> at <ts>. */
static void
rec(const char *type, const char *account_id, int64_t ts)
{
	struct event *ev = mk_event(type, account_id, ts);

	record_events(st, &ev, 1);
	event_free(ev);
}

/* Destinations are kept with their secret, seen only within scope. */
START_TEST(test_hook_dest)
{
	struct store_hook_dest *d = NULL, **list = NULL;
	size_t n = 0;
	int more = -1;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ck_assert_int_eq(store_hook_dest_add(st, "dst_1", NULL,
	                     "http://127.0.0.1:1/a", SECRET, "admin's", NULL,
	                     1000),
	    0);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_2", alice,
	                     "http://127.0.0.1:1/b", SECRET2, NULL, "m", 1100),
	    0);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_3", alice,
	                     "http://127.0.0.1:1/c", SECRET2, NULL, NULL, 1200),
	    0);
	/* Bad arguments, a taken id, an unknown account. */
	ck_assert_int_eq(store_hook_dest_add(st, "dst_1", NULL, "http://x/",
	                     SECRET, NULL, NULL, 1),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_9", "ac_nobody",
	                     "http://x/", SECRET, NULL, NULL, 1),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_9", NULL, "http://x/",
	                     "short", NULL, NULL, 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_9", NULL, "", SECRET,
	                     NULL, NULL, 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	/* The secret only when asked for. */
	ck_assert_int_eq(store_hook_dest_get(st, "dst_2", NULL, 0, &d), 0);
	ck_assert_str_eq(d->account_name, "alice");
	ck_assert_str_eq(d->url, "http://127.0.0.1:1/b");
	ck_assert_str_eq(d->description, "");
	ck_assert_str_eq(d->metadata, "m");
	ck_assert_ptr_null(d->secret);
	ck_assert_int_eq(d->created_ms, 1100);
	store_hook_dest_free(d);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_2", alice, 1, &d), 0);
	ck_assert_str_eq(d->secret, SECRET2);
	store_hook_dest_free(d);
	/* Another account's, or the admin's, is not there for bob. */
	ck_assert_int_eq(store_hook_dest_get(st, "dst_2", bob, 0, &d),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_1", alice, 0, &d),
	    PORTHOLE_ERR_NOT_FOUND);

	/* Lists: newest first, paged, scoped. */
	ck_assert_int_eq(store_hook_dest_list(st, NULL, NULL, 2, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 1);
	ck_assert_str_eq(list[0]->id, "dst_3");
	ck_assert_str_eq(list[1]->id, "dst_2");
	ck_assert_ptr_null(list[0]->secret);
	store_hook_dest_list_free(list, n);
	ck_assert_int_eq(store_hook_dest_list(st, NULL, "dst_2", 2, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(more, 0);
	ck_assert_str_eq(list[0]->id, "dst_1");
	store_hook_dest_list_free(list, n);
	ck_assert_int_eq(store_hook_dest_list(st, alice, NULL, 10, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 2);
	store_hook_dest_list_free(list, n);
	ck_assert_int_eq(store_hook_dest_list(st, bob, NULL, 10, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 0);
	/* All of them at once, in the same order. */
	ck_assert_int_eq(store_hook_dest_all(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->id, "dst_3");
	ck_assert_str_eq(list[2]->id, "dst_1");
	ck_assert_ptr_null(list[2]->secret);
	store_hook_dest_list_free(list, n);
	ck_assert_int_eq(store_hook_dest_all(st, alice, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	store_hook_dest_list_free(list, n);

	/* Update within scope only. */
	ck_assert_int_eq(store_hook_dest_update(st, "dst_2", bob, NULL, NULL,
	                     "x", NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_dest_update(st, "dst_2", alice,
	                     "https://example.com/h", NULL, "desc", NULL),
	    0);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_2", NULL, 1, &d), 0);
	ck_assert_str_eq(d->url, "https://example.com/h");
	ck_assert_str_eq(d->description, "desc");
	ck_assert_str_eq(d->metadata, "m");
	ck_assert_str_eq(d->secret, SECRET2);
	store_hook_dest_free(d);

	/* Delete: gone from get, list and deliveries. */
	ck_assert_int_eq(store_hook_dest_delete(st, "dst_3", bob, 2000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_dest_delete(st, "dst_3", alice, 2000), 0);
	ck_assert_int_eq(store_hook_dest_delete(st, "dst_3", alice, 2000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_3", NULL, 0, &d),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_deliverable(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "dst_1");
	ck_assert_str_eq(list[0]->secret, SECRET);
	ck_assert_str_eq(list[1]->id, "dst_2");
	store_hook_dest_list_free(list, n);
	/* An account's destinations go with it. */
	ck_assert_int_eq(store_account_delete(st, alice, 3000, NULL, NULL), 0);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_2", NULL, 0, &d),
	    PORTHOLE_ERR_NOT_FOUND);
	free(alice);
	free(bob);
}
END_TEST

/* Subscriptions name types and destinations of their own owner. */
START_TEST(test_hook_sub)
{
	const char *types[] = { EVENT_CONNECTION_CLOSED, "*",
		EVENT_CONNECTION_CLOSED };
	const char *dests[] = { "dst_a", "dst_a2" };
	const char *bad[] = { "dst_b" };
	const char *admin[] = { "dst_0" };
	struct store_hook_sub *s = NULL, **list = NULL;
	size_t n = 0;
	int more;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ck_assert_int_eq(store_hook_dest_add(st, "dst_0", NULL, "http://x/0",
	                     SECRET, NULL, NULL, 1),
	    0);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_a", alice, "http://x/a",
	                     SECRET, NULL, NULL, 1),
	    0);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_a2", alice, "http://x/a2",
	                     SECRET, NULL, NULL, 1),
	    0);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_b", bob, "http://x/b",
	                     SECRET, NULL, NULL, 1),
	    0);
	ck_assert_int_eq(store_hook_sub_add(st, "esb_1", alice, "d", NULL,
	                     types, 3, dests, 2, 1000),
	    0);
	/* Another owner's destination, the admin's, or an unknown one. */
	ck_assert_int_eq(store_hook_sub_add(st, "esb_2", alice, NULL, NULL,
	                     types, 1, bad, 1, 1000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_sub_add(st, "esb_2", alice, NULL, NULL,
	                     types, 1, admin, 1, 1000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_sub_add(st, "esb_2", NULL, NULL, NULL,
	                     types, 1, dests, 1, 1000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_sub_add(st, "esb_2", NULL, NULL, NULL,
	                     types, 0, admin, 1, 1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_hook_sub_add(st, "esb_2", NULL, NULL, NULL,
	                     types, 1, admin, 1, 1100),
	    0);

	ck_assert_int_eq(store_hook_sub_get(st, "esb_1", alice, &s), 0);
	ck_assert_str_eq(s->description, "d");
	ck_assert_uint_eq(s->ntypes, 2);
	ck_assert_str_eq(s->types[0], "*");
	ck_assert_str_eq(s->types[1], EVENT_CONNECTION_CLOSED);
	ck_assert_uint_eq(s->ndests, 2);
	ck_assert_str_eq(s->dests[0], "dst_a");
	ck_assert_str_eq(s->dests[1], "dst_a2");
	store_hook_sub_free(s);
	ck_assert_int_eq(store_hook_sub_get(st, "esb_1", bob, &s),
	    PORTHOLE_ERR_NOT_FOUND);

	ck_assert_int_eq(store_hook_sub_list(st, NULL, NULL, 10, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "esb_2");
	ck_assert_str_eq(list[1]->id, "esb_1");
	ck_assert_uint_eq(list[1]->ndests, 2);
	store_hook_sub_list_free(list, n);
	ck_assert_int_eq(store_hook_sub_list(st, alice, NULL, 1, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(more, 0);
	store_hook_sub_list_free(list, n);
	ck_assert_int_eq(store_hook_sub_all(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "esb_2");
	ck_assert_uint_eq(list[1]->ntypes, 2);
	store_hook_sub_list_free(list, n);

	/* A deleted destination leaves its subscriptions. */
	ck_assert_int_eq(store_hook_dest_delete(st, "dst_a2", NULL, 5), 0);
	ck_assert_int_eq(store_hook_sub_get(st, "esb_1", NULL, &s), 0);
	ck_assert_uint_eq(s->ndests, 1);
	store_hook_sub_free(s);

	/* Update: new types replace the old; text stays if not given. */
	ck_assert_int_eq(store_hook_sub_update(st, "esb_1", bob, "x", NULL,
	                     NULL, 0, NULL, 0),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_sub_update(st, "esb_1", alice, NULL, "md",
	                     types, 1, NULL, 0),
	    0);
	ck_assert_int_eq(store_hook_sub_get(st, "esb_1", NULL, &s), 0);
	ck_assert_str_eq(s->description, "d");
	ck_assert_str_eq(s->metadata, "md");
	ck_assert_uint_eq(s->ntypes, 1);
	ck_assert_uint_eq(s->ndests, 1);
	store_hook_sub_free(s);

	ck_assert_int_eq(store_hook_sub_delete(st, "esb_1", bob),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_hook_sub_delete(st, "esb_1", alice), 0);
	ck_assert_int_eq(store_hook_sub_get(st, "esb_1", NULL, &s),
	    PORTHOLE_ERR_NOT_FOUND);
	free(alice);
	free(bob);
}
END_TEST

/*
 * Pending events: after the cursor, of the subscribed types, of the
 * destination's account; the cursor passes over what matched nothing.
 */
START_TEST(test_hook_pending)
{
	const char *closed[] = { EVENT_CONNECTION_CLOSED };
	const char *any[] = { "*" };
	const char *da[] = { "dst_a" };
	const char *d0[] = { "dst_0" };
	struct store_hook_dest *a = NULL, *z = NULL;
	struct store_event **evs = NULL;
	size_t n = 0;
	int64_t scanned, cursor = -1;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	/* Events from before a destination are not its. */
	rec(EVENT_CONNECTION_CLOSED, alice, 1);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_a", alice, "http://x/a",
	                     SECRET, NULL, NULL, 2),
	    0);
	ck_assert_int_eq(store_hook_dest_add(st, "dst_0", NULL, "http://x/0",
	                     SECRET, NULL, NULL, 2),
	    0);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_a", NULL, 1, &a), 0);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_0", NULL, 1, &z), 0);
	ck_assert_int_gt(a->cursor, 0);
	cursor = a->cursor;

	/* No subscription: nothing, but the cursor may pass. */
	rec(EVENT_CONNECTION_CLOSED, alice, 3);
	ck_assert_int_eq(store_hook_pending(st, a, cursor, 10, &evs, &n,
	                     &scanned),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(scanned, cursor + 1);

	ck_assert_int_eq(store_hook_sub_add(st, "esb_a", alice, NULL, NULL,
	                     closed, 1, da, 1, 4),
	    0);
	ck_assert_int_eq(store_hook_sub_add(st, "esb_0", NULL, NULL, NULL, any,
	                     1, d0, 1, 4),
	    0);
	rec(EVENT_SESSION_STARTED, alice, 5);
	rec(EVENT_CONNECTION_CLOSED, bob, 6);
	rec(EVENT_CONNECTION_CLOSED, alice, 7);
	rec(EVENT_CONNECTION_CLOSED, alice, 8);
	rec(EVENT_SESSION_ENDED, NULL, 9);

	/* alice's: her closed connections only, in order. */
	ck_assert_int_eq(store_hook_pending(st, a, cursor, 10, &evs, &n,
	                     &scanned),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(evs[0]->timestamp_ms, 3);
	ck_assert_int_eq(evs[1]->timestamp_ms, 7);
	ck_assert_int_eq(evs[2]->timestamp_ms, 8);
	ck_assert_int_eq(scanned, cursor + 6);
	store_event_list_free(evs, n);
	/* A batch of two: the cursor may go to the second only. */
	ck_assert_int_eq(store_hook_pending(st, a, cursor, 2, &evs, &n,
	                     &scanned),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(scanned, evs[1]->seq);
	store_event_list_free(evs, n);
	/* The admin's: everything after its start. */
	ck_assert_int_eq(store_hook_pending(st, z, z->cursor, 100, &evs, &n,
	                     &scanned),
	    0);
	ck_assert_uint_eq(n, 6);
	ck_assert_ptr_null(evs[5]->account_id);
	store_event_list_free(evs, n);
	/* Up to date: nothing, and the cursor stays. */
	ck_assert_int_eq(store_hook_pending(st, a, cursor + 6, 10, &evs, &n,
	                     &scanned),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(scanned, cursor + 6);
	store_hook_dest_free(a);
	store_hook_dest_free(z);
	free(alice);
	free(bob);
}
END_TEST

/* One node holds a destination's lease; the cursor moves under it. */
START_TEST(test_hook_lease)
{
	struct store_hook_dest *d = NULL;
	int64_t cursor = -1, next = -1;
	int attempts = -1;

	ck_assert_int_eq(store_hook_dest_add(st, "dst_1", NULL, "http://x/",
	                     SECRET, NULL, NULL, 1),
	    0);
	ck_assert_int_eq(store_hook_lease(st, "dst_1", "n1", 1000, 31000,
	                     &cursor, &attempts, &next),
	    0);
	ck_assert_int_eq(cursor, 0);
	ck_assert_int_eq(attempts, 0);
	ck_assert_int_eq(next, 0);
	/* Another node waits until it runs out; the holder renews. */
	ck_assert_int_eq(store_hook_lease(st, "dst_1", "n2", 2000, 32000, NULL,
	                     NULL, NULL),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(store_hook_lease(st, "dst_1", "n1", 2000, 32000, NULL,
	                     NULL, NULL),
	    0);
	ck_assert_int_eq(store_hook_lease(st, "dst_9", "n1", 2000, 32000, NULL,
	                     NULL, NULL),
	    PORTHOLE_ERR_NOT_FOUND);

	/* Failures are kept, and forgotten with the next success. */
	ck_assert_int_eq(store_hook_failed(st, "dst_1", "n1", 3, "HTTP 500",
	                     40000),
	    0);
	ck_assert_int_eq(store_hook_failed(st, "dst_1", "n2", 1, "x", 1),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_1", NULL, 0, &d), 0);
	ck_assert_int_eq(d->attempts, 3);
	ck_assert_str_eq(d->last_error, "HTTP 500");
	ck_assert_int_eq(d->next_attempt_ms, 40000);
	ck_assert_str_eq(d->lease_node, "n1");
	store_hook_dest_free(d);
	ck_assert_int_eq(store_hook_advance(st, "dst_1", "n1", 0, 5, 2, 50000),
	    0);
	/* From a cursor that moved on, or without the lease: refused. */
	ck_assert_int_eq(store_hook_advance(st, "dst_1", "n1", 0, 7, 1, 1),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(store_hook_advance(st, "dst_1", "n2", 5, 7, 1, 1),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_1", NULL, 0, &d), 0);
	ck_assert_int_eq(d->cursor, 5);
	ck_assert_int_eq(d->attempts, 0);
	ck_assert_ptr_null(d->last_error);
	ck_assert_int_eq(d->delivered_ms, 50000);
	ck_assert_int_eq(d->delivered_total, 2);
	store_hook_dest_free(d);
	/* Passing over others keeps the time of the last delivery. */
	ck_assert_int_eq(store_hook_advance(st, "dst_1", "n1", 5, 6, 0, 60000),
	    0);
	ck_assert_int_eq(store_hook_lease(st, "dst_1", "n2", 32000, 62000,
	                     &cursor, NULL, NULL),
	    0);
	ck_assert_int_eq(cursor, 6);
	ck_assert_int_eq(store_hook_dest_get(st, "dst_1", NULL, 0, &d), 0);
	ck_assert_int_eq(d->delivered_ms, 50000);
	ck_assert_str_eq(d->lease_node, "n2");
	store_hook_dest_free(d);
	/* A clean exit gives the lease up. */
	ck_assert_int_eq(store_hook_release(st, "n2"), 0);
	ck_assert_int_eq(store_hook_lease(st, "dst_1", "n1", 32001, 62000, NULL,
	                     NULL, NULL),
	    0);
}
END_TEST

void
store_tcases_hook(Suite *s)
{
	TCase *tc = tcase_create("hook");

	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_hook_dest);
	tcase_add_test(tc, test_hook_sub);
	tcase_add_test(tc, test_hook_pending);
	tcase_add_test(tc, test_hook_lease);
	suite_add_tcase(s, tc);
}
