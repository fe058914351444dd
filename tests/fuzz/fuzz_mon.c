/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */

/*
 * libFuzzer harness for the monitor (mon.h): what a hostile session
 * process can send on its control socket. Each input builds a monitor
 * over a fresh store (accounts alice, with a key, a token, a reserved
 * address and an edge she is a backend of, and bob, with a token and a
 * reserved address), plays session process A with the fuzzed datagrams
 * and session process B as a well-behaved peer, and runs mon_run()
 * after each step, reading every answer. The store is a copy of one
 * seeded at start-up, in /dev/shm (memory) where there is one: making
 * a new database's schema costs four times what the rest of an input
 * does.
 *
 * The input: one byte of set-up flags, then steps.
 *
 *   flags	bit 0: A logs in with alice's key first; bit 1 (without
 *		bit 0): with alice's token; bit 2: B logs in, joins the
 *		edge and is ready; bit 3: A (logged in) has a random
 *		forward; bit 4: A (logged in) joins the edge and is
 *		ready; bit 5: the second configuration (AllowAnonymous,
 *		MaxSessionsPerAccount 1, MaxEndpointsPerSession 2).
 *   step	one byte <op>; op & 3:
 *		0  a datagram from A: a 2-byte big-endian length, then
 *		   that many bytes (type and payload as on the wire), with
 *		   (op >> 2) & 3 descriptors: the first is the last edge
 *		   connection A was handed, if any, the others sockets of
 *		   nobody's
 *		1  a client connects to the edge's port
 *		2  (op >> 2) & 3: 0 mon_tick, 1 A exits (the next byte is
 *		   its status: bit 7 a signal), 2 mon_shutdown, 3 mon_flush
 *		3  B: (op >> 2) & 3: 0 RETURNs, 1 DONEs its oldest edge
 *		   connection, 2 says GOT, 3 cancels its edge endpoint
 *		With op & 0x10, steps 0 and 1 do not run the monitor: what
 *		they bring waits for the next step's run, in one batch.
 *
 * Randomness is made deterministic (reset for each input), so ids,
 * tokens and connection ids (from 1) are the same on every run and the
 * fuzzer can learn them; the reserved ports are the first free ones
 * from PORT_BASE. The kids' pids are zombie children of this process,
 * which a SIGKILL from the monitor cannot harm.
 *
 * Invariants: no descriptor outlives an input; answers are well typed
 * and carry descriptors only where they belong; a kid is counted as
 * logged in only after it was told so, and the monitor's count of
 * sessions is the number of kids logged in; a kid the monitor found in
 * violation has its socket closed and is told nothing more.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "err.h"
#include "fuzz.h"
#include "id.h"
#include "ipc.h"
#include "log.h"
#include "misc.h"
#include "mon.h"
#include "net.h"
#include "pubkey.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

#define KEY_TYPE "ssh-ed25519"
#define KEY_REG                                                                \
	"AAAAC3NzaC1lZDI1NTE5AAAAIEmdUU4v8Z1PG3BZP34SHwXpdxFw6FaWEE+hjmVThF1B"
#define PORT_BASE   45100 /* reserved and edge ports: the first free */
#define PORT_RANGE  "PortRange 45200-45299"
#define MAX_CLIENTS 8
#define MAX_CONNS   16
#define MAX_STEPS   256

/* What the set-up flags mean. */
#define F_A_KEY    0x01
#define F_A_TOKEN  0x02
#define F_B_EDGE   0x04
#define F_A_RANDOM 0x08
#define F_A_EDGE   0x10
#define F_CONF2    0x20

/* Process-wide, made once. */
static struct conf *confs[2];
static unsigned char tkey[TOKEN_KEY_LEN];
static char alice_token[TOKEN_LEN + 1];
static char dir[PATH_MAX]; /* the store's files */
static char template_path[PATH_MAX + 32], work_path[PATH_MAX + 32];
static unsigned char *template_db; /* the seeded database's bytes */
static size_t template_len;
static uint64_t rng_after_seed;
static uint16_t alice_port, bob_port, edge_port;
static pid_t zombie_a, zombie_b;
static uint64_t rng_counter;
static int trace; /* FUZZ_MON_TRACE set: the answers on stderr */

