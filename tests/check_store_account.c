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

/* check_store: accounts, keys and tokens. */

static const struct {
	const char *name;
	int valid;
} account_names[] = {
	{ "a", 1 },
	{ "alice", 1 },
	{ "Alice.B_c-d", 1 },
	{ "0", 1 },
	{ "a-", 1 },
	{ ".hidden", 1 },
	{ "_x", 1 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    1 }, /* 64 */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    0 }, /* 65 */
	{ "", 0 },
	{ NULL, 0 },
	{ "-a", 0 },
	{ "a b", 0 },
	{ "a/b", 0 },
	{ "a@b", 0 },
	{ "a\n", 0 },
	{ "caf\xc3\xa9", 0 },
	{ "a;DROP TABLE accounts", 0 },
};

START_TEST(test_account_name_valid)
{
	ck_assert_msg(store_account_name_valid(account_names[_i].name) ==
	        account_names[_i].valid,
	    "case %d", _i);
}

END_TEST

/* Adding follows the name rule too. */
START_TEST(test_account_add_name_rule)
{
	struct store_account *a = (struct store_account *)&a;
	int r;

	r = store_account_add(st, account_names[_i].name, &a);
	if (account_names[_i].valid) {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(a->name, account_names[_i].name);
	} else {
		ck_assert_int_eq(r, PORTHOLE_ERR_INVALID_ARGUMENT);
		ck_assert_ptr_null(a);
	}
	store_account_free(a);
}

END_TEST

