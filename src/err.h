/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_ERR_H
#define PORTHOLE_ERR_H

/* Error codes: every fallible function returns 0 or one of these. */
#define PORTHOLE_ERR_INTERNAL         -1
#define PORTHOLE_ERR_ALLOC            -2
#define PORTHOLE_ERR_INVALID_ARGUMENT -3
#define PORTHOLE_ERR_INVALID_FORMAT   -4
#define PORTHOLE_ERR_NOT_FOUND        -5
#define PORTHOLE_ERR_EXISTS           -6
#define PORTHOLE_ERR_DENIED           -7
#define PORTHOLE_ERR_EXHAUSTED        -8
#define PORTHOLE_ERR_STORE            -9
#define PORTHOLE_ERR_SYSTEM           -10 /* errno holds the reason */
#define PORTHOLE_ERR_BUSY             -11
#define PORTHOLE_ERR_UNAVAILABLE      -12 /* the store cannot be reached */
#define PORTHOLE_ERR_UNSUPPORTED      -13 /* not with this store (SQLite) */

/*
 * Return a static string describing error code r. For
 * PORTHOLE_ERR_SYSTEM it is strerror(errno) as errno stood at the call.
 */
const char *porthole_strerror(int r);

#endif /* PORTHOLE_ERR_H */
