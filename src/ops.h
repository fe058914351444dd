/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_OPS_H
#define PORTHOLE_OPS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The operations layer: every administrative action is one function
 * here, shared by portholectl (parse words, call ops, print) and the
 * HTTP API (parse JSON, call ops, render JSON). Each one validates its
 * input, checks the caller's scope, changes the store, records the
 * event(s) and announces the change to live sessions. Neither caller
 * has admin logic of its own. One file per family: ops.c (context,
 * errors, paging, events), ops-account.c, ops-key.c, ops-token.c,
 * ops-apikey.c, ops-address.c, ops-edge.c, ops-policy.c,
 * ops-session.c (sessions, endpoints), ops-event.c, ops-usage.c.
 *
 * The objects are the store's (store.h): what an ops function returns
 * through an output pointer is the caller's, freed with the store's
 * *_free / *_list_free.
 *
 * Conventions of every function below:
 * - returns 0, or a negative PORTHOLE_ERR_* with <err> filled (code,
 *   an HTTP-like status and a sentence that says why); <err> may not be
 *   NULL;
 * - output pointers are set to NULL / 0 on entry and assigned on
 *   success; those of the functions that change an existing object
 *   (update, delete, revoke, stop, disable, enable, an edge's address
 *   and backend add and remove) may be NULL when the caller wants
 *   nothing back. One exception, said where it applies: a change that
 *   is made but whose event could not be recorded returns the object
 *   and an error (status 500, msg saying the change is made);
 * - an object that belongs to another account is NOT FOUND (404) for an
 *   account scope, by id and in lists (lists are filtered by scope);
 * - an administrator's action asked by an account scope is refused with
 *   PORTHOLE_ERR_DENIED, status 403, msg OPS_MSG_ADMIN;
 * - ACCOUNT arguments take a name or an id ("ac_…"); for an account
 *   scope NULL means the scope's own account, and naming another is
 *   NOT FOUND.
 */

struct buf;
struct conf;
struct event;
struct pubkey;
struct store;
struct store_account;
struct store_address;
struct store_apikey;
struct store_edge;
struct store_endpoint;
struct store_event;
struct store_ip_policy;
struct store_ip_rule;
struct store_key;
struct store_session;
struct store_token;
struct store_usage;

/* HTTP-like statuses carried in struct ops_err. */
#define OPS_STATUS_INVALID     400
#define OPS_STATUS_FORBIDDEN   403
#define OPS_STATUS_NOT_FOUND   404
#define OPS_STATUS_CONFLICT    409
#define OPS_STATUS_INTERNAL    500
#define OPS_STATUS_UNAVAILABLE 503

#define OPS_MSG_LEN 512
/* The msg of a refusal to an account scope. */
#define OPS_MSG_ADMIN "this needs an administrator's API key"

/* Longest description and metadata, as a hosted provider allows. */
#define OPS_DESCRIPTION_MAX 255
#define OPS_METADATA_MAX    4096
/* Largest max_sessions / max_endpoints the store accepts. */
#define OPS_LIMIT_MAX 100000
/* Page size: default and largest. */
#define OPS_PAGE_DEFAULT 100
#define OPS_PAGE_MAX     100

/* The ip_policy value that detaches a policy (update functions). */
#define OPS_IP_POLICY_NONE "none"

/* Why a call failed; filled by every ops function that fails. */
struct ops_err {
	int code; /* PORTHOLE_ERR_* (negative), 0 if none */
	/*
	 * 400 invalid, 403 forbidden, 404 not found, 409 conflict, 503
	 * unavailable (store busy or lost), 500 internal
	 */
	int status;
	/* the reason, one sentence fit for stderr and a JSON "msg" */
	char msg[OPS_MSG_LEN];
};

/* What changed, for the announce hook. */
enum ops_change {
	/*
	 * Sessions were ended in the store (killed, account disabled or
	 * deleted, credential withdrawn): <pids> are their processes
	 * (may be none: announce anyway, as PostgreSQL needs no pid).
	 */
	OPS_CHANGE_SESSIONS = 1,
	/*
	 * Traffic policy changed (an IP policy's rules, which policy an
	 * account, address or edge has, PROXY protocol, an edge's
	 * addresses or backends, an address deleted that an edge
	 * served): every live session reloads; <pids> is empty.
	 */
	OPS_CHANGE_POLICY,
};

