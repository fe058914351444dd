/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "store.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "err.h"
#include "id.h"
#include "log.h"

Suite *store_suite(void);

/* Each test's store (":memory:" or a file in tmpdir), set by fixtures. */
static struct store *st;
static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX];

#define FP1  "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FP2  "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define FP3  "SHA256:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
#define BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIEyDw0cBUNJ6aj0Qw0pb4nN6wAt1dwGRKNLg"

/* Fixture: a fresh in-memory store. */
static void
setup_memory(void)
{
	char errbuf[256];

	ck_assert_int_eq(store_open(":memory:", &st, errbuf, sizeof(errbuf)),
	    0);
	ck_assert_ptr_nonnull(st);
}

/* Fixture: close the store. */
static void
teardown_store(void)
{
	store_free(st);
	st = NULL;
}

/* Fixture: an empty temporary directory; dbpath names a file in it. */
static void
setup_tmpdir(void)
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
static void
teardown_tmpdir(void)
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

/* Run <sql> on dbpath through a connection of the test's own. */
static void
raw_exec(const char *sql)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* The first column of the first row of <sql> on dbpath, as text. */
static char *
raw_text(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	char *s = NULL;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW &&
	    sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		s = strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return s;
}

/* The first column of the first row of <sql> on dbpath, as a number. */
static long long
raw_int(const char *sql)
{
	char *s;
	long long v;

	s = raw_text(sql);
	ck_assert_msg(s != NULL, "%s: no value", sql);
	v = strtoll(s, NULL, 10);
	free(s);
	return v;
}

/* Add account <name> to <store>; returns its id, which the caller frees. */
static char *
mk_account(struct store *store, const char *name)
{
	struct store_account *a = NULL;
	char *id;

	ck_assert_int_eq(store_account_add(store, name, &a), 0);
	id = strdup(a->id);
	store_account_free(a);
	return id;
}

/* Add live session <id> of <account_id> for process <pid>. */
static void
mk_session(struct store *store, const char *id, const char *account_id,
    int64_t pid, int64_t started_ms)
{
	struct store_session s;

	memset(&s, 0, sizeof(s));
	s.id = (char *)id;
	s.account_id = (char *)account_id;
	s.pid = pid;
	s.client_ip = (char *)"192.0.2.7";
	s.client_port = 50000;
	s.user = (char *)"v2";
	s.credential = (char *)"key:" FP1;
	s.started_ms = started_ms;
	ck_assert_int_eq(store_session_add(store, &s), 0);
}

/* Fill <e> for endpoint <id> of session <session_id> on <port>. */
static void
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
static void
mk_endpoint(struct store *store, const char *id, const char *session_id,
    const char *account_id, int port, int64_t started_ms)
{
	struct store_endpoint e;

	fill_endpoint(&e, id, session_id, account_id, port, started_ms);
	ck_assert_int_eq(store_endpoint_add(store, &e), 0);
}

/* The number of live sessions and live endpoints in <store>. */
static void
count_live(struct store *store, size_t *nsessionsp, size_t *nendpointsp)
{
	struct store_session **sl = NULL;
	struct store_endpoint **el = NULL;

	ck_assert_int_eq(store_session_list(store, &sl, nsessionsp), 0);
	ck_assert_int_eq(store_endpoint_list(store, &el, nendpointsp), 0);
	store_session_list_free(sl, *nsessionsp);
	store_endpoint_list_free(el, *nendpointsp);
}

/* Open. */

