/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * libFuzzer harness for the HTTP API (api-int.h): what it reads from an
 * untrusted client before the operations layer sees it. A request is
 * made without libmicrohttpd (rq->mc NULL: the query and headers come
 * from rq->query_kv and rq->header_kv) and goes through
 *
 *   1. the path split (api_split) and the routes (api_route), with the
 *	Authorization header or ?access_token= checked by api_auth, or,
 *	when the input says so, taken as authenticated (api_auth is
 *	wrapped: -Wl,--wrap=api_auth), so that the route's handler reads
 *	the request's body, path and query as it does for a real key;
 *   2. the query of lists (api_page: limit, before_id), of /events
 *	(api_events_list: event_type, since), Last-Event-ID
 *	(api_last_event_id) and the next page's URI (api_list_end);
 *   3. the body (api_body with an allowed-field list from the input)
 *	and every field getter on every allowed field.
 *
 * The store cannot be opened (Database names a file in a directory
 * that does not exist), so a request that gets as far as the store is
 * answered 503: no handler gets past api_ops() to change anything, and
 * every input is independent of the others. The monitor's socket is -1, so failed
 * authentications are not told.
 *
 * The input: five bytes, then NUL-separated fields, then the body.
 *
 *   byte 0	bits 0-2, the method: GET HEAD POST PATCH DELETE PUT
 *		OPTIONS get; bit 3: authenticated without api_auth, as
 *		the administrator, or with bit 4 as an account
 *   bytes 1-4	(big-endian) which names of <fields> api_body allows
 *   byte 5	the range api_int is given (see <ranges>)
 *   fields	the path; the headers Authorization, Last-Event-ID,
 *		If-None-Match; the query's limit, before_id, since,
 *		event_type, access_token, last_event_id, account. An empty
 *		field is absent; a leading \001 is dropped, so "\001" is a
 *		present and empty one.
 *   body	the rest of the input, NULs and all.
 *
 * Invariants: every answer made is one JSON object (jansson reads it
 * back; every route answers), an error's status_code is the status and
 * the statuses are the ones a request can get without a store (no 500:
 * "the server made no answer" or an internal error); the path's
 * segments are its
 * non-empty parts; the getters give what the body holds, within range.
 */

#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "fuzz.h"

#include "api-int.h"
#include "buf.h"
#include "compat.h"
#include "conf.h"
#include "log.h"
#include "ops.h"
#include "xmalloc.h"

static struct api api;
static int preauth; /* api_auth lets the request in */
static const char *preauth_scope; /* as this account, NULL: the admin */

int __real_api_auth(struct api_req *rq, int query_ok);
int __wrap_api_auth(struct api_req *rq, int query_ok);

/*
 * api_route's call of api_auth (the linker's --wrap): the real one, or
 * with <preauth>, a key of <preauth_scope>'s taken as shown.
 */
int
__wrap_api_auth(struct api_req *rq, int query_ok)
{
	if (!preauth)
		return __real_api_auth(rq, query_ok);
	rq->scope = preauth_scope;
	return 0;
}

static const char *const methods[] = { "GET", "HEAD", "POST", "PATCH", "DELETE",
	"PUT", "OPTIONS", "get" };

/* What the routes' bodies hold, one bit each in the allowed mask. */
static const char *const fields[] = { "description", "metadata", "region",
	"account", "host", "name", "public_key", "proxy_proto", "ip_policy_id",
	"disabled", "max_sessions", "max_endpoints", "cidr", "action",
	"ip_policy", "hostports", "backend_accounts", "format", "target",
	"secret", "sources", "destination_ids", "url", "type", "hostport",
	"ip_policies", "backend", "account_id", "owner_id", "id", "", "x" };

/* The ranges api_int is called with (byte 5 picks one). */
static const long long ranges[][2] = { { 0, 2 }, { 0, OPS_LIMIT_MAX },
	{ INT_MIN, INT_MAX }, { 1, 1 } };

/* The statuses a request can get when the store cannot be opened. */
static int
status_possible(int status)
{
	return status == 200 || status == 304 || status == 400 ||
	    status == 401 || status == 403 || status == 404 || status == 405 ||
	    status == 503;
}

/*
 * Check rq's answer: one JSON object; an error's status_code is the
 * status (<want>, unless 0); a stream (a dashboard file) is freed.
 */
