/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portholed.h"

#include "acl.h"
#include "cmdline.h"
#include "conf.h"
#include "fwdreq.h"
#include "log.h"
#include "misc.h"
#include "mon.h"
#include "net.h"
#include "xmalloc.h"

/*
 * Forwards in a session process. The monitor decides every forward and
 * binds its public port (src/mon-fwd.c); here we pass the client's
 * request on, take the listener it hands back, accept on it once the
 * session's options are known, and admit or refuse each connection by
 * the IP restrictions, MaxConnectionsPerEndpoint and the account's
 * traffic limits (TransferQuota, MaxConnectionsPerSource,
 * ConnectionRateLimit, as the monitor sent them: relay_limits()) before
 * any channel opens.
 */

#define FWD_ACCEPT_BATCH 64
#define FWD_LOG_BURST    20
#define FWD_LOG_RATE     5
#define FWD_RATE_SPAN    60000 /* ConnectionRateLimit: a minute, sliding */

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
	ratelim_window_clear(&f->rate);
	free(f);
}

/*
 * Read a forward's settings (u32 proxy, acl, acl edge, u32 edge proxy)
 * from <m> into <f>, which must end there if <end>. Returns 0 or -1.
 */
static int
fwd_settings(struct fwd *f, struct ipc_msg *m, int end)
{
	struct acl *acl = NULL, *acl_edge = NULL;
	uint32_t proxy, edge_proxy;

	proxy = ipc_get_u32(m);
	if (mon_get_acl(m, &acl) != 0 || mon_get_acl(m, &acl_edge) != 0) {
		acl_free(acl);
		acl_free(acl_edge);
		return -1;
	}
	edge_proxy = ipc_get_u32(m);
	if (!ipc_ok(m, end) || proxy > 2 || edge_proxy > 2) {
		acl_free(acl);
		acl_free(acl_edge);
		return -1;
	}
	f->proxy_proto = (int)proxy;
	f->edge_proxy = (int)edge_proxy;
	acl_free(f->acl);
	f->acl = acl;
	acl_free(f->acl_edge);
	f->acl_edge = acl_edge;
	return 0;
}

/* Close <f>'s listener, if it has one: it accepts nothing more. */
static void
fwd_unlisten(struct sess *s, struct fwd *f)
{
	if (f->fd != -1) {
		if (f->watching)
			sess_unwatch(s, f->fd);
		close(f->fd);
		f->fd = -1;
	}
	f->watching = 0;
}

/* Start watching <f>'s listener: connections are accepted from now. */
static void
fwd_watch(struct sess *s, struct fwd *f)
{
	if (f->held)
		return; /* the monitor has not decided it yet */
	if (f->member) {
		if (!f->dead && !f->edge_ready)
			edge_ready(s, f);
		return;
	}
	if (f->dead || f->watching || f->fd == -1)
		return;
	if (sess_watch(s, f->fd, &f->ep, EPOLLIN, 1) == 0)
		f->watching = 1;
}

/* The forward the monitor granted, from its answer <ans> and <fd>. */
static struct fwd *
fwd_from_answer(struct sess *s, const char *bind_address, struct ipc_msg *ans,
    int fd)
{
	struct fwd *f = xcalloc(1, sizeof(*f));
	uint32_t port;
	uint8_t how;

	f->ep.kind = EP_KIND_LISTENER;
	f->sess = s;
	f->fd = fd;
	f->bind_address = xstrdup(bind_address);
	f->id = ipc_get_str(ans, MON_ID_MAX);
	f->host = ipc_get_str(ans, 256);
	port = ipc_get_u32(ans);
	f->hostport = ipc_get_str(ans, 300);
	f->address_id = ipc_get_str(ans, MON_ID_MAX);
	f->edge_id = ipc_get_str(ans, MON_ID_MAX);
	if (fwd_settings(f, ans, 0) != 0)
		how = 255;
	else
		how = ipc_get_u8(ans);
	/* how: 0 its own listener, 1 a group member, 2 held (mon-fwd.c). */
	if (!ipc_ok(ans, 1) || how > 2 || port == 0 || port > 65535 ||
	    (how == 0) != (fd != -1) || (f->edge_id[0] != '\0' && how != 1)) {
		error("session %s: bad forward answer from the monitor", s->id);
		if (fd != -1)
			close(fd);
		f->fd = -1;
		fwd_free(f);
		return NULL;
	}
	f->port = (uint16_t)port;
	/* "" on the wire is none. */
	if (f->address_id[0] == '\0') {
		free(f->address_id);
		f->address_id = NULL;
	}
	if (f->edge_id[0] == '\0') {
		free(f->edge_id);
		f->edge_id = NULL;
	}
	f->member = how == 1;
	f->pooled = f->member && f->edge_id == NULL;
	f->held = how == 2;
	if (f->fd != -1)
		(void)net_set_nonblock(f->fd, 1);
	return f;
}

