/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "compat.h"
#include "err.h"
#include "hook.h"
#include "id.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"

/*
 * Webhooks: event destinations (a URL and the secret that signs what is
 * sent there) and subscriptions (event types for destinations). The
 * delivery itself is portholed's (sshd/webhook.c); here they are made,
 * shown, changed and deleted, each within the caller's scope.
 */

/* What the store's calls take as the scope: an account id or NULL. */
#define OPS_HOOK_SCOPE(ops) ((ops)->scope)

/*
 * The two kinds, as ops_kind_get() and ops_kind_list() find them: an
 * administrator's (no account) is an administrator's to see.
 */
static int
ops_hook_dest_vget(struct store *store, const char *id, void *objp)
{
	return store_hook_dest_get(store, id, NULL, 0, objp);
}

static const char *
ops_hook_dest_account(const void *obj)
{
	return ((const struct store_hook_dest *)obj)->account_id;
}

static void
ops_hook_dest_vfree(void *obj)
{
	store_hook_dest_free(obj);
}

static int
ops_hook_dest_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return store_hook_dest_all(store, account_id, listp, np);
}

static int
ops_hook_dest_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_hook_dest_list(store, account_id, before_id, limit, listp,
	    np, morep);
}

static const struct ops_kind ops_hook_dest_kind = { "event destination",
	"event destinations", ops_hook_dest_vget, ops_hook_dest_account,
	ops_hook_dest_vfree, ops_hook_dest_vlist, ops_hook_dest_vpage };

static int
ops_hook_sub_vget(struct store *store, const char *id, void *objp)
{
	return store_hook_sub_get(store, id, NULL, objp);
}

static const char *
ops_hook_sub_account(const void *obj)
{
	return ((const struct store_hook_sub *)obj)->account_id;
}

static void
ops_hook_sub_vfree(void *obj)
{
	store_hook_sub_free(obj);
}

static int
ops_hook_sub_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return store_hook_sub_all(store, account_id, listp, np);
}

static int
ops_hook_sub_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_hook_sub_list(store, account_id, before_id, limit, listp,
	    np, morep);
}

static const struct ops_kind ops_hook_sub_kind = { "event subscription",
	"event subscriptions", ops_hook_sub_vget, ops_hook_sub_account,
	ops_hook_sub_vfree, ops_hook_sub_vlist, ops_hook_sub_vpage };

/* Check <secret>: 16 to 256 bytes of printable ASCII, no space. */
static int
ops_hook_secret_check(const char *secret, struct ops_err *err)
{
	const char *p;
	size_t len = strlen(secret);

	if (len < STORE_HOOK_SECRET_MIN || len > STORE_HOOK_SECRET_MAX)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "secret: want %d to %d bytes", STORE_HOOK_SECRET_MIN,
		    STORE_HOOK_SECRET_MAX);
	for (p = secret; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return ops_errf(err, PORTHOLE_ERR_INVALID_FORMAT,
			    "secret: printable ASCII only, no spaces");
	}
	return 0;
}

/* Check <url> for a destination. */
static int
ops_hook_url_check(const char *url, struct ops_err *err)
{
	if (url == NULL || !hook_url_ok(url))
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "url '%.100s': want http:// or https:// and a host, "
		    "printable ASCII, at most %d bytes",
		    url != NULL ? url : "", STORE_HOOK_URL_MAX);
	return 0;
}

/*
 * The owner a new object gets: the account <account> names, or (an
 * administrator's call without one) the administrators, NULL in *idp
 * (the caller frees it).
 */
static int
ops_hook_owner(struct ops *ops, const char *account, char **idp,
    struct ops_err *err)
{
	struct store_account *a = NULL;
	int r = 0;

	*idp = NULL;
	if ((account != NULL || !ops_is_admin(ops)) &&
	    (r = ops_account_resolve(ops, account, &a, err)) == 0) {
		*idp = a->id; /* now the caller's */
		a->id = NULL;
	}
	store_account_free(a);
	return r;
}

