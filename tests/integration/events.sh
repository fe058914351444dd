#!/bin/bash
# Events and metrics through the real ssh client: 1000 connections closing
# at once give 1000 tcp_connection_closed.v0 events, matched one by one
# with what the test sent; refused connections are events with the deny
# decision; session and endpoint lifecycle events; EventLog gets the same
# lines and follows a rotation; EventMaxCount caps, EventRetention and
# SessionRetention prune; /metrics and `portholectl metrics` count what
# happened; the log says what it should.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq curl

ph_user alice
ph_keygen stranger
mport=$("$TNET" freeport)
evlog=$PH_TMP/events.log
ph_start_server -o "EventLog=$evlog" -o "MetricsListen=127.0.0.1:$mport"
key=$PH_TMP/alice
ph_listen svc echo
svc=$PH_LAST_PORT

# stored TYPE: how many events of TYPE the store holds.
stored() {
	ph_ctl events --type "$1" | wc -l
}

# wait_stored TYPE N: until the store holds N events of TYPE.
wait_stored() {
	local n=0

	until [ "$(stored "$1")" -ge "$2" ]; do
		n=$((n + 1))
		[ "$n" -le 300 ] ||
		    ph_fail "only $(stored "$1") of $2 $1 events stored"
		sleep 0.1
	done
}

ph_ssh_bg sess -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp \
    --cidr-deny=127.0.0.2
sess_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/sess.out" "^Forwarding" 15 "$sess_pid"
port=$(ph_tunnel_port "$PH_TMP/sess.out")

# --- 1000 connections closing within a second ------------------------------------
TNET_PORTS=$PH_TMP/sent.ports "$TNET" many -t 120 "127.0.0.1:$port" 1000 64 \
    >"$PH_TMP/many.out" || ph_fail "burst: $(cat "$PH_TMP/many.out")"
[ "$(cat "$PH_TMP/many.out")" = "ok=1000 failed=0" ] ||
    ph_fail "burst: $(cat "$PH_TMP/many.out")"
wait_stored tcp_connection_closed.v0 1000
ph_ctl events --type tcp_connection_closed.v0 >"$PH_TMP/closed.json"
[ "$(wc -l <"$PH_TMP/closed.json")" -eq 1000 ] ||
    ph_fail "want exactly 1000 events, got $(wc -l <"$PH_TMP/closed.json")"
# Event by event: the client ports are exactly those the test used, and
# each connection moved exactly 64 bytes each way through this endpoint.
jq -r '.object.conn.client_port' "$PH_TMP/closed.json" | sort -n \
    >"$PH_TMP/seen.ports"
sort -n "$PH_TMP/sent.ports" >"$PH_TMP/sent.sorted"
cmp -s "$PH_TMP/seen.ports" "$PH_TMP/sent.sorted" ||
    ph_fail "event client ports differ from the ports the test used"