int
fwd_request(struct sess *s, ssh_message msg)
{
	struct ipc_msg req, ans;
	struct fwd *f = NULL;
	const char *addr;
	char safe[FWDREQ_ADDR_MAX + 1], *code = NULL, *reason = NULL;
	int port, fd = -1, ret = 1;

	memset(&req, 0, sizeof(req));
	memset(&ans, 0, sizeof(ans));
	addr = ssh_message_global_request_address(msg);
	if (addr == NULL)
		addr = "";
	port = ssh_message_global_request_port(msg);
	log_sanitize(safe, sizeof(safe), addr);
	if (s->closing || s->quit || !s->authenticated)
		return 1; /* ending: libssh answers it with a failure */
	ipc_msg_init(&req, MON_FORWARD);
	ipc_put_str(&req, addr);
	ipc_put_u32(&req, port < 0 ? 0xffffffffU : (uint32_t)port);
	if (link_call(s, &req, MON_FORWARD_RESULT, &ans, &fd) != 0)
		goto out;
	if (ipc_get_u8(&ans) == 0) {
		code = ipc_get_str(&ans, 64);
		reason = ipc_get_str(&ans, IPC_STR_MAX);
		if (fd != -1)
			close(fd);
		/* The monitor logged it; the client hears why. */
		sess_refused(s, "forward_refused", NULL,
		    "remote forward '%s:%d' refused: %s", safe, port, reason);
		goto out;
	}
	if ((f = fwd_from_answer(s, addr, &ans, fd)) == NULL)
		goto out;
	TAILQ_INSERT_TAIL(&s->fwds, f, entry);
	s->nfwds++;
	fwd_set_limits(s, f);
	ssh_message_global_request_reply_success(msg, f->port);
	if (s->ready)
		fwd_watch(s, f);
	if (!f->held)
		sess_announce(s, f);
	ret = 0;
out:
	free(code);
	free(reason);
	ipc_msg_free(&req);
	ipc_msg_free(&ans);
	return ret;
}

void
fwd_stop(struct sess *s, struct fwd *f, int tell)
{
	struct ipc_msg m;

	if (f->dead)
		return;
	fwd_unlisten(s, f);
	f->dead = 1;
	s->nfwds--;
	if (!tell) {
		f->edge_gone = 1; /* the monitor took it out itself */
		return;
	}
	/* For an edge member this is also leaving: LEFT will follow. */
	f->edge_left = 1;
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CANCEL);
	ipc_put_str(&m, f->id);
	link_send(s, &m, -1);
	ipc_msg_free(&m);
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
	fwd_stop(s, f, 1);
	ssh_message_global_request_reply_success(msg, 0);
	return 0;
}

struct fwd *
fwd_find(struct sess *s, const char *id)
{
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (!f->dead && strcmp(f->id, id) == 0)
			return f;
	}
	return NULL;
}

void
fwd_update(struct sess *s, struct ipc_msg *m)
{
	struct fwd *f;
	char *id = ipc_get_str(m, MON_ID_MAX);

	if ((f = fwd_find(s, id)) != NULL && fwd_settings(f, m, 1) != 0)
		error("session %s: bad endpoint settings from the monitor",
		    s->id);
	else if (f != NULL)
		debug("session %s: endpoint %s settings updated", s->id, f->id);
	free(id);
}

void
fwd_stopped(struct sess *s, struct ipc_msg *m)
{
	struct fwd *f;
	char *id = ipc_get_str(m, MON_ID_MAX);
	char *why = ipc_get_str(m, IPC_STR_MAX);

	if ((f = fwd_find(s, id)) != NULL && f->held) {
		/* Granted while held, and refused once the options came. */
		sess_refused(s, "forward_refused", NULL,
		    "remote forward '%s:%u' refused: %s", f->bind_address,
		    f->port, why);
		fwd_stop(s, f, 0);
		/*
		 * Its client was told "success" and cannot exit on it
		 * (ExitOnForwardFailure): a session left with nothing to
		 * serve ends with status 1, so ssh exits and a supervisor
		 * (autossh, systemd) tries again.
		 */
		if (s->nfwds == 0 && !s->closing)
			sess_finish(s, 1, "its forwards were refused");
	} else if (f != NULL) {
		sess_notice(s, "endpoint_stopped",
		    "tcp://%s stopped: the server's administrator %s",
		    f->hostport, why);
		fwd_stop(s, f, 0);
	}
	free(id);
	free(why);
}