/*
 * The context of a call, set up by the caller and passed to every ops
 * function. Nothing in it is owned by ops.
 */
struct ops {
	struct conf *conf;
	struct store *store;
	/* the account id ("ac_…") the caller is limited to; NULL: admin */
	const char *scope;
	/*
	 * How a change reaches live sessions. portholectl signals the
	 * processes on SQLite and announces with store_notify_change() on
	 * PostgreSQL (ctl_signal_sessions / ctl_signal_reload); the API
	 * process tells its monitor. May be NULL: then nothing is told
	 * and sessions take the change up within their recheck period.
	 * Called after the store change is committed.
	 */
	void (*announce)(struct ops *ops, enum ops_change what,
	    const int64_t *pids, size_t npids);
	/*
	 * How event <ev> (still the caller's) is recorded. Returns 0 or a
	 * negative PORTHOLE_ERR_*. May be NULL: then ops_event_store()
	 * records it (store and EventLog); a hook of the caller's may call
	 * that too, to report its reason its own way.
	 */
	int (*record)(struct ops *ops, struct event *ev);
	/*
	 * How ops_event_store() writes EventLog: OPS_EVLOG_* flags. With
	 * 0 (portholectl) "-" is left to portholed, whose standard output
	 * it is, and a failed write fails.
	 */
	int evlog;
	void *arg; /* the caller's, for its hooks */
};

/* This process shares portholed's standard output: EventLog "-" is ours. */
#define OPS_EVLOG_STDOUT 0x01
/* A failed EventLog write is logged, not returned: the event is stored. */
#define OPS_EVLOG_SOFT 0x02

/*
 * A page of a list: items newest first (created_ms DESC, id DESC),
 * strictly older than the item <before_id> (NULL: from the newest), at
 * most <limit> (0: OPS_PAGE_DEFAULT; above OPS_PAGE_MAX is invalid).
 * A <before_id> that names no item of the list is invalid (400).
 *
 * Every list function takes a page; a NULL page means "all of them,
 * in the order portholectl prints" (by account name, then age, oldest
 * first), and *morep is then 0.
 */
struct ops_page {
	const char *before_id;
	size_t limit;
};

/*
 * Errors.
 */
/*
 * Fill <err> with <code> (a negative PORTHOLE_ERR_*), the status that
 * goes with it (ops_status) and the formatted message. Returns <code>,
 * so that `r = ops_errf(err, PORTHOLE_ERR_NOT_FOUND, "…"); goto out;`.
 */
