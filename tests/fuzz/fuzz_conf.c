/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * libFuzzer harness for the configuration parser (conf.h). The input is
 * a configuration file: lines split at '\n' (a NUL ends a line early).
 *
 * - As a file: every line through conf_apply_line(…, 0, …). Each verdict
 *   is 0 or PORTHOLE_ERR_INVALID_FORMAT with a one-line reason.
 * - As -o options and then as the file again, the order portholed uses:
 *   each line must get the same verdict both times (file lines for a
 *   keyword -o set are still checked), and the result must be the same
 *   configuration as the file alone gives, since every keyword that a
 *   file line sets was set by -o first.
 * - conf_finish() must then leave a usable configuration, conf_dump()
 *   writes it (to /dev/null, and to memory), and the dump read back as
 *   a file must give the same dump again.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "fuzz.h"
#include "xmalloc.h"

#define ERRLEN 512

/* Split <size> bytes at '\n' into new C strings; free with free_lines. */
static char **
split_lines(const uint8_t *data, size_t size, size_t *np)
{
	char **lines = NULL;
	size_t n = 0, start = 0, i;

	for (i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i == size && start == size && size > 0)
			break; /* nothing after a final '\n' */
		lines = xreallocarray(lines, n + 1, sizeof(*lines));
		lines[n++] = fuzz_cstring(data + start, i - start);
		start = i + 1;
	}
	*np = n;
	return lines;
}

/* Free what split_lines() made. */
static void
free_lines(char **lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/*
 * Apply every line to <conf> with <cmdline>; store each verdict in
 * <verdicts>, or, if <expect> is not NULL, require the verdicts in it.
 */
static void
apply_all(struct conf *conf, char **lines, size_t n, int cmdline, int *verdicts,
    const int *expect)
{
	char errbuf[ERRLEN];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		memset(errbuf, 'x', sizeof(errbuf));
		r = conf_apply_line(conf, lines[i], cmdline, errbuf,
		    sizeof(errbuf));
		FUZZ_CHECK(r == 0 || r == PORTHOLE_ERR_INVALID_FORMAT);
		if (r == 0)
			FUZZ_CHECK(errbuf[0] == '\0');
		else
			FUZZ_CHECK(fuzz_is_one_line(errbuf, sizeof(errbuf)));
		if (verdicts != NULL)
			verdicts[i] = r;
		if (expect != NULL)
			FUZZ_CHECK(r == expect[i]);
	}
}

/* Predicate: <s> is a numeric IPv4 or IPv6 address. */
static int
is_numeric(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* Check what a finished configuration promises to its users. */
static void
check_finished(const struct conf *conf)
{
	size_t i;

	FUZZ_CHECK(conf->nlisten >= 1 && conf->listen != NULL);
	for (i = 0; i < conf->nlisten; i++)
		FUZZ_CHECK(is_numeric(conf->listen[i].host));
	FUZZ_CHECK(conf->state_dir != NULL && conf->state_dir[0] != '\0');
	FUZZ_CHECK(conf->database != NULL && conf->database[0] != '\0');
	FUZZ_CHECK(conf->host_key != NULL && conf->host_key[0] != '\0');
	FUZZ_CHECK(conf->token_key != NULL && conf->token_key[0] != '\0');
	FUZZ_CHECK(conf->npublic_hosts >= 1 && conf->public_hosts != NULL);
	for (i = 0; i < conf->npublic_hosts; i++)
		FUZZ_CHECK(conf->public_hosts[i][0] != '\0');
	FUZZ_CHECK(
	    conf->tunnel_address != NULL && is_numeric(conf->tunnel_address));
	FUZZ_CHECK(conf->port_low >= 1 && conf->port_low <= conf->port_high);
	FUZZ_CHECK(conf->login_grace_time >= 0);
	FUZZ_CHECK(conf->address_affinity >= 0);
	FUZZ_CHECK(conf->max_endpoints_per_session >= 1);
	FUZZ_CHECK(conf->max_connections_per_endpoint >= 1);
	FUZZ_CHECK(conf->max_sessions_per_account >= 1);
	FUZZ_CHECK(conf->allow_anonymous == 0 || conf->allow_anonymous == 1);
	FUZZ_CHECK(conf->syslog == 0 || conf->syslog == 1);
}

/*
 * Finish <conf> and dump it to /dev/null and into a new string, which
 * the caller frees. Returns conf_finish()'s verdict.
 */
static int
finish_and_dump(struct conf *conf, char **dumpp)
{
	FILE *f;
	char errbuf[ERRLEN], *dump = NULL;
	size_t dumplen = 0;
	int r;

	memset(errbuf, 'x', sizeof(errbuf));
	r = conf_finish(conf, errbuf, sizeof(errbuf));
	FUZZ_CHECK(r == 0 || r == PORTHOLE_ERR_INVALID_FORMAT);
	if (r == 0)
		check_finished(conf);
	else
		FUZZ_CHECK(fuzz_is_one_line(errbuf, sizeof(errbuf)));

	FUZZ_CHECK((f = fopen("/dev/null", "w")) != NULL);
	conf_dump(conf, f);
	FUZZ_CHECK(fclose(f) == 0);

	FUZZ_CHECK((f = open_memstream(&dump, &dumplen)) != NULL);
	conf_dump(conf, f);
	FUZZ_CHECK(fclose(f) == 0);
	FUZZ_CHECK(strlen(dump) == dumplen);
	*dumpp = dump;
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *file = NULL, *opt = NULL, *back = NULL;
	char **lines = NULL, **dlines = NULL;
	char *fdump = NULL, *odump = NULL, *bdump = NULL;
	int *verdicts = NULL, *ok = NULL, rf, ro;
	size_t n, dn = 0, i;

	lines = split_lines(data, size, &n);
	verdicts = xcalloc(n, sizeof(*verdicts));

	/* The input as a file. */
	file = conf_new();
	apply_all(file, lines, n, 0, verdicts, NULL);
	rf = finish_and_dump(file, &fdump);

	/* The input as -o options, then as the file. */
	opt = conf_new();
	apply_all(opt, lines, n, 1, NULL, verdicts);
	apply_all(opt, lines, n, 0, NULL, verdicts);
	ro = finish_and_dump(opt, &odump);
	FUZZ_CHECK(ro == rf);
	FUZZ_CHECK(strcmp(fdump, odump) == 0);

	/* The dump reads back as the same configuration. */
	if (rf == 0) {
		dlines =
		    split_lines((const uint8_t *)fdump, strlen(fdump), &dn);
		ok = xcalloc(dn, sizeof(*ok)); /* all 0: every line valid */
		back = conf_new();
		apply_all(back, dlines, dn, 0, NULL, ok);
		FUZZ_CHECK(finish_and_dump(back, &bdump) == 0);
		FUZZ_CHECK(strcmp(fdump, bdump) == 0);
		for (i = 0; i < dn; i++)
			FUZZ_CHECK(dlines[i][0] != '\0');
	}

	conf_free(back);
	conf_free(opt);
	conf_free(file);
	free(bdump);
	free(odump);
	free(fdump);
	free(ok);
	free_lines(dlines, dn);
	free_lines(lines, n);
	free(verdicts);
	return 0;
}
