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
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Webhooks: event destinations and subscriptions, through the
 * operations layer (ops-hook.c) as an administrator (ctl_ops()). The
 * delivery is portholed's; "destination show" says how it goes.
 */

/* What a listing says for the administrators' own. */
#define CTL_HOOK_ADMIN "(admin)"

/* Append destination <d>'s members (never its secret) to <b>. */
static void
ctl_dest_json(struct buf *b, const struct store_hook_dest *d)
{
	char when[CTL_TIME_LEN];

	json_kv_str(b, 1, "id", d->id);
	json_kv_str(b, 0, "account", d->account_name);
	json_kv_str(b, 0, "account_id", d->account_id);
	json_kv_str(b, 0, "url", d->url);
	json_kv_str(b, 0, "description", d->description);
	json_kv_str(b, 0, "metadata", d->metadata);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(d->created_ms, when, sizeof(when)));
	json_kv_int(b, 0, "cursor", d->cursor);
	json_kv_int(b, 0, "delivered_total", d->delivered_total);
	json_kv_str(b, 0, "delivered_at",
	    d->delivered_ms != 0
	        ? misc_rfc3339(d->delivered_ms, when, sizeof(when))
	        : NULL);
	json_kv_int(b, 0, "failures", d->attempts);
	json_kv_str(b, 0, "last_error", d->last_error);
	json_kv_str(b, 0, "next_attempt_at",
	    d->next_attempt_ms != 0
	        ? misc_rfc3339(d->next_attempt_ms, when, sizeof(when))
	        : NULL);
	json_kv_str(b, 0, "lease_node", d->lease_node);
}

/* Print destination <d> as one JSON line. */
static void
ctl_dest_json_line(const struct store_hook_dest *d)
{
	struct buf *b = buf_new();

	buf_putc(b, '{');
	ctl_dest_json(b, d);
	buf_putc(b, '}');
	ctl_json_line(b);
	buf_free(b);
}

/*
 * destination create URL [--account ACCOUNT] [--secret SECRET]
 * [--description TEXT] [--metadata TEXT]: the secret alone goes to
 * stdout (S=$(portholectl destination create URL) works), once; the id
 * and the note go to stderr.
 */
int
ctl_dest_create(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_hook_dest *d = NULL;
	struct ops_err err;
	struct buf *b = NULL;
	char secret[OPS_HOOK_SECRET_LEN];
	const char *p;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&err, 0, sizeof(err));
	if ((r = ops_hook_dest_create(ctl_ops(ctl), args->account, args->url,
	         args->secret, args->description, args->metadata, secret,
	         sizeof(secret), &d, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		/* The secret is printed directly, never copied into a buf. */
		b = buf_new();
		ctl_dest_json(b, d);
		printf("{%s,\"secret\":\"", buf_str(b));
		/* Printable ASCII (ops checked it): only " and \ escaped. */
		for (p = secret; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				putchar('\\');
			putchar(*p);
		}
		printf("\"}\n");
	} else
		printf("%s\n", secret);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		r = PORTHOLE_ERR_SYSTEM;
		error("write to stdout: %s; destination %s deleted",
		    strerror(errno), d->id);
		(void)ops_hook_dest_delete(ctl_ops(ctl), d->id, NULL, &err);
		goto out;
	}
	fprintf(stderr,
	    "portholectl: event destination %s (%s): secret shown once, "
	    "store it now\n",
	    d->id, d->account_name != NULL ? d->account_name : "admin");
	r = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	buf_free(b);
	store_hook_dest_free(d);
	return r;
}

