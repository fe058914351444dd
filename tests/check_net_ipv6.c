/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "net.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "nethelp.h"

/*
 * The IPv6 listeners of the net module, apart from check_net because
 * they need a host with IPv6: without it this program reports SKIP (exit
 * status 77) instead of passing tests it did not run.
 */

Suite *net_ipv6_suite(void);

/* Predicate: this host can bind a TCP socket to ::1. */
static int
have_ipv6(void)
{
	struct sockaddr_in6 sin6;
	int fd, ok = 0;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0)
		ok = 1;
	close(fd);
	return ok;
}

START_TEST(test_listen_v6)
{
	nethelp_listen_twice(AF_INET6, "::1");
}
END_TEST

START_TEST(test_listen_v6_any)
{
	struct sockaddr_storage peer;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peer;
	struct sockaddr *sa = (struct sockaddr *)&peer;
	char ip[NET_ADDRSTRLEN];
	socklen_t len;
	uint16_t port = 0;
	int fd = -1, cfd, afd, v = 1;

	ck_assert_int_eq(net_listen("::", 0, 16, &fd), 0);
	nethelp_check_listener(fd);
	len = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len),
	    0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(net_local_port(fd, &port), 0);
	ck_assert_uint_ne(port, 0);

	/* An IPv4 client reaches "::" and shows up as an IPv4-mapped peer. */
	cfd = nethelp_connect(AF_INET, "127.0.0.1", port);
	afd = nethelp_accept(fd, &peer);
	ck_assert_int_eq(peer.ss_family, AF_INET6);
	ck_assert(IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr));
	ck_assert_int_eq(net_ntop(sa, ip, sizeof(ip), NULL), 0);
	ck_assert_str_eq(ip, "127.0.0.1");
	close(afd);
	close(cfd);
	close(fd);
}
END_TEST

/* The IPv6 listeners: ::1, and :: reached from IPv4. */
Suite *
net_ipv6_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("net_ipv6");
	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen_v6);
	tcase_add_test(tc, test_listen_v6_any);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite if this host has IPv6, else tell the driver it skipped. */
int
main(void)
{
	SRunner *sr;
	int failed;

	if (!have_ipv6()) {
		printf("SKIP: no IPv6 on this host (cannot bind ::1)\n");
		return 77;
	}
	sr = srunner_create(net_ipv6_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