int
ops_hook_dest_create(struct ops *ops, const char *account, const char *url,
    const char *secret, const char *description, const char *metadata,
    char *secretbuf, size_t secretlen, struct store_hook_dest **dp,
    struct ops_err *err)
{
	char *owner = NULL, *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*dp = NULL;
	if (secretbuf == NULL || secretlen < OPS_HOOK_SECRET_LEN) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "no room for a secret");
		goto out;
	}
	memset(secretbuf, 0, secretlen);
	if ((r = ops_hook_url_check(url, err)) != 0 ||
	    (secret != NULL && (r = ops_hook_secret_check(secret, err)) != 0) ||
	    (r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0 ||
	    (r = ops_check_text("metadata", metadata, OPS_METADATA_MAX, 1,
	         err)) != 0 ||
	    (r = ops_hook_owner(ops, account, &owner, err)) != 0)
		goto out;
	if (secret != NULL)
		strlcpy(secretbuf, secret, secretlen);
	else
		hook_secret_new(secretbuf, secretlen);
	id = id_new("dst");
	if ((r = store_hook_dest_add(ops->store, id, owner, url, secretbuf,
	         description, metadata, misc_now_ms())) != 0) {
		ops_errf_r(err, ops, r, "add event destination");
		goto out;
	}
	if ((r = store_hook_dest_get(ops->store, id, NULL, 0, dp)) != 0) {
		ops_errf_r(err, ops, r, "event destination %s", id);
		goto out;
	}
	r = 0;
out:
	if (r != 0 && secretbuf != NULL)
		sodium_memzero(secretbuf, secretlen);
	free(owner);
	free(id);
	return r;
}

int
ops_hook_dest_get(struct ops *ops, const char *id, struct store_hook_dest **dp,
    struct ops_err *err)
{
	return ops_kind_get(ops, &ops_hook_dest_kind, id, dp, err);
}

int
ops_hook_dest_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_hook_dest ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_hook_dest_kind, account, page, listp, np,
	    morep, err);
}

int
ops_hook_dest_update(struct ops *ops, const char *id, const char *url,
    const char *secret, const char *description, const char *metadata,
    struct store_hook_dest **dp, struct ops_err *err)
{
	struct store_hook_dest *d = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (dp != NULL)
		*dp = NULL;
	if ((r = ops_hook_dest_get(ops, id, &d, err)) != 0)
		goto out;
	if ((url != NULL && (r = ops_hook_url_check(url, err)) != 0) ||
	    (secret != NULL && (r = ops_hook_secret_check(secret, err)) != 0) ||
	    (r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0 ||
	    (r = ops_check_text("metadata", metadata, OPS_METADATA_MAX, 1,
	         err)) != 0)
		goto out;
	if ((r = store_hook_dest_update(ops->store, d->id, OPS_HOOK_SCOPE(ops),
	         url, secret, description, metadata)) != 0) {
		ops_errf_r(err, ops, r, "update event destination %s", d->id);
		goto out;
	}
	if (dp != NULL)
		r = ops_hook_dest_get(ops, d->id, dp, err);
out:
	store_hook_dest_free(d);
	return r;
}

int
ops_hook_dest_delete(struct ops *ops, const char *id,
    struct store_hook_dest **dp, struct ops_err *err)
{
	struct store_hook_dest *d = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (dp != NULL)
		*dp = NULL;
	if ((r = ops_hook_dest_get(ops, id, &d, err)) != 0)
		goto out;
	if ((r = store_hook_dest_delete(ops->store, d->id, OPS_HOOK_SCOPE(ops),
	         misc_now_ms())) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			ops_errf(err, r, "no such event destination '%.100s'",
			    d->id);
		else
			ops_errf_r(err, ops, r, "delete event destination %s",
			    d->id);
		goto out;
	}
	if (dp != NULL) {
		*dp = d; /* the caller's */
		d = NULL;
	}
out:
	store_hook_dest_free(d);
	return r;
}

/* Check event <types>: known ones, or STORE_HOOK_ANY_TYPE. */
static int
ops_hook_types_check(const char *const *types, size_t ntypes,
    struct ops_err *err)
{
	size_t i;

	for (i = 0; i < ntypes; i++) {
		if (types[i] == NULL ||
		    (strcmp(types[i], STORE_HOOK_ANY_TYPE) != 0 &&
		        !ops_event_type_known(types[i])))
			return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
			    "unknown event type '%.100s'",
			    types[i] != NULL ? types[i] : "");
	}
	return 0;
}

