/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ipc.h"
#include "xmalloc.h"

/* A queued message: its wire bytes and descriptor. */
struct ipc_out {
	unsigned char *wire;
	size_t len;
	int fds[IPC_FDS_MAX];
	size_t nfds;
};

void
ipc_msg_init(struct ipc_msg *m, uint32_t type)
{
	if (m->data != NULL && m->len > 0)
		sodium_memzero(m->data, m->len);
	m->type = type;
	m->len = 0;
	m->off = 0;
	m->bad = 0;
}

void
ipc_msg_free(struct ipc_msg *m)
{
	if (m->data != NULL) {
		sodium_memzero(m->data, m->alloc);
		free(m->data);
	}
	memset(m, 0, sizeof(*m));
}

/* Make room for <n> more payload bytes; returns where they go. */
static unsigned char *
ipc_reserve(struct ipc_msg *m, size_t n)
{
	size_t want = m->len + n;

	if (want > m->alloc) {
		size_t nalloc = m->alloc ? m->alloc : 256;
		unsigned char *p;

		while (nalloc < want)
			nalloc *= 2;
		/* By hand, not realloc: the old bytes are wiped. */
		p = xmalloc(nalloc);
		if (m->len > 0)
			memcpy(p, m->data, m->len);
		if (m->data != NULL) {
			sodium_memzero(m->data, m->alloc);
			free(m->data);
		}
		m->data = p;
		m->alloc = nalloc;
	}
	m->len = want;
	return m->data + want - n;
}

void
ipc_msg_copy(struct ipc_msg *dst, const struct ipc_msg *src)
{
	ipc_msg_init(dst, src->type);
	if (src->len > 0)
		memcpy(ipc_reserve(dst, src->len), src->data, src->len);
	dst->bad = src->bad;
}

void
ipc_put_u8(struct ipc_msg *m, uint8_t v)
{
	*ipc_reserve(m, 1) = v;
}

void
ipc_put_u32(struct ipc_msg *m, uint32_t v)
{
	unsigned char *p = ipc_reserve(m, 4);

	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

void
ipc_put_u64(struct ipc_msg *m, uint64_t v)
{
	ipc_put_u32(m, (uint32_t)(v >> 32));
	ipc_put_u32(m, (uint32_t)v);
}

void
ipc_put_str(struct ipc_msg *m, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	ipc_put_u32(m, (uint32_t)n);
	if (n > 0)
		memcpy(ipc_reserve(m, n), s, n);
}

void
ipc_put_raw(struct ipc_msg *m, const void *p, size_t n)
{
	if (n > 0)
		memcpy(ipc_reserve(m, n), p, n);
}

void
ipc_put_addr(struct ipc_msg *m, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa != NULL && sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		ipc_put_u8(m, 4);
		memcpy(ipc_reserve(m, 4), &sin->sin_addr, 4);
		ipc_put_u32(m, ntohs(sin->sin_port));
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		ipc_put_u8(m, 6);
		memcpy(ipc_reserve(m, 16), &sin6->sin6_addr, 16);
		ipc_put_u32(m, ntohs(sin6->sin6_port));
	} else
		ipc_put_u8(m, 0);
}

/* Take <n> bytes from the read position, or mark the message bad. */
static const unsigned char *
ipc_take(struct ipc_msg *m, size_t n)
{
	const unsigned char *p;

	if (m->bad || n > m->len - m->off) {
		m->bad = 1;
		return NULL;
	}
	p = m->data + m->off;
	m->off += n;
	return p;
}

uint8_t
ipc_get_u8(struct ipc_msg *m)
{
	const unsigned char *p = ipc_take(m, 1);

	return p != NULL ? p[0] : 0;
}

