#!/bin/bash
# The store's cost, SQLite next to PostgreSQL in the same run, and a
# fleet of nodes on one PostgreSQL.
#
#   contrib/bench-fleet.sh [-b BUILDDIR] [-n SESSIONS] [-c CONNS] [-N NODES]
#
# For each backend, one portholed on loopback:
#   setup      ssh start until "Allocated port" on its stderr, p50 and p99
#              of SESSIONS (-n, default 50) sessions one after another, ms
#   events/s   CONNS (-c, default 1000, at most MaxConnectionsPerEndpoint) echo connections at once through
#              one tunnel (tnet many), from their start until all their
#              connection events are stored (porthole_connections_total
#              of portholectl metrics), per second
# Then NODES (-N, default 3) nodes on the one PostgreSQL, each relaying
# CONNS connections at once: the fleet's events per second, and the CPU
# time the PostgreSQL server spent per 1000 events and per login (from
# /proc, all its processes), from which how many nodes one server core
# can take follows on paper.
# PostgreSQL is a private server (tests/pg.sh), never a system service.
# Needs ssh, ssh-keygen, and tests/tnet (make tests/tnet).
set -eu
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top
nsess=50
conns=1000
nodes=3
while getopts b:n:c:N: opt; do
	case $opt in
	b) build=$(cd "$OPTARG" && pwd) ;;
	n) nsess=$OPTARG ;;
	c) conns=$OPTARG ;;
	N) nodes=$OPTARG ;;
	*) exit 2 ;;
	esac
