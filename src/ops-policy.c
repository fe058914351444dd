/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "buf.h"
#include "err.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * IP policies: named allow and deny rules, attached to accounts,
 * reserved addresses (account update / address update --ip-policy) and
 * edges. Each is one layer of DESIGN.md's "Traffic policy". Rules are
 * stored in the canonical text of acl_cidr_format(), so "2001:DB8::/32"
 * and "2001:db8:0::/32" are one rule. portholed loads the rules when a
 * session starts and again when told of a change, which every change
 * here that a live session could see announces.
 */

/* A refusal names at most this many accounts, and as many addresses. */
#define OPS_POLICY_NAMES_MAX 5

int
ops_policy_lookup(struct ops *ops, const char *name_or_id,
    struct store_ip_policy **pp, struct ops_err *err)
{
	int r = PORTHOLE_ERR_INTERNAL;

	*pp = NULL;
	if (name_or_id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an ip-policy is needed");
	if ((r = store_ip_policy_get(ops->store, name_or_id, pp)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			ops_errf(err, r, "no such ip-policy '%.100s'",
			    name_or_id);
		else
			ops_errf_r(err, ops, r, "ip-policy '%.100s'",
			    name_or_id);
	}
	return r;
}

int
ops_policy_choice(struct ops *ops, const char *ip_policy,
    struct store_ip_policy **pp, int *setp, struct ops_err *err)
{
	*pp = NULL;
	*setp = 0;
	if (ip_policy == NULL)
		return 0;
	*setp = 1;
	if (strcmp(ip_policy, OPS_IP_POLICY_NONE) == 0)
		return 0;
	return ops_policy_lookup(ops, ip_policy, pp, err);
}

int
ops_traffic_set(struct ops *ops, const char *what, const char *id,
    int set_policy, const struct store_ip_policy *p, int proxy_proto,
    int (*set_ip_policy)(struct store *, const char *, const char *),
    int (*set_proxy_proto)(struct store *, const char *, int),
    struct ops_err *err)
{
	int r = 0, changed = 0;

	if (set_policy) {
		if ((r = set_ip_policy(ops->store, id,
		         p == NULL ? NULL : p->id)) != 0)
			ops_errf_r(err, ops, r, "%s %s: set ip-policy", what,
			    id);
		else
			changed = 1;
	}
	if (r == 0 && proxy_proto != -1) {
		if ((r = set_proxy_proto(ops->store, id, proxy_proto)) != 0)
			ops_errf_r(err, ops, r, "%s %s: set PROXY protocol",
			    what, id);
		else
			changed = 1;
	}
	/* Even after a failure here: what did change must reach them. */
	if (changed)
		ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	return r;
}

/*
 * Add <name>, the <n>th (from 0) of a list, to the list in <b>: "a, b";
 * past <max> names (0: no limit) only count it, for ops_policy_more().
 */
static void
ops_policy_name(struct buf *b, size_t n, size_t max, const char *name)
{
	if (max == 0 || n < max)
		buf_printf(b, "%s%s", n == 0 ? "" : ", ", name);
}

/* Finish a list of <n> names made by ops_policy_name(). */
static void
ops_policy_more(struct buf *b, size_t n, size_t max)
{
	if (max != 0 && n > max)
		buf_printf(b, " and %zu more", n - max);
}

int
ops_policy_attached(struct ops *ops, const char *id, size_t max,
    struct buf *accounts, struct buf *addresses, struct ops_err *err)
{
	struct store_account **alist = NULL;
	struct store_address **rlist = NULL;
	char *hostport;
	size_t na = 0, nr = 0, i, n;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_account_list(ops->store, &alist, &na)) != 0) {
		ops_errf_r(err, ops, r, "list accounts");
		goto out;
	}
	for (i = n = 0; i < na; i++) {
		if (alist[i]->ip_policy_id != NULL &&
		    strcmp(alist[i]->ip_policy_id, id) == 0 &&
		    ops_visible(ops, alist[i]->id))
			ops_policy_name(accounts, n++, max, alist[i]->name);
	}
	ops_policy_more(accounts, n, max);
	if ((r = store_address_list(ops->store, NULL, &rlist, &nr)) != 0) {
		ops_errf_r(err, ops, r, "list addresses");
		goto out;
	}
	for (i = n = 0; i < nr; i++) {
		if (rlist[i]->ip_policy_id == NULL ||
		    strcmp(rlist[i]->ip_policy_id, id) != 0 ||
		    !ops_visible(ops, rlist[i]->account_id))
			continue;
		hostport = ops_hostport(rlist[i]->host, rlist[i]->port);
		ops_policy_name(addresses, n++, max, hostport);
		free(hostport);
	}
	ops_policy_more(addresses, n, max);
	r = 0;
out:
	store_account_list_free(alist, na);
	store_address_list_free(rlist, nr);
	return r;
}

