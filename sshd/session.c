/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "portholed.h"
#include "readahead.h"

#include "acl.h"
#include "buf.h"
#include "cmdline.h"
#include "conf.h"
#include "err.h"
#include "id.h"
#include "json.h"
#include "compat.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "pool.h"
#include "store.h"
#include "xmalloc.h"

/*
 * How long after authentication the forwards wait for the session's
 * command before serving with defaults (ssh -N opens no channel), and
 * the longest they wait once a session channel is open.
 */
#define SESS_READY_GRACE_MS 1000
#define SESS_READY_MAX_MS   10000
/* Longest wait in one ssh_event_dopoll, so timers are seen. */
#define SESS_POLL_MAX_MS 10000
/* Time allowed to flush the last packets before disconnecting. */
#define SESS_FLUSH_MS    2000
#define SESS_EPOLL_BATCH 64
/* How long the client has to leave after its session channel closed. */
#define SESS_CLOSE_WAIT_MS 5000
/* How often a session re-reads its row, in case a signal was missed. */
#define SESS_ROW_CHECK_MS 10000
/* How often the live view (with a pty) may redraw. */
#define SESS_VIEW_MS 1000
/* How long a live session waits for the store's lock per call. */
#define SESS_STORE_BUSY_MS 200

/* Translate "\n" to "\r\n" when the client has a pty (its tty is raw). */
static void
sess_write(struct sess *s, int is_stderr, const char *text)
{
	struct buf *b = NULL;
	const char *p;
	size_t len;

	if (s->chan == NULL || !ssh_channel_is_open(s->chan))
		return;
	if (s->pty) {
		b = buf_new();
		for (p = text; *p != '\0'; p++) {
			if (*p == '\n')
				buf_putc(b, '\r');
			buf_putc(b, *p);
		}
		text = buf_str(b);
	}
	len = strlen(text);
	/*
	 * A few lines into a fresh 2 MiB session window: these never
	 * block, and a short write only means the client is gone.
	 */
	if (is_stderr)
		(void)ssh_channel_write_stderr(s->chan, text, (uint32_t)len);
	else
		(void)ssh_channel_write(s->chan, text, (uint32_t)len);
	buf_free(b);
}

void
sess_notice(struct sess *s, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal_f("out of memory");
	va_end(ap);
	if (s->opts != NULL && s->opts->json) {
		struct buf *b = buf_new();

		buf_puts(b, "{\"type\":\"error\"");
		json_kv_str(b, 0, "code", code);
		json_kv_str(b, 0, "message", msg);
		buf_puts(b, "}\n");
		sess_write(s, 0, buf_str(b));
		buf_free(b);
	} else if (s->command_done) {
		char *line = NULL;

		/* One write: ssh's own messages must not split the line. */
		xasprintf(&line, "porthole: %s\n", msg);
		sess_write(s, 1, line);
		free(line);
	} else {
		/* Before the command: keep it for when the channel speaks. */
		if (s->pending_notices == NULL)
			s->pending_notices = buf_new();
		buf_printf(s->pending_notices, "%s\t%s\n", code, msg);
	}
	free(msg);
}

void
sess_output(struct sess *s, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal_f("out of memory");
	va_end(ap);
	sess_write(s, 0, msg);
	free(msg);
}

int
sess_watch(struct sess *s, int fd, struct ep_item *item, uint32_t events,
    int add)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = item;
	if (epoll_ctl(s->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) ==
	    -1) {
		error_f("epoll_ctl fd %d: %s", fd, strerror(errno));
		return -1;
	}
	return 0;
}

void
sess_unwatch(struct sess *s, int fd)
{
	if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL) == -1 &&
	    errno != ENOENT && errno != EBADF)
		error_f("epoll_ctl del fd %d: %s", fd, strerror(errno));
}

/* Append the line that announces endpoint <f> to <b>. */
static void
sess_endpoint_line(struct sess *s, struct fwd *f, struct buf *b)
{
	if (s->opts->json) {
		buf_puts(b, "{\"type\":\"endpoint\"");
		json_kv_str(b, 0, "id", f->id);
		buf_printf(b, ",\"url\":\"tcp://%s\"", f->hostport);
		buf_printf(b, ",\"hostport\":\"%s\"}\n", f->hostport);
	} else
		buf_printf(b, "Forwarding  tcp://%s\n", f->hostport);
}

void
sess_announce(struct sess *s, struct fwd *f)
{
	struct buf *b;

	if (!s->command_done || s->opts == NULL)
		return;
	if (s->pty && !s->opts->json) {
		s->next_view = 0; /* the live view shows it at the next tick */
		return;
	}
	b = buf_new();
	sess_endpoint_line(s, f, b);
	sess_write(s, 0, buf_str(b));
	buf_free(b);
}

/* The session's options are known: let the forwards accept. */
static void
sess_set_ready(struct sess *s)
{
	if (s->ready)
		return;
	s->ready = 1;
	fwd_start_all(s);
}

/*
 * End the session from our side: exit status on the session channel,
 * which makes ssh exit with it. The client then closes the connection
 * itself: OpenSSH drops output it has not yet written when it gets a
 * DISCONNECT, so we only disconnect if it has not gone after
 * SESS_CLOSE_WAIT_MS (or at once when there is no session channel).
 */
