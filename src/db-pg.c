/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db-int.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"

/*
 * The PostgreSQL driver of db.h, on libpq. A statement runs at its
 * first step and its whole result is kept: the steps that follow walk
 * its rows. It runs prepared on the server, from a cache of the
 * connection's (DB_PG_CACHE_MAX statements, the least recently run
 * deallocated first), keyed by its SQL and parameter types.
 * Parameters go as text (int64 written in decimal) with their types
 * named (bigint, text), blobs as bytea in binary format, and NULLs
 * with a type the server infers; results come back as text, bytea
 * decoded from its hex form.
 *
 * PostgreSQL aborts a transaction at its first error where SQLite
 * carries on with the statement undone; here a failed statement
 * inside a transaction leaves it aborted, every later statement fails
 * with the server's "current transaction is aborted", and db_commit()
 * rolls it back and returns PORTHOLE_ERR_STORE. Busy and lost
 * transactions are rolled back at once, as db.h promises.
 *
 * Writers are serialized as SQLite serializes them: db_begin(write = 1)
 * is a READ COMMITTED transaction that first takes a transaction-scoped
 * advisory lock of one fixed key, waiting at most the busy timeout
 * (lock_timeout, also set for the session); each statement after it
 * sees every write committed before the lock was granted. A write
 * outside a transaction runs in one such transaction of its own. A
 * read transaction is REPEATABLE READ READ ONLY: one snapshot, no
 * writes.
 */

#define DB_PG_BUSY_TIMEOUT_MS 5000
#define DB_PG_CONNECT_TIMEOUT "10" /* seconds, a libpq parameter */
/*
 * TCP keepalives, libpq parameters: an idle connection whose peer is
 * gone without a word (a crashed host, a NAT that forgot it) is found
 * broken after 60 + 3 x 10 s, not TCP's two hours and more; a listener
 * (db_listen), idle by nature, would otherwise never hear again.
 */
#define DB_PG_KEEPALIVES_IDLE     "60"
#define DB_PG_KEEPALIVES_INTERVAL "10"
#define DB_PG_KEEPALIVES_COUNT    "3"
/* The advisory lock of writers: "porthole" in ASCII. */
#define DB_PG_WRITE_LOCK "8101970711722766181"
/* PostgreSQL's type OIDs (pg_type.dat), which libpq does not export. */
#define DB_PG_BOOLOID  16
#define DB_PG_BYTEAOID 17
#define DB_PG_INT8OID  20
#define DB_PG_TEXTOID  25
/* Statements kept prepared per connection. */
#define DB_PG_CACHE_MAX 64
/* PostgreSQL takes at most 65535 parameters; SQLite 32766 by default. */
#define DB_PG_MAX_PARAMS 32766

/*
 * A statement prepared on the server under <name>, for the SQL and
 * parameter types it was prepared with: a statement run again skips
 * the server's parse and plan (about half the time of a simple query,
 * measured on a local socket).
 */
struct db_pg_prepared {
	char *sql;
	Oid *types;
	int ntypes;
	uint32_t hash;
	uint64_t used; /* when last run, for eviction */
	char name[24];
};

struct db_pg {
	struct db base; /* first: a struct db * is a struct db_pg * */
	PGconn *conn;
	int busy_ms;
	int64_t changes;
	int lost; /* the connection is gone: everything is _UNAVAILABLE */
	struct db_pg_prepared cache[DB_PG_CACHE_MAX];
	int ncache;
	uint64_t clock; /* counts statements run from the cache */
	uint64_t nextname; /* names prepared statements */
	char **channels; /* LISTENed to, again after a reconnect */
	size_t nchannels;
};

struct db_pg_stmt {
	struct db_stmt base; /* first, likewise */
	char *sql; /* with $1, $2, … */
	uint32_t hash; /* of sql */
	int is_write; /* it changes rows: serialized with the writers */
	int nparams;
	/* Parameter i + 1: its value, length, format and type. */
	const char **values;
	int *lengths;
	int *formats;
	Oid *types;
	char (*ints)[24]; /* the text of int64 parameters */
	PGresult *res; /* NULL before the first step */
	int row; /* the current row of res */
	int ncols;
	unsigned char **blobs; /* decoded bytea columns of the row */
	size_t *bloblens;
};

static const struct db_ops db_pg_ops;

static int db_pg_in_transaction(const struct db *);

/* The driver's connection behind <db>. */
static struct db_pg *
db_pg(struct db *db)
{
	return (struct db_pg *)db;
}

/* The same, read-only. */
static const struct db_pg *
db_pg_const(const struct db *db)
{
	return (const struct db_pg *)db;
}

/* The driver's statement behind <stmt>. */
static struct db_pg_stmt *
db_pg_stmt(struct db_stmt *stmt)
{
	return (struct db_pg_stmt *)stmt;
}

/*
 * Keep libpq's connection message, without its final newline, and its
 * inner line breaks ("…unexpectedly\n\tThis probably means…") as
 * spaces: it is one line of a log.
 */
static void
db_pg_conn_errmsg(struct db_pg *dbp)
{
	const char *msg = PQerrorMessage(dbp->conn);
	size_t len = strlen(msg), i, j;
	char *e = dbp->base.errmsg;

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	db_set_errmsg(&dbp->base, "%.*s", (int)len,
	    len > 0 ? msg : "connection lost");
	for (i = j = 0; e[i] != '\0'; i++) {
		if (e[i] == '\n' || e[i] == '\t') {
			if (j > 0 && e[j - 1] != ' ')
				e[j++] = ' ';
			continue;
		}
		e[j++] = e[i];
	}
	e[j] = '\0';
}

