/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "err.h"
#include "id.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define STORE_ACCOUNT_NAME_MAX 64

struct store {
	sqlite3 *db;
	char errmsg[256]; /* copy of the last SQLite error message */
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
};

#define STORE_NMIGRATIONS                                                      \
	(sizeof(store_migrations) / sizeof(store_migrations[0]))
_Static_assert(STORE_NMIGRATIONS == STORE_SCHEMA_VERSION + 1,
    "one migration per schema version");

/* The columns each *_from_row() function reads, in its order. */
#define STORE_ACCOUNT_SELECT                                                   \
	"SELECT a.id, a.name, a.disabled, a.created_ms,"                       \
	" (SELECT count(*) FROM keys k WHERE k.account_id = a.id)"             \
	" FROM accounts a"

#define STORE_KEY_SELECT                                                       \
	"SELECT k.fingerprint, k.account_id, a.name, a.disabled,"              \
	" k.type, k.blob, k.comment, k.created_ms"                             \
	" FROM keys k JOIN accounts a ON a.id = k.account_id"

#define STORE_SESSION_SELECT                                                   \
	"SELECT s.id, s.account_id, a.name, s.pid, s.client_ip,"               \
	" s.client_port, s.user, s.credential, s.started_ms, s.ended_ms,"      \
	" (SELECT count(*) FROM endpoints e"                                   \
	"  WHERE e.session_id = s.id AND e.ended_ms IS NULL)"                  \
	" FROM sessions s JOIN accounts a ON a.id = s.account_id"

#define STORE_ENDPOINT_SELECT                                                  \
	"SELECT e.id, e.session_id, e.account_id, a.name, e.host, e.port,"     \
	" e.bind_address, e.metadata, e.started_ms, e.ended_ms"                \
	" FROM endpoints e JOIN accounts a ON a.id = e.account_id"

/* Milliseconds since the epoch, from the realtime clock. */
static int64_t
store_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal_f("clock_gettime failed");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Map SQLite result <rc> of statement <sql> to a PORTHOLE_ERR_*,
 * keeping SQLite's message for store_errmsg().
 */
