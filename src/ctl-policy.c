/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "buf.h"
#include "compat.h"
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * IP policies: named sets of allow and deny rules, attached to accounts
 * (account update --ip-policy) and reserved addresses (address update
 * --ip-policy). Each is one layer of DESIGN.md's "Traffic policy": a
 * connection must pass the account's, the address's and the session's
 * own. Rules are stored in the canonical text of acl_cidr_format(), so
 * "2001:DB8::/32" and "2001:db8:0::/32" are one rule. portholed loads the
 * rules when a session starts and again when told of a change, which
 * every change here that a live session could see sends
 * (ctl_signal_reload).
 */

/* "allow" or "deny", the word a rule is given with. */
static const char *
ctl_policy_kind(int allow)
{
	return allow ? "allow" : "deny";
}

/* Append the member "key":["cidr",...] to <b>. */
static void
ctl_policy_json_rules(struct buf *b, const char *key, char *const *cidrs,
    size_t n)
{
	size_t i;

	buf_putc(b, ',');
	json_str(b, key);
	buf_puts(b, ":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_str(b, cidrs[i]);
	}
	buf_putc(b, ']');
}

/* Print policy <p> as one JSON line. */
static void
ctl_policy_json_line(const struct store_ip_policy *p)
{
	struct buf *b = buf_new();
	char when[CTL_TIME_LEN];

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", p->id);
	json_kv_str(b, 0, "name", p->name);
	json_kv_str(b, 0, "description", p->description);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(p->created_ms, when, sizeof(when)));
	ctl_policy_json_rules(b, "allow", p->allow, p->nallow);
	ctl_policy_json_rules(b, "deny", p->deny, p->ndeny);
	/* How many accounts and reserved addresses it is attached to. */
	json_kv_int(b, 0, "accounts", p->naccounts);
	json_kv_int(b, 0, "addresses", p->naddresses);
	json_kv_int(b, 0, "edges", p->nedges);
	buf_putc(b, '}');
	ctl_json_line(b);
	buf_free(b);
}

/*
 * ip-policy create NAME [--description TEXT] [--allow CIDR]...
 * [--deny CIDR]...: a new policy with its rules, all or nothing.
 */
int
ctl_policy_create(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_ip_policy *p = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_policy_create(ctl_ops(ctl), args->policy,
	         args->description, NULL, args->allow, args->nallow, args->deny,
	         args->ndeny, &p, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_policy_json_line(p);
	else
		ctl_printf("created ip-policy %s (%s)\n", p->name, p->id);
	r = 0;
out:
	store_ip_policy_free(p);
	return r;
}

/* ip-policy list: every policy, by name, with its rule counts. */
int
ctl_policy_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_ip_policy **list = NULL, *p;
	struct ctl_table *t = NULL;
	char when[CTL_TIME_LEN], nallow[16], ndeny[16], nacct[16], naddr[16];
	struct ops_err err;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_policy_list(ctl_ops(ctl), NULL, &list, &n, &more, &err)) !=
	    0) {
		ctl_report(&err);
		goto out;
	}
	if (!ctl->json)
		t = ctl_table_new("ID", "NAME", "ALLOW", "DENY", "ACCOUNTS",
		    "ADDRESSES", "CREATED", "DESCRIPTION", NULL);
	for (i = 0; i < n; i++) {
		p = list[i];
		if (ctl->json) {
			ctl_policy_json_line(p);
			continue;
		}
		snprintf(nallow, sizeof(nallow), "%zu", p->nallow);
		snprintf(ndeny, sizeof(ndeny), "%zu", p->ndeny);
		snprintf(nacct, sizeof(nacct), "%d", p->naccounts);
		snprintf(naddr, sizeof(naddr), "%d", p->naddresses);
		ctl_table_add(t, p->id, p->name, nallow, ndeny, nacct, naddr,
		    ctl_time(p->created_ms, when, sizeof(when)),
		    ctl_cell(p->description));
	}
	if (t != NULL)
		ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	store_ip_policy_list_free(list, n);
	return r;
}