/*
 * Map a failed result <res> (NULL when libpq had none) to a
 * PORTHOLE_ERR_*, keeping the server's message. A result without a
 * SQLSTATE is libpq's own: the connection failed. A busy transaction
 * is rolled back here; a lost connection stays lost.
 */
static int
db_pg_error(struct db_pg *dbp, const PGresult *res)
{
	const char *state = NULL, *msg = NULL, *detail = NULL;
	int r = PORTHOLE_ERR_STORE;

	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	}
	if (msg != NULL && detail != NULL)
		db_set_errmsg(&dbp->base, "%s: %s", msg, detail);
	else if (msg != NULL)
		db_set_errmsg(&dbp->base, "%s", msg);
	else
		db_pg_conn_errmsg(dbp);

	if (state == NULL || PQstatus(dbp->conn) == CONNECTION_BAD ||
	    strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0) {
		dbp->lost = 1;
		return PORTHOLE_ERR_UNAVAILABLE;
	}
	if (strcmp(state, "23505") == 0)
		r = PORTHOLE_ERR_EXISTS;
	else if (strcmp(state, "23503") == 0)
		r = PORTHOLE_ERR_NOT_FOUND;
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		r = PORTHOLE_ERR_BUSY;
	if (r == PORTHOLE_ERR_BUSY &&
	    PQtransactionStatus(dbp->conn) == PQTRANS_INERROR)
		PQclear(PQexec(dbp->conn, "ROLLBACK"));
	return r;
}

/* Predicate: the connection is lost (its message kept). */
static int
db_pg_is_lost(struct db_pg *dbp)
{
	return dbp->lost;
}

/*
 * Run <sql>, statements without parameters; the last one's result is
 * stored in *resp (the caller's to PQclear) if that is not NULL.
 */
static int
db_pg_query(struct db_pg *dbp, const char *sql, PGresult **resp)
{
	PGresult *res = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (resp != NULL)
		*resp = NULL;
	if (db_pg_is_lost(dbp)) {
		r = PORTHOLE_ERR_UNAVAILABLE;
		goto out;
	}
	res = PQexec(dbp->conn, sql);
	if (res == NULL ||
	    (PQresultStatus(res) != PGRES_COMMAND_OK &&
	        PQresultStatus(res) != PGRES_TUPLES_OK)) {
		r = db_pg_error(dbp, res);
		goto out;
	}
	if (resp != NULL) {
		*resp = res; /* now the caller's */
		res = NULL;
	}
	r = 0;
out:
	PQclear(res);
	return r;
}

/* Run <sql>, statements without parameters, and check they ran. */
static int
db_pg_run(struct db_pg *dbp, const char *sql)
{
	return db_pg_query(dbp, sql, NULL);
}

