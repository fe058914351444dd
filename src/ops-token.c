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
	if ((r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0 ||
	    (r = ops_check_text("metadata", metadata, OPS_METADATA_MAX, 1,
	         err)) != 0 ||
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
ops_token_get(struct ops *ops, const char *id, struct store_token **tp,
    struct ops_err *err)
{
	struct store_token *t = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*tp = NULL;
	if (id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "a token id is needed");
	if ((r = store_token_get(ops->store, id, &t)) == 0 &&
	    !ops_visible(ops, t->account_id))
		r = PORTHOLE_ERR_NOT_FOUND;
	if (r == PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "no such token '%.100s'", id);
	else if (r != 0)
		ops_errf_r(err, ops, r, "token '%.100s'", id);
	if (r != 0)
		goto out;
	*tp = t; /* the caller's */
	t = NULL;
out:
	store_token_free(t);
	return r;
}

int
ops_token_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_token ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	struct store_account *a = NULL;
	struct store_token *before = NULL;
	const char *account_id;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0)
		goto out;
	if ((account != NULL || !ops_is_admin(ops)) &&
	    (r = ops_account_resolve(ops, account, &a, err)) != 0)
		goto out;
	account_id = a == NULL ? NULL : a->id;
	if (page == NULL) {
		if ((r = store_token_list(ops->store, account_id, listp, np)) !=
		    0)
			ops_errf_r(err, ops, r, "list tokens");
		goto out;
	}
	if (page->before_id != NULL &&
	    (store_token_get(ops->store, page->before_id, &before) != 0 ||
	        !ops_visible(ops, before->account_id))) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "before_id '%.100s' names no token", page->before_id);
		goto out;
	}
	if ((r = store_token_page(ops->store, account_id, page->before_id,
	         ops_page_limit(page), listp, np, morep)) != 0)
		ops_errf_r(err, ops, r, "list tokens");
out:
	store_token_free(before);
	store_account_free(a);
	return r;
}

int
ops_token_update(struct ops *ops, const char *id, const char *description,
    const char *metadata, struct store_token **tp, struct ops_err *err)
{
	struct store_token *t = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (tp != NULL)
		*tp = NULL;
	if ((r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0 ||
	    (r = ops_check_text("metadata", metadata, OPS_METADATA_MAX, 1,
	         err)) != 0 ||
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
