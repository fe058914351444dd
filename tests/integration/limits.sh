#!/bin/bash
# Traffic limits in the data path, with the real ssh client and tnet:
# BandwidthLimit (50 MiB through 5 MiB/s takes 10 s +- 10 % each way,
# intact, while an unlimited session beside it is not slowed),
# TransferQuota (a transfer that crosses it finishes intact, the next
# connection is refused, and the count survives a restart),
# ConnectionRateLimit and MaxConnectionsPerSource (exactly the excess is
# refused, counted in /metrics by reason and recorded with its reason in
# tcp_connection_closed.v0), ConnectionIdleTimeout (an idle connection
# is closed; none by default), and the anonymous account's limits for
# anonymous sessions.
#
# The limits are set with "portholectl account update"; the server's
# default MaxConnectionsPerSource (4) applies to accounts that set none,
# an account's own value beats it, and "none" lifts it.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq

MIB=1048576

# limit ACCOUNT FLAG VALUE...: portholectl account update ACCOUNT with them.
limit() {
	local acct=$1

	shift
	ph_ctl account update "$acct" "$@" >/dev/null ||
	    ph_fail "cannot set limits of $acct: $*"
}

# now_ms: the wall clock in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# tunnel NAME USER PORT: ssh -R 0:127.0.0.1:PORT as USER with the tcp
# command, which relays from its "Forwarding" line on; sets $tport.
tunnel() {
	ph_ssh_bg "$1" -i "$PH_TMP/$2" -R "0:127.0.0.1:$3" "$2@127.0.0.1" tcp
	ph_wait_tunnel "$1"
	tport=$PH_TUNNEL_PORT
}

# refused_count REASON: porthole_connections_refused_total for REASON.
refused_count() {
	ph_ctl metrics | sed -nE "s/^porthole_connections_refused_total\\{reason=\"$1\"\\} ([0-9]+)\$/\\1/p"
}

# wait_refused REASON N: wait until the counter for REASON is N.
wait_refused() {
	local i=0 got

	while :; do
		got=$(refused_count "$1")
		[ "${got:-0}" -eq "$2" ] && return 0
		[ "${got:-0}" -gt "$2" ] &&
		    ph_fail "$got connections refused for $1; want $2"
		[ $i -lt 200 ] || ph_fail "$1: ${got:-0} refused, not $2"
		i=$((i + 1))
		sleep 0.05
	done
}

# wait_events REASON N: wait for N tcp_connection_closed.v0 events that
# record REASON.
wait_events() {
	local i=0 got

	while :; do
		got=$(ph_ctl events --type tcp_connection_closed.v0 |
		    jq -s --arg r "$1" \
		        'map(select(.object.refused.reason == $r)) | length')
		[ "$got" -eq "$2" ] && return 0
		[ $i -lt 200 ] || ph_fail "$got events for $1, not $2"
		i=$((i + 1))
		sleep 0.05
	done
}

for u in slow fast quota rate persrc idle; do
	ph_user "$u"
done
limit slow --bandwidth 5M
limit quota --transfer-quota 8M/1d
limit rate --connection-rate 5 --max-connections-per-source none
limit persrc --max-connections-per-source 3
limit idle --idle-timeout 2s
# The anonymous account, made here as the first anonymous login would.
ph_ctl account add anonymous >/dev/null || ph_fail "account add anonymous"
limit anonymous --connection-rate 2
ph_start_server -o AllowAnonymous=yes -o MaxConnectionsPerSource=4

# --- BandwidthLimit ----------------------------------------------------------
# 50 MiB at 5 MiB/s: 10 s, less the burst (0.5 MiB) the bucket starts
# with. Meanwhile 50 MiB through an unlimited session of another account.
N=$((50 * MIB))
sum=$("$TNET" sum "$N")
ph_listen sink1 sink
tunnel slowup slow "$PH_LAST_PORT"
slow_up=$tport
ph_listen sink2 sink
tunnel fastup fast "$PH_LAST_PORT"
fast_up=$tport

t0=$(now_ms)
"$TNET" send -t 60 "127.0.0.1:$slow_up" "$N" >"$PH_TMP/slowup.sum" &
slow_pid=$!
f0=$(now_ms)
got=$("$TNET" send -t 60 "127.0.0.1:$fast_up" "$N") ||
    ph_fail "unlimited upload failed"
f1=$(now_ms)
[ "$got" = "$sum" ] || ph_fail "unlimited upload: got '$got'"
kill -0 "$slow_pid" 2>/dev/null ||
    ph_fail "the limited upload ended before the unlimited one"
wait "$slow_pid" || ph_fail "limited upload failed"
t1=$(now_ms)
[ "$(cat "$PH_TMP/slowup.sum")" = "$sum" ] ||
    ph_fail "limited upload: got '$(cat "$PH_TMP/slowup.sum")'"