START_TEST(test_open_memory)
{
	int version = -1;

	ck_assert_int_eq(store_schema_version(st, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	ck_assert_ptr_nonnull(store_errmsg(st));
}
END_TEST

START_TEST(test_open_args)
{
	struct store *s = (struct store *)&s;
	char errbuf[128];

	ck_assert_int_eq(store_open(NULL, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(s);
	ck_assert_str_ne(errbuf, "");
	ck_assert_int_eq(store_open(":memory:", NULL, NULL, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* errbuf is optional. */
	ck_assert_int_eq(store_open(":memory:", &s, NULL, 0), 0);
	store_free(s);
	store_free(NULL);
	ck_assert_str_eq(store_errmsg(NULL), "no store");
}
END_TEST

START_TEST(test_open_bad_path)
{
	struct store *s = (struct store *)&s;
	char errbuf[256];

	ck_assert_int_eq(store_open("/nonexistent/porthole/dir/porthole.db", &s,
	                     errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/porthole/dir"));
}
END_TEST

START_TEST(test_open_not_a_database)
{
	struct store *s = (struct store *)&s;
	char errbuf[256];
	int fd;
	static const char junk[] = "this is not an SQLite database, not at "
	                           "all, and it is long enough to show it";

	fd = open(dbpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (int)sizeof(junk));
	close(fd);
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "not a database"));
}
END_TEST

/* Files. */

START_TEST(test_file_pragmas)
{
	struct store *s = NULL;
	char errbuf[256], *mode;
	int version = -1;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	/* WAL and user_version live in the file: read them from outside. */
	mode = raw_text("PRAGMA journal_mode");
	ck_assert_str_eq(mode, "wal");
	free(mode);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE type = 'table' AND name IN"
	                         " ('accounts', 'keys', 'sessions',"
	                         " 'endpoints')"),
	    4);
	store_free(s);
}
END_TEST

START_TEST(test_file_reopen)
{
	struct store *s = NULL;
	struct store_account *a = NULL;
	struct store_key *k = NULL;
	char errbuf[256], *id;
	int version = -1;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	ck_assert_int_eq(store_key_add(s, id, "ssh-ed25519", BLOB, FP1, "c"),
	    0);
	store_free(s);
	s = NULL;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_account_get(s, "alice", &a), 0);
	ck_assert_str_eq(a->id, id);
	ck_assert_int_eq(a->nkeys, 1);
	ck_assert_int_eq(store_key_get(s, FP1, &k), 0);
	ck_assert_str_eq(k->account_name, "alice");
	/* Reopening must not migrate again or lose anything. */
	ck_assert_int_eq(store_account_add(s, "alice", NULL),
	    PORTHOLE_ERR_EXISTS);
	store_key_free(k);
	store_account_free(a);
	store_free(s);
	free(id);
}
END_TEST

START_TEST(test_file_newer_refused)
{
	struct store *s = (struct store *)&s;
	char errbuf[256], sql[64], *mode;

	/* A plain file written by a newer porthole: refused untouched. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION + 1);
	raw_exec(sql);
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "newer"));
	ck_assert_ptr_nonnull(strstr(errbuf, dbpath));
	ck_assert_int_eq(raw_int("PRAGMA user_version"),
	    STORE_SCHEMA_VERSION + 1);
	mode = raw_text("PRAGMA journal_mode");
	ck_assert_str_ne(mode, "wal");
	free(mode);
}
END_TEST

START_TEST(test_file_newer_after_use)
{
	struct store *s = NULL;
	char errbuf[256], sql[64];

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	store_free(s);
	s = (struct store *)&s;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION + 5);
	raw_exec(sql);
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "newer"));
}
END_TEST

/* A migration that fails part-way leaves the file as it was. */
START_TEST(test_file_migration_atomic)
{
	struct store *s = (struct store *)&s;
	char errbuf[256];

	raw_exec("CREATE TABLE endpoints (x INTEGER)");
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "endpoints"));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE name = 'accounts'"),
	    0);
}
END_TEST

START_TEST(test_file_two_connections)
{
	struct store *a = NULL, *b = NULL;
	struct store_account *acct = NULL;
	struct store_key **keys = NULL;
	size_t nkeys = 0, ns, ne;
	char errbuf[256], *id;
	int n = -1;

	ck_assert_int_eq(store_open(dbpath, &a, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_open(dbpath, &b, errbuf, sizeof(errbuf)), 0);

	id = mk_account(a, "alice");
	ck_assert_int_eq(store_account_get(b, "alice", &acct), 0);
	ck_assert_str_eq(acct->id, id);
	ck_assert_int_eq(store_key_add(b, acct->id, "ssh-ed25519", BLOB, FP1,
	                     NULL),
	    0);
	ck_assert_int_eq(store_key_list(a, "alice", &keys, &nkeys), 0);
	ck_assert_uint_eq(nkeys, 1);
	ck_assert_str_eq(keys[0]->fingerprint, FP1);
	/* The same fingerprint from the other connection is a duplicate. */
	ck_assert_int_eq(store_key_add(a, id, "ssh-ed25519", BLOB, FP1, NULL),
	    PORTHOLE_ERR_EXISTS);

	/* A child records a session; the parent cleans up after it. */
	mk_session(a, "ss_1", id, 4242, 1000);
	mk_endpoint(a, "ep_1", "ss_1", id, 41234, 1001);
	count_live(b, &ns, &ne);
	ck_assert_uint_eq(ns, 1);
	ck_assert_uint_eq(ne, 1);
	ck_assert_int_eq(store_session_end_pid(b, 4242, 2000, &n), 0);
	ck_assert_int_eq(n, 1);
	count_live(a, &ns, &ne);
	ck_assert_uint_eq(ns, 0);
	ck_assert_uint_eq(ne, 0);

	store_key_list_free(keys, nkeys);
	store_account_free(acct);
	store_free(a);
	store_free(b);
	free(id);
}
END_TEST

/* Ended rows stay in the file as history, with their end time. */
START_TEST(test_file_history)
{
	struct store *s = NULL;
	char errbuf[256], *id;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	mk_session(s, "ss_1", id, 7, 1000);
	mk_endpoint(s, "ep_1", "ss_1", id, 41234, 1001);
	mk_endpoint(s, "ep_2", "ss_1", id, 41235, 1002);
	ck_assert_int_eq(store_endpoint_end(s, "ep_2", 1500), 0);
	ck_assert_int_eq(store_session_end(s, "ss_1", 2000), 0);
	ck_assert_int_eq(raw_int("SELECT ended_ms FROM sessions"
	                         " WHERE id = 'ss_1'"),
	    2000);
	ck_assert_int_eq(raw_int("SELECT ended_ms FROM endpoints"
	                         " WHERE id = 'ep_1'"),
	    2000);
	ck_assert_int_eq(raw_int("SELECT ended_ms FROM endpoints"
	                         " WHERE id = 'ep_2'"),
	    1500);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM endpoints"), 2);
	store_free(s);
	free(id);
}
END_TEST

/* Foreign keys cascade: deleting an account removes all its rows. */
START_TEST(test_file_cascade)
{
	struct store *s = NULL;
	char errbuf[256], *id;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	ck_assert_int_eq(store_key_add(s, id, "ssh-ed25519", BLOB, FP1, NULL),
	    0);
	mk_session(s, "ss_1", id, 7, 1000);
	mk_endpoint(s, "ep_1", "ss_1", id, 41234, 1001);
	store_free(s);
	raw_exec("PRAGMA foreign_keys = ON; DELETE FROM accounts");
	ck_assert_int_eq(raw_int("SELECT (SELECT count(*) FROM keys) +"
	                         " (SELECT count(*) FROM sessions) +"
	                         " (SELECT count(*) FROM endpoints)"),
	    0);
	free(id);
}
END_TEST

/* Accounts. */

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
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "UNIQUE"));
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
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "FOREIGN KEY"));
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
	ck_assert_int_eq(store_key_delete(st, FP1), 0);
	ck_assert_int_eq(store_key_get(st, FP1, &k), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_delete(st, FP1), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_delete(st, FP3), PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(store_key_delete(st, NULL),
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

START_TEST(test_session_add_list)
{
	struct store_session **list = (struct store_session **)&list;
	struct store_session s;
	size_t n = 99;
	char *alice, *bob;

	ck_assert_int_eq(store_session_list(st, &list, &n), 0);
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
	ck_assert_int_eq(store_session_add(st, &s), 0);

	ck_assert_int_eq(store_session_list(st, &list, &n), 0);
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
	ck_assert_int_eq(store_session_add(st, &s), PORTHOLE_ERR_EXISTS);
	s.id = (char *)"ss_2";
	s.account_id = (char *)"ac_000000000000000000000000";
	ck_assert_int_eq(store_session_add(st, &s), PORTHOLE_ERR_NOT_FOUND);
	s.account_id = NULL;
	ck_assert_int_eq(store_session_add(st, &s),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	s.account_id = id;
	s.client_ip = NULL;
	ck_assert_int_eq(store_session_add(st, &s),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	s.id = NULL;
	ck_assert_int_eq(store_session_add(st, &s),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_session_add(st, NULL),
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
	ck_assert_int_eq(store_session_list(st, &list, &n), 0);
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

	ck_assert_int_eq(store_session_end_pid(st, 100, 5000, &ended), 0);
	ck_assert_int_eq(ended, 2);
	ck_assert_int_eq(store_session_list(st, &list, &n), 0);
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
	ck_assert_int_eq(store_session_end_pid(st, 100, 6000, &ended), 0);
	ck_assert_int_eq(ended, 0);
	ck_assert_int_eq(store_session_end_pid(st, 999, 6000, NULL), 0);
	ck_assert_int_eq(store_session_end_pid(st, 200, 6000, NULL), 0);
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

	ck_assert_int_eq(store_session_end_all(st, 1, &ended), 0);
	ck_assert_int_eq(ended, 0);

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 200, 1001);
	mk_session(st, "ss_3", id, 300, 1002);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1003);
	mk_endpoint(st, "ep_2", "ss_3", id, 41235, 1004);
	ck_assert_int_eq(store_session_end(st, "ss_2", 2000), 0);

	ck_assert_int_eq(store_session_end_all(st, 5000, &ended), 0);
	ck_assert_int_eq(ended, 2);
	count_live(st, &n, &ne);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(ne, 0);
	ck_assert_int_eq(store_session_end_all(st, 6000, NULL), 0);
	free(id);
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
	/* The same host:port again is not refused: bind() decides. */
	mk_endpoint(st, "ep_2", "ss_a", alice, 41234, 2002);
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
	ck_assert_int_eq(store_session_list(st, &list, &n), 0);
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

/* Busy. */

/*
 * Another connection holds the write lock for a moment: the store
 * waits (busy_timeout) instead of failing at once.
 */
START_TEST(test_busy_waits)
{
	struct store *s = NULL;
	sqlite3 *db = NULL;
	char errbuf[256], c;
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		/* The child: lock, tell the parent, hold 300 ms, commit. */
		close(fds[0]);
		if (sqlite3_open(dbpath, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		        SQLITE_OK)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		usleep(300 * 1000);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		sqlite3_close(db);
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	ck_assert_int_eq(store_account_add(s, "alice", NULL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	store_free(s);
}
END_TEST

/* The lock outlasts busy_timeout: PORTHOLE_ERR_BUSY, and no change. */
START_TEST(test_busy_gives_up)
{
	struct store *s = NULL;
	struct store_account *a = NULL;
	sqlite3 *db = NULL;
	char errbuf[256];
	int n = -1;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(store_session_end_all(s, 1000, &n), PORTHOLE_ERR_BUSY);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_nonnull(strstr(store_errmsg(s), "locked"));
	/* Readers are not blocked by a writer under WAL. */
	ck_assert_int_eq(store_account_get(s, "alice", &a),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_session_end_all(s, 1000, &n), 0);
	store_free(s);
}
END_TEST

/* The store suite: open, files, busy, accounts, keys, sessions, endpoints. */
Suite *
store_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("store");

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_open_memory);
	tcase_add_test(tc, test_open_args);
	tcase_add_test(tc, test_open_bad_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_open_not_a_database);
	tcase_add_test(tc, test_file_pragmas);
	tcase_add_test(tc, test_file_reopen);
	tcase_add_test(tc, test_file_newer_refused);
	tcase_add_test(tc, test_file_newer_after_use);
	tcase_add_test(tc, test_file_migration_atomic);
	tcase_add_test(tc, test_file_two_connections);
	tcase_add_test(tc, test_file_history);
	tcase_add_test(tc, test_file_cascade);
	suite_add_tcase(s, tc);

	/* test_busy_gives_up waits out the whole busy_timeout. */
	tc = tcase_create("busy");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_set_timeout(tc, 4 + 3 * STORE_BUSY_TIMEOUT_MS / 1000);
	tcase_add_test(tc, test_busy_waits);
	tcase_add_test(tc, test_busy_gives_up);
	suite_add_tcase(s, tc);

	tc = tcase_create("account");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_loop_test(tc, test_account_name_valid, 0,
	    sizeof(account_names) / sizeof(account_names[0]));
	tcase_add_loop_test(tc, test_account_add_name_rule, 0,
	    sizeof(account_names) / sizeof(account_names[0]));
	tcase_add_test(tc, test_account_add_get);
	tcase_add_test(tc, test_account_add_duplicate);
	tcase_add_test(tc, test_account_get_id_wins);
	tcase_add_test(tc, test_account_list);
	tcase_add_test(tc, test_account_list_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_key_add_get);
	tcase_add_test(tc, test_key_add_errors);
	tcase_add_test(tc, test_key_list);
	tcase_add_test(tc, test_key_delete);
	suite_add_tcase(s, tc);

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_session_add_list);
	tcase_add_test(tc, test_session_add_errors);
	tcase_add_test(tc, test_session_end);
	tcase_add_test(tc, test_session_end_pid);
	tcase_add_test(tc, test_session_end_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("endpoint");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_endpoint_add_list);
	tcase_add_test(tc, test_endpoint_add_errors);
	tcase_add_test(tc, test_endpoint_end);
	tcase_add_test(tc, test_endpoint_set_metadata);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	log_init("check_store", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	sr = srunner_create(store_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
