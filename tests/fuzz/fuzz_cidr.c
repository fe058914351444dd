/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * libFuzzer harness for acl_cidr_parse() and the decisions made with
 * what it parses. CIDRs come from clients (tcp --cidr-allow=…) and from
 * portholectl. The input is the CIDR text up to the first NUL; the bytes
 * after it describe a client address: one byte that picks the form
 * (IPv4, IPv6, IPv4-mapped IPv6, or a family the acl does not know) and
 * whether the rule allows or denies, then the address bytes.
 *
 * Containment is checked against a reference written here from acl.h's
 * rules, bit by bit: IPv4-mapped clients and rules inside ::ffff:0:0/96
 * count as IPv4, and the two families never match each other.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "err.h"
#include "fuzz.h"

/* The forms a client address takes, chosen by the selector byte. */
enum client_form {
	CLIENT_INET = 0,
	CLIENT_INET6,
	CLIENT_MAPPED, /* ::ffff:a.b.c.d on an IPv6 socket */
	CLIENT_OTHER, /* AF_UNIX: never inside any rule */
	CLIENT_NFORMS,
};

/* A client address as the reference sees it: family and 16 bytes. */
struct client {
	int family; /* AF_INET, AF_INET6, or AF_UNIX */
	unsigned char addr[16]; /* 4 used for AF_INET */
};

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

/* Bit <i> (0 is the most significant) of <addr>. */
static int
bit_at(const unsigned char *addr, int i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

/* Reference: does rule <c> contain client <cl>? See the top comment. */
static int
ref_contains(const struct acl_cidr *c, const struct client *cl)
{
	unsigned char raddr[16], caddr[16];
	int rfam = c->family, cfam = cl->family, prefix = c->prefix, i;

	memcpy(raddr, c->addr, sizeof(raddr));
	memcpy(caddr, cl->addr, sizeof(caddr));
	if (cfam != AF_INET && cfam != AF_INET6)
		return 0;
	if (cfam == AF_INET6 && memcmp(caddr, v4mapped, 12) == 0) {
		cfam = AF_INET;
		memmove(caddr, caddr + 12, 4);
	}
	if (rfam == AF_INET6 && prefix >= 96 &&
	    memcmp(raddr, v4mapped, 12) == 0) {
		rfam = AF_INET;
		memmove(raddr, raddr + 12, 4);
		prefix -= 96;
	}
	if (rfam != cfam)
		return 0;
	for (i = 0; i < prefix; i++) {
		if (bit_at(raddr, i) != bit_at(caddr, i))
			return 0;
	}
	return 1;
}

/* Make the socket address a listener would report for <cl>. */
static const struct sockaddr *
client_sockaddr(const struct client *cl, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	switch (cl->family) {
	case AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4242);
		memcpy(&sin->sin_addr, cl->addr, 4);
		break;
	case AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4242);
		memcpy(&sin6->sin6_addr, cl->addr, 16);
		break;
	default:
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, cl->addr, sizeof(cl->addr));
		break;
	}
	return (const struct sockaddr *)ss;
}

/* Read a client from the bytes after the CIDR text. */
static void
client_from_input(struct fuzz_in *in, int form, struct client *cl)
{
	memset(cl, 0, sizeof(*cl));
	switch (form) {
	case CLIENT_INET:
		cl->family = AF_INET;
		fuzz_bytes(in, cl->addr, 4);
		break;
	case CLIENT_INET6:
		cl->family = AF_INET6;
		fuzz_bytes(in, cl->addr, 16);
		break;
	case CLIENT_MAPPED:
		cl->family = AF_INET6;
		memcpy(cl->addr, v4mapped, sizeof(v4mapped));
		fuzz_bytes(in, cl->addr + 12, 4);
		break;
	default:
		cl->family = AF_UNIX;
		fuzz_bytes(in, cl->addr, 16);
		break;
	}
}

/*
 * The rule's first or last address (<last>), or one step outside it
 * (<step> -1 before the first, +1 after the last), in the rule's own
 * family. Returns 0, or -1 if the step wraps around the address space.
 */
