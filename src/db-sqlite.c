/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "db-int.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"

/*
 * The SQLite driver of db.h: one connection per handle, with foreign
 * keys on (checked: a build without them is refused), extended result
 * codes, a busy timeout, synchronous = NORMAL, and for files the WAL
 * journal (db_setup). The schema version is PRAGMA user_version.
 * Every statement is compiled with sqlite3_prepare_v2, so a failed
 * step's code and message are the statement's own.
 */

#define DB_SQLITE_BUSY_TIMEOUT_MS 5000

struct db_sqlite {
	struct db base; /* first: a struct db * is a struct db_sqlite * */
	sqlite3 *sq;
};

struct db_sqlite_stmt {
	struct db_stmt base; /* first, likewise */
	sqlite3_stmt *st;
};

static const struct db_ops db_sqlite_ops;

static struct db_sqlite *
db_sqlite(struct db *db)
{
	return (struct db_sqlite *)db;
}

static const struct db_sqlite *
db_sqlite_const(const struct db *db)
{
	return (const struct db_sqlite *)db;
}

static struct db_sqlite_stmt *
db_sqlite_stmt(struct db_stmt *stmt)
{
	return (struct db_sqlite_stmt *)stmt;
}

/* Map SQLite result <rc> to a PORTHOLE_ERR_*, keeping SQLite's message. */
static int
db_sqlite_error(struct db_sqlite *dbs, int rc)
{
	const char *msg;

	msg = dbs->sq != NULL ? sqlite3_errmsg(dbs->sq) : sqlite3_errstr(rc);
	db_set_errmsg(&dbs->base, "%s", msg);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PORTHOLE_ERR_BUSY;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return PORTHOLE_ERR_EXISTS;
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return PORTHOLE_ERR_NOT_FOUND;
		return PORTHOLE_ERR_STORE;
	default:
		return PORTHOLE_ERR_STORE;
	}
}

