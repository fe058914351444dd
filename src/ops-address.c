/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "misc.h"
#include "net.h"
#include "ops-int.h"
#include "ops.h"
#include "pool.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Reserved addresses, as a hosted provider's "TCP addresses": a port
 * drawn at random from PortRange on one PublicHost, fixed for life, and
 * never handed out again once deleted (the store keeps a tombstone).
 */

char *
ops_hostport(const char *host, int port)
{
	char *s = NULL;

	if (strchr(host, ':') != NULL)
		xasprintf(&s, "[%s]:%d", host, port);
	else
		xasprintf(&s, "%s:%d", host, port);
	return s;
}

int
ops_str_differs(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x != y;
	return strcmp(x, y) != 0;
}

/*
 * The PublicHost that <host> names, compared case-insensitively (an IPv6
 * host may come in brackets), as configured; NULL if it names none. The
 * result is borrowed from <conf>.
 */
static const char *
ops_address_public_host(const struct conf *conf, const char *host)
{
	size_t i, len = strlen(host);

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	for (i = 0; i < conf->npublic_hosts; i++) {
		if (strlen(conf->public_hosts[i]) == len &&
		    strncasecmp(conf->public_hosts[i], host, len) == 0)
			return conf->public_hosts[i];
	}
	return NULL;
}

int
ops_address_lookup(struct ops *ops, const char *addr, struct store_address **ap,
    struct ops_err *err)
{
	struct store_address *a = NULL;
	const char *canon;
	char *host = NULL;
	uint16_t port = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	*ap = NULL;
	if (addr == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an address is needed");
		goto out;
	}
	if (strncmp(addr, "ra_", 3) == 0)
		r = store_address_get(ops->store, addr, &a);
	else if (net_split_hostport(addr, -1, &host, &port) != 0 || port == 0) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "'%.100s' is not an address: give its id (ra_...) or "
		    "HOST:PORT",
		    addr);
		goto out;
	} else {
		/* A host no longer configured still finds its addresses. */
		if ((canon = ops_address_public_host(ops->conf, host)) == NULL)
			canon = host;
		r = store_address_find(ops->store, canon, port, &a);
	}
	if (r == 0 && !ops_visible(ops, a->account_id))
		r = PORTHOLE_ERR_NOT_FOUND;
	if (r == PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "no such address '%.100s'", addr);
	else if (r != 0)
		ops_errf_r(err, ops, r, "address '%.100s'", addr);
	if (r != 0)
		goto out;
	/* Ownership passes to the caller. */
	*ap = a;
	a = NULL;
out:
	store_address_free(a);
	free(host);
	return r;
}

int
ops_address_event(struct ops *ops, const char *type,
    const struct store_address *a, int64_t now_ms, struct ops_err *err)
{
	struct buf *b = buf_new();
	char *hostport, *url = NULL, *what = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	hostport = ops_hostport(a->host, a->port);
	xasprintf(&url, "tcp://%s", hostport);
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", a->id);
	json_kv_str(b, 0, "url", url);
	json_kv_str(b, 0, "host", a->host);
	json_kv_int(b, 0, "port", a->port);
	json_kv_str(b, 0, "description", a->description);
	json_kv_str(b, 0, "metadata", a->metadata);
	json_kv_int(b, 0, "proxy_proto", a->proxy_proto);
	json_kv_str(b, 0, "ip_policy", a->ip_policy_name);
	json_kv_str(b, 0, "ip_policy_id", a->ip_policy_id);
	json_kv_bool(b, 0, "pooling", a->pooling);
	buf_putc(b, '}');
	xasprintf(&what, "address %s", a->id);
	r = ops_event_record(ops, type, a->account_id, buf_str(b), now_ms, what,
	    err);
	free(what);
	buf_free(b);
	free(hostport);
	free(url);
	return r;
}

/* Predicate: an update made address <after> differ from <before>. */
static int
ops_address_differs(const struct store_address *before,
    const struct store_address *after)
{
	return ops_str_differs(before->description, after->description) ||
	    ops_str_differs(before->metadata, after->metadata) ||
	    ops_str_differs(before->ip_policy_id, after->ip_policy_id) ||
	    before->proxy_proto != after->proxy_proto ||
	    before->pooling != after->pooling;
}

/* What ops_address_try needs to take a port for a new reservation. */
struct ops_reserve {
	struct ops *ops;
	struct ops_err *err;
	const char *account_id; /* NULL: owned by no account */
	const char *host; /* the PublicHost */
	const char *description;
	const char *metadata;
	struct store_endpoint **endpoints; /* live, for their ports */
	size_t nendpoints;
	int64_t now_ms;
	struct store_address *address; /* the result */
};

/*
 * pool_pick callback: reserve <port> unless it is or was a reserved
 * address, a live endpoint holds it, or something on this machine has
 * it bound on TunnelAddress. Ports are one space across PublicHosts,
 * which all share TunnelAddress.
 */
