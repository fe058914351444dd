/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "conf.h"
#include "ctl.h"
#include "err.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/*
 * API keys, for the HTTP API that is still to come: made, listed and
 * revoked here as authtokens are (ctl-token.c), but a key may belong to
 * no account, and then it is an administrator's.
 */

/* What a listing says for the account of an administrator's key. */
#define CTL_APIKEY_ADMIN "(admin)"

/*
 * Append the members of key <k> that are not secret to <b>, as part of
 * an object already opened. An administrator's key has a null account.
 */
static void
ctl_apikey_json(struct buf *b, const struct store_apikey *k)
{
	char when[CTL_TIME_LEN];

	json_kv_str(b, 1, "id", k->id);
	json_kv_str(b, 0, "account", k->account_name);
	json_kv_str(b, 0, "account_id", k->account_id);
	json_kv_bool(b, 0, "admin", k->account_id == NULL);
	json_kv_str(b, 0, "description", k->description);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(k->created_ms, when, sizeof(when)));
	json_kv_str(b, 0, "last_used_at",
	    k->last_used_ms != 0
	        ? misc_rfc3339(k->last_used_ms, when, sizeof(when))
	        : NULL);
	json_kv_str(b, 0, "revoked_at",
	    k->revoked_ms != 0 ? misc_rfc3339(k->revoked_ms, when, sizeof(when))
	                       : NULL);
}

/*
 * api-key create [--account ACCOUNT] [--description TEXT]: make an API
 * key, an administrator's without --account, and print it once: only
 * its keyed hash is kept. The key alone goes to stdout, so that
 * K=$(portholectl api-key create) works; its id and the note that it
 * will not be shown again go to stderr.
 */
int
ctl_apikey_create(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct store_apikey k;
	struct buf *b = NULL;
	unsigned char tkey[TOKEN_KEY_LEN], hash[TOKEN_HASH_LEN];
	char apikey[APIKEY_LEN + 1], *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(apikey, 0, sizeof(apikey));
	if (args->account != NULL &&
	    (r = ctl_account_lookup(ctl, args->account, &a)) != 0)
		goto out;
	/* Made on first use (O_EXCL), so portholed and we share one. */
	if ((r = token_key_load(ctl->conf->token_key, 1, tkey)) != 0) {
		if (r == PORTHOLE_ERR_INVALID_FORMAT)
			error("TokenKey %s: not a token key (want %d bytes)",
			    ctl->conf->token_key, TOKEN_KEY_LEN);
		else
			error_r(r, "TokenKey %s", ctl->conf->token_key);
		goto out;
	}
	token_generate_prefixed(APIKEY_PREFIX, apikey, sizeof(apikey));
	token_hash(tkey, apikey, hash);
	id = id_new("ak");
	/* The row as the store would list it, for the JSON report (borrowed). */
	memset(&k, 0, sizeof(k));
	k.id = id;
	k.account_id = a != NULL ? a->id : NULL;
	k.account_name = a != NULL ? a->name : NULL;
	k.description =
	    (char *)(args->description != NULL ? args->description : "");
	k.created_ms = misc_now_ms();
	if ((r = store_apikey_add(ctl->store, id, k.account_id, hash,
	         sizeof(hash), args->description, k.created_ms)) != 0) {
		if (a != NULL)
			error_r(r, "account %s: add API key", a->name);
		else
			error_r(r, "add API key");
		goto out;
	}

	if (ctl->json) {
		/*
		 * The key is printed directly, never copied into a buf
		 * whose old allocations would keep it after a realloc. It
		 * is base62 text, so it needs no JSON escaping.
		 */
		b = buf_new();
		ctl_apikey_json(b, &k);
		printf("{%s,\"key\":\"%s\"}\n", buf_str(b), apikey);
	} else
		printf("%s\n", apikey);
	/* A key nobody saw must not stay valid. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		r = PORTHOLE_ERR_SYSTEM;
		error("write to stdout: %s; API key %s revoked",
		    strerror(errno), id);
		(void)store_apikey_revoke(ctl->store, id, misc_now_ms());
		goto out;
	}
	/* Not error(): this is a notice, and it must never hold the key. */
	if (a != NULL)
		fprintf(stderr,
		    "portholectl: API key %s for account %s: shown once, "
		    "store it now\n",
		    id, a->name);
	else
		fprintf(stderr,
		    "portholectl: API key %s (admin): shown once, store it "
		    "now\n",
		    id);
	r = 0;
out:
	sodium_memzero(apikey, sizeof(apikey));
	sodium_memzero(tkey, sizeof(tkey));
	sodium_memzero(hash, sizeof(hash));
	free(id);
	buf_free(b);
	store_account_free(a);
	return r;
}

