#!/bin/bash
# A switch of PostgreSQL servers under a running portholed: Database is
# a multi-host URI (a primary's socket, then its streaming-replication
# standby's) with target_session_attrs=read-write. The primary is
# stopped at once and the standby promoted; without a restart, portholed
# reconnects to the promoted server: the tunnel it had keeps relaying, a
# login is refused saying why while no host is writable and gets its
# tunnel once one is, and the new session's row is in the promoted
# server.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq psql

# The socket directory of a pg.sh URI.
pg_dir() {
	local d=${1#*host=}

	printf '%s\n' "${d%%&*}"
}

# sql URI QUERY: the rows of QUERY, unaligned, on server URI.
sql() {
	psql "$1" -X -At -v ON_ERROR_STOP=1 -c "$2"
}

ph_pg_start
primary=$PH_PG_URI
ph_pg_standby "$primary"
standby=$PH_PG_STANDBY_URI
pg_user=${primary##*user=}
multi="postgresql:///postgres?host=$(pg_dir "$primary"),$(pg_dir "$standby")&user=$pg_user&target_session_attrs=read-write"
[ "$(sql "$standby" 'SELECT pg_is_in_recovery()')" = t ] ||
	ph_fail "the standby is not in recovery"

_ph_conf
# A heartbeat every second: the lost connection is noticed without a
# login to wait for.
{
	echo "Database $multi"
	echo "NodeTimeout 3s"
} >>"$PH_CONF"
ph_user alice
ph_start_server
n=$(sql "$primary" \
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'porthole'")
[ "$n" -ge 1 ] || ph_fail "portholed is not connected to the primary"
ph_listen echo echo
backend=$PH_LAST_PORT

ph_ssh_bg t -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@127.0.0.1 tcp
tpid=$PH_LAST_PID
ph_wait_tunnel t 20
tport=$PH_TUNNEL_PORT
got=$("$TNET" echo "127.0.0.1:$tport" 10000) || ph_fail "echo through the tunnel"
[ "$got" = "$("$TNET" sum 10000)" ] || ph_fail "echo: checksum $got"
sid1=$(ph_ctl --json session list | jq -r 'select(.account == "alice") | .id')
[ -n "$sid1" ] || ph_fail "no session of alice"

# Everything written so far reaches the standby before the primary goes.
lsn=$(sql "$primary" 'SELECT pg_current_wal_lsn()') || ph_fail "psql primary"
deadline=$((SECONDS + 30))
until [ "$(sql "$standby" \
    "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ]; do
	[ "$SECONDS" -lt "$deadline" ] ||
		ph_fail "the standby has not replayed up to $lsn after 30 s"
	sleep 0.1
done
[ "$(sql "$standby" "SELECT count(*) FROM accounts WHERE name = 'alice'")" = 1 ] ||
	ph_fail "alice's account is not on the standby"
[ "$(sql "$standby" "SELECT count(*) FROM sessions WHERE id = '$sid1'")" = 1 ] ||
	ph_fail "session $sid1 is not on the standby"
ph_pass "multi-host Database URI: portholed on the primary, a tunnel, its rows replayed on the standby"

# --- the primary goes; no host is writable yet -----------------------------
"$top_srcdir/tests/pg.sh" stop "$primary" || ph_fail "pg.sh stop primary"
ph_wait_for "$PH_LOG" "Database: connection lost" 20 "$PH_SERVER_PID"
# Reconnecting tries both hosts: the first is gone, and libpq refuses
# the standby, which is up, as read-only (that reason may be clipped
# from the logged message, which names the standby's socket).
sdir=$(pg_dir "$standby")
ph_wait_for "$PH_LOG" \
    "Database: still unreachable .*socket \"${sdir//./\\.}/\\.s\\.PGSQL\\.[0-9]+\" failed" \
    20 "$PH_SERVER_PID"
got=$("$TNET" echo "127.0.0.1:$tport" 10000) ||
	ph_fail "echo through the tunnel while no host is writable"
[ "$got" = "$("$TNET" sum 10000)" ] || ph_fail "echo while down: $got"
rc=0
ph_ssh -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@127.0.0.1 tcp \
    </dev/null >/dev/null 2>"$PH_TMP/down.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "login while no host is writable: exit $rc"
grep -q "the server cannot reach its database; try again in a moment" \
    "$PH_TMP/down.err" ||
	ph_fail "login while no host is writable: $(cat "$PH_TMP/down.err")"
ph_pass "primary stopped: the standby is refused as read-only, the tunnel relays, a login is refused saying why"

# --- the standby is promoted: portholed switches to it --------------------
"$top_srcdir/tests/pg.sh" promote "$standby" || ph_fail "pg.sh promote"
[ "$(sql "$standby" 'SELECT pg_is_in_recovery()')" = f ] ||
	ph_fail "the promoted standby is still in recovery"
ph_wait_for "$PH_LOG" "Database: connected again" 30 "$PH_SERVER_PID"
n=$(sql "$standby" \
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'porthole'")
[ "$n" -ge 1 ] || ph_fail "portholed is not connected to the promoted server"
_ph_alive "$tpid" || ph_fail "the first session ended over the switch"
got=$("$TNET" echo "127.0.0.1:$tport" 100000) ||
	ph_fail "echo through the first tunnel after the switch"
[ "$got" = "$("$TNET" sum 100000)" ] || ph_fail "echo after the switch: $got"

# A new login gets a tunnel; until portholed is back, one may still be
# refused, and then for that reason only.
deadline=$((SECONDS + 60))
i=0
while :; do
	i=$((i + 1))
	ph_ssh_bg "n$i" -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" \
	    alice@127.0.0.1 tcp
	npid=$PH_LAST_PID
	while _ph_alive "$npid" &&
	    ! grep -q '^Forwarding' "$PH_TMP/n$i.out" &&
	    [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.05
	done
	grep -q '^Forwarding' "$PH_TMP/n$i.out" && break
	_ph_alive "$npid" &&
		ph_fail "login $i after the switch: no tunnel after 60 s"
	grep -q "the server cannot reach its database; try again in a moment" \
	    "$PH_TMP/n$i.err" ||
		ph_fail "login $i after the switch: $(cat "$PH_TMP/n$i.err")"
	[ "$SECONDS" -lt "$deadline" ] ||
		ph_fail "no login got a tunnel within 60 s of the switch"
	ph_wait_gone "$npid"
	sleep 0.5
done
ph_wait_tunnel "n$i" 20
got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 10000) ||
	ph_fail "echo through the new tunnel"
[ "$got" = "$("$TNET" sum 10000)" ] || ph_fail "echo, new tunnel: $got"
# Its row is in the promoted server, which is all the URI can reach now.
ph_ctl --json session list >"$PH_TMP/sessions.json" ||
	ph_fail "session list through the multi-host URI"
sid2=$(jq -r --arg s "$sid1" 'select(.account == "alice" and .id != $s) | .id' \
    "$PH_TMP/sessions.json")
if [ -z "$sid2" ] || [ "$(printf '%s\n' "$sid2" | wc -l)" -ne 1 ]; then
	ph_fail "session list: $(cat "$PH_TMP/sessions.json")"
fi
jq -se --arg s "$sid1" 'any(.[]; .id == $s)' "$PH_TMP/sessions.json" >/dev/null ||
	ph_fail "session list lost the first session $sid1"
[ "$(sql "$standby" "SELECT count(*) FROM sessions WHERE id = '$sid2' AND ended_ms IS NULL")" = 1 ] ||
	ph_fail "session $sid2 is not live in the promoted server"
ph_pass "standby promoted: portholed connected again without a restart, the old tunnel relays, a new login's session is in the promoted server ($i attempt(s))"

kill "$tpid" "$npid"
ph_wait_gone "$tpid"
ph_wait_gone "$npid"
