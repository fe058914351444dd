#!/bin/bash
# Hardening through the real ssh client: pre-authentication limits
# (PerSourceMaxStartups, MaxStartups, LoginGraceTime, MaxAuthTries,
# PerSourcePenalties) keep a flood from one source from locking others
# out; ClientAliveInterval ends sessions of clients that stopped
# answering; floods from an authenticated client are refused while the
# server keeps serving; a busy store delays admin changes without losing
# them and does not stop relaying; SIGHUP reloads; after SIGKILL and a
# restart everything persistent is intact; User drops root.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user alice
ph_keygen stranger1
ph_keygen stranger2
ph_keygen stranger3
key=$PH_TMP/alice
ph_listen svc echo
svc=$PH_LAST_PORT

# tunnel_works NAME [ssh options…]: a -N session of alice echoes.
tunnel_works() {
	local name=$1

	shift
	ph_ssh_bg "$name" "$@" -N -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1
	ph_wait_tunnel "$name"
	got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 1000) ||
	    ph_fail "$name: echo failed"
	[ "$got" = "$("$TNET" sum 1000)" ] || ph_fail "$name: bad echo"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
}

# --- a flood of silent connections from one source --------------------------------
ph_start_server -o PerSourceMaxStartups=3 -o LoginGraceTime=30 \
    -o MaxStartups=10:30:100 -o PerSourcePenalties=no
for _ in $(seq 40); do
	"$TNET" closed -s 127.0.0.2 -t 60 "127.0.0.1:$PH_PORT" >/dev/null 2>&1 &
	ph_track $!
done
ph_wait_for "$PH_LOG" "dropped connection from 127\.0\.0\.2:[0-9]+: too many unauthenticated connections from it \(PerSourceMaxStartups\)"
tunnel_works flooded
ph_pass "40 silent connections from one source: capped at 3; another source still gets its tunnel"
ph_stop_server

# --- MaxStartups across sources, and junk instead of SSH ------------------------------
ph_start_server -o MaxStartups=4:100:4 -o PerSourceMaxStartups=none \
    -o LoginGraceTime=3 -o PerSourcePenalties=no
silent=()
for _ in $(seq 8); do
	"$TNET" closed -s 127.0.0.4 -t 30 "127.0.0.1:$PH_PORT" >/dev/null 2>&1 &
	silent+=($!)
	ph_track $!
done
ph_wait_for "$PH_LOG" "dropped connection from 127\.0\.0\.4:[0-9]+: too many unauthenticated connections \(MaxStartups\)"
# Once LoginGraceTime has closed the silent ones, clients get in again.
for p in "${silent[@]}"; do
	wait "$p" || ph_fail "a silent connection was not closed by LoginGraceTime"
done
# ...and once the parent has reaped their 4 session processes.
ph_wait_count "$PH_LOG" "session process [0-9]+ exited" 4
# Junk where a client banner should be: closed, not waited on.
for junk in 'GET / HTTP/1.0\r\n\r\n' 'SSH-1.5-old\r\n' '\x00\xff\x00\xff\r\n'; do
	exec 3<>"/dev/tcp/127.0.0.1/$PH_PORT"
	printf "$junk" >&3 2>/dev/null || :
	rc=0
	timeout 10 cat <&3 >"$PH_TMP/junk.out" 2>/dev/null || rc=$?
	exec 3<&-
	# Closed at once, with a FIN or, junk left unread, a reset.
	[ "$rc" -ne 124 ] || ph_fail "a junk connection was not closed"
done
tunnel_works after_flood
ph_pass "MaxStartups drops beyond its limit from any source; junk is closed; the server serves on"
ph_stop_server

# --- LoginGraceTime and MaxAuthTries ------------------------------------------------
ph_start_server -o LoginGraceTime=2 -o MaxAuthTries=2 -o PerSourcePenalties=no
rc=0
"$TNET" closed -t 20 "127.0.0.1:$PH_PORT" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || ph_fail "a silent connection outlived LoginGraceTime"
ph_wait_for "$PH_LOG" "login grace time exceeded"
rc=0
ph_ssh -N -i "$PH_TMP/stranger1" -i "$PH_TMP/stranger2" -i "$PH_TMP/stranger3" \
    alice@127.0.0.1 </dev/null 2>"$PH_TMP/tries.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "three bad keys: exit $rc"
