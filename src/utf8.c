/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "utf8.h"

/* Measure one UTF-8 sequence; see utf8.h for the contract. */
size_t
utf8_seq(const char *s, int *validp)
{
	const unsigned char *p = (const unsigned char *)s;
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

/* U+0080 to U+009F are C2 80 to C2 9F; see utf8.h for the contract. */
int
utf8_is_c1(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	return len == 2 && p[0] == 0xc2 && p[1] <= 0x9f;
}

/* Check free text for control characters; see utf8.h for the contract. */
int
utf8_check_text(const char *s, const char *allow, char *errbuf, size_t errlen)
{
	const unsigned char *p;
	size_t n, off;
	int valid;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		off = (size_t)(p - (const unsigned char *)s);
		n = 1;
		if (*p >= 0x20 && *p < 0x7f)
			continue;
		if (*p < 0x20) {
			if (allow != NULL && strchr(allow, *p) != NULL)
				continue;
			if (errbuf != NULL)
				snprintf(errbuf, errlen,
				    "C0 control U+%04X at offset %zu",
				    (unsigned int)*p, off);
			return PORTHOLE_ERR_INVALID_FORMAT;
		}
		if (*p == 0x7f) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen,
				    "DEL (U+007F) at offset %zu", off);
			return PORTHOLE_ERR_INVALID_FORMAT;
		}
		n = utf8_seq((const char *)p, &valid);
		if (valid && utf8_is_c1((const char *)p, n)) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen,
				    "C1 control U+%04X at offset %zu",
				    (unsigned int)p[1], off);
			return PORTHOLE_ERR_INVALID_FORMAT;
		}
		if (valid)
			continue;
		/*
		 * Not UTF-8: look at this byte alone. One that continues a
		 * broken sequence (E9 9B then not a continuation) is seen
		 * on the next pass, as a stray byte.
		 */
		n = 1;
		if (*p <= 0x9f) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen,
				    "C1 control byte 0x%02X (not UTF-8) at "
				    "offset %zu",
				    (unsigned int)*p, off);
			return PORTHOLE_ERR_INVALID_FORMAT;
		}
	}
	return 0;
}

/* Escape text for a terminal; see utf8.h for the contract. */
void
utf8_escape(struct buf *b, const char *s, int keep_nl)
{
	const unsigned char *p, *run;
	size_t n;
	int valid;

	/* Bytes that need no escaping are copied in runs. */
	run = p = (const unsigned char *)s;
	while (*p != '\0') {
		if ((*p >= 0x20 && *p < 0x7f) || (*p == '\n' && keep_nl)) {
			p++;
			continue;
		}
		if (*p >= 0x80) {
			n = utf8_seq((const char *)p, &valid);
			if (valid && !utf8_is_c1((const char *)p, n)) {
				p += n;
				continue;
			}
		}
		buf_append(b, run, (size_t)(p - run));
		/* A C1 control's second byte is escaped on the next pass. */
		buf_printf(b, "\\%03o", (unsigned int)*p);
		run = ++p;
	}
	buf_append(b, run, (size_t)(p - run));
}
