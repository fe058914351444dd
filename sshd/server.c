/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "portholed.h"
#include "scrape.h"

#include "api.h"
#include "buf.h"
#include "compat.h"
#include "conf.h"
#include "db.h"
#include "metrics.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "misc.h"
#include "mon.h"
#include "net.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/*
 * The monitor's loop: it accepts SSH connections, applies the
 * pre-authentication limits (MaxStartups, PerSourceMaxStartups,
 * PerSourcePenalties), has the spawner fork a session process for each,
 * and runs the monitor (src/mon.c) over their control sockets. It also
 * serves MetricsListen (scrape.c) and prunes the store.
 *
 * Everything it waits on is in one epoll set, each entry tagged with
 * what it is; the monitor and the metrics clients have epoll sets of
 * their own, nested in it.
 */

#define SRV_BACKLOG        128
#define SRV_ACCEPT_BATCH   16
#define SRV_SHUTDOWN_MS    10000
#define SRV_PRUNE_MS       (60 * 1000) /* EventMaxCount */
#define SRV_AGE_PRUNE_MS   (3600 * 1000) /* the *Retention keywords */
#define SRV_PENALTY_MAX    65536 /* sources with a penalty, at most */
#define SRV_EPOLL_BATCH    32
#define SRV_SPAWN_RETRY_MS 1000
#define SRV_API_RETRY_MS   1000
#define SRV_API_FLUSH_MS   1000 /* write the API's failure count */

/* The write end of this process's signal pipe, for the handler. */
static int sig_wfd = -1;

/* What an epoll event of the loop is about. */
enum srv_tag {
	SRV_TAG_SIGNAL = 1,
	SRV_TAG_LISTENER,
	SRV_TAG_METRICS,
	SRV_TAG_SCRAPE,
	SRV_TAG_SPAWNER,
	SRV_TAG_MONITOR,
	SRV_TAG_API,
};

/* A source address's penalty (PerSourcePenalties). */
struct srv_penalty {
	char src[NET_ADDRSTRLEN];
	int64_t until; /* monotonic ms */
};

/* A session process the spawner has not reported yet. */
struct srv_pending {
	uint64_t seq;
	struct mon_kid *kid;
};

/* The monitor process's state. */
struct srv {
	struct conf **confp;
	const char *argv0;
	ssh_key key; /* for the spawner */
	struct store *store;
	struct mon *mon;
	struct scrape *scrape;
	int epfd;
	int sigfd;
	int *lfds; /* SSH listeners */
	size_t nlfds;
	int metrics_fd; /* MetricsListen, or -1 */
	/* The spawner. */
	pid_t spawn_pid;
	int spawn_sock;
	struct ipc_queue spawn_q;
	uint32_t spawn_events;
	uint64_t spawn_seq;
	int64_t spawn_retry; /* monotonic ms: start it again then */
	struct srv_pending *pend;
	size_t npend;
	/* The API process (ApiListen), see src/api.h. */
	int api_fd; /* ApiListen, or -1 */
	char *api_cert; /* ApiCertificate's PEM text, read as root */
	char *api_key; /* ApiPrivateKey's */
	pid_t api_pid;
	int api_sock;
	struct ipc_queue api_q;
	uint32_t api_events;
	int64_t api_retry; /* monotonic ms: start it again then */
	int64_t api_authfails; /* not yet counted in the store */
	int64_t api_flush; /* monotonic ms: count them then */
	/* The webhook delivery process (webhook.c). */
	pid_t hook_pid;
	int hook_sock;
	int64_t hook_retry; /* monotonic ms: start it again then */
	/* Pre-authentication limits. */
	struct srv_penalty *pen;
	size_t npen;
	int64_t next_drop_log; /* monotonic ms: rate limit for drop lines */
	uint64_t drops; /* connections dropped since the last line */
	int64_t next_prune; /* monotonic ms: cap the events */
	int64_t next_age_prune; /* monotonic ms: prune old events, sessions */
	int shutting_down;
};

/* Signal handler: note the signal in the self-pipe. */
static void
sig_handler(int sig)
{
	int saved_errno = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_wfd, &c, 1) == -1) {
		/* Pipe full: a wake-up is already pending. */
	}
	errno = saved_errno;
}

int
srv_signals_init(void)
{
	struct sigaction sa;
	int p[2];

	if (sig_wfd != -1)
		close(sig_wfd);
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2: %s", strerror(errno));
	sig_wfd = p[1];
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = sig_handler;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return p[0];
}

int
srv_signals_wfd(void)
{
	return sig_wfd;
}

unsigned int
srv_signals_read(int fd)
{
	unsigned char buf[64];
	unsigned int bits = 0;
	ssize_t n, i;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			switch (buf[i]) {
			case SIGTERM:
			case SIGINT:
				bits |= SRV_SIG_TERM;
				break;
			case SIGHUP:
				bits |= SRV_SIG_HUP;
				break;
			case SIGCHLD:
				bits |= SRV_SIG_CHLD;
				break;
			case SIGUSR1:
				bits |= SRV_SIG_USR1;
				break;
			}
		}
	}
	return bits;
}

