/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_BUF_H
#define PORTHOLE_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A growable byte buffer, always NUL-terminated for use as a string. */
struct buf;

struct buf *buf_new(void);
void buf_free(struct buf *b); /* buf_free(NULL) is a no-op */
/* Empty the buffer, keeping its allocation. */
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Borrowed pointer to the contents, valid until the next change. */
const char *buf_str(const struct buf *b);
size_t buf_len(const struct buf *b);
/* Hand the contents to the caller (to free) and empty the buffer. */
char *buf_steal(struct buf *b);

#endif /* PORTHOLE_BUF_H */