int ops_errf(struct ops_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * As ops_errf, with ": <porthole_strerror(code)>" (and the store's
 * message for PORTHOLE_ERR_STORE) appended.
 */
int ops_errf_r(struct ops_err *err, struct ops *ops, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* Zero <err> (code 0, status 0, empty msg). */
void ops_err_clear(struct ops_err *err);
/* The HTTP-like status for a PORTHOLE_ERR_* code (200 for 0). */
int ops_status(int code);
/*
 * The name of a code for a JSON "error_code": "PORTHOLE_NOT_FOUND",
 * "PORTHOLE_INVALID_ARGUMENT", … ("PORTHOLE_OK" for 0).
 */
const char *ops_code_name(int code);

/*
 * Helpers for ops-*.c (and the families other branches add, such as
 * ops-hook.c).
 */
/* Predicate: the caller is an administrator (no scope). */
int ops_is_admin(const struct ops *ops);
/*
 * Refuse an administrator's action to an account scope: returns 0 for
 * an administrator, else PORTHOLE_ERR_DENIED with <err> 403
 * OPS_MSG_ADMIN.
 */
int ops_need_admin(struct ops *ops, struct ops_err *err);
/*
 * Predicate: an object of account <account_id> (NULL: of no account)
 * is visible to the caller: always for an administrator, else only
 * when it is the scope's own.
 */
int ops_visible(const struct ops *ops, const char *account_id);
/*
 * Check free text: <what> ("description", "metadata") no longer than
 * <max> bytes and without control characters (utf8_check_text), but
 * for tab and newline with <newlines> 1. NULL passes. Returns 0 or
 * PORTHOLE_ERR_INVALID_ARGUMENT with <err> saying why.
 */
int ops_check_text(const char *what, const char *text, size_t max, int newlines,
    struct ops_err *err);
/*
 * ops_check_text() of a <description> (OPS_DESCRIPTION_MAX, one line)
 * and a <metadata> (OPS_METADATA_MAX), either may be NULL.
 */
int ops_check_texts(const char *description, const char *metadata,
    struct ops_err *err);
/* Check a PROXY protocol version: 0, 1, 2, or -1 (keep). */
int ops_check_proxy(int proxy_proto, struct ops_err *err);
/* Check a page: 0, or PORTHOLE_ERR_INVALID_ARGUMENT (limit too big). */
int ops_check_page(const struct ops_page *page, struct ops_err *err);
/* The limit to ask the store for: page->limit, or the default for 0. */
size_t ops_page_limit(const struct ops_page *page);
/*
 * Record event <ev> (still the caller's) in the store (store_record,
 * with no session) and in EventLog unless that is "-" (portholed's
 * standard output, which the store feeds) and ops->evlog lacks
 * OPS_EVLOG_STDOUT. On failure <err> says which of the two failed and
 * why; with OPS_EVLOG_SOFT an EventLog failure is only logged.
 */
int ops_event_store(struct ops *ops, struct event *ev, struct ops_err *err);
/*
 * Record event <type> for account <account_id> (may be NULL) with
 * JSON object <json> at <now_ms>, through ops->record. On failure
 * <err> says that <what> is done but the event is not recorded.
 */
int ops_event_record(struct ops *ops, const char *type, const char *account_id,
    const char *json, int64_t now_ms, const char *what, struct ops_err *err);
/* Call ops->announce if it is set. */
void ops_announce(struct ops *ops, enum ops_change what, const int64_t *pids,
    size_t npids);
/*
 * Resolve ACCOUNT <name_or_id> as the caller may see it into *ap: for
 * an account scope NULL is its own account and another account is
 * NOT FOUND ("no such account 'x'"). The account's counts of keys,
 * tokens, addresses and sessions are not read (0): see ops_account_get.
 */
int ops_account_resolve(struct ops *ops, const char *name_or_id,
    struct store_account **ap, struct ops_err *err);

/*
 * Check the CIDR <text> with acl_cidr_parse() and write its canonical
 * form (acl_cidr_format()) to <buf>, which has room for ACL_CIDR_STRLEN
 * bytes; else "<what>: invalid CIDR 'x': reason" (<what> may be NULL)
 * and PORTHOLE_ERR_INVALID_FORMAT.
 */
int ops_cidr(const char *what, const char *text, char *buf, size_t len,
    struct ops_err *err);

/* Format "host:port", with brackets for IPv6; the caller frees it. */
char *ops_hostport(const char *host, int port);

/*
 * Accounts (ops-account.c). Adding, disabling, enabling and deleting
 * accounts, and changing limits (traffic limits too) or IP policy, are
 * an administrator's; an account scope may get its own account and
 * change its description.
 */
struct ops_account_update {
	const char *description; /* NULL keeps it; "" clears */
	int max_sessions; /* -1 keeps; 0 the server's default */
	int max_endpoints; /* -1 keeps; 0 the server's default */
	const char *ip_policy; /* name or id, OPS_IP_POLICY_NONE, NULL keeps */
	/*
	 * Traffic limits, NULL keeps them all: else <traffic>'s
	 * bandwidth_limit, quota_bytes with quota_period_s,
	 * connection_rate, connections_per_source and idle_timeout_s,
	 * each STORE_KEEP (keep), -1 (the server's default), 0 (none) or a
	 * limit within src/limit.h's bounds (as store_account_set_traffic;
	 * a quota's period follows its bytes: ignored unless they are a
	 * limit). ops_traffic_keep() sets all to STORE_KEEP.
	 */
	const struct store_account *traffic;
};
/* Set the six traffic limits of <t> to STORE_KEEP; the rest is zeroed. */
void ops_traffic_keep(struct store_account *t);
/*
 * Append account <a>'s traffic limits to JSON object <b> (after other
 * members: each with a leading ','), as set and as they apply under
 * <conf>: "bandwidth_limit", "connection_rate",
 * "connections_per_source", "idle_timeout_s" (null: the server's
 * default; 0: none; else the limit) and "transfer_quota" (null, 0 or
 * {"bytes":N,"period_s":N}), each followed by "<name>_effective" (0 or
 * the limit that applies).
 */
void ops_account_limits_json(struct buf *b, const struct conf *conf,
    const struct store_account *a);
/* Add account <name> (store_account_name_valid); 409 if taken. */
int ops_account_add(struct ops *ops, const char *name, const char *description,
    struct store_account **ap, struct ops_err *err);
int ops_account_get(struct ops *ops, const char *name_or_id,
    struct store_account **ap, struct ops_err *err);
/* An account scope lists its own account alone. */
int ops_account_list(struct ops *ops, const struct ops_page *page,
    struct store_account ***listp, size_t *np, int *morep, struct ops_err *err);
/* Apply what <u> gives; *ap is the account after the change. */
int ops_account_update(struct ops *ops, const char *name_or_id,
    const struct ops_account_update *u, struct store_account **ap,
    struct ops_err *err);
/*
 * Disable (ending its live sessions, their number in *nendedp) or
 * enable account <name_or_id>; *ap is the account after the change (may
 * be NULL). Disabling a disabled account is not an error (nothing
 * ended).
 */
int ops_account_disable(struct ops *ops, const char *name_or_id,
    struct store_account **ap, size_t *nendedp, struct ops_err *err);
int ops_account_enable(struct ops *ops, const char *name_or_id,
    struct store_account **ap, struct ops_err *err);
/*
 * Delete account <name_or_id>: sessions ended, addresses retired, keys
 * and tokens removed (store_account_delete). *ap (may be NULL) is the
 * account as it was, *nendedp the number of sessions ended.
 */
int ops_account_delete(struct ops *ops, const char *name_or_id,
    struct store_account **ap, size_t *nendedp, struct ops_err *err);

/*
 * SSH keys (ops-key.c): id "sk_…", fingerprint unique across accounts.
 * <key_or_fp> arguments take the id or the fingerprint ("SHA256:…").
 */
/*
 * Register public key <line>, "TYPE BASE64 [COMMENT]" as in a .pub file
 * or authorized_keys (a private key is refused with a hint), to
 * account <account>. <description>, <metadata> NULL: none. 409 if
 * its fingerprint is registered already (to any account).
 */
int ops_key_add(struct ops *ops, const char *account, const char *line,
    const char *description, const char *metadata, struct store_key **kp,
    struct ops_err *err);
/*
 * Parse one public key line (text without its newline) into a new *keyp
 * (pubkey_free). <what> and <lineno> name it in messages ("FILE:3:
 * invalid key: …"); lineno 0: the key came on its own.
 */
int ops_key_parse(const char *line, const char *what, size_t lineno,
    struct pubkey **keyp, struct ops_err *err);
/*
 * Register <keys> (parsed by ops_key_parse) to <account>, all or none:
 * a key given twice or registered already adds none. The keys as
 * stored go to a new *listp of <nkeys> (store_key_list_free).
 */
int ops_key_add_all(struct ops *ops, const char *account,
    struct pubkey *const *keys, size_t nkeys, const char *description,
    const char *metadata, struct store_key ***listp, struct ops_err *err);
int ops_key_get(struct ops *ops, const char *key_or_fp, struct store_key **kp,
    struct ops_err *err);
/* Keys of <account> (NULL: every account's the caller may see). */
int ops_key_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_key ***listp, size_t *np,
    int *morep, struct ops_err *err);
/* Change description / metadata (NULL keeps); *kp after. */
int ops_key_update(struct ops *ops, const char *key_or_fp,
    const char *description, const char *metadata, struct store_key **kp,
    struct ops_err *err);
/*
 * Delete a key, ending the sessions that logged in with it; *kp (may be
 * NULL) is the key as it was, *nendedp the sessions ended.
 */
int ops_key_delete(struct ops *ops, const char *key_or_fp,
    struct store_key **kp, size_t *nendedp, struct ops_err *err);

/*
 * Authtokens (ops-token.c), "tk_…". The secret is shown once, at
 * creation, and stored only as a keyed hash.
 */
/* Room for a token or API key secret with its NUL. */
#define OPS_SECRET_LEN 64
/*
 * Make a token for <account> into <secret> (OPS_SECRET_LEN bytes; the
 * caller wipes it with sodium_memzero) and *tp. Uses conf->token_key,
 * creating the key file on first use. A caller that cannot hand the
 * secret on must revoke the token (ops_token_revoke).
 */
int ops_token_create(struct ops *ops, const char *account,
    const char *description, const char *metadata, char *secret,
    size_t secretlen, struct store_token **tp, struct ops_err *err);
/* Valid or revoked tokens by id ("tk_…"). */
int ops_token_get(struct ops *ops, const char *id, struct store_token **tp,
    struct ops_err *err);
/* Valid (unrevoked) tokens of <account> (NULL: all the caller sees). */
int ops_token_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_token ***listp, size_t *np,
    int *morep, struct ops_err *err);