/* Free an array from ops_policy_rules(); NULL is a no-op. */
static void
ops_policy_rules_free(char **cidrs, size_t n)
{
	size_t i;

	for (i = 0; cidrs != NULL && i < n; i++)
		free(cidrs[i]);
	free(cidrs);
}

/*
 * Canonicalise the CIDRs <texts> into a new array in *cidrsp, refusing
 * one given twice: create adds them all or none. <opt> names the option
 * in messages.
 */
static int
ops_policy_rules(const char *opt, const char *const *texts, size_t n,
    char ***cidrsp, struct ops_err *err)
{
	char **cidrs = NULL, buf[ACL_CIDR_STRLEN];
	size_t i, j;
	int r = PORTHOLE_ERR_INTERNAL;

	*cidrsp = NULL;
	cidrs = xcalloc(n + 1, sizeof(*cidrs));
	for (i = 0; i < n; i++) {
		if ((r = ops_cidr(opt, texts[i], buf, sizeof(buf), err)) != 0)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(cidrs[j], buf) == 0) {
				r = ops_errf(err, PORTHOLE_ERR_EXISTS,
				    "%s %s given twice", opt, buf);
				goto out;
			}
		}
		cidrs[i] = xstrdup(buf);
	}
	*cidrsp = cidrs; /* the caller owns it now */
	cidrs = NULL;
	r = 0;
out:
	ops_policy_rules_free(cidrs, n);
	return r;
}

/* "allow" or "deny", the word a rule is given with. */
static const char *
ops_policy_kind(int allow)
{
	return allow ? "allow" : "deny";
}

int
ops_policy_create(struct ops *ops, const char *name, const char *description,
    const char *metadata, const char *const *allow_texts, size_t nallow,
    const char *const *deny_texts, size_t ndeny, struct store_ip_policy **pp,
    struct ops_err *err)
{
	struct store_ip_policy *p = NULL;
	char **allow = NULL, **deny = NULL;
	const char *cidr = NULL;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL, allow_rule = 0;

	*pp = NULL;
	if ((r = ops_need_admin(ops, err)) != 0)
		goto out;
	if (name == NULL || !store_account_name_valid(name)) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "invalid ip-policy name '%.100s': use 1-64 letters, "
		    "digits, '.', '_' or '-', not starting with '-'",
		    name == NULL ? "" : name);
		goto out;
	}
	/* --ip-policy none detaches: no policy may be called that. */
	if (strcmp(name, OPS_IP_POLICY_NONE) == 0) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "invalid ip-policy name '%s': it means no policy in "
		    "--ip-policy",
		    name);
		goto out;
	}
	/* Everything is checked before anything is written. */
	if ((r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_policy_rules("--allow", allow_texts, nallow, &allow,
	         err)) != 0 ||
	    (r = ops_policy_rules("--deny", deny_texts, ndeny, &deny, err)) !=
	        0)
		goto out;
	if ((r = store_ip_policy_add(ops->store, name,
	         description == NULL ? "" : description, misc_now_ms(), &p)) !=
	    0) {
		if (r == PORTHOLE_ERR_EXISTS)
			ops_errf(err, r, "ip-policy '%.100s' already exists",
			    name);
		else
			ops_errf_r(err, ops, r, "create ip-policy '%.100s'",
			    name);
		goto out;
	}
	if (metadata != NULL)
		r = store_ip_policy_set_text(ops->store, p->id, NULL, metadata);
	for (i = 0; r == 0 && i < nallow + ndeny; i++) {
		allow_rule = i < nallow;
		cidr = allow_rule ? allow[i] : deny[i - nallow];
		r = store_ip_rule_add(ops->store, p->id, allow_rule, cidr, NULL,
		    NULL, misc_now_ms(), NULL);
	}
	if (r != 0) {
		if (cidr != NULL)
			ops_errf_r(err, ops, r, "ip-policy %s: add rule %s %s",
			    p->name, ops_policy_kind(allow_rule), cidr);
		else
			ops_errf_r(err, ops, r, "ip-policy %s: set metadata",
			    p->name);
		/* All or nothing: it is attached to nothing yet. */
		if (store_ip_policy_delete(ops->store, p->id) != 0)
			ops_errf(err, r,
			    "ip-policy %s was created with only some of its "
			    "rules; delete it and try again",
			    p->name);
		goto out;
	}
	if ((r = store_ip_policy_get(ops->store, p->id, pp)) != 0)
		ops_errf_r(err, ops, r, "ip-policy %s", p->name);
