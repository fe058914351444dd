/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * The PROXY protocol header, versions 1 and 2, after HAProxy's
 * doc/proxy-protocol.txt: the builders portholed uses in front of each
 * relayed connection, and a strict, incremental parser for the tests and
 * for fuzzing.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "proxyhdr.h"

/* The v2 signature (spec 2.2); byte 5 is NUL. */
static const unsigned char proxyhdr_sig[PROXYHDR_V2_SIGLEN] = { 0x0d, 0x0a,
	0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* The fixed part of a v2 header: signature, ver/cmd, family, length. */
#define V2_FIXED      16
#define V2_VERSION    0x20
#define V2_CMD_LOCAL  0x00
#define V2_CMD_PROXY  0x01
#define V2_FAM_UNSPEC 0x00
#define V2_FAM_TCP4   0x11
#define V2_FAM_TCP6   0x21
/* Address block sizes: two addresses and two ports. */
#define V2_ALEN_TCP4 (2 * 4 + 2 * 2)
#define V2_ALEN_TCP6 (2 * 16 + 2 * 2)

/* Room for one address in v1 text: 39 characters of IPv6 and a NUL. */
#define ADDRTXT 40

/*
 * Copy <ss> into *outp, turning an IPv4-mapped IPv6 address into plain
 * IPv4. Returns the family of the copy: AF_INET, AF_INET6, or AF_UNSPEC
 * for NULL and anything else (then *outp is zeroed).
 */
static int
proxyhdr_unmap(const struct sockaddr_storage *ss, struct sockaddr_storage *outp)
{
	const struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;

	memset(outp, 0, sizeof(*outp));
	if (ss == NULL)
		return AF_UNSPEC;
	if (ss->ss_family == AF_INET) {
		memcpy(outp, ss, sizeof(struct sockaddr_in));
		return AF_INET;
	}
	if (ss->ss_family != AF_INET6)
		return AF_UNSPEC;
	sin6 = (const struct sockaddr_in6 *)ss;
	if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(outp, ss, sizeof(*sin6));
		return AF_INET6;
	}
	sin = (struct sockaddr_in *)outp;
	sin->sin_family = AF_INET;
	sin->sin_port = sin6->sin6_port;
	memcpy(&sin->sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	return AF_INET;
}

/* Rewrite the IPv4 address in *ss as IPv4-mapped IPv6, keeping the port. */
static void
proxyhdr_map(struct sockaddr_storage *ss)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memcpy(&sin, ss, sizeof(sin));
	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = sin.sin_port;
	sin6->sin6_addr.s6_addr[10] = 0xff;
	sin6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sin6->sin6_addr.s6_addr[12], &sin.sin_addr, 4);
}

/*
 * Apply the sender's family rules to <src> and <dst>: v4-mapped becomes
 * IPv4, then a remaining IPv4/IPv6 mix is mapped up to IPv6 so that a
 * single TCP4 or TCP6 covers both. Copies go to *sp and *dp. Returns
 * the family they share, or AF_UNSPEC if either is not IP.
 */
static int
proxyhdr_families(const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, struct sockaddr_storage *sp,
    struct sockaddr_storage *dp)
{
	int sf, df;

	sf = proxyhdr_unmap(src, sp);
	df = proxyhdr_unmap(dst, dp);
	if (sf == AF_UNSPEC || df == AF_UNSPEC)
		return AF_UNSPEC;
	if (sf == df)
		return sf;
	proxyhdr_map(sf == AF_INET ? sp : dp);
	return AF_INET6;
}

/* The address bytes (4 or 16, network order) of an AF_INET/6 address. */
static const unsigned char *
proxyhdr_addr(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (const unsigned char *)&sin->sin_addr;
	return sin6->sin6_addr.s6_addr;
}

/* The port, in host order, of an AF_INET/6 address. */
static unsigned int
proxyhdr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/*
 * Write an AF_INET/6 address as v1 text into <out> (ADDRTXT bytes).
 * IPv6 follows RFC 5952 (lower case, no leading zeros, the first longest
 * run of two or more zero groups as "::") but never ends in dotted IPv4,
 * which inet_ntop() does for mapped addresses and the spec's "sets of 4
 * hexadecimal digits delimited by colons" does not allow.
 */
