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
#include <sqlite3.h>

#include "err.h"
#include "event.h"
#include "id.h"
#include "log.h"
#include "token.h"

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

/* Add live session <id> of <account_id> that <credential> opened. */
static void
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
static void
mk_session(struct store *store, const char *id, const char *account_id,
    int64_t pid, int64_t started_ms)
{
	mk_session_as(store, id, account_id, pid, started_ms, "key:" FP1);
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

/* Add live endpoint <id> serving reserved address <address_id>. */
static void
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
static void
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
static char *
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
static void
fill_hash(unsigned char *hash, int c)
{
	memset(hash, c, TOKEN_HASH_LEN);
}

/* The number of live sessions and live endpoints in <store>. */
static void
count_live(struct store *store, size_t *nsessionsp, size_t *nendpointsp)
{
	struct store_session **sl = NULL;
	struct store_endpoint **el = NULL;

	ck_assert_int_eq(store_session_list(store, NULL, &sl, nsessionsp), 0);
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

/* Schema version 1 as it was shipped, for the migration tests. */
static const char schema_v1[] =
    "CREATE TABLE accounts ("
    "  id          TEXT PRIMARY KEY NOT NULL,"
    "  name        TEXT NOT NULL UNIQUE,"
    "  disabled    INTEGER NOT NULL DEFAULT 0,"
    "  created_ms  INTEGER NOT NULL"
    ");"
    "CREATE TABLE keys ("
    "  fingerprint TEXT PRIMARY KEY NOT NULL,"
    "  account_id  TEXT NOT NULL"
    "              REFERENCES accounts(id) ON DELETE CASCADE,"
    "  type        TEXT NOT NULL,"
    "  blob        TEXT NOT NULL,"
    "  comment     TEXT NOT NULL DEFAULT '',"
    "  created_ms  INTEGER NOT NULL"
    ");"
    "CREATE INDEX keys_account ON keys(account_id);"
    "CREATE TABLE sessions ("
    "  id          TEXT PRIMARY KEY NOT NULL,"
    "  account_id  TEXT NOT NULL"
    "              REFERENCES accounts(id) ON DELETE CASCADE,"
    "  pid         INTEGER NOT NULL,"
    "  client_ip   TEXT NOT NULL,"
    "  client_port INTEGER NOT NULL,"
    "  user        TEXT NOT NULL DEFAULT '',"
    "  credential  TEXT NOT NULL DEFAULT '',"
    "  started_ms  INTEGER NOT NULL,"
    "  ended_ms    INTEGER"
    ");"
    "CREATE INDEX sessions_account ON sessions(account_id);"
    "CREATE INDEX sessions_live ON sessions(pid) WHERE ended_ms IS NULL;"
    "CREATE TABLE endpoints ("
    "  id          TEXT PRIMARY KEY NOT NULL,"
    "  session_id  TEXT NOT NULL"
    "              REFERENCES sessions(id) ON DELETE CASCADE,"
    "  account_id  TEXT NOT NULL"
    "              REFERENCES accounts(id) ON DELETE CASCADE,"
    "  host        TEXT NOT NULL,"
    "  port        INTEGER NOT NULL,"
    "  bind_address TEXT NOT NULL,"
    "  metadata    TEXT,"
    "  started_ms  INTEGER NOT NULL,"
    "  ended_ms    INTEGER"
    ");"
    "CREATE INDEX endpoints_session ON endpoints(session_id);"
    "CREATE INDEX endpoints_account ON endpoints(account_id);"
    "CREATE INDEX endpoints_live ON endpoints(host, port)"
    "  WHERE ended_ms IS NULL;"
    "PRAGMA user_version = 1;";

/* Rows a version 1 database held. */
static const char data_v1[] =
    "INSERT INTO accounts VALUES ('ac_1', 'alice', 0, 1000);"
    "INSERT INTO accounts VALUES ('ac_2', 'bob', 1, 1001);"
    "INSERT INTO keys VALUES ('" FP1 "', 'ac_1', 'ssh-ed25519', '" BLOB "',"
    "  'alice@laptop', 1002);"
    "INSERT INTO sessions VALUES ('ss_1', 'ac_1', 100, '192.0.2.7', 50000,"
    "  'v2', 'key:" FP1 "', 2000, NULL);"
    "INSERT INTO sessions VALUES ('ss_2', 'ac_1', 101, '192.0.2.8', 50001,"
    "  'v2', 'key:" FP1 "', 1500, 1800);"
    "INSERT INTO endpoints VALUES ('ep_1', 'ss_1', 'ac_1',"
    "  'tunnel.example.com', 41234, 'localhost', 'my app', 2001, NULL);"
    "INSERT INTO endpoints VALUES ('ep_2', 'ss_2', 'ac_1',"
    "  'tunnel.example.com', 41235, 'localhost', NULL, 1501, 1800);";

/* A version 1 file is brought to the current version, data intact. */
START_TEST(test_file_migrate_v1)
{
	struct store *s = NULL;
	struct store_account *a = NULL;
	struct store_key *k = NULL;
	struct store_session *ss = NULL;
	struct store_endpoint **el = NULL;
	struct store_hostport *hp = NULL;
	size_t n = 0;
	char errbuf[256], *mode;
	int version = -1;
	int64_t pid = 0;

	raw_exec(schema_v1);
	raw_exec(data_v1);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 1);
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	mode = raw_text("PRAGMA journal_mode");
	ck_assert_str_eq(mode, "wal");
	free(mode);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE type = 'table' AND name IN"
	                         " ('addresses', 'tokens', 'ip_policies',"
	                         " 'ip_policy_rules')"),
	    4);

	/* Old rows, with the new columns at their defaults. */
	ck_assert_int_eq(store_account_get(s, "alice", &a), 0);
	ck_assert_str_eq(a->id, "ac_1");
	ck_assert_int_eq(a->created_ms, 1000);
	ck_assert_str_eq(a->description, "");
	ck_assert_int_eq(a->max_sessions, 0);
	ck_assert_int_eq(a->max_endpoints, 0);
	ck_assert_int_eq(a->nkeys, 1);
	ck_assert_int_eq(a->ntokens, 0);
	ck_assert_int_eq(a->naddresses, 0);
	ck_assert_int_eq(a->nsessions, 1);
	ck_assert_ptr_null(a->ip_policy_id);
	ck_assert_ptr_null(a->ip_policy_name);
	store_account_free(a);
	ck_assert_int_eq(store_account_get(s, "bob", &a), 0);
	ck_assert_int_eq(a->disabled, 1);
	store_account_free(a);
	ck_assert_int_eq(store_key_get(s, FP1, &k), 0);
	ck_assert_str_eq(k->comment, "alice@laptop");
	store_key_free(k);
	ck_assert_int_eq(store_session_get(s, "ss_2", &ss), 0);
	ck_assert_int_eq(ss->ended_ms, 1800);
	ck_assert_ptr_null(ss->end_reason);
	ck_assert_str_eq(ss->client_ip, "192.0.2.8");
	store_session_free(ss);
	ck_assert_int_eq(store_endpoint_list(s, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->id, "ep_1");
	ck_assert_str_eq(el[0]->metadata, "my app");
	ck_assert_ptr_null(el[0]->address_id);
	store_endpoint_list_free(el, n);
	/* The old history serves affinity. */
	ck_assert_int_eq(store_affinity(s, "ac_1", "key:" FP1, 0, &hp, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(hp[0].port, 41235);
	store_hostport_list_free(hp, n);

	/* And the new tables and columns work. */
	ck_assert_int_eq(store_session_kill(s, "ss_1", "test", 3000, &pid), 0);
	ck_assert_int_eq(pid, 100);
	ck_assert_int_eq(store_address_add(s, "ac_1", "tunnel.example.com",
	                     42000, NULL, NULL, 3000, NULL),
	    0);
	store_free(s);

	/* Opening again changes nothing. */
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_account_get(s, "ac_1", &a), 0);
	ck_assert_int_eq(a->naddresses, 1);
	ck_assert_int_eq(a->nsessions, 0);
	store_account_free(a);
	store_free(s);
}
END_TEST

/* Migration 2 failing part-way leaves version 1 as it was. */
START_TEST(test_file_migrate_v2_atomic)
{
	struct store *s = (struct store *)&s;
	char errbuf[256];

	raw_exec(schema_v1);
	raw_exec(data_v1);
	/* A table in the way of the migration's CREATE TABLE tokens. */
	raw_exec("CREATE TABLE tokens (x INTEGER)");
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "tokens"));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 1);
	/* The ALTERs that ran before the failure were rolled back too. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('accounts')"
	                         " WHERE name = 'description'"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE name = 'addresses'"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"), 2);
}
END_TEST

/* What migration 2 added, as it was shipped, for the migration tests. */
static const char schema_v2[] =
    "ALTER TABLE accounts"
    "  ADD COLUMN description TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE accounts"
    "  ADD COLUMN max_sessions INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE accounts"
    "  ADD COLUMN max_endpoints INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sessions ADD COLUMN end_reason TEXT;"
    "ALTER TABLE endpoints ADD COLUMN address_id TEXT;"
    "CREATE TABLE addresses ("
    "  id          TEXT PRIMARY KEY NOT NULL,"
    "  account_id  TEXT"
    "              REFERENCES accounts(id) ON DELETE SET NULL,"
    "  host        TEXT NOT NULL,"
    "  port        INTEGER NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  metadata    TEXT NOT NULL DEFAULT '',"
    "  created_ms  INTEGER NOT NULL,"
    "  deleted_ms  INTEGER,"
    "  UNIQUE (port)"
    ");"
    "CREATE INDEX addresses_account ON addresses(account_id);"
    "CREATE TABLE tokens ("
    "  id          TEXT PRIMARY KEY NOT NULL,"
    "  account_id  TEXT NOT NULL"
    "              REFERENCES accounts(id) ON DELETE CASCADE,"
    "  hash        BLOB NOT NULL UNIQUE,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created_ms  INTEGER NOT NULL,"
    "  last_used_ms INTEGER,"
    "  revoked_ms  INTEGER"
    ");"
    "CREATE INDEX tokens_account ON tokens(account_id);"
    "CREATE INDEX sessions_account_live ON sessions(account_id)"
    "  WHERE ended_ms IS NULL;"
    "CREATE INDEX endpoints_address ON endpoints(address_id)"
    "  WHERE ended_ms IS NULL;"
    "PRAGMA user_version = 2;";

/* The hash of data_v2's token: TOKEN_HASH_LEN bytes of 0x11. */
_Static_assert(TOKEN_HASH_LEN == 32, "data_v2 spells a 32-byte hash");
#define HASH_V2_HEX                                                            \
	"1111111111111111111111111111111111111111111111111111111111111111"

