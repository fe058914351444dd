# shellcheck shell=bash disable=SC2034
#
# Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
#
# Helpers for the integration tests: source this file, call ph_setup, then
# start a real portholed on 127.0.0.1 with a temporary state directory and
# drive it with the system ssh client and tests/tnet. Everything a helper
# starts is killed, and the temporary directory removed, when the test
# exits. Set PH_KEEP=1 to keep the directory for a look afterwards.
#
# Exit status follows automake: 0 pass, 1 fail, 77 skip. The helpers need
# bash; a test started by another sh runs itself again under bash.
#
# Variables the helpers set for the tests: PH_TMP, PH_BIN, TNET,
# PORTHOLED, CTL, PH_CONF, PH_LOG, PH_PORT, PH_SERVER_PID, PH_LAST_PID,
# PH_LAST_PORT, PH_TUNNEL_PORT, PH_EXIT_STATUS, PH_PG_URI,
# PH_PG_STANDBY_URI.

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# Print "FAIL: MSG" and the last 30 lines of portholed.log on stderr.
_ph_report() {
	{
		printf 'FAIL: %s\n' "$*"
		if [ -n "${PH_LOG:-}" ] && [ -s "$PH_LOG" ]; then
			printf -- '--- last 30 lines of %s ---\n' "$PH_LOG"
			tail -n 30 "$PH_LOG"
			printf -- '---\n'
		fi
	} >&2
}

# ph_fail MSG: print "FAIL: MSG" and the tail of portholed.log, exit 1.
# It writes to stderr so that the message still shows inside $(...).
ph_fail() {
	_ph_report "$*"
	exit 1
}

# ph_pass MSG: report one passed check.
ph_pass() {
	printf 'ok - %s\n' "$*"
}

# ph_skip MSG: skip the whole test (automake's exit status 77).
ph_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# ph_require CMD...: skip the test unless every CMD is installed.
ph_require() {
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || ph_skip "$c is not installed"
	done
}

# ph_setup: make $PH_TMP, arrange cleanup on exit, find the binaries.
ph_setup() {
	PH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/porthole-test.XXXXXX") ||
	    ph_fail "mktemp failed"
	PH_PIDS=$PH_TMP/pids
	PH_MOUNTS=()
	: >"$PH_PIDS"
	PH_CONF=$PH_TMP/portholed.conf
	PH_LOG=$PH_TMP/portholed.log
	PH_SERVER_PID=
	PH_PORT=
	PH_LAST_PID=
	PH_EXIT_STATUS=
	trap _ph_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM

	if [ -n "${top_builddir:-}" ]; then
		PH_BIN=$top_builddir
	else
		PH_BIN=$(cd "$(dirname "$0")/../.." && pwd) ||
		    ph_fail "cannot find the build directory"
	fi
	TNET=$PH_BIN/tests/tnet
	PORTHOLED=$PH_BIN/sshd/portholed
	CTL=$PH_BIN/src/portholectl
	[ -x "$TNET" ] || ph_fail "$TNET is not built (make tests/tnet)"
}

# ph_mount_tmpfs DIR SIZE: mount a tmpfs of SIZE (e.g. 2m) on DIR, which
# is unmounted when the test exits. Returns 1 if that cannot be done (not
# root, or no mount in this container).
ph_mount_tmpfs() {
	mkdir -p "$1"
	[ "$(id -u)" -eq 0 ] || return 1
	mount -t tmpfs -o "size=$2,mode=0755" porthole-test "$1" 2>/dev/null ||
	    return 1
	PH_MOUNTS+=("$1")
}

# ph_track PID: kill PID when the test exits (the helpers call this).
ph_track() {
	printf '%s\n' "$1" >>"$PH_PIDS"
}

# Forget PID once it is gone, so that cleanup never signals a reused PID.
_ph_untrack() {
	local rest

	rest=$(grep -vx -- "$1" "$PH_PIDS" || :)
	if [ -n "$rest" ]; then
		printf '%s\n' "$rest" >"$PH_PIDS"
	else
		: >"$PH_PIDS"
	fi
}

# Whether process PID still runs.
_ph_alive() {
	kill -0 "$1" 2>/dev/null
}