/* A session process played by the harness. */
struct fkid {
	struct mon_kid *k; /* NULL once it exited */
	int s; /* its end of the control socket, -1 once closed */
	int closed; /* the monitor closed its end */
	int login_seen; /* it was told MON_AUTH_LOGIN */
	int is_b; /* B: keeps every edge connection it is handed */
	char *edge_ep; /* its edge endpoint id, once granted */
	int conn_fd; /* A: the last edge connection it was handed */
	uint64_t conn_ids[MAX_CONNS]; /* B: the connections it holds */
	int conn_fds[MAX_CONNS];
	size_t nconns;
};

/* Deterministic randombytes: a ChaCha20 stream per call, by counter. */
static const char *
rng_name(void)
{
	return "fuzz_mon";
}

static void
rng_buf(void *const buf, const size_t size)
{
	unsigned char seed[randombytes_SEEDBYTES];

	memset(seed, 0, sizeof(seed));
	memcpy(seed, &rng_counter, sizeof(rng_counter));
	rng_counter++;
	randombytes_buf_deterministic(buf, size, seed);
}

static uint32_t
rng_random(void)
{
	uint32_t v;

	rng_buf(&v, sizeof(v));
	return v;
}

static randombytes_implementation rng_impl = {
	rng_name,
	rng_random,
	NULL,
	NULL,
	rng_buf,
	NULL,
};

/* The number of descriptors this process has open. */
static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* The first port from <from> that 127.0.0.1 can listen on now. */
static uint16_t
first_free(uint16_t from)
{
	uint16_t p;
	int fd;

	for (p = from; p < from + 100; p++) {
		if (net_listen("127.0.0.1", p, 1, &fd) == 0) {
			close(fd);
			return p;
		}
	}
	abort();
}

/* A child that exits at once and is never reaped: a harmless pid. */
static pid_t
zombie(void)
{
	pid_t pid = fork();

	if (pid == -1)
		abort();
	if (pid == 0)
		_exit(0);
	return pid;
}

static struct conf *
make_conf(const char *const *lines)
{
	struct conf *c = conf_new();
	char errbuf[256];
	size_t i;

	for (i = 0; lines[i] != NULL; i++) {
		if (conf_apply_line(c, lines[i], 0, errbuf, sizeof(errbuf)) !=
		    0) {
			fprintf(stderr, "%s: %s\n", lines[i], errbuf);
			abort();
		}
	}
	if (conf_finish(c, errbuf, sizeof(errbuf)) != 0)
		abort();
	return c;
}

static void seed(struct store *);

/* Remove the store's files; at exit, their directory too. */
static void
remove_work(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char path[PATH_MAX + 64];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", work_path, sfx[i]);
		(void)unlink(path);
	}
}

static void
remove_dir(void)
{
	remove_work();
	(void)unlink(template_path);
	(void)rmdir(dir);
}

/*
 * The seeded store, made once: migrating a new database's schema costs
 * far more than a run of the monitor, so each input gets a copy of the
 * seeded file instead (in /dev/shm, memory, where there is one).
 */
