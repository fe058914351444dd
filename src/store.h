/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_STORE_H
#define PORTHOLE_STORE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * The store shared by portholed's processes and portholectl, over the
 * driver of db.h (SQLite by default). One connection per process,
 * opened after fork. For SQLite: WAL, foreign keys on, busy_timeout;
 * the schema version (PRAGMA user_version) is brought forward by
 * migrations on open. Times are milliseconds since the epoch. Every
 * function returns 0 or a negative PORTHOLE_ERR_*.
 */
struct store;
struct event;
struct store_event;

#define STORE_SCHEMA_VERSION  12
#define STORE_BUSY_TIMEOUT_MS 5000

struct store_account {
	char *id; /* "ac_…" */
	char *name;
	int disabled;
	int64_t created_ms;
	char *description; /* "" if none; never NULL */
	int max_sessions; /* 0: the server's MaxSessionsPerAccount */
	int max_endpoints; /* 0: the server's MaxEndpointsPerSession */
	char *ip_policy_id; /* attached IP policy, or NULL */
	char *ip_policy_name; /* its name, or NULL */
	/*
	 * Traffic limits (migration 12): -1 follows the server's default
	 * (NULL in the store), 0 is none, else the limit.
	 */
	int64_t bandwidth_limit; /* bytes per second each way per endpoint */
	int64_t quota_bytes; /* TransferQuota bytes over quota_period_s */
	int64_t quota_period_s; /* meaningful when quota_bytes > 0 */
	int64_t connection_rate; /* new connections per minute per endpoint */
	int64_t connections_per_source; /* per client IP per endpoint */
	int64_t idle_timeout_s; /* ConnectionIdleTimeout, seconds */
	int nkeys; /* filled by get and list */
	int ntokens; /* live (unrevoked) tokens; filled by get and list */
	int naddresses; /* reserved addresses; filled by get and list */
	int nsessions; /* live sessions; filled by get and list */
};

struct store_key {
	char *id; /* "sk_…" (from migration 9) */
	char *fingerprint; /* "SHA256:…", unique */
	char *account_id;
	char *account_name;
	int account_disabled;
	char *type;
	char *blob; /* base64, as in a .pub line */
	char *comment;
	char *description; /* "" if none */
	char *metadata; /* "" if none */
	int64_t created_ms;
};

struct store_session {
	char *id; /* "ss_…" */
	char *account_id;
	char *account_name; /* filled by list */
	int64_t pid;
	char *client_ip;
	int client_port;
	char *user; /* SSH user name as shown (never a secret) */
	char *credential; /* "key:SHA256:…": what authenticated */
	int64_t started_ms;
	int64_t ended_ms; /* 0 while live */
	char *end_reason; /* set when an admin ended it, else NULL */
	int nendpoints; /* live endpoints; filled by list */
	int npooled; /* of those, sharing a pooled address */
	int64_t conns_open; /* as last recorded by the session */
	int64_t conns_total;
	int64_t bytes_in;
	int64_t bytes_out;
	char *node; /* the node that serves it ("" before fleets) */
	char *region; /* that node's region, "" if none */
};

struct store_endpoint {
	char *id; /* "ep_…" */
	char *session_id;
	char *account_id;
	char *account_name; /* filled by list */
	char *host; /* public host name */
	int port; /* public port */
	char *bind_address; /* the address string the client sent */
	char *metadata; /* may be NULL */
	char *address_id; /* the reserved address served, NULL if random */
	char *edge_id; /* the edge it serves as a member of, or NULL */
	int64_t started_ms;
	int64_t ended_ms; /* 0 while live */
	int64_t conns_open; /* as last recorded by its session */
	int64_t conns_total;
	int64_t bytes_in;
	int64_t bytes_out;
	char *node; /* the node that serves it ("" before fleets) */
	char *region; /* that node's region, "" if none */
	int pooled; /* one of the sessions sharing a pooled address */
};

/*
 * A reserved address (a hosted provider's "TCP address"): host and port
 * are fixed for life. Deleted rows stay as tombstones so that the port
 * is never handed out again, by reserve or as a random address.
 */
struct store_address {
	char *id; /* "ra_…" */
	char *account_id; /* NULL once its account is deleted */
	char *account_name; /* NULL likewise */
	char *host;
	int port;
	char *description; /* "" if none */
	char *metadata; /* "" if none */
	int64_t created_ms;
	int64_t deleted_ms; /* 0 unless deleted */
	char *endpoint_id; /* live endpoint serving it, or NULL (get, list) */
	int proxy_proto; /* 0 none, 1 or 2: PROXY header on its connections */
	char *ip_policy_id; /* attached IP policy, or NULL */
	char *ip_policy_name; /* its name, or NULL */
	char *edge_id; /* the edge it belongs to, or NULL */
	char *node; /* node of the live endpoint serving it, or NULL */
	char *region; /* that node's region, or NULL */
	int pooling; /* its sessions share it (migration 12) */
};

/*
 * An edge: one or more reserved addresses served by a group of sessions
 * of its backend accounts, with a policy of its own.
 */
struct store_edge {
	char *id; /* "ed_…" */
	char *description; /* "" if none */
	char *metadata; /* "" if none */
	char *ip_policy_id; /* or NULL */
	char *ip_policy_name;
	int proxy_proto; /* 0, 1, 2 */
	int64_t created_ms;
	struct store_address **addresses; /* its addresses (get and list) */
	size_t naddresses;
	struct store_account **backends; /* its backend accounts */
	size_t nbackends;
	struct store_endpoint **members; /* live endpoints serving it */
	size_t nmembers;
};

/* An endpoint's live counters, as its session records them. */
struct store_endpoint_stats {
	const char *id;
	int64_t conns_open;
	int64_t conns_total;
	int64_t bytes_in;
	int64_t bytes_out;
};

/* A rule of an IP policy. */
struct store_ip_rule {
	char *id; /* "ipr_…" */
	char *policy_id;
	char *policy_name;
	int allow; /* 1 allow, 0 deny */
	char *cidr; /* canonical, as acl_cidr_format writes it */
	char *description; /* "" if none */
	char *metadata; /* "" if none */
	int64_t created_ms;
};

