#!/bin/bash
# PROXY protocol through the real ssh client: v1 and v2 turned on by the
# session's --proxy-proto flag or by a reserved address's setting, read by
# our strict parser (tnet listen proxy) and by a real haproxy with
# accept-proxy, which must see the true client address and port.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user alice
ph_start_server
key=$PH_TMP/alice
ph_listen parser proxy
parser=$PH_LAST_PORT

# first_line SRC PORT: the first line the service sends back.
first_line() {
	"$TNET" line -s "$1" "127.0.0.1:$2" || ph_fail "tnet line via $2"
}

# --- the header is the first thing, even for the quickest client ------------
for v in 1 2; do
	ph_ssh_bg "quick$v" -i "$key" -R "0:127.0.0.1:$parser" alice@127.0.0.1 \
	    tcp --proxy-proto=$v
	# Connect as soon as ssh knows the port: before, or while, the
	# session's command is on its way.
	ph_wait_for "$PH_TMP/quick$v.err" "Allocated port" 15 "$PH_LAST_PID"
	port=$(ph_tunnel_port "$PH_TMP/quick$v.err")
	got=$(first_line 127.0.0.3 "$port")
	case $got in
	"PROXY v$v 127.0.0.3 "[0-9]*" 127.0.0.1 $port") ;;
	*) ph_fail "quick client, v$v: service saw '$got'" ;;
	esac
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
done
ph_pass "v1 and v2 headers come first, for a client connecting as soon as the port is known"

# --- the data after the header is intact, both ways ----------------------------
ph_ssh_bg v2 -i "$key" -R "0:127.0.0.1:$parser" alice@127.0.0.1 tcp \
    --proxy-proto 2
ph_wait_for "$PH_TMP/v2.out" "^Forwarding" 15 "$PH_LAST_PID"
port=$(ph_tunnel_port "$PH_TMP/v2.out")
# The parser answers one line, then echoes: the echo must be exact.
got=$("$TNET" send "127.0.0.1:$port" 300000 | tail -n +2) ||
    ph_fail "send after the header"
[ "$got" = "$("$TNET" sum 300000)" ] ||
    ph_fail "bytes after the header differ: '$got'"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "what follows the header arrives intact"

# --- without the flag, no header ------------------------------------------------
ph_listen plain echo
ph_ssh_bg none -i "$key" -R "0:127.0.0.1:$PH_LAST_PORT" alice@127.0.0.1 tcp
ph_wait_for "$PH_TMP/none.out" "^Forwarding" 15 "$PH_LAST_PID"
got=$("$TNET" echo "127.0.0.1:$(ph_tunnel_port "$PH_TMP/none.out")" 1000) ||
    ph_fail "plain echo"
[ "$got" = "$("$TNET" sum 1000)" ] || ph_fail "a header was sent unasked"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "no flag, no setting: no header"

# --- a reserved address's setting, changed while it is served -------------------
addr=$(ph_ctl address reserve alice) || ph_fail "reserve"
aport=${addr##*:}
ph_ssh_bg res -i "$key" -R "$aport:127.0.0.1:$parser" alice@127.0.0.1 tcp
res_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/res.out" "^Forwarding" 15 "$res_pid"
reread=0
# set_proto V: change the address's setting; wait until the session has
# re-read its settings (portholectl signals it).
set_proto() {
	ph_ctl address update "$addr" --proxy-proto "$1" >/dev/null ||
	    ph_fail "address update --proxy-proto $1"
	reread=$((reread + 1))
	ph_wait_count "$PH_LOG" "settings re-read on request" "$reread" 15
}
set_proto 1
got=$(first_line 127.0.0.4 "$aport")
case $got in
"PROXY v1 127.0.0.4 "[0-9]*" 127.0.0.1 $aport") ;;
*) ph_fail "address v1: '$got'" ;;
esac
set_proto 2
got=$(first_line 127.0.0.5 "$aport")
case $got in
"PROXY v2 127.0.0.5 "[0-9]*" 127.0.0.1 $aport") ;;
*) ph_fail "address v2: '$got'" ;;
esac
kill "$res_pid"
ph_wait_gone "$res_pid"
ph_pass "the reserved address's --proxy-proto applies, live"

# --- a real haproxy behind the tunnel sees the real client ---------------------
if ! command -v haproxy >/dev/null 2>&1; then
	ph_skip "haproxy is not installed"
fi
ph_require curl
hport=$("$TNET" freeport)
cat >"$PH_TMP/haproxy.cfg" <<EOF
global
	maxconn 100
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend behind_the_tunnel
	bind 127.0.0.1:$hport accept-proxy
	http-request return status 200 content-type text/plain lf-string "%[src] %[src_port]\n"
EOF
haproxy -c -f "$PH_TMP/haproxy.cfg" >/dev/null 2>&1 ||
    ph_fail "haproxy rejects the test configuration"
ph_bg haproxy haproxy -db -f "$PH_TMP/haproxy.cfg"
until ! "$TNET" refused "127.0.0.1:$hport" 2>/dev/null; do
	_ph_alive "$PH_LAST_PID" || ph_fail "haproxy exited: $(cat "$PH_TMP/haproxy.err")"
	sleep 0.05
done
for v in 1 2; do
	ph_ssh_bg "ha$v" -i "$key" -R "0:127.0.0.1:$hport" alice@127.0.0.1 tcp \
	    "--proxy-proto=$v"
	ph_wait_for "$PH_TMP/ha$v.out" "^Forwarding" 15 "$PH_LAST_PID"
	port=$(ph_tunnel_port "$PH_TMP/ha$v.out")
	lport=$("$TNET" freeport -b 127.0.0.9)
	got=$(curl -sS --max-time 10 --interface 127.0.0.9 --local-port "$lport" \
	    "http://127.0.0.1:$port/") || ph_fail "curl through v$v failed"
	[ "$got" = "127.0.0.9 $lport" ] ||
	    ph_fail "haproxy (v$v) saw '$got', want '127.0.0.9 $lport'"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
done
ph_pass "haproxy with accept-proxy sees the true client address and port (v1, v2)"
