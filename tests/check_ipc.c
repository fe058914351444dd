/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "ipc.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "log.h"

Suite *ipc_suite(void);

/*
 * The control protocol's codec and transport: every field round trips,
 * every malformed field marks the message bad for good with zero
 * values, and descriptors are never leaked, whatever a peer sends.
 */

/* The number of descriptors this process has open. */
static int
count_fds(void)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1; /* the directory's own */
}

/* A SOCK_SEQPACKET pair, as the monitor and a session process use. */
static void
seqpair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	                     sv),
	    0);
}

/* A pipe whose read end does not block. */
static void
nbpipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
}

/*
 * Predicate: every copy of the write end of the pipe whose read end is
 * <rfd> is closed (a read sees end of file, not "would block").
 */
static int
pipe_writers_gone(int rfd)
{
	char c;

	return read(rfd, &c, 1) == 0;
}

/* Send <len> raw bytes with <nfds> descriptors, bypassing ipc_send. */
static void
send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;

	ck_assert_uint_le(nfds, 8);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm.hdr.cmsg_len = CMSG_LEN(nfds * sizeof(int));
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.hdr), fds, nfds * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* A message whose payload is the <len> bytes at <p>, to read from. */
static void
msg_from(struct ipc_msg *m, const void *p, size_t len)
{
	memset(m, 0, sizeof(*m));
	ipc_msg_init(m, 7);
	ipc_put_raw(m, p, len);
}

/* put / get */

static const uint64_t u64_cases[] = {
	0,
	1,
	0x7f,
	0x80,
	0xff,
	0x100,
	0xffff,
	0x10000,
	0x7fffffff,
	0x80000000,
	0xffffffff,
	0x100000000ULL,
	0x0123456789abcdefULL,
	0x7fffffffffffffffULL,
	0x8000000000000000ULL,
	0xffffffffffffffffULL,
};

START_TEST(test_u8_round_trip)
{
	struct ipc_msg m;
	unsigned int v;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	for (v = 0; v < 256; v++)
		ipc_put_u8(&m, (uint8_t)v);
	ck_assert_uint_eq(m.len, 256);
	for (v = 0; v < 256; v++)
		ck_assert_uint_eq(ipc_get_u8(&m), v);
	ck_assert(ipc_ok(&m, 1));
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_u32_round_trip)
{
	struct ipc_msg m;
	uint32_t v = (uint32_t)u64_cases[_i];

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	ipc_put_u32(&m, v);
	ck_assert_uint_eq(m.len, 4);
	/* Big-endian on the wire. */
	ck_assert_uint_eq(m.data[0], v >> 24);
	ck_assert_uint_eq(m.data[3], v & 0xff);
	ck_assert_uint_eq(ipc_get_u32(&m), v);
	ck_assert(ipc_ok(&m, 1));
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_u64_round_trip)
{
	struct ipc_msg m;
	uint64_t v = u64_cases[_i];

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	ipc_put_u64(&m, v);
	ck_assert_uint_eq(m.len, 8);
	ck_assert_uint_eq(m.data[0], v >> 56);
	ck_assert_uint_eq(m.data[7], v & 0xff);
	ck_assert(ipc_get_u64(&m) == v);
	ck_assert(ipc_ok(&m, 1));
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_str_round_trip)
{
	static const size_t lens[] = { 0, 1, 2, 255, 256, 257, 4096, 60000 };
	struct ipc_msg m;
	char *s, *got;
	size_t i, n;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		s = malloc(lens[i] + 1);
		ck_assert_ptr_nonnull(s);
		for (n = 0; n < lens[i]; n++)
			s[n] = (char)(1 + (n * 7 + i) % 255);
		s[lens[i]] = '\0';
		ipc_put_str(&m, s);
		free(s);
	}
	ipc_put_str(&m, NULL); /* written as "" */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* Exactly the length is allowed as the maximum. */
		got = ipc_get_str(&m, lens[i]);
		ck_assert(ipc_ok(&m, 0));
		ck_assert_uint_eq(strlen(got), lens[i]);
		for (n = 0; n < lens[i]; n++)
			ck_assert_int_eq((unsigned char)got[n],
			    1 + (n * 7 + i) % 255);
		free(got);
	}
	got = ipc_get_str(&m, 0);
	ck_assert_str_eq(got, "");
	free(got);
	ck_assert(ipc_ok(&m, 1));
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_raw)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	ipc_put_raw(&m, "", 0);
	ck_assert_uint_eq(m.len, 0);
	ipc_put_raw(&m, "\x00\x00\x00\x02hi", 6);
	ipc_put_u8(&m, 9);
	{
		char *s = ipc_get_str(&m, 2);

		ck_assert_str_eq(s, "hi");
		free(s);
	}
	ck_assert_uint_eq(ipc_get_u8(&m), 9);
	ck_assert(ipc_ok(&m, 1));
	ipc_msg_free(&m);
}
END_TEST

