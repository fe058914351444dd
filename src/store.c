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
 * The schema scripts 1-5 are history and stay as shipped; later ones
 * follow the same rules.
 */

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acl.h"
#include "db.h"
#include "err.h"
#include "event.h"
#include "id.h"
#include "log.h"
#include "net.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

#define STORE_ACCOUNT_NAME_MAX 64
#define STORE_LIMIT_MAX        100000 /* per-account limits */

struct store {
	struct db *db;
	char errmsg[256]; /* copy of the last error message */
	char logged[320]; /* the last error logged, and when (monotonic) */
	int64_t logged_ms;
};

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
	"  user        TEXT NOT NULL DEFAULT '',"
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
};

#define STORE_NMIGRATIONS                                                      \
	(sizeof(store_migrations) / sizeof(store_migrations[0]))
_Static_assert(STORE_NMIGRATIONS == STORE_SCHEMA_VERSION + 1,
    "one migration per schema version");

/* The columns each *_from_row() function reads, in its order. */
#define STORE_ACCOUNT_SELECT                                                   \
	"SELECT a.id, a.name, a.disabled, a.created_ms, a.description,"        \
	" a.max_sessions, a.max_endpoints,"                                    \
	" (SELECT count(*) FROM keys k WHERE k.account_id = a.id),"            \
	" (SELECT count(*) FROM tokens t"                                      \
	"  WHERE t.account_id = a.id AND t.revoked_ms IS NULL),"               \
	" (SELECT count(*) FROM addresses r"                                   \
	"  WHERE r.account_id = a.id AND r.deleted_ms IS NULL),"               \
	" (SELECT count(*) FROM sessions s"                                    \
	"  WHERE s.account_id = a.id AND s.ended_ms IS NULL),"                 \
	" a.ip_policy_id, p.name"                                              \
	" FROM accounts a LEFT JOIN ip_policies p ON p.id = a.ip_policy_id"

#define STORE_KEY_SELECT                                                       \
	"SELECT k.fingerprint, k.account_id, a.name, a.disabled,"              \
	" k.type, k.blob, k.comment, k.created_ms"                             \
	" FROM keys k JOIN accounts a ON a.id = k.account_id"

#define STORE_SESSION_SELECT                                                   \
	"SELECT s.id, s.account_id, a.name, s.pid, s.client_ip,"               \
	" s.client_port, s.\"user\", s.credential, s.started_ms, s.ended_ms,"  \
	" s.end_reason,"                                                       \
	" (SELECT count(*) FROM endpoints e"                                   \
	"  WHERE e.session_id = s.id AND e.ended_ms IS NULL),"                 \
	" s.conns_open, s.conns_total, s.bytes_in, s.bytes_out"                \
	" FROM sessions s JOIN accounts a ON a.id = s.account_id"

#define STORE_ENDPOINT_SELECT                                                  \
	"SELECT e.id, e.session_id, e.account_id, a.name, e.host, e.port,"     \
	" e.bind_address, e.metadata, e.address_id, e.started_ms, e.ended_ms," \
	" e.edge_id, e.conns_open, e.conns_total, e.bytes_in, e.bytes_out"     \
	" FROM endpoints e JOIN accounts a ON a.id = e.account_id"

/*
 * An address's account is gone (NULL) once the account is deleted, or
 * was never there for an edge's own address.
 */
#define STORE_ADDRESS_SELECT                                                   \
	"SELECT r.id, r.account_id, a.name, r.host, r.port, r.description,"    \
	" r.metadata, r.created_ms, r.deleted_ms,"                             \
	" (SELECT e.id FROM endpoints e"                                       \
	"  WHERE e.address_id = r.id AND e.ended_ms IS NULL"                   \
	"  ORDER BY e.started_ms, e.seq LIMIT 1),"                             \
	" r.proxy_proto, r.ip_policy_id, p.name, x.edge_id"                    \
	" FROM addresses r LEFT JOIN accounts a ON a.id = r.account_id"        \
	" LEFT JOIN ip_policies p ON p.id = r.ip_policy_id"                    \
	" LEFT JOIN edge_addresses x ON x.address_id = r.id"

#define STORE_TOKEN_SELECT                                                     \
	"SELECT t.id, t.account_id, a.name, a.disabled, t.description,"        \
	" t.created_ms, t.last_used_ms, t.revoked_ms, t.hash"                  \
	" FROM tokens t JOIN accounts a ON a.id = t.account_id"

/* Attachments count reserved addresses, not tombstones. */
#define STORE_IP_POLICY_SELECT                                                 \
	"SELECT p.id, p.name, p.description, p.created_ms,"                    \
	" (SELECT count(*) FROM accounts a WHERE a.ip_policy_id = p.id),"      \
	" (SELECT count(*) FROM addresses r"                                   \
	"  WHERE r.ip_policy_id = p.id AND r.deleted_ms IS NULL),"             \
	" (SELECT count(*) FROM edges d WHERE d.ip_policy_id = p.id)"          \
	" FROM ip_policies p"

#define STORE_EDGE_SELECT                                                      \
	"SELECT d.id, d.description, d.ip_policy_id, p.name, d.proxy_proto,"   \
	" d.created_ms"                                                        \
	" FROM edges d LEFT JOIN ip_policies p ON p.id = d.ip_policy_id"

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

/* store_event_cap() deletes at most this many events per transaction. */
#define STORE_EVENT_CAP_BATCH 1000

/* Affinity hands out at most this many addresses. */
#define STORE_AFFINITY_MAX 64

/*
 * How rows of one type become C values: <from_row> fills the element
 * at <slot> (a pointer, or for flat lists the value itself) from the
 * current row; a list of them is an array of <size>-byte elements,
 * freed with <list_free>.
 */
struct store_rows {
	size_t size;
	void (*from_row)(struct db_stmt *stmt, void *slot);
	void (*list_free)(void *list, size_t n);
};

/* Three statements that end live sessions, each selected by ?1. */
struct store_end_sql {
	const char *pids; /* ?1 */
	const char *endpoints; /* ?1, ?2 now */
	const char *sessions; /* ?1, ?2 now, ?3 reason */
};

