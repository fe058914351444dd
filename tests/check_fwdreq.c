/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "fwdreq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "err.h"

/* The PublicHost list of the tests: [0] is the default. */
static const char *const hosts[] = { "tunnel.example", "Other.Example.NET",
	"2001:db8::1" };
#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))

/* Requests that go on, and the public host they get (an index). */
static const struct {
	const char *addr;
	int port;
	enum fwdreq_kind kind;
	size_t host;
} ok_cases[] = {
	{ "", 0, FWDREQ_RANDOM, 0 },
	{ NULL, 0, FWDREQ_RANDOM, 0 },
	{ "localhost", 0, FWDREQ_RANDOM, 0 },
	{ "*", 0, FWDREQ_RANDOM, 0 },
	{ "0.0.0.0", 0, FWDREQ_RANDOM, 0 },
	{ "::", 0, FWDREQ_RANDOM, 0 },
	{ "localhost", 5000, FWDREQ_FIXED, 0 },
	{ "", 65535, FWDREQ_FIXED, 0 },
	{ "*", 1, FWDREQ_FIXED, 0 },
	{ "tunnel.example", 0, FWDREQ_RANDOM, 0 },
	{ "TUNNEL.example", 5000, FWDREQ_FIXED, 0 },
	{ "other.example.net", 0, FWDREQ_RANDOM, 1 },
	{ "OTHER.EXAMPLE.NET", 443, FWDREQ_FIXED, 1 },
	{ "2001:DB8::1", 0, FWDREQ_RANDOM, 2 },
};

/* Requests refused, with the code, the return and the exact reason. */
static const struct {
	const char *addr;
	int port;
	int r;
	const char *code;
	const char *reason;
} refused_cases[] = {
	{ "localhost", -1, PORTHOLE_ERR_INVALID_FORMAT, "invalid",
	    "port -1 is out of range" },
	{ "localhost", 65536, PORTHOLE_ERR_INVALID_FORMAT, "invalid",
	    "port 65536 is out of range" },
	{ "", -2147483647 - 1, PORTHOLE_ERR_INVALID_FORMAT, "invalid",
	    "port -2147483648 is out of range" },
	/* The port is judged first, as sshd/fwd.c always did. */
	{ "203.0.113.9", 70000, PORTHOLE_ERR_INVALID_FORMAT, "invalid",
	    "port 70000 is out of range" },
	{ "203.0.113.9", 0, PORTHOLE_ERR_NOT_FOUND, "unknown_host",
	    "'203.0.113.9' is not a host this server serves; ask for "
	    "-R 0:localhost:PORT (a random address on tunnel.example)" },
	{ "localhost.", 22, PORTHOLE_ERR_NOT_FOUND, "unknown_host",
	    "'localhost.' is not a host this server serves; ask for "
	    "-R 0:localhost:PORT (a random address on tunnel.example)" },
	{ "LOCALHOST", 0, PORTHOLE_ERR_NOT_FOUND, "unknown_host",
	    "'LOCALHOST' is not a host this server serves; ask for "
	    "-R 0:localhost:PORT (a random address on tunnel.example)" },
	{ "tunnel.example.", 0, PORTHOLE_ERR_NOT_FOUND, "unknown_host",
	    "'tunnel.example.' is not a host this server serves; ask for "
	    "-R 0:localhost:PORT (a random address on tunnel.example)" },
	{ "::1", 0, PORTHOLE_ERR_NOT_FOUND, "unknown_host",
	    "'::1' is not a host this server serves; ask for "
	    "-R 0:localhost:PORT (a random address on tunnel.example)" },
	/* Control characters, backslash and non-ASCII come out as \ooo. */
	{ "evil\n\x1b[2Jhost\\\xc3\xa9", 0, PORTHOLE_ERR_NOT_FOUND,
	    "unknown_host",
	    "'evil\\012\\033[2Jhost\\134\\303\\251' is not a host this "
	    "server serves; ask for -R 0:localhost:PORT (a random address "
	    "on tunnel.example)" },
};

