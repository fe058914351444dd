/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_MON_INT_H
#define PORTHOLE_MON_INT_H

/* The monitor's own structures, shared by src/mon*.c only. */

#include <sys/queue.h>
#include <sys/types.h>

#include "ipc.h"
#include "mon.h"
#include "net.h"

struct acl;
struct event;
struct store_account;
struct pool;
struct store_counter;
struct store_hostport;
struct store_ip_policy;
struct store_released;
struct store_usage;

/* What an epoll event's data.ptr points at: a kid or an edge group. */
enum mon_item_kind {
	MON_ITEM_KID = 1,
	MON_ITEM_GROUP,
	MON_ITEM_CHANGES, /* the change notification listener */
};
struct mon_item {
	enum mon_item_kind kind;
};

enum mon_kid_state {
	MON_KID_PREAUTH = 0, /* no login approved */
	MON_KID_AUTHED, /* logged in: a session row */
	MON_KID_REFUSED, /* known but over a limit: must leave */
};

/* An endpoint the monitor gave a session process. */
struct mon_ep {
	char *id; /* "ep_…" */
	char *host; /* PublicHost */
	uint16_t port;
	char *hostport; /* "host:port", "[v6]:port" */
	char *address_id; /* reserved address, or NULL */
	char *edge_id; /* the edge it is a member of, or NULL */
	char *bind_address; /* the address string the client sent */
	int live; /* not cancelled or stopped */
	/*
	 * Granted before the session's options were known, for an address
	 * another session serves: no row and no listener until MON_OPTIONS
	 * decides (mon_fwd_options).
	 */
	int held;
	/*
	 * A reserved address served alone: the monitor's copy of the
	 * listener it handed over (pooling and takeover use it), else -1.
	 */
	int lfd;
	uint64_t stamp; /* the settings last sent (hash) */
	struct mon_grp *grp; /* its group (edge or pool) while a member */
	/* The counters the session last reported. */
	int64_t conns_open;
	int64_t conns_total;
	int64_t bytes_in;
	int64_t bytes_out;
	int stats_dirty;
};

/* A session process. */
struct mon_kid {
	struct mon_item item; /* must be first */
	TAILQ_ENTRY(mon_kid) entry;
	struct mon_kid *hnext; /* pid hash chain */
	pid_t pid; /* 0 until known */
	int pidfd; /* -1 if none */
	int ctl; /* control socket, -1 once closed */
	struct ipc_queue q; /* answers waiting for it to read */
	uint32_t events; /* epoll interest on ctl */
	enum mon_kid_state state;
	char src[NET_ADDRSTRLEN]; /* client address */
	uint16_t src_port;
	int failures; /* refused authentication attempts */
	int grace_killed;
	int violated;
	int killed; /* SIGKILL sent */
	int exited; /* reaped: its pid may be another process's now */
	int leave_groups; /* hung up: out of its groups in mon_reap() */
	int64_t started_mono;
	int64_t kill_deadline; /* monotonic ms: kill if still here (0: none) */
	char *user; /* sanitized user name */
	char *session_id;
	char *account_id;
	char *account_name;
	char *credential; /* "key:SHA256:…", "token:tk_…", "anonymous:IP" */
	int anonymous;
	int max_endpoints;
	int64_t started_ms;
	struct mon_ep **eps; /* every endpoint it had */
	size_t neps;
	int nlive; /* of those, live */
	int nforwards; /* forwards granted, all told */
	int nrefused; /* forwards refused */
	double log_tokens; /* its refusal log lines: a token bucket */
	int64_t log_last; /* monotonic ms of the last refill */
	uint64_t log_skipped; /* lines left out since the last one */
	char *metadata; /* from the session command, or NULL */
	int opts_known; /* MON_OPTIONS came */
	int pooling; /* tcp --pooling */
	int force; /* tcp --force */
	struct store_hostport *affinity; /* AddressAffinity ports */
	size_t naffinity;
	uint64_t policy_stamp; /* account policy last sent */
	int limits_sent; /* MON_LIMITS sent at least once */
	uint64_t limits_stamp; /* the limits last sent (hash) */
	int64_t quota_bytes; /* its TransferQuota (0: none) */
	int64_t quota_left_sent; /* what was left when last sent */
	int64_t next_check; /* monotonic ms: re-read its settings */
	int64_t last_check;
	int check_requested; /* MON_CHECK asked for the next one */
	int64_t counted_in; /* bytes already added to the counters */
	int64_t counted_out;
	int stats_dirty;
	char *bye; /* why it said it ends */
	int ended; /* its row and endpoints are ended, its end logged */
	uint64_t readahead; /* reads its read-ahead served (MON_BYE) */
	char *end_reason; /* why the monitor ended it */
};

