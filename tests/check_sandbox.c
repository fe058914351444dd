/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"
#include "sandbox.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

/*
 * The session process's sandbox, proven from outside: each test forks a
 * child that enters it (sandbox_enter()) and then makes one call, and the
 * parent (the test) asserts how the child ended. A child ends with exit
 * status 0 when the call did what the test expects, with another status
 * naming what went wrong, or killed by the signal the filter sends.
 *
 * Sanitizer builds (configure --enable-sanitizers) allow read-only
 * opens, for LeakSanitizer (see sandbox.c); what is built that way is
 * told with the same test sandbox.c uses.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZERS 1
#endif
#endif

/* A file outside the sandbox, its directory, and its content. */
static char dir[64];
static char existing[128];
static char absent[128];
#define CONTENT "untouched\n"

/* The test process, for the calls that aim at it. */
static pid_t parent;
static volatile sig_atomic_t got_usr1;

static void
on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void
setup(void)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/check_sandbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(existing, sizeof(existing), "%s/existing", dir);
	snprintf(absent, sizeof(absent), "%s/absent", dir);
	ck_assert_int_ne(fd = open(existing, O_WRONLY | O_CREAT, 0644), -1);
	ck_assert_int_eq(write(fd, CONTENT, strlen(CONTENT)),
	    (ssize_t)strlen(CONTENT));
	close(fd);
	parent = getpid();
	got_usr1 = 0;
	ck_assert_int_eq(signal(SIGUSR1, on_usr1) == SIG_ERR, 0);
}

static void
teardown(void)
{
	unlink(existing);
	unlink(absent);
	rmdir(dir);
}

/* How the child ended, for a failure message. */
static const char *
how(int status)
{
	static char buf[64];

	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", status);
	return buf;
}

/*
 * Fork a child that enters the sandbox and runs fn(arg), then exits
 * with what fn returned (status 99: sandbox_enter() failed). Returns
 * the child's wait status.
 */
static int
confined(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (sandbox_enter() != 0)
			_exit(99);
		_exit(fn(arg));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Assert that the child exited with status 0. */
#define ck_assert_done(status, what)                                           \
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,           \
	    "%s: the confined child %s", (what), how(status))

/* Assert that the filter killed the child. */
#define ck_assert_killed(status, what)                                         \
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,       \
	    "%s: the confined child %s, not killed by SIGSYS", (what),         \
	    how(status))

/* Whether the file has its content still. */
static int
untouched(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(CONTENT) && memcmp(buf, CONTENT, n) == 0;
}

/* Status 0 if the call returned -1 with EACCES, else 1 (or 2: it worked). */
static int
eacces(long r)
{
	if (r == -1)
		return errno == EACCES ? 0 : 1;
	return 2;
}

/* Open <path> with <flags> in every way there is: all must be refused. */
static int
open_all(const char *path, int flags)
{
	int r;

	if ((r = eacces(open(path, flags, 0644))) != 0)
		return 10 + r;
	if ((r = eacces(openat(AT_FDCWD, path, flags, 0644))) != 0)
		return 20 + r;
#ifdef SYS_open
	if ((r = eacces(syscall(SYS_open, path, flags, 0644))) != 0)
		return 30 + r;
#endif
	if ((flags & O_CREAT) && (r = eacces(creat(path, 0644))) != 0)
		return 40 + r;
	return 0;
}

static int
do_open_create(void *arg)
{
	return open_all(absent, O_WRONLY | O_CREAT);
}

START_TEST(test_open_create)
{
	int status;

	status = confined(do_open_create, NULL);
	ck_assert_done(status, "open(O_WRONLY|O_CREAT) not refused (EACCES)");
	ck_assert_msg(access(absent, F_OK) == -1 && errno == ENOENT,
	    "the confined child created %s", absent);
}
END_TEST

static int
do_open_write(void *arg)
{
	int r;

	if ((r = open_all(existing, O_WRONLY | O_APPEND)) != 0)
		return r;
	if ((r = open_all(existing, O_RDWR)) != 0)
		return 100 + r;
	/* Linux truncates on O_RDONLY|O_TRUNC: that is a write too. */
	if ((r = open_all(existing, O_RDONLY | O_TRUNC)) != 0)
		return 200 + r;
	return 0;
}

START_TEST(test_open_write)
{
	int status;

	status = confined(do_open_write, NULL);
	ck_assert_done(status,
	    "open of a file to write (or truncate) "
	    "not refused (EACCES)");
	ck_assert_msg(untouched(existing), "%s was changed", existing);
}
END_TEST