/* Notices ("relation exists, skipping") go to the debug log. */
static void
db_pg_notice(void *arg, const char *msg)
{
	debug3_f("%.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * The lock_timeout for a busy timeout of <ms>: PostgreSQL's 0 waits
 * for ever where SQLite's does not wait at all, so 0 is 1 ms.
 */
static int
db_pg_lock_ms(int ms)
{
	return ms > 0 ? ms : 1;
}

/* Set the session's lock_timeout for a busy timeout of <ms>. */
static int
db_pg_set_lock_timeout(struct db_pg *dbp, int ms)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", db_pg_lock_ms(ms));
	return db_pg_run(dbp, sql);
}

/*
 * Make <dbp>'s new connection ready: notices to the log, UTF-8, the
 * busy timeout. The message of a failure is kept in dbp's errmsg.
 */
static int
db_pg_session(struct db_pg *dbp)
{
	if (PQstatus(dbp->conn) != CONNECTION_OK) {
		db_pg_conn_errmsg(dbp);
		return PORTHOLE_ERR_UNAVAILABLE;
	}
	PQsetNoticeProcessor(dbp->conn, db_pg_notice, NULL);
	if (PQsetClientEncoding(dbp->conn, "UTF8") != 0) {
		db_pg_conn_errmsg(dbp);
		return PORTHOLE_ERR_STORE;
	}
	return db_pg_set_lock_timeout(dbp, dbp->busy_ms);
}

/*
 * Connect to <target>, a libpq URI or key=value string, which may set
 * anything libpq knows; unless it says otherwise, connecting gives up
 * after DB_PG_CONNECT_TIMEOUT s (libpq would wait for TCP's own
 * timeout), TCP keepalives find a dead peer in about 90 s
 * (DB_PG_KEEPALIVES_*), and the session is named "porthole" in
 * pg_stat_activity.
 */
int
db_pg_open(const char *target, struct db **dbp, char *err, size_t errlen)
{
	/* Later keywords win: <target>, expanded as dbname, comes last. */
	const char *const keys[] = { "connect_timeout",
		"fallback_application_name", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname", NULL };
	const char *const values[] = { DB_PG_CONNECT_TIMEOUT, "porthole",
		DB_PG_KEEPALIVES_IDLE, DB_PG_KEEPALIVES_INTERVAL,
		DB_PG_KEEPALIVES_COUNT, target, NULL };
	struct db_pg *dp = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*dbp = NULL;
	dp = xcalloc(1, sizeof(*dp));
	dp->base.ops = &db_pg_ops;
	dp->busy_ms = DB_PG_BUSY_TIMEOUT_MS;
	if ((dp->conn = PQconnectdbParams(keys, values, 1)) == NULL) {
		db_set_errmsg(&dp->base, "out of memory");
		r = PORTHOLE_ERR_ALLOC;
		goto out;
	}
	if ((r = db_pg_session(dp)) != 0)
		goto out;
	*dbp = &dp->base; /* now the caller's */
	dp = NULL;
	r = 0;
out:
	if (r != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", dp->base.errmsg);
	if (dp != NULL) {
		PQfinish(dp->conn);
		free(dp);
	}
	return r;
}

/* Forget the prepared statements (the server's go with the session). */
static void
db_pg_cache_clear(struct db_pg *dbp)
{
	int i;

	for (i = 0; i < dbp->ncache; i++) {
		free(dbp->cache[i].sql);
		free(dbp->cache[i].types);
	}
	dbp->ncache = 0;
}

/* Close the connection and forget its cache. */
static void
db_pg_close(struct db *db)
{
	struct db_pg *dbp = db_pg(db);
	size_t i;

	db_pg_cache_clear(dbp);
	for (i = 0; i < dbp->nchannels; i++)
		free(dbp->channels[i]);
	free(dbp->channels);
	PQfinish(dbp->conn);
	free(dbp);
}

/* LISTEN to <channel> (a name db.c checked: quoting it keeps it). */
static int
db_pg_listen_run(struct db_pg *dbp, const char *channel)
{
	char sql[DB_CHANNEL_MAX + 16];

	snprintf(sql, sizeof(sql), "LISTEN \"%s\"", channel);
	return db_pg_run(dbp, sql);
}

/*
 * Connect again with the same parameters (libpq keeps them). The
 * server's prepared statements went with the old session, and so did
 * its LISTENs: they are made again.
 */
static int
db_pg_reconnect(struct db *db)
{
	struct db_pg *dbp = db_pg(db);
	size_t i;
	int r;

	db_pg_cache_clear(dbp);
	PQreset(dbp->conn);
	dbp->lost = 0;
	if ((r = db_pg_session(dbp)) != 0) {
		dbp->lost = 1;
		return r == PORTHOLE_ERR_STORE ? PORTHOLE_ERR_UNAVAILABLE : r;
	}
	for (i = 0; i < dbp->nchannels; i++) {
		if ((r = db_pg_listen_run(dbp, dbp->channels[i])) != 0) {
			dbp->lost = 1; /* half a session: try it all again */
			return PORTHOLE_ERR_UNAVAILABLE;
		}
	}
	dbp->lost = 0;
	return 0;
}

/*
 * LISTEN to <channel>, and remember it for db_pg_reconnect(): also
 * when the connection is found lost, as the reconnect then makes it.
 */
static int
db_pg_listen(struct db *db, const char *channel)
{
	struct db_pg *dbp = db_pg(db);
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = db_pg_listen_run(dbp, channel)) != 0 &&
	    r != PORTHOLE_ERR_UNAVAILABLE)
		goto out;
	for (i = 0; i < dbp->nchannels; i++) {
		if (strcmp(dbp->channels[i], channel) == 0)
			goto out; /* known already */
	}
	dbp->channels = xreallocarray(dbp->channels, dbp->nchannels + 1,
	    sizeof(*dbp->channels));
	dbp->channels[dbp->nchannels++] = xstrdup(channel);
out:
	return r;
}

/*
 * NOTIFY by pg_notify(), whose arguments are parameters: sent at the
 * transaction's commit, or at once outside one.
 */
static int
db_pg_notify(struct db *db, const char *channel, const char *payload)
{
	struct db_pg *dbp = db_pg(db);
	const Oid types[2] = { DB_PG_TEXTOID, DB_PG_TEXTOID };
	const char *values[2];
	PGresult *res = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (db_pg_is_lost(dbp)) {
		r = PORTHOLE_ERR_UNAVAILABLE;
		goto out;
	}
	values[0] = channel;
	values[1] = payload;
	res = PQexecParams(dbp->conn, "SELECT pg_notify($1, $2)", 2, types,
	    values, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = db_pg_error(dbp, res);
		goto out;
	}
	r = 0;
out:
	PQclear(res);
	return r;
}

/* The connection's socket, or -1 once it is lost. */
static int
db_pg_notify_fd(const struct db *db)
{
	const struct db_pg *dbp = db_pg_const(db);

	if (dbp->lost)
		return -1;
	return PQsocket(dbp->conn);
}

/*
 * Read what the socket holds without blocking and count the
 * notifications libpq has queued. End of file or an error on the
 * socket loses the connection.
 */
static int
db_pg_notify_drain(struct db *db, int *np)
{
	struct db_pg *dbp = db_pg(db);
	PGnotify *n;
	int r = PORTHOLE_ERR_INTERNAL, count = 0;

	if (db_pg_is_lost(dbp)) {
		r = PORTHOLE_ERR_UNAVAILABLE;
		goto out;
	}
	if (PQconsumeInput(dbp->conn) == 0 ||
	    PQstatus(dbp->conn) == CONNECTION_BAD) {
		db_pg_conn_errmsg(dbp);
		dbp->lost = 1;
		r = PORTHOLE_ERR_UNAVAILABLE;
		goto out;
	}
	while ((n = PQnotifies(dbp->conn)) != NULL) {
		count++;
		PQfreemem(n);
	}
	*np = count;
	r = 0;
out:
	return r;
}

/* Wait at most <ms> for a lock, the writers' included. */
static int
db_pg_set_busy_timeout(struct db *db, int ms)
{
	struct db_pg *dbp = db_pg(db);
	int r;

	if ((r = db_pg_set_lock_timeout(dbp, ms)) != 0)
		return r;
	dbp->busy_ms = ms;
	return 0;
}

/* Predicate: <c> may be part of an SQL word. */
static int
db_pg_is_word(int c)
{
	return isalnum((unsigned char)c) || c == '_' || c >= 0x80;
}

/*
 * The length of the string literal, quoted identifier or comment that
 * starts at <s> (0 if none does), so that the rewriters copy it as it
 * is. <prev> is the character before <s>, to tell E'…' from a word.
 */
static size_t
db_pg_skip_quoted(const char *s, int prev)
{
	const char *p = s;
	int backslash = 0;
	char q;

	if ((*p == 'E' || *p == 'e') && p[1] == '\'' && !db_pg_is_word(prev)) {
		backslash = 1;
		p++;
	}
	if (*p == '\'' || *p == '"') {
		/* A doubled quote inside closes and reopens: same thing. */
		q = *p++;
		while (*p != '\0' && *p != q) {
			if (backslash && *p == '\\' && p[1] != '\0')
				p++;
			p++;
		}
		if (*p == q)
			p++;
		return p - s;
	}
	if (p[0] == '-' && p[1] == '-') {
		p += strcspn(p, "\n");
		return p - s;
	}
	if (p[0] == '/' && p[1] == '*') {
		if ((p = strstr(p + 2, "*/")) == NULL)
			return strlen(s);
		return p + 2 - s;
	}
	return 0;
}

/*
 * Copy <sql> with SQLite's parameters as PostgreSQL's: ?NNN becomes
 * $NNN and a bare ? the number after the largest so far, as SQLite
 * numbers it. Literals, quoted identifiers and comments are left
 * alone. Returns the copy (the caller's) and the largest number in
 * *nparamsp, or NULL if a number is out of range.
 */
static char *
db_pg_rewrite_params(const char *sql, int *nparamsp)
{
	struct buf *b = buf_new();
	const char *p = sql;
	char *out = NULL;
	size_t n;
	long v;
	int max = 0, prev = ' ';

	*nparamsp = 0;
	while (*p != '\0') {
		if ((n = db_pg_skip_quoted(p, prev)) > 0) {
			buf_append(b, p, n);
			p += n;
			prev = p[-1];
			continue;
		}
		if (*p != '?') {
			prev = *p;
			buf_putc(b, *p++);
			continue;
		}
		p++;
		if (isdigit((unsigned char)*p)) {
			v = 0;
			while (isdigit((unsigned char)*p)) {
				v = v * 10 + (*p++ - '0');
				if (v > DB_PG_MAX_PARAMS)
					goto out;
			}
			if (v == 0)
				goto out;
		} else {
			if ((v = max + 1) > DB_PG_MAX_PARAMS)
				goto out;
		}
		if (v > max)
			max = (int)v;
		buf_printf(b, "$%ld", v);
		prev = '0';
	}
	*nparamsp = max;
	out = buf_steal(b); /* now the caller's */
out:
	buf_free(b);
	return out;
}

/* Predicate: the word <w> starts <s> (any case) and ends there. */
static int
db_pg_word_at(const char *s, const char *w, size_t *lenp)
{
	size_t n = strlen(w);

	if (strncasecmp(s, w, n) != 0 || db_pg_is_word(s[n]))
		return 0;
	*lenp = n;
	return 1;
}

/*
 * Predicate: the word before a type name, at <w> (<len> bytes), makes
 * it a type: a column's name ("data BLOB") or AS ("CAST(x AS
 * INTEGER)"), not a keyword after which a name comes ("ADD COLUMN
 * blob", "SELECT blob"). After punctuation ("(blob", ", blob") it is
 * a name too.
 */
static int
db_pg_types_follow(const char *w, size_t len)
{
	static const char *const names_follow[] = { "ADD", "AND", "BY",
		"COLUMN", "DISTINCT", "ELSE", "EXISTS", "FROM", "IN", "INDEX",
		"INTO", "IS", "KEY", "LIKE", "NOT", "ON", "OR", "REFERENCES",
		"RETURNING", "SELECT", "SET", "TABLE", "THEN", "VALUES", "WHEN",
		"WHERE" };
	size_t i, n;

	if (w == NULL)
		return 0;
	for (i = 0; i < sizeof(names_follow) / sizeof(names_follow[0]); i++) {
		if (db_pg_word_at(w, names_follow[i], &n) && n == len)
			return 0;
	}
	return 1;
}

/*
 * Copy the schema script <sql> with SQLite's types as PostgreSQL's:
 * INTEGER PRIMARY KEY AUTOINCREMENT -> BIGINT GENERATED BY DEFAULT AS
 * IDENTITY PRIMARY KEY, INTEGER -> BIGINT, BLOB -> BYTEA, each where
 * a type goes (after a column's name or AS: a column named blob stays
 * blob), outside literals, quoted identifiers and comments. Returns
 * the copy, the caller's.
 */
static char *
db_pg_map_types(const char *sql)
{
	static const char *const autoinc[] = { "INTEGER", "PRIMARY", "KEY",
		"AUTOINCREMENT" };
	struct buf *b = buf_new();
	const char *p = sql, *q, *word = NULL, *start;
	size_t n, i, wordlen = 0;
	char *out;
	int prev = ' ', is_type;

	while (*p != '\0') {
		if ((n = db_pg_skip_quoted(p, prev)) > 0) {
			buf_append(b, p, n);
			/* A quoted name is a name: a type may follow. */
			if (*p == '"') {
				word = p;
				wordlen = n;
			} else if (*p == '\'' || *p == 'E' || *p == 'e')
				word = NULL;
			p += n;
			prev = p[-1];
			continue;
		}
		if (db_pg_is_word(prev) || !db_pg_is_word(*p)) {
			if (!isspace((unsigned char)*p))
				word = NULL;
			prev = *p;
			buf_putc(b, *p++);
			continue;
		}
		/* At the start of a word. */
		start = p;
		is_type = db_pg_types_follow(word, wordlen);
		for (i = 0, q = p; i < 4; i++) {
			if (i > 0) {
				if (!isspace((unsigned char)*q))
					break;
				while (isspace((unsigned char)*q))
					q++;
			}
			if (!db_pg_word_at(q, autoinc[i], &n))
				break;
			q += n;
		}
		if (is_type && i == 4) {
			buf_puts(b,
			    "BIGINT GENERATED BY DEFAULT AS IDENTITY"
			    " PRIMARY KEY");
			p = q;
			start = q - n;
		} else if (is_type && db_pg_word_at(p, "INTEGER", &n)) {
			buf_puts(b, "BIGINT");
			p += n;
		} else if (is_type && db_pg_word_at(p, "BLOB", &n)) {
			buf_puts(b, "BYTEA");
			p += n;
		} else {
			/* Copy the word, so its tail is not taken for one. */
			while (db_pg_is_word(*p))
				buf_putc(b, *p++);
		}
		word = start;
		wordlen = p - start;
		prev = p[-1];
	}
	out = buf_steal(b); /* now the caller's */
	buf_free(b);
	return out;
}

/* Run a schema script, SQLite's types mapped to PostgreSQL's. */
static int
db_pg_exec(struct db *db, const char *script)
{
	char *sql;
	int r;

	sql = db_pg_map_types(script);
	r = db_pg_run(db_pg(db), sql);
	free(sql);
	return r;
}

/*
 * The schema version lives in a table of one row, made by the first
 * db_set_schema_version(); without it the version is 0.
 */
static int
db_pg_schema_version(struct db *db, int *versionp)
{
	struct db_pg *dbp = db_pg(db);
	PGresult *res = NULL;
	const char *v;
	int r = PORTHOLE_ERR_INTERNAL;

	*versionp = 0;
	if ((r = db_pg_query(dbp,
	         "SELECT to_regclass('porthole_schema') IS NOT NULL", &res)) !=
	    0)
		goto out;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		r = 0;
		goto out;
	}
	PQclear(res);
	if ((r = db_pg_query(dbp, "SELECT version FROM porthole_schema",
	         &res)) != 0)
		goto out;
	if (PQntuples(res) == 1) {
		v = PQgetvalue(res, 0, 0);
		*versionp = (int)strtol(v, NULL, 10);
	}
	r = 0;
out:
	PQclear(res);
	return r;
}

