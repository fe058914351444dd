/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Edges, as a hosted provider's "TCP edges": one or more reserved
 * addresses served by a group of sessions of the edge's backend
 * accounts, which portholed balances connections over, with an IP
 * policy and a PROXY setting of the edge's own. A plain session cannot
 * serve an edge's address. Every change here that a live session could
 * see (its addresses, backends, policy or PROXY setting) is announced
 * (OPS_CHANGE_POLICY), which makes them re-read their settings. Edges
 * are an administrator's.
 *
 * An address reserved by edge create belongs to no account: when its
 * edge is deleted it is retired for good, as address delete retires
 * one. An account's address put on an edge goes back to its account.
 */

/* Find edge <id> ("ed_…") into *ep, or "no such edge 'x'". */
static int
ops_edge_lookup(struct ops *ops, const char *id, struct store_edge **ep,
    struct ops_err *err)
{
	int r = PORTHOLE_ERR_INTERNAL;

	*ep = NULL;
	if (id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an edge is needed");
	if ((r = store_edge_get(ops->store, id, ep)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			ops_errf(err, r, "no such edge '%.100s'", id);
		else
			ops_errf_r(err, ops, r, "edge '%.100s'", id);
	}
	return r;
}

/* Read edge <id> again after a change into *ep (may be NULL). */
static int
ops_edge_reread(struct ops *ops, const char *id, struct store_edge **ep,
    struct ops_err *err)
{
	int r;

	if (ep == NULL)
		return 0;
	if ((r = store_edge_get(ops->store, id, ep)) != 0)
		ops_errf_r(err, ops, r, "edge %s", id);
	return r;
}

/*
 * Take the addresses <added> (<nadded> of them) off edge <e> and delete
 * it: a create that failed half way leaves nothing behind. They are
 * taken off first because deleting an edge retires the addresses on it
 * that no account owns. On failure <err> says so.
 */
static void
ops_edge_undo_create(struct ops *ops, const struct store_edge *e,
    struct store_address *const *added, size_t nadded, struct ops_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < nadded; i++) {
		if (store_edge_address_remove(ops->store, e->id,
		        added[i]->id) != 0)
			r = -1;
	}
	if (r != 0 || store_edge_delete(ops->store, e->id, misc_now_ms()) != 0)
		ops_errf(err, err->code != 0 ? err->code : PORTHOLE_ERR_STORE,
		    "edge %s was created with only some of its addresses; "
		    "delete it and try again",
		    e->id);
}

/*
 * Look up the addresses <texts> of edge create into a new array
 * *addrsp, each of which must be on no edge yet and given once.
 */
static int
ops_edge_create_addresses(struct ops *ops, const char *const *texts, size_t n,
    struct store_address ***addrsp, struct ops_err *err)
{
	struct store_address **addrs = NULL, *a;
	char *hostport = NULL;
	size_t i, j;
	int r = PORTHOLE_ERR_INTERNAL;

	*addrsp = NULL;
	addrs = xcalloc(n + 1, sizeof(*addrs));
	for (i = 0; i < n; i++) {
		if ((r = ops_address_lookup(ops, texts[i], &addrs[i], err)) !=
		    0)
			goto out;
		a = addrs[i];
		hostport = ops_hostport(a->host, a->port);
		if (a->edge_id != NULL) {
			r = ops_errf(err, PORTHOLE_ERR_EXISTS,
			    "address %s is already on edge %s", hostport,
			    a->edge_id);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(addrs[j]->id, a->id) == 0) {
				r = ops_errf(err, PORTHOLE_ERR_EXISTS,
				    "--address %s given twice", hostport);
				goto out;
			}
		}
		free(hostport);
		hostport = NULL;
	}
	*addrsp = addrs; /* the caller's now */
	addrs = NULL;
	r = 0;
out:
	free(hostport);
	store_address_list_free(addrs, n);
	return r;
}

