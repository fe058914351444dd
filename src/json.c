/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

/*
 * Measure the UTF-8 sequence starting at lead byte p[0] >= 0x80 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). Returns its
 * length and sets *validp to 1, or, for an invalid sequence, returns the
 * length of its maximal valid prefix (at least 1) with *validp 0, so one
 * U+FFFD replaces it as Unicode's "maximal subpart" practice asks. The
 * string's NUL never passes as a continuation byte, so we never read past it.
 */
static size_t
json_utf8_seq(const unsigned char *p, int *validp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	*validp = 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates U+D800-DFFF */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 1; /* stray continuation, C0/C1, F5-FF */
	for (i = 1; i <= need; i++) {
		if (p[i] < lo || p[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xbf;
	}
	*validp = 1;
	return need + 1;
}

/* Append <s> as a quoted JSON string, or null for NULL. */
void
json_str(struct buf *b, const char *s)
{
	const unsigned char *p, *run;
	size_t n;
	int valid;

	if (s == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '"');
	/* Bytes that need no escaping are copied in runs. */
	run = p = (const unsigned char *)s;
	while (*p != '\0') {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
		if (*p >= 0x80) {
			n = json_utf8_seq(p, &valid);
			if (valid) {
				p += n;
				continue;
			}
		} else
			n = 1;
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
			if (*p >= 0x80)
				buf_puts(b, "\\ufffd");
			else /* other C0 controls and DEL */
				buf_printf(b, "\\u%04x", (unsigned int)*p);
			break;
		}
		p += n;
		run = p;
	}
	buf_append(b, run, (size_t)(p - run));
	buf_putc(b, '"');
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
