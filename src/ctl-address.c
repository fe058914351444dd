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
#include "ctl.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "pool.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Reserved addresses, as a hosted provider's "TCP addresses": a port
 * drawn at random from PortRange on one PublicHost, fixed for life, and
 * never handed out again once deleted (the store keeps a tombstone).
 */

/*
 * The PublicHost that <host> names, compared case-insensitively (an IPv6
 * host may come in brackets), as configured; NULL if it names none. The
 * result is borrowed from <conf>.
 */
static const char *
ctl_address_public_host(const struct conf *conf, const char *host)
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

/*
 * Find the reserved address <addr>, an id ("ra_…") or HOST:PORT, into
 * *ap, reporting on stderr why not. A HOST that names a PublicHost in
 * another case or with brackets is taken as that PublicHost.
 */
int
ctl_address_lookup(struct ctl *ctl, const char *addr, struct store_address **ap)
{
	const char *canon;
	char *host = NULL;
	uint16_t port = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	*ap = NULL;
	if (strncmp(addr, "ra_", 3) == 0)
		r = store_address_get(ctl->store, addr, ap);
	else if (net_split_hostport(addr, -1, &host, &port) != 0 || port == 0) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		error("'%.100s' is not an address: give its id (ra_...) or "
		      "HOST:PORT",
		    addr);
		goto out;
	} else {
		/* A host no longer configured still finds its addresses. */
		if ((canon = ctl_address_public_host(ctl->conf, host)) == NULL)
			canon = host;
		r = store_address_find(ctl->store, canon, port, ap);
	}
	if (r == PORTHOLE_ERR_NOT_FOUND)
		error("no such address '%.100s'", addr);
	else if (r != 0)
		error_r(r, "address '%.100s'", addr);
out:
	free(host);
	return r;
}

/* Print address <a> as one JSON line. */
static void
ctl_address_json_line(const struct store_address *a)
{
	struct buf *b = buf_new();
	char when[CTL_TIME_LEN], *hostport, *url = NULL;

	hostport = ctl_hostport(a->host, a->port);
	xasprintf(&url, "tcp://%s", hostport);
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", a->id);
	json_kv_str(b, 0, "hostport", hostport);
	json_kv_str(b, 0, "url", url);
	json_kv_str(b, 0, "host", a->host);
	json_kv_int(b, 0, "port", a->port);
	json_kv_str(b, 0, "account", a->account_name);
	json_kv_str(b, 0, "account_id", a->account_id);
	json_kv_str(b, 0, "edge_id", a->edge_id);
	json_kv_str(b, 0, "description", a->description);
	json_kv_str(b, 0, "metadata", a->metadata);
	json_kv_str(b, 0, "endpoint_id", a->endpoint_id);
	json_kv_int(b, 0, "proxy_proto", a->proxy_proto);
	json_kv_str(b, 0, "ip_policy", a->ip_policy_name);
	json_kv_str(b, 0, "ip_policy_id", a->ip_policy_id);
	json_kv_str(b, 0, "node", ctl_cell(a->node));
	json_kv_str(b, 0, "region", ctl_cell(a->region));
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(a->created_ms, when, sizeof(when)));
	if (a->deleted_ms != 0)
		json_kv_str(b, 0, "deleted_at",
		    misc_rfc3339(a->deleted_ms, when, sizeof(when)));
	buf_putc(b, '}');
	ctl_json_line(b);
	buf_free(b);
	free(hostport);
	free(url);
}

/*
 * Record event <type> (tcp_address_*.v0) for address <a> at <now_ms>,
 * in the store and EventLog. Its object: id, url, host, port,
 * description, metadata, proxy_proto, and ip_policy (the name, null if
 * none) with ip_policy_id, as the JSON listing has them. Reports what
 * failed; returns 0 or a negative PORTHOLE_ERR_*.
 */
int
ctl_address_event(struct ctl *ctl, const char *type,
    const struct store_address *a, int64_t now_ms)
{
	struct event *ev = NULL;
	struct buf *b = buf_new();
	char *hostport, *url = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	hostport = ctl_hostport(a->host, a->port);
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
	buf_putc(b, '}');
	ev = event_new(type, a->account_id, buf_str(b), now_ms);
	if ((r = ctl_event_record(ctl, ev)) != 0)
		error("address %s: its change is made, but event %s is not "
		      "recorded",
		    a->id, type);
	event_free(ev);
	buf_free(b);
	free(hostport);
	free(url);
	return r;
}