/*
 * An IP policy: named allow and deny rules (CIDR text, canonical as
 * acl_cidr_format writes it), attached to accounts and addresses.
 */
struct store_ip_policy {
	char *id; /* "ip_…" */
	char *name; /* as account names */
	char *description; /* "" if none */
	char *metadata; /* "" if none */
	int64_t created_ms;
	char **allow; /* CIDRs, in the order added */
	size_t nallow;
	char **deny;
	size_t ndeny;
	struct store_ip_rule **rules; /* every rule, in the order added */
	size_t nrules;
	int naccounts; /* accounts it is attached to */
	int naddresses; /* reserved addresses it is attached to */
	int nedges; /* edges it is attached to */
};

/* An authtoken. Only its keyed hash is stored (see token.h). */
struct store_token {
	char *id; /* "tk_…" */
	char *account_id;
	char *account_name;
	int account_disabled;
	char *description; /* "" if none */
	char *metadata; /* "" if none */
	int64_t created_ms;
	int64_t last_used_ms; /* 0 if never used */
	int64_t revoked_ms; /* 0 while valid */
};

/*
 * An API key, for the HTTP API. Only its keyed hash is stored, as for
 * authtokens (see token.h).
 */
struct store_apikey {
	char *id; /* "ak_…" */
	char *account_id; /* NULL for an administrator's key */
	char *account_name; /* NULL with account_id */
	int account_disabled;
	char *description; /* "" if none */
	int64_t created_ms;
	int64_t last_used_ms; /* 0 if never used */
	int64_t revoked_ms; /* 0 while valid */
};

/*
 * What the parent checks of a live session now and then, read by
 * store_session_status() at one time.
 */
struct store_session_status {
	int ended; /* the row is ended, or gone */
	char *end_reason; /* why it was ended for it, or NULL (owned) */
	int account_disabled;
	int account_deleted; /* the row went with its account */
	int credential_valid; /* the credential would log in as the account */
	char *ip_policy_id; /* the account's IP policy, or NULL (owned) */
	/* The account's traffic limits, as in struct store_account. */
	int64_t bandwidth_limit;
	int64_t quota_bytes;
	int64_t quota_period_s;
	int64_t connection_rate;
	int64_t connections_per_source;
	int64_t idle_timeout_s;
};

/* A host and port, as returned by store_affinity(). */
struct store_hostport {
	char *host;
	int port;
};

/*
 * Open (creating if needed) the database <path> names, as db_open()
 * reads it (a SQLite file; ":memory:" works), set it up and migrate the
 * schema to STORE_SCHEMA_VERSION.
 * Fails with PORTHOLE_ERR_STORE if the file's version is newer than
 * this program knows. On error a reason is copied to errbuf if given.
 */
int store_open(const char *path, struct store **storep, char *errbuf,
    size_t errlen);
void store_free(struct store *store); /* closes; NULL is a no-op */

/*
 * How long a call waits for another connection's lock before it fails
 * with PORTHOLE_ERR_BUSY (STORE_BUSY_TIMEOUT_MS after store_open).
 */
int store_set_busy_timeout(struct store *store, int ms);

/* The schema version found in the open database. */
int store_schema_version(struct store *store, int *versionp);

/* The last error message of this connection (borrowed). */
/*
 * How many times the connection to the database was lost (PostgreSQL).
 * While it is, calls fail with PORTHOLE_ERR_UNAVAILABLE until a retry,
 * which the next call after a short wait makes, gets it back.
 */
uint64_t store_outages(const struct store *store);
const char *store_errmsg(struct store *store);

/* Accounts. Names: 1-64 of [A-Za-z0-9._-], not starting with '-'. */
int store_account_name_valid(const char *name);
/* Add account <name>; _EXISTS if taken, _INVALID_ARGUMENT if bad name. */
int store_account_add(struct store *store, const char *name,
    struct store_account **accountp);
/* Find by name or by id; _NOT_FOUND if absent. */
int store_account_get(struct store *store, const char *name_or_id,
    struct store_account **accountp);
/*
 * store_account_get() without the counts of keys, tokens, addresses and
 * sessions (all 0), which grow with the account: for callers that need
 * only the account itself.
 */
int store_account_lookup(struct store *store, const char *name_or_id,
    struct store_account **accountp);
int store_account_list(struct store *store, struct store_account ***listp,
    size_t *np);
void store_account_free(struct store_account *a);
void store_account_list_free(struct store_account **list, size_t n);
/* Set the description ("" clears it). */
int store_account_set_description(struct store *store, const char *id,
    const char *description);
/*
 * Set per-account limits; a negative value keeps the current one, 0
 * means the server's default. _INVALID_ARGUMENT above 100000.
 */
/*
 * Set account <id>'s traffic limits from <t>'s bandwidth_limit,
 * quota_bytes (with quota_period_s), connection_rate,
 * connections_per_source and idle_timeout_s: STORE_KEEP (-2) keeps the
 * current value, -1 follows the server's default (NULL), 0 is none.
 */
#define STORE_KEEP (-2)
int store_account_set_traffic(struct store *store, const char *id,
    const struct store_account *t);
int store_account_set_limits(struct store *store, const char *id,
    int max_sessions, int max_endpoints);
/*
 * Disable (1) or enable (0) account <id>. Disabling also ends its live
 * sessions, as store_session_kill does with reason "account disabled";
 * the pids of the sessions ended are returned in *pidsp and *npidsp (the
 * caller frees *pidsp; both may be NULL) so the caller can signal them.
 */
int store_account_set_disabled(struct store *store, const char *id,
    int disabled, int64_t now_ms, int64_t **pidsp, size_t *npidsp);
/*
 * Delete account <id> in one transaction: its live sessions are ended
 * (reason "account deleted"; pids returned as above), its reserved
 * addresses become tombstones (deleted_ms set, account_id NULL), its
 * keys and tokens are removed, then the account row. Session and
 * endpoint history of the account goes with it.
 */
