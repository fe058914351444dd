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
#include "token.h"

/* API keys: an account's and an administrator's, by their keyed hash. */

/* Keys are found by their hash, with their account or none. */
START_TEST(test_apikey_add_find)
{
	struct store_apikey *k = (struct store_apikey *)&k;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	unsigned char stored[TOKEN_HASH_LEN];
	char *id;

	id = mk_account(st, "alice");
	fill_hash(h1, 0x11);
	fill_hash(h2, 0x22);
	/* A digest with a NUL in it is still all of it. */
	h1[3] = 0;
	ck_assert_int_eq(store_apikey_add(st, "ak_1", id, h1, sizeof(h1),
	                     "deploy", 1000),
	    0);
	ck_assert_int_eq(store_apikey_add(st, "ak_2", NULL, h2, sizeof(h2),
	                     NULL, 1100),
	    0);
	memset(stored, 0, sizeof(stored));
	ck_assert_int_eq(store_apikey_find(st, h1, sizeof(h1), &k, stored), 0);
	ck_assert_str_eq(k->id, "ak_1");
	ck_assert_str_eq(k->account_id, id);
	ck_assert_str_eq(k->account_name, "alice");
	ck_assert_int_eq(k->account_disabled, 0);
	ck_assert_str_eq(k->description, "deploy");
	ck_assert_int_eq(k->created_ms, 1000);
	ck_assert_int_eq(k->last_used_ms, 0);
	ck_assert_int_eq(k->revoked_ms, 0);
	ck_assert_int_eq(memcmp(stored, h1, sizeof(h1)), 0);
	store_apikey_free(k);

	/* An administrator's key has no account; NULL description is "". */
	ck_assert_int_eq(store_apikey_find(st, h2, sizeof(h2), &k, NULL), 0);
	ck_assert_str_eq(k->id, "ak_2");
	ck_assert_ptr_null(k->account_id);
	ck_assert_ptr_null(k->account_name);
	ck_assert_int_eq(k->account_disabled, 0);
	ck_assert_str_eq(k->description, "");
	store_apikey_free(k);

	/* Another hash, even one differing in one bit, finds nothing. */
	k = (struct store_apikey *)&k;
	memcpy(h2, h1, sizeof(h2));
	h2[TOKEN_HASH_LEN - 1] ^= 1;
	ck_assert_int_eq(store_apikey_find(st, h2, sizeof(h2), &k, stored),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(store_apikey_find(st, h1, sizeof(h1) - 1, &k, stored),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_apikey_find(st, NULL, sizeof(h1), &k, stored),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_apikey_find(st, h1, sizeof(h1), NULL, stored),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	/* A disabled account's key is found, and says so. */
	ck_assert_int_eq(store_account_set_disabled(st, id, 1, 2000, NULL,
	                     NULL),
	    0);
	ck_assert_int_eq(store_apikey_find(st, h1, sizeof(h1), &k, NULL), 0);
	ck_assert_int_eq(k->account_disabled, 1);
	store_apikey_free(k);
	store_apikey_free(NULL);
	free(id);
}
END_TEST

/* Bad arguments, an unknown account, a taken id or hash. */
START_TEST(test_apikey_add_errors)
{
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	struct store_apikey **list = NULL;
	size_t n = 0;
	char *alice;

	alice = mk_account(st, "alice");
	fill_hash(h1, 0x11);
	fill_hash(h2, 0x22);
	ck_assert_int_eq(store_apikey_add(st, "ak_1", alice, h1, sizeof(h1),
	                     NULL, 1000),
	    0);
	/* The same hash again, for anyone. */
	ck_assert_int_eq(store_apikey_add(st, "ak_2", NULL, h1, sizeof(h1),
	                     NULL, 1000),
	    PORTHOLE_ERR_EXISTS);
	/* The same id again. */
	ck_assert_int_eq(store_apikey_add(st, "ak_1", NULL, h2, sizeof(h2),
	                     NULL, 1000),
	    PORTHOLE_ERR_EXISTS);
	/* An account is named by its id here, not its name. */
	ck_assert_int_eq(store_apikey_add(st, "ak_2", "alice", h2, sizeof(h2),
	                     NULL, 1000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_apikey_add(st, "ak_2", alice, h2, sizeof(h2) - 1,
	                     NULL, 1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_apikey_add(st, "ak_2", alice, NULL, sizeof(h2),
	                     NULL, 1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_apikey_add(st, NULL, alice, h2, sizeof(h2), NULL,
	                     1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_apikey_add(st, "", alice, h2, sizeof(h2), NULL,
	                     1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_apikey_add(st, "ak_2", "", h2, sizeof(h2), NULL,
	                     1000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* Nothing of the failures was kept. */
	ck_assert_int_eq(store_apikey_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	store_apikey_list_free(list, n);
	free(alice);
}
END_TEST

/*
 * All keys: administrators' first, then by account name, then age;
 * one account's alone; revoked keys stay listed.
 */
START_TEST(test_apikey_list)
{
	struct store_apikey **list = (struct store_apikey **)&list;
	unsigned char h[TOKEN_HASH_LEN];
	size_t n = 99;
	char *alice, *bob;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ck_assert_int_eq(store_apikey_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	store_apikey_list_free(list, n);
	/* Same time for ak_3 and ak_4: the order added decides. */
	fill_hash(h, 1);
	ck_assert_int_eq(store_apikey_add(st, "ak_1", bob, h, sizeof(h), NULL,
	                     1000),
	    0);
	fill_hash(h, 2);
	ck_assert_int_eq(store_apikey_add(st, "ak_4", alice, h, sizeof(h), NULL,
	                     3000),
	    0);
	fill_hash(h, 3);
	ck_assert_int_eq(store_apikey_add(st, "ak_3", alice, h, sizeof(h), NULL,
	                     3000),
	    0);
	fill_hash(h, 4);
	ck_assert_int_eq(store_apikey_add(st, "ak_9", NULL, h, sizeof(h), NULL,
	                     5000),
	    0);
	ck_assert_int_eq(store_apikey_revoke(st, "ak_4", 6000), 0);

	ck_assert_int_eq(store_apikey_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(list[0]->id, "ak_9");
	ck_assert_ptr_null(list[0]->account_name);
	ck_assert_str_eq(list[1]->id, "ak_4");
	ck_assert_int_eq(list[1]->revoked_ms, 6000);
	ck_assert_str_eq(list[2]->id, "ak_3");
	ck_assert_int_eq(list[2]->revoked_ms, 0);
	ck_assert_str_eq(list[3]->id, "ak_1");
	ck_assert_str_eq(list[3]->account_name, "bob");
	store_apikey_list_free(list, n);

	/* By name or by id. */
	ck_assert_int_eq(store_apikey_list(st, "alice", &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "ak_4");
	ck_assert_str_eq(list[1]->id, "ak_3");
	store_apikey_list_free(list, n);
	ck_assert_int_eq(store_apikey_list(st, bob, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "ak_1");
	store_apikey_list_free(list, n);

	list = (struct store_apikey **)&list;
	ck_assert_int_eq(store_apikey_list(st, "carol", &list, &n),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_apikey_list(st, NULL, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	store_apikey_list_free(NULL, 0);
	free(alice);
	free(bob);
}
END_TEST

/* Revoked keys are found no more; use is noted; keys go with accounts. */
START_TEST(test_apikey_revoke_touch)
{
	struct store_apikey *k = NULL, **list = NULL;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	size_t n = 0;
	char *alice;

	alice = mk_account(st, "alice");
	fill_hash(h1, 0x11);
	fill_hash(h2, 0x22);
	ck_assert_int_eq(store_apikey_add(st, "ak_1", alice, h1, sizeof(h1),
	                     NULL, 1000),
	    0);
	ck_assert_int_eq(store_apikey_add(st, "ak_2", NULL, h2, sizeof(h2),
	                     NULL, 1000),
	    0);

	ck_assert_int_eq(store_apikey_touch(st, "ak_1", 1500), 0);
	ck_assert_int_eq(store_apikey_find(st, h1, sizeof(h1), &k, NULL), 0);
	ck_assert_int_eq(k->last_used_ms, 1500);
	store_apikey_free(k);
	ck_assert_int_eq(store_apikey_touch(st, "ak_nope", 1500),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_apikey_touch(st, NULL, 1500),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	ck_assert_int_eq(store_apikey_revoke(st, "ak_2", 2000), 0);
	ck_assert_int_eq(store_apikey_find(st, h2, sizeof(h2), &k, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	/* Twice, or a key that never was, is not found. */
	ck_assert_int_eq(store_apikey_revoke(st, "ak_2", 3000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_apikey_revoke(st, "ak_nope", 3000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_apikey_revoke(st, NULL, 3000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* The first revocation's time stays. */
	ck_assert_int_eq(store_apikey_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "ak_2");
	ck_assert_int_eq(list[0]->revoked_ms, 2000);
	store_apikey_list_free(list, n);

	/* Deleting the account takes its keys, not the administrators'. */
	ck_assert_int_eq(store_account_delete(st, alice, 4000, NULL, NULL), 0);
	ck_assert_int_eq(store_apikey_find(st, h1, sizeof(h1), &k, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_apikey_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "ak_2");
	store_apikey_list_free(list, n);
	free(alice);
}
END_TEST

void
store_tcases_apikey(Suite *s)
{
	TCase *tc = tcase_create("apikey");

	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_apikey_add_find);
	tcase_add_test(tc, test_apikey_add_errors);
	tcase_add_test(tc, test_apikey_list);
	tcase_add_test(tc, test_apikey_revoke_touch);
	suite_add_tcase(s, tc);
}
