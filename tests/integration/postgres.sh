#!/bin/bash
# portholed on PostgreSQL: Database is a libpq URI of a private server
# started here; portholectl sets it up, a stock ssh client gets its
# tunnel, the rows live in PostgreSQL (no SQLite file appears), and a
# password in the URI never reaches a log line, an error or -T.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq

ph_pg_start
_ph_conf
echo "Database $PH_PG_URI" >>"$PH_CONF"
ph_user alice
ph_ctl init | grep -q "schema version" || ph_fail "init on PostgreSQL"
ph_start_server
ph_listen echo echo
backend=$PH_LAST_PORT

ph_ssh_bg t -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@127.0.0.1 tcp
pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/t.out" "^Forwarding  tcp://" 15 "$pid"
port=$(ph_tunnel_port "$PH_TMP/t.out")
got=$("$TNET" echo "127.0.0.1:$port" 100000) || ph_fail "echo through the tunnel"
[ "$got" = "$("$TNET" sum 100000)" ] || ph_fail "echo: checksum $got"
n=$(ph_ctl --json session list | jq -s '[.[] | select(.account == "alice")] | length')
[ "$n" -eq 1 ] || ph_fail "session list on PostgreSQL: $n sessions of alice"
[ ! -e "$PH_TMP/state/porthole.db" ] || ph_fail "a SQLite file appeared"
kill "$pid"
ph_wait_gone "$pid"
# The session ends in the store once the client has gone.
for _ in $(seq 300); do
	[ -z "$(ph_ctl --json session list)" ] && break
	sleep 0.05
done
[ -z "$(ph_ctl --json session list)" ] || ph_fail "the session is still live"
ph_pass "Database postgresql://…: init, a tunnel from stock ssh, its rows in PostgreSQL"

# Admin changes reach live sessions by NOTIFY, not by a signal from
# portholectl. Each session below is fresh: portholed's periodic
# re-check (every 10 s from login, CTL_SESSION_RECHECK_SECS) cannot end
# it before the deadline, which is at most 5 s after the change and
# always before that re-check. Without the notification the session
# would outlive it, and this test fails.
now_ms() { date +%s%3N; }

# fresh_session NAME: a new session of alice; sets spid (the ssh client),
# sid and login_ms (its start in the store).
fresh_session() {
	local row

	ph_ssh_bg "$1" -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" \
	    alice@127.0.0.1 tcp
	spid=$PH_LAST_PID
	ph_wait_for "$PH_TMP/$1.out" "^Forwarding  tcp://" 15 "$spid"
	row=$(ph_ctl --json session list |
	    jq -c 'select(.account == "alice")')
	sid=$(jq -r .id <<<"$row")
	if [ -z "$sid" ] || [ "$(wc -l <<<"$sid")" -ne 1 ]; then
		ph_fail "one live session of alice expected: $row"
	fi
	login_ms=$(date -d "$(jq -r .started_at <<<"$row")" +%s%3N) ||
	    ph_fail "started_at of $row"
}

# deadline_after T0: min(T0 + 5 s, the login of fresh_session's session
# + 9.5 s), in ms: a change at T0 must have taken effect by then.
deadline_after() {
	local deadline=$(($1 + 5000))

	[ $((login_ms + 9500)) -ge "$deadline" ] ||
	    deadline=$((login_ms + 9500))
	echo "$deadline"
}

# ends_soon WHAT T0: the session fresh_session made ends before
# deadline_after T0, and the monitor did it on a notification:
# "change notified", then a re-read on request.
ends_soon() {
	local deadline

	deadline=$(deadline_after "$2")
	while _ph_alive "$spid"; do
		[ "$(now_ms)" -lt "$deadline" ] ||
		    ph_fail "$1: session $sid still live $(($(now_ms) - $2)) ms" \
		    "after the change (its periodic re-check is 10 s after" \
		    "login)"
		sleep 0.05
	done
	ph_wait_gone "$spid"
	grep -q "change notified: [1-9][0-9]* session(s) re-read" "$PH_LOG" ||
	    ph_fail "$1: no notification in the log"
	grep -q "session $sid: settings re-read on request" "$PH_LOG" ||
	    ph_fail "$1: session $sid was not re-read on request"
	grep -q "session $sid: ended by an administrator" "$PH_LOG" ||
	    ph_fail "$1: session $sid was not ended by the monitor"
}

fresh_session kill
t0=$(now_ms)
ph_ctl session kill "$sid" >"$PH_TMP/ctl-kill.out" \
    2>"$PH_TMP/ctl-kill.err" ||
    ph_fail "session kill: $(cat "$PH_TMP/ctl-kill.err")"