int store_account_delete(struct store *store, const char *id, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp);

/*
 * Keys. store_key_add fails with _EXISTS if the fingerprint is already
 * registered (to any account) and _NOT_FOUND for an unknown account.
 */
int store_key_add(struct store *store, const char *account_id, const char *type,
    const char *blob, const char *fingerprint, const char *comment);
/* Find a key with its account by fingerprint; _NOT_FOUND if absent. */
int store_key_get(struct store *store, const char *fingerprint,
    struct store_key **keyp);
/* List keys of one account (by name or id), or all when NULL. */
int store_key_list(struct store *store, const char *account,
    struct store_key ***listp, size_t *np);
/*
 * Delete key <fingerprint> (_NOT_FOUND if it is not registered) and,
 * in the same transaction, end the live sessions that logged in with
 * it (credential "key:<fingerprint>"), as store_session_kill does,
 * with reason "key deleted". The pids of the sessions ended are
 * returned as by store_account_set_disabled (both may be NULL), for
 * the caller to signal.
 */
int store_key_delete(struct store *store, const char *fingerprint,
    int64_t now_ms, int64_t **pidsp, size_t *npidsp);
void store_key_free(struct store_key *k);
void store_key_list_free(struct store_key **list, size_t n);

/*
 * Sessions. store_session_add inserts <s> (id, account_id, pid,
 * client_ip, client_port, user, credential, started_ms, node and
 * region are used) only
 * if, checked in the same transaction as the insert, the account
 * exists (else PORTHOLE_ERR_NOT_FOUND), is not disabled (else
 * PORTHOLE_ERR_DENIED) and has fewer than <max_live> live sessions
 * (<= 0: no limit; else PORTHOLE_ERR_EXHAUSTED). So an account disable
 * racing a login either is seen by the insert or ends the session it
 * made. The credential is not checked here: store_session_status
 * tells whether it is still valid. store_session_end marks a session
 * and its live endpoints ended at <now_ms>.
 */
int store_session_add(struct store *store, const struct store_session *s,
    int max_live);
int store_session_end(struct store *store, const char *id, int64_t now_ms);
/*
 * Mark every live session of process <pid> on <node>, and their
 * endpoints, ended.
 * Stores the number of sessions ended in *np (may be NULL).
 */
int store_session_end_pid(struct store *store, const char *node, int64_t pid,
    int64_t now_ms, int *np);
/*
 * Mark every live session and endpoint of <node> ended (start of a new
 * run), and those of no node (left by a version before fleets); with a
 * NULL <node>, every one (a store that serves one server).
 */
int store_session_end_all(struct store *store, const char *node, int64_t now_ms,
    int *np);
/*
 * End live session <id> on an admin's behalf: set ended_ms and
 * end_reason, end its endpoints, and return its pid in *pidp (for a
 * signal). _NOT_FOUND if no live session has that id.
 */
int store_session_kill(struct store *store, const char *id, const char *reason,
    int64_t now_ms, int64_t *pidp);
/*
 * The state of session <session_id> in one read, into <st> (its
 * strings are then the caller's: store_session_status_clear frees
 * them): whether it has ended and why (end_reason as the admin command
 * or revocation that ended it set it, NULL if it ended otherwise),
 * whether its account is disabled, and its account's IP policy. The
 * credential it logged in with is valid while "token:<id>" is an
 * unrevoked token of the session's account, "key:<fingerprint>" is a
 * key registered to that same account, or it is "anonymous:…"; any
 * other credential is not. A session with no row at all reads as
 * ended, account_deleted, with end_reason "account deleted": deleting
 * an account takes its sessions with it, and a live session is never
 * pruned.
 */
int store_session_status(struct store *store, const char *session_id,
    struct store_session_status *st);
/* Free the strings of <st> and zero it; NULL is a no-op. */
void store_session_status_clear(struct store_session_status *st);
/*
 * Delete the sessions that ended before <before_ms> with their
 * endpoints, and the endpoints of live sessions that ended before
 * <before_ms>, in one transaction; the number of sessions deleted
 * goes to *np (may be NULL). Live sessions and endpoints are never
 * touched. Nothing else refers to these rows (reserved addresses,
 * edges and events name endpoints without a foreign key), so address
 * affinity is what loses: it reads ended endpoints, so keep them at
 * least as long as AddressAffinity.
 */
int store_session_prune(struct store *store, int64_t before_ms, int64_t *np);
/* One session, live or ended, by id; _NOT_FOUND if absent. */
int store_session_get(struct store *store, const char *id,
    struct store_session **sp);
/* Live sessions of one account (name or id), or all when NULL. */
int store_session_list(struct store *store, const char *account,
    struct store_session ***listp, size_t *np);
void store_session_free(struct store_session *s);
void store_session_list_free(struct store_session **list, size_t n);

/*
 * Nodes: the portholed processes of a fleet on one database, by
 * NodeName. store_node_start records node <name> (its <region> and
 * public <hosts>, "" if none) as started at <now_ms> and ends the live
 * sessions and endpoints it, or a version before fleets, left behind
 * (their number in *np, may be NULL). store_node_beat is its
 * heartbeat: *lostp (may be NULL) gets the time another node took it
 * for lost, 0 if none, and the mark is cleared (the rows ended then
 * stay ended: a session of its still running finds its row ended and
 * stops). Heartbeats are the database's clock. store_node_release
 * takes every node but <self> silent for more than <silence_ms> for
 * lost: ends its live sessions
 * ("node lost") and endpoints, so their addresses may be served
 * elsewhere; the names in a new *namesp, *np, and what was ended, as it
 * was, in *released (may be NULL; free with store_released_clear).
 */
struct store_node {
	char *name;
	char *region; /* "" if none */
	char *hosts; /* its PublicHost names, space separated */
	int64_t started_ms;
	int64_t heartbeat_ms;
	int64_t lost_ms; /* when another node took it for lost, else 0 */
	int nsessions; /* live sessions */
};