/* Addresses: family, address and port come back as they went. */
static const struct {
	int af;
	const char *ip;
	uint16_t port;
	size_t wire; /* bytes on the wire */
} addr_cases[] = {
	{ AF_INET, "127.0.0.1", 22, 1 + 4 + 4 },
	{ AF_INET, "0.0.0.0", 0, 1 + 4 + 4 },
	{ AF_INET, "255.255.255.255", 65535, 1 + 4 + 4 },
	{ AF_INET6, "::1", 2222, 1 + 16 + 4 },
	{ AF_INET6, "2001:db8::ff00:42:8329", 65535, 1 + 16 + 4 },
	{ AF_INET6, "::ffff:192.0.2.1", 1, 1 + 16 + 4 },
};

START_TEST(test_addr_round_trip)
{
	struct sockaddr_storage in, out;
	struct sockaddr_in *sin = (struct sockaddr_in *)&in;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&in;
	struct ipc_msg m;
	char buf[INET6_ADDRSTRLEN];

	memset(&in, 0, sizeof(in));
	in.ss_family = (sa_family_t)addr_cases[_i].af;
	if (addr_cases[_i].af == AF_INET) {
		ck_assert_int_eq(inet_pton(AF_INET, addr_cases[_i].ip,
		                     &sin->sin_addr),
		    1);
		sin->sin_port = htons(addr_cases[_i].port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr_cases[_i].ip,
		                     &sin6->sin6_addr),
		    1);
		sin6->sin6_port = htons(addr_cases[_i].port);
	}
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	ipc_put_addr(&m, (struct sockaddr *)&in);
	ck_assert_uint_eq(m.len, addr_cases[_i].wire);
	memset(&out, 0xa5, sizeof(out));
	ipc_get_addr(&m, &out);
	ck_assert(ipc_ok(&m, 1));
	ck_assert_int_eq(out.ss_family, addr_cases[_i].af);
	if (addr_cases[_i].af == AF_INET) {
		struct sockaddr_in *o = (struct sockaddr_in *)&out;

		ck_assert_str_eq(inet_ntop(AF_INET, &o->sin_addr, buf,
		                     sizeof(buf)),
		    addr_cases[_i].ip);
		ck_assert_uint_eq(ntohs(o->sin_port), addr_cases[_i].port);
	} else {
		struct sockaddr_in6 *o = (struct sockaddr_in6 *)&out;

		ck_assert_str_eq(inet_ntop(AF_INET6, &o->sin6_addr, buf,
		                     sizeof(buf)),
		    addr_cases[_i].ip);
		ck_assert_uint_eq(ntohs(o->sin6_port), addr_cases[_i].port);
	}
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_addr_none)
{
	struct sockaddr_storage out;
	struct sockaddr_un sun;
	struct ipc_msg m;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	ipc_put_addr(&m, NULL);
	ipc_put_addr(&m, (struct sockaddr *)&sun);
	ck_assert_uint_eq(m.len, 2);
	ck_assert_uint_eq(m.data[0], 0);
	ck_assert_uint_eq(m.data[1], 0);
	memset(&out, 0xa5, sizeof(out));
	ipc_get_addr(&m, &out);
	ck_assert_int_eq(out.ss_family, AF_UNSPEC);
	ipc_get_addr(&m, &out);
	ck_assert_int_eq(out.ss_family, AF_UNSPEC);
	ck_assert(ipc_ok(&m, 1));
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_init_reuses)
{
	struct ipc_msg m, c;
	unsigned char *data;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 5);
	ipc_put_u32(&m, 0xdeadbeef);
	ck_assert_uint_eq(ipc_get_u8(&m), 0xde);
	data = m.data;
	ipc_msg_init(&m, 6);
	ck_assert_uint_eq(m.type, 6);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_uint_eq(m.off, 0);
	ck_assert_int_eq(m.bad, 0);
	ck_assert_ptr_eq(m.data, data);
	/* The old payload was wiped. */
	ck_assert_uint_eq(data[0], 0);

	/* A copy reads anew, and keeps the bad mark. */
	ipc_put_str(&m, "copy");
	(void)ipc_get_u8(&m);
	memset(&c, 0, sizeof(c));
	ipc_msg_copy(&c, &m);
	ck_assert_uint_eq(c.type, 6);
	{
		char *s = ipc_get_str(&c, 4);

		ck_assert_str_eq(s, "copy");
		free(s);
	}
	ck_assert(ipc_ok(&c, 1));
	(void)ipc_get_u8(&c);
	ck_assert(!ipc_ok(&c, 0));
	ipc_msg_copy(&m, &c);
	ck_assert(!ipc_ok(&m, 0));
	ipc_msg_free(&c);
	ipc_msg_free(&m);
	ck_assert_ptr_null(m.data);
	ipc_msg_free(&m); /* twice is harmless */
}
END_TEST

