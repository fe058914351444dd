/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctl.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Edges, as a hosted provider's "TCP edges": one or more reserved
 * addresses served by a group of sessions of the edge's backend
 * accounts, which portholed balances connections over, with an IP
 * policy and a PROXY setting of the edge's own. A plain session cannot
 * serve an edge's address. Every change here that a live session could
 * see (its addresses, backends, policy or PROXY setting) is made known
 * to the sessions (ctl_signal_reload: a notification on PostgreSQL,
 * SIGUSR1 on SQLite), which makes them re-read their settings.
 *
 * An address reserved by edge create belongs to no account: when its
 * edge is deleted it is retired for good, as address delete retires
 * one. An account's address put on an edge goes back to its account.
 */

/* "tcp://host:port" of address <a>; the caller frees it. */
static char *
ctl_edge_url(const struct store_address *a)
{
	char *hostport, *url = NULL;

	hostport = ctl_hostport(a->host, a->port);
	xasprintf(&url, "tcp://%s", hostport);
	free(hostport);
	return url;
}

/* The account that owns address <a>, by name if known. */
static const char *
ctl_edge_owner(const struct store_address *a)
{
	return a->account_name != NULL ? a->account_name : a->account_id;
}

/* The account a member endpoint runs under, by name if known. */
static const char *
ctl_edge_member_account(const struct store_endpoint *m)
{
	return m->account_name != NULL ? m->account_name : m->account_id;
}

/*
 * Append edge <e> to <b> as a JSON object, without its closing brace,
 * so that a caller may add members of its own.
 */
static void
ctl_edge_json_open(struct buf *b, const struct store_edge *e)
{
	const struct store_endpoint *m;
	char when[CTL_TIME_LEN], *url;
	size_t i;

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", e->id);
	json_kv_str(b, 0, "description", e->description);
	buf_puts(b, ",\"addresses\":[");
	for (i = 0; i < e->naddresses; i++) {
		url = ctl_edge_url(e->addresses[i]);
		buf_puts(b, i == 0 ? "{" : ",{");
		json_kv_str(b, 1, "id", e->addresses[i]->id);
		json_kv_str(b, 0, "url", url);
		buf_putc(b, '}');
		free(url);
	}
	buf_puts(b, "],\"backends\":[");
	for (i = 0; i < e->nbackends; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_str(b, e->backends[i]->name);
	}
	buf_puts(b, "],\"members\":[");
	for (i = 0; i < e->nmembers; i++) {
		m = e->members[i];
		buf_puts(b, i == 0 ? "{" : ",{");
		json_kv_str(b, 1, "endpoint_id", m->id);
		json_kv_str(b, 0, "session_id", m->session_id);
		json_kv_str(b, 0, "account", ctl_edge_member_account(m));
		json_kv_int(b, 0, "connections_open", m->conns_open);
		json_kv_int(b, 0, "connections_total", m->conns_total);
		json_kv_int(b, 0, "bytes_in", m->bytes_in);
		json_kv_int(b, 0, "bytes_out", m->bytes_out);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
	json_kv_str(b, 0, "ip_policy", e->ip_policy_name);
	json_kv_str(b, 0, "ip_policy_id", e->ip_policy_id);
	json_kv_int(b, 0, "proxy_proto", e->proxy_proto);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(e->created_ms, when, sizeof(when)));
}

/* Print edge <e> as one JSON line. */
static void
ctl_edge_json_line(const struct store_edge *e)
{
	struct buf *b = buf_new();

	ctl_edge_json_open(b, e);
	buf_putc(b, '}');
	ctl_json_line(b);
	buf_free(b);
}

/*
 * edge create [--description TEXT] [--address ADDR]...: a new edge on
 * the addresses given, which must be on no edge yet; with none, on a
 * new address reserved for it, owned by no account. All or nothing.
 */
