/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api.h"
#include "api-int.h"

#include "conf.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "token.h"

/*
 * API keys: "Authorization: Bearer phk_…", looked up by keyed hash as
 * authtokens are (store_apikey_find, token_hash_equal). An
 * administrator's key (no account) sees everything; an account's key
 * is scoped to its account (rq->scope), which ops.h enforces. A failed
 * authentication is answered 401, logged with the source and the
 * reason (never the key: log.c redacts phk_ anyway), and reported to
 * the monitor, which counts it (porthole_api_auth_failures_total) and
 * penalises the source as PerSourcePenalties does failed SSH logins.
 */

/* Note a key's use at most this often (a write per request is costly). */
#define API_TOUCH_MS (60 * 1000)

/* Answer 401 for <why> and report it. */
static int
api_auth_fail(struct api_req *rq, const char *why)
{
	logit("API: authentication failed from %s: %s (%s %.100s)",
	    rq->conn->ip, why, rq->method, rq->url);
	api_tell(rq->api, API_AUTHFAIL, rq->conn->ip);
	api_error(rq, 401, "UNAUTHORIZED", NULL,
	    "%s; send an API key as 'Authorization: Bearer phk_…' "
	    "(portholectl api-key create)",
	    why);
	return -1;
}

int
api_auth(struct api_req *rq, int query_ok)
{
	struct store *store;
	struct store_apikey *k = NULL;
	unsigned char hash[TOKEN_HASH_LEN], stored[TOKEN_HASH_LEN];
	const char *h, *key = NULL;
	int r, ret = -1;

	if ((h = api_header(rq, MHD_HTTP_HEADER_AUTHORIZATION)) != NULL) {
		if (strncasecmp(h, "Bearer ", 7) != 0) {
			ret = api_auth_fail(rq,
			    "the Authorization header is not 'Bearer KEY'");
			goto out;
		}
		for (key = h + 7; *key == ' '; key++)
			;
	} else if (query_ok)
		key = api_query(rq, "access_token");
	if (key == NULL || *key == '\0') {
		ret = api_auth_fail(rq, "no API key");
		goto out;
	}
	if (!token_is_prefixed(key, APIKEY_PREFIX)) {
		ret = api_auth_fail(rq, "not an API key (phk_...)");
		goto out;
	}
	if ((store = api_req_store(rq)) == NULL)
		goto out;
	token_hash(rq->api->token_key, key, hash);
	r = store_apikey_find(store, hash, sizeof(hash), &k, stored);
	if (r == PORTHOLE_ERR_NOT_FOUND ||
	    (r == 0 && !token_hash_equal(hash, stored))) {
		ret = api_auth_fail(rq, "unknown or revoked API key");
		goto out;
	}
	if (r != 0) {
		error_r(r, "API: look up an API key");
		api_error(rq, 503, "UNAVAILABLE", NULL,
		    "the store cannot be read now; try again");
		goto out;
	}
	if (k->account_disabled) {
		logit("API: key %s of disabled account %s refused (from %s)",
		    k->id, k->account_name, rq->conn->ip);
		api_error(rq, 403, "ACCOUNT_DISABLED", NULL,
		    "account %s is disabled", k->account_name);
		goto out;
	}
	if (misc_now_ms() - k->last_used_ms >= API_TOUCH_MS &&
	    (r = store_apikey_touch(store, k->id, misc_now_ms())) != 0)
		debug("API: key %s: cannot note its use: %s", k->id,
		    porthole_strerror(r));
	/* Now the request's. */
	rq->key = k;
	rq->scope = k->account_id;
	k = NULL;
	debug("API: %s %.100s by key %s%s%s", rq->method, rq->url, rq->key->id,
	    rq->scope != NULL ? " of account " : " (admin)",
	    rq->scope != NULL ? rq->key->account_name : "");
	ret = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(stored, sizeof(stored));
	store_apikey_free(k);
	return ret;
}