ph_wait_for "$PH_LOG" "too many authentication failures \(MaxAuthTries 2\)"
ph_pass "LoginGraceTime closes silent connections; MaxAuthTries ends the third try"
ph_stop_server

# --- PerSourcePenalties ----------------------------------------------------------------
# Two failures (10 minutes) go over min (8 minutes): refused for 2 minutes.
ph_start_server -o "PerSourcePenalties=authfail:5m,min:8m,max:1h"
for k in stranger1 stranger2; do
	rc=0
	ph_ssh -b 127.0.0.3 -N -i "$PH_TMP/$k" alice@127.0.0.1 </dev/null \
	    2>/dev/null || rc=$?
	[ "$rc" -eq 255 ] || ph_fail "$k got in"
done
ph_wait_for "$PH_LOG" "penalty for 127\.0\.0\.3 \(authfail\): new connections from it are refused for [0-9]+s"
rc=0
ph_ssh -b 127.0.0.3 -N -i "$key" alice@127.0.0.1 </dev/null \
    2>"$PH_TMP/pen.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a penalized source was served ($rc)"
grep -q "penalized (PerSourcePenalties)" "$PH_LOG" ||
    ph_fail "no penalty line in the log"
tunnel_works unpenalized
ph_pass "a source that keeps failing is refused for a while; others are not"
ph_stop_server

# --- ClientAliveInterval: a client that stopped answering ---------------------------
ph_start_server -o ClientAliveInterval=1 -o ClientAliveCountMax=2
ph_ssh_bg frozen -N -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1
frozen_pid=$PH_LAST_PID
ph_wait_tunnel frozen
port=$PH_TUNNEL_PORT
kill -STOP "$frozen_pid"
ph_wait_for "$PH_LOG" "client 127\.0\.0\.1 port [0-9]+ not responding; ending the session" 20
"$TNET" refused "127.0.0.1:$port" || ph_fail "the frozen client's port is held"
kill -CONT "$frozen_pid"
ph_wait_gone "$frozen_pid"
ph_pass "a client that stopped answering loses its session and port (ClientAliveInterval)"

# A client that stops reading in the middle of a download: memory stays
# bounded while the server cannot send, and the session ends in time.
ph_listen sink sink -v
sink=$PH_LAST_PORT
ph_ssh_bg stalled -N -i "$key" -R "0:127.0.0.1:$sink" alice@127.0.0.1
stalled_pid=$PH_LAST_PID
ph_wait_tunnel stalled
port=$PH_TUNNEL_PORT
spid=$(ph_ctl --json session list | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
ph_bg pump "$TNET" send -t 60 "127.0.0.1:$port" 4000000000
ph_wait_count "$PH_TMP/sink.out" "^accept" 1
kill -STOP "$stalled_pid"
hwm=0
n=0
while _ph_alive "$spid"; do
	h=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$spid/status" 2>/dev/null)
	[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
	n=$((n + 1))
	[ "$n" -le 300 ] || ph_fail "a client that stopped reading still has its session after 30 s"
	sleep 0.1
done
[ "$hwm" -lt 65536 ] || ph_fail "session peak RSS $hwm KiB while its client did not read"
"$TNET" refused "127.0.0.1:$port" || ph_fail "the stalled client's port is held"
kill -CONT "$stalled_pid"
ph_wait_gone "$stalled_pid"
ph_pass "a client that stopped reading: peak RSS $hwm KiB, session and port freed in time"

# A quiet but healthy client keeps its session over several intervals.
# Its ssh -v shows each keepalive the server sends: wait for five.
PH_SSH_OPTS=(-o LogLevel=DEBUG1)
ph_ssh_bg quiet -N -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1
PH_SSH_OPTS=()
quiet_pid=$PH_LAST_PID
ph_wait_tunnel quiet
ph_wait_count "$PH_TMP/quiet.err" "rtype keepalive@openssh.com want_reply 1" 5 20 "$quiet_pid"
got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 100) ||
    ph_fail "a quiet client lost its session"
kill "$quiet_pid"
ph_wait_gone "$quiet_pid"
ph_pass "a quiet client that answers keepalives keeps its session"
ph_stop_server

# --- floods from an authenticated client -------------------------------------------------
ph_start_server
# 2000 forward requests in one session: 16 granted, each of the rest
# refused with an answer, and after SESS_REFUSALS_MAX (100) refusals the
# session is ended with a message; the log says so in a few lines.
# (ssh drops exact duplicates: each asks for another local port.)
args=()
for i in $(seq 2000); do args+=(-R "0:127.0.0.1:$((20000 + i))"); done
before=$(grep -c "refused: this session already has 16 forwards" "$PH_LOG" || :)
ph_ssh_bg manyfwd -N -i "$key" "${args[@]}" alice@127.0.0.1
manyfwd_pid=$PH_LAST_PID
ph_wait_gone "$manyfwd_pid" 60
# (This client may still be writing requests and miss the message; the
# master below reads it.)
ph_wait_for "$PH_LOG" "100 requests refused; disconnecting"
logged=$(($(grep -c "refused: this session already has 16 forwards" "$PH_LOG" || :) - before))
[ "$logged" -lt 50 ] || ph_fail "$logged lines for 100 refused forwards"
ph_wait_empty_endpoints() {
	local n=0
	until [ -z "$(ph_ctl --json endpoint list)" ]; do
		n=$((n + 1))
		[ "$n" -lt 150 ] || ph_fail "endpoints left after the session ended"
		sleep 0.1
	done
}
ph_wait_empty_endpoints
# 99 refused channel opens (ssh -W) through a master: answered, the
# master stays; the 100th ends its session, with the reason.
sock=$PH_TMP/mux.sock
ph_ssh_bg master -M -S "$sock" -N -i "$key" alice@127.0.0.1
master_pid=$PH_LAST_PID
n=0
until ph_ssh -S "$sock" -O check alice@127.0.0.1 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -lt 300 ] || ph_fail "no control master"
	sleep 0.05
