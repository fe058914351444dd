/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "api-int.h"

#include "buf.h"
#include "json.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Webhooks: /event_destinations and /event_subscriptions (ops-hook.c),
 * in a hosted provider's shape. A destination's secret is write-only:
 * in the answer to its creation (made if not given), never after.
 */

static void
api_dest_json(struct buf *b, struct api_req *rq,
    const struct store_hook_dest *d, const char *secret)
{
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", d->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/event_destinations/%s", d->id);
	api_time(b, "created_at", d->created_ms);
	api_text(b, "description", d->description);
	api_text(b, "metadata", d->metadata);
	json_kv_str(b, 0, "owner_id", d->account_id);
	json_kv_str(b, 0, "format", "json");
	buf_puts(b, ",\"target\":{\"http\":{");
	json_kv_str(b, 1, "url", d->url);
	buf_puts(b, "}}");
	json_kv_int(b, 0, "delivered_total", d->delivered_total);
	api_time(b, "delivered_at", d->delivered_ms);
	json_kv_int(b, 0, "attempts", d->attempts);
	json_kv_str(b, 0, "last_error", d->last_error);
	if (secret != NULL)
		json_kv_str(b, 0, "secret", secret);
	buf_putc(b, '}');
}

static void
api_dest_answer(struct api_req *rq, int status, const struct store_hook_dest *d,
    const char *secret)
{
	rq->out = buf_new();
	api_dest_json(rq->out, rq, d, secret);
	buf_putc(rq->out, '\n');
	rq->status = status;
}

/*
 * The target URL of a body: {"target":{"http":{"url":"…"}}}; *urlp NULL
 * if absent. -1 with a 400 answer if malformed.
 */
static int
api_dest_target(struct api_req *rq, json_t *body, const char **urlp)
{
	json_t *t = json_object_get(body, "target"), *h, *u;

	*urlp = NULL;
	if (t == NULL || json_is_null(t))
		return 0;
	if (!json_is_object(t) || json_object_size(t) != 1 ||
	    (h = json_object_get(t, "http")) == NULL || !json_is_object(h) ||
	    json_object_size(h) != 1 ||
	    (u = json_object_get(h, "url")) == NULL || !json_is_string(u)) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "target must be {\"http\":{\"url\":\"https://…\"}}");
		return -1;
	}
	*urlp = json_string_value(u);
	return 0;
}