int ops_token_update(struct ops *ops, const char *id, const char *description,
    const char *metadata, struct store_token **tp, struct ops_err *err);
/*
 * Revoke a token, ending the sessions that logged in with it; *tp (may
 * be NULL) is the token after, *nendedp the sessions ended.
 */
int ops_token_revoke(struct ops *ops, const char *id, struct store_token **tp,
    size_t *nendedp, struct ops_err *err);

/*
 * API keys (ops-apikey.c), "ak_…", secret "phk_…" shown once. An
 * account scope may make, see and revoke only its own account's keys;
 * an administrator's key (no account) only an administrator.
 */
/*
 * <account> NULL: an administrator's key for an administrator, the
 * scope's own account's key for an account scope.
 */
int ops_apikey_create(struct ops *ops, const char *account,
    const char *description, char *secret, size_t secretlen,
    struct store_apikey **kp, struct ops_err *err);
int ops_apikey_get(struct ops *ops, const char *id, struct store_apikey **kp,
    struct ops_err *err);
/* Keys, revoked ones too, of <account> (NULL: all the caller sees). */
int ops_apikey_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_apikey ***listp, size_t *np,
    int *morep, struct ops_err *err);
int ops_apikey_revoke(struct ops *ops, const char *id, struct store_apikey **kp,
    struct ops_err *err);

