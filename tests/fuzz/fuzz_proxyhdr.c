/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * libFuzzer harness for the PROXY protocol code (proxyhdr.h), in two
 * parts that both run on every input:
 *
 * 1. proxyhdr_parse() on the raw bytes. A header it accepts must have
 *    the shape the spec gives, must parse the same on its own in a
 *    buffer of its exact size, and every shorter prefix of it must be
 *    PROXYHDR_INCOMPLETE (likewise for an input it calls incomplete).
 *    Its addresses are then sent through the builders as in part 2.
 * 2. Two endpoints made from the input bytes (IPv4, IPv6, IPv4-mapped
 *    IPv6, AF_UNIX or NULL) go through proxyhdr_v1() and proxyhdr_v2()
 *    and back through proxyhdr_parse(), which must give the family,
 *    addresses and ports that HAProxy's sender rules call for.
 *
 * Every parse reads from a heap copy of exactly the bytes it is given,
 * so ASan reports any read past <len>.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "proxyhdr.h"

/* Prefixes checked per header: all up to this length, then the last. */
#define PREFIX_CHECK_MAX 128

static const uint8_t v2sig[PROXYHDR_V2_SIGLEN] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

/* One end of a connection as the header should carry it. */
struct ep {
	int family; /* AF_INET, AF_INET6, or AF_UNSPEC: not IP */
	unsigned char addr[16]; /* 4 used for AF_INET */
	unsigned int port;
};

/* What a header built for two endpoints must parse back to. */
struct want {
	int local; /* no addresses: v1 UNKNOWN, v2 LOCAL */
	int family;
	struct ep src;
	struct ep dst;
};

/* Read socket address <ss> (NULL allowed) into *ep. */
static void
ep_from_ss(const struct sockaddr_storage *ss, struct ep *ep)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	memset(ep, 0, sizeof(*ep));
	ep->family = AF_UNSPEC;
	if (ss == NULL)
		return;
	if (ss->ss_family == AF_INET) {
		ep->family = AF_INET;
		memcpy(ep->addr, &sin->sin_addr, 4);
		ep->port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		ep->family = AF_INET6;
		memcpy(ep->addr, &sin6->sin6_addr, 16);
		ep->port = ntohs(sin6->sin6_port);
	}
}

/*
 * The sender's family rules, restated from proxyhdr.h: an IPv4-mapped
 * address is sent as IPv4; if the ends still differ, the IPv4 one is
 * mapped into IPv6; if either is not IP, no addresses are sent.
 */
static void
want_for(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
    struct want *w)
{
	struct ep *eps[2];
	int i;

	memset(w, 0, sizeof(*w));
	ep_from_ss(src, &w->src);
	ep_from_ss(dst, &w->dst);
	eps[0] = &w->src;
	eps[1] = &w->dst;
	for (i = 0; i < 2; i++) {
		if (eps[i]->family == AF_INET6 &&
		    memcmp(eps[i]->addr, v4mapped, 12) == 0) {
			eps[i]->family = AF_INET;
			memmove(eps[i]->addr, eps[i]->addr + 12, 4);
			memset(eps[i]->addr + 4, 0, 12);
		}
	}
	if (w->src.family == AF_UNSPEC || w->dst.family == AF_UNSPEC) {
		w->local = 1;
		w->family = AF_UNSPEC;
		return;
	}
	for (i = 0; i < 2 && w->src.family != w->dst.family; i++) {
		if (eps[i]->family != AF_INET)
			continue;
		memmove(eps[i]->addr + 12, eps[i]->addr, 4);
		memcpy(eps[i]->addr, v4mapped, 12);
		eps[i]->family = AF_INET6;
	}
	w->family = w->src.family;
}

/* Predicate: endpoint <ss> from a parsed header is <want>. */
static int
ep_is(const struct sockaddr_storage *ss, const struct ep *want)
{
	struct ep got;

	ep_from_ss(ss, &got);
	return got.family == want->family && got.port == want->port &&
	    memcmp(got.addr, want->addr, sizeof(got.addr)) == 0;
}

/* Parse <len> bytes from a heap copy of exactly that size. */
static int
parse_exact(const uint8_t *buf, size_t len, struct proxyhdr *hp, size_t *lenp)
{
	uint8_t *copy;
	int r;

	copy = fuzz_exact(buf, len);
	r = proxyhdr_parse(len > 0 ? copy : NULL, len, hp, lenp);
	free(copy);
	return r;
}

/* Every prefix of <buf> shorter than <n> is a valid start: incomplete. */
static void
check_prefixes(const uint8_t *buf, size_t n)
{
	struct proxyhdr h;
	size_t m, hlen;

	for (m = 0; m < n; m++) {
		if (m > PREFIX_CHECK_MAX && m != n - 1)
			continue;
		hlen = 12345;
		FUZZ_CHECK(
		    parse_exact(buf, m, &h, &hlen) == PROXYHDR_INCOMPLETE);
		FUZZ_CHECK(hlen == 0);
	}
}

