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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portholed.h"

#include "compat.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "mon.h"
#include "proxyhdr.h"
#include "ratelim.h"
#include "xmalloc.h"

/*
 * Relaying one public connection through one forwarded-tcpip channel.
 *
 * Public client -> channel: read() at most the channel's send window
 * into <up>, write it with ssh_channel_write(); what the window did not
 * take stays in <up> and reading stops until it drains. <up> starts at
 * RELAY_BUFSZ and grows to RELAY_UP_BULK the first time a read fills
 * it: larger writes into the channel let libssh send more packets per
 * system call, which measured a sixth less CPU per byte for a bulk
 * upload, while a connection that only ever sends a little keeps the
 * small buffer.
 *
 * Channel -> public client: the data callback send()s straight to the
 * socket; what the socket does not take is copied into <down> (as far as
 * it holds) and the rest is left in libssh's channel buffer by returning
 * a short count, which is back-pressure: libssh re-opens the window from
 * the callback only while little is buffered. When the socket is
 * writable again, <down> is sent, and then all that libssh holds for the
 * channel is taken into <down> at once, grown to fit if need be
 * (relay_chan_take(): a read that leaves data with libssh 0.10 would
 * re-open the window all the same). So libssh holds at most one window,
 * RELAY_WINDOW, for a client that keeps to it, and <down> at most what
 * libssh held: about 8 MiB per connection whose public client reads
 * slowly. A client that sends past the window is disconnected once
 * libssh holds more than RELAY_HELD_MAX for one channel (relay_overrun()),
 * and a channel being freed gets a callback that drops its data
 * (relay_orphan()), as libssh 0.10 would otherwise buffer it without
 * bound until the client's CLOSE.
 *
 * Half-close passes through both ways: EOF from the client becomes a
 * channel EOF once <up> is written; a channel EOF becomes
 * shutdown(SHUT_WR) once everything before it is sent.
 *
 * BandwidthLimit is flow control, never loss. Each endpoint has a token
 * bucket per direction (src/ratelim.h: rate R, burst max(R/10, 64 KiB)),
 * shared by its connections. Up: a read asks the bucket first and reads
 * no more than it grants; when it grants nothing the socket leaves the
 * epoll set (the kernel's buffers fill and TCP pushes back on the
 * public client). Down: the data callback sends only what the bucket
 * grants and leaves the rest with libssh (the window then stays shut,
 * so the SSH client stops sending); <down> is sent as granted. A relay
 * the bucket refused is on sess->throttled and is looked at again when
 * the bucket has refilled enough (relay_limits_tick(), a timer of the
 * main loop).
 *
 * ConnectionIdleTimeout: a relay that moved no byte either way for that
 * long is ended like any other (relay_kill(): its socket closed, its
 * channel closed).
 */

#define RELAY_BUFSZ       (64 * 1024)
#define RELAY_UP_BULK     (512 * 1024) /* <up> once a read fills RELAY_BUFSZ */
#define RELAY_WINDOW      (4 * 1024 * 1024) /* receive window, keeping up */
#define RELAY_READ_BUDGET (1024 * 1024) /* per wake-up, fairness */
/*
 * What libssh may hold for one channel before the client is taken to
 * ignore the window: the window, and two of the 32 KiB packets libssh
 * asks for as slack, which no client that keeps to the window uses.
 */
#define RELAY_SLACK    (64 * 1024)
#define RELAY_HELD_MAX (RELAY_WINDOW + RELAY_SLACK)

static void relay_kill(struct sess *, struct relay *, const char *);

/*
 * Put <r> on the list relay_service() visits after each poll: relays
 * with an open pending, a write waiting for the SSH window, an end to
 * check or a free to do. Idle relays are not visited at all.
 */
static void
relay_want(struct sess *s, struct relay *r)
{
	if (!r->in_work) {
		TAILQ_INSERT_TAIL(&s->work, r, work);
		r->in_work = 1;
	}
}

/* Microseconds from the monotonic clock, for the buckets. */
static int64_t
relay_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Bucket <b> refused <r> <want> bytes (<down>: towards the public
 * client): wait, off the epoll set that way, until it has them.
 */
static void
relay_throttle(struct sess *s, struct relay *r, struct ratelim_bucket *b,
    size_t want, int64_t now_us, int down)
{
	int64_t at;

	at = (now_us + ratelim_bucket_wait_us(b, want, now_us) + 999) / 1000;
	if (down)
		r->down_throttled = 1;
	else
		r->up_throttled = 1;
	if (!r->in_slow) {
		TAILQ_INSERT_TAIL(&s->throttled, r, slow);
		r->in_slow = 1;
	}
	if (s->bw_wake == 0 || at < s->bw_wake)
		s->bw_wake = at;
}

/* Take <r> off the throttled list. */
static void
relay_unslow(struct sess *s, struct relay *r)
{
	if (r->in_slow) {
		TAILQ_REMOVE(&s->throttled, r, slow);
		r->in_slow = 0;
	}
	r->up_throttled = r->down_throttled = 0;
}

