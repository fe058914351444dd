/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "db.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "log.h"
#include "pghelp.h"
#include "xmalloc.h"

/*
 * The conformance of the store's drivers to db.h: every test runs once
 * on SQLite (a file in a temporary directory) and once on PostgreSQL
 * (the private server of pghelp.h, its schema emptied before each
 * test), as loop index DRV_SQLITE and DRV_PG.
 */

Suite *db_suite(void);

#define DRV_SQLITE 0
#define DRV_PG     1
#define NDRV       2

/* The test's database, and the target that opens it again. */
static struct db *db;
static char target[PATH_MAX];
static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX];

/* A table of each type, in SQLite's words, which db_exec maps. */
static const char schema[] =
    "CREATE TABLE parent (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  name TEXT NOT NULL UNIQUE, -- INTEGER in a comment stays\n"
    "  n INTEGER,\n"
    "  data BLOB,\n"
    "  note TEXT NOT NULL DEFAULT 'INTEGER BLOB'\n"
    ");\n"
    "/* a BLOB in a block comment */\n"
    "CREATE TABLE child (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  parent_id INTEGER NOT NULL REFERENCES parent (id),\n"
    "  \"integer\" TEXT\n"
    ");\n";

/* Fixture: an empty temporary directory, for SQLite's file. */
static void
setup_tmpdir(void)
{
	const char *base;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	ck_assert_int_lt(snprintf(tmpdir, sizeof(tmpdir), "%s/check_db.XXXXXX",
	                     base),
	    (int)sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_lt(snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite",
	                     tmpdir),
	    (int)sizeof(dbpath));
}

/* Fixture: close the database, remove SQLite's files and directory. */
static void
teardown(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
		"-journal" };
	char path[PATH_MAX + 16];
	size_t i;

	db_close(db);
	db = NULL;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dbpath, suffixes[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* Open a second connection to the test's database. */
static struct db *
open_again(void)
{
	struct db *d = NULL;
	char err[256];

	ck_assert_msg(db_open(target, &d, err, sizeof(err)) == 0, "%s: %s",
	    target, err);
	return d;
}

/* Open the test's database with driver <drv>, empty. */
static void
open_db(int drv)
{
	const char *uri;

	if (drv == DRV_SQLITE) {
		snprintf(target, sizeof(target), "%s", dbpath);
		db = open_again();
		ck_assert_int_eq(db_kind(db), DB_SQLITE);
		ck_assert_int_eq(db_setup(db), 0);
		return;
	}
	uri = getenv("PORTHOLE_TEST_PG");
	ck_assert_msg(uri != NULL && *uri != '\0', "PORTHOLE_TEST_PG unset");
	snprintf(target, sizeof(target), "%s", uri);
	db = open_again();
	ck_assert_int_eq(db_kind(db), DB_POSTGRES);
	ck_assert_int_eq(db_setup(db), 0);
	ck_assert_msg(db_exec(db,
	                  "DROP SCHEMA public CASCADE; CREATE SCHEMA public") ==
	        0,
	    "%s", db_errmsg(db));
}

/* Run <sql> on <d>, which must succeed. */
static void
run(struct db *d, const char *sql)
{
	struct db_stmt *st = NULL;
	int r;

	ck_assert_msg(db_prepare(d, sql, &st) == 0, "%s: %s", sql,
	    db_errmsg(d));
	while ((r = db_step(st)) == DB_ROW)
		;
	ck_assert_msg(r == DB_DONE, "%s: %s", sql, db_errmsg(d));
	db_finalize(st);
}

/* Run <sql> on <d>: the error of its prepare or its first step. */
static int
run_err(struct db *d, const char *sql)
{
	struct db_stmt *st = NULL;
	int r;

	if ((r = db_prepare(d, sql, &st)) == 0)
		r = db_step(st);
	db_finalize(st);
	return r;
}

/* The one integer that <sql> selects on <d>. */
static int64_t
query_int(struct db *d, const char *sql)
{
	struct db_stmt *st = NULL;
	int64_t v;

	ck_assert_msg(db_prepare(d, sql, &st) == 0, "%s: %s", sql,
	    db_errmsg(d));
	ck_assert_msg(db_step(st) == DB_ROW, "%s: %s", sql, db_errmsg(d));
	v = db_column_int64(st, 0);
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_finalize(st);
	return v;
}

/* Open the database, with the test schema made by db_exec(). */
static void
open_schema(int drv)
{
	open_db(drv);
	ck_assert_msg(db_exec(db, schema) == 0, "%s", db_errmsg(db));
}

/* The targets name their drivers. */
START_TEST(test_target_is_pg)
{
	ck_assert(db_target_is_pg("postgresql://h/db"));
	ck_assert(db_target_is_pg("postgres://h/db"));
	ck_assert(db_target_is_pg("host=/tmp dbname=x"));
	ck_assert(db_target_is_pg("dbname=x"));
	ck_assert(db_target_is_pg("service=porthole"));
	ck_assert(!db_target_is_pg("/var/lib/porthole/porthole.db"));
	ck_assert(!db_target_is_pg("porthole.db"));
	ck_assert(!db_target_is_pg(":memory:"));
}
END_TEST

/* Passwords never reach a log line or an error. */
START_TEST(test_target_print)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "postgresql://ph:s3cret@db1,db2/porthole"
		  "?target_session_attrs=read-write",
		    "postgresql://ph:***@db1,db2/porthole"
		    "?target_session_attrs=read-write" },
		{ "postgresql://ph@db/porthole?password=s3cret&sslmode=require",
		    "postgresql://ph@db/"
		    "porthole?password=***&sslmode=require" },
		{ "host=/run/pg dbname=ph password=s3cret user=ph",
		    "host=/run/pg dbname=ph password=*** user=ph" },
		{ "host=/run/pg password = 's3 c\\'ret' user=ph",
		    "host=/run/pg password=*** user=ph" },
		{ "dbname=ph password='s3cret'", "dbname=ph password=***" },
		{ "postgresql:///ph?host=/run/pg",
		    "postgresql:///ph?host=/run/pg" },
		{ "/var/lib/porthole/a:b@c.db", "/var/lib/porthole/a:b@c.db" },
	};
	char buf[256], small[12];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		db_target_print(cases[i].in, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].out);
	}
	/* Truncated, never overrun. */
	db_target_print(cases[0].in, small, sizeof(small));
	ck_assert_str_eq(small, "postgresql:");
}
END_TEST