/* Watch <fd> in the loop's epoll set, tagged <tag>. */
static int
srv_watch(struct srv *srv, int fd, enum srv_tag tag, uint32_t events, int add)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	/* The descriptor and its tag: both fit in the 64-bit data. */
	ev.data.u64 = (uint64_t)tag << 32 | (uint32_t)fd;
	if (epoll_ctl(srv->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd,
	        &ev) == -1) {
		error_f("epoll_ctl fd %d: %s", fd, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Add <secs> of penalty to source <src> (capped at penalty_max). Old
 * entries are reused once they have expired.
 */
static void
srv_penalize(struct srv *srv, const char *src, int64_t secs, const char *why)
{
	struct conf *conf = *srv->confp;
	struct srv_penalty *p = NULL;
	int64_t now = misc_monotonic_ms(), cap, min = conf->penalty_min * 1000;
	int was;
	size_t i;

	if (!conf->penalties || secs <= 0 || src[0] == '\0')
		return;
	for (i = 0; i < srv->npen; i++) {
		if (strcmp(srv->pen[i].src, src) == 0) {
			p = &srv->pen[i];
			break;
		}
	}
	if (p == NULL) {
		for (i = 0; i < srv->npen; i++) {
			if (srv->pen[i].until <= now) {
				p = &srv->pen[i]; /* expired: reuse */
				break;
			}
		}
		if (p == NULL) {
			if (srv->npen >= SRV_PENALTY_MAX)
				return; /* full of live penalties */
			srv->pen = xreallocarray(srv->pen, srv->npen + 1,
			    sizeof(*srv->pen));
			p = &srv->pen[srv->npen++];
		}
		strlcpy(p->src, src, sizeof(p->src));
		p->until = now;
	}
	if (p->until < now)
		p->until = now;
	was = p->until - now > min;
	p->until += secs * 1000;
	cap = now + conf->penalty_max * 1000;
	if (p->until > cap)
		p->until = cap;
	if (!was && p->until - now > min)
		logit("penalty for %s (%s): new connections from it are "
		      "refused for %llds",
		    src, why, (long long)((p->until - now - min) / 1000));
	else
		verbose("penalty for %s (%s): %llds in all", src, why,
		    (long long)((p->until - now) / 1000));
}

/* Predicate: source <src> has more penalty than PerSourcePenalties min. */
static int
srv_penalized(struct srv *srv, const char *src)
{
	struct conf *conf = *srv->confp;
	int64_t now = misc_monotonic_ms();
	size_t i;

	if (!conf->penalties)
		return 0;
	for (i = 0; i < srv->npen; i++) {
		if (strcmp(srv->pen[i].src, src) == 0)
			return srv->pen[i].until - now >
			    conf->penalty_min * 1000;
	}
	return 0;
}

/*
 * PerSourcePenalties for a session process that ended with <status>
 * before it logged in. What the monitor saw itself (refused attempts,
 * LoginGraceTime, a protocol violation) counts whatever the process's
 * exit status claims.
 */
static void
srv_noauth_ended(struct srv *srv, const struct mon_kid_info *info, int status)
{
	struct conf *conf = *srv->confp;

	if (info->authed || srv->shutting_down)
		return;
	if (info->violated || (WIFSIGNALED(status) && !info->grace_killed))
		srv_penalize(srv, info->src, conf->penalty_crash, "crash");
	else if (info->grace_killed ||
	    (WIFEXITED(status) && WEXITSTATUS(status) == SESS_EXIT_GRACE))
		srv_penalize(srv, info->src, conf->penalty_grace,
		    "grace-exceeded");
	else if (info->failures > 0 ||
	    (WIFEXITED(status) && WEXITSTATUS(status) == SESS_EXIT_AUTHFAIL))
		srv_penalize(srv, info->src, conf->penalty_authfail,
		    "authfail");
	else
		srv_penalize(srv, info->src, conf->penalty_noauth, "noauth");
}

/* Session process <pid> exited with <status>. */
static void
srv_kid_exited(struct srv *srv, pid_t pid, int status)
{
	struct mon_kid_info info;
	struct mon_kid *k;
	size_t i;

	if ((k = mon_kid_by_pid(srv->mon, pid)) == NULL)
		return;
	mon_kid_info(k, &info);
	if (WIFSIGNALED(status))
		verbose("session process %ld killed by signal %d", (long)pid,
		    WTERMSIG(status));
	else
		debug("session process %ld exited with status %d", (long)pid,
		    WEXITSTATUS(status));
	srv_noauth_ended(srv, &info, status);
	for (i = 0; i < srv->npend; i++) {
		if (srv->pend[i].kid == k)
			srv->pend[i] = srv->pend[--srv->npend];
	}
	mon_kid_exited(srv->mon, k, status);
}

/*
 * Read PEM file <path> (for keyword <what>) whole into *textp; it must
 * be no larger than API_PEM_MAX / 2. Returns 0 or -1 after logging why.
 */
static int
srv_read_pem(const char *what, const char *path, char **textp)
{
	struct buf *b = buf_new();
	char chunk[4096];
	ssize_t n;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		error("%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf_append(b, chunk, (size_t)n);
		if (buf_len(b) > API_PEM_MAX / 2) {
			error("%s %s: larger than %d bytes", what, path,
			    API_PEM_MAX / 2);
			goto out;
		}
	}
	if (n == -1) {
		error("%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (strstr(buf_str(b), "-----BEGIN ") == NULL ||
	    strlen(buf_str(b)) != buf_len(b)) {
		error("%s %s: not a PEM file", what, path);
		goto out;
	}
	*textp = buf_steal(b); /* the caller's */
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (buf_len(b) > 0)
		sodium_memzero((void *)buf_str(b), buf_len(b));
	buf_free(b);
	return ret;
}

/* Bind every ListenAddress and MetricsListen. */
static int
srv_listen(struct srv *srv)
{
	struct conf *conf = *srv->confp;
	size_t i;
	int fd, r;

	srv->lfds = xcalloc(conf->nlisten, sizeof(*srv->lfds));
	for (i = 0; i < conf->nlisten; i++) {
		r = net_listen(conf->listen[i].host, conf->listen[i].port,
		    SRV_BACKLOG, &fd);
		if (r != 0) {
			error("ListenAddress %s port %u: %s",
			    conf->listen[i].host, conf->listen[i].port,
			    r == PORTHOLE_ERR_EXISTS ? "address already in use"
			                             : porthole_strerror(r));
			return -1;
		}
		srv->lfds[srv->nlfds++] = fd;
	}
	if (conf->metrics_host != NULL) {
		r = net_listen(conf->metrics_host, conf->metrics_port,
		    SRV_BACKLOG, &fd);
		if (r != 0) {
			error("MetricsListen %s port %u: %s",
			    conf->metrics_host, conf->metrics_port,
			    r == PORTHOLE_ERR_EXISTS ? "address already in use"
			                             : porthole_strerror(r));
			return -1;
		}
		(void)net_set_nonblock(fd, 1);
		srv->metrics_fd = fd;
	}
	if (conf->api_host != NULL) {
		r = net_listen(conf->api_host, conf->api_port, SRV_BACKLOG,
		    &fd);
		if (r != 0) {
			error("ApiListen %s port %u: %s", conf->api_host,
			    conf->api_port,
			    r == PORTHOLE_ERR_EXISTS ? "address already in use"
			                             : porthole_strerror(r));
			return -1;
		}
		srv->api_fd = fd;
		/* Read as root: the key need not be the User's to read. */
		if (conf->api_cert != NULL &&
		    (srv_read_pem("ApiCertificate", conf->api_cert,
		         &srv->api_cert) != 0 ||
		        srv_read_pem("ApiPrivateKey", conf->api_key,
		            &srv->api_key) != 0))
			return -1;
	}
	return 0;
}

/*
 * Say where we listen, once everything is ready: the line scripts wait
 * for (always printed, to standard error, even with syslog).
 */
static int
srv_announce(struct srv *srv)
{
	struct conf *conf = *srv->confp;
	char host[NET_ADDRSTRLEN];
	uint16_t port;
	size_t i;
	int r;

	for (i = 0; i < srv->nlfds; i++) {
		if ((r = net_local_port(srv->lfds[i], &port)) != 0) {
			error_r(r, "getsockname");
			return -1;
		}
		if (strchr(conf->listen[i].host, ':') != NULL)
			snprintf(host, sizeof(host), "[%s]",
			    conf->listen[i].host);
		else
			snprintf(host, sizeof(host), "%s",
			    conf->listen[i].host);
		fprintf(stderr, "portholed: listening on %s:%u\n", host, port);
	}
	if (srv->api_fd != -1)
		fprintf(stderr, "portholed: API on %s://%s%s%s:%u/\n",
		    conf->api_cert != NULL ? "https" : "http",
		    strchr(conf->api_host, ':') != NULL ? "[" : "",
		    conf->api_host,
		    strchr(conf->api_host, ':') != NULL ? "]" : "",
		    conf->api_port);
	fflush(stderr);
	return 0;
}

/*
 * Pre-authentication limits for a new connection from <src>: returns
 * NULL to admit it, or why it is dropped. MaxStartups counts the
 * session processes that have not logged in: from START on a new one
 * is dropped with RATE percent chance, rising linearly to all at FULL
 * (sshd's random early drop). PerSourceMaxStartups caps them per source
 * address; PerSourcePenalties refuses sources that keep failing.
 */
static const char *
srv_admit(struct srv *srv, const char *src)
{
	struct conf *conf = *srv->confp;
	int startups = 0, from_src = 0, p;

	if (srv_penalized(srv, src))
		return "penalized (PerSourcePenalties)";
	mon_startups(srv->mon, src, &startups, &from_src);
	if (conf->per_source_max_startups > 0 &&
	    from_src >= conf->per_source_max_startups)
		return "too many unauthenticated connections from it "
		       "(PerSourceMaxStartups)";
	if (startups >= conf->max_startups_full)
		return "too many unauthenticated connections (MaxStartups)";
	if (startups >= conf->max_startups_begin) {
		p = conf->max_startups_rate;
		if (conf->max_startups_full > conf->max_startups_begin)
			p += (100 - p) * (startups - conf->max_startups_begin) /
			    (conf->max_startups_full -
			        conf->max_startups_begin);
		if ((int)randombytes_uniform(100) < p)
			return "random early drop (MaxStartups)";
	}
	return NULL;
}

/* Log dropped connections, at most one line a second. */
static void
srv_drop(struct srv *srv, const char *peer, const char *why)
{
	int64_t now = misc_monotonic_ms();

	srv->drops++;
	if (now < srv->next_drop_log)
		return;
	logit("dropped connection from %s: %s (%llu dropped since the last "
	      "such line)",
	    peer, why, (unsigned long long)srv->drops);
	srv->drops = 0;
	srv->next_drop_log = now + 1000;
}

/* Keep the spawner socket's epoll interest in step with its queue. */
static void
srv_spawn_interest(struct srv *srv)
{
	uint32_t ev = EPOLLIN | (srv->spawn_q.n > 0 ? EPOLLOUT : 0);

	if (srv->spawn_sock != -1 && ev != srv->spawn_events &&
	    srv_watch(srv, srv->spawn_sock, SRV_TAG_SPAWNER, ev,
	        srv->spawn_events == 0) == 0)
		srv->spawn_events = ev;
}

/* Send the spawner <m> with <nfds> descriptors (taken). */
static int
srv_spawn_send(struct srv *srv, const struct ipc_msg *m, const int *fds,
    size_t nfds)
{
	size_t i;

	if (srv->spawn_sock == -1) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return -1;
	}
	if (ipc_queue_sendv(srv->spawn_sock, &srv->spawn_q, m, fds, nfds) !=
	    0) {
		error("spawner: %s", strerror(errno));
		return -1;
	}
	srv_spawn_interest(srv);
	return 0;
}

/* Start the spawner and give it what it needs. */
static int
srv_spawn_start(struct srv *srv)
{
	struct ipc_msg m;
	char *text = NULL, *b64 = NULL;
	int sock, ret = -1;

	memset(&m, 0, sizeof(m));
	if ((srv->spawn_pid = spawn_helper(srv->argv0, "spawner", "-Z", -1,
	         &sock)) == -1) {
		srv->spawn_pid = 0;
		goto out;
	}
	srv->spawn_sock = sock;
	(void)net_set_nonblock(sock, 1);
	srv->spawn_events = 0;
	srv_spawn_interest(srv);
	if (ssh_pki_export_privkey_base64(srv->key, NULL, NULL, NULL, &b64) !=
	    SSH_OK) {
		error("spawner: cannot export the host key");
		goto out;
	}
	text = spawn_conf_text(*srv->confp);
	ipc_msg_init(&m, SPAWN_INIT);
	ipc_put_str(&m, text);
	ipc_put_str(&m, b64);
	ipc_put_u32(&m, (uint32_t)log_get_level());
	ipc_put_u8(&m, (*srv->confp)->syslog ? 1 : 0);
	ret = srv_spawn_send(srv, &m, NULL, 0);
	debug("spawner started: process %ld", (long)srv->spawn_pid);
out:
	if (b64 != NULL) {
		sodium_memzero(b64, strlen(b64));
		ssh_string_free_char(b64);
	}
	free(text);
	ipc_msg_free(&m); /* wiped: it held the key */
	return ret;
}

/*
 * The spawner is gone (it died, or its socket broke): connections handed
 * to it and not yet forked are lost; start a new one soon. Its session
 * processes go on (this process reaps them).
 */
static void
srv_spawn_lost(struct srv *srv)
{
	size_t i;

	if (srv->spawn_sock != -1) {
		(void)epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->spawn_sock,
		    NULL);
		close(srv->spawn_sock);
		srv->spawn_sock = -1;
	}
	ipc_queue_clear(&srv->spawn_q);
	for (i = 0; i < srv->npend; i++)
		mon_kid_drop(srv->mon, srv->pend[i].kid);
	srv->npend = 0;
	if (!srv->shutting_down) {
		error("spawner (process %ld) is gone; starting a new one",
		    (long)srv->spawn_pid);
		srv->spawn_retry = misc_monotonic_ms() + SRV_SPAWN_RETRY_MS;
	}
}

/* SPAWN_FORKED: the pid of the session process of request <seq>. */
static void
srv_spawn_forked(struct srv *srv, struct ipc_msg *m, int pidfd)
{
	uint64_t seq = ipc_get_u64(m);
	uint32_t pid = ipc_get_u32(m);
	size_t i;

	for (i = 0; i < srv->npend; i++) {
		if (srv->pend[i].seq == seq && ipc_ok(m, 1) && pid > 0) {
			mon_kid_set_pid(srv->mon, srv->pend[i].kid, (pid_t)pid,
			    pidfd);
			srv->pend[i] = srv->pend[--srv->npend];
			return;
		}
	}
	if (pidfd != -1)
		close(pidfd);
}

/* SPAWN_FAILED: request <seq> got no process. */
static void
srv_spawn_failed(struct srv *srv, struct ipc_msg *m)
{
	uint64_t seq = ipc_get_u64(m);
	char *why = ipc_get_str(m, 256);
	size_t i;

	error("spawner: cannot start a session process: %s", why);
	for (i = 0; i < srv->npend; i++) {
		if (srv->pend[i].seq == seq) {
			mon_kid_drop(srv->mon, srv->pend[i].kid);
			srv->pend[i] = srv->pend[--srv->npend];
			break;
		}
	}
	free(why);
}

/* Messages from the spawner. */
static void
srv_spawn_read(struct srv *srv)
{
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds, i;
	uint32_t pid, status;
	int r, n;

	memset(&m, 0, sizeof(m));
	for (n = 0; n < 256 && srv->spawn_sock != -1; n++) {
		r = ipc_recv(srv->spawn_sock, &m, fds, IPC_FDS_MAX, &nfds, 0);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r != 0) {
			srv_spawn_lost(srv);
			break;
		}
		for (i = 1; i < nfds; i++)
			close(fds[i]);
		switch (m.type) {
		case SPAWN_FORKED:
			srv_spawn_forked(srv, &m, nfds > 0 ? fds[0] : -1);
			nfds = 0;
			break;
		case SPAWN_FAILED:
			srv_spawn_failed(srv, &m);
			break;
		case SPAWN_EXITED:
			pid = ipc_get_u32(&m);
			status = ipc_get_u32(&m);
			if (ipc_ok(&m, 1))
				srv_kid_exited(srv, (pid_t)pid, (int)status);
			break;
		default:
			break;
		}
		if (nfds > 0)
			close(fds[0]);
	}
	ipc_msg_free(&m);
}