/* Bring the socket's epoll interest in line with the relay's state. */
static void
relay_set_events(struct sess *s, struct relay *r)
{
	uint32_t ev = 0;

	if (r->fd == -1)
		return;
	if (r->state == RELAY_OPEN) {
		if (!r->tcp_eof && r->up_len == 0 && !r->up_throttled) {
			if (ssh_channel_window_size(r->chan) > 0)
				ev |= EPOLLIN;
			else
				relay_want(s, r); /* look again after polls */
		}
		if ((r->down_len > 0 || r->chan_pending) && !r->down_throttled)
			ev |= EPOLLOUT;
	}
	if (ev == r->events)
		return;
	/*
	 * A socket with nothing to wait for leaves the set entirely, or a
	 * hang-up would be reported over and over while we cannot act.
	 */
	if (ev == 0)
		sess_unwatch(s, r->fd);
	else
		(void)sess_watch(s, r->fd, &r->ep, ev, r->events == 0);
	r->events = ev;
}

/* Channel EOF, once nothing is left in <up>. */
static void
relay_send_eof(struct sess *s, struct relay *r)
{
	if (r->eof_sent || r->up_len > 0)
		return;
	r->eof_sent = 1;
	/* SSH_AGAIN only means the flush is pending. */
	if (ssh_channel_send_eof(r->chan) == SSH_ERROR)
		relay_kill(s, r, "cannot send EOF on the channel");
}

/* Write <up> into the channel as far as its window allows. */
static void
relay_flush_up(struct sess *s, struct relay *r)
{
	int w;

	if (r->up_len == 0)
		return;
	w = ssh_channel_write(r->chan, r->up + r->up_off, (uint32_t)r->up_len);
	if (r->state != RELAY_OPEN)
		return; /* a nested callback ended it */
	if (w < 0) {
		relay_kill(s, r, "channel write failed");
		return;
	}
	r->up_off += (size_t)w;
	r->up_len -= (size_t)w;
	if (r->up_len == 0) {
		r->up_off = 0;
		if (r->tcp_eof)
			relay_send_eof(s, r);
	} else
		relay_want(s, r); /* the window is full: retry after polls */
}

/* Read from the public client into the channel. */
static void
relay_read_up(struct sess *s, struct relay *r)
{
	size_t budget = RELAY_READ_BUDGET, want, got;
	struct ratelim_bucket *b = &r->fwd->bw_up;
	int64_t now_us;
	uint32_t win;
	ssize_t n;

	while (r->state == RELAY_OPEN && !r->tcp_eof && r->up_len == 0 &&
	    !r->up_throttled && budget > 0) {
		if ((win = ssh_channel_window_size(r->chan)) == 0)
			break;
		want = win < r->up_size ? win : r->up_size;
		got = want;
		if (b->rate > 0) {
			now_us = relay_now_us();
			if ((got = ratelim_bucket_take(b, want, now_us)) == 0) {
				relay_throttle(s, r, b, want, now_us, 0);
				break;
			}
		}
		/* read(), not recv(): recv() is the SSH socket's (readahead.c). */
		n = read(r->fd, r->up, got);
		ratelim_bucket_give(b, n > 0 ? got - (size_t)n : got);
		if (n > 0 && (size_t)n == r->up_size &&
		    r->up_size < RELAY_UP_BULK) {
			/* A bulk sender: fewer, larger channel writes. */
			r->up = xreallocarray(r->up, RELAY_UP_BULK, 1);
			r->up_size = RELAY_UP_BULK;
		}
		if (n > 0) {
			r->bytes_in += (uint64_t)n;
			r->fwd->bytes_in += (uint64_t)n;
			s->stats_dirty = 1;
			if (s->idle_ms > 0)
				r->active_ms = misc_monotonic_ms();
			budget -= (size_t)n < budget ? (size_t)n : budget;
			r->up_off = 0;
			r->up_len = (size_t)n;
			relay_flush_up(s, r);
		} else if (n == 0) {
			r->tcp_eof = 1;
			relay_send_eof(s, r);
		} else {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			relay_kill(s, r, strerror(errno));
		}
	}
}

/*
 * Is the libssh we run one whose reads grow the channel window to the
 * count asked for? 0.10.x: see relay_chan_take(). Asked at run time, as
 * the library may be newer than the one we were built with.
 */
static int
relay_libssh_grows_window(void)
{
	return ssh_version(SSH_VERSION_INT(0, 10, 0)) != NULL &&
	    ssh_version(SSH_VERSION_INT(0, 11, 0)) == NULL;
}

/*
 * The client sent past the window of <r>'s channel: libssh holds <held>
 * bytes for it. libssh 0.10 buffers such data without a bound, and
 * closing the channel would not stop that (a freed channel's data is
 * still buffered until the client's CLOSE), so end the session: the
 * main loop leaves after this poll and disconnects.
 */