done
for _ in $(seq 99); do
	ph_ssh -S "$sock" -W "127.0.0.1:$svc" alice@127.0.0.1 </dev/null \
	    >/dev/null 2>&1 && ph_fail "a -W got through"
done
_ph_alive "$master_pid" || ph_fail "the master was dropped before 100 refusals"
# (A mux client whose master is dropped under it may exit 0: no status.)
ph_ssh -S "$sock" -W "127.0.0.1:$svc" alice@127.0.0.1 </dev/null \
    >/dev/null 2>&1 || :
ph_wait_gone "$master_pid"
grep -q "too many refused requests" "$PH_TMP/master.err" ||
    ph_fail "the master was not told why: $(tail -n 3 "$PH_TMP/master.err")"
# 2000 channel opens on one connection (each connection to an ssh -L
# port asks for a direct-tcpip channel): the same, and its memory stays
# small while it lasts.
lport=$("$TNET" freeport)
PH_SSH_OPTS=(-o LogLevel=DEBUG1)
ph_ssh_bg lflood -N -i "$key" -L "127.0.0.1:$lport:127.0.0.1:$svc" alice@127.0.0.1
PH_SSH_OPTS=()
lflood_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/lflood.err" "Local forwarding listening on 127\.0\.0\.1 port $lport" \
    15 "$lflood_pid"
"$TNET" many -t 120 "127.0.0.1:$lport" 2000 64 >/dev/null 2>&1 || :
ph_wait_gone "$lflood_pid" 60
ph_wait_count "$PH_LOG" "100 requests refused; disconnecting" 3
# An oversize command line.
rc=0
ph_ssh -i "$key" alice@127.0.0.1 tcp --metadata "$(head -c 60000 /dev/zero | tr '\0' x)" \
    </dev/null >/dev/null 2>"$PH_TMP/big.err" || rc=$?
[ "$rc" -eq 2 ] || ph_fail "an oversize command: exit $rc"
tunnel_works afterfloods
ph_pass "floods of refused forwards and channel opens: answered, then ended after 100; an oversize command refused; the server serves on"

# --- a busy store: admin changes wait, relaying goes on, nothing is lost -----------------
ph_require sqlite3
ph_ssh_bg busy -N -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1
busy_pid=$PH_LAST_PID
ph_wait_tunnel busy
busy_port=$PH_TUNNEL_PORT
before=$(ph_ctl events --type tcp_connection_closed.v0 | wc -l)
# Another process holds the store's write lock for 3 s.
mkfifo "$PH_TMP/lock.in"
sqlite3 "$PH_TMP/state/porthole.db" <"$PH_TMP/lock.in" >"$PH_TMP/lock.out" 2>&1 &
lock_pid=$!
ph_track "$lock_pid"
exec 5>"$PH_TMP/lock.in"
echo "BEGIN EXCLUSIVE; SELECT 'locked';" >&5
ph_wait_for "$PH_TMP/lock.out" "^locked$" 10
ph_bg addacct "$CTL" -f "$PH_CONF" account add patient
for _ in 1 2 3 4 5; do
	got=$("$TNET" echo "127.0.0.1:$busy_port" 1000) ||
	    ph_fail "relaying stopped while the store was locked"
