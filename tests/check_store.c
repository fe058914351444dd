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
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "check_store.h"
#include "db.h"
#include "pghelp.h"
#include "err.h"
#include "event.h"
#include "id.h"
#include "log.h"
#include "store-int.h" /* store_begin(), for test_notify_change */
#include "token.h"

struct store *st;
/* The database tstore_open() opens: NULL for SQLite in memory. */
static const char *tstore_target;
char tmpdir[PATH_MAX];
char dbpath[PATH_MAX];

/* Fixture: a fresh store in st (see check_store.h). */
void
tstore_open(void)
{
	char errbuf[256];
	struct db *db = NULL;

	/* The tests run one after another: each empties the database. */
	if (tstore_target != NULL) {
		ck_assert_msg(db_open(tstore_target, &db, errbuf,
		                  sizeof(errbuf)) == 0,
		    "%s", errbuf);
		ck_assert_int_eq(db_exec(db,
		                     "DROP SCHEMA IF EXISTS public "
		                     "CASCADE; CREATE SCHEMA public"),
		    0);
		db_close(db);
	}
	ck_assert_msg(store_open(tstore_target != NULL ? tstore_target
	                                               : ":memory:",
	                  &st, errbuf, sizeof(errbuf)) == 0,
	    "%s", errbuf);
	ck_assert_ptr_nonnull(st);
}

/* Fixture: close the store. */
void
tstore_close(void)
{
	store_free(st);
	st = NULL;
}

/* Fixture: an empty temporary directory; dbpath names a file in it. */
void
tfile_setup(void)
{
	const char *base;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	ck_assert_int_lt(snprintf(tmpdir, sizeof(tmpdir),
	                     "%s/check_store.XXXXXX", base),
	    (int)sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_lt(snprintf(dbpath, sizeof(dbpath), "%s/porthole.db",
	                     tmpdir),
	    (int)sizeof(dbpath));
}

/* Fixture: remove the database files and the temporary directory. */
void
tfile_teardown(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
		"-journal" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", dbpath, suffixes[i]) <
		    (int)sizeof(path))
			unlink(path);
	}
	rmdir(tmpdir);
}

/* Add account <name> to <store>; returns its id, which the caller frees. */
char *
mk_account(struct store *store, const char *name)
{
	struct store_account *a = NULL;
	char *id;

	ck_assert_int_eq(store_account_add(store, name, &a), 0);
	id = strdup(a->id);
	store_account_free(a);
	return id;
}

/* Add live session <id> of <account_id> that <credential> opened. */
void
mk_session_as(struct store *store, const char *id, const char *account_id,
    int64_t pid, int64_t started_ms, const char *credential)
{
	struct store_session s;

	memset(&s, 0, sizeof(s));
	s.id = (char *)id;
	s.account_id = (char *)account_id;
	s.pid = pid;
	s.client_ip = (char *)"192.0.2.7";
	s.client_port = 50000;
	s.user = (char *)"v2";
	s.credential = (char *)credential;
	s.started_ms = started_ms;
	ck_assert_int_eq(store_session_add(store, &s, 0), 0);
}

/* Add live session <id> of <account_id> for process <pid>, as key FP1. */
void
mk_session(struct store *store, const char *id, const char *account_id,
    int64_t pid, int64_t started_ms)
{
	mk_session_as(store, id, account_id, pid, started_ms, "key:" FP1);
}

/* Fill <e> for endpoint <id> of session <session_id> on <port>. */
void
fill_endpoint(struct store_endpoint *e, const char *id, const char *session_id,
    const char *account_id, int port, int64_t started_ms)
{
	memset(e, 0, sizeof(*e));
	e->id = (char *)id;
	e->session_id = (char *)session_id;
	e->account_id = (char *)account_id;
	e->host = (char *)"tunnel.example.com";
	e->port = port;
	e->bind_address = (char *)"localhost";
	e->started_ms = started_ms;
}

