/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_PROXYHDR_H
#define PORTHOLE_PROXYHDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

/*
 * The PROXY protocol, versions 1 and 2, as HAProxy's
 * doc/proxy-protocol.txt defines it: the header a relay writes first so
 * that the service behind it sees the real client address.
 *
 * Address families (the sender's rules): an IPv4-mapped IPv6 address is
 * sent as the IPv4 address; if the two ends still differ in family the
 * IPv4 one is mapped into IPv6 so both are TCP6 / AF_INET6. Anything
 * that is neither IPv4 nor IPv6 gives "PROXY UNKNOWN" (v1) or the LOCAL
 * command with AF_UNSPEC (v2).
 *
 * A v2 header starts with a 12-byte signature that contains NUL bytes:
 * it is binary, never a C string.
 */

/* Longest v1 line, "PROXY TCP6 <39> <39> 65535 65535\r\n", per spec. */
#define PROXYHDR_V1_MAX 107
/* Longest v2 header we write: 16 bytes + IPv6 addresses (36). */
#define PROXYHDR_V2_MAX (16 + 36)
/* The v2 signature's length. */
#define PROXYHDR_V2_SIGLEN 12

/*
 * Write the v1 header for a connection from <src> to <dst> into <buf>
 * of size <len> (at least PROXYHDR_V1_MAX + 1; it is NUL-terminated for
 * convenience but the NUL is not part of the header). Returns the number
 * of header bytes, or PORTHOLE_ERR_INVALID_ARGUMENT if <len> is short.
 */
int proxyhdr_v1(char *buf, size_t len, const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst);

/*
 * Write the v2 header (command PROXY, transport STREAM, no TLVs) into
 * <buf> of size <len> (at least PROXYHDR_V2_MAX). Returns the number of
 * bytes, or PORTHOLE_ERR_INVALID_ARGUMENT if <len> is short.
 */
int proxyhdr_v2(unsigned char *buf, size_t len,
    const struct sockaddr_storage *src, const struct sockaddr_storage *dst);

/* What a parsed header says. */
struct proxyhdr {
	int version; /* 1 or 2 */
	int local; /* v2 LOCAL command, or v1 UNKNOWN: no addresses */
	int family; /* AF_INET, AF_INET6, or AF_UNSPEC when local */
	struct sockaddr_storage src;
	struct sockaddr_storage dst;
	size_t tlv_len; /* v2: bytes of TLVs after the addresses */
};

/* proxyhdr_parse() needs more bytes than it was given. */
#define PROXYHDR_INCOMPLETE 1

/*
 * Parse a header at the start of <buf> (<len> bytes available), strictly:
 * v1 must be one well-formed CRLF-terminated line of at most 107 bytes
 * (single spaces, "TCP4"/"TCP6"/"UNKNOWN", canonical decimal ports
 * 0-65535 with no leading zeros, addresses valid for their family); v2
 * must have the signature, version 2, command LOCAL or PROXY, a known
 * family/transport for PROXY (TCP over IPv4 or IPv6) and a length that
 * covers the addresses. Returns 0 with *hp filled and the header's size
 * in *lenp; PROXYHDR_INCOMPLETE if <buf> is a valid prefix of a header;
 * or PORTHOLE_ERR_INVALID_FORMAT.
 */
int proxyhdr_parse(const unsigned char *buf, size_t len, struct proxyhdr *hp,
    size_t *lenp);

#endif /* PORTHOLE_PROXYHDR_H */
