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

#include "check_store.h"
#include "err.h"
#include "event.h"
#include "id.h"
#include "log.h"
#include "token.h"

/* check_store: opening, files, migrations, and processes that share a file (SQLite only). */

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

/* Milliseconds on the monotonic clock, as a double. */
static double
mono_ms(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

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
	ck_assert_int_eq(store_session_end_pid(b, NULL, 4242, 2000, &n), 0);
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
	ck_assert_int_eq(store_live_totals(s, NULL, &nsessions, &nendpoints,
	                     &nopen),
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
	ck_assert_int_eq(store_live_totals(s, NULL, NULL, NULL, &nopen), 0);
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

/*
 * Migration 6 numbers the rows from before by time, then key; rows
 * added after it come last even at the same time or earlier.
 */
START_TEST(test_file_migrate_v6)
{
	struct store *s = NULL;
	struct store_ip_policy *p = NULL;
	struct store_session **sl = NULL;
	size_t n = 0;
	char errbuf[256];
	int version = -1;

	mk_file_v4();
	raw_exec("INSERT INTO ip_policy_rules"
	         " VALUES ('ipp_1', 1, '198.51.100.0/24', 1500);"
	         "INSERT INTO ip_policy_rules"
	         " VALUES ('ipp_1', 1, '192.0.2.0/24', 1400);");
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE name IN ('sessions_seq',"
	                         " 'endpoints_seq')"),
	    2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"
	                         " WHERE seq = 0"),
	    0);

	ck_assert_int_eq(store_ip_policy_rule_add(s, "ipp_1", 1, "10.1.0.0/16",
	                     1000),
	    0);
	ck_assert_int_eq(store_ip_policy_get(s, "ipp_1", &p), 0);
	ck_assert_uint_eq(p->nallow, 4);
	ck_assert_str_eq(p->allow[0], "192.0.2.0/24");
	ck_assert_str_eq(p->allow[1], "10.0.0.0/8");
	ck_assert_str_eq(p->allow[2], "198.51.100.0/24");
	ck_assert_str_eq(p->allow[3], "10.1.0.0/16");
	store_ip_policy_free(p);

	/* Started in the same millisecond as ss_1, so after it. */
	mk_session(s, "ss_0", "ac_1", 200, 2000);
	ck_assert_int_eq(store_session_list(s, NULL, &sl, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(sl[0]->id, "ss_1");
	ck_assert_str_eq(sl[1]->id, "ss_0");
	store_session_list_free(sl, n);
	store_free(s);
}
END_TEST

/*
 * Migration 8 adds API keys to an older file: an account's and an
 * administrator's, the account's going with it.
 */
START_TEST(test_file_migrate_v8)
{
	struct store *s = NULL;
	struct store_apikey **list = NULL;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	size_t n = 0;
	char errbuf[256];

	mk_file_v4();
	ck_assert_int_eq(store_open(dbpath, &s, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	                         " WHERE name IN ('api_keys',"
	                         " 'api_keys_account')"),
	    2);
	fill_hash(h1, 0x11);
	fill_hash(h2, 0x22);
	ck_assert_int_eq(store_apikey_add(s, "ak_1", "ac_1", h1, sizeof(h1),
	                     "old account", 5000),
	    0);
	ck_assert_int_eq(store_apikey_add(s, "ak_2", NULL, h2, sizeof(h2), NULL,
	                     5000),
	    0);
	ck_assert_int_eq(store_apikey_list(s, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0]->id, "ak_2");
	ck_assert_str_eq(list[1]->id, "ak_1");
	store_apikey_list_free(list, n);
	ck_assert_int_eq(store_account_delete(s, "ac_1", 6000, NULL, NULL), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM api_keys"), 1);
	store_free(s);
}
END_TEST

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
	ck_assert_int_eq(store_session_end_all(s, NULL, 1000, &n),
	    PORTHOLE_ERR_BUSY);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_nonnull(strstr(store_errmsg(s), "locked"));
	/* Readers are not blocked by a writer under WAL. */
	ck_assert_int_eq(store_account_get(s, "alice", &a),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_session_end_all(s, NULL, 1000, &n), 0);
	store_free(s);
}

END_TEST

/* Processes recording at once, batches each, events per batch. */
#define RECORD_PROCS   6
#define RECORD_BATCHES 20
#define RECORD_EVENTS  50

_Static_assert(RECORD_BATCHES *RECORD_EVENTS == 1000,
    "test_file_record_concurrent counts 1000 events a process");

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

/* Add the test cases of this file to <s>. */
void
store_tcases_file(Suite *s)
{
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, tstore_open, tstore_close);
	tcase_add_test(tc, test_open_memory);
	tcase_add_test(tc, test_open_args);
	tcase_add_test(tc, test_open_bad_path);
	suite_add_tcase(s, tc);
	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, tfile_setup, tfile_teardown);
	/*
	 * Its races fork processes that contend for the file: a guard
	 * against a hang, not a time to meet, on a loaded machine.
	 */
	tcase_set_timeout(tc, 60);
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
	tcase_add_test(tc, test_file_migrate_v6);
	tcase_add_test(tc, test_file_migrate_v8);
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
	tcase_add_checked_fixture(tc, tfile_setup, tfile_teardown);
	tcase_set_timeout(tc, 4 + 3 * STORE_BUSY_TIMEOUT_MS / 1000);
	tcase_add_test(tc, test_busy_waits);
	tcase_add_test(tc, test_busy_gives_up);
	suite_add_tcase(s, tc);
	/* Files, and processes that race, under sanitizers too. */
	tc = tcase_create("event_file");
	tcase_add_checked_fixture(tc, tfile_setup, tfile_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_file_record_batch);
	tcase_add_test(tc, test_file_record_concurrent);
	suite_add_tcase(s, tc);
}
