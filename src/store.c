/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

/*
 * The store's entity code, written once over the driver (db.h) in SQL
 * that SQLite 3.40 and PostgreSQL 15 both run as written. The drivers
 * translate only parameters (?N to $N) and, in schema scripts, types
 * (INTEGER, BLOB, INTEGER PRIMARY KEY AUTOINCREMENT), so the
 * statements keep to these rules:
 *  - Parameters are ?1, ?2, … numbered densely: each number up to the
 *    largest is used (PostgreSQL types every one).
 *  - Parameters reach PostgreSQL untyped; where the context does not
 *    give one a type (a SELECT list, IS NULL, IS NOT DISTINCT FROM, a
 *    CASE of its own), it is cast: CAST(?5 AS BIGINT), CAST(?8 AS
 *    TEXT). Text columns are compared with text values and integer
 *    columns with integers, never across.
 *  - No rowid: where the order rows were added matters, a seq column
 *    (migration 6) holds it, taken as max + 1 in a write transaction.
 *  - No SQLite-only syntax or functions: no INSERT OR IGNORE/REPLACE
 *    (ON CONFLICT … DO NOTHING/UPDATE instead), ifnull, two-argument
 *    max()/min(), strftime, julianday, printf, last_insert_rowid(),
 *    changes(), COLLATE NOCASE (lower() on both sides), IS with a
 *    value (IS NOT DISTINCT FROM); time comes from C or db_dialect().
 *  - No integer used as a boolean (disabled <> 0, not disabled) and no
 *    boolean used as an integer: a truth the C code reads is
 *    CASE WHEN … THEN 1 ELSE 0 END, also for EXISTS.
 *  - GROUP BY and ORDER BY only on grouped or aggregated columns;
 *    a subquery in FROM has an alias; LIMIT takes a non-negative
 *    number.
 *  - Identifiers PostgreSQL reserves are quoted ("user"); a column set
 *    in an upsert is named with its table (counters.value).
 *  - Sums are cast back to BIGINT (PostgreSQL sums bigints as numeric).
 *  - ORDER BY a column that may be NULL says where NULLs go (SQLite
 *    puts them first, PostgreSQL last).
 * The schema scripts 1-5 are history and stay as shipped (but for the
 * quotes around "user" in script 1, which give SQLite the same column);
 * later ones follow the same rules.
 *
 * This file opens the store, migrates its schema and holds the helpers
 * every entity file uses (store-int.h); the entities are in
 * store-account.c, store-key.c, store-session.c, store-endpoint.c
 * (with address affinity), store-address.c, store-token.c,
 * store-policy.c (IP policies and their attachments), store-event.c
 * (events, counters, live statistics), store-edge.c and
 * store-apikey.c; webhooks in store-hook.c.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "store-int.h"
#include "token.h"
#include "store.h"
#include "xmalloc.h"

/* A lost connection is tried again after 0.5 s, then up to every 4 s. */
#define STORE_RETRY_MIN_MS 500
#define STORE_RETRY_MAX_MS 4000

/*
 * Webhooks (store-hook.c): event destinations (a URL and the secret
 * that signs what is sent there, kept as given since signing needs it;
 * a deleted one stays as a tombstone), their delivery state (the seq of
 * the last event delivered or passed over, the node that holds the
 * lease to deliver and until when, the failures since the last success
 * and when to try again), and subscriptions: event types ("*" is any)
 * sent to destinations of the same owner. account_id NULL is the
 * administrator's. Its schema version is its place in the list below,
 * so renumbering it is moving that one line.
 */
#define STORE_MIGRATION_HOOKS                                                  \
	"CREATE TABLE event_destinations ("                                    \
	"  id          TEXT PRIMARY KEY NOT NULL,"                             \
	"  account_id  TEXT"                                                   \
	"              REFERENCES accounts(id) ON DELETE CASCADE,"             \
	"  description TEXT NOT NULL DEFAULT '',"                              \
	"  metadata    TEXT NOT NULL DEFAULT '',"                              \
	"  url         TEXT NOT NULL,"                                         \
	"  secret      TEXT NOT NULL,"                                         \
	"  created_ms  INTEGER NOT NULL,"                                      \
	"  deleted_ms  INTEGER,"                                               \
	"  seq         INTEGER NOT NULL DEFAULT 0"                             \
	");"                                                                   \
	"CREATE INDEX event_destinations_account"                              \
	"  ON event_destinations(account_id);"                                 \
	"CREATE TABLE event_deliveries ("                                      \
	"  destination_id TEXT PRIMARY KEY NOT NULL"                           \
	"              REFERENCES event_destinations(id) ON DELETE CASCADE,"   \
	"  cursor_seq  INTEGER NOT NULL,"                                      \
	"  lease_node  TEXT,"                                                  \
	"  lease_until_ms INTEGER NOT NULL DEFAULT 0,"                         \
	"  attempts    INTEGER NOT NULL DEFAULT 0,"                            \
	"  last_error  TEXT,"                                                  \
	"  next_attempt_ms INTEGER NOT NULL DEFAULT 0,"                        \
	"  delivered_ms INTEGER,"                                              \
	"  delivered_total INTEGER NOT NULL DEFAULT 0"                         \
	");"                                                                   \
	"CREATE TABLE event_subscriptions ("                                   \
	"  id          TEXT PRIMARY KEY NOT NULL,"                             \
	"  account_id  TEXT"                                                   \
	"              REFERENCES accounts(id) ON DELETE CASCADE,"             \
	"  description TEXT NOT NULL DEFAULT '',"                              \
	"  metadata    TEXT NOT NULL DEFAULT '',"                              \
	"  created_ms  INTEGER NOT NULL,"                                      \
	"  seq         INTEGER NOT NULL DEFAULT 0"                             \
	");"                                                                   \
	"CREATE INDEX event_subscriptions_account"                             \
	"  ON event_subscriptions(account_id);"                                \
	"CREATE TABLE event_subscription_types ("                              \
	"  subscription_id TEXT NOT NULL"                                      \
	"              REFERENCES event_subscriptions(id) ON DELETE CASCADE,"  \
	"  type        TEXT NOT NULL,"                                         \
	"  PRIMARY KEY (subscription_id, type)"                                \
	");"                                                                   \
	"CREATE TABLE event_subscription_destinations ("                       \
	"  subscription_id TEXT NOT NULL"                                      \
	"              REFERENCES event_subscriptions(id) ON DELETE CASCADE,"  \
	"  destination_id TEXT NOT NULL"                                       \
	"              REFERENCES event_destinations(id) ON DELETE CASCADE,"   \
	"  PRIMARY KEY (subscription_id, destination_id)"                      \
	");"                                                                   \
	"CREATE INDEX event_subscription_destinations_dst"                     \
	"  ON event_subscription_destinations(destination_id);"