static void
proxyhdr_addr_text(char *out, const struct sockaddr_storage *ss)
{
	const unsigned char *a = proxyhdr_addr(ss);
	unsigned int w[8];
	int i, cur = -1, best = -1, bestlen = 0;
	size_t n = 0;

	if (ss->ss_family == AF_INET) {
		snprintf(out, ADDRTXT, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		return;
	}
	for (i = 0; i < 8; i++) {
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] != 0) {
			cur = -1;
			continue;
		}
		if (cur == -1)
			cur = i;
		if (i - cur + 1 > bestlen) {
			best = cur;
			bestlen = i - cur + 1;
		}
	}
	if (bestlen < 2)
		best = -1;
	out[0] = '\0';
	for (i = 0; i < 8; i++) {
		if (i == best) {
			n += (size_t)snprintf(out + n, ADDRTXT - n, "::");
			i += bestlen - 1;
			continue;
		}
		n += (size_t)snprintf(out + n, ADDRTXT - n, "%s%x",
		    (i == 0 || (best != -1 && i == best + bestlen)) ? "" : ":",
		    w[i]);
	}
}

/* Build the v1 header (see proxyhdr.h). */
int
proxyhdr_v1(char *buf, size_t len, const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst)
{
	struct sockaddr_storage s, d;
	char stxt[ADDRTXT], dtxt[ADDRTXT];
	int fam, n, r = PORTHOLE_ERR_INTERNAL;

	if (buf == NULL || len < PROXYHDR_V1_MAX + 1) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	fam = proxyhdr_families(src, dst, &s, &d);
	if (fam == AF_UNSPEC) {
		/* The short form: the rest of the line may be omitted. */
		n = snprintf(buf, len, "PROXY UNKNOWN\r\n");
	} else {
		proxyhdr_addr_text(stxt, &s);
		proxyhdr_addr_text(dtxt, &d);
		n = snprintf(buf, len, "PROXY %s %s %s %u %u\r\n",
		    fam == AF_INET ? "TCP4" : "TCP6", stxt, dtxt,
		    proxyhdr_port(&s), proxyhdr_port(&d));
	}
	if (n < 0 || n > PROXYHDR_V1_MAX)
		goto out;
	r = n;
out:
	return r;
}

/* Build the v2 header (see proxyhdr.h). */
int
proxyhdr_v2(unsigned char *buf, size_t len, const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst)
{
	struct sockaddr_storage s, d;
	unsigned char *p;
	size_t alen = 0, blen = 0;
	unsigned int sport, dport;
	int fam, r = PORTHOLE_ERR_INTERNAL;

	if (buf == NULL || len < PROXYHDR_V2_MAX) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	memcpy(buf, proxyhdr_sig, sizeof(proxyhdr_sig));
	fam = proxyhdr_families(src, dst, &s, &d);
	if (fam == AF_UNSPEC) {
		/* No addresses to tell: LOCAL, family ignored, no block. */
		buf[12] = V2_VERSION | V2_CMD_LOCAL;
		buf[13] = V2_FAM_UNSPEC;
	} else {
		buf[12] = V2_VERSION | V2_CMD_PROXY;
		buf[13] = fam == AF_INET ? V2_FAM_TCP4 : V2_FAM_TCP6;
		alen = fam == AF_INET ? 4 : 16;
		blen = 2 * alen + 4;
		p = buf + V2_FIXED;
		memcpy(p, proxyhdr_addr(&s), alen);
		memcpy(p + alen, proxyhdr_addr(&d), alen);
		p += 2 * alen;
		sport = proxyhdr_port(&s);
		dport = proxyhdr_port(&d);
		p[0] = (unsigned char)(sport >> 8);
		p[1] = (unsigned char)(sport & 0xff);
		p[2] = (unsigned char)(dport >> 8);
		p[3] = (unsigned char)(dport & 0xff);
	}
	buf[14] = (unsigned char)(blen >> 8);
	buf[15] = (unsigned char)(blen & 0xff);
	r = (int)(V2_FIXED + blen);
out:
	return r;
}

/*
 * The v1 field checkers below take a field of <n> bytes (no NUL) and
 * whether it is <open>: the end of a partial line, which need only be
 * the start of a valid field. They return 0 or PORTHOLE_ERR_INVALID_FORMAT
 * and store a value only for a closed field.
 */

/* A fixed word such as "PROXY". */
static int
proxyhdr_v1_word(const char *s, size_t n, int open, const char *word)
{
	size_t wlen = strlen(word);

	if (n > wlen || (!open && n != wlen) || memcmp(s, word, n) != 0)
		return PORTHOLE_ERR_INVALID_FORMAT;
	return 0;
}

