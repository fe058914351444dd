/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_STORE_H
#define PORTHOLE_STORE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * The SQLite store shared by portholed's processes and portholectl.
 * One connection per process, opened after fork. WAL, foreign keys on,
 * busy_timeout; the schema version lives in PRAGMA user_version and is
 * brought forward by migrations on open. Times are milliseconds since
 * the epoch. Every function returns 0 or a negative PORTHOLE_ERR_*.
 */
struct store;

#define STORE_SCHEMA_VERSION  1
#define STORE_BUSY_TIMEOUT_MS 5000

struct store_account {
	char *id; /* "ac_…" */
	char *name;
	int disabled;
	int64_t created_ms;
	int nkeys; /* filled by get and list */
};

struct store_key {
	char *fingerprint; /* "SHA256:…", the primary key */
	char *account_id;
	char *account_name;
	int account_disabled;
	char *type;
	char *blob; /* base64, as in a .pub line */
	char *comment;
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
	int nendpoints; /* live endpoints; filled by list */
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
	int64_t started_ms;
	int64_t ended_ms; /* 0 while live */
};

/*
 * Open (creating if needed) the database at <path> (":memory:" works),
 * set the pragmas and migrate the schema to STORE_SCHEMA_VERSION.
 * Fails with PORTHOLE_ERR_STORE if the file's version is newer than
 * this program knows. On error a reason is copied to errbuf if given.
 */
int store_open(const char *path, struct store **storep, char *errbuf,
    size_t errlen);
void store_free(struct store *store); /* closes; NULL is a no-op */

/* The schema version found in the open database. */
int store_schema_version(struct store *store, int *versionp);

/* The last SQLite error message of this connection (borrowed). */
const char *store_errmsg(struct store *store);

/* Accounts. Names: 1-64 of [A-Za-z0-9._-], not starting with '-'. */
int store_account_name_valid(const char *name);
/* Add account <name>; _EXISTS if taken, _INVALID_ARGUMENT if bad name. */
int store_account_add(struct store *store, const char *name,
    struct store_account **accountp);
/* Find by name or by id; _NOT_FOUND if absent. */
int store_account_get(struct store *store, const char *name_or_id,
    struct store_account **accountp);
int store_account_list(struct store *store, struct store_account ***listp,
    size_t *np);
void store_account_free(struct store_account *a);
void store_account_list_free(struct store_account **list, size_t n);

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
int store_key_delete(struct store *store, const char *fingerprint);
void store_key_free(struct store_key *k);
void store_key_list_free(struct store_key **list, size_t n);

/*
 * Sessions. store_session_add inserts <s> (id, account_id, pid,
 * client_ip, client_port, user, credential, started_ms are used).
 * store_session_end marks it and its live endpoints ended at <now_ms>.
 */
int store_session_add(struct store *store, const struct store_session *s);
int store_session_end(struct store *store, const char *id, int64_t now_ms);
/*
 * Mark every live session of process <pid>, and their endpoints, ended.
 * Stores the number of sessions ended in *np (may be NULL).
 */
int store_session_end_pid(struct store *store, int64_t pid, int64_t now_ms,
    int *np);
/* Mark every live session and endpoint ended (start of a new run). */
int store_session_end_all(struct store *store, int64_t now_ms, int *np);
/* Live sessions, oldest first. */
int store_session_list(struct store *store, struct store_session ***listp,
    size_t *np);
void store_session_free(struct store_session *s);
void store_session_list_free(struct store_session **list, size_t n);

/*
 * Endpoints. store_endpoint_add inserts <e> (id, session_id, account_id,
 * host, port, bind_address, metadata, started_ms are used).
 */
int store_endpoint_add(struct store *store, const struct store_endpoint *e);
int store_endpoint_end(struct store *store, const char *id, int64_t now_ms);
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

#endif /* PORTHOLE_STORE_H */
