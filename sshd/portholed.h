/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLED_H
#define PORTHOLED_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>
#include <libssh/server.h>

#include "net.h"

struct acl;
struct buf;
struct event;
struct store_counter;
struct cmdline;
struct conf;
struct pollfd;
struct pool;
struct store;
struct store_hostport;

/*
 * portholed: the parent accepts SSH connections and forks one child per
 * connection (server.c); the child runs one libssh session (session.c)
 * with its authentication (auth.c), its forwards (fwd.c) and the relayed
 * connections of those forwards (relay.c), all in one ssh_event loop.
 *
 * Our own sockets (public listeners and relayed connections) live in one
 * epoll set; only that epoll fd and the SSH socket are in the ssh_event.
 * That keeps per-socket interest changes cheap and out of libssh's poll
 * array, which must not be changed from inside its own callbacks.
 *
 * Ownership: everything hangs off struct sess. Callbacks, which libssh
 * may run nested inside any call that flushes, only set flags and move
 * bytes; objects are freed in sess_reap(), at the top of the loop.
 */

/* Tags for what an epoll event's data.ptr points at. */
enum ep_kind {
	EP_KIND_SIGNAL = 1,
	EP_KIND_BROKER, /* the control socket to the parent */
	EP_KIND_LISTENER,
	EP_KIND_RELAY,
};

struct ep_item {
	enum ep_kind kind;
};

/* A granted tcpip-forward: one public listener (an endpoint). */
struct fwd {
	struct ep_item ep; /* must be first */
	TAILQ_ENTRY(fwd) entry;
	struct sess *sess;
	char *id; /* "ep_…", the endpoint id */
	char *bind_address; /* the string the client sent */
	char *host; /* public host name */
	uint16_t port; /* bound public port */
	char *hostport; /* "host:port", or "[v6]:port" for a literal */
	char *address_id; /* the reserved address served, or NULL */
	char *edge_id; /* served as a member of this edge, or NULL */
	int edge_ready; /* READY sent: the parent may hand us connections */
	int edge_left; /* LEAVE sent */
	int edge_gone; /* LEFT received */
	int edge_proxy; /* the edge's PROXY setting (0: none) */
	struct acl *acl_edge; /* the edge's IP policy, or NULL */
	int proxy_proto; /* the address's PROXY setting (0, 1, 2) */
	struct acl *acl; /* the address's IP policy, or NULL */
	uint64_t conns_refused; /* by IP restrictions */
	int fd; /* listener, -1 once closed */
	int watching; /* fd is in the epoll set */
	int paused; /* accept hit EMFILE; waiting */
	int dead; /* cancelled; free when refs 0 */
	int refs; /* relays still pointing here */
	uint64_t conns_open;
	uint64_t conns_total;
	uint64_t bytes_in; /* from public clients */
	uint64_t bytes_out; /* to public clients */
};
TAILQ_HEAD(fwd_list, fwd);

/*
 * The parent and its session processes talk over a SOCK_SEQPACKET
 * socketpair (broker.c) about edges: a session JOINs the group serving
 * an edge's address, the parent (which owns that listener) hands each
 * connection to one member (CONN, with the descriptor), the member
 * reports it DONE or RETURNs it if it could not open a channel for it.
 */
#define BRK_TRIED_MAX 8
#define BRK_ID_MAX    48

enum brk_type {
	BRK_JOIN = 1, /* child: serve address_id on port */
	BRK_JOINED, /* parent: listening; you are a member */
	BRK_JOIN_FAILED, /* parent: reason */
	BRK_READY, /* child: hand me connections for address_id */
	BRK_LEAVE, /* child: no more for address_id */
	BRK_LEFT, /* parent: none will follow */
	BRK_CONN, /* parent: a connection (fd) for address_id */
	BRK_GOT, /* child: took <count> CONNs off the socket */
	BRK_DONE, /* child: a connection of address_id ended */
	BRK_RETURN, /* child: could not take it (fd); try another */
	BRK_AUTHED, /* child: authenticated (out of MaxStartups) */
};

struct brk_msg {
	uint32_t type;
	uint32_t port; /* JOIN */
	uint32_t count; /* GOT */
	uint32_t ntried; /* RETURN */
	pid_t tried[BRK_TRIED_MAX];
	char address_id[BRK_ID_MAX];
	char reason[256]; /* JOIN_FAILED */
	struct sockaddr_storage peer; /* CONN, RETURN */
};