static int
ops_address_try(uint16_t port, void *arg)
{
	struct ops_reserve *res = arg;
	struct conf *conf = res->ops->conf;
	size_t i;
	int used = 0, fd = -1, r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_address_port_used(res->ops->store, port, &used)) != 0) {
		ops_errf_r(res->err, res->ops, r, "port %u", port);
		goto out;
	}
	if (used) {
		r = PORTHOLE_ERR_EXISTS;
		goto out;
	}
	for (i = 0; i < res->nendpoints; i++) {
		if (res->endpoints[i]->port == port) {
			r = PORTHOLE_ERR_EXISTS;
			goto out;
		}
	}
	/* Only the kernel knows whether the port is free right now. */
	if ((r = net_listen(conf->tunnel_address, port, 1, &fd)) != 0) {
		if (r == PORTHOLE_ERR_SYSTEM && errno == EACCES)
			r = PORTHOLE_ERR_EXISTS; /* privileged: skip it */
		else if (r != PORTHOLE_ERR_EXISTS)
			ops_errf(res->err, r,
			    "cannot bind TunnelAddress %s port %u: %s",
			    conf->tunnel_address, port, porthole_strerror(r));
		goto out;
	}
	close(fd);
	r = store_address_add(res->ops->store, res->account_id, res->host, port,
	    res->description, res->metadata, res->now_ms, &res->address);
	/* _EXISTS: taken meanwhile by another reserve; the walk goes on. */
	if (r != 0 && r != PORTHOLE_ERR_EXISTS)
		ops_errf_r(res->err, res->ops, r, "reserve %s port %u",
		    res->host, port);
out:
	return r;
}

int
ops_address_new(struct ops *ops, const char *account_id, const char *host,
    const char *description, const char *metadata, int64_t now_ms,
    struct store_address **ap, struct ops_err *err)
{
	struct conf *conf = ops->conf;
	struct ops_reserve res;
	struct pool *pool = NULL;
	struct buf *hosts = NULL;
	uint16_t port = 0;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	*ap = NULL;
	memset(&res, 0, sizeof(res));
	if (conf->npublic_hosts == 0) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "no PublicHost is configured");
		goto out;
	}
	res.host = conf->public_hosts[0];
	if (host != NULL &&
	    (res.host = ops_address_public_host(conf, host)) == NULL) {
		hosts = buf_new();
		for (i = 0; i < conf->npublic_hosts; i++)
			buf_printf(hosts, "%s%s", i == 0 ? "" : ", ",
			    conf->public_hosts[i]);
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "host '%.100s' is not a PublicHost of this server; use "
		    "one of: %s",
		    host, buf_str(hosts));
		goto out;
	}
	if ((pool = pool_new(conf->port_low, conf->port_high)) == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "PortRange %u-%u is empty", conf->port_low,
		    conf->port_high);
		goto out;
	}
	if ((r = store_endpoint_list(ops->store, &res.endpoints,
	         &res.nendpoints)) != 0) {
		ops_errf_r(err, ops, r, "list endpoints");
		goto out;
	}
	res.ops = ops;
	res.err = err;
	res.account_id = account_id;
	res.description = description;
	res.metadata = metadata;
	res.now_ms = now_ms;
	if ((r = pool_pick(pool, ops_address_try, &res, &port)) != 0) {
		if (r == PORTHOLE_ERR_EXHAUSTED)
			ops_errf(err, r,
			    "no port left to reserve in PortRange %u-%u: "
			    "every port is reserved, was once, or is in use",
			    conf->port_low, conf->port_high);
		/* Any other code was reported by ops_address_try. */
		goto out;
	}
	*ap = res.address; /* the caller's now */
	res.address = NULL;
	r = 0;
out:
	buf_free(hosts);
	pool_free(pool);
	store_endpoint_list_free(res.endpoints, res.nendpoints);
	store_address_free(res.address);
	return r;
}

/* Reserved addresses, by id or host:port; deleted ones are not listed. */
static int
ops_address_vget(struct store *store, const char *id, void *objp)
{
	return store_address_get(store, id, objp);
}

static const char *
ops_address_account(const void *obj)
{
	return ((const struct store_address *)obj)->account_id;
}

static void
ops_address_vfree(void *obj)
{
	store_address_free(obj);
}

static int
ops_address_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return store_address_list(store, account_id, listp, np);
}

static int
ops_address_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_address_page(store, account_id, before_id, limit, listp,
	    np, morep);
}

static const struct ops_kind ops_address_kind = { "address", "addresses",
	ops_address_vget, ops_address_account, ops_address_vfree,
	ops_address_vlist, ops_address_vpage };

int
ops_address_reserve(struct ops *ops, const char *account, const char *host,
    const char *description, const char *metadata, struct store_address **ap,
    struct ops_err *err)
{
	struct store_account *acct = NULL;
	struct store_address *a = NULL;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	*ap = NULL;
	if ((r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_account_resolve(ops, account, &acct, err)) != 0)
		goto out;
	now = misc_now_ms();
	if ((r = ops_address_new(ops, acct->id, host, description, metadata,
	         now, &a, err)) != 0)
		goto out;
	/* Reserved: it is returned even if its event fails. */
	r = ops_address_event(ops, EVENT_ADDRESS_CREATED, a, now, err);
	*ap = a; /* the caller's */
	a = NULL;
out:
	store_address_free(a);
	store_account_free(acct);
	return r;
}

