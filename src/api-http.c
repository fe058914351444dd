/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api.h"
#include "api-int.h"

#include "buf.h"
#include "compat.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "store.h"
#include "xmalloc.h"

/*
 * libmicrohttpd's side of the API process: one thread per connection
 * (ApiMaxConnections at most), ApiRequestTimeout of silence closes a
 * connection, ApiMaxHeaderSize bounds what a request's header may take
 * (libmicrohttpd answers 431 or closes the connection beyond it), and
 * a body past ApiMaxBodySize is answered 413 without being kept. Each
 * request is read whole, then routed (api-routes.c) and answered with
 * JSON made in a buf.
 */

#define API_HOST_MAX   255 /* a Host header we echo in uri fields */
#define API_BODY_SLACK (64 * 1024) /* read past ApiMaxBodySize, at most */

/* Why libmicrohttpd calls our logger: its own messages, at debug level. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	debug("API: libmicrohttpd: %s", msg);
}
#pragma GCC diagnostic pop

void
api_error(struct api_req *rq, int status, const char *code, const char *details,
    const char *fmt, ...)
{
	char msg[1024], name[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(name, sizeof(name), "PORTHOLE_%s", code);
	buf_free(rq->out);
	rq->out = buf_new();
	buf_putc(rq->out, '{');
	json_kv_str(rq->out, 1, "error_code", name);
	json_kv_int(rq->out, 0, "status_code", status);
	json_kv_str(rq->out, 0, "msg", msg);
	buf_printf(rq->out, ",\"details\":%s}\n",
	    details != NULL ? details : "{}");
	rq->status = status;
	rq->content_type = NULL;
}

/* The value of <name> (any case) in pairs <kv>, or NULL. */
static const char *
api_kv_get(const char *const *kv, const char *name)
{
	size_t i;

	for (i = 0; kv != NULL && kv[i] != NULL; i += 2) {
		if (strcasecmp(kv[i], name) == 0)
			return kv[i + 1];
	}
	return NULL;
}

const char *
api_query(struct api_req *rq, const char *name)
{
	if (rq->mc == NULL)
		return api_kv_get(rq->query_kv, name);
	return MHD_lookup_connection_value(rq->mc, MHD_GET_ARGUMENT_KIND, name);
}

const char *
api_header(struct api_req *rq, const char *name)
{
	if (rq->mc == NULL)
		return api_kv_get(rq->header_kv, name);
	return MHD_lookup_connection_value(rq->mc, MHD_HEADER_KIND, name);
}

void
api_uri(struct buf *b, struct api_req *rq, const char *fmt, ...)
{
	struct buf *t = buf_new();
	va_list ap;

	buf_puts(t, rq->base);
	va_start(ap, fmt);
	buf_vprintf(t, fmt, ap);
	va_end(ap);
	json_str(b, buf_str(t));
	buf_free(t);
}

void
api_ref(struct buf *b, struct api_req *rq, const char *key, const char *plural,
    const char *id)
{
	buf_putc(b, ',');
	json_str(b, key);
	buf_putc(b, ':');
	if (id == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '{');
	json_kv_str(b, 1, "id", id);
	buf_puts(b, ",\"uri\":");
	api_uri(b, rq, "/%s/%s", plural, id);
	buf_putc(b, '}');
}

void
api_time(struct buf *b, const char *key, int64_t ms)
{
	char when[64];

	json_kv_str(b, 0, key,
	    ms != 0 ? misc_rfc3339(ms, when, sizeof(when)) : NULL);
}

/* Predicate: <h> is a Host header we may echo (name or [v6], port). */
static int
api_host_ok(const char *h)
{
	size_t n = strlen(h);

	return n > 0 && n <= API_HOST_MAX &&
	    h[strspn(h,
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "0123456789.-:[]")] == '\0';
}

/* The base of uri fields: ApiBaseURL, else the scheme and Host. */
static char *
api_base(struct api_req *rq)
{
	struct conf *conf = rq->api->conf;
	const char *host = api_header(rq, MHD_HTTP_HEADER_HOST);
	const char *scheme = rq->api->tls ? "https" : "http";
	char *base = NULL;

	if (conf->api_base_url != NULL)
		return xstrdup(conf->api_base_url);
	if (host != NULL && api_host_ok(host))
		xasprintf(&base, "%s://%s", scheme, host);
	else if (strchr(conf->api_host, ':') != NULL)
		xasprintf(&base, "%s://[%s]:%u", scheme, conf->api_host,
		    conf->api_port);
	else
		xasprintf(&base, "%s://%s:%u", scheme, conf->api_host,
		    conf->api_port);
	return base;
}

