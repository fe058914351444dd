#!/bin/bash
# A flood of refused connections: 5,000 a second for 60 seconds, from
# eight 127.0.0.x sources that the tunnel's --cidr-deny refuses (tests/tnet
# flood). Refused connections come from anywhere on the internet, so what
# they leave behind must not grow with their number:
#  - one tcp_connection_closed.v0 event each only up to a rate (the
#    monitor's token bucket: MON_REF_BURST at once, MON_REF_RATE a
#    second, src/mon-rec.c), then one tcp_connections_refused.v0 summary
#    per source and minute;
#  - yet every refusal is counted: the individual events and the
#    summaries' counts add up to porthole_connections_refused_total, and
#    that to what the flood tool saw refused, none lost, none twice
#    (a short second flood just before portholed is stopped falls in a
#    minute that has not ended: its summaries are written at shutdown);
#  - the store grows by a bounded amount, the session's log lines about
#    refusals are rate-limited;
#  - an ssh login and tunnel echoes from other sources work during the
#    flood (started in its middle), and portholed serves after it.
# The bounds are counted over the time the script measured around the
# flood, so a slow or loaded machine only loosens them; nothing is timed.
# If the machine cannot start 5,000 connections a second, the flood runs
# at what it can and says so: the bounds do not depend on the rate.
# FLOOD_RATE and FLOOD_SECS change the rate and the duration (for a quick
# look by hand).

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq

rate=${FLOOD_RATE:-5000}
secs=${FLOOD_SECS:-60}
# src/mon-rec.c: MON_REF_BURST, MON_REF_RATE; sshd/fwd.c: FWD_LOG_BURST,
# FWD_LOG_RATE.
ref_burst=100
ref_rate=10
log_burst=20
log_rate=5
# The store may grow by this much (porthole.db and -wal): the WAL is
# checkpointed every 1000 pages, so it holds at most about 4 MiB, and a
# minute of flood adds at most 100 + 60 * 10 events and 8 summaries to
# the database, about 0.5 MiB. Measured on a 2-core machine: 4.5 MB
# while portholed runs (4.2 MB of it the WAL), 0.5 MB once it stopped;
# without the cap on events, 240 MB.
store_max=$((8 * 1024 * 1024))

ph_user alice
ph_start_server
key=$PH_TMP/alice
db=$PH_TMP/state/porthole.db
ph_listen svc echo
svc=$PH_LAST_PORT
sources=()
for i in 8 9 10 11 12 13 14 15; do
	sources+=(-s "127.0.0.$i")
done

# echo_ok SRC PORT: 2000 bytes from SRC through the tunnel on PORT come
# back whole.
echo_ok() {
	local got

	got=$("$TNET" echo -s "$1" -t 30 "127.0.0.1:$2" 2000) ||
	    ph_fail "echo from $1 through port $2 failed"
	[ "$got" = "$("$TNET" sum 2000)" ] ||
	    ph_fail "echo from $1 through port $2: bad data"
}

# login NAME: an ssh login from 127.0.0.2 with a forward to the echo
# service; sets PH_TUNNEL_PORT.
login() {
	ph_ssh_bg "$1" -b 127.0.0.2 -i "$key" -R "0:127.0.0.1:$svc" \
	    alice@127.0.0.1 tcp
	ph_wait_tunnel "$1" 60
}

# store_size: the bytes of porthole.db and porthole.db-wal.
store_size() {
	local f t=0

	for f in "$db" "$db-wal"; do
		if [ -f "$f" ]; then
			t=$((t + $(stat -c %s "$f")))
		fi
	done
	echo "$t"
}

# field NAME: the value of NAME=... in the flood tool's last line.
field() {
	sed -nE "s/^flood(.* | )$1=([0-9.]+).*/\\2/p" \
	    "$PH_TMP/flood.out"
}