/*
 * Reserved addresses (ops-address.c), "ra_…". <addr> arguments take the
 * id or HOST:PORT ("[v6]:port"; a PublicHost in any case).
 */
struct ops_address_update {
	const char *description; /* NULL keeps */
	const char *metadata; /* NULL keeps */
	const char *ip_policy; /* name or id, OPS_IP_POLICY_NONE, NULL keeps */
	int proxy_proto; /* 0, 1, 2; -1 keeps */
	int pooling; /* OPS_POOLING_ON or _OFF; 0 keeps */
};
/*
 * Pooling: the sessions of the address's account may share it (see
 * porthole.7); not for an edge's address (PORTHOLE_ERR_INVALID_ARGUMENT).
 */
#define OPS_POOLING_ON  1
#define OPS_POOLING_OFF 2
/*
 * Reserve a random free port from PortRange on PublicHost <host> (NULL:
 * the first) for <account> (for an administrator, required). The
 * region is this node's Region (conf). PORTHOLE_ERR_EXHAUSTED (409)
 * when no port is left. Records tcp_address_created.v0 (see the
 * exception above).
 */
int ops_address_reserve(struct ops *ops, const char *account, const char *host,
    const char *description, const char *metadata, struct store_address **ap,
    struct ops_err *err);
int ops_address_get(struct ops *ops, const char *addr,
    struct store_address **ap, struct ops_err *err);
