/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api-int.h"

#include "buf.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * /events: the store's events, newest first, filtered by event_type and
 * since, in pages; /events/stream: the same events live, as
 * Server-Sent Events. Each is "id: SEQ" (the store's sequence, so that
 * a client's Last-Event-ID resumes exactly after it), "event: TYPE" and
 * "data: " the event's JSON envelope. The stream runs in its
 * connection's thread, polling the store (ops_event_follow) every
 * API_SSE_POLL_MS and writing a comment line when idle so that the
 * connection is kept and a client that left is noticed.
 */

#define API_SSE_POLL_MS  250
#define API_SSE_KEEP_MS  10000
#define API_SSE_BATCH    100
#define API_SSE_BUF_SIZE 4096

/* The filter of an events request; -1 with a 400 answer if bad. */
static int
api_events_filter(struct api_req *rq, struct ops_event_filter *f)
{
	const char *since = api_query(rq, "since");

	memset(f, 0, sizeof(*f));
	f->type = api_query(rq, "event_type");
	if (f->type != NULL && f->type[0] == '\0')
		f->type = NULL;
	if (f->type != NULL && !ops_event_type_known(f->type)) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "unknown event_type '%.64s'", f->type);
		return -1;
	}
	if (since != NULL &&
	    misc_parse_when(since, misc_now_ms(), &f->since_ms) != 0) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "since must be an RFC 3339 time or an age such as 10m, "
		    "not '%.64s'",
		    since);
		return -1;
	}
	return 0;
}

void
api_events_list(struct api_req *rq)
{
	static const char *const keep[] = { "event_type", "since", NULL };
	struct store_event **list = NULL;
	struct ops_event_filter f;
	struct ops_page page;
	struct ops_err err;
	struct ops o;
	size_t n = 0, i;
	int more = 0;

	if (api_events_filter(rq, &f) != 0 || api_page(rq, &page) != 0 ||
	    api_ops(rq, &o) != 0)
		return;
	if (ops_event_list(&o, &f, &page, &list, &n, &more, &err) != 0) {
		api_ops_error(rq, &err);
		return;
	}
	api_list_begin(rq, "events");
	for (i = 0; i < n; i++) {
		api_list_sep(rq, i);
		json_raw(rq->out, list[i]->json);
	}
	api_list_end(rq, more, n > 0 ? list[n - 1]->id : NULL, keep);
	store_event_list_free(list, n);
}

/* A live stream's state (the response's). */
struct api_sse {
	struct api *api;
	struct store *store; /* the connection's, used in its thread */
	char *scope; /* a copy of the key's account id, or NULL */
	char *type; /* event_type filter, or NULL */
	int64_t after_seq; /* events after this one are still to send */
	struct buf *out; /* what waits to be written */
	size_t off;
	int64_t keep_at; /* monotonic ms: write a comment then */
	int64_t keep_ms;
};

/* Fetch what is new into sse->out; -1 on a store error. */
static int
api_sse_fetch(struct api_sse *sse)
{
	struct store_event **list = NULL;
	struct ops_event_filter f;
	struct ops_err err;
	struct ops o;
	size_t n = 0, i;

	memset(&o, 0, sizeof(o));
	o.conf = sse->api->conf;
	o.store = sse->store;
	o.scope = sse->scope;
	memset(&f, 0, sizeof(f));
	f.type = sse->type;
	if (ops_event_follow(&o, sse->after_seq, &f, API_SSE_BATCH, &list, &n,
	        &err) != 0) {
		error("API: event stream: %s", err.msg);
		return -1;
	}
	for (i = 0; i < n; i++) {
		buf_printf(sse->out,
		    "id: %lld\nevent: %s\ndata: ", (long long)list[i]->seq,
		    list[i]->type);
		json_raw(sse->out, list[i]->json);
		buf_puts(sse->out, "\n\n");
		sse->after_seq = list[i]->seq;
	}
	store_event_list_free(list, n);
	return 0;
}

