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
#include "id.h"
#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/* The store's edges. */

/* A new edge, without its lists, at <slot> (STORE_EDGE_SELECT). */
static void
store_edge_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_edge *e;

	e = xcalloc(1, sizeof(*e));
	e->id = store_column_text(stmt, 0);
	e->description = store_column_text(stmt, 1);
	e->ip_policy_id = store_column_text(stmt, 2);
	e->ip_policy_name = store_column_text(stmt, 3);
	e->proxy_proto = store_column_int(stmt, 4);
	e->created_ms = db_column_int64(stmt, 5);
	e->metadata = store_column_text(stmt, 6);
	*(struct store_edge **)slot = e;
}

static void
store_edge_list_vfree(void *list, size_t n)
{
	store_edge_list_free(list, n);
}

static const struct store_rows store_edge_rows = { sizeof(struct store_edge *),
	store_edge_from_row, store_edge_list_vfree };

/*
 * Read the lists of <e>: its addresses in the order added, its backend
 * accounts by name, and its live members, oldest first.
 */
static int
store_edge_load(struct store *store, struct store_edge *e)
{
	static const char sql_addresses[] = STORE_ADDRESS_SELECT
	    " WHERE x.edge_id = ?1 AND r.deleted_ms IS NULL"
	    " ORDER BY x.seq";
	static const char sql_backends[] =
	    STORE_ACCOUNT_SELECT " JOIN edge_backends b ON b.account_id = a.id"
	                         " WHERE b.edge_id = ?1 ORDER BY a.name";
	static const char sql_members[] =
	    STORE_ENDPOINT_SELECT " WHERE e.edge_id = ?1 AND e.ended_ms IS NULL"
	                          " ORDER BY e.started_ms, e.seq";
	void *addresses = NULL, *backends = NULL, *members = NULL;
	size_t naddresses = 0, nbackends = 0, nmembers = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_list(store, &store_address_rows, &addresses, &naddresses,
	         sql_addresses, "t", e->id)) != 0 ||
	    (r = store_list(store, &store_account_rows, &backends, &nbackends,
	         sql_backends, "t", e->id)) != 0 ||
	    (r = store_list(store, &store_endpoint_rows, &members, &nmembers,
	         sql_members, "t", e->id)) != 0)
		goto out;
	/* Ownership passes to <e>. */
	e->addresses = addresses;
	e->naddresses = naddresses;
	e->backends = backends;
	e->nbackends = nbackends;
	e->members = members;
	e->nmembers = nmembers;
	addresses = backends = members = NULL;
	r = 0;
out:
	store_address_list_free(addresses, naddresses);
	store_account_list_free(backends, nbackends);
	store_endpoint_list_free(members, nmembers);
	return r;
}

/*
 * Add an edge with a new "ed_" id, no addresses and no backends; a
 * NULL description is stored as "". *ep may be NULL.
 */
int
store_edge_add(struct store *store, const char *description, int64_t now_ms,
    struct store_edge **ep)
{
	static const char sql[] =
	    "INSERT INTO edges (id, description, created_ms, seq)"
	    " VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM "
	    "edges))";
	struct store_edge *e = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ep != NULL)
		*ep = NULL;
	if (store == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	e = xcalloc(1, sizeof(*e));
	e->id = id_new("ed");
	e->description = xstrdup(description != NULL ? description : "");
	e->created_ms = now_ms;
	if ((r = store_run_locked(store, NULL, sql, "ttI", e->id,
	         e->description, e->created_ms)) != 0)
		goto out;
	debug_f("edge %s: added", e->id);
	if (ep != NULL) {
		/* Ownership passes to the caller. */
		*ep = e;
		e = NULL;
	}
	r = 0;
out:
	store_edge_free(e);
	return r;
}

/*
 * Edge <id> with its addresses, backends and live members, read in one
 * transaction so that they agree.
 */
