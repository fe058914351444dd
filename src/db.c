/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db-int.h"
#include "db.h"
#include "err.h"

/*
 * The driver's dispatch: db_open() chooses a driver by the target's
 * form, and every other call goes to the driver that made its handle.
 */

/* Open <target> with the driver its form names. */
int
db_open(const char *target, struct db **dbp, char *err, size_t errlen)
{
	if (dbp != NULL)
		*dbp = NULL;
	if (err != NULL && errlen > 0)
		*err = '\0';
	if (target == NULL || dbp == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no database named");
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	if (db_target_is_pg(target)) {
#ifdef HAVE_LIBPQ
		return db_pg_open(target, dbp, err, errlen);
#else
		if (err != NULL && errlen > 0)
			snprintf(err, errlen,
			    "built without PostgreSQL support");
		return PORTHOLE_ERR_UNAVAILABLE;
#endif
	}
	return db_sqlite_open(target, dbp, err, errlen);
}

/* Close <db>; NULL is a no-op. */
void
db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

enum db_kind
db_kind(const struct db *db)
{
	return db->ops->kind;
}

/* The last failure's message (borrowed). */
const char *
db_errmsg(const struct db *db)
{
	if (db == NULL)
		return "no database";
	return db->errmsg;
}

void
db_set_errmsg(struct db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->errmsg, sizeof(db->errmsg), fmt, ap);
	va_end(ap);
}

int
db_set_busy_timeout(struct db *db, int ms)
{
	if (db == NULL || ms < 0)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return db->ops->set_busy_timeout(db, ms);
}

int
db_setup(struct db *db)
{
	if (db->ops->setup == NULL)
		return 0;
	return db->ops->setup(db);
}

int
db_exec(struct db *db, const char *script)
{
	return db->ops->exec(db, script);
}

int
db_schema_version(struct db *db, int *versionp)
{
	return db->ops->schema_version(db, versionp);
}

int
db_set_schema_version(struct db *db, int version)
{
	return db->ops->set_schema_version(db, version);
}

int
db_begin(struct db *db, int write)
{
	return db->ops->begin(db, write);
}

int
db_commit(struct db *db)
{
	return db->ops->commit(db);
}

void
db_rollback(struct db *db)
{
	db->ops->rollback(db);
}

int
db_in_transaction(const struct db *db)
{
	return db->ops->in_transaction(db);
}

int
db_prepare(struct db *db, const char *sql, struct db_stmt **stmtp)
{
	*stmtp = NULL;
	return db->ops->prepare(db, sql, stmtp);
}

int
db_bind_null(struct db_stmt *stmt, int i)
{
	return stmt->db->ops->bind_null(stmt, i);
}

int
db_bind_int64(struct db_stmt *stmt, int i, int64_t v)
{
	return stmt->db->ops->bind_int64(stmt, i, v);
}

int
db_bind_text(struct db_stmt *stmt, int i, const char *s)
{
	if (s == NULL)
		return stmt->db->ops->bind_null(stmt, i);
	return stmt->db->ops->bind_text(stmt, i, s);
}

int
db_bind_blob(struct db_stmt *stmt, int i, const void *p, size_t len)
{
	return stmt->db->ops->bind_blob(stmt, i, p, len);
}

int
db_step(struct db_stmt *stmt)
{
	return stmt->db->ops->step(stmt);
}

void
db_reset(struct db_stmt *stmt)
{
	stmt->db->ops->reset(stmt);
}

/* Finalize <stmt>; NULL is a no-op. */
void
db_finalize(struct db_stmt *stmt)
{
	if (stmt != NULL)
		stmt->db->ops->finalize(stmt);
}

int64_t
db_changes(struct db *db)
{
	return db->ops->changes(db);
}

int
db_column_is_null(struct db_stmt *stmt, int i)
{
	return stmt->db->ops->column_is_null(stmt, i);
}

int64_t
db_column_int64(struct db_stmt *stmt, int i)
{
	return stmt->db->ops->column_int64(stmt, i);
}

const char *
db_column_text(struct db_stmt *stmt, int i)
{
	return stmt->db->ops->column_text(stmt, i);
}

const void *
db_column_blob(struct db_stmt *stmt, int i, size_t *lenp)
{
	return stmt->db->ops->column_blob(stmt, i, lenp);
}

const char *
db_dialect(const struct db *db, enum db_sql what)
{
	return db->ops->dialect(db, what);
}

int
db_reconnect(struct db *db)
{
	if (db->ops->reconnect == NULL)
		return 0;
	return db->ops->reconnect(db);
}

/*
 * Predicate: <channel> is a name db.h allows: one that PostgreSQL
 * keeps as written, quoted or not.
 */
static int
db_channel_valid(const char *channel)
{
	size_t i;

	if (channel == NULL || channel[0] == '\0' ||
	    isdigit((unsigned char)channel[0]))
		return 0;
	for (i = 0; channel[i] != '\0'; i++) {
		if (i >= DB_CHANNEL_MAX ||
		    !((channel[i] >= 'a' && channel[i] <= 'z') ||
		        isdigit((unsigned char)channel[i]) ||
		        channel[i] == '_'))
			return 0;
	}
	return 1;
}

/* The driver cannot notify: say so in db_errmsg(). */
static int
db_unsupported(struct db *db)
{
	db_set_errmsg(db, "change notification needs PostgreSQL");
	return PORTHOLE_ERR_UNSUPPORTED;
}

int
db_listen(struct db *db, const char *channel)
{
	if (db->ops->listen == NULL)
		return db_unsupported(db);
	if (!db_channel_valid(channel)) {
		db_set_errmsg(db, "bad channel name");
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	return db->ops->listen(db, channel);
}

int
db_notify(struct db *db, const char *channel, const char *payload)
{
	if (db->ops->notify == NULL)
		return db_unsupported(db);
	if (!db_channel_valid(channel) ||
	    (payload != NULL && strlen(payload) > DB_PAYLOAD_MAX)) {
		db_set_errmsg(db, "bad channel name or payload");
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	return db->ops->notify(db, channel, payload == NULL ? "" : payload);
}

int
db_notify_fd(const struct db *db)
{
	if (db->ops->notify_fd == NULL)
		return -1;
	return db->ops->notify_fd(db);
}

int
db_notify_drain(struct db *db, int *np)
{
	*np = 0;
	if (db->ops->notify_drain == NULL)
		return db_unsupported(db);
	return db->ops->notify_drain(db, np);
}
