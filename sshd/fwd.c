/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "portholed.h"

#include "cmdline.h"
#include "acl.h"
#include "compat.h"
#include "conf.h"
#include "err.h"
#include "fwdreq.h"
#include "id.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "pool.h"
#include "store.h"
#include "xmalloc.h"

#define FWD_BACKLOG       1024
#define FWD_ACCEPT_BATCH  64
#define FWD_JOIN_WAIT_MS  5000 /* for the parent to answer a JOIN */
#define FWD_LEAVE_WAIT_MS 2000 /* for its LEFTs at session end */

static int fwd_brk_send(struct sess *, enum brk_type, const char *, int,
    const struct sockaddr_storage *, const pid_t *, int);
static void fwd_brk_hold(struct sess *, const struct brk_msg *, int);
static int fwd_edge_join(struct sess *, const char *, int, char *, size_t);
static int fwd_brk_queue(struct sess *, const struct brk_msg *, int);

/* What pool_pick's callback needs to bind a candidate port. */
struct fwd_bind {
	struct sess *sess;
	int fd;
};

/*
 * pool_pick callback: try to listen on TunnelAddress:<port>, skipping
 * ports that are, or ever were, reserved addresses.
 */
static int
fwd_try_port(uint16_t port, void *arg)
{
	struct fwd_bind *fb = arg;
	int used = 0, r;

	if ((r = store_address_port_used(fb->sess->store, port, &used)) != 0)
		return r;
	if (used)
		return PORTHOLE_ERR_EXISTS;
	return net_listen(fb->sess->conf->tunnel_address, port, FWD_BACKLOG,
	    &fb->fd);
}

/*
 * A random address on <host>: the port this credential had last time if
 * it is still free (AddressAffinity), else a free port from PortRange.
 * Returns 0 with the listener in *fdp and the port in *portp, or -1
 * with a reason in <reason>.
 */
static int
fwd_bind_random(struct sess *s, const char *host, int *fdp, uint16_t *portp,
    char *reason, size_t rlen)
{
	struct fwd_bind fb;
	size_t i;
	int r;

	for (i = 0; i < s->naffinity; i++) {
		struct store_hostport *hp = &s->affinity[i];
		uint16_t port;

		if (hp->port <= 0 || hp->port > 65535 ||
		    strcasecmp(hp->host, host) != 0 ||
		    !pool_contains(s->pool, (uint16_t)hp->port))
			continue;
		port = (uint16_t)hp->port;
		hp->port = 0; /* tried: not again in this session */
		fb.sess = s;
		fb.fd = -1;
		if (fwd_try_port(port, &fb) == 0) {
			debug("session %s: %s:%u again (AddressAffinity)",
			    s->id, host, port);
			*fdp = fb.fd;
			*portp = port;
			return 0;
		}
	}
	fb.sess = s;
	fb.fd = -1;
	if ((r = pool_pick(s->pool, fwd_try_port, &fb, portp)) != 0) {
		if (r == PORTHOLE_ERR_EXHAUSTED)
			snprintf(reason, rlen, "no free port is left on %s",
			    host);
		else
			snprintf(reason, rlen, "cannot listen: %s",
			    porthole_strerror(r));
		return -1;
	}
	*fdp = fb.fd;
	return 0;
}

/* Free forward <f>'s memory (its listener is closed by the caller). */
static void
fwd_free(struct fwd *f)
{
	free(f->id);
	free(f->bind_address);
	free(f->host);
	free(f->hostport);
	free(f->address_id);
	free(f->edge_id);
	acl_free(f->acl);
	acl_free(f->acl_edge);
	free(f);
}

/*
 * Stop taking connections for <f>: close its own listener, or for an
 * edge member tell the parent (its LEFT is read in fwd_broker).
 */
static void
fwd_close_listener(struct sess *s, struct fwd *f)
{
	if (f->fd != -1) {
		if (f->watching)
			sess_unwatch(s, f->fd);
		close(f->fd);
		f->fd = -1;
	}
	if (f->edge_id != NULL && !f->edge_left) {
		f->edge_left = 1;
		(void)fwd_brk_send(s, BRK_LEAVE, f->address_id, -1, NULL, NULL,
		    0);
	}
}

