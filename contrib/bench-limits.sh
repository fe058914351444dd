#!/bin/bash
# What the traffic limits cost, and how well BandwidthLimit holds.
#
#   contrib/bench-limits.sh [-b BUILDDIR] [-s MIB] [-r ROUNDS] [-t SECS]
#
# One portholed on loopback (LogLevel INFO) and the system ssh client.
#   overhead   MIB (-s, default 512) up and down, TNET_NOSUM, through a
#              session of an account with no limits and one of an
#              account with every limit configured but none reached
#              (BandwidthLimit 64G, TransferQuota 1T/30d,
#              ConnectionRateLimit 100000, MaxConnectionsPerSource 1000,
#              ConnectionIdleTimeout 1h), ROUNDS (-r, default 3) rounds
#              alternating between them in the same run: the median MB/s
#              of each and their ratio.
#   accuracy   BandwidthLimit 1M and 100M (MiB a second): SECS (-t,
#              default 10) seconds' worth up and down; the rate measured
#              over the transfer and its error against the limit (the
#              bucket's burst, max(R/10, 64 KiB), makes a short transfer
#              read a little fast).
# Limits are set with "portholectl account update". Needs ssh, ssh-keygen
# and tests/tnet (make tests/tnet). Use a build without sanitizers.
set -eu
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top
mib=512
rounds=3
secs=10
while getopts b:s:r:t: opt; do
	case $opt in
	b) build=$(cd "$OPTARG" && pwd) ;;
	s) mib=$OPTARG ;;
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
tnet=$build/tests/tnet
portholed=$build/sshd/portholed
ctl=$build/src/portholectl
for f in "$tnet" "$portholed" "$ctl"; do
	[ -x "$f" ] || { echo "bench-limits: $f is not built" >&2; exit 1; }
