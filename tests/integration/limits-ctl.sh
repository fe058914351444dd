#!/bin/bash
# The traffic limits' control plane: portholed.conf's BandwidthLimit,
# TransferQuota, ConnectionRateLimit, MaxConnectionsPerSource,
# ConnectionIdleTimeout and MetricsAccountLabels in `portholed -T` and
# refused with a reason by `portholed -t`; `portholectl account update`
# with --bandwidth, --transfer-quota, --connection-rate,
# --max-connections-per-source and --idle-timeout (none, default), shown
# by `account show` and `account show/list --json` as set and as they
# apply; bad values are usage errors that say what is wanted; a change
# reaches a live session (it re-reads its settings).

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq

ph_user lim
# The server's defaults, read by portholed and portholectl alike.
cat >>"$PH_CONF" <<'CONF'
BandwidthLimit 5M
TransferQuota 10G/30d
ConnectionRateLimit 120
CONF

# --- portholed.conf ---------------------------------------------------------
"$PORTHOLED" -f "$PH_CONF" -T -o MaxConnectionsPerSource=8 \
    -o ConnectionIdleTimeout=5m -o MetricsAccountLabels=yes \
    >"$PH_TMP/dump" 2>&1 || ph_fail "portholed -T: $(cat "$PH_TMP/dump")"
for want in 'bandwidthlimit 5242880' 'transferquota 10737418240/2592000' \
    'connectionratelimit 120' 'maxconnectionspersource 8' \
    'connectionidletimeout 300' 'metricsaccountlabels yes'; do
	grep -qx "$want" "$PH_TMP/dump" ||
	    ph_fail "portholed -T has no '$want': $(cat "$PH_TMP/dump")"
done
"$PORTHOLED" -f "$PH_CONF" -T -o BandwidthLimit=none >"$PH_TMP/dump" 2>&1 ||
    ph_fail "portholed -T -o BandwidthLimit=none"
grep -qx 'bandwidthlimit none' "$PH_TMP/dump" ||
    ph_fail "BandwidthLimit none not dumped as none"
grep -qx 'connectionidletimeout none' "$PH_TMP/dump" ||
    ph_fail "ConnectionIdleTimeout is not off by default"
grep -qx 'metricsaccountlabels no' "$PH_TMP/dump" ||
    ph_fail "MetricsAccountLabels is not no by default"
rc=0
"$PORTHOLED" -f "$PH_CONF" -t -o TransferQuota=10G \
    >"$PH_TMP/bad" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || ph_fail "portholed -t took TransferQuota 10G"
grep -q "TransferQuota: bad value '10G': want SIZE/PERIOD" "$PH_TMP/bad" ||
    ph_fail "no reason for TransferQuota 10G: $(cat "$PH_TMP/bad")"
ph_pass "portholed.conf limits: -T prints them (none by default), -t refuses a bad one with the reason"

# --- portholectl: defaults, then the account's own ------------------------
ph_ctl --json account show lim >"$PH_TMP/a.json" || ph_fail "account show"
[ "$(jq -c '[.bandwidth_limit, .bandwidth_limit_effective,
    .transfer_quota, .transfer_quota_effective,
    .connection_rate_effective, .connections_per_source_effective,
    .idle_timeout_s]' "$PH_TMP/a.json")" = \
    '[null,5242880,null,{"bytes":10737418240,"period_s":2592000},120,0,null]' ] ||
    ph_fail "limits as they start: $(cat "$PH_TMP/a.json")"
ph_ctl account update lim --bandwidth 1M --transfer-quota 2G/1w \
    --connection-rate=30 --max-connections-per-source 4 \
    --idle-timeout 90s >"$PH_TMP/out" 2>&1 ||
    ph_fail "account update: $(cat "$PH_TMP/out")"
ph_ctl account show lim >"$PH_TMP/show" || ph_fail "account show"
for want in 'Bandwidth +1M$' 'Transfer quota +2G/7d$' \
    'Connection rate +30$' 'Per source +4$' 'Idle timeout +1m30s$'; do
	grep -Eq "^$want" "$PH_TMP/show" ||
	    ph_fail "account show lacks /$want/: $(cat "$PH_TMP/show")"