static void
make_template(void)
{
	struct store *st = NULL;
	char errbuf[256];
	ssize_t n;
	int fd;

	snprintf(dir, sizeof(dir), "%s/fuzz_mon.XXXXXX",
	    access("/dev/shm", W_OK) == 0  ? "/dev/shm"
	        : getenv("TMPDIR") != NULL ? getenv("TMPDIR")
	                                   : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(template_path, sizeof(template_path), "%s/template.db", dir);
	snprintf(work_path, sizeof(work_path), "%s/work.db", dir);
	atexit(remove_dir);
	randombytes_buf(tkey, sizeof(tkey));
	if (store_open(template_path, &st, errbuf, sizeof(errbuf)) != 0)
		abort();
	seed(st);
	store_free(st); /* the last connection: the WAL goes into the file */
	rng_after_seed = rng_counter;
	if ((fd = open(template_path, O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	template_db = xmalloc(4 * 1024 * 1024);
	while ((n = read(fd, template_db + template_len,
	            4 * 1024 * 1024 - template_len)) > 0)
		template_len += (size_t)n;
	close(fd);
	if (n == -1 || template_len == 0 || template_len == 4 * 1024 * 1024)
		abort();
}

/* A fresh copy of the seeded store. */
static struct store *
open_store(void)
{
	struct store *st = NULL;
	char errbuf[256];
	int fd;

	remove_work();
	if ((fd = open(work_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	         0600)) == -1 ||
	    write(fd, template_db, template_len) != (ssize_t)template_len)
		abort();
	close(fd);
	if (store_open(work_path, &st, errbuf, sizeof(errbuf)) != 0)
		abort();
	return st;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const base[] = { "TunnelAddress 127.0.0.1",
		"PublicHost 127.0.0.1", PORT_RANGE, "MaxAuthTries 3",
		"LoginGraceTime 0", NULL };
	static const char *const second[] = { "TunnelAddress 127.0.0.1",
		"PublicHost 127.0.0.1", PORT_RANGE, "MaxAuthTries 3",
		"LoginGraceTime 0", "AllowAnonymous yes",
		"MaxSessionsPerAccount 1", "MaxEndpointsPerSession 2", NULL };

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_MON_TRACE") != NULL;
	if (randombytes_set_implementation(&rng_impl) != 0 ||
	    sodium_init() == -1)
		abort();
	/* Quiet, but every line is still formatted. */
	log_init("fuzz_mon", LOG_LEVEL_DEBUG3, LOG_SINK_CAPTURE);
	signal(SIGPIPE, SIG_IGN);
	confs[0] = make_conf(base);
	confs[1] = make_conf(second);
	alice_port = first_free(PORT_BASE);
	bob_port = first_free(alice_port + 1);
	edge_port = first_free(bob_port + 1);
	zombie_a = zombie();
	zombie_b = zombie();
	make_template();
	return 0;
}

/* Seed the store (alice's token's text goes to alice_token). */
static void
seed(struct store *st)
{
	struct store_account *alice = NULL, *bob = NULL;
	struct store_address *a = NULL;
	struct store_edge *e = NULL;
	unsigned char hash[TOKEN_HASH_LEN];
	char fp[PUBKEY_FP_LEN + 1], btok[TOKEN_LEN + 1], *id;
	int64_t now = misc_now_ms();

	FUZZ_CHECK(store_account_add(st, "alice", &alice) == 0);
	FUZZ_CHECK(store_account_add(st, "bob", &bob) == 0);
	FUZZ_CHECK(pubkey_fingerprint(KEY_REG, fp, sizeof(fp)) == 0);
	FUZZ_CHECK(
	    store_key_add(st, alice->id, KEY_TYPE, KEY_REG, fp, "") == 0);
	token_generate(alice_token, sizeof(alice_token));
	token_hash(tkey, alice_token, hash);
	id = id_new("tk");
	FUZZ_CHECK(store_token_add(st, id, alice->id, hash, sizeof(hash), NULL,
	               now) == 0);
	free(id);
	token_generate(btok, sizeof(btok));
	token_hash(tkey, btok, hash);
	id = id_new("tk");
	FUZZ_CHECK(store_token_add(st, id, bob->id, hash, sizeof(hash), NULL,
	               now) == 0);
	free(id);
	FUZZ_CHECK(store_address_add(st, alice->id, "127.0.0.1", alice_port,
	               NULL, NULL, now, &a) == 0);
	store_address_free(a);
	FUZZ_CHECK(store_address_add(st, bob->id, "127.0.0.1", bob_port, NULL,
	               NULL, now, &a) == 0);
	store_address_free(a);
	FUZZ_CHECK(store_edge_add(st, "fuzz", now, &e) == 0);
	FUZZ_CHECK(store_address_add(st, NULL, "127.0.0.1", edge_port, NULL,
	               NULL, now, &a) == 0);
	FUZZ_CHECK(store_edge_address_add(st, e->id, a->id) == 0);
	FUZZ_CHECK(store_edge_backend_add(st, e->id, alice->id) == 0);
	store_address_free(a);
	store_edge_free(e);
	store_account_free(alice);
	store_account_free(bob);
	sodium_memzero(btok, sizeof(btok));
}

/* A kid for a client at <ip>, with the pid <pid>. */
static void
kid_new(struct mon *mon, struct fkid *f, const char *ip, pid_t pid)
{
	struct sockaddr_in sin;
	int sv[2];

	memset(f, 0, sizeof(*f));
	f->conn_fd = -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(50000);
	(void)inet_pton(AF_INET, ip, &sin.sin_addr);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	f->k = mon_kid_add(mon, sv[0], (struct sockaddr *)&sin, NULL);
	mon_kid_set_pid(mon, f->k, pid, -1);
	f->s = sv[1];
}

/* Close what the harness holds of <f>. */
static void
kid_close(struct fkid *f)
{
	size_t i;

	if (f->s != -1)
		close(f->s);
	f->s = -1;
	if (f->conn_fd != -1)
		close(f->conn_fd);
	f->conn_fd = -1;
	for (i = 0; i < f->nconns; i++)
		close(f->conn_fds[i]);
	f->nconns = 0;
	free(f->edge_ep);
	f->edge_ep = NULL;
}

/*
 * Check one answer <m> with <nfds> descriptors <fds> to <f>, and keep
 * an edge connection's descriptor: A its last, B each in order.
 */
static void
kid_answer(struct fkid *f, struct ipc_msg *m, int *fds, size_t nfds)
{
	struct ipc_msg c;
	uint64_t id;
	size_t i;
	char *s;

	FUZZ_CHECK(m->type >= MON_AUTH_RESULT && m->type < MON_ANS_MAX);
	FUZZ_CHECK(nfds <= 1);
	memset(&c, 0, sizeof(c));
	if (trace) {
		/* Type, descriptors, and the payload's printable bytes. */
		fprintf(stderr,
		    "to %s: type %u, %zu fd(s): ", f->is_b ? "B" : "A", m->type,
		    nfds);
		for (i = 0; i < m->len; i++)
			fputc(m->data[i] >= 0x20 && m->data[i] < 0x7f
			        ? m->data[i]
			        : '.',
			    stderr);
		fputc('\n', stderr);
	}
	ipc_msg_copy(&c, m);
	switch (m->type) {
	case MON_AUTH_RESULT:
		FUZZ_CHECK(nfds == 0);
		if (ipc_get_u32(&c) == MON_AUTH_LOGIN)
			f->login_seen = 1;
		break;
	case MON_FORWARD_RESULT:
		if (ipc_get_u8(&c) == 0) {
			FUZZ_CHECK(nfds == 0);
			break;
		}
		free(ipc_get_str(&c, MON_ID_MAX));
		free(ipc_get_str(&c, 256));
		(void)ipc_get_u32(&c);
		free(ipc_get_str(&c, 300));
		free(ipc_get_str(&c, MON_ID_MAX));
		s = ipc_get_str(&c, MON_ID_MAX);
		FUZZ_CHECK(ipc_ok(&c, 0));
		/* A listener for a plain forward; an edge's stays. */
		FUZZ_CHECK((nfds == 1) == (s[0] == '\0'));
		free(s);
		break;
	case MON_EDGE_CONN:
		FUZZ_CHECK(nfds == 1);
		id = ipc_get_u64(&c);
		FUZZ_CHECK(ipc_ok(&c, 0));
		if (f->is_b && f->nconns < MAX_CONNS) {
			f->conn_ids[f->nconns] = id;
			f->conn_fds[f->nconns++] = fds[0];
			nfds = 0;
		} else if (!f->is_b) {
			if (f->conn_fd != -1)
				close(f->conn_fd);
			f->conn_fd = fds[0];
			nfds = 0;
		}
		break;
	default:
		FUZZ_CHECK(nfds == 0);
		break;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	ipc_msg_free(&c);
}

/* Read every answer waiting for <f>. */
static void
kid_drain(struct fkid *f)
{
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds;
	int r;

	if (f->s == -1 || f->closed)
		return;
	memset(&m, 0, sizeof(m));
	for (;;) {
		r = ipc_recv(f->s, &m, fds, IPC_FDS_MAX, &nfds, 0);
		if (r == 1) {
			if (trace)
				fprintf(stderr, "to %s: closed\n",
				    f->is_b ? "B" : "A");
			f->closed = 1;
			break;
		}
		if (r != 0) {
			FUZZ_CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
			break;
		}
		kid_answer(f, &m, fds, nfds);
	}
	ipc_msg_free(&m);
}

/* Send <m> (with <nfds> of <fds>) from <f> and let the monitor run. */
static void
kid_send(struct mon *mon, struct fkid *f, const struct ipc_msg *m,
    const int *fds, size_t nfds)
{
	if (f->s != -1 && !f->closed)
		(void)ipc_send(f->s, m, fds, nfds);
	mon_run(mon);
}

/*
 * The invariants between <f> and the monitor after a step; returns 1
 * if the monitor counts <f> as logged in.
 */
static int
kid_check(struct fkid *f)
{
	struct mon_kid_info info;

	if (f->k == NULL)
		return 0;
	mon_kid_info(f->k, &info);
	if (info.authed)
		FUZZ_CHECK(f->login_seen);
	if (info.violated)
		FUZZ_CHECK(f->closed);
	return info.authed;
}

/*
 * Send <len> bytes from <f> as one datagram with <nfds> descriptors:
 * the first a copy of the last edge connection it was handed, if any,
 * the others sockets of nobody's.
 */
static void
kid_send_raw(struct fkid *f, const uint8_t *p, size_t len, int nfds)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	int fds[3], x[2], n = 0, i;

	if (nfds > 0 && f->conn_fd != -1)
		fds[n++] = dup(f->conn_fd);
	while (n < nfds) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x) == -1)
			abort();
		close(x[1]);
		fds[n++] = x[0];
	}
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n > 0) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm.hdr.cmsg_len = CMSG_LEN(n * sizeof(int));
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.hdr), fds, n * sizeof(int));
	}
	/* Not waiting: deferred steps may fill the socket. */
	if (f->s != -1 && !f->closed)
		(void)sendmsg(f->s, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Log <f> in with alice's key, or with <token> if not NULL. */
static void
kid_login(struct mon *mon, struct fkid *f, const char *token)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	if (token == NULL) {
		ipc_msg_init(&m, MON_AUTH_KEY);
		ipc_put_u8(&m, 0);
		ipc_put_str(&m, "v2");
		ipc_put_str(&m, KEY_TYPE);
		ipc_put_str(&m, KEY_REG);
	} else {
		ipc_msg_init(&m, MON_AUTH_TOKEN);
		ipc_put_u8(&m, MON_HOW_PASSWORD);
		ipc_put_str(&m, "v2");
		ipc_put_str(&m, token);
	}
	kid_send(mon, f, &m, NULL, 0);
	kid_drain(f);
	ipc_msg_free(&m);
}