out:
	ops_policy_rules_free(allow, nallow);
	ops_policy_rules_free(deny, ndeny);
	store_ip_policy_free(p);
	return r;
}

int
ops_policy_get(struct ops *ops, const char *policy, struct store_ip_policy **pp,
    struct ops_err *err)
{
	return ops_policy_lookup(ops, policy, pp, err);
}

static void
ops_policy_list_vfree(void *list, size_t n)
{
	store_ip_policy_list_free(list, n);
}

int
ops_policy_list(struct ops *ops, const struct ops_page *page,
    struct store_ip_policy ***listp, size_t *np, int *morep,
    struct ops_err *err)
{
	struct store_ip_policy **list = NULL;
	void *out = NULL;
	size_t n = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0)
		goto out;
	if ((r = store_ip_policy_list(ops->store, &list, &n)) != 0) {
		ops_errf_r(err, ops, r, "list ip-policies");
		goto out;
	}
	/* Ownership of <list> passes to ops_page_slice. */
	r = ops_page_slice(page, (void **)list, n,
	    offsetof(struct store_ip_policy, id),
	    offsetof(struct store_ip_policy, created_ms), ops_policy_list_vfree,
	    &out, np, morep, err);
	list = NULL;
	n = 0;
	*listp = out;
out:
	store_ip_policy_list_free(list, n);
	return r;
}

int
ops_policy_update(struct ops *ops, const char *policy, const char *description,
    const char *metadata, struct store_ip_policy **pp, struct ops_err *err)
{
	struct store_ip_policy *p = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (pp != NULL)
		*pp = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_policy_lookup(ops, policy, &p, err)) != 0)
		goto out;
	if ((r = store_ip_policy_set_text(ops->store, p->id, description,
	         metadata)) != 0) {
		ops_errf_r(err, ops, r, "update ip-policy %s", p->name);
		goto out;
	}
	if (pp != NULL && (r = store_ip_policy_get(ops->store, p->id, pp)) != 0)
		ops_errf_r(err, ops, r, "ip-policy %s", p->name);
out:
	store_ip_policy_free(p);
	return r;
}

/* Say in <err> that policy <p> cannot be deleted, naming what holds it. */
static int
ops_policy_refuse_delete(struct ops *ops, const struct store_ip_policy *p,
    struct ops_err *err)
{
	struct buf *accounts = buf_new(), *addresses = buf_new();
	struct ops_err ignored;

