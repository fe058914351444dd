#!/bin/bash
# ControlMaster: forwards added and cancelled on a live connection with
# ssh -O forward / -O cancel. A cancel closes the public listener; a
# connection already relayed keeps working.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user carol
ph_start_server
key=$PH_TMP/carol
sock=$PH_TMP/mux.sock

ph_listen echo echo
backend=$PH_LAST_PORT

# A master without a session channel, as people run it.
ph_ssh_bg master -M -S "$sock" -N -i "$key" carol@127.0.0.1
master_pid=$PH_LAST_PID
n=0
until ph_ssh -S "$sock" -O check carol@127.0.0.1 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -lt 300 ] || ph_fail "the control master did not come up"
	_ph_alive "$master_pid" || ph_fail "the control master exited"
	sleep 0.05
done

port=$(ph_ssh -S "$sock" -O forward -R "0:127.0.0.1:$backend" \
    carol@127.0.0.1) || ph_fail "ssh -O forward failed"
case $port in
'' | *[!0-9]*) ph_fail "ssh -O forward printed '$port', not a port" ;;
esac
ph_pass "ssh -O forward -R 0:… allocated port $port"

# A long-lived relayed connection, driven line by line.
coproc CHAT { "$TNET" chat "127.0.0.1:$port" 2>&1; }
chat_pid=$CHAT_PID
ph_track "$chat_pid"
echo "before cancel" >&"${CHAT[1]}"
read -r -t 15 line <&"${CHAT[0]}" || ph_fail "no echo before cancel"
[ "$line" = "before cancel" ] || ph_fail "echo before cancel: '$line'"

ph_ssh -S "$sock" -O cancel -R "0:127.0.0.1:$backend" carol@127.0.0.1 \
    2>"$PH_TMP/cancel.err" || ph_fail "ssh -O cancel failed"
ph_wait_for "$PH_LOG" "tcp://127\.0\.0\.1:$port cancelled"
"$TNET" refused "127.0.0.1:$port" ||
    ph_fail "port $port still accepts after the cancel"
[ -z "$(ph_ctl --json endpoint list)" ] ||
    ph_fail "the cancelled endpoint is still listed"
ph_pass "cancel closed the listener and ended the endpoint"

echo "after cancel" >&"${CHAT[1]}"
read -r -t 15 line <&"${CHAT[0]}" || ph_fail "no echo after cancel"
[ "$line" = "after cancel" ] || ph_fail "echo after cancel: '$line'"
ph_pass "the connection relayed before the cancel keeps working"

# Forwards can be added again on the same connection.
port2=$(ph_ssh -S "$sock" -O forward -R "0:127.0.0.1:$backend" \
    carol@127.0.0.1) || ph_fail "second ssh -O forward failed"
got=$("$TNET" echo "127.0.0.1:$port2" 10000) || ph_fail "echo via $port2"
[ "$got" = "$("$TNET" sum 10000)" ] || ph_fail "echo via $port2: '$got'"
ph_pass "a new forward on the same connection works"

exec {CHAT[1]}>&-
ph_ssh -S "$sock" -O exit carol@127.0.0.1 2>/dev/null || :
ph_wait_gone "$master_pid"
