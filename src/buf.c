/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "xmalloc.h"

#define BUF_INITIAL 64

/*
 * <data> always holds <len> bytes plus a NUL, in an allocation of <size>
 * bytes (size > len), so buf_str never has to allocate.
 */
struct buf {
	char *data;
	size_t len;
	size_t size;
};

/* Allocate a new, empty buffer. */
struct buf *
buf_new(void)
{
	struct buf *b;

	b = xcalloc(1, sizeof(*b));
	b->size = BUF_INITIAL;
	b->data = xmalloc(b->size);
	b->data[0] = '\0';
	return b;
}

/* Free a buffer and its contents; NULL is a no-op. */
void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b);
}

/* Empty the buffer, keeping its allocation for reuse. */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

/* Make room for <need> more bytes plus the terminating NUL. */
static void
buf_reserve(struct buf *b, size_t need)
{
	size_t want, nsize;

	if (need > SIZE_MAX - b->len - 1)
		fatal_f("buffer size overflow: %zu + %zu", b->len, need);
	want = b->len + need + 1;
	if (want <= b->size)
		return;
	nsize = b->size;
	while (nsize < want)
		nsize = nsize > SIZE_MAX / 2 ? want : nsize * 2;
	b->data = xreallocarray(b->data, nsize, 1);
	b->size = nsize;
}

/* Append <len> bytes from <data>, which may include NULs. */
void
buf_append(struct buf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	buf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* Append the NUL-terminated string <s>, without its NUL. */
void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* Append the single byte <c>. */
void
buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

/* Append printf-style formatted text. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Append vprintf-style formatted text, growing the buffer to fit. */
void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	/* Try the space already there first; most appends fit. */
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatal_f("vsnprintf failed for format \"%.100s\"", fmt);
	if ((size_t)n >= b->size - b->len) {
		buf_reserve(b, (size_t)n);
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap2);
		va_end(ap2);
		if (n < 0 || (size_t)n >= b->size - b->len)
			fatal_f("vsnprintf length changed for \"%.100s\"", fmt);
	}
	b->len += (size_t)n;
}

/* Borrow the contents as a NUL-terminated string. */
const char *
buf_str(const struct buf *b)
{
	return b->data;
}

/* Number of bytes held, not counting the terminating NUL. */
size_t
buf_len(const struct buf *b)
{
	return b->len;
}

/* Give the contents to the caller and leave the buffer empty. */
char *
buf_steal(struct buf *b)
{
	char *ret;

	/* Ownership of the old allocation passes to the caller. */
	ret = b->data;
	b->size = BUF_INITIAL;
	b->data = xmalloc(b->size);
	b->data[0] = '\0';
	b->len = 0;
	return ret;
}
