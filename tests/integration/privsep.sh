#!/bin/bash
# Privilege separation and what a stranger cannot grow, seen from
# outside: a session process is sandboxed, holds no store, and hangs
# from the spawner under the monitor; a pre-auth process that dies by a
# signal costs its source a "crash" penalty; MaxSessions refuses a login
# at once with the reason; run as root with User, a link planted in the
# state directory is refused and its target untouched; SIGTERM with a
# relayed connection open lets the client leave by itself; MetricsListen
# neither forks nor holds more than 16 clients.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen pgrep

ph_user alice
ph_user bob
ph_user carol
ph_listen backend echo -v
backend=$PH_LAST_PORT

# field PID NAME: the value of NAME in /proc/PID/status.
field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null
}

# spawner: the monitor's child that runs "portholed -Z FD".
spawner() {
	local p

	for p in $(pgrep -P "$PH_SERVER_PID"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
		    grep -Eq -- ' -Z [0-9]+ $'; then
			echo "$p"
			return 0
		fi
	done
	ph_fail "portholed $PH_SERVER_PID has no spawner (portholed -Z)"
}

# session_pid: the pid of the one live session, as the store lists it.
session_pid() {
	ph_ctl --json session list | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'
}

# try_login ERRFILE [ssh options…] USER@HOST tcp --help: ph_ssh with a
# command that ends at once once logged in (exit 0), bounded by timeout.
try_login() {
	local err=$1

	shift
	_ph_ssh_cmd
	timeout 60 "${_ph_ssh[@]}" "$@" </dev/null >/dev/null 2>"$err"
}

# tunnel_works NAME KEY USER [ssh options…]: a -N session echoes.
tunnel_works() {
	local name=$1 k=$2 user=$3

	shift 3
	ph_ssh_bg "$name" "$@" -N -i "$PH_TMP/$k" -R "0:127.0.0.1:$backend" \
	    "$user@127.0.0.1"
	ph_wait_tunnel "$name"
	got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 1000) ||
	    ph_fail "$name: echo failed"
	[ "$got" = "$("$TNET" sum 1000)" ] || ph_fail "$name: bad echo"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
}

# --- the process tree, and a live session's confinement -----------------------
ph_start_server
ph_ssh_bg live -N -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@127.0.0.1
live_pid=$PH_LAST_PID
ph_wait_tunnel live
spid=$(session_pid)
[ -n "$spid" ] || ph_fail "no session pid listed"
sp=$(spawner)
[ "$(field "$spid" PPid)" = "$sp" ] ||
    ph_fail "session process $spid: parent $(field "$spid" PPid), not the spawner $sp"
[ "$(field "$sp" PPid)" = "$PH_SERVER_PID" ] ||
    ph_fail "the spawner's parent is $(field "$sp" PPid), not portholed $PH_SERVER_PID"
[ "$spid" != "$PH_SERVER_PID" ] || ph_fail "the session runs in the monitor"
[ "$(field "$spid" Name)" = portholed ] ||
    ph_fail "session process named $(field "$spid" Name)"
[ "$(field "$spid" Seccomp)" = 2 ] ||
    ph_fail "session process $spid: Seccomp $(field "$spid" Seccomp), want 2 (filter)"
[ "$(field "$spid" NoNewPrivs)" = 1 ] ||
    ph_fail "session process $spid: NoNewPrivs $(field "$spid" NoNewPrivs)"
# The monitor is the process started, and it is not confined.
[ "$(field "$PH_SERVER_PID" Seccomp)" = 0 ] ||
    ph_fail "the monitor runs under seccomp"
# No store, no token key in the session process or the spawner.
for p in "$spid" "$sp"; do
	for fd in "/proc/$p/fd/"*; do
		case $(readlink "$fd") in
		*porthole.db* | *token.key* | *ssh_host*)
			ph_fail "process $p holds $(readlink "$fd")"
			;;
		esac
	done
done
got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 1000) || ph_fail "echo"
kill "$live_pid"
ph_wait_gone "$live_pid"
ph_pass "a session process: child of the spawner, grandchild of portholed, Seccomp 2, NoNewPrivs 1, no state files"
ph_stop_server

