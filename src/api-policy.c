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
 * /ip_policies and /ip_policy_rules (ops-policy.c). Changes are an
 * administrator's; an account's key may read them.
 */

void
api_policy_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	const struct store_ip_policy *p = obj;

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", p->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/ip_policies/%s", p->id);
	api_time(b, "created_at", p->created_ms);
	api_text(b, "description", p->description);
	api_text(b, "metadata", p->metadata);
	json_kv_str(b, 0, "name", p->name);
	buf_putc(b, '}');
}

void
api_policy_create(struct api_req *rq)
{
	static const char *const fields[] = { "name", "description", "metadata",
		NULL };
	struct store_ip_policy *p = NULL;
	const char *name, *desc, *meta;
	struct ops_err err;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "name", &name) != 0 ||
	    api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (name == NULL) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "name is required (as account names: letters, digits, "
		    "'.', '_', '-')");
		goto out;
	}
	if (ops_policy_create(&o, name, desc, meta, NULL, 0, NULL, 0, &p,
	        &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_policy, &o, 201, p);
out:
	store_ip_policy_free(p);
	json_decref(body);
}

void
api_rule_json(struct buf *b, struct api_req *rq, struct ops *o, const void *obj)
{
	const struct store_ip_rule *r = obj;

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", r->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/ip_policy_rules/%s", r->id);
	api_time(b, "created_at", r->created_ms);
	api_text(b, "description", r->description);
	api_text(b, "metadata", r->metadata);
	json_kv_str(b, 0, "cidr", r->cidr);
	json_kv_str(b, 0, "action", r->allow ? "allow" : "deny");
	api_ref(b, rq, "ip_policy", "ip_policies", r->policy_id);
	buf_putc(b, '}');
}

void
api_rule_create(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata", "cidr",
		"action", "ip_policy_id", NULL };
	struct store_ip_rule *r = NULL;
	const char *desc, *meta, *cidr, *action, *policy;
	struct ops_err err;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 ||
	    api_str(rq, body, "cidr", &cidr) != 0 ||
	    api_str(rq, body, "action", &action) != 0 ||
	    api_str(rq, body, "ip_policy_id", &policy) != 0 ||
	    api_ops(rq, &o) != 0)
		goto out;
	if (cidr == NULL || policy == NULL || action == NULL ||
	    (strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0)) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "cidr, ip_policy_id and action (\"allow\" or \"deny\") "
		    "are required");
		goto out;
	}
	if (ops_rule_add(&o, policy, strcmp(action, "allow") == 0, cidr, desc,
	        meta, &r, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_rule, &o, 201, r);
out:
	store_ip_rule_free(r);
	json_decref(body);
}
