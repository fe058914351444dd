/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <string.h>

#include "compat.h"

/*
 * Copy src into dst of size dsize, always NUL-terminating when dsize > 0.
 * Returns strlen(src); truncation happened if that is >= dsize.
 */
size_t
strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t len = strlen(src);

	if (dsize != 0) {
		size_t n = len >= dsize ? dsize - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