/*
 * Malformed payloads. Each is read with <reads>, one letter a field
 * (b u8, w u32, q u64, s str with max <max>, a addr); every read must
 * leave the message bad, and every field from <badfrom> on must read
 * as zero ("" or AF_UNSPEC).
 */
static const struct {
	const char *name;
	const char *payload;
	size_t len;
	const char *reads;
	size_t max;
	size_t badfrom;
} bad_cases[] = {
	{ "empty u8", "", 0, "b", 0, 0 },
	{ "short u32", "\1\2\3", 3, "w", 0, 0 },
	{ "short u64", "\1\2\3\4\5\6\7", 7, "q", 0, 0 },
	{ "u32 then short u64", "\0\0\0\5\1", 5, "wq", 0, 1 },
	{ "short str length", "\0\0", 2, "s", 16, 0 },
	{ "str past the end", "\0\0\0\5abcd", 8, "s", 16, 0 },
	{ "str longer than max", "\0\0\0\5abcde", 9, "s", 4, 0 },
	{ "str of 4 GiB", "\377\377\377\377abcd", 8, "s", IPC_STR_MAX, 0 },
	{ "str with a NUL", "\0\0\0\3a\0b", 7, "s", 16, 0 },
	{ "str with a NUL last", "\0\0\0\2a\0", 6, "s", 16, 0 },
	{ "addr family 5", "\5\177\0\0\1\0\0\0\26", 9, "a", 0, 0 },
	{ "addr family 255", "\377", 1, "a", 0, 0 },
	{ "addr v4 short", "\4\177\0\0", 4, "a", 0, 0 },
	{ "addr v4 no port", "\4\177\0\0\1\0\0", 7, "a", 0, 0 },
	{ "addr v4 port 65536", "\4\177\0\0\1\0\1\0\0", 9, "a", 0, 0 },
	{ "addr v6 short", "\6\0\0\0\0\0\0\0\0", 9, "a", 0, 0 },
	{ "addr empty", "", 0, "a", 0, 0 },
	/* Once bad, later fields that would fit read as zero too. */
	{ "bad str then u32", "\0\0\0\2a\0\0\0\0\7", 10, "sw", 16, 0 },
	{ "bad addr then u8", "\11\1", 2, "ab", 0, 0 },
	{ "good u8, bad str, good-looking str", "\1\0\0\0\11\0\0\0\1x", 10,
	    "bss", 4, 1 },
};