int
ctl_edge_create(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_edge *e = NULL;
	struct buf *urls = NULL;
	struct ops_err err;
	char *url = NULL;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	r = ops_edge_create(ctl_ops(ctl), args->description, NULL,
	    args->addresses, args->naddresses, NULL, &e, &err);
	if (r != 0)
		ctl_report(&err);
	/* Created: printed even if the new address's event failed. */
	if (e == NULL)
		goto out;
	if (ctl->json)
		ctl_edge_json_line(e);
	else {
		urls = buf_new();
		for (i = 0; i < e->naddresses; i++) {
			url = ctl_edge_url(e->addresses[i]);
			buf_printf(urls, " %s", url);
			free(url);
		}
		ctl_printf("created edge %s%s\n", e->id, buf_str(urls));
	}
out:
	buf_free(urls);
	store_edge_free(e);
	return r;
}

/* The host:port of each address of <e>, "a:1,b:2", into <b>. */
static void
ctl_edge_hostports(const struct store_edge *e, struct buf *b)
{
	char *hostport;
	size_t i;

	for (i = 0; i < e->naddresses; i++) {
		hostport =
		    ctl_hostport(e->addresses[i]->host, e->addresses[i]->port);
		buf_printf(b, "%s%s", i == 0 ? "" : ",", hostport);
		free(hostport);
	}
}

/* The names of the backends of <e>, "alice,bob", into <b>. */
static void
ctl_edge_backend_names(const struct store_edge *e, struct buf *b)
{
	size_t i;

	for (i = 0; i < e->nbackends; i++)
		buf_printf(b, "%s%s", i == 0 ? "" : ",", e->backends[i]->name);
}

/* edge list: every edge, with its addresses, backends and live members. */
int
ctl_edge_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_edge **list = NULL, *e;
	struct ctl_table *t = NULL;
	struct buf *addrs = NULL, *backends = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN], nmembers[24];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_edge_list(ctl_ops(ctl), NULL, &list, &n, &more, &err)) !=
	    0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		for (i = 0; i < n; i++)
			ctl_edge_json_line(list[i]);
		r = 0;
		goto out;
	}
	addrs = buf_new();
	backends = buf_new();
	t = ctl_table_new("ID", "ADDRESSES", "BACKENDS", "MEMBERS", "IP-POLICY",
	    "PROXY", "CREATED", "DESCRIPTION", NULL);
	for (i = 0; i < n; i++) {
		e = list[i];
		buf_reset(addrs);
		buf_reset(backends);
		ctl_edge_hostports(e, addrs);
		ctl_edge_backend_names(e, backends);
		snprintf(nmembers, sizeof(nmembers), "%zu", e->nmembers);
		ctl_table_add(t, e->id, ctl_cell(buf_str(addrs)),
		    ctl_cell(buf_str(backends)), nmembers, e->ip_policy_name,
		    ctl_address_proxy(e->proxy_proto, NULL),
		    ctl_time(e->created_ms, when, sizeof(when)),
		    ctl_cell(e->description));
	}
	ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	buf_free(addrs);
	buf_free(backends);
	store_edge_list_free(list, n);
	return r;
}

/*
 * edge show EDGE: every field of one edge, its addresses and backends
 * one per line, then a table of its live members with their counters.
 */