/* Keep the API socket's epoll interest in step with its queue. */
static void
srv_api_interest(struct srv *srv)
{
	uint32_t ev = EPOLLIN | (srv->api_q.n > 0 ? EPOLLOUT : 0);

	if (srv->api_sock != -1 && ev != srv->api_events &&
	    srv_watch(srv, srv->api_sock, SRV_TAG_API, ev,
	        srv->api_events == 0) == 0)
		srv->api_events = ev;
}

/*
 * The API process is gone or its socket broke: forget the socket and
 * start a new one soon (the listener stays bound here meanwhile, so
 * clients wait in its backlog).
 */
static void
srv_api_lost(struct srv *srv)
{
	if (srv->api_sock != -1) {
		(void)epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->api_sock, NULL);
		close(srv->api_sock);
		srv->api_sock = -1;
	}
	srv->api_events = 0;
	ipc_queue_clear(&srv->api_q);
	/* A process that lost its socket is of no use: reaped, restarted. */
	if (srv->api_pid != 0)
		(void)kill(srv->api_pid, SIGTERM);
	if (!srv->shutting_down && srv->api_retry == 0) {
		error("API process (%ld) is gone; starting a new one",
		    (long)srv->api_pid);
		srv->api_retry = misc_monotonic_ms() + SRV_API_RETRY_MS;
	}
}