START_TEST(test_malformed)
{
	struct sockaddr_storage ss;
	struct ipc_msg m;
	const char *r;
	size_t i;
	char *s;

	msg_from(&m, bad_cases[_i].payload, bad_cases[_i].len);
	for (i = 0, r = bad_cases[_i].reads; *r != '\0'; r++, i++) {
		int zero = i >= bad_cases[_i].badfrom;

		switch (*r) {
		case 'b':
			if (zero)
				ck_assert_uint_eq(ipc_get_u8(&m), 0);
			else
				(void)ipc_get_u8(&m);
			break;
		case 'w':
			if (zero)
				ck_assert_uint_eq(ipc_get_u32(&m), 0);
			else
				(void)ipc_get_u32(&m);
			break;
		case 'q':
			if (zero)
				ck_assert(ipc_get_u64(&m) == 0);
			else
				(void)ipc_get_u64(&m);
			break;
		case 's':
			s = ipc_get_str(&m, bad_cases[_i].max);
			ck_assert_ptr_nonnull(s);
			if (zero)
				ck_assert_msg(s[0] == '\0', "%s: field %zu",
				    bad_cases[_i].name, i);
			free(s);
			break;
		case 'a':
			memset(&ss, 0xa5, sizeof(ss));
			ipc_get_addr(&m, &ss);
			if (zero) {
				ck_assert_int_eq(ss.ss_family, AF_UNSPEC);
				ck_assert_uint_eq(((unsigned char *)&ss)
				                      [sizeof(ss) - 1],
				    0);
			}
			break;
		}
		if (zero)
			ck_assert_msg(!ipc_ok(&m, 0), "%s: field %zu not bad",
			    bad_cases[_i].name, i);
	}
	ck_assert_msg(!ipc_ok(&m, 0), "%s", bad_cases[_i].name);
	ck_assert(!ipc_ok(&m, 1));
	ck_assert_int_eq(m.bad, 1);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_trailing_bytes)
{
	struct ipc_msg m;

	msg_from(&m, "\x00\x00\x00\x01\x02", 5);
	ck_assert_uint_eq(ipc_get_u32(&m), 1);
	ck_assert(ipc_ok(&m, 0));
	ck_assert(!ipc_ok(&m, 1)); /* a byte is left */
	ck_assert_uint_eq(ipc_get_u8(&m), 2);
	ck_assert(ipc_ok(&m, 1));
	/* Reading past the end now makes it bad, with a zero. */
	ck_assert_uint_eq(ipc_get_u8(&m), 0);
	ck_assert(!ipc_ok(&m, 0));
	ipc_msg_free(&m);
}
END_TEST

/* send / recv over a real SOCK_SEQPACKET pair */