int
ctl_edge_show(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_edge *e = NULL;
	const struct store_endpoint *m;
	struct ctl_table *t = NULL, *mt = NULL;
	char when[CTL_TIME_LEN], nmembers[24], *url = NULL, *line = NULL;
	char nopen[24], ntotal[24], nin[24], nout[24];
	struct ops_err err;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_edge_get(ctl_ops(ctl), args->edge, &e, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		ctl_edge_json_line(e);
		r = 0;
		goto out;
	}
	/* A label/value list: the first pair takes the header's place. */
	t = ctl_table_new("ID", e->id, NULL);
	ctl_table_add(t, "Description", ctl_cell(e->description));
	if (e->naddresses == 0)
		ctl_table_add(t, "Addresses", NULL);
	for (i = 0; i < e->naddresses; i++) {
		url = ctl_edge_url(e->addresses[i]);
		xasprintf(&line, "%s (%s)", url, e->addresses[i]->id);
		ctl_table_add(t, i == 0 ? "Addresses" : "", line);
		free(url);
		free(line);
		url = line = NULL;
	}
	if (e->nbackends == 0)
		ctl_table_add(t, "Backends", NULL);
	for (i = 0; i < e->nbackends; i++)
		ctl_table_add(t, i == 0 ? "Backends" : "",
		    e->backends[i]->name);
	ctl_table_add(t, "IP policy", e->ip_policy_name);
	ctl_table_add(t, "PROXY protocol",
	    ctl_address_proxy(e->proxy_proto, "none"));
	ctl_table_add(t, "Created",
	    ctl_time(e->created_ms, when, sizeof(when)));
	snprintf(nmembers, sizeof(nmembers), "%zu", e->nmembers);
	ctl_table_add(t, "Members", nmembers);
	ctl_table_print(t);
	if (e->nmembers > 0) {
		mt = ctl_table_new("ENDPOINT", "SESSION", "ACCOUNT", "OPEN",
		    "TOTAL", "BYTES-IN", "BYTES-OUT", NULL);
		for (i = 0; i < e->nmembers; i++) {
			m = e->members[i];
			snprintf(nopen, sizeof(nopen), "%lld",
			    (long long)m->conns_open);
			snprintf(ntotal, sizeof(ntotal), "%lld",
			    (long long)m->conns_total);
			snprintf(nin, sizeof(nin), "%lld",
			    (long long)m->bytes_in);
			snprintf(nout, sizeof(nout), "%lld",
			    (long long)m->bytes_out);
			ctl_table_add(mt, m->id, m->session_id,
			    ctl_edge_member_account(m), nopen, ntotal, nin,
			    nout);
		}
		printf("\n");
		ctl_table_print(mt);
	}
	r = 0;
out:
	ctl_table_free(t);
	ctl_table_free(mt);
	store_edge_free(e);
	return r;
}

/*
 * Append the member "<key>":[{"id","url"},...] to <b>: the addresses of
 * <list> owned by no account if <retired>, else the others, with their
 * account.
 */
static void
ctl_edge_json_addresses(struct buf *b, const char *key,
    struct store_address *const *list, size_t n, int retired)
{
	char *url;
	size_t i, k = 0;

	buf_putc(b, ',');
	json_str(b, key);
	buf_puts(b, ":[");
	for (i = 0; i < n; i++) {
		if ((list[i]->account_id == NULL) != retired)
			continue;
		url = ctl_edge_url(list[i]);
		buf_puts(b, k++ == 0 ? "{" : ",{");
		json_kv_str(b, 1, "id", list[i]->id);
		json_kv_str(b, 0, "url", url);
		if (!retired) {
			json_kv_str(b, 0, "account", list[i]->account_name);
			json_kv_str(b, 0, "account_id", list[i]->account_id);
		}
		buf_putc(b, '}');
		free(url);
	}
	buf_putc(b, ']');
}

/*
 * edge delete EDGE: its addresses leave it. Those it reserved, owned by
 * no account, are retired for good (tcp_address_deleted.v0); the
 * others go back to their accounts. Its members stop serving it.
 */
int
ctl_edge_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_edge *e = NULL;
	struct store_address *a;
	struct buf *b = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN], *hostport = NULL;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	r = ops_edge_delete(ctl_ops(ctl), args->edge, &e, &err);
	if (r != 0)
		ctl_report(&err);
	/* Deleted: it is printed even if an event fails. */
	if (e == NULL)
		goto out;
	if (ctl->json) {
		b = buf_new();
		ctl_edge_json_open(b, e);
		json_kv_str(b, 0, "deleted_at",
		    misc_rfc3339(misc_now_ms(), when, sizeof(when)));
		ctl_edge_json_addresses(b, "retired", e->addresses,
		    e->naddresses, 1);
		ctl_edge_json_addresses(b, "returned", e->addresses,
		    e->naddresses, 0);
		buf_putc(b, '}');
		ctl_json_line(b);
	} else {
		ctl_printf("deleted edge %s\n", e->id);
		for (i = 0; i < e->naddresses; i++) {
			a = e->addresses[i];
			hostport = ctl_hostport(a->host, a->port);
			if (a->account_id == NULL)
				ctl_printf("retired address %s (%s) for good\n",
				    hostport, a->id);
			else
				ctl_printf("returned address %s (%s) to "
				           "account %s\n",
				    hostport, a->id, ctl_edge_owner(a));
			free(hostport);
			hostport = NULL;
		}
	}