/* Ask for a forward of <port> for <f>; for the edge, note it and READY. */
static void
kid_forward(struct mon *mon, struct fkid *f, uint32_t port)
{
	struct ipc_msg m, r;
	int fds[IPC_FDS_MAX];
	size_t nfds;

	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	ipc_msg_init(&m, MON_FORWARD);
	ipc_put_str(&m, port == 0 ? "localhost" : "127.0.0.1");
	ipc_put_u32(&m, port);
	kid_send(mon, f, &m, NULL, 0);
	if (f->s != -1 && !f->closed &&
	    ipc_recv(f->s, &r, fds, IPC_FDS_MAX, &nfds, 0) == 0) {
		if (r.type == MON_FORWARD_RESULT && port == edge_port &&
		    nfds == 0) {
			struct ipc_msg c;

			memset(&c, 0, sizeof(c));
			ipc_msg_copy(&c, &r);
			if (ipc_get_u8(&c) == 1) {
				free(f->edge_ep);
				f->edge_ep = ipc_get_str(&c, MON_ID_MAX);
			}
			ipc_msg_free(&c);
		}
		kid_answer(f, &r, fds, nfds);
	}
	if (f->edge_ep != NULL && port == edge_port) {
		ipc_msg_init(&m, MON_EDGE_READY);
		ipc_put_str(&m, f->edge_ep);
		kid_send(mon, f, &m, NULL, 0);
	}
	kid_drain(f);
	ipc_msg_free(&m);
	ipc_msg_free(&r);
}

