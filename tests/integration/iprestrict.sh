#!/bin/bash
# IP restrictions through the real ssh client, with clients bound to
# several 127.0.0.x sources (and ::1 where IPv6 works): the session's
# --cidr-allow/--cidr-deny flags, an account's policy, a reserved
# address's policy, all layers together. A refused client is closed
# before any channel opens: the local service never sees it.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user alice
ph_start_server -o TunnelAddress=::
key=$PH_TMP/alice
ph_listen svc -v echo
svc=$PH_LAST_PORT
accepts=0

# admitted SRC PORT: a client from SRC gets through and is echoed.
admitted() {
	local got

	got=$("$TNET" echo -s "$1" "$(hostport "$1" "$2")" 2000) ||
	    ph_fail "client $1 on $2 was not admitted"
	[ "$got" = "$("$TNET" sum 2000)" ] || ph_fail "client $1: bad echo"
	accepts=$((accepts + 1))
	ph_wait_count "$PH_TMP/svc.out" "^accept " "$accepts" 15
}

# refused SRC PORT: a client from SRC is closed without reaching the
# service (its accept count does not move).
refused() {
	local rc=0

	"$TNET" closed -s "$1" -t 15 "$(hostport "$1" "$2")" >/dev/null || rc=$?
	[ "$rc" -eq 0 ] || ph_fail "client $1 on $2 was not closed ($rc)"
	case $1 in
	*:*) ph_wait_for "$PH_LOG" "refused \\[$1\\]:" ;;
	*) ph_wait_for "$PH_LOG" "refused $(echo "$1" | sed 's/\./\\./g'):" ;;
	esac
	[ "$(_ph_count "$PH_TMP/svc.out" "^accept ")" -eq "$accepts" ] ||
	    ph_fail "client $1 reached the service"
}

# hostport SRC PORT: where a client from SRC connects.
hostport() {
	case $1 in
	*:*) printf '[::1]:%s\n' "$2" ;;
	*) printf '127.0.0.1:%s\n' "$2" ;;
	esac
}

# session NAME ARGS...: a session forwarding to the service; sets $port.
session() {
	local name=$1

	shift
	ph_ssh_bg "$name" -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp "$@"
	ph_wait_for "$PH_TMP/$name.out" "^Forwarding" 15 "$PH_LAST_PID"
	port=$(ph_tunnel_port "$PH_TMP/$name.out")
}

# --- the session's flags ---------------------------------------------------------
session flags --cidr-allow=127.0.0.2/32,127.0.0.3 --cidr-deny 127.0.0.3/32
flags_pid=$PH_LAST_PID
admitted 127.0.0.2 "$port"
refused 127.0.0.3 "$port" # allowed, but a deny wins
refused 127.0.0.4 "$port" # not in the allow list
ph_pass "--cidr-allow admits listed clients; --cidr-deny wins; others refused"

# A client that connects the instant the port is allocated is judged by
# the session's flags too: connections wait in the backlog until the
# options are known. ssh sends its command one round trip after the
# forward is granted; a ProxyCommand that delays what ssh sends by 300 ms
# makes that moment wide enough to connect inside it.
PH_SSH_OPTS=(-o "ProxyCommand=$TNET delaypipe 300 127.0.0.1:%p")
ph_ssh_bg quick -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp \
    --cidr-deny=127.0.0.5
PH_SSH_OPTS=()
ph_wait_for "$PH_TMP/quick.err" "Allocated port" 30 "$PH_LAST_PID"
quick_port=$(ph_tunnel_port "$PH_TMP/quick.err")
refused 127.0.0.5 "$quick_port"
ph_wait_for "$PH_TMP/quick.out" "^Forwarding" 30 "$PH_LAST_PID"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "a client faster than the command is judged by the command's flags"

# --- an account policy, attached while the session is live -------------------------
ph_ctl ip-policy create office --allow 127.0.0.0/8 --deny 127.0.0.2/32 \
    >/dev/null || ph_fail "ip-policy create"
ph_ctl account update alice --ip-policy office >/dev/null ||
    ph_fail "account update --ip-policy"
ph_wait_count "$PH_LOG" "settings re-read on request" 1 15
refused 127.0.0.2 "$port" # the session allows it, the account denies it
ph_ctl ip-policy rule delete office deny 127.0.0.2/32 >/dev/null ||
    ph_fail "rule delete"
ph_wait_count "$PH_LOG" "settings re-read on request" 2 15
admitted 127.0.0.2 "$port"
kill "$flags_pid"
ph_wait_gone "$flags_pid"
ph_pass "an account policy layers on the session's flags, live"

# --- a reserved address's policy ----------------------------------------------------
addr=$(ph_ctl address reserve alice) || ph_fail "reserve"
aport=${addr##*:}
ph_ctl ip-policy create db-clients --allow 127.0.0.8/32 >/dev/null ||
    ph_fail "ip-policy create db-clients"
ph_ctl address update "$addr" --ip-policy db-clients >/dev/null ||
    ph_fail "address update --ip-policy"
ph_ssh_bg res -i "$key" -R "$aport:127.0.0.1:$svc" alice@127.0.0.1 tcp
ph_wait_for "$PH_TMP/res.out" "^Forwarding" 15 "$PH_LAST_PID"
admitted 127.0.0.8 "$aport"
refused 127.0.0.9 "$aport"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "a reserved address's policy applies to its connections"

# --- IPv6 ---------------------------------------------------------------------------
ph_ctl account update alice --ip-policy none >/dev/null
if "$TNET" freeport -b ::1 >/dev/null 2>&1; then
	session v6 --cidr-allow=::1/128
	admitted ::1 "$port"
	refused 127.0.0.1 "$port"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
	session v4only --cidr-allow=127.0.0.0/8
	admitted 127.0.0.1 "$port"
	refused ::1 "$port" # an IPv4 rule never admits native IPv6
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
	ph_pass "IPv6 clients: ::1 allowed by ::1/128, refused by an IPv4 list"
else
	echo "# no IPv6 on this host: IPv6 checks skipped"
fi

# --- bad flags -----------------------------------------------------------------------
rc=0
ph_ssh -i "$key" alice@127.0.0.1 tcp --cidr-allow=10.0.0.1/8 </dev/null \
    >/dev/null 2>"$PH_TMP/bad.err" || rc=$?
[ "$rc" -eq 2 ] || ph_fail "bad CIDR: exit $rc, want 2"
grep -q "porthole: --cidr-allow: .*did you mean 10.0.0.0/8" "$PH_TMP/bad.err" ||
    ph_fail "bad CIDR: $(cat "$PH_TMP/bad.err")"
rc=0
ph_ssh -i "$key" alice@127.0.0.1 tcp --cidr-deny=banana </dev/null \
    >/dev/null 2>"$PH_TMP/bad2.err" || rc=$?
[ "$rc" -eq 2 ] || ph_fail "bad CIDR text: exit $rc, want 2"
ph_pass "a bad CIDR is a clear error, exit 2"