ms=$((t1 - t0))
[ "$ms" -ge 9000 ] && [ "$ms" -le 11000 ] ||
    ph_fail "50 MiB up through 5 MiB/s took $ms ms, not 10 s +- 10 %"
[ $((f1 - f0)) -lt 5000 ] ||
    ph_fail "the unlimited upload beside it took $((f1 - f0)) ms"
ph_pass "50 MiB up at 5 MiB/s in $ms ms, intact; unlimited beside it: $((f1 - f0)) ms"

ph_listen src1 "source:$N"
tunnel slowdown slow "$PH_LAST_PORT"
slow_down=$tport
ph_listen src2 "source:$N"
tunnel fastdown fast "$PH_LAST_PORT"
fast_down=$tport
t0=$(now_ms)
"$TNET" recv -t 60 "127.0.0.1:$slow_down" >"$PH_TMP/slowdown.sum" &
slow_pid=$!
f0=$(now_ms)
got=$("$TNET" recv -t 60 "127.0.0.1:$fast_down") ||
    ph_fail "unlimited download failed"
f1=$(now_ms)
[ "$got" = "$sum" ] || ph_fail "unlimited download: got '$got'"
kill -0 "$slow_pid" 2>/dev/null ||
    ph_fail "the limited download ended before the unlimited one"
wait "$slow_pid" || ph_fail "limited download failed"
t1=$(now_ms)
[ "$(cat "$PH_TMP/slowdown.sum")" = "$sum" ] ||
    ph_fail "limited download: got '$(cat "$PH_TMP/slowdown.sum")'"
ms=$((t1 - t0))
[ "$ms" -ge 9000 ] && [ "$ms" -le 11000 ] ||
    ph_fail "50 MiB down through 5 MiB/s took $ms ms, not 10 s +- 10 %"
[ $((f1 - f0)) -lt 5000 ] ||
    ph_fail "the unlimited download beside it took $((f1 - f0)) ms"
ph_pass "50 MiB down at 5 MiB/s in $ms ms, intact; unlimited beside it: $((f1 - f0)) ms"

# --- ConnectionIdleTimeout -----------------------------------------------------
# An idle connection of "idle" (2 s) is closed; one of "fast" (no
# limit set, and none by default) is still open after 4 s.
ph_listen sink3 sink
sink3=$PH_LAST_PORT
tunnel idle idle "$sink3"
t0=$(now_ms)
rc=0
"$TNET" closed -t 15 "127.0.0.1:$tport" >/dev/null || rc=$?
t1=$(now_ms)
[ "$rc" -eq 0 ] || ph_fail "an idle connection was not closed ($rc)"
[ $((t1 - t0)) -ge 1900 ] && [ $((t1 - t0)) -le 3500 ] ||
    ph_fail "an idle connection was closed after $((t1 - t0)) ms, not 2 s"
ph_wait_for "$PH_LOG" "idle for 2 s \\(ConnectionIdleTimeout\\)"
tunnel notidle fast "$sink3"
rc=0
"$TNET" closed -t 4 "127.0.0.1:$tport" >/dev/null || rc=$?
[ "$rc" -eq 1 ] || ph_fail "an idle connection without the limit ended ($rc)"
ph_pass "ConnectionIdleTimeout closes an idle connection after $((t1 - t0)) ms; none by default"

# --- ConnectionRateLimit --------------------------------------------------------
# 8 connections at once, 5 a minute: exactly 3 refused, before any
# channel (the service sees 5).
ph_listen echo1 echo -v
echo1=$PH_LAST_PORT
tunnel rate rate "$echo1"
got=$("$TNET" many -t 30 "127.0.0.1:$tport" 8 1000) || :
[ "$got" = "ok=5 failed=3" ] || ph_fail "ConnectionRateLimit 5, 8 at once: $got"
ph_wait_count "$PH_TMP/echo1.out" "^close " 5
[ "$(_ph_count "$PH_TMP/echo1.out" "^accept ")" -eq 5 ] ||
    ph_fail "the service saw a refused connection"
rc=0
"$TNET" closed -t 10 "127.0.0.1:$tport" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || ph_fail "a 9th connection in the minute was not refused"
wait_refused connection_rate 4
wait_events connection_rate 4
ph_wait_for "$PH_LOG" "refused 127\\.0\\.0\\.1:[0-9]+: 5 connections in the last minute \\(ConnectionRateLimit\\)"
ph_pass "ConnectionRateLimit 5: 8 at once, exactly 3 refused (then a 9th); metrics and events say why"

# --- MaxConnectionsPerSource ------------------------------------------------------
# 5 held connections from 127.0.0.1, 3 allowed: exactly 2 refused; a
# client from 127.0.0.2 still gets in.
ph_listen sink4 sink -v
tunnel persrc persrc "$PH_LAST_PORT"
for i in 1 2 3 4 5; do
	ph_bg "hold$i" "$TNET" closed -t 60 "127.0.0.1:$tport"
