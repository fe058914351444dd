/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "mon.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>
#include <sqlite3.h>

#include "acl.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "event.h"
#include "id.h"
#include "ipc.h"
#include "log.h"
#include "misc.h"
#include "net.h"
#include "pghelp.h"
#include "pubkey.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

Suite *mon_suite(void);

/*
 * The monitor driven as a session process drives it: messages written
 * on a real SOCK_SEQPACKET control socket, mon_run() (and mon_tick()
 * where a timer decides), answers read back from the socket, against a
 * real store. The kids have no process: their pid stays 0, so a kill
 * signals nobody, except in the edge tests, whose kids are harmless
 * children of the test (see dummy_pid) because the monitor tells edge
 * members apart by pid.
 */

/* Generated once with ssh-keygen -t ed25519; only the public halves. */
#define KEY_TYPE "ssh-ed25519"
#define KEY_REG                                                                \
	"AAAAC3NzaC1lZDI1NTE5AAAAIEmdUU4v8Z1PG3BZP34SHwXpdxFw6FaWEE+hjmVThF1B"
#define KEY_UNREG                                                              \
	"AAAAC3NzaC1lZDI1NTE5AAAAIFmm7PN3SUWlbkhA+oCJPUuUiofxXhuydRL5khR9poTa"

#define PORT_LOW  61000
#define PORT_HIGH 64999
#define WAIT_MS   10000 /* the most a timer the tests wait on may take */

/* A session process as the test plays it. */
struct tkid {
	struct mon_kid *k;
	int s; /* its end of the control socket */
};

/* Each test's world, made by a fixture. */
static struct conf *conf;
static struct store *st;
static struct mon *mon;
static unsigned char tkey[TOKEN_KEY_LEN];
static char dbdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static char fp_reg[PUBKEY_FP_LEN + 1];
static char *alice_id, *bob_id, *edge_id, *edge_addr_id;
static char *alice_token_id;
static char alice_token[TOKEN_LEN + 1], bob_token[TOKEN_LEN + 1];
static uint16_t alice_port, bob_port, edge_port;
static int socks[128];
static size_t nsocks;
static pid_t dummies[8];
static size_t ndummies;

/* A free TCP port on 127.0.0.1 that none of the fixture's ports is. */
static uint16_t
free_port(void)
{
	uint16_t port;
	int fd;

	do {
		ck_assert_int_eq(net_listen("127.0.0.1", 0, 1, &fd), 0);
		ck_assert_int_eq(net_local_port(fd, &port), 0);
		close(fd);
	} while (port == alice_port || port == bob_port || port == edge_port ||
	    (port >= PORT_LOW && port <= PORT_HIGH));
	return port;
}

/* A token of <account_id>: its text in <buf>, its id returned. */
static char *
add_token(const char *account_id, char *buf, size_t len)
{
	unsigned char hash[TOKEN_HASH_LEN];
	char *id = id_new("tk");

	token_generate(buf, len);
	token_hash(tkey, buf, hash);
	ck_assert_int_eq(store_token_add(st, id, account_id, hash, sizeof(hash),
	                     NULL, misc_now_ms()),
	    0);
	return id;
}

/* Reserve 127.0.0.1:<port> for <account_id> (NULL: an edge's). */
static char *
add_address(const char *account_id, uint16_t port)
{
	struct store_address *a = NULL;
	char *id;

	ck_assert_int_eq(store_address_add(st, account_id, "127.0.0.1", port,
	                     NULL, NULL, misc_now_ms(), &a),
	    0);
	id = xstrdup(a->id);
	store_address_free(a);
	return id;
}

/*
 * Start the world: a configuration of the base lines and <extra>, a
 * store (":memory:", or a file for tests that write to it from a
 * connection of their own), accounts alice (a key, a token, a reserved
 * address, backend of the edge) and bob (a token, a reserved address),
 * an edge with an address of its own, and the monitor.
 */
/* fx_start's <file_db> for a store on the test PostgreSQL database. */
#define FX_PG 2

/* Empty the PostgreSQL database <uri>: no schema, no rows. */
static void
pg_empty(const char *uri)
{
	struct db *db = NULL;
	char errbuf[256];

	ck_assert_msg(db_open(uri, &db, errbuf, sizeof(errbuf)) == 0, "%s",
	    errbuf);
	ck_assert_msg(db_exec(db,
	                  "DROP SCHEMA IF EXISTS public CASCADE;"
	                  " CREATE SCHEMA public") == 0,
	    "%s", db_errmsg(db));
	db_close(db);
}

static void
fx_start(const char *const *extra, int file_db)
{
	static const char *const base[] = { "TunnelAddress 127.0.0.1",
		"PublicHost 127.0.0.1", "PortRange 61000-64999",
		"MaxAuthTries 3", NULL };
	struct store_account *a = NULL;
	struct store_edge *e = NULL;
	char errbuf[256];
	size_t i;

	log_capture_reset();
	conf = conf_new();
	for (i = 0; base[i] != NULL; i++)
		ck_assert_int_eq(conf_apply_line(conf, base[i], 0, errbuf,
		                     sizeof(errbuf)),
		    0);
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		ck_assert_msg(conf_apply_line(conf, extra[i], 0, errbuf,
		                  sizeof(errbuf)) == 0,
		    "%s: %s", extra[i], errbuf);
	ck_assert_msg(conf_finish(conf, errbuf, sizeof(errbuf)) == 0, "%s",
	    errbuf);

	if (file_db == FX_PG) {
		/* conf's Database, the test PostgreSQL's, emptied. */
		snprintf(dbpath, sizeof(dbpath), "%s", conf->database);
		pg_empty(dbpath);
	} else if (file_db) {
		snprintf(dbdir, sizeof(dbdir), "%s/check_mon.XXXXXX",
		    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
		ck_assert_ptr_nonnull(mkdtemp(dbdir));
		snprintf(dbpath, sizeof(dbpath), "%s/porthole.db", dbdir);
	}
	ck_assert_msg(store_open(file_db ? dbpath : ":memory:", &st, errbuf,
	                  sizeof(errbuf)) == 0,
	    "%s", errbuf);
	randombytes_buf(tkey, sizeof(tkey));

	ck_assert_int_eq(store_account_add(st, "alice", &a), 0);
	alice_id = xstrdup(a->id);
	store_account_free(a);
	ck_assert_int_eq(pubkey_fingerprint(KEY_REG, fp_reg, sizeof(fp_reg)),
	    0);
	ck_assert_int_eq(store_key_add(st, alice_id, KEY_TYPE, KEY_REG, fp_reg,
	                     "montest"),
	    0);
	alice_token_id = add_token(alice_id, alice_token, sizeof(alice_token));
	alice_port = free_port();
	free(add_address(alice_id, alice_port));

	ck_assert_int_eq(store_account_add(st, "bob", &a), 0);
	bob_id = xstrdup(a->id);
	store_account_free(a);
	free(add_token(bob_id, bob_token, sizeof(bob_token)));
	bob_port = free_port();
	free(add_address(bob_id, bob_port));

	ck_assert_int_eq(store_edge_add(st, "montest", misc_now_ms(), &e), 0);
	edge_id = xstrdup(e->id);
	store_edge_free(e);
	edge_port = free_port();
	edge_addr_id = add_address(NULL, edge_port);
	ck_assert_int_eq(store_edge_address_add(st, edge_id, edge_addr_id), 0);
	ck_assert_int_eq(store_edge_backend_add(st, edge_id, alice_id), 0);

	mon = mon_new(conf, st, tkey);
}

static void
setup(void)
{
	fx_start(NULL, 0);
}

static void
setup_file(void)
{
	fx_start(NULL, 1);
}

/* The monitor over PostgreSQL (PORTHOLE_TEST_PG), which it listens on. */
static void
setup_pg(void)
{
	static char line[PATH_MAX + 16];
	const char *const extra[] = { line, NULL };
	const char *uri = getenv("PORTHOLE_TEST_PG");

	ck_assert_msg(uri != NULL && *uri != '\0', "PORTHOLE_TEST_PG unset");
	snprintf(line, sizeof(line), "Database %s", uri);
	fx_start(extra, FX_PG);
}

static void
setup_anon(void)
{
	static const char *const extra[] = { "AllowAnonymous yes", NULL };

	fx_start(extra, 0);
}

static void
setup_max_sessions(void)
{
	static const char *const extra[] = { "MaxSessions 1", NULL };

	fx_start(extra, 0);
}

static void
setup_max_per_account(void)
{
	static const char *const extra[] = { "MaxSessionsPerAccount 1", NULL };

	fx_start(extra, 0);
}

static void
teardown(void)
{
	char path[PATH_MAX + 32];
	size_t i;

	mon_free(mon);
	mon = NULL;
	store_free(st);
	st = NULL;
	conf_free(conf);
	conf = NULL;
	for (i = 0; i < nsocks; i++)
		close(socks[i]);
	nsocks = 0;
	for (i = 0; i < ndummies; i++) {
		(void)kill(dummies[i], SIGKILL);
		(void)waitpid(dummies[i], NULL, 0);
	}
	ndummies = 0;
	free(alice_id);
	free(bob_id);
	free(edge_id);
	free(edge_addr_id);
	free(alice_token_id);
	alice_id = bob_id = edge_id = edge_addr_id = alice_token_id = NULL;
	alice_port = bob_port = edge_port = 0;
	if (dbdir[0] != '\0') {
		static const char *const sfx[] = { "", "-wal", "-shm" };

		for (i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s%s", dbpath, sfx[i]);
			(void)unlink(path);
		}
		(void)rmdir(dbdir);
		dbdir[0] = '\0';
	}
}

/*
 * A process id the monitor may signal: a child of this test that waits
 * to be killed (and dies with the test).
 */
static pid_t
dummy_pid(void)
{
	pid_t pid;

	ck_assert_uint_lt(ndummies, sizeof(dummies) / sizeof(dummies[0]));
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* Holding no copy of the monitor's sockets. */
		(void)close_range(3, ~0U, 0);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	dummies[ndummies++] = pid;
	return pid;
}

/* A child that answers SIGUSR1 with a byte on its pipe. */
static int dummy_wfd = -1;

static void
dummy_usr1(int sig)
{
	(void)sig;
	(void)write(dummy_wfd, "x", 1);
	_exit(0);
}

/*
 * A process id that is not the monitor's to signal any more, as a pid
 * recycled after its session process exited would be: a child of this
 * test that, on SIGUSR1, writes a byte to the pipe whose read end goes
 * to *rfdp and exits. If it was killed first, the read sees the end of
 * the pipe instead: which one is decided by the signals alone.
 */
static pid_t
witness_pid(int *rfdp)
{
	int p[2];
	char c;
	pid_t pid;

	ck_assert_uint_lt(ndummies, sizeof(dummies) / sizeof(dummies[0]));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		sigset_t set;

		if (dup2(p[1], 3) == -1)
			_exit(1);
		(void)close_range(4, ~0U, 0);
		dummy_wfd = 3;
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)signal(SIGUSR1, dummy_usr1);
		sigemptyset(&set);
		(void)sigprocmask(SIG_SETMASK, &set, NULL);
		/* Ready: SIGUSR1 no longer kills it. */
		if (write(3, "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	dummies[ndummies++] = pid;
	*rfdp = p[0];
	return pid;
}

/* Predicate: the witness behind <rfd> was alive to answer SIGUSR1. */
static int
witness_alive(pid_t pid, int rfd)
{
	char c;

	ck_assert_int_eq(kill(pid, SIGUSR1), 0);
	return read(rfd, &c, 1) == 1;
}

/* A new session process for a client at <ip>:50000. */
static void
kid_new(struct tkid *t, const char *ip)
{
	struct sockaddr_in sin;
	int sv[2];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(50000);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	                     sv),
	    0);
	t->k = mon_kid_add(mon, sv[0], (struct sockaddr *)&sin, NULL);
	ck_assert_ptr_nonnull(t->k);
	t->s = sv[1];
	ck_assert_uint_lt(nsocks, sizeof(socks) / sizeof(socks[0]));
	socks[nsocks++] = t->s;
}