/*
 * Load edge <edge_id>'s settings into <f>: its IP policy (a layer on
 * top of the others) and its PROXY setting. Returns 0 or -1.
 */
static int
fwd_edge_settings(struct sess *s, struct fwd *f, const char *edge_id)
{
	struct store_edge *e = NULL;
	struct acl *acl = NULL;
	int r;

	if ((r = store_edge_get(s->store, edge_id, &e)) != 0) {
		error_r(r, "edge %s", edge_id);
		return -1;
	}
	if (sess_policy_acl(s, e->ip_policy_id, &acl) != 0) {
		store_edge_free(e);
		return -1;
	}
	if (f->edge_id == NULL)
		f->edge_id = xstrdup(edge_id);
	acl_free(f->acl_edge);
	f->acl_edge = acl;
	f->edge_proxy = e->proxy_proto;
	store_edge_free(e);
	return 0;
}

/* Start watching <f>'s listener: connections are accepted from now. */
static void
fwd_watch(struct sess *s, struct fwd *f)
{
	if (f->edge_id != NULL && !f->dead && !f->edge_ready) {
		/* The parent listens; tell it we can take connections. */
		if (fwd_brk_send(s, BRK_READY, f->address_id, -1, NULL, NULL,
		        0) == 0)
			f->edge_ready = 1;
		return;
	}
	if (f->dead || f->watching || f->fd == -1)
		return;
	if (sess_watch(s, f->fd, &f->ep, EPOLLIN, 1) == 0)
		f->watching = 1;
}

/* Send message <type> about <address_id> to the parent. */
static int
fwd_brk_send(struct sess *s, enum brk_type type, const char *address_id, int fd,
    const struct sockaddr_storage *peer, const pid_t *tried, int ntried)
{
	struct brk_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	strlcpy(m.address_id, address_id, sizeof(m.address_id));
	if (peer != NULL)
		m.peer = *peer;
	if (ntried > BRK_TRIED_MAX)
		ntried = BRK_TRIED_MAX;
	if (ntried > 0)
		memcpy(m.tried, tried, (size_t)ntried * sizeof(pid_t));
	m.ntried = (uint32_t)ntried;
	m.count = 1; /* DONE */
	return fwd_brk_queue(s, &m, fd);
}

/*
 * Send <m> (and <fd>, taken) to the parent now or as soon as it reads;
 * keep the epoll interest in step with what waits.
 */