START_TEST(test_send_recv)
{
	struct ipc_msg m, r;
	int sv[2], p[2], fds[IPC_FDS_MAX];
	size_t nfds = 99;
	char *s;

	seqpair(sv);
	nbpipe(p);
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	ipc_msg_init(&m, 0x01020304);
	ipc_put_str(&m, "hello");
	ipc_put_u64(&m, 42);
	ck_assert_int_eq(ipc_send(sv[0], &m, NULL, 0), 0);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ck_assert_uint_eq(r.type, 0x01020304);
	ck_assert_uint_eq(nfds, 0);
	s = ipc_get_str(&r, 5);
	ck_assert_str_eq(s, "hello");
	free(s);
	ck_assert(ipc_get_u64(&r) == 42);
	ck_assert(ipc_ok(&r, 1));

	/* An empty payload, with one descriptor: the pipe's write end. */
	ipc_msg_init(&m, 9);
	ck_assert_int_eq(ipc_send(sv[0], &m, &p[1], 1), 0);
	close(p[1]);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 1), 0);
	ck_assert_uint_eq(r.type, 9);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_uint_eq(nfds, 1);
	ck_assert_int_eq(write(fds[0], "x", 1), 1);
	{
		char c;

		ck_assert_int_eq(read(p[0], &c, 1), 1);
		ck_assert_int_eq(c, 'x');
	}
	/* Received close-on-exec. */
	ck_assert_int_ne(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, 0);
	close(fds[0]);
	ck_assert(pipe_writers_gone(p[0]));

	/* Nothing waiting: EAGAIN without blocking. */
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);

	/* The other end gone: 1. */
	close(sv[0]);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 1);
	ck_assert_uint_eq(nfds, 0);
	/* And sending to it fails without a SIGPIPE. */
	ck_assert_int_eq(ipc_send(sv[1], &m, NULL, 0), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[1]);
	close(p[0]);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
}
END_TEST

/*
 * The peer closed without reading what was sent to it: that is the
 * peer gone (1) too, not an error (Linux says ECONNRESET).
 */
START_TEST(test_recv_peer_reset)
{
	struct ipc_msg m, r;
	int sv[2], fds[IPC_FDS_MAX];
	size_t nfds = 7;

	seqpair(sv);
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	ipc_msg_init(&m, 3);
	ck_assert_int_eq(ipc_send(sv[1], &m, NULL, 0), 0);
	close(sv[0]); /* unread */
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 1);
	ck_assert_uint_eq(nfds, 0);
	close(sv[1]);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
}
END_TEST

START_TEST(test_send_wait)
{
	struct ipc_msg m, r;
	int sv[2], fds[IPC_FDS_MAX];
	size_t nfds;

	seqpair(sv);
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	ipc_msg_init(&m, 3);
	ipc_put_u32(&m, 7);
	ck_assert_int_eq(ipc_send_wait(sv[0], &m, NULL, 0), 0);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 1), 0);
	ck_assert_uint_eq(ipc_get_u32(&r), 7);
	ck_assert(ipc_ok(&r, 1));
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
}
END_TEST

START_TEST(test_send_limits)
{
	struct ipc_msg m;
	int sv[2], fds[IPC_FDS_MAX + 1];
	char *big;

	seqpair(sv);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 1);
	/* Too many descriptors. */
	fds[0] = fds[1] = fds[2] = sv[0];
	ck_assert_int_eq(ipc_send(sv[0], &m, fds, IPC_FDS_MAX + 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	/* Type and payload together above IPC_MSG_MAX. */
	big = malloc(IPC_MSG_MAX);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', IPC_MSG_MAX);
	ipc_put_raw(&m, big, IPC_MSG_MAX - 4);
	ck_assert_int_eq(ipc_send(sv[0], &m, NULL, 0), 0); /* just fits */
	ipc_put_u8(&m, 0);
	ck_assert_int_eq(ipc_send(sv[0], &m, NULL, 0), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	free(big);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&m);
}
END_TEST

/*
 * Three descriptors where the caller takes one: it gets the first, the
 * other two are closed (every copy of their pipes' write ends is gone).
 */
START_TEST(test_recv_extra_fds_closed)
{
	struct ipc_msg r;
	int sv[2], p[3][2], w[3], fds[1], before, after, i;
	size_t nfds;

	seqpair(sv);
	for (i = 0; i < 3; i++) {
		nbpipe(p[i]);
		w[i] = p[i][1];
	}
	before = count_fds();
	send_raw(sv[0], "\x00\x00\x00\x05", 4, w, 3);
	for (i = 0; i < 3; i++)
		close(w[i]);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, 1, &nfds, 0), 0);
	ck_assert_uint_eq(r.type, 5);
	ck_assert_uint_eq(nfds, 1);
	after = count_fds();
	/* Three write ends closed here, one came back. */
	ck_assert_int_eq(after, before - 3 + 1);
	ck_assert(!pipe_writers_gone(p[0][0]));
	ck_assert(pipe_writers_gone(p[1][0]));
	ck_assert(pipe_writers_gone(p[2][0]));
	close(fds[0]);
	ck_assert(pipe_writers_gone(p[0][0]));
	for (i = 0; i < 3; i++)
		close(p[i][0]);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&r);
}
END_TEST

