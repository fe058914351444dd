/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * libFuzzer harness for cmdline_parse(): the session command comes from
 * any client that passed authentication ("ssh HOST tcp …"), so every
 * byte of it is untrusted. The input is the command, as a C string.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "err.h"
#include "fuzz.h"
#include "utf8.h"

/* Check a CIDR list: each entry one non-empty word with no comma. */
static void
check_cidrs(char *const *list, size_t n)
{
	const char *p;
	size_t i;

	FUZZ_CHECK(n == 0 || list != NULL);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(list[i] != NULL && list[i][0] != '\0');
		for (p = list[i]; *p != '\0'; p++) {
			FUZZ_CHECK((unsigned char)*p > ' ' &&
			    (unsigned char)*p < 0x7f && *p != ',');
		}
	}
}

/* Check everything a successful parse promises about <cl>. */
static void
check_parsed(const struct cmdline *cl)
{
	const char *p;

	FUZZ_CHECK(cl != NULL);
	FUZZ_CHECK(cl->help == 0 || cl->help == 1);
	FUZZ_CHECK(cl->json == 0 || cl->json == 1);
	FUZZ_CHECK(cl->proxy_proto >= 0 && cl->proxy_proto <= 2);
	if (cl->metadata != NULL) {
		FUZZ_CHECK(strlen(cl->metadata) <= CMDLINE_METADATA_MAX);
		/* No control characters: listings print it as it is. */
		for (p = cl->metadata; *p != '\0'; p++) {
			FUZZ_CHECK((unsigned char)*p >= ' ' && *p != 0x7f);
			/* No C1 control in UTF-8 (C2 80 to C2 9F). */
			FUZZ_CHECK((unsigned char)p[0] != 0xc2 ||
			    (unsigned char)p[1] < 0x80 ||
			    (unsigned char)p[1] > 0x9f);
		}
		/* Nor as a raw byte. */
		FUZZ_CHECK(utf8_check_text(cl->metadata, NULL, NULL, 0) == 0);
	}
	FUZZ_CHECK(cl->ncidr_allow <= CMDLINE_CIDR_MAX);
	FUZZ_CHECK(cl->ncidr_deny <= CMDLINE_CIDR_MAX);
	FUZZ_CHECK(cl->ncidr_allow + cl->ncidr_deny <= CMDLINE_CIDR_MAX);
	check_cidrs(cl->cidr_allow, cl->ncidr_allow);
	check_cidrs(cl->cidr_deny, cl->ncidr_deny);
}

/* Predicate: two strings are both NULL or equal. */
static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Predicate: two CIDR lists hold the same strings in the same order. */
static int
same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	}
	return 1;
}

/* Predicate: two parses of one command came out the same. */
static int
same_cmdline(const struct cmdline *a, const struct cmdline *b)
{
	return a->help == b->help && a->json == b->json &&
	    a->proxy_proto == b->proxy_proto &&
	    same_str(a->metadata, b->metadata) &&
	    same_list(a->cidr_allow, a->ncidr_allow, b->cidr_allow,
	        b->ncidr_allow) &&
	    same_list(a->cidr_deny, a->ncidr_deny, b->cidr_deny, b->ncidr_deny);
}

/*
 * Parse the input as a command, check the result, then parse it again
 * with no room for a reason and with very little: the verdict and the
 * result must not depend on errbuf.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmdline *cl = NULL, *again = NULL, poison;
	char *command = NULL, errbuf[256], tiny[8];
	size_t tinylen;
	int r, r2;

	command = fuzz_cstring(data, size);

	/* Garbage in errbuf: a reason must be NUL-terminated on its own. */
	memset(errbuf, 'x', sizeof(errbuf));
	r = cmdline_parse(command, &cl, errbuf, sizeof(errbuf));
	FUZZ_CHECK(r == 0 || r == PORTHOLE_ERR_INVALID_FORMAT);
	if (r == 0) {
		check_parsed(cl);
		FUZZ_CHECK(errbuf[0] == '\0');
	} else {
		FUZZ_CHECK(cl == NULL);
		FUZZ_CHECK(fuzz_is_one_line(errbuf, sizeof(errbuf)));
	}

	/* *clp is an output parameter: set to NULL on entry. */
	again = &poison;
	r2 = cmdline_parse(command, &again, NULL, 0);
	FUZZ_CHECK(r2 == r);
	FUZZ_CHECK(r != 0 ? again == NULL : same_cmdline(cl, again));
	cmdline_free(again);
	again = NULL;

	/* A short errbuf (1 to 8 bytes) truncates but still terminates. */
	tinylen = 1 + size % sizeof(tiny);
	memset(tiny, 'x', sizeof(tiny));
	r2 = cmdline_parse(command, &again, tiny, tinylen);
	FUZZ_CHECK(r2 == r);
	FUZZ_CHECK(memchr(tiny, '\0', tinylen) != NULL);
	FUZZ_CHECK(r != 0 ? again == NULL : same_cmdline(cl, again));
	cmdline_free(again);

	cmdline_free(cl);
	free(command);
	return 0;
}