START_TEST(test_account_add_get)
{
	struct store_account *a = NULL, *b = NULL, *c = NULL;

	ck_assert_int_eq(store_account_add(st, "alice", &a), 0);
	ck_assert(id_is_valid(a->id, "ac"));
	ck_assert_str_eq(a->name, "alice");
	ck_assert_int_eq(a->disabled, 0);
	ck_assert_int_eq(a->nkeys, 0);
	ck_assert(a->created_ms > 1700000000000LL);

	ck_assert_int_eq(store_account_get(st, "alice", &b), 0);
	ck_assert_int_eq(store_account_get(st, a->id, &c), 0);
	ck_assert_str_eq(b->id, a->id);
	ck_assert_str_eq(c->id, a->id);
	ck_assert_str_eq(c->name, "alice");
	ck_assert_int_eq(c->created_ms, a->created_ms);
	ck_assert_int_eq(c->disabled, 0);
	store_account_free(b);
	store_account_free(c);

	/* Names are exact. */
	b = (struct store_account *)&b;
	ck_assert_int_eq(store_account_get(st, "Alice", &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(store_account_get(st, "bob", &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_account_get(st, "ac_000000000000000000000000",
	                     &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_account_get(st, NULL, &b),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	store_account_free(a);
}

END_TEST

START_TEST(test_account_add_duplicate)
{
	struct store_account *a = (struct store_account *)&a;

	ck_assert_int_eq(store_account_add(st, "alice", NULL), 0);
	ck_assert_int_eq(store_account_add(st, "alice", &a),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strcasestr(store_errmsg(st), "unique"));
	/* Case matters: "Alice" is another account. */
	ck_assert_int_eq(store_account_add(st, "Alice", NULL), 0);
}

END_TEST

/* A name shaped like an id is allowed, but the id wins on lookup. */
START_TEST(test_account_get_id_wins)
{
	struct store_account *a = NULL, *b = NULL, *c = NULL;

	ck_assert_int_eq(store_account_add(st, "alice", &a), 0);
	ck_assert_int_eq(store_account_add(st, a->id, &b), 0);
	ck_assert_int_eq(store_account_get(st, a->id, &c), 0);
	ck_assert_str_eq(c->name, "alice");
	store_account_free(c);
	ck_assert_int_eq(store_account_get(st, b->id, &c), 0);
	ck_assert_str_eq(c->name, a->id);
	store_account_free(a);
	store_account_free(b);
	store_account_free(c);
}

END_TEST

START_TEST(test_account_list)
{
	struct store_account **list = (struct store_account **)&list;
	size_t n = 99;
	char *id;

	ck_assert_int_eq(store_account_list(st, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	ck_assert_int_eq(store_account_add(st, "carol", NULL), 0);
	id = mk_account(st, "alice");
	ck_assert_int_eq(store_account_add(st, "bob", NULL), 0);
	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP1, NULL),
	    0);
	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP2, NULL),
	    0);

	ck_assert_int_eq(store_account_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->name, "alice");
	ck_assert_str_eq(list[0]->id, id);
	ck_assert_int_eq(list[0]->nkeys, 2);
	ck_assert_str_eq(list[1]->name, "bob");
	ck_assert_int_eq(list[1]->nkeys, 0);
	ck_assert_str_eq(list[2]->name, "carol");
	store_account_list_free(list, n);
	store_account_list_free(NULL, 0);
	store_account_free(NULL);
	free(id);
}

END_TEST

/* More rows than the list's first allocation. */
START_TEST(test_account_list_many)
{
	struct store_account **list = NULL;
	size_t n = 0, i;
	char name[16];

	for (i = 0; i < 100; i++) {
		ck_assert_int_lt(snprintf(name, sizeof(name), "user%03zu", i),
		    (int)sizeof(name));
		ck_assert_int_eq(store_account_add(st, name, NULL), 0);
	}
	ck_assert_int_eq(store_account_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 100);
	for (i = 0; i < n; i++) {
		ck_assert_int_lt(snprintf(name, sizeof(name), "user%03zu", i),
		    (int)sizeof(name));
		ck_assert_str_eq(list[i]->name, name);
	}
	store_account_list_free(list, n);
}

END_TEST

/* The v2 fields and the counts that get and list fill. */
START_TEST(test_account_fields)
{
	struct store_account *a = NULL, **list = NULL;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	size_t n = 0;
	char *id, *ra1, *ra2;

	ck_assert_int_eq(store_account_add(st, "alice", &a), 0);
	ck_assert_str_eq(a->description, "");
	ck_assert_int_eq(a->max_sessions, 0);
	ck_assert_int_eq(a->max_endpoints, 0);
	ck_assert_int_eq(a->ntokens, 0);
	ck_assert_int_eq(a->naddresses, 0);
	ck_assert_int_eq(a->nsessions, 0);
	id = strdup(a->id);
	store_account_free(a);
	ck_assert_int_eq(store_account_add(st, "bob", NULL), 0);

	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP1, NULL),
	    0);
	fill_hash(h1, 1);
	fill_hash(h2, 2);
	ck_assert_int_eq(store_token_add(st, "tk_1", id, h1, sizeof(h1), NULL,
	                     1000),
	    0);
	ck_assert_int_eq(store_token_add(st, "tk_2", id, h2, sizeof(h2), NULL,
	                     1000),
	    0);
	ck_assert_int_eq(store_token_revoke(st, "tk_2", 2000, NULL, NULL), 0);
	ra1 = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	ra2 = mk_address(st, id, "tunnel.example.com", 42001, 1000);
	ck_assert_int_eq(store_address_delete(st, ra2, 2000), 0);
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 101, 1001);
	ck_assert_int_eq(store_session_end(st, "ss_2", 2000), 0);

	ck_assert_int_eq(store_account_get(st, "alice", &a), 0);
	ck_assert_int_eq(a->nkeys, 1);
	ck_assert_int_eq(a->ntokens, 1);
	ck_assert_int_eq(a->naddresses, 1);
	ck_assert_int_eq(a->nsessions, 1);
	store_account_free(a);
	/* The light lookup: the same account, by name or id, no counts. */
	ck_assert_int_eq(store_account_lookup(st, "alice", &a), 0);
	ck_assert_str_eq(a->id, id);
	ck_assert_str_eq(a->name, "alice");
	ck_assert_int_eq(a->nkeys + a->ntokens + a->naddresses + a->nsessions,
	    0);
	store_account_free(a);
	ck_assert_int_eq(store_account_lookup(st, id, &a), 0);
	ck_assert_str_eq(a->name, "alice");
	store_account_free(a);
	a = (struct store_account *)&a;
	ck_assert_int_eq(store_account_lookup(st, "carol", &a),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(store_account_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->name, "alice");
	ck_assert_int_eq(list[0]->nkeys, 1);
	ck_assert_int_eq(list[0]->ntokens, 1);
	ck_assert_int_eq(list[0]->naddresses, 1);
	ck_assert_int_eq(list[0]->nsessions, 1);
	ck_assert_str_eq(list[1]->name, "bob");
	ck_assert_str_eq(list[1]->description, "");
	ck_assert_int_eq(list[1]->nkeys + list[1]->ntokens +
	        list[1]->naddresses + list[1]->nsessions,
	    0);
	store_account_list_free(list, n);

	/* Bad output arguments. */
	list = (struct store_account **)&list;
	ck_assert_int_eq(store_account_list(st, &list, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(list);
	n = 99;
	ck_assert_int_eq(store_account_list(st, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(n, 0);
	free(id);
	free(ra1);
	free(ra2);
}

END_TEST

START_TEST(test_account_set_description)
{
	struct store_account *a = NULL;
	char *id;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_account_set_description(st, id, "the team"), 0);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_str_eq(a->description, "the team");
	store_account_free(a);
	ck_assert_int_eq(store_account_set_description(st, id, ""), 0);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_str_eq(a->description, "");
	store_account_free(a);
	/* An id, not a name. */
	ck_assert_int_eq(store_account_set_description(st, "alice", "x"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_account_set_description(st,
	                     "ac_000000000000000000000000", "x"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_account_set_description(st, NULL, "x"),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_account_set_description(st, id, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
}

END_TEST

START_TEST(test_account_set_limits)
{
	struct store_account *a = NULL;
	char *id;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_account_set_limits(st, id, 3, 5), 0);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_int_eq(a->max_sessions, 3);
	ck_assert_int_eq(a->max_endpoints, 5);
	store_account_free(a);
	/* A negative value keeps the current one; 0 is the default. */
	ck_assert_int_eq(store_account_set_limits(st, id, -1, 7), 0);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_int_eq(a->max_sessions, 3);
	ck_assert_int_eq(a->max_endpoints, 7);
	store_account_free(a);
	ck_assert_int_eq(store_account_set_limits(st, id, 0, -5), 0);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_int_eq(a->max_sessions, 0);
	ck_assert_int_eq(a->max_endpoints, 7);
	store_account_free(a);
	ck_assert_int_eq(store_account_set_limits(st, id, -1, -1), 0);
	/* The ceiling. */
	ck_assert_int_eq(store_account_set_limits(st, id, 100000, 100000), 0);
	ck_assert_int_eq(store_account_set_limits(st, id, 100001, -1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_account_set_limits(st, id, -1, 100001),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_int_eq(a->max_sessions, 100000);
	ck_assert_int_eq(a->max_endpoints, 100000);
	store_account_free(a);
	ck_assert_int_eq(store_account_set_limits(st,
	                     "ac_000000000000000000000000", 1, 1),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_account_set_limits(st, NULL, 1, 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
}

END_TEST

START_TEST(test_account_set_disabled)
{
	struct store_account *a = NULL;
	struct store_session *s = NULL, **sl = NULL;
	struct store_endpoint **el = NULL;
	struct store_key *k = NULL;
	int64_t *pids = (int64_t *)&pids;
	size_t npids = 99, n = 0;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ck_assert_int_eq(store_key_add(st, alice, "ssh-ed25519", BLOB, FP1,
	                     NULL),
	    0);
	mk_session(st, "ss_1", alice, 200, 1000);
	mk_session(st, "ss_2", alice, 100, 1001);
	mk_session(st, "ss_3", alice, 200, 1002); /* same process */
	mk_session(st, "ss_4", alice, 300, 900);
	mk_session(st, "ss_b", bob, 400, 1003);
	mk_endpoint(st, "ep_1", "ss_1", alice, 41234, 1100);
	mk_endpoint(st, "ep_2", "ss_2", alice, 41235, 1101);
	mk_endpoint(st, "ep_b", "ss_b", bob, 41236, 1102);
	ck_assert_int_eq(store_session_end(st, "ss_4", 950), 0);

	ck_assert_int_eq(store_account_set_disabled(st, alice, 1, 5000, &pids,
	                     &npids),
	    0);
	/* Live sessions' pids only, each once, in the order they began. */
	ck_assert_uint_eq(npids, 2);
	ck_assert_int_eq(pids[0], 200);
	ck_assert_int_eq(pids[1], 100);
	free(pids);
	ck_assert_int_eq(store_account_get(st, alice, &a), 0);
	ck_assert_int_eq(a->disabled, 1);
	ck_assert_int_eq(a->nsessions, 0);
	store_account_free(a);
	ck_assert_int_eq(store_key_get(st, FP1, &k), 0);
	ck_assert_int_eq(k->account_disabled, 1);
	store_key_free(k);
	ck_assert_int_eq(store_session_get(st, "ss_3", &s), 0);
	ck_assert_int_eq(s->ended_ms, 5000);
	ck_assert_str_eq(s->end_reason, "account disabled");
	store_session_free(s);
	/* A session that had ended is left as it was. */
	ck_assert_int_eq(store_session_get(st, "ss_4", &s), 0);
	ck_assert_int_eq(s->ended_ms, 950);
	ck_assert_ptr_null(s->end_reason);
	store_session_free(s);
	/* Bob's session and endpoint live on. */
	ck_assert_int_eq(store_session_list(st, NULL, &sl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(sl[0]->id, "ss_b");
	store_session_list_free(sl, n);
	ck_assert_int_eq(store_endpoint_list(st, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->id, "ep_b");
	store_endpoint_list_free(el, n);

	/* Enabling ends nothing (a disabled account has no new sessions). */
	ck_assert_int_eq(store_account_set_disabled(st, alice, 0, 5500, NULL,
	                     NULL),
	    0);
	mk_session(st, "ss_5", alice, 500, 6000);
	pids = (int64_t *)&pids;
	npids = 99;
	ck_assert_int_eq(store_account_set_disabled(st, alice, 0, 7000, &pids,
	                     &npids),
	    0);
	ck_assert_ptr_null(pids);
	ck_assert_uint_eq(npids, 0);
	ck_assert_int_eq(store_account_get(st, alice, &a), 0);
	ck_assert_int_eq(a->disabled, 0);
	ck_assert_int_eq(a->nsessions, 1);
	store_account_free(a);
	/* The outputs may be NULL; the count alone can be asked for. */
	ck_assert_int_eq(store_account_set_disabled(st, alice, 1, 8000, NULL,
	                     &npids),
	    0);
	ck_assert_uint_eq(npids, 1);
	ck_assert_int_eq(store_account_set_disabled(st, alice, 1, 8000, NULL,
	                     NULL),
	    0);

	pids = (int64_t *)&pids;
	npids = 99;
	ck_assert_int_eq(store_account_set_disabled(st,
	                     "ac_000000000000000000000000", 1, 9000, &pids,
	                     &npids),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(pids);
	ck_assert_uint_eq(npids, 0);
	ck_assert_int_eq(store_account_set_disabled(st, NULL, 1, 9000, NULL,
	                     NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_account_delete)
{
	struct store_account *a = NULL;
	struct store_address *ra = NULL;
	struct store_token *t = NULL;
	struct store_key *k = NULL;
	struct store_session *s = NULL;
	struct store_endpoint **el = NULL;
	unsigned char h[TOKEN_HASH_LEN];
	int64_t *pids = NULL;
	size_t npids = 0, n = 0;
	char *alice, *bob, *ra1, *ra2;
	int used = 0;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ck_assert_int_eq(store_key_add(st, alice, "ssh-ed25519", BLOB, FP1,
	                     NULL),
	    0);
	ck_assert_int_eq(store_key_add(st, bob, "ssh-ed25519", BLOB, FP2, NULL),
	    0);
	fill_hash(h, 7);
	ck_assert_int_eq(store_token_add(st, "tk_1", alice, h, sizeof(h), NULL,
	                     1000),
	    0);
	ra1 = mk_address(st, alice, "tunnel.example.com", 42000, 1000);
	ra2 = mk_address(st, bob, "tunnel.example.com", 42001, 1000);
	mk_session(st, "ss_1", alice, 100, 1000);
	mk_session(st, "ss_2", alice, 300, 900);
	mk_session(st, "ss_b", bob, 400, 1001);
	mk_endpoint_at(st, "ep_1", "ss_1", alice, 42000, 1100, ra1);
	mk_endpoint(st, "ep_b", "ss_b", bob, 41236, 1102);
	ck_assert_int_eq(store_session_end(st, "ss_2", 950), 0);

	ck_assert_int_eq(store_account_delete(st, alice, 9000, &pids, &npids),
	    0);
	ck_assert_uint_eq(npids, 1);
	ck_assert_int_eq(pids[0], 100);
	free(pids);
	ck_assert_int_eq(store_account_get(st, "alice", &a),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_get(st, FP1, &k), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_token_find(st, h, sizeof(h), &t, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	/* Session and endpoint history goes with the account. */
	ck_assert_int_eq(store_session_get(st, "ss_1", &s),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_session_get(st, "ss_2", &s),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_endpoint_list(st, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->id, "ep_b");
	store_endpoint_list_free(el, n);
	/* The address is a tombstone: gone, but its port stays used. */
	ck_assert_int_eq(store_address_get(st, ra1, &ra),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_get(st, "tunnel.example.com:42000", &ra),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_port_used(st, 42000, &used), 0);
	ck_assert_int_eq(used, 1);
	ck_assert_int_eq(store_address_add(st, bob, "tunnel.example.com", 42000,
	                     NULL, NULL, 9500, NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_address_add(st, bob, "other.example.com", 42000,
	                     NULL, NULL, 9500, NULL),
	    PORTHOLE_ERR_EXISTS);
	/* Bob is untouched. */
	ck_assert_int_eq(store_account_get(st, "bob", &a), 0);
	ck_assert_int_eq(a->nkeys, 1);
	ck_assert_int_eq(a->naddresses, 1);
	ck_assert_int_eq(a->nsessions, 1);
	store_account_free(a);
	ck_assert_int_eq(store_address_get(st, ra2, &ra), 0);
	store_address_free(ra);
	/* The name is free again; the new account owns nothing old. */
	ck_assert_int_eq(store_account_add(st, "alice", &a), 0);
	ck_assert_int_eq(a->naddresses, 0);
	store_account_free(a);

	pids = (int64_t *)&pids;
	npids = 99;
	ck_assert_int_eq(store_account_delete(st, alice, 9000, &pids, &npids),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(pids);
	ck_assert_uint_eq(npids, 0);
	ck_assert_int_eq(store_account_delete(st, NULL, 9000, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* The outputs may be NULL. */
	mk_session(st, "ss_b2", bob, 401, 9600);
	ck_assert_int_eq(store_account_delete(st, bob, 9700, NULL, NULL), 0);
	free(alice);
	free(bob);
	free(ra1);
	free(ra2);
}

END_TEST

/* Keys. */

START_TEST(test_key_add_get)
{
	struct store_key *k = (struct store_key *)&k;
	struct store_account *a = NULL;
	char *id;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP1,
	                     "alice@laptop"),
	    0);
	ck_assert_int_eq(store_key_get(st, FP1, &k), 0);
	ck_assert_str_eq(k->fingerprint, FP1);
	ck_assert_str_eq(k->account_id, id);
	ck_assert_str_eq(k->account_name, "alice");
	ck_assert_int_eq(k->account_disabled, 0);
	ck_assert_str_eq(k->type, "ssh-ed25519");
	ck_assert_str_eq(k->blob, BLOB);
	ck_assert_str_eq(k->comment, "alice@laptop");
	ck_assert(k->created_ms > 1700000000000LL);
	store_key_free(k);

	/* A NULL comment is stored as "". */
	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP2, NULL),
	    0);
	ck_assert_int_eq(store_key_get(st, FP2, &k), 0);
	ck_assert_str_eq(k->comment, "");
	store_key_free(k);
	store_key_free(NULL);

	ck_assert_int_eq(store_account_get(st, "alice", &a), 0);
	ck_assert_int_eq(a->nkeys, 2);
	store_account_free(a);

	k = (struct store_key *)&k;
	ck_assert_int_eq(store_key_get(st, FP3, &k), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(k);
	free(id);
}

END_TEST

START_TEST(test_key_add_errors)
{
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ck_assert_int_eq(store_key_add(st, alice, "ssh-ed25519", BLOB, FP1,
	                     NULL),
	    0);
	/* A fingerprint belongs to one account only. */
	ck_assert_int_eq(store_key_add(st, alice, "ssh-ed25519", BLOB, FP1,
	                     NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_key_add(st, bob, "ssh-ed25519", BLOB, FP1, NULL),
	    PORTHOLE_ERR_EXISTS);
	/* Unknown account: the foreign key. A name is not an id. */
	ck_assert_int_eq(store_key_add(st, "ac_000000000000000000000000",
	                     "ssh-ed25519", BLOB, FP2, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_add(st, "alice", "ssh-ed25519", BLOB, FP2,
	                     NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strcasestr(store_errmsg(st), "foreign key"));
	ck_assert_int_eq(store_key_add(st, NULL, "ssh-ed25519", BLOB, FP2,
	                     NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_key_add(st, alice, NULL, BLOB, FP2, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_key_add(st, alice, "ssh-ed25519", NULL, FP2,
	                     NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_key_add(st, alice, "ssh-ed25519", BLOB, "",
	                     NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_key_list)
{
	struct store_key **list = (struct store_key **)&list;
	size_t n = 99;
	char *alice, *bob;

	ck_assert_int_eq(store_key_list(st, NULL, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	bob = mk_account(st, "bob");
	alice = mk_account(st, "alice");
	ck_assert_int_eq(store_account_add(st, "carol", NULL), 0);
	ck_assert_int_eq(store_key_add(st, bob, "ssh-ed25519", BLOB, FP1, NULL),
	    0);
	ck_assert_int_eq(store_key_add(st, alice, "ssh-rsa", BLOB, FP2, NULL),
	    0);
	ck_assert_int_eq(store_key_add(st, bob, "ssh-ed25519", BLOB, FP3, NULL),
	    0);

	/* All keys, by account name. */
	ck_assert_int_eq(store_key_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->account_name, "alice");
	ck_assert_str_eq(list[0]->fingerprint, FP2);
	ck_assert_str_eq(list[0]->type, "ssh-rsa");
	ck_assert_str_eq(list[1]->account_name, "bob");
	ck_assert_str_eq(list[2]->account_name, "bob");
	store_key_list_free(list, n);

	/* One account, by name or by id. */
	ck_assert_int_eq(store_key_list(st, "bob", &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->account_id, bob);
	ck_assert_str_eq(list[1]->account_id, bob);
	store_key_list_free(list, n);
	ck_assert_int_eq(store_key_list(st, alice, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->fingerprint, FP2);
	store_key_list_free(list, n);

	/* An account without keys, and no account at all. */
	ck_assert_int_eq(store_key_list(st, "carol", &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(list);
	n = 99;
	list = (struct store_key **)&list;
	ck_assert_int_eq(store_key_list(st, "dave", &list, &n),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	store_key_list_free(NULL, 0);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_key_delete)
{
	struct store_key *k = NULL;
	char *id;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP1, NULL),
	    0);
	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP2, NULL),
	    0);
	ck_assert_int_eq(store_key_delete(st, FP1, 2000, NULL, NULL), 0);
	ck_assert_int_eq(store_key_get(st, FP1, &k), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_delete(st, FP1, 2000, NULL, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_delete(st, FP3, 2000, NULL, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_delete(st, NULL, 2000, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_key_get(st, FP2, &k), 0);
	store_key_free(k);
	/* Deleted fingerprints can be registered again. */
	ck_assert_int_eq(store_key_add(st, id, "ssh-ed25519", BLOB, FP1, NULL),
	    0);
	free(id);
}

END_TEST

/* Sessions. */

START_TEST(test_token_add_find)
{
	struct store_token *t = (struct store_token *)&t;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	unsigned char stored[TOKEN_HASH_LEN];
	char *id;

	id = mk_account(st, "alice");
	fill_hash(h1, 0x11);
	fill_hash(h2, 0x22);
	/* A digest with a NUL in it is still all of it. */
	h1[3] = 0;
	ck_assert_int_eq(store_token_add(st, "tk_1", id, h1, sizeof(h1), "CI",
	                     1000),
	    0);
	memset(stored, 0, sizeof(stored));
	ck_assert_int_eq(store_token_find(st, h1, sizeof(h1), &t, stored), 0);
	ck_assert_str_eq(t->id, "tk_1");
	ck_assert_str_eq(t->account_id, id);
	ck_assert_str_eq(t->account_name, "alice");
	ck_assert_int_eq(t->account_disabled, 0);
	ck_assert_str_eq(t->description, "CI");
	ck_assert_int_eq(t->created_ms, 1000);
	ck_assert_int_eq(t->last_used_ms, 0);
	ck_assert_int_eq(t->revoked_ms, 0);
	ck_assert_int_eq(memcmp(stored, h1, sizeof(h1)), 0);
	store_token_free(t);
	/* The stored digest is optional. */
	ck_assert_int_eq(store_token_find(st, h1, sizeof(h1), &t, NULL), 0);
	store_token_free(t);

	/* Another hash, even one sharing a prefix, finds nothing. */
	t = (struct store_token *)&t;
	ck_assert_int_eq(store_token_find(st, h2, sizeof(h2), &t, stored),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(t);
	memcpy(h2, h1, sizeof(h2));
	h2[TOKEN_HASH_LEN - 1] ^= 1;
	ck_assert_int_eq(store_token_find(st, h2, sizeof(h2), &t, stored),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_token_find(st, h1, sizeof(h1) - 1, &t, stored),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_find(st, NULL, sizeof(h1), &t, stored),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_find(st, h1, sizeof(h1), NULL, stored),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	/* A disabled account's token is found, and says so. */
	ck_assert_int_eq(store_account_set_disabled(st, id, 1, 2000, NULL,
	                     NULL),
	    0);
	ck_assert_int_eq(store_token_find(st, h1, sizeof(h1), &t, NULL), 0);
	ck_assert_int_eq(t->account_disabled, 1);
	store_token_free(t);
	/* A NULL description is stored as "". */
	fill_hash(h2, 0x33);
	ck_assert_int_eq(store_token_add(st, "tk_2", id, h2, sizeof(h2), NULL,
	                     3000),
	    0);
	ck_assert_int_eq(store_token_find(st, h2, sizeof(h2), &t, NULL), 0);
	ck_assert_str_eq(t->description, "");
	store_token_free(t);
	store_token_free(NULL);
	free(id);
}

END_TEST

START_TEST(test_token_add_errors)
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
	/* A hash belongs to one token; an id too. */
	ck_assert_int_eq(store_token_add(st, "tk_2", alice, h1, sizeof(h1),
	                     NULL, 1000),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_token_add(st, "tk_2", bob, h1, sizeof(h1), NULL,
	                     1000),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_token_add(st, "tk_1", alice, h2, sizeof(h2),
	                     NULL, 1000),
	    PORTHOLE_ERR_EXISTS);
	/* Unknown account (a name is not an id). */
	ck_assert_int_eq(store_token_add(st, "tk_2", "alice", h2, sizeof(h2),
	                     NULL, 1000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_token_add(st, "tk_2", alice, h2, sizeof(h2) - 1,
	                     NULL, 1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_add(st, "tk_2", alice, h2, sizeof(h2) + 1,
	                     NULL, 1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_add(st, "tk_2", alice, NULL, sizeof(h2),
	                     NULL, 1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_add(st, "", alice, h2, sizeof(h2), NULL,
	                     1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_add(st, NULL, alice, h2, sizeof(h2), NULL,
	                     1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_token_add(st, "tk_2", NULL, h2, sizeof(h2), NULL,
	                     1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(alice);
	free(bob);
}

END_TEST

START_TEST(test_token_touch)
{
	struct store_token *t = NULL;
	unsigned char h[TOKEN_HASH_LEN];
	char *id;

	id = mk_account(st, "alice");
	fill_hash(h, 1);
	ck_assert_int_eq(store_token_add(st, "tk_1", id, h, sizeof(h), NULL,
	                     1000),
	    0);
	ck_assert_int_eq(store_token_touch(st, "tk_1", 5000), 0);
	ck_assert_int_eq(store_token_find(st, h, sizeof(h), &t, NULL), 0);
	ck_assert_int_eq(t->last_used_ms, 5000);
	store_token_free(t);
	ck_assert_int_eq(store_token_touch(st, "tk_1", 6000), 0);
	ck_assert_int_eq(store_token_find(st, h, sizeof(h), &t, NULL), 0);
	ck_assert_int_eq(t->last_used_ms, 6000);
	store_token_free(t);
	ck_assert_int_eq(store_token_touch(st, "tk_nope", 6000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_token_touch(st, NULL, 6000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
}

END_TEST

START_TEST(test_token_revoke)
{
	struct store_token *t = NULL, **list = NULL;
	struct store_account *a = NULL;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	size_t n = 0;
	char *id;

	id = mk_account(st, "alice");
	fill_hash(h1, 1);
	fill_hash(h2, 2);
	ck_assert_int_eq(store_token_add(st, "tk_1", id, h1, sizeof(h1), NULL,
	                     1000),
	    0);
	ck_assert_int_eq(store_token_add(st, "tk_2", id, h2, sizeof(h2), NULL,
	                     1001),
	    0);
	ck_assert_int_eq(store_token_revoke(st, "tk_1", 2000, NULL, NULL), 0);
	/* A revoked token no longer authenticates or shows. */
	ck_assert_int_eq(store_token_find(st, h1, sizeof(h1), &t, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_token_find(st, h2, sizeof(h2), &t, NULL), 0);
	store_token_free(t);
	ck_assert_int_eq(store_token_list(st, "alice", &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "tk_2");
	store_token_list_free(list, n);
	ck_assert_int_eq(store_account_get(st, id, &a), 0);
	ck_assert_int_eq(a->ntokens, 1);
	store_account_free(a);
	ck_assert_int_eq(store_token_revoke(st, "tk_1", 3000, NULL, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_token_revoke(st, "tk_nope", 3000, NULL, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_token_revoke(st, NULL, 3000, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
}

END_TEST

START_TEST(test_token_list)
{
	struct store_token **list = (struct store_token **)&list;
	unsigned char h[TOKEN_HASH_LEN];
	size_t n = 99;
	char *alice, *bob;

	ck_assert_int_eq(store_token_list(st, NULL, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	bob = mk_account(st, "bob");
	alice = mk_account(st, "alice");
	ck_assert_int_eq(store_account_add(st, "carol", NULL), 0);
	fill_hash(h, 1);
	ck_assert_int_eq(store_token_add(st, "tk_b", bob, h, sizeof(h), "b",
	                     500),
	    0);
	fill_hash(h, 2);
	ck_assert_int_eq(store_token_add(st, "tk_a2", alice, h, sizeof(h), "a2",
	                     2000),
	    0);
	fill_hash(h, 3);
	ck_assert_int_eq(store_token_add(st, "tk_a1", alice, h, sizeof(h), "a1",
	                     1000),
	    0);

	ck_assert_int_eq(store_token_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->id, "tk_a1");
	ck_assert_str_eq(list[0]->description, "a1");
	ck_assert_str_eq(list[0]->account_name, "alice");
	ck_assert_str_eq(list[1]->id, "tk_a2");
	ck_assert_str_eq(list[2]->id, "tk_b");
	ck_assert_str_eq(list[2]->account_id, bob);
	store_token_list_free(list, n);
	ck_assert_int_eq(store_token_list(st, bob, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "tk_b");
	store_token_list_free(list, n);
	ck_assert_int_eq(store_token_list(st, "carol", &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	list = (struct store_token **)&list;
	n = 99;
	ck_assert_int_eq(store_token_list(st, "dave", &list, &n),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	store_token_list_free(NULL, 0);
	free(alice);
	free(bob);
}

END_TEST

/* Busy. */

/* Add the test cases of this file to <s>. */
void
store_tcases_account(Suite *s)
{
	TCase *tc;

	tc = tcase_create("account");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_loop_test(tc, test_account_name_valid, 0,
	    sizeof(account_names) / sizeof(account_names[0]));
	tcase_add_loop_test(tc, test_account_add_name_rule, 0,
	    sizeof(account_names) / sizeof(account_names[0]));
	tcase_add_test(tc, test_account_add_get);
	tcase_add_test(tc, test_account_add_duplicate);
	tcase_add_test(tc, test_account_get_id_wins);
	tcase_add_test(tc, test_account_list);
	tcase_add_test(tc, test_account_list_many);
	tcase_add_test(tc, test_account_fields);
	tcase_add_test(tc, test_account_set_description);
	tcase_add_test(tc, test_account_set_limits);
	tcase_add_test(tc, test_account_set_disabled);
	tcase_add_test(tc, test_account_delete);
	suite_add_tcase(s, tc);
	tc = tcase_create("key");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_key_add_get);
	tcase_add_test(tc, test_key_add_errors);
	tcase_add_test(tc, test_key_list);
	tcase_add_test(tc, test_key_delete);
	suite_add_tcase(s, tc);
	tc = tcase_create("token");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_token_add_find);
	tcase_add_test(tc, test_token_add_errors);
	tcase_add_test(tc, test_token_touch);
	tcase_add_test(tc, test_token_revoke);
	tcase_add_test(tc, test_token_list);
	suite_add_tcase(s, tc);
}