# --- PerSourcePenalties crash: a pre-auth process killed by a signal ----------
# Only crash goes over min. (AddressSanitizer would turn SIGSEGV into a
# report and exit 1: let the signal kill, as it does in other builds.)
ASAN_OPTIONS=quarantine_size_mb=4:handle_segv=0 ph_start_server \
    -o "PerSourcePenalties=crash:10m,authfail:1s,noauth:1s,grace-exceeded:1s,min:5m,max:1h" \
    -o LoginGraceTime=60
sp=$(spawner)
before=" $(pgrep -P "$sp" | tr '\n' ' ') "
ph_bg silent "$TNET" closed -s 127.0.0.5 -t 60 "127.0.0.1:$PH_PORT"
silent_pid=$PH_LAST_PID
victim=
n=0
while [ -z "$victim" ]; do
	for p in $(pgrep -P "$sp"); do
		case $before in *" $p "*) ;; *) victim=$p ;; esac
	done
	n=$((n + 1))
	[ "$n" -lt 300 ] || ph_fail "no session process for the silent connection"
	[ -n "$victim" ] || sleep 0.05
done
kill -SEGV "$victim"
ph_wait_for "$PH_LOG" "session process $victim killed by signal 11"
ph_wait_for "$PH_LOG" "penalty for 127\.0\.0\.5 \(crash\): new connections from it are refused"
ph_wait_gone "$silent_pid"
# The next connection from there is dropped; ssh would run "tcp --help"
# and exit 0 had it got in.
rc=0
try_login "$PH_TMP/crashsrc.err" -b 127.0.0.5 -i "$PH_TMP/alice" \
    alice@127.0.0.1 tcp --help || rc=$?
[ "$rc" -eq 255 ] || ph_fail "the penalized source was served (exit $rc)"
ph_wait_for "$PH_LOG" "dropped connection from 127\.0\.0\.5:[0-9]+: penalized \(PerSourcePenalties\)"
tunnel_works unpenalized alice alice -b 127.0.0.6
ph_pass "a pre-auth process killed by SIGSEGV: its source is penalized (crash) and refused; another source logs in"
ph_stop_server

# --- MaxSessions: a login past the cap is refused at once ---------------------
# MaxStartups 1: a refused process that stayed around would make the
# next connection a drop instead of a refusal with the reason.
ph_start_server -o MaxSessions=2 -o MaxStartups=1:100:1 \
    -o PerSourcePenalties=no
sp=$(spawner)
ph_ssh_bg ms1 -N -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@127.0.0.1
ms1_pid=$PH_LAST_PID
ph_wait_tunnel ms1
ph_ssh_bg ms2 -N -i "$PH_TMP/bob" -R "0:127.0.0.1:$backend" bob@127.0.0.1
ms2_pid=$PH_LAST_PID
ph_wait_tunnel ms2
for who in carol alice carol; do
	# Had it logged in, "tcp --help" would end with exit 0.
	rc=0
	try_login "$PH_TMP/ms3.err" -i "$PH_TMP/$who" "$who@127.0.0.1" \
	    tcp --help || rc=$?
	[ "$rc" -eq 255 ] || ph_fail "$who: a login past MaxSessions ended with $rc"
	grep -q "the server already has 2 live sessions (MaxSessions)" \
	    "$PH_TMP/ms3.err" ||
	    ph_fail "$who was not told why: $(cat "$PH_TMP/ms3.err")"
	# Its process leaves by itself: only the two sessions remain.
	n=0
	until [ "$(pgrep -P "$sp" | wc -l)" -eq 2 ]; do
		n=$((n + 1))
		[ "$n" -lt 300 ] || ph_fail "the refused process stayed"
		sleep 0.05
	done
done
[ "$(ph_ctl --json session list | grep -c '"id"')" -eq 2 ] ||
    ph_fail "not 2 live sessions"
grep -q "killed by signal" "$PH_LOG" &&
    ph_fail "a refused process had to be killed"
grep -q "dropped connection" "$PH_LOG" &&
    ph_fail "a login past MaxSessions was counted against MaxStartups"
