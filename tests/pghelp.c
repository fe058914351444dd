/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pghelp.h"
#include "xmalloc.h"

#ifndef PGHELP_SCRIPT
#error PGHELP_SCRIPT must name tests/pg.sh
#endif

/* The URI of the server pghelp_init() started, NULL if none. */
static char *pghelp_own;

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

int
pghelp_init(void)
{
	const char *env = getenv("PORTHOLE_TEST_PG");

	if (env != NULL && *env != '\0')
		return 0;
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
	if (pghelp_own == NULL)
		return;
	pghelp_stop(pghelp_own);
	free(pghelp_own);
	pghelp_own = NULL;
	unsetenv("PORTHOLE_TEST_PG");
}

char *
pghelp_socket_dir(const char *uri)
{
	const char *p;
	char *dir;
	size_t len;

	if ((p = strstr(uri, "host=")) == NULL)
		return NULL;
	p += 5;
	len = strcspn(p, "& ");
	dir = xmalloc(len + 1);
	memcpy(dir, p, len);
	dir[len] = '\0';
	return dir;
}
