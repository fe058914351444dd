/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "pghelp.h"
#include "xmalloc.h"

#ifndef PGHELP_SCRIPT
#error PGHELP_SCRIPT must name tests/pg.sh
#endif

/* The URI of the server pghelp_init() started, NULL if none. */
static char *pghelp_own;
/* Else the target PORTHOLE_TEST_PG named, and the database made in it. */
static char *pghelp_given;
static char pghelp_dbname[64];

/* Run tests/pg.sh with <args>; the first line it prints, or NULL. */
static char *
pghelp_script(const char *args, int want_line)
{
	char cmd[1024], line[1024];
	char *out = NULL;
	size_t len;
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "sh '%s' %s", PGHELP_SCRIPT, args);
	if ((f = popen(cmd, "r")) == NULL) {
		perror("pghelp: popen");
		return NULL;
	}
	if (fgets(line, sizeof(line), f) != NULL) {
		len = strcspn(line, "\n");
		line[len] = '\0';
		if (len > 0)
			out = xstrdup(line);
	}
	status = pclose(f);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pghelp: %s failed\n", cmd);
		free(out);
		return NULL;
	}
	if (want_line && out == NULL)
		fprintf(stderr, "pghelp: %s printed nothing\n", cmd);
	return out;
}

char *
pghelp_start(void)
{
	return pghelp_script("start", 1);
}

void
pghelp_stop(const char *uri)
{
	char args[1024];

	if (uri == NULL)
		return;
	/* The URI is pg.sh's own: no quote in it. */
	snprintf(args, sizeof(args), "stop '%s'", uri);
	free(pghelp_script(args, 0));
}

/* Run <sql> on <target>; -1 with the reason on stderr if it fails. */
static int
pghelp_exec(const char *target, const char *sql)
{
	struct db *db = NULL;
	char err[256];
	int r = -1;

	if (db_open(target, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "pghelp: %s: %s\n", target, err);
		goto out;
	}
	if (db_exec(db, sql) != 0) {
		fprintf(stderr, "pghelp: %s: %s\n", sql, db_errmsg(db));
		goto out;
	}
	r = 0;
out:
	db_close(db);
	return r;
}

/*
 * Make a database of this program's own in the server PORTHOLE_TEST_PG
 * names, so that programs run side by side do not meet, and point the
 * variable at it.
 */
static int
pghelp_use_given(const char *given)
{
	char sql[128], *target = NULL;
	int r = -1;

	snprintf(pghelp_dbname, sizeof(pghelp_dbname), "porthole_test_%ld",
	    (long)getpid());
	/* CREATE DATABASE runs alone, outside any transaction. */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	    pghelp_dbname);
	if (pghelp_exec(given, sql) != 0)
		goto out;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pghelp_dbname);
	if (pghelp_exec(given, sql) != 0)
		goto out;
	/* A later dbname wins, in a URI's query as in key=value. */
	if (strstr(given, "://") != NULL)
		xasprintf(&target, "%s%cdbname=%s", given,
		    strchr(given, '?') != NULL ? '&' : '?', pghelp_dbname);
	else
		xasprintf(&target, "%s dbname=%s", given, pghelp_dbname);
	pghelp_given = xstrdup(given);
	if (setenv("PORTHOLE_TEST_PG", target, 1) == -1) {
		perror("pghelp: setenv");
		goto out;
	}
	r = 0;
out:
	free(target);
	return r;
}

int
pghelp_init(void)
{
	const char *env = getenv("PORTHOLE_TEST_PG");

	if (env != NULL && *env != '\0')
		return pghelp_use_given(env);
	if ((pghelp_own = pghelp_start()) == NULL) {
		fprintf(stderr,
		    "pghelp: no PostgreSQL for the tests: install "
		    "postgresql (Debian: postgresql-15) or set "
		    "PORTHOLE_TEST_PG\n");
		return -1;
	}
	if (setenv("PORTHOLE_TEST_PG", pghelp_own, 1) == -1) {
		perror("pghelp: setenv");
		return -1;
	}
	return 0;
}

void
pghelp_done(void)
{
	char sql[128];

	if (pghelp_given != NULL) {
		snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)",
		    pghelp_dbname);
		pghelp_exec(pghelp_given, sql);
		if (setenv("PORTHOLE_TEST_PG", pghelp_given, 1) == -1)
			perror("pghelp: setenv");
		free(pghelp_given);
		pghelp_given = NULL;
	}
	if (pghelp_own == NULL)
		return;
	pghelp_stop(pghelp_own);
	free(pghelp_own);
	pghelp_own = NULL;
	unsetenv("PORTHOLE_TEST_PG");
}

char *
pghelp_param(const char *target, const char *key)
{
	const char *p = target;
	size_t klen = strlen(key), len;
	char *v;

	/* Each parameter follows the start, a '?', '&' or a space. */
	while ((p = strstr(p, key)) != NULL) {
		if ((p == target || strchr("?& ", p[-1]) != NULL) &&
		    p[klen] == '=')
			break;
		p += klen;
	}
	if (p == NULL)
		return NULL;
	p += klen + 1;
	len = strcspn(p, "& ");
	v = xmalloc(len + 1);
	memcpy(v, p, len);
	v[len] = '\0';
	return v;
}