# The EXIT trap: stop what the helpers started, remove $PH_TMP.
_ph_cleanup() {
	local rc=$? pid left i=0

	trap - EXIT HUP INT TERM
	set +e
	if [ -n "${PH_SERVER_PID:-}" ] && [ "$rc" -eq 0 ]; then
		# A passing test must also shut portholed down cleanly.
		if ! _ph_stop_server; then
			_ph_report "$_ph_why"
			rc=1
		fi
	fi
	if [ -s "${PH_PIDS:-}" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null
		done <"$PH_PIDS"
		# Give them 5 s for an orderly exit, then SIGKILL.
		while [ $i -lt 100 ]; do
			left=
			while read -r pid; do
				_ph_alive "$pid" && left=1
			done <"$PH_PIDS"
			[ -z "$left" ] && break
			sleep 0.05
			i=$((i + 1))
		done
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		done <"$PH_PIDS"
	fi
	if [ -s "${PH_TMP:-}/pg-uris" ]; then
		while read -r i; do
			"$top_srcdir/tests/pg.sh" stop "$i" >/dev/null 2>&1
		done <"$PH_TMP/pg-uris"
	fi
	for i in ${PH_MOUNTS[@]+"${PH_MOUNTS[@]}"}; do
		umount "$i"
	done
	if [ -n "${PH_TMP:-}" ] && [ -d "$PH_TMP" ]; then
		if [ -n "${PH_KEEP:-}" ]; then
			printf 'kept %s\n' "$PH_TMP" >&2
		else
			rm -rf "$PH_TMP"
		fi
	fi
	exit "$rc"
}

# ph_wait_for FILE REGEX [TIMEOUT [PID]]: wait until a line of FILE matches
# the extended REGEX, polling every 0.05 s for up to TIMEOUT seconds
# (default 15). With PID, fail as soon as that process has exited.
ph_wait_for() {
	ph_wait_count "$1" "$2" 1 "${3:-15}" "${4:-}"
}

# ph_wait_count FILE REGEX N [TIMEOUT [PID]]: like ph_wait_for, but wait
# for N matching lines (e.g. the Nth "accept" of "tnet listen -v").
ph_wait_count() {
	local file=$1 re=$2 want=$3 timeout=${4:-15} pid=${5:-} deadline what

	what="a line matching /$re/ in $file"
	if [ "$want" -ne 1 ]; then
		what="$want lines matching /$re/ in $file"
	fi
	deadline=$((SECONDS + timeout))
	while :; do
		if [ "$(_ph_count "$file" "$re")" -ge "$want" ]; then
			return 0
		fi
		if [ -n "$pid" ] && ! _ph_alive "$pid"; then
			# It may have written the line just before exiting.
			if [ "$(_ph_count "$file" "$re")" -ge "$want" ]; then
				return 0
			fi
			ph_fail "process $pid exited before" \
			    "$what$(_ph_tail "$file")"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			ph_fail "no $what after $timeout s$(_ph_tail "$file")"
		fi
		sleep 0.05
	done
}

# Print how many lines of FILE match REGEX (0 if there is no FILE).
_ph_count() {
	if [ -f "$1" ]; then
		grep -Ec -- "$2" "$1" || :
	else
		echo 0
	fi
}

# Print a newline and the end of FILE, to append to a failure message;
# nothing for portholed.log, which ph_fail shows anyway.
_ph_tail() {
	if [ "$1" = "${PH_LOG:-}" ]; then
		return 0
	fi
	printf '\n--- last 30 lines of %s ---\n' "$1"
	if [ -f "$1" ]; then
		tail -n 30 "$1"
	else
		printf '(no such file)\n'
	fi
}

# ph_wait_gone PID [TIMEOUT]: wait up to TIMEOUT seconds (default 15) for
# PID to exit. Sets PH_EXIT_STATUS to its exit status when it is a child
# of this shell.
ph_wait_gone() {
	_ph_wait_exit "$1" "${2:-15}" ||
	    ph_fail "process $1 still running after ${2:-15} s"
}

# Wait up to $2 seconds for PID $1 to exit, as ph_wait_gone does, but
# return 1 on timeout instead of failing.
_ph_wait_exit() {
	local pid=$1 deadline

	deadline=$((SECONDS + $2))
	while _ph_alive "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.05
	done
	_ph_untrack "$pid"
	if wait "$pid" 2>/dev/null; then
		PH_EXIT_STATUS=0
	else
		PH_EXIT_STATUS=$?
	fi
}

# ph_kill PID [SIGNAL]: signal PID (default TERM) and wait for it to exit.
# Killing portholed this way (say with KILL) means cleanup will not expect
# it to shut down cleanly.
ph_kill() {
	if [ "$1" = "$PH_SERVER_PID" ]; then
		PH_SERVER_PID=
	fi
	kill "-${2:-TERM}" "$1" 2>/dev/null || :
	ph_wait_gone "$1"
}

# ph_bg NAME CMD [ARGS...]: run CMD in the background with stdin from
# /dev/null, stdout to $PH_TMP/NAME.out and stderr to $PH_TMP/NAME.err.
# Sets PH_LAST_PID (also in $PH_TMP/NAME.pid); killed at exit.
ph_bg() {
	local name=$1

	shift
	"$@" </dev/null >"$PH_TMP/$name.out" 2>"$PH_TMP/$name.err" &
	PH_LAST_PID=$!
	ph_track "$PH_LAST_PID"
	printf '%s\n' "$PH_LAST_PID" >"$PH_TMP/$name.pid"
}

# ph_listen NAME MODE [-v] [-b ADDR]: start "tnet listen" (see tnet.c) and
# wait for its port. Sets PH_LAST_PORT and PH_LAST_PID; the port is the
# first line of $PH_TMP/NAME.out, followed with -v by "accept"/"close"
# lines to wait for with ph_wait_count.
ph_listen() {
	local name=$1 mode=$2

	shift 2
	ph_bg "$name" "$TNET" listen "$@" "$mode"
	ph_wait_for "$PH_TMP/$name.out" '^[0-9]+$' 15 "$PH_LAST_PID"
	read -r PH_LAST_PORT <"$PH_TMP/$name.out"
}

# Write $PH_CONF unless a test has already written or edited it.
_ph_conf() {
	if [ -f "$PH_CONF" ]; then
		return 0
	fi
	cat >"$PH_CONF" <<EOF
ListenAddress 127.0.0.1:0
StateDirectory $PH_TMP/state
TunnelAddress 127.0.0.1
PublicHost 127.0.0.1
LogLevel DEBUG1
EOF
}

# ph_start_server [ARGS...]: start portholed with $PH_CONF and ARGS (e.g.
# -o Keyword=value), logging to $PH_LOG, and wait until it listens. Sets
# PH_PORT and PH_SERVER_PID. A restart keeps the old log as $PH_LOG.N.
ph_start_server() {
	local n=1

	[ -x "$PORTHOLED" ] || ph_fail "$PORTHOLED is not built"
	_ph_conf
	if [ -s "$PH_LOG" ]; then
		while [ -e "$PH_LOG.$n" ]; do
			n=$((n + 1))
		done
		mv "$PH_LOG" "$PH_LOG.$n"
	fi
	# In the sanitizer build, AddressSanitizer keeps freed memory in
	# quarantine (256 MiB by default), which would read as growth in the
	# tests that watch a session's memory; keep it small.
	ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=4} \
	    "$PORTHOLED" -f "$PH_CONF" "$@" </dev/null >"$PH_LOG" 2>&1 &
	PH_SERVER_PID=$!
	ph_track "$PH_SERVER_PID"
	ph_wait_for "$PH_LOG" 'portholed: listening on 127\.0\.0\.1:[0-9]+' 30 \
	    "$PH_SERVER_PID"
	PH_PORT=$(sed -nE \
	    's/.*portholed: listening on 127\.0\.0\.1:([0-9]+).*/\1/p' \
	    "$PH_LOG" | head -n 1)
	[ -n "$PH_PORT" ] || ph_fail "no port in $PH_LOG"
}