/* Predicate: strings <x> and <y> differ, NULL being a value of its own. */
static int
ctl_address_str_differs(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x != y;
	return strcmp(x, y) != 0;
}

/* Predicate: an update made address <after> differ from <before>. */
static int
ctl_address_differs(const struct store_address *before,
    const struct store_address *after)
{
	return ctl_address_str_differs(before->description,
	           after->description) ||
	    ctl_address_str_differs(before->metadata, after->metadata) ||
	    ctl_address_str_differs(before->ip_policy_id,
	        after->ip_policy_id) ||
	    before->proxy_proto != after->proxy_proto;
}

/*
 * The PROXY protocol of an address for a table: "v1", "v2", or <none>
 * for 0.
 */
const char *
ctl_address_proxy(int version, const char *none)
{
	switch (version) {
	case 1:
		return "v1";
	case 2:
		return "v2";
	default:
		return none;
	}
}

/* What ctl_address_try needs to take a port for a new reservation. */
struct ctl_reserve {
	struct ctl *ctl;
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
ctl_address_try(uint16_t port, void *arg)
{
	struct ctl_reserve *res = arg;
	struct conf *conf = res->ctl->conf;
	size_t i;
	int used = 0, fd = -1, r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_address_port_used(res->ctl->store, port, &used)) != 0) {
		error_r(r, "port %u", port);
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
			error("cannot bind TunnelAddress %s port %u: %s",
			    conf->tunnel_address, port, porthole_strerror(r));
		goto out;
	}
	close(fd);
	r = store_address_add(res->ctl->store, res->account_id, res->host, port,
	    res->description, res->metadata, res->now_ms, &res->address);
	/* _EXISTS: taken meanwhile by another reserve; the walk goes on. */
	if (r != 0 && r != PORTHOLE_ERR_EXISTS)
		error_r(r, "reserve %s port %u", res->host, port);
out:
	return r;
}

int
ctl_address_new(struct ctl *ctl, const char *account_id, const char *host,
    const char *description, const char *metadata, int64_t now_ms,
    struct store_address **ap)
{
	struct conf *conf = ctl->conf;
	struct ctl_reserve res;
	struct pool *pool = NULL;
	struct buf *hosts = NULL;
	uint16_t port = 0;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	*ap = NULL;
	memset(&res, 0, sizeof(res));
	res.host = conf->public_hosts[0];
	if (host != NULL &&
	    (res.host = ctl_address_public_host(conf, host)) == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		hosts = buf_new();
		for (i = 0; i < conf->npublic_hosts; i++)
			buf_printf(hosts, "%s%s", i == 0 ? "" : ", ",
			    conf->public_hosts[i]);
		error("host '%.100s' is not a PublicHost of this server; use "
		      "one of: %s",
		    host, buf_str(hosts));
		goto out;
	}
	if ((pool = pool_new(conf->port_low, conf->port_high)) == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		error("PortRange %u-%u is empty", conf->port_low,
		    conf->port_high);
		goto out;
	}
	if ((r = store_endpoint_list(ctl->store, &res.endpoints,
	         &res.nendpoints)) != 0) {
		error_r(r, "list endpoints");
		goto out;
	}
	res.ctl = ctl;
	res.account_id = account_id;
	res.description = description;
	res.metadata = metadata;
	res.now_ms = now_ms;
	if ((r = pool_pick(pool, ctl_address_try, &res, &port)) != 0) {
		if (r == PORTHOLE_ERR_EXHAUSTED)
			error("no port left to reserve in PortRange %u-%u: "
			      "every port is reserved, was once, or is in use",
			    conf->port_low, conf->port_high);
		/* Any other code was reported by ctl_address_try. */
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

/*
 * address reserve ACCOUNT [--host HOST] [--description TEXT]
 * [--metadata TEXT]: reserve a random free port on a PublicHost (the
 * first unless --host) and print it as host:port.
 */
int
ctl_address_reserve(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *acct = NULL;
	struct store_address *a = NULL;
	char *hostport = NULL;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ctl_account_lookup(ctl, args->account, &acct)) != 0)
		goto out;
	now = misc_now_ms();
	if ((r = ctl_address_new(ctl, acct->id, args->host, args->description,
	         args->metadata, now, &a)) != 0)
		goto out;
	/* Reserved: it is printed even if its event fails. */
	r = ctl_address_event(ctl, EVENT_ADDRESS_CREATED, a, now);
	if (ctl->json)
		ctl_address_json_line(a);
	else {
		hostport = ctl_hostport(a->host, a->port);
		ctl_printf("%s\n", hostport);
	}
out:
	free(hostport);
	store_address_free(a);
	store_account_free(acct);
	return r;
}