bad=$(jq -c --arg url "tcp://127.0.0.1:$port" --argjson port "$port" 'select(
    .event_type != "tcp_connection_closed.v0" or
    (.event_id | test("^ev_[A-Za-z0-9]{24}$") | not) or
    (.event_timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$") | not) or
    (.account_id | test("^ac_") | not) or
    .object.conn.client_ip != "127.0.0.1" or
    .object.conn.server_port != $port or
    .object.conn.server_name != "127.0.0.1" or
    .object.conn.bytes_in != 64 or .object.conn.bytes_out != 64 or
    .object.conn.start_ts > .object.conn.end_ts or
    .object.endpoint.url != $url or
    (.object.endpoint.id | test("^ep_") | not) or
    .object.ip_policy.decision != "allow")' "$PH_TMP/closed.json" | head -n 3)
[ -z "$bad" ] || ph_fail "bad events: $bad"
[ "$(jq -r .event_id "$PH_TMP/closed.json" | sort -u | wc -l)" -eq 1000 ] ||
    ph_fail "event ids are not unique"
ph_pass "1000 connections closing at once: 1000 exact events"

# --- a refused connection is an event too ------------------------------------------
"$TNET" closed -s 127.0.0.2 -t 15 "127.0.0.1:$port" >/dev/null ||
    ph_fail "127.0.0.2 was not refused"
wait_stored tcp_connection_closed.v0 1001
ph_ctl events --type tcp_connection_closed.v0 --limit 1 >"$PH_TMP/deny.json"
jq -e '.object.ip_policy.decision == "deny" and
    .object.conn.client_ip == "127.0.0.2" and .object.conn.bytes_in == 0' \
    "$PH_TMP/deny.json" >/dev/null || ph_fail "deny event: $(cat "$PH_TMP/deny.json")"
ph_pass "a refused connection: an event with decision deny"

# --- session and endpoint lifecycle --------------------------------------------------
kill "$sess_pid"
ph_wait_gone "$sess_pid"
wait_stored tcp_session_ended.v0 1
sid=$(ph_ctl events --type tcp_session_started.v0 | jq -r .object.session.id)
for t in tcp_session_started.v0 tcp_endpoint_started.v0 \
    tcp_endpoint_stopped.v0 tcp_session_ended.v0; do
	[ "$(stored "$t")" -eq 1 ] || ph_fail "want one $t event"
done
ph_ctl events --type tcp_endpoint_stopped.v0 | jq -e --arg sid "$sid" \
    '.object.endpoint.session_id == $sid and
     .object.endpoint.connections_total == 1000' >/dev/null ||
    ph_fail "endpoint stopped: $(ph_ctl events --type tcp_endpoint_stopped.v0)"
ph_ctl events --type tcp_session_ended.v0 | jq -e --arg sid "$sid" \
    '.object.session.id == $sid and .object.session.duration_ms > 0' \
    >/dev/null || ph_fail "session ended event"
ph_pass "session and endpoint lifecycle events"

# --- EventLog: the same lines, and it follows a rotation -------------------------------
ph_ctl events >"$PH_TMP/all.json"
sort "$PH_TMP/all.json" >"$PH_TMP/all.sorted"
sort "$evlog" >"$PH_TMP/log.sorted"
cmp -s "$PH_TMP/all.sorted" "$PH_TMP/log.sorted" ||
    ph_fail "EventLog differs from the stored events"
mv "$evlog" "$evlog.1"
ph_ssh_bg again -N -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1
ph_wait_tunnel again
wait_stored tcp_session_started.v0 2
ph_wait_for "$evlog" '"event_type":"tcp_session_started.v0"' 15
ph_pass "EventLog holds every stored event and reopens after rotation"

# --- metrics ------------------------------------------------------------------------------
rc=0
ph_ssh -i "$PH_TMP/stranger" -N alice@127.0.0.1 </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "stranger got in"
rc=0
ph_ssh -i "$key" -N -o ExitOnForwardFailure=yes -R "1:127.0.0.1:$svc" \
    alice@127.0.0.1 </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a fixed port was granted"
# Counters reach the store within a second of the session's flush.
n=0
until curl -fsS "http://127.0.0.1:$mport/metrics" >"$PH_TMP/metrics.txt" &&
    grep -q '^porthole_auth_failures_total [1-9]' "$PH_TMP/metrics.txt" &&
    grep -q '^porthole_forwards_refused_total{reason="not_reserved"} 1$' \
        "$PH_TMP/metrics.txt"; do
	n=$((n + 1))
	[ "$n" -le 100 ] || ph_fail "metrics: $(cat "$PH_TMP/metrics.txt")"
	sleep 0.1
done
grep -q '^porthole_connections_total 1000$' "$PH_TMP/metrics.txt" ||
    ph_fail "connections_total: $(grep connections_total "$PH_TMP/metrics.txt")"
grep -q '^porthole_connections_refused_total{reason="ip_policy"} 1$' \
    "$PH_TMP/metrics.txt" || ph_fail "refused by policy not counted"
grep -q '^porthole_bytes_in_total 64000$' "$PH_TMP/metrics.txt" ||
    ph_fail "bytes_in: $(grep bytes_in "$PH_TMP/metrics.txt")"
grep -q '^porthole_sessions 1$' "$PH_TMP/metrics.txt" ||
    ph_fail "live sessions: $(grep '^porthole_sessions' "$PH_TMP/metrics.txt")"
grep -q '^porthole_endpoints 1$' "$PH_TMP/metrics.txt" ||
    ph_fail "live endpoints"
grep -q '^# TYPE porthole_connections_total counter$' "$PH_TMP/metrics.txt" ||
    ph_fail "no TYPE line"
grep -vE '^#|^[a-z_]+(\{[^}]*\})? [0-9]+$' "$PH_TMP/metrics.txt" &&
    ph_fail "a line is not in the exposition format"
ph_ctl metrics >"$PH_TMP/ctl-metrics.txt" || ph_fail "portholectl metrics"
cmp -s "$PH_TMP/metrics.txt" "$PH_TMP/ctl-metrics.txt" ||
    ph_fail "portholectl metrics differs from /metrics"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/other")" = 404 ] ||
    ph_fail "/other is not 404"
