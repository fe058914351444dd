/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "api-int.h"

#include "buf.h"
#include "ops.h"
#include "store.h"

/*
 * The handlers every resource family shares: get one, list a page,
 * delete one. What differs between families is in their struct
 * api_kind (the route sets rq->kind); creating and changing objects,
 * whose bodies differ, stay in each family's file.
 */

/*
 * The families, one a line: name (api_kind_<name>), struct store_<type>
 * (with store_<type>_free and _list_free), list key, the list's query
 * filter, the path segment of the id, then ops' functions: get, list
 * (LIST_BY: with the filter, LIST_ALL: without) and delete (DEL:
 * ops_X(o, id, NULL, err), DEL_ENDED: with a count of the sessions it
 * ended, which the answer leaves out, DEL_NONE: no DELETE route), the
 * update of description and metadata (TEXTS: PATCH takes just those,
 * TEXTS_NONE: the family's own PATCH, or none), and the renderer.
 */
#define API_KINDS(X)                                                           \
	X(addr, address, "reserved_addrs", "account", 1, ops_address_get,      \
	    LIST_BY, ops_address_list, DEL, ops_address_delete, TEXTS_NONE, -, \
	    api_addr_json)                                                     \
	X(session, session, "tunnel_sessions", "account", 1, ops_session_get,  \
	    LIST_BY, ops_session_list, DEL_NONE, -, TEXTS_NONE, -,             \
	    api_session_json)                                                  \
	X(endpoint, endpoint, "endpoints", "account", 1, ops_endpoint_get,     \
	    LIST_BY, ops_endpoint_list, DEL_NONE, -, TEXTS_NONE, -,            \
	    api_endpoint_json)                                                 \
	X(sshkey, key, "ssh_credentials", "account", 1, ops_key_get, LIST_BY,  \
	    ops_key_list, DEL_ENDED, ops_key_delete, TEXTS, ops_key_update,    \
	    api_sshkey_json)                                                   \
	X(token, token, "credentials", "account", 1, ops_token_get, LIST_BY,   \
	    ops_token_list, DEL_ENDED, ops_token_revoke, TEXTS,                \
	    ops_token_update, api_token_kind_json)                             \
	X(apikey, apikey, "keys", "account", 1, ops_apikey_get, LIST_BY,       \
	    ops_apikey_list, DEL, ops_apikey_revoke, TEXTS_NONE, -,            \
	    api_apikey_kind_json)                                              \
	X(policy, ip_policy, "ip_policies", NULL, 1, ops_policy_get, LIST_ALL, \
	    ops_policy_list, DEL, ops_policy_delete, TEXTS, ops_policy_update, \
	    api_policy_json)                                                   \
	X(rule, ip_rule, "ip_policy_rules", "ip_policy_id", 1, ops_rule_get,   \
	    LIST_BY, ops_rule_list, DEL, ops_rule_delete, TEXTS,               \
	    ops_rule_update, api_rule_json)                                    \
	X(edge, edge, "tcp_edges", NULL, 2, ops_edge_get, LIST_ALL,            \
	    ops_edge_list, DEL, ops_edge_delete, TEXTS_NONE, -, api_edge_json) \
	X(account, account, "accounts", NULL, 1, ops_account_get, LIST_ALL,    \
	    ops_account_list, DEL_ENDED, ops_account_delete, TEXTS_NONE, -,    \
	    api_account_json)                                                  \
	X(dest, hook_dest, "event_destinations", "account", 1,                 \
	    ops_hook_dest_get, LIST_BY, ops_hook_dest_list, DEL,               \
	    ops_hook_dest_delete, TEXTS_NONE, -, api_dest_kind_json)           \
	X(sub, hook_sub, "event_subscriptions", "account", 1,                  \
	    ops_hook_sub_get, LIST_BY, ops_hook_sub_list, DEL,                 \
	    ops_hook_sub_delete, TEXTS_NONE, -, api_sub_json)

/* How a list function is called, with or without the filter. */
#define API_LIST_BY(fn)  fn(o, filter, page, &list, np, morep, err)
#define API_LIST_ALL(fn) fn(o, page, &list, np, morep, err)

/* The delete adapter <name>_del, and what .del names. */
#define API_DEL(name, fn)                                                      \
	static int name##_del(struct ops *o, const char *id,                   \
	    struct ops_err *err)                                               \
	{                                                                      \
		return fn(o, id, NULL, err);                                   \
	}
#define API_DEL_ENDED(name, fn)                                                \
	static int name##_del(struct ops *o, const char *id,                   \
	    struct ops_err *err)                                               \
	{                                                                      \
		size_t nended = 0;                                             \
                                                                               \
		return fn(o, id, NULL, &nended, err);                          \
	}
#define API_DEL_NONE(name, fn)

/* The adapter <name>_texts of ops' update of description and metadata. */
#define API_TEXTS(name, type, fn)                                              \
	static int name##_texts(struct ops *o, const char *id,                 \
	    const char *description, const char *metadata, void **objp,        \
	    struct ops_err *err)                                               \
	{                                                                      \
		struct store_##type *obj = NULL;                               \
		int r = fn(o, id, description, metadata, &obj, err);           \
                                                                               \
		*objp = obj; /* the caller's */                                \
		return r;                                                      \
	}
