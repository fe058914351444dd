/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_COMPAT_H
#define PORTHOLE_COMPAT_H

#include <stddef.h>

#if !HAVE_DECL_STRLCPY
size_t strlcpy(char *, const char *, size_t);
#endif
#if !HAVE_DECL_STRLCAT
size_t strlcat(char *, const char *, size_t);
#endif
#if !HAVE_DECL_STRTONUM
long long strtonum(const char *, long long, long long, const char **);
#endif

#endif /* PORTHOLE_COMPAT_H */