# Once a session ends, the next login gets in.
kill "$ms2_pid"
ph_wait_gone "$ms2_pid"
ph_wait_for "$PH_LOG" "session ss_[A-Za-z0-9]+: ended"
tunnel_works ms3 carol carol
kill "$ms1_pid"
ph_wait_gone "$ms1_pid"
ph_pass "MaxSessions 2: a third login is refused at once with the reason (exit 255), its process leaves; after one ends another gets in"
ph_stop_server

# --- state files handed to User: no root action follows a link ---------------
if [ "$(id -u)" -eq 0 ] && getent passwd nobody >/dev/null; then
	chmod 755 "$PH_TMP"
	state=$PH_TMP/state
	mkdir -m 755 "$PH_TMP/outside"
	target=$PH_TMP/outside/secret
	# refused NAME FILE WORDS: portholed -o User=nobody, with FILE in
	# the state directory replaced by a link, must exit non-zero
	# naming FILE and WORDS, and leave the target as it was.
	refused() {
		local name=$1 file=$2 words=$3 rc=0 was

		shift 3
		printf 'root only\n' >"$target"
		chmod 600 "$target"
		chown 0:0 "$target"
		was=$(stat -c '%u:%g %a %h' "$target")
		timeout 30 "$PORTHOLED" -f "$PH_CONF" -o User=nobody "$@" \
		    </dev/null >"$PH_TMP/$name.log" 2>&1 || rc=$?
		[ "$(stat -c '%u:%g %a %h' "$target")" = "$was" ] ||
		    ph_fail "$name: the target changed: $(stat -c '%u:%g %a %h' "$target"), was $was"
		[ "$(cat "$target")" = "root only" ] ||
		    ph_fail "$name: the target's content changed"
		if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
			ph_fail "$name: portholed exited $rc"
		fi
		grep -qF -- "$file $words" "$PH_TMP/$name.log" ||
		    ph_fail "$name: no message naming $file: $(cat "$PH_TMP/$name.log")"
	}
	# The state files the server made, and a -wal as SQLite leaves one.
	wal=$state/porthole.db-wal
	[ -e "$wal" ] || : >"$wal"
	for f in porthole.db-wal ssh_host_ed25519_key token.key; do
		[ -f "$state/$f" ] || ph_fail "no $state/$f"
		mv "$state/$f" "$state/$f.real"
		ln -s "$target" "$state/$f"
		refused "symlink-$f" "$state/$f" \
		    "is a symbolic link; refusing to follow it as root"
		[ -L "$state/$f" ] || ph_fail "the link $f was replaced"
		rm "$state/$f"
		mv "$state/$f.real" "$state/$f"
	done
	ln -s "$target" "$state/events.log"
	refused symlink-eventlog "$state/events.log" \
	    "is a symbolic link; refusing to follow it as root" \
	    -o "EventLog=$state/events.log"
	rm "$state/events.log"
	for f in porthole.db-wal token.key; do
		mv "$state/$f" "$state/$f.real"
		ln "$target" "$state/$f"
		refused "hardlink-$f" "$state/$f" "has 2 links; not touched"
		rm "$state/$f"
		mv "$state/$f.real" "$state/$f"
	done
	[ -s "$wal" ] || rm -f "$wal"
	ph_pass "User=nobody as root: a symlink or hard link in the state directory is refused at start, its target untouched"
else
	echo "# not root or no user nobody: the state file links are not tested"
fi

# --- SIGTERM with a relayed connection open -----------------------------------
ph_start_server -vv
ph_ssh_bg term -i "$PH_TMP/alice" -R "0:127.0.0.1:$backend" alice@127.0.0.1 tcp
term_pid=$PH_LAST_PID
ph_wait_tunnel term
accepted=$(_ph_count "$PH_TMP/backend.out" '^accept')
# A public client that never closes: it waits for the other side.
ph_bg public "$TNET" closed -t 60 "127.0.0.1:$PH_TUNNEL_PORT"
public_pid=$PH_LAST_PID
ph_wait_count "$PH_TMP/backend.out" '^accept' $((accepted + 1))
server=$PH_SERVER_PID
ph_stop_server
ph_wait_gone "$term_pid"
[ "$PH_EXIT_STATUS" -eq 255 ] ||
    ph_fail "the client exited $PH_EXIT_STATUS after SIGTERM, want 255"
