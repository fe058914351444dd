/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "buf.h"
#include "compat.h"
#include "ctl.h"
#include "err.h"
#include "limit.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * portholectl [-f file] [-o Keyword=value]... [--json] command ...
 *
 * The command words are matched against token tables, as relayctl
 * does: each table lists what may come next, and an argument token
 * stores the word it matched in struct ctl_args. A command's options
 * ("--description TEXT") are tokens of a table that leads back to
 * itself, so they come in any order after the command's words, and
 * only where that command takes them. A word that no table entry
 * takes, a missing one, or a bad option value is a usage error (exit
 * 2); everything that fails after parsing is an error (exit 1).
 */

enum ctl_action {
	CTL_NONE = 0,
	CTL_HELP,
	CTL_INIT,
	CTL_ACCOUNT_ADD,
	CTL_ACCOUNT_LIST,
	CTL_ACCOUNT_SHOW,
	CTL_ACCOUNT_UPDATE,
	CTL_ACCOUNT_DISABLE,
	CTL_ACCOUNT_ENABLE,
	CTL_ACCOUNT_DELETE,
	CTL_KEY_ADD,
	CTL_KEY_LIST,
	CTL_KEY_DELETE,
	CTL_TOKEN_CREATE,
	CTL_TOKEN_LIST,
	CTL_TOKEN_REVOKE,
	CTL_APIKEY_CREATE,
	CTL_APIKEY_LIST,
	CTL_APIKEY_REVOKE,
	CTL_ADDRESS_RESERVE,
	CTL_ADDRESS_LIST,
	CTL_ADDRESS_SHOW,
	CTL_ADDRESS_UPDATE,
	CTL_ADDRESS_DELETE,
	CTL_EDGE_CREATE,
	CTL_EDGE_LIST,
	CTL_EDGE_SHOW,
	CTL_EDGE_DELETE,
	CTL_EDGE_ADDRESS_ADD,
	CTL_EDGE_ADDRESS_REMOVE,
	CTL_EDGE_BACKEND_ADD,
	CTL_EDGE_BACKEND_REMOVE,
	CTL_EDGE_UPDATE,
	CTL_ENDPOINT_LIST,
	CTL_SESSION_LIST,
	CTL_SESSION_KILL,
	CTL_POLICY_CREATE,
	CTL_POLICY_LIST,
	CTL_POLICY_SHOW,
	CTL_POLICY_DELETE,
	CTL_POLICY_RULE_ADD,
	CTL_POLICY_RULE_DELETE,
	CTL_HOSTKEY,
	CTL_EVENTS,
	CTL_METRICS,
	CTL_USAGE,
	/* Webhooks (ctl-hook.c). */
	CTL_DEST_CREATE,
	CTL_DEST_LIST,
	CTL_DEST_SHOW,
	CTL_DEST_DELETE,
	CTL_SUB_CREATE,
	CTL_SUB_LIST,
	CTL_SUB_DELETE,
};

enum ctl_token_type {
	CTL_TOK_END = 0, /* ends a table */
	CTL_TOK_NONE, /* no more words here is fine */
	CTL_TOK_KEYWORD, /* the word equals <keyword>; <arg> if not NONE */
	CTL_TOK_WORD, /* any word not starting with "--": the <arg> */
	CTL_TOK_OPTION, /* "<keyword> VALUE" or "<keyword>=VALUE": <arg> */
	CTL_TOK_FLAG, /* an option without a value, "<keyword>": <arg> */
};

/* Which member of struct ctl_args a word or an option value sets. */
enum ctl_arg {
	CTL_ARG_NONE = 0,
	CTL_ARG_ACCOUNT,
	CTL_ARG_SOURCE,
	CTL_ARG_FINGERPRINT,
	CTL_ARG_ID,
	CTL_ARG_ADDRESS,
	CTL_ARG_ADDRESSES,
	CTL_ARG_EDGE,
	CTL_ARG_DESCRIPTION,
	CTL_ARG_METADATA,
	CTL_ARG_HOST,
	CTL_ARG_MAX_SESSIONS,
	CTL_ARG_MAX_ENDPOINTS,
	CTL_ARG_BANDWIDTH,
	CTL_ARG_TRANSFER_QUOTA,
	CTL_ARG_CONNECTION_RATE,
	CTL_ARG_PER_SOURCE,
	CTL_ARG_IDLE_TIMEOUT,
	CTL_ARG_POLICY,
	CTL_ARG_ALLOW,
	CTL_ARG_DENY,
	CTL_ARG_RULE,
	CTL_ARG_CIDR,
	CTL_ARG_IP_POLICY,
	CTL_ARG_PROXY_PROTO,
	CTL_ARG_POOLING,
	CTL_ARG_FOLLOW,
	CTL_ARG_TYPE,
	CTL_ARG_SINCE,
	CTL_ARG_LIMIT,
	CTL_ARG_BY,
	/* Webhooks (ctl-hook.c). */
	CTL_ARG_URL,
	CTL_ARG_SECRET,
	CTL_ARG_DESTINATIONS,
	CTL_ARG_TYPES,
};

struct ctl_token {
	enum ctl_token_type type;
	const char *keyword; /* the keyword or option, or a name for usage */
	enum ctl_arg arg;
	enum ctl_action action;
	const struct ctl_token *next;
};

