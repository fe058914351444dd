/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_FWDREQ_H
#define PORTHOLE_FWDREQ_H

#include <stddef.h>

/*
 * The part of an SSH "tcpip-forward" / "cancel-tcpip-forward" request
 * that the peer controls, an address string and a port, judged here
 * free of libssh and of session state so that it can be unit tested and
 * fuzzed. sshd/fwd.c adds what needs the session: its refusal, the
 * MaxEndpointsPerSession limit and the reserved addresses in the store.
 */

#define FWDREQ_ADDR_MAX   255 /* longest address string we accept */
#define FWDREQ_REASON_LEN 384 /* room for any reason, with the address */

/* The counted refusal codes (porthole_forwards_refused_total). */
#define FWDREQ_CODE_INVALID      "invalid"
#define FWDREQ_CODE_UNKNOWN_HOST "unknown_host"
#define FWDREQ_CODE_INTERNAL     "internal"

enum fwdreq_kind {
	FWDREQ_REFUSED = 0,
	FWDREQ_RANDOM, /* port 0: a free port from PortRange */
	FWDREQ_FIXED, /* port 1-65535: a reserved address, if it is one */
};

struct fwdreq {
	enum fwdreq_kind kind;
	const char *host; /* a PublicHost (borrowed), or NULL if refused */
	int port; /* as asked */
	const char *code; /* static FWDREQ_CODE_*; NULL unless refused */
	char reason[FWDREQ_REASON_LEN]; /* "" unless refused */
	/* The address escaped by log_sanitize and clipped, for messages. */
	char safe[FWDREQ_ADDR_MAX + 1];
};

/*
 * Which public host does the address string of a forward request name?
 * "localhost", "", "*" and the wildcard addresses "0.0.0.0" and "::"
 * mean the default, public_hosts[0]; a PublicHost names itself, in any
 * case. A NULL <addr> is "". Returns a pointer into <public_hosts>
 * (borrowed), or NULL if <addr> names none or there are no hosts.
 */
const char *fwdreq_public_host(const char *addr,
    const char *const *public_hosts, size_t npublic_hosts);

/*
 * Judge a tcpip-forward request for <addr> (NULL is "") and <port>
 * against the PublicHost list (<public_hosts>[0] is the default; at
 * least one is needed). Always fills *out: the sanitized address, and
 * either the kind (FWDREQ_RANDOM or FWDREQ_FIXED) and the public host,
 * or FWDREQ_REFUSED with a counted code and a one-line reason for the
 * user (which quotes the address only in its sanitized form).
 *
 * Returns 0 if the request may go on; PORTHOLE_ERR_INVALID_FORMAT if
 * it is malformed (port out of 0-65535, address longer than
 * FWDREQ_ADDR_MAX: FWDREQ_CODE_INVALID); PORTHOLE_ERR_NOT_FOUND if the
 * address names no public host (FWDREQ_CODE_UNKNOWN_HOST);
 * PORTHOLE_ERR_INVALID_ARGUMENT if <out> is NULL or the list is empty
 * (FWDREQ_CODE_INTERNAL). The two refusals are told apart because the
 * caller checks its session limit between them.
 */
int fwdreq_classify(const char *addr, int port, const char *const *public_hosts,
    size_t npublic_hosts, struct fwdreq *out);

/*
 * Predicate: does a cancel-tcpip-forward for <addr> (NULL is "") and
 * <port> name the forward asked for as <bind_address> and bound to
 * <bound_port>? The address must be the same string, byte for byte,
 * and the port the bound one (a client cancels a port-0 forward by the
 * port the server allocated).
 */
int fwdreq_matches(const char *bind_address, int bound_port, const char *addr,
    int port);

#endif /* PORTHOLE_FWDREQ_H */