int
api_split(struct api_req *rq)
{
	char *p, *save = NULL;

	rq->segbuf = xstrdup(rq->url);
	for (p = strtok_r(rq->segbuf, "/", &save); p != NULL;
	     p = strtok_r(NULL, "/", &save)) {
		if (rq->nsegs == API_PATH_MAX)
			return -1;
		rq->segs[rq->nsegs++] = p;
	}
	return 0;
}

/*
 * Free an answer's body once sent, wiped first: the answer to a create
 * holds a token or an API key.
 */
static void
api_body_free(void *cls)
{
	char *body = cls;

	sodium_memzero(body, strlen(body));
	free(body);
}

/* Queue rq's answer (rq->stream, or rq->out as JSON). */
static enum MHD_Result
api_send(struct api_req *rq)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	char *body;
	int64_t left;

	if (rq->stream != NULL) {
		resp = rq->stream;
		rq->stream = NULL;
	} else {
		if (rq->out == NULL)
			api_error(rq, 500, "INTERNAL", NULL,
			    "the server made no answer");
		len = buf_len(rq->out);
		body = buf_steal(rq->out); /* now the response's */
		buf_free(rq->out);
		rq->out = NULL;
		resp =
		    MHD_create_response_from_buffer_with_free_callback_cls(len,
		        body, api_body_free, body);
		if (resp == NULL) {
			free(body);
			return MHD_NO;
		}
		(void)MHD_add_response_header(resp,
		    MHD_HTTP_HEADER_CONTENT_TYPE,
		    rq->content_type != NULL ? rq->content_type
		                             : "application/json");
	}
	/* The dashboard's files say how they may be cached (api-routes.c). */
	if (MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL) ==
	    NULL)
		(void)MHD_add_response_header(resp,
		    MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	(void)MHD_add_response_header(resp, "X-Content-Type-Options",
	    "nosniff");
	if (rq->status == 401)
		(void)MHD_add_response_header(resp,
		    MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"porthole\"");
	if (rq->status == 429 && api_penalized(rq->api, rq->conn->ip, &left)) {
		char secs[32];

		snprintf(secs, sizeof(secs), "%lld",
		    (long long)(left + 999) / 1000);
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
		    secs);
	}
	ret = MHD_queue_response(rq->mc, (unsigned int)rq->status, resp);
	MHD_destroy_response(resp);
	rq->answered = 1;
	return ret;
}

/* The connection's store, opened on its first request. */
static struct store *
api_store(struct api_req *rq)
{
	char errbuf[256];

	if (rq->conn->store == NULL &&
	    store_open(rq->api->conf->database, &rq->conn->store, errbuf,
	        sizeof(errbuf)) != 0) {
		error("API: Database %s", errbuf);
		rq->conn->store = NULL;
	}
	return rq->conn->store;
}

/* The whole request is in: route it and answer. */
static enum MHD_Result
api_handle(struct api_req *rq)
{
	int64_t left;
	int writer;

	if (rq->body_too_big) {
		api_error(rq, 413, "BODY_TOO_LARGE", NULL,
		    "the request body is larger than ApiMaxBodySize "
		    "(%lld bytes)",
		    (long long)rq->api->conf->api_max_body);
		return api_send(rq);
	}
	if (api_penalized(rq->api, rq->conn->ip, &left)) {
		api_error(rq, 429, "PENALIZED", NULL,
		    "too many failed authentications from %s: refused for "
		    "%lld more second(s) (PerSourcePenalties)",
		    rq->conn->ip, (long long)(left + 999) / 1000);
		return api_send(rq);
	}
	rq->base = api_base(rq);
	if (api_split(rq) != 0) {
		api_error(rq, 404, "NOT_FOUND", NULL, "no such resource: %s",
		    rq->url);
		return api_send(rq);
	}
	/*
	 * One writer at a time on SQLite: writers that meet on its lock
	 * would each sleep in its busy handler, which is far slower than
	 * waiting here for the one before.
	 */
	writer = rq->api->serialize_writes && strcmp(rq->method, "GET") != 0 &&
	    strcmp(rq->method, "HEAD") != 0;
	if (writer)
		pthread_mutex_lock(&rq->api->write_lock);
	api_route(rq);
	if (writer)
		pthread_mutex_unlock(&rq->api->write_lock);
	return api_send(rq);
}

