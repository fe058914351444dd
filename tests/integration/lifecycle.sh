#!/bin/bash
# Lifecycles: a client killed with SIGKILL frees its public port and rows;
# a session process killed with SIGKILL is cleaned up by the parent; SIGTERM
# ends sessions cleanly (the client is told) and exits 0; after a SIGKILL of
# portholed a restart finds no stale rows and the accounts and keys intact.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user erin
ph_start_server
key=$PH_TMP/erin

ph_listen echo -v echo
backend=$PH_LAST_PORT

# live_sessions: how many sessions the store lists as live.
live_sessions() {
	ph_ctl --json session list | grep -c '"id"' || :
}

# --- kill -9 of the client ------------------------------------------------------
ph_ssh_bg victim -N -i "$key" -R "0:127.0.0.1:$backend" erin@127.0.0.1
victim_pid=$PH_LAST_PID
ph_wait_tunnel victim
port=$PH_TUNNEL_PORT
# A relayed connection is open when the client dies.
coproc CHAT { "$TNET" chat "127.0.0.1:$port" 2>&1; }
chat_pid=$CHAT_PID
ph_track "$chat_pid"
echo hello >&"${CHAT[1]}"
read -r -t 15 line <&"${CHAT[0]}" || ph_fail "no echo"
[ "$line" = hello ] || ph_fail "echo: '$line'"
kill -9 "$victim_pid"
ph_wait_gone "$victim_pid"
ph_wait_for "$PH_LOG" "session ss_[A-Za-z0-9]+: ended"
"$TNET" refused "127.0.0.1:$port" ||
    ph_fail "port $port still accepts after the client was killed"
[ "$(live_sessions)" -eq 0 ] || ph_fail "session still listed"
[ -z "$(ph_ctl --json endpoint list)" ] || ph_fail "endpoint still listed"
# The relayed connection was closed: the chat client sees it and exits.
ph_wait_gone "$chat_pid"
ph_pass "client killed: port $port freed, rows ended, relayed connection closed"

# The freed port can be bound again by anyone.
"$TNET" listen -b 127.0.0.1 echo >/dev/null 2>&1 &
ph_track $!

# --- kill -9 of a session process: the parent cleans up -----------------------
ph_ssh_bg orphan -N -i "$key" -R "0:127.0.0.1:$backend" erin@127.0.0.1
orphan_pid=$PH_LAST_PID
ph_wait_tunnel orphan
port=$PH_TUNNEL_PORT
spid=$(ph_ctl --json session list | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
[ -n "$spid" ] || ph_fail "no session pid listed"
kill -9 "$spid"
ph_wait_for "$PH_LOG" "ended \(session process killed by signal 9;"
[ "$(live_sessions)" -eq 0 ] || ph_fail "rows of the killed process remain"
[ -z "$(ph_ctl --json endpoint list)" ] || ph_fail "endpoint remains"
"$TNET" refused "127.0.0.1:$port" || ph_fail "port $port still accepts"
ph_wait_gone "$orphan_pid"
ph_pass "session process killed: the parent ended its rows at once"

# --- SIGTERM: orderly shutdown ----------------------------------------------------
ph_ssh_bg term -i "$key" -R "0:127.0.0.1:$backend" erin@127.0.0.1 tcp
term_pid=$PH_LAST_PID
ph_wait_tunnel term
ph_stop_server
ph_wait_gone "$term_pid"
[ "$PH_EXIT_STATUS" -eq 255 ] ||
    ph_fail "client exit $PH_EXIT_STATUS after shutdown, want 255"
grep -q "porthole: the server is shutting down" "$PH_TMP/term.err" ||
    ph_fail "the client was not told: $(cat "$PH_TMP/term.err")"
ph_pass "SIGTERM: the client is told, portholed exits 0"

# --- kill -9 of portholed, then a restart ---------------------------------------
ph_start_server
ph_ssh_bg crash -i "$key" -R "0:127.0.0.1:$backend" erin@127.0.0.1 tcp
crash_pid=$PH_LAST_PID
ph_wait_tunnel crash
port=$PH_TUNNEL_PORT
ph_kill "$PH_SERVER_PID" KILL
# Its session processes end with it, so no orphan keeps the port.
ph_wait_gone "$crash_pid"
"$TNET" refused "127.0.0.1:$port" || ph_fail "an orphan still holds $port"
ph_start_server
[ "$(live_sessions)" -eq 0 ] || ph_fail "stale sessions after the restart"
[ -z "$(ph_ctl --json endpoint list)" ] || ph_fail "stale endpoints"
ph_ctl --json account list | grep -q '"name":"erin"' ||
    ph_fail "the account is gone after the restart"
ph_ssh_bg again -N -i "$key" -R "0:127.0.0.1:$backend" erin@127.0.0.1
ph_wait_tunnel again
got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 4096) || ph_fail "echo again"
[ "$got" = "$("$TNET" sum 4096)" ] || ph_fail "echo again: '$got'"
ph_pass "after SIGKILL and restart: no stale rows, key still works"
