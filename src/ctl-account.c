/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "ctl.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "limit.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/* The limit that applies: <limit>, or the server's <dflt> for 0. */
static int
ctl_account_effective(int limit, int dflt)
{
	return limit != 0 ? limit : dflt;
}

/* Append account <a> to <b> as a JSON object. */
static void
ctl_account_json(struct ctl *ctl, struct buf *b, const struct store_account *a)
{
	char when[CTL_TIME_LEN];

	buf_putc(b, '{');
	json_kv_str(b, 1, "id", a->id);
	json_kv_str(b, 0, "name", a->name);
	json_kv_bool(b, 0, "disabled", a->disabled);
	json_kv_str(b, 0, "description", a->description);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(a->created_ms, when, sizeof(when)));
	/* As stored (0: the server's default), then what applies. */
	json_kv_int(b, 0, "max_sessions", a->max_sessions);
	json_kv_int(b, 0, "max_sessions_effective",
	    ctl_account_effective(a->max_sessions,
	        ctl->conf->max_sessions_per_account));
	json_kv_int(b, 0, "max_endpoints", a->max_endpoints);
	json_kv_int(b, 0, "max_endpoints_effective",
	    ctl_account_effective(a->max_endpoints,
	        ctl->conf->max_endpoints_per_session));
	json_kv_int(b, 0, "keys", a->nkeys);
	json_kv_int(b, 0, "tokens", a->ntokens);
	json_kv_int(b, 0, "addresses", a->naddresses);
	json_kv_int(b, 0, "sessions", a->nsessions);
	json_kv_str(b, 0, "ip_policy", a->ip_policy_name);
	json_kv_str(b, 0, "ip_policy_id", a->ip_policy_id);
	ops_account_limits_json(b, ctl->conf, a);
	buf_putc(b, '}');
}

/* Print account <a> as one JSON line. */
static void
ctl_account_json_line(struct ctl *ctl, const struct store_account *a)
{
	struct buf *b = buf_new();

	ctl_account_json(ctl, b, a);
	ctl_json_line(b);
	buf_free(b);
}

/* Write "5", or "default (10)" for 0, the server's <dflt>, to buf. */
static void
ctl_account_limit(int limit, int dflt, char *buf, size_t len)
{
	if (limit == 0)
		snprintf(buf, len, "default (%d)", dflt);
	else
		snprintf(buf, len, "%d", limit);
}

/*
 * Write traffic limit <v> (formatted with <fmt>, src/limit.h) as it is
 * set and, when it follows the server's <dflt>, what that is: "5M",
 * "none", "default (none)", "default (5M)".
 */
static void
ctl_account_traffic(int64_t v, int64_t dflt,
    char *(*fmt)(int64_t, char *, size_t), char *buf, size_t len)
{
	char d[LIMIT_STRLEN];

	if (v >= 0)
		fmt(v, buf, len);
	else
		snprintf(buf, len, "default (%s)", fmt(dflt, d, sizeof(d)));
}

/* The same for a transfer quota. */
static void
ctl_account_quota(const struct store_account *a, const struct conf *conf,
    char *buf, size_t len)
{
	char d[LIMIT_STRLEN];

	if (a->quota_bytes >= 0)
		limit_format_quota(a->quota_bytes, a->quota_period_s, buf, len);
	else
		snprintf(buf, len, "default (%s)",
		    limit_format_quota(conf->transfer_quota,
		        conf->transfer_quota_period, d, sizeof(d)));
}

/* "1 session" or "2 sessions". */
static const char *
ctl_plural(int n)
{
	return n == 1 ? "" : "s";
}

