/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "id.h"
#include "log.h"
#include "xmalloc.h"

/* Longest prefix id_new accepts: ids are short tags such as "ep". */
#define ID_PREFIX_MAX 8

static const char id_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Predicate: <c> is one of the 62 characters of id_alphabet. */
static int
id_is_base62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

/* Predicate: <prefix> is 1 to ID_PREFIX_MAX lower-case letters. */
static int
id_prefix_is_valid(const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i] != '\0'; i++) {
		if (i >= ID_PREFIX_MAX || prefix[i] < 'a' || prefix[i] > 'z')
			return 0;
	}
	return i > 0;
}

/* Make a new "<prefix>_<base62>" id from libsodium's uniform random. */
char *
id_new(const char *prefix)
{
	char *s;
	size_t plen, i;

	/* A bad prefix is a programming error, never user input. */
	if (prefix == NULL || !id_prefix_is_valid(prefix))
		fatal_f("invalid id prefix");
	/* Idempotent and thread-safe; cheap after the first call. */
	if (sodium_init() == -1)
		fatal_f("sodium_init failed");

	plen = strlen(prefix);
	s = xmalloc(plen + 1 + ID_RANDOM_LEN + 1);
	memcpy(s, prefix, plen);
	s[plen] = '_';
	/* randombytes_uniform avoids the modulo bias of "byte % 62". */
	for (i = 0; i < ID_RANDOM_LEN; i++)
		s[plen + 1 + i] =
		    id_alphabet[randombytes_uniform(sizeof(id_alphabet) - 1)];
	s[plen + 1 + ID_RANDOM_LEN] = '\0';
	/* Ownership passes to the caller. */
	return s;
}

/* Predicate: <s> is "<prefix>_" followed by ID_RANDOM_LEN base62 chars. */
int
id_is_valid(const char *s, const char *prefix)
{
	size_t plen, i;

	if (s == NULL || prefix == NULL || *prefix == '\0')
		return 0;
	plen = strlen(prefix);
	if (strncmp(s, prefix, plen) != 0 || s[plen] != '_')
		return 0;
	s += plen + 1;
	for (i = 0; i < ID_RANDOM_LEN; i++) {
		if (!id_is_base62(s[i]))
			return 0;
	}
	return s[ID_RANDOM_LEN] == '\0';
}
