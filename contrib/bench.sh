#!/bin/bash
# Side-by-side benchmark: portholed and stock OpenSSH sshd doing the same
# remote forward (ssh -N -R 0:localhost:PORT), driven by the same ssh
# client with the same cipher, on loopback, in the same run.
#
#   contrib/bench.sh [-q] [-b BUILDDIR] [-g TUNABLES] [-n RUNS] [-s MIB]
#                    [-c CIPHER] [-m SESSIONS] [-p PARTS] [-o FILE]
#
# Prints one table: each figure for portholed and for sshd, the ratio
# portholed/sshd and whether lower or higher is better. Each figure is the
# median of RUNS runs (-n, default 3); the two servers take turns within a
# run. The rows:
#   throughput    tnet send and recv of MIB (-s, default 1024) through a
#                 tunnel, MiB/s
#   server CPU    user + system time of all the server's processes during
#                 each transfer, per GiB, s
#   latency       tnet lat: connect to the public port until the first
#                 echoed byte, p50 and p99 of 1000 connections in a row, us
#   round trip    tnet rtt: 64 bytes there and back on one connection,
#                 p50 and p99 of 10000, us
#   concurrency   tnet many: 1000 echo connections at once through one
#                 tunnel, wall time and connections that failed
#   setup         ssh start until "Allocated port" on its stderr, p50 of 20
#                 sessions one after another, ms
#   memory        PSS of all the server's processes with 200 idle
#                 sessions, less the PSS with none, per session, KiB
#   held          of 1000 sessions started in batches of 50, how many got
#                 a port and are still alive once all have started
#   scale         SESSIONS (-m, default 2000) sessions, each with one
#                 remote forward of port 0, held at once by one
#                 python3-asyncssh process (contrib/bench-hold.py, same
#                 cipher) that has at most 50 of them logging in at a
#                 time: how many got their forward and are still
#                 connected once all have started, and the PSS of all the
#                 server's processes then, less the PSS with none, per
#                 session held, KiB
# The parts are connections (throughput, server CPU, latency, round trip,
# concurrency), setup, memory, held and scale; -p PARTS runs only those
# named, separated by commas (default all). -q (quick) skips memory, held
# and scale; -m 0 skips scale. -o FILE also writes the table as Markdown.
# -g runs portholed, and only it, with GLIBC_TUNABLES set to TUNABLES
# (added to any already in the environment), to measure what a glibc
# tunable gives it, such as the rep movsb threshold of ENVIRONMENT in
# portholed.8; the last lines of the output say what it ran with.
# Must run as root: sshd needs it. Needs ssh, sshd (package
# openssh-server), ps, tests/tnet (make tests/tnet), and for scale
# python3 with asyncssh (package python3-asyncssh).
set -eu
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top
runs=3
mib=1024
cipher=chacha20-poly1305@openssh.com
quick=0
mdfile=
scale_n=2000
parts=connections,setup,memory,held,scale
ph_tunables=
usage() {
	echo "usage: $0 [-q] [-b builddir] [-g tunables] [-n runs] [-s MiB] [-c cipher] [-m sessions] [-p parts] [-o file]" >&2
	exit 2
}
while getopts b:g:n:s:c:qm:p:o: opt; do
	case $opt in
	g) ph_tunables=$OPTARG ;;
	b) build=$(cd "$OPTARG" && pwd) ;;
	n) runs=$OPTARG ;;
	s) mib=$OPTARG ;;
	c) cipher=$OPTARG ;;
	q) quick=1 ;;
	m) scale_n=$OPTARG ;;
	p) parts=$OPTARG ;;
	o) case $OPTARG in
	   /*) mdfile=$OPTARG ;;
	   *) mdfile=$PWD/$OPTARG ;;
	   esac ;;
	*) usage ;;
	esac
done
[ "$OPTIND" -gt $# ] || usage
case $runs$mib$scale_n in
*[!0-9]*) usage ;;
esac
if [ "$runs" -lt 1 ] || [ "$mib" -lt 1 ]; then usage; fi
declare -A want
IFS=, read -r -a list <<<"$parts"
for p in "${list[@]}"; do
	case $p in
	connections | setup | memory | held | scale) want[$p]=1 ;;
	*)
		echo "bench: unknown part \"$p\" (connections, setup, memory, held, scale)" >&2
		usage ;;
	esac
done
if [ "$quick" = 1 ]; then
	unset 'want[memory]' 'want[held]' 'want[scale]'
fi
if [ "$scale_n" -eq 0 ]; then
	unset 'want[scale]'
fi
if [ ${#want[@]} -eq 0 ]; then
	echo "bench: no part left to run" >&2
	usage
fi
# wants PART: whether PART is to run.
wants() { [ -n "${want[$1]:-}" ]; }

# The sizes of the measurements.
LAT_COUNT=1000
RTT_COUNT=10000
MANY=1000
MANY_BYTES=64
SETUP_SESSIONS=20
MEM_SESSIONS=200
HELD_SESSIONS=1000
BATCH=50
NOFILE=65536
NOFILE_MIN=$((4 * MANY))
# The scale client holds a descriptor per session, and so does the
# parent of each server for some of them.
if wants scale && [ "$NOFILE_MIN" -lt $((2 * scale_n + 256)) ]; then
	NOFILE_MIN=$((2 * scale_n + 256))
fi

if [ "$(id -u)" != 0 ]; then
	echo "bench: must run as root: the stock sshd it compares against needs root" >&2
	exit 1
fi
TNET=$build/tests/tnet
PORTHOLED=$build/sshd/portholed
CTL=$build/src/portholectl
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
HOLD=$top/contrib/bench-hold.py
for x in "$TNET" "$PORTHOLED" "$CTL" "$SSHD" "$(command -v ssh || echo ssh)" \
    "$(command -v ps || echo ps)"; do
	[ -x "$x" ] || { echo "bench: $x is missing (build first; apt-get install openssh-server openssh-client procps)" >&2; exit 1; }
done
# The scale rows' client: the first python3 on PATH, or else Debian's,
# that has asyncssh (a pyenv or virtualenv python3 may not).
PYTHON=
if wants scale; then
	for py in python3 /usr/bin/python3; do
		if "$py" -c 'import asyncssh' 2>/dev/null; then
			PYTHON=$py
			break
		fi
	done
	if [ -z "$PYTHON" ]; then
		echo "bench: the scale rows need python3 with asyncssh (apt-get install python3-asyncssh), or -m 0 to skip them" >&2
		exit 1
	fi
fi
if ! ssh -Q cipher | grep -qx -- "$cipher"; then
	echo "bench: ssh does not know the cipher $cipher" >&2
	exit 1
fi
# 1000 connections or sessions, and the scale rows' sessions, need far
# more descriptors than the default 1024; the servers and clients inherit
# this. Without CAP_SYS_RESOURCE the hard limit stays, so settle for it if
# it is high enough.
if ! ulimit -n "$NOFILE" 2>/dev/null; then
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -lt "$NOFILE_MIN" ]; then
		echo "bench: cannot raise the open file limit to $NOFILE_MIN (hard limit $hard)" >&2
		exit 1
	fi
	ulimit -Sn "$hard"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/porthole-bench.XXXXXX")
pids=()		# servers and local services
clients=()	# ssh clients
declare -A root	# server -> pid of its listening process
notes=()

# tree PID: PID and all its descendants, one a line, PID first.
tree() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
	    { kids[$2] = kids[$2] " " $1 }
	    END {
		q[n = 1] = root
		for (i = 1; i <= n; i++) {
			print q[i]
			m = split(kids[q[i]], k, " ")
			for (j = 1; j <= m; j++)
				q[++n] = k[j]
		}
	    }'
}

cleanup() {
	local p all=()
	trap - EXIT INT TERM
	if [ ${#clients[@]} -gt 0 ]; then
		kill "${clients[@]}" 2>/dev/null || :
	fi
	# sshd's session processes outlive its listener: stop them all.
	for p in "${root[@]}"; do
		mapfile -t -O "${#all[@]}" all < <(tree "$p")
	done
	if [ ${#all[@]} -gt 0 ] || [ ${#pids[@]} -gt 0 ]; then
		kill "${all[@]}" "${pids[@]}" 2>/dev/null || :
	fi
	wait 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bytes=$((mib * 1048576))
ssh-keygen -q -t ed25519 -N '' -f "$tmp/client"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/sshd_host"

# wait_line FILE REGEX: wait up to 30 s for a line.
wait_line() {
	for _ in $(seq 600); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench: timed out waiting for /$2/ in $1" >&2
	cat "$1" >&2
	exit 1
}

# now_us: the wall clock in microseconds.
now_us() { echo "${EPOCHREALTIME/./}"; }

# --- portholed -----------------------------------------------------------------
cat >"$tmp/portholed.conf" <<EOF
ListenAddress 127.0.0.1:0
StateDirectory $tmp/state
TunnelAddress 127.0.0.1
PublicHost 127.0.0.1
LogLevel ERROR
EOF
"$CTL" -f "$tmp/portholed.conf" init >/dev/null
"$CTL" -f "$tmp/portholed.conf" account add bench >/dev/null
"$CTL" -f "$tmp/portholed.conf" key add bench "$tmp/client.pub" >/dev/null
# Room for the held sessions, all from one account and one address (twice
# the most held at once, as ended sessions take a moment to be reaped);
# and, where this portholed has them, the limits sshd is given below
# (OpenSSH 9.2 has no PerSourcePenalties, and no MaxSessions of this
# kind: its MaxSessions counts channels of one connection).
most=$HELD_SESSIONS
if wants scale && [ "$scale_n" -gt "$most" ]; then
	most=$scale_n
fi
maxsess=$((2 * most > 100000 ? 100000 : 2 * most))
ph_opts=(-o "MaxSessionsPerAccount=$maxsess")
# Public ports below the kernel's ephemeral range, which holds the
# clients' own ports and sshd's forwards, when there is room for them all.
eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 0)
if [ $((eph - 10000)) -ge $((2 * most)) ]; then
	ph_opts+=(-o "PortRange=10000-$((eph - 1))")
fi
for o in MaxStartups=1000:30:1000 PerSourceMaxStartups=none \
    PerSourcePenalties=no "MaxSessions=$maxsess"; do
	if "$PORTHOLED" -t -f "$tmp/portholed.conf" -o "$o" >/dev/null 2>&1; then
		ph_opts+=(-o "$o")
	fi
done
# Any tunables already in the environment stay, for portholed alone.
ph_env=()
if [ -n "$ph_tunables" ]; then
	ph_env=("GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}$ph_tunables")
fi
env ${ph_env[@]+"${ph_env[@]}"} "$PORTHOLED" -f "$tmp/portholed.conf" \
    "${ph_opts[@]}" 2>"$tmp/portholed.log" &
pids+=($!)
root[ph]=$!
wait_line "$tmp/portholed.log" "listening on"

# --- stock sshd, its own config on a free loopback port -----------------------
sshd_port=$("$TNET" freeport)
cp "$tmp/client.pub" "$tmp/authorized_keys"
chmod 600 "$tmp/authorized_keys"
# MaxStartups and LoginGraceTime let 50 sessions log in at once.
cat >"$tmp/sshd_config" <<EOF
Port $sshd_port
ListenAddress 127.0.0.1
HostKey $tmp/sshd_host
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
StrictModes no
UsePAM no
UseDNS no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding remote
GatewayPorts no
X11Forwarding no
PrintMotd no
MaxStartups 1000:30:1000
MaxSessions 10
LoginGraceTime 60
LogLevel ERROR
EOF
mkdir -p /run/sshd 2>/dev/null || :
"$SSHD" -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
pids+=($!)
root[sd]=$!
for _ in $(seq 200); do
	"$TNET" refused "127.0.0.1:$sshd_port" 2>/dev/null || break
	sleep 0.05
done

declare -A sport login name
sport[ph]=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$tmp/portholed.log")
sport[sd]=$sshd_port
login[ph]=bench
login[sd]=$(id -un)
name[ph]=portholed
name[sd]=sshd
declare -A logf
logf[ph]=$tmp/portholed.log
logf[sd]=$tmp/sshd.log

# --- local services ------------------------------------------------------------
# Byte counts only, no SHA-256: the throughput rows measure the tunnels.
export TNET_NOSUM=1
for svc in sink "source:$bytes" echo; do
	"$TNET" listen "$svc" >"$tmp/${svc%%:*}.out" &
	pids+=($!)
done
wait_line "$tmp/sink.out" '^[0-9]+$'
wait_line "$tmp/source.out" '^[0-9]+$'
wait_line "$tmp/echo.out" '^[0-9]+$'
sink=$(head -n1 "$tmp/sink.out")
source=$(head -n1 "$tmp/source.out")
echo=$(head -n1 "$tmp/echo.out")

# kids SERVER: how many processes the server has below its listener.
kids() { tree "${root[$1]}" | tail -n +2 | wc -l; }

declare -A basekids
basekids[ph]=$(kids ph)
basekids[sd]=$(kids sd)

ssh_opts=(-F /dev/null -i "$tmp/client" -o IdentitiesOnly=yes
    -o BatchMode=yes -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o LogLevel=INFO
    -o ExitOnForwardFailure=yes -c "$cipher" -N)

# start_session SERVER ERRFILE SERVICE: start ssh -N -R 0:localhost:SERVICE
# against SERVER in the background, its stderr in ERRFILE.
start_session() {
	: >"$2"
	ssh "${ssh_opts[@]}" -p "${sport[$1]}" -R "0:localhost:$3" \
	    "${login[$1]}@127.0.0.1" </dev/null >/dev/null 2>"$2" &
	clients+=($!)
}

# tunnel SERVER NAME SERVICE: start a session forwarding to SERVICE; set
# tport to its public port.
tunnel() {
	start_session "$1" "$tmp/$2.err" "$3"
	wait_line "$tmp/$2.err" "Allocated port"
	tport=$(tr -d '\r' <"$tmp/$2.err" |
	    sed -nE 's/.*Allocated port ([0-9]+) .*/\1/p' | head -n1)
}

