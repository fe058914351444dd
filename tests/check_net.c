/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "net.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "nethelp.h"

Suite *net_suite(void);

static const struct {
	const char *s;
	int default_port;
	int r;
	const char *host;
	uint16_t port;
} split_cases[] = {
	{ "127.0.0.1:22", 2222, 0, "127.0.0.1", 22 },
	{ "[::1]:2222", 22, 0, "::1", 2222 },
	{ "::1", 22, 0, "::1", 22 },
	{ "host", 22, 0, "host", 22 },
	{ "host:", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "[::1", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "h:70000", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "0.0.0.0:0", 22, 0, "0.0.0.0", 0 },
	{ "h:65535", 22, 0, "h", 65535 },
	{ "h:65536", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "h:99999999999999999999", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "[::1]", 22, 0, "::1", 22 },
	{ "[::]:0", 22, 0, "::", 0 },
	{ "[::1]:", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "[::1]x", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "[::1]:22x", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "[]:22", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "[a]b]:1", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "a]:1", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ ":22", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "*:2222", 22, 0, "*", 2222 },
	{ "h:-1", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "h:+22", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "h: 22", 22, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "fe80::1%lo", 22, 0, "fe80::1%lo", 22 },
	{ "2001:db8::1:443", 22, 0, "2001:db8::1:443", 22 },
	{ "host", 0, 0, "host", 0 },
	{ "host", -1, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "host", 65536, PORTHOLE_ERR_INVALID_FORMAT, NULL, 0 },
	{ "host:80", -1, 0, "host", 80 },
};

START_TEST(test_split)
{
	char *host = (char *)"unset";
	uint16_t port = 1234;
	int r;

	r = net_split_hostport(split_cases[_i].s, split_cases[_i].default_port,
	    &host, &port);
	ck_assert_msg(r == split_cases[_i].r, "\"%s\": got %d, want %d",
	    split_cases[_i].s, r, split_cases[_i].r);
	if (split_cases[_i].host == NULL) {
		ck_assert_ptr_null(host);
		ck_assert_uint_eq(port, 0);
	} else {
		ck_assert_str_eq(host, split_cases[_i].host);
		ck_assert_uint_eq(port, split_cases[_i].port);
	}
	free(host);
}
END_TEST

static const struct {
	const char *host;
	int r;
	int family;
	const char *ip;
} resolve_cases[] = {
	{ "127.0.0.1", 0, AF_INET, "127.0.0.1" },
	{ "192.0.2.55", 0, AF_INET, "192.0.2.55" },
	{ NULL, 0, AF_INET, "0.0.0.0" },
	{ "", 0, AF_INET, "0.0.0.0" },
	{ "*", 0, AF_INET, "0.0.0.0" },
	{ "::1", 0, AF_INET6, "::1" },
	{ "::", 0, AF_INET6, "::" },
	{ "2001:db8::7", 0, AF_INET6, "2001:db8::7" },
	{ "localhost", PORTHOLE_ERR_INVALID_FORMAT, 0, NULL },
	{ "example.com", PORTHOLE_ERR_INVALID_FORMAT, 0, NULL },
	{ "256.0.0.1", PORTHOLE_ERR_INVALID_FORMAT, 0, NULL },
	{ "::1::2", PORTHOLE_ERR_INVALID_FORMAT, 0, NULL },
	{ "[::1]", PORTHOLE_ERR_INVALID_FORMAT, 0, NULL },
	{ "127.0.0.1:22", PORTHOLE_ERR_INVALID_FORMAT, 0, NULL },
};

START_TEST(test_resolve)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	socklen_t len = 0;
	char ip[NET_ADDRSTRLEN];
	uint16_t port = 0;
	int r;

	r = net_resolve(resolve_cases[_i].host, 4711, &ss, &len);
	ck_assert_msg(r == resolve_cases[_i].r, "\"%s\": got %d, want %d",
	    resolve_cases[_i].host == NULL ? "(null)" : resolve_cases[_i].host,
	    r, resolve_cases[_i].r);
	if (r != 0)
		return;
	ck_assert_int_eq(ss.ss_family, resolve_cases[_i].family);
	ck_assert_uint_eq(len, nethelp_sa_len(ss.ss_family));
	ck_assert_int_eq(net_ntop(sa, ip, sizeof(ip), &port), 0);
	ck_assert_str_eq(ip, resolve_cases[_i].ip);
	ck_assert_uint_eq(port, 4711);
}
END_TEST

START_TEST(test_listen_v4)
{
	nethelp_listen_twice(AF_INET, "127.0.0.1");
}
END_TEST

