/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_DB_INT_H
#define PORTHOLE_DB_INT_H

/*
 * What the drivers (db-sqlite.c, db-pg.c) share with the dispatch in
 * db.c; nothing else includes this. A driver's connection starts with
 * a struct db, and its statement with a struct db_stmt, so that db.c
 * can reach the driver's functions through db->ops.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define DB_ERRMSG_LEN 256

struct db_ops {
	enum db_kind kind;
	void (*close)(struct db *);
	int (*set_busy_timeout)(struct db *, int ms);
	int (*exec)(struct db *, const char *script);
	int (*setup)(struct db *); /* may be NULL: nothing to do */
	int (*schema_version)(struct db *, int *versionp);
	int (*set_schema_version)(struct db *, int version);
	int (*begin)(struct db *, int write);
	int (*commit)(struct db *);
	void (*rollback)(struct db *);
	int (*in_transaction)(const struct db *);
	int (*prepare)(struct db *, const char *sql, struct db_stmt **stmtp);
	int (*bind_null)(struct db_stmt *, int i);
	int (*bind_int64)(struct db_stmt *, int i, int64_t v);
	int (*bind_text)(struct db_stmt *, int i, const char *s);
	int (*bind_blob)(struct db_stmt *, int i, const void *p, size_t len);
	int (*step)(struct db_stmt *);
	void (*reset)(struct db_stmt *);
	void (*finalize)(struct db_stmt *);
	int64_t (*changes)(struct db *);
	int (*column_is_null)(struct db_stmt *, int i);
	int64_t (*column_int64)(struct db_stmt *, int i);
	const char *(*column_text)(struct db_stmt *, int i);
	const void *(*column_blob)(struct db_stmt *, int i, size_t *lenp);
	const char *(*dialect)(const struct db *, enum db_sql);
	int (*reconnect)(struct db *); /* may be NULL: nothing to do */
	/* Change notification; NULL: PORTHOLE_ERR_UNSUPPORTED. */
	int (*listen)(struct db *, const char *channel);
	int (*notify)(struct db *, const char *channel, const char *payload);
	int (*notify_fd)(const struct db *);
	int (*notify_drain)(struct db *, int *np);
};

/* The head of every driver's connection. */
struct db {
	const struct db_ops *ops;
	char errmsg[DB_ERRMSG_LEN]; /* the last failure, for db_errmsg() */
};

/* The head of every driver's statement. */
struct db_stmt {
	struct db *db;
};

/*
 * The drivers' openers, as db_open() without the choice: each fills
 * in ops and returns its connection in *dbp. db_pg_open() exists when
 * configure found libpq (HAVE_LIBPQ).
 */
int db_sqlite_open(const char *target, struct db **dbp, char *err,
    size_t errlen);
#ifdef HAVE_LIBPQ
int db_pg_open(const char *target, struct db **dbp, char *err, size_t errlen);
#endif

/* Keep <fmt> as the connection's last error message (for db_errmsg()). */
void db_set_errmsg(struct db *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* PORTHOLE_DB_INT_H */