static int
fwd_brk_queue(struct sess *s, const struct brk_msg *m, int fd)
{
	int r;

	if (s->brkfd == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((r = brk_queue_send(s->brkfd, &s->brkq, m, fd)) != 0)
		error("session %s: edge message %u: %s", s->id, m->type,
		    strerror(errno));
	fwd_broker_interest(s);
	return r;
}

void
fwd_broker_interest(struct sess *s)
{
	uint32_t ev = EPOLLIN | (s->brkq.n > 0 ? EPOLLOUT : 0);

	if (s->brkfd != -1 && ev != s->brk_events &&
	    sess_watch(s, s->brkfd, &s->brk_ep, ev, 0) == 0)
		s->brk_events = ev;
}

void
fwd_broker_flush(struct sess *s)
{
	if (s->brkfd == -1 || s->brkq.n == 0)
		return;
	if (brk_queue_flush(s->brkfd, &s->brkq) != 0)
		error("session %s: edge messages: %s", s->id, strerror(errno));
	fwd_broker_interest(s);
}

/*
 * Join the group serving edge address <address_id> on <port>: ask the
 * parent, which binds the port for the first member, and wait for its
 * answer (the tcpip-forward reply cannot wait for a later turn of the
 * loop). Connections for other groups that arrive meanwhile are kept
 * for the main loop. Returns 0, or -1 with a reason.
 */
static int
fwd_edge_join(struct sess *s, const char *address_id, int port, char *reason,
    size_t rlen)
{
	struct brk_msg m;
	struct pollfd pfd;
	int64_t deadline = misc_monotonic_ms() + FWD_JOIN_WAIT_MS;
	int fd, r;

	memset(&m, 0, sizeof(m));
	m.type = BRK_JOIN;
	m.port = (uint32_t)port;
	strlcpy(m.address_id, address_id, sizeof(m.address_id));
	if (fwd_brk_queue(s, &m, -1) != 0) {
		snprintf(reason, rlen, "internal error (edge)");
		return -1;
	}
	for (;;) {
		int64_t left = deadline - misc_monotonic_ms();

		if (left <= 0) {
			snprintf(reason, rlen, "the server did not answer");
			return -1;
		}
		pfd.fd = s->brkfd;
		pfd.events = POLLIN | (s->brkq.n > 0 ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
		fwd_broker_flush(s);
		r = brk_recv(s->brkfd, &m, &fd, 0);
		if (r == -1 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;
		if (r != 0)
			break;
		if ((m.type == BRK_JOINED || m.type == BRK_JOIN_FAILED) &&
		    strcmp(m.address_id, address_id) == 0) {
			if (fd != -1)
				close(fd);
			if (m.type == BRK_JOINED)
				return 0;
			snprintf(reason, rlen, "%s", m.reason);
			return -1;
		}
		fwd_brk_hold(s, &m, fd);
	}
	snprintf(reason, rlen, "internal error (edge)");
	return -1;
}

/*
 * The reserved address <host>:<port>, if account of <s> holds it.
 * Returns 0 with the listener in *fdp and the address row in *ap (to
 * free); -2 if it is held but already served; -1 if it may not be
 * served; a reason in <reason> for both.
 */
static int
fwd_bind_reserved(struct sess *s, const char *host, int port, int *fdp,
    struct store_address **ap, char *reason, size_t rlen)
{
	struct store_address *a = NULL;
	int r, ret = -1;

	if (s->anonymous) {
		snprintf(reason, rlen,
		    "anonymous sessions get random addresses only; use "
		    "port 0");
		goto out;
	}
	r = store_address_find(s->store, host, port, &a);
	if (r == 0 && a->edge_id != NULL) {
		/* An edge's address: backends join its group, nobody else. */
		int backend = 0;

		if (store_edge_is_backend(s->store, a->edge_id, s->account_id,
		        &backend) != 0 ||
		    !backend) {
			snprintf(reason, rlen,
			    "%s:%d belongs to edge %s and account %s is not "
			    "one of its backends",
			    host, port, a->edge_id, s->account_name);
			goto out;
		}
		if (fwd_edge_join(s, a->id, port, reason, rlen) != 0)
			goto out;
		*fdp = -1; /* the parent listens */
		*ap = a;
		a = NULL;
		ret = 0;
		goto out;
	}
	if (r == PORTHOLE_ERR_NOT_FOUND ||
	    (r == 0 &&
	        (a->account_id == NULL ||
	            strcmp(a->account_id, s->account_id) != 0))) {
		snprintf(reason, rlen,
		    "%s:%d is not an address reserved for account %s; "
		    "use port 0 for a random address",
		    host, port, s->account_name);
		goto out;
	}
	if (r != 0) {
		snprintf(reason, rlen, "internal error (store)");
		goto out;
	}
	r = net_listen(s->conf->tunnel_address, (uint16_t)port, FWD_BACKLOG,
	    fdp);
	if (r == PORTHOLE_ERR_EXISTS) {
		snprintf(reason, rlen,
		    "%s:%d is already being served (by another session of "
		    "account %s?)",
		    host, port, s->account_name);
		ret = -2; /* in use, not refused */
		goto out;
	}
	if (r != 0) {
		snprintf(reason, rlen, "cannot listen: %s",
		    porthole_strerror(r));
		goto out;
	}
	*ap = a; /* now the caller's */
	a = NULL;
	ret = 0;
out:
	store_address_free(a);
	return ret;
}

int
fwd_request(struct sess *s, ssh_message msg)
{
	struct conf *conf = s->conf;
	struct store_endpoint row;
	struct fwdreq req;
	struct fwd *f;
	const char *addr, *host, *safe;
	char reason[FWDREQ_REASON_LEN];
	struct store_address *addrow = NULL;
	const char *code = "internal"; /* the counted reason of a refusal */
	uint16_t bound = 0;
	int port, fd = -1, r, rc;

	addr = ssh_message_global_request_address(msg);
	if (addr == NULL)
		addr = "";
	port = ssh_message_global_request_port(msg);
	/* What the peer controls is judged in src/fwdreq.c (fuzzed). */
	rc = fwdreq_classify(addr, port,
	    (const char *const *)conf->public_hosts, conf->npublic_hosts, &req);
	safe = req.safe;
	if (s->refusal != NULL) {
		snprintf(reason, sizeof(reason), "%s", s->refusal);
		code = "limit";
		goto refuse;
	}
	/*
	 * A malformed request is refused before the session's limit is
	 * looked at, an unknown host after it, so that each refusal is
	 * counted under the same code as it always was.
	 */
	if (rc == PORTHOLE_ERR_INVALID_FORMAT) {
		snprintf(reason, sizeof(reason), "%s", req.reason);
		code = req.code;
		goto refuse;
	}
	if (s->nfwds >= s->max_endpoints) {
		snprintf(reason, sizeof(reason),
		    "this session already has %d forwards "
		    "(MaxEndpointsPerSession)",
		    s->nfwds);
		code = "limit";
		goto refuse;
	}
	if (rc != 0) {
		snprintf(reason, sizeof(reason), "%s", req.reason);
		code = req.code;
		goto refuse;
	}
	host = req.host;
	if (req.kind == FWDREQ_FIXED) {
		code = "not_reserved";
		if ((r = fwd_bind_reserved(s, host, port, &fd, &addrow, reason,
		         sizeof(reason))) != 0) {
			if (r == -2)
				code = "in_use";
			goto refuse;
		}
		bound = (uint16_t)port;
	} else {
		code = "exhausted";
		if (fwd_bind_random(s, host, &fd, &bound, reason,
		        sizeof(reason)) != 0)
			goto refuse;
	}
	code = "internal";

	f = xcalloc(1, sizeof(*f));
	f->ep.kind = EP_KIND_LISTENER;
	f->sess = s;
	f->id = id_new("ep");
	f->bind_address = xstrdup(addr);
	f->host = xstrdup(host);
	f->port = bound;
	if (strchr(f->host, ':') != NULL)
		xasprintf(&f->hostport, "[%s]:%u", f->host, f->port);
	else
		xasprintf(&f->hostport, "%s:%u", f->host, f->port);
	f->fd = fd;
	if (addrow != NULL) {
		f->address_id = xstrdup(addrow->id);
		f->proxy_proto = addrow->proxy_proto;
		if (sess_policy_acl(s, addrow->ip_policy_id, &f->acl) != 0 ||
		    (addrow->edge_id != NULL &&
		        fwd_edge_settings(s, f, addrow->edge_id) != 0)) {
			fwd_close_listener(s, f);
			fwd_free(f);
			snprintf(reason, sizeof(reason),
			    "internal error (IP policy)");
			goto refuse;
		}
	}
	memset(&row, 0, sizeof(row));
	row.id = f->id;
	row.session_id = s->id;
	row.account_id = s->account_id;
	row.host = f->host;
	row.port = f->port;
	row.bind_address = f->bind_address;
	row.metadata = s->opts != NULL ? s->opts->metadata : NULL;
	row.address_id = f->address_id;
	row.edge_id = f->edge_id;
	row.started_ms = misc_now_ms();
	if ((r = store_endpoint_add(s->store, &row)) != 0) {
		error_r(r, "session %s: cannot record endpoint %s", s->id,
		    f->id);
		fwd_close_listener(s, f);
		fwd_free(f);
		snprintf(reason, sizeof(reason), "internal error (store)");
		goto refuse;
	}
	TAILQ_INSERT_TAIL(&s->fwds, f, entry);
	s->nfwds++;
	store_address_free(addrow);
	ssh_message_global_request_reply_success(msg, bound);
	logit("session %s: endpoint %s tcp://%s (asked '%s' port %d)", s->id,
	    f->id, f->hostport, safe, port);
	rec_endpoint(s, f, 1);
	if (s->ready)
		fwd_watch(s, f);
	sess_announce(s, f);
	return 0;
refuse:
	store_address_free(addrow);
	rec_forward_refused(s, code);
	logit("session %s: forward '%s' port %d refused: %s",
	    s->id != NULL ? s->id : "-", safe, port, reason);
	sess_notice(s, "forward_refused", "remote forward '%s:%d' refused: %s",
	    safe, port, reason);
	return 1;
}

/* Stop <f>'s listener and end its store row; relays keep going. */
static void
fwd_stop(struct sess *s, struct fwd *f)
{
	int r;

	if (f->dead)
		return;
	fwd_close_listener(s, f);
	f->watching = 0;
	f->dead = 1;
	s->nfwds--;
	rec_endpoint(s, f, 0);
	if ((r = store_endpoint_end(s->store, f->id, misc_now_ms())) != 0)
		error_r(r, "endpoint %s: cannot record its end", f->id);
}

int
fwd_cancel(struct sess *s, ssh_message msg)
{
	struct fwd *f;
	const char *addr;
	char safe[FWDREQ_ADDR_MAX + 1];
	int port;

	addr = ssh_message_global_request_address(msg);
	if (addr == NULL)
		addr = "";
	port = ssh_message_global_request_port(msg);
	log_sanitize(safe, sizeof(safe), addr);
	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (!f->dead &&
		    fwdreq_matches(f->bind_address, f->port, addr, port))
			break;
	}
	if (f == NULL) {
		verbose("session %s: cancel of unknown forward '%s' port %d",
		    s->id, safe, port);
		return 1;
	}
	logit("session %s: endpoint %s tcp://%s cancelled (%llu "
	      "connection(s) still relayed)",
	    s->id, f->id, f->hostport, (unsigned long long)f->conns_open);
	fwd_stop(s, f);
	ssh_message_global_request_reply_success(msg, 0);
	return 0;
}

void
fwd_check_addresses(struct sess *s)
{
	struct store_address *a = NULL;
	struct fwd *f;
	const char *why;
	int r, backend;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->dead || f->address_id == NULL)
			continue;
		why = NULL;
		r = store_address_get(s->store, f->address_id, &a);
		if (r == PORTHOLE_ERR_NOT_FOUND)
			why = "deleted this address";
		else if (r == 0) {
			struct acl *acl = NULL;

			/* Take up PROXY and IP policy changes. */
			f->proxy_proto = a->proxy_proto;
			if (sess_policy_acl(s, a->ip_policy_id, &acl) == 0) {
				acl_free(f->acl);
				f->acl = acl;
			}
			/* An edge member: still on it, still a backend? */
			backend = 0;
			if (f->edge_id == NULL && a->edge_id != NULL)
				why = "put this address on an edge";
			else if (f->edge_id != NULL &&
			    (a->edge_id == NULL ||
			        strcmp(a->edge_id, f->edge_id) != 0))
				why = "took this address off its edge";
			else if (f->edge_id != NULL &&
			    store_edge_is_backend(s->store, f->edge_id,
			        s->account_id, &backend) == 0 &&
			    !backend)
				why = "removed this account from the edge";
			else if (f->edge_id != NULL)
				(void)fwd_edge_settings(s, f, f->edge_id);
		}
		store_address_free(a);
		a = NULL;
		if (why == NULL)
			continue;
		logit("session %s: endpoint %s tcp://%s stopped: the "
		      "administrator %s",
		    s->id, f->id, f->hostport, why);
		sess_notice(s, "endpoint_stopped",
		    "tcp://%s stopped: the server's administrator %s",
		    f->hostport, why);
		fwd_stop(s, f);
	}
}

