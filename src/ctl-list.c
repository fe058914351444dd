/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/* endpoint list: the live endpoints, oldest first. */
int
ctl_endpoint_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_endpoint **list = NULL, *e;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	char when[CTL_TIME_LEN], *hostport = NULL;
	char *url = NULL;
	struct ops_err err;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_endpoint_list(ctl_ops(ctl), NULL, NULL, &list, &n, &more,
	         &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		b = buf_new();
	else
		t = ctl_table_new("ID", "URL", "ACCOUNT", "SESSION", "SINCE",
		    "ADDRESS", "EDGE", "POOLED", "METADATA", "NODE", "REGION",
		    NULL);
	for (i = 0; i < n; i++) {
		e = list[i];
		hostport = ctl_hostport(e->host, e->port);
		xasprintf(&url, "tcp://%s", hostport);
		if (ctl->json) {
			buf_putc(b, '{');
			json_kv_str(b, 1, "id", e->id);
			json_kv_str(b, 0, "url", url);
			json_kv_str(b, 0, "host", e->host);
			json_kv_int(b, 0, "port", e->port);
			json_kv_str(b, 0, "account", e->account_name);
			json_kv_str(b, 0, "account_id", e->account_id);
			json_kv_str(b, 0, "session_id", e->session_id);
			json_kv_str(b, 0, "bind_address", e->bind_address);
			json_kv_str(b, 0, "metadata", e->metadata);
			json_kv_str(b, 0, "address_id", e->address_id);
			json_kv_str(b, 0, "edge_id", e->edge_id);
			json_kv_bool(b, 0, "pooled", e->pooled);
			json_kv_str(b, 0, "started_at",
			    misc_rfc3339(e->started_ms, when, sizeof(when)));
			json_kv_str(b, 0, "node", ctl_cell(e->node));
			json_kv_str(b, 0, "region", ctl_cell(e->region));
			buf_putc(b, '}');
			ctl_json_line(b);
		} else
			ctl_table_add(t, e->id, url, e->account_name,
			    e->session_id,
			    ctl_time(e->started_ms, when, sizeof(when)),
			    e->address_id, e->edge_id, e->pooled ? "yes" : NULL,
			    ctl_cell(e->metadata), ctl_cell(e->node),
			    ctl_cell(e->region));
		free(hostport);
		free(url);
		hostport = url = NULL;
	}
	if (t != NULL)
		ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	buf_free(b);
	store_endpoint_list_free(list, n);
	return r;
}

/* session list [ACCOUNT]: the live sessions, oldest first. */
int
ctl_session_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_session **list = NULL, *s;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN], pid[24], nep[16];
	char *client = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_session_list(ctl_ops(ctl), args->account, NULL, &list, &n,
	         &more, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json)
		b = buf_new();
	else
		t = ctl_table_new("ID", "ACCOUNT", "CLIENT", "PID", "STARTED",
		    "ENDPOINTS", "USER", "NODE", "REGION", NULL);
	for (i = 0; i < n; i++) {
		s = list[i];
		if (ctl->json) {
			buf_putc(b, '{');
			json_kv_str(b, 1, "id", s->id);
			json_kv_str(b, 0, "account", s->account_name);
			json_kv_str(b, 0, "account_id", s->account_id);
			json_kv_str(b, 0, "client_ip", s->client_ip);
			json_kv_int(b, 0, "client_port", s->client_port);
			json_kv_str(b, 0, "user", s->user);
			json_kv_str(b, 0, "credential", s->credential);
			json_kv_int(b, 0, "pid", s->pid);
			json_kv_str(b, 0, "started_at",
			    misc_rfc3339(s->started_ms, when, sizeof(when)));
			json_kv_int(b, 0, "endpoints", s->nendpoints);
			json_kv_int(b, 0, "pooled_endpoints", s->npooled);
			json_kv_str(b, 0, "node", ctl_cell(s->node));
			json_kv_str(b, 0, "region", ctl_cell(s->region));
			buf_putc(b, '}');
			ctl_json_line(b);
			continue;
		}
		client = ctl_hostport(s->client_ip, s->client_port);
		snprintf(pid, sizeof(pid), "%lld", (long long)s->pid);
		snprintf(nep, sizeof(nep), "%d", s->nendpoints);
		ctl_table_add(t, s->id, s->account_name, client, pid,
		    ctl_time(s->started_ms, when, sizeof(when)), nep, s->user,
		    ctl_cell(s->node), ctl_cell(s->region));
		free(client);
		client = NULL;
	}
	if (t != NULL)
		ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	buf_free(b);
	store_session_list_free(list, n);
	return r;
}

