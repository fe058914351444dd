/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portholed.h"

#include "acl.h"
#include "log.h"
#include "misc.h"
#include "mon.h"
#include "xmalloc.h"

/*
 * A session process's side of its control socket: what it asks the
 * monitor (src/mon.h) and the monitor's pushes (settings, the end of
 * the session, edge connections). A request whose answer libssh needs
 * before its callback returns (a login, a forward) waits here for it;
 * pushes that arrive meanwhile are kept for the main loop, in order.
 */

#define LINK_CALL_MS    10000 /* the longest a request waits */
#define LINK_DRAIN_MS   2000 /* at the end, for what is queued */
#define LINK_MSG_BUDGET 256

/* Keep the epoll interest on the control socket in step. */
static void
link_interest(struct sess *s)
{
	uint32_t ev = EPOLLIN | (s->ctlq.n > 0 ? EPOLLOUT : 0);

	if (s->ctl != -1 && ev != s->ctl_events &&
	    sess_watch(s, s->ctl, &s->ctl_ep, ev, 0) == 0)
		s->ctl_events = ev;
}

/* The monitor is gone: the session cannot go on. */
static void
link_gone(struct sess *s)
{
	if (s->ctl == -1)
		return;
	sess_unwatch(s, s->ctl);
	close(s->ctl);
	s->ctl = -1;
	ipc_queue_clear(&s->ctlq);
	if (!s->closing)
		logit("session %s: the monitor is gone; ending",
		    s->id != NULL ? s->id : "-");
	s->end_why = "server gone";
	s->quit = 1;
}

