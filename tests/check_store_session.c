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

/* check_store: sessions, endpoints, affinity, revocation, pruning. */

/* Assert that <list> of <n> holds exactly the <nports> ports given. */
static void
check_ports(const struct store_hostport *list, size_t n, const int *ports,
    size_t nports)
{
	size_t i;

	ck_assert_uint_eq(n, nports);
	for (i = 0; i < n; i++) {
		ck_assert_msg(list[i].port == ports[i], "[%zu]: %d, not %d", i,
		    list[i].port, ports[i]);
		ck_assert_str_eq(list[i].host, "tunnel.example.com");
	}
}

/*
 * Accounts alice and bob; alice has tokens tk_1 and tk_2 and key FP1,
 * bob key FP2. Live sessions: ss_1 (pid 100) and ss_2 (pid 101) by
 * tk_1, each with an endpoint; ss_3 (102) by tk_2; ss_4 (103) and ss_5
 * (103, the same process) by FP1; ss_b (104) by FP2; and ss_old (105),
 * by tk_1 and FP1's credential alike, ended at 1500.
 */
static void
mk_credentials(char **alicep, char **bobp)
{
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	fill_hash(h1, 1);
	fill_hash(h2, 2);
	ck_assert_int_eq(store_token_add(st, "tk_1", alice, h1, sizeof(h1),
	                     NULL, 1000),
	    0);
	ck_assert_int_eq(store_token_add(st, "tk_2", alice, h2, sizeof(h2),
	                     NULL, 1000),
	    0);
	ck_assert_int_eq(store_key_add(st, alice, "ssh-ed25519", BLOB, FP1,
	                     NULL),
	    0);
	ck_assert_int_eq(store_key_add(st, bob, "ssh-ed25519", BLOB, FP2, NULL),
	    0);
	mk_session_as(st, "ss_old", alice, 105, 1000, "token:tk_1");
	ck_assert_int_eq(store_session_end(st, "ss_old", 1500), 0);
	mk_session_as(st, "ss_1", alice, 100, 2000, "token:tk_1");
	mk_session_as(st, "ss_2", alice, 101, 2001, "token:tk_1");
	mk_session_as(st, "ss_3", alice, 102, 2002, "token:tk_2");
	mk_session_as(st, "ss_4", alice, 103, 2003, "key:" FP1);
	mk_session_as(st, "ss_5", alice, 103, 2004, "key:" FP1);
	mk_session_as(st, "ss_b", bob, 104, 2005, "key:" FP2);
	mk_endpoint(st, "ep_1", "ss_1", alice, 41001, 2100);
	mk_endpoint(st, "ep_2", "ss_2", alice, 41002, 2100);
	*alicep = alice;
	*bobp = bob;
}

/* The ids of the live sessions, comma-separated (caller frees). */
static char *
live_session_ids(void)
{
	struct store_session **list = NULL;
	size_t n = 0, i, len = 0;
	char *ids;

	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ids = calloc(1, n * 16 + 1);
	ck_assert_ptr_nonnull(ids);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(ids + len, 16, "%s%s", i > 0 ? "," : "",
		    list[i]->id);
	store_session_list_free(list, n);
	return ids;
}

/* Check session <id>: ended at <ended_ms> (0 live) with <reason>. */
static void
check_ended(const char *id, int64_t ended_ms, const char *reason)
{
	struct store_session *s = NULL;

	ck_assert_int_eq(store_session_get(st, id, &s), 0);
	ck_assert_int_eq(s->ended_ms, ended_ms);
	if (reason == NULL)
		ck_assert_ptr_null(s->end_reason);
	else
		ck_assert_str_eq(s->end_reason, reason);
	store_session_free(s);
}