static int
rule_edge(const struct acl_cidr *c, int last, int step, struct client *cl)
{
	int bits = c->family == AF_INET ? 32 : 128, i, carry;

	memset(cl, 0, sizeof(*cl));
	cl->family = c->family;
	memcpy(cl->addr, c->addr, sizeof(cl->addr));
	for (i = c->prefix; last && i < bits; i++)
		cl->addr[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	if (step == 0)
		return 0;
	/* Add or subtract one, with the carry or borrow moving left. */
	for (i = bits / 8 - 1, carry = 1; i >= 0 && carry; i--) {
		if (step > 0)
			carry = cl->addr[i]++ == 0xff;
		else
			carry = cl->addr[i]-- == 0x00;
	}
	return carry ? -1 : 0;
}

/* Check acl_cidr_contains() and a one-rule acl against the reference. */
static void
check_client(const struct acl *acl, int allow, const struct acl_cidr *c,
    const struct client *cl)
{
	struct sockaddr_storage ss;
	const struct sockaddr *sa;
	const struct acl_cidr *rule = (const struct acl_cidr *)&ss;
	const struct acl *layer = NULL;
	struct acl *layers[2];
	enum acl_decision d, want, pd;
	int in, permitted;

	sa = client_sockaddr(cl, &ss);
	in = ref_contains(c, cl);
	FUZZ_CHECK(acl_cidr_contains(c, sa) == in);

	if (allow)
		want = in ? ACL_ALLOW : ACL_DENY_UNLISTED;
	else
		want = in ? ACL_DENY_RULE : ACL_ALLOW;
	d = acl_check(acl, sa, &rule);
	FUZZ_CHECK(d == want);
	/* The deciding rule is the one rule, exactly when it matched. */
	if (in) {
		FUZZ_CHECK(rule != NULL);
		FUZZ_CHECK(memcmp(rule, c, sizeof(*c)) == 0);
	} else
		FUZZ_CHECK(rule == NULL);
	FUZZ_CHECK(acl_check(acl, sa, NULL) == want);

	/* A NULL layer is skipped; this one decides alone. */
	layers[0] = NULL;
	layers[1] = (struct acl *)acl;
	permitted = acl_permits(layers, 2, sa, &layer, &pd);
	FUZZ_CHECK(permitted == (want == ACL_ALLOW));
	FUZZ_CHECK(pd == want);
	FUZZ_CHECK(layer == (permitted ? NULL : acl));
}

/* Check a parsed CIDR: sane fields, and its text parses back to it. */
static void
check_cidr(const struct acl_cidr *c)
{
	struct acl_cidr back;
	char text[ACL_CIDR_STRLEN], text2[ACL_CIDR_STRLEN], errbuf[256];
	int bits, i;

	FUZZ_CHECK(c->family == AF_INET || c->family == AF_INET6);
	bits = c->family == AF_INET ? 32 : 128;
	FUZZ_CHECK(c->prefix >= 0 && c->prefix <= bits);
	/* No host bits, and nothing past the address. */
	for (i = c->prefix; i < 128; i++)
		FUZZ_CHECK(bit_at(c->addr, i) == 0);

	FUZZ_CHECK(acl_cidr_format(c, text, sizeof(text)) == text);
	FUZZ_CHECK(strlen(text) + 1 < sizeof(text)); /* not truncated */
	memset(&back, 0xa5, sizeof(back));
	FUZZ_CHECK(acl_cidr_parse(text, &back, errbuf, sizeof(errbuf)) == 0);
	FUZZ_CHECK(memcmp(&back, c, sizeof(back)) == 0);
	/* The canonical text is a fixed point. */
	acl_cidr_format(&back, text2, sizeof(text2));
	FUZZ_CHECK(strcmp(text, text2) == 0);
}

/*
 * Parse the CIDR text; on success check it, make a one-rule acl from it
 * and judge the client from the input and the addresses at the rule's
 * edges, all against the reference.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acl_cidr c, poison;
	struct acl *acl = NULL;
	struct fuzz_in in;
	struct client cl;
	char *text = NULL, errbuf[256], adderr[256];
	size_t textlen;
	uint8_t sel;
	int r, allow, last, step;

	text = fuzz_cstring(data, size);
	textlen = strlen(text);
	in.data = data;
	in.size = size;
	in.off = textlen < size ? textlen + 1 : size;
	sel = fuzz_byte(&in);
	allow = (sel & 0x80) == 0;

	memset(errbuf, 'x', sizeof(errbuf));
	memset(&c, 0, sizeof(c));
	memset(&poison, 0x5a, sizeof(poison));
	r = acl_cidr_parse(text, &c, errbuf, sizeof(errbuf));
	FUZZ_CHECK(r == 0 || r == PORTHOLE_ERR_INVALID_FORMAT);

	if (r != 0)
		FUZZ_CHECK(fuzz_is_one_line(errbuf, sizeof(errbuf)));

	acl = acl_new("fuzz");
	memset(adderr, 'x', sizeof(adderr));
	FUZZ_CHECK(acl_add(acl, allow, text, adderr, sizeof(adderr)) == r);
	FUZZ_CHECK(acl_count(acl, allow) == (r == 0 ? 1 : 0));
	FUZZ_CHECK(acl_count(acl, !allow) == 0);
	if (r != 0) {
		FUZZ_CHECK(strcmp(adderr, errbuf) == 0);
		/* A refused CIDR leaves the output alone. */
		c = poison;
		FUZZ_CHECK(acl_cidr_parse(text, &c, NULL, 0) == r);
		FUZZ_CHECK(memcmp(&c, &poison, sizeof(c)) == 0);
		goto out;
	}
	check_cidr(&c);

	client_from_input(&in, sel % CLIENT_NFORMS, &cl);
	check_client(acl, allow, &c, &cl);
	/* The rule's edges, inside and one step outside. */
	for (last = 0; last <= 1; last++) {
		step = last ? 1 : -1;
		rule_edge(&c, last, 0, &cl);
		/*
		 * The network address is always inside. The last one need
		 * not be: ::/80 ends in ::ffff:255.255.255.255, an IPv4
		 * client that no IPv6 rule matches.
		 */
		if (!last)
			FUZZ_CHECK(ref_contains(&c, &cl));
		check_client(acl, allow, &c, &cl);
		if (rule_edge(&c, last, step, &cl) == 0)
			check_client(acl, allow, &c, &cl);
	}
out:
	acl_free(acl);
	free(text);
	return 0;
}