static void
sess_finish(struct sess *s, int status, const char *why)
{
	if (s->closing)
		return;
	s->closing = 1;
	s->end_why = why;
	if (s->chan != NULL && ssh_channel_is_open(s->chan)) {
		ssh_channel_request_send_exit_status(s->chan, status);
		ssh_channel_send_eof(s->chan);
		ssh_channel_close(s->chan);
		s->close_deadline = misc_monotonic_ms() + SESS_CLOSE_WAIT_MS;
	} else
		s->quit = 1;
}

/* The banner: a header, then one line per live endpoint. */
static void
sess_banner(struct sess *s, struct buf *b)
{
	struct fwd *f;

	if (!s->opts->json) {
		buf_puts(b, "porthole (Ctrl+C to quit)\n\n");
		buf_printf(b, "Account     %s\n", s->account_name);
	}
	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (!f->dead)
			sess_endpoint_line(s, f, b);
	}
}

/* Append <n> bytes in a short human form ("512 B", "1.5 MiB"). */
static void
sess_bytes(struct buf *b, uint64_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		buf_printf(b, "%llu B", (unsigned long long)n);
	else
		buf_printf(b, "%.1f %s", v, units[u]);
}

/*
 * With a pty, the live view: the banner and a table of counters per
 * endpoint, redrawn (whole screen) when they change, at most once per
 * SESS_VIEW_MS. <force> redraws now.
 */
static void
sess_view(struct sess *s, int force)
{
	struct buf *b, *cell;
	struct fwd *f;
	uint64_t stamp = 1469598103934665603ULL;
	int64_t now = misc_monotonic_ms();

	if (!s->pty || s->opts == NULL || s->opts->json || s->closing ||
	    s->chan == NULL || (!force && now < s->next_view))
		return;
	s->next_view = now + SESS_VIEW_MS;
	TAILQ_FOREACH (f, &s->fwds, entry) {
		/* FNV-1a over what the table shows. */
		uint64_t v[] = { f->dead, f->conns_open, f->conns_total,
			f->conns_refused, f->bytes_in, f->bytes_out, f->port };
		size_t i;

		for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			stamp = (stamp ^ v[i]) * 1099511628211ULL;
	}
	if (!force && stamp == s->view_stamp)
		return;
	s->view_stamp = stamp;
	b = buf_new();
	cell = buf_new();
	buf_puts(b, "\033[H\033[2J");
	sess_banner(s, b);
	buf_printf(b, "\n%-30s %6s %7s %8s %11s %11s\n", "Connections", "open",
	    "total", "refused", "in", "out");
	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->dead && f->conns_open == 0)
			continue;
		buf_printf(b, "tcp://%-24s %6llu %7llu %8llu ", f->hostport,
		    (unsigned long long)f->conns_open,
		    (unsigned long long)f->conns_total,
		    (unsigned long long)f->conns_refused);
		buf_reset(cell);
		sess_bytes(cell, f->bytes_in);
		buf_printf(b, "%11s ", buf_str(cell));
		buf_reset(cell);
		sess_bytes(cell, f->bytes_out);
		buf_printf(b, "%11s\n", buf_str(cell));
	}
	sess_write(s, 0, buf_str(b));
	buf_free(cell);
	buf_free(b);
}

/*
 * The session's --cidr-allow/--cidr-deny flags as an acl layer (none if
 * there are no flags). Returns 0, or -1 with the reason in errbuf.
 */
static int
sess_cidr_acl(struct sess *s, const struct cmdline *cl, char *errbuf,
    size_t errlen)
{
	struct acl *acl;
	char why[128];
	size_t i;

	if (cl->ncidr_allow == 0 && cl->ncidr_deny == 0)
		return 0;
	acl = acl_new("session flags");
	for (i = 0; i < cl->ncidr_allow + cl->ncidr_deny; i++) {
		int allow = i < cl->ncidr_allow;
		const char *c = allow ? cl->cidr_allow[i]
		                      : cl->cidr_deny[i - cl->ncidr_allow];

		if (acl_add(acl, allow, c, why, sizeof(why)) != 0) {
			snprintf(errbuf, errlen, "%s: %s",
			    allow ? "--cidr-allow" : "--cidr-deny", why);
			acl_free(acl);
			return -1;
		}
	}
	acl_free(s->acl_session);
	s->acl_session = acl;
	return 0;
}