/*
 * The schema, one script per version: store_migrations[i] brings
 * user_version i - 1 to i. Scripts are only ever appended, never edited,
 * since databases in the field have already run the old ones.
 */
static const char *const store_migrations[] = {
	NULL, /* version 0 is the empty database */

	/* 1: accounts, their keys, live and past sessions and endpoints. */
	"CREATE TABLE accounts ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  name        TEXT NOT NULL UNIQUE,"
	"  disabled    INTEGER NOT NULL DEFAULT 0,"
	"  created_ms  INTEGER NOT NULL"
	");"
	"CREATE TABLE keys ("
	"  fingerprint TEXT PRIMARY KEY NOT NULL,"
	"  account_id  TEXT NOT NULL"
	"              REFERENCES accounts(id) ON DELETE CASCADE,"
	"  type        TEXT NOT NULL,"
	"  blob        TEXT NOT NULL,"
	"  comment     TEXT NOT NULL DEFAULT '',"
	"  created_ms  INTEGER NOT NULL"
	");"
	"CREATE INDEX keys_account ON keys(account_id);"
	"CREATE TABLE sessions ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  account_id  TEXT NOT NULL"
	"              REFERENCES accounts(id) ON DELETE CASCADE,"
	"  pid         INTEGER NOT NULL,"
	"  client_ip   TEXT NOT NULL,"
	"  client_port INTEGER NOT NULL,"
	"  \"user\"      TEXT NOT NULL DEFAULT '',"
	"  credential  TEXT NOT NULL DEFAULT '',"
	"  started_ms  INTEGER NOT NULL,"
	"  ended_ms    INTEGER"
	");"
	"CREATE INDEX sessions_account ON sessions(account_id);"
	"CREATE INDEX sessions_live ON sessions(pid) WHERE ended_ms IS NULL;"
	"CREATE TABLE endpoints ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  session_id  TEXT NOT NULL"
	"              REFERENCES sessions(id) ON DELETE CASCADE,"
	"  account_id  TEXT NOT NULL"
	"              REFERENCES accounts(id) ON DELETE CASCADE,"
	"  host        TEXT NOT NULL,"
	"  port        INTEGER NOT NULL,"
	"  bind_address TEXT NOT NULL,"
	"  metadata    TEXT,"
	"  started_ms  INTEGER NOT NULL,"
	"  ended_ms    INTEGER"
	");"
	"CREATE INDEX endpoints_session ON endpoints(session_id);"
	"CREATE INDEX endpoints_account ON endpoints(account_id);"
	"CREATE INDEX endpoints_live ON endpoints(host, port)"
	"  WHERE ended_ms IS NULL;",

	/*
	 * 2: account settings, why a session ended, which reserved
	 * address an endpoint serves; reserved addresses (a port is one
	 * space across hosts, and a deleted row stays as a tombstone that
	 * keeps its port); authtokens, stored as keyed hashes.
	 */
	"ALTER TABLE accounts"
	"  ADD COLUMN description TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE accounts"
	"  ADD COLUMN max_sessions INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE accounts"
	"  ADD COLUMN max_endpoints INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN end_reason TEXT;"
	"ALTER TABLE endpoints ADD COLUMN address_id TEXT;"
	"CREATE TABLE addresses ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  account_id  TEXT"
	"              REFERENCES accounts(id) ON DELETE SET NULL,"
	"  host        TEXT NOT NULL,"
	"  port        INTEGER NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  metadata    TEXT NOT NULL DEFAULT '',"
	"  created_ms  INTEGER NOT NULL,"
	"  deleted_ms  INTEGER,"
	"  UNIQUE (port)"
	");"
	"CREATE INDEX addresses_account ON addresses(account_id);"
	"CREATE TABLE tokens ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  account_id  TEXT NOT NULL"
	"              REFERENCES accounts(id) ON DELETE CASCADE,"
	"  hash        BLOB NOT NULL UNIQUE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_ms  INTEGER NOT NULL,"
	"  last_used_ms INTEGER,"
	"  revoked_ms  INTEGER"
	");"
	"CREATE INDEX tokens_account ON tokens(account_id);"
	/* The session limit counts these at every login. */
	"CREATE INDEX sessions_account_live ON sessions(account_id)"
	"  WHERE ended_ms IS NULL;"
	"CREATE INDEX endpoints_address ON endpoints(address_id)"
	"  WHERE ended_ms IS NULL;",

	/*
	 * 3: IP policies (named allow and deny rules, kept in the order
	 * added by rowid) attached to accounts and reserved addresses;
	 * the PROXY protocol version of a reserved address. A policy is
	 * only deleted once nothing refers to it, hence no ON DELETE on
	 * the attachments.
	 */
	"CREATE TABLE ip_policies ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  name        TEXT NOT NULL UNIQUE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_ms  INTEGER NOT NULL"
	");"
	"CREATE TABLE ip_policy_rules ("
	"  policy_id   TEXT NOT NULL"
	"              REFERENCES ip_policies(id) ON DELETE CASCADE,"
	"  allow       INTEGER NOT NULL,"
	"  cidr        TEXT NOT NULL,"
	"  created_ms  INTEGER NOT NULL,"
	"  UNIQUE (policy_id, allow, cidr)"
	");"
	"ALTER TABLE accounts"
	"  ADD COLUMN ip_policy_id TEXT REFERENCES ip_policies(id);"
	"ALTER TABLE addresses"
	"  ADD COLUMN ip_policy_id TEXT REFERENCES ip_policies(id);"
	"ALTER TABLE addresses"
	"  ADD COLUMN proxy_proto INTEGER NOT NULL DEFAULT 0"
	"  CHECK (proxy_proto IN (0, 1, 2));"
	/* Deleting a policy looks for what still refers to it. */
	"CREATE INDEX accounts_ip_policy ON accounts(ip_policy_id)"
	"  WHERE ip_policy_id IS NOT NULL;"
	"CREATE INDEX addresses_ip_policy ON addresses(ip_policy_id)"
	"  WHERE ip_policy_id IS NOT NULL;",

	/*
	 * 4: events (seq never reused, so a follower's position stays
	 * good across pruning; no foreign key, since events outlive
	 * their accounts), server-wide counters, and each session's live
	 * counters as it last recorded them.
	 */
	"CREATE TABLE events ("
	"  seq         INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id          TEXT NOT NULL UNIQUE,"
	"  type        TEXT NOT NULL,"
	"  timestamp_ms INTEGER NOT NULL,"
	"  account_id  TEXT,"
	"  json        TEXT NOT NULL"
	");"
	"CREATE INDEX events_timestamp ON events(timestamp_ms);"
	"CREATE INDEX events_type ON events(type, seq);"
	"CREATE TABLE counters ("
	"  name        TEXT NOT NULL,"
	"  labels      TEXT NOT NULL DEFAULT '',"
	"  value       INTEGER NOT NULL,"
	"  PRIMARY KEY (name, labels)"
	");"
	"ALTER TABLE sessions"
	"  ADD COLUMN conns_open INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions"
	"  ADD COLUMN conns_total INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions"
	"  ADD COLUMN bytes_in INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions"
	"  ADD COLUMN bytes_out INTEGER NOT NULL DEFAULT 0;",

	/*
	 * 5: edges, each with reserved addresses (an address is on one
	 * edge at most), backend accounts whose sessions serve them, and
	 * a policy of its own; the edge an endpoint serves and its live
	 * counters. An endpoint's edge_id is history, as its address_id
	 * is, so it outlives the edge and has no foreign key. A policy
	 * is only deleted once no edge has it, hence no ON DELETE.
	 */
	"CREATE TABLE edges ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  ip_policy_id TEXT REFERENCES ip_policies(id),"
	"  proxy_proto INTEGER NOT NULL DEFAULT 0"
	"              CHECK (proxy_proto IN (0, 1, 2)),"
	"  created_ms  INTEGER NOT NULL"
	");"
	"CREATE TABLE edge_addresses ("
	"  edge_id     TEXT NOT NULL"
	"              REFERENCES edges(id) ON DELETE CASCADE,"
	"  address_id  TEXT NOT NULL UNIQUE REFERENCES addresses(id),"
	"  PRIMARY KEY (edge_id, address_id)"
	");"
	"CREATE TABLE edge_backends ("
	"  edge_id     TEXT NOT NULL"
	"              REFERENCES edges(id) ON DELETE CASCADE,"
	"  account_id  TEXT NOT NULL"
	"              REFERENCES accounts(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (edge_id, account_id)"
	");"
	/* Deleting an account or a policy looks for what refers to it. */
	"CREATE INDEX edge_backends_account ON edge_backends(account_id);"
	"CREATE INDEX edges_ip_policy ON edges(ip_policy_id)"
	"  WHERE ip_policy_id IS NOT NULL;"
	"ALTER TABLE endpoints ADD COLUMN edge_id TEXT;"
	"ALTER TABLE endpoints"
	"  ADD COLUMN conns_open INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE endpoints"
	"  ADD COLUMN conns_total INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE endpoints"
	"  ADD COLUMN bytes_in INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE endpoints"
	"  ADD COLUMN bytes_out INTEGER NOT NULL DEFAULT 0;"
	/* An edge's members, at every get and list. */
	"CREATE INDEX endpoints_edge ON endpoints(edge_id)"
	"  WHERE ended_ms IS NULL;",

	/*
	 * 6: the order rows were added, where the store returns rows in
	 * it, as a column of its own (seq) rather than SQLite's rowid,
	 * which other databases do not have. A new row takes one more
	 * than its table's largest, inside the write transaction that
	 * inserts it. Rows from before are numbered here by their time,
	 * then their key (for rules the order they were added within
	 * one millisecond is lost; for edge addresses, their address's
	 * creation stands for it).
	 */
	"ALTER TABLE sessions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE sessions SET seq = o.n FROM (SELECT id,"
	"  row_number() OVER (ORDER BY started_ms, id) AS n FROM sessions)"
	"  AS o WHERE o.id = sessions.id;"
	"CREATE INDEX sessions_seq ON sessions(seq);"
	"ALTER TABLE endpoints ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE endpoints SET seq = o.n FROM (SELECT id,"
	"  row_number() OVER (ORDER BY started_ms, id) AS n FROM endpoints)"
	"  AS o WHERE o.id = endpoints.id;"
	"CREATE INDEX endpoints_seq ON endpoints(seq);"
	"ALTER TABLE addresses ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE addresses SET seq = o.n FROM (SELECT id,"
	"  row_number() OVER (ORDER BY created_ms, id) AS n FROM addresses)"
	"  AS o WHERE o.id = addresses.id;"
	"ALTER TABLE tokens ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE tokens SET seq = o.n FROM (SELECT id,"
	"  row_number() OVER (ORDER BY created_ms, id) AS n FROM tokens)"
	"  AS o WHERE o.id = tokens.id;"
	"ALTER TABLE edges ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE edges SET seq = o.n FROM (SELECT id,"
	"  row_number() OVER (ORDER BY created_ms, id) AS n FROM edges)"
	"  AS o WHERE o.id = edges.id;"
	"ALTER TABLE ip_policy_rules"
	"  ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE ip_policy_rules SET seq = o.n FROM (SELECT policy_id,"
	"  allow, cidr, row_number() OVER"
	"  (ORDER BY created_ms, policy_id, allow, cidr) AS n"
	"  FROM ip_policy_rules) AS o"
	"  WHERE o.policy_id = ip_policy_rules.policy_id"
	"  AND o.allow = ip_policy_rules.allow"
	"  AND o.cidr = ip_policy_rules.cidr;"
	"ALTER TABLE edge_addresses"
	"  ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE edge_addresses SET seq = o.n FROM (SELECT x.address_id,"
	"  row_number() OVER (ORDER BY r.created_ms, r.id) AS n"
	"  FROM edge_addresses x JOIN addresses r ON r.id = x.address_id)"
	"  AS o WHERE o.address_id = edge_addresses.address_id;",

	/*
	 * 7: a fleet. Each portholed is a node with a name and a region,
	 * which its sessions and endpoints carry; a node heartbeats in its
	 * row, and one taken for lost (lost_ms) has had its rows ended by
	 * another. Outside edges (whose members share an address), one
	 * live endpoint per host and port in the whole fleet: live rows
	 * that a crash left behind twice are ended first.
	 */
	"CREATE TABLE nodes ("
	"  name        TEXT PRIMARY KEY NOT NULL,"
	"  region      TEXT NOT NULL DEFAULT '',"
	"  hosts       TEXT NOT NULL DEFAULT '',"
	"  started_ms  INTEGER NOT NULL,"
	"  heartbeat_ms INTEGER NOT NULL,"
	"  lost_ms     INTEGER"
	");"
	"ALTER TABLE sessions ADD COLUMN node TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN region TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE endpoints ADD COLUMN node TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE endpoints ADD COLUMN region TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX sessions_node_live ON sessions(node, pid)"
	"  WHERE ended_ms IS NULL;"
	"UPDATE endpoints SET ended_ms = started_ms"
	"  WHERE ended_ms IS NULL AND edge_id IS NULL AND EXISTS"
	"  (SELECT 1 FROM endpoints o WHERE o.host = endpoints.host"
	"   AND o.port = endpoints.port AND o.ended_ms IS NULL"
	"   AND o.edge_id IS NULL AND o.seq > endpoints.seq);"
	"CREATE UNIQUE INDEX endpoints_one_live ON endpoints(host, port)"
	"  WHERE ended_ms IS NULL AND edge_id IS NULL;",

	/*
	 * 8: API keys for the HTTP API, stored as keyed hashes as
	 * authtokens are. A key of no account (account_id NULL) is an
	 * administrator's; an account's keys go with it.
	 */
	"CREATE TABLE api_keys ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  account_id  TEXT"
	"              REFERENCES accounts(id) ON DELETE CASCADE,"
	"  hash        BLOB NOT NULL UNIQUE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_ms  INTEGER NOT NULL,"
	"  last_used_ms INTEGER,"
	"  revoked_ms  INTEGER,"
	"  seq         INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX api_keys_account ON api_keys(account_id);",

	/*
	 * 9: what the HTTP API shows of objects that had no id or no free
	 * text: SSH keys get an id ("sk_…"; a key from before takes one
	 * made of its fingerprint, unique as the fingerprint is) and a
	 * description and metadata; IP policy rules an id ("ipr_…", from
	 * their policy and order for the rules from before), a
	 * description and metadata; tokens, policies and edges metadata.
	 * Lists are read a page at a time, newest first, by creation
	 * time and id: an index for each.
	 */
	"ALTER TABLE keys ADD COLUMN id TEXT;"
	"UPDATE keys SET id = 'sk_' || replace(replace(replace("
	"  substr(fingerprint, 8), '+', '-'), '/', '_'), '=', '');"
	"CREATE UNIQUE INDEX keys_id ON keys(id);"
	"ALTER TABLE keys ADD COLUMN description TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE keys ADD COLUMN metadata TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE tokens ADD COLUMN metadata TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE ip_policies"
	"  ADD COLUMN metadata TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE edges ADD COLUMN metadata TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE ip_policy_rules ADD COLUMN id TEXT;"
	"UPDATE ip_policy_rules SET id = 'ipr_' || substr(policy_id, 4)"
	"  || '_' || CAST(seq AS TEXT);"
	"CREATE UNIQUE INDEX ip_policy_rules_id ON ip_policy_rules(id);"
	"ALTER TABLE ip_policy_rules"
	"  ADD COLUMN description TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE ip_policy_rules"
	"  ADD COLUMN metadata TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX addresses_page ON addresses(created_ms, id)"
	"  WHERE deleted_ms IS NULL;"
	"CREATE INDEX sessions_page ON sessions(started_ms, id)"
	"  WHERE ended_ms IS NULL;"
	"CREATE INDEX endpoints_page ON endpoints(started_ms, id)"
	"  WHERE ended_ms IS NULL;"
	"CREATE INDEX keys_page ON keys(created_ms, id);"
	"CREATE INDEX tokens_page ON tokens(created_ms, id)"
	"  WHERE revoked_ms IS NULL;"
	"CREATE INDEX api_keys_page ON api_keys(created_ms, id);",

	/* 10: webhooks; see STORE_MIGRATION_HOOKS. */
	STORE_MIGRATION_HOOKS,

	/*
	 * 11: a new row's seq is one more than its table's largest
	 * (max(seq), see 6), which only sessions and endpoints had an
	 * index to find; the other tables were read whole at every
	 * insert, 10 ms a reserved address on 10,000 of them.
	 */
	"CREATE INDEX addresses_seq ON addresses(seq);"
	"CREATE INDEX tokens_seq ON tokens(seq);"
	"CREATE INDEX api_keys_seq ON api_keys(seq);"
	"CREATE INDEX edges_seq ON edges(seq);"
	"CREATE INDEX edge_addresses_seq ON edge_addresses(seq);"
	"CREATE INDEX ip_policy_rules_seq ON ip_policy_rules(seq);"
	"CREATE INDEX event_destinations_seq ON event_destinations(seq);"
	"CREATE INDEX event_subscriptions_seq ON event_subscriptions(seq);",

	/*
	 * 12: traffic limits per account (NULL: the server's default, 0:
	 * none), pooled addresses and endpoints (several live endpoints of
	 * one account share a pooled address, so the one-live rule skips
	 * them), and usage: connections and bytes per account, address
	 * and hour, which TransferQuota and "portholectl usage" read.
	 */
	"ALTER TABLE accounts ADD COLUMN bandwidth_limit INTEGER;"
	"ALTER TABLE accounts ADD COLUMN quota_bytes INTEGER;"
	"ALTER TABLE accounts ADD COLUMN quota_period_s INTEGER;"
	"ALTER TABLE accounts ADD COLUMN connection_rate INTEGER;"
	"ALTER TABLE accounts ADD COLUMN connections_per_source INTEGER;"
	"ALTER TABLE accounts ADD COLUMN idle_timeout_s INTEGER;"
	"ALTER TABLE addresses ADD COLUMN pooling INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE endpoints ADD COLUMN pooled INTEGER NOT NULL DEFAULT 0;"
	"DROP INDEX endpoints_one_live;"
	"CREATE UNIQUE INDEX endpoints_one_live ON endpoints(host, port)"
	"  WHERE ended_ms IS NULL AND edge_id IS NULL AND pooled = 0;"
	"CREATE TABLE usage_hours ("
	"  account_id  TEXT NOT NULL"
	"              REFERENCES accounts(id) ON DELETE CASCADE,"
	"  hostport    TEXT NOT NULL,"
	"  hour_ms     INTEGER NOT NULL,"
	"  connections INTEGER NOT NULL DEFAULT 0,"
	"  refused     INTEGER NOT NULL DEFAULT 0,"
	"  bytes_in    INTEGER NOT NULL DEFAULT 0,"
	"  bytes_out   INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (account_id, hostport, hour_ms)"
	");"
	"CREATE INDEX usage_hours_hour ON usage_hours(hour_ms);",
};