int store_node_start(struct store *store, const char *name, const char *region,
    const char *hosts, int64_t now_ms, int *np);
int store_node_beat(struct store *store, const char *name, const char *region,
    const char *hosts, int64_t now_ms, int64_t *lostp);
/* What store_node_release ended, as it was just before. */
struct store_released {
	struct store_session **sessions;
	size_t nsessions;
	struct store_endpoint **endpoints;
	size_t nendpoints;
};
int store_node_release(struct store *store, const char *self,
    int64_t silence_ms, int64_t now_ms, char ***namesp, size_t *np,
    struct store_released *released);
void store_released_clear(struct store_released *released);
/*
 * Node <name> stopped on purpose (its sessions ended): its row goes, so
 * that no other node takes it for lost.
 */
int store_node_stop(struct store *store, const char *name);
/* Every node the store has seen, by name. */
int store_node_list(struct store *store, struct store_node ***listp,
    size_t *np);
void store_node_free(struct store_node *n);
void store_node_list_free(struct store_node **list, size_t n);

/*
 * Endpoints. store_endpoint_add inserts <e> (id, session_id, account_id,
 * host, port, bind_address, metadata, address_id, edge_id, started_ms,
 * node, region and pooled are used). Outside edges and pooled
 * endpoints, one live endpoint per host and port in the whole store:
 * another is PORTHOLE_ERR_EXISTS.
 */
int store_endpoint_add(struct store *store, const struct store_endpoint *e);
int store_endpoint_end(struct store *store, const char *id, int64_t now_ms);
/* Mark live endpoint <id> as one of a pooled address's (_NOT_FOUND). */
int store_endpoint_set_pooled(struct store *store, const char *id);
/* Whether a live endpoint outside edges is on <host>:<port>, in *livep. */
int store_endpoint_live_at(struct store *store, const char *host, int port,
    int *livep);
/*
 * Set the metadata of live endpoint <id> (NULL clears it); the session's
 * options arrive after its forwards. _NOT_FOUND if not live.
 */
int store_endpoint_set_metadata(struct store *store, const char *id,
    const char *metadata);
/* Live endpoints, oldest first. */
int store_endpoint_list(struct store *store, struct store_endpoint ***listp,
    size_t *np);
void store_endpoint_free(struct store_endpoint *e);
void store_endpoint_list_free(struct store_endpoint **list, size_t n);

/*
 * Address affinity: the public addresses that random (not reserved)
 * endpoints of account <account_id> with credential <credential> held
 * in sessions that have ended, where the endpoint ended at or after
 * <since_ms>. The most recent session comes first, each session's
 * endpoints in the order they were made; at most 64. A port that is
 * live again (held by any live endpoint) is left out.
 */
int store_affinity(struct store *store, const char *account_id,
    const char *credential, int64_t since_ms, struct store_hostport **listp,
    size_t *np);
void store_hostport_list_free(struct store_hostport *list, size_t n);

/*
 * Reserved addresses. store_address_add reserves <host>:<port> for
 * account <account_id> (description/metadata may be NULL). Ports are
 * one space across hosts (all PublicHosts share TunnelAddress), so
 * _EXISTS if any address row ever had <port>, deleted or not.
 */
int store_address_add(struct store *store, const char *account_id,
    const char *host, int port, const char *description, const char *metadata,
    int64_t now_ms, struct store_address **ap);
/*
 * Predicate-like: set *usedp to 1 if <port> belongs, or belonged, to a
 * reserved address (so random allocation must skip it), else 0.
 */
int store_address_port_used(struct store *store, int port, int *usedp);
/*
 * Find a reserved (not deleted) address by id ("ra_…") or by
 * "host:port" ("[v6]:port"); _NOT_FOUND if absent.
 */
int store_address_get(struct store *store, const char *id_or_hostport,
    struct store_address **ap);
/* The reserved (not deleted) address <host>:<port>; _NOT_FOUND if none. */
int store_address_find(struct store *store, const char *host, int port,
    struct store_address **ap);
/* Reserved addresses of one account (name or id), or all when NULL. */
int store_address_list(struct store *store, const char *account,
    struct store_address ***listp, size_t *np);
/* Update description / metadata of address <id>; NULL keeps a field. */
int store_address_update(struct store *store, const char *id,
    const char *description, const char *metadata);
/* Delete (tombstone) address <id>; _NOT_FOUND if absent or deleted. */
int store_address_delete(struct store *store, const char *id, int64_t now_ms);
/*
 * Keyset pages, for the API's lists: the rows of account <account_id>
 * (NULL: of every account) newest first, by creation (start) time and
 * id, strictly after row <before_id> (NULL: from the newest), at most
 * <limit> (1 .. 1000); *morep says whether more follow. A <before_id>
 * that names no row gives an empty page.
 */
int store_address_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_address ***listp,
    size_t *np, int *morep);
/* Live sessions and endpoints, by started time. */
int store_session_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_session ***listp,
    size_t *np, int *morep);
int store_endpoint_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_endpoint ***listp,
    size_t *np, int *morep);
int store_key_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_key ***listp, size_t *np,
    int *morep);
/* Valid tokens. */
int store_token_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_token ***listp,
    size_t *np, int *morep);
/* Keys, revoked ones too; administrators' keys with a NULL account. */
int store_apikey_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_apikey ***listp,
    size_t *np, int *morep);
/*
 * Events newest first by seq, of <account_id>, <type> (NULL: any) and
 * from <since_ms> (0: any), after event <before_id> (NULL: newest).
 */
int store_event_page(struct store *store, const char *account_id,
    const char *type, int64_t since_ms, const char *before_id, size_t limit,
    struct store_event ***listp, size_t *np, int *morep);
/* One event, one endpoint, one token, one API key by id; _NOT_FOUND. */
int store_event_get(struct store *store, const char *id,
    struct store_event **ep);
int store_endpoint_get(struct store *store, const char *id,
    struct store_endpoint **ep);
