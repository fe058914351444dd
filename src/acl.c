/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"

/* The longest address text inet_pton is given, and its NUL. */
#define ACL_ADDR_TEXTLEN INET6_ADDRSTRLEN
/* Untrusted input is shown in reasons escaped and clipped to this. */
#define ACL_SHOWLEN 100

/* ::ffff:0:0/96, where IPv4-mapped IPv6 addresses live. */
static const unsigned char acl_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

struct acl {
	char *name;
	struct acl_cidr *allow;
	size_t nallow;
	struct acl_cidr *deny;
	size_t ndeny;
};

/* An address reduced to what is compared: family, bytes, bit count. */
struct acl_addr {
	int family;
	unsigned char addr[16];
	int bits; /* 32 or 128; for rules, the prefix */
};

/*
 * Write the reason "<input>: <fmt …>" into <errbuf> (may be NULL), the
 * input escaped and clipped since it comes from users and peers.
 */
static void __attribute__((format(printf, 4, 5)))
acl_reason(char *errbuf, size_t errlen, const char *input, const char *fmt, ...)
{
	char shown[ACL_SHOWLEN + 1], msg[256];
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_sanitize(shown, sizeof(shown), input);
	snprintf(errbuf, errlen, "%s: %s", shown, msg);
}

/* The number of address bits of <family>: 32, 128, or 0 if unknown. */
static int
acl_family_bits(int family)
{
	switch (family) {
	case AF_INET:
		return 32;
	case AF_INET6:
		return 128;
	default:
		return 0;
	}
}

