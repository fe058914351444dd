/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_STORE_INT_H
#define PORTHOLE_STORE_INT_H

/*
 * What the store's files share and nothing else sees: the handle, the
 * row mappers and statement helpers of store.c, and the column lists
 * each entity's *_from_row() reads. Entity files (store-<entity>.c)
 * write their SQL by the portable rules at the top of store.c.
 */

#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;
struct store_usage;

struct store {
	struct db *db;
	char errmsg[256]; /* copy of the last error message */
	char logged[320]; /* the last error logged, and when (monotonic) */
	int64_t logged_ms;
	/* The connection was lost (PostgreSQL): when to try it again. */
	int lost;
	uint64_t outages; /* times it was lost */
	int64_t retry_ms; /* monotonic */
	int64_t retry_gap_ms;
};

/* The columns each *_from_row() function reads, in its order. */
/* An account's traffic limits (columns 13-18), NULL read as -1. */
#define STORE_ACCOUNT_LIMITS                                                   \
	"coalesce(a.bandwidth_limit, -1), coalesce(a.quota_bytes, -1),"        \
	" coalesce(a.quota_period_s, 0), coalesce(a.connection_rate, -1),"     \
	" coalesce(a.connections_per_source, -1),"                             \
	" coalesce(a.idle_timeout_s, -1)"

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
	" a.ip_policy_id, p.name, " STORE_ACCOUNT_LIMITS                       \
	" FROM accounts a LEFT JOIN ip_policies p ON p.id = a.ip_policy_id"

/*
 * The same columns without the counts (read as 0), which cost a scan of
 * the account's rows in four tables: for callers that need the account
 * and not what it holds.
 */
#define STORE_ACCOUNT_SELECT_LIGHT                                             \
	"SELECT a.id, a.name, a.disabled, a.created_ms, a.description,"        \
	" a.max_sessions, a.max_endpoints, 0, 0, 0, 0, a.ip_policy_id, "       \
	"p.name,"                                                              \
	" " STORE_ACCOUNT_LIMITS                                               \
	" FROM accounts a LEFT JOIN ip_policies p ON p.id = a.ip_policy_id"

#define STORE_KEY_SELECT                                                       \
	"SELECT k.fingerprint, k.account_id, a.name, a.disabled,"              \
	" k.type, k.blob, k.comment, k.created_ms, k.id, k.description,"       \
	" k.metadata"                                                          \
	" FROM keys k JOIN accounts a ON a.id = k.account_id"

#define STORE_SESSION_SELECT                                                   \
	"SELECT s.id, s.account_id, a.name, s.pid, s.client_ip,"               \
	" s.client_port, s.\"user\", s.credential, s.started_ms, s.ended_ms,"  \
	" s.end_reason,"                                                       \
	" (SELECT count(*) FROM endpoints e"                                   \
	"  WHERE e.session_id = s.id AND e.ended_ms IS NULL),"                 \
	" s.conns_open, s.conns_total, s.bytes_in, s.bytes_out,"               \
	" s.node, s.region,"                                                   \
	" (SELECT count(*) FROM endpoints e"                                   \
	"  WHERE e.session_id = s.id AND e.ended_ms IS NULL AND e.pooled = 1)" \
	" FROM sessions s JOIN accounts a ON a.id = s.account_id"

#define STORE_ENDPOINT_SELECT                                                  \
	"SELECT e.id, e.session_id, e.account_id, a.name, e.host, e.port,"     \
	" e.bind_address, e.metadata, e.address_id, e.started_ms, e.ended_ms," \
	" e.edge_id, e.conns_open, e.conns_total, e.bytes_in, e.bytes_out,"    \
	" e.node, e.region, e.pooled"                                          \
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
	" r.proxy_proto, r.ip_policy_id, p.name, x.edge_id,"                   \
	" (SELECT e.node FROM endpoints e"                                     \
	"  WHERE e.address_id = r.id AND e.ended_ms IS NULL"                   \
	"  ORDER BY e.started_ms, e.seq LIMIT 1),"                             \
	" (SELECT e.region FROM endpoints e"                                   \
	"  WHERE e.address_id = r.id AND e.ended_ms IS NULL"                   \
	"  ORDER BY e.started_ms, e.seq LIMIT 1), r.pooling"                   \
	" FROM addresses r LEFT JOIN accounts a ON a.id = r.account_id"        \
	" LEFT JOIN ip_policies p ON p.id = r.ip_policy_id"                    \
	" LEFT JOIN edge_addresses x ON x.address_id = r.id"