void
api_dest_create(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata",
		"format", "target", "secret", "account", NULL };
	struct store_hook_dest *d = NULL;
	const char *desc, *meta, *format, *url, *secret, *account;
	char secretbuf[OPS_HOOK_SECRET_LEN];
	struct ops_err err;
	struct ops o;
	json_t *body;

	memset(secretbuf, 0, sizeof(secretbuf));
	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 ||
	    api_str(rq, body, "format", &format) != 0 ||
	    api_str(rq, body, "secret", &secret) != 0 ||
	    api_str(rq, body, "account", &account) != 0 ||
	    api_dest_target(rq, body, &url) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (format != NULL && strcmp(format, "json") != 0) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "format must be \"json\"");
		goto out;
	}
	if (url == NULL) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "target is required: {\"http\":{\"url\":\"https://…\"}}");
		goto out;
	}
	if (ops_hook_dest_create(&o, account, url, secret, desc, meta,
	        secretbuf, sizeof(secretbuf), &d, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_dest_answer(rq, 201, d, secretbuf);
out:
	sodium_memzero(secretbuf, sizeof(secretbuf));
	store_hook_dest_free(d);
	json_decref(body);
}

void
api_dest_update(struct api_req *rq)
{
	static const char *const fields[] = { "description", "metadata",
		"target", "secret", NULL };
	struct store_hook_dest *d = NULL;
	const char *desc, *meta, *url, *secret;
	struct ops_err err;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 ||
	    api_str(rq, body, "secret", &secret) != 0 ||
	    api_dest_target(rq, body, &url) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (ops_hook_dest_update(&o, rq->segs[1], url, secret, desc, meta, &d,
	        &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_dest_answer(rq, 200, d, NULL);
out:
	store_hook_dest_free(d);
	json_decref(body);
}

void
api_sub_json(struct buf *b, struct api_req *rq, struct ops *o, const void *obj)
{
	const struct store_hook_sub *s = obj;
	size_t i;

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", s->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/event_subscriptions/%s", s->id);
	api_time(b, "created_at", s->created_ms);
	api_text(b, "description", s->description);
	api_text(b, "metadata", s->metadata);
	json_kv_str(b, 0, "owner_id", s->account_id);
	buf_puts(b, ",\"sources\":[");
	for (i = 0; i < s->ntypes; i++) {
		if (i > 0)
			buf_putc(b, ',');
		buf_putc(b, '{');
		json_kv_str(b, 1, "type", s->types[i]);
		buf_puts(b, ",\"uri\":");
		if (strcmp(s->types[i], "*") == 0)
			api_uri(b, rq, "/events");
		else
			api_uri(b, rq, "/events?event_type=%s", s->types[i]);
		buf_putc(b, '}');
	}
	buf_puts(b, "],\"destinations\":[");
	for (i = 0; i < s->ndests; i++) {
		if (i > 0)
			buf_putc(b, ',');
		buf_putc(b, '{');
		json_kv_str(b, 1, "id", s->dests[i]);
		buf_puts(b, ",\"uri\":");
		api_uri(b, rq, "/event_destinations/%s", s->dests[i]);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}

/*
 * The event types of "sources": [{"type":"…"}, …] into *typesp (the
 * array the caller's, the strings <body>'s). -1 with a 400 answer.
 */
static int
api_sub_sources(struct api_req *rq, json_t *body, const char ***typesp,
    size_t *np)
{
	json_t *v = json_object_get(body, "sources"), *e, *t;
	const char **types = NULL;
	size_t i;

	*typesp = NULL;
	*np = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		goto bad;
	types = xcalloc(json_array_size(v) + 1, sizeof(*types));
	json_array_foreach(v, i, e)
	{
		if (!json_is_object(e) ||
		    (t = json_object_get(e, "type")) == NULL ||
		    !json_is_string(t))
			goto bad;
		types[i] = json_string_value(t);
	}
	*typesp = types; /* the caller's */
	*np = json_array_size(v);
	return 0;
bad:
	free(types);
	api_error(rq, 400, "INVALID_ARGUMENT", NULL,
	    "sources must be a list of {\"type\":\"EVENT_TYPE\"} (\"*\": any)");
	return -1;
}

/* POST (create) and PATCH (update) of a subscription. */
static void
api_sub_write(struct api_req *rq, int create)
{
	static const char *const fields[] = { "description", "metadata",
		"sources", "destination_ids", "account", NULL };
	struct store_hook_sub *s = NULL;
	const char *desc, *meta, *account, **types = NULL, **dests = NULL;
	size_t ntypes = 0, ndests = 0;
	struct ops_err err;
	struct ops o;
	json_t *body;
	int r;

	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 ||
	    api_str(rq, body, "account", &account) != 0 ||
	    api_sub_sources(rq, body, &types, &ntypes) != 0 ||
	    api_strlist(rq, body, "destination_ids", &dests, &ndests) != 0 ||
	    api_ops(rq, &o) != 0)
		goto out;
	if (!create && account != NULL) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "a subscription's account cannot change");
		goto out;
	}
	r = create ? ops_hook_sub_create(&o, account, desc, meta, types, ntypes,
	                 dests, ndests, &s, &err)
	           : ops_hook_sub_update(&o, rq->segs[1], desc, meta, types,
	                 ntypes, dests, ndests, &s, &err);
	if (r != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_sub, &o, create ? 201 : 200, s);
out:
	free(types);
	free(dests);
	store_hook_sub_free(s);
	json_decref(body);
}

void
api_sub_create(struct api_req *rq)
{
	api_sub_write(rq, 1);
}

void
api_sub_update(struct api_req *rq)
{
	api_sub_write(rq, 0);
}

/* As the generic handlers write it: never a secret. */
void
api_dest_kind_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	api_dest_json(b, rq, obj, NULL);
}