int store_token_get(struct store *store, const char *id,
    struct store_token **tp);
int store_apikey_get(struct store *store, const char *id,
    struct store_apikey **kp);
/* Description / metadata of a key (id or fingerprint) or a token. */
int store_key_set_text(struct store *store, const char *id,
    const char *description, const char *metadata);
int store_token_set_text(struct store *store, const char *id,
    const char *description, const char *metadata);
void store_address_free(struct store_address *a);
void store_address_list_free(struct store_address **list, size_t n);

/*
 * Tokens. store_token_add records token <id> of account <account_id>
 * by its keyed hash (TOKEN_HASH_LEN bytes from token_hash()).
 * _NOT_FOUND for an unknown account, _EXISTS for a duplicate hash.
 */
int store_token_add(struct store *store, const char *id, const char *account_id,
    const unsigned char *hash, size_t hashlen, const char *description,
    int64_t now_ms);
/*
 * The valid (not revoked) token with this hash, with its account;
 * _NOT_FOUND if none. The lookup is by the keyed hash, so its timing
 * tells nothing about the token; callers still compare the stored
 * digest with token_hash_equal().
 */
int store_token_find(struct store *store, const unsigned char *hash,
    size_t hashlen, struct store_token **tp, unsigned char *stored_hash);
/* Note a successful use of token <id> at <now_ms>. */
int store_token_touch(struct store *store, const char *id, int64_t now_ms);
/* Valid tokens of one account (name or id), or all when NULL. */
int store_token_list(struct store *store, const char *account,
    struct store_token ***listp, size_t *np);
/*
 * Revoke token <id> at <now_ms> (_NOT_FOUND if absent or already
 * revoked) and, in the same transaction, end the live sessions that
 * logged in with it (credential "token:<id>") with reason "token
 * revoked"; their pids as by store_key_delete.
 */
int store_token_revoke(struct store *store, const char *id, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp);
void store_token_free(struct store_token *t);
void store_token_list_free(struct store_token **list, size_t n);

/*
 * API keys. store_apikey_add records key <id> of account <account_id>
 * (an id), or an administrator's key when it is NULL, by its keyed hash
 * (TOKEN_HASH_LEN bytes from token_hash()). A NULL description is
 * stored as "". _NOT_FOUND for an unknown account, _EXISTS for a
 * duplicate id or hash.
 */
int store_apikey_add(struct store *store, const char *id,
    const char *account_id, const unsigned char *hash, size_t hashlen,
    const char *description, int64_t now_ms);
/*
 * The valid (not revoked) key with this hash, with its account, and the
 * digest as stored into <stored_hash> (TOKEN_HASH_LEN bytes) if it is
 * not NULL; _NOT_FOUND if none. Keys of disabled accounts are found
 * too: account_disabled tells. Callers still compare the stored digest
 * with token_hash_equal().
 */
int store_apikey_find(struct store *store, const unsigned char *hash,
    size_t hashlen, struct store_apikey **kp, unsigned char *stored_hash);
/* Note a successful use of key <id> at <now_ms>; _NOT_FOUND if absent. */
int store_apikey_touch(struct store *store, const char *id, int64_t now_ms);
/*
 * Every key, revoked ones too, of <account> (name or id; _NOT_FOUND if
 * there is no such account), or of all accounts and the administrators
 * when NULL: administrators' keys first, then by account name, then
 * age.
 */
int store_apikey_list(struct store *store, const char *account,
    struct store_apikey ***listp, size_t *np);
/* Revoke key <id> at <now_ms>; _NOT_FOUND if absent or already revoked. */
int store_apikey_revoke(struct store *store, const char *id, int64_t now_ms);
void store_apikey_free(struct store_apikey *k);
void store_apikey_list_free(struct store_apikey **list, size_t n);

/*
 * IP policies. Names follow the account name rule. store_ip_policy_add
 * fails with _EXISTS for a taken name.
 */
int store_ip_policy_add(struct store *store, const char *name,
    const char *description, int64_t now_ms, struct store_ip_policy **pp);
/* By name or id, with its rules; _NOT_FOUND if absent. */
int store_ip_policy_get(struct store *store, const char *name_or_id,
    struct store_ip_policy **pp);
/* All policies with their rules, by name. */
int store_ip_policy_list(struct store *store, struct store_ip_policy ***listp,
    size_t *np);
/*
 * Delete policy <id>; PORTHOLE_ERR_DENIED while it is attached to an
 * account or a (not deleted) address.
 */
int store_ip_policy_delete(struct store *store, const char *id);
/*
 * Add or delete rule <cidr> (canonical text; the caller validates it
 * with acl_cidr_parse/format) of policy <id>: <allow> 1 allow, 0 deny.
 * Add: _EXISTS if the same rule is there. Delete: _NOT_FOUND if not.
 */
int store_ip_policy_rule_add(struct store *store, const char *id, int allow,
    const char *cidr, int64_t now_ms);
int store_ip_policy_rule_delete(struct store *store, const char *id, int allow,
    const char *cidr);
void store_ip_policy_free(struct store_ip_policy *p);
void store_ip_policy_list_free(struct store_ip_policy **list, size_t n);
/*
 * Rules by id ("ipr_…"). store_ip_rule_add is store_ip_policy_rule_add
 * with a description and metadata (NULL: "") and the new rule's id in
 * *idp (may be NULL; the caller's).
 */
int store_ip_rule_add(struct store *store, const char *policy_id, int allow,
    const char *cidr, const char *description, const char *metadata,
    int64_t now_ms, char **idp);
int store_ip_rule_get(struct store *store, const char *id,
    struct store_ip_rule **rp);
/* Rule <allow> <cidr> of policy <policy_id>; _NOT_FOUND if none. */
int store_ip_rule_find(struct store *store, const char *policy_id, int allow,
    const char *cidr, struct store_ip_rule **rp);
/* A page (see store_address_page) of the rules of <policy_id> or all. */
int store_ip_rule_page(struct store *store, const char *policy_id,
    const char *before_id, size_t limit, struct store_ip_rule ***listp,
    size_t *np, int *morep);