/* Set the schema version, making its table the first time. */
static int
db_pg_set_schema_version(struct db *db, int version)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
	    "CREATE TABLE IF NOT EXISTS porthole_schema ("
	    " one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),"
	    " version INTEGER NOT NULL);"
	    "INSERT INTO porthole_schema (version) VALUES (%d)"
	    " ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version",
	    version);
	return db_pg_run(db_pg(db), sql);
}

/* Begin a write (writers' lock taken) or a read transaction. */
static int
db_pg_begin(struct db *db, int write)
{
	struct db_pg *dbp = db_pg(db);
	char sql[256];
	int r;

	/* PostgreSQL only warns, and would go on in the open one. */
	if (db_pg_in_transaction(db)) {
		db_set_errmsg(db,
		    "cannot start a transaction within a "
		    "transaction");
		return PORTHOLE_ERR_STORE;
	}
	if (write) {
		/* One round trip; lock_timeout bounds the lock's wait. */
		snprintf(sql, sizeof(sql),
		    "BEGIN ISOLATION LEVEL READ COMMITTED;"
		    "SET LOCAL lock_timeout = %d;"
		    "SELECT pg_advisory_xact_lock(" DB_PG_WRITE_LOCK ")",
		    db_pg_lock_ms(dbp->busy_ms));
	} else {
		snprintf(sql, sizeof(sql),
		    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	}
	if ((r = db_pg_run(dbp, sql)) != 0 && !db_pg_is_lost(dbp) &&
	    PQtransactionStatus(dbp->conn) != PQTRANS_IDLE)
		PQclear(PQexec(dbp->conn, "ROLLBACK"));
	return r;
}

/* Commit, unless an error aborted the transaction. */
static int
db_pg_commit(struct db *db)
{
	struct db_pg *dbp = db_pg(db);

	/* COMMIT of an aborted transaction "succeeds" as a ROLLBACK. */
	if (!db_pg_is_lost(dbp) &&
	    PQtransactionStatus(dbp->conn) == PQTRANS_INERROR) {
		PQclear(PQexec(dbp->conn, "ROLLBACK"));
		db_set_errmsg(&dbp->base,
		    "transaction rolled back after an earlier error");
		return PORTHOLE_ERR_STORE;
	}
	return db_pg_run(dbp, "COMMIT");
}

/* Roll back the transaction, if one is open. */
static void
db_pg_rollback(struct db *db)
{
	struct db_pg *dbp = db_pg(db);

	if (!db_pg_is_lost(dbp) &&
	    PQtransactionStatus(dbp->conn) != PQTRANS_IDLE)
		PQclear(PQexec(dbp->conn, "ROLLBACK"));
}

/* Predicate: a transaction is open on a live connection. */
static int
db_pg_in_transaction(const struct db *db)
{
	const struct db_pg *dbp = db_pg_const(db);
	PGTransactionStatusType ts;

	if (dbp->lost)
		return 0;
	ts = PQtransactionStatus(dbp->conn);
	return ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR ||
	    ts == PQTRANS_ACTIVE;
}

/*
 * Predicate: <sql> changes rows: it starts with INSERT, UPDATE, DELETE
 * or MERGE, or is a WITH that holds one of them.
 */
static int
db_pg_is_write(const char *sql)
{
	static const char *const writes[] = { "INSERT", "UPDATE", "DELETE",
		"MERGE" };
	const char *p = sql;
	size_t i, n;
	int prev = ' ', first = 1, with = 0;

	while (*p != '\0') {
		if ((n = db_pg_skip_quoted(p, prev)) > 0) {
			p += n;
			prev = p[-1];
			continue;
		}
		if (db_pg_is_word(prev) || !db_pg_is_word(*p)) {
			prev = *p++;
			continue;
		}
		for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
			if (db_pg_word_at(p, writes[i], &n) && (first || with))
				return 1;
		}
		if (first)
			with = db_pg_word_at(p, "WITH", &n);
		if (!with)
			return 0;
		first = 0;
		while (db_pg_is_word(*p))
			p++;
		prev = p[-1];
	}
	return 0;
}

