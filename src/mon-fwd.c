/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mon-int.h"

#include "conf.h"
#include "err.h"
#include "fwdreq.h"
#include "id.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "pool.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Endpoints, decided by the monitor. A session process asks for a
 * forward with the address string and port its client sent; the monitor
 * judges it (src/fwdreq.c), checks the session's limits and, for a
 * reserved address, that the account holds it; then it binds the public
 * port itself and hands the listener over, so a session process never
 * binds anything. Edge addresses stay with the monitor (mon-edge.c).
 */

#define MON_FWD_BACKLOG 1024
/*
 * A session may make this many forwards in its life (cancelled ones
 * included): every endpoint is a row in the store.
 */
#define MON_FORWARDS_MAX 1000

void
mon_ep_free(struct mon_ep *ep)
{
	if (ep == NULL)
		return;
	free(ep->id);
	free(ep->host);
	free(ep->hostport);
	free(ep->address_id);
	free(ep->edge_id);
	free(ep);
}

/*
 * Write <ep>'s settings (u32 proxy, acl address, acl edge, u32 edge
 * proxy) to <m>; *stampp gets their hash. Returns 0 or -1.
 */
static int
mon_ep_settings(struct mon *mon, struct mon_ep *ep, struct ipc_msg *m,
    uint64_t *stampp)
{
	struct store_address *a = NULL;
	struct store_edge *e = NULL;
	uint64_t s1 = 0, s2 = 0;
	size_t from = m->len;
	int r, ret = -1;

	if (ep->address_id != NULL &&
	    (r = store_address_get(mon->store, ep->address_id, &a)) != 0) {
		error_r(r, "address %s", ep->address_id);
		goto out;
	}
	if (ep->edge_id != NULL &&
	    (r = store_edge_get(mon->store, ep->edge_id, &e)) != 0) {
		error_r(r, "edge %s", ep->edge_id);
		goto out;
	}
	ipc_put_u32(m, a != NULL ? (uint32_t)a->proxy_proto : 0);
	if (mon_put_policy(mon, m, a != NULL ? a->ip_policy_id : NULL, &s1) !=
	        0 ||
	    mon_put_policy(mon, m, e != NULL ? e->ip_policy_id : NULL, &s2) !=
	        0)
		goto out;
	ipc_put_u32(m, e != NULL ? (uint32_t)e->proxy_proto : 0);
	*stampp = mon_hash(m, from, 0);
	ret = 0;
out:
	store_address_free(a);
	store_edge_free(e);
	return ret;
}

/* What pool_pick's callback needs to bind a candidate port. */
struct mon_bind {
	struct mon *mon;
	const char *host;
	int fd;
};

/*
 * pool_pick callback: listen on TunnelAddress:<port>, skipping ports
 * that are, or ever were, reserved addresses, and those another node
 * of the fleet serves on the same host (a floating one).
 */
static int
mon_try_port(uint16_t port, void *arg)
{
	struct mon_bind *mb = arg;
	int used = 0, r;

	if ((r = store_address_port_used(mb->mon->store, port, &used)) != 0)
		return r;
	if (used)
		return PORTHOLE_ERR_EXISTS;
	if ((r = store_endpoint_live_at(mb->mon->store, mb->host, port,
	         &used)) != 0)
		return r;
	if (used)
		return PORTHOLE_ERR_EXISTS;
	return net_listen(mb->mon->conf->tunnel_address, port, MON_FWD_BACKLOG,
	    &mb->fd);
}

/*
 * A random address on <host>: the port this credential had last time if
 * it is still free (AddressAffinity), else a free one from PortRange.
 * Returns 0 with the listener in *fdp and the port in *portp, or -1
 * with a reason.
 */
