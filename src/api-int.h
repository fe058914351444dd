/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_API_INT_H
#define PORTHOLE_API_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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
	pthread_mutex_t write_lock; /* held by a changing request (SQLite) */
	int serialize_writes; /* SQLite: one changing request at a time */
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
	size_t body_seen; /* bytes of body received, kept or not */
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
	const struct api_kind *kind; /* the route's resource, or NULL */
	/*
	 * A request without a connection (mc NULL: tests/check_api.c and
	 * tests/fuzz/fuzz_api.c): its query arguments and headers, as
	 * name, value pairs ending with a NULL name (or NULL for none).
	 */
	const char *const *query_kv;
	const char *const *header_kv;
};

/* api.c */
/* Tell the monitor <type> with string <s> (NULL: none). */
void api_tell(struct api *api, int type, const char *s);
/* Predicate: source <ip> is refused for now (a penalty). */
int api_penalized(struct api *api, const char *ip, int64_t *leftp);

/* api-http.c */
/*
 * Serve the API with libmicrohttpd on listening socket <lfd> (its own
 * once this returns 0), with HTTPS when PEM texts <cert> and <key> are
 * given. Returns 0, or -1 after logging why.
 */
int api_http_start(struct api *api, int lfd, const char *cert, const char *key);
/* Stop serving: set api->quit first, so that event streams end. */
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
/*
 * The value of query parameter <name>, or NULL; as libmicrohttpd's
 * lookup, the name is matched without regard to case.
 */
const char *api_query(struct api_req *rq, const char *name);
/* The value of request header <name> (any case), or NULL. */
const char *api_header(struct api_req *rq, const char *name);
/*
 * Split rq->url into rq->segs, in rq->segbuf ("/a//b/" gives "a" and
 * "b"). Returns 0, or -1 if it has more than API_PATH_MAX segments.
 */
int api_split(struct api_req *rq);
/* Append "<base><path>" as a JSON string to <b>. */
void api_uri(struct buf *b, struct api_req *rq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append "key":{"id":ID,"uri":"<base>/<plural>/ID"} or "key":null. */
void api_ref(struct buf *b, struct api_req *rq, const char *key,
    const char *plural, const char *id);
/* Append "key":"RFC 3339" (or null for 0). */
void api_time(struct buf *b, const char *key, int64_t ms);

/* api-auth.c */
/*
 * Authenticate rq by its API key (Authorization: Bearer, or with
 * <query_ok> also ?access_token=): sets rq->key and rq->scope. Returns
 * 0, or -1 with the answer made (401, 403, 503).
 */
int api_auth(struct api_req *rq, int query_ok);

/* api-util.c: requests and answers in terms of ops.h and jansson. */
struct ops;
struct ops_err;
struct ops_page;
/* Set up <o> for rq's caller (scope, announce hook, store). */
int api_ops(struct api_req *rq, struct ops *o);
/* Answer with ops' error <err>. */
void api_ops_error(struct api_req *rq, const struct ops_err *err);
/*
 * Parse rq's body as a JSON object whose members are all among
 * <allowed> (NULL-terminated); an empty body is {}. Returns it (the
 * caller json_decref()s it), or NULL with a 400 answer made.
 */
json_t *api_body(struct api_req *rq, const char *const *allowed);
/*
 * Member <name> of <o>: a string (NULL if absent or null), an integer
 * within [min, max] (*vp unchanged if absent), a boolean (-1 if
 * absent), a list of strings (*np 0 if absent; the array is the
 * caller's, the strings borrowed from <o>). Return 0, or -1 with a 400
 * answer made for the wrong type or range.
 */
int api_str(struct api_req *rq, json_t *o, const char *name, const char **sp);
int api_int(struct api_req *rq, json_t *o, const char *name, long long min,
    long long max, int *vp);
int api_bool(struct api_req *rq, json_t *o, const char *name, int *vp);
int api_strlist(struct api_req *rq, json_t *o, const char *name,
    const char ***listp, size_t *np);
/* The page of a list request (?limit, ?before_id); -1: 400 made. */
int api_page(struct api_req *rq, struct ops_page *page);
/* Start a list answer: {"<plural>":[ */
void api_list_begin(struct api_req *rq, const char *plural);
/* Before each item but the first: ',' (<i> its index). */
void api_list_sep(struct api_req *rq, size_t i);
/*
 * End a list answer: ],"uri":…,"next_page_uri":… (with <more>, a URI
 * for the page before <last_id>, keeping the query's filters <keep>,
 * NULL-terminated names).
 */
void api_list_end(struct api_req *rq, int more, const char *last_id,
    const char *const *keep);
/* Start an object answer of <status>: rq->out = "{". */
void api_obj_begin(struct api_req *rq, int status);
/* Answer 204 No Content. */
void api_no_content(struct api_req *rq);
/* Append "key":{"id":ID,"name":NAME} or "key":null. */
void api_account_ref(struct buf *b, const char *key, const char *id,
    const char *name);
/* Append "key":"text" where text "" for NULL (description, metadata). */
void api_text(struct buf *b, const char *key, const char *text);

/* api-kind.c: the handlers every resource family shares. */
/*
 * A resource family of the API, for the generic handlers below: how
 * ops reads, lists and deletes its objects (void *: the store's object
 * of the family, struct store_X) and how one is written in JSON. The
 * kinds and their adapters over the typed ops functions are made in
 * api-kind.c, from one table (API_KINDS).
 */
struct api_kind {
	const char *plural; /* the key of a list answer */
	/* the query filter of a list (kept in paging), or NULL */
	const char *filter;
	size_t idseg; /* the path segment that is an object's id */
	/* ops_X_get: *objp is the caller's (k->free). */
	int (*get)(struct ops *o, const char *id, void **objp,
	    struct ops_err *err);
	/* ops_X_list (filtered by <filter>): *listp is the caller's. */
	int (*list)(struct ops *o, const char *filter,
	    const struct ops_page *page, void **listp, size_t *np, int *morep,
	    struct ops_err *err);
	/* ops_X_delete or revoke; NULL where the family has none. */
	int (*del)(struct ops *o, const char *id, struct ops_err *err);
	/* ops' update of description / metadata (NULL keeps); or NULL. */
	int (*texts)(struct ops *o, const char *id, const char *description,
	    const char *metadata, void **objp, struct ops_err *err);
	/* Append object <obj> as JSON. */
	void (*json)(struct buf *b, struct api_req *rq, struct ops *o,
	    const void *obj);
	/* Item <i> of list <list>, its id in *idp (borrowed). */
	const void *(*item)(const void *list, size_t i, const char **idp);
	void (*free)(void *obj);
	void (*list_free)(void *list, size_t n);
};
/* GET <plural>/<id> of rq->kind. */
void api_kind_get(struct api_req *rq);
/* GET <plural> of rq->kind: a page (limit, before_id, next_page_uri). */
void api_kind_list(struct api_req *rq);
/* DELETE <plural>/<id> of rq->kind: 204. */
void api_kind_delete(struct api_req *rq);
/* PATCH <plural>/<id> of rq->kind with {description, metadata}. */
void api_kind_update_texts(struct api_req *rq);
/* Answer <status> with object <obj> of kind <k>. */
void api_kind_answer(struct api_req *rq, const struct api_kind *k,
    struct ops *o, int status, const void *obj);

/*
 * How each family writes one of its objects (struct store_X) in JSON,
 * for its kind; in the family's file. The _kind_json ones leave out
 * the secret that only the answer to a creation has.
 */
void api_addr_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_session_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_endpoint_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_sshkey_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_token_kind_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_apikey_kind_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_policy_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_rule_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_edge_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_account_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_dest_kind_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);
void api_sub_json(struct buf *b, struct api_req *rq, struct ops *o,
    const void *obj);