#define STORE_NMIGRATIONS                                                      \
	(sizeof(store_migrations) / sizeof(store_migrations[0]))
_Static_assert(STORE_NMIGRATIONS == STORE_SCHEMA_VERSION + 1,
    "one migration per schema version");

/* Where the session enders of store_end_live() look, by ?1. */
#define STORE_END_SQL(cond)                                                    \
	{                                                                      \
		"SELECT pid FROM sessions"                                     \
		" WHERE " cond " AND ended_ms IS NULL"                         \
		" GROUP BY pid ORDER BY min(started_ms), pid",                 \
		    "UPDATE endpoints SET ended_ms = ?2"                       \
		    " WHERE ended_ms IS NULL AND session_id IN"                \
		    " (SELECT id FROM sessions"                                \
		    "  WHERE " cond " AND ended_ms IS NULL)",                  \
		    "UPDATE sessions SET ended_ms = ?2, end_reason = ?3"       \
		    " WHERE " cond " AND ended_ms IS NULL",                    \
	}

/* Milliseconds since the epoch, from the realtime clock. */
int64_t
store_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal_f("clock_gettime failed");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Predicate: the error of <sql> in store->errmsg is news for the log. */
static int
store_log_again(struct store *store, const char *sql)
{
	char what[sizeof(store->logged)];
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(what, sizeof(what), "%.40s: %s", sql, store->errmsg);
	if (strcmp(what, store->logged) == 0 && now - store->logged_ms < 60000)
		return 0;
	memcpy(store->logged, what, sizeof(what));
	store->logged_ms = now;
	return 1;
}

