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
#include "ops.h"
#include "store.h"

/*
 * /accounts (ops-account.c). Creating, deleting and disabling accounts
 * and changing their limits or IP policy are an administrator's; an
 * account's key sees its own account and may change its description.
 * PATCH {"disabled": true|false} disables (ending its sessions) or
 * enables one. The traffic limits (bandwidth_limit, transfer_quota,
 * connection_rate, connections_per_source, idle_timeout_s) are null for
 * the server's default, 0 for none, else the limit; transfer_quota's
 * limit is {"bytes": N, "period_s": N}. GET shows each as set and as it
 * applies ("<name>_effective").
 */

void
api_account_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	const struct store_account *a = obj;

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", a->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/accounts/%s", a->id);
	json_kv_str(b, 0, "name", a->name);
	api_time(b, "created_at", a->created_ms);
	api_text(b, "description", a->description);
	json_kv_bool(b, 0, "disabled", a->disabled);
	json_kv_int(b, 0, "max_sessions", a->max_sessions);
	json_kv_int(b, 0, "max_endpoints", a->max_endpoints);
	api_ref(b, rq, "ip_policy", "ip_policies", a->ip_policy_id);
	json_kv_int(b, 0, "ssh_credentials", a->nkeys);
	json_kv_int(b, 0, "credentials", a->ntokens);
	json_kv_int(b, 0, "reserved_addrs", a->naddresses);
	json_kv_int(b, 0, "tunnel_sessions", a->nsessions);
	ops_account_limits_json(b, o->conf, a);
	buf_putc(b, '}');
}

void
api_account_create(struct api_req *rq)
{
	static const char *const fields[] = { "name", "description", NULL };
	struct store_account *a = NULL;
	const char *name, *desc;
	struct ops_err err;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "name", &name) != 0 ||
	    api_str(rq, body, "description", &desc) != 0 ||
	    api_ops(rq, &o) != 0)
		goto out;
	if (name == NULL) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "name is required");
		goto out;
	}
	if (ops_account_add(&o, name, desc, &a, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_account, &o, 201, a);
out:
	store_account_free(a);
	json_decref(body);
}

/*
 * Read traffic limit <name> of <o> into *vp: absent keeps it
 * (STORE_KEEP), null follows the server's default (-1), else an integer
 * of 0 (none) or more, whose bounds ops checks. Returns 0, or -1 after
 * answering 400.
 */
static int
api_account_limit(struct api_req *rq, json_t *o, const char *name, int64_t *vp)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return 0;
	if (json_is_null(v)) {
		*vp = -1;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "field '%s' must be null (the server's default), 0 (none) "
		    "or a positive integer",
		    name);
		return -1;
	}
	*vp = json_integer_value(v);
	return 0;
}

/*
 * Read "transfer_quota" of <o> into <t>: absent keeps it, null follows
 * the server's default, 0 is none, {"bytes":N,"period_s":N} a quota.
 * Returns 0, or -1 after answering 400.
 */
static int
api_account_quota(struct api_req *rq, json_t *o, struct store_account *t)
{
	json_t *v = json_object_get(o, "transfer_quota"), *bytes, *period;

	if (v == NULL)
		return 0;
	if (json_is_null(v)) {
		t->quota_bytes = t->quota_period_s = -1;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) == 0) {
		t->quota_bytes = t->quota_period_s = 0;
		return 0;
	}
	bytes = json_object_get(v, "bytes");
	period = json_object_get(v, "period_s");
	if (!json_is_object(v) || json_object_size(v) != 2 ||
	    !json_is_integer(bytes) || !json_is_integer(period) ||
	    json_integer_value(bytes) < 1 || json_integer_value(period) < 1) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "field 'transfer_quota' must be null (the server's "
		    "default), 0 (none) or {\"bytes\": N, \"period_s\": N}");
		return -1;
	}
	t->quota_bytes = json_integer_value(bytes);
	t->quota_period_s = json_integer_value(period);
	return 0;
}

void
api_account_update(struct api_req *rq)
{
	static const char *const fields[] = { "description", "max_sessions",
		"max_endpoints", "ip_policy_id", "disabled", "bandwidth_limit",
		"transfer_quota", "connection_rate", "connections_per_source",
		"idle_timeout_s", NULL };
	struct store_account *a = NULL, traffic;
	struct ops_account_update u;
	struct ops_err err;
	struct ops o;
	size_t nended = 0;
	json_t *body, *pol;
	int disabled = -1, r;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	memset(&u, 0, sizeof(u));
	u.max_sessions = u.max_endpoints = -1;
	ops_traffic_keep(&traffic);
	u.traffic = &traffic;
	if (api_account_limit(rq, body, "bandwidth_limit",
	        &traffic.bandwidth_limit) != 0 ||
	    api_account_quota(rq, body, &traffic) != 0 ||
	    api_account_limit(rq, body, "connection_rate",
	        &traffic.connection_rate) != 0 ||
	    api_account_limit(rq, body, "connections_per_source",
	        &traffic.connections_per_source) != 0 ||
	    api_account_limit(rq, body, "idle_timeout_s",
	        &traffic.idle_timeout_s) != 0)
		goto out;
	if (api_str(rq, body, "description", &u.description) != 0 ||
	    api_int(rq, body, "max_sessions", 0, OPS_LIMIT_MAX,
	        &u.max_sessions) != 0 ||
	    api_int(rq, body, "max_endpoints", 0, OPS_LIMIT_MAX,
	        &u.max_endpoints) != 0 ||
	    api_str(rq, body, "ip_policy_id", &u.ip_policy) != 0 ||
	    api_bool(rq, body, "disabled", &disabled) != 0 ||
	    api_ops(rq, &o) != 0)
		goto out;
	pol = json_object_get(body, "ip_policy_id");
	if (pol != NULL && json_is_null(pol))
		u.ip_policy = OPS_IP_POLICY_NONE;
	if (u.description != NULL || u.max_sessions != -1 ||
	    u.max_endpoints != -1 || u.ip_policy != NULL ||
	    traffic.bandwidth_limit != STORE_KEEP ||
	    traffic.quota_bytes != STORE_KEEP ||
	    traffic.connection_rate != STORE_KEEP ||
	    traffic.connections_per_source != STORE_KEEP ||
	    traffic.idle_timeout_s != STORE_KEEP) {
		if (ops_account_update(&o, rq->segs[1], &u, &a, &err) != 0) {
			api_ops_error(rq, &err);
			goto out;
		}
	}
	if (disabled != -1) {
		store_account_free(a);
		a = NULL;
		r = disabled
		    ? ops_account_disable(&o, rq->segs[1], &a, &nended, &err)
		    : ops_account_enable(&o, rq->segs[1], &a, &err);
		if (r != 0) {
			api_ops_error(rq, &err);
			goto out;
		}
	}
	if (a == NULL && ops_account_get(&o, rq->segs[1], &a, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_account, &o, 200, a);
out:
	store_account_free(a);
	json_decref(body);
}

/* What ended with it is in the event; the API answers 204. */
