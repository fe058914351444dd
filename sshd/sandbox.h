/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

/*
 * Confine the calling process for the rest of its life: not dumpable,
 * no new privileges, and a seccomp filter that allows what a session
 * process needs and nothing that opens files, makes sockets, executes,
 * traces or signals another process (see sandbox.c). Returns 0, or -1
 * after logging why (the process must then not go on).
 */
int sandbox_enter(void);

#endif