static const struct ctl_token t_end[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_account_name[] = {
	{ CTL_TOK_WORD, "NAME", CTL_ARG_ACCOUNT, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

/* Options tables loop back to themselves: options come in any order. */
static const struct ctl_token t_account_add_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_account_add_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_account_add[] = {
	{ CTL_TOK_WORD, "NAME", CTL_ARG_ACCOUNT, CTL_NONE, t_account_add_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_account_update_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_OPTION, "--max-sessions", CTL_ARG_MAX_SESSIONS, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_OPTION, "--max-endpoints", CTL_ARG_MAX_ENDPOINTS, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_OPTION, "--ip-policy", CTL_ARG_IP_POLICY, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_OPTION, "--bandwidth", CTL_ARG_BANDWIDTH, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_OPTION, "--transfer-quota", CTL_ARG_TRANSFER_QUOTA, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_OPTION, "--connection-rate", CTL_ARG_CONNECTION_RATE,
	    CTL_NONE, t_account_update_opts },
	{ CTL_TOK_OPTION, "--max-connections-per-source", CTL_ARG_PER_SOURCE,
	    CTL_NONE, t_account_update_opts },
	{ CTL_TOK_OPTION, "--idle-timeout", CTL_ARG_IDLE_TIMEOUT, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_account_update[] = {
	{ CTL_TOK_WORD, "NAME", CTL_ARG_ACCOUNT, CTL_NONE,
	    t_account_update_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_account[] = {
	{ CTL_TOK_KEYWORD, "add", CTL_ARG_NONE, CTL_ACCOUNT_ADD,
	    t_account_add },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_ACCOUNT_LIST, t_end },
	{ CTL_TOK_KEYWORD, "show", CTL_ARG_NONE, CTL_ACCOUNT_SHOW,
	    t_account_name },
	{ CTL_TOK_KEYWORD, "update", CTL_ARG_NONE, CTL_ACCOUNT_UPDATE,
	    t_account_update },
	{ CTL_TOK_KEYWORD, "disable", CTL_ARG_NONE, CTL_ACCOUNT_DISABLE,
	    t_account_name },
	{ CTL_TOK_KEYWORD, "enable", CTL_ARG_NONE, CTL_ACCOUNT_ENABLE,
	    t_account_name },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_ACCOUNT_DELETE,
	    t_account_name },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_key_source[] = {
	{ CTL_TOK_WORD, "FILE | - | 'TYPE BASE64 [COMMENT]'", CTL_ARG_SOURCE,
	    CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_key_add[] = {
	{ CTL_TOK_WORD, "ACCOUNT", CTL_ARG_ACCOUNT, CTL_NONE, t_key_source },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

/* An optional ACCOUNT, for the listings. */
static const struct ctl_token t_opt_account[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_WORD, "ACCOUNT", CTL_ARG_ACCOUNT, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_key_delete[] = {
	{ CTL_TOK_WORD, "FINGERPRINT", CTL_ARG_FINGERPRINT, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_key[] = {
	{ CTL_TOK_KEYWORD, "add", CTL_ARG_NONE, CTL_KEY_ADD, t_key_add },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_KEY_LIST, t_opt_account },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_KEY_DELETE,
	    t_key_delete },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_token_create_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_token_create_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_token_create[] = {
	{ CTL_TOK_WORD, "ACCOUNT", CTL_ARG_ACCOUNT, CTL_NONE,
	    t_token_create_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_id[] = {
	{ CTL_TOK_WORD, "ID", CTL_ARG_ID, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_token[] = {
	{ CTL_TOK_KEYWORD, "create", CTL_ARG_NONE, CTL_TOKEN_CREATE,
	    t_token_create },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_TOKEN_LIST,
	    t_opt_account },
	{ CTL_TOK_KEYWORD, "revoke", CTL_ARG_NONE, CTL_TOKEN_REVOKE, t_id },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_apikey_create[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--account", CTL_ARG_ACCOUNT, CTL_NONE,
	    t_apikey_create },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_apikey_create },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_apikey[] = {
	{ CTL_TOK_KEYWORD, "create", CTL_ARG_NONE, CTL_APIKEY_CREATE,
	    t_apikey_create },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_APIKEY_LIST,
	    t_opt_account },
	{ CTL_TOK_KEYWORD, "revoke", CTL_ARG_NONE, CTL_APIKEY_REVOKE, t_id },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_address_reserve_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--host", CTL_ARG_HOST, CTL_NONE,
	    t_address_reserve_opts },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_address_reserve_opts },
	{ CTL_TOK_OPTION, "--metadata", CTL_ARG_METADATA, CTL_NONE,
	    t_address_reserve_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_address_reserve[] = {
	{ CTL_TOK_WORD, "ACCOUNT", CTL_ARG_ACCOUNT, CTL_NONE,
	    t_address_reserve_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_address_addr[] = {
	{ CTL_TOK_WORD, "ADDR", CTL_ARG_ADDRESS, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_address_update_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_address_update_opts },
	{ CTL_TOK_OPTION, "--metadata", CTL_ARG_METADATA, CTL_NONE,
	    t_address_update_opts },
	{ CTL_TOK_OPTION, "--ip-policy", CTL_ARG_IP_POLICY, CTL_NONE,
	    t_address_update_opts },
	{ CTL_TOK_OPTION, "--proxy-proto", CTL_ARG_PROXY_PROTO, CTL_NONE,
	    t_address_update_opts },
	{ CTL_TOK_OPTION, "--pooling", CTL_ARG_POOLING, CTL_NONE,
	    t_address_update_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_address_update[] = {
	{ CTL_TOK_WORD, "ADDR", CTL_ARG_ADDRESS, CTL_NONE,
	    t_address_update_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_address[] = {
	{ CTL_TOK_KEYWORD, "reserve", CTL_ARG_NONE, CTL_ADDRESS_RESERVE,
	    t_address_reserve },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_ADDRESS_LIST,
	    t_opt_account },
	{ CTL_TOK_KEYWORD, "show", CTL_ARG_NONE, CTL_ADDRESS_SHOW,
	    t_address_addr },
	{ CTL_TOK_KEYWORD, "update", CTL_ARG_NONE, CTL_ADDRESS_UPDATE,
	    t_address_update },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_ADDRESS_DELETE,
	    t_address_addr },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_create_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_edge_create_opts },
	{ CTL_TOK_OPTION, "--address", CTL_ARG_ADDRESSES, CTL_NONE,
	    t_edge_create_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_id[] = {
	{ CTL_TOK_WORD, "EDGE", CTL_ARG_EDGE, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_address_edge[] = {
	{ CTL_TOK_WORD, "EDGE", CTL_ARG_EDGE, CTL_NONE, t_address_addr },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_address[] = {
	{ CTL_TOK_KEYWORD, "add", CTL_ARG_NONE, CTL_EDGE_ADDRESS_ADD,
	    t_edge_address_edge },
	{ CTL_TOK_KEYWORD, "remove", CTL_ARG_NONE, CTL_EDGE_ADDRESS_REMOVE,
	    t_edge_address_edge },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_backend_account[] = {
	{ CTL_TOK_WORD, "ACCOUNT", CTL_ARG_ACCOUNT, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_backend_edge[] = {
	{ CTL_TOK_WORD, "EDGE", CTL_ARG_EDGE, CTL_NONE,
	    t_edge_backend_account },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_backend[] = {
	{ CTL_TOK_KEYWORD, "add", CTL_ARG_NONE, CTL_EDGE_BACKEND_ADD,
	    t_edge_backend_edge },
	{ CTL_TOK_KEYWORD, "remove", CTL_ARG_NONE, CTL_EDGE_BACKEND_REMOVE,
	    t_edge_backend_edge },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_update_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_edge_update_opts },
	{ CTL_TOK_OPTION, "--ip-policy", CTL_ARG_IP_POLICY, CTL_NONE,
	    t_edge_update_opts },
	{ CTL_TOK_OPTION, "--proxy-proto", CTL_ARG_PROXY_PROTO, CTL_NONE,
	    t_edge_update_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge_update[] = {
	{ CTL_TOK_WORD, "EDGE", CTL_ARG_EDGE, CTL_NONE, t_edge_update_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_edge[] = {
	{ CTL_TOK_KEYWORD, "create", CTL_ARG_NONE, CTL_EDGE_CREATE,
	    t_edge_create_opts },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_EDGE_LIST, t_end },
	{ CTL_TOK_KEYWORD, "show", CTL_ARG_NONE, CTL_EDGE_SHOW, t_edge_id },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_EDGE_DELETE, t_edge_id },
	{ CTL_TOK_KEYWORD, "address", CTL_ARG_NONE, CTL_NONE, t_edge_address },
	{ CTL_TOK_KEYWORD, "backend", CTL_ARG_NONE, CTL_NONE, t_edge_backend },
	{ CTL_TOK_KEYWORD, "update", CTL_ARG_NONE, CTL_EDGE_UPDATE,
	    t_edge_update },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_endpoint[] = {
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_ENDPOINT_LIST, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_session[] = {
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_SESSION_LIST,
	    t_opt_account },
	{ CTL_TOK_KEYWORD, "kill", CTL_ARG_NONE, CTL_SESSION_KILL, t_id },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_policy_name[] = {
	{ CTL_TOK_WORD, "NAME", CTL_ARG_POLICY, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_policy_create_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_policy_create_opts },
	{ CTL_TOK_OPTION, "--allow", CTL_ARG_ALLOW, CTL_NONE,
	    t_policy_create_opts },
	{ CTL_TOK_OPTION, "--deny", CTL_ARG_DENY, CTL_NONE,
	    t_policy_create_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_policy_create[] = {
	{ CTL_TOK_WORD, "NAME", CTL_ARG_POLICY, CTL_NONE,
	    t_policy_create_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_policy_cidr[] = {
	{ CTL_TOK_WORD, "CIDR", CTL_ARG_CIDR, CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

/* The keyword itself is the value: CTL_ARG_RULE notes which. */
static const struct ctl_token t_policy_rule_kind[] = {
	{ CTL_TOK_KEYWORD, "allow", CTL_ARG_RULE, CTL_NONE, t_policy_cidr },
	{ CTL_TOK_KEYWORD, "deny", CTL_ARG_RULE, CTL_NONE, t_policy_cidr },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_policy_rule_name[] = {
	{ CTL_TOK_WORD, "NAME", CTL_ARG_POLICY, CTL_NONE, t_policy_rule_kind },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_policy_rule[] = {
	{ CTL_TOK_KEYWORD, "add", CTL_ARG_NONE, CTL_POLICY_RULE_ADD,
	    t_policy_rule_name },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_POLICY_RULE_DELETE,
	    t_policy_rule_name },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_policy[] = {
	{ CTL_TOK_KEYWORD, "create", CTL_ARG_NONE, CTL_POLICY_CREATE,
	    t_policy_create },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_POLICY_LIST, t_end },
	{ CTL_TOK_KEYWORD, "show", CTL_ARG_NONE, CTL_POLICY_SHOW,
	    t_policy_name },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_POLICY_DELETE,
	    t_policy_name },
	{ CTL_TOK_KEYWORD, "rule", CTL_ARG_NONE, CTL_NONE, t_policy_rule },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_events_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_FLAG, "--follow", CTL_ARG_FOLLOW, CTL_NONE, t_events_opts },
	{ CTL_TOK_OPTION, "--type", CTL_ARG_TYPE, CTL_NONE, t_events_opts },
	{ CTL_TOK_OPTION, "--since", CTL_ARG_SINCE, CTL_NONE, t_events_opts },
	{ CTL_TOK_OPTION, "--limit", CTL_ARG_LIMIT, CTL_NONE, t_events_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

/* usage [ACCOUNT] [--since TIME] [--by day|hour] (ctl-usage.c). */
static const struct ctl_token t_usage_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--since", CTL_ARG_SINCE, CTL_NONE, t_usage_opts },
	{ CTL_TOK_OPTION, "--by", CTL_ARG_BY, CTL_NONE, t_usage_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_usage[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_WORD, "ACCOUNT", CTL_ARG_ACCOUNT, CTL_NONE, t_usage_opts },
	{ CTL_TOK_OPTION, "--since", CTL_ARG_SINCE, CTL_NONE, t_usage_opts },
	{ CTL_TOK_OPTION, "--by", CTL_ARG_BY, CTL_NONE, t_usage_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

/* Webhooks: destination and subscription (ctl-hook.c). */
static const struct ctl_token t_dest_create_opts[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--account", CTL_ARG_ACCOUNT, CTL_NONE,
	    t_dest_create_opts },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_dest_create_opts },
	{ CTL_TOK_OPTION, "--metadata", CTL_ARG_METADATA, CTL_NONE,
	    t_dest_create_opts },
	{ CTL_TOK_OPTION, "--secret", CTL_ARG_SECRET, CTL_NONE,
	    t_dest_create_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_dest_create[] = {
	{ CTL_TOK_WORD, "URL", CTL_ARG_URL, CTL_NONE, t_dest_create_opts },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_dest[] = {
	{ CTL_TOK_KEYWORD, "create", CTL_ARG_NONE, CTL_DEST_CREATE,
	    t_dest_create },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_DEST_LIST, t_opt_account },
	{ CTL_TOK_KEYWORD, "show", CTL_ARG_NONE, CTL_DEST_SHOW, t_id },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_DEST_DELETE, t_id },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_sub_create[] = {
	{ CTL_TOK_NONE, "", CTL_ARG_NONE, CTL_NONE, NULL },
	{ CTL_TOK_OPTION, "--destination", CTL_ARG_DESTINATIONS, CTL_NONE,
	    t_sub_create },
	{ CTL_TOK_OPTION, "--type", CTL_ARG_TYPES, CTL_NONE, t_sub_create },
	{ CTL_TOK_OPTION, "--account", CTL_ARG_ACCOUNT, CTL_NONE,
	    t_sub_create },
	{ CTL_TOK_OPTION, "--description", CTL_ARG_DESCRIPTION, CTL_NONE,
	    t_sub_create },
	{ CTL_TOK_OPTION, "--metadata", CTL_ARG_METADATA, CTL_NONE,
	    t_sub_create },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_sub[] = {
	{ CTL_TOK_KEYWORD, "create", CTL_ARG_NONE, CTL_SUB_CREATE,
	    t_sub_create },
	{ CTL_TOK_KEYWORD, "list", CTL_ARG_NONE, CTL_SUB_LIST, t_opt_account },
	{ CTL_TOK_KEYWORD, "delete", CTL_ARG_NONE, CTL_SUB_DELETE, t_id },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

static const struct ctl_token t_main[] = {
	{ CTL_TOK_KEYWORD, "init", CTL_ARG_NONE, CTL_INIT, t_end },
	{ CTL_TOK_KEYWORD, "account", CTL_ARG_NONE, CTL_NONE, t_account },
	{ CTL_TOK_KEYWORD, "key", CTL_ARG_NONE, CTL_NONE, t_key },
	{ CTL_TOK_KEYWORD, "token", CTL_ARG_NONE, CTL_NONE, t_token },
	{ CTL_TOK_KEYWORD, "api-key", CTL_ARG_NONE, CTL_NONE, t_apikey },
	{ CTL_TOK_KEYWORD, "address", CTL_ARG_NONE, CTL_NONE, t_address },
	{ CTL_TOK_KEYWORD, "edge", CTL_ARG_NONE, CTL_NONE, t_edge },
	{ CTL_TOK_KEYWORD, "endpoint", CTL_ARG_NONE, CTL_NONE, t_endpoint },
	{ CTL_TOK_KEYWORD, "session", CTL_ARG_NONE, CTL_NONE, t_session },
	{ CTL_TOK_KEYWORD, "ip-policy", CTL_ARG_NONE, CTL_NONE, t_policy },
	{ CTL_TOK_KEYWORD, "hostkey", CTL_ARG_NONE, CTL_HOSTKEY, t_end },
	{ CTL_TOK_KEYWORD, "events", CTL_ARG_NONE, CTL_EVENTS, t_events_opts },
	{ CTL_TOK_KEYWORD, "metrics", CTL_ARG_NONE, CTL_METRICS, t_end },
	{ CTL_TOK_KEYWORD, "usage", CTL_ARG_NONE, CTL_USAGE, t_usage },
	{ CTL_TOK_KEYWORD, "destination", CTL_ARG_NONE, CTL_NONE, t_dest },
	{ CTL_TOK_KEYWORD, "subscription", CTL_ARG_NONE, CTL_NONE, t_sub },
	{ CTL_TOK_KEYWORD, "help", CTL_ARG_NONE, CTL_HELP, t_end },
	{ CTL_TOK_END, "", CTL_ARG_NONE, CTL_NONE, NULL },
};

/*
 * The command table: what each action runs; init opens the store itself
 * and hostkey needs none.
 */
static const struct ctl_command_row {
	enum ctl_action action;
	struct ctl_command command;
} ctl_commands[] = {
	{ CTL_INIT, { ctl_init, 0 } },
	{ CTL_ACCOUNT_ADD, { ctl_account_add, 1 } },
	{ CTL_ACCOUNT_LIST, { ctl_account_list, 1 } },
	{ CTL_ACCOUNT_SHOW, { ctl_account_show, 1 } },
	{ CTL_ACCOUNT_UPDATE, { ctl_account_update, 1 } },
	{ CTL_ACCOUNT_DISABLE, { ctl_account_disable, 1 } },
	{ CTL_ACCOUNT_ENABLE, { ctl_account_enable, 1 } },
	{ CTL_ACCOUNT_DELETE, { ctl_account_delete, 1 } },
	{ CTL_KEY_ADD, { ctl_key_add, 1 } },
	{ CTL_KEY_LIST, { ctl_key_list, 1 } },
	{ CTL_KEY_DELETE, { ctl_key_delete, 1 } },
	{ CTL_TOKEN_CREATE, { ctl_token_create, 1 } },
	{ CTL_TOKEN_LIST, { ctl_token_list, 1 } },
	{ CTL_TOKEN_REVOKE, { ctl_token_revoke, 1 } },
	{ CTL_APIKEY_CREATE, { ctl_apikey_create, 1 } },
	{ CTL_APIKEY_LIST, { ctl_apikey_list, 1 } },
	{ CTL_APIKEY_REVOKE, { ctl_apikey_revoke, 1 } },
	{ CTL_ADDRESS_RESERVE, { ctl_address_reserve, 1 } },
	{ CTL_ADDRESS_LIST, { ctl_address_list, 1 } },
	{ CTL_ADDRESS_SHOW, { ctl_address_show, 1 } },
	{ CTL_ADDRESS_UPDATE, { ctl_address_update, 1 } },
	{ CTL_ADDRESS_DELETE, { ctl_address_delete, 1 } },
	{ CTL_EDGE_CREATE, { ctl_edge_create, 1 } },
	{ CTL_EDGE_LIST, { ctl_edge_list, 1 } },
	{ CTL_EDGE_SHOW, { ctl_edge_show, 1 } },
	{ CTL_EDGE_DELETE, { ctl_edge_delete, 1 } },
	{ CTL_EDGE_ADDRESS_ADD, { ctl_edge_address_add, 1 } },
	{ CTL_EDGE_ADDRESS_REMOVE, { ctl_edge_address_remove, 1 } },
	{ CTL_EDGE_BACKEND_ADD, { ctl_edge_backend_add, 1 } },
	{ CTL_EDGE_BACKEND_REMOVE, { ctl_edge_backend_remove, 1 } },
	{ CTL_EDGE_UPDATE, { ctl_edge_update, 1 } },
	{ CTL_ENDPOINT_LIST, { ctl_endpoint_list, 1 } },
	{ CTL_SESSION_LIST, { ctl_session_list, 1 } },
	{ CTL_SESSION_KILL, { ctl_session_kill, 1 } },
	{ CTL_POLICY_CREATE, { ctl_policy_create, 1 } },
	{ CTL_POLICY_LIST, { ctl_policy_list, 1 } },
	{ CTL_POLICY_SHOW, { ctl_policy_show, 1 } },
	{ CTL_POLICY_DELETE, { ctl_policy_delete, 1 } },
	{ CTL_POLICY_RULE_ADD, { ctl_policy_rule_add, 1 } },
	{ CTL_POLICY_RULE_DELETE, { ctl_policy_rule_delete, 1 } },
	{ CTL_HOSTKEY, { ctl_hostkey, 0 } },
	{ CTL_EVENTS, { ctl_events, 1 } },
	{ CTL_METRICS, { ctl_metrics, 1 } },
	{ CTL_USAGE, { ctl_usage_show, 1 } },
	{ CTL_DEST_CREATE, { ctl_dest_create, 1 } },
	{ CTL_DEST_LIST, { ctl_dest_list, 1 } },
	{ CTL_DEST_SHOW, { ctl_dest_show, 1 } },
	{ CTL_DEST_DELETE, { ctl_dest_delete, 1 } },
	{ CTL_SUB_CREATE, { ctl_sub_create, 1 } },
	{ CTL_SUB_LIST, { ctl_sub_list, 1 } },
	{ CTL_SUB_DELETE, { ctl_sub_delete, 1 } },
};

void
ctl_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: portholectl [-f file] [-o keyword=value] [--json] "
	    "command [argument ...]\n"
	    "commands:\n"
	    "    init\n"
	    "    account add NAME [--description TEXT]\n"
	    "    account list\n"
	    "    account show NAME\n"
	    "    account update NAME [--description TEXT] [--max-sessions N]\n"
	    "        [--max-endpoints N] [--ip-policy POLICY | none]\n"
	    "        [--bandwidth RATE] [--transfer-quota SIZE/PERIOD]\n"
	    "        [--connection-rate N] [--max-connections-per-source N]\n"
	    "        [--idle-timeout DURATION]\n"
	    "    account disable | enable | delete NAME\n"
	    "    key add ACCOUNT FILE | - | 'TYPE BASE64 [COMMENT]'\n"
	    "    key list [ACCOUNT]\n"
	    "    key delete FINGERPRINT\n"
	    "    token create ACCOUNT [--description TEXT]\n"
	    "    token list [ACCOUNT]\n"
	    "    token revoke ID\n"
	    "    api-key create [--account ACCOUNT] [--description TEXT]\n"
	    "    api-key list [ACCOUNT]\n"
	    "    api-key revoke ID\n"
	    "    address reserve ACCOUNT [--host HOST] [--description TEXT]\n"
	    "        [--metadata TEXT]\n"
	    "    address list [ACCOUNT]\n"
	    "    address show | delete ADDR\n"
	    "    address update ADDR [--description TEXT] [--metadata TEXT]\n"
	    "        [--ip-policy POLICY | none] [--proxy-proto 0 | 1 | 2]\n"
	    "        [--pooling on | off]\n"
	    "    edge create [--description TEXT] [--address ADDR]...\n"
	    "    edge list\n"
	    "    edge show | delete EDGE\n"
	    "    edge address add | remove EDGE ADDR\n"
	    "    edge backend add | remove EDGE ACCOUNT\n"
	    "    edge update EDGE [--description TEXT] "
	    "[--ip-policy POLICY | none]\n"
	    "        [--proxy-proto 0 | 1 | 2]\n"
	    "    endpoint list\n"
	    "    session list [ACCOUNT]\n"
	    "    session kill ID\n"
	    "    ip-policy create NAME [--description TEXT] [--allow CIDR]...\n"
	    "        [--deny CIDR]...\n"
	    "    ip-policy list\n"
	    "    ip-policy show | delete NAME\n"
	    "    ip-policy rule add | delete NAME allow | deny CIDR\n"
	    "    hostkey\n"
	    "    events [--follow] [--type TYPE] [--since TIME] [--limit N]\n"
	    "    metrics\n"
	    "    usage [ACCOUNT] [--since TIME] [--by day | hour]\n"
	    "    destination create URL [--account ACCOUNT] [--secret SECRET]\n"
	    "        [--description TEXT] [--metadata TEXT]\n"
	    "    destination list [ACCOUNT]\n"
	    "    destination show | delete ID\n"
	    "    subscription create --destination ID... --type TYPE...\n"
	    "        [--account ACCOUNT] [--description TEXT] [--metadata "
	    "TEXT]\n"
	    "    subscription list [ACCOUNT]\n"
	    "    subscription delete ID\n"
	    "    help\n"
	    "ACCOUNT is a name or an id (ac_...); ADDR an id (ra_...) or "
	    "HOST:PORT;\n"
	    "EDGE an id (ed_...); an ip-policy NAME or POLICY a name or an id "
	    "(ip_...);\n"
	    "CIDR an IPv4 or IPv6 network (10.0.0.0/8, 2001:db8::/32) or one "
	    "address.\n"
	    "N is 0 to %d; 0 means the server's default.\n"
	    "Traffic limits take none (no limit) or default (the server's): "
	    "RATE bytes\n"
	    "per second and SIZE bytes with an optional K, M, G or T suffix "
	    "(binary),\n"
	    "PERIOD 1h to 366d, a connection limit N 1 to 1000000, DURATION "
	    "like 90s or 5m.\n"
	    "edge create without --address reserves a new address, owned by "
	    "no account,\n"
	    "which edge delete retires for good.\n"
	    "events: TYPE is an event type (tcp_address_created.v0, ...); "
	    "TIME is RFC 3339\n"
	    "UTC (2026-11-25T12:00:00Z) or an age (30m, 2h, 7d); --limit N "
	    "prints the\n"
	    "newest N. metrics: Prometheus text format.\n"
	    "usage: connections, refusals and bytes per account and "
	    "endpoint, from TIME\n"
	    "(the hour holding it) on, per UTC day or hour, with a total "
	    "per account.\n",
	    CTL_LIMIT_MAX);
}

/* Append the usage names of what <table> accepts, "a | b", to <b>. */
static void
ctl_parse_expected(const struct ctl_token *table, struct buf *b)
{
	const struct ctl_token *t;

	for (t = table; t->type != CTL_TOK_END; t++) {
		if (t->type == CTL_TOK_NONE)
			continue;
		if (buf_len(b) > 0)
			buf_puts(b, " | ");
		buf_puts(b, t->keyword);
	}
}

/*
 * Predicate: <word> matches option token <t>, as "--opt" (the value is
 * the next word) or "--opt=VALUE".
 */
static int
ctl_parse_is_option(const struct ctl_token *t, const char *word)
{
	size_t len = strlen(t->keyword);

	return strncmp(word, t->keyword, len) == 0 &&
	    (word[len] == '\0' || word[len] == '=');
}

/*
 * The entry of <table> that takes <word>, or NULL: the first one that
 * matches, in the table's order. A NULL <word> (no more words) matches
 * only CTL_TOK_NONE.
 */
static const struct ctl_token *
ctl_parse_match(const struct ctl_token *table, const char *word)
{
	const struct ctl_token *t;

	for (t = table; t->type != CTL_TOK_END; t++) {
		switch (t->type) {
		case CTL_TOK_NONE:
			if (word == NULL)
				return t;
			break;
		case CTL_TOK_KEYWORD:
		case CTL_TOK_FLAG:
			if (word != NULL && strcmp(word, t->keyword) == 0)
				return t;
			break;
		case CTL_TOK_WORD:
			/* An option is never taken for a name. */
			if (word != NULL && strncmp(word, "--", 2) != 0)
				return t;
			break;
		case CTL_TOK_OPTION:
			if (word != NULL && ctl_parse_is_option(t, word))
				return t;
			break;
		case CTL_TOK_END:
			break;
		}
	}
	return NULL;
}

/*
 * Parse traffic limit <value> of option <t> (src/limit.h: "none" and
 * "default" too) into <args>. Returns 0 or PORTHOLE_ERR_INVALID_ARGUMENT
 * after reporting it.
 */
static int
ctl_parse_limit(struct ctl_args *args, const struct ctl_token *t,
    const char *value)
{
	const char *why = NULL;
	int r;

	switch (t->arg) {
	case CTL_ARG_BANDWIDTH:
		r = limit_parse_rate(value, LIMIT_DEFAULT, &args->bandwidth,
		    &why);
		break;
	case CTL_ARG_TRANSFER_QUOTA:
		r = limit_parse_quota(value, LIMIT_DEFAULT, &args->quota_bytes,
		    &args->quota_period, &why);
		break;
	case CTL_ARG_CONNECTION_RATE:
		r = limit_parse_count(value, LIMIT_DEFAULT,
		    &args->connection_rate, &why);
		break;
	case CTL_ARG_PER_SOURCE:
		r = limit_parse_count(value, LIMIT_DEFAULT, &args->per_source,
		    &why);
		break;
	default:
		r = limit_parse_duration(value, LIMIT_DEFAULT,
		    &args->idle_timeout, &why);
		break;
	}
	if (r != 0) {
		error("%s: bad value '%.100s': want %s, none (no limit) or "
		      "default (the server's)",
		    t->keyword, value, why);
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

/*
 * Store <value> in the member of <args> that <arg> names. Numbers are
 * checked here, so a bad one is a usage error. Returns 0 or
 * PORTHOLE_ERR_INVALID_ARGUMENT after reporting it.
 */
static int
ctl_parse_set(struct ctl_args *args, const struct ctl_token *t,
    const char *value)
{
	const char *errstr = NULL;
	struct buf *types = NULL;
	struct ops_err err;
	char cidr[ACL_CIDR_STRLEN];
	long long n;
	size_t max;

	switch (t->arg) {
	case CTL_ARG_ACCOUNT:
		args->account = value;
		break;
	case CTL_ARG_SOURCE:
		args->source = value;
		break;
	case CTL_ARG_FINGERPRINT:
		args->fingerprint = value;
		break;
	case CTL_ARG_ID:
		args->id = value;
		break;
	case CTL_ARG_ADDRESS:
		args->address = value;
		break;
	case CTL_ARG_ADDRESSES:
		args->addresses = xreallocarray(args->addresses,
		    args->naddresses + 1, sizeof(*args->addresses));
		args->addresses[args->naddresses++] = value;
		break;
	case CTL_ARG_EDGE:
		args->edge = value;
		break;
	case CTL_ARG_DESCRIPTION:
	case CTL_ARG_METADATA:
		max = CTL_METADATA_MAX;
		if (t->arg == CTL_ARG_DESCRIPTION)
			max = CTL_DESCRIPTION_MAX;
		/* The length here (usage); the characters after parsing. */
		if (ops_check_text(t->keyword, value, max, 0, &err) ==
		    PORTHOLE_ERR_INVALID_ARGUMENT) {
			ctl_report(&err);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		if (t->arg == CTL_ARG_DESCRIPTION)
			args->description = value;
		else
			args->metadata = value;
		break;
	case CTL_ARG_HOST:
		args->host = value;
		break;
	case CTL_ARG_MAX_SESSIONS:
	case CTL_ARG_MAX_ENDPOINTS:
		n = strtonum(value, 0, CTL_LIMIT_MAX, &errstr);
		if (errstr != NULL) {
			error("%s: bad value '%.100s': want 0 to %d (0 is the "
			      "server's default)",
			    t->keyword, value, CTL_LIMIT_MAX);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		if (t->arg == CTL_ARG_MAX_SESSIONS)
			args->max_sessions = (int)n;
		else
			args->max_endpoints = (int)n;
		break;
	case CTL_ARG_BANDWIDTH:
	case CTL_ARG_TRANSFER_QUOTA:
	case CTL_ARG_CONNECTION_RATE:
	case CTL_ARG_PER_SOURCE:
	case CTL_ARG_IDLE_TIMEOUT:
		return ctl_parse_limit(args, t, value);
	case CTL_ARG_POLICY:
		args->policy = value;
		break;
	case CTL_ARG_ALLOW:
	case CTL_ARG_DENY:
		/* Checked here, so that create adds all of them or none. */
		if (ops_cidr(t->keyword, value, cidr, sizeof(cidr), &err) !=
		    0) {
			ctl_report(&err);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		if (t->arg == CTL_ARG_ALLOW) {
			args->allow = xreallocarray(args->allow,
			    args->nallow + 1, sizeof(*args->allow));
			args->allow[args->nallow++] = value;
		} else {
			args->deny = xreallocarray(args->deny, args->ndeny + 1,
			    sizeof(*args->deny));
			args->deny[args->ndeny++] = value;
		}
		break;
	case CTL_ARG_RULE:
		args->rule_allow = strcmp(value, "allow") == 0;
		break;
	case CTL_ARG_CIDR:
		if (ops_cidr(NULL, value, cidr, sizeof(cidr), &err) != 0) {
			ctl_report(&err);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		args->cidr = value;
		break;
	case CTL_ARG_IP_POLICY:
		args->ip_policy = value;
		break;
	case CTL_ARG_PROXY_PROTO:
		n = strtonum(value, 0, 2, &errstr);
		if (errstr != NULL) {
			error("%s: bad value '%.100s': want 0 (none), 1 or 2 "
			      "(PROXY protocol version)",
			    t->keyword, value);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		args->proxy_proto = (int)n;
		break;
	case CTL_ARG_POOLING:
		if (strcmp(value, "on") == 0)
			args->pooling = OPS_POOLING_ON;
		else if (strcmp(value, "off") == 0)
			args->pooling = OPS_POOLING_OFF;
		else {
			error("%s: bad value '%.100s': want on or off",
			    t->keyword, value);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		break;
	case CTL_ARG_FOLLOW:
		args->follow = 1;
		break;
	case CTL_ARG_TYPE:
		if (!ops_event_type_known(value)) {
			types = buf_new();
			ctl_event_types(types);
			error("%s: unknown event type '%.100s': want one of %s",
			    t->keyword, value, buf_str(types));
			buf_free(types);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		args->type = value;
		break;
	case CTL_ARG_SINCE:
		if (misc_parse_when(value, misc_now_ms(), &args->since_ms) !=
		    0) {
			error("%s: bad time '%.100s': want RFC 3339 UTC "
			      "(2026-11-25T12:00:00Z) or an age (30m, 2h, 7d)",
			    t->keyword, value);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		break;
	case CTL_ARG_LIMIT:
		n = strtonum(value, 0, INT_MAX, &errstr);
		if (errstr != NULL) {
			error("%s: bad value '%.100s': want a number, 0 or "
			      "more",
			    t->keyword, value);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		args->limit = n;
		break;
	case CTL_ARG_BY:
		if (strcmp(value, "hour") == 0)
			args->bucket_ms = OPS_USAGE_HOUR;
		else if (strcmp(value, "day") == 0)
			args->bucket_ms = OPS_USAGE_DAY;
		else {
			error("%s: bad value '%.100s': want day or hour",
			    t->keyword, value);
			return PORTHOLE_ERR_INVALID_ARGUMENT;
		}
		break;
	case CTL_ARG_URL:
		args->url = value;
		break;
	case CTL_ARG_SECRET:
		args->secret = value;
		break;
	case CTL_ARG_DESTINATIONS:
		args->destinations = xreallocarray(args->destinations,
		    args->ndestinations + 1, sizeof(*args->destinations));
		args->destinations[args->ndestinations++] = value;
		break;
	case CTL_ARG_TYPES:
		args->types = xreallocarray(args->types, args->ntypes + 1,
		    sizeof(*args->types));
		args->types[args->ntypes++] = value;
		break;
	case CTL_ARG_NONE:
		break;
	}
	return 0;
}

/*
 * What the tables cannot say: the update commands need something to
 * change. Returns 0 or PORTHOLE_ERR_INVALID_ARGUMENT after reporting it.
 */
static int
ctl_parse_check(enum ctl_action action, const struct ctl_args *args)
{
	if (action == CTL_ACCOUNT_UPDATE && args->description == NULL &&
	    args->max_sessions == -1 && args->max_endpoints == -1 &&
	    args->ip_policy == NULL && args->bandwidth == STORE_KEEP &&
	    args->quota_bytes == STORE_KEEP &&
	    args->connection_rate == STORE_KEEP &&
	    args->per_source == STORE_KEEP &&
	    args->idle_timeout == STORE_KEEP) {
		error("account update: nothing to change: give --description, "
		      "--max-sessions, --max-endpoints, --ip-policy, "
		      "--bandwidth, --transfer-quota, --connection-rate, "
		      "--max-connections-per-source or --idle-timeout");
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	if (action == CTL_ADDRESS_UPDATE && args->description == NULL &&
	    args->metadata == NULL && args->ip_policy == NULL &&
	    args->proxy_proto == -1 && args->pooling == 0) {
		error("address update: nothing to change: give --description, "
		      "--metadata, --ip-policy, --proxy-proto or --pooling");
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	if (action == CTL_EDGE_UPDATE && args->description == NULL &&
	    args->ip_policy == NULL && args->proxy_proto == -1) {
		error("edge update: nothing to change: give --description, "
		      "--ip-policy or --proxy-proto");
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

/*
 * What the store refuses to keep: --description and --metadata with a
 * control character (utf8_check_text), which every listing would print.
 * Not a usage error: the words were right, their text is not. Returns 0
 * or PORTHOLE_ERR_INVALID_FORMAT after reporting it.
 */
int
ctl_check_text(const struct ctl_args *args)
{
	struct ops_err err;
	int r;

	if ((r = ops_check_text("--description", args->description,
	         CTL_DESCRIPTION_MAX, 0, &err)) != 0 ||
	    (r = ops_check_text("--metadata", args->metadata, CTL_METADATA_MAX,
	         0, &err)) != 0) {
		ctl_report(&err);
		return PORTHOLE_ERR_INVALID_FORMAT;
	}
	return 0;
}

void
ctl_args_init(struct ctl_args *args)
{
	memset(args, 0, sizeof(*args));
	args->max_sessions = args->max_endpoints = -1;
	args->rule_allow = args->proxy_proto = -1;
	args->since_ms = args->limit = args->bucket_ms = -1;
	args->bandwidth = args->quota_bytes = args->quota_period = STORE_KEEP;
	args->connection_rate = args->per_source = STORE_KEEP;
	args->idle_timeout = STORE_KEEP;
}

void
ctl_args_clear(struct ctl_args *args)
{
	free(args->allow);
	free(args->deny);
	free(args->addresses);
	free(args->destinations);
	free(args->types);
	ctl_args_init(args);
}

/* Match <words> into *actionp and <args>, as ctl_parse() does. */
static int
ctl_parse_words(char **words, size_t nwords, enum ctl_action *actionp,
    struct ctl_args *args, int *jsonp)
{
	const struct ctl_token *table = t_main, *match;
	struct buf *prefix = NULL, *expected = NULL;
	const char *word, *value;
	size_t i;
	int r = PORTHOLE_ERR_INVALID_ARGUMENT;

	*actionp = CTL_NONE;
	ctl_args_init(args);
	prefix = buf_new();
	expected = buf_new();
	for (i = 0;; i++) {
		word = i < nwords ? words[i] : NULL;
		if (word != NULL && strcmp(word, "--json") == 0) {
			*jsonp = 1;
			continue;
		}
		if (word != NULL &&
		    (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0)) {
			*actionp = CTL_HELP;
			r = 0;
			goto out;
		}
		if ((match = ctl_parse_match(table, word)) == NULL) {
			ctl_parse_expected(table, expected);
			if (word == NULL && i == 0)
				error("missing command");
			else if (word == NULL)
				error("%s: missing %s", buf_str(prefix),
				    buf_str(expected));
			else if (i == 0)
				error("unknown command '%.100s'", word);
			else if (buf_len(expected) == 0)
				error("%s: too many arguments at '%.100s'",
				    buf_str(prefix), word);
			else
				error("%s: unexpected '%.100s', expected %s",
				    buf_str(prefix), word, buf_str(expected));
			goto out;
		}
		if (match->type == CTL_TOK_NONE)
			break;
		if (match->action != CTL_NONE)
			*actionp = match->action;
		if (match->type == CTL_TOK_OPTION) {
			value = word + strlen(match->keyword);
			if (*value == '=')
				value++;
			else if (i + 1 < nwords)
				value = words[++i];
			else {
				error("%s: %s needs a value", buf_str(prefix),
				    match->keyword);
				goto out;
			}
			if (ctl_parse_set(args, match, value) != 0)
				goto out;
		} else if (match->type == CTL_TOK_FLAG) {
			if (ctl_parse_set(args, match, word) != 0)
				goto out;
		} else {
			if ((match->type == CTL_TOK_WORD ||
			        match->arg != CTL_ARG_NONE) &&
			    ctl_parse_set(args, match, word) != 0)
				goto out;
			/* Usage names stand for the words they took. */
			if (match->type == CTL_TOK_WORD)
				word = match->keyword;
			buf_printf(prefix, "%s%s", i == 0 ? "" : " ", word);
		}
		table = match->next;
	}
	if (ctl_parse_check(*actionp, args) != 0)
		goto out;
	r = 0;
out:
	buf_free(prefix);
	buf_free(expected);
	return r;
}

int
ctl_parse(char **words, size_t nwords, const struct ctl_command **cmdp,
    struct ctl_args *args, int *jsonp)
{
	enum ctl_action action = CTL_NONE;
	size_t i;
	int r;

	*cmdp = NULL;
	if ((r = ctl_parse_words(words, nwords, &action, args, jsonp)) != 0 ||
	    action == CTL_HELP)
		return r;
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
		if (ctl_commands[i].action == action)
			*cmdp = &ctl_commands[i].command;
	}
	if (*cmdp == NULL)
		fatal_f("no command for action %d", (int)action);
	return 0;
}

/*
 * Print to <fp> what a word or option value standing for <arg> may be,
 * one a line: the fixed values, or "@KIND" for names the completion
 * reads from the store (@account, @address, @edge, @policy), "@file"
 * for a file name, "@text" for anything else (free text, an id).
 */
static void
ctl_complete_value(enum ctl_arg arg, FILE *fp)
{
	size_t i;

	switch (arg) {
	case CTL_ARG_ACCOUNT:
		fputs("@account\n", fp);
		break;
	case CTL_ARG_ADDRESS:
	case CTL_ARG_ADDRESSES:
		fputs("@address\n", fp);
		break;
	case CTL_ARG_EDGE:
		fputs("@edge\n", fp);
		break;
	case CTL_ARG_POLICY:
		fputs("@policy\n", fp);
		break;
	case CTL_ARG_IP_POLICY:
		fputs("none\n@policy\n", fp);
		break;
	case CTL_ARG_SOURCE:
		fputs("@file\n-\n", fp);
		break;
	case CTL_ARG_BANDWIDTH:
	case CTL_ARG_TRANSFER_QUOTA:
	case CTL_ARG_CONNECTION_RATE:
	case CTL_ARG_PER_SOURCE:
	case CTL_ARG_IDLE_TIMEOUT:
		fputs("none\ndefault\n", fp);
		break;
	case CTL_ARG_PROXY_PROTO:
		fputs("0\n1\n2\n", fp);
		break;
	case CTL_ARG_POOLING:
		fputs("on\noff\n", fp);
		break;
	case CTL_ARG_BY:
		fputs("day\nhour\n", fp);
		break;
	case CTL_ARG_TYPE:
	case CTL_ARG_TYPES:
		for (i = 0; ops_event_type_name(i) != NULL; i++)
			fprintf(fp, "%s\n", ops_event_type_name(i));
		break;
	default:
		/* A value goes here, but nothing to offer: free text, an id. */
		fputs("@text\n", fp);
		break;
	}
}

int
ctl_complete(char **words, size_t nwords, FILE *fp)
{
	const struct ctl_token *table = t_main, *t, *match;
	size_t i;

	for (i = 0; i < nwords; i++) {
		if (strcmp(words[i], "--json") == 0)
			continue;
		/* After a word the command does not take, nothing fits. */
		if ((match = ctl_parse_match(table, words[i])) == NULL)
			return 0;
		/*
		 * "--opt VALUE": the next word is the value, perhaps the one
		 * being completed.
		 */
		if (match->type == CTL_TOK_OPTION &&
		    words[i][strlen(match->keyword)] == '\0') {
			if (++i == nwords) {
				ctl_complete_value(match->arg, fp);
				return 0;
			}
		}
		table = match->next;
	}
	for (t = table; t->type != CTL_TOK_END; t++) {
		switch (t->type) {
		case CTL_TOK_KEYWORD:
		case CTL_TOK_OPTION:
		case CTL_TOK_FLAG:
			fprintf(fp, "%s\n", t->keyword);
			break;
		case CTL_TOK_WORD:
			ctl_complete_value(t->arg, fp);
			break;
		case CTL_TOK_NONE:
		case CTL_TOK_END:
			break;
		}
	}
	return 0;
}
