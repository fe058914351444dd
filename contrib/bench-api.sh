#!/bin/bash
# The HTTP API's speed on a store of 10,000 reserved addresses.
#
#   contrib/bench-api.sh [-b BUILDDIR] [-n ADDRESSES] [-l LISTS] [-c CREATES]
#                        [-p PARALLEL]
#
# One portholed on loopback with ApiListen and LogLevel INFO, an
# administrator's API key, and one account. Then, with curl --parallel
# (PARALLEL, default 8, keep-alive connections, each reused for many
# requests):
#   reserve    ADDRESSES (-n, default 10000) POST /reserved_addrs, the
#              store filling up from empty, requests per second
#   list       LISTS (-l, default 2000) GET /reserved_addrs?limit=100 on
#              the full store (100 addresses each), requests per second
#   create     CREATES (-c, default 1000) more POST /reserved_addrs on
#              the full store, requests per second
# with the answers' statuses counted, so that errors do not pass as
# speed. Needs curl (7.66 or later, for --parallel).
set -eu
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top
naddr=10000
nlist=2000
ncreate=1000
par=8
while getopts b:n:l:c:p: opt; do
	case $opt in
	b) build=$(cd "$OPTARG" && pwd) ;;
	n) naddr=$OPTARG ;;
	l) nlist=$OPTARG ;;
	c) ncreate=$OPTARG ;;
	p) par=$OPTARG ;;
	*) exit 2 ;;
	esac
done
tnet=$build/tests/tnet
portholed=$build/sshd/portholed
ctl=$build/src/portholectl
for f in "$tnet" "$portholed" "$ctl"; do
	[ -x "$f" ] || { echo "bench-api: $f is not built" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "bench-api: needs curl" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-api.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

aport=$("$tnet" freeport)
cat >"$tmp/portholed.conf" <<EOF
ListenAddress 127.0.0.1:0
StateDirectory $tmp/state
TunnelAddress 127.0.0.1
PublicHost 127.0.0.1
PortRange 10000-59999
ApiListen 127.0.0.1:$aport
ApiMaxConnections 64
LogLevel INFO
EOF
"$ctl" -f "$tmp/portholed.conf" init >/dev/null
"$ctl" -f "$tmp/portholed.conf" account add bench >/dev/null
key=$("$ctl" -f "$tmp/portholed.conf" api-key create 2>/dev/null)
"$portholed" -f "$tmp/portholed.conf" </dev/null >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	grep -q 'API: serving HTTP' "$tmp/log" && break
	sleep 0.1
done
grep -q 'API: serving HTTP' "$tmp/log" ||
    { echo "bench-api: portholed did not start:" >&2; cat "$tmp/log" >&2; exit 1; }
base=http://127.0.0.1:$aport

# run NAME N METHOD PATH [BODY]: N requests with curl --parallel; prints
# a line with the rate and the statuses.
run() {
	local name=$1 n=$2 method=$3 path=$4 body=${5-} t0 t1 args

	args=(-s --no-progress-meter --parallel --parallel-immediate --parallel-max "$par"
		-o /dev/null -w '%{http_code}\n' -X "$method"
		-H "Authorization: Bearer $key")
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/json' -d "$body")
	fi
	case $path in
	*\?*) path="$path&n=[1-$n]" ;;
	*) path="$path?n=[1-$n]" ;;
	esac
	t0=$(date +%s%N)
	curl "${args[@]}" "$base$path" >"$tmp/$name.codes"
	t1=$(date +%s%N)
	awk -v name="$name" -v n="$n" -v ns=$((t1 - t0)) '
	    { c[$1]++ }
	    END {
		s = "";
		for (k in c) s = s sprintf(" %s:%d", k, c[k]);
		printf "%-8s %6d requests in %6.2f s: %8.0f req/s  (status%s)\n",
		    name, n, ns / 1e9, n / (ns / 1e9), s
	    }' "$tmp/$name.codes"
}

echo "bench-api: portholed $("$portholed" -V | sed 's/^portholed //'), $par keep-alive connections (curl --parallel)"
run reserve "$naddr" POST /reserved_addrs '{"account":"bench"}'
count=$(curl -s -H "Authorization: Bearer $key" \
    "$base/reserved_addrs?limit=1" | grep -c '"id":"ra_' || :)
[ "$count" -ge 1 ] || { echo "bench-api: nothing reserved" >&2; exit 1; }
run list "$nlist" GET '/reserved_addrs?limit=100'
run create "$ncreate" POST /reserved_addrs '{"account":"bench"}'
held=$("$ctl" -f "$tmp/portholed.conf" address list | tail -n +2 | wc -l)
echo "bench-api: the store holds $held reserved addresses"
