/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "acl.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "err.h"
#include "log.h"

Suite *acl_suite(void);

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Fill <ss> with numeric address <ip> and port 4242: an IPv4 address is
 * AF_INET, anything with a ':' AF_INET6 (so "::ffff:10.1.2.3" is the
 * IPv4-mapped form a dual-stack socket reports).
 */
static const struct sockaddr *
mk_sa(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4242);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4242);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

/* Parse: valid inputs and their canonical text. */

struct parse_ok {
	const char *in;
	int family;
	int prefix;
	const char *canon;
};

static const struct parse_ok parse_ok_cases[] = {
	{ "10.0.0.0/8", AF_INET, 8, "10.0.0.0/8" },
	{ "0.0.0.0/0", AF_INET, 0, "0.0.0.0/0" },
	{ "192.0.2.7/32", AF_INET, 32, "192.0.2.7/32" },
	{ "192.0.2.7", AF_INET, 32, "192.0.2.7/32" },
	{ "192.0.2.0/24", AF_INET, 24, "192.0.2.0/24" },
	{ "198.51.100.128/25", AF_INET, 25, "198.51.100.128/25" },
	{ "172.16.0.0/12", AF_INET, 12, "172.16.0.0/12" },
	{ "255.255.255.255/32", AF_INET, 32, "255.255.255.255/32" },
	{ "2001:db8::/32", AF_INET6, 32, "2001:db8::/32" },
	{ "2001:DB8::/32", AF_INET6, 32, "2001:db8::/32" },
	{ "2001:0db8:0000:0000:0000:0000:0000:0000/32", AF_INET6, 32,
	    "2001:db8::/32" },
	{ "::/0", AF_INET6, 0, "::/0" },
	{ "::1", AF_INET6, 128, "::1/128" },
	{ "::1/128", AF_INET6, 128, "::1/128" },
	{ "fe80::/10", AF_INET6, 10, "fe80::/10" },
	{ "2001:db8:0:0:1:0:0:1", AF_INET6, 128, "2001:db8::1:0:0:1/128" },
	{ "::ffff:0:0/96", AF_INET6, 96, "::ffff:0.0.0.0/96" },
	{ "::ffff:10.0.0.0/104", AF_INET6, 104, "::ffff:10.0.0.0/104" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", AF_INET6, 128,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
};

START_TEST(test_parse_ok)
{
	const struct parse_ok *t = &parse_ok_cases[_i];
	struct acl_cidr c;
	char errbuf[128], buf[ACL_CIDR_STRLEN];

	memset(&c, 0xa5, sizeof(c));
	memcpy(errbuf, "junk", 5);
	ck_assert_msg(acl_cidr_parse(t->in, &c, errbuf, sizeof(errbuf)) == 0,
	    "%s: %s", t->in, errbuf);
	ck_assert_str_eq(errbuf, "");
	ck_assert_int_eq(c.family, t->family);
	ck_assert_int_eq(c.prefix, t->prefix);
	ck_assert_str_eq(acl_cidr_format(&c, buf, sizeof(buf)), t->canon);
}
END_TEST

/* Parse: invalid inputs and a piece of the reason each must give. */

struct parse_bad {
	const char *in;
	const char *reason;
};

static const struct parse_bad parse_bad_cases[] = {
	{ "", "empty" },
	{ "/8", "missing address" },
	{ "10.0.0.0/", "missing prefix length" },
	{ "10.0.0.0/33", "0-32" },
	{ "2001:db8::/129", "0-128" },
	{ "10.0.0.0/08", "leading zero" },
	{ "10.0.0.0/00", "leading zero" },
	{ "::/000", "leading zero" },
	{ "10.0.0.0/+8", "number 0-32" },
	{ "10.0.0.0/-8", "number 0-32" },
	{ "10.0.0.0/8a", "number 0-32" },
	{ "10.0.0.0/0x8", "number 0-32" },
	{ "10.0.0.0/8/8", "number 0-32" },
	{ "10.0.0.0/99999999999999999999", "0-32" },
	{ "::/1280", "0-128" },
	{ "10.0.0.0 /8", "spaces" },
	{ "10.0.0.0/ 8", "spaces" },
	{ " 10.0.0.0/8", "spaces" },
	{ "10.0.0.0/8 ", "spaces" },
	{ "10.0.0.0\t/8", "spaces" },
	{ "10.0.0/8", "not an IPv4 address" },
	{ "10.0.0.256/32", "not an IPv4 address" },
	{ "010.0.0.0/8", "not an IPv4 address" },
	{ "0x0a.0.0.0/8", "not an IPv4 address" },
	{ "10.0.0.0.0/8", "not an IPv4 address" },
	{ "example.com/8", "not an IPv4 address" },
	{ "1:2:3:4:5:6:7:8:9/64", "not an IPv6 address" },
	{ "2001:db8:::/48", "not an IPv6 address" },
	{ "fe80::1%eth0/128", "not an IPv6 address" },
	{ "[2001:db8::]/32", "not an IPv6 address" },
	{ "2001:db8::g/128", "not an IPv6 address" },
	{ "0123456789012345678901234567890123456789012345678901234567890/8",
	    "not an IPv4 or IPv6 address" },
	{ "10.0.0.1/8",
	    "10.0.0.1/8: host bits are set; did you mean "
	    "10.0.0.0/8?" },
	{ "192.0.2.1/24", "did you mean 192.0.2.0/24?" },
	{ "198.51.100.200/25", "did you mean 198.51.100.128/25?" },
	{ "10.0.0.1/0", "did you mean 0.0.0.0/0?" },
	{ "2001:db8::1/32", "did you mean 2001:db8::/32?" },
	{ "::1/0", "did you mean ::/0?" },
	{ "2001:db8:c000::/33", "did you mean 2001:db8:8000::/33?" },
	/* Untrusted input is escaped in the reason. */
	{ "10.0.0.0/8\033[2J", "\\033[2J" },
};

START_TEST(test_parse_bad)
{
	const struct parse_bad *t = &parse_bad_cases[_i];
	struct acl_cidr c;
	char errbuf[128];

	memset(&c, 0xa5, sizeof(c));
	ck_assert_int_eq(acl_cidr_parse(t->in, &c, errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_msg(strstr(errbuf, t->reason) != NULL,
	    "\"%s\": reason \"%s\" lacks \"%s\"", t->in, errbuf, t->reason);
	ck_assert_ptr_null(strchr(errbuf, '\n'));
	/* The output is left alone on failure. */
	ck_assert_int_eq(c.prefix, (int)0xa5a5a5a5);
}
END_TEST

START_TEST(test_parse_args)
{
	struct acl_cidr c;
	char errbuf[8];

	ck_assert_int_eq(acl_cidr_parse(NULL, &c, NULL, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(acl_cidr_parse("10.0.0.0/8", NULL, NULL, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	/* The reason is optional and clipped to the buffer. */
	ck_assert_int_eq(acl_cidr_parse("10.0.0.1/8", &c, NULL, 0),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(acl_cidr_parse("10.0.0.1/8", &c, errbuf,
	                     sizeof(errbuf)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(errbuf, "10.0.0.");
	ck_assert_int_eq(acl_cidr_parse("10.0.0.0/8", &c, NULL, 0), 0);
}
END_TEST

/* Format: the canonical text parses back to the same rule. */

static const char *const roundtrip_cases[] = { "10.0.0.0/8", "0.0.0.0/0",
	"192.0.2.7/32", "100.64.0.0/10", "2001:db8::/32", "::/0", "::1/128",
	"fe80::/10", "2001:db8:0:1::/64", "2001:db8::1:0:0:1/128",
	"::ffff:0.0.0.0/96", "::ffff:192.0.2.0/120", "ff00::/8",
	"2001:db8:8000::/33" };

START_TEST(test_format_roundtrip)
{
	const char *in = roundtrip_cases[_i];
	struct acl_cidr c, d;
	char buf[ACL_CIDR_STRLEN], buf2[ACL_CIDR_STRLEN];

	ck_assert_int_eq(acl_cidr_parse(in, &c, NULL, 0), 0);
	ck_assert_str_eq(acl_cidr_format(&c, buf, sizeof(buf)), in);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(acl_cidr_parse(buf, &d, NULL, 0), 0);
	ck_assert_int_eq(d.family, c.family);
	ck_assert_int_eq(d.prefix, c.prefix);
	ck_assert_mem_eq(d.addr, c.addr, sizeof(c.addr));
	ck_assert_str_eq(acl_cidr_format(&d, buf2, sizeof(buf2)), buf);
}
END_TEST

START_TEST(test_format_edges)
{
	struct acl_cidr c;
	char buf[ACL_CIDR_STRLEN], small[6];

	/* The longest text fits ACL_CIDR_STRLEN. */
	ck_assert_int_eq(acl_cidr_parse("ffff:ffff:ffff:ffff:ffff:ffff:"
	                                "255.255.255.255",
	                     &c, NULL, 0),
	    0);
	ck_assert_uint_lt(strlen(acl_cidr_format(&c, buf, sizeof(buf))),
	    ACL_CIDR_STRLEN);
	/* A short buffer truncates; the result is always buf. */
	ck_assert_int_eq(acl_cidr_parse("10.0.0.0/8", &c, NULL, 0), 0);
	ck_assert_ptr_eq(acl_cidr_format(&c, small, sizeof(small)), small);
	ck_assert_str_eq(small, "10.0.");
	ck_assert_ptr_eq(acl_cidr_format(&c, small, 0), small);
	/* Not a rule. */
	c.family = AF_UNIX;
	ck_assert_str_eq(acl_cidr_format(&c, buf, sizeof(buf)), "(invalid)");
	c.family = AF_INET;
	c.prefix = 33;
	ck_assert_str_eq(acl_cidr_format(&c, buf, sizeof(buf)), "(invalid)");
	ck_assert_str_eq(acl_cidr_format(NULL, buf, sizeof(buf)), "(invalid)");
}
END_TEST

/* Contains: rule, client address, expected. */

struct contains_case {
	const char *rule;
	const char *client;
	int inside;
};

static const struct contains_case contains_cases[] = {
	/* IPv4. */
	{ "10.0.0.0/8", "10.0.0.0", 1 },
	{ "10.0.0.0/8", "10.255.255.255", 1 },
	{ "10.0.0.0/8", "11.0.0.0", 0 },
	{ "10.0.0.0/8", "9.255.255.255", 0 },
	{ "198.51.100.128/25", "198.51.100.128", 1 },
	{ "198.51.100.128/25", "198.51.100.255", 1 },
	{ "198.51.100.128/25", "198.51.100.127", 0 },
	{ "100.64.0.0/10", "100.127.255.255", 1 },
	{ "100.64.0.0/10", "100.128.0.0", 0 },
	{ "192.0.2.7/32", "192.0.2.7", 1 },
	{ "192.0.2.7/32", "192.0.2.6", 0 },
	{ "192.0.2.7/32", "192.0.2.8", 0 },
	{ "0.0.0.0/0", "0.0.0.0", 1 },
	{ "0.0.0.0/0", "255.255.255.255", 1 },
	{ "0.0.0.0/0", "192.0.2.7", 1 },
	/* IPv6. */
	{ "2001:db8::/32", "2001:db8::1", 1 },
	{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "2001:db8:8000::/33", "2001:db8:8000::1", 1 },
	{ "2001:db8:8000::/33", "2001:db8:7fff::1", 0 },
	{ "fe80::/10", "febf::1", 1 },
	{ "fe80::/10", "fec0::1", 0 },
	{ "::1/128", "::1", 1 },
	{ "::1/128", "::2", 0 },
	{ "::1/128", "::", 0 },
	{ "::/0", "::", 1 },
	{ "::/0", "2001:db8::1", 1 },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	/* IPv4-mapped clients are matched as IPv4 ... */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
	{ "192.0.2.7/32", "::ffff:192.0.2.7", 1 },
	{ "192.0.2.7/32", "::ffff:192.0.2.8", 0 },
	{ "0.0.0.0/0", "::ffff:192.0.2.7", 1 },
	/* ... so an IPv6 rule that is not a mapped range never has them, */
	{ "::/0", "::ffff:192.0.2.7", 0 },
	{ "::/0", "192.0.2.7", 0 },
	{ "::fffe:0:0/95", "::ffff:192.0.2.7", 0 },
	/* and a mapped range is the IPv4 rule it spells, either socket. */
	{ "::ffff:0:0/96", "::ffff:192.0.2.7", 1 },
	{ "::ffff:0:0/96", "192.0.2.7", 1 },
	{ "::ffff:0:0/96", "2001:db8::1", 0 },
	{ "::ffff:0:0/96", "::192.0.2.7", 0 },
	{ "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", 1 },
	{ "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
	{ "::ffff:10.0.0.0/104", "::ffff:11.0.0.1", 0 },
	{ "::ffff:10.0.0.0/104", "11.0.0.1", 0 },
	/* An IPv4 rule never matches a native IPv6 address. */
	{ "0.0.0.0/0", "::", 0 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "0.0.0.0/0", "::1", 0 },
	{ "10.0.0.0/8", "::10.0.0.1", 0 },
	{ "10.0.0.0/8", "64:ff9b::10.0.0.1", 0 },
	{ "10.0.0.0/8", "a00::", 0 },
};

START_TEST(test_contains)
{
	const struct contains_case *t = &contains_cases[_i];
	struct sockaddr_storage ss;
	struct acl_cidr c;

	ck_assert_int_eq(acl_cidr_parse(t->rule, &c, NULL, 0), 0);
	ck_assert_msg(acl_cidr_contains(&c, mk_sa(&ss, t->client)) == t->inside,
	    "%s contains %s: expected %d", t->rule, t->client, t->inside);
}
END_TEST

START_TEST(test_contains_odd)
{
	struct sockaddr_storage ss;
	struct acl_cidr c;

	ck_assert_int_eq(acl_cidr_parse("0.0.0.0/0", &c, NULL, 0), 0);
	ck_assert_int_eq(acl_cidr_contains(&c, NULL), 0);
	ck_assert_int_eq(acl_cidr_contains(NULL, mk_sa(&ss, "10.0.0.1")), 0);
	/* Neither family: nothing contains it. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(acl_cidr_contains(&c, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(acl_cidr_parse("::/0", &c, NULL, 0), 0);
	ck_assert_int_eq(acl_cidr_contains(&c, (struct sockaddr *)&ss), 0);
	/* A rule not made by acl_cidr_parse, out of range: no match. */
	c.prefix = 129;
	ck_assert_int_eq(acl_cidr_contains(&c, mk_sa(&ss, "::1")), 0);
}
END_TEST

/* Layers. */

/* A layer <name> with the comma-separated <allow> and <deny> rules. */
static struct acl *
mk_acl(const char *name, const char *allow, const char *deny)
{
	struct acl *acl;
	char *s, *p, *tok, errbuf[128];
	int i;

	acl = acl_new(name);
	ck_assert_ptr_nonnull(acl);
	for (i = 0; i < 2; i++) {
		if ((i == 0 ? allow : deny) == NULL)
			continue;
		s = strdup(i == 0 ? allow : deny);
		ck_assert_ptr_nonnull(s);
		for (p = s; (tok = strsep(&p, ",")) != NULL;) {
			ck_assert_msg(acl_add(acl, i == 0, tok, errbuf,
			                  sizeof(errbuf)) == 0,
			    "%s: %s", tok, errbuf);
		}
		free(s);
	}
	return acl;
}

START_TEST(test_layer_basics)
{
	struct acl *acl;
	char errbuf[128], name[] = "session";

	acl = acl_new("account alice");
	ck_assert_str_eq(acl_name(acl), "account alice");
	ck_assert_uint_eq(acl_count(acl, 1), 0);
	ck_assert_uint_eq(acl_count(acl, 0), 0);
	ck_assert_int_eq(acl_add(acl, 1, "10.0.0.0/8", errbuf, sizeof(errbuf)),
	    0);
	ck_assert_int_eq(acl_add(acl, 1, "2001:db8::/32", errbuf,
	                     sizeof(errbuf)),
	    0);
	ck_assert_int_eq(acl_add(acl, 0, "10.1.0.0/16", errbuf, sizeof(errbuf)),
	    0);
	ck_assert_uint_eq(acl_count(acl, 1), 2);
	ck_assert_uint_eq(acl_count(acl, 0), 1);
	/* A bad rule is refused with the parser's reason, and not added. */
	ck_assert_int_eq(acl_add(acl, 0, "10.1.0.1/16", errbuf, sizeof(errbuf)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_ptr_nonnull(strstr(errbuf, "did you mean 10.1.0.0/16?"));
	ck_assert_int_eq(acl_add(acl, 1, "nonsense", NULL, 0),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(acl_add(acl, 1, NULL, NULL, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(acl_count(acl, 1), 2);
	ck_assert_uint_eq(acl_count(acl, 0), 1);
	acl_free(acl);
	acl_free(NULL);

	/* The name is a copy. */
	acl = acl_new(name);
	name[0] = 'X';
	ck_assert_str_eq(acl_name(acl), "session");
	acl_free(acl);
	ck_assert_int_eq(acl_add(NULL, 1, "10.0.0.0/8", NULL, 0),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(acl_count(NULL, 1), 0);
}
END_TEST

/* Layer decisions: allow and deny lists, client, decision, rule. */

struct layer_case {
	const char *allow; /* comma-separated, or NULL */
	const char *deny;
	const char *client;
	enum acl_decision decision;
	const char *rule; /* the deciding rule, or NULL */
};

static const struct layer_case layer_cases[] = {
	/* An empty layer admits everyone. */
	{ NULL, NULL, "192.0.2.7", ACL_ALLOW, NULL },
	{ NULL, NULL, "2001:db8::1", ACL_ALLOW, NULL },
	{ NULL, NULL, "::ffff:192.0.2.7", ACL_ALLOW, NULL },
	/* Deny only: the rest get in. */
	{ NULL, "10.0.0.0/8", "10.1.2.3", ACL_DENY_RULE, "10.0.0.0/8" },
	{ NULL, "10.0.0.0/8", "::ffff:10.1.2.3", ACL_DENY_RULE, "10.0.0.0/8" },
	{ NULL, "10.0.0.0/8", "192.0.2.7", ACL_ALLOW, NULL },
	{ NULL, "10.0.0.0/8", "2001:db8::1", ACL_ALLOW, NULL },
	{ NULL, "0.0.0.0/0", "2001:db8::1", ACL_ALLOW, NULL },
	{ NULL, "::ffff:0:0/96", "192.0.2.7", ACL_DENY_RULE,
	    "::ffff:0.0.0.0/96" },
	/* Allow only: one must match; unlisted is refused. */
	{ "10.0.0.0/8", NULL, "10.1.2.3", ACL_ALLOW, "10.0.0.0/8" },
	{ "10.0.0.0/8", NULL, "192.0.2.7", ACL_DENY_UNLISTED, NULL },
	{ "10.0.0.0/8", NULL, "2001:db8::1", ACL_DENY_UNLISTED, NULL },
	{ "10.0.0.0/8,2001:db8::/32", NULL, "2001:db8::1", ACL_ALLOW,
	    "2001:db8::/32" },
	{ "0.0.0.0/0", NULL, "::1", ACL_DENY_UNLISTED, NULL },
	{ "0.0.0.0/0", NULL, "::ffff:127.0.0.1", ACL_ALLOW, "0.0.0.0/0" },
	/* The first allow rule that matches is reported. */
	{ "10.0.0.0/8,10.1.0.0/16", NULL, "10.1.2.3", ACL_ALLOW, "10.0.0.0/8" },
	/* Deny wins over allow, whichever is narrower or added first. */
	{ "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", ACL_DENY_RULE,
	    "10.1.0.0/16" },
	{ "10.0.0.0/8", "10.1.0.0/16", "10.2.0.1", ACL_ALLOW, "10.0.0.0/8" },
	{ "10.1.2.3/32", "10.0.0.0/8", "10.1.2.3", ACL_DENY_RULE,
	    "10.0.0.0/8" },
	{ "192.0.2.7/32", "0.0.0.0/0", "192.0.2.7", ACL_DENY_RULE,
	    "0.0.0.0/0" },
	{ "::/0", "2001:db8::/32", "2001:db8::5", ACL_DENY_RULE,
	    "2001:db8::/32" },
	/* A deny that does not match leaves the allow list to decide. */
	{ "10.0.0.0/8", "2001:db8::/32", "192.0.2.7", ACL_DENY_UNLISTED, NULL },
};

START_TEST(test_layer_decision)
{
	const struct layer_case *t = &layer_cases[_i];
	const struct acl_cidr *rule = (const struct acl_cidr *)&rule;
	struct sockaddr_storage ss;
	struct acl *acl;
	char buf[ACL_CIDR_STRLEN];

	acl = mk_acl("layer", t->allow, t->deny);
	ck_assert_int_eq(acl_check(acl, mk_sa(&ss, t->client), &rule),
	    t->decision);
	if (t->rule == NULL)
		ck_assert_ptr_null(rule);
	else {
		ck_assert_ptr_nonnull(rule);
		ck_assert_str_eq(acl_cidr_format(rule, buf, sizeof(buf)),
		    t->rule);
	}
	/* The rule pointer is optional. */
	ck_assert_int_eq(acl_check(acl, mk_sa(&ss, t->client), NULL),
	    t->decision);
	acl_free(acl);
}
END_TEST

START_TEST(test_layer_null)
{
	const struct acl_cidr *rule = (const struct acl_cidr *)&rule;
	struct sockaddr_storage ss;

	/* A NULL layer is an empty one. */
	ck_assert_int_eq(acl_check(NULL, mk_sa(&ss, "10.0.0.1"), &rule),
	    ACL_ALLOW);
	ck_assert_ptr_null(rule);
}
END_TEST

/* Layers together. */

START_TEST(test_permits_every_layer)
{
	struct sockaddr_storage ss;
	struct acl *layers[3];
	const struct acl *layer = (const struct acl *)&layer;
	enum acl_decision d = ACL_DENY_RULE;

	/* Each layer alone admits 10.1.2.3 and 10.2.0.1 ... */
	layers[0] = mk_acl("account", "10.0.0.0/8", NULL);
	layers[1] = mk_acl("address", NULL, "10.1.0.0/16");
	layers[2] = mk_acl("session", "10.1.0.0/16,10.2.0.0/16", NULL);
	ck_assert_int_eq(acl_check(layers[0], mk_sa(&ss, "10.1.2.3"), NULL),
	    ACL_ALLOW);
	ck_assert_int_eq(acl_check(layers[2], mk_sa(&ss, "10.1.2.3"), NULL),
	    ACL_ALLOW);
	ck_assert_int_eq(acl_permits(layers, 3, mk_sa(&ss, "10.2.0.1"), &layer,
	                     &d),
	    1);
	ck_assert_ptr_null(layer);
	ck_assert_int_eq(d, ACL_ALLOW);
	/* ... but together refuse 10.1.2.3: the address layer denies it. */
	layer = (const struct acl *)&layer;
	ck_assert_int_eq(acl_permits(layers, 3, mk_sa(&ss, "10.1.2.3"), &layer,
	                     &d),
	    0);
	ck_assert_ptr_eq(layer, layers[1]);
	ck_assert_str_eq(acl_name(layer), "address");
	ck_assert_int_eq(d, ACL_DENY_RULE);
	/* An address no allow list has: the first refusing layer tells. */
	ck_assert_int_eq(acl_permits(layers, 3, mk_sa(&ss, "192.0.2.7"), &layer,
	                     &d),
	    0);
	ck_assert_ptr_eq(layer, layers[0]);
	ck_assert_int_eq(d, ACL_DENY_UNLISTED);
	ck_assert_int_eq(acl_permits(layers + 1, 2, mk_sa(&ss, "10.3.0.1"),
	                     &layer, &d),
	    0);
	ck_assert_ptr_eq(layer, layers[2]);
	ck_assert_int_eq(d, ACL_DENY_UNLISTED);
	/* The outputs are optional. */
	ck_assert_int_eq(acl_permits(layers, 3, mk_sa(&ss, "10.1.2.3"), NULL,
	                     NULL),
	    0);
	ck_assert_int_eq(acl_permits(layers, 3, mk_sa(&ss, "10.2.0.1"), NULL,
	                     NULL),
	    1);
	acl_free(layers[0]);
	acl_free(layers[1]);
	acl_free(layers[2]);
}
END_TEST

START_TEST(test_permits_two_layers)
{
	struct sockaddr_storage ss;
	struct acl *layers[2];
	const struct acl *layer = NULL;
	enum acl_decision d = ACL_ALLOW;

	/*
	 * Two allow lists that do not overlap: each alone admits its own
	 * clients, together they admit nobody.
	 */
	layers[0] = mk_acl("account", "10.0.0.0/8", NULL);
	layers[1] = mk_acl("session", "192.0.2.0/24", NULL);
	ck_assert_int_eq(acl_permits(layers, 1, mk_sa(&ss, "10.0.0.1"), NULL,
	                     NULL),
	    1);
	ck_assert_int_eq(acl_permits(layers + 1, 1, mk_sa(&ss, "192.0.2.7"),
	                     NULL, NULL),
	    1);
	ck_assert_int_eq(acl_permits(layers, 2, mk_sa(&ss, "10.0.0.1"), &layer,
	                     &d),
	    0);
	ck_assert_ptr_eq(layer, layers[1]);
	ck_assert_int_eq(d, ACL_DENY_UNLISTED);
	ck_assert_int_eq(acl_permits(layers, 2, mk_sa(&ss, "192.0.2.7"), &layer,
	                     &d),
	    0);
	ck_assert_ptr_eq(layer, layers[0]);
	ck_assert_int_eq(d, ACL_DENY_UNLISTED);
	/* The same with the client on a dual-stack socket. */
	ck_assert_int_eq(acl_permits(layers, 2, mk_sa(&ss, "::ffff:10.0.0.1"),
	                     &layer, &d),
	    0);
	ck_assert_ptr_eq(layer, layers[1]);
	acl_free(layers[0]);
	acl_free(layers[1]);
}
END_TEST

START_TEST(test_permits_empty)
{
	struct sockaddr_storage ss;
	struct acl *layers[3] = { NULL, NULL, NULL };
	const struct acl *layer = (const struct acl *)&layer;
	enum acl_decision d = ACL_DENY_RULE;

	/* No layers, or only NULL and empty ones: admitted. */
	ck_assert_int_eq(acl_permits(NULL, 0, mk_sa(&ss, "192.0.2.7"), &layer,
	                     &d),
	    1);
	ck_assert_ptr_null(layer);
	ck_assert_int_eq(d, ACL_ALLOW);
	layers[1] = acl_new("empty");
	ck_assert_int_eq(acl_permits(layers, 3, mk_sa(&ss, "2001:db8::1"),
	                     &layer, &d),
	    1);
	/* NULL layers are skipped; a later one still decides. */
	layers[2] = mk_acl("session", NULL, "2001:db8::/32");
	ck_assert_int_eq(acl_permits(layers, 3, mk_sa(&ss, "2001:db8::1"),
	                     &layer, &d),
	    0);
	ck_assert_ptr_eq(layer, layers[2]);
	ck_assert_int_eq(d, ACL_DENY_RULE);
	acl_free(layers[1]);
	acl_free(layers[2]);
}
END_TEST

/* The acl suite: parse, format, contains, layer, permits. */
Suite *
acl_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("acl");

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_ok, 0, NELEM(parse_ok_cases));
	tcase_add_loop_test(tc, test_parse_bad, 0, NELEM(parse_bad_cases));
	tcase_add_test(tc, test_parse_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_format_roundtrip, 0,
	    NELEM(roundtrip_cases));
	tcase_add_test(tc, test_format_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("contains");
	tcase_add_loop_test(tc, test_contains, 0, NELEM(contains_cases));
	tcase_add_test(tc, test_contains_odd);
	suite_add_tcase(s, tc);

	tc = tcase_create("layer");
	tcase_add_test(tc, test_layer_basics);
	tcase_add_loop_test(tc, test_layer_decision, 0, NELEM(layer_cases));
	tcase_add_test(tc, test_layer_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("permits");
	tcase_add_test(tc, test_permits_every_layer);
	tcase_add_test(tc, test_permits_two_layers);
	tcase_add_test(tc, test_permits_empty);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the acl suite; fail if any test failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check_acl", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	sr = srunner_create(acl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