/* address list [ACCOUNT]: the reserved addresses, deleted ones not. */
int
ctl_address_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *acct = NULL;
	struct store_address **list = NULL, *a;
	struct ctl_table *t = NULL;
	char when[CTL_TIME_LEN], *hostport = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (args->account != NULL &&
	    (r = ctl_account_lookup(ctl, args->account, &acct)) != 0)
		goto out;
	if ((r = store_address_list(ctl->store, acct == NULL ? NULL : acct->id,
	         &list, &n)) != 0) {
		error_r(r, "list addresses");
		goto out;
	}
	if (!ctl->json)
		t = ctl_table_new("ID", "ADDRESS", "ACCOUNT", "EDGE",
		    "ENDPOINT", "NODE", "REGION", "PROXY", "IP-POLICY",
		    "CREATED", "DESCRIPTION", NULL);
	for (i = 0; i < n; i++) {
		a = list[i];
		if (ctl->json) {
			ctl_address_json_line(a);
			continue;
		}
		hostport = ctl_hostport(a->host, a->port);
		ctl_table_add(t, a->id, hostport, a->account_name, a->edge_id,
		    a->endpoint_id, ctl_cell(a->node), ctl_cell(a->region),
		    ctl_address_proxy(a->proxy_proto, NULL), a->ip_policy_name,
		    ctl_time(a->created_ms, when, sizeof(when)),
		    ctl_cell(a->description));
		free(hostport);
		hostport = NULL;
	}
	if (t != NULL)
		ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	store_address_list_free(list, n);
	store_account_free(acct);
	return r;
}

/* address show ADDR: every field of one reserved address. */
int
ctl_address_show(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_address *a = NULL;
	struct ctl_table *t = NULL;
	char when[CTL_TIME_LEN], *hostport = NULL, *url = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ctl_address_lookup(ctl, args->address, &a)) != 0)
		goto out;
	if (ctl->json) {
		ctl_address_json_line(a);
		r = 0;
		goto out;
	}
	hostport = ctl_hostport(a->host, a->port);
	xasprintf(&url, "tcp://%s", hostport);
	/* A label/value list: the first pair takes the header's place. */
	t = ctl_table_new("ID", a->id, NULL);
	ctl_table_add(t, "Address", hostport);
	ctl_table_add(t, "URL", url);
	ctl_table_add(t, "Account", a->account_name);
	ctl_table_add(t, "Edge", a->edge_id);
	ctl_table_add(t, "Description", ctl_cell(a->description));
	ctl_table_add(t, "Metadata", ctl_cell(a->metadata));
	ctl_table_add(t, "Endpoint", a->endpoint_id);
	ctl_table_add(t, "Node", ctl_cell(a->node));
	ctl_table_add(t, "Region", ctl_cell(a->region));
	ctl_table_add(t, "PROXY protocol",
	    ctl_address_proxy(a->proxy_proto, "none"));
	ctl_table_add(t, "IP policy", a->ip_policy_name);
	ctl_table_add(t, "Created",
	    ctl_time(a->created_ms, when, sizeof(when)));
	ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	free(hostport);
	free(url);
	store_address_free(a);
	return r;
}

/*
 * address update ADDR [--description TEXT] [--metadata TEXT]
 * [--ip-policy POLICY|none] [--proxy-proto 0|1|2]: change what is
 * given; the parser made sure something is. Traffic policy changes are
 * sent to the live sessions at once.
 */