/* Milliseconds since the epoch, from the realtime clock. */
static int64_t
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
static int
store_error(struct store *store, int r, const char *sql)
{
	if (r >= 0) {
		snprintf(store->errmsg, sizeof(store->errmsg), "unexpected %s",
		    r == DB_ROW ? "row" : "end of rows");
		r = PORTHOLE_ERR_STORE;
	} else
		snprintf(store->errmsg, sizeof(store->errmsg), "%s",
		    db_errmsg(store->db));
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

/* Set a reason of our own for store_errmsg() and log it. */
static int
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
static int
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
static int
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
static int
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
static int
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
static int
store_begin(struct store *store)
{
	int r;

	if ((r = db_begin(store->db, 1)) != 0)
		return store_error(store, r, "BEGIN (write)");
	return 0;
}

/*
 * Start a read transaction, so that what several statements read comes
 * from one state of the database.
 */
static int
store_begin_read(struct store *store)
{
	int r;

	if ((r = db_begin(store->db, 0)) != 0)
		return store_error(store, r, "BEGIN (read)");
	return 0;
}

/* Commit the open transaction. */
static int
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
static void
store_rollback(struct store *store)
{
	db_rollback(store->db);
}

/*
 * store_run() in a write transaction of its own: for an insert that
 * numbers its row from the table's others (seq), which no other writer
 * may do at the same time.
 */
static int
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

/*
 * store_run() of <sql>, an UPDATE or DELETE of one row by its key:
 * _NOT_FOUND if it changed none.
 */
static int
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
static int
store_column_int(struct db_stmt *stmt, int i)
{
	return (int)db_column_int64(stmt, i);
}

/* A copy of text column <i> of the current row, or NULL for SQL NULL. */
static char *
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
static int
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
static int
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
static int
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
 * store_list() of <sql_all>, or with <account> (a name or an id;
 * _NOT_FOUND if there is no such account) of <sql_one>, which takes
 * the account's id as ?1.
 */
static int
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

static const struct store_end_sql store_end_by_session =
    STORE_END_SQL("id = ?1");
static const struct store_end_sql store_end_by_account =
    STORE_END_SQL("account_id = ?1");
static const struct store_end_sql store_end_by_credential =
    STORE_END_SQL("credential = ?1");

/*
 * Inside the caller's transaction, end with <reason> at <now_ms> the
 * live sessions that <q> selects by <key>, and their live endpoints.
 * The pids of those sessions, each once, in the order the sessions
 * started, go to *pidsp (the caller frees it) and *npidsp; the number
 * of sessions ended goes to *np.
 */
static int
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
 * Hand the pids of the sessions just ended (*pidsp, *npidsp, either
 * may be NULL) to the caller, who signals them: *pids becomes the
 * caller's if it asked for them, and NULL here.
 */
static void
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
		snprintf(errbuf, errlen, "%s: %s",
		    path != NULL ? path : "(null)",
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

/* Accounts. */

/* Predicate: <name> is 1-64 of [A-Za-z0-9._-], not starting with '-'. */
int
store_account_name_valid(const char *name)
{
	size_t i;
	char c;

	if (name == NULL || name[0] == '\0' || name[0] == '-')
		return 0;
	for (i = 0; (c = name[i]) != '\0'; i++) {
		if (i >= STORE_ACCOUNT_NAME_MAX)
			return 0;
		if ((c < 'A' || c > 'Z') && (c < 'a' || c > 'z') &&
		    (c < '0' || c > '9') && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

/* A new account at <slot> from the current row (STORE_ACCOUNT_SELECT). */
static void
store_account_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_account *a;

	a = xcalloc(1, sizeof(*a));
	a->id = store_column_text(stmt, 0);
	a->name = store_column_text(stmt, 1);
	a->disabled = store_column_int(stmt, 2) != 0;
	a->created_ms = db_column_int64(stmt, 3);
	a->description = store_column_text(stmt, 4);
	a->max_sessions = store_column_int(stmt, 5);
	a->max_endpoints = store_column_int(stmt, 6);
	a->nkeys = store_column_int(stmt, 7);
	a->ntokens = store_column_int(stmt, 8);
	a->naddresses = store_column_int(stmt, 9);
	a->nsessions = store_column_int(stmt, 10);
	a->ip_policy_id = store_column_text(stmt, 11);
	a->ip_policy_name = store_column_text(stmt, 12);
	*(struct store_account **)slot = a;
}

static void
store_account_list_vfree(void *list, size_t n)
{
	store_account_list_free(list, n);
}

static const struct store_rows store_account_rows = {
	sizeof(struct store_account *), store_account_from_row,
	store_account_list_vfree
};

/* Add account <name> with a new "ac_" id; *accountp may be NULL. */
int
store_account_add(struct store *store, const char *name,
    struct store_account **accountp)
{
	static const char sql[] = "INSERT INTO accounts (id, name, created_ms)"
	                          " VALUES (?1, ?2, ?3)";
	struct store_account *a = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (accountp != NULL)
		*accountp = NULL;
	if (!store_account_name_valid(name)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	a = xcalloc(1, sizeof(*a));
	a->id = id_new("ac");
	a->name = xstrdup(name);
	a->description = xstrdup("");
	a->created_ms = store_now_ms();
	if ((r = store_run(store, NULL, sql, "ttI", a->id, a->name,
	         a->created_ms)) != 0)
		goto out;
	if (accountp != NULL) {
		/* Ownership passes to the caller. */
		*accountp = a;
		a = NULL;
	}
	r = 0;
out:
	store_account_free(a);
	return r;
}

/*
 * Find an account by id or by name. Should a name look like another
 * account's id, the id wins.
 */
int
store_account_get(struct store *store, const char *name_or_id,
    struct store_account **accountp)
{
	static const char sql[] = STORE_ACCOUNT_SELECT
	    " WHERE a.id = ?1 OR a.name = ?1"
	    " ORDER BY CASE WHEN a.id = ?1 THEN 0 ELSE 1 END LIMIT 1";

	if (accountp != NULL)
		*accountp = NULL;
	if (name_or_id == NULL || accountp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_account_rows, accountp, sql, "t",
	    name_or_id);
}

/* All accounts, by name. An empty list is NULL with *np = 0. */
int
store_account_list(struct store *store, struct store_account ***listp,
    size_t *np)
{
	static const char sql[] = STORE_ACCOUNT_SELECT " ORDER BY a.name";
	void *list = NULL;
	int r;

	r = store_list(store, &store_account_rows, listp != NULL ? &list : NULL,
	    np, sql, "");
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Free <a>; NULL is a no-op. */
void
store_account_free(struct store_account *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->name);
	free(a->description);
	free(a->ip_policy_id);
	free(a->ip_policy_name);
	free(a);
}

/* Free the <n> accounts of <list> and the list itself. */
void
store_account_list_free(struct store_account **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_account_free(list[i]);
	free(list);
}

/* Set the description of account <id>; _NOT_FOUND if there is none. */
int
store_account_set_description(struct store *store, const char *id,
    const char *description)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || description == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE accounts SET description = ?2 WHERE id = ?1", "tt", id,
	    description);
out:
	return r;
}

/* Set the limits of account <id>; a negative one is left as it is. */
int
store_account_set_limits(struct store *store, const char *id, int max_sessions,
    int max_endpoints)
{
	static const char sql[] =
	    "UPDATE accounts SET"
	    " max_sessions = CASE WHEN CAST(?2 AS BIGINT) < 0"
	    "  THEN max_sessions ELSE CAST(?2 AS BIGINT) END,"
	    " max_endpoints = CASE WHEN CAST(?3 AS BIGINT) < 0"
	    "  THEN max_endpoints ELSE CAST(?3 AS BIGINT) END"
	    " WHERE id = ?1";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL || max_sessions > STORE_LIMIT_MAX ||
	    max_endpoints > STORE_LIMIT_MAX) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store, sql, "tii", id, max_sessions, max_endpoints);
out:
	return r;
}

/*
 * Disable or enable account <id>, in one transaction with ending its
 * live sessions when disabling. Each pid is returned once, however
 * many of its sessions ended.
 */
int
store_account_set_disabled(struct store *store, const char *id, int disabled,
    int64_t now_ms, int64_t **pidsp, size_t *npidsp)
{
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL, n, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE accounts SET disabled = ?2 WHERE id = ?1", "ti", id,
	         disabled != 0)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if (disabled &&
	    (r = store_end_live(store, &store_end_by_account, id,
	         "account disabled", now_ms, &pids, &npids, &ended)) != 0)
		goto out;
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("account %.40s: %s, %d sessions ended", id,
	    disabled ? "disabled" : "enabled", ended);
	store_pids_give(&pids, npids, pidsp, npidsp);
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	return r;
}

/*
 * Delete account <id> and what is its alone, in one transaction. Its
 * reserved addresses stay, unowned, as tombstones (an address deleted
 * before keeps its time), so that their ports are never reused; those
 * on an edge leave it, since a tombstone serves nothing. Its places
 * as an edge's backend go by the cascade; the edges stay.
 */
int
store_account_delete(struct store *store, const char *id, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp)
{
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL, n, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* The cascades would remove keys and tokens; say it anyway. */
	if ((r = store_begin(store)) != 0 ||
	    (r = store_end_live(store, &store_end_by_account, id,
	         "account deleted", now_ms, &pids, &npids, &ended)) != 0 ||
	    (r = store_run(store, NULL,
	         "DELETE FROM edge_addresses WHERE address_id IN"
	         " (SELECT id FROM addresses WHERE account_id = ?1)",
	         "t", id)) != 0 ||
	    (r = store_run(store, NULL,
	         "UPDATE addresses SET account_id = NULL,"
	         " deleted_ms = coalesce(deleted_ms, ?2)"
	         " WHERE account_id = ?1",
	         "tI", id, now_ms)) != 0 ||
	    (r = store_run(store, NULL,
	         "DELETE FROM keys WHERE account_id = ?1", "t", id)) != 0 ||
	    (r = store_run(store, NULL,
	         "DELETE FROM tokens WHERE account_id = ?1", "t", id)) != 0 ||
	    (r = store_run(store, &n, "DELETE FROM accounts WHERE id = ?1", "t",
	         id)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("account %.40s: deleted, %d sessions ended", id, ended);
	store_pids_give(&pids, npids, pidsp, npidsp);
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	return r;
}

/* Keys. */

/* A new key at <slot> from the current row (STORE_KEY_SELECT). */
static void
store_key_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_key *k;

	k = xcalloc(1, sizeof(*k));
	k->fingerprint = store_column_text(stmt, 0);
	k->account_id = store_column_text(stmt, 1);
	k->account_name = store_column_text(stmt, 2);
	k->account_disabled = store_column_int(stmt, 3) != 0;
	k->type = store_column_text(stmt, 4);
	k->blob = store_column_text(stmt, 5);
	k->comment = store_column_text(stmt, 6);
	k->created_ms = db_column_int64(stmt, 7);
	*(struct store_key **)slot = k;
}

static void
store_key_list_vfree(void *list, size_t n)
{
	store_key_list_free(list, n);
}

static const struct store_rows store_key_rows = { sizeof(struct store_key *),
	store_key_from_row, store_key_list_vfree };

/*
 * Register key <fingerprint> to account <account_id> (an id, not a
 * name). A taken fingerprint is _EXISTS (the primary key), an unknown
 * account _NOT_FOUND (the foreign key). A NULL comment is stored as "".
 */
int
store_key_add(struct store *store, const char *account_id, const char *type,
    const char *blob, const char *fingerprint, const char *comment)
{
	static const char sql[] = "INSERT INTO keys (fingerprint, account_id,"
	                          " type, blob, comment, created_ms)"
	                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

	if (account_id == NULL || type == NULL || *type == '\0' ||
	    blob == NULL || *blob == '\0' || fingerprint == NULL ||
	    *fingerprint == '\0')
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run(store, NULL, sql, "tttttI", fingerprint, account_id,
	    type, blob, comment != NULL ? comment : "", store_now_ms());
}

/* Find key <fingerprint> with its account. */
int
store_key_get(struct store *store, const char *fingerprint,
    struct store_key **keyp)
{
	static const char sql[] = STORE_KEY_SELECT " WHERE k.fingerprint = ?1";

	if (keyp != NULL)
		*keyp = NULL;
	if (fingerprint == NULL || keyp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_key_rows, keyp, sql, "t", fingerprint);
}

/*
 * Keys of <account> (name or id; _NOT_FOUND if there is no such
 * account), or of every account when NULL; by account name, then age.
 */
int
store_key_list(struct store *store, const char *account,
    struct store_key ***listp, size_t *np)
{
	static const char sql_all[] =
	    STORE_KEY_SELECT " ORDER BY a.name, k.created_ms, k.fingerprint";
	static const char sql_one[] = STORE_KEY_SELECT
	    " WHERE k.account_id = ?1 ORDER BY k.created_ms, k.fingerprint";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_key_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/*
 * Delete key <fingerprint> and, in the same transaction, end the live
 * sessions that logged in with it (credential "key:<fingerprint>",
 * whichever account); _NOT_FOUND if it is not registered.
 */
int
store_key_delete(struct store *store, const char *fingerprint, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp)
{
	static const char sql[] = "DELETE FROM keys WHERE fingerprint = ?1";
	int64_t *pids = NULL;
	size_t npids = 0;
	char *cred = NULL;
	int r = PORTHOLE_ERR_INTERNAL, n, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (fingerprint == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	xasprintf(&cred, "key:%s", fingerprint);
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &n, sql, "t", fingerprint)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_end_live(store, &store_end_by_credential, cred,
	         "key deleted", now_ms, &pids, &npids, &ended)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	debug_f("key %.60s: deleted, %d sessions ended", fingerprint, ended);
	store_pids_give(&pids, npids, pidsp, npidsp);
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	free(cred);
	return r;
}

/* Free <k>; NULL is a no-op. */
void
store_key_free(struct store_key *k)
{
	if (k == NULL)
		return;
	free(k->fingerprint);
	free(k->account_id);
	free(k->account_name);
	free(k->type);
	free(k->blob);
	free(k->comment);
	free(k);
}

/* Free the <n> keys of <list> and the list itself. */
void
store_key_list_free(struct store_key **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_key_free(list[i]);
	free(list);
}

/* Sessions. */

/* A new session at <slot> from the current row (STORE_SESSION_SELECT). */
static void
store_session_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_session *s;

	s = xcalloc(1, sizeof(*s));
	s->id = store_column_text(stmt, 0);
	s->account_id = store_column_text(stmt, 1);
	s->account_name = store_column_text(stmt, 2);
	s->pid = db_column_int64(stmt, 3);
	s->client_ip = store_column_text(stmt, 4);
	s->client_port = store_column_int(stmt, 5);
	s->user = store_column_text(stmt, 6);
	s->credential = store_column_text(stmt, 7);
	s->started_ms = db_column_int64(stmt, 8);
	s->ended_ms = db_column_int64(stmt, 9); /* NULL reads as 0 */
	s->end_reason = store_column_text(stmt, 10);
	s->nendpoints = store_column_int(stmt, 11);
	s->conns_open = db_column_int64(stmt, 12);
	s->conns_total = db_column_int64(stmt, 13);
	s->bytes_in = db_column_int64(stmt, 14);
	s->bytes_out = db_column_int64(stmt, 15);
	*(struct store_session **)slot = s;
}

static void
store_session_list_vfree(void *list, size_t n)
{
	store_session_list_free(list, n);
}

static const struct store_rows store_session_rows = {
	sizeof(struct store_session *), store_session_from_row,
	store_session_list_vfree
};

/*
 * Record live session <s> if its account exists (_NOT_FOUND), is not
 * disabled (_DENIED) and has fewer than <max_live> live sessions
 * (_EXHAUSTED); _EXISTS if the id is taken. A NULL user or credential
 * is stored as "". BEGIN IMMEDIATE takes the write lock before the
 * account is read, so neither two logins at the limit nor a login and
 * an account disable, in any processes, can both get in: a disable
 * that commits first is seen here, one that commits after ends the
 * session this adds.
 */
int
store_session_add(struct store *store, const struct store_session *s,
    int max_live)
{
	static const char sql_account[] =
	    "SELECT a.disabled, (SELECT count(*) FROM sessions s"
	    "  WHERE s.account_id = a.id AND s.ended_ms IS NULL)"
	    " FROM accounts a WHERE a.id = ?1";
	static const char sql[] =
	    "INSERT INTO sessions (id, account_id, pid,"
	    " client_ip, client_port, \"user\", credential,"
	    " started_ms, seq)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM sessions))";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc, live;

	if (s == NULL || s->id == NULL || s->account_id == NULL ||
	    s->client_ip == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_prepare(store, &stmt, sql_account, "t",
	         s->account_id)) != 0)
		goto out;
	if ((rc = db_step(stmt)) == DB_DONE) {
		debug_f("account %.40s: gone", s->account_id);
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	} else if (rc != DB_ROW) {
		r = store_error(store, rc, sql_account);
		goto out;
	}
	if (store_column_int(stmt, 0) != 0) {
		debug_f("account %.40s: disabled", s->account_id);
		r = PORTHOLE_ERR_DENIED;
		goto out;
	}
	live = store_column_int(stmt, 1);
	if (max_live > 0 && live >= max_live) {
		debug_f("account %.40s: %d live sessions, limit %d",
		    s->account_id, live, max_live);
		r = PORTHOLE_ERR_EXHAUSTED;
		goto out;
	}
	/* Done with the row; the insert needs no statement of ours open. */
	db_finalize(stmt);
	stmt = NULL;
	if ((r = store_run(store, NULL, sql, "ttItittI", s->id, s->account_id,
	         s->pid, s->client_ip, s->client_port,
	         s->user != NULL ? s->user : "",
	         s->credential != NULL ? s->credential : "", s->started_ms)) !=
	        0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	/* Finalized before the rollback, which it would otherwise hold up. */
	db_finalize(stmt);
	if (r != 0)
		store_rollback(store);
	return r;
}

/*
 * End live session <id> and its live endpoints at <now_ms>, in one
 * transaction; _NOT_FOUND if no live session has that id.
 */
int
store_session_end(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, NULL,
	         "UPDATE endpoints SET ended_ms = ?2"
	         " WHERE session_id = ?1 AND ended_ms IS NULL",
	         "tI", id, now_ms)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE sessions SET ended_ms = ?2"
	         " WHERE id = ?1 AND ended_ms IS NULL",
	         "tI", id, now_ms)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