	if (p->nedges > 0 && p->naccounts == 0 && p->naddresses == 0)
		ops_errf(err, PORTHOLE_ERR_DENIED,
		    "ip-policy %s is attached to %d edge%s; detach it first "
		    "with 'edge update EDGE --ip-policy none'",
		    p->name, p->nedges, p->nedges == 1 ? "" : "s");
	else if (ops_policy_attached(ops, p->id, OPS_POLICY_NAMES_MAX, accounts,
	             addresses, &ignored) != 0 ||
	    (buf_len(accounts) == 0 && buf_len(addresses) == 0))
		ops_errf(err, PORTHOLE_ERR_DENIED,
		    "ip-policy %s is attached to an account, an address or "
		    "an edge; detach it first with --ip-policy none",
		    p->name);
	else
		ops_errf(err, PORTHOLE_ERR_DENIED,
		    "ip-policy %s is attached to %s%s%s%s%s; detach it "
		    "first with 'account update NAME --ip-policy none' or "
		    "'address update ADDR --ip-policy none'",
		    p->name, buf_len(accounts) ? "account " : "",
		    buf_str(accounts),
		    buf_len(accounts) && buf_len(addresses) ? " and " : "",
		    buf_len(addresses) ? "address " : "", buf_str(addresses));
	/* Refused because something holds it: a conflict, not forbidden. */
	err->status = OPS_STATUS_CONFLICT;
	buf_free(accounts);
	buf_free(addresses);
	return PORTHOLE_ERR_DENIED;
}

int
ops_policy_delete(struct ops *ops, const char *policy,
    struct store_ip_policy **pp, struct ops_err *err)
{
	struct store_ip_policy *p = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (pp != NULL)
		*pp = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_policy_lookup(ops, policy, &p, err)) != 0)
		goto out;
	if ((r = store_ip_policy_delete(ops->store, p->id)) != 0) {
		if (r == PORTHOLE_ERR_DENIED)
			ops_policy_refuse_delete(ops, p, err);
		else if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			ops_errf(err, r, "no such ip-policy '%.100s'", policy);
		else
			ops_errf_r(err, ops, r, "delete ip-policy %s", p->name);
		goto out;
	}
	if (pp != NULL) {
		*pp = p; /* the caller's */
		p = NULL;
	}
out:
	store_ip_policy_free(p);
	return r;
}

/*
 * After a rule of policy <policy_id> changed: sessions whose account,
 * addresses or edges have the policy reload it. Read after the change:
 * a policy attached from now on is sent to its sessions by the attach.
 */
static void
ops_rule_changed(struct ops *ops, const char *policy_id)
{
	struct store_ip_policy *after = NULL;

	if (store_ip_policy_get(ops->store, policy_id, &after) != 0 ||
	    after->naccounts > 0 || after->naddresses > 0 || after->nedges > 0)
		ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	store_ip_policy_free(after);
}

int
ops_rule_add(struct ops *ops, const char *policy, int allow, const char *text,
    const char *description, const char *metadata, struct store_ip_rule **rp,
    struct ops_err *err)
{
	struct store_ip_policy *p = NULL;
	const char *kind = ops_policy_kind(allow);
	char cidr[ACL_CIDR_STRLEN], *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*rp = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_check_texts(description, metadata, err)) != 0)
		goto out;
	if (text == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "a CIDR is needed");
		goto out;
	}
	if ((r = ops_cidr(NULL, text, cidr, sizeof(cidr), err)) != 0 ||
	    (r = ops_policy_lookup(ops, policy, &p, err)) != 0)
		goto out;
	r = store_ip_rule_add(ops->store, p->id, allow, cidr, description,
	    metadata, misc_now_ms(), &id);
	if (r == PORTHOLE_ERR_EXISTS)
		ops_errf(err, r, "ip-policy %s already has the rule %s %s",
		    p->name, kind, cidr);
	else if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
		ops_errf(err, r, "no such ip-policy '%.100s'", policy);
	else if (r != 0)
		ops_errf_r(err, ops, r, "ip-policy %s: add rule %s %s", p->name,
		    kind, cidr);
	if (r != 0)
		goto out;
	ops_rule_changed(ops, p->id);
	if ((r = store_ip_rule_get(ops->store, id, rp)) != 0)
		ops_errf_r(err, ops, r, "rule %s", id);
out:
	free(id);
	store_ip_policy_free(p);
	return r;
}

int
ops_rule_get(struct ops *ops, const char *id, struct store_ip_rule **rp,
    struct ops_err *err)
{
	int r;

	*rp = NULL;
	if (id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "a rule id is needed");
	if ((r = store_ip_rule_get(ops->store, id, rp)) ==
	    PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "no such ip-policy rule '%.100s'", id);
	else if (r != 0)
		ops_errf_r(err, ops, r, "ip-policy rule '%.100s'", id);
	return r;
}

