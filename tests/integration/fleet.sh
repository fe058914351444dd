#!/bin/bash
# A fleet: three portholed nodes (127.0.0.2, .3 and .4, each with public
# host names of its own; nodes 1 and 2 also list the floating name
# float.test) on one private PostgreSQL. Stock ssh clients on each pin
# the one host key the nodes share (StrictHostKeyChecking=yes). Checked:
# rows and events name their node and region; a reserved address asked
# of a node that does not list its host is refused, naming the host; an
# administrator's change made through node 1's configuration ends a
# session on node 3; a node killed with SIGKILL (its sessions with it)
# is taken for lost after NodeTimeout, and its reserved address is then
# served by the surviving node; when it comes back it takes nothing back.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq curl

ph_pg_start
ssh-keygen -t ed25519 -N '' -q -C fleet -f "$PH_TMP/host_key" </dev/null ||
	ph_fail "ssh-keygen host key"

NPID=() NPORT=() NADDR=() NMPORT=()
# node_conf N NAME REGION HOST...: the configuration of node N.
node_conf() {
	local n=$1 name=$2 region=$3 h

	shift 3
	NADDR[n]=127.0.0.$((n + 1))
	[ -n "${NMPORT[n]:-}" ] ||
		NMPORT[n]=$("$TNET" freeport -b "${NADDR[n]}") || ph_fail "freeport"
	{
		echo "ListenAddress ${NADDR[n]}:0"
		echo "StateDirectory $PH_TMP/state$n"
		echo "TunnelAddress ${NADDR[n]}"
		for h in "$@"; do
			echo "PublicHost $h"
		done
		echo "Database $PH_PG_URI"
		echo "NodeName $name"
		echo "Region $region"
		echo "NodeTimeout 3s"
		echo "MetricsListen ${NADDR[n]}:${NMPORT[n]}"
		echo "HostKey $PH_TMP/host_key"
		echo "TokenKey $PH_TMP/token_key"
		echo "LogLevel DEBUG1"
	} >"$PH_TMP/node$n.conf"
}

# start_node N: start node N and wait until it listens.
start_node() {
	local n=$1 log=$PH_TMP/node$1.log

	[ -s "$log" ] && mv "$log" "$log.old"
	ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=4} \
	    "$PORTHOLED" -f "$PH_TMP/node$n.conf" </dev/null >"$log" 2>&1 &
	NPID[n]=$!
	ph_track "${NPID[n]}"
	ph_wait_for "$log" "portholed: listening on ${NADDR[n]//./\\.}:[0-9]+" \
	    30 "${NPID[n]}"
	NPORT[n]=$(sed -nE 's/.*portholed: listening on [0-9.]+:([0-9]+).*/\1/p' \
	    "$log" | head -n 1)
}

# stop_node N: SIGTERM; it must exit 0 with no sanitizer report.
stop_node() {
	local n=$1

	kill -TERM "${NPID[n]}"
	ph_wait_gone "${NPID[n]}" 30
	[ "$PH_EXIT_STATUS" -eq 0 ] ||
		ph_fail "node $n exited with status $PH_EXIT_STATUS"
	if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' \
	    "$PH_TMP/node$n.log"; then
		ph_fail "a sanitizer reported an error in node $n"
	fi
}

# The pids of process $1 and all its descendants.
tree() {
	local c

	echo "$1"
	for c in $(ps -o pid= --ppid "$1"); do
		tree "$c"
	done
}

# Set _fssh to a stock ssh client's command line for node N, pinning
# the fleet's one key under the floating name.
fssh_cmd() {
	_fssh=(ssh -F /dev/null -p "${NPORT[$1]}"
	    -o StrictHostKeyChecking=yes
	    -o HostKeyAlias=float.test
	    -o "UserKnownHostsFile=$PH_TMP/fleet_known_hosts"
	    -o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR
	    -o ConnectTimeout=10)
}

# fssh_bg NAME N ARGS...: that client in the background, as ph_bg (the
# pid is ssh's own).
fssh_bg() {
	local name=$1

	fssh_cmd "$2"
	shift 2
	ph_bg "$name" "${_fssh[@]}" "$@"
}

node_conf 1 n1 eu n1.test float.test
node_conf 2 n2 eu n2.test float.test
node_conf 3 n3 us n3.test
PH_CONF=$PH_TMP/node1.conf
for u in alice bob carol dave; do
	ph_user "$u"
done
start_node 1
start_node 2
start_node 3

