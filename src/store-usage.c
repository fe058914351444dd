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

int
store_usage_add(struct store *store, const struct store_usage *rows, size_t n)
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
	int r;

	if (n == 0)
		return 0;
	if ((r = store_begin(store)) != 0)
		return r;
	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		const struct store_usage *u = &rows[i];

		if (u->account_id == NULL || u->hostport == NULL ||
		    u->connections < 0 || u->refused < 0 || u->bytes_in < 0 ||
		    u->bytes_out < 0) {
			r = PORTHOLE_ERR_INVALID_ARGUMENT;
			goto out;
		}
		if ((r = store_rerun(store, stmt, sql, "ttIIIII", u->account_id,
		         u->hostport, STORE_USAGE_HOUR(u->hour_ms),
		         u->connections, u->refused, u->bytes_in,
		         u->bytes_out)) != 0)
			goto out;
	}
	db_finalize(stmt);
	stmt = NULL;
	r = store_commit(store);
out:
	db_finalize(stmt);
	if (r != 0)
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