/* Add rows <label> CIDR to <t>, the label on the first only; "-" if none. */
static void
ctl_policy_show_rules(struct ctl_table *t, const char *label,
    char *const *cidrs, size_t n)
{
	size_t i;

	if (n == 0)
		ctl_table_add(t, label, NULL);
	for (i = 0; i < n; i++)
		ctl_table_add(t, i == 0 ? label : "", cidrs[i]);
}

/*
 * ip-policy show NAME: every field of one policy, its rules one per
 * line, and what it is attached to.
 */
int
ctl_policy_show(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_ip_policy *p = NULL;
	struct ctl_table *t = NULL;
	struct buf *accounts = NULL, *addresses = NULL;
	char when[CTL_TIME_LEN], nedges[16];
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_policy_get(ctl_ops(ctl), args->policy, &p, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		ctl_policy_json_line(p);
		r = 0;
		goto out;
	}
	accounts = buf_new();
	addresses = buf_new();
	if ((r = ops_policy_attached(ctl_ops(ctl), p->id, 0, accounts,
	         addresses, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	/* A label/value list: the first pair takes the header's place. */
	t = ctl_table_new("ID", p->id, NULL);
	ctl_table_add(t, "Name", p->name);
	ctl_table_add(t, "Description", ctl_cell(p->description));
	ctl_table_add(t, "Created",
	    ctl_time(p->created_ms, when, sizeof(when)));
	ctl_policy_show_rules(t, "Allow", p->allow, p->nallow);
	ctl_policy_show_rules(t, "Deny", p->deny, p->ndeny);
	ctl_table_add(t, "Accounts", ctl_cell(buf_str(accounts)));
	ctl_table_add(t, "Addresses", ctl_cell(buf_str(addresses)));
	snprintf(nedges, sizeof(nedges), "%d", p->nedges);
	ctl_table_add(t, "Edges", nedges);
	ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	buf_free(accounts);
	buf_free(addresses);
	store_ip_policy_free(p);
	return r;
}

/*
 * ip-policy delete NAME: refused while the policy is attached, naming
 * the accounts and addresses to detach it from first.
 */
int
ctl_policy_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_ip_policy *p = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_policy_delete(ctl_ops(ctl), args->policy, &p, &err)) !=
	    0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_policy_json_line(p);
	else
		ctl_printf("deleted ip-policy %s (%s)\n", p->name, p->id);
	r = 0;
out:
	store_ip_policy_free(p);
	return r;
}

/*
 * ip-policy rule add|delete NAME allow|deny CIDR. Sessions whose
 * account or addresses have the policy reload it.
 */
static int
ctl_policy_rule(struct ctl *ctl, const struct ctl_args *args, int add)
{
	struct store_ip_policy *after = NULL;
	struct store_ip_rule *x = NULL, *found = NULL;
	const char *kind = ctl_policy_kind(args->rule_allow);
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if (add)
		r = ops_rule_add(ctl_ops(ctl), args->policy, args->rule_allow,
		    args->cidr, NULL, NULL, &x, &err);
	else if ((r = ops_rule_find(ctl_ops(ctl), args->policy,
	              args->rule_allow, args->cidr, &found, &err)) == 0)
		r = ops_rule_delete(ctl_ops(ctl), found->id, &x, &err);
	/* The policy after the change, to print it. */
	if (r == 0)
		r = ops_policy_get(ctl_ops(ctl), x->policy_id, &after, &err);
	if (r != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_policy_json_line(after);
	else if (add)
		ctl_printf("added rule %s %s to ip-policy %s\n", kind, x->cidr,
		    after->name);
	else
		ctl_printf("deleted rule %s %s from ip-policy %s\n", kind,
		    x->cidr, after->name);
out:
	store_ip_rule_free(found);
	store_ip_rule_free(x);
	store_ip_policy_free(after);
	return r;
}

/* ip-policy rule add NAME allow|deny CIDR. */
int
ctl_policy_rule_add(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_policy_rule(ctl, args, 1);
}

/* ip-policy rule delete NAME allow|deny CIDR. */
int
ctl_policy_rule_delete(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_policy_rule(ctl, args, 0);
}
