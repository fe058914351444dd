/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "ops.h"

#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * The operations layer: validation, scope (an account sees and touches
 * only its own objects; an administrator's actions are refused to it),
 * keyset pages, events and announcements. Each test gets a fresh
 * ":memory:" store, a configuration with one PublicHost, and an ops
 * context whose hooks count what they are told.
 */

static struct store *st;
static struct conf *cf;
static struct ops admin, alice_ops, bob_ops;
static char *alice_id, *bob_id;
static char tmpdir[PATH_MAX];
static int nannounce, nsessions_told;

static void
t_announce(struct ops *ops, enum ops_change what, const int64_t *pids,
    size_t npids)
{
	nannounce++;
	if (what == OPS_CHANGE_SESSIONS)
		nsessions_told += (int)npids;
}

/* Set <o> up for <scope> (NULL: an administrator). */
static void
t_ops(struct ops *o, const char *scope)
{
	memset(o, 0, sizeof(*o));
	o->conf = cf;
	o->store = st;
	o->scope = scope;
	o->announce = t_announce;
}

static void
t_conf(const char *line)
{
	char errbuf[256];

	ck_assert_msg(conf_apply_line(cf, line, 1, errbuf, sizeof(errbuf)) == 0,
	    "%s: %s", line, errbuf);
}

static void
setup(void)
{
	struct store_account *a = NULL;
	struct ops_err err;
	char errbuf[256], *line = NULL;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/porthole-test.ops.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(store_open(":memory:", &st, errbuf, sizeof(errbuf)),
	    0);
	cf = conf_new();
	t_conf("PublicHost tun.example.com");
	t_conf("PortRange 41000-41999");
	t_conf("TunnelAddress 127.0.0.1");
	xasprintf(&line, "TokenKey %s/token.key", tmpdir);
	t_conf(line);
	free(line);
	t_ops(&admin, NULL);
	ck_assert_int_eq(ops_account_add(&admin, "alice", NULL, &a, &err), 0);
	alice_id = xstrdup(a->id);
	store_account_free(a);
	ck_assert_int_eq(ops_account_add(&admin, "bob", NULL, &a, &err), 0);
	bob_id = xstrdup(a->id);
	store_account_free(a);
	t_ops(&alice_ops, alice_id);
	t_ops(&bob_ops, bob_id);
	nannounce = nsessions_told = 0;
}

static void
teardown(void)
{
	char *path = NULL;

	xasprintf(&path, "%s/token.key", tmpdir);
	unlink(path);
	free(path);
	rmdir(tmpdir);
	free(alice_id);
	free(bob_id);
	conf_free(cf);
	store_free(st);
}

/* A valid ed25519 public key line whose key is 32 bytes of <c>. */
static char *
t_keyline(unsigned char c, const char *comment)
{
	unsigned char blob[4 + 11 + 4 + 32];
	char b64[128], *line = NULL;

	memcpy(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 4 + 11 + 4);
	memset(blob + 19, c, 32);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob),
	    sodium_base64_VARIANT_ORIGINAL);
	xasprintf(&line, "ssh-ed25519 %s %s", b64, comment);
	return line;
}

/* Add live session <id> of <account_id> for process <pid>. */
static void
t_session(const char *id, const char *account_id, int64_t pid,
    int64_t started_ms)
{
	struct store_session s;

	memset(&s, 0, sizeof(s));
	s.id = (char *)id;
	s.account_id = (char *)account_id;
	s.pid = pid;
	s.client_ip = (char *)"192.0.2.1";
	s.client_port = 50000;
	s.user = (char *)"u";
	s.credential = (char *)"anonymous:x";
	s.started_ms = started_ms;
	s.node = (char *)"";
	s.region = (char *)"";
	ck_assert_int_eq(store_session_add(st, &s, 0), 0);
}

/* Reserve an address for <o>'s account (or <account> as admin). */
static struct store_address *
t_reserve(struct ops *o, const char *account)
{
	struct store_address *a = NULL;
	struct ops_err err;

	ck_assert_msg(ops_address_reserve(o, account, NULL, "d", NULL, &a,
	                  &err) == 0,
	    "%s", err.msg);
	return a;
}