/* Taking none: all are closed; more than the 2 any message may carry. */
START_TEST(test_recv_fds_none_taken)
{
	struct ipc_msg r;
	int sv[2], p[5][2], w[5], before, i;
	size_t nfds = 7;

	seqpair(sv);
	for (i = 0; i < 5; i++) {
		nbpipe(p[i]);
		w[i] = p[i][1];
	}
	before = count_fds();
	send_raw(sv[0],
	    "\x00\x00\x00\x01"
	    "abc",
	    7, w, 5);
	for (i = 0; i < 5; i++)
		close(w[i]);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(ipc_recv(sv[1], &r, NULL, 0, &nfds, 0), 0);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_uint_eq(r.len, 3);
	ck_assert_int_eq(count_fds(), before - 5);
	for (i = 0; i < 5; i++) {
		ck_assert(pipe_writers_gone(p[i][0]));
		close(p[i][0]);
	}
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&r);
}
END_TEST

/* Datagrams too short for a type: -1/EPROTO, descriptors closed. */
static const size_t short_lens[] = { 0, 1, 2, 3 };

START_TEST(test_recv_short)
{
	struct ipc_msg r;
	int sv[2], p[2][2], w[2], fds[IPC_FDS_MAX], before, i;
	size_t nfds = 7;

	seqpair(sv);
	for (i = 0; i < 2; i++) {
		nbpipe(p[i]);
		w[i] = p[i][1];
	}
	before = count_fds();
	send_raw(sv[0], "\x00\x00\x00", short_lens[_i], w, 2);
	for (i = 0; i < 2; i++)
		close(w[i]);
	memset(&r, 0, sizeof(r));
	errno = 0;
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(count_fds(), before - 2);
	for (i = 0; i < 2; i++) {
		ck_assert(pipe_writers_gone(p[i][0]));
		close(p[i][0]);
	}
	/* The socket is still usable: the next datagram reads fine. */
	send_raw(sv[0], "\x00\x00\x00\x04", 4, NULL, 0);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ck_assert_uint_eq(r.type, 4);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&r);
}
END_TEST

/* A datagram larger than IPC_MSG_MAX is truncated: EPROTO, fds closed. */
START_TEST(test_recv_too_long)
{
	struct ipc_msg r;
	int sv[2], p[2], fds[IPC_FDS_MAX], sz = 4 * IPC_MSG_MAX;
	size_t nfds = 7, len = IPC_MSG_MAX + 100;
	char *big;

	seqpair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	                     sizeof(sz)),
	    0);
	nbpipe(p);
	big = calloc(1, len);
	ck_assert_ptr_nonnull(big);
	send_raw(sv[0], big, len, &p[1], 1);
	close(p[1]);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_uint_eq(nfds, 0);
	ck_assert(pipe_writers_gone(p[0]));
	/* The largest allowed datagram is read whole. */
	send_raw(sv[0], big, IPC_MSG_MAX, NULL, 0);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ck_assert_uint_eq(r.len, IPC_MSG_MAX - 4);
	free(big);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&r);
}
END_TEST

/* queue */

/*
 * Send datagrams of <len> bytes on non-blocking <sock> until the peer
 * takes no more; returns how many went.
 */