/*
 * Keep the driver's message for <r> (from a db_* call on <sql>) for
 * store_errmsg() and log it; returns the PORTHOLE_ERR_* to pass on.
 * A step that gave DB_ROW or DB_DONE where the other was expected is
 * PORTHOLE_ERR_STORE.
 */
int
store_error(struct store *store, int r, const char *sql)
{
	if (r >= 0) {
		snprintf(store->errmsg, sizeof(store->errmsg), "unexpected %s",
		    r == DB_ROW ? "row" : "end of rows");
		r = PORTHOLE_ERR_STORE;
	} else
		snprintf(store->errmsg, sizeof(store->errmsg), "%s",
		    db_errmsg(store->db));
	if (r == PORTHOLE_ERR_UNAVAILABLE && !store->lost) {
		error("Database: connection lost (%s); trying again",
		    store->errmsg);
		store->lost = 1;
		store->outages++;
		store->retry_ms = misc_monotonic_ms() + STORE_RETRY_MIN_MS;
		store->retry_gap_ms = STORE_RETRY_MIN_MS;
	}
	/*
	 * Busy and constraint outcomes are the caller's to report. The same
	 * failure over and over (a full disk, say) is logged once a minute.
	 */
	if (r == PORTHOLE_ERR_STORE && store_log_again(store, sql))
		error("store: \"%.40s\": %s", sql, store->errmsg);
	else
		debug("store: \"%.40s\": %s", sql, store->errmsg);
	return r;
}

