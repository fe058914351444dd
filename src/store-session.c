/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/* The store's sessions. */

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
	s->node = store_column_text(stmt, 16);
	s->region = store_column_text(stmt, 17);
	s->npooled = store_column_int(stmt, 18);
	*(struct store_session **)slot = s;
}

static void
store_session_list_vfree(void *list, size_t n)
{
	store_session_list_free(list, n);
}

const struct store_rows store_session_rows = { sizeof(struct store_session *),
	store_session_from_row, store_session_list_vfree };

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
	    " started_ms, node, region, seq)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
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
	if ((r = store_run(store, NULL, sql, "ttItittItt", s->id, s->account_id,
	         s->pid, s->client_ip, s->client_port,
	         s->user != NULL ? s->user : "",
	         s->credential != NULL ? s->credential : "", s->started_ms,
	         s->node != NULL ? s->node : "",
	         s->region != NULL ? s->region : "")) != 0 ||
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

/* End the live sessions of process <pid> on <node>, and their endpoints. */
int
store_session_end_pid(struct store *store, const char *node, int64_t pid,
    int64_t now_ms, int *np)
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
	         "  WHERE pid = ?1 AND node = ?3 AND ended_ms IS NULL)",
	         "IIt", pid, now_ms, node != NULL ? node : "")) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE sessions SET ended_ms = ?2"
	         " WHERE pid = ?1 AND node = ?3 AND ended_ms IS NULL",
	         "IIt", pid, now_ms, node != NULL ? node : "")) != 0 ||
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
 * End the live sessions and endpoints of <node> and of no node, or all
 * with a NULL <node> (rows left by a previous run).
 */
int
store_session_end_all(struct store *store, const char *node, int64_t now_ms,
    int *np)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (np != NULL)
		*np = 0;
	/* ?2 NULL matches every row: one server, whatever its name was. */
	if ((r = store_begin(store)) != 0 ||
	    (r = store_run(store, NULL,
	         "UPDATE endpoints SET ended_ms = ?1 WHERE ended_ms IS NULL"
	         " AND (CAST(?2 AS TEXT) IS NULL OR node = ?2 OR node = '')",
	         "It", now_ms, node)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE sessions SET ended_ms = ?1 WHERE ended_ms IS NULL"
	         " AND (CAST(?2 AS TEXT) IS NULL OR node = ?2 OR node = '')",
	         "It", now_ms, node)) != 0 ||
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
	    "  ELSE 0 END,"
	    " coalesce(a.bandwidth_limit, -1), coalesce(a.quota_bytes, -1),"
	    " coalesce(a.quota_period_s, -1), coalesce(a.connection_rate, -1),"
	    " coalesce(a.connections_per_source, -1),"
	    " coalesce(a.idle_timeout_s, -1)"
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
	st->bandwidth_limit = db_column_int64(stmt, 5);
	st->quota_bytes = db_column_int64(stmt, 6);
	st->quota_period_s = db_column_int64(stmt, 7);
	st->connection_rate = db_column_int64(stmt, 8);
	st->connections_per_source = db_column_int64(stmt, 9);
	st->idle_timeout_s = db_column_int64(stmt, 10);
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
	free(s->node);
	free(s->region);
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

/* A page of the live sessions of <account_id> (NULL: of all). */
int
store_session_page(struct store *store, const char *account_id,
    const char *before_id, size_t limit, struct store_session ***listp,
    size_t *np, int *morep)
{
	static const char sql[] = STORE_PAGE_SQL(STORE_SESSION_SELECT,
	    "s.ended_ms IS NULL", "s", "sessions", "started_ms");
	void *list = NULL;
	int r;

	r = store_page(store, &store_session_rows, sql, account_id, before_id,
	    limit, listp != NULL ? &list : NULL, np, morep);
	/* Ownership passes to the caller; NULL on error. */
	if (listp != NULL)
		*listp = list;
	return r;
}
