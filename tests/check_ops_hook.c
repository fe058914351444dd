/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "ops.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "conf.h"
#include "err.h"
#include "hook.h"
#include "log.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/*
 * The operations of webhooks (ops-hook.c): what they check, and that an
 * account's scope sees and touches its own destinations and
 * subscriptions only, by id and by list.
 */

static struct store *st;
static struct conf *cf;
static struct ops admin, alice_ops, bob_ops;
static char *alice_id, *bob_id;

static void
t_ops(struct ops *o, const char *scope)
{
	memset(o, 0, sizeof(*o));
	o->conf = cf;
	o->store = st;
	o->scope = scope;
}

static void
setup(void)
{
	struct store_account *a = NULL;
	struct ops_err err;
	char errbuf[256];

	ck_assert_int_eq(store_open(":memory:", &st, errbuf, sizeof(errbuf)),
	    0);
	cf = conf_new();
	t_ops(&admin, NULL);
	ck_assert_int_eq(ops_account_add(&admin, "alice", NULL, &a, &err), 0);
	alice_id = xstrdup(a->id);
	store_account_free(a);
	ck_assert_int_eq(ops_account_add(&admin, "bob", NULL, &a, &err), 0);
	bob_id = xstrdup(a->id);
	store_account_free(a);
	t_ops(&alice_ops, alice_id);
	t_ops(&bob_ops, bob_id);
}

static void
teardown(void)
{
	store_free(st);
	conf_free(cf);
	free(alice_id);
	free(bob_id);
}

/* Make a destination of <o> (its own account) to <url>; its id. */
static char *
mk_dest(struct ops *o, const char *account, const char *url)
{
	struct store_hook_dest *d = NULL;
	struct ops_err err;
	char secret[OPS_HOOK_SECRET_LEN], *id;

	ck_assert_msg(ops_hook_dest_create(o, account, url, NULL, NULL, NULL,
	                  secret, sizeof(secret), &d, &err) == 0,
	    "%s", err.msg);
	ck_assert(token_is_prefixed(secret, HOOK_SECRET_PREFIX));
	ck_assert_ptr_null(d->secret);
	id = xstrdup(d->id);
	store_hook_dest_free(d);
	return id;
}