# now_cs: centiseconds on the boot clock (/proc/uptime), which, like the
# monotonic clock that paces the monitor's bucket, no clock step moves.
now_cs() {
	local up rest

	read -r up rest </proc/uptime
	echo $((10#${up/./}))
}

# refused_total: porthole_connections_refused_total{reason="ip_policy"}.
refused_total() {
	ph_ctl metrics | sed -nE \
	    's/^porthole_connections_refused_total\{reason="ip_policy"\} ([0-9]+)$/\1/p'
}

ph_ssh_bg flooded -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp \
    --cidr-deny=127.0.0.8/29
ph_wait_tunnel flooded
fport=$PH_TUNNEL_PORT
echo_ok 127.0.0.3 "$fport"
account=$(ph_ctl --json account show alice | jq -r .id)
size0=$(store_size)

# --- the flood, and a login and echoes in its middle ------------------------
t0=$(now_cs)
ph_bg flood "$TNET" flood -v -t 60 "${sources[@]}" -r "$rate" -d "$secs" \
    "127.0.0.1:$fport"
flood_pid=$PH_LAST_PID
ph_wait_count "$PH_TMP/flood.out" '^progress ' $((secs / 3)) $((secs + 60)) \
    "$flood_pid"
login mid
echo_ok 127.0.0.3 "$PH_TUNNEL_PORT"
echo_ok 127.0.0.3 "$fport"
_ph_alive "$flood_pid" ||
    ph_fail "the flood ended before the login and echoes were done"
ph_pass "during the flood: an ssh login, and echoes through both tunnels"

ph_wait_gone "$flood_pid" $((secs + 120))
[ "$PH_EXIT_STATUS" -eq 0 ] || ph_fail "tnet flood: $(cat "$PH_TMP/flood.err")"
tail -n 1 "$PH_TMP/flood.out"
refused=$(field refused)
achieved=$(field rate)
if [ -z "$refused" ] || [ "$refused" -eq 0 ]; then
	ph_fail "the flood saw nothing refused: $(tail -n 1 "$PH_TMP/flood.out")"
fi
for f in relayed rejected failed open; do
	[ "$(field "$f")" = 0 ] ||
	    ph_fail "flood: $f is not 0: $(tail -n 1 "$PH_TMP/flood.out")"
done
[ "$(field attempted)" = "$refused" ] ||
    ph_fail "not every connection was refused: $(tail -n 1 "$PH_TMP/flood.out")"
printf 'flood: %s connections refused, %s a second (asked for %s)\n' \
    "$refused" "$achieved" "$rate"

# --- portholed still serves -----------------------------------------------------
login after
echo_ok 127.0.0.3 "$PH_TUNNEL_PORT"
echo_ok 127.0.0.3 "$fport"
ph_pass "after the flood: a new login and echoes through both tunnels"

# A second, short flood: its refusals wait in summaries of a minute that
# has not ended when portholed is stopped, which must write them then.
"$TNET" flood -t 60 "${sources[@]}" -r "$rate" -d 1 "127.0.0.1:$fport" \
    >"$PH_TMP/flood2.out" || ph_fail "the second flood failed"
more=$(sed -nE 's/^flood attempted=([0-9]+) accepted=[0-9]+ refused=\1 relayed=0 rejected=0 failed=0 open=0 .*/\1/p' \
    "$PH_TMP/flood2.out")
if [ -z "$more" ] || [ "$more" -eq 0 ]; then
	ph_fail "second flood: $(cat "$PH_TMP/flood2.out")"
fi
refused=$((refused + more))

# Every refusal reaches the counter, once.
n=0
while got=$(refused_total) && [ "${got:-0}" -lt "$refused" ]; do
	n=$((n + 1))
	[ "$n" -le 300 ] || ph_fail "refusals counted: ${got:-none} of $refused"
	sleep 0.1
done
[ "$got" -eq "$refused" ] ||
    ph_fail "refusals counted: $got, but the floods saw $refused"
t1=$(now_cs)
elapsed=$(((t1 - t0 + 99) / 100))
size1=$(store_size)
ph_pass "porthole_connections_refused_total counts the $refused refusals"

# The session's log lines about refusals: FWD_LOG_BURST, then
# FWD_LOG_RATE a second, each followed by at most one "not logged" line.
lines=$(_ph_count "$PH_LOG" \
    'refused 127\.0\.0\.([89]|1[0-5]):|refused connection\(s\) not logged')
[ "$lines" -le $((2 * (log_burst + log_rate * elapsed))) ] ||
    ph_fail "$lines log lines about refused connections in $elapsed s"
ph_pass "$lines log lines about the refusals"

# The summaries of the minute under way are written at shutdown.
ph_stop_server
size2=$(store_size)
printf 'store: %s bytes before, %s after the floods, %s after shutdown\n' \
    "$size0" "$size1" "$size2"

# --- what was recorded --------------------------------------------------------------
ph_ctl events --type tcp_connection_closed.v0 |
    jq -c 'select(.object.ip_policy.decision == "deny")' \
    >"$PH_TMP/single.json" || ph_fail "events"
ph_ctl events --type tcp_connections_refused.v0 >"$PH_TMP/summary.json" ||
    ph_fail "events"
single=$(wc -l <"$PH_TMP/single.json")
max_single=$((ref_burst + ref_rate * elapsed))
[ "$single" -le "$max_single" ] ||
    ph_fail "$single refused events of their own in $elapsed s; at most" \
    "$max_single ($ref_burst at once, then $ref_rate a second)"
want=$ref_burst
[ "$refused" -lt "$want" ] && want=$refused
[ "$single" -ge "$want" ] ||
    ph_fail "$single refused events of their own: the first $want get one"
bad=$(jq -s --arg ac "$account" 'map(select(.account_id != $ac or
    (.object.conn.client_ip | test("^127\\.0\\.0\\.([89]|1[0-5])$") | not) or
    .object.conn.bytes_in != 0 or .object.conn.bytes_out != 0)) | length' \
    "$PH_TMP/single.json")
[ "$bad" = 0 ] || ph_fail "$bad refused events are not the flood's"
ph_pass "$single refusals with an event of their own (at most $max_single)"

minutes=$(((elapsed + 59) / 60))
bad=$(jq -s --arg ac "$account" 'map(select(.account_id != $ac or
    (.object.refused.client_ip | test("^127\\.0\\.0\\.([89]|1[0-5])$") | not)
    or .object.refused.count != .object.refused.reasons.ip_policy or
    .object.refused.reasons.max_connections != 0 or
    (.object.refused.start_ts | test("^[0-9-]+T[0-9:.]+Z$") | not) or
    .object.refused.end_ts < .object.refused.start_ts)) | length' \
    "$PH_TMP/summary.json")