/* Send the API process <m>, never waiting for it. */
static void
srv_api_send(struct srv *srv, const struct ipc_msg *m)
{
	if (srv->api_sock == -1)
		return;
	if (ipc_queue_send(srv->api_sock, &srv->api_q, m, -1) != 0) {
		srv_api_lost(srv);
		return;
	}
	srv_api_interest(srv);
}

/* Start the API process and give it what it needs (API_INIT). */
static int
srv_api_start(struct srv *srv)
{
	struct ipc_msg m;
	char *text = NULL;
	int sock;

	if (srv->api_fd == -1)
		return 0;
	memset(&m, 0, sizeof(m));
	if ((srv->api_pid = spawn_helper(srv->argv0, "API", "-A", srv->api_fd,
	         &sock)) == -1) {
		srv->api_pid = 0;
		return -1;
	}
	srv->api_sock = sock;
	(void)net_set_nonblock(sock, 1);
	srv->api_events = 0;
	srv_api_interest(srv);
	text = spawn_conf_text(*srv->confp);
	ipc_msg_init(&m, API_INIT);
	ipc_put_str(&m, text);
	ipc_put_u32(&m, (uint32_t)log_get_level());
	ipc_put_u8(&m, (*srv->confp)->syslog ? 1 : 0);
	ipc_put_str(&m, srv->api_cert);
	ipc_put_str(&m, srv->api_key);
	srv_api_send(srv, &m);
	ipc_msg_free(&m); /* wiped: it held the key */
	free(text);
	debug("API process started: process %ld", (long)srv->api_pid);
	return 0;
}

/*
 * API_AUTHFAIL from source <src>: count it (written to the store at
 * most every SRV_API_FLUSH_MS, so that a flood costs the monitor no
 * write per request), penalise the source as a failed SSH login is, and
 * once it is refused tell the API process for how long.
 */
static void
srv_api_authfail(struct srv *srv, const char *src)
{
	struct conf *conf = *srv->confp;
	struct srv_penalty *p;
	struct ipc_msg m;
	int64_t now = misc_monotonic_ms();
	size_t i;

	srv->api_authfails++;
	if (srv->api_flush == 0)
		srv->api_flush = now + SRV_API_FLUSH_MS;
	srv_penalize(srv, src, conf->penalty_authfail, "api-authfail");
	if (!srv_penalized(srv, src))
		return;
	for (i = 0, p = NULL; i < srv->npen; i++) {
		if (strcmp(srv->pen[i].src, src) == 0)
			p = &srv->pen[i];
	}
	if (p == NULL)
		return;
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, API_PENALTY);
	ipc_put_str(&m, src);
	/* Refused while it has more than PerSourcePenalties' min. */
	ipc_put_u64(&m, (uint64_t)(p->until - now - conf->penalty_min * 1000));
	srv_api_send(srv, &m);
	ipc_msg_free(&m);
}