/* FNV-1a of <s>, to find a statement in the cache quickly. */
static uint32_t
db_pg_hash(const char *s)
{
	uint32_t h = 2166136261U;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619U;
	}
	return h;
}

/*
 * A statement for <sql>, its parameters rewritten; the server sees it
 * at its first step.
 */
static int
db_pg_prepare(struct db *db, const char *sql, struct db_stmt **stmtp)
{
	struct db_pg_stmt *st = NULL;
	int r = PORTHOLE_ERR_INTERNAL, n;
	char *pgsql;

	if ((pgsql = db_pg_rewrite_params(sql, &n)) == NULL) {
		db_set_errmsg(db, "parameter number out of range in %.60s",
		    sql);
		r = PORTHOLE_ERR_STORE;
		goto out;
	}
	st = xcalloc(1, sizeof(*st));
	st->base.db = db;
	st->sql = pgsql; /* now the statement's */
	st->hash = db_pg_hash(pgsql);
	st->is_write = db_pg_is_write(pgsql);
	st->nparams = n;
	if (n > 0) {
		st->values = xcalloc(n, sizeof(*st->values));
		st->lengths = xcalloc(n, sizeof(*st->lengths));
		st->formats = xcalloc(n, sizeof(*st->formats));
		st->types = xcalloc(n, sizeof(*st->types));
		st->ints = xcalloc(n, sizeof(*st->ints));
	}
	*stmtp = &st->base; /* now the caller's */
	r = 0;
out:
	return r;
}

