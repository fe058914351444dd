/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_NETHELP_H
#define PORTHOLE_NETHELP_H

/*
 * Socket helpers shared by the net suites (check_net, check_net_ipv6).
 * Each asserts with Check, so they are called only inside a test.
 */

#include <sys/socket.h>

#include <stdint.h>

/* Fill <ss> with numeric address <ip> of family <af> and <port>. */
void nethelp_make_sa(struct sockaddr_storage *ss, int af, const char *ip,
    uint16_t port);

/* The size of a socket address of family <af>. */
socklen_t nethelp_sa_len(int af);

/* Connect a blocking client to ip:port of family <af>; return its fd. */
int nethelp_connect(int af, const char *ip, uint16_t port);

/* Accept one connection on non-blocking listener <lfd>, peer into ss. */
int nethelp_accept(int lfd, struct sockaddr_storage *ss);

/* Check that <fd> is a non-blocking, close-on-exec, reusable listener. */
void nethelp_check_listener(int fd);

/*
 * net_listen on <ip> port 0, check the socket, connect to it, and check
 * that a second listener on that port is refused.
 */
void nethelp_listen_twice(int af, const char *ip);

#endif /* PORTHOLE_NETHELP_H */