/* Count the API's failed authentications in the store. */
static void
srv_api_flush(struct srv *srv)
{
	struct store_counter c;
	char *labels;
	int r;

	srv->api_flush = 0;
	if (srv->api_authfails == 0)
		return;
	c.name = API_AUTHFAIL_COUNTER;
	/* In a fleet, each node's counters carry its labels (as mon.c). */
	labels = db_target_is_pg((*srv->confp)->database)
	    ? metrics_node_labels((*srv->confp)->node_name,
	          (*srv->confp)->region)
	    : NULL;
	c.labels = labels != NULL ? labels : "";
	c.value = srv->api_authfails;
	r = store_record(srv->store, NULL, 0, &c, 1, NULL, NULL);
	free(labels);
	if (r != 0) {
		error_r(r, "cannot count %lld failed API authentication(s)",
		    (long long)srv->api_authfails);
		srv->api_flush = misc_monotonic_ms() + SRV_API_FLUSH_MS;
		return;
	}
	srv->api_authfails = 0;
}

/* Messages from the API process. */
static void
srv_api_read(struct srv *srv)
{
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds, i;
	char *src;
	int r, n, changed = 0;

	memset(&m, 0, sizeof(m));
	for (n = 0; n < 256 && srv->api_sock != -1; n++) {
		r = ipc_recv(srv->api_sock, &m, fds, IPC_FDS_MAX, &nfds, 0);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r != 0) {
			srv_api_lost(srv);
			break;
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		switch (m.type) {
		case API_CHANGED:
			changed = 1;
			break;
		case API_AUTHFAIL:
			src = ipc_get_str(&m, NET_ADDRSTRLEN - 1);
			if (ipc_ok(&m, 1))
				srv_api_authfail(srv, src);
			free(src);
			break;
		default:
			break;
		}
	}
	ipc_msg_free(&m);
	/* However many came in this batch: one re-check. */
	if (changed)
		mon_changes_recheck(srv->mon, "API change");
}

/* Accept one connection on <lfd> and have a session process made. */
static int
srv_accept(struct srv *srv, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct ipc_msg m;
	struct mon_kid *k;
	char peer[NET_ADDRSTRLEN + 8], srcip[NET_ADDRSTRLEN];
	const char *why;
	int fd, sv[2], fds[2];

	/* libssh expects a blocking socket: no SOCK_NONBLOCK. */
	fd = accept4(lfd, (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ECONNABORTED && errno != EINTR)
			error("accept: %s", strerror(errno));
		return -1;
	}
	net_sa_str((struct sockaddr *)&ss, peer, sizeof(peer));
	if (net_ntop((struct sockaddr *)&ss, srcip, sizeof(srcip), NULL) != 0)
		srcip[0] = '\0';
	if (srv->spawn_sock == -1)
		why = "the server is restarting its spawner";
	else
		why = srv_admit(srv, srcip);
	if (why != NULL) {
		srv_drop(srv, peer, why);
		close(fd);
		return 0;
	}
	/* The control socket: message boundaries kept, closed on exec. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		error("socketpair for %s: %s", peer, strerror(errno));
		close(fd);
		return 0;
	}
	k = mon_kid_add(srv->mon, sv[0], (struct sockaddr *)&ss, NULL);
	srv->pend =
	    xreallocarray(srv->pend, srv->npend + 1, sizeof(*srv->pend));
	srv->pend[srv->npend].seq = ++srv->spawn_seq;
	srv->pend[srv->npend].kid = k;
	srv->npend++;
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, SPAWN_FORK);
	ipc_put_u64(&m, srv->spawn_seq);
	fds[0] = fd;
	fds[1] = sv[1];
	if (srv_spawn_send(srv, &m, fds, 2) != 0)
		srv_spawn_lost(srv);
	ipc_msg_free(&m);
	debug("connection from %s: session process requested", peer);
	return 0;
}

/* Give <path> to <pw> without following a link (see srv_claim). */
static int
srv_claim_fd(int fd, const char *path, const struct passwd *pw, int isdir)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		error("User %s: %s: %s", pw->pw_name, path, strerror(errno));
		return -1;
	}
	if (isdir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		error("User %s: %s is not a %s; not touched", pw->pw_name, path,
		    isdir ? "directory" : "regular file");
		return -1;
	}
	if (!isdir && st.st_nlink != 1) {
		error("User %s: %s has %lu links; not touched", pw->pw_name,
		    path, (unsigned long)st.st_nlink);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != pw->pw_uid) {
		error("User %s: %s belongs to uid %lu, neither root nor %s; "
		      "not touched",
		    pw->pw_name, path, (unsigned long)st.st_uid, pw->pw_name);
		return -1;
	}
	if (st.st_uid == pw->pw_uid && st.st_gid == pw->pw_gid)
		return 0;
	if (fchown(fd, pw->pw_uid, pw->pw_gid) == -1) {
		error("User %s: chown %s: %s", pw->pw_name, path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Hand state file <path> (if it exists) to <pw>, as root. Nothing a
 * link points at is touched: the file is opened with O_NOFOLLOW and
 * checked with fstat (a regular file, one link, owned by root or <pw>)
 * before fchown. A link is refused with a message.
 */
static int
srv_claim(const char *path, const struct passwd *pw, int isdir)
{
	int fd, r;

	if (path == NULL)
		return 0;
	fd = open(path,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	        (isdir ? O_DIRECTORY : 0));
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			error("User %s: %s is a symbolic link; refusing to "
			      "follow it as root",
			    pw->pw_name, path);
		else
			error("User %s: %s: %s", pw->pw_name, path,
			    strerror(errno));
		return -1;
	}
	r = srv_claim_fd(fd, path, pw, isdir);
	close(fd);
	return r;
}

/*
 * User: once the listeners are bound, stop being root. The state
 * directory and the files in it become the user's first (srv_claim),
 * then everything else, the store included, is done as the user.
 */
static int
srv_drop_privileges(const struct conf *conf)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", NULL };
	struct passwd *pw;
	char *path = NULL;
	size_t i;
	int r = 0;

	if (conf->user == NULL)
		return 0;
	if ((pw = getpwnam(conf->user)) == NULL) {
		error("User %s: no such user", conf->user);
		return -1;
	}
	if (getuid() != 0) {
		if (getuid() == pw->pw_uid)
			return 0;
		error("User %s: portholed is not running as root", conf->user);
		return -1;
	}
	if (mkdir(conf->state_dir, 0700) == 0)
		logit("created state directory %s", conf->state_dir);
	r |= srv_claim(conf->state_dir, pw, 1);
	/* A PostgreSQL database is no file of ours. */
	for (i = 0; suffixes[i] != NULL && !db_target_is_pg(conf->database);
	     i++) {
		xasprintf(&path, "%s%s", conf->database, suffixes[i]);
		r |= srv_claim(path, pw, 0);
		free(path);
	}
	xasprintf(&path, "%s.pub", conf->host_key);
	r |= srv_claim(conf->host_key, pw, 0);
	r |= srv_claim(path, pw, 0);
	free(path);
	r |= srv_claim(conf->token_key, pw, 0);
	if (conf->event_log != NULL && conf->event_log[0] == '/')
		r |= srv_claim(conf->event_log, pw, 0);
	if (r != 0)
		return -1;
	if (misc_become_user(pw) == -1) {
		error("User %s: cannot switch: %s", pw->pw_name,
		    strerror(errno));
		return -1;
	}
	/*
	 * A state directory the user cannot reach (under a home directory
	 * of mode 0700, say) must stop the server now, with the reason.
	 */
	if (access(conf->state_dir, R_OK | W_OK | X_OK) == -1) {
		error("User %s: cannot use %s: %s", pw->pw_name,
		    conf->state_dir, strerror(errno));
		return -1;
	}
	logit("running as user %s (uid %ld)", pw->pw_name, (long)pw->pw_uid);
	return 0;
}

