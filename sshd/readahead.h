/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef READAHEAD_H
#define READAHEAD_H

/*
 * Whether readahead.c was written for the libssh named by <version>, a
 * string as ssh_version(0) returns it ("0.10.6/openssl/zlib"): one of
 * the releases whose socket reads it was checked against. Returns 1 or 0
 * (also for NULL or anything that does not start with a version).
 */
int readahead_fits(const char *version);

/*
 * Serve libssh's reads of the SSH socket <fd> from a read-ahead buffer
 * (see readahead.c) if readahead_fits(<libssh_version>), which must be
 * ssh_version(0) of the library running. Either way, a socket resets the
 * count of readahead_served() to 0. <fd> -1 stops, dropping what is
 * buffered and keeping the count. Returns 1 if the read-ahead is on,
 * else 0.
 */
int readahead_attach(int fd, const char *libssh_version);

/*
 * The number of recv() calls on the socket last attached that the
 * read-ahead answered from its buffer, without a system call of their
 * own.
 */
unsigned long long readahead_served(void);

#endif