static void
relay_overrun(struct sess *s, struct relay *r, size_t held)
{
	if (!s->quit) {
		logit("session %s: the client ignored the channel window "
		      "(connection from %s port %u: %zu bytes held, at most "
		      "%u allowed); disconnecting",
		    s->id != NULL ? s->id : "-", r->peer_ip, r->peer_port, held,
		    (unsigned int)RELAY_HELD_MAX);
		(void)ssh_session_set_disconnect_message(s->ssh,
		    "porthole: channel window exceeded");
		s->end_why = "the client ignored the channel window";
		s->quit = 1;
	}
	relay_kill(s, r, "the client ignored the channel window");
}

/* Make <down>, which is empty, hold at least <need> bytes. */
static void
relay_down_room(struct relay *r, size_t need)
{
	if (need <= r->down_size)
		return;
	/* Whole RELAY_BUFSZ steps, to reallocate less often. */
	need = (need + RELAY_BUFSZ - 1) / RELAY_BUFSZ * RELAY_BUFSZ;
	free(r->down);
	r->down = xmalloc(need);
	r->down_size = need;
}

/*
 * Take all that libssh holds for <r>'s channel into <down>, which is
 * empty. Returns the bytes taken (<down> then holds them), 0 if there
 * are none, SSH_EOF or SSH_ERROR.
 *
 * What libssh does with channel data (0.10.0 to 0.10.6 alike; lines of
 * 0.10.6's src/channels.c):
 *
 *  - channel_rcv_data() (:528) appends each DATA packet to the channel's
 *    buffer even when it is larger than the window left (it only logs
 *    "Data packet too big for our window", :572, and sets the window to
 *    0, :589), passes the whole buffer to our data callback (:611) and
 *    drops what the callback took. Then it re-opens the window, to
 *    WINDOWBASE = 1,280,000 bytes (:55, grow_window() :416-450), only if
 *    window plus buffered is under WINDOWLIMIT = 640,000 (:626).
 *  - ssh_channel_read_timeout(chan, dest, count, …) (:2976) first grows
 *    the window to count minus buffered (at least WINDOWBASE) if count is
 *    more than buffered plus window (:3017); then handles packets only
 *    until one byte is buffered (ctx.count = 1, :3028;
 *    ssh_handle_packets_termination(), session.c:754, checks that before
 *    handling anything); copies min(buffered, count) bytes into dest
 *    (:3060-3061); and last re-opens the window to WINDOWBASE if it is
 *    under WINDOWLIMIT, however much is still buffered (:3071).
 *  - ssh_channel_read_nonblocking() (:3101) is ssh_channel_poll(), which
 *    handles packets only when nothing is buffered (:3174), then that
 *    read of min(buffered, count) (:3134).
 *  - Sending the WINDOW_ADJUST writes and reads nothing (socket.c:669).
 *
 * So, first: a read that leaves data buffered still re-opens the window,
 * and a client that keeps to the window can make libssh hold more with
 * each one (measured: 13 MB for one channel after 48 MiB to a slow
 * reader). Every read here takes all that is buffered, so buffered plus
 * window stays within RELAY_WINDOW for a client that keeps to the
 * window. Second: the window can be grown past the 1,280,000 bytes that
 * cap a channel at one window per round trip (sshd gives 2 MiB; 4 MiB
 * measured faster still). While the public client keeps up, once a relay
 * has passed on half a RELAY_WINDOW since the window last grew,
 * relay_chan_data() leaves the last byte it is given with libssh, and
 * the read here asks for RELAY_WINDOW bytes, into the session's scratch
 * buffer of that size so that the count never exceeds the buffer: it
 * finds that byte, so it handles no packet; it grows the window to
 * RELAY_WINDOW minus what is buffered; and it copies out what is
 * buffered, at most RELAY_BUFSZ as it is made only then, which we copy
 * into <down>. The scratch pages past that are never written, so never
 * resident (measured: 4 KiB of its 4100 KiB mapping after 256 MiB
 * relayed).
 *
 * More than RELAY_HELD_MAX held for a channel therefore means that the
 * client ignored the window (relay_overrun()).
 *
 * libssh 0.11 (0.11.0 to 0.11.5) grows the window by what was consumed,
 * to WINDOW_DEFAULT = 2 MiB, whatever the count (grow_window(),
 * channels.c:437 in 0.11.5), and drops DATA past the window ("Window
 * exceeded", :662); its ssh_channel_poll() handles packets every time.
 * So the RELAY_WINDOW read is made only with 0.10.x; other versions get
 * plain reads and their own window. Taking all that is buffered, and
 * the callback leaving <down> alone meanwhile (r->taking), hold for all.
 */
