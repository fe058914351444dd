/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

#include "log.h"

/*
 * The session process's sandbox, entered before it reads a byte from the
 * network and kept for its life (a seccomp filter can only tighten), as
 * OpenSSH's sandbox-seccomp-filter.c does for sshd's pre-auth process.
 * What a session does needs: its sockets (the SSH connection, public
 * listeners and connections the monitor handed it, the control socket),
 * epoll and poll, memory, time, randomness and exit. So:
 *
 *  - allowed: I/O on descriptors it has, accept4 on its listeners, socket
 *    options and shutdown, epoll, memory without PROT_EXEC, clocks,
 *    getrandom, futex, signals to itself only;
 *  - refused with EACCES, so a library that tries fails cleanly: open,
 *    openat, creat and the like (no file can be opened, to read or to
 *    write), socket, socketpair, connect, bind, listen;
 *  - anything else ends the process with SIGSYS: exec, ptrace, fork and
 *    clone, kill of another process, mount, chroot, setuid and the rest.
 *
 * Not dumpable (no core file, no ptrace by processes of the same user),
 * and no new privileges.
 *
 * Sanitizer builds (configure --enable-sanitizers) allow more: at exit
 * LeakSanitizer stops the process with a helper that shares its memory
 * and ptraces it, and reads /proc/self/maps. Those calls are allowed
 * only where they concern this process (ptrace of our own pid) or cannot
 * write (open read-only); the rest of the list is the same.
 */

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZERS 1
#endif
#endif

/* System calls allowed with any arguments. */
static const int sandbox_allow[] = {
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(readv),
	SCMP_SYS(writev),
	SCMP_SYS(recvfrom),
	SCMP_SYS(sendto),
	SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg),
	SCMP_SYS(close),
	SCMP_SYS(shutdown),
	SCMP_SYS(accept4),
	SCMP_SYS(accept),
	SCMP_SYS(setsockopt),
	SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname),
	SCMP_SYS(getpeername),
	SCMP_SYS(fcntl),
	SCMP_SYS(fstat),
	SCMP_SYS(lseek),
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(brk),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
	SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(getrandom),
	SCMP_SYS(futex),
	SCMP_SYS(sched_yield),
	SCMP_SYS(sysinfo),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
};

/* System calls refused with EACCES: a library trying them fails cleanly. */
static const int sandbox_refuse[] = {
#ifndef SANDBOX_SANITIZERS
	SCMP_SYS(open), /* see sandbox_rules_args() otherwise */
	SCMP_SYS(openat),
#endif
	SCMP_SYS(openat2),
	SCMP_SYS(creat),
	SCMP_SYS(socket),
	SCMP_SYS(socketpair),
	SCMP_SYS(connect),
	SCMP_SYS(bind),
	SCMP_SYS(listen),
	SCMP_SYS(ioctl),
};

/* Add a rule, logging a failure. */
static int
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, int sc, unsigned int n,
    const struct scmp_arg_cmp *cmp)
{
	int r;

	if ((r = seccomp_rule_add_array(ctx, action, sc, n, cmp)) != 0) {
		error("sandbox: rule for system call %d: %s", sc, strerror(-r));
		return -1;
	}
	return 0;
}

/* The rules that depend on arguments. */
static int
sandbox_rules_args(scmp_filter_ctx ctx, pid_t self)
{
	struct scmp_arg_cmp noexec[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
	};
	struct scmp_arg_cmp me[] = {
		SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self),
	};
	struct scmp_arg_cmp empty_path[] = {
		SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH),
	};

	/* Memory, never executable. */
	if (sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, noexec) != 0 ||
	    sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, noexec) !=
	        0)
		return -1;
	/* Signals to ourselves only (abort(), raise()). */
	if (sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, me) != 0 ||
	    sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, me) != 0 ||
	    sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 1, me) != 0)
		return -1;
#ifndef SANDBOX_SANITIZERS
	/* fstat() as glibc does it: of a descriptor, not a path. */
	if (sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
	        empty_path) != 0)
		return -1;
#else
	(void)empty_path;
#endif
#ifdef SANDBOX_SANITIZERS
	{
		/* LeakSanitizer at exit (see above). */
		struct scmp_arg_cmp ptrace_me[] = {
			SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)self),
		};
		/*
		 * open()'s flags are its second argument, openat()'s third.
		 * O_TRUNC writes too (Linux truncates on O_RDONLY|O_TRUNC).
		 */
		struct scmp_arg_cmp rd[2][1] = {
			{ SCMP_A1(SCMP_CMP_MASKED_EQ,
			    O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY) },
			{ SCMP_A2(SCMP_CMP_MASKED_EQ,
			    O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY) },
		};
		struct scmp_arg_cmp wr[2][4] = {
			{ SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_WRONLY),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDWR),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, O_TRUNC, O_TRUNC) },
			{ SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_WRONLY),
			    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDWR),
			    SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
			    SCMP_A2(SCMP_CMP_MASKED_EQ, O_TRUNC, O_TRUNC) },
		};
		static const int opens[2] = { SCMP_SYS(open),
			SCMP_SYS(openat) };
		size_t j;
		static const int more[] = {
			SCMP_SYS(clone),
			SCMP_SYS(prctl),
			SCMP_SYS(wait4),
			SCMP_SYS(getdents),
			SCMP_SYS(getdents64),
			SCMP_SYS(stat),
			SCMP_SYS(lstat),
			SCMP_SYS(newfstatat),
			SCMP_SYS(readlink),
			SCMP_SYS(sigaltstack),
			SCMP_SYS(rt_sigaction),
			SCMP_SYS(sched_getaffinity),
			SCMP_SYS(getppid),
			SCMP_SYS(pipe2),
			SCMP_SYS(dup),
			SCMP_SYS(dup2),
			SCMP_SYS(getrlimit),
			SCMP_SYS(prlimit64),
		};
		size_t i;

		for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
			if (sandbox_rule(ctx, SCMP_ACT_ALLOW, more[i], 0,
			        NULL) != 0)
				return -1;
		}
		if (sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ptrace), 1,
		        ptrace_me) != 0)
			return -1;
		for (i = 0; i < 2; i++) {
			if (sandbox_rule(ctx, SCMP_ACT_ALLOW, opens[i], 1,
			        rd[i]) != 0)
				return -1;
			for (j = 0; j < 4; j++) {
				if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES),
				        opens[i], 1, &wr[i][j]) != 0)
					return -1;
			}
		}
	}
#endif
	return 0;
}

int
sandbox_enter(void)
{
	scmp_filter_ctx ctx;
	size_t i;
	int r, ret = -1;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		error("sandbox: prctl: %s", strerror(errno));
		return -1;
	}
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		error("sandbox: seccomp_init failed");
		return -1;
	}
	for (i = 0; i < sizeof(sandbox_allow) / sizeof(sandbox_allow[0]); i++) {
		if (sandbox_rule(ctx, SCMP_ACT_ALLOW, sandbox_allow[i], 0,
		        NULL) != 0)
			goto out;
	}
	if (sandbox_rules_args(ctx, getpid()) != 0)
		goto out;
	for (i = 0; i < sizeof(sandbox_refuse) / sizeof(sandbox_refuse[0]);
	     i++) {
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), sandbox_refuse[i],
		        0, NULL) != 0)
			goto out;
	}
	if ((r = seccomp_load(ctx)) != 0) {
		error("sandbox: seccomp_load: %s", strerror(-r));
		goto out;
	}
	ret = 0;
out:
	seccomp_release(ctx);
	return ret;
}