static int
store_error(struct store *store, int rc, const char *sql)
{
	int r;

	snprintf(store->errmsg, sizeof(store->errmsg), "%s",
	    store->db != NULL ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		r = PORTHOLE_ERR_BUSY;
		break;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			r = PORTHOLE_ERR_EXISTS;
		else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			r = PORTHOLE_ERR_NOT_FOUND;
		else
			r = PORTHOLE_ERR_STORE;
		break;
	default:
		r = PORTHOLE_ERR_STORE;
		break;
	}
	/* Busy and constraint outcomes are the caller's to report. */
	if (r == PORTHOLE_ERR_STORE)
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

/* store_prepare() with a va_list. */
static int
store_preparev(struct store *store, sqlite3_stmt **stmtp, const char *sql,
    const char *types, va_list ap)
{
	sqlite3_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc, i;

	*stmtp = NULL;
	if ((rc = sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL)) !=
	    SQLITE_OK) {
		r = store_error(store, rc, sql);
		goto out;
	}
	for (i = 0; types[i] != '\0'; i++) {
		switch (types[i]) {
		case 't':
			rc = sqlite3_bind_text(stmt, i + 1,
			    va_arg(ap, const char *), -1, SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int(stmt, i + 1, va_arg(ap, int));
			break;
		case 'I':
			rc = sqlite3_bind_int64(stmt, i + 1,
			    va_arg(ap, int64_t));
			break;
		default:
			fatal_f("bad parameter type '%c'", types[i]);
		}
		if (rc != SQLITE_OK) {
			r = store_error(store, rc, sql);
			goto out;
		}
	}
	/* Ownership passes to the caller, who finalizes it. */
	*stmtp = stmt;
	stmt = NULL;
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
}

/*
 * Compile <sql> into *stmtp and bind its parameters ?1, ?2, … from the
 * arguments, one letter of <types> for each: 't' const char * (NULL
 * binds SQL NULL; the string must outlive the statement), 'i' int,
 * 'I' int64_t.
 */
static int
store_prepare(struct store *store, sqlite3_stmt **stmtp, const char *sql,
    const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = store_preparev(store, stmtp, sql, types, ap);
	va_end(ap);
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
	sqlite3_stmt *stmt = NULL;
	va_list ap;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (changesp != NULL)
		*changesp = 0;
	va_start(ap, types);
	r = store_preparev(store, &stmt, sql, types, ap);
	va_end(ap);
	if (r != 0)
		goto out;
	if ((rc = sqlite3_step(stmt)) != SQLITE_DONE) {
		r = store_error(store, rc, sql);
		goto out;
	}
	if (changesp != NULL)
		*changesp = sqlite3_changes(store->db);
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
}

/* Start a write transaction, taking the write lock now, not on demand. */
static int
store_begin(struct store *store)
{
	return store_run(store, NULL, "BEGIN IMMEDIATE", "");
}

/* Commit the open transaction. */
static int
store_commit(struct store *store)
{
	return store_run(store, NULL, "COMMIT", "");
}

/*
 * Roll back the open transaction, if any; store->errmsg keeps the error
 * that caused it.
 */
static void
store_rollback(struct store *store)
{
	if (sqlite3_get_autocommit(store->db))
		return;
	if (sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		error("store: rollback: %s", sqlite3_errmsg(store->db));
}

/* A copy of text column <i> of the current row, or NULL for SQL NULL. */
static char *
store_column_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *s;

	if ((s = sqlite3_column_text(stmt, i)) == NULL) {
		if (sqlite3_column_type(stmt, i) != SQLITE_NULL)
			fatal_f("out of memory");
		return NULL;
	}
	/* Copied now: the column's memory is gone after the next step. */
	return xstrdup((const char *)s);
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

/* Run the pragma query <sql>, which yields one integer, into *vp. */
static int
store_pragma_int(struct store *store, const char *sql, int *vp)
{
	sqlite3_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	*vp = sqlite3_column_int(stmt, 0);
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
}

/* Switch the database file to write-ahead logging, and check it took. */
static int
store_set_wal(struct store *store)
{
	static const char sql[] = "PRAGMA journal_mode = WAL";
	sqlite3_stmt *stmt = NULL;
	const char *mode;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	/* SQLite answers with the mode now in force. */
	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcasecmp(mode, "wal") != 0) {
		r = store_fail(store, "cannot enable WAL journal mode");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
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
 * another process may have migrated the file meanwhile.
 */
static int
store_migrate(struct store *store)
{
	const char *script;
	char sql[64];
	int r = PORTHOLE_ERR_INTERNAL, rc, version;

	for (;;) {
		if ((r = store_begin(store)) != 0 ||
		    (r = store_schema_version(store, &version)) != 0)
			goto out;
		if (version >= STORE_SCHEMA_VERSION)
			break;
		/* Scripts hold several statements: sqlite3_exec runs all. */
		script = store_migrations[version + 1];
		rc = sqlite3_exec(store->db, script, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			r = store_error(store, rc, script);
			goto out;
		}
		/* A pragma takes no parameters; the number is our own. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    version + 1);
		if ((r = store_run(store, NULL, sql, "")) != 0 ||
		    (r = store_commit(store)) != 0)
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

/* Open the database at <path>, set the pragmas and migrate the schema. */
int
store_open(const char *path, struct store **storep, char *errbuf, size_t errlen)
{
	struct store *store = NULL;
	const char *filename;
	int r = PORTHOLE_ERR_INTERNAL, rc, fk, version;

	if (storep != NULL)
		*storep = NULL;
	if (errbuf != NULL && errlen > 0)
		*errbuf = '\0';
	if (path == NULL || storep == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	store = xcalloc(1, sizeof(*store));
	rc = sqlite3_open_v2(path, &store->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		r = store_error(store, rc, "open");
		goto out;
	}
	sqlite3_extended_result_codes(store->db, 1);
	sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS);
	/* Off by default, per connection; silently ignored if compiled out. */
	if ((r = store_run(store, NULL, "PRAGMA foreign_keys = ON", "")) != 0 ||
	    (r = store_pragma_int(store, "PRAGMA foreign_keys", &fk)) != 0)
		goto out;
	if (fk != 1) {
		r = store_fail(store, "SQLite lacks foreign key support");
		goto out;
	}
	/* Refuse a newer schema before changing anything in the file. */
	if ((r = store_schema_version(store, &version)) != 0 ||
	    (r = store_version_known(store, version)) != 0)
		goto out;
	/* In-memory and temporary databases have no file name and no WAL. */
	filename = sqlite3_db_filename(store->db, "main");
	if (filename != NULL && *filename != '\0' &&
	    (r = store_set_wal(store)) != 0)
		goto out;
	/* With WAL, NORMAL loses nothing when a process crashes. */
	r = store_run(store, NULL, "PRAGMA synchronous = NORMAL", "");
	if (r != 0)
		goto out;
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
	if (sqlite3_close(store->db) != SQLITE_OK)
		error_f("sqlite3_close: %s", sqlite3_errmsg(store->db));
	free(store);
}

/* The schema version of the open database, from PRAGMA user_version. */
int
store_schema_version(struct store *store, int *versionp)
{
	return store_pragma_int(store, "PRAGMA user_version", versionp);
}

/* The last error message of this connection (borrowed). */
const char *
store_errmsg(struct store *store)
{
	if (store == NULL)
		return "no store";
	if (store->errmsg[0] != '\0')
		return store->errmsg;
	return sqlite3_errmsg(store->db);
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

/* A new account from the current row (STORE_ACCOUNT_SELECT). */
static struct store_account *
store_account_from_row(sqlite3_stmt *stmt)
{
	struct store_account *a;

	a = xcalloc(1, sizeof(*a));
	a->id = store_column_text(stmt, 0);
	a->name = store_column_text(stmt, 1);
	a->disabled = sqlite3_column_int(stmt, 2) != 0;
	a->created_ms = sqlite3_column_int64(stmt, 3);
	a->nkeys = sqlite3_column_int(stmt, 4);
	return a;
}

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
	    " WHERE a.id = ?1 OR a.name = ?1 ORDER BY a.id = ?1 DESC LIMIT 1";
	sqlite3_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (accountp != NULL)
		*accountp = NULL;
	if (name_or_id == NULL || accountp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "t", name_or_id)) != 0)
		goto out;
	if ((rc = sqlite3_step(stmt)) == SQLITE_DONE) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	} else if (rc != SQLITE_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	/* Ownership passes to the caller. */
	*accountp = store_account_from_row(stmt);
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
}

/* All accounts, by name. An empty list is NULL with *np = 0. */
int
store_account_list(struct store *store, struct store_account ***listp,
    size_t *np)
{
	static const char sql[] = STORE_ACCOUNT_SELECT " ORDER BY a.name";
	struct store_account **list = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, cap = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = store_list_grow(list, n, &cap, sizeof(*list));
		list[n++] = store_account_from_row(stmt);
	}
	if (rc != SQLITE_DONE) {
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
	sqlite3_finalize(stmt);
	store_account_list_free(list, n);
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

/* Keys. */

/* A new key from the current row (STORE_KEY_SELECT). */
static struct store_key *
store_key_from_row(sqlite3_stmt *stmt)
{
	struct store_key *k;

	k = xcalloc(1, sizeof(*k));
	k->fingerprint = store_column_text(stmt, 0);
	k->account_id = store_column_text(stmt, 1);
	k->account_name = store_column_text(stmt, 2);
	k->account_disabled = sqlite3_column_int(stmt, 3) != 0;
	k->type = store_column_text(stmt, 4);
	k->blob = store_column_text(stmt, 5);
	k->comment = store_column_text(stmt, 6);
	k->created_ms = sqlite3_column_int64(stmt, 7);
	return k;
}

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
	sqlite3_stmt *stmt = NULL;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (keyp != NULL)
		*keyp = NULL;
	if (fingerprint == NULL || keyp == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "t", fingerprint)) != 0)
		goto out;
	if ((rc = sqlite3_step(stmt)) == SQLITE_DONE) {
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	} else if (rc != SQLITE_ROW) {
		r = store_error(store, rc, sql);
		goto out;
	}
	/* Ownership passes to the caller. */
	*keyp = store_key_from_row(stmt);
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
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
	struct store_account *a = NULL;
	struct store_key **list = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, cap = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (account == NULL)
		r = store_prepare(store, &stmt, sql_all, "");
	else if ((r = store_account_get(store, account, &a)) == 0)
		r = store_prepare(store, &stmt, sql_one, "t", a->id);
	if (r != 0)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = store_list_grow(list, n, &cap, sizeof(*list));
		list[n++] = store_key_from_row(stmt);
	}
	if (rc != SQLITE_DONE) {
		r = store_error(store, rc, a != NULL ? sql_one : sql_all);
		goto out;
	}
	/* Ownership passes to the caller. */
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;
	r = 0;
out:
	/* The statement is finalized before a->id, bound to it, is freed. */
	sqlite3_finalize(stmt);
	store_key_list_free(list, n);
	store_account_free(a);
	return r;
}

