/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "id.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/*
 * API keys, for the HTTP API: made, listed and revoked as authtokens
 * are (ops-token.c), but a key may belong to no account, and then it is
 * an administrator's. An account scope manages its own account's keys.
 */

int
ops_apikey_create(struct ops *ops, const char *account, const char *description,
    char *secret, size_t secretlen, struct store_apikey **kp,
    struct ops_err *err)
{
	struct store_account *a = NULL;
	unsigned char key[TOKEN_KEY_LEN], hash[TOKEN_HASH_LEN];
	char *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*kp = NULL;
	memset(key, 0, sizeof(key));
	memset(hash, 0, sizeof(hash));
	if (secretlen < APIKEY_LEN + 1) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "no room for an API key");
		goto out;
	}
	memset(secret, 0, secretlen);
	if ((r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0)
		goto out;
	/* An administrator's key (no account) only for an administrator. */
	if ((account != NULL || !ops_is_admin(ops)) &&
	    (r = ops_account_resolve(ops, account, &a, err)) != 0)
		goto out;
	if ((r = ops_token_key(ops, key, err)) != 0)
		goto out;
	token_generate_prefixed(APIKEY_PREFIX, secret, secretlen);
	token_hash(key, secret, hash);
	id = id_new("ak");
	if ((r = store_apikey_add(ops->store, id, a == NULL ? NULL : a->id,
	         hash, sizeof(hash), description, misc_now_ms())) != 0) {
		if (a != NULL)
			ops_errf_r(err, ops, r, "account %s: add API key",
			    a->name);
		else
			ops_errf_r(err, ops, r, "add API key");
		goto out;
	}
	if ((r = store_apikey_get(ops->store, id, kp)) != 0) {
		ops_errf_r(err, ops, r, "API key %s", id);
		(void)store_apikey_revoke(ops->store, id, misc_now_ms());
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
ops_apikey_get(struct ops *ops, const char *id, struct store_apikey **kp,
    struct ops_err *err)
{
	struct store_apikey *k = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*kp = NULL;
	if (id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an API key id is needed");
	if ((r = store_apikey_get(ops->store, id, &k)) == 0 &&
	    !ops_visible(ops, k->account_id))
		r = PORTHOLE_ERR_NOT_FOUND;
	if (r == PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "no such API key '%.100s'", id);
	else if (r != 0)
		ops_errf_r(err, ops, r, "API key '%.100s'", id);
	if (r != 0)
		goto out;
	*kp = k; /* the caller's */
	k = NULL;
out:
	store_apikey_free(k);
	return r;
}

int
ops_apikey_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_apikey ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	struct store_account *a = NULL;
	struct store_apikey *before = NULL;
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
		if ((r = store_apikey_list(ops->store, account_id, listp,
		         np)) != 0)
			ops_errf_r(err, ops, r, "list API keys");
		goto out;
	}
	if (page->before_id != NULL &&
	    (store_apikey_get(ops->store, page->before_id, &before) != 0 ||
	        !ops_visible(ops, before->account_id))) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "before_id '%.100s' names no API key", page->before_id);
		goto out;
	}
	if ((r = store_apikey_page(ops->store, account_id, page->before_id,
	         ops_page_limit(page), listp, np, morep)) != 0)
		ops_errf_r(err, ops, r, "list API keys");
out:
	store_apikey_free(before);
	store_account_free(a);
	return r;
}

int
ops_apikey_revoke(struct ops *ops, const char *id, struct store_apikey **kp,
    struct ops_err *err)
{
	struct store_apikey *k = NULL;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	if (kp != NULL)
		*kp = NULL;
	/* Found first, to name its account in the report. */
	if ((r = ops_apikey_get(ops, id, &k, err)) != 0)
		goto out;
	if (k->revoked_ms != 0) {
		r = ops_errf(err, PORTHOLE_ERR_NOT_FOUND,
		    "API key %s: already revoked", k->id);
		goto out;
	}
	now = misc_now_ms();
	if ((r = store_apikey_revoke(ops->store, k->id, now)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* revoked meanwhile */
			ops_errf(err, r, "API key %s: already revoked", k->id);
		else
			ops_errf_r(err, ops, r, "revoke API key %s", k->id);
		goto out;
	}
	k->revoked_ms = now;
	if (kp != NULL) {
		*kp = k; /* the caller's */
		k = NULL;
	}
out:
	store_apikey_free(k);
	return r;
}
