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
#include "net.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/* The store's reserved addresses. */

/* A new address at <slot> from the current row (STORE_ADDRESS_SELECT). */
static void
store_address_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_address *a;

	a = xcalloc(1, sizeof(*a));
	a->id = store_column_text(stmt, 0);
	a->account_id = store_column_text(stmt, 1);
	a->account_name = store_column_text(stmt, 2);
	a->host = store_column_text(stmt, 3);
	a->port = store_column_int(stmt, 4);
	a->description = store_column_text(stmt, 5);
	a->metadata = store_column_text(stmt, 6);
	a->created_ms = db_column_int64(stmt, 7);
	a->deleted_ms = db_column_int64(stmt, 8); /* NULL reads as 0 */
	a->endpoint_id = store_column_text(stmt, 9);
	a->proxy_proto = store_column_int(stmt, 10);
	a->ip_policy_id = store_column_text(stmt, 11);
	a->ip_policy_name = store_column_text(stmt, 12);
	a->edge_id = store_column_text(stmt, 13);
	a->node = store_column_text(stmt, 14);
	a->region = store_column_text(stmt, 15);
	a->pooling = store_column_int(stmt, 16) != 0;
	*(struct store_address **)slot = a;
}

static void
store_address_list_vfree(void *list, size_t n)
{
	store_address_list_free(list, n);
}

const struct store_rows store_address_rows = { sizeof(struct store_address *),
	store_address_from_row, store_address_list_vfree };

/*
 * Reserve <host>:<port> for account <account_id> (an id), or for no
 * account (NULL: an edge's own address), with a new "ra_" id: _EXISTS
 * if the port was ever reserved (UNIQUE(port) holds tombstones too),
 * _NOT_FOUND for an unknown account. *ap may be NULL.
 */
int
store_address_add(struct store *store, const char *account_id, const char *host,
    int port, const char *description, const char *metadata, int64_t now_ms,
    struct store_address **ap)
{
	static const char sql[] =
	    "INSERT INTO addresses (id, account_id, host, port, description,"
	    " metadata, created_ms, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM addresses))";
	static const char sql_get[] = STORE_ADDRESS_SELECT " WHERE r.id = ?1";
	struct store_address *a = NULL;
	char *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ap != NULL)
		*ap = NULL;
	if (host == NULL || *host == '\0' || port <= 0 || port > 65535) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	id = id_new("ra");
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, NULL, sql, "tttittI", id, account_id, host,
	         port, description != NULL ? description : "",
	         metadata != NULL ? metadata : "", now_ms)) != 0)
		goto out;
	if (ap != NULL &&
	    (r = store_get(store, &store_address_rows, &a, sql_get, "t", id)) !=
	        0)
		goto out;
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("address %s: %.100s:%d reserved for %.40s", id, host, port,
	    account_id != NULL ? account_id : "(no account)");
	if (ap != NULL) {
		/* Ownership passes to the caller. */
		*ap = a;
		a = NULL;
	}
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	store_address_free(a);
	free(id);
	return r;
}

/* Whether any address row, tombstones too, has <port>. */
int
store_address_port_used(struct store *store, int port, int *usedp)
{
	static const char sql[] =
	    "SELECT CASE WHEN EXISTS (SELECT 1 FROM addresses WHERE port = ?1)"
	    " THEN 1 ELSE 0 END";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (usedp != NULL)
		*usedp = 0;
	if (usedp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "i", port)) != 0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	*usedp = store_column_int(stmt, 0) != 0;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Find a reserved address by id, or by "host:port" / "[v6]:port" when
 * the argument has a ':' (ids never do); a malformed host:port is
 * _INVALID_FORMAT.
 */
