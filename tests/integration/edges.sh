#!/bin/bash
# Edges through the real ssh client: two and three sessions of backend
# accounts share one public address and traffic reaches each; a member
# that dies under load loses no connection another member could take;
# a non-member account is refused; the edge's IP policy and PROXY setting
# apply; events carry the edge id; listings show the members.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq

ph_user alice
ph_user bob
ph_user dave
ph_user carol
ph_start_server

ph_ctl --json edge create --description "db pool" >"$PH_TMP/edge.json" ||
    ph_fail "edge create"
edge=$(jq -r .id "$PH_TMP/edge.json")
addr=$(jq -r '.addresses[0].url' "$PH_TMP/edge.json")
addr=${addr#tcp://}
port=${addr##*:}
[ -n "$port" ] || ph_fail "edge create printed no address"
for a in alice bob dave; do
	ph_ctl edge backend add "$edge" "$a" >/dev/null ||
	    ph_fail "edge backend add $a"
done

# member NAME ACCOUNT SERVICE-PORT [ssh options…]: a session of ACCOUNT
# serving the edge's address, forwarding to SERVICE-PORT.
member() {
	local name=$1 account=$2 svc=$3

	shift 3
	ph_ssh_bg "$name" "$@" -N -o ExitOnForwardFailure=yes \
	    -i "$PH_TMP/$account" -R "$port:127.0.0.1:$svc" "$account@127.0.0.1"
	# Ready: it takes connections (-N sessions wait ~1 s for a command).
	members_ready=$((members_ready + 1))
	ph_wait_count "$PH_LOG" "edge address ra_[A-Za-z0-9]+: process [0-9]+ ready" \
	    "$members_ready" 30 "$PH_LAST_PID"
}
members_ready=0

# accepts NAME: how many connections the service NAME accepted.
accepts() {
	_ph_count "$PH_TMP/$1.out" "^accept "
}

# --- not listening until a member comes; a non-member is refused ------------
"$TNET" refused "127.0.0.1:$port" || ph_fail "the edge listens with no member"
ph_listen svc_c -v echo
rc=0
ph_ssh -N -o ExitOnForwardFailure=yes -i "$PH_TMP/carol" \
    -R "$port:127.0.0.1:$PH_LAST_PORT" carol@127.0.0.1 </dev/null \
    2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "carol, not a backend, served the edge ($rc)"
grep -q "belongs to edge $edge and account carol is not one of its backends" \
    "$PH_LOG" || ph_fail "no reason logged for carol"
ph_pass "a non-member account is refused"

# --- two members share the address --------------------------------------------
ph_listen svc_a -v echo
svc_a=$PH_LAST_PORT
ph_listen svc_b -v echo
svc_b=$PH_LAST_PORT
member ma alice "$svc_a"
ma_pid=$PH_LAST_PID
member mb bob "$svc_b"
mb_pid=$PH_LAST_PID
for _ in $(seq 20); do
	got=$("$TNET" echo "127.0.0.1:$port" 1000) || ph_fail "echo via the edge"
	[ "$got" = "$("$TNET" sum 1000)" ] || ph_fail "edge echo differs"
done
a=$(accepts svc_a)
b=$(accepts svc_b)
# (Least connections: a member whose last connection is still closing
# counts as busier, so a loaded machine can skew the split.)
[ "$a" -ge 1 ] && [ "$b" -ge 1 ] && [ $((a + b)) -eq 20 ] ||
    ph_fail "20 connections split $a / $b between the members"
ph_pass "two members share one address: $a and $b of 20 connections"

# --- a third member ----------------------------------------------------------------
ph_listen svc_d -v echo
member md dave "$PH_LAST_PORT"
md_pid=$PH_LAST_PID
before_a=$(accepts svc_a)
before_b=$(accepts svc_b)
got=$("$TNET" many "127.0.0.1:$port" 30 1000) || ph_fail "30 via 3 members"
[ "$got" = "ok=30 failed=0" ] || ph_fail "30 via 3 members: $got"
a=$(($(accepts svc_a) - before_a))
b=$(($(accepts svc_b) - before_b))
d=$(accepts svc_d)
[ "$a" -ge 1 ] && [ "$b" -ge 1 ] && [ "$d" -ge 1 ] ||
    ph_fail "30 connections split $a / $b / $d: a member got none"
ph_pass "three members share it: $a / $b / $d of 30"

# --- listings ----------------------------------------------------------------------
n=0
until ph_ctl --json edge show "$edge" >"$PH_TMP/show.json" &&
    [ "$(jq '[.members[].connections_total] | add' "$PH_TMP/show.json")" -ge 50 ]; do
	n=$((n + 1)) # members record their counters every second
	[ "$n" -le 50 ] || ph_fail "edge show: $(cat "$PH_TMP/show.json")"
	sleep 0.1
done
[ "$(jq '.members | length' "$PH_TMP/show.json")" -eq 3 ] ||
    ph_fail "edge show lists $(jq '.members | length' "$PH_TMP/show.json") members"
[ "$(ph_ctl --json endpoint list | jq -r "select(.edge_id == \"$edge\") | .id" | wc -l)" -eq 3 ] ||
    ph_fail "endpoint list does not show 3 edge members"
ph_pass "edge show and endpoint list show the members with their counts"

# --- events carry the edge ---------------------------------------------------------
n=0
until [ "$(ph_ctl events --type tcp_connection_closed.v0 |
    jq -r --arg e "$edge" 'select(.object.edge.id == $e) | .event_id' |
    wc -l)" -ge 50 ]; do
	n=$((n + 1))
	[ "$n" -le 50 ] || ph_fail "connection events without the edge id"
	sleep 0.1
done
ph_pass "connection events carry the edge id"

# --- the edge's policy: IP restrictions and PROXY --------------------------------
ph_ctl ip-policy create edge-deny --deny 127.0.0.7 >/dev/null ||
    ph_fail "ip-policy create"
ph_ctl edge update "$edge" --ip-policy edge-deny >/dev/null ||
    ph_fail "edge update --ip-policy"
ph_wait_count "$PH_LOG" "settings re-read on request" 3 15
for _ in 1 2 3; do
	rc=0
	"$TNET" closed -s 127.0.0.7 -t 15 "127.0.0.1:$port" >/dev/null || rc=$?
	[ "$rc" -eq 0 ] || ph_fail "127.0.0.7 was not refused by the edge policy"
done
got=$("$TNET" echo -s 127.0.0.8 "127.0.0.1:$port" 100) ||
    ph_fail "127.0.0.8 was refused"
ph_pass "the edge's IP policy applies on every member"

kill "$md_pid"
ph_wait_gone "$md_pid"
ph_ctl edge update "$edge" --ip-policy none --proxy-proto 1 >/dev/null ||
    ph_fail "edge update --proxy-proto"
ph_wait_count "$PH_LOG" "settings re-read on request" 5 15
# Both remaining members now send a PROXY v1 header first; their echo
# services echo it back, so the reply starts with it.
for _ in 1 2 3 4; do
	got=$("$TNET" line -s 127.0.0.9 "127.0.0.1:$port" </dev/null) ||
	    ph_fail "no line through the edge"
	case $got in
	"PROXY TCP4 127.0.0.9 127.0.0.1 "*" $port"*) ;;
	*) ph_fail "no PROXY header from the edge: '$got'" ;;
	esac
done
ph_ctl edge update "$edge" --proxy-proto 0 >/dev/null
ph_wait_count "$PH_LOG" "settings re-read on request" 7 15
ph_pass "the edge's PROXY setting applies on every member"

# --- a member dies under load: nothing another member could take is lost ------
# Member "slow" has hung (its ssh is stopped), so the connections handed
# to it are still being opened when its client is killed: they must go
# to bob instead of being reset.
kill "$ma_pid"
ph_wait_gone "$ma_pid"
ph_listen svc_s -v echo
member slow alice "$PH_LAST_PORT"
slow_pid=$PH_LAST_PID
slow_ep=$(ph_ctl --json endpoint list | jq -r 'select(.account == "alice") | .id')
[ -n "$slow_ep" ] || ph_fail "no endpoint for the slow member"
kill -STOP "$slow_pid"
ph_bg load "$TNET" many -t 60 "127.0.0.1:$port" 200 200
load_pid=$PH_LAST_PID
ph_wait_for "$PH_LOG" "endpoint $slow_ep: connection from" 30 "$load_pid"
kill -9 "$slow_pid"
ph_wait_gone "$load_pid"
[ "$PH_EXIT_STATUS" -eq 0 ] && [ "$(cat "$PH_TMP/load.out")" = "ok=200 failed=0" ] ||
    ph_fail "under load with a member killed: $(cat "$PH_TMP/load.out" "$PH_TMP/load.err")"
grep -q "connection handed back to the edge group" "$PH_LOG" ||
    ph_fail "no connection was handed back (the test did not test that)"
ph_pass "a member killed under load: all 200 connections served by the others"

# --- an account's address put on the edge -------------------------------------------
# Its owner's plain endpoint stops; the edge's backends serve it instead.
ph_listen svc_own echo
own=$(ph_ctl address reserve carol) || ph_fail "reserve for carol"
own_port=${own##*:}
ph_ssh_bg own -i "$PH_TMP/carol" -R "$own_port:127.0.0.1:$PH_LAST_PORT" \
    carol@127.0.0.1 tcp
own_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/own.out" "^Forwarding" 15 "$own_pid"
ph_ctl edge address add "$edge" "$own" >/dev/null || ph_fail "edge address add"
ph_wait_for "$PH_TMP/own.err" "stopped: the server's administrator put this address on an edge" \
    15 "$own_pid"
"$TNET" refused "127.0.0.1:$own_port" || ph_fail "carol still serves $own"
member mown bob "$svc_b" -R "$own_port:127.0.0.1:$svc_b"
got=$("$TNET" echo "127.0.0.1:$own_port" 100) || ph_fail "echo via $own on the edge"
kill "$own_pid" "$PH_LAST_PID"
ph_wait_gone "$own_pid"
ph_wait_gone "$PH_LAST_PID"
ph_pass "an account's address put on the edge: its plain endpoint stops, backends serve it"

# --- the last member leaves: the address stops listening -------------------------
kill "$mb_pid"
ph_wait_gone "$mb_pid"
ph_wait_for "$PH_LOG" "edge address ra_[A-Za-z0-9]+: no member left; port $port closed"
"$TNET" refused "127.0.0.1:$port" || ph_fail "the edge still listens"
ph_pass "with the last member gone the address stops listening"
