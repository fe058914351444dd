/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api-assets.h"
#include "api-int.h"

#include "buf.h"
#include "log.h"

/*
 * The routes: method, path pattern ("*" matches one segment) and
 * whether the caller must show an API key. A path that matches a
 * pattern with another method is answered 405 with the methods it
 * has; no match is 404.
 */

enum api_auth_need {
	API_AUTH_NONE = 0,
	API_AUTH_KEY, /* Authorization: Bearer */
	API_AUTH_KEY_OR_QUERY, /* or ?access_token= (EventSource) */
};

struct api_route {
	const char *method;
	const char *pattern; /* segments joined with '/', no leading '/' */
	enum api_auth_need auth;
	void (*fn)(struct api_req *rq);
	const struct api_kind *kind; /* for api_kind_*: the family */
};

/* GET /openapi.json: the description of everything here. */
static void
api_openapi(struct api_req *rq)
{
	rq->out = buf_new();
	buf_puts(rq->out, api_openapi_json);
	rq->status = 200;
}

/*
 * GET / and GET /assets/…: the dashboard's embedded files, answered from
 * where they lie in the binary, with the headers of api-assets.h (the
 * security policy, no-cache and an ETag), or 304 and no body when the
 * browser's copy is current (If-None-Match has the ETag, or is "*").
 */
static void
api_assets(struct api_req *rq)
{
	const struct api_asset *a;
	struct MHD_Response *resp;
	const char *inm;
	int fresh;

	a = api_asset_find(rq->nsegs == 0 ? "/index.html" : rq->url);
	if (a == NULL) {
		api_error(rq, 404, "NOT_FOUND", NULL,
		    rq->nsegs == 0
		        ? "this build of portholed has no dashboard; "
		          "the JSON API is described at /openapi.json"
		        : "no such file: %.100s",
		    rq->url);
		return;
	}
	inm = api_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH);
	fresh = inm != NULL &&
	    (strstr(inm, a->etag) != NULL || strcmp(inm, "*") == 0);
	/* The data is static: MHD reads it in place and never frees it. */
	resp = MHD_create_response_from_buffer(fresh ? 0 : a->len,
	    fresh ? NULL : (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		api_error(rq, 500, "INTERNAL", NULL, "out of memory");
		return;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    a->type);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    API_ASSET_CACHE_CONTROL);
	(void)MHD_add_response_header(resp, "Content-Security-Policy",
	    API_ASSET_CSP);
	(void)MHD_add_response_header(resp, "X-Frame-Options",
	    API_ASSET_X_FRAME_OPTIONS);
	(void)MHD_add_response_header(resp, "Referrer-Policy",
	    API_ASSET_REFERRER_POLICY);
	/* api_send queues it as it does the event stream. */
	rq->stream = resp;
	rq->status = fresh ? 304 : 200;
}

