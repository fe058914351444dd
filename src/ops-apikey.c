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

/* API keys, revoked ones too; an administrator's has no account. */
static int
ops_apikey_vget(struct store *store, const char *id, void *objp)
{
	return store_apikey_get(store, id, objp);
}

static const char *
ops_apikey_account(const void *obj)
{
	return ((const struct store_apikey *)obj)->account_id;
}

static void
ops_apikey_vfree(void *obj)
{
	store_apikey_free(obj);
}

static int
ops_apikey_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return store_apikey_list(store, account_id, listp, np);
}

static int
ops_apikey_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_apikey_page(store, account_id, before_id, limit, listp, np,
	    morep);
}

static const struct ops_kind ops_apikey_kind = { "API key", "API keys",
	ops_apikey_vget, ops_apikey_account, ops_apikey_vfree, ops_apikey_vlist,
	ops_apikey_vpage };

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
	if ((r = ops_check_texts(description, NULL, err)) != 0)
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
ops_apikey_get(struct ops *ops, const char *id, struct store_apikey **p,
    struct ops_err *err)
{
	return ops_kind_get(ops, &ops_apikey_kind, id, p, err);
}

int
ops_apikey_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_apikey ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_apikey_kind, account, page, listp, np,
	    morep, err);
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
