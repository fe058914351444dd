/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_UTF8_H
#define PORTHOLE_UTF8_H

#include <stddef.h>

/*
 * Free text that users and clients give (descriptions, metadata, key
 * comments), checked on the way into the store and escaped on the way
 * out to a terminal. A control character is a C0 control (U+0000 to
 * U+001F), DEL (U+007F) or a C1 control (U+0080 to U+009F): in UTF-8
 * the bytes C2 80 to C2 9F, and, to a terminal that takes 8-bit
 * controls, the single bytes 0x80 to 0x9F too (0x9B is CSI, as ESC [
 * is).
 */

struct buf;

/* Room for the longest message of utf8_check_text(), with its NUL. */
#define UTF8_ERRLEN 80

/*
 * Measure the UTF-8 sequence at <s>, whose first byte is 0x80 or more
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
 * Returns its length and sets *validp to 1, or, for an invalid sequence,
 * returns the length of its maximal valid prefix (at least 1) and sets
 * *validp to 0: Unicode's "maximal subpart", which one U+FFFD replaces.
 * The string's NUL never passes as a continuation byte, so this never
 * reads past it.
 */
size_t utf8_seq(const char *s, int *validp);

/* Whether the valid sequence of <len> bytes at <s> is a C1 control. */
int utf8_is_c1(const char *s, size_t len);

/*
 * Check free text <s> from a user or a client: refuse every control
 * character and every byte 0x80 to 0x9F that is not part of a valid
 * UTF-8 sequence, except the C0 controls in <allow> (NULL for none).
 * Other bytes that are not UTF-8 pass. Returns 0, or
 * PORTHOLE_ERR_INVALID_FORMAT and, if <errbuf> is not NULL, names the
 * first such character in it (<errlen> bytes; UTF8_ERRLEN holds any
 * message uncut): "C1 control U+009B at offset 4",
 * "C1 control byte 0x9B (not UTF-8) at offset 4", "C0 control U+001B
 * at offset 0", "DEL (U+007F) at offset 2"; offsets count bytes from 0.
 */
int utf8_check_text(const char *s, const char *allow, char *errbuf,
    size_t errlen);

/*
 * Append <s> to <b> for a terminal: each byte of a control character,
 * and each byte that is not part of a valid UTF-8 sequence, as a
 * backslash and three octal digits, as log_sanitize() writes bytes
 * (ESC as \033, U+009B as \302\233, a lone byte 0x9B as \233);
 * printable ASCII and valid UTF-8 as they are. With <keep_nl>, '\n' is
 * kept as it is too. A backslash is not escaped: the text is for
 * people, and --json output is the exact form.
 */
void utf8_escape(struct buf *b, const char *s, int keep_nl);

#endif /* PORTHOLE_UTF8_H */