/* A message kept for later, with its descriptor. */
struct fwd_held {
	struct brk_msg m;
	int fd;
};

/* broker.c */
/*
 * Send <m> (with descriptor <passfd> unless -1) without blocking.
 * Returns 0, or -1 with errno (EAGAIN when the peer is behind).
 */
int brk_send(int fd, const struct brk_msg *m, int passfd);
/*
 * Receive one message into <m>, a descriptor that came with it into
 * *fdp (else -1). <wait> 0 does not block. Returns 0, 1 if the other
 * end has closed, or -1 with errno (EAGAIN: nothing there).
 */
int brk_recv(int fd, struct brk_msg *m, int *fdp, int wait);

/*
 * Messages for a peer that is behind: SOCK_SEQPACKET queues only a few
 * (net.unix.max_dgram_qlen, 10 by default), so what cannot go now waits
 * here, in order. DONE and GOT for the same address add up into one.
 */
struct brk_out {
	struct brk_msg m;
	int fd; /* owned: closed once sent */
};
struct brk_queue {
	struct brk_out *q;
	size_t n, alloc;
};
/*
 * Send <m> with <fd> (which this takes: closed once sent, or on error),
 * or queue it. Returns 0, or -1 on a hard error (peer gone).
 */
int brk_queue_send(int sock, struct brk_queue *q, const struct brk_msg *m,
    int fd);
/* Send what is queued as far as the peer takes it; -1 if it is gone. */
int brk_queue_flush(int sock, struct brk_queue *q);
/* Drop what is queued (closing its descriptors). */
void brk_queue_clear(struct brk_queue *q);

enum relay_state {
	RELAY_OPENING = 0, /* forwarded-tcpip open sent, no answer yet */
	RELAY_OPEN, /* relaying */
	RELAY_DEAD, /* waiting for sess_reap() */
};

/* One public connection relayed through a forwarded-tcpip channel. */
struct relay {
	struct ep_item ep; /* must be first */
	TAILQ_ENTRY(relay) entry;
	TAILQ_ENTRY(relay) work; /* on sess->work when in_work */
	int in_work;
	struct sess *sess;
	struct fwd *fwd; /* holds a reference */
	int fd;
	ssh_channel chan;
	struct ssh_channel_callbacks_struct cb;
	enum relay_state state;
	int abandoned; /* TCP gone while OPENING */
	int edge; /* handed over by the parent: DONE or RETURN owed */
	int returned; /* handed back: no event, no count here */
	pid_t tried[BRK_TRIED_MAX]; /* edge members that could not take it */
	int ntried;
	uint32_t events; /* current epoll interest */
	char peer_ip[NET_ADDRSTRLEN];
	uint16_t peer_port;
	int64_t start_ms; /* wall clock at accept, for its event */
	struct sockaddr_storage peer; /* for the PROXY header */
	struct sockaddr_storage local;
	/* Public client -> SSH channel. */
	unsigned char *up;
	size_t up_size, up_off, up_len;
	int tcp_eof; /* read 0 from the socket */
	int eof_sent; /* ssh_channel_send_eof done */
	/* SSH channel -> public client. */
	unsigned char *down;
	size_t down_size, down_off, down_len;
	int chan_pending; /* libssh holds unread data */
	int taking; /* in relay_chan_take(): the data callback leaves <down> */
	int grow_window; /* libssh 0.10: reads grow the window (relay.c) */
	size_t win_used; /* taken from the channel since the window grew */
	int chan_eof; /* channel EOF received */
	int shut_wr; /* shutdown(SHUT_WR) done */
	int chan_closed; /* channel CLOSE received */
	uint64_t bytes_in;
	uint64_t bytes_out;
};
TAILQ_HEAD(relay_list, relay);
TAILQ_HEAD(relay_work, relay);

