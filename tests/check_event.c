/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "event.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "id.h"

Suite *event_suite(void);

/* 2026-11-25T12:00:00.000Z in milliseconds since the epoch. */
#define T0 INT64_C(1795608000000)

/* The length of an event id, "ev_" and ID_RANDOM_LEN characters. */
#define EVID_LEN (3 + ID_RANDOM_LEN)

/* Concurrent writers: processes, and events each. */
#define NWRITERS     8
#define PER_WRITER   500
#define WRITER_BATCH 7

/* Each test's temporary directory and the log file in it. */
static char tmpdir[PATH_MAX];
static char logpath[PATH_MAX];
static char rotated[PATH_MAX];

/* A JSON checker, just enough to tell valid RFC 8259 text from not. */
static const char *json_value(const char *p, int depth);

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* A string at <p> (which is at its '"'); the end, or NULL if bad. */
static const char *
json_string(const char *p)
{
	int i;

	if (*p++ != '"')
		return NULL;
	for (;;) {
		if ((unsigned char)*p < 0x20)
			return NULL; /* raw control character, or the end */
		if (*p == '"')
			return p + 1;
		if (*p != '\\') {
			p++;
			continue;
		}
		p++;
		if (strchr("\"\\/bfnrt", *p) != NULL && *p != '\0') {
			p++;
			continue;
		}
		if (*p++ != 'u')
			return NULL;
		for (i = 0; i < 4; i++, p++) {
			if (strchr("0123456789abcdefABCDEF", *p) == NULL ||
			    *p == '\0')
				return NULL;
		}
	}
}

/* A number at <p>; the end, or NULL if bad. */
static const char *
json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
	} else
		return NULL;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

/* An object or array at <p>; the end, or NULL if bad. */
static const char *
json_container(const char *p, int depth)
{
	char close = *p == '{' ? '}' : ']';

	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if ((p = json_string(p)) == NULL)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		if ((p = json_value(p, depth + 1)) == NULL)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = json_ws(p);
	}
}

static const char *
json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = json_ws(p);
	switch (*p) {
	case '{':
	case '[':
		return json_container(p, depth);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		return json_number(p);
	}
}

/* Predicate: <s> is one JSON object and nothing else. */
static int
json_valid_object(const char *s)
{
	const char *p;

	p = json_ws(s);
	if (*p != '{' || (p = json_value(p, 0)) == NULL)
		return 0;
	return *json_ws(p) == '\0';
}

/*
 * Check <ev>'s JSON against <want>, in which "ev_*" stands for the id:
 * the id must be a well-formed event id, and equal to ev->id.
 */
static void
assert_event_json(const struct event *ev, const char *want)
{
	const char *star, *got = ev->json;
	size_t pre;

	ck_assert_ptr_nonnull(got);
	ck_assert_msg(json_valid_object(got), "not JSON: %s", got);
	star = strstr(want, "ev_*");
	ck_assert_ptr_nonnull(star);
	pre = (size_t)(star - want);
	ck_assert_uint_ge(strlen(got), pre + EVID_LEN);
	ck_assert_msg(strncmp(got, want, pre) == 0, "got %s\nwant %s", got,
	    want);
	ck_assert_msg(strncmp(got + pre, ev->id, EVID_LEN) == 0, "id %s in %s",
	    ev->id, got);
	ck_assert_str_eq(got + pre + EVID_LEN, star + 4);
}

/* Fill <sin> with IPv4 <ip>:<port>. */
static const struct sockaddr *
mk_sin(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return (const struct sockaddr *)sin;
}

/* Fill <sin6> with IPv6 <ip>:<port>. */
static const struct sockaddr *
mk_sin6(struct sockaddr_in6 *sin6, const char *ip, uint16_t port)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return (const struct sockaddr *)sin6;
}

/* A connection of 1.5 s ending at T0 + 2 s on an IPv4 endpoint. */
static void
fill_conn(struct event_conn *c, const struct sockaddr *client,
    const struct sockaddr *server)
{
	memset(c, 0, sizeof(*c));
	c->client = client;
	c->server = server;
	c->server_name = "tunnel.example.com";
	c->start_ms = T0 + 500;
	c->end_ms = T0 + 2000;
	c->bytes_in = 1234;
	c->bytes_out = 56789;
	c->endpoint_id = "ep_1";
	c->endpoint_url = "tcp://tunnel.example.com:41234";
	c->allowed = 1;
}

