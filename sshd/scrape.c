/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scrape.h"

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "misc.h"
#include "xmalloc.h"

/*
 * MetricsListen, served by the monitor itself: no process per request,
 * so a flood of scrapers cannot make portholed fork without limit. At
 * most SCRAPE_MAX clients at once (more are closed at once), each with
 * SCRAPE_TIMEOUT_MS for the whole exchange and SCRAPE_REQ_MAX bytes of
 * request; all non-blocking, so a slow client holds up nothing.
 */

#define SCRAPE_MAX        16
#define SCRAPE_TIMEOUT_MS 5000
#define SCRAPE_REQ_MAX    2048

struct scrape_client {
	int fd;
	int64_t deadline; /* monotonic ms */
	char req[SCRAPE_REQ_MAX + 1];
	size_t got;
	struct buf *resp; /* once the request is read */
	size_t off;
};

struct scrape {
	int epfd; /* the clients' sockets */
	struct scrape_client c[SCRAPE_MAX];
	size_t n;
};

struct scrape *
scrape_new(void)
{
	struct scrape *sc = xcalloc(1, sizeof(*sc));

	if ((sc->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal_f("epoll_create1: %s", strerror(errno));
	return sc;
}

int
scrape_epfd(struct scrape *sc)
{
	return sc->epfd;
}

/* Watch client socket <fd> for <events>. */
static void
scrape_watch(struct scrape *sc, int fd, uint32_t events, int add)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	if (epoll_ctl(sc->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) ==
	    -1)
		error_f("epoll_ctl: %s", strerror(errno));
}

/* Close client <i> (the last one takes its place). */
static void
scrape_close(struct scrape *sc, size_t i)
{
	close(sc->c[i].fd);
	buf_free(sc->c[i].resp);
	sc->c[i] = sc->c[--sc->n];
}

void
scrape_free(struct scrape *sc)
{
	if (sc == NULL)
		return;
	while (sc->n > 0)
		scrape_close(sc, sc->n - 1);
	close(sc->epfd);
	free(sc);
}

void
scrape_accept(struct scrape *sc, int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) !=
	    -1) {
		if (sc->n == SCRAPE_MAX) {
			close(fd); /* busy: the scraper tries again later */
			continue;
		}
		memset(&sc->c[sc->n], 0, sizeof(sc->c[sc->n]));
		sc->c[sc->n].fd = fd;
		sc->c[sc->n].deadline = misc_monotonic_ms() + SCRAPE_TIMEOUT_MS;
		sc->n++;
		scrape_watch(sc, fd, EPOLLIN, 1);
	}
}

/* The answer to request <req>: the metrics, or 404 / 500. */
static struct buf *
scrape_answer(struct store *store, const char *req)
{
	struct buf *resp = buf_new(), *body;

	if (strncmp(req, "GET /metrics ", 13) != 0 &&
	    strncmp(req, "GET /metrics\r", 13) != 0) {
		buf_puts(resp,
		    "HTTP/1.0 404 Not Found\r\nContent-Type: "
		    "text/plain\r\nContent-Length: 10\r\n\r\n"
		    "not found\n");
		return resp;
	}
	body = buf_new();
	if (metrics_render(store, body) != 0)
		buf_puts(resp,
		    "HTTP/1.0 500 Internal Server Error\r\n"
		    "Content-Length: 0\r\n\r\n");
	else
		buf_printf(resp,
		    "HTTP/1.0 200 OK\r\nContent-Type: " METRICS_CONTENT_TYPE
		    "\r\nContent-Length: %zu\r\n\r\n%s",
		    buf_len(body), buf_str(body));
	buf_free(body);
	return resp;
}

/* Read from client <c>; 1 when it is done with (close it). */
static int
scrape_read(struct scrape_client *c, struct store *store)
{
	ssize_t n;

	while (c->got < SCRAPE_REQ_MAX) {
		n = read(c->fd, c->req + c->got, SCRAPE_REQ_MAX - c->got);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return 1;
		c->got += (size_t)n;
		c->req[c->got] = '\0';
		if (strstr(c->req, "\r\n\r\n") != NULL ||
		    strstr(c->req, "\n\n") != NULL)
			break;
	}
	/* A whole request, or as much as we read: answer it. */
	c->resp = scrape_answer(store, c->req);
	return 0;
}

/* Write to client <c>; 1 when it is done with. */
static int
scrape_write(struct scrape_client *c)
{
	ssize_t n;

	while (c->off < buf_len(c->resp)) {
		n = send(c->fd, buf_str(c->resp) + c->off,
		    buf_len(c->resp) - c->off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return 1;
		c->off += (size_t)n;
	}
	return 1;
}

/* Read or write client socket <fd>, whichever is due. */
static void
scrape_io(struct scrape *sc, int fd, struct store *store)
{
	size_t i;
	int done, had;

	for (i = 0; i < sc->n; i++) {
		if (sc->c[i].fd != fd)
			continue;
		had = sc->c[i].resp != NULL;
		done = had ? 0 : scrape_read(&sc->c[i], store);
		if (!done && sc->c[i].resp != NULL)
			done = scrape_write(&sc->c[i]);
		if (done)
			scrape_close(sc, i);
		else if (!had && sc->c[i].resp != NULL)
			scrape_watch(sc, fd, EPOLLOUT, 0);
		return;
	}
}

void
scrape_run(struct scrape *sc, struct store *store)
{
	struct epoll_event evs[SCRAPE_MAX];
	int i, n;

	n = epoll_wait(sc->epfd, evs, SCRAPE_MAX, 0);
	for (i = 0; i < n; i++)
		scrape_io(sc, evs[i].data.fd, store);
}

int64_t
scrape_expire(struct scrape *sc)
{
	int64_t now = misc_monotonic_ms(), next = INT64_MAX;
	size_t i = 0;

	while (i < sc->n) {
		if (now >= sc->c[i].deadline) {
			debug("metrics: a client took too long; closed");
			scrape_close(sc, i);
			continue;
		}
		if (sc->c[i].deadline < next)
			next = sc->c[i].deadline;
		i++;
	}
	return next;
}