/* What the store's _NOT_FOUND means when subscribing <dests>. */
static int
ops_hook_sub_error(struct ops *ops, int r, const char *what,
    struct ops_err *err)
{
	if (r == PORTHOLE_ERR_NOT_FOUND)
		return ops_errf(err, r,
		    "%s: a destination is not there, or not of the "
		    "subscription's owner",
		    what);
	return ops_errf_r(err, ops, r, "%s", what);
}

int
ops_hook_sub_create(struct ops *ops, const char *account,
    const char *description, const char *metadata, const char *const *types,
    size_t ntypes, const char *const *dests, size_t ndests,
    struct store_hook_sub **sp, struct ops_err *err)
{
	char *owner = NULL, *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*sp = NULL;
	if (ntypes == 0 || types == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an event type is needed");
		goto out;
	}
	if (ndests == 0 || dests == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an event destination is needed");
		goto out;
	}
	if ((r = ops_hook_types_check(types, ntypes, err)) != 0 ||
	    (r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0 ||
	    (r = ops_check_text("metadata", metadata, OPS_METADATA_MAX, 1,
	         err)) != 0 ||
	    (r = ops_hook_owner(ops, account, &owner, err)) != 0)
		goto out;
	id = id_new("esb");
	if ((r = store_hook_sub_add(ops->store, id, owner, description,
	         metadata, types, ntypes, dests, ndests, misc_now_ms())) != 0) {
		ops_hook_sub_error(ops, r, "add event subscription", err);
		goto out;
	}
	if ((r = store_hook_sub_get(ops->store, id, NULL, sp)) != 0) {
		ops_errf_r(err, ops, r, "event subscription %s", id);
		goto out;
	}
	r = 0;
out:
	free(owner);
	free(id);
	return r;
}

int
ops_hook_sub_get(struct ops *ops, const char *id, struct store_hook_sub **sp,
    struct ops_err *err)
{
	return ops_kind_get(ops, &ops_hook_sub_kind, id, sp, err);
}

int
ops_hook_sub_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_hook_sub ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_hook_sub_kind, account, page, listp, np,
	    morep, err);
}

int
ops_hook_sub_update(struct ops *ops, const char *id, const char *description,
    const char *metadata, const char *const *types, size_t ntypes,
    const char *const *dests, size_t ndests, struct store_hook_sub **sp,
    struct ops_err *err)
{
	struct store_hook_sub *s = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (sp != NULL)
		*sp = NULL;
	if ((r = ops_hook_sub_get(ops, id, &s, err)) != 0)
		goto out;
	if ((types != NULL &&
	        (r = ops_hook_types_check(types, ntypes, err)) != 0) ||
	    (r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0 ||
	    (r = ops_check_text("metadata", metadata, OPS_METADATA_MAX, 1,
	         err)) != 0)
		goto out;
	if ((r = store_hook_sub_update(ops->store, s->id, OPS_HOOK_SCOPE(ops),
	         description, metadata, types, ntypes, dests, ndests)) != 0) {
		ops_hook_sub_error(ops, r, "update event subscription", err);
		goto out;
	}
	if (sp != NULL)
		r = ops_hook_sub_get(ops, s->id, sp, err);
out:
	store_hook_sub_free(s);
	return r;
}

int
ops_hook_sub_delete(struct ops *ops, const char *id, struct store_hook_sub **sp,
    struct ops_err *err)
{
	struct store_hook_sub *s = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (sp != NULL)
		*sp = NULL;
	if ((r = ops_hook_sub_get(ops, id, &s, err)) != 0)
		goto out;
	if ((r = store_hook_sub_delete(ops->store, s->id,
	         OPS_HOOK_SCOPE(ops))) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			ops_errf(err, r, "no such event subscription '%.100s'",
			    s->id);
		else
			ops_errf_r(err, ops, r, "delete event subscription %s",
			    s->id);
		goto out;
	}
	if (sp != NULL) {
		*sp = s; /* the caller's */
		s = NULL;
	}
out:
	store_hook_sub_free(s);
	return r;
}
