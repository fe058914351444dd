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

/* The store's authtokens. */

/* A new token at <slot> from the current row (STORE_TOKEN_SELECT). */
static void
store_token_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_token *t;

	t = xcalloc(1, sizeof(*t));
	t->id = store_column_text(stmt, 0);
	t->account_id = store_column_text(stmt, 1);
	t->account_name = store_column_text(stmt, 2);
	t->account_disabled = store_column_int(stmt, 3) != 0;
	t->description = store_column_text(stmt, 4);
	t->created_ms = db_column_int64(stmt, 5);
	t->last_used_ms = db_column_int64(stmt, 6); /* NULL reads as 0 */
	t->revoked_ms = db_column_int64(stmt, 7);
	t->metadata = store_column_text(stmt, 9);
	*(struct store_token **)slot = t;
}

static void
store_token_list_vfree(void *list, size_t n)
{
	store_token_list_free(list, n);
}

static const struct store_rows store_token_rows = { sizeof(
	                                                struct store_token *),
	store_token_from_row, store_token_list_vfree };

/*
 * Record token <id> of account <account_id> (an id) by its keyed hash
 * of exactly TOKEN_HASH_LEN bytes. A NULL description is stored as "".
 */
int
store_token_add(struct store *store, const char *id, const char *account_id,
    const unsigned char *hash, size_t hashlen, const char *description,
    int64_t now_ms)
{
	static const char sql[] =
	    "INSERT INTO tokens (id, account_id, hash, description, created_ms,"
	    " seq) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM tokens))";

	if (id == NULL || *id == '\0' || account_id == NULL || hash == NULL ||
	    hashlen != TOKEN_HASH_LEN)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run_locked(store, NULL, sql, "ttbtI", id, account_id,
	    (const void *)hash, hashlen, description != NULL ? description : "",
	    now_ms);
}

/*
 * The valid token whose keyed hash is <hash>, and the digest as stored
 * into <stored_hash> (TOKEN_HASH_LEN bytes) if it is not NULL. Tokens
 * of disabled accounts are found too: account_disabled tells.
 */
int
store_token_find(struct store *store, const unsigned char *hash, size_t hashlen,
    struct store_token **tp, unsigned char *stored_hash)
{
	static const char sql[] =
	    STORE_TOKEN_SELECT " WHERE t.hash = ?1 AND t.revoked_ms IS NULL";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (tp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	*tp = NULL;
	if ((r = store_hashed_row(store, sql, hash, hashlen, 8, stored_hash,
	         "token", &stmt)) != 0)
		goto out;
	store_token_from_row(stmt, tp); /* the caller's */
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/* Note a use of token <id>; _NOT_FOUND if there is no such token. */
int
store_token_touch(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE tokens SET last_used_ms = ?2 WHERE id = ?1", "tI", id,
	    now_ms);
out:
	return r;
}

/*
 * Valid tokens of <account> (name or id; _NOT_FOUND if there is no
 * such account), or of every account when NULL; by account name, then
 * age.
 */
int
store_token_list(struct store *store, const char *account,
    struct store_token ***listp, size_t *np)
{
	static const char sql_all[] =
	    STORE_TOKEN_SELECT " WHERE t.revoked_ms IS NULL"
	                       " ORDER BY a.name, t.created_ms, t.seq";
	static const char sql_one[] = STORE_TOKEN_SELECT
	    " WHERE t.revoked_ms IS NULL AND t.account_id = ?1"
	    " ORDER BY t.created_ms, t.seq";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_token_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/*
 * Revoke token <id> at <now_ms> and, in the same transaction, end the
 * live sessions that logged in with it (credential "token:<id>");
 * _NOT_FOUND if absent or already revoked.
 */
int
store_token_revoke(struct store *store, const char *id, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp)
{
	static const char sql[] = "UPDATE tokens SET revoked_ms = ?2"
	                          " WHERE id = ?1 AND revoked_ms IS NULL";
	char *cred = NULL;
	int r = PORTHOLE_ERR_INTERNAL, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	xasprintf(&cred, "token:%s", id);
	if ((r = store_withdraw(store, cred, "token revoked", now_ms, pidsp,
	         npidsp, &ended, sql, "tI", id, now_ms)) != 0)
		goto out;
	debug_f("token %.40s: revoked, %d sessions ended", id, ended);
	r = 0;
out:
	free(cred);
	return r;
}

/* Free <t>; NULL is a no-op. */
void
store_token_free(struct store_token *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->account_id);
	free(t->account_name);
	free(t->description);
	free(t->metadata);
	free(t);
}

/* Free the <n> tokens of <list> and the list itself. */
void
store_token_list_free(struct store_token **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_token_free(list[i]);
	free(list);
}

/* Token <id>, valid or revoked; _NOT_FOUND if there is none. */
int
store_token_get(struct store *store, const char *id, struct store_token **tp)
{
	static const char sql[] = STORE_TOKEN_SELECT " WHERE t.id = ?1";

	if (tp != NULL)
		*tp = NULL;
	if (id == NULL || tp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_token_rows, tp, sql, "t", id);
}

/* A page of the valid tokens of <account_id> (NULL: of every account). */
int
store_token_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_token ***listp,
    size_t *np, int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_TOKEN_SELECT,
	    "t.revoked_ms IS NULL", "t", "tokens", "created_ms");
	void *list = NULL;
	int r;

	r = store_page(store, &store_token_rows, sql, account_id, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Set description / metadata of token <id>; NULL keeps a field. */
int
store_token_set_text(struct store *store, const char *id,
    const char *description, const char *metadata)
{
	static const char sql[] =
	    "UPDATE tokens SET description = coalesce(?2, description),"
	    " metadata = coalesce(?3, metadata) WHERE id = ?1";

	if (id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store, sql, "ttt", id, description, metadata);
}
