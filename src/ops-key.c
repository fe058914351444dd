/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "pubkey.h"
#include "store.h"
#include "xmalloc.h"

/*
 * SSH public keys, registered to accounts: "sk_…" ids, fingerprints
 * unique across accounts.
 */

/* Predicate: <line> starts a private key, which must never be echoed. */
static int
ops_key_is_private(const char *line)
{
	return strncmp(line, "-----BEGIN ", 11) == 0 &&
	    strstr(line, "PRIVATE KEY") != NULL;
}

/* Keys, by id or fingerprint. */
static int
ops_key_vget(struct store *store, const char *id, void *objp)
{
	return store_key_get(store, id, objp);
}

static const char *
ops_key_account(const void *obj)
{
	return ((const struct store_key *)obj)->account_id;
}

static void
ops_key_vfree(void *obj)
{
	store_key_free(obj);
}

static int
ops_key_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return store_key_list(store, account_id, listp, np);
}

static int
ops_key_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_key_page(store, account_id, before_id, limit, listp, np,
	    morep);
}

static const struct ops_kind ops_key_kind = { "key", "keys", ops_key_vget,
	ops_key_account, ops_key_vfree, ops_key_vlist, ops_key_vpage };

int
ops_key_parse(const char *line, const char *what, size_t lineno,
    struct pubkey **keyp, struct ops_err *err)
{
	char errbuf[256];
	int r = PORTHOLE_ERR_INTERNAL;

	*keyp = NULL;
	if (ops_key_is_private(line))
		return ops_errf(err, PORTHOLE_ERR_INVALID_FORMAT,
		    "%s is a private key; give the public key (.pub)", what);
	errbuf[0] = '\0';
	if ((r = pubkey_parse(line, keyp, errbuf, sizeof(errbuf))) != 0) {
		if (lineno == 0)
			ops_errf(err, r, "invalid key: %s", errbuf);
		else
			ops_errf(err, r, "%s:%zu: invalid key: %s", what,
			    lineno, errbuf);
	}
	return r;
}

int
ops_key_add_all(struct ops *ops, const char *account,
    struct pubkey *const *keys, size_t nkeys, const char *description,
    const char *metadata, struct store_key ***listp, struct ops_err *err)
{
	struct store_account *a = NULL;
	struct store_key *k = NULL, **list = NULL;
	size_t i, j, n = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	if ((r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_account_resolve(ops, account, &a, err)) != 0)
		goto out;
	/* All are checked first, so a bad or duplicate key adds none. */
	for (i = 0; i < nkeys; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(keys[i]->fingerprint,
			        keys[j]->fingerprint) == 0) {
				r = ops_errf(err, PORTHOLE_ERR_EXISTS,
				    "key %s is given twice",
				    keys[i]->fingerprint);
				goto out;
			}
		}
		r = store_key_get(ops->store, keys[i]->fingerprint, &k);
		if (r == 0) {
			/* Another account's key is not named to a scope. */
			if (ops_visible(ops, k->account_id))
				r = ops_errf(err, PORTHOLE_ERR_EXISTS,
				    "key %s is already registered to account "
				    "%s",
				    k->fingerprint, k->account_name);
			else
				r = ops_errf(err, PORTHOLE_ERR_EXISTS,
				    "key %s is already registered",
				    k->fingerprint);
			goto out;
		} else if (r != PORTHOLE_ERR_NOT_FOUND) {
			ops_errf_r(err, ops, r, "key %s", keys[i]->fingerprint);
			goto out;
		}
	}
	list = xcalloc(nkeys + 1, sizeof(*list));
	for (i = 0; i < nkeys; i++) {
		if ((r = store_key_add(ops->store, a->id, keys[i]->type,
		         keys[i]->blob, keys[i]->fingerprint,
		         keys[i]->comment)) != 0) {
			if (r == PORTHOLE_ERR_EXISTS)
				ops_errf(err, r, "key %s is already registered",
				    keys[i]->fingerprint);
			else
				ops_errf_r(err, ops, r, "add key %s",
				    keys[i]->fingerprint);
			goto out;
		}
		if ((description != NULL || metadata != NULL) &&
		    (r = store_key_set_text(ops->store, keys[i]->fingerprint,
		         description, metadata)) != 0) {
			ops_errf_r(err, ops, r, "key %s: set description",
			    keys[i]->fingerprint);
			goto out;
		}
		if ((r = store_key_get(ops->store, keys[i]->fingerprint,
		         &list[n])) != 0) {
			ops_errf_r(err, ops, r, "key %s", keys[i]->fingerprint);
			goto out;
		}
		n++;
	}
	*listp = list; /* the caller's */
	list = NULL;
	r = 0;
out:
	store_key_list_free(list, n);
	store_key_free(k);
	store_account_free(a);
	return r;
}

int
ops_key_add(struct ops *ops, const char *account, const char *line,
    const char *description, const char *metadata, struct store_key **kp,
    struct ops_err *err)
{
	struct pubkey *key = NULL;
	struct store_key **list = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*kp = NULL;
	if (line == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "a public key is needed");
		goto out;
	}
	if ((r = ops_key_parse(line, "key", 0, &key, err)) != 0 ||
	    (r = ops_key_add_all(ops, account, &key, 1, description, metadata,
	         &list, err)) != 0)
		goto out;
	*kp = list[0]; /* the caller's */
	list[0] = NULL;
out:
	store_key_list_free(list, 1);
	pubkey_free(key);
	return r;
}

int
ops_key_get(struct ops *ops, const char *key_or_fp, struct store_key **p,
    struct ops_err *err)
{
	return ops_kind_get(ops, &ops_key_kind, key_or_fp, p, err);
}

int
ops_key_list(struct ops *ops, const char *account, const struct ops_page *page,
    struct store_key ***listp, size_t *np, int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_key_kind, account, page, listp, np,
	    morep, err);
}

int
ops_key_update(struct ops *ops, const char *key_or_fp, const char *description,
    const char *metadata, struct store_key **kp, struct ops_err *err)
{
	struct store_key *k = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (kp != NULL)
		*kp = NULL;
	if ((r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_key_get(ops, key_or_fp, &k, err)) != 0)
		goto out;
	if ((r = store_key_set_text(ops->store, k->id, description,
	         metadata)) != 0) {
		ops_errf_r(err, ops, r, "update key %s", k->id);
		goto out;
	}
	if (kp != NULL)
		r = ops_key_get(ops, k->id, kp, err);
out:
	store_key_free(k);
	return r;
}

int
ops_key_delete(struct ops *ops, const char *key_or_fp, struct store_key **kp,
    size_t *nendedp, struct ops_err *err)
{
	struct store_key *k = NULL;
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if (kp != NULL)
		*kp = NULL;
	if (nendedp != NULL)
		*nendedp = 0;
	if ((r = ops_key_get(ops, key_or_fp, &k, err)) != 0)
		goto out;
	if ((r = store_key_delete(ops->store, k->fingerprint, misc_now_ms(),
	         &pids, &npids)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			ops_errf(err, r, "no such key '%.100s'", key_or_fp);
		else
			ops_errf_r(err, ops, r, "delete key %s",
			    k->fingerprint);
		goto out;
	}
	ops_announce(ops, OPS_CHANGE_SESSIONS, pids, npids);
	if (nendedp != NULL)
		*nendedp = npids;
	if (kp != NULL) {
		*kp = k; /* the caller's */
		k = NULL;
	}
out:
	free(pids);
	store_key_free(k);
	return r;
}