/* The envelope of a connection event at T0 + 2.123 s by ac_1. */
#define ENVELOPE_CONN                                                          \
	"{\"event_id\":\"ev_*\",\"event_type\":\"tcp_connection_closed.v0\","  \
	"\"event_timestamp\":\"2026-11-25T12:00:02.123Z\","                    \
	"\"account_id\":\"ac_1\",\"object\":"

/* The rest of fill_conn()'s object, after the addresses. */
#define CONN_REST                                                              \
	"\"server_name\":\"tunnel.example.com\","                              \
	"\"start_ts\":\"2026-11-25T12:00:00.500Z\","                           \
	"\"end_ts\":\"2026-11-25T12:00:02.000Z\","                             \
	"\"bytes_in\":1234,\"bytes_out\":56789},"                              \
	"\"endpoint\":{\"id\":\"ep_1\","                                       \
	"\"url\":\"tcp://tunnel.example.com:41234\"},"                         \
	"\"ip_policy\":{\"decision\":\"allow\"}}}"

/* Fixture: an empty temporary directory with file names in it. */
static void
setup_tmpdir(void)
{
	const char *base;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	ck_assert_int_lt(snprintf(tmpdir, sizeof(tmpdir),
	                     "%s/check_event.XXXXXX", base),
	    (int)sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_lt(snprintf(logpath, sizeof(logpath), "%s/events.log",
	                     tmpdir),
	    (int)sizeof(logpath));
	ck_assert_int_lt(snprintf(rotated, sizeof(rotated), "%s/events.log.1",
	                     tmpdir),
	    (int)sizeof(rotated));
}

/* Fixture: remove what the tests may have made, and the directory. */
static void
teardown_tmpdir(void)
{
	char path[PATH_MAX];

	unlink(logpath);
	unlink(rotated);
	if (snprintf(path, sizeof(path), "%s/none", tmpdir) < (int)sizeof(path))
		unlink(path);
	rmdir(tmpdir);
}

/* The whole of file <path>, NUL-terminated; the caller frees it. */
static char *
slurp(const char *path, size_t *lenp)
{
	char *s = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	for (;;) {
		if (cap - len < 65536) {
			cap = cap == 0 ? 65536 : cap * 2;
			ck_assert_ptr_nonnull(s = realloc(s, cap + 1));
		}
		ck_assert_int_ge(n = read(fd, s + len, cap - len), 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	s[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return s;
}

/* Events. */

/* The exact text for a fixed IPv4 connection. */
START_TEST(test_conn_exact)
{
	struct sockaddr_in cin, sin;
	struct event_conn c;
	struct event *ev;

	fill_conn(&c, mk_sin(&cin, "192.0.2.7", 50000),
	    mk_sin(&sin, "203.0.113.5", 41234));
	ev = event_conn_closed("ac_1", &c, T0 + 2123);
	ck_assert_ptr_nonnull(ev);
	ck_assert(id_is_valid(ev->id, "ev"));
	ck_assert_str_eq(ev->type, EVENT_CONNECTION_CLOSED);
	ck_assert_int_eq(ev->timestamp_ms, T0 + 2123);
	ck_assert_str_eq(ev->account_id, "ac_1");
	assert_event_json(ev,
	    ENVELOPE_CONN "{\"conn\":{\"client_ip\":\"192.0.2.7\","
	                  "\"client_port\":50000,"
	                  "\"server_ip\":\"203.0.113.5\","
	                  "\"server_port\":41234," CONN_REST);
	ck_assert_ptr_null(strchr(ev->json, '\n'));
	event_free(ev);
}
END_TEST

/* IPv6 addresses are written without brackets. */
START_TEST(test_conn_ipv6)
{
	struct sockaddr_in6 cin6, sin6;
	struct event_conn c;
	struct event *ev;

	fill_conn(&c, mk_sin6(&cin6, "2001:db8::7", 65535),
	    mk_sin6(&sin6, "2001:db8:0:0:1::5", 1));
	ev = event_conn_closed("ac_1", &c, T0 + 2123);
	assert_event_json(ev,
	    ENVELOPE_CONN "{\"conn\":{\"client_ip\":\"2001:db8::7\","
	                  "\"client_port\":65535,"
	                  "\"server_ip\":\"2001:db8::1:0:0:5\","
	                  "\"server_port\":1," CONN_REST);
	event_free(ev);
}
END_TEST

/* IPv4-mapped IPv6 addresses (a dual-stack socket) show as IPv4. */
START_TEST(test_conn_mapped)
{
	struct sockaddr_in6 cin6, sin6;
	struct event_conn c;
	struct event *ev;

	fill_conn(&c, mk_sin6(&cin6, "::ffff:198.51.100.9", 40000),
	    mk_sin6(&sin6, "::ffff:203.0.113.5", 41234));
	ev = event_conn_closed("ac_1", &c, T0 + 2123);
	assert_event_json(ev,
	    ENVELOPE_CONN "{\"conn\":{\"client_ip\":\"198.51.100.9\","
	                  "\"client_port\":40000,"
	                  "\"server_ip\":\"203.0.113.5\","
	                  "\"server_port\":41234," CONN_REST);
	event_free(ev);
}
END_TEST

/*
 * A member of an edge says which, between "endpoint" and "ip_policy";
 * a connection that is not (test_conn_exact) has no "edge" at all.
 */
START_TEST(test_conn_edge)
{
	struct sockaddr_in cin, sin;
	struct event_conn c;
	struct event *ev;

	fill_conn(&c, mk_sin(&cin, "192.0.2.7", 50000),
	    mk_sin(&sin, "203.0.113.5", 41234));
	c.edge_id = "ed_1";
	c.allowed = 0;
	ev = event_conn_closed("ac_1", &c, T0 + 2123);
	assert_event_json(ev,
	    ENVELOPE_CONN "{\"conn\":{\"client_ip\":\"192.0.2.7\","
	                  "\"client_port\":50000,"
	                  "\"server_ip\":\"203.0.113.5\","
	                  "\"server_port\":41234,"
	                  "\"server_name\":\"tunnel.example.com\","
	                  "\"start_ts\":\"2026-11-25T12:00:00.500Z\","
	                  "\"end_ts\":\"2026-11-25T12:00:02.000Z\","
	                  "\"bytes_in\":1234,\"bytes_out\":56789},"
	                  "\"endpoint\":{\"id\":\"ep_1\","
	                  "\"url\":\"tcp://tunnel.example.com:41234\"},"
	                  "\"edge\":{\"id\":\"ed_1\"},"
	                  "\"ip_policy\":{\"decision\":\"deny\"}}}");
	event_free(ev);
	/* The same without the edge: no member of that name at all. */
	c.edge_id = NULL;
	ev = event_conn_closed("ac_1", &c, T0 + 2123);
	ck_assert_msg(json_valid_object(ev->json), "not JSON: %s", ev->json);
	ck_assert_ptr_null(strstr(ev->json, "\"edge\""));
	event_free(ev);
}
END_TEST

/* A connection a limit refused says why, after "ip_policy". */
START_TEST(test_conn_refused)
{
	struct sockaddr_in cin, sin;
	struct event_conn c;
	struct event *ev;

	fill_conn(&c, mk_sin(&cin, "192.0.2.7", 50000),
	    mk_sin(&sin, "203.0.113.5", 41234));
	c.bytes_in = c.bytes_out = 0;
	c.refused = "connection_rate";
	ev = event_conn_closed("ac_1", &c, T0 + 2123);
	assert_event_json(ev,
	    ENVELOPE_CONN "{\"conn\":{\"client_ip\":\"192.0.2.7\","
	                  "\"client_port\":50000,"
	                  "\"server_ip\":\"203.0.113.5\","
	                  "\"server_port\":41234,"
	                  "\"server_name\":\"tunnel.example.com\","
	                  "\"start_ts\":\"2026-11-25T12:00:00.500Z\","
	                  "\"end_ts\":\"2026-11-25T12:00:02.000Z\","
	                  "\"bytes_in\":0,\"bytes_out\":0},"
	                  "\"endpoint\":{\"id\":\"ep_1\","
	                  "\"url\":\"tcp://tunnel.example.com:41234\"},"
	                  "\"ip_policy\":{\"decision\":\"allow\"},"
	                  "\"refused\":{\"reason\":\"connection_rate\"}}}");
	event_free(ev);
}
END_TEST

/*
 * A denied connection with no account, no endpoint, addresses of no
 * IP family or none, and the largest byte counts.
 */
START_TEST(test_conn_nulls)
{
	struct sockaddr_un sun;
	struct event_conn c;
	struct event *ev;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(&c, 0, sizeof(c));
	c.client = (const struct sockaddr *)&sun;
	c.start_ms = T0;
	c.end_ms = T0;
	c.bytes_in = UINT64_MAX;
	c.bytes_out = 0;
	ev = event_conn_closed(NULL, &c, T0);
	ck_assert_ptr_null(ev->account_id);
	assert_event_json(ev,
	    "{\"event_id\":\"ev_*\","
	    "\"event_type\":\"tcp_connection_closed.v0\","
	    "\"event_timestamp\":\"2026-11-25T12:00:00.000Z\","
	    "\"account_id\":null,\"object\":{\"conn\":{"
	    "\"client_ip\":null,\"client_port\":null,"
	    "\"server_ip\":null,\"server_port\":null,"
	    "\"server_name\":null,"
	    "\"start_ts\":\"2026-11-25T12:00:00.000Z\","
	    "\"end_ts\":\"2026-11-25T12:00:00.000Z\","
	    "\"bytes_in\":18446744073709551615,\"bytes_out\":0},"
	    "\"endpoint\":{\"id\":null,\"url\":null},"
	    "\"ip_policy\":{\"decision\":\"deny\"}}}");
	event_free(ev);
	ck_assert_ptr_null(event_conn_closed("ac_1", NULL, T0));
}
END_TEST

/* Names that try to break out of their string stay inside it. */
static const char *const hostile[] = {
	"evil\",\"bytes_in\":0,\"x\":\"",
	"a\"}}},{\"event_id\":\"ev_forged",
	"line\nbreak\r\n{\"event_id\":\"ev_x\"}",
	"\x01\x02\x1b[31mred\x7f\t\b\f",
	"back\\slash\\",
	"\\\"",
	"bad utf-8 \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82",
	"caf\xc3\xa9 \xf0\x9f\x9a\x87",
	"</script><script>alert(1)</script>",
};

START_TEST(test_conn_hostile_name)
{
	struct sockaddr_in cin, sin;
	struct event_conn c;
	struct event *ev;
	const char *name = hostile[_i];

	fill_conn(&c, mk_sin(&cin, "192.0.2.7", 50000),
	    mk_sin(&sin, "203.0.113.5", 41234));
	c.server_name = name;
	c.endpoint_url = name;
	c.edge_id = name;
	ev = event_conn_closed(name, &c, T0);
	ck_assert_msg(json_valid_object(ev->json), "not JSON: %s", ev->json);
	ck_assert_ptr_null(strchr(ev->json, '\n'));
	ck_assert_ptr_null(strchr(ev->json, '\r'));
	/* Nothing forged: one event id and one bytes_in, the real ones. */
	ck_assert_ptr_null(
	    strstr(strstr(ev->json, "\"event_id\"") + 1, "\"event_id\""));
	ck_assert_ptr_nonnull(strstr(ev->json, "\"bytes_in\":1234,"));
	ck_assert_ptr_null(strstr(ev->json, "\"bytes_in\":0"));
	ck_assert_str_eq(ev->account_id, name);
	event_free(ev);
}
END_TEST

/* The checker itself refuses what it must, or the tests prove nothing. */
START_TEST(test_checker_refuses)
{
	ck_assert(
	    json_valid_object("{\"a\":[1,-2.5e3,true,null,\"\\u00e9\"]}"));
	ck_assert(!json_valid_object("{\"a\":\"x\ny\"}"));
	ck_assert(!json_valid_object("{\"a\":\"x\"\"}"));
	ck_assert(!json_valid_object("{\"a\":1}{"));
	ck_assert(!json_valid_object("{\"a\":01}"));
	ck_assert(!json_valid_object("{\"a\":\"\\x\"}"));
	ck_assert(!json_valid_object("{\"a\":1,}"));
	ck_assert(!json_valid_object("[1]"));
}
END_TEST

/* event_new wraps the caller's object as is. */
START_TEST(test_new_object)
{
	struct event *ev;

	ev = event_new(EVENT_ADDRESS_CREATED, "ac_2",
	    "{\"address\":{\"id\":\"ra_1\",\"port\":42000}}", T0 + 1);
	ck_assert_ptr_nonnull(ev);
	ck_assert(id_is_valid(ev->id, "ev"));
	ck_assert_ptr_eq(ev->type, EVENT_ADDRESS_CREATED);
	ck_assert_int_eq(ev->timestamp_ms, T0 + 1);
	ck_assert_str_eq(ev->account_id, "ac_2");
	assert_event_json(ev,
	    "{\"event_id\":\"ev_*\","
	    "\"event_type\":\"tcp_address_created.v0\","
	    "\"event_timestamp\":\"2026-11-25T12:00:00.001Z\","
	    "\"account_id\":\"ac_2\","
	    "\"object\":{\"address\":{\"id\":\"ra_1\",\"port\":42000}}}");
	event_free(ev);

	/* No object is an empty one; no account is null. */
	ev = event_new(EVENT_SESSION_ENDED, NULL, NULL, T0 - 1);
	ck_assert_ptr_null(ev->account_id);
	assert_event_json(ev,
	    "{\"event_id\":\"ev_*\","
	    "\"event_type\":\"tcp_session_ended.v0\","
	    "\"event_timestamp\":\"2026-11-25T11:59:59.999Z\","
	    "\"account_id\":null,\"object\":{}}");
	event_free(ev);

	ck_assert_ptr_null(event_new(NULL, "ac_1", "{}", T0));
	event_free(NULL);
}
END_TEST

/* A node's events name it and its region; unset, neither appears. */
START_TEST(test_new_origin)
{
	struct event *ev;

	event_set_origin("eu-1", "eu");
	ev = event_new(EVENT_SESSION_ENDED, "ac_1", NULL, T0);
	assert_event_json(ev,
	    "{\"event_id\":\"ev_*\","
	    "\"event_type\":\"tcp_session_ended.v0\","
	    "\"event_timestamp\":\"2026-11-25T12:00:00.000Z\","
	    "\"account_id\":\"ac_1\",\"node\":\"eu-1\",\"region\":\"eu\","
	    "\"object\":{}}");
	event_free(ev);
	event_set_origin("us-1", "");
	ev = event_new(EVENT_SESSION_ENDED, NULL, NULL, T0);
	assert_event_json(ev,
	    "{\"event_id\":\"ev_*\","
	    "\"event_type\":\"tcp_session_ended.v0\","
	    "\"event_timestamp\":\"2026-11-25T12:00:00.000Z\","
	    "\"account_id\":null,\"node\":\"us-1\",\"region\":null,"
	    "\"object\":{}}");
	event_free(ev);
	event_set_origin(NULL, NULL);
	ev = event_new(EVENT_SESSION_ENDED, NULL, NULL, T0);
	ck_assert_ptr_null(strstr(ev->json, "\"node\""));
	event_free(ev);
}
END_TEST

/* Every event gets an id of its own. */
START_TEST(test_new_ids_differ)
{
	struct event *a, *b;

	a = event_new(EVENT_ENDPOINT_STARTED, "ac_1", "{}", T0);
	b = event_new(EVENT_ENDPOINT_STARTED, "ac_1", "{}", T0);
	ck_assert_str_ne(a->id, b->id);
	ck_assert_str_ne(a->json, b->json);
	event_free(a);
	event_free(b);
}
END_TEST

/* Event log. */

/* Build <n> small events of <type> numbered from <base>. */
static void
mk_events(struct event **evs, size_t n, int base)
{
	char obj[64];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(obj, sizeof(obj), "{\"n\":%d}", base + (int)i);
		evs[i] = event_new(EVENT_SESSION_STARTED, "ac_1", obj, T0);
	}
}

static void
free_events(struct event **evs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		event_free(evs[i]);
}

/* The lines <evs> make in a log, concatenated; the caller frees it. */
static char *
lines_of(struct event *const *evs, size_t n)
{
	char *s = NULL, *t;
	size_t i;

	ck_assert_ptr_nonnull(s = strdup(""));
	for (i = 0; i < n; i++) {
		ck_assert_int_ge(asprintf(&t, "%s%s\n", s, evs[i]->json), 0);
		free(s);
		s = t;
	}
	return s;
}

/* Lines are appended, the file made with mode 0640 (umask allowing). */
START_TEST(test_log_append)
{
	struct event *evs[3];
	struct stat sb;
	char *got, *want;

	mk_events(evs, 3, 0);
	umask(022);
	ck_assert_int_eq(event_log_write(logpath, evs, 2), 0);
	ck_assert_int_eq(stat(logpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0640);
	ck_assert_int_eq(event_log_write(logpath, evs + 2, 1), 0);
	got = slurp(logpath, NULL);
	want = lines_of(evs, 3);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);

	/* Nothing to write leaves the file alone. */
	ck_assert_int_eq(event_log_write(logpath, evs, 0), 0);
	ck_assert_int_eq(stat(logpath, &sb), 0);
	ck_assert_int_eq(sb.st_size,
	    (off_t)(3 + strlen(evs[0]->json) + strlen(evs[1]->json) +
	        strlen(evs[2]->json)));
	free_events(evs, 3);
}
END_TEST

/* NULL elements are skipped. */
START_TEST(test_log_skips_null)
{
	struct event *evs[3];
	char *got, *want;

	mk_events(evs, 3, 0);
	event_free(evs[1]);
	evs[1] = NULL;
	ck_assert_int_eq(event_log_write(logpath, evs, 3), 0);
	got = slurp(logpath, NULL);
	evs[1] = evs[2];
	want = lines_of(evs, 2);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free_events(evs, 2);
}
END_TEST

/* After rotation (rename) the next write makes a new file at once. */
START_TEST(test_log_rotation)
{
	struct event *evs[3];
	char *got, *want;

	mk_events(evs, 3, 0);
	ck_assert_int_eq(event_log_write(logpath, evs, 2), 0);
	ck_assert_int_eq(rename(logpath, rotated), 0);
	ck_assert_int_eq(event_log_write(logpath, evs + 2, 1), 0);
	got = slurp(rotated, NULL);
	want = lines_of(evs, 2);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	got = slurp(logpath, NULL);
	want = lines_of(evs + 2, 1);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free_events(evs, 3);
}
END_TEST

/* "none" and NULL write nothing, and make no file named "none". */
START_TEST(test_log_none)
{
	struct event *evs[1];
	char cwd[PATH_MAX];

	mk_events(evs, 1, 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	ck_assert_int_eq(event_log_write("none", evs, 1), 0);
	ck_assert_int_eq(event_log_write(NULL, evs, 1), 0);
	ck_assert_int_eq(access("none", F_OK), -1);
	ck_assert_int_eq(chdir(cwd), 0);
	free_events(evs, 1);
}
END_TEST

/* A file that cannot be opened is _SYSTEM with errno kept. */
START_TEST(test_log_error)
{
	struct event *evs[1];
	char path[PATH_MAX];

	mk_events(evs, 1, 0);
	ck_assert_int_lt(snprintf(path, sizeof(path),
	                     "%s/no/such/dir/events.log", tmpdir),
	    (int)sizeof(path));
	errno = 0;
	ck_assert_int_eq(event_log_write(path, evs, 1), PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, ENOENT);
	free_events(evs, 1);
}
END_TEST

/* "-" writes to standard output, and leaves it open. */
START_TEST(test_log_stdout)
{
	struct event *evs[2];
	char got[8192], *want;
	ssize_t n;
	int p[2], saved;

	mk_events(evs, 2, 0);
	fflush(stdout);
	ck_assert_int_ne(saved = dup(STDOUT_FILENO), -1);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(dup2(p[1], STDOUT_FILENO), -1);
	close(p[1]);
	ck_assert_int_eq(event_log_write("-", evs, 2), 0);
	/* Still open: a second call works too. */
	ck_assert_int_eq(event_log_write("-", evs, 1), 0);
	ck_assert_int_ne(dup2(saved, STDOUT_FILENO), -1);
	close(saved);
	ck_assert_int_gt(n = read(p[0], got, sizeof(got) - 1), 0);
	got[n] = '\0';
	close(p[0]);
	want = lines_of((struct event *const[]){ evs[0], evs[1], evs[0] }, 3);
	ck_assert_str_eq(got, want);
	free(want);
	free_events(evs, 2);
}
END_TEST

/* One writer process: PER_WRITER events in batches, every line large. */
static void
writer(int w)
{
	struct event *evs[WRITER_BATCH];
	struct sockaddr_in cin, sin;
	struct event_conn c;
	char name[700];
	size_t k;
	int i = 0;

	memset(name, 'a' + w, sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(&cin, 0, sizeof(cin));
	cin.sin_family = AF_INET;
	cin.sin_addr.s_addr = htonl(0xc0000200 + (uint32_t)w);
	sin = cin;
	memset(&c, 0, sizeof(c));
	c.client = (const struct sockaddr *)&cin;
	c.server = (const struct sockaddr *)&sin;
	c.server_name = name;
	while (i < PER_WRITER) {
		for (k = 0; k < WRITER_BATCH && i < PER_WRITER; k++, i++) {
			c.bytes_in = (uint64_t)w;
			c.bytes_out = (uint64_t)i;
			evs[k] = event_conn_closed("ac_1", &c, T0 + i);
		}
		if (event_log_write(logpath, evs, k) != 0)
			_exit(1);
		free_events(evs, k);
	}
	_exit(0);
}

/*
 * NWRITERS processes appending at once give every line whole: each is
 * valid JSON of its writer's name, and each (writer, number) is there
 * exactly once.
 */
START_TEST(test_log_concurrent)
{
	static unsigned char seen[NWRITERS][PER_WRITER];
	char *all, *line, *nl, *p;
	pid_t pids[NWRITERS];
	size_t nlines = 0;
	unsigned long w, i;
	int k, status;

	for (k = 0; k < NWRITERS; k++) {
		ck_assert_int_ne(pids[k] = fork(), -1);
		if (pids[k] == 0)
			writer(k);
	}
	for (k = 0; k < NWRITERS; k++) {
		ck_assert_int_eq(waitpid(pids[k], &status, 0), pids[k]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	all = slurp(logpath, NULL);
	for (line = all; *line != '\0'; line = nl + 1) {
		ck_assert_ptr_nonnull(nl = strchr(line, '\n'));
		*nl = '\0';
		ck_assert_msg(json_valid_object(line), "line %zu broken",
		    nlines);
		ck_assert_ptr_nonnull(p = strstr(line, "\"bytes_in\":"));
		w = strtoul(p + 11, NULL, 10);
		ck_assert_ptr_nonnull(p = strstr(line, "\"bytes_out\":"));
		i = strtoul(p + 12, NULL, 10);
		ck_assert_uint_lt(w, NWRITERS);
		ck_assert_uint_lt(i, PER_WRITER);
		ck_assert_msg(!seen[w][i], "line %lu/%lu twice", w, i);
		seen[w][i] = 1;
		/* The name is all of one writer's letter. */
		ck_assert_ptr_nonnull(p = strstr(line, "\"server_name\":\""));
		p += 15;
		ck_assert_int_eq(strspn(p, (char[]){ (char)('a' + w), '\0' }),
		    699);
		nlines++;
	}
	ck_assert_uint_eq(nlines, NWRITERS * PER_WRITER);
	free(all);
}
END_TEST

Suite *
event_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("event");

	tc = tcase_create("build");
	tcase_add_test(tc, test_conn_exact);
	tcase_add_test(tc, test_conn_ipv6);
	tcase_add_test(tc, test_conn_mapped);
	tcase_add_test(tc, test_conn_edge);
	tcase_add_test(tc, test_conn_refused);
	tcase_add_test(tc, test_conn_nulls);
	tcase_add_loop_test(tc, test_conn_hostile_name, 0,
	    (int)(sizeof(hostile) / sizeof(hostile[0])));
	tcase_add_test(tc, test_checker_refuses);
	tcase_add_test(tc, test_new_object);
	tcase_add_test(tc, test_new_origin);
	tcase_add_test(tc, test_new_ids_differ);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_log_append);
	tcase_add_test(tc, test_log_skips_null);
	tcase_add_test(tc, test_log_rotation);
	tcase_add_test(tc, test_log_none);
	tcase_add_test(tc, test_log_error);
	tcase_add_test(tc, test_log_stdout);
	tcase_add_test(tc, test_log_concurrent);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; a non-zero exit tells the test driver it failed. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(event_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