# What a CI job pins: the line portholectl prints for the floating name.
"$CTL" -f "$PH_TMP/node1.conf" -o ListenAddress=127.0.0.1:22 hostkey \
    >"$PH_TMP/hostkey.out" || ph_fail "portholectl hostkey"
grep '^float\.test ' "$PH_TMP/hostkey.out" >"$PH_TMP/fleet_known_hosts" ||
	ph_fail "hostkey printed no float.test line: $(cat "$PH_TMP/hostkey.out")"

ph_listen echo echo
backend=$PH_LAST_PORT
# Follow the fleet's events from node 3's configuration: those stored
# before the follower's first look are listed (none but ours: the
# database is new), the others followed, so none is lost to the race
# between its start and the first logins ("--limit 0" lost one).
ph_bg follow "$CTL" -f "$PH_TMP/node3.conf" events --follow \
    --type tcp_session_started.v0

# --- one session on each node: rows and events name node and region ----
fssh_bg a 1 -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@"${NADDR[1]}" tcp
apid=$PH_LAST_PID
fssh_bg b 2 -i "$PH_TMP/bob" -R "0:127.0.0.1:$backend" bob@"${NADDR[2]}" tcp
bpid=$PH_LAST_PID
fssh_bg c 3 -i "$PH_TMP/carol" -R "0:127.0.0.1:$backend" carol@"${NADDR[3]}" tcp
cpid=$PH_LAST_PID
for x in a:1 b:2 c:3; do
	name=${x%:*} n=${x#*:}
	ph_wait_for "$PH_TMP/$name.out" "^Forwarding +tcp://n$n\\.test:[0-9]+" 20 \
	    "$(cat "$PH_TMP/$name.pid")"
	port=$(ph_tunnel_port "$PH_TMP/$name.out")
	got=$("$TNET" echo "${NADDR[n]}:$port" 10000) ||
		ph_fail "echo through node $n"
	[ "$got" = "$("$TNET" sum 10000)" ] || ph_fail "echo through node $n: $got"
done
ph_ctl --json session list >"$PH_TMP/sessions.json" || ph_fail "session list"
got=$(jq -rs 'map("\(.account)@\(.node)/\(.region)") | sort | join(" ")' \
    "$PH_TMP/sessions.json")
[ "$got" = "alice@n1/eu bob@n2/eu carol@n3/us" ] ||
	ph_fail "session list: $got"
got=$(ph_ctl --json endpoint list |
    jq -rs 'map("\(.host)@\(.node)/\(.region)") | sort | join(" ")')
[ "$got" = "n1.test@n1/eu n2.test@n2/eu n3.test@n3/us" ] ||
	ph_fail "endpoint list: $got"
ph_ctl session list | grep -Eq '^ss_[A-Za-z0-9]+ +carol .* n3 +us$' ||
	ph_fail "session list table: $(ph_ctl session list)"
got=$(ph_ctl --json events --type tcp_session_started.v0 |
    jq -rs 'map("\(.node)/\(.region)") | sort | join(" ")')
[ "$got" = "n1/eu n2/eu n3/us" ] || ph_fail "session events: $got"
ph_wait_count "$PH_TMP/follow.out" '"event_type":"tcp_session_started.v0"' 3 20
got=$(jq -rs 'map(.node) | sort | join(" ")' "$PH_TMP/follow.out")
[ "$got" = "n1 n2 n3" ] || ph_fail "events --follow on node 3 saw: $got"
ph_pass "three nodes on one PostgreSQL: sessions, endpoints and events name their node and region; events --follow sees the fleet; one pinned host key"

# --- a reserved address asked of a node that does not serve its host ---
addr=$(ph_ctl address reserve dave --host float.test) ||
	ph_fail "address reserve"
rport=${addr##*:}
fssh_bg d3 3 -i "$PH_TMP/dave" -R "float.test:$rport:127.0.0.1:$backend" \
    dave@"${NADDR[3]}" tcp
ph_wait_for "$PH_TMP/d3.err" "refused: float\\.test:$rport is served by the nodes that list float\\.test as a PublicHost, not by this one \\(n3\\); connect to float\\.test" \
    20 "$PH_LAST_PID"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "a reserved address asked of the wrong node is refused, naming the host to connect to"

# --- an administrator's change made on node 1 reaches node 3 ------------
cid=$(jq -r 'select(.account == "carol") | .id' "$PH_TMP/sessions.json")
ph_ctl session kill "$cid" >/dev/null || ph_fail "session kill $cid"
ph_wait_gone "$cpid" 20
grep -q "session $cid" "$PH_TMP/node3.log" ||
	ph_fail "node 3 did not log carol's session"
ph_pass "session kill through node 1's configuration ends the session on node 3"

# --- fail-over of a reserved address from a killed node -----------------
fssh_bg d1 1 -i "$PH_TMP/dave" -R "float.test:$rport:127.0.0.1:$backend" \
    dave@"${NADDR[1]}" tcp
d1pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/d1.out" "^Forwarding +tcp://float\\.test:$rport" 20 "$d1pid"
got=$("$TNET" echo "${NADDR[1]}:$rport" 1000) || ph_fail "echo through node 1"
d1sid=$(ph_ctl --json session list |
    jq -r 'select(.account == "dave" and .node == "n1") | .id')
# Node 1 and every process of its are killed at once.
mapfile -t pids < <(tree "${NPID[1]}")
kill -KILL "${pids[@]}"
ph_wait_gone "${NPID[1]}"
ph_wait_gone "$d1pid" 30
# The client retries on node 2 (the floating address moved there) until
# node 1 is taken for lost and the address is free; the host key is the
# one pinned.
deadline=$((SECONDS + 60))
while :; do
	fssh_bg d2 2 -i "$PH_TMP/dave" -o ExitOnForwardFailure=yes \
	    -R "float.test:$rport:127.0.0.1:$backend" dave@"${NADDR[2]}" tcp
	d2pid=$PH_LAST_PID
	while _ph_alive "$d2pid" && ! grep -q '^Forwarding' "$PH_TMP/d2.out"; do
		sleep 0.05
	done
	grep -Eq "^Forwarding +tcp://float\\.test:$rport" "$PH_TMP/d2.out" && break
	grep -q 'Host key verification failed\|HOST IDENTIFICATION' \
	    "$PH_TMP/d2.err" && ph_fail "node 2's host key: $(cat "$PH_TMP/d2.err")"
	[ "$SECONDS" -lt "$deadline" ] ||
		ph_fail "node 2 never served float.test:$rport: $(cat "$PH_TMP/d2.out" "$PH_TMP/d2.err")"
	ph_wait_gone "$d2pid"
	sleep 0.5
done
got=$("$TNET" echo "${NADDR[2]}:$rport" 10000) || ph_fail "echo through node 2"
[ "$got" = "$("$TNET" sum 10000)" ] || ph_fail "echo through node 2: $got"
grep -q "node n1: no heartbeat for over 3s: taken for lost" \
    "$PH_TMP/node2.log" "$PH_TMP/node3.log" ||
	ph_fail "no node logged n1 as lost"
got=$(ph_ctl --json address show "$addr" | jq -r '.node')
[ "$got" = n2 ] || ph_fail "address show: served by $got"
got=$(ph_ctl --json session list | jq -rs 'map(select(.node == "n1")) | length')
[ "$got" -eq 0 ] || ph_fail "$got sessions of the lost node are still live"
# The lost node's session gets its closing event, as node 1's.
deadline=$((SECONDS + 30))
until ph_ctl events --type tcp_session_ended.v0 --limit 100 |
    jq -se --arg s "$d1sid" 'any(.[]; .object.session.id == $s and
    .object.session.reason == "node lost" and .node == "n1")' >/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] ||
		ph_fail "no tcp_session_ended.v0 (node lost) for $d1sid"
	sleep 0.2
done
ph_pass "node 1 killed: taken for lost, its sessions' closing events recorded for it, its reserved address served by node 2 to a client pinning the same key"

# --- the lost node comes back and takes nothing back --------------------
start_node 1
got=$(ph_ctl --json address show "$addr" | jq -r '.node')
[ "$got" = n2 ] || ph_fail "after node 1's return, served by $got"
_ph_alive "$d2pid" || ph_fail "node 2's session ended when node 1 came back"
got=$("$TNET" echo "${NADDR[2]}:$rport" 1000) || ph_fail "echo through node 2"
fssh_bg d1b 1 -i "$PH_TMP/dave" -R "float.test:$rport:127.0.0.1:$backend" \
    dave@"${NADDR[1]}" tcp
ph_wait_for "$PH_TMP/d1b.err" "refused: float\\.test:$rport is already being served" \
    20 "$PH_LAST_PID"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "node 1 back: the address stays with node 2; node 1 refuses it as in use"

# closed "EP...": how many tcp_connection_closed.v0 events the store
# holds for those endpoints.
closed() {
	ph_ctl events --type tcp_connection_closed.v0 --limit 1000000 |
	    jq -s --arg e " $1 " \
	    'map(select(.object.endpoint.id as $i | $e | contains(" \($i) "))) | length'
}

# wait_closed WANT "EP...": wait (up to 60 s) until closed reaches WANT,
# then fail unless it is exactly WANT.
wait_closed() {
	local want=$1 got deadline=$((SECONDS + 60))

	while got=$(closed "$2") && [ "$got" -lt "$want" ] &&
	    [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.2
	done
	[ "$got" -eq "$want" ] || ph_fail "$got connection events, want $want"
}

# The id of account $1's live endpoint.
ep_of() {
	ph_ctl --json endpoint list | jq -r --arg a "$1" 'select(.account == $a) | .id'
}

# --- PostgreSQL halted under traffic -------------------------------------
bport=$(ph_tunnel_port "$PH_TMP/b.out")
bep=$(ep_of bob)
before=$(closed "$bep")
fssh_bg e3 3 -i "$PH_TMP/carol" -R "0:127.0.0.1:$backend" carol@"${NADDR[3]}" tcp
e3pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/e3.out" '^Forwarding' 20 "$e3pid"
e3sid=$(ph_ctl --json session list | jq -r 'select(.account == "carol") | .id')
lost_before=$(cat "$PH_TMP"/node[123].log | grep -c "taken for lost")
"$top_srcdir/tests/pg.sh" halt "$PH_PG_URI" || ph_fail "pg.sh halt"
down_at=$SECONDS
made=0
# drive N: N more connections through bob's tunnel.
drive() {
	local i

	for i in $(seq "$1"); do
		got=$("$TNET" echo "${NADDR[2]}:$bport" 1000) ||
			ph_fail "echo $((made + 1)) through node 2 while the database is down"
		made=$((made + 1))
	done
}
# Connections through a live tunnel keep flowing.
drive 20
# A new login is refused, saying why.
fssh_cmd 2
rc=0
"${_fssh[@]}" -i "$PH_TMP/bob" -R "0:127.0.0.1:$backend" bob@"${NADDR[2]}" \
    tcp </dev/null >/dev/null 2>"$PH_TMP/down.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "login while the database is down: exit $rc"
grep -q "the server cannot reach its database; try again in a moment" \
    "$PH_TMP/down.err" || ph_fail "login while down: $(cat "$PH_TMP/down.err")"
# A session ends while the database is away.
kill "$e3pid"
ph_wait_gone "$e3pid"
ph_wait_for "$PH_TMP/node3.log" "session $e3sid: ended" 20
# Each node has retried three times; traffic goes on until the database
# has been down for 30 seconds.
ph_wait_count "$PH_TMP/node2.log" "Database: still unreachable" 3 30
ph_wait_count "$PH_TMP/node3.log" "Database: still unreachable" 3 30
while [ $((SECONDS - down_at)) -lt 31 ]; do
	drive 5
done
"$top_srcdir/tests/pg.sh" resume "$PH_PG_URI" || ph_fail "pg.sh resume"
ph_wait_for "$PH_TMP/node2.log" "Database: connected again" 30
ph_wait_for "$PH_TMP/node3.log" "Database: connected again" 30
# Every connection made meanwhile is accounted for.
wait_closed $((before + made)) "$bep"
# The session that ended meanwhile is ended in the store too.
deadline=$((SECONDS + 30))
while ph_ctl --json session list | jq -se --arg s "$e3sid" \
    'any(.[]; .id == $s)' >/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] || ph_fail "session $e3sid is still live"
	sleep 0.2
done
# Nobody took anybody for lost over an outage they all had; the
# sessions live before are live after.
_ph_alive "$bpid" || ph_fail "bob's session ended over the outage"
_ph_alive "$d2pid" || ph_fail "dave's session ended over the outage"
got=$("$TNET" echo "${NADDR[2]}:$rport" 1000) || ph_fail "echo to float.test"
[ "$(cat "$PH_TMP"/node[123].log | grep -c "taken for lost")" -eq "$lost_before" ] ||
	ph_fail "a node was taken for lost over the outage"
# And logins work again.
fssh_bg b2 2 -i "$PH_TMP/bob" -R "0:127.0.0.1:$backend" bob@"${NADDR[2]}" tcp
ph_wait_for "$PH_TMP/b2.out" '^Forwarding' 20 "$PH_LAST_PID"
kill "$PH_LAST_PID"
ph_pass "PostgreSQL halted for 30 s: $made connections relayed meanwhile, logins refused saying why, every event lands once it is back, no node is taken for lost"

# --- a burst of 1000 connections over three nodes: 1000 events -----------
fssh_bg a2 1 -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@"${NADDR[1]}" tcp
a2pid=$PH_LAST_PID
fssh_bg c2 3 -i "$PH_TMP/carol" -R "0:127.0.0.1:$backend" carol@"${NADDR[3]}" tcp
c2pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/a2.out" '^Forwarding' 20 "$a2pid"
ph_wait_for "$PH_TMP/c2.out" '^Forwarding' 20 "$c2pid"
eps="$(ep_of alice) $bep $(ep_of carol)"
before=$(closed "$eps")
"$TNET" many -t 120 "${NADDR[1]}:$(ph_tunnel_port "$PH_TMP/a2.out")" 334 100 \
    >"$PH_TMP/m1.out" &
m1=$!
"$TNET" many -t 120 "${NADDR[2]}:$bport" 333 100 >"$PH_TMP/m2.out" &
m2=$!
"$TNET" many -t 120 "${NADDR[3]}:$(ph_tunnel_port "$PH_TMP/c2.out")" 333 100 \
    >"$PH_TMP/m3.out" &
m3=$!
wait "$m1" || ph_fail "burst on node 1: $(cat "$PH_TMP/m1.out")"
wait "$m2" || ph_fail "burst on node 2: $(cat "$PH_TMP/m2.out")"
wait "$m3" || ph_fail "burst on node 3: $(cat "$PH_TMP/m3.out")"
wait_closed $((before + 1000)) "$eps"
got=$(ph_ctl events --type tcp_connection_closed.v0 --limit 1000000 |
    jq -rs --arg e " $eps " 'map(select(.object.endpoint.id as $i | $e | contains(" \($i) ")))
    | .['"$before"':] | group_by(.node) | map("\(.[0].node)=\(length)")
    | join(" ")')
[ "$got" = "n1=334 n2=333 n3=333" ] || ph_fail "events by node: $got"
ph_pass "1000 connections spread over three nodes: 1000 events, each naming its node"

# --- metrics: each node serves its own, labelled with node and region ----
# Node 3 relayed carol's first echo and 333 of the burst.
deadline=$((SECONDS + 30))
while :; do
	curl -fsS "http://${NADDR[3]}:${NMPORT[3]}/metrics" >"$PH_TMP/m3.txt" ||
		ph_fail "scrape of node 3"
	grep -q '^porthole_connections_total{node="n3",region="us"} 334$' \
	    "$PH_TMP/m3.txt" && break
	[ "$SECONDS" -lt "$deadline" ] ||
		ph_fail "node 3's metrics: $(grep connections_total "$PH_TMP/m3.txt")"
	sleep 0.2
done
grep -q '^porthole_sessions{node="n3",region="us"} 1$' "$PH_TMP/m3.txt" ||
	ph_fail "node 3's sessions: $(grep '^porthole_sessions' "$PH_TMP/m3.txt")"
grep -Eq 'node="n[12]"' "$PH_TMP/m3.txt" && ph_fail "node 3 shows other nodes' metrics"
grep -E '^porthole_' "$PH_TMP/m3.txt" | grep -v '{node="n3",region="us"' &&
	ph_fail "a sample of node 3 without its labels"
curl -fsS "http://${NADDR[2]}:${NMPORT[2]}/metrics" >"$PH_TMP/m2.txt" ||
	ph_fail "scrape of node 2"
grep -q '^porthole_sessions{node="n2",region="eu"} [0-9]' "$PH_TMP/m2.txt" ||
	ph_fail "node 2's metrics: $(head -5 "$PH_TMP/m2.txt")"
# portholectl, from anywhere, shows every node's counters.
got=$(ph_ctl metrics | grep -Eo '^porthole_connections_total\{node="n[123]"' |
    sort -u | wc -l)
[ "$got" -eq 3 ] || ph_fail "portholectl metrics: $got nodes' connection counters"
ph_pass "each node serves its own metrics labelled with node and region; portholectl shows every node's"

kill "$apid" "$bpid" "$d2pid" "$a2pid" "$c2pid" 2>/dev/null
for n in 1 2 3; do
	stop_node "$n"
done
