/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mon-int.h"

#include "compat.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

/*
 * Groups: edge addresses, and pooled reserved addresses (an account's
 * sessions that share one with tcp --pooling, or with the address's
 * pooling setting), which are served the same way. The monitor owns
 * the listener of each such address that has members, so that no
 * member leaving (or dying) takes connections down with it: each
 * accepted connection is handed to one member (the ready one with the
 * fewest connections, round robin among equals) with an id. The member
 * reports it DONE, or RETURNs it when it could not open a channel for
 * it; a RETURN must come from the member it was handed to and bring
 * back the very socket (same inode), and then the next member gets it.
 * Flow control: a member with MON_INFLIGHT_MAX connections still in its
 * socket, or whose socket is full (something waits in the monitor's
 * queue for it), gets none, and with no member able to take one the
 * listener is not polled, so connections wait in the kernel's backlog
 * rather than anywhere they could be lost, or held open by the monitor.
 */

#define MON_GRP_BACKLOG      1024
#define MON_GRP_ACCEPT_BATCH 64
#define MON_INFLIGHT_MAX     128
#define MON_TRIED_MAX        8

/* What a group serves, for the log. */
#define MON_GRP_WHAT(g) ((g)->pool ? "pooled address" : "edge address")

/*
 * Predicate: <mem> can take a connection now. Its queue is the
 * monitor's own knowledge: what the member says (GOT) cannot open it.
 */
static int
mon_member_open(const struct mon_member *mem)
{
	return mem->ready && mem->kid->ctl != -1 && mem->kid->q.n == 0 &&
	    mem->inflight < MON_INFLIGHT_MAX;
}

struct mon_grp *
mon_grp_find(struct mon *mon, const char *address_id)
{
	struct mon_grp *g;

	TAILQ_FOREACH (g, &mon->grps, entry) {
		if (strcmp(g->address_id, address_id) == 0)
			return g;
	}
	return NULL;
}

/* Watch <g>'s listener only while a member can take a connection. */
static void
mon_grp_interest(struct mon *mon, struct mon_grp *g)
{
	struct epoll_event ev;
	size_t i;
	int want = 0;

	if (g->npend == 0) {
		for (i = 0; i < g->nm; i++) {
			if (mon_member_open(&g->m[i]))
				want = 1;
		}
	}
	if (want == g->watching)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &g->item;
	if (epoll_ctl(mon->epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, g->lfd,
	        &ev) == -1)
		error_f("epoll_ctl: %s", strerror(errno));
	else
		g->watching = want;
}

/* Free <g> (out of the list already). */
static void
mon_grp_free(struct mon_grp *g)
{
	free(g->pend);
	free(g->handed);
	free(g->m);
	free(g->address_id);
	free(g);
}

/*
 * Close <g>'s listener and the connections waiting in it, and take it
 * out of the list. Its memory is freed in mon_grp_reap(): an epoll event
 * of this turn may still point at it.
 */
static void
mon_grp_drop(struct mon *mon, struct mon_grp *g)
{
	size_t i;

	logit("%s %s: no member left; port %u closed", MON_GRP_WHAT(g),
	    g->address_id, g->port);
	if (g->watching)
		(void)epoll_ctl(mon->epfd, EPOLL_CTL_DEL, g->lfd, NULL);
	g->watching = 0;
	close(g->lfd);
	g->lfd = -1;
	for (i = 0; i < g->npend; i++)
		close(g->pend[i].fd);
	g->npend = 0;
	g->nm = 0;
	g->nhanded = 0;
	g->dead = 1;
	TAILQ_REMOVE(&mon->grps, g, entry);
	TAILQ_INSERT_TAIL(&mon->dead_grps, g, entry);
}

void
mon_grp_reap(struct mon *mon)
{
	struct mon_grp *g;

	while ((g = TAILQ_FIRST(&mon->dead_grps)) != NULL) {
		TAILQ_REMOVE(&mon->dead_grps, g, entry);
		mon_grp_free(g);
	}
}

void
mon_grp_free_all(struct mon *mon)
{
	struct mon_grp *g;

	while ((g = TAILQ_FIRST(&mon->grps)) != NULL)
		mon_grp_drop(mon, g);
	mon_grp_reap(mon);
}