/* Delete key <fingerprint>; _NOT_FOUND if it is not registered. */
int
store_key_delete(struct store *store, const char *fingerprint)
{
	static const char sql[] = "DELETE FROM keys WHERE fingerprint = ?1";
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (fingerprint == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run(store, &n, sql, "t", fingerprint)) != 0)
		goto out;
	r = n == 0 ? PORTHOLE_ERR_NOT_FOUND : 0;
out:
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

/* A new session from the current row (STORE_SESSION_SELECT). */
static struct store_session *
store_session_from_row(sqlite3_stmt *stmt)
{
	struct store_session *s;

	s = xcalloc(1, sizeof(*s));
	s->id = store_column_text(stmt, 0);
	s->account_id = store_column_text(stmt, 1);
	s->account_name = store_column_text(stmt, 2);
	s->pid = sqlite3_column_int64(stmt, 3);
	s->client_ip = store_column_text(stmt, 4);
	s->client_port = sqlite3_column_int(stmt, 5);
	s->user = store_column_text(stmt, 6);
	s->credential = store_column_text(stmt, 7);
	s->started_ms = sqlite3_column_int64(stmt, 8);
	s->ended_ms = sqlite3_column_int64(stmt, 9); /* NULL reads as 0 */
	s->nendpoints = sqlite3_column_int(stmt, 10);
	return s;
}