int
store_address_get(struct store *store, const char *id_or_hostport,
    struct store_address **ap)
{
	static const char sql[] =
	    STORE_ADDRESS_SELECT " WHERE r.id = ?1 AND r.deleted_ms IS NULL";
	char *host = NULL;
	uint16_t port;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ap != NULL)
		*ap = NULL;
	if (id_or_hostport == NULL || ap == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (strchr(id_or_hostport, ':') == NULL) {
		r = store_get(store, &store_address_rows, ap, sql, "t",
		    id_or_hostport);
		goto out;
	}
	/* The port is mandatory: a bare IPv6 address is malformed. */
	if ((r = net_split_hostport(id_or_hostport, -1, &host, &port)) != 0)
		goto out;
	r = store_address_find(store, host, port, ap);
out:
	free(host);
	return r;
}

/*
 * The reserved address <host>:<port>. Host names are compared without
 * regard to ASCII case, as DNS does.
 */
int
store_address_find(struct store *store, const char *host, int port,
    struct store_address **ap)
{
	static const char sql[] = STORE_ADDRESS_SELECT
	    " WHERE r.port = ?2 AND lower(r.host) = lower(CAST(?1 AS TEXT))"
	    " AND r.deleted_ms IS NULL";

	if (ap != NULL)
		*ap = NULL;
	if (host == NULL || ap == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_address_rows, ap, sql, "ti", host, port);
}

/*
 * Reserved addresses of <account> (name or id; _NOT_FOUND if there is
 * no such account), or of every account when NULL; by account name,
 * then age.
 */
int
store_address_list(struct store *store, const char *account,
    struct store_address ***listp, size_t *np)
{
	static const char sql_all[] = STORE_ADDRESS_SELECT
	    " WHERE r.deleted_ms IS NULL"
	    " ORDER BY a.name NULLS FIRST, r.created_ms, r.seq";
	static const char sql_one[] = STORE_ADDRESS_SELECT
	    " WHERE r.deleted_ms IS NULL AND r.account_id = ?1"
	    " ORDER BY r.created_ms, r.seq";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_address_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Update reserved address <id>; _NOT_FOUND if absent or deleted. */
int
store_address_update(struct store *store, const char *id,
    const char *description, const char *metadata)
{
	static const char sql[] =
	    "UPDATE addresses SET description = coalesce(?2, description),"
	    " metadata = coalesce(?3, metadata)"
	    " WHERE id = ?1 AND deleted_ms IS NULL";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store, sql, "ttt", id, description, metadata);
out:
	return r;
}

/*
 * Delete reserved address <id>: the row stays, with deleted_ms, and
 * keeps its port and account; it leaves its edge, if on one, in the
 * same transaction. An endpoint serving it is not ended here.
 */
int
store_address_delete(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE addresses SET deleted_ms = ?2"
	         " WHERE id = ?1 AND deleted_ms IS NULL",
	         "tI", id, now_ms)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_run(store, NULL,
	         "DELETE FROM edge_addresses WHERE address_id = ?1", "t",
	         id)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

/* Free <a>; NULL is a no-op. */
void
store_address_free(struct store_address *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->account_id);
	free(a->account_name);
	free(a->host);
	free(a->description);
	free(a->metadata);
	free(a->endpoint_id);
	free(a->ip_policy_id);
	free(a->ip_policy_name);
	free(a->edge_id);
	free(a->node);
	free(a->region);
	free(a);
}

/* Free the <n> addresses of <list> and the list itself. */
void
store_address_list_free(struct store_address **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_address_free(list[i]);
	free(list);
}

/* A page of the reserved addresses of <account_id> (NULL: of all). */
int
store_address_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_address ***listp,
    size_t *np, int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_ADDRESS_SELECT,
	    "r.deleted_ms IS NULL", "r", "addresses", "created_ms");
	void *list = NULL;
	int r;

	r = store_page(store, &store_address_rows, sql, account_id, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

int
store_address_set_pooling(struct store *store, const char *address_id, int on)
{
	if (address_id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store,
	    "UPDATE addresses SET pooling = ?2"
	    " WHERE id = ?1 AND deleted_ms IS NULL",
	    "ti", address_id, on ? 1 : 0);
}