done
ph_wait_count "$PH_TMP/sink4.out" "^accept " 3
wait_refused max_connections_per_source 2
rc=0
"$TNET" closed -s 127.0.0.2 -t 2 "127.0.0.1:$tport" >/dev/null || rc=$?
[ "$rc" -eq 1 ] || ph_fail "a client from another address was refused ($rc)"
ph_wait_count "$PH_TMP/sink4.out" "^accept " 4
[ "$(_ph_count "$PH_TMP/sink4.out" "^accept ")" -eq 4 ] ||
    ph_fail "more connections reached the service than allowed"
[ "$(refused_count max_connections_per_source)" -eq 2 ] ||
    ph_fail "more than 2 refused"
wait_events max_connections_per_source 2
for i in 1 2 3 4 5; do
	read -r pid <"$PH_TMP/hold$i.pid"
	kill "$pid" 2>/dev/null || :
done
ph_pass "MaxConnectionsPerSource 3: of 5 from one address exactly 2 refused; another address gets in"

# The server's default (4) for an account that sets none: of 5 held
# connections, exactly 1 refused.
ph_listen sink6 sink -v
tunnel dflt fast "$PH_LAST_PORT"
for i in 1 2 3 4 5; do
	ph_bg "dhold$i" "$TNET" closed -t 60 "127.0.0.1:$tport"
done
ph_wait_count "$PH_TMP/sink6.out" "^accept " 4
wait_refused max_connections_per_source 3
for i in 1 2 3 4 5; do
	read -r pid <"$PH_TMP/dhold$i.pid"
	kill "$pid" 2>/dev/null || :
done
[ "$(_ph_count "$PH_TMP/sink6.out" "^accept ")" -eq 4 ] ||
    ph_fail "more connections reached the service than the default allows"
ph_pass "MaxConnectionsPerSource 4 (the server's default) applies to an account that sets none"

# --- the anonymous account's limits ---------------------------------------------
PH_SSH_OPTS=(-o PubkeyAuthentication=no)
ph_listen echo2 echo
ph_ssh_bg anon -N -R "0:127.0.0.1:$PH_LAST_PORT" anonymous@127.0.0.1
ph_wait_tunnel anon
PH_SSH_OPTS=()
got=$("$TNET" many -t 30 "127.0.0.1:$PH_TUNNEL_PORT" 4 1000) || :
[ "$got" = "ok=2 failed=2" ] ||
    ph_fail "anonymous, ConnectionRateLimit 2, 4 at once: $got"
wait_refused connection_rate 6
ph_pass "anonymous sessions have the anonymous account's limits"

# --- TransferQuota ----------------------------------------------------------------
# 8 MiB a day: a 16 MiB upload crosses it and finishes intact; the
# next connection is refused at once.
Q=$((16 * MIB))
ph_listen sink5 sink
sink5=$PH_LAST_PORT
tunnel quota quota "$sink5"
got=$("$TNET" send -t 60 "127.0.0.1:$tport" "$Q") ||
    ph_fail "the upload that crosses the quota failed"
[ "$got" = "$("$TNET" sum "$Q")" ] ||
    ph_fail "the upload that crosses the quota: got '$got'"
rc=0
"$TNET" closed -t 10 "127.0.0.1:$tport" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || ph_fail "the connection after the quota was not refused"
ph_wait_for "$PH_LOG" "transfer quota used up \\(TransferQuota\\)"
wait_refused transfer_quota 1
wait_events transfer_quota 1
ph_pass "TransferQuota: the transfer that crosses it finishes intact, the next connection is refused"

# The count survives a restart: it is in the store (usage_hours).
read -r pid <"$PH_TMP/quota.pid"
kill "$pid"
ph_wait_gone "$pid"
ph_stop_server
used=$(ph_ctl --json usage quota | jq -s 'map(.bytes_in + .bytes_out) | add // 0')
[ "$used" -ge "$Q" ] ||
    ph_fail "portholectl usage counts $used bytes for account quota, not >= $Q"
ph_start_server -o AllowAnonymous=yes -o MaxConnectionsPerSource=4
tunnel quota2 quota "$sink5"
rc=0
"$TNET" closed -t 10 "127.0.0.1:$tport" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || ph_fail "after a restart, the used-up quota let a connection in"
# A larger quota lets it in again.
limit quota --transfer-quota 64M/1d
read -r pid <"$PH_TMP/quota2.pid"
kill "$pid"
ph_wait_gone "$pid"
tunnel quota3 quota "$sink5"
got=$("$TNET" send -t 60 "127.0.0.1:$tport" 1000) ||
    ph_fail "a connection under the raised quota failed"
ph_pass "TransferQuota survives a restart; raising it lets connections in"