static int
fill(int sock, size_t len)
{
	char buf[512];
	int n = 0;

	ck_assert_uint_le(len, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	buf[3] = 1; /* type 1 */
	while (
	    send(sock, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
		n++;
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	ck_assert_int_gt(n, 0);
	return n;
}

START_TEST(test_queue_in_order)
{
	struct ipc_queue q;
	struct ipc_msg m, r;
	int sv[2], p[3][2], fds[IPC_FDS_MAX], filled, i, before;
	size_t nfds;

	seqpair(sv);
	memset(&q, 0, sizeof(q));
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	for (i = 0; i < 3; i++)
		nbpipe(p[i]);
	filled = fill(sv[0], 100);

	/* Behind: each is queued, with its descriptor (taken). */
	before = count_fds();
	for (i = 0; i < 3; i++) {
		ipc_msg_init(&m, 100 + (uint32_t)i);
		ipc_put_u32(&m, (uint32_t)i);
		ck_assert_int_eq(ipc_queue_send(sv[0], &q, &m, p[i][1]), 0);
		ck_assert_uint_eq(q.n, (size_t)i + 1);
	}
	/* A message without a descriptor waits behind them. */
	ipc_msg_init(&m, 103);
	ck_assert_int_eq(ipc_queue_send(sv[0], &q, &m, -1), 0);
	ck_assert_uint_eq(q.n, 4);
	ck_assert_uint_eq(q.bytes, 3 * 8 + 4);
	ck_assert_int_eq(count_fds(), before);
	/* Still full: nothing moves, nothing is lost. */
	ck_assert_int_eq(ipc_queue_flush(sv[0], &q), 0);
	ck_assert_uint_eq(q.n, 4);

	/* The peer reads the filler; the queue then goes, in order. */
	for (i = 0; i < filled; i++) {
		ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds,
		                     0),
		    0);
		ck_assert_uint_eq(r.type, 1);
		ck_assert_uint_eq(nfds, 0);
	}
	ck_assert_int_eq(ipc_queue_flush(sv[0], &q), 0);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_uint_eq(q.bytes, 0);
	/* Sent descriptors were closed on this side. */
	ck_assert_int_eq(count_fds(), before - 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds,
		                     0),
		    0);
		ck_assert_uint_eq(r.type, 100 + (uint32_t)i);
		ck_assert_uint_eq(ipc_get_u32(&r), (uint32_t)i);
		ck_assert_uint_eq(nfds, 1);
		/* The descriptor is the one sent with it. */
		ck_assert_int_eq(write(fds[0], "q", 1), 1);
		{
			char c;

			ck_assert_int_eq(read(p[i][0], &c, 1), 1);
		}
		close(fds[0]);
		ck_assert(pipe_writers_gone(p[i][0]));
		close(p[i][0]);
	}
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ck_assert_uint_eq(r.type, 103);
	ck_assert_uint_eq(nfds, 0);
	/* Empty queue: sent at once. */
	ck_assert_int_eq(ipc_queue_send(sv[0], &q, &m, -1), 0);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ipc_queue_clear(&q);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
}
END_TEST

