#!/bin/bash
# What the server refuses, and that it says why: unregistered keys,
# fixed ports nobody holds, hosts it does not serve, Unix socket forwards,
# local forwarding (-L, -D, -W), X11, agent forwarding, sftp. The server
# keeps serving afterwards.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user dave
ph_keygen stranger
ph_start_server
key=$PH_TMP/dave

ph_listen echo echo
backend=$PH_LAST_PORT

# expect_exit WANT NAME SSH-ARGS...: run ph_ssh, require exit status WANT;
# output in $PH_TMP/NAME.out and NAME.err.
expect_exit() {
	local want=$1 name=$2 rc=0

	shift 2
	ph_ssh "$@" >"$PH_TMP/$name.out" 2>"$PH_TMP/$name.err" </dev/null ||
	    rc=$?
	[ "$rc" -eq "$want" ] ||
	    ph_fail "$name: exit $rc, want $want: $(cat "$PH_TMP/$name.err")"
}

# --- authentication ----------------------------------------------------------
expect_exit 255 stranger -i "$PH_TMP/stranger" -N dave@127.0.0.1
grep -q "Permission denied (publickey," "$PH_TMP/stranger.err" ||
    ph_fail "unregistered key: $(cat "$PH_TMP/stranger.err")"
grep -q "key SHA256:.* is not registered" "$PH_LOG" ||
    ph_fail "the log does not say why the key was refused"
ph_pass "unregistered key refused"

# --- forward requests ----------------------------------------------------------
expect_exit 255 fixed -i "$key" -N -o ExitOnForwardFailure=yes \
    -R "12345:127.0.0.1:$backend" dave@127.0.0.1
grep -q "remote port forwarding failed for listen port 12345" \
    "$PH_TMP/fixed.err" || ph_fail "fixed port: $(cat "$PH_TMP/fixed.err")"
ph_pass "ExitOnForwardFailure with a port nobody holds exits 255"

# With a session channel, the reason is written to it.
ph_ssh_bg fixedwhy -i "$key" -R "12345:127.0.0.1:$backend" \
    -R "0:127.0.0.1:$backend" dave@127.0.0.1 tcp
fixedwhy_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/fixedwhy.err" \
    "porthole: remote forward 'localhost:12345' refused: .*not an address reserved for account dave" \
    15 "$fixedwhy_pid"
ph_wait_for "$PH_TMP/fixedwhy.out" "^Forwarding  tcp://" 15 "$fixedwhy_pid"
[ "$(grep -c '^Forwarding' "$PH_TMP/fixedwhy.out")" -eq 1 ] ||
    ph_fail "want exactly the one granted forward announced"
kill "$fixedwhy_pid"
ph_wait_gone "$fixedwhy_pid"
ph_pass "the refusal's reason is written to the session channel"

expect_exit 255 otherhost -i "$key" -N -o ExitOnForwardFailure=yes \
    -R "203.0.113.9:0:127.0.0.1:$backend" dave@127.0.0.1
grep -q "forward '203.0.113.9' port 0 refused: '203.0.113.9' is not a host this server serves" \
    "$PH_LOG" || ph_fail "the log lacks the reason for 203.0.113.9"
ph_pass "a host the server does not serve is refused"

expect_exit 255 unix -i "$key" -N -o ExitOnForwardFailure=yes \
    -R "$PH_TMP/remote.sock:127.0.0.1:$backend" dave@127.0.0.1
grep -q "remote port forwarding failed for listen path" "$PH_TMP/unix.err" ||
    ph_fail "streamlocal: $(cat "$PH_TMP/unix.err")"
[ -e "$PH_TMP/remote.sock" ] && ph_fail "a Unix socket was created"
ph_pass "Unix socket (streamlocal) forwards are refused"

# --- local forwarding must never make this an open proxy ---------------------
expect_exit 255 stdio -i "$key" -W "127.0.0.1:$backend" dave@127.0.0.1
grep -q "open failed: administratively prohibited" "$PH_TMP/stdio.err" ||
    ph_fail "-W: $(cat "$PH_TMP/stdio.err")"
ph_pass "ssh -W (direct-tcpip) refused"

lport=$("$TNET" freeport)
ph_ssh_bg local -i "$key" -L "127.0.0.1:$lport:127.0.0.1:$backend" \
    dave@127.0.0.1 tcp
local_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/local.out" "^Account" 15 "$local_pid"
rc=0
"$TNET" closed -t 15 "127.0.0.1:$lport" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || ph_fail "-L connection was not closed ($rc)"
ph_wait_for "$PH_TMP/local.err" "open failed: administratively prohibited" \
    15 "$local_pid"
ph_wait_for "$PH_TMP/local.err" \
    "porthole: local forwarding \(ssh -L, -D, -W\) is not allowed" 15 \
    "$local_pid"
kill "$local_pid"
ph_wait_gone "$local_pid"
ph_pass "ssh -L refused, with the reason on the session's stderr"

# --- X11, agent, sftp ---------------------------------------------------------
ph_require ssh-agent
eval "$(ssh-agent -s)" >/dev/null
ph_track "$SSH_AGENT_PID"
ph_ssh_bg x11agent -i "$key" -o ForwardX11=yes -o ForwardAgent=yes \
    -R "0:127.0.0.1:$backend" dave@127.0.0.1 tcp
xa_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/x11agent.out" "^Forwarding" 15 "$xa_pid"
grep -q "porthole: agent forwarding is not supported" \
    "$PH_TMP/x11agent.err" || ph_fail "agent: $(cat "$PH_TMP/x11agent.err")"
ph_pass "agent forwarding refused with a message"
kill "$xa_pid"
ph_wait_gone "$xa_pid"
kill "$SSH_AGENT_PID"

# X11 needs a DISPLAY for ssh to ask at all.
DISPLAY=:99 ph_ssh_bg x11 -i "$key" -o ForwardX11=yes \
    -o ForwardX11Trusted=yes -o XAuthLocation=/nonexistent \
    -R "0:127.0.0.1:$backend" dave@127.0.0.1 tcp
x11_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/x11.out" "^Forwarding" 15 "$x11_pid"
grep -q "porthole: X11 forwarding is not supported" "$PH_TMP/x11.err" ||
    ph_fail "X11: $(cat "$PH_TMP/x11.err")"
kill "$x11_pid"
ph_wait_gone "$x11_pid"
ph_pass "X11 forwarding refused with a message"

# ssh exits at the failure reply, before any message could be shown.
expect_exit 255 subsys -i "$key" -s dave@127.0.0.1 sftp
grep -q "subsystem request failed" "$PH_TMP/subsys.err" ||
    ph_fail "sftp subsystem: $(cat "$PH_TMP/subsys.err")"
grep -q "refused subsystem sftp" "$PH_LOG" ||
    ph_fail "the log does not record the refused subsystem"
ph_pass "sftp (subsystem) refused"

# --- and the server still serves ---------------------------------------------
ph_ssh_bg after -N -i "$key" -R "0:127.0.0.1:$backend" dave@127.0.0.1
ph_wait_tunnel after
got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 4096) || ph_fail "echo after"
[ "$got" = "$("$TNET" sum 4096)" ] || ph_fail "echo after: '$got'"
ph_pass "the server still serves after all the refusals"