/* Send <m> with <nfds> descriptors from <t>, then let the monitor run. */
static void
kid_sendv(struct tkid *t, const struct ipc_msg *m, const int *fds, size_t nfds)
{
	ck_assert_int_eq(ipc_send(t->s, m, fds, nfds), 0);
	mon_run(mon);
}

static void
kid_send(struct tkid *t, const struct ipc_msg *m)
{
	kid_sendv(t, m, NULL, 0);
}

/* Send raw <len> bytes (type included) from <t>, then run. */
static void
kid_send_raw(struct tkid *t, const void *p, size_t len)
{
	ck_assert_int_eq(send(t->s, p, len, MSG_NOSIGNAL), (ssize_t)len);
	mon_run(mon);
}

/* Predicate: an answer waits on <t>'s socket (or it was closed). */
static int
kid_readable(struct tkid *t)
{
	struct pollfd pfd;

	pfd.fd = t->s;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) == 1;
}

/*
 * Run the monitor, its timers included, until something waits on <t>
 * or on <u> (may be NULL); returns the one that has it. The monitor's
 * own timer says how long to wait: no guessing.
 */
static struct tkid *
pump2(struct tkid *t, struct tkid *u)
{
	int64_t deadline = misc_monotonic_ms() + WAIT_MS, left, next;
	struct pollfd pfd[3];

	for (;;) {
		mon_run(mon);
		next = mon_tick(mon);
		if (kid_readable(t))
			return t;
		if (u != NULL && kid_readable(u))
			return u;
		left = deadline - misc_monotonic_ms();
		ck_assert_msg(left > 0, "no answer within %d ms", WAIT_MS);
		if (next > left)
			next = left;
		pfd[0].fd = mon_epfd(mon);
		pfd[1].fd = t->s;
		pfd[2].fd = u != NULL ? u->s : -1;
		pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
		(void)poll(pfd, 3, (int)next);
	}
}

static void
pump(struct tkid *t)
{
	(void)pump2(t, NULL);
}

/*
 * The next answer to <t>, which must be there now (the monitor answers
 * at once); its descriptor to *fdp (-1 if none), or none allowed if
 * fdp is NULL.
 */
static void
kid_recv(struct tkid *t, struct ipc_msg *m, int *fdp)
{
	int fds[IPC_FDS_MAX];
	size_t nfds;

	ck_assert_int_eq(ipc_recv(t->s, m, fds, IPC_FDS_MAX, &nfds, 0), 0);
	ck_assert_uint_le(nfds, 1);
	if (fdp != NULL)
		*fdp = nfds > 0 ? fds[0] : -1;
	else
		ck_assert_uint_eq(nfds, 0);
}

/* Predicate: nothing waits on <t>'s socket and it is open. */
static int
kid_quiet(struct tkid *t)
{
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds;
	int r;

	memset(&m, 0, sizeof(m));
	r = ipc_recv(t->s, &m, fds, IPC_FDS_MAX, &nfds, 0);
	ipc_msg_free(&m);
	return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/*
 * <t> broke the protocol: the monitor marked it, said why in the log,
 * closed its socket and answered nothing.
 */
static void
assert_violated(struct tkid *t)
{
	struct mon_kid_info info;
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds;

	mon_kid_info(t->k, &info);
	ck_assert_int_eq(info.violated, 1);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(ipc_recv(t->s, &m, fds, IPC_FDS_MAX, &nfds, 0), 1);
	ipc_msg_free(&m);
	ck_assert_ptr_nonnull(
	    strstr(log_capture(), "killed: protocol violation"));
}

/* <t> is still in good standing, and its socket open. */
static void
assert_not_violated(struct tkid *t)
{
	struct mon_kid_info info;

	mon_kid_info(t->k, &info);
	ck_assert_int_eq(info.violated, 0);
	ck_assert(kid_quiet(t));
}

/* Messages a session process writes. */

static void
msg_auth_key(struct ipc_msg *m, int probe, const char *b64)
{
	ipc_msg_init(m, MON_AUTH_KEY);
	ipc_put_u8(m, (uint8_t)probe);
	ipc_put_str(m, "v2");
	ipc_put_str(m, KEY_TYPE);
	ipc_put_str(m, b64);
}

static void
msg_auth_token(struct ipc_msg *m, const char *token)
{
	ipc_msg_init(m, MON_AUTH_TOKEN);
	ipc_put_u8(m, MON_HOW_PASSWORD);
	ipc_put_str(m, "v2");
	ipc_put_str(m, token);
}

/* A MON_AUTH_RESULT as read; the strings are the test's to free. */
struct auth_ans {
	uint32_t result;
	char *reason;
	char *session_id;
	char *account_id;
	char *account_name;
	char *kind;
	uint8_t anonymous;
	uint32_t max_endpoints;
	struct acl *acl;
};

static void
auth_ans_free(struct auth_ans *a)
{
	free(a->reason);
	free(a->session_id);
	free(a->account_id);
	free(a->account_name);
	free(a->kind);
	acl_free(a->acl);
	memset(a, 0, sizeof(*a));
}

/* Send <m> from <t> and read its MON_AUTH_RESULT into <a>. */
static void
kid_auth(struct tkid *t, struct ipc_msg *m, struct auth_ans *a)
{
	struct ipc_msg r;

	memset(a, 0, sizeof(*a));
	memset(&r, 0, sizeof(r));
	kid_send(t, m);
	kid_recv(t, &r, NULL);
	ck_assert_uint_eq(r.type, MON_AUTH_RESULT);
	a->result = ipc_get_u32(&r);
	a->reason = ipc_get_str(&r, 1024);
	if (a->result == MON_AUTH_LOGIN) {
		a->session_id = ipc_get_str(&r, MON_ID_MAX);
		a->account_id = ipc_get_str(&r, MON_ID_MAX);
		a->account_name = ipc_get_str(&r, 64);
		a->kind = ipc_get_str(&r, 16);
		a->anonymous = ipc_get_u8(&r);
		a->max_endpoints = ipc_get_u32(&r);
		ck_assert_int_eq(mon_get_acl(&r, &a->acl), 0);
	}
	ck_assert(ipc_ok(&r, 1));
	ipc_msg_free(&r);
}

/* The result alone of authenticating <t> with key <b64>. */
static uint32_t
kid_try_key(struct tkid *t, int probe, const char *b64)
{
	struct auth_ans a;
	struct ipc_msg m;
	uint32_t result;

	memset(&m, 0, sizeof(m));
	msg_auth_key(&m, probe, b64);
	kid_auth(t, &m, &a);
	result = a.result;
	auth_ans_free(&a);
	ipc_msg_free(&m);
	return result;
}

static uint32_t
kid_try_token(struct tkid *t, const char *token)
{
	struct auth_ans a;
	struct ipc_msg m;
	uint32_t result;

	memset(&m, 0, sizeof(m));
	msg_auth_token(&m, token);
	kid_auth(t, &m, &a);
	result = a.result;
	auth_ans_free(&a);
	ipc_msg_free(&m);
	return result;
}

/*
 * Log <t> in with the registered key (<token> NULL) or with <token>;
 * returns the session id (the test's to free).
 */
static char *
kid_login(struct tkid *t, const char *token)
{
	struct auth_ans a;
	struct ipc_msg m;
	char *id;

	memset(&m, 0, sizeof(m));
	if (token == NULL)
		msg_auth_key(&m, 0, KEY_REG);
	else
		msg_auth_token(&m, token);
	kid_auth(t, &m, &a);
	ck_assert_msg(a.result == MON_AUTH_LOGIN, "result %u (%s)", a.result,
	    a.reason);
	id = a.session_id;
	a.session_id = NULL;
	auth_ans_free(&a);
	ipc_msg_free(&m);
	return id;
}

/* A MON_FORWARD_RESULT as read. */
struct fwd_ans {
	int ok;
	char *code, *reason; /* refused */
	char *id, *host, *hostport, *address_id, *edge_id;
	uint32_t port;
	int how; /* 0 own listener, 1 group member, 2 held */
	int fd;
};

static void
fwd_ans_free(struct fwd_ans *f)
{
	free(f->code);
	free(f->reason);
	free(f->id);
	free(f->host);
	free(f->hostport);
	free(f->address_id);
	free(f->edge_id);
	if (f->fd != -1)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/* Ask for a forward of <addr>:<port> from <t>; the answer into <f>. */
static void
kid_forward(struct tkid *t, const char *addr, uint32_t port, struct fwd_ans *f)
{
	struct ipc_msg m, r;
	struct acl *acl = NULL;

	memset(f, 0, sizeof(*f));
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	ipc_msg_init(&m, MON_FORWARD);
	ipc_put_str(&m, addr);
	ipc_put_u32(&m, port);
	kid_send(t, &m);
	kid_recv(t, &r, &f->fd);
	ck_assert_uint_eq(r.type, MON_FORWARD_RESULT);
	f->ok = ipc_get_u8(&r);
	if (!f->ok) {
		f->code = ipc_get_str(&r, 64);
		f->reason = ipc_get_str(&r, 1024);
		ck_assert_int_eq(f->fd, -1);
	} else {
		f->id = ipc_get_str(&r, MON_ID_MAX);
		f->host = ipc_get_str(&r, 256);
		f->port = ipc_get_u32(&r);
		f->hostport = ipc_get_str(&r, 300);
		f->address_id = ipc_get_str(&r, MON_ID_MAX);
		f->edge_id = ipc_get_str(&r, MON_ID_MAX);
		(void)ipc_get_u32(&r);
		ck_assert_int_eq(mon_get_acl(&r, &acl), 0);
		acl_free(acl);
		ck_assert_int_eq(mon_get_acl(&r, &acl), 0);
		acl_free(acl);
		(void)ipc_get_u32(&r);
		f->how = ipc_get_u8(&r);
	}
	ck_assert(ipc_ok(&r, 1));
	ipc_msg_free(&m);
	ipc_msg_free(&r);
}

/* A pipe: the test keeps the read end, the write end is sent. */
static void
nbpipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
}

/* Predicate: no copy of the pipe's write end is open anywhere. */
static int
pipe_writers_gone(int rfd)
{
	char c;

	return read(rfd, &c, 1) == 0;
}

/* The number of descriptors this process has open. */
static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1;
}

/* Is endpoint <id> live in the store? */
static int
endpoint_live(const char *id)
{
	struct store_endpoint **list = NULL;
	size_t i, n = 0;
	int live = 0;

	ck_assert_int_eq(store_endpoint_list(st, &list, &n), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i]->id, id) == 0)
			live = 1;
	}
	store_endpoint_list_free(list, n);
	return live;
}

/* Before a login: everything but MON_AUTH_* and MON_BYE is refused. */

/* Well-formed payloads, so that only the state is wrong. */
static void
put_payload(struct ipc_msg *m, uint32_t type)
{
	switch (type) {
	case MON_FORWARD:
		ipc_put_str(m, "localhost");
		ipc_put_u32(m, 0);
		break;
	case MON_CANCEL:
	case MON_EDGE_READY:
		ipc_put_str(m, "ep_x");
		break;
	case MON_METADATA:
		ipc_put_str(m, "meta");
		break;
	case MON_CONNS:
	case MON_STATS:
		ipc_put_u32(m, 0);
		break;
	case MON_EDGE_GOT:
		ipc_put_str(m, "ep_x");
		ipc_put_u32(m, 1);
		break;
	case MON_EDGE_DONE:
		ipc_put_u64(m, 1);
		break;
	case MON_OPTIONS:
		ipc_put_u8(m, 0);
		ipc_put_u8(m, 0);
		break;
	default:
		break;
	}
}

