#!/bin/bash
# The channel window bounds what a session holds for one relayed
# connection, whatever the client does. The client is windowpeer.py, an
# asyncssh ssh -R client written for this: one that ignores the window
# (its public client never reads) is disconnected with a log line before
# its session grows past the documented buffer; one that keeps to the
# window while its public client reads slowly is relayed in full and its
# session stays bounded too (libssh 0.10 re-opens the window on every
# read, so relay.c must take all that is buffered each time). Extended
# data past the window on a forwarded channel, data past the window on
# the session channel, and data past the window on a forwarded channel
# that portholed has closed (the client not answering the CLOSE, so
# libssh keeps the channel) are dropped without the session growing.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup

# asyncssh is Debian's python3-asyncssh: the system python3 has it even
# when another python3 comes first in PATH.
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
	    "$p" -c 'import asyncssh' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || ph_skip "python3-asyncssh is not installed"
PEER=$top_srcdir/tests/integration/windowpeer.py

ph_user bob
ph_start_server
MIB16=16777216
MIB64=67108864

# rss_kib PID: resident set size of PID in KiB (empty once it is gone).
rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" \
	    2>/dev/null
}

# peer NAME MODE NBYTES: start windowpeer.py and wait for its forward;
# sets peer_pid and spid, the session process. The peer then waits for
# "go" on fd 4 (peer_go) before it connects its public client.
peer() {
	local name=$1

	mkfifo "$PH_TMP/$name.go"
	# Read-write, so that opening it does not wait for the peer.
	exec 4<>"$PH_TMP/$name.go"
	"$PY" -W ignore "$PEER" "$2" 127.0.0.1 "$PH_PORT" bob "$PH_TMP/bob" \
	    "$3" <&4 >"$PH_TMP/$name.out" 2>"$PH_TMP/$name.err" &
	peer_pid=$!
	ph_track "$peer_pid"
	ph_wait_for "$PH_TMP/$name.out" '^port [0-9]+$' 30 "$peer_pid"
	spid=$(ph_ctl --json session list |
	    sed -n 's/.*"pid":\([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$spid" ] || ph_fail "$name: no session process"
}

# peer_go: let the peer start; sample the session's memory until the
# peer exits (no readiness signal says when buffers are full). Sets
# growth (MiB above the resident size before) and peer_rc.
peer_go() {
	local base peak r

	base=$(rss_kib "$spid")
	[ -n "$base" ] || ph_fail "session process $spid is gone"
	peak=$base
	echo go >&4
	while _ph_alive "$peer_pid"; do
		r=$(rss_kib "$spid")
		if [ -n "$r" ] && [ "$r" -gt "$peak" ]; then
			peak=$r
		fi
		sleep 0.05
	done
	exec 4>&-
	ph_wait_gone "$peer_pid"
	peer_rc=$PH_EXIT_STATUS
	growth=$(((peak - base) / 1024))
}

# --- keeping to the window, public client slow: all of it, bounded --------
peer steady steady "$MIB16"
peer_go
[ "$peer_rc" -eq 0 ] ||
    ph_fail "steady client: exit $peer_rc$(_ph_tail "$PH_TMP/steady.out")"
grep -qx "received $MIB16" "$PH_TMP/steady.out" ||
    ph_fail "steady client: $(cat "$PH_TMP/steady.out")"
if grep -q 'ignored the channel window' "$PH_LOG"; then
	ph_fail "a client that keeps to the window was taken to ignore it"
fi
[ "$growth" -lt 24 ] ||
    ph_fail "the session grew by $growth MiB for a slow public client"
ph_pass "window kept, slow public client: 16 MiB arrives, session grew" \
    "$growth MiB"
ph_wait_gone "$spid"

# --- ignoring the window, public client not reading: disconnected ----------
peer flood flood "$MIB64"
peer_go
[ "$peer_rc" -eq 0 ] ||
    ph_fail "the client that ignores the window was not disconnected:" \
        "$(cat "$PH_TMP/flood.out" "$PH_TMP/flood.err")"
sess="session ss_[A-Za-z0-9]+"
ph_wait_for "$PH_LOG" "$sess: the client ignored the channel window \(connection from 127\.0\.0\.1 port [0-9]+: [0-9]+ bytes held, at most 4259840 allowed\); disconnecting"
ph_wait_gone "$spid"
ph_wait_for "$PH_LOG" "$sess: ended \(the client ignored the channel window;"
[ "$growth" -lt 24 ] ||
    ph_fail "the session grew by $growth MiB before it was disconnected"
ph_pass "window ignored: disconnected once 4 MiB waited, session grew" \
    "$growth MiB"

# --- past the window: as extended data, on the session channel, or on a ---
# --- channel portholed closed -----------------------------------------------
for mode in stderr session orphan; do
	peer "$mode" "$mode" "$MIB64"
	peer_go
	if [ "$peer_rc" -ne 0 ] ||
	    ! grep -qx "dropped $MIB64" "$PH_TMP/$mode.out"; then
		ph_fail "$mode flood: exit $peer_rc:" \
		    "$(cat "$PH_TMP/$mode.out" "$PH_TMP/$mode.err")"
	fi
	[ "$growth" -lt 24 ] ||
	    ph_fail "the session grew by $growth MiB for a $mode flood"
	ph_wait_gone "$spid"
done
ph_pass "64 MiB past the window as extended data, on the session channel" \
    "and on a closed channel: dropped, the sessions stayed bounded"