/* The per-connection state of a child. */
struct sess {
	struct conf *conf; /* borrowed from the parent */
	struct store *store; /* this process's connection */
	struct pool *pool;
	ssh_session ssh;
	ssh_event event;
	struct ssh_server_callbacks_struct server_cb;
	int epfd;
	int sigfd; /* read end of the signal pipe */
	struct ep_item sig_ep;
	int brkfd; /* control socket to the parent (edges) */
	struct ep_item brk_ep;
	struct fwd_held *held; /* messages kept during a JOIN */
	size_t nheld;
	struct brk_queue brkq; /* to the parent, while it is behind */
	uint32_t brk_events; /* epoll interest on brkfd */

	char client_ip[NET_ADDRSTRLEN];
	uint16_t client_port;
	char *id; /* "ss_…", once authenticated */
	char *account_id;
	char *account_name;
	char *credential; /* "key:SHA256:…", "token:tk_…", "anonymous:IP" */
	char *user; /* sanitized SSH user name, never a token */
	int authenticated;
	int anonymous; /* random addresses only */
	int auth_failures;
	int grace_exceeded; /* LoginGraceTime ran out */
	struct ssh_counter_struct rcounter; /* bytes the client sent */
	uint64_t alive_bytes; /* rcounter.in_bytes at the last check */
	int alive_missed; /* intervals without a byte from the client */
	int64_t alive_deadline; /* monotonic ms: next ClientAlive check */
	int64_t login_deadline; /* monotonic ms */
	int max_endpoints; /* this account's MaxEndpointsPerSession */
	char *refusal; /* over a limit: why every forward is refused */
	unsigned char token_key[32]; /* TokenKey, once loaded */
	int token_key_ok;
	struct store_hostport *affinity; /* ports this credential had */
	size_t naffinity;
	int64_t next_row_check; /* monotonic ms: is our row still live? */
	struct acl *acl_account; /* the account's IP policy, or NULL */
	struct acl *acl_session; /* --cidr-allow/--cidr-deny, or NULL */
	int64_t next_view; /* monotonic ms: next live-view refresh */
	int64_t started_mono; /* monotonic ms at login */

	/* What record.c has queued for the store and EventLog. */
	struct event **evq;
	size_t nevq, evqalloc;
	size_t nevlogged; /* of those, already written to EventLog */
	int rec_failing; /* the last write to the store failed */
	int64_t rec_deadline; /* monotonic ms: write the queued events */
	int64_t stats_deadline; /* monotonic ms: write the counters */
	int stats_dirty; /* counters moved since they were written */
	struct store_counter *counters; /* deltas for the next batch */
	size_t ncounters;
	int64_t gone_conns_total; /* of forwards already freed */
	int64_t gone_bytes_in;
	int64_t gone_bytes_out;
	int64_t counted_bytes_in; /* already added to the counters */
	int64_t counted_bytes_out;
	uint64_t view_stamp; /* what the live view last showed */

	/* The session channel, if the client opened one. */
	ssh_channel chan;
	struct ssh_channel_callbacks_struct chan_cb;
	int chan_seen; /* a session channel was opened */
	int chan_closed; /* the client closed it */
	struct buf *pending_notices; /* said before the command */
	int pty;
	int command_done; /* exec/shell processed */
	struct cmdline *opts; /* NULL until known */
	int ready; /* forwards may accept */
	int64_t ready_deadline; /* monotonic ms */

	struct fwd_list fwds;
	int nfwds; /* live (not cancelled) */
	struct relay_list relays;
	struct relay_work work; /* relays relay_service() must visit */
	unsigned char *relay_scratch; /* relay.c: RELAY_WINDOW, on first use */
	/* relay.c: drops data on freed channels until the client's CLOSE */
	struct ssh_channel_callbacks_struct relay_drain_cb;

	int closing; /* sess_finish() was called */
	const char *end_why; /* why (static text), for the log and events */
	int64_t close_deadline; /* monotonic ms */
	int quit; /* leave the loop */
	int terminate; /* SIGTERM received */
	int check_row; /* SIGUSR1: an admin may have ended us */
};

/* portholed.c */
/*
 * Read the configuration: -o <overrides> first (they win), then <path>
 * (which must exist if <must_exist>), then derived defaults. Returns a
 * new conf, or NULL after logging why.
 */
struct conf *portholed_load_conf(const char *path, int must_exist,
    char **overrides, size_t noverrides);

