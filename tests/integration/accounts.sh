#!/bin/bash
# Accounts through the real ssh client: disable, enable, delete and
# `session kill` end live sessions (the client is told, its ports freed);
# MaxSessionsPerAccount and MaxEndpointsPerSession (server-wide and per
# account) refuse with a clear reason; anonymous mode.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq

ph_user frank
ph_start_server -o MaxSessionsPerAccount=2
key=$PH_TMP/frank
ph_listen echo echo
backend=$PH_LAST_PORT
# ssh drops a -R that repeats another exactly: a second local port.
ph_listen echo2 echo
backend2=$PH_LAST_PORT

# start NAME: a frank session with one forward; sets $port, $pid.
start() {
	ph_ssh_bg "$1" -i "$key" -R "0:127.0.0.1:$backend" frank@127.0.0.1 tcp
	pid=$PH_LAST_PID
	ph_wait_for "$PH_TMP/$1.out" "^Forwarding  tcp://" 15 "$pid"
	port=$(ph_tunnel_port "$PH_TMP/$1.out")
}

# ended NAME REASON: the client NAME was told REASON, exited 1, port gone.
ended() {
	ph_wait_gone "$pid"
	[ "$PH_EXIT_STATUS" -eq 1 ] || ph_fail "$1: exit $PH_EXIT_STATUS, want 1"
	grep -q "porthole: session ended by the server's administrator: $2" \
	    "$PH_TMP/$1.err" || ph_fail "$1 not told: $(cat "$PH_TMP/$1.err")"
	"$TNET" refused "127.0.0.1:$port" || ph_fail "$1: port $port still open"
}

# --- session kill -------------------------------------------------------------
start killed
sid=$(ph_ctl --json session list | sed -n 's/.*"id":"\(ss_[^"]*\)".*/\1/p')
ph_ctl session kill "$sid" >/dev/null || ph_fail "session kill"
ended killed "killed by an administrator"
[ -z "$(ph_ctl --json session list)" ] || ph_fail "killed session listed"
ph_pass "session kill ends the session and frees its port"

# --- disable / enable ------------------------------------------------------------
start disabled
ph_ctl account disable frank >/dev/null || ph_fail "account disable"
ended disabled "account disabled"
rc=0
ph_ssh -i "$key" -N frank@127.0.0.1 </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a disabled account logged in ($rc)"
ph_ctl account enable frank >/dev/null || ph_fail "account enable"
start enabled
kill "$pid"
ph_wait_gone "$pid"
ph_pass "disable ends live sessions and refuses logins; enable restores"

# --- MaxSessionsPerAccount ------------------------------------------------------
start one
one_pid=$pid
start two
two_pid=$pid
rc=0
ph_ssh -i "$key" -R "0:127.0.0.1:$backend" frank@127.0.0.1 tcp </dev/null \
    >"$PH_TMP/three.out" 2>"$PH_TMP/three.err" || rc=$?
# Refused at once, with the reason as the disconnect message ssh prints.
[ "$rc" -eq 255 ] || ph_fail "third session: exit $rc, want 255"
grep -q "disconnect.*account frank already has 2 live sessions (MaxSessionsPerAccount)" \
    "$PH_TMP/three.err" || ph_fail "third session: $(cat "$PH_TMP/three.err")"
grep -q "^Forwarding" "$PH_TMP/three.out" && ph_fail "third session forwarded"
rc=0
ph_ssh -i "$key" -N -o ExitOnForwardFailure=yes -R "0:127.0.0.1:$backend" \
    frank@127.0.0.1 </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "third -N session: exit $rc, want 255"
# A client still writing when it is refused (many forward requests sent
# right after "authenticated") reads the reason too, not a reset.
many=()
for i in $(seq 1 60); do
	many+=(-R "$((40000 + i)):127.0.0.1:$backend")
done
for i in $(seq 1 10); do
	rc=0
	ph_ssh -i "$key" "${many[@]}" frank@127.0.0.1 tcp </dev/null \
	    >/dev/null 2>"$PH_TMP/busy.err" || rc=$?
	[ "$rc" -eq 255 ] || ph_fail "busy refused session: exit $rc, want 255"
	grep -q "account frank already has 2 live sessions" "$PH_TMP/busy.err" ||
	    ph_fail "busy refused session $i: $(cat "$PH_TMP/busy.err")"
done
# Per-account override.
ph_ctl account update frank --max-sessions 3 >/dev/null ||
    ph_fail "account update --max-sessions"
start three
kill "$one_pid" "$two_pid" "$pid"
ph_wait_gone "$one_pid"
ph_wait_gone "$two_pid"
ph_wait_gone "$pid"
ph_pass "MaxSessionsPerAccount refuses with the reason; per-account override"

# --- MaxEndpointsPerSession per account -------------------------------------------
ph_ctl account update frank --max-endpoints 1 >/dev/null ||
    ph_fail "account update --max-endpoints"
ph_ssh_bg two_fwd -i "$key" -R "0:127.0.0.1:$backend" \
    -R "0:127.0.0.1:$backend2" frank@127.0.0.1 tcp
ph_wait_for "$PH_TMP/two_fwd.err" \
    "refused: this session already has 1 forwards \(MaxEndpointsPerSession\)" \
    15 "$PH_LAST_PID"