static int
do_open_read(void *arg)
{
	char buf[64];
	int fd;

	fd = open(existing, O_RDONLY);
#ifdef SANDBOX_SANITIZERS
	/* Allowed for LeakSanitizer (see sandbox.c). */
	if (fd == -1)
		return 1;
	return read(fd, buf, sizeof(buf)) == (ssize_t)strlen(CONTENT) ? 0 : 2;
#else
	(void)buf;
	return eacces(fd);
#endif
}

START_TEST(test_open_read)
{
	int status;

	status = confined(do_open_read, NULL);
#ifdef SANDBOX_SANITIZERS
	ck_assert_done(status,
	    "a read-only open (allowed in sanitizer builds)");
#else
	ck_assert_done(status, "open(O_RDONLY) not refused (EACCES)");
#endif
}
END_TEST

/* Sockets made before the sandbox: a listener and an unconnected one. */
struct net {
	int lfd;
	int cfd;
	struct sockaddr_in sin;
};

static int
do_network(void *arg)
{
	struct net *n = arg;
	struct sockaddr_in any;
	int sv[2], r;

	if ((r = eacces(socket(AF_INET, SOCK_STREAM, 0))) != 0)
		return 10 + r;
	if ((r = eacces(socket(AF_UNIX, SOCK_SEQPACKET, 0))) != 0)
		return 20 + r;
	if ((r = eacces(socketpair(AF_UNIX, SOCK_STREAM, 0, sv))) != 0)
		return 30 + r;
	if ((r = eacces(connect(n->cfd, (struct sockaddr *)&n->sin,
	         sizeof(n->sin)))) != 0)
		return 40 + r;
	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r = eacces(bind(n->cfd, (struct sockaddr *)&any, sizeof(any)))) !=
	    0)
		return 50 + r;
	if ((r = eacces(listen(n->cfd, 1))) != 0)
		return 60 + r;
	return 0;
}

/* A listener on 127.0.0.1 (n->lfd, at n->sin) and a fresh socket. */
static void
net_make(struct net *n)
{
	socklen_t len = sizeof(n->sin);

	memset(n, 0, sizeof(*n));
	ck_assert_int_ne(n->lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	n->sin.sin_family = AF_INET;
	n->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(n->lfd, (struct sockaddr *)&n->sin,
	                     sizeof(n->sin)),
	    0);
	ck_assert_int_eq(listen(n->lfd, 4), 0);
	ck_assert_int_eq(getsockname(n->lfd, (struct sockaddr *)&n->sin, &len),
	    0);
	ck_assert_int_ne(n->cfd = socket(AF_INET, SOCK_STREAM, 0), -1);
}

START_TEST(test_network)
{
	struct net n;
	int status, fd;

	net_make(&n);
	status = confined(do_network, &n);
	ck_assert_done(status,
	    "socket, socketpair, connect, bind or listen not refused (EACCES)");
	/* Nothing reached the listener. */
	ck_assert_int_eq(fcntl(n.lfd, F_SETFL, O_NONBLOCK), 0);
	fd = accept(n.lfd, NULL, NULL);
	ck_assert_msg(fd == -1 && errno == EAGAIN,
	    "the confined child connected to a listener");
	close(n.lfd);
	close(n.cfd);
}
END_TEST

static int
do_execve(void *arg)
{
	static char name[] = "true";
	char *const argv[] = { name, NULL };
	char *const envp[] = { NULL };

	execve(arg, argv, envp);
	return errno == EACCES ? 1 : 2;
}

START_TEST(test_execve)
{
	static char bin_true[] = "/bin/true";

	ck_assert_killed(confined(do_execve, bin_true),
	    "execve(\"/bin/true\")");
	/*
	 * Even were execve allowed, /bin/true would die in the inherited
	 * filter (its loader maps code); a path that does not exist shows
	 * that execve itself is what kills.
	 */
	ck_assert_killed(confined(do_execve, absent), "execve(a missing file)");
}
END_TEST

static int
do_kill_parent(void *arg)
{
	kill(parent, SIGUSR1);
	return 1;
}

static int
do_kill_group(void *arg)
{
	kill(0, SIGUSR1);
	return 1;
}