int
ops_address_get(struct ops *ops, const char *addr, struct store_address **ap,
    struct ops_err *err)
{
	return ops_address_lookup(ops, addr, ap, err);
}

int
ops_address_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_address ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_address_kind, account, page, listp, np,
	    morep, err);
}

int
ops_address_update(struct ops *ops, const char *addr,
    const struct ops_address_update *u, struct store_address **ap,
    struct ops_err *err)
{
	struct store_address *a = NULL, *after = NULL;
	struct store_ip_policy *p = NULL;
	struct ops_err err2;
	int r = PORTHOLE_ERR_INTERNAL, r2, set_policy = 0;

	if (ap != NULL)
		*ap = NULL;
	if ((r = ops_check_texts(u->description, u->metadata, err)) != 0 ||
	    (r = ops_check_proxy(u->proxy_proto, err)) != 0)
		goto out;
	if ((r = ops_address_lookup(ops, addr, &a, err)) != 0)
		goto out;
	/* An unknown policy changes nothing, not even the description. */
	if ((r = ops_policy_choice(ops, u->ip_policy, &p, &set_policy, err)) !=
	    0)
		goto out;
	if ((u->description != NULL || u->metadata != NULL) &&
	    (r = store_address_update(ops->store, a->id, u->description,
	         u->metadata)) != 0) {
		ops_errf_r(err, ops, r, "update address %s", a->id);
		goto out;
	}
	if (u->pooling != 0 && a->edge_id != NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "address %s is on edge %s, whose backends share it "
		    "already: pooling is for an account's own addresses",
		    a->id, a->edge_id);
		goto out;
	}
	if (u->pooling != 0 &&
	    (r = store_address_set_pooling(ops->store, a->id,
	         u->pooling == OPS_POOLING_ON)) != 0) {
		ops_errf_r(err, ops, r, "update address %s", a->id);
		goto out;
	}
	r = ops_traffic_set(ops, "address", a->id, set_policy, p,
	    u->proxy_proto, store_address_set_ip_policy,
	    store_address_set_proxy_proto, err);
	/* Likewise the event: one if anything changed, and only then. */
	ops_err_clear(&err2);
	if ((r2 = store_address_get(ops->store, a->id, &after)) != 0) {
		if (r == 0)
			r = ops_errf_r(err, ops, r2, "address %s", a->id);
		goto out;
	}
	if (ops_address_differs(a, after) &&
	    (r2 = ops_address_event(ops, EVENT_ADDRESS_UPDATED, after,
	         misc_now_ms(), &err2)) != 0 &&
	    r == 0) {
		r = r2;
		*err = err2;
	}
	if (r != 0)
		goto out;
	if (ap != NULL) {
		*ap = after; /* the caller's */
		after = NULL;
	}
out:
	store_ip_policy_free(p);
	store_address_free(a);
	store_address_free(after);
	return r;
}

/* Tell the session serving endpoint <id> to look at its addresses. */
static void
ops_address_stop_endpoint(struct ops *ops, const char *id)
{
	struct store_endpoint *ep = NULL;
	struct store_session *sess = NULL;
	int64_t pid;

	if (store_endpoint_get(ops->store, id, &ep) == 0 && ep->ended_ms == 0 &&
	    store_session_get(ops->store, ep->session_id, &sess) == 0 &&
	    sess->ended_ms == 0) {
		pid = sess->pid;
		ops_announce(ops, OPS_CHANGE_SESSIONS, &pid, 1);
	}
	store_session_free(sess);
	store_endpoint_free(ep);
}

int
ops_address_delete(struct ops *ops, const char *addr, struct store_address **ap,
    struct ops_err *err)
{
	struct store_address *a = NULL;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ap != NULL)
		*ap = NULL;
	if ((r = ops_address_lookup(ops, addr, &a, err)) != 0)
		goto out;
	now = misc_now_ms();
	if ((r = store_address_delete(ops->store, a->id, now)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			ops_errf(err, r, "no such address '%.100s'", addr);
		else
			ops_errf_r(err, ops, r, "delete address %s", a->id);
		goto out;
	}
	/* An edge's address may be served by several members. */
	if (a->edge_id != NULL)
		ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	else if (a->endpoint_id != NULL)
		ops_address_stop_endpoint(ops, a->endpoint_id);
	a->deleted_ms = now;
	/* Deleted: it is returned even if its event fails. */
	r = ops_address_event(ops, EVENT_ADDRESS_DELETED, a, now, err);
	if (ap != NULL) {
		*ap = a; /* the caller's */
		a = NULL;
	}
out:
	store_address_free(a);
	return r;
}
