/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"

#include "portholed.h"

#include "conf.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

/*
 * Edge groups, in the parent. The parent owns the listener of each edge
 * address that has members, so that no member leaving (or dying) takes
 * connections down with its listener: each accepted connection is
 * handed to one member over its control socket. The choice is the
 * ready member with the fewest connections (handed and not yet DONE),
 * round robin among equals. A member that cannot open a channel for a
 * connection RETURNs it and the next one gets it; a member that leaves
 * gets no more once its LEFT is sent. Flow control: a member with
 * GRP_INFLIGHT_MAX connections still sitting in its socket gets none,
 * and with no member able to take one the listener is not polled, so
 * connections wait in the kernel's backlog rather than anywhere they
 * could be lost.
 */

#define GRP_BACKLOG      1024
#define GRP_ACCEPT_BATCH 64
#define GRP_INFLIGHT_MAX 128

struct grp_member {
	pid_t pid;
	int ctl; /* the member process's control socket (borrowed) */
	int ready;
	int blocked; /* its socket was full; until it says GOT */
	uint64_t outstanding; /* handed over, not yet DONE */
	uint64_t inflight; /* handed over, not yet taken off the socket */
};

/* A connection waiting for a member able to take it. */
struct grp_pend {
	int fd;
	struct sockaddr_storage peer;
	pid_t tried[BRK_TRIED_MAX];
	size_t ntried;
};

struct grp {
	char address_id[BRK_ID_MAX];
	uint16_t port;
	int lfd;
	struct grp_member *m;
	size_t nm;
	size_t rr; /* round robin start */
	struct grp_pend *pend; /* FIFO of connections waiting */
	size_t npend, pendalloc;
};

struct grp_set {
	struct grp **g;
	size_t ng;
};

struct grp_set *
grp_new(void)
{
	return xcalloc(1, sizeof(struct grp_set));
}

/* Close group <i>'s listener and forget it. */
static void
grp_drop(struct grp_set *gs, size_t gi)
{
	struct grp *g = gs->g[gi];
	size_t i;

	logit("edge address %s: no member left; port %u closed", g->address_id,
	    g->port);
	if (g->lfd != -1)
		close(g->lfd);
	for (i = 0; i < g->npend; i++)
		close(g->pend[i].fd);
	free(g->pend);
	free(g->m);
	free(g);
	gs->g[gi] = gs->g[--gs->ng];
}

void
grp_close_all(struct grp_set *gs)
{
	size_t i;

	for (i = 0; gs != NULL && i < gs->ng; i++) {
		if (gs->g[i]->lfd != -1)
			close(gs->g[i]->lfd);
	}
}

void
grp_free(struct grp_set *gs)
{
	if (gs == NULL)
		return;
	while (gs->ng > 0)
		grp_drop(gs, gs->ng - 1);
	free(gs->g);
	free(gs);
}

static struct grp *
grp_find(struct grp_set *gs, const char *address_id, size_t *ip)
{
	size_t i;

	for (i = 0; i < gs->ng; i++) {
		if (strcmp(gs->g[i]->address_id, address_id) == 0) {
			if (ip != NULL)
				*ip = i;
			return gs->g[i];
		}
	}
	return NULL;
}

static struct grp_member *
grp_member(struct grp *g, pid_t pid)
{
	size_t i;

	for (i = 0; i < g->nm; i++) {
		if (g->m[i].pid == pid)
			return &g->m[i];
	}
	return NULL;
}

/* Remove member <pid> from group <i>; drop the group if it is empty. */
static void
grp_remove(struct grp_set *gs, size_t i, pid_t pid)
{
	struct grp *g = gs->g[i];
	size_t j;

	for (j = 0; j < g->nm; j++) {
		if (g->m[j].pid == pid) {
			g->m[j] = g->m[--g->nm];
			break;
		}
	}
	if (g->nm == 0)
		grp_drop(gs, i);
}

/* Can member <m> be handed a connection now? */
static int
grp_can_take(const struct grp_member *m)
{
	return m->ready && !m->blocked && m->inflight < GRP_INFLIGHT_MAX;
}

/* Predicate: <pid> already had a go at this connection. */
static int
grp_tried(pid_t pid, const pid_t *tried, size_t ntried)
{
	size_t i;

	for (i = 0; i < ntried; i++) {
		if (tried[i] == pid)
			return 1;
	}
	return 0;
}

/*
 * Try to hand connection <fd> from <peer> to a member of <g> that has
 * not tried it yet (least connections, round robin among equals).
 * Returns 1 if handed over (and <fd> closed here), 0 if a member could
 * take it later, -1 if no member ever can (every one has tried). With
 * <fd> -1 it only tells which of the three it would be.
 */