ph_wait_for "$PH_TMP/two_fwd.out" "^Forwarding" 15 "$PH_LAST_PID"
[ "$(grep -c '^Forwarding' "$PH_TMP/two_fwd.out")" -eq 1 ] ||
    ph_fail "want one forward granted"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "per-account MaxEndpointsPerSession refuses the second forward"

# --- delete ---------------------------------------------------------------------------
start deleted
ph_ctl account delete frank >/dev/null || ph_fail "account delete"
ended deleted "account deleted"
rc=0
ph_ssh -i "$key" -N frank@127.0.0.1 </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a deleted account logged in ($rc)"
ph_pass "delete ends live sessions; its key no longer logs in"

# --- anonymous -----------------------------------------------------------------------
PH_SSH_OPTS=(-o PubkeyAuthentication=no)
rc=0
ph_ssh -N anonymous@127.0.0.1 </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "anonymous logged in with AllowAnonymous no"
ph_stop_server
ph_start_server -o AllowAnonymous=yes
ph_ssh_bg anon -R "0:127.0.0.1:$backend" -R "40000:127.0.0.1:$backend" \
    anonymous@127.0.0.1 tcp
ph_wait_for "$PH_TMP/anon.out" "^Forwarding  tcp://" 15 "$PH_LAST_PID"
anon_pid=$PH_LAST_PID
grep -q "^Account     anonymous\$" "$PH_TMP/anon.out" ||
    ph_fail "not the anonymous account"
ph_wait_for "$PH_TMP/anon.err" "anonymous sessions get random addresses only" \
    15 "$anon_pid"
got=$("$TNET" echo "127.0.0.1:$(ph_tunnel_port "$PH_TMP/anon.out")" 1000) ||
    ph_fail "anonymous echo"
# The anonymous account's own limits apply.
ph_ctl account update anonymous --max-sessions 1 >/dev/null ||
    ph_fail "account update anonymous"
rc=0
ph_ssh -R "0:127.0.0.1:$backend" anonymous@127.0.0.1 tcp </dev/null \
    >/dev/null 2>"$PH_TMP/anon2.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "second anonymous session: exit $rc"
grep -q "account anonymous already has 1 live sessions" "$PH_TMP/anon2.err" ||
    ph_fail "second anonymous: $(cat "$PH_TMP/anon2.err")"
kill "$anon_pid"
ph_wait_gone "$anon_pid"
ph_pass "anonymous: random addresses only, under the anonymous account's limits"

# --- the seed's command on an anonymous server --------------------------------------
# Any user name; a key that is not registered, or none at all, logs in
# anonymously (keyboard-interactive asks nothing); a registered key still
# logs in as its account.
ph_ctl account update anonymous --max-sessions 10 >/dev/null ||
    ph_fail "account update anonymous"
ph_ctl account add gina >/dev/null || ph_fail "account add gina"
ph_keygen gina
ph_ctl key add gina "$PH_TMP/gina.pub" >/dev/null || ph_fail "key add gina"
ph_keygen stranger
# seed NAME USER SSH-OPTIONS...: the seed's command; prints its Account.
seed() {
	local name=$1 user=$2

	shift 2
	PH_SSH_OPTS=(-o BatchMode=no "$@")
	ph_ssh_bg "$name" -R "0:127.0.0.1:$backend" "$user@127.0.0.1" tcp \
	    </dev/null
	PH_SSH_OPTS=()
	ph_wait_for "$PH_TMP/$name.out" "^Forwarding  tcp://" 15 "$PH_LAST_PID"
	got=$("$TNET" echo "127.0.0.1:$(ph_tunnel_port "$PH_TMP/$name.out")" 100) ||
	    ph_fail "$name: echo"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
	sed -n 's/^Account  *//p' "$PH_TMP/$name.out"
}
[ "$(seed seedkey v2 -i "$PH_TMP/stranger")" = anonymous ] ||
    ph_fail "an unregistered key did not log in anonymously"
[ "$(seed seednokey v2 -o PubkeyAuthentication=no)" = anonymous ] ||
    ph_fail "a client with no key did not log in anonymously"
[ "$(seed seedreg v2 -i "$PH_TMP/gina")" = gina ] ||
    ph_fail "a registered key did not log in as its account"
[ "$(seed seedname gina -i "$PH_TMP/stranger")" = anonymous ] ||
    ph_fail "an account's name without its key logged in as it"
ph_pass "ssh -R 0:… v2@host tcp: anonymous without a registered key, the account with one"

# AddressAffinity is off for anonymous sessions: users behind one NAT
# must not get each other's port.
[ "$(seed affinity1 v2 -i "$PH_TMP/stranger")" = anonymous ] || ph_fail "affinity1"
[ "$(seed affinity2 v2 -i "$PH_TMP/stranger")" = anonymous ] || ph_fail "affinity2"
for sid in $(ph_ctl events --type tcp_session_started.v0 |
    jq -r 'select(.object.session.credential == "anonymous") |
        .object.session.id'); do
	grep -q "session $sid: .* again (AddressAffinity)" "$PH_LOG" &&
	    ph_fail "anonymous session $sid got a port by AddressAffinity"
done
ph_pass "AddressAffinity is off for anonymous sessions"