#define API_TEXTS_NONE(name, type, fn)
#define API_TEXTSFN_TEXTS(name)      name##_texts
#define API_TEXTSFN_TEXTS_NONE(name) NULL
#define API_DELFN_DEL(name)          name##_del
#define API_DELFN_DEL_ENDED(name)    name##_del
#define API_DELFN_DEL_NONE(name)     NULL

/*
 * The adapters of a family over its typed ops functions (void * for
 * struct store_<type> *), and its kind. clang-format leaves it alone: it
 * would join the adapters' lines.
 */
/* clang-format off */
#define API_KIND_DEFINE(name, type, plural_, filter_, idseg_, getfn, how,      \
    listfn, delhow, delfn, texthow, textfn, jsonfn)                            \
	static int api_##name##_get(struct ops *o, const char *id,             \
	    void **objp, struct ops_err *err)                                  \
	{                                                                      \
		struct store_##type *obj = NULL;                               \
		int r = getfn(o, id, &obj, err);                               \
                                                                               \
		*objp = obj; /* the caller's */                                \
		return r;                                                      \
	}                                                                      \
	static int api_##name##_list(struct ops *o, const char *filter,        \
	    const struct ops_page *page, void **listp, size_t *np, int *morep, \
	    struct ops_err *err)                                               \
	{                                                                      \
		struct store_##type **list = NULL;                             \
		int r = API_##how(listfn);                                     \
                                                                               \
		*listp = list; /* the caller's */                              \
		return r;                                                      \
	}                                                                      \
	static const void *api_##name##_item(const void *list, size_t i,       \
	    const char **idp)                                                  \
	{                                                                      \
		const struct store_##type *const *v = list;                    \
                                                                               \
		*idp = v[i]->id;                                               \
		return v[i];                                                   \
	}                                                                      \
	static void api_##name##_free(void *obj)                               \
	{                                                                      \
		store_##type##_free(obj);                                      \
	}                                                                      \
	static void api_##name##_list_free(void *list, size_t n)               \
	{                                                                      \
		store_##type##_list_free(list, n);                             \
	}                                                                      \
	API_##delhow(api_##name, delfn)                                        \
	API_##texthow(api_##name, type, textfn)                                \
	const struct api_kind api_kind_##name = {                              \
		.plural = plural_,                                             \
		.filter = filter_,                                             \
		.idseg = idseg_,                                               \
		.get = api_##name##_get,                                       \
		.list = api_##name##_list,                                     \
		.del = API_DELFN_##delhow(api_##name),                         \
		.texts = API_TEXTSFN_##texthow(api_##name),                    \
		.json = jsonfn,                                                \
		.item = api_##name##_item,                                     \
		.free = api_##name##_free,                                     \
		.list_free = api_##name##_list_free,                           \
	};
/* clang-format on */

API_KINDS(API_KIND_DEFINE)

void
api_kind_answer(struct api_req *rq, const struct api_kind *k, struct ops *o,
    int status, const void *obj)
{
	rq->out = buf_new();
	k->json(rq->out, rq, o, obj);
	buf_putc(rq->out, '\n');
	rq->status = status;
}

void
api_kind_get(struct api_req *rq)
{
	const struct api_kind *k = rq->kind;
	struct ops_err err;
	struct ops o;
	void *obj = NULL;

	if (api_ops(rq, &o) != 0)
		return;
	if (k->get(&o, rq->segs[k->idseg], &obj, &err) != 0)
		api_ops_error(rq, &err);
	else
		api_kind_answer(rq, k, &o, 200, obj);
	k->free(obj);
}

void
api_kind_list(struct api_req *rq)
{
	const struct api_kind *k = rq->kind;
	const char *keep[2] = { k->filter, NULL };
	const char *filter = NULL, *last = NULL;
	struct ops_page page;
	struct ops_err err;
	struct ops o;
	void *list = NULL;
	size_t n = 0, i;
	int more = 0;

	if (api_page(rq, &page) != 0 || api_ops(rq, &o) != 0)
		return;
	if (k->filter != NULL)
		filter = api_query(rq, k->filter);
	if (k->list(&o, filter, &page, &list, &n, &more, &err) != 0) {
		api_ops_error(rq, &err);
		return;
	}
	api_list_begin(rq, k->plural);
	for (i = 0; i < n; i++) {
		api_list_sep(rq, i);
		k->json(rq->out, rq, &o, k->item(list, i, &last));
	}
	api_list_end(rq, more, last, keep);
	k->list_free(list, n);
}

void
api_kind_delete(struct api_req *rq)
{
	const struct api_kind *k = rq->kind;
	struct ops_err err;
	struct ops o;

	if (api_ops(rq, &o) != 0)
		return;
	if (k->del(&o, rq->segs[k->idseg], &err) != 0)
		api_ops_error(rq, &err);
	else
		api_no_content(rq);
}

void
api_kind_update_texts(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata", NULL };
	const struct api_kind *k = rq->kind;
	const char *desc, *meta;
	struct ops_err err;
	struct ops o;
	void *obj = NULL;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (k->texts(&o, rq->segs[k->idseg], desc, meta, &obj, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, k, &o, 200, obj);
out:
	k->free(obj);
	json_decref(body);
}