/* destination list [ACCOUNT]: every live destination, newest first. */
int
ctl_dest_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_hook_dest **list = NULL, *d;
	struct ctl_table *tab = NULL;
	struct ops_err err;
	char created[CTL_TIME_LEN], delivered[CTL_TIME_LEN], fails[16];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	memset(&err, 0, sizeof(err));
	if ((r = ops_hook_dest_list(ctl_ops(ctl), args->account, NULL, &list,
	         &n, &more, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (!ctl->json)
		tab = ctl_table_new("ID", "ACCOUNT", "CREATED", "DELIVERED",
		    "FAILURES", "URL", NULL);
	for (i = 0; i < n; i++) {
		d = list[i];
		if (ctl->json) {
			ctl_dest_json_line(d);
			continue;
		}
		snprintf(fails, sizeof(fails), "%d", d->attempts);
		ctl_table_add(tab, d->id,
		    d->account_id == NULL ? CTL_HOOK_ADMIN : d->account_name,
		    ctl_time(d->created_ms, created, sizeof(created)),
		    ctl_time(d->delivered_ms, delivered, sizeof(delivered)),
		    fails, d->url);
	}
	if (tab != NULL)
		ctl_table_print(tab);
	r = 0;
out:
	ctl_table_free(tab);
	store_hook_dest_list_free(list, n);
	return r;
}

/* destination show ID: the destination and how its delivery goes. */
int
ctl_dest_show(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_hook_dest *d = NULL;
	struct ctl_table *tab = NULL;
	struct ops_err err;
	char created[CTL_TIME_LEN], delivered[CTL_TIME_LEN];
	char next[CTL_TIME_LEN], num[3][24];
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&err, 0, sizeof(err));
	if ((r = ops_hook_dest_get(ctl_ops(ctl), args->id, &d, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		ctl_dest_json_line(d);
		r = 0;
		goto out;
	}
	snprintf(num[0], sizeof(num[0]), "%lld", (long long)d->cursor);
	snprintf(num[1], sizeof(num[1]), "%lld", (long long)d->delivered_total);
	snprintf(num[2], sizeof(num[2]), "%d", d->attempts);
	tab = ctl_table_new("ID", d->id, NULL);
	ctl_table_add(tab, "ACCOUNT",
	    d->account_id == NULL ? CTL_HOOK_ADMIN : d->account_name);
	ctl_table_add(tab, "URL", d->url);
	ctl_table_add(tab, "DESCRIPTION", ctl_cell(d->description));
	ctl_table_add(tab, "METADATA", ctl_cell(d->metadata));
	ctl_table_add(tab, "CREATED",
	    ctl_time(d->created_ms, created, sizeof(created)));
	ctl_table_add(tab, "CURSOR", num[0]);
	ctl_table_add(tab, "DELIVERED", num[1]);
	ctl_table_add(tab, "LAST-DELIVERY",
	    ctl_time(d->delivered_ms, delivered, sizeof(delivered)));
	ctl_table_add(tab, "FAILURES", num[2]);
	ctl_table_add(tab, "LAST-ERROR", ctl_cell(d->last_error));
	ctl_table_add(tab, "NEXT-ATTEMPT",
	    ctl_time(d->next_attempt_ms, next, sizeof(next)));
	ctl_table_add(tab, "NODE", ctl_cell(d->lease_node));
	ctl_table_print(tab);
	r = 0;
out:
	ctl_table_free(tab);
	store_hook_dest_free(d);
	return r;
}

/* destination delete ID: its delivery stops; subscriptions lose it. */
int
ctl_dest_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_hook_dest *d = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&err, 0, sizeof(err));
	if ((r = ops_hook_dest_delete(ctl_ops(ctl), args->id, &d, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_dest_json_line(d);
	else
		ctl_printf("deleted event destination %s (%s)\n", d->id,
		    d->url);
	r = 0;
out:
	store_hook_dest_free(d);
	return r;
}

/* Append subscription <s>'s members to <b>. */
static void
ctl_sub_json(struct buf *b, const struct store_hook_sub *s)
{
	char when[CTL_TIME_LEN];
	size_t i;

	json_kv_str(b, 1, "id", s->id);
	json_kv_str(b, 0, "account", s->account_name);
	json_kv_str(b, 0, "account_id", s->account_id);
	json_kv_str(b, 0, "description", s->description);
	json_kv_str(b, 0, "metadata", s->metadata);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(s->created_ms, when, sizeof(when)));
	buf_puts(b, ",\"event_types\":[");
	for (i = 0; i < s->ntypes; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_str(b, s->types[i]);
	}
	buf_puts(b, "],\"destination_ids\":[");
	for (i = 0; i < s->ndests; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_str(b, s->dests[i]);
	}
	buf_putc(b, ']');
}

static void
ctl_sub_json_line(const struct store_hook_sub *s)
{
	struct buf *b = buf_new();

	buf_putc(b, '{');
	ctl_sub_json(b, s);
	buf_putc(b, '}');
	ctl_json_line(b);
	buf_free(b);
}

/* <list> of <n> words joined with commas, for a table (caller frees). */
static char *
ctl_hook_join(char *const *list, size_t n)
{
	struct buf *b = buf_new();
	char *s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		buf_puts(b, list[i]);
	}
	s = buf_steal(b);
	buf_free(b);
	return s;
}

/*
 * subscription create --destination ID... --type TYPE... [--account
 * ACCOUNT] [--description TEXT] [--metadata TEXT].
 */
int
ctl_sub_create(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_hook_sub *s = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&err, 0, sizeof(err));
	if ((r = ops_hook_sub_create(ctl_ops(ctl), args->account,
	         args->description, args->metadata, args->types, args->ntypes,
	         args->destinations, args->ndestinations, &s, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_sub_json_line(s);
	else
		ctl_printf("%s\n", s->id);
	r = 0;
out:
	store_hook_sub_free(s);
	return r;
}

/* subscription list [ACCOUNT]. */
int
ctl_sub_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_hook_sub **list = NULL, *s;
	struct ctl_table *tab = NULL;
	struct ops_err err;
	char created[CTL_TIME_LEN], *types, *dests;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	memset(&err, 0, sizeof(err));
	if ((r = ops_hook_sub_list(ctl_ops(ctl), args->account, NULL, &list, &n,
	         &more, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (!ctl->json)
		tab = ctl_table_new("ID", "ACCOUNT", "CREATED", "DESTINATIONS",
		    "TYPES", NULL);
	for (i = 0; i < n; i++) {
		s = list[i];
		if (ctl->json) {
			ctl_sub_json_line(s);
			continue;
		}
		types = ctl_hook_join(s->types, s->ntypes);
		dests = ctl_hook_join(s->dests, s->ndests);
		ctl_table_add(tab, s->id,
		    s->account_id == NULL ? CTL_HOOK_ADMIN : s->account_name,
		    ctl_time(s->created_ms, created, sizeof(created)),
		    ctl_cell(dests), types);
		free(types);
		free(dests);
	}
	if (tab != NULL)
		ctl_table_print(tab);
	r = 0;
out:
	ctl_table_free(tab);
	store_hook_sub_list_free(list, n);
	return r;
}

/* subscription delete ID. */
int
ctl_sub_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_hook_sub *s = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&err, 0, sizeof(err));
	if ((r = ops_hook_sub_delete(ctl_ops(ctl), args->id, &s, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_sub_json_line(s);
	else
		ctl_printf("deleted event subscription %s\n", s->id);
	r = 0;
out:
	store_hook_sub_free(s);
	return r;
}