/* End the live sessions of process <pid> and their live endpoints. */
int
store_session_end_pid(struct store *store, int64_t pid, int64_t now_ms, int *np)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (np != NULL)
		*np = 0;
	/* Endpoints first: the subquery picks sessions that are live. */
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, NULL,
	         "UPDATE endpoints SET ended_ms = ?2"
	         " WHERE ended_ms IS NULL AND session_id IN"
	         " (SELECT id FROM sessions"
	         "  WHERE pid = ?1 AND ended_ms IS NULL)",
	         "II", pid, now_ms)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE sessions SET ended_ms = ?2"
	         " WHERE pid = ?1 AND ended_ms IS NULL",
	         "II", pid, now_ms)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	if (np != NULL)
		*np = n;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

/* End every live session and endpoint (rows left by a previous run). */
int
store_session_end_all(struct store *store, int64_t now_ms, int *np)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (np != NULL)
		*np = 0;
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, NULL,
	         "UPDATE endpoints SET ended_ms = ?1 WHERE ended_ms IS NULL",
	         "I", now_ms)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE sessions SET ended_ms = ?1 WHERE ended_ms IS NULL",
	         "I", now_ms)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	if (np != NULL)
		*np = n;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

/*
 * End live session <id> for an admin, with <reason> ("killed" if NULL),
 * and give its pid for a signal; one transaction.
 */
int
store_session_kill(struct store *store, const char *id, const char *reason,
    int64_t now_ms, int64_t *pidp)
{
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (pidp != NULL)
		*pidp = 0;
	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_end_live(store, &store_end_by_session, id,
	         reason != NULL ? reason : "killed", now_ms, &pids, &npids,
	         &n)) != 0)
		goto out;
	if (n == 0 || npids == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("session %.40s: killed, pid %lld", id, (long long)pids[0]);
	if (pidp != NULL)
		*pidp = pids[0];
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	return r;
}

/*
 * The state of session <session_id>, with its account and credential,
 * in one statement. A credential names its kind before the first ':';
 * substr() rather than LIKE, which would read '_' and '%' in it.
 */
int
store_session_status(struct store *store, const char *session_id,
    struct store_session_status *st)
{
	static const char sql[] =
	    "SELECT CASE WHEN s.ended_ms IS NULL THEN 0 ELSE 1 END,"
	    " s.end_reason, a.disabled,"
	    " a.ip_policy_id,"
	    " CASE"
	    "  WHEN substr(s.credential, 1, 10) = 'anonymous:' THEN 1"
	    "  WHEN substr(s.credential, 1, 6) = 'token:' AND EXISTS"
	    "   (SELECT 1 FROM tokens t WHERE t.id = substr(s.credential, 7)"
	    "    AND t.account_id = s.account_id AND t.revoked_ms IS NULL)"
	    "   THEN 1"
	    "  WHEN substr(s.credential, 1, 4) = 'key:' AND EXISTS"
	    "   (SELECT 1 FROM keys k"
	    "    WHERE k.fingerprint = substr(s.credential, 5)"
	    "    AND k.account_id = s.account_id)"
	    "   THEN 1"
	    "  ELSE 0 END"
	    " FROM sessions s JOIN accounts a ON a.id = s.account_id"
	    " WHERE s.id = ?1";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (st != NULL)
		memset(st, 0, sizeof(*st));
	if (session_id == NULL || st == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "t", session_id)) != 0)
		goto out;
	if ((rc = db_step(stmt)) == DB_DONE) {
		/* Gone with its account (see store_account_delete). */
		st->ended = 1;
		st->account_deleted = 1;
		st->end_reason = xstrdup("account deleted");
		r = 0;
		goto out;
	} else if (rc != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	/* The strings are now the caller's. */
	st->ended = store_column_int(stmt, 0) != 0;
	st->end_reason = store_column_text(stmt, 1);
	st->account_disabled = store_column_int(stmt, 2) != 0;
	st->ip_policy_id = store_column_text(stmt, 3);
	st->credential_valid = store_column_int(stmt, 4) != 0;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/* Free the strings of <st> and zero it; NULL is a no-op. */
void
store_session_status_clear(struct store_session_status *st)
{
	if (st == NULL)
		return;
	free(st->end_reason);
	free(st->ip_policy_id);
	memset(st, 0, sizeof(*st));
}

/*
 * Delete ended history from before <before_ms>, in one transaction:
 * first the ended endpoints (of live sessions too, which may make and
 * cancel forwards for as long as they last), then the ended sessions,
 * whose remaining endpoints go by the cascade. A session that somehow
 * still has a live endpoint stays, so no live row is ever deleted.
 * The only foreign key to these tables is endpoints.session_id.
 */
int
store_session_prune(struct store *store, int64_t before_ms, int64_t *np)
{
	int r = PORTHOLE_ERR_INTERNAL, n, nendpoints;

	if (np != NULL)
		*np = 0;
	if (store == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &nendpoints,
	         "DELETE FROM endpoints"
	         " WHERE ended_ms IS NOT NULL AND ended_ms < ?1",
	         "I", before_ms)) != 0 ||
	    (r = store_run(store, &n,
	         "DELETE FROM sessions"
	         " WHERE ended_ms IS NOT NULL AND ended_ms < ?1"
	         " AND NOT EXISTS (SELECT 1 FROM endpoints e"
	         "  WHERE e.session_id = sessions.id AND e.ended_ms IS NULL)",
	         "I", before_ms)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	if (n > 0 || nendpoints > 0)
		debug_f("pruned %d session(s) and %d endpoint(s) ended before "
		        "%lld",
		    n, nendpoints, (long long)before_ms);
	if (np != NULL)
		*np = n;
	r = 0;
out:
	if (r != 0 && store != NULL)
		store_rollback(store);
	return r;
}

/* One session, live or ended, with its account name. */
int
store_session_get(struct store *store, const char *id,
    struct store_session **sp)
{
	static const char sql[] = STORE_SESSION_SELECT " WHERE s.id = ?1";

	if (sp != NULL)
		*sp = NULL;
	if (id == NULL || sp == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_session_rows, sp, sql, "t", id);
}

/*
 * Live sessions of <account> (name or id; _NOT_FOUND if there is no
 * such account), or of all when NULL, oldest first, with their
 * account name and live endpoint count.
 */
int
store_session_list(struct store *store, const char *account,
    struct store_session ***listp, size_t *np)
{
	static const char sql_all[] = STORE_SESSION_SELECT
	    " WHERE s.ended_ms IS NULL ORDER BY s.started_ms, s.seq";
	static const char sql_one[] = STORE_SESSION_SELECT
	    " WHERE s.ended_ms IS NULL AND s.account_id = ?1"
	    " ORDER BY s.started_ms, s.seq";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_session_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Free <s>; NULL is a no-op. */
void
store_session_free(struct store_session *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->account_id);
	free(s->account_name);
	free(s->client_ip);
	free(s->user);
	free(s->credential);
	free(s->end_reason);
	free(s);
}

/* Free the <n> sessions of <list> and the list itself. */
void
store_session_list_free(struct store_session **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_session_free(list[i]);
	free(list);
}

/* Endpoints. */

/* A new endpoint at <slot> from the current row (STORE_ENDPOINT_SELECT). */
static void
store_endpoint_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_endpoint *e;

	e = xcalloc(1, sizeof(*e));
	e->id = store_column_text(stmt, 0);
	e->session_id = store_column_text(stmt, 1);
	e->account_id = store_column_text(stmt, 2);
	e->account_name = store_column_text(stmt, 3);
	e->host = store_column_text(stmt, 4);
	e->port = store_column_int(stmt, 5);
	e->bind_address = store_column_text(stmt, 6);
	e->metadata = store_column_text(stmt, 7);
	e->address_id = store_column_text(stmt, 8);
	e->started_ms = db_column_int64(stmt, 9);
	e->ended_ms = db_column_int64(stmt, 10); /* NULL reads as 0 */
	e->edge_id = store_column_text(stmt, 11);
	e->conns_open = db_column_int64(stmt, 12);
	e->conns_total = db_column_int64(stmt, 13);
	e->bytes_in = db_column_int64(stmt, 14);
	e->bytes_out = db_column_int64(stmt, 15);
	*(struct store_endpoint **)slot = e;
}