static int
grp_try(struct grp *g, int fd, const struct sockaddr_storage *peer,
    const pid_t *tried, size_t ntried)
{
	struct brk_msg m;
	struct grp_member *best;
	size_t i, k, untried;

	memset(&m, 0, sizeof(m));
	m.type = BRK_CONN;
	strlcpy(m.address_id, g->address_id, sizeof(m.address_id));
	m.peer = *peer;
	m.ntried = (uint32_t)(ntried < BRK_TRIED_MAX ? ntried : BRK_TRIED_MAX);
	if (m.ntried > 0)
		memcpy(m.tried, tried, m.ntried * sizeof(pid_t));
	for (;;) {
		best = NULL;
		untried = 0;
		for (k = 0; k < g->nm; k++) {
			i = (g->rr + k) % g->nm;
			if (grp_tried(g->m[i].pid, tried, ntried))
				continue;
			untried++;
			if (!grp_can_take(&g->m[i]))
				continue;
			if (best == NULL ||
			    g->m[i].outstanding < best->outstanding)
				best = &g->m[i];
		}
		if (best == NULL)
			return untried > 0 ? 0 : -1;
		if (fd == -1)
			return 0;
		if (brk_send(best->ctl, &m, fd) == 0) {
			best->outstanding++;
			best->inflight++;
			g->rr = (size_t)(best - g->m) + 1;
			close(fd);
			return 1;
		}
		/* Its socket is full (or it is going): not now. */
		debug("edge address %s: member %ld cannot take a connection "
		      "now: %s",
		    g->address_id, (long)best->pid, strerror(errno));
		best->blocked = 1;
	}
}

/*
 * Hand connection <fd> over, or keep it until a member can take it (in
 * order, behind those already waiting); close it only if no member is
 * left that has not tried it. Takes <fd>.
 */
static void
grp_dispatch(struct grp *g, int fd, const struct sockaddr_storage *peer,
    const pid_t *tried, size_t ntried)
{
	struct grp_pend *p;
	int r;

	r = g->npend == 0 ? grp_try(g, fd, peer, tried, ntried)
	                  : grp_try(g, -1, peer, tried, ntried);
	if (r == 1)
		return;
	if (r == -1) {
		verbose("edge address %s: no member can take a connection",
		    g->address_id);
		close(fd);
		return;
	}
	if (g->npend == g->pendalloc) {
		g->pendalloc = g->pendalloc ? g->pendalloc * 2 : 16;
		g->pend =
		    xreallocarray(g->pend, g->pendalloc, sizeof(*g->pend));
	}
	debug("edge address %s: a connection waits for a member (%zu "
	      "waiting)",
	    g->address_id, g->npend + 1);
	p = &g->pend[g->npend++];
	p->fd = fd;
	p->peer = *peer;
	p->ntried = ntried < BRK_TRIED_MAX ? ntried : BRK_TRIED_MAX;
	if (p->ntried > 0)
		memcpy(p->tried, tried, p->ntried * sizeof(pid_t));
}

/* Hand out the connections waiting in <g>, in order, while one can. */
static void
grp_flush(struct grp *g)
{
	size_t done = 0;
	int r;

	while (done < g->npend) {
		struct grp_pend *p = &g->pend[done];

		r = grp_try(g, p->fd, &p->peer, p->tried, p->ntried);
		if (r == 0)
			break;
		if (r == -1) {
			verbose("edge address %s: no member can take a "
			        "connection",
			    g->address_id);
			close(p->fd);
		}
		done++;
	}
	if (done > 0) {
		memmove(g->pend, g->pend + done,
		    (g->npend - done) * sizeof(*g->pend));
		g->npend -= done;
	}
}

void
grp_service(struct grp_set *gs)
{
	size_t i;

	for (i = 0; i < gs->ng; i++) {
		if (gs->g[i]->npend > 0)
			grp_flush(gs->g[i]);
	}
}

/* JOIN: bind the address if it is new, make <pid> a member. */
static void
grp_join(struct grp_set *gs, struct conf *conf, pid_t pid, int ctl,
    struct brk_queue *q, const struct brk_msg *req)
{
	struct brk_msg m;
	struct grp *g;
	int fd, r;

	memset(&m, 0, sizeof(m));
	strlcpy(m.address_id, req->address_id, sizeof(m.address_id));
	if ((g = grp_find(gs, req->address_id, NULL)) == NULL) {
		r = net_listen(conf->tunnel_address, (uint16_t)req->port,
		    GRP_BACKLOG, &fd);
		if (r != 0) {
			m.type = BRK_JOIN_FAILED;
			snprintf(m.reason, sizeof(m.reason),
			    "port %u cannot be bound: %s", req->port,
			    r == PORTHOLE_ERR_EXISTS ? "address already in use"
			                             : porthole_strerror(r));
			goto reply;
		}
		g = xcalloc(1, sizeof(*g));
		strlcpy(g->address_id, req->address_id, sizeof(g->address_id));
		g->port = (uint16_t)req->port;
		g->lfd = fd;
		gs->g = xreallocarray(gs->g, gs->ng + 1, sizeof(*gs->g));
		gs->g[gs->ng++] = g;
		logit("edge address %s: listening on port %u", g->address_id,
		    g->port);
	}
	if (grp_member(g, pid) == NULL) {
		g->m = xreallocarray(g->m, g->nm + 1, sizeof(*g->m));
		memset(&g->m[g->nm], 0, sizeof(g->m[g->nm]));
		g->m[g->nm].pid = pid;
		g->m[g->nm].ctl = ctl;
		g->nm++;
	}
	verbose("edge address %s: process %ld joined (%zu member(s))",
	    g->address_id, (long)pid, g->nm);
	m.type = BRK_JOINED;
reply:
	if (brk_queue_send(ctl, q, &m, -1) != 0)
		error("edge: cannot answer process %ld: %s", (long)pid,
		    strerror(errno));
}