/* Reserved (not deleted) addresses of <account> (NULL: all visible). */
int ops_address_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_address ***listp, size_t *np,
    int *morep, struct ops_err *err);
/*
 * Apply <u>; records tcp_address_updated.v0 if anything changed and
 * announces a traffic policy change. *ap is the address after.
 */
int ops_address_update(struct ops *ops, const char *addr,
    const struct ops_address_update *u, struct store_address **ap,
    struct ops_err *err);
/*
 * Retire an address for good (its port is never handed out again); an
 * endpoint serving it stops. *ap (may be NULL) is the address with
 * deleted_ms set. Records tcp_address_deleted.v0.
 */
int ops_address_delete(struct ops *ops, const char *addr,
    struct store_address **ap, struct ops_err *err);

/*
 * Edges (ops-edge.c), "ed_…": an administrator's, every function. <addr>
 * as above; <account> a backend account.
 */
struct ops_edge_update {
	const char *description; /* NULL keeps */
	const char *metadata; /* NULL keeps */
	const char *ip_policy; /* name or id, OPS_IP_POLICY_NONE, NULL keeps */
	int proxy_proto; /* -1 keeps */
};
/*
 * Make an edge with the reserved addresses <addrs> (none: reserve a new
 * one owned by no account, on PublicHost <host> or the first).
 */
int ops_edge_create(struct ops *ops, const char *description,
    const char *metadata, const char *const *addrs, size_t naddrs,
    const char *host, struct store_edge **ep, struct ops_err *err);
int ops_edge_get(struct ops *ops, const char *id, struct store_edge **ep,
    struct ops_err *err);
int ops_edge_list(struct ops *ops, const struct ops_page *page,
    struct store_edge ***listp, size_t *np, int *morep, struct ops_err *err);
int ops_edge_update(struct ops *ops, const char *id,
    const struct ops_edge_update *u, struct store_edge **ep,
    struct ops_err *err);
/* *ep (may be NULL) is the edge as it was. */
int ops_edge_delete(struct ops *ops, const char *id, struct store_edge **ep,
    struct ops_err *err);
/* *ep (may be NULL) is the edge after the change. */
int ops_edge_address_add(struct ops *ops, const char *id, const char *addr,
    struct store_edge **ep, struct ops_err *err);
int ops_edge_address_remove(struct ops *ops, const char *id, const char *addr,
    struct store_edge **ep, struct ops_err *err);
int ops_edge_backend_add(struct ops *ops, const char *id, const char *account,
    struct store_edge **ep, struct ops_err *err);
int ops_edge_backend_remove(struct ops *ops, const char *id,
    const char *account, struct store_edge **ep, struct ops_err *err);

/*
 * IP policies and rules (ops-policy.c), "ip_…" and "ipr_…". Every
 * change is an administrator's; an account scope may read them.
 * <policy> takes a name or an id. CIDRs are checked with
 * acl_cidr_parse and stored in canonical form.
 */
/* Make policy <name> with rules <allow> and <deny> (CIDR texts). */
int ops_policy_create(struct ops *ops, const char *name,
    const char *description, const char *metadata, const char *const *allow,
    size_t nallow, const char *const *deny, size_t ndeny,
    struct store_ip_policy **pp, struct ops_err *err);
/*
 * What policy <id> is attached to that the caller may see, by name,
 * into <accounts> ("alice, bob") and <addresses> ("host:port, …"), at
 * most <max> names each (0: all; then "and N more").
 */
int ops_policy_attached(struct ops *ops, const char *id, size_t max,
    struct buf *accounts, struct buf *addresses, struct ops_err *err);
int ops_policy_get(struct ops *ops, const char *policy,
    struct store_ip_policy **pp, struct ops_err *err);
int ops_policy_list(struct ops *ops, const struct ops_page *page,
    struct store_ip_policy ***listp, size_t *np, int *morep,
    struct ops_err *err);