static void
store_endpoint_list_vfree(void *list, size_t n)
{
	store_endpoint_list_free(list, n);
}

static const struct store_rows store_endpoint_rows = {
	sizeof(struct store_endpoint *), store_endpoint_from_row,
	store_endpoint_list_vfree
};

/*
 * Record live endpoint <e>: _EXISTS if the id is taken, _NOT_FOUND
 * unless e->session_id is a live session of account e->account_id.
 * An ended session (killed, or its process reaped) gains no endpoints.
 * An endpoint that serves a reserved address (e->address_id) is also
 * _NOT_FOUND unless that address is reserved (not deleted) to the
 * same account, so a deleted or given-away address is never served;
 * an address on an edge (its own, or an account's put on it) is served
 * by the edge's backend accounts only. e->edge_id must be the edge the address is on,
 * NULL if none (_NOT_FOUND otherwise), so membership is never taken
 * by mistake; an edge without an address is _INVALID_ARGUMENT.
 */
int
store_endpoint_add(struct store *store, const struct store_endpoint *e)
{
	static const char sql[] =
	    "INSERT INTO endpoints (id, session_id, account_id, host, port,"
	    " bind_address, metadata, address_id, started_ms, edge_id, seq)"
	    " SELECT ?1, ?2, ?3, ?4, CAST(?5 AS BIGINT), ?6, ?7, ?8,"
	    " CAST(?9 AS BIGINT), ?10,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM endpoints)"
	    " WHERE EXISTS (SELECT 1 FROM sessions"
	    "  WHERE id = ?2 AND account_id = ?3 AND ended_ms IS NULL)"
	    " AND (CAST(?8 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM addresses "
	    "r"
	    "  LEFT JOIN edge_addresses x ON x.address_id = r.id"
	    "  WHERE r.id = ?8 AND r.deleted_ms IS NULL "
	    "  AND x.edge_id IS NOT DISTINCT FROM CAST(?10 AS TEXT)"
	    "  AND ((x.edge_id IS NULL AND r.account_id = ?3)"
	    "   OR (x.edge_id IS NOT NULL"
	    "    AND EXISTS (SELECT 1 FROM edge_backends b"
	    "     WHERE b.edge_id = x.edge_id AND b.account_id = ?3)))))";
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (e == NULL || e->id == NULL || e->session_id == NULL ||
	    e->account_id == NULL || e->host == NULL ||
	    e->bind_address == NULL || e->port <= 0 || e->port > 65535 ||
	    (e->edge_id != NULL && e->address_id == NULL)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run_locked(store, &n, sql, "ttttitttIt", e->id,
	         e->session_id, e->account_id, e->host, e->port,
	         e->bind_address, e->metadata, e->address_id, e->started_ms,
	         e->edge_id)) != 0)
		goto out;
	if (n == 0) {
		debug_f("endpoint %.40s: no live session %.40s or address "
		        "%.40s on edge %.40s",
		    e->id, e->session_id,
		    e->address_id != NULL ? e->address_id : "(none)",
		    e->edge_id != NULL ? e->edge_id : "(none)");
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	return r;
}

/* End live endpoint <id> at <now_ms>; _NOT_FOUND if none is live. */
int
store_endpoint_end(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE endpoints SET ended_ms = ?2"
	    " WHERE id = ?1 AND ended_ms IS NULL",
	    "tI", id, now_ms);
out:
	return r;
}

/* Set (or clear, with NULL) the metadata of live endpoint <id>. */
int
store_endpoint_set_metadata(struct store *store, const char *id,
    const char *metadata)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE endpoints SET metadata = ?2"
	    " WHERE id = ?1 AND ended_ms IS NULL",
	    "tt", id, metadata);
out:
	return r;
}

/* Live endpoints with their account name, oldest first. */
int
store_endpoint_list(struct store *store, struct store_endpoint ***listp,
    size_t *np)
{
	static const char sql[] = STORE_ENDPOINT_SELECT
	    " WHERE e.ended_ms IS NULL ORDER BY e.started_ms, e.seq";
	void *list = NULL;
	int r;

	r = store_list(store, &store_endpoint_rows,
	    listp != NULL ? &list : NULL, np, sql, "");
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Free <e>; NULL is a no-op. */
void
store_endpoint_free(struct store_endpoint *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->session_id);
	free(e->account_id);
	free(e->account_name);
	free(e->host);
	free(e->bind_address);
	free(e->metadata);
	free(e->address_id);
	free(e->edge_id);
	free(e);
}

/* Free the <n> endpoints of <list> and the list itself. */
void
store_endpoint_list_free(struct store_endpoint **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_endpoint_free(list[i]);
	free(list);
}

/* Address affinity. */

/* A host and port at <slot> from the current row of the affinity query. */
static void
store_hostport_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_hostport *hp = slot;

	hp->host = store_column_text(stmt, 0);
	hp->port = store_column_int(stmt, 1);
}

static void
store_hostport_list_vfree(void *list, size_t n)
{
	store_hostport_list_free(list, n);
}

static const struct store_rows store_hostport_rows = {
	sizeof(struct store_hostport), store_hostport_from_row,
	store_hostport_list_vfree
};

/*
 * The addresses that credential <credential> of account <account_id>
 * held at random in its ended sessions, most recent session first,
 * each port once (where it came last). Left out as well as ports live
 * again: ports that a reserved address has, or had, since a random
 * port can be reserved once released. An empty credential (anonymous)
 * names no one, so it has no affinity.
 */
