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

/* Nodes of a fleet: their rows, heartbeats, and the release of lost ones. */

/* Add live session <id> of <account_id> on <node> (region <region>). */
static void
mk_session_on(struct store *store, const char *id, const char *account_id,
    int64_t pid, const char *node, const char *region)
{
	struct store_session s;

	memset(&s, 0, sizeof(s));
	s.id = (char *)id;
	s.account_id = (char *)account_id;
	s.pid = pid;
	s.client_ip = (char *)"192.0.2.7";
	s.client_port = 50000;
	s.started_ms = 1000;
	s.node = (char *)node;
	s.region = (char *)region;
	ck_assert_int_eq(store_session_add(store, &s, 0), 0);
}

/* Add live endpoint <id> on <host>:<port> for session <sid> on <node>. */
static int
add_endpoint_on(struct store *store, const char *id, const char *sid,
    const char *account_id, const char *host, int port, const char *node,
    const char *region, const char *address_id)
{
	struct store_endpoint e;

	fill_endpoint(&e, id, sid, account_id, port, 2000);
	e.host = (char *)host;
	e.node = (char *)node;
	e.region = (char *)region;
	e.address_id = (char *)address_id;
	return store_endpoint_add(store, &e);
}

/* Sessions, endpoints and the addresses they serve name their node. */
START_TEST(test_node_rows)
{
	struct store_session **sl = NULL, *s = NULL;
	struct store_endpoint **el = NULL;
	struct store_address *a = NULL;
	size_t ns = 0, ne = 0;
	int64_t ls = -1, le = -1, lc = -1;
	char *id, *ra;

	id = mk_account(st, "alice");
	ra = mk_address(st, id, "eu.example", 41000, 1000);
	mk_session_on(st, "ss_1", id, 100, "eu-1", "eu");
	mk_session_on(st, "ss_2", id, 100, "us-1", NULL);
	ck_assert_int_eq(add_endpoint_on(st, "ep_1", "ss_1", id, "eu.example",
	                     41000, "eu-1", "eu", ra),
	    0);
	ck_assert_int_eq(add_endpoint_on(st, "ep_2", "ss_2", id, "us.example",
	                     12000, "us-1", NULL, NULL),
	    0);
	ck_assert_int_eq(store_session_list(st, NULL, &sl, &ns), 0);
	ck_assert_uint_eq(ns, 2);
	ck_assert_str_eq(sl[0]->node, "eu-1");
	ck_assert_str_eq(sl[0]->region, "eu");
	ck_assert_str_eq(sl[1]->node, "us-1");
	ck_assert_str_eq(sl[1]->region, "");
	ck_assert_int_eq(store_endpoint_list(st, &el, &ne), 0);
	ck_assert_uint_eq(ne, 2);
	ck_assert_str_eq(el[0]->node, "eu-1");
	ck_assert_str_eq(el[0]->region, "eu");
	ck_assert_str_eq(el[1]->node, "us-1");
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_str_eq(a->node, "eu-1");
	ck_assert_str_eq(a->region, "eu");
	store_address_free(a);
	a = NULL;
	/* A node's live totals, for its metrics; NULL is the fleet's. */
	ck_assert_int_eq(store_live_totals(st, "eu-1", &ls, &le, &lc), 0);
	ck_assert_int_eq(ls, 1);
	ck_assert_int_eq(le, 1);
	ck_assert_int_eq(store_live_totals(st, NULL, &ls, &le, &lc), 0);
	ck_assert_int_eq(ls, 2);
	ck_assert_int_eq(le, 2);
	ck_assert_int_eq(store_live_totals(st, "nowhere", &ls, &le, &lc), 0);
	ck_assert_int_eq(ls, 0);
	/* Not served: no node. */
	ck_assert_int_eq(store_session_end(st, "ss_1", 3000), 0);
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_ptr_null(a->node);
	ck_assert_int_eq(store_session_get(st, "ss_1", &s), 0);
	ck_assert_str_eq(s->node, "eu-1");
	store_session_free(s);
	store_address_free(a);
	store_session_list_free(sl, ns);
	store_endpoint_list_free(el, ne);
	free(ra);
	free(id);
}
END_TEST