/* Description / metadata of a rule or a policy; NULL keeps a field. */
int store_ip_rule_set_text(struct store *store, const char *id,
    const char *description, const char *metadata);
int store_ip_policy_set_text(struct store *store, const char *id,
    const char *description, const char *metadata);
void store_ip_rule_free(struct store_ip_rule *r); /* NULL is a no-op */
void store_ip_rule_list_free(struct store_ip_rule **list, size_t n);
/* Attach policy <policy_id> (NULL detaches) to an account / address. */
int store_account_set_ip_policy(struct store *store, const char *account_id,
    const char *policy_id);
int store_address_set_ip_policy(struct store *store, const char *address_id,
    const char *policy_id);
/* Set the PROXY protocol version (0, 1, 2) of address <id>. */
int store_address_set_proxy_proto(struct store *store, const char *address_id,
    int version);
/* Set whether sessions of address <id>'s account share it (pooling). */
int store_address_set_pooling(struct store *store, const char *address_id,
    int on);

/*
 * Events and metrics. A session process batches what it has to record
 * and writes it in one transaction with store_record(): its events (as
 * built by event.h), deltas for the server-wide counters, and its live
 * counters (stats, may be NULL) on its session row.
 */
struct store_event {
	int64_t seq; /* increasing with each event stored */
	char *id; /* "ev_…" */
	char *type;
	int64_t timestamp_ms;
	char *account_id; /* may be NULL */
	char *json;
};

/* A counter delta: <name> with Prometheus label text <labels> ("" none). */
struct store_counter {
	const char *name; /* "porthole_connections_total", … */
	const char *labels; /* e.g. "reason=\"ip_policy\"", or "" */
	int64_t value; /* a delta in store_record, the total in a list */
};

struct store_session_stats {
	int64_t conns_open;
	int64_t conns_total;
	int64_t bytes_in;
	int64_t bytes_out;
};

int store_record(struct store *store, struct event *const *evs, size_t nevs,
    const struct store_counter *counters, size_t ncounters,
    const char *session_id, const struct store_session_stats *stats);
/* A session's live counters, by id, for store_record_batch(). */
struct store_session_stats_row {
	const char *id;
	struct store_session_stats stats;
};

/*
 * The monitor's batch, in one transaction: events, counter deltas, the
 * live counters of sessions and endpoints (rows already ended are left
 * as they were), and usage added as store_usage_add() adds it.
 */
struct store_usage;
int store_record_batch(struct store *store, struct event *const *evs,
    size_t nevs, const struct store_counter *counters, size_t ncounters,
    const struct store_session_stats_row *sessions, size_t nsessions,
    const struct store_endpoint_stats *endpoints, size_t nendpoints,
    const struct store_usage *usage, size_t nusage);
/*
 * Events in the order stored, oldest first: those with seq > <after_seq>,
 * of <type> (NULL: any) and timestamp >= <since_ms> (0: any). With
 * <limit> > 0, only the newest <limit> of them (still oldest first).
 */
int store_event_list(struct store *store, int64_t after_seq, const char *type,
    int64_t since_ms, size_t limit, struct store_event ***listp, size_t *np);
/* Delete events older than <before_ms>; the number deleted in *np. */
int store_event_prune(struct store *store, int64_t before_ms, int64_t *np);
/*
 * Keep at most <max> events (> 0; 0 is no cap and does nothing):
 * delete every event stored <max> or more events before the newest
 * one, by seq, which grows by one with each event stored; the number
 * deleted goes to *np (may be NULL). The work is two lookups on the
 * seq key plus the rows deleted, in batches of their own transactions
 * so that sessions recording events are never held up for long.
 */
int store_event_cap(struct store *store, int64_t max, int64_t *np);
void store_event_free(struct store_event *e);
void store_event_list_free(struct store_event **list, size_t n);
/*
 * Every counter with its total (name, labels, value; the strings are
 * the caller's to free with store_counter_list_free), by name, labels.
 */
int store_counter_list(struct store *store, struct store_counter **listp,
    size_t *np);
void store_counter_list_free(struct store_counter *list, size_t n);
/*
 * Live totals: sessions, endpoints, and the sum of open connections,
 * of node <node> (NULL: of every node).
 */
int store_live_totals(struct store *store, const char *node, int64_t *sessionsp,
    int64_t *endpointsp, int64_t *conns_openp);

/*
 * Record the live counters of endpoints (ignored for ended ones), in
 * one transaction; sessions call it with their batches.
 */
int store_endpoint_stats(struct store *store,
    const struct store_endpoint_stats *stats, size_t n);

/*
 * Edges. store_address_add accepts a NULL account: an address reserved
 * for an edge, owned by no account.
 */
int store_edge_add(struct store *store, const char *description, int64_t now_ms,
    struct store_edge **ep);
/* By id, with addresses, backends and live members; _NOT_FOUND. */
int store_edge_get(struct store *store, const char *id, struct store_edge **ep);
int store_edge_list(struct store *store, struct store_edge ***listp,
    size_t *np);
/*
 * Delete edge <id>: its addresses leave it; those owned by no account
 * become tombstones (never handed out again), the others go back to
 * their accounts. Endpoints serving it are not touched here (the caller
 * signals their sessions).
 */
int store_edge_delete(struct store *store, const char *id, int64_t now_ms);
/*
 * Put reserved address <address_id> on edge <edge_id>; _EXISTS if it is
 * on an edge already, _NOT_FOUND for an unknown edge or address.
 */
int store_edge_address_add(struct store *store, const char *edge_id,
    const char *address_id);
/* Take it off; _NOT_FOUND if it is not on that edge. */
int store_edge_address_remove(struct store *store, const char *edge_id,
    const char *address_id);
/* Backend accounts: _EXISTS / _NOT_FOUND as above. */
int store_edge_backend_add(struct store *store, const char *edge_id,
    const char *account_id);