/* server.c: the parent. */
/*
 * Make the self-pipe that signal handlers write to and install handlers
 * for SIGTERM, SIGINT, SIGHUP and SIGCHLD (SIGPIPE is ignored). Returns
 * the read end. Called again in each child, which needs its own pipe.
 */
int srv_signals_init(void);
/* Read pending signal numbers from <fd>; returns a bit per signal. */
unsigned int srv_signals_read(int fd);
#define SRV_SIG_TERM 0x01
#define SRV_SIG_HUP  0x02
#define SRV_SIG_CHLD 0x04
#define SRV_SIG_USR1 0x08

/*
 * Serve: bind the configured SSH listeners, print one "listening on"
 * line per socket, accept and fork until SIGTERM. SIGHUP replaces
 * *confp with a fresh reading for new sessions. Returns the exit
 * status for main().
 */
int srv_run(struct conf **confp, ssh_bind bind, const char *conf_path,
    int conf_must_exist, char **overrides, size_t noverrides);

/* group.c: the parent's edge groups. */
struct grp_set;
struct grp_set *grp_new(void);
void grp_free(struct grp_set *gs); /* closes the listeners */
/* In a new child: close the parent's edge listeners, keep no state. */
void grp_close_all(struct grp_set *gs);
/* A message <m> (with descriptor <fd>, or -1) from child <pid>. */
void grp_message(struct grp_set *gs, struct conf *conf, pid_t pid, int ctl,
    struct brk_queue *q, struct brk_msg *m, int fd);
/* Child <pid> is gone: out of every group. */
void grp_kid_gone(struct grp_set *gs, pid_t pid);
/* Fill <pfds> with the listeners to poll; returns how many. */
size_t grp_pollfds(struct grp_set *gs, struct pollfd *pfds);
/* Number of groups (an upper bound for grp_pollfds). */
size_t grp_count(struct grp_set *gs);
/* Accept on group listener <lfd> and hand the connections out. */
void grp_accept(struct grp_set *gs, int lfd);
/* Hand out connections waiting for a member (after its messages). */
void grp_service(struct grp_set *gs);

/* session.c: the child. */
/* How a session process that never authenticated ended (penalties). */
#define SESS_EXIT_NOAUTH   3 /* tried nothing */
#define SESS_EXIT_AUTHFAIL 4 /* failed to authenticate */
#define SESS_EXIT_GRACE    5 /* LoginGraceTime ran out */
/*
 * Serve one SSH connection on <fd> (already accepted) until it ends.
 * Returns the process exit status. <bind> is consumed.
 */
int sess_main(struct conf *conf, ssh_bind bind, int fd, int sigfd, int brkfd);
/*
 * Tell the client something went wrong or was refused: "porthole: MSG"
 * on the session channel's stderr, or with --json an object
 * {"type":"error","code":CODE,"message":MSG} on stdout. Before the
 * command is known it is held and said then.
 */