static const uint32_t preauth_types[] = {
	MON_FORWARD,
	MON_CANCEL,
	MON_METADATA,
	MON_CONNS,
	MON_STATS,
	MON_CHECK,
	MON_EDGE_READY,
	MON_EDGE_GOT,
	MON_EDGE_DONE,
	MON_OPTIONS,
};

START_TEST(test_preauth_request)
{
	struct tkid t;
	struct ipc_msg m;

	kid_new(&t, "127.0.0.2");
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, preauth_types[_i]);
	put_payload(&m, preauth_types[_i]);
	kid_send(&t, &m);
	assert_violated(&t);
	ck_assert_uint_eq(mon_nsessions(mon), 0);
	ipc_msg_free(&m);
}
END_TEST

/* A RETURN (with its descriptor) before a login: closed, violated. */
START_TEST(test_preauth_return)
{
	struct tkid t;
	struct ipc_msg m;
	int p[2];

	kid_new(&t, "127.0.0.2");
	nbpipe(p);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_EDGE_RETURN);
	ipc_put_u64(&m, 1);
	kid_sendv(&t, &m, &p[1], 1);
	close(p[1]);
	assert_violated(&t);
	ck_assert(pipe_writers_gone(p[0]));
	close(p[0]);
	ipc_msg_free(&m);
}
END_TEST

/* MON_BYE is allowed before a login (the client went away). */
START_TEST(test_preauth_bye)
{
	struct tkid t;
	struct ipc_msg m;

	kid_new(&t, "127.0.0.2");
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_BYE);
	ipc_put_str(&m, "client disconnected");
	ipc_put_u64(&m, 0);
	kid_send(&t, &m);
	assert_not_violated(&t);
	/* A malformed one is not. */
	ipc_msg_init(&m, MON_BYE);
	ipc_put_str(&m, "x");
	kid_send(&t, &m);
	assert_violated(&t);
	ipc_msg_free(&m);
}
END_TEST

/* Datagrams that are no message at all. */
START_TEST(test_preauth_short_datagram)
{
	struct tkid t;

	kid_new(&t, "127.0.0.2");
	kid_send_raw(&t, "\0\0\1", 3);
	assert_violated(&t);
}
END_TEST

/* Types that are no request, before and after a login. */
static const uint32_t unknown_types[] = {
	0,
	MON_REQ_MAX,
	MON_AUTH_RESULT,
	MON_END,
	MON_EDGE_CONN,
	1000,
	0xffffffff,
};

START_TEST(test_unknown_type_preauth)
{
	struct tkid t;
	struct ipc_msg m;

	kid_new(&t, "127.0.0.2");
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, unknown_types[_i]);
	kid_send(&t, &m);
	assert_violated(&t);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_unknown_type_authed)
{
	struct tkid t;
	struct ipc_msg m;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, unknown_types[_i]);
	ipc_put_u32(&m, 0);
	kid_send(&t, &m);
	assert_violated(&t);
	ipc_msg_free(&m);
	free(sid);
}
END_TEST

/* Malformed authentication requests. */
static char *
repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

enum bad_auth {
	BAD_KEY_TRAILING,
	BAD_KEY_LONG_KEY,
	BAD_KEY_LONG_USER,
	BAD_KEY_LONG_TYPE,
	BAD_KEY_SHORT,
	BAD_TOKEN_LONG,
	BAD_TOKEN_TRAILING,
	BAD_TOKEN_NUL,
	BAD_ANON_TRAILING,
	BAD_ANON_EMPTY,
	BAD_AUTH_MAX
};

START_TEST(test_malformed_auth)
{
	struct tkid t;
	struct ipc_msg m;
	char *s;

	kid_new(&t, "127.0.0.2");
	memset(&m, 0, sizeof(m));
	switch ((enum bad_auth)_i) {
	case BAD_KEY_TRAILING:
		msg_auth_key(&m, 0, KEY_REG);
		ipc_put_u8(&m, 0);
		break;
	case BAD_KEY_LONG_KEY:
		s = repeat('A', MON_KEY_MAX + 1);
		msg_auth_key(&m, 0, s);
		free(s);
		break;
	case BAD_KEY_LONG_USER:
		s = repeat('u', MON_USER_MAX + 1);
		ipc_msg_init(&m, MON_AUTH_KEY);
		ipc_put_u8(&m, 0);
		ipc_put_str(&m, s);
		ipc_put_str(&m, KEY_TYPE);
		ipc_put_str(&m, KEY_REG);
		free(s);
		break;
	case BAD_KEY_LONG_TYPE:
		s = repeat('t', 65);
		ipc_msg_init(&m, MON_AUTH_KEY);
		ipc_put_u8(&m, 0);
		ipc_put_str(&m, "v2");
		ipc_put_str(&m, s);
		ipc_put_str(&m, KEY_REG);
		free(s);
		break;
	case BAD_KEY_SHORT:
		ipc_msg_init(&m, MON_AUTH_KEY);
		ipc_put_u8(&m, 0);
		ipc_put_str(&m, "v2");
		break;
	case BAD_TOKEN_LONG:
		s = repeat('a', MON_TOKEN_MAX + 1);
		memcpy(s, "ph_", 3);
		msg_auth_token(&m, s);
		free(s);
		break;
	case BAD_TOKEN_TRAILING:
		msg_auth_token(&m, alice_token);
		ipc_put_u32(&m, 0);
		break;
	case BAD_TOKEN_NUL:
		ipc_msg_init(&m, MON_AUTH_TOKEN);
		ipc_put_u8(&m, MON_HOW_PASSWORD);
		ipc_put_str(&m, "v2");
		ipc_put_u32(&m, 4);
		ipc_put_raw(&m, "ph_\0", 4);
		break;
	case BAD_ANON_TRAILING:
		ipc_msg_init(&m, MON_AUTH_ANON);
		ipc_put_str(&m, "v2");
		ipc_put_u8(&m, 1);
		break;
	case BAD_ANON_EMPTY:
		ipc_msg_init(&m, MON_AUTH_ANON);
		break;
	default:
		ck_abort();
	}
	kid_send(&t, &m);
	assert_violated(&t);
	ipc_msg_free(&m);
	/* Nothing was looked up for it: no failure counted. */
	{
		struct mon_kid_info info;

		mon_kid_info(t.k, &info);
		ck_assert_int_eq(info.failures, 0);
	}
}
END_TEST

/* Authentication decisions */

START_TEST(test_key_unregistered)
{
	struct tkid t;
	struct mon_kid_info info;

	kid_new(&t, "127.0.0.2");
	ck_assert_uint_eq(kid_try_key(&t, 1, KEY_UNREG), MON_AUTH_DENIED);
	ck_assert_uint_eq(kid_try_key(&t, 0, KEY_UNREG), MON_AUTH_DENIED);
	mon_kid_info(t.k, &info);
	ck_assert_int_eq(info.failures, 2);
	ck_assert_int_eq(info.authed, 0);
	ck_assert_int_eq(info.violated, 0);
	ck_assert_uint_eq(mon_nsessions(mon), 0);
	/* A key that is no key at all is just refused. */
	ck_assert_uint_eq(kid_try_key(&t, 0, "!!!"), MON_AUTH_TOO_MANY);
	assert_not_violated(&t);
}
END_TEST

START_TEST(test_key_probe_login)
{
	struct store_session *row = NULL;
	struct mon_kid_info info;
	struct auth_ans a;
	struct ipc_msg m;
	struct tkid t;
	char cred[PUBKEY_FP_LEN + 8];

	kid_new(&t, "127.0.0.2");
	ck_assert_uint_eq(kid_try_key(&t, 1, KEY_REG), MON_AUTH_PROBE_OK);
	mon_kid_info(t.k, &info);
	ck_assert_int_eq(info.authed, 0);
	ck_assert_int_eq(info.failures, 0);
	ck_assert_uint_eq(mon_nsessions(mon), 0);

	memset(&m, 0, sizeof(m));
	msg_auth_key(&m, 0, KEY_REG);
	kid_auth(&t, &m, &a);
	ck_assert_uint_eq(a.result, MON_AUTH_LOGIN);
	ck_assert_str_eq(a.account_id, alice_id);
	ck_assert_str_eq(a.account_name, "alice");
	ck_assert_str_eq(a.kind, "key");
	ck_assert_uint_eq(a.anonymous, 0);
	ck_assert_ptr_null(a.acl);
	ck_assert(id_is_valid(a.session_id, "ss"));
	mon_kid_info(t.k, &info);
	ck_assert_int_eq(info.authed, 1);
	ck_assert_uint_eq(mon_nsessions(mon), 1);

	/* A live row, as the monitor recorded it. */
	ck_assert_int_eq(store_session_get(st, a.session_id, &row), 0);
	ck_assert_int_eq(row->ended_ms, 0);
	ck_assert_str_eq(row->account_id, alice_id);
	ck_assert_str_eq(row->client_ip, "127.0.0.2");
	snprintf(cred, sizeof(cred), "key:%s", fp_reg);
	ck_assert_str_eq(row->credential, cred);
	store_session_free(row);

	/* Asking again after a login changes nothing. */
	ck_assert_uint_eq(kid_try_key(&t, 0, KEY_REG), MON_AUTH_DENIED);
	ck_assert_uint_eq(mon_nsessions(mon), 1);
	assert_not_violated(&t);
	auth_ans_free(&a);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_account_disabled)
{
	struct tkid t, t2;

	ck_assert_int_eq(store_account_set_disabled(st, alice_id, 1,
	                     misc_now_ms(), NULL, NULL),
	    0);
	kid_new(&t, "127.0.0.2");
	kid_new(&t2, "127.0.0.3");
	/* The probe alone shows the key's account is checked. */
	ck_assert_uint_eq(kid_try_key(&t, 1, KEY_REG), MON_AUTH_DENIED);
	ck_assert_uint_eq(kid_try_key(&t, 0, KEY_REG), MON_AUTH_DENIED);
	ck_assert_uint_eq(kid_try_token(&t2, alice_token), MON_AUTH_DENIED);
	ck_assert_uint_eq(mon_nsessions(mon), 0);
	ck_assert_ptr_nonnull(
	    strstr(log_capture(), "account alice is disabled"));
}
END_TEST

START_TEST(test_token)
{
	struct tkid t;
	char wrong[TOKEN_LEN + 1];
	char *sid;

	kid_new(&t, "127.0.0.2");
	/* Shaped like a token, but not one. */
	token_generate(wrong, sizeof(wrong));
	ck_assert_uint_eq(kid_try_token(&t, wrong), MON_AUTH_DENIED);
	/* Not even shaped like one. */
	ck_assert_uint_eq(kid_try_token(&t, "hunter2"), MON_AUTH_DENIED);
	ck_assert_uint_eq(mon_nsessions(mon), 0);
	/* The real one logs in as its account. */
	sid = kid_login(&t, alice_token);
	ck_assert_uint_eq(mon_nsessions(mon), 1);
	free(sid);
}
END_TEST

