/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef READAHEAD_H
#define READAHEAD_H

/*
 * Serve libssh's reads of the SSH socket <fd> from a read-ahead buffer
 * (see readahead.c); -1 stops, dropping what is buffered.
 */
void readahead_attach(int fd);

#endif
