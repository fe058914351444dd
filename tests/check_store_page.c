/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_store.h"
#include "err.h"
#include "event.h"
#include "token.h"
#include "xmalloc.h"

/*
 * Keyset pages (migration 9): newest first by creation time then id,
 * strictly after the row named, one row read past the limit to tell
 * whether more follow; and the ids and free text that came with them.
 */

START_TEST(test_page_addresses)
{
	struct store_address **list = NULL;
	char *a = mk_account(st, "alice"), *b = mk_account(st, "bob");
	char *ids[5], *other, *before = NULL;
	size_t n = 0, i;
	int more = 0;

	for (i = 0; i < 5; i++)
		ids[i] = mk_address(st, a, "h", 20000 + (int)i, 1000 + i);
	other = mk_address(st, b, "h", 20010, 2000);
	ck_assert_int_eq(store_address_page(st, a, NULL, 2, &list, &n, &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 1);
	ck_assert_str_eq(list[0]->id, ids[4]);
	ck_assert_str_eq(list[1]->id, ids[3]);
	store_address_list_free(list, n);
	ck_assert_int_eq(store_address_page(st, a, ids[3], 2, &list, &n, &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 1);
	ck_assert_str_eq(list[0]->id, ids[2]);
	store_address_list_free(list, n);
	ck_assert_int_eq(store_address_page(st, a, ids[1], 2, &list, &n, &more),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(more, 0);
	ck_assert_str_eq(list[0]->id, ids[0]);
	store_address_list_free(list, n);
	/* Every account; a deleted address is not listed. */
	ck_assert_int_eq(store_address_delete(st, ids[2], 3000), 0);
	ck_assert_int_eq(store_address_page(st, NULL, NULL, 10, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(list[0]->id, other);
	store_address_list_free(list, n);
	/* One at a time, rows of the same time come once each. */
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(store_address_page(st, NULL, before, 1, &list,
		                     &n, &more),
		    0);
		if (i < 5) {
			ck_assert_uint_eq(n, 1);
			free(before);
			before = xstrdup(list[0]->id);
		} else
			ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(more, i < 4);
		store_address_list_free(list, n);
	}
	/* Limits the store refuses. */
	ck_assert_int_eq(store_address_page(st, a, NULL, 0, &list, &n, &more),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_page(st, a, NULL, 1001, &list, &n,
	                     &more),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	for (i = 0; i < 5; i++)
		free(ids[i]);
	free(before);
	free(other);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_page_sessions_endpoints)
{
	struct store_session **ss = NULL;
	struct store_endpoint **es = NULL, *e = NULL;
	char *a = mk_account(st, "alice"), *b = mk_account(st, "bob");
	size_t n = 0;
	int more = 0;

	mk_session(st, "ss_1", a, 101, 1000);
	mk_session(st, "ss_2", a, 102, 2000);
	mk_session(st, "ss_3", b, 103, 3000);
	mk_endpoint(st, "ep_1", "ss_1", a, 30001, 1000);
	mk_endpoint(st, "ep_2", "ss_2", a, 30002, 2000);
	ck_assert_int_eq(store_session_end(st, "ss_1", 5000), 0);
	ck_assert_int_eq(store_session_page(st, NULL, NULL, 10, &ss, &n, &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ss[0]->id, "ss_3");
	ck_assert_str_eq(ss[1]->id, "ss_2");
	store_session_list_free(ss, n);
	ck_assert_int_eq(store_session_page(st, a, NULL, 10, &ss, &n, &more),
	    0);
	ck_assert_uint_eq(n, 1);
	store_session_list_free(ss, n);
	ck_assert_int_eq(store_endpoint_page(st, a, NULL, 10, &es, &n, &more),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(es[0]->id, "ep_2");
	store_endpoint_list_free(es, n);
	/* An ended endpoint is still there by id. */
	ck_assert_int_eq(store_endpoint_get(st, "ep_1", &e), 0);
	ck_assert_int_ne(e->ended_ms, 0);
	store_endpoint_free(e);
	ck_assert_int_eq(store_endpoint_get(st, "ep_x", &e),
	    PORTHOLE_ERR_NOT_FOUND);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_page_keys_tokens)
{
	struct store_key **ks = NULL, *k = NULL;
	struct store_token **ts = NULL, *t = NULL;
	struct store_apikey **as = NULL, *ak = NULL;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN],
	    h3[TOKEN_HASH_LEN];
	char *a = mk_account(st, "alice");
	size_t n = 0;
	int more = 0;

	ck_assert_int_eq(store_key_add(st, a, "ssh-ed25519", BLOB, FP1, "c1"),
	    0);
	ck_assert_int_eq(store_key_add(st, a, "ssh-ed25519", BLOB, FP2, "c2"),
	    0);
	ck_assert_int_eq(store_key_get(st, FP1, &k), 0);
	ck_assert_int_eq(strncmp(k->id, "sk_", 3), 0);
	ck_assert_str_eq(k->description, "");
	ck_assert_int_eq(store_key_set_text(st, k->id, "laptop", "m"), 0);
	store_key_free(k);
	ck_assert_int_eq(store_key_get(st, FP1, &k), 0);
	ck_assert_str_eq(k->description, "laptop");
	ck_assert_str_eq(k->metadata, "m");
	ck_assert_int_eq(store_key_page(st, a, NULL, 1, &ks, &n, &more), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(more, 1);
	store_key_list_free(ks, n);
	/* By id as by fingerprint. */
	ck_assert_int_eq(store_key_page(st, NULL, k->id, 10, &ks, &n, &more),
	    0);
	ck_assert_int_eq(more, 0);
	store_key_list_free(ks, n);
	store_key_free(k);

	fill_hash(h1, 1);
	fill_hash(h2, 2);
	fill_hash(h3, 3);
	ck_assert_int_eq(store_token_add(st, "tk_1", a, h1, sizeof(h1), "one",
	                     1000),
	    0);
	ck_assert_int_eq(store_token_add(st, "tk_2", a, h2, sizeof(h2), "two",
	                     2000),
	    0);
	ck_assert_int_eq(store_token_set_text(st, "tk_1", NULL, "{}"), 0);
	ck_assert_int_eq(store_token_get(st, "tk_1", &t), 0);
	ck_assert_str_eq(t->description, "one");
	ck_assert_str_eq(t->metadata, "{}");
	store_token_free(t);
	ck_assert_int_eq(store_token_revoke(st, "tk_2", 3000, NULL, NULL), 0);
	ck_assert_int_eq(store_token_page(st, a, NULL, 10, &ts, &n, &more), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ts[0]->id, "tk_1");
	store_token_list_free(ts, n);
	/* Revoked tokens are still found by id. */
	ck_assert_int_eq(store_token_get(st, "tk_2", &t), 0);
	ck_assert_int_ne(t->revoked_ms, 0);
	store_token_free(t);

	ck_assert_int_eq(store_apikey_add(st, "ak_1", NULL, h3, sizeof(h3),
	                     NULL, 1000),
	    0);
	ck_assert_int_eq(store_apikey_add(st, "ak_2", a, h1, sizeof(h1), "x",
	                     2000),
	    0);
	ck_assert_int_eq(store_apikey_page(st, NULL, NULL, 10, &as, &n, &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(as[0]->id, "ak_2");
	store_apikey_list_free(as, n);
	ck_assert_int_eq(store_apikey_page(st, a, NULL, 10, &as, &n, &more), 0);
	ck_assert_uint_eq(n, 1);
	store_apikey_list_free(as, n);
	ck_assert_int_eq(store_apikey_get(st, "ak_1", &ak), 0);
	ck_assert_ptr_null(ak->account_id);
	store_apikey_free(ak);
	free(a);
}
END_TEST

START_TEST(test_page_events)
{
	struct event *evs[5];
	struct store_event **list = NULL, *e = NULL;
	char *before = NULL;
	size_t n = 0;
	int more = 0;

	evs[0] = mk_event(EVENT_ADDRESS_CREATED, "ac_a", 1000);
	evs[1] = mk_event(EVENT_ADDRESS_CREATED, "ac_b", 2000);
	evs[2] = mk_event(EVENT_ADDRESS_UPDATED, "ac_a", 3000);
	evs[3] = mk_event(EVENT_ADDRESS_DELETED, "ac_a", 4000);
	evs[4] = mk_event(EVENT_ADDRESS_CREATED, NULL, 5000);
	record_events(st, evs, 5);
	ck_assert_int_eq(store_event_page(st, NULL, NULL, 0, NULL, 2, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 1);
	ck_assert_str_eq(list[0]->id, evs[4]->id);
	before = xstrdup(list[1]->id);
	store_event_list_free(list, n);
	ck_assert_int_eq(store_event_page(st, NULL, NULL, 0, before, 10, &list,
	                     &n, &more),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(more, 0);
	store_event_list_free(list, n);
	ck_assert_int_eq(store_event_page(st, "ac_a", NULL, 0, NULL, 10, &list,
	                     &n, &more),
	    0);
	ck_assert_uint_eq(n, 3);
	store_event_list_free(list, n);
	ck_assert_int_eq(store_event_page(st, "ac_a", EVENT_ADDRESS_CREATED, 0,
	                     NULL, 10, &list, &n, &more),
	    0);
	ck_assert_uint_eq(n, 1);
	store_event_list_free(list, n);
	ck_assert_int_eq(store_event_page(st, NULL, NULL, 3000, NULL, 10, &list,
	                     &n, &more),
	    0);
	ck_assert_uint_eq(n, 3);
	store_event_list_free(list, n);
	ck_assert_int_eq(store_event_get(st, evs[2]->id, &e), 0);
	ck_assert_str_eq(e->type, EVENT_ADDRESS_UPDATED);
	store_event_free(e);
	free(before);
	free_events(evs, 5);
}
END_TEST

START_TEST(test_page_rules)
{
	struct store_ip_policy *p = NULL;
	struct store_ip_rule *x = NULL, **list = NULL;
	char *pid = mk_policy(st, "office"), *rid = NULL;
	size_t n = 0;
	int more = 0;

	ck_assert_int_eq(store_ip_rule_add(st, pid, 1, "10.0.0.0/8", "lan",
	                     NULL, 1000, &rid),
	    0);
	ck_assert_int_eq(strncmp(rid, "ipr_", 4), 0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, pid, 0, "192.0.2.0/24",
	                     2000),
	    0);
	ck_assert_int_eq(store_ip_rule_add(st, pid, 1, "10.0.0.0/8", NULL, NULL,
	                     3000, NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_ip_rule_get(st, rid, &x), 0);
	ck_assert_str_eq(x->policy_name, "office");
	ck_assert_str_eq(x->description, "lan");
	ck_assert_int_eq(x->allow, 1);
	store_ip_rule_free(x);
	ck_assert_int_eq(store_ip_rule_set_text(st, rid, NULL, "m"), 0);
	ck_assert_int_eq(store_ip_rule_find(st, pid, 1, "10.0.0.0/8", &x), 0);
	ck_assert_str_eq(x->id, rid);
	ck_assert_str_eq(x->metadata, "m");
	store_ip_rule_free(x);
	ck_assert_int_eq(store_ip_rule_find(st, pid, 0, "10.0.0.0/8", &x),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ip_rule_page(st, pid, NULL, 10, &list, &n,
	                     &more),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[1]->id, rid);
	store_ip_rule_list_free(list, n);
	ck_assert_int_eq(store_ip_policy_set_text(st, pid, "d", "pm"), 0);
	ck_assert_int_eq(store_ip_policy_get(st, pid, &p), 0);
	ck_assert_str_eq(p->metadata, "pm");
	ck_assert_uint_eq(p->nrules, 2);
	ck_assert_str_eq(p->rules[0]->id, rid);
	store_ip_policy_free(p);
	free(rid);
	free(pid);
}
END_TEST

void
store_tcases_page(Suite *s)
{
	TCase *tc;

	tc = tcase_create("page");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_page_addresses);
	tcase_add_test(tc, test_page_sessions_endpoints);
	tcase_add_test(tc, test_page_keys_tokens);
	tcase_add_test(tc, test_page_events);
	tcase_add_test(tc, test_page_rules);
	suite_add_tcase(s, tc);
}
