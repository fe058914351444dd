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
#include "token.h"
#include "xmalloc.h"

/*
 * The store's API keys, kept as authtokens are (store-token.c) but
 * with no session behind them: revoking one ends nothing here.
 */

/* A new key at <slot> from the current row (STORE_APIKEY_SELECT). */
static void
store_apikey_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_apikey *k;

	k = xcalloc(1, sizeof(*k));
	k->id = store_column_text(stmt, 0);
	k->account_id = store_column_text(stmt, 1); /* NULL: admin */
	k->account_name = store_column_text(stmt, 2);
	k->account_disabled = store_column_int(stmt, 3) != 0;
	k->description = store_column_text(stmt, 4);
	k->created_ms = db_column_int64(stmt, 5);
	k->last_used_ms = db_column_int64(stmt, 6); /* NULL reads as 0 */
	k->revoked_ms = db_column_int64(stmt, 7);
	*(struct store_apikey **)slot = k;
}

static void
store_apikey_list_vfree(void *list, size_t n)
{
	store_apikey_list_free(list, n);
}

static const struct store_rows store_apikey_rows = { sizeof(
	                                                 struct store_apikey *),
	store_apikey_from_row, store_apikey_list_vfree };

/*
 * Record key <id> of account <account_id> (an id; NULL for an
 * administrator's key) by its keyed hash of exactly TOKEN_HASH_LEN
 * bytes. A NULL description is stored as "".
 */
int
store_apikey_add(struct store *store, const char *id, const char *account_id,
    const unsigned char *hash, size_t hashlen, const char *description,
    int64_t now_ms)
{
	static const char sql[] =
	    "INSERT INTO api_keys (id, account_id, hash, description,"
	    " created_ms, seq) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM api_keys))";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || *id == '\0' ||
	    (account_id != NULL && *account_id == '\0') || hash == NULL ||
	    hashlen != TOKEN_HASH_LEN) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_run_locked(store, NULL, sql, "ttbtI", id, account_id,
	    (const void *)hash, hashlen, description != NULL ? description : "",
	    now_ms);
out:
	return r;
}

/*
 * The valid key whose keyed hash is <hash>, and the digest as stored
 * into <stored_hash> (TOKEN_HASH_LEN bytes) if it is not NULL.
 */
int
store_apikey_find(struct store *store, const unsigned char *hash,
    size_t hashlen, struct store_apikey **kp, unsigned char *stored_hash)
{
	static const char sql[] =
	    STORE_APIKEY_SELECT " WHERE k.hash = ?1 AND k.revoked_ms IS NULL";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (kp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	*kp = NULL;
	if ((r = store_hashed_row(store, sql, hash, hashlen, 8, stored_hash,
	         "API key", &stmt)) != 0)
		goto out;
	store_apikey_from_row(stmt, kp); /* the caller's */
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/* Note a use of key <id>; _NOT_FOUND if there is no such key. */
int
store_apikey_touch(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE api_keys SET last_used_ms = ?2 WHERE id = ?1", "tI", id,
	    now_ms);
out:
	return r;
}

/*
 * Every key of <account> (name or id), or of everyone when NULL:
 * administrators' keys (no account name) first, then by account name,
 * then age.
 */
int
store_apikey_list(struct store *store, const char *account,
    struct store_apikey ***listp, size_t *np)
{
	static const char sql_all[] = STORE_APIKEY_SELECT
	    " ORDER BY a.name NULLS FIRST, k.created_ms, k.seq";
	static const char sql_one[] = STORE_APIKEY_SELECT
	    " WHERE k.account_id = ?1 ORDER BY k.created_ms, k.seq";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_apikey_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Revoke key <id> at <now_ms>; _NOT_FOUND if absent or already revoked. */
int
store_apikey_revoke(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_change(store,
	         "UPDATE api_keys SET revoked_ms = ?2"
	         " WHERE id = ?1 AND revoked_ms IS NULL",
	         "tI", id, now_ms)) != 0)
		goto out;
	debug_f("API key %.40s: revoked", id);
	r = 0;
out:
	return r;
}

/* Free <k>; NULL is a no-op. */
void
store_apikey_free(struct store_apikey *k)
{
	if (k == NULL)
		return;
	free(k->id);
	free(k->account_id);
	free(k->account_name);
	free(k->description);
	free(k);
}

/* Free the <n> keys of <list> and the list itself. */
void
store_apikey_list_free(struct store_apikey **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_apikey_free(list[i]);
	free(list);
}

/* Key <id>, valid or revoked; _NOT_FOUND if there is none. */
int
store_apikey_get(struct store *store, const char *id, struct store_apikey **kp)
{
	static const char sql[] = STORE_APIKEY_SELECT " WHERE k.id = ?1";

	if (kp != NULL)
		*kp = NULL;
	if (id == NULL || kp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_apikey_rows, kp, sql, "t", id);
}

/*
 * A page of the keys, revoked ones too, of <account_id> (NULL: of every
 * account and the administrators).
 */
int
store_apikey_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_apikey ***listp,
    size_t *np, int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_APIKEY_SELECT, "1 = 1",
	    "k", "api_keys", "created_ms");
	void *list = NULL;
	int r;

	r = store_page(store, &store_apikey_rows, sql, account_id, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}
