#!/bin/bash
# The relay: 16 MiB each way with checksums (what the ssh client sends
# read through the read-ahead), both ways at once, 200 concurrent
# connections through one tunnel, half-close in both directions, a local
# service that refuses, and bounded memory when either side stops
# reading.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user bob
ph_start_server
key=$PH_TMP/bob
MIB16=16777216

# tunnel NAME PORT: ssh -N -R 0:127.0.0.1:PORT, sets $tport.
tunnel() {
	ph_ssh_bg "$1" -N -i "$key" -R "0:127.0.0.1:$2" bob@127.0.0.1
	ph_wait_tunnel "$1"
	tport=$PH_TUNNEL_PORT
}

# rss_kib PID: resident set size of PID in KiB.
rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

# session_pid: the pid of the only live session process.
session_pid() {
	ph_ctl --json session list | sed -n 's/.*"pid":\([0-9]*\).*/\1/p' |
	    head -n 1
}

# --- 16 MiB up, 16 MiB down, 16 MiB both ways at once -----------------------
ph_listen sink sink
tunnel up "$PH_LAST_PORT"
got=$("$TNET" send "127.0.0.1:$tport" "$MIB16") || ph_fail "upload failed"
[ "$got" = "$("$TNET" sum "$MIB16")" ] ||
    ph_fail "upload: the service got '$got'"
ph_pass "16 MiB upload arrives intact"

ph_listen source "source:$MIB16"
tunnel down "$PH_LAST_PORT"
got=$("$TNET" recv "127.0.0.1:$tport") || ph_fail "download failed"
[ "$got" = "$("$TNET" sum "$MIB16")" ] || ph_fail "download: got '$got'"
ph_pass "16 MiB download arrives intact"

# That download is the ssh client's upload to portholed. libssh reads
# the SSH socket 4 KiB at a time; portholed answers most of those reads
# from its read-ahead (sshd/readahead.c), and the session's last log
# line says how many. (The upload above only sent window adjustments
# this way.)
read -r pid <"$PH_TMP/down.pid"
kill "$pid"
ph_wait_gone "$pid"
ph_wait_for "$PH_LOG" "session ss_[A-Za-z0-9]+: ended"
line=$(grep -E "session ss_[A-Za-z0-9]+: ended" "$PH_LOG" | head -n 1)
served=$(printf '%s\n' "$line" |
    sed -nE 's/.*, read-ahead served ([0-9]+) reads\)$/\1/p')
[ "${served:-0}" -gt 0 ] ||
    ph_fail "the read-ahead served none of the bulk transfer's reads: $line"
ph_pass "the read-ahead served $served reads of the ssh client's bulk transfer"

# libssh 0.10 alone never offers the client more than 1,280,000 bytes of
# window; while the public client keeps up, portholed grows it to 4 MiB
# (relay.c). ssh reports every window adjust it receives at DEBUG2.
PH_SSH_OPTS=(-o LogLevel=DEBUG2)
tunnel window "$PH_LAST_PORT"
PH_SSH_OPTS=()
got=$("$TNET" recv "127.0.0.1:$tport") || ph_fail "download failed"
[ "$got" = "$("$TNET" sum "$MIB16")" ] || ph_fail "download: got '$got'"
adjust=$(sed -nE 's/.*rcvd adjust ([0-9]+).*/\1/p' "$PH_TMP/window.err" |
    sort -n | tail -n 1)
[ "${adjust:-0}" -gt 1280000 ] ||
    ph_fail "the window never grew past 1280000 (largest adjust ${adjust:-none})"
ph_pass "the channel window grows past libssh's while the reader keeps up"

ph_listen echo echo
tunnel echo "$PH_LAST_PORT"
echo_port=$tport
got=$("$TNET" echo "127.0.0.1:$echo_port" "$MIB16") ||
    ph_fail "16 MiB echo failed"
[ "$got" = "$("$TNET" sum "$MIB16")" ] || ph_fail "echo: got '$got'"
ph_pass "16 MiB both ways at once, checksums match"

# --- 200 concurrent connections through one tunnel --------------------------
got=$("$TNET" many -t 120 "127.0.0.1:$echo_port" 200 16384) ||
    ph_fail "200 concurrent connections: $got"
[ "$got" = "ok=200 failed=0" ] || ph_fail "200 concurrent: $got"
ph_pass "200 concurrent connections, all echoed"

