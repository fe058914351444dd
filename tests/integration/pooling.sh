#!/bin/bash
# Endpoint pooling and takeover through the real ssh client: two
# "tcp --pooling" sessions of one account share a reserved address and
# its connections; one of them killed under load loses no connection;
# the last one leaving closes the port; a session without --pooling is
# refused, told about --pooling and --force; the address's pooling
# setting pools without the flag (ssh -N too); "tcp --force" takes an
# address over from a stopped client's session at once, and that
# session is ended and told why.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq

ph_user alice
ph_start_server

addr=$(ph_ctl address reserve alice) || ph_fail "address reserve"
port=${addr##*:}
[ -n "$port" ] || ph_fail "address reserve printed '$addr'"

# session NAME SERVICE-PORT [tcp FLAGS…]: a session of alice serving the
# address with "tcp FLAGS", forwarding to SERVICE-PORT; waits for its
# "Forwarding" line (a held forward says it once it is served).
session() {
	local name=$1 svc=$2

	shift 2
	ph_ssh_bg "$name" -i "$PH_TMP/alice" -R "$port:127.0.0.1:$svc" \
	    alice@127.0.0.1 tcp "$@"
	ph_wait_for "$PH_TMP/$name.out" \
	    "^Forwarding  tcp://127\\.0\\.0\\.1:$port\$" 15 "$PH_LAST_PID"
}

# members_ready N: wait until N pool members in all said they are ready.
members_ready() {
	ph_wait_count "$PH_LOG" \
	    "pooled address ra_[A-Za-z0-9]+: process [0-9]+ ready" "$1" 30
}

# accepts NAME: how many connections the service NAME accepted.
accepts() {
	_ph_count "$PH_TMP/$1.out" "^accept "
}

# now_ms: the wall clock in milliseconds.
now_ms() {
	date +%s%3N
}

# --- two pooled sessions share the address ------------------------------------
ph_listen svc_a -v echo
svc_a=$PH_LAST_PORT
ph_listen svc_b -v echo
svc_b=$PH_LAST_PORT
session pa "$svc_a" --pooling
pa_pid=$PH_LAST_PID
session pb "$svc_b" --pooling
pb_pid=$PH_LAST_PID
members_ready 2
got=$("$TNET" many "127.0.0.1:$port" 40 1000) || ph_fail "40 via the pool: $got"
[ "$got" = "ok=40 failed=0" ] || ph_fail "40 via the pool: $got"
a=$(accepts svc_a)
b=$(accepts svc_b)
[ "$a" -ge 10 ] && [ "$b" -ge 10 ] && [ $((a + b)) -eq 40 ] ||
    ph_fail "40 connections split $a / $b between the pooled sessions"
n=$(ph_ctl --json endpoint list | jq -s 'map(select(.pooled)) | length')
[ "$n" -eq 2 ] || ph_fail "endpoint list shows $n pooled endpoints, not 2"
n=$(ph_ctl --json session list | jq -s 'map(.pooled_endpoints) | add')
[ "$n" -eq 2 ] || ph_fail "session list shows $n pooled endpoints, not 2"
ph_pass "two tcp --pooling sessions share one address: $a and $b of 40"

# --- without --pooling: refused, told about both flags -----------------------------
ph_listen svc_x echo
ph_ssh_bg px -i "$PH_TMP/alice" -R "$port:127.0.0.1:$PH_LAST_PORT" \
    alice@127.0.0.1 tcp
ph_wait_for "$PH_TMP/px.err" \
    "porthole: remote forward '[^']*:$port' refused: .* is shared by 2 session\\(s\\) of account alice with --pooling; add 'tcp --pooling' to share it with them" \
    15
kill "$PH_LAST_PID" 2>/dev/null || :
ph_wait_gone "$PH_LAST_PID"
got=$("$TNET" many "127.0.0.1:$port" 10 100) || ph_fail "after px: $got"
[ "$(accepts svc_x)" -eq 0 ] || ph_fail "the refused session got connections"
ph_pass "a session without --pooling is refused, naming --pooling"

# --- a member killed under load: no connection lost ---------------------------
# The first member's client is stopped, so what is handed to it is still
# being opened when it is killed: the other member must serve that.
ep_a=$(ph_ctl --json endpoint list | jq -r 'select(.pooled) | .id' | head -n 1)
[ -n "$ep_a" ] || ph_fail "no endpoint for the first member"
kill -STOP "$pa_pid"
n=$(_ph_count "$PH_LOG" "endpoint $ep_a: connection from")
ph_bg load "$TNET" many -t 60 "127.0.0.1:$port" 200 200
load_pid=$PH_LAST_PID
ph_wait_count "$PH_LOG" "endpoint $ep_a: connection from" $((n + 1)) 30 \
    "$load_pid"
kill -9 "$pa_pid"
ph_wait_gone "$pa_pid"
ph_wait_gone "$load_pid" 60
[ "$PH_EXIT_STATUS" -eq 0 ] &&
    [ "$(cat "$PH_TMP/load.out")" = "ok=200 failed=0" ] ||
    ph_fail "a member killed under load: $(cat "$PH_TMP/load.out" "$PH_TMP/load.err")"
grep -q "connection handed back to the edge group" "$PH_LOG" ||
    ph_fail "no connection was handed back (the test did not test that)"
ph_pass "a pooled member killed under load: all 200 connections served"

# --- the last member leaves: the port closes ------------------------------------
kill "$pb_pid"
ph_wait_gone "$pb_pid"
ph_wait_for "$PH_LOG" \
    "pooled address ra_[A-Za-z0-9]+: no member left; port $port closed"
"$TNET" refused "127.0.0.1:$port" || ph_fail "the pooled address still listens"
ph_pass "with the last member gone the address stops listening"

# --- the address's pooling setting: no flag needed, ssh -N too --------------------
ph_ctl address update "$addr" --pooling on >/dev/null ||
    ph_fail "address update --pooling on"
ph_ctl address show "$addr" | grep -Eq "^Pooling +on" ||
    ph_fail "address show does not say pooling is on"
ph_listen svc_c -v echo
svc_c=$PH_LAST_PORT
ph_listen svc_d -v echo
svc_d=$PH_LAST_PORT
before=$(_ph_count "$PH_LOG" "pooled address ra_[A-Za-z0-9]+: process [0-9]+ ready")
ph_ssh_bg nc -N -o ExitOnForwardFailure=yes -i "$PH_TMP/alice" \
    -R "$port:127.0.0.1:$svc_c" alice@127.0.0.1
nc_pid=$PH_LAST_PID
session nd "$svc_d"
nd_pid=$PH_LAST_PID
members_ready $((before + 2))
got=$("$TNET" many "127.0.0.1:$port" 20 100) || ph_fail "20 via the pool: $got"
[ "$got" = "ok=20 failed=0" ] || ph_fail "20 via the pool: $got"
c=$(accepts svc_c)
d=$(accepts svc_d)
[ "$c" -ge 1 ] && [ "$d" -ge 1 ] ||
    ph_fail "pooling on: 20 connections split $c / $d"
kill "$nc_pid" "$nd_pid"
ph_wait_gone "$nc_pid"
ph_wait_gone "$nd_pid"
ph_ctl address update "$addr" --pooling off >/dev/null ||
    ph_fail "address update --pooling off"
ph_pass "address update --pooling on: sessions share it without the flag ($c / $d)"

# --- takeover: tcp --force ------------------------------------------------------
ph_listen svc_old -v echo
session old "$PH_LAST_PORT"
old_pid=$PH_LAST_PID
got=$("$TNET" echo "127.0.0.1:$port" 100) || ph_fail "echo via the old session"
kill -STOP "$old_pid"
# Without --force: refused, naming it (and --pooling).
ph_listen svc_no echo
# Left with nothing to serve, the session ends with status 1, so ssh
# exits (as ExitOnForwardFailure would) and a supervisor tries again.
rc=0
ph_ssh -i "$PH_TMP/alice" -R "$port:127.0.0.1:$PH_LAST_PORT" \
    alice@127.0.0.1 tcp </dev/null >"$PH_TMP/noforce.out" \
    2>"$PH_TMP/noforce.err" ||
    rc=$?
[ "$rc" -eq 1 ] || ph_fail "a session whose forward was refused exited $rc, not 1"
ph_wait_for "$PH_TMP/noforce.err" \
    "porthole: remote forward '[^']*:$port' refused: .* is already being served by session ss_[A-Za-z0-9]+ of account alice; add 'tcp --pooling' to share it with the sessions that serve it with --pooling, or 'tcp --force' to take it over"
# With it: served by the new session within a second of its readiness.
ph_listen svc_new -v echo
svc_new=$PH_LAST_PORT
session new "$svc_new" --force
new_pid=$PH_LAST_PID
t0=$(now_ms)
until "$TNET" echo -t 1 "127.0.0.1:$port" 100 >/dev/null 2>&1; do
	[ $(($(now_ms) - t0)) -lt 5000 ] || ph_fail "the address does not answer after --force"
	sleep 0.02
done
t1=$(now_ms)
[ "$(accepts svc_new)" -ge 1 ] || ph_fail "the answer did not come from the new session"
[ $((t1 - t0)) -le 1000 ] ||
    ph_fail "the first answer came $((t1 - t0)) ms after the new session's readiness"
kill -CONT "$old_pid"
ph_wait_gone "$old_pid" 30
ph_wait_for "$PH_TMP/old.err" \
    "porthole: session ended by the server: tcp://127\\.0\\.0\\.1:$port was taken over by session ss_[A-Za-z0-9]+ of account alice \\(tcp --force\\)"
sid=$(ph_ctl --json session list | jq -r 'select(.account == "alice") | .id')
grep -Eq "session ss_[A-Za-z0-9]+: ended \\(taken over by session $sid \\(tcp --force\\);" "$PH_LOG" ||
    ph_fail "the server did not log the takeover"
got=$("$TNET" echo "127.0.0.1:$port" 1000) || ph_fail "echo after the takeover"
kill "$new_pid"
ph_wait_gone "$new_pid"
ph_pass "tcp --force takes a stopped client's address over in $((t1 - t0)) ms; the old session is told why"