/* A member of a group (an edge's or a pool's): one session's endpoint. */
struct mon_member {
	struct mon_kid *kid;
	struct mon_ep *ep;
	int ready;
	uint64_t outstanding; /* handed over, not yet DONE */
	uint64_t inflight; /* handed over, not yet taken off the socket */
};

/* A connection handed to a member, until DONE or RETURN. */
struct mon_handed {
	uint64_t id;
	ino_t ino; /* the socket's inode: a RETURN must bring it back */
	struct mon_kid *kid;
	pid_t tried[8];
	size_t ntried;
	struct sockaddr_storage peer;
};

/* A connection waiting for a member. */
struct mon_pend {
	int fd;
	struct sockaddr_storage peer;
	pid_t tried[8];
	size_t ntried;
};

/*
 * An address with members, the monitor owning its listener: an edge's
 * address (its backends' sessions), or a pooled reserved address (the
 * sessions of its account that share it).
 */
struct mon_grp {
	struct mon_item item; /* must be first */
	TAILQ_ENTRY(mon_grp) entry;
	char *address_id;
	int pool; /* a pooled address's, not an edge's */
	uint16_t port;
	int lfd;
	int watching; /* lfd is in the epoll set */
	int dead; /* dropped: freed by mon_grp_reap() */
	struct mon_member *m;
	size_t nm;
	size_t rr; /* round robin start */
	struct mon_pend *pend;
	size_t npend, pendalloc;
	struct mon_handed *handed;
	size_t nhanded, handedalloc;
};
TAILQ_HEAD(mon_grps, mon_grp);

/* Refused connections of one source in the current minute. */
struct mon_refsum {
	char ip[NET_ADDRSTRLEN];
	char account_id[MON_ID_MAX + 1];
	uint64_t count[MON_CONN_REFUSAL_MAX];
};

struct mon {
	struct conf *conf;
	struct store *store;
	unsigned char *token_key; /* sodium_malloc'd */
	struct pool *pool;
	int epfd;
	TAILQ_HEAD(, mon_kid) kids;
	struct mon_kid **hash; /* by pid */
	size_t hashsz;
	size_t nkids;
	size_t nsessions;
	size_t nleave; /* kids with leave_groups set */
	struct mon_grps grps;
	struct mon_grps dead_grps; /* dropped, to free after this turn */
	uint64_t next_conn_id;
	int64_t next_scan; /* monotonic ms: the next kid timer */
	/* What is batched for the store. */
	struct event **evq;
	size_t nevq, evqalloc;
	size_t nevlogged; /* of those, already written to EventLog */
	struct store_counter *counters; /* labels are owned */
	size_t ncounters;
	/* Usage per account, address and hour, added to since stored. */
	struct store_usage *usage; /* account_id and hostport owned */
	size_t nusage;
	int64_t rec_deadline; /* monotonic ms, INT64_MAX if nothing */
	int rec_failing;
	/* Refused-connection events: a token bucket, then summaries. */
	double ref_tokens;
	int64_t ref_last; /* monotonic ms of the last refill */
	int64_t sum_start; /* monotonic ms: start of the summary minute */
	struct mon_refsum *sums;
	size_t nsums;
	uint64_t sum_others[MON_CONN_REFUSAL_MAX]; /* sources past the cap */
	/* Log lines about one thing, at most one a second. */
	int64_t next_log;
	uint64_t log_skipped;
	/* The fleet: the next heartbeat (monotonic ms). */
	int64_t next_beat;
	int beat_failing;
	int64_t judge_after; /* monotonic ms: no node is lost before */
	uint64_t outages_seen; /* store_outages() when last reconciled */
	char *node_labels; /* fleet: node="…",region="…" on counters */
	struct mon_changes *changes; /* PostgreSQL: see mon-changes.c */
};

/* mon-node.c: the heartbeat and lost nodes. */
void mon_node_tick(struct mon *);
int64_t mon_node_deadline(struct mon *);

/* mon.c */
/* Re-read <k>'s settings and rows soon (at most once a second). */
void mon_check_soon(struct mon *, struct mon_kid *);
void mon_send(struct mon *, struct mon_kid *, const struct ipc_msg *, int fd);
void mon_kill(struct mon *, struct mon_kid *, const char *why);
/* Kill <k> if it has not left within a few seconds (told to end). */
void mon_kid_leave_soon(struct mon *, struct mon_kid *);
void mon_violation(struct mon *, struct mon_kid *, uint32_t type,
    const char *what);
void mon_kid_interest(struct mon *, struct mon_kid *);
int mon_put_policy(struct mon *, struct ipc_msg *, const char *policy_id,
    uint64_t *stampp);
uint64_t mon_hash(const struct ipc_msg *, size_t from, uint64_t seed);
struct mon_ep *mon_kid_ep(struct mon_kid *, const char *id);
int mon_limited_log(struct mon *);
int mon_kid_log_ok(struct mon_kid *);