# ph_pg_start: start a private PostgreSQL server (tests/pg.sh: Unix
# socket only, an unprivileged user) that the test's exit stops; sets
# PH_PG_URI to its libpq URI.
ph_pg_start() {
	PH_PG_URI=$("$top_srcdir/tests/pg.sh" start) ||
	    ph_fail "cannot start PostgreSQL (tests/pg.sh)"
	printf '%s\n' "$PH_PG_URI" >>"$PH_TMP/pg-uris"
}

# ph_pg_standby URI: start a streaming-replication standby of the
# tests/pg.sh server URI (pg.sh standby), which the test's exit stops;
# sets PH_PG_STANDBY_URI to its libpq URI.
ph_pg_standby() {
	PH_PG_STANDBY_URI=$("$top_srcdir/tests/pg.sh" standby "$1") ||
	    ph_fail "cannot start a standby of $1 (tests/pg.sh)"
	printf '%s\n' "$PH_PG_STANDBY_URI" >>"$PH_TMP/pg-uris"
}

# ph_stop_server: SIGTERM portholed and fail unless it exits with status 0
# and no sanitizer report.
ph_stop_server() {
	[ -n "$PH_SERVER_PID" ] || ph_fail "ph_stop_server: no server running"
	_ph_stop_server || ph_fail "$_ph_why"
}

# Stop portholed as ph_stop_server does; on trouble set _ph_why and
# return 1, for the cleanup trap, which must not exit early.
_ph_stop_server() {
	local pid=$PH_SERVER_PID

	PH_SERVER_PID=
	kill -TERM "$pid" 2>/dev/null || :
	if ! _ph_wait_exit "$pid" 30; then
		_ph_why="portholed still running 30 s after SIGTERM"
		return 1
	fi
	if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$PH_LOG"; then
		_ph_why="a sanitizer reported an error in portholed"
		return 1
	fi
	if [ "$PH_EXIT_STATUS" -ne 0 ]; then
		_ph_why="portholed exited with status $PH_EXIT_STATUS"
		return 1
	fi
}