/*
 * Before a transaction or a statement outside one: a lost connection
 * is tried again once its time has come (a gap that doubles up to
 * STORE_RETRY_MAX_MS while the server stays away, since connecting
 * can block for as long as the URI's connect_timeout); until then,
 * _UNAVAILABLE at once.
 */
static int
store_ready(struct store *store)
{
	int64_t now;
	int r;

	if (!store->lost || db_in_transaction(store->db))
		return 0;
	now = misc_monotonic_ms();
	if (now < store->retry_ms) {
		snprintf(store->errmsg, sizeof(store->errmsg),
		    "the database cannot be reached");
		return PORTHOLE_ERR_UNAVAILABLE;
	}
	if ((r = db_reconnect(store->db)) != 0) {
		snprintf(store->errmsg, sizeof(store->errmsg), "%s",
		    db_errmsg(store->db));
		debug("Database: still unreachable (%s)", store->errmsg);
		store->retry_gap_ms *= 2;
		if (store->retry_gap_ms > STORE_RETRY_MAX_MS)
			store->retry_gap_ms = STORE_RETRY_MAX_MS;
		store->retry_ms = misc_monotonic_ms() + store->retry_gap_ms;
		return PORTHOLE_ERR_UNAVAILABLE;
	}
	store->lost = 0;
	logit("Database: connected again");
	return 0;
}

uint64_t
store_outages(const struct store *store)
{
	return store->outages;
}

/* Set a reason of our own for store_errmsg() and log it. */
int
store_fail(struct store *store, const char *reason)
{
	snprintf(store->errmsg, sizeof(store->errmsg), "%s", reason);
	error("store: %s", store->errmsg);
	return PORTHOLE_ERR_STORE;
}

/*
 * Bind the parameters ?1, ?2, … of <stmt> (compiled from <sql>) from
 * <ap>, as for store_prepare().
 */
static int
store_bindv(struct store *store, struct db_stmt *stmt, const char *sql,
    const char *types, va_list ap)
{
	const void *blob;
	size_t bloblen;
	int r = PORTHOLE_ERR_INTERNAL, i;

	for (i = 0; types[i] != '\0'; i++) {
		switch (types[i]) {
		case 't':
			r = db_bind_text(stmt, i + 1, va_arg(ap, const char *));
			break;
		case 'i':
			r = db_bind_int64(stmt, i + 1, va_arg(ap, int));
			break;
		case 'I':
			r = db_bind_int64(stmt, i + 1, va_arg(ap, int64_t));
			break;
		case 'b':
			blob = va_arg(ap, const void *);
			bloblen = va_arg(ap, size_t);
			r = db_bind_blob(stmt, i + 1, blob, bloblen);
			break;
		default:
			fatal_f("bad parameter type '%c'", types[i]);
		}
		if (r != 0) {
			r = store_error(store, r, sql);
			goto out;
		}
	}
	r = 0;
out:
	return r;
}

