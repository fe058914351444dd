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

/* The store's public keys, registered to accounts. */

/* A new key at <slot> from the current row (STORE_KEY_SELECT). */
static void
store_key_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_key *k;

	k = xcalloc(1, sizeof(*k));
	k->fingerprint = store_column_text(stmt, 0);
	k->account_id = store_column_text(stmt, 1);
	k->account_name = store_column_text(stmt, 2);
	k->account_disabled = store_column_int(stmt, 3) != 0;
	k->type = store_column_text(stmt, 4);
	k->blob = store_column_text(stmt, 5);
	k->comment = store_column_text(stmt, 6);
	k->created_ms = db_column_int64(stmt, 7);
	k->id = store_column_text(stmt, 8);
	k->description = store_column_text(stmt, 9);
	k->metadata = store_column_text(stmt, 10);
	*(struct store_key **)slot = k;
}

static void
store_key_list_vfree(void *list, size_t n)
{
	store_key_list_free(list, n);
}

static const struct store_rows store_key_rows = { sizeof(struct store_key *),
	store_key_from_row, store_key_list_vfree };

/*
 * Register key <fingerprint> to account <account_id> (an id, not a
 * name). A taken fingerprint is _EXISTS (the primary key), an unknown
 * account _NOT_FOUND (the foreign key). A NULL comment is stored as "".
 */
int
store_key_add(struct store *store, const char *account_id, const char *type,
    const char *blob, const char *fingerprint, const char *comment)
{
	static const char sql[] = "INSERT INTO keys (fingerprint, account_id,"
	                          " type, blob, comment, created_ms, id)"
	                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	char *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (account_id == NULL || type == NULL || *type == '\0' ||
	    blob == NULL || *blob == '\0' || fingerprint == NULL ||
	    *fingerprint == '\0') {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	id = id_new("sk");
	r = store_run(store, NULL, sql, "tttttIt", fingerprint, account_id,
	    type, blob, comment != NULL ? comment : "", store_now_ms(), id);
out:
	free(id);
	return r;
}

/* Find key <fingerprint> (or its id, "sk_…") with its account. */
int
store_key_get(struct store *store, const char *fingerprint,
    struct store_key **keyp)
{
	static const char sql[] =
	    STORE_KEY_SELECT " WHERE k.fingerprint = ?1 OR k.id = ?1";

	if (keyp != NULL)
		*keyp = NULL;
	if (fingerprint == NULL || keyp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_key_rows, keyp, sql, "t", fingerprint);
}

/*
 * Keys of <account> (name or id; _NOT_FOUND if there is no such
 * account), or of every account when NULL; by account name, then age.
 */
int
store_key_list(struct store *store, const char *account,
    struct store_key ***listp, size_t *np)
{
	static const char sql_all[] =
	    STORE_KEY_SELECT " ORDER BY a.name, k.created_ms, k.fingerprint";
	static const char sql_one[] = STORE_KEY_SELECT
	    " WHERE k.account_id = ?1 ORDER BY k.created_ms, k.fingerprint";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_key_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/*
 * Delete key <fingerprint> and, in the same transaction, end the live
 * sessions that logged in with it (credential "key:<fingerprint>",
 * whichever account); _NOT_FOUND if it is not registered.
 */
int
store_key_delete(struct store *store, const char *fingerprint, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp)
{
	static const char sql[] = "DELETE FROM keys WHERE fingerprint = ?1";
	char *cred = NULL;
	int r = PORTHOLE_ERR_INTERNAL, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (fingerprint == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	xasprintf(&cred, "key:%s", fingerprint);
	if ((r = store_withdraw(store, cred, "key deleted", now_ms, pidsp,
	         npidsp, &ended, sql, "t", fingerprint)) != 0)
		goto out;
	debug_f("key %.60s: deleted, %d sessions ended", fingerprint, ended);
	r = 0;
out:
	free(cred);
	return r;
}

/* Free <k>; NULL is a no-op. */
void
store_key_free(struct store_key *k)
{
	if (k == NULL)
		return;
	free(k->fingerprint);
	free(k->account_id);
	free(k->account_name);
	free(k->type);
	free(k->blob);
	free(k->comment);
	free(k->id);
	free(k->description);
	free(k->metadata);
	free(k);
}

/* Free the <n> keys of <list> and the list itself. */
void
store_key_list_free(struct store_key **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_key_free(list[i]);
	free(list);
}

/* A page of the keys of account <account_id> (NULL: of every account). */
int
store_key_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_key ***listp, size_t *np,
    int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_KEY_SELECT, "1 = 1", "k",
	    "keys", "created_ms");
	void *list = NULL;
	int r;

	r = store_page(store, &store_key_rows, sql, account_id, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/*
 * Set the description and metadata of key <id> (an id or a
 * fingerprint); NULL keeps a field. _NOT_FOUND if there is no such key.
 */
int
store_key_set_text(struct store *store, const char *id, const char *description,
    const char *metadata)
{
	static const char sql[] =
	    "UPDATE keys SET description = coalesce(?2, description),"
	    " metadata = coalesce(?3, metadata)"
	    " WHERE id = ?1 OR fingerprint = ?1";

	if (id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store, sql, "ttt", id, description, metadata);
}
