/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_ID_H
#define PORTHOLE_ID_H

#include <stddef.h>

/* Length of the random part of an id. */
#define ID_RANDOM_LEN 24

/*
 * Make a new random identifier "<prefix>_<24 base62 characters>" from
 * libsodium's randombytes (for example "ep_3kTq…"). <prefix> is a short
 * lower-case tag such as "ep", "ss", "ac", "ev". The caller frees it.
 */
char *id_new(const char *prefix);

/*
 * Predicate: <s> looks like an id with the given prefix (prefix, '_',
 * then ID_RANDOM_LEN base62 characters).
 */
int id_is_valid(const char *s, const char *prefix);

#endif /* PORTHOLE_ID_H */