START_TEST(test_max_auth_tries)
{
	struct mon_kid_info info;
	struct tkid t;
	const char *log;

	kid_new(&t, "127.0.0.2");
	ck_assert_uint_eq(kid_try_key(&t, 0, KEY_UNREG), MON_AUTH_DENIED);
	ck_assert_uint_eq(kid_try_key(&t, 1, KEY_UNREG), MON_AUTH_DENIED);
	/* The third refusal is the last. */
	ck_assert_uint_eq(kid_try_key(&t, 0, KEY_UNREG), MON_AUTH_TOO_MANY);
	log_capture_reset();
	/* From now on nothing is looked up: a good credential fails too. */
	ck_assert_uint_eq(kid_try_key(&t, 1, KEY_REG), MON_AUTH_TOO_MANY);
	ck_assert_uint_eq(kid_try_key(&t, 0, KEY_REG), MON_AUTH_TOO_MANY);
	ck_assert_uint_eq(kid_try_token(&t, alice_token), MON_AUTH_TOO_MANY);
	ck_assert_uint_eq(kid_try_key(&t, 0, KEY_UNREG), MON_AUTH_TOO_MANY);
	log = log_capture();
	ck_assert_ptr_null(strstr(log, "is not registered"));
	ck_assert_ptr_null(strstr(log, "session ss_"));
	mon_kid_info(t.k, &info);
	ck_assert_int_eq(info.authed, 0);
	ck_assert_int_eq(info.failures, 3);
	ck_assert_uint_eq(mon_nsessions(mon), 0);
	assert_not_violated(&t);
}
END_TEST

START_TEST(test_anon_denied)
{
	struct store_account *a = NULL;
	struct auth_ans ans;
	struct ipc_msg m;
	struct tkid t;

	kid_new(&t, "127.0.0.2");
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_AUTH_ANON);
	ipc_put_str(&m, "v2");
	kid_auth(&t, &m, &ans);
	ck_assert_uint_eq(ans.result, MON_AUTH_DENIED);
	ck_assert_uint_eq(mon_nsessions(mon), 0);
	/* Nothing was made for it. */
	ck_assert_int_eq(store_account_get(st, "anonymous", &a),
	    PORTHOLE_ERR_NOT_FOUND);
	auth_ans_free(&ans);
	ipc_msg_free(&m);
}
END_TEST

/* With AllowAnonymous yes the same request logs in (the control). */
START_TEST(test_anon_allowed)
{
	struct auth_ans ans;
	struct ipc_msg m;
	struct tkid t;
	struct fwd_ans f;

	kid_new(&t, "127.0.0.2");
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_AUTH_ANON);
	ipc_put_str(&m, "v2");
	kid_auth(&t, &m, &ans);
	ck_assert_uint_eq(ans.result, MON_AUTH_LOGIN);
	ck_assert_str_eq(ans.account_name, "anonymous");
	ck_assert_uint_eq(ans.anonymous, 1);
	ck_assert_uint_eq(mon_nsessions(mon), 1);
	/* Random addresses only. */
	kid_forward(&t, "127.0.0.1", alice_port, &f);
	ck_assert_int_eq(f.ok, 0);
	ck_assert_str_eq(f.code, "not_reserved");
	fwd_ans_free(&f);
	auth_ans_free(&ans);
	ipc_msg_free(&m);
}
END_TEST

/* MaxSessions and MaxSessionsPerAccount */

/*
 * <t> is refused a login with a reason naming <keyword>: it is not
 * counted as logged in, stays among the unauthenticated for
 * MaxStartups, and may ask nothing more.
 */
static void
assert_refused(struct tkid *t, const char *token, const char *keyword)
{
	struct mon_kid_info info;
	struct auth_ans a;
	struct ipc_msg m;
	int total, from;

	memset(&m, 0, sizeof(m));
	if (token == NULL)
		msg_auth_key(&m, 0, KEY_REG);
	else
		msg_auth_token(&m, token);
	kid_auth(t, &m, &a);
	ck_assert_uint_eq(a.result, MON_AUTH_REFUSED);
	ck_assert_msg(strstr(a.reason, keyword) != NULL, "reason: %s",
	    a.reason);
	ck_assert_uint_eq(mon_nsessions(mon), 1);
	mon_kid_info(t->k, &info);
	ck_assert_int_eq(info.authed, 0);
	mon_startups(mon, "127.0.0.3", &total, &from);
	ck_assert_int_eq(total, 1);
	ck_assert_int_eq(from, 1);
	/* Refused is not logged in: a request is a violation. */
	ipc_msg_init(&m, MON_CHECK);
	kid_send(t, &m);
	assert_violated(t);
	auth_ans_free(&a);
	ipc_msg_free(&m);
}

START_TEST(test_max_sessions)
{
	struct tkid t1, t2;
	char *sid;

	kid_new(&t1, "127.0.0.2");
	kid_new(&t2, "127.0.0.3");
	sid = kid_login(&t1, NULL);
	/* Another account: only the server-wide cap applies. */
	assert_refused(&t2, bob_token, "MaxSessions");
	free(sid);
}
END_TEST

START_TEST(test_max_sessions_per_account)
{
	struct tkid t1, t2, t3;
	char *sid, *sid3;

	kid_new(&t1, "127.0.0.2");
	kid_new(&t2, "127.0.0.3");
	sid = kid_login(&t1, NULL);
	assert_refused(&t2, alice_token, "MaxSessionsPerAccount");
	/* Another account may still log in. */
	kid_new(&t3, "127.0.0.4");
	sid3 = kid_login(&t3, bob_token);
	ck_assert_uint_eq(mon_nsessions(mon), 2);
	free(sid);
	free(sid3);
}
END_TEST

/* After a login */

/* Two descriptors on MON_CHECK: violated, and both closed here. */
START_TEST(test_two_fds)
{
	struct tkid t;
	struct ipc_msg m;
	int p[2][2], w[2], before;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	nbpipe(p[0]);
	nbpipe(p[1]);
	w[0] = p[0][1];
	w[1] = p[1][1];
	before = count_fds();
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CHECK);
	kid_sendv(&t, &m, w, 2);
	close(w[0]);
	close(w[1]);
	assert_violated(&t);
	ck_assert(pipe_writers_gone(p[0][0]));
	ck_assert(pipe_writers_gone(p[1][0]));
	/* The two sent and the monitor's end of the control socket. */
	ck_assert_int_eq(count_fds(), before - 2 - 1);
	close(p[0][0]);
	close(p[1][0]);
	ipc_msg_free(&m);
	free(sid);
}
END_TEST

/* One descriptor where none belongs; a RETURN with two. */
static const uint32_t fd_types[] = { MON_CHECK, MON_FORWARD, MON_STATS,
	MON_EDGE_DONE, MON_AUTH_KEY, MON_EDGE_RETURN };

START_TEST(test_stray_fd)
{
	struct tkid t;
	struct ipc_msg m;
	int p[2][2], w[2];
	size_t nfds = fd_types[_i] == MON_EDGE_RETURN ? 2 : 1;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	nbpipe(p[0]);
	nbpipe(p[1]);
	w[0] = p[0][1];
	w[1] = p[1][1];
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, fd_types[_i]);
	put_payload(&m, fd_types[_i]);
	if (fd_types[_i] == MON_EDGE_RETURN)
		ipc_put_u64(&m, 1);
	kid_sendv(&t, &m, w, nfds);
	close(w[0]);
	close(w[1]);
	assert_violated(&t);
	ck_assert(pipe_writers_gone(p[0][0]));
	ck_assert(pipe_writers_gone(p[1][0]));
	close(p[0][0]);
	close(p[1][0]);
	ipc_msg_free(&m);
	free(sid);
}
END_TEST

/* A MON_CONNS record of endpoint <epid> from <t>. */
static void
msg_conns(struct ipc_msg *m, const char *epid)
{
	struct sockaddr_in c, s;

	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	c.sin_family = s.sin_family = AF_INET;
	c.sin_addr.s_addr = htonl(0x7f000009);
	c.sin_port = htons(40000);
	s.sin_addr.s_addr = htonl(0x7f000001);
	s.sin_port = htons(62000);
	ipc_msg_init(m, MON_CONNS);
	ipc_put_u32(m, 1);
	ipc_put_str(m, epid);
	ipc_put_addr(m, (struct sockaddr *)&c);
	ipc_put_addr(m, (struct sockaddr *)&s);
	ipc_put_u64(m, (uint64_t)misc_now_ms() - 10);
	ipc_put_u64(m, (uint64_t)misc_now_ms());
	ipc_put_u64(m, 100);
	ipc_put_u64(m, 200);
	ipc_put_u8(m, MON_CONN_RELAYED);
}

/* Two sessions with a random forward each: alice's a, bob's b. */
static void
two_with_forwards(struct tkid *a, struct fwd_ans *fa, struct tkid *b,
    struct fwd_ans *fb)
{
	char *s1, *s2;

	kid_new(a, "127.0.0.2");
	kid_new(b, "127.0.0.3");
	s1 = kid_login(a, NULL);
	s2 = kid_login(b, bob_token);
	kid_forward(a, "localhost", 0, fa);
	kid_forward(b, "localhost", 0, fb);
	ck_assert_int_eq(fa->ok, 1);
	ck_assert_int_eq(fb->ok, 1);
	free(s1);
	free(s2);
}

START_TEST(test_conns_own)
{
	struct store_event **evs = NULL;
	struct tkid a, b;
	struct fwd_ans fa, fb;
	struct ipc_msg m;
	size_t n = 0;

	two_with_forwards(&a, &fa, &b, &fb);
	memset(&m, 0, sizeof(m));
	msg_conns(&m, fa.id);
	kid_send(&a, &m);
	assert_not_violated(&a);
	mon_flush(mon);
	ck_assert_int_eq(store_event_list(st, 0, EVENT_CONNECTION_CLOSED, 0, 0,
	                     &evs, &n),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(evs[0]->json, fa.id));
	store_event_list_free(evs, n);
	fwd_ans_free(&fa);
	fwd_ans_free(&fb);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_conns_foreign)
{
	struct store_event **evs = NULL;
	struct tkid a, b;
	struct fwd_ans fa, fb;
	struct ipc_msg m;
	size_t n = 0;

	two_with_forwards(&a, &fa, &b, &fb);
	memset(&m, 0, sizeof(m));
	/* bob's endpoint, reported by alice's session. */
	msg_conns(&m, fb.id);
	kid_send(&a, &m);
	assert_violated(&a);
	assert_not_violated(&b);
	mon_flush(mon);
	ck_assert_int_eq(store_event_list(st, 0, EVENT_CONNECTION_CLOSED, 0, 0,
	                     &evs, &n),
	    0);
	ck_assert_uint_eq(n, 0);
	store_event_list_free(evs, n);
	fwd_ans_free(&fa);
	fwd_ans_free(&fb);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_stats_foreign)
{
	struct tkid a, b;
	struct fwd_ans fa, fb;
	struct ipc_msg m;

	two_with_forwards(&a, &fa, &b, &fb);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_STATS);
	ipc_put_u32(&m, 1);
	ipc_put_str(&m, fb.id);
	ipc_put_u64(&m, 1);
	ipc_put_u64(&m, 1);
	ipc_put_u64(&m, 1);
	ipc_put_u64(&m, 1);
	kid_send(&a, &m);
	assert_violated(&a);
	fwd_ans_free(&fa);
	fwd_ans_free(&fb);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_cancel_foreign)
{
	struct tkid a, b;
	struct fwd_ans fa, fb;
	struct ipc_msg m;

	two_with_forwards(&a, &fa, &b, &fb);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CANCEL);
	ipc_put_str(&m, fb.id);
	kid_send(&a, &m);
	/* Ignored: nobody is killed, bob's endpoint lives on. */
	assert_not_violated(&a);
	assert_not_violated(&b);
	ck_assert(endpoint_live(fb.id));
	ck_assert(endpoint_live(fa.id));
	/* Its own is cancelled (the control). */
	ipc_msg_init(&m, MON_CANCEL);
	ipc_put_str(&m, fa.id);
	kid_send(&a, &m);
	assert_not_violated(&a);
	ck_assert(!endpoint_live(fa.id));
	ck_assert(endpoint_live(fb.id));
	fwd_ans_free(&fa);
	fwd_ans_free(&fb);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_forward_random)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct tkid t;
	struct fwd_ans f;
	char ip[INET_ADDRSTRLEN];
	int acc = 0;
	socklen_t alen = sizeof(acc);
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	kid_forward(&t, "localhost", 0, &f);
	ck_assert_int_eq(f.ok, 1);
	ck_assert(id_is_valid(f.id, "ep"));
	ck_assert_str_eq(f.host, "127.0.0.1");
	ck_assert_uint_ge(f.port, PORT_LOW);
	ck_assert_uint_le(f.port, PORT_HIGH);
	ck_assert_str_eq(f.address_id, "");
	ck_assert_str_eq(f.edge_id, "");
	/* The listener is handed over, bound where the answer says. */
	ck_assert_int_ne(f.fd, -1);
	ck_assert_int_eq(getsockopt(f.fd, SOL_SOCKET, SO_ACCEPTCONN, &acc,
	                     &alen),
	    0);
	ck_assert_int_eq(acc, 1);
	ck_assert_int_eq(getsockname(f.fd, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_eq(sin.sin_family, AF_INET);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip)),
	    "127.0.0.1");
	ck_assert_uint_eq(ntohs(sin.sin_port), f.port);
	ck_assert(endpoint_live(f.id));
	fwd_ans_free(&f);
	free(sid);
}
END_TEST