void
link_send(struct sess *s, const struct ipc_msg *m, int fd)
{
	if (s->ctl == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (ipc_queue_send(s->ctl, &s->ctlq, m, fd) != 0) {
		link_gone(s);
		return;
	}
	link_interest(s);
}

void
link_flush(struct sess *s)
{
	if (s->ctl == -1 || s->ctlq.n == 0)
		return;
	if (ipc_queue_flush(s->ctl, &s->ctlq) != 0) {
		link_gone(s);
		return;
	}
	link_interest(s);
}

/* Keep push <m> (and <fd>) for link_held(). */
static void
link_hold(struct sess *s, struct ipc_msg *m, int fd)
{
	struct link_held *h;

	s->held = xreallocarray(s->held, s->nheld + 1, sizeof(*s->held));
	h = &s->held[s->nheld++];
	memset(h, 0, sizeof(*h));
	ipc_msg_copy(&h->m, m);
	h->fd = fd;
}

/*
 * MON_END (u32 exit status, str code, str message): the server ends this
 * session (an administrator, or its shutdown).
 */
static void
link_end(struct sess *s, struct ipc_msg *m)
{
	uint32_t status = ipc_get_u32(m);
	char *code = ipc_get_str(m, 64);
	char *msg = ipc_get_str(m, IPC_STR_MAX);

	if (!s->closing) {
		logit("session %s: ended by the server: %s",
		    s->id != NULL ? s->id : "-", msg);
		sess_notice(s, code, "%s", msg);
		/*
		 * Accept nothing more (a session taking an address over
		 * serves it at once); its relayed connections go first, so
		 * the client leaves.
		 */
		fwd_close_listeners(s);
		relay_close_channels(s);
		sess_finish(s, status > 255 ? 255 : (int)status,
		    status == 255 ? "server shutdown" : "ended by the server");
	}
	free(code);
	free(msg);
}

/* MON_ACCOUNT_POLICY: the account's IP policy changed. */
static void
link_policy(struct sess *s, struct ipc_msg *m)
{
	struct acl *acl = NULL;

	if (mon_get_acl(m, &acl) != 0 || !ipc_ok(m, 1)) {
		error("session %s: bad policy from the monitor", s->id);
		acl_free(acl);
		return;
	}
	acl_free(s->acl_account);
	s->acl_account = acl;
	debug("session %s: account policy updated", s->id);
}

/* Handle one push <m> (with <fd>, or -1) from the monitor. */
static void
link_dispatch(struct sess *s, struct ipc_msg *m, int fd)
{
	switch (m->type) {
	case MON_END:
		link_end(s, m);
		break;
	case MON_ACCOUNT_POLICY:
		link_policy(s, m);
		break;
	case MON_LIMITS:
		relay_limits(s, m);
		break;
	case MON_ENDPOINT_UPDATE:
		fwd_update(s, m);
		break;
	case MON_ENDPOINT_STOP:
		fwd_stopped(s, m);
		break;
	case MON_EDGE_CONN:
		edge_conn(s, m, fd);
		fd = -1; /* taken */
		break;
	case MON_EDGE_LEFT:
		edge_left(s, m);
		break;
	case MON_ENDPOINT_LISTENER:
		fwd_listener(s, m, fd);
		fd = -1; /* taken */
		break;
	case MON_ENDPOINT_POOL:
		fwd_pooled(s, m);
		break;
	default:
		error("session %s: unexpected message %u from the monitor",
		    s->id != NULL ? s->id : "-", m->type);
		break;
	}
	if (fd != -1)
		close(fd);
}

/*
 * Receive one message into <m> (its descriptor in *fdp). Returns 0, or
 * -1 with errno EAGAIN when there is none; the monitor's being gone is
 * handled here (-1, errno EPIPE).
 */
static int
link_recv(struct sess *s, struct ipc_msg *m, int *fdp)
{
	int fds[IPC_FDS_MAX];
	size_t nfds, i;
	int r;

	*fdp = -1;
	if (s->ctl == -1) {
		errno = EPIPE;
		return -1;
	}
	r = ipc_recv(s->ctl, m, fds, IPC_FDS_MAX, &nfds, 0);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1;
	if (r != 0) {
		link_gone(s);
		errno = EPIPE;
		return -1;
	}
	for (i = 1; i < nfds; i++)
		close(fds[i]);
	if (nfds > 0)
		*fdp = fds[0];
	return 0;
}

void
link_read(struct sess *s)
{
	struct ipc_msg m;
	int fd, n;

	memset(&m, 0, sizeof(m));
	for (n = 0; n < LINK_MSG_BUDGET; n++) {
		if (link_recv(s, &m, &fd) != 0)
			break;
		link_dispatch(s, &m, fd);
	}
	ipc_msg_free(&m);
}

void
link_held(struct sess *s)
{
	struct link_held *held = s->held;
	size_t i, n = s->nheld;

	s->held = NULL;
	s->nheld = 0;
	for (i = 0; i < n; i++) {
		link_dispatch(s, &held[i].m, held[i].fd);
		ipc_msg_free(&held[i].m);
	}
	free(held);
}

int
link_call(struct sess *s, const struct ipc_msg *req, uint32_t want,
    struct ipc_msg *ans, int *fdp)
{
	struct pollfd pfd;
	int64_t deadline = misc_monotonic_ms() + LINK_CALL_MS, left;
	int fd;

	if (fdp != NULL)
		*fdp = -1;
	link_send(s, req, -1);
	while (s->ctl != -1) {
		if ((left = deadline - misc_monotonic_ms()) <= 0) {
			error("session %s: the monitor did not answer",
			    s->id != NULL ? s->id : "-");
			return -1;
		}
		pfd.fd = s->ctl;
		pfd.events = POLLIN | (s->ctlq.n > 0 ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return -1;
		link_flush(s);
		if (link_recv(s, ans, &fd) != 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		if (ans->type != want) {
			link_hold(s, ans, fd);
			continue;
		}
		if (fdp != NULL)
			*fdp = fd;
		else if (fd != -1)
			close(fd);
		return 0;
	}
	return -1;
}

void
link_drain(struct sess *s)
{
	struct pollfd pfd;
	int64_t deadline = misc_monotonic_ms() + LINK_DRAIN_MS, left;

	while (s->ctl != -1 && s->ctlq.n > 0 &&
	    (left = deadline - misc_monotonic_ms()) > 0) {
		pfd.fd = s->ctl;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (ipc_queue_flush(s->ctl, &s->ctlq) != 0)
			break;
	}
	ipc_queue_clear(&s->ctlq);
}

void
link_free(struct sess *s)
{
	size_t i;

	for (i = 0; i < s->nheld; i++) {
		if (s->held[i].fd != -1)
			close(s->held[i].fd);
		ipc_msg_free(&s->held[i].m);
	}
	free(s->held);
	s->held = NULL;
	s->nheld = 0;
	ipc_queue_clear(&s->ctlq);
}
