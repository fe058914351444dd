/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "compat.h"

/*
 * Convert a decimal string to a long long within [minval, maxval].
 * On error returns 0 and sets *errstrp to "invalid", "too small" or
 * "too large" (as OpenBSD's strtonum(3)); otherwise *errstrp is NULL.
 */
long long
strtonum(const char *s, long long minval, long long maxval,
    const char **errstrp)
{
	long long ll;
	char *ep;
	const char *err = NULL;

	errno = 0;
	if (minval > maxval) {
		err = "invalid";
		ll = 0;
		goto out;
	}
	ll = strtoll(s, &ep, 10);
	if (s == ep || *ep != '\0')
		err = "invalid";
	else if ((ll == LLONG_MIN && errno == ERANGE) || ll < minval)
		err = "too small";
	else if ((ll == LLONG_MAX && errno == ERANGE) || ll > maxval)
		err = "too large";
out:
	if (err != NULL) {
		ll = 0;
		errno = err[0] == 'i' ? EINVAL : ERANGE;
	}
	if (errstrp != NULL)
		*errstrp = err;
	return ll;
}