START_TEST(test_forward_reserved)
{
	struct tkid t;
	struct fwd_ans f;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	/* bob's address: refused, nothing bound. */
	kid_forward(&t, "127.0.0.1", bob_port, &f);
	ck_assert_int_eq(f.ok, 0);
	ck_assert_str_eq(f.code, "not_reserved");
	ck_assert_ptr_nonnull(strstr(f.reason, "not an address reserved"));
	fwd_ans_free(&f);
	/* Its own: granted (the control). */
	kid_forward(&t, "127.0.0.1", alice_port, &f);
	ck_assert_int_eq(f.ok, 1);
	ck_assert_uint_eq(f.port, alice_port);
	ck_assert_str_ne(f.address_id, "");
	ck_assert_int_ne(f.fd, -1);
	fwd_ans_free(&f);
	assert_not_violated(&t);
	free(sid);
}
END_TEST

START_TEST(test_forward_edge_not_backend)
{
	struct tkid t;
	struct fwd_ans f;
	char *sid;
	int fd;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, bob_token);
	kid_forward(&t, "127.0.0.1", edge_port, &f);
	ck_assert_int_eq(f.ok, 0);
	ck_assert_str_eq(f.code, "not_reserved");
	ck_assert_ptr_nonnull(strstr(f.reason, "not one of its backends"));
	fwd_ans_free(&f);
	/* And the monitor opened no listener for the edge. */
	ck_assert_int_eq(net_listen("127.0.0.1", edge_port, 1, &fd), 0);
	close(fd);
	assert_not_violated(&t);
	free(sid);
}
END_TEST

START_TEST(test_metadata_control_chars)
{
	struct tkid t;
	struct ipc_msg m;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_METADATA);
	ipc_put_str(&m, "fine");
	kid_send(&t, &m);
	assert_not_violated(&t);
	ipc_msg_init(&m, MON_METADATA);
	ipc_put_str(&m, "esc \033[2J");
	kid_send(&t, &m);
	assert_violated(&t);
	ipc_msg_free(&m);
	free(sid);
}
END_TEST

/* Edges */

/* Two members of the edge (alice's sessions, with pids), both ready. */
struct edge_world {
	struct tkid a, b;
	struct fwd_ans fa, fb;
	int client; /* connected to the edge's port */
	uint16_t client_port;
	struct tkid *holder, *other; /* who was handed the connection */
	struct fwd_ans *fh, *fo;
	uint64_t cid;
	int fd; /* the handed connection, as the holder got it */
	ino_t ino;
};

static void
edge_conn_read(struct tkid *t, const char *want_ep, uint64_t *cidp, int *fdp,
    uint16_t want_port)
{
	struct sockaddr_storage peer;
	struct ipc_msg r;
	char *epid;

	memset(&r, 0, sizeof(r));
	kid_recv(t, &r, fdp);
	ck_assert_uint_eq(r.type, MON_EDGE_CONN);
	*cidp = ipc_get_u64(&r);
	epid = ipc_get_str(&r, MON_ID_MAX);
	ipc_get_addr(&r, &peer);
	ck_assert(ipc_ok(&r, 1));
	ck_assert_str_eq(epid, want_ep);
	ck_assert_int_eq(peer.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&peer)->sin_port),
	    want_port);
	ck_assert_int_ne(*fdp, -1);
	free(epid);
	ipc_msg_free(&r);
}

static void
edge_start(struct edge_world *w)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct ipc_msg m;
	struct stat sb;
	char *s1, *s2;

	memset(w, 0, sizeof(*w));
	kid_new(&w->a, "127.0.0.2");
	kid_new(&w->b, "127.0.0.3");
	mon_kid_set_pid(mon, w->a.k, dummy_pid(), -1);
	mon_kid_set_pid(mon, w->b.k, dummy_pid(), -1);
	s1 = kid_login(&w->a, NULL);
	s2 = kid_login(&w->b, alice_token);
	kid_forward(&w->a, "127.0.0.1", edge_port, &w->fa);
	kid_forward(&w->b, "127.0.0.1", edge_port, &w->fb);
	ck_assert_int_eq(w->fa.ok, 1);
	ck_assert_int_eq(w->fb.ok, 1);
	/* An edge's listener stays with the monitor. */
	ck_assert_int_eq(w->fa.fd, -1);
	ck_assert_int_eq(w->fb.fd, -1);
	ck_assert_str_eq(w->fa.edge_id, edge_id);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_EDGE_READY);
	ipc_put_str(&m, w->fa.id);
	kid_send(&w->a, &m);
	ipc_msg_init(&m, MON_EDGE_READY);
	ipc_put_str(&m, w->fb.id);
	kid_send(&w->b, &m);

	w->client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(w->client, -1);
	socks[nsocks++] = w->client;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(edge_port);
	ck_assert_int_eq(connect(w->client, (struct sockaddr *)&sin,
	                     sizeof(sin)),
	    0);
	ck_assert_int_eq(getsockname(w->client, (struct sockaddr *)&sin, &len),
	    0);

	/* The monitor accepts it and hands it to one member. */
	w->holder = pump2(&w->a, &w->b);
	w->other = w->holder == &w->a ? &w->b : &w->a;
	w->fh = w->holder == &w->a ? &w->fa : &w->fb;
	w->fo = w->holder == &w->a ? &w->fb : &w->fa;
	w->client_port = ntohs(sin.sin_port);
	edge_conn_read(w->holder, w->fh->id, &w->cid, &w->fd, w->client_port);
	ck_assert(kid_quiet(w->other));
	ck_assert_int_eq(fstat(w->fd, &sb), 0);
	w->ino = sb.st_ino;
	ipc_msg_free(&m);
	free(s1);
	free(s2);
}

static void
edge_end(struct edge_world *w)
{
	fwd_ans_free(&w->fa);
	fwd_ans_free(&w->fb);
	if (w->fd != -1)
		close(w->fd);
}

/* Send MON_EDGE_RETURN of connection <cid> with <fd> from <t>. */
static void
edge_return(struct tkid *t, uint64_t cid, int fd)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_EDGE_RETURN);
	ipc_put_u64(&m, cid);
	kid_sendv(t, &m, &fd, 1);
	ipc_msg_free(&m);
}

/*
 * A RETURN from the member that was not handed the connection, or of
 * an id never handed: the descriptor is closed, nobody is punished,
 * and the handed record stays: the right member's RETURN still works.
 */
START_TEST(test_edge_return_not_taken)
{
	struct edge_world w;
	struct stat sb;
	uint64_t cid;
	int p[2], fd;

	edge_start(&w);
	nbpipe(p);
	edge_return(w.other, w.cid, p[1]);
	close(p[1]);
	ck_assert(pipe_writers_gone(p[0]));
	close(p[0]);
	assert_not_violated(w.other);
	/* An id nobody was handed, from the holder. */
	nbpipe(p);
	edge_return(w.holder, w.cid + 1000, p[1]);
	close(p[1]);
	ck_assert(pipe_writers_gone(p[0]));
	close(p[0]);
	assert_not_violated(w.holder);

	/* The record is intact: the holder's RETURN goes to the other. */
	edge_return(w.holder, w.cid, w.fd);
	close(w.fd);
	w.fd = -1;
	assert_not_violated(w.holder);
	edge_conn_read(w.other, w.fo->id, &cid, &fd, w.client_port);
	ck_assert(cid != w.cid);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert(sb.st_ino == w.ino);
	close(fd);
	edge_end(&w);
}
END_TEST

START_TEST(test_edge_return_wrong_socket)
{
	struct edge_world w;
	int x[2];
	char c;

	edge_start(&w);
	/* A socket of its own instead of the one it was handed. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x),
	    0);
	edge_return(w.holder, w.cid, x[0]);
	close(x[0]);
	assert_violated(w.holder);
	ck_assert_int_eq(read(x[1], &c, 1), 0); /* the monitor's copy too */
	close(x[1]);
	ck_assert(kid_quiet(w.other));
	edge_end(&w);
}
END_TEST

