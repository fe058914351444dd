/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Usage (migration 12): connections and bytes per account, address
 * ("host:port") and hour, added to by the monitor as its sessions
 * report, read by TransferQuota and "portholectl usage". An hour's row
 * is made by its first addition; later ones add to it.
 */

/* Predicate: <n> usage rows <rows> may be added. */
int
store_usage_valid(const struct store_usage *rows, size_t n)
{
	size_t i;

	if (n > 0 && rows == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		const struct store_usage *u = &rows[i];

		if (u->account_id == NULL || u->hostport == NULL ||
		    u->hour_ms < 0 || u->connections < 0 || u->refused < 0 ||
		    u->bytes_in < 0 || u->bytes_out < 0)
			return 0;
	}
	return 1;
}

/*
 * Add <n> rows (checked by store_usage_valid) in the open write
 * transaction.
 */
int
store_usage_add_in(struct store *store, const struct store_usage *rows,
    size_t n)
{
	static const char sql[] =
	    "INSERT INTO usage_hours (account_id, hostport, hour_ms,"
	    " connections, refused, bytes_in, bytes_out)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (account_id, hostport, hour_ms) DO UPDATE SET"
	    " connections = usage_hours.connections + excluded.connections,"
	    " refused = usage_hours.refused + excluded.refused,"
	    " bytes_in = usage_hours.bytes_in + excluded.bytes_in,"
	    " bytes_out = usage_hours.bytes_out + excluded.bytes_out";
	struct db_stmt *stmt = NULL;
	size_t i;
	int r = 0;

	if (n == 0)
		goto out;
	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		const struct store_usage *u = &rows[i];

		if ((r = store_rerun(store, stmt, sql, "ttIIIII", u->account_id,
		         u->hostport, STORE_USAGE_HOUR(u->hour_ms),
		         u->connections, u->refused, u->bytes_in,
		         u->bytes_out)) != 0)
			goto out;
	}
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

int
store_usage_add(struct store *store, const struct store_usage *rows, size_t n)
{
	int r;

	if (!store_usage_valid(rows, n))
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	if (n == 0)
		return 0;
	if ((r = store_begin(store)) != 0)
		return r;
	if ((r = store_usage_add_in(store, rows, n)) != 0 ||
	    (r = store_commit(store)) != 0)
		store_rollback(store);
	return r;
}

int
store_usage_bytes_since(struct store *store, const char *account_id,
    int64_t since_ms, int64_t *bytesp)
{
	static const char sql[] =
	    "SELECT coalesce(sum(bytes_in + bytes_out), 0) FROM usage_hours"
	    " WHERE account_id = ?1 AND hour_ms >= ?2";
	int64_t v = 0;
	int r;

	*bytesp = 0;
	if (account_id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	if ((r = store_get(store, &store_int64_rows, &v, sql, "tI", account_id,
	         STORE_USAGE_HOUR(since_ms))) != 0)
		return r;
	*bytesp = v;
	return 0;
}

/* A usage row at <slot> from the current row of store_usage_list(). */
static void
store_usage_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_usage *u = slot;
	int64_t bucket = db_column_int64(stmt, 3);

	u->account_id = store_column_text(stmt, 0);
	u->account_name = store_column_text(stmt, 1);
	u->hostport = store_column_text(stmt, 2);
	/* The whole span has one bucket, 0: its first hour stands for it. */
	u->hour_ms = bucket != 0 ? bucket : db_column_int64(stmt, 4);
	u->connections = db_column_int64(stmt, 5);
	u->refused = db_column_int64(stmt, 6);
	u->bytes_in = db_column_int64(stmt, 7);
	u->bytes_out = db_column_int64(stmt, 8);
}

static void
store_usage_list_vfree(void *list, size_t n)
{
	store_usage_list_free(list, n);
}

static const struct store_rows store_usage_rows = { sizeof(struct store_usage),
	store_usage_from_row, store_usage_list_vfree };

int
store_usage_list(struct store *store, const char *account_id, int64_t since_ms,
    int64_t bucket_ms, struct store_usage **listp, size_t *np)
{
	/* The bucket of an hour: its start; with no bucket, 0 for all. */
	static const char sql_all[] =
	    "SELECT u.account_id, a.name, u.hostport,"
	    " u.hour_ms - u.hour_ms % ?2, min(u.hour_ms),"
	    " sum(u.connections), sum(u.refused), sum(u.bytes_in),"
	    " sum(u.bytes_out)"
	    " FROM usage_hours u JOIN accounts a ON a.id = u.account_id"
	    " WHERE u.hour_ms >= ?1"
	    " GROUP BY 1, 2, 3, 4 ORDER BY 2, 3, 4";
	static const char sql_one[] =
	    "SELECT u.account_id, a.name, u.hostport,"
	    " u.hour_ms - u.hour_ms % ?2, min(u.hour_ms),"
	    " sum(u.connections), sum(u.refused), sum(u.bytes_in),"
	    " sum(u.bytes_out)"
	    " FROM usage_hours u JOIN accounts a ON a.id = u.account_id"
	    " WHERE u.hour_ms >= ?1 AND u.account_id = ?3"
	    " GROUP BY 1, 2, 3, 4 ORDER BY 2, 3, 4";
	void *list = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (store == NULL || listp == NULL || np == NULL || since_ms < 0 ||
	    bucket_ms < 0 || (bucket_ms != 0 && bucket_ms % 3600000 != 0)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (bucket_ms == 0)
		bucket_ms = INT64_MAX;
	if (account_id == NULL)
		r = store_list(store, &store_usage_rows, &list, np, sql_all,
		    "II", STORE_USAGE_HOUR(since_ms), bucket_ms);
	else
		r = store_list(store, &store_usage_rows, &list, np, sql_one,
		    "IIt", STORE_USAGE_HOUR(since_ms), bucket_ms, account_id);
	if (r != 0)
		goto out;
	/* Ownership passes to the caller. */
	*listp = list;
	r = 0;
out:
	return r;
}

void
store_usage_list_free(struct store_usage *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(list[i].account_id);
		free(list[i].account_name);
		free(list[i].hostport);
	}
	free(list);
}