/*
 * A decimal port: 0 to 65535, no leading zeros ("0" itself is fine).
 */
static int
proxyhdr_v1_port(const char *s, size_t n, int open, in_port_t *portp)
{
	unsigned long v = 0;
	size_t i;

	if ((n == 0 && !open) || (n > 1 && s[0] == '0'))
		return PORTHOLE_ERR_INVALID_FORMAT;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PORTHOLE_ERR_INVALID_FORMAT;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 65535)
			return PORTHOLE_ERR_INVALID_FORMAT;
	}
	if (!open)
		*portp = htons((uint16_t)v);
	return 0;
}

/*
 * An IPv4 address: exactly four decimal numbers 0 to 255, one dot
 * between each, no leading zeros (spec 2.1: no octal confusion).
 */
static int
proxyhdr_v1_ipv4(const char *s, size_t n, int open, struct in_addr *ap)
{
	unsigned char b[4];
	unsigned int v = 0;
	size_t i, ndig = 0, nparts = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (ndig == 0 || nparts == 3)
				return PORTHOLE_ERR_INVALID_FORMAT;
			b[nparts++] = (unsigned char)v;
			v = 0;
			ndig = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || (ndig > 0 && v == 0))
			return PORTHOLE_ERR_INVALID_FORMAT;
		v = v * 10 + (unsigned int)(s[i] - '0');
		ndig++;
		if (v > 255)
			return PORTHOLE_ERR_INVALID_FORMAT;
	}
	if (open)
		return 0;
	if (ndig == 0 || nparts != 3)
		return PORTHOLE_ERR_INVALID_FORMAT;
	b[3] = (unsigned char)v;
	memcpy(ap, b, sizeof(b));
	return 0;
}

/* The value of hexadecimal digit c, or -1. */
static int
proxyhdr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * An IPv6 address: groups of one to four hexadecimal digits (either
 * case) separated by single colons, at most one "::" standing for one or
 * more zero groups, 128 bits in all. No dotted IPv4 tail: the spec asks
 * for hexadecimal groups only.
 */
static int
proxyhdr_v1_ipv6(const char *s, size_t n, int open, struct in6_addr *ap)
{
	unsigned int w[8], v = 0;
	size_t i, k, ndig = 0, ngroups = 0, room = 8;
	int d, gap = -1;

	for (i = 0; i < n; i++) {
		if ((d = proxyhdr_hexval(s[i])) != -1) {
			/* A fifth digit, or a new group with no room left. */
			if (ndig == 4 || (ndig == 0 && ngroups == room))
				return PORTHOLE_ERR_INVALID_FORMAT;
			v = v << 4 | (unsigned int)d;
			ndig++;
			continue;
		}
		if (s[i] != ':')
			return PORTHOLE_ERR_INVALID_FORMAT;
		if (ndig > 0) {
			/*
			 * A colon after a group: a group or a second colon
			 * must follow, so there must be room for one more.
			 */
			w[ngroups++] = v;
			v = 0;
			ndig = 0;
			if (ngroups == room)
				return PORTHOLE_ERR_INVALID_FORMAT;
			continue;
		}
		/* A colon with no group before it: only as part of "::". */
		if (i == 0) {
			if (n == 1 && open)
				return 0;
			if (n == 1 || s[1] != ':')
				return PORTHOLE_ERR_INVALID_FORMAT;
			i++;
		} else if (s[i - 1] != ':')
			return PORTHOLE_ERR_INVALID_FORMAT;
		/* Only one "::"; it stands for at least one zero group. */
		if (gap != -1)
			return PORTHOLE_ERR_INVALID_FORMAT;
		gap = (int)ngroups;
		room = 7;
	}
	if (open)
		return 0;
	if (ndig > 0)
		w[ngroups++] = v;
	else if (n < 2 || s[n - 2] != ':')
		return PORTHOLE_ERR_INVALID_FORMAT; /* empty, or a lone ':' */
	if (gap == -1 && ngroups != 8)
		return PORTHOLE_ERR_INVALID_FORMAT;
	/* Spread the groups out, with zeros where the "::" stood. */
	memset(ap, 0, sizeof(*ap));
	for (i = 0; i < ngroups; i++) {
		k = gap == -1 || i < (size_t)gap ? i : i + (8 - ngroups);
		ap->s6_addr[2 * k] = (unsigned char)(w[i] >> 8);
		ap->s6_addr[2 * k + 1] = (unsigned char)(w[i] & 0xff);
	}
	return 0;
}

