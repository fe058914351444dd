/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "ctl.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * events and metrics: what the store has recorded, for people, for
 * scripts (events are JSON already, so --json changes nothing) and for
 * node_exporter's textfile collector.
 */

/* Set by SIGINT and SIGTERM: events --follow ends, with status 0. */
static volatile sig_atomic_t ctl_events_quit;

void
ctl_event_types(struct buf *b)
{
	size_t i;

	for (i = 0; ops_event_type_name(i) != NULL; i++)
		buf_printf(b, "%s%s", i == 0 ? "" : " | ",
		    ops_event_type_name(i));
}

int
ctl_event_record(struct ctl *ctl, struct event *ev)
{
	struct ops_err err;
	int r;

	if ((r = ops_event_store(ctl_ops(ctl), ev, &err)) != 0)
		ctl_report(&err);
	return r;
}

/* SIGINT, SIGTERM: leave the --follow loop at its next turn. */
static void
ctl_events_signal(int sig)
{
	ctl_events_quit = 1;
}

/*
 * Print <n> events of <list> as JSON lines, in one batch. The stored
 * text is one line of valid JSON (event.h); json_raw() escapes any
 * control character in it, which a store older than the C1 escapes of
 * json_str() may hold, so that no event drives the terminal.
 * The seq of the last is left in *lastp. If standard output is a pipe
 * whose reader has gone and we <follow>, that is how following usually
 * ends: *closedp is set and 0 returned. Any other failure to write is
 * reported; returns 0 or PORTHOLE_ERR_SYSTEM.
 */
static int
ctl_events_print(struct store_event **list, size_t n, int follow,
    int64_t *lastp, int *closedp)
{
	struct buf *b = NULL;
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (n == 0)
		return 0;
	b = buf_new();
	for (i = 0; i < n; i++) {
		json_raw(b, list[i]->json);
		buf_putc(b, '\n');
		if (list[i]->seq > *lastp)
			*lastp = list[i]->seq;
	}
	/* One batch; EPIPE: the reader has gone. */
	if ((r = misc_write_all(STDOUT_FILENO, buf_str(b), buf_len(b), -1)) !=
	    0) {
		if (errno == EPIPE && follow) {
			debug("events: standard output is closed");
			*closedp = 1;
			r = 0;
		} else
			error("write to stdout: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	buf_free(b);
	return r;
}

/*
 * Wait CTL_EVENTS_POLL_MS for the next turn of --follow. Returns 1 to
 * go on, 0 to stop: a signal asked us to, or standard output is gone
 * (a pipe whose reader has exited, a hung-up terminal), which poll(2)
 * tells without our writing to it.
 */
static int
ctl_events_wait(void)
{
	struct pollfd pfd;

	if (ctl_events_quit)
		return 0;
	/* No events asked for: only POLLERR, POLLHUP or POLLNVAL wake us. */
	pfd.fd = STDOUT_FILENO;
	pfd.events = 0;
	pfd.revents = 0;
	if (poll(&pfd, 1, CTL_EVENTS_POLL_MS) == -1 && errno != EINTR) {
		/* Cannot wait on stdout: a plain sleep will do. */
		usleep(CTL_EVENTS_POLL_MS * 1000);
	}
	if ((pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
		debug("events: standard output is closed");
		return 0;
	}
	return !ctl_events_quit;
}

/*
 * events [--follow] [--type TYPE] [--since TIME] [--limit N]: the stored
 * events, oldest first, one JSON line each; with --limit only the newest
 * N. With --follow, then each new event as it is stored, until SIGINT,
 * SIGTERM or standard output closes, all of which end it with status 0.
 */
int
ctl_events(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_event **list = NULL;
	struct ops_event_filter f;
	struct ops_err err;
	struct sigaction sa;
	size_t n = 0, limit;
	int64_t after = 0;
	int r = PORTHOLE_ERR_INTERNAL, closed = 0;

	f.type = args->type;
	f.since_ms = args->since_ms > 0 ? args->since_ms : 0;
	limit = args->limit > 0 ? (size_t)args->limit : 0;

	if (args->follow) {
		/*
		 * SIGINT and SIGTERM end the loop; a closed pipe is seen as
		 * EPIPE. Installed even where the shell had SIGINT ignored
		 * (a background job), so that both ways to stop work.
		 */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = ctl_events_signal;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGINT, &sa, NULL) == -1 ||
		    sigaction(SIGTERM, &sa, NULL) == -1) {
			r = PORTHOLE_ERR_SYSTEM;
			error("sigaction: %s", strerror(errno));
			goto out;
		}
		signal(SIGPIPE, SIG_IGN);
		/*
		 * Where the store is now, before listing: an event stored
		 * meanwhile is newer, so it is listed or followed, never
		 * lost, and --limit 0 follows from here.
		 */
		if ((r = ops_event_follow(ctl_ops(ctl), 0, NULL, 1, &list, &n,
		         &err)) != 0) {
			ctl_report(&err);
			goto out;
		}
		if (n > 0)
			after = list[0]->seq;
		store_event_list_free(list, n);
		list = NULL;
		n = 0;
	}

	/* --limit 0 lists nothing (with --follow: only what comes next). */
	if (args->limit != 0) {
		if ((r = ops_event_follow(ctl_ops(ctl), 0, &f, limit, &list, &n,
		         &err)) != 0) {
			ctl_report(&err);
			goto out;
		}
		if ((r = ctl_events_print(list, n, args->follow, &after,
		         &closed)) != 0)
			goto out;
		store_event_list_free(list, n);
		list = NULL;
		n = 0;
	}

	while (args->follow && !closed && ctl_events_wait()) {
		if ((r = ops_event_follow(ctl_ops(ctl), after, &f, 0, &list, &n,
		         &err)) != 0) {
			ctl_report(&err);
			goto out;
		}
		if ((r = ctl_events_print(list, n, 1, &after, &closed)) != 0)
			goto out;
		store_event_list_free(list, n);
		list = NULL;
		n = 0;
	}
	r = 0;
out:
	store_event_list_free(list, n);
	return r;
}

/*
 * metrics: the server's gauges and counters in the Prometheus text
 * format (metrics.h), for node_exporter's textfile collector; with
 * --json, one JSON line per sample.
 */
int
ctl_metrics(struct ctl *ctl, const struct ctl_args *args)
{
	struct buf *b = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	b = buf_new();
	if (ctl->json)
		r = metrics_render_json(ctl->store, b);
	else
		r = metrics_render(ctl->store, b);
	if (r != 0) {
		error_r(r, "metrics");
		goto out;
	}
	fputs(buf_str(b), stdout);
	r = 0;
out:
	buf_free(b);
	return r;
}
