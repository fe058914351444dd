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

int
ctl_policy_cidr(const char *what, const char *text, char *buf, size_t len)
{
	struct acl_cidr c;
	const char *reason;
	char errbuf[256];
	size_t tlen = strlen(text);
	int r = PORTHOLE_ERR_INTERNAL;

	errbuf[0] = '\0';
	if ((r = acl_cidr_parse(text, &c, errbuf, sizeof(errbuf))) != 0) {
		if (errbuf[0] == '\0')
			strlcpy(errbuf, porthole_strerror(r), sizeof(errbuf));
		/* The reason may start with the text: say it once. */
		reason = errbuf;
		if (strncmp(errbuf, text, tlen) == 0 &&
		    strncmp(errbuf + tlen, ": ", 2) == 0)
			reason = errbuf + tlen + 2;
		error("%s%sinvalid CIDR '%.100s': %s", what == NULL ? "" : what,
		    what == NULL ? "" : ": ", text, reason);
		return PORTHOLE_ERR_INVALID_FORMAT;
	}
	acl_cidr_format(&c, buf, len);
	return 0;
}

int
ctl_policy_lookup(struct ctl *ctl, const char *name_or_id,
    struct store_ip_policy **pp)
{
	int r = PORTHOLE_ERR_INTERNAL;

	*pp = NULL;
	if ((r = store_ip_policy_get(ctl->store, name_or_id, pp)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			error("no such ip-policy '%.100s'", name_or_id);
		else
			error_r(r, "ip-policy '%.100s'", name_or_id);
	}
	return r;
}

/* A refusal names at most this many accounts, and as many addresses. */
#define CTL_POLICY_NAMES_MAX 5

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
 * Add <name>, the <n>th (from 0) of a list, to the list in <b>: "a, b";
 * past <max> names (0: no limit) only count it, for ctl_policy_more().
 */
static void
ctl_policy_name(struct buf *b, size_t n, size_t max, const char *name)
{
	if (max == 0 || n < max)
		buf_printf(b, "%s%s", n == 0 ? "" : ", ", name);
}

/* Finish a list of <n> names made by ctl_policy_name(). */
static void
ctl_policy_more(struct buf *b, size_t n, size_t max)
{
	if (max != 0 && n > max)
		buf_printf(b, " and %zu more", n - max);
}

/*
 * Write what policy <id> is attached to, by name, into <accounts> ("alice,
 * bob") and <addresses> ("host:port, ..."), at most <max> names each (0:
 * all). Returns 0 or a negative PORTHOLE_ERR_* after reporting it.
 */
static int
ctl_policy_attached(struct ctl *ctl, const char *id, size_t max,
    struct buf *accounts, struct buf *addresses)
{
	struct store_account **alist = NULL;
	struct store_address **rlist = NULL;
	char *hostport;
	size_t na = 0, nr = 0, i, n;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_account_list(ctl->store, &alist, &na)) != 0) {
		error_r(r, "list accounts");
		goto out;
	}
	for (i = n = 0; i < na; i++) {
		if (alist[i]->ip_policy_id != NULL &&
		    strcmp(alist[i]->ip_policy_id, id) == 0)
			ctl_policy_name(accounts, n++, max, alist[i]->name);
	}
	ctl_policy_more(accounts, n, max);
	if ((r = store_address_list(ctl->store, NULL, &rlist, &nr)) != 0) {
		error_r(r, "list addresses");
		goto out;
	}
	for (i = n = 0; i < nr; i++) {
		if (rlist[i]->ip_policy_id == NULL ||
		    strcmp(rlist[i]->ip_policy_id, id) != 0)
			continue;
		hostport = ctl_hostport(rlist[i]->host, rlist[i]->port);
		ctl_policy_name(addresses, n++, max, hostport);
		free(hostport);
	}
	ctl_policy_more(addresses, n, max);
	r = 0;
out:
	store_account_list_free(alist, na);
	store_address_list_free(rlist, nr);
	return r;
}

/* Free an array from ctl_policy_rules(); NULL is a no-op. */
static void
ctl_policy_rules_free(char **cidrs, size_t n)
{
	size_t i;

	for (i = 0; cidrs != NULL && i < n; i++)
		free(cidrs[i]);
	free(cidrs);
}

/*
 * Canonicalise the CIDRs <texts> (the parser has checked them) into a
 * new array in *cidrsp, refusing one given twice: create adds them all
 * or none. <opt> names the option in messages.
 */