START_TEST(test_listen_errors)
{
	int fd = 1234;

	ck_assert_int_eq(net_listen("localhost", 0, 16, &fd),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(fd, -1);

	/* TEST-NET-1 is never a local address. */
	fd = 1234;
	errno = 0;
	ck_assert_int_eq(net_listen("192.0.2.1", 0, 16, &fd),
	    PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, EADDRNOTAVAIL);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_local_port_errors)
{
	uint16_t port = 1234;
	int p[2], fd;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(net_local_port(p[0], &port), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, ENOTSOCK);
	ck_assert_uint_eq(port, 0);
	close(p[0]);
	close(p[1]);

	ck_assert_int_eq(net_local_port(-1, &port), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, EBADF);

	/* A socket without a port. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	port = 1234;
	ck_assert_int_eq(net_local_port(fd, &port), PORTHOLE_ERR_SYSTEM);
	ck_assert_uint_eq(port, 0);
	close(fd);
}
END_TEST

static const struct {
	int family;
	const char *in;
	uint16_t port;
	const char *ip;
	const char *str;
} ntop_cases[] = {
	{ AF_INET, "192.0.2.1", 8080, "192.0.2.1", "192.0.2.1:8080" },
	{ AF_INET, "0.0.0.0", 0, "0.0.0.0", "0.0.0.0:0" },
	{ AF_INET, "255.255.255.255", 65535, "255.255.255.255",
	    "255.255.255.255:65535" },
	{ AF_INET6, "2001:db8::1", 443, "2001:db8::1", "[2001:db8::1]:443" },
	{ AF_INET6, "::1", 22, "::1", "[::1]:22" },
	{ AF_INET6, "::", 0, "::", "[::]:0" },
	{ AF_INET6, "::ffff:198.51.100.7", 80, "198.51.100.7",
	    "198.51.100.7:80" },
	{ AF_INET6, "::ffff:127.0.0.1", 2222, "127.0.0.1", "127.0.0.1:2222" },
	/* IPv4-compatible (deprecated), not mapped: stays IPv6. */
	{ AF_INET6, "::192.0.2.1", 1, "::192.0.2.1", "[::192.0.2.1]:1" },
	{ AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" },
};

START_TEST(test_ntop)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	char ip[NET_ADDRSTRLEN], buf[NET_ADDRSTRLEN];
	uint16_t port = 1;

	nethelp_make_sa(&ss, ntop_cases[_i].family, ntop_cases[_i].in,
	    ntop_cases[_i].port);
	ck_assert_int_eq(net_ntop(sa, ip, sizeof(ip), &port), 0);
	ck_assert_str_eq(ip, ntop_cases[_i].ip);
	ck_assert_uint_eq(port, ntop_cases[_i].port);
	ck_assert_int_eq(net_ntop(sa, ip, sizeof(ip), NULL), 0);
	ck_assert_str_eq(ip, ntop_cases[_i].ip);
	ck_assert_ptr_eq(net_sa_str(sa, buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, ntop_cases[_i].str);
}
END_TEST

START_TEST(test_ntop_errors)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	char ip[NET_ADDRSTRLEN], small[8];
	uint16_t port = 1;

	nethelp_make_sa(&ss, AF_INET, "192.0.2.1", 80);
	ck_assert_int_eq(net_ntop(sa, small, sizeof(small), &port),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(net_ntop(NULL, ip, sizeof(ip), &port),
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	memset(&ss, 0, sizeof(ss));
	sun->sun_family = AF_UNIX;
	ck_assert_int_eq(net_ntop(sa, ip, sizeof(ip), &port),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(port, 0);
	ck_assert_str_eq(net_sa_str(sa, ip, sizeof(ip)), "(unknown address)");
}
END_TEST

START_TEST(test_sa_str_truncates)
{
	struct sockaddr_storage ss;
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	nethelp_make_sa(&ss, AF_INET6, "2001:db8::1", 443);
	net_sa_str((struct sockaddr *)&ss, buf, 6);
	ck_assert_str_eq(buf, "[2001");
	ck_assert_int_eq(buf[6], 'X');
	ck_assert_ptr_eq(net_sa_str((struct sockaddr *)&ss, buf, 0), buf);
}
END_TEST

START_TEST(test_set_nonblock)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(net_set_nonblock(p[0], 1), 0);
	ck_assert_int_ne(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(net_set_nonblock(p[0], 1), 0);
	ck_assert_int_ne(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(net_set_nonblock(p[0], 0), 0);
	ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	close(p[0]);
	close(p[1]);

	errno = 0;
	ck_assert_int_eq(net_set_nonblock(-1, 1), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* The net suite: address parsing and formatting, listeners, fd flags. */
Suite *
net_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("net");

	tc = tcase_create("split");
	tcase_add_loop_test(tc, test_split, 0,
	    sizeof(split_cases) / sizeof(split_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_loop_test(tc, test_resolve, 0,
	    sizeof(resolve_cases) / sizeof(resolve_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen_v4);
	tcase_add_test(tc, test_listen_errors);
	tcase_add_test(tc, test_local_port_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("ntop");
	tcase_add_loop_test(tc, test_ntop, 0,
	    sizeof(ntop_cases) / sizeof(ntop_cases[0]));
	tcase_add_test(tc, test_ntop_errors);
	tcase_add_test(tc, test_sa_str_truncates);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd");
	tcase_add_test(tc, test_set_nonblock);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the net suite; fail if any test failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(net_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
