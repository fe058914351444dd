/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_EVENT_H
#define PORTHOLE_EVENT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Events, in a hosted tunnel provider's envelope:
 *
 *   {"event_id":"ev_…","event_type":"tcp_connection_closed.v0",
 *    "event_timestamp":"2026-11-25T12:00:00.123Z","account_id":"ac_…",
 *    "object":{…}}
 *
 * This module only builds the JSON text (one line, no newline); the
 * store keeps events (store_event_*), the session processes and
 * portholectl write them to EventLog (event_log_write).
 */

#define EVENT_CONNECTION_CLOSED "tcp_connection_closed.v0"
#define EVENT_ADDRESS_CREATED   "tcp_address_created.v0"
#define EVENT_ADDRESS_UPDATED   "tcp_address_updated.v0"
#define EVENT_ADDRESS_DELETED   "tcp_address_deleted.v0"
#define EVENT_SESSION_STARTED   "tcp_session_started.v0"
#define EVENT_SESSION_ENDED     "tcp_session_ended.v0"
#define EVENT_ENDPOINT_STARTED  "tcp_endpoint_started.v0"
#define EVENT_ENDPOINT_STOPPED  "tcp_endpoint_stopped.v0"
/* Refused connections of one source in one minute, past the rate cap. */
#define EVENT_CONNECTIONS_REFUSED "tcp_connections_refused.v0"

/* A built event: what the store keeps and the log writes. */
struct event {
	char *id; /* "ev_…" */
	const char *type; /* one of the EVENT_* strings (static) */
	int64_t timestamp_ms;
	char *account_id; /* may be NULL */
	char *json; /* the whole envelope, one line */
};

/* One relayed or refused public connection. */
struct event_conn {
	const struct sockaddr *client; /* the public client */
	const struct sockaddr *server; /* our public socket (TunnelAddress) */
	const char *server_name; /* the PublicHost of the endpoint */
	int64_t start_ms;
	int64_t end_ms;
	uint64_t bytes_in; /* what the client sent */
	uint64_t bytes_out; /* what the client was sent */
	const char *endpoint_id;
	const char *endpoint_url; /* "tcp://host:port" */
	const char *edge_id; /* or NULL; else the object gets "edge":{"id"} */
	int allowed; /* IP restrictions: 1 allow, 0 deny */
	/*
	 * Refused before any channel opened: why ("ip_policy",
	 * "connection_rate", "transfer_quota", …), else NULL; the object
	 * then gets "refused":{"reason":…}.
	 */
	const char *refused;
};

/*
 * Build a tcp_connection_closed.v0 event for account <account_id> at
 * <now_ms>. conn.client_ip/client_port/server_ip/server_port come from
 * the sockaddrs (IPv4-mapped shown as IPv4), start_ts/end_ts as RFC
 * 3339 with milliseconds, ip_policy.decision "allow" or "deny", and
 * refused.reason for a connection refused before any channel. The
 * caller frees it with event_free.
 */
struct event *event_conn_closed(const char *account_id,
    const struct event_conn *c, int64_t now_ms);

/*
 * Build an event of <type> whose "object" member is the JSON text
 * <object_json> (an object, inserted as is; the caller makes it valid,
 * e.g. with json.h). The caller frees it with event_free.
 */
/*
 * Name the node (and region; NULL or "" for none) that every event this
 * process builds from now on comes from: the envelope gains "node" and
 * "region". Unset (portholectl), neither is written.
 */
void event_set_origin(const char *node, const char *region);
struct event *event_new(const char *type, const char *account_id,
    const char *object_json, int64_t now_ms);
/*
 * As event_new(), for what node <node> (region <region>) did, which
 * another node records (the sessions of a node taken for lost).
 */
struct event *event_new_from(const char *type, const char *account_id,
    const char *object_json, int64_t now_ms, const char *node,
    const char *region);

void event_free(struct event *ev); /* NULL is a no-op */

/*
 * Append the JSON lines of <evs> (each followed by "\n") to EventLog
 * <path>: "none" or NULL writes nothing, "-" writes to standard output,
 * anything else is opened with O_APPEND|O_CREAT (mode 0640 less the
 * umask: portholed and portholectl run with 077) for this write only, so a rotated file is picked up at once. Each event is
 * written with one write(2), so lines from several processes never
 * mix. Returns 0 or PORTHOLE_ERR_SYSTEM.
 */
int event_log_write(const char *path, struct event *const *evs, size_t n);

#endif /* PORTHOLE_EVENT_H */