/* B's step <sub>. */
static void
kid_b_step(struct mon *mon, struct fkid *b, int sub)
{
	struct ipc_msg m;
	int fd;

	memset(&m, 0, sizeof(m));
	switch (sub) {
	case 0:
	case 1:
		if (b->nconns == 0)
			break;
		ipc_msg_init(&m, sub == 0 ? MON_EDGE_RETURN : MON_EDGE_DONE);
		ipc_put_u64(&m, b->conn_ids[0]);
		fd = b->conn_fds[0];
		memmove(b->conn_ids, b->conn_ids + 1,
		    (b->nconns - 1) * sizeof(*b->conn_ids));
		memmove(b->conn_fds, b->conn_fds + 1,
		    (b->nconns - 1) * sizeof(*b->conn_fds));
		b->nconns--;
		kid_send(mon, b, &m, &fd, sub == 0 ? 1 : 0);
		close(fd);
		break;
	case 2:
		if (b->edge_ep == NULL)
			break;
		ipc_msg_init(&m, MON_EDGE_GOT);
		ipc_put_str(&m, b->edge_ep);
		ipc_put_u32(&m, 1);
		kid_send(mon, b, &m, NULL, 0);
		break;
	default:
		if (b->edge_ep == NULL)
			break;
		ipc_msg_init(&m, MON_CANCEL);
		ipc_put_str(&m, b->edge_ep);
		kid_send(mon, b, &m, NULL, 0);
		break;
	}
	ipc_msg_free(&m);
}