out:
	buf_free(b);
	free(hostport);
	store_edge_free(e);
	return r;
}

/*
 * edge address add|remove EDGE ADDR (<add> 1 or 0): put an address on
 * the edge, one on no edge yet, or take it off. Either way the sessions
 * that served it are told.
 */
static int
ctl_edge_address(struct ctl *ctl, const struct ctl_args *args, int add)
{
	struct store_edge *e = NULL;
	struct store_address *a = NULL;
	struct ops_err err;
	char *hostport = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (add)
		r = ops_edge_address_add(ctl_ops(ctl), args->edge,
		    args->address, &e, &err);
	else
		r = ops_edge_address_remove(ctl_ops(ctl), args->edge,
		    args->address, &e, &err);
	/* The address as it is now, for the report. */
	if (r == 0)
		r = ops_address_get(ctl_ops(ctl), args->address, &a, &err);
	if (r != 0) {
		ctl_report(&err);
		goto out;
	}
	hostport = ctl_hostport(a->host, a->port);
	if (ctl->json)
		ctl_edge_json_line(e);
	else if (add)
		ctl_printf("added address %s (%s) to edge %s\n", hostport,
		    a->id, e->id);
	else if (a->account_id != NULL)
		ctl_printf("removed address %s (%s) from edge %s; back to "
		           "account %s\n",
		    hostport, a->id, e->id, ctl_edge_owner(a));
	else
		ctl_printf("removed address %s (%s) from edge %s; it has no "
		           "account: put it on an edge, or retire it with "
		           "'address delete'\n",
		    hostport, a->id, e->id);
out:
	free(hostport);
	store_address_free(a);
	store_edge_free(e);
	return r;
}

/* edge address add EDGE ADDR. */
int
ctl_edge_address_add(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_edge_address(ctl, args, 1);
}

/* edge address remove EDGE ADDR. */
int
ctl_edge_address_remove(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_edge_address(ctl, args, 0);
}

/*
 * edge backend add|remove EDGE ACCOUNT (<add> 1 or 0): let the
 * account's sessions serve the edge, or no longer.
 */
static int
ctl_edge_backend(struct ctl *ctl, const struct ctl_args *args, int add)
{
	struct store_edge *e = NULL;
	struct store_account *acct = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if (add)
		r = ops_edge_backend_add(ctl_ops(ctl), args->edge,
		    args->account, &e, &err);
	else
		r = ops_edge_backend_remove(ctl_ops(ctl), args->edge,
		    args->account, &e, &err);
	/* The account's name, for the report. */
	if (r == 0)
		r = ops_account_get(ctl_ops(ctl), args->account, &acct, &err);
	if (r != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_edge_json_line(e);
	else if (add)
		ctl_printf("added backend %s to edge %s\n", acct->name, e->id);
	else
		ctl_printf("removed backend %s from edge %s\n", acct->name,
		    e->id);
out:
	store_account_free(acct);
	store_edge_free(e);
	return r;
}

/* edge backend add EDGE ACCOUNT. */
int
ctl_edge_backend_add(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_edge_backend(ctl, args, 1);
}

/* edge backend remove EDGE ACCOUNT. */
int
ctl_edge_backend_remove(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_edge_backend(ctl, args, 0);
}

/*
 * edge update EDGE [--description TEXT] [--ip-policy POLICY|none]
 * [--proxy-proto 0|1|2]: change what is given; the parser made sure
 * something is.
 */
int
ctl_edge_update(struct ctl *ctl, const struct ctl_args *args)
{
	struct ops_edge_update u;
	struct store_edge *e = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&u, 0, sizeof(u));
	u.description = args->description;
	u.ip_policy = args->ip_policy;
	u.proxy_proto = args->proxy_proto;
	if ((r = ops_edge_update(ctl_ops(ctl), args->edge, &u, &e, &err)) !=
	    0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_edge_json_line(e);
	else
		ctl_printf("updated edge %s\n", e->id);
out:
	store_edge_free(e);
	return r;
}
