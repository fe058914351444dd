/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * libFuzzer harness for fwdreq_classify(): the address and port of a
 * tcpip-forward request come from any client that passed
 * authentication, and the reason quotes the address back to it and to
 * the log. The input is the port, as 4 little-endian bytes read as a
 * signed int (libssh passes the wire's uint32 on as an int, so negative
 * and huge ports occur), then the address as a C string.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "fuzz.h"
#include "fwdreq.h"

/* A default, a mixed-case name and an IPv6 literal, as PublicHost. */
static const char *const hosts[] = { "tunnel.example", "Other.Example.NET",
	"2001:db8::1" };
#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))

/* Predicate: <s> is a NUL-terminated string of printable ASCII in <len>. */
static int
printable(const char *s, size_t len)
{
	size_t i, n;

	if ((n = strnlen(s, len)) == len)
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* Predicate: <host> is one of the first <n> of <list>, by pointer. */
static int
in_list(const char *host, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (host == list[i])
			return 1;
	}
	return 0;
}

/* Check everything fwdreq_classify promises about <req> and <r>. */
static void
check_req(const char *addr, int port, const char *const *list, size_t n,
    const struct fwdreq *req, int r)
{
	FUZZ_CHECK(req->port == port);
	FUZZ_CHECK(printable(req->safe, sizeof(req->safe)));
	FUZZ_CHECK(printable(req->reason, sizeof(req->reason)));
	/* Refused if and only if no host: the caller relies on it. */
	FUZZ_CHECK((req->kind == FWDREQ_REFUSED) == (req->host == NULL));
	FUZZ_CHECK((r == 0) == (req->host != NULL));
	if (req->kind == FWDREQ_REFUSED) {
		FUZZ_CHECK(req->code != NULL && req->reason[0] != '\0');
		FUZZ_CHECK(fuzz_is_one_line(req->reason, sizeof(req->reason)));
		if (r == PORTHOLE_ERR_INVALID_FORMAT) {
			FUZZ_CHECK(strcmp(req->code, FWDREQ_CODE_INVALID) == 0);
			FUZZ_CHECK(port < 0 || port > 65535 ||
			    strlen(addr) > FWDREQ_ADDR_MAX);
		} else {
			FUZZ_CHECK(r == PORTHOLE_ERR_NOT_FOUND);
			FUZZ_CHECK(
			    strcmp(req->code, FWDREQ_CODE_UNKNOWN_HOST) == 0);
			FUZZ_CHECK(port >= 0 && port <= 65535);
		}
		return;
	}
	FUZZ_CHECK(req->code == NULL && req->reason[0] == '\0');
	FUZZ_CHECK(in_list(req->host, list, n));
	FUZZ_CHECK(strlen(addr) <= FWDREQ_ADDR_MAX);
	/* Only the default host is reached by a name that is not its own. */
	FUZZ_CHECK(req->host == list[0] || strcasecmp(addr, req->host) == 0);
	if (req->kind == FWDREQ_FIXED)
		FUZZ_CHECK(port >= 1 && port <= 65535);
	else
		FUZZ_CHECK(req->kind == FWDREQ_RANDOM && port == 0);
}

/* Predicate: two strings are both NULL or equal. */
static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Predicate: two verdicts on the same request are the same. */
static int
same_req(const struct fwdreq *a, const struct fwdreq *b)
{
	return a->kind == b->kind && a->host == b->host && a->port == b->port &&
	    same_str(a->code, b->code) && strcmp(a->reason, b->reason) == 0 &&
	    strcmp(a->safe, b->safe) == 0;
}

/*
 * Judge the request against all the hosts and against the default
 * alone, each into garbage-filled output: *out must be set in full. A
 * NULL address must be judged as the empty one, and a cancel for what
 * was asked must match it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	struct fwdreq req, one, again;
	uint8_t b[4];
	uint32_t u;
	int32_t port;
	char *addr = NULL;
	int r, r1;

	/* Short inputs are a port padded with zeros and no address. */
	fuzz_bytes(&in, b, sizeof(b));
	u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
	memcpy(&port, &u, sizeof(port));
	addr = fuzz_cstring(data + in.off, size - in.off);

	memset(&req, 0xa5, sizeof(req));
	r = fwdreq_classify(addr, port, hosts, NHOSTS, &req);
	check_req(addr, port, hosts, NHOSTS, &req, r);

	/* Fewer hosts can only turn an accepted request down. */
	memset(&one, 0x5a, sizeof(one));
	r1 = fwdreq_classify(addr, port, hosts, 1, &one);
	check_req(addr, port, hosts, 1, &one, r1);
	FUZZ_CHECK(one.kind == FWDREQ_REFUSED || one.kind == req.kind);
	FUZZ_CHECK(one.host == NULL || one.host == req.host);
	FUZZ_CHECK(strcmp(one.safe, req.safe) == 0);

	/* The same request again, and the NULL address as "". */
	memset(&again, 0, sizeof(again));
	FUZZ_CHECK(fwdreq_classify(addr, port, hosts, NHOSTS, &again) == r);
	FUZZ_CHECK(same_req(&req, &again));
	if (*addr == '\0') {
		FUZZ_CHECK(
		    fwdreq_classify(NULL, port, hosts, NHOSTS, &again) == r);
		FUZZ_CHECK(same_req(&req, &again));
	}

	/* A cancel names the forward by what was asked and the port. */
	FUZZ_CHECK(fwdreq_matches(addr, port, addr, port));
	FUZZ_CHECK(!fwdreq_matches(addr, port, addr, port ^ 1));

	free(addr);
	return 0;
}