grep -q "porthole: the server is shutting down" "$PH_TMP/term.err" ||
    ph_fail "the client was not told: $(cat "$PH_TMP/term.err")"
ph_wait_gone "$public_pid"
grep -q "the client stayed after its session ended" "$PH_LOG" &&
    ph_fail "portholed $server waited for a client that would not leave"
ph_pass "SIGTERM with a relayed connection open: the client leaves by itself (255, told why), portholed exits 0"

# --- MetricsListen: no fork, at most 16 clients ---------------------------------
ph_require curl
mport=$("$TNET" freeport)
ph_start_server -o "MetricsListen=127.0.0.1:$mport"
# portholed's processes: the monitor and its descendants.
procs() {
	local all=1 new=("$PH_SERVER_PID") next p c

	while [ ${#new[@]} -gt 0 ]; do
		next=()
		for p in "${new[@]}"; do
			for c in $(pgrep -P "$p"); do
				next+=("$c")
				all=$((all + 1))
			done
		done
		new=(${next[@]+"${next[@]}"})
	done
	echo "$all"
}
curl -fsS "http://127.0.0.1:$mport/metrics" >"$PH_TMP/m1.out" ||
    ph_fail "no scrape"
grep -q '^porthole_' "$PH_TMP/m1.out" || ph_fail "no porthole_ metrics"
nprocs=$(procs)
# fds: how many descriptors the monitor has open.
fds() {
	local f n=0

	for f in "/proc/$PH_SERVER_PID/fd/"*; do
		n=$((n + 1))
	done
	echo "$n"
}
nfds=$(fds)
# Idle connections, held by this shell (no process to start, so the
# checks below take far less than the 5 s a scraper is given).
held=()
for i in $(seq 16); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$mport" || ph_fail "connect $i"
	held+=("$fd")
done
# The monitor has their 16 sockets (and no process more).
n=0
until [ "$(fds)" -ge $((nfds + 16)) ]; do
	[ "$(procs)" -eq "$nprocs" ] ||
	    ph_fail "portholed went from $nprocs to $(procs) processes with 16 scrapers"
	n=$((n + 1))
	[ "$n" -lt 300 ] || ph_fail "the monitor holds $(($(fds) - nfds)) of 16 scrapers"
	sleep 0.05
done
# 24 more: each is closed at once (end of file or a reset; a held one
# would time out here), while the first 16 are held still.
for i in $(seq 17 40); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$mport" || ph_fail "connect $i"
	rc=0
	IFS= read -r -t 4 -u "$fd" _ 2>/dev/null || rc=$?
	exec {fd}<&-
	if [ "$rc" -eq 0 ] || [ "$rc" -gt 128 ]; then
		ph_fail "scraper $i of 40 was not closed at once"
	fi
done
for i in "${!held[@]}"; do
	# (read -t 0 succeeds once there is input or end of file.)
	! read -r -t 0 -u "${held[i]}" ||
	    ph_fail "scraper $((i + 1)) of the first 16 is no longer held"
done
[ "$(procs)" -eq "$nprocs" ] ||
    ph_fail "portholed went from $nprocs to $(procs) processes with 40 scrapers"
# Busy: a scrape now is closed too.
curl -sS "http://127.0.0.1:$mport/metrics" >/dev/null 2>&1 &&
    ph_fail "a 17th client was served"
# Once the idle ones close, a scrape is answered again.
for fd in "${held[@]}"; do
	exec {fd}<&-
done
n=0
until curl -fsS "http://127.0.0.1:$mport/metrics" >"$PH_TMP/m2.out" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -lt 150 ] || ph_fail "no scrape after the idle clients left"
	sleep 0.1
done
grep -q '^porthole_' "$PH_TMP/m2.out" || ph_fail "no porthole_ metrics"
[ "$(procs)" -eq "$nprocs" ] || ph_fail "portholed has $(procs) processes"
ph_pass "MetricsListen: 40 idle clients, 16 held and the rest closed at once, no process more; scrapes answered after"
ph_stop_server