/* Change description / metadata (NULL keeps). */
int ops_policy_update(struct ops *ops, const char *policy,
    const char *description, const char *metadata, struct store_ip_policy **pp,
    struct ops_err *err);
/*
 * Delete a policy; 409 (PORTHOLE_ERR_DENIED) while it is attached,
 * the msg naming what holds it. *pp (may be NULL): as it was.
 */
int ops_policy_delete(struct ops *ops, const char *policy,
    struct store_ip_policy **pp, struct ops_err *err);
/* Add rule <allow> (1 allow, 0 deny) <cidr> to <policy>; 409 if there. */
int ops_rule_add(struct ops *ops, const char *policy, int allow,
    const char *cidr, const char *description, const char *metadata,
    struct store_ip_rule **rp, struct ops_err *err);
/* By id ("ipr_…"). */
int ops_rule_get(struct ops *ops, const char *id, struct store_ip_rule **rp,
    struct ops_err *err);
/* By its policy, action and CIDR (portholectl names rules so). */
int ops_rule_find(struct ops *ops, const char *policy, int allow,
    const char *cidr, struct store_ip_rule **rp, struct ops_err *err);
/* Rules of <policy> (NULL: of every policy). */
int ops_rule_list(struct ops *ops, const char *policy,
    const struct ops_page *page, struct store_ip_rule ***listp, size_t *np,
    int *morep, struct ops_err *err);
int ops_rule_update(struct ops *ops, const char *id, const char *description,
    const char *metadata, struct store_ip_rule **rp, struct ops_err *err);
/* *rp (may be NULL): the rule as it was. */
int ops_rule_delete(struct ops *ops, const char *id, struct store_ip_rule **rp,
    struct ops_err *err);

/*
 * Sessions and endpoints (ops-session.c), "ss_…" and "ep_…".
 */
/* One session, live or ended. */
int ops_session_get(struct ops *ops, const char *id, struct store_session **sp,
    struct ops_err *err);
/* Live sessions of <account> (NULL: all visible). */
int ops_session_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_session ***listp, size_t *np,
    int *morep, struct ops_err *err);
/*
 * End live session <id> ("killed by admin" reason <reason>, NULL: the
 * default) and tell its process; *sp (may be NULL) is the session after.
 */
int ops_session_stop(struct ops *ops, const char *id, const char *reason,
    struct store_session **sp, struct ops_err *err);
/* One endpoint, live or ended. */
int ops_endpoint_get(struct ops *ops, const char *id,
    struct store_endpoint **ep, struct ops_err *err);
/* Live endpoints of <account> (NULL: all visible). */
int ops_endpoint_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_endpoint ***listp, size_t *np,
    int *morep, struct ops_err *err);

/*
 * Events (ops-event.c). An account scope sees its own account's events.
 */
struct ops_event_filter {
	const char *type; /* a known EVENT_* type, or NULL: any */
	int64_t since_ms; /* timestamp >= since_ms; 0: any */
};
/* Predicate: <type> is one of the EVENT_* types of event.h. */
int ops_event_type_known(const char *type);
/* The <i>th known event type (from 0), or NULL past the last. */
const char *ops_event_type_name(size_t i);
/*
 * Events newest first (by seq), paged by event id ("ev_…"), filtered by
 * <f> (may be NULL). With a NULL page: the newest <f>-matching events,
 * all of them, still newest first.
 */
int ops_event_list(struct ops *ops, const struct ops_event_filter *f,
    const struct ops_page *page, struct store_event ***listp, size_t *np,
    int *morep, struct ops_err *err);
/*
 * Events stored after <after_seq> (0: all), oldest first, filtered by
 * <f> (may be NULL); with <limit> > 0 only the newest <limit> of them
 * (still oldest first): for listing and following (portholectl events
 * [--follow], the API's /events/stream).
 */
int ops_event_follow(struct ops *ops, int64_t after_seq,
    const struct ops_event_filter *f, size_t limit, struct store_event ***listp,
    size_t *np, struct ops_err *err);