static int
relay_chan_take(struct sess *s, struct relay *r)
{
	int avail, got;

	r->taking = 1;
	avail = ssh_channel_poll(r->chan, 0);
	if (avail <= 0 || r->state != RELAY_OPEN) {
		got = avail;
		goto out;
	}
	if ((size_t)avail > RELAY_HELD_MAX) {
		relay_overrun(s, r, (size_t)avail);
		got = 0;
		goto out;
	}
	if (r->grow_window && r->win_used >= RELAY_WINDOW / 2 &&
	    avail <= RELAY_BUFSZ) {
		if (s->relay_scratch == NULL)
			s->relay_scratch = xmalloc(RELAY_WINDOW);
		got = ssh_channel_read_timeout(r->chan, s->relay_scratch,
		    RELAY_WINDOW, 0, 0);
		if (got > 0) {
			r->win_used = 0;
			relay_down_room(r, (size_t)got);
			memcpy(r->down, s->relay_scratch, (size_t)got);
		}
	} else {
		relay_down_room(r, (size_t)avail);
		got = ssh_channel_read_nonblocking(r->chan, r->down,
		    (uint32_t)r->down_size, 0);
	}
out:
	r->taking = 0;
	/* 0.11 may say SSH_AGAIN where 0.10 says 0: nothing there yet. */
	return got == SSH_AGAIN ? 0 : got;
}

/* Send <down>, then whatever libssh still holds, to the public client. */
static void
relay_write_down(struct sess *s, struct relay *r)
{
	struct ratelim_bucket *b = &r->fwd->bw_down;
	int64_t now_us;
	size_t len;
	ssize_t n;
	int got;

	while (r->state == RELAY_OPEN && !r->down_throttled) {
		if (r->down_len > 0) {
			len = r->down_len;
			if (b->rate > 0) {
				now_us = relay_now_us();
				len = ratelim_bucket_take(b, len, now_us);
				if (len == 0) {
					relay_throttle(s, r, b, r->down_len,
					    now_us, 1);
					return;
				}
			}
			n = send(r->fd, r->down + r->down_off, len,
			    MSG_NOSIGNAL);
			ratelim_bucket_give(b, n > 0 ? len - (size_t)n : len);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					relay_kill(s, r, strerror(errno));
				return;
			}
			r->bytes_out += (uint64_t)n;
			r->fwd->bytes_out += (uint64_t)n;
			s->stats_dirty = 1;
			if (s->idle_ms > 0 && n > 0)
				r->active_ms = misc_monotonic_ms();
			r->down_off += (size_t)n;
			r->down_len -= (size_t)n;
			if (r->down_len > 0) {
				if ((size_t)n < len)
					return; /* the socket is full */
				continue; /* the bucket's grant is sent */
			}
			r->down_off = 0;
			continue;
		}
		if (!r->chan_pending)
			break;
		got = relay_chan_take(s, r);
		if (r->state != RELAY_OPEN)
			return;
		if (got > 0) {
			r->win_used += (size_t)got;
			r->down_off = 0;
			r->down_len = (size_t)got;
			if ((size_t)got < r->down_size)
				r->chan_pending = 0; /* took it all */
		} else {
			r->chan_pending = 0;
			if (got == SSH_EOF)
				r->chan_eof = 1;
			else if (got < 0)
				r->chan_closed = 1;
		}
		/*
		 * An EOF that came with the open confirmation, before our
		 * callbacks were set, is seen only here.
		 */
		if (!r->chan_pending && ssh_channel_is_eof(r->chan))
			r->chan_eof = 1;
	}
	if (r->state == RELAY_OPEN && r->down_len == 0 && !r->chan_pending &&
	    r->down_size > RELAY_BUFSZ) {
		/* Caught up: give back what a slow reader made us hold. */
		free(r->down);
		r->down = xmalloc(RELAY_BUFSZ);
		r->down_size = RELAY_BUFSZ;
	}
	if (r->state == RELAY_OPEN && r->chan_eof && r->down_len == 0 &&
	    !r->chan_pending && !r->shut_wr) {
		r->shut_wr = 1;
		if (shutdown(r->fd, SHUT_WR) == -1 && errno != ENOTCONN)
			relay_kill(s, r, strerror(errno));
	}
}

