/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-int.h"

#include "buf.h"
#include "conf.h"
#include "json.h"
#include "ops.h"
#include "store.h"

/*
 * /tunnel_sessions and /endpoints: what live SSH sessions serve, read
 * through ops-session.c; POST /tunnel_sessions/ID/stop ends one (its
 * ssh client exits).
 */

/* Append "credential": the token's or key's reference, or null. */
static void
api_session_credential(struct buf *b, struct api_req *rq, struct ops *o,
    const char *cred)
{
	struct store_key *k = NULL;
	struct ops_err err;

	if (cred != NULL && strncmp(cred, "token:", 6) == 0)
		api_ref(b, rq, "credential", "credentials", cred + 6);
	else if (cred != NULL && strncmp(cred, "key:", 4) == 0 &&
	    ops_key_get(o, cred + 4, &k, &err) == 0)
		api_ref(b, rq, "credential", "ssh_credentials", k->id);
	else
		api_ref(b, rq, "credential", NULL, NULL);
	store_key_free(k);
}

/* Append session <s> as a JSON object. */
void
api_session_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	const struct store_session *s = obj;

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", s->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/tunnel_sessions/%s", s->id);
	api_time(b, "started_at", s->started_ms);
	api_time(b, "ended_at", s->ended_ms);
	api_text(b, "ip", s->client_ip);
	json_kv_int(b, 0, "port", s->client_port);
	api_text(b, "region", s->region);
	api_text(b, "node", s->node);
	api_account_ref(b, "account", s->account_id, s->account_name);
	api_session_credential(b, rq, o, s->credential);
	api_text(b, "metadata", NULL);
	json_kv_str(b, 0, "transport", "ssh");
	api_text(b, "user", s->user);
	json_kv_int(b, 0, "endpoints", s->nendpoints);
	json_kv_int(b, 0, "conns_open", s->conns_open);
	json_kv_int(b, 0, "conns_total", s->conns_total);
	json_kv_int(b, 0, "bytes_in", s->bytes_in);
	json_kv_int(b, 0, "bytes_out", s->bytes_out);
	buf_putc(b, '}');
}

void
api_session_stop(struct api_req *rq)
{
	static const char *const fields[] = { NULL };
	struct ops_err err;
	struct ops o;
	json_t *body;

	/* ngrok's stop takes an empty object, or nothing. */
	if ((body = api_body(rq, fields)) == NULL)
		return;
	json_decref(body);
	if (api_ops(rq, &o) != 0)
		return;
	if (ops_session_stop(&o, rq->segs[1], NULL, NULL, &err) != 0) {
		api_ops_error(rq, &err);
		return;
	}
	api_no_content(rq);
}

/* Append endpoint <e> as a JSON object. */
void
api_endpoint_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	const struct store_endpoint *e = obj;
	char hostport[300], url[320];

	if (strchr(e->host, ':') != NULL)
		snprintf(hostport, sizeof(hostport), "[%s]:%d", e->host,
		    e->port);
	else
		snprintf(hostport, sizeof(hostport), "%s:%d", e->host, e->port);
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", e->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/endpoints/%s", e->id);
	api_time(b, "created_at", e->started_ms);
	api_time(b, "ended_at", e->ended_ms);
	snprintf(url, sizeof(url), "tcp://%s", hostport);
	json_kv_str(b, 0, "public_url", url);
	json_kv_str(b, 0, "proto", "tcp");
	json_kv_str(b, 0, "hostport", hostport);
	json_kv_str(b, 0, "type",
	    e->edge_id != NULL          ? "edge"
	        : e->address_id != NULL ? "reserved"
	                                : "ephemeral");
	api_text(b, "metadata", e->metadata);
	api_ref(b, rq, "tunnel_session", "tunnel_sessions", e->session_id);
	api_ref(b, rq, "reserved_addr", "reserved_addrs", e->address_id);
	api_ref(b, rq, "edge", "edges/tcp", e->edge_id);
	json_kv_bool(b, 0, "pooled", e->pooled);
	api_account_ref(b, "account", e->account_id, e->account_name);
	api_text(b, "node", e->node);
	api_text(b, "region", e->region);
	json_kv_int(b, 0, "conns_open", e->conns_open);
	json_kv_int(b, 0, "conns_total", e->conns_total);
	json_kv_int(b, 0, "bytes_in", e->bytes_in);
	json_kv_int(b, 0, "bytes_out", e->bytes_out);
	buf_putc(b, '}');
}