/*
 * Whether process <pid> is a portholed process, by /proc/PID/comm:
 * 1 if so, 0 if it is another program or gone, -1 if it cannot be told
 * (errno set).
 */
static int
ctl_pid_is_portholed(pid_t pid)
{
	char path[64], comm[64];
	ssize_t n;
	int fd, saved_errno;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT && errno != ESRCH)
			return -1;
		/* Gone, unless there is no /proc to look in at all. */
		return access("/proc/self/comm", R_OK) == 0 ? 0 : -1;
	}
	n = read(fd, comm, sizeof(comm) - 1);
	saved_errno = errno;
	close(fd);
	if (n == -1) {
		errno = saved_errno;
		return saved_errno == ESRCH ? 0 : -1;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "portholed") == 0;
}

/*
 * Send SIGUSR1 to <pid> if it is a portholed process. Returns 0 if it
 * was sent or there is no such process to tell, -1 if it could not be
 * sent (errno set). Where the kernel has pidfds, the process is pinned
 * before its name is read, so a pid that is reused in between is not
 * the one signalled.
 */
static int
ctl_signal_pid(pid_t pid)
{
	int pidfd = -1, is, saved_errno, ret = -1;

#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		if (errno == ESRCH)
			return 0; /* gone: nothing to tell */
		if (errno != ENOSYS && errno != EINVAL)
			return -1;
	}
#endif
	if ((is = ctl_pid_is_portholed(pid)) != 1) {
		ret = is == 0 ? 0 : -1;
		goto out;
	}
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	if (pidfd != -1) {
		if (syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0) ==
		    -1)
			ret = errno == ESRCH ? 0 : -1;
		else
			ret = 0;
		goto out;
	}
#endif
	if (kill(pid, SIGUSR1) == -1)
		ret = errno == ESRCH ? 0 : -1;
	else
		ret = 0;
out:
	if (pidfd != -1) {
		saved_errno = errno;
		close(pidfd);
		errno = saved_errno;
	}
	return ret;
}

/*
 * SIGUSR1 to each portholed process of <pids>; where it cannot be sent,
 * say so on stderr, with <fallback>, what happens anyway within
 * CTL_SESSION_RECHECK_SECS seconds ("its session ends").
 */
static void
ctl_signal_pids(const int64_t *pids, size_t npids, const char *fallback)
{
	size_t i;

	for (i = 0; i < npids; i++) {
		/* Never 0 or -1, which kill() reads as process groups. */
		if (pids[i] <= 1 || pids[i] > INT32_MAX ||
		    pids[i] == (int64_t)getpid())
			continue;
		if (ctl_signal_pid((pid_t)pids[i]) == -1)
			error("cannot signal session process %lld (%s); %s "
			      "within %d seconds",
			    (long long)pids[i], strerror(errno), fallback,
			    CTL_SESSION_RECHECK_SECS);
	}
}

/*
 * On PostgreSQL, announce the change to the portholed of every machine
 * (store_notify_change), which has its sessions re-read their settings;
 * where that fails, say on stderr with <fallback> what happens anyway.
 * Returns 1 if that is how this store's sessions learn of a change, 0
 * if they must be signalled (SQLite).
 */
static int
ctl_notify(struct ctl *ctl, const char *fallback)
{
	int r;

	if (!store_can_notify(ctl->store))
		return 0;
	/* The change is committed: this only makes it take effect sooner. */
	if ((r = store_notify_change(ctl->store)) != 0)
		error("cannot notify the servers of the change (%s); %s "
		      "within %d seconds",
		    store_errmsg(ctl->store), fallback,
		    CTL_SESSION_RECHECK_SECS);
	return 1;
}