static void
check_answer(struct api_req *rq, int want)
{
	json_error_t jerr;
	json_t *o, *v;

	if (want != 0)
		FUZZ_CHECK(rq->status == want);
	if (rq->stream != NULL) {
		FUZZ_CHECK(rq->status == 200 || rq->status == 304);
		MHD_destroy_response(rq->stream);
		rq->stream = NULL;
		return;
	}
	FUZZ_CHECK(rq->out != NULL);
	o = json_loadb(buf_str(rq->out), buf_len(rq->out), 0, &jerr);
	if (o == NULL)
		fprintf(stderr, "bad JSON (%s): %s\n", jerr.text,
		    buf_str(rq->out));
	FUZZ_CHECK(o != NULL && json_is_object(o));
	if ((v = json_object_get(o, "error_code")) != NULL) {
		FUZZ_CHECK(json_is_string(v));
		FUZZ_CHECK(strncmp(json_string_value(v), "PORTHOLE_", 9) == 0);
		v = json_object_get(o, "status_code");
		FUZZ_CHECK(json_is_integer(v));
		FUZZ_CHECK(json_integer_value(v) == rq->status);
		FUZZ_CHECK(json_is_string(json_object_get(o, "msg")));
		FUZZ_CHECK(json_is_object(json_object_get(o, "details")));
	}
	json_decref(o);
	buf_free(rq->out);
	rq->out = NULL;
}

/*
 * The next NUL-terminated field of <in>, whose bytes are <text>
 * (borrowed; NUL-terminated one past its end), or "" at the end.
 */
static const char *
next_field(struct fuzz_in *in, const char *text)
{
	const char *s = text + in->off, *e;

	if (in->off >= in->size)
		return "";
	/* The last field may end at the copy's terminating NUL. */
	if ((e = memchr(s, '\0', in->size - in->off)) == NULL)
		in->off = in->size;
	else
		in->off += (size_t)(e - s) + 1;
	return s;
}

/* Add name <name> and value <v> to pairs <kv> unless <v> is "". */
static void
kv_add(const char **kv, size_t *n, const char *name, const char *v)
{
	if (*v == '\0')
		return;
	if (*v == '\001')
		v++;
	kv[(*n)++] = name;
	kv[(*n)++] = v;
	kv[*n] = NULL;
}

/* Check rq's segments against its path: its non-empty parts. */
static void
check_split(struct api_req *rq)
{
	struct buf *got = buf_new();
	char *want, *w;
	const char *p;
	size_t i;

	/* The path with runs of '/' as one, and none at either end. */
	w = want = xmalloc(strlen(rq->url) + 1);
	for (p = rq->url; *p != '\0'; p++) {
		if (*p != '/')
			*w++ = *p;
		else if (w > want && w[-1] != '/')
			*w++ = '/';
	}
	if (w > want && w[-1] == '/')
		w--;
	*w = '\0';
	FUZZ_CHECK(rq->nsegs <= API_PATH_MAX);
	for (i = 0; i < rq->nsegs; i++) {
		FUZZ_CHECK(rq->segs[i][0] != '\0');
		FUZZ_CHECK(strchr(rq->segs[i], '/') == NULL);
		if (i > 0)
			buf_putc(got, '/');
		buf_puts(got, rq->segs[i]);
	}
	FUZZ_CHECK(strcmp(want, buf_str(got)) == 0);
	free(want);
	buf_free(got);
}

/* A fresh request for <method> on <url> with <query> and <headers>. */
static void
req_init(struct api_req *rq, struct api_conn *conn, const char *method,
    const char *url, const char *const *query, const char *const *headers)
{
	memset(rq, 0, sizeof(*rq));
	rq->api = &api;
	rq->conn = conn;
	rq->method = method;
	rq->url = xstrdup(url);
	rq->body = buf_new();
	rq->base = xstrdup("http://fuzz.example:8080");
	rq->query_kv = query;
	rq->header_kv = headers;
}

static void
req_free(struct api_req *rq)
{
	if (rq->stream != NULL)
		MHD_destroy_response(rq->stream);
	buf_free(rq->body);
	buf_free(rq->out);
	FUZZ_CHECK(rq->key == NULL);
	free(rq->base);
	free(rq->segbuf);
	free(rq->url);
}

