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

/* The store's endpoints (live and past forwards) and address affinity. */

/* Affinity hands out at most this many addresses. */
#define STORE_AFFINITY_MAX 64

/* A new endpoint at <slot> from the current row (STORE_ENDPOINT_SELECT). */
static void
store_endpoint_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_endpoint *e;

	e = xcalloc(1, sizeof(*e));
	e->id = store_column_text(stmt, 0);
	e->session_id = store_column_text(stmt, 1);
	e->account_id = store_column_text(stmt, 2);
	e->account_name = store_column_text(stmt, 3);
	e->host = store_column_text(stmt, 4);
	e->port = store_column_int(stmt, 5);
	e->bind_address = store_column_text(stmt, 6);
	e->metadata = store_column_text(stmt, 7);
	e->address_id = store_column_text(stmt, 8);
	e->started_ms = db_column_int64(stmt, 9);
	e->ended_ms = db_column_int64(stmt, 10); /* NULL reads as 0 */
	e->edge_id = store_column_text(stmt, 11);
	e->conns_open = db_column_int64(stmt, 12);
	e->conns_total = db_column_int64(stmt, 13);
	e->bytes_in = db_column_int64(stmt, 14);
	e->bytes_out = db_column_int64(stmt, 15);
	e->node = store_column_text(stmt, 16);
	e->region = store_column_text(stmt, 17);
	e->pooled = store_column_int(stmt, 18) != 0;
	*(struct store_endpoint **)slot = e;
}

static void
store_endpoint_list_vfree(void *list, size_t n)
{
	store_endpoint_list_free(list, n);
}

const struct store_rows store_endpoint_rows = { sizeof(struct store_endpoint *),
	store_endpoint_from_row, store_endpoint_list_vfree };

/*
 * Record live endpoint <e>: _EXISTS if the id is taken, _NOT_FOUND
 * unless e->session_id is a live session of account e->account_id.
 * An ended session (killed, or its process reaped) gains no endpoints.
 * An endpoint that serves a reserved address (e->address_id) is also
 * _NOT_FOUND unless that address is reserved (not deleted) to the
 * same account, so a deleted or given-away address is never served;
 * an address on an edge (its own, or an account's put on it) is served
 * by the edge's backend accounts only. e->edge_id must be the edge the address is on,
 * NULL if none (_NOT_FOUND otherwise), so membership is never taken
 * by mistake; an edge without an address is _INVALID_ARGUMENT.
 */