#define STORE_TOKEN_SELECT                                                     \
	"SELECT t.id, t.account_id, a.name, a.disabled, t.description,"        \
	" t.created_ms, t.last_used_ms, t.revoked_ms, t.hash, t.metadata"      \
	" FROM tokens t JOIN accounts a ON a.id = t.account_id"

#define STORE_APIKEY_SELECT                                                    \
	"SELECT k.id, k.account_id, a.name, a.disabled, k.description,"        \
	" k.created_ms, k.last_used_ms, k.revoked_ms, k.hash"                  \
	" FROM api_keys k LEFT JOIN accounts a ON a.id = k.account_id"

/* Attachments count reserved addresses, not tombstones. */
#define STORE_IP_POLICY_SELECT                                                 \
	"SELECT p.id, p.name, p.description, p.created_ms,"                    \
	" (SELECT count(*) FROM accounts a WHERE a.ip_policy_id = p.id),"      \
	" (SELECT count(*) FROM addresses r"                                   \
	"  WHERE r.ip_policy_id = p.id AND r.deleted_ms IS NULL),"             \
	" (SELECT count(*) FROM edges d WHERE d.ip_policy_id = p.id),"         \
	" p.metadata"                                                          \
	" FROM ip_policies p"

#define STORE_EDGE_SELECT                                                      \
	"SELECT d.id, d.description, d.ip_policy_id, p.name, d.proxy_proto,"   \
	" d.created_ms, d.metadata"                                            \
	" FROM edges d LEFT JOIN ip_policies p ON p.id = d.ip_policy_id"

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
int64_t store_now_ms(void);

/*
 * Errors: store_error() keeps the driver's message for <r> (a db_*
 * result on <sql>) and logs it, returning the PORTHOLE_ERR_* to pass
 * on; store_fail() sets a reason of our own (PORTHOLE_ERR_STORE).
 */
int store_error(struct store *store, int r, const char *sql);
int store_fail(struct store *store, const char *reason);

/*
 * Statements. Parameters ?1, ?2, … are bound from the arguments, one
 * letter of <types> for each: 't' const char * (NULL binds SQL NULL),
 * 'i' int, 'I' int64_t, 'b' const void * and size_t; strings and
 * blobs must outlive the statement. store_run() runs a statement that
 * returns no rows (rows changed in *changesp, may be NULL);
 * store_run_locked() does it in a write transaction of its own;
 * store_rerun() runs one prepared for a batch again with new values.
 */
int store_prepare(struct store *store, struct db_stmt **stmtp, const char *sql,
    const char *types, ...);
int store_step_done(struct store *store, struct db_stmt *stmt, const char *sql);
int store_run(struct store *store, int *changesp, const char *sql,
    const char *types, ...);
int store_run_locked(struct store *store, int *changesp, const char *sql,
    const char *types, ...);
int store_rerun(struct store *store, struct db_stmt *stmt, const char *sql,
    const char *types, ...);
/*
 * The row of secrets stored as keyed hashes (tokens, API keys): run
 * <sql>, whose ?1 is the hash, and leave *stmtp on its row (the
 * caller's to finalize), with the digest of column <hashcol> copied to
 * <stored_hash> (TOKEN_HASH_LEN bytes) if that is not NULL; <what>
 * names the secret in an error. _INVALID_ARGUMENT for a hash of the
 * wrong length, _NOT_FOUND for no row.
 */
int store_hashed_row(struct store *store, const char *sql,
    const unsigned char *hash, size_t hashlen, int hashcol,
    unsigned char *stored_hash, const char *what, struct db_stmt **stmtp);
/* store_run() of a one-row UPDATE or DELETE: _NOT_FOUND if none changed. */
int store_change(struct store *store, const char *sql, const char *types, ...);