/* Run <sql>, statements without parameters, through sqlite3_exec. */
static int
db_sqlite_run(struct db_sqlite *dbs, const char *sql)
{
	char *msg = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if ((rc = sqlite3_exec(dbs->sq, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		r = db_sqlite_error(dbs, rc);
		/* The message sqlite3_exec gave is the failing statement's. */
		if (msg != NULL)
			db_set_errmsg(&dbs->base, "%s", msg);
		goto out;
	}
	r = 0;
out:
	sqlite3_free(msg);
	return r;
}

/*
 * The one row of <sql> (no parameters): its first column as an integer
 * in *vp, or as text copied to <text> (of <textlen>) if that is given.
 */
static int
db_sqlite_query1(struct db_sqlite *dbs, const char *sql, int *vp, char *text,
    size_t textlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *s;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if ((rc = sqlite3_prepare_v2(dbs->sq, sql, -1, &st, NULL)) !=
	    SQLITE_OK) {
		r = db_sqlite_error(dbs, rc);
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			db_set_errmsg(&dbs->base, "%s: no row", sql);
			r = PORTHOLE_ERR_STORE;
		} else
			r = db_sqlite_error(dbs, rc);
		goto out;
	}
	if (vp != NULL)
		*vp = sqlite3_column_int(st, 0);
	if (text != NULL) {
		s = sqlite3_column_text(st, 0);
		snprintf(text, textlen, "%s", s != NULL ? (const char *)s : "");
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * Open the SQLite database at <target> (":memory:" works), creating
 * the file if needed, and set up the connection. Nothing is written to
 * the file here (see db_setup).
 */
int
db_sqlite_open(const char *target, struct db **dbp, char *err, size_t errlen)
{
	struct db_sqlite *dbs = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc, fk;

	*dbp = NULL;
	dbs = xcalloc(1, sizeof(*dbs));
	dbs->base.ops = &db_sqlite_ops;
	rc = sqlite3_open_v2(target, &dbs->sq,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		r = db_sqlite_error(dbs, rc);
		goto out;
	}
	sqlite3_extended_result_codes(dbs->sq, 1);
	sqlite3_busy_timeout(dbs->sq, DB_SQLITE_BUSY_TIMEOUT_MS);
	/* Off by default, per connection; silently ignored if compiled out. */
	if ((r = db_sqlite_run(dbs, "PRAGMA foreign_keys = ON")) != 0 ||
	    (r = db_sqlite_query1(dbs, "PRAGMA foreign_keys", &fk, NULL, 0)) !=
	        0)
		goto out;
	if (fk != 1) {
		db_set_errmsg(&dbs->base, "SQLite lacks foreign key support");
		r = PORTHOLE_ERR_STORE;
		goto out;
	}
	/* With WAL, NORMAL loses nothing when a process crashes. */
	if ((r = db_sqlite_run(dbs, "PRAGMA synchronous = NORMAL")) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*dbp = &dbs->base;
	dbs = NULL;
	r = 0;
out:
	if (r != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", dbs->base.errmsg);
	if (dbs != NULL)
		db_sqlite_ops.close(&dbs->base);
	return r;
}

/* Close the connection; every statement was finalized by its user. */
static void
db_sqlite_close(struct db *db)
{
	struct db_sqlite *dbs = db_sqlite(db);

	if (sqlite3_close(dbs->sq) != SQLITE_OK)
		error_f("sqlite3_close: %s", sqlite3_errmsg(dbs->sq));
	free(dbs);
}

static int
db_sqlite_set_busy_timeout(struct db *db, int ms)
{
	struct db_sqlite *dbs = db_sqlite(db);
	int rc;

	if ((rc = sqlite3_busy_timeout(dbs->sq, ms)) != SQLITE_OK)
		return db_sqlite_error(dbs, rc);
	return 0;
}

static int
db_sqlite_exec(struct db *db, const char *script)
{
	return db_sqlite_run(db_sqlite(db), script);
}

/* Switch a database file to write-ahead logging, and check it took. */
static int
db_sqlite_setup(struct db *db)
{
	struct db_sqlite *dbs = db_sqlite(db);
	const char *filename;
	char mode[16];
	int r = PORTHOLE_ERR_INTERNAL;

	/* In-memory and temporary databases have no file name and no WAL. */
	filename = sqlite3_db_filename(dbs->sq, "main");
	if (filename == NULL || *filename == '\0') {
		r = 0;
		goto out;
	}
	if ((r = db_sqlite_query1(dbs, "PRAGMA journal_mode = WAL", NULL, mode,
	         sizeof(mode))) != 0)
		goto out;
	/* SQLite answers with the mode now in force. */
	if (strcasecmp(mode, "wal") != 0) {
		db_set_errmsg(db, "cannot enable WAL journal mode");
		r = PORTHOLE_ERR_STORE;
		goto out;
	}
	r = 0;
out:
	return r;
}

static int
db_sqlite_schema_version(struct db *db, int *versionp)
{
	return db_sqlite_query1(db_sqlite(db), "PRAGMA user_version", versionp,
	    NULL, 0);
}

static int
db_sqlite_set_schema_version(struct db *db, int version)
{
	char sql[64];

	if (version < 0)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	/* A pragma takes no parameters; the number is our own. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	return db_sqlite_run(db_sqlite(db), sql);
}

/* A write transaction takes the write lock now, not on demand. */
static int
db_sqlite_begin(struct db *db, int write)
{
	return db_sqlite_run(db_sqlite(db),
	    write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int
db_sqlite_commit(struct db *db)
{
	return db_sqlite_run(db_sqlite(db), "COMMIT");
}

/*
 * Roll back the open transaction, if any; the error message kept is
 * still the one of the failure that led here.
 */
static void
db_sqlite_rollback(struct db *db)
{
	struct db_sqlite *dbs = db_sqlite(db);

	if (sqlite3_get_autocommit(dbs->sq))
		return;
	if (sqlite3_exec(dbs->sq, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		error("db: rollback: %s", sqlite3_errmsg(dbs->sq));
}

static int
db_sqlite_in_transaction(const struct db *db)
{
	return !sqlite3_get_autocommit(db_sqlite_const(db)->sq);
}

static int
db_sqlite_prepare(struct db *db, const char *sql, struct db_stmt **stmtp)
{
	struct db_sqlite *dbs = db_sqlite(db);
	struct db_sqlite_stmt *s;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(dbs->sq, sql, -1, &st, NULL)) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return db_sqlite_error(dbs, rc);
	}
	s = xcalloc(1, sizeof(*s));
	s->base.db = db;
	s->st = st;
	/* Ownership passes to the caller, who finalizes it. */
	*stmtp = &s->base;
	return 0;
}

/* The result of a bind: 0, or the error mapped. */
static int
db_sqlite_bound(struct db_stmt *stmt, int rc)
{
	if (rc == SQLITE_OK)
		return 0;
	return db_sqlite_error(db_sqlite(stmt->db), rc);
}

static int
db_sqlite_bind_null(struct db_stmt *stmt, int i)
{
	return db_sqlite_bound(stmt,
	    sqlite3_bind_null(db_sqlite_stmt(stmt)->st, i));
}

static int
db_sqlite_bind_int64(struct db_stmt *stmt, int i, int64_t v)
{
	return db_sqlite_bound(stmt,
	    sqlite3_bind_int64(db_sqlite_stmt(stmt)->st, i, v));
}

/* Text and blobs are bound SQLITE_STATIC: the caller keeps them. */
static int
db_sqlite_bind_text(struct db_stmt *stmt, int i, const char *s)
{
	return db_sqlite_bound(stmt,
	    sqlite3_bind_text(db_sqlite_stmt(stmt)->st, i, s, -1,
	        SQLITE_STATIC));
}

static int
db_sqlite_bind_blob(struct db_stmt *stmt, int i, const void *p, size_t len)
{
	return db_sqlite_bound(stmt,
	    sqlite3_bind_blob64(db_sqlite_stmt(stmt)->st, i, p, len,
	        SQLITE_STATIC));
}

static int
db_sqlite_step(struct db_stmt *stmt)
{
	int rc;

	rc = sqlite3_step(db_sqlite_stmt(stmt)->st);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return db_sqlite_error(db_sqlite(stmt->db), rc);
}

static void
db_sqlite_reset(struct db_stmt *stmt)
{
	struct db_sqlite_stmt *s = db_sqlite_stmt(stmt);

	/* Reset repeats a failed step's code, already reported then. */
	sqlite3_reset(s->st);
	/* Let go of the caller's strings, bound SQLITE_STATIC. */
	sqlite3_clear_bindings(s->st);
}

static void
db_sqlite_finalize(struct db_stmt *stmt)
{
	struct db_sqlite_stmt *s = db_sqlite_stmt(stmt);

	sqlite3_finalize(s->st);
	free(s);
}

static int64_t
db_sqlite_changes(struct db *db)
{
	return sqlite3_changes64(db_sqlite(db)->sq);
}

static int
db_sqlite_column_is_null(struct db_stmt *stmt, int i)
{
	return sqlite3_column_type(db_sqlite_stmt(stmt)->st, i) == SQLITE_NULL;
}

static int64_t
db_sqlite_column_int64(struct db_stmt *stmt, int i)
{
	return sqlite3_column_int64(db_sqlite_stmt(stmt)->st, i);
}

static const char *
db_sqlite_column_text(struct db_stmt *stmt, int i)
{
	sqlite3_stmt *st = db_sqlite_stmt(stmt)->st;
	const unsigned char *s;

	/* NULL for SQL NULL; otherwise only when the conversion ran out. */
	if ((s = sqlite3_column_text(st, i)) == NULL &&
	    sqlite3_column_type(st, i) != SQLITE_NULL)
		fatal_f("out of memory");
	return (const char *)s;
}

static const void *
db_sqlite_column_blob(struct db_stmt *stmt, int i, size_t *lenp)
{
	sqlite3_stmt *st = db_sqlite_stmt(stmt)->st;
	const void *p;

	p = sqlite3_column_blob(st, i);
	*lenp = p != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
	return p;
}

static const char *
db_sqlite_dialect(const struct db *db, enum db_sql what)
{
	switch (what) {
	case DB_SQL_NOW_MS:
		/* julianday() counts days from noon of 24 November 4714 BC. */
		return "CAST((julianday('now') - 2440587.5) * 86400000.0"
		       " AS INTEGER)";
	}
	fatal_f("unknown dialect item %d", (int)what);
}

static const struct db_ops db_sqlite_ops = {
	.kind = DB_SQLITE,
	.close = db_sqlite_close,
	.set_busy_timeout = db_sqlite_set_busy_timeout,
	.exec = db_sqlite_exec,
	.setup = db_sqlite_setup,
	.schema_version = db_sqlite_schema_version,
	.set_schema_version = db_sqlite_set_schema_version,
	.begin = db_sqlite_begin,
	.commit = db_sqlite_commit,
	.rollback = db_sqlite_rollback,
	.in_transaction = db_sqlite_in_transaction,
	.prepare = db_sqlite_prepare,
	.bind_null = db_sqlite_bind_null,
	.bind_int64 = db_sqlite_bind_int64,
	.bind_text = db_sqlite_bind_text,
	.bind_blob = db_sqlite_bind_blob,
	.step = db_sqlite_step,
	.reset = db_sqlite_reset,
	.finalize = db_sqlite_finalize,
	.changes = db_sqlite_changes,
	.column_is_null = db_sqlite_column_is_null,
	.column_int64 = db_sqlite_column_int64,
	.column_text = db_sqlite_column_text,
	.column_blob = db_sqlite_column_blob,
	.dialect = db_sqlite_dialect,
};