# --- half-close --------------------------------------------------------------
# Up: the client sends, shuts down its write side, and still reads the
# service's answer, which comes only after the service saw EOF.
ph_listen half halfclose:4096
tunnel half "$PH_LAST_PORT"
got=$("$TNET" send "127.0.0.1:$tport" 100000) || ph_fail "half-close up"
want=$(printf '%s\n%s' "$("$TNET" sum 100000)" "$("$TNET" sum 4096)")
[ "$got" = "$want" ] || ph_fail "half-close up: got '$got'"
ph_pass "client EOF reaches the service; its answer still comes back"

# Down: the service sends and shuts down its write side but keeps the
# connection open until it sees our EOF: the client must see EOF first.
ph_listen halfdown source:5000
tunnel halfdown "$PH_LAST_PORT"
got=$("$TNET" recv "127.0.0.1:$tport") || ph_fail "half-close down"
[ "$got" = "$("$TNET" sum 5000)" ] || ph_fail "half-close down: got '$got'"
ph_pass "service EOF reaches the client while the connection stays open"

# --- a local service that refuses -------------------------------------------
closed=$("$TNET" freeport)
tunnel refused "$closed"
rc=0
"$TNET" closed -t 20 "127.0.0.1:$tport" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || ph_fail "public connection not closed (tnet closed: $rc)"
ph_wait_for "$PH_LOG" "the client refused the connection"
ph_pass "service down: the public connection is closed"

# The earlier clients are no longer needed; keep one session for the
# memory checks so that its process is easy to find.
for n in up down echo half halfdown refused; do
	read -r pid <"$PH_TMP/$n.pid"
	kill "$pid" 2>/dev/null || :
	ph_wait_gone "$pid"
done
ph_wait_for "$PH_LOG" "session ss_[A-Za-z0-9]+: ended"

# --- a public client that does not read: memory stays bounded ---------------
# No readiness signal tells when buffers are full, so sample the session
# process's memory for a few seconds while 64 MiB waits to be read.
MIB64=67108864
ph_listen big "source:$MIB64"
tunnel slowreader "$PH_LAST_PORT"
spid=$(session_pid)
[ -n "$spid" ] || ph_fail "no session process"
base=$(rss_kib "$spid")
exec 3<>"/dev/tcp/127.0.0.1/$tport"
peak=$base
for _ in $(seq 30); do
	r=$(rss_kib "$spid")
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.1
done
grow=$(((peak - base) / 1024))
[ "$grow" -lt 24 ] ||
    ph_fail "session grew by $grow MiB while the client did not read"
got=$(sha256sum <&3 | cut -d' ' -f1)
exec 3<&-
[ "$got" = "$("$TNET" sum "$MIB64" | cut -d' ' -f2)" ] ||
    ph_fail "64 MiB read late differs"
ph_pass "slow public client: session grew $grow MiB, 64 MiB intact"
read -r pid <"$PH_TMP/slowreader.pid"
kill "$pid"
ph_wait_gone "$pid"
ph_wait_count "$PH_LOG" "session ss_[A-Za-z0-9]+: ended" 7

# --- a local service that does not read: memory stays bounded ---------------
ph_listen stall stall
stall=$PH_LAST_PORT
ph_listen echo2 echo
ph_ssh_bg slowservice -N -i "$key" -R "0:127.0.0.1:$stall" \
    -R "0:127.0.0.1:$PH_LAST_PORT" bob@127.0.0.1
ph_wait_count "$PH_TMP/slowservice.err" "Allocated port" 2 15 "$PH_LAST_PID"
tport=$(ph_tunnel_port "$PH_TMP/slowservice.err" 1)
other=$(ph_tunnel_port "$PH_TMP/slowservice.err" 2)
spid=$(session_pid)
base=$(rss_kib "$spid")
ph_bg sender "$TNET" send -t 600 "127.0.0.1:$tport" "$MIB64"
peak=$base
for _ in $(seq 30); do
	r=$(rss_kib "$spid")
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.1
done
grow=$(((peak - base) / 1024))
[ "$grow" -lt 24 ] ||
    ph_fail "session grew by $grow MiB while the service did not read"
# The same session still relays its other forward meanwhile.
got=$("$TNET" echo "127.0.0.1:$other" 65536) || ph_fail "other forward"
[ "$got" = "$("$TNET" sum 65536)" ] || ph_fail "other forward: got '$got'"
ph_pass "slow local service: session grew $grow MiB, its other forward works"
