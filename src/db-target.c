/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "db.h"

/*
 * What a Database value names, and how it is shown: string work alone,
 * so that the configuration's code needs no driver.
 */

/* Predicate: <target> names a PostgreSQL database (URI or key=value). */
int
db_target_is_pg(const char *target)
{
	static const char *const prefixes[] = { "postgresql://", "postgres://",
		"host=", "dbname=", "service=" };
	size_t i;

	if (target == NULL)
		return 0;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(target, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	}
	return 0;
}

/* Append <l> bytes of <s> to <buf> (of <len>, <*np> used), truncating. */
static void
db_put(char *buf, size_t len, size_t *np, const char *s, size_t l)
{
	if (*np + l >= len)
		l = len - 1 - *np;
	memcpy(buf + *np, s, l);
	*np += l;
	buf[*np] = '\0';
}

/*
 * <target> for a log line or an error: a password in a URI's user part
 * or in a "password" parameter (URI query or key=value) becomes "***".
 */
void
db_target_print(const char *target, char *buf, size_t len)
{
	const char *p, *at, *colon, *end, *v;
	size_t n = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (target == NULL)
		return;
	p = target;
	if (db_target_is_pg(target) && (v = strstr(target, "://")) != NULL) {
		/* scheme://user:password@host… */
		v += 3;
		end = v + strcspn(v, "/?");
		at = memchr(v, '@', (size_t)(end - v));
		colon = at != NULL ? memchr(v, ':', (size_t)(at - v)) : NULL;
		if (colon != NULL) {
			db_put(buf, len, &n, target,
			    (size_t)(colon + 1 - target));
			db_put(buf, len, &n, "***", 3);
			p = at;
		}
	}
	/*
	 * password=… in a URI query (after ? or &), or password = value in
	 * a key=value string, whose value may be quoted ('a b', with \'
	 * and \\ escapes).
	 */
	while (*p != '\0') {
		if (strncmp(p, "password", 8) == 0 &&
		    (p == target || p[-1] == '?' || p[-1] == '&' ||
		        p[-1] == ' ' || p[-1] == '\t') &&
		    p[8 + strspn(p + 8, " \t")] == '=') {
			db_put(buf, len, &n, "password=***", 12);
			p += 8;
			p += strspn(p, " \t") + 1;
			p += strspn(p, " \t");
			if (*p == '\'') {
				for (p++; *p != '\0' && *p != '\''; p++) {
					if (*p == '\\' && p[1] != '\0')
						p++;
				}
				if (*p == '\'')
					p++;
			} else
				p += strcspn(p, "& \t");
			continue;
		}
		db_put(buf, len, &n, p, 1);
		p++;
	}
}
