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

/* The store's accounts. */

#define STORE_ACCOUNT_NAME_MAX 64
#define STORE_LIMIT_MAX        100000 /* per-account limits */

/* Predicate: <name> is 1-64 of [A-Za-z0-9._-], not starting with '-'. */
int
store_account_name_valid(const char *name)
{
	size_t i;
	char c;

	if (name == NULL || name[0] == '\0' || name[0] == '-')
		return 0;
	for (i = 0; (c = name[i]) != '\0'; i++) {
		if (i >= STORE_ACCOUNT_NAME_MAX)
			return 0;
		if ((c < 'A' || c > 'Z') && (c < 'a' || c > 'z') &&
		    (c < '0' || c > '9') && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

/* A new account at <slot> from the current row (STORE_ACCOUNT_SELECT). */
static void
store_account_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_account *a;

	a = xcalloc(1, sizeof(*a));
	a->id = store_column_text(stmt, 0);
	a->name = store_column_text(stmt, 1);
	a->disabled = store_column_int(stmt, 2) != 0;
	a->created_ms = db_column_int64(stmt, 3);
	a->description = store_column_text(stmt, 4);
	a->max_sessions = store_column_int(stmt, 5);
	a->max_endpoints = store_column_int(stmt, 6);
	a->nkeys = store_column_int(stmt, 7);
	a->ntokens = store_column_int(stmt, 8);
	a->naddresses = store_column_int(stmt, 9);
	a->nsessions = store_column_int(stmt, 10);
	a->ip_policy_id = store_column_text(stmt, 11);
	a->ip_policy_name = store_column_text(stmt, 12);
	a->bandwidth_limit = db_column_int64(stmt, 13);
	a->quota_bytes = db_column_int64(stmt, 14);
	a->quota_period_s = db_column_int64(stmt, 15);
	a->connection_rate = db_column_int64(stmt, 16);
	a->connections_per_source = db_column_int64(stmt, 17);
	a->idle_timeout_s = db_column_int64(stmt, 18);
	*(struct store_account **)slot = a;
}

static void
store_account_list_vfree(void *list, size_t n)
{
	store_account_list_free(list, n);
}

const struct store_rows store_account_rows = { sizeof(struct store_account *),
	store_account_from_row, store_account_list_vfree };

/* Add account <name> with a new "ac_" id; *accountp may be NULL. */
int
store_account_add(struct store *store, const char *name,
    struct store_account **accountp)
{
	static const char sql[] = "INSERT INTO accounts (id, name, created_ms)"
	                          " VALUES (?1, ?2, ?3)";
	struct store_account *a = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (accountp != NULL)
		*accountp = NULL;
	if (!store_account_name_valid(name)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	a = xcalloc(1, sizeof(*a));
	a->id = id_new("ac");
	a->name = xstrdup(name);
	a->description = xstrdup("");
	a->created_ms = store_now_ms();
	if ((r = store_run(store, NULL, sql, "ttI", a->id, a->name,
	         a->created_ms)) != 0)
		goto out;
	if (accountp != NULL) {
		/* Ownership passes to the caller. */
		*accountp = a;
		a = NULL;
	}
	r = 0;
out:
	store_account_free(a);
	return r;
}

/*
 * Find an account by id or by name. Should a name look like another
 * account's id, the id wins.
 */
int
store_account_get(struct store *store, const char *name_or_id,
    struct store_account **accountp)
{
	static const char sql[] = STORE_ACCOUNT_SELECT
	    " WHERE a.id = ?1 OR a.name = ?1"
	    " ORDER BY CASE WHEN a.id = ?1 THEN 0 ELSE 1 END LIMIT 1";

	if (accountp != NULL)
		*accountp = NULL;
	if (name_or_id == NULL || accountp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_account_rows, accountp, sql, "t",
	    name_or_id);
}

int
store_account_lookup(struct store *store, const char *name_or_id,
    struct store_account **accountp)
{
	static const char sql[] = STORE_ACCOUNT_SELECT_LIGHT
	    " WHERE a.id = ?1 OR a.name = ?1"
	    " ORDER BY CASE WHEN a.id = ?1 THEN 0 ELSE 1 END LIMIT 1";

	if (accountp != NULL)
		*accountp = NULL;
	if (name_or_id == NULL || accountp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_account_rows, accountp, sql, "t",
	    name_or_id);
}

/* All accounts, by name. An empty list is NULL with *np = 0. */
int
store_account_list(struct store *store, struct store_account ***listp,
    size_t *np)
{
	static const char sql[] = STORE_ACCOUNT_SELECT " ORDER BY a.name";
	void *list = NULL;
	int r;

	r = store_list(store, &store_account_rows, listp != NULL ? &list : NULL,
	    np, sql, "");
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Free <a>; NULL is a no-op. */
void
store_account_free(struct store_account *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->name);
	free(a->description);
	free(a->ip_policy_id);
	free(a->ip_policy_name);
	free(a);
}

/* Free the <n> accounts of <list> and the list itself. */
void
store_account_list_free(struct store_account **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_account_free(list[i]);
	free(list);
}

/* Set the description of account <id>; _NOT_FOUND if there is none. */
int
store_account_set_description(struct store *store, const char *id,
    const char *description)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || description == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE accounts SET description = ?2 WHERE id = ?1", "tt", id,
	    description);
out:
	return r;
}

int
store_account_set_traffic(struct store *store, const char *id,
    const struct store_account *t)
{
	/* ?n < -1: keep; -1: NULL (the server's default); else the value. */
#define STORE_TRAFFIC_COL(col, n)                                              \
	" " col " = CASE WHEN CAST(?" n " AS BIGINT) < -1 THEN " col           \
	" WHEN CAST(?" n " AS BIGINT) = -1 THEN NULL"                          \
	" ELSE CAST(?" n " AS BIGINT) END"
	static const char sql[] =
	    "UPDATE accounts SET" STORE_TRAFFIC_COL("bandwidth_limit",
	        "2") "," STORE_TRAFFIC_COL("quota_bytes",
	        "3") "," STORE_TRAFFIC_COL("quota_period_s",
	        "4") "," STORE_TRAFFIC_COL("connection_rate",
	        "5") "," STORE_TRAFFIC_COL("connections_per_source",
	        "6") "," STORE_TRAFFIC_COL("idle_timeout_s",
	        "7") " WHERE id = ?1";
#undef STORE_TRAFFIC_COL

	if (id == NULL || t == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store, sql, "tIIIIII", id, t->bandwidth_limit,
	    t->quota_bytes, t->quota_period_s, t->connection_rate,
	    t->connections_per_source, t->idle_timeout_s);
}

/* Set the limits of account <id>; a negative one is left as it is. */
int
store_account_set_limits(struct store *store, const char *id, int max_sessions,
    int max_endpoints)
{
	static const char sql[] =
	    "UPDATE accounts SET"
	    " max_sessions = CASE WHEN CAST(?2 AS BIGINT) < 0"
	    "  THEN max_sessions ELSE CAST(?2 AS BIGINT) END,"
	    " max_endpoints = CASE WHEN CAST(?3 AS BIGINT) < 0"
	    "  THEN max_endpoints ELSE CAST(?3 AS BIGINT) END"
	    " WHERE id = ?1";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || max_sessions > STORE_LIMIT_MAX ||
	    max_endpoints > STORE_LIMIT_MAX) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store, sql, "tii", id, max_sessions, max_endpoints);
