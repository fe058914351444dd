#!/bin/bash
# Random addresses through the real ssh client: the tcp banner, -N, a shell
# request, three forwards in one session, the live rows in the store, the
# session command's help and errors, the host key kept across restarts, and
# the environment left as it was given.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen ssh-keyscan

ph_user alice
# INFO, as in production: debug logging slows the server and can hide
# races in what the client sees.
ph_start_server -o PortRange=20000-29999 -o LogLevel=INFO
key=$PH_TMP/alice

# A local service for the tunnels to reach.
ph_listen backend echo
backend=$PH_LAST_PORT

# --- the tcp command: banner, URL, data -----------------------------------
ph_ssh_bg tcp -i "$key" -R "0:127.0.0.1:$backend" alice@127.0.0.1 tcp
tcp_pid=$PH_LAST_PID
ph_wait_tunnel tcp
port=$PH_TUNNEL_PORT
[ "$port" -ge 20000 ] && [ "$port" -le 29999 ] ||
    ph_fail "port $port is outside PortRange 20000-29999"
want=$(printf 'porthole (Ctrl+C to quit)\n\nAccount     alice\nForwarding  tcp://127.0.0.1:%s' "$port")
[ "$(cat "$PH_TMP/tcp.out")" = "$want" ] ||
    ph_fail "banner differs: $(cat "$PH_TMP/tcp.out")"
grep -q "Allocated port $port for remote forward to 127.0.0.1:$backend" \
    "$PH_TMP/tcp.err" || ph_fail "ssh did not report the allocated port"
ph_pass "tcp command: banner with tcp://127.0.0.1:$port"

sum=$("$TNET" echo "127.0.0.1:$port" 1048576) ||
    ph_fail "echo through the tunnel failed"
[ "$sum" = "$("$TNET" sum 1048576)" ] || ph_fail "echo checksum differs"
ph_pass "1 MiB echoed through the tunnel"

# The store knows the live session and endpoint.
ph_ctl --json endpoint list >"$PH_TMP/ep.json"
grep -q "\"url\":\"tcp://127.0.0.1:$port\"" "$PH_TMP/ep.json" ||
    ph_fail "endpoint list lacks tcp://127.0.0.1:$port: $(cat "$PH_TMP/ep.json")"
grep -q '"account":"alice"' "$PH_TMP/ep.json" ||
    ph_fail "endpoint list lacks the account"
ph_ctl session list >"$PH_TMP/ss.txt"
grep -q "alice" "$PH_TMP/ss.txt" || ph_fail "session list lacks alice"
ph_pass "endpoint and session are listed while live"

kill "$tcp_pid"
ph_wait_gone "$tcp_pid"
ph_wait_for "$PH_LOG" "session ss_[A-Za-z0-9]+: ended"
[ -z "$(ph_ctl --json endpoint list)" ] ||
    ph_fail "endpoint still listed after the client left"
[ -z "$(ph_ctl --json session list)" ] ||
    ph_fail "session still listed after the client left"
"$TNET" refused "127.0.0.1:$port" ||
    ph_fail "port $port still accepts after the client left"
ph_pass "rows ended and port closed when the client left"

# --- ssh -N: no session channel ---------------------------------------------
ph_ssh_bg nosess -N -i "$key" -R "0:127.0.0.1:$backend" alice@127.0.0.1
nosess_pid=$PH_LAST_PID
ph_wait_tunnel nosess
sum=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 65536) ||
    ph_fail "echo through the -N tunnel failed"
[ "$sum" = "$("$TNET" sum 65536)" ] || ph_fail "-N echo checksum differs"
kill "$nosess_pid"
ph_wait_gone "$nosess_pid"
ph_pass "ssh -N: the forward serves with defaults"

# --- a shell request (no command) behaves like tcp --------------------------
ph_ssh_bg shell -i "$key" -R "0:127.0.0.1:$backend" alice@127.0.0.1
shell_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/shell.out" "^Forwarding  tcp://127\.0\.0\.1:[0-9]+$" 15 \
    "$shell_pid"
grep -q "^porthole (Ctrl+C to quit)" "$PH_TMP/shell.out" ||
    ph_fail "no banner for a shell request"
kill "$shell_pid"
ph_wait_gone "$shell_pid"
ph_pass "shell request prints the tcp banner"

# --- three forwards in one session, each to its own service ----------------
ph_listen svc1 source:1111
s1=$PH_LAST_PORT
ph_listen svc2 source:2222
s2=$PH_LAST_PORT
ph_listen svc3 source:3333
s3=$PH_LAST_PORT
ph_ssh_bg three -i "$key" -R "0:127.0.0.1:$s1" -R "0:127.0.0.1:$s2" \
    -R "0:127.0.0.1:$s3" alice@127.0.0.1 tcp --metadata "'three forwards'"
