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

/* The store's nodes: the portholed processes of a fleet, by name. */

#define STORE_NODE_SELECT                                                      \
	"SELECT n.name, n.region, n.hosts, n.started_ms, n.heartbeat_ms,"      \
	" n.lost_ms, (SELECT count(*) FROM sessions s"                         \
	"  WHERE s.node = n.name AND s.ended_ms IS NULL)"                      \
	" FROM nodes n"

static void
store_node_from_row(struct db_stmt *stmt, void *slot)
{
	struct store_node *n;

	n = xcalloc(1, sizeof(*n));
	n->name = store_column_text(stmt, 0);
	n->region = store_column_text(stmt, 1);
	n->hosts = store_column_text(stmt, 2);
	n->started_ms = db_column_int64(stmt, 3);
	n->heartbeat_ms = db_column_int64(stmt, 4);
	n->lost_ms = db_column_int64(stmt, 5); /* NULL reads as 0 */
	n->nsessions = store_column_int(stmt, 6);
	*(struct store_node **)slot = n;
}

static void
store_node_list_vfree(void *list, size_t n)
{
	store_node_list_free(list, n);
}

static const struct store_rows store_node_rows = { sizeof(struct store_node *),
	store_node_from_row, store_node_list_vfree };

/*
 * Insert or refresh <name>'s row inside the caller's transaction. A
 * heartbeat is the database's time, so that nodes' clocks need not
 * agree for one to judge another's silence.
 */
static int
store_node_put(struct store *store, const char *name, const char *region,
    const char *hosts, int64_t now_ms, int start)
{
	const char *now = db_dialect(store->db, DB_SQL_NOW_MS);
	char sql[512];
	int r, n;

	snprintf(sql, sizeof(sql),
	    "UPDATE nodes SET region = ?2, hosts = ?3, %s heartbeat_ms = %s,"
	    " lost_ms = NULL WHERE name = ?1",
	    start ? "started_ms = ?4," : "", now);
	if ((r = store_run(store, &n, sql, start ? "tttI" : "ttt", name, region,
	         hosts, now_ms)) != 0)
		return r;
	if (n > 0)
		return 0;
	snprintf(sql, sizeof(sql),
	    "INSERT INTO nodes (name, region, hosts, started_ms,"
	    " heartbeat_ms) VALUES (?1, ?2, ?3, ?4, %s)",
	    now);
	return store_run(store, NULL, sql, "tttI", name, region, hosts, now_ms);
}