int
ctl_address_update(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_address *a = NULL, *after = NULL;
	struct store_ip_policy *p = NULL;
	char *hostport = NULL;
	int r = PORTHOLE_ERR_INTERNAL, r2, changed = 0;

	if ((r = ctl_address_lookup(ctl, args->address, &a)) != 0)
		goto out;
	/* An unknown policy changes nothing, not even the description. */
	if (args->ip_policy != NULL &&
	    strcmp(args->ip_policy, CTL_IP_POLICY_NONE) != 0 &&
	    (r = ctl_policy_lookup(ctl, args->ip_policy, &p)) != 0)
		goto out;
	if ((args->description != NULL || args->metadata != NULL) &&
	    (r = store_address_update(ctl->store, a->id, args->description,
	         args->metadata)) != 0) {
		error_r(r, "update address %s", a->id);
		goto out;
	}
	if (args->ip_policy != NULL) {
		r = store_address_set_ip_policy(ctl->store, a->id,
		    p == NULL ? NULL : p->id);
		if (r != 0)
			error_r(r, "address %s: set ip-policy", a->id);
		else
			changed = 1;
	}
	if (r == 0 && args->proxy_proto != -1) {
		r = store_address_set_proxy_proto(ctl->store, a->id,
		    args->proxy_proto);
		if (r != 0)
			error_r(r, "address %s: set PROXY protocol", a->id);
		else
			changed = 1;
	}
	/* Even after a failure here: what did change must reach them. */
	if (changed)
		ctl_signal_reload(ctl);
	/* Likewise the event: one if anything changed, and only then. */
	if ((r2 = store_address_get(ctl->store, a->id, &after)) != 0) {
		error_r(r2, "address %s", a->id);
		if (r == 0)
			r = r2;
		goto out;
	}
	if (ctl_address_differs(a, after) &&
	    (r2 = ctl_address_event(ctl, EVENT_ADDRESS_UPDATED, after,
	         misc_now_ms())) != 0 &&
	    r == 0)
		r = r2;
	if (r != 0)
		goto out;
	if (ctl->json)
		ctl_address_json_line(after);
	else {
		hostport = ctl_hostport(after->host, after->port);
		ctl_printf("updated address %s (%s)\n", hostport, after->id);
	}
	r = 0;
out:
	free(hostport);
	store_ip_policy_free(p);
	store_address_free(a);
	store_address_free(after);
	return r;
}

/*
 * address delete ADDR: retire a reserved address for good; its port is
 * never handed out again. An endpoint serving it is stopped: its
 * session is told (ctl_signal_sessions) and closes that listener
 * (connections already relayed go on). An edge's address may have
 * several members serving it, so then every session is told.
 */
/* Tell the session serving endpoint <id> to look at its addresses. */
static void
ctl_address_stop_endpoint(struct ctl *ctl, const char *id)
{
	struct store_endpoint **eps = NULL;
	struct store_session *sess = NULL;
	size_t i, n = 0;
	int64_t pid;

	if (store_endpoint_list(ctl->store, &eps, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (strcmp(eps[i]->id, id) == 0)
			break;
	}
	if (i < n &&
	    store_session_get(ctl->store, eps[i]->session_id, &sess) == 0 &&
	    sess->ended_ms == 0) {
		pid = sess->pid;
		ctl_signal_sessions(ctl, &pid, 1);
	}
	store_session_free(sess);
	store_endpoint_list_free(eps, n);
}

int
ctl_address_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_address *a = NULL;
	char *hostport = NULL;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ctl_address_lookup(ctl, args->address, &a)) != 0)
		goto out;
	now = misc_now_ms();
	if ((r = store_address_delete(ctl->store, a->id, now)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			error("no such address '%.100s'", args->address);
		else
			error_r(r, "delete address %s", a->id);
		goto out;
	}
	hostport = ctl_hostport(a->host, a->port);
	/* An edge's address may be served by several members. */
	if (a->edge_id != NULL)
		ctl_signal_reload(ctl);
	else if (a->endpoint_id != NULL)
		ctl_address_stop_endpoint(ctl, a->endpoint_id);
	a->deleted_ms = now;
	/* Deleted: it is printed even if its event fails. */
	r = ctl_address_event(ctl, EVENT_ADDRESS_DELETED, a, now);
	if (ctl->json)
		ctl_address_json_line(a);
	else
		ctl_printf("deleted address %s (%s)\n", hostport, a->id);
out:
	free(hostport);
	store_address_free(a);
	return r;
}
