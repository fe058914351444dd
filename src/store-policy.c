/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "db.h"
#include "err.h"
#include "id.h"
#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/* The store's IP policies, their rules, and what they are attached to. */

/* A new policy, without its rules, at <slot> (STORE_IP_POLICY_SELECT). */
static void
store_ip_policy_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_ip_policy *p;

	p = xcalloc(1, sizeof(*p));
	p->id = store_column_text(stmt, 0);
	p->name = store_column_text(stmt, 1);
	p->description = store_column_text(stmt, 2);
	p->created_ms = db_column_int64(stmt, 3);
	p->naccounts = store_column_int(stmt, 4);
	p->naddresses = store_column_int(stmt, 5);
	p->nedges = store_column_int(stmt, 6);
	p->metadata = store_column_text(stmt, 7);
	*(struct store_ip_policy **)slot = p;
}

static void
store_ip_policy_list_vfree(void *list, size_t n)
{
	store_ip_policy_list_free(list, n);
}

static const struct store_rows store_ip_policy_rows = {
	sizeof(struct store_ip_policy *), store_ip_policy_from_row,
	store_ip_policy_list_vfree
};

/* A string at <slot> from column 0 of the current row. */
static void
store_string_from_row(struct db_stmt *stmt, void *slot)
{
	*(char **)slot = store_column_text(stmt, 0);
}

/* Free the <n> strings of <list> and the list itself. */
static void
store_string_list_free(void *list, size_t n)
{
	char **strs = list;
	size_t i;

	if (strs == NULL)
		return;
	for (i = 0; i < n; i++)
		free(strs[i]);
	free(strs);
}

static const struct store_rows store_string_rows = { sizeof(char *),
	store_string_from_row, store_string_list_free };

#define STORE_IP_RULE_SELECT                                                   \
	"SELECT x.id, x.policy_id, p.name, x.allow, x.cidr, x.description,"    \
	" x.metadata, x.created_ms"                                            \
	" FROM ip_policy_rules x JOIN ip_policies p ON p.id = x.policy_id"

/* A new rule at <slot> from the current row (STORE_IP_RULE_SELECT). */
static void
store_ip_rule_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_ip_rule *x;

	x = xcalloc(1, sizeof(*x));
	x->id = store_column_text(stmt, 0);
	x->policy_id = store_column_text(stmt, 1);
	x->policy_name = store_column_text(stmt, 2);
	x->allow = store_column_int(stmt, 3) != 0;
	x->cidr = store_column_text(stmt, 4);
	x->description = store_column_text(stmt, 5);
	x->metadata = store_column_text(stmt, 6);
	x->created_ms = db_column_int64(stmt, 7);
	*(struct store_ip_rule **)slot = x;
}

static void
store_ip_rule_list_vfree(void *list, size_t n)
{
	store_ip_rule_list_free(list, n);
}

static const struct store_rows store_ip_rule_rows = {
	sizeof(struct store_ip_rule *), store_ip_rule_from_row,
	store_ip_rule_list_vfree
};

/* Read the allow and deny rules of <p>, each in the order added. */
static int
store_ip_policy_load_rules(struct store *store, struct store_ip_policy *p)
{
	static const char sql[] = "SELECT cidr FROM ip_policy_rules"
	                          " WHERE policy_id = ?1 AND allow = ?2"
	                          " ORDER BY seq";
	static const char sql_rules[] =
	    STORE_IP_RULE_SELECT " WHERE x.policy_id = ?1 ORDER BY x.seq";
	void *allow = NULL, *deny = NULL, *rules = NULL;
	size_t nallow = 0, ndeny = 0, nrules = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_list(store, &store_string_rows, &allow, &nallow, sql,
	         "ti", p->id, 1)) != 0 ||
	    (r = store_list(store, &store_string_rows, &deny, &ndeny, sql, "ti",
	         p->id, 0)) != 0 ||
	    (r = store_list(store, &store_ip_rule_rows, &rules, &nrules,
	         sql_rules, "t", p->id)) != 0)
		goto out;
	p->rules = rules;
	p->nrules = nrules;
	rules = NULL;
	/* Ownership passes to <p>. */
	p->allow = allow;
	p->nallow = nallow;
	p->deny = deny;
	p->ndeny = ndeny;
	allow = deny = NULL;
	r = 0;
