/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "utf8.h"

/*
 * Append <s> to <b> escaped for the inside of a JSON string: control
 * characters (C0, DEL and C1) as \u00XX or their short forms, bytes
 * that are not UTF-8 as \ufffd, and, if <quote>, '"' and '\\'. Without
 * <quote>, <s> is JSON text already and its quotes and escapes stay.
 */
static void
json_escape(struct buf *b, const char *s, int quote)
{
	const unsigned char *p, *run;
	size_t n;
	int valid;

	/* Bytes that need no escaping are copied in runs. */
	run = p = (const unsigned char *)s;
	while (*p != '\0') {
		if (*p >= 0x20 && *p < 0x7f &&
		    (!quote || (*p != '"' && *p != '\\'))) {
			p++;
			continue;
		}
		n = 1;
		valid = 0;
		if (*p >= 0x80) {
			n = utf8_seq((const char *)p, &valid);
			if (valid && !utf8_is_c1((const char *)p, n)) {
				p += n;
				continue;
			}
		}
		buf_append(b, run, (size_t)(p - run));
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\b':
			buf_puts(b, "\\b");
			break;
		case '\f':
			buf_puts(b, "\\f");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (valid) /* a C1 control, C2 80 to C2 9F */
				buf_printf(b, "\\u%04x", (unsigned int)p[1]);
			else if (*p >= 0x80)
				buf_puts(b, "\\ufffd");
			else /* other C0 controls and DEL */
				buf_printf(b, "\\u%04x", (unsigned int)*p);
			break;
		}
		p += n;
		run = p;
	}
	buf_append(b, run, (size_t)(p - run));
}

/* Append <s> as a quoted JSON string, or null for NULL. */
void
json_str(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '"');
	json_escape(b, s, 1);
	buf_putc(b, '"');
}

/* Append JSON text, made safe for a terminal; see json.h. */
void
json_raw(struct buf *b, const char *json)
{
	json_escape(b, json, 0);
}

/* Start an object member: the separating comma, the key and the colon. */
static void
json_key(struct buf *b, int first, const char *key)
{
	if (!first)
		buf_putc(b, ',');
	json_str(b, key);
	buf_putc(b, ':');
}

/* Append the member "key":"v" (or "key":null for a NULL v). */
void
json_kv_str(struct buf *b, int first, const char *key, const char *v)
{
	json_key(b, first, key);
	json_str(b, v);
}

/* Append the member "key":v for a 64-bit integer v. */
void
json_kv_int(struct buf *b, int first, const char *key, int64_t v)
{
	json_key(b, first, key);
	buf_printf(b, "%" PRId64, v);
}

/* Append the member "key":true or "key":false. */
void
json_kv_bool(struct buf *b, int first, const char *key, int v)
{
	json_key(b, first, key);
	buf_puts(b, v ? "true" : "false");
}
