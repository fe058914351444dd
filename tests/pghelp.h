/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_PGHELP_H
#define PORTHOLE_PGHELP_H

/*
 * The PostgreSQL of the suites that run against it (check_db, the
 * store's). Each such program starts a private server of its own with
 * tests/pg.sh from main(), before Check forks its tests, and stops it
 * at the end; its tests read the URI from PORTHOLE_TEST_PG. A server
 * per program needs no order between the programs that automake's
 * parallel harness runs, nor a step after them that a failure would
 * skip, and a program run alone has one too.
 */

/*
 * Make PORTHOLE_TEST_PG name a database for this program: a private
 * server's, started now; or, if the environment names a server (one
 * its user may create databases in), a database made there for this
 * program and dropped by pghelp_done(). Returns 0, or -1 with the
 * reason on stderr: the caller then fails, never skips, as PostgreSQL
 * is part of the test dependencies.
 */
int pghelp_init(void);

/* Stop the server, or drop the database, that pghelp_init() made. */
void pghelp_done(void);

/*
 * Start a private server, for a test that stops it: returns its URI
 * (the caller's to free, and to pghelp_stop()), or NULL with the
 * reason on stderr.
 */
char *pghelp_start(void);

/* Stop the server at <uri> and remove its directory. */
void pghelp_stop(const char *uri);

/*
 * The value of parameter <key> (host, user, …) in <target>, a URI or
 * key=value string without quoting or escapes, such as pg.sh prints:
 * the caller's to free, or NULL if it has none.
 */
char *pghelp_param(const char *target, const char *key);

#endif /* PORTHOLE_PGHELP_H */