[ "$bad" = 0 ] ||
    ph_fail "$bad summaries are not right: $(cat "$PH_TMP/summary.json")"
per_source=$(jq -s 'group_by(.object.refused.client_ip) |
    map(length) | max // 0' "$PH_TMP/summary.json")
[ "$per_source" -le $((minutes + 1)) ] ||
    ph_fail "$per_source summaries for one source in $minutes minute(s)"
summed=$(jq -s 'map(.object.refused.count) | add // 0' "$PH_TMP/summary.json")
[ $((single + summed)) -eq "$refused" ] ||
    ph_fail "events record $single + $summed refusals; there were $refused"
ph_ctl metrics | grep -qx \
    "porthole_refused_events_summarized_total $summed" ||
    ph_fail "porthole_refused_events_summarized_total is not $summed:" \
    "$(ph_ctl metrics | grep summarized)"
ph_pass "$(wc -l <"$PH_TMP/summary.json") summaries (at most $((minutes + 1))" \
    "a source) hold the other $summed refusals: none lost, none twice"

grown=$((size1 - size0))
[ $((size2 - size0)) -gt "$grown" ] && grown=$((size2 - size0))
[ "$grown" -lt "$store_max" ] ||
    ph_fail "the store grew by $grown bytes (at most $store_max)"
ph_pass "the store grew by $grown bytes (less than $store_max)"
