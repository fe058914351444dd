/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

/*
 * Parse the <len> bytes at <s> as a decimal port 0..65535 (digits only).
 * Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
net_parse_port(const char *s, size_t len, uint16_t *portp)
{
	uint32_t v = 0;
	size_t i;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	*portp = 0;
	if (len == 0)
		goto out;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto out;
		v = v * 10 + (uint32_t)(s[i] - '0');
		if (v > UINT16_MAX)
			goto out;
	}
	*portp = (uint16_t)v;
	r = 0;
out:
	return r;
}

/*
 * Split "HOST:PORT", "[V6]:PORT", "[V6]", "V6" or "HOST" (see net.h). A
 * <default_port> outside 0..65535 makes the port mandatory.
 */
int
net_split_hostport(const char *s, int default_port, char **hostp,
    uint16_t *portp)
{
	const char *host, *end, *colon, *portstr = NULL;
	size_t hostlen;
	uint16_t port = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	*hostp = NULL;
	*portp = 0;
	if (*s == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL) {
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		hostlen = (size_t)(end - host);
		if (end[1] == ':')
			portstr = end + 2;
		else if (end[1] != '\0') {
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
	} else {
		host = s;
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* Exactly one ':' separates host and port. */
			hostlen = (size_t)(colon - s);
			portstr = colon + 1;
		} else {
			/* No ':', or a bare IPv6 address. */
			hostlen = strlen(s);
		}
	}
	if (hostlen == 0 || memchr(host, '[', hostlen) != NULL ||
	    memchr(host, ']', hostlen) != NULL) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if (portstr != NULL) {
		if ((r = net_parse_port(portstr, strlen(portstr), &port)) != 0)
			goto out;
	} else {
		if (default_port < 0 || default_port > UINT16_MAX) {
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		port = (uint16_t)default_port;
	}
	/* Ownership of the host string passes to the caller. */
	*hostp = xmalloc(hostlen + 1);
	memcpy(*hostp, host, hostlen);
	(*hostp)[hostlen] = '\0';
	*portp = port;
	r = 0;
out:
	return r;
}

/* Resolve a numeric host and a port into a socket address (see net.h). */
int
net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ssp,
    socklen_t *lenp)
{
	struct addrinfo hints, *res = NULL;
	char service[8];
	int gai, r = PORTHOLE_ERR_INTERNAL;

	if (host == NULL || *host == '\0' || strcmp(host, "*") == 0)
		host = "0.0.0.0";
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(service, sizeof(service), "%u", port);
	if ((gai = getaddrinfo(host, service, &hints, &res)) != 0) {
		debug_f("address \"%.100s\": %s", host, gai_strerror(gai));
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if (res == NULL || res->ai_addrlen > sizeof(*ssp)) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	memset(ssp, 0, sizeof(*ssp));
	memcpy(ssp, res->ai_addr, res->ai_addrlen);
	*lenp = res->ai_addrlen;
	r = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

/* Predicate: <ss> is the IPv6 wildcard address "::". */
static int
net_is_v6_any(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	return ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

/* Open a listening TCP socket on host:port (see net.h). */
int
net_listen(const char *host, uint16_t port, int backlog, int *fdp)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const int type = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int fd = -1, on = 1, no = 0, saved_errno, r = PORTHOLE_ERR_INTERNAL;

	*fdp = -1;
	if ((r = net_resolve(host, port, &ss, &sslen)) != 0)
		goto out;
	if ((fd = socket(ss.ss_family, type, 0)) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	/* Whatever net.ipv6.bindv6only says, "::" takes IPv4 too. */
	if (net_is_v6_any(&ss) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no)) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, backlog) == -1) {
		/* Only the kernel knows whether the port is free. */
		if (errno == EADDRINUSE)
			r = PORTHOLE_ERR_EXISTS;
		else
			r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	/* Ownership of fd passes to the caller. */
	*fdp = fd;
	fd = -1;
	r = 0;
out:
	if (r != 0)
		debug2_f("listen %.100s:%u: %s", host == NULL ? "*" : host,
		    port, porthole_strerror(r));
	if (fd != -1) {
		saved_errno = errno;
		close(fd);
		errno = saved_errno;
	}
	return r;
}

/* Store the local port of socket <fd> in *portp (see net.h). */
int
net_local_port(int fd, uint16_t *portp)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int r = PORTHOLE_ERR_INTERNAL;

	*portp = 0;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	switch (ss.ss_family) {
	case AF_INET:
		*portp = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		break;
	case AF_INET6:
		*portp = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		break;
	default:
		errno = EAFNOSUPPORT;
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	return r;
}

/* Write the numeric address and port of <sa> (see net.h). */
int
net_ntop(const struct sockaddr *sa, char *ip, size_t iplen, uint16_t *portp)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct in_addr v4;
	uint16_t port;
	int r = PORTHOLE_ERR_INTERNAL;

	if (portp != NULL)
		*portp = 0;
	if (sa == NULL || ip == NULL || iplen < NET_ADDRSTRLEN) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	*ip = '\0';
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, ip, iplen) == NULL) {
			r = PORTHOLE_ERR_INVALID_ARGUMENT;
			goto out;
		}
		port = ntohs(sin->sin_port);
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* ::ffff:a.b.c.d: the last four bytes are the IPv4. */
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			if (inet_ntop(AF_INET, &v4, ip, iplen) == NULL) {
				r = PORTHOLE_ERR_INVALID_ARGUMENT;
				goto out;
			}
		} else if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip, iplen) ==
		    NULL) {
			r = PORTHOLE_ERR_INVALID_ARGUMENT;
			goto out;
		}
		port = ntohs(sin6->sin6_port);
		break;
	default:
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (portp != NULL)
		*portp = port;
	r = 0;
out:
	return r;
}

/* Format <sa> as "IP:PORT" or "[IP6]:PORT" into <buf> (see net.h). */
char *
net_sa_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[NET_ADDRSTRLEN];
	uint16_t port;

	if (len == 0)
		return buf;
	if (net_ntop(sa, ip, sizeof(ip), &port) != 0)
		strlcpy(buf, "(unknown address)", len);
	else if (strchr(ip, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
	return buf;
}

/* Set or clear O_NONBLOCK on <fd> (see net.h). */
int
net_set_nonblock(int fd, int on)
{
	int flags, nflags, r = PORTHOLE_ERR_INTERNAL;

	if ((flags = fcntl(fd, F_GETFL)) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	nflags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	if (nflags != flags && fcntl(fd, F_SETFL, nflags) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	return r;
}
