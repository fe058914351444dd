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

/* Usage: what the monitor adds per account, address and hour, and lists. */

#define HOUR_MS 3600000LL
#define DAY_MS  (24 * HOUR_MS)
/* 2026-12-08T00:00:00Z, a day's start. */
#define DAY0 1796688000000LL

/* A usage row of <account_id> through <hostport> at <ms>. */
static struct store_usage
usage_row(const char *account_id, const char *hostport, int64_t ms,
    int64_t conns, int64_t refused, int64_t in, int64_t out)
{
	struct store_usage u;

	memset(&u, 0, sizeof(u));
	u.account_id = (char *)account_id;
	u.hostport = (char *)hostport;
	u.hour_ms = ms;
	u.connections = conns;
	u.refused = refused;
	u.bytes_in = in;
	u.bytes_out = out;
	return u;
}

/* Assert row <u> holds these figures. */
static void
usage_is(const struct store_usage *u, const char *name, const char *hostport,
    int64_t hour_ms, int64_t conns, int64_t refused, int64_t in, int64_t out)
{
	ck_assert_str_eq(u->account_name, name);
	ck_assert_str_eq(u->hostport, hostport);
	ck_assert_int_eq(u->hour_ms, hour_ms);
	ck_assert_int_eq(u->connections, conns);
	ck_assert_int_eq(u->refused, refused);
	ck_assert_int_eq(u->bytes_in, in);
	ck_assert_int_eq(u->bytes_out, out);
}

/*
 * Rows add up within an hour, and list per account (by name), address
 * and hour, day or the whole span, from an hour on, for one account.
 */
START_TEST(test_usage_list)
{
	char *a = mk_account(st, "alice"), *b = mk_account(st, "bob");
	struct store_usage rows[6], *list = NULL;
	size_t n = 0;
	int64_t bytes = -1;

	rows[0] = usage_row(a, "h:1", DAY0 + 10 * 60000, 1, 0, 100, 10);
	rows[1] = usage_row(a, "h:1", DAY0 + 50 * 60000, 2, 1, 200, 20);
	rows[2] = usage_row(a, "h:1", DAY0 + HOUR_MS + 1, 4, 0, 400, 40);
	rows[3] = usage_row(a, "h:2", DAY0 + DAY_MS + 5, 8, 2, 800, 80);
	rows[4] = usage_row(b, "h:1", DAY0 + 1, 16, 0, 1600, 160);
	rows[5] = usage_row(a, "h:1", DAY0 + DAY_MS + 7, 32, 0, 3200, 320);
	ck_assert_int_eq(store_usage_add(st, rows, 6), 0);
	/* The same again adds to the same rows. */
	ck_assert_int_eq(store_usage_add(st, rows + 4, 1), 0);

	ck_assert_int_eq(store_usage_list(st, NULL, 0, HOUR_MS, &list, &n), 0);
	ck_assert_uint_eq(n, 5);
	usage_is(&list[0], "alice", "h:1", DAY0, 3, 1, 300, 30);
	usage_is(&list[1], "alice", "h:1", DAY0 + HOUR_MS, 4, 0, 400, 40);
	usage_is(&list[2], "alice", "h:1", DAY0 + DAY_MS, 32, 0, 3200, 320);
	usage_is(&list[3], "alice", "h:2", DAY0 + DAY_MS, 8, 2, 800, 80);
	usage_is(&list[4], "bob", "h:1", DAY0, 32, 0, 3200, 320);
	ck_assert_str_eq(list[0].account_id, a);
	ck_assert_str_eq(list[4].account_id, b);
	store_usage_list_free(list, n);

	ck_assert_int_eq(store_usage_list(st, NULL, 0, DAY_MS, &list, &n), 0);
	ck_assert_uint_eq(n, 4);
	usage_is(&list[0], "alice", "h:1", DAY0, 7, 1, 700, 70);
	usage_is(&list[1], "alice", "h:1", DAY0 + DAY_MS, 32, 0, 3200, 320);
	usage_is(&list[2], "alice", "h:2", DAY0 + DAY_MS, 8, 2, 800, 80);
	usage_is(&list[3], "bob", "h:1", DAY0, 32, 0, 3200, 320);
	store_usage_list_free(list, n);

	/* The whole span: one row per account and address, first hour. */
	ck_assert_int_eq(store_usage_list(st, a, 0, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	usage_is(&list[0], "alice", "h:1", DAY0, 39, 1, 3900, 390);
	usage_is(&list[1], "alice", "h:2", DAY0 + DAY_MS, 8, 2, 800, 80);
	store_usage_list_free(list, n);

	/* From an hour on: the hour holding <since> counts whole. */
	ck_assert_int_eq(store_usage_list(st, a, DAY0 + HOUR_MS + 30 * 60000, 0,
	                     &list, &n),
	    0);
	ck_assert_uint_eq(n, 2);
	usage_is(&list[0], "alice", "h:1", DAY0 + HOUR_MS, 36, 0, 3600, 360);
	store_usage_list_free(list, n);

	ck_assert_int_eq(store_usage_list(st, "ac_none", 0, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	store_usage_list_free(list, n);
	list = NULL;
	ck_assert_int_eq(store_usage_list(st, NULL, 0, 1000, &list, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(list);

	/* TransferQuota's sum: both ways, from the hour on. */
	ck_assert_int_eq(store_usage_bytes_since(st, a, DAY0 + DAY_MS, &bytes),
	    0);
	ck_assert_int_eq(bytes, 3520 + 880);
	ck_assert_int_eq(store_usage_bytes_since(st, b, 0, &bytes), 0);
	ck_assert_int_eq(bytes, 3520);
	free(a);
	free(b);
}
END_TEST

/*
 * The monitor's batch carries usage: written with its events and
 * counters in one transaction, and a bad row leaves all of it out.
 */
START_TEST(test_usage_batch)
{
	char *a = mk_account(st, "alice");
	struct store_usage rows[2], *list = NULL;
	struct store_counter c = { "porthole_connections_total", "", 1 };
	struct event *ev = mk_event(EVENT_SESSION_STARTED, a, DAY0);
	size_t n = 0;

	rows[0] = usage_row(a, "h:1", DAY0, 1, 0, 5, 6);
	rows[1] = usage_row(a, NULL, DAY0, 1, 0, 5, 6);
	ck_assert_int_eq(store_record_batch(st, &ev, 1, &c, 1, NULL, 0, NULL, 0,
	                     rows, 2),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(count_events(st), 0);
	ck_assert_int_eq(store_record_batch(st, &ev, 1, &c, 1, NULL, 0, NULL, 0,
	                     rows, 1),
	    0);
	ck_assert_uint_eq(count_events(st), 1);
	/* Usage alone is a batch too. */
	ck_assert_int_eq(store_record_batch(st, NULL, 0, NULL, 0, NULL, 0, NULL,
	                     0, rows, 1),
	    0);
	ck_assert_int_eq(store_usage_list(st, NULL, 0, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	usage_is(&list[0], "alice", "h:1", DAY0, 2, 0, 10, 12);
	store_usage_list_free(list, n);
	/* A negative figure is refused. */
	rows[0].bytes_in = -1;
	ck_assert_int_eq(store_usage_add(st, rows, 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free_events(&ev, 1);
	free(a);
}
END_TEST

void
store_tcases_usage(Suite *s)
{
	TCase *tc;

	tc = tcase_create("usage");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_usage_list);
	tcase_add_test(tc, test_usage_batch);
	suite_add_tcase(s, tc);
}