START_TEST(test_dest_checks)
{
	struct store_hook_dest *d = (struct store_hook_dest *)&d;
	struct ops_err err;
	char secret[OPS_HOOK_SECRET_LEN], small[8];

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ops_hook_dest_create(&admin, NULL, "ftp://x/", NULL,
	                     NULL, NULL, secret, sizeof(secret), &d, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(ops_hook_dest_create(&admin, NULL, "http://x/",
	                     "short", NULL, NULL, secret, sizeof(secret), &d,
	                     &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(ops_hook_dest_create(&admin, NULL, "http://x/",
	                     "with a space 0123456789", NULL, NULL, secret,
	                     sizeof(secret), &d, &err),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(ops_hook_dest_create(&admin, NULL, "http://x/", NULL,
	                     "bad\001", NULL, secret, sizeof(secret), &d, &err),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(ops_hook_dest_create(&admin, NULL, "http://x/", NULL,
	                     NULL, NULL, small, sizeof(small), &d, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(ops_hook_dest_create(&admin, "nobody", "http://x/",
	                     NULL, NULL, NULL, secret, sizeof(secret), &d,
	                     &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(err.status, 404);
	/* A secret given is kept as given. */
	ck_assert_int_eq(ops_hook_dest_create(&admin, "alice", "http://x/",
	                     "0123456789abcdef", NULL, NULL, secret,
	                     sizeof(secret), &d, &err),
	    0);
	ck_assert_str_eq(secret, "0123456789abcdef");
	ck_assert_str_eq(d->account_id, alice_id);
	store_hook_dest_free(d);
}
END_TEST

START_TEST(test_dest_scope)
{
	struct store_hook_dest *d = NULL, **list = NULL;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	size_t n = 0;
	int more = 0;
	char *adm, *ali, *bo, *other;

	adm = mk_dest(&admin, NULL, "http://127.0.0.1:1/admin");
	ali = mk_dest(&alice_ops, NULL, "http://127.0.0.1:1/alice");
	bo = mk_dest(&bob_ops, NULL, "http://127.0.0.1:1/bob");
	/* An account cannot make one for another account. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ops_hook_dest_create(&alice_ops, "bob", "http://x/",
	                     NULL, NULL, NULL, (char[OPS_HOOK_SECRET_LEN]){ 0 },
	                     OPS_HOOK_SECRET_LEN, &d, &err),
	    PORTHOLE_ERR_NOT_FOUND);

	/* By id: one's own only. */
	ck_assert_int_eq(ops_hook_dest_get(&alice_ops, ali, &d, &err), 0);
	store_hook_dest_free(d);
	ck_assert_int_eq(ops_hook_dest_get(&alice_ops, bo, &d, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(err.status, 404);
	ck_assert_int_eq(ops_hook_dest_get(&alice_ops, adm, &d, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_hook_dest_update(&alice_ops, bo, NULL, NULL, "x",
	                     NULL, NULL, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_hook_dest_delete(&alice_ops, bo, NULL, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_hook_dest_get(&admin, bo, &d, &err), 0);
	store_hook_dest_free(d);

	/* By list: one's own only; the admin sees all, or one account's. */
	ck_assert_int_eq(ops_hook_dest_list(&alice_ops, NULL, &page, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, ali);
	store_hook_dest_list_free(list, n);
	ck_assert_int_eq(ops_hook_dest_list(&alice_ops, "bob", &page, &list, &n,
	                     &more, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_hook_dest_list(&admin, NULL, NULL, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 3);
	store_hook_dest_list_free(list, n);
	ck_assert_int_eq(ops_hook_dest_list(&admin, "bob", &page, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, bo);
	store_hook_dest_list_free(list, n);
	/* A page after another account's object is refused. */
	page.before_id = bo;
	ck_assert_int_eq(ops_hook_dest_list(&alice_ops, NULL, &page, &list, &n,
	                     &more, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	page.before_id = NULL;
	page.limit = OPS_PAGE_MAX + 1;
	ck_assert_int_eq(ops_hook_dest_list(&admin, NULL, &page, &list, &n,
	                     &more, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	/* Update and delete one's own. */
	ck_assert_int_eq(ops_hook_dest_update(&alice_ops, ali,
	                     "https://example.com/h", NULL, "mine", NULL, &d,
	                     &err),
	    0);
	ck_assert_str_eq(d->url, "https://example.com/h");
	ck_assert_str_eq(d->description, "mine");
	store_hook_dest_free(d);
	ck_assert_int_eq(ops_hook_dest_update(&alice_ops, ali, "gopher://x",
	                     NULL, NULL, NULL, NULL, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(ops_hook_dest_delete(&alice_ops, ali, &d, &err), 0);
	ck_assert_str_eq(d->id, ali);
	store_hook_dest_free(d);
	ck_assert_int_eq(ops_hook_dest_get(&admin, ali, &d, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	other = mk_dest(&admin, "alice", "http://127.0.0.1:1/alice2");
	ck_assert_int_eq(ops_hook_dest_get(&alice_ops, other, &d, &err), 0);
	store_hook_dest_free(d);
	free(adm);
	free(ali);
	free(bo);
	free(other);
}
END_TEST

START_TEST(test_sub_scope)
{
	struct store_hook_sub *s = NULL, **list = NULL;
	struct ops_err err;
	const char *closed[] = { "tcp_connection_closed.v0" };
	const char *bad[] = { "nope.v0" };
	const char *d1[1], *d2[1];
	size_t n = 0;
	int more = 0;
	char *ali, *bo, *id;

	ali = mk_dest(&alice_ops, NULL, "http://127.0.0.1:1/alice");
	bo = mk_dest(&bob_ops, NULL, "http://127.0.0.1:1/bob");
	d1[0] = ali;
	d2[0] = bo;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ops_hook_sub_create(&alice_ops, NULL, NULL, NULL, bad,
	                     1, d1, 1, &s, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(ops_hook_sub_create(&alice_ops, NULL, NULL, NULL,
	                     closed, 0, d1, 1, &s, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* Another account's destination is not there for alice. */
	ck_assert_int_eq(ops_hook_sub_create(&alice_ops, NULL, NULL, NULL,
	                     closed, 1, d2, 1, &s, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(err.status, 404);
	ck_assert_int_eq(ops_hook_sub_create(&alice_ops, NULL, "d", NULL,
	                     closed, 1, d1, 1, &s, &err),
	    0);
	ck_assert_str_eq(s->account_id, alice_id);
	ck_assert_uint_eq(s->ntypes, 1);
	id = xstrdup(s->id);
	store_hook_sub_free(s);

	ck_assert_int_eq(ops_hook_sub_get(&bob_ops, id, &s, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_hook_sub_list(&bob_ops, NULL, NULL, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ops_hook_sub_list(&alice_ops, NULL, NULL, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_hook_sub_list_free(list, n);
	ck_assert_int_eq(ops_hook_sub_update(&bob_ops, id, "x", NULL, NULL, 0,
	                     NULL, 0, NULL, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_hook_sub_update(&alice_ops, id, NULL, NULL, bad, 1,
	                     NULL, 0, NULL, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(ops_hook_sub_delete(&bob_ops, id, NULL, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_hook_sub_delete(&alice_ops, id, &s, &err), 0);
	store_hook_sub_free(s);
	free(id);
	free(ali);
	free(bo);
}
END_TEST

static Suite *
ops_hook_suite(void)
{
	Suite *s = suite_create("ops_hook");
	TCase *tc = tcase_create("hook");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dest_checks);
	tcase_add_test(tc, test_dest_scope);
	tcase_add_test(tc, test_sub_scope);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	if (sodium_init() == -1)
		return EXIT_FAILURE;
	log_init("check_ops_hook", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	sr = srunner_create(ops_hook_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