/* Run the session command (exec, or NULL for a shell request). */
static void
sess_command(struct sess *s, const char *command)
{
	struct cmdline *cl = NULL;
	struct fwd *f;
	struct buf *b;
	char errbuf[256];

	if (s->command_done)
		return;
	if (cmdline_parse(command, &cl, errbuf, sizeof(errbuf)) != 0) {
		s->command_done = 1;
		sess_notice(s, "usage", "%s", errbuf);
		verbose("session %s: bad command: %s", s->id, errbuf);
		sess_finish(s, 2, "bad command");
		return;
	}
	if (cl->help) {
		s->command_done = 1;
		sess_write(s, 0, cmdline_usage());
		cmdline_free(cl);
		sess_finish(s, 0, "help shown");
		return;
	}
	if (sess_cidr_acl(s, cl, errbuf, sizeof(errbuf)) != 0) {
		s->command_done = 1;
		sess_notice(s, "usage", "%s", errbuf);
		cmdline_free(cl);
		sess_finish(s, 2, "bad command");
		return;
	}
	if (s->refusal != NULL) {
		s->opts = cl; /* so --json shapes the message */
		s->command_done = 1;
		sess_notice(s, "limit", "%s", s->refusal);
		sess_finish(s, 1, "over a limit");
		return;
	}
	s->opts = cl;
	s->command_done = 1;
	/* The forwards came first: give them the session's metadata. */
	if (cl->metadata != NULL) {
		TAILQ_FOREACH (f, &s->fwds, entry) {
			int r;

			if (!f->dead &&
			    (r = store_endpoint_set_metadata(s->store, f->id,
			         cl->metadata)) != 0)
				error_r(r, "endpoint %s: cannot store metadata",
				    f->id);
		}
	}
	if (s->pending_notices != NULL) {
		/* Say what was held, now that the output form is known. */
		char *held = buf_steal(s->pending_notices), *line, *tab;
		char *save = NULL;

		for (line = strtok_r(held, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			if ((tab = strchr(line, '\t')) == NULL)
				continue;
			*tab = '\0';
			sess_notice(s, line, "%s", tab + 1);
		}
		free(held);
		buf_free(s->pending_notices);
		s->pending_notices = NULL;
	}
	if (s->pty && !cl->json)
		sess_view(s, 1); /* the live view replaces the banner */
	else {
		/* One write, so the banner reaches the client in one piece. */
		b = buf_new();
		sess_banner(s, b);
		sess_write(s, 0, buf_str(b));
		buf_free(b);
	}
	sess_set_ready(s);
}

static int
sess_pty_cb(ssh_session ssh, ssh_channel chan, const char *term, int w, int h,
    int pw, int ph, void *ud)
{
	struct sess *s = ud;

	s->pty = 1;
	return 0;
}

static int
sess_window_change_cb(ssh_session ssh, ssh_channel chan, int w, int h, int pw,
    int ph, void *ud)
{
	return 0;
}

static int
sess_shell_cb(ssh_session ssh, ssh_channel chan, void *ud)
{
	sess_command(ud, NULL);
	return 0;
}

static int
sess_exec_cb(ssh_session ssh, ssh_channel chan, const char *command, void *ud)
{
	sess_command(ud, command);
	return 0;
}

/*
 * Agent forwarding has no failure reply in libssh 0.10 once a callback
 * exists, and OpenSSH asks without want_reply, so say it in words.
 */
static void
sess_agent_cb(ssh_session ssh, ssh_channel chan, void *ud)
{
	struct sess *s = ud;

	verbose("session %s: agent forwarding refused", s->id);
	sess_notice(s, "unsupported",
	    "agent forwarding is not supported by this server");
}

/* Bytes typed into the session channel: Ctrl+C on a pty ends it. */
static int
sess_data_cb(ssh_session ssh, ssh_channel chan, void *data, uint32_t len,
    int is_stderr, void *ud)
{
	struct sess *s = ud;

	if (s->pty && memchr(data, 0x03, len) != NULL) {
		verbose("session %s: Ctrl+C from the client", s->id);
		sess_finish(s, 0, "ended by the client (Ctrl+C)");
	}
	return (int)len;
}

static void
sess_chan_eof_cb(ssh_session ssh, ssh_channel chan, void *ud)
{
	/* stdin at EOF (ssh </dev/null): the forwards go on. */
}

static void
sess_chan_close_cb(ssh_session ssh, ssh_channel chan, void *ud)
{
	struct sess *s = ud;

	debug("session %s: session channel closed by the client", s->id);
	s->chan_closed = 1;
}

/* A session channel is opening: accept the first, refuse others. */
ssh_channel
sess_channel_open(ssh_session ssh, void *ud)
{
	struct sess *s = ud;

	if (s->chan != NULL) {
		verbose("session %s: refused a second session channel", s->id);
		return NULL;
	}
	if ((s->chan = ssh_channel_new(ssh)) == NULL)
		return NULL;
	memset(&s->chan_cb, 0, sizeof(s->chan_cb));
	s->chan_cb.userdata = s;
	s->chan_cb.channel_data_function = sess_data_cb;
	s->chan_cb.channel_eof_function = sess_chan_eof_cb;
	s->chan_cb.channel_close_function = sess_chan_close_cb;
	s->chan_cb.channel_pty_request_function = sess_pty_cb;
	s->chan_cb.channel_pty_window_change_function = sess_window_change_cb;
	s->chan_cb.channel_shell_request_function = sess_shell_cb;
	s->chan_cb.channel_exec_request_function = sess_exec_cb;
	s->chan_cb.channel_auth_agent_req_function = sess_agent_cb;
	ssh_callbacks_init(&s->chan_cb);
	ssh_set_channel_callbacks(s->chan, &s->chan_cb);
	s->chan_seen = 1;
	return s->chan;
}

/* Channel opens other than "session": never allowed. */
static int
sess_channel_open_msg(struct sess *s, ssh_message msg)
{
	char addr[128];

	switch (ssh_message_subtype(msg)) {
	case SSH_CHANNEL_DIRECT_TCPIP:
		log_sanitize(addr, sizeof(addr),
		    ssh_message_channel_request_open_destination(msg));
		verbose("session %s: refused direct-tcpip to %s:%d", s->id,
		    addr,
		    ssh_message_channel_request_open_destination_port(msg));
		sess_notice(s, "unsupported",
		    "local forwarding (ssh -L, -D, -W) is not "
		    "allowed by this server; it only serves ssh -R");
		break;
	case SSH_CHANNEL_X11:
		sess_notice(s, "unsupported",
		    "X11 forwarding is not supported by this "
		    "server");
		break;
	default:
		verbose("session %s: refused channel open of type %d", s->id,
		    ssh_message_subtype(msg));
		sess_notice(s, "unsupported",
		    "this kind of channel is not allowed by this "
		    "server; it only serves ssh -R");
		break;
	}
	return 1;
}

/* Session channel requests without a callback of their own. */
static int
sess_channel_req_msg(struct sess *s, ssh_message msg)
{
	char name[64];

	switch (ssh_message_subtype(msg)) {
	case SSH_CHANNEL_REQUEST_X11:
		verbose("session %s: refused X11 forwarding", s->id);
		sess_notice(s, "unsupported",
		    "X11 forwarding is not supported by this "
		    "server");
		break;
	case SSH_CHANNEL_REQUEST_SUBSYSTEM:
		log_sanitize(name, sizeof(name),
		    ssh_message_channel_request_subsystem(msg));
		verbose("session %s: refused subsystem %s", s->id, name);
		sess_notice(s, "unsupported",
		    "subsystem '%s' is not supported by this "
		    "server (no sftp, no shell; try 'tcp --help')",
		    name);
		/*
		 * The failure reply makes ssh exit (255); ending the
		 * channel too would race with it.
		 */
		break;
	default:
		/* env and the like: refused quietly, as sshd does. */
		break;
	}
	return 1;
}

/* libssh's message callback: requests no other callback took. */
static int
sess_message_cb(ssh_session ssh, ssh_message msg, void *ud)
{
	struct sess *s = ud;

	switch (ssh_message_type(msg)) {
	case SSH_REQUEST_AUTH:
		return auth_message(s, msg);
	case SSH_REQUEST_GLOBAL:
		switch (ssh_message_subtype(msg)) {
		case SSH_GLOBAL_REQUEST_TCPIP_FORWARD:
			return fwd_request(s, msg);
		case SSH_GLOBAL_REQUEST_CANCEL_TCPIP_FORWARD:
			return fwd_cancel(s, msg);
		default:
			return 1;
		}
	case SSH_REQUEST_CHANNEL_OPEN:
		return sess_channel_open_msg(s, msg);
	case SSH_REQUEST_CHANNEL:
		return sess_channel_req_msg(s, msg);
	default:
		return 1;
	}
}

/* Messages from the parent about edges. */
static void
sess_broker(struct sess *s)
{
	struct brk_msg m;
	int fd, r, n;

	for (n = 0; n < 256; n++) {
		r = brk_recv(s->brkfd, &m, &fd, 0);
		if (r == -1 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (r != 0) {
			/* The parent is gone; SIGTERM follows (PDEATHSIG). */
			sess_unwatch(s, s->brkfd);
			close(s->brkfd);
			s->brkfd = -1;
			brk_queue_clear(&s->brkq);
			break;
		}
		fwd_broker(s, &m, fd);
	}
}

/* Readable epoll set: dispatch our own sockets' events. */
static int
sess_epoll_cb(socket_t fd, int revents, void *ud)
{
	struct sess *s = ud;
	struct epoll_event evs[SESS_EPOLL_BATCH];
	struct ep_item *item;
	unsigned int sigs;
	int i, n;

	n = epoll_wait(s->epfd, evs, SESS_EPOLL_BATCH, 0);
	for (i = 0; i < n; i++) {
		item = evs[i].data.ptr;
		switch (item->kind) {
		case EP_KIND_SIGNAL:
			sigs = srv_signals_read(s->sigfd);
			if (sigs & SRV_SIG_TERM)
				s->terminate = 1;
			if (sigs & SRV_SIG_USR1)
				s->check_row = 1;
			break;
		case EP_KIND_LISTENER:
			fwd_accept(s, (struct fwd *)item);
			break;
		case EP_KIND_RELAY:
			relay_io(s, (struct relay *)item, evs[i].events);
			break;
		case EP_KIND_BROKER:
			if (evs[i].events & EPOLLOUT)
				fwd_broker_flush(s);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				sess_broker(s);
			break;
		}
	}
	return 0;
}

int
sess_policy_acl(struct sess *s, const char *policy_id, struct acl **aclp)
{
	struct store_ip_policy *p = NULL;
	struct acl *acl = NULL;
	char errbuf[128];
	size_t i;
	int r = 0;

	*aclp = NULL;
	if (policy_id == NULL)
		goto out;
	if ((r = store_ip_policy_get(s->store, policy_id, &p)) != 0) {
		error_r(r, "IP policy %s", policy_id);
		goto out;
	}
	acl = acl_new(p->name);
	for (i = 0; i < p->nallow && r == 0; i++)
		r = acl_add(acl, 1, p->allow[i], errbuf, sizeof(errbuf));
	for (i = 0; i < p->ndeny && r == 0; i++)
		r = acl_add(acl, 0, p->deny[i], errbuf, sizeof(errbuf));
	if (r != 0) {
		error("IP policy %s: %s", p->name, errbuf);
		goto out;
	}
	*aclp = acl; /* now the caller's */
	acl = NULL;
out:
	acl_free(acl);
	store_ip_policy_free(p);
	return r;
}

int
sess_proxy_proto(struct sess *s, struct fwd *f)
{
	/* An edge's setting, else the session's flag, else the address's. */
	if (f->edge_proxy != 0)
		return f->edge_proxy;
	if (s->opts != NULL && s->opts->proxy_proto != 0)
		return s->opts->proxy_proto;
	return f->proxy_proto;
}

/* (Re)load the IP policy of the session's account. */
static void
sess_load_account_policy(struct sess *s, const char *policy_id)
{
	struct acl *acl = NULL;

	if (sess_policy_acl(s, policy_id, &acl) != 0)
		return; /* keep what we had */
	acl_free(s->acl_account);
	s->acl_account = acl;
}

int
sess_login(struct sess *s, const char *account_id, const char *credential)
{
	struct store_account *a = NULL;
	struct store_session row;
	int64_t now = misc_now_ms();
	int r, max_sessions, ret = -1;

	if ((r = store_account_get(s->store, account_id, &a)) != 0) {
		error_r(r, "account %s", account_id);
		goto out;
	}
	if (a->disabled)
		goto out;
	/* A policy that cannot be read must not mean no policy. */
	if (sess_policy_acl(s, a->ip_policy_id, &s->acl_account) != 0)
		goto out;
	max_sessions = a->max_sessions > 0 ? a->max_sessions
	                                   : s->conf->max_sessions_per_account;
	s->max_endpoints = a->max_endpoints > 0
	    ? a->max_endpoints
	    : s->conf->max_endpoints_per_session;
	s->id = id_new("ss");
	s->account_id = xstrdup(a->id);
	s->account_name = xstrdup(a->name);
	s->credential = xstrdup(credential);
	memset(&row, 0, sizeof(row));
	row.id = s->id;
	row.account_id = s->account_id;
	row.pid = (int64_t)getpid();
	row.client_ip = s->client_ip;
	row.client_port = s->client_port;
	row.user = s->user;
	row.credential = s->credential;
	row.started_ms = now;
	r = store_session_add(s->store, &row, max_sessions);
	if (r == PORTHOLE_ERR_EXHAUSTED) {
		/* Let them in to say why; they get no forward. */
		xasprintf(&s->refusal,
		    "account %s already has %d live sessions "
		    "(MaxSessionsPerAccount)",
		    s->account_name, max_sessions);
		logit("session %s: account %s from %s port %u refused: %s",
		    s->id, s->account_name, s->client_ip, s->client_port,
		    s->refusal);
		free(s->id);
		s->id = NULL;
	} else if (r != 0) {
		error_r(r, "session %s: cannot record the session", s->id);
		goto out;
	} else {
		logit("session %s: account %s from %s port %u (%s)", s->id,
		    s->account_name, s->client_ip, s->client_port,
		    s->credential);
		s->started_mono = misc_monotonic_ms();
		rec_session(s, 1, NULL);
		if (s->conf->address_affinity > 0 &&
		    (r = store_affinity(s->store, s->account_id, s->credential,
		         now - s->conf->address_affinity * 1000, &s->affinity,
		         &s->naffinity)) != 0)
			error_r(r, "session %s: address affinity", s->id);
	}
	s->authenticated = 1;
	s->ready_deadline = misc_monotonic_ms() + SESS_READY_GRACE_MS;
	/*
	 * From now on the relay runs: a store another process holds must
	 * not stall it for long (what must be written is retried).
	 */
	(void)store_set_busy_timeout(s->store, SESS_STORE_BUSY_MS);
	{
		/* Out of the parent's MaxStartups count. */
		struct brk_msg m;

		memset(&m, 0, sizeof(m));
		m.type = BRK_AUTHED;
		if (s->brkfd != -1 &&
		    brk_queue_send(s->brkfd, &s->brkq, &m, -1) == 0)
			fwd_broker_interest(s);
	}
	s->next_row_check = misc_monotonic_ms() + SESS_ROW_CHECK_MS;
	s->alive_deadline =
	    misc_monotonic_ms() + s->conf->client_alive_interval * 1000;
	ret = 0;
out:
	store_account_free(a);
	return ret;
}

/*
 * Has an administrator ended this session (portholectl session kill,
 * account disable or delete)? Then say so and end it. Otherwise check
 * that its reserved addresses still exist (address delete).
 */
static void
sess_check_row(struct sess *s)
{
	struct store_session *row = NULL;
	int r, signalled = s->check_row;

	s->check_row = 0;
	s->next_row_check = misc_monotonic_ms() + SESS_ROW_CHECK_MS;
	if (s->id == NULL || s->closing)
		return;
	if ((r = store_session_get(s->store, s->id, &row)) != 0) {
		if (r != PORTHOLE_ERR_NOT_FOUND) {
			error_r(r, "session %s: cannot read its row", s->id);
			return;
		}
		/* The account was deleted with its history. */
	} else if (row->ended_ms == 0) {
		struct store_account *a = NULL;

		store_session_free(row);
		/* Still live: take up policy changes an admin made. */
		if (store_account_get(s->store, s->account_id, &a) == 0)
			sess_load_account_policy(s, a->ip_policy_id);
		store_account_free(a);
		fwd_check_addresses(s);
		if (signalled)
			debug("session %s: settings re-read on request", s->id);
		return;
	}
	logit("session %s: ended by an administrator (%s)", s->id,
	    row != NULL && row->end_reason != NULL ? row->end_reason
	                                           : "account deleted");
	sess_notice(s, "session_ended",
	    "session ended by the server's administrator: %s",
	    row != NULL && row->end_reason != NULL ? row->end_reason
	                                           : "account deleted");
	store_session_free(row);
	sess_finish(s, 1, "ended by an administrator");
}

/* The poll timeout until the next timer of this session. */
static int
sess_timeout(struct sess *s)
{
	int64_t now = misc_monotonic_ms(), next = now + SESS_POLL_MAX_MS;

	if (!s->authenticated && s->login_deadline != 0 &&
	    s->login_deadline < next)
		next = s->login_deadline;
	if (s->authenticated && !s->ready && s->ready_deadline < next)
		next = s->ready_deadline;
	if (s->close_deadline != 0 && s->close_deadline < next)
		next = s->close_deadline;
	if (rec_deadline(s) < next)
		next = rec_deadline(s);
	if (s->authenticated && s->next_row_check < next)
		next = s->next_row_check;
	if (s->authenticated && s->conf->client_alive_interval > 0 &&
	    s->alive_deadline < next)
		next = s->alive_deadline;
	if (s->pty && s->opts != NULL && !s->opts->json && s->next_view < next)
		next = s->next_view;
	return next > now ? (int)(next - now) : 0;
}

static void sess_client_alive(struct sess *);

/* Timers and state changes that do not come from a socket. */
static void
sess_tick(struct sess *s)
{
	int64_t now = misc_monotonic_ms();

	if (s->closing && s->close_deadline != 0 && now >= s->close_deadline) {
		debug("session %s: the client stayed after its session "
		      "ended; disconnecting",
		    s->id ? s->id : "-");
		s->quit = 1;
	}
	if (s->terminate && !s->closing) {
		logit("session %s: server shutting down", s->id ? s->id : "-");
		sess_notice(s, "server_shutdown",
		    "the server is shutting down");
		sess_finish(s, 255, "server shutdown");
	}
	if (!s->authenticated && s->login_deadline != 0 &&
	    now >= s->login_deadline) {
		logit("connection from %s port %u: login grace time exceeded",
		    s->client_ip, s->client_port);
		s->grace_exceeded = 1;
		s->quit = 1;
	}
	if (s->authenticated && !s->ready && now >= s->ready_deadline) {
		/*
		 * No command yet. Without a session channel (ssh -N) serve
		 * with defaults; with one, give the command a little longer.
		 */
		if (!s->chan_seen || s->chan_closed ||
		    now >= s->ready_deadline - SESS_READY_GRACE_MS +
		            SESS_READY_MAX_MS) {
			debug("session %s: no command; serving with defaults",
			    s->id != NULL ? s->id : "-");
			sess_set_ready(s);
			/* Over a limit with nobody to tell: just leave. */
			if (s->refusal != NULL && !s->command_done)
				sess_finish(s, 1, "over a limit");
		} else
			s->ready_deadline = now + 100;
	}
	if (s->authenticated && s->id != NULL &&
	    (s->check_row || now >= s->next_row_check))
		sess_check_row(s);
	sess_view(s, 0);
	rec_flush(s, 0);
	sess_client_alive(s);
	if (s->chan_closed && s->chan != NULL) {
		ssh_remove_channel_callbacks(s->chan, &s->chan_cb);
		ssh_channel_close(s->chan);
		ssh_channel_free(s->chan);
		s->chan = NULL;
	}
}

/* Has the SSH connection ended (disconnect, EOF or error)? */
static int
sess_closed(struct sess *s)
{
	return !ssh_is_connected(s->ssh) ||
	    (ssh_get_status(s->ssh) & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0;
}

/* Send what libssh still holds, for at most SESS_FLUSH_MS. */
static void
sess_flush(struct sess *s)
{
	int64_t deadline = misc_monotonic_ms() + SESS_FLUSH_MS;

	while ((ssh_get_poll_flags(s->ssh) & SSH_WRITE_PENDING) &&
	    ssh_is_connected(s->ssh) && misc_monotonic_ms() < deadline) {
		if (ssh_event_dopoll(s->event, 100) == SSH_ERROR)
			break;
	}
}

/*
 * The kernel's part of noticing a vanished client: TCP keepalives after
 * ClientAliveInterval of silence, and TCP_USER_TIMEOUT so that data the
 * client never acknowledges ends the connection within the same bound.
 */
static void
sess_keepalive_socket(const struct conf *conf, int fd)
{
	int on = 1, idle, cnt;
	unsigned int timeout;
	uint64_t ms;

	if (conf->client_alive_interval <= 0)
		return;
	/* Linux takes at most 32767 s for the keepalive times. */
	idle = conf->client_alive_interval > 32767
	    ? 32767
	    : (int)conf->client_alive_interval;
	cnt = conf->client_alive_count_max;
	ms = (uint64_t)conf->client_alive_interval * 1000 *
	    (uint64_t)(conf->client_alive_count_max + 1);
	timeout = ms > INT_MAX ? INT_MAX : (unsigned int)ms;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout,
	    sizeof(timeout));
}

/*
 * The SSH part, as sshd's ClientAliveInterval: after an interval in
 * which the client sent nothing, ask it something (keepalive@openssh.com,
 * which it answers); after ClientAliveCountMax such intervals, it is
 * gone and the session ends, freeing its ports.
 */
static void
sess_client_alive(struct sess *s)
{
	int64_t now = misc_monotonic_ms();

	if (s->conf->client_alive_interval <= 0 || !s->authenticated ||
	    s->closing || now < s->alive_deadline)
		return;
	s->alive_deadline = now + s->conf->client_alive_interval * 1000;
	if (s->rcounter.in_bytes != s->alive_bytes) {
		s->alive_bytes = s->rcounter.in_bytes;
		s->alive_missed = 0;
	} else if (++s->alive_missed > s->conf->client_alive_count_max) {
		logit("session %s: client %s port %u not responding; ending "
		      "the session",
		    s->id != NULL ? s->id : "-", s->client_ip, s->client_port);
		s->end_why = "client not responding";
		s->quit = 1;
		return;
	}
	if (s->alive_missed > 0) {
		/*
		 * libssh 0.10 sends one keepalive at a time: the first
		 * call may only collect the previous answer.
		 */
		ssh_send_keepalive(s->ssh);
		ssh_send_keepalive(s->ssh);
	}
}

/* Take the peer's address off the accepted socket. */
static void
sess_peer(struct sess *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	strlcpy(s->client_ip, "?", sizeof(s->client_ip));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		net_ntop((struct sockaddr *)&ss, s->client_ip,
		    sizeof(s->client_ip), &s->client_port);
}

int
sess_main(struct conf *conf, ssh_bind bind, int fd, int sigfd, int brkfd)
{
	struct sess *s;
	char errbuf[256];
	int rc, errors = 0, ret = 1;

	s = xcalloc(1, sizeof(*s));
	s->conf = conf;
	s->sigfd = sigfd;
	s->brkfd = brkfd;
	s->epfd = -1;
	s->sig_ep.kind = EP_KIND_SIGNAL;
	s->brk_ep.kind = EP_KIND_BROKER;
	TAILQ_INIT(&s->fwds);
	TAILQ_INIT(&s->relays);
	TAILQ_INIT(&s->work);
	sess_peer(s, fd);
	{
		int one = 1;

		/*
		 * Channel data goes out as soon as it is there: a relay's
		 * small writes (a request, an echo) must not wait for Nagle.
		 */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		sess_keepalive_socket(conf, fd);
	}
	if (conf->login_grace_time > 0)
		s->login_deadline =
		    misc_monotonic_ms() + conf->login_grace_time * 1000;

	if (store_open(conf->database, &s->store, errbuf, sizeof(errbuf)) !=
	    0) {
		error("Database %s: %s", conf->database, errbuf);
		close(fd);
		goto out;
	}
	if ((s->pool = pool_new(conf->port_low, conf->port_high)) == NULL)
		fatal("bad PortRange");
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	if (sess_watch(s, sigfd, &s->sig_ep, EPOLLIN, 1) != 0 ||
	    (brkfd != -1 && sess_watch(s, brkfd, &s->brk_ep, EPOLLIN, 1) != 0))
		goto out;
	s->brk_events = EPOLLIN;

	if ((s->ssh = ssh_new()) == NULL)
		fatal("ssh_new failed");
	if (ssh_bind_accept_fd(bind, s->ssh, fd) != SSH_OK) {
		error("connection from %s: %s", s->client_ip,
		    ssh_get_error(bind));
		close(fd);
		goto out;
	}
	readahead_attach(fd, ssh_version(0));
	auth_setup(s);
	ssh_set_message_callback(s->ssh, sess_message_cb, s);
	/* What the client sends is counted: ClientAliveInterval uses it. */
	ssh_set_counters(s->ssh, NULL, &s->rcounter);
	ssh_set_blocking(s->ssh, 0);

	/* The session joins the event only after the first kex call. */
	if ((s->event = ssh_event_new()) == NULL)
		fatal("ssh_event_new failed");
	rc = ssh_handle_key_exchange(s->ssh);
	if (rc == SSH_ERROR ||
	    ssh_event_add_session(s->event, s->ssh) != SSH_OK ||
	    ssh_event_add_fd(s->event, s->epfd, POLLIN, sess_epoll_cb, s) !=
	        SSH_OK) {
		verbose("connection from %s port %u: key exchange: %s",
		    s->client_ip, s->client_port, ssh_get_error(s->ssh));
		goto out;
	}
	while (rc == SSH_AGAIN && !s->quit) {
		ssh_event_dopoll(s->event, sess_timeout(s));
		if (sess_closed(s))
			break;
		sess_tick(s);
		rc = ssh_handle_key_exchange(s->ssh);
	}
	if (rc != SSH_OK) {
		if (!s->quit)
			verbose("connection from %s port %u: key exchange: %s",
			    s->client_ip, s->client_port,
			    ssh_get_error(s->ssh));
		goto out;
	}

	while (!s->quit) {
		rc = ssh_event_dopoll(s->event, sess_timeout(s));
		if (sess_closed(s)) {
			readahead_attach(-1, NULL);
			debug("session %s: connection closed",
			    s->id ? s->id : "-");
			break;
		}
		relay_service(s);
		if (s->nheld > 0)
			fwd_broker_held(s);
		fwd_broker_flush(s);
		sess_tick(s);
		if (rc != SSH_ERROR)
			errors = 0;
		else if (errno != EINTR && ++errors > 100) {
			/* A fault that does not go away: don't spin on it. */
			error("session %s: event loop: %s", s->id,
			    ssh_get_error(s->ssh));
			break;
		}
	}
	ret = 0;
out:
	fwd_leave_edges(s);
	relay_close_all(s);
	fwd_close_all(s);
	fwd_broker_drain(s);
	if (s->id != NULL) {
		const char *why =
		    s->end_why != NULL ? s->end_why : "connection closed";
		char dur[32];

		rec_session(s, 0, why);
		logit("session %s: ended (%s; account %s from %s port %u, %s, "
		      "%lld connection(s), in %lld, out %lld bytes, "
		      "read-ahead served %llu reads)",
		    s->id, why, s->account_name, s->client_ip, s->client_port,
		    misc_duration((misc_monotonic_ms() - s->started_mono) /
		            1000,
		        dur, sizeof(dur)),
		    (long long)(s->gone_conns_total),
		    (long long)s->gone_bytes_in, (long long)s->gone_bytes_out,
		    readahead_served());
	}
	if (!s->authenticated && s->auth_failures > 0) {
		/* Counted once per connection that never got in. */
		rec_auth_failure(s);
		logit("connection from %s port %u: authentication failed "
		      "(%d attempt(s))",
		    s->client_ip, s->client_port, s->auth_failures);
	}
	rec_flush(s, 1);
	if (s->ssh != NULL) {
		if (!sess_closed(s) && s->event != NULL)
			sess_flush(s);
		if (s->chan != NULL)
			ssh_remove_channel_callbacks(s->chan, &s->chan_cb);
		if (s->event != NULL) {
			ssh_event_remove_fd(s->event, s->epfd);
			ssh_event_remove_session(s->event, s->ssh);
		}
		/* ssh_disconnect frees the channels too. */
		ssh_disconnect(s->ssh);
		s->chan = NULL;
	}
	/* The socket is closed: its number is free. */
	readahead_attach(-1, NULL);
	if (s->id != NULL) {
		int r;

		/* NOT_FOUND: the parent or an admin ended it already. */
		if ((r = store_session_end(s->store, s->id, misc_now_ms())) !=
		        0 &&
		    r != PORTHOLE_ERR_NOT_FOUND)
			error_r(r, "session %s: cannot record its end", s->id);
	}
	if (s->event != NULL)
		ssh_event_free(s->event);
	if (s->ssh != NULL)
		ssh_free(s->ssh);
	ssh_bind_free(bind);
	if (s->epfd != -1)
		close(s->epfd);
	close(sigfd);
	store_free(s->store);
	pool_free(s->pool);
	cmdline_free(s->opts);
	buf_free(s->pending_notices);
	free(s->id);
	free(s->account_id);
	free(s->account_name);
	free(s->credential);
	free(s->user);
	free(s->refusal);
	{
		size_t i;

		for (i = 0; i < s->nheld; i++) {
			if (s->held[i].fd != -1)
				close(s->held[i].fd);
		}
		free(s->held);
	}
	if (s->brkfd != -1)
		close(s->brkfd);
	store_hostport_list_free(s->affinity, s->naffinity);
	rec_free(s);
	acl_free(s->acl_account);
	acl_free(s->acl_session);
	sodium_memzero(s->token_key, sizeof(s->token_key));
	/* Tell the parent how an unauthenticated connection went. */
	if (ret == 0 && !s->authenticated)
		ret = s->grace_exceeded    ? SESS_EXIT_GRACE
		    : s->auth_failures > 0 ? SESS_EXIT_AUTHFAIL
		                           : SESS_EXIT_NOAUTH;
	free(s);
	return ret;
}