void
fwd_start_all(struct sess *s)
{
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry)
		fwd_watch(s, f);
}

void
fwd_resume(struct sess *s)
{
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->paused) {
			f->paused = 0;
			fwd_watch(s, f);
		}
	}
}

/*
 * IP restrictions: the account's policy, the address's policy and the
 * session's --cidr-* flags must all admit the client. A refused client
 * is closed before any channel opens.
 */
static int
fwd_admits(struct sess *s, struct fwd *f, const struct sockaddr *sa)
{
	struct acl *layers[] = { s->acl_account, f->acl, f->acl_edge,
		s->acl_session };
	const struct acl *layer = NULL;
	enum acl_decision why;
	char peer[NET_ADDRSTRLEN + 8];

	if (acl_permits(layers, sizeof(layers) / sizeof(layers[0]), sa, &layer,
	        &why))
		return 1;
	f->conns_refused++;
	verbose("endpoint %s: refused %s: %s (%s)", f->id,
	    net_sa_str(sa, peer, sizeof(peer)),
	    why == ACL_DENY_RULE ? "a deny rule matched"
	                         : "not in any allow rule",
	    acl_name(layer));
	return 0;
}

/*
 * Close refused connection <fd> from <sa> and record it: an event (with
 * the IP restrictions' decision, <allowed>) and a count by <reason>.
 */
