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