/* libmicrohttpd's access handler: called for a request's every part. */
static enum MHD_Result
api_access(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api *api = cls;
	struct api_req *rq = *con_cls;
	const union MHD_ConnectionInfo *ci;
	const char *cl;
	long long n;

	if (rq == NULL) {
		rq = xcalloc(1, sizeof(*rq));
		rq->api = api;
		rq->mc = mc;
		rq->method = method;
		rq->url = xstrdup(url);
		rq->body = buf_new();
		ci = MHD_get_connection_info(mc,
		    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		rq->conn = ci != NULL ? ci->socket_context : NULL;
		*con_cls = rq; /* freed by api_completed */
		if (rq->conn == NULL)
			return MHD_NO;
		/* A body announced too large is refused before it comes. */
		cl = api_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL &&
		    (n = strtoll(cl, NULL, 10)) > api->conf->api_max_body) {
			rq->body_too_big = 1;
			return api_handle(rq);
		}
		return MHD_YES;
	}
	if (rq->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		rq->body_seen += *upload_data_size;
		if (!rq->body_too_big &&
		    buf_len(rq->body) + *upload_data_size >
		        (size_t)api->conf->api_max_body)
			rq->body_too_big = 1;
		if (!rq->body_too_big)
			buf_append(rq->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		/*
		 * An unannounced (chunked) body past the limit is dropped and
		 * answered 413 at its end; one that goes on well past it is
		 * no mistake: the connection is closed.
		 */
		if (rq->body_seen >
		    (size_t)api->conf->api_max_body * 2 + API_BODY_SLACK) {
			logit("API: %s sent a body far over ApiMaxBodySize; "
			      "connection closed",
			    rq->conn->ip);
			return MHD_NO;
		}
		return MHD_YES;
	}
	return api_handle(rq);
}

struct store *
api_req_store(struct api_req *rq)
{
	struct store *store;

	if ((store = api_store(rq)) == NULL)
		api_error(rq, 503, "UNAVAILABLE", NULL,
		    "the store cannot be reached; try again");
	return store;
}

/* A request is over: free what it held. */
static void
api_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_req *rq = *con_cls;

	if (rq == NULL)
		return;
	if (rq->stream != NULL)
		MHD_destroy_response(rq->stream);
	buf_free(rq->body);
	buf_free(rq->out);
	store_apikey_free(rq->key);
	free(rq->base);
	free(rq->segbuf);
	free(rq->url);
	free(rq);
	*con_cls = NULL;
}

/* A connection starts (its address kept) or ends (its store closed). */
static void
api_notify_conn(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct api_conn *c;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = xcalloc(1, sizeof(*c));
		ci = MHD_get_connection_info(mc,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci == NULL || ci->client_addr == NULL ||
		    net_ntop(ci->client_addr, c->ip, sizeof(c->ip), NULL) != 0)
			strlcpy(c->ip, "unknown", sizeof(c->ip));
		*socket_context = c;
		return;
	}
	if ((c = *socket_context) == NULL)
		return;
	store_free(c->store);
	free(c);
	*socket_context = NULL;
}

int
api_http_start(struct api *api, int lfd, const char *cert, const char *key)
{
	struct conf *conf = api->conf;
	unsigned int flags;

	flags = MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	api->tls = cert != NULL && key != NULL;
	api->serialize_writes = !db_target_is_pg(conf->database);
	if (api->tls)
		flags |= MHD_USE_TLS;
	/* Ours are blocking sockets once accepted; the listener is not. */
	(void)net_set_nonblock(lfd, 1);
	api->mhd = MHD_start_daemon(flags, 0, NULL, NULL, api_access, api,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, api,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)conf->api_max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)conf->api_max_per_source,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)conf->api_request_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)conf->api_max_header,
	    MHD_OPTION_NOTIFY_COMPLETED, api_completed, api,
	    MHD_OPTION_NOTIFY_CONNECTION, api_notify_conn, api,
	    api->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
	if (api->mhd == NULL) {
		error("API: cannot start the HTTP server on ApiListen%s",
		    api->tls ? " (check ApiCertificate and ApiPrivateKey)"
		             : "");
		return -1;
	}
	logit("API: serving %s on %s%s%s:%u (process %ld)",
	    api->tls ? "HTTPS" : "HTTP",
	    strchr(conf->api_host, ':') != NULL ? "[" : "", conf->api_host,
	    strchr(conf->api_host, ':') != NULL ? "]" : "", conf->api_port,
	    (long)getpid());
	return 0;
}

void
api_http_stop(struct api *api)
{
	if (api->mhd == NULL)
		return;
	MHD_stop_daemon(api->mhd);
	api->mhd = NULL;
}