static int
ctl_policy_rules(const char *opt, const char *const *texts, size_t n,
    char ***cidrsp)
{
	char **cidrs = NULL, buf[ACL_CIDR_STRLEN];
	size_t i, j;
	int r = PORTHOLE_ERR_INTERNAL;

	*cidrsp = NULL;
	cidrs = xcalloc(n + 1, sizeof(*cidrs));
	for (i = 0; i < n; i++) {
		if ((r = ctl_policy_cidr(opt, texts[i], buf, sizeof(buf))) != 0)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(cidrs[j], buf) == 0) {
				r = PORTHOLE_ERR_EXISTS;
				error("%s %s given twice", opt, buf);
				goto out;
			}
		}
		cidrs[i] = xstrdup(buf);
	}
	*cidrsp = cidrs; /* the caller owns it now */
	cidrs = NULL;
	r = 0;
out:
	ctl_policy_rules_free(cidrs, n);
	return r;
}

/*
 * ip-policy create NAME [--description TEXT] [--allow CIDR]...
 * [--deny CIDR]...: a new policy with its rules, all or nothing.
 */
int
ctl_policy_create(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_ip_policy *p = NULL, *after = NULL;
	char **allow = NULL, **deny = NULL;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL, allow_rule = 0;
	const char *cidr = NULL;

	if (!store_account_name_valid(args->policy)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		error("invalid ip-policy name '%.100s': use 1-64 letters, "
		      "digits, '.', '_' or '-', not starting with '-'",
		    args->policy);
		goto out;
	}
	/* --ip-policy none detaches: no policy may be called that. */
	if (strcmp(args->policy, CTL_IP_POLICY_NONE) == 0) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		error("invalid ip-policy name '%s': it means no policy in "
		      "--ip-policy",
		    args->policy);
		goto out;
	}
	/* Everything is checked before anything is written. */
	r = ctl_policy_rules("--allow", args->allow, args->nallow, &allow);
	if (r == 0)
		r = ctl_policy_rules("--deny", args->deny, args->ndeny, &deny);
	if (r != 0)
		goto out;
	if ((r = store_ip_policy_add(ctl->store, args->policy,
	         args->description == NULL ? "" : args->description,
	         misc_now_ms(), &p)) != 0) {
		if (r == PORTHOLE_ERR_EXISTS)
			error("ip-policy '%.100s' already exists",
			    args->policy);
		else
			error_r(r, "create ip-policy '%.100s'", args->policy);
		goto out;
	}
	for (i = 0; r == 0 && i < args->nallow + args->ndeny; i++) {
		allow_rule = i < args->nallow;
		cidr = allow_rule ? allow[i] : deny[i - args->nallow];
		r = store_ip_policy_rule_add(ctl->store, p->id, allow_rule,
		    cidr, misc_now_ms());
	}
	if (r != 0) {
		error_r(r, "ip-policy %s: add rule %s %s", p->name,
		    ctl_policy_kind(allow_rule), cidr);
		/* All or nothing: it is attached to nothing yet. */
		if (store_ip_policy_delete(ctl->store, p->id) != 0)
			error("ip-policy %s was created with only some of its "
			      "rules; delete it and try again",
			    p->name);
		goto out;
	}
	if ((r = store_ip_policy_get(ctl->store, p->id, &after)) != 0) {
		error_r(r, "ip-policy %s", p->name);
		goto out;
	}
	if (ctl->json)
		ctl_policy_json_line(after);
	else
		ctl_printf("created ip-policy %s (%s)\n", after->name,
		    after->id);
	r = 0;
out:
	ctl_policy_rules_free(allow, args->nallow);
	ctl_policy_rules_free(deny, args->ndeny);
	store_ip_policy_free(p);
	store_ip_policy_free(after);
	return r;
}

/* ip-policy list: every policy, by name, with its rule counts. */
int
ctl_policy_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_ip_policy **list = NULL, *p;
	struct ctl_table *t = NULL;
	char when[CTL_TIME_LEN], nallow[16], ndeny[16], nacct[16], naddr[16];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_ip_policy_list(ctl->store, &list, &n)) != 0) {
		error_r(r, "list ip-policies");
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
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ctl_policy_lookup(ctl, args->policy, &p)) != 0)
		goto out;
	if (ctl->json) {
		ctl_policy_json_line(p);
		r = 0;
		goto out;
	}
	accounts = buf_new();
	addresses = buf_new();
	if ((r = ctl_policy_attached(ctl, p->id, 0, accounts, addresses)) != 0)
		goto out;
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
 * Say on stderr that policy <p> cannot be deleted, naming what it is
 * attached to.
 */
