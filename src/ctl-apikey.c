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
	struct store_apikey *k = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	char apikey[OPS_SECRET_LEN];
	int r = PORTHOLE_ERR_INTERNAL;

	memset(apikey, 0, sizeof(apikey));
	if ((r = ops_apikey_create(ctl_ops(ctl), args->account,
	         args->description, apikey, sizeof(apikey), &k, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		/*
		 * The key is printed directly, never copied into a buf
		 * whose old allocations would keep it after a realloc. It
		 * is base62 text, so it needs no JSON escaping.
		 */
		b = buf_new();
		ctl_apikey_json(b, k);
		printf("{%s,\"key\":\"%s\"}\n", buf_str(b), apikey);
	} else
		printf("%s\n", apikey);
	/* A key nobody saw must not stay valid. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		r = PORTHOLE_ERR_SYSTEM;
		error("write to stdout: %s; API key %s revoked",
		    strerror(errno), k->id);
		(void)ops_apikey_revoke(ctl_ops(ctl), k->id, NULL, &err);
		goto out;
	}
	/* Not error(): this is a notice, and it must never hold the key. */
	if (k->account_id != NULL)
		fprintf(stderr,
		    "portholectl: API key %s for account %s: shown once, "
		    "store it now\n",
		    k->id, k->account_name);
	else
		fprintf(stderr,
		    "portholectl: API key %s (admin): shown once, store it "
		    "now\n",
		    k->id);
	r = 0;
out:
	sodium_memzero(apikey, sizeof(apikey));
	buf_free(b);
	store_apikey_free(k);
	return r;
}

/*
 * api-key list [ACCOUNT]: every key, revoked ones too, or an account's;
 * never the key or its hash.
 */
int
ctl_apikey_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_apikey **list = NULL, *k;
	struct ctl_table *tab = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	char created[CTL_TIME_LEN], used[CTL_TIME_LEN], revoked[CTL_TIME_LEN];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_apikey_list(ctl_ops(ctl), args->account, NULL, &list, &n,
	         &more, &err)) != 0) {
		ctl_report(&err);
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
	return r;
}

/* api-key revoke ID: the key stops working at once. */
int
ctl_apikey_revoke(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_apikey *k = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_apikey_revoke(ctl_ops(ctl), args->id, &k, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
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
	store_apikey_free(k);
	return r;
}