/* Store an IPv4 or IPv6 address and port in *ssp. */
static void
proxyhdr_set(struct sockaddr_storage *ssp, int family, const void *addr,
    in_port_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ssp;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ssp;

	memset(ssp, 0, sizeof(*ssp));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
	}
}

/*
 * Check the v1 line <s> of <n> bytes (without its CRLF) and fill *hp.
 * With <partial>, the line may stop anywhere and its last field need
 * only be the start of a valid one; then *hp is left incomplete.
 * Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
proxyhdr_v1_line(const char *s, size_t n, int partial, struct proxyhdr *hp)
{
	static const char *const protos[] = { "TCP4", "TCP6", "UNKNOWN" };
	union {
		struct in_addr a4;
		struct in6_addr a6;
	} addr[2];
	in_port_t port[2];
	const char *f, *sp;
	size_t flen, pos = 0, i;
	int k, open, fam = AF_UNSPEC, r = PORTHOLE_ERR_INVALID_FORMAT;

	/* PROXY, protocol, source, destination, source port, dest. port. */
	for (k = 0;; k++) {
		f = s + pos;
		sp = memchr(f, ' ', n - pos);
		flen = sp == NULL ? n - pos : (size_t)(sp - f);
		open = partial && sp == NULL;
		/* Exactly one space between fields: none may be empty. */
		if (flen == 0 && !open)
			goto out;
		switch (k) {
		case 0:
			if (proxyhdr_v1_word(f, flen, open, "PROXY") != 0)
				goto out;
			break;
		case 1:
			for (i = 0; i < 3; i++) {
				if (proxyhdr_v1_word(f, flen, open,
				        protos[i]) == 0)
					break;
			}
			if (i == 3)
				goto out;
			if (open) {
				r = 0;
				goto out;
			}
			if (i == 2) {
				/* UNKNOWN: whatever follows is ignored. */
				hp->version = 1;
				hp->local = 1;
				hp->family = AF_UNSPEC;
				r = 0;
				goto out;
			}
			fam = i == 0 ? AF_INET : AF_INET6;
			break;
		case 2:
		case 3:
			if (fam == AF_INET &&
			    proxyhdr_v1_ipv4(f, flen, open, &addr[k - 2].a4))
				goto out;
			if (fam == AF_INET6 &&
			    proxyhdr_v1_ipv6(f, flen, open, &addr[k - 2].a6))
				goto out;
			break;
		default:
			if (proxyhdr_v1_port(f, flen, open, &port[k - 4]))
				goto out;
			break;
		}
		if (sp == NULL)
			break;
		/* Nothing, not even a space, after the destination port. */
		if (k == 5)
			goto out;
		pos += flen + 1;
	}
	if (partial) {
		r = 0;
		goto out;
	}
	if (k != 5)
		goto out;
	hp->version = 1;
	hp->local = 0;
	hp->family = fam;
	proxyhdr_set(&hp->src, fam, &addr[0], port[0]);
	proxyhdr_set(&hp->dst, fam, &addr[1], port[1]);
	r = 0;
out:
	return r;
}

/*
 * Parse a v1 header at <buf> (it starts with 'P'). Returns 0 with the
 * line's length in *hlenp, PROXYHDR_INCOMPLETE, or
 * PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
proxyhdr_parse_v1(const unsigned char *buf, size_t len, struct proxyhdr *hp,
    size_t *hlenp)
{
	const char *s = (const char *)buf;
	size_t i;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	/*
	 * Find the CRLF within the first 107 bytes. The spec forbids
	 * ending the line with a lone CR or LF, and neither can appear
	 * inside it, so the first CR or LF decides.
	 */
	for (i = 0; i < len && i < PROXYHDR_V1_MAX; i++) {
		if (buf[i] == '\n')
			goto out;
		if (buf[i] != '\r')
			continue;
		if (i + 2 > PROXYHDR_V1_MAX)
			goto out;
		if (i + 1 == len) {
			/* The LF is still to come: the line must be whole. */
			if (proxyhdr_v1_line(s, i, 0, hp) == 0)
				r = PROXYHDR_INCOMPLETE;
			goto out;
		}
		if (buf[i + 1] != '\n')
			goto out;
		if ((r = proxyhdr_v1_line(s, i, 0, hp)) == 0)
			*hlenp = i + 2;
		goto out;
	}
	/* No CR yet: there must be room for one, and a valid start. */
	if (len + 2 > PROXYHDR_V1_MAX)
		goto out;
	if (proxyhdr_v1_line(s, len, 1, hp) == 0)
		r = PROXYHDR_INCOMPLETE;
