/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portholed.h"

#include "log.h"
#include "misc.h"
#include "mon.h"
#include "net.h"

/*
 * A session process's part in a group, an edge's or a pooled address's
 * (the group itself is the monitor's, src/mon-edge.c): it says when a
 * forward is ready, takes the connections the monitor hands it, reports
 * each one DONE, and gives back (RETURN) one it could not open a channel
 * for, so that another member serves it. Leaving is a cancel, answered
 * by LEFT once no more connections can come.
 */

#define EDGE_LEAVE_WAIT_MS 2000 /* for the LEFTs at session end */

/* Send <type> with connection id <id> (and <fd>, taken). */
static void
edge_send_conn(struct sess *s, uint32_t type, uint64_t id, int fd)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, type);
	ipc_put_u64(&m, id);
	link_send(s, &m, fd);
	ipc_msg_free(&m);
}

void
edge_ready(struct sess *s, struct fwd *f)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_EDGE_READY);
	ipc_put_str(&m, f->id);
	link_send(s, &m, -1);
	ipc_msg_free(&m);
	f->edge_ready = 1;
}

void
edge_conn(struct sess *s, struct ipc_msg *m, int fd)
{
	struct sockaddr_storage peer;
	struct ipc_msg got;
	struct fwd *f;
	char *epid;
	uint64_t id;
	int why;

	id = ipc_get_u64(m);
	epid = ipc_get_str(m, MON_ID_MAX);
	ipc_get_addr(m, &peer);
	memset(&got, 0, sizeof(got));
	if (!ipc_ok(m, 1) || fd == -1 || peer.ss_family == AF_UNSPEC) {
		error("session %s: bad edge connection from the monitor",
		    s->id);
		if (fd != -1)
			close(fd);
		goto out;
	}
	/* Taken off the socket: the monitor may send more. */
	ipc_msg_init(&got, MON_EDGE_GOT);
	ipc_put_str(&got, epid);
	ipc_put_u32(&got, 1);
	link_send(s, &got, -1);
	f = fwd_find(s, epid);
	if (f == NULL || f->edge_left || s->closing ||
	    net_set_nonblock(fd, 1) != 0) {
		/* Leaving: another member can take it. */
		edge_send_conn(s, MON_EDGE_RETURN, id, fd);
		goto out;
	}
	switch ((why = fwd_admit(s, f, (struct sockaddr *)&peer))) {
	case MON_CONN_RELAYED:
		(void)relay_start(s, f, fd, (struct sockaddr *)&peer, id);
		break;
	case MON_CONN_MAX_CONNECTIONS:
		/* Full here: another member may have room. */
		edge_send_conn(s, MON_EDGE_RETURN, id, fd);
		break;
	default:
		fwd_refused(s, f, fd, (struct sockaddr *)&peer, why);
		edge_send_conn(s, MON_EDGE_DONE, id, -1);
		break;
	}
out:
	ipc_msg_free(&got);
	free(epid);
}

void
edge_left(struct sess *s, struct ipc_msg *m)
{
	struct fwd *f;
	char *id = ipc_get_str(m, MON_ID_MAX);

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->member && strcmp(f->id, id) == 0)
			f->edge_gone = 1;
	}
	free(id);
}

void
edge_done(struct sess *s, struct relay *r)
{
	edge_send_conn(s, MON_EDGE_DONE, r->edge_conn, -1);
}

void
edge_return(struct sess *s, struct relay *r)
{
	debug("endpoint %s: connection handed back to the edge group",
	    r->fwd->id);
	edge_send_conn(s, MON_EDGE_RETURN, r->edge_conn, r->fd);
	r->fd = -1;
}

/* Predicate: a member forward still waits for its LEFT. */
static int
edge_waiting(struct sess *s)
{
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->member && !f->edge_gone)
			return 1;
	}
	return 0;
}

void
edge_leave_all(struct sess *s)
{
	struct pollfd pfd;
	struct fwd *f;
	int64_t deadline;

	TAILQ_FOREACH (f, &s->fwds, entry) {
		if (f->member && !f->dead)
			fwd_stop(s, f, 1);
	}
	/* Until every LEFT is in, what arrives goes back to the group. */
	deadline = misc_monotonic_ms() + EDGE_LEAVE_WAIT_MS;
	while (
	    s->ctl != -1 && edge_waiting(s) && misc_monotonic_ms() < deadline) {
		pfd.fd = s->ctl;
		pfd.events = POLLIN | (s->ctlq.n > 0 ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)(deadline - misc_monotonic_ms())) <= 0)
			continue;
		link_flush(s);
		link_held(s);
		link_read(s);
	}
}
