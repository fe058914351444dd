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
 * Append the members of token <t> that are not secret to <b>, as part
 * of an object already opened.
 */
static void
ctl_token_json(struct buf *b, const struct store_token *t)
{
	char when[CTL_TIME_LEN];

	json_kv_str(b, 1, "id", t->id);
	json_kv_str(b, 0, "account", t->account_name);
	json_kv_str(b, 0, "account_id", t->account_id);
	json_kv_str(b, 0, "description", t->description);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(t->created_ms, when, sizeof(when)));
	if (t->last_used_ms != 0)
		json_kv_str(b, 0, "last_used_at",
		    misc_rfc3339(t->last_used_ms, when, sizeof(when)));
	else
		json_kv_str(b, 0, "last_used_at", NULL);
	if (t->revoked_ms != 0)
		json_kv_str(b, 0, "revoked_at",
		    misc_rfc3339(t->revoked_ms, when, sizeof(when)));
}

/*
 * token create ACCOUNT [--description TEXT]: make an authtoken and print
 * it, once: only its keyed hash is kept. The token alone goes to stdout
 * so that T=$(portholectl token create ci) works; the note that it will
 * not be shown again goes to stderr.
 */
int
ctl_token_create(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct buf *b = NULL;
	unsigned char key[TOKEN_KEY_LEN], hash[TOKEN_HASH_LEN];
	char token[TOKEN_LEN + 1], when[CTL_TIME_LEN], *id = NULL;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(token, 0, sizeof(token));
	if ((r = ctl_account_lookup(ctl, args->account, &a)) != 0)
		goto out;
	/* Made on first use (O_EXCL), so portholed and we share one. */
	if ((r = token_key_load(ctl->conf->token_key, 1, key)) != 0) {
		if (r == PORTHOLE_ERR_INVALID_FORMAT)
			error("TokenKey %s: not a token key (want %d bytes)",
			    ctl->conf->token_key, TOKEN_KEY_LEN);
		else
			error_r(r, "TokenKey %s", ctl->conf->token_key);
		goto out;
	}
	token_generate(token, sizeof(token));
	token_hash(key, token, hash);
	id = id_new("tk");
	now = misc_now_ms();
	if ((r = store_token_add(ctl->store, id, a->id, hash, sizeof(hash),
	         args->description, now)) != 0) {
		error_r(r, "account %s: add token", a->name);
		goto out;
	}

	if (ctl->json) {
		/*
		 * The token is printed directly, never copied into a buf
		 * whose old allocations would keep it after a realloc. It
		 * is base62 text, so it needs no JSON escaping.
		 */
		b = buf_new();
		buf_putc(b, '{');
		json_kv_str(b, 1, "id", id);
		printf("%s,\"token\":\"%s\"", buf_str(b), token);
		buf_reset(b);
		json_kv_str(b, 1, "account", a->name);
		json_kv_str(b, 0, "account_id", a->id);
		json_kv_str(b, 0, "description",
		    args->description == NULL ? "" : args->description);
		json_kv_str(b, 0, "created_at",
		    misc_rfc3339(now, when, sizeof(when)));
		printf(",%s}\n", buf_str(b));
	} else
		printf("%s\n", token);
	/* A token nobody saw must not stay valid. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		r = PORTHOLE_ERR_SYSTEM;
		error("write to stdout: %s; token %s revoked", strerror(errno),
		    id);
		/* Nobody has it, so no session can have used it. */
		(void)store_token_revoke(ctl->store, id, misc_now_ms(), NULL,
		    NULL);
		goto out;
	}
	/* Not error(): this is a notice, and it must never hold the token. */
	fprintf(stderr,
	    "portholectl: token %s for account %s: shown once, store it now\n",
	    id, a->name);
	r = 0;
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hash, sizeof(hash));
	free(id);
	buf_free(b);
	store_account_free(a);
	return r;
}

/* token list [ACCOUNT]: the valid tokens; never the token or its hash. */
int
ctl_token_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct store_token **list = NULL, *t;
	struct ctl_table *tab = NULL;
	struct buf *b = NULL;
	char created[CTL_TIME_LEN], used[CTL_TIME_LEN];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (args->account != NULL &&
	    (r = ctl_account_lookup(ctl, args->account, &a)) != 0)
		goto out;
	if ((r = store_token_list(ctl->store, a == NULL ? NULL : a->id, &list,
	         &n)) != 0) {
		error_r(r, "list tokens");
		goto out;
	}
	if (ctl->json)
		b = buf_new();
	else
		tab = ctl_table_new("ID", "ACCOUNT", "CREATED", "LAST-USED",
		    "DESCRIPTION", NULL);
	for (i = 0; i < n; i++) {
		t = list[i];
		if (ctl->json) {
			buf_putc(b, '{');
			ctl_token_json(b, t);
			json_kv_bool(b, 0, "account_disabled",
			    t->account_disabled);
			buf_putc(b, '}');
			ctl_json_line(b);
		} else
			ctl_table_add(tab, t->id, t->account_name,
			    ctl_time(t->created_ms, created, sizeof(created)),
			    ctl_time(t->last_used_ms, used, sizeof(used)),
			    ctl_cell(t->description));
	}
	if (tab != NULL)
		ctl_table_print(tab);
	r = 0;
out:
	ctl_table_free(tab);
	buf_free(b);
	store_token_list_free(list, n);
	store_account_free(a);
	return r;
}

/*
 * token revoke ID: the token stops working at once, and the live
 * sessions that logged in with it end; their processes are told at
 * once.
 */
int
ctl_token_revoke(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_token **list = NULL, *t = NULL;
	struct buf *b = NULL;
	int64_t *pids = NULL;
	size_t n = 0, npids = 0, i;
	int64_t now;
	int r = PORTHOLE_ERR_INTERNAL;

	/* Find it first, to name its account in the report. */
	if ((r = store_token_list(ctl->store, NULL, &list, &n)) != 0) {
		error_r(r, "list tokens");
		goto out;
	}
	for (i = 0; i < n && t == NULL; i++) {
		if (strcmp(list[i]->id, args->id) == 0)
			t = list[i];
	}
	if (t == NULL) {
		r = PORTHOLE_ERR_NOT_FOUND;
		error("no such token '%.100s'", args->id);
		goto out;
	}
	now = misc_now_ms();
	if ((r = store_token_revoke(ctl->store, t->id, now, &pids, &npids)) !=
	    0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* revoked meanwhile */
			error("no such token '%.100s'", args->id);
		else
			error_r(r, "revoke token %s", t->id);
		goto out;
	}
	ctl_signal_sessions(ctl, pids, npids);
	t->revoked_ms = now;
	if (ctl->json) {
		b = buf_new();
		buf_putc(b, '{');
		ctl_token_json(b, t);
		json_kv_int(b, 0, "sessions_ended", (int64_t)npids);
		buf_putc(b, '}');
		ctl_json_line(b);
	} else
		ctl_printf("revoked token %s of account %s; ended %zu "
		           "session%s\n",
		    t->id, t->account_name, npids, npids == 1 ? "" : "s");
	r = 0;
out:
	free(pids);
	buf_free(b);
	store_token_list_free(list, n);
	return r;
}