void
ctl_signal_sessions(struct ctl *ctl, const int64_t *pids, size_t npids)
{
	if (ctl_notify(ctl, "the sessions end"))
		return;
	ctl_signal_pids(pids, npids, "its session ends");
}

void
ctl_signal_reload(struct ctl *ctl)
{
	struct store_session **list = NULL;
	int64_t *pids = NULL;
	size_t n = 0, npids = 0, i, j;
	int r;

	if (ctl_notify(ctl, "they take up the change"))
		return;
	/* The change is made: nothing here undoes it or fails the command. */
	if ((r = store_session_list(ctl->store, NULL, &list, &n)) != 0) {
		error("cannot list the live sessions to tell them (%s); they "
		      "take up the change within %d seconds",
		    porthole_strerror(r), CTL_SESSION_RECHECK_SECS);
		goto out;
	}
	pids = xcalloc(n == 0 ? 1 : n, sizeof(*pids));
	for (i = 0; i < n; i++) {
		/* One process per session; tell each process once anyway. */
		for (j = 0; j < npids && pids[j] != list[i]->pid; j++)
			;
		if (j == npids)
			pids[npids++] = list[i]->pid;
	}
	ctl_signal_pids(pids, npids, "it takes up the change");
out:
	free(pids);
	store_session_list_free(list, n);
}

/* The announce hook of ctl_ops(): signal or notify, as the change asks. */
static void
ctl_announce(struct ops *ops, enum ops_change what, const int64_t *pids,
    size_t npids)
{
	struct ctl *ctl = ops->arg;

	if (what == OPS_CHANGE_SESSIONS)
		ctl_signal_sessions(ctl, pids, npids);
	else
		ctl_signal_reload(ctl);
}

/* The record hook of ctl_ops(). */
static int
ctl_record(struct ops *ops, struct event *ev)
{
	return ctl_event_record(ops->arg, ev);
}

struct ops *
ctl_ops(struct ctl *ctl)
{
	memset(&ctl->ops, 0, sizeof(ctl->ops));
	ctl->ops.conf = ctl->conf;
	ctl->ops.store = ctl->store;
	ctl->ops.scope = NULL; /* portholectl is the administrator */
	ctl->ops.announce = ctl_announce;
	ctl->ops.record = ctl_record;
	ctl->ops.arg = ctl;
	return &ctl->ops;
}

void
ctl_report(const struct ops_err *err)
{
	error("%s", err->msg);
}

/* session kill ID: end a live session now. */
int
ctl_session_kill(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_session *s = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	const char *account;
	char when[CTL_TIME_LEN];
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_session_stop(ctl_ops(ctl), args->id, NULL, &s, &err)) !=
	    0) {
		ctl_report(&err);
		goto out;
	}
	account = s->account_name != NULL ? s->account_name : s->account_id;
	if (ctl->json) {
		b = buf_new();
		buf_putc(b, '{');
		json_kv_str(b, 1, "id", s->id);
		json_kv_str(b, 0, "account", account);
		json_kv_str(b, 0, "account_id", s->account_id);
		json_kv_str(b, 0, "client_ip", s->client_ip);
		json_kv_int(b, 0, "client_port", s->client_port);
		json_kv_int(b, 0, "pid", s->pid);
		json_kv_str(b, 0, "started_at",
		    misc_rfc3339(s->started_ms, when, sizeof(when)));
		json_kv_str(b, 0, "ended_at",
		    misc_rfc3339(s->ended_ms, when, sizeof(when)));
		json_kv_str(b, 0, "end_reason", s->end_reason);
		buf_putc(b, '}');
		ctl_json_line(b);
	} else
		ctl_printf("killed session %s of account %s (pid %lld)\n",
		    s->id, account, (long long)s->pid);
	r = 0;
out:
	buf_free(b);
	store_session_free(s);
	return r;
}