int
mon_grp_join(struct mon *mon, struct mon_kid *k, struct mon_ep *ep, int lfd,
    char *reason, size_t rlen)
{
	struct mon_grp *g;
	int fd = lfd, r = 0;

	if ((g = mon_grp_find(mon, ep->address_id)) != NULL && lfd != -1)
		close(lfd); /* it has one */
	if (g == NULL) {
		if (fd == -1)
			r = net_listen(mon->conf->tunnel_address, ep->port,
			    MON_GRP_BACKLOG, &fd);
		if (r != 0) {
			snprintf(reason, rlen, "port %u cannot be bound: %s",
			    ep->port,
			    r == PORTHOLE_ERR_EXISTS ? "address already in use"
			                             : porthole_strerror(r));
			return -1;
		}
		(void)net_set_nonblock(fd, 1);
		g = xcalloc(1, sizeof(*g));
		g->item.kind = MON_ITEM_GROUP;
		g->address_id = xstrdup(ep->address_id);
		g->pool = ep->edge_id == NULL;
		g->port = ep->port;
		g->lfd = fd;
		TAILQ_INSERT_TAIL(&mon->grps, g, entry);
		logit("%s %s: listening on port %u", MON_GRP_WHAT(g),
		    g->address_id, g->port);
	}
	g->m = xreallocarray(g->m, g->nm + 1, sizeof(*g->m));
	memset(&g->m[g->nm], 0, sizeof(g->m[g->nm]));
	g->m[g->nm].kid = k;
	g->m[g->nm].ep = ep;
	g->nm++;
	ep->grp = g;
	verbose("%s %s: process %ld joined (%zu member(s))", MON_GRP_WHAT(g),
	    g->address_id, (long)k->pid, g->nm);
	return 0;
}

/* The member of <g> that is <ep>, or NULL. */
static struct mon_member *
mon_grp_member(struct mon_grp *g, const struct mon_ep *ep)
{
	size_t i;

	for (i = 0; i < g->nm; i++) {
		if (g->m[i].ep == ep)
			return &g->m[i];
	}
	return NULL;
}

void
mon_grp_leave(struct mon *mon, struct mon_kid *k, struct mon_ep *ep, int tell)
{
	struct mon_grp *g = ep->grp;
	struct ipc_msg m;
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nm; i++) {
		if (g->m[i].ep == ep) {
			g->m[i] = g->m[--g->nm];
			break;
		}
	}
	ep->grp = NULL;
	verbose("%s %s: process %ld left", MON_GRP_WHAT(g), g->address_id,
	    (long)k->pid);
	if (tell) {
		/* After every CONN already sent: none follows this. */
		memset(&m, 0, sizeof(m));
		ipc_msg_init(&m, MON_EDGE_LEFT);
		ipc_put_str(&m, ep->id);
		mon_send(mon, k, &m, -1);
		ipc_msg_free(&m);
	}
	if (g->nm == 0)
		mon_grp_drop(mon, g);
	else
		mon_grp_interest(mon, g);
}

void
mon_grp_kid_gone(struct mon *mon, struct mon_kid *k)
{
	struct mon_grp *g, *next;
	size_t i;

	for (i = 0; i < k->neps; i++) {
		if (k->eps[i]->grp != NULL)
			mon_grp_leave(mon, k, k->eps[i], 0);
	}
	/* What it was handed went with it. */
	for (g = TAILQ_FIRST(&mon->grps); g != NULL; g = next) {
		next = TAILQ_NEXT(g, entry);
		for (i = 0; i < g->nhanded;) {
			if (g->handed[i].kid == k)
				g->handed[i] = g->handed[--g->nhanded];
			else
				i++;
		}
	}
}

/* Predicate: <pid> already had a go at this connection. */
static int
mon_tried(pid_t pid, const pid_t *tried, size_t ntried)
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
 * not tried it yet. Returns 1 if handed over (fd closed here), 0 if a
 * member could take it later, -1 if no member ever can. With <fd> -1 it
 * only tells which of the three it would be.
 */
