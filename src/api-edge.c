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
#include "json.h"
#include "log.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * /edges/tcp (ops-edge.c): an administrator's. An edge has reserved
 * addresses (hostports), backend accounts whose sessions serve them,
 * and its own IP policy and PROXY setting.
 */

void
api_edge_json(struct buf *b, struct api_req *rq, struct ops *o, const void *obj)
{
	const struct store_edge *e = obj;
	const struct store_address *a;
	char hp[300];
	size_t i;

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", e->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/edges/tcp/%s", e->id);
	api_time(b, "created_at", e->created_ms);
	api_text(b, "description", e->description);
	api_text(b, "metadata", e->metadata);
	buf_puts(b, ",\"hostports\":[");
	for (i = 0; i < e->naddresses; i++) {
		a = e->addresses[i];
		if (strchr(a->host, ':') != NULL)
			snprintf(hp, sizeof(hp), "[%s]:%d", a->host, a->port);
		else
			snprintf(hp, sizeof(hp), "%s:%d", a->host, a->port);
		if (i > 0)
			buf_putc(b, ',');
		json_str(b, hp);
	}
	buf_puts(b, "],\"backend\":{\"accounts\":[");
	for (i = 0; i < e->nbackends; i++) {
		if (i > 0)
			buf_putc(b, ',');
		buf_putc(b, '{');
		json_kv_str(b, 1, "id", e->backends[i]->id);
		json_kv_str(b, 0, "name", e->backends[i]->name);
		buf_putc(b, '}');
	}
	buf_puts(b, "]},\"ip_restriction\":{\"ip_policies\":[");
	if (e->ip_policy_id != NULL) {
		buf_putc(b, '{');
		json_kv_str(b, 1, "id", e->ip_policy_id);
		buf_puts(b, ",\"uri\":");
		api_uri(b, rq, "/ip_policies/%s", e->ip_policy_id);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
	json_kv_int(b, 0, "proxy_proto", e->proxy_proto);
	json_kv_int(b, 0, "members", (int64_t)e->nmembers);
	buf_putc(b, '}');
}

/* The update part of a create or PATCH body into <u>; -1: 400 made. */
static int
api_edge_update_fields(struct api_req *rq, json_t *body,
    struct ops_edge_update *u)
{
	json_t *pol;

	memset(u, 0, sizeof(*u));
	u->proxy_proto = -1;
	if (api_str(rq, body, "description", &u->description) != 0 ||
	    api_str(rq, body, "metadata", &u->metadata) != 0 ||
	    api_int(rq, body, "proxy_proto", 0, 2, &u->proxy_proto) != 0 ||
	    api_str(rq, body, "ip_policy_id", &u->ip_policy) != 0)
		return -1;
	pol = json_object_get(body, "ip_policy_id");
	if (pol != NULL && json_is_null(pol))
		u->ip_policy = OPS_IP_POLICY_NONE;
	return 0;
}

void
api_edge_create(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata",
		"hostports", "host", "backend_accounts", "ip_policy_id",
		"proxy_proto", NULL };
	struct store_edge *e = NULL;
	struct ops_edge_update u;
	const char **addrs = NULL, **backends = NULL, *host;
	size_t naddrs = 0, nbackends = 0, i;
	struct ops_err err, err2;
	char *id = NULL;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_edge_update_fields(rq, body, &u) != 0 ||
	    api_strlist(rq, body, "hostports", &addrs, &naddrs) != 0 ||
	    api_strlist(rq, body, "backend_accounts", &backends, &nbackends) !=
	        0 ||
	    api_str(rq, body, "host", &host) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (ops_edge_create(&o, u.description, u.metadata, addrs, naddrs, host,
	        &e, &err) != 0)
		goto fail;
	id = xstrdup(e->id);
	for (i = 0; i < nbackends; i++) {
		store_edge_free(e);
		e = NULL;
		if (ops_edge_backend_add(&o, id, backends[i], &e, &err) != 0)
			goto undo;
	}
	if (u.ip_policy != NULL || u.proxy_proto != -1) {
		store_edge_free(e);
		e = NULL;
		if (ops_edge_update(&o, id, &u, &e, &err) != 0)
			goto undo;
	}
	api_kind_answer(rq, &api_kind_edge, &o, 201, e);
	goto out;
undo:
	/* All or nothing: the edge made above goes again. */
	if (ops_edge_delete(&o, id, NULL, &err2) != 0)
		error("API: edge %s made in part: %s", id, err2.msg);
fail:
	api_ops_error(rq, &err);
out:
	free(id);
	free(addrs);
	free(backends);
	store_edge_free(e);
	json_decref(body);
}

void
api_edge_update(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata",
		"ip_policy_id", "proxy_proto", NULL };
	struct store_edge *e = NULL;
	struct ops_edge_update u;
	struct ops_err err;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_edge_update_fields(rq, body, &u) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (ops_edge_update(&o, rq->segs[2], &u, &e, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_edge, &o, 200, e);
out:
	store_edge_free(e);
	json_decref(body);
}

/*
 * POST /edges/tcp/ID/hostports {"addr":…} and /backend_accounts
 * {"account":…}; DELETE /edges/tcp/ID/hostports/ADDR and
 * /backend_accounts/ACCOUNT. Each answers with the edge after.
 */
static void
api_edge_member(struct api_req *rq, int add, int backend)
{
	static const char *const addr_fields[] = { "addr", NULL };
	static const char *const acct_fields[] = { "account", NULL };
	struct store_edge *e = NULL;
	struct ops_err err;
	struct ops o;
	const char *what = NULL, *id = rq->segs[2];
	json_t *body = NULL;
	int r;

	if (add) {
		if ((body = api_body(rq,
		         backend ? acct_fields : addr_fields)) == NULL ||
		    api_str(rq, body, backend ? "account" : "addr", &what) != 0)
			goto out;
		if (what == NULL) {
			api_error(rq, 400, "INVALID_ARGUMENT", NULL,
			    "%s is required", backend ? "account" : "addr");
			goto out;
		}
	} else
		what = rq->segs[4];
	if (api_ops(rq, &o) != 0)
		goto out;
	if (backend)
		r = add ? ops_edge_backend_add(&o, id, what, &e, &err)
		        : ops_edge_backend_remove(&o, id, what, &e, &err);
	else
		r = add ? ops_edge_address_add(&o, id, what, &e, &err)
		        : ops_edge_address_remove(&o, id, what, &e, &err);
	if (r != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_edge, &o, 200, e);
out:
	store_edge_free(e);
	json_decref(body);
}

void
api_edge_hostport_add(struct api_req *rq)
{
	api_edge_member(rq, 1, 0);
}

void
api_edge_hostport_remove(struct api_req *rq)
{
	api_edge_member(rq, 0, 0);
}

void
api_edge_backend_add(struct api_req *rq)
{
	api_edge_member(rq, 1, 1);
}

void
api_edge_backend_remove(struct api_req *rq)
{
	api_edge_member(rq, 0, 1);
}