int
ops_rule_find(struct ops *ops, const char *policy, int allow, const char *text,
    struct store_ip_rule **rp, struct ops_err *err)
{
	struct store_ip_policy *p = NULL;
	char cidr[ACL_CIDR_STRLEN];
	int r = PORTHOLE_ERR_INTERNAL;

	*rp = NULL;
	if (text == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "a CIDR is needed");
		goto out;
	}
	if ((r = ops_cidr(NULL, text, cidr, sizeof(cidr), err)) != 0 ||
	    (r = ops_policy_lookup(ops, policy, &p, err)) != 0)
		goto out;
	if ((r = store_ip_rule_find(ops->store, p->id, allow, cidr, rp)) ==
	    PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "ip-policy %s has no rule %s %s", p->name,
		    ops_policy_kind(allow), cidr);
	else if (r != 0)
		ops_errf_r(err, ops, r, "ip-policy %s: rule %s %s", p->name,
		    ops_policy_kind(allow), cidr);
out:
	store_ip_policy_free(p);
	return r;
}

int
ops_rule_list(struct ops *ops, const char *policy, const struct ops_page *page,
    struct store_ip_rule ***listp, size_t *np, int *morep, struct ops_err *err)
{
	struct store_ip_policy *p = NULL;
	struct store_ip_rule *before = NULL;
	struct ops_page all = { NULL, 0 };
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0)
		goto out;
	if (policy != NULL &&
	    (r = ops_policy_lookup(ops, policy, &p, err)) != 0)
		goto out;
	if (page == NULL) {
		/* Every rule: pages of the most the store reads at once. */
		all.limit = 1000;
		page = &all;
	} else if (page->before_id != NULL &&
	    (store_ip_rule_get(ops->store, page->before_id, &before) != 0 ||
	        (p != NULL && strcmp(before->policy_id, p->id) != 0))) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "before_id '%.100s' names no rule", page->before_id);
		goto out;
	}
	if ((r = store_ip_rule_page(ops->store, p == NULL ? NULL : p->id,
	         page->before_id,
	         page == &all ? all.limit : ops_page_limit(page), listp, np,
	         morep)) != 0)
		ops_errf_r(err, ops, r, "list ip-policy rules");
	if (page == &all)
		*morep = 0;
out:
	store_ip_rule_free(before);
	store_ip_policy_free(p);
	return r;
}

int
ops_rule_update(struct ops *ops, const char *id, const char *description,
    const char *metadata, struct store_ip_rule **rp, struct ops_err *err)
{
	struct store_ip_rule *x = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (rp != NULL)
		*rp = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_check_texts(description, metadata, err)) != 0 ||
	    (r = ops_rule_get(ops, id, &x, err)) != 0)
		goto out;
	if ((r = store_ip_rule_set_text(ops->store, x->id, description,
	         metadata)) != 0) {
		ops_errf_r(err, ops, r, "update ip-policy rule %s", x->id);
		goto out;
	}
	if (rp != NULL)
		r = ops_rule_get(ops, x->id, rp, err);
out:
	store_ip_rule_free(x);
	return r;
}

int
ops_rule_delete(struct ops *ops, const char *id, struct store_ip_rule **rp,
    struct ops_err *err)
{
	struct store_ip_rule *x = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (rp != NULL)
		*rp = NULL;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_rule_get(ops, id, &x, err)) != 0)
		goto out;
	r = store_ip_policy_rule_delete(ops->store, x->policy_id, x->allow,
	    x->cidr);
	if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
		ops_errf(err, r, "ip-policy %s has no rule %s %s",
		    x->policy_name, ops_policy_kind(x->allow), x->cidr);
	else if (r != 0)
		ops_errf_r(err, ops, r, "ip-policy %s: delete rule %s %s",
		    x->policy_name, ops_policy_kind(x->allow), x->cidr);
	if (r != 0)
		goto out;
	ops_rule_changed(ops, x->policy_id);
	if (rp != NULL) {
		*rp = x; /* the caller's */
		x = NULL;
	}
out:
	store_ip_rule_free(x);
	return r;
}