static int
mon_grp_try(struct mon *mon, struct mon_grp *g, int fd,
    const struct sockaddr_storage *peer, const pid_t *tried, size_t ntried)
{
	struct mon_member *best;
	struct mon_handed *h;
	struct ipc_msg m;
	struct stat st;
	size_t i, k, untried;

	best = NULL;
	untried = 0;
	for (k = 0; k < g->nm; k++) {
		i = (g->rr + k) % g->nm;
		if (mon_tried(g->m[i].kid->pid, tried, ntried))
			continue;
		untried++;
		if (!mon_member_open(&g->m[i]))
			continue;
		if (best == NULL || g->m[i].outstanding < best->outstanding)
			best = &g->m[i];
	}
	if (best == NULL)
		return untried > 0 ? 0 : -1;
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return 1; /* nothing to hand over */
	}
	if (g->nhanded == g->handedalloc) {
		g->handedalloc = g->handedalloc ? g->handedalloc * 2 : 16;
		g->handed = xreallocarray(g->handed, g->handedalloc,
		    sizeof(*g->handed));
	}
	h = &g->handed[g->nhanded++];
	memset(h, 0, sizeof(*h));
	h->id = mon->next_conn_id++;
	h->ino = st.st_ino;
	h->kid = best->kid;
	h->peer = *peer;
	h->ntried = ntried < MON_TRIED_MAX ? ntried : MON_TRIED_MAX;
	if (h->ntried > 0)
		memcpy(h->tried, tried, h->ntried * sizeof(pid_t));
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_EDGE_CONN);
	ipc_put_u64(&m, h->id);
	ipc_put_str(&m, best->ep->id);
	ipc_put_addr(&m, (const struct sockaddr *)peer);
	best->outstanding++;
	best->inflight++;
	g->rr = (size_t)(best - g->m) + 1;
	mon_send(mon, best->kid, &m, fd); /* takes fd */
	ipc_msg_free(&m);
	return 1;
}

/*
 * Hand connection <fd> over, or keep it until a member can take it (in
 * order, behind those already waiting); close it only if no member is
 * left that has not tried it. Takes <fd>.
 */
static void
mon_grp_dispatch(struct mon *mon, struct mon_grp *g, int fd,
    const struct sockaddr_storage *peer, const pid_t *tried, size_t ntried)
{
	struct mon_pend *p;
	int r;

	r = g->npend == 0 ? mon_grp_try(mon, g, fd, peer, tried, ntried)
	                  : mon_grp_try(mon, g, -1, peer, tried, ntried);
	if (r == 1)
		return;
	if (r == -1) {
		verbose("%s %s: no member can take a connection",
		    MON_GRP_WHAT(g), g->address_id);
		close(fd);
		return;
	}
	if (g->npend == g->pendalloc) {
		g->pendalloc = g->pendalloc ? g->pendalloc * 2 : 16;
		g->pend =
		    xreallocarray(g->pend, g->pendalloc, sizeof(*g->pend));
	}
	p = &g->pend[g->npend++];
	p->fd = fd;
	p->peer = *peer;
	p->ntried = ntried < MON_TRIED_MAX ? ntried : MON_TRIED_MAX;
	if (p->ntried > 0)
		memcpy(p->tried, tried, p->ntried * sizeof(pid_t));
}

