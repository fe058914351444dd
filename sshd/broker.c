/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portholed.h"

#include "xmalloc.h"

/*
 * The messages between the parent and its session processes, over one
 * SOCK_SEQPACKET socketpair per child (so message boundaries hold), a
 * descriptor riding along with SCM_RIGHTS where one is handed over.
 * Both ends know each other's binary layout: they are one program.
 */

int
brk_send(int fd, const struct brk_msg *m, int passfd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)m;
	iov.iov_len = sizeof(*m);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (passfd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.hdr), &passfd, sizeof(int));
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != sizeof(*m)) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
brk_recv(int fd, struct brk_msg *m, int *fdp, int wait)
{
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;

	*fdp = -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = m;
	iov.iov_len = sizeof(*m);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(fd, &mh,
		    MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT));
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0)
		return 1; /* the other end is gone */
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fdp, CMSG_DATA(c), sizeof(int));
	}
	if ((size_t)n != sizeof(*m) || (mh.msg_flags & MSG_CTRUNC)) {
		if (*fdp != -1)
			close(*fdp);
		*fdp = -1;
		errno = EPROTO;
		return -1;
	}
	m->address_id[sizeof(m->address_id) - 1] = '\0';
	m->reason[sizeof(m->reason) - 1] = '\0';
	return 0;
}

/* Predicate: <m> can be added into queued message <q> (counts). */
static int
brk_coalesces(const struct brk_msg *q, const struct brk_msg *m)
{
	return (m->type == BRK_DONE || m->type == BRK_GOT) &&
	    q->type == m->type && strcmp(q->address_id, m->address_id) == 0;
}

int
brk_queue_send(int sock, struct brk_queue *q, const struct brk_msg *m, int fd)
{
	struct brk_out *o;

	if (q->n == 0) {
		if (brk_send(sock, m, fd) == 0) {
			if (fd != -1)
				close(fd);
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			if (fd != -1)
				close(fd);
			return -1;
		}
	} else if (fd == -1 && brk_coalesces(&q->q[q->n - 1].m, m)) {
		q->q[q->n - 1].m.count += m->count;
		return 0;
	}
	/* The peer is behind: keep it, in order, for brk_queue_flush. */
	if (q->n == q->alloc) {
		q->alloc = q->alloc ? q->alloc * 2 : 16;
		q->q = xreallocarray(q->q, q->alloc, sizeof(*q->q));
	}
	o = &q->q[q->n++];
	o->m = *m;
	o->fd = fd;
	return 0;
}

int
brk_queue_flush(int sock, struct brk_queue *q)
{
	size_t done = 0;
	int ret = 0;

	while (done < q->n) {
		if (brk_send(sock, &q->q[done].m, q->q[done].fd) != 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ret = -1;
			break;
		}
		if (q->q[done].fd != -1)
			close(q->q[done].fd);
		done++;
	}
	if (done > 0) {
		memmove(q->q, q->q + done, (q->n - done) * sizeof(*q->q));
		q->n -= done;
	}
	return ret;
}

void
brk_queue_clear(struct brk_queue *q)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		if (q->q[i].fd != -1)
			close(q->q[i].fd);
	}
	free(q->q);
	memset(q, 0, sizeof(*q));
}
