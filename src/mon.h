/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_MON_H
#define PORTHOLE_MON_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/*
 * The monitor: what portholed's parent process decides for its session
 * processes, as OpenSSH's monitor.c does for sshd's. A session process
 * is sandboxed before it reads a byte from the network and holds no
 * store, no token key and no way to open a file; everything it needs
 * decided it asks here, over its control socket (src/ipc.h messages),
 * and the monitor answers from the store and its own records:
 *
 *  - which account a key, a token or an anonymous login is, whether
 *    that account may log in now, how many attempts a connection had;
 *  - which public addresses a session gets (the monitor binds them and
 *    hands the listener over), its endpoints' rows and events;
 *  - which connections of an edge it serves (the monitor owns edge
 *    listeners and hands each connection to one member);
 *  - what its connections and counters add to the store (the monitor is
 *    the only writer for sessions, and batches).
 *
 * The monitor believes nothing a session process claims that it did
 * not decide itself: a session is authenticated only once the monitor
 * approved its credential; endpoints, edge connections and counters are
 * accepted only for what the monitor gave that process; a malformed or
 * unexpected message ends the process (SIGKILL).
 *
 * This file has no libssh: the session side (sshd/) turns libssh's
 * callbacks into these messages.
 */

struct conf;
struct store;
struct mon;
struct mon_kid;

/* Session process -> monitor. */
enum mon_req {
	MON_AUTH_KEY = 1, /* u8 probe, str user, str key type, str base64 */
	MON_AUTH_TOKEN, /* u8 how (MON_HOW_*), str user, str token */
	MON_AUTH_ANON, /* str user */
	MON_FORWARD, /* str address, u32 port */
	MON_CANCEL, /* str endpoint id */
	MON_METADATA, /* str metadata (for every endpoint) */
	MON_CONNS, /* u32 n, n x MON_CONN record */
	MON_STATS, /* u32 n, n x (str id, u64 open, total, in, out) */
	MON_CHECK, /* re-read my settings (the admin signalled us) */
	MON_EDGE_READY, /* str endpoint id: hand me its connections */
	MON_EDGE_GOT, /* u32 count of MON_EDGE_CONN taken off the socket */
	MON_EDGE_DONE, /* u64 connection id: it ended */
	MON_EDGE_RETURN, /* u64 connection id, with its descriptor */
	MON_BYE, /* str why, u64 read-ahead reads: the session is ending */
	MON_OPTIONS, /* u8 pooling, u8 force: the session command is known */
	/* (or it has none: 0, 0); held forwards are decided (mon-fwd.c) */
	MON_REQ_MAX
};

/*
 * One MON_CONNS record: str endpoint id, addr client, addr server,
 * u64 start ms, u64 end ms, u64 bytes in, u64 bytes out, u8 refusal
 * (MON_CONN_*).
 */
enum mon_conn_refusal {
	MON_CONN_RELAYED = 0,
	MON_CONN_IP_POLICY, /* refused by the IP restrictions */
	MON_CONN_MAX_CONNECTIONS, /* MaxConnectionsPerEndpoint */
	MON_CONN_RATE, /* ConnectionRateLimit */
	MON_CONN_PER_SOURCE, /* MaxConnectionsPerSource */
	MON_CONN_QUOTA, /* TransferQuota exhausted */
	MON_CONN_REFUSAL_MAX
};

/* Monitor -> session process. */
enum mon_ans {
	MON_AUTH_RESULT = 64, /* u32 MON_AUTH_*, str reason, MON_LOGIN … */
	MON_FORWARD_RESULT, /* u8 ok; see mon_forward() in mon-fwd.c */
	MON_END, /* u32 exit status, str code, str message: it must end */
	MON_ACCOUNT_POLICY, /* acl */
	MON_ENDPOINT_UPDATE, /* str id, u32 proxy, acl, acl edge, u32 edge proxy */
	MON_ENDPOINT_STOP, /* str id, str why */
	MON_EDGE_CONN, /* u64 connection id, str endpoint id, addr peer; fd */
	MON_EDGE_LEFT, /* str endpoint id: no connection follows */
	/*
	 * The account's effective traffic limits (mon-limits.c): u64
	 * BandwidthLimit bytes/s, u32 ConnectionRateLimit a minute, u32
	 * MaxConnectionsPerSource, u64 ConnectionIdleTimeout ms (each 0:
	 * none), u8 TransferQuota set, u64 quota bytes left, u64 the
	 * session's own byte count (in + out) that "left" already counts.
	 */
	MON_LIMITS,
	MON_ENDPOINT_LISTENER, /* str id; fd: a held forward's listener */
	/*
	 * str id: it serves as a member of its address's pool from now on
	 * (a held forward, or one served alone: that one stops accepting on
	 * its listener and closes it); then MON_EDGE_READY as an edge's.
	 */
	MON_ENDPOINT_POOL,
	MON_ANS_MAX
};

/* How a token was given (MON_AUTH_TOKEN), for the log. */
enum mon_how {
	MON_HOW_PASSWORD = 1,
	MON_HOW_KBDINT,
	MON_HOW_USER,
};