int
store_affinity(struct store *store, const char *account_id,
    const char *credential, int64_t since_ms, struct store_hostport **listp,
    size_t *np)
{
	static const char sql[] =
	    "SELECT host, port FROM"
	    " (SELECT e.host, e.port, s.started_ms AS s_ms, s.seq AS s_seq,"
	    "  e.started_ms AS e_ms, e.seq AS e_seq,"
	    "  row_number() OVER (PARTITION BY e.port ORDER BY"
	    "   s.started_ms DESC, s.seq DESC, e.started_ms, e.seq) AS nth"
	    "  FROM endpoints e JOIN sessions s ON s.id = e.session_id"
	    "  WHERE e.account_id = ?1 AND s.account_id = ?1"
	    "  AND s.credential = ?2 AND s.ended_ms IS NOT NULL"
	    "  AND e.address_id IS NULL AND e.ended_ms >= ?3"
	    "  AND NOT EXISTS (SELECT 1 FROM endpoints l"
	    "   WHERE l.port = e.port AND l.ended_ms IS NULL)"
	    "  AND NOT EXISTS (SELECT 1 FROM addresses r"
	    "   WHERE r.port = e.port))"
	    " AS held WHERE nth = 1"
	    " ORDER BY s_ms DESC, s_seq DESC, e_ms, e_seq LIMIT ?4";
	void *list = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (account_id == NULL || credential == NULL || listp == NULL ||
	    np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (*credential == '\0') {
		r = 0;
		goto out;
	}
	if ((r = store_list(store, &store_hostport_rows, &list, np, sql, "ttIi",
	         account_id, credential, since_ms, STORE_AFFINITY_MAX)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*listp = list;
	r = 0;
out:
	return r;
}

/* Free the <n> host names of <list> and the list itself. */
void
store_hostport_list_free(struct store_hostport *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		free(list[i].host);
	free(list);
}

/* Reserved addresses. */

/* A new address at <slot> from the current row (STORE_ADDRESS_SELECT). */
static void
store_address_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_address *a;

	a = xcalloc(1, sizeof(*a));
	a->id = store_column_text(stmt, 0);
	a->account_id = store_column_text(stmt, 1);
	a->account_name = store_column_text(stmt, 2);
	a->host = store_column_text(stmt, 3);
	a->port = store_column_int(stmt, 4);
	a->description = store_column_text(stmt, 5);
	a->metadata = store_column_text(stmt, 6);
	a->created_ms = db_column_int64(stmt, 7);
	a->deleted_ms = db_column_int64(stmt, 8); /* NULL reads as 0 */
	a->endpoint_id = store_column_text(stmt, 9);
	a->proxy_proto = store_column_int(stmt, 10);
	a->ip_policy_id = store_column_text(stmt, 11);
	a->ip_policy_name = store_column_text(stmt, 12);
	a->edge_id = store_column_text(stmt, 13);
	*(struct store_address **)slot = a;
}

static void
store_address_list_vfree(void *list, size_t n)
{
	store_address_list_free(list, n);
}

static const struct store_rows store_address_rows = {
	sizeof(struct store_address *), store_address_from_row,
	store_address_list_vfree
};

/*
 * Reserve <host>:<port> for account <account_id> (an id), or for no
 * account (NULL: an edge's own address), with a new "ra_" id: _EXISTS
 * if the port was ever reserved (UNIQUE(port) holds tombstones too),
 * _NOT_FOUND for an unknown account. *ap may be NULL.
 */
int
store_address_add(struct store *store, const char *account_id, const char *host,
    int port, const char *description, const char *metadata, int64_t now_ms,
    struct store_address **ap)
{
	static const char sql[] =
	    "INSERT INTO addresses (id, account_id, host, port, description,"
	    " metadata, created_ms, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM addresses))";
	static const char sql_get[] = STORE_ADDRESS_SELECT " WHERE r.id = ?1";
	struct store_address *a = NULL;
	char *id = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ap != NULL)
		*ap = NULL;
	if (host == NULL || *host == '\0' || port <= 0 || port > 65535) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	id = id_new("ra");
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, NULL, sql, "tttittI", id, account_id, host,
	         port, description != NULL ? description : "",
	         metadata != NULL ? metadata : "", now_ms)) != 0)
		goto out;
	if (ap != NULL &&
	    (r = store_get(store, &store_address_rows, &a, sql_get, "t", id)) !=
	        0)
		goto out;
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("address %s: %.100s:%d reserved for %.40s", id, host, port,
	    account_id != NULL ? account_id : "(no account)");
	if (ap != NULL) {
		/* Ownership passes to the caller. */
		*ap = a;
		a = NULL;
	}
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	store_address_free(a);
	free(id);
	return r;
}

/* Whether any address row, tombstones too, has <port>. */
int
store_address_port_used(struct store *store, int port, int *usedp)
{
	static const char sql[] =
	    "SELECT CASE WHEN EXISTS (SELECT 1 FROM addresses WHERE port = ?1)"
	    " THEN 1 ELSE 0 END";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (usedp != NULL)
		*usedp = 0;
	if (usedp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "i", port)) != 0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	*usedp = store_column_int(stmt, 0) != 0;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Find a reserved address by id, or by "host:port" / "[v6]:port" when
 * the argument has a ':' (ids never do); a malformed host:port is
 * _INVALID_FORMAT.
 */
int
store_address_get(struct store *store, const char *id_or_hostport,
    struct store_address **ap)
{
	static const char sql[] =
	    STORE_ADDRESS_SELECT " WHERE r.id = ?1 AND r.deleted_ms IS NULL";
	char *host = NULL;
	uint16_t port;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ap != NULL)
		*ap = NULL;
	if (id_or_hostport == NULL || ap == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (strchr(id_or_hostport, ':') == NULL) {
		r = store_get(store, &store_address_rows, ap, sql, "t",
		    id_or_hostport);
		goto out;
	}
	/* The port is mandatory: a bare IPv6 address is malformed. */
	if ((r = net_split_hostport(id_or_hostport, -1, &host, &port)) != 0)
		goto out;
	r = store_address_find(store, host, port, ap);
out:
	free(host);
	return r;
}

/*
 * The reserved address <host>:<port>. Host names are compared without
 * regard to ASCII case, as DNS does.
 */
int
store_address_find(struct store *store, const char *host, int port,
    struct store_address **ap)
{
	static const char sql[] = STORE_ADDRESS_SELECT
	    " WHERE r.port = ?2 AND lower(r.host) = lower(CAST(?1 AS TEXT))"
	    " AND r.deleted_ms IS NULL";

	if (ap != NULL)
		*ap = NULL;
	if (host == NULL || ap == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_address_rows, ap, sql, "ti", host, port);
}

/*
 * Reserved addresses of <account> (name or id; _NOT_FOUND if there is
 * no such account), or of every account when NULL; by account name,
 * then age.
 */
int
store_address_list(struct store *store, const char *account,
    struct store_address ***listp, size_t *np)
{
	static const char sql_all[] =
	    STORE_ADDRESS_SELECT " WHERE r.deleted_ms IS NULL"
	                         " ORDER BY a.name, r.created_ms, r.seq";
	static const char sql_one[] = STORE_ADDRESS_SELECT
	    " WHERE r.deleted_ms IS NULL AND r.account_id = ?1"
	    " ORDER BY r.created_ms, r.seq";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_address_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Update reserved address <id>; _NOT_FOUND if absent or deleted. */
int
store_address_update(struct store *store, const char *id,
    const char *description, const char *metadata)
{
	static const char sql[] =
	    "UPDATE addresses SET description = coalesce(?2, description),"
	    " metadata = coalesce(?3, metadata)"
	    " WHERE id = ?1 AND deleted_ms IS NULL";
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store, sql, "ttt", id, description, metadata);
out:
	return r;
}

/*
 * Delete reserved address <id>: the row stays, with deleted_ms, and
 * keeps its port and account; it leaves its edge, if on one, in the
 * same transaction. An endpoint serving it is not ended here.
 */
int
store_address_delete(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE addresses SET deleted_ms = ?2"
	         " WHERE id = ?1 AND deleted_ms IS NULL",
	         "tI", id, now_ms)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_run(store, NULL,
	         "DELETE FROM edge_addresses WHERE address_id = ?1", "t",
	         id)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	return r;
}

/* Free <a>; NULL is a no-op. */
void
store_address_free(struct store_address *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->account_id);
	free(a->account_name);
	free(a->host);
	free(a->description);
	free(a->metadata);
	free(a->endpoint_id);
	free(a->ip_policy_id);
	free(a->ip_policy_name);
	free(a->edge_id);
	free(a);
}

/* Free the <n> addresses of <list> and the list itself. */
void
store_address_list_free(struct store_address **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_address_free(list[i]);
	free(list);
}

/* Tokens. */

/* A new token at <slot> from the current row (STORE_TOKEN_SELECT). */
static void
store_token_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_token *t;

	t = xcalloc(1, sizeof(*t));
	t->id = store_column_text(stmt, 0);
	t->account_id = store_column_text(stmt, 1);
	t->account_name = store_column_text(stmt, 2);
	t->account_disabled = store_column_int(stmt, 3) != 0;
	t->description = store_column_text(stmt, 4);
	t->created_ms = db_column_int64(stmt, 5);
	t->last_used_ms = db_column_int64(stmt, 6); /* NULL reads as 0 */
	t->revoked_ms = db_column_int64(stmt, 7);
	*(struct store_token **)slot = t;
}

static void
store_token_list_vfree(void *list, size_t n)
{
	store_token_list_free(list, n);
}

static const struct store_rows store_token_rows = { sizeof(
	                                                struct store_token *),
	store_token_from_row, store_token_list_vfree };

/*
 * Record token <id> of account <account_id> (an id) by its keyed hash
 * of exactly TOKEN_HASH_LEN bytes. A NULL description is stored as "".
 */
int
store_token_add(struct store *store, const char *id, const char *account_id,
    const unsigned char *hash, size_t hashlen, const char *description,
    int64_t now_ms)
{
	static const char sql[] =
	    "INSERT INTO tokens (id, account_id, hash, description, created_ms,"
	    " seq) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM tokens))";

	if (id == NULL || *id == '\0' || account_id == NULL || hash == NULL ||
	    hashlen != TOKEN_HASH_LEN)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run_locked(store, NULL, sql, "ttbtI", id, account_id,
	    (const void *)hash, hashlen, description != NULL ? description : "",
	    now_ms);
}

/*
 * The valid token whose keyed hash is <hash>, and the digest as stored
 * into <stored_hash> (TOKEN_HASH_LEN bytes) if it is not NULL. Tokens
 * of disabled accounts are found too: account_disabled tells.
 */
int
store_token_find(struct store *store, const unsigned char *hash, size_t hashlen,
    struct store_token **tp, unsigned char *stored_hash)
{
	static const char sql[] =
	    STORE_TOKEN_SELECT " WHERE t.hash = ?1 AND t.revoked_ms IS NULL";
	struct store_token *t = NULL;
	struct db_stmt *stmt = NULL;
	const void *blob;
	size_t bloblen;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (tp != NULL)
		*tp = NULL;
	if (hash == NULL || hashlen != TOKEN_HASH_LEN || tp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
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
	store_token_from_row(stmt, &t);
	if (stored_hash != NULL) {
		blob = db_column_blob(stmt, 8, &bloblen);
		if (blob == NULL || bloblen != TOKEN_HASH_LEN) {
			r = store_fail(store, "token hash of the wrong length");
			goto out;
		}
		memcpy(stored_hash, blob, TOKEN_HASH_LEN);
	}
	/* Ownership passes to the caller. */
	*tp = t;
	t = NULL;
	r = 0;
out:
	db_finalize(stmt);
	store_token_free(t);
	return r;
}

/* Note a use of token <id>; _NOT_FOUND if there is no such token. */
int
store_token_touch(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE tokens SET last_used_ms = ?2 WHERE id = ?1", "tI", id,
	    now_ms);
out:
	return r;
}