static void
fwd_refused(struct sess *s, struct fwd *f, int fd, const struct sockaddr *sa,
    int allowed, const char *reason)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		local.ss_family = AF_UNSPEC;
	close(fd);
	rec_conn_closed(s, f, sa, (struct sockaddr *)&local, misc_now_ms(), 0,
	    0, allowed);
	rec_conn_refused(s, reason);
}

void
fwd_accept(struct sess *s, struct fwd *f)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char peer[NET_ADDRSTRLEN + 8];
	int fd, i;

	for (i = 0; i < FWD_ACCEPT_BATCH && !f->dead; i++) {
		len = sizeof(ss);
		fd = accept4(f->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Stop until a relay ends, or we spin. */
				error("endpoint %s: accept: %s", f->id,
				    strerror(errno));
				sess_unwatch(s, f->fd);
				f->watching = 0;
				f->paused = 1;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED && errno != EINTR)
				error("endpoint %s: accept: %s", f->id,
				    strerror(errno));
			return;
		}
		if (f->conns_open >=
		    (uint64_t)s->conf->max_connections_per_endpoint) {
			logit("endpoint %s: refused %s: %d connections open "
			      "(MaxConnectionsPerEndpoint)",
			    f->id,
			    net_sa_str((struct sockaddr *)&ss, peer,
			        sizeof(peer)),
			    s->conf->max_connections_per_endpoint);
			fwd_refused(s, f, fd, (struct sockaddr *)&ss, 1,
			    "max_connections");
			continue;
		}
		if (!fwd_admits(s, f, (struct sockaddr *)&ss)) {
			fwd_refused(s, f, fd, (struct sockaddr *)&ss, 0,
			    "ip_policy");
			continue;
		}
		relay_start(s, f, fd, (struct sockaddr *)&ss, NULL);
	}
}

