#!/bin/bash
# What the session shows: --json (one object per line for each endpoint
# and each error), and with a pty the live view whose counters follow the
# traffic, ended with Ctrl+C.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user alice
ph_start_server
key=$PH_TMP/alice
ph_listen svc echo
svc=$PH_LAST_PORT

# --- --json -------------------------------------------------------------------------
ph_ssh_bg json -i "$key" -R "0:127.0.0.1:$svc" -R "12345:127.0.0.1:$svc" \
    alice@127.0.0.1 tcp --json
ph_wait_count "$PH_TMP/json.out" '^\{' 2 15 "$PH_LAST_PID"
ep=$(grep '"type":"endpoint"' "$PH_TMP/json.out") ||
    ph_fail "no endpoint object: $(cat "$PH_TMP/json.out")"
port=$(printf '%s\n' "$ep" | sed -nE 's/.*"url":"tcp:\/\/127\.0\.0\.1:([0-9]+)".*/\1/p')
[ -n "$port" ] || ph_fail "endpoint object without url: $ep"
printf '%s\n' "$ep" | grep -Eq '^\{"type":"endpoint","id":"ep_[A-Za-z0-9]{24}","url":"tcp://127\.0\.0\.1:'"$port"'","hostport":"127\.0\.0\.1:'"$port"'"\}$' ||
    ph_fail "endpoint object: $ep"
grep -Eq '^\{"type":"error","code":"forward_refused","message":"remote forward .localhost:12345. refused: [^"]*"\}$' \
    "$PH_TMP/json.out" || ph_fail "no error object: $(cat "$PH_TMP/json.out")"
if command -v jq >/dev/null 2>&1; then
	jq -e . "$PH_TMP/json.out" >/dev/null || ph_fail "output is not JSON"
fi
grep -q "^porthole" "$PH_TMP/json.out" && ph_fail "--json printed the banner"
[ -s "$PH_TMP/json.err" ] && grep -q "^porthole:" "$PH_TMP/json.err" &&
    ph_fail "--json wrote errors as text"
got=$("$TNET" echo "127.0.0.1:$port" 1000) || ph_fail "echo via json session"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "--json: one endpoint object and one error object per line"

# --- the live view with a pty --------------------------------------------------------
mkfifo "$PH_TMP/tty.in"
_ph_ssh_cmd
"${_ph_ssh[@]}" -tt -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp \
    <"$PH_TMP/tty.in" >"$PH_TMP/tty.out" 2>"$PH_TMP/tty.err" &
tty_pid=$!
ph_track "$tty_pid"
exec 4>"$PH_TMP/tty.in"
ph_wait_for "$PH_TMP/tty.out" "Connections +open +total +refused +in +out" 15 \
    "$tty_pid"
port=$(sed -nE 's/.*Forwarding  tcp:\/\/127\.0\.0\.1:([0-9]+).*/\1/p' \
    "$PH_TMP/tty.out" | head -n 1)
[ -n "$port" ] || ph_fail "live view without Forwarding line"
grep -q $'\033\\[2J' "$PH_TMP/tty.out" || ph_fail "the view does not redraw"
got=$("$TNET" echo "127.0.0.1:$port" 5000) || ph_fail "echo via the view"
# The counters follow: 0 open, 1 in total, 0 refused, 5000 bytes each way.
ph_wait_for "$PH_TMP/tty.out" \
    "tcp://127\.0\.0\.1:$port +0 +1 +0 +4\.9 KiB +4\.9 KiB" 15 "$tty_pid"
ph_pass "the live view counts connections and bytes"

printf '\003' >&4
ph_wait_gone "$tty_pid"
exec 4>&-
[ "$PH_EXIT_STATUS" -eq 0 ] || ph_fail "Ctrl+C: ssh exited $PH_EXIT_STATUS"
"$TNET" refused "127.0.0.1:$port" || ph_fail "port still open after Ctrl+C"
ph_pass "Ctrl+C ends the session"
