#!/bin/bash
# Usage accounting with a real ssh client: 1 MiB echoed through a tunnel
# shows as 1 MiB in and 1 MiB out for the account and its endpoint
# (portholectl usage, table and --json, by hour and by day), a transfer
# cut short by a portholed shutdown is counted and survives the restart,
# a refused connection is counted as refused, an account sees none of
# another's, and /metrics has account-labelled counters only with
# MetricsAccountLabels yes.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen curl

MIB=1048576
ph_user alice
ph_user bob
mport=$("$TNET" freeport)
ph_ctl address reserve alice >/dev/null || ph_fail "address reserve"
tport=$(ph_ctl --json address list alice |
    sed -n 's/.*"port":\([0-9]*\).*/\1/p' | head -n 1)
[ -n "$tport" ] || ph_fail "no reserved port"
ph_start_server -o "MetricsListen=127.0.0.1:$mport"
ph_listen echo echo
eport=$PH_LAST_PORT

# tunnel NAME: alice's ssh -N -R to the echo service on her address.
tunnel() {
	ph_ssh_bg "$1" -i "$PH_TMP/alice" -R "$tport:127.0.0.1:$eport" \
	    alice@127.0.0.1 tcp
	ph_wait_tunnel "$1"
	[ "$PH_TUNNEL_PORT" = "$tport" ] ||
	    ph_fail "tunnel on $PH_TUNNEL_PORT, not the reserved $tport"
}

# echo_mib: 1 MiB through the tunnel and back, intact.
echo_mib() {
	local got

	got=$("$TNET" echo -t 30 "127.0.0.1:$tport" "$MIB") ||
	    ph_fail "echo through the tunnel failed"
	[ "$got" = "$("$TNET" sum "$MIB")" ] || ph_fail "echo: got '$got'"
}

# wait_usage PATTERN [ARGS...]: wait up to 10 s for a line of
# "usage --json ARGS" to match the extended PATTERN; the lines in $out.
wait_usage() {
	local re=$1 deadline=$((SECONDS + 10))

	shift
	while :; do
		out=$(ph_ctl --json usage "$@") || ph_fail "usage $* failed"
		if printf '%s\n' "$out" | grep -Eq -- "$re"; then
			return 0
		fi
		[ "$SECONDS" -lt "$deadline" ] ||
		    ph_fail "usage $*: no line matching /$re/ in: $out"
		sleep 0.1
	done
}

# figures N_CONNS N_REFUSED BYTES_IN BYTES_OUT: the JSON fields, in order.
figures() {
	printf '"connections":%s,"refused":%s,"bytes_in":%s,"bytes_out":%s}' \
	    "$@"
}

ep="127\\.0\\.0\\.1:$tport"

# --- 1 MiB echoed: 1 MiB in and out, for the account and the endpoint ---
tunnel one
echo_mib
wait_usage "^\\{\"account\":\"alice\",\"account_id\":\"ac_[A-Za-z0-9]+\",\"endpoint\":\"$ep\",\"start\":\"[0-9T:.Z-]+\",$(figures 1 0 $MIB $MIB)\$" alice
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] ||
    ph_fail "usage alice: more than one line: $out"
ph_pass "1 MiB echoed shows 1 MiB in and out for alice's endpoint (--json)"

# The table: the endpoint's row and the account's total.
ph_ctl usage >"$PH_TMP/usage.table" || ph_fail "usage (table) failed"
grep -Eq "^ACCOUNT +ENDPOINT +CONNECTIONS +REFUSED +BYTES_IN +BYTES_OUT\$" \
    "$PH_TMP/usage.table" || ph_fail "usage: no header: $(cat "$PH_TMP/usage.table")"
grep -Eq "^alice +$ep +1 +0 +$MIB +$MIB\$" "$PH_TMP/usage.table" ||
    ph_fail "usage: no endpoint row: $(cat "$PH_TMP/usage.table")"
grep -Eq "^alice +total +1 +0 +$MIB +$MIB\$" "$PH_TMP/usage.table" ||
    ph_fail "usage: no total row: $(cat "$PH_TMP/usage.table")"
if grep -q '^bob' "$PH_TMP/usage.table"; then
	ph_fail "usage: bob moved nothing: $(cat "$PH_TMP/usage.table")"
fi
[ -z "$(ph_ctl --json usage bob)" ] || ph_fail "usage bob is not empty"
ph_pass "usage table: a row per endpoint, a total per account"

# --by hour, --by day: this hour's and this day's bucket.
hour=$(date -u +%Y-%m-%dT%H)
day=$(date -u +%Y-%m-%d)
out=$(ph_ctl --json usage alice --by hour) || ph_fail "usage --by hour"
printf '%s\n' "$out" | grep -Eq "\"start\":\"$hour:00:00(\\.000)?Z\",$(figures 1 0 $MIB $MIB)" ||
    ph_fail "usage --by hour: $out"
ph_ctl usage --by day >"$PH_TMP/usage.day" || ph_fail "usage --by day"
grep -Eq "^alice +$ep +$day +1 +0 +$MIB +$MIB\$" "$PH_TMP/usage.day" ||
    ph_fail "usage --by day: $(cat "$PH_TMP/usage.day")"