void
fwd_unref(struct sess *s, struct fwd *f)
{
	if (f->refs > 0)
		f->refs--;
}

void
fwd_reap(struct sess *s)
{
	struct fwd *f, *next;

	for (f = TAILQ_FIRST(&s->fwds); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (!f->dead || f->refs > 0)
			continue;
		TAILQ_REMOVE(&s->fwds, f, entry);
		rec_forget_fwd(s, f);
		fwd_free(f);
	}
}

void
fwd_close_all(struct sess *s)
{
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry)
		fwd_stop(s, f);
	TAILQ_FOREACH (f, &s->fwds, entry)
		f->refs = 0;
	fwd_reap(s);
}

/* Keep message <m> (and <fd>) for the main loop: see fwd_edge_join. */
static void
fwd_brk_hold(struct sess *s, const struct brk_msg *m, int fd)
{
	s->held = xreallocarray(s->held, s->nheld + 1, sizeof(*s->held));
	s->held[s->nheld].m = *m;
	s->held[s->nheld].fd = fd;
	s->nheld++;
}

void
fwd_broker_held(struct sess *s)
{
	struct fwd_held *held = s->held;
	size_t i, n = s->nheld;

	s->held = NULL;
	s->nheld = 0;
	for (i = 0; i < n; i++)
		fwd_broker(s, &held[i].m, held[i].fd);
	free(held);
}

/* The live edge forward serving <address_id>, or NULL. */
static struct fwd *
fwd_edge_find(struct sess *s, const char *address_id)
{
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (!f->dead && f->edge_id != NULL &&
		    strcmp(f->address_id, address_id) == 0)
			return f;
	}
	return NULL;
}

void
fwd_edge_done(struct sess *s, struct fwd *f)
{
	(void)fwd_brk_send(s, BRK_DONE, f->address_id, -1, NULL, NULL, 0);
}