/*
 * Webhooks (ops-hook.c): event destinations and subscriptions. A
 * destination or subscription belongs to an account, or to the
 * administrators (account NULL for an administrator's call); an
 * administrator's destinations receive every account's events, an
 * account's only its own. ACCOUNT is as above: for an account scope
 * NULL is its own. Lists filter by scope: an administrator sees all
 * (or one account's, given <account>).
 */
struct store_hook_dest;
struct store_hook_sub;
/* The secret's room, for ops_hook_dest_create. */
#define OPS_HOOK_SECRET_LEN 257
/*
 * Add a destination POSTing to <url> (http:// or https://) signed with
 * <secret> (16 to 256 printable bytes; NULL: a new one is made). The
 * secret goes to <secretbuf> (OPS_HOOK_SECRET_LEN bytes), to be shown
 * once: it is stored as given, since signing needs it.
 */
int ops_hook_dest_create(struct ops *ops, const char *account, const char *url,
    const char *secret, const char *description, const char *metadata,
    char *secretbuf, size_t secretlen, struct store_hook_dest **dp,
    struct ops_err *err);
int ops_hook_dest_get(struct ops *ops, const char *id,
    struct store_hook_dest **dp, struct ops_err *err);
int ops_hook_dest_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_hook_dest ***listp, size_t *np,
    int *morep, struct ops_err *err);
/* Change what is not NULL; *dp (may be NULL) is it after. */
int ops_hook_dest_update(struct ops *ops, const char *id, const char *url,
    const char *secret, const char *description, const char *metadata,
    struct store_hook_dest **dp, struct ops_err *err);
/* Delete it: it leaves its subscriptions; *dp (may be NULL) as it was. */
int ops_hook_dest_delete(struct ops *ops, const char *id,
    struct store_hook_dest **dp, struct ops_err *err);
/*
 * Subscribe destinations <dests> (ids, of the same owner) to event
 * <types> (known EVENT_* types, or "*" for any); at least one of each.
 */
int ops_hook_sub_create(struct ops *ops, const char *account,
    const char *description, const char *metadata, const char *const *types,
    size_t ntypes, const char *const *dests, size_t ndests,
    struct store_hook_sub **sp, struct ops_err *err);
int ops_hook_sub_get(struct ops *ops, const char *id,
    struct store_hook_sub **sp, struct ops_err *err);
int ops_hook_sub_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_hook_sub ***listp, size_t *np,
    int *morep, struct ops_err *err);
/* Change what is given (lists: when not empty); *sp (may be NULL) after. */
int ops_hook_sub_update(struct ops *ops, const char *id,
    const char *description, const char *metadata, const char *const *types,
    size_t ntypes, const char *const *dests, size_t ndests,
    struct store_hook_sub **sp, struct ops_err *err);
int ops_hook_sub_delete(struct ops *ops, const char *id,
    struct store_hook_sub **sp, struct ops_err *err);

/*
 * Usage (ops-usage.c): connections, refusals and bytes each way per
 * account and address ("host:port"), from the hour holding <since_ms>
 * on (0: all), summed per bucket of <bucket_ms>: OPS_USAGE_HOUR,
 * OPS_USAGE_DAY (UTC days) or 0 (the whole span, one row per account
 * and address). Of <account> (name or id; NULL: every account the
 * caller sees), in store_usage_list()'s order; *listp is freed with
 * store_usage_list_free().
 */
#define OPS_USAGE_HOUR 3600000LL
#define OPS_USAGE_DAY  86400000LL
int ops_usage(struct ops *ops, const char *account, int64_t since_ms,
    int64_t bucket_ms, struct store_usage **listp, size_t *np,
    struct ops_err *err);
/*
 * Append usage row <u> to <b> as the JSON object portholectl --json and
 * GET /usage give: account, account_id, endpoint ("host:port"), start
 * (RFC 3339: its bucket's start, or the first hour of a whole span),
 * connections, refused, bytes_in, bytes_out.
 */
void ops_usage_json(struct buf *b, const struct store_usage *u);

#endif /* PORTHOLE_OPS_H */