/* Data from the channel: send it on, keep or refuse what won't fit. */
static int
relay_chan_data(ssh_session ssh, ssh_channel chan, void *data, uint32_t len,
    int is_stderr, void *ud)
{
	struct relay *r = ud;
	struct sess *s = r->sess;
	struct ratelim_bucket *b = &r->fwd->bw_down;
	size_t rest, copy, hold = 0, grant = 0;
	int64_t now_us;
	ssize_t n;

	/*
	 * <len> is all that libssh holds for the channel: past the window
	 * and the slack, the client ignores the window.
	 */
	if (!is_stderr && r->state == RELAY_OPEN && len > RELAY_HELD_MAX)
		relay_overrun(s, r, len);
	/*
	 * Extended data has no meaning on a forwarded-tcpip channel: it is
	 * dropped, as sshd does. Taking it re-opens the window (channels.c
	 * :626 looks at that buffer only), so a client that mixes it in can
	 * get libssh to hold more than RELAY_WINDOW of data, and is then
	 * disconnected like one that ignores the window.
	 */
	if (is_stderr || r->state != RELAY_OPEN || r->shut_wr)
		return (int)len; /* nobody to deliver it to */
	if (r->down_len > 0 || r->taking || r->down_throttled) {
		r->chan_pending = 1;
		if (!r->taking)
			relay_set_events(s, r);
		return 0;
	}
	/* BandwidthLimit: what the bucket does not grant stays with libssh. */
	if (b->rate > 0) {
		now_us = relay_now_us();
		if ((grant = ratelim_bucket_take(b, len, now_us)) == 0) {
			r->chan_pending = 1;
			relay_throttle(s, r, b, len, now_us, 1);
			relay_set_events(s, r);
			return 0;
		}
		if (grant < len) {
			len = (uint32_t)grant;
			r->chan_pending = 1;
		}
	}
	/* Keeping up: leave a byte for relay_chan_take() to grow the window. */
	if (r->grow_window && r->win_used >= RELAY_WINDOW / 2 && len > 1) {
		hold = 1;
		len--;
		r->chan_pending = 1;
	}
	n = send(r->fd, data, len, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			relay_kill(s, r, strerror(errno));
			return (int)(len + hold); /* nobody to deliver it to */
		}
		n = 0;
	}
	r->bytes_out += (uint64_t)n;
	r->fwd->bytes_out += (uint64_t)n;
	s->stats_dirty = 1;
	if (s->idle_ms > 0 && n > 0)
		r->active_ms = misc_monotonic_ms();
	rest = len - (size_t)n;
	copy = rest < r->down_size ? rest : r->down_size;
	if (copy > 0) {
		memcpy(r->down, (unsigned char *)data + n, copy);
		r->down_off = 0;
		r->down_len = copy;
	}
	if (copy < rest)
		r->chan_pending = 1;
	r->win_used += (size_t)n + copy;
	/* What was granted and neither sent nor kept goes back. */
	if (grant > (size_t)n + copy)
		ratelim_bucket_give(b, grant - ((size_t)n + copy));
	if (rest > 0 || hold || grant > 0)
		relay_set_events(s, r);
	return (int)((size_t)n + copy);
}

static void
relay_chan_eof(ssh_session ssh, ssh_channel chan, void *ud)
{
	struct relay *r = ud;

	r->chan_eof = 1;
	if (r->state == RELAY_OPEN && r->down_len == 0 && !r->chan_pending)
		relay_write_down(r->sess, r);
	relay_want(r->sess, r);
}

static void
relay_chan_close(ssh_session ssh, ssh_channel chan, void *ud)
{
	struct relay *r = ud;

	r->chan_closed = 1;
	relay_want(r->sess, r);
}

/*
 * End relay <r>: close the public socket now; the channel is closed
 * and everything freed in relay_service(). A channel whose open is
 * still pending is kept until the client answers (freeing it earlier
 * would leave the client holding a connection forever).
 */
