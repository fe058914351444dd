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

#include "ipc.h"
#include "net.h"
#include "ratelim.h"

struct acl;
struct buf;
struct cmdline;
struct conf;

/*
 * portholed has five kinds of process (portholed.8, SECURITY
 * CONSIDERATIONS, says what each may do):
 *
 *  - the monitor (server.c, with the judgements in src/mon*.c): binds
 *    the SSH listeners, accepts, enforces the pre-authentication limits,
 *    holds the store and the token key, decides every login and every
 *    public address, owns edge listeners, writes what sessions record;
 *  - the spawner (spawn.c): started once with a fresh image, it holds
 *    the host key and the configuration and nothing else, and forks one
 *    session process per connection the monitor hands it, so session
 *    processes start from a clean copy rather than the monitor's memory;
 *  - the API process (src/api*.c), when ApiListen is set: started by
 *    the monitor with a fresh image, as User, it serves the HTTP API on
 *    the listener the monitor bound, with its own store handle, and
 *    tells the monitor of changes and failed logins (api.h);
 *  - the webhook delivery process (webhook.c): started by the monitor
 *    with a fresh image, as User, it delivers events to webhook
 *    destinations with its own store handle;
 *  - session processes (session.c): one libssh session each, sandboxed
 *    (sandbox.c) before they read a byte from the network, with their
 *    forwards (fwd.c), relayed connections (relay.c) and edge duties
 *    (edge.c) in one ssh_event loop. They reach the monitor only
 *    through their control socket (link.c).
 *
 * In a session process our own sockets (public listeners, relayed
 * connections, the control socket) live in one epoll set; only that
 * epoll fd and the SSH socket are in the ssh_event. Ownership: everything
 * hangs off struct sess. Callbacks, which libssh may run nested inside
 * any call that flushes, only set flags and move bytes; objects are
 * freed in relay_service() and fwd_reap(), at the top of the loop.
 */

/* Tags for what an epoll event's data.ptr points at. */
enum ep_kind {
	EP_KIND_SIGNAL = 1,
	EP_KIND_LINK, /* the control socket to the monitor */
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
	char *id; /* "ep_…", the endpoint id the monitor gave */
	char *bind_address; /* the string the client sent */
	char *host; /* public host name */
	uint16_t port; /* bound public port */
	char *hostport; /* "host:port", or "[v6]:port" for a literal */
	char *address_id; /* the reserved address served, or NULL */
	char *edge_id; /* served as a member of this edge, or NULL */
	/*
	 * Served as a member of a group (an edge's, or a pooled address's):
	 * the monitor owns the listener and hands connections over
	 * (edge.c).
	 */
	int member;
	int pooled; /* the group is a pooled address's */
	/* Granted, but the monitor decides how once MON_OPTIONS is in. */
	int held;
	int edge_ready; /* READY sent: the monitor may hand connections */
	int edge_left; /* CANCEL sent */
	int edge_gone; /* LEFT received */
	int edge_proxy; /* the edge's PROXY setting (0: none) */
	struct acl *acl_edge; /* the edge's IP policy, or NULL */
	int proxy_proto; /* the address's PROXY setting (0, 1, 2) */
	struct acl *acl; /* the address's IP policy, or NULL */
	uint64_t conns_refused; /* by IP restrictions or limits */
	int fd; /* listener, -1 once closed (member, held: -1) */
	int watching; /* fd is in the epoll set */
	int paused; /* accept hit EMFILE; waiting */
	int dead; /* cancelled or stopped; free when refs 0 */
	int refs; /* relays still pointing here */
	uint64_t conns_open;
	uint64_t conns_total;
	uint64_t bytes_in; /* from public clients */
	uint64_t bytes_out; /* to public clients */
	/* Traffic limits of this endpoint (fwd.c, relay.c). */
	struct ratelim_bucket bw_up; /* public clients -> channels */
	struct ratelim_bucket bw_down; /* channels -> public clients */
	struct ratelim_window rate; /* admissions (ConnectionRateLimit) */
};
TAILQ_HEAD(fwd_list, fwd);

enum relay_state {
	RELAY_OPENING = 0, /* forwarded-tcpip open sent, no answer yet */
	RELAY_OPEN, /* relaying */
	RELAY_DEAD, /* waiting for relay_service() */
};