done
sleep 2 # hold the lock for a while: the admin command must wait, not fail
_ph_alive "$PH_LAST_PID" || ph_fail "account add did not wait for the lock"
echo "COMMIT;" >&5
exec 5>&-
ph_wait_gone "$PH_LAST_PID"
[ "$PH_EXIT_STATUS" -eq 0 ] || ph_fail "account add failed: $(cat "$PH_TMP/addacct.err")"
ph_ctl account list | grep -q "patient" || ph_fail "the account added under a lock is lost"
n=0
until [ "$(ph_ctl events --type tcp_connection_closed.v0 | wc -l)" -ge $((before + 5)) ]; do
	n=$((n + 1))
	[ "$n" -le 100 ] || ph_fail "events of the locked time were lost"
	sleep 0.1
done
# Held past the busy timeout: a clear error, nothing half done.
mkfifo "$PH_TMP/lock2.in"
sqlite3 "$PH_TMP/state/porthole.db" <"$PH_TMP/lock2.in" >"$PH_TMP/lock2.out" 2>&1 &
ph_track $!
exec 6>"$PH_TMP/lock2.in"
echo "BEGIN EXCLUSIVE; SELECT 'locked';" >&6
ph_wait_for "$PH_TMP/lock2.out" "^locked$" 10
rc=0
ph_ctl account add toolate >/dev/null 2>"$PH_TMP/late.err" || rc=$?
[ "$rc" -eq 1 ] || ph_fail "account add under a long lock: exit $rc"
grep -qi "busy" "$PH_TMP/late.err" || ph_fail "no clear error: $(cat "$PH_TMP/late.err")"
got=$("$TNET" echo "127.0.0.1:$busy_port" 1000) || ph_fail "relaying stopped"
echo "COMMIT;" >&6
exec 6>&-
ph_ctl account list | grep -q toolate && ph_fail "a failed add left an account"
kill "$busy_pid"
ph_wait_gone "$busy_pid"
ph_pass "a locked store: admin changes wait (or fail clearly), relaying goes on, no event lost"

# --- SIGHUP reloads the configuration for new sessions ----------------------------------
echo "MaxEndpointsPerSession 1" >>"$PH_CONF"
kill -HUP "$PH_SERVER_PID"
ph_wait_for "$PH_LOG" "SIGHUP: configuration reloaded"
ph_ssh_bg reloaded -N -i "$key" -R "0:127.0.0.1:$svc" -R "0:127.0.0.2:$svc" \
    alice@127.0.0.1
ph_wait_for "$PH_LOG" "this session already has 1 forwards" 15 "$PH_LAST_PID"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "SIGHUP: new sessions get the new configuration"

# --- SIGKILL of portholed: everything persistent survives --------------------------------
addr=$(ph_ctl address reserve alice) || ph_fail "reserve"
token=$(ph_ctl token create alice 2>/dev/null) || ph_fail "token create"
ph_kill "$PH_SERVER_PID" KILL
ph_start_server
ph_ctl address list | grep -q "${addr##*:}" || ph_fail "the reserved address is gone"
PH_SSH_OPTS=(-o PubkeyAuthentication=no)
ph_ssh_bg tok -N -R "${addr##*:}:127.0.0.1:$svc" "$token@127.0.0.1"
PH_SSH_OPTS=()
ph_wait_for "$PH_LOG" "endpoint ep_[A-Za-z0-9]+ tcp://127\.0\.0\.1:${addr##*:}" 15 "$PH_LAST_PID"
got=$("$TNET" echo "127.0.0.1:${addr##*:}" 100) || ph_fail "reserved address after restart"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_pass "after SIGKILL and a restart: address, token, key and account intact"
ph_stop_server

