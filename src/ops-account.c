/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "limit.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Accounts: an administrator's to add, disable, enable and delete, and
 * to give limits and an IP policy; an account scope sees its own and
 * may change its description.
 */

int
ops_account_add(struct ops *ops, const char *name, const char *description,
    struct store_account **ap, struct ops_err *err)
{
	struct store_account *a = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*ap = NULL;
	if ((r = ops_need_admin(ops, err)) != 0)
		goto out;
	if (name == NULL || !store_account_name_valid(name)) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "invalid account name '%.100s': use 1-64 letters, "
		    "digits, '.', '_' or '-', not starting with '-'",
		    name == NULL ? "" : name);
		goto out;
	}
	if ((r = ops_check_texts(description, NULL, err)) != 0)
		goto out;
	if ((r = store_account_add(ops->store, name, &a)) != 0) {
		if (r == PORTHOLE_ERR_EXISTS)
			ops_errf(err, r, "account '%.100s' already exists",
			    name);
		else
			ops_errf_r(err, ops, r, "add account '%.100s'", name);
		goto out;
	}
	if (description != NULL &&
	    (r = store_account_set_description(ops->store, a->id,
	         description)) != 0) {
		ops_errf_r(err, ops, r, "account %s: set description", a->name);
		goto out;
	}
	if ((r = store_account_get(ops->store, a->id, ap)) != 0)
		ops_errf_r(err, ops, r, "account %s", a->name);
out:
	store_account_free(a);
	return r;
}

int
ops_account_get(struct ops *ops, const char *name_or_id,
    struct store_account **ap, struct ops_err *err)
{
	*ap = NULL;
	if (name_or_id == NULL && ops_is_admin(ops))
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an account is needed");
	return ops_account_find(ops, name_or_id, 1, ap, err);
}

static void
ops_account_list_vfree(void *list, size_t n)
{
	store_account_list_free(list, n);
}

int
ops_account_list(struct ops *ops, const struct ops_page *page,
    struct store_account ***listp, size_t *np, int *morep, struct ops_err *err)
{
	struct store_account **list = NULL;
	void *out = NULL;
	size_t n = 0, i, k;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0)
		goto out;
	if ((r = store_account_list(ops->store, &list, &n)) != 0) {
		ops_errf_r(err, ops, r, "list accounts");
		goto out;
	}
	/* An account scope sees its own account alone. */
	for (i = k = 0; i < n; i++) {
		if (ops_visible(ops, list[i]->id))
			list[k++] = list[i];
		else
			store_account_free(list[i]);
	}
	n = k;
	/* Ownership of <list> passes to ops_page_slice. */
	r = ops_page_slice(page, (void **)list, n,
	    offsetof(struct store_account, id),
	    offsetof(struct store_account, created_ms), ops_account_list_vfree,
	    &out, np, morep, err);
	list = NULL;
	n = 0;
	*listp = out;
out:
	store_account_list_free(list, n);
	return r;
}

void
ops_traffic_keep(struct store_account *t)
{
	memset(t, 0, sizeof(*t));
	t->bandwidth_limit = t->quota_bytes = t->quota_period_s = STORE_KEEP;
	t->connection_rate = t->connections_per_source = STORE_KEEP;
	t->idle_timeout_s = STORE_KEEP;
}

/* Append ,"<key>":V as set (null for the default), then <eff>. */
static void
ops_limit_json(struct buf *b, const char *key, int64_t v, int64_t eff)
{
	char name[64];

	if (v < 0) {
		buf_putc(b, ',');
		json_str(b, key);
		buf_puts(b, ":null");
	} else
		json_kv_int(b, 0, key, v);
	snprintf(name, sizeof(name), "%s_effective", key);
	json_kv_int(b, 0, name, eff);
}

/* Append quota <bytes> over <period> seconds: 0 for none, or an object. */
static void
ops_quota_json(struct buf *b, int64_t bytes, int64_t period)
{
	if (bytes == 0) {
		buf_putc(b, '0');
		return;
	}
	buf_printf(b, "{\"bytes\":%lld,\"period_s\":%lld}", (long long)bytes,
	    (long long)period);
}

void
ops_account_limits_json(struct buf *b, const struct conf *conf,
    const struct store_account *a)
{
	struct limit_set eff;

	limit_resolve(a, conf, &eff);
	ops_limit_json(b, "bandwidth_limit", a->bandwidth_limit, eff.bandwidth);
	buf_puts(b, ",\"transfer_quota\":");
	if (a->quota_bytes < 0)
		buf_puts(b, "null");
	else
		ops_quota_json(b, a->quota_bytes, a->quota_period_s);
	buf_puts(b, ",\"transfer_quota_effective\":");
	ops_quota_json(b, eff.quota_bytes, eff.quota_period_s);
	ops_limit_json(b, "connection_rate", a->connection_rate,
	    eff.connection_rate);
	ops_limit_json(b, "connections_per_source", a->connections_per_source,
	    eff.per_source);
	ops_limit_json(b, "idle_timeout_s", a->idle_timeout_s,
	    eff.idle_timeout_s);
}

