/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "portholed.h"

#include "compat.h"
#include "conf.h"
#include "err.h"
#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "misc.h"
#include "net.h"
#include "store.h"
#include "xmalloc.h"

#define SRV_BACKLOG      128
#define SRV_ACCEPT_BATCH 16
#define SRV_SHUTDOWN_MS  10000
#define SRV_PRUNE_MS     (60 * 1000) /* EventMaxCount */
#define SRV_AGE_PRUNE_MS (3600 * 1000) /* the *Retention keywords */
#define SRV_PENALTY_MAX  65536 /* sources with a penalty, at most */

/* The write end of this process's signal pipe, for the handler. */
static int sig_wfd = -1;

/* A child process: a session (with its control socket) or a helper. */
struct srv_kid {
	pid_t pid;
	int ctl; /* the parent's end of its control socket, or -1 */
	struct brk_queue q; /* answers waiting for it to read */
	int session; /* an SSH session (not a metrics helper) */
	int authed; /* it said BRK_AUTHED */
	char src[NET_ADDRSTRLEN]; /* the client's address */
};

/* A source address's penalty (PerSourcePenalties). */
struct srv_penalty {
	char src[NET_ADDRSTRLEN];
	int64_t until; /* monotonic ms */
};

/* The parent's state. */
struct srv {
	struct conf **confp;
	ssh_bind bind;
	struct store *store;
	struct pollfd *pfds; /* [0] signals, then listeners */
	size_t npfds;
	int metrics_fd; /* MetricsListen socket, or -1 */
	int64_t next_prune; /* monotonic ms: cap the events */
	int64_t next_age_prune; /* monotonic ms: prune old events, sessions */
	struct srv_kid *kids;
	size_t nkids;
	size_t kidsalloc;
	struct grp_set *groups; /* edge addresses the parent listens on */
	struct pollfd *dyn; /* poll set: static part, groups, kids */
	size_t ndynalloc;
	struct srv_penalty *pen;
	size_t npen;
	int64_t next_drop_log; /* monotonic ms: rate limit for drop lines */
	uint64_t drops; /* connections dropped since the last line */
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

/*
 * Remember child <pid>, its control socket <ctl> (-1 if none) and, for
 * a session, its client's address <src> (NULL otherwise).
 */
static void
srv_kid_add(struct srv *srv, pid_t pid, int ctl, const char *src)
{
	if (srv->nkids == srv->kidsalloc) {
		srv->kidsalloc = srv->kidsalloc ? srv->kidsalloc * 2 : 64;
		srv->kids = xreallocarray(srv->kids, srv->kidsalloc,
		    sizeof(*srv->kids));
	}
	memset(&srv->kids[srv->nkids], 0, sizeof(srv->kids[srv->nkids]));
	srv->kids[srv->nkids].pid = pid;
	srv->kids[srv->nkids].ctl = ctl;
	if (src != NULL) {
		srv->kids[srv->nkids].session = 1;
		strlcpy(srv->kids[srv->nkids].src, src,
		    sizeof(srv->kids[srv->nkids].src));
	}
	srv->nkids++;
}

/* Close child <k>'s control socket and take it out of every group. */
static void
srv_kid_hangup(struct srv *srv, struct srv_kid *k)
{
	if (k->ctl != -1) {
		close(k->ctl);
		k->ctl = -1;
	}
	brk_queue_clear(&k->q);
	grp_kid_gone(srv->groups, k->pid);
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

/* A session process that never authenticated ended with <status>. */
static void
srv_noauth_ended(struct srv *srv, const struct srv_kid *k, int status)
{
	struct conf *conf = *srv->confp;

	if (!k->session || k->authed || !WIFEXITED(status))
		return;
	switch (WEXITSTATUS(status)) {
	case SESS_EXIT_AUTHFAIL:
		srv_penalize(srv, k->src, conf->penalty_authfail, "authfail");
		break;
	case SESS_EXIT_GRACE:
		srv_penalize(srv, k->src, conf->penalty_grace,
		    "grace-exceeded");
		break;
	default: /* no attempt, or not even a key exchange */
		srv_penalize(srv, k->src, conf->penalty_noauth, "noauth");
		break;
	}
}

/* Forget child <pid>; returns 1 if it was ours. */
static int
srv_kid_del(struct srv *srv, pid_t pid, int status)
{
	size_t i;

	for (i = 0; i < srv->nkids; i++) {
		if (srv->kids[i].pid == pid) {
			srv_noauth_ended(srv, &srv->kids[i], status);
			srv_kid_hangup(srv, &srv->kids[i]);
			srv->kids[i] = srv->kids[--srv->nkids];
			return 1;
		}
	}
	return 0;
}

/*
 * Reap exited children and end the store rows each one left behind (a
 * child that exits cleanly has ended its own; one that was killed has
 * not).
 */
static void
srv_reap(struct srv *srv)
{
	pid_t pid;
	int status, n, r;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (!srv_kid_del(srv, pid, status))
			continue;
		if (WIFSIGNALED(status))
			verbose("session process %ld killed by signal %d",
			    (long)pid, WTERMSIG(status));
		else
			debug("session process %ld exited with status %d",
			    (long)pid, WEXITSTATUS(status));
		n = 0;
		if ((r = store_session_end_pid(srv->store, pid, misc_now_ms(),
		         &n)) != 0)
			error_r(r, "cannot end the sessions of process %ld",
			    (long)pid);
		else if (n > 0)
			logit("ended %d session(s) left by process %ld", n,
			    (long)pid);
	}
}

/*
 * Bind every ListenAddress, then print where we listen: nothing is
 * announced unless every listener is up.
 */
static int
srv_listen(struct srv *srv)
{
	struct conf *conf = *srv->confp;
	char host[NET_ADDRSTRLEN];
	uint16_t port;
	size_t i;
	int fd, r;

	srv->npfds = conf->nlisten + 1 + (conf->metrics_host != NULL);
	srv->pfds = xcalloc(srv->npfds, sizeof(*srv->pfds));
	for (i = 0; i < srv->npfds; i++)
		srv->pfds[i].fd = -1;
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
		srv->pfds[i + 1].fd = fd;
		srv->pfds[i + 1].events = POLLIN;
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
		srv->metrics_fd = fd;
		srv->pfds[srv->npfds - 1].fd = fd;
		srv->pfds[srv->npfds - 1].events = POLLIN;
		logit("serving metrics on http://%s%s%s:%u/metrics",
		    strchr(conf->metrics_host, ':') ? "[" : "",
		    conf->metrics_host,
		    strchr(conf->metrics_host, ':') ? "]" : "",
		    conf->metrics_port);
	}
	for (i = 0; i < conf->nlisten; i++) {
		if ((r = net_local_port(srv->pfds[i + 1].fd, &port)) != 0) {
			error_r(r, "getsockname");
			return -1;
		}
		if (strchr(conf->listen[i].host, ':') != NULL)
			snprintf(host, sizeof(host), "[%s]",
			    conf->listen[i].host);
		else
			snprintf(host, sizeof(host), "%s",
			    conf->listen[i].host);
		/* The readiness line scripts wait for; always printed. */
		fprintf(stderr, "portholed: listening on %s:%u\n", host, port);
	}
	fflush(stderr);
	return 0;
}

