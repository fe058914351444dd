/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mon-int.h"

#include "conf.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Change notification in the monitor. On PostgreSQL an administrator's
 * change, made with portholectl on any machine, is announced on the
 * database (store_notify_change); the monitor listens for it and has
 * every live session of this node re-read its settings at once, as if
 * each had sent MON_CHECK: mon_check() then ends the sessions that were
 * killed, disabled or withdrawn, and sends the new policies and
 * endpoint settings, exactly as on its periodic re-check.
 *
 * It listens on a connection of its own (store_changes_*), not on the
 * store's: libpq reads a notification that arrives while a statement
 * runs into its queue, leaving nothing on the socket to wake the event
 * loop, and the store's connection runs statements all the time. This
 * one runs none, so its socket is readable exactly when something came.
 *
 * A lost connection is made again at once; if that fails, after
 * MON_CHANGES_RETRY_MS, and twice as long after each failure (at most
 * MON_CHANGES_RETRY_MAX_MS). libpq connects synchronously: the monitor
 * waits for each attempt (connect_timeout bounds it; one to the local
 * machine that is refused takes no time), as it waits for the store's.
 * Once it is back, every session re-checks, as changes may have been
 * announced meanwhile. Until then the periodic re-check still runs.
 * SQLite has no notification: portholectl signals the session
 * processes, which send MON_CHECK themselves, and the API process (which
 * runs as User and may not signal them) asks the monitor over its
 * control socket, which then calls mon_changes_recheck() itself.
 */

#define MON_CHANGES_RETRY_MS     1000
#define MON_CHANGES_RETRY_MAX_MS 30000

struct mon_changes {
	struct mon_item item; /* must be first */
	char *target; /* the Database it listens on */
	struct store_changes *ch; /* NULL until it first connects */
	int fd; /* watched in mon->epfd, or -1 */
	int64_t retry_at; /* monotonic ms: connect again (0: connected) */
	int64_t backoff; /* the wait after the next failure */
	int failing; /* the failure was logged */
};

/* Have every live session re-read its settings, for <why>. */
void
mon_changes_recheck(struct mon *mon, const char *why)
{
	struct mon_kid *k;
	size_t n = 0;

	TAILQ_FOREACH (k, &mon->kids, entry) {
		if (k->state != MON_KID_AUTHED || k->ctl == -1 || k->ended ||
		    k->end_reason != NULL)
			continue;
		mon_check_soon(mon, k);
		n++;
	}
	verbose("%s: %zu session(s) re-read their settings", why, n);
}

/* Watch the listener's socket in the monitor's epoll set. */
static int
mon_changes_watch(struct mon *mon, struct mon_changes *c)
{
	struct epoll_event ev;
	int fd;

	if ((fd = store_changes_fd(c->ch)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &c->item;
	if (epoll_ctl(mon->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		error_f("epoll_ctl fd %d: %s", fd, strerror(errno));
		return -1;
	}
	c->fd = fd;
	return 0;
}

/*
 * Stop watching the socket. Called at once when libpq may have closed
 * it, before any descriptor can be made that would reuse its number;
 * a closed one is out of the set already (EBADF).
 */
static void
mon_changes_unwatch(struct mon *mon, struct mon_changes *c)
{
	if (c->fd == -1)
		return;
	(void)epoll_ctl(mon->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->fd = -1;
}

/* Connecting failed: say so once, and try again later. */
static void
mon_changes_failed(struct mon_changes *c, const char *why)
{
	int64_t now = misc_monotonic_ms();

	if (!c->failing)
		error("change notifications: %s; sessions take up changes "
		      "at their periodic re-check until they work again",
		    why);
	else
		debug("change notifications: %s", why);
	c->failing = 1;
	c->retry_at = now + c->backoff;
	c->backoff *= 2;
	if (c->backoff > MON_CHANGES_RETRY_MAX_MS)
		c->backoff = MON_CHANGES_RETRY_MAX_MS;
}

/* Connect (first time) or connect again, and listen. */
static void
mon_changes_connect(struct mon *mon, struct mon_changes *c)
{
	char errbuf[512];
	int r;

	if (c->ch == NULL)
		r = store_changes_open(c->target, &c->ch, errbuf,
		    sizeof(errbuf));
	else if ((r = store_changes_reconnect(c->ch)) != 0)
		snprintf(errbuf, sizeof(errbuf), "%s",
		    store_changes_errmsg(c->ch));
	if (r == 0 && mon_changes_watch(mon, c) != 0) {
		snprintf(errbuf, sizeof(errbuf), "cannot watch its socket");
		r = PORTHOLE_ERR_SYSTEM;
	}
	if (r != 0) {
		mon_changes_failed(c, errbuf);
		return;
	}
	c->retry_at = 0;
	c->backoff = MON_CHANGES_RETRY_MS;
	if (c->failing) {
		c->failing = 0;
		logit("change notifications: listening again");
		/* What was announced meanwhile is lost: look at everything. */
		mon_changes_recheck(mon, "change notifications back");
	} else
		debug("change notifications: listening");
}

void
mon_changes_start(struct mon *mon)
{
	struct mon_changes *c;

	if (!store_can_notify(mon->store) || mon->conf->database == NULL)
		return;
	c = xcalloc(1, sizeof(*c));
	c->item.kind = MON_ITEM_CHANGES;
	c->target = xstrdup(mon->conf->database);
	c->fd = -1;
	c->backoff = MON_CHANGES_RETRY_MS;
	mon->changes = c;
	mon_changes_connect(mon, c);
}

void
mon_changes_read(struct mon *mon)
{
	struct mon_changes *c = mon->changes;
	int n = 0;

	if (c == NULL || c->fd == -1)
		return;
	if (store_changes_drain(c->ch, &n) != 0) {
		/* libpq may have closed the socket: out of the set now. */
		mon_changes_unwatch(mon, c);
		error("change notifications: connection lost (%s); "
		      "connecting again",
		    store_changes_errmsg(c->ch));
		c->failing = 1;
		c->backoff = MON_CHANGES_RETRY_MS;
		c->retry_at = misc_monotonic_ms(); /* at the next tick */
		return;
	}
	if (n > 0)
		mon_changes_recheck(mon, "change notified");
}

int64_t
mon_changes_tick(struct mon *mon, int64_t now)
{
	struct mon_changes *c = mon->changes;

	if (c == NULL || c->retry_at == 0)
		return INT64_MAX;
	if (now >= c->retry_at)
		mon_changes_connect(mon, c);
	return c->retry_at == 0 ? INT64_MAX : c->retry_at;
}

void
mon_changes_free(struct mon *mon)
{
	struct mon_changes *c = mon->changes;

	if (c == NULL)
		return;
	mon_changes_unwatch(mon, c);
	store_changes_free(c->ch);
	free(c->target);
	free(c);
	mon->changes = NULL;
}