# ph_ctl ARGS...: run portholectl on the test's configuration.
ph_ctl() {
	_ph_conf
	"$CTL" -f "$PH_CONF" "$@"
}

# ph_keygen NAME: make an ed25519 key pair $PH_TMP/NAME and NAME.pub.
ph_keygen() {
	ph_require ssh-keygen
	ssh-keygen -t ed25519 -N '' -q -C "$1@porthole-test" \
	    -f "$PH_TMP/$1" </dev/null || ph_fail "ssh-keygen $1 failed"
}

# Set _ph_ssh to the ssh command line every helper uses. PH_SSH_OPTS,
# an array, goes first: ssh keeps the first value of each option, so that
# is how a test overrides one of these defaults.
_ph_ssh_cmd() {
	[ -n "$PH_PORT" ] || ph_fail "ph_ssh: the server is not running"
	ph_require ssh
	_ph_ssh=(ssh -F /dev/null
	    ${PH_SSH_OPTS[@]+"${PH_SSH_OPTS[@]}"}
	    -p "$PH_PORT"
	    -o StrictHostKeyChecking=accept-new
	    -o "UserKnownHostsFile=$PH_TMP/known_hosts"
	    -o BatchMode=yes
	    -o IdentitiesOnly=yes
	    -o LogLevel=INFO
	    -o ConnectTimeout=10)
}

# ph_ssh ARGS...: run ssh to the test server; the caller adds -i KEY, -R,
# USER@127.0.0.1 and the command. Without -i, pass
# -o PubkeyAuthentication=no so that ~/.ssh keys are not tried.
ph_ssh() {
	_ph_ssh_cmd
	"${_ph_ssh[@]}" "$@"
}

# ph_ssh_bg NAME ARGS...: ph_ssh in the background, as ph_bg does: output
# in $PH_TMP/NAME.out and NAME.err, PID in PH_LAST_PID. The PID is ssh's
# own, so "kill -9 $PH_LAST_PID" kills the client.
ph_ssh_bg() {
	local name=$1

	shift
	_ph_ssh_cmd
	ph_bg "$name" "${_ph_ssh[@]}" "$@"
}

# ph_tunnel_port FILE [N]: print the port of the Nth forward (default 1)
# found in FILE, from "Forwarding  tcp://HOST:PORT" (the session's output)
# or else "Allocated port PORT for remote forward" (ssh's stderr).
ph_tunnel_port() {
	local file=$1 n=${2:-1} ports

	ports=$(sed -nE \
	    's,.*Forwarding[[:space:]]+tcp://[^[:space:]]*:([0-9]+).*,\1,p' \
	    "$file" 2>/dev/null) || :
	if [ -z "$ports" ]; then
		ports=$(sed -nE \
		    's/.*Allocated port ([0-9]+) for remote forward.*/\1/p' \
		    "$file" 2>/dev/null) || :
	fi
	ports=$(printf '%s\n' "$ports" | sed -n "${n}p")
	[ -n "$ports" ] || ph_fail "no tunnel port $n in $file"
	printf '%s\n' "$ports"
}

# ph_wait_tunnel NAME [TIMEOUT]: wait until the ph_ssh_bg client NAME
# reports its forward (stdout or stderr) and set PH_TUNNEL_PORT.
ph_wait_tunnel() {
	local name=$1 timeout=${2:-15} out err pid deadline

	out=$PH_TMP/$name.out
	err=$PH_TMP/$name.err
	read -r pid <"$PH_TMP/$name.pid"
	deadline=$((SECONDS + timeout))
	while :; do
		if grep -Eq 'Forwarding[[:space:]]+tcp://' "$out"; then
			PH_TUNNEL_PORT=$(ph_tunnel_port "$out")
			return 0
		fi
		if grep -q 'Allocated port' "$err"; then
			PH_TUNNEL_PORT=$(ph_tunnel_port "$err")
			return 0
		fi
		if ! _ph_alive "$pid" || [ "$SECONDS" -ge "$deadline" ]; then
			ph_fail "ssh client $name reported no forward" \
			    "$(_ph_tail "$out")$(_ph_tail "$err")"
		fi
		sleep 0.05
	done
}

# ph_user NAME: make sure the store exists, add account NAME and a fresh
# key pair $PH_TMP/NAME registered to it.
ph_user() {
	ph_ctl init >/dev/null || ph_fail "portholectl init failed"
	ph_ctl account add "$1" >/dev/null ||
	    ph_fail "portholectl account add $1 failed"
	ph_keygen "$1"
	ph_ctl key add "$1" "$PH_TMP/$1.pub" >/dev/null ||
	    ph_fail "portholectl key add $1 failed"
}