/* Predicate: <t> (may be NULL) changes at least one traffic limit. */
static int
ops_traffic_changes(const struct store_account *t)
{
	return t != NULL &&
	    (t->bandwidth_limit != STORE_KEEP || t->quota_bytes != STORE_KEEP ||
	        t->connection_rate != STORE_KEEP ||
	        t->connections_per_source != STORE_KEEP ||
	        t->idle_timeout_s != STORE_KEEP);
}

/* Predicate: <v> is STORE_KEEP, -1 (the server's default) or <valid>. */
static int
ops_traffic_ok(int64_t v, int (*valid)(int64_t))
{
	return v == STORE_KEEP || v == -1 || (v >= 0 && valid(v));
}

/*
 * Check the traffic limits <t> and copy them to *outp in the store's
 * terms (a quota's period follows its bytes). Returns 0, or
 * PORTHOLE_ERR_INVALID_ARGUMENT saying which limit is wrong and what it
 * takes.
 */
static int
ops_traffic_check(const struct store_account *t, struct store_account *outp,
    struct ops_err *err)
{
	ops_traffic_keep(outp);
	if (!ops_traffic_ok(t->bandwidth_limit, limit_rate_valid))
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "bandwidth limit: want 1 to %lld bytes per second, or "
		    "0 for none",
		    (long long)LIMIT_RATE_MAX);
	if (t->quota_bytes > 0 &&
	    !limit_quota_valid(t->quota_bytes, t->quota_period_s))
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "transfer quota: want 1 to %lld bytes over a period of "
		    "%lld to %lld seconds, or 0 for none",
		    (long long)LIMIT_SIZE_MAX, (long long)LIMIT_PERIOD_MIN,
		    (long long)LIMIT_PERIOD_MAX);
	if (t->quota_bytes < -1 && t->quota_bytes != STORE_KEEP)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "transfer quota: want 1 to %lld bytes, or 0 for none",
		    (long long)LIMIT_SIZE_MAX);
	if (!ops_traffic_ok(t->connection_rate, limit_count_valid) ||
	    !ops_traffic_ok(t->connections_per_source, limit_count_valid))
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "%s: want 1 to %lld, or 0 for none",
		    !ops_traffic_ok(t->connection_rate, limit_count_valid)
		        ? "connection rate (per minute)"
		        : "connections per source",
		    (long long)LIMIT_COUNT_MAX);
	if (!ops_traffic_ok(t->idle_timeout_s, limit_duration_valid))
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "idle timeout: want 1 to %lld seconds, or 0 for none",
		    (long long)LIMIT_DURATION_MAX);
	outp->bandwidth_limit = t->bandwidth_limit;
	outp->quota_bytes = t->quota_bytes;
	/* The period is the store's only with a quota; else it follows. */
	outp->quota_period_s =
	    t->quota_bytes > 0 ? t->quota_period_s : t->quota_bytes;
	outp->connection_rate = t->connection_rate;
	outp->connections_per_source = t->connections_per_source;
	outp->idle_timeout_s = t->idle_timeout_s;
	return 0;
}

int
ops_account_update(struct ops *ops, const char *name_or_id,
    const struct ops_account_update *u, struct store_account **ap,
    struct ops_err *err)
{
	struct store_account *a = NULL;
	struct store_ip_policy *p = NULL;
	struct store_account traffic;
	int r = PORTHOLE_ERR_INTERNAL, set_policy = 0, set_traffic;