void
fwd_edge_return(struct sess *s, struct fwd *f, int fd,
    const struct sockaddr_storage *peer, const pid_t *tried, int ntried)
{
	int n = ntried < BRK_TRIED_MAX ? ntried : BRK_TRIED_MAX;

	/* The parent adds us to the members that tried it. */
	debug("endpoint %s: connection handed back to the edge group",
	    f != NULL && f->id != NULL ? f->id : "-");
	/* The descriptor is the queue's now, closed once it is sent. */
	if (fwd_brk_send(s, BRK_RETURN, f != NULL ? f->address_id : "", fd,
	        peer, tried, n) != 0)
		debug("edge: a handed-back connection is lost");
}

void
fwd_broker(struct sess *s, struct brk_msg *m, int fd)
{
	struct fwd *f;

	switch (m->type) {
	case BRK_CONN:
		/* Taken off the socket: the parent may send more. */
		(void)fwd_brk_send(s, BRK_GOT, m->address_id, -1, NULL, NULL,
		    0);
		if (fd == -1)
			break;
		if ((f = fwd_edge_find(s, m->address_id)) == NULL ||
		    f->edge_left || s->closing) {
			/* Leaving: another member can take it. */
			struct fwd tmp;

			memset(&tmp, 0, sizeof(tmp));
			tmp.address_id = m->address_id;
			fwd_edge_return(s, &tmp, fd, &m->peer, m->tried,
			    (int)m->ntried);
			return;
		}
		if (net_set_nonblock(fd, 1) != 0 ||
		    f->conns_open >=
		        (uint64_t)s->conf->max_connections_per_endpoint) {
			fwd_edge_return(s, f, fd, &m->peer, m->tried,
			    (int)m->ntried);
			return;
		}
		if (!fwd_admits(s, f, (struct sockaddr *)&m->peer)) {
			fwd_refused(s, f, fd, (struct sockaddr *)&m->peer, 0,
			    "ip_policy");
			fwd_edge_done(s, f);
			return;
		}
		(void)relay_start(s, f, fd, (struct sockaddr *)&m->peer, m);
		return;
	case BRK_LEFT:
	case BRK_JOINED:
	case BRK_JOIN_FAILED:
		break;
	default:
		error("session %s: unexpected edge message %u", s->id, m->type);
		break;
	}
	if (fd != -1)
		close(fd);
}

void
fwd_leave_edges(struct sess *s)
{
	struct pollfd pfd;
	struct brk_msg m;
	struct fwd *f;
	int64_t deadline;
	int waiting = 0, fd, r;

	if (s->brkfd == -1)
		return;
	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->edge_id == NULL)
			continue;
		if (!f->edge_left)
			fwd_close_listener(s, f);
		if (!f->edge_gone)
			waiting++;
	}
	/* Until every LEFT is in, what arrives goes back to the group. */
	deadline = misc_monotonic_ms() + FWD_LEAVE_WAIT_MS;
	while (waiting > 0 && misc_monotonic_ms() < deadline) {
		pfd.fd = s->brkfd;
		pfd.events = POLLIN | (s->brkq.n > 0 ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)(deadline - misc_monotonic_ms())) <= 0)
			continue;
		fwd_broker_flush(s);
		r = brk_recv(s->brkfd, &m, &fd, 0);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r != 0)
			break;
		if (m.type == BRK_LEFT) {
			TAILQ_FOREACH (f, &s->fwds, entry) {
				if (f->edge_id != NULL && !f->edge_gone &&
				    strcmp(f->address_id, m.address_id) == 0) {
					f->edge_gone = 1;
					waiting--;
				}
			}
		}
		fwd_broker(s, &m, fd); /* CONNs are handed back */
	}
}

void
fwd_broker_drain(struct sess *s)
{
	struct pollfd pfd;
	int64_t deadline = misc_monotonic_ms() + FWD_LEAVE_WAIT_MS;

	/* What is still queued (handed-back connections) must go out. */
	while (
	    s->brkfd != -1 && s->brkq.n > 0 && misc_monotonic_ms() < deadline) {
		pfd.fd = s->brkfd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)(deadline - misc_monotonic_ms())) <= 0)
			continue;
		if (brk_queue_flush(s->brkfd, &s->brkq) != 0)
			break;
	}
	brk_queue_clear(&s->brkq);
}