START_TEST(test_session_add_list)
{
	struct store_session **list = (struct store_session **)&list;
	struct store_session s;
	size_t n = 99;
	char *alice, *bob;

	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	mk_session(st, "ss_late", alice, 100, 2000);
	mk_session(st, "ss_early", bob, 101, 1000);
	mk_endpoint(st, "ep_1", "ss_late", alice, 41234, 2001);
	mk_endpoint(st, "ep_2", "ss_late", alice, 41235, 2002);

	/* A session with no user or credential. */
	memset(&s, 0, sizeof(s));
	s.id = (char *)"ss_anon";
	s.account_id = bob;
	s.pid = 102;
	s.client_ip = (char *)"2001:db8::1";
	s.client_port = 1;
	s.started_ms = 3000;
	ck_assert_int_eq(store_session_add(st, &s, 0), 0);

	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->id, "ss_early");
	ck_assert_str_eq(list[0]->account_name, "bob");
	ck_assert_int_eq(list[0]->nendpoints, 0);
	ck_assert_str_eq(list[1]->id, "ss_late");
	ck_assert_str_eq(list[1]->account_id, alice);
	ck_assert_str_eq(list[1]->account_name, "alice");
	ck_assert_int_eq(list[1]->pid, 100);
	ck_assert_str_eq(list[1]->client_ip, "192.0.2.7");
	ck_assert_int_eq(list[1]->client_port, 50000);
	ck_assert_str_eq(list[1]->user, "v2");
	ck_assert_str_eq(list[1]->credential, "key:" FP1);
	ck_assert_int_eq(list[1]->started_ms, 2000);
	ck_assert_int_eq(list[1]->ended_ms, 0);
	ck_assert_int_eq(list[1]->nendpoints, 2);
	ck_assert_str_eq(list[2]->id, "ss_anon");
	ck_assert_str_eq(list[2]->client_ip, "2001:db8::1");
	ck_assert_str_eq(list[2]->user, "");
	ck_assert_str_eq(list[2]->credential, "");
	store_session_list_free(list, n);
	store_session_list_free(NULL, 0);
	store_session_free(NULL);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_session_add_errors)
{
	struct store_session s;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	memset(&s, 0, sizeof(s));
	s.id = (char *)"ss_1";
	s.account_id = id;
	s.client_ip = (char *)"192.0.2.1";
	ck_assert_int_eq(store_session_add(st, &s, 0), PORTHOLE_ERR_EXISTS);
	s.id = (char *)"ss_2";
	s.account_id = (char *)"ac_000000000000000000000000";
	ck_assert_int_eq(store_session_add(st, &s, 0), PORTHOLE_ERR_NOT_FOUND);
	s.account_id = NULL;
	ck_assert_int_eq(store_session_add(st, &s, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	s.account_id = id;
	s.client_ip = NULL;
	ck_assert_int_eq(store_session_add(st, &s, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	s.id = NULL;
	ck_assert_int_eq(store_session_add(st, &s, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_session_add(st, NULL, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
}

END_TEST

START_TEST(test_session_end)
{
	struct store_session **list = NULL;
	struct store_endpoint **el = NULL, e;
	size_t n = 0, ne = 0;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 100, 1001);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1002);
	mk_endpoint(st, "ep_2", "ss_2", id, 41235, 1003);

	ck_assert_int_eq(store_session_end(st, "ss_1", 5000), 0);
	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "ss_2");
	ck_assert_int_eq(store_endpoint_list(st, &el, &ne), 0);
	ck_assert_uint_eq(ne, 1);
	ck_assert_str_eq(el[0]->id, "ep_2");

	/* Ended is ended: neither again nor unknown ids are found. */
	ck_assert_int_eq(store_session_end(st, "ss_1", 6000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_end(st, "ss_nope", 6000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_end(st, NULL, 6000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* The failed ends rolled back: nothing else changed. */
	store_session_list_free(list, n);
	store_endpoint_list_free(el, ne);
	count_live(st, &n, &ne);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(ne, 1);
	/* An ended session takes no new endpoints. */
	fill_endpoint(&e, "ep_3", "ss_1", id, 41236, 7000);
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	free(id);
}

END_TEST

START_TEST(test_session_end_pid)
{
	struct store_session **list = NULL;
	struct store_endpoint **el = NULL;
	size_t n = 0, ne = 0;
	char *id;
	int ended = -1;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 100, 1001);
	mk_session(st, "ss_3", id, 200, 1002);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1003);
	mk_endpoint(st, "ep_2", "ss_2", id, 41235, 1004);
	mk_endpoint(st, "ep_3", "ss_3", id, 41236, 1005);
	mk_endpoint(st, "ep_4", "ss_3", id, 41237, 1006);

	ck_assert_int_eq(store_session_end_pid(st, NULL, 100, 5000, &ended), 0);
	ck_assert_int_eq(ended, 2);
	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "ss_3");
	ck_assert_int_eq(list[0]->nendpoints, 2);
	ck_assert_int_eq(store_endpoint_list(st, &el, &ne), 0);
	ck_assert_uint_eq(ne, 2);
	ck_assert_str_eq(el[0]->id, "ep_3");
	ck_assert_str_eq(el[1]->id, "ep_4");
	store_session_list_free(list, n);
	store_endpoint_list_free(el, ne);

	/* Nothing left for that pid; np may be NULL. */
	ck_assert_int_eq(store_session_end_pid(st, NULL, 100, 6000, &ended), 0);
	ck_assert_int_eq(ended, 0);
	ck_assert_int_eq(store_session_end_pid(st, NULL, 999, 6000, NULL), 0);
	ck_assert_int_eq(store_session_end_pid(st, NULL, 200, 6000, NULL), 0);
	count_live(st, &n, &ne);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(ne, 0);
	free(id);
}

END_TEST

START_TEST(test_session_end_all)
{
	size_t n = 0, ne = 0;
	char *id;
	int ended = -1;

	ck_assert_int_eq(store_session_end_all(st, NULL, 1, &ended), 0);
	ck_assert_int_eq(ended, 0);

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 200, 1001);
	mk_session(st, "ss_3", id, 300, 1002);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1003);
	mk_endpoint(st, "ep_2", "ss_3", id, 41235, 1004);
	ck_assert_int_eq(store_session_end(st, "ss_2", 2000), 0);

	ck_assert_int_eq(store_session_end_all(st, NULL, 5000, &ended), 0);
	ck_assert_int_eq(ended, 2);
	count_live(st, &n, &ne);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(ne, 0);
	ck_assert_int_eq(store_session_end_all(st, NULL, 6000, NULL), 0);
	free(id);
}

END_TEST

START_TEST(test_session_limit)
{
	struct store_session s, *got = (struct store_session *)&got;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	memset(&s, 0, sizeof(s));
	s.account_id = alice;
	s.client_ip = (char *)"192.0.2.1";

	/* Two logins at the limit: the second is refused. */
	s.id = (char *)"ss_1";
	ck_assert_int_eq(store_session_add(st, &s, 1), 0);
	s.id = (char *)"ss_2";
	ck_assert_int_eq(store_session_add(st, &s, 1), PORTHOLE_ERR_EXHAUSTED);
	ck_assert_int_eq(store_session_get(st, "ss_2", &got),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(got);
	/* The refusal rolled back: the next transaction can begin. */
	ck_assert_int_eq(store_session_add(st, &s, 2), 0);
	s.id = (char *)"ss_3";
	ck_assert_int_eq(store_session_add(st, &s, 2), PORTHOLE_ERR_EXHAUSTED);
	/* No limit, or a limit of another account. */
	ck_assert_int_eq(store_session_add(st, &s, 0), 0);
	s.id = (char *)"ss_4";
	ck_assert_int_eq(store_session_add(st, &s, -1), 0);
	s.id = (char *)"ss_b";
	s.account_id = bob;
	ck_assert_int_eq(store_session_add(st, &s, 1), 0);
	/* Ended sessions do not count. */
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	ck_assert_int_eq(store_session_end(st, "ss_2", 2000), 0);
	ck_assert_int_eq(store_session_end(st, "ss_3", 2000), 0);
	s.id = (char *)"ss_5";
	s.account_id = alice;
	ck_assert_int_eq(store_session_add(st, &s, 2), 0);
	s.id = (char *)"ss_6";
	ck_assert_int_eq(store_session_add(st, &s, 2), PORTHOLE_ERR_EXHAUSTED);
	/* Other errors still come through, and roll back. */
	s.id = (char *)"ss_5";
	ck_assert_int_eq(store_session_add(st, &s, 5), PORTHOLE_ERR_EXISTS);
	s.id = (char *)"ss_7";
	s.account_id = (char *)"ac_000000000000000000000000";
	ck_assert_int_eq(store_session_add(st, &s, 5), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_add(st, NULL, 5),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	s.account_id = alice;
	ck_assert_int_eq(store_session_add(st, &s, 0), 0);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_session_kill)
{
	struct store_session *s = NULL;
	struct store_endpoint **el = NULL;
	size_t n = 0;
	int64_t pid = -1;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 100, 1001);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1002);
	mk_endpoint(st, "ep_2", "ss_1", id, 41235, 1003);
	mk_endpoint(st, "ep_3", "ss_2", id, 41236, 1004);

	ck_assert_int_eq(store_session_kill(st, "ss_1", "killed by admin", 5000,
	                     &pid),
	    0);
	ck_assert_int_eq(pid, 100);
	ck_assert_int_eq(store_session_get(st, "ss_1", &s), 0);
	ck_assert_int_eq(s->ended_ms, 5000);
	ck_assert_str_eq(s->end_reason, "killed by admin");
	ck_assert_int_eq(s->nendpoints, 0);
	store_session_free(s);
	/* Its endpoints ended with it; the other session's did not. */
	ck_assert_int_eq(store_endpoint_list(st, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->id, "ep_3");
	store_endpoint_list_free(el, n);
	ck_assert_int_eq(store_session_get(st, "ss_2", &s), 0);
	ck_assert_int_eq(s->ended_ms, 0);
	ck_assert_ptr_null(s->end_reason);
	store_session_free(s);

	/* Only live sessions are killed. */
	pid = -1;
	ck_assert_int_eq(store_session_kill(st, "ss_1", "again", 6000, &pid),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(pid, 0);
	ck_assert_int_eq(store_session_end(st, "ss_1", 6000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_kill(st, "ss_nope", "x", 6000, &pid),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_kill(st, NULL, "x", 6000, &pid),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* The first kill's reason stays. */
	ck_assert_int_eq(store_session_get(st, "ss_1", &s), 0);
	ck_assert_str_eq(s->end_reason, "killed by admin");
	ck_assert_int_eq(s->ended_ms, 5000);
	store_session_free(s);
	/* Without a reason or a pid pointer. */
	ck_assert_int_eq(store_session_kill(st, "ss_2", NULL, 7000, NULL), 0);
	ck_assert_int_eq(store_session_get(st, "ss_2", &s), 0);
	ck_assert_str_eq(s->end_reason, "killed");
	store_session_free(s);
	/* An ordinary end has no reason. */
	mk_session(st, "ss_3", id, 300, 8000);
	ck_assert_int_eq(store_session_end(st, "ss_3", 8001), 0);
	ck_assert_int_eq(store_session_get(st, "ss_3", &s), 0);
	ck_assert_ptr_null(s->end_reason);
	store_session_free(s);
	free(id);
}

END_TEST

START_TEST(test_session_get)
{
	struct store_session *s = (struct store_session *)&s;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1002);
	ck_assert_int_eq(store_session_get(st, "ss_1", &s), 0);
	ck_assert_str_eq(s->id, "ss_1");
	ck_assert_str_eq(s->account_id, id);
	ck_assert_str_eq(s->account_name, "alice");
	ck_assert_int_eq(s->pid, 100);
	ck_assert_str_eq(s->client_ip, "192.0.2.7");
	ck_assert_int_eq(s->client_port, 50000);
	ck_assert_str_eq(s->user, "v2");
	ck_assert_str_eq(s->credential, "key:" FP1);
	ck_assert_int_eq(s->started_ms, 1000);
	ck_assert_int_eq(s->ended_ms, 0);
	ck_assert_ptr_null(s->end_reason);
	ck_assert_int_eq(s->nendpoints, 1);
	store_session_free(s);
	/* Ended sessions too. */
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	ck_assert_int_eq(store_session_get(st, "ss_1", &s), 0);
	ck_assert_int_eq(s->ended_ms, 2000);
	store_session_free(s);

	s = (struct store_session *)&s;
	ck_assert_int_eq(store_session_get(st, "ss_nope", &s),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(store_session_get(st, NULL, &s),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_session_get(st, "ss_1", NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
}

END_TEST

START_TEST(test_session_list_account)
{
	struct store_session **list = NULL;
	size_t n = 0;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ck_assert_int_eq(store_account_add(st, "carol", NULL), 0);
	mk_session(st, "ss_a2", alice, 100, 2000);
	mk_session(st, "ss_b", bob, 101, 1500);
	mk_session(st, "ss_a1", alice, 102, 1000);
	mk_session(st, "ss_a3", alice, 103, 3000);
	ck_assert_int_eq(store_session_end(st, "ss_a3", 3500), 0);

	ck_assert_int_eq(store_session_list(st, "alice", &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "ss_a1");
	ck_assert_str_eq(list[1]->id, "ss_a2");
	store_session_list_free(list, n);
	ck_assert_int_eq(store_session_list(st, bob, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "ss_b");
	ck_assert_str_eq(list[0]->account_name, "bob");
	store_session_list_free(list, n);
	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	store_session_list_free(list, n);

	list = (struct store_session **)&list;
	n = 99;
	ck_assert_int_eq(store_session_list(st, "carol", &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	list = (struct store_session **)&list;
	n = 99;
	ck_assert_int_eq(store_session_list(st, "dave", &list, &n),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_session_list(st, "alice", NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_session_list(st, "alice", &list, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(list);
	free(alice);
	free(bob);
}

END_TEST

/* Endpoints. */

START_TEST(test_endpoint_add_list)
{
	struct store_endpoint **list = (struct store_endpoint **)&list;
	struct store_endpoint e;
	size_t n = 99;
	char *alice, *bob;

	ck_assert_int_eq(store_endpoint_list(st, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	mk_session(st, "ss_a", alice, 100, 1000);
	mk_session(st, "ss_b", bob, 101, 1001);
	fill_endpoint(&e, "ep_late", "ss_a", alice, 41234, 3000);
	e.metadata = (char *)"{\"team\":\"ops\"}";
	e.bind_address = (char *)"";
	ck_assert_int_eq(store_endpoint_add(st, &e), 0);
	mk_endpoint(st, "ep_early", "ss_b", bob, 65535, 2000);

	ck_assert_int_eq(store_endpoint_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "ep_early");
	ck_assert_str_eq(list[0]->account_name, "bob");
	ck_assert_int_eq(list[0]->port, 65535);
	ck_assert_ptr_null(list[0]->metadata);
	ck_assert_str_eq(list[0]->bind_address, "localhost");
	ck_assert_str_eq(list[1]->id, "ep_late");
	ck_assert_str_eq(list[1]->session_id, "ss_a");
	ck_assert_str_eq(list[1]->account_id, alice);
	ck_assert_str_eq(list[1]->account_name, "alice");
	ck_assert_str_eq(list[1]->host, "tunnel.example.com");
	ck_assert_int_eq(list[1]->port, 41234);
	ck_assert_str_eq(list[1]->bind_address, "");
	ck_assert_str_eq(list[1]->metadata, "{\"team\":\"ops\"}");
	ck_assert_int_eq(list[1]->started_ms, 3000);
	ck_assert_int_eq(list[1]->ended_ms, 0);
	store_endpoint_list_free(list, n);
	store_endpoint_list_free(NULL, 0);
	store_endpoint_free(NULL);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_endpoint_add_errors)
{
	struct store_endpoint e;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	mk_session(st, "ss_a", alice, 100, 1000);
	mk_endpoint(st, "ep_1", "ss_a", alice, 41234, 2000);

	fill_endpoint(&e, "ep_1", "ss_a", alice, 41235, 2001);
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_EXISTS);
	/* Unknown session, or one of another account. */
	fill_endpoint(&e, "ep_2", "ss_nope", alice, 41235, 2001);
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	fill_endpoint(&e, "ep_2", "ss_a", bob, 41235, 2001);
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	/* Bad arguments. */
	fill_endpoint(&e, "ep_2", "ss_a", alice, 0, 2001);
	ck_assert_int_eq(store_endpoint_add(st, &e),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	e.port = 65536;
	ck_assert_int_eq(store_endpoint_add(st, &e),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	fill_endpoint(&e, "ep_2", "ss_a", alice, 41235, 2001);
	e.host = NULL;
	ck_assert_int_eq(store_endpoint_add(st, &e),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	fill_endpoint(&e, NULL, "ss_a", alice, 41235, 2001);
	ck_assert_int_eq(store_endpoint_add(st, &e),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_endpoint_add(st, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* One live endpoint per host:port, whichever node asks. */
	fill_endpoint(&e, "ep_2", "ss_a", alice, 41234, 2002);
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_EXISTS);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_endpoint_end)
{
	struct store_session **list = NULL;
	size_t n = 0, ne = 0;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 2000);
	mk_endpoint(st, "ep_2", "ss_1", id, 41235, 2001);

	ck_assert_int_eq(store_endpoint_end(st, "ep_1", 3000), 0);
	ck_assert_int_eq(store_endpoint_end(st, "ep_1", 3001),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_endpoint_end(st, "ep_nope", 3001),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_endpoint_end(st, NULL, 3001),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0]->nendpoints, 1);
	store_session_list_free(list, n);
	count_live(st, &n, &ne);
	ck_assert_uint_eq(ne, 1);
	free(id);
}

END_TEST

START_TEST(test_endpoint_set_metadata)
{
	struct store_endpoint **list = NULL;
	size_t n = 0;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 2000);
	mk_endpoint(st, "ep_2", "ss_1", id, 41235, 2001);

	ck_assert_int_eq(store_endpoint_set_metadata(st, "ep_1", "my app"), 0);
	ck_assert_int_eq(store_endpoint_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->metadata, "my app");
	ck_assert_ptr_null(list[1]->metadata);
	store_endpoint_list_free(list, n);
	ck_assert_int_eq(store_endpoint_set_metadata(st, "ep_1", NULL), 0);
	ck_assert_int_eq(store_endpoint_list(st, &list, &n), 0);
	ck_assert_ptr_null(list[0]->metadata);
	store_endpoint_list_free(list, n);
	/* Ended or unknown endpoints are not touched. */
	ck_assert_int_eq(store_endpoint_end(st, "ep_2", 3000), 0);
	ck_assert_int_eq(store_endpoint_set_metadata(st, "ep_2", "x"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_endpoint_set_metadata(st, "ep_nope", "x"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_endpoint_set_metadata(st, NULL, "x"),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
}

END_TEST

/* An endpoint may serve a reserved address of its own account only. */
START_TEST(test_endpoint_address)
{
	struct store_endpoint **list = NULL, e;
	size_t n = 0, ns = 0;
	char *alice, *bob, *ra, *rb, *rdel;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ra = mk_address(st, alice, "tunnel.example.com", 42000, 1000);
	rb = mk_address(st, bob, "tunnel.example.com", 42001, 1000);
	rdel = mk_address(st, alice, "tunnel.example.com", 42002, 1000);
	ck_assert_int_eq(store_address_delete(st, rdel, 1500), 0);
	mk_session(st, "ss_1", alice, 100, 2000);
	mk_endpoint_at(st, "ep_1", "ss_1", alice, 42000, 2001, ra);
	mk_endpoint(st, "ep_2", "ss_1", alice, 41234, 2002);

	ck_assert_int_eq(store_endpoint_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->address_id, ra);
	ck_assert_ptr_null(list[1]->address_id);
	store_endpoint_list_free(list, n);

	fill_endpoint(&e, "ep_3", "ss_1", alice, 42001, 2003);
	e.address_id = rb;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	e.address_id = rdel;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	e.address_id = (char *)"ra_nope";
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	count_live(st, &ns, &n);
	ck_assert_uint_eq(ns, 1);
	ck_assert_uint_eq(n, 2);
	free(alice);
	free(bob);
	free(ra);
	free(rb);
	free(rdel);
}

END_TEST

/* Address affinity. */

#define CRED1 "key:" FP1
#define CRED2 "key:" FP2

/*
 * The most recent session first, each session's endpoints in the order
 * they were made; endpoints that ended before the cutoff are left out.
 */
START_TEST(test_affinity_order)
{
	static const int all[] = { 41003, 41004, 41005, 41001, 41002 };
	static const int recent[] = { 41003, 41004, 41005 };
	struct store_hostport *list = (struct store_hostport *)&list;
	size_t n = 99;
	char *id;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	mk_session_as(st, "ss_1", id, 100, 1000, CRED1);
	mk_endpoint(st, "ep_1a", "ss_1", id, 41001, 1001);
	mk_endpoint(st, "ep_1b", "ss_1", id, 41002, 1002);
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	mk_session_as(st, "ss_2", id, 101, 3000, CRED1);
	mk_endpoint(st, "ep_2a", "ss_2", id, 41003, 3001);
	mk_endpoint(st, "ep_2b", "ss_2", id, 41004, 3002);
	/* Made in the same millisecond: the order of insertion decides. */
	mk_endpoint(st, "ep_2c", "ss_2", id, 41005, 3002);
	/* A forward cancelled before the session ended counts too. */
	ck_assert_int_eq(store_endpoint_end(st, "ep_2b", 3500), 0);
	ck_assert_int_eq(store_session_end(st, "ss_2", 4000), 0);

	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, &list, &n), 0);
	check_ports(list, n, all, 5);
	store_hostport_list_free(list, n);
	/* The cutoff is inclusive. */
	ck_assert_int_eq(store_affinity(st, id, CRED1, 2000, &list, &n), 0);
	check_ports(list, n, all, 5);
	store_hostport_list_free(list, n);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 2001, &list, &n), 0);
	check_ports(list, n, recent, 3);
	store_hostport_list_free(list, n);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 3501, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(list[0].port, 41003);
	ck_assert_int_eq(list[1].port, 41005);
	store_hostport_list_free(list, n);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 4001, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(list);
	free(id);
}

END_TEST

START_TEST(test_affinity_excluded)
{
	static const int mine[] = { 41001 };
	static const int other[] = { 41020 };
	struct store_hostport *list = NULL;
	size_t n = 0;
	char *alice, *bob, *ra;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ra = mk_address(st, alice, "tunnel.example.com", 42000, 500);
	/* A reserved endpoint, a random one, and one that is live again. */
	mk_session_as(st, "ss_1", alice, 100, 1000, CRED1);
	mk_endpoint_at(st, "ep_r", "ss_1", alice, 42000, 1001, ra);
	mk_endpoint(st, "ep_1", "ss_1", alice, 41001, 1002);
	mk_endpoint(st, "ep_2", "ss_1", alice, 41002, 1003);
	mk_endpoint(st, "ep_3", "ss_1", alice, 41003, 1004);
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	/* Bob holds 41002 now; 41003 has been reserved since. */
	mk_session_as(st, "ss_b", bob, 200, 2500, CRED1);
	mk_endpoint(st, "ep_b", "ss_b", bob, 41002, 2501);
	ck_assert_int_eq(store_address_add(st, bob, "tunnel.example.com", 41003,
	                     NULL, NULL, 2600, NULL),
	    0);
	/* Alice's session that is still live: its ended forward is not. */
	mk_session_as(st, "ss_live", alice, 101, 3000, CRED1);
	mk_endpoint(st, "ep_l", "ss_live", alice, 41010, 3001);
	ck_assert_int_eq(store_endpoint_end(st, "ep_l", 3100), 0);
	/* Another credential of the same account. */
	mk_session_as(st, "ss_o", alice, 102, 3200, CRED2);
	mk_endpoint(st, "ep_o", "ss_o", alice, 41020, 3201);
	ck_assert_int_eq(store_session_end(st, "ss_o", 3300), 0);

	ck_assert_int_eq(store_affinity(st, alice, CRED1, 0, &list, &n), 0);
	check_ports(list, n, mine, 1);
	store_hostport_list_free(list, n);
	ck_assert_int_eq(store_affinity(st, alice, CRED2, 0, &list, &n), 0);
	check_ports(list, n, other, 1);
	store_hostport_list_free(list, n);
	/*
	 * Once Bob lets 41002 go it is offered again; his own history,
	 * under the same credential string, stays his.
	 */
	ck_assert_int_eq(store_session_end(st, "ss_b", 4000), 0);
	ck_assert_int_eq(store_affinity(st, alice, CRED1, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(list[0].port, 41001);
	ck_assert_int_eq(list[1].port, 41002);
	store_hostport_list_free(list, n);
	ck_assert_int_eq(store_affinity(st, bob, CRED1, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0].port, 41002);
	store_hostport_list_free(list, n);
	free(alice);
	free(bob);
	free(ra);
}

END_TEST

/* A port held in several sessions comes once, where it came last. */
START_TEST(test_affinity_once)
{
	static const int ports[] = { 41002, 41001, 41003 };
	struct store_hostport *list = NULL;
	size_t n = 0;
	char *id;

	id = mk_account(st, "alice");
	mk_session_as(st, "ss_1", id, 100, 1000, CRED1);
	mk_endpoint(st, "ep_1a", "ss_1", id, 41001, 1001);
	mk_endpoint(st, "ep_1b", "ss_1", id, 41003, 1002);
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	mk_session_as(st, "ss_2", id, 101, 3000, CRED1);
	mk_endpoint(st, "ep_2a", "ss_2", id, 41002, 3001);
	mk_endpoint(st, "ep_2b", "ss_2", id, 41001, 3002);
	ck_assert_int_eq(store_session_end(st, "ss_2", 4000), 0);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, &list, &n), 0);
	check_ports(list, n, ports, 3);
	store_hostport_list_free(list, n);
	free(id);
}

END_TEST

/* At most 64, the first made. */
START_TEST(test_affinity_max)
{
	struct store_hostport *list = NULL;
	size_t n = 0, i;
	char *id, epid[16];

	id = mk_account(st, "alice");
	mk_session_as(st, "ss_1", id, 100, 1000, CRED1);
	for (i = 0; i < 70; i++) {
		snprintf(epid, sizeof(epid), "ep_%zu", i);
		mk_endpoint(st, epid, "ss_1", id, 41000 + (int)i,
		    1001 + (int64_t)i);
	}
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 64);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(list[i].port, 41000 + (int)i);
	store_hostport_list_free(list, n);
	free(id);
}

END_TEST

START_TEST(test_affinity_args)
{
	struct store_hostport *list = (struct store_hostport *)&list;
	size_t n = 99;
	char *id;

	id = mk_account(st, "alice");
	/* An empty credential (anonymous) names no one: no affinity. */
	mk_session_as(st, "ss_1", id, 100, 1000, "");
	mk_endpoint(st, "ep_1", "ss_1", id, 41001, 1001);
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	ck_assert_int_eq(store_affinity(st, id, "", 0, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	ck_assert_int_eq(store_affinity(st, NULL, CRED1, 0, &list, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_affinity(st, id, NULL, 0, &list, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, &list, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* Unknown accounts have no history. */
	ck_assert_int_eq(store_affinity(st, "ac_000000000000000000000000",
	                     CRED1, 0, &list, &n),
	    0);
	ck_assert_uint_eq(n, 0);
	store_hostport_list_free(NULL, 0);
	free(id);
}

END_TEST

/* Reserved addresses. */

/* Sessions are added only for an account that exists and is enabled. */
START_TEST(test_session_add_conditional)
{
	struct store_session s, **list = NULL;
	struct store_account *a = NULL;
	size_t n = 99;
	char *id;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_account_set_disabled(st, id, 1, 1000, NULL,
	                     NULL),
	    0);
	memset(&s, 0, sizeof(s));
	s.id = (char *)"ss_1";
	s.account_id = id;
	s.pid = 100;
	s.client_ip = (char *)"192.0.2.1";
	s.started_ms = 2000;
	ck_assert_int_eq(store_session_add(st, &s, 0), PORTHOLE_ERR_DENIED);
	/* Disabled is said before the limit is looked at. */
	ck_assert_int_eq(store_session_add(st, &s, 1), PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(store_session_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_int_eq(a->nsessions, 0);
	store_account_free(a);

	ck_assert_int_eq(store_account_set_disabled(st, id, 0, 3000, NULL,
	                     NULL),
	    0);
	ck_assert_int_eq(store_session_add(st, &s, 1), 0);
	s.id = (char *)"ss_2";
	ck_assert_int_eq(store_session_add(st, &s, 1), PORTHOLE_ERR_EXHAUSTED);

	ck_assert_int_eq(store_account_delete(st, id, 4000, NULL, NULL), 0);
	ck_assert_int_eq(store_session_add(st, &s, 0), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_add(st, &s, 5), PORTHOLE_ERR_NOT_FOUND);
	free(id);
}

END_TEST

/* Revoking a token ends the live sessions that logged in with it. */
START_TEST(test_token_revoke_ends_sessions)
{
	struct store_endpoint **el = NULL;
	int64_t *pids = (int64_t *)&pids;
	size_t npids = 99, n = 0;
	char *alice, *bob, *ids;

	mk_credentials(&alice, &bob);
	ck_assert_int_eq(store_token_revoke(st, "tk_1", 5000, &pids, &npids),
	    0);
	ck_assert_uint_eq(npids, 2);
	ck_assert_int_eq(pids[0], 100);
	ck_assert_int_eq(pids[1], 101);
	free(pids);
	check_ended("ss_1", 5000, "token revoked");
	check_ended("ss_2", 5000, "token revoked");
	check_ended("ss_old", 1500, NULL);
	ids = live_session_ids();
	ck_assert_str_eq(ids, "ss_3,ss_4,ss_5,ss_b");
	free(ids);
	/* Their endpoints went with them. */
	ck_assert_int_eq(store_endpoint_list(st, &el, &n), 0);
	ck_assert_uint_eq(n, 0);

	/* Revoked already: nothing is ended, nothing returned. */
	pids = (int64_t *)&pids;
	npids = 99;
	ck_assert_int_eq(store_token_revoke(st, "tk_1", 6000, &pids, &npids),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(pids);
	ck_assert_uint_eq(npids, 0);
	/* A token no session used ends none. */
	ck_assert_int_eq(store_account_set_disabled(st, bob, 0, 6000, NULL,
	                     NULL),
	    0);
	ck_assert_int_eq(store_token_revoke(st, "tk_2", 6000, &pids, &npids),
	    0);
	ck_assert_uint_eq(npids, 1);
	ck_assert_int_eq(pids[0], 102);
	free(pids);
	ids = live_session_ids();
	ck_assert_str_eq(ids, "ss_4,ss_5,ss_b");
	free(ids);
	free(alice);
	free(bob);
}

END_TEST

/* Deleting a key ends the live sessions that logged in with it. */
START_TEST(test_key_delete_ends_sessions)
{
	int64_t *pids = (int64_t *)&pids;
	size_t npids = 99;
	char *alice, *bob, *ids;

	mk_credentials(&alice, &bob);
	ck_assert_int_eq(store_key_delete(st, FP1, 5000, &pids, &npids), 0);
	/* Two sessions of one process: its pid once. */
	ck_assert_uint_eq(npids, 1);
	ck_assert_int_eq(pids[0], 103);
	free(pids);
	check_ended("ss_4", 5000, "key deleted");
	check_ended("ss_5", 5000, "key deleted");
	ids = live_session_ids();
	ck_assert_str_eq(ids, "ss_1,ss_2,ss_3,ss_b");
	free(ids);

	pids = (int64_t *)&pids;
	npids = 99;
	ck_assert_int_eq(store_key_delete(st, FP1, 6000, &pids, &npids),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(pids);
	ck_assert_uint_eq(npids, 0);
	/* The pids may be left out. */
	ck_assert_int_eq(store_key_delete(st, FP2, 6000, NULL, NULL), 0);
	check_ended("ss_b", 6000, "key deleted");
	ck_assert_int_eq(store_key_delete(st, NULL, 6000, &pids, &npids),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_revoke(st, NULL, 6000, &pids, &npids),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(alice);
	free(bob);
}

END_TEST

/* What the parent's periodic check reads, in each case. */
START_TEST(test_session_status)
{
	struct store_session_status ss;
	char *alice, *bob, *pol;

	mk_credentials(&alice, &bob);
	mk_session_as(st, "ss_anon", bob, 106, 2006, "anonymous:192.0.2.7");
	mk_session_as(st, "ss_none", bob, 107, 2007, "");
	mk_session_as(st, "ss_odd", bob, 108, 2008, "token:");
	/* Credentials of another account do not count. */
	mk_session_as(st, "ss_theft", bob, 109, 2009, "token:tk_2");
	mk_session_as(st, "ss_theft2", bob, 110, 2010, "key:" FP1);

	/* Live, valid, no policy. */
	ck_assert_int_eq(store_session_status(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss.ended, 0);
	ck_assert_ptr_null(ss.end_reason);
	ck_assert_int_eq(ss.account_disabled, 0);
	ck_assert_int_eq(ss.account_deleted, 0);
	ck_assert_int_eq(ss.credential_valid, 1);
	ck_assert_ptr_null(ss.ip_policy_id);
	/* No traffic limits of its own: -1, the server's defaults. */
	ck_assert_int_eq(ss.bandwidth_limit, -1);
	ck_assert_int_eq(ss.quota_bytes, -1);
	ck_assert_int_eq(ss.quota_period_s, -1);
	ck_assert_int_eq(ss.connection_rate, -1);
	ck_assert_int_eq(ss.connections_per_source, -1);
	ck_assert_int_eq(ss.idle_timeout_s, -1);
	store_session_status_clear(&ss);
	{
		struct store_account t;
		struct store_session *row = NULL;

		ck_assert_int_eq(store_session_get(st, "ss_1", &row), 0);
		memset(&t, 0, sizeof(t));
		t.bandwidth_limit = 5000;
		t.quota_bytes = 0;
		t.quota_period_s = 0;
		t.connection_rate = 7;
		t.connections_per_source = 3;
		t.idle_timeout_s = STORE_KEEP;
		ck_assert_int_eq(store_account_set_traffic(st, row->account_id,
		                     &t),
		    0);
		store_session_free(row);
		ck_assert_int_eq(store_session_status(st, "ss_1", &ss), 0);
		ck_assert_int_eq(ss.bandwidth_limit, 5000);
		ck_assert_int_eq(ss.quota_bytes, 0);
		ck_assert_int_eq(ss.connection_rate, 7);
		ck_assert_int_eq(ss.connections_per_source, 3);
		ck_assert_int_eq(ss.idle_timeout_s, -1);
		store_session_status_clear(&ss);
	}
	ck_assert_int_eq(store_session_status(st, "ss_4", &ss), 0);
	ck_assert_int_eq(ss.credential_valid, 1);
	store_session_status_clear(&ss);
	ck_assert_int_eq(store_session_status(st, "ss_anon", &ss), 0);
	ck_assert_int_eq(ss.credential_valid, 1);
	store_session_status_clear(&ss);
	ck_assert_int_eq(store_session_status(st, "ss_none", &ss), 0);
	ck_assert_int_eq(ss.credential_valid, 0);
	store_session_status_clear(&ss);
	ck_assert_int_eq(store_session_status(st, "ss_odd", &ss), 0);
	ck_assert_int_eq(ss.credential_valid, 0);
	store_session_status_clear(&ss);
	ck_assert_int_eq(store_session_status(st, "ss_theft", &ss), 0);
	ck_assert_int_eq(ss.credential_valid, 0);
	store_session_status_clear(&ss);
	ck_assert_int_eq(store_session_status(st, "ss_theft2", &ss), 0);
	ck_assert_int_eq(ss.credential_valid, 0);
	store_session_status_clear(&ss);

	/* The account's policy. */
	pol = mk_policy(st, "office");
	ck_assert_int_eq(store_account_set_ip_policy(st, alice, pol), 0);
	ck_assert_int_eq(store_session_status(st, "ss_3", &ss), 0);
	ck_assert_str_eq(ss.ip_policy_id, pol);
	store_session_status_clear(&ss);

	/*
	 * A login that raced a revocation: in, though its token was
	 * revoked; the status shows it.
	 */
	ck_assert_int_eq(store_token_revoke(st, "tk_2", 3000, NULL, NULL), 0);
	mk_session_as(st, "ss_late", alice, 111, 3001, "token:tk_2");
	ck_assert_int_eq(store_session_status(st, "ss_late", &ss), 0);
	ck_assert_int_eq(ss.ended, 0);
	ck_assert_int_eq(ss.credential_valid, 0);
	store_session_status_clear(&ss);
	/* Revoked: ended, with the reason. */
	ck_assert_int_eq(store_session_status(st, "ss_3", &ss), 0);
	ck_assert_int_eq(ss.ended, 1);
	ck_assert_str_eq(ss.end_reason, "token revoked");
	ck_assert_int_eq(ss.credential_valid, 0);
	store_session_status_clear(&ss);
	/* Ended by its own process: no reason. */
	ck_assert_int_eq(store_session_status(st, "ss_old", &ss), 0);
	ck_assert_int_eq(ss.ended, 1);
	ck_assert_ptr_null(ss.end_reason);
	store_session_status_clear(&ss);

	/* Disabled. */
	ck_assert_int_eq(store_account_set_disabled(st, alice, 1, 4000, NULL,
	                     NULL),
	    0);
	ck_assert_int_eq(store_session_status(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss.ended, 1);
	ck_assert_str_eq(ss.end_reason, "account disabled");
	ck_assert_int_eq(ss.account_disabled, 1);
	ck_assert_int_eq(ss.account_deleted, 0);
	ck_assert_int_eq(ss.credential_valid, 1);
	ck_assert_str_eq(ss.ip_policy_id, pol);
	store_session_status_clear(&ss);

	/* Deleted: the row went with the account. */
	ck_assert_int_eq(store_account_delete(st, alice, 5000, NULL, NULL), 0);
	ck_assert_int_eq(store_session_status(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss.ended, 1);
	ck_assert_int_eq(ss.account_deleted, 1);
	ck_assert_str_eq(ss.end_reason, "account deleted");
	ck_assert_int_eq(ss.credential_valid, 0);
	ck_assert_ptr_null(ss.ip_policy_id);
	store_session_status_clear(&ss);

	ck_assert_int_eq(store_session_status(st, NULL, &ss),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_session_status(st, "ss_b", NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	store_session_status_clear(NULL);
	free(alice);
	free(bob);
	free(pol);
}

END_TEST

/*
 * Pruning through the API: ended sessions go, live ones stay; address
 * affinity loses what was pruned.
 */
START_TEST(test_session_prune)
{
	struct store_hostport *list = NULL;
	struct store_session *s = NULL;
	size_t n = 0;
	int64_t pruned = -1;
	char *id, *ids;

	id = mk_account(st, "alice");
	mk_session_as(st, "ss_1", id, 100, 1000, CRED1);
	mk_endpoint(st, "ep_1", "ss_1", id, 41001, 1001);
	ck_assert_int_eq(store_session_end(st, "ss_1", 2000), 0);
	mk_session_as(st, "ss_2", id, 101, 3000, CRED1);
	mk_endpoint(st, "ep_2", "ss_2", id, 41002, 3001);
	ck_assert_int_eq(store_session_end(st, "ss_2", 4000), 0);
	mk_session_as(st, "ss_live", id, 102, 500, CRED2);
	mk_endpoint(st, "ep_live", "ss_live", id, 41003, 501);

	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	store_hostport_list_free(list, n);
	/* The cutoff is exclusive: ended at 2000 is not before 2000. */
	ck_assert_int_eq(store_session_prune(st, 2000, &pruned), 0);
	ck_assert_int_eq(pruned, 0);
	ck_assert_int_eq(store_session_prune(st, 2001, &pruned), 0);
	ck_assert_int_eq(pruned, 1);
	ck_assert_int_eq(store_session_get(st, "ss_1", &s),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_get(st, "ss_2", &s), 0);
	store_session_free(s);
	ck_assert_int_eq(store_affinity(st, id, CRED1, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0].port, 41002);
	store_hostport_list_free(list, n);
	/* Far in the future: every ended session, never the live one. */
	ck_assert_int_eq(store_session_prune(st, INT64_MAX, NULL), 0);
	ids = live_session_ids();
	ck_assert_str_eq(ids, "ss_live");
	free(ids);
	ck_assert_int_eq(store_session_get(st, "ss_live", &s), 0);
	ck_assert_int_eq(s->nendpoints, 1);
	store_session_free(s);
	ck_assert_int_eq(store_session_get(st, "ss_2", &s),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_prune(NULL, 0, &pruned),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(pruned, 0);
	free(id);
}

END_TEST

/* Add the test cases of this file to <s>. */
void
store_tcases_session(Suite *s)
{
	TCase *tc;

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_session_add_list);
	tcase_add_test(tc, test_session_add_errors);
	tcase_add_test(tc, test_session_end);
	tcase_add_test(tc, test_session_end_pid);
	tcase_add_test(tc, test_session_end_all);
	tcase_add_test(tc, test_session_limit);
	tcase_add_test(tc, test_session_kill);
	tcase_add_test(tc, test_session_get);
	tcase_add_test(tc, test_session_list_account);
	suite_add_tcase(s, tc);
	tc = tcase_create("endpoint");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_endpoint_add_list);
	tcase_add_test(tc, test_endpoint_add_errors);
	tcase_add_test(tc, test_endpoint_end);
	tcase_add_test(tc, test_endpoint_set_metadata);
	tcase_add_test(tc, test_endpoint_address);
	suite_add_tcase(s, tc);
	tc = tcase_create("affinity");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_affinity_order);
	tcase_add_test(tc, test_affinity_excluded);
	tcase_add_test(tc, test_affinity_once);
	tcase_add_test(tc, test_affinity_max);
	tcase_add_test(tc, test_affinity_args);
	suite_add_tcase(s, tc);
	tc = tcase_create("conditional");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_session_add_conditional);
	suite_add_tcase(s, tc);
	tc = tcase_create("revocation");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_token_revoke_ends_sessions);
	tcase_add_test(tc, test_key_delete_ends_sessions);
	suite_add_tcase(s, tc);
	tc = tcase_create("status");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_session_status);
	suite_add_tcase(s, tc);
	tc = tcase_create("prune");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_session_prune);
	suite_add_tcase(s, tc);
}