START_TEST(test_queue_sendv)
{
	struct ipc_queue q;
	struct ipc_msg m, r;
	int sv[2], p[2][2], w[2], fds[IPC_FDS_MAX], i;
	size_t nfds;

	seqpair(sv);
	memset(&q, 0, sizeof(q));
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	for (i = 0; i < 2; i++) {
		nbpipe(p[i]);
		w[i] = p[i][1];
	}
	ipc_msg_init(&m, 8);
	ck_assert_int_eq(ipc_queue_sendv(sv[0], &q, &m, w, 2), 0);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(ipc_recv(sv[1], &r, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ck_assert_uint_eq(nfds, 2);
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < 2; i++) {
		ck_assert(pipe_writers_gone(p[i][0]));
		close(p[i][0]);
	}

	/* More than IPC_FDS_MAX: refused, and all are closed. */
	{
		int pp[3][2], ww[3];

		for (i = 0; i < 3; i++) {
			nbpipe(pp[i]);
			ww[i] = pp[i][1];
		}
		ck_assert_int_eq(ipc_queue_sendv(sv[0], &q, &m, ww, 3), -1);
		ck_assert_int_eq(errno, EINVAL);
		for (i = 0; i < 3; i++) {
			ck_assert(pipe_writers_gone(pp[i][0]));
			close(pp[i][0]);
		}
	}
	ipc_queue_clear(&q);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
}
END_TEST

/* A peer that is gone: -1, and the descriptor is closed, not kept. */
START_TEST(test_queue_peer_gone)
{
	struct ipc_queue q;
	struct ipc_msg m;
	int sv[2], p[2];

	seqpair(sv);
	nbpipe(p);
	memset(&q, 0, sizeof(q));
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, 8);
	close(sv[1]);
	ck_assert_int_eq(ipc_queue_send(sv[0], &q, &m, p[1]), -1);
	ck_assert_uint_eq(q.n, 0);
	ck_assert(pipe_writers_gone(p[0]));
	close(p[0]);
	close(sv[0]);
	ipc_msg_free(&m);
}
END_TEST

/* Queued, then the peer goes: flush fails; clear closes what waited. */
START_TEST(test_queue_clear)
{
	struct ipc_queue q;
	struct ipc_msg m;
	int sv[2], p[2];

	seqpair(sv);
	nbpipe(p);
	memset(&q, 0, sizeof(q));
	memset(&m, 0, sizeof(m));
	(void)fill(sv[0], 64);
	ipc_msg_init(&m, 8);
	ipc_put_str(&m, "waiting");
	ck_assert_int_eq(ipc_queue_send(sv[0], &q, &m, p[1]), 0);
	ck_assert_uint_eq(q.n, 1);
	ck_assert(!pipe_writers_gone(p[0]));
	close(sv[1]);
	ck_assert_int_eq(ipc_queue_flush(sv[0], &q), -1);
	ck_assert_uint_eq(q.n, 1);
	ipc_queue_clear(&q);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_ptr_null(q.q);
	ck_assert(pipe_writers_gone(p[0]));
	ipc_queue_clear(&q); /* twice is harmless */
	close(p[0]);
	close(sv[0]);
	ipc_msg_free(&m);
}
END_TEST

Suite *
ipc_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("ipc");

	tc = tcase_create("put_get");
	tcase_add_test(tc, test_u8_round_trip);
	tcase_add_loop_test(tc, test_u32_round_trip, 0,
	    sizeof(u64_cases) / sizeof(u64_cases[0]));
	tcase_add_loop_test(tc, test_u64_round_trip, 0,
	    sizeof(u64_cases) / sizeof(u64_cases[0]));
	tcase_add_test(tc, test_str_round_trip);
	tcase_add_test(tc, test_raw);
	tcase_add_loop_test(tc, test_addr_round_trip, 0,
	    sizeof(addr_cases) / sizeof(addr_cases[0]));
	tcase_add_test(tc, test_addr_none);
	tcase_add_test(tc, test_init_reuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, test_malformed, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_trailing_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("send_recv");
	tcase_add_test(tc, test_send_recv);
	tcase_add_test(tc, test_recv_peer_reset);
	tcase_add_test(tc, test_send_wait);
	tcase_add_test(tc, test_send_limits);
	tcase_add_test(tc, test_recv_extra_fds_closed);
	tcase_add_test(tc, test_recv_fds_none_taken);
	tcase_add_loop_test(tc, test_recv_short, 0,
	    sizeof(short_lens) / sizeof(short_lens[0]));
	tcase_add_test(tc, test_recv_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_add_test(tc, test_queue_in_order);
	tcase_add_test(tc, test_queue_sendv);
	tcase_add_test(tc, test_queue_peer_gone);
	tcase_add_test(tc, test_queue_clear);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	log_init("check_ipc", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	sr = srunner_create(ipc_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