int store_edge_backend_remove(struct store *store, const char *edge_id,
    const char *account_id);
/* Predicate: account <account_id> is a backend of edge <edge_id>. */
int store_edge_is_backend(struct store *store, const char *edge_id,
    const char *account_id, int *isp);
int store_edge_set_description(struct store *store, const char *edge_id,
    const char *description);
int store_edge_set_ip_policy(struct store *store, const char *edge_id,
    const char *policy_id);
int store_edge_set_proxy_proto(struct store *store, const char *edge_id,
    int version);
int store_edge_set_metadata(struct store *store, const char *edge_id,
    const char *metadata);
void store_edge_free(struct store_edge *e);
void store_edge_list_free(struct store_edge **list, size_t n);

/*
 * Change notification (store-notify.c): on PostgreSQL, an
 * administrator's change that live sessions must take up (a session
 * killed, an account disabled, a credential withdrawn, a policy, an
 * address or an edge changed) is announced to every portholed that
 * uses the same database, on whichever machine; each then has its
 * sessions re-read their settings from the store. SQLite has no such
 * channel (PORTHOLE_ERR_UNSUPPORTED): its sessions are signalled.
 */
/* Predicate: this store carries change notifications (PostgreSQL). */
int store_can_notify(struct store *store);
/*
 * Announce that something changed. Inside a transaction of <store> the
 * listeners hear it when that commits (never if it rolls back);
 * outside, at once. PORTHOLE_ERR_UNSUPPORTED on SQLite.
 */
int store_notify_change(struct store *store);

/*
 * A listener: a connection of its own to the database <target> names
 * (as store_open() reads it), kept only to hear changes, so that they
 * are not read, and lost to the event loop, by the statements of
 * another connection. PORTHOLE_ERR_UNSUPPORTED for SQLite; on other
 * failures *chp is NULL and errbuf says why ("TARGET: reason").
 */
struct store_changes;
int store_changes_open(const char *target, struct store_changes **chp,
    char *errbuf, size_t errlen);
void store_changes_free(struct store_changes *ch); /* NULL is a no-op */
/*
 * The descriptor to wait on (readable: call store_changes_drain()), or
 * -1 while the connection is lost. It may change with a reconnect.
 */
int store_changes_fd(const struct store_changes *ch);
/*
 * Count in *np the changes announced since the last call, without
 * waiting. PORTHOLE_ERR_UNAVAILABLE: the connection is lost; call
 * store_changes_reconnect() until it returns 0, then assume that
 * changes were missed.
 */
int store_changes_drain(struct store_changes *ch, int *np);
/* Connect again and listen again: 0, or PORTHOLE_ERR_UNAVAILABLE. */
int store_changes_reconnect(struct store_changes *ch);
/* The last failure's message (borrowed). */
const char *store_changes_errmsg(const struct store_changes *ch);

/*
 * Webhooks (store-hook.c). A destination is where events are POSTed:
 * a URL and the secret that signs each request (kept as given, since
 * signing needs it). A subscription sends events of some types to
 * destinations of its owner. Owner NULL is the administrator, whose
 * destinations receive every account's events; an account's receive
 * only that account's. <scope> arguments limit a call to one owner:
 * NULL is the administrator (everything), else an account id, and an
 * object of another owner is _NOT_FOUND.
 */
struct store_hook_dest {
	char *id; /* "dst_…" */
	char *account_id; /* NULL: the administrator's */
	char *account_name; /* NULL with account_id */
	char *description; /* "" if none */
	char *metadata; /* "" if none */
	char *url;
	char *secret; /* only from store_hook_dest_get(with_secret) and
	                 store_hook_deliverable(); else NULL */
	int64_t created_ms;
	/* Delivery state. */
	int64_t cursor; /* seq of the last event delivered or passed over */
	char *lease_node; /* the node delivering it, or NULL */
	int64_t lease_until_ms;
	int attempts; /* failures since the last success */
	char *last_error; /* the last failure, or NULL */
	int64_t next_attempt_ms; /* not before (epoch ms), 0: now */
	int64_t delivered_ms; /* the last success, 0 if none */
	int64_t delivered_total; /* events delivered */
};

struct store_hook_sub {
	char *id; /* "esb_…" */
	char *account_id; /* NULL: the administrator's */
	char *account_name;
	char *description;
	char *metadata;
	int64_t created_ms;
	char **types; /* event types, "*" for any; sorted */
	size_t ntypes;
	char **dests; /* destination ids; sorted */
	size_t ndests;
};

/* Longest URL, and the secret's length bounds, the store accepts. */
#define STORE_HOOK_URL_MAX    2048
#define STORE_HOOK_SECRET_MIN 16
#define STORE_HOOK_SECRET_MAX 256
/* The event type a subscription takes to mean any. */
#define STORE_HOOK_ANY_TYPE "*"

/*
 * Add destination <id> of <account_id> (NULL: the administrator's)
 * sending to <url> signed with <secret>; NULL description or metadata
 * is "". Its delivery starts after the newest event stored now.
 * _NOT_FOUND for an unknown account, _EXISTS for a taken id.
 */
int store_hook_dest_add(struct store *store, const char *id,
    const char *account_id, const char *url, const char *secret,
    const char *description, const char *metadata, int64_t now_ms);
/* Destination <id> (not deleted) within <scope>; the secret if asked. */
int store_hook_dest_get(struct store *store, const char *id, const char *scope,
    int with_secret, struct store_hook_dest **dp);
/*
 * One page of the destinations within <scope>, newest first (by
 * created_ms, id): those older than <before_id> (NULL: from the
 * newest; one that is not there gives an empty page), at most <limit>
 * (1 to 1000); *morep is 1 if more follow.
 */
int store_hook_dest_list(struct store *store, const char *scope,
    const char *before_id, size_t limit, struct store_hook_dest ***listp,
    size_t *np, int *morep);
/* Every destination within <scope>, newest first. */
int store_hook_dest_all(struct store *store, const char *scope,
    struct store_hook_dest ***listp, size_t *np);