/* Open and close, and the second connection sees the first's rows. */
START_TEST(test_open_close)
{
	struct db *d2;

	open_schema(_i);
	ck_assert_int_eq(db_kind(db), _i == DRV_PG ? DB_POSTGRES : DB_SQLITE);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	d2 = open_again();
	ck_assert_int_eq(query_int(d2, "SELECT COUNT(*) FROM parent"), 1);
	db_close(d2);
	db_close(NULL);
}
END_TEST

/* A target that cannot be opened: no handle and a reason. */
START_TEST(test_open_bad)
{
	struct db *d = (struct db *)&d;
	char err[256], bad[PATH_MAX + 64], *dir, *user;
	const char *uri;

	if (_i == DRV_SQLITE) {
		snprintf(bad, sizeof(bad), "%s/no/such/dir/db", tmpdir);
		ck_assert_int_ne(db_open(bad, &d, err, sizeof(err)), 0);
	} else {
		uri = getenv("PORTHOLE_TEST_PG");
		ck_assert_ptr_nonnull(uri);
		ck_assert_ptr_nonnull(dir = pghelp_param(uri, "host"));
		ck_assert_ptr_nonnull(user = pghelp_param(uri, "user"));
		/* No such database, then no server on that socket. */
		snprintf(bad, sizeof(bad), "host=%s dbname=no_such_db user=%s",
		    dir, user);
		ck_assert_int_eq(db_open(bad, &d, err, sizeof(err)),
		    PORTHOLE_ERR_UNAVAILABLE);
		ck_assert_msg(strstr(err, "no_such_db") != NULL, "%s", err);
		snprintf(bad, sizeof(bad), "postgresql:///x?host=%s/none", dir);
		d = (struct db *)&d;
		ck_assert_int_eq(db_open(bad, &d, err, sizeof(err)),
		    PORTHOLE_ERR_UNAVAILABLE);
		free(dir);
		free(user);
	}
	ck_assert_ptr_null(d);
	ck_assert_str_ne(err, "");
}
END_TEST

/* PostgreSQL: key=value strings and multi-host URIs open too. */
START_TEST(test_open_pg_forms)
{
	const char *uri = getenv("PORTHOLE_TEST_PG");
	char t[PATH_MAX * 2 + 128], err[256], *dir, *user, *dbname;
	struct db *d = NULL;

	ck_assert_ptr_nonnull(uri);
	ck_assert_ptr_nonnull(dir = pghelp_param(uri, "host"));
	ck_assert_ptr_nonnull(user = pghelp_param(uri, "user"));
	if ((dbname = pghelp_param(uri, "dbname")) == NULL)
		dbname = xstrdup("postgres");
	snprintf(t, sizeof(t), "host=%s dbname=%s user=%s", dir, dbname, user);
	ck_assert_msg(db_open(t, &d, err, sizeof(err)) == 0, "%s: %s", t, err);
	ck_assert_int_eq(query_int(d, "SELECT 7"), 7);
	db_close(d);
	/* The first host has no server: libpq goes on to the second. */
	snprintf(t, sizeof(t),
	    "postgresql:///%s?host=%s/none,%s&user=%s"
	    "&target_session_attrs=read-write",
	    dbname, dir, dir, user);
	d = NULL;
	ck_assert_msg(db_open(t, &d, err, sizeof(err)) == 0, "%s: %s", t, err);
	ck_assert_int_eq(query_int(d, "SELECT 8"), 8);
	ck_assert_int_eq(query_int(d,
	                     "SELECT COUNT(*) FROM pg_stat_activity"
	                     " WHERE pid = pg_backend_pid()"
	                     " AND application_name = 'porthole'"),
	    1);
	db_close(d);
	/* What the target sets wins over the driver's defaults. */
	snprintf(t, sizeof(t),
	    "host=%s dbname=%s user=%s application_name=mine"
	    " connect_timeout=3",
	    dir, dbname, user);
	d = NULL;
	ck_assert_msg(db_open(t, &d, err, sizeof(err)) == 0, "%s: %s", t, err);
	ck_assert_int_eq(query_int(d,
	                     "SELECT COUNT(*) FROM pg_stat_activity"
	                     " WHERE pid = pg_backend_pid()"
	                     " AND application_name = 'mine'"),
	    1);
	db_close(d);
	free(dir);
	free(user);
	free(dbname);
}
END_TEST