int
ops_edge_create(struct ops *ops, const char *description, const char *metadata,
    const char *const *texts, size_t naddrs, const char *host,
    struct store_edge **ep, struct ops_err *err)
{
	struct store_address **addrs = NULL, *fresh = NULL;
	struct store_edge *e = NULL;
	struct ops_err err2, ignored;
	char *hostport = NULL;
	int64_t now;
	size_t i, nadded = 0;
	int r = PORTHOLE_ERR_INTERNAL, r2 = 0;

	*ep = NULL;
	ops_err_clear(&err2);
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_check_texts(description, metadata, err)) != 0)
		goto out;
	/* Every address is checked before anything is written. */
	if ((r = ops_edge_create_addresses(ops, texts, naddrs, &addrs, err)) !=
	    0)
		goto out;
	now = misc_now_ms();
	if ((r = store_edge_add(ops->store,
	         description == NULL ? "" : description, now, &e)) != 0 ||
	    (metadata != NULL &&
	        (r = store_edge_set_metadata(ops->store, e->id, metadata)) !=
	            0)) {
		ops_errf_r(err, ops, r, "create edge");
		if (e != NULL)
			ops_edge_undo_create(ops, e, NULL, 0, err);
		goto out;
	}
	if (naddrs == 0) {
		if ((r = ops_address_new(ops, NULL, host, NULL, NULL, now,
		         &fresh, err)) != 0) {
			ops_edge_undo_create(ops, e, NULL, 0, err);
			goto out;
		}
		/* Reserved: announced even if the edge fails below. */
		r2 = ops_address_event(ops, EVENT_ADDRESS_CREATED, fresh, now,
		    &err2);
		if ((r = store_edge_address_add(ops->store, e->id,
		         fresh->id)) != 0) {
			hostport = ops_hostport(fresh->host, fresh->port);
			ops_errf_r(err, ops, r, "edge %s: add address %s",
			    e->id, hostport);
			ops_edge_undo_create(ops, e, NULL, 0, err);
			/* No account has it: retire it, as announced. */
			now = misc_now_ms();
			if (store_address_delete(ops->store, fresh->id, now) ==
			    0) {
				fresh->deleted_ms = now;
				(void)ops_address_event(ops,
				    EVENT_ADDRESS_DELETED, fresh, now,
				    &ignored);
			}
			goto out;
		}
	}
	for (i = 0; i < naddrs; i++) {
		if ((r = store_edge_address_add(ops->store, e->id,
		         addrs[i]->id)) != 0) {
			hostport = ops_hostport(addrs[i]->host, addrs[i]->port);
			if (r == PORTHOLE_ERR_EXISTS) /* taken meanwhile */
				ops_errf(err, r,
				    "address %s is already on an edge",
				    hostport);
			else if (r == PORTHOLE_ERR_NOT_FOUND)
				ops_errf(err, r, "no such address '%.100s'",
				    texts[i]);
			else
				ops_errf_r(err, ops, r,
				    "edge %s: add address %s", e->id, hostport);
			ops_edge_undo_create(ops, e, addrs, nadded, err);
			goto out;
		}
		nadded++;
	}
	/* Their account's sessions serve them no more. */
	if (naddrs > 0)
		ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	if ((r = ops_edge_reread(ops, e->id, ep, err)) != 0)
		goto out;
	/* Created: returned even if the new address's event failed. */
	if ((r = r2) != 0)
		*err = err2;
out:
	free(hostport);
	store_address_list_free(addrs, naddrs);
	store_address_free(fresh);
	store_edge_free(e);
	return r;
}

int
ops_edge_get(struct ops *ops, const char *id, struct store_edge **ep,
    struct ops_err *err)
{
	int r;

	*ep = NULL;
	if ((r = ops_need_admin(ops, err)) != 0)
		return r;
	return ops_edge_lookup(ops, id, ep, err);
}

static void
ops_edge_list_vfree(void *list, size_t n)
{
	store_edge_list_free(list, n);
}