/*
 * Pre-authentication limits for a new connection from <src>: returns
 * NULL to admit it, or why it is dropped. MaxStartups counts the
 * session processes that have not authenticated yet: from START on a
 * new one is dropped with RATE percent chance, rising linearly to all
 * at FULL (sshd's random early drop). PerSourceMaxStartups caps them
 * per source address; PerSourcePenalties refuses sources that keep
 * failing.
 */
static const char *
srv_admit(struct srv *srv, const char *src)
{
	struct conf *conf = *srv->confp;
	size_t i;
	int startups = 0, from_src = 0, p;

	if (srv_penalized(srv, src))
		return "penalized (PerSourcePenalties)";
	for (i = 0; i < srv->nkids; i++) {
		if (!srv->kids[i].session || srv->kids[i].authed)
			continue;
		startups++;
		if (strcmp(srv->kids[i].src, src) == 0)
			from_src++;
	}
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

/* Give <path> (if it exists) to <pw>; the state must stay ours. */
static int
srv_chown(const char *path, const struct passwd *pw)
{
	if (path == NULL || chown(path, pw->pw_uid, pw->pw_gid) == 0 ||
	    errno == ENOENT)
		return 0;
	error("User %s: chown %s: %s", pw->pw_name, path, strerror(errno));
	return -1;
}

/*
 * User: once the listeners are bound, stop being root. The state
 * directory and what is in it become the user's first, so that its
 * sessions can go on writing the store.
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
	r |= srv_chown(conf->state_dir, pw);
	for (i = 0; suffixes[i] != NULL; i++) {
		xasprintf(&path, "%s%s", conf->database, suffixes[i]);
		r |= srv_chown(path, pw);
		free(path);
	}
	xasprintf(&path, "%s.pub", conf->host_key);
	r |= srv_chown(conf->host_key, pw);
	r |= srv_chown(path, pw);
	free(path);
	r |= srv_chown(conf->token_key, pw);
	if (conf->event_log != NULL && conf->event_log[0] == '/')
		r |= srv_chown(conf->event_log, pw);
	if (r != 0)
		return -1;
	if (misc_become_user(pw) == -1) {
		error("User %s: cannot switch: %s", pw->pw_name,
		    strerror(errno));
		return -1;
	}
	/*
	 * Sessions open the store after fork, as this user: a state
	 * directory it cannot reach (under a home directory of mode 0700,
	 * say) must stop the server now, not every session later.
	 */
	if (access(conf->state_dir, R_OK | W_OK | X_OK) == -1 ||
	    access(conf->database, R_OK | W_OK) == -1) {
		error("User %s: cannot use %s: %s", pw->pw_name, conf->database,
		    strerror(errno));
		return -1;
	}
	logit("running as user %s (uid %ld)", pw->pw_name, (long)pw->pw_uid);
	return 0;
}