out:
	return r;
}

/*
 * Parse a v2 header at <buf> (it starts with a CR). Returns 0 with its
 * length in *hlenp, PROXYHDR_INCOMPLETE, or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
proxyhdr_parse_v2(const unsigned char *buf, size_t len, struct proxyhdr *hp,
    size_t *hlenp)
{
	const unsigned char *p;
	size_t blen, need = 0, alen;
	int cmd, r = PORTHOLE_ERR_INVALID_FORMAT;

	if (memcmp(buf, proxyhdr_sig,
	        len < PROXYHDR_V2_SIGLEN ? len : PROXYHDR_V2_SIGLEN) != 0)
		goto out;
	r = PROXYHDR_INCOMPLETE;
	if (len < PROXYHDR_V2_SIGLEN + 1)
		goto out;
	/* Version 2 only; LOCAL or PROXY only. */
	r = PORTHOLE_ERR_INVALID_FORMAT;
	cmd = buf[12] & 0x0f;
	if ((buf[12] & 0xf0) != V2_VERSION ||
	    (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY))
		goto out;
	r = PROXYHDR_INCOMPLETE;
	if (len < PROXYHDR_V2_SIGLEN + 2)
		goto out;
	/*
	 * Families beyond AF_UNIX and transports beyond DGRAM must be
	 * rejected even for LOCAL, which otherwise ignores the family.
	 * PROXY must say TCP over IPv4 or IPv6: we relay nothing else.
	 */
	r = PORTHOLE_ERR_INVALID_FORMAT;
	if ((buf[13] >> 4) > 3 || (buf[13] & 0x0f) > 2)
		goto out;
	if (cmd == V2_CMD_PROXY) {
		if (buf[13] == V2_FAM_TCP4)
			need = V2_ALEN_TCP4;
		else if (buf[13] == V2_FAM_TCP6)
			need = V2_ALEN_TCP6;
		else
			goto out;
	}
	r = PROXYHDR_INCOMPLETE;
	if (len < V2_FIXED)
		goto out;
	blen = (size_t)buf[14] << 8 | buf[15];
	r = PORTHOLE_ERR_INVALID_FORMAT;
	if (blen < need)
		goto out;
	r = PROXYHDR_INCOMPLETE;
	if (len - V2_FIXED < blen)
		goto out;
	hp->version = 2;
	hp->local = cmd == V2_CMD_LOCAL;
	hp->family = AF_UNSPEC;
	/* LOCAL: the whole block is skipped, whatever it holds. */
	hp->tlv_len = blen - need;
	if (cmd == V2_CMD_PROXY) {
		hp->family = need == V2_ALEN_TCP4 ? AF_INET : AF_INET6;
		alen = need == V2_ALEN_TCP4 ? 4 : 16;
		p = buf + V2_FIXED;
		proxyhdr_set(&hp->src, hp->family, p,
		    htons((uint16_t)(p[2 * alen] << 8 | p[2 * alen + 1])));
		proxyhdr_set(&hp->dst, hp->family, p + alen,
		    htons((uint16_t)(p[2 * alen + 2] << 8 | p[2 * alen + 3])));
	}
	*hlenp = V2_FIXED + blen;
	r = 0;
out:
	return r;
}

/* Parse a v1 or v2 header, strictly and incrementally (see proxyhdr.h). */
int
proxyhdr_parse(const unsigned char *buf, size_t len, struct proxyhdr *hp,
    size_t *lenp)
{
	struct proxyhdr h;
	size_t hlen = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	memset(&h, 0, sizeof(h));
	if (hp == NULL || lenp == NULL || (buf == NULL && len != 0)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	memset(hp, 0, sizeof(*hp));
	*lenp = 0;
	/* "PROXY" and the v2 signature differ from the first byte on. */
	if (len == 0)
		r = PROXYHDR_INCOMPLETE;
	else if (buf[0] == 'P')
		r = proxyhdr_parse_v1(buf, len, &h, &hlen);
	else if (buf[0] == proxyhdr_sig[0])
		r = proxyhdr_parse_v2(buf, len, &h, &hlen);
	else
		r = PORTHOLE_ERR_INVALID_FORMAT;
	if (r != 0)
		goto out;
	*hp = h;
	*lenp = hlen;
out:
	return r;
}