START_TEST(test_err_status)
{
	struct ops_err err;

	ck_assert_int_eq(ops_status(PORTHOLE_ERR_NOT_FOUND), 404);
	ck_assert_int_eq(ops_status(PORTHOLE_ERR_INVALID_ARGUMENT), 400);
	ck_assert_int_eq(ops_status(PORTHOLE_ERR_EXISTS), 409);
	ck_assert_int_eq(ops_status(PORTHOLE_ERR_DENIED), 403);
	ck_assert_int_eq(ops_status(PORTHOLE_ERR_UNAVAILABLE), 503);
	ck_assert_int_eq(ops_status(PORTHOLE_ERR_STORE), 500);
	ck_assert_str_eq(ops_code_name(PORTHOLE_ERR_NOT_FOUND),
	    "PORTHOLE_NOT_FOUND");
	ck_assert_int_eq(ops_errf(&err, PORTHOLE_ERR_EXISTS, "x %d", 1),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(err.status, 409);
	ck_assert_str_eq(err.msg, "x 1");
}
END_TEST

START_TEST(test_validation)
{
	struct store_account *a = NULL;
	struct store_address *ad = NULL;
	struct ops_address_update u;
	struct ops_err err;
	char big[OPS_DESCRIPTION_MAX + 2];

	ck_assert_int_eq(ops_account_add(&admin, "-bad", NULL, &a, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(ops_account_add(&admin, "alice", NULL, &a, &err),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(err.status, 409);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(ops_address_reserve(&admin, "alice", NULL, big, NULL,
	                     &ad, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than"));
	ck_assert_int_eq(ops_address_reserve(&admin, "alice", NULL, "a\x1b[2J",
	                     NULL, &ad, &err),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(err.status, 400);
	ck_assert_int_eq(ops_address_reserve(&admin, "alice", "other.example",
	                     NULL, NULL, &ad, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a PublicHost"));
	/* An administrator names the account. */
	ck_assert_int_eq(ops_address_reserve(&admin, NULL, NULL, NULL, NULL,
	                     &ad, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ad = t_reserve(&admin, "alice");
	memset(&u, 0, sizeof(u));
	u.proxy_proto = 3;
	store_address_free(ad);
	ad = NULL;
	ck_assert_int_eq(ops_address_update(&admin, "tun.example.com:1", &u,
	                     &ad, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	u.proxy_proto = -1;
	u.ip_policy = "nosuch";
	ck_assert_int_eq(ops_address_update(&admin, "tun.example.com:1", &u,
	                     &ad, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(err.status, 404);
}
END_TEST

START_TEST(test_address_scope)
{
	struct store_address *a = NULL, *mine = NULL, *got = NULL,
	                     **list = NULL;
	struct ops_address_update u;
	struct ops_err err;
	size_t n = 0;
	int more = 0;

	a = t_reserve(&admin, "bob");
	/* Alice reserves for herself: NULL account is her own. */
	mine = t_reserve(&alice_ops, NULL);
	ck_assert_str_eq(mine->account_id, alice_id);
	/* She may not reserve for Bob, nor see his by id or host:port. */
	ck_assert_int_eq(ops_address_reserve(&alice_ops, "bob", NULL, NULL,
	                     NULL, &got, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_address_get(&alice_ops, a->id, &got, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(err.status, 404);
	ck_assert_ptr_null(got);
	memset(&u, 0, sizeof(u));
	u.proxy_proto = -1;
	u.description = "mine now";
	ck_assert_int_eq(ops_address_update(&alice_ops, a->id, &u, &got, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_address_delete(&alice_ops, a->id, &got, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	/* Lists: hers alone; naming Bob is not found. */
	ck_assert_int_eq(ops_address_list(&alice_ops, NULL,
	                     &(struct ops_page){ NULL, 0 }, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, mine->id);
	store_address_list_free(list, n);
	ck_assert_int_eq(ops_address_list(&alice_ops, "bob", NULL, &list, &n,
	                     &more, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	/* Bob's is untouched; her own she may change and delete. */
	ck_assert_int_eq(ops_address_get(&admin, a->id, &got, &err), 0);
	ck_assert_str_eq(got->description, "d");
	store_address_free(got);
	ck_assert_int_eq(ops_address_update(&alice_ops, mine->id, &u, &got,
	                     &err),
	    0);
	ck_assert_str_eq(got->description, "mine now");
	store_address_free(got);
	ck_assert_int_eq(ops_address_delete(&alice_ops, mine->id, &got, &err),
	    0);
	ck_assert_int_ne(got->deleted_ms, 0);
	store_address_free(got);
	/* The admin sees both (one deleted). */
	ck_assert_int_eq(ops_address_list(&admin, NULL, NULL, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_address_list_free(list, n);
	store_address_free(a);
	store_address_free(mine);
}
END_TEST

/*
 * address update --pooling: on and off are stored and recorded, an
 * update that leaves it records nothing, an account may set its own,
 * and an edge's address cannot be pooled.
 */
START_TEST(test_address_pooling)
{
	struct store_address *a = NULL, *got = NULL;
	struct store_event **list = NULL;
	struct store_edge *e = NULL;
	struct ops_address_update u;
	struct ops_event_filter f;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	size_t n = 0;
	int more = 0;

	a = t_reserve(&alice_ops, NULL);
	ck_assert_int_eq(a->pooling, 0);
	memset(&u, 0, sizeof(u));
	u.proxy_proto = -1;
	u.pooling = OPS_POOLING_ON;
	ck_assert_int_eq(ops_address_update(&alice_ops, a->id, &u, &got, &err),
	    0);
	ck_assert_int_eq(got->pooling, 1);
	store_address_free(got);
	/* The same again: nothing changed, no event. */
	ck_assert_int_eq(ops_address_update(&admin, a->id, &u, &got, &err), 0);
	ck_assert_int_eq(got->pooling, 1);
	store_address_free(got);
	/* 0 keeps it. */
	u.pooling = 0;
	u.description = "kept";
	ck_assert_int_eq(ops_address_update(&admin, a->id, &u, &got, &err), 0);
	ck_assert_int_eq(got->pooling, 1);
	store_address_free(got);
	u.description = NULL;
	u.pooling = OPS_POOLING_OFF;
	ck_assert_int_eq(ops_address_update(&admin, a->id, &u, &got, &err), 0);
	ck_assert_int_eq(got->pooling, 0);
	store_address_free(got);
	memset(&f, 0, sizeof(f));
	f.type = EVENT_ADDRESS_UPDATED;
	ck_assert_int_eq(ops_event_list(&admin, &f, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 3); /* on, the description, off */
	ck_assert_ptr_nonnull(strstr(list[0]->json, "\"pooling\":false"));
	ck_assert_ptr_nonnull(strstr(list[2]->json, "\"pooling\":true"));
	store_event_list_free(list, n);
	/* An edge's address: its backends share it already. */
	ck_assert_int_eq(ops_edge_create(&admin, NULL, NULL, NULL, 0, NULL, &e,
	                     &err),
	    0);
	ck_assert_uint_eq(e->naddresses, 1);
	u.pooling = OPS_POOLING_ON;
	ck_assert_int_eq(ops_address_update(&admin, e->addresses[0]->id, &u,
	                     &got, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_nonnull(strstr(err.msg, "edge"));
	store_edge_free(e);
	store_address_free(a);
}
END_TEST

START_TEST(test_events_recorded)
{
	struct store_address *a = NULL, *b = NULL;
	struct store_event **list = NULL;
	struct ops_address_update u;
	struct ops_event_filter f;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	size_t n = 0;
	int more = 0;

	a = t_reserve(&alice_ops, NULL);
	b = t_reserve(&admin, "bob");
	memset(&u, 0, sizeof(u));
	u.proxy_proto = -1;
	u.description = "d"; /* the same: no event */
	store_address_free(a);
	ck_assert_int_eq(ops_address_update(&alice_ops, b->id, &u, &a, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_address_update(&admin, b->id, &u, &a, &err), 0);
	store_address_free(a);
	u.description = "changed";
	ck_assert_int_eq(ops_address_update(&admin, b->id, &u, &a, &err), 0);
	store_address_free(a);
	ck_assert_int_eq(ops_address_delete(&admin, b->id, NULL, &err), 0);
	/* Admin: created x2, updated x1, deleted x1; newest first. */
	ck_assert_int_eq(ops_event_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(more, 0);
	ck_assert_str_eq(list[0]->type, EVENT_ADDRESS_DELETED);
	ck_assert_str_eq(list[1]->type, EVENT_ADDRESS_UPDATED);
	ck_assert_str_eq(list[3]->type, EVENT_ADDRESS_CREATED);
	store_event_list_free(list, n);
	/* Alice sees only her account's. */
	ck_assert_int_eq(ops_event_list(&alice_ops, NULL, &page, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->account_id, alice_id);
	store_event_list_free(list, n);
	/* Filters. */
	f.type = EVENT_ADDRESS_UPDATED;
	f.since_ms = 0;
	ck_assert_int_eq(ops_event_list(&admin, &f, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_event_list_free(list, n);
	f.type = "nosuch.v0";
	ck_assert_int_eq(ops_event_list(&admin, &f, &page, &list, &n, &more,
	                     &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	f.type = NULL;
	f.since_ms = misc_now_ms() + 3600 * 1000;
	ck_assert_int_eq(ops_event_list(&admin, &f, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 0);
	store_event_list_free(list, n);
	/* Following: oldest first, after a seq. */
	ck_assert_int_eq(ops_event_follow(&admin, 0, NULL, 2, &list, &n, &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[1]->type, EVENT_ADDRESS_DELETED);
	store_event_list_free(list, n);
	store_address_free(b);
}
END_TEST

/* Lines written to standard output while ops_event_store() records one. */
static size_t
t_store_stdout(struct ops *o, const char *type)
{
	struct event *ev = event_new(type, NULL, "{}", misc_now_ms());
	struct ops_err err;
	char *path = NULL, c;
	size_t lines = 0;
	FILE *f;
	int fd, saved;

	xasprintf(&path, "%s/stdout", tmpdir);
	ck_assert_int_ne(fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), -1);
	fflush(stdout);
	ck_assert_int_ne(saved = dup(STDOUT_FILENO), -1);
	ck_assert_int_ne(dup2(fd, STDOUT_FILENO), -1);
	ck_assert_int_eq(ops_event_store(o, ev, &err), 0);
	ck_assert_int_ne(dup2(saved, STDOUT_FILENO), -1);
	close(saved);
	close(fd);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fread(&c, 1, 1, f) == 1)
		lines += c == '\n';
	fclose(f);
	unlink(path);
	free(path);
	event_free(ev);
	return lines;
}

/*
 * ops_event_store(): "-" is written only by a process that shares
 * portholed's standard output (OPS_EVLOG_STDOUT, the API's); a failed
 * EventLog write fails but with OPS_EVLOG_SOFT, and the event is
 * stored either way.
 */
START_TEST(test_event_store_evlog)
{
	struct store_event **list = NULL;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	struct event *ev;
	size_t n = 0;
	int more = 0;

	t_conf("EventLog -");
	ck_assert_uint_eq(t_store_stdout(&admin, EVENT_ADDRESS_CREATED), 0);
	admin.evlog = OPS_EVLOG_STDOUT;
	ck_assert_uint_eq(t_store_stdout(&admin, EVENT_ADDRESS_UPDATED), 1);
	t_conf("EventLog /nonexistent/porthole/events.log");
	ev = event_new(EVENT_ADDRESS_DELETED, NULL, "{}", misc_now_ms());
	ck_assert_int_ne(ops_event_store(&admin, ev, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "EventLog"));
	event_free(ev);
	admin.evlog = OPS_EVLOG_STDOUT | OPS_EVLOG_SOFT;
	ev = event_new(EVENT_ADDRESS_DELETED, NULL, "{}", misc_now_ms());
	ck_assert_int_eq(ops_event_store(&admin, ev, &err), 0);
	event_free(ev);
	ck_assert_int_eq(ops_event_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	/* All four are stored, the one whose EventLog write failed too. */
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(list[0]->type, EVENT_ADDRESS_DELETED);
	store_event_list_free(list, n);
}
END_TEST

START_TEST(test_paging)
{
	struct store_address *a, **list = NULL;
	struct store_event **evs = NULL;
	struct ops_page page;
	struct ops_err err;
	char *ids[7], *evid;
	size_t n = 0, i;
	int more = 0;

	for (i = 0; i < 7; i++) {
		a = t_reserve(&admin, "alice");
		ids[i] = xstrdup(a->id);
		store_address_free(a);
		usleep(2000); /* distinct creation times */
	}
	/* Pages of 3, newest first: 6 5 4 | 3 2 1 | 0. */
	page.before_id = NULL;
	page.limit = 3;
	ck_assert_int_eq(ops_address_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(more, 1);
	ck_assert_str_eq(list[0]->id, ids[6]);
	ck_assert_str_eq(list[2]->id, ids[4]);
	page.before_id = ids[4];
	store_address_list_free(list, n);
	ck_assert_int_eq(ops_address_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(more, 1);
	ck_assert_str_eq(list[0]->id, ids[3]);
	ck_assert_str_eq(list[2]->id, ids[1]);
	store_address_list_free(list, n);
	page.before_id = ids[1];
	ck_assert_int_eq(ops_address_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(more, 0);
	ck_assert_str_eq(list[0]->id, ids[0]);
	store_address_list_free(list, n);
	/* An unknown before_id, a limit too large: invalid. */
	page.before_id = "ra_nosuch";
	ck_assert_int_eq(ops_address_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err.status, 400);
	page.before_id = NULL;
	page.limit = OPS_PAGE_MAX + 1;
	ck_assert_int_eq(ops_address_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* Bob's scope: another account's id is no place to start. */
	page.limit = 0;
	page.before_id = ids[3];
	ck_assert_int_eq(ops_address_list(&bob_ops, NULL, &page, &list, &n,
	                     &more, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* Events page the same way: 7 created. */
	page.before_id = NULL;
	page.limit = 5;
	ck_assert_int_eq(ops_event_list(&admin, NULL, &page, &evs, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(more, 1);
	evid = xstrdup(evs[4]->id);
	page.before_id = evid;
	store_event_list_free(evs, n);
	ck_assert_int_eq(ops_event_list(&admin, NULL, &page, &evs, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 0);
	store_event_list_free(evs, n);
	free(evid);
	for (i = 0; i < 7; i++)
		free(ids[i]);
}
END_TEST

/* Lists the store does not page come in pages too: accounts here. */
START_TEST(test_paging_slice)
{
	struct store_account *a = NULL, **list = NULL;
	struct ops_page page = { NULL, 2 };
	struct ops_err err;
	char *first = NULL, *seen[3];
	size_t n = 0, i;
	int more = 0;

	ck_assert_int_eq(ops_account_add(&admin, "carol", NULL, &a, &err), 0);
	store_account_free(a);
	/* alice, bob, carol: two, then one, none seen twice. */
	ck_assert_int_eq(ops_account_list(&admin, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 1);
	seen[0] = xstrdup(list[0]->id);
	seen[1] = xstrdup(list[1]->id);
	ck_assert(list[0]->created_ms >= list[1]->created_ms);
	first = xstrdup(list[1]->id);
	store_account_list_free(list, n);
	page.before_id = first;
	ck_assert_int_eq(ops_account_list(&admin, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(more, 0);
	seen[2] = xstrdup(list[0]->id);
	store_account_list_free(list, n);
	ck_assert_str_ne(seen[2], seen[0]);
	ck_assert_str_ne(seen[2], seen[1]);
	page.before_id = "ac_nosuch";
	ck_assert_int_eq(ops_account_list(&admin, &page, &list, &n, &more,
	                     &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	for (i = 0; i < 3; i++)
		free(seen[i]);
	free(first);
}
END_TEST

START_TEST(test_key_scope)
{
	struct store_key *k = NULL, *kb = NULL, **list = NULL;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	char *line1 = t_keyline('a', "alice@x"), *line2 = t_keyline('b', "b");
	char *priv = NULL;
	size_t n = 0, nended = 0;
	int more = 0;

	ck_assert_int_eq(ops_key_add(&alice_ops, NULL, line1, "laptop", "{}",
	                     &k, &err),
	    0);
	ck_assert_int_eq(strncmp(k->id, "sk_", 3), 0);
	ck_assert_str_eq(k->description, "laptop");
	ck_assert_str_eq(k->metadata, "{}");
	ck_assert_str_eq(k->account_id, alice_id);
	/* The same key again, by anyone: a conflict. */
	ck_assert_int_eq(ops_key_add(&admin, "bob", line1, NULL, NULL, &kb,
	                     &err),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(err.status, 409);
	/* A private key is refused without echoing it. */
	xasprintf(&priv, "-----BEGIN OPENSSH PRIVATE KEY----- secret");
	ck_assert_int_eq(ops_key_add(&admin, "bob", priv, NULL, NULL, &kb,
	                     &err),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(strstr(err.msg, "secret"));
	/*
	 * Distinct creation times: lists are newest first by (created_ms,
	 * id), and a random id decides between keys of the same ms.
	 */
	usleep(2000);
	ck_assert_int_eq(ops_key_add(&admin, "bob", line2, NULL, NULL, &kb,
	                     &err),
	    0);
	/* By id or fingerprint; Bob's is not found for Alice. */
	store_key_free(k);
	ck_assert_int_eq(ops_key_get(&alice_ops, kb->id, &k, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_key_get(&alice_ops, kb->fingerprint, &k, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_key_delete(&alice_ops, kb->id, NULL, &nended,
	                     &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_key_update(&alice_ops, kb->id, "x", NULL, NULL,
	                     &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_key_list(&alice_ops, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->account_id, alice_id);
	store_key_list_free(list, n);
	ck_assert_int_eq(ops_key_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, kb->id); /* newest first */
	store_key_list_free(list, n);
	/* Bob deletes his own. */
	ck_assert_int_eq(ops_key_delete(&bob_ops, kb->id, NULL, &nended, &err),
	    0);
	store_key_free(kb);
	free(line1);
	free(line2);
	free(priv);
}
END_TEST

START_TEST(test_token_scope)
{
	struct store_token *t = NULL, *tb = NULL, *tx = NULL, **list = NULL;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	char secret[OPS_SECRET_LEN];
	size_t n = 0, nended = 0;
	int more = 0;

	ck_assert_int_eq(ops_token_create(&alice_ops, NULL, "ci", "{\"a\":1}",
	                     secret, sizeof(secret), &t, &err),
	    0);
	ck_assert_int_eq(strncmp(t->id, "tk_", 3), 0);
	ck_assert_str_eq(t->metadata, "{\"a\":1}");
	ck_assert_int_gt(strlen(secret), 10);
	ck_assert_int_eq(ops_token_create(&alice_ops, "bob", NULL, NULL, secret,
	                     sizeof(secret), &tb, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_token_create(&admin, "bob", NULL, NULL, secret,
	                     sizeof(secret), &tb, &err),
	    0);
	ck_assert_int_eq(ops_token_get(&alice_ops, tb->id, &tx, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_null(tx);
	ck_assert_int_eq(ops_token_update(&alice_ops, tb->id, "x", NULL, NULL,
	                     &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_token_revoke(&alice_ops, tb->id, NULL, &nended,
	                     &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_token_list(&alice_ops, NULL, &page, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_token_list_free(list, n);
	ck_assert_int_eq(ops_token_revoke(&bob_ops, tb->id, NULL, &nended,
	                     &err),
	    0);
	/* Revoked: gone from the list, and not revoked twice. */
	ck_assert_int_eq(ops_token_revoke(&admin, tb->id, NULL, &nended, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_token_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_token_list_free(list, n);
	store_token_free(t);
	store_token_free(tb);
}
END_TEST

START_TEST(test_apikey_scope)
{
	struct store_apikey *k = NULL, *ka = NULL, **list = NULL;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	char secret[OPS_SECRET_LEN];
	size_t n = 0;
	int more = 0;

	/* An administrator's key (no account), and Alice's own. */
	ck_assert_int_eq(ops_apikey_create(&admin, NULL, "root", secret,
	                     sizeof(secret), &ka, &err),
	    0);
	ck_assert_ptr_null(ka->account_id);
	ck_assert_int_eq(strncmp(secret, "phk_", 4), 0);
	ck_assert_int_eq(ops_apikey_create(&alice_ops, NULL, NULL, secret,
	                     sizeof(secret), &k, &err),
	    0);
	ck_assert_str_eq(k->account_id, alice_id);
	store_apikey_free(k);
	/* Not for Bob, and the admin's key is not hers to see or revoke. */
	ck_assert_int_eq(ops_apikey_create(&alice_ops, "bob", NULL, secret,
	                     sizeof(secret), &k, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_apikey_get(&alice_ops, ka->id, &k, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_apikey_revoke(&alice_ops, ka->id, NULL, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_apikey_list(&alice_ops, NULL, &page, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_apikey_list_free(list, n);
	ck_assert_int_eq(ops_apikey_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 2);
	store_apikey_list_free(list, n);
	ck_assert_int_eq(ops_apikey_revoke(&admin, ka->id, &k, &err), 0);
	ck_assert_int_ne(k->revoked_ms, 0);
	store_apikey_free(k);
	store_apikey_free(ka);
}
END_TEST

START_TEST(test_session_scope)
{
	struct store_session *s = NULL, **list = NULL;
	struct store_endpoint **eps = NULL, *e = NULL;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	size_t n = 0;
	int more = 0;

	t_session("ss_alice", alice_id, 4242, misc_now_ms());
	t_session("ss_bob", bob_id, 4343, misc_now_ms() + 1);
	ck_assert_int_eq(ops_session_get(&alice_ops, "ss_bob", &s, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_session_stop(&alice_ops, "ss_bob", NULL, &s, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(nannounce, 0);
	ck_assert_int_eq(ops_session_list(&alice_ops, NULL, &page, &list, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0]->id, "ss_alice");
	store_session_list_free(list, n);
	ck_assert_int_eq(ops_session_list(&admin, NULL, &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "ss_bob"); /* newest first */
	store_session_list_free(list, n);
	ck_assert_int_eq(ops_endpoint_list(&alice_ops, NULL, &page, &eps, &n,
	                     &more, &err),
	    0);
	ck_assert_uint_eq(n, 0);
	store_endpoint_list_free(eps, n);
	ck_assert_int_eq(ops_endpoint_get(&alice_ops, "ep_nosuch", &e, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	/* Bob stops his own: its process is told, once. */
	ck_assert_int_eq(ops_session_stop(&bob_ops, "ss_bob", NULL, &s, &err),
	    0);
	ck_assert_int_ne(s->ended_ms, 0);
	ck_assert_str_eq(s->end_reason, "killed by an administrator");
	ck_assert_int_eq(nannounce, 1);
	ck_assert_int_eq(nsessions_told, 1);
	store_session_free(s);
	ck_assert_int_eq(ops_session_stop(&admin, "ss_bob", NULL, &s, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "already ended"));
}
END_TEST

/*
 * Usage: an account scope sees its own (with or without naming it),
 * another's is not found; an administrator sees every account's or
 * one's; a bucket is an hour, a day or the whole span.
 */
START_TEST(test_usage_scope)
{
	struct store_usage rows[2], *list = NULL;
	struct ops_err err;
	size_t n = 0;
	int64_t now = misc_now_ms();

	memset(rows, 0, sizeof(rows));
	rows[0].account_id = alice_id;
	rows[0].hostport = (char *)"tun.example.com:41000";
	rows[0].hour_ms = now;
	rows[0].connections = 2;
	rows[0].bytes_in = 10;
	rows[1] = rows[0];
	rows[1].account_id = bob_id;
	rows[1].hostport = (char *)"tun.example.com:41001";
	rows[1].bytes_out = 20;
	ck_assert_int_eq(store_usage_add(st, rows, 2), 0);

	ck_assert_int_eq(ops_usage(&alice_ops, NULL, 0, 0, &list, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0].account_name, "alice");
	ck_assert_int_eq(list[0].bytes_in, 10);
	store_usage_list_free(list, n);
	ck_assert_int_eq(ops_usage(&alice_ops, "alice", 0, OPS_USAGE_DAY, &list,
	                     &n, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_usage_list_free(list, n);
	ck_assert_int_eq(ops_usage(&alice_ops, "bob", 0, 0, &list, &n, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(err.status, OPS_STATUS_NOT_FOUND);
	ck_assert_ptr_null(list);
	ck_assert_int_eq(ops_usage(&alice_ops, bob_id, 0, 0, &list, &n, &err),
	    PORTHOLE_ERR_NOT_FOUND);

	ck_assert_int_eq(ops_usage(&admin, NULL, 0, OPS_USAGE_HOUR, &list, &n,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[1].account_name, "bob");
	ck_assert_int_eq(list[1].bytes_out, 20);
	store_usage_list_free(list, n);
	ck_assert_int_eq(ops_usage(&admin, "bob", 0, 0, &list, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	store_usage_list_free(list, n);
	/* From the next hour on: nothing yet. */
	ck_assert_int_eq(ops_usage(&admin, NULL, now + 3600000, 0, &list, &n,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 0);
	store_usage_list_free(list, n);
	ck_assert_int_eq(ops_usage(&admin, "nobody", 0, 0, &list, &n, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(ops_usage(&admin, NULL, 0, 60000, &list, &n, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err.status, OPS_STATUS_INVALID);
	ck_assert_int_eq(ops_usage(&admin, NULL, -1, 0, &list, &n, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_admin_only)
{
	struct store_account *a = NULL, **alist = NULL;
	struct store_ip_policy *p = NULL, **plist = NULL;
	struct store_ip_rule *x = NULL;
	struct store_edge *e = NULL, **elist = NULL;
	struct ops_account_update au;
	struct ops_edge_update eu;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	const char *allow[] = { "10.0.0.0/8" };
	size_t n = 0, nended = 0;
	int more = 0;

#define DENIED(call)                                                           \
	do {                                                                   \
		ops_err_clear(&err);                                           \
		ck_assert_int_eq((call), PORTHOLE_ERR_DENIED);                 \
		ck_assert_int_eq(err.status, 403);                             \
		ck_assert_str_eq(err.msg, OPS_MSG_ADMIN);                      \
	} while (0)
	DENIED(ops_account_add(&alice_ops, "carol", NULL, &a, &err));
	DENIED(ops_account_disable(&alice_ops, NULL, &a, &nended, &err));
	DENIED(ops_account_enable(&alice_ops, NULL, &a, &err));
	DENIED(ops_account_delete(&alice_ops, NULL, &a, &nended, &err));
	memset(&au, 0, sizeof(au));
	au.max_sessions = 5;
	au.max_endpoints = -1;
	DENIED(ops_account_update(&alice_ops, NULL, &au, &a, &err));
	DENIED(ops_policy_create(&alice_ops, "office", NULL, NULL, allow, 1,
	    NULL, 0, &p, &err));
	DENIED(
	    ops_edge_create(&alice_ops, NULL, NULL, NULL, 0, NULL, &e, &err));
	DENIED(ops_edge_list(&alice_ops, &page, &elist, &n, &more, &err));
	memset(&eu, 0, sizeof(eu));
	eu.proxy_proto = -1;
	DENIED(ops_edge_update(&alice_ops, "ed_x", &eu, &e, &err));
	/* What an administrator made, an account may read, not change. */
	ck_assert_int_eq(ops_policy_create(&admin, "office", "o", NULL, allow,
	                     1, NULL, 0, &p, &err),
	    0);
	ck_assert_uint_eq(p->nrules, 1);
	ck_assert_int_eq(strncmp(p->rules[0]->id, "ipr_", 4), 0);
	DENIED(ops_rule_add(&alice_ops, "office", 0, "192.0.2.0/24", NULL, NULL,
	    &x, &err));
	DENIED(ops_rule_delete(&alice_ops, p->rules[0]->id, NULL, &err));
	DENIED(ops_policy_delete(&alice_ops, "office", NULL, &err));
	DENIED(ops_policy_update(&alice_ops, "office", "x", NULL, NULL, &err));
	store_ip_policy_free(p);
	ck_assert_int_eq(ops_policy_get(&alice_ops, "office", &p, &err), 0);
	store_ip_policy_free(p);
	ck_assert_int_eq(ops_policy_list(&alice_ops, &page, &plist, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_ip_policy_list_free(plist, n);
	/* Her own account: readable, description changeable. */
	ck_assert_int_eq(ops_account_get(&alice_ops, NULL, &a, &err), 0);
	ck_assert_str_eq(a->id, alice_id);
	store_account_free(a);
	ck_assert_int_eq(ops_account_get(&alice_ops, "bob", &a, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	memset(&au, 0, sizeof(au));
	au.max_sessions = au.max_endpoints = -1;
	au.description = "me";
	ck_assert_int_eq(ops_account_update(&alice_ops, NULL, &au, &a, &err),
	    0);
	ck_assert_str_eq(a->description, "me");
	store_account_free(a);
	ck_assert_int_eq(ops_account_list(&alice_ops, &page, &alist, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 1);
	store_account_list_free(alist, n);
#undef DENIED
}
END_TEST

START_TEST(test_rules)
{
	struct store_ip_policy *p = NULL;
	struct store_ip_rule *x = NULL, *y = NULL, **list = NULL;
	struct ops_page page = { NULL, 0 };
	struct ops_err err;
	const char *allow[] = { "10.0.0.0/8", "2001:DB8::/32" };
	const char *twice[] = { "2001:db8::/32", "2001:DB8:0::/32" };
	size_t n = 0;
	int more = 0;

	ck_assert_int_eq(ops_policy_create(&admin, "p", NULL, NULL, twice, 2,
	                     NULL, 0, &p, &err),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "given twice"));
	ck_assert_int_eq(ops_policy_create(&admin, "p", NULL, NULL, allow, 2,
	                     NULL, 0, &p, &err),
	    0);
	ck_assert_str_eq(p->allow[1], "2001:db8::/32");
	ck_assert_int_eq(ops_rule_add(&admin, "p", 0, "192.0.2.7", "office",
	                     "m", &x, &err),
	    0);
	ck_assert_str_eq(x->cidr, "192.0.2.7/32");
	ck_assert_str_eq(x->description, "office");
	ck_assert_int_eq(ops_rule_add(&admin, "p", 0, "192.0.2.7/32", NULL,
	                     NULL, &y, &err),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(ops_rule_add(&admin, "p", 0, "not/a/cidr", NULL, NULL,
	                     &y, &err),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(ops_rule_update(&admin, x->id, "desk", NULL, &y, &err),
	    0);
	ck_assert_str_eq(y->description, "desk");
	store_ip_rule_free(y);
	ck_assert_int_eq(ops_rule_find(&admin, "p", 0, "192.0.2.7", &y, &err),
	    0);
	ck_assert_str_eq(y->id, x->id);
	store_ip_rule_free(y);
	ck_assert_int_eq(ops_rule_list(&admin, "p", &page, &list, &n, &more,
	                     &err),
	    0);
	ck_assert_uint_eq(n, 3);
	store_ip_rule_list_free(list, n);
	ck_assert_int_eq(ops_rule_delete(&admin, x->id, NULL, &err), 0);
	ck_assert_int_eq(ops_rule_get(&admin, x->id, &y, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	store_ip_rule_free(x);
	store_ip_policy_free(p);
}
END_TEST

/*
 * Traffic limits: an administrator sets, clears (none) and returns them
 * to the server's default; STORE_KEEP keeps; each change is announced
 * so live sessions re-read them; bad values change nothing.
 */
START_TEST(test_account_traffic)
{
	struct ops_account_update u;
	struct store_account *a = NULL, t;
	struct ops_err err;
	struct buf *b;

	memset(&u, 0, sizeof(u));
	u.max_sessions = u.max_endpoints = -1;
	ops_traffic_keep(&t);
	t.bandwidth_limit = 5 * 1024 * 1024;
	t.quota_bytes = 10LL << 30;
	t.quota_period_s = 30 * 86400;
	t.connection_rate = 60;
	t.connections_per_source = 4;
	t.idle_timeout_s = 300;
	u.traffic = &t;
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err), 0);
	ck_assert_int_eq(nannounce, 1);
	ck_assert_int_eq(a->bandwidth_limit, 5 * 1024 * 1024);
	ck_assert_int_eq(a->quota_bytes, 10LL << 30);
	ck_assert_int_eq(a->quota_period_s, 30 * 86400);
	ck_assert_int_eq(a->connection_rate, 60);
	ck_assert_int_eq(a->connections_per_source, 4);
	ck_assert_int_eq(a->idle_timeout_s, 300);
	store_account_free(a);
	/* Keep all but two: one to none, one back to the default. */
	ops_traffic_keep(&t);
	t.bandwidth_limit = 0;
	t.quota_bytes = -1;
	t.quota_period_s = 12345; /* ignored: no quota of its own */
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err), 0);
	ck_assert_int_eq(nannounce, 2);
	ck_assert_int_eq(a->bandwidth_limit, 0);
	ck_assert_int_eq(a->quota_bytes, -1);
	ck_assert_int_eq(a->quota_period_s, 0); /* read as 0 without one */
	ck_assert_int_eq(a->connection_rate, 60);
	ck_assert_int_eq(a->connections_per_source, 4);
	ck_assert_int_eq(a->idle_timeout_s, 300);
	/* As shown: set (null for the default) and what applies. */
	t_conf("TransferQuota 1G/1d");
	t_conf("MaxConnectionsPerSource 9");
	b = buf_new();
	ops_account_limits_json(b, cf, a);
	ck_assert_str_eq(buf_str(b),
	    ",\"bandwidth_limit\":0,\"bandwidth_limit_effective\":0"
	    ",\"transfer_quota\":null,\"transfer_quota_effective\":"
	    "{\"bytes\":1073741824,\"period_s\":86400}"
	    ",\"connection_rate\":60,\"connection_rate_effective\":60"
	    ",\"connections_per_source\":4,"
	    "\"connections_per_source_effective\":4"
	    ",\"idle_timeout_s\":300,\"idle_timeout_s_effective\":300");
	buf_free(b);
	store_account_free(a);
	/* Nothing to change: nothing announced. */
	ops_traffic_keep(&t);
	u.description = "d";
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err), 0);
	ck_assert_int_eq(nannounce, 2);
	store_account_free(a);
	u.description = NULL;
	/* Out of bounds: refused with a reason, nothing changed. */
	t.bandwidth_limit = (1LL << 40) + 1;
	t.connection_rate = 1;
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_nonnull(strstr(err.msg, "bandwidth limit"));
	ops_traffic_keep(&t);
	t.quota_bytes = 1;
	t.quota_period_s = 3599;
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "transfer quota"));
	ops_traffic_keep(&t);
	t.quota_bytes = -5;
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ops_traffic_keep(&t);
	t.connections_per_source = 1000001;
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "connections per source"));
	ops_traffic_keep(&t);
	t.idle_timeout_s = 366 * 86400 + 1;
	ck_assert_int_eq(ops_account_update(&admin, "alice", &u, &a, &err),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "idle timeout"));
	ck_assert_int_eq(nannounce, 2);
	ck_assert_int_eq(ops_account_get(&admin, "alice", &a, &err), 0);
	ck_assert_int_eq(a->connection_rate, 60);
	ck_assert_int_eq(a->idle_timeout_s, 300);
	ck_assert_int_eq(a->quota_bytes, -1);
	store_account_free(a);
}
END_TEST

/*
 * An account's key may read its limits but not change them, not even
 * its own; another account's stay unseen (404).
 */
START_TEST(test_traffic_scope)
{
	struct ops_account_update u;
	struct store_account *a = NULL, t;
	struct ops_err err;

	memset(&u, 0, sizeof(u));
	u.max_sessions = u.max_endpoints = -1;
	ops_traffic_keep(&t);
	t.bandwidth_limit = 0;
	u.traffic = &t;
	ck_assert_int_eq(ops_account_update(&alice_ops, NULL, &u, &a, &err),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(err.status, 403);
	ck_assert_str_eq(err.msg, OPS_MSG_ADMIN);
	ck_assert_ptr_null(a);
	u.description = "mine"; /* with a description: still all refused */
	ck_assert_int_eq(ops_account_update(&alice_ops, "alice", &u, &a, &err),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(ops_account_update(&alice_ops, "bob", &u, &a, &err),
	    PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(nannounce, 0);
	ck_assert_int_eq(ops_account_get(&alice_ops, NULL, &a, &err), 0);
	ck_assert_int_eq(a->bandwidth_limit, -1);
	ck_assert_str_eq(a->description, "");
	store_account_free(a);
	/* Her description alone she may change: the limits are kept. */
	ops_traffic_keep(&t);
	ck_assert_int_eq(ops_account_update(&alice_ops, NULL, &u, &a, &err), 0);
	ck_assert_str_eq(a->description, "mine");
	ck_assert_int_eq(a->bandwidth_limit, -1);
	store_account_free(a);
	u.traffic = NULL;
	ck_assert_int_eq(ops_account_update(&bob_ops, "alice", &u, &a, &err),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(err.status, 404);
}
END_TEST

static Suite *
ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *tc;

	tc = tcase_create("errors");
	tcase_add_test(tc, test_err_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("actions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_validation);
	tcase_add_test(tc, test_events_recorded);
	tcase_add_test(tc, test_address_pooling);
	tcase_add_test(tc, test_event_store_evlog);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_account_traffic);
	suite_add_tcase(s, tc);

	tc = tcase_create("scope");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_address_scope);
	tcase_add_test(tc, test_key_scope);
	tcase_add_test(tc, test_token_scope);
	tcase_add_test(tc, test_apikey_scope);
	tcase_add_test(tc, test_session_scope);
	tcase_add_test(tc, test_usage_scope);
	tcase_add_test(tc, test_admin_only);
	tcase_add_test(tc, test_traffic_scope);
	suite_add_tcase(s, tc);

	tc = tcase_create("paging");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_paging);
	tcase_add_test(tc, test_paging_slice);
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
	log_init("check_ops", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	sr = srunner_create(ops_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