void sess_notice(struct sess *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Announce endpoint <f> on the session channel (once the command ran). */
void sess_announce(struct sess *s, struct fwd *f);
/*
 * Record a successful login for account <account_id>: a new session id,
 * its store row, the account's limits, and the affinity ports of
 * <credential>. Returns 0, or -1 if the login must be refused. Over
 * MaxSessionsPerAccount the login succeeds but s->refusal is set, so
 * the client is told why instead of seeing "Permission denied".
 */
int sess_login(struct sess *s, const char *account_id, const char *credential);
/* libssh callback: the client opens a session channel. */
ssh_channel sess_channel_open(ssh_session ssh, void *ud);
/* Write to the session channel's stdout (if any). */
void sess_output(struct sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Add or change <fd>'s interest in the epoll set to <events>. */
int sess_watch(struct sess *s, int fd, struct ep_item *item, uint32_t events,
    int add);
void sess_unwatch(struct sess *s, int fd);

/* auth.c */
/* Install the authentication callbacks on the session. */
void auth_setup(struct sess *s);
/* Handle an SSH_REQUEST_AUTH message the callbacks did not take. */
int auth_message(struct sess *s, ssh_message msg);

/* fwd.c */
/* Handle a tcpip-forward request. Returns 0 if it replied itself. */
int fwd_request(struct sess *s, ssh_message msg);
/* Handle a cancel-tcpip-forward request. */
int fwd_cancel(struct sess *s, ssh_message msg);
/*
 * Re-read the reserved addresses of this session's forwards: stop those
 * that were deleted, take up PROXY and IP policy changes.
 */
void fwd_check_addresses(struct sess *s);
/*
 * Edges: handle a message from the parent, with <fd> the connection it
 * hands over (CONN), else -1.
 */
void fwd_broker(struct sess *s, struct brk_msg *m, int fd);
/* Handle the messages kept while a JOIN waited (main loop only). */
void fwd_broker_held(struct sess *s);
/* Send what waits for the parent; keep the epoll interest right. */
void fwd_broker_flush(struct sess *s);
void fwd_broker_interest(struct sess *s);
/* At session end: send what still waits (bounded), then drop it. */
void fwd_broker_drain(struct sess *s);
/*
 * Leave every edge group (session end): LEAVE, then wait for the
 * parent's LEFT, handing back what arrives meanwhile.
 */
void fwd_leave_edges(struct sess *s);
/* A connection of edge forward <f> is over: tell the parent. */
void fwd_edge_done(struct sess *s, struct fwd *f);
/*
 * Give connection <fd> from <peer> back to the parent for another
 * member (its channel could not be opened here). Takes <fd>.
 */
void fwd_edge_return(struct sess *s, struct fwd *f, int fd,
    const struct sockaddr_storage *peer, const pid_t *tried, int ntried);
/*
 * Build the acl of IP policy <policy_id> (NULL: *aclp = NULL). Returns
 * 0, or a negative PORTHOLE_ERR_* after logging.
 */
int sess_policy_acl(struct sess *s, const char *policy_id, struct acl **aclp);
/* The PROXY protocol version for connections of forward <f> (0: none). */
int sess_proxy_proto(struct sess *s, struct fwd *f);
/* Start accepting on every forward (the session's options are known). */
void fwd_start_all(struct sess *s);
/* Accept pending connections on <f>'s listener. */
void fwd_accept(struct sess *s, struct fwd *f);
/* Drop a relay's reference to <f>. */
void fwd_unref(struct sess *s, struct fwd *f);
/* Watch listeners paused by EMFILE again (a descriptor was freed). */
void fwd_resume(struct sess *s);
/* Free cancelled forwards no relay points to (top level only). */
void fwd_reap(struct sess *s);
/* Close every listener and free every forward (session end). */
void fwd_close_all(struct sess *s);

/* relay.c */
/*
 * Start relaying accepted socket <fd> from <peer> for forward <f>:
 * send the forwarded-tcpip open. Takes ownership of fd.
 */
struct relay *relay_start(struct sess *s, struct fwd *f, int fd,
    const struct sockaddr *peer, const struct brk_msg *edge);
/* Handle epoll <events> on relay <r>. */
void relay_io(struct sess *s, struct relay *r, uint32_t events);
/*
 * After each ssh_event_dopoll: advance pending opens, retry writes that
 * waited for the SSH window, and free relays that are done.
 */
void relay_service(struct sess *s);
/* Close every relay (session end). */
void relay_close_all(struct sess *s);

/* record.c: events and counters, batched. */
/* A public connection ended (or was refused: <allowed> 0). */
void rec_conn_closed(struct sess *s, struct fwd *f,
    const struct sockaddr *client, const struct sockaddr *server,
    int64_t start_ms, uint64_t bytes_in, uint64_t bytes_out, int allowed);
/* Count a relayed (accepted, then ended) connection. */
void rec_conn_relayed(struct sess *s);
/* Count a refused connection / forward / failed authentication. */
void rec_conn_refused(struct sess *s, const char *reason);
void rec_forward_refused(struct sess *s, const char *reason);
void rec_auth_failure(struct sess *s);
/* Session (<started> 1, or ended for <reason>) and endpoint events. */
void rec_session(struct sess *s, int started, const char *reason);
void rec_endpoint(struct sess *s, struct fwd *f, int started);
/* Keep the totals of forward <f>, which is about to be freed. */
void rec_forget_fwd(struct sess *s, struct fwd *f);
/* When the next batch is due (monotonic ms). */
int64_t rec_deadline(struct sess *s);
/* Write what is due (everything with <force>). */
void rec_flush(struct sess *s, int force);
void rec_free(struct sess *s);

#endif /* PORTHOLED_H */