int
store_endpoint_add(struct store *store, const struct store_endpoint *e)
{
	static const char sql[] =
	    "INSERT INTO endpoints (id, session_id, account_id, host, port,"
	    " bind_address, metadata, address_id, started_ms, edge_id,"
	    " node, region, pooled, seq)"
	    " SELECT ?1, ?2, ?3, ?4, CAST(?5 AS BIGINT), ?6, ?7, ?8,"
	    " CAST(?9 AS BIGINT), ?10, ?11, ?12, CAST(?13 AS INTEGER),"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM endpoints)"
	    " WHERE EXISTS (SELECT 1 FROM sessions"
	    "  WHERE id = ?2 AND account_id = ?3 AND ended_ms IS NULL)"
	    " AND (CAST(?8 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM addresses "
	    "r"
	    "  LEFT JOIN edge_addresses x ON x.address_id = r.id"
	    "  WHERE r.id = ?8 AND r.deleted_ms IS NULL "
	    "  AND x.edge_id IS NOT DISTINCT FROM CAST(?10 AS TEXT)"
	    "  AND ((x.edge_id IS NULL AND r.account_id = ?3)"
	    "   OR (x.edge_id IS NOT NULL"
	    "    AND EXISTS (SELECT 1 FROM edge_backends b"
	    "     WHERE b.edge_id = x.edge_id AND b.account_id = ?3)))))"
	    " AND (CAST(?10 AS TEXT) IS NOT NULL OR NOT EXISTS (SELECT 1"
	    "  FROM endpoints o"
	    "  WHERE o.host = ?4 AND o.port = CAST(?5 AS BIGINT)"
	    "  AND o.ended_ms IS NULL AND o.edge_id IS NULL"
	    "  AND o.node <> ?11))";
	static const char sql_elsewhere[] =
	    "SELECT count(*) FROM endpoints WHERE host = ?1 AND port = ?2"
	    " AND ended_ms IS NULL AND edge_id IS NULL AND node <> ?3"
	    " AND EXISTS (SELECT 1 FROM sessions"
	    "  WHERE id = ?4 AND ended_ms IS NULL)";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (e == NULL || e->id == NULL || e->session_id == NULL ||
	    e->account_id == NULL || e->host == NULL ||
	    e->bind_address == NULL || e->port <= 0 || e->port > 65535 ||
	    (e->edge_id != NULL && e->address_id == NULL)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run_locked(store, &n, sql, "ttttitttIttti", e->id,
	         e->session_id, e->account_id, e->host, e->port,
	         e->bind_address, e->metadata, e->address_id, e->started_ms,
	         e->edge_id, e->node != NULL ? e->node : "",
	         e->region != NULL ? e->region : "", e->pooled ? 1 : 0)) != 0)
		goto out;
	/*
	 * Pooled endpoints escape the one-live index, so outside edges a
	 * live endpoint of another node on the same address is checked
	 * here: only one node serves it (_EXISTS), pooled or not; an ended
	 * session is _NOT_FOUND first.
	 */
	if (n == 0 && e->edge_id == NULL &&
	    store_prepare(store, &stmt, sql_elsewhere, "titt", e->host, e->port,
	        e->node != NULL ? e->node : "", e->session_id) == 0 &&
	    db_step(stmt) == DB_ROW && store_column_int(stmt, 0) > 0) {
		r = PORTHOLE_ERR_EXISTS;
		goto out;
	}
	if (n == 0) {
		debug_f("endpoint %.40s: no live session %.40s or address "
		        "%.40s on edge %.40s",
		    e->id, e->session_id,
		    e->address_id != NULL ? e->address_id : "(none)",
		    e->edge_id != NULL ? e->edge_id : "(none)");
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Mark live endpoint <id> pooled: its address became shared with
 * other sessions (pooling); _NOT_FOUND if it is not live.
 */
int
store_endpoint_set_pooled(struct store *store, const char *id)
{
	if (id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store,
	    "UPDATE endpoints SET pooled = 1"
	    " WHERE id = ?1 AND ended_ms IS NULL",
	    "t", id);
}

/* End live endpoint <id> at <now_ms>; _NOT_FOUND if none is live. */
int
store_endpoint_end(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE endpoints SET ended_ms = ?2"
	    " WHERE id = ?1 AND ended_ms IS NULL",
	    "tI", id, now_ms);
out:
	return r;
}

/*
 * Whether a live endpoint outside edges is on <host>:<port> (on any
 * node), in *livep.
 */
int
store_endpoint_live_at(struct store *store, const char *host, int port,
    int *livep)
{
	static const char sql[] =
	    "SELECT count(*) FROM endpoints WHERE host = ?1 AND port = ?2"
	    " AND ended_ms IS NULL AND edge_id IS NULL";
	struct db_stmt *stmt = NULL;
	int r, rc;

	*livep = 0;
	if (host == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	if ((r = store_prepare(store, &stmt, sql, "ti", host, port)) != 0)
		return r;
	if ((rc = db_step(stmt)) == DB_ROW)
		*livep = store_column_int(stmt, 0) > 0;
	else
		r = store_error(store, rc, sql);
	db_finalize(stmt);
	return r;
}

/* Set (or clear, with NULL) the metadata of live endpoint <id>. */
int
store_endpoint_set_metadata(struct store *store, const char *id,
    const char *metadata)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE endpoints SET metadata = ?2"
	    " WHERE id = ?1 AND ended_ms IS NULL",
	    "tt", id, metadata);
out:
	return r;
}