START_TEST(test_kill_other)
{
	int status;

	status = confined(do_kill_parent, NULL);
	ck_assert_killed(status, "kill(parent, SIGUSR1)");
	ck_assert_msg(!got_usr1, "the parent received the child's SIGUSR1");
	/* The process group is others too. */
	status = confined(do_kill_group, NULL);
	ck_assert_killed(status, "kill(0, SIGUSR1)");
	ck_assert_msg(!got_usr1, "the group received the child's SIGUSR1");
}
END_TEST

static int
do_ptrace(void *arg)
{
	/* (Had it worked, the parent would be stopped: Check's timeout.) */
	return ptrace(PTRACE_ATTACH, parent, NULL, NULL) == 0 ? 1 : 2;
}

START_TEST(test_ptrace)
{
	ck_assert_killed(confined(do_ptrace, NULL),
	    "ptrace(PTRACE_ATTACH, parent)");
}
END_TEST

static int
do_mmap_exec(void *arg)
{
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	return p == MAP_FAILED ? 1 : 2;
}

/* A page mapped before, made executable after. */
static void *page;

static int
do_mprotect_exec(void *arg)
{
	return mprotect(page, 4096, PROT_READ | PROT_EXEC) == -1 ? 1 : 2;
}

START_TEST(test_exec_memory)
{
	ck_assert_killed(confined(do_mmap_exec, NULL), "mmap(PROT_EXEC)");
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(page, MAP_FAILED);
	ck_assert_killed(confined(do_mprotect_exec, NULL),
	    "mprotect(PROT_EXEC)");
	munmap(page, 4096);
}
END_TEST

#ifndef SANDBOX_SANITIZERS
static int
do_fork(void *arg)
{
	pid_t pid;

	if ((pid = fork()) == 0)
		_exit(0);
	return pid == -1 ? 1 : 2;
}

/* (Sanitizer builds allow clone for LeakSanitizer: see sandbox.c.) */
START_TEST(test_fork)
{
	ck_assert_killed(confined(do_fork, NULL), "fork()");
}
END_TEST
#endif

/*
 * What a session needs, after sandbox_enter(): I/O on descriptors it
 * has, epoll on an epoll descriptor made before, accept4 on a listener
 * made before, descriptors passed over a socket, memory, randomness,
 * time, signals to itself, fstat and close.
 */
struct kit {
	int pipe[2];
	int sv[2];
	int epfd;
	struct net net;
};

static int
do_needs(void *arg)
{
	struct kit *k = arg;
	struct epoll_event ev;
	struct timespec ts;
	struct stat st;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	unsigned char rnd[32];
	char c = 'x', got = 0, *mem;
	size_t i;
	int fd, passed;

	/* A pipe. */
	if (write(k->pipe[1], &c, 1) != 1 || read(k->pipe[0], &got, 1) != 1 ||
	    got != 'x')
		return 10;
	/* epoll. */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = k->pipe[0];
	if (epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->pipe[0], &ev) == -1)
		return 20;
	if (write(k->pipe[1], &c, 1) != 1)
		return 21;
	if (epoll_wait(k->epfd, &ev, 1, 5000) != 1 || ev.data.fd != k->pipe[0])
		return 22;
	if (epoll_ctl(k->epfd, EPOLL_CTL_DEL, k->pipe[0], NULL) == -1 ||
	    read(k->pipe[0], &got, 1) != 1)
		return 23;
	/* accept4 of the connection waiting on the listener. */
	if ((fd = accept4(k->net.lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return 30;
	if (write(fd, &c, 1) != 1)
		return 31;
	close(fd);
	/* A descriptor (the pipe's read end) over a socket, and back. */
	memset(&msg, 0, sizeof(msg));
	memset(&ctl, 0, sizeof(ctl));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &k->pipe[0], sizeof(int));
	if (sendmsg(k->sv[0], &msg, 0) != 1)
		return 40;
	memset(&ctl, 0, sizeof(ctl));
	iov.iov_base = &got;
	msg.msg_controllen = sizeof(ctl.buf);
	if (recvmsg(k->sv[1], &msg, 0) != 1 ||
	    (cmsg = CMSG_FIRSTHDR(&msg)) == NULL ||
	    cmsg->cmsg_type != SCM_RIGHTS)
		return 41;
	memcpy(&passed, CMSG_DATA(cmsg), sizeof(int));
	if (write(k->pipe[1], "y", 1) != 1 || read(passed, &got, 1) != 1 ||
	    got != 'y')
		return 42;
	if (fstat(passed, &st) == -1 || !S_ISFIFO(st.st_mode))
		return 43;
	if (close(passed) == -1)
		return 44;
	/* Randomness and time (the system call, not the vDSO). */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return 50;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 51;
	/* Memory: a few MiB, used. */
	if ((mem = malloc(8 << 20)) == NULL)
		return 60;
	for (i = 0; i < (8 << 20); i += 4096)
		mem[i] = (char)i;
	free(mem);
	/* Signals to itself. */
	if (kill(getpid(), 0) != 0)
		return 70;
	if (raise(SIGUSR1) != 0 || !got_usr1)
		return 71;
	return 0;
}

START_TEST(test_needs)
{
	struct kit k;
	char c = 0;
	int status;

	ck_assert_int_eq(pipe(k.pipe), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, k.sv), 0);
	ck_assert_int_ne(k.epfd = epoll_create1(EPOLL_CLOEXEC), -1);
	net_make(&k.net);
	ck_assert_int_eq(connect(k.net.cfd, (struct sockaddr *)&k.net.sin,
	                     sizeof(k.net.sin)),
	    0);
	status = confined(do_needs, &k);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a call a session needs failed in the sandbox: the child %s "
	    "(see do_needs)",
	    how(status));
	/* What the child wrote on the connection it accepted. */
	ck_assert_int_eq(read(k.net.cfd, &c, 1), 1);
	ck_assert_int_eq(c, 'x');
}
END_TEST

