/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "api.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "api-int.h"
#include "buf.h"
#include "compat.h"
#include "conf.h"
#include "err.h"
#include "ipc.h"
#include "misc.h"
#include "net.h"
#include "store.h"
#include "token.h"

/*
 * The API's HTTP side in this process: libmicrohttpd on a loopback
 * listener with a store in a temporary directory, spoken to with plain
 * sockets, the control socket read as the monitor would. What a whole
 * portholed does with it is tests/integration/api.sh's.
 */

Suite *api_suite(void);

static char tmpdir[] = "/tmp/porthole-check-api.XXXXXX";
static struct api api;
static int monitor = -1; /* the monitor's end of the control socket */
static uint16_t port;
static char admin_key[APIKEY_LEN + 1];
static char alice_key[APIKEY_LEN + 1];

/* Record an API key for account <account> (NULL: admin) into <key>. */
static void
add_key(struct store *store, const char *account, char *key, size_t len)
{
	struct store_account *a = NULL;
	unsigned char hash[TOKEN_HASH_LEN];
	char id[32];

	if (account != NULL)
		ck_assert_int_eq(store_account_add(store, account, &a), 0);
	token_generate_prefixed(APIKEY_PREFIX, key, len);
	token_hash(api.token_key, key, hash);
	snprintf(id, sizeof(id), "ak_%s", account != NULL ? account : "admin");
	ck_assert_int_eq(store_apikey_add(store, id, a != NULL ? a->id : NULL,
	                     hash, sizeof(hash), NULL, misc_now_ms()),
	    0);
	store_account_free(a);
}

static void
setup(void)
{
	struct store *store = NULL;
	char line[256], errbuf[256];
	int sv[2], lfd;

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(&api, 0, sizeof(api));
	pthread_mutex_init(&api.ctl_lock, NULL);
	pthread_mutex_init(&api.pen_lock, NULL);
	pthread_mutex_init(&api.write_lock, NULL);
	api.conf = conf_new();
	snprintf(line, sizeof(line), "StateDirectory %s", tmpdir);
	ck_assert_int_eq(conf_apply_line(api.conf, line, 0, errbuf,
	                     sizeof(errbuf)),
	    0);
	ck_assert_int_eq(conf_apply_line(api.conf, "PublicHost 127.0.0.1", 0,
	                     errbuf, sizeof(errbuf)),
	    0);
	ck_assert_int_eq(conf_apply_line(api.conf, "ApiListen 127.0.0.1:1", 0,
	                     errbuf, sizeof(errbuf)),
	    0);
	ck_assert_int_eq(conf_apply_line(api.conf, "ApiMaxBodySize 1024", 0,
	                     errbuf, sizeof(errbuf)),
	    0);
	ck_assert_int_eq(conf_finish(api.conf, errbuf, sizeof(errbuf)), 0);
	randombytes_buf(api.token_key, sizeof(api.token_key));
	ck_assert_int_eq(store_open(api.conf->database, &store, errbuf,
	                     sizeof(errbuf)),
	    0);
	add_key(store, NULL, admin_key, sizeof(admin_key));
	add_key(store, "alice", alice_key, sizeof(alice_key));
	store_free(store);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	monitor = sv[0];
	api.ctl = sv[1];
	ck_assert_int_eq(net_listen("127.0.0.1", 0, 16, &lfd), 0);
	ck_assert_int_eq(net_local_port(lfd, &port), 0);
	ck_assert_int_eq(api_http_start(&api, lfd, NULL, NULL), 0);
}

static void
teardown(void)
{
	char cmd[128];

	api.quit = 1;
	api_http_stop(&api);
	close(monitor);
	close(api.ctl);
	conf_free(api.conf);
	free(api.pen);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)system(cmd);
}

/*
 * Send <request> (a whole HTTP/1.1 request, with Connection: close)
 * and return the answer, status line to the end (the caller frees).
 */
static char *
http(const char *request)
{
	struct sockaddr_in sin;
	struct buf *b = buf_new();
	char chunk[4096], *ret;
	ssize_t n;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(misc_write_all(fd, request, strlen(request), 5000), 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)n);
	close(fd);
	ret = buf_steal(b);
	buf_free(b);
	return ret;
}

/* GET <path> with API key <key> (NULL: none). */
static char *
get(const char *path, const char *key)
{
	char req[1024];

	snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: "
	    "close\r\n\r\n",
	    path, key != NULL ? "Authorization: Bearer " : "",
	    key != NULL ? key : "", key != NULL ? "\r\n" : "");
	return http(req);
}

/* Predicate: answer <a> has status <status>. */
static int
has_status(const char *a, int status)
{
	char want[32];

	snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
	return strncmp(a, want, strlen(want)) == 0;
}

START_TEST(test_openapi)
{
	char *a = get("/openapi.json", NULL);

	ck_assert_msg(has_status(a, 200), "%.200s", a);
	ck_assert_ptr_nonnull(strstr(a, "Content-Type: application/json"));
	ck_assert_ptr_nonnull(strstr(a, "\"openapi\":\"3.1.0\""));
	free(a);
}
END_TEST

