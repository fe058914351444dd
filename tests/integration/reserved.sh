#!/bin/bash
# Reserved addresses through the real ssh client and portholectl: only the
# holder can serve one, on the default host or a second PublicHost; other
# fixed ports and other accounts are refused; random addresses never land
# on a reserved (or once reserved) port; AddressAffinity gives a
# reconnecting client its ports back.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

cat >"$PH_CONF" <<EOF
ListenAddress 127.0.0.1:0
StateDirectory $PH_TMP/state
TunnelAddress 127.0.0.1
PublicHost 127.0.0.1
PublicHost tunnel.test
LogLevel VERBOSE
EOF
ph_user alice
ph_user bob
ph_start_server

ph_listen echo echo
backend=$PH_LAST_PORT
# ssh drops a -R that repeats another exactly: distinct local ports.
ph_listen echo2 echo
backend2=$PH_LAST_PORT
ph_listen echo3 echo
backend3=$PH_LAST_PORT

# hostport_port "host:port": the port.
hp_port() { printf '%s\n' "${1##*:}"; }

# --- the holder serves its reserved address ---------------------------------
addr=$(ph_ctl address reserve alice --description "alice's db") ||
    ph_fail "address reserve failed"
case $addr in 127.0.0.1:[0-9]*) ;; *) ph_fail "reserve printed '$addr'" ;; esac
port=$(hp_port "$addr")

ph_ssh_bg res -i "$PH_TMP/alice" -R "$port:127.0.0.1:$backend" \
    alice@127.0.0.1 tcp
res_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/res.out" "^Forwarding  tcp://127\.0\.0\.1:$port\$" 15 \
    "$res_pid"
got=$("$TNET" echo "127.0.0.1:$port" 100000) || ph_fail "echo via $addr"
[ "$got" = "$("$TNET" sum 100000)" ] || ph_fail "echo via $addr: '$got'"
ph_ctl --json endpoint list | grep -q '"address_id":"ra_' ||
    ph_fail "the endpoint does not name its reserved address"
ph_ctl address show "$addr" | grep -q "ep_" ||
    ph_fail "address show does not show the serving endpoint"
ph_pass "-R $port:… serves the reserved $addr for its holder"

# Someone else asking for it, while it is served and when it is not.
rc=0
ph_ssh -i "$PH_TMP/bob" -N -o ExitOnForwardFailure=yes \
    -R "$port:127.0.0.1:$backend" bob@127.0.0.1 </dev/null \
    2>"$PH_TMP/bob.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "bob got alice's address (exit $rc)"
kill "$res_pid"
ph_wait_gone "$res_pid"
ph_ssh_bg bobtcp -i "$PH_TMP/bob" -R "127.0.0.1:$port:127.0.0.1:$backend" \
    bob@127.0.0.1 tcp
ph_wait_for "$PH_TMP/bobtcp.err" \
    "porthole: remote forward '127\.0\.0\.1:$port' refused: 127\.0\.0\.1:$port is not an address reserved for account bob" \
    15 "$PH_LAST_PID"
"$TNET" refused "127.0.0.1:$port" || ph_fail "bob's request bound $port"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "another account is refused, with the reason"

# The explicit host form works for the holder too.
ph_ssh_bg res2 -i "$PH_TMP/alice" -N -o ExitOnForwardFailure=yes \
    -R "127.0.0.1:$port:127.0.0.1:$backend" alice@127.0.0.1
ph_wait_for "$PH_LOG" "endpoint ep_[A-Za-z0-9]+ tcp://127\.0\.0\.1:$port \(asked '127\.0\.0\.1' port $port\)" \
    15 "$PH_LAST_PID"
got=$("$TNET" echo "127.0.0.1:$port" 1000) || ph_fail "echo via host form"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "-R 127.0.0.1:$port:… serves it as well"

# --- a second PublicHost ---------------------------------------------------------
addr2=$(ph_ctl address reserve alice --host tunnel.test) ||
    ph_fail "reserve on tunnel.test failed"
case $addr2 in tunnel.test:[0-9]*) ;; *) ph_fail "reserve printed '$addr2'" ;; esac
port2=$(hp_port "$addr2")
ph_ssh_bg host2 -i "$PH_TMP/alice" -R "tunnel.test:$port2:127.0.0.1:$backend" \
    -R "tunnel.test:0:127.0.0.1:$backend" alice@127.0.0.1 tcp
ph_wait_count "$PH_TMP/host2.out" "^Forwarding  tcp://tunnel\.test:" 2 15 \
    "$PH_LAST_PID"
grep -q "^Forwarding  tcp://tunnel\.test:$port2\$" "$PH_TMP/host2.out" ||
    ph_fail "no tunnel.test:$port2 in $(cat "$PH_TMP/host2.out")"
got=$("$TNET" echo "127.0.0.1:$port2" 1000) || ph_fail "echo via $addr2"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "reserved and random addresses on a second PublicHost"

# A fixed port nobody reserved, and a host not served.
rc=0
ph_ssh -i "$PH_TMP/alice" -N -o ExitOnForwardFailure=yes \
    -R "tunnel.test:1:127.0.0.1:$backend" alice@127.0.0.1 </dev/null \
    2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "an unreserved fixed port was granted ($rc)"
