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
#include "event.h"
#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/* The store's events, counters and live statistics. */

/* store_event_cap() deletes at most this many events per transaction. */
#define STORE_EVENT_CAP_BATCH 1000

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
    const struct store_endpoint_stats *endpoints, size_t nendpoints,
    const struct store_usage *usage, size_t nusage)
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
	    !store_usage_valid(usage, nusage) ||
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
	if (nsessions == 0 && nendpoints == 0 && nusage == 0) {
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
	db_finalize(stmt);
	stmt = NULL;
	if ((r = store_usage_add_in(store, usage, nusage)) != 0)
		goto out;
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

const struct store_rows store_event_rows = { sizeof(struct store_event *),
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
store_live_totals(struct store *store, const char *node, int64_t *sessionsp,
    int64_t *endpointsp, int64_t *conns_openp)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM sessions WHERE ended_ms IS NULL"
	    "  AND (CAST(?1 AS TEXT) IS NULL OR node = ?1)),"
	    " (SELECT count(*) FROM endpoints WHERE ended_ms IS NULL"
	    "  AND (CAST(?1 AS TEXT) IS NULL OR node = ?1)),"
	    " (SELECT CAST(coalesce(sum(conns_open), 0) AS BIGINT) FROM "
	    "sessions"
	    "  WHERE ended_ms IS NULL AND (CAST(?1 AS TEXT) IS NULL"
	    "  OR node = ?1))";
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
	if ((r = store_prepare(store, &stmt, sql, "t", node)) != 0)
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
	return store_record_batch(store, NULL, 0, NULL, 0, NULL, 0, stats, n,
	    NULL, 0);
}

/*
 * A page of events, newest first by seq: of account <account_id> (NULL:
 * any), of <type> (NULL: any), from <since_ms> (0: any), stored before
 * event <before_id> (NULL: from the newest).
 */
int
store_event_page(struct store *store, const char *account_id, const char *type,
    int64_t since_ms, const char *before_id, size_t limit,
    struct store_event ***listp, size_t *np, int *morep)
{
	static const char sql[] =
	    "SELECT seq, id, type, timestamp_ms, account_id, json"
	    " FROM events e"
	    " WHERE (CAST(?1 AS TEXT) IS NULL OR e.account_id = ?1)"
	    " AND (CAST(?2 AS TEXT) IS NULL OR e.seq <"
	    "  (SELECT o.seq FROM events o WHERE o.id = ?2))"
	    " AND (CAST(?4 AS TEXT) IS NULL OR e.type = ?4)"
	    " AND e.timestamp_ms >= ?5"
	    " ORDER BY e.seq DESC LIMIT ?3";
	void *list = NULL;
	size_t n = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL || morep == NULL || limit == 0 ||
	    limit > STORE_PAGE_MAX) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	*morep = 0;
	if ((r = store_list(store, &store_event_rows, &list, &n, sql, "ttItI",
	         account_id, before_id, (int64_t)limit + 1, type, since_ms)) !=
	    0)
		goto out;
	store_page_cut(&store_event_rows, list, &n, limit, morep);
	/* Ownership passes to the caller. */
	*listp = list;
	*np = n;
	r = 0;
out:
	return r;
}

/* Event <id>; _NOT_FOUND if there is none (or it was pruned). */
int
store_event_get(struct store *store, const char *id, struct store_event **ep)
{
	static const char sql[] =
	    "SELECT seq, id, type, timestamp_ms, account_id, json"
	    " FROM events WHERE id = ?1";

	if (ep != NULL)
		*ep = NULL;
	if (id == NULL || ep == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_get(store, &store_event_rows, ep, sql, "t", id);
}
