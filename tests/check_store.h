/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_CHECK_STORE_H
#define PORTHOLE_CHECK_STORE_H

/*
 * What the files of check_store share: the store each test gets, the
 * fixtures, and the helpers that make rows. Every test of a store
 * opens it through tstore_open() (the case's fixture), the one place
 * that says what database a test runs against.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "store.h"

struct event;

/* Each test's store (a fresh one, or a file in tmpdir), set by fixtures. */
extern struct store *st;
extern char tmpdir[PATH_MAX];
extern char dbpath[PATH_MAX];

#define FP1  "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FP2  "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define FP3  "SHA256:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
#define BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIEyDw0cBUNJ6aj0Qw0pb4nN6wAt1dwGRKNLg"

/* The size of the batch whose time is measured. */
#define BIG_BATCH 1000

/*
 * Fixtures. tstore_open() opens a fresh, empty store in st: SQLite
 * ":memory:", or in the second run of the suite the test PostgreSQL
 * database, emptied first (the tests run one at a time). tstore_close() closes it.
 * tfile_setup() makes an empty temporary directory with dbpath naming
 * a file in it, for the tests of SQLite files (check_store_file.c);
 * tfile_teardown() removes them.
 */
void tstore_open(void);
void tstore_close(void);
void tfile_setup(void);
void tfile_teardown(void);

/* Rows made for tests; ids returned are the caller's to free. */
/* Add account <name> to <store>; returns its id, which the caller frees. */
char *mk_account(struct store *store, const char *name);
/* Add live session <id> of <account_id> that <credential> opened. */
void mk_session_as(struct store *store, const char *id, const char *account_id,
    int64_t pid, int64_t started_ms, const char *credential);
/* Add live session <id> of <account_id> for process <pid>, as key FP1. */
void mk_session(struct store *store, const char *id, const char *account_id,
    int64_t pid, int64_t started_ms);
/* Fill <e> for endpoint <id> of session <session_id> on <port>. */
void fill_endpoint(struct store_endpoint *e, const char *id,
    const char *session_id, const char *account_id, int port,
    int64_t started_ms);
/* Add live endpoint <id> of session <session_id> on <port>. */
void mk_endpoint(struct store *store, const char *id, const char *session_id,
    const char *account_id, int port, int64_t started_ms);
/* Add live endpoint <id> serving reserved address <address_id>. */
void mk_endpoint_at(struct store *store, const char *id, const char *session_id,
    const char *account_id, int port, int64_t started_ms,
    const char *address_id);
/* Add live endpoint <id> serving <address_id> as a member of <edge_id>. */
void mk_endpoint_member(struct store *store, const char *id,
    const char *session_id, const char *account_id, int port,
    int64_t started_ms, const char *address_id, const char *edge_id);
/*
 * Reserve <host>:<port> for <account_id> (NULL: for no account, as an
 * edge's own); returns its id (caller frees).
 */
char *mk_address(struct store *store, const char *account_id, const char *host,
    int port, int64_t now_ms);
/* A made-up keyed hash: TOKEN_HASH_LEN bytes of <c>. */
void fill_hash(unsigned char *hash, int c);
/* The number of live sessions and live endpoints in <store>. */
void count_live(struct store *store, size_t *nsessionsp, size_t *nendpointsp);
/* Add an edge described <description>; returns its id (caller frees). */
char *mk_edge(struct store *store, const char *description);
/* Add policy <name>; returns its id, which the caller frees. */
char *mk_policy(struct store *store, const char *name);
/* A new event of <type> for <account_id> at <ts_ms>, object {}. */
struct event *mk_event(const char *type, const char *account_id, int64_t ts_ms);
void free_events(struct event **evs, size_t n);
/* Record <evs> alone, with no counters and no session. */
void record_events(struct store *store, struct event **evs, size_t n);
/* The number of events in <store>. */
size_t count_events(struct store *store);

/* The test cases of each file, added to <s>. */
void store_tcases_file(Suite *s);
void store_tcases_account(Suite *s);
void store_tcases_session(Suite *s);
void store_tcases_address(Suite *s);
void store_tcases_event(Suite *s);
void store_tcases_node(Suite *s);
void store_tcases_apikey(Suite *s);
void store_tcases_hook(Suite *s);
void store_tcases_page(Suite *s);
void store_tcases_usage(Suite *s);

#endif /* PORTHOLE_CHECK_STORE_H */