done
tnet=$build/tests/tnet
portholed=$build/sshd/portholed
ctl=$build/src/portholectl
for f in "$tnet" "$portholed" "$ctl"; do
	[ -x "$f" ] || { echo "bench-fleet: $f is not built" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-fleet.XXXXXX")
pids=()
pg=
cleanup() {
	local p

	for p in ${pids[@]+"${pids[@]}"}; do
		kill "$p" 2>/dev/null || :
	done
	wait 2>/dev/null || :
	[ -n "$pg" ] && "$top/tests/pg.sh" stop "$pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

now_us() { echo $(($(date +%s%N) / 1000)); }
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print a[i] }'; }

ssh-keygen -t ed25519 -N '' -q -f "$tmp/key" </dev/null
"$tnet" listen echo >"$tmp/echo.port" &
pids+=($!)
until [ -s "$tmp/echo.port" ]; do sleep 0.05; done
read -r echo <"$tmp/echo.port"
pg=$("$top/tests/pg.sh" start)
ssh_opts=(-F /dev/null -i "$tmp/key" -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes
	-o LogLevel=INFO)

# conf NAME ADDR DATABASE NODE: write $tmp/NAME.conf.
conf() {
	cat >"$tmp/$1.conf" <<EOF
ListenAddress $2:0
StateDirectory $tmp/$1.state
TunnelAddress $2
PublicHost $2
Database $3
NodeName $4
HostKey $tmp/host_key
TokenKey $tmp/token_key
MaxSessions 1000
MaxSessionsPerAccount 1000
LogLevel INFO
EOF
}

# start NAME ADDR: start portholed on $tmp/NAME.conf; sets port[NAME].
declare -A port spid
start() {
	"$portholed" -f "$tmp/$1.conf" </dev/null >"$tmp/$1.log" 2>&1 &
	spid[$1]=$!
	pids+=($!)
	until grep -q "listening on $2:" "$tmp/$1.log"; do
		kill -0 "${spid[$1]}" || { cat "$tmp/$1.log" >&2; exit 1; }
		sleep 0.05
	done
	port[$1]=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' \
	    "$tmp/$1.log" | head -n 1)
}

# setup NAME ADDR: SESSIONS setups in a row, one per line (us) in $tmp/NAME.setup.
setup() {
	local i t0 line fd p

	: >"$tmp/$1.setup"
	for i in $(seq "$nsess"); do
		t0=$(now_us)
		exec {fd}< <(exec ssh "${ssh_opts[@]}" -p "${port[$1]}" \
		    -N -R "0:localhost:$echo" "bench@$2" 2>&1 >/dev/null </dev/null)
		p=$!
		while IFS= read -r -t 30 -u "$fd" line; do
			if [[ $line == *"Allocated port"* ]]; then
				echo $(($(now_us) - t0)) >>"$tmp/$1.setup"
				break
			fi
		done
		kill "$p" 2>/dev/null || :
		exec {fd}<&-
		wait "$p" 2>/dev/null || :
	done
}

# stored CONF: porthole_connections_total summed over its samples.
stored() {
	"$ctl" -f "$1" metrics |
	    awk '/^porthole_connections_total/ { n += $NF } END { print n + 0 }'
}

# tunnel NAME ADDR: an ssh -R session kept open; its port in tport[NAME].
declare -A tport
tunnel() {
	ssh "${ssh_opts[@]}" -p "${port[$1]}" -N -R "0:localhost:$echo" \
	    "bench@$2" 2>"$tmp/$1.tunnel" </dev/null &
	pids+=($!)
	until grep -q "Allocated port" "$tmp/$1.tunnel"; do sleep 0.05; done
	tport[$1]=$(sed -nE 's/.*Allocated port ([0-9]+).*/\1/p' "$tmp/$1.tunnel")
}

# pg_cpu: user + system clock ticks of all the PostgreSQL processes.
pg_cpu() {
	local d=${pg#*host=} p t=0
	d=${d%%&*}
	for p in $( (pgrep -f "postgres.*$d" || :; pgrep -P "$(head -n 1 "$d/data/postmaster.pid")" || :) | sort -u); do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}

declare -A res
for db in sqlite pg; do
	if [ "$db" = sqlite ]; then target=$tmp/sqlite.db; else target=$pg; fi
	conf "$db" 127.0.0.1 "$target" "$db-node"
	"$ctl" -f "$tmp/$db.conf" init >/dev/null
	"$ctl" -f "$tmp/$db.conf" account add bench >/dev/null 2>&1 || :
	"$ctl" -f "$tmp/$db.conf" key add bench "$tmp/key.pub" >/dev/null 2>&1 || :
	start "$db" 127.0.0.1
	echo "bench-fleet: $db: $nsess session setups" >&2
	setup "$db" 127.0.0.1
	res[$db.p50]=$(pct 50 <"$tmp/$db.setup")
	res[$db.p99]=$(pct 99 <"$tmp/$db.setup")
	echo "bench-fleet: $db: $conns connections" >&2
	tunnel "$db" 127.0.0.1
	base=$(stored "$tmp/$db.conf")
	t0=$(now_us)
	"$tnet" many -t 120 "127.0.0.1:${tport[$db]}" "$conns" 100 >/dev/null
	until [ "$(stored "$tmp/$db.conf")" -ge $((base + conns)) ]; do
		sleep 0.02
	done
	res[$db.eps]=$((conns * 1000000 / ($(now_us) - t0)))
	kill "${spid[$db]}"
	wait "${spid[$db]}" 2>/dev/null || :
done

echo "bench-fleet: $nodes nodes on one PostgreSQL" >&2
for n in $(seq "$nodes"); do
	addr=127.0.0.$((n + 1))
	conf "n$n" "$addr" "$pg" "n$n"
	start "n$n" "$addr"
done
cpu0=$(pg_cpu)
for n in $(seq "$nodes"); do
	tunnel "n$n" "127.0.0.$((n + 1))"
done
cpu1=$(pg_cpu)
base=$(stored "$tmp/n1.conf")
t0=$(now_us)
mpids=()
for n in $(seq "$nodes"); do
	"$tnet" many -t 120 "127.0.0.$((n + 1)):${tport[n$n]}" "$conns" 100 \
	    >/dev/null &
	mpids+=($!)
done
wait "${mpids[@]}"
want=$((base + conns * nodes))
until [ "$(stored "$tmp/n1.conf")" -ge "$want" ]; do
	sleep 0.02
done
t1=$(now_us)
cpu2=$(pg_cpu)
hz=$(getconf CLK_TCK)
fleet_eps=$((conns * nodes * 1000000 / (t1 - t0)))
# CPU ms of PostgreSQL per 1000 events and per login (the tunnels' logins).
ev_ms=$(awk -v c=$((cpu2 - cpu1)) -v hz="$hz" -v n=$((conns * nodes)) \
    'BEGIN { printf "%.1f", c * 1000 / hz / n * 1000 }')
login_ms=$(awk -v c=$((cpu1 - cpu0)) -v hz="$hz" -v n="$nodes" \
    'BEGIN { printf "%.1f", c * 1000 / hz / n }')

printf '%-44s %12s %12s\n' "" SQLite PostgreSQL
printf '%-44s %12s %12s\n' "session setup p50 of $nsess, ms" \
    "$(awk -v v="${res[sqlite.p50]}" 'BEGIN { printf "%.1f", v / 1000 }')" \
    "$(awk -v v="${res[pg.p50]}" 'BEGIN { printf "%.1f", v / 1000 }')"
printf '%-44s %12s %12s\n' "session setup p99 of $nsess, ms" \
    "$(awk -v v="${res[sqlite.p99]}" 'BEGIN { printf "%.1f", v / 1000 }')" \
    "$(awk -v v="${res[pg.p99]}" 'BEGIN { printf "%.1f", v / 1000 }')"
printf '%-44s %12s %12s\n' "connection events/s, $conns at once, one node" \
    "${res[sqlite.eps]}" "${res[pg.eps]}"
printf '%s\n' "fleet of $nodes nodes on one PostgreSQL, $conns connections at once on each:"
printf '  %-42s %12s\n' "connection events/s, all nodes" "$fleet_eps"
printf '  %-42s %12s\n' "PostgreSQL CPU ms per 1000 events" "$ev_ms"
printf '  %-42s %12s\n' "PostgreSQL CPU ms per login" "$login_ms"