/* Step 1: the path and the routes. */
static void
fuzz_route(struct api_req *rq)
{
	if (api_split(rq) != 0) {
		/* api_handle answers 404 without routing. */
		FUZZ_CHECK(rq->nsegs == API_PATH_MAX);
		return;
	}
	check_split(rq);
	api_route(rq);
	FUZZ_CHECK(status_possible(rq->status));
	check_answer(rq, 0);
}

/* Step 2: the query of lists and of the event list and stream. */
static void
fuzz_query(struct api_req *rq)
{
	static const char *const keep[] = { "event_type", "since", "account",
		NULL };
	struct ops_page page;
	json_error_t jerr;
	json_t *o, *v;
	const char *s, *last;
	int64_t seq;
	size_t len;

	if (api_page(rq, &page) != 0)
		check_answer(rq, 400);
	else {
		FUZZ_CHECK(page.limit <= OPS_PAGE_MAX);
		FUZZ_CHECK(page.before_id == NULL || page.before_id[0] != '\0');
	}
	api_events_list(rq);
	FUZZ_CHECK(rq->status == 400 || rq->status == 503);
	check_answer(rq, 0);

	if ((s = api_header(rq, "Last-Event-ID")) != NULL &&
	    api_last_event_id(s, &seq) == 0)
		FUZZ_CHECK(seq >= 0);

	/* The next page keeps the filters, percent-encoded. */
	last = api_query(rq, "before_id");
	api_list_begin(rq, "things");
	api_list_end(rq, 1, last != NULL ? last : "x_1", keep);
	o = json_loadb(buf_str(rq->out), buf_len(rq->out), 0, &jerr);
	FUZZ_CHECK(o != NULL);
	v = json_object_get(o, "next_page_uri");
	FUZZ_CHECK(json_is_string(v));
	s = json_string_value(v);
	FUZZ_CHECK(strncmp(s, rq->base, strlen(rq->base)) == 0);
	/* The path may hold a '?'; the query (the last one's) is encoded. */
	FUZZ_CHECK((s = strrchr(s, '?')) != NULL);
	FUZZ_CHECK(strstr(s, "before_id=") != NULL);
	len = strspn(s + 1,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-._~%=&");
	FUZZ_CHECK(s[1 + len] == '\0');
	json_decref(o);
	buf_free(rq->out);
	rq->out = NULL;
}

/* Step 3: the body, and every getter on every allowed field. */
static void
fuzz_body(struct api_req *rq, uint32_t mask, const long long *range)
{
	const char *allowed[sizeof(fields) / sizeof(fields[0]) + 1];
	const char **list, *s, *name;
	json_t *body, *v;
	size_t i, j, n = 0, nlist;
	int iv, r;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (mask & (1U << i))
			allowed[n++] = fields[i];
	}
	allowed[n] = NULL;
	if ((body = api_body(rq, allowed)) == NULL) {
		check_answer(rq, 400);
		return;
	}
	FUZZ_CHECK(json_is_object(body));
	json_object_foreach(body, name, v)
	{
		for (j = 0; j < n && strcmp(allowed[j], name) != 0; j++)
			;
		FUZZ_CHECK(j < n);
	}
	for (i = 0; i < n; i++) {
		v = json_object_get(body, allowed[i]);
		if (api_str(rq, body, allowed[i], &s) != 0) {
			FUZZ_CHECK(s == NULL && !json_is_string(v));
			check_answer(rq, 400);
		} else if (s != NULL) {
			FUZZ_CHECK(s == json_string_value(v));
			FUZZ_CHECK(strlen(s) == json_string_length(v));
		} else
			FUZZ_CHECK(v == NULL || json_is_null(v));

		iv = 12345;
		if (api_int(rq, body, allowed[i], range[0], range[1], &iv) !=
		    0) {
			FUZZ_CHECK(iv == 12345);
			check_answer(rq, 400);
		} else if (iv != 12345 || json_is_integer(v)) {
			FUZZ_CHECK(json_is_integer(v));
			FUZZ_CHECK(iv >= range[0] && iv <= range[1]);
			FUZZ_CHECK(iv == json_integer_value(v));
		}

		r = api_bool(rq, body, allowed[i], &iv);
		if (r != 0)
			check_answer(rq, 400);
		FUZZ_CHECK(iv == (json_is_boolean(v) ? json_is_true(v) : -1));

		if (api_strlist(rq, body, allowed[i], &list, &nlist) != 0) {
			FUZZ_CHECK(list == NULL && nlist == 0);
			check_answer(rq, 400);
			continue;
		}
		if (list == NULL) {
			FUZZ_CHECK(
			    nlist == 0 && (v == NULL || json_is_null(v)));
			continue;
		}
		FUZZ_CHECK(json_is_array(v) && nlist == json_array_size(v));
		for (j = 0; j < nlist; j++)
			FUZZ_CHECK(
			    list[j] == json_string_value(json_array_get(v, j)));
		FUZZ_CHECK(list[nlist] == NULL);
		free(list);
	}
	json_decref(body);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const lines[] = {
		"Database /nonexistent/porthole-fuzz/none.db",
		"PublicHost 127.0.0.1", "ApiListen 127.0.0.1:1", NULL
	};
	char errbuf[256];
	size_t i;

	(void)argc;
	(void)argv;
	if (sodium_init() == -1)
		abort();
	/* Quiet, but every line is still formatted. */
	log_init("fuzz_api", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	memset(&api, 0, sizeof(api));
	pthread_mutex_init(&api.ctl_lock, NULL);
	pthread_mutex_init(&api.pen_lock, NULL);
	pthread_mutex_init(&api.write_lock, NULL);
	api.ctl = -1;
	api.conf = conf_new();
	for (i = 0; lines[i] != NULL; i++) {
		if (conf_apply_line(api.conf, lines[i], 0, errbuf,
		        sizeof(errbuf)) != 0) {
			fprintf(stderr, "%s: %s\n", lines[i], errbuf);
			abort();
		}
	}
	if (conf_finish(api.conf, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "conf_finish: %s\n", errbuf);
		abort();
	}
	randombytes_buf(api.token_key, sizeof(api.token_key));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const qnames[] = { "limit", "before_id", "since",
		"event_type", "access_token", "last_event_id", "account" };
	static const char *const hnames[] = { "Authorization", "Last-Event-ID",
		"If-None-Match" };
	struct fuzz_in in;
	struct api_conn conn;
	struct api_req rq;
	const char *query[2 * 7 + 1], *headers[2 * 3 + 1];
	const char *method, *url;
	const long long *range;
	char *text;
	uint32_t mask;
	uint8_t flags;
	size_t nq = 0, nh = 0, i;

	/* One copy, NUL-terminated, that the fields point into. */
	text = fuzz_cstring(data, size);
	in.data = (const uint8_t *)text;
	in.size = size;
	in.off = 0;
	log_capture_reset();
	flags = fuzz_byte(&in);
	method = methods[flags & 7];
	preauth = (flags & 0x08) != 0;
	preauth_scope = (flags & 0x10) != 0 ? "acc_fuzz" : NULL;
	mask = (uint32_t)fuzz_byte(&in) << 24;
	mask |= (uint32_t)fuzz_byte(&in) << 16;
	mask |= (uint32_t)fuzz_byte(&in) << 8;
	mask |= fuzz_byte(&in);
	range = ranges[fuzz_byte(&in) & 3];
	url = next_field(&in, text);
	query[0] = headers[0] = NULL;
	for (i = 0; i < 3; i++)
		kv_add(headers, &nh, hnames[i], next_field(&in, text));
	for (i = 0; i < 7; i++)
		kv_add(query, &nq, qnames[i], next_field(&in, text));

	memset(&conn, 0, sizeof(conn));
	strlcpy(conn.ip, "192.0.2.1", sizeof(conn.ip));

	req_init(&rq, &conn, method, url, query, headers);
	if (in.off < in.size)
		buf_append(rq.body, text + in.off, in.size - in.off);
	fuzz_route(&rq);
	req_free(&rq);

	req_init(&rq, &conn, method, url, query, headers);
	fuzz_query(&rq);
	req_free(&rq);

	req_init(&rq, &conn, method, url, query, headers);
	if (in.off < in.size)
		buf_append(rq.body, text + in.off, in.size - in.off);
	fuzz_body(&rq, mask, range);
	req_free(&rq);

	free(text);
	return 0;
}
