/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_API_H
#define PORTHOLE_API_H

/*
 * The HTTP API (ApiListen), served by a process of its own: the
 * monitor binds the listener before it drops privileges and starts
 * `portholed -A LISTEN_FD CONTROL_FD` (a fresh image of the program, as
 * the spawner is), which runs as User with its own store handle and
 * libmicrohttpd, so a slow or hostile HTTP client never holds up the
 * SSH side. It talks to the monitor over the SEQPACKET control socket
 * (ipc.h) with the messages below. The monitor starts it again if it
 * dies. porthole-api.7 describes what it serves.
 */

/* Messages between the monitor and the API process. */
enum api_msg {
	/*
	 * monitor -> API, first: str conf (conf_dump's lines), u32 log
	 * level, u8 syslog, str certificate PEM, str private key PEM
	 * ("" and "" for plain HTTP)
	 */
	API_INIT = 1,
	/*
	 * API -> monitor: the store was changed (SQLite): have every live
	 * session re-read its settings
	 */
	API_CHANGED,
	/*
	 * API -> monitor: str source address: an authentication failed
	 * (counted in porthole_api_auth_failures_total, penalised as
	 * PerSourcePenalties' authfail)
	 */
	API_AUTHFAIL,
	/*
	 * monitor -> API: str source address, u64 milliseconds: refuse
	 * that source for that long
	 */
	API_PENALTY,
};

/* The counter of failed API authentications, on the monitor's /metrics. */
#define API_AUTHFAIL_COUNTER "porthole_api_auth_failures_total"

/* The longest PEM text (certificate and key together) API_INIT takes. */
#define API_PEM_MAX (56 * 1024)

/*
 * The API process's main (portholed -A): serve on listening socket
 * <lfd> until the control socket <ctl> closes or SIGTERM. Returns the
 * exit status.
 */
int api_main(int lfd, int ctl);

#endif /* PORTHOLE_API_H */
