/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Webhooks: event destinations with their delivery state, and the
 * subscriptions that send event types to them (store.h). A scope is
 * an account id, or NULL for the administrator, who sees everything;
 * in SQL it is "(x.account_id = ?N OR CAST(?N AS TEXT) IS NULL)".
 */

#define STORE_HOOK_DEST_SELECT                                                 \
	"SELECT d.id, d.account_id, a.name, d.description, d.metadata,"        \
	" d.url, d.secret, d.created_ms, v.cursor_seq, v.lease_node,"          \
	" v.lease_until_ms, v.attempts, v.last_error, v.next_attempt_ms,"      \
	" v.delivered_ms, v.delivered_total"                                   \
	" FROM event_destinations d"                                           \
	" LEFT JOIN accounts a ON a.id = d.account_id"                         \
	" LEFT JOIN event_deliveries v ON v.destination_id = d.id"

#define STORE_HOOK_SUB_SELECT                                                  \
	"SELECT s.id, s.account_id, a.name, s.description, s.metadata,"        \
	" s.created_ms"                                                        \
	" FROM event_subscriptions s"                                          \
	" LEFT JOIN accounts a ON a.id = s.account_id"

/* The last error kept for a destination, at most. */
#define STORE_HOOK_ERROR_MAX 255

/* A new destination at <slot> from the current row. */
static void
store_hook_dest_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_hook_dest *d;

	d = xcalloc(1, sizeof(*d));
	d->id = store_column_text(stmt, 0);
	d->account_id = store_column_text(stmt, 1);
	d->account_name = store_column_text(stmt, 2);
	d->description = store_column_text(stmt, 3);
	d->metadata = store_column_text(stmt, 4);
	d->url = store_column_text(stmt, 5);
	d->secret = store_column_text(stmt, 6);
	d->created_ms = db_column_int64(stmt, 7);
	d->cursor = db_column_int64(stmt, 8);
	d->lease_node = store_column_text(stmt, 9);
	d->lease_until_ms = db_column_int64(stmt, 10);
	d->attempts = store_column_int(stmt, 11);
	d->last_error = store_column_text(stmt, 12);
	d->next_attempt_ms = db_column_int64(stmt, 13);
	d->delivered_ms = db_column_int64(stmt, 14);
	d->delivered_total = db_column_int64(stmt, 15);
	*(struct store_hook_dest **)slot = d;
}

static void
store_hook_dest_list_vfree(void *list, size_t n)
{
	store_hook_dest_list_free(list, n);
}

static const struct store_rows store_hook_dest_rows = {
	sizeof(struct store_hook_dest *), store_hook_dest_from_row,
	store_hook_dest_list_vfree
};

/* Wipe and drop the secret of <d>. */
static void
store_hook_dest_forget(struct store_hook_dest *d)
{
	if (d == NULL || d->secret == NULL)
		return;
	sodium_memzero(d->secret, strlen(d->secret));
	free(d->secret);
	d->secret = NULL;
}

/* A new subscription, without its lists, at <slot>. */
static void
store_hook_sub_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_hook_sub *s;

	s = xcalloc(1, sizeof(*s));
	s->id = store_column_text(stmt, 0);
	s->account_id = store_column_text(stmt, 1);
	s->account_name = store_column_text(stmt, 2);
	s->description = store_column_text(stmt, 3);
	s->metadata = store_column_text(stmt, 4);
	s->created_ms = db_column_int64(stmt, 5);
	*(struct store_hook_sub **)slot = s;
}

static void
store_hook_sub_list_vfree(void *list, size_t n)
{
	store_hook_sub_list_free(list, n);
}

static const struct store_rows store_hook_sub_rows = {
	sizeof(struct store_hook_sub *), store_hook_sub_from_row,
	store_hook_sub_list_vfree
};

/* A copy of text column 0 at <slot> (a char *). */
static void
store_hook_text_from_row(struct db_stmt *stmt, void *slot)
{
	*(char **)slot = store_column_text(stmt, 0);
}

static void
store_hook_text_list_free(void *list, size_t n)
{
	char **l = list;
	size_t i;

	for (i = 0; l != NULL && i < n; i++)
		free(l[i]);
	free(l);
}

static const struct store_rows store_hook_text_rows = { sizeof(char *),
	store_hook_text_from_row, store_hook_text_list_free };

