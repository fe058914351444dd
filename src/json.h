/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_JSON_H
#define PORTHOLE_JSON_H

#include <stdint.h>

struct buf;

/*
 * Append <s> to <b> as a JSON string literal with its quotes, escaping
 * '"', '\\' and control characters: \n \r \t \b \f, other C0 controls
 * and DEL as \u00XX, and C1 controls (U+0080 to U+009F) as \u0080 to
 * \u009f, so that no reader's terminal takes them as commands. Bytes
 * >= 0x80 that are not valid UTF-8 are written as \ufffd, so the output
 * is always valid JSON. NULL is written as null.
 */
void json_str(struct buf *b, const char *s);

/*
 * Append <json>, JSON text already (a stored event), to <b> with the
 * same escapes as json_str() for any control character or byte that is
 * not UTF-8 it holds, and its quotes and backslashes as they are. In
 * one line of JSON with no blanks outside strings, as an event is, such
 * characters can only stand inside strings, where the escapes mean what
 * they replace: the text stays valid JSON and means the same.
 */
void json_raw(struct buf *b, const char *json);

/*
 * Helpers for writing one object member: a leading ',' is written when
 * <first> is 0. json_kv_str writes null for a NULL value.
 */
void json_kv_str(struct buf *b, int first, const char *key, const char *v);
void json_kv_int(struct buf *b, int first, const char *key, int64_t v);
void json_kv_bool(struct buf *b, int first, const char *key, int v);

#endif /* PORTHOLE_JSON_H */