rc=0
ph_ssh -i "$PH_TMP/alice" -N -o ExitOnForwardFailure=yes \
    -R "other.test:$port:127.0.0.1:$backend" alice@127.0.0.1 </dev/null \
    2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a host not served was granted ($rc)"
ph_pass "unreserved fixed ports and unknown hosts are refused"

# --- a deleted address is never served again -------------------------------------
ph_ctl address delete "$addr" >/dev/null || ph_fail "address delete"
rc=0
ph_ssh -i "$PH_TMP/alice" -N -o ExitOnForwardFailure=yes \
    -R "$port:127.0.0.1:$backend" alice@127.0.0.1 </dev/null \
    2>/dev/null || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a deleted address was served ($rc)"
ph_pass "a deleted address is refused"

# Deleted while served: the listener closes at once, relayed connections
# go on, the client is told.
addr3=$(ph_ctl address reserve alice) || ph_fail "third reserve"
port3=$(hp_port "$addr3")
ph_ssh_bg served -i "$PH_TMP/alice" -R "$port3:127.0.0.1:$backend" \
    alice@127.0.0.1 tcp
served_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/served.out" "^Forwarding  tcp://127\.0\.0\.1:$port3\$" 15 \
    "$served_pid"
coproc CHAT { "$TNET" chat "127.0.0.1:$port3" 2>&1; }
chat_pid=$CHAT_PID
ph_track "$chat_pid"
echo one >&"${CHAT[1]}"
read -r -t 15 line <&"${CHAT[0]}" || ph_fail "no echo before delete"
ph_ctl address delete "$addr3" >/dev/null || ph_fail "delete served address"
ph_wait_for "$PH_TMP/served.err" \
    "porthole: tcp://127\.0\.0\.1:$port3 stopped: the server's administrator deleted this address" \
    15 "$served_pid"
"$TNET" refused "127.0.0.1:$port3" || ph_fail "deleted $addr3 still listens"
echo two >&"${CHAT[1]}"
read -r -t 15 line <&"${CHAT[0]}" || ph_fail "no echo after delete"
[ "$line" = two ] || ph_fail "echo after delete: '$line'"
exec {CHAT[1]}>&-
kill "$served_pid"
ph_wait_gone "$served_pid"
ph_pass "deleting a served address stops its listener; relayed connections go on"

# --- random addresses avoid reserved and once-reserved ports ---------------------
ph_stop_server
small="-o PortRange=31000-31003"
# shellcheck disable=SC2086
r1=$(ph_ctl $small address reserve bob) || ph_fail "reserve in 31000-31003"
# shellcheck disable=SC2086
r2=$(ph_ctl $small address reserve bob) || ph_fail "second reserve"
# shellcheck disable=SC2086
ph_ctl $small address delete "$r2" >/dev/null || ph_fail "delete $r2"
# shellcheck disable=SC2086
ph_start_server $small
ph_ssh_bg rnd -i "$PH_TMP/alice" -N -R "0:127.0.0.1:$backend" \
    -R "0:127.0.0.1:$backend2" -R "0:127.0.0.1:$backend3" alice@127.0.0.1
ph_wait_count "$PH_LOG" "forward 'localhost' port 0 refused: no free port is left" \
    1 15 "$PH_LAST_PID"
ph_wait_count "$PH_TMP/rnd.err" "Allocated port" 2 15 "$PH_LAST_PID"
got=$(tr -d '\r' <"$PH_TMP/rnd.err" |
    sed -nE 's/.*Allocated port ([0-9]+) .*/\1/p' | sort -n | tr '\n' ' ')
for p in $(hp_port "$r1") $(hp_port "$r2"); do
	case " $got" in *" $p "*) ph_fail "random got reserved port $p" ;; esac
done
[ "$(echo "$got" | wc -w)" -eq 2 ] ||
    ph_fail "want exactly the 2 unreserved ports, got: $got"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "random addresses skip reserved and deleted ports (got $got)"
ph_stop_server

# --- address affinity ------------------------------------------------------------
ph_start_server -o PortRange=20000-59999
ph_ssh_bg aff1 -i "$PH_TMP/alice" -N -R "0:127.0.0.1:$backend" \
    -R "0:127.0.0.1:$backend2" alice@127.0.0.1
ph_wait_count "$PH_TMP/aff1.err" "Allocated port" 2 15 "$PH_LAST_PID"
first=$(tr -d '\r' <"$PH_TMP/aff1.err" |
    sed -nE 's/.*Allocated port ([0-9]+) .*/\1/p' | tr '\n' ' ')
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_wait_count "$PH_LOG" "session ss_[A-Za-z0-9]+: ended" 1
ph_ssh_bg aff2 -i "$PH_TMP/alice" -N -R "0:127.0.0.1:$backend" \
    -R "0:127.0.0.1:$backend2" alice@127.0.0.1
ph_wait_count "$PH_TMP/aff2.err" "Allocated port" 2 15 "$PH_LAST_PID"
second=$(tr -d '\r' <"$PH_TMP/aff2.err" |
    sed -nE 's/.*Allocated port ([0-9]+) .*/\1/p' | tr '\n' ' ')
[ "$first" = "$second" ] ||
    ph_fail "reconnect got '$second', had '$first' (AddressAffinity)"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "a reconnecting client gets its ports back: $second"