/*
 * Valid tokens of <account> (name or id; _NOT_FOUND if there is no
 * such account), or of every account when NULL; by account name, then
 * age.
 */
int
store_token_list(struct store *store, const char *account,
    struct store_token ***listp, size_t *np)
{
	static const char sql_all[] =
	    STORE_TOKEN_SELECT " WHERE t.revoked_ms IS NULL"
	                       " ORDER BY a.name, t.created_ms, t.seq";
	static const char sql_one[] = STORE_TOKEN_SELECT
	    " WHERE t.revoked_ms IS NULL AND t.account_id = ?1"
	    " ORDER BY t.created_ms, t.seq";
	void *list = NULL;
	int r;

	r = store_list_account(store, &store_token_rows, account, sql_all,
	    sql_one, listp != NULL ? &list : NULL, np);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/*
 * Revoke token <id> at <now_ms> and, in the same transaction, end the
 * live sessions that logged in with it (credential "token:<id>");
 * _NOT_FOUND if absent or already revoked.
 */
int
store_token_revoke(struct store *store, const char *id, int64_t now_ms,
    int64_t **pidsp, size_t *npidsp)
{
	int64_t *pids = NULL;
	size_t npids = 0;
	char *cred = NULL;
	int r = PORTHOLE_ERR_INTERNAL, n, ended = 0;

	if (pidsp != NULL)
		*pidsp = NULL;
	if (npidsp != NULL)
		*npidsp = 0;
	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	xasprintf(&cred, "token:%s", id);
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE tokens SET revoked_ms = ?2"
	         " WHERE id = ?1 AND revoked_ms IS NULL",
	         "tI", id, now_ms)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_end_live(store, &store_end_by_credential, cred,
	         "token revoked", now_ms, &pids, &npids, &ended)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	debug_f("token %.40s: revoked, %d sessions ended", id, ended);
	store_pids_give(&pids, npids, pidsp, npidsp);
	r = 0;
out:
	if (r != 0)
		store_rollback(store);
	free(pids);
	free(cred);
	return r;
}

/* Free <t>; NULL is a no-op. */
void
store_token_free(struct store_token *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->account_id);
	free(t->account_name);
	free(t->description);
	free(t);
}

/* Free the <n> tokens of <list> and the list itself. */
void
store_token_list_free(struct store_token **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_token_free(list[i]);
	free(list);
}

/* IP policies. */

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

/* Read the allow and deny rules of <p>, each in the order added. */
static int
store_ip_policy_load_rules(struct store *store, struct store_ip_policy *p)
{
	static const char sql[] = "SELECT cidr FROM ip_policy_rules"
	                          " WHERE policy_id = ?1 AND allow = ?2"
	                          " ORDER BY seq";
	void *allow = NULL, *deny = NULL;
	size_t nallow = 0, ndeny = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_list(store, &store_string_rows, &allow, &nallow, sql,
	         "ti", p->id, 1)) != 0 ||
	    (r = store_list(store, &store_string_rows, &deny, &ndeny, sql, "ti",
	         p->id, 0)) != 0)
		goto out;
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
	static const char sql[] =
	    "INSERT INTO ip_policy_rules (policy_id, allow, cidr, created_ms,"
	    " seq) VALUES (?1, ?2, ?3, ?4,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM ip_policy_rules))";

	if (id == NULL || cidr == NULL || !store_cidr_canonical(cidr))
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run_locked(store, NULL, sql, "titI", id, allow != 0, cidr,
	    now_ms);
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
	store_string_list_free(p->allow, p->nallow);
	store_string_list_free(p->deny, p->ndeny);
	free(p);
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

/* Events and metrics. */

/*
 * A live session's or endpoint's counters, as it last recorded them;
 * a row that has ended keeps its last.
 */
#define STORE_STATS_SQL(table)                                                 \
	"UPDATE " table " SET conns_open = ?2, conns_total = ?3,"              \
	" bytes_in = ?4, bytes_out = ?5 WHERE id = ?1 AND ended_ms IS NULL"

/*
 * Record in one transaction the events <evs> (NULL elements skipped),
 * the counter deltas <counters> (a NULL labels is ""), and, if
 * <session_id> and <stats> are given, the live counters of that
 * session; a session that is not live is left alone. _EXISTS if an
 * event id is taken, and then nothing is recorded.
 */
/*
 * Insert events <evs> and add counter deltas <counters>, inside the
 * transaction the caller opened (both checked already).
 */
static int
store_record_in(struct store *store, struct event *const *evs, size_t nevs,
    const struct store_counter *counters, size_t ncounters)
{
	static const char sql_event[] = "INSERT INTO events"
	                                " (id, type, timestamp_ms, account_id,"
	                                " json) VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char sql_counter[] =
	    "INSERT INTO counters (name, labels, value) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (name, labels) DO UPDATE"
	    " SET value = counters.value + excluded.value";
	struct db_stmt *ev_stmt = NULL, *ct_stmt = NULL;
	const struct event *ev;
	const struct store_counter *c;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	/* Each statement is compiled once per batch and rerun. */
	if (nevs > 0 &&
	    (r = store_prepare(store, &ev_stmt, sql_event, "")) != 0)
		goto out;
	for (i = 0; i < nevs; i++) {
		if ((ev = evs[i]) == NULL)
			continue;
		if ((r = store_rerun(store, ev_stmt, sql_event, "ttItt", ev->id,
		         ev->type, ev->timestamp_ms, ev->account_id,
		         ev->json)) != 0)
			goto out;
	}
	if (ncounters > 0 &&
	    (r = store_prepare(store, &ct_stmt, sql_counter, "")) != 0)
		goto out;
	for (i = 0; i < ncounters; i++) {
		c = &counters[i];
		if ((r = store_rerun(store, ct_stmt, sql_counter, "ttI",
		         c->name, c->labels != NULL ? c->labels : "",
		         c->value)) != 0)
			goto out;
	}
	r = 0;
out:
	db_finalize(ev_stmt);
	db_finalize(ct_stmt);
	return r;
}

/* Check a batch's events and counters before anything is written. */
static int
store_record_valid(struct event *const *evs, size_t nevs,
    const struct store_counter *counters, size_t ncounters)
{
	const struct event *ev;
	size_t i;

	if ((nevs > 0 && evs == NULL) || (ncounters > 0 && counters == NULL))
		return 0;
	for (i = 0; i < nevs; i++) {
		ev = evs[i];
		if (ev != NULL &&
		    (ev->id == NULL || ev->type == NULL || ev->json == NULL))
			return 0;
	}
	for (i = 0; i < ncounters; i++) {
		if (counters[i].name == NULL)
			return 0;
	}
	return 1;
}

