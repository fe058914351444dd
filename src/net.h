/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_NET_H
#define PORTHOLE_NET_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* Longest numeric address text plus brackets, "[…]:65535" and NUL. */
#define NET_ADDRSTRLEN 64

/*
 * Split "HOST:PORT", "[V6]:PORT", "V6" (more than one ':' without
 * brackets), or "HOST" into a new host string in *hostp and a port in
 * *portp (<default_port> when absent; "0" is allowed). Returns 0 or
 * PORTHOLE_ERR_INVALID_FORMAT.
 */
int net_split_hostport(const char *s, int default_port, char **hostp,
    uint16_t *portp);

/*
 * Resolve numeric <host> (IPv4 or IPv6 literal; NULL or "" or "*" mean
 * 0.0.0.0) and <port> into *ssp and *lenp. Returns 0 or
 * PORTHOLE_ERR_INVALID_FORMAT.
 */
int net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ssp,
    socklen_t *lenp);

/*
 * Make a non-blocking, close-on-exec TCP listening socket bound to
 * host:port with SO_REUSEADDR and the given backlog. An IPv6 wildcard
 * accepts IPv4 too. Returns 0 and the fd in *fdp; PORTHOLE_ERR_EXISTS if
 * the address is in use; PORTHOLE_ERR_SYSTEM otherwise (errno set).
 */
int net_listen(const char *host, uint16_t port, int backlog, int *fdp);

/* Store the local port of socket <fd> in *portp. 0 or _SYSTEM. */
int net_local_port(int fd, uint16_t *portp);

/*
 * Write the numeric address of <sa> into <ip> (size >= NET_ADDRSTRLEN)
 * and its port into *portp (may be NULL). IPv4-mapped IPv6 addresses
 * are shown as IPv4. Returns 0 or PORTHOLE_ERR_INVALID_ARGUMENT.
 */
int net_ntop(const struct sockaddr *sa, char *ip, size_t iplen,
    uint16_t *portp);

/* Format <sa> as "IP:PORT" or "[IP6]:PORT" into buf. Returns buf. */
char *net_sa_str(const struct sockaddr *sa, char *buf, size_t len);

/* Set or clear O_NONBLOCK. 0 or PORTHOLE_ERR_SYSTEM. */
int net_set_nonblock(int fd, int on);

#endif /* PORTHOLE_NET_H */
