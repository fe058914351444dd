/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_MISC_H
#define PORTHOLE_MISC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse an sshd_config-style time interval: a plain number is seconds;
 * otherwise a sequence of NUMBER[smhdw] ("1h30m", "24h", "7d"), case
 * insensitive. Returns 0 and stores seconds in *secsp, or
 * PORTHOLE_ERR_INVALID_FORMAT (empty, bad unit, overflow, negative).
 */
int misc_convtime(const char *s, int64_t *secsp);

/* Milliseconds since the epoch, from the realtime clock. */
int64_t misc_now_ms(void);

/* Milliseconds from the monotonic clock, for timers. */
int64_t misc_monotonic_ms(void);

/*
 * Format <ms> (milliseconds since the epoch) as RFC 3339 UTC with
 * milliseconds, "2026-11-25T12:00:00.123Z", into <buf> of size <len>
 * (at least 25 bytes). Returns buf.
 */
char *misc_rfc3339(int64_t ms, char *buf, size_t len);

/*
 * Parse an RFC 3339 UTC time ("2026-11-25T12:00:00Z", optional fraction,
 * "Z" or "+00:00"), or a relative age ("10m", "2h", "7d": that long ago).
 * Returns 0 and stores milliseconds since the epoch in *msp, or
 * PORTHOLE_ERR_INVALID_FORMAT.
 */
int misc_parse_when(const char *s, int64_t now_ms, int64_t *msp);

/*
 * Format a duration of <secs> seconds briefly ("45s", "3m12s", "2h5m",
 * "3d4h") into buf. Returns buf.
 */
char *misc_duration(int64_t secs, char *buf, size_t len);

/*
 * Write all <len> bytes of <buf> to <fd>, retrying after a short write
 * or EINTR. On a non-blocking <fd>, EAGAIN waits for it to take more, up
 * to <timeout_ms> milliseconds each time (-1: no limit). Returns 0, or
 * PORTHOLE_ERR_SYSTEM with errno set: the failed call's, ETIMEDOUT when a
 * wait ran out, EIO when a write took nothing without an error.
 */
int misc_write_all(int fd, const void *buf, size_t len, int timeout_ms);

struct passwd;

/*
 * Become user <pw> for good, as root: its supplementary groups, then its
 * GID and UID, real, effective and saved. Returns 0, or -1 with errno
 * set; EPERM too if root could still be regained afterwards.
 */
int misc_become_user(const struct passwd *pw);

#endif /* PORTHOLE_MISC_H */