/* libmicrohttpd asks for more of the stream: wait for events. */
static ssize_t
api_sse_read(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct api_sse *sse = cls;
	size_t n;

	for (;;) {
		if (sse->off < buf_len(sse->out)) {
			n = buf_len(sse->out) - sse->off;
			if (n > max)
				n = max;
			memcpy(dst, buf_str(sse->out) + sse->off, n);
			sse->off += n;
			if (sse->off == buf_len(sse->out)) {
				buf_reset(sse->out);
				sse->off = 0;
			}
			return (ssize_t)n;
		}
		if (sse->api->quit)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (api_sse_fetch(sse) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (buf_len(sse->out) > 0)
			continue;
		if (misc_monotonic_ms() >= sse->keep_at) {
			buf_puts(sse->out, ": keep-alive\n\n");
			sse->keep_at = misc_monotonic_ms() + sse->keep_ms;
			continue;
		}
		(void)poll(NULL, 0, API_SSE_POLL_MS);
	}
}

static void
api_sse_free(void *cls)
{
	struct api_sse *sse = cls;

	buf_free(sse->out);
	free(sse->scope);
	free(sse->type);
	free(sse);
}

int
api_last_event_id(const char *s, int64_t *seqp)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0)
		return -1;
	*seqp = v;
	return 0;
}

/* Where a stream starts: after Last-Event-ID, or after the newest. */
static int
api_sse_start(struct api_req *rq, struct ops *o,
    const struct ops_event_filter *f, int64_t *seqp)
{
	struct store_event **list = NULL;
	struct ops_page page;
	struct ops_err err;
	const char *last = api_header(rq, "Last-Event-ID");
	size_t n = 0;
	int more = 0;

	*seqp = 0;
	if (last == NULL)
		last = api_query(rq, "last_event_id");
	if (last != NULL) {
		if (api_last_event_id(last, seqp) != 0) {
			api_error(rq, 400, "INVALID_ARGUMENT", NULL,
			    "Last-Event-ID must be an event's id: line of this "
			    "stream (a number)");
			return -1;
		}
		return 0;
	}
	memset(&page, 0, sizeof(page));
	page.limit = 1;
	if (ops_event_list(o, NULL, &page, &list, &n, &more, &err) != 0) {
		api_ops_error(rq, &err);
		return -1;
	}
	if (n > 0)
		*seqp = list[0]->seq;
	store_event_list_free(list, n);
	return 0;
}

void
api_events_stream(struct api_req *rq)
{
	struct api_sse *sse;
	struct MHD_Response *resp;
	struct ops_event_filter f;
	struct ops o;
	int64_t seq;

	if (api_events_filter(rq, &f) != 0 || api_ops(rq, &o) != 0 ||
	    api_sse_start(rq, &o, &f, &seq) != 0)
		return;
	sse = xcalloc(1, sizeof(*sse));
	sse->api = rq->api;
	sse->store = o.store;
	sse->scope = rq->scope != NULL ? xstrdup(rq->scope) : NULL;
	sse->type = f.type != NULL ? xstrdup(f.type) : NULL;
	sse->after_seq = seq;
	sse->out = buf_new();
	/* Within ApiRequestTimeout, which closes a silent connection. */
	sse->keep_ms = rq->api->conf->api_request_timeout * 1000 / 2;
	if (sse->keep_ms > API_SSE_KEEP_MS)
		sse->keep_ms = API_SSE_KEEP_MS;
	sse->keep_at = misc_monotonic_ms() + sse->keep_ms;
	buf_puts(sse->out, "retry: 2000\n\n");
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
	    API_SSE_BUF_SIZE, api_sse_read, sse, api_sse_free);
	if (resp == NULL) {
		api_sse_free(sse);
		api_error(rq, 500, "INTERNAL", NULL, "cannot start the stream");
		return;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream");
	rq->stream = resp; /* api_send queues it */
	rq->status = 200;
	debug("API: event stream from %s after seq %lld", rq->conn->ip,
	    (long long)seq);
}