done
for c in ssh ssh-keygen; do
	command -v "$c" >/dev/null ||
	    { echo "bench-limits: needs $c" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-limits.XXXXXX")
# What we start, from subshells too: killed at exit.
: >"$tmp/pids"
cleanup() {
	local p

	while read -r p; do
		kill "$p" 2>/dev/null || :
	done <"$tmp/pids"
	wait 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT

conf=$tmp/portholed.conf
cat >"$conf" <<EOF
ListenAddress 127.0.0.1:0
StateDirectory $tmp/state
TunnelAddress 127.0.0.1
PublicHost 127.0.0.1
LogLevel INFO
EOF
MIB=1048576
"$ctl" -f "$conf" init >/dev/null
for a in none all r1m r100m; do
	"$ctl" -f "$conf" account add "$a" >/dev/null
	ssh-keygen -t ed25519 -N '' -q -f "$tmp/$a" </dev/null
	"$ctl" -f "$conf" key add "$a" "$tmp/$a.pub" >/dev/null
done
# limit ACCOUNT FLAG VALUE...: portholectl account update ACCOUNT.
limit() {
	local a=$1

	shift
	"$ctl" -f "$conf" account update "$a" "$@" >/dev/null
}
limit all --bandwidth 64G --transfer-quota 1T/30d --connection-rate 100000 \
    --max-connections-per-source 1000 --idle-timeout 1h
limit r1m --bandwidth 1M
limit r100m --bandwidth 100M

"$portholed" -f "$conf" </dev/null >"$tmp/log" 2>&1 &
echo $! >>"$tmp/pids"
for _ in $(seq 1 300); do
	grep -q 'listening on' "$tmp/log" && break
	sleep 0.1
done
port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$tmp/log" |
    head -n 1)
[ -n "$port" ] || { echo "bench-limits: portholed did not start" >&2; exit 1; }

# service NAME MODE: a tnet listener; prints its port.
service() {
	"$tnet" listen "$2" >"$tmp/$1.port" 2>/dev/null &
	echo $! >>"$tmp/pids"
	for _ in $(seq 1 100); do
		[ -s "$tmp/$1.port" ] && break
		sleep 0.05
	done
	head -n 1 "$tmp/$1.port"
}

# tunnel ACCOUNT LOCALPORT: ssh -R … tcp as ACCOUNT; prints the public port.
tunnel() {
	local name=$1.$2

	ssh -F /dev/null -p "$port" -o StrictHostKeyChecking=no \
	    -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	    -o IdentitiesOnly=yes -o LogLevel=INFO -i "$tmp/$1" \
	    -R "0:127.0.0.1:$2" "$1@127.0.0.1" tcp </dev/null \
	    >"$tmp/$name.out" 2>"$tmp/$name.err" &
	echo $! >>"$tmp/pids"
	# "Forwarding" once the command is processed: it relays from then.
	for _ in $(seq 1 200); do
		grep -q 'Forwarding' "$tmp/$name.out" && break
		sleep 0.05
	done
	sed -nE 's,.*Forwarding[[:space:]]+tcp://[^[:space:]]*:([0-9]+).*,\1,p' \
	    "$tmp/$name.out"
}

export TNET_NOSUM=1
sink=$(service sink sink)
# xfer up|down PUBLICPORT BYTES: milliseconds to move BYTES.
xfer() {
	local t0 t1

	t0=$(date +%s%N)
	if [ "$1" = up ]; then
		"$tnet" send -t 600 "127.0.0.1:$2" "$3" >/dev/null
	else
		"$tnet" recv -t 600 "127.0.0.1:$2" >/dev/null
	fi
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
# mbps BYTES MS: MiB a second.
mbps() {
	awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }'
}
median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "bench-limits: portholed $("$portholed" -V | sed 's/^portholed //'), loopback, $(nproc) CPUs"

# --- overhead --------------------------------------------------------------
bytes=$((mib * MIB))
src=$(service src "source:$bytes")
declare -A upport downport
for a in none all; do
	upport[$a]=$(tunnel "$a" "$sink")
	downport[$a]=$(tunnel "$a" "$src")
done
for dir in up down; do
	: >"$tmp/none.$dir"
	: >"$tmp/all.$dir"
done
for r in $(seq 1 "$rounds"); do
	# Each goes first in every other round.
	order="none all"
	[ $((r % 2)) -eq 0 ] && order="all none"
	for a in $order; do
		ms=$(xfer up "${upport[$a]}" "$bytes")
		mbps "$bytes" "$ms" >>"$tmp/$a.up"
		echo >>"$tmp/$a.up"
		ms=$(xfer down "${downport[$a]}" "$bytes")
		mbps "$bytes" "$ms" >>"$tmp/$a.down"
		echo >>"$tmp/$a.down"
	done
done
for dir in up down; do
	n=$(median <"$tmp/none.$dir")
	l=$(median <"$tmp/all.$dir")
	printf 'overhead  %-4s %d MiB: no limits %7.1f MiB/s, limits not reached %7.1f MiB/s, ratio %.3f (median of %d)\n' \
	    "$dir" "$mib" "$n" "$l" "$(awk -v a="$l" -v b="$n" 'BEGIN { print a / b }')" "$rounds"
done

# --- accuracy -----------------------------------------------------------------
for a in r1m r100m; do
	case $a in
	r1m) rate=$MIB ;;
	r100m) rate=$((100 * MIB)) ;;
	esac
	bytes=$((rate * secs))
	asrc=$(service "src.$a" "source:$bytes")
	p_up=$(tunnel "$a" "$sink")
	p_down=$(tunnel "$a" "$asrc")
	for dir in up down; do
		if [ "$dir" = up ]; then
			ms=$(xfer up "$p_up" "$bytes")
		else
			ms=$(xfer down "$p_down" "$bytes")
		fi
		awk -v b="$bytes" -v ms="$ms" -v r="$rate" -v d="$dir" \
		    -v name="$((rate / MIB))M" 'BEGIN {
			got = b / (ms / 1000);
			printf "accuracy  %-4s BandwidthLimit %s: %d MiB in %.2f s = %.2f MiB/s, %+.1f %% of the limit\n",
			    d, name, b / 1048576, ms / 1000, got / 1048576,
			    (got - r) / r * 100 }'
	done
done