/* The kinds (api-kind.c). */
extern const struct api_kind api_kind_addr, api_kind_session, api_kind_endpoint,
    api_kind_sshkey, api_kind_token, api_kind_apikey, api_kind_policy,
    api_kind_rule, api_kind_edge, api_kind_account, api_kind_dest, api_kind_sub;

/* The routes' handlers, one file per family. */
/* api-addr.c */
void api_addr_create(struct api_req *rq);
void api_addr_update(struct api_req *rq);
/* api-session.c: tunnel sessions and endpoints */
void api_session_stop(struct api_req *rq);
/* api-cred.c: SSH keys, authtokens, API keys */
void api_sshkey_create(struct api_req *rq);
void api_token_create(struct api_req *rq);
void api_apikey_create(struct api_req *rq);
/* api-policy.c: IP policies and rules */
void api_policy_create(struct api_req *rq);
void api_rule_create(struct api_req *rq);
/* api-edge.c: TCP edges */
void api_edge_create(struct api_req *rq);
void api_edge_update(struct api_req *rq);
void api_edge_hostport_add(struct api_req *rq);
void api_edge_hostport_remove(struct api_req *rq);
void api_edge_backend_add(struct api_req *rq);
void api_edge_backend_remove(struct api_req *rq);
/* api-account.c */
void api_account_create(struct api_req *rq);
void api_account_update(struct api_req *rq);
/* api-hook.c: webhooks' destinations and subscriptions */
void api_dest_create(struct api_req *rq);
void api_dest_update(struct api_req *rq);
void api_sub_create(struct api_req *rq);
void api_sub_update(struct api_req *rq);
/* api-events.c: the event list and the live stream (SSE) */
void api_events_list(struct api_req *rq);
void api_events_stream(struct api_req *rq);
/*
 * Parse <s>, a Last-Event-ID (a stream's "id:", a decimal sequence
 * number from 0): returns 0 and stores it in *seqp, or -1.
 */
int api_last_event_id(const char *s, int64_t *seqp);
/* api-usage.c: usage per account and endpoint */
void api_usage_list(struct api_req *rq);

/* api-openapi.c: the OpenAPI description served at /openapi.json. */
extern const char api_openapi_json[];

/* api-routes.c: dispatch a request (rq->method, rq->segs) to its route. */
void api_route(struct api_req *rq);

#endif /* PORTHOLE_API_INT_H */