/*
 * Record live session <s>: _EXISTS if the id is taken, _NOT_FOUND if
 * the account is unknown. A NULL user or credential is stored as "".
 */
int
store_session_add(struct store *store, const struct store_session *s)
{
	static const char sql[] = "INSERT INTO sessions (id, account_id, pid,"
	                          " client_ip, client_port, user, credential,"
	                          " started_ms)"
	                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

	if (s == NULL || s->id == NULL || s->account_id == NULL ||
	    s->client_ip == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	return store_run(store, NULL, sql, "ttItittI", s->id, s->account_id,
	    s->pid, s->client_ip, s->client_port,
	    s->user != NULL ? s->user : "",
	    s->credential != NULL ? s->credential : "", s->started_ms);
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

/* Live sessions with their account name and live endpoint count. */
int
store_session_list(struct store *store, struct store_session ***listp,
    size_t *np)
{
	static const char sql[] = STORE_SESSION_SELECT
	    " WHERE s.ended_ms IS NULL ORDER BY s.started_ms, s.rowid";
	struct store_session **list = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, cap = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = store_list_grow(list, n, &cap, sizeof(*list));
		list[n++] = store_session_from_row(stmt);
	}
	if (rc != SQLITE_DONE) {
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
	sqlite3_finalize(stmt);
	store_session_list_free(list, n);
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

/* A new endpoint from the current row (STORE_ENDPOINT_SELECT). */
static struct store_endpoint *
store_endpoint_from_row(sqlite3_stmt *stmt)
{
	struct store_endpoint *e;

	e = xcalloc(1, sizeof(*e));
	e->id = store_column_text(stmt, 0);
	e->session_id = store_column_text(stmt, 1);
	e->account_id = store_column_text(stmt, 2);
	e->account_name = store_column_text(stmt, 3);
	e->host = store_column_text(stmt, 4);
	e->port = sqlite3_column_int(stmt, 5);
	e->bind_address = store_column_text(stmt, 6);
	e->metadata = store_column_text(stmt, 7);
	e->started_ms = sqlite3_column_int64(stmt, 8);
	e->ended_ms = sqlite3_column_int64(stmt, 9); /* NULL reads as 0 */
	return e;
}

/*
 * Record live endpoint <e>: _EXISTS if the id is taken, _NOT_FOUND
 * unless e->session_id is a live session of account e->account_id.
 * An ended session (killed, or its process reaped) gains no endpoints.
 */
int
store_endpoint_add(struct store *store, const struct store_endpoint *e)
{
	static const char sql[] =
	    "INSERT INTO endpoints (id, session_id, account_id, host, port,"
	    " bind_address, metadata, started_ms)"
	    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
	    " WHERE EXISTS (SELECT 1 FROM sessions"
	    "  WHERE id = ?2 AND account_id = ?3 AND ended_ms IS NULL)";
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (e == NULL || e->id == NULL || e->session_id == NULL ||
	    e->account_id == NULL || e->host == NULL ||
	    e->bind_address == NULL || e->port <= 0 || e->port > 65535) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run(store, &n, sql, "ttttittI", e->id, e->session_id,
	         e->account_id, e->host, e->port, e->bind_address, e->metadata,
	         e->started_ms)) != 0)
		goto out;
	if (n == 0) {
		debug_f("endpoint %.40s: no live session %.40s", e->id,
		    e->session_id);
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
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run(store, &n,
	         "UPDATE endpoints SET ended_ms = ?2"
	         " WHERE id = ?1 AND ended_ms IS NULL",
	         "tI", id, now_ms)) != 0)
		goto out;
	r = n == 0 ? PORTHOLE_ERR_NOT_FOUND : 0;
out:
	return r;
}

