/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

void *
xmalloc(size_t size)
{
	void *p;

	if (size == 0)
		fatal_f("zero size");
	if ((p = malloc(size)) == NULL)
		fatal_f("out of memory allocating %zu bytes", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		fatal_f("zero size");
	if ((p = calloc(nmemb, size)) == NULL)
		fatal_f("out of memory allocating %zu * %zu bytes", nmemb,
		    size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (nmemb != 0 && size > SIZE_MAX / nmemb)
		fatal_f("overflow: %zu * %zu", nmemb, size);
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		fatal_f("out of memory allocating %zu * %zu bytes", nmemb,
		    size);
	return p;
}

void *
xrecallocarray(void *ptr, size_t oldnmemb, size_t nmemb, size_t size)
{
	unsigned char *p;

	p = xreallocarray(ptr, nmemb, size);
	if (nmemb > oldnmemb)
		memset(p + oldnmemb * size, 0, (nmemb - oldnmemb) * size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal_f("out of memory");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int i;

	va_start(ap, fmt);
	i = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (i < 0 || *ret == NULL)
		fatal_f("could not allocate memory");
	return i;
}