/* Check parameter number <i> of <st>, setting the message if wrong. */
static int
db_pg_param(struct db_pg_stmt *st, int i)
{
	if (i < 1 || i > st->nparams) {
		db_set_errmsg(st->base.db, "parameter %d out of range (1-%d)",
		    i, st->nparams);
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

/* Bind NULL, its type left to the server. */
static int
db_pg_bind_null(struct db_stmt *stmt, int i)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	int r;

	if ((r = db_pg_param(st, i)) != 0)
		return r;
	st->values[i - 1] = NULL;
	st->lengths[i - 1] = 0;
	st->formats[i - 1] = 0;
	st->types[i - 1] = 0;
	return 0;
}

/* Bind a bigint, in decimal. */
static int
db_pg_bind_int64(struct db_stmt *stmt, int i, int64_t v)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	int r;

	if ((r = db_pg_param(st, i)) != 0)
		return r;
	snprintf(st->ints[i - 1], sizeof(st->ints[i - 1]), "%" PRId64, v);
	st->values[i - 1] = st->ints[i - 1];
	st->lengths[i - 1] = 0;
	st->formats[i - 1] = 0;
	st->types[i - 1] = DB_PG_INT8OID;
	return 0;
}

/* Bind text, not copied. */
static int
db_pg_bind_text(struct db_stmt *stmt, int i, const char *s)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	int r;

	if ((r = db_pg_param(st, i)) != 0)
		return r;
	st->values[i - 1] = s;
	st->lengths[i - 1] = 0;
	st->formats[i - 1] = 0;
	st->types[i - 1] = DB_PG_TEXTOID;
	return 0;
}

/* Bind a bytea in binary format, not copied. */
static int
db_pg_bind_blob(struct db_stmt *stmt, int i, const void *p, size_t len)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	int r;

	if ((r = db_pg_param(st, i)) != 0)
		return r;
	if (len > INT32_MAX) {
		db_set_errmsg(stmt->db, "blob of %zu bytes too large", len);
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	/* A NULL value is SQL NULL: an empty blob points somewhere. */
	st->values[i - 1] = len > 0 ? p : "";
	st->lengths[i - 1] = (int)len;
	st->formats[i - 1] = 1;
	st->types[i - 1] = DB_PG_BYTEAOID;
	return 0;
}

/* Forget the decoded blobs of the current row. */
static void
db_pg_free_blobs(struct db_pg_stmt *st)
{
	int i;

	if (st->blobs == NULL)
		return;
	for (i = 0; i < st->ncols; i++) {
		if (st->blobs[i] != NULL)
			PQfreemem(st->blobs[i]);
		st->blobs[i] = NULL;
		st->bloblens[i] = 0;
	}
}

/* Forget the result of <st>'s last run. */
static void
db_pg_clear(struct db_pg_stmt *st)
{
	db_pg_free_blobs(st);
	free(st->blobs);
	free(st->bloblens);
	st->blobs = NULL;
	st->bloblens = NULL;
	st->ncols = 0;
	PQclear(st->res);
	st->res = NULL;
	st->row = 0;
}

/* The cache's statement for <st> and its parameter types, or NULL. */
static struct db_pg_prepared *
db_pg_cache_find(struct db_pg *dbp, const struct db_pg_stmt *st)
{
	struct db_pg_prepared *c;
	int i;

	for (i = 0; i < dbp->ncache; i++) {
		c = &dbp->cache[i];
		if (c->hash == st->hash && c->ntypes == st->nparams &&
		    strcmp(c->sql, st->sql) == 0 &&
		    (st->nparams == 0 ||
		        memcmp(c->types, st->types,
		            st->nparams * sizeof(*st->types)) == 0))
			return c;
	}
	return NULL;
}

