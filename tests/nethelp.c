/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "nethelp.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "net.h"

/* Fill <ss> with numeric address <ip> of family <af> and <port>. */
void
nethelp_make_sa(struct sockaddr_storage *ss, int af, const char *ip,
    uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	}
}

/* Return the size of a socket address of family <af>. */
socklen_t
nethelp_sa_len(int af)
{
	if (af == AF_INET)
		return sizeof(struct sockaddr_in);
	return sizeof(struct sockaddr_in6);
}

/* Connect a blocking client to ip:port of family <af>; return its fd. */
int
nethelp_connect(int af, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	nethelp_make_sa(&ss, af, ip, port);
	len = nethelp_sa_len(af);
	fd = socket(af, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_msg(connect(fd, (struct sockaddr *)&ss, len) == 0,
	    "connect %s:%u: %s", ip, port, strerror(errno));
	return fd;
}

/* Accept one connection on non-blocking listener <lfd>, peer into ss. */
int
nethelp_accept(int lfd, struct sockaddr_storage *ss)
{
	struct pollfd pfd;
	socklen_t len = sizeof(*ss);
	int fd;

	pfd.fd = lfd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	fd = accept(lfd, (struct sockaddr *)ss, &len);
	ck_assert_int_ne(fd, -1);
	return fd;
}

/* Check that <fd> is a non-blocking, close-on-exec, reusable listener. */
void
nethelp_check_listener(int fd)
{
	int v;
	socklen_t len;

	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	len = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
	ck_assert_int_ne(v, 0);
	len = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len),
	    0);
	ck_assert_int_ne(v, 0);
}

/* Listen on <ip> port 0, check the socket, connect, and refuse a twin. */
void
nethelp_listen_twice(int af, const char *ip)
{
	struct sockaddr_storage peer;
	uint16_t port = 0;
	int fd = -1, fd2 = 1234, cfd, afd;

	ck_assert_int_eq(net_listen(ip, 0, 16, &fd), 0);
	ck_assert_int_ge(fd, 0);
	nethelp_check_listener(fd);
	ck_assert_int_eq(net_local_port(fd, &port), 0);
	ck_assert_uint_ne(port, 0);

	cfd = nethelp_connect(af, ip, port);
	afd = nethelp_accept(fd, &peer);
	ck_assert_int_eq(peer.ss_family, af);
	close(afd);
	close(cfd);

	/* The kernel keeps the port exclusive despite SO_REUSEADDR. */
	ck_assert_int_eq(net_listen(ip, port, 16, &fd2), PORTHOLE_ERR_EXISTS);
	ck_assert_int_eq(fd2, -1);
	close(fd);
}