ph_ctl usage --by hour >"$PH_TMP/usage.hour" || ph_fail "usage --by hour"
grep -Eq "^alice +$ep +${hour}:00Z +1 +0 +$MIB +$MIB\$" "$PH_TMP/usage.hour" ||
    ph_fail "usage --by hour (table): $(cat "$PH_TMP/usage.hour")"
# From the next hour on there is nothing yet.
next=$(date -u -d '+1 hour' +%Y-%m-%dT%H:00:00Z)
[ -z "$(ph_ctl --json usage --since "$next")" ] ||
    ph_fail "usage --since $next is not empty"
ph_ctl usage --by week >/dev/null 2>&1 && ph_fail "usage --by week accepted"
ph_ctl usage nobody >/dev/null 2>&1 && ph_fail "usage nobody accepted"
ph_pass "usage --by hour and --by day bucket it; --since leaves out what is older"

# /metrics: no account label without MetricsAccountLabels.
curl -sS "http://127.0.0.1:$mport/metrics" >"$PH_TMP/metrics.off" ||
    ph_fail "GET /metrics"
grep -q '^porthole_bytes_in_total' "$PH_TMP/metrics.off" ||
    ph_fail "/metrics: no porthole_bytes_in_total"
if grep -q 'account' "$PH_TMP/metrics.off"; then
	ph_fail "/metrics names an account by default: $(grep account "$PH_TMP/metrics.off")"
fi
ph_pass "/metrics has no account label by default"

# --- What moved just before a shutdown is counted, and kept ------------
echo_mib
ph_stop_server
wait_usage "\"endpoint\":\"$ep\",\"start\":\"[^\"]*\",$(figures 2 0 $((2 * MIB)) $((2 * MIB)))" alice
ph_start_server -o "MetricsListen=127.0.0.1:$mport" \
    -o MetricsAccountLabels=yes
wait_usage "$(figures 2 0 $((2 * MIB)) $((2 * MIB)))" alice
ph_pass "what a session moved just before a shutdown is counted and survives the restart"

# --- MetricsAccountLabels yes: the account's counters -------------------
ph_wait_gone "$(cat "$PH_TMP/one.pid")" 30
tunnel two
echo_mib
wait_usage "$(figures 3 0 $((3 * MIB)) $((3 * MIB)))" alice
deadline=$((SECONDS + 10))
until curl -sS "http://127.0.0.1:$mport/metrics" >"$PH_TMP/metrics.on" &&
    grep -q "^porthole_account_bytes_total{account=\"alice\",direction=\"out\"} $MIB\$" \
        "$PH_TMP/metrics.on"; do
	[ "$SECONDS" -lt "$deadline" ] ||
	    ph_fail "/metrics: no alice bytes: $(grep account "$PH_TMP/metrics.on")"
	sleep 0.1
done
grep -q "^porthole_account_bytes_total{account=\"alice\",direction=\"in\"} $MIB\$" \
    "$PH_TMP/metrics.on" || ph_fail "/metrics: alice in: $(grep account "$PH_TMP/metrics.on")"
grep -q "^porthole_account_connections_total{account=\"alice\"} 1\$" \
    "$PH_TMP/metrics.on" ||
    ph_fail "/metrics: alice connections: $(grep account "$PH_TMP/metrics.on")"
grep -q '^# TYPE porthole_account_bytes_total counter$' "$PH_TMP/metrics.on" ||
    ph_fail "/metrics: no TYPE line for porthole_account_bytes_total"
if grep -q 'account="bob"' "$PH_TMP/metrics.on"; then
	ph_fail "/metrics: bob moved nothing"
fi
ph_pass "MetricsAccountLabels yes: connections and bytes by account in /metrics"

# --- A refused connection counts as refused, by reason ------------------
ph_ctl ip-policy create nobody-in --deny 0.0.0.0/0 >/dev/null ||
    ph_fail "ip-policy create"
ph_ctl account update alice --ip-policy nobody-in >/dev/null ||
    ph_fail "account update --ip-policy"
deadline=$((SECONDS + 15))
until "$TNET" closed -t 5 "127.0.0.1:$tport" >/dev/null 2>&1; do
	[ "$SECONDS" -lt "$deadline" ] || ph_fail "the policy never refused"
	sleep 0.1
done
wait_usage "\"refused\":[1-9][0-9]*," alice
deadline=$((SECONDS + 10))
until curl -sS "http://127.0.0.1:$mport/metrics" >"$PH_TMP/metrics.on" &&
    grep -Eq '^porthole_account_connections_refused_total\{account="alice",reason="ip_policy"\} [1-9]' \
        "$PH_TMP/metrics.on"; do
	[ "$SECONDS" -lt "$deadline" ] ||
	    ph_fail "/metrics: no refusal for alice: $(grep account "$PH_TMP/metrics.on")"
	sleep 0.1
done
ph_pass "a refused connection counts in usage and by account and reason in /metrics"