int
store_edge_get(struct store *store, const char *id, struct store_edge **ep)
{
	static const char sql[] = STORE_EDGE_SELECT " WHERE d.id = ?1";
	struct store_edge *e = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ep != NULL)
		*ep = NULL;
	if (store == NULL || id == NULL || ep == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0 ||
	    (r = store_get(store, &store_edge_rows, &e, sql, "t", id)) != 0 ||
	    (r = store_edge_load(store, e)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*ep = e;
	e = NULL;
	r = 0;
out:
	if (r != 0 && store != NULL)
		store_rollback(store);
	store_edge_free(e);
	return r;
}

/* All edges with their lists, oldest first. An empty list is NULL, 0. */
int
store_edge_list(struct store *store, struct store_edge ***listp, size_t *np)
{
	static const char sql[] =
	    STORE_EDGE_SELECT " ORDER BY d.created_ms, d.seq";
	struct store_edge **list = NULL;
	void *rows = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (store == NULL || listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0 ||
	    (r = store_list(store, &store_edge_rows, &rows, &n, sql, "")) != 0)
		goto out;
	list = rows;
	for (i = 0; i < n; i++) {
		if ((r = store_edge_load(store, list[i])) != 0)
			goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;
	r = 0;
out:
	if (r != 0 && store != NULL)
		store_rollback(store);
	store_edge_list_free(list, n);
	return r;
}

/*
 * Delete edge <id> in one transaction. Its addresses owned by no
 * account become tombstones first, keeping their ports for good; the
 * cascade then takes every address off it (those of accounts stay
 * theirs, as they were) and drops its backends. _NOT_FOUND if absent.
 */
int
store_edge_delete(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL, n, ntomb = 0;

	if (store == NULL || id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &ntomb,
	         "UPDATE addresses SET deleted_ms = ?2"
	         " WHERE account_id IS NULL AND deleted_ms IS NULL"
	         " AND id IN (SELECT address_id FROM edge_addresses"
	         "  WHERE edge_id = ?1)",
	         "tI", id, now_ms)) != 0 ||
	    (r = store_run(store, &n, "DELETE FROM edges WHERE id = ?1", "t",
	         id)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("edge %.40s: deleted, %d addresses tombstoned", id, ntomb);
	r = 0;
out:
	if (r != 0 && store != NULL)
		store_rollback(store);
	return r;
}

/*
 * Put reserved address <address_id> on edge <edge_id>: _EXISTS if it
 * is on an edge (UNIQUE(address_id)), _NOT_FOUND for an unknown edge
 * (the foreign key) or an address that is unknown or deleted.
 */
int
store_edge_address_add(struct store *store, const char *edge_id,
    const char *address_id)
{
	static const char sql[] =
	    "INSERT INTO edge_addresses (edge_id, address_id, seq)"
	    " SELECT ?1, id,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM edge_addresses)"
	    " FROM addresses"
	    " WHERE id = ?2 AND deleted_ms IS NULL";
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (store == NULL || edge_id == NULL || address_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run_locked(store, &n, sql, "tt", edge_id, address_id)) !=
	    0)
		goto out;
	r = n == 0 ? PORTHOLE_ERR_NOT_FOUND : 0;
out:
	return r;
}

/*
 * Take address <address_id> off edge <edge_id>; it stays reserved, to
 * its account if it has one. Endpoints serving it are not ended here.
 */
int
store_edge_address_remove(struct store *store, const char *edge_id,
    const char *address_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || address_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "DELETE FROM edge_addresses"
	    " WHERE edge_id = ?1 AND address_id = ?2",
	    "tt", edge_id, address_id);
out:
	return r;
}

/*
 * Make account <account_id> a backend of edge <edge_id>: _EXISTS if it
 * is one, _NOT_FOUND for an unknown edge or account (foreign keys).
 */
int
store_edge_backend_add(struct store *store, const char *edge_id,
    const char *account_id)
{
	if (store == NULL || edge_id == NULL || account_id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run(store, NULL,
	    "INSERT INTO edge_backends (edge_id, account_id) VALUES (?1, ?2)",
	    "tt", edge_id, account_id);
}

/*
 * Account <account_id> is no longer a backend of edge <edge_id>;
 * _NOT_FOUND if it was not one. Its members are not ended here.
 */
int
store_edge_backend_remove(struct store *store, const char *edge_id,
    const char *account_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || account_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "DELETE FROM edge_backends"
	    " WHERE edge_id = ?1 AND account_id = ?2",
	    "tt", edge_id, account_id);
out:
	return r;
}

/* Whether account <account_id> is a backend of edge <edge_id>. */
int
store_edge_is_backend(struct store *store, const char *edge_id,
    const char *account_id, int *isp)
{
	static const char sql[] = "SELECT CASE WHEN EXISTS"
	                          " (SELECT 1 FROM edge_backends"
	                          " WHERE edge_id = ?1 AND account_id = ?2)"
	                          " THEN 1 ELSE 0 END";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (isp != NULL)
		*isp = 0;
	if (store == NULL || edge_id == NULL || account_id == NULL ||
	    isp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "tt", edge_id, account_id)) !=
	    0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	*isp = store_column_int(stmt, 0) != 0;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/* Set the description of edge <edge_id> ("" clears it); _NOT_FOUND. */
int
store_edge_set_description(struct store *store, const char *edge_id,
    const char *description)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || description == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE edges SET description = ?2 WHERE id = ?1", "tt", edge_id,
	    description);
out:
	return r;
}

/*
 * Attach policy <policy_id> to edge <edge_id>, or detach with NULL:
 * _NOT_FOUND for an unknown edge or policy (the foreign key).
 */
int
store_edge_set_ip_policy(struct store *store, const char *edge_id,
    const char *policy_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE edges SET ip_policy_id = ?2 WHERE id = ?1", "tt", edge_id,
	    policy_id);
out:
	return r;
}

/*
 * Set the PROXY protocol version of edge <edge_id>: _INVALID_ARGUMENT
 * unless 0, 1 or 2; _NOT_FOUND for an unknown edge.
 */
int
store_edge_set_proxy_proto(struct store *store, const char *edge_id,
    int version)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || version < 0 || version > 2) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE edges SET proxy_proto = ?2 WHERE id = ?1", "ti", edge_id,
	    version);
out:
	return r;
}

/* Free <e> and its lists; NULL is a no-op. */
void
store_edge_free(struct store_edge *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->description);
	free(e->metadata);
	free(e->ip_policy_id);
	free(e->ip_policy_name);
	store_address_list_free(e->addresses, e->naddresses);
	store_account_list_free(e->backends, e->nbackends);
	store_endpoint_list_free(e->members, e->nmembers);
	free(e);
}

/* Free the <n> edges of <list> and the list itself. */
void
store_edge_list_free(struct store_edge **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_edge_free(list[i]);
	free(list);
}

/* Set the metadata of edge <edge_id>. */
int
store_edge_set_metadata(struct store *store, const char *edge_id,
    const char *metadata)
{
	if (store == NULL || edge_id == NULL || metadata == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store,
	    "UPDATE edges SET metadata = ?2 WHERE id = ?1", "tt", edge_id,
	    metadata);
}