int
ops_edge_list(struct ops *ops, const struct ops_page *page,
    struct store_edge ***listp, size_t *np, int *morep, struct ops_err *err)
{
	struct store_edge **list = NULL;
	void *out = NULL;
	size_t n = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_check_page(page, err)) != 0)
		goto out;
	if ((r = store_edge_list(ops->store, &list, &n)) != 0) {
		ops_errf_r(err, ops, r, "list edges");
		goto out;
	}
	/* Ownership of <list> passes to ops_page_slice. */
	r = ops_page_slice(page, (void **)list, n,
	    offsetof(struct store_edge, id),
	    offsetof(struct store_edge, created_ms), ops_edge_list_vfree, &out,
	    np, morep, err);
	list = NULL;
	n = 0;
	*listp = out;
out:
	store_edge_list_free(list, n);
	return r;
}

int
ops_edge_update(struct ops *ops, const char *id,
    const struct ops_edge_update *u, struct store_edge **ep,
    struct ops_err *err)
{
	struct store_edge *e = NULL;
	struct store_ip_policy *p = NULL;
	int r = PORTHOLE_ERR_INTERNAL, set_policy = 0;

	if (ep != NULL)
		*ep = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_check_texts(u->description, u->metadata, err)) != 0 ||
	    (r = ops_check_proxy(u->proxy_proto, err)) != 0)
		goto out;
	if ((r = ops_edge_lookup(ops, id, &e, err)) != 0)
		goto out;
	/* An unknown policy changes nothing, not even the description. */
	if ((r = ops_policy_choice(ops, u->ip_policy, &p, &set_policy, err)) !=
	    0)
		goto out;
	if (u->description != NULL &&
	    (r = store_edge_set_description(ops->store, e->id,
	         u->description)) != 0) {
		ops_errf_r(err, ops, r, "edge %s: set description", e->id);
		goto out;
	}
	if (u->metadata != NULL &&
	    (r = store_edge_set_metadata(ops->store, e->id, u->metadata)) !=
	        0) {
		ops_errf_r(err, ops, r, "edge %s: set metadata", e->id);
		goto out;
	}
	r = ops_traffic_set(ops, "edge", e->id, set_policy, p, u->proxy_proto,
	    store_edge_set_ip_policy, store_edge_set_proxy_proto, err);
	if (r != 0)
		goto out;
	r = ops_edge_reread(ops, e->id, ep, err);
out:
	store_ip_policy_free(p);
	store_edge_free(e);
	return r;
}

int
ops_edge_delete(struct ops *ops, const char *id, struct store_edge **ep,
    struct ops_err *err)
{
	struct store_edge *e = NULL;
	struct store_address *a;
	struct ops_err err2;
	int64_t now;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL, r2 = 0;

	if (ep != NULL)
		*ep = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_edge_lookup(ops, id, &e, err)) != 0)
		goto out;
	now = misc_now_ms();
	if ((r = store_edge_delete(ops->store, e->id, now)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			ops_errf(err, r, "no such edge '%.100s'", id);
		else
			ops_errf_r(err, ops, r, "delete edge %s", e->id);
		goto out;
	}
	ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	/* Those it reserved, owned by no account, are retired for good. */
	for (i = 0; i < e->naddresses; i++) {
		a = e->addresses[i];
		if (a->account_id != NULL)
			continue;
		a->deleted_ms = now;
		ops_err_clear(&err2);
		if ((r = ops_address_event(ops, EVENT_ADDRESS_DELETED, a, now,
		         &err2)) != 0 &&
		    r2 == 0) {
			r2 = r;
			*err = err2;
		}
	}
	/* Deleted: it is returned even if an event fails. */
	r = r2;
	if (ep != NULL) {
		*ep = e; /* the caller's */
		e = NULL;
	}
out:
	store_edge_free(e);
	return r;
}

/*
 * Put address <addr> on edge <id>, one on no edge yet, or take it off
 * (<add> 0). Either way the sessions that served it are told.
 */
