/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_IPC_H
#define PORTHOLE_IPC_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Messages between portholed's processes, one per SOCK_SEQPACKET
 * datagram: a 32-bit type, then a payload of fields written and read
 * in order, as sshbuf does for SSH packets:
 *
 *	u8, u32, u64	big-endian
 *	str		u32 length, then the bytes (no NUL inside)
 *	addr		u8 family (0 none, 4, 6), 4 or 16 address bytes,
 *			u32 port (at most 65535)
 *
 * A message is at most IPC_MSG_MAX bytes and may carry descriptors
 * (SCM_RIGHTS). The reader trusts nothing: every get checks the bounds,
 * and a failed get makes the message bad for good (ipc_ok() says so),
 * so a decoder reads all its fields and checks once at the end.
 */

#define IPC_MSG_MAX (64 * 1024)
#define IPC_FDS_MAX 2 /* descriptors any message may carry */
#define IPC_STR_MAX (IPC_MSG_MAX - 8)

struct ipc_msg {
	uint32_t type;
	unsigned char *data; /* the payload */
	size_t len;
	size_t alloc;
	size_t off; /* read position */
	int bad; /* a get failed: malformed */
};

/* Start an empty message of <type> (reusing m's memory if it has any). */
void ipc_msg_init(struct ipc_msg *m, uint32_t type);
/* Free the payload (wiped first: it may have held a token). */
void ipc_msg_free(struct ipc_msg *m);
/* Make <dst> (initialised or zeroed) a copy of <src>, to read anew. */
void ipc_msg_copy(struct ipc_msg *dst, const struct ipc_msg *src);

void ipc_put_u8(struct ipc_msg *m, uint8_t v);
void ipc_put_u32(struct ipc_msg *m, uint32_t v);
void ipc_put_u64(struct ipc_msg *m, uint64_t v);
/* A string; NULL is written as "". */
void ipc_put_str(struct ipc_msg *m, const char *s);
/* Raw bytes, as they are (fields another message already wrote). */
void ipc_put_raw(struct ipc_msg *m, const void *p, size_t n);
/* A socket address (NULL or not INET/INET6: family 0). */
void ipc_put_addr(struct ipc_msg *m, const struct sockaddr *sa);

/*
 * Read the next field. On any failure (too short, a string longer than
 * <max> or holding a NUL, an unknown family) the message is marked bad
 * and the output is zeroed ("" for strings, AF_UNSPEC for addresses).
 * ipc_get_str returns a string the caller frees (never NULL).
 */
uint8_t ipc_get_u8(struct ipc_msg *m);
uint32_t ipc_get_u32(struct ipc_msg *m);
uint64_t ipc_get_u64(struct ipc_msg *m);
char *ipc_get_str(struct ipc_msg *m, size_t max);
void ipc_get_addr(struct ipc_msg *m, struct sockaddr_storage *ss);
/*
 * Predicate: every field read so far was well formed and, with <end>
 * set, nothing is left unread.
 */
int ipc_ok(const struct ipc_msg *m, int end);

/*
 * Send <m> on <sock> with descriptors <fds> (<nfds> of them, at most
 * IPC_FDS_MAX) without blocking. Returns 0, or -1 with errno (EAGAIN:
 * the peer is behind). The descriptors stay the caller's.
 */
int ipc_send(int sock, const struct ipc_msg *m, const int *fds, size_t nfds);
/* The same, waiting while the peer is behind (a blocking socket). */
int ipc_send_wait(int sock, const struct ipc_msg *m, const int *fds,
    size_t nfds);
/*
 * Receive one message into <m> (initialised or zeroed). Descriptors that
 * came with it go to <fds> (up to <maxfds>, the rest closed; *nfdsp says
 * how many). <wait> 0 does not block. Returns 0, 1 when the peer has
 * closed (read what it sent or not), or -1 with errno: EAGAIN, or
 * EPROTO for a datagram that was truncated or shorter than a type (its
 * descriptors are closed).
 */
int ipc_recv(int sock, struct ipc_msg *m, int *fds, size_t maxfds,
    size_t *nfdsp, int wait);

/*
 * Messages for a peer that is behind: SOCK_SEQPACKET queues only a few
 * datagrams (net.unix.max_dgram_qlen), so what cannot go now waits
 * here, in order, with its descriptor.
 */
struct ipc_queue {
	struct ipc_out *q;
	size_t n, alloc;
	size_t bytes; /* payload bytes queued */
};
/*
 * Send <m> with <fd> (-1: none; taken: closed once sent or dropped) now,
 * or queue it behind what waits. Returns 0, or -1 when the peer is gone
 * (fd closed).
 */
int ipc_queue_send(int sock, struct ipc_queue *q, const struct ipc_msg *m,
    int fd);
/* The same with <nfds> descriptors (at most IPC_FDS_MAX, all taken). */
int ipc_queue_sendv(int sock, struct ipc_queue *q, const struct ipc_msg *m,
    const int *fds, size_t nfds);
/* Send what is queued as far as the peer takes it; -1 if it is gone. */
int ipc_queue_flush(int sock, struct ipc_queue *q);
/* Drop what is queued, closing its descriptors. */
void ipc_queue_clear(struct ipc_queue *q);

#endif /* PORTHOLE_IPC_H */