START_TEST(test_edge_return_ok)
{
	struct edge_world w;
	struct stat sb;
	uint64_t cid;
	char buf[8];
	int fd;

	edge_start(&w);
	edge_return(w.holder, w.cid, w.fd);
	close(w.fd);
	w.fd = -1;
	assert_not_violated(w.holder);
	edge_conn_read(w.other, w.fo->id, &cid, &fd, w.client_port);
	ck_assert(cid != w.cid);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert(sb.st_ino == w.ino);
	/* The very connection: what the client writes arrives. */
	ck_assert_int_eq(write(w.client, "ping", 4), 4);
	ck_assert_int_eq(net_set_nonblock(fd, 0), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	close(fd);
	edge_end(&w);
}
END_TEST

/*
 * The only member cancels its edge endpoint while a client connects to
 * the edge: one epoll batch then holds the member's message and the
 * edge's listener, in that order. The cancel closes the edge's group;
 * its listener's event, already returned, must not be acted on.
 */
START_TEST(test_edge_cancel_with_connection)
{
	struct sockaddr_in sin;
	struct tkid t;
	struct fwd_ans f;
	struct ipc_msg m, r;
	char *sid, *epid;
	int client, fd;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	kid_forward(&t, "127.0.0.1", edge_port, &f);
	ck_assert_int_eq(f.ok, 1);
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	ipc_msg_init(&m, MON_EDGE_READY);
	ipc_put_str(&m, f.id);
	kid_send(&t, &m);
	assert_not_violated(&t);

	/* The cancel waits on the control socket, then the client comes. */
	ipc_msg_init(&m, MON_CANCEL);
	ipc_put_str(&m, f.id);
	ck_assert_int_eq(ipc_send(t.s, &m, NULL, 0), 0);
	client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(client, -1);
	socks[nsocks++] = client;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(edge_port);
	ck_assert_int_eq(connect(client, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	mon_run(mon);
	mon_run(mon);

	/* Told it left; the edge's port is closed; nobody was punished. */
	kid_recv(&t, &r, NULL);
	ck_assert_uint_eq(r.type, MON_EDGE_LEFT);
	epid = ipc_get_str(&r, MON_ID_MAX);
	ck_assert_str_eq(epid, f.id);
	ck_assert(!endpoint_live(f.id));
	assert_not_violated(&t);
	ck_assert_int_eq(net_listen("127.0.0.1", edge_port, 1, &fd), 0);
	close(fd);
	free(epid);
	fwd_ans_free(&f);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
	free(sid);
}
END_TEST

/*
 * Flow control: a member whose control socket is full gets no more
 * connections; they wait in the kernel's backlog, not as descriptors
 * in the monitor's queue, and reach it in order once it reads.
 */
START_TEST(test_edge_member_full)
{
	enum { NCLIENTS = 40 };
	struct sockaddr_in sin;
	struct tkid t;
	struct fwd_ans f;
	struct ipc_msg m, r;
	int sz = 1, before, got = 0, fd, i, sv[2];
	uint64_t cid, last = 0;
	char *sid;

	/* The monitor's end sends little at a time. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	                     sv),
	    0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	                     sizeof(sz)),
	    0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000002);
	t.k = mon_kid_add(mon, sv[0], (struct sockaddr *)&sin, NULL);
	t.s = sv[1];
	socks[nsocks++] = t.s;
	sid = kid_login(&t, NULL);
	kid_forward(&t, "127.0.0.1", edge_port, &f);
	ck_assert_int_eq(f.ok, 1);
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	ipc_msg_init(&m, MON_EDGE_READY);
	ipc_put_str(&m, f.id);
	kid_send(&t, &m);

	before = count_fds();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(edge_port);
	for (i = 0; i < NCLIENTS; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ne(fd, -1);
		ck_assert_uint_lt(nsocks, sizeof(socks) / sizeof(socks[0]));
		socks[nsocks++] = fd;
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin,
		                     sizeof(sin)),
		    0);
		mon_run(mon);
	}
	mon_run(mon);
	/* The clients, and at most one connection waiting in the queue. */
	ck_assert_int_le(count_fds(), before + NCLIENTS + 1);

	/* As the member reads, the rest come, in order, none lost. */
	while (got < NCLIENTS) {
		pump(&t);
		while (kid_readable(&t)) {
			kid_recv(&t, &r, &fd);
			ck_assert_uint_eq(r.type, MON_EDGE_CONN);
			cid = ipc_get_u64(&r);
			ck_assert(cid > last);
			last = cid;
			close(fd);
			got++;
			ipc_msg_init(&m, MON_EDGE_GOT);
			ipc_put_str(&m, f.id);
			ipc_put_u32(&m, 1);
			ck_assert_int_eq(ipc_send(t.s, &m, NULL, 0), 0);
		}
	}
	ck_assert_int_eq(got, NCLIENTS);
	assert_not_violated(&t);
	fwd_ans_free(&f);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
	free(sid);
}
END_TEST

/* A session process's end */

/*
 * What a session process left on its socket is read when it has
 * exited; a violation found there is logged, but nobody is signalled:
 * its pid may be another process's by now. (The witness shows the
 * test itself is sound: it is alive before, and killed by a violation
 * of a process that has not exited.)
 */
START_TEST(test_exited_not_signalled)
{
	struct mon_kid_info info;
	struct tkid t, u;
	int rfd, rfd2;
	pid_t pid, pid2;

	kid_new(&t, "127.0.0.2");
	pid = witness_pid(&rfd);
	mon_kid_set_pid(mon, t.k, pid, -1);
	/* Its last words: no message at all. */
	ck_assert_int_eq(send(t.s, "\0\0\1", 3, MSG_NOSIGNAL), 3);
	mon_kid_exited(mon, t.k, 0);
	ck_assert_ptr_nonnull(strstr(log_capture(), "malformed datagram"));
	ck_assert(witness_alive(pid, rfd));
	close(rfd);

	/* The control: a live process that does the same is killed. */
	kid_new(&u, "127.0.0.3");
	pid2 = witness_pid(&rfd2);
	mon_kid_set_pid(mon, u.k, pid2, -1);
	kid_send_raw(&u, "\0\0\1", 3);
	mon_kid_info(u.k, &info);
	ck_assert_int_eq(info.violated, 1);
	ck_assert(!witness_alive(pid2, rfd2));
	close(rfd2);
}
END_TEST

/* Re-reading a session's settings (MON_CHECK, then the timer) */

/* Ask for a check from <t> and read what the monitor then says. */
static void
check_and_read(struct tkid *t, struct ipc_msg *r)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CHECK);
	kid_send(t, &m);
	pump(t);
	kid_recv(t, r, NULL);
	ipc_msg_free(&m);
}

/* MON_END whose message holds <why>. */
static void
assert_end(struct tkid *t, const char *why)
{
	struct ipc_msg r;
	char *code, *msg;

	memset(&r, 0, sizeof(r));
	check_and_read(t, &r);
	ck_assert_uint_eq(r.type, MON_END);
	ck_assert_uint_eq(ipc_get_u32(&r), 1);
	code = ipc_get_str(&r, 64);
	msg = ipc_get_str(&r, 1024);
	ck_assert(ipc_ok(&r, 1));
	ck_assert_str_eq(code, "session_ended");
	ck_assert_msg(strstr(msg, why) != NULL, "message: %s", msg);
	free(code);
	free(msg);
	ipc_msg_free(&r);
}

START_TEST(test_check_session_kill)
{
	struct tkid t;
	int64_t pid = -1;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	ck_assert_int_eq(store_session_kill(st, sid, "killed by the test",
	                     misc_now_ms(), &pid),
	    0);
	ck_assert_int_eq(pid, 0);
	assert_end(&t, "killed by the test");
	free(sid);
}
END_TEST

START_TEST(test_check_account_disable)
{
	struct tkid t;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	ck_assert_int_eq(store_account_set_disabled(st, alice_id, 1,
	                     misc_now_ms(), NULL, NULL),
	    0);
	assert_end(&t, "account disabled");
	free(sid);
}
END_TEST

START_TEST(test_check_token_revoke)
{
	struct tkid t;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, alice_token);
	ck_assert_int_eq(store_token_revoke(st, alice_token_id, misc_now_ms(),
	                     NULL, NULL),
	    0);
	assert_end(&t, "token revoked");
	free(sid);
}
END_TEST

/* A MON_LIMITS as read. */
struct limits_ans {
	uint64_t bw, idle_ms, left, seen;
	uint32_t rate, per_source;
	uint8_t quota;
};

static void
limits_read(struct ipc_msg *r, struct limits_ans *l)
{
	ck_assert_uint_eq(r->type, MON_LIMITS);
	l->bw = ipc_get_u64(r);
	l->rate = ipc_get_u32(r);
	l->per_source = ipc_get_u32(r);
	l->idle_ms = ipc_get_u64(r);
	l->quota = ipc_get_u8(r);
	l->left = ipc_get_u64(r);
	l->seen = ipc_get_u64(r);
	ck_assert(ipc_ok(r, 1));
}

/* Set <id>'s limits (STORE_KEEP: keep, -1: default, 0: none). */
static void
set_traffic(const char *id, int64_t bw, int64_t qbytes, int64_t qperiod,
    int64_t rate, int64_t per_source, int64_t idle)
{
	struct store_account t;

	memset(&t, 0, sizeof(t));
	t.bandwidth_limit = bw;
	t.quota_bytes = qbytes;
	t.quota_period_s = qperiod;
	t.connection_rate = rate;
	t.connections_per_source = per_source;
	t.idle_timeout_s = idle;
	ck_assert_int_eq(store_account_set_traffic(st, id, &t), 0);
}

/*
 * An account's own limits beat the server's defaults; where it has
 * none of its own (NULL), the defaults apply; its 0 is none even with
 * a default. Sent right after the login answer, with what is left of
 * the quota as usage_hours counts it.
 */
START_TEST(test_limits_login)
{
	struct store_usage u;
	struct limits_ans l;
	struct ipc_msg r;
	struct tkid t, v;
	char *sid, *sid2;

	conf->bandwidth_limit = 1000000;
	conf->connection_rate_limit = 60;
	conf->max_connections_per_source = 9;
	conf->connection_idle_timeout = 300;
	conf->transfer_quota = 1 << 30;
	conf->transfer_quota_period = 86400;
	set_traffic(alice_id, 5000, 100000, 3600, 7, 0, -1);
	memset(&u, 0, sizeof(u));
	u.account_id = alice_id;
	u.hostport = (char *)"127.0.0.1:1";
	u.hour_ms = misc_now_ms();
	u.bytes_in = 30000;
	u.bytes_out = 10000;
	ck_assert_int_eq(store_usage_add(st, &u, 1), 0);

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	memset(&r, 0, sizeof(r));
	kid_recv(&t, &r, NULL);
	limits_read(&r, &l);
	ck_assert_uint_eq(l.bw, 5000);
	ck_assert_uint_eq(l.rate, 7);
	ck_assert_uint_eq(l.per_source, 0); /* its own 0: none */
	ck_assert_uint_eq(l.idle_ms, 300000); /* the default */
	ck_assert_uint_eq(l.quota, 1);
	ck_assert_uint_eq(l.left, 60000);
	ck_assert_uint_eq(l.seen, 0);
	ipc_msg_free(&r);
	ck_assert(kid_quiet(&t));

	/* bob has none of his own: the defaults. */
	kid_new(&v, "127.0.0.3");
	sid2 = kid_login(&v, bob_token);
	memset(&r, 0, sizeof(r));
	kid_recv(&v, &r, NULL);
	limits_read(&r, &l);
	ck_assert_uint_eq(l.bw, 1000000);
	ck_assert_uint_eq(l.rate, 60);
	ck_assert_uint_eq(l.per_source, 9);
	ck_assert_uint_eq(l.idle_ms, 300000);
	ck_assert_uint_eq(l.quota, 1);
	ck_assert_uint_eq(l.left, 1 << 30);
	ipc_msg_free(&r);
	free(sid);
	free(sid2);
}
END_TEST

/* A used-up quota says 0 left; no limits at all, no message. */
START_TEST(test_limits_quota_used)
{
	struct store_usage u;
	struct limits_ans l;
	struct ipc_msg r;
	struct tkid t, v;
	char *sid, *sid2;

	set_traffic(alice_id, STORE_KEEP, 1000, 86400, STORE_KEEP, STORE_KEEP,
	    STORE_KEEP);
	memset(&u, 0, sizeof(u));
	u.account_id = alice_id;
	u.hostport = (char *)"127.0.0.1:1";
	u.hour_ms = misc_now_ms();
	u.bytes_out = 5000;
	ck_assert_int_eq(store_usage_add(st, &u, 1), 0);
	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	memset(&r, 0, sizeof(r));
	kid_recv(&t, &r, NULL);
	limits_read(&r, &l);
	ck_assert_uint_eq(l.quota, 1);
	ck_assert_uint_eq(l.left, 0);
	ck_assert_uint_eq(l.bw, 0);
	ipc_msg_free(&r);

	kid_new(&v, "127.0.0.3");
	sid2 = kid_login(&v, bob_token);
	ck_assert(kid_quiet(&v));
	free(sid);
	free(sid2);
}
END_TEST

/* A change is sent at the next check; no change, nothing. */
START_TEST(test_check_limits)
{
	struct limits_ans l;
	struct ipc_msg r;
	struct tkid t;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	ck_assert(kid_quiet(&t));
	set_traffic(alice_id, 2048, STORE_KEEP, STORE_KEEP, STORE_KEEP,
	    STORE_KEEP, STORE_KEEP);
	memset(&r, 0, sizeof(r));
	check_and_read(&t, &r);
	limits_read(&r, &l);
	ck_assert_uint_eq(l.bw, 2048);
	ck_assert_uint_eq(l.quota, 0);
	ipc_msg_free(&r);
	free(sid);
}
END_TEST

