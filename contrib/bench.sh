#!/bin/bash
# Side-by-side benchmark: portholed and stock OpenSSH sshd doing the same
# remote forward (ssh -N -R 0:localhost:PORT), driven by the same ssh
# client with the same cipher, on loopback, in the same run.
#
#   contrib/bench.sh [-b BUILDDIR] [-n RUNS] [-s MIB] [-c CIPHER]
#
# Prints one table: each figure for portholed and for sshd, and the ratio
# portholed/sshd (the median of RUNS runs). Needs: ssh, sshd (package
# openssh-server), tests/tnet built (make check builds it).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top
runs=3
mib=1024
cipher=chacha20-poly1305@openssh.com
while getopts b:n:s:c: opt; do
	case $opt in
	b) build=$(cd "$OPTARG" && pwd) ;;
	n) runs=$OPTARG ;;
	s) mib=$OPTARG ;;
	c) cipher=$OPTARG ;;
	*) echo "usage: $0 [-b builddir] [-n runs] [-s MiB] [-c cipher]" >&2
	   exit 2 ;;
	esac
done
TNET=$build/tests/tnet
PORTHOLED=$build/sshd/portholed
CTL=$build/src/portholectl
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
for x in "$TNET" "$PORTHOLED" "$CTL" "$SSHD"; do
	[ -x "$x" ] || { echo "bench: $x is missing (build first; apt-get install openssh-server)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/porthole-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || :; done
	wait 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT

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
"$PORTHOLED" -f "$tmp/portholed.conf" 2>"$tmp/portholed.log" &
pids+=($!)
wait_line "$tmp/portholed.log" "listening on"
ph_port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$tmp/portholed.log")

# --- stock sshd, its own config on a free loopback port -----------------------
sshd_port=$("$TNET" freeport)
cp "$tmp/client.pub" "$tmp/authorized_keys"
chmod 600 "$tmp/authorized_keys"
cat >"$tmp/sshd_config" <<EOF
Port $sshd_port
ListenAddress 127.0.0.1
HostKey $tmp/sshd_host
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding remote
GatewayPorts no
LogLevel ERROR
EOF
mkdir -p /run/sshd 2>/dev/null || :
"$SSHD" -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
pids+=($!)
for _ in $(seq 200); do
	"$TNET" refused "127.0.0.1:$sshd_port" 2>/dev/null || break
	sleep 0.05
done

# --- local services ------------------------------------------------------------
"$TNET" listen sink >"$tmp/sink.out" &
pids+=($!)
"$TNET" listen "source:$bytes" >"$tmp/source.out" &
pids+=($!)
wait_line "$tmp/sink.out" '^[0-9]+$'
wait_line "$tmp/source.out" '^[0-9]+$'
sink=$(head -n1 "$tmp/sink.out")
source=$(head -n1 "$tmp/source.out")

user=$(id -un)
# tunnel NAME SERVERPORT LOGIN SERVICE: ssh -N -R, print the public port.
tunnel() {
	ssh -F /dev/null -p "$2" -i "$tmp/client" -o IdentitiesOnly=yes \
	    -o BatchMode=yes -o StrictHostKeyChecking=no \
	    -o UserKnownHostsFile=/dev/null -o LogLevel=INFO \
	    -c "$cipher" -N -R "0:localhost:$4" "$3@127.0.0.1" \
	    </dev/null 2>"$tmp/$1.err" &
	pids+=($!)
	wait_line "$tmp/$1.err" "Allocated port"
	tr -d '\r' <"$tmp/$1.err" |
	    sed -nE 's/.*Allocated port ([0-9]+) .*/\1/p' | head -n1
}

ph_up=$(tunnel ph_up "$ph_port" bench "$sink")
ph_down=$(tunnel ph_down "$ph_port" bench "$source")
sd_up=$(tunnel sd_up "$sshd_port" "$user" "$sink")
sd_down=$(tunnel sd_down "$sshd_port" "$user" "$source")

# seconds CMD...: wall time of CMD in seconds (3 decimals).
seconds() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A res
for dir in up down; do
	for srv in ph sd; do
		: >"$tmp/$srv.$dir.times"
	done
done
for _ in $(seq "$runs"); do
	for srv in ph sd; do
		if [ "$srv" = ph ]; then up=$ph_up down=$ph_down; else up=$sd_up down=$sd_down; fi
		seconds "$TNET" send -t 600 "127.0.0.1:$up" "$bytes" >>"$tmp/$srv.up.times"
		echo >>"$tmp/$srv.up.times"
		seconds "$TNET" recv -t 600 "127.0.0.1:$down" >>"$tmp/$srv.down.times"
		echo >>"$tmp/$srv.down.times"
	done
done
for dir in up down; do
	for srv in ph sd; do
		t=$(median <"$tmp/$srv.$dir.times")
		res[$srv.$dir]=$(awk -v b="$bytes" -v t="$t" 'BEGIN { printf "%.1f", b / 1048576 / t }')
	done
done

printf '%-34s %12s %12s %8s\n' "figure (median of $runs)" portholed sshd ratio
for dir in up down; do
	case $dir in
	up) label="throughput to the service, MiB/s" ;;
	down) label="throughput to the client, MiB/s" ;;
	esac
	printf '%-34s %12s %12s %8s\n' "$label" "${res[ph.$dir]}" "${res[sd.$dir]}" \
	    "$(awk -v a="${res[ph.$dir]}" -v b="${res[sd.$dir]}" 'BEGIN { printf "%.2f", a / b }')"
done
echo "($mib MiB per transfer, cipher $cipher, $(nproc) CPUs, $(ssh -V 2>&1))"