int
store_node_start(struct store *store, const char *name, const char *region,
    const char *hosts, int64_t now_ms, int *np)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (np != NULL)
		*np = 0;
	if (name == NULL || *name == '\0') {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (region == NULL)
		region = "";
	if (hosts == NULL)
		hosts = "";
	if ((r = store_begin(store)) != 0 ||
	    (r = store_node_put(store, name, region, hosts, now_ms, 1)) != 0 ||
	    (r = store_run(store, NULL,
	         "UPDATE endpoints SET ended_ms = ?1 WHERE ended_ms IS NULL"
	         " AND (node = ?2 OR node = '')",
	         "It", now_ms, name)) != 0 ||
	    (r = store_run(store, &n,
	         "UPDATE sessions SET ended_ms = ?1 WHERE ended_ms IS NULL"
	         " AND (node = ?2 OR node = '')",
	         "It", now_ms, name)) != 0 ||
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

int
store_node_beat(struct store *store, const char *name, const char *region,
    const char *hosts, int64_t now_ms, int64_t *lostp)
{
	static const char sql[] = "SELECT lost_ms FROM nodes WHERE name = ?1";
	struct db_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (lostp != NULL)
		*lostp = 0;
	if (name == NULL || *name == '\0') {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_begin(store)) != 0 ||
	    (r = store_prepare(store, &stmt, sql, "t", name)) != 0)
		goto out;
	if ((rc = db_step(stmt)) == DB_ROW) {
		if (lostp != NULL)
			*lostp = db_column_int64(stmt, 0);
	} else if (rc != DB_DONE) {
		r = store_error(store, rc, sql);
		goto out;
	}
	db_finalize(stmt);
	stmt = NULL;
	if ((r = store_node_put(store, name, region != NULL ? region : "",
	         hosts != NULL ? hosts : "", now_ms, 0)) != 0 ||
	    (r = store_commit(store)) != 0)
		goto out;
	r = 0;
out:
	db_finalize(stmt);
	if (r != 0)
		store_rollback(store);
	return r;
}

/* Append the <n> pointers of <more> to *listp, *np; <more> is freed. */
static void
store_node_append(void ***listp, size_t *np, void *more, size_t n)
{
	if (n == 0) {
		free(more);
		return;
	}
	*listp = xreallocarray(*listp, *np + n, sizeof(void *));
	memcpy(*listp + *np, more, n * sizeof(void *));
	*np += n;
	free(more);
}

int
store_node_release(struct store *store, const char *self, int64_t silence_ms,
    int64_t now_ms, char ***namesp, size_t *np, struct store_released *released)
{
	static const char sql_sessions[] = STORE_SESSION_SELECT
	    " WHERE s.ended_ms IS NULL AND s.node = ?1 ORDER BY s.seq";
	static const char sql_endpoints[] = STORE_ENDPOINT_SELECT
	    " WHERE e.ended_ms IS NULL AND e.node = ?1 ORDER BY e.seq";
	struct store_released got;
	struct db_stmt *stmt = NULL;
	char sql[512];
	char **names = NULL;
	void *more = NULL;
	size_t n = 0, i, nmore = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	*namesp = NULL;
	*np = 0;
	memset(&got, 0, sizeof(got));
	if (released != NULL)
		memset(released, 0, sizeof(*released));
	if (self == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	snprintf(sql, sizeof(sql),
	    "SELECT name FROM nodes WHERE name <> ?1 AND lost_ms IS NULL"
	    " AND heartbeat_ms < %s - ?2 ORDER BY name",
	    db_dialect(store->db, DB_SQL_NOW_MS));
	/* The write lock first: a node's late heartbeat is seen, or waits. */
	if ((r = store_begin(store)) != 0 ||
	    (r = store_prepare(store, &stmt, sql, "tI", self, silence_ms)) != 0)
		goto out;
	while ((rc = db_step(stmt)) == DB_ROW) {
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = store_column_text(stmt, 0);
	}
	if (rc != DB_DONE) {
		r = store_error(store, rc, sql);
		goto out;
	}
	db_finalize(stmt);
	stmt = NULL;
	for (i = 0; i < n; i++) {
		/* What ends, as it was, for the closing events. */
		if ((r = store_list(store, &store_session_rows, &more, &nmore,
		         sql_sessions, "t", names[i])) != 0)
			goto out;
		store_node_append((void ***)&got.sessions, &got.nsessions, more,
		    nmore);
		if ((r = store_list(store, &store_endpoint_rows, &more, &nmore,
		         sql_endpoints, "t", names[i])) != 0)
			goto out;
		store_node_append((void ***)&got.endpoints, &got.nendpoints,
		    more, nmore);
		if ((r = store_run(store, NULL,
		         "UPDATE endpoints SET ended_ms = ?2"
		         " WHERE ended_ms IS NULL AND node = ?1",
		         "tI", names[i], now_ms)) != 0 ||
		    (r = store_run(store, NULL,
		         "UPDATE sessions SET ended_ms = ?2,"
		         " end_reason = 'node lost'"
		         " WHERE ended_ms IS NULL AND node = ?1",
		         "tI", names[i], now_ms)) != 0 ||
		    (r = store_run(store, NULL,
		         "UPDATE nodes SET lost_ms = ?2 WHERE name = ?1", "tI",
		         names[i], now_ms)) != 0)
			goto out;
	}
	if ((r = store_commit(store)) != 0)
		goto out;
	*namesp = names;
	*np = n;
	names = NULL;
	n = 0;
	if (released != NULL) {
		*released = got;
		memset(&got, 0, sizeof(got));
	}
	r = 0;
out:
	db_finalize(stmt);
	if (r != 0)
		store_rollback(store);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	store_released_clear(&got);
	return r;
}

void
store_released_clear(struct store_released *rel)
{
	if (rel == NULL)
		return;
	store_session_list_free(rel->sessions, rel->nsessions);
	store_endpoint_list_free(rel->endpoints, rel->nendpoints);
	memset(rel, 0, sizeof(*rel));
}

int
store_node_stop(struct store *store, const char *name)
{
	if (name == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run_locked(store, NULL,
	    "DELETE FROM nodes WHERE name = ?1", "t", name);
}

int
store_node_list(struct store *store, struct store_node ***listp, size_t *np)
{
	static const char sql[] = STORE_NODE_SELECT " ORDER BY n.name";
	void *list = NULL;
	int r;

	r = store_list(store, &store_node_rows, &list, np, sql, "");
	*listp = list;
	return r;
}

void
store_node_free(struct store_node *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->region);
	free(n->hosts);
	free(n);
}

void
store_node_list_free(struct store_node **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		store_node_free(list[i]);
	free(list);
}