/*
 * Delete events older than EventRetention and sessions that ended
 * longer than SessionRetention ago.
 */
static void
srv_prune_age(struct srv *srv, const struct conf *conf)
{
	int64_t n = 0, now = misc_now_ms();
	int r;

	if (conf->event_retention > 0) {
		r = store_event_prune(srv->store,
		    now - conf->event_retention * 1000, &n);
		if (r != 0)
			error_r(r, "EventRetention: cannot prune old events");
		else if (n > 0)
			verbose("pruned %lld event(s) older than "
			        "EventRetention",
			    (long long)n);
	}
	if (conf->session_retention > 0) {
		r = store_session_prune(srv->store,
		    now - conf->session_retention * 1000, &n);
		if (r != 0)
			error_r(r, "SessionRetention: cannot prune sessions");
		else if (n > 0)
			verbose("pruned %lld session(s) that ended before "
			        "SessionRetention",
			    (long long)n);
	}
}

/*
 * At start and then hourly, prune by age; every minute, delete the
 * oldest events beyond EventMaxCount. What sessions record is written
 * first, so the cap counts it.
 */
static void
srv_prune(struct srv *srv)
{
	struct conf *conf = *srv->confp;
	int64_t n = 0, now = misc_monotonic_ms();
	int r;

	srv->next_prune = now + SRV_PRUNE_MS;
	if (now >= srv->next_age_prune) {
		srv->next_age_prune = now + SRV_AGE_PRUNE_MS;
		srv_prune_age(srv, conf);
	}
	if (conf->event_max_count <= 0)
		return;
	mon_flush(srv->mon);
	if ((r = store_event_cap(srv->store, conf->event_max_count, &n)) != 0)
		error_r(r, "EventMaxCount: cannot delete the oldest events");
	else if (n > 0)
		verbose("deleted the %lld oldest event(s) beyond EventMaxCount",
		    (long long)n);
}

/*
 * Start the webhook delivery process, which reads what to deliver from
 * the store on its own; it is started again SRV_SPAWN_RETRY_MS after it
 * dies.
 */
static void
srv_hook_start(struct srv *srv)
{
	int sock;

	srv->hook_retry = 0;
	if ((srv->hook_pid = spawn_helper(srv->argv0, "webhooks", "-W", -1,
	         &sock)) == -1) {
		srv->hook_pid = 0;
		srv->hook_retry = misc_monotonic_ms() + SRV_SPAWN_RETRY_MS;
		return;
	}
	srv->hook_sock = sock;
	if (webhook_init_send(sock, *srv->confp) != 0)
		error("webhooks: cannot configure the delivery process: %s",
		    strerror(errno));
	debug("webhook delivery started: process %ld", (long)srv->hook_pid);
}

/* The delivery process exited with <status>: start another soon. */
static void
srv_hook_lost(struct srv *srv, int status)
{
	if (srv->hook_sock != -1) {
		close(srv->hook_sock);
		srv->hook_sock = -1;
	}
	if (!srv->shutting_down) {
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
			debug("webhook delivery (process %ld) ended; starting "
			      "a new one",
			    (long)srv->hook_pid);
		else
			error("webhook delivery (process %ld) is gone; "
			      "starting a new one",
			    (long)srv->hook_pid);
		srv->hook_retry = misc_monotonic_ms() + SRV_SPAWN_RETRY_MS;
	}
	srv->hook_pid = 0;
}

/* Re-read the configuration for sessions started from now on. */
static void
srv_reload(struct srv *srv, const char *path, int must_exist, char **overrides,
    size_t noverrides)
{
	struct conf *conf;
	struct ipc_msg m;
	char *text;

	if ((conf = portholed_load_conf(path, must_exist, overrides,
	         noverrides)) == NULL) {
		error("SIGHUP: configuration not reloaded");
		return;
	}
	/* The rows, events and metrics of this run are the old name's. */
	free(conf->node_name);
	conf->node_name = xstrdup((*srv->confp)->node_name);
	free(conf->region);
	conf->region = (*srv->confp)->region != NULL
	    ? xstrdup((*srv->confp)->region)
	    : NULL;
	mon_set_conf(srv->mon, conf);
	conf_free(*srv->confp);
	*srv->confp = conf;
	memset(&m, 0, sizeof(m));
	text = spawn_conf_text(conf);
	ipc_msg_init(&m, SPAWN_CONF);
	ipc_put_str(&m, text);
	(void)srv_spawn_send(srv, &m, NULL, 0);
	ipc_msg_free(&m);
	free(text);
	/* The delivery process takes it up as a new one. */
	if (srv->hook_pid > 0)
		(void)kill(srv->hook_pid, SIGTERM);
	logit("SIGHUP: configuration reloaded for new sessions "
	      "(ListenAddress, StateDirectory, Database, HostKey, LogLevel, "
	      "SyslogFacility, MetricsListen, the Api keywords, NodeName "
	      "and Region need a restart)");
}

