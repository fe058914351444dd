/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
	free(ep->bind_address);
	if (ep->lfd != -1)
		close(ep->lfd);
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

/*
 * How a reserved address is served for a forward. One served by nobody
 * here is bound, the session's own; an edge's address joins the edge's
 * group (mon-edge.c); a pooled one (the address's setting, or tcp
 * --pooling) joins its pool, a group of the same kind, which starts from
 * the listener of a pooling session that served it alone; one another
 * session of the account serves is taken over with tcp --force. OpenSSH
 * asks for its forwards before it sends the session command, and libssh
 * cannot defer a global request's answer, so while the options are not
 * known such a forward is held: the client hears success, the session
 * gets no listener, and MON_OPTIONS decides (mon_options).
 */
enum mon_plan {
	MON_PLAN_REFUSE = 0,
	MON_PLAN_LISTEN, /* bind it: the session's own listener */
	MON_PLAN_GROUP, /* join (or start) the address's group */
	MON_PLAN_CONVERT, /* the holder's listener starts a pool: join it */
	MON_PLAN_TAKE, /* end the holder, take its listener */
	MON_PLAN_HOLD, /* wait for the session's options */
};

/* A reserved address to serve, and how. */
struct mon_serve {
	struct store_address *a; /* NULL: a random address */
	enum mon_plan plan;
	struct mon_kid *hk; /* the session serving it alone here, or NULL */
	struct mon_ep *hep; /* its endpoint */
	const char *code; /* refused: the counted code */
	char reason[FWDREQ_REASON_LEN];
};

/*
 * The reserved address <host>:<port> for <k>'s account, into sv->a.
 * Returns 0, or -1 if it may not be served (sv->code and reason set).
 */
static int
mon_reserved(struct mon *mon, struct mon_kid *k, const char *host, int port,
    struct mon_serve *sv)
{
	struct store_address *a = NULL;
	int r, backend = 0, ret = -1;

	sv->code = "not_reserved";
	if (k->anonymous) {
		snprintf(sv->reason, sizeof(sv->reason),
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
			snprintf(sv->reason, sizeof(sv->reason),
			    "%s:%d belongs to edge %s and account %s is not "
			    "one of its backends",
			    host, port, a->edge_id, k->account_name);
			goto out;
		}
	} else if (r == PORTHOLE_ERR_NOT_FOUND ||
	    (r == 0 &&
	        (a->account_id == NULL ||
	            strcmp(a->account_id, k->account_id) != 0))) {
		snprintf(sv->reason, sizeof(sv->reason),
		    "%s:%d is not an address reserved for account %s; "
		    "use port 0 for a random address",
		    host, port, k->account_name);
		goto out;
	} else if (r != 0) {
		sv->code = "internal";
		snprintf(sv->reason, sizeof(sv->reason),
		    "internal error (store)");
		goto out;
	}
	sv->a = a;
	a = NULL;
	ret = 0;
out:
	store_address_free(a);
	return ret;
}

/*
 * The endpoint that serves address <address_id> alone (not in a group)
 * here, with the monitor's copy of its listener, and its session in
 * *kp; NULL if none.
 */
static struct mon_ep *
mon_holder(struct mon *mon, const char *address_id, struct mon_kid **kp)
{
	struct mon_kid *k;
	struct mon_ep *ep;
	size_t i;

	TAILQ_FOREACH (k, &mon->kids, entry) {
		for (i = 0; i < k->neps; i++) {
			ep = k->eps[i];
			if (ep->live && !ep->held && ep->grp == NULL &&
			    ep->lfd != -1 && ep->address_id != NULL &&
			    strcmp(ep->address_id, address_id) == 0) {
				*kp = k;
				return ep;
			}
		}
	}
	return NULL;
}

/* Decide how <k> serves sv->a, endpoint <hostport>: sv->plan. */
static void
mon_plan(struct mon *mon, struct mon_kid *k, const char *hostport,
    struct mon_serve *sv)
{
	struct mon_grp *g;
	int pooling = sv->a->pooling || (k->opts_known && k->pooling);