/* account add NAME [--description TEXT]: create an account. */
int
ctl_account_add(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_account_add(ctl_ops(ctl), args->account, args->description,
	         &a, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_account_json_line(ctl, a);
	else
		ctl_printf("created account %s (%s)\n", a->name, a->id);
	r = 0;
out:
	store_account_free(a);
	return r;
}

/* account list: every account, with its counts. */
int
ctl_account_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account **list = NULL, *a;
	struct ctl_table *t = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN], nkeys[16], ntokens[16], naddr[16], nsess[16];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_account_list(ctl_ops(ctl), NULL, &list, &n, &more,
	         &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		for (i = 0; i < n; i++)
			ctl_account_json_line(ctl, list[i]);
		r = 0;
		goto out;
	}
	t = ctl_table_new("ID", "NAME", "STATUS", "KEYS", "TOKENS", "ADDRESSES",
	    "SESSIONS", "IP-POLICY", "CREATED", "DESCRIPTION", NULL);
	for (i = 0; i < n; i++) {
		a = list[i];
		snprintf(nkeys, sizeof(nkeys), "%d", a->nkeys);
		snprintf(ntokens, sizeof(ntokens), "%d", a->ntokens);
		snprintf(naddr, sizeof(naddr), "%d", a->naddresses);
		snprintf(nsess, sizeof(nsess), "%d", a->nsessions);
		ctl_table_add(t, a->id, a->name,
		    a->disabled ? "disabled" : "active", nkeys, ntokens, naddr,
		    nsess, a->ip_policy_name,
		    ctl_time(a->created_ms, when, sizeof(when)),
		    ctl_cell(a->description));
	}
	ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	store_account_list_free(list, n);
	return r;
}

/* account show NAME: every field of one account. */
int
ctl_account_show(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct ctl_table *t = NULL;
	char when[CTL_TIME_LEN], sess[32], ep[32];
	char nkeys[16], ntokens[16], naddr[16], nsess[16];
	char bw[LIMIT_STRLEN + 16], quota[LIMIT_STRLEN + 16];
	char rate[LIMIT_STRLEN + 16], src[LIMIT_STRLEN + 16];
	char idle[LIMIT_STRLEN + 16];
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_account_get(ctl_ops(ctl), args->account, &a, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		ctl_account_json_line(ctl, a);
		r = 0;
		goto out;
	}
	snprintf(nkeys, sizeof(nkeys), "%d", a->nkeys);
	snprintf(ntokens, sizeof(ntokens), "%d", a->ntokens);
	snprintf(naddr, sizeof(naddr), "%d", a->naddresses);
	snprintf(nsess, sizeof(nsess), "%d", a->nsessions);
	/* A label/value list: the first pair takes the header's place. */
	t = ctl_table_new("ID", a->id, NULL);
	ctl_table_add(t, "Name", a->name);
	ctl_table_add(t, "Status", a->disabled ? "disabled" : "active");
	ctl_table_add(t, "Description", ctl_cell(a->description));
	ctl_table_add(t, "Created",
	    ctl_time(a->created_ms, when, sizeof(when)));
	ctl_account_limit(a->max_sessions, ctl->conf->max_sessions_per_account,
	    sess, sizeof(sess));
	ctl_table_add(t, "Max sessions", sess);
	ctl_account_limit(a->max_endpoints,
	    ctl->conf->max_endpoints_per_session, ep, sizeof(ep));
	ctl_table_add(t, "Max endpoints", ep);
	ctl_table_add(t, "IP policy", a->ip_policy_name);
	/* Bytes per second; connections per minute; seconds idle. */
	ctl_account_traffic(a->bandwidth_limit, ctl->conf->bandwidth_limit,
	    limit_format_size, bw, sizeof(bw));
	ctl_table_add(t, "Bandwidth", bw);
	ctl_account_quota(a, ctl->conf, quota, sizeof(quota));
	ctl_table_add(t, "Transfer quota", quota);
	ctl_account_traffic(a->connection_rate,
	    ctl->conf->connection_rate_limit, limit_format_count, rate,
	    sizeof(rate));
	ctl_table_add(t, "Connection rate", rate);
	ctl_account_traffic(a->connections_per_source,
	    ctl->conf->max_connections_per_source, limit_format_count, src,
	    sizeof(src));
	ctl_table_add(t, "Per source", src);
	ctl_account_traffic(a->idle_timeout_s,
	    ctl->conf->connection_idle_timeout, limit_format_duration, idle,
	    sizeof(idle));
	ctl_table_add(t, "Idle timeout", idle);
	ctl_table_add(t, "Keys", nkeys);
	ctl_table_add(t, "Tokens", ntokens);
	ctl_table_add(t, "Addresses", naddr);
	ctl_table_add(t, "Sessions", nsess);
	ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	store_account_free(a);
	return r;
}