START_TEST(test_check_policy)
{
	struct store_ip_policy *p = NULL;
	struct sockaddr_in in, out;
	struct ipc_msg r;
	struct acl *acl = NULL;
	struct tkid t;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	ck_assert_int_eq(store_ip_policy_add(st, "office", NULL, misc_now_ms(),
	                     &p),
	    0);
	ck_assert_int_eq(store_ip_policy_rule_add(st, p->id, 1, "10.0.0.0/8",
	                     misc_now_ms()),
	    0);
	ck_assert_int_eq(store_account_set_ip_policy(st, alice_id, p->id), 0);
	memset(&r, 0, sizeof(r));
	check_and_read(&t, &r);
	ck_assert_uint_eq(r.type, MON_ACCOUNT_POLICY);
	ck_assert_int_eq(mon_get_acl(&r, &acl), 0);
	ck_assert(ipc_ok(&r, 1));
	ck_assert_ptr_nonnull(acl);
	ck_assert_str_eq(acl_name(acl), "office");
	ck_assert_uint_eq(acl_count(acl, 1), 1);
	ck_assert_uint_eq(acl_count(acl, 0), 0);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(0x0a010203);
	out = in;
	out.sin_addr.s_addr = htonl(0xc0000201);
	ck_assert_int_eq(acl_check(acl, (struct sockaddr *)&in, NULL),
	    ACL_ALLOW);
	ck_assert_int_eq(acl_check(acl, (struct sockaddr *)&out, NULL),
	    ACL_DENY_UNLISTED);
	assert_not_violated(&t);
	acl_free(acl);
	store_ip_policy_free(p);
	ipc_msg_free(&r);
	free(sid);
}
END_TEST

/* MON_CHECK is a request like the others: it must be well formed. */
START_TEST(test_check_malformed)
{
	struct tkid t;
	struct ipc_msg m;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CHECK);
	ipc_put_u8(&m, 0);
	kid_send(&t, &m);
	assert_violated(&t);
	ipc_msg_free(&m);
	free(sid);
}
END_TEST

/*
 * The monitor's own re-reading, apart from the store's ending of rows:
 * the change is made by another connection to the database that leaves
 * the session row live, as an older portholectl, a race or an
 * administrator with sqlite3 would.
 */
static void
raw_sql(const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE,
	                     NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_DONE);
	ck_assert_int_eq(sqlite3_changes(db), 1);
	sqlite3_finalize(stmt);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

/* The session row of <sid> is still live. */
static void
assert_row_live(const char *sid)
{
	struct store_session *row = NULL;

	ck_assert_int_eq(store_session_get(st, sid, &row), 0);
	ck_assert_int_eq(row->ended_ms, 0);
	store_session_free(row);
}

START_TEST(test_recheck_account_disabled)
{
	struct tkid t;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	raw_sql("UPDATE accounts SET disabled = 1 WHERE id = ?", alice_id);
	assert_row_live(sid);
	assert_end(&t, "account disabled");
	free(sid);
}
END_TEST

START_TEST(test_recheck_token_revoked)
{
	struct tkid t;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, alice_token);
	raw_sql("UPDATE tokens SET revoked_ms = 1 WHERE id = ?",
	    alice_token_id);
	assert_row_live(sid);
	assert_end(&t, "token revoked");
	free(sid);
}
END_TEST

START_TEST(test_recheck_key_deleted)
{
	struct tkid t;
	char *sid;

	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	raw_sql("DELETE FROM keys WHERE fingerprint = ?", fp_reg);
	assert_row_live(sid);
	assert_end(&t, "key deleted");
	free(sid);
}
END_TEST

/*
 * Change notification on PostgreSQL: a change announced by another
 * connection (portholectl, on any machine) reaches the session at once,
 * long before its periodic re-check (10 s after login); after the
 * listener's connection is lost the monitor connects again, listens
 * again and re-checks everything, missing nothing.
 */

/* Read <t>'s MON_END, whose message holds <why>. */
static void
read_end(struct tkid *t, const char *why)
{
	struct ipc_msg r;
	char *code, *msg;

	memset(&r, 0, sizeof(r));
	kid_recv(t, &r, NULL);
	ck_assert_uint_eq(r.type, MON_END);
	ck_assert_uint_eq(ipc_get_u32(&r), 1);
	code = ipc_get_str(&r, 64);
	msg = ipc_get_str(&r, 1024);
	ck_assert(ipc_ok(&r, 1));
	ck_assert_str_eq(code, "session_ended");
	ck_assert_msg(strstr(msg, why) != NULL, "message: %s", msg);
	free(code);
	free(msg);
	ipc_msg_free(&r);
}

START_TEST(test_notify_pg)
{
	struct store *st2 = NULL;
	struct db *db = NULL;
	struct tkid t, u;
	char errbuf[256], *sid;
	int64_t pid = 0, t0;

	ck_assert_msg(store_open(dbpath, &st2, errbuf, sizeof(errbuf)) == 0,
	    "%s", errbuf);
	kid_new(&t, "127.0.0.2");
	sid = kid_login(&t, NULL);
	t0 = misc_monotonic_ms();
	ck_assert_int_eq(store_session_kill(st2, sid, "killed elsewhere",
	                     misc_now_ms(), &pid),
	    0);
	ck_assert_int_eq(store_notify_change(st2), 0);
	pump(&t);
	ck_assert_int_lt(misc_monotonic_ms() - t0, 5000);
	read_end(&t, "killed elsewhere");
	ck_assert_ptr_nonnull(strstr(log_capture(), "change notified: 1 "));
	free(sid);

	/* The listener's connection is cut; a change meanwhile is not lost. */
	kid_new(&u, "127.0.0.3");
	sid = kid_login(&u, NULL);
	ck_assert_msg(db_open(dbpath, &db, errbuf, sizeof(errbuf)) == 0, "%s",
	    errbuf);
	ck_assert_int_eq(db_exec(db,
	                     "SELECT pg_terminate_backend(pid)"
	                     " FROM pg_stat_activity"
	                     " WHERE query = 'LISTEN \"porthole_changes\"'"),
	    0);
	db_close(db);
	ck_assert_int_eq(store_session_kill(st2, sid, "killed meanwhile",
	                     misc_now_ms(), &pid),
	    0);
	t0 = misc_monotonic_ms();
	pump(&u);
	ck_assert_int_lt(misc_monotonic_ms() - t0, 5000);
	read_end(&u, "killed meanwhile");
	ck_assert_ptr_nonnull(strstr(log_capture(), "listening again"));
	ck_assert_ptr_nonnull(
	    strstr(log_capture(), "change notifications back: "));
	free(sid);
	store_free(st2);
}
END_TEST

/* mon_get_acl */

START_TEST(test_get_acl)
{
	struct ipc_msg m;
	struct acl *acl = (struct acl *)&m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_ACCOUNT_POLICY);
	ipc_put_u8(&m, 0);
	ck_assert_int_eq(mon_get_acl(&m, &acl), 0);
	ck_assert_ptr_null(acl);
	ck_assert(ipc_ok(&m, 1));

	ipc_msg_init(&m, MON_ACCOUNT_POLICY);
	ipc_put_u8(&m, 1);
	ipc_put_str(&m, "p");
	ipc_put_u32(&m, 2);
	ipc_put_u8(&m, 1);
	ipc_put_str(&m, "10.0.0.0/8");
	ipc_put_u8(&m, 0);
	ipc_put_str(&m, "2001:db8::/32");
	ck_assert_int_eq(mon_get_acl(&m, &acl), 0);
	ck_assert(ipc_ok(&m, 1));
	ck_assert_ptr_nonnull(acl);
	ck_assert_str_eq(acl_name(acl), "p");
	ck_assert_uint_eq(acl_count(acl, 1), 1);
	ck_assert_uint_eq(acl_count(acl, 0), 1);
	acl_free(acl);
	ipc_msg_free(&m);
}
END_TEST

enum bad_acl {
	BAD_ACL_EMPTY,
	BAD_ACL_NO_NAME,
	BAD_ACL_LONG_NAME,
	BAD_ACL_NO_COUNT,
	BAD_ACL_HUGE_COUNT,
	BAD_ACL_MISSING_RULE,
	BAD_ACL_BAD_CIDR,
	BAD_ACL_LONG_CIDR,
	BAD_ACL_NUL_CIDR,
	BAD_ACL_NO_CIDR,
	BAD_ACL_MAX
};

START_TEST(test_get_acl_malformed)
{
	struct ipc_msg m;
	struct acl *acl = (struct acl *)&m;
	char *s;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_ACCOUNT_POLICY);
	if (_i != BAD_ACL_EMPTY)
		ipc_put_u8(&m, 1);
	switch ((enum bad_acl)_i) {
	case BAD_ACL_EMPTY:
	case BAD_ACL_NO_NAME:
		break;
	case BAD_ACL_LONG_NAME:
		s = repeat('n', 129);
		ipc_put_str(&m, s);
		ipc_put_u32(&m, 0);
		free(s);
		break;
	case BAD_ACL_NO_COUNT:
		ipc_put_str(&m, "p");
		break;
	case BAD_ACL_HUGE_COUNT:
		ipc_put_str(&m, "p");
		ipc_put_u32(&m, 100001);
		break;
	case BAD_ACL_MISSING_RULE:
		ipc_put_str(&m, "p");
		ipc_put_u32(&m, 2);
		ipc_put_u8(&m, 1);
		ipc_put_str(&m, "10.0.0.0/8");
		break;
	case BAD_ACL_BAD_CIDR:
		ipc_put_str(&m, "p");
		ipc_put_u32(&m, 1);
		ipc_put_u8(&m, 1);
		ipc_put_str(&m, "10.0.0.0/33");
		break;
	case BAD_ACL_LONG_CIDR:
		s = repeat('1', 65);
		ipc_put_str(&m, "p");
		ipc_put_u32(&m, 1);
		ipc_put_u8(&m, 0);
		ipc_put_str(&m, s);
		free(s);
		break;
	case BAD_ACL_NUL_CIDR:
		ipc_put_str(&m, "p");
		ipc_put_u32(&m, 1);
		ipc_put_u8(&m, 0);
		ipc_put_u32(&m, 5);
		ipc_put_raw(&m, "10.\0/", 5);
		break;
	case BAD_ACL_NO_CIDR:
		ipc_put_str(&m, "p");
		ipc_put_u32(&m, 1);
		ipc_put_u8(&m, 0);
		break;
	default:
		ck_abort();
	}
	ck_assert_int_eq(mon_get_acl(&m, &acl), -1);
	ck_assert_ptr_null(acl);
	ck_assert(!ipc_ok(&m, 0));
	ipc_msg_free(&m);
}
END_TEST

/* Pooling and takeover (tcp --pooling, tcp --force) */

/* Send MON_OPTIONS (<pooling>, <force>) from <t>. */
static void
kid_options(struct tkid *t, int pooling, int force)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_OPTIONS);
	ipc_put_u8(&m, (uint8_t)pooling);
	ipc_put_u8(&m, (uint8_t)force);
	kid_send(t, &m);
	ipc_msg_free(&m);
}

/*
 * Read <t>'s next message: of <type>, about endpoint <epid>; its
 * descriptor into *fdp (NULL: none allowed), a MON_ENDPOINT_STOP's
 * reason must hold <why>.
 */
static void
read_ep_msg(struct tkid *t, uint32_t type, const char *epid, int *fdp,
    const char *why)
{
	struct ipc_msg r;
	char *id, *reason;

	memset(&r, 0, sizeof(r));
	kid_recv(t, &r, fdp);
	ck_assert_uint_eq(r.type, type);
	id = ipc_get_str(&r, MON_ID_MAX);
	ck_assert_str_eq(id, epid);
	if (type == MON_ENDPOINT_STOP) {
		reason = ipc_get_str(&r, 1024);
		ck_assert_msg(strstr(reason, why) != NULL, "reason: %s",
		    reason);
		free(reason);
	}
	ck_assert(ipc_ok(&r, 1));
	free(id);
	ipc_msg_free(&r);
}

/* Connect to 127.0.0.1:<port>; the client's port into *portp. */
static int
client_connect(uint16_t port, uint16_t *portp)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	socks[nsocks++] = fd;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*portp = ntohs(sin.sin_port);
	return fd;
}

/* Ready member <t> of a group with endpoint <epid>. */
static void
kid_ready(struct tkid *t, const char *epid)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_EDGE_READY);
	ipc_put_str(&m, epid);
	kid_send(t, &m);
	ipc_msg_free(&m);
}