/* Hand out the connections waiting in <g>, in order, while one can. */
static void
mon_grp_flush(struct mon *mon, struct mon_grp *g)
{
	size_t done = 0;
	int r;

	while (done < g->npend) {
		struct mon_pend *p = &g->pend[done];

		r = mon_grp_try(mon, g, p->fd, &p->peer, p->tried, p->ntried);
		if (r == 0)
			break;
		if (r == -1) {
			verbose("%s %s: no member can take a connection",
			    MON_GRP_WHAT(g), g->address_id);
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
mon_grp_service(struct mon *mon)
{
	struct mon_grp *g;

	TAILQ_FOREACH (g, &mon->grps, entry) {
		if (g->npend > 0)
			mon_grp_flush(mon, g);
		mon_grp_interest(mon, g);
	}
}

void
mon_grp_accept(struct mon *mon, struct mon_grp *g)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, n;

	if (g->dead)
		return; /* dropped earlier in this turn */
	for (n = 0; n < MON_GRP_ACCEPT_BATCH; n++) {
		len = sizeof(ss);
		fd = accept4(g->lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED && errno != EINTR)
				error("%s %s: accept: %s", MON_GRP_WHAT(g),
				    g->address_id, strerror(errno));
			break;
		}
		mon_grp_dispatch(mon, g, fd, &ss, NULL, 0);
		if (g->npend > 0)
			break; /* the rest stay in the backlog */
	}
	mon_grp_interest(mon, g);
}

/* The connection <id> handed to <k>, and its group; NULL if none. */
static struct mon_handed *
mon_handed_find(struct mon *mon, struct mon_kid *k, uint64_t id,
    struct mon_grp **gp)
{
	struct mon_grp *g;
	size_t i;

	TAILQ_FOREACH (g, &mon->grps, entry) {
		for (i = 0; i < g->nhanded; i++) {
			if (g->handed[i].id == id && g->handed[i].kid == k) {
				*gp = g;
				return &g->handed[i];
			}
		}
	}
	return NULL;
}

/* The member of <k> in <g>, or NULL. */
static struct mon_member *
mon_grp_kid_member(struct mon_grp *g, struct mon_kid *k)
{
	size_t i;

	for (i = 0; i < g->nm; i++) {
		if (g->m[i].kid == k)
			return &g->m[i];
	}
	return NULL;
}

/* MON_EDGE_RETURN of handed connection <h> in <g> with socket <fd>. */
static void
mon_grp_return(struct mon *mon, struct mon_kid *k, struct mon_grp *g,
    struct mon_handed *h, int fd)
{
	struct mon_member *mem;
	struct sockaddr_storage peer;
	pid_t tried[MON_TRIED_MAX + 1];
	size_t ntried;
	struct stat st;

	if (fd == -1 || fstat(fd, &st) == -1 || st.st_ino != h->ino) {
		/* Not the socket it was given: believe nothing of it. */
		if (fd != -1)
			close(fd);
		mon_violation(mon, k, MON_EDGE_RETURN,
		    "returned a socket it was not handed");
		return;
	}
	if ((mem = mon_grp_kid_member(g, k)) != NULL && mem->outstanding > 0)
		mem->outstanding--;
	peer = h->peer;
	ntried = h->ntried;
	memcpy(tried, h->tried, ntried * sizeof(pid_t));
	*h = g->handed[--g->nhanded];
	if (ntried >= MON_TRIED_MAX) {
		verbose("%s %s: %d members could not take a connection; "
		        "closed",
		    MON_GRP_WHAT(g), g->address_id, MON_TRIED_MAX);
		close(fd);
		return;
	}
	tried[ntried++] = k->pid;
	mon_grp_dispatch(mon, g, fd, &peer, tried, ntried);
}

void
mon_grp_message(struct mon *mon, struct mon_kid *k, struct ipc_msg *m, int fd)
{
	struct mon_member *mem;
	struct mon_handed *h;
	struct mon_grp *g = NULL;
	struct mon_ep *ep;
	char *id = NULL;
	uint64_t cid = 0;
	uint32_t count = 0;

	switch (m->type) {
	case MON_EDGE_READY:
		id = ipc_get_str(m, MON_ID_MAX);
		break;
	case MON_EDGE_GOT:
		id = ipc_get_str(m, MON_ID_MAX);
		count = ipc_get_u32(m);
		break;
	default: /* DONE, RETURN */
		cid = ipc_get_u64(m);
		break;
	}
	if (!ipc_ok(m, 1) || (m->type == MON_EDGE_RETURN) != (fd != -1)) {
		if (fd != -1)
			close(fd);
		mon_violation(mon, k, m->type, "malformed message");
		goto out;
	}
	switch (m->type) {
	case MON_EDGE_READY:
	case MON_EDGE_GOT:
		/* Only for a member endpoint of its own that is still on. */
		if ((ep = mon_kid_ep(k, id)) == NULL || ep->grp == NULL ||
		    (mem = mon_grp_member(ep->grp, ep)) == NULL)
			break;
		if (m->type == MON_EDGE_READY) {
			mem->ready = 1;
			verbose("%s %s: process %ld ready",
			    MON_GRP_WHAT(ep->grp), ep->grp->address_id,
			    (long)k->pid);
		} else {
			mem->inflight =
			    mem->inflight > count ? mem->inflight - count : 0;
		}
		mon_grp_interest(mon, ep->grp);
		break;
	case MON_EDGE_DONE:
		if ((h = mon_handed_find(mon, k, cid, &g)) == NULL)
			break; /* its group is gone, or it never was */
		if ((mem = mon_grp_kid_member(g, k)) != NULL &&
		    mem->outstanding > 0)
			mem->outstanding--;
		*h = g->handed[--g->nhanded];
		break;
	case MON_EDGE_RETURN:
		if ((h = mon_handed_find(mon, k, cid, &g)) == NULL) {
			/* Left since, or never handed: nobody to give it. */
			debug("session %s: a returned connection has no "
			      "group left",
			    k->session_id);
			close(fd);
			break;
		}
		mon_grp_return(mon, k, g, h, fd);
		break;
	}
out:
	free(id);
}