	sv->code = "in_use";
	sv->hk = NULL;
	sv->hep = NULL;
	if (sv->a->edge_id != NULL) {
		sv->plan = MON_PLAN_GROUP;
		return;
	}
	if ((g = mon_grp_find(mon, sv->a->id)) != NULL) {
		if (pooling)
			sv->plan = MON_PLAN_GROUP;
		else if (!k->opts_known)
			sv->plan = MON_PLAN_HOLD;
		else {
			sv->plan = MON_PLAN_REFUSE;
			snprintf(sv->reason, sizeof(sv->reason),
			    "%s is shared by %zu session(s) of account %s "
			    "with --pooling; add 'tcp --pooling' to share it "
			    "with them",
			    hostport, g->nm, k->account_name);
		}
		return;
	}
	if ((sv->hep = mon_holder(mon, sv->a->id, &sv->hk)) == NULL) {
		sv->plan = pooling ? MON_PLAN_GROUP : MON_PLAN_LISTEN;
		return;
	}
	if (sv->hk == k) {
		sv->plan = MON_PLAN_REFUSE;
		snprintf(sv->reason, sizeof(sv->reason),
		    "this session already serves %s", hostport);
	} else if (pooling &&
	    (sv->a->pooling || (sv->hk->opts_known && sv->hk->pooling)))
		sv->plan = MON_PLAN_CONVERT;
	else if (!k->opts_known)
		sv->plan = MON_PLAN_HOLD;
	else if (k->force)
		sv->plan = MON_PLAN_TAKE;
	else {
		sv->plan = MON_PLAN_REFUSE;
		snprintf(sv->reason, sizeof(sv->reason),
		    "%s is already being served by session %s of account %s%s; "
		    "add 'tcp --pooling' to share it with the sessions that "
		    "serve it with --pooling, or 'tcp --force' to take it over",
		    hostport, sv->hk->session_id, k->account_name,
		    k->pooling ? " without --pooling" : "");
	}
}

/* Tell <k> (a message <type> about endpoint <ep>, with <fd>, taken). */
static void
mon_ep_tell(struct mon *mon, struct mon_kid *k, uint32_t type,
    struct mon_ep *ep, const char *why, int fd)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, type);
	ipc_put_str(&m, ep->id);
	if (why != NULL)
		ipc_put_str(&m, why);
	mon_send(mon, k, &m, fd);
	ipc_msg_free(&m);
}

/*
 * tcp --force: <k>'s endpoint <ep> takes sv->hep's address over; that
 * endpoint ends, and its session as "session kill" ends one.
 */
static void
mon_take(struct mon *mon, struct mon_kid *k, struct mon_ep *ep,
    struct mon_serve *sv)
{
	char why[MON_WHY_MAX], *said = NULL;

	logit("session %s: endpoint %s tcp://%s taken over by session %s "
	      "(tcp --force)",
	    sv->hk->session_id, sv->hep->id, sv->hep->hostport, k->session_id);
	mon_ep_stop(mon, sv->hk, sv->hep, NULL);
	snprintf(why, sizeof(why), "taken over by session %s (tcp --force)",
	    k->session_id);
	xasprintf(&said,
	    "session ended by the server: tcp://%s was taken over by session "
	    "%s of account %s (tcp --force)",
	    ep->hostport, k->session_id, k->account_name);
	mon_end(mon, sv->hk, why, said);
	free(said);
}

/*
 * A pooling session serves sv->a alone: its listener (the monitor's
 * copy) becomes the pool's, and it a member, told so.
 */
static void
mon_pool_start(struct mon *mon, struct mon_serve *sv)
{
	char reason[FWDREQ_REASON_LEN];
	int fd = sv->hep->lfd, r;

	sv->hep->lfd = -1;
	if (mon_grp_join(mon, sv->hk, sv->hep, fd, reason, sizeof(reason)) != 0)
		return; /* cannot be: it has a listener */
	if ((r = store_endpoint_set_pooled(mon->store, sv->hep->id)) != 0)
		error_r(r, "endpoint %s: cannot record it pooled", sv->hep->id);
	logit("session %s: endpoint %s tcp://%s pooled", sv->hk->session_id,
	    sv->hep->id, sv->hep->hostport);
	/* It stops accepting on its copy and joins as a member. */
	mon_ep_tell(mon, sv->hk, MON_ENDPOINT_POOL, sv->hep, NULL, -1);
}

/* Record live endpoint <ep> of <k> (<pooled>). Returns 0 or -1. */
static int
mon_ep_record(struct mon *mon, struct mon_kid *k, struct mon_ep *ep, int pooled,
    struct mon_serve *sv)
{
	struct store_endpoint row;
	int r;