/* Bad SQL fails with the database's own message. */
START_TEST(test_bad_sql)
{
	open_db(_i);
	ck_assert_int_eq(run_err(db, "SELEC 1"), PORTHOLE_ERR_STORE);
	ck_assert_msg(strstr(db_errmsg(db), "syntax error") != NULL, "%s",
	    db_errmsg(db));
	ck_assert_int_eq(run_err(db, "SELECT * FROM no_such_table"),
	    PORTHOLE_ERR_STORE);
	ck_assert_msg(strstr(db_errmsg(db), "no_such_table") != NULL, "%s",
	    db_errmsg(db));
	ck_assert_int_eq(db_exec(db, "CREATE TABLE t (x INTEGER); CREAT"),
	    PORTHOLE_ERR_STORE);
	ck_assert_str_ne(db_errmsg(db), "");
	/* The connection goes on. */
	ck_assert_int_eq(query_int(db, "SELECT 1"), 1);
}
END_TEST

/* Unique and foreign key violations: _EXISTS and _NOT_FOUND. */
START_TEST(test_constraints)
{
	open_schema(_i);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	ck_assert_int_eq(run_err(db, "INSERT INTO parent (name) VALUES ('a')"),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_msg(strcasestr(db_errmsg(db), "unique") != NULL, "%s",
	    db_errmsg(db));
	ck_assert_int_eq(run_err(db,
	                     "INSERT INTO child (id, parent_id)"
	                     " VALUES (1, 99)"),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_msg(strcasestr(db_errmsg(db), "foreign") != NULL, "%s",
	    db_errmsg(db));
	run(db, "INSERT INTO child (id, parent_id) VALUES (1, 1)");
	ck_assert_int_eq(run_err(db,
	                     "INSERT INTO child (id, parent_id)"
	                     " VALUES (1, 1)"),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(run_err(db, "DELETE FROM parent"),
	    PORTHOLE_ERR_NOT_FOUND);
	/* A NOT NULL constraint is neither. */
	ck_assert_int_eq(run_err(db, "INSERT INTO parent (name) VALUES (NULL)"),
	    PORTHOLE_ERR_STORE);
}
END_TEST

/*
 * A schema script in SQLite's words: keys made by AUTOINCREMENT,
 * 64-bit INTEGER, BLOB, words in literals and comments untouched.
 */
START_TEST(test_exec_schema)
{
	struct db_stmt *st = NULL;

	open_schema(_i);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	run(db, "INSERT INTO parent (name, n) VALUES ('b', 5000000000)");
	ck_assert_int_eq(query_int(db, "SELECT MAX(id) FROM parent"), 2);
	ck_assert_int_eq(query_int(db, "SELECT n FROM parent WHERE id = 2"),
	    5000000000LL);
	ck_assert_int_eq(db_prepare(db, "SELECT note FROM parent WHERE id = 1",
	                     &st),
	    0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "INTEGER BLOB");
	db_finalize(st);
	run(db,
	    "INSERT INTO child (id, parent_id, \"integer\")"
	    " VALUES (1, 1, 'x')");
	/* Scripts again, a second one on the same tables. */
	ck_assert_int_eq(db_exec(db,
	                     "CREATE INDEX parent_n ON parent (n);"
	                     "CREATE TABLE t2 (b BLOB, i INTEGER)"),
	    0);
	run(db, "INSERT INTO t2 VALUES (NULL, 9223372036854775807)");
	ck_assert_int_eq(query_int(db, "SELECT i FROM t2"), INT64_MAX);
	/* Columns named like types keep their names; CAST maps. */
	ck_assert_msg(db_exec(db,
	                  "CREATE TABLE t4 (blob TEXT NOT NULL, n INTEGER,"
	                  " UNIQUE (blob));"
	                  "ALTER TABLE t4 ADD COLUMN \"integer\" INTEGER;"
	                  "CREATE INDEX t4_blob ON t4 (blob);"
	                  "INSERT INTO t4 (blob, n, \"integer\")"
	                  " SELECT 'x', CAST(5000000000 AS INTEGER), 6") == 0,
	    "%s", db_errmsg(db));
	ck_assert_int_eq(query_int(db, "SELECT n FROM t4 WHERE blob = 'x'"),
	    5000000000LL);
	ck_assert_int_eq(query_int(db, "SELECT \"integer\" FROM t4"), 6);
	/* Any case, any space between the words. */
	ck_assert_int_eq(db_exec(db,
	                     "create table t3 (id integer primary key"
	                     "\n\tautoincrement, b blob)"),
	    0);
	run(db, "INSERT INTO t3 (b) VALUES (NULL)");
	run(db, "INSERT INTO t3 (b) VALUES (NULL)");
	ck_assert_int_eq(query_int(db, "SELECT MAX(id) FROM t3"), 2);
}
END_TEST

/* The schema version: 0, then what was set, and rolled back with all. */
START_TEST(test_schema_version)
{
	struct db *d2;
	int v = -1;

	open_db(_i);
	ck_assert_int_eq(db_schema_version(db, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(db_set_schema_version(db, 3), 0);
	ck_assert_int_eq(db_schema_version(db, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_set_schema_version(db, 4), 0);
	ck_assert_int_eq(db_schema_version(db, &v), 0);
	ck_assert_int_eq(v, 4);
	db_rollback(db);
	ck_assert_int_eq(db_schema_version(db, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_set_schema_version(db, 5), 0);
	ck_assert_int_eq(db_commit(db), 0);
	d2 = open_again();
	ck_assert_int_eq(db_schema_version(d2, &v), 0);
	ck_assert_int_eq(v, 5);
	db_close(d2);
}
END_TEST

/* Values of each type go in and come back the same. */
START_TEST(test_types)
{
	static const int64_t ints[] = { 0, 1, -1, INT32_MAX, 2147483648LL,
		-2147483649LL, 1099511627781LL, INT64_MAX, INT64_MIN };
	static const char utf8[] = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x90\x98";
	static const unsigned char blob[] = { 'a', 0, 'b', 0, 0, 0xff };
	struct db_stmt *ins = NULL, *sel = NULL;
	const unsigned char *p;
	size_t i, len;

	open_schema(_i);
	ck_assert_int_eq(db_prepare(db,
	                     "INSERT INTO parent (name, n, data)"
	                     " VALUES (?1, ?2, ?3)",
	                     &ins),
	    0);
	ck_assert_int_eq(db_prepare(db,
	                     "SELECT n, name, data, note FROM parent"
	                     " WHERE name = ?1",
	                     &sel),
	    0);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "n%zu", i);
		ck_assert_int_eq(db_bind_text(ins, 1, name), 0);
		ck_assert_int_eq(db_bind_int64(ins, 2, ints[i]), 0);
		ck_assert_int_eq(db_bind_null(ins, 3), 0);
		ck_assert_msg(db_step(ins) == DB_DONE, "%s", db_errmsg(db));
		db_reset(ins);
		ck_assert_int_eq(db_bind_text(sel, 1, name), 0);
		ck_assert_int_eq(db_step(sel), DB_ROW);
		ck_assert_int_eq(db_column_is_null(sel, 0), 0);
		ck_assert_int_eq(db_column_int64(sel, 0), ints[i]);
		db_reset(sel);
	}
	/* UTF-8 text, a blob with zero bytes, and NULLs. */
	ck_assert_int_eq(db_bind_text(ins, 1, utf8), 0);
	ck_assert_int_eq(db_bind_null(ins, 2), 0);
	ck_assert_int_eq(db_bind_blob(ins, 3, blob, sizeof(blob)), 0);
	ck_assert_msg(db_step(ins) == DB_DONE, "%s", db_errmsg(db));
	db_reset(ins);
	ck_assert_int_eq(db_bind_text(sel, 1, utf8), 0);
	ck_assert_int_eq(db_step(sel), DB_ROW);
	ck_assert_int_eq(db_column_is_null(sel, 0), 1);
	ck_assert_int_eq(db_column_int64(sel, 0), 0);
	ck_assert_ptr_null(db_column_text(sel, 0));
	ck_assert_str_eq(db_column_text(sel, 1), utf8);
	ck_assert_ptr_nonnull(p = db_column_blob(sel, 2, &len));
	ck_assert_uint_eq(len, sizeof(blob));
	ck_assert_mem_eq(p, blob, sizeof(blob));
	len = 99;
	ck_assert_ptr_null(db_column_blob(sel, 0, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(db_step(sel), DB_DONE);
	db_reset(sel);
	/* An empty blob is not NULL; NULL text binds NULL. */
	ck_assert_int_eq(db_bind_text(ins, 1, "empty"), 0);
	ck_assert_int_eq(db_bind_blob(ins, 3, "", 0), 0);
	ck_assert_msg(db_step(ins) == DB_DONE, "%s", db_errmsg(db));
	ck_assert_int_eq(db_bind_text(sel, 1, "empty"), 0);
	ck_assert_int_eq(db_step(sel), DB_ROW);
	ck_assert_int_eq(db_column_is_null(sel, 2), 0);
	len = 99;
	db_column_blob(sel, 2, &len);
	ck_assert_uint_eq(len, 0);
	db_reset(sel);
	ck_assert_int_eq(db_bind_text(sel, 1, NULL), 0);
	ck_assert_int_eq(db_step(sel), DB_DONE);
	db_finalize(ins);
	db_finalize(sel);
}
END_TEST

/* ?N may be used twice; bare ? count on; ? in literals is text. */
START_TEST(test_placeholders)
{
	struct db_stmt *st = NULL;

	open_schema(_i);
	ck_assert_int_eq(db_prepare(db,
	                     "SELECT ?1 + ?1, '?', '?1 ''?''', ?2, ?,"
	                     " 1 AS \"a?b\" -- ?9\n",
	                     &st),
	    0);
	ck_assert_int_eq(db_bind_int64(st, 1, 21), 0);
	ck_assert_int_eq(db_bind_text(st, 2, "two"), 0);
	ck_assert_int_eq(db_bind_int64(st, 3, 3), 0);
	ck_assert_msg(db_step(st) == DB_ROW, "%s", db_errmsg(db));
	ck_assert_int_eq(db_column_int64(st, 0), 42);
	ck_assert_str_eq(db_column_text(st, 1), "?");
	ck_assert_str_eq(db_column_text(st, 2), "?1 '?'");
	ck_assert_str_eq(db_column_text(st, 3), "two");
	ck_assert_int_eq(db_column_int64(st, 4), 3);
	ck_assert_int_eq(db_column_int64(st, 5), 1);
	db_finalize(st);
	/* Bare ? in order. */
	ck_assert_int_eq(db_prepare(db, "SELECT ?, ?", &st), 0);
	ck_assert_int_eq(db_bind_int64(st, 1, 1), 0);
	ck_assert_int_eq(db_bind_int64(st, 2, 2), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 1);
	ck_assert_int_eq(db_column_int64(st, 1), 2);
	/* A parameter that is not there. */
	ck_assert_int_ne(db_bind_int64(st, 3, 3), 0);
	db_finalize(st);
	/*
	 * NULL text is NULL. PostgreSQL types a parameter where it is
	 * first used: a bare ?1 IS NULL there needs a CAST (see db.h).
	 */
	run(db, "INSERT INTO parent (name) VALUES ('a'), ('b')");
	ck_assert_int_eq(db_prepare(db,
	                     "SELECT COUNT(*) FROM parent"
	                     " WHERE CAST(?1 AS TEXT) IS NULL OR name = ?1",
	                     &st),
	    0);
	ck_assert_int_eq(db_bind_text(st, 1, NULL), 0);
	ck_assert_msg(db_step(st) == DB_ROW, "%s", db_errmsg(db));
	ck_assert_int_eq(db_column_int64(st, 0), 2);
	db_reset(st);
	ck_assert_int_eq(db_bind_text(st, 1, "b"), 0);
	ck_assert_msg(db_step(st) == DB_ROW, "%s", db_errmsg(db));
	ck_assert_int_eq(db_column_int64(st, 0), 1);
	db_finalize(st);
}
END_TEST

/* db_changes counts the rows of the last INSERT, UPDATE or DELETE. */
START_TEST(test_changes)
{
	open_schema(_i);
	run(db, "INSERT INTO parent (name) VALUES ('a'), ('b'), ('c')");
	ck_assert_int_eq(db_changes(db), 3);
	run(db, "UPDATE parent SET n = 1 WHERE name <> 'a'");
	ck_assert_int_eq(db_changes(db), 2);
	run(db, "SELECT * FROM parent");
	ck_assert_int_eq(db_changes(db), 2);
	run(db, "DELETE FROM parent WHERE name = 'none'");
	ck_assert_int_eq(db_changes(db), 0);
	run(db, "DELETE FROM parent");
	ck_assert_int_eq(db_changes(db), 3);
}
END_TEST

/* Commit keeps, rollback drops, as a second connection sees. */
START_TEST(test_transactions)
{
	struct db *d2;

	open_schema(_i);
	d2 = open_again();
	ck_assert_int_eq(db_in_transaction(db), 0);
	db_rollback(db); /* outside a transaction: nothing */
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_in_transaction(db), 1);
	ck_assert_int_eq(db_begin(db, 1), PORTHOLE_ERR_STORE);
	ck_assert_int_eq(db_in_transaction(db), 1);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	ck_assert_int_eq(query_int(d2, "SELECT COUNT(*) FROM parent"), 0);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(db_in_transaction(db), 0);
	ck_assert_int_eq(query_int(d2, "SELECT COUNT(*) FROM parent"), 1);

	ck_assert_int_eq(db_begin(db, 1), 0);
	run(db, "INSERT INTO parent (name) VALUES ('b')");
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM parent"), 2);
	db_rollback(db);
	ck_assert_int_eq(db_in_transaction(db), 0);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM parent"), 1);

	/* A read transaction sees one state; others' commits wait. */
	ck_assert_int_eq(db_begin(d2, 0), 0);
	ck_assert_int_eq(db_in_transaction(d2), 1);
	ck_assert_int_eq(query_int(d2, "SELECT COUNT(*) FROM parent"), 1);
	run(db, "INSERT INTO parent (name) VALUES ('c')");
	ck_assert_int_eq(query_int(d2, "SELECT COUNT(*) FROM parent"), 1);
	ck_assert_int_eq(db_commit(d2), 0);
	ck_assert_int_eq(query_int(d2, "SELECT COUNT(*) FROM parent"), 2);
	db_close(d2);
}
END_TEST

/*
 * Writers are serialized: while one connection holds a write
 * transaction, another's db_begin(write) fails with _BUSY after its
 * busy timeout, and succeeds once the first commits.
 */
START_TEST(test_writers_serialize)
{
	struct db *d2;

	open_schema(_i);
	d2 = open_again();
	/* 0 does not wait: PostgreSQL's lock_timeout 0 would. */
	ck_assert_int_eq(db_set_busy_timeout(d2, 0), 0);
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_begin(d2, 1), PORTHOLE_ERR_BUSY);
	db_rollback(db);
	ck_assert_int_eq(db_set_busy_timeout(d2, 100), 0);
	run(db, "INSERT INTO parent (name) VALUES ('z')");
	ck_assert_int_eq(db_begin(db, 1), 0);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	run(db, "UPDATE parent SET n = 2 WHERE name = 'z'");
	ck_assert_int_eq(db_begin(d2, 1), PORTHOLE_ERR_BUSY);
	ck_assert_int_eq(db_in_transaction(d2), 0);
	ck_assert_str_ne(db_errmsg(d2), "");
	/* A write outside a transaction waits for the row, or the file. */
	ck_assert_int_eq(run_err(d2,
	                     "UPDATE parent SET n = 1 WHERE name = 'z'"),
	    PORTHOLE_ERR_BUSY);
	/*
	 * Even a writer that has not written yet holds the lock, against
	 * writes of other rows too; reads go on.
	 */
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_begin(d2, 1), PORTHOLE_ERR_BUSY);
	ck_assert_int_eq(run_err(d2, "INSERT INTO parent (name) VALUES ('y')"),
	    PORTHOLE_ERR_BUSY);
	ck_assert_int_eq(run_err(d2,
	                     "WITH x AS (SELECT 1 AS one)"
	                     " DELETE FROM parent WHERE name = 'y'"),
	    PORTHOLE_ERR_BUSY);
	ck_assert_int_eq(query_int(d2,
	                     "WITH x AS (SELECT name AS updated"
	                     " FROM parent) SELECT COUNT(*) FROM x"),
	    2);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(db_begin(d2, 1), 0);
	ck_assert_int_eq(query_int(d2, "SELECT COUNT(*) FROM parent"), 2);
	ck_assert_int_eq(query_int(d2, "SELECT n FROM parent WHERE name = 'z'"),
	    2);
	run(d2, "INSERT INTO parent (name) VALUES ('b')");
	ck_assert_int_eq(db_commit(d2), 0);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM parent"), 3);
	db_close(d2);
}
END_TEST

/*
 * Read-then-write transactions of two processes lose no update: each
 * reads a counter and writes it back plus one, and the writers' lock
 * makes the pairs one after the other.
 */
START_TEST(test_writers_no_lost_update)
{
	enum { NPROC = 3, NROUND = 100 };
	struct db_stmt *st = NULL;
	struct db *d;
	pid_t pids[NPROC];
	int64_t n;
	int i, j, status, go[2];
	char c;

	open_schema(_i);
	run(db, "INSERT INTO parent (name, n) VALUES ('counter', 0)");
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < NPROC; i++) {
		ck_assert_int_ne(pids[i] = fork(), -1);
		if (pids[i] != 0)
			continue;
		/* The child: no Check assertions, an exit status. */
		close(go[1]);
		if (db_open(target, &d, NULL, 0) != 0 ||
		    db_set_busy_timeout(d, 60000) != 0)
			_exit(10);
		/* All start together, when the parent closes the pipe. */
		if (read(go[0], &c, 1) != 0)
			_exit(14);
		for (j = 0; j < NROUND; j++) {
			if (db_begin(d, 1) != 0 ||
			    db_prepare(d,
			        "SELECT n FROM parent WHERE name = 'counter'",
			        &st) != 0 ||
			    db_step(st) != DB_ROW)
				_exit(11);
			n = db_column_int64(st, 0);
			db_finalize(st);
			if (db_prepare(d,
			        "UPDATE parent SET n = ?1"
			        " WHERE name = 'counter'",
			        &st) != 0 ||
			    db_bind_int64(st, 1, n + 1) != 0 ||
			    db_step(st) != DB_DONE)
				_exit(12);
			db_finalize(st);
			if (db_commit(d) != 0)
				_exit(13);
		}
		db_close(d);
		_exit(0);
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < NPROC; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "writer %d: status %d", i, status);
	}
	ck_assert_int_eq(query_int(db,
	                     "SELECT n FROM parent"
	                     " WHERE name = 'counter'"),
	    NPROC * NROUND);
}
END_TEST

/* Reset mid-rows, rebind, run again; bindings are cleared. */
START_TEST(test_reset_rebind)
{
	struct db_stmt *st = NULL;

	open_schema(_i);
	ck_assert_int_eq(db_prepare(db,
	                     "INSERT INTO parent (name, n) VALUES (?1, ?2)",
	                     &st),
	    0);
	ck_assert_int_eq(db_bind_text(st, 1, "a"), 0);
	ck_assert_int_eq(db_bind_int64(st, 2, 1), 0);
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_reset(st);
	ck_assert_int_eq(db_bind_text(st, 1, "b"), 0);
	ck_assert_int_eq(db_bind_int64(st, 2, 1), 0);
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_reset(st);
	ck_assert_int_eq(db_bind_text(st, 1, "c"), 0);
	/* ?2 is NULL again after the reset. */
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_finalize(st);
	ck_assert_int_eq(query_int(db,
	                     "SELECT COUNT(*) FROM parent"
	                     " WHERE n IS NULL"),
	    1);

	ck_assert_int_eq(db_prepare(db,
	                     "SELECT name FROM parent WHERE n = ?1"
	                     " ORDER BY name",
	                     &st),
	    0);
	ck_assert_int_eq(db_bind_int64(st, 1, 1), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "a");
	db_reset(st);
	ck_assert_int_eq(db_bind_int64(st, 1, 1), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "a");
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "b");
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_reset(st);
	ck_assert_int_eq(db_bind_int64(st, 1, 2), 0);
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_finalize(st);
}
END_TEST

/* DB_SQL_NOW_MS is milliseconds since the epoch, as time() says. */
START_TEST(test_dialect_now)
{
	char sql[256];
	int64_t ms, now;

	open_db(_i);
	snprintf(sql, sizeof(sql), "SELECT %s", db_dialect(db, DB_SQL_NOW_MS));
	ms = query_int(db, sql);
	now = (int64_t)time(NULL) * 1000;
	/* The same clock: not a timing bound, a unit check (not s, not µs). */
	ck_assert_int_gt(ms, now - 86400000);
	ck_assert_int_lt(ms, now + 86400000);
}
END_TEST

/*
 * PostgreSQL: a failed statement aborts its transaction, which then
 * fails to commit, and the connection goes on.
 */
START_TEST(test_pg_error_aborts)
{
	open_schema(DRV_PG);
	ck_assert_int_eq(db_begin(db, 1), 0);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	ck_assert_int_eq(run_err(db, "INSERT INTO parent (name) VALUES ('a')"),
	    PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(run_err(db, "SELECT 1"), PORTHOLE_ERR_STORE);
	ck_assert_int_eq(db_in_transaction(db), 1);
	ck_assert_int_eq(db_commit(db), PORTHOLE_ERR_STORE);
	ck_assert_int_eq(db_in_transaction(db), 0);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM parent"), 0);
}
END_TEST

/*
 * PostgreSQL: statements run again come prepared from the
 * connection's cache, which neither a changed table nor many
 * statements break.
 */
START_TEST(test_pg_prepared)
{
	struct db_stmt *st = NULL;
	char sql[64];
	int i;

	open_schema(DRV_PG);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	ck_assert_int_eq(db_prepare(db, "SELECT * FROM parent", &st), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 1), "a");
	db_reset(st);
	run(db, "ALTER TABLE parent ADD COLUMN extra TEXT DEFAULT 'e'");
	ck_assert_msg(db_step(st) == DB_ROW, "%s", db_errmsg(db));
	ck_assert_str_eq(db_column_text(st, 5), "e");
	db_finalize(st);
	/* More statements than the cache holds, each run twice. */
	for (i = 0; i < 300; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d + ?1", i);
		ck_assert_int_eq(db_prepare(db, sql, &st), 0);
		ck_assert_int_eq(db_bind_int64(st, 1, 1), 0);
		ck_assert_int_eq(db_step(st), DB_ROW);
		ck_assert_int_eq(db_column_int64(st, 0), i + 1);
		db_reset(st);
		ck_assert_int_eq(db_bind_int64(st, 1, 2), 0);
		ck_assert_int_eq(db_step(st), DB_ROW);
		ck_assert_int_eq(db_column_int64(st, 0), i + 2);
		db_finalize(st);
	}
}
END_TEST

/*
 * db_reconnect: SQLite has nothing to do; a PostgreSQL connection
 * whose server process was terminated is _UNAVAILABLE until then, and
 * comes back with its busy timeout and statements.
 */
START_TEST(test_reconnect)
{
	struct db_stmt *st = NULL;
	struct db *d2;
	char sql[128];
	int64_t pid;

	open_schema(_i);
	ck_assert_int_eq(db_set_busy_timeout(db, 1234), 0);
	ck_assert_int_eq(db_prepare(db, "SELECT COUNT(*) FROM parent", &st), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	db_reset(st);
	if (_i == DRV_PG) {
		pid = query_int(db, "SELECT pg_backend_pid()");
		d2 = open_again();
		snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
		    (long long)pid);
		ck_assert_int_eq(query_int(d2, sql), 1);
		db_close(d2);
		ck_assert_int_eq(db_step(st), PORTHOLE_ERR_UNAVAILABLE);
		ck_assert_int_eq(run_err(db, "SELECT 1"),
		    PORTHOLE_ERR_UNAVAILABLE);
	}
	ck_assert_msg(db_reconnect(db) == 0, "%s", db_errmsg(db));
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 0);
	db_finalize(st);
	if (_i == DRV_PG) {
		ck_assert_int_eq(db_prepare(db, "SHOW lock_timeout", &st), 0);
		ck_assert_int_eq(db_step(st), DB_ROW);
		ck_assert_str_eq(db_column_text(st, 0), "1234ms");
		db_finalize(st);
	}
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_commit(db), 0);
}
END_TEST