/*
 * api-key list [ACCOUNT]: every key, revoked ones too, or an account's;
 * never the key or its hash.
 */
int
ctl_apikey_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct store_apikey **list = NULL, *k;
	struct ctl_table *tab = NULL;
	struct buf *b = NULL;
	char created[CTL_TIME_LEN], used[CTL_TIME_LEN], revoked[CTL_TIME_LEN];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (args->account != NULL &&
	    (r = ctl_account_lookup(ctl, args->account, &a)) != 0)
		goto out;
	if ((r = store_apikey_list(ctl->store, a == NULL ? NULL : a->id, &list,
	         &n)) != 0) {
		error_r(r, "list API keys");
		goto out;
	}
	if (ctl->json)
		b = buf_new();
	else
		tab = ctl_table_new("ID", "ACCOUNT", "DESCRIPTION", "CREATED",
		    "LAST-USED", "REVOKED", NULL);
	for (i = 0; i < n; i++) {
		k = list[i];
		if (ctl->json) {
			buf_putc(b, '{');
			ctl_apikey_json(b, k);
			json_kv_bool(b, 0, "account_disabled",
			    k->account_disabled);
			buf_putc(b, '}');
			ctl_json_line(b);
		} else
			ctl_table_add(tab, k->id,
			    k->account_id == NULL ? CTL_APIKEY_ADMIN
			                          : k->account_name,
			    ctl_cell(k->description),
			    ctl_time(k->created_ms, created, sizeof(created)),
			    ctl_time(k->last_used_ms, used, sizeof(used)),
			    ctl_time(k->revoked_ms, revoked, sizeof(revoked)));
	}
	if (tab != NULL)
		ctl_table_print(tab);
	r = 0;
out:
	ctl_table_free(tab);
	buf_free(b);
	store_apikey_list_free(list, n);
	store_account_free(a);
	return r;
}

/* api-key revoke ID: the key stops working at once. */
int
ctl_apikey_revoke(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_apikey **list = NULL, *k = NULL;
	struct buf *b = NULL;
	size_t n = 0, i;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	/* Find it first, to name its account in the report. */
	if ((r = store_apikey_list(ctl->store, NULL, &list, &n)) != 0) {
		error_r(r, "list API keys");
		goto out;
	}
	for (i = 0; i < n && k == NULL; i++) {
		if (strcmp(list[i]->id, args->id) == 0)
			k = list[i];
	}
	if (k == NULL) {
		r = PORTHOLE_ERR_NOT_FOUND;
		error("no such API key '%.100s'", args->id);
		goto out;
	}
	if (k->revoked_ms != 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		error("API key %s: already revoked", k->id);
		goto out;
	}
	now = misc_now_ms();
	if ((r = store_apikey_revoke(ctl->store, k->id, now)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* revoked meanwhile */
			error("API key %s: already revoked", k->id);
		else
			error_r(r, "revoke API key %s", k->id);
		goto out;
	}
	k->revoked_ms = now;
	if (ctl->json) {
		b = buf_new();
		buf_putc(b, '{');
		ctl_apikey_json(b, k);
		buf_putc(b, '}');
		ctl_json_line(b);
	} else if (k->account_id == NULL)
		ctl_printf("revoked API key %s (admin)\n", k->id);
	else
		ctl_printf("revoked API key %s of account %s\n", k->id,
		    k->account_name);
	r = 0;
out:
	buf_free(b);
	store_apikey_list_free(list, n);
	return r;
}