/* store_prepare() with a va_list. */
static int
store_preparev(struct store *store, struct db_stmt **stmtp, const char *sql,
    const char *types, va_list ap)
{
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*stmtp = NULL;
	if ((r = store_ready(store)) != 0)
		goto out;
	if ((r = db_prepare(store->db, sql, &stmt)) != 0) {
		r = store_error(store, r, sql);
		goto out;
	}
	if ((r = store_bindv(store, stmt, sql, types, ap)) != 0)
		goto out;
	/* Ownership passes to the caller, who finalizes it. */
	*stmtp = stmt;
	stmt = NULL;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Compile <sql> into *stmtp and bind its parameters ?1, ?2, … from the
 * arguments, one letter of <types> for each: 't' const char * (NULL
 * binds SQL NULL; the string must outlive the statement), 'i' int,
 * 'I' int64_t, 'b' a blob given as two arguments, const void * and
 * size_t (it too must outlive the statement).
 */
int
store_prepare(struct store *store, struct db_stmt **stmtp, const char *sql,
    const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = store_preparev(store, stmtp, sql, types, ap);
	va_end(ap);
	return r;
}

/* Step <stmt> (from <sql>), which must return no rows, to its end. */
int
store_step_done(struct store *store, struct db_stmt *stmt, const char *sql)
{
	int rc;

	if ((rc = db_step(stmt)) != DB_DONE)
		return store_error(store, rc, sql);
	return 0;
}

/* store_run() with a va_list. */
static int
store_runv(struct store *store, int *changesp, const char *sql,
    const char *types, va_list ap)
{
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (changesp != NULL)
		*changesp = 0;
	if ((r = store_preparev(store, &stmt, sql, types, ap)) != 0 ||
	    (r = store_step_done(store, stmt, sql)) != 0)
		goto out;
	if (changesp != NULL)
		*changesp = (int)db_changes(store->db);
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Run <sql>, which returns no rows, with parameters as for
 * store_prepare(); stores the number of rows it changed in *changesp
 * (may be NULL).
 */
int
store_run(struct store *store, int *changesp, const char *sql,
    const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = store_runv(store, changesp, sql, types, ap);
	va_end(ap);
	return r;
}

/*
 * Run <stmt>, compiled once from <sql> and returning no rows, with new
 * parameters as for store_prepare(), then reset it for the next run.
 * A batch prepares once and reruns, rather than compiling each time.
 */
int
store_rerun(struct store *store, struct db_stmt *stmt, const char *sql,
    const char *types, ...)
{
	va_list ap;
	int r = PORTHOLE_ERR_INTERNAL;

	va_start(ap, types);
	r = store_bindv(store, stmt, sql, types, ap);
	va_end(ap);
	if (r != 0 || (r = store_step_done(store, stmt, sql)) != 0)
		goto out;
	r = 0;
out:
	/* Ready for the next run, and rid of the caller's strings. */
	db_reset(stmt);
	return r;
}

/* Start a write transaction, taking the write lock now, not on demand. */
int
store_begin(struct store *store)
{
	int r;

	if ((r = store_ready(store)) != 0)
		return r;
	if ((r = db_begin(store->db, 1)) != 0)
		return store_error(store, r, "BEGIN (write)");
	return 0;
}

/*
 * Start a read transaction, so that what several statements read comes
 * from one state of the database.
 */
int
store_begin_read(struct store *store)
{
	int r;

	if ((r = store_ready(store)) != 0)
		return r;
	if ((r = db_begin(store->db, 0)) != 0)
		return store_error(store, r, "BEGIN (read)");
	return 0;
}

/* Commit the open transaction. */
int
store_commit(struct store *store)
{
	int r;

	if ((r = db_commit(store->db)) != 0)
		return store_error(store, r, "COMMIT");
	return 0;
}

/*
 * Roll back the open transaction, if any; store->errmsg keeps the error
 * that caused it.
 */
void
store_rollback(struct store *store)
{
	db_rollback(store->db);
}

/*
 * store_run() in a write transaction of its own: for an insert that
 * numbers its row from the table's others (seq), which no other writer
 * may do at the same time.
 */
int
store_run_locked(struct store *store, int *changesp, const char *sql,
    const char *types, ...)
{
	va_list ap;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_begin(store)) != 0)
		goto out;
	va_start(ap, types);
	r = store_runv(store, changesp, sql, types, ap);
	va_end(ap);
	if (r != 0 || (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

int
store_hashed_row(struct store *store, const char *sql,
    const unsigned char *hash, size_t hashlen, int hashcol,
    unsigned char *stored_hash, const char *what, struct db_stmt **stmtp)
{
	struct db_stmt *stmt = NULL;
	const void *blob;
	size_t bloblen;
	char reason[64];
	int r = PORTHOLE_ERR_INTERNAL, rc;

	*stmtp = NULL;
	if (hash == NULL || hashlen != TOKEN_HASH_LEN)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	if ((r = store_prepare(store, &stmt, sql, "b", (const void *)hash,
	         hashlen)) != 0)
		goto out;
	if ((rc = db_step(stmt)) == DB_DONE) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	} else if (rc != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	if (stored_hash != NULL) {
		blob = db_column_blob(stmt, hashcol, &bloblen);
		if (blob == NULL || bloblen != TOKEN_HASH_LEN) {
			snprintf(reason, sizeof(reason),
			    "%s hash of the wrong length", what);
			r = store_fail(store, reason);
			goto out;
		}
		memcpy(stored_hash, blob, TOKEN_HASH_LEN);
	}
	/* Now the caller's. */
	*stmtp = stmt;
	stmt = NULL;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * store_run() of <sql>, an UPDATE or DELETE of one row by its key:
 * _NOT_FOUND if it changed none.
 */
int
store_change(struct store *store, const char *sql, const char *types, ...)
{
	va_list ap;
	int r = PORTHOLE_ERR_INTERNAL, n;

	va_start(ap, types);
	r = store_runv(store, &n, sql, types, ap);
	va_end(ap);
	if (r != 0)
		goto out;
	r = n == 0 ? PORTHOLE_ERR_NOT_FOUND : 0;
out:
	return r;
}

/* Integer column <i> of the current row as an int (NULL reads as 0). */
int
store_column_int(struct db_stmt *stmt, int i)
{
	return (int)db_column_int64(stmt, i);
}

/* A copy of text column <i> of the current row, or NULL for SQL NULL. */
char *
store_column_text(struct db_stmt *stmt, int i)
{
	const char *s;

	if ((s = db_column_text(stmt, i)) == NULL)
		return NULL;
	/* Copied now: the column's memory is gone after the next step. */
	return xstrdup(s);
}

/* Make room for one more element in <list> of <n>, growing *capp. */
static void *
store_list_grow(void *list, size_t n, size_t *capp, size_t size)
{
	if (n < *capp)
		return list;
	*capp = *capp == 0 ? 16 : *capp * 2;
	return xreallocarray(list, *capp, size);
}

/*
 * The one row of <sql> (parameters as for store_prepare()) made into the
 * element at <slot> by rows->from_row; _NOT_FOUND if there is no row.
 * Should there be several, the first counts.
 */
int
store_get(struct store *store, const struct store_rows *rows, void *slot,
    const char *sql, const char *types, ...)
{
	struct db_stmt *stmt = NULL;
	va_list ap;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	va_start(ap, types);
	r = store_preparev(store, &stmt, sql, types, ap);
	va_end(ap);
	if (r != 0)
		goto out;
	if ((rc = db_step(stmt)) == DB_DONE) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	} else if (rc != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	/* Ownership of what the row is made into passes to the caller. */
	rows->from_row(stmt, slot);
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Every row of <stmt>, compiled from <sql> and bound, made into a new
 * list in *listp and *np as store_list() does. The caller finalizes
 * <stmt>.
 */
int
store_collect(struct store *store, const struct store_rows *rows,
    struct db_stmt *stmt, const char *sql, void **listp, size_t *np)
{
	char *list = NULL;
	size_t n = 0, cap = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	*listp = NULL;
	*np = 0;
	while ((rc = db_step(stmt)) == DB_ROW) {
		list = store_list_grow(list, n, &cap, rows->size);
		rows->from_row(stmt, list + n * rows->size);
		n++;
	}
	if (rc != DB_DONE) {
		r = store_error(store, rc, sql);
		goto out;
	}
	/* Ownership passes to the caller. */
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;
	r = 0;
out:
	if (list != NULL)
		rows->list_free(list, n);
	return r;
}

/* store_list() with a va_list. */
static int
store_listv(struct store *store, const struct store_rows *rows, void **listp,
    size_t *np, const char *sql, const char *types, va_list ap)
{
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_preparev(store, &stmt, sql, types, ap)) != 0 ||
	    (r = store_collect(store, rows, stmt, sql, listp, np)) != 0)
		goto out;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Every row of <sql> (parameters as for store_prepare()), each made by
 * rows->from_row into one element of a new array in *listp, of *np
 * elements. No rows is a NULL list with *np = 0. On error nothing is
 * returned and whatever was made is freed.
 */
int
store_list(struct store *store, const struct store_rows *rows, void **listp,
    size_t *np, const char *sql, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = store_listv(store, rows, listp, np, sql, types, ap);
	va_end(ap);
	return r;
}

/*
 * Of the <*np> rows of <list> read for a page of <limit>, drop the one
 * past the limit, if read, and say so in *morep.
 */
void
store_page_cut(const struct store_rows *rows, void *list, size_t *np,
    size_t limit, int *morep)
{
	void *extra;

	*morep = 0;
	if (*np <= limit)
		return;
	/* The extra row goes to a list of its own, to be freed. */
	extra = xcalloc(1, rows->size);
	memcpy(extra, (char *)list + limit * rows->size, rows->size);
	rows->list_free(extra, 1);
	*np = limit;
	*morep = 1;
}

/*
 * A keyset page: store_list() of <sql>, which takes ?1 an account id
 * (NULL: any), ?2 the id of the row the page starts after (NULL: from
 * the newest) and ?3 the number of rows to read, and orders newest
 * first. One row more than <limit> is read to tell whether more follow
 * (*morep); it is dropped.
 */
int
store_page(struct store *store, const struct store_rows *rows, const char *sql,
    const char *account_id, const char *before_id, size_t limit, void **listp,
    size_t *np, int *morep)
{
	void *list = NULL;
	size_t n = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (morep != NULL)
		*morep = 0;
	if (listp == NULL || np == NULL || morep == NULL || limit == 0 ||
	    limit > STORE_PAGE_MAX) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_list(store, rows, &list, &n, sql, "ttI", account_id,
	         before_id, (int64_t)limit + 1)) != 0)
		goto out;
	store_page_cut(rows, list, &n, limit, morep);
	/* Ownership passes to the caller. */
	*listp = list;
	*np = n;
	list = NULL;
	r = 0;
out:
	return r;
}

/*
 * store_list() of <sql_all>, or with <account> (a name or an id;
 * _NOT_FOUND if there is no such account) of <sql_one>, which takes
 * the account's id as ?1.
 */
int
store_list_account(struct store *store, const struct store_rows *rows,
    const char *account, const char *sql_all, const char *sql_one, void **listp,
    size_t *np)
{
	struct store_account *a = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (account == NULL)
		r = store_list(store, rows, listp, np, sql_all, "");
	else if ((r = store_account_get(store, account, &a)) == 0)
		r = store_list(store, rows, listp, np, sql_one, "t", a->id);
out:
	/* store_list() has finalized its statement, bound to a->id. */
	store_account_free(a);
	return r;
}

/* A flat list (of int64_t, say) needs only the array freed. */
static void
store_flat_list_free(void *list, size_t n)
{
	free(list);
}

/* A pid from column 0 of the current row. */
static void
store_pid_from_row(struct db_stmt *stmt, void *slot)
{
	*(int64_t *)slot = db_column_int64(stmt, 0);
}

static const struct store_rows store_pid_rows = { sizeof(int64_t),
	store_pid_from_row, store_flat_list_free };

/* Column 0 as an int64_t (a count, a sum). */
const struct store_rows store_int64_rows = { sizeof(int64_t),
	store_pid_from_row, store_flat_list_free };

const struct store_end_sql store_end_by_session = STORE_END_SQL("id = ?1");
const struct store_end_sql store_end_by_account =
    STORE_END_SQL("account_id = ?1");
const struct store_end_sql store_end_by_credential =
    STORE_END_SQL("credential = ?1");

/*
 * Inside the caller's transaction, end with <reason> at <now_ms> the
 * live sessions that <q> selects by <key>, and their live endpoints.
 * The pids of those sessions, each once, in the order the sessions
 * started, go to *pidsp (the caller frees it) and *npidsp; the number
 * of sessions ended goes to *np.
 */
int
store_end_live(struct store *store, const struct store_end_sql *q,
    const char *key, const char *reason, int64_t now_ms, int64_t **pidsp,
    size_t *npidsp, int *np)
{
	void *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL, n;

	*pidsp = NULL;
	*npidsp = 0;
	*np = 0;
	/* Pids first: the updates make these sessions no longer live. */
	if ((r = store_list(store, &store_pid_rows, &pids, &npids, q->pids, "t",
	         key)) != 0 ||
	    (r = store_run(store, NULL, q->endpoints, "tI", key, now_ms)) !=
	        0 ||
	    (r = store_run(store, &n, q->sessions, "tIt", key, now_ms,
	         reason)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*pidsp = pids;
	*npidsp = npids;
	*np = n;
	pids = NULL;
	r = 0;
out:
	free(pids);
	return r;
}

/*
 * Withdraw a credential in one write transaction: run <sql> (one row,
 * parameters as for store_prepare(); _NOT_FOUND if it changes none),
 * then end the live sessions that logged in with credential <cred>,
 * with <reason>, handing their pids over as store_pids_give() does;
 * the number of sessions ended goes to *endedp.
 */
int
store_withdraw(struct store *store, const char *cred, const char *reason,
    int64_t now_ms, int64_t **pidsp, size_t *npidsp, int *endedp,
    const char *sql, const char *types, ...)
{
	int64_t *pids = NULL;
	size_t npids = 0;
	va_list ap;
	int r = PORTHOLE_ERR_INTERNAL, n;

	*endedp = 0;
	if ((r = store_begin(store)) != 0)
		goto out;
	va_start(ap, types);
	r = store_runv(store, &n, sql, types, ap);
	va_end(ap);
	if (r != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_end_live(store, &store_end_by_credential, cred, reason,
	         now_ms, &pids, &npids, endedp)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	store_pids_give(&pids, npids, pidsp, npidsp);
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	return r;
}

/*
 * Hand the pids of the sessions just ended (*pidsp, *npidsp, either
 * may be NULL) to the caller, who signals them: *pids becomes the
 * caller's if it asked for them, and NULL here.
 */
void
store_pids_give(int64_t **pids, size_t npids, int64_t **pidsp, size_t *npidsp)
{
	if (npidsp != NULL)
		*npidsp = npids;
	if (pidsp != NULL) {
		/* Ownership passes to the caller. */
		*pidsp = *pids;
		*pids = NULL;
	}
}

/* Refuse schema <version> if it is newer than this program knows. */
static int
store_version_known(struct store *store, int version)
{
	char reason[128];

	if (version <= STORE_SCHEMA_VERSION)
		return 0;
	snprintf(reason, sizeof(reason),
	    "schema version %d is newer than this program's %d", version,
	    STORE_SCHEMA_VERSION);
	return store_fail(store, reason);
}

/*
 * Bring the schema forward to STORE_SCHEMA_VERSION, one version per
 * transaction. The version is read again under the write lock, since
 * another process may have migrated the database meanwhile.
 */
static int
store_migrate(struct store *store)
{
	const char *script;
	int r = PORTHOLE_ERR_INTERNAL, version;

	for (;;) {
		if ((r = store_begin(store)) != 0 ||
		    (r = store_schema_version(store, &version)) != 0)
			goto out;
		if (version >= STORE_SCHEMA_VERSION)
			break;
		/* Scripts hold several statements: db_exec runs all. */
		script = store_migrations[version + 1];
		if ((r = db_exec(store->db, script)) != 0) {
			r = store_error(store, r, script);
			goto out;
		}
		if ((r = db_set_schema_version(store->db, version + 1)) != 0) {
			r = store_error(store, r, "set schema version");
			goto out;
		}
		if ((r = store_commit(store)) != 0)
			goto out;
		debug_f("schema migrated to version %d", version + 1);
	}
	if ((r = store_version_known(store, version)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

/* Open the database at <path>, set it up and migrate the schema. */
int
store_open(const char *path, struct store **storep, char *errbuf, size_t errlen)
{
	struct store *store = NULL;
	char shown[256];
	int r = PORTHOLE_ERR_INTERNAL, version;

	if (storep != NULL)
		*storep = NULL;
	if (errbuf != NULL && errlen > 0)
		*errbuf = '\0';
	if (path == NULL || storep == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	store = xcalloc(1, sizeof(*store));
	if ((r = db_open(path, &store->db, store->errmsg,
	         sizeof(store->errmsg))) != 0) {
		error("store: open: %s", store->errmsg);
		goto out;
	}
	if ((r = store_set_busy_timeout(store, STORE_BUSY_TIMEOUT_MS)) != 0) {
		r = store_error(store, r, "busy timeout");
		goto out;
	}
	/* Refuse a newer schema before changing anything in the database. */
	if ((r = store_schema_version(store, &version)) != 0 ||
	    (r = store_version_known(store, version)) != 0)
		goto out;
	if ((r = db_setup(store->db)) != 0) {
		r = store_error(store, r, "setup");
		goto out;
	}
	if (version < STORE_SCHEMA_VERSION && (r = store_migrate(store)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*storep = store;
	store = NULL;
	r = 0;
out:
	if (r != 0 && errbuf != NULL && errlen > 0) {
		db_target_print(path != NULL ? path : "(null)", shown,
		    sizeof(shown));
		snprintf(errbuf, errlen, "%s: %s", shown,
		    store != NULL ? store->errmsg : porthole_strerror(r));
	}
	store_free(store);
	return r;
}

/* Close the connection and free <store>; NULL is a no-op. */
void
store_free(struct store *store)
{
	if (store == NULL)
		return;
	/* Every statement is finalized where it was prepared. */
	db_close(store->db);
	free(store);
}

/* Set how long calls wait for another connection's lock. */
int
store_set_busy_timeout(struct store *store, int ms)
{
	if (store == NULL || ms < 0)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return db_set_busy_timeout(store->db, ms);
}

/* The schema version of the open database. */
int
store_schema_version(struct store *store, int *versionp)
{
	int r;

	if ((r = db_schema_version(store->db, versionp)) != 0)
		return store_error(store, r, "schema version");
	return 0;
}

/* The last error message of this connection (borrowed). */
const char *
store_errmsg(struct store *store)
{
	if (store == NULL)
		return "no store";
	if (store->errmsg[0] != '\0')
		return store->errmsg;
	return db_errmsg(store->db);
}
