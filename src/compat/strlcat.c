/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <string.h>

#include "compat.h"

/*
 * Append src to the string in dst of size dsize, NUL-terminating.
 * Returns the length of the string it tried to create.
 */
size_t
strlcat(char *dst, const char *src, size_t dsize)
{
	size_t dlen = strnlen(dst, dsize);
	size_t slen = strlen(src);

	if (dlen == dsize)
		return dsize + slen;
	if (slen < dsize - dlen) {
		memcpy(dst + dlen, src, slen + 1);
	} else {
		memcpy(dst + dlen, src, dsize - dlen - 1);
		dst[dsize - 1] = '\0';
	}
	return dlen + slen;
}