three_pid=$PH_LAST_PID
ph_wait_count "$PH_TMP/three.err" "Allocated port" 3 15 "$three_pid"
ph_wait_count "$PH_TMP/three.out" "^Forwarding" 3 15 "$three_pid"
for n in 1111 2222 3333; do
	case $n in
	1111) svc=$s1 ;;
	2222) svc=$s2 ;;
	3333) svc=$s3 ;;
	esac
	p=$(tr -d '\r' <"$PH_TMP/three.err" | sed -nE \
	    "s/.*Allocated port ([0-9]+) for remote forward to 127.0.0.1:$svc\$/\1/p")
	[ -n "$p" ] || ph_fail "no allocated port for service $svc"
	got=$("$TNET" recv "127.0.0.1:$p") || ph_fail "recv via $p failed"
	[ "$got" = "$("$TNET" sum "$n")" ] ||
	    ph_fail "forward $p reached the wrong service: $got"
done
[ "$(ph_ctl --json endpoint list | wc -l)" -eq 3 ] ||
    ph_fail "want 3 live endpoints"
# The metadata comes with the command, after the forwards: all get it.
[ "$(ph_ctl --json endpoint list | grep -c '"metadata":"three forwards"')" \
    -eq 3 ] || ph_fail "metadata missing: $(ph_ctl --json endpoint list)"
kill "$three_pid"
ph_wait_gone "$three_pid"
ph_pass "three forwards in one session reach their own services, with metadata"

# --- the session command: help and errors -----------------------------------
rc=0
ph_ssh -i "$key" alice@127.0.0.1 tcp --help >"$PH_TMP/help.out" \
    2>"$PH_TMP/help.err" || rc=$?
[ "$rc" -eq 0 ] || ph_fail "tcp --help exit $rc"
grep -q "^usage: tcp" "$PH_TMP/help.out" || ph_fail "tcp --help: no usage"
ph_pass "tcp --help prints the usage, exit 0"

rc=0
ph_ssh -i "$key" alice@127.0.0.1 tcp --bogus >"$PH_TMP/bad.out" \
    2>"$PH_TMP/bad.err" || rc=$?
[ "$rc" -eq 2 ] || ph_fail "tcp --bogus: exit $rc, want 2"
grep -q "porthole: unknown flag '--bogus'" "$PH_TMP/bad.err" ||
    ph_fail "tcp --bogus: no clear error: $(cat "$PH_TMP/bad.err")"
ph_pass "unknown flag: error on stderr, exit 2"

rc=0
ph_ssh -i "$key" alice@127.0.0.1 ls -l >"$PH_TMP/ls.out" \
    2>"$PH_TMP/ls.err" || rc=$?
[ "$rc" -eq 2 ] || ph_fail "exec ls: exit $rc, want 2"
grep -q "porthole: unknown command 'ls'" "$PH_TMP/ls.err" ||
    ph_fail "exec ls: no clear error: $(cat "$PH_TMP/ls.err")"
[ -s "$PH_TMP/ls.out" ] && ph_fail "exec ls printed something on stdout"
ph_pass "exec other than tcp: error on stderr, exit 2"

# --- the host key is generated once and kept --------------------------------
ssh-keyscan -T 10 -t ed25519 -p "$PH_PORT" 127.0.0.1 2>/dev/null |
    cut -d' ' -f2- >"$PH_TMP/hostkey.1"
grep -q "^ssh-ed25519 " "$PH_TMP/hostkey.1" || ph_fail "no ed25519 host key"
cut -d' ' -f1,2 "$PH_TMP/state/ssh_host_ed25519_key.pub" >"$PH_TMP/hostkey.pub"
cmp -s "$PH_TMP/hostkey.1" "$PH_TMP/hostkey.pub" ||
    ph_fail "served host key differs from ssh_host_ed25519_key.pub"
ph_stop_server
ph_start_server -o PortRange=20000-29999 -o LogLevel=INFO
ssh-keyscan -T 10 -t ed25519 -p "$PH_PORT" 127.0.0.1 2>/dev/null |
    cut -d' ' -f2- >"$PH_TMP/hostkey.2"
cmp -s "$PH_TMP/hostkey.1" "$PH_TMP/hostkey.2" ||
    ph_fail "host key changed across a restart"
ph_pass "host key generated on first start and reused after"

# --- portholed runs with the environment it was given ------------------------
# It used to start itself again with GLIBC_TUNABLES changed on AMD, which
# could loop forever when glibc drops GLIBC_TUNABLES (AT_SECURE); the
# man page says how to set it (portholed.8, ENVIRONMENT).
# environ_of PID: the environment PID's program started with, a line each.
environ_of() {
	tr '\0' '\n' <"/proc/$1/environ"
}
ph_stop_server
unset GLIBC_TUNABLES
ph_start_server
environ_of "$PH_SERVER_PID" | grep -q '^GLIBC_TUNABLES=' &&
    ph_fail "portholed set GLIBC_TUNABLES: $(environ_of "$PH_SERVER_PID" |
	grep '^GLIBC_TUNABLES=')"
ph_stop_server
GLIBC_TUNABLES=glibc.malloc.perturb=0 ph_start_server
environ_of "$PH_SERVER_PID" | grep -qx 'GLIBC_TUNABLES=glibc.malloc.perturb=0' ||
    ph_fail "GLIBC_TUNABLES was not kept as given"
ph_pass "portholed leaves GLIBC_TUNABLES as it is given"