# --- User: root is dropped once the listeners are bound ------------------------------------
if [ "$(id -u)" -eq 0 ] && getent passwd nobody >/dev/null; then
	chmod 755 "$PH_TMP"
	ph_start_server -o User=nobody
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$PH_SERVER_PID/status")
	[ "$uid" = "$(id -u nobody)" ] || ph_fail "portholed runs as uid $uid"
	ph_ssh_bg asnobody -N -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1
	ph_wait_tunnel asnobody
	spid=$(ph_ctl --json session list | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$spid/status")
	[ "$uid" = "$(id -u nobody)" ] || ph_fail "the session runs as uid $uid"
	got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 100) || ph_fail "echo as nobody"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
	ph_pass "User=nobody: the server and its sessions run as nobody and serve"
	# portholectl run by root acts as User: a token key it creates
	# must be readable by the server (which reads it at start).
	ph_stop_server
	rm -f "$PH_TMP/state/token.key"
	token=$(ph_ctl -o User=nobody token create alice 2>/dev/null) ||
	    ph_fail "token create as root"
	[ "$(stat -c %U "$PH_TMP/state/token.key")" = nobody ] ||
	    ph_fail "portholectl made token.key as $(stat -c %U "$PH_TMP/state/token.key")"
	ph_start_server -o User=nobody
	PH_SSH_OPTS=(-o PubkeyAuthentication=no)
	ph_ssh_bg tokn -N -R "0:127.0.0.1:$svc" "$token@127.0.0.1"
	PH_SSH_OPTS=()
	ph_wait_tunnel tokn
	got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 100) || ph_fail "echo with a token"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
	ph_pass "User=nobody: portholectl run as root writes as nobody; its new token works"
	ph_stop_server
	# A state directory the user cannot reach stops the server at once.
	mkdir -m 700 "$PH_TMP/private"
	cp -a "$PH_TMP/state" "$PH_TMP/private/state"
	rc=0
	timeout 30 "$PORTHOLED" -f "$PH_CONF" -o User=nobody \
	    -o "StateDirectory=$PH_TMP/private/state" </dev/null \
	    >"$PH_TMP/private.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || ph_fail "portholed ran with a state directory nobody cannot reach"
	grep -q "User nobody: cannot use .*Permission denied" "$PH_TMP/private.log" ||
	    ph_fail "no clear error: $(cat "$PH_TMP/private.log")"
	ph_pass "User=nobody with an unreachable state directory: a clear error at start"
else
	echo "# not root or no user nobody: the User check is skipped"
fi

# --- a full disk: a clear error, relaying goes on, events wait ---------------------------
if ph_mount_tmpfs "$PH_TMP/small" 4m; then
	cp -a "$PH_TMP/state/." "$PH_TMP/small/"
	sed -i "s|^StateDirectory .*|StateDirectory $PH_TMP/small|" "$PH_CONF"
	ph_start_server
	ph_ssh_bg full -N -i "$key" -R "0:127.0.0.1:$svc" alice@127.0.0.1
	full_pid=$PH_LAST_PID
	ph_wait_tunnel full
	full_port=$PH_TUNNEL_PORT
	before=$(ph_ctl events --type tcp_connection_closed.v0 | wc -l)
	dd if=/dev/zero of="$PH_TMP/small/filler" bs=64k 2>/dev/null
	for _ in 1 2 3 4 5; do
		got=$("$TNET" echo "127.0.0.1:$full_port" 1000) ||
		    ph_fail "relaying stopped on a full disk"
	done
	ph_wait_for "$PH_LOG" "cannot record [0-9]+ event\(s\) yet \(database or disk is full\); trying again"
	rc=0
	ph_ctl account add nospace >/dev/null 2>"$PH_TMP/ctl-full.err" || rc=$?
	[ "$rc" -eq 1 ] || ph_fail "account add on a full disk: exit $rc"
	grep -qi "full" "$PH_TMP/ctl-full.err" ||
	    ph_fail "no clear error: $(cat "$PH_TMP/ctl-full.err")"
	rm "$PH_TMP/small/filler"
	ph_wait_for "$PH_LOG" "the store took [0-9]+ waiting event\(s\)"
	# What was still on its way from the session follows in a batch.
	n=0
	until [ "$(ph_ctl events --type tcp_connection_closed.v0 | wc -l)" -ge $((before + 5)) ]; do
		n=$((n + 1))
		[ "$n" -lt 100 ] || ph_fail "events of the full-disk time were lost"
		sleep 0.1
	done
	kill "$full_pid"
	ph_wait_gone "$full_pid"
	ph_pass "a full disk: admin changes fail clearly, relaying goes on, events wait and are kept"
else
	echo "# cannot mount a tmpfs here: the full-disk check is skipped"
fi
