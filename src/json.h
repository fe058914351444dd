/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_JSON_H
#define PORTHOLE_JSON_H

#include <stdint.h>

struct buf;

/*
 * Append <s> to <b> as a JSON string literal with its quotes, escaping
 * '"', '\\' and control characters (\n \r \t \b \f, others as \u00XX).
 * Bytes >= 0x80 that are not valid UTF-8 are written as \ufffd, so the
 * output is always valid JSON. NULL is written as null.
 */
void json_str(struct buf *b, const char *s);

/*
 * Helpers for writing one object member: a leading ',' is written when
 * <first> is 0. json_kv_str writes null for a NULL value.
 */
void json_kv_str(struct buf *b, int first, const char *key, const char *v);
void json_kv_int(struct buf *b, int first, const char *key, int64_t v);
void json_kv_bool(struct buf *b, int first, const char *key, int v);

#endif /* PORTHOLE_JSON_H */