/* Accept one connection on <lfd> and fork a session process for it. */
static int
srv_accept(struct srv *srv, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char peer[NET_ADDRSTRLEN + 8];
	size_t i;
	pid_t pid, parent;
	char srcip[NET_ADDRSTRLEN];
	const char *why;
	int fd, sigfd, sv[2];

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
	if ((why = srv_admit(srv, srcip)) != NULL) {
		srv_drop(srv, peer, why);
		close(fd);
		return 0;
	}
	/* The control socket for edges: boundaries kept, closed on exec. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		error("socketpair for %s: %s", peer, strerror(errno));
		close(fd);
		return 0;
	}
	parent = getpid();
	if ((pid = fork()) == -1) {
		error("fork for %s: %s", peer, strerror(errno));
		close(fd);
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	if (pid == 0) {
		/*
		 * Child: keep only the connection. If the parent dies the
		 * session ends too, so a restarted portholed never finds
		 * ports and rows held by orphans.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != parent)
			exit(1);
		for (i = 0; i < srv->npfds; i++)
			close(srv->pfds[i].fd);
		for (i = 0; i < srv->nkids; i++) {
			if (srv->kids[i].ctl != -1)
				close(srv->kids[i].ctl);
		}
		grp_close_all(srv->groups);
		close(sv[0]);
		sigfd = srv_signals_init();
		exit(sess_main(*srv->confp, srv->bind, fd, sigfd, sv[1]));
	}
	debug("connection from %s: session process %ld", peer, (long)pid);
	close(sv[1]);
	if (net_set_nonblock(sv[0], 1) != 0)
		error("control socket: %s", strerror(errno));
	srv_kid_add(srv, pid, sv[0], srcip);
	close(fd);
	return 0;
}

/*
 * Answer one HTTP request on MetricsListen, in a process of its own so
 * that a slow or hostile client never holds up the parent: GET /metrics
 * gets the Prometheus text, anything else 404.
 */
static void
srv_metrics(struct srv *srv)
{
	struct store *store = NULL;
	struct buf *body = NULL, *resp = NULL;
	char req[2048], errbuf[256];
	size_t got = 0, i;
	ssize_t n;
	pid_t pid;
	int fd, ok = 0;

	fd = accept4(srv->metrics_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if ((pid = fork()) == -1) {
		error("fork for metrics: %s", strerror(errno));
		close(fd);
		return;
	}
	if (pid != 0) {
		srv_kid_add(srv, pid, -1, NULL);
		close(fd);
		return;
	}
	/*
	 * Child: a few seconds for the whole request, then gone; the
	 * parent's handlers and listening sockets are not ours.
	 */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (i = 0; i < srv->npfds; i++) {
		if (srv->pfds[i].fd != -1 && srv->pfds[i].fd != fd)
			close(srv->pfds[i].fd);
	}
	signal(SIGALRM, SIG_DFL);
	alarm(5);
	while (got < sizeof(req) - 1 &&
	    (n = read(fd, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL ||
		    strstr(req, "\n\n") != NULL)
			break;
	}
	req[got] = '\0';
	resp = buf_new();
	if (strncmp(req, "GET /metrics ", 13) == 0 ||
	    strncmp(req, "GET /metrics\r", 13) == 0) {
		body = buf_new();
		if (store_open((*srv->confp)->database, &store, errbuf,
		        sizeof(errbuf)) == 0 &&
		    metrics_render(store, body) == 0)
			ok = 1;
	}
	if (ok)
		buf_printf(resp,
		    "HTTP/1.0 200 OK\r\nContent-Type: text/plain; "
		    "version=0.0.4\r\nContent-Length: %zu\r\n\r\n%s",
		    buf_len(body), buf_str(body));
	else if (body != NULL)
		buf_puts(resp,
		    "HTTP/1.0 500 Internal Server Error\r\n"
		    "Content-Length: 0\r\n\r\n");
	else
		buf_puts(resp,
		    "HTTP/1.0 404 Not Found\r\nContent-Type: "
		    "text/plain\r\nContent-Length: 10\r\n\r\n"
		    "not found\n");
	if (write(fd, buf_str(resp), buf_len(resp)) == -1)
		debug("metrics: write: %s", strerror(errno));
	close(fd);
	buf_free(body);
	buf_free(resp);
	store_free(store);
	exit(ok ? 0 : 1);
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
 * oldest events beyond EventMaxCount.
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
	if ((r = store_event_cap(srv->store, conf->event_max_count, &n)) != 0)
		error_r(r, "EventMaxCount: cannot delete the oldest events");
	else if (n > 0)
		verbose("deleted the %lld oldest event(s) beyond EventMaxCount",
		    (long long)n);
}

/* Send what waits for the child whose control socket is <fd>. */
static void
srv_kid_flush(struct srv *srv, int fd)
{
	size_t i;

	for (i = 0; i < srv->nkids; i++) {
		if (srv->kids[i].ctl == fd &&
		    brk_queue_flush(fd, &srv->kids[i].q) != 0)
			srv_kid_hangup(srv, &srv->kids[i]);
	}
}

/*
 * Messages from the child whose control socket is <fd>: edge group
 * business. A closed socket means the child is going away.
 */
static void
srv_kid_messages(struct srv *srv, int fd)
{
	struct srv_kid *k = NULL;
	struct brk_msg m;
	size_t i;
	int r, passed, budget;

	for (i = 0; i < srv->nkids; i++) {
		if (srv->kids[i].ctl == fd)
			k = &srv->kids[i];
	}
	if (k == NULL)
		return;
	for (budget = 0; budget < 256; budget++) {
		r = brk_recv(fd, &m, &passed, 0);
		if (r == 1 ||
		    (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			srv_kid_hangup(srv, k);
			return;
		}
		if (r == -1)
			return;
		if (m.type == BRK_AUTHED) {
			k->authed = 1;
			if (passed != -1)
				close(passed);
			continue;
		}
		grp_message(srv->groups, *srv->confp, k->pid, k->ctl, &k->q, &m,
		    passed);
	}
}

/* Re-read the configuration for sessions started from now on. */
static void
srv_reload(struct srv *srv, const char *path, int must_exist, char **overrides,
    size_t noverrides)
{
	struct conf *conf;

	if ((conf = portholed_load_conf(path, must_exist, overrides,
	         noverrides)) == NULL) {
		error("SIGHUP: configuration not reloaded");
		return;
	}
	conf_free(*srv->confp);
	*srv->confp = conf;
	logit("SIGHUP: configuration reloaded for new sessions "
	      "(ListenAddress, StateDirectory, Database, HostKey, LogLevel, "
	      "SyslogFacility and MetricsListen need a restart)");
}

/*
 * Orderly shutdown: stop listening, ask every session to end, wait for
 * them (SIGKILL after SRV_SHUTDOWN_MS), and clean up their rows.
 */
static void
srv_shutdown(struct srv *srv)
{
	int64_t deadline;
	size_t i;
	int left;

	for (i = 1; i < srv->npfds; i++) {
		close(srv->pfds[i].fd);
		srv->pfds[i].fd = -1;
	}
	logit("shutting down %zu session(s)", srv->nkids);
	for (i = 0; i < srv->nkids; i++)
		kill(srv->kids[i].pid, SIGTERM);
	deadline = misc_monotonic_ms() + SRV_SHUTDOWN_MS;
	while (srv->nkids > 0) {
		left = (int)(deadline - misc_monotonic_ms());
		if (left <= 0) {
			for (i = 0; i < srv->nkids; i++)
				kill(srv->kids[i].pid, SIGKILL);
			deadline = misc_monotonic_ms() + SRV_SHUTDOWN_MS;
			left = SRV_SHUTDOWN_MS;
		}
		if (poll(srv->pfds, 1, left) == -1 && errno != EINTR)
			break;
		(void)srv_signals_read(srv->pfds[0].fd);
		srv_reap(srv);
	}
}

int
srv_run(struct conf **confp, ssh_bind bind, const char *conf_path,
    int conf_must_exist, char **overrides, size_t noverrides)
{
	struct srv srv;
	char errbuf[256];
	unsigned int sigs;
	size_t i;
	int n, ret = 1;

	memset(&srv, 0, sizeof(srv));
	srv.confp = confp;
	srv.bind = bind;
	srv.metrics_fd = -1;
	if (store_open((*confp)->database, &srv.store, errbuf,
	        sizeof(errbuf)) != 0) {
		error("Database %s: %s", (*confp)->database, errbuf);
		goto out;
	}
	if (srv_listen(&srv) != 0 || srv_drop_privileges(*confp) != 0)
		goto out;
	srv.pfds[0].fd = srv_signals_init();
	srv.pfds[0].events = POLLIN;
	srv.groups = grp_new();
	srv_prune(&srv);

	for (;;) {
		int64_t wait = srv.next_prune - misc_monotonic_ms();
		size_t ndyn, ngrp;

		if (wait <= 0) {
			srv_prune(&srv);
			continue;
		}
		/* The poll set: listeners etc., edge listeners, children. */
		ndyn = srv.npfds + grp_count(srv.groups) + srv.nkids;
		if (ndyn > srv.ndynalloc) {
			srv.ndynalloc = ndyn + 64;
			srv.dyn = xreallocarray(srv.dyn, srv.ndynalloc,
			    sizeof(*srv.dyn));
		}
		memcpy(srv.dyn, srv.pfds, srv.npfds * sizeof(*srv.dyn));
		ngrp = grp_pollfds(srv.groups, srv.dyn + srv.npfds);
		ndyn = srv.npfds + ngrp;
		for (i = 0; i < srv.nkids; i++) {
			if (srv.kids[i].ctl == -1)
				continue;
			srv.dyn[ndyn].fd = srv.kids[i].ctl;
			srv.dyn[ndyn].events =
			    POLLIN | (srv.kids[i].q.n > 0 ? POLLOUT : 0);
			srv.dyn[ndyn].revents = 0;
			ndyn++;
		}
		if (poll(srv.dyn, ndyn, (int)wait) == -1) {
			if (errno == EINTR)
				continue;
			error("poll: %s", strerror(errno));
			goto out;
		}
		for (i = srv.npfds + ngrp; i < ndyn; i++) {
			if (srv.dyn[i].revents & POLLOUT)
				srv_kid_flush(&srv, srv.dyn[i].fd);
			if (srv.dyn[i].revents & ~POLLOUT)
				srv_kid_messages(&srv, srv.dyn[i].fd);
		}
		grp_service(srv.groups);
		for (i = srv.npfds; i < srv.npfds + ngrp; i++) {
			if (srv.dyn[i].revents & POLLIN)
				grp_accept(srv.groups, srv.dyn[i].fd);
		}
		memcpy(srv.pfds, srv.dyn, srv.npfds * sizeof(*srv.pfds));
		if (srv.pfds[0].revents & POLLIN) {
			sigs = srv_signals_read(srv.pfds[0].fd);
			if (sigs & SRV_SIG_CHLD)
				srv_reap(&srv);
			if (sigs & SRV_SIG_HUP)
				srv_reload(&srv, conf_path, conf_must_exist,
				    overrides, noverrides);
			if (sigs & SRV_SIG_TERM) {
				srv_shutdown(&srv);
				logit("exiting");
				ret = 0;
				goto out;
			}
		}
		for (i = 1; i < srv.npfds; i++) {
			if ((srv.pfds[i].revents & POLLIN) == 0)
				continue;
			if (srv.pfds[i].fd == srv.metrics_fd) {
				srv_metrics(&srv);
				continue;
			}
			for (n = 0; n < SRV_ACCEPT_BATCH; n++) {
				if (srv_accept(&srv, srv.pfds[i].fd) != 0)
					break;
			}
		}
	}
out:
	for (i = 0; i < srv.npfds; i++) {
		if (srv.pfds[i].fd != -1)
			close(srv.pfds[i].fd);
	}
	for (i = 0; i < srv.nkids; i++) {
		if (srv.kids[i].ctl != -1)
			close(srv.kids[i].ctl);
		brk_queue_clear(&srv.kids[i].q);
	}
	grp_free(srv.groups);
	free(srv.dyn);
	free(srv.pen);
	free(srv.pfds);
	free(srv.kids);
	store_free(srv.store);
	return ret;
}
