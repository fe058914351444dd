#!/bin/bash
# What contrib/ ships for a real installation: the example
# portholed.conf serves tunnels and events as it is (only the addresses
# and directories moved into the test's own), the logrotate file rotates
# EventLog as the service user, without a signal and without losing an
# event, and the systemd unit is valid and agrees with the example
# configuration on the user and directories.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen logrotate systemd-analyze

conf=$top_srcdir/contrib/portholed.conf
unit=$top_srcdir/contrib/portholed.service
rot=$top_srcdir/contrib/portholed.logrotate

# conf_value KEYWORD: the value of the example configuration's line.
conf_value() {
	sed -n "s/^$1[[:space:]]\{1,\}//p" "$conf" | head -n 1
}

# unit_value KEY: the value of the unit's KEY= line.
unit_value() {
	sed -n "s/^$1=//p" "$unit" | head -n 1
}

# --- the example configuration serves ------------------------------------------------
"$PORTHOLED" -t -f "$conf" || ph_fail "portholed -t rejects contrib/portholed.conf"
mkdir -p "$PH_TMP/log"
cp "$conf" "$PH_TMP/example.conf"
PH_CONF=$PH_TMP/example.conf
evlog=$PH_TMP/log/events.log
ph_ctl -o "StateDirectory=$PH_TMP/state" -o "User=$(id -un)" init >/dev/null ||
    ph_fail "portholectl init with the example configuration"
overrides=(-o ListenAddress=127.0.0.1:0 -o TunnelAddress=127.0.0.1
    -o PublicHost=127.0.0.1 -o "StateDirectory=$PH_TMP/state"
    -o "EventLog=$evlog" -o "User=$(id -un)" -o LogLevel=DEBUG1)
ph_ctl "${overrides[@]}" account add alice >/dev/null || ph_fail "account add"
ph_keygen alice
ph_ctl "${overrides[@]}" key add alice "$PH_TMP/alice.pub" >/dev/null ||
    ph_fail "key add"
ph_listen svc echo
svc=$PH_LAST_PORT
ph_start_server "${overrides[@]}"
ph_ssh_bg alice -N -i "$PH_TMP/alice" -R "0:127.0.0.1:$svc" alice@127.0.0.1
ph_wait_tunnel alice
port=$PH_TUNNEL_PORT
"$TNET" echo "127.0.0.1:$port" 100 >/dev/null || ph_fail "echo through the example server"
ph_wait_for "$evlog" '"event_type":"tcp_connection_closed.v0"'
ph_pass "contrib/portholed.conf serves a tunnel and writes EventLog"

# --- logrotate: as the service user ------------------------------------------------------
# The unit gives the log directory to its User, so logrotate must work
# there as that user (su), never as root.
[ "$(sed -n 's/^\(\/[^ ]*\) {$/\1/p' "$rot")" = "$(conf_value EventLog)" ] ||
    ph_fail "the logrotate file does not rotate the example's EventLog"
rotsu=$(sed -n 's/^[[:space:]]*su[[:space:]]\{1,\}//p' "$rot")
[ "$rotsu" = "$(unit_value User) $(unit_value Group)" ] ||
    ph_fail "the logrotate file rotates as '${rotsu:-root}', not as the unit's User and Group"
# logrotate -d (which changes nothing) on the shipped file, with the
# service user mapped to one this machine has: as root, nobody, whose
# switch logrotate reports; otherwise our own user. The log is moved to
# a path that does not exist (missingok), which any user may look for.
if [ "$(id -u)" -eq 0 ]; then
	ru=nobody
else
	ru=$(id -un)
fi
sed -e "s|^/[^ ]* {\$|/nonexistent/porthole-test/events.log {|" \
    -e "s#^\([[:space:]]*\(su\|create [0-7]*\)\) $rotsu\$#\1 $ru $(id -gn "$ru")#" \
    "$rot" >"$PH_TMP/logrotate.d"
out=$(logrotate -d -s "$PH_TMP/logrotate.d.state" "$PH_TMP/logrotate.d" 2>&1) ||
    ph_fail "logrotate -d rejects contrib/portholed.logrotate: $out"
if [ "$ru" = nobody ]; then
	printf '%s\n' "$out" | grep -q "switching euid from 0 to $(id -u nobody) " ||
	    ph_fail "logrotate -d does not switch to the su user: $out"
fi
ph_pass "contrib/portholed.logrotate rotates as the unit's User and Group"

# --- logrotate: rotated, reopened, nothing lost ------------------------------------------
# The shipped file with its path moved to the test's log and its users
# to ours; no signal: the server opens EventLog per event.
sed -e "s|^/[^ ]* {\$|$evlog {|" \
    -e "s|^\([[:space:]]*create [0-7]*\) .*|\1|" \
    -e "s|^\([[:space:]]*su\) .*|\1 $(id -un) $(id -gn)|" \
    "$rot" >"$PH_TMP/logrotate.conf"
before=$(grep -c '"event_type":"tcp_connection_closed.v0"' "$evlog")
logrotate -f -s "$PH_TMP/logrotate.state" "$PH_TMP/logrotate.conf" ||
    ph_fail "logrotate failed"
[ -f "$evlog.1" ] || ph_fail "nothing rotated: $(ls "$PH_TMP/log")"
for _ in 1 2 3; do
	"$TNET" echo "127.0.0.1:$port" 100 >/dev/null || ph_fail "echo after the rotation"
done
ph_wait_count "$evlog" '"event_type":"tcp_connection_closed.v0"' 3
[ "$(grep -c '"event_type":"tcp_connection_closed.v0"' "$evlog.1")" -eq "$before" ] ||
    ph_fail "the rotated file changed or lost events"
stored=$(ph_ctl "${overrides[@]}" events --type tcp_connection_closed.v0 | wc -l)
[ "$stored" -eq $((before + 3)) ] || ph_fail "$stored events stored, $((before + 3)) sent"
kill "$PH_LAST_PID"
ph_wait_gone "$PH_LAST_PID"
ph_stop_server
ph_pass "contrib/portholed.logrotate rotates EventLog; the next events go to a new file and none is lost"

# --- the systemd unit ---------------------------------------------------------------------
sed "s|/usr/sbin/portholed|$PORTHOLED|g" "$unit" >"$PH_TMP/portholed.service"
out=$(cd "$PH_TMP" && systemd-analyze verify --man=no ./portholed.service 2>&1) ||
    ph_fail "systemd-analyze verify: $out"
[ -z "$out" ] || ph_fail "systemd-analyze verify complains: $out"
[ "$(unit_value User)" = "$(conf_value User)" ] ||
    ph_fail "the unit runs as $(unit_value User), the example names User $(conf_value User)"
[ "/var/lib/$(unit_value StateDirectory)" = "$(conf_value StateDirectory)" ] ||
    ph_fail "the unit's StateDirectory is not the example's"
[ "/var/log/$(unit_value LogsDirectory)" = "$(dirname "$(conf_value EventLog)")" ] ||
    ph_fail "the unit's LogsDirectory does not hold the example's EventLog"
for k in NoNewPrivileges ProtectSystem ProtectHome PrivateTmp; do
	[ -n "$(unit_value $k)" ] || ph_fail "the unit has no $k"
done
[ "$(unit_value ProtectSystem)" = strict ] || ph_fail "ProtectSystem is not strict"
ph_pass "contrib/portholed.service is valid and sandboxed, with the example's user and directories"
