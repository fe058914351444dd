/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "id.h"
#include "json.h"
#include "misc.h"
#include "net.h"
#include "xmalloc.h"

/* Room for "2026-11-25T12:00:00.123Z" and then some. */
#define EVENT_TSLEN 40

/* The node (and region) this process's events come from, if any. */
static char *event_node;
static char *event_region;

void
event_set_origin(const char *node, const char *region)
{
	free(event_node);
	free(event_region);
	event_node = node != NULL ? xstrdup(node) : NULL;
	event_region =
	    region != NULL && *region != '\0' ? xstrdup(region) : NULL;
}

/*
 * Start <ev> as an event of <type> for <account_id> at <now_ms>, and
 * write its envelope into <b> up to where the value of "object" goes.
 */
static void
event_start_from(struct event *ev, struct buf *b, const char *type,
    const char *account_id, int64_t now_ms, const char *node,
    const char *region)
{
	char ts[EVENT_TSLEN];

	ev->id = id_new("ev");
	ev->type = type;
	ev->timestamp_ms = now_ms;
	ev->account_id = account_id != NULL ? xstrdup(account_id) : NULL;
	buf_putc(b, '{');
	json_kv_str(b, 1, "event_id", ev->id);
	json_kv_str(b, 0, "event_type", type);
	json_kv_str(b, 0, "event_timestamp",
	    misc_rfc3339(now_ms, ts, sizeof(ts)));
	json_kv_str(b, 0, "account_id", account_id);
	if (node != NULL) {
		json_kv_str(b, 0, "node", node);
		json_kv_str(b, 0, "region",
		    region != NULL && *region != '\0' ? region : NULL);
	}
	buf_puts(b, ",\"object\":");
}

/* event_start_from() with this process's origin. */
static void
event_start(struct event *ev, struct buf *b, const char *type,
    const char *account_id, int64_t now_ms)
{
	event_start_from(ev, b, type, account_id, now_ms, event_node,
	    event_region);
}

/*
 * Write the members <ipkey> and <portkey> of address <sa>: its numeric
 * address (IPv4-mapped shown as IPv4) and port, or null for both when
 * there is no address of a known family. <first> as for json_kv_str.
 */
static void
event_addr(struct buf *b, int first, const char *ipkey, const char *portkey,
    const struct sockaddr *sa)
{
	char ip[NET_ADDRSTRLEN];
	uint16_t port;

	if (sa == NULL || net_ntop(sa, ip, sizeof(ip), &port) != 0) {
		json_kv_str(b, first, ipkey, NULL);
		json_kv_str(b, 0, portkey, NULL);
		return;
	}
	json_kv_str(b, first, ipkey, ip);
	json_kv_int(b, 0, portkey, port);
}

/* Write member <key> with the unsigned number <v>. */
static void
event_kv_uint(struct buf *b, const char *key, uint64_t v)
{
	buf_putc(b, ',');
	json_str(b, key);
	buf_printf(b, ":%" PRIu64, v);
}

/* Build a tcp_connection_closed.v0 event; NULL if <c> is NULL. */
struct event *
event_conn_closed(const char *account_id, const struct event_conn *c,
    int64_t now_ms)
{
	struct event *ev;
	struct buf *b;
	char ts[EVENT_TSLEN];

	if (c == NULL)
		return NULL;
	ev = xcalloc(1, sizeof(*ev));
	b = buf_new();
	event_start(ev, b, EVENT_CONNECTION_CLOSED, account_id, now_ms);

	buf_puts(b, "{\"conn\":{");
	event_addr(b, 1, "client_ip", "client_port", c->client);
	event_addr(b, 0, "server_ip", "server_port", c->server);
	json_kv_str(b, 0, "server_name", c->server_name);
	json_kv_str(b, 0, "start_ts",
	    misc_rfc3339(c->start_ms, ts, sizeof(ts)));
	json_kv_str(b, 0, "end_ts", misc_rfc3339(c->end_ms, ts, sizeof(ts)));
	event_kv_uint(b, "bytes_in", c->bytes_in);
	event_kv_uint(b, "bytes_out", c->bytes_out);
	buf_puts(b, "},\"endpoint\":{");
	json_kv_str(b, 1, "id", c->endpoint_id);
	json_kv_str(b, 0, "url", c->endpoint_url);
	buf_putc(b, '}');
	/* Only a member of an edge says which; others have no "edge". */
	if (c->edge_id != NULL) {
		buf_puts(b, ",\"edge\":{");
		json_kv_str(b, 1, "id", c->edge_id);
		buf_putc(b, '}');
	}
	buf_puts(b, ",\"ip_policy\":{");
	json_kv_str(b, 1, "decision", c->allowed ? "allow" : "deny");
	buf_putc(b, '}');
	if (c->refused != NULL) {
		buf_puts(b, ",\"refused\":{");
		json_kv_str(b, 1, "reason", c->refused);
		buf_putc(b, '}');
	}
	buf_puts(b, "}}");

	/* The text passes to the event, which the caller frees. */
	ev->json = buf_steal(b);
	buf_free(b);
	return ev;
}

/*
 * Build an event of <type> around <object_json>, inserted as is ("{}"
 * if NULL); NULL if <type> is NULL.
 */
struct event *
event_new(const char *type, const char *account_id, const char *object_json,
    int64_t now_ms)
{
	return event_new_from(type, account_id, object_json, now_ms, event_node,
	    event_region);
}

struct event *
event_new_from(const char *type, const char *account_id,
    const char *object_json, int64_t now_ms, const char *node,
    const char *region)
{
	struct event *ev;
	struct buf *b;

	if (type == NULL)
		return NULL;
	ev = xcalloc(1, sizeof(*ev));
	b = buf_new();
	event_start_from(ev, b, type, account_id, now_ms, node, region);
	buf_puts(b, object_json != NULL ? object_json : "{}");
	buf_putc(b, '}');
	/* The text passes to the event, which the caller frees. */
	ev->json = buf_steal(b);
	buf_free(b);
	return ev;
}

/* Free <ev>; NULL is a no-op. The type is static and not ours. */
void
event_free(struct event *ev)
{
	if (ev == NULL)
		return;
	free(ev->id);
	free(ev->account_id);
	free(ev->json);
	free(ev);
}

/*
 * Append the <n> events of <evs> as JSON lines to EventLog <path>, one
 * write(2) each; NULL elements are skipped.
 */
int
event_log_write(const char *path, struct event *const *evs, size_t n)
{
	struct buf *b = NULL;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL, fd = -1, saved;

	if (path == NULL || strcasecmp(path, "none") == 0 || evs == NULL ||
	    n == 0) {
		r = 0;
		goto out;
	}
	if (strcmp(path, "-") == 0)
		fd = STDOUT_FILENO;
	else if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	              0640)) == -1) {
		r = PORTHOLE_ERR_SYSTEM;
		goto out;
	}
	b = buf_new();
	for (i = 0; i < n; i++) {
		if (evs[i] == NULL || evs[i]->json == NULL)
			continue;
		/* The line and its newline go in one write, so they stay whole. */
		buf_reset(b);
		buf_puts(b, evs[i]->json);
		buf_putc(b, '\n');
		if ((r = misc_write_all(fd, buf_str(b), buf_len(b), -1)) != 0)
			goto out;
	}
	r = 0;
out:
	/* Keep write(2)'s errno through close(2) for porthole_strerror. */
	saved = errno;
	if (fd != -1 && fd != STDOUT_FILENO)
		close(fd);
	errno = saved;
	buf_free(b);
	return r;
}