/* Predicate: <s> is a string of 1 to <max> bytes. */
static int
store_hook_text_ok(const char *s, size_t max)
{
	return s != NULL && *s != '\0' && strlen(s) <= max;
}

int
store_hook_dest_add(struct store *store, const char *id, const char *account_id,
    const char *url, const char *secret, const char *description,
    const char *metadata, int64_t now_ms)
{
	static const char sql_dest[] =
	    "INSERT INTO event_destinations (id, account_id, description,"
	    " metadata, url, secret, created_ms, seq)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM event_destinations))";
	/* Delivery starts with the events stored from now on. */
	static const char sql_state[] =
	    "INSERT INTO event_deliveries (destination_id, cursor_seq)"
	    " VALUES (?1, (SELECT coalesce(max(seq), 0) FROM events))";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || *id == '\0' ||
	    (account_id != NULL && *account_id == '\0') ||
	    !store_hook_text_ok(url, STORE_HOOK_URL_MAX) ||
	    !store_hook_text_ok(secret, STORE_HOOK_SECRET_MAX) ||
	    strlen(secret) < STORE_HOOK_SECRET_MIN) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0)
		goto out;
	if ((r = store_run(store, NULL, sql_dest, "ttttttI", id, account_id,
	         description != NULL ? description : "",
	         metadata != NULL ? metadata : "", url, secret, now_ms)) != 0 ||
	    (r = store_run(store, NULL, sql_state, "t", id)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

int
store_hook_dest_get(struct store *store, const char *id, const char *scope,
    int with_secret, struct store_hook_dest **dp)
{
	static const char sql[] = STORE_HOOK_DEST_SELECT
	    " WHERE d.id = ?1 AND d.deleted_ms IS NULL"
	    " AND (d.account_id = ?2 OR CAST(?2 AS TEXT) IS NULL)";
	struct store_hook_dest *d = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (dp != NULL)
		*dp = NULL;
	if (id == NULL || dp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_get(store, &store_hook_dest_rows, &d, sql, "tt", id,
	         scope)) != 0)
		goto out;
	if (!with_secret)
		store_hook_dest_forget(d);
	/* Ownership passes to the caller. */
	*dp = d;
	r = 0;
out:
	return r;
}

int
store_hook_dest_list(struct store *store, const char *scope,
    const char *before_id, size_t limit, struct store_hook_dest ***listp,
    size_t *np, int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_HOOK_DEST_SELECT,
	    "d.deleted_ms IS NULL", "d", "event_destinations", "created_ms");
	void *list = NULL;
	size_t i;
	int r;

	r = store_page(store, &store_hook_dest_rows, sql, scope, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	for (i = 0; r == 0 && i < *np; i++)
		store_hook_dest_forget(((struct store_hook_dest **)list)[i]);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

int
store_hook_dest_all(struct store *store, const char *scope,
    struct store_hook_dest ***listp, size_t *np)
{
	static const char sql[] = STORE_HOOK_DEST_SELECT
	    " WHERE d.deleted_ms IS NULL"
	    " AND (d.account_id = ?1 OR CAST(?1 AS TEXT) IS NULL)"
	    " ORDER BY d.created_ms DESC, d.id DESC";
	void *list = NULL;
	size_t i;
	int r;

	r = store_list(store, &store_hook_dest_rows,
	    listp != NULL ? &list : NULL, np, sql, "t", scope);
	for (i = 0; r == 0 && i < *np; i++)
		store_hook_dest_forget(((struct store_hook_dest **)list)[i]);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

int
store_hook_dest_update(struct store *store, const char *id, const char *scope,
    const char *url, const char *secret, const char *description,
    const char *metadata)
{
	static const char sql[] =
	    "UPDATE event_destinations SET"
	    " url = coalesce(CAST(?3 AS TEXT), url),"
	    " secret = coalesce(CAST(?4 AS TEXT), secret),"
	    " description = coalesce(CAST(?5 AS TEXT), description),"
	    " metadata = coalesce(CAST(?6 AS TEXT), metadata)"
	    " WHERE id = ?1 AND deleted_ms IS NULL"
	    " AND (account_id = ?2 OR CAST(?2 AS TEXT) IS NULL)";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL ||
	    (url != NULL && !store_hook_text_ok(url, STORE_HOOK_URL_MAX)) ||
	    (secret != NULL &&
	        (!store_hook_text_ok(secret, STORE_HOOK_SECRET_MAX) ||
	            strlen(secret) < STORE_HOOK_SECRET_MIN))) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store, sql, "tttttt", id, scope, url, secret,
	    description, metadata);
out:
	return r;
}

int
store_hook_dest_delete(struct store *store, const char *id, const char *scope,
    int64_t now_ms)
{
	static const char sql_dest[] =
	    "UPDATE event_destinations SET deleted_ms = ?3"
	    " WHERE id = ?1 AND deleted_ms IS NULL"
	    " AND (account_id = ?2 OR CAST(?2 AS TEXT) IS NULL)";
	static const char sql_subs[] =
	    "DELETE FROM event_subscription_destinations"
	    " WHERE destination_id = ?1";
	static const char sql_state[] =
	    "DELETE FROM event_deliveries WHERE destination_id = ?1";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0)
		goto out;
	/* The tombstone keeps its secret no longer. */
	if ((r = store_change(store, sql_dest, "ttI", id, scope, now_ms)) !=
	        0 ||
	    (r = store_run(store, NULL,
	         "UPDATE event_destinations SET secret = '' WHERE id = ?1", "t",
	         id)) != 0 ||
	    (r = store_run(store, NULL, sql_subs, "t", id)) != 0 ||
	    (r = store_run(store, NULL, sql_state, "t", id)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

void
store_hook_dest_free(struct store_hook_dest *d)
{
	if (d == NULL)
		return;
	store_hook_dest_forget(d);
	free(d->id);
	free(d->account_id);
	free(d->account_name);
	free(d->description);
	free(d->metadata);
	free(d->url);
	free(d->lease_node);
	free(d->last_error);
	free(d);
}

void
store_hook_dest_list_free(struct store_hook_dest **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_hook_dest_free(list[i]);
	free(list);
}

/*
 * Set the types and destinations of subscription <id> of <account_id>
 * (those given: a NULL or empty list is left as it is), inside the
 * caller's transaction.
 */
static int
store_hook_sub_set(struct store *store, const char *id, const char *account_id,
    const char *const *types, size_t ntypes, const char *const *dests,
    size_t ndests)
{
	static const char sql_type[] =
	    "INSERT INTO event_subscription_types (subscription_id, type)"
	    " VALUES (?1, ?2) ON CONFLICT DO NOTHING";
	/* Only a live destination of the same owner. */
	static const char sql_dest[] =
	    "INSERT INTO event_subscription_destinations"
	    " (subscription_id, destination_id)"
	    " SELECT ?1, d.id FROM event_destinations d"
	    " WHERE d.id = ?2 AND d.deleted_ms IS NULL"
	    " AND d.account_id IS NOT DISTINCT FROM CAST(?3 AS TEXT)"
	    " ON CONFLICT DO NOTHING";
	static const char sql_is_dest[] =
	    "SELECT 1 FROM event_subscription_destinations"
	    " WHERE subscription_id = ?1 AND destination_id = ?2";
	struct db_stmt *stmt = NULL;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL, n, rc;

	for (i = 0; types != NULL && i < ntypes; i++) {
		if (!store_hook_text_ok(types[i], 128)) {
			r = PORTHOLE_ERR_INVALID_ARGUMENT;
			goto out;
		}
	}
	if (types != NULL && ntypes > 0 &&
	    ((r = store_run(store, NULL,
	          "DELETE FROM event_subscription_types"
	          " WHERE subscription_id = ?1",
	          "t", id)) != 0))
		goto out;
	for (i = 0; types != NULL && i < ntypes; i++) {
		if ((r = store_run(store, NULL, sql_type, "tt", id,
		         types[i])) != 0)
			goto out;
	}
	if (dests != NULL && ndests > 0 &&
	    ((r = store_run(store, NULL,
	          "DELETE FROM event_subscription_destinations"
	          " WHERE subscription_id = ?1",
	          "t", id)) != 0))
		goto out;
	for (i = 0; dests != NULL && i < ndests; i++) {
		if (dests[i] == NULL) {
			r = PORTHOLE_ERR_INVALID_ARGUMENT;
			goto out;
		}
		if ((r = store_run(store, &n, sql_dest, "ttt", id, dests[i],
		         account_id)) != 0)
			goto out;
		if (n > 0)
			continue;
		/* None added: a duplicate in the list, or no such one. */
		if ((r = store_prepare(store, &stmt, sql_is_dest, "tt", id,
		         dests[i])) != 0)
			goto out;
		rc = db_step(stmt);
		db_finalize(stmt);
		stmt = NULL;
		if (rc == DB_DONE) {
			r = PORTHOLE_ERR_NOT_FOUND;
			goto out;
		} else if (rc != DB_ROW) {
			r = store_error(store, rc, sql_is_dest);
			goto out;
		}
	}
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

int
store_hook_sub_add(struct store *store, const char *id, const char *account_id,
    const char *description, const char *metadata, const char *const *types,
    size_t ntypes, const char *const *dests, size_t ndests, int64_t now_ms)
{
	static const char sql[] =
	    "INSERT INTO event_subscriptions (id, account_id, description,"
	    " metadata, created_ms, seq) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM event_subscriptions))";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || *id == '\0' ||
	    (account_id != NULL && *account_id == '\0') || types == NULL ||
	    ntypes == 0 || dests == NULL || ndests == 0) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0)
		goto out;
	if ((r = store_run(store, NULL, sql, "ttttI", id, account_id,
	         description != NULL ? description : "",
	         metadata != NULL ? metadata : "", now_ms)) != 0 ||
	    (r = store_hook_sub_set(store, id, account_id, types, ntypes, dests,
	         ndests)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

/* Fill in the types and destinations of <s>. */
static int
store_hook_sub_fill(struct store *store, struct store_hook_sub *s)
{
	void *list = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_list(store, &store_hook_text_rows, &list, &s->ntypes,
	         "SELECT type FROM event_subscription_types"
	         " WHERE subscription_id = ?1 ORDER BY type",
	         "t", s->id)) != 0)
		goto out;
	s->types = list;
	if ((r = store_list(store, &store_hook_text_rows, &list, &s->ndests,
	         "SELECT destination_id FROM event_subscription_destinations"
	         " WHERE subscription_id = ?1 ORDER BY destination_id",
	         "t", s->id)) != 0)
		goto out;
	s->dests = list;
	r = 0;
out:
	return r;
}

int
store_hook_sub_get(struct store *store, const char *id, const char *scope,
    struct store_hook_sub **sp)
{
	static const char sql[] = STORE_HOOK_SUB_SELECT
	    " WHERE s.id = ?1"
	    " AND (s.account_id = ?2 OR CAST(?2 AS TEXT) IS NULL)";
	struct store_hook_sub *s = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (sp != NULL)
		*sp = NULL;
	if (id == NULL || sp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0)
		goto out;
	if ((r = store_get(store, &store_hook_sub_rows, &s, sql, "tt", id,
	         scope)) != 0 ||
	    (r = store_hook_sub_fill(store, s)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*sp = s;
	s = NULL;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	store_hook_sub_free(s);
	return r;
}

int
store_hook_sub_list(struct store *store, const char *scope,
    const char *before_id, size_t limit, struct store_hook_sub ***listp,
    size_t *np, int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_HOOK_SUB_SELECT, "1 = 1",
	    "s", "event_subscriptions", "created_ms");
	void *list = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0)
		goto out;
	if ((r = store_page(store, &store_hook_sub_rows, sql, scope, before_id,
	         limit, &list, &n, morep)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = store_hook_sub_fill(store,
		         ((struct store_hook_sub **)list)[i])) != 0)
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
	if (r != 0)
		store_rollback(store);
	store_hook_sub_list_free(list, n);
	return r;
}

int
store_hook_sub_all(struct store *store, const char *scope,
    struct store_hook_sub ***listp, size_t *np)
{
	static const char sql[] = STORE_HOOK_SUB_SELECT
	    " WHERE (s.account_id = ?1 OR CAST(?1 AS TEXT) IS NULL)"
	    " ORDER BY s.created_ms DESC, s.id DESC";
	void *list = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0)
		goto out;
	if ((r = store_list(store, &store_hook_sub_rows, &list, &n, sql, "t",
	         scope)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = store_hook_sub_fill(store,
		         ((struct store_hook_sub **)list)[i])) != 0)
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
	if (r != 0)
		store_rollback(store);
	store_hook_sub_list_free(list, n);
	return r;
}

int
store_hook_sub_update(struct store *store, const char *id, const char *scope,
    const char *description, const char *metadata, const char *const *types,
    size_t ntypes, const char *const *dests, size_t ndests)
{
	static const char sql[] =
	    "UPDATE event_subscriptions SET"
	    " description = coalesce(CAST(?3 AS TEXT), description),"
	    " metadata = coalesce(CAST(?4 AS TEXT), metadata)"
	    " WHERE id = ?1"
	    " AND (account_id = ?2 OR CAST(?2 AS TEXT) IS NULL)";
	struct store_hook_sub *s = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0)
		goto out;
	if ((r = store_get(store, &store_hook_sub_rows, &s,
	         STORE_HOOK_SUB_SELECT " WHERE s.id = ?1"
	                               " AND (s.account_id = ?2"
	                               " OR CAST(?2 AS TEXT) IS NULL)",
	         "tt", id, scope)) != 0 ||
	    (r = store_change(store, sql, "tttt", id, scope, description,
	         metadata)) != 0 ||
	    (r = store_hook_sub_set(store, id, s->account_id, types, ntypes,
	         dests, ndests)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	store_hook_sub_free(s);
	return r;
}

int
store_hook_sub_delete(struct store *store, const char *id, const char *scope)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* Its types and destinations go with it (ON DELETE CASCADE). */
	r = store_change(store,
	    "DELETE FROM event_subscriptions WHERE id = ?1"
	    " AND (account_id = ?2 OR CAST(?2 AS TEXT) IS NULL)",
	    "tt", id, scope);
out:
	return r;
}

void
store_hook_sub_free(struct store_hook_sub *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->account_id);
	free(s->account_name);
	free(s->description);
	free(s->metadata);
	store_hook_text_list_free(s->types, s->ntypes);
	store_hook_text_list_free(s->dests, s->ndests);
	free(s);
}

void
store_hook_sub_list_free(struct store_hook_sub **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_hook_sub_free(list[i]);
	free(list);
}

int
store_hook_deliverable(struct store *store, struct store_hook_dest ***listp,
    size_t *np)
{
	static const char sql[] = STORE_HOOK_DEST_SELECT
	    " WHERE d.deleted_ms IS NULL AND v.destination_id IS NOT NULL"
	    " ORDER BY d.seq";
	void *list = NULL;
	int r;

	r = store_list(store, &store_hook_dest_rows,
	    listp != NULL ? &list : NULL, np, sql, "");
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

int
store_hook_lease(struct store *store, const char *id, const char *node,
    int64_t now_ms, int64_t until_ms, int64_t *cursorp, int *attemptsp,
    int64_t *next_attempt_msp)
{
	static const char sql_take[] =
	    "UPDATE event_deliveries SET lease_node = ?2, lease_until_ms = ?4"
	    " WHERE destination_id = ?1 AND (lease_node IS NULL"
	    " OR lease_node = ?2 OR lease_until_ms <= ?3)";
	static const char sql_state[] =
	    "SELECT cursor_seq, attempts, next_attempt_ms, lease_node"
	    " FROM event_deliveries WHERE destination_id = ?1";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, n, rc;

	if (id == NULL || node == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0)
		goto out;
	if ((r = store_run(store, &n, sql_take, "ttII", id, node, now_ms,
	         until_ms)) != 0 ||
	    (r = store_prepare(store, &stmt, sql_state, "t", id)) != 0)
		goto out;
	if ((rc = db_step(stmt)) == DB_DONE) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	} else if (rc != DB_ROW) {
		r = store_error(store, rc, sql_state);
		goto out;
	}
	if (cursorp != NULL)
		*cursorp = db_column_int64(stmt, 0);
	if (attemptsp != NULL)
		*attemptsp = store_column_int(stmt, 1);
	if (next_attempt_msp != NULL)
		*next_attempt_msp = db_column_int64(stmt, 2);
	db_finalize(stmt);
	stmt = NULL;
	if ((r = store_commit(store)) != 0)
		goto out;
	r = n > 0 ? 0 : PORTHOLE_ERR_DENIED;
out:
	db_finalize(stmt);
	if (r != 0 && r != PORTHOLE_ERR_DENIED)
		store_rollback(store);
	return r;
}

int
store_hook_release(struct store *store, const char *node)
{
	if (node == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run_locked(store, NULL,
	    "UPDATE event_deliveries SET lease_node = NULL, lease_until_ms = 0"
	    " WHERE lease_node = ?1",
	    "t", node);
}

/*
 * Why reading "seq > cursor" loses nothing: events are only ever
 * written under the store's write lock (SQLite's; on PostgreSQL the
 * advisory lock that db_begin(write) and every write outside a
 * transaction take, and which is released only after the commit is
 * visible), and an event's seq is drawn inside it. So a later seq
 * never commits before an earlier one, and a snapshot that holds seq
 * N holds every smaller seq that will ever be stored: no event can
 * appear behind a cursor. (Without that lock a cursor would need a
 * horizon: only events older than the longest write transaction.)
 */
int
store_hook_pending(struct store *store, const struct store_hook_dest *d,
    int64_t cursor, size_t limit, struct store_event ***listp, size_t *np,
    int64_t *scannedp)
{
	static const char sql_newest[] =
	    "SELECT coalesce(max(seq), 0) FROM events";
	static const char sql[] =
	    "SELECT e.seq, e.id, e.type, e.timestamp_ms, e.account_id, e.json"
	    " FROM events e WHERE e.seq > ?1"
	    " AND (e.account_id = ?2 OR CAST(?2 AS TEXT) IS NULL)"
	    " AND EXISTS (SELECT 1 FROM event_subscription_destinations sd"
	    "  JOIN event_subscription_types st"
	    "  ON st.subscription_id = sd.subscription_id"
	    "  WHERE sd.destination_id = ?3"
	    "  AND (st.type = e.type OR st.type = '" STORE_HOOK_ANY_TYPE "'))"
	    " ORDER BY e.seq LIMIT ?4";
	struct db_stmt *stmt = NULL;
	struct store_event **list = NULL;
	void *l = NULL;
	size_t n = 0;
	int64_t newest = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (d == NULL || d->id == NULL || listp == NULL || np == NULL ||
	    scannedp == NULL || limit == 0 || limit > INT32_MAX) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	*scannedp = cursor;
	if ((r = store_begin_read(store)) != 0)
		goto out;
	if ((r = store_prepare(store, &stmt, sql_newest, "")) != 0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql_newest);
		goto out;
	}
	newest = db_column_int64(stmt, 0);
	db_finalize(stmt);
	stmt = NULL;
	if (newest > cursor &&
	    (r = store_list(store, &store_event_rows, &l, &n, sql, "IttI",
	         cursor, d->account_id, d->id, (int64_t)limit)) != 0)
		goto out;
	list = l;
	if ((r = store_commit(store)) != 0)
		goto out;
	if (n == limit)
		*scannedp = list[n - 1]->seq;
	else if (newest > cursor)
		*scannedp = newest;
	/* Ownership passes to the caller. */
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;
	r = 0;
out:
	db_finalize(stmt);
	if (r != 0)
		store_rollback(store);
	store_event_list_free(list, n);
	return r;
}

int
store_hook_advance(struct store *store, const char *id, const char *node,
    int64_t from, int64_t to, int64_t ndelivered, int64_t now_ms)
{
	static const char sql[] =
	    "UPDATE event_deliveries SET cursor_seq = ?4, attempts = 0,"
	    " last_error = NULL, next_attempt_ms = 0,"
	    " delivered_total = delivered_total + ?5,"
	    " delivered_ms = CASE WHEN CAST(?5 AS BIGINT) > 0"
	    "  THEN CAST(?6 AS BIGINT) ELSE delivered_ms END"
	    " WHERE destination_id = ?1 AND lease_node = ?2"
	    " AND cursor_seq = ?3";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || node == NULL || to < from || ndelivered < 0) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store, sql, "ttIIII", id, node, from, to, ndelivered,
	    now_ms);
	if (r == PORTHOLE_ERR_NOT_FOUND)
		r = PORTHOLE_ERR_DENIED;
out:
	return r;
}

int
store_hook_failed(struct store *store, const char *id, const char *node,
    int attempts, const char *error, int64_t next_attempt_ms)
{
	static const char sql[] =
	    "UPDATE event_deliveries SET attempts = ?3, last_error = ?4,"
	    " next_attempt_ms = ?5"
	    " WHERE destination_id = ?1 AND lease_node = ?2";
	char clipped[STORE_HOOK_ERROR_MAX + 1];
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || node == NULL || attempts < 0) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	snprintf(clipped, sizeof(clipped), "%s", error != NULL ? error : "");
	r = store_change(store, sql, "ttitI", id, node, attempts, clipped,
	    next_attempt_ms);
	if (r == PORTHOLE_ERR_NOT_FOUND)
		r = PORTHOLE_ERR_DENIED;
out:
	return r;
}