static int
mon_bind_random(struct mon *mon, struct mon_kid *k, const char *host, int *fdp,
    uint16_t *portp, char *reason, size_t rlen)
{
	struct mon_bind mb;
	size_t i;
	int r;

	mb.mon = mon;
	mb.host = host;
	for (i = 0; i < k->naffinity; i++) {
		struct store_hostport *hp = &k->affinity[i];
		uint16_t port;

		if (hp->port <= 0 || hp->port > 65535 ||
		    strcasecmp(hp->host, host) != 0 ||
		    !pool_contains(mon->pool, (uint16_t)hp->port))
			continue;
		port = (uint16_t)hp->port;
		hp->port = 0; /* tried: not again in this session */
		mb.fd = -1;
		if (mon_try_port(port, &mb) == 0) {
			debug("session %s: %s:%u again (AddressAffinity)",
			    k->session_id, host, port);
			*fdp = mb.fd;
			*portp = port;
			return 0;
		}
	}
	mb.fd = -1;
	if ((r = pool_pick(mon->pool, mon_try_port, &mb, portp)) != 0) {
		if (r == PORTHOLE_ERR_EXHAUSTED)
			snprintf(reason, rlen, "no free port is left on %s",
			    host);
		else
			snprintf(reason, rlen, "cannot listen: %s",
			    porthole_strerror(r));
		return -1;
	}
	*fdp = mb.fd;
	return 0;
}

/*
 * The reserved address <host>:<port> for <k>'s account. Returns 0 with
 * the listener in *fdp (-1 for an edge address, whose group <ep> joins)
 * and the address in *ap; -2 if it is held but already served; -1 if it
 * may not be served; a reason and *codep in both cases.
 */
static int
mon_bind_reserved(struct mon *mon, struct mon_kid *k, const char *host,
    int port, int *fdp, struct store_address **ap, const char **codep,
    char *reason, size_t rlen)
{
	struct store_address *a = NULL;
	int r, backend = 0, ret = -1;

	*codep = "not_reserved";
	if (k->anonymous) {
		snprintf(reason, rlen,
		    "anonymous sessions get random addresses only; use "
		    "port 0");
		goto out;
	}
	r = store_address_find(mon->store, host, port, &a);
	if (r == 0 && a->edge_id != NULL) {
		/* An edge's address: its backends join its group. */
		if (store_edge_is_backend(mon->store, a->edge_id, k->account_id,
		        &backend) != 0 ||
		    !backend) {
			snprintf(reason, rlen,
			    "%s:%d belongs to edge %s and account %s is not "
			    "one of its backends",
			    host, port, a->edge_id, k->account_name);
			goto out;
		}
		*fdp = -1;
		*ap = a;
		a = NULL;
		ret = 0;
		goto out;
	}
	if (r == PORTHOLE_ERR_NOT_FOUND ||
	    (r == 0 &&
	        (a->account_id == NULL ||
	            strcmp(a->account_id, k->account_id) != 0))) {
		snprintf(reason, rlen,
		    "%s:%d is not an address reserved for account %s; "
		    "use port 0 for a random address",
		    host, port, k->account_name);
		goto out;
	}
	if (r != 0) {
		*codep = "internal";
		snprintf(reason, rlen, "internal error (store)");
		goto out;
	}
	r = net_listen(mon->conf->tunnel_address, (uint16_t)port,
	    MON_FWD_BACKLOG, fdp);
	if (r == PORTHOLE_ERR_EXISTS) {
		snprintf(reason, rlen,
		    "%s:%d is already being served (by another session of "
		    "account %s?)",
		    host, port, k->account_name);
		*codep = "in_use";
		ret = -2;
		goto out;
	}
	if (r != 0) {
		*codep = "internal";
		snprintf(reason, rlen, "cannot listen: %s",
		    porthole_strerror(r));
		goto out;
	}
	*ap = a;
	a = NULL;
	ret = 0;
out:
	store_address_free(a);
	return ret;
}

/*
 * A fixed address on a host this node does not serve: if it is one
 * reserved for <k>'s account (or an edge it backs), say which host to
 * connect to, since another node of the fleet serves it. Returns 1
 * with the reason set if so.
 */
