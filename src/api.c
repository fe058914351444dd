/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"
#include "api-int.h"

#include "compat.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "misc.h"
#include "xmalloc.h"

/*
 * The API process's main thread: it reads its start-up message, starts
 * libmicrohttpd (api-http.c), then waits on the control socket for
 * penalties and on a signalfd for SIGTERM. Its threads are
 * libmicrohttpd's, one per connection.
 */

#define API_PENALTY_MAX 65536 /* sources refused at once, at most */

void
api_tell(struct api *api, int type, const char *s)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, (uint32_t)type);
	if (s != NULL)
		ipc_put_str(&m, s);
	pthread_mutex_lock(&api->ctl_lock);
	/* The monitor reads at once; waiting here holds up one request. */
	if (api->ctl != -1 && ipc_send_wait(api->ctl, &m, NULL, 0) != 0)
		error("API: cannot reach the monitor: %s", strerror(errno));
	pthread_mutex_unlock(&api->ctl_lock);
	ipc_msg_free(&m);
}

int
api_penalized(struct api *api, const char *ip, int64_t *leftp)
{
	int64_t now = misc_monotonic_ms();
	size_t i;
	int ret = 0;

	*leftp = 0;
	pthread_mutex_lock(&api->pen_lock);
	for (i = 0; i < api->npen; i++) {
		if (strcmp(api->pen[i].ip, ip) == 0 &&
		    api->pen[i].until > now) {
			*leftp = api->pen[i].until - now;
			ret = 1;
			break;
		}
	}
	pthread_mutex_unlock(&api->pen_lock);
	return ret;
}

/* API_PENALTY: refuse source <ip> for <ms> from now. */
static void
api_penalty_set(struct api *api, const char *ip, uint64_t ms)
{
	struct api_penalty *p = NULL;
	int64_t now = misc_monotonic_ms();
	size_t i;

	if (ms > 24 * 3600 * 1000ULL)
		ms = 24 * 3600 * 1000ULL;
	pthread_mutex_lock(&api->pen_lock);
	for (i = 0; i < api->npen && p == NULL; i++) {
		if (strcmp(api->pen[i].ip, ip) == 0)
			p = &api->pen[i];
	}
	for (i = 0; i < api->npen && p == NULL; i++) {
		if (api->pen[i].until <= now)
			p = &api->pen[i]; /* expired: reuse */
	}
	if (p == NULL && api->npen < API_PENALTY_MAX) {
		api->pen =
		    xreallocarray(api->pen, api->npen + 1, sizeof(*api->pen));
		p = &api->pen[api->npen++];
	}
	if (p != NULL) {
		strlcpy(p->ip, ip, sizeof(p->ip));
		p->until = now + (int64_t)ms;
	}
	pthread_mutex_unlock(&api->pen_lock);
}

/* Read API_INIT: the configuration, how to log, the TLS PEM texts. */
static int
api_init(struct api *api, char **certp, char **keyp)
{
	struct ipc_msg m;
	char *text = NULL, errbuf[512];
	int fds[IPC_FDS_MAX];
	size_t nfds, i;
	uint32_t level;
	int syslog_on, ret = -1;

	*certp = *keyp = NULL;
	memset(&m, 0, sizeof(m));
	if (ipc_recv(api->ctl, &m, fds, IPC_FDS_MAX, &nfds, 1) != 0 ||
	    m.type != API_INIT)
		goto out;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	text = ipc_get_str(&m, IPC_STR_MAX);
	level = ipc_get_u32(&m);
	syslog_on = ipc_get_u8(&m);
	*certp = ipc_get_str(&m, API_PEM_MAX);
	*keyp = ipc_get_str(&m, API_PEM_MAX);
	if (!ipc_ok(&m, 1) || level > LOG_LEVEL_DEBUG3)
		goto out;
	log_init("portholed", (enum log_level)level,
	    syslog_on ? LOG_SINK_SYSLOG : LOG_SINK_STDERR);
	if ((api->conf = conf_from_text(text, errbuf, sizeof(errbuf))) ==
	    NULL) {
		error("API: configuration: %s", errbuf);
		goto out;
	}
	ret = 0;
out:
	free(text);
	ipc_msg_free(&m);
	return ret;
}

/* Messages from the monitor; returns -1 once it is gone. */
static int
api_ctl_read(struct api *api)
{
	struct ipc_msg m;
	char *ip;
	int fds[IPC_FDS_MAX];
	size_t nfds, i;
	uint64_t ms;
	int r, n, ret = 0;

	memset(&m, 0, sizeof(m));
	for (n = 0; n < 64; n++) {
		r = ipc_recv(api->ctl, &m, fds, IPC_FDS_MAX, &nfds, 0);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r != 0) {
			ret = -1;
			break;
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (m.type != API_PENALTY)
			continue;
		ip = ipc_get_str(&m, NET_ADDRSTRLEN - 1);
		ms = ipc_get_u64(&m);
		if (ipc_ok(&m, 1))
			api_penalty_set(api, ip, ms);
		free(ip);
	}
	ipc_msg_free(&m);
	return ret;
}

/* Serve until SIGTERM or the monitor goes. */
static void
api_loop(struct api *api, int sigfd)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];

	for (;;) {
		pfd[0].fd = api->ctl;
		pfd[0].events = POLLIN;
		pfd[1].fd = sigfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			error("API: poll: %s", strerror(errno));
			return;
		}
		if (pfd[1].revents & POLLIN) {
			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT)
					return;
			}
		}
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
		    api_ctl_read(api) != 0)
			return; /* the monitor is gone */
	}
}

int
api_main(int lfd, int ctl)
{
	struct api api;
	sigset_t set;
	char *cert = NULL, *key = NULL;
	int sigfd = -1, ret = 1;

	memset(&api, 0, sizeof(api));
	api.ctl = ctl;
	pthread_mutex_init(&api.ctl_lock, NULL);
	pthread_mutex_init(&api.pen_lock, NULL);
	pthread_mutex_init(&api.write_lock, NULL);
	(void)prctl(PR_SET_NAME, "portholed", 0, 0, 0);
	tzset();
	/*
	 * Signals go to the signalfd: blocked here, before libmicrohttpd
	 * starts its threads, so that they inherit the mask.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		error("API: signalfd: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		error("API: libsodium initialisation failed");
		goto out;
	}
	if (api_init(&api, &cert, &key) != 0) {
		error("API: cannot start: no start-up message from the "
		      "monitor");
		goto out;
	}
	/* Events it records name this node, as the monitor's do. */
	event_set_origin(api.conf->node_name, api.conf->region);
	if (token_key_load(api.conf->token_key, 0, api.token_key) != 0) {
		error("API: TokenKey %s: cannot read it", api.conf->token_key);
		goto out;
	}
	if (api_http_start(&api, lfd, cert[0] != '\0' ? cert : NULL,
	        key[0] != '\0' ? key : NULL) != 0)
		goto out;
	lfd = -1; /* libmicrohttpd's now */
	api_loop(&api, sigfd);
	api.quit = 1;
	api_http_stop(&api);
	ret = 0;
out:
	if (key != NULL) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	free(cert);
	if (lfd != -1)
		close(lfd);
	if (sigfd != -1)
		close(sigfd);
	pthread_mutex_lock(&api.ctl_lock);
	close(api.ctl);
	api.ctl = -1;
	pthread_mutex_unlock(&api.ctl_lock);
	sodium_memzero(api.token_key, sizeof(api.token_key));
	conf_free(api.conf);
	free(api.pen);
	return ret;
}
