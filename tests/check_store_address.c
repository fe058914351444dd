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

/* check_store: reserved addresses, IP policies and edges. */

START_TEST(test_address_add_get)
{
	struct store_address *a = (struct store_address *)&a, *b = NULL;
	char *id;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_address_add(st, id, "tunnel.example.com", 42000,
	                     "database", NULL, 1000, &a),
	    0);
	ck_assert(id_is_valid(a->id, "ra"));
	ck_assert_str_eq(a->account_id, id);
	ck_assert_str_eq(a->account_name, "alice");
	ck_assert_str_eq(a->host, "tunnel.example.com");
	ck_assert_int_eq(a->port, 42000);
	ck_assert_str_eq(a->description, "database");
	ck_assert_str_eq(a->metadata, "");
	ck_assert_int_eq(a->created_ms, 1000);
	ck_assert_int_eq(a->deleted_ms, 0);
	ck_assert_ptr_null(a->endpoint_id);

	/* By id, by host:port (any case of the host), by [v6]:port. */
	ck_assert_int_eq(store_address_get(st, a->id, &b), 0);
	ck_assert_str_eq(b->id, a->id);
	ck_assert_str_eq(b->description, "database");
	store_address_free(b);
	ck_assert_int_eq(store_address_get(st, "tunnel.example.com:42000", &b),
	    0);
	ck_assert_str_eq(b->id, a->id);
	store_address_free(b);
	ck_assert_int_eq(store_address_get(st, "Tunnel.EXAMPLE.com:42000", &b),
	    0);
	ck_assert_str_eq(b->id, a->id);
	store_address_free(b);
	store_address_free(a);
	ck_assert_int_eq(store_address_add(st, id, "::1", 42001, NULL, "m",
	                     1001, &a),
	    0);
	ck_assert_str_eq(a->metadata, "m");
	ck_assert_int_eq(store_address_get(st, "[::1]:42001", &b), 0);
	ck_assert_str_eq(b->id, a->id);
	ck_assert_str_eq(b->host, "::1");
	store_address_free(b);
	store_address_free(a);

	/* Not there, or not an address at all. */
	b = (struct store_address *)&b;
	ck_assert_int_eq(store_address_get(st, "other.example.com:42000", &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(store_address_get(st, "tunnel.example.com:42001", &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_get(st, "[::1]:42000", &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_get(st, "ra_000000000000000000000000",
	                     &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_get(st, "tunnel.example.com", &b),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_get(st, "::1:42001", &b),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(store_address_get(st, "tunnel.example.com:", &b),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(store_address_get(st, "tunnel.example.com:65536", &b),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(store_address_get(st, ":42000", &b),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(store_address_get(st, NULL, &b),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_get(st, "ra_x", NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* The output is optional when adding. */
	ck_assert_int_eq(store_address_add(st, id, "tunnel.example.com", 42002,
	                     NULL, NULL, 1002, NULL),
	    0);
	free(id);
}

END_TEST

START_TEST(test_address_add_errors)
{
	struct store_address *a = (struct store_address *)&a;
	char *id, *ra;
	int used = -1;

	id = mk_account(st, "alice");
	ra = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	/* One port space across hosts. */
	ck_assert_int_eq(store_address_add(st, id, "tunnel.example.com", 42000,
	                     NULL, NULL, 1000, &a),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(store_address_add(st, id, "other.example.com", 42000,
	                     NULL, NULL, 1000, &a),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_address_add(st, "ac_000000000000000000000000",
	                     "tunnel.example.com", 42001, NULL, NULL, 1000, &a),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(a);
	/* Nothing of a failed add is left. */
	ck_assert_int_eq(store_address_port_used(st, 42001, &used), 0);
	ck_assert_int_eq(used, 0);
	ck_assert_int_eq(store_address_add(st, id, "tunnel.example.com", 0,
	                     NULL, NULL, 1000, &a),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_add(st, id, "tunnel.example.com", 65536,
	                     NULL, NULL, 1000, &a),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_add(st, id, "", 42001, NULL, NULL, 1000,
	                     &a),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_add(st, id, NULL, 42001, NULL, NULL,
	                     1000, &a),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_add(st, NULL, "", 42001, NULL, NULL,
	                     1000, &a),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(a);
	/* The store is usable after the failures. */
	ck_assert_int_eq(store_address_add(st, id, "tunnel.example.com", 42001,
	                     NULL, NULL, 1000, NULL),
	    0);
	free(id);
	free(ra);
}

END_TEST

START_TEST(test_address_find)
{
	struct store_address *a = (struct store_address *)&a;
	char *id, *ra;

	id = mk_account(st, "alice");
	ra = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	ck_assert_int_eq(store_address_find(st, "tunnel.example.com", 42000,
	                     &a),
	    0);
	ck_assert_str_eq(a->id, ra);
	ck_assert_str_eq(a->account_name, "alice");
	store_address_free(a);
	a = (struct store_address *)&a;
	ck_assert_int_eq(store_address_find(st, "other.example.com", 42000, &a),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(store_address_find(st, "tunnel.example.com", 42001,
	                     &a),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_find(st, NULL, 42000, &a),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_find(st, "tunnel.example.com", 42000,
	                     NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_delete(st, ra, 2000), 0);
	ck_assert_int_eq(store_address_find(st, "tunnel.example.com", 42000,
	                     &a),
	    PORTHOLE_ERR_NOT_FOUND);
	free(id);
	free(ra);
}

END_TEST

START_TEST(test_address_port_used)
{
	char *id, *ra;
	int used = -1;

	id = mk_account(st, "alice");
	ck_assert_int_eq(store_address_port_used(st, 42000, &used), 0);
	ck_assert_int_eq(used, 0);
	ra = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	ck_assert_int_eq(store_address_port_used(st, 42000, &used), 0);
	ck_assert_int_eq(used, 1);
	ck_assert_int_eq(store_address_port_used(st, 42001, &used), 0);
	ck_assert_int_eq(used, 0);
	/* Deleted is still used: the port is never handed out again. */
	ck_assert_int_eq(store_address_delete(st, ra, 2000), 0);
	ck_assert_int_eq(store_address_port_used(st, 42000, &used), 0);
	ck_assert_int_eq(used, 1);
	ck_assert_int_eq(store_address_add(st, id, "tunnel.example.com", 42000,
	                     NULL, NULL, 3000, NULL),
	    PORTHOLE_ERR_EXISTS);
	/* A random endpoint on a port does not make it reserved. */
	mk_session(st, "ss_1", id, 100, 1000);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1001);
	ck_assert_int_eq(store_address_port_used(st, 41234, &used), 0);
	ck_assert_int_eq(used, 0);
	ck_assert_int_eq(store_address_port_used(st, 41234, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
	free(ra);
}

END_TEST

START_TEST(test_address_list)
{
	struct store_address **list = (struct store_address **)&list;
	size_t n = 99;
	char *alice, *bob, *ra1, *ra2, *ra3, *rb;

	ck_assert_int_eq(store_address_list(st, NULL, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	bob = mk_account(st, "bob");
	alice = mk_account(st, "alice");
	ck_assert_int_eq(store_account_add(st, "carol", NULL), 0);
	rb = mk_address(st, bob, "tunnel.example.com", 42010, 500);
	ra1 = mk_address(st, alice, "tunnel.example.com", 42002, 2000);
	ra2 = mk_address(st, alice, "other.example.com", 42001, 1000);
	ra3 = mk_address(st, alice, "tunnel.example.com", 42003, 3000);
	ck_assert_int_eq(store_address_delete(st, ra3, 3500), 0);
	mk_session(st, "ss_1", alice, 100, 4000);
	mk_endpoint_at(st, "ep_1", "ss_1", alice, 42002, 4001, ra1);

	/* All, by account name then age; deleted ones left out. */
	ck_assert_int_eq(store_address_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->id, ra2);
	ck_assert_str_eq(list[0]->host, "other.example.com");
	ck_assert_ptr_null(list[0]->endpoint_id);
	ck_assert_str_eq(list[1]->id, ra1);
	ck_assert_str_eq(list[1]->endpoint_id, "ep_1");
	ck_assert_str_eq(list[1]->account_name, "alice");
	ck_assert_str_eq(list[2]->id, rb);
	ck_assert_str_eq(list[2]->account_name, "bob");
	store_address_list_free(list, n);

	/* One account, by name or id. */
	ck_assert_int_eq(store_address_list(st, "alice", &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, ra2);
	ck_assert_str_eq(list[1]->id, ra1);
	store_address_list_free(list, n);
	ck_assert_int_eq(store_address_list(st, bob, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, rb);
	store_address_list_free(list, n);
	/* The endpoint is shown while it is live. */
	ck_assert_int_eq(store_endpoint_end(st, "ep_1", 5000), 0);
	ck_assert_int_eq(store_address_list(st, "alice", &list, &n), 0);
	ck_assert_ptr_null(list[1]->endpoint_id);
	store_address_list_free(list, n);

	ck_assert_int_eq(store_address_list(st, "carol", &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	list = (struct store_address **)&list;
	n = 99;
	ck_assert_int_eq(store_address_list(st, "dave", &list, &n),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	store_address_list_free(NULL, 0);
	store_address_free(NULL);
	free(alice);
	free(bob);
	free(ra1);
	free(ra2);
	free(ra3);
	free(rb);
}

END_TEST

START_TEST(test_address_update)
{
	struct store_address *a = NULL;
	char *id, *ra;

	id = mk_account(st, "alice");
	ra = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	ck_assert_int_eq(store_address_update(st, ra, "db", NULL), 0);
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_str_eq(a->description, "db");
	ck_assert_str_eq(a->metadata, "");
	store_address_free(a);
	ck_assert_int_eq(store_address_update(st, ra, NULL, "{\"x\":1}"), 0);
	ck_assert_int_eq(store_address_update(st, ra, NULL, NULL), 0);
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_str_eq(a->description, "db");
	ck_assert_str_eq(a->metadata, "{\"x\":1}");
	store_address_free(a);
	ck_assert_int_eq(store_address_update(st, ra, "", ""), 0);
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_str_eq(a->description, "");
	ck_assert_str_eq(a->metadata, "");
	/* Host and port never change. */
	ck_assert_str_eq(a->host, "tunnel.example.com");
	ck_assert_int_eq(a->port, 42000);
	store_address_free(a);

	ck_assert_int_eq(store_address_update(st, "ra_nope", "x", NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_update(st, NULL, "x", NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_delete(st, ra, 2000), 0);
	ck_assert_int_eq(store_address_update(st, ra, "x", NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	free(id);
	free(ra);
}

END_TEST

START_TEST(test_address_delete)
{
	struct store_address *a = (struct store_address *)&a;
	struct store_account *acct = NULL;
	char *id, *ra;

	id = mk_account(st, "alice");
	ra = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	ck_assert_int_eq(store_address_delete(st, ra, 2000), 0);
	ck_assert_int_eq(store_address_get(st, ra, &a), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(store_account_get(st, id, &acct), 0);
	ck_assert_int_eq(acct->naddresses, 0);
	store_account_free(acct);
	ck_assert_int_eq(store_address_delete(st, ra, 3000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_delete(st, "ra_nope", 3000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_delete(st, NULL, 3000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
	free(ra);
}

END_TEST

/* PROXY protocol version of reserved addresses. */
START_TEST(test_address_proxy_proto)
{
	struct store_address *a = NULL, **list = NULL;
	size_t n = 0;
	char *id, *ra, *rb;

	id = mk_account(st, "alice");
	ra = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	rb = mk_address(st, id, "tunnel.example.com", 42001, 1001);
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_int_eq(a->proxy_proto, 0);
	store_address_free(a);
	ck_assert_int_eq(store_address_set_proxy_proto(st, ra, 2), 0);
	ck_assert_int_eq(store_address_set_proxy_proto(st, rb, 1), 0);
	ck_assert_int_eq(store_address_get(st, "tunnel.example.com:42000", &a),
	    0);
	ck_assert_int_eq(a->proxy_proto, 2);
	store_address_free(a);
	ck_assert_int_eq(store_address_find(st, "tunnel.example.com", 42001,
	                     &a),
	    0);
	ck_assert_int_eq(a->proxy_proto, 1);
	store_address_free(a);
	ck_assert_int_eq(store_address_list(st, "alice", &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(list[0]->proxy_proto, 2);
	ck_assert_int_eq(list[1]->proxy_proto, 1);
	store_address_list_free(list, n);
	/* Other fields are left alone, and back to none. */
	ck_assert_int_eq(store_address_update(st, ra, "db", NULL), 0);
	ck_assert_int_eq(store_address_set_proxy_proto(st, ra, 0), 0);
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_int_eq(a->proxy_proto, 0);
	ck_assert_str_eq(a->description, "db");
	store_address_free(a);

	ck_assert_int_eq(store_address_set_proxy_proto(st, ra, 3),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_set_proxy_proto(st, ra, -1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_set_proxy_proto(st, NULL, 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_set_proxy_proto(st, "ra_nope", 1),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_delete(st, rb, 2000), 0);
	ck_assert_int_eq(store_address_set_proxy_proto(st, rb, 2),
	    PORTHOLE_ERR_NOT_FOUND);
	free(id);
	free(ra);
	free(rb);
}

END_TEST

/* IP policies. */

START_TEST(test_ip_policy_add_get)
{
	struct store_ip_policy *p = (struct store_ip_policy *)&p, *q = NULL;
	char *other;

	ck_assert_int_eq(store_ip_policy_add(st, "office", "HQ and VPN", 1234,
	                     &p),
	    0);
	ck_assert(id_is_valid(p->id, "ip"));
	ck_assert_str_eq(p->name, "office");
	ck_assert_str_eq(p->description, "HQ and VPN");
	ck_assert_int_eq(p->created_ms, 1234);
	ck_assert_uint_eq(p->nallow, 0);
	ck_assert_uint_eq(p->ndeny, 0);
	ck_assert_int_eq(p->naccounts, 0);
	ck_assert_int_eq(p->naddresses, 0);

	/* By name and by id, the same as added. */
	ck_assert_int_eq(store_ip_policy_get(st, "office", &q), 0);
	ck_assert_str_eq(q->id, p->id);
	ck_assert_str_eq(q->description, "HQ and VPN");
	ck_assert_int_eq(q->created_ms, 1234);
	ck_assert_ptr_null(q->allow);
	ck_assert_uint_eq(q->nallow, 0);
	ck_assert_ptr_null(q->deny);
	ck_assert_uint_eq(q->ndeny, 0);
	store_ip_policy_free(q);
	ck_assert_int_eq(store_ip_policy_get(st, p->id, &q), 0);
	ck_assert_str_eq(q->name, "office");
	store_ip_policy_free(q);

	/* A taken name, a bad name; nothing is left of either. */
	q = (struct store_ip_policy *)&q;
	ck_assert_int_eq(store_ip_policy_add(st, "office", NULL, 2000, &q),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(store_ip_policy_add(st, "-office", NULL, 2000, &q),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_add(st, "my office", NULL, 2000, &q),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_add(st, NULL, NULL, 2000, &q),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(q);
	/* NULL description is "", and the output is optional. */
	ck_assert_int_eq(store_ip_policy_add(st, "vpn", NULL, 2000, NULL), 0);
	ck_assert_int_eq(store_ip_policy_get(st, "vpn", &q), 0);
	ck_assert_str_eq(q->description, "");
	store_ip_policy_free(q);

	/* A name that looks like another policy's id: the id wins. */
	other = strdup(p->id);
	ck_assert_int_eq(store_ip_policy_add(st, other, NULL, 3000, NULL), 0);
	ck_assert_int_eq(store_ip_policy_get(st, other, &q), 0);
	ck_assert_str_eq(q->name, "office");
	store_ip_policy_free(q);

	q = (struct store_ip_policy *)&q;
	ck_assert_int_eq(store_ip_policy_get(st, "nope", &q),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(store_ip_policy_get(st, NULL, &q),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_get(st, "office", NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* The store is usable after the failures (no transaction left). */
	ck_assert_int_eq(store_ip_policy_add(st, "later", NULL, 4000, NULL), 0);
	store_ip_policy_free(p);
	store_ip_policy_free(NULL);
	free(other);
}

END_TEST

START_TEST(test_ip_policy_rules)
{
	struct store_ip_policy *p = NULL;
	char *id, *other;

	id = mk_policy(st, "office");
	other = mk_policy(st, "other");
	/* Insertion order, not text order; allow and deny apart. */
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "192.0.2.0/24",
	                     1000),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 0, "10.1.0.0/16",
	                     1001),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "10.0.0.0/8",
	                     1002),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "2001:db8::/32",
	                     1003),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 0, "::/0", 1004), 0);
	/* The same CIDR as the other kind of rule, or in another policy. */
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 0, "192.0.2.0/24",
	                     1005),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, other, 1, "10.0.0.0/8",
	                     1006),
	    0);
	ck_assert_int_eq(store_ip_policy_get(st, id, &p), 0);
	ck_assert_uint_eq(p->nallow, 3);
	ck_assert_str_eq(p->allow[0], "192.0.2.0/24");
	ck_assert_str_eq(p->allow[1], "10.0.0.0/8");
	ck_assert_str_eq(p->allow[2], "2001:db8::/32");
	ck_assert_uint_eq(p->ndeny, 3);
	ck_assert_str_eq(p->deny[0], "10.1.0.0/16");
	ck_assert_str_eq(p->deny[1], "::/0");
	ck_assert_str_eq(p->deny[2], "192.0.2.0/24");
	store_ip_policy_free(p);

	/* Duplicates, unknown policies, text that is not canonical. */
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "10.0.0.0/8",
	                     2000),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 7, "10.0.0.0/8",
	                     2000),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_ip_policy_rule_add(st,
	                     "ip_000000000000000000000000", 1, "10.0.0.0/8",
	                     2000),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "10.0.0.1/8",
	                     2000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "172.16.0.1",
	                     2000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "2001:DB8::/32",
	                     2000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "", 2000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, NULL, 2000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_rule_add(st, NULL, 1, "10.0.0.0/8",
	                     2000),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	/* Delete: by kind, so the deny 192.0.2.0/24 stays. */
	ck_assert_int_eq(store_ip_policy_rule_delete(st, id, 1, "192.0.2.0/24"),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_delete(st, id, 1, "192.0.2.0/24"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ip_policy_rule_delete(st, id, 0, "10.0.0.0/8"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ip_policy_rule_delete(st, "ip_nope", 0, "::/0"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ip_policy_rule_delete(st, id, 0, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_rule_delete(st, NULL, 0, "::/0"),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_ip_policy_get(st, "office", &p), 0);
	ck_assert_uint_eq(p->nallow, 2);
	ck_assert_str_eq(p->allow[0], "10.0.0.0/8");
	ck_assert_str_eq(p->allow[1], "2001:db8::/32");
	ck_assert_uint_eq(p->ndeny, 3);
	ck_assert_str_eq(p->deny[2], "192.0.2.0/24");
	store_ip_policy_free(p);
	/* Added again, it goes last. */
	ck_assert_int_eq(store_ip_policy_rule_add(st, id, 1, "192.0.2.0/24",
	                     3000),
	    0);
	ck_assert_int_eq(store_ip_policy_get(st, "office", &p), 0);
	ck_assert_uint_eq(p->nallow, 3);
	ck_assert_str_eq(p->allow[2], "192.0.2.0/24");
	store_ip_policy_free(p);
	/* The other policy kept its own rule. */
	ck_assert_int_eq(store_ip_policy_get(st, "other", &p), 0);
	ck_assert_uint_eq(p->nallow, 1);
	ck_assert_uint_eq(p->ndeny, 0);
	store_ip_policy_free(p);
	free(id);
	free(other);
}

END_TEST

START_TEST(test_ip_policy_list)
{
	struct store_ip_policy **list = (struct store_ip_policy **)&list;
	size_t n = 99;
	char *office, *vpn, *acct;

	ck_assert_int_eq(store_ip_policy_list(st, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	vpn = mk_policy(st, "vpn");
	office = mk_policy(st, "office");
	ck_assert_int_eq(store_ip_policy_add(st, "empty", "nothing", 1000,
	                     NULL),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, vpn, 1, "100.64.0.0/10",
	                     1000),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, office, 0,
	                     "198.51.100.0/24", 1000),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, office, 1, "192.0.2.0/24",
	                     1000),
	    0);
	acct = mk_account(st, "alice");
	ck_assert_int_eq(store_account_set_ip_policy(st, acct, vpn), 0);

	/* By name, each with its rules and attachments. */
	ck_assert_int_eq(store_ip_policy_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->name, "empty");
	ck_assert_str_eq(list[0]->description, "nothing");
	ck_assert_uint_eq(list[0]->nallow + list[0]->ndeny, 0);
	ck_assert_str_eq(list[1]->name, "office");
	ck_assert_uint_eq(list[1]->nallow, 1);
	ck_assert_str_eq(list[1]->allow[0], "192.0.2.0/24");
	ck_assert_uint_eq(list[1]->ndeny, 1);
	ck_assert_str_eq(list[1]->deny[0], "198.51.100.0/24");
	ck_assert_int_eq(list[1]->naccounts, 0);
	ck_assert_str_eq(list[2]->name, "vpn");
	ck_assert_str_eq(list[2]->id, vpn);
	ck_assert_uint_eq(list[2]->nallow, 1);
	ck_assert_str_eq(list[2]->allow[0], "100.64.0.0/10");
	ck_assert_uint_eq(list[2]->ndeny, 0);
	ck_assert_int_eq(list[2]->naccounts, 1);
	store_ip_policy_list_free(list, n);

	/* Bad output arguments. */
	list = (struct store_ip_policy **)&list;
	ck_assert_int_eq(store_ip_policy_list(st, &list, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(list);
	n = 99;
	ck_assert_int_eq(store_ip_policy_list(st, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(n, 0);
	store_ip_policy_list_free(NULL, 0);
	free(vpn);
	free(office);
	free(acct);
}

END_TEST

START_TEST(test_ip_policy_attach_account)
{
	struct store_account *a = NULL, **list = NULL;
	struct store_ip_policy *p = NULL;
	size_t n = 0;
	char *alice, *bob, *office, *vpn;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	office = mk_policy(st, "office");
	vpn = mk_policy(st, "vpn");
	ck_assert_int_eq(store_account_get(st, alice, &a), 0);
	ck_assert_ptr_null(a->ip_policy_id);
	ck_assert_ptr_null(a->ip_policy_name);
	store_account_free(a);

	ck_assert_int_eq(store_account_set_ip_policy(st, alice, office), 0);
	ck_assert_int_eq(store_account_set_ip_policy(st, bob, office), 0);
	ck_assert_int_eq(store_account_get(st, "alice", &a), 0);
	ck_assert_str_eq(a->ip_policy_id, office);
	ck_assert_str_eq(a->ip_policy_name, "office");
	store_account_free(a);
	ck_assert_int_eq(store_ip_policy_get(st, office, &p), 0);
	ck_assert_int_eq(p->naccounts, 2);
	ck_assert_int_eq(p->naddresses, 0);
	store_ip_policy_free(p);

	/* Replace one, detach the other; list shows both. */
	ck_assert_int_eq(store_account_set_ip_policy(st, alice, vpn), 0);
	ck_assert_int_eq(store_account_set_ip_policy(st, bob, NULL), 0);
	ck_assert_int_eq(store_account_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->ip_policy_id, vpn);
	ck_assert_str_eq(list[0]->ip_policy_name, "vpn");
	ck_assert_ptr_null(list[1]->ip_policy_id);
	ck_assert_ptr_null(list[1]->ip_policy_name);
	store_account_list_free(list, n);
	ck_assert_int_eq(store_ip_policy_get(st, office, &p), 0);
	ck_assert_int_eq(p->naccounts, 0);
	store_ip_policy_free(p);

	ck_assert_int_eq(store_account_set_ip_policy(st, alice,
	                     "ip_000000000000000000000000"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_account_set_ip_policy(st, "ac_nope", vpn),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_account_set_ip_policy(st, NULL, vpn),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* A failed attach leaves the old one. */
	ck_assert_int_eq(store_account_get(st, alice, &a), 0);
	ck_assert_str_eq(a->ip_policy_id, vpn);
	store_account_free(a);
	free(alice);
	free(bob);
	free(office);
	free(vpn);
}

END_TEST

START_TEST(test_ip_policy_attach_address)
{
	struct store_address *a = NULL, **list = NULL;
	struct store_ip_policy *p = NULL;
	size_t n = 0;
	char *id, *ra1, *ra2, *ra3, *office;

	id = mk_account(st, "alice");
	ra1 = mk_address(st, id, "tunnel.example.com", 42000, 1000);
	ra2 = mk_address(st, id, "tunnel.example.com", 42001, 1001);
	ra3 = mk_address(st, id, "tunnel.example.com", 42002, 1002);
	office = mk_policy(st, "office");
	ck_assert_int_eq(store_address_set_ip_policy(st, ra1, office), 0);
	ck_assert_int_eq(store_address_set_ip_policy(st, ra2, office), 0);
	ck_assert_int_eq(store_address_set_ip_policy(st, ra3, office), 0);
	ck_assert_int_eq(store_address_get(st, ra1, &a), 0);
	ck_assert_str_eq(a->ip_policy_id, office);
	ck_assert_str_eq(a->ip_policy_name, "office");
	store_address_free(a);
	ck_assert_int_eq(store_address_find(st, "tunnel.example.com", 42001,
	                     &a),
	    0);
	ck_assert_str_eq(a->ip_policy_name, "office");
	store_address_free(a);
	ck_assert_int_eq(store_ip_policy_get(st, "office", &p), 0);
	ck_assert_int_eq(p->naddresses, 3);
	store_ip_policy_free(p);

	/* Detached, or deleted: no longer counted. */
	ck_assert_int_eq(store_address_set_ip_policy(st, ra2, NULL), 0);
	ck_assert_int_eq(store_address_delete(st, ra3, 2000), 0);
	ck_assert_int_eq(store_ip_policy_get(st, "office", &p), 0);
	ck_assert_int_eq(p->naddresses, 1);
	store_ip_policy_free(p);
	ck_assert_int_eq(store_address_list(st, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->ip_policy_name, "office");
	ck_assert_ptr_null(list[1]->ip_policy_id);
	ck_assert_ptr_null(list[1]->ip_policy_name);
	store_address_list_free(list, n);

	ck_assert_int_eq(store_address_set_ip_policy(st, ra3, office),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_set_ip_policy(st, ra3, NULL),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_set_ip_policy(st, ra1, "ip_nope"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_set_ip_policy(st, "ra_nope", office),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_set_ip_policy(st, NULL, office),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	free(id);
	free(ra1);
	free(ra2);
	free(ra3);
	free(office);
}

END_TEST

START_TEST(test_ip_policy_delete)
{
	struct store_ip_policy *p = (struct store_ip_policy *)&p;
	char *alice, *bob, *ra, *office, *spare;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ra = mk_address(st, bob, "tunnel.example.com", 42000, 1000);
	office = mk_policy(st, "office");
	spare = mk_policy(st, "spare");
	ck_assert_int_eq(store_ip_policy_rule_add(st, office, 1, "10.0.0.0/8",
	                     1000),
	    0);
	ck_assert_int_eq(store_account_set_ip_policy(st, alice, office), 0);
	ck_assert_int_eq(store_address_set_ip_policy(st, ra, office), 0);

	/* Attached to an account and an address: refused, kept whole. */
	ck_assert_int_eq(store_ip_policy_delete(st, office),
	    PORTHOLE_ERR_DENIED);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "attached"));
	ck_assert_int_eq(store_account_set_ip_policy(st, alice, NULL), 0);
	ck_assert_int_eq(store_ip_policy_delete(st, office),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(store_ip_policy_get(st, office, &p), 0);
	ck_assert_uint_eq(p->nallow, 1);
	store_ip_policy_free(p);
	/* The address's account deleted: it is a tombstone, so no hold. */
	ck_assert_int_eq(store_account_delete(st, bob, 2000, NULL, NULL), 0);
	ck_assert_int_eq(store_ip_policy_delete(st, office), 0);
	p = (struct store_ip_policy *)&p;
	ck_assert_int_eq(store_ip_policy_get(st, office, &p),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(p);
	/* Its rules went with it: a new policy of that name has none. */
	ck_assert_int_eq(store_ip_policy_add(st, "office", NULL, 3000, &p), 0);
	ck_assert_uint_eq(p->nallow, 0);
	store_ip_policy_free(p);

	ck_assert_int_eq(store_ip_policy_delete(st, office),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ip_policy_delete(st, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* An unattached policy goes at once; no transaction is left. */
	ck_assert_int_eq(store_ip_policy_delete(st, spare), 0);
	ck_assert_int_eq(store_ip_policy_add(st, "spare", NULL, 4000, NULL), 0);
	free(alice);
	free(bob);
	free(ra);
	free(office);
	free(spare);
}

END_TEST

/* Edges. */

START_TEST(test_edge_add_get)
{
	struct store_edge *e = (struct store_edge *)&e, *f = NULL;
	char *pol;

	ck_assert_int_eq(store_edge_add(st, "web front", 1234, &e), 0);
	ck_assert(id_is_valid(e->id, "ed"));
	ck_assert_str_eq(e->description, "web front");
	ck_assert_ptr_null(e->ip_policy_id);
	ck_assert_ptr_null(e->ip_policy_name);
	ck_assert_int_eq(e->proxy_proto, 0);
	ck_assert_int_eq(e->created_ms, 1234);
	ck_assert_uint_eq(e->naddresses, 0);
	ck_assert_uint_eq(e->nbackends, 0);
	ck_assert_uint_eq(e->nmembers, 0);

	ck_assert_int_eq(store_edge_get(st, e->id, &f), 0);
	ck_assert_str_eq(f->id, e->id);
	ck_assert_str_eq(f->description, "web front");
	ck_assert_int_eq(f->created_ms, 1234);
	ck_assert_ptr_null(f->addresses);
	ck_assert_uint_eq(f->naddresses, 0);
	ck_assert_ptr_null(f->backends);
	ck_assert_ptr_null(f->members);
	store_edge_free(f);

	/* Description, policy, PROXY version. */
	pol = mk_policy(st, "office");
	ck_assert_int_eq(store_edge_set_description(st, e->id, "api"), 0);
	ck_assert_int_eq(store_edge_set_ip_policy(st, e->id, pol), 0);
	ck_assert_int_eq(store_edge_set_proxy_proto(st, e->id, 2), 0);
	ck_assert_int_eq(store_edge_get(st, e->id, &f), 0);
	ck_assert_str_eq(f->description, "api");
	ck_assert_str_eq(f->ip_policy_id, pol);
	ck_assert_str_eq(f->ip_policy_name, "office");
	ck_assert_int_eq(f->proxy_proto, 2);
	store_edge_free(f);
	ck_assert_int_eq(store_edge_set_description(st, e->id, ""), 0);
	ck_assert_int_eq(store_edge_set_ip_policy(st, e->id, NULL), 0);
	ck_assert_int_eq(store_edge_set_proxy_proto(st, e->id, 0), 0);
	ck_assert_int_eq(store_edge_get(st, e->id, &f), 0);
	ck_assert_str_eq(f->description, "");
	ck_assert_ptr_null(f->ip_policy_id);
	ck_assert_ptr_null(f->ip_policy_name);
	ck_assert_int_eq(f->proxy_proto, 0);
	store_edge_free(f);

	/* Refusals. */
	ck_assert_int_eq(store_edge_set_proxy_proto(st, e->id, 3),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_set_proxy_proto(st, e->id, -1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_set_proxy_proto(st, "ed_nope", 1),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_set_ip_policy(st, e->id, "ip_nope"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_set_ip_policy(st, "ed_nope", pol),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_set_description(st, "ed_nope", "x"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_set_description(st, e->id, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_set_description(st, NULL, "x"),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	f = (struct store_edge *)&f;
	ck_assert_int_eq(store_edge_get(st, "ed_nope", &f),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(f);
	ck_assert_int_eq(store_edge_get(st, NULL, &f),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_get(st, e->id, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* NULL description is "", and the output is optional. */
	ck_assert_int_eq(store_edge_add(st, NULL, 2000, &f), 0);
	ck_assert_str_eq(f->description, "");
	store_edge_free(f);
	ck_assert_int_eq(store_edge_add(st, "x", 2000, NULL), 0);
	store_edge_free(e);
	store_edge_free(NULL);
	store_edge_list_free(NULL, 0);
	free(pol);
}

END_TEST

/*
 * An edge's own address (no account), and addresses of accounts, on
 * edges: one edge each, shown by the address functions too.
 */
START_TEST(test_edge_addresses)
{
	struct store_address *a = (struct store_address *)&a, **al = NULL;
	struct store_edge *e = NULL;
	struct store_account *acct = NULL;
	size_t n = 0;
	char *alice, *ed1, *ed2, *ru, *ra, *rdel;

	alice = mk_account(st, "alice");
	ed1 = mk_edge(st, "one");
	ed2 = mk_edge(st, "two");
	ck_assert_int_eq(store_address_add(st, NULL, "tunnel.example.com",
	                     42000, "edge", NULL, 1000, &a),
	    0);
	ck_assert(id_is_valid(a->id, "ra"));
	ck_assert_ptr_null(a->account_id);
	ck_assert_ptr_null(a->account_name);
	ck_assert_ptr_null(a->edge_id);
	ck_assert_int_eq(a->deleted_ms, 0);
	ru = strdup(a->id);
	store_address_free(a);
	ra = mk_address(st, alice, "tunnel.example.com", 42001, 1001);
	rdel = mk_address(st, alice, "tunnel.example.com", 42002, 1002);
	ck_assert_int_eq(store_address_delete(st, rdel, 1500), 0);

	ck_assert_int_eq(store_edge_address_add(st, "ed_nope", ru),
	    PORTHOLE_ERR_NOT_FOUND);
	/* Added in this order: the edge lists them so. */
	ck_assert_int_eq(store_edge_address_add(st, ed1, ru), 0);
	ck_assert_int_eq(store_edge_address_add(st, ed1, ra), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_uint_eq(e->naddresses, 2);
	ck_assert_str_eq(e->addresses[0]->id, ru);
	ck_assert_str_eq(e->addresses[0]->host, "tunnel.example.com");
	ck_assert_int_eq(e->addresses[0]->port, 42000);
	ck_assert_str_eq(e->addresses[0]->description, "edge");
	ck_assert_str_eq(e->addresses[0]->edge_id, ed1);
	ck_assert_str_eq(e->addresses[1]->id, ra);
	ck_assert_str_eq(e->addresses[1]->account_name, "alice");
	store_edge_free(e);
	/* get, find and list say which edge. */
	ck_assert_int_eq(store_address_get(st, ru, &a), 0);
	ck_assert_str_eq(a->edge_id, ed1);
	store_address_free(a);
	ck_assert_int_eq(store_address_find(st, "tunnel.example.com", 42001,
	                     &a),
	    0);
	ck_assert_str_eq(a->edge_id, ed1);
	store_address_free(a);
	ck_assert_int_eq(store_address_list(st, NULL, &al, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(al[0]->id, ru); /* no account name sorts first */
	ck_assert_str_eq(al[0]->edge_id, ed1);
	ck_assert_str_eq(al[1]->edge_id, ed1);
	store_address_list_free(al, n);
	/* Alice still has her address, and only hers. */
	ck_assert_int_eq(store_account_get(st, alice, &acct), 0);
	ck_assert_int_eq(acct->naddresses, 1);
	store_account_free(acct);

	/* One edge per address; unknown or deleted is _NOT_FOUND. */
	ck_assert_int_eq(store_edge_address_add(st, ed2, ru),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_edge_address_add(st, ed1, ru),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_edge_address_add(st, ed2, rdel),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_address_add(st, ed2, "ra_nope"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_address_add(st, NULL, ru),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_address_add(st, ed1, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	/* Off one edge, onto another; it stays reserved meanwhile. */
	ck_assert_int_eq(store_edge_address_remove(st, ed2, ru),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_address_remove(st, ed1, ru), 0);
	ck_assert_int_eq(store_edge_address_remove(st, ed1, ru),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_address_remove(st, ed1, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_address_get(st, ru, &a), 0);
	ck_assert_ptr_null(a->edge_id);
	ck_assert_int_eq(a->deleted_ms, 0);
	store_address_free(a);
	ck_assert_int_eq(store_edge_address_add(st, ed2, ru), 0);
	ck_assert_int_eq(store_address_get(st, ru, &a), 0);
	ck_assert_str_eq(a->edge_id, ed2);
	store_address_free(a);

	/* Deleting an address on an edge takes it off the edge. */
	ck_assert_int_eq(store_address_delete(st, ra, 2000), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_uint_eq(e->naddresses, 0);
	store_edge_free(e);
	ck_assert_int_eq(store_edge_address_add(st, ed1, ra),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_delete(st, ra, 2001),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_delete(st, ru, 2002), 0);
	ck_assert_int_eq(store_edge_get(st, ed2, &e), 0);
	ck_assert_uint_eq(e->naddresses, 0);
	store_edge_free(e);
	/* No transaction was left open by the refusals. */
	ck_assert_int_eq(store_address_add(st, NULL, "tunnel.example.com",
	                     42003, NULL, NULL, 3000, NULL),
	    0);
	free(alice);
	free(ed1);
	free(ed2);
	free(ru);
	free(ra);
	free(rdel);
}

END_TEST

START_TEST(test_edge_backends)
{
	struct store_edge *e = NULL;
	char *alice, *bob, *carol, *ed1, *ed2;
	int is = -1;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	carol = mk_account(st, "carol");
	ed1 = mk_edge(st, "one");
	ed2 = mk_edge(st, "two");
	ck_assert_int_eq(store_edge_backend_add(st, ed1, bob), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, alice), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed2, alice), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, alice),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, "ac_nope"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_backend_add(st, "ed_nope", carol),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	/* Full account rows, by name. */
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_uint_eq(e->nbackends, 2);
	ck_assert_str_eq(e->backends[0]->id, alice);
	ck_assert_str_eq(e->backends[0]->name, "alice");
	ck_assert_str_eq(e->backends[0]->description, "");
	ck_assert_str_eq(e->backends[1]->name, "bob");
	store_edge_free(e);

	ck_assert_int_eq(store_edge_is_backend(st, ed1, alice, &is), 0);
	ck_assert_int_eq(is, 1);
	ck_assert_int_eq(store_edge_is_backend(st, ed2, bob, &is), 0);
	ck_assert_int_eq(is, 0);
	is = -1;
	ck_assert_int_eq(store_edge_is_backend(st, "ed_nope", alice, &is), 0);
	ck_assert_int_eq(is, 0);
	ck_assert_int_eq(store_edge_is_backend(st, ed1, NULL, &is),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_is_backend(st, ed1, alice, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	ck_assert_int_eq(store_edge_backend_remove(st, ed1, bob), 0);
	ck_assert_int_eq(store_edge_backend_remove(st, ed1, bob),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_backend_remove(st, ed2, carol),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_backend_remove(st, NULL, carol),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_is_backend(st, ed1, bob, &is), 0);
	ck_assert_int_eq(is, 0);

	/* An account deleted stops being a backend; the edges stay. */
	ck_assert_int_eq(store_account_delete(st, alice, 2000, NULL, NULL), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_uint_eq(e->nbackends, 0);
	store_edge_free(e);
	ck_assert_int_eq(store_edge_get(st, ed2, &e), 0);
	ck_assert_uint_eq(e->nbackends, 0);
	store_edge_free(e);
	ck_assert_int_eq(store_edge_is_backend(st, ed2, alice, &is), 0);
	ck_assert_int_eq(is, 0);
	free(alice);
	free(bob);
	free(carol);
	free(ed1);
	free(ed2);
}

END_TEST

/*
 * Who may serve what: an edge's own address, its backends only; an
 * address on an edge, only as a member naming that edge.
 */
START_TEST(test_edge_endpoint)
{
	struct store_endpoint e, **el = NULL;
	size_t n = 0, ns = 0;
	char *alice, *bob, *carol, *ed1, *ed2, *ru, *ra, *rfree;

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	carol = mk_account(st, "carol");
	ed1 = mk_edge(st, "one");
	ed2 = mk_edge(st, "two");
	ru = mk_address(st, NULL, "tunnel.example.com", 42000, 1000);
	ra = mk_address(st, alice, "tunnel.example.com", 42001, 1000);
	rfree = mk_address(st, NULL, "tunnel.example.com", 42002, 1000);
	ck_assert_int_eq(store_edge_address_add(st, ed1, ru), 0);
	ck_assert_int_eq(store_edge_address_add(st, ed1, ra), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, bob), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed2, carol), 0);
	mk_session(st, "ss_a", alice, 100, 2000);
	mk_session(st, "ss_b", bob, 101, 2000);
	mk_session(st, "ss_c", carol, 102, 2000);

	/* A backend serves the edge's own address, as a member. */
	fill_endpoint(&e, "ep_1", "ss_b", bob, 42000, 2001);
	e.address_id = ru;
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e), 0);
	/* Not a backend of that edge (of another one): refused. */
	fill_endpoint(&e, "ep_2", "ss_c", carol, 42000, 2002);
	e.address_id = ru;
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	e.edge_id = ed2;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	/* Alice owns another address of the edge, but is no backend. */
	fill_endpoint(&e, "ep_2", "ss_a", alice, 42000, 2002);
	e.address_id = ru;
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	/* A backend must say it is a member, and of the right edge. */
	fill_endpoint(&e, "ep_2", "ss_b", bob, 42000, 2002);
	e.address_id = ru;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	e.edge_id = ed2;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	e.edge_id = (char *)"ed_nope";
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);

	/*
	 * An account's address put on an edge is the edge's: its backends
	 * serve it, its owner (no backend) no longer does.
	 */
	fill_endpoint(&e, "ep_9", "ss_a", alice, 42001, 2002);
	e.address_id = ra;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	fill_endpoint(&e, "ep_2", "ss_b", bob, 42001, 2003);
	e.address_id = ra;
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e), 0);

	/* An address of no account and no edge: nobody serves it. */
	fill_endpoint(&e, "ep_3", "ss_b", bob, 42002, 2003);
	e.address_id = rfree;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	/* An edge without an address is not an endpoint at all. */
	fill_endpoint(&e, "ep_3", "ss_b", bob, 41234, 2003);
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* A random port stays as it was. */
	e.edge_id = NULL;
	ck_assert_int_eq(store_endpoint_add(st, &e), 0);

	ck_assert_int_eq(store_endpoint_list(st, &el, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(el[0]->id, "ep_1");
	ck_assert_str_eq(el[0]->edge_id, ed1);
	ck_assert_str_eq(el[0]->address_id, ru);
	ck_assert_str_eq(el[1]->id, "ep_2");
	ck_assert_str_eq(el[1]->edge_id, ed1);
	ck_assert_str_eq(el[1]->address_id, ra);
	ck_assert_str_eq(el[2]->id, "ep_3");
	ck_assert_ptr_null(el[2]->edge_id);
	store_endpoint_list_free(el, n);
	count_live(st, &ns, &n);
	ck_assert_uint_eq(ns, 3);
	ck_assert_uint_eq(n, 3);
	/* Off the edge: its members' sessions are the caller's to end. */
	ck_assert_int_eq(store_edge_backend_remove(st, ed1, bob), 0);
	fill_endpoint(&e, "ep_4", "ss_b", bob, 42000, 2004);
	e.address_id = ru;
	e.edge_id = ed1;
	ck_assert_int_eq(store_endpoint_add(st, &e), PORTHOLE_ERR_NOT_FOUND);
	free(alice);
	free(bob);
	free(carol);
	free(ed1);
	free(ed2);
	free(ru);
	free(ra);
	free(rfree);
}

END_TEST

/*
 * Members are the live endpoints naming the edge, with the counters
 * their sessions last recorded; list gives the same as get.
 */
START_TEST(test_edge_members)
{
	struct store_endpoint_stats stats[] = {
		{ "ep_2", 1, 5, 100, 200 },
		{ "ep_nope", 9, 9, 9, 9 },
		{ "ep_1", 3, 7, 1000, 2000 },
		{ "ep_3", 8, 8, 8, 8 },
	};
	struct store_endpoint_stats bad[] = {
		{ "ep_1", 50, 50, 50, 50 },
		{ NULL, 0, 0, 0, 0 },
	};
	struct store_edge *e = NULL, **list = (struct store_edge **)&list;
	struct store_endpoint **el = NULL;
	size_t n = 99;
	char *alice, *bob, *ed1, *ed2, *r1, *r2;

	ck_assert_int_eq(store_edge_list(st, &list, &n), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);

	alice = mk_account(st, "alice");
	bob = mk_account(st, "bob");
	ed1 = mk_edge(st, "one");
	ed2 = mk_edge(st, "two");
	r1 = mk_address(st, NULL, "tunnel.example.com", 42000, 1000);
	r2 = mk_address(st, NULL, "tunnel.example.com", 42001, 1000);
	ck_assert_int_eq(store_edge_address_add(st, ed1, r1), 0);
	ck_assert_int_eq(store_edge_address_add(st, ed2, r2), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, alice), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, bob), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed2, bob), 0);
	mk_session(st, "ss_a", alice, 100, 2000);
	mk_session(st, "ss_b", bob, 101, 2000);
	/* Two sessions balance edge one; ep_3 will have ended. */
	mk_endpoint_member(st, "ep_2", "ss_b", bob, 42000, 3000, r1, ed1);
	mk_endpoint_member(st, "ep_1", "ss_a", alice, 42000, 2500, r1, ed1);
	mk_endpoint_member(st, "ep_3", "ss_a", alice, 42000, 2600, r1, ed1);
	mk_endpoint_member(st, "ep_4", "ss_b", bob, 42001, 2700, r2, ed2);
	ck_assert_int_eq(store_endpoint_end(st, "ep_3", 2800), 0);

	/* Unknown and ended ones are passed over; the rest recorded. */
	ck_assert_int_eq(store_endpoint_stats(st, stats, 4), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_uint_eq(e->nmembers, 2);
	ck_assert_str_eq(e->members[0]->id, "ep_1");
	ck_assert_str_eq(e->members[0]->account_name, "alice");
	ck_assert_str_eq(e->members[0]->edge_id, ed1);
	ck_assert_str_eq(e->members[0]->address_id, r1);
	ck_assert_int_eq(e->members[0]->conns_open, 3);
	ck_assert_int_eq(e->members[0]->conns_total, 7);
	ck_assert_int_eq(e->members[0]->bytes_in, 1000);
	ck_assert_int_eq(e->members[0]->bytes_out, 2000);
	ck_assert_str_eq(e->members[1]->id, "ep_2");
	ck_assert_str_eq(e->members[1]->session_id, "ss_b");
	ck_assert_int_eq(e->members[1]->conns_open, 1);
	ck_assert_int_eq(e->members[1]->conns_total, 5);
	ck_assert_int_eq(e->members[1]->bytes_in, 100);
	ck_assert_int_eq(e->members[1]->bytes_out, 200);
	store_edge_free(e);

	/* The same from list, oldest edge first. */
	ck_assert_int_eq(store_edge_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, ed1);
	ck_assert_str_eq(list[0]->description, "one");
	ck_assert_uint_eq(list[0]->naddresses, 1);
	ck_assert_str_eq(list[0]->addresses[0]->id, r1);
	ck_assert_uint_eq(list[0]->nbackends, 2);
	ck_assert_uint_eq(list[0]->nmembers, 2);
	ck_assert_int_eq(list[0]->members[0]->bytes_out, 2000);
	ck_assert_int_eq(list[0]->members[1]->bytes_out, 200);
	ck_assert_str_eq(list[1]->id, ed2);
	ck_assert_uint_eq(list[1]->nbackends, 1);
	ck_assert_str_eq(list[1]->backends[0]->name, "bob");
	ck_assert_uint_eq(list[1]->nmembers, 1);
	ck_assert_str_eq(list[1]->members[0]->id, "ep_4");
	ck_assert_int_eq(list[1]->members[0]->conns_total, 0);
	store_edge_list_free(list, n);

	/* Endpoint list shows the stats; the ended one kept none. */
	ck_assert_int_eq(store_endpoint_list(st, &el, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(el[0]->id, "ep_1");
	ck_assert_int_eq(el[0]->conns_total, 7);
	store_endpoint_list_free(el, n);
	ck_assert_int_eq(store_session_end(st, "ss_a", 4000), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_uint_eq(e->nmembers, 1);
	ck_assert_str_eq(e->members[0]->id, "ep_2");
	store_edge_free(e);

	/* A bad element records nothing of the batch. */
	bad[0].id = "ep_2";
	ck_assert_int_eq(store_endpoint_stats(st, bad, 2),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_endpoint_stats(st, NULL, 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_endpoint_stats(NULL, stats, 1),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_endpoint_stats(st, NULL, 0), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_int_eq(e->members[0]->conns_open, 1);
	store_edge_free(e);
	/* And a good one after it goes in: no transaction left open. */
	ck_assert_int_eq(store_endpoint_stats(st, bad, 1), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), 0);
	ck_assert_int_eq(e->members[0]->conns_open, 50);
	store_edge_free(e);

	list = (struct store_edge **)&list;
	n = 99;
	ck_assert_int_eq(store_edge_list(st, &list, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(list);
	ck_assert_int_eq(store_edge_list(st, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(n, 0);
	free(alice);
	free(bob);
	free(ed1);
	free(ed2);
	free(r1);
	free(r2);
}

END_TEST

/*
 * Deleting an edge: its own addresses become tombstones, their ports
 * never handed out again; accounts' addresses go back to them; its
 * members are left for the caller to end.
 */
START_TEST(test_edge_delete)
{
	struct store_address *a = NULL, **al = NULL;
	struct store_edge *e = (struct store_edge *)&e;
	struct store_endpoint **el = NULL;
	struct store_account *acct = NULL;
	size_t n = 0;
	char *alice, *ed1, *ed2, *ru, *ra, *rother;
	int used = 0, is = -1;

	alice = mk_account(st, "alice");
	ed1 = mk_edge(st, "one");
	ed2 = mk_edge(st, "two");
	ru = mk_address(st, NULL, "tunnel.example.com", 42000, 1000);
	ra = mk_address(st, alice, "tunnel.example.com", 42001, 1000);
	rother = mk_address(st, NULL, "tunnel.example.com", 42002, 1000);
	ck_assert_int_eq(store_edge_address_add(st, ed1, ru), 0);
	ck_assert_int_eq(store_edge_address_add(st, ed1, ra), 0);
	ck_assert_int_eq(store_edge_address_add(st, ed2, rother), 0);
	ck_assert_int_eq(store_edge_backend_add(st, ed1, alice), 0);
	mk_session(st, "ss_a", alice, 100, 2000);
	mk_endpoint_member(st, "ep_1", "ss_a", alice, 42000, 2001, ru, ed1);

	ck_assert_int_eq(store_edge_delete(st, ed1, 5000), 0);
	ck_assert_int_eq(store_edge_get(st, ed1, &e), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(store_edge_delete(st, ed1, 5001),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_edge_delete(st, NULL, 5001),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_edge_is_backend(st, ed1, alice, &is), 0);
	ck_assert_int_eq(is, 0);

	/* Its own address is a tombstone; its port stays taken. */
	ck_assert_int_eq(store_address_get(st, ru, &a), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_address_port_used(st, 42000, &used), 0);
	ck_assert_int_eq(used, 1);
	ck_assert_int_eq(store_address_add(st, NULL, "tunnel.example.com",
	                     42000, NULL, NULL, 6000, NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_address_add(st, alice, "other.example.com",
	                     42000, NULL, NULL, 6000, NULL),
	    PORTHOLE_ERR_EXISTS);
	/* Alice's address is hers again, on no edge. */
	ck_assert_int_eq(store_address_get(st, ra, &a), 0);
	ck_assert_str_eq(a->account_id, alice);
	ck_assert_ptr_null(a->edge_id);
	ck_assert_int_eq(a->deleted_ms, 0);
	store_address_free(a);
	ck_assert_int_eq(store_account_get(st, alice, &acct), 0);
	ck_assert_int_eq(acct->naddresses, 1);
	store_account_free(acct);
	ck_assert_int_eq(store_address_list(st, NULL, &al, &n), 0);
	ck_assert_uint_eq(n, 2);
	store_address_list_free(al, n);
	/* The other edge is untouched. */
	ck_assert_int_eq(store_edge_get(st, ed2, &e), 0);
	ck_assert_uint_eq(e->naddresses, 1);
	ck_assert_str_eq(e->addresses[0]->id, rother);
	store_edge_free(e);
	/* The member lives on, naming the edge, until it is ended. */
	ck_assert_int_eq(store_endpoint_list(st, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->edge_id, ed1);
	store_endpoint_list_free(el, n);
	free(alice);
	free(ed1);
	free(ed2);
	free(ru);
	free(ra);
	free(rother);
}

END_TEST

/* A policy on an edge is held, as on an account or an address. */
START_TEST(test_edge_ip_policy_delete)
{
	char *pol, *ed;

	pol = mk_policy(st, "office");
	ed = mk_edge(st, "one");
	ck_assert_int_eq(store_edge_set_ip_policy(st, ed, pol), 0);
	ck_assert_int_eq(store_ip_policy_delete(st, pol), PORTHOLE_ERR_DENIED);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "1 edges"));
	ck_assert_int_eq(store_edge_set_ip_policy(st, ed, NULL), 0);
	ck_assert_int_eq(store_ip_policy_delete(st, pol), 0);
	/* And an edge deleted holds nothing. */
	free(pol);
	pol = mk_policy(st, "office");
	ck_assert_int_eq(store_edge_set_ip_policy(st, ed, pol), 0);
	ck_assert_int_eq(store_edge_delete(st, ed, 2000), 0);
	ck_assert_int_eq(store_ip_policy_delete(st, pol), 0);
	free(pol);
	free(ed);
}

END_TEST

/* Tokens. */

/* Add the test cases of this file to <s>. */
void
store_tcases_address(Suite *s)
{
	TCase *tc;

	tc = tcase_create("address");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_address_add_get);
	tcase_add_test(tc, test_address_add_errors);
	tcase_add_test(tc, test_address_find);
	tcase_add_test(tc, test_address_port_used);
	tcase_add_test(tc, test_address_list);
	tcase_add_test(tc, test_address_update);
	tcase_add_test(tc, test_address_delete);
	tcase_add_test(tc, test_address_proxy_proto);
	suite_add_tcase(s, tc);
	tc = tcase_create("ip_policy");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_ip_policy_add_get);
	tcase_add_test(tc, test_ip_policy_rules);
	tcase_add_test(tc, test_ip_policy_list);
	tcase_add_test(tc, test_ip_policy_attach_account);
	tcase_add_test(tc, test_ip_policy_attach_address);
	tcase_add_test(tc, test_ip_policy_delete);
	suite_add_tcase(s, tc);
	tc = tcase_create("edge");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_edge_add_get);
	tcase_add_test(tc, test_edge_addresses);
	tcase_add_test(tc, test_edge_backends);
	tcase_add_test(tc, test_edge_endpoint);
	tcase_add_test(tc, test_edge_members);
	tcase_add_test(tc, test_edge_delete);
	tcase_add_test(tc, test_edge_ip_policy_delete);
	suite_add_tcase(s, tc);
}