/* Each accepted request: its kind, host and port, and no reason. */
START_TEST(test_accepts)
{
	struct fwdreq req;
	int r;

	memset(&req, 0xa5, sizeof(req));
	r = fwdreq_classify(ok_cases[_i].addr, ok_cases[_i].port, hosts, NHOSTS,
	    &req);
	ck_assert_msg(r == 0, "'%s' port %d: %d", ok_cases[_i].addr,
	    ok_cases[_i].port, r);
	ck_assert_int_eq(req.kind, ok_cases[_i].kind);
	/* The very pointer from the list, not a copy. */
	ck_assert_ptr_eq(req.host, hosts[ok_cases[_i].host]);
	ck_assert_int_eq(req.port, ok_cases[_i].port);
	ck_assert_ptr_null(req.code);
	ck_assert_str_eq(req.reason, "");
	ck_assert_str_eq(req.safe,
	    ok_cases[_i].addr != NULL ? ok_cases[_i].addr : "");
}
END_TEST

/* Each refused request: its code and today's exact reason. */
START_TEST(test_refuses)
{
	struct fwdreq req;
	int r;

	memset(&req, 0xa5, sizeof(req));
	r = fwdreq_classify(refused_cases[_i].addr, refused_cases[_i].port,
	    hosts, NHOSTS, &req);
	ck_assert_int_eq(r, refused_cases[_i].r);
	ck_assert_int_eq(req.kind, FWDREQ_REFUSED);
	ck_assert_ptr_null(req.host);
	ck_assert_int_eq(req.port, refused_cases[_i].port);
	ck_assert_str_eq(req.code, refused_cases[_i].code);
	ck_assert_str_eq(req.reason, refused_cases[_i].reason);
}
END_TEST