/* Clear the bits of <addr> (of <bits> bits) past <prefix>. */
static void
acl_mask(unsigned char *addr, int bits, int prefix)
{
	int i, keep;

	for (i = 0; i < bits / 8; i++) {
		keep = prefix - 8 * i;
		if (keep >= 8)
			continue;
		addr[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

/*
 * Parse prefix length <s> (the text after '/') into *prefixp: decimal
 * digits only, no sign, no leading zero, at most <max>.
 */
static int
acl_parse_prefix(const char *input, const char *s, int max, int *prefixp,
    char *errbuf, size_t errlen)
{
	int v = 0;
	size_t i;

	if (*s == '\0') {
		acl_reason(errbuf, errlen, input,
		    "missing prefix length after '/'");
		return PORTHOLE_ERR_INVALID_FORMAT;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9') {
			acl_reason(errbuf, errlen, input,
			    "prefix length must be a number 0-%d", max);
			return PORTHOLE_ERR_INVALID_FORMAT;
		}
		/* Three digits are enough; more cannot be in range. */
		if (i >= 3) {
			acl_reason(errbuf, errlen, input,
			    "prefix length must be 0-%d", max);
			return PORTHOLE_ERR_INVALID_FORMAT;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (s[0] == '0' && s[1] != '\0') {
		acl_reason(errbuf, errlen, input,
		    "prefix length has a leading zero");
		return PORTHOLE_ERR_INVALID_FORMAT;
	}
	if (v > max) {
		acl_reason(errbuf, errlen, input, "prefix length must be 0-%d",
		    max);
		return PORTHOLE_ERR_INVALID_FORMAT;
	}
	*prefixp = v;
	return 0;
}

/*
 * Parse "ADDR/PREFIX" or a bare ADDR. Strict: the address as inet_pton
 * takes it (no spaces, no zone), the prefix as acl_parse_prefix() does,
 * and no bits set past the prefix, since "10.0.0.1/8" is more likely a
 * mistake than a way of writing 10.0.0.0/8.
 */
int
acl_cidr_parse(const char *s, struct acl_cidr *cp, char *errbuf, size_t errlen)
{
	struct acl_cidr c, net;
	char addr[ACL_ADDR_TEXTLEN], hint[ACL_CIDR_STRLEN];
	const char *slash;
	size_t alen;
	int r = PORTHOLE_ERR_INTERNAL, bits;

	if (errbuf != NULL && errlen > 0)
		*errbuf = '\0';
	if (s == NULL || cp == NULL) {
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "no CIDR given");
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	memset(&c, 0, sizeof(c));
	r = PORTHOLE_ERR_INVALID_FORMAT;
	if (*s == '\0') {
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "empty CIDR");
		goto out;
	}
	if (strpbrk(s, " \t\r\n\v\f") != NULL) {
		acl_reason(errbuf, errlen, s, "spaces are not allowed");
		goto out;
	}
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0) {
		acl_reason(errbuf, errlen, s, "missing address before '/'");
		goto out;
	}
	if (alen >= sizeof(addr)) {
		acl_reason(errbuf, errlen, s, "not an IPv4 or IPv6 address");
		goto out;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	/* inet_pton wants one family; a ':' can only be IPv6. */
	c.family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, addr, c.addr) != 1) {
		acl_reason(errbuf, errlen, s, "not an %s address",
		    c.family == AF_INET ? "IPv4" : "IPv6");
		goto out;
	}
	bits = acl_family_bits(c.family);
	c.prefix = bits;
	if (slash != NULL &&
	    (r = acl_parse_prefix(s, slash + 1, bits, &c.prefix, errbuf,
	         errlen)) != 0)
		goto out;
	r = PORTHOLE_ERR_INVALID_FORMAT;
	net = c;
	acl_mask(net.addr, bits, net.prefix);
	if (memcmp(net.addr, c.addr, sizeof(c.addr)) != 0) {
		acl_reason(errbuf, errlen, s,
		    "host bits are set; did you mean %s?",
		    acl_cidr_format(&net, hint, sizeof(hint)));
		goto out;
	}
	*cp = c;
	r = 0;
out:
	return r;
}

/*
 * Write "ADDR/PREFIX" as inet_ntop writes the address (lower-case hex,
 * longest zero run compressed). Returns buf; a rule that is not one
 * comes out as "(invalid)", and a short buffer truncates.
 */
char *
acl_cidr_format(const struct acl_cidr *c, char *buf, size_t len)
{
	char addr[ACL_ADDR_TEXTLEN];
	int bits;

	if (buf == NULL || len == 0)
		return buf;
	if (c == NULL || (bits = acl_family_bits(c->family)) == 0 ||
	    c->prefix < 0 || c->prefix > bits ||
	    inet_ntop(c->family, c->addr, addr, sizeof(addr)) == NULL) {
		snprintf(buf, len, "(invalid)");
		return buf;
	}
	snprintf(buf, len, "%s/%d", addr, c->prefix);
	return buf;
}

/*
 * Reduce client <sa> to what rules compare: an IPv4-mapped IPv6
 * address becomes the IPv4 address it carries, so a client is judged
 * the same whether it reached an IPv4 or a dual-stack socket.
 */
static int
acl_client_addr(const struct sockaddr *sa, struct acl_addr *ap)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(ap, 0, sizeof(*ap));
	if (sa == NULL)
		return -1;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		ap->family = AF_INET;
		memcpy(ap->addr, &sin->sin_addr, 4);
		ap->bits = 32;
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			ap->family = AF_INET;
			memcpy(ap->addr, sin6->sin6_addr.s6_addr + 12, 4);
			ap->bits = 32;
		} else {
			ap->family = AF_INET6;
			memcpy(ap->addr, sin6->sin6_addr.s6_addr, 16);
			ap->bits = 128;
		}
		return 0;
	default:
		return -1;
	}
}

/*
 * Reduce rule <c> likewise: an IPv6 rule inside ::ffff:0:0/96 is the
 * IPv4 rule it spells (::ffff:10.0.0.0/104 is 10.0.0.0/8), since the
 * clients it names are matched as IPv4. Other IPv6 rules, ::/0 too,
 * stay IPv6 and never match an IPv4 client.
 */
static int
acl_rule_addr(const struct acl_cidr *c, struct acl_addr *ap)
{
	int bits;

	memset(ap, 0, sizeof(*ap));
	if (c == NULL || (bits = acl_family_bits(c->family)) == 0 ||
	    c->prefix < 0 || c->prefix > bits)
		return -1;
	if (c->family == AF_INET6 && c->prefix >= 96 &&
	    memcmp(c->addr, acl_v4mapped, sizeof(acl_v4mapped)) == 0) {
		ap->family = AF_INET;
		memcpy(ap->addr, c->addr + 12, 4);
		ap->bits = c->prefix - 96;
		return 0;
	}
	ap->family = c->family;
	memcpy(ap->addr, c->addr, bits / 8);
	ap->bits = c->prefix;
	return 0;
}