ph_pass "/metrics and portholectl metrics count sessions, connections, bytes, refusals"

# --- the log says what happened, and nothing secret -----------------------------------
grep -Eq "session $sid: ended \(connection closed; account alice from 127\.0\.0\.1 port [0-9]+, [0-9]+s, 1000 connection" \
    "$PH_LOG" || ph_fail "no session end line with its duration"
grep -q "forward 'localhost' port 1 refused: localhost:1\|forward 'localhost' port 1 refused" \
    "$PH_LOG" || ph_fail "no refused forward line"
grep -q "key SHA256:.* is not registered" "$PH_LOG" || ph_fail "no auth line"
ph_pass "log lines for session end, refused forwards, authentication"

# --- the cap on the number of events ---------------------------------------------------
ph_stop_server
ph_ctl events >"$PH_TMP/all.json"
[ "$(wc -l <"$PH_TMP/all.json")" -gt 10 ] || ph_fail "too few events to cap"
tail -n 10 "$PH_TMP/all.json" >"$PH_TMP/newest.json"
ph_start_server -o "EventLog=$evlog" -o EventMaxCount=10
# portholed prints its listening line before it first prunes.
ph_wait_for "$PH_LOG" \
    "deleted the $(($(wc -l <"$PH_TMP/all.json") - 10)) oldest event\\(s\\) beyond EventMaxCount"
ph_ctl events >"$PH_TMP/capped.json"
cmp -s "$PH_TMP/newest.json" "$PH_TMP/capped.json" ||
    ph_fail "EventMaxCount=10 kept $(wc -l <"$PH_TMP/capped.json") events," \
	"not the newest 10"
ph_pass "EventMaxCount keeps the newest events"

# --- retention ----------------------------------------------------------------------------
# The ended session is still on record: session kill says so.
ph_ctl session kill "$sid" 2>"$PH_TMP/kill.err" && ph_fail "killed an ended session"
grep -q "session $sid has already ended" "$PH_TMP/kill.err" ||
    ph_fail "session kill: $(cat "$PH_TMP/kill.err")"
ph_stop_server
sleep 1.1 # the events and the session must be older than 1 s below
ph_start_server -o "EventLog=$evlog" -o EventRetention=1s \
    -o SessionRetention=1s -o AddressAffinity=0
ph_wait_for "$PH_LOG" \
    "pruned [1-9][0-9]* session\\(s\\) that ended before SessionRetention"
[ "$(ph_ctl events | wc -l)" -eq 0 ] ||
    ph_fail "$(ph_ctl events | wc -l) events outlived EventRetention=1s"
ph_pass "events older than EventRetention are pruned"
ph_ctl session kill "$sid" 2>"$PH_TMP/kill.err" && ph_fail "killed a pruned session"
grep -q "no such session '$sid'" "$PH_TMP/kill.err" ||
    ph_fail "session $sid outlived SessionRetention=1s: $(cat "$PH_TMP/kill.err")"
grep -Eq "pruned [1-9][0-9]* session\(s\) that ended before SessionRetention" \
    "$PH_LOG" ||
    ph_fail "no log line for SessionRetention"
ph_pass "sessions that ended before SessionRetention are pruned"
