/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "portholed.h"

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

/*
 * The spawner. Session processes must not start as copies of the
 * monitor, whose memory holds the token key, the store's pages and
 * what other sessions said: a session process that a hostile client
 * took over could read all of it. So the monitor starts this process
 * once, as a fresh image of the same program (exec), and gives it only
 * the configuration and the host key; for each connection it sends the
 * accepted socket and a control socket, and this process forks the
 * session. Session processes share its clean pages, so they cost little
 * memory, and a new binary (an upgrade) serves new sessions once a new
 * spawner starts.
 *
 * It reaps its children and reports each exit (SPAWN_EXITED). If it
 * dies, its children go on: the monitor is their subreaper and reaps
 * them itself.
 */

#define SPAWN_CONF_MAX IPC_STR_MAX

pid_t
spawn_helper(const char *argv0, const char *what, const char *flag, int xfd,
    int *sockp)
{
	char fdarg[16], xfdarg[16];
	pid_t pid, parent = getpid();
	int sv[2], fd, x = -1;

	*sockp = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		error("%s: socketpair: %s", what, strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		error("%s: fork: %s", what, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* It ends with the monitor. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != parent)
			_exit(1);
		close(sv[0]);
		/* The descriptors it inherits besides 0, 1 and 2. */
		if ((fd = dup(sv[1])) == -1 ||
		    (xfd != -1 && (x = dup(xfd)) == -1))
			_exit(1);
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		snprintf(xfdarg, sizeof(xfdarg), "%d", x);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		/* This very program, even if its file was replaced since. */
		if (x == -1)
			execl("/proc/self/exe", argv0, flag, fdarg,
			    (char *)NULL);
		else
			execl("/proc/self/exe", argv0, flag, xfdarg, fdarg,
			    (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*sockp = sv[0]; /* now the caller's */
	return pid;
}

char *
spawn_conf_text(const struct conf *conf)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		fatal_f("open_memstream: %s", strerror(errno));
	conf_dump(conf, f);
	if (fclose(f) != 0)
		fatal_f("open_memstream: %s", strerror(errno));
	return text;
}

/* A configuration from <text> (conf_dump's lines), or NULL. */
struct conf *
spawn_conf_parse(const char *text)
{
	struct conf *conf;
	char errbuf[512];

	if ((conf = conf_from_text(text, errbuf, sizeof(errbuf))) == NULL)
		error("spawner: configuration: %s", errbuf);
	return conf;
}

/* SPAWN_INIT: the configuration, the host key and how to log. */
static int
spawn_init(int sock, struct conf **confp, ssh_bind *bindp)
{
	struct ipc_msg m;
	ssh_key key = NULL;
	char *text = NULL, *b64 = NULL;
	int fds[IPC_FDS_MAX];
	size_t nfds, i;
	uint32_t level;
	int syslog_on, ret = -1;

	memset(&m, 0, sizeof(m));
	if (ipc_recv(sock, &m, fds, IPC_FDS_MAX, &nfds, 1) != 0 ||
	    m.type != SPAWN_INIT)
		goto out;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	text = ipc_get_str(&m, SPAWN_CONF_MAX);
	b64 = ipc_get_str(&m, SPAWN_CONF_MAX);
	level = ipc_get_u32(&m);
	syslog_on = ipc_get_u8(&m);
	if (!ipc_ok(&m, 1))
		goto out;
	log_init("portholed", (enum log_level)level,
	    syslog_on ? LOG_SINK_SYSLOG : LOG_SINK_STDERR);
	if ((*confp = spawn_conf_parse(text)) == NULL)
		goto out;
	portholed_libssh_log((int)level);
	if (ssh_pki_import_privkey_base64(b64, NULL, NULL, NULL, &key) !=
	    SSH_OK) {
		error("spawner: cannot read the host key");
		goto out;
	}
	if ((*bindp = portholed_bind(key)) == NULL) /* takes key */
		goto out;
	ret = 0;
out:
	if (b64 != NULL) {
		sodium_memzero(b64, strlen(b64));
		free(b64);
	}
	free(text);
	ipc_msg_free(&m);
	return ret;
}

/*
 * One key exchange between a libssh client and server in this process,
 * over a socketpair, with cipher <cipher> (and <mac>, unless NULL).
 * Returns 0 when both sides finished it.
 */
static int
spawn_warm_one(ssh_bind bind, const char *cipher, const char *mac)
{
	ssh_session srv = NULL, cli = NULL;
	struct pollfd pfd[2];
	bool no = false;
	int sv[2] = { -1, -1 }, rs = SSH_AGAIN, rc = SSH_AGAIN, n, ret = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((srv = ssh_new()) == NULL || (cli = ssh_new()) == NULL)
		goto out;
	if (ssh_bind_accept_fd(bind, srv, sv[0]) != SSH_OK)
		goto out;
	sv[0] = -1; /* the session's now */
	ssh_options_set(cli, SSH_OPTIONS_FD, &sv[1]);
	sv[1] = -1;
	ssh_options_set(cli, SSH_OPTIONS_HOST, "spawner");
	ssh_options_set(cli, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(cli, SSH_OPTIONS_CIPHERS_C_S, cipher);
	ssh_options_set(cli, SSH_OPTIONS_CIPHERS_S_C, cipher);
	if (mac != NULL) {
		ssh_options_set(cli, SSH_OPTIONS_HMAC_C_S, mac);
		ssh_options_set(cli, SSH_OPTIONS_HMAC_S_C, mac);
	}
	ssh_set_blocking(srv, 0);
	ssh_set_blocking(cli, 0);
	for (n = 0; n < 200 && (rs == SSH_AGAIN || rc == SSH_AGAIN); n++) {
		if (rc == SSH_AGAIN)
			rc = ssh_connect(cli);
		if (rs == SSH_AGAIN)
			rs = ssh_handle_key_exchange(srv);
		if (rs == SSH_ERROR || rc == SSH_ERROR)
			break;
		pfd[0].fd = ssh_get_fd(srv);
		pfd[1].fd = ssh_get_fd(cli);
		pfd[0].events = pfd[1].events = POLLIN;
		(void)poll(pfd, 2, 10);
	}
	ret = rs == SSH_OK && rc == SSH_OK ? 0 : -1;
out:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (cli != NULL) {
		ssh_disconnect(cli);
		ssh_free(cli);
	}
	if (srv != NULL) {
		ssh_disconnect(srv);
		ssh_free(srv);
	}
	return ret;
}

/*
 * Warm up the crypto library before any session is forked: OpenSSL 3
 * builds its tables of algorithms on first use, some hundreds of KiB,
 * which every session process would otherwise build for itself. A few
 * key exchanges with the usual ciphers here leave them in pages the
 * session processes share.
 */
static void
spawn_warm(ssh_bind bind)
{
	static const char *const sets[][2] = {
		{ "chacha20-poly1305@openssh.com", NULL },
		{ "aes256-gcm@openssh.com", NULL },
		{ "aes128-ctr", "hmac-sha2-256-etm@openssh.com" },
	};
	size_t i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (spawn_warm_one(bind, sets[i][0], sets[i][1]) != 0)
			debug("spawner: warm-up with %s did not finish",
			    sets[i][0]);
	}
}

/* Tell the monitor about child <pid> of request <seq> (pidfd attached). */
static void
spawn_forked(int sock, uint64_t seq, pid_t pid)
{
	struct ipc_msg m;
	int pidfd = -1;

#if defined(SYS_pidfd_open)
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, SPAWN_FORKED);
	ipc_put_u64(&m, seq);
	ipc_put_u32(&m, (uint32_t)pid);
	/* Waiting if need be: the monitor must learn every pid. */
	if (ipc_send_wait(sock, &m, &pidfd, pidfd != -1) != 0)
		error("spawner: cannot report process %ld: %s", (long)pid,
		    strerror(errno));
	if (pidfd != -1)
		close(pidfd);
	ipc_msg_free(&m);
}

/* SPAWN_FORK: a session process for SSH socket fds[0], control fds[1]. */
static void
spawn_fork(int sock, int sigfd, struct conf *conf, ssh_bind bind,
    struct ipc_msg *req, int *fds, size_t nfds)
{
	struct ipc_msg m;
	uint64_t seq = ipc_get_u64(req);
	pid_t pid;
	size_t i;

	memset(&m, 0, sizeof(m));
	if (!ipc_ok(req, 1) || nfds != 2) {
		error("spawner: bad request from the monitor");
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	if ((pid = fork()) == 0) {
		close(sock);
		close(sigfd);
		sigfd = srv_signals_init();
		exit(sess_main(conf, bind, fds[0], sigfd, fds[1]));
	}
	close(fds[0]);
	close(fds[1]);
	if (pid == -1) {
		error("spawner: fork: %s", strerror(errno));
		ipc_msg_init(&m, SPAWN_FAILED);
		ipc_put_u64(&m, seq);
		ipc_put_str(&m, strerror(errno));
		(void)ipc_send_wait(sock, &m, NULL, 0);
		ipc_msg_free(&m);
		return;
	}
	spawn_forked(sock, seq, pid);
}

/* Report the children that exited. */
static void
spawn_reap(int sock)
{
	struct ipc_msg m;
	pid_t pid;
	int status;

	memset(&m, 0, sizeof(m));
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		ipc_msg_init(&m, SPAWN_EXITED);
		ipc_put_u32(&m, (uint32_t)pid);
		ipc_put_u32(&m, (uint32_t)status);
		if (ipc_send_wait(sock, &m, NULL, 0) != 0)
			error("spawner: cannot report process %ld: %s",
			    (long)pid, strerror(errno));
	}
	ipc_msg_free(&m);
}

/* SPAWN_CONF: a configuration for sessions from now on. */
static void
spawn_reconf(struct ipc_msg *req, struct conf **confp)
{
	struct conf *conf;
	char *text = ipc_get_str(req, SPAWN_CONF_MAX);

	if (ipc_ok(req, 1) && (conf = spawn_conf_parse(text)) != NULL) {
		conf_free(*confp);
		*confp = conf;
	}
	free(text);
}

int
spawn_main(int sock)
{
	struct pollfd pfd[2];
	struct ipc_msg m;
	struct conf *conf = NULL;
	ssh_bind bind = NULL;
	int fds[IPC_FDS_MAX];
	size_t nfds;
	unsigned int sigs;
	int sigfd, r, ret = 1;

	memset(&m, 0, sizeof(m));
	/* ps and portholectl know it by name, whatever exec called it. */
	(void)prctl(PR_SET_NAME, "portholed", 0, 0, 0);
	/* Sessions cannot read the time zone file: read it once here. */
	tzset();
	sigfd = srv_signals_init();
	if (sodium_init() < 0 || ssh_init() != SSH_OK)
		goto out;
	if (spawn_init(sock, &conf, &bind) != 0) {
		error("spawner: cannot start");
		goto out;
	}
	spawn_warm(bind);
	for (;;) {
		pfd[0].fd = sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = sigfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			error("spawner: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN) {
			sigs = srv_signals_read(sigfd);
			if (sigs & SRV_SIG_CHLD)
				spawn_reap(sock);
			if (sigs & SRV_SIG_TERM)
				break;
		}
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		r = ipc_recv(sock, &m, fds, IPC_FDS_MAX, &nfds, 0);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (r != 0)
			break; /* the monitor is gone */
		if (m.type == SPAWN_FORK)
			spawn_fork(sock, sigfd, conf, bind, &m, fds, nfds);
		else if (m.type == SPAWN_CONF && nfds == 0)
			spawn_reconf(&m, &conf);
		else {
			size_t i;

			for (i = 0; i < nfds; i++)
				close(fds[i]);
		}
	}
	ret = 0;
out:
	ipc_msg_free(&m);
	if (bind != NULL)
		ssh_bind_free(bind);
	conf_free(conf);
	ssh_finalize();
	return ret;
}