out:
	return r;
}

/*
 * Disable or enable account <id>, in one transaction with ending its
 * live sessions when disabling. Each pid is returned once, however
 * many of its sessions ended.
 */
int
store_account_set_disabled(struct store *store, const char *id, int disabled,
    int64_t now_ms, int64_t **pidsp, size_t *npidsp)
{
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL, n, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE accounts SET disabled = ?2 WHERE id = ?1", "ti", id,
	         disabled != 0)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if (disabled &&
	    (r = store_end_live(store, &store_end_by_account, id,
	         "account disabled", now_ms, &pids, &npids, &ended)) != 0)
		goto out;
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("account %.40s: %s, %d sessions ended", id,
	    disabled ? "disabled" : "enabled", ended);
	store_pids_give(&pids, npids, pidsp, npidsp);
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	return r;
}

/*
 * Delete account <id> and what is its alone, in one transaction. Its
 * reserved addresses stay, unowned, as tombstones (an address deleted
 * before keeps its time), so that their ports are never reused; those
 * on an edge leave it, since a tombstone serves nothing. Its places
 * as an edge's backend go by the cascade; the edges stay.
 */
int
store_account_delete(struct store *store, const char *id, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp)
{
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL, n, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* The cascades would remove keys and tokens; say it anyway. */
	if ((r = store_begin(store)) != 0 ||
	    (r = store_end_live(store, &store_end_by_account, id,
	         "account deleted", now_ms, &pids, &npids, &ended)) != 0 ||
	    (r = store_run(store, NULL,
	         "DELETE FROM edge_addresses WHERE address_id IN"
	         " (SELECT id FROM addresses WHERE account_id = ?1)",
	         "t", id)) != 0 ||
	    (r = store_run(store, NULL,
	         "UPDATE addresses SET account_id = NULL,"
	         " deleted_ms = coalesce(deleted_ms, ?2)"
	         " WHERE account_id = ?1",
	         "tI", id, now_ms)) != 0 ||
	    (r = store_run(store, NULL,
	         "DELETE FROM keys WHERE account_id = ?1", "t", id)) != 0 ||
	    (r = store_run(store, NULL,
	         "DELETE FROM tokens WHERE account_id = ?1", "t", id)) != 0 ||
	    (r = store_run(store, &n, "DELETE FROM accounts WHERE id = ?1", "t",
	         id)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("account %.40s: deleted, %d sessions ended", id, ended);
	store_pids_give(&pids, npids, pidsp, npidsp);
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	return r;
}