static int
ops_edge_address(struct ops *ops, const char *id, const char *addr, int add,
    struct store_edge **ep, struct ops_err *err)
{
	struct store_edge *e = NULL;
	struct store_address *a = NULL;
	char *hostport = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ep != NULL)
		*ep = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_edge_lookup(ops, id, &e, err)) != 0 ||
	    (r = ops_address_lookup(ops, addr, &a, err)) != 0)
		goto out;
	hostport = ops_hostport(a->host, a->port);
	if (add && a->edge_id != NULL) {
		r = ops_errf(err, PORTHOLE_ERR_EXISTS,
		    "address %s is already on edge %s", hostport, a->edge_id);
		goto out;
	}
	if (add)
		r = store_edge_address_add(ops->store, e->id, a->id);
	else
		r = store_edge_address_remove(ops->store, e->id, a->id);
	if (r == PORTHOLE_ERR_EXISTS && add) /* taken meanwhile */
		ops_errf(err, r, "address %s is already on an edge", hostport);
	else if (r == PORTHOLE_ERR_NOT_FOUND && !add)
		ops_errf(err, r, "address %s is not on edge %s", hostport,
		    e->id);
	else if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
		ops_errf(err, r, "edge %s or address %s is gone", e->id,
		    hostport);
	else if (r != 0)
		ops_errf_r(err, ops, r, "edge %s: %s address %s", e->id,
		    add ? "add" : "remove", hostport);
	if (r != 0)
		goto out;
	ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	r = ops_edge_reread(ops, e->id, ep, err);
out:
	free(hostport);
	store_address_free(a);
	store_edge_free(e);
	return r;
}

int
ops_edge_address_add(struct ops *ops, const char *id, const char *addr,
    struct store_edge **ep, struct ops_err *err)
{
	return ops_edge_address(ops, id, addr, 1, ep, err);
}

int
ops_edge_address_remove(struct ops *ops, const char *id, const char *addr,
    struct store_edge **ep, struct ops_err *err)
{
	return ops_edge_address(ops, id, addr, 0, ep, err);
}

/*
 * Let the sessions of account <account> serve edge <id> (<add> 1), or
 * no longer (0).
 */
static int
ops_edge_backend(struct ops *ops, const char *id, const char *account, int add,
    struct store_edge **ep, struct ops_err *err)
{
	struct store_edge *e = NULL;
	struct store_account *acct = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ep != NULL)
		*ep = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_edge_lookup(ops, id, &e, err)) != 0)
		goto out;
	if (account == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an account is needed");
		goto out;
	}
	if ((r = ops_account_resolve(ops, account, &acct, err)) != 0)
		goto out;
	if (add)
		r = store_edge_backend_add(ops->store, e->id, acct->id);
	else
		r = store_edge_backend_remove(ops->store, e->id, acct->id);
	if (r == PORTHOLE_ERR_EXISTS && add)
		ops_errf(err, r, "account %s is already a backend of edge %s",
		    acct->name, e->id);
	else if (r == PORTHOLE_ERR_NOT_FOUND && !add)
		ops_errf(err, r, "account %s is not a backend of edge %s",
		    acct->name, e->id);
	else if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
		ops_errf(err, r, "edge %s or account %s is gone", e->id,
		    acct->name);
	else if (r != 0)
		ops_errf_r(err, ops, r, "edge %s: %s backend %s", e->id,
		    add ? "add" : "remove", acct->name);
	if (r != 0)
		goto out;
	ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	r = ops_edge_reread(ops, e->id, ep, err);
out:
	store_account_free(acct);
	store_edge_free(e);
	return r;
}

int
ops_edge_backend_add(struct ops *ops, const char *id, const char *account,
    struct store_edge **ep, struct ops_err *err)
{
	return ops_edge_backend(ops, id, account, 1, ep, err);
}

int
ops_edge_backend_remove(struct ops *ops, const char *id, const char *account,
    struct store_edge **ep, struct ops_err *err)
{
	return ops_edge_backend(ops, id, account, 0, ep, err);
}