/* Predicate: client <sa> lies inside rule <c> (see acl.h). */
int
acl_cidr_contains(const struct acl_cidr *c, const struct sockaddr *sa)
{
	struct acl_addr rule, client;
	int whole, rest;

	if (acl_rule_addr(c, &rule) != 0 || acl_client_addr(sa, &client) != 0)
		return 0;
	if (rule.family != client.family)
		return 0;
	whole = rule.bits / 8;
	rest = rule.bits % 8;
	if (memcmp(rule.addr, client.addr, whole) != 0)
		return 0;
	if (rest != 0 &&
	    ((rule.addr[whole] ^ client.addr[whole]) &
	        (unsigned char)(0xff << (8 - rest))) != 0)
		return 0;
	return 1;
}

/* A new, empty layer named <name> (copied; NULL is ""). */
struct acl *
acl_new(const char *name)
{
	struct acl *acl;

	acl = xcalloc(1, sizeof(*acl));
	acl->name = xstrdup(name != NULL ? name : "");
	return acl;
}

/* Free <acl> and its rules; NULL is a no-op. */
void
acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	free(acl->name);
	free(acl->allow);
	free(acl->deny);
	free(acl);
}

/* The name of <acl> (borrowed; lives as long as <acl>). */
const char *
acl_name(const struct acl *acl)
{
	return acl != NULL ? acl->name : "";
}

/* Parse <cidr> and append it to the allow (<allow> != 0) or deny rules. */
int
acl_add(struct acl *acl, int allow, const char *cidr, char *errbuf,
    size_t errlen)
{
	struct acl_cidr c, **rulesp;
	size_t *np;
	char text[ACL_CIDR_STRLEN];
	int r = PORTHOLE_ERR_INTERNAL;

	if (acl == NULL) {
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "no acl");
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = acl_cidr_parse(cidr, &c, errbuf, errlen)) != 0)
		goto out;
	rulesp = allow ? &acl->allow : &acl->deny;
	np = allow ? &acl->nallow : &acl->ndeny;
	*rulesp = xreallocarray(*rulesp, *np + 1, sizeof(**rulesp));
	(*rulesp)[(*np)++] = c;
	debug3_f("acl %.100s: %s %s", acl->name, allow ? "allow" : "deny",
	    acl_cidr_format(&c, text, sizeof(text)));
	r = 0;
out:
	return r;
}

/* The number of allow (<allow> != 0) or deny rules of <acl>. */
size_t
acl_count(const struct acl *acl, int allow)
{
	if (acl == NULL)
		return 0;
	return allow ? acl->nallow : acl->ndeny;
}

/* The first of the <n> rules of <rules> that contains <sa>, or NULL. */
static const struct acl_cidr *
acl_match(const struct acl_cidr *rules, size_t n, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (acl_cidr_contains(&rules[i], sa))
			return &rules[i];
	}
	return NULL;
}

/*
 * One layer's decision: a matching deny wins whatever else matches;
 * then, if there are allow rules, one must match. A NULL layer is an
 * empty one. The rule returned is borrowed from <acl>.
 */
enum acl_decision
acl_check(const struct acl *acl, const struct sockaddr *sa,
    const struct acl_cidr **rulep)
{
	const struct acl_cidr *rule = NULL;
	enum acl_decision d;

	if (rulep != NULL)
		*rulep = NULL;
	if (acl == NULL)
		return ACL_ALLOW;
	if ((rule = acl_match(acl->deny, acl->ndeny, sa)) != NULL)
		d = ACL_DENY_RULE;
	else if (acl->nallow == 0)
		d = ACL_ALLOW;
	else if ((rule = acl_match(acl->allow, acl->nallow, sa)) != NULL)
		d = ACL_ALLOW;
	else
		d = ACL_DENY_UNLISTED;
	if (rulep != NULL)
		*rulep = rule;
	return d;
}

/*
 * Admit <sa> only if every layer does; the first layer that refuses,
 * in the order given, is the one reported.
 */
int
acl_permits(struct acl *const *layers, size_t nlayers,
    const struct sockaddr *sa, const struct acl **layerp,
    enum acl_decision *decisionp)
{
	enum acl_decision d;
	size_t i;

	if (layerp != NULL)
		*layerp = NULL;
	if (decisionp != NULL)
		*decisionp = ACL_ALLOW;
	for (i = 0; i < nlayers && layers != NULL; i++) {
		if (layers[i] == NULL)
			continue;
		if ((d = acl_check(layers[i], sa, NULL)) == ACL_ALLOW)
			continue;
		if (layerp != NULL)
			*layerp = layers[i];
		if (decisionp != NULL)
			*decisionp = d;
		return 0;
	}
	return 1;
}
