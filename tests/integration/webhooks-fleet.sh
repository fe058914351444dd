#!/bin/bash
# Webhooks in a fleet: two nodes on one PostgreSQL database, sessions
# and connections on both, one destination for every event. One node
# holds the destination's lease and delivers the events of both, in the
# store's order, each request signed right; when that node stops, it
# gives the lease up and the other node takes over where the cursor
# stands, with nothing lost.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq /usr/bin/python3

RECV=$top_srcdir/tests/integration/hookrecv.py
ph_pg_start

NPID=() NPORT=() NADDR=()
# node_conf N NAME: the configuration of node N, on 127.0.0.N+1.
node_conf() {
	NADDR[$1]=127.0.0.$(($1 + 1))
	{
		echo "ListenAddress ${NADDR[$1]}:0"
		echo "StateDirectory $PH_TMP/state$1"
		echo "TunnelAddress ${NADDR[$1]}"
		echo "PublicHost ${NADDR[$1]}"
		echo "Database $PH_PG_URI"
		echo "NodeName $2"
		echo "NodeTimeout 3s"
		echo "TokenKey $PH_TMP/token_key"
		echo "LogLevel DEBUG1"
	} >"$PH_TMP/node$1.conf"
}

# start_node N: start node N and wait until it listens.
start_node() {
	local log=$PH_TMP/node$1.log

	[ -s "$log" ] && mv "$log" "$log.old"
	ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=4} \
	    "$PORTHOLED" -f "$PH_TMP/node$1.conf" </dev/null >"$log" 2>&1 &
	NPID[$1]=$!
	ph_track "${NPID[$1]}"
	ph_wait_for "$log" "portholed: listening on ${NADDR[$1]//./\\.}:[0-9]+" \
	    30 "${NPID[$1]}"
	NPORT[$1]=$(sed -nE \
	    's/.*portholed: listening on [0-9.]+:([0-9]+).*/\1/p' "$log" |
	    head -n 1)
}

# connections NAME N COUNT: COUNT connections through a new session on
# node N.
connections() {
	local port

	PH_PORT=${NPORT[$2]}
	ph_ssh_bg "$1" -i "$PH_TMP/alice" -R "0:127.0.0.1:$svc" \
	    "alice@${NADDR[$2]}" tcp
	ph_wait_for "$PH_TMP/$1.out" "^Forwarding" 15 "$PH_LAST_PID"
	port=$(ph_tunnel_port "$PH_TMP/$1.out")
	"$TNET" many -t 60 "${NADDR[$2]}:$port" "$3" 16 >"$PH_TMP/$1.many" ||
	    ph_fail "connections: $(cat "$PH_TMP/$1.many")"
}

# received: the event ids the receiver got, in order, each once.
received() {
	[ -s "$PH_TMP/hook/events.jsonl" ] || return 0
	jq -r '.event.event_id' "$PH_TMP/hook/events.jsonl" | awk '!seen[$0]++'
}

# stored_since: the ids of the events stored after before.ids.
stored_since() {
	ph_ctl --json events | jq -r .event_id |
	    grep -vxF -f "$PH_TMP/before.ids" || true
}

# wait_all TIMEOUT: until the receiver has every event, in order.
wait_all() {
	local n=0

	until [ "$(received)" = "$(stored_since)" ]; do
		n=$((n + 1))
		[ "$n" -le $(($1 * 5)) ] || ph_fail "got $(received | wc -l) \
of $(stored_since | wc -l) events after $1 s"
		sleep 0.2
	done
}

# delivered_by N: how many batches node N's log says it delivered.
delivered_by() {
	grep -c "webhook $dst: [0-9]* event(s) delivered" "$PH_TMP/node$1.log" ||
	    true
}

node_conf 1 na
node_conf 2 nb
PH_CONF=$PH_TMP/node1.conf
ph_user alice
ph_listen svc echo
svc=$PH_LAST_PORT
start_node 1
start_node 2

rport=$("$TNET" freeport)
ph_ctl --json events | jq -r .event_id >"$PH_TMP/before.ids"
ph_ctl destination create "http://127.0.0.1:$rport/" >"$PH_TMP/secret" ||
    ph_fail "destination create"
dst=$(ph_ctl --json destination list | jq -r .id)
ph_ctl subscription create --destination "$dst" --type '*' >/dev/null ||
    ph_fail "subscription create"
mkdir "$PH_TMP/hook"
ph_bg recv /usr/bin/python3 "$RECV" serve "$rport" "$PH_TMP/secret" \
    "$PH_TMP/hook"
ph_wait_for "$PH_TMP/recv.out" '^listening' 15 "$PH_LAST_PID"

# --- one node delivers the events of both ------------------------------------
connections s1 1 10
connections s2 2 10
wait_all 30
holder=$(ph_ctl --json destination show "$dst" | jq -r .lease_node)
case $holder in
na) h=1 o=2 ;;
nb) h=2 o=1 ;;
*) ph_fail "lease held by '$holder'" ;;
esac
[ "$(delivered_by "$h")" -gt 0 ] || ph_fail "node $holder delivered nothing"
[ "$(delivered_by "$o")" -eq 0 ] ||
    ph_fail "both nodes delivered: $(delivered_by "$o") batches from the other"
ph_pass "node $holder delivers the events of both nodes, in order"

# --- the holder stops: the other takes over ----------------------------------
kill -TERM "${NPID[$h]}"
ph_wait_gone "${NPID[$h]}" 30
connections s3 "$o" 10
wait_all 40
[ "$(delivered_by "$o")" -gt 0 ] || ph_fail "node $o delivered nothing"
[ "$(ph_ctl --json destination show "$dst" | jq -r .lease_node)" != \
    "$holder" ] || ph_fail "the lease stayed with the stopped node"
[ ! -s "$PH_TMP/hook/bad.log" ] ||
    ph_fail "bad signatures: $(head -n 3 "$PH_TMP/hook/bad.log")"
ph_pass "the other node takes over; all $(received | wc -l) events, signed"
kill -TERM "${NPID[$o]}"
ph_wait_gone "${NPID[$o]}" 30