int
store_record(struct store *store, struct event *const *evs, size_t nevs,
    const struct store_counter *counters, size_t ncounters,
    const char *session_id, const struct store_session_stats *stats)
{
	static const char sql_session[] = STORE_STATS_SQL("sessions");
	int r = PORTHOLE_ERR_INTERNAL, do_session;

	/* Check everything first, so a bad element cannot half-record. */
	if (store == NULL ||
	    !store_record_valid(evs, nevs, counters, ncounters)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	do_session = session_id != NULL && stats != NULL;
	if (nevs == 0 && ncounters == 0 && !do_session) {
		r = 0;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_record_in(store, evs, nevs, counters, ncounters)) != 0)
		goto out;
	/* A session ended meanwhile (killed, reaped) keeps its last. */
	if (do_session &&
	    (r = store_run(store, NULL, sql_session, "tIIII", session_id,
	         stats->conns_open, stats->conns_total, stats->bytes_in,
	         stats->bytes_out)) != 0)
		goto out;
	if ((r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0 && store != NULL)
		store_rollback(store);
	return r;
}

int
store_record_batch(struct store *store, struct event *const *evs, size_t nevs,
    const struct store_counter *counters, size_t ncounters,
    const struct store_session_stats_row *sessions, size_t nsessions,
    const struct store_endpoint_stats *endpoints, size_t nendpoints)
{
	static const char sql_session[] = STORE_STATS_SQL("sessions");
	static const char sql_endpoint[] = STORE_STATS_SQL("endpoints");
	struct db_stmt *stmt = NULL;
	const struct store_session_stats *st;
	const struct store_endpoint_stats *es;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || (nsessions > 0 && sessions == NULL) ||
	    (nendpoints > 0 && endpoints == NULL) ||
	    !store_record_valid(evs, nevs, counters, ncounters)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	for (i = 0; i < nsessions; i++) {
		if (sessions[i].id == NULL) {
			r = PORTHOLE_ERR_INVALID_ARGUMENT;
			goto out;
		}
	}
	for (i = 0; i < nendpoints; i++) {
		if (endpoints[i].id == NULL) {
			r = PORTHOLE_ERR_INVALID_ARGUMENT;
			goto out;
		}
	}
	if (nsessions == 0 && nendpoints == 0) {
		r = store_record(store, evs, nevs, counters, ncounters, NULL,
		    NULL);
		goto out;
	}
	if ((r = store_begin(store)) != 0)
		goto out;
	if ((nevs > 0 || ncounters > 0) &&
	    (r = store_record_in(store, evs, nevs, counters, ncounters)) != 0)
		goto out;
	if (nsessions > 0 &&
	    (r = store_prepare(store, &stmt, sql_session, "")) != 0)
		goto out;
	for (i = 0; i < nsessions; i++) {
		st = &sessions[i].stats;
		if ((r = store_rerun(store, stmt, sql_session, "tIIII",
		         sessions[i].id, st->conns_open, st->conns_total,
		         st->bytes_in, st->bytes_out)) != 0)
			goto out;
	}
	db_finalize(stmt);
	stmt = NULL;
	if (nendpoints > 0 &&
	    (r = store_prepare(store, &stmt, sql_endpoint, "")) != 0)
		goto out;
	for (i = 0; i < nendpoints; i++) {
		es = &endpoints[i];
		if ((r = store_rerun(store, stmt, sql_endpoint, "tIIII", es->id,
		         es->conns_open, es->conns_total, es->bytes_in,
		         es->bytes_out)) != 0)
			goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	db_finalize(stmt);
	if (r != 0 && store != NULL)
		store_rollback(store);
	return r;
}

/* A new event at <slot> from the current row of store_event_list(). */
static void
store_event_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_event *e;

	e = xcalloc(1, sizeof(*e));
	e->seq = db_column_int64(stmt, 0);
	e->id = store_column_text(stmt, 1);
	e->type = store_column_text(stmt, 2);
	e->timestamp_ms = db_column_int64(stmt, 3);
	e->account_id = store_column_text(stmt, 4);
	e->json = store_column_text(stmt, 5);
	*(struct store_event **)slot = e;
}

static void
store_event_list_vfree(void *list, size_t n)
{
	store_event_list_free(list, n);
}

static const struct store_rows store_event_rows = { sizeof(
	                                                struct store_event *),
	store_event_from_row, store_event_list_vfree };

/*
 * Events after <after_seq>, of <type> and from <since_ms> when given,
 * oldest first; with <limit>, the newest <limit> of those. Only the
 * filters asked for go into the SQL, so that the type filter can use
 * events_type and the others the seq key; their parameters are
 * numbered in the order they appear, as every driver wants them.
 */
int
store_event_list(struct store *store, int64_t after_seq, const char *type,
    int64_t since_ms, size_t limit, struct store_event ***listp, size_t *np)
{
	struct db_stmt *stmt = NULL;
	void *list = NULL;
	char inner[512], sql[640], lim[32] = "";
	int r = PORTHOLE_ERR_INTERNAL, i = 1;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (store == NULL || listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* Fixed fragments only: every value is bound. */
	if (limit > 0)
		snprintf(lim, sizeof(lim), " DESC LIMIT ?%d",
		    2 + (type != NULL) + (since_ms != 0));
	snprintf(inner, sizeof(inner),
	    "SELECT seq, id, type, timestamp_ms, account_id, json"
	    " FROM events WHERE seq > ?1%s%s ORDER BY seq%s",
	    type != NULL ? " AND type = ?2" : "",
	    since_ms == 0      ? ""
	        : type != NULL ? " AND timestamp_ms >= ?3"
	                       : " AND timestamp_ms >= ?2",
	    lim);
	if (limit > 0)
		snprintf(sql, sizeof(sql),
		    "SELECT * FROM (%s) sub ORDER BY seq", inner);
	else
		snprintf(sql, sizeof(sql), "%s", inner);
	if ((r = db_prepare(store->db, sql, &stmt)) != 0) {
		r = store_error(store, r, sql);
		goto out;
	}
	if ((r = db_bind_int64(stmt, i++, after_seq)) != 0 ||
	    (type != NULL && (r = db_bind_text(stmt, i++, type)) != 0) ||
	    (since_ms != 0 && (r = db_bind_int64(stmt, i++, since_ms)) != 0) ||
	    (limit > 0 &&
	        (r = db_bind_int64(stmt, i++,
	             limit > INT64_MAX ? INT64_MAX : (int64_t)limit)) != 0)) {
		r = store_error(store, r, sql);
		goto out;
	}
	if ((r = store_collect(store, &store_event_rows, stmt, sql, &list,
	         np)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*listp = list;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/* Delete events from before <before_ms>; how many in *np (may be NULL). */
int
store_event_prune(struct store *store, int64_t before_ms, int64_t *np)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (np != NULL)
		*np = 0;
	if (store == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run(store, &n,
	         "DELETE FROM events WHERE timestamp_ms < ?1", "I",
	         before_ms)) != 0)
		goto out;
	if (np != NULL)
		*np = n;
	r = 0;
out:
	return r;
}

/*
 * Delete the events more than <max> stored before the newest, oldest
 * first. seq is the rowid (INTEGER PRIMARY KEY AUTOINCREMENT): min()
 * and max() are each one step down the table's b-tree, and a seq range
 * is a range of the table, so nothing here scans. The events go in
 * batches of STORE_EVENT_CAP_BATCH, each its own transaction, between
 * which the sessions can record theirs.
 */
int
store_event_cap(struct store *store, int64_t max, int64_t *np)
{
	static const char sql_ends[] = "SELECT (SELECT min(seq) FROM events),"
	                               " (SELECT max(seq) FROM events)";
	static const char sql_delete[] = "DELETE FROM events WHERE seq <= ?1";
	struct db_stmt *stmt = NULL;
	int64_t lo, hi, cut, upto, total = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc, n;

	if (np != NULL)
		*np = 0;
	if (store == NULL || max < 0) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (max == 0) {
		r = 0;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql_ends, "")) != 0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql_ends);
		goto out;
	}
	if (db_column_is_null(stmt, 0)) {
		r = 0; /* no events */
		goto out;
	}
	lo = db_column_int64(stmt, 0);
	hi = db_column_int64(stmt, 1);
	db_finalize(stmt);
	stmt = NULL;
	/* Keep seq hi - max + 1 … hi: at most max events. */
	if (hi - lo < max) {
		r = 0;
		goto out;
	}
	cut = hi - max;
	for (; lo <= cut; lo = upto + 1) {
		upto = cut - lo >= STORE_EVENT_CAP_BATCH
		    ? lo + STORE_EVENT_CAP_BATCH - 1
		    : cut;
		if ((r = store_run(store, &n, sql_delete, "I", upto)) != 0)
			goto out;
		total += n;
	}
	if (total > 0)
		debug_f("deleted %lld event(s) beyond the newest %lld",
		    (long long)total, (long long)max);
	r = 0;
out:
	db_finalize(stmt);
	/* What went in the batches that succeeded stays gone. */
	if (np != NULL)
		*np = total;
	return r;
}

/* Free <e>; NULL is a no-op. */
void
store_event_free(struct store_event *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->type);
	free(e->account_id);
	free(e->json);
	free(e);
}

/* Free the <n> events of <list> and the list itself. */
void
store_event_list_free(struct store_event **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_event_free(list[i]);
	free(list);
}

/* A counter at <slot> (the element itself) from the current row. */
static void
store_counter_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_counter *c = slot;

	/* The strings are the list's, freed by store_counter_list_free. */
	c->name = store_column_text(stmt, 0);
	c->labels = store_column_text(stmt, 1);
	c->value = db_column_int64(stmt, 2);
}

static void
store_counter_list_vfree(void *list, size_t n)
{
	store_counter_list_free(list, n);
}

static const struct store_rows store_counter_rows = { sizeof(
	                                                  struct store_counter),
	store_counter_from_row, store_counter_list_vfree };

/* Every counter and its total, by name, then labels. */
int
store_counter_list(struct store *store, struct store_counter **listp,
    size_t *np)
{
	void *list = NULL;
	int r;

	if (listp != NULL)
		*listp = NULL;
	if (store == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	r = store_list(store, &store_counter_rows, listp != NULL ? &list : NULL,
	    np,
	    "SELECT name, labels, value FROM counters ORDER BY name, labels",
	    "");
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}

/* Free the <n> counters of <list>, their strings, and the list. */
void
store_counter_list_free(struct store_counter *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	/* const for store_record's callers; a list's strings are its own. */
	for (i = 0; i < n; i++) {
		free((char *)list[i].name);
		free((char *)list[i].labels);
	}
	free(list);
}

/*
 * The number of live sessions and live endpoints, and the open
 * connections of the live sessions as they last recorded them; each
 * output may be NULL.
 */
int
store_live_totals(struct store *store, int64_t *sessionsp, int64_t *endpointsp,
    int64_t *conns_openp)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM sessions WHERE ended_ms IS NULL),"
	    " (SELECT count(*) FROM endpoints WHERE ended_ms IS NULL),"
	    " (SELECT CAST(coalesce(sum(conns_open), 0) AS BIGINT) FROM "
	    "sessions"
	    "  WHERE ended_ms IS NULL)";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (sessionsp != NULL)
		*sessionsp = 0;
	if (endpointsp != NULL)
		*endpointsp = 0;
	if (conns_openp != NULL)
		*conns_openp = 0;
	if (store == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	if (sessionsp != NULL)
		*sessionsp = db_column_int64(stmt, 0);
	if (endpointsp != NULL)
		*endpointsp = db_column_int64(stmt, 1);
	if (conns_openp != NULL)
		*conns_openp = db_column_int64(stmt, 2);
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/*
 * Record the live counters <stats> of <n> endpoints in one transaction,
 * as a batch with nothing else. An endpoint that has ended (or never
 * was) keeps what it had: its session may report once more after an
 * admin ended it.
 */
int
store_endpoint_stats(struct store *store,
    const struct store_endpoint_stats *stats, size_t n)
{
	return store_record_batch(store, NULL, 0, NULL, 0, NULL, 0, stats, n);
}

/* Edges. */

/* A new edge, without its lists, at <slot> (STORE_EDGE_SELECT). */
static void
store_edge_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_edge *e;

	e = xcalloc(1, sizeof(*e));
	e->id = store_column_text(stmt, 0);
	e->description = store_column_text(stmt, 1);
	e->ip_policy_id = store_column_text(stmt, 2);
	e->ip_policy_name = store_column_text(stmt, 3);
	e->proxy_proto = store_column_int(stmt, 4);
	e->created_ms = db_column_int64(stmt, 5);
	*(struct store_edge **)slot = e;
}

static void
store_edge_list_vfree(void *list, size_t n)
{
	store_edge_list_free(list, n);
}

static const struct store_rows store_edge_rows = { sizeof(struct store_edge *),
	store_edge_from_row, store_edge_list_vfree };

/*
 * Read the lists of <e>: its addresses in the order added, its backend
 * accounts by name, and its live members, oldest first.
 */