/* Up to FWDREQ_ADDR_MAX bytes are judged; one more is "invalid". */
START_TEST(test_address_length)
{
	char addr[FWDREQ_ADDR_MAX + 2], expect[FWDREQ_REASON_LEN];
	struct fwdreq req;

	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	ck_assert_int_eq(fwdreq_classify(addr, 0, hosts, NHOSTS, &req),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(req.kind, FWDREQ_REFUSED);
	ck_assert_str_eq(req.code, "invalid");
	ck_assert_str_eq(req.reason, "the address is too long");
	/* The copy for the log is clipped to its buffer. */
	ck_assert_uint_eq(strlen(req.safe), FWDREQ_ADDR_MAX);

	/* At the limit it is judged as a host name: an unknown one. */
	addr[FWDREQ_ADDR_MAX] = '\0';
	ck_assert_int_eq(fwdreq_classify(addr, 0, hosts, NHOSTS, &req),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_str_eq(req.code, "unknown_host");
	snprintf(expect, sizeof(expect),
	    "'%s' is not a host this server serves; ask for "
	    "-R 0:localhost:PORT (a random address on %s)",
	    addr, hosts[0]);
	ck_assert_str_eq(req.reason, expect);

	/* Long and out of range: the port is reported. */
	ck_assert_int_eq(fwdreq_classify(addr, -1, hosts, NHOSTS, &req),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(req.reason, "port -1 is out of range");
}
END_TEST

/* An address that escapes to more than the buffer is clipped whole. */
START_TEST(test_sanitize_clips)
{
	char addr[FWDREQ_ADDR_MAX + 1];
	struct fwdreq req;
	size_t i;

	memset(addr, '\n', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	ck_assert_int_eq(fwdreq_classify(addr, 0, hosts, NHOSTS, &req),
	    PORTHOLE_ERR_NOT_FOUND);
	/* Whole \012 escapes only, never a control character. */
	ck_assert_uint_eq(strlen(req.safe) % 4, 0);
	ck_assert_uint_le(strlen(req.safe), FWDREQ_ADDR_MAX);
	for (i = 0; req.reason[i] != '\0'; i++)
		ck_assert_int_ge((unsigned char)req.reason[i], 0x20);
}
END_TEST

/* The first PublicHost is the default one and named in the reason. */
START_TEST(test_default_host)
{
	static const char *const one[] = { "Only.Example" };
	struct fwdreq req;

	ck_assert_int_eq(fwdreq_classify("*", 0, one, 1, &req), 0);
	ck_assert_ptr_eq(req.host, one[0]);
	ck_assert_int_eq(fwdreq_classify("only.example", 8080, one, 1, &req),
	    0);
	ck_assert_ptr_eq(req.host, one[0]);
	ck_assert_int_eq(req.kind, FWDREQ_FIXED);
	ck_assert_int_eq(fwdreq_classify("other.example.net", 0, one, 1, &req),
	    PORTHOLE_ERR_NOT_FOUND);
	ck_assert_str_eq(req.reason,
	    "'other.example.net' is not a host this server serves; ask for "
	    "-R 0:localhost:PORT (a random address on Only.Example)");
}
END_TEST

/* No PublicHost or no output: a caller's bug, refused, not a crash. */
START_TEST(test_bad_arguments)
{
	struct fwdreq req;

	ck_assert_int_eq(fwdreq_classify("localhost", 0, hosts, 0, &req),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(req.kind, FWDREQ_REFUSED);
	ck_assert_ptr_null(req.host);
	ck_assert_str_eq(req.code, "internal");
	ck_assert_str_eq(req.safe, "localhost");
	ck_assert_int_eq(fwdreq_classify("localhost", 0, NULL, 3, &req),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(fwdreq_classify("localhost", 0, hosts, NHOSTS, NULL),
	    PORTHOLE_ERR_INVALID_ARGUMENT);
}
END_TEST

/* fwdreq_public_host alone: NULL is "", no list names nothing. */
START_TEST(test_public_host)
{
	ck_assert_ptr_eq(fwdreq_public_host(NULL, hosts, NHOSTS), hosts[0]);
	ck_assert_ptr_eq(fwdreq_public_host("0.0.0.0", hosts, NHOSTS),
	    hosts[0]);
	ck_assert_ptr_eq(fwdreq_public_host("other.EXAMPLE.net", hosts, NHOSTS),
	    hosts[1]);
	ck_assert_ptr_null(fwdreq_public_host("127.0.0.1", hosts, NHOSTS));
	ck_assert_ptr_null(fwdreq_public_host("localhost", NULL, 0));
	ck_assert_ptr_null(fwdreq_public_host("localhost", hosts, 0));
}
END_TEST

/* A cancel names a forward by its exact address and its bound port. */
START_TEST(test_matches)
{
	ck_assert_int_eq(fwdreq_matches("localhost", 40000, "localhost", 40000),
	    1);
	ck_assert_int_eq(fwdreq_matches("", 40000, NULL, 40000), 1);
	ck_assert_int_eq(fwdreq_matches(NULL, 40000, "", 40000), 1);
	/* Unlike the host lookup, the bind address is matched exactly. */
	ck_assert_int_eq(fwdreq_matches("localhost", 40000, "LOCALHOST", 40000),
	    0);
	ck_assert_int_eq(fwdreq_matches("localhost", 40000, "", 40000), 0);
	ck_assert_int_eq(fwdreq_matches("localhost", 40000, "localhost", 0), 0);
	ck_assert_int_eq(fwdreq_matches("localhost", 40000, "localhost",
	                     40000 + 65536),
	    0);
}
END_TEST

Suite *fwdreq_suite(void);

/* One TCase per function group. */
Suite *
fwdreq_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("fwdreq");

	tc = tcase_create("classify");
	tcase_add_loop_test(tc, test_accepts, 0,
	    sizeof(ok_cases) / sizeof(ok_cases[0]));
	tcase_add_loop_test(tc, test_refuses, 0,
	    sizeof(refused_cases) / sizeof(refused_cases[0]));
	tcase_add_test(tc, test_address_length);
	tcase_add_test(tc, test_sanitize_clips);
	tcase_add_test(tc, test_default_host);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("public_host");
	tcase_add_test(tc, test_public_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("matches");
	tcase_add_test(tc, test_matches);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(fwdreq_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