static int
mon_elsewhere(struct mon *mon, struct mon_kid *k, const char *host, int port,
    char *reason, size_t rlen)
{
	struct store_address *a = NULL;
	int ret = 0, backend = 0;

	if (k->anonymous || port <= 0 ||
	    store_address_find(mon->store, host, port, &a) != 0)
		goto out;
	if (a->edge_id != NULL) {
		if (store_edge_is_backend(mon->store, a->edge_id, k->account_id,
		        &backend) != 0 ||
		    !backend)
			goto out;
	} else if (a->account_id == NULL ||
	    strcmp(a->account_id, k->account_id) != 0)
		goto out;
	snprintf(reason, rlen,
	    "%s:%d is served by the nodes that list %s as a PublicHost, not "
	    "by this one (%s); connect to %s",
	    a->host, a->port, a->host, mon->conf->node_name, a->host);
	ret = 1;
out:
	store_address_free(a);
	return ret;
}

/* Refuse <k>'s forward for <code>: count it and say why. */
static void
mon_forward_refuse(struct mon *mon, struct mon_kid *k, const char *safe,
    int port, const char *code, const char *reason)
{
	struct ipc_msg m;

	k->nrefused++;
	mon_rec_count(mon, MON_C_FORWARDS_REFUSED, mon_rec_reason(code), 1);
	if (mon_kid_log_ok(k))
		logit("session %s: forward '%s' port %d refused: %s",
		    k->session_id, safe, port, reason);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_FORWARD_RESULT);
	ipc_put_u8(&m, 0);
	ipc_put_str(&m, code);
	ipc_put_str(&m, reason);
	mon_send(mon, k, &m, -1);
	ipc_msg_free(&m);
}

/* Append <ep> to <k>'s endpoints. */
static void
mon_kid_add_ep(struct mon_kid *k, struct mon_ep *ep)
{
	k->eps = xreallocarray(k->eps, k->neps + 1, sizeof(*k->eps));
	k->eps[k->neps++] = ep;
	k->nlive++;
	k->nforwards++;
}

