#!/bin/bash
# The container image's configuration and entry point (contrib/
# Containerfile), without a container, so that every run of the tests
# covers them: contrib/container-portholed.conf is valid and says what
# porthole(7) promises; contrib/container-entrypoint.sh, pointed at the
# built programs and a copy of that file with the test's addresses and
# directories, refuses a bad variable with its name, hands
# PORTHOLE_PUBLIC_HOST and PORTHOLE_PORT_RANGE to portholed, and to
# portholectl and portholed when linked under their names, makes the
# database on the first start (when not root), and becomes portholed (the
# same process), which serves a tunnel to ssh and exits 0 on SIGTERM.
# tests/package/container.sh builds and runs the real image.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

cfile=$top_srcdir/contrib/Containerfile
ep_src=$top_srcdir/contrib/container-entrypoint.sh
conf_src=$top_srcdir/contrib/container-portholed.conf
me=$(id -un)

# --- the image's configuration --------------------------------------------------------------
# As the image has it, but for the user, which this machine may lack.
"$PORTHOLED" -t -f "$conf_src" -o "User=$me" ||
    ph_fail "portholed -t rejects contrib/container-portholed.conf"
eff=$("$PORTHOLED" -T -f "$conf_src" -o "User=$me") ||
    ph_fail "portholed -T on contrib/container-portholed.conf"
for kv in "listenaddress 0.0.0.0:2222" "tunneladdress 0.0.0.0" \
    "portrange 20000-20099" "statedirectory /var/lib/porthole" \
    "eventlog none" "allowanonymous no"; do
	printf '%s\n' "$eff" | grep -qx "$kv" ||
	    ph_fail "contrib/container-portholed.conf: no '$kv' in: $eff"
done
grep -qx 'User porthole' "$conf_src" ||
    ph_fail "contrib/container-portholed.conf does not name User porthole"
# The Containerfile runs as that user, keeps StateDirectory in a volume,
# exposes the SSH port and installs the files this test runs.
for l in 'USER porthole' 'VOLUME /var/lib/porthole' 'EXPOSE 2222' \
    'FROM debian:bookworm-slim' \
    'COPY contrib/container-portholed.conf /etc/porthole/portholed.conf' \
    'COPY contrib/container-entrypoint.sh /usr/local/sbin/porthole-entrypoint' \
    'ENTRYPOINT ["/usr/local/sbin/porthole-entrypoint"]'; do
	grep -qxF "$l" "$cfile" || ph_fail "contrib/Containerfile has no line '$l'"
done
ph_pass "contrib/container-portholed.conf is valid and agrees with contrib/Containerfile"

# --- the entry point, on the built programs ---------------------------------------------------
lo=$((30000 + RANDOM % 500 * 20))
hi=$((lo + 19))
mkdir "$PH_TMP/bin" "$PH_TMP/real"
conf=$PH_TMP/portholed.conf
sed -e "s|^ListenAddress .*|ListenAddress 127.0.0.1:0|" \
    -e "s|^TunnelAddress .*|TunnelAddress 127.0.0.1|" \
    -e "s|^StateDirectory .*|StateDirectory $PH_TMP/state|" \
    -e "s|^User .*|User $me|" "$conf_src" >"$conf"
# The programs the entry point runs, on the test's file: as in the
# image, they are replaced by exec, so the process stays the same one.
for p in portholed:"$PORTHOLED" portholectl:"$CTL"; do
	printf '#!/bin/sh\nexec "%s" -f "%s" "$@"\n' "${p#*:}" "$conf" \
	    >"$PH_TMP/real/${p%%:*}"
	chmod 755 "$PH_TMP/real/${p%%:*}"
done
ep=$PH_TMP/bin/porthole-entrypoint
sed -e "s|^PORTHOLED=.*|PORTHOLED=$PH_TMP/real/portholed|" \
    -e "s|^PORTHOLECTL=.*|PORTHOLECTL=$PH_TMP/real/portholectl|" \
    -e "s|^CONF=.*|CONF=$conf|" "$ep_src" >"$ep"
[ "$(grep -c "^[A-Z]*=$PH_TMP/" "$ep")" -eq 3 ] ||
    ph_fail "contrib/container-entrypoint.sh no longer sets PORTHOLED, PORTHOLECTL and CONF"
chmod 755 "$ep"
ln -s porthole-entrypoint "$PH_TMP/bin/portholectl"
ln -s porthole-entrypoint "$PH_TMP/bin/portholed"

# A bad variable stops it at once, with the variable's name.
out=$(PORTHOLE_PUBLIC_HOST='bad host' "$ep" 2>&1) &&
    ph_fail "PORTHOLE_PUBLIC_HOST='bad host' started: $out"
printf '%s\n' "$out" | grep -q "PORTHOLE_PUBLIC_HOST: 'bad host' is not" ||
    ph_fail "no reason for a bad PORTHOLE_PUBLIC_HOST: $out"
out=$(PORTHOLE_PORT_RANGE=20000-x "$ep" 2>&1) &&
    ph_fail "PORTHOLE_PORT_RANGE=20000-x started: $out"
printf '%s\n' "$out" | grep -q "PORTHOLE_PORT_RANGE: '20000-x' is not" ||
    ph_fail "no reason for a bad PORTHOLE_PORT_RANGE: $out"