	if (ap != NULL)
		*ap = NULL;
	set_traffic = ops_traffic_changes(u->traffic);
	if ((u->max_sessions != -1 || u->max_endpoints != -1 ||
	        u->ip_policy != NULL || set_traffic) &&
	    (r = ops_need_admin(ops, err)) != 0)
		goto out;
	if (set_traffic &&
	    (r = ops_traffic_check(u->traffic, &traffic, err)) != 0)
		goto out;
	if (u->max_sessions < -1 || u->max_sessions > OPS_LIMIT_MAX ||
	    u->max_endpoints < -1 || u->max_endpoints > OPS_LIMIT_MAX) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "limits: want 0 to %d (0 is the server's default)",
		    OPS_LIMIT_MAX);
		goto out;
	}
	if ((r = ops_check_texts(u->description, NULL, err)) != 0 ||
	    (r = ops_account_get(ops, name_or_id, &a, err)) != 0)
		goto out;
	/* An unknown policy changes nothing, not even the description. */
	if ((r = ops_policy_choice(ops, u->ip_policy, &p, &set_policy, err)) !=
	    0)
		goto out;
	if (u->description != NULL &&
	    (r = store_account_set_description(ops->store, a->id,
	         u->description)) != 0) {
		ops_errf_r(err, ops, r, "account %s: set description", a->name);
		goto out;
	}
	if ((u->max_sessions != -1 || u->max_endpoints != -1) &&
	    (r = store_account_set_limits(ops->store, a->id, u->max_sessions,
	         u->max_endpoints)) != 0) {
		ops_errf_r(err, ops, r, "account %s: set limits", a->name);
		goto out;
	}
	if (set_traffic) {
		if ((r = store_account_set_traffic(ops->store, a->id,
		         &traffic)) != 0) {
			ops_errf_r(err, ops, r,
			    "account %s: set traffic limits", a->name);
			goto out;
		}
		/* Its live sessions re-read their limits, as for a policy. */
		if (!set_policy)
			ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	}
	if (set_policy) {
		if ((r = store_account_set_ip_policy(ops->store, a->id,
		         p == NULL ? NULL : p->id)) != 0) {
			ops_errf_r(err, ops, r, "account %s: set ip-policy",
			    a->name);
			goto out;
		}
		ops_announce(ops, OPS_CHANGE_POLICY, NULL, 0);
	}
	if (ap != NULL && (r = store_account_get(ops->store, a->id, ap)) != 0)
		ops_errf_r(err, ops, r, "account %s", a->name);
out:
	store_ip_policy_free(p);
	store_account_free(a);
	return r;
}

/*
 * Disable (<disabled> 1) or enable account <name_or_id>. Disabling ends
 * its live sessions; their processes are told at once.
 */
static int
ops_account_set_disabled(struct ops *ops, const char *name_or_id, int disabled,
    struct store_account **ap, size_t *nendedp, struct ops_err *err)
{
	struct store_account *a = NULL;
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ap != NULL)
		*ap = NULL;
	if (nendedp != NULL)
		*nendedp = 0;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_account_get(ops, name_or_id, &a, err)) != 0)
		goto out;
	if ((r = store_account_set_disabled(ops->store, a->id, disabled,
	         misc_now_ms(), &pids, &npids)) != 0) {
		ops_errf_r(err, ops, r, "%s account %s",
		    disabled ? "disable" : "enable", a->name);
		goto out;
	}
	ops_announce(ops, OPS_CHANGE_SESSIONS, pids, npids);
	a->disabled = disabled;
	if (nendedp != NULL)
		*nendedp = npids;
	if (ap != NULL) {
		*ap = a; /* the caller's */
		a = NULL;
	}
out:
	free(pids);
	store_account_free(a);
	return r;
}

int
ops_account_disable(struct ops *ops, const char *name_or_id,
    struct store_account **ap, size_t *nendedp, struct ops_err *err)
{
	return ops_account_set_disabled(ops, name_or_id, 1, ap, nendedp, err);
}

int
ops_account_enable(struct ops *ops, const char *name_or_id,
    struct store_account **ap, struct ops_err *err)
{
	return ops_account_set_disabled(ops, name_or_id, 0, ap, NULL, err);
}

int
ops_account_delete(struct ops *ops, const char *name_or_id,
    struct store_account **ap, size_t *nendedp, struct ops_err *err)
{
	struct store_account *a = NULL;
	struct store_address **addrs = NULL;
	struct ops_err ignored;
	int64_t *pids = NULL, now = misc_now_ms();
	size_t i, naddrs = 0, npids = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ap != NULL)
		*ap = NULL;
	if (nendedp != NULL)
		*nendedp = 0;
	if ((r = ops_need_admin(ops, err)) != 0 ||
	    (r = ops_account_get(ops, name_or_id, &a, err)) != 0)
		goto out;
	/* Its addresses, to announce them deleted once they are. */
	if ((r = store_address_list(ops->store, a->id, &addrs, &naddrs)) != 0) {
		ops_errf_r(err, ops, r, "addresses of account %s", a->name);
		goto out;
	}
	if ((r = store_account_delete(ops->store, a->id, now, &pids, &npids)) !=
	    0) {
		ops_errf_r(err, ops, r, "delete account %s", a->name);
		goto out;
	}
	ops_announce(ops, OPS_CHANGE_SESSIONS, pids, npids);
	for (i = 0; i < naddrs; i++) {
		addrs[i]->deleted_ms = now;
		(void)ops_address_event(ops, EVENT_ADDRESS_DELETED, addrs[i],
		    now, &ignored);
	}
	if (nendedp != NULL)
		*nendedp = npids;
	if (ap != NULL) {
		*ap = a; /* the caller's */
		a = NULL;
	}
out:
	free(pids);
	store_address_list_free(addrs, naddrs);
	store_account_free(a);
	return r;
}
