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
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "portholed.h"
#include "readahead.h"
#include "sandbox.h"

#include "acl.h"
#include "buf.h"
#include "cmdline.h"
#include "compat.h"
#include "conf.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "mon.h"
#include "net.h"
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
#define SESS_FLUSH_MS 2000
/*
 * After the server's own disconnect, how long (and how much) it reads
 * what the client still sends, until the client closes.
 */
#define SESS_LINGER_MS    2000
#define SESS_LINGER_BYTES (256 * 1024)
#define SESS_EPOLL_BATCH  64
/* How long the client has to leave after its session channel closed. */
#define SESS_CLOSE_WAIT_MS 5000
/* How often the live view (with a pty) may redraw. */
#define SESS_VIEW_MS 1000

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

void
sess_refused(struct sess *s, const char *code, const char *logline,
    const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int64_t now = misc_monotonic_ms();

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal_f("out of memory");
	va_end(ap);
	s->refusals++;
	if (logline != NULL) {
		if (now >= s->next_refusal_log) {
			verbose("session %s: %s%s", s->id != NULL ? s->id : "-",
			    logline,
			    s->refusal_logs_skipped > 0
			        ? " (and others since the last line)"
			        : "");
			s->refusal_logs_skipped = 0;
			s->next_refusal_log = now + 1000;
		} else
			s->refusal_logs_skipped++;
	}
	/* Every refusal is answered; only so many are also said. */
	if (s->notices < SESS_NOTICES_MAX)
		sess_notice(s, code, "%s", msg);
	else if (s->notices == SESS_NOTICES_MAX)
		sess_notice(s, "refused",
		    "further refusals are not reported one by one");
	s->notices++;
	if (s->refusals == SESS_REFUSALS_MAX && !s->quit) {
		logit("session %s: %d requests refused; disconnecting",
		    s->id != NULL ? s->id : "-", s->refusals);
		ssh_session_set_disconnect_message(s->ssh,
		    "too many refused requests");
		s->end_why = "too many refused requests";
		s->quit = 1;
	}
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

/*
 * The session's options are known: tell the monitor (it decides the
 * held forwards by them) and let the forwards accept.
 */
static void
sess_set_ready(struct sess *s)
{
	struct ipc_msg m;

	if (s->ready)
		return;
	s->ready = 1;
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_OPTIONS);
	ipc_put_u8(&m, s->opts != NULL && s->opts->pooling);
	ipc_put_u8(&m, s->opts != NULL && s->opts->force);
	link_send(s, &m, -1);
	ipc_msg_free(&m);
	fwd_start_all(s);
}

/*
 * End the session from our side: exit status on the session channel,
 * which makes ssh exit with it. The client then closes the connection
 * itself: OpenSSH drops output it has not yet written when it gets a
 * DISCONNECT, so we only disconnect if it has not gone after
 * SESS_CLOSE_WAIT_MS (or at once when there is no session channel).
 */
