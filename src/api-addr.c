/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api-int.h"

#include "buf.h"
#include "conf.h"
#include "json.h"
#include "ops.h"
#include "store.h"

/*
 * /reserved_addrs: a hosted provider's TCP addresses. Every action is
 * an ops-address.c call; this file reads JSON and writes JSON.
 */

/* Append reserved address <a> as a JSON object. */
void
api_addr_json(struct buf *b, struct api_req *rq, struct ops *o, const void *obj)
{
	const struct store_address *a = obj;
	const char *region = a->region;
	char addr[300];

	if (strchr(a->host, ':') != NULL)
		snprintf(addr, sizeof(addr), "[%s]:%d", a->host, a->port);
	else
		snprintf(addr, sizeof(addr), "%s:%d", a->host, a->port);
	if (region == NULL || region[0] == '\0')
		region = rq->api->conf->region;
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", a->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/reserved_addrs/%s", a->id);
	api_time(b, "created_at", a->created_ms);
	api_text(b, "description", a->description);
	api_text(b, "metadata", a->metadata);
	json_kv_str(b, 0, "addr", addr);
	api_text(b, "region", region);
	api_account_ref(b, "account", a->account_id, a->account_name);
	json_kv_int(b, 0, "proxy_proto", a->proxy_proto);
	json_kv_bool(b, 0, "pooling", a->pooling);
	api_ref(b, rq, "ip_policy", "ip_policies", a->ip_policy_id);
	api_ref(b, rq, "endpoint", "endpoints", a->endpoint_id);
	api_ref(b, rq, "edge", "edges/tcp", a->edge_id);
	buf_putc(b, '}');
}

/* Answer with address <a> (status <status>). */
void
api_addr_create(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata",
		"region", "account", "host", NULL };
	struct store_address *a = NULL;
	const char *desc, *meta, *region, *account, *host;
	struct ops_err err;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 ||
	    api_str(rq, body, "region", &region) != 0 ||
	    api_str(rq, body, "account", &account) != 0 ||
	    api_str(rq, body, "host", &host) != 0 || api_ops(rq, &o) != 0)
		goto out;
	/* One node serves one region: another is not ours to give. */
	if (region != NULL && region[0] != '\0' &&
	    (rq->api->conf->region == NULL ||
	        strcmp(region, rq->api->conf->region) != 0)) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "region '%.64s' is not served here (this server's region "
		    "is %s)",
		    region,
		    rq->api->conf->region != NULL ? rq->api->conf->region
		                                  : "none");
		goto out;
	}
	if (ops_address_reserve(&o, account, host, desc, meta, &a, &err) != 0) {
		/* Made but its event not recorded: still an error. */
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_addr, &o, 201, a);
out:
	store_address_free(a);
	json_decref(body);
}

void
api_addr_update(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata",
		"proxy_proto", "ip_policy_id", "pooling", NULL };
	struct store_address *a = NULL;
	struct ops_address_update u;
	struct ops_err err;
	struct ops o;
	json_t *body, *pol;
	int pooling = -1;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	memset(&u, 0, sizeof(u));
	u.proxy_proto = -1;
	if (api_str(rq, body, "description", &u.description) != 0 ||
	    api_str(rq, body, "metadata", &u.metadata) != 0 ||
	    api_int(rq, body, "proxy_proto", 0, 2, &u.proxy_proto) != 0 ||
	    api_str(rq, body, "ip_policy_id", &u.ip_policy) != 0 ||
	    api_bool(rq, body, "pooling", &pooling) != 0 ||
	    api_ops(rq, &o) != 0)
		goto out;
	if (pooling != -1)
		u.pooling = pooling ? OPS_POOLING_ON : OPS_POOLING_OFF;
	/* "ip_policy_id": null (present) detaches, absent keeps. */
	pol = json_object_get(body, "ip_policy_id");
	if (pol != NULL && json_is_null(pol))
		u.ip_policy = OPS_IP_POLICY_NONE;
	if (ops_address_update(&o, rq->segs[1], &u, &a, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_addr, &o, 200, a);
out:
	store_address_free(a);
	json_decref(body);
}