# stop_clients: stop every ssh client still running and wait for them.
stop_clients() {
	if [ ${#clients[@]} -gt 0 ]; then
		kill "${clients[@]}" 2>/dev/null || :
		wait "${clients[@]}" 2>/dev/null || :
	fi
	clients=()
}

# wait_idle SERVER: wait up to 120 s until the server has only the
# processes it started with.
wait_idle() {
	local n
	for _ in $(seq 1200); do
		n=$(kids "$1")
		[ "$n" -le "${basekids[$1]}" ] && return 0
		sleep 0.1
	done
	echo "bench: ${name[$1]} still has $n processes after its sessions ended" >&2
	notes+=("${name[$1]} kept $n processes after its sessions ended")
}

# has_port ERRFILE: whether ssh has printed "Allocated port" there.
has_port() {
	local line
	while IFS= read -r line; do
		[[ $line == *"Allocated port"* ]] && return 0
	done <"$1"
	return 1
}

# hold SERVER N DIR: start N sessions in batches of BATCH, waiting up to
# 60 s for each session of a batch to get a port or exit before the next;
# stderr in DIR/I.err. Sets held to how many have a port and are still
# alive once all have started. The clients are left running.
hold() {
	local srv=$1 n=$2 dir=$3 first i bad pending left
	local -a pid
	mkdir -p "$dir"
	for ((first = 0; first < n; first += BATCH)); do
		pending=()
		for ((i = first; i < first + BATCH && i < n; i++)); do
			start_session "$srv" "$dir/$i.err" "$echo"
			pid[i]=$!
			pending+=("$i")
		done
		for _ in $(seq 600); do
			left=()
			for i in "${pending[@]}"; do
				if ! has_port "$dir/$i.err" &&
				    kill -0 "${pid[i]}" 2>/dev/null; then
					left+=("$i")
				fi
			done
			pending=("${left[@]}")
			[ ${#pending[@]} -eq 0 ] && break
			sleep 0.1
		done
	done
	sleep 2
	held=0
	bad=-1
	for ((i = 0; i < n; i++)); do
		if has_port "$dir/$i.err" && kill -0 "${pid[i]}" 2>/dev/null; then
			held=$((held + 1))
		elif [ "$bad" = -1 ]; then
			bad=$i
		fi
	done
	if [ "$bad" != -1 ]; then
		notes+=("${name[$srv]}: $held of $n sessions held; session $bad said: $(tr -d '\r' <"$dir/$bad.err" | grep -v '^Warning: Permanently' | head -n1)")
	fi
}

# hold_many SERVER N LOG: hold N sessions, each with one remote forward, at
# once from one bench-hold.py process, which has at most BATCH of them
# logging in at a time; its failures, counted, in LOG, one a line as
# "bench-hold: COUNT of N: REASON". Sets held as hold does, and lag to
# the longest the client fell behind, in seconds. The helper keeps the
# sessions until stop_clients.
hold_many() {
	local srv=$1 n=$2 log=$3 line fd
	# Each session has 60 s to log in and 60 s more to get its forward.
	local limit=$(((n / BATCH + 1) * 120 + 30))
	# One client process against a server's thousands gets little of a
	# busy CPU: a higher priority keeps it answering the keepalives that
	# portholed sends (by default; sshd sends none) and opening sessions
	# at the pace the server can take them.
	exec {fd}< <(exec nice -n -10 "$PYTHON" "$HOLD" -b "$BATCH" \
	    -c "$cipher" 127.0.0.1 "${sport[$srv]}" "${login[$srv]}" \
	    "$tmp/client" "$n" "$echo" 2>"$log" </dev/null)
	clients+=($!)
	if ! read -r -t "$limit" -u "$fd" line; then
		echo "bench: bench-hold.py against ${name[$srv]} reported nothing" >&2
		cat "$log" >&2
		exit 1
	fi
	exec {fd}<&-
	held=$(field held "$line")
	lag=$(field lag "$line")
}

# log_since SERVER LINES: the two messages most often in the server's log
# after its first LINES lines, ids and numbers masked, with their counts.
log_since() {
	tail -n +"$(($2 + 1))" "${logf[$1]}" |
	    sed -E 's/(ss|ep|ev)_[A-Za-z0-9]+/\1_X/g; s/[0-9]+/N/g' |
	    sort | uniq -c | sort -rn | head -n 2 |
	    sed -E 's/^ *([0-9]+) (.*)/\1 times "\2"/' | paste -sd ';' -
}

# cpu SERVER: the CPU time (user + system), in clock ticks, its
# processes have used so far.
cpu() {
	local -a files
	mapfile -t files < <(tree "${root[$1]}" | sed 's|.*|/proc/&/stat|')
	# The command name, field 2, may hold spaces: count from the end.
	cat "${files[@]}" 2>/dev/null |
	    awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }'
}
HZ=$(getconf CLK_TCK)

# cpu_per_gib TICKS: seconds of CPU per GiB moved, for the table.
cpu_per_gib() {
	awk -v t="$1" -v hz="$HZ" -v b="$bytes" \
	    'BEGIN { printf "%.2f", t / hz / (b / 1073741824) }'
}

# pss SERVER: the summed PSS, in KiB, of the server's processes.
pss() {
	local -a files
	mapfile -t files < <(tree "${root[$1]}" | sed 's|.*|/proc/&/smaps_rollup|')
	cat "${files[@]}" 2>/dev/null | awk '/^Pss:/ { s += $2 } END { print s + 0 }'
}

# setup_one SERVER FILE: one session; append the microseconds from
# starting ssh to its "Allocated port" line to FILE, then end it.
setup_one() {
	local t0 line pid fd ok=0
	t0=$(now_us)
	exec {fd}< <(exec ssh "${ssh_opts[@]}" -p "${sport[$1]}" \
	    -R "0:localhost:$echo" "${login[$1]}@127.0.0.1" \
	    2>&1 >/dev/null </dev/null)
	pid=$!
	while IFS= read -r -t 30 -u "$fd" line; do
		if [[ $line == *"Allocated port"* ]]; then
			echo $(($(now_us) - t0)) >>"$2"
			ok=1
			break
		fi
	done
	kill "$pid" 2>/dev/null || :
	exec {fd}<&-
	wait "$pid" 2>/dev/null || :
	if [ "$ok" != 1 ]; then
		echo "bench: ${name[$1]}: no \"Allocated port\" within 30 s (last: ${line:-nothing})" >&2
		exit 1
	fi
	wait_idle "$1"
}

mkdir "$tmp/res"
# record KEY SERVER VALUE: keep one run's figure.
record() { echo "$3" >>"$tmp/res/$1.$2"; }

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# field NAME LINE: the value of NAME=value in LINE.
field() { echo "$2" | sed -nE "s/.*(^| )$1=([0-9.]+).*/\\2/p"; }

# check_bytes WHAT OUTPUT: the transfer moved all the bytes.
check_bytes() {
	if [ "${2%% *}" != "$bytes" ]; then
		echo "bench: $1 moved ${2%% *} bytes of $bytes" >&2
		exit 1
	fi
}

# --- connections: throughput, latency, round trip, concurrency --------------
if wants connections; then
	declare -A up down ep
	for srv in ph sd; do
		tunnel "$srv" "$srv.up" "$sink"
		up[$srv]=$tport
		tunnel "$srv" "$srv.down" "$source"
		down[$srv]=$tport
		tunnel "$srv" "$srv.echo" "$echo"
		ep[$srv]=$tport
	done

	for run in $(seq "$runs"); do
		echo "bench: run $run of $runs: connections" >&2
		for srv in ph sd; do
			c0=$(cpu "$srv")
			t0=$(now_us)
			out=$("$TNET" send -t 600 "127.0.0.1:${up[$srv]}" "$bytes")
			t1=$(now_us)
			c1=$(cpu "$srv")
			check_bytes "${name[$srv]} upload" "$out"
			record cpu_up "$srv" "$(cpu_per_gib $((c1 - c0)))"
			record up "$srv" "$(awk -v b="$bytes" -v t=$((t1 - t0)) \
			    'BEGIN { printf "%.1f", b / 1048576 / (t / 1e6) }')"
			c0=$(cpu "$srv")
			t0=$(now_us)
			out=$("$TNET" recv -t 600 "127.0.0.1:${down[$srv]}")
			t1=$(now_us)
			c1=$(cpu "$srv")
			check_bytes "${name[$srv]} download" "$out"
			record cpu_down "$srv" "$(cpu_per_gib $((c1 - c0)))"
			record down "$srv" "$(awk -v b="$bytes" -v t=$((t1 - t0)) \
			    'BEGIN { printf "%.1f", b / 1048576 / (t / 1e6) }')"

			out=$("$TNET" lat -t 30 "127.0.0.1:${ep[$srv]}" "$LAT_COUNT")
			record lat50 "$srv" "$(field p50 "$out")"
			record lat99 "$srv" "$(field p99 "$out")"
			out=$("$TNET" rtt -t 30 "127.0.0.1:${ep[$srv]}" "$RTT_COUNT")
			record rtt50 "$srv" "$(field p50 "$out")"
			record rtt99 "$srv" "$(field p99 "$out")"

			t0=$(now_us)
			out=$("$TNET" many -t 120 "127.0.0.1:${ep[$srv]}" "$MANY" \
			    "$MANY_BYTES" 2>"$tmp/many.err") || :
			t1=$(now_us)
			failed=$(field failed "$out")
			failed=${failed:-$MANY}
			record many_s "$srv" "$(awk -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", t / 1e6 }')"
			record many_fail "$srv" "$failed"
			if [ "$failed" != 0 ]; then
				notes+=("run $run: ${name[$srv]} failed $failed of $MANY concurrent connections: $(head -n1 "$tmp/many.err")")
			fi
		done
	done
	stop_clients
	wait_idle ph
	wait_idle sd
fi

# --- sessions: setup time, memory, sessions held, memory at scale -----------
if wants setup; then
	for run in $(seq "$runs"); do
		echo "bench: run $run of $runs: session setup" >&2
		for srv in ph sd; do
			: >"$tmp/setup.$srv"
			for _ in $(seq "$SETUP_SESSIONS"); do
				setup_one "$srv" "$tmp/setup.$srv"
			done
			record setup "$srv" "$(median <"$tmp/setup.$srv" |
			    awk '{ printf "%.1f", $1 / 1000 }')"
		done
	done
fi

# per_session BASE LOADED N: (LOADED - BASE) / N, rounded; 0 if N is 0.
per_session() {
	awk -v a="$1" -v b="$2" -v n="$3" \
	    'BEGIN { printf "%.0f", n ? (b - a) / n : 0 }'
}

if wants memory; then
	for run in $(seq "$runs"); do
		echo "bench: run $run of $runs: memory of $MEM_SESSIONS sessions" >&2
		for srv in ph sd; do
			wait_idle "$srv"
			base=$(pss "$srv")
			hold "$srv" "$MEM_SESSIONS" "$tmp/mem.$srv.$run"
			loaded=$(pss "$srv")
			if [ "$held" -lt "$MEM_SESSIONS" ]; then
				notes+=("run $run: memory of ${name[$srv]} divided by the $held sessions that got a port")
			fi
			record mem "$srv" "$(per_session "$base" "$loaded" "$held")"
			stop_clients
			wait_idle "$srv"
		done
	done
fi
if wants held; then
	for run in $(seq "$runs"); do
		echo "bench: run $run of $runs: $HELD_SESSIONS sessions held" >&2
		for srv in ph sd; do
			hold "$srv" "$HELD_SESSIONS" "$tmp/held.$srv.$run"
			record held "$srv" "$held"
			stop_clients
			wait_idle "$srv"
		done
	done
fi
if wants scale; then
	for run in $(seq "$runs"); do
		echo "bench: run $run of $runs: $scale_n sessions held from one asyncssh client" >&2
		for srv in ph sd; do
			wait_idle "$srv"
			base=$(pss "$srv")
			from=$(wc -l <"${logf[$srv]}")
			hold_many "$srv" "$scale_n" "$tmp/scale.$srv.$run.log"
			loaded=$(pss "$srv")
			if [ "$held" -lt "$scale_n" ]; then
				notes+=("run $run: ${name[$srv]} held $held of $scale_n sessions from one client, memory divided by those; failures: $(sed -n 's/^bench-hold: //p' "$tmp/scale.$srv.$run.log" | paste -sd ';' -); its log: $(log_since "$srv" "$from")")
			fi
			if awk -v l="$lag" 'BEGIN { exit !(l >= 10) }'; then
				notes+=("run $run: against ${name[$srv]} the scale client fell up to $lag s behind (a busy machine)")
			fi
			record scale_held "$srv" "$held"
			record scale_mem "$srv" "$(per_session "$base" "$loaded" "$held")"
			stop_clients
			wait_idle "$srv"
		done
	done
fi

# --- the table -----------------------------------------------------------------
rows=()
if wants connections; then
	rows+=(up down cpu_up cpu_down lat50 lat99 rtt50 rtt99 many_s many_fail)
fi
if wants setup; then rows+=(setup); fi
if wants memory; then rows+=(mem); fi
if wants held; then rows+=(held); fi
if wants scale; then rows+=(scale_held scale_mem); fi
declare -A label better
label[up]="throughput to the service, MiB/s"
label[down]="throughput to the client, MiB/s"
label[cpu_up]="server CPU per GiB to the service, s"
label[cpu_down]="server CPU per GiB to the client, s"
label[lat50]="connection latency p50, us"
label[lat99]="connection latency p99, us"
label[rtt50]="64-byte round trip p50, us"
label[rtt99]="64-byte round trip p99, us"
label[many_s]="$MANY concurrent connections, s"
label[many_fail]="$MANY concurrent connections, failed"
label[setup]="session setup p50 of $SETUP_SESSIONS, ms"
label[mem]="memory per idle session ($MEM_SESSIONS), KiB"
label[held]="sessions held of $HELD_SESSIONS"
label[scale_held]="sessions held of $scale_n from one client"
label[scale_mem]="memory per session at $scale_n held, KiB"
for r in "${rows[@]}"; do better[$r]=lower; done
better[up]=higher
better[down]=higher
better[held]=higher
better[scale_held]=higher

model=$(sed -nE 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
machine="$(nproc) CPUs ($model), Linux $(uname -r)"
openssh="$(ssh -V 2>&1); sshd: $("$SSHD" -V 2>&1 | head -n1 || :)"
portholed_v=$("$PORTHOLED" -V 2>&1 | head -n1)
if [ -n "$ph_tunables" ]; then
	ph_glibc="${ph_env[0]} (-g)"
else
	ph_glibc="GLIBC_TUNABLES ${GLIBC_TUNABLES:-unset}"
fi
params="$mib MiB per transfer, cipher $cipher, lat $LAT_COUNT, rtt $RTT_COUNT, loopback, open files $(ulimit -n)"
if wants scale; then
	params="$params, scale client asyncssh $("$PYTHON" -W ignore -c 'import asyncssh; print(asyncssh.__version__)')"
fi

head=("figure (median of $runs runs)" portholed sshd ratio better)
fmt='%-40s %10s %10s %7s  %s\n'
md=$tmp/table.md
echo "| ${head[0]} | ${head[1]} | ${head[2]} | ${head[3]} | ${head[4]} |" >"$md"
echo "|---|--:|--:|--:|---|" >>"$md"
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" "${head[@]}"
for r in "${rows[@]}"; do
	a=$(median <"$tmp/res/$r.ph")
	b=$(median <"$tmp/res/$r.sd")
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {
		if (b != 0) printf "%.2f", a / b
		else print (a == 0 ? "-" : "inf") }')
	# shellcheck disable=SC2059
	printf "$fmt" "${label[$r]}" "$a" "$b" "$ratio" "${better[$r]}"
	echo "| ${label[$r]} | $a | $b | $ratio | ${better[$r]} |" >>"$md"
done
echo "ratio = portholed/sshd; $params"
echo "machine: $machine"
echo "openssh: $openssh"
echo "portholed: $portholed_v; ${ph_opts[*]}; $ph_glibc"
for n in "${notes[@]}"; do echo "note: $n"; done
if [ -n "$mdfile" ]; then
	{
		cat "$md"
		echo
		echo "ratio = portholed/sshd; $params."
		echo
		echo "- machine: $machine"
		echo "- OpenSSH: $openssh"
		echo "- portholed: $portholed_v; ${ph_opts[*]}; $ph_glibc"
		for n in "${notes[@]}"; do echo "- note: $n"; done
	} >"$mdfile"
fi