/* Predicate: two parse results are the same. */
static int
same_hdr(const struct proxyhdr *a, const struct proxyhdr *b)
{
	return a->version == b->version && a->local == b->local &&
	    a->family == b->family && a->tlv_len == b->tlv_len &&
	    memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

/*
 * Check header <hdr> of <n> bytes that proxyhdr_v<version>() built:
 * followed by <tail> it parses back to exactly <n> bytes and to <w>.
 */
static void
check_built(int version, const uint8_t *hdr, size_t n, const uint8_t *tail,
    size_t tlen, const struct want *w)
{
	struct proxyhdr h;
	uint8_t *buf;
	size_t hlen = 0;

	buf = xmalloc(n + tlen);
	memcpy(buf, hdr, n);
	if (tlen > 0)
		memcpy(buf + n, tail, tlen);
	FUZZ_CHECK(proxyhdr_parse(buf, n + tlen, &h, &hlen) == 0);
	FUZZ_CHECK(hlen == n);
	FUZZ_CHECK(h.version == version);
	FUZZ_CHECK(h.local == w->local);
	FUZZ_CHECK(h.family == w->family);
	FUZZ_CHECK(h.tlv_len == 0);
	if (!w->local) {
		FUZZ_CHECK(ep_is(&h.src, &w->src));
		FUZZ_CHECK(ep_is(&h.dst, &w->dst));
	}
	check_prefixes(buf, n);
	free(buf);
}

/* Build both headers for <src> and <dst>, parse them back, compare. */
static void
round_trip(const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, const uint8_t *tail, size_t tlen)
{
	struct want w;
	char v1[PROXYHDR_V1_MAX + 1];
	unsigned char v2[PROXYHDR_V2_MAX];
	int n;

	want_for(src, dst, &w);

	n = proxyhdr_v1(v1, sizeof(v1), src, dst);
	FUZZ_CHECK(n > 0 && n <= PROXYHDR_V1_MAX);
	FUZZ_CHECK((size_t)n == strlen(v1));
	FUZZ_CHECK(v1[n - 2] == '\r' && v1[n - 1] == '\n');
	check_built(1, (const uint8_t *)v1, (size_t)n, tail, tlen, &w);
	FUZZ_CHECK(proxyhdr_v1(v1, sizeof(v1) - 1, src, dst) ==
	    PORTHOLE_ERR_INVALID_ARGUMENT);

	n = proxyhdr_v2(v2, sizeof(v2), src, dst);
	FUZZ_CHECK(n == 16 || n == 16 + 12 || n == 16 + 36);
	FUZZ_CHECK(memcmp(v2, v2sig, sizeof(v2sig)) == 0);
	check_built(2, v2, (size_t)n, tail, tlen, &w);
	FUZZ_CHECK(proxyhdr_v2(v2, sizeof(v2) - 1, src, dst) ==
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}

/*
 * Make an endpoint from the input: IPv4, IPv6 (with flow and scope
 * that the header must not carry), IPv4-mapped IPv6, AF_UNIX, or NULL.
 */
static const struct sockaddr_storage *
ep_from_input(struct fuzz_in *in, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	switch (fuzz_byte(in) % 5) {
	case 0:
		sin->sin_family = AF_INET;
		fuzz_bytes(in, &sin->sin_addr, 4);
		fuzz_bytes(in, &sin->sin_port, 2);
		return ss;
	case 1:
		sin6->sin6_family = AF_INET6;
		fuzz_bytes(in, &sin6->sin6_addr, 16);
		fuzz_bytes(in, &sin6->sin6_port, 2);
		sin6->sin6_flowinfo = fuzz_byte(in);
		sin6->sin6_scope_id = fuzz_byte(in);
		return ss;
	case 2:
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, v4mapped, sizeof(v4mapped));
		fuzz_bytes(in, sin6->sin6_addr.s6_addr + 12, 4);
		fuzz_bytes(in, &sin6->sin6_port, 2);
		return ss;
	case 3:
		sun->sun_family = AF_UNIX;
		fuzz_bytes(in, sun->sun_path, 8);
		return ss;
	default:
		return NULL;
	}
}

/*
 * Check that the fields of the v1 line <line> (<n> bytes, CRLF
 * excluded) that <h> was parsed from are what inet_pton() and strtoul()
 * read in them: the strict parser accepts a subset of what they do.
 */
static void
check_v1_fields(const char *line, size_t n, const struct proxyhdr *h)
{
	char *copy, *field[6], *save = NULL, *p;
	struct ep ep;
	unsigned char addr[16];
	int i;

	copy = fuzz_cstring((const uint8_t *)line, n);
	for (i = 0, p = copy; i < 6; i++, p = NULL)
		FUZZ_CHECK((field[i] = strtok_r(p, " ", &save)) != NULL);
	FUZZ_CHECK(strtok_r(NULL, " ", &save) == NULL);
	FUZZ_CHECK(strcmp(field[0], "PROXY") == 0);
	FUZZ_CHECK(
	    strcmp(field[1], h->family == AF_INET ? "TCP4" : "TCP6") == 0);
	for (i = 0; i < 2; i++) {
		ep_from_ss(i == 0 ? &h->src : &h->dst, &ep);
		memset(addr, 0, sizeof(addr));
		FUZZ_CHECK(inet_pton(h->family, field[2 + i], addr) == 1);
		FUZZ_CHECK(memcmp(addr, ep.addr, sizeof(addr)) == 0);
		FUZZ_CHECK(strtoul(field[4 + i], NULL, 10) == ep.port);
	}
	free(copy);
}

/* Check the shape of a header proxyhdr_parse() accepted (<n> bytes). */
static void
check_shape(const uint8_t *buf, size_t n, const struct proxyhdr *h)
{
	struct ep ep;
	size_t blen, alen, i;

	FUZZ_CHECK(h->local ? h->family == AF_UNSPEC
	                    : h->family == AF_INET || h->family == AF_INET6);
	if (h->local) {
		FUZZ_CHECK(h->src.ss_family == AF_UNSPEC);
		FUZZ_CHECK(h->dst.ss_family == AF_UNSPEC);
	} else {
		FUZZ_CHECK(h->src.ss_family == h->family);
		FUZZ_CHECK(h->dst.ss_family == h->family);
	}
	if (h->version == 1) {
		/* One line of at most 107 bytes, CRLF only at its end. */
		FUZZ_CHECK(buf[0] == 'P' && n >= 8 && n <= PROXYHDR_V1_MAX);
		FUZZ_CHECK(buf[n - 2] == '\r' && buf[n - 1] == '\n');
		for (i = 0; i < n - 2; i++)
			FUZZ_CHECK(buf[i] != '\r' && buf[i] != '\n');
		FUZZ_CHECK(h->tlv_len == 0);
		if (!h->local)
			check_v1_fields((const char *)buf, n - 2, h);
		return;
	}
	FUZZ_CHECK(h->version == 2);
	FUZZ_CHECK(n >= 16 && memcmp(buf, v2sig, sizeof(v2sig)) == 0);
	FUZZ_CHECK((buf[12] & 0xf0) == 0x20);
	FUZZ_CHECK(h->local == ((buf[12] & 0x0f) == 0));
	blen = (size_t)buf[14] << 8 | buf[15];
	FUZZ_CHECK(n == 16 + blen);
	if (h->local) {
		FUZZ_CHECK(h->tlv_len == blen);
		return;
	}
	FUZZ_CHECK(buf[13] == (h->family == AF_INET ? 0x11 : 0x21));
	alen = h->family == AF_INET ? 4 : 16;
	FUZZ_CHECK(h->tlv_len == blen - 2 * alen - 4);
	/* The addresses and ports are the bytes of the block. */
	ep_from_ss(&h->src, &ep);
	FUZZ_CHECK(memcmp(ep.addr, buf + 16, alen) == 0);
	FUZZ_CHECK(ep.port ==
	    ((unsigned int)buf[16 + 2 * alen] << 8 | buf[16 + 2 * alen + 1]));
	ep_from_ss(&h->dst, &ep);
	FUZZ_CHECK(memcmp(ep.addr, buf + 16 + alen, alen) == 0);
	FUZZ_CHECK(ep.port ==
	    ((unsigned int)buf[16 + 2 * alen + 2] << 8 |
	        buf[16 + 2 * alen + 3]));
}

/* Part 1: the raw input as the first bytes a connection sends. */
static void
check_raw(const uint8_t *data, size_t size)
{
	struct proxyhdr h, alone;
	size_t hlen = 12345, hlen2 = 0;
	int r;

	FUZZ_CHECK(proxyhdr_parse(data, size, &h, NULL) ==
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	r = proxyhdr_parse(data, size, &h, &hlen);
	FUZZ_CHECK(r == 0 || r == PROXYHDR_INCOMPLETE ||
	    r == PORTHOLE_ERR_INVALID_FORMAT);
	if (r != 0)
		FUZZ_CHECK(hlen == 0);
	if (r == PROXYHDR_INCOMPLETE)
		check_prefixes(data, size);
	if (r != 0)
		return;
	FUZZ_CHECK(hlen > 0 && hlen <= size);
	check_shape(data, hlen, &h);
	/* The header alone says the same; anything before it is incomplete. */
	FUZZ_CHECK(parse_exact(data, hlen, &alone, &hlen2) == 0);
	FUZZ_CHECK(hlen2 == hlen && same_hdr(&h, &alone));
	check_prefixes(data, hlen);
	/* What was parsed can be sent on, by either version. */
	round_trip(h.local ? NULL : &h.src, h.local ? NULL : &h.dst,
	    data + hlen, size - hlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage s, d;
	const struct sockaddr_storage *sp, *dp;
	struct fuzz_in in;

	check_raw(data, size);

	/* Part 2: the input read as two endpoints, the rest as payload. */
	in.data = data;
	in.size = size;
	in.off = 0;
	sp = ep_from_input(&in, &s);
	dp = ep_from_input(&in, &d);
	round_trip(sp, dp, data + in.off, size - in.off);
	return 0;
}
