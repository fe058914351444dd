/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conf.h"
#include "err.h"
#include "id.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/*
 * Authtokens: secrets shown once, at creation, and kept only as keyed
 * hashes (token.h).
 */

/* Tokens: valid or revoked by id; valid ones listed. */
static int
ops_token_vget(struct store *store, const char *id, void *objp)
{
	return store_token_get(store, id, objp);
}

static const char *
ops_token_account(const void *obj)
{
	return ((const struct store_token *)obj)->account_id;
}

static void
ops_token_vfree(void *obj)
{
	store_token_free(obj);
}

static int
ops_token_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return store_token_list(store, account_id, listp, np);
}

static int
ops_token_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_token_page(store, account_id, before_id, limit, listp, np,
	    morep);
}

static const struct ops_kind ops_token_kind = { "token", "tokens",
	ops_token_vget, ops_token_account, ops_token_vfree, ops_token_vlist,
	ops_token_vpage };

int
ops_token_key(struct ops *ops, unsigned char *key, struct ops_err *err)
{
	const char *path = ops->conf->token_key;
	int r;

	if ((r = token_key_load(path, 1, key)) != 0) {
		if (r == PORTHOLE_ERR_INVALID_FORMAT)
			ops_errf(err, r,
			    "TokenKey %s: not a token key (want %d bytes)",
			    path, TOKEN_KEY_LEN);
		else
			ops_errf_r(err, ops, r, "TokenKey %s", path);
	}
	return r;
}

int
ops_token_create(struct ops *ops, const char *account, const char *description,
    const char *metadata, char *secret, size_t secretlen,
    struct store_token **tp, struct ops_err *err)
{
	struct store_account *a = NULL;
	unsigned char key[TOKEN_KEY_LEN], hash[TOKEN_HASH_LEN];
	char *id = NULL;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	*tp = NULL;
	memset(key, 0, sizeof(key));
	memset(hash, 0, sizeof(hash));
	if (secretlen < TOKEN_LEN + 1) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "no room for a token");
		goto out;
	}
	memset(secret, 0, secretlen);
	if ((r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_account_resolve(ops, account, &a, err)) != 0 ||
	    (r = ops_token_key(ops, key, err)) != 0)
		goto out;
	token_generate(secret, secretlen);
	token_hash(key, secret, hash);
	id = id_new("tk");
	now = misc_now_ms();
	if ((r = store_token_add(ops->store, id, a->id, hash, sizeof(hash),
	         description, now)) != 0 ||
	    (metadata != NULL &&
	        (r = store_token_set_text(ops->store, id, NULL, metadata)) !=
	            0)) {
		ops_errf_r(err, ops, r, "account %s: add token", a->name);
		goto out;
	}
	if ((r = store_token_get(ops->store, id, tp)) != 0) {
		ops_errf_r(err, ops, r, "token %s", id);
		/* Nobody has it, so no session can have used it. */
		(void)store_token_revoke(ops->store, id, misc_now_ms(), NULL,
		    NULL);
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		sodium_memzero(secret, secretlen);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hash, sizeof(hash));
	free(id);
	store_account_free(a);
	return r;
}

int
ops_token_get(struct ops *ops, const char *id, struct store_token **p,
    struct ops_err *err)
{
	return ops_kind_get(ops, &ops_token_kind, id, p, err);
}

int
ops_token_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_token ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_token_kind, account, page, listp, np,
	    morep, err);
}

int
ops_token_update(struct ops *ops, const char *id, const char *description,
    const char *metadata, struct store_token **tp, struct ops_err *err)
{
	struct store_token *t = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (tp != NULL)
		*tp = NULL;
	if ((r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_token_get(ops, id, &t, err)) != 0)
		goto out;
	if ((r = store_token_set_text(ops->store, t->id, description,
	         metadata)) != 0) {
		ops_errf_r(err, ops, r, "update token %s", t->id);
		goto out;
	}
	if (tp != NULL)
		r = ops_token_get(ops, t->id, tp, err);
out:
	store_token_free(t);
	return r;
}

int
ops_token_revoke(struct ops *ops, const char *id, struct store_token **tp,
    size_t *nendedp, struct ops_err *err)
{
	struct store_token *t = NULL;
	int64_t *pids = NULL, now;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if (tp != NULL)
		*tp = NULL;
	if (nendedp != NULL)
		*nendedp = 0;
	/* Found first, to name its account in the report. */
	if ((r = ops_token_get(ops, id, &t, err)) != 0)
		goto out;
	if (t->revoked_ms != 0) {
		r = ops_errf(err, PORTHOLE_ERR_NOT_FOUND,
		    "no such token '%.100s'", id);
		goto out;
	}
	now = misc_now_ms();
	if ((r = store_token_revoke(ops->store, t->id, now, &pids, &npids)) !=
	    0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* revoked meanwhile */
			ops_errf(err, r, "no such token '%.100s'", id);
		else
			ops_errf_r(err, ops, r, "revoke token %s", t->id);
		goto out;
	}
	ops_announce(ops, OPS_CHANGE_SESSIONS, pids, npids);
	t->revoked_ms = now;
	if (nendedp != NULL)
		*nendedp = npids;
	if (tp != NULL) {
		*tp = t; /* the caller's */
		t = NULL;
	}
out:
	free(pids);
	store_token_free(t);
	return r;
}
