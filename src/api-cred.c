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

/*
 * Credentials: /ssh_credentials (public keys, ops-key.c), /credentials
 * (authtokens, ops-token.c) and /api_keys (ops-apikey.c). A secret
 * (token or key) is in the answer to its creation only, written
 * straight from the stack buffer ops filled and wiped at once.
 */

/* The body of a create or update of an ssh credential or a token. */
static const char *const api_cred_fields[] = { "description", "metadata",
	"account", "public_key", NULL };

/* Append SSH key <k>. */
void
api_sshkey_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	const struct store_key *k = obj;
	struct buf *line = buf_new();

	buf_printf(line, "%s %s", k->type, k->blob);
	if (k->comment != NULL && k->comment[0] != '\0')
		buf_printf(line, " %s", k->comment);
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", k->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/ssh_credentials/%s", k->id);
	api_time(b, "created_at", k->created_ms);
	api_text(b, "description", k->description);
	api_text(b, "metadata", k->metadata);
	json_kv_str(b, 0, "public_key", buf_str(line));
	json_kv_str(b, 0, "fingerprint", k->fingerprint);
	json_kv_str(b, 0, "owner_id", k->account_id);
	buf_putc(b, '}');
	buf_free(line);
}

void
api_sshkey_create(struct api_req *rq)
{
	struct store_key *k = NULL;
	const char *desc, *meta, *account, *line;
	struct ops_err err;
	struct ops o;
	json_t *body;

	if ((body = api_body(rq, api_cred_fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 ||
	    api_str(rq, body, "account", &account) != 0 ||
	    api_str(rq, body, "public_key", &line) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (line == NULL) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "public_key is required ('ssh-ed25519 AAAA… comment')");
		goto out;
	}
	if (ops_key_add(&o, account, line, desc, meta, &k, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_kind_answer(rq, &api_kind_sshkey, &o, 201, k);
out:
	store_key_free(k);
	json_decref(body);
}

/* Append authtoken <t>; with <secret>, its "token" too (creation). */
static void
api_token_json(struct buf *b, struct api_req *rq, const struct store_token *t,
    const char *secret)
{
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", t->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/credentials/%s", t->id);
	api_time(b, "created_at", t->created_ms);
	api_text(b, "description", t->description);
	api_text(b, "metadata", t->metadata);
	json_kv_str(b, 0, "owner_id", t->account_id);
	api_time(b, "last_used_at", t->last_used_ms);
	api_time(b, "revoked_at", t->revoked_ms);
	if (secret != NULL)
		json_kv_str(b, 0, "token", secret);
	buf_putc(b, '}');
}

/*
 * Answer with <t> and <secret> (base62 text). The answer's body is
 * wiped when libmicrohttpd is done with it (api-http.c).
 */
static void
api_token_answer(struct api_req *rq, int status, const struct store_token *t,
    const char *secret)
{
	rq->out = buf_new();
	api_token_json(rq->out, rq, t, secret);
	buf_putc(rq->out, '\n');
	rq->status = status;
}

void
api_token_create(struct api_req *rq)
{
	struct store_token *t = NULL;
	const char *desc, *meta, *account, *line;
	char secret[OPS_SECRET_LEN];
	struct ops_err err;
	struct ops o;
	json_t *body;

	memset(secret, 0, sizeof(secret));
	if ((body = api_body(rq, api_cred_fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "metadata", &meta) != 0 ||
	    api_str(rq, body, "account", &account) != 0 ||
	    api_str(rq, body, "public_key", &line) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (line != NULL) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "public_key belongs to /ssh_credentials, not to "
		    "/credentials (authtokens)");
		goto out;
	}
	if (ops_token_create(&o, account, desc, meta, secret, sizeof(secret),
	        &t, &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	api_token_answer(rq, 201, t, secret);
out:
	sodium_memzero(secret, sizeof(secret));
	store_token_free(t);
	json_decref(body);
}

/* Append API key <k>; with <secret>, its "token" too (creation). */
static void
api_apikey_json(struct buf *b, struct api_req *rq, const struct store_apikey *k,
    const char *secret)
{
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", k->id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/api_keys/%s", k->id);
	api_time(b, "created_at", k->created_ms);
	api_text(b, "description", k->description);
	json_kv_str(b, 0, "owner_id", k->account_id);
	api_time(b, "last_used_at", k->last_used_ms);
	api_time(b, "revoked_at", k->revoked_ms);
	if (secret != NULL)
		json_kv_str(b, 0, "token", secret);
	buf_putc(b, '}');
}

void
api_apikey_create(struct api_req *rq)
{
	static const char *const fields[] = { "description", "account", NULL };
	struct store_apikey *k = NULL;
	const char *desc, *account;
	char secret[OPS_SECRET_LEN];
	struct ops_err err;
	struct ops o;
	json_t *body;

	memset(secret, 0, sizeof(secret));
	if ((body = api_body(rq, fields)) == NULL)
		return;
	if (api_str(rq, body, "description", &desc) != 0 ||
	    api_str(rq, body, "account", &account) != 0 || api_ops(rq, &o) != 0)
		goto out;
	if (ops_apikey_create(&o, account, desc, secret, sizeof(secret), &k,
	        &err) != 0) {
		api_ops_error(rq, &err);
		goto out;
	}
	rq->out = buf_new();
	api_apikey_json(rq->out, rq, k, secret);
	buf_putc(rq->out, '\n');
	rq->status = 201;
out:
	sodium_memzero(secret, sizeof(secret));
	store_apikey_free(k);
	json_decref(body);
}

/* What ended with it is in the event; the API answers 204. */

/* As the generic handlers write it: never a secret. */
void
api_token_kind_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	api_token_json(b, rq, obj, NULL);
}

/* As the generic handlers write it: never a secret. */
void
api_apikey_kind_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj)
{
	api_apikey_json(b, rq, obj, NULL);
}