/* Rows a version 2 database held, on top of data_v1. */
static const char data_v2[] =
    "UPDATE accounts SET description = 'ops team', max_sessions = 3,"
    "  max_endpoints = 5 WHERE id = 'ac_1';"
    "UPDATE sessions SET end_reason = 'killed' WHERE id = 'ss_2';"
    "INSERT INTO addresses VALUES ('ra_1', 'ac_1', 'tunnel.example.com',"
    "  42000, 'database', '{\"x\":1}', 1500, NULL);"
    "INSERT INTO addresses VALUES ('ra_2', 'ac_1', 'tunnel.example.com',"
    "  42001, '', '', 1500, 1600);"
    "INSERT INTO addresses VALUES ('ra_3', NULL, 'other.example.com',"
    "  42002, '', '', 1400, 1700);"
    "INSERT INTO endpoints VALUES ('ep_3', 'ss_1', 'ac_1',"
    "  'tunnel.example.com', 42000, 'tunnel.example.com', NULL, 2002,"
    "  NULL, 'ra_1');"
    "INSERT INTO tokens VALUES ('tk_1', 'ac_1', X'" HASH_V2_HEX "', 'ci',"
    "  1600, 1700, NULL);";

/* A version 2 file is brought forward with its data intact. */
START_TEST(test_file_migrate_v2)
{
	struct store *s = NULL;
	struct store_account *a = NULL;
	struct store_address *ra = NULL, **al = NULL;
	struct store_session *ss = NULL;
	struct store_token *t = NULL;
	struct store_ip_policy *p = NULL;
	unsigned char h[TOKEN_HASH_LEN];
	size_t n = 0;
	char errbuf[256];
	int version = -1, used = 0;

	raw_exec(schema_v1);
	raw_exec(data_v1);
	raw_exec(schema_v2);
	raw_exec(data_v2);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 2);
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE type = 'table' AND name IN"
	                         " ('ip_policies', 'ip_policy_rules')"),
	    2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('addresses')"
	                         " WHERE name IN ('ip_policy_id',"
	                         " 'proxy_proto')"),
	    2);

	/* Version 2 rows, the new columns at their defaults. */
	ck_assert_int_eq(store_account_get(s, "alice", &a), 0);
	ck_assert_str_eq(a->id, "ac_1");
	ck_assert_str_eq(a->description, "ops team");
	ck_assert_int_eq(a->max_sessions, 3);
	ck_assert_int_eq(a->max_endpoints, 5);
	ck_assert_int_eq(a->nkeys, 1);
	ck_assert_int_eq(a->ntokens, 1);
	ck_assert_int_eq(a->naddresses, 1);
	ck_assert_int_eq(a->nsessions, 1);
	ck_assert_ptr_null(a->ip_policy_id);
	ck_assert_ptr_null(a->ip_policy_name);
	store_account_free(a);
	ck_assert_int_eq(store_address_get(s, "ra_1", &ra), 0);
	ck_assert_str_eq(ra->account_name, "alice");
	ck_assert_str_eq(ra->description, "database");
	ck_assert_str_eq(ra->metadata, "{\"x\":1}");
	ck_assert_int_eq(ra->created_ms, 1500);
	ck_assert_str_eq(ra->endpoint_id, "ep_3");
	ck_assert_int_eq(ra->proxy_proto, 0);
	ck_assert_ptr_null(ra->ip_policy_id);
	ck_assert_ptr_null(ra->ip_policy_name);
	store_address_free(ra);
	ck_assert_int_eq(store_address_list(s, NULL, &al, &n), 0);
	ck_assert_uint_eq(n, 1);
	store_address_list_free(al, n);
	/* Tombstones keep their ports. */
	ck_assert_int_eq(store_address_port_used(s, 42001, &used), 0);
	ck_assert_int_eq(used, 1);
	ck_assert_int_eq(store_address_port_used(s, 42002, &used), 0);
	ck_assert_int_eq(used, 1);
	fill_hash(h, 0x11);
	ck_assert_int_eq(store_token_find(s, h, sizeof(h), &t, NULL), 0);
	ck_assert_str_eq(t->id, "tk_1");
	ck_assert_str_eq(t->description, "ci");
	ck_assert_int_eq(t->last_used_ms, 1700);
	store_token_free(t);
	ck_assert_int_eq(store_session_get(s, "ss_2", &ss), 0);
	ck_assert_str_eq(ss->end_reason, "killed");
	store_session_free(ss);

	/* The new tables and columns work. */
	ck_assert_int_eq(store_ip_policy_add(s, "office", NULL, 3000, &p), 0);
	ck_assert_int_eq(store_ip_policy_rule_add(s, p->id, 1, "10.0.0.0/8",
	                     3000),
	    0);
	ck_assert_int_eq(store_account_set_ip_policy(s, "ac_1", p->id), 0);
	ck_assert_int_eq(store_address_set_ip_policy(s, "ra_1", p->id), 0);
	ck_assert_int_eq(store_address_set_proxy_proto(s, "ra_1", 2), 0);
	store_ip_policy_free(p);
	store_free(s);

	/* Opening again changes nothing. */
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_address_get(s, "ra_1", &ra), 0);
	ck_assert_int_eq(ra->proxy_proto, 2);
	ck_assert_str_eq(ra->ip_policy_name, "office");
	store_address_free(ra);
	ck_assert_int_eq(store_ip_policy_get(s, "office", &p), 0);
	ck_assert_int_eq(p->naccounts, 1);
	ck_assert_int_eq(p->naddresses, 1);
	ck_assert_uint_eq(p->nallow, 1);
	ck_assert_str_eq(p->allow[0], "10.0.0.0/8");
	store_ip_policy_free(p);
	store_free(s);
}
END_TEST

/* Migration 3 failing part-way leaves version 2 as it was. */
START_TEST(test_file_migrate_v3_atomic)
{
	struct store *s = (struct store *)&s;
	char errbuf[256];

	raw_exec(schema_v1);
	raw_exec(data_v1);
	raw_exec(schema_v2);
	raw_exec(data_v2);
	/* An index in the way of the migration's last statement. */
	raw_exec("CREATE INDEX addresses_ip_policy ON addresses(host)");
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "addresses_ip_policy"));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 2);
	/* The tables and columns made before the failure are gone. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE name IN ('ip_policies',"
	                         " 'ip_policy_rules')"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('accounts')"
	                         " WHERE name = 'ip_policy_id'"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('addresses')"
	                         " WHERE name IN ('ip_policy_id',"
	                         " 'proxy_proto')"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM addresses"), 3);
}
END_TEST

/* What migration 3 added, as it was shipped, for the migration tests. */
static const char schema_v3[] =
    "CREATE TABLE ip_policies ("
    "  id          TEXT PRIMARY KEY NOT NULL,"
    "  name        TEXT NOT NULL UNIQUE,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created_ms  INTEGER NOT NULL"
    ");"
    "CREATE TABLE ip_policy_rules ("
    "  policy_id   TEXT NOT NULL"
    "              REFERENCES ip_policies(id) ON DELETE CASCADE,"
    "  allow       INTEGER NOT NULL,"
    "  cidr        TEXT NOT NULL,"
    "  created_ms  INTEGER NOT NULL,"
    "  UNIQUE (policy_id, allow, cidr)"
    ");"
    "ALTER TABLE accounts"
    "  ADD COLUMN ip_policy_id TEXT REFERENCES ip_policies(id);"
    "ALTER TABLE addresses"
    "  ADD COLUMN ip_policy_id TEXT REFERENCES ip_policies(id);"
    "ALTER TABLE addresses"
    "  ADD COLUMN proxy_proto INTEGER NOT NULL DEFAULT 0"
    "  CHECK (proxy_proto IN (0, 1, 2));"
    "CREATE INDEX accounts_ip_policy ON accounts(ip_policy_id)"
    "  WHERE ip_policy_id IS NOT NULL;"
    "CREATE INDEX addresses_ip_policy ON addresses(ip_policy_id)"
    "  WHERE ip_policy_id IS NOT NULL;"
    "PRAGMA user_version = 3;";

/* Rows a version 3 database held, on top of data_v1 and data_v2. */
static const char data_v3[] =
    "INSERT INTO ip_policies VALUES ('ipp_1', 'office', 'HQ', 1500);"
    "INSERT INTO ip_policy_rules VALUES ('ipp_1', 1, '10.0.0.0/8', 1500);"
    "INSERT INTO ip_policy_rules VALUES ('ipp_1', 0, '10.9.0.0/16', 1501);"
    "UPDATE accounts SET ip_policy_id = 'ipp_1' WHERE id = 'ac_1';"
    "UPDATE addresses SET ip_policy_id = 'ipp_1', proxy_proto = 2"
    "  WHERE id = 'ra_1';";

/* The four version 3 scripts and their rows, on dbpath. */
static void
mk_file_v3(void)
{
	raw_exec(schema_v1);
	raw_exec(data_v1);
	raw_exec(schema_v2);
	raw_exec(data_v2);
	raw_exec(schema_v3);
	raw_exec(data_v3);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 3);
}