/*
 * Wait for <d>'s notifications until <want> have come (at most 10 s)
 * and return how many came: the count of every db_notify_drain(),
 * polled on db_notify_fd(). A drain's error is returned as it is.
 */
static int
wait_notified(struct db *d, int want)
{
	struct pollfd pfd;
	int total = 0, n, r, i;

	for (i = 0; i < 100 && total < want; i++) {
		memset(&pfd, 0, sizeof(pfd));
		ck_assert_int_ne(pfd.fd = db_notify_fd(d), -1);
		pfd.events = POLLIN;
		ck_assert_int_ne(poll(&pfd, 1, 100), -1);
		if ((r = db_notify_drain(d, &n)) != 0)
			return r;
		total += n;
	}
	return total;
}

/*
 * LISTEN and NOTIFY: SQLite has none; on PostgreSQL a notification of
 * one connection reaches another that listens, at once outside a
 * transaction, at commit inside one and never from one rolled back;
 * those that came during a statement are drained too.
 */
START_TEST(test_notify)
{
	struct db *d2;
	char longname[DB_CHANNEL_MAX + 2];
	int n;

	open_schema(_i);
	if (_i == DRV_SQLITE) {
		ck_assert_int_eq(db_listen(db, "ph_test"),
		    PORTHOLE_ERR_UNSUPPORTED);
		ck_assert_str_ne(db_errmsg(db), "");
		ck_assert_int_eq(db_notify(db, "ph_test", "x"),
		    PORTHOLE_ERR_UNSUPPORTED);
		ck_assert_int_eq(db_notify_fd(db), -1);
		ck_assert_int_eq(db_notify_drain(db, &n),
		    PORTHOLE_ERR_UNSUPPORTED);
		ck_assert_int_eq(n, 0);
		return;
	}
	d2 = open_again();
	ck_assert_int_eq(db_listen(d2, ""), PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(db_listen(d2, "Ph"), PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(db_listen(d2, "1ph"), PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(db_listen(d2, "ph;x"), PORTHOLE_ERR_INVALID_ARGUMENT);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(db_listen(d2, longname),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	longname[DB_CHANNEL_MAX] = '\0';
	ck_assert_int_eq(db_notify(d2, longname, NULL), 0);
	ck_assert_msg(db_listen(d2, "ph_test") == 0, "%s", db_errmsg(d2));
	ck_assert_int_eq(db_listen(d2, "ph_test"), 0);
	ck_assert_int_ge(db_notify_fd(d2), 0);
	ck_assert_int_eq(db_notify_drain(d2, &n), 0);
	ck_assert_int_eq(n, 0);

	/* Outside a transaction: at once. Other channels are not heard. */
	ck_assert_int_eq(db_notify(db, "ph_other", NULL), 0);
	ck_assert_int_eq(db_notify(db, "ph_test", "one"), 0);
	ck_assert_int_eq(wait_notified(d2, 1), 1);

	/* Inside: at commit. */
	ck_assert_int_eq(db_begin(db, 1), 0);
	run(db, "INSERT INTO parent (name) VALUES ('a')");
	ck_assert_int_eq(db_notify(db, "ph_test", "two"), 0);
	ck_assert_int_eq(db_notify_drain(d2, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(wait_notified(d2, 1), 1);

	/*
	 * Rolled back: never. Notifications come in commit order, so once
	 * the next one is here, one rolled back would have been too.
	 */
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_notify(db, "ph_test", "rolled back"), 0);
	db_rollback(db);
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_eq(db_notify(db, "ph_test", "three"), 0);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(wait_notified(d2, 1), 1);
	ck_assert_int_eq(wait_notified(d2, 0), 0);

	/* In an aborted transaction a notification fails, as all does. */
	ck_assert_int_eq(db_begin(db, 1), 0);
	ck_assert_int_lt(run_err(db, "SELECT no_such_column FROM parent"), 0);
	ck_assert_int_eq(db_notify(db, "ph_test", "four"), PORTHOLE_ERR_STORE);
	db_rollback(db);

	/*
	 * One that comes while the listener runs a statement (libpq then
	 * queues it, and the socket has nothing more to read) is kept.
	 */
	ck_assert_int_eq(db_notify(db, "ph_test", "five"), 0);
	ck_assert_int_eq(query_int(d2, "SELECT 1"), 1);
	ck_assert_int_eq(wait_notified(d2, 1), 1);
	db_close(d2);
}
END_TEST

/*
 * A listener whose connection is lost finds out from its drain; after
 * db_reconnect() it listens again by itself.
 */
START_TEST(test_notify_reconnect)
{
	struct db *d2;
	char sql[128];
	int64_t pid;

	open_schema(DRV_PG);
	d2 = open_again();
	ck_assert_int_eq(db_listen(d2, "ph_test"), 0);
	pid = query_int(d2, "SELECT pg_backend_pid()");
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
	    (long long)pid);
	ck_assert_int_eq(query_int(db, sql), 1);
	ck_assert_int_eq(wait_notified(d2, 1), PORTHOLE_ERR_UNAVAILABLE);
	ck_assert_str_ne(db_errmsg(d2), "");
	ck_assert_int_eq(db_notify_fd(d2), -1);
	ck_assert_msg(db_reconnect(d2) == 0, "%s", db_errmsg(d2));
	ck_assert_int_ne(query_int(d2, "SELECT pg_backend_pid()"), pid);
	ck_assert_int_eq(db_notify(db, "ph_test", "again"), 0);
	ck_assert_int_eq(wait_notified(d2, 1), 1);
	db_close(d2);
}
END_TEST

/* PostgreSQL stopped under an open connection: _UNAVAILABLE. */
START_TEST(test_pg_server_gone)
{
	struct db *d = NULL;
	char err[256], *uri;

	ck_assert_ptr_nonnull(uri = pghelp_start());
	ck_assert_msg(db_open(uri, &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(query_int(d, "SELECT 1"), 1);
	ck_assert_int_eq(db_begin(d, 1), 0);
	pghelp_stop(uri);
	ck_assert_int_eq(run_err(d, "SELECT 1"), PORTHOLE_ERR_UNAVAILABLE);
	ck_assert_str_ne(db_errmsg(d), "");
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(db_begin(d, 1), PORTHOLE_ERR_UNAVAILABLE);
	ck_assert_int_eq(db_commit(d), PORTHOLE_ERR_UNAVAILABLE);
	db_rollback(d);
	ck_assert_int_eq(db_reconnect(d), PORTHOLE_ERR_UNAVAILABLE);
	ck_assert_int_eq(run_err(d, "SELECT 1"), PORTHOLE_ERR_UNAVAILABLE);
	db_close(d);
	free(uri);
}
END_TEST

/* Build the suite: each test on both drivers. */
Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc;

	tc = tcase_create("target");
	tcase_add_test(tc, test_target_is_pg);
	tcase_add_test(tc, test_target_print);
	suite_add_tcase(s, tc);

	tc = tcase_create("drivers");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_open_close, 0, NDRV);
	tcase_add_loop_test(tc, test_bad_sql, 0, NDRV);
	tcase_add_loop_test(tc, test_constraints, 0, NDRV);
	tcase_add_loop_test(tc, test_exec_schema, 0, NDRV);
	tcase_add_loop_test(tc, test_schema_version, 0, NDRV);
	tcase_add_loop_test(tc, test_types, 0, NDRV);
	tcase_add_loop_test(tc, test_placeholders, 0, NDRV);
	tcase_add_loop_test(tc, test_changes, 0, NDRV);
	tcase_add_loop_test(tc, test_transactions, 0, NDRV);
	tcase_add_loop_test(tc, test_writers_serialize, 0, NDRV);
	tcase_add_loop_test(tc, test_writers_no_lost_update, 0, NDRV);
	tcase_add_loop_test(tc, test_reset_rebind, 0, NDRV);
	tcase_add_loop_test(tc, test_dialect_now, 0, NDRV);
	tcase_add_loop_test(tc, test_reconnect, 0, NDRV);
	tcase_add_loop_test(tc, test_notify, 0, NDRV);
	tcase_add_test(tc, test_notify_reconnect);
	tcase_add_test(tc, test_pg_error_aborts);
	tcase_add_test(tc, test_pg_prepared);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_open_bad, 0, NDRV);
	tcase_add_test(tc, test_open_pg_forms);
	suite_add_tcase(s, tc);

	tc = tcase_create("pg_gone");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pg_server_gone);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * Run the suite with a PostgreSQL server of this program's own (or
 * PORTHOLE_TEST_PG's); without one it fails, as PostgreSQL is a test
 * dependency (contrib/quickstart.sh installs it).
 */
int
main(void)
{
	SRunner *sr;
	int nfailed;

	log_init("check_db", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	if (pghelp_init() != 0)
		return EXIT_FAILURE;
	sr = srunner_create(db_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pghelp_done();
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