/* One public connection relayed through a forwarded-tcpip channel. */
struct relay {
	struct ep_item ep; /* must be first */
	TAILQ_ENTRY(relay) entry;
	TAILQ_ENTRY(relay) work; /* on sess->work when in_work */
	int in_work;
	TAILQ_ENTRY(relay) slow; /* on sess->throttled when in_slow */
	int in_slow;
	int up_throttled; /* BandwidthLimit: reading waits for the bucket */
	int down_throttled; /* BandwidthLimit: sending waits for it */
	int64_t active_ms; /* monotonic ms of the last byte either way */
	struct sess *sess;
	struct fwd *fwd; /* holds a reference */
	int fd;
	ssh_channel chan;
	struct ssh_channel_callbacks_struct cb;
	enum relay_state state;
	int abandoned; /* TCP gone while OPENING */
	int edge; /* handed over by the monitor: DONE or RETURN owed */
	uint64_t edge_conn; /* its id, for DONE or RETURN */
	int returned; /* handed back: no event, no count here */
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
TAILQ_HEAD(relay_slow, relay);

/* A message from the monitor kept for the main loop, with its fd. */
struct link_held {
	struct ipc_msg m;
	int fd;
};

/* The state of a session process. */
struct sess {
	struct conf *conf; /* the spawner's, inherited */
	ssh_session ssh;
	ssh_event event;
	struct ssh_server_callbacks_struct server_cb;
	int epfd;
	int sigfd; /* read end of the signal pipe */
	struct ep_item sig_ep;
	int ctl; /* control socket to the monitor, -1 once gone */
	struct ep_item ctl_ep;
	struct ipc_queue ctlq; /* to the monitor, while it is behind */
	uint32_t ctl_events; /* epoll interest on ctl */
	struct link_held *held; /* pushes kept during a call */
	size_t nheld;

	char client_ip[NET_ADDRSTRLEN];
	uint16_t client_port;
	char *id; /* "ss_…", once logged in */
	char *account_name;
	char *credential_kind; /* "key", "token", "anonymous" */
	char *user; /* sanitized SSH user name, never a token */
	int authenticated;
	int anonymous; /* random addresses only */
	int auth_failures;
	int auth_done; /* the monitor said no more attempts */
	int refused; /* the monitor refused the login, saying why */
	int grace_exceeded; /* LoginGraceTime ran out */
	struct ssh_counter_struct rcounter; /* bytes the client sent */
	uint64_t alive_bytes; /* rcounter.in_bytes at the last check */
	int alive_missed; /* intervals without a byte from the client */
	int64_t alive_deadline; /* monotonic ms: next ClientAlive check */
	int64_t login_deadline; /* monotonic ms */
	int max_endpoints; /* as the monitor said */
	/* Traffic limits (MON_LIMITS; 0: none). */
	uint64_t bw_limit; /* BandwidthLimit, bytes a second */
	uint32_t conn_rate; /* ConnectionRateLimit, a minute */
	uint32_t per_source; /* MaxConnectionsPerSource */
	int64_t idle_ms; /* ConnectionIdleTimeout */
	int quota_on; /* TransferQuota set */
	uint64_t quota_left; /* bytes left as the monitor counted them */
	uint64_t quota_seen; /* our byte count that figure includes */
	int quota_logged; /* "quota exhausted" said */
	struct relay_slow throttled; /* relays waiting for a bucket */
	int64_t bw_wake; /* monotonic ms: look at them again (0: none) */
	int64_t idle_next; /* monotonic ms: next idle check (0: none) */
	struct acl *acl_account; /* the account's IP policy, or NULL */
	struct acl *acl_session; /* --cidr-allow/--cidr-deny, or NULL */
	int64_t next_view; /* monotonic ms: next live-view refresh */
	int64_t started_mono; /* monotonic ms at login */

	/* Refused requests (forwards, channels, subsystems…). */
	int refusals;
	int notices; /* refusal notices said */
	int64_t next_refusal_log; /* monotonic ms */
	uint64_t refusal_logs_skipped;
	double log_tokens; /* refused public connections: a token bucket */
	int64_t log_last; /* monotonic ms of its last refill */
	uint64_t refused_logs_skipped;

