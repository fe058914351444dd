/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "proxyhdr.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "err.h"

Suite *proxyhdr_suite(void);

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A byte string literal and its length; v2 headers hold NUL bytes. */
#define B(s) s, sizeof(s) - 1

/* The v2 signature, spec 2.2. */
#define SIG "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A"

#define V6MAX "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
/* Spec 2.1's worst case without its CRLF: 105 bytes. */
#define UNKNOWN_MAX "PROXY UNKNOWN " V6MAX " " V6MAX " 65535 65535"

/*
 * Fill *ss with <ip> (IPv4 or IPv6 text) and <port>; a NULL <ip> gives
 * an AF_UNIX address, which is neither.
 */
static void
mkaddr(struct sockaddr_storage *ss, const char *ip, unsigned int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ip == NULL) {
		sun->sun_family = AF_UNIX;
		strncpy(sun->sun_path, "/tmp/sock", sizeof(sun->sun_path) - 1);
	} else if (strchr(ip, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
}

/* Assert that *ss holds exactly <ip> and <port>. */
static void
check_addr(const struct sockaddr_storage *ss, const char *ip, unsigned int port)
{
	struct sockaddr_storage want;

	mkaddr(&want, ip, port);
	ck_assert_int_eq(ss->ss_family, want.ss_family);
	if (want.ss_family == AF_INET)
		ck_assert_mem_eq(ss, &want, sizeof(struct sockaddr_in));
	else
		ck_assert_mem_eq(ss, &want, sizeof(struct sockaddr_in6));
}

/* Builders: spec 2.1 and 2.2 examples and the family rules. */

struct build_case {
	const char *src;
	unsigned int sport;
	const char *dst;
	unsigned int dport;
	const char *v1;
	const char *v2;
	size_t v2len;
};

static const struct build_case build_cases[] = {
	/* The spec's example line. */
	{ "192.168.0.1", 56324, "192.168.0.11", 443,
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	    B(SIG "\x21\x11\x00\x0C"
	          "\xC0\xA8\x00\x01\xC0\xA8\x00\x0B"
	          "\xDC\x04\x01\xBB") },
	/* The longest TCP4 line, 56 bytes. */
	{ "255.255.255.255", 65535, "255.255.255.255", 65535,
	    "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
	    B(SIG "\x21\x11\x00\x0C"
	          "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
	          "\xFF\xFF\xFF\xFF") },
	{ "0.0.0.0", 0, "10.0.0.1", 1, "PROXY TCP4 0.0.0.0 10.0.0.1 0 1\r\n",
	    B(SIG "\x21\x11\x00\x0C"
	          "\x00\x00\x00\x00\x0A\x00\x00\x01"
	          "\x00\x00\x00\x01") },
	{ "2001:db8::1", 1234, "2001:db8::2", 80,
	    "PROXY TCP6 2001:db8::1 2001:db8::2 1234 80\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\x20\x01\x0D\xB8\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x01"
	          "\x20\x01\x0D\xB8\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x02"
	          "\x04\xD2\x00\x50") },
	/* The longest TCP6 line, 104 bytes. */
	{ V6MAX, 65535, V6MAX, 65535,
	    "PROXY TCP6 " V6MAX " " V6MAX " 65535 65535\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
	          "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
	          "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
	          "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
	          "\xFF\xFF\xFF\xFF") },
	/* IPv6 text: RFC 5952 compression, never a dotted tail. */
	{ "::", 1, "::1", 2, "PROXY TCP6 :: ::1 1 2\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x01"
	          "\x00\x01\x00\x02") },
	{ "1::", 1, "1:0:0:1:0:0:0:1", 2, "PROXY TCP6 1:: 1:0:0:1::1 1 2\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\x00\x01\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x01\x00\x00\x00\x00\x00\x01"
	          "\x00\x00\x00\x00\x00\x00\x00\x01"
	          "\x00\x01\x00\x02") },
	{ "1:0:0:1:1:0:0:1", 1, "1:0:1:1:1:1:1:1", 2,
	    "PROXY TCP6 1::1:1:0:0:1 1:0:1:1:1:1:1:1 1 2\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\x00\x01\x00\x00\x00\x00\x00\x01"
	          "\x00\x01\x00\x00\x00\x00\x00\x01"
	          "\x00\x01\x00\x00\x00\x01\x00\x01"
	          "\x00\x01\x00\x01\x00\x01\x00\x01"
	          "\x00\x01\x00\x02") },
	{ "::102:304", 1, "::2:0", 2, "PROXY TCP6 ::102:304 ::2:0 1 2\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x01\x02\x03\x04"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x02\x00\x00"
	          "\x00\x01\x00\x02") },
	/* IPv4-mapped is sent as IPv4. */
	{ "::ffff:192.0.2.1", 5000, "192.0.2.2", 22,
	    "PROXY TCP4 192.0.2.1 192.0.2.2 5000 22\r\n",
	    B(SIG "\x21\x11\x00\x0C"
	          "\xC0\x00\x02\x01\xC0\x00\x02\x02"
	          "\x13\x88\x00\x16") },
	{ "::ffff:192.0.2.1", 5000, "::ffff:192.0.2.2", 22,
	    "PROXY TCP4 192.0.2.1 192.0.2.2 5000 22\r\n",
	    B(SIG "\x21\x11\x00\x0C"
	          "\xC0\x00\x02\x01\xC0\x00\x02\x02"
	          "\x13\x88\x00\x16") },
	/* Mixed families: both TCP6, the IPv4 end mapped. */
	{ "192.0.2.1", 1, "2001:db8::1", 2,
	    "PROXY TCP6 ::ffff:c000:201 2001:db8::1 1 2\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\xFF\xFF\xC0\x00\x02\x01"
	          "\x20\x01\x0D\xB8\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x01"
	          "\x00\x01\x00\x02") },
	{ "2001:db8::1", 2, "::ffff:192.0.2.1", 1,
	    "PROXY TCP6 2001:db8::1 ::ffff:c000:201 2 1\r\n",
	    B(SIG "\x21\x21\x00\x24"
	          "\x20\x01\x0D\xB8\x00\x00\x00\x00"
	          "\x00\x00\x00\x00\x00\x00\x00\x01"
	          "\x00\x00\x00\x00\x00\x00\x00\x00"
	          "\x00\x00\xFF\xFF\xC0\x00\x02\x01"
	          "\x00\x02\x00\x01") },
	/* Neither IPv4 nor IPv6: UNKNOWN, or LOCAL with no addresses. */
	{ NULL, 0, "192.0.2.1", 80, "PROXY UNKNOWN\r\n",
	    B(SIG "\x20\x00\x00\x00") },
	{ "192.0.2.1", 80, NULL, 0, "PROXY UNKNOWN\r\n",
	    B(SIG "\x20\x00\x00\x00") },
};

