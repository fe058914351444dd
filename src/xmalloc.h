/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_XMALLOC_H
#define PORTHOLE_XMALLOC_H

#include <stddef.h>

/*
 * Allocators that never return NULL: on exhaustion they call fatal().
 * Free results with free(3).
 */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* Like xreallocarray, zeroing the new elements [oldnmemb, nmemb). */
void *xrecallocarray(void *ptr, size_t oldnmemb, size_t nmemb, size_t size);
char *xstrdup(const char *s);
int xasprintf(char **ret, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* PORTHOLE_XMALLOC_H */