/* One live endpoint per host and port in the fleet, but for edges. */
START_TEST(test_node_one_live_endpoint)
{
	char *id;
	int live = -1;

	id = mk_account(st, "alice");
	mk_session_on(st, "ss_1", id, 100, "n1", NULL);
	mk_session_on(st, "ss_2", id, 100, "n2", NULL);
	ck_assert_int_eq(store_endpoint_live_at(st, "a.example", 12000, &live),
	    0);
	ck_assert_int_eq(live, 0);
	ck_assert_int_eq(add_endpoint_on(st, "ep_1", "ss_1", id, "a.example",
	                     12000, "n1", NULL, NULL),
	    0);
	ck_assert_int_eq(store_endpoint_live_at(st, "a.example", 12000, &live),
	    0);
	ck_assert_int_eq(live, 1);
	/* The same host and port from another node: taken. */
	ck_assert_int_eq(add_endpoint_on(st, "ep_2", "ss_2", id, "a.example",
	                     12000, "n2", NULL, NULL),
	    PORTHOLE_ERR_EXISTS);
	/* The same port on another host is another address. */
	ck_assert_int_eq(add_endpoint_on(st, "ep_3", "ss_2", id, "b.example",
	                     12000, "n2", NULL, NULL),
	    0);
	/* Once it ends, the address may be served again. */
	ck_assert_int_eq(store_endpoint_end(st, "ep_1", 3000), 0);
	ck_assert_int_eq(add_endpoint_on(st, "ep_4", "ss_2", id, "a.example",
	                     12000, "n2", NULL, NULL),
	    0);
	free(id);
}
END_TEST