void
fwd_listener(struct sess *s, struct ipc_msg *m, int fd)
{
	struct fwd *f;
	char *id = ipc_get_str(m, MON_ID_MAX);

	if (!ipc_ok(m, 1) || fd == -1 || (f = fwd_find(s, id)) == NULL ||
	    !f->held) {
		/* Gone since (cancelled): the monitor ends it with us. */
		if (fd != -1)
			close(fd);
		goto out;
	}
	f->held = 0;
	f->fd = fd;
	(void)net_set_nonblock(f->fd, 1);
	debug("session %s: endpoint %s: listener handed over", s->id, f->id);
	if (s->ready)
		fwd_watch(s, f);
	sess_announce(s, f);
out:
	free(id);
}

void
fwd_pooled(struct sess *s, struct ipc_msg *m)
{
	struct fwd *f;
	char *id = ipc_get_str(m, MON_ID_MAX);
	int held;

	if (!ipc_ok(m, 1) || (f = fwd_find(s, id)) == NULL || f->member)
		goto out;
	held = f->held;
	/* Served alone so far: the pool's listener is the monitor's now. */
	fwd_unlisten(s, f);
	f->paused = 0;
	f->held = 0;
	f->member = 1;
	f->pooled = 1;
	verbose("session %s: endpoint %s tcp://%s serves as a pool member",
	    s->id, f->id, f->hostport);
	if (s->ready)
		fwd_watch(s, f);
	if (held)
		sess_announce(s, f);
out:
	free(id);
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
 * Log a refused connection: a flood of them must not flood the log, so
 * a session logs FWD_LOG_BURST at once and FWD_LOG_RATE a second after
 * that, then says how many it left out.
 */
static void
fwd_log_refused(struct sess *s, struct fwd *f, const struct sockaddr *sa,
    const char *why, int info)
{
	char peer[NET_ADDRSTRLEN + 8];
	int64_t now = misc_monotonic_ms();

	s->log_tokens += (double)(now - s->log_last) * FWD_LOG_RATE / 1000;
	if (s->log_tokens > FWD_LOG_BURST)
		s->log_tokens = FWD_LOG_BURST;
	s->log_last = now;
	if (s->log_tokens < 1) {
		s->refused_logs_skipped++;
		return;
	}
	s->log_tokens -= 1;
	if (s->refused_logs_skipped > 0)
		logit("endpoint %s: %llu refused connection(s) not logged",
		    f->id, (unsigned long long)s->refused_logs_skipped);
	s->refused_logs_skipped = 0;
	/* A limit is worth a line at LogLevel INFO; a policy refusal, VERBOSE. */
	if (info)
		logit("endpoint %s: refused %s: %s", f->id,
		    net_sa_str(sa, peer, sizeof(peer)), why);
	else
		verbose("endpoint %s: refused %s: %s", f->id,
		    net_sa_str(sa, peer, sizeof(peer)), why);
}

void
fwd_set_limits(struct sess *s, struct fwd *f)
{
	struct timespec ts;
	int64_t now_us;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	ratelim_bucket_set(&f->bw_up, s->bw_limit, now_us);
	ratelim_bucket_set(&f->bw_down, s->bw_limit, now_us);
}

/*
 * Has the account's TransferQuota run out? What the monitor counted,
 * and what this session relayed since (the connection after the one
 * that crossed it is refused at once).
 */
static int
fwd_quota_out(struct sess *s)
{
	uint64_t total, used;

	if (!s->quota_on)
		return 0;
	total = relay_bytes_total(s);
	used = total > s->quota_seen ? total - s->quota_seen : 0;
	return used >= s->quota_left;
}

/* Open relays of <f> from the IP of <sa>. */
static uint32_t
fwd_from_source(struct sess *s, struct fwd *f, const struct sockaddr *sa)
{
	char ip[NET_ADDRSTRLEN];
	struct relay *r;
	uint32_t n = 0;
	uint16_t port;

	if (net_ntop(sa, ip, sizeof(ip), &port) != 0)
		return 0;
	TAILQ_FOREACH (r, &s->relays, entry) {
		if (r->fwd == f && r->state != RELAY_DEAD && !r->abandoned &&
		    !r->returned && strcmp(r->peer_ip, ip) == 0)
			n++;
	}
	return n;
}

/*
 * The account's traffic limits for a connection from <sa> to <f>, which
 * the IP restrictions admit: MON_CONN_RELAYED, or the refusal. Only an
 * admitted connection counts against ConnectionRateLimit.
 */
static int
fwd_admit_limits(struct sess *s, struct fwd *f, const struct sockaddr *sa)
{
	char line[256];

	if (fwd_quota_out(s)) {
		if (!s->quota_logged)
			logit("session %s: the account's transfer quota is "
			      "used up (TransferQuota); new connections are "
			      "refused",
			    s->id);
		s->quota_logged = 1;
		fwd_log_refused(s, f, sa,
		    "transfer quota used up "
		    "(TransferQuota)",
		    1);
		return MON_CONN_QUOTA;
	}
	if (s->per_source > 0 && fwd_from_source(s, f, sa) >= s->per_source) {
		snprintf(line, sizeof(line),
		    "%u connections open from that address "
		    "(MaxConnectionsPerSource)",
		    s->per_source);
		fwd_log_refused(s, f, sa, line, 1);
		return MON_CONN_PER_SOURCE;
	}
	if (!ratelim_window_admit(&f->rate, s->conn_rate, misc_monotonic_ms(),
	        FWD_RATE_SPAN)) {
		snprintf(line, sizeof(line),
		    "%u connections in the last minute (ConnectionRateLimit)",
		    s->conn_rate);
		fwd_log_refused(s, f, sa, line, 1);
		return MON_CONN_RATE;
	}
	return MON_CONN_RELAYED;
}

int
fwd_admit(struct sess *s, struct fwd *f, const struct sockaddr *sa)
{
	struct acl *layers[] = { s->acl_account, f->acl, f->acl_edge,
		s->acl_session };
	const struct acl *layer = NULL;
	enum acl_decision why;
	char line[256];

	if (f->conns_open >= (uint64_t)s->conf->max_connections_per_endpoint) {
		snprintf(line, sizeof(line),
		    "%d connections open (MaxConnectionsPerEndpoint)",
		    s->conf->max_connections_per_endpoint);
		fwd_log_refused(s, f, sa, line, 1);
		return MON_CONN_MAX_CONNECTIONS;
	}
	if (acl_permits(layers, sizeof(layers) / sizeof(layers[0]), sa, &layer,
	        &why))
		return fwd_admit_limits(s, f, sa);
	snprintf(line, sizeof(line), "%s (%s)",
	    why == ACL_DENY_RULE ? "a deny rule matched"
	                         : "not in any allow rule",
	    acl_name(layer));
	fwd_log_refused(s, f, sa, line, 0);
	return MON_CONN_IP_POLICY;
}

void
fwd_refused(struct sess *s, struct fwd *f, int fd, const struct sockaddr *sa,
    int refusal)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		local.ss_family = AF_UNSPEC;
	close(fd);
	f->conns_refused++;
	rec_conn_closed(s, f, sa, (struct sockaddr *)&local, misc_now_ms(), 0,
	    0, refusal);
}

void
fwd_accept(struct sess *s, struct fwd *f)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i, why;

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
		if ((why = fwd_admit(s, f, (struct sockaddr *)&ss)) !=
		    MON_CONN_RELAYED) {
			fwd_refused(s, f, fd, (struct sockaddr *)&ss, why);
			continue;
		}
		relay_start(s, f, fd, (struct sockaddr *)&ss, 0);
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
		if (!f->dead || f->refs > 0 || (f->member && !f->edge_gone))
			continue;
		TAILQ_REMOVE(&s->fwds, f, entry);
		rec_forget_fwd(s, f);
		fwd_free(f);
	}
}

void
fwd_close_listeners(struct sess *s)
{
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (!f->member && !f->dead)
			fwd_stop(s, f, 0);
	}
}

void
fwd_close_all(struct sess *s)
{
	struct fwd *f, *next;

	for (f = TAILQ_FIRST(&s->fwds); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		/* The monitor ends their rows when this process is gone. */
		fwd_stop(s, f, 0);
		TAILQ_REMOVE(&s->fwds, f, entry);
		rec_forget_fwd(s, f);
		fwd_free(f);
	}
}