/*
 * Prepare <st> with its parameter types on the server and keep it in
 * the cache, making room by deallocating the least recently run. On
 * success *cp is the entry; else it is NULL and the result is the
 * failure, or NULL if the cache could not be used (the statement then
 * runs unprepared).
 */
static PGresult *
db_pg_cache_add(struct db_pg *dbp, const struct db_pg_stmt *st,
    struct db_pg_prepared **cp)
{
	struct db_pg_prepared *c;
	PGresult *res = NULL;
	char sql[64];
	int i, lru = 0;

	*cp = NULL;
	/* In an aborted transaction, nothing but ROLLBACK runs. */
	if (PQtransactionStatus(dbp->conn) != PQTRANS_IDLE &&
	    PQtransactionStatus(dbp->conn) != PQTRANS_INTRANS)
		return NULL;
	if (dbp->ncache == DB_PG_CACHE_MAX) {
		for (i = 1; i < dbp->ncache; i++) {
			if (dbp->cache[i].used < dbp->cache[lru].used)
				lru = i;
		}
		c = &dbp->cache[lru];
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", c->name);
		res = PQexec(dbp->conn, sql);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		free(c->sql);
		free(c->types);
		dbp->cache[lru] = dbp->cache[--dbp->ncache];
	}
	c = &dbp->cache[dbp->ncache];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "db_pg_%" PRIu64, dbp->nextname++);
	res = PQprepare(dbp->conn, c->name, st->sql, st->nparams, st->types);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		return res;
	PQclear(res);
	c->sql = xstrdup(st->sql);
	c->ntypes = st->nparams;
	if (st->nparams > 0) {
		c->types = xcalloc(st->nparams, sizeof(*c->types));
		memcpy(c->types, st->types, st->nparams * sizeof(*c->types));
	}
	c->hash = st->hash;
	dbp->ncache++;
	*cp = c;
	return NULL;
}

/* Predicate: <res> says a prepared statement's result type changed. */
static int
db_pg_is_stale(const PGresult *res)
{
	const char *state;

	if (res == NULL || PQresultStatus(res) != PGRES_FATAL_ERROR)
		return 0;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state != NULL && strcmp(state, "0A000") == 0;
}

/* Drop <c> from the cache (the server's copy is dropped if it can be). */
static void
db_pg_cache_forget(struct db_pg *dbp, struct db_pg_prepared *c)
{
	char sql[64];

	if (PQtransactionStatus(dbp->conn) == PQTRANS_IDLE) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", c->name);
		PQclear(PQexec(dbp->conn, sql));
	}
	free(c->sql);
	free(c->types);
	*c = dbp->cache[--dbp->ncache];
}

/* Run <st> with its bindings, prepared from the cache if it can be. */
static PGresult *
db_pg_execute(struct db_pg *dbp, struct db_pg_stmt *st)
{
	struct db_pg_prepared *c;
	PGresult *res;

	if ((c = db_pg_cache_find(dbp, st)) == NULL &&
	    (res = db_pg_cache_add(dbp, st, &c)) != NULL)
		return res; /* the failure to prepare */
	if (c == NULL)
		return PQexecParams(dbp->conn, st->sql, st->nparams, st->types,
		    st->values, st->lengths, st->formats, 0);
	c->used = ++dbp->clock;
	res = PQexecPrepared(dbp->conn, c->name, st->nparams, st->values,
	    st->lengths, st->formats, 0);
	/*
	 * A table changed under a prepared SELECT *: forget the statement
	 * and, outside a transaction, which the error did not abort, run
	 * it again (prepared anew).
	 */
	if (!db_pg_is_stale(res))
		return res;
	db_pg_cache_forget(dbp, c);
	if (PQtransactionStatus(dbp->conn) != PQTRANS_IDLE)
		return res;
	PQclear(res);
	return db_pg_execute(dbp, st);
}

/* Keep the row count of an INSERT, UPDATE, DELETE or MERGE in <res>. */
static void
db_pg_count(struct db_pg *dbp, PGresult *res)
{
	const char *status = PQcmdStatus(res);

	if (strncmp(status, "INSERT ", 7) != 0 &&
	    strncmp(status, "UPDATE ", 7) != 0 &&
	    strncmp(status, "DELETE ", 7) != 0 &&
	    strncmp(status, "MERGE ", 6) != 0)
		return;
	dbp->changes = strtoll(PQcmdTuples(res), NULL, 10);
}

/* Run the statement at its first step; walk its rows after. */
static int
db_pg_step(struct db_stmt *stmt)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	struct db_pg *dbp = db_pg(stmt->db);
	int r = PORTHOLE_ERR_INTERNAL, rc, implicit = 0;

	if (st->res != NULL) {
		db_pg_free_blobs(st);
		if (st->row + 1 < PQntuples(st->res)) {
			st->row++;
			return DB_ROW;
		}
		/* Past the last row: DONE once, then run again (as SQLite). */
		if (st->row < PQntuples(st->res)) {
			st->row = PQntuples(st->res);
			return DB_DONE;
		}
		db_pg_clear(st);
	}
	if (db_pg_is_lost(dbp)) {
		r = PORTHOLE_ERR_UNAVAILABLE;
		goto out;
	}
	/*
	 * A write outside a transaction takes the writers' lock in one of
	 * its own, as SQLite's would: a single statement's read (WHERE
	 * EXISTS …) and write are then one step for the other writers.
	 */
	implicit =
	    st->is_write && PQtransactionStatus(dbp->conn) == PQTRANS_IDLE;
	if (implicit && (r = db_pg_begin(stmt->db, 1)) != 0)
		goto out;
	st->res = db_pg_execute(dbp, st);
	if (st->res == NULL) {
		r = db_pg_error(dbp, NULL);
		goto out;
	}
	switch (PQresultStatus(st->res)) {
	case PGRES_COMMAND_OK:
		db_pg_count(dbp, st->res);
		st->row = 0;
		r = DB_DONE;
		break;
	case PGRES_TUPLES_OK:
		db_pg_count(dbp, st->res);
		st->ncols = PQnfields(st->res);
		st->blobs = xcalloc(st->ncols + 1, sizeof(*st->blobs));
		st->bloblens = xcalloc(st->ncols + 1, sizeof(*st->bloblens));
		st->row = 0;
		r = PQntuples(st->res) > 0 ? DB_ROW : DB_DONE;
		break;
	default:
		r = db_pg_error(dbp, st->res);
		break;
	}
	if (implicit && r >= 0 && (rc = db_pg_commit(stmt->db)) != 0)
		r = rc;
	else if (implicit && r < 0)
		db_pg_rollback(stmt->db);