/* Reap what exited: the spawner, or sessions it left to us. */
static void
srv_reap(struct srv *srv)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == srv->spawn_pid) {
			srv->spawn_pid = 0;
			srv_spawn_read(srv); /* what it said before it went */
			srv_spawn_lost(srv);
			continue;
		}
		if (pid == srv->api_pid) {
			if (WIFSIGNALED(status))
				error("API process %ld killed by signal %d",
				    (long)pid, WTERMSIG(status));
			srv->api_pid = 0;
			srv_api_read(srv); /* what it said before it went */
			srv_api_lost(srv);
			continue;
		}
		if (pid == srv->hook_pid) {
			srv_hook_lost(srv, status);
			continue;
		}
		srv_kid_exited(srv, pid, status);
	}
}

/* Handle the signals that arrived; returns 1 to shut down. */
static int
srv_signals(struct srv *srv, const char *conf_path, int conf_must_exist,
    char **overrides, size_t noverrides)
{
	unsigned int sigs = srv_signals_read(srv->sigfd);

	if (sigs & SRV_SIG_CHLD)
		srv_reap(srv);
	if (sigs & SRV_SIG_HUP)
		srv_reload(srv, conf_path, conf_must_exist, overrides,
		    noverrides);
	return (sigs & SRV_SIG_TERM) != 0;
}

/* One epoll event <ev> of the loop. */
static void
srv_event(struct srv *srv, const struct epoll_event *ev)
{
	enum srv_tag tag = (enum srv_tag)(ev->data.u64 >> 32);
	int fd = (int)(uint32_t)ev->data.u64, n;

	switch (tag) {
	case SRV_TAG_LISTENER:
		for (n = 0; n < SRV_ACCEPT_BATCH; n++) {
			if (srv_accept(srv, fd) != 0)
				break;
		}
		break;
	case SRV_TAG_METRICS:
		scrape_accept(srv->scrape, fd);
		break;
	case SRV_TAG_SCRAPE:
		scrape_run(srv->scrape, srv->store);
		break;
	case SRV_TAG_SPAWNER:
		if ((ev->events & EPOLLOUT) && srv->spawn_sock != -1 &&
		    ipc_queue_flush(srv->spawn_sock, &srv->spawn_q) != 0)
			srv_spawn_lost(srv);
		srv_spawn_interest(srv);
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			srv_spawn_read(srv);
		break;
	case SRV_TAG_MONITOR:
		mon_run(srv->mon);
		break;
	case SRV_TAG_API:
		if ((ev->events & EPOLLOUT) && srv->api_sock != -1 &&
		    ipc_queue_flush(srv->api_sock, &srv->api_q) != 0)
			srv_api_lost(srv);
		srv_api_interest(srv);
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			srv_api_read(srv);
		break;
	default:
		break;
	}
}

/* The loop's timers; returns the poll timeout. */
static int
srv_timers(struct srv *srv)
{
	int64_t now = misc_monotonic_ms(), wait, t;

	if (now >= srv->next_prune)
		srv_prune(srv);
	if (srv->spawn_sock == -1 && srv->spawn_retry != 0 &&
	    now >= srv->spawn_retry) {
		srv->spawn_retry = 0;
		if (srv_spawn_start(srv) != 0)
			srv->spawn_retry = now + SRV_SPAWN_RETRY_MS;
	}
	/* A new API process once the old one is reaped. */
	if (srv->api_retry != 0 && now >= srv->api_retry && srv->api_pid == 0 &&
	    !srv->shutting_down) {
		srv->api_retry = 0;
		if (srv_api_start(srv) != 0)
			srv->api_retry = now + SRV_API_RETRY_MS;
	}
	if (srv->api_flush != 0 && now >= srv->api_flush)
		srv_api_flush(srv);
	if (srv->hook_pid == 0 && srv->hook_retry != 0 &&
	    now >= srv->hook_retry && !srv->shutting_down)
		srv_hook_start(srv);
	wait = mon_tick(srv->mon);
	now = misc_monotonic_ms();
	if (srv->api_retry != 0 && (t = srv->api_retry - now) < wait)
		wait = t;
	if (srv->api_flush != 0 && (t = srv->api_flush - now) < wait)
		wait = t;
	if ((t = srv->next_prune - now) < wait)
		wait = t;
	if (srv->spawn_retry != 0 && (t = srv->spawn_retry - now) < wait)
		wait = t;
	if (srv->hook_retry != 0 && (t = srv->hook_retry - now) < wait)
		wait = t;
	if ((t = scrape_expire(srv->scrape)) != INT64_MAX && (t -= now) < wait)
		wait = t;
	if (wait < 0)
		wait = 0;
	return wait > 60000 ? 60000 : (int)wait;
}

/*
 * Orderly shutdown: stop listening, tell every session to end (each
 * closes its relayed channels, so its client leaves at once), wait for
 * them (SIGKILL after SRV_SHUTDOWN_MS), and record their end.
 */
