#!/bin/bash
# Webhook latency: the time from a connection through a tunnel closing
# (the end_ts portholed gives its tcp_connection_closed.v0 event) to
# that event reaching a receiver (tests/integration/hookrecv.py, which
# checks every signature), over N connections made one after another,
# as p50, p99 and the largest. A real portholed on 127.0.0.1, a real
# ssh -R session, SQLite unless -d names a PostgreSQL database.
#
#   contrib/bench-hook.sh [-b BUILDDIR] [-n CONNECTIONS] [-g GAP_SECONDS]
#
# What it measures is the whole way: the session's batch to the monitor,
# the monitor's write to the store, the delivery process's next look at
# the store (every 0.05 s), the request and the receiver.

set -u
export LC_ALL=C

top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$top_srcdir
n=200
gap=0.05
while getopts b:n:g: opt; do
	case $opt in
	b) top_builddir=$(cd "$OPTARG" && pwd) ;;
	n) n=$OPTARG ;;
	g) gap=$OPTARG ;;
	*) exit 2 ;;
	esac
done
export top_srcdir top_builddir
# shellcheck source=../tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq /usr/bin/python3

ph_user alice
ph_listen svc echo
svc=$PH_LAST_PORT
ph_start_server
rport=$("$TNET" freeport)
ph_ctl destination create "http://127.0.0.1:$rport/" >"$PH_TMP/secret" ||
    ph_fail "destination create"
dst=$(ph_ctl --json destination list | jq -r .id)
ph_ctl subscription create --destination "$dst" \
    --type tcp_connection_closed.v0 >/dev/null || ph_fail "subscription"
mkdir "$PH_TMP/recv"
ph_bg recv /usr/bin/python3 "$top_srcdir/tests/integration/hookrecv.py" \
    serve "$rport" "$PH_TMP/secret" "$PH_TMP/recv"
ph_wait_for "$PH_TMP/recv.out" '^listening' 15 "$PH_LAST_PID"

ph_ssh_bg sess -i "$PH_TMP/alice" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp
ph_wait_for "$PH_TMP/sess.out" "^Forwarding" 15 "$PH_LAST_PID"
port=$(ph_tunnel_port "$PH_TMP/sess.out")

for _ in $(seq "$n"); do
	"$TNET" many -t 30 "127.0.0.1:$port" 1 16 >/dev/null ||
	    ph_fail "a connection failed"
	sleep "$gap"
done
i=0
until [ -s "$PH_TMP/recv/events.jsonl" ] &&
    [ "$(wc -l <"$PH_TMP/recv/events.jsonl")" -ge "$n" ]; do
	i=$((i + 1))
	[ "$i" -le 600 ] || ph_fail "only some events arrived"
	sleep 0.1
done

/usr/bin/python3 - "$PH_TMP/recv/events.jsonl" "$n" <<'PY'
import datetime, json, sys

lat = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    end = r["event"]["object"]["conn"]["end_ts"]
    t = datetime.datetime.strptime(end, "%Y-%m-%dT%H:%M:%S.%fZ")
    t = t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
    lat.append(r["recv_ms"] - t)
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("webhook latency over %d connections: p50 %.0f ms, p99 %.0f ms, "
      "max %.0f ms" % (len(lat), pick(0.50), pick(0.99), lat[-1]))
PY