/*
 * The owner of /proc/PID/status: the process's uid while it is dumpable,
 * root once it is not (the kernel's task_dump_owner(); /proc/PID itself
 * keeps its owner). /proc/PID/status has no
 * field for dumpable, and a process cannot ask itself in the sandbox
 * (prctl is refused there), so this is how the parent sees it.
 */
static uid_t
proc_owner(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_uid;
}

/* The value of field <name> in /proc/PID/status, or -1. */
static long
proc_status(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * Not dumpable, no new privileges, in seccomp filter mode. Run as root,
 * the child first takes an unprivileged uid (and makes itself dumpable
 * again, which the uid change undid), so that its owner and root's
 * differ.
 */
START_TEST(test_not_dumpable)
{
	int up[2], down[2], status;
	uid_t uid;
	pid_t pid;
	char c;

	uid = geteuid() == 0 ? 65534 : geteuid();
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) == -1 ||
		        setresgid(uid, uid, uid) == -1 ||
		        setresuid(uid, uid, uid) == -1))
			_exit(10);
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
			_exit(11);
		if (write(up[1], "1", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(12);
		if (sandbox_enter() != 0)
			_exit(99);
		if (write(up[1], "2", 1) != 1)
			_exit(13);
		/* Wait for the parent to have looked (EOF). */
		_exit(read(down[0], &c, 1) == 0 ? 0 : 14);
	}
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	/* Before: dumpable, so the file is the child's (this test works). */
	ck_assert_msg(proc_owner(pid) == uid,
	    "before the sandbox /proc/%ld/status belongs to %lu, not %lu",
	    (long)pid, (unsigned long)proc_owner(pid), (unsigned long)uid);
	ck_assert_int_eq(proc_status(pid, "NoNewPrivs"), 0);
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ck_assert_msg(proc_owner(pid) != uid,
	    "the confined child is dumpable (/proc/%ld/status belongs to %lu)",
	    (long)pid, (unsigned long)uid);
	ck_assert_int_eq(proc_status(pid, "NoNewPrivs"), 1);
	ck_assert_int_eq(proc_status(pid, "Seccomp"), 2);
	close(down[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child %s", how(status));
	close(up[0]);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("sandbox");
	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_create);
	tcase_add_test(tc, test_open_write);
	tcase_add_test(tc, test_open_read);
	tcase_add_test(tc, test_network);
	suite_add_tcase(s, tc);
	tc = tcase_create("killed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_execve);
	tcase_add_test(tc, test_kill_other);
	tcase_add_test(tc, test_ptrace);
	tcase_add_test(tc, test_exec_memory);
#ifndef SANDBOX_SANITIZERS
	tcase_add_test(tc, test_fork);
#endif
	suite_add_tcase(s, tc);
	tc = tcase_create("allowed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_needs);
	tcase_add_test(tc, test_not_dumpable);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite where seccomp filters exist, else report SKIP. */
int
main(void)
{
	SRunner *sr;
	int failed;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == -1 && errno == EINVAL) {
		printf("SKIP: this kernel has no seccomp\n");
		return 77;
	}
	sr = srunner_create(sandbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
