/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_API_INT_H
#define PORTHOLE_API_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "token.h"

/*
 * Inside the API process (api.h). libmicrohttpd runs a thread per
 * connection (at most ApiMaxConnections of them); each connection opens
 * its own store handle on its first request, in its own thread, and
 * keeps it while the client keeps the connection alive. The main
 * thread reads the control socket and the signals. What threads share
 * is struct api: read-only after start, but for what its locks guard.
 */

struct buf;
struct conf;
struct store;
struct store_apikey;
struct MHD_Connection;
struct MHD_Daemon;

/* A source refused for a while, as the monitor said (API_PENALTY). */
struct api_penalty {
	char ip[NET_ADDRSTRLEN];
	int64_t until; /* monotonic ms */
};

/* The API process. */
struct api {
	struct conf *conf;
	unsigned char token_key[TOKEN_KEY_LEN];
	struct MHD_Daemon *mhd;
	int tls; /* served with HTTPS */
	volatile int quit; /* shutting down: streams end */
	int ctl; /* to the monitor; writes under ctl_lock */
	pthread_mutex_t ctl_lock;
	pthread_mutex_t pen_lock; /* guards pen */
	struct api_penalty *pen;
	size_t npen;
};

/* A client connection (libmicrohttpd's socket context). */
struct api_conn {
	struct store *store; /* opened on first use, in its thread */
	char ip[NET_ADDRSTRLEN];
};

/* Path segments a route has at most. */
#define API_PATH_MAX 6

/* One request, from its first call to the answer. */
struct api_req {
	struct api *api;
	struct api_conn *conn;
	struct MHD_Connection *mc;
	const char *method; /* libmicrohttpd's, valid for the request */
	char *url; /* the path, a copy */
	char *segs[API_PATH_MAX]; /* its segments (in <segbuf>) */
	size_t nsegs;
	char *segbuf;
	struct buf *body; /* the request body so far */
	int body_too_big; /* past ApiMaxBodySize: dropped */
	int answered; /* a response is queued */
	/* Set by authentication. */
	struct store_apikey *key;
	const char *scope; /* key's account id, NULL for an admin */
	char *base; /* "http://host:port", for uri fields */
	/* The answer. */
	int status;
	struct buf *out;
	const char *content_type; /* NULL: application/json */
	/* A streamed answer instead (/events/stream): takes over. */
	void *stream; /* an MHD_Response * */
	const char *access_token; /* ?access_token=, for /events/stream */
};

/* api.c */
/* Tell the monitor <type> with string <s> (NULL: none). */
void api_tell(struct api *api, int type, const char *s);
/* Predicate: source <ip> is refused for now (a penalty). */
int api_penalized(struct api *api, const char *ip, int64_t *leftp);

/* api-http.c */
/* libmicrohttpd's handlers (passed to MHD_start_daemon). */
int api_http_start(struct api *api, int lfd, const char *cert,
    const char *key);
void api_http_stop(struct api *api);

/*
 * Answer helpers for the routes. Each one sets rq->status and rq->out.
 */
/*
 * An error: {"error_code":"PORTHOLE_…","status_code":<status>,
 * "msg":"…","details":{…}}. <code> is the name without the prefix
 * ("NOT_FOUND"); details may be NULL (an empty object) or JSON text.
 */
void api_error(struct api_req *rq, int status, const char *code,
    const char *details, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The connection's store, or NULL after answering 503. */
struct store *api_req_store(struct api_req *rq);
/* The value of query parameter <name>, or NULL. */
const char *api_query(struct api_req *rq, const char *name);
/* The value of request header <name>, or NULL. */
const char *api_header(struct api_req *rq, const char *name);
/* Append "<base><path>" as a JSON string to <b>. */
void api_uri(struct buf *b, struct api_req *rq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append "key":{"id":ID,"uri":"<base>/<plural>/ID"} or "key":null. */
void api_ref(struct buf *b, struct api_req *rq, const char *key,
    const char *plural, const char *id);
/* Append "key":"RFC 3339" (or null for 0). */
void api_time(struct buf *b, const char *key, int64_t ms);

/* api-openapi.c: the OpenAPI description served at /openapi.json. */
extern const char api_openapi_json[];

/* api-routes.c: dispatch a request (rq->method, rq->segs) to its route. */
void api_route(struct api_req *rq);

#endif /* PORTHOLE_API_INT_H */