/* mon-auth.c */
void mon_auth(struct mon *, struct mon_kid *, struct ipc_msg *);
void mon_check(struct mon *, struct mon_kid *);
/*
 * End <k>'s session (as "session kill" does) for <why> (its row's
 * reason, the log); the client is told <msg>, or by default that the
 * server's administrator ended it.
 */
void mon_end(struct mon *, struct mon_kid *, const char *why, const char *msg);

/* mon-limits.c */
/*
 * Resolve <k>'s effective traffic limits (its account's row, <a>, or
 * read when NULL; the server's defaults where the account has none)
 * and send MON_LIMITS if they, or what is left of its quota, changed.
 */
void mon_limits(struct mon *, struct mon_kid *, const struct store_account *a);

/* mon-fwd.c */
void mon_forward(struct mon *, struct mon_kid *, struct ipc_msg *);
void mon_cancel(struct mon *, struct mon_kid *, struct ipc_msg *);
void mon_metadata(struct mon *, struct mon_kid *, struct ipc_msg *);
void mon_options(struct mon *, struct mon_kid *, struct ipc_msg *);
void mon_ep_stop(struct mon *, struct mon_kid *, struct mon_ep *,
    const char *why);
void mon_check_endpoints(struct mon *, struct mon_kid *);
void mon_ep_free(struct mon_ep *);

/* mon-edge.c */
/*
 * <k>'s endpoint <ep> joins the group of its address, which starts
 * with listener <lfd> (taken; -1: bind one) if there is none. Returns
 * 0, or -1 with a reason (lfd closed).
 */
int mon_grp_join(struct mon *, struct mon_kid *, struct mon_ep *, int lfd,
    char *reason, size_t rlen);
struct mon_grp *mon_grp_find(struct mon *, const char *address_id);
void mon_grp_leave(struct mon *, struct mon_kid *, struct mon_ep *, int tell);
void mon_grp_kid_gone(struct mon *, struct mon_kid *);
void mon_grp_message(struct mon *, struct mon_kid *, struct ipc_msg *, int fd);
void mon_grp_accept(struct mon *, struct mon_grp *);
void mon_grp_service(struct mon *);
void mon_grp_reap(struct mon *);
void mon_grp_free_all(struct mon *);

/*
 * mon-changes.c: on PostgreSQL, listen for the changes administrators
 * announce (mon_new starts it; nothing for SQLite), handle what came
 * when its socket is readable (an item of mon->epfd), and connect again
 * after a loss; mon_changes_tick returns when it wants to run again
 * (INT64_MAX: not before something comes).
 */
struct mon_changes;
void mon_changes_start(struct mon *);
void mon_changes_read(struct mon *);
int64_t mon_changes_tick(struct mon *, int64_t now);
void mon_changes_free(struct mon *);

/* mon-rec.c */
void mon_rec_event(struct mon *, struct event *);
void mon_rec_count(struct mon *, const char *name, const char *labels,
    int64_t delta);
const char *mon_rec_reason(const char *code);
/*
 * The closing events of the sessions and endpoints of a node taken for
 * lost, as that node's (its name and region in the envelope).
 */
void mon_rec_released(struct mon *, const struct store_released *);
void mon_rec_session(struct mon *, struct mon_kid *, int started,
    const char *why);
void mon_rec_endpoint(struct mon *, struct mon_kid *, struct mon_ep *,
    int started);
void mon_rec_conns(struct mon *, struct mon_kid *, struct ipc_msg *);
void mon_rec_stats(struct mon *, struct mon_kid *, struct ipc_msg *);
int64_t mon_rec_deadline(struct mon *);
void mon_rec_flush(struct mon *, int force);
void mon_rec_free(struct mon *);

/* How long the monitor waits for the database's lock, but for batches. */
#define MON_BUSY_MS 1000

/* Counter names. */
#define MON_C_CONNECTIONS      "porthole_connections_total"
#define MON_C_BYTES_IN         "porthole_bytes_in_total"
#define MON_C_BYTES_OUT        "porthole_bytes_out_total"
#define MON_C_SESSIONS         "porthole_sessions_total"
#define MON_C_AUTH_FAILURES    "porthole_auth_failures_total"
#define MON_C_FORWARDS_REFUSED "porthole_forwards_refused_total"
#define MON_C_CONNS_REFUSED    "porthole_connections_refused_total"
#define MON_C_EVENTS_DROPPED   "porthole_refused_events_summarized_total"
/* With MetricsAccountLabels, labelled account="name". */
#define MON_C_ACCOUNT_CONNS   "porthole_account_connections_total"
#define MON_C_ACCOUNT_BYTES   "porthole_account_bytes_total"
#define MON_C_ACCOUNT_REFUSED "porthole_account_connections_refused_total"

#endif /* PORTHOLE_MON_INT_H */