/* The inode of socket <fd>. */
static ino_t
sock_ino(int fd)
{
	struct stat sb;

	ck_assert_int_eq(fstat(fd, &sb), 0);
	return sb.st_ino;
}

/*
 * Two --pooling sessions of alice: the first serves the address alone,
 * the second's forward is held until its options come, then both are
 * members of the pool, which the monitor serves from the first one's
 * listener; a third without --pooling is refused, naming --pooling.
 */
START_TEST(test_pool_two)
{
	struct tkid a, b, c, *holder;
	struct fwd_ans fa, fb, fc;
	uint64_t cid;
	uint16_t cport;
	int fd, cfd;
	char *s1, *s2, *s3;

	kid_new(&a, "127.0.0.2");
	kid_new(&b, "127.0.0.3");
	kid_new(&c, "127.0.0.4");
	mon_kid_set_pid(mon, a.k, dummy_pid(), -1);
	mon_kid_set_pid(mon, b.k, dummy_pid(), -1);
	mon_kid_set_pid(mon, c.k, dummy_pid(), -1);
	s1 = kid_login(&a, NULL);
	s2 = kid_login(&b, alice_token);
	s3 = kid_login(&c, alice_token);
	kid_forward(&a, "127.0.0.1", alice_port, &fa);
	ck_assert_int_eq(fa.ok, 1);
	ck_assert_int_eq(fa.how, 0);
	ck_assert_int_ne(fa.fd, -1);
	kid_options(&a, 1, 0);
	ck_assert(kid_quiet(&a));
	/* Asked before its options: held. */
	kid_forward(&b, "127.0.0.1", alice_port, &fb);
	ck_assert_int_eq(fb.ok, 1);
	ck_assert_int_eq(fb.how, 2);
	ck_assert_int_eq(fb.fd, -1);
	ck_assert(!endpoint_live(fb.id));
	ck_assert(kid_quiet(&a));
	kid_options(&b, 1, 0);
	/* Both are members now; the first one's listener is the pool's. */
	read_ep_msg(&a, MON_ENDPOINT_POOL, fa.id, NULL, NULL);
	read_ep_msg(&b, MON_ENDPOINT_POOL, fb.id, NULL, NULL);
	ck_assert(endpoint_live(fa.id));
	ck_assert(endpoint_live(fb.id));
	close(fa.fd); /* as the session does on MON_ENDPOINT_POOL */
	fa.fd = -1;
	kid_ready(&a, fa.id);
	kid_ready(&b, fb.id);
	cfd = client_connect(alice_port, &cport);
	holder = pump2(&a, &b);
	edge_conn_read(holder, holder == &a ? fa.id : fb.id, &cid, &fd, cport);
	close(fd);
	(void)cfd;
	/* Without --pooling: refused, saying how to share it. */
	kid_forward(&c, "127.0.0.1", alice_port, &fc);
	ck_assert_int_eq(fc.how, 2);
	kid_options(&c, 0, 0);
	read_ep_msg(&c, MON_ENDPOINT_STOP, fc.id, NULL, "tcp --pooling");
	ck_assert(!endpoint_live(fc.id));
	assert_not_violated(&a);
	assert_not_violated(&b);
	assert_not_violated(&c);
	fwd_ans_free(&fa);
	fwd_ans_free(&fb);
	fwd_ans_free(&fc);
	free(s1);
	free(s2);
	free(s3);
}
END_TEST

/*
 * The address's pooling setting: pooled from the first forward, with
 * no options and no hold; the last member leaving closes the port.
 */
START_TEST(test_pool_setting)
{
	struct store_address *a = NULL;
	struct tkid t, u;
	struct fwd_ans f, g;
	struct ipc_msg m;
	char *s1, *s2;
	int fd;

	ck_assert_int_eq(store_address_find(st, "127.0.0.1", alice_port, &a),
	    0);
	ck_assert_int_eq(store_address_set_pooling(st, a->id, 1), 0);
	store_address_free(a);
	kid_new(&t, "127.0.0.2");
	kid_new(&u, "127.0.0.3");
	mon_kid_set_pid(mon, t.k, dummy_pid(), -1);
	mon_kid_set_pid(mon, u.k, dummy_pid(), -1);
	s1 = kid_login(&t, NULL);
	s2 = kid_login(&u, alice_token);
	kid_forward(&t, "127.0.0.1", alice_port, &f);
	kid_forward(&u, "127.0.0.1", alice_port, &g);
	ck_assert_int_eq(f.how, 1);
	ck_assert_int_eq(g.how, 1);
	ck_assert_int_eq(f.fd, -1);
	ck_assert(endpoint_live(f.id) && endpoint_live(g.id));
	/* The port listens while a member is left, and not after. */
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_CANCEL);
	ipc_put_str(&m, f.id);
	kid_send(&t, &m);
	ck_assert_int_ne(net_listen("127.0.0.1", alice_port, 1, &fd), 0);
	ipc_msg_init(&m, MON_CANCEL);
	ipc_put_str(&m, g.id);
	kid_send(&u, &m);
	ck_assert_int_eq(net_listen("127.0.0.1", alice_port, 1, &fd), 0);
	close(fd);
	ipc_msg_free(&m);
	fwd_ans_free(&f);
	fwd_ans_free(&g);
	free(s1);
	free(s2);
}
END_TEST

/*
 * tcp --force: the held forward takes the very listener over at once
 * and the older session is ended, told why; without --force the
 * refusal names it.
 */
START_TEST(test_takeover)
{
	struct tkid a, b, c;
	struct fwd_ans fa, fb, fc;
	char *s1, *s2, *s3;
	int fd;

	kid_new(&a, "127.0.0.2");
	kid_new(&b, "127.0.0.3");
	kid_new(&c, "127.0.0.4");
	mon_kid_set_pid(mon, a.k, dummy_pid(), -1);
	mon_kid_set_pid(mon, b.k, dummy_pid(), -1);
	mon_kid_set_pid(mon, c.k, dummy_pid(), -1);
	s1 = kid_login(&a, NULL);
	s2 = kid_login(&b, alice_token);
	s3 = kid_login(&c, alice_token);
	kid_forward(&a, "127.0.0.1", alice_port, &fa);
	ck_assert_int_eq(fa.how, 0);
	kid_options(&a, 0, 0);
	/* Without --force: refused, naming it. */
	kid_forward(&c, "127.0.0.1", alice_port, &fc);
	ck_assert_int_eq(fc.how, 2);
	kid_options(&c, 0, 0);
	read_ep_msg(&c, MON_ENDPOINT_STOP, fc.id, NULL, "tcp --force");
	ck_assert(kid_quiet(&a));
	/* With it: the listener at once, the old session ended. */
	kid_forward(&b, "127.0.0.1", alice_port, &fb);
	ck_assert_int_eq(fb.how, 2);
	kid_options(&b, 0, 1);
	read_ep_msg(&b, MON_ENDPOINT_LISTENER, fb.id, &fd, NULL);
	ck_assert_int_ne(fd, -1);
	ck_assert_uint_eq(sock_ino(fd), sock_ino(fa.fd));
	close(fd);
	read_end(&a, "taken over by session");
	ck_assert(!endpoint_live(fa.id));
	ck_assert(endpoint_live(fb.id));
	/* Options decided at once when known before the forward. */
	fwd_ans_free(&fc);
	kid_forward(&c, "127.0.0.1", alice_port, &fc);
	ck_assert_int_eq(fc.ok, 0);
	ck_assert_ptr_nonnull(strstr(fc.reason, "tcp --force"));
	assert_not_violated(&b);
	fwd_ans_free(&fa);
	fwd_ans_free(&fb);
	fwd_ans_free(&fc);
	free(s1);
	free(s2);
	free(s3);
}
END_TEST

Suite *
mon_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("mon");

	tc = tcase_create("preauth");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_preauth_request, 0,
	    sizeof(preauth_types) / sizeof(preauth_types[0]));
	tcase_add_test(tc, test_preauth_return);
	tcase_add_test(tc, test_preauth_bye);
	tcase_add_test(tc, test_preauth_short_datagram);
	tcase_add_loop_test(tc, test_unknown_type_preauth, 0,
	    sizeof(unknown_types) / sizeof(unknown_types[0]));
	tcase_add_loop_test(tc, test_unknown_type_authed, 0,
	    sizeof(unknown_types) / sizeof(unknown_types[0]));
	tcase_add_loop_test(tc, test_malformed_auth, 0, BAD_AUTH_MAX);
	suite_add_tcase(s, tc);

	tc = tcase_create("auth");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_key_unregistered);
	tcase_add_test(tc, test_key_probe_login);
	tcase_add_test(tc, test_account_disabled);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_max_auth_tries);
	tcase_add_test(tc, test_anon_denied);
	suite_add_tcase(s, tc);

	tc = tcase_create("anonymous");
	tcase_add_checked_fixture(tc, setup_anon, teardown);
	tcase_add_test(tc, test_anon_allowed);
	suite_add_tcase(s, tc);

	tc = tcase_create("max_sessions");
	tcase_add_checked_fixture(tc, setup_max_sessions, teardown);
	tcase_add_test(tc, test_max_sessions);
	suite_add_tcase(s, tc);

	tc = tcase_create("max_sessions_per_account");
	tcase_add_checked_fixture(tc, setup_max_per_account, teardown);
	tcase_add_test(tc, test_max_sessions_per_account);
	suite_add_tcase(s, tc);

	tc = tcase_create("authed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_fds);
	tcase_add_loop_test(tc, test_stray_fd, 0,
	    sizeof(fd_types) / sizeof(fd_types[0]));
	tcase_add_test(tc, test_conns_own);
	tcase_add_test(tc, test_conns_foreign);
	tcase_add_test(tc, test_stats_foreign);
	tcase_add_test(tc, test_cancel_foreign);
	tcase_add_test(tc, test_forward_random);
	tcase_add_test(tc, test_forward_reserved);
	tcase_add_test(tc, test_forward_edge_not_backend);
	tcase_add_test(tc, test_metadata_control_chars);
	suite_add_tcase(s, tc);

	/* test_edge_member_full passes 40 connections through. */
	tc = tcase_create("edge");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_edge_return_not_taken);
	tcase_add_test(tc, test_edge_return_wrong_socket);
	tcase_add_test(tc, test_edge_return_ok);
	tcase_add_test(tc, test_edge_cancel_with_connection);
	tcase_add_test(tc, test_edge_member_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pool_two);
	tcase_add_test(tc, test_pool_setting);
	tcase_add_test(tc, test_takeover);
	suite_add_tcase(s, tc);

	/* These wait for the monitor's timer: about a second each. */
	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_limits_login);
	tcase_add_test(tc, test_limits_quota_used);
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_check_session_kill);
	tcase_add_test(tc, test_check_account_disable);
	tcase_add_test(tc, test_check_token_revoke);
	tcase_add_test(tc, test_check_policy);
	tcase_add_test(tc, test_check_limits);
	tcase_add_test(tc, test_check_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, setup_pg, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_notify_pg);
	suite_add_tcase(s, tc);

	tc = tcase_create("recheck");
	tcase_add_checked_fixture(tc, setup_file, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_recheck_account_disabled);
	tcase_add_test(tc, test_recheck_token_revoked);
	tcase_add_test(tc, test_recheck_key_deleted);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exited_not_signalled);
	suite_add_tcase(s, tc);

	tc = tcase_create("get_acl");
	tcase_add_test(tc, test_get_acl);
	tcase_add_loop_test(tc, test_get_acl_malformed, 0, BAD_ACL_MAX);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	log_init("check_mon", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	if (pghelp_init() != 0)
		return EXIT_FAILURE;
	sr = srunner_create(mon_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pghelp_done();
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
