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
	struct store_token *t = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	char token[OPS_SECRET_LEN], when[CTL_TIME_LEN];
	int r = PORTHOLE_ERR_INTERNAL;

	memset(token, 0, sizeof(token));
	if ((r = ops_token_create(ctl_ops(ctl), args->account,
	         args->description, NULL, token, sizeof(token), &t, &err)) !=
	    0) {
		ctl_report(&err);
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
		json_kv_str(b, 1, "id", t->id);
		printf("%s,\"token\":\"%s\"", buf_str(b), token);
		buf_reset(b);
		json_kv_str(b, 1, "account", t->account_name);
		json_kv_str(b, 0, "account_id", t->account_id);
		json_kv_str(b, 0, "description", t->description);
		json_kv_str(b, 0, "created_at",
		    misc_rfc3339(t->created_ms, when, sizeof(when)));
		printf(",%s}\n", buf_str(b));
	} else
		printf("%s\n", token);
	/* A token nobody saw must not stay valid. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		r = PORTHOLE_ERR_SYSTEM;
		error("write to stdout: %s; token %s revoked", strerror(errno),
		    t->id);
		/* Nobody has it, so no session can have used it. */
		(void)ops_token_revoke(ctl_ops(ctl), t->id, NULL, NULL, &err);
		goto out;
	}
	/* Not error(): this is a notice, and it must never hold the token. */
	fprintf(stderr,
	    "portholectl: token %s for account %s: shown once, store it now\n",
	    t->id, t->account_name);
	r = 0;
out:
	sodium_memzero(token, sizeof(token));
	buf_free(b);
	store_token_free(t);
	return r;
}

/* token list [ACCOUNT]: the valid tokens; never the token or its hash. */
int
ctl_token_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_token **list = NULL, *t;
	struct ctl_table *tab = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	char created[CTL_TIME_LEN], used[CTL_TIME_LEN];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_token_list(ctl_ops(ctl), args->account, NULL, &list, &n,
	         &more, &err)) != 0) {
		ctl_report(&err);
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
	struct store_token *t = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	size_t nended = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_token_revoke(ctl_ops(ctl), args->id, &t, &nended, &err)) !=
	    0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		b = buf_new();
		buf_putc(b, '{');
		ctl_token_json(b, t);
		json_kv_int(b, 0, "sessions_ended", (int64_t)nended);
		buf_putc(b, '}');
		ctl_json_line(b);
	} else
		ctl_printf("revoked token %s of account %s; ended %zu "
		           "session%s\n",
		    t->id, t->account_name, nended, nended == 1 ? "" : "s");
	r = 0;
out:
	buf_free(b);
	store_token_free(t);
	return r;
}