out:
	if (r < 0)
		db_pg_clear(st);
	return r;
}

/* Forget the result and the bindings. */
static void
db_pg_reset(struct db_stmt *stmt)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	int i;

	db_pg_clear(st);
	for (i = 0; i < st->nparams; i++) {
		st->values[i] = NULL;
		st->lengths[i] = 0;
		st->formats[i] = 0;
		st->types[i] = 0;
	}
}

/* Free the statement. */
static void
db_pg_finalize(struct db_stmt *stmt)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);

	db_pg_clear(st);
	free(st->values);
	free(st->lengths);
	free(st->formats);
	free(st->types);
	free(st->ints);
	free(st->sql);
	free(st);
}

/* The rows the last INSERT, UPDATE, DELETE or MERGE changed. */
static int64_t
db_pg_changes(struct db *db)
{
	return db_pg(db)->changes;
}

/* Predicate: column <i> of the current row exists (and is not NULL). */
static int
db_pg_has_value(struct db_pg_stmt *st, int i)
{
	return st->res != NULL && st->row < PQntuples(st->res) && i >= 0 &&
	    i < st->ncols && !PQgetisnull(st->res, st->row, i);
}

/* Predicate: column <i> is NULL (or not there). */
static int
db_pg_column_is_null(struct db_stmt *stmt, int i)
{
	return !db_pg_has_value(db_pg_stmt(stmt), i);
}

/* Column <i> as an integer, booleans as 1 and 0. */
static int64_t
db_pg_column_int64(struct db_stmt *stmt, int i)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	const char *v;

	if (!db_pg_has_value(st, i))
		return 0;
	v = PQgetvalue(st->res, st->row, i);
	/* EXISTS, comparisons: SQLite's 1 and 0 are PostgreSQL's t, f. */
	if (PQftype(st->res, i) == DB_PG_BOOLOID)
		return *v == 't';
	return strtoll(v, NULL, 10);
}

/* Column <i> as text, libpq's until the next step. */
static const char *
db_pg_column_text(struct db_stmt *stmt, int i)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);

	if (!db_pg_has_value(st, i))
		return NULL;
	return PQgetvalue(st->res, st->row, i);
}

/* Column <i> as bytes, a bytea decoded once per row. */
static const void *
db_pg_column_blob(struct db_stmt *stmt, int i, size_t *lenp)
{
	struct db_pg_stmt *st = db_pg_stmt(stmt);
	const char *v;

	*lenp = 0;
	if (!db_pg_has_value(st, i))
		return NULL;
	v = PQgetvalue(st->res, st->row, i);
	if (PQftype(st->res, i) != DB_PG_BYTEAOID) {
		*lenp = PQgetlength(st->res, st->row, i);
		return v;
	}
	if (st->blobs[i] == NULL) {
		st->blobs[i] =
		    PQunescapeBytea((const unsigned char *)v, &st->bloblens[i]);
		if (st->blobs[i] == NULL)
			fatal_f("PQunescapeBytea: out of memory");
	}
	*lenp = st->bloblens[i];
	return st->blobs[i];
}

/* PostgreSQL's SQL for <what>. */
static const char *
db_pg_dialect(const struct db *db, enum db_sql what)
{
	switch (what) {
	case DB_SQL_NOW_MS:
		/* The statement's time, as SQLite's 'now' is per statement. */
		return "CAST(FLOOR(EXTRACT(EPOCH FROM statement_timestamp())"
		       " * 1000) AS BIGINT)";
	}
	fatal_f("unknown dialect item %d", (int)what);
}

static const struct db_ops db_pg_ops = {
	.kind = DB_POSTGRES,
	.close = db_pg_close,
	.set_busy_timeout = db_pg_set_busy_timeout,
	.exec = db_pg_exec,
	.setup = NULL,
	.schema_version = db_pg_schema_version,
	.set_schema_version = db_pg_set_schema_version,
	.begin = db_pg_begin,
	.commit = db_pg_commit,
	.rollback = db_pg_rollback,
	.in_transaction = db_pg_in_transaction,
	.prepare = db_pg_prepare,
	.bind_null = db_pg_bind_null,
	.bind_int64 = db_pg_bind_int64,
	.bind_text = db_pg_bind_text,
	.bind_blob = db_pg_bind_blob,
	.step = db_pg_step,
	.reset = db_pg_reset,
	.finalize = db_pg_finalize,
	.changes = db_pg_changes,
	.column_is_null = db_pg_column_is_null,
	.column_int64 = db_pg_column_int64,
	.column_text = db_pg_column_text,
	.column_blob = db_pg_column_blob,
	.dialect = db_pg_dialect,
	.reconnect = db_pg_reconnect,
	.listen = db_pg_listen,
	.notify = db_pg_notify,
	.notify_fd = db_pg_notify_fd,
	.notify_drain = db_pg_notify_drain,
};