START_TEST(test_not_found_and_method)
{
	char *a = get("/no/such/thing", admin_key);

	ck_assert_msg(has_status(a, 404), "%.200s", a);
	ck_assert_ptr_nonnull(
	    strstr(a, "\"error_code\":\"PORTHOLE_NOT_FOUND\""));
	free(a);
	a = http("PUT /reserved_addrs HTTP/1.1\r\nHost: x\r\nContent-Length: "
	         "0\r\nConnection: close\r\n\r\n");
	ck_assert_msg(has_status(a, 405), "%.200s", a);
	ck_assert_ptr_nonnull(strstr(a, "(allowed: GET, POST)"));
	free(a);
}
END_TEST

/* A failed login is answered 401 and told to the monitor. */
START_TEST(test_authfail_told)
{
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds;
	char *a, *src;

	a = get("/reserved_addrs",
	    "phk_0123456789ABCDEFGHIJabcdefghijKLMNOPQRST");
	ck_assert_msg(has_status(a, 401), "%.200s", a);
	ck_assert_ptr_nonnull(strstr(a, "WWW-Authenticate: Bearer"));
	ck_assert_ptr_nonnull(strstr(a, "PORTHOLE_UNAUTHORIZED"));
	free(a);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(ipc_recv(monitor, &m, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ck_assert_uint_eq(m.type, API_AUTHFAIL);
	src = ipc_get_str(&m, 64);
	ck_assert(ipc_ok(&m, 1));
	ck_assert_str_eq(src, "127.0.0.1");
	free(src);
	ipc_msg_free(&m);
}
END_TEST

/* A source the monitor refused gets 429 with Retry-After, key or not. */
START_TEST(test_penalized)
{
	char *a;

	api.pen = calloc(1, sizeof(*api.pen));
	ck_assert_ptr_nonnull(api.pen);
	strlcpy(api.pen[0].ip, "127.0.0.1", sizeof(api.pen[0].ip));
	api.pen[0].until = misc_monotonic_ms() + 30000;
	api.npen = 1;
	a = get("/accounts", admin_key);
	ck_assert_msg(has_status(a, 429), "%.200s", a);
	ck_assert_ptr_nonnull(strstr(a, "Retry-After: 30"));
	ck_assert_ptr_nonnull(strstr(a, "PORTHOLE_PENALIZED"));
	free(a);
}
END_TEST

START_TEST(test_body_too_large)
{
	char *a;

	a = http("POST /reserved_addrs HTTP/1.1\r\nHost: x\r\nContent-Length: "
	         "5000\r\nConnection: close\r\n\r\n{");
	ck_assert_msg(has_status(a, 413), "%.200s", a);
	ck_assert_ptr_nonnull(strstr(a, "PORTHOLE_BODY_TOO_LARGE"));
	free(a);
}
END_TEST

/* The admin's key sees every account; alice's may not add one. */
START_TEST(test_scope)
{
	char req[512], *a;

	a = get("/accounts", admin_key);
	ck_assert_msg(has_status(a, 200), "%.300s", a);
	ck_assert_ptr_nonnull(strstr(a, "\"accounts\":[{"));
	ck_assert_ptr_nonnull(strstr(a, "\"next_page_uri\":null"));
	ck_assert_ptr_nonnull(
	    strstr(a, "\"uri\":\"http://127.0.0.1/accounts\""));
	free(a);
	snprintf(req, sizeof(req),
	    "POST /accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
	    "%s\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
	    "{\"name\":\"bob\"}",
	    alice_key);
	a = http(req);
	ck_assert_msg(has_status(a, 403), "%.300s", a);
	ck_assert_ptr_nonnull(strstr(a, "administrator"));
	free(a);
}
END_TEST

/*
 * Every kind that the generic handlers serve has what they call, and
 * its list key and id segment as the routes and the OpenAPI say.
 */
START_TEST(test_kinds)
{
	static const struct {
		const struct api_kind *k;
		const char *plural;
		size_t idseg;
		int del, texts;
	} t[] = {
		{ &api_kind_addr, "reserved_addrs", 1, 1, 0 },
		{ &api_kind_session, "tunnel_sessions", 1, 0, 0 },
		{ &api_kind_endpoint, "endpoints", 1, 0, 0 },
		{ &api_kind_sshkey, "ssh_credentials", 1, 1, 1 },
		{ &api_kind_token, "credentials", 1, 1, 1 },
		{ &api_kind_apikey, "keys", 1, 1, 0 },
		{ &api_kind_policy, "ip_policies", 1, 1, 1 },
		{ &api_kind_rule, "ip_policy_rules", 1, 1, 1 },
		{ &api_kind_edge, "tcp_edges", 2, 1, 0 },
		{ &api_kind_account, "accounts", 1, 1, 0 },
		{ &api_kind_dest, "event_destinations", 1, 1, 0 },
		{ &api_kind_sub, "event_subscriptions", 1, 1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_str_eq(t[i].k->plural, t[i].plural);
		ck_assert_uint_eq(t[i].k->idseg, t[i].idseg);
		ck_assert_ptr_nonnull(t[i].k->get);
		ck_assert_ptr_nonnull(t[i].k->list);
		ck_assert_ptr_nonnull(t[i].k->json);
		ck_assert_ptr_nonnull(t[i].k->item);
		ck_assert_ptr_nonnull(t[i].k->free);
		ck_assert_ptr_nonnull(t[i].k->list_free);
		ck_assert_int_eq(t[i].k->del != NULL, t[i].del);
		ck_assert_int_eq(t[i].k->texts != NULL, t[i].texts);
	}
}
END_TEST

/*
 * A request without a connection, as tests/fuzz/fuzz_api.c makes them:
 * <query> and <headers> are name, value pairs ending with NULL.
 */
static void
req_init(struct api_req *rq, struct api_conn *conn, const char *method,
    const char *url, const char *const *query, const char *const *headers)
{
	memset(rq, 0, sizeof(*rq));
	memset(conn, 0, sizeof(*conn));
	strlcpy(conn->ip, "192.0.2.1", sizeof(conn->ip));
	rq->api = &api;
	rq->conn = conn;
	rq->method = method;
	rq->url = strdup(url);
	ck_assert_ptr_nonnull(rq->url);
	rq->body = buf_new();
	rq->query_kv = query;
	rq->header_kv = headers;
}

static void
req_free(struct api_req *rq)
{
	buf_free(rq->body);
	buf_free(rq->out);
	free(rq->segbuf);
	free(rq->url);
}

/* Without a connection, the pairs are looked up, names in any case. */
START_TEST(test_no_connection_lookup)
{
	static const char *const query[] = { "limit", "5", "before_id", "",
		NULL };
	static const char *const headers[] = { "Last-Event-ID", "17", NULL };
	struct api_conn conn;
	struct api_req rq;

	req_init(&rq, &conn, "GET", "/events", query, headers);
	ck_assert_str_eq(api_query(&rq, "limit"), "5");
	ck_assert_str_eq(api_query(&rq, "LIMIT"), "5");
	ck_assert_str_eq(api_query(&rq, "before_id"), "");
	ck_assert_ptr_null(api_query(&rq, "since"));
	ck_assert_str_eq(api_header(&rq, "last-event-id"), "17");
	ck_assert_ptr_null(api_header(&rq, "limit"));
	rq.query_kv = NULL;
	ck_assert_ptr_null(api_query(&rq, "limit"));
	req_free(&rq);
}
END_TEST

/* Paths split into their non-empty parts, and routed without a socket. */
START_TEST(test_split_and_route)
{
	static const char *const deep = "/edges/tcp/e/backend_accounts/a/b/c";
	struct api_conn conn;
	struct api_req rq;

	req_init(&rq, &conn, "PUT", "//reserved_addrs/", NULL, NULL);
	ck_assert_int_eq(api_split(&rq), 0);
	ck_assert_uint_eq(rq.nsegs, 1);
	ck_assert_str_eq(rq.segs[0], "reserved_addrs");
	api_route(&rq);
	ck_assert_int_eq(rq.status, 405);
	ck_assert_ptr_nonnull(strstr(buf_str(rq.out), "(allowed: GET, POST)"));
	req_free(&rq);

	req_init(&rq, &conn, "GET", deep, NULL, NULL);
	ck_assert_int_eq(api_split(&rq), -1);
	req_free(&rq);
}
END_TEST

/* Last-Event-ID: a decimal sequence number from 0, nothing else. */
static const struct {
	const char *s;
	int ok;
	int64_t seq;
} last_ids[] = {
	{ "0", 1, 0 },
	{ "42", 1, 42 },
	{ "9223372036854775807", 1, INT64_MAX },
	{ "9223372036854775808", 0, 0 },
	{ "-1", 0, 0 },
	{ "", 0, 0 },
	{ "1e3", 0, 0 },
	{ "17 ", 0, 0 },
};

START_TEST(test_last_event_id)
{
	int64_t seq = -5;
	int r = api_last_event_id(last_ids[_i].s, &seq);

	ck_assert_int_eq(r, last_ids[_i].ok ? 0 : -1);
	if (last_ids[_i].ok)
		ck_assert_int_eq(seq, last_ids[_i].seq);
}
END_TEST

Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("http");
	TCase *tp = tcase_create("parse");

	tcase_add_test(tp, test_no_connection_lookup);
	tcase_add_test(tp, test_split_and_route);
	tcase_add_loop_test(tp, test_last_event_id, 0,
	    sizeof(last_ids) / sizeof(last_ids[0]));
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_openapi);
	tcase_add_test(tc, test_not_found_and_method);
	tcase_add_test(tc, test_authfail_told);
	tcase_add_test(tc, test_penalized);
	tcase_add_test(tc, test_body_too_large);
	tcase_add_test(tc, test_scope);
	tcase_add_test(tc, test_kinds);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(api_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