/* A client of the edge's port; closed with a reset (no TIME_WAIT). */
static int
edge_client(void)
{
	struct sockaddr_in sin;
	struct linger lg = { 1, 0 };
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	         0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(edge_port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	struct store *st = NULL;
	struct mon *mon;
	struct fkid a, b;
	int clients[MAX_CLIENTS];
	size_t nclients = 0, i, steps;
	uint8_t flags, op;
	int baseline, sub, status, authed;
	uint16_t len;

	rng_counter = rng_after_seed;
	log_capture_reset();
	baseline = count_fds();
	flags = fuzz_byte(&in);
	st = open_store();
	mon = mon_new(confs[(flags & F_CONF2) != 0], st, tkey);

	kid_new(mon, &a, "127.0.0.2", zombie_a);
	kid_new(mon, &b, "127.0.0.3", zombie_b);
	b.is_b = 1;
	if (flags & F_B_EDGE) {
		kid_login(mon, &b, alice_token);
		kid_forward(mon, &b, edge_port);
	}
	if (flags & (F_A_KEY | F_A_TOKEN))
		kid_login(mon, &a, (flags & F_A_KEY) ? NULL : alice_token);
	if (flags & F_A_RANDOM)
		kid_forward(mon, &a, 0);
	if (flags & F_A_EDGE)
		kid_forward(mon, &a, edge_port);

	for (steps = 0; in.off < in.size && steps < MAX_STEPS; steps++) {
		op = fuzz_byte(&in);
		sub = (op >> 2) & 3;
		switch (op & 3) {
		case 0:
			len = (uint16_t)(fuzz_byte(&in) << 8);
			len |= fuzz_byte(&in);
			if (len > in.size - in.off)
				len = (uint16_t)(in.size - in.off);
			kid_send_raw(&a, data + in.off, len, sub);
			in.off += len;
			if (!(op & 0x10))
				mon_run(mon);
			break;
		case 1:
			if (nclients < MAX_CLIENTS &&
			    (clients[nclients] = edge_client()) != -1)
				nclients++;
			if (!(op & 0x10))
				mon_run(mon);
			break;
		case 2:
			switch (sub) {
			case 0:
				(void)mon_tick(mon);
				break;
			case 1:
				status = fuzz_byte(&in);
				status = (status & 0x80) ? (status & 0x1f)
				                         : (status & 0x7f) << 8;
				if (a.k != NULL) {
					mon_kid_exited(mon, a.k, status);
					a.k = NULL;
					a.closed = 1;
				}
				break;
			case 2:
				(void)mon_shutdown(mon);
				break;
			default:
				mon_flush(mon);
				break;
			}
			mon_run(mon);
			break;
		default:
			kid_b_step(mon, &b, sub);
			break;
		}
		kid_drain(&a);
		kid_drain(&b);
		authed = kid_check(&a) + kid_check(&b);
		FUZZ_CHECK(mon_nsessions(mon) == (size_t)authed);
	}

	/* Resets first: the monitor's ends then close without TIME_WAIT. */
	for (i = 0; i < nclients; i++)
		close(clients[i]);
	mon_run(mon);
	kid_drain(&a);
	kid_drain(&b);
	kid_close(&a);
	kid_close(&b);
	mon_free(mon);
	store_free(st);
	FUZZ_CHECK(count_fds() == baseline);
	return 0;
}