	/* What record.c has batched for the monitor. */
	struct ipc_msg conns; /* MON_CONNS records after the count */
	uint32_t nconns;
	int64_t conns_deadline; /* monotonic ms */
	int64_t stats_deadline; /* monotonic ms: report the counters */
	int stats_dirty; /* counters moved since they were reported */
	int64_t gone_conns_total; /* of forwards already freed */
	int64_t gone_bytes_in;
	int64_t gone_bytes_out;
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
};

/* portholed.c */
/*
 * Read the configuration: -o <overrides> first (they win), then <path>
 * (which must exist if <must_exist>), then derived defaults. Returns a
 * new conf, or NULL after logging why.
 */
struct conf *portholed_load_conf(const char *path, int must_exist,
    char **overrides, size_t noverrides);
/* Set up libssh's logging at portholed's <level>. */
void portholed_libssh_log(int level);
/*
 * A new ssh_bind with host key <key> (taken) and portholed's options.
 * Returns NULL after logging why.
 */
ssh_bind portholed_bind(ssh_key key);
/*
 * Ready the state for a run, as the user portholed runs as: the state
 * directory, the store (rows a previous run left live are ended), the
 * host key (generated on first start) in *keyp. Returns 0 or -1.
 */
int portholed_state(struct conf *conf, ssh_key *keyp);

/* server.c: the monitor's loop. */
/*
 * Make the self-pipe that signal handlers write to and install handlers
 * for SIGTERM, SIGINT, SIGHUP, SIGCHLD and SIGUSR1 (SIGPIPE is ignored).
 * Returns the read end. Called again in each process that needs its
 * own pipe.
 */
int srv_signals_init(void);
/* Read pending signal numbers from <fd>; returns a bit per signal. */
unsigned int srv_signals_read(int fd);
#define SRV_SIG_TERM 0x01
#define SRV_SIG_HUP  0x02
#define SRV_SIG_CHLD 0x04
#define SRV_SIG_USR1 0x08
/* The write end of this process's signal pipe (kept open by children). */
int srv_signals_wfd(void);

/*
 * Serve: bind the configured SSH listeners, print one "listening on"
 * line per socket, become User, ready the state, start the spawner,
 * accept and hand connections over until SIGTERM. SIGHUP replaces
 * *confp with a fresh reading for new sessions. Returns the exit
 * status.
 */
int srv_run(struct conf **confp, const char *conf_path, int conf_must_exist,
    char **overrides, size_t noverrides);

/* spawn.c: the spawner, and the monitor's side of it. */
/* Messages between the monitor and the spawner. */
enum spawn_msg {
	SPAWN_INIT = 1, /* str conf, str host key, u32 log level, u8 syslog */
	SPAWN_CONF, /* str conf: for sessions from now on */
	SPAWN_FORK, /* u64 seq; descriptors: SSH socket, control socket */
	SPAWN_FORKED, /* u64 seq, u32 pid; descriptor: a pidfd, if any */
	SPAWN_FAILED, /* u64 seq, str reason */
	SPAWN_EXITED, /* u32 pid, u32 wait status */
};
/*
 * Start a helper process of portholed: fork and execute this program
 * again (/proc/self/exe, argv0 for its name) as "<flag> [XFD] FD": FD
 * is a control socket whose other end goes to *sockp, XFD a copy of
 * descriptor <xfd> (still the caller's), left out for -1. <what> names
 * it in the log. The spawner is "-Z" (spawn_main), the API process
 * "-A" with its listening socket (src/api.c), the webhook delivery
 * process "-W" (webhook_main). The helper ends with the monitor
 * (PR_SET_PDEATHSIG). Returns its pid, or -1 after logging why.
 */
pid_t spawn_helper(const char *argv0, const char *what, const char *flag,
    int xfd, int *sockp);
/*
 * The spawner's main (portholed -Z FD): read SPAWN_INIT from FD, then
 * fork a session process for each SPAWN_FORK until FD closes.
 */
int spawn_main(int sock);
/* The configuration as portholed.conf lines (for SPAWN_INIT/_CONF). */
char *spawn_conf_text(const struct conf *conf);
/* A configuration from spawn_conf_text()'s lines, or NULL (logged). */
struct conf *spawn_conf_parse(const char *text);

/* webhook.c: the webhook delivery process, and the monitor's side. */
enum webhook_msg {
	WEBHOOK_INIT = 1, /* str conf, u32 log level, u8 syslog */
};
/* Send it WEBHOOK_INIT with <conf>: 0, or -1 with errno. */
int webhook_init_send(int sock, const struct conf *conf);
/*
 * The delivery process's main (portholed -W FD): read WEBHOOK_INIT,
 * then deliver until FD closes. Returns the exit status.
 */
int webhook_main(int sock);

/* session.c: a session process. */
/* How a session process that never authenticated ended (penalties). */
#define SESS_EXIT_NOAUTH   3 /* tried nothing */
#define SESS_EXIT_AUTHFAIL 4 /* failed to authenticate */
#define SESS_EXIT_GRACE    5 /* LoginGraceTime ran out */
/*
 * Serve one SSH connection on <fd> (already accepted) until it ends,
 * reaching the monitor over <ctl>. Returns the process exit status.
 * <bind> is consumed.
 */
int sess_main(struct conf *conf, ssh_bind bind, int fd, int sigfd, int ctl);
/*
 * Tell the client something went wrong or was refused: "porthole: MSG"
 * on the session channel's stderr, or with --json an object
 * {"type":"error","code":CODE,"message":MSG} on stdout. Before the
 * command is known it is held and said then.
 */
void sess_notice(struct sess *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * A refused request (a forward, a channel, a subsystem): say <fmt> to
 * the client (notices are capped), log <logline> (rate-limited), and
 * after SESS_REFUSALS_MAX of them end the session.
 */
void sess_refused(struct sess *s, const char *code, const char *logline,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define SESS_REFUSALS_MAX 100
#define SESS_NOTICES_MAX  20
/* Announce endpoint <f> on the session channel (once the command ran). */
void sess_announce(struct sess *s, struct fwd *f);
/* libssh callback: the client opens a session channel. */
ssh_channel sess_channel_open(ssh_session ssh, void *ud);
/* Write to the session channel's stdout (if any). */
void sess_output(struct sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * End the session from our side with exit <status> for <why> (static
 * text): see session.c.
 */
void sess_finish(struct sess *s, int status, const char *why);
/* Add or change <fd>'s interest in the epoll set to <events>. */
int sess_watch(struct sess *s, int fd, struct ep_item *item, uint32_t events,
    int add);
void sess_unwatch(struct sess *s, int fd);
/* The PROXY protocol version for connections of forward <f> (0: none). */
int sess_proxy_proto(struct sess *s, struct fwd *f);

/* link.c: the control socket to the monitor. */
/* Send <m> (with descriptor <fd>, taken; -1 none) now or when it can. */
void link_send(struct sess *s, const struct ipc_msg *m, int fd);
/*
 * Send request <req> and wait for the answer of type <want> in <ans>
 * (initialised or zeroed) and its descriptor in *fdp (-1 if none; NULL:
 * closed), for at most LINK_CALL_MS; pushes that arrive meanwhile are
 * kept for link_held(). Returns 0, or -1 (the monitor is gone or did
 * not answer).
 */
int link_call(struct sess *s, const struct ipc_msg *req, uint32_t want,
    struct ipc_msg *ans, int *fdp);
/* Read and handle the monitor's pushes (epoll said readable). */
void link_read(struct sess *s);
/* Handle pushes kept during a call (main loop only). */
void link_held(struct sess *s);
/* Send what waits; keep the epoll interest right. */
void link_flush(struct sess *s);
/* At session end: send what waits (bounded), then drop it. */
void link_drain(struct sess *s);
/* Drop what is held and queued, closing their descriptors. */
void link_free(struct sess *s);

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
/* The live forward with endpoint id <id>, or NULL. */
struct fwd *fwd_find(struct sess *s, const char *id);
/* MON_ENDPOINT_UPDATE and MON_ENDPOINT_STOP from the monitor. */
void fwd_update(struct sess *s, struct ipc_msg *m);
void fwd_stopped(struct sess *s, struct ipc_msg *m);
/*
 * MON_ENDPOINT_LISTENER (held forward: its listener, <fd> taken) and
 * MON_ENDPOINT_POOL (it serves as a pool member from now on).
 */
void fwd_listener(struct sess *s, struct ipc_msg *m, int fd);
void fwd_pooled(struct sess *s, struct ipc_msg *m);
/* Stop <f>'s listener (relays keep going); tell the monitor if <tell>. */
void fwd_stop(struct sess *s, struct fwd *f, int tell);
/* Start accepting on every forward (the session's options are known). */
void fwd_start_all(struct sess *s);
/* Accept pending connections on <f>'s listener. */
void fwd_accept(struct sess *s, struct fwd *f);
/*
 * IP restrictions and MaxConnectionsPerEndpoint for a connection from
 * <sa> to <f>: returns MON_CONN_RELAYED to admit it, else the refusal.
 */
int fwd_admit(struct sess *s, struct fwd *f, const struct sockaddr *sa);
/*
 * Close refused connection <fd> from <sa> and record why (<refusal>,
 * a MON_CONN_*).
 */
void fwd_refused(struct sess *s, struct fwd *f, int fd,
    const struct sockaddr *sa, int refusal);
/* Apply the session's bandwidth limit to <f>'s buckets. */
void fwd_set_limits(struct sess *s, struct fwd *f);
/* Drop a relay's reference to <f>. */
void fwd_unref(struct sess *s, struct fwd *f);
/* Watch listeners paused by EMFILE again (a descriptor was freed). */
void fwd_resume(struct sess *s);
/* Free stopped forwards no relay points to (top level only). */
void fwd_reap(struct sess *s);
/*
 * Stop the forwards with a listener of their own (or none yet), so that
 * nothing more is accepted; group members stay until they leave.
 */
void fwd_close_listeners(struct sess *s);
/* Close every listener and free every forward (session end). */
void fwd_close_all(struct sess *s);

/* edge.c: a session's part in edge groups. */
/* The forward is ready: ask the monitor for its connections. */
void edge_ready(struct sess *s, struct fwd *f);
/* MON_EDGE_CONN (with the connection <fd>) and MON_EDGE_LEFT. */
void edge_conn(struct sess *s, struct ipc_msg *m, int fd);
void edge_left(struct sess *s, struct ipc_msg *m);
/* A connection the monitor handed over ended: tell it. */
void edge_done(struct sess *s, struct relay *r);
/*
 * Give relay <r>'s connection back (its channel could not be opened
 * here; nothing was read from it). Takes r->fd.
 */
void edge_return(struct sess *s, struct relay *r);
/*
 * Leave every edge group (session end): cancel, then wait for the
 * monitor's LEFT, handing back what arrives meanwhile.
 */
void edge_leave_all(struct sess *s);

/* relay.c */
/*
 * Start relaying accepted socket <fd> from <peer> for forward <f>:
 * send the forwarded-tcpip open. Takes ownership of fd. <edge_conn> is
 * the monitor's id for a connection of an edge, else 0.
 */
struct relay *relay_start(struct sess *s, struct fwd *f, int fd,
    const struct sockaddr *peer, uint64_t edge_conn);
/* Handle epoll <events> on relay <r>. */
void relay_io(struct sess *s, struct relay *r, uint32_t events);
/*
 * After each ssh_event_dopoll: advance pending opens, retry writes that
 * waited for the SSH window, and free relays that are done.
 */
void relay_service(struct sess *s);
/*
 * MON_LIMITS: take the traffic limits the monitor sent (link.c); the
 * relays waiting for a bucket are looked at again.
 */
void relay_limits(struct sess *s, struct ipc_msg *m);
/*
 * Timers of the limits: wake relays whose bucket has refilled, end
 * relays idle for ConnectionIdleTimeout. Returns the next deadline
 * (monotonic ms), INT64_MAX if none.
 */
int64_t relay_limits_tick(struct sess *s);
/* The bytes relayed by this session so far, both ways. */
uint64_t relay_bytes_total(struct sess *s);
/* Close every relay's channel now (shutdown: the client may leave). */
void relay_close_channels(struct sess *s);
/* Close every relay (session end). */
void relay_close_all(struct sess *s);

/* record.c: what a session reports to the monitor, batched. */
/* A public connection ended (relayed, or refused: <refusal>). */
void rec_conn_closed(struct sess *s, struct fwd *f,
    const struct sockaddr *client, const struct sockaddr *server,
    int64_t start_ms, uint64_t bytes_in, uint64_t bytes_out, int refusal);
/* Keep the totals of forward <f>, which is about to be freed. */
void rec_forget_fwd(struct sess *s, struct fwd *f);
/* When the next report is due (monotonic ms). */
int64_t rec_deadline(struct sess *s);
/* Report what is due (everything with <force>). */
void rec_flush(struct sess *s, int force);
void rec_free(struct sess *s);

#endif /* PORTHOLED_H */