/* Add live endpoint <id> of session <session_id> on <port>. */
void
mk_endpoint(struct store *store, const char *id, const char *session_id,
    const char *account_id, int port, int64_t started_ms)
{
	struct store_endpoint e;

	fill_endpoint(&e, id, session_id, account_id, port, started_ms);
	ck_assert_int_eq(store_endpoint_add(store, &e), 0);
}

/* Add live endpoint <id> serving reserved address <address_id>. */
void
mk_endpoint_at(struct store *store, const char *id, const char *session_id,
    const char *account_id, int port, int64_t started_ms,
    const char *address_id)
{
	struct store_endpoint e;

	fill_endpoint(&e, id, session_id, account_id, port, started_ms);
	e.address_id = (char *)address_id;
	ck_assert_int_eq(store_endpoint_add(store, &e), 0);
}

/* Add live endpoint <id> serving <address_id> as a member of <edge_id>. */
void
mk_endpoint_member(struct store *store, const char *id, const char *session_id,
    const char *account_id, int port, int64_t started_ms,
    const char *address_id, const char *edge_id)
{
	struct store_endpoint e;

	fill_endpoint(&e, id, session_id, account_id, port, started_ms);
	e.address_id = (char *)address_id;
	e.edge_id = (char *)edge_id;
	ck_assert_int_eq(store_endpoint_add(store, &e), 0);
}

/*
 * Reserve <host>:<port> for <account_id> (NULL: for no account, as an
 * edge's own); returns its id (caller frees).
 */
char *
mk_address(struct store *store, const char *account_id, const char *host,
    int port, int64_t now_ms)
{
	struct store_address *a = NULL;
	char *id;

	ck_assert_int_eq(store_address_add(store, account_id, host, port, NULL,
	                     NULL, now_ms, &a),
	    0);
	id = strdup(a->id);
	store_address_free(a);
	return id;
}

/* A made-up keyed hash: TOKEN_HASH_LEN bytes of <c>. */
void
fill_hash(unsigned char *hash, int c)
{
	memset(hash, c, TOKEN_HASH_LEN);
}

/* The number of live sessions and live endpoints in <store>. */
void
count_live(struct store *store, size_t *nsessionsp, size_t *nendpointsp)
{
	struct store_session **sl = NULL;
	struct store_endpoint **el = NULL;

	ck_assert_int_eq(store_session_list(store, NULL, &sl, nsessionsp), 0);
	ck_assert_int_eq(store_endpoint_list(store, &el, nendpointsp), 0);
	store_session_list_free(sl, *nsessionsp);
	store_endpoint_list_free(el, *nendpointsp);
}

/* Add an edge described <description>; returns its id (caller frees). */
char *
mk_edge(struct store *store, const char *description)
{
	struct store_edge *e = NULL;
	char *id;

	ck_assert_int_eq(store_edge_add(store, description, 1000, &e), 0);
	id = strdup(e->id);
	store_edge_free(e);
	return id;
}

/* Add policy <name>; returns its id, which the caller frees. */
char *
mk_policy(struct store *store, const char *name)
{
	struct store_ip_policy *p = NULL;
	char *id;

	ck_assert_int_eq(store_ip_policy_add(store, name, NULL, 1000, &p), 0);
	id = strdup(p->id);
	store_ip_policy_free(p);
	return id;
}

/* A new event of <type> for <account_id> at <ts_ms>, object {}. */
struct event *
mk_event(const char *type, const char *account_id, int64_t ts_ms)
{
	struct event *ev;

	ck_assert_ptr_nonnull(ev = event_new(type, account_id, "{}", ts_ms));
	return ev;
}

void
free_events(struct event **evs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		event_free(evs[i]);
}

/* Record <evs> alone, with no counters and no session. */
void
record_events(struct store *store, struct event **evs, size_t n)
{
	ck_assert_int_eq(store_record(store, evs, n, NULL, 0, NULL, NULL), 0);
}

/* The number of events in <store>. */
size_t
count_events(struct store *store)
{
	struct store_event **el = NULL;
	size_t n = 0;

	ck_assert_int_eq(store_event_list(store, 0, NULL, 0, 0, &el, &n), 0);
	store_event_list_free(el, n);
	return n;
}