/* Set (or clear, with NULL) the metadata of live endpoint <id>. */
int
store_endpoint_set_metadata(struct store *store, const char *id,
    const char *metadata)
{
	int r = PORTHOLE_ERR_INTERNAL, n;

	if (id == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_run(store, &n,
	         "UPDATE endpoints SET metadata = ?2"
	         " WHERE id = ?1 AND ended_ms IS NULL",
	         "tt", id, metadata)) != 0)
		goto out;
	r = n == 0 ? PORTHOLE_ERR_NOT_FOUND : 0;
out:
	return r;
}

/* Live endpoints with their account name, oldest first. */
int
store_endpoint_list(struct store *store, struct store_endpoint ***listp,
    size_t *np)
{
	static const char sql[] = STORE_ENDPOINT_SELECT
	    " WHERE e.ended_ms IS NULL ORDER BY e.started_ms, e.rowid";
	struct store_endpoint **list = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, cap = 0;
	int r = PORTHOLE_ERR_INTERNAL, rc;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (listp == NULL || np == NULL) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = store_prepare(store, &stmt, sql, "")) != 0)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = store_list_grow(list, n, &cap, sizeof(*list));
		list[n++] = store_endpoint_from_row(stmt);
	}
	if (rc != SQLITE_DONE) {
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
	sqlite3_finalize(stmt);
	store_endpoint_list_free(list, n);
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