void
mon_forward(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	struct conf *conf = mon->conf;
	struct store_address *addr = NULL;
	struct store_endpoint row;
	struct fwdreq req;
	struct mon_ep *ep = NULL;
	struct ipc_msg ans;
	char *bind_address, reason[FWDREQ_REASON_LEN];
	const char *code = "internal";
	uint16_t bound = 0;
	uint32_t port32;
	int port, fd = -1, r, rc;

	memset(&ans, 0, sizeof(ans));
	bind_address = ipc_get_str(m, IPC_STR_MAX);
	port32 = ipc_get_u32(m);
	if (!ipc_ok(m, 1)) {
		free(bind_address);
		mon_violation(mon, k, m->type, "malformed message");
		return;
	}
	port = port32 > 65535 ? -1 : (int)port32;
	rc = fwdreq_classify(bind_address, port,
	    (const char *const *)conf->public_hosts, conf->npublic_hosts, &req);
	/* The order of the checks keeps each refusal's counted code. */
	if (rc == PORTHOLE_ERR_INVALID_FORMAT) {
		snprintf(reason, sizeof(reason), "%s", req.reason);
		code = req.code;
		goto refuse;
	}
	if (k->end_reason != NULL || k->ended) {
		snprintf(reason, sizeof(reason), "the session is ending");
		code = "limit";
		goto refuse;
	}
	if (k->nlive >= k->max_endpoints) {
		snprintf(reason, sizeof(reason),
		    "this session already has %d forwards "
		    "(MaxEndpointsPerSession)",
		    k->nlive);
		code = "limit";
		goto refuse;
	}
	if (k->nforwards >= MON_FORWARDS_MAX) {
		snprintf(reason, sizeof(reason),
		    "this session has made %d forwards; reconnect to make "
		    "more",
		    k->nforwards);
		code = "limit";
		goto refuse;
	}
	if (rc != 0) {
		code = req.code;
		if (rc != PORTHOLE_ERR_NOT_FOUND ||
		    !mon_elsewhere(mon, k, req.safe, port, reason,
		        sizeof(reason)))
			snprintf(reason, sizeof(reason), "%s", req.reason);
		goto refuse;
	}
	if (req.kind == FWDREQ_FIXED) {
		if (mon_bind_reserved(mon, k, req.host, port, &fd, &addr, &code,
		        reason, sizeof(reason)) != 0)
			goto refuse;
		bound = (uint16_t)port;
	} else {
		code = "exhausted";
		if (mon_bind_random(mon, k, req.host, &fd, &bound, reason,
		        sizeof(reason)) != 0)
			goto refuse;
	}
	code = "internal";
	ep = xcalloc(1, sizeof(*ep));
	ep->id = id_new("ep");
	ep->host = xstrdup(req.host);
	ep->port = bound;
	if (strchr(ep->host, ':') != NULL)
		xasprintf(&ep->hostport, "[%s]:%u", ep->host, ep->port);
	else
		xasprintf(&ep->hostport, "%s:%u", ep->host, ep->port);
	ep->live = 1;
	if (addr != NULL) {
		ep->address_id = xstrdup(addr->id);
		if (addr->edge_id != NULL)
			ep->edge_id = xstrdup(addr->edge_id);
	}
	ipc_msg_init(&ans, MON_FORWARD_RESULT);
	ipc_put_u8(&ans, 1);
	ipc_put_str(&ans, ep->id);
	ipc_put_str(&ans, ep->host);
	ipc_put_u32(&ans, ep->port);
	ipc_put_str(&ans, ep->hostport);
	ipc_put_str(&ans, ep->address_id);
	ipc_put_str(&ans, ep->edge_id);
	if (mon_ep_settings(mon, ep, &ans, &ep->stamp) != 0) {
		snprintf(reason, sizeof(reason), "internal error (IP policy)");
		goto refuse;
	}
	memset(&row, 0, sizeof(row));
	row.id = ep->id;
	row.session_id = k->session_id;
	row.account_id = k->account_id;
	row.host = ep->host;
	row.port = ep->port;
	row.bind_address = bind_address;
	row.metadata = k->metadata;
	row.address_id = ep->address_id;
	row.edge_id = ep->edge_id;
	row.started_ms = misc_now_ms();
	row.node = mon->conf->node_name;
	row.region = mon->conf->region;
	if ((r = store_endpoint_add(mon->store, &row)) == PORTHOLE_ERR_EXISTS) {
		/* Another node took it between our look and our insert. */
		snprintf(reason, sizeof(reason),
		    "%s is already being served (by another node?); try "
		    "again",
		    ep->hostport);
		code = "in_use";
		goto refuse;
	} else if (r != 0) {
		error_r(r, "session %s: cannot record endpoint %s",
		    k->session_id, ep->id);
		snprintf(reason, sizeof(reason), "internal error (store)");
		goto refuse;
	}
	if (ep->edge_id != NULL &&
	    mon_grp_join(mon, k, ep, reason, sizeof(reason)) != 0) {
		(void)store_endpoint_end(mon->store, ep->id, misc_now_ms());
		code = "in_use";
		goto refuse;
	}
	mon_kid_add_ep(k, ep);
	logit("session %s: endpoint %s tcp://%s (asked '%s' port %d)",
	    k->session_id, ep->id, ep->hostport, req.safe, port);
	mon_rec_endpoint(mon, k, ep, 1);
	mon_send(mon, k, &ans, fd); /* the listener is the session's now */
	ep = NULL;
	fd = -1;
	goto out;
refuse:
	if (fd != -1)
		close(fd);
	fd = -1;
	mon_forward_refuse(mon, k, req.safe, port, code, reason);
out:
	mon_ep_free(ep);
	store_address_free(addr);
	ipc_msg_free(&ans);
	free(bind_address);
}

void
mon_ep_stop(struct mon *mon, struct mon_kid *k, struct mon_ep *ep,
    const char *why)
{
	struct ipc_msg m;
	int r;

	if (!ep->live)
		return;
	ep->live = 0;
	k->nlive--;
	if (ep->grp != NULL)
		mon_grp_leave(mon, k, ep, 0);
	mon_rec_endpoint(mon, k, ep, 0);
	/* NOT_FOUND: an administrator ended it already (account disable). */
	if ((r = store_endpoint_end(mon->store, ep->id, misc_now_ms())) != 0 &&
	    r != PORTHOLE_ERR_NOT_FOUND)
		error_r(r, "endpoint %s: cannot record its end", ep->id);
	if (why == NULL)
		return;
	logit("session %s: endpoint %s tcp://%s stopped: the administrator "
	      "%s",
	    k->session_id, ep->id, ep->hostport, why);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_ENDPOINT_STOP);
	ipc_put_str(&m, ep->id);
	ipc_put_str(&m, why);
	mon_send(mon, k, &m, -1);
	ipc_msg_free(&m);
}

