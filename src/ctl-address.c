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
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * address: reserved addresses (ops-address.c), as a hosted provider's
 * "TCP addresses", turned from words into ops calls and printed.
 */

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
	json_kv_bool(b, 0, "pooling", a->pooling);
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

/*
 * address reserve ACCOUNT [--host HOST] [--description TEXT]
 * [--metadata TEXT]: reserve a random free port on a PublicHost (the
 * first unless --host) and print it as host:port.
 */
int
ctl_address_reserve(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_address *a = NULL;
	struct ops_err err;
	char *hostport = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	r = ops_address_reserve(ctl_ops(ctl), args->account, args->host,
	    args->description, args->metadata, &a, &err);
	if (r != 0)
		ctl_report(&err);
	/* Reserved: it is printed even if its event fails. */
	if (a == NULL)
		goto out;
	if (ctl->json)
		ctl_address_json_line(a);
	else {
		hostport = ctl_hostport(a->host, a->port);
		ctl_printf("%s\n", hostport);
	}
out:
	free(hostport);
	store_address_free(a);
	return r;
}

/* address list [ACCOUNT]: the reserved addresses, deleted ones not. */
int
ctl_address_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_address **list = NULL, *a;
	struct ctl_table *t = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN], *hostport = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_address_list(ctl_ops(ctl), args->account, NULL, &list, &n,
	         &more, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (!ctl->json)
		t = ctl_table_new("ID", "ADDRESS", "ACCOUNT", "EDGE",
		    "ENDPOINT", "NODE", "REGION", "PROXY", "POOLING",
		    "IP-POLICY", "CREATED", "DESCRIPTION", NULL);
	for (i = 0; i < n; i++) {
		a = list[i];
		if (ctl->json) {
			ctl_address_json_line(a);
			continue;
		}
		hostport = ctl_hostport(a->host, a->port);
		ctl_table_add(t, a->id, hostport, a->account_name, a->edge_id,
		    a->endpoint_id, ctl_cell(a->node), ctl_cell(a->region),
		    ctl_address_proxy(a->proxy_proto, NULL),
		    a->pooling ? "on" : NULL, a->ip_policy_name,
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
	return r;
}

/* address show ADDR: every field of one reserved address. */
int
ctl_address_show(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_address *a = NULL;
	struct ctl_table *t = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN], *hostport = NULL, *url = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_address_get(ctl_ops(ctl), args->address, &a, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
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
	ctl_table_add(t, "Pooling", a->pooling ? "on" : "off");
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
 * [--ip-policy POLICY|none] [--proxy-proto 0|1|2] [--pooling on|off]:
 * change what is
 * given; the parser made sure something is.
 */
int
ctl_address_update(struct ctl *ctl, const struct ctl_args *args)
{
	struct ops_address_update u;
	struct store_address *a = NULL;
	struct ops_err err;
	char *hostport = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&u, 0, sizeof(u));
	u.description = args->description;
	u.metadata = args->metadata;
	u.ip_policy = args->ip_policy;
	u.proxy_proto = args->proxy_proto;
	u.pooling = args->pooling;
	if ((r = ops_address_update(ctl_ops(ctl), args->address, &u, &a,
	         &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_address_json_line(a);
	else {
		hostport = ctl_hostport(a->host, a->port);
		ctl_printf("updated address %s (%s)\n", hostport, a->id);
	}
out:
	free(hostport);
	store_address_free(a);
	return r;
}

/*
 * address delete ADDR: retire a reserved address for good; its port is
 * never handed out again. An endpoint serving it is stopped.
 */
int
ctl_address_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_address *a = NULL;
	struct ops_err err;
	char *hostport = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	r = ops_address_delete(ctl_ops(ctl), args->address, &a, &err);
	if (r != 0)
		ctl_report(&err);
	/* Deleted: it is printed even if its event fails. */
	if (a == NULL)
		goto out;
	if (ctl->json)
		ctl_address_json_line(a);
	else {
		hostport = ctl_hostport(a->host, a->port);
		ctl_printf("deleted address %s (%s)\n", hostport, a->id);
	}
out:
	free(hostport);
	store_address_free(a);
	return r;
}