static void
ctl_policy_refuse_delete(struct ctl *ctl, const struct store_ip_policy *p)
{
	struct buf *accounts = buf_new(), *addresses = buf_new();

	if (p->nedges > 0 && p->naccounts == 0 && p->naddresses == 0)
		error("ip-policy %s is attached to %d edge%s; detach it first "
		      "with 'edge update EDGE --ip-policy none'",
		    p->name, p->nedges, p->nedges == 1 ? "" : "s");
	else if (ctl_policy_attached(ctl, p->id, CTL_POLICY_NAMES_MAX, accounts,
	             addresses) != 0 ||
	    (buf_len(accounts) == 0 && buf_len(addresses) == 0))
		error("ip-policy %s is attached to an account, an address or "
		      "an edge; detach it first with --ip-policy none",
		    p->name);
	else
		error("ip-policy %s is attached to %s%s%s%s%s; detach it "
		      "first with 'account update NAME --ip-policy none' or "
		      "'address update ADDR --ip-policy none'",
		    p->name, buf_len(accounts) ? "account " : "",
		    buf_str(accounts),
		    buf_len(accounts) && buf_len(addresses) ? " and " : "",
		    buf_len(addresses) ? "address " : "", buf_str(addresses));
	buf_free(accounts);
	buf_free(addresses);
}

/*
 * ip-policy delete NAME: refused while the policy is attached, naming
 * the accounts and addresses to detach it from first.
 */
int
ctl_policy_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_ip_policy *p = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ctl_policy_lookup(ctl, args->policy, &p)) != 0)
		goto out;
	if ((r = store_ip_policy_delete(ctl->store, p->id)) != 0) {
		if (r == PORTHOLE_ERR_DENIED)
			ctl_policy_refuse_delete(ctl, p);
		else if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			error("no such ip-policy '%.100s'", args->policy);
		else
			error_r(r, "delete ip-policy %s", p->name);
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
	struct store_ip_policy *p = NULL, *after = NULL;
	const char *kind = ctl_policy_kind(args->rule_allow);
	char cidr[ACL_CIDR_STRLEN];
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ctl_policy_cidr(NULL, args->cidr, cidr, sizeof(cidr))) != 0)
		goto out;
	if ((r = ctl_policy_lookup(ctl, args->policy, &p)) != 0)
		goto out;
	if (add)
		r = store_ip_policy_rule_add(ctl->store, p->id,
		    args->rule_allow, cidr, misc_now_ms());
	else
		r = store_ip_policy_rule_delete(ctl->store, p->id,
		    args->rule_allow, cidr);
	if (r == PORTHOLE_ERR_EXISTS && add)
		error("ip-policy %s already has the rule %s %s", p->name, kind,
		    cidr);
	else if (r == PORTHOLE_ERR_NOT_FOUND && !add)
		error("ip-policy %s has no rule %s %s", p->name, kind, cidr);
	else if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
		error("no such ip-policy '%.100s'", args->policy);
	else if (r != 0)
		error_r(r, "ip-policy %s: %s rule %s %s", p->name,
		    add ? "add" : "delete", kind, cidr);
	if (r != 0)
		goto out;
	/*
	 * Read after the change: a policy attached from now on is sent
	 * to its sessions by the attach, which signals them itself.
	 */
	if ((r = store_ip_policy_get(ctl->store, p->id, &after)) != 0) {
		error_r(r, "ip-policy %s", p->name);
		ctl_signal_reload(ctl);
		goto out;
	}
	if (after->naccounts > 0 || after->naddresses > 0 || after->nedges > 0)
		ctl_signal_reload(ctl);
	if (ctl->json)
		ctl_policy_json_line(after);
	else if (add)
		ctl_printf("added rule %s %s to ip-policy %s\n", kind, cidr,
		    after->name);
	else
		ctl_printf("deleted rule %s %s from ip-policy %s\n", kind, cidr,
		    after->name);
	r = 0;
out:
	store_ip_policy_free(p);
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