/*
 * account update NAME [--description TEXT] [--max-sessions N]
 * [--max-endpoints N] [--ip-policy POLICY|none] [--bandwidth RATE]
 * [--transfer-quota SIZE/PERIOD] [--connection-rate N]
 * [--max-connections-per-source N] [--idle-timeout DURATION]: change
 * what is given; the parser made sure something is. A new IP policy or
 * traffic limit is sent to the live sessions at once.
 */
int
ctl_account_update(struct ctl *ctl, const struct ctl_args *args)
{
	struct ops_account_update u;
	struct store_account *a = NULL, traffic;
	struct ops_err err;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&u, 0, sizeof(u));
	u.description = args->description;
	u.max_sessions = args->max_sessions;
	u.max_endpoints = args->max_endpoints;
	u.ip_policy = args->ip_policy;
	ops_traffic_keep(&traffic);
	traffic.bandwidth_limit = args->bandwidth;
	traffic.quota_bytes = args->quota_bytes;
	traffic.quota_period_s = args->quota_period;
	traffic.connection_rate = args->connection_rate;
	traffic.connections_per_source = args->per_source;
	traffic.idle_timeout_s = args->idle_timeout;
	u.traffic = &traffic;
	if ((r = ops_account_update(ctl_ops(ctl), args->account, &u, &a,
	         &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_account_json_line(ctl, a);
	else
		ctl_printf("updated account %s\n", a->name);
	r = 0;
out:
	store_account_free(a);
	return r;
}

/*
 * Report a change that ended sessions: "<what> account NAME; ended N
 * sessions", or the account as JSON with "sessions_ended".
 */
static void
ctl_account_report(struct ctl *ctl, const char *what,
    const struct store_account *a, size_t nended)
{
	struct buf *b = NULL;
	char when[CTL_TIME_LEN];

	if (!ctl->json) {
		ctl_printf("%s account %s; ended %zu session%s\n", what,
		    a->name, nended, ctl_plural((int)nended));
		return;
	}
	b = buf_new();
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", a->id);
	json_kv_str(b, 0, "name", a->name);
	json_kv_bool(b, 0, "disabled", a->disabled);
	json_kv_str(b, 0, "created_at",
	    misc_rfc3339(a->created_ms, when, sizeof(when)));
	json_kv_int(b, 0, "sessions_ended", (int64_t)nended);
	buf_putc(b, '}');
	ctl_json_line(b);
	buf_free(b);
}

/*
 * Disable (disabled 1) or enable account <name>. Disabling ends its
 * live sessions; their processes are told at once.
 */
static int
ctl_account_set_disabled(struct ctl *ctl, const char *name, int disabled)
{
	struct store_account *a = NULL;
	struct ops_err err;
	size_t nended = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if (disabled)
		r = ops_account_disable(ctl_ops(ctl), name, &a, &nended, &err);
	else
		r = ops_account_enable(ctl_ops(ctl), name, &a, &err);
	if (r != 0) {
		ctl_report(&err);
		goto out;
	}
	if (disabled)
		ctl_account_report(ctl, "disabled", a, nended);
	else if (ctl->json)
		ctl_account_report(ctl, "enabled", a, 0);
	else
		ctl_printf("enabled account %s\n", a->name);
	r = 0;
out:
	store_account_free(a);
	return r;
}

/* account disable NAME: refuse new sessions and end the live ones. */
int
ctl_account_disable(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_account_set_disabled(ctl, args->account, 1);
}

/* account enable NAME: accept its sessions again. */
int
ctl_account_enable(struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_account_set_disabled(ctl, args->account, 0);
}

/*
 * account delete NAME: end its sessions, remove its keys and tokens,
 * and retire its reserved addresses for good (their ports are never
 * handed out again).
 */
int
ctl_account_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct ops_err err;
	size_t nended = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_account_delete(ctl_ops(ctl), args->account, &a, &nended,
	         &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		ctl_account_report(ctl, "deleted", a, nended);
	else
		ctl_printf("deleted account %s (%d key%s, %d token%s, "
		           "%d reserved address%s); ended %zu session%s\n",
		    a->name, a->nkeys, ctl_plural(a->nkeys), a->ntokens,
		    ctl_plural(a->ntokens), a->naddresses,
		    a->naddresses == 1 ? "" : "es", nended,
		    ctl_plural((int)nended));
	r = 0;
out:
	store_account_free(a);
	return r;
}
