/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_FUZZ_H
#define PORTHOLE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/*
 * Helpers shared by the libFuzzer harnesses in tests/fuzz/. Each harness
 * is one LLVMFuzzerTestOneInput that keeps nothing between inputs: what
 * it allocates it frees (ASan's leak check runs after every input), and
 * a broken invariant calls abort() so that libFuzzer saves the input.
 */

/* libFuzzer's entry point: one input per call; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort, naming the condition and the line, unless <cond> holds. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/*
 * A NUL-terminated copy of the <size> bytes at <data>, in a buffer of
 * exactly <size> + 1 bytes so that ASan sees any read past the end. An
 * embedded NUL ends the string early. The caller frees it.
 */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s;

	s = xmalloc(size + 1);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * A copy of <size> bytes in a buffer of exactly that size (one byte for
 * an empty input, which must not be read). The caller frees it.
 */
static inline uint8_t *
fuzz_exact(const uint8_t *data, size_t size)
{
	uint8_t *p;

	p = xmalloc(size > 0 ? size : 1);
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

/*
 * Predicate: the reason in <buf> (of <len> bytes) is one non-empty,
 * NUL-terminated line of printable ASCII, as the parsers promise: text
 * from the input must come out escaped.
 */
static inline int
fuzz_is_one_line(const char *buf, size_t len)
{
	size_t i, n;

	if ((n = strnlen(buf, len)) == 0 || n == len)
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x20 ||
		    (unsigned char)buf[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* A cursor over the input that yields zeros once it runs out. */
struct fuzz_in {
	const uint8_t *data;
	size_t size;
	size_t off;
};

/* The next input byte, or 0 past the end. */
static inline uint8_t
fuzz_byte(struct fuzz_in *in)
{
	return in->off < in->size ? in->data[in->off++] : 0;
}

/* Fill <out> with the next <n> input bytes, zero-padded past the end. */
static inline void
fuzz_bytes(struct fuzz_in *in, void *out, size_t n)
{
	uint8_t *o = out;
	size_t i;

	for (i = 0; i < n; i++)
		o[i] = fuzz_byte(in);
}

#endif /* PORTHOLE_FUZZ_H */