static int
store_edge_load(struct store *store, struct store_edge *e)
{
	static const char sql_addresses[] = STORE_ADDRESS_SELECT
	    " WHERE x.edge_id = ?1 AND r.deleted_ms IS NULL"
	    " ORDER BY x.seq";
	static const char sql_backends[] =
	    STORE_ACCOUNT_SELECT " JOIN edge_backends b ON b.account_id = a.id"
	                         " WHERE b.edge_id = ?1 ORDER BY a.name";
	static const char sql_members[] =
	    STORE_ENDPOINT_SELECT " WHERE e.edge_id = ?1 AND e.ended_ms IS NULL"
	                          " ORDER BY e.started_ms, e.seq";
	void *addresses = NULL, *backends = NULL, *members = NULL;
	size_t naddresses = 0, nbackends = 0, nmembers = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_list(store, &store_address_rows, &addresses, &naddresses,
	         sql_addresses, "t", e->id)) != 0 ||
	    (r = store_list(store, &store_account_rows, &backends, &nbackends,
	         sql_backends, "t", e->id)) != 0 ||
	    (r = store_list(store, &store_endpoint_rows, &members, &nmembers,
	         sql_members, "t", e->id)) != 0)
		goto out;
	/* Ownership passes to <e>. */
	e->addresses = addresses;
	e->naddresses = naddresses;
	e->backends = backends;
	e->nbackends = nbackends;
	e->members = members;
	e->nmembers = nmembers;
	addresses = backends = members = NULL;
	r = 0;
out:
	store_address_list_free(addresses, naddresses);
	store_account_list_free(backends, nbackends);
	store_endpoint_list_free(members, nmembers);
	return r;
}

/*
 * Add an edge with a new "ed_" id, no addresses and no backends; a
 * NULL description is stored as "". *ep may be NULL.
 */
int
store_edge_add(struct store *store, const char *description, int64_t now_ms,
    struct store_edge **ep)
{
	static const char sql[] =
	    "INSERT INTO edges (id, description, created_ms, seq)"
	    " VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM "
	    "edges))";
	struct store_edge *e = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ep != NULL)
		*ep = NULL;
	if (store == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	e = xcalloc(1, sizeof(*e));
	e->id = id_new("ed");
	e->description = xstrdup(description != NULL ? description : "");
	e->created_ms = now_ms;
	if ((r = store_run_locked(store, NULL, sql, "ttI", e->id,
	         e->description, e->created_ms)) != 0)
		goto out;
	debug_f("edge %s: added", e->id);
	if (ep != NULL) {
		/* Ownership passes to the caller. */
		*ep = e;
		e = NULL;
	}
	r = 0;
out:
	store_edge_free(e);
	return r;
}

/*
 * Edge <id> with its addresses, backends and live members, read in one
 * transaction so that they agree.
 */
int
store_edge_get(struct store *store, const char *id, struct store_edge **ep)
{
	static const char sql[] = STORE_EDGE_SELECT " WHERE d.id = ?1";
	struct store_edge *e = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ep != NULL)
		*ep = NULL;
	if (store == NULL || id == NULL || ep == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0 ||
	    (r = store_get(store, &store_edge_rows, &e, sql, "t", id)) != 0 ||
	    (r = store_edge_load(store, e)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	/* Ownership passes to the caller. */
	*ep = e;
	e = NULL;
	r = 0;
out:
	if (r != 0 && store != NULL)
		store_rollback(store);
	store_edge_free(e);
	return r;
}

/* All edges with their lists, oldest first. An empty list is NULL, 0. */
int
store_edge_list(struct store *store, struct store_edge ***listp, size_t *np)
{
	static const char sql[] =
	    STORE_EDGE_SELECT " ORDER BY d.created_ms, d.seq";
	struct store_edge **list = NULL;
	void *rows = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (store == NULL || listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin_read(store)) != 0 ||
	    (r = store_list(store, &store_edge_rows, &rows, &n, sql, "")) != 0)
		goto out;
	list = rows;
	for (i = 0; i < n; i++) {
		if ((r = store_edge_load(store, list[i])) != 0)
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
	if (r != 0 && store != NULL)
		store_rollback(store);
	store_edge_list_free(list, n);
	return r;
}

/*
 * Delete edge <id> in one transaction. Its addresses owned by no
 * account become tombstones first, keeping their ports for good; the
 * cascade then takes every address off it (those of accounts stay
 * theirs, as they were) and drops its backends. _NOT_FOUND if absent.
 */
int
store_edge_delete(struct store *store, const char *id, int64_t now_ms)
{
	int r = PORTHOLE_ERR_INTERNAL, n, ntomb = 0;

	if (store == NULL || id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, &ntomb,
	         "UPDATE addresses SET deleted_ms = ?2"
	         " WHERE account_id IS NULL AND deleted_ms IS NULL"
	         " AND id IN (SELECT address_id FROM edge_addresses"
	         "  WHERE edge_id = ?1)",
	         "tI", id, now_ms)) != 0 ||
	    (r = store_run(store, &n, "DELETE FROM edges WHERE id = ?1", "t",
	         id)) != 0)
		goto out;
	if (n == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	debug_f("edge %.40s: deleted, %d addresses tombstoned", id, ntomb);
	r = 0;
out:
	if (r != 0 && store != NULL)
		store_rollback(store);
	return r;
}

/*
 * Put reserved address <address_id> on edge <edge_id>: _EXISTS if it
 * is on an edge (UNIQUE(address_id)), _NOT_FOUND for an unknown edge
 * (the foreign key) or an address that is unknown or deleted.
 */
int
store_edge_address_add(struct store *store, const char *edge_id,
    const char *address_id)
{
	static const char sql[] =
	    "INSERT INTO edge_addresses (edge_id, address_id, seq)"
	    " SELECT ?1, id,"
	    " (SELECT coalesce(max(seq), 0) + 1 FROM edge_addresses)"
	    " FROM addresses"
	    " WHERE id = ?2 AND deleted_ms IS NULL";
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (store == NULL || edge_id == NULL || address_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run_locked(store, &n, sql, "tt", edge_id, address_id)) !=
	    0)
		goto out;
	r = n == 0 ? PORTHOLE_ERR_NOT_FOUND : 0;
out:
	return r;
}

/*
 * Take address <address_id> off edge <edge_id>; it stays reserved, to
 * its account if it has one. Endpoints serving it are not ended here.
 */
int
store_edge_address_remove(struct store *store, const char *edge_id,
    const char *address_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || address_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "DELETE FROM edge_addresses"
	    " WHERE edge_id = ?1 AND address_id = ?2",
	    "tt", edge_id, address_id);
out:
	return r;
}

/*
 * Make account <account_id> a backend of edge <edge_id>: _EXISTS if it
 * is one, _NOT_FOUND for an unknown edge or account (foreign keys).
 */
int
store_edge_backend_add(struct store *store, const char *edge_id,
    const char *account_id)
{
	if (store == NULL || edge_id == NULL || account_id == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run(store, NULL,
	    "INSERT INTO edge_backends (edge_id, account_id) VALUES (?1, ?2)",
	    "tt", edge_id, account_id);
}

/*
 * Account <account_id> is no longer a backend of edge <edge_id>;
 * _NOT_FOUND if it was not one. Its members are not ended here.
 */
int
store_edge_backend_remove(struct store *store, const char *edge_id,
    const char *account_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || account_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "DELETE FROM edge_backends"
	    " WHERE edge_id = ?1 AND account_id = ?2",
	    "tt", edge_id, account_id);
out:
	return r;
}

/* Whether account <account_id> is a backend of edge <edge_id>. */
int
store_edge_is_backend(struct store *store, const char *edge_id,
    const char *account_id, int *isp)
{
	static const char sql[] = "SELECT CASE WHEN EXISTS"
	                          " (SELECT 1 FROM edge_backends"
	                          " WHERE edge_id = ?1 AND account_id = ?2)"
	                          " THEN 1 ELSE 0 END";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (isp != NULL)
		*isp = 0;
	if (store == NULL || edge_id == NULL || account_id == NULL ||
	    isp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "tt", edge_id, account_id)) !=
	    0)
		goto out;
	if ((rc = db_step(stmt)) != DB_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	*isp = store_column_int(stmt, 0) != 0;
	r = 0;
out:
	db_finalize(stmt);
	return r;
}

/* Set the description of edge <edge_id> ("" clears it); _NOT_FOUND. */
int
store_edge_set_description(struct store *store, const char *edge_id,
    const char *description)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || description == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE edges SET description = ?2 WHERE id = ?1", "tt", edge_id,
	    description);
out:
	return r;
}

/*
 * Attach policy <policy_id> to edge <edge_id>, or detach with NULL:
 * _NOT_FOUND for an unknown edge or policy (the foreign key).
 */
int
store_edge_set_ip_policy(struct store *store, const char *edge_id,
    const char *policy_id)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE edges SET ip_policy_id = ?2 WHERE id = ?1", "tt", edge_id,
	    policy_id);
out:
	return r;
}

/*
 * Set the PROXY protocol version of edge <edge_id>: _INVALID_ARGUMENT
 * unless 0, 1 or 2; _NOT_FOUND for an unknown edge.
 */
int
store_edge_set_proxy_proto(struct store *store, const char *edge_id,
    int version)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (store == NULL || edge_id == NULL || version < 0 || version > 2) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = store_change(store,
	    "UPDATE edges SET proxy_proto = ?2 WHERE id = ?1", "ti", edge_id,
	    version);
out:
	return r;
}

/* Free <e> and its lists; NULL is a no-op. */
void
store_edge_free(struct store_edge *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->description);
	free(e->ip_policy_id);
	free(e->ip_policy_name);
	store_address_list_free(e->addresses, e->naddresses);
	store_account_list_free(e->backends, e->nbackends);
	store_endpoint_list_free(e->members, e->nmembers);
	free(e);
}

/* Free the <n> edges of <list> and the list itself. */
void
store_edge_list_free(struct store_edge **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_edge_free(list[i]);
	free(list);
}