/* A version 3 file is brought forward with its data intact. */
START_TEST(test_file_migrate_v3)
{
	struct store *s = NULL;
	struct store_account *a = NULL;
	struct store_address *ra = NULL;
	struct store_session *ss = NULL, **sl = NULL;
	struct store_ip_policy *p = NULL;
	struct store_event **el = NULL;
	struct store_counter *cl = NULL;
	struct store_counter c = { "porthole_connections_total", "", 3 };
	struct store_session_stats stats = { 2, 9, 100, 200 };
	struct event *ev;
	size_t n = 0;
	int64_t nsessions = -1, nendpoints = -1, nopen = -1;
	char errbuf[256];
	int version = -1;

	mk_file_v3();
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE (type = 'table' AND name IN"
	                         " ('events', 'counters')) OR"
	                         " (type = 'index' AND name IN"
	                         " ('events_timestamp', 'events_type'))"),
	    4);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('sessions')"
	                         " WHERE name IN ('conns_open', 'conns_total',"
	                         " 'bytes_in', 'bytes_out')"
	                         " AND \"notnull\" = 1 AND dflt_value = '0'"),
	    4);
	/* events_type serves a type filter in seq order. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_index_info('events_type')"),
	    2);

	/* Version 3 rows, the new columns at their defaults. */
	ck_assert_int_eq(store_account_get(s, "alice", &a), 0);
	ck_assert_str_eq(a->description, "ops team");
	ck_assert_str_eq(a->ip_policy_name, "office");
	ck_assert_int_eq(a->nsessions, 1);
	ck_assert_int_eq(a->naddresses, 1);
	store_account_free(a);
	ck_assert_int_eq(store_address_get(s, "ra_1", &ra), 0);
	ck_assert_int_eq(ra->proxy_proto, 2);
	ck_assert_str_eq(ra->ip_policy_id, "ipp_1");
	ck_assert_str_eq(ra->endpoint_id, "ep_3");
	store_address_free(ra);
	ck_assert_int_eq(store_ip_policy_get(s, "office", &p), 0);
	ck_assert_uint_eq(p->nallow, 1);
	ck_assert_uint_eq(p->ndeny, 1);
	ck_assert_str_eq(p->deny[0], "10.9.0.0/16");
	store_ip_policy_free(p);
	ck_assert_int_eq(store_session_get(s, "ss_2", &ss), 0);
	ck_assert_str_eq(ss->end_reason, "killed");
	ck_assert_int_eq(ss->ended_ms, 1800);
	ck_assert_int_eq(ss->conns_open, 0);
	ck_assert_int_eq(ss->conns_total, 0);
	ck_assert_int_eq(ss->bytes_in, 0);
	ck_assert_int_eq(ss->bytes_out, 0);
	store_session_free(ss);
	ck_assert_int_eq(store_event_list(s, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_counter_list(s, &cl, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_live_totals(s, &nsessions, &nendpoints, &nopen),
	    0);
	ck_assert_int_eq(nsessions, 1);
	ck_assert_int_eq(nendpoints, 2);
	ck_assert_int_eq(nopen, 0);

	/* The new tables and columns work on the old live session. */
	ev = event_new(EVENT_SESSION_STARTED, "ac_1", "{}", 3000);
	ck_assert_int_eq(store_record(s, &ev, 1, &c, 1, "ss_1", &stats), 0);
	event_free(ev);
	store_free(s);

	/* Opening again changes nothing. */
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_session_list(s, NULL, &sl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(sl[0]->id, "ss_1");
	ck_assert_int_eq(sl[0]->conns_open, 2);
	ck_assert_int_eq(sl[0]->conns_total, 9);
	ck_assert_int_eq(sl[0]->bytes_in, 100);
	ck_assert_int_eq(sl[0]->bytes_out, 200);
	store_session_list_free(sl, n);
	ck_assert_int_eq(store_event_list(s, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->type, EVENT_SESSION_STARTED);
	store_event_list_free(el, n);
	ck_assert_int_eq(store_counter_list(s, &cl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(cl[0].value, 3);
	store_counter_list_free(cl, n);
	ck_assert_int_eq(store_live_totals(s, NULL, NULL, &nopen), 0);
	ck_assert_int_eq(nopen, 2);
	store_free(s);
}
END_TEST

/* Migration 4 failing at its last statement leaves version 3 as it was. */
START_TEST(test_file_migrate_v4_atomic)
{
	struct store *s = (struct store *)&s;
	char errbuf[256];

	mk_file_v3();
	/* A column in the way of the migration's last ALTER TABLE. */
	raw_exec("ALTER TABLE sessions ADD COLUMN bytes_out TEXT");
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "bytes_out"));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 3);
	/* The tables, indexes and columns made before it are gone. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE name IN ('events', 'counters',"
	                         " 'events_timestamp', 'events_type')"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('sessions')"
	                         " WHERE name IN ('conns_open', 'conns_total',"
	                         " 'bytes_in')"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"), 2);
}
END_TEST

/* What migration 4 added, as it was shipped, for the migration tests. */
static const char schema_v4[] =
    "CREATE TABLE events ("
    "  seq         INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id          TEXT NOT NULL UNIQUE,"
    "  type        TEXT NOT NULL,"
    "  timestamp_ms INTEGER NOT NULL,"
    "  account_id  TEXT,"
    "  json        TEXT NOT NULL"
    ");"
    "CREATE INDEX events_timestamp ON events(timestamp_ms);"
    "CREATE INDEX events_type ON events(type, seq);"
    "CREATE TABLE counters ("
    "  name        TEXT NOT NULL,"
    "  labels      TEXT NOT NULL DEFAULT '',"
    "  value       INTEGER NOT NULL,"
    "  PRIMARY KEY (name, labels)"
    ");"
    "ALTER TABLE sessions"
    "  ADD COLUMN conns_open INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sessions"
    "  ADD COLUMN conns_total INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sessions"
    "  ADD COLUMN bytes_in INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sessions"
    "  ADD COLUMN bytes_out INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 4;";

/* Rows a version 4 database held, on top of data_v1 to data_v3. */
static const char data_v4[] =
    "INSERT INTO events (id, type, timestamp_ms, account_id, json)"
    "  VALUES ('ev_1', 'tcp_session_started.v0', 2000, 'ac_1', '{}');"
    "INSERT INTO counters VALUES ('porthole_connections_total', '', 7);"
    "UPDATE sessions SET conns_open = 2, conns_total = 9, bytes_in = 100,"
    "  bytes_out = 200 WHERE id = 'ss_1';";

/* The five version 4 scripts and their rows, on dbpath. */
static void
mk_file_v4(void)
{
	mk_file_v3();
	raw_exec(schema_v4);
	raw_exec(data_v4);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 4);
}

/* A version 4 file is brought to version 5 with its data intact. */
START_TEST(test_file_migrate_v4)
{
	struct store *s = NULL;
	struct store_address *ra = NULL;
	struct store_session *ss = NULL;
	struct store_endpoint **el = NULL, e;
	struct store_edge *ed = NULL, **dl = NULL;
	struct store_event **evl = NULL;
	struct store_counter *cl = NULL;
	struct store_endpoint_stats es = { "ep_1", 1, 2, 3, 4 };
	size_t n = 0;
	char errbuf[256], *edge_id, *addr_id;
	int version = -1, used = 0;

	mk_file_v4();
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE (type = 'table' AND name IN"
	                         " ('edges', 'edge_addresses',"
	                         " 'edge_backends')) OR"
	                         " (type = 'index' AND name IN"
	                         " ('edge_backends_account',"
	                         " 'edges_ip_policy', 'endpoints_edge'))"),
	    6);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('endpoints')"
	                         " WHERE name IN ('conns_open', 'conns_total',"
	                         " 'bytes_in', 'bytes_out')"
	                         " AND \"notnull\" = 1 AND dflt_value = '0'"),
	    4);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('endpoints')"
	                         " WHERE name = 'edge_id' AND \"notnull\" = 0"),
	    1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM edges"), 0);

	/* Version 4 rows, the new columns at their defaults. */
	ck_assert_int_eq(store_endpoint_list(s, &el, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(el[0]->id, "ep_1");
	ck_assert_str_eq(el[0]->metadata, "my app");
	ck_assert_ptr_null(el[0]->edge_id);
	ck_assert_int_eq(el[0]->conns_open, 0);
	ck_assert_int_eq(el[0]->conns_total, 0);
	ck_assert_int_eq(el[0]->bytes_in, 0);
	ck_assert_int_eq(el[0]->bytes_out, 0);
	ck_assert_str_eq(el[1]->id, "ep_3");
	ck_assert_str_eq(el[1]->address_id, "ra_1");
	ck_assert_ptr_null(el[1]->edge_id);
	store_endpoint_list_free(el, n);
	ck_assert_int_eq(store_address_get(s, "ra_1", &ra), 0);
	ck_assert_str_eq(ra->account_name, "alice");
	ck_assert_int_eq(ra->proxy_proto, 2);
	ck_assert_str_eq(ra->ip_policy_name, "office");
	ck_assert_str_eq(ra->endpoint_id, "ep_3");
	ck_assert_ptr_null(ra->edge_id);
	store_address_free(ra);
	ck_assert_int_eq(store_session_get(s, "ss_1", &ss), 0);
	ck_assert_int_eq(ss->conns_open, 2);
	ck_assert_int_eq(ss->conns_total, 9);
	ck_assert_int_eq(ss->bytes_out, 200);
	store_session_free(ss);
	ck_assert_int_eq(store_event_list(s, 0, NULL, 0, 0, &evl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(evl[0]->id, "ev_1");
	store_event_list_free(evl, n);
	ck_assert_int_eq(store_counter_list(s, &cl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(cl[0].value, 7);
	store_counter_list_free(cl, n);
	/* Tombstones keep their ports. */
	ck_assert_int_eq(store_address_port_used(s, 42002, &used), 0);
	ck_assert_int_eq(used, 1);
	ck_assert_int_eq(store_edge_list(s, &dl, &n), 0);
	ck_assert_ptr_null(dl);
	ck_assert_uint_eq(n, 0);

	/* The new tables and columns work with the old rows. */
	ck_assert_int_eq(store_edge_add(s, "web", 3000, &ed), 0);
	edge_id = strdup(ed->id);
	store_edge_free(ed);
	addr_id = mk_address(s, NULL, "tunnel.example.com", 42003, 3000);
	ck_assert_int_eq(store_edge_address_add(s, edge_id, addr_id), 0);
	ck_assert_int_eq(store_edge_address_add(s, edge_id, "ra_1"), 0);
	ck_assert_int_eq(store_edge_backend_add(s, edge_id, "ac_1"), 0);
	ck_assert_int_eq(store_edge_set_ip_policy(s, edge_id, "ipp_1"), 0);
	fill_endpoint(&e, "ep_4", "ss_1", "ac_1", 42003, 3001);
	e.address_id = addr_id;
	e.edge_id = edge_id;
	ck_assert_int_eq(store_endpoint_add(s, &e), 0);
	ck_assert_int_eq(store_endpoint_stats(s, &es, 1), 0);
	store_free(s);

	/* Opening again changes nothing. */
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_edge_get(s, edge_id, &ed), 0);
	ck_assert_str_eq(ed->description, "web");
	ck_assert_str_eq(ed->ip_policy_name, "office");
	ck_assert_uint_eq(ed->naddresses, 2);
	ck_assert_str_eq(ed->addresses[0]->id, addr_id);
	ck_assert_ptr_null(ed->addresses[0]->account_id);
	ck_assert_str_eq(ed->addresses[1]->id, "ra_1");
	ck_assert_str_eq(ed->addresses[1]->account_id, "ac_1");
	ck_assert_uint_eq(ed->nbackends, 1);
	ck_assert_str_eq(ed->backends[0]->name, "alice");
	/* ep_3 serves ra_1, but joined no edge: members name theirs. */
	ck_assert_uint_eq(ed->nmembers, 1);
	ck_assert_str_eq(ed->members[0]->id, "ep_4");
	store_edge_free(ed);
	ck_assert_int_eq(store_endpoint_list(s, &el, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(el[0]->id, "ep_1");
	ck_assert_int_eq(el[0]->conns_open, 1);
	ck_assert_int_eq(el[0]->bytes_out, 4);
	store_endpoint_list_free(el, n);
	ck_assert_int_eq(store_ip_policy_delete(s, "ipp_1"),
	    PORTHOLE_ERR_DENIED);
	store_free(s);
	free(edge_id);
	free(addr_id);
}
END_TEST

/* Migration 5 failing at its last statement leaves version 4 as it was. */
START_TEST(test_file_migrate_v5_atomic)
{
	struct store *s = (struct store *)&s;
	char errbuf[256];

	mk_file_v4();
	/* An index in the way of the migration's last statement. */
	raw_exec("CREATE INDEX endpoints_edge ON endpoints(host)");
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_STORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(errbuf, "endpoints_edge"));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 4);
	/* The tables, indexes and columns made before it are gone. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE name IN ('edges', 'edge_addresses',"
	                         " 'edge_backends', 'edge_backends_account',"
	                         " 'edges_ip_policy')"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM"
	                         " pragma_table_info('endpoints')"
	                         " WHERE name IN ('edge_id', 'conns_open',"
	                         " 'conns_total', 'bytes_in', 'bytes_out')"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM endpoints"), 3);
}
END_TEST

/* The result code of <sql> run on dbpath, foreign keys on. */
static int
raw_exec_rc(const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL,
	                     NULL, NULL),
	    SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/*
 * Deleting a policy takes its rules and clears it from tombstones; the
 * schema itself refuses a bad PROXY version and a dangling policy.
 */
START_TEST(test_file_ip_policy_delete)
{
	struct store *s = NULL;
	struct store_ip_policy *p = NULL;
	char errbuf[256], sql[256], *id, *ra1, *ra2;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	ra1 = mk_address(s, id, "tunnel.example.com", 42000, 1000);
	ra2 = mk_address(s, id, "tunnel.example.com", 42001, 1000);
	ck_assert_int_eq(store_ip_policy_add(s, "office", NULL, 1000, &p), 0);
	ck_assert_int_eq(store_ip_policy_rule_add(s, p->id, 1, "10.0.0.0/8",
	                     1000),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(s, p->id, 0, "10.1.0.0/16",
	                     1000),
	    0);
	ck_assert_int_eq(store_address_set_ip_policy(s, ra1, p->id), 0);
	ck_assert_int_eq(store_address_set_ip_policy(s, ra2, p->id), 0);
	ck_assert_int_eq(store_address_delete(s, ra2, 2000), 0);

	/* The schema's own checks, beneath the API's. */
	snprintf(sql, sizeof(sql),
	    "UPDATE addresses SET proxy_proto = 3 WHERE id = '%s'", ra1);
	ck_assert_int_eq(raw_exec_rc(sql), SQLITE_CONSTRAINT_CHECK);
	ck_assert_int_eq(raw_exec_rc("UPDATE accounts SET ip_policy_id ="
	                             " 'ip_nope'"),
	    SQLITE_CONSTRAINT_FOREIGNKEY);
	ck_assert_int_eq(raw_exec_rc("DELETE FROM ip_policies"),
	    SQLITE_CONSTRAINT_FOREIGNKEY);

	/* Still held by ra1; the tombstone ra2 does not count. */
	ck_assert_int_eq(store_ip_policy_delete(s, p->id), PORTHOLE_ERR_DENIED);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM ip_policy_rules"), 2);
	ck_assert_int_eq(store_address_delete(s, ra1, 3000), 0);
	ck_assert_int_eq(store_ip_policy_delete(s, p->id), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM ip_policies"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM ip_policy_rules"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM addresses"
	                         " WHERE ip_policy_id IS NOT NULL"),
	    0);
	/* The tombstones are otherwise as they were. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM addresses"
	                         " WHERE deleted_ms IS NOT NULL"),
	    2);
	store_ip_policy_free(p);
	store_free(s);
	free(id);
	free(ra1);
	free(ra2);
}
END_TEST

/* Deleting an account leaves its addresses as unowned tombstones. */
START_TEST(test_file_account_delete_tombstones)
{
	struct store *s = NULL;
	char errbuf[256], *id, *ra1, *ra2;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	ra1 = mk_address(s, id, "tunnel.example.com", 42000, 1000);
	ra2 = mk_address(s, id, "tunnel.example.com", 42001, 1000);
	ck_assert_int_eq(store_address_delete(s, ra2, 500), 0);
	ck_assert_int_eq(store_token_add(s, "tk_1", id,
	                     (const unsigned char *)"0123456789abcdef"
	                                            "0123456789abcdef",
	                     TOKEN_HASH_LEN, NULL, 1000),
	    0);
	ck_assert_int_eq(store_account_delete(s, id, 9000, NULL, NULL), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM addresses"
	                         " WHERE account_id IS NULL"),
	    2);
	/* An address deleted before keeps its own time. */
	ck_assert_int_eq(raw_int("SELECT deleted_ms FROM addresses"
	                         " WHERE port = 42000"),
	    9000);
	ck_assert_int_eq(raw_int("SELECT deleted_ms FROM addresses"
	                         " WHERE port = 42001"),
	    500);
	ck_assert_int_eq(raw_int("SELECT (SELECT count(*) FROM accounts) +"
	                         " (SELECT count(*) FROM keys) +"
	                         " (SELECT count(*) FROM tokens)"),
	    0);
	store_free(s);
	free(id);
	free(ra1);
	free(ra2);
}
END_TEST

/* Add an edge described <description>; returns its id (caller frees). */
static char *
mk_edge(struct store *store, const char *description)
{
	struct store_edge *e = NULL;
	char *id;

	ck_assert_int_eq(store_edge_add(store, description, 1000, &e), 0);
	id = strdup(e->id);
	store_edge_free(e);
	return id;
}

/*
 * The schema's own checks on edges, beneath the API's; and what an
 * account's deletion and an edge's deletion leave behind.
 */
START_TEST(test_file_edge_schema)
{
	struct store *s = NULL;
	struct store_edge *e = NULL;
	char errbuf[256], sql[256], *alice, *bob, *ed1, *ed2, *ra, *rb, *ru;
	char *pol;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	alice = mk_account(s, "alice");
	bob = mk_account(s, "bob");
	ed1 = mk_edge(s, "one");
	ed2 = mk_edge(s, "two");
	ra = mk_address(s, alice, "tunnel.example.com", 42000, 1000);
	rb = mk_address(s, bob, "tunnel.example.com", 42001, 1000);
	ru = mk_address(s, NULL, "tunnel.example.com", 42002, 1000);
	ck_assert_int_eq(store_edge_address_add(s, ed1, ra), 0);
	ck_assert_int_eq(store_edge_address_add(s, ed1, ru), 0);
	ck_assert_int_eq(store_edge_address_add(s, ed2, rb), 0);
	ck_assert_int_eq(store_edge_backend_add(s, ed1, alice), 0);
	ck_assert_int_eq(store_edge_backend_add(s, ed1, bob), 0);
	ck_assert_int_eq(store_edge_backend_add(s, ed2, alice), 0);
	ck_assert_int_eq(store_ip_policy_add(s, "office", NULL, 1000, NULL), 0);
	pol = raw_text("SELECT id FROM ip_policies");
	ck_assert_int_eq(store_edge_set_ip_policy(s, ed2, pol), 0);

	/* One edge per address, a PROXY version, no dangling policy. */
	snprintf(sql, sizeof(sql),
	    "INSERT INTO edge_addresses (edge_id, address_id)"
	    " VALUES ('%s', '%s')",
	    ed2, ra);
	ck_assert_int_eq(raw_exec_rc(sql), SQLITE_CONSTRAINT_UNIQUE);
	snprintf(sql, sizeof(sql),
	    "UPDATE edges SET proxy_proto = 3 WHERE id = '%s'", ed1);
	ck_assert_int_eq(raw_exec_rc(sql), SQLITE_CONSTRAINT_CHECK);
	ck_assert_int_eq(raw_exec_rc("DELETE FROM ip_policies"),
	    SQLITE_CONSTRAINT_FOREIGNKEY);
	ck_assert_int_eq(raw_exec_rc("INSERT INTO edge_backends"
	                             " VALUES ('ed_nope', 'ac_nope')"),
	    SQLITE_CONSTRAINT_FOREIGNKEY);

	/*
	 * Alice deleted: her backend rows go, the edges stay; her
	 * address is a tombstone and off its edge.
	 */
	ck_assert_int_eq(store_account_delete(s, alice, 2000, NULL, NULL), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM edges"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM edge_backends"), 1);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM edge_addresses WHERE address_id = '%s'", ra);
	ck_assert_int_eq(raw_int(sql), 0);
	snprintf(sql, sizeof(sql),
	    "SELECT deleted_ms FROM addresses WHERE id = '%s'", ra);
	ck_assert_int_eq(raw_int(sql), 2000);
	ck_assert_int_eq(store_edge_get(s, ed1, &e), 0);
	ck_assert_uint_eq(e->naddresses, 1);
	ck_assert_str_eq(e->addresses[0]->id, ru);
	ck_assert_uint_eq(e->nbackends, 1);
	ck_assert_str_eq(e->backends[0]->name, "bob");
	store_edge_free(e);

	/* Edge one deleted: its rows go, its own address is a tombstone. */
	ck_assert_int_eq(store_edge_delete(s, ed1, 3000), 0);
	snprintf(sql, sizeof(sql),
	    "SELECT (SELECT count(*) FROM edge_addresses"
	    " WHERE edge_id = '%s') + (SELECT count(*) FROM edge_backends"
	    " WHERE edge_id = '%s')",
	    ed1, ed1);
	ck_assert_int_eq(raw_int(sql), 0);
	snprintf(sql, sizeof(sql),
	    "SELECT deleted_ms FROM addresses WHERE id = '%s'", ru);
	ck_assert_int_eq(raw_int(sql), 3000);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM edge_addresses"), 1);
	/* The tombstone's port is never reserved again. */
	ck_assert_int_eq(store_address_add(s, NULL, "other.example.com", 42002,
	                     NULL, NULL, 4000, NULL),
	    PORTHOLE_ERR_EXISTS);
	store_free(s);
	free(alice);
	free(bob);
	free(ed1);
	free(ed2);
	free(ra);
	free(rb);
	free(ru);
	free(pol);
}
END_TEST

/* The session limit holds across connections. */
START_TEST(test_file_session_limit_two_connections)
{
	struct store *a = NULL, *b = NULL;
	struct store_session s;
	char errbuf[256], *id;

	ck_assert_int_eq(store_open(dbpath, &a, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_open(dbpath, &b, errbuf, sizeof(errbuf)), 0);
	id = mk_account(a, "alice");
	memset(&s, 0, sizeof(s));
	s.id = (char *)"ss_1";
	s.account_id = id;
	s.client_ip = (char *)"192.0.2.1";
	ck_assert_int_eq(store_session_add(a, &s, 1), 0);
	s.id = (char *)"ss_2";
	ck_assert_int_eq(store_session_add(b, &s, 1), PORTHOLE_ERR_EXHAUSTED);
	ck_assert_int_eq(store_session_end(b, "ss_1", 2000), 0);
	ck_assert_int_eq(store_session_add(a, &s, 1), 0);
	store_free(a);
	store_free(b);
	free(id);
}
END_TEST

#define RACE_PROCS 8
#define RACE_LIMIT 3

/*
 * Many processes log in at once against a limit: exactly that many
 * get in, the others are told _EXHAUSTED, none fails otherwise.
 */
START_TEST(test_file_session_limit_race)
{
	struct store *s = NULL;
	struct store_session ss;
	pid_t pids[RACE_PROCS];
	char errbuf[256], sid[32], *id;
	int fds[2], i, status, nok = 0, nfull = 0, r;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	store_free(s);
	s = NULL;
	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < RACE_PROCS; i++) {
		if ((pids[i] = fork()) == 0) {
			char c;

			/* Each child: own connection, wait for the start. */
			close(fds[1]);
			if (store_open(dbpath, &s, NULL, 0) != 0)
				_exit(1);
			if (read(fds[0], &c, 1) != 0)
				_exit(1);
			snprintf(sid, sizeof(sid), "ss_%d", i);
			memset(&ss, 0, sizeof(ss));
			ss.id = sid;
			ss.account_id = id;
			ss.pid = getpid();
			ss.client_ip = (char *)"192.0.2.1";
			r = store_session_add(s, &ss, RACE_LIMIT);
			store_free(s);
			_exit(r == 0 ? 0 : r == PORTHOLE_ERR_EXHAUSTED ? 3 : 1);
		}
		ck_assert_int_ne(pids[i], -1);
	}
	/* Closing the write end starts them all at once. */
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < RACE_PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			nok++;
		else if (WEXITSTATUS(status) == 3)
			nfull++;
	}
	ck_assert_int_eq(nok, RACE_LIMIT);
	ck_assert_int_eq(nfull, RACE_PROCS - RACE_LIMIT);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"), RACE_LIMIT);
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

	ck_assert_int_eq(store_session_end_pid(st, 100, 5000, &ended), 0);
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

/* Add policy <name>; returns its id, which the caller frees. */
static char *
mk_policy(struct store *store, const char *name)
{
	struct store_ip_policy *p = NULL;
	char *id;

	ck_assert_int_eq(store_ip_policy_add(store, name, NULL, 1000, &p), 0);
	id = strdup(p->id);
	store_ip_policy_free(p);
	return id;
}

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

/* Events and metrics. */

/* Processes recording at once, batches each, events per batch. */
#define RECORD_PROCS   6
#define RECORD_BATCHES 20
#define RECORD_EVENTS  50

_Static_assert(RECORD_BATCHES *RECORD_EVENTS == 1000,
    "test_file_record_concurrent counts 1000 events a process");

/* The size of the batch whose time is measured. */
#define BIG_BATCH 1000

/* A new event of <type> for <account_id> at <ts_ms>, object {}. */
static struct event *
mk_event(const char *type, const char *account_id, int64_t ts_ms)
{
	struct event *ev;

	ck_assert_ptr_nonnull(ev = event_new(type, account_id, "{}", ts_ms));
	return ev;
}

static void
free_events(struct event **evs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		event_free(evs[i]);
}

/* Record <evs> alone, with no counters and no session. */
static void
record_events(struct store *store, struct event **evs, size_t n)
{
	ck_assert_int_eq(store_record(store, evs, n, NULL, 0, NULL, NULL), 0);
}

/* The number of events in <store>. */
static size_t
count_events(struct store *store)
{
	struct store_event **el = NULL;
	size_t n = 0;

	ck_assert_int_eq(store_event_list(store, 0, NULL, 0, 0, &el, &n), 0);
	store_event_list_free(el, n);
	return n;
}

/* The number of counters in <store>. */
static size_t
count_counters(struct store *store)
{
	struct store_counter *cl = NULL;
	size_t n = 0;

	ck_assert_int_eq(store_counter_list(store, &cl, &n), 0);
	store_counter_list_free(cl, n);
	return n;
}

/* Events come back as recorded, in the order recorded. */
START_TEST(test_record_events)
{
	struct event *evs[4];
	struct store_event **el = (struct store_event **)&el;
	size_t n = 99, i;

	evs[0] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	evs[1] = event_new(EVENT_ADDRESS_CREATED, NULL,
	    "{\"name\":\"say \\\"hi\\\"\\n\"}", 1001);
	/* An earlier timestamp still comes later: seq is the order. */
	evs[2] = mk_event(EVENT_SESSION_ENDED, "ac_2", 999);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_ptr_null(el);
	ck_assert_uint_eq(n, 0);
	record_events(st, evs, 3);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		ck_assert_int_gt(el[i]->seq, i == 0 ? 0 : el[i - 1]->seq);
		ck_assert_str_eq(el[i]->id, evs[i]->id);
		ck_assert_str_eq(el[i]->type, evs[i]->type);
		ck_assert_int_eq(el[i]->timestamp_ms, evs[i]->timestamp_ms);
		ck_assert_str_eq(el[i]->json, evs[i]->json);
	}
	ck_assert_str_eq(el[0]->account_id, "ac_1");
	ck_assert_ptr_null(el[1]->account_id);
	ck_assert_str_eq(el[2]->account_id, "ac_2");

	/* A follower asks for what came after the last it saw. */
	evs[3] = mk_event(EVENT_ENDPOINT_STARTED, "ac_1", 1002);
	record_events(st, evs + 3, 1);
	i = (size_t)el[2]->seq;
	store_event_list_free(el, n);
	ck_assert_int_eq(store_event_list(st, (int64_t)i, NULL, 0, 0, &el, &n),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(el[0]->id, evs[3]->id);
	store_event_list_free(el, n);
	free_events(evs, 4);
}
END_TEST

/*
 * A batch is all or nothing: a taken event id fails it with _EXISTS,
 * the events before it and its counters gone too, even at 1000 events.
 */
START_TEST(test_record_duplicate)
{
	struct event *evs[BIG_BATCH];
	struct store_counter c = { "porthole_connections_total", "", 5 };
	struct store_counter *cl = NULL;
	struct store_event **el = NULL;
	size_t n = 0, i;

	for (i = 0; i < BIG_BATCH; i++)
		evs[i] = mk_event(EVENT_CONNECTION_CLOSED, "ac_1", 1000);
	record_events(st, evs, 1);
	ck_assert_int_eq(store_record(st, evs + 1, BIG_BATCH - 1, &c, 1, NULL,
	                     NULL),
	    0);
	ck_assert_uint_eq(count_events(st), BIG_BATCH);
	/* Again: the first event of the batch is taken. */
	ck_assert_int_eq(store_record(st, evs, 1, &c, 1, NULL, NULL),
	    PORTHOLE_ERR_EXISTS);
	free_events(evs + 1, BIG_BATCH - 1);
	for (i = 1; i < BIG_BATCH; i++)
		evs[i] = mk_event(EVENT_CONNECTION_CLOSED, "ac_1", 2000);
	/* The last is taken: the 998 before it are not recorded. */
	free(evs[BIG_BATCH - 1]->id);
	ck_assert_ptr_nonnull(evs[BIG_BATCH - 1]->id = strdup(evs[0]->id));
	ck_assert_int_eq(store_record(st, evs + 1, BIG_BATCH - 1, &c, 1, NULL,
	                     NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 1500, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(count_events(st), BIG_BATCH);
	ck_assert_int_eq(store_counter_list(st, &cl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(cl[0].value, 5);
	store_counter_list_free(cl, n);
	/* The same id twice in one batch. */
	ck_assert_int_eq(store_record(st, (struct event *[]){ evs[1], evs[1] },
	                     2, NULL, 0, NULL, NULL),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_uint_eq(count_events(st), BIG_BATCH);
	free_events(evs, BIG_BATCH);
}
END_TEST

/* Bad arguments record nothing; NULL elements are skipped; none is 0. */
START_TEST(test_record_args)
{
	struct event *evs[3], bad;
	struct store_counter c[2] = { { "porthole_a_total", "", 1 },
		{ NULL, "", 1 } };
	struct store_session_stats stats = { 1, 1, 1, 1 };

	evs[0] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	evs[1] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	memset(&bad, 0, sizeof(bad));
	bad.id = evs[1]->id;
	bad.type = EVENT_SESSION_STARTED;
	evs[2] = &bad; /* no json */
	ck_assert_int_eq(store_record(NULL, evs, 1, NULL, 0, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, NULL, 1, NULL, 0, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, evs, 0, NULL, 1, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, evs, 3, c, 1, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_record(st, evs, 2, c, 2, NULL, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(count_events(st), 0);
	ck_assert_uint_eq(count_counters(st), 0);

	/* Nothing to do, and a session without stats, are fine. */
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, NULL, NULL), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", NULL), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, NULL, &stats), 0);
	/* A session that does not exist is not an error. */
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_nope", &stats),
	    0);

	evs[2] = NULL;
	ck_assert_int_eq(store_record(st,
	                     (struct event *[]){ NULL, evs[0], NULL, evs[1] },
	                     4, c, 1, NULL, NULL),
	    0);
	ck_assert_uint_eq(count_events(st), 2);
	ck_assert_uint_eq(count_counters(st), 1);
	free_events(evs, 2);
}
END_TEST

/* Counters add up their deltas, per name and labels. */
START_TEST(test_record_counters)
{
	struct store_counter d1[] = {
		{ "porthole_connections_total", "", 1 },
		{ "porthole_bytes_total", "direction=\"out\"", 50 },
		{ "porthole_bytes_total", "direction=\"in\"", 100 },
		{ "porthole_refused_total", NULL, 0 },
		{ "porthole_connections_total", "", 2 },
	};
	struct store_counter d2[] = {
		{ "porthole_bytes_total", "direction=\"in\"", 11 },
		{ "porthole_connections_total", "", -1 },
		{ "porthole_bytes_total", "", 7 },
	};
	struct store_counter *cl = (struct store_counter *)&cl;
	size_t n = 99;

	ck_assert_int_eq(store_counter_list(st, &cl, &n), 0);
	ck_assert_ptr_null(cl);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_record(st, NULL, 0, d1, 5, NULL, NULL), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, d2, 3, NULL, NULL), 0);
	ck_assert_int_eq(store_counter_list(st, &cl, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(cl[0].name, "porthole_bytes_total");
	ck_assert_str_eq(cl[0].labels, "");
	ck_assert_int_eq(cl[0].value, 7);
	ck_assert_str_eq(cl[1].name, "porthole_bytes_total");
	ck_assert_str_eq(cl[1].labels, "direction=\"in\"");
	ck_assert_int_eq(cl[1].value, 111);
	ck_assert_str_eq(cl[2].labels, "direction=\"out\"");
	ck_assert_int_eq(cl[2].value, 50);
	ck_assert_str_eq(cl[3].name, "porthole_connections_total");
	ck_assert_int_eq(cl[3].value, 2);
	/* A zero delta still makes the counter, at 0. */
	ck_assert_str_eq(cl[4].name, "porthole_refused_total");
	ck_assert_str_eq(cl[4].labels, "");
	ck_assert_int_eq(cl[4].value, 0);
	store_counter_list_free(cl, n);
	store_counter_list_free(NULL, 0);

	ck_assert_int_eq(store_counter_list(st, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_counter_list(st, &cl, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(cl);
}
END_TEST

/*
 * A session's stats are the values it last recorded, seen by get and
 * list; once it has ended they stay as they were.
 */
START_TEST(test_record_session_stats)
{
	struct store_session_stats s1 = { 3, 10, 1000, 2000 };
	struct store_session_stats s2 = { 1, 12, 1500, 2500 };
	struct store_session_stats s3 = { 9, 99, 9999, 99999 };
	struct store_session *ss = NULL, **sl = NULL;
	struct event *ev;
	size_t n = 0;
	char *id;

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 101, 1001);
	ck_assert_int_eq(store_session_get(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss->conns_open, 0);
	ck_assert_int_eq(ss->conns_total, 0);
	ck_assert_int_eq(ss->bytes_in, 0);
	ck_assert_int_eq(ss->bytes_out, 0);
	store_session_free(ss);

	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", &s1), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", &s2), 0);
	ck_assert_int_eq(store_session_get(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss->conns_open, 1);
	ck_assert_int_eq(ss->conns_total, 12);
	ck_assert_int_eq(ss->bytes_in, 1500);
	ck_assert_int_eq(ss->bytes_out, 2500);
	store_session_free(ss);
	ck_assert_int_eq(store_session_list(st, NULL, &sl, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(sl[0]->id, "ss_1");
	ck_assert_int_eq(sl[0]->conns_total, 12);
	ck_assert_int_eq(sl[0]->bytes_out, 2500);
	ck_assert_str_eq(sl[1]->id, "ss_2");
	ck_assert_int_eq(sl[1]->conns_total, 0);
	store_session_list_free(sl, n);

	/* Ended: the events still go in, the stats are left alone. */
	ck_assert_int_eq(store_session_kill(st, "ss_1", NULL, 3000, NULL), 0);
	ev = mk_event(EVENT_SESSION_ENDED, id, 3001);
	ck_assert_int_eq(store_record(st, &ev, 1, NULL, 0, "ss_1", &s3), 0);
	ck_assert_uint_eq(count_events(st), 1);
	ck_assert_int_eq(store_session_get(st, "ss_1", &ss), 0);
	ck_assert_int_eq(ss->conns_open, 1);
	ck_assert_int_eq(ss->conns_total, 12);
	store_session_free(ss);
	/* The other session was never touched. */
	ck_assert_int_eq(store_session_get(st, "ss_2", &ss), 0);
	ck_assert_int_eq(ss->bytes_in, 0);
	store_session_free(ss);
	event_free(ev);
	free(id);
}
END_TEST

/*
 * The events of test_event_list, by letter: type, timestamp. They are
 * recorded in this order; F is before the epoch.
 */
static const struct {
	const char *type;
	int64_t ts;
} list_events[] = {
	{ EVENT_SESSION_STARTED, 1000 }, /* A */
	{ EVENT_CONNECTION_CLOSED, 2000 }, /* B */
	{ EVENT_CONNECTION_CLOSED, 3000 }, /* C */
	{ EVENT_SESSION_ENDED, 1500 }, /* D */
	{ EVENT_CONNECTION_CLOSED, 4000 }, /* E */
	{ EVENT_SESSION_ENDED, -1 }, /* F */
};
#define NLIST_EVENTS (sizeof(list_events) / sizeof(list_events[0]))

/* The filters, and the letters expected, oldest first. */
static const struct {
	int after; /* a letter's seq, 0 for none */
	const char *type;
	int64_t since;
	size_t limit;
	const char *want;
} list_cases[] = {
	{ 0, NULL, 0, 0, "ABCDEF" },
	{ 'B', NULL, 0, 0, "CDEF" },
	{ 'F', NULL, 0, 0, "" },
	{ 0, EVENT_CONNECTION_CLOSED, 0, 0, "BCE" },
	{ 0, EVENT_SESSION_ENDED, 0, 0, "DF" },
	{ 0, "tcp_nothing.v0", 0, 0, "" },
	{ 0, NULL, 2000, 0, "BCE" },
	{ 0, NULL, 1500, 0, "BCDE" },
	{ 0, NULL, 1, 0, "ABCDE" },
	{ 0, NULL, -1, 0, "ABCDEF" },
	{ 0, NULL, 5000, 0, "" },
	{ 0, NULL, 0, 2, "EF" },
	{ 0, NULL, 0, 1, "F" },
	{ 0, NULL, 0, 6, "ABCDEF" },
	{ 0, NULL, 0, 100, "ABCDEF" },
	{ 0, NULL, 0, SIZE_MAX, "ABCDEF" },
	{ 0, EVENT_CONNECTION_CLOSED, 0, 2, "CE" },
	{ 0, EVENT_CONNECTION_CLOSED, 2500, 1, "E" },
	{ 0, EVENT_CONNECTION_CLOSED, 2500, 5, "CE" },
	{ 'C', EVENT_CONNECTION_CLOSED, 0, 0, "E" },
	{ 'A', EVENT_CONNECTION_CLOSED, 0, 1, "E" },
	{ 'A', NULL, 1200, 2, "DE" },
	{ 'D', NULL, 0, 3, "EF" },
	{ 'D', EVENT_SESSION_ENDED, 0, 3, "F" },
	{ 'A', EVENT_SESSION_ENDED, 1000, 0, "D" },
};

START_TEST(test_event_list)
{
	struct event *evs[NLIST_EVENTS];
	struct store_event **el = NULL, **all = NULL;
	size_t n = 0, nall = 0, i;
	int64_t after = 0;
	const char *want = list_cases[_i].want;

	for (i = 0; i < NLIST_EVENTS; i++)
		evs[i] =
		    mk_event(list_events[i].type, "ac_1", list_events[i].ts);
	/* Two batches, so that seq runs on across transactions. */
	record_events(st, evs, 2);
	record_events(st, evs + 2, NLIST_EVENTS - 2);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &all, &nall), 0);
	ck_assert_uint_eq(nall, NLIST_EVENTS);
	if (list_cases[_i].after != 0)
		after = all[list_cases[_i].after - 'A']->seq;
	ck_assert_int_eq(store_event_list(st, after, list_cases[_i].type,
	                     list_cases[_i].since, list_cases[_i].limit, &el,
	                     &n),
	    0);
	ck_assert_msg(n == strlen(want), "%zu events, want %s", n, want);
	for (i = 0; i < n; i++) {
		ck_assert_msg(strcmp(el[i]->id, evs[want[i] - 'A']->id) == 0,
		    "event %zu is not %c", i, want[i]);
		ck_assert_int_eq(el[i]->seq, all[want[i] - 'A']->seq);
	}
	store_event_list_free(el, n);
	store_event_list_free(all, nall);
	free_events(evs, NLIST_EVENTS);
}
END_TEST

START_TEST(test_event_list_args)
{
	struct store_event **el = (struct store_event **)&el;
	size_t n = 99;

	ck_assert_int_eq(store_event_list(NULL, 0, NULL, 0, 0, &el, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(el);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, NULL, &n),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	store_event_list_free(NULL, 0);
	store_event_free(NULL);
}
END_TEST

/* Pruning drops old events; seq is never reused, even when all go. */
START_TEST(test_event_prune)
{
	struct event *evs[4];
	struct store_event **el = NULL;
	size_t n = 0;
	int64_t pruned = -1, last;

	evs[0] = mk_event(EVENT_SESSION_STARTED, "ac_1", 3000);
	evs[1] = mk_event(EVENT_SESSION_STARTED, "ac_1", 1000);
	evs[2] = mk_event(EVENT_SESSION_STARTED, "ac_1", 2000);
	evs[3] = mk_event(EVENT_SESSION_STARTED, "ac_1", 5000);
	record_events(st, evs, 3);
	ck_assert_int_eq(store_event_prune(st, 2000, &pruned), 0);
	ck_assert_int_eq(pruned, 1);
	ck_assert_int_eq(store_event_list(st, 0, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(el[0]->id, evs[0]->id);
	ck_assert_str_eq(el[1]->id, evs[2]->id);
	last = el[1]->seq;
	store_event_list_free(el, n);
	ck_assert_int_eq(store_event_prune(st, 2000, &pruned), 0);
	ck_assert_int_eq(pruned, 0);
	ck_assert_int_eq(store_event_prune(st, 3001, NULL), 0);
	ck_assert_uint_eq(count_events(st), 0);

	record_events(st, evs + 3, 1);
	ck_assert_int_eq(store_event_list(st, last, NULL, 0, 0, &el, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_gt(el[0]->seq, last);
	store_event_list_free(el, n);
	ck_assert_int_eq(store_event_prune(NULL, 0, &pruned),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(pruned, 0);
	free_events(evs, 4);
}
END_TEST

/* Live sessions, live endpoints, and their sessions' open connections. */
START_TEST(test_live_totals)
{
	struct store_session_stats stats = { 3, 5, 0, 0 };
	int64_t ns = -1, ne = -1, nc = -1;
	char *id;

	ck_assert_int_eq(store_live_totals(st, &ns, &ne, &nc), 0);
	ck_assert_int_eq(ns, 0);
	ck_assert_int_eq(ne, 0);
	ck_assert_int_eq(nc, 0);

	id = mk_account(st, "alice");
	mk_session(st, "ss_1", id, 100, 1000);
	mk_session(st, "ss_2", id, 101, 1000);
	mk_session(st, "ss_3", id, 102, 1000);
	mk_endpoint(st, "ep_1", "ss_1", id, 41234, 1001);
	mk_endpoint(st, "ep_2", "ss_2", id, 41235, 1001);
	mk_endpoint(st, "ep_3", "ss_2", id, 41236, 1001);
	mk_endpoint(st, "ep_4", "ss_3", id, 41237, 1001);
	ck_assert_int_eq(store_endpoint_end(st, "ep_3", 1500), 0);
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_1", &stats), 0);
	stats.conns_open = 4;
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_2", &stats), 0);
	stats.conns_open = 100;
	ck_assert_int_eq(store_record(st, NULL, 0, NULL, 0, "ss_3", &stats), 0);
	/* An ended session counts for nothing, its endpoints neither. */
	ck_assert_int_eq(store_session_end(st, "ss_3", 2000), 0);
	ck_assert_int_eq(store_live_totals(st, &ns, &ne, &nc), 0);
	ck_assert_int_eq(ns, 2);
	ck_assert_int_eq(ne, 2);
	ck_assert_int_eq(nc, 7);
	ck_assert_int_eq(store_live_totals(st, NULL, &ne, NULL), 0);
	ck_assert_int_eq(ne, 2);
	ck_assert_int_eq(store_live_totals(NULL, &ns, &ne, &nc),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(ns, 0);
	free(id);
}
END_TEST

/* Milliseconds on the monotonic clock, as a double. */
static double
mono_ms(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * A batch of BIG_BATCH connection events, with counters and session
 * stats, goes into a file store in one quick transaction. The time is
 * printed, and must stay well under a second even with sanitizers.
 */
START_TEST(test_file_record_batch)
{
	struct store *s = NULL;
	struct event *evs[BIG_BATCH];
	struct store_event **el = NULL;
	struct store_counter c[] = {
		{ "porthole_connections_total", "", BIG_BATCH },
		{ "porthole_bytes_total", "direction=\"in\"", 123 * BIG_BATCH },
		{ "porthole_bytes_total", "direction=\"out\"",
		    456 * BIG_BATCH },
	};
	struct store_session_stats stats = { 0, BIG_BATCH, 123 * BIG_BATCH,
		456 * BIG_BATCH };
	struct sockaddr_in cin, sin;
	struct event_conn conn;
	double t0, t1, t2;
	size_t n = 0, i, len = 0;
	char errbuf[256], *id;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	mk_session(s, "ss_1", id, 100, 1000);
	memset(&cin, 0, sizeof(cin));
	cin.sin_family = AF_INET;
	cin.sin_port = htons(50000);
	cin.sin_addr.s_addr = htonl(0xc0000207);
	sin = cin;
	sin.sin_port = htons(41234);
	memset(&conn, 0, sizeof(conn));
	conn.client = (struct sockaddr *)&cin;
	conn.server = (struct sockaddr *)&sin;
	conn.server_name = "tunnel.example.com";
	conn.endpoint_id = "ep_3kTqAAAAAAAAAAAAAAAAAAAA";
	conn.endpoint_url = "tcp://tunnel.example.com:41234";
	conn.bytes_in = 123;
	conn.bytes_out = 456;
	conn.allowed = 1;
	for (i = 0; i < BIG_BATCH; i++) {
		conn.start_ms = 1000 + (int64_t)i;
		conn.end_ms = 2000 + (int64_t)i;
		evs[i] = event_conn_closed(id, &conn, 2000 + (int64_t)i);
		len += strlen(evs[i]->json);
	}

	t0 = mono_ms();
	ck_assert_int_eq(store_record(s, evs, BIG_BATCH, c, 3, "ss_1", &stats),
	    0);
	t1 = mono_ms();
	ck_assert_int_eq(store_event_list(s, 0, NULL, 0, 0, &el, &n), 0);
	t2 = mono_ms();
	printf("store_record: %d events (%zu bytes of JSON) in %.1f ms;"
	       " store_event_list: %.1f ms\n",
	    BIG_BATCH, len, t1 - t0, t2 - t1);
	fflush(stdout);
	ck_assert_msg(t1 - t0 < 1000.0, "store_record took %.1f ms", t1 - t0);

	ck_assert_uint_eq(n, BIG_BATCH);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(el[i]->id, evs[i]->id);
		ck_assert_str_eq(el[i]->json, evs[i]->json);
	}
	store_event_list_free(el, n);
	ck_assert_int_eq(raw_int("SELECT value FROM counters"
	                         " WHERE name = 'porthole_bytes_total'"
	                         " AND labels = 'direction=\"out\"'"),
	    456 * BIG_BATCH);
	ck_assert_int_eq(raw_int("SELECT conns_total FROM sessions"),
	    BIG_BATCH);
	free_events(evs, BIG_BATCH);
	store_free(s);
	free(id);
}
END_TEST

/*
 * Several processes record at once into one file, as session processes
 * do when many connections close together: no event or count is lost.
 */
START_TEST(test_file_record_concurrent)
{
	struct store *s = NULL;
	pid_t pids[RECORD_PROCS];
	char errbuf[256];
	int fds[2], i, status;

	/* Made (and migrated) once, before the children race. */
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	store_free(s);
	s = NULL;
	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < RECORD_PROCS; i++) {
		if ((pids[i] = fork()) == 0) {
			struct event *evs[RECORD_EVENTS];
			struct store_counter c = { "porthole_connections_total",
				"", RECORD_EVENTS };
			char ch;
			int b, k, r = 0;

			close(fds[1]);
			if (store_open(dbpath, &s, NULL, 0) != 0 ||
			    read(fds[0], &ch, 1) != 0)
				_exit(1);
			for (b = 0; b < RECORD_BATCHES && r == 0; b++) {
				for (k = 0; k < RECORD_EVENTS; k++)
					evs[k] =
					    event_new(EVENT_CONNECTION_CLOSED,
					        NULL, "{}", 1000 + i);
				r = store_record(s, evs, RECORD_EVENTS, &c, 1,
				    NULL, NULL);
				free_events(evs, RECORD_EVENTS);
			}
			store_free(s);
			_exit(r == 0 ? 0 : 1);
		}
		ck_assert_int_ne(pids[i], -1);
	}
	/* Closing the write end starts them all at once. */
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < RECORD_PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT id) FROM events"),
	    RECORD_PROCS * RECORD_BATCHES * RECORD_EVENTS);
	ck_assert_int_eq(raw_int("SELECT max(seq) FROM events"),
	    RECORD_PROCS * RECORD_BATCHES * RECORD_EVENTS);
	ck_assert_int_eq(raw_int("SELECT value FROM counters"),
	    RECORD_PROCS * RECORD_BATCHES * RECORD_EVENTS);
	/* Each process's events are there, every one. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM (SELECT timestamp_ms"
	                         " FROM events GROUP BY timestamp_ms"
	                         " HAVING count(*) = 1000)"),
	    RECORD_PROCS);
}
END_TEST

/*
 * The store suite: open, files, busy, accounts, keys, sessions,
 * endpoints, affinity, addresses, tokens, IP policies, events.
 */
/* Ending sessions, pruning history, capping events. */

/*
 * Logins racing an account disable, each process on its own
 * connection: once the disable has committed no login gets in, and
 * those that got in before are ended by it, so no live session is
 * left whatever the order.
 */
#define DISABLE_RACE_TRIES 200

START_TEST(test_file_session_disable_race)
{
	struct store *s = NULL;
	struct store_session ss;
	pid_t pids[RACE_PROCS];
	int64_t *ended = NULL;
	size_t nended = 0;
	char errbuf[256], sid[48], *id, c;
	int go[2], added[2], i, k, status, r;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(added), 0);
	for (i = 0; i < RACE_PROCS; i++) {
		if ((pids[i] = fork()) == 0) {
			struct store *cs = NULL;

			close(go[1]);
			close(added[0]);
			if (store_open(dbpath, &cs, NULL, 0) != 0)
				_exit(1);
			if (read(go[0], &c, 1) != 0)
				_exit(1);
			for (k = 0; k < DISABLE_RACE_TRIES; k++) {
				snprintf(sid, sizeof(sid), "ss_%d_%d", i, k);
				memset(&ss, 0, sizeof(ss));
				ss.id = sid;
				ss.account_id = id;
				ss.pid = getpid();
				ss.client_ip = (char *)"192.0.2.1";
				r = store_session_add(cs, &ss, 0);
				if (r == PORTHOLE_ERR_DENIED)
					_exit(0);
				if (r != 0 && r != PORTHOLE_ERR_BUSY)
					_exit(1);
				/* The first one in tells the parent. */
				if (r == 0 && k == 0 &&
				    write(added[1], "x", 1) != 1)
					_exit(1);
			}
			store_free(cs);
			_exit(3); /* never refused */
		}
		ck_assert_int_ne(pids[i], -1);
	}
	close(go[0]);
	close(added[1]);
	close(go[1]); /* they all start */
	/* Disable while they are logging in: after the first is in. */
	ck_assert_int_eq(read(added[0], &c, 1), 1);
	ck_assert_int_eq(store_account_set_disabled(s, id, 1, 5000, &ended,
	                     &nended),
	    0);
	free(ended);
	for (i = 0; i < RACE_PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) == 0 ||
		        WEXITSTATUS(status) == 3,
		    "child %d: exit %d", i, WEXITSTATUS(status));
	}
	close(added[0]);
	ck_assert_int_gt(raw_int("SELECT count(*) FROM sessions"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"
	                         " WHERE ended_ms IS NULL"),
	    0);
	store_free(s);
	free(id);
}
END_TEST

/*
 * Pruning, as the rows lie: only ended history goes, a session that
 * still has a live endpoint stays, and no foreign key is left broken.
 */
START_TEST(test_file_session_prune)
{
	struct store *s = NULL;
	struct store_address *a = NULL;
	struct store_edge *ed = NULL;
	struct event *ev;
	char errbuf[256], *id, *ra, *edge_addr, *edge, *ids;
	int64_t n = -1;

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	id = mk_account(s, "alice");
	ra = mk_address(s, id, "tunnel.example.com", 42000, 500);
	edge = mk_edge(s, "web");
	edge_addr = mk_address(s, NULL, "tunnel.example.com", 42001, 500);
	ck_assert_int_eq(store_edge_address_add(s, edge, edge_addr), 0);
	ck_assert_int_eq(store_edge_backend_add(s, edge, id), 0);
	/* Old history: a session that served both addresses. */
	mk_session(s, "ss_old", id, 100, 600);
	mk_endpoint_at(s, "ep_old_ra", "ss_old", id, 42000, 700, ra);
	mk_endpoint_member(s, "ep_old_edge", "ss_old", id, 42001, 700,
	    edge_addr, edge);
	ck_assert_int_eq(store_session_end(s, "ss_old", 1000), 0);
	/* A live session with an old ended endpoint and a live one. */
	mk_session(s, "ss_live", id, 101, 600);
	mk_endpoint(s, "ep_live_old", "ss_live", id, 41000, 650);
	ck_assert_int_eq(store_endpoint_end(s, "ep_live_old", 900), 0);
	mk_endpoint_at(s, "ep_live", "ss_live", id, 42000, 950, ra);
	/* Recent history, kept. */
	mk_session(s, "ss_new", id, 102, 2500);
	mk_endpoint(s, "ep_new", "ss_new", id, 41001, 2600);
	ck_assert_int_eq(store_session_end(s, "ss_new", 3000), 0);
	/* Ended but, against the rules, with a live endpoint: kept. */
	mk_session(s, "ss_odd", id, 103, 600);
	mk_endpoint(s, "ep_odd", "ss_odd", id, 41002, 700);
	ev = mk_event(EVENT_SESSION_STARTED, id, 600);
	record_events(s, &ev, 1);
	event_free(ev);
	store_free(s);
	s = NULL;
	raw_exec("UPDATE sessions SET ended_ms = 800 WHERE id = 'ss_odd'");

	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_session_prune(s, 2000, &n), 0);
	ck_assert_int_eq(n, 1);
	ids = raw_text("SELECT group_concat(id, ',') FROM"
	               " (SELECT id FROM sessions ORDER BY id)");
	ck_assert_str_eq(ids, "ss_live,ss_new,ss_odd");
	free(ids);
	ids = raw_text("SELECT group_concat(id, ',') FROM"
	               " (SELECT id FROM endpoints ORDER BY id)");
	ck_assert_str_eq(ids, "ep_live,ep_new,ep_odd");
	free(ids);
	ck_assert_int_eq(raw_int(
	                     "SELECT count(*) FROM pragma_foreign_key_check"),
	    0);
	/* What referred to the pruned rows is whole. */
	ck_assert_int_eq(store_address_get(s, ra, &a), 0);
	ck_assert_str_eq(a->endpoint_id, "ep_live");
	store_address_free(a);
	ck_assert_int_eq(store_edge_get(s, edge, &ed), 0);
	ck_assert_uint_eq(ed->naddresses, 1);
	ck_assert_uint_eq(ed->nmembers, 0);
	store_edge_free(ed);
	ck_assert_uint_eq(count_events(s), 1);
	/* Again: nothing more. */
	ck_assert_int_eq(store_session_prune(s, 2000, &n), 0);
	ck_assert_int_eq(n, 0);
	store_free(s);
	free(id);
	free(ra);
	free(edge);
	free(edge_addr);
}
END_TEST

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
	store_session_status_clear(&ss);
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

/* Record <n> events of account ac_1 at <ts_ms>, in batches. */
static void
record_many(struct store *store, size_t n, int64_t ts_ms)
{
	struct event *evs[500];
	size_t i, k, batch;

	for (i = 0; i < n; i += batch) {
		batch = n - i < 500 ? n - i : 500;
		for (k = 0; k < batch; k++)
			evs[k] = mk_event(EVENT_SESSION_STARTED, "ac_1", ts_ms);
		record_events(store, evs, batch);
		free_events(evs, batch);
	}
}

/* The seq of the oldest and the newest event, and how many there are. */
static void
event_span(struct store *store, int64_t *lop, int64_t *hip, size_t *np)
{
	struct store_event **el = NULL;
	size_t n = 0;

	ck_assert_int_eq(store_event_list(store, 0, NULL, 0, 0, &el, &n), 0);
	*np = n;
	*lop = n > 0 ? el[0]->seq : 0;
	*hip = n > 0 ? el[n - 1]->seq : 0;
	store_event_list_free(el, n);
}

/* The cap keeps the newest events by seq. */
START_TEST(test_event_cap)
{
	int64_t lo, hi, first, last, deleted = -1;
	size_t n;

	/* Nothing to cap. */
	ck_assert_int_eq(store_event_cap(st, 5, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	record_many(st, 10, 1000);
	event_span(st, &first, &last, &n);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(store_event_cap(st, 0, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(st, 10, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(st, 4, &deleted), 0);
	ck_assert_int_eq(deleted, 6);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(lo, last - 3);
	ck_assert_int_eq(hi, last);
	ck_assert_int_eq(store_event_cap(st, 4, &deleted), 0);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(st, 1, NULL), 0);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(lo, last);
	ck_assert_int_eq(store_event_cap(st, -1, &deleted),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_event_cap(NULL, 1, &deleted),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}
END_TEST

/* More than a batch beyond the cap: every batch goes. */
START_TEST(test_event_cap_batches)
{
	int64_t lo, hi, first, last, deleted = -1;
	size_t n;

	record_many(st, 25000, 1000);
	event_span(st, &first, &last, &n);
	ck_assert_uint_eq(n, 25000);
	ck_assert_int_eq(store_event_cap(st, 1000, &deleted), 0);
	ck_assert_int_eq(deleted, 24000);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 1000);
	ck_assert_int_eq(lo, last - 999);
	ck_assert_int_eq(hi, last);
}
END_TEST

/*
 * The cap counts events stored, by seq: an event is deleted once <max>
 * newer ones were stored, even if pruning by age took some of them.
 */
START_TEST(test_event_cap_holes)
{
	struct event *evs[6];
	int64_t lo, hi, deleted = -1;
	size_t n, i;

	for (i = 0; i < 6; i++)
		evs[i] = mk_event(EVENT_SESSION_STARTED, "ac_1",
		    i == 3 ? 500 : 1000);
	record_events(st, evs, 6);
	free_events(evs, 6);
	ck_assert_int_eq(store_event_prune(st, 1000, &deleted), 0);
	ck_assert_int_eq(deleted, 1);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 5);
	/* Seq 1-6 less 4: with 5 and 6 newer, 3 was stored 3 before 6. */
	ck_assert_int_eq(store_event_cap(st, 3, &deleted), 0);
	ck_assert_int_eq(deleted, 3);
	event_span(st, &lo, &hi, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(lo, hi - 1);
}
END_TEST

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
	tcase_add_test(tc, test_file_migrate_v1);
	tcase_add_test(tc, test_file_migrate_v2_atomic);
	tcase_add_test(tc, test_file_migrate_v2);
	tcase_add_test(tc, test_file_migrate_v3_atomic);
	tcase_add_test(tc, test_file_migrate_v3);
	tcase_add_test(tc, test_file_migrate_v4_atomic);
	tcase_add_test(tc, test_file_migrate_v4);
	tcase_add_test(tc, test_file_migrate_v5_atomic);
	tcase_add_test(tc, test_file_ip_policy_delete);
	tcase_add_test(tc, test_file_account_delete_tombstones);
	tcase_add_test(tc, test_file_edge_schema);
	tcase_add_test(tc, test_file_session_limit_two_connections);
	tcase_add_test(tc, test_file_session_limit_race);
	tcase_add_test(tc, test_file_session_disable_race);
	tcase_add_test(tc, test_file_session_prune);
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
	tcase_add_test(tc, test_account_fields);
	tcase_add_test(tc, test_account_set_description);
	tcase_add_test(tc, test_account_set_limits);
	tcase_add_test(tc, test_account_set_disabled);
	tcase_add_test(tc, test_account_delete);
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
	tcase_add_test(tc, test_session_limit);
	tcase_add_test(tc, test_session_kill);
	tcase_add_test(tc, test_session_get);
	tcase_add_test(tc, test_session_list_account);
	suite_add_tcase(s, tc);

	tc = tcase_create("endpoint");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_endpoint_add_list);
	tcase_add_test(tc, test_endpoint_add_errors);
	tcase_add_test(tc, test_endpoint_end);
	tcase_add_test(tc, test_endpoint_set_metadata);
	tcase_add_test(tc, test_endpoint_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("affinity");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_affinity_order);
	tcase_add_test(tc, test_affinity_excluded);
	tcase_add_test(tc, test_affinity_once);
	tcase_add_test(tc, test_affinity_max);
	tcase_add_test(tc, test_affinity_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("address");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_address_add_get);
	tcase_add_test(tc, test_address_add_errors);
	tcase_add_test(tc, test_address_find);
	tcase_add_test(tc, test_address_port_used);
	tcase_add_test(tc, test_address_list);
	tcase_add_test(tc, test_address_update);
	tcase_add_test(tc, test_address_delete);
	tcase_add_test(tc, test_address_proxy_proto);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_token_add_find);
	tcase_add_test(tc, test_token_add_errors);
	tcase_add_test(tc, test_token_touch);
	tcase_add_test(tc, test_token_revoke);
	tcase_add_test(tc, test_token_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("ip_policy");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_ip_policy_add_get);
	tcase_add_test(tc, test_ip_policy_rules);
	tcase_add_test(tc, test_ip_policy_list);
	tcase_add_test(tc, test_ip_policy_attach_account);
	tcase_add_test(tc, test_ip_policy_attach_address);
	tcase_add_test(tc, test_ip_policy_delete);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_edge_add_get);
	tcase_add_test(tc, test_edge_addresses);
	tcase_add_test(tc, test_edge_backends);
	tcase_add_test(tc, test_edge_endpoint);
	tcase_add_test(tc, test_edge_members);
	tcase_add_test(tc, test_edge_delete);
	tcase_add_test(tc, test_edge_ip_policy_delete);
	suite_add_tcase(s, tc);

	tc = tcase_create("event");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_record_events);
	tcase_add_test(tc, test_record_duplicate);
	tcase_add_test(tc, test_record_args);
	tcase_add_test(tc, test_record_counters);
	tcase_add_test(tc, test_record_session_stats);
	tcase_add_loop_test(tc, test_event_list, 0,
	    sizeof(list_cases) / sizeof(list_cases[0]));
	tcase_add_test(tc, test_event_list_args);
	tcase_add_test(tc, test_event_prune);
	tcase_add_test(tc, test_live_totals);
	suite_add_tcase(s, tc);

	tc = tcase_create("conditional");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_session_add_conditional);
	suite_add_tcase(s, tc);

	tc = tcase_create("revocation");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_token_revoke_ends_sessions);
	tcase_add_test(tc, test_key_delete_ends_sessions);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_session_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("prune");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_add_test(tc, test_session_prune);
	suite_add_tcase(s, tc);

	tc = tcase_create("cap");
	tcase_add_checked_fixture(tc, setup_memory, teardown_store);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_event_cap);
	tcase_add_test(tc, test_event_cap_batches);
	tcase_add_test(tc, test_event_cap_holes);
	suite_add_tcase(s, tc);

	/* Files, and processes that race, under sanitizers too. */
	tc = tcase_create("event_file");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_file_record_batch);
	tcase_add_test(tc, test_file_record_concurrent);
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