	memset(&row, 0, sizeof(row));
	row.id = ep->id;
	row.session_id = k->session_id;
	row.account_id = k->account_id;
	row.host = ep->host;
	row.port = ep->port;
	row.bind_address = ep->bind_address;
	row.metadata = k->metadata;
	row.address_id = ep->address_id;
	row.edge_id = ep->edge_id;
	row.pooled = pooled;
	row.started_ms = misc_now_ms();
	row.node = mon->conf->node_name;
	row.region = mon->conf->region;
	if ((r = store_endpoint_add(mon->store, &row)) == PORTHOLE_ERR_EXISTS) {
		/* Another node took it between our look and our insert. */
		snprintf(sv->reason, sizeof(sv->reason),
		    "%s is already being served (by another node?); try "
		    "again",
		    ep->hostport);
		sv->code = "in_use";
		return -1;
	} else if (r != 0) {
		error_r(r, "session %s: cannot record endpoint %s",
		    k->session_id, ep->id);
		snprintf(sv->reason, sizeof(sv->reason),
		    "internal error (store)");
		sv->code = "internal";
		return -1;
	}
	return 0;
}

/*
 * Serve sv->a for <k>'s endpoint <ep> by sv->plan (not HOLD or
 * REFUSE): the listener into *fdp (-1 for a group member), the row
 * recorded. Returns 0, or -1 with sv's reason.
 */
static int
mon_serve(struct mon *mon, struct mon_kid *k, struct mon_ep *ep,
    struct mon_serve *sv, int *fdp)
{
	int member = sv->plan == MON_PLAN_GROUP || sv->plan == MON_PLAN_CONVERT;
	int fd = -1, r;