/* A node's start ends its own rows and those of no node, not others'. */
START_TEST(test_node_start)
{
	struct store_session **sl = NULL;
	struct store_node **nl = NULL;
	size_t ns = 0, nn = 0;
	char *id;
	int n = -1;

	id = mk_account(st, "alice");
	mk_session_on(st, "ss_1", id, 100, "n1", NULL);
	mk_session_on(st, "ss_2", id, 100, "n2", NULL);
	mk_session_on(st, "ss_3", id, 100, NULL, NULL);
	ck_assert_int_eq(store_node_start(st, "n1", "eu", "a.example b.example",
	                     5000, &n),
	    0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_session_list(st, NULL, &sl, &ns), 0);
	ck_assert_uint_eq(ns, 1);
	ck_assert_str_eq(sl[0]->id, "ss_2");
	ck_assert_int_eq(store_node_list(st, &nl, &nn), 0);
	ck_assert_uint_eq(nn, 1);
	ck_assert_str_eq(nl[0]->name, "n1");
	ck_assert_str_eq(nl[0]->region, "eu");
	ck_assert_str_eq(nl[0]->hosts, "a.example b.example");
	ck_assert_int_eq(nl[0]->started_ms, 5000);
	ck_assert_int_gt(nl[0]->heartbeat_ms, 0);
	ck_assert_int_eq(nl[0]->lost_ms, 0);
	ck_assert_int_eq(store_node_start(st, "", NULL, NULL, 1, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	store_node_list_free(nl, nn);
	/* Stopped on purpose: gone, so nobody takes it for lost. */
	ck_assert_int_eq(store_node_stop(st, "n1"), 0);
	ck_assert_int_eq(store_node_list(st, &nl, &nn), 0);
	ck_assert_uint_eq(nn, 0);
	store_session_list_free(sl, ns);
	free(id);
}
END_TEST

/*
 * A silent node is taken for lost once: its rows end, its addresses
 * are free; when it comes back its heartbeat learns so, and what was
 * ended stays ended.
 */
START_TEST(test_node_release)
{
	struct store_session *s = NULL;
	struct store_node **nl = NULL;
	char **names = NULL, *id, *ra;
	size_t n = 0, nn = 0;
	struct store_released rel;
	int64_t lost = -1;

	id = mk_account(st, "alice");
	ra = mk_address(st, id, "f.example", 41000, 1000);
	ck_assert_int_eq(store_node_start(st, "n1", "", "f.example", 1, NULL),
	    0);
	ck_assert_int_eq(store_node_start(st, "n2", "", "f.example", 1, NULL),
	    0);
	mk_session_on(st, "ss_1", id, 100, "n1", NULL);
	mk_session_on(st, "ss_2", id, 100, "n2", NULL);
	ck_assert_int_eq(add_endpoint_on(st, "ep_1", "ss_2", id, "f.example",
	                     41000, "n2", NULL, ra),
	    0);
	/* Nobody is silent for an hour. */
	ck_assert_int_eq(store_node_release(st, "n1", 3600 * 1000, 9000, &names,
	                     &n, &rel),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(rel.nsessions, 0);
	free(names);
	/* A negative silence makes every node late: n1 releases n2. */
	ck_assert_int_eq(store_node_release(st, "n1", -3600 * 1000, 9000,
	                     &names, &n, &rel),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "n2");
	/* What ended, as it was, for the closing events n1 records. */
	ck_assert_uint_eq(rel.nsessions, 1);
	ck_assert_str_eq(rel.sessions[0]->id, "ss_2");
	ck_assert_str_eq(rel.sessions[0]->node, "n2");
	ck_assert_int_eq(rel.sessions[0]->ended_ms, 0);
	ck_assert_uint_eq(rel.nendpoints, 1);
	ck_assert_str_eq(rel.endpoints[0]->id, "ep_1");
	ck_assert_str_eq(rel.endpoints[0]->address_id, ra);
	store_released_clear(&rel);
	ck_assert_ptr_null(rel.sessions);
	free(names[0]);
	free(names);
	ck_assert_int_eq(store_session_get(st, "ss_2", &s), 0);
	ck_assert_int_eq(s->ended_ms, 9000);
	ck_assert_str_eq(s->end_reason, "node lost");
	store_session_free(s);
	s = NULL;
	ck_assert_int_eq(store_session_get(st, "ss_1", &s), 0);
	ck_assert_int_eq(s->ended_ms, 0);
	store_session_free(s);
	/* Its address is free for n1's session. */
	ck_assert_int_eq(add_endpoint_on(st, "ep_2", "ss_1", id, "f.example",
	                     41000, "n1", NULL, ra),
	    0);
	/* Once lost, not released again until it beats. */
	ck_assert_int_eq(store_node_release(st, "n1", -3600 * 1000, 9500,
	                     &names, &n, NULL),
	    0);
	ck_assert_uint_eq(n, 0);
	free(names);
	ck_assert_int_eq(store_node_list(st, &nl, &nn), 0);
	ck_assert_uint_eq(nn, 2);
	ck_assert_int_eq(nl[1]->lost_ms, 9000);
	store_node_list_free(nl, nn);
	/* n2 comes back: told once, and its old session stays ended. */
	ck_assert_int_eq(store_node_beat(st, "n2", "", "f.example", 10000,
	                     &lost),
	    0);
	ck_assert_int_eq(lost, 9000);
	ck_assert_int_eq(store_node_beat(st, "n2", "", "f.example", 10001,
	                     &lost),
	    0);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(store_session_get(st, "ss_2", &s), 0);
	ck_assert_int_ne(s->ended_ms, 0);
	store_session_free(s);
	/* Its old endpoint cannot come back on an address n1 serves. */
	ck_assert_int_eq(add_endpoint_on(st, "ep_3", "ss_2", id, "f.example",
	                     41000, "n2", NULL, ra),
	    PORTHOLE_ERR_NOT_FOUND);
	free(ra);
	free(id);
}
END_TEST

void
store_tcases_node(Suite *s)
{
	TCase *tc = tcase_create("node");

	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_node_rows);
	tcase_add_test(tc, test_node_one_live_endpoint);
	tcase_add_test(tc, test_node_start);
	tcase_add_test(tc, test_node_release);
	suite_add_tcase(s, tc);
}
