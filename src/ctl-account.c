/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"

/* Append account <a> to <b> as a JSON object. */
static void
ctl_account_json(struct buf *b, const struct store_account *a)
{
	char when[CTL_TIME_LEN];

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", a->id);
	json_kv_str(b, 0, "name", a->name);
	json_kv_bool(b, 0, "disabled", a->disabled);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(a->created_ms, when, sizeof(when)));
	json_kv_int(b, 0, "keys", a->nkeys);
	buf_putc(b, '}');
}

/* account add NAME: create an account; print its name and id. */
int
ctl_account_add(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct buf *b = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (!store_account_name_valid(args->account)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		error("invalid account name '%.100s': use 1-64 letters, "
		      "digits, '.', '_' or '-', not starting with '-'",
		    args->account);
		goto out;
	}
	if ((r = store_account_add(ctl->store, args->account, &a)) != 0) {
		if (r == PORTHOLE_ERR_EXISTS)
			error("account '%.100s' already exists", args->account);
		else
			error_r(r, "add account '%.100s'", args->account);
		goto out;
	}
	if (ctl->json) {
		b = buf_new();
		ctl_account_json(b, a);
		ctl_json_line(b);
	} else
		printf("created account %s (%s)\n", a->name, a->id);
	r = 0;
out:
	buf_free(b);
	store_account_free(a);
	return r;
}

/* account list: every account, with its number of keys. */
int
ctl_account_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account **list = NULL;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	char when[CTL_TIME_LEN], nkeys[16];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_account_list(ctl->store, &list, &n)) != 0) {
		error_r(r, "list accounts");
		goto out;
	}
	if (ctl->json) {
		b = buf_new();
		for (i = 0; i < n; i++) {
			ctl_account_json(b, list[i]);
			ctl_json_line(b);
		}
	} else {
		t = ctl_table_new("ID", "NAME", "KEYS", "STATUS", "CREATED",
		    NULL);
		for (i = 0; i < n; i++) {
			snprintf(nkeys, sizeof(nkeys), "%d", list[i]->nkeys);
			ctl_table_add(t, list[i]->id, list[i]->name, nkeys,
			    list[i]->disabled ? "disabled" : "active",
			    ctl_time(list[i]->created_ms, when, sizeof(when)));
		}
		ctl_table_print(t);
	}
	r = 0;
out:
	ctl_table_free(t);
	buf_free(b);
	store_account_list_free(list, n);
	return r;
}