START_TEST(test_build_v1)
{
	const struct build_case *t = &build_cases[_i];
	struct sockaddr_storage src, dst;
	char buf[PROXYHDR_V1_MAX + 1];
	int n;

	mkaddr(&src, t->src, t->sport);
	mkaddr(&dst, t->dst, t->dport);
	memset(buf, 'x', sizeof(buf));
	n = proxyhdr_v1(buf, sizeof(buf), &src, &dst);
	ck_assert_int_eq(n, (int)strlen(t->v1));
	ck_assert_str_eq(buf, t->v1);
}
END_TEST

START_TEST(test_build_v2)
{
	const struct build_case *t = &build_cases[_i];
	struct sockaddr_storage src, dst;
	unsigned char buf[PROXYHDR_V2_MAX];
	int n;

	mkaddr(&src, t->src, t->sport);
	mkaddr(&dst, t->dst, t->dport);
	memset(buf, 'x', sizeof(buf));
	n = proxyhdr_v2(buf, sizeof(buf), &src, &dst);
	ck_assert_int_eq(n, (int)t->v2len);
	ck_assert_mem_eq(buf, t->v2, t->v2len);
}
END_TEST

/* What each builder's output parses back to. */
START_TEST(test_build_parses)
{
	const struct build_case *t = &build_cases[_i];
	struct sockaddr_storage src, dst;
	struct proxyhdr h;
	char v1[PROXYHDR_V1_MAX + 1];
	unsigned char v2[PROXYHDR_V2_MAX];
	size_t hlen;
	int n1, n2;

	mkaddr(&src, t->src, t->sport);
	mkaddr(&dst, t->dst, t->dport);
	n1 = proxyhdr_v1(v1, sizeof(v1), &src, &dst);
	n2 = proxyhdr_v2(v2, sizeof(v2), &src, &dst);
	ck_assert_int_gt(n1, 0);
	ck_assert_int_gt(n2, 0);
	ck_assert_int_eq(proxyhdr_parse((unsigned char *)v1, (size_t)n1, &h,
	                     &hlen),
	    0);
	ck_assert_uint_eq(hlen, (size_t)n1);
	ck_assert_int_eq(h.version, 1);
	ck_assert_int_eq(h.local, t->src == NULL || t->dst == NULL);
	ck_assert_int_eq(proxyhdr_parse(v2, (size_t)n2, &h, &hlen), 0);
	ck_assert_uint_eq(hlen, (size_t)n2);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.local, t->src == NULL || t->dst == NULL);
	ck_assert_uint_eq(h.tlv_len, 0);
}
END_TEST

