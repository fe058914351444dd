/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

/* This file is recv() and poll(): glibc's fortified wrappers must not be. */
#undef _FORTIFY_SOURCE

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "readahead.h"

/*
 * Read-ahead on the SSH socket.
 *
 * libssh (0.10 and 0.11 alike) reads its socket 4096 bytes per poll
 * wake-up (MAX_BUF_SIZE in socket.c) and has no option to change that:
 * a GiB from the client costs 262,144 poll() and as many recv() calls,
 * measured at a fifth of portholed's CPU for those bytes.
 *
 * So portholed defines recv() and poll() itself. libssh.so calls both
 * through the dynamic linker, which finds the executable's definitions
 * first (the interposition malloc replacements rely on). For every
 * descriptor but the one given to readahead_attach() they are the system
 * calls (recvfrom(2) and ppoll(2)); for that one, in the session process
 * only:
 *
 *  - recv() is served from a buffer of READAHEAD_SIZE bytes, refilled by
 *    one recvfrom() of the whole size whenever it is empty. An error or
 *    the end of the stream is returned when the buffer is empty, in the
 *    order the socket gave them, so libssh sees the same bytes and the
 *    same end as without the buffer, only in fewer calls.
 *  - poll() for a set that asks POLLIN of that descriptor returns at once
 *    while the buffer holds bytes: the descriptor is readable, as far as
 *    its reader can tell. Every READAHEAD_SKIPS-th such call also polls
 *    the rest of the set without waiting, so they are served within a
 *    few wake-ups. libssh takes at least one byte per wake-up in which
 *    the socket is readable, so the buffer empties, and the next poll()
 *    is the system's, in at most READAHEAD_SIZE / 4096 wake-ups.
 *
 * The buffer is static, so its pages are resident only once a session
 * has received that much at once.
 *
 * libssh's other reads of the socket (read(2), used only for a non-socket
 * descriptor) do not apply to an accepted connection; portholed itself
 * never reads the SSH socket.
 *
 * All of that is what libssh's own code does, not what its API promises,
 * so it is switched on only for the releases read for it (readahead_fits;
 * the library is shared, so the check is of the one running). In each of
 * them, socket.c (ssh_socket_pollcallback, ssh_socket_unbuffered_read)
 * calls recv(fd, buf, MAX_BUF_SIZE = 4096, 0) once per POLLIN wake-up
 * for a descriptor that is a socket, takes the bytes into its in_buffer
 * and parses what it has, and poll.c (ssh_poll, ssh_poll_ctx_dopoll)
 * calls poll() on its array, passes each descriptor's revents to its
 * callback and asks POLLIN of the session socket only while it wants to
 * read. Nothing else in libssh receives from that socket (agent.c and
 * connector.c recv() from their own descriptors).
 */

#define READAHEAD_SIZE  (256 * 1024)
#define READAHEAD_SKIPS 8

static struct {
	int fd;
	size_t off; /* next byte to hand out */
	size_t len; /* bytes in buf */
	unsigned int skips; /* wake-ups served without a poll */
	unsigned long long served; /* recv() calls answered from buf alone */
	unsigned char buf[READAHEAD_SIZE];
} ra = { -1, 0, 0, 0, 0, { 0 } };

/*
 * The libssh releases whose socket.c and poll.c were read for this file
 * (see above): major.minor, and the range of patch releases.
 */
static const struct {
	unsigned int major, minor, patch_min, patch_max;
} fits[] = {
	{ 0, 10, 6, 6 },
	{ 0, 11, 0, 5 },
	{ 0, 12, 0, 2 },
};

/*
 * Parse the decimal number at *sp (digits only, at most 5) into *vp and
 * move *sp past it. Returns 0, or -1 if there is none.
 */
static int
parse_number(const char **sp, unsigned int *vp)
{
	const char *s = *sp;
	unsigned int v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9' && n < 5) {
		v = v * 10 + (unsigned int)(*s - '0');
		s++;
		n++;
	}
	if (n == 0 || (*s >= '0' && *s <= '9'))
		return -1;
	*sp = s;
	*vp = v;
	return 0;
}

int
readahead_fits(const char *version)
{
	unsigned int major, minor, patch;
	const char *s = version;
	size_t i;

	if (s == NULL || parse_number(&s, &major) != 0 || *s++ != '.' ||
	    parse_number(&s, &minor) != 0 || *s++ != '.' ||
	    parse_number(&s, &patch) != 0 || (*s != '\0' && *s != '/'))
		return 0;
	for (i = 0; i < sizeof(fits) / sizeof(fits[0]); i++) {
		if (fits[i].major == major && fits[i].minor == minor &&
		    patch >= fits[i].patch_min && patch <= fits[i].patch_max)
			return 1;
	}
	return 0;
}

int
readahead_attach(int fd, const char *libssh_version)
{
	ra.fd = -1;
	ra.off = ra.len = 0;
	ra.skips = 0;
	if (fd == -1)
		return 0;
	ra.served = 0;
	if (!readahead_fits(libssh_version))
		return 0;
	ra.fd = fd;
	return 1;
}

unsigned long long
readahead_served(void)
{
	return ra.served;
}

static int
sys_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct timespec ts;

	if (timeout < 0)
		return ppoll(fds, nfds, NULL, NULL);
	ts.tv_sec = timeout / 1000;
	ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
	return ppoll(fds, nfds, &ts, NULL);
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n;
	size_t avail;

	if (ra.fd == -1 || fd != ra.fd)
		return recvfrom(fd, buf, len, flags, NULL, NULL);
	if (ra.off == ra.len) {
		/* A read as large as the buffer gains nothing from it. */
		if (len >= sizeof(ra.buf) || (flags & ~MSG_DONTWAIT) != 0)
			return recvfrom(fd, buf, len, flags, NULL, NULL);
		n = recvfrom(fd, ra.buf, sizeof(ra.buf), flags, NULL, NULL);
		if (n <= 0)
			return n;
		ra.off = 0;
		ra.len = (size_t)n;
	} else
		ra.served++;
	avail = ra.len - ra.off;
	if (len > avail)
		len = avail;
	memcpy(buf, ra.buf + ra.off, len);
	if ((flags & MSG_PEEK) == 0)
		ra.off += len;
	return (ssize_t)len;
}

/*
 * glibc 2.36 declares poll()'s array write-only, which it is not: reading
 * fds[].fd and .events here is what poll() is for.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	nfds_t i;
	int n, want = 0;

	if (ra.off != ra.len) {
		for (i = 0; i < nfds; i++) {
			if (fds[i].fd == ra.fd && (fds[i].events & POLLIN)) {
				want = 1;
				break;
			}
		}
	}
	if (!want) {
		ra.skips = 0;
		return sys_poll(fds, nfds, timeout);
	}
	n = 0;
	if (++ra.skips < READAHEAD_SKIPS) {
		for (i = 0; i < nfds; i++)
			fds[i].revents = 0;
	} else {
		ra.skips = 0;
		if ((n = sys_poll(fds, nfds, 0)) == -1) {
			if (errno != EINTR)
				return -1;
			for (i = 0; i < nfds; i++)
				fds[i].revents = 0;
			n = 0;
		}
	}
	for (i = 0; i < nfds; i++) {
		if (fds[i].fd == ra.fd && (fds[i].events & POLLIN)) {
			if (fds[i].revents == 0)
				n++;
			fds[i].revents |= POLLIN;
		}
	}
	return n;
}