	*fdp = -1;
	switch (sv->plan) {
	case MON_PLAN_LISTEN:
		r = net_listen(mon->conf->tunnel_address, ep->port,
		    MON_FWD_BACKLOG, &fd);
		if (r == PORTHOLE_ERR_EXISTS) {
			snprintf(sv->reason, sizeof(sv->reason),
			    "%s is already being served (by another session "
			    "of account %s?)",
			    ep->hostport, k->account_name);
			sv->code = "in_use";
			return -1;
		}
		if (r != 0) {
			snprintf(sv->reason, sizeof(sv->reason),
			    "cannot listen: %s", porthole_strerror(r));
			sv->code = "internal";
			return -1;
		}
		break;
	case MON_PLAN_TAKE:
		fd = sv->hep->lfd;
		sv->hep->lfd = -1;
		mon_take(mon, k, ep, sv);
		break;
	case MON_PLAN_CONVERT:
		mon_pool_start(mon, sv);
		break;
	default:
		break;
	}
	/* Kept for pooling and takeover; without it, neither. */
	if (fd != -1 && (ep->lfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		error_f("dup: %s", strerror(errno));
	if (mon_ep_record(mon, k, ep, member && ep->edge_id == NULL, sv) != 0)
		goto fail;
	if (member &&
	    mon_grp_join(mon, k, ep, -1, sv->reason, sizeof(sv->reason)) != 0) {
		(void)store_endpoint_end(mon->store, ep->id, misc_now_ms());
		sv->code = "in_use";
		goto fail;
	}
	*fdp = fd;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	if (ep->lfd != -1)
		close(ep->lfd);
	ep->lfd = -1;
	return -1;
}

/* A new endpoint of <host>:<port>, asked as <bind_address>, for <a>. */
static struct mon_ep *
mon_ep_new(const char *host, uint16_t port, const char *bind_address,
    const struct store_address *a)
{
	struct mon_ep *ep = xcalloc(1, sizeof(*ep));

	ep->id = id_new("ep");
	ep->host = xstrdup(host);
	ep->port = port;
	if (strchr(ep->host, ':') != NULL)
		xasprintf(&ep->hostport, "[%s]:%u", ep->host, ep->port);
	else
		xasprintf(&ep->hostport, "%s:%u", ep->host, ep->port);
	ep->bind_address = xstrdup(bind_address);
	ep->live = 1;
	ep->lfd = -1;
	if (a != NULL) {
		ep->address_id = xstrdup(a->id);
		if (a->edge_id != NULL)
			ep->edge_id = xstrdup(a->edge_id);
	}
	return ep;
}

/*
 * MON_FORWARD (str address, u32 port). The answer, MON_FORWARD_RESULT:
 * u8 0, str code, str reason if refused; else u8 1, str endpoint id,
 * str host, u32 port, str host:port, str address id, str edge id (""
 * for none), the settings (mon_ep_settings), then u8 how: 0 with its
 * listener, 1 a group member (no listener: MON_EDGE_CONN brings its
 * connections), 2 held (neither yet: MON_ENDPOINT_LISTENER with the
 * listener, MON_ENDPOINT_POOL, or MON_ENDPOINT_STOP refusing it follows
 * MON_OPTIONS).
 */
void
mon_forward(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	struct conf *conf = mon->conf;
	struct mon_serve sv;
	struct fwdreq req;
	struct mon_ep *ep = NULL;
	struct ipc_msg ans;
	char *bind_address;
	uint16_t bound = 0;
	uint32_t port32;
	int port, fd = -1, rc, how = 0;

	memset(&ans, 0, sizeof(ans));
	memset(&sv, 0, sizeof(sv));
	sv.code = "internal";
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
		snprintf(sv.reason, sizeof(sv.reason), "%s", req.reason);
		sv.code = req.code;
		goto refuse;
	}
	if (k->end_reason != NULL || k->ended) {
		snprintf(sv.reason, sizeof(sv.reason), "the session is ending");
		sv.code = "limit";
		goto refuse;
	}
	if (k->nlive >= k->max_endpoints) {
		snprintf(sv.reason, sizeof(sv.reason),
		    "this session already has %d forwards "
		    "(MaxEndpointsPerSession)",
		    k->nlive);
		sv.code = "limit";
		goto refuse;
	}
	if (k->nforwards >= MON_FORWARDS_MAX) {
		snprintf(sv.reason, sizeof(sv.reason),
		    "this session has made %d forwards; reconnect to make "
		    "more",
		    k->nforwards);
		sv.code = "limit";
		goto refuse;
	}
	if (rc != 0) {
		sv.code = req.code;
		if (rc != PORTHOLE_ERR_NOT_FOUND ||
		    !mon_elsewhere(mon, k, req.safe, port, sv.reason,
		        sizeof(sv.reason)))
			snprintf(sv.reason, sizeof(sv.reason), "%s",
			    req.reason);
		goto refuse;
	}
	if (req.kind == FWDREQ_FIXED) {
		if (mon_reserved(mon, k, req.host, port, &sv) != 0)
			goto refuse;
		bound = (uint16_t)port;
	} else {
		sv.code = "exhausted";
		if (mon_bind_random(mon, k, req.host, &fd, &bound, sv.reason,
		        sizeof(sv.reason)) != 0)
			goto refuse;
	}
	sv.code = "internal";
	ep = mon_ep_new(req.host, bound, bind_address, sv.a);
	if (sv.a != NULL) {
		mon_plan(mon, k, ep->hostport, &sv);
		if (sv.plan == MON_PLAN_REFUSE)
			goto refuse;
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
		snprintf(sv.reason, sizeof(sv.reason),
		    "internal error (IP policy)");
		goto refuse;
	}
	if (sv.a == NULL) {
		if (mon_ep_record(mon, k, ep, 0, &sv) != 0)
			goto refuse;
	} else if (sv.plan == MON_PLAN_HOLD) {
		ep->held = 1;
		how = 2;
	} else {
		if (mon_serve(mon, k, ep, &sv, &fd) != 0)
			goto refuse;
		how = ep->grp != NULL ? 1 : 0;
	}
	ipc_put_u8(&ans, (uint8_t)how);
	mon_kid_add_ep(k, ep);
	if (ep->held)
		logit("session %s: endpoint %s tcp://%s held until the "
		      "session's options are known (asked '%s' port %d)",
		    k->session_id, ep->id, ep->hostport, req.safe, port);
	else {
		logit("session %s: endpoint %s tcp://%s (asked '%s' port %d)",
		    k->session_id, ep->id, ep->hostport, req.safe, port);
		mon_rec_endpoint(mon, k, ep, 1);
	}
	mon_send(mon, k, &ans, fd); /* the listener is the session's now */
	ep = NULL;
	fd = -1;
	goto out;
refuse:
	if (fd != -1)
		close(fd);
	fd = -1;
	mon_forward_refuse(mon, k, req.safe, port, sv.code, sv.reason);
out:
	mon_ep_free(ep);
	store_address_free(sv.a);
	ipc_msg_free(&ans);
	free(bind_address);
}

/*
 * Decide held endpoint <ep> of <k> now that its options are known: it
 * gets its listener (MON_ENDPOINT_LISTENER), joins the pool
 * (MON_ENDPOINT_POOL), or is refused (MON_ENDPOINT_STOP with why).
 */
static void
mon_resolve(struct mon *mon, struct mon_kid *k, struct mon_ep *ep)
{
	struct mon_serve sv;
	char safe[FWDREQ_ADDR_MAX + 1];
	int fd = -1, r;

	memset(&sv, 0, sizeof(sv));
	sv.code = "internal";
	log_sanitize(safe, sizeof(safe), ep->bind_address);
	if (k->end_reason != NULL || k->ended) {
		snprintf(sv.reason, sizeof(sv.reason), "the session is ending");
		sv.code = "limit";
		goto refuse;
	}
	r = store_address_get(mon->store, ep->address_id, &sv.a);
	if (r != 0 || sv.a->edge_id != NULL || sv.a->account_id == NULL ||
	    strcmp(sv.a->account_id, k->account_id) != 0) {
		if (r == 0 || r == PORTHOLE_ERR_NOT_FOUND) {
			sv.code = "not_reserved";
			snprintf(sv.reason, sizeof(sv.reason),
			    "%s is no longer an address reserved for account "
			    "%s",
			    ep->hostport, k->account_name);
		} else
			snprintf(sv.reason, sizeof(sv.reason),
			    "internal error (store)");
		goto refuse;
	}
	mon_plan(mon, k, ep->hostport, &sv);
	if (sv.plan == MON_PLAN_REFUSE || sv.plan == MON_PLAN_HOLD)
		goto refuse;
	ep->held = 0;
	if (mon_serve(mon, k, ep, &sv, &fd) != 0) {
		ep->held = 1;
		goto refuse;
	}
	logit("session %s: endpoint %s tcp://%s (asked '%s' port %u)",
	    k->session_id, ep->id, ep->hostport, safe, ep->port);
	mon_rec_endpoint(mon, k, ep, 1);
	mon_ep_tell(mon, k,
	    ep->grp != NULL ? MON_ENDPOINT_POOL : MON_ENDPOINT_LISTENER, ep,
	    NULL, fd);
	goto out;
refuse:
	ep->live = 0;
	k->nlive--;
	k->nrefused++;
	mon_rec_count(mon, MON_C_FORWARDS_REFUSED, mon_rec_reason(sv.code), 1);
	if (mon_kid_log_ok(k))
		logit("session %s: forward '%s' port %u refused: %s",
		    k->session_id, safe, ep->port, sv.reason);
	mon_ep_tell(mon, k, MON_ENDPOINT_STOP, ep, sv.reason, -1);
out:
	store_address_free(sv.a);
}

/*
 * MON_OPTIONS (u8 pooling, u8 force): the session's command is known
 * (or it has none); decide its held forwards. The first one counts.
 */
void
mon_options(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	uint8_t pooling = ipc_get_u8(m), force = ipc_get_u8(m);
	size_t i;

	if (!ipc_ok(m, 1) || pooling > 1 || force > 1) {
		mon_violation(mon, k, m->type, "malformed message");
		return;
	}
	if (k->opts_known)
		return;
	k->opts_known = 1;
	k->pooling = pooling;
	k->force = force;
	for (i = 0; i < k->neps; i++) {
		if (k->eps[i]->live && k->eps[i]->held)
			mon_resolve(mon, k, k->eps[i]);
	}
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
	if (ep->lfd != -1)
		close(ep->lfd);
	ep->lfd = -1;
	if (ep->grp != NULL)
		mon_grp_leave(mon, k, ep, 0);
	/* A held endpoint has no row and no event yet. */
	if (!ep->held) {
		mon_rec_endpoint(mon, k, ep, 0);
		/* NOT_FOUND: an administrator ended it already. */
		if ((r = store_endpoint_end(mon->store, ep->id,
		         misc_now_ms())) != 0 &&
		    r != PORTHOLE_ERR_NOT_FOUND)
			error_r(r, "endpoint %s: cannot record its end",
			    ep->id);
	}
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