uint32_t
ipc_get_u32(struct ipc_msg *m)
{
	const unsigned char *p = ipc_take(m, 4);

	if (p == NULL)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

uint64_t
ipc_get_u64(struct ipc_msg *m)
{
	/* All 8 bytes or none: a short field must not read as its half. */
	const unsigned char *p = ipc_take(m, 8);
	uint64_t v = 0;
	size_t i;

	if (p == NULL)
		return 0;
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

char *
ipc_get_str(struct ipc_msg *m, size_t max)
{
	const unsigned char *p;
	uint32_t n;
	char *s;

	n = ipc_get_u32(m);
	if (!m->bad && n > max)
		m->bad = 1;
	if (m->bad || (p = ipc_take(m, n)) == NULL)
		return xstrdup("");
	if (memchr(p, '\0', n) != NULL) {
		m->bad = 1;
		return xstrdup("");
	}
	s = xmalloc((size_t)n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

void
ipc_get_addr(struct ipc_msg *m, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const unsigned char *p;
	uint32_t port;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_UNSPEC;
	switch (ipc_get_u8(m)) {
	case 0:
		return;
	case 4:
		if ((p = ipc_take(m, 4)) == NULL)
			return;
		port = ipc_get_u32(m);
		if (m->bad || port > 65535)
			break;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p, 4);
		sin->sin_port = htons((uint16_t)port);
		return;
	case 6:
		if ((p = ipc_take(m, 16)) == NULL)
			return;
		port = ipc_get_u32(m);
		if (m->bad || port > 65535)
			break;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p, 16);
		sin6->sin6_port = htons((uint16_t)port);
		return;
	default:
		break;
	}
	m->bad = 1;
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_UNSPEC;
}

int
ipc_ok(const struct ipc_msg *m, int end)
{
	return !m->bad && (!end || m->off == m->len);
}

/* The wire form of <m>: type, then payload (caller frees). */
static unsigned char *
ipc_wire(const struct ipc_msg *m, size_t *lenp)
{
	unsigned char *w = xmalloc(4 + m->len);

	w[0] = (unsigned char)(m->type >> 24);
	w[1] = (unsigned char)(m->type >> 16);
	w[2] = (unsigned char)(m->type >> 8);
	w[3] = (unsigned char)m->type;
	if (m->len > 0)
		memcpy(w + 4, m->data, m->len);
	*lenp = 4 + m->len;
	return w;
}

/* Send <len> bytes of <wire> with <nfds> descriptors; 0 or -1/errno. */
static int
ipc_send_wire(int sock, const void *wire, size_t len, const int *fds,
    size_t nfds, int wait)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(IPC_FDS_MAX * sizeof(int))];
	} cm;
	ssize_t n;

	if (len > IPC_MSG_MAX || nfds > IPC_FDS_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)wire;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm.hdr.cmsg_len = CMSG_LEN(nfds * sizeof(int));
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.hdr), fds, nfds * sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh,
		    MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* ipc_send and ipc_send_wait. */
static int
ipc_send_msg(int sock, const struct ipc_msg *m, const int *fds, size_t nfds,
    int wait)
{
	unsigned char *w;
	size_t len;
	int r, saved;

	w = ipc_wire(m, &len);
	r = ipc_send_wire(sock, w, len, fds, nfds, wait);
	saved = errno;
	sodium_memzero(w, len);
	free(w);
	errno = saved;
	return r;
}

int
ipc_send(int sock, const struct ipc_msg *m, const int *fds, size_t nfds)
{
	return ipc_send_msg(sock, m, fds, nfds, 0);
}

int
ipc_send_wait(int sock, const struct ipc_msg *m, const int *fds, size_t nfds)
{
	return ipc_send_msg(sock, m, fds, nfds, 1);
}