out=$(PORTHOLE_PORT_RANGE=70000-70010 "$ep" 2>&1) &&
    ph_fail "PortRange 70000-70010 started: $out"
printf '%s\n' "$out" | grep -q "configuration is not valid" ||
    ph_fail "no reason for PortRange 70000-70010: $out"
[ ! -e "$PH_TMP/state" ] || ph_fail "a bad variable still made the state"
# Without a PublicHost, it says which name clients get ("-t": the
# server only checks, and the entry point's own steps still run).
out=$("$ep" -t 2>&1) || ph_fail "the entry point with -t: $out"
printf '%s\n' "$out" | grep -q "no PublicHost: clients are told tcp://$(uname -n):PORT" ||
    ph_fail "no word of the missing PublicHost: $out"
rm -rf "$PH_TMP/state"
ph_pass "a bad PORTHOLE_PUBLIC_HOST or PORTHOLE_PORT_RANGE stops it with the reason; a missing PublicHost is reported"

export PORTHOLE_PUBLIC_HOST=127.0.0.1,tunnel.example.com
export PORTHOLE_PORT_RANGE=$lo-$hi
eff=$("$PH_TMP/bin/portholed" -T) || ph_fail "portholed -T through the link"
for kv in "publichost 127.0.0.1" "publichost tunnel.example.com" \
    "portrange $lo-$hi"; do
	printf '%s\n' "$eff" | grep -qx "$kv" ||
	    ph_fail "portholed (the link) -T: no '$kv' in: $eff"
done
# The caller's -o comes after the environment's, and wins.
"$PH_TMP/bin/portholed" -T -o PortRange=1000-1001 | grep -qx 'portrange 1000-1001' ||
    ph_fail "an -o of the caller's does not win over PORTHOLE_PORT_RANGE"
ph_pass "linked as portholed, it adds the environment's PublicHost and PortRange; the caller's -o wins"

# The first start: portholed in the foreground, in place of the shell.
"$ep" </dev/null >"$PH_LOG" 2>&1 &
PH_SERVER_PID=$!
ph_track "$PH_SERVER_PID"
ph_wait_for "$PH_LOG" 'portholed: listening on 127\.0\.0\.1:[0-9]+' 30 \
    "$PH_SERVER_PID"
PH_PORT=$(sed -nE 's/.*portholed: listening on 127\.0\.0\.1:([0-9]+).*/\1/p' \
    "$PH_LOG" | head -n 1)
[ "$(readlink "/proc/$PH_SERVER_PID/exe")" = "$(realpath "$PORTHOLED")" ] ||
    ph_fail "the entry point's process is $(readlink "/proc/$PH_SERVER_PID/exe"), not portholed"
if [ "$(id -u)" -ne 0 ]; then
	grep -q "created database $PH_TMP/state/porthole.db" "$PH_LOG" ||
	    ph_fail "the first start did not run portholectl init"
fi
[ -f "$PH_TMP/state/porthole.db" ] || ph_fail "no database after the first start"
ph_pass "the entry point makes the database and becomes portholed (pid $PH_SERVER_PID)"

# --- portholectl through the link, and a tunnel ---------------------------------------------------
ph_keygen alice
"$PH_TMP/bin/portholectl" account add alice >/dev/null || ph_fail "account add"
"$PH_TMP/bin/portholectl" key add alice "$(cat "$PH_TMP/alice.pub")" >/dev/null ||
    ph_fail "key add"
# The test's port is picked at start: hostkey needs it given.
hk=$("$PH_TMP/bin/portholectl" -o "ListenAddress=127.0.0.1:$PH_PORT" hostkey) ||
    ph_fail "portholectl hostkey"
for h in "[127.0.0.1]:$PH_PORT" "[tunnel.example.com]:$PH_PORT"; do
	printf '%s\n' "$hk" | grep -qF "$h " ||
	    ph_fail "portholectl (the link) hostkey does not name $h: $hk"
done
ph_listen svc echo
ph_ssh_bg alice -i "$PH_TMP/alice" -R "0:127.0.0.1:$PH_LAST_PORT" alice@127.0.0.1 tcp
ph_wait_tunnel alice
port=$PH_TUNNEL_PORT
{ [ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ]; } ||
    ph_fail "port $port is not in PORTHOLE_PORT_RANGE $lo-$hi"
grep -q "Forwarding  tcp://127.0.0.1:$port" "$PH_TMP/alice.out" ||
    ph_fail "the client was not told tcp://127.0.0.1:$port: $(cat "$PH_TMP/alice.out")"
"$TNET" echo "127.0.0.1:$port" 1000 >/dev/null || ph_fail "no echo through the tunnel"
"$PH_TMP/bin/portholectl" session list | grep -q alice ||
    ph_fail "session list through the link shows no alice"
ph_pass "linked as portholectl, it adds an account and a key that serve a tunnel on tcp://127.0.0.1:$port"

# SIGTERM, as podman stop sends it, to the entry point's process.
read -r sshpid <"$PH_TMP/alice.pid"
ph_stop_server
ph_wait_gone "$sshpid"
grep -q 'the server is shutting down' "$PH_TMP/alice.err" ||
    ph_fail "the client was not told of the shutdown: $(cat "$PH_TMP/alice.err")"
ph_pass "SIGTERM to the entry point's process: portholed ends the session and exits 0"
