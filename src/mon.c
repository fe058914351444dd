/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "mon-int.h"

#include "db.h"
#include "metrics.h"

#include "acl.h"
#include "compat.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "pool.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/*
 * The monitor's core: its session processes (kids), their control
 * sockets and what they may say in each state. The judgements are in
 * mon-auth.c (logins, settings), mon-fwd.c (endpoints), mon-edge.c
 * (edge groups) and mon-rec.c (what goes into the store).
 */

#define MON_EPOLL_BATCH    64
#define MON_MSG_BUDGET     64 /* messages read from one kid per wake-up */
#define MON_QUEUE_MAX      (4 * 1024 * 1024) /* answers a kid has not read */
#define MON_KILL_WAIT_MS   5000 /* after END or a refusal, before SIGKILL */
#define MON_GRACE_SLACK_MS 2000 /* past LoginGraceTime, before SIGKILL */
#define MON_HASH_MIN       256
#define MON_SCAN_MS        100 /* kids' timers, walked at most this often */
#define MON_LOG_BURST      10 /* refusal lines a session may log at once */
#define MON_LOG_RATE       1 /* and a second after that */

struct mon *
mon_new(struct conf *conf, struct store *store, const unsigned char *token_key)
{
	struct mon *mon = xcalloc(1, sizeof(*mon));

	mon->conf = conf;
	mon->store = store;
	/* Every session waits on the monitor: it must not wait long. */
	(void)store_set_busy_timeout(store, MON_BUSY_MS);
	/* Guarded, and not in the heap that session processes inherit. */
	if ((mon->token_key = sodium_malloc(TOKEN_KEY_LEN)) == NULL)
		fatal_f("sodium_malloc: out of memory");
	memcpy(mon->token_key, token_key, TOKEN_KEY_LEN);
	sodium_mprotect_readonly(mon->token_key);
	if ((mon->pool = pool_new(conf->port_low, conf->port_high)) == NULL)
		fatal_f("bad PortRange");
	if ((mon->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal_f("epoll_create1: %s", strerror(errno));
	TAILQ_INIT(&mon->kids);
	TAILQ_INIT(&mon->grps);
	TAILQ_INIT(&mon->dead_grps);
	mon->hashsz = MON_HASH_MIN;
	mon->hash = xcalloc(mon->hashsz, sizeof(*mon->hash));
	mon->next_conn_id = 1;
	mon->next_scan = INT64_MAX;
	mon->rec_deadline = INT64_MAX;
	if (db_target_is_pg(conf->database))
		mon->node_labels =
		    metrics_node_labels(conf->node_name, conf->region);
	mon_changes_start(mon);
	return mon;
}

/* Forget kid <k> entirely (its endpoints, memberships, socket). */
static void
mon_kid_free(struct mon *mon, struct mon_kid *k)
{
	struct mon_kid **pp;
	size_t i;

	mon_grp_kid_gone(mon, k);
	if (k->pid != 0) {
		for (pp = &mon->hash[(size_t)k->pid % mon->hashsz]; *pp != NULL;
		     pp = &(*pp)->hnext) {
			if (*pp == k) {
				*pp = k->hnext;
				break;
			}
		}
	}
	TAILQ_REMOVE(&mon->kids, k, entry);
	mon->nkids--;
	if (k->leave_groups)
		mon->nleave--;
	if (k->state == MON_KID_AUTHED)
		mon->nsessions--;
	if (k->ctl != -1)
		close(k->ctl);
	if (k->pidfd != -1)
		close(k->pidfd);
	ipc_queue_clear(&k->q);
	for (i = 0; i < k->neps; i++)
		mon_ep_free(k->eps[i]);
	free(k->eps);
	store_hostport_list_free(k->affinity, k->naffinity);
	free(k->user);
	free(k->session_id);
	free(k->account_id);
	free(k->account_name);
	free(k->credential);
	free(k->metadata);
	free(k->bye);
	free(k->end_reason);
	free(k);
}

void
mon_free(struct mon *mon)
{
	struct mon_kid *k;

	if (mon == NULL)
		return;
	while ((k = TAILQ_FIRST(&mon->kids)) != NULL)
		mon_kid_free(mon, k);
	mon_grp_free_all(mon);
	mon_rec_free(mon);
	mon_changes_free(mon);
	close(mon->epfd);
	pool_free(mon->pool);
	sodium_free(mon->token_key);
	free(mon->hash);
	free(mon->node_labels);
	free(mon);
}

void
mon_set_conf(struct mon *mon, struct conf *conf)
{
	struct pool *pool;

	mon->conf = conf;
	if ((pool = pool_new(conf->port_low, conf->port_high)) != NULL) {
		pool_free(mon->pool);
		mon->pool = pool;
	}
}

int
mon_epfd(struct mon *mon)
{
	return mon->epfd;
}

size_t
mon_nkids(struct mon *mon)
{
	return mon->nkids;
}

size_t
mon_nsessions(struct mon *mon)
{
	return mon->nsessions;
}

/* Predicate: a log line may be written now (at most one a second). */
int
mon_limited_log(struct mon *mon)
{
	int64_t now = misc_monotonic_ms();

	if (now < mon->next_log) {
		mon->log_skipped++;
		return 0;
	}
	if (mon->log_skipped > 0)
		logit("(%llu similar line(s) not shown)",
		    (unsigned long long)mon->log_skipped);
	mon->log_skipped = 0;
	mon->next_log = now + 1000;
	return 1;
}

/*
 * Predicate: <k> may have another log line about what it was refused:
 * MON_LOG_BURST at once, then MON_LOG_RATE a second; the first line
 * after a gap says how many were left out.
 */
int
mon_kid_log_ok(struct mon_kid *k)
{
	int64_t now = misc_monotonic_ms();

	if (k->log_last == 0)
		k->log_tokens = MON_LOG_BURST;
	else
		k->log_tokens +=
		    (double)(now - k->log_last) * MON_LOG_RATE / 1000;
	if (k->log_tokens > MON_LOG_BURST)
		k->log_tokens = MON_LOG_BURST;
	k->log_last = now;
	if (k->log_tokens < 1) {
		k->log_skipped++;
		return 0;
	}
	k->log_tokens -= 1;
	if (k->log_skipped > 0)
		logit("session %s: %llu refusal(s) not logged", k->session_id,
		    (unsigned long long)k->log_skipped);
	k->log_skipped = 0;
	return 1;
}

/* FNV-1a over <m>'s payload from <from>, continuing <seed>. */
uint64_t
mon_hash(const struct ipc_msg *m, size_t from, uint64_t seed)
{
	uint64_t h = seed != 0 ? seed : 1469598103934665603ULL;
	size_t i;

	for (i = from; i < m->len; i++)
		h = (h ^ m->data[i]) * 1099511628211ULL;
	return h;
}

void
mon_kid_interest(struct mon *mon, struct mon_kid *k)
{
	struct epoll_event ev;
	uint32_t want;

	if (k->ctl == -1)
		return;
	want = EPOLLIN | (k->q.n > 0 ? EPOLLOUT : 0);
	if (want == k->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = &k->item;
	if (epoll_ctl(mon->epfd, k->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
	        k->ctl, &ev) == -1)
		error_f("epoll_ctl: %s", strerror(errno));
	else
		k->events = want;
}

/* Stop listening to <k>: its socket is closed, nothing more is read. */
static void
mon_kid_hangup(struct mon *mon, struct mon_kid *k)
{
	if (k->ctl == -1)
		return;
	(void)epoll_ctl(mon->epfd, EPOLL_CTL_DEL, k->ctl, NULL);
	close(k->ctl);
	k->ctl = -1;
	k->events = 0;
	ipc_queue_clear(&k->q);
	/*
	 * It leaves its edge groups in mon_reap(), not here: this may run
	 * inside a walk over a group. Until then no member with a closed
	 * socket is handed anything.
	 */
	k->leave_groups = 1;
	mon->nleave++;
}

/* Take hung-up session processes out of their edge groups. */
static void
mon_reap(struct mon *mon)
{
	struct mon_kid *k;

	if (mon->nleave == 0)
		return;
	TAILQ_FOREACH (k, &mon->kids, entry) {
		if (k->leave_groups) {
			k->leave_groups = 0;
			mon_grp_kid_gone(mon, k);
		}
	}
	mon->nleave = 0;
}

/*
 * Send signal <sig> to <k>, by pidfd where there is one; never once it
 * has exited (its pid is free for another process).
 */
static void
mon_signal(struct mon_kid *k, int sig)
{
	if (k->pid <= 0 || k->exited)
		return;
#if defined(SYS_pidfd_send_signal)
	if (k->pidfd != -1 &&
	    syscall(SYS_pidfd_send_signal, k->pidfd, sig, NULL, 0) == 0)
		return;
#endif
	(void)kill(k->pid, sig);
}

void
mon_kill(struct mon *mon, struct mon_kid *k, const char *why)
{
	if (!k->killed)
		logit("session process %ld (%s): killed: %s", (long)k->pid,
		    k->src, why);
	k->killed = 1;
	mon_kid_hangup(mon, k);
	mon_signal(k, SIGKILL);
}

void
mon_send(struct mon *mon, struct mon_kid *k, const struct ipc_msg *m, int fd)
{
	if (k->ctl == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (ipc_queue_send(k->ctl, &k->q, m, fd) != 0) {
		debug_f("session process %ld: %s", (long)k->pid,
		    strerror(errno));
		mon_kid_hangup(mon, k);
		return;
	}
	if (k->q.bytes > MON_QUEUE_MAX) {
		mon_kill(mon, k, "it does not read its control socket");
		return;
	}
	mon_kid_interest(mon, k);
}

struct mon_ep *
mon_kid_ep(struct mon_kid *k, const char *id)
{
	size_t i;

	for (i = 0; i < k->neps; i++) {
		if (strcmp(k->eps[i]->id, id) == 0)
			return k->eps[i];
	}
	return NULL;
}

/*
 * Write the acl of IP policy <policy_id> (NULL: none) to <m>; *stampp
 * gets a hash of it. Returns 0, or -1 if the policy cannot be read (a
 * policy that cannot be read must not mean no policy).
 */
int
mon_put_policy(struct mon *mon, struct ipc_msg *m, const char *policy_id,
    uint64_t *stampp)
{
	struct store_ip_policy *p = NULL;
	size_t i, from = m->len;
	int r;

	if (policy_id == NULL) {
		ipc_put_u8(m, 0);
		*stampp = mon_hash(m, from, 0);
		return 0;
	}
	if ((r = store_ip_policy_get(mon->store, policy_id, &p)) != 0) {
		error_r(r, "IP policy %s", policy_id);
		return -1;
	}
	ipc_put_u8(m, 1);
	ipc_put_str(m, p->name);
	ipc_put_u32(m, (uint32_t)(p->nallow + p->ndeny));
	for (i = 0; i < p->nallow; i++) {
		ipc_put_u8(m, 1);
		ipc_put_str(m, p->allow[i]);
	}
	for (i = 0; i < p->ndeny; i++) {
		ipc_put_u8(m, 0);
		ipc_put_str(m, p->deny[i]);
	}
	*stampp = mon_hash(m, from, 0);
	store_ip_policy_free(p);
	return 0;
}

int
mon_get_acl(struct ipc_msg *m, struct acl **aclp)
{
	struct acl *acl = NULL;
	char *name = NULL, *cidr, errbuf[128];
	uint32_t i, n;
	int allow, ret = -1;

	*aclp = NULL;
	if (ipc_get_u8(m) == 0) {
		ret = ipc_ok(m, 0) ? 0 : -1;
		goto out;
	}
	name = ipc_get_str(m, 128);
	n = ipc_get_u32(m);
	if (!ipc_ok(m, 0) || n > 100000)
		goto out;
	acl = acl_new(name);
	for (i = 0; i < n; i++) {
		allow = ipc_get_u8(m) != 0;
		cidr = ipc_get_str(m, 64);
		if (!ipc_ok(m, 0) ||
		    acl_add(acl, allow, cidr, errbuf, sizeof(errbuf)) != 0) {
			free(cidr);
			goto out;
		}
		free(cidr);
	}
	*aclp = acl;
	acl = NULL;
	ret = 0;
out:
	if (ret != 0)
		m->bad = 1;
	acl_free(acl);
	free(name);
	return ret;
}

struct mon_kid *
mon_kid_add(struct mon *mon, int ctl, const struct sockaddr *client,
    const struct sockaddr *local)
{
	struct mon_kid *k = xcalloc(1, sizeof(*k));

	k->item.kind = MON_ITEM_KID;
	k->ctl = ctl;
	k->pidfd = -1;
	k->state = MON_KID_PREAUTH;
	k->started_mono = misc_monotonic_ms();
	if (net_ntop(client, k->src, sizeof(k->src), &k->src_port) != 0)
		strlcpy(k->src, "?", sizeof(k->src));
	TAILQ_INSERT_TAIL(&mon->kids, k, entry);
	mon->nkids++;
	(void)net_set_nonblock(ctl, 1);
	mon_kid_interest(mon, k);
	/* LoginGraceTime is the monitor's too: a stuck process is killed. */
	if (mon->conf->login_grace_time > 0) {
		k->kill_deadline = k->started_mono +
		    mon->conf->login_grace_time * 1000 + MON_GRACE_SLACK_MS;
		if (k->kill_deadline < mon->next_scan)
			mon->next_scan = k->kill_deadline;
	}
	(void)local;
	return k;
}

void
mon_kid_set_pid(struct mon *mon, struct mon_kid *k, pid_t pid, int pidfd)
{
	size_t h = (size_t)pid % mon->hashsz;

	k->pid = pid;
	k->pidfd = pidfd;
	k->hnext = mon->hash[h];
	mon->hash[h] = k;
	if (k->killed) /* it misbehaved before we knew who it was */
		mon_signal(k, SIGKILL);
}

struct mon_kid *
mon_kid_by_pid(struct mon *mon, pid_t pid)
{
	struct mon_kid *k;

	for (k = mon->hash[(size_t)pid % mon->hashsz]; k != NULL;
	     k = k->hnext) {
		if (k->pid == pid)
			return k;
	}
	return NULL;
}

void
mon_kid_info(const struct mon_kid *k, struct mon_kid_info *info)
{
	memset(info, 0, sizeof(*info));
	info->pid = k->pid;
	info->src = k->src;
	info->authed = k->state == MON_KID_AUTHED;
	info->failures = k->failures;
	info->grace_killed = k->grace_killed;
	info->violated = k->violated;
}

void
mon_startups(struct mon *mon, const char *src, int *totalp, int *from_srcp)
{
	struct mon_kid *k;

	*totalp = *from_srcp = 0;
	TAILQ_FOREACH (k, &mon->kids, entry) {
		if (k->state == MON_KID_AUTHED)
			continue;
		(*totalp)++;
		if (strcmp(k->src, src) == 0)
			(*from_srcp)++;
	}
}

/* A message <k> may not send (in this state, or malformed). */
void
mon_violation(struct mon *mon, struct mon_kid *k, uint32_t type,
    const char *what)
{
	k->violated = 1;
	if (mon_limited_log(mon))
		logit("session process %ld (%s): %s (message %u); the "
		      "process is ended",
		    (long)k->pid, k->src, what, type);
	mon_kill(mon, k, "protocol violation");
}

/*
 * The session of <k> is over: its endpoints and its row end, its events
 * are recorded and its end is logged, once.
 */
static void
mon_kid_end(struct mon *mon, struct mon_kid *k, const char *why)
{
	int64_t conns = 0, in = 0, out = 0;
	char dur[32], ra[64];
	size_t i;
	int r;

	if (k->state != MON_KID_AUTHED || k->ended)
		return;
	k->ended = 1;
	for (i = 0; i < k->neps; i++) {
		if (k->eps[i]->live)
			mon_ep_stop(mon, k, k->eps[i], NULL);
		conns += k->eps[i]->conns_total;
		in += k->eps[i]->bytes_in;
		out += k->eps[i]->bytes_out;
	}
	mon_rec_session(mon, k, 0, why);
	/* Its last counters go with its row still live. */
	mon_rec_flush(mon, 1);
	if ((r = store_session_end(mon->store, k->session_id, misc_now_ms())) !=
	        0 &&
	    r != PORTHOLE_ERR_NOT_FOUND)
		error_r(r, "session %s: cannot record its end", k->session_id);
	snprintf(ra, sizeof(ra), ", read-ahead served %llu reads",
	    (unsigned long long)k->readahead);
	logit("session %s: ended (%s; account %s from %s port %u, %s, %lld "
	      "connection(s), in %lld, out %lld bytes%s)",
	    k->session_id, why, k->account_name, k->src, k->src_port,
	    misc_duration((misc_now_ms() - k->started_ms) / 1000, dur,
	        sizeof(dur)),
	    (long long)conns, (long long)in, (long long)out, ra);
}

/*
 * MON_BYE (str why, u64 reads read-ahead served): the session is ending;
 * what it still had to report came before this.
 */
static void
mon_bye(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	char *why = ipc_get_str(m, IPC_STR_MAX);
	char buf[MON_WHY_MAX];
	uint64_t readahead = ipc_get_u64(m);

	if (!ipc_ok(m, 1)) {
		free(why);
		mon_violation(mon, k, m->type, "malformed message");
		return;
	}
	log_sanitize(buf, sizeof(buf), why);
	free(k->bye);
	k->bye = xstrdup(buf);
	k->readahead = readahead;
	free(why);
	mon_kid_end(mon, k, k->end_reason != NULL ? k->end_reason : k->bye);
}

/* MON_CHECK: re-read this session's settings soon (at most 1/s). */
void
mon_check_soon(struct mon *mon, struct mon_kid *k)
{
	int64_t at = k->last_check + 1000, now = misc_monotonic_ms();

	if (at < now)
		at = now;
	k->check_requested = 1;
	if (at < k->next_check)
		k->next_check = at;
	if (k->next_check < mon->next_scan)
		mon->next_scan = k->next_check;
}

/* Handle one message <m> (with <nfds> descriptors <fds>) from <k>. */
static void
mon_dispatch(struct mon *mon, struct mon_kid *k, struct ipc_msg *m, int *fds,
    size_t nfds)
{
	int fd = -1;
	size_t i;

	/* Only MON_EDGE_RETURN brings a descriptor, and only one. */
	if (m->type == MON_EDGE_RETURN && nfds == 1 &&
	    k->state == MON_KID_AUTHED) {
		fd = fds[0];
		nfds = 0;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (nfds > 0) {
		mon_violation(mon, k, m->type, "descriptor where none belongs");
		return;
	}
	switch (m->type) {
	case MON_AUTH_KEY:
	case MON_AUTH_TOKEN:
	case MON_AUTH_ANON:
		mon_auth(mon, k, m);
		return;
	case MON_BYE:
		mon_bye(mon, k, m);
		return;
	default:
		break;
	}
	if (k->state != MON_KID_AUTHED) {
		if (fd != -1)
			close(fd);
		mon_violation(mon, k, m->type, "request before authentication");
		return;
	}
	switch (m->type) {
	case MON_FORWARD:
		mon_forward(mon, k, m);
		break;
	case MON_CANCEL:
		mon_cancel(mon, k, m);
		break;
	case MON_METADATA:
		mon_metadata(mon, k, m);
		break;
	case MON_OPTIONS:
		mon_options(mon, k, m);
		break;
	case MON_CONNS:
		mon_rec_conns(mon, k, m);
		break;
	case MON_STATS:
		mon_rec_stats(mon, k, m);
		break;
	case MON_CHECK:
		if (!ipc_ok(m, 1)) {
			mon_violation(mon, k, m->type, "malformed message");
			break;
		}
		mon_check_soon(mon, k);
		break;
	case MON_EDGE_READY:
	case MON_EDGE_GOT:
	case MON_EDGE_DONE:
	case MON_EDGE_RETURN:
		mon_grp_message(mon, k, m, fd);
		fd = -1; /* taken */
		break;
	default:
		mon_violation(mon, k, m->type, "unknown message");
		break;
	}
	if (fd != -1)
		close(fd);
}

/* Read and handle what <k> has sent, up to a budget. */
static void
mon_kid_read(struct mon *mon, struct mon_kid *k, int budget)
{
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds;
	int r, n;

	memset(&m, 0, sizeof(m));
	for (n = 0; n < budget && k->ctl != -1 && !k->killed; n++) {
		r = ipc_recv(k->ctl, &m, fds, IPC_FDS_MAX, &nfds, 0);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r == -1 && errno == EPROTO) {
			mon_violation(mon, k, 0, "malformed datagram");
			break;
		}
		if (r != 0) {
			mon_kid_hangup(mon, k);
			break;
		}
		mon_dispatch(mon, k, &m, fds, nfds);
	}
	ipc_msg_free(&m);
}

void
mon_run(struct mon *mon)
{
	struct epoll_event evs[MON_EPOLL_BATCH];
	struct mon_item *item;
	struct mon_kid *k;
	int i, n;

	n = epoll_wait(mon->epfd, evs, MON_EPOLL_BATCH, 0);
	for (i = 0; i < n; i++) {
		item = evs[i].data.ptr;
		if (item->kind == MON_ITEM_CHANGES) {
			mon_changes_read(mon);
			continue;
		}
		if (item->kind == MON_ITEM_GROUP) {
			/* Closed by an earlier event: freed after the batch. */
			if (!((struct mon_grp *)item)->dead)
				mon_grp_accept(mon, (struct mon_grp *)item);
			continue;
		}
		k = (struct mon_kid *)item;
		if ((evs[i].events & EPOLLOUT) && k->ctl != -1) {
			if (ipc_queue_flush(k->ctl, &k->q) != 0)
				mon_kid_hangup(mon, k);
			else
				mon_kid_interest(mon, k);
		}
		if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
		    k->ctl != -1)
			mon_kid_read(mon, k, MON_MSG_BUDGET);
	}
	mon_reap(mon);
	mon_grp_service(mon);
	mon_grp_reap(mon);
}

/* Timers of one kid; returns its next deadline. */
static int64_t
mon_kid_timers(struct mon *mon, struct mon_kid *k, int64_t now)
{
	int64_t next = INT64_MAX;

	if (k->kill_deadline != 0 && now >= k->kill_deadline && !k->killed) {
		if (k->state == MON_KID_PREAUTH) {
			k->grace_killed = 1;
			mon_kill(mon, k, "LoginGraceTime exceeded");
		} else
			mon_kill(mon, k, "it did not end when told to");
	}
	if (k->kill_deadline != 0 && !k->killed)
		next = k->kill_deadline;
	if (k->state == MON_KID_AUTHED && k->ctl != -1 && !k->ended &&
	    k->end_reason == NULL) {
		if (now >= k->next_check)
			mon_check(mon, k);
		if (k->next_check < next)
			next = k->next_check;
	}
	return next;
}

int64_t
mon_tick(struct mon *mon)
{
	int64_t now = misc_monotonic_ms(), next = INT64_MAX, t, changes;
	struct mon_kid *k;

	/* First: a listener back after a loss has every session re-check. */
	changes = mon_changes_tick(mon, now);
	if (now >= mon->next_scan) {
		TAILQ_FOREACH (k, &mon->kids, entry) {
			if ((t = mon_kid_timers(mon, k, now)) < next)
				next = t;
		}
		/*
		 * Each kid's timers are its own; walking them all at most
		 * every MON_SCAN_MS keeps thousands of sessions cheap.
		 */
		if (next < now + MON_SCAN_MS)
			next = now + MON_SCAN_MS;
		mon->next_scan = next;
	}
	mon_reap(mon);
	mon_grp_service(mon);
	mon_grp_reap(mon);
	mon_rec_flush(mon, 0);
	mon_node_tick(mon);
	next = mon->next_scan;
	if ((t = mon_rec_deadline(mon)) < next)
		next = t;
	if ((t = mon_node_deadline(mon)) < next)
		next = t;
	if (changes < next)
		next = changes;
	now = misc_monotonic_ms();
	return next <= now ? 0 : next - now;
}

/* The end of a session process with wait status <status>, as words. */
static void
mon_exit_why(struct mon_kid *k, int status, char *buf, size_t len)
{
	if (k->end_reason != NULL)
		snprintf(buf, len, "%s", k->end_reason);
	else if (k->bye != NULL)
		snprintf(buf, len, "%s", k->bye);
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "session process killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(buf, len, "session process exited");
}

void
mon_kid_exited(struct mon *mon, struct mon_kid *k, int status)
{
	char why[MON_WHY_MAX + 64];

	k->exited = 1;
	/* What it said before it went is handled first. */
	if (k->ctl != -1 && !k->killed)
		mon_kid_read(mon, k, 1 << 20);
	mon_kid_hangup(mon, k);
	mon_reap(mon);
	/* Counted once per connection that never got in. */
	if (k->state != MON_KID_AUTHED && k->failures > 0)
		mon_rec_count(mon, MON_C_AUTH_FAILURES, "", 1);
	mon_exit_why(k, status, why, sizeof(why));
	mon_kid_end(mon, k, why);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		logit("session process %ld (%s): stopped by its sandbox (a "
		      "forbidden system call)",
		    (long)k->pid, k->src);
	else if (WIFSIGNALED(status) && !k->killed)
		logit("session process %ld (%s): killed by signal %d",
		    (long)k->pid, k->src, WTERMSIG(status));
	mon_kid_free(mon, k);
}

void
mon_kid_drop(struct mon *mon, struct mon_kid *k)
{
	mon_kid_free(mon, k);
}

size_t
mon_shutdown(struct mon *mon)
{
	struct mon_kid *k;
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	TAILQ_FOREACH (k, &mon->kids, entry) {
		if (k->state != MON_KID_AUTHED) {
			/* Nothing to say to a process not logged in. */
			mon_signal(k, SIGTERM);
			continue;
		}
		if (k->end_reason == NULL)
			k->end_reason = xstrdup("server shutdown");
		ipc_msg_init(&m, MON_END);
		ipc_put_u32(&m, 255);
		ipc_put_str(&m, "server_shutdown");
		ipc_put_str(&m, "the server is shutting down");
		mon_send(mon, k, &m, -1);
	}
	ipc_msg_free(&m);
	return mon->nkids;
}

void
mon_kill_all(struct mon *mon)
{
	struct mon_kid *k;

	TAILQ_FOREACH (k, &mon->kids, entry) {
		k->killed = 1;
		mon_signal(k, SIGKILL);
	}
}

void
mon_flush(struct mon *mon)
{
	mon_rec_flush(mon, 1);
}

void
mon_kid_leave_soon(struct mon *mon, struct mon_kid *k)
{
	k->kill_deadline = misc_monotonic_ms() + MON_KILL_WAIT_MS;
	if (k->kill_deadline < mon->next_scan)
		mon->next_scan = k->kill_deadline;
}