/* Change what is not NULL of destination <id> within <scope>. */
int store_hook_dest_update(struct store *store, const char *id,
    const char *scope, const char *url, const char *secret,
    const char *description, const char *metadata);
/*
 * Delete destination <id> within <scope>: it leaves every subscription
 * and its delivery stops (a delivery under way may still finish).
 */
int store_hook_dest_delete(struct store *store, const char *id,
    const char *scope, int64_t now_ms);
void store_hook_dest_free(struct store_hook_dest *d);
void store_hook_dest_list_free(struct store_hook_dest **list, size_t n);

/*
 * Add subscription <id> of <account_id> (NULL: the administrator's) to
 * event <types> (at least one) for destinations <dests> (at least one,
 * each of the same owner and not deleted, else _NOT_FOUND). Duplicates
 * in either list count once.
 */
int store_hook_sub_add(struct store *store, const char *id,
    const char *account_id, const char *description, const char *metadata,
    const char *const *types, size_t ntypes, const char *const *dests,
    size_t ndests, int64_t now_ms);
int store_hook_sub_get(struct store *store, const char *id, const char *scope,
    struct store_hook_sub **sp);
/* As store_hook_dest_list(). */
int store_hook_sub_list(struct store *store, const char *scope,
    const char *before_id, size_t limit, struct store_hook_sub ***listp,
    size_t *np, int *morep);
/* Every subscription within <scope>, newest first. */
int store_hook_sub_all(struct store *store, const char *scope,
    struct store_hook_sub ***listp, size_t *np);
/*
 * Change what is given of subscription <id> within <scope>: text that
 * is not NULL, and the types or destinations when their lists are (not
 * NULL and) not empty, checked as by store_hook_sub_add().
 */
int store_hook_sub_update(struct store *store, const char *id,
    const char *scope, const char *description, const char *metadata,
    const char *const *types, size_t ntypes, const char *const *dests,
    size_t ndests);
int store_hook_sub_delete(struct store *store, const char *id,
    const char *scope);
void store_hook_sub_free(struct store_hook_sub *s);
void store_hook_sub_list_free(struct store_hook_sub **list, size_t n);

/*
 * Delivery. Every live destination with its secret and state, oldest
 * first, for the delivering process.
 */
int store_hook_deliverable(struct store *store, struct store_hook_dest ***listp,
    size_t *np);
/*
 * Take or renew the lease of destination <id> for <node> until
 * <until_ms>: 0 if <node> holds it now, PORTHOLE_ERR_DENIED if another
 * node's lease runs past <now_ms>, _NOT_FOUND if it was deleted. The
 * delivery state as it is then goes to *cursorp, *attemptsp and
 * *next_attempt_msp (each may be NULL).
 */
int store_hook_lease(struct store *store, const char *id, const char *node,
    int64_t now_ms, int64_t until_ms, int64_t *cursorp, int *attemptsp,
    int64_t *next_attempt_msp);
/* Give up the leases <node> holds (a clean exit). */
int store_hook_release(struct store *store, const char *node);
/*
 * The events destination <d> (its id and account) is to receive after
 * seq <cursor>, oldest first, at most <limit>: of a type one of its
 * subscriptions names and, for an account's destination, of that
 * account. *scannedp is the seq the cursor may move to once they are
 * delivered: the last of them if there are <limit>, else the newest
 * event stored (the events between matched nothing). Read in one
 * snapshot.
 */
int store_hook_pending(struct store *store, const struct store_hook_dest *d,
    int64_t cursor, size_t limit, struct store_event ***listp, size_t *np,
    int64_t *scannedp);
/*
 * Move destination <id>'s cursor from <from> to <to> while <node> holds
 * its lease, having delivered <ndelivered> events at <now_ms> (0: none
 * were due, the cursor only passes over others): failures are
 * forgotten. PORTHOLE_ERR_DENIED if the lease or the cursor moved on
 * (another node took over); nothing changes then.
 */
int store_hook_advance(struct store *store, const char *id, const char *node,
    int64_t from, int64_t to, int64_t ndelivered, int64_t now_ms);
/*
 * Note a failed delivery to <id> while <node> holds its lease: the
 * number of failures in a row, why (<error>, clipped), and when to try
 * again.
 */
int store_hook_failed(struct store *store, const char *id, const char *node,
    int attempts, const char *error, int64_t next_attempt_ms);

/*
 * Usage (migration 12): what one account did through one address in
 * one hour (hour_ms is rounded down to the hour when stored).
 */
#define STORE_USAGE_HOUR(ms) ((ms) - (ms) % 3600000)
struct store_usage {
	char *account_id;
	char *account_name; /* filled by lists */
	char *hostport; /* "host:port" */
	int64_t hour_ms;
	int64_t connections; /* relayed */
	int64_t refused;
	int64_t bytes_in; /* from public clients */
	int64_t bytes_out; /* to public clients */
};
/* Add <n> rows to what is counted, in one transaction. */
int store_usage_add(struct store *store, const struct store_usage *rows,
    size_t n);
/*
 * Bytes both ways account <account_id> moved in the hours from the one
 * holding <since_ms> on (TransferQuota).
 */
int store_usage_bytes_since(struct store *store, const char *account_id,
    int64_t since_ms, int64_t *bytesp);
/*
 * Usage from the hour holding <since_ms> on, of account <account_id>
 * (NULL: every account), summed per account, address and bucket of
 * <bucket_ms> (a multiple of an hour: 3600000 by hour, 86400000 by UTC
 * day; 0: one bucket for the whole span, whose hour_ms is its first
 * hour), ordered by account name, address, bucket; each row's hour_ms
 * is its bucket's start and account_name is filled. *listp is the
 * caller's, freed with store_usage_list_free().
 */
int store_usage_list(struct store *store, const char *account_id,
    int64_t since_ms, int64_t bucket_ms, struct store_usage **listp,
    size_t *np);
void store_usage_list_free(struct store_usage *list, size_t n);

#endif /* PORTHOLE_STORE_H */