/* The buffer must hold the longest header, whatever the addresses. */
START_TEST(test_build_short_buffer)
{
	struct sockaddr_storage src, dst;
	char v1[PROXYHDR_V1_MAX + 1];
	unsigned char v2[PROXYHDR_V2_MAX];

	mkaddr(&src, V6MAX, 65535);
	mkaddr(&dst, V6MAX, 65535);
	ck_assert_int_eq(proxyhdr_v1(v1, sizeof(v1) - 1, &src, &dst),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_v1(v1, 0, &src, &dst),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_v1(NULL, sizeof(v1), &src, &dst),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_v1(v1, sizeof(v1), &src, &dst), 104);
	ck_assert_int_eq(proxyhdr_v2(v2, sizeof(v2) - 1, &src, &dst),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_v2(NULL, sizeof(v2), &src, &dst),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_v2(v2, sizeof(v2), &src, &dst),
	    PROXYHDR_V2_MAX);
	/* Short IPv4 headers still need the full size. */
	mkaddr(&src, "192.0.2.1", 1);
	mkaddr(&dst, "192.0.2.2", 2);
	ck_assert_int_eq(proxyhdr_v1(v1, 64, &src, &dst),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_v2(v2, 28, &src, &dst),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}
END_TEST

/* Parser: headers that must be accepted. */

struct parse_ok {
	const char *in;
	size_t inlen;
	size_t hlen;
	int version;
	int local;
	int family;
	const char *src;
	unsigned int sport;
	const char *dst;
	unsigned int dport;
	size_t tlv_len;
};

static const struct parse_ok parse_ok_cases[] = {
	/* Spec 2.1's example, with the HTTP request that follows it. */
	{ B("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
	    "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n"),
	    47, 1, 0, AF_INET, "192.168.0.1", 56324, "192.168.0.11", 443, 0 },
	{ B("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"), 56,
	    1, 0, AF_INET, "255.255.255.255", 65535, "255.255.255.255", 65535,
	    0 },
	{ B("PROXY TCP4 0.0.0.0 10.0.0.1 0 1\r\n"), 33, 1, 0, AF_INET,
	    "0.0.0.0", 0, "10.0.0.1", 1, 0 },
	{ B("PROXY TCP6 " V6MAX " " V6MAX " 65535 65535\r\n"), 104, 1, 0,
	    AF_INET6, V6MAX, 65535, V6MAX, 65535, 0 },
	/* Hex digits in either case, leading zeros in a group. */
	{ B("PROXY TCP6 FFFF:0DB8:0:0:0:0:0:0001 2001:db8::A 1 2\r\nxyz"), 53,
	    1, 0, AF_INET6, "ffff:db8::1", 1, "2001:db8::a", 2, 0 },
	{ B("PROXY TCP6 :: ::1 1 2\r\n"), 23, 1, 0, AF_INET6, "::", 1, "::1", 2,
	    0 },
	{ B("PROXY TCP6 1:: 1:2:3:4:5:6:7:: 1 2\r\n"), 36, 1, 0, AF_INET6,
	    "1::", 1, "1:2:3:4:5:6:7:0", 2, 0 },
	{ B("PROXY TCP6 ::2:3:4:5:6:7:8 1:2::7:8 1 2\r\n"), 41, 1, 0, AF_INET6,
	    "0:2:3:4:5:6:7:8", 1, "1:2::7:8", 2, 0 },
	/* What the builder sends for mixed families stays IPv6. */
	{ B("PROXY TCP6 ::ffff:c000:201 2001:db8::1 1 2\r\n"), 44, 1, 0,
	    AF_INET6, "::ffff:192.0.2.1", 1, "2001:db8::1", 2, 0 },
	/* UNKNOWN: the short form, or anything up to the CRLF. */
	{ B("PROXY UNKNOWN\r\n"), 15, 1, 1, AF_UNSPEC, NULL, 0, NULL, 0, 0 },
	{ B("PROXY UNKNOWN\r\nSSH-2.0-x\r\n"), 15, 1, 1, AF_UNSPEC, NULL, 0,
	    NULL, 0, 0 },
	{ B(UNKNOWN_MAX "\r\n"), 107, 1, 1, AF_UNSPEC, NULL, 0, NULL, 0, 0 },
	{ B("PROXY UNKNOWN any  thing\t\x01\r\n"), 28, 1, 1, AF_UNSPEC, NULL, 0,
	    NULL, 0, 0 },
	/* v2. */
	{ B(SIG "\x21\x11\x00\x0C"
	        "\xC0\xA8\x00\x01\xC0\xA8\x00\x0B"
	        "\xDC\x04\x01\xBB"),
	    28, 2, 0, AF_INET, "192.168.0.1", 56324, "192.168.0.11", 443, 0 },
	{ B(SIG "\x21\x21\x00\x24"
	        "\x20\x01\x0D\xB8\x00\x00\x00\x00"
	        "\x00\x00\x00\x00\x00\x00\x00\x01"
	        "\x20\x01\x0D\xB8\x00\x00\x00\x00"
	        "\x00\x00\x00\x00\x00\x00\x00\x02"
	        "\x04\xD2\x00\x50"
	        "data"),
	    52, 2, 0, AF_INET6, "2001:db8::1", 1234, "2001:db8::2", 80, 0 },
	/* TLVs after the addresses are counted, not read. */
	{ B(SIG "\x21\x11\x00\x11"
	        "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	        "\x00\x01\x00\x02"
	        "\x04\x00\x02\x00\x00"),
	    33, 2, 0, AF_INET, "10.0.0.1", 1, "10.0.0.2", 2, 5 },
	/* LOCAL: the family is ignored, the block skipped. */
	{ B(SIG "\x20\x00\x00\x00"), 16, 2, 1, AF_UNSPEC, NULL, 0, NULL, 0, 0 },
	{ B(SIG "\x20\x11\x00\x0C"
	        "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	        "\x00\x01\x00\x02"
	        "more"),
	    28, 2, 1, AF_UNSPEC, NULL, 0, NULL, 0, 12 },
	{ B(SIG "\x20\x31\x00\x00"), 16, 2, 1, AF_UNSPEC, NULL, 0, NULL, 0, 0 },
};

START_TEST(test_parse_ok)
{
	const struct parse_ok *t = &parse_ok_cases[_i];
	struct proxyhdr h;
	size_t hlen = 12345;

	memset(&h, 0xa5, sizeof(h));
	ck_assert_int_eq(proxyhdr_parse((const unsigned char *)t->in, t->inlen,
	                     &h, &hlen),
	    0);
	ck_assert_uint_eq(hlen, t->hlen);
	ck_assert_int_eq(h.version, t->version);
	ck_assert_int_eq(h.local, t->local);
	ck_assert_int_eq(h.family, t->family);
	ck_assert_uint_eq(h.tlv_len, t->tlv_len);
	if (t->src != NULL) {
		check_addr(&h.src, t->src, t->sport);
		check_addr(&h.dst, t->dst, t->dport);
	}
}
END_TEST

/* Every proper prefix of a valid header is PROXYHDR_INCOMPLETE. */
START_TEST(test_parse_ok_prefixes)
{
	const struct parse_ok *t = &parse_ok_cases[_i];
	struct proxyhdr h;
	size_t i, hlen;

	for (i = 0; i < t->hlen; i++) {
		hlen = 12345;
		ck_assert_msg(proxyhdr_parse((const unsigned char *)t->in, i,
		                  &h, &hlen) == PROXYHDR_INCOMPLETE,
		    "case %d: prefix of %zu bytes", _i, i);
		ck_assert_uint_eq(hlen, 0);
	}
}
END_TEST

/* Parser: valid starts that need more bytes. */

struct parse_more {
	const char *in;
	size_t inlen;
};

static const struct parse_more parse_more_cases[] = {
	{ B("") },
	{ B("P") },
	{ B("PROXY") },
	{ B("PROXY ") },
	{ B("PROXY TCP") },
	{ B("PROXY UNK") },
	{ B("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443") },
	{ B("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r") },
	{ B("PROXY TCP4 192.168.0.1 192.168.0.11 6553") },
	{ B("PROXY TCP4 1.2.3.") },
	{ B("PROXY TCP6 :") },
	{ B("PROXY TCP6 ::") },
	{ B("PROXY TCP6 1:2:3:4:5:6:7:") },
	{ B("PROXY TCP6 1:2:3:4:5:6:7:8") },
	{ B("PROXY UNKNOWN junk") },
	{ B("PROXY UNKNOWN\r") },
	/* The longest line that can still get its CRLF in 107 bytes. */
	{ B(UNKNOWN_MAX) },
	{ B(UNKNOWN_MAX "\r") },
	/* v2: fewer than 16 bytes that match so far, then the block. */
	{ B("\r") },
	{ B("\r\n\r\n\x00") },
	{ B(SIG) },
	{ B(SIG "\x21") },
	{ B(SIG "\x21\x11") },
	{ B(SIG "\x21\x11\x00") },
	{ B(SIG "\x21\x11\x00\x0C") },
	{ B(SIG
	    "\x21\x11\x00\x0C\xC0\xA8\x00\x01\xC0\xA8\x00\x0B\xDC\x04\x01") },
	{ B(SIG "\x20\x00\xFF\xFF") },
};

START_TEST(test_parse_more)
{
	const struct parse_more *t = &parse_more_cases[_i];
	struct proxyhdr h;
	size_t hlen = 12345;

	ck_assert_int_eq(proxyhdr_parse((const unsigned char *)t->in, t->inlen,
	                     &h, &hlen),
	    PROXYHDR_INCOMPLETE);
	ck_assert_uint_eq(hlen, 0);
}
END_TEST

/* Parser: rejections, whole headers or starts that cannot become one. */

struct parse_bad {
	const char *name;
	const char *in;
	size_t inlen;
};

static const struct parse_bad parse_bad_cases[] = {
	{ "not PROXY", B("GET / HTTP/1.1\r\n") },
	{ "lowercase proxy", B("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n") },
	{ "lowercase tcp4", B("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n") },
	{ "TCP5", B("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n") },
	{ "UNKNOWNX", B("PROXY UNKNOWNX\r\n") },
	{ "no space after PROXY", B("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n") },
	{ "double space", B("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n") },
	{ "double space addr", B("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n") },
	{ "double space port", B("PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n") },
	{ "tab", B("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n") },
	{ "trailing space", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n") },
	{ "extra field", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n") },
	{ "missing port", B("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n") },
	{ "missing all", B("PROXY TCP4\r\n") },
	{ "bare PROXY", B("PROXY\r\n") },
	{ "PROXY space", B("PROXY \r\n") },
	{ "TCP4 with IPv6", B("PROXY TCP4 ::1 ::1 1 2\r\n") },
	{ "TCP4 with IPv6 dst", B("PROXY TCP4 1.2.3.4 ::1 1 2\r\n") },
	{ "TCP6 with IPv4", B("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n") },
	{ "TCP6 dotted tail", B("PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n") },
	{ "port 65536", B("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n") },
	{ "dport 65536", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n") },
	{ "port 99999", B("PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n") },
	{ "port 080", B("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n") },
	{ "port 00", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n") },
	{ "port +1", B("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n") },
	{ "port -1", B("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n") },
	{ "port 0x10", B("PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n") },
	{ "octet 256", B("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n") },
	{ "octet 010", B("PROXY TCP4 010.2.3.4 5.6.7.8 1 2\r\n") },
	{ "octet 00", B("PROXY TCP4 1.2.00.4 5.6.7.8 1 2\r\n") },
	{ "three octets", B("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n") },
	{ "five octets", B("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n") },
	{ "empty octet", B("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n") },
	{ "trailing dot", B("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n") },
	{ "v6 :::", B("PROXY TCP6 :::1 ::1 1 2\r\n") },
	{ "v6 two ::", B("PROXY TCP6 1::2::3 ::1 1 2\r\n") },
	{ "v6 nine groups", B("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n") },
	{ "v6 seven groups", B("PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n") },
	{ "v6 eight and ::", B("PROXY TCP6 1:2:3:4:5:6:7:8:: ::1 1 2\r\n") },
	{ "v6 :: and eight", B("PROXY TCP6 1::3:4:5:6:7:8:9 ::1 1 2\r\n") },
	{ "v6 five digits", B("PROXY TCP6 12345::1 ::1 1 2\r\n") },
	{ "v6 lone colon", B("PROXY TCP6 :1:2:3:4:5:6:7 ::1 1 2\r\n") },
	{ "v6 trailing colon", B("PROXY TCP6 1::2: ::1 1 2\r\n") },
	{ "v6 zone", B("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n") },
	{ "v6 brackets", B("PROXY TCP6 [::1] ::1 1 2\r\n") },
	{ "bare LF", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n") },
	{ "bare CR", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n") },
	{ "CR CR LF", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n") },
	{ "LF in UNKNOWN", B("PROXY UNKNOWN a\nb\r\n") },
	{ "LF CR", B("PROXY UNKNOWN\n\r") },
	/* Spec 2.1: the CRLF must come within 107 bytes. */
	{ "missing CRLF at 107", B(UNKNOWN_MAX "xx") },
	{ "no room for CRLF at 106", B(UNKNOWN_MAX "x") },
	{ "108-byte line", B(UNKNOWN_MAX "x\r\n") },
	{ "CR at 107", B(UNKNOWN_MAX "x\r") },
	/* Starts that cannot become a valid line. */
	{ "prefix double space", B("PROXY  ") },
	{ "prefix lowercase", B("PROX y") },
	{ "prefix port 65536", B("PROXY TCP4 1.2.3.4 5.6.7.8 65536") },
	{ "prefix port 080", B("PROXY TCP4 1.2.3.4 5.6.7.8 08") },
	{ "prefix extra field", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ") },
	{ "prefix octet", B("PROXY TCP4 1.2.3.4444") },
	{ "prefix TCP4 with v6", B("PROXY TCP4 ::") },
	{ "prefix v6 :::", B("PROXY TCP6 :::") },
	/* v2. */
	{ "bad signature",
	    B("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B"
	      "\x21\x11\x00\x0C"
	      "\x0A\x00\x00\x01\x0A\x00\x00\x02\x00\x01\x00\x02") },
	{ "bad signature prefix", B("\x0D\x0A\x0D\x0A\x01") },
	{ "bad signature start", B("\x0D\x0D") },
	{ "version 1",
	    B(SIG "\x11\x11\x00\x0C"
	          "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	          "\x00\x01\x00\x02") },
	{ "version 3",
	    B(SIG "\x31\x11\x00\x0C"
	          "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	          "\x00\x01\x00\x02") },
	{ "version 0", B(SIG "\x01") },
	{ "unknown command",
	    B(SIG "\x22\x11\x00\x0C"
	          "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	          "\x00\x01\x00\x02") },
	{ "command 15", B(SIG "\x2F") },
	{ "family 4", B(SIG "\x21\x41\x00\x0C") },
	{ "transport 3", B(SIG "\x21\x13\x00\x0C") },
	{ "LOCAL family 4", B(SIG "\x20\x40\x00\x00") },
	{ "PROXY UNSPEC", B(SIG "\x21\x00\x00\x00") },
	{ "PROXY UDP4",
	    B(SIG "\x21\x12\x00\x0C"
	          "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	          "\x00\x01\x00\x02") },
	{ "PROXY UNIX", B(SIG "\x21\x31\x00\xD8") },
	{ "length shorter than TCP4 addresses",
	    B(SIG "\x21\x11\x00\x0B"
	          "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	          "\x00\x01\x00") },
	{ "length zero for TCP4", B(SIG "\x21\x11\x00\x00") },
	{ "length shorter than TCP6 addresses",
	    B(SIG "\x21\x21\x00\x0C"
	          "\x0A\x00\x00\x01\x0A\x00\x00\x02"
	          "\x00\x01\x00\x02") },
};

START_TEST(test_parse_bad)
{
	const struct parse_bad *t = &parse_bad_cases[_i];
	struct proxyhdr h;
	size_t hlen = 12345;

	ck_assert_msg(proxyhdr_parse((const unsigned char *)t->in, t->inlen, &h,
	                  &hlen) == PORTHOLE_ERR_INVALID_FORMAT,
	    "%s: not rejected", t->name);
	ck_assert_uint_eq(hlen, 0);
}
END_TEST

START_TEST(test_parse_args)
{
	struct proxyhdr h;
	size_t hlen;
	const unsigned char *in = (const unsigned char *)"PROXY UNKNOWN\r\n";

	ck_assert_int_eq(proxyhdr_parse(NULL, 0, &h, &hlen),
	    PROXYHDR_INCOMPLETE);
	ck_assert_int_eq(proxyhdr_parse(NULL, 1, &h, &hlen),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_parse(in, 15, NULL, &hlen),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(proxyhdr_parse(in, 15, &h, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}
END_TEST

/* Round trip: random addresses and ports through both builders. */

/* How an endpoint is given: IPv4, IPv6, or IPv4-mapped IPv6. */
enum kind { KIND_V4, KIND_V6, KIND_MAPPED, KIND_COUNT };

#define ROUNDS 300

/* xorshift64: reproducible, so a failing round can be replayed. */
static uint64_t
rnd(uint64_t *xp)
{
	*xp ^= *xp << 13;
	*xp ^= *xp >> 7;
	*xp ^= *xp << 17;
	return *xp;
}

/*
 * Make a random endpoint of kind <kind> in *ss and the 16 bytes it must
 * come back as if the header is TCP6 in want6 (mapped for IPv4).
 */
static void
rnd_addr(uint64_t *xp, enum kind kind, struct sockaddr_storage *ss,
    unsigned char want6[16])
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint64_t r;
	int i;

	memset(ss, 0, sizeof(*ss));
	memset(want6, 0, 16);
	for (i = 0; i < 16; i += 2) {
		r = rnd(xp);
		/* Zero a third of the groups, so "::" gets exercised. */
		if (r % 3 != 0) {
			want6[i] = (unsigned char)(r >> 8);
			want6[i + 1] = (unsigned char)(r >> 16);
		}
	}
	if (kind != KIND_V6) {
		memset(want6, 0, 10);
		want6[10] = want6[11] = 0xff;
	} else if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)want6))
		want6[0] = 0x20;
	r = rnd(xp);
	if (kind == KIND_V4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)r);
		memcpy(&sin->sin_addr, want6 + 12, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)r);
		memcpy(&sin6->sin6_addr, want6, 16);
	}
}

/* Check a parsed endpoint against what was sent. */
static void
check_endpoint(const struct sockaddr_storage *got, int family,
    const unsigned char want6[16], const struct sockaddr_storage *sent)
{
	const struct sockaddr_in *gin = (const struct sockaddr_in *)got;
	const struct sockaddr_in6 *gin6 = (const struct sockaddr_in6 *)got;
	in_port_t port;

	port = sent->ss_family == AF_INET
	    ? ((const struct sockaddr_in *)sent)->sin_port
	    : ((const struct sockaddr_in6 *)sent)->sin6_port;
	ck_assert_int_eq(got->ss_family, family);
	if (family == AF_INET) {
		ck_assert_mem_eq(&gin->sin_addr, want6 + 12, 4);
		ck_assert_uint_eq(gin->sin_port, port);
	} else {
		ck_assert_mem_eq(&gin6->sin6_addr, want6, 16);
		ck_assert_uint_eq(gin6->sin6_port, port);
	}
}

/* Parse a built header, then every prefix of it, then it with a tail. */
static void
check_round(const unsigned char *hdr, size_t n, int version, int family,
    const unsigned char *s6, const struct sockaddr_storage *src,
    const unsigned char *d6, const struct sockaddr_storage *dst)
{
	unsigned char buf[PROXYHDR_V1_MAX + 8];
	struct proxyhdr h;
	size_t i, hlen;

	memcpy(buf, hdr, n);
	memcpy(buf + n, "\r\nPROXY", 7);
	ck_assert_int_eq(proxyhdr_parse(buf, n + 7, &h, &hlen), 0);
	ck_assert_uint_eq(hlen, n);
	ck_assert_int_eq(h.version, version);
	ck_assert_int_eq(h.local, 0);
	ck_assert_int_eq(h.family, family);
	ck_assert_uint_eq(h.tlv_len, 0);
	check_endpoint(&h.src, family, s6, src);
	check_endpoint(&h.dst, family, d6, dst);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(proxyhdr_parse(buf, i, &h, &hlen),
		    PROXYHDR_INCOMPLETE);
}

START_TEST(test_roundtrip)
{
	enum kind sk = (enum kind)(_i / KIND_COUNT);
	enum kind dk = (enum kind)(_i % KIND_COUNT);
	struct sockaddr_storage src, dst;
	unsigned char s6[16], d6[16], v2[PROXYHDR_V2_MAX];
	char v1[PROXYHDR_V1_MAX + 1];
	uint64_t x = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	int round, family, n;

	/* IPv4 on both ends (mapped or not) is TCP4, anything else TCP6. */
	family = sk != KIND_V6 && dk != KIND_V6 ? AF_INET : AF_INET6;
	for (round = 0; round < ROUNDS; round++) {
		rnd_addr(&x, sk, &src, s6);
		rnd_addr(&x, dk, &dst, d6);
		n = proxyhdr_v1(v1, sizeof(v1), &src, &dst);
		ck_assert_int_gt(n, 0);
		ck_assert_int_le(n, PROXYHDR_V1_MAX);
		ck_assert_uint_eq(strlen(v1), (size_t)n);
		check_round((unsigned char *)v1, (size_t)n, 1, family, s6, &src,
		    d6, &dst);
		n = proxyhdr_v2(v2, sizeof(v2), &src, &dst);
		ck_assert_int_eq(n, family == AF_INET ? 28 : 52);
		check_round(v2, (size_t)n, 2, family, s6, &src, d6, &dst);
	}
}
END_TEST

/* Mutated headers: any answer, but a sane one and no memory errors. */
START_TEST(test_mutations)
{
	struct sockaddr_storage src, dst;
	unsigned char s6[16], d6[16], buf[PROXYHDR_V1_MAX + 1];
	struct proxyhdr h;
	uint64_t x = 0x0123456789abcdefULL;
	size_t n, hlen;
	int i, r;

	for (i = 0; i < 20000; i++) {
		rnd_addr(&x, (enum kind)(rnd(&x) % KIND_COUNT), &src, s6);
		rnd_addr(&x, (enum kind)(rnd(&x) % KIND_COUNT), &dst, d6);
		if (i % 2 == 0)
			r = proxyhdr_v1((char *)buf, sizeof(buf), &src, &dst);
		else
			r = proxyhdr_v2(buf, sizeof(buf), &src, &dst);
		ck_assert_int_gt(r, 0);
		n = (size_t)r;
		buf[rnd(&x) % n] = (unsigned char)rnd(&x);
		if (i % 3 == 0)
			buf[rnd(&x) % n] = (unsigned char)rnd(&x);
		n = (size_t)rnd(&x) % (n + 1);
		r = proxyhdr_parse(buf, n, &h, &hlen);
		ck_assert(r == 0 || r == PROXYHDR_INCOMPLETE ||
		    r == PORTHOLE_ERR_INVALID_FORMAT);
		if (r == 0)
			ck_assert(hlen > 0 && hlen <= n);
		else
			ck_assert_uint_eq(hlen, 0);
	}
}
END_TEST

Suite *
proxyhdr_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("proxyhdr");

	tc = tcase_create("build");
	tcase_add_loop_test(tc, test_build_v1, 0, NELEM(build_cases));
	tcase_add_loop_test(tc, test_build_v2, 0, NELEM(build_cases));
	tcase_add_loop_test(tc, test_build_parses, 0, NELEM(build_cases));
	tcase_add_test(tc, test_build_short_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_ok, 0, NELEM(parse_ok_cases));
	tcase_add_loop_test(tc, test_parse_ok_prefixes, 0,
	    NELEM(parse_ok_cases));
	tcase_add_loop_test(tc, test_parse_more, 0, NELEM(parse_more_cases));
	tcase_add_loop_test(tc, test_parse_bad, 0, NELEM(parse_bad_cases));
	tcase_add_test(tc, test_parse_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_add_loop_test(tc, test_roundtrip, 0, KIND_COUNT * KIND_COUNT);
	tcase_add_test(tc, test_mutations);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(proxyhdr_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