void
grp_message(struct grp_set *gs, struct conf *conf, pid_t pid, int ctl,
    struct brk_queue *q, struct brk_msg *m, int fd)
{
	struct grp_member *mem = NULL;
	struct grp *g;
	struct brk_msg left;
	pid_t tried[BRK_TRIED_MAX + 1];
	size_t i, ntried;

	if (m->type == BRK_JOIN) {
		grp_join(gs, conf, pid, ctl, q, m);
		goto out;
	}
	g = grp_find(gs, m->address_id, &i);
	if (g != NULL)
		mem = grp_member(g, pid);
	switch (m->type) {
	case BRK_READY:
		if (mem != NULL) {
			mem->ready = 1;
			verbose("edge address %s: process %ld ready",
			    g->address_id, (long)pid);
		}
		break;
	case BRK_GOT:
		if (mem != NULL) {
			mem->inflight = mem->inflight > m->count
			    ? mem->inflight - m->count
			    : 0;
			mem->blocked = 0;
		}
		break;
	case BRK_DONE:
		if (mem != NULL)
			mem->outstanding = mem->outstanding > m->count
			    ? mem->outstanding - m->count
			    : 0;
		break;
	case BRK_RETURN:
		if (mem != NULL && mem->outstanding > 0)
			mem->outstanding--;
		if (fd == -1)
			break;
		if (g == NULL) {
			close(fd);
			break;
		}
		ntried = m->ntried < BRK_TRIED_MAX ? m->ntried : BRK_TRIED_MAX;
		memcpy(tried, m->tried, ntried * sizeof(pid_t));
		if (ntried >= BRK_TRIED_MAX) {
			/* Enough members could not: give up on it. */
			verbose("edge address %s: %d members could not take a "
			        "connection; closed",
			    g->address_id, BRK_TRIED_MAX);
			close(fd);
			fd = -1;
			break;
		}
		tried[ntried++] = pid;
		grp_dispatch(g, fd, &m->peer, tried, ntried);
		fd = -1; /* taken */
		break;
	case BRK_LEAVE:
		memset(&left, 0, sizeof(left));
		left.type = BRK_LEFT;
		strlcpy(left.address_id, m->address_id,
		    sizeof(left.address_id));
		if (brk_queue_send(ctl, q, &left, -1) != 0)
			debug("edge: LEFT to process %ld: %s", (long)pid,
			    strerror(errno));
		if (mem != NULL) {
			verbose("edge address %s: process %ld left",
			    g->address_id, (long)pid);
			grp_remove(gs, i, pid);
		}
		break;
	default:
		error("edge: unexpected message %u from process %ld", m->type,
		    (long)pid);
		break;
	}
out:
	if (fd != -1)
		close(fd);
}

void
grp_kid_gone(struct grp_set *gs, pid_t pid)
{
	size_t i = gs->ng;

	while (i-- > 0) {
		if (grp_member(gs->g[i], pid) != NULL)
			grp_remove(gs, i, pid);
	}
}

size_t
grp_pollfds(struct grp_set *gs, struct pollfd *pfds)
{
	size_t i, j, n = 0;

	for (i = 0; i < gs->ng; i++) {
		for (j = 0; j < gs->g[i]->nm; j++) {
			if (grp_can_take(&gs->g[i]->m[j]))
				break;
		}
		/*
		 * Nobody can take one now, or some are already waiting:
		 * leave new ones in the kernel's backlog.
		 */
		if (j == gs->g[i]->nm || gs->g[i]->npend > 0)
			continue;
		pfds[n].fd = gs->g[i]->lfd;
		pfds[n].events = POLLIN;
		pfds[n].revents = 0;
		n++;
	}
	return n;
}

size_t
grp_count(struct grp_set *gs)
{
	return gs->ng;
}

void
grp_accept(struct grp_set *gs, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct grp *g = NULL;
	size_t i;
	int fd, n;

	for (i = 0; i < gs->ng; i++) {
		if (gs->g[i]->lfd == lfd)
			g = gs->g[i];
	}
	if (g == NULL)
		return;
	for (n = 0; n < GRP_ACCEPT_BATCH; n++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED && errno != EINTR)
				error("edge address %s: accept: %s",
				    g->address_id, strerror(errno));
			return;
		}
		grp_dispatch(g, fd, &ss, NULL, 0);
		/* Stop when some wait: the rest stay in the backlog. */
		if (g->npend > 0)
			return;
	}
}