static void
relay_kill(struct sess *s, struct relay *r, const char *why)
{
	if (r->state == RELAY_DEAD)
		return;
	debug("endpoint %s: connection from %s port %u ended: %s (in %llu, "
	      "out %llu)",
	    r->fwd->id, r->peer_ip, r->peer_port, why,
	    (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out);
	if (r->fd != -1) {
		if (r->events != 0)
			sess_unwatch(s, r->fd);
		close(r->fd);
		r->fd = -1;
		r->events = 0;
	}
	if (r->state == RELAY_OPENING)
		r->abandoned = 1;
	else
		r->state = RELAY_DEAD;
	relay_want(s, r);
}

/* Take <r>'s socket out of the epoll set if it is in it. */
static void
sess_unwatch_if(struct sess *s, struct relay *r)
{
	if (r->events != 0) {
		sess_unwatch(s, r->fd);
		r->events = 0;
	}
}

/* The client refused the forwarded-tcpip open: close the public side. */
static void
relay_open_failed(struct sess *s, struct relay *r)
{
	char why[256];

	snprintf(why, sizeof(why),
	    "the client refused the connection (is "
	    "the local service up?): %s",
	    ssh_get_error(s->ssh));
	r->state = RELAY_OPEN; /* resolved: the channel may be freed */
	if (r->edge && r->fd != -1) {
		/* Nothing was read from it: another member can take it. */
		debug("endpoint %s: %s", r->fwd->id, why);
		sess_unwatch_if(s, r);
		edge_return(s, r); /* takes r->fd */
		r->edge = 0; /* returned, not done */
		r->returned = 1;
		r->fwd->conns_total--;
	}
	relay_kill(s, r, why);
}

/*
 * With the PROXY protocol on, the header is the first thing written into
 * the channel: it goes out through <up> before any client byte is read.
 */
static void
relay_proxy_header(struct sess *s, struct relay *r)
{
	int n = 0;

	switch (sess_proxy_proto(s, r->fwd)) {
	case 1:
		n = proxyhdr_v1((char *)r->up, RELAY_BUFSZ, &r->peer,
		    &r->local);
		break;
	case 2:
		n = proxyhdr_v2(r->up, RELAY_BUFSZ, &r->peer, &r->local);
		break;
	default:
		return;
	}
	if (n < 0) {
		relay_kill(s, r, "cannot build the PROXY header");
		return;
	}
	r->up_off = 0;
	r->up_len = (size_t)n;
	relay_flush_up(s, r);
}

/* The client accepted the forwarded-tcpip open: start relaying. */
static void
relay_opened(struct sess *s, struct relay *r)
{
	r->state = RELAY_OPEN;
	if (r->abandoned) {
		relay_kill(s, r, "public client left before the open");
		return;
	}
	memset(&r->cb, 0, sizeof(r->cb));
	r->cb.userdata = r;
	r->cb.channel_data_function = relay_chan_data;
	r->cb.channel_eof_function = relay_chan_eof;
	r->cb.channel_close_function = relay_chan_close;
	ssh_callbacks_init(&r->cb);
	ssh_set_channel_callbacks(r->chan, &r->cb);
	r->up = xmalloc(RELAY_BUFSZ);
	r->up_size = RELAY_BUFSZ;
	r->down = xmalloc(RELAY_BUFSZ);
	r->down_size = RELAY_BUFSZ;
	r->grow_window = relay_libssh_grows_window();
	r->active_ms = misc_monotonic_ms();
	if (s->idle_ms > 0 && r->active_ms + s->idle_ms < s->idle_next)
		s->idle_next = r->active_ms + s->idle_ms;
	relay_proxy_header(s, r);
	/* Data (or EOF) may have come with the confirmation: drain it. */
	r->chan_pending = 1;
	if (r->state == RELAY_OPEN)
		relay_set_events(s, r);
	relay_want(s, r);
}

struct relay *
relay_start(struct sess *s, struct fwd *f, int fd, const struct sockaddr *peer,
    uint64_t edge_conn)
{
	struct relay *r;
	socklen_t sslen;
	int one = 1, rc;

	r = xcalloc(1, sizeof(*r));
	r->ep.kind = EP_KIND_RELAY;
	r->sess = s;
	r->fwd = f;
	f->refs++;
	r->fd = fd;
	r->state = RELAY_OPENING;
	if (edge_conn != 0) {
		/* Handed over by the monitor: DONE or RETURN is owed. */
		r->edge = 1;
		r->edge_conn = edge_conn;
	}
	if (net_ntop(peer, r->peer_ip, sizeof(r->peer_ip), &r->peer_port) != 0)
		strlcpy(r->peer_ip, "0.0.0.0", sizeof(r->peer_ip));
	memcpy(&r->peer, peer,
	    peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                : sizeof(struct sockaddr_in));
	sslen = sizeof(r->local);
	if (getsockname(fd, (struct sockaddr *)&r->local, &sslen) == -1)
		r->local.ss_family = AF_UNSPEC;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->start_ms = misc_now_ms();
	TAILQ_INSERT_TAIL(&s->relays, r, entry);
	relay_want(s, r); /* its open is pending */
	f->conns_open++;
	f->conns_total++;
	s->stats_dirty = 1;
	debug("endpoint %s: connection from %s port %u", f->id, r->peer_ip,
	    r->peer_port);
	if ((r->chan = ssh_channel_new(s->ssh)) == NULL) {
		r->state = RELAY_OPEN; /* nothing pending to wait for */
		relay_kill(s, r, "cannot make a channel");
		return r;
	}
	/*
	 * The open carries exactly the address string the client asked
	 * for and the port we bound: OpenSSH matches both to find the
	 * forward. Until the client answers the socket is not read.
	 */
	rc = ssh_channel_open_reverse_forward(r->chan, f->bind_address, f->port,
	    r->peer_ip, r->peer_port);
	if (rc == SSH_OK)
		relay_opened(s, r);
	else if (rc == SSH_ERROR)
		relay_open_failed(s, r);
	return r;
}

void
relay_io(struct sess *s, struct relay *r, uint32_t events)
{
	if (r->state != RELAY_OPEN || r->fd == -1)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		relay_read_up(s, r);
	if (r->state == RELAY_OPEN && (events & (EPOLLOUT | EPOLLERR)))
		relay_write_down(s, r);
	if (r->state == RELAY_OPEN)
		relay_set_events(s, r);
	if (r->eof_sent || r->shut_wr || r->chan_closed)
		relay_want(s, r); /* maybe done */
}

/* Is relay <r> finished in both directions? */
static int
relay_is_done(struct relay *r)
{
	if (r->eof_sent && r->shut_wr)
		return 1;
	/* Closed by the client: nothing more can come. */
	if ((r->chan_closed || ssh_channel_is_closed(r->chan)) &&
	    r->down_len == 0 && !r->chan_pending)
		return 1;
	return 0;
}

/* Data on a channel we gave up: dropped (see relay_orphan()). */
static int
relay_drain_data(ssh_session ssh, ssh_channel chan, void *data, uint32_t len,
    int is_stderr, void *ud)
{
	return (int)len;
}

/*
 * Take our callbacks off <r>'s channel, which is about to be freed or
 * left to ssh_disconnect(), and give it one that drops its data. libssh
 * keeps a freed channel until the client's CLOSE (channels.c:679-720)
 * and meanwhile buffers its DATA, without a bound in 0.10 if the client
 * ignores the window; what the callback takes is not buffered. The
 * callbacks struct is the session's, so it outlives every channel.
 */
static void
relay_orphan(struct sess *s, struct relay *r)
{
	ssh_remove_channel_callbacks(r->chan, &r->cb);
	if (s->relay_drain_cb.size == 0) {
		s->relay_drain_cb.userdata = NULL;
		s->relay_drain_cb.channel_data_function = relay_drain_data;
		ssh_callbacks_init(&s->relay_drain_cb);
	}
	ssh_set_channel_callbacks(r->chan, &s->relay_drain_cb);
}

/* Free a dead relay: close its channel and drop its references. */
static void
relay_free(struct sess *s, struct relay *r)
{
	TAILQ_REMOVE(&s->relays, r, entry);
	if (r->in_work) {
		TAILQ_REMOVE(&s->work, r, work);
		r->in_work = 0;
	}
	relay_unslow(s, r);
	if (!r->returned) {
		rec_conn_closed(s, r->fwd, (struct sockaddr *)&r->peer,
		    (struct sockaddr *)&r->local, r->start_ms, r->bytes_in,
		    r->bytes_out, MON_CONN_RELAYED);
	}
	if (r->edge)
		edge_done(s, r);
	if (r->chan != NULL) {
		relay_orphan(s, r);
		if (!ssh_channel_is_closed(r->chan))
			ssh_channel_close(r->chan);
		ssh_channel_free(r->chan);
	}
	r->fwd->conns_open--;
	s->stats_dirty = 1;
	fwd_unref(s, r->fwd);
	free(r->up);
	free(r->down);
	free(r);
}

void
relay_service(struct sess *s)
{
	struct relay_work todo;
	struct relay *r;
	int rc, freed = 0;

	/* What is added while we work waits for the next turn. */
	TAILQ_INIT(&todo);
	TAILQ_CONCAT(&todo, &s->work, work);
	while ((r = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, r, work);
		r->in_work = 0;
		switch (r->state) {
		case RELAY_OPENING:
			rc = ssh_channel_open_reverse_forward(r->chan,
			    r->fwd->bind_address, r->fwd->port, r->peer_ip,
			    r->peer_port);
			if (rc == SSH_OK)
				relay_opened(s, r);
			else if (rc != SSH_AGAIN)
				relay_open_failed(s, r);
			else
				relay_want(s, r);
			break;
		case RELAY_OPEN:
			/* The window may have grown since the last write. */
			if (r->up_len > 0)
				relay_flush_up(s, r);
			if (r->state == RELAY_OPEN && relay_is_done(r))
				relay_kill(s, r, "closed");
			if (r->state == RELAY_OPEN)
				relay_set_events(s, r);
			break;
		case RELAY_DEAD:
			/* Nested calls may have put it back on the list. */
			if (r->in_work) {
				TAILQ_REMOVE(&s->work, r, work);
				r->in_work = 0;
			}
			relay_free(s, r);
			freed = 1;
			break;
		}
	}
	fwd_reap(s);
	if (freed)
		fwd_resume(s);
}

void
relay_close_channels(struct sess *s)
{
	struct relay *r;

	/*
	 * Each one's public socket is closed now and its channel in
	 * relay_service(): ssh exits only once every channel is closed.
	 */
	TAILQ_FOREACH (r, &s->relays, entry)
		relay_kill(s, r, "the session is ending");
}

void
relay_close_all(struct sess *s)
{
	struct relay *r;

	while ((r = TAILQ_FIRST(&s->relays)) != NULL) {
		TAILQ_REMOVE(&s->relays, r, entry);
		if (r->in_work) {
			TAILQ_REMOVE(&s->work, r, work);
			r->in_work = 0;
		}
		relay_unslow(s, r);
		if (r->edge && r->state == RELAY_OPENING && r->fd != -1) {
			/*
			 * Handed to us, not yet opened, nothing read: the
			 * group's other members can still take it.
			 */
			edge_return(s, r); /* takes r->fd */
			r->edge = 0;
			r->returned = 1;
			r->fwd->conns_total--;
		}
		if (!r->returned) {
			rec_conn_closed(s, r->fwd, (struct sockaddr *)&r->peer,
			    (struct sockaddr *)&r->local, r->start_ms,
			    r->bytes_in, r->bytes_out, MON_CONN_RELAYED);
		}
		if (r->edge)
			edge_done(s, r);
		if (r->fd != -1)
			close(r->fd);
		/*
		 * ssh_disconnect() frees the channels themselves; until then
		 * (the session's last flush) what comes is dropped.
		 */
		if (r->chan != NULL)
			relay_orphan(s, r);
		r->fwd->conns_open--;
		fwd_unref(s, r->fwd);
		free(r->up);
		free(r->down);
		free(r);
	}
	free(s->relay_scratch);
	s->relay_scratch = NULL;
}

void
relay_limits(struct sess *s, struct ipc_msg *m)
{
	uint64_t bw, idle, left, seen;
	uint32_t rate, per_source;
	int64_t now = misc_monotonic_ms();
	struct relay *r;
	struct fwd *f;
	int quota;

	bw = ipc_get_u64(m);
	rate = ipc_get_u32(m);
	per_source = ipc_get_u32(m);
	idle = ipc_get_u64(m);
	quota = ipc_get_u8(m) != 0;
	left = ipc_get_u64(m);
	seen = ipc_get_u64(m);
	if (!ipc_ok(m, 1) || bw > INT64_MAX || idle > INT64_MAX / 2) {
		error("session %s: bad limits from the monitor", s->id);
		return;
	}
	if (idle > 0 && s->idle_ms == 0) {
		/* Idle from now, not from before the limit was set. */
		TAILQ_FOREACH (r, &s->relays, entry)
			r->active_ms = now;
	}
	s->bw_limit = bw;
	s->conn_rate = rate;
	s->per_source = per_source;
	s->idle_ms = (int64_t)idle;
	s->idle_next = idle > 0 ? now : 0;
	s->quota_on = quota;
	s->quota_left = left;
	s->quota_seen = seen;
	if (!quota || left > 0)
		s->quota_logged = 0;
	TAILQ_FOREACH (f, &s->fwds, entry)
		fwd_set_limits(s, f);
	/* A new rate: the waiting relays ask their bucket again. */
	if (!TAILQ_EMPTY(&s->throttled))
		s->bw_wake = now;
	debug("session %s: limits: bandwidth %llu B/s, %u connections a "
	      "minute, %u per source, idle %llu ms, quota %s (%llu left)",
	    s->id, (unsigned long long)bw, rate, per_source,
	    (unsigned long long)idle, quota ? "on" : "off",
	    (unsigned long long)left);
}

/* Wake the throttled relays: each asks its bucket again. */
static void
relay_wake(struct sess *s)
{
	struct relay_slow todo;
	struct relay *r;
	int up, down;

	s->bw_wake = 0;
	TAILQ_INIT(&todo);
	TAILQ_CONCAT(&todo, &s->throttled, slow);
	while ((r = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, r, slow);
		r->in_slow = 0;
		up = r->up_throttled;
		down = r->down_throttled;
		r->up_throttled = r->down_throttled = 0;
		if (r->state != RELAY_OPEN)
			continue;
		if (down)
			relay_write_down(s, r);
		if (up && r->state == RELAY_OPEN)
			relay_read_up(s, r);
		if (r->state == RELAY_OPEN)
			relay_set_events(s, r);
		relay_want(s, r); /* maybe done, or its window grew */
	}
}

/* End the relays idle for ConnectionIdleTimeout; the next check. */
static void
relay_idle(struct sess *s, int64_t now)
{
	int64_t next = now + s->idle_ms;
	struct relay *r;

	TAILQ_FOREACH (r, &s->relays, entry) {
		if (r->state != RELAY_OPEN)
			continue;
		if (now - r->active_ms >= s->idle_ms) {
			verbose("endpoint %s: connection from %s port %u idle "
			        "for %lld s (ConnectionIdleTimeout); closing",
			    r->fwd->id, r->peer_ip, r->peer_port,
			    (long long)(s->idle_ms / 1000));
			relay_kill(s, r, "idle (ConnectionIdleTimeout)");
			continue;
		}
		if (r->active_ms + s->idle_ms < next)
			next = r->active_ms + s->idle_ms;
	}
	s->idle_next = next;
}

int64_t
relay_limits_tick(struct sess *s)
{
	int64_t now = misc_monotonic_ms(), next = INT64_MAX;

	if (s->bw_wake != 0 && now >= s->bw_wake)
		relay_wake(s);
	if (s->idle_ms > 0 && now >= s->idle_next)
		relay_idle(s, now);
	if (s->bw_wake != 0)
		next = s->bw_wake;
	if (s->idle_ms > 0 && s->idle_next < next)
		next = s->idle_next;
	return next;
}

uint64_t
relay_bytes_total(struct sess *s)
{
	uint64_t n = (uint64_t)s->gone_bytes_in + (uint64_t)s->gone_bytes_out;
	struct fwd *f;

	TAILQ_FOREACH (f, &s->fwds, entry)
		n += f->bytes_in + f->bytes_out;
	return n;
}