out:
	store_string_list_free(allow, nallow);
	store_string_list_free(deny, ndeny);
	store_ip_rule_list_free(rules, nrules);
	return r;
}

/* Add policy <name> with a new "ip_" id and no rules; *pp may be NULL. */
int
store_ip_policy_add(struct store *store, const char *name,
    const char *description, int64_t now_ms, struct store_ip_policy **pp)
{
	static const char sql[] = "INSERT INTO ip_policies"
	                          " (id, name, description, created_ms)"
	                          " VALUES (?1, ?2, ?3, ?4)";
	struct store_ip_policy *p = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (pp != NULL)
		*pp = NULL;
	if (!store_account_name_valid(name)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	p = xcalloc(1, sizeof(*p));
	p->id = id_new("ip");
	p->name = xstrdup(name);
	p->description = xstrdup(description != NULL ? description : "");
	p->created_ms = now_ms;
	if ((r = store_run(store, NULL, sql, "tttI", p->id, p->name,
	         p->description, p->created_ms)) != 0)
		goto out;
	debug_f("ip policy %s: %.100s added", p->id, p->name);
	if (pp != NULL) {
		/* Ownership passes to the caller. */
		*pp = p;
		p = NULL;
	}
	r = 0;
out:
	store_ip_policy_free(p);
	return r;
}

/*
 * Find a policy by id or by name, with its rules; should a name look
 * like another policy's id, the id wins.
 */
int
store_ip_policy_get(struct store *store, const char *name_or_id,
    struct store_ip_policy **pp)
{
	static const char sql[] = STORE_IP_POLICY_SELECT
	    " WHERE p.id = ?1 OR p.name = ?1"
	    " ORDER BY CASE WHEN p.id = ?1 THEN 0 ELSE 1 END LIMIT 1";
	struct store_ip_policy *p = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (pp != NULL)
		*pp = NULL;
	if (name_or_id == NULL || pp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0 ||
	    (r = store_get(store, &store_ip_policy_rows, &p, sql, "t",
	         name_or_id)) != 0 ||
	    (r = store_ip_policy_load_rules(store, p)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*pp = p;
	p = NULL;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	store_ip_policy_free(p);
	return r;
}

/* All policies with their rules, by name. An empty list is NULL, 0. */
int
store_ip_policy_list(struct store *store, struct store_ip_policy ***listp,
    size_t *np)
{
	static const char sql[] = STORE_IP_POLICY_SELECT " ORDER BY p.name";
	struct store_ip_policy **list = NULL;
	void *rows = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0 ||
	    (r = store_list(store, &store_ip_policy_rows, &rows, &n, sql,
	         "")) != 0)
		goto out;
	list = rows;
	for (i = 0; i < n; i++) {
		if ((r = store_ip_policy_load_rules(store, list[i])) != 0)
			goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	store_ip_policy_list_free(list, n);
	return r;
}

/*
 * Delete policy <id> and its rules, in one transaction: _DENIED while
 * an account, a reserved address or an edge has it. Tombstoned
 * addresses may still name it; that is cleared here, since they never
 * serve again.
 */
int
store_ip_policy_delete(struct store *store, const char *id)
{
	static const char sql_used[] =
	    "SELECT (SELECT count(*) FROM accounts WHERE ip_policy_id = ?1),"
	    " (SELECT count(*) FROM addresses"
	    "  WHERE ip_policy_id = ?1 AND deleted_ms IS NULL),"
	    " (SELECT count(*) FROM edges WHERE ip_policy_id = ?1)";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc, n, naccounts, naddresses, nedges;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_prepare(store, &stmt, sql_used, "t", id)) != 0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql_used);
		goto out;
	}
	naccounts = store_column_int(stmt, 0);
	naddresses = store_column_int(stmt, 1);
	nedges = store_column_int(stmt, 2);
	db_finalize(stmt);
	stmt = NULL;
	if (naccounts != 0 || naddresses != 0 || nedges != 0) {
		snprintf(store->errmsg, sizeof(store->errmsg),
		    "ip policy %.40s is attached to %d accounts, %d "
		    "addresses and %d edges",
		    id, naccounts, naddresses, nedges);
		debug_f("%s", store->errmsg);
		r = PORTHOLE_ERR_DENIED;
		goto out;
	}
	if ((r = store_run(store, NULL,
	         "UPDATE addresses SET ip_policy_id = NULL"
	         " WHERE ip_policy_id = ?1 AND deleted_ms IS NOT NULL",
	         "t", id)) != 0 ||
	    (r = store_run(store, &n, "DELETE FROM ip_policies WHERE id = ?1",
	         "t", id)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("ip policy %.40s: deleted", id);
	r = 0;
out:
	/* Finalized before the rollback, which it would otherwise hold up. */
	db_finalize(stmt);
	if (r != 0)
		store_rollback(store);
	return r;
}

/*
 * Predicate: <cidr> is a rule as acl_cidr_format writes it, so that
 * one rule has one spelling and UNIQUE can see duplicates.
 */
static int
store_cidr_canonical(const char *cidr)
{
	struct acl_cidr c;
	char buf[ACL_CIDR_STRLEN];

	if (acl_cidr_parse(cidr, &c, NULL, 0) != 0)
		return 0;
	return strcmp(acl_cidr_format(&c, buf, sizeof(buf)), cidr) == 0;
}

/*
 * Add rule <cidr> to policy <id>: _INVALID_ARGUMENT unless it is
 * canonical, _EXISTS if it is there, _NOT_FOUND for an unknown policy
 * (the foreign key).
 */
int
store_ip_policy_rule_add(struct store *store, const char *id, int allow,
    const char *cidr, int64_t now_ms)
{
	return store_ip_rule_add(store, id, allow, cidr, NULL, NULL, now_ms,
	    NULL);
}

/*
 * Add rule <cidr> to policy <id> as store_ip_policy_rule_add() does,
 * with a new id ("ipr_…") into *idp (may be NULL; the caller's) and a
 * description and metadata (NULL: "").
 */
int
store_ip_rule_add(struct store *store, const char *id, int allow,
    const char *cidr, const char *description, const char *metadata,
    int64_t now_ms, char **idp)
{
	static const char sql[] =
	    "INSERT INTO ip_policy_rules (policy_id, allow, cidr, created_ms,"
	    " seq, id, description, metadata) VALUES (?1, ?2, ?3, ?4,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM ip_policy_rules),"
	    " ?5, ?6, ?7)";
	char *rid = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (idp != NULL)
		*idp = NULL;
	if (id == NULL || cidr == NULL || !store_cidr_canonical(cidr)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	rid = id_new("ipr");
	if ((r = store_run_locked(store, NULL, sql, "titIttt", id, allow != 0,
	         cidr, now_ms, rid, description != NULL ? description : "",
	         metadata != NULL ? metadata : "")) != 0)
		goto out;
	if (idp != NULL) {
		/* Ownership passes to the caller. */
		*idp = rid;
		rid = NULL;
	}
	r = 0;
out:
	free(rid);
	return r;
}

/* Rule <id> ("ipr_…"); _NOT_FOUND if there is none. */
int
store_ip_rule_get(struct store *store, const char *id,
    struct store_ip_rule **rp)
{
	static const char sql[] = STORE_IP_RULE_SELECT " WHERE x.id = ?1";

	if (rp != NULL)
		*rp = NULL;
	if (id == NULL || rp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_ip_rule_rows, rp, sql, "t", id);
}

/* Rule <allow> <cidr> of policy <policy_id>; _NOT_FOUND if none. */
int
store_ip_rule_find(struct store *store, const char *policy_id, int allow,
    const char *cidr, struct store_ip_rule **rp)
{
	static const char sql[] = STORE_IP_RULE_SELECT
	    " WHERE x.policy_id = ?1 AND x.allow = ?2 AND x.cidr = ?3";

	if (rp != NULL)
		*rp = NULL;
	if (policy_id == NULL || cidr == NULL || rp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_ip_rule_rows, rp, sql, "tit", policy_id,
	    allow != 0, cidr);
}

/*
 * Rules of policy <policy_id> (NULL: of every policy), newest first by
 * creation time and id, after rule <before_id> (NULL: from the newest).
 */
int
store_ip_rule_page(struct store *store, const char *policy_id,
    const char *before_id, size_t limit, struct store_ip_rule ***listp,
    size_t *np, int *morep)
{
	/* The page's "account" is the policy here. */
	static const char sql[] = STORE_IP_RULE_SELECT
	    " WHERE (CAST(?1 AS TEXT) IS NULL OR x.policy_id = ?1)"
	    " AND (CAST(?2 AS TEXT) IS NULL OR (x.created_ms, x.id) <"
	    "  (SELECT o.created_ms, o.id FROM ip_policy_rules o"
	    "   WHERE o.id = ?2))"
	    " ORDER BY x.created_ms DESC, x.id DESC LIMIT ?3";
	void *list = NULL;
	int r;

	r = store_page(store, &store_ip_rule_rows, sql, policy_id, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Set description / metadata of rule <id>; NULL keeps a field. */
int
store_ip_rule_set_text(struct store *store, const char *id,
    const char *description, const char *metadata)
{
	static const char sql[] =
	    "UPDATE ip_policy_rules SET description = coalesce(?2, "
	    "description),"
	    " metadata = coalesce(?3, metadata) WHERE id = ?1";

	if (id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store, sql, "ttt", id, description, metadata);
}

/* Set description / metadata of policy <id>; NULL keeps a field. */
int
store_ip_policy_set_text(struct store *store, const char *id,
    const char *description, const char *metadata)
{
	static const char sql[] =
	    "UPDATE ip_policies SET description = coalesce(?2, description),"
	    " metadata = coalesce(?3, metadata) WHERE id = ?1";

	if (id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_change(store, sql, "ttt", id, description, metadata);
}

/* Delete rule <cidr> of policy <id>; _NOT_FOUND if it is not there. */
int
store_ip_policy_rule_delete(struct store *store, const char *id, int allow,
    const char *cidr)
{
	static const char sql[] = "DELETE FROM ip_policy_rules"
	                          " WHERE policy_id = ?1 AND allow = ?2"
	                          " AND cidr = ?3";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || cidr == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store, sql, "tit", id, allow != 0, cidr);
out:
	return r;
}

/* Free <p> and its rules; NULL is a no-op. */
void
store_ip_policy_free(struct store_ip_policy *p)
{
	if (p == NULL)
		return;
	free(p->id);
	free(p->name);
	free(p->description);
	free(p->metadata);
	store_string_list_free(p->allow, p->nallow);
	store_string_list_free(p->deny, p->ndeny);
	store_ip_rule_list_free(p->rules, p->nrules);
	free(p);
}

/* Free rule <r>; NULL is a no-op. */
void
store_ip_rule_free(struct store_ip_rule *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->policy_id);
	free(r->policy_name);
	free(r->cidr);
	free(r->description);
	free(r->metadata);
	free(r);
}

/* Free the <n> rules of <list> and the list itself. */
void
store_ip_rule_list_free(struct store_ip_rule **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_ip_rule_free(list[i]);
	free(list);
}

/* Free the <n> policies of <list> and the list itself. */
void
store_ip_policy_list_free(struct store_ip_policy **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_ip_policy_free(list[i]);
	free(list);
}

/*
 * Attach policy <policy_id> to account <account_id>, or detach with
 * NULL: _NOT_FOUND for an unknown account or policy (the foreign key).
 */
int
store_account_set_ip_policy(struct store *store, const char *account_id,
    const char *policy_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (account_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE accounts SET ip_policy_id = ?2 WHERE id = ?1", "tt",
	    account_id, policy_id);
out:
	return r;
}

/*
 * Attach policy <policy_id> to reserved address <address_id>, or
 * detach with NULL: _NOT_FOUND for an unknown policy, or an address
 * that is unknown or deleted.
 */
int
store_address_set_ip_policy(struct store *store, const char *address_id,
    const char *policy_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (address_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE addresses SET ip_policy_id = ?2"
	    " WHERE id = ?1 AND deleted_ms IS NULL",
	    "tt", address_id, policy_id);
out:
	return r;
}

/*
 * Set the PROXY protocol version of reserved address <address_id>:
 * _INVALID_ARGUMENT unless 0, 1 or 2; _NOT_FOUND if it is unknown or
 * deleted.
 */
int
store_address_set_proxy_proto(struct store *store, const char *address_id,
    int version)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (address_id == NULL || version < 0 || version > 2) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE addresses SET proxy_proto = ?2"
	    " WHERE id = ?1 AND deleted_ms IS NULL",
	    "ti", address_id, version);
out:
	return r;
}