static const struct api_route api_routes[] = {
	{ "GET", "", API_AUTH_NONE, api_assets, NULL },
	{ "GET", "assets/*", API_AUTH_NONE, api_assets, NULL },
	{ "GET", "assets/*/*", API_AUTH_NONE, api_assets, NULL },
	{ "GET", "openapi.json", API_AUTH_NONE, api_openapi, NULL },
	{ "GET", "events", API_AUTH_KEY, api_events_list, NULL },
	{ "GET", "usage", API_AUTH_KEY, api_usage_list, NULL },
	{ "GET", "events/stream", API_AUTH_KEY_OR_QUERY, api_events_stream,
	    NULL },
	{ "GET", "reserved_addrs", API_AUTH_KEY, api_kind_list,
	    &api_kind_addr },
	{ "POST", "reserved_addrs", API_AUTH_KEY, api_addr_create, NULL },
	{ "GET", "reserved_addrs/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_addr },
	{ "PATCH", "reserved_addrs/*", API_AUTH_KEY, api_addr_update, NULL },
	{ "DELETE", "reserved_addrs/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_addr },
	{ "GET", "tunnel_sessions", API_AUTH_KEY, api_kind_list,
	    &api_kind_session },
	{ "GET", "tunnel_sessions/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_session },
	{ "POST", "tunnel_sessions/*/stop", API_AUTH_KEY, api_session_stop,
	    NULL },
	{ "GET", "endpoints", API_AUTH_KEY, api_kind_list, &api_kind_endpoint },
	{ "GET", "endpoints/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_endpoint },
	{ "GET", "ssh_credentials", API_AUTH_KEY, api_kind_list,
	    &api_kind_sshkey },
	{ "POST", "ssh_credentials", API_AUTH_KEY, api_sshkey_create, NULL },
	{ "GET", "ssh_credentials/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_sshkey },
	{ "PATCH", "ssh_credentials/*", API_AUTH_KEY, api_kind_update_texts,
	    &api_kind_sshkey },
	{ "DELETE", "ssh_credentials/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_sshkey },
	{ "GET", "credentials", API_AUTH_KEY, api_kind_list, &api_kind_token },
	{ "POST", "credentials", API_AUTH_KEY, api_token_create, NULL },
	{ "GET", "credentials/*", API_AUTH_KEY, api_kind_get, &api_kind_token },
	{ "PATCH", "credentials/*", API_AUTH_KEY, api_kind_update_texts,
	    &api_kind_token },
	{ "DELETE", "credentials/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_token },
	{ "GET", "api_keys", API_AUTH_KEY, api_kind_list, &api_kind_apikey },
	{ "POST", "api_keys", API_AUTH_KEY, api_apikey_create, NULL },
	{ "GET", "api_keys/*", API_AUTH_KEY, api_kind_get, &api_kind_apikey },
	{ "DELETE", "api_keys/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_apikey },
	{ "GET", "ip_policies", API_AUTH_KEY, api_kind_list, &api_kind_policy },
	{ "POST", "ip_policies", API_AUTH_KEY, api_policy_create, NULL },
	{ "GET", "ip_policies/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_policy },
	{ "PATCH", "ip_policies/*", API_AUTH_KEY, api_kind_update_texts,
	    &api_kind_policy },
	{ "DELETE", "ip_policies/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_policy },
	{ "GET", "ip_policy_rules", API_AUTH_KEY, api_kind_list,
	    &api_kind_rule },
	{ "POST", "ip_policy_rules", API_AUTH_KEY, api_rule_create, NULL },
	{ "GET", "ip_policy_rules/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_rule },
	{ "PATCH", "ip_policy_rules/*", API_AUTH_KEY, api_kind_update_texts,
	    &api_kind_rule },
	{ "DELETE", "ip_policy_rules/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_rule },
	{ "GET", "edges/tcp", API_AUTH_KEY, api_kind_list, &api_kind_edge },
	{ "POST", "edges/tcp", API_AUTH_KEY, api_edge_create, NULL },
	{ "GET", "edges/tcp/*", API_AUTH_KEY, api_kind_get, &api_kind_edge },
	{ "PATCH", "edges/tcp/*", API_AUTH_KEY, api_edge_update, NULL },
	{ "DELETE", "edges/tcp/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_edge },
	{ "POST", "edges/tcp/*/hostports", API_AUTH_KEY, api_edge_hostport_add,
	    NULL },
	{ "DELETE", "edges/tcp/*/hostports/*", API_AUTH_KEY,
	    api_edge_hostport_remove, NULL },
	{ "POST", "edges/tcp/*/backend_accounts", API_AUTH_KEY,
	    api_edge_backend_add, NULL },
	{ "DELETE", "edges/tcp/*/backend_accounts/*", API_AUTH_KEY,
	    api_edge_backend_remove, NULL },
	{ "GET", "accounts", API_AUTH_KEY, api_kind_list, &api_kind_account },
	{ "POST", "accounts", API_AUTH_KEY, api_account_create, NULL },
	{ "GET", "accounts/*", API_AUTH_KEY, api_kind_get, &api_kind_account },
	{ "PATCH", "accounts/*", API_AUTH_KEY, api_account_update, NULL },
	{ "DELETE", "accounts/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_account },
	{ "GET", "event_destinations", API_AUTH_KEY, api_kind_list,
	    &api_kind_dest },
	{ "POST", "event_destinations", API_AUTH_KEY, api_dest_create, NULL },
	{ "GET", "event_destinations/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_dest },
	{ "PATCH", "event_destinations/*", API_AUTH_KEY, api_dest_update,
	    NULL },
	{ "DELETE", "event_destinations/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_dest },
	{ "GET", "event_subscriptions", API_AUTH_KEY, api_kind_list,
	    &api_kind_sub },
	{ "POST", "event_subscriptions", API_AUTH_KEY, api_sub_create, NULL },
	{ "GET", "event_subscriptions/*", API_AUTH_KEY, api_kind_get,
	    &api_kind_sub },
	{ "PATCH", "event_subscriptions/*", API_AUTH_KEY, api_sub_update,
	    NULL },
	{ "DELETE", "event_subscriptions/*", API_AUTH_KEY, api_kind_delete,
	    &api_kind_sub },
};

/* Predicate: rq's path matches <pattern>. */
static int
api_route_match(const struct api_req *rq, const char *pattern)
{
	const char *p = pattern, *e;
	size_t i = 0, n;

	if (*p == '\0')
		return rq->nsegs == 0;
	for (;;) {
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (i == rq->nsegs)
			return 0;
		if (!(n == 1 && *p == '*') &&
		    (strlen(rq->segs[i]) != n ||
		        strncmp(rq->segs[i], p, n) != 0))
			return 0;
		i++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return i == rq->nsegs;
}

void
api_route(struct api_req *rq)
{
	const struct api_route *rt = NULL;
	struct buf *allowed = NULL;
	size_t i;
	const char *method = rq->method;

	/* HEAD is GET without the body (libmicrohttpd drops it). */
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		if (!api_route_match(rq, api_routes[i].pattern))
			continue;
		if (strcmp(api_routes[i].method, method) == 0) {
			rt = &api_routes[i];
			break;
		}
		if (allowed == NULL)
			allowed = buf_new();
		else
			buf_puts(allowed, ", ");
		buf_puts(allowed, api_routes[i].method);
	}
	if (rt == NULL && allowed != NULL) {
		api_error(rq, 405, "METHOD_NOT_ALLOWED", NULL,
		    "%s is not allowed on %.100s (allowed: %s)", rq->method,
		    rq->url, buf_str(allowed));
		goto out;
	}
	if (rt == NULL) {
		api_error(rq, 404, "NOT_FOUND", NULL,
		    "no such resource: %.100s (see /openapi.json)", rq->url);
		goto out;
	}
	if (rt->auth != API_AUTH_NONE &&
	    api_auth(rq, rt->auth == API_AUTH_KEY_OR_QUERY) != 0)
		goto out;
	rq->kind = rt->kind;
	rt->fn(rq);
out:
	buf_free(allowed);
}
