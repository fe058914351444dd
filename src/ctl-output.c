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
#include "ctl.h"
#include "misc.h"
#include "ops.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * portholectl's output: tables for people, JSON lines for scripts, and
 * the cells and times they hold. Whatever came from users, peers or the
 * store is escaped on its way to the terminal.
 */

struct ctl_table {
	size_t ncols;
	size_t nrows; /* the header is row 0 */
	char **cells; /* nrows * ncols, row by row */
	size_t *width; /* of each column */
};

/*
 * Copy <s> for the terminal, control characters and bytes that are not
 * UTF-8 escaped as \ooo (utf8_escape). Returns the copy, the caller's.
 */
static char *
ctl_table_cell(const char *s)
{
	struct buf *b;
	char *cell;

	b = buf_new();
	utf8_escape(b, s == NULL ? "-" : s, 0);
	cell = buf_steal(b);
	buf_free(b);
	return cell;
}

static void
ctl_table_addv(struct ctl_table *t, const char *first, va_list ap)
{
	size_t i, len, base;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof(*t->cells));
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		t->cells[base + i] =
		    ctl_table_cell(i == 0 ? first : va_arg(ap, const char *));
		len = strlen(t->cells[base + i]);
		if (len > t->width[i])
			t->width[i] = len;
	}
	t->nrows++;
}

struct ctl_table *
ctl_table_new(const char *header, ...)
{
	struct ctl_table *t;
	va_list ap;

	t = xcalloc(1, sizeof(*t));
	va_start(ap, header);
	for (t->ncols = 1; va_arg(ap, const char *) != NULL; t->ncols++)
		;
	va_end(ap);
	t->width = xcalloc(t->ncols, sizeof(*t->width));
	va_start(ap, header);
	ctl_table_addv(t, header, ap);
	va_end(ap);
	return t;
}

void
ctl_table_add(struct ctl_table *t, ...)
{
	const char *first;
	va_list ap;

	/* Not in the call: its arguments may be evaluated in any order. */
	va_start(ap, t);
	first = va_arg(ap, const char *);
	ctl_table_addv(t, first, ap);
	va_end(ap);
}

void
ctl_table_print(const struct ctl_table *t)
{
	size_t row, col;

	for (row = 0; row < t->nrows; row++) {
		for (col = 0; col + 1 < t->ncols; col++)
			printf("%-*s  ", (int)t->width[col],
			    t->cells[row * t->ncols + col]);
		printf("%s\n", t->cells[row * t->ncols + col]);
	}
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

void
ctl_printf(const char *fmt, ...)
{
	struct buf *line, *safe;
	va_list ap;

	line = buf_new();
	safe = buf_new();
	va_start(ap, fmt);
	buf_vprintf(line, fmt, ap);
	va_end(ap);
	utf8_escape(safe, buf_str(line), 1);
	fputs(buf_str(safe), stdout);
	buf_free(line);
	buf_free(safe);
}

void
ctl_json_line(struct buf *b)
{
	fputs(buf_str(b), stdout);
	putchar('\n');
	buf_reset(b);
}

char *
ctl_time(int64_t ms, char *buf, size_t len)
{
	char *dot;

	if (ms == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	misc_rfc3339(ms, buf, len);
	/* Seconds are enough in a table: drop the milliseconds. */
	if ((dot = strchr(buf, '.')) != NULL)
		memmove(dot, "Z", 2);
	return buf;
}

char *
ctl_hostport(const char *host, int port)
{
	return ops_hostport(host, port);
}

const char *
ctl_cell(const char *s)
{
	return s == NULL || *s == '\0' ? NULL : s;
}