int
ipc_recv(int sock, struct ipc_msg *m, int *fds, size_t maxfds, size_t *nfdsp,
    int wait)
{
	/* Room for more descriptors than anyone may send, to close them. */
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(16 * sizeof(int))];
	} cm;
	/*
	 * One datagram at a time, copied out before this returns: a static
	 * buffer (our processes have one thread) whose pages are touched
	 * only as far as messages reach, rather than 64 KiB of heap for
	 * each call.
	 */
	static unsigned char wire[IPC_MSG_MAX + 1];
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	size_t i, k, got = 0;
	ssize_t n;
	int fd, ret = -1;

	*nfdsp = 0;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = wire;
	iov.iov_len = IPC_MSG_MAX + 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(sock, &mh,
		    MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT));
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == ECONNRESET) {
		ret = 1; /* gone without reading what we sent */
		goto out;
	}
	if (n == -1)
		goto out;
	/* Whatever else the message says, its descriptors are accounted. */
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (got < maxfds)
				fds[got++] = fd;
			else
				close(fd); /* more than may come: not leaked */
		}
	}
	if (n == 0 && got == 0) {
		ret = 1; /* the other end is gone */
		goto out;
	}
	if (n < 4 || n > IPC_MSG_MAX ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (i = 0; i < got; i++)
			close(fds[i]);
		got = 0;
		errno = EPROTO;
		goto out;
	}
	ipc_msg_init(m,
	    (uint32_t)wire[0] << 24 | (uint32_t)wire[1] << 16 |
	        (uint32_t)wire[2] << 8 | (uint32_t)wire[3]);
	if (n > 4)
		memcpy(ipc_reserve(m, (size_t)n - 4), wire + 4, (size_t)n - 4);
	*nfdsp = got;
	ret = 0;
out:
	sodium_memzero(wire, n > 0 ? (size_t)n : 0);
	return ret;
}

/* Close the <n> descriptors of <fds>. */
static void
ipc_close_fds(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

int
ipc_queue_sendv(int sock, struct ipc_queue *q, const struct ipc_msg *m,
    const int *fds, size_t nfds)
{
	struct ipc_out *o;
	unsigned char *w;
	size_t len;

	if (nfds > IPC_FDS_MAX) {
		ipc_close_fds(fds, nfds);
		errno = EINVAL;
		return -1;
	}
	w = ipc_wire(m, &len);
	if (q->n == 0) {
		if (ipc_send_wire(sock, w, len, fds, nfds, 0) == 0) {
			ipc_close_fds(fds, nfds);
			sodium_memzero(w, len);
			free(w);
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			ipc_close_fds(fds, nfds);
			sodium_memzero(w, len);
			free(w);
			return -1;
		}
	}
	/* The peer is behind: keep it, in order, for ipc_queue_flush. */
	if (q->n == q->alloc) {
		q->alloc = q->alloc ? q->alloc * 2 : 16;
		q->q = xreallocarray(q->q, q->alloc, sizeof(*q->q));
	}
	o = &q->q[q->n++];
	o->wire = w;
	o->len = len;
	memcpy(o->fds, fds, nfds * sizeof(int));
	o->nfds = nfds;
	q->bytes += len;
	return 0;
}

int
ipc_queue_send(int sock, struct ipc_queue *q, const struct ipc_msg *m, int fd)
{
	return ipc_queue_sendv(sock, q, m, &fd, fd != -1);
}

int
ipc_queue_flush(int sock, struct ipc_queue *q)
{
	size_t done = 0;
	int ret = 0;

	while (done < q->n) {
		struct ipc_out *o = &q->q[done];

		if (ipc_send_wire(sock, o->wire, o->len, o->fds, o->nfds, 0) !=
		    0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ret = -1;
			break;
		}
		ipc_close_fds(o->fds, o->nfds);
		q->bytes -= o->len;
		sodium_memzero(o->wire, o->len);
		free(o->wire);
		done++;
	}
	if (done > 0) {
		memmove(q->q, q->q + done, (q->n - done) * sizeof(*q->q));
		q->n -= done;
	}
	return ret;
}

void
ipc_queue_clear(struct ipc_queue *q)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		ipc_close_fds(q->q[i].fds, q->q[i].nfds);
		sodium_memzero(q->q[i].wire, q->q[i].len);
		free(q->q[i].wire);
	}
	free(q->q);
	memset(q, 0, sizeof(*q));
}