# On PostgreSQL nothing is signalled, so nothing can fail to be.
[ ! -s "$PH_TMP/ctl-kill.err" ] ||
    ph_fail "session kill: $(cat "$PH_TMP/ctl-kill.err")"
ends_soon "session kill" "$t0"
ph_pass "session kill ends the session at once by NOTIFY, no signal"

fresh_session disable
t0=$(now_ms)
ph_ctl account disable alice >/dev/null 2>"$PH_TMP/ctl-disable.err" ||
    ph_fail "account disable: $(cat "$PH_TMP/ctl-disable.err")"
[ ! -s "$PH_TMP/ctl-disable.err" ] ||
    ph_fail "account disable: $(cat "$PH_TMP/ctl-disable.err")"
ends_soon "account disable" "$t0"
grep -q "session $sid: ended by an administrator (account disabled)" \
    "$PH_LOG" || ph_fail "account disable: not the reason logged"
ph_ctl account enable alice >/dev/null || ph_fail "account enable"
ph_pass "account disable ends the account's session at once by NOTIFY"

# A policy change reaches the live session just as soon.
fresh_session policy
port=$(ph_tunnel_port "$PH_TMP/policy.out")
ph_ctl ip-policy create nolocal --deny 127.0.0.0/8 >/dev/null ||
    ph_fail "ip-policy create"
t0=$(now_ms)
ph_ctl account update alice --ip-policy nolocal >/dev/null \
    2>"$PH_TMP/ctl-policy.err" ||
    ph_fail "account update: $(cat "$PH_TMP/ctl-policy.err")"
[ ! -s "$PH_TMP/ctl-policy.err" ] ||
    ph_fail "account update: $(cat "$PH_TMP/ctl-policy.err")"
deadline=$(deadline_after "$t0")
until grep -q "session $sid: account policy updated" "$PH_LOG"; do
	[ "$(now_ms)" -lt "$deadline" ] ||
	    ph_fail "the policy change did not reach session $sid in time"
	sleep 0.05
done
"$TNET" closed -t 15 "127.0.0.1:$port" >/dev/null ||
    ph_fail "a client the new policy denies was not refused"
ph_ctl account update alice --ip-policy none >/dev/null ||
    ph_fail "account update --ip-policy none"
kill "$spid"
ph_wait_gone "$spid"
for _ in $(seq 300); do
	[ -z "$(ph_ctl --json session list)" ] && break
	sleep 0.05
done
[ -z "$(ph_ctl --json session list)" ] || ph_fail "session $sid still live"
ph_pass "an IP policy attached to the account reaches its live session at once"

# The listener's connection is lost: the monitor connects again, listens
# again, and a change made after that still arrives at once.
if command -v psql >/dev/null 2>&1; then
	q="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	q="$q WHERE query = 'LISTEN \"porthole_changes\"'"
	n=$(psql -X -A -t -d "$PH_PG_URI" -c "$q") ||
	    ph_fail "psql: cannot terminate the listener"
	[ "$n" -eq 1 ] || ph_fail "$n listener connections, not 1"
	ph_wait_for "$PH_LOG" "change notifications: listening again" 15 \
	    "$PH_SERVER_PID"
	grep -q "change notifications back: " "$PH_LOG" ||
	    ph_fail "no re-check of every session after the reconnect"
	fresh_session again
	t0=$(now_ms)
	ph_ctl session kill "$sid" >/dev/null || ph_fail "session kill again"
	ends_soon "session kill after a reconnect" "$t0"
	ph_pass "a lost listener connects again and listens again"
fi

# A password is never shown.
bad="postgresql://ph:s3cret@127.0.0.1:1/porthole?connect_timeout=2"
"$PORTHOLED" -f "$PH_CONF" -o "Database=$bad" -T >"$PH_TMP/T.out" 2>&1 ||
    ph_fail "-T: $(cat "$PH_TMP/T.out")"
grep -q "^database postgresql://ph:\*\*\*@127.0.0.1:1/" "$PH_TMP/T.out" ||
    ph_fail "-T: $(grep database "$PH_TMP/T.out")"
rc=0
"$CTL" -f "$PH_CONF" -o "Database=$bad" account list >/dev/null \
    2>"$PH_TMP/ctl.err" || rc=$?
[ "$rc" -ne 0 ] || ph_fail "account list on an unreachable database: exit 0"
grep -q "ph:\*\*\*@" "$PH_TMP/ctl.err" || ph_fail "error: $(cat "$PH_TMP/ctl.err")"
if grep -rq s3cret "$PH_TMP/T.out" "$PH_TMP/ctl.err" "$PH_LOG"; then
	ph_fail "the password was shown"
fi
ph_pass "a password in Database is shown as *** by -T and in errors"