static void
srv_shutdown(struct srv *srv)
{
	struct epoll_event evs[SRV_EPOLL_BATCH];
	enum srv_tag tag;
	int64_t deadline, left, t;
	size_t i;
	int n, r, killed = 0;

	srv->shutting_down = 1;
	/* Closing its socket ends the delivery process, leases given up. */
	if (srv->hook_sock != -1) {
		close(srv->hook_sock);
		srv->hook_sock = -1;
	}
	for (i = 0; i < srv->nlfds; i++)
		close(srv->lfds[i]);
	srv->nlfds = 0;
	logit("shutting down %zu session(s)", mon_shutdown(srv->mon));
	/* The API process ends its streams and leaves. */
	if (srv->api_pid != 0)
		(void)kill(srv->api_pid, SIGTERM);
	srv->api_retry = 0;
	deadline = misc_monotonic_ms() + SRV_SHUTDOWN_MS;
	while (mon_nkids(srv->mon) > 0 || srv->api_pid != 0) {
		if ((left = deadline - misc_monotonic_ms()) <= 0) {
			if (killed)
				break;
			mon_kill_all(srv->mon);
			if (srv->api_pid != 0)
				(void)kill(srv->api_pid, SIGKILL);
			killed = 1;
			deadline = misc_monotonic_ms() + SRV_SHUTDOWN_MS;
			continue;
		}
		if ((t = srv_timers(srv)) < left)
			left = t;
		n = epoll_wait(srv->epfd, evs, SRV_EPOLL_BATCH, (int)left);
		for (i = 0; n > 0 && i < (size_t)n; i++) {
			tag = (enum srv_tag)(evs[i].data.u64 >> 32);
			if (tag == SRV_TAG_SIGNAL) {
				/* SIGTERM again changes nothing. */
				(void)srv_signals_read(srv->sigfd);
				srv_reap(srv);
			} else if (tag != SRV_TAG_LISTENER)
				srv_event(srv, &evs[i]);
		}
	}
	srv_api_flush(srv);
	mon_flush(srv->mon);
	/* Gone on purpose: no other node need take it for lost. */
	if ((r = store_node_stop(srv->store, (*srv->confp)->node_name)) != 0)
		error_r(r, "node %s: cannot record its stop",
		    (*srv->confp)->node_name);
}

/* Set up what the loop needs, as the user it runs as. */
static int
srv_setup(struct srv *srv)
{
	struct conf *conf = *srv->confp;
	unsigned char token_key[TOKEN_KEY_LEN];
	char errbuf[256];
	size_t i;
	int r;

	if ((r = token_key_load(conf->token_key, 1, token_key)) != 0) {
		error_r(r, "TokenKey %s", conf->token_key);
		return -1;
	}
	if (store_open(conf->database, &srv->store, errbuf, sizeof(errbuf)) !=
	    0) {
		error("Database %s", errbuf); /* "TARGET: reason" */
		sodium_memzero(token_key, sizeof(token_key));
		return -1;
	}
	srv->mon = mon_new(conf, srv->store, token_key);
	event_set_origin(conf->node_name, conf->region);
	/* A node of a fleet serves its own metrics, labelled as its. */
	if (db_target_is_pg(conf->database))
		metrics_set_node(conf->node_name, conf->region);
	sodium_memzero(token_key, sizeof(token_key));
	srv->scrape = scrape_new();
	if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	srv->sigfd = srv_signals_init();
	/* Sessions the spawner leaves behind are ours to reap. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		error("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	if (srv_watch(srv, srv->sigfd, SRV_TAG_SIGNAL, EPOLLIN, 1) != 0 ||
	    srv_watch(srv, mon_epfd(srv->mon), SRV_TAG_MONITOR, EPOLLIN, 1) !=
	        0 ||
	    srv_watch(srv, scrape_epfd(srv->scrape), SRV_TAG_SCRAPE, EPOLLIN,
	        1) != 0)
		return -1;
	for (i = 0; i < srv->nlfds; i++) {
		(void)net_set_nonblock(srv->lfds[i], 1);
		if (srv_watch(srv, srv->lfds[i], SRV_TAG_LISTENER, EPOLLIN,
		        1) != 0)
			return -1;
	}
	if (srv->metrics_fd != -1) {
		if (srv_watch(srv, srv->metrics_fd, SRV_TAG_METRICS, EPOLLIN,
		        1) != 0)
			return -1;
		logit("serving metrics on http://%s%s%s:%u/metrics",
		    strchr(conf->metrics_host, ':') ? "[" : "",
		    conf->metrics_host,
		    strchr(conf->metrics_host, ':') ? "]" : "",
		    conf->metrics_port);
	}
	srv_hook_start(srv);
	if (srv_spawn_start(srv) != 0)
		return -1;
	return srv_api_start(srv);
}

int
srv_run(struct conf **confp, const char *conf_path, int conf_must_exist,
    char **overrides, size_t noverrides)
{
	struct epoll_event evs[SRV_EPOLL_BATCH];
	struct srv srv;
	size_t i;
	int n, ret = 1;

	memset(&srv, 0, sizeof(srv));
	srv.confp = confp;
	srv.argv0 = "portholed";
	srv.metrics_fd = -1;
	srv.spawn_sock = -1;
	srv.api_fd = -1;
	srv.api_sock = -1;
	srv.hook_sock = -1;
	srv.epfd = -1;
	srv.sigfd = -1;
	/* Root (if at all) binds, then hands over and leaves. */
	if (srv_listen(&srv) != 0 || srv_drop_privileges(*confp) != 0 ||
	    portholed_state(*confp, &srv.key) != 0 || srv_setup(&srv) != 0)
		goto out;
	srv_prune(&srv);
	if (srv_announce(&srv) != 0)
		goto out;
	for (;;) {
		n = epoll_wait(srv.epfd, evs, SRV_EPOLL_BATCH,
		    srv_timers(&srv));
		if (n == -1 && errno != EINTR) {
			error("epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (i = 0; n > 0 && i < (size_t)n; i++) {
			if ((enum srv_tag)(evs[i].data.u64 >> 32) !=
			    SRV_TAG_SIGNAL) {
				srv_event(&srv, &evs[i]);
				continue;
			}
			if (srv_signals(&srv, conf_path, conf_must_exist,
			        overrides, noverrides)) {
				srv_shutdown(&srv);
				logit("exiting");
				ret = 0;
				goto out;
			}
		}
	}
out:
	for (i = 0; i < srv.nlfds; i++)
		close(srv.lfds[i]);
	if (srv.metrics_fd != -1)
		close(srv.metrics_fd);
	if (srv.spawn_sock != -1)
		close(srv.spawn_sock); /* the spawner exits */
	if (srv.hook_sock != -1)
		close(srv.hook_sock); /* and so does webhook delivery */
	ipc_queue_clear(&srv.spawn_q);
	if (srv.api_sock != -1)
		close(srv.api_sock); /* the API process exits */
	if (srv.api_fd != -1)
		close(srv.api_fd);
	ipc_queue_clear(&srv.api_q);
	if (srv.api_key != NULL) {
		sodium_memzero(srv.api_key, strlen(srv.api_key));
		free(srv.api_key);
	}
	free(srv.api_cert);
	mon_free(srv.mon);
	scrape_free(srv.scrape);
	if (srv.epfd != -1)
		close(srv.epfd);
	free(srv.pend);
	free(srv.pen);
	free(srv.lfds);
	store_free(srv.store);
	ssh_key_free(srv.key);
	return ret;
}