void
mon_cancel(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	struct mon_ep *ep;
	char *id = ipc_get_str(m, MON_ID_MAX);

	if (!ipc_ok(m, 1)) {
		mon_violation(mon, k, m->type, "malformed message");
		goto out;
	}
	if ((ep = mon_kid_ep(k, id)) == NULL || !ep->live) {
		debug("session %s: cancel of no live endpoint of its",
		    k->session_id);
		goto out;
	}
	logit("session %s: endpoint %s tcp://%s cancelled", k->session_id,
	    ep->id, ep->hostport);
	if (ep->grp != NULL)
		mon_grp_leave(mon, k, ep, 1);
	mon_ep_stop(mon, k, ep, NULL);
out:
	free(id);
}

/* Predicate: <s> has no control character (C0, DEL, C1). */
static int
mon_text_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && *p <= 0x9f))
			return 0;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 0;
	}
	return 1;
}

void
mon_metadata(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	char *meta = ipc_get_str(m, MON_META_MAX);
	size_t i;
	int r;

	if (!ipc_ok(m, 1) || !mon_text_ok(meta)) {
		free(meta);
		mon_violation(mon, k, m->type, "malformed metadata");
		return;
	}
	free(k->metadata);
	k->metadata = meta;
	for (i = 0; i < k->neps; i++) {
		if (k->eps[i]->live &&
		    (r = store_endpoint_set_metadata(mon->store, k->eps[i]->id,
		         meta)) != 0)
			error_r(r, "endpoint %s: cannot store metadata",
			    k->eps[i]->id);
	}
}

/*
 * Has the administrator changed what <ep> serves? Returns why it must
 * stop, or NULL.
 */
static const char *
mon_ep_gone(struct mon *mon, struct mon_kid *k, struct mon_ep *ep)
{
	struct store_address *a = NULL;
	const char *why = NULL;
	int r, backend = 0;

	r = store_address_get(mon->store, ep->address_id, &a);
	if (r == PORTHOLE_ERR_NOT_FOUND)
		why = "deleted this address";
	else if (r != 0)
		why = NULL; /* cannot tell now: next time */
	else if (ep->edge_id == NULL && a->edge_id != NULL)
		why = "put this address on an edge";
	else if (ep->edge_id != NULL &&
	    (a->edge_id == NULL || strcmp(a->edge_id, ep->edge_id) != 0))
		why = "took this address off its edge";
	else if (ep->edge_id != NULL &&
	    store_edge_is_backend(mon->store, ep->edge_id, k->account_id,
	        &backend) == 0 &&
	    !backend)
		why = "removed this account from the edge";
	store_address_free(a);
	return why;
}

void
mon_check_endpoints(struct mon *mon, struct mon_kid *k)
{
	struct ipc_msg m;
	struct mon_ep *ep;
	const char *why;
	uint64_t stamp;
	size_t i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < k->neps; i++) {
		ep = k->eps[i];
		if (!ep->live || ep->address_id == NULL)
			continue;
		if ((why = mon_ep_gone(mon, k, ep)) != NULL) {
			mon_ep_stop(mon, k, ep, why);
			continue;
		}
		/* Take up PROXY and IP policy changes. */
		ipc_msg_init(&m, MON_ENDPOINT_UPDATE);
		ipc_put_str(&m, ep->id);
		if (mon_ep_settings(mon, ep, &m, &stamp) != 0 ||
		    stamp == ep->stamp)
			continue;
		ep->stamp = stamp;
		mon_send(mon, k, &m, -1);
	}
	ipc_msg_free(&m);
}