done
ph_ctl --json account list >"$PH_TMP/list.json" || ph_fail "account list"
[ "$(jq -c 'select(.name == "lim") | [.bandwidth_limit,
    .transfer_quota, .connection_rate, .connections_per_source_effective,
    .idle_timeout_s_effective]' "$PH_TMP/list.json")" = \
    '[1048576,{"bytes":2147483648,"period_s":604800},30,4,90]' ] ||
    ph_fail "account list --json: $(cat "$PH_TMP/list.json")"
# none lifts a limit the server would apply; default follows it again.
ph_ctl account update lim --bandwidth none --transfer-quota none \
    --connection-rate default --idle-timeout none >/dev/null ||
    ph_fail "account update none/default"
ph_ctl account show lim >"$PH_TMP/show" || ph_fail "account show"
for want in 'Bandwidth +none$' 'Transfer quota +none$' \
    'Connection rate +default \(120\)$' 'Per source +4$' \
    'Idle timeout +none$'; do
	grep -Eq "^$want" "$PH_TMP/show" ||
	    ph_fail "account show lacks /$want/: $(cat "$PH_TMP/show")"
done
ph_ctl --json account show lim >"$PH_TMP/a.json" || ph_fail "account show"
[ "$(jq -c '[.bandwidth_limit, .bandwidth_limit_effective,
    .transfer_quota_effective, .connection_rate,
    .connection_rate_effective]' "$PH_TMP/a.json")" = \
    '[0,0,0,null,120]' ] || ph_fail "none/default: $(cat "$PH_TMP/a.json")"
ph_pass "account update sets, lifts (none) and defaults each limit; show and --json say what applies"

# --- bad values: usage errors that say what is wanted ---------------------
# bad FLAG VALUE WANT: the update is refused (exit 2) with WANT in the reason.
bad() {
	local rc=0

	ph_ctl account update lim "$1" "$2" >"$PH_TMP/out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || ph_fail "$1 $2: exit $rc, want 2"
	grep -q -- "$1: bad value '$2': want $3" "$PH_TMP/out" ||
	    ph_fail "$1 $2: $(head -n 1 "$PH_TMP/out")"
}
bad --bandwidth 5MB "a rate in bytes per second"
bad --bandwidth 0 "a rate in bytes per second"
bad --transfer-quota 10G "SIZE/PERIOD"
bad --transfer-quota 10G/30m "SIZE/PERIOD"
bad --connection-rate -1 "a number from 1 to 1000000"
bad --max-connections-per-source 1.5 "a number from 1 to 1000000"
bad --idle-timeout 5y "a time from 1s to 366d"
rc=0
ph_ctl account update lim >"$PH_TMP/out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--bandwidth, --transfer-quota" "$PH_TMP/out" ||
    ph_fail "nothing to change: $rc $(head -n 1 "$PH_TMP/out")"
rc=0
ph_ctl account update nobody --bandwidth 1M >"$PH_TMP/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || ph_fail "unknown account: exit $rc"
ph_ctl --json account show lim >"$PH_TMP/b.json" || ph_fail "account show"
cmp -s "$PH_TMP/a.json" "$PH_TMP/b.json" ||
    ph_fail "a refused update changed something"
ph_pass "bad limits refused (exit 2) saying what is wanted, nothing changed"

# --- a live session is told --------------------------------------------------
ph_start_server
ph_listen echo echo
ph_ssh_bg live -i "$PH_TMP/lim" -R "0:127.0.0.1:$PH_LAST_PORT" \
    lim@127.0.0.1 tcp
pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/live.out" "^Forwarding  tcp://" 15 "$pid"
sid=$(ph_ctl --json session list | jq -r .id)
re="session $sid: settings re-read on request"
before=$(grep -c "$re" "$PH_LOG")
ph_ctl account update lim --bandwidth 2M >/dev/null 2>"$PH_TMP/err" ||
    ph_fail "account update with a live session: $(cat "$PH_TMP/err")"
[ ! -s "$PH_TMP/err" ] || ph_fail "update said: $(cat "$PH_TMP/err")"
ph_wait_count "$PH_LOG" "$re" $((before + 1)) 15
kill "$pid"
ph_wait_gone "$pid"
# Session processes get the configuration as portholed -T prints it.
grep -q 'spawner: configuration' "$PH_LOG" &&
    ph_fail "the limits did not reach the session processes: $(grep spawner "$PH_LOG")"
ph_pass "a limit change makes the account's live sessions re-read their settings"