void
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
		/* A held one is announced once the monitor decided it. */
		if (!f->dead && !f->held)
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
		if ((f->dead && f->conns_open == 0) || f->held)
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
	s->opts = cl;
	s->command_done = 1;
	/* The forwards came first: the monitor gives them the metadata. */
	if (cl->metadata != NULL) {
		struct ipc_msg m;

		memset(&m, 0, sizeof(m));
		ipc_msg_init(&m, MON_METADATA);
		ipc_put_str(&m, cl->metadata);
		link_send(s, &m, -1);
		ipc_msg_free(&m);
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

	sess_refused(s, "unsupported", "agent forwarding refused",
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

	/*
	 * A login the monitor refused (over a limit) is answered "success"
	 * only so that the client reads why it is disconnected: what the
	 * client sends meanwhile gets nothing, not a channel.
	 */
	if (!s->authenticated || s->quit)
		return NULL;
	if (s->chan != NULL || s->chan_seen) {
		sess_refused(s, "unsupported",
		    "refused a second session channel",
		    "only one session channel is allowed");
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
	char addr[128], line[256];

	switch (ssh_message_subtype(msg)) {
	case SSH_CHANNEL_DIRECT_TCPIP:
		log_sanitize(addr, sizeof(addr),
		    ssh_message_channel_request_open_destination(msg));
		snprintf(line, sizeof(line), "refused direct-tcpip to %s:%d",
		    addr,
		    ssh_message_channel_request_open_destination_port(msg));
		sess_refused(s, "unsupported", line,
		    "local forwarding (ssh -L, -D, -W) is not "
		    "allowed by this server; it only serves ssh -R");
		break;
	case SSH_CHANNEL_X11:
		sess_refused(s, "unsupported", "refused an X11 channel",
		    "X11 forwarding is not supported by this server");
		break;
	default:
		snprintf(line, sizeof(line), "refused channel open of type %d",
		    ssh_message_subtype(msg));
		sess_refused(s, "unsupported", line,
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
	char name[64], line[128];

	switch (ssh_message_subtype(msg)) {
	case SSH_CHANNEL_REQUEST_X11:
		sess_refused(s, "unsupported", "refused X11 forwarding",
		    "X11 forwarding is not supported by this server");
		break;
	case SSH_CHANNEL_REQUEST_SUBSYSTEM:
		log_sanitize(name, sizeof(name),
		    ssh_message_channel_request_subsystem(msg));
		snprintf(line, sizeof(line), "refused subsystem %s", name);
		/*
		 * The failure reply makes ssh exit (255); ending the
		 * channel too would race with it.
		 */
		sess_refused(s, "unsupported", line,
		    "subsystem '%s' is not supported by this "
		    "server (no sftp, no shell; try 'tcp --help')",
		    name);
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

	/*
	 * Before a login only auth is answered; once the session is ending
	 * (a refused login among them) nothing is: the client is about to
	 * read the disconnect message, which a failure reply could make it
	 * miss (ssh exits when its session channel is refused).
	 */
	if (ssh_message_type(msg) != SSH_REQUEST_AUTH) {
		if (s->quit)
			return 0;
		if (!s->authenticated)
			return 1;
	}
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

/* SIGUSR1: an administrator changed something; the monitor checks. */
static void
sess_ask_check(struct sess *s)
{
	struct ipc_msg m;

	if (!s->authenticated)
		return;
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CHECK);
	link_send(s, &m, -1);
	ipc_msg_free(&m);
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
				sess_ask_check(s);
			break;
		case EP_KIND_LISTENER:
			fwd_accept(s, (struct fwd *)item);
			break;
		case EP_KIND_RELAY:
			relay_io(s, (struct relay *)item, evs[i].events);
			break;
		case EP_KIND_LINK:
			if (evs[i].events & EPOLLOUT)
				link_flush(s);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				link_read(s);
			break;
		}
	}
	return 0;
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
	if (s->authenticated && s->conf->client_alive_interval > 0 &&
	    s->alive_deadline < next)
		next = s->alive_deadline;
	if (s->pty && s->opts != NULL && !s->opts->json && s->next_view < next)
		next = s->next_view;
	/* Traffic limits: throttled relays, idle connections. */
	if (s->bw_wake != 0 && s->bw_wake < next)
		next = s->bw_wake;
	if (s->idle_ms > 0 && s->idle_next < next)
		next = s->idle_next;
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
		/* Its relayed connections go first, so the client leaves. */
		relay_close_channels(s);
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
		} else
			s->ready_deadline = now + 100;
	}
	(void)relay_limits_tick(s);
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
 * Close socket <fd> (a duplicate of the session's, which libssh has
 * closed after its disconnect message) gently: send FIN, then read and
 * drop what the client sends until it closes, for a bounded time. A
 * close with unread data sends RST instead, and a client that is still
 * writing (its first requests right after "authenticated") sees
 * "Connection reset" and never prints the disconnect message.
 */
static void
sess_linger(int fd)
{
	int64_t now, deadline;
	char buf[4096];
	size_t total = 0;
	struct pollfd pfd;
	ssize_t n;

	if (shutdown(fd, SHUT_WR) == 0) {
		deadline = misc_monotonic_ms() + SESS_LINGER_MS;
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (total < SESS_LINGER_BYTES &&
		    (now = misc_monotonic_ms()) < deadline) {
			if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
				break;
			n = read(fd, buf, sizeof(buf));
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				break;
			total += (size_t)n;
		}
	}
	close(fd);
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

/* Tell the monitor why we end, and what is still to report. */
static void
sess_bye(struct sess *s, const char *why)
{
	struct ipc_msg m;

	rec_flush(s, 1);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_BYE);
	ipc_put_str(&m, why);
	ipc_put_u64(&m, readahead_served());
	link_send(s, &m, -1);
	ipc_msg_free(&m);
	link_drain(s);
}

/* Run the key exchange, then the session, until it ends. */
static void
sess_loop(struct sess *s)
{
	int rc, errors = 0;

	/* The session joins the event only after the first kex call. */
	rc = ssh_handle_key_exchange(s->ssh);
	if (rc == SSH_ERROR ||
	    ssh_event_add_session(s->event, s->ssh) != SSH_OK ||
	    ssh_event_add_fd(s->event, s->epfd, POLLIN, sess_epoll_cb, s) !=
	        SSH_OK) {
		verbose("connection from %s port %u: key exchange: %s",
		    s->client_ip, s->client_port, ssh_get_error(s->ssh));
		return;
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
		return;
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
			link_held(s);
		link_flush(s);
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
}

/* A login that failed is logged here; a session's end, by the monitor. */
static void
sess_log_end(struct sess *s)
{
	if (s->id == NULL && s->auth_failures > 0)
		logit("connection from %s port %u: authentication failed "
		      "(%d attempt(s))",
		    s->client_ip, s->client_port, s->auth_failures);
}

int
sess_main(struct conf *conf, ssh_bind bind, int fd, int sigfd, int ctl)
{
	struct sess *s;
	int ret = 1, linger = -1;

	s = xcalloc(1, sizeof(*s));
	s->conf = conf;
	s->sigfd = sigfd;
	s->ctl = ctl;
	s->epfd = -1;
	s->sig_ep.kind = EP_KIND_SIGNAL;
	s->ctl_ep.kind = EP_KIND_LINK;
	TAILQ_INIT(&s->fwds);
	TAILQ_INIT(&s->relays);
	TAILQ_INIT(&s->work);
	TAILQ_INIT(&s->throttled);
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
	(void)net_set_nonblock(ctl, 1);
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	if (sess_watch(s, sigfd, &s->sig_ep, EPOLLIN, 1) != 0 ||
	    sess_watch(s, ctl, &s->ctl_ep, EPOLLIN, 1) != 0)
		goto out;
	s->ctl_events = EPOLLIN;
	if ((s->ssh = ssh_new()) == NULL)
		fatal("ssh_new failed");
	if (ssh_bind_accept_fd(bind, s->ssh, fd) != SSH_OK) {
		error("connection from %s: %s", s->client_ip,
		    ssh_get_error(bind));
		close(fd);
		goto out;
	}
	if ((s->event = ssh_event_new()) == NULL)
		fatal("ssh_event_new failed");
	/* From here on, nothing but what a session needs. */
	if (sandbox_enter() != 0)
		goto out;
	/* What building the filter took goes back: pages it touched. */
	malloc_trim(0);
	readahead_attach(fd, ssh_version(0));
	auth_setup(s);
	ssh_set_message_callback(s->ssh, sess_message_cb, s);
	/* What the client sends is counted: ClientAliveInterval uses it. */
	ssh_set_counters(s->ssh, NULL, &s->rcounter);
	ssh_set_blocking(s->ssh, 0);
	sess_loop(s);
	ret = 0;
out:
	edge_leave_all(s);
	relay_close_all(s);
	fwd_close_all(s);
	sess_log_end(s);
	sess_bye(s, s->end_why != NULL ? s->end_why : "connection closed");
	if (s->ssh != NULL) {
		if (!sess_closed(s) && s->event != NULL)
			sess_flush(s);
		if (s->chan != NULL)
			ssh_remove_channel_callbacks(s->chan, &s->chan_cb);
		if (s->event != NULL) {
			ssh_event_remove_fd(s->event, s->epfd);
			ssh_event_remove_session(s->event, s->ssh);
		}
		/* The server ends it: linger on a duplicate of the socket. */
		if (!sess_closed(s) && ssh_get_fd(s->ssh) != -1)
			linger = fcntl(ssh_get_fd(s->ssh), F_DUPFD_CLOEXEC, 0);
		/* ssh_disconnect frees the channels too. */
		ssh_disconnect(s->ssh);
		s->chan = NULL;
		if (linger != -1)
			sess_linger(linger);
	}
	readahead_attach(-1,
	    NULL); /* the socket is closed: its number is free */
	if (s->event != NULL)
		ssh_event_free(s->event);
	if (s->ssh != NULL)
		ssh_free(s->ssh);
	ssh_bind_free(bind);
	if (s->epfd != -1)
		close(s->epfd);
	close(sigfd);
	if (s->ctl != -1)
		close(s->ctl);
	cmdline_free(s->opts);
	buf_free(s->pending_notices);
	link_free(s);
	free(s->id);
	free(s->account_name);
	free(s->credential_kind);
	free(s->user);
	rec_free(s);
	acl_free(s->acl_account);
	acl_free(s->acl_session);
	/* Tell the parent how an unauthenticated connection went. */
	if (ret == 0 && !s->authenticated)
		ret = s->grace_exceeded    ? SESS_EXIT_GRACE
		    : s->auth_failures > 0 ? SESS_EXIT_AUTHFAIL
		                           : SESS_EXIT_NOAUTH;
	free(s);
	return ret;
}