/* Transactions: write (takes the write lock now), read, and the end. */
int store_begin(struct store *store);
int store_begin_read(struct store *store);
int store_commit(struct store *store);
void store_rollback(struct store *store);

/* Column <i> of the current row: an int, or a copy of its text. */
int store_column_int(struct db_stmt *stmt, int i);
char *store_column_text(struct db_stmt *stmt, int i);

/*
 * SQL for a keyset page of <select> (whose table has alias <t>, with
 * columns id and <time>), with the condition <cond> on top: the rows of
 * account ?1 (NULL: any) strictly older, by (<time>, id), than the row
 * ?2 of <table> (NULL: from the newest), newest first, at most ?3.
 */
#define STORE_PAGE_SQL(select, cond, t, table, time)                           \
	select " WHERE " cond " AND (CAST(?1 AS TEXT) IS NULL OR " t           \
	       ".account_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR (" t        \
	       "." time ", " t ".id) < (SELECT o." time ", o.id FROM " table   \
	       " o WHERE o.id = ?2)) ORDER BY " t "." time " DESC, " t         \
	       ".id DESC LIMIT ?3"
/* The most rows store_page() reads at once. */
#define STORE_PAGE_MAX 1000
void store_page_cut(const struct store_rows *rows, void *list, size_t *np,
    size_t limit, int *morep);
int store_page(struct store *store, const struct store_rows *rows,
    const char *sql, const char *account_id, const char *before_id,
    size_t limit, void **listp, size_t *np, int *morep);
/*
 * Rows made into C values by <rows>: the first row of <sql> into
 * <slot> (_NOT_FOUND if none); every row of a bound <stmt> or of
 * <sql> into a new list in *listp, *np; store_list_account() runs
 * <sql_all>, or with <account> (name or id) <sql_one> with its id ?1.
 */
int store_get(struct store *store, const struct store_rows *rows, void *slot,
    const char *sql, const char *types, ...);
int store_collect(struct store *store, const struct store_rows *rows,
    struct db_stmt *stmt, const char *sql, void **listp, size_t *np);
int store_list(struct store *store, const struct store_rows *rows, void **listp,
    size_t *np, const char *sql, const char *types, ...);
int store_list_account(struct store *store, const struct store_rows *rows,
    const char *account, const char *sql_all, const char *sql_one, void **listp,
    size_t *np);

/* The row mappers other entities' lists need. */
extern const struct store_rows store_int64_rows; /* column 0, int64_t */
/* store-usage.c: check usage rows, and add them in the open transaction. */
int store_usage_valid(const struct store_usage *rows, size_t n);
int store_usage_add_in(struct store *store, const struct store_usage *rows,
    size_t n);
extern const struct store_rows store_account_rows;
extern const struct store_rows store_address_rows;
extern const struct store_rows store_endpoint_rows;
/* Events: seq, id, type, timestamp_ms, account_id, json. */
extern const struct store_rows store_event_rows;
extern const struct store_rows store_session_rows;

/*
 * End the live sessions <q> selects by <key> with <reason>, inside the
 * caller's transaction; their pids (each once) in *pidsp, *npidsp, the
 * number ended in *np.
 */
extern const struct store_end_sql store_end_by_session;
extern const struct store_end_sql store_end_by_account;
extern const struct store_end_sql store_end_by_credential;
int store_end_live(struct store *store, const struct store_end_sql *q,
    const char *key, const char *reason, int64_t now_ms, int64_t **pidsp,
    size_t *npidsp, int *np);
/*
 * Hand <*pids> (npids of them) to the caller's *pidsp, *npidsp (either
 * may be NULL); *pids is then NULL if the caller took them.
 */
void store_pids_give(int64_t **pids, size_t npids, int64_t **pidsp,
    size_t *npidsp);
/*
 * In one write transaction, <sql> (one row, else _NOT_FOUND), then end
 * the live sessions of credential <cred> with <reason>: their pids to
 * *pidsp, *npidsp as store_pids_give(), their number to *endedp.
 */
int store_withdraw(struct store *store, const char *cred, const char *reason,
    int64_t now_ms, int64_t **pidsp, size_t *npidsp, int *endedp,
    const char *sql, const char *types, ...);

#endif /* PORTHOLE_STORE_INT_H */