/* MON_AUTH_RESULT. */
enum mon_auth {
	MON_AUTH_DENIED = 0,
	MON_AUTH_PROBE_OK, /* the key is acceptable; sign with it */
	/*
	 * Logged in; then str session id, str account id, str account
	 * name, str credential kind, u8 anonymous, u32 max endpoints,
	 * acl account policy.
	 */
	MON_AUTH_LOGIN,
	MON_AUTH_REFUSED, /* known, but over a limit: the reason says */
	MON_AUTH_TOO_MANY, /* MaxAuthTries reached: disconnect */
};

/*
 * An acl on the wire: u8 present; if present str name, u32 n, then n x
 * (u8 allow, str cidr).
 */

#define MON_ID_MAX    64 /* longest id a session may name */
#define MON_META_MAX  1024 /* longest metadata */
#define MON_WHY_MAX   128 /* longest BYE reason kept */
#define MON_BATCH_MAX 256 /* records per MON_CONNS / MON_STATS */
#define MON_KEY_MAX   16384 /* longest base64 public key */
#define MON_USER_MAX  256 /* longest user name read */
#define MON_TOKEN_MAX 128 /* longest token read */

/* What the server loop needs to know of a session process. */
struct mon_kid_info {
	pid_t pid;
	const char *src; /* the client's address */
	int authed; /* the monitor approved a login */
	int failures; /* authentication attempts refused */
	int grace_killed; /* the monitor killed it for LoginGraceTime */
	int violated; /* it broke the protocol and was killed */
};

/*
 * Make the monitor over <store> (borrowed, the parent's connection) with
 * configuration <conf> (borrowed; mon_set_conf replaces it) and token
 * key <token_key> (TOKEN_KEY_LEN bytes, copied). Never fails.
 */
struct mon *mon_new(struct conf *conf, struct store *store,
    const unsigned char *token_key);
/*
 * Free it: ends no session (see mon_shutdown), but first stores the
 * summaries of refused connections of the minute under way. NULL is a
 * no-op.
 */
void mon_free(struct mon *mon);
void mon_set_conf(struct mon *mon, struct conf *conf);
/* This node's PublicHost names, space separated (for its nodes row). */
char *mon_node_hosts(const struct conf *conf);

/*
 * The monitor's epoll set (control sockets, edge listeners): when it is
 * readable, call mon_run, which handles what is ready without blocking.
 */
int mon_epfd(struct mon *mon);
void mon_run(struct mon *mon);
/*
 * Timers: row checks, the record batch, LoginGraceTime and end
 * deadlines. Returns the milliseconds until it wants to run again.
 */
int64_t mon_tick(struct mon *mon);

/*
 * A new session process for a connection from <client> to <local>,
 * whose control socket's monitor end is <ctl> (taken). Its pid is
 * set once known.
 */
struct mon_kid *mon_kid_add(struct mon *mon, int ctl,
    const struct sockaddr *client, const struct sockaddr *local);
/* The process id of <k> (and a pidfd to signal it by, or -1; taken). */
void mon_kid_set_pid(struct mon *mon, struct mon_kid *k, pid_t pid, int pidfd);
struct mon_kid *mon_kid_by_pid(struct mon *mon, pid_t pid);
void mon_kid_info(const struct mon_kid *k, struct mon_kid_info *info);
/*
 * Process <k> exited with wait status <status>: read what it left on its
 * socket, end its rows, record its events, forget it (k is freed).
 */
void mon_kid_exited(struct mon *mon, struct mon_kid *k, int status);
/*
 * A process that never started (fork failed): forget it without
 * events. k is freed.
 */
void mon_kid_drop(struct mon *mon, struct mon_kid *k);

/*
 * MaxStartups: the session processes not yet authenticated, in all and
 * from source address <src>.
 */
void mon_startups(struct mon *mon, const char *src, int *totalp,
    int *from_srcp);
/* Session processes (all of them, and those logged in). */
size_t mon_nkids(struct mon *mon);
size_t mon_nsessions(struct mon *mon);

/*
 * Orderly shutdown: tell every session to end (it closes its relayed
 * channels, so its client leaves by itself). Returns how many there are.
 */
size_t mon_shutdown(struct mon *mon);
/* Kill what is left (SIGKILL). */
void mon_kill_all(struct mon *mon);

/*
 * Have every live session re-read its settings now, as after a change
 * notification; <why> is for the log (the API process's changes on
 * SQLite).
 */
void mon_changes_recheck(struct mon *mon, const char *why);

/* Write what is batched for the store now (metrics, shutdown). */
void mon_flush(struct mon *mon);

/*
 * For the session side: read an acl written by the monitor from <m>
 * into *aclp (NULL when the message says none). Returns 0, or -1 if it
 * is malformed (m is then bad too).
 */
struct acl;
struct ipc_msg;
int mon_get_acl(struct ipc_msg *m, struct acl **aclp);

#endif /* PORTHOLE_MON_H */