/*
 * The changes <ch> hears until <want> have come (at most 10 s): the
 * sum of its drains, polled on its descriptor.
 */
static int
changes_heard(struct store_changes *ch, int want)
{
	struct pollfd pfd;
	int total = 0, n, i;

	for (i = 0; i < 100 && total < want; i++) {
		memset(&pfd, 0, sizeof(pfd));
		ck_assert_int_ne(pfd.fd = store_changes_fd(ch), -1);
		pfd.events = POLLIN;
		ck_assert_int_ne(poll(&pfd, 1, 100), -1);
		ck_assert_msg(store_changes_drain(ch, &n) == 0, "%s",
		    store_changes_errmsg(ch));
		total += n;
	}
	return total;
}

/*
 * Change notification: none on SQLite; on PostgreSQL a listener hears
 * a change at once, or when its transaction commits, and never one
 * rolled back.
 */
START_TEST(test_notify_change)
{
	struct store_changes *ch = NULL;
	char errbuf[256];
	int n;

	if (tstore_target == NULL) {
		ck_assert_int_eq(store_can_notify(st), 0);
		ck_assert_int_eq(store_notify_change(st),
		    PORTHOLE_ERR_UNSUPPORTED);
		ck_assert_int_eq(store_changes_open(":memory:", &ch, errbuf,
		                     sizeof(errbuf)),
		    PORTHOLE_ERR_UNSUPPORTED);
		ck_assert_ptr_null(ch);
		ck_assert_ptr_nonnull(strstr(errbuf, "PostgreSQL"));
		return;
	}
	ck_assert_int_eq(store_can_notify(st), 1);
	ck_assert_msg(store_changes_open(tstore_target, &ch, errbuf,
	                  sizeof(errbuf)) == 0,
	    "%s", errbuf);
	ck_assert_int_eq(store_notify_change(st), 0);
	ck_assert_int_eq(changes_heard(ch, 1), 1);

	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_notify_change(st), 0);
	ck_assert_int_eq(store_changes_drain(ch, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(changes_heard(ch, 1), 1);

	/* In commit order: the next one's coming shows the first's not. */
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_notify_change(st), 0);
	store_rollback(st);
	ck_assert_int_eq(store_notify_change(st), 0);
	ck_assert_int_eq(changes_heard(ch, 1), 1);
	ck_assert_int_eq(changes_heard(ch, 0), 0);
	store_changes_free(ch);
}
END_TEST

/* The store's own cases: change notification. */
static void
store_tcases_notify(Suite *s)
{
	TCase *tc;

	tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_notify_change);
	suite_add_tcase(s, tc);
}

/*
 * The store's tests; with <pg>, those that hold for every backend (all
 * but the SQLite files' own), to run on PostgreSQL.
 */
static Suite *
store_suite(int pg)
{
	Suite *s;

	s = suite_create(pg ? "store on PostgreSQL" : "store on SQLite");
	if (!pg)
		store_tcases_file(s);
	store_tcases_account(s);
	store_tcases_session(s);
	store_tcases_address(s);
	store_tcases_event(s);
	store_tcases_node(s);
	store_tcases_apikey(s);
	store_tcases_hook(s);
	store_tcases_page(s);
	store_tcases_usage(s);
	store_tcases_notify(s);
	return s;
}

/* Run <s>; returns how many of its tests failed. */
static int
store_run_suite(Suite *s)
{
	SRunner *sr;
	int nfailed;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed;
}

/*
 * Every test on SQLite, then the same entity tests on a PostgreSQL
 * server of this program's own (or PORTHOLE_TEST_PG's); without one it
 * fails, as PostgreSQL is a test dependency.
 */
int
main(void)
{
	int nfailed;

	log_init("check_store", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	nfailed = store_run_suite(store_suite(0));
	if (pghelp_init() != 0)
		return EXIT_FAILURE;
	tstore_target = getenv("PORTHOLE_TEST_PG");
	nfailed += store_run_suite(store_suite(1));
	pghelp_done();
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