/* Live endpoints with their account name, oldest first. */
int
store_endpoint_list(struct store *store, struct store_endpoint ***listp,
    size_t *np)
{
	static const char sql[] = STORE_ENDPOINT_SELECT
	    " WHERE e.ended_ms IS NULL ORDER BY e.started_ms, e.seq";
	void *list = NULL;
	int r;

	r = store_list(store, &store_endpoint_rows,
	    listp != NULL ? &list : NULL, np, sql, "");
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Free <e>; NULL is a no-op. */
void
store_endpoint_free(struct store_endpoint *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->session_id);
	free(e->account_id);
	free(e->account_name);
	free(e->host);
	free(e->bind_address);
	free(e->metadata);
	free(e->address_id);
	free(e->edge_id);
	free(e->node);
	free(e->region);
	free(e);
}

/* Free the <n> endpoints of <list> and the list itself. */
void
store_endpoint_list_free(struct store_endpoint **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_endpoint_free(list[i]);
	free(list);
}

/* Address affinity. */

/* A host and port at <slot> from the current row of the affinity query. */
static void
store_hostport_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_hostport *hp = slot;

	hp->host = store_column_text(stmt, 0);
	hp->port = store_column_int(stmt, 1);
}

static void
store_hostport_list_vfree(void *list, size_t n)
{
	store_hostport_list_free(list, n);
}

static const struct store_rows store_hostport_rows = {
	sizeof(struct store_hostport), store_hostport_from_row,
	store_hostport_list_vfree
};

/*
 * The addresses that credential <credential> of account <account_id>
 * held at random in its ended sessions, most recent session first,
 * each port once (where it came last). Left out as well as ports live
 * again: ports that a reserved address has, or had, since a random
 * port can be reserved once released. An empty credential (anonymous)
 * names no one, so it has no affinity.
 */
int
store_affinity(struct store *store, const char *account_id,
    const char *credential, int64_t since_ms, struct store_hostport **listp,
    size_t *np)
{
	static const char sql[] =
	    "SELECT host, port FROM"
	    " (SELECT e.host, e.port, s.started_ms AS s_ms, s.seq AS s_seq,"
	    "  e.started_ms AS e_ms, e.seq AS e_seq,"
	    "  row_number() OVER (PARTITION BY e.port ORDER BY"
	    "   s.started_ms DESC, s.seq DESC, e.started_ms, e.seq) AS nth"
	    "  FROM endpoints e JOIN sessions s ON s.id = e.session_id"
	    "  WHERE e.account_id = ?1 AND s.account_id = ?1"
	    "  AND s.credential = ?2 AND s.ended_ms IS NOT NULL"
	    "  AND e.address_id IS NULL AND e.ended_ms >= ?3"
	    "  AND NOT EXISTS (SELECT 1 FROM endpoints l"
	    "   WHERE l.port = e.port AND l.ended_ms IS NULL)"
	    "  AND NOT EXISTS (SELECT 1 FROM addresses r"
	    "   WHERE r.port = e.port))"
	    " AS held WHERE nth = 1"
	    " ORDER BY s_ms DESC, s_seq DESC, e_ms, e_seq LIMIT ?4";
	void *list = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (account_id == NULL || credential == NULL || listp == NULL ||
	    np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (*credential == '\0') {
		r = 0;
		goto out;
	}
	if ((r = store_list(store, &store_hostport_rows, &list, np, sql, "ttIi",
	         account_id, credential, since_ms, STORE_AFFINITY_MAX)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*listp = list;
	r = 0;
out:
	return r;
}

/* Free the <n> host names of <list> and the list itself. */
void
store_hostport_list_free(struct store_hostport *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		free(list[i].host);
	free(list);
}

/* A page of the live endpoints of <account_id> (NULL: of all). */
int
store_endpoint_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_endpoint ***listp,
    size_t *np, int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_ENDPOINT_SELECT,
	    "e.ended_ms IS NULL", "e", "endpoints", "started_ms");
	void *list = NULL;
	int r;

	r = store_page(store, &store_endpoint_rows, sql, account_id, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Endpoint <id>, live or ended; _NOT_FOUND if there is none. */
int
store_endpoint_get(struct store *store, const char *id,
    struct store_endpoint **ep)
{
	static const char sql[] = STORE_ENDPOINT_SELECT " WHERE e.id = ?1";

	if (ep != NULL)
		*ep = NULL;
	if (id == NULL || ep == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_endpoint_rows, ep, sql, "t", id);
}
